/* mc_xport: the hw data plane. Moves bytes between this process's
 * registered memory and a peer's registered memory, off the loop thread,
 * and reports each operation exactly once back on the loop thread.
 *
 * It is what mc_hw_env's mem_register / mem_unregister / xfer_post plug
 * into (core/env/mc_env.h contracts):
 *
 *     x = mc_xport_create(&opts);            // opts.post = loop poster
 *     mem_register   -> mc_xport_mem_register_key(x, addr, len, key)
 *     mem_unregister -> mc_xport_mem_unregister(x, addr)
 *     xfer_post      -> mc_xport_post(x, ops, n)
 *     opts.done(ctx, tag, status)  == on_xfer_done (runs on the loop thread)
 *
 * Backends (mc_xport_backend.h, a UCX uct_iface_ops-style table):
 *   "tcp"  data listener + N connections per peer, worker threads;
 *   "shm"  same-host peers: the peer's memory was allocated with
 *          mc_xport_alloc_shared() (memfd), we map it and memcpy.
 * The dispatcher picks shm when it is enabled (opts.shm, not MC_FORCE_TCP),
 * the peer's endpoint says it offers shm and the peer's shm socket is
 * reachable from here (same host and network namespace) and the remote
 * range lies in one of the peer's shared registered regions; otherwise tcp.
 *
 * Peer data endpoints. An op names its peer by the peer node's CONTROL
 * address ("host:port"). The data endpoint {host, data_port, shm} is found,
 * in this order, from:
 *   1. a descriptor set with mc_xport_set_peer_desc(x, peer_ctrl, desc),
 *      where desc is the peer's mc_xport_local_desc() exchanged by the
 *      embedder (e.g. in its segment metadata);
 *   2. opts.resolve(ctx, peer_ctrl, &ep) if supplied;
 *   3. the deterministic rule, if opts.peer_port_offset != 0:
 *      host = control host, data_port = control port + peer_port_offset,
 *      shm offered. (Use it with opts.data_port = own control port +
 *      the same offset.)
 * Unresolvable peers fail the op with MC_TRANSFER_FAIL.
 * The shm socket of a peer is the abstract UNIX socket "\0mcx@<host>:<port>"
 * named after its TCP data endpoint, so it needs no extra exchange; it is
 * unique per network namespace and disappears with the process.
 *
 * Completion codes (on_xfer_done), consistent with mc_env.h:
 *   MC_OK              bytes landed (WRITE: receiver confirmed after the
 *                      last byte was stored) / READ data is in local memory
 *   MC_INVALID_PARAMS  len 0, bad opcode, NULL peer/local, local range not
 *                      inside one region registered here, or the receiver
 *                      rejected the remote range (not inside ONE region it
 *                      registered: no memory was touched)
 *   MC_TRANSFER_FAIL   remote_key is not the key of any region the peer
 *                      registered (stale descriptor; nothing touched),
 *                      unresolvable peer, connect failure, connection
 *                      reset / peer death / malformed reply, xport closing
 *   MC_RPC_TIMEOUT     no progress on the op's connection for the transfer
 *                      timeout (the connection is closed; its other ops
 *                      also complete with MC_RPC_TIMEOUT)
 *
 * Environment variables (read at create; opts fields override):
 *   MC_FORCE_TCP=1|true|yes   never use shm
 *   MC_TRANSFER_TIMEOUT=<s>   op timeout in seconds (default 30, min 5, as upstream)
 *   MC_TCP_LANES_PER_PEER=<n> connections per peer, 1..16 (default 4)
 *   MC_XPORT_SLICE_SIZE=<b>   TCP slice size in bytes (default 1 MiB)
 *
 * Threading: create, destroy, mem_register, mem_unregister, post, set_peer_desc, alloc_shared,
 * free_shared run on the embedder's loop thread (they never block on the
 * network; mem_unregister may wait for an incoming slice that is being
 * copied into that region right now). opts.done runs only on the loop
 * thread through opts.post. opts.log may be called from any thread. */
#ifndef MC_XPORT_H
#define MC_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_status.h"
#include "env/mc_env.h"

