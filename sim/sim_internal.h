/* Private structures shared by the sim_*.c files. */
#ifndef MC_SIM_INTERNAL_H
#define MC_SIM_INTERNAL_H

#include "sim.h"

#include "base/mc_heap.h"
#include "base/mc_list.h"
#include "base/mc_map.h"
#include "base/mc_rng.h"
#include "base/mc_vec.h"

#define SIM_NONE UINT32_MAX
#define SIM_ANY_INC UINT32_MAX
#define SIM_INLINE 96          /* frames up to this size live inside the event */
#define SIM_POOL_CHUNK 4096    /* events per pool chunk (chunks never move) */
#define SIM_MAX_NICS 16

enum sim_ev_kind {
    SIM_EV_FREE = 0,
    SIM_EV_TIMER,     /* node */
    SIM_EV_SYN,       /* node = listener: connection request arrives */
    SIM_EV_CONN_UP,   /* node = opener */
    SIM_EV_ACCEPT,    /* node = listener: accept upcall the kernel queued while paused */
    SIM_EV_CONN_DOWN, /* node = one side: RST/FIN/connect failure */
    SIM_EV_MSG,       /* node = receiver */
    SIM_EV_XFER_EXEC, /* global: the NIC moves the bytes (runs while peer paused) */
    SIM_EV_XFER_DONE, /* node = initiator */
    SIM_EV_START,     /* node boots (global: runs whatever the node's state) */
    SIM_EV_FAULT,     /* global */
    SIM_EV_CMD,       /* node */
    SIM_EV_CALL,      /* global (tests and drivers) */
    SIM_EV__COUNT
};

typedef struct sim_conn sim_conn_t;
typedef struct sim_xfer sim_xfer_t;

typedef struct sim_ev {
    mc_heap_item_t hi;
    mc_list_t dlink;  /* in the node's deferred list while paused */
    uint32_t idx;     /* pool index */
    uint32_t gen;     /* bumped on free: stale timer handles miss */
    uint8_t kind;
    uint8_t where;    /* 0 free, 1 heap, 2 deferred, 3 running */
    uint8_t side;     /* conn side the event is for */
    uint32_t node;    /* target node or SIM_NONE */
    uint32_t inc;     /* target incarnation or SIM_ANY_INC */
    uint32_t len;
    int32_t status;
    union {
        struct { mc_timer_fn fn; void *arg; } timer;
        sim_conn_t *conn;
        sim_xfer_t *xfer;
        const mc_scn_fault_t *fault;
        struct { const mc_scn_cmd_t *c; uint32_t left; } cmd;
        struct { mc_sim_call_fn fn; void *arg; } call;
    } u;
    uint8_t *buf;     /* frame: points at inline[] or a heap copy */
    uint64_t seq;     /* frame: position in its direction's stream (sim_net.c) */
    uint8_t inline_buf[SIM_INLINE];
} sim_ev_t;

/* sim_ev_t.where of a frame parked off the queue in a connection's lost or
 * out-of-order list (sim_net.c); the loop's own values are 0..3. */
#define SIM_WHERE_HELD 4

typedef struct sim_region {
    uintptr_t base;
    size_t len;
    uint32_t key; /* registration key (rkey) */
} sim_region_t;

typedef struct sim_nic {
    bool down;
    uint64_t tx_free_ns; /* serialization: the NIC is busy until then */
} sim_nic_t;

enum sim_node_state { SIM_NODE_DOWN = 0, SIM_NODE_UP = 1 };

typedef struct sim_node {
    mc_sim_t *sim;
    uint32_t id;
    char *name;
    char *addr;
    uint64_t name_hash;
    const mc_role_t *role;
    mc_conf_t conf;
    uint32_t nnics;
    sim_nic_t nics[SIM_MAX_NICS];
    uint8_t state;
    bool paused;
    bool dying;       /* inside role->destroy on crash: ops are no-ops */
    bool xfer_blackhole;
    uint32_t inc;     /* incarnation: bumps on every crash/restart */
    void *inst;       /* role instance */
    mc_env_t env;
    mc_rng_t rng_env; /* rand_u64 */
    mc_rng_t rng_net; /* jitter/loss/dup/reorder of what this node sends */
    /* clock: local = anchor_local + (now - anchor_t) * rate, kept monotonic */
    double rate;
    uint64_t anchor_t, anchor_local, last_local;
    mc_list_t conns;    /* sim_conn_t.link[side] */
    mc_list_t deferred; /* sim_ev_t.dlink while paused */
    mc_vec_t regions;   /* sim_region_t */
    uint32_t key_seq;   /* registrations made by this node (all incarnations) */
    mc_vec_t listens;   /* char * addresses this incarnation listens on */
} sim_node_t;

enum sim_conn_state { SIM_CONN_CONNECTING, SIM_CONN_UP, SIM_CONN_DEAD };

struct sim_conn {
    uint64_t k;           /* handles are 2k (opener) and 2k+1 (acceptor) */
    uint32_t node[2];
    uint32_t inc[2];
    bool open[2];         /* the side holds the handle (no down delivered, not closed) */
    uint8_t state;
    struct sim_conn_end {
        mc_list_t link; /* in the node's conns list */
        sim_conn_t *c;
        uint8_t side;
    } end[2];
    uint64_t open_ns;
    uint64_t last_arrival[2]; /* FIFO per direction (index = sender side) */
    uint64_t queued[2];       /* bytes in flight from side */
    bool gave_up[2];          /* side's retransmissions ran out: reset scheduled */
    /* Cuts and down NICs (sim_net.c), per direction (index = sender side). */
    uint64_t next_seq[2];     /* frames (and a FIN that had to wait) sent */
    uint64_t rcv_next[2];     /* next one the receiver hands over */
    mc_list_t lost[2];        /* sent into a cut, by seq: resent on the RTO */
    mc_list_t ooo[2];         /* arrived behind a lost one, by seq */
    bool ack_lost[2];         /* delivered while the way back was cut */
    bool rtx_armed[2];        /* a retransmission timer is pending */
    uint8_t rtx_tries[2];     /* consecutive retransmissions that hit a cut */
    uint32_t refs;            /* events pointing here */
};

