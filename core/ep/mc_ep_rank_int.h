/* Private state of an EP rank, shared by mc_ep_rank.c (membership,
 * connections, upcalls) and mc_ep_rank_op.c (operations). */
#ifndef MC_EP_RANK_INT_H
#define MC_EP_RANK_INT_H

#include "../base/mc_bytes.h"
#include "../base/mc_list.h"
#include "../te/mc_te.h"
#include "../wire/mc_msg_ep.h"
#include "mc_ep_rank.h"

#define EP_NSLOTS 4      /* receive slots per source: op id % EP_NSLOTS */
/* Ops of one rank in flight at once (the first EP_WINDOW of its queue).
 * A peer that reported op k has started it, so it still reads slots of
 * ops >= k - W + 1; we write op k + W at most after op k was decided: the
 * 2W - 1 ops in between must map to distinct slots, 2W - 1 < EP_NSLOTS. */
#define EP_WINDOW 2
#define EP_SLOT_HDR 16   /* u64 op_id, u32 src, u32 len, in front of every block */
#define EP_HANDLES 4     /* dispatch handles kept for combine */

typedef struct ep_peer {
    char *addr;           /* from the view; NULL: no endpoint */
    uint64_t inc;
    mc_conn_t conn;       /* ours to it, for EP_DATA */
    bool conn_up;
    uint64_t seg_id;
    bool seg_ready;       /* its current incarnation's descriptor is installed */
    char *desc_json;      /* its descriptor (EP_SEGMENT), until our view names desc_inc */
    uint64_t desc_inc;
} ep_peer_t;

typedef struct ep_op {
    mc_list_t link;
    struct mc_ep_rank *r;           /* for the op's timers */
    mc_ep_op_desc_t d;
    const uint8_t *input;           /* collectives: the input (own copy unless borrowed) */
    uint8_t *input_copy;
    uint8_t *out;                   /* collectives: the caller's output (NULL: r->out) */
    uint32_t tokens;                /* dispatch */
    float *x, *w;
    int64_t *idx;
    mc_ep_mask_t call_mask;
    mc_ep_done_cb cb;
    void *arg;
    /* running */
    uint8_t phase;                  /* 0 queued, 1 data, 2 waiting for the decision,
                                       3 outcome known, waiting for the ops before it */
    bool stash_decided;             /* phase 3: a decision (stash_set) or a failure (stash_status) */
    mc_ep_mask_t stash_set;
    mc_status_t stash_status;
    mc_ep_mask_t M, arrived, pending_send, written, notified;
    bool shared;                    /* one block for every member: sent from our own send slot */
    uint32_t lens[MC_EP_MAX_RANKS]; /* block lengths we send */
    mc_timer_t t_data, t_hard;
    uint64_t start_ns;
} ep_op_t;

typedef struct ep_early {
    uint64_t op_id;
    mc_ep_mask_t mask;
} ep_early_t;

typedef struct ep_handle {
    bool used;
    uint64_t id;
    mc_ep_moe_cfg_t cfg;
    mc_ep_mask_t set;
    uint32_t tokens;
    int64_t *idx;
    float *w;
    mc_ep_dispatch_out_t out;
} ep_handle_t;

typedef struct ep_ctx { /* a TE batch callback's argument; freed at destroy if pending */
    mc_list_t link;
    mc_ep_rank_t *r;
    uint32_t peer;
    uint64_t op_id;
} ep_ctx_t;

typedef struct ep_prop {
    mc_list_t link;
    uint64_t req_id;
    mc_ep_propose_cb cb;
    void *arg;
} ep_prop_t;

struct mc_ep_rank {
    mc_env_t *env;
    mc_te_t *te;
    uint32_t self, world;
    uint64_t inc;
    size_t slot_bytes;
    uint64_t hb_interval;
    bool result_hash;
    uint8_t *out;     /* result scratch, reused across ops */
    size_t out_cap;
    char *addr, *coord_addr;
    mc_conn_t coord;
    bool coord_up;
    /* last applied view */
    bool have_view;
    uint64_t epoch;
    mc_ep_mask_t active, synced;
    ep_peer_t peers[MC_EP_MAX_RANKS];
    /* memory: one registered region, [recv | send], each EP_NSLOTS x world x slot_bytes */
    uint8_t *mem;
    size_t region;
    ep_early_t early[EP_NSLOTS];
    mc_list_t queue; /* ep_op_t in id order; the first EP_WINDOW may run, results leave from the head */
    mc_timer_t kick, hb, redial, propt;
    ep_handle_t handles[EP_HANDLES];
    mc_list_t ctxs, props;
    uint64_t next_req;
    mc_wbuf_t w;
};

static inline uint8_t *ep_recv_slot(mc_ep_rank_t *r, uint64_t op_id, uint32_t src)
{
    return r->mem + ((op_id % EP_NSLOTS) * r->world + src) * r->slot_bytes;
}
static inline uint8_t *ep_send_slot(mc_ep_rank_t *r, uint64_t op_id, uint32_t dest)
{
    return r->mem + r->region + ((op_id % EP_NSLOTS) * r->world + dest) * r->slot_bytes;
}

/* mc_ep_rank.c */
void ep_send_coord(mc_ep_rank_t *r, const mc_msg_ep_t *m, uint64_t req_id);
void ep_ensure_peer(mc_ep_rank_t *r, uint32_t j);
ep_ctx_t *ep_ctx_new(mc_ep_rank_t *r, uint32_t peer, uint64_t op_id);
void ep_ctx_free(ep_ctx_t *c);

/* mc_ep_rank_op.c */
void ep_op_kick(mc_ep_rank_t *r);
void ep_op_on_data(mc_ep_rank_t *r, const mc_msg_ep_t *m);
void ep_op_on_decide(mc_ep_rank_t *r, const mc_msg_ep_t *m);
void ep_op_on_view(mc_ep_rank_t *r);
void ep_op_peer_ready(mc_ep_rank_t *r, uint32_t j);
void ep_op_free_all(mc_ep_rank_t *r);
void ep_handles_free(mc_ep_rank_t *r);

#endif
