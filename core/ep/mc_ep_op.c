/* EP operations: parameters, deterministic inputs, per-destination
 * blocks, the result from received blocks, and the expected result. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_bytes.h"
#include "../base/mc_mem.h"
#include "../env/mc_env.h"
#include "mc_ep_op.h"

static const char *const kind_names[] = {"all_reduce", "all_gather", "broadcast", "reduce_scatter", "all_to_all",
                                         "barrier",    "dispatch",   "combine",   "send",           "recv"};

const char *mc_ep_op_kind_name(mc_ep_op_kind_t k)
{
    return (unsigned)k < MC_EP_OP_KIND_COUNT ? kind_names[k] : "?";
}

bool mc_ep_op_kind_parse(const char *s, mc_ep_op_kind_t *out)
{
    for (int i = 0; s && i < MC_EP_OP_KIND_COUNT; i++)
        if (!strcmp(s, kind_names[i])) {
            *out = (mc_ep_op_kind_t)i;
            return true;
        }
    return false;
}

static bool is_moe(mc_ep_op_kind_t k) { return k == MC_EP_OP_DISPATCH || k == MC_EP_OP_COMBINE; }

mc_status_t mc_ep_op_desc_parse(mc_ep_op_desc_t *d, mc_ep_op_kind_t kind, uint32_t world, mc_conf_t *a, char *err,
                                size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->world = world;
    uint64_t count, root, tmax, hidden, experts, topk;
    const char *dt = mc_conf_str(a, "dtype", "f32"), *red = mc_conf_str(a, "red", "sum");
    const char *dset = mc_conf_get(a, "dset");
    if (!mc_conf_get(a, "id") || mc_conf_u64(a, "id", 0, &d->id) != MC_OK) {
        snprintf(err, errlen, "id: required op id (the same on every rank)");
        return MC_INVALID_PARAMS;
    }
    if (mc_conf_u64(a, "count", 16, &count) != MC_OK || count > (1u << 24) ||
        mc_conf_u64(a, "root", 0, &root) != MC_OK || mc_conf_u64(a, "peer", root, &root) != MC_OK ||
        root >= world ||
        mc_conf_duration(a, "timeout", 1000 * MC_NS_PER_MS, &d->timeout_ns) != MC_OK || !d->timeout_ns ||
        mc_conf_u64(a, "tokens_max", 8, &tmax) != MC_OK || mc_conf_u64(a, "hidden", 8, &hidden) != MC_OK ||
        mc_conf_u64(a, "experts", world * 2, &experts) != MC_OK || mc_conf_u64(a, "topk", 2, &topk) != MC_OK ||
        mc_conf_u64(a, "dispatch", 0, &d->dispatch_id) != MC_OK) {
        snprintf(err, errlen, "bad argument: %s", a->err[0] ? a->err : "count/root/timeout out of range");
        return MC_INVALID_PARAMS;
    }
    if (!mc_ep_dtype_parse(dt, &d->dtype) || !mc_ep_redop_parse(red, &d->redop)) {
        snprintf(err, errlen, "dtype '%s' / red '%s': expected f32|f64|i32|i64 and sum|max|min|product", dt, red);
        return MC_INVALID_PARAMS;
    }
    if (dset) {
        unsigned long long v;
        char tail;
        if (sscanf(dset, "%llx%c", &v, &tail) != 1) {
            snprintf(err, errlen, "dset: expected a hex mask");
            return MC_INVALID_PARAMS;
        }
        d->dispatch_set = v;
    }
    d->count = (uint32_t)count;
    d->root = (uint32_t)root;
    d->moe = (mc_ep_moe_cfg_t){.num_ranks = world,
                               .num_experts = (uint32_t)(experts > UINT32_MAX ? 0 : experts),
                               .hidden = (uint32_t)(hidden > UINT32_MAX ? 0 : hidden),
                               .topk = (uint32_t)(topk > UINT32_MAX ? 0 : topk),
                               .max_tokens = (uint32_t)(tmax > UINT32_MAX ? 0 : tmax)};
    if (is_moe(kind) && mc_ep_moe_cfg_check(&d->moe) != MC_OK) {
        snprintf(err, errlen, "moe: need experts %% world == 0, 1 <= topk <= %d, hidden and tokens_max > 0",
                 MC_EP_MAX_TOPK);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

int mc_ep_op_desc_fmt(const mc_ep_op_desc_t *d, char *buf, size_t cap)
{
    return snprintf(buf, cap,
                    "op=%s id=%llu world=%u count=%u dtype=%s red=%s root=%u timeout_ns=%llu tokens_max=%u "
                    "hidden=%u experts=%u topk=%u dispatch=%llu dset=%llx",
                    mc_ep_op_kind_name(d->kind), (unsigned long long)d->id, d->world, d->count,
                    mc_ep_dtype_name(d->dtype), mc_ep_redop_name(d->redop), d->root,
                    (unsigned long long)d->timeout_ns, d->moe.max_tokens, d->moe.hidden, d->moe.num_experts,
                    d->moe.topk, (unsigned long long)d->dispatch_id, (unsigned long long)d->dispatch_set);
}

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t e)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL ^
                 (c + 1) * 0x94d049bb133111ebULL ^ e;
    x ^= x >> 31;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 29;
    return x;
}

static bool per_dest(mc_ep_op_kind_t k) { return k == MC_EP_OP_REDUCE_SCATTER || k == MC_EP_OP_ALL_TO_ALL; }

size_t mc_ep_op_input_bytes(const mc_ep_op_desc_t *d)
{
    size_t es = mc_ep_dtype_size(d->dtype);
    switch (d->kind) {
    case MC_EP_OP_BARRIER: return 0;
    case MC_EP_OP_DISPATCH:
    case MC_EP_OP_COMBINE: return (size_t)d->moe.max_tokens * d->moe.hidden * sizeof(float);
    default: return (size_t)d->count * es * (per_dest(d->kind) ? d->world : 1);
    }
}

size_t mc_ep_op_output_bytes(const mc_ep_op_desc_t *d)
{
    size_t es = mc_ep_dtype_size(d->dtype);
    switch (d->kind) {
    case MC_EP_OP_BARRIER:
    case MC_EP_OP_SEND:
    case MC_EP_OP_DISPATCH: return 0; /* dispatch output is a mc_ep_dispatch_out_t */
    case MC_EP_OP_COMBINE: return (size_t)d->moe.max_tokens * d->moe.hidden * sizeof(float);
    case MC_EP_OP_ALL_GATHER:
    case MC_EP_OP_ALL_TO_ALL: return (size_t)d->count * es * d->world;
    default: return (size_t)d->count * es;
    }
}

