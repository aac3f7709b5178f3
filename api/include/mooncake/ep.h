/* libmooncake: fault-tolerant process group and MoE expert-parallel
 * buffer (upstream `mooncake.pg` / `mooncake.ep`, shared/spec/ep.md) as a
 * C API over core/ep (see core/ep/README.md for the protocol).
 *
 * Model. A group is `world` rank handles (usually one per process) plus one
 * coordinator (membership, heartbeats, per-operation agreement). Each
 * handle runs the core rank on its own event-loop thread; every call hands
 * its work to that thread and blocks until it is done. Bytes move with the
 * transfer engine over TCP (loopback or any reachable host).
 *
 * The coordinator runs in-process (mooncake_ep_coord_start) or as its own
 * process: `mooncake_node --role ep_coord --addr HOST:PORT --conf world=N`.
 *
 * Operation ids. Every rank numbers its operations 1, 2, 3, ... and the
 * n-th operation of every rank is the same operation (as upstream's
 * sequence numbers). A replacement process that joins a running group
 * must continue at the survivors' next id: mooncake_ep_set_next_op_id.
 *
 * Return codes: MOONCAKE_EP_OK (0) or a negative MOONCAKE_EP_ERR_*; ops
 * also write the agreed final set (upstream's active_ranks after the op)
 * into *set when set is not NULL. Every op returns within 2 x timeout_us.
 * mooncake_ep_last_error() describes a failure (per thread). */
#ifndef MOONCAKE_EP_H
#define MOONCAKE_EP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MOONCAKE_API
#define MOONCAKE_API __attribute__((visibility("default")))
#endif

#define MOONCAKE_EP_OK 0
#define MOONCAKE_EP_ERR_INVALID (-1)     /* bad arguments (sizes, ranks, dtype) */
#define MOONCAKE_EP_ERR_INACTIVE (-2)    /* this rank is not active in the group */
#define MOONCAKE_EP_ERR_DROPPED (-3)     /* this rank (or the broadcast root) was dropped from the op */
#define MOONCAKE_EP_ERR_TIMEOUT (-4)     /* no decision reached this rank in 2 x timeout */
#define MOONCAKE_EP_ERR_INTERNAL (-5)    /* handle shutting down, out of memory */
#define MOONCAKE_EP_ERR_MIXED (-6)       /* chunks of one call agreed on different sets; *set = their intersection */

/* element types and reductions */
#define MOONCAKE_EP_FLOAT32 0
#define MOONCAKE_EP_FLOAT64 1
#define MOONCAKE_EP_INT32 2
#define MOONCAKE_EP_INT64 3
#define MOONCAKE_EP_SUM 0
#define MOONCAKE_EP_MAX 1
#define MOONCAKE_EP_MIN 2
#define MOONCAKE_EP_PRODUCT 3

/* recover_ranks results (upstream) */
#define MOONCAKE_EP_REJECTED 0
#define MOONCAKE_EP_APPLIED 1
#define MOONCAKE_EP_APPLIED_WITH_DROPPED_RANKS 2

typedef struct mooncake_ep mooncake_ep_t;
typedef struct mooncake_ep_coord mooncake_ep_coord_t;

MOONCAKE_API const char *mooncake_ep_last_error(void);

/* ---- coordinator ---- */
/* Listen on host:port (port 0: a free one) for a group of `world` ranks;
 * hb_timeout_ms (0: 1000) marks a silent rank offline and inactive.
 * The address ranks must use is written to addr_out. */
MOONCAKE_API mooncake_ep_coord_t *mooncake_ep_coord_start(const char *listen, uint32_t world, uint32_t hb_timeout_ms,
                                                          char *addr_out, size_t addr_cap);
MOONCAKE_API void mooncake_ep_coord_stop(mooncake_ep_coord_t *c);

/* ---- rank ---- */
/* Rank `rank` of `world` (1..64), coordinator "host:port", listening on
 * listen_host (free port). slot_bytes (0: 1 MiB) bounds one rank's block
 * of one operation (e.g. count * element size). Returns at once; the rank
 * becomes active when all `world` ranks joined (mooncake_ep_wait_active). */
MOONCAKE_API mooncake_ep_t *mooncake_ep_create(uint32_t rank, uint32_t world, const char *coordinator,
                                               const char *listen_host, size_t slot_bytes);
MOONCAKE_API void mooncake_ep_destroy(mooncake_ep_t *h);
/* Wait until this rank is active (0) or timeout_ms passed (ERR_TIMEOUT). */
MOONCAKE_API int mooncake_ep_wait_active(mooncake_ep_t *h, uint32_t timeout_ms);
MOONCAKE_API uint64_t mooncake_ep_next_op_id(mooncake_ep_t *h);
MOONCAKE_API void mooncake_ep_set_next_op_id(mooncake_ep_t *h, uint64_t id);

