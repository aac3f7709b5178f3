/* The environment interface: the only way core/ touches the world.
 *
 * Every role in core/ (master, store client, EP rank, ...) is a state
 * machine that reacts to upcalls (a message arrived, a timer fired, a
 * transfer completed, a connection went up or down) and acts only through
 * the ops table below. sim/ implements it with virtual time and virtual
 * NICs; hw/ with epoll, sockets and verbs. Same core code in both worlds.
 *
 * Threading: every op and every upcall for one node runs on that node's
 * single event thread (sim: the simulator thread; hw: the loop thread).
 * Nothing here is thread-safe and nothing needs to be.
 *
 * Re-entrancy: ops never call upcalls synchronously. A message sent, a
 * timer armed with delay 0 or a transfer posted completes later, from the
 * event loop. So a handler may always call ops freely.
 *
 * Determinism: ops must not expose pointer values, host names or wall time
 * except through now_ns(). Given the same seed and inputs the sim delivers
 * the same upcalls in the same order.
 */
#ifndef MC_ENV_H
#define MC_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/mc_status.h"

typedef struct mc_env mc_env_t;

/* Handles are never reused within a process lifetime; 0 is "none". */
typedef uint64_t mc_conn_t;
typedef uint64_t mc_timer_t;

typedef void (*mc_timer_fn)(void *arg);

enum mc_log_level {
    MC_LOG_TRACE = 0,
    MC_LOG_DEBUG = 1,
    MC_LOG_INFO = 2,
    MC_LOG_WARN = 3,
    MC_LOG_ERROR = 4,
};

enum mc_xfer_opcode {
    MC_XFER_READ = 0,  /* remote -> local */
    MC_XFER_WRITE = 1, /* local -> remote */
};

/* One data-plane operation against a peer's registered memory. */
typedef struct mc_xfer_op {
    uint8_t opcode;       /* enum mc_xfer_opcode */
    uint8_t path;         /* local NIC/path index; env may reject unknown */
    void *local;          /* inside a region registered with mem_register */
    const char *peer;     /* peer node address (e.g. "host:port") */
    uint64_t remote_addr; /* address inside a region the peer registered */
    uint32_t remote_key;  /* that region's key (mem_register); a mismatch
                           * (stale descriptor of an earlier registration or
                           * process) fails the op with MC_TRANSFER_FAIL */
    uint64_t len;         /* > 0 */
    uint64_t tag;         /* returned verbatim in on_xfer_done */
} mc_xfer_op_t;

/* Upcalls from the environment into the node that owns it. */
typedef struct mc_env_handlers {
    /* Outbound connection from conn_open is established. */
    void (*on_conn_up)(void *node, mc_conn_t conn);
    /* Inbound connection accepted on the listening address. peer is the
     * remote's address as far as it is known (may be ""), valid for the call. */
    void (*on_conn_accept)(void *node, mc_conn_t conn, const char *peer);
    /* Connection closed or failed (MC_RPC_FAIL when it never came up or
     * broke, MC_OK on an orderly close by the peer). conn is dead after. */
    void (*on_conn_down)(void *node, mc_conn_t conn, mc_status_t why);
    /* One complete frame (header + body, as given to conn_send). The
     * buffer is valid only for the duration of the call. */
    void (*on_msg)(void *node, mc_conn_t conn, const uint8_t *frame, size_t len);
    /* Exactly once per posted op: MC_OK, MC_TRANSFER_FAIL, MC_RPC_TIMEOUT,
     * MC_INVALID_PARAMS (out of registered range), MC_TRANSFER_FAIL
     * (also: remote_key is not the key of the region's registration), ... */
    void (*on_xfer_done)(void *node, uint64_t tag, mc_status_t status);
} mc_env_handlers_t;

