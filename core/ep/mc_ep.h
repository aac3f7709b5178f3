/* EP (expert parallelism) fault tolerance: the pure pieces.
 *
 * This header is the math and the membership rule, free of any I/O, so
 * the rank state machine (mc_ep_rank.h), the checker (core/scenario/
 * mc_check_ep.c), unit tests and later the Python/hw layers all share one
 * definition:
 *   - element types and reductions (upstream PG: sum, max, min, product;
 *     AVG is NotSupported there too);
 *   - the agreement rule that turns per-rank "whose data arrived" rows
 *     into one final set (mc_ep_decide), as upstream's healthy-set clique;
 *   - the MoE dispatch/combine CPU reference and upstream's
 *     get_ep_buffer_size_hint formula.
 * Masks are uint64_t bit sets indexed by in-group rank: capacity is 64
 * ranks, upstream's MOONCAKE_PG_MAX_RANKS. */
#ifndef MC_EP_H
#define MC_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/mc_status.h"

#define MC_EP_MAX_RANKS 64
#define MC_EP_MAX_TOPK 11 /* upstream kernel limit K <= 11 */

typedef uint64_t mc_ep_mask_t;

static inline bool mc_ep_has(mc_ep_mask_t m, uint32_t r) { return r < 64 && ((m >> r) & 1u); }
static inline mc_ep_mask_t mc_ep_bit(uint32_t r) { return r < 64 ? (mc_ep_mask_t)1 << r : 0; }
static inline uint32_t mc_ep_count(mc_ep_mask_t m)
{
    uint32_t n = 0; /* not __builtin_popcountll: libgcc's helper is outside core's allow list */
    for (; m; m &= m - 1)
        n++;
    return n;
}
static inline mc_ep_mask_t mc_ep_all(uint32_t n) { return n >= 64 ? ~(mc_ep_mask_t)0 : ((mc_ep_mask_t)1 << n) - 1; }

/* ---- element types and reductions ---- */

typedef enum mc_ep_dtype {
    MC_EP_F32 = 0,
    MC_EP_F64 = 1,
    MC_EP_I32 = 2,
    MC_EP_I64 = 3,
    MC_EP_DTYPE_COUNT
} mc_ep_dtype_t;

typedef enum mc_ep_redop {
    MC_EP_SUM = 0,
    MC_EP_MAX = 1,
    MC_EP_MIN = 2,
    MC_EP_PRODUCT = 3,
    MC_EP_REDOP_COUNT
} mc_ep_redop_t;

size_t mc_ep_dtype_size(mc_ep_dtype_t t);
const char *mc_ep_dtype_name(mc_ep_dtype_t t);
const char *mc_ep_redop_name(mc_ep_redop_t op);
/* Parse "f32"/"float32", "f64"/"float64", "i32"/"int32", "i64"/"int64";
 * "sum", "max", "min", "product"/"prod". false on anything else ("avg"
 * included: upstream answers NotSupported). */
bool mc_ep_dtype_parse(const char *s, mc_ep_dtype_t *out);
bool mc_ep_redop_parse(const char *s, mc_ep_redop_t *out);

/* acc[i] = acc[i] (op) in[i] for count elements. Integer sum/product wrap
 * (two's complement, computed unsigned so it is defined). Unaligned
 * buffers are fine (memcpy per element). */
void mc_ep_reduce_into(void *acc, const void *in, size_t count, mc_ep_dtype_t t, mc_ep_redop_t op);

/* out = reduction over the blocks of the ranks in set, in ascending rank
 * order (first member seeds the accumulator, like upstream), so every
 * rank computes bit-identical floats. blocks[r] points at rank r's count
 * elements. Empty set: out is zeroed. */
void mc_ep_reduce_set(void *out, const void *const *blocks, mc_ep_mask_t set, size_t count, mc_ep_dtype_t t,
                      mc_ep_redop_t op);

/* ---- agreement ---- */

/* One rank's report for one operation: the ranks whose contribution it
 * holds (itself included). */
typedef struct mc_ep_row {
    mc_ep_mask_t arrived;
} mc_ep_row_t;

/* The final set of an operation, from the rows of the reporters (ranks in
 * `reporters`, rows indexed by rank) restricted to `allowed` (the current
 * active set): the largest-first clique of mutually complete pairs, found
 * like upstream's extendHealthySet: while two members lack each other's
 * data, drop the member with the fewest mutual links inside the set (ties
 * -> larger rank). Every member of the result then holds the data of
 * every other member, so each can compute the same result. */
mc_ep_mask_t mc_ep_decide(const mc_ep_row_t *rows, mc_ep_mask_t reporters, mc_ep_mask_t allowed);

