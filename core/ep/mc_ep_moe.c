/* MoE dispatch/combine CPU reference (shared/spec/ep.md B6.2-B6.4) and
 * upstream's buffer size hint. Records are little-endian host floats:
 * the blocks never leave one build of this code. */
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_ep.h"

#define REC_HDR 8 /* u32 local_expert, u32 src_token */

mc_status_t mc_ep_moe_cfg_check(const mc_ep_moe_cfg_t *c)
{
    if (!c->num_ranks || c->num_ranks > MC_EP_MAX_RANKS || !c->num_experts || c->num_experts % c->num_ranks ||
        !c->hidden || c->hidden > (1u << 20) || !c->topk || c->topk > MC_EP_MAX_TOPK || !c->max_tokens ||
        c->max_tokens > (1u << 20) || c->num_experts > (1u << 20))
        return MC_INVALID_PARAMS;
    return MC_OK;
}

uint64_t mc_ep_buffer_size_hint(uint64_t max_tokens, uint64_t hidden, uint64_t num_ranks, uint64_t num_experts)
{
    (void)num_ranks; /* unused upstream as well */
    uint64_t per_slot, payload;
    if (hidden > (UINT64_MAX - 32) / 2)
        return 0;
    per_slot = 32 + 2 * hidden;
    if (__builtin_mul_overflow(num_experts, max_tokens, &payload) ||
        __builtin_mul_overflow(payload, per_slot, &payload) || __builtin_mul_overflow(payload, 4, &payload) ||
        num_experts > UINT64_MAX / 16 || payload > UINT64_MAX - 16 * num_experts)
        return 0;
    return 16 * num_experts + payload;
}

size_t mc_ep_dispatch_rec_size(const mc_ep_moe_cfg_t *c) { return REC_HDR + (size_t)c->hidden * sizeof(float); }

static uint32_t local_experts(const mc_ep_moe_cfg_t *c) { return c->num_experts / c->num_ranks; }

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

size_t mc_ep_dispatch_pack(const mc_ep_moe_cfg_t *c, uint32_t dest, const float *x, const int64_t *topk_idx,
                           uint32_t tokens, uint8_t *out)
{
    MC_ASSERT(tokens <= c->max_tokens);
    uint32_t el = local_experts(c);
    size_t rs = mc_ep_dispatch_rec_size(c), off = 0;
    for (uint32_t t = 0; t < tokens; t++)
        for (uint32_t k = 0; k < c->topk; k++) {
            int64_t e = topk_idx[(size_t)t * c->topk + k];
            if (e < 0 || e >= c->num_experts || (uint32_t)e / el != dest)
                continue;
            if (out) {
                put_u32(out + off, (uint32_t)e % el);
                put_u32(out + off + 4, t);
                memcpy(out + off + REC_HDR, x + (size_t)t * c->hidden, (size_t)c->hidden * sizeof(float));
            }
            off += rs;
        }
    return off;
}

void mc_ep_dispatch_out_init(mc_ep_dispatch_out_t *o, const mc_ep_moe_cfg_t *c)
{
    o->local_experts = local_experts(c);
    o->rows_cap = c->num_ranks * c->max_tokens * c->topk;
    size_t rows = (size_t)o->local_experts * o->rows_cap;
    o->recv_x = mc_calloc(rows * c->hidden, sizeof(float));
    o->recv_count = mc_calloc(o->local_experts, sizeof(int32_t));
    o->src_info = mc_calloc(rows, sizeof(int32_t));
    o->src_rank = mc_calloc(rows, sizeof(int32_t));
    o->layout_range = mc_calloc((size_t)o->local_experts * c->num_ranks, sizeof(int64_t));
}

void mc_ep_dispatch_out_free(mc_ep_dispatch_out_t *o)
{
    mc_free(o->recv_x);
    mc_free(o->recv_count);
    mc_free(o->src_info);
    mc_free(o->src_rank);
    mc_free(o->layout_range);
    memset(o, 0, sizeof *o);
}

static void dispatch_zero(const mc_ep_moe_cfg_t *c, mc_ep_dispatch_out_t *o)
{
    size_t rows = (size_t)o->local_experts * o->rows_cap;
    memset(o->recv_x, 0, rows * c->hidden * sizeof(float));
    memset(o->recv_count, 0, o->local_experts * sizeof(int32_t));
    memset(o->src_info, 0, rows * sizeof(int32_t));
    memset(o->src_rank, 0, rows * sizeof(int32_t));
    memset(o->layout_range, 0, (size_t)o->local_experts * c->num_ranks * sizeof(int64_t));
}