#define MC_XPORT_HOST_LEN 64
#define MC_XPORT_DESC_LEN 160
#define MC_XPORT_DEFAULT_CONNS 4
#define MC_XPORT_MAX_CONNS 16
#define MC_XPORT_DEFAULT_SLICE (1u << 20)
#define MC_XPORT_DEFAULT_TIMEOUT_S 30

typedef struct mc_xport mc_xport_t;

/* Where a peer's data plane listens. */
typedef struct mc_xport_endpoint {
    char host[MC_XPORT_HOST_LEN]; /* numeric IPv4/IPv6 or "localhost" */
    uint16_t data_port;           /* TCP data port */
    bool shm;                     /* peer offers shared memory */
    uint16_t rdma_port;           /* verbs handshake port; 0 = no rdma */
} mc_xport_endpoint_t;

/* Run fn(arg) on the loop thread later; thread-safe; 0 or -1 (shutting
 * down). For mc_loop: a wrapper around mc_loop_post(loop, fn, arg). */
typedef int (*mc_xport_post_fn)(void *post_ctx, void (*fn)(void *), void *arg);
typedef void (*mc_xport_done_fn)(void *done_ctx, uint64_t tag, mc_status_t status);
/* Fill *out for a peer control address; return 0, or -1 if unknown. Runs
 * on the loop thread; must not block. */
typedef int (*mc_xport_resolve_fn)(void *ctx, const char *peer_ctrl, mc_xport_endpoint_t *out);
typedef void (*mc_xport_log_fn)(void *ctx, int level, const char *msg);

typedef struct mc_xport_opts {
    const char *host;   /* data listener host; NULL/"" = 127.0.0.1 */
    uint16_t data_port; /* 0 = ephemeral */
    unsigned conns_per_peer; /* 0 = env / 4 */
    uint64_t slice_size;     /* 0 = env / 1 MiB; max 64 MiB */
    uint64_t timeout_ms;     /* 0 = MC_TRANSFER_TIMEOUT / 30 s */
    int shm;                 /* -1/0 default = on, 1 = on, -2 = off */
    bool force_tcp;          /* as MC_FORCE_TCP=1 */
    int peer_port_offset;    /* deterministic rule (see above); 0 = off */

    mc_xport_post_fn post; /* required */
    void *post_ctx;
    mc_xport_done_fn done; /* required */
    void *done_ctx;
    mc_xport_resolve_fn resolve; /* optional; thread-safe if mc_xport_copy_now is used */
    void *resolve_ctx;
    mc_xport_log_fn log; /* optional; NULL = stderr. Any thread. */
    void *log_ctx;
    int log_level; /* enum mc_log_level; lines below it are dropped */
    /* "tcp" (NULL/"") or "rdma": the verbs backend (mc_xport_verbs.h)
     * serves peers that offer rdma; create fails without an RDMA device
     * unless MC_FORCE_TCP is set (then everything goes over TCP). */
    const char *protocol;
    const char *rdma_devices; /* comma list of device names; NULL/"" = auto */
} mc_xport_opts_t;

/* NULL on failure (logged). Starts the listener and worker threads. */
mc_xport_t *mc_xport_create(const mc_xport_opts_t *opts);
/* Closes every connection, waits for the worker threads and frees. Ops
 * still in flight are dropped: no opts.done call happens after this. */
void mc_xport_destroy(mc_xport_t *x);

/* Register [addr, addr+len) for local and remote access. MC_INVALID_PARAMS
 * for NULL/0/overflow or an overlap with a registered region. */
mc_status_t mc_xport_mem_register(mc_xport_t *x, void *addr, size_t len);
/* Same, returning the registration key (*key may be NULL): peers put it in
 * mc_xfer_op_t.remote_key; an op with another nonzero key fails with
 * MC_TRANSFER_FAIL (no region has it) or MC_INVALID_PARAMS (the range is
 * not inside the keyed region), touching nothing. Keys are nonzero, never
 * reused by this process and start at a random point per process. An op
 * with remote_key 0 is checked by range only (users without keys). */
