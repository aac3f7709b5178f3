/* Transfer engine internals shared by the files of core/te. */
#ifndef MC_TE_INT_H
#define MC_TE_INT_H

#include "../base/mc_assert.h"
#include "../base/mc_list.h"
#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "../base/mc_vec.h"
#include "../rpc/mc_rpc.h"
#include "mc_te.h"
#include "mc_te_chan.h"

/* A registered local region. */
typedef struct te_buf {
    uint64_t addr;
    uint64_t len;
    char *location;
    bool remote;
    uint32_t key; /* the env's registration key: rkey/lkey in the descriptor */
} te_buf_t;

/* Health of one local path (NIC). Policy in mc_te_path.c. */
typedef struct te_path {
    uint32_t errors;       /* within the current error window */
    uint64_t last_err_ns;
    uint64_t paused_until; /* 0 = not paused */
    uint64_t posted, ok, failed;
} te_path_t;

typedef struct te_waiter {
    mc_te_open_cb cb;
    void *arg;
} te_waiter_t;

/* A remote (or our own, id 0) segment. */
typedef struct te_seg {
    uint64_t id; /* MC_TE_INVALID_SEGMENT while the first load runs */
    char *name;
    char *peer_addr; /* NULL until loaded */
    /* Where data ops go when the env's data plane listens apart from the
     * control address (env data_endpoint, hw): host of peer_addr with the
     * descriptor's tcp_data_port. NULL: peer_addr (the simulator). */
    char *data_addr;
    bool loaded;
    mc_te_seg_desc_t desc;
    uint32_t *order; /* desc.buffers indexes sorted by addr */
    /* load in progress */
    bool loading;
    int stage;           /* 0 fetching descriptor, 1 fetching rpc_meta */
    uint64_t meta_req;
    mc_te_seg_desc_t fresh; /* descriptor fetched by stage 0 */
    mc_vec_t waiters;       /* te_waiter_t */
    mc_timer_t fail_timer;  /* delivers synchronous failures later */
    int fail_err;
    struct mc_te *te;
} te_seg_t;

typedef struct te_batch te_batch_t;

typedef struct te_req {
    te_batch_t *batch;
    uint32_t idx;
    mc_te_request_t r;
    te_seg_t *seg;
    int status;
    uint64_t transferred;
    uint64_t next_off; /* first byte not yet sliced */
    uint32_t inflight;
    uint32_t nslices;  /* slices made so far (path spreading) */
    uint8_t start_path;
    mc_list_t slices;  /* te_slice_t.link, in-flight attempts */
    mc_timer_t timer;  /* transfer_timeout deadline */
} te_req_t;

/* One posted attempt of a slice. Orphans (req == NULL) are attempts whose
 * request finished or that slice_timeout abandoned; they stay in
 * te->inflight until the env reports them, then are dropped. */
typedef struct te_slice {
    mc_list_t link;
    struct mc_te *te;
    te_req_t *req;
    uint64_t off;
    uint64_t len;
    uint64_t tag;
    uint32_t rkey;  /* the peer buffer's registration key */
    uint32_t retry; /* failed attempts so far */
    uint8_t path;
    mc_timer_t timer; /* slice_timeout */
} te_slice_t;

struct te_batch {
    struct mc_te *te;
    uint64_t id;
    uint32_t cap;
    mc_vec_t tasks; /* te_req_t* */
    uint32_t nterminal;
    uint32_t nfailed;   /* tasks FAILED */
    uint32_t ntimeout;  /* tasks TIMEOUT */
    char *notify_name;  /* submit_with_notify */
    char *notify_msg;
    te_seg_t *notify_seg;
    bool notify_sent;
    mc_te_batch_cb cb;
    void *cb_arg;
    mc_timer_t cb_timer;
    bool cb_fired;
};

/* Control connection to one peer address (notify, probe). */
typedef struct te_peer {
    struct mc_te *te;
    mc_te_chan_t chan;
} te_peer_t;

typedef struct te_send {
    te_peer_t *peer;
    uint16_t reply_type;
    mc_te_done_cb cb;
    void *arg;
    bool is_notify;
} te_send_t;