mc_status_t mc_ep_dispatch_unpack(const mc_ep_moe_cfg_t *c, uint32_t self, const uint8_t *const *blocks,
                                  const size_t *lens, mc_ep_mask_t set, mc_ep_dispatch_out_t *o)
{
    (void)self;
    uint32_t el = o->local_experts;
    size_t rs = mc_ep_dispatch_rec_size(c);
    dispatch_zero(c, o);
    /* Two passes per expert keep rows grouped by source (layout_range). */
    for (uint32_t le = 0; le < el; le++) {
        for (uint32_t s = 0; s < c->num_ranks; s++) {
            if (!mc_ep_has(set, s))
                continue;
            if (lens[s] % rs)
                goto bad;
            uint32_t begin = (uint32_t)o->recv_count[le], cnt = 0;
            for (size_t off = 0; off < lens[s]; off += rs) {
                uint32_t rle = get_u32(blocks[s] + off), tok = get_u32(blocks[s] + off + 4);
                if (rle >= el || tok >= c->max_tokens)
                    goto bad;
                if (rle != le)
                    continue;
                uint32_t row = (uint32_t)o->recv_count[le];
                if (row >= o->rows_cap)
                    goto bad;
                size_t idx = (size_t)le * o->rows_cap + row;
                memcpy(o->recv_x + idx * c->hidden, blocks[s] + off + REC_HDR, (size_t)c->hidden * sizeof(float));
                o->src_info[idx] = (int32_t)tok;
                o->src_rank[idx] = (int32_t)s;
                o->recv_count[le]++;
                cnt++;
            }
            o->layout_range[(size_t)le * c->num_ranks + s] = (int64_t)(((uint64_t)begin << 32) | cnt);
        }
    }
    return MC_OK;
bad:
    dispatch_zero(c, o);
    return MC_INVALID_PARAMS;
}

size_t mc_ep_combine_pack(const mc_ep_moe_cfg_t *c, const mc_ep_dispatch_out_t *o, const float *y, uint32_t src,
                          uint8_t *out)
{
    size_t rs = mc_ep_dispatch_rec_size(c), off = 0;
    for (uint32_t le = 0; le < o->local_experts; le++)
        for (int32_t row = 0; row < o->recv_count[le]; row++) {
            size_t idx = (size_t)le * o->rows_cap + (size_t)row;
            if (o->src_rank[idx] != (int32_t)src)
                continue;
            if (out) {
                put_u32(out + off, le);
                put_u32(out + off + 4, (uint32_t)o->src_info[idx]);
                memcpy(out + off + REC_HDR, y + idx * c->hidden, (size_t)c->hidden * sizeof(float));
            }
            off += rs;
        }
    return off;
}

mc_status_t mc_ep_combine_unpack(const mc_ep_moe_cfg_t *c, uint32_t self, const int64_t *topk_idx,
                                 const float *topk_weights, uint32_t tokens, const uint8_t *const *blocks,
                                 const size_t *lens, mc_ep_mask_t set, float *out)
{
    (void)self;
    uint32_t el = local_experts(c);
    size_t rs = mc_ep_dispatch_rec_size(c), H = c->hidden;
    uint16_t *used = mc_calloc(tokens ? tokens : 1, sizeof *used); /* k already matched, per token */
    mc_status_t st = MC_OK;
    memset(out, 0, (size_t)tokens * H * sizeof(float));
    for (uint32_t o = 0; o < c->num_ranks && st == MC_OK; o++) {
        if (!mc_ep_has(set, o))
            continue;
        if (lens[o] % rs) {
            st = MC_INVALID_PARAMS;
            break;
        }
        for (size_t off = 0; off < lens[o]; off += rs) {
            uint32_t le = get_u32(blocks[o] + off), tok = get_u32(blocks[o] + off + 4);
            if (le >= el || tok >= tokens) {
                st = MC_INVALID_PARAMS;
                break;
            }
            int64_t e = (int64_t)o * el + le;
            uint32_t k = 0;
            while (k < c->topk && (topk_idx[(size_t)tok * c->topk + k] != e || (used[tok] >> k) & 1u))
                k++;
            if (k == c->topk) { /* a row this token never asked for */
                st = MC_INVALID_PARAMS;
                break;
            }
            used[tok] |= (uint16_t)(1u << k);
            float w = topk_weights[(size_t)tok * c->topk + k], y;
            for (size_t h = 0; h < H; h++) {
                memcpy(&y, blocks[o] + off + REC_HDR + h * sizeof(float), sizeof y);
                out[(size_t)tok * H + h] += w * y;
            }
        }
    }
    if (st != MC_OK)
        memset(out, 0, (size_t)tokens * H * sizeof(float));
    mc_free(used);
    return st;
}