/* ---- MoE dispatch/combine CPU reference (shared/spec/ep.md B6) ----
 *
 * Layout as upstream, with f32 activations (the CPU reference carries no
 * bf16/fp8): x [T, H], topk_idx int64 [T, K] (-1 = masked), topk_weights
 * f32 [T, K]. E experts over N ranks, E_l = E / N local experts, expert e
 * lives on rank e / E_l. */
typedef struct mc_ep_moe_cfg {
    uint32_t num_ranks;      /* N */
    uint32_t num_experts;    /* E, E % N == 0 */
    uint32_t hidden;         /* H */
    uint32_t topk;           /* K, 1..MC_EP_MAX_TOPK */
    uint32_t max_tokens;     /* T_max = num_max_dispatch_tokens_per_rank */
} mc_ep_moe_cfg_t;

/* MC_OK or MC_INVALID_PARAMS (zero sizes, E % N, K range, N > 64). */
mc_status_t mc_ep_moe_cfg_check(const mc_ep_moe_cfg_t *c);

/* Upstream get_ep_buffer_size_hint(T, H, N, E) = 16*E + 4*E*T*(32 + 2*H);
 * N is unused upstream too. 0 on overflow. */
uint64_t mc_ep_buffer_size_hint(uint64_t max_tokens, uint64_t hidden, uint64_t num_ranks, uint64_t num_experts);

/* Wire form of one dispatch message block (src -> dest): a sequence of
 * records {u32 local_expert, u32 src_token, f32 x[H]} for every (token, k)
 * of src routed to an expert of dest, in (token, k) order. Duplicate
 * experts in one token's topk are sent once per occurrence, as upstream. */
size_t mc_ep_dispatch_rec_size(const mc_ep_moe_cfg_t *c);
/* Bytes src sends to dest; records written into out (NULL: only count).
 * Returns the byte length. tokens <= max_tokens. */
size_t mc_ep_dispatch_pack(const mc_ep_moe_cfg_t *c, uint32_t dest, const float *x, const int64_t *topk_idx,
                           uint32_t tokens, uint8_t *out);

/* Receiver side: the packed per-local-expert inputs. */
typedef struct mc_ep_dispatch_out {
    uint32_t local_experts;  /* E_l */
    uint32_t rows_cap;       /* N * T_max * K rows per expert */
    float *recv_x;           /* [E_l][rows_cap][H], rows beyond recv_count zero */
    int32_t *recv_count;     /* [E_l] */
    int32_t *src_info;       /* [E_l][rows_cap]: token index at the source */
    int32_t *src_rank;       /* [E_l][rows_cap]: the source rank */
    int64_t *layout_range;   /* [E_l][N]: (begin << 32) | count, as upstream */
} mc_ep_dispatch_out_t;

void mc_ep_dispatch_out_init(mc_ep_dispatch_out_t *o, const mc_ep_moe_cfg_t *c);
void mc_ep_dispatch_out_free(mc_ep_dispatch_out_t *o);
/* Fill o (on rank `self`) from the blocks received from the ranks in set,
 * in ascending source order (deterministic, unlike upstream's atomics).
 * blocks[s]/lens[s] for s in set. MC_INVALID_PARAMS if a block is
 * malformed (length not a multiple of the record, an expert not local,
 * a token out of range, too many rows); o is then zeroed. */
mc_status_t mc_ep_dispatch_unpack(const mc_ep_moe_cfg_t *c, uint32_t self, const uint8_t *const *blocks,
                                  const size_t *lens, mc_ep_mask_t set, mc_ep_dispatch_out_t *o);

/* Combine, expert side: the block owner sends back to src. Records
 * {u32 local_expert, u32 src_token, f32 y[H]} for every row of o whose
 * source is src, y taken from the expert outputs y [E_l][rows_cap][H]. */
size_t mc_ep_combine_pack(const mc_ep_moe_cfg_t *c, const mc_ep_dispatch_out_t *o, const float *y, uint32_t src,
                          uint8_t *out);
/* Combine, token side: out[t] = sum_k w[t,k] * y_{e_k}[t] over k with
 * e_k >= 0 and owner(e_k) in set, owners in ascending order and k in order
 * within one owner's block (fp32 accumulate). Experts of ranks outside set
 * contribute nothing and weights are not renormalized (upstream). Every
 * token gets a row (zeros if nothing arrived). blocks[o]/lens[o] from the
 * owners in set. MC_INVALID_PARAMS on a malformed block (out zeroed). */
mc_status_t mc_ep_combine_unpack(const mc_ep_moe_cfg_t *c, uint32_t self, const int64_t *topk_idx,
                                 const float *topk_weights, uint32_t tokens, const uint8_t *const *blocks,
                                 const size_t *lens, mc_ep_mask_t set, float *out);

#endif