typedef struct mc_env_ops {
    /* --- clock --- */
    /* Monotonic nanoseconds. Never goes backwards for one node (the sim's
     * clock drift changes its rate, not its direction). */
    uint64_t (*now_ns)(mc_env_t *env);
    /* Fire fn(arg) once after delay_ns. Returns a handle for cancel. */
    mc_timer_t (*timer_arm)(mc_env_t *env, uint64_t delay_ns, mc_timer_fn fn, void *arg);
    /* Cancel a pending timer; a no-op for fired or unknown handles. */
    void (*timer_cancel)(mc_env_t *env, mc_timer_t t);

    /* --- control messages --- */
    /* Accept connections on addr ("host:port"); inbound connections are
     * reported with on_conn_accept. */
    mc_status_t (*listen)(mc_env_t *env, const char *addr);
    /* Start connecting to addr. The result arrives later as on_conn_up or
     * on_conn_down; *out is valid immediately (for matching and close). */
    mc_status_t (*conn_open)(mc_env_t *env, const char *addr, mc_conn_t *out);
    /* Queue one complete frame (mc_wire header included) for delivery in
     * order. MC_AGAIN = back-pressure (queue full), try later;
     * MC_RPC_FAIL = connection is down. Never blocks. */
    mc_status_t (*conn_send)(mc_env_t *env, mc_conn_t conn, const uint8_t *frame, size_t len);
    /* Close; no on_conn_down is delivered for a locally closed conn. */
    void (*conn_close)(mc_env_t *env, mc_conn_t conn);

    /* --- data plane --- */
    /* *key (may be NULL) receives the registration's key, an rkey peers
     * must put in mc_xfer_op_t.remote_key: nonzero, never reused within a
     * process incarnation, and starting from a random point per
     * incarnation so a restarted process does not issue its predecessor's
     * keys (a stale descriptor then fails instead of touching new memory). */
    mc_status_t (*mem_register)(mc_env_t *env, void *addr, size_t len, uint32_t *key);
    mc_status_t (*mem_unregister)(mc_env_t *env, void *addr);
    /* Post n ops; each completes exactly once through on_xfer_done, even
     * when this call fails part-way (then the remaining ops complete with
     * the error). Returns MC_OK if all were accepted. */
    mc_status_t (*xfer_post)(mc_env_t *env, const mc_xfer_op_t *ops, size_t n);
    /* Optional (may be NULL): the caller stopped waiting for op `tag` (its
     * own deadline passed). The op still completes once, later; the
     * transport makes sure its bytes cannot land after any op posted from
     * now on (hw TCP: the connection holding it is failed, so the
     * receiver's fence refuses it). No-op for an op already done. */
    void (*xfer_abandon)(mc_env_t *env, uint64_t tag);
    /* Optional (may be NULL): the address peers must put in mc_xfer_op_t.peer
     * to reach this node's registered memory, when it differs from the
     * node's control address (hw: the transport's "host:data_port"). The
     * store publishes it as its segments' transport endpoint. NULL op or
     * NULL result: use the node's address. Valid while the env lives. */
    const char *(*data_endpoint)(mc_env_t *env);
    /* Optional pair (both or neither; NULL: the store uses mc_calloc /
     * mc_free): len zeroed bytes for a store segment, memory that a
     * same-host peer can reach by memcpy once registered (hw: a memfd
     * mapping, mc_xport_alloc_shared; sim: plain memory). NULL = no memory.
     * seg_free takes what seg_alloc returned, after mem_unregister. */
    void *(*seg_alloc)(mc_env_t *env, size_t len);
    void (*seg_free)(mc_env_t *env, void *p, size_t len);

    /* --- randomness --- */
    uint64_t (*rand_u64)(mc_env_t *env);

    /* --- log and trace --- */
    /* Human log line (already formatted, no newline). */
    void (*log)(mc_env_t *env, int level, const char *component, const char *msg);
    /* Structured event: name plus "k=v k=v" fields. In the sim it is
     * appended to the trace whose hash proves determinism; in hw it is
     * written as a line that runners parse ("@trace <t_ns> <node> <event> <fields>"). */
    void (*trace)(mc_env_t *env, const char *event, const char *fields);
} mc_env_ops_t;

struct mc_env {
    const mc_env_ops_t *ops;
    void *impl;                  /* the world's private state */
    const char *node_name;       /* stable name, e.g. "master", "c1" */
    const mc_env_handlers_t *h;  /* set by the node at creation */
    void *node;                  /* first argument of every upcall */
    int log_level;               /* lines below this level are dropped */
};

/* Bind a node to its environment (called by the role's create). */
static inline void mc_env_bind(mc_env_t *env, const mc_env_handlers_t *h, void *node)
{
    env->h = h;
    env->node = node;
}

static inline uint64_t mc_env_now(mc_env_t *env) { return env->ops->now_ns(env); }
static inline mc_timer_t mc_env_timer(mc_env_t *env, uint64_t delay_ns, mc_timer_fn fn, void *arg)
{
    return env->ops->timer_arm(env, delay_ns, fn, arg);
}
static inline void mc_env_timer_cancel(mc_env_t *env, mc_timer_t *t)
{
    if (*t)
        env->ops->timer_cancel(env, *t);
    *t = 0;
}
static inline uint64_t mc_env_rand(mc_env_t *env) { return env->ops->rand_u64(env); }

/* printf-style helpers (formatting is pure; output goes through ops). */
void mc_env_logf(mc_env_t *env, int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mc_env_tracef(mc_env_t *env, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MC_NS_PER_MS 1000000ULL
#define MC_NS_PER_S 1000000000ULL

#endif