/* Collectives. count = elements per rank block; all_gather out and
 * all_to_all in/out hold world * count elements (slot of rank r at r *
 * count; slots of ranks outside the final set are zeroed); reduce_scatter
 * in holds world * count, out count. broadcast: buf in/out on every rank.
 * all_reduce and broadcast take any count: above slot_bytes they run as
 * consecutive ops of one slot each (several op ids; every rank must use
 * the same slot_bytes), agreed one by one; if a rank failed between two of
 * them the call returns MOONCAKE_EP_ERR_MIXED (each chunk is correct over
 * its own set). The other collectives are bounded by slot_bytes. */
MOONCAKE_API int mooncake_ep_all_reduce(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype, int op,
                                        uint64_t timeout_us, uint64_t *set);
MOONCAKE_API int mooncake_ep_all_gather(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype,
                                        uint64_t timeout_us, uint64_t *set);
MOONCAKE_API int mooncake_ep_broadcast(mooncake_ep_t *h, void *buf, size_t count, int dtype, uint32_t root,
                                       uint64_t timeout_us, uint64_t *set);
MOONCAKE_API int mooncake_ep_reduce_scatter(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype,
                                            int op, uint64_t timeout_us, uint64_t *set);
MOONCAKE_API int mooncake_ep_all_to_all(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype,
                                        uint64_t timeout_us, uint64_t *set);
MOONCAKE_API int mooncake_ep_barrier(mooncake_ep_t *h, uint64_t timeout_us, uint64_t *set);
/* Point to point: both sides call with the same op id (a send and the
 * matching recv are one operation); the peer must be active. */
MOONCAKE_API int mooncake_ep_send(mooncake_ep_t *h, const void *buf, size_t count, int dtype, uint32_t peer,
                                  uint64_t timeout_us);
MOONCAKE_API int mooncake_ep_recv(mooncake_ep_t *h, void *buf, size_t count, int dtype, uint32_t peer,
                                  uint64_t timeout_us);

/* MoE (f32 activations). x [tokens, hidden], topk_idx int64 [tokens, topk]
 * (-1 masked), topk_weights f32 [tokens, topk]; experts spread evenly over
 * world ranks (E_l = experts / world local experts). active_mask narrows
 * the participants (0: all). Dispatch outputs (arrays sized by
 * mooncake_ep_dispatch_sizes): recv_x [E_l][rows_cap][hidden], recv_count
 * [E_l], src_info [E_l][rows_cap], layout_range [E_l][world]. Returns the
 * dispatch's handle id (> 0) in *handle for combine. */
typedef struct mooncake_ep_moe {
    uint32_t max_tokens, hidden, experts, topk;
} mooncake_ep_moe_t;
MOONCAKE_API void mooncake_ep_dispatch_sizes(const mooncake_ep_t *h, const mooncake_ep_moe_t *m,
                                             size_t *local_experts, size_t *rows_cap);
MOONCAKE_API int mooncake_ep_dispatch(mooncake_ep_t *h, const mooncake_ep_moe_t *m, const float *x,
                                      const int64_t *topk_idx, const float *topk_weights, uint32_t tokens,
                                      uint64_t active_mask, uint64_t timeout_us, float *recv_x, int32_t *recv_count,
                                      int32_t *src_info, int64_t *layout_range, uint64_t *handle, uint64_t *set);
/* Combine the dispatch `handle`: out [max_tokens, hidden] = sum over k of
 * w[t,k] * y_{e_k}[t] for experts of ranks in the final set (weights not
 * renormalized). The experts are core's reference expert y = x * (0.1 e +
 * 1) (e global), applied by the rank that owns them. */
MOONCAKE_API int mooncake_ep_combine(mooncake_ep_t *h, const mooncake_ep_moe_t *m, uint64_t handle,
                                     uint64_t active_mask, uint64_t timeout_us, float *out, uint64_t *set);
/* upstream get_ep_buffer_size_hint: 16 E + 4 E T (32 + 2 H) */
MOONCAKE_API uint64_t mooncake_ep_buffer_size_hint(uint64_t max_tokens, uint64_t hidden, uint64_t num_ranks,
                                                   uint64_t num_experts);

/* ---- membership (local view, no communication) ---- */
MOONCAKE_API uint64_t mooncake_ep_active_ranks(mooncake_ep_t *h); /* bit r = rank r active */
MOONCAKE_API uint32_t mooncake_ep_num_synced_ranks(mooncake_ep_t *h);
MOONCAKE_API int mooncake_ep_peer_state(mooncake_ep_t *h, uint32_t rank); /* 1 active, 0 not */
MOONCAKE_API uint64_t mooncake_ep_epoch(mooncake_ep_t *h);
/* recover_ranks (activate=1) / deactivate_ranks (0): MOONCAKE_EP_REJECTED,
 * _APPLIED or _APPLIED_WITH_DROPPED_RANKS; negative on bad arguments.
 * Activation waits until every target process has joined. */
MOONCAKE_API int mooncake_ep_propose(mooncake_ep_t *h, uint64_t targets, int activate);

#ifdef __cplusplus
}
#endif
#endif