/* Small integers (exact in every type; products of 64 stay finite). */
void mc_ep_op_input(const mc_ep_op_desc_t *d, uint32_t rank, void *out)
{
    size_t n = mc_ep_op_input_bytes(d) / (mc_ep_dtype_size(d->dtype) ? mc_ep_dtype_size(d->dtype) : 1);
    if (d->kind == MC_EP_OP_BARRIER || is_moe(d->kind))
        return;
    for (size_t i = 0; i < n; i++) {
        int64_t v = (int64_t)(mix(d->id, rank, i, 0) % 7) - 3;
        if (d->redop == MC_EP_PRODUCT && v == 0)
            v = 1;
        switch (d->dtype) {
        case MC_EP_F32: ((float *)out)[i] = (float)v; break;
        case MC_EP_F64: ((double *)out)[i] = (double)v * 0.5; break;
        case MC_EP_I32: ((int32_t *)out)[i] = (int32_t)v; break;
        default: ((int64_t *)out)[i] = v * 1000003; break;
        }
    }
}

size_t mc_ep_op_block(const mc_ep_op_desc_t *d, uint32_t rank, uint32_t dest, const void *input, uint8_t *out)
{
    size_t es = mc_ep_dtype_size(d->dtype), blk = (size_t)d->count * es;
    switch (d->kind) {
    case MC_EP_OP_BARRIER:
    case MC_EP_OP_RECV: return 0; /* an empty block: the receiver's ack */
    case MC_EP_OP_SEND:
        if (dest != d->root)
            return 0;
        break;
    case MC_EP_OP_BROADCAST:
        if (rank != d->root)
            return 0;
        break;
    case MC_EP_OP_REDUCE_SCATTER:
    case MC_EP_OP_ALL_TO_ALL:
        if (out)
            memcpy(out, (const uint8_t *)input + (size_t)dest * blk, blk);
        return blk;
    case MC_EP_OP_DISPATCH: {
        uint32_t T = mc_ep_moe_tokens(d, rank);
        size_t tk = (size_t)d->moe.max_tokens * d->moe.topk;
        int64_t *idx = mc_calloc(tk, sizeof *idx);
        float *w = mc_calloc(tk, sizeof *w);
        float *x = mc_calloc((size_t)d->moe.max_tokens * d->moe.hidden, sizeof *x);
        mc_ep_moe_inputs(d, rank, x, idx, w);
        size_t n = mc_ep_dispatch_pack(&d->moe, dest, x, idx, T, out);
        mc_free(idx);
        mc_free(w);
        mc_free(x);
        return n;
    }
    case MC_EP_OP_COMBINE: MC_ASSERT(!"combine blocks come from the dispatch handle");
    default: break;
    }
    if (out)
        memcpy(out, input, blk);
    return blk;
}