mc_status_t mc_xport_mem_register_key(mc_xport_t *x, void *addr, size_t len, uint32_t *key);
/* MC_INVALID_PARAMS if addr is not the base of a registered region. */
mc_status_t mc_xport_mem_unregister(mc_xport_t *x, void *addr);

/* Post n ops. Each completes exactly once through opts.done on the loop
 * thread, never synchronously from here. Returns MC_OK if every op was
 * accepted, else the first immediate error (that op still completes with
 * it). */
mc_status_t mc_xport_post(mc_xport_t *x, const mc_xfer_op_t *ops, size_t n);

/* The user gave up waiting for op `tag` (its own deadline): the op still
 * completes exactly once, but first the transport makes sure its bytes
 * cannot land after anything posted from now on (TCP: the connection
 * holding it is failed, retiring its generation; the receiver's fence
 * then refuses it). Loop thread. No-op for an op already done. */
void mc_xport_abandon(mc_xport_t *x, uint64_t tag);

/* Do one op on the calling thread (any thread), now, when that needs no
 * waiting: the peer is on this host and the shm backend has already
 * mapped the memory (first contact and every other case take `post`).
 * Any size is copied here (the caller waits for it anyway; `post` hands
 * copies over 64 KiB to the shm worker). MC_OK: copied, no
 * completion follows. MC_IN_PROGRESS: nothing was touched; post it.
 * MC_INVALID_PARAMS: a malformed op. in->tag is unused; in->local is the
 * caller's memory (not checked against registrations: nothing but this
 * thread's memcpy touches it). The peer is resolved with opts.resolve,
 * which must then be thread-safe. */
mc_status_t mc_xport_copy_now(mc_xport_t *x, const mc_xfer_op_t *in);
/* The same for this process's own registered memory: [addr, addr+len)
 * inside the region with registration key `key` (nonzero). MC_OK: copied;
 * MC_IN_PROGRESS: not such a range (post it for the authoritative error). */
mc_status_t mc_xport_copy_local(mc_xport_t *x, uint8_t opcode, void *local, uint64_t addr, uint32_t key,
                                uint64_t len);

/* This xport's descriptor, "mcx1 host=<h> port=<p> shm=<0|1>[ rdma=<port>]", to publish. */
const char *mc_xport_local_desc(const mc_xport_t *x);
uint16_t mc_xport_data_port(const mc_xport_t *x);
/* Remember peer_ctrl's descriptor (replaces an earlier one; desc NULL
 * forgets it). MC_INVALID_PARAMS if desc does not parse. */
mc_status_t mc_xport_set_peer_desc(mc_xport_t *x, const char *peer_ctrl, const char *desc);
/* Pure parser for a descriptor; 0 or -1. */
int mc_xport_desc_parse(const char *desc, mc_xport_endpoint_t *out);
void mc_xport_desc_format(const mc_xport_endpoint_t *ep, char *buf, size_t len);

/* Memory that same-host peers can reach through shm: a memfd mapping,
 * page-aligned, zero-filled. Register (a part of) it as usual. NULL on
 * failure. free: unregister first; peers that mapped it keep their
 * mapping until they drop the peer. */
void *mc_xport_alloc_shared(mc_xport_t *x, size_t len);
void mc_xport_free_shared(mc_xport_t *x, void *p);
/* Whether p is the start of a live mc_xport_alloc_shared allocation. */
bool mc_xport_is_shared(mc_xport_t *x, const void *p);

typedef struct mc_xport_stats {
    uint64_t ops_tcp, ops_shm;     /* ops handed to each backend */
    uint64_t bytes_tcp, bytes_shm; /* bytes of those ops */
    uint64_t ops_done;             /* completions delivered */
    uint64_t ops_rdma, bytes_rdma; /* ops/bytes handed to the verbs backend */
    uint64_t stale_tcp;            /* requests this receiver refused as STALE (TCP fence) */
} mc_xport_stats_t;
void mc_xport_stats(const mc_xport_t *x, mc_xport_stats_t *out);

#endif