struct sim_xfer {
    uint64_t tag;
    uint8_t opcode;
    uint8_t path;
    uint8_t *local;
    uintptr_t remote;
    uint32_t remote_key;
    uint64_t len;
    uint32_t init;     /* initiator node */
    uint32_t init_inc;
    uint32_t peer;
    uint32_t peer_inc;
    uint64_t post_ns;
};

struct mc_sim {
    mc_sim_cfg_t cfg;
    mc_net_model_t net;
    uint64_t now;
    uint64_t events;
    mc_heap_t heap;
    sim_ev_t **chunks;
    uint32_t nchunks;
    uint32_t free_head; /* pool index + 1; 0 = empty */
    uint32_t nev;       /* slots handed out ever */
    sim_node_t **nodes;
    uint32_t nnodes, capnodes;
    mc_map_t by_name;  /* name -> id+1 */
    mc_map_t by_addr;  /* node address -> id+1 */
    mc_map_t listen;   /* listened address -> id+1 */
    mc_map_t conns;    /* k -> sim_conn_t */
    uint64_t next_conn;
    uint8_t *cut;      /* nnodes x nnodes: cut[a*n+b] = a->b dropped */
    uint32_t cut_n;
    bool any_cut;
    uint64_t hash;
    uint64_t trace_lines;
    char err[512];
    bool failed;
};

/* sim_loop.c */
sim_ev_t *sim_ev_new(mc_sim_t *s, uint8_t kind, uint32_t node, uint32_t inc);
void sim_ev_push(mc_sim_t *s, sim_ev_t *ev, uint64_t t_ns);
sim_ev_t *sim_ev_get(mc_sim_t *s, uint32_t idx);
void sim_ev_release(mc_sim_t *s, sim_ev_t *ev); /* kind cleanup + back to pool */
void sim_ev_cancel(mc_sim_t *s, sim_ev_t *ev);
void sim_undefer(mc_sim_t *s, sim_node_t *n);   /* re-queue deferred events at now */
void sim_ev_defer(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n); /* park until resume */
void sim_loop_free(mc_sim_t *s);

/* sim_node.c */
extern const mc_env_ops_t sim_env_ops;
sim_node_t *sim_node(const mc_sim_t *s, uint32_t id);
void sim_node_start(mc_sim_t *s, sim_node_t *n);
void sim_node_crash(mc_sim_t *s, sim_node_t *n, const char *why);
void sim_node_free(mc_sim_t *s, sim_node_t *n);
uint64_t sim_node_local_now(sim_node_t *n, uint64_t t);
void sim_node_set_rate(mc_sim_t *s, sim_node_t *n, double rate);
void sim_node_step(mc_sim_t *s, sim_node_t *n, uint64_t step_ns);
void sim_dispatch_node_ev(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n);

/* sim_net.c */
mc_status_t sim_net_listen(mc_env_t *env, const char *addr);
mc_status_t sim_net_open(mc_env_t *env, const char *addr, mc_conn_t *out);
mc_status_t sim_net_send(mc_env_t *env, mc_conn_t h, const uint8_t *frame, size_t len);
void sim_net_close(mc_env_t *env, mc_conn_t h);
void sim_net_node_down(mc_sim_t *s, sim_node_t *n); /* crash: RST to peers */
void sim_net_dispatch(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n);
void sim_conn_unref(mc_sim_t *s, sim_conn_t *c);
/* True when a frame from a to b would be dropped now (cut or NIC down). */
bool sim_net_blocked(const mc_sim_t *s, uint32_t a, uint32_t b);
/* One-way delay for len bytes from a (on nic) to b; advances NIC queue. */
uint64_t sim_net_delay(mc_sim_t *s, sim_node_t *a, uint32_t nic, uint64_t len);
int sim_net_ctl_nic(const sim_node_t *n); /* first NIC that is up, or -1 */
void sim_net_partition(mc_sim_t *s, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                       bool oneway);
void sim_net_heal(mc_sim_t *s);
void sim_net_drop_held(mc_sim_t *s); /* teardown: before the event pool goes */
void sim_net_free(mc_sim_t *s);
void sim_net_resize_cut(mc_sim_t *s);

/* sim_xfer.c */
mc_status_t sim_mem_register(mc_env_t *env, void *addr, size_t len, uint32_t *key);
mc_status_t sim_mem_unregister(mc_env_t *env, void *addr);
mc_status_t sim_xfer_post(mc_env_t *env, const mc_xfer_op_t *ops, size_t n);
void sim_xfer_exec(mc_sim_t *s, sim_ev_t *ev);

/* sim_fault.c */
void sim_fault_dispatch(mc_sim_t *s, sim_ev_t *ev);
void sim_cmd_dispatch(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n);

/* sim_trace.c */
void sim_trace_line(mc_sim_t *s, uint64_t t, const char *node, const char *event, const char *fields);
void sim_hash_event(mc_sim_t *s, const sim_ev_t *ev);

#endif