uint32_t mc_ep_moe_tokens(const mc_ep_op_desc_t *d, uint32_t rank)
{
    /* Like upstream's grid test, ranks carry different token counts. */
    uint32_t T = d->moe.max_tokens;
    uint64_t id = d->kind == MC_EP_OP_COMBINE ? d->dispatch_id : d->id;
    uint32_t cut = (uint32_t)(mix(id, rank, 77, 1) % (T / 4 + 1));
    return T - cut;
}

void mc_ep_moe_inputs(const mc_ep_op_desc_t *d, uint32_t rank, float *x, int64_t *topk_idx, float *weights)
{
    const mc_ep_moe_cfg_t *c = &d->moe;
    uint64_t id = d->kind == MC_EP_OP_COMBINE ? d->dispatch_id : d->id;
    for (uint32_t t = 0; t < c->max_tokens; t++) {
        for (uint32_t h = 0; h < c->hidden; h++)
            x[(size_t)t * c->hidden + h] = (float)((int)(mix(id, rank, t, h + 100) % 9) - 4) * 0.25f;
        for (uint32_t k = 0; k < c->topk; k++) {
            uint64_t r = mix(id, rank, t, 1000 + k);
            topk_idx[(size_t)t * c->topk + k] = (r % 8 == 0) ? -1 : (int64_t)((r >> 8) % c->num_experts);
            weights[(size_t)t * c->topk + k] = (float)(k + 1) * 0.125f;
        }
    }
}

void mc_ep_moe_expert(const mc_ep_moe_cfg_t *c, uint32_t rank, const mc_ep_dispatch_out_t *o, float *y)
{
    for (uint32_t le = 0; le < o->local_experts; le++) {
        float f = (float)(0.1 * (double)(rank * o->local_experts + le) + 1.0);
        for (int32_t row = 0; row < o->recv_count[le]; row++) {
            size_t base = ((size_t)le * o->rows_cap + (size_t)row) * c->hidden;
            for (uint32_t h = 0; h < c->hidden; h++)
                y[base + h] = o->recv_x[base + h] * f;
        }
    }
}

