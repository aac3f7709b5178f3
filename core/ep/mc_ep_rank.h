/* An EP rank: one member of a fault-tolerant expert-parallel group
 * (upstream Mooncake PG + EP, shared/spec/ep.md), as a node state machine
 * over mc_env_t. It owns a transfer engine (core/te) that moves every
 * byte of every collective (ranks hand each other their TE segment
 * descriptors, EP_SEGMENT, so no metadata service is needed), and talks
 * to the coordinator (role ep_coord, mc_ep_coord.c) for membership and
 * for the per-operation agreement.
 *
 * Operation protocol (op ids increase and are the same on every rank; a
 * rank runs the first EP_WINDOW (2) ops of its queue at once, results
 * leave in queue order):
 *  1. data: the rank TE-writes its block for each member j of the active
 *     set M (view mask & per-call active_ranks) into j's receive slot
 *     [op % 4][self], then sends EP_DATA to j; a receiver counts a source
 *     as arrived when EP_DATA came and the slot header matches.
 *  2. report: once every member of M (still in the view) arrived, or
 *     timeout_ns passed, the rank sends its arrival row to the coordinator.
 *  3. decide: the coordinator answers every reporter with one final set F
 *     (mc_ep_decide over the rows, once all live members reported or a
 *     window of timeout_ns passed); ranks of M outside F are deactivated.
 *     A rank in F computes its result from exactly the blocks of F (all
 *     present by construction); a rank outside F fails the op.
 * So every survivor reduces over the same set, a dead rank's data counts
 * only if every survivor has it, and the op returns within 2*timeout_ns
 * (the rank's own hard deadline) whatever happens to peers or the
 * coordinator.
 *
 * Conf keys: addr (listen; the world fills it), rank (0..world-1), world
 * (slot capacity, 1..64), coordinator (address, required), slot_bytes
 * (per-source receive slot, default 64KiB), hb_interval (default 100ms),
 * result_hash (default true: mc_ep_result_t.hash is computed; a pass over
 * the output the C API does not need), plus every core/te key
 * (transfer_timeout defaults to 2s here).
 *
 * Trace events: ep.view epoch active synced (a view applied),
 * ep.rank_start rank inc. */
#ifndef MC_EP_RANK_H
#define MC_EP_RANK_H

#include "../env/mc_conf.h"
#include "../env/mc_env.h"
#include "mc_ep_op.h"

typedef struct mc_ep_rank mc_ep_rank_t;

/* Inputs of one operation. Collectives: data (mc_ep_op_input_bytes).
 * Dispatch: tokens, x [T,H], topk_idx [T,K], topk_weights [T,K] (copied:
 * combine reuses them). active_ranks: the per-call mask of dispatch and
 * combine (0 = all); it is intersected with the group's active set. */
typedef struct mc_ep_input {
    const void *data;
    uint32_t tokens;
    const float *x;
    const int64_t *topk_idx;
    const float *topk_weights;
    mc_ep_mask_t active_ranks;
    bool borrow; /* collectives: data stays valid until the callback ran (no copy) */
    /* Collectives (not dispatch/combine), optional: the result is written
     * here (result.out == out) instead of the rank's scratch, saving the
     * caller a copy. out_len >= mc_ep_op_output_bytes, else
     * MC_INVALID_PARAMS; valid until the callback ran; untouched when the
     * op fails (then result.out is NULL). */
    void *out;
    size_t out_len;
} mc_ep_input_t;

typedef struct mc_ep_result {
    mc_status_t status;   /* MC_OK; MC_UNAVAILABLE_IN_CURRENT_STATUS (this
                             rank not active / group not ready);
                             MC_TRANSFER_FAIL (this rank was dropped, or the
                             broadcast root was); MC_RPC_TIMEOUT (no decision
                             within 2*timeout); MC_INVALID_PARAMS (bad op,
                             corrupt block, unknown dispatch) */
    mc_ep_mask_t set;     /* the agreed final set (= upstream active_ranks after the op) */
    mc_ep_mask_t dropped; /* members of the starting set outside it (failed_ranks_hint) */
    uint64_t epoch;       /* view epoch when the op finished */
    const void *out;      /* collectives/combine output, valid during the callback */
    size_t out_len;
    const mc_ep_dispatch_out_t *dispatch; /* dispatch: the received tokens */
    uint64_t hash;        /* mc_hash64 of out (dispatch: mc_ep_dispatch_out_hash); 0 with result_hash off */
    mc_ep_mask_t dispatch_set; /* combine: the final set of the dispatch it answered */
} mc_ep_result_t;

typedef void (*mc_ep_done_cb)(void *arg, const mc_ep_result_t *r);
typedef void (*mc_ep_propose_cb)(void *arg, int status, uint64_t epoch, mc_ep_mask_t dropped);

/* Create and bind to env; NULL with a message naming the key on bad conf. */
mc_ep_rank_t *mc_ep_rank_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen);
void mc_ep_rank_destroy(mc_ep_rank_t *r);

/* Queue an operation (it may overlap the one before it; callbacks run in
 * submission order). cb runs exactly once, later. MC_INVALID_PARAMS (no callback) when d does not fit:
 * world mismatch, blocks larger than slot_bytes. */
mc_status_t mc_ep_rank_submit(mc_ep_rank_t *r, const mc_ep_op_desc_t *d, const mc_ep_input_t *in, mc_ep_done_cb cb,
                              void *arg);

/* recover_ranks / activate_ranks (activate=true) and deactivate_ranks: a
 * proposal to the coordinator; cb gets mc_ep_propose_status (Rejected 0,
 * Applied 1, AppliedWithDroppedRanks 2), the new epoch and dropped ranks.
 * Activation waits (up to the coordinator's proposal_timeout) until every
 * target has joined. */
void mc_ep_rank_propose(mc_ep_rank_t *r, mc_ep_mask_t targets, bool activate, mc_ep_propose_cb cb, void *arg);

/* The final set of a dispatch this rank still holds (combine needs it). */
bool mc_ep_rank_dispatch_set(mc_ep_rank_t *r, uint64_t dispatch_id, mc_ep_mask_t *set);

/* Local queries on the last applied view (no communication, as upstream). */
uint32_t mc_ep_rank_self(const mc_ep_rank_t *r);
uint32_t mc_ep_rank_world(const mc_ep_rank_t *r);
mc_ep_mask_t mc_ep_rank_active(const mc_ep_rank_t *r);        /* get_active_ranks */
uint32_t mc_ep_rank_num_synced(const mc_ep_rank_t *r);        /* get_num_synced_ranks */
bool mc_ep_rank_peer_state(const mc_ep_rank_t *r, uint32_t rank); /* get_peer_state */
uint64_t mc_ep_rank_epoch(const mc_ep_rank_t *r);             /* get_current_epoch */

#endif