struct mc_te {
    mc_env_t *env;
    mc_te_meta_t *meta;
    char *name;
    char *addr;
    char *protocol;
    char *cluster_id;
    char **devices; /* path names */
    uint32_t npaths;
    te_path_t *paths;
    /* conf */
    uint64_t slice_size, frag_limit;
    uint32_t retry_cnt;
    uint64_t transfer_timeout_ns; /* 0 = off */
    uint64_t slice_timeout_ns;    /* 0 = off */
    uint64_t pause_ns, err_window_ns;
    uint32_t pause_errors;
    uint32_t window;
    uint64_t rpc_timeout_ns;
    bool publish;
    /* memory */
    mc_vec_t bufs; /* te_buf_t sorted by addr */
    /* segments */
    te_seg_t *local;      /* id 0 */
    mc_map_t segs_by_id;  /* id -> te_seg_t* (loaded) */
    mc_map_t segs_by_name;/* name -> te_seg_t* (loaded or loading) */
    mc_vec_t all_segs;    /* te_seg_t*, owned, creation order */
    uint64_t next_seg_id;
    /* batches and slices */
    mc_map_t batches; /* id -> te_batch_t* */
    uint64_t next_batch_id;
    mc_map_t inflight; /* tag -> te_slice_t* */
    uint64_t tag_seq;
    uint32_t rr; /* request start-path round robin */
    /* publishing (the descriptor itself is local->desc) */
    uint64_t pub_req;
    bool pub_again;
    uint64_t rpc_meta_req;
    /* A failed put (server down, not up yet, unreachable) is retried with
     * backoff (1 s doubling to 30 s), so a peer can always find us once
     * the metadata server is back; upstream publishes once. */
    mc_timer_t pub_retry;
    uint64_t pub_backoff_ns;
    /* notifications */
    mc_map_t peers; /* addr -> te_peer_t* */
    mc_vec_t notifies; /* mc_te_notify_t */
    mc_wbuf_t out;
    mc_te_stats_t stats;
    bool destroying;
};

/* mc_te_mem.c */
te_buf_t *te_buf_find(mc_te_t *te, uint64_t addr);
void te_desc_rebuild(mc_te_t *te);
void te_publish(mc_te_t *te);
void te_publish_rpc_meta(mc_te_t *te);
/* A put failed: schedule a republish of rpc_meta and the descriptor. */
void te_publish_failed(mc_te_t *te);
void te_publish_cancel(mc_te_t *te);
/* Bytes from addr to the end of the contiguous registered run containing
 * it, limited to need (0 if addr is not registered). */
uint64_t te_local_covered(mc_te_t *te, uint64_t addr, uint64_t need);

/* mc_te_engine.c */
char *te_rpc_meta_json(mc_te_t *te); /* NULL when addr is empty */

/* mc_te_segment.c */
te_seg_t *te_seg_get(mc_te_t *te, uint64_t id);
/* Peer buffer containing addr, or NULL; target=true also requires it to
 * be remotely accessible. */
const mc_te_buffer_desc_t *te_seg_find_buf(te_seg_t *s, uint64_t addr, bool target);
uint64_t te_seg_covered(te_seg_t *s, uint64_t addr, uint64_t need);
void te_seg_index(te_seg_t *s);
void te_seg_free(mc_te_t *te, te_seg_t *s);

/* mc_te_path.c */
void te_paths_init(mc_te_t *te);
bool te_path_paused(mc_te_t *te, uint32_t path);
uint8_t te_path_pick(mc_te_t *te, uint32_t preferred);
uint8_t te_path_pick_retry(mc_te_t *te, uint32_t failed, uint32_t attempt);
void te_path_error(mc_te_t *te, uint32_t path);
void te_path_ok(mc_te_t *te, uint32_t path);

/* mc_te_slice.c */
void te_req_pump(te_req_t *q);
void te_req_start(te_req_t *q);
void te_req_finish(te_req_t *q, int status);
void te_slices_destroy(mc_te_t *te);

/* mc_te_batch.c */
void te_batch_task_done(te_batch_t *b, te_req_t *q);
void te_batches_destroy(mc_te_t *te);

/* mc_te_notify.c */
void te_send_notify_internal(mc_te_t *te, te_seg_t *seg, const char *name, const char *msg,
                             mc_te_done_cb cb, void *arg);
void te_peers_destroy(mc_te_t *te);

/* helpers */
static inline bool te_tag_is_ours(uint64_t tag) { return (tag & MC_TE_TAG_MASK) == MC_TE_TAG_PREFIX; }

#endif