uint64_t mc_ep_dispatch_out_hash(const mc_ep_moe_cfg_t *c, const mc_ep_dispatch_out_t *o)
{
    size_t rows = (size_t)o->local_experts * o->rows_cap;
    uint64_t h = MC_HASH64_INIT;
    h = mc_hash64(o->recv_count, o->local_experts * sizeof(int32_t), h);
    h = mc_hash64(o->src_info, rows * sizeof(int32_t), h);
    h = mc_hash64(o->src_rank, rows * sizeof(int32_t), h);
    h = mc_hash64(o->layout_range, (size_t)o->local_experts * c->num_ranks * sizeof(int64_t), h);
    return mc_hash64(o->recv_x, rows * c->hidden * sizeof(float), h);
}

mc_status_t mc_ep_op_finish(const mc_ep_op_desc_t *d, uint32_t rank, const uint8_t *const *blocks,
                            const size_t *lens, mc_ep_mask_t set, void *out)
{
    size_t es = mc_ep_dtype_size(d->dtype), blk = (size_t)d->count * es;
    mc_ep_mask_t need = set;
    if (d->kind == MC_EP_OP_BARRIER)
        return MC_OK;
    if (d->kind == MC_EP_OP_SEND) /* delivered iff the peer holds it and is in the set */
        return mc_ep_has(set, d->root) ? MC_OK : MC_TRANSFER_FAIL;
    if (d->kind == MC_EP_OP_BROADCAST || d->kind == MC_EP_OP_RECV) {
        if (!mc_ep_has(set, d->root))
            return MC_TRANSFER_FAIL;
        need = mc_ep_bit(d->root);
    }
    for (uint32_t s = 0; s < d->world; s++)
        if (mc_ep_has(need, s) && lens[s] != blk)
            return MC_INVALID_PARAMS; /* out untouched: it may be the caller's */
    switch (d->kind) {
    case MC_EP_OP_ALL_REDUCE:
    case MC_EP_OP_REDUCE_SCATTER:
        mc_ep_reduce_set(out, (const void *const *)blocks, set, d->count, d->dtype, d->redop);
        break;
    case MC_EP_OP_BROADCAST:
    case MC_EP_OP_RECV: memcpy(out, blocks[d->root], blk); break;
    default: /* all_gather, all_to_all: slot s = rank s's block, zeros when not in set */
        for (uint32_t s = 0; s < d->world; s++) {
            uint8_t *dst = (uint8_t *)out + (size_t)s * blk;
            if (mc_ep_has(set, s))
                memcpy(dst, blocks[s], blk);
            else
                memset(dst, 0, blk);
        }
    }
    (void)rank;
    return MC_OK;
}

/* Rank o's dispatch result given the dispatch set (what the checker
 * recomputes; the rank computes the same from received bytes). */
static void dispatch_at(const mc_ep_op_desc_t *d, uint32_t o, mc_ep_mask_t set, mc_ep_dispatch_out_t *out)
{
    const uint8_t *blocks[MC_EP_MAX_RANKS] = {0};
    size_t lens[MC_EP_MAX_RANKS] = {0};
    uint8_t *bufs[MC_EP_MAX_RANKS] = {0};
    mc_ep_op_desc_t dd = *d;
    dd.kind = MC_EP_OP_DISPATCH;
    if (d->kind == MC_EP_OP_COMBINE)
        dd.id = d->dispatch_id;
    for (uint32_t s = 0; s < d->world; s++) {
        if (!mc_ep_has(set, s))
            continue;
        lens[s] = mc_ep_op_block(&dd, s, o, NULL, NULL);
        bufs[s] = mc_malloc(lens[s] ? lens[s] : 1);
        mc_ep_op_block(&dd, s, o, NULL, bufs[s]);
        blocks[s] = bufs[s];
    }
    mc_ep_dispatch_out_init(out, &d->moe);
    mc_status_t st = mc_ep_dispatch_unpack(&d->moe, o, blocks, lens, set, out);
    MC_ASSERT(st == MC_OK);
    for (uint32_t s = 0; s < d->world; s++)
        mc_free(bufs[s]);
}

uint64_t mc_ep_op_expected_hash(const mc_ep_op_desc_t *d, uint32_t rank, mc_ep_mask_t set, bool *ok)
{
    *ok = true;
    if (d->kind == MC_EP_OP_DISPATCH) {
        mc_ep_dispatch_out_t o;
        dispatch_at(d, rank, set, &o);
        uint64_t h = mc_ep_dispatch_out_hash(&d->moe, &o);
        mc_ep_dispatch_out_free(&o);
        return h;
    }
    size_t out_bytes = mc_ep_op_output_bytes(d);
    uint8_t *out = mc_calloc(1, out_bytes ? out_bytes : 1);
    const uint8_t *blocks[MC_EP_MAX_RANKS] = {0};
    size_t lens[MC_EP_MAX_RANKS] = {0};
    uint8_t *bufs[MC_EP_MAX_RANKS] = {0};
    if (d->kind == MC_EP_OP_COMBINE) {
        const mc_ep_moe_cfg_t *c = &d->moe;
        for (uint32_t o = 0; o < d->world; o++) {
            if (!mc_ep_has(set, o) || !mc_ep_has(d->dispatch_set, o))
                continue; /* an owner outside the dispatch set holds nothing */
            mc_ep_dispatch_out_t dout;
            dispatch_at(d, o, d->dispatch_set, &dout);
            float *y = mc_calloc((size_t)dout.local_experts * dout.rows_cap * c->hidden + 1, sizeof *y);
            mc_ep_moe_expert(c, o, &dout, y);
            lens[o] = mc_ep_combine_pack(c, &dout, y, rank, NULL);
            bufs[o] = mc_malloc(lens[o] + 1);
            mc_ep_combine_pack(c, &dout, y, rank, bufs[o]);
            blocks[o] = bufs[o];
            mc_free(y);
            mc_ep_dispatch_out_free(&dout);
        }
        size_t tk = (size_t)c->max_tokens * c->topk;
        int64_t *idx = mc_calloc(tk, sizeof *idx);
        float *w = mc_calloc(tk, sizeof *w);
        float *x = mc_calloc((size_t)c->max_tokens * c->hidden, sizeof *x);
        mc_ep_moe_inputs(d, rank, x, idx, w);
        mc_status_t st = mc_ep_combine_unpack(c, rank, idx, w, mc_ep_moe_tokens(d, rank), blocks, lens,
                                              set & d->dispatch_set, (float *)out);
        MC_ASSERT(st == MC_OK);
        mc_free(idx);
        mc_free(w);
        mc_free(x);
    } else {
        size_t in_bytes = mc_ep_op_input_bytes(d);
        for (uint32_t s = 0; s < d->world; s++) {
            if (!mc_ep_has(set, s))
                continue;
            /* a receive's peer ran the matching send */
            mc_ep_op_desc_t sd = *d;
            if (d->kind == MC_EP_OP_RECV && s == d->root) {
                sd.kind = MC_EP_OP_SEND;
                sd.root = rank;
            }
            uint8_t *in = mc_malloc(in_bytes + 1);
            mc_ep_op_input(&sd, s, in);
            lens[s] = mc_ep_op_block(&sd, s, rank, in, NULL);
            bufs[s] = mc_malloc(lens[s] + 1);
            mc_ep_op_block(&sd, s, rank, in, bufs[s]);
            blocks[s] = bufs[s];
            mc_free(in);
        }
        if ((d->kind == MC_EP_OP_BROADCAST || d->kind == MC_EP_OP_RECV || d->kind == MC_EP_OP_SEND) &&
            !mc_ep_has(set, d->root))
            *ok = false;
        else
            MC_ASSERT(mc_ep_op_finish(d, rank, blocks, lens, set, out) == MC_OK);
    }
    uint64_t h = mc_hash64(out, out_bytes, MC_HASH64_INIT);
    for (uint32_t s = 0; s < d->world; s++)
        mc_free(bufs[s]);
    mc_free(out);
    return h;
}
