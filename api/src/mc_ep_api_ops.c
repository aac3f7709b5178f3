/* EP operations: each call builds an op desc with the handle's next op id,
 * submits it on the loop and copies the result out in the done callback
 * (the rank's output is valid only during the callback). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mc_ep_api_int.h"

typedef struct {
    mc_ep_op_desc_t d;
    mc_ep_input_t in;
    void *out;             /* collectives/combine: output bytes */
    size_t out_len;
    /* dispatch outputs */
    float *recv_x;
    int32_t *recv_count, *src_info;
    int64_t *layout_range;
    uint64_t set;
} op_call_t;

/* Copies a result out (valid only during the rank's callback). */
static void op_fill(op_call_t *o, const mc_ep_result_t *r)
{
    o->set = r->set;
    if (r->status == MC_OK && o->out && r->out && r->out != o->out) /* else the rank wrote it in place */
        memcpy(o->out, r->out, r->out_len < o->out_len ? r->out_len : o->out_len);
    if (r->status == MC_OK && r->dispatch) {
        const mc_ep_dispatch_out_t *d = r->dispatch;
        size_t el = d->local_experts, rows = d->rows_cap, hid = o->d.moe.hidden;
        memcpy(o->recv_x, d->recv_x, el * rows * hid * sizeof(float));
        memcpy(o->recv_count, d->recv_count, el * sizeof(int32_t));
        memcpy(o->src_info, d->src_info, el * rows * sizeof(int32_t));
        memcpy(o->layout_range, d->layout_range, el * o->d.world * sizeof(int64_t));
    }
}

/* Collectives: the rank writes the result straight into the caller's
 * buffer (it waits for the call, so the buffer stays valid). */
static const mc_ep_input_t *op_input(op_call_t *o)
{
    if (o->d.kind != MC_EP_OP_DISPATCH && o->d.kind != MC_EP_OP_COMBINE && o->out) {
        o->in.out = o->out;
        o->in.out_len = o->out_len;
    }
    return &o->in;
}

static void op_done(void *arg, const mc_ep_result_t *r)
{
    mc_ep_api_call_t *c = arg;
    op_fill(c->arg, r);
    if (r->status != MC_OK)
        mc_ep_api_set_error("%s", mc_status_name(r->status));
    mc_ep_api_done(c, mc_ep_api_status(r->status));
}

static void op_start(mc_ep_api_call_t *c)
{
    op_call_t *o = c->arg;
    if (o->d.kind == MC_EP_OP_COMBINE && !mc_ep_rank_dispatch_set(c->h->rank, o->d.dispatch_id, &o->d.dispatch_set)) {
        mc_ep_api_done(c, MOONCAKE_EP_ERR_INVALID);
        return;
    }
    mc_status_t s = mc_ep_rank_submit(c->h->rank, &o->d, op_input(o), op_done, c);
    if (s != MC_OK)
        mc_ep_api_done(c, mc_ep_api_status(s));
}

static int submit(mooncake_ep_t *h, op_call_t *o, uint64_t *set)
{
    mc_ep_api_set_error("%s", "");
    o->in.borrow = true; /* the caller waits for the result: its input stays valid */
    o->d.id = mc_ep_api_take_id(h);
    int rc = mc_ep_api_run(h, op_start, o, NULL);
    if (rc == MOONCAKE_EP_ERR_INVALID && !mooncake_ep_last_error()[0])
        mc_ep_api_set_error("invalid operation (sizes over slot_bytes, bad rank or dispatch handle)");
    if (set)
        *set = o->set;
    return rc;
}

/* ---- all_reduce / broadcast larger than one slot ----
 * Cut into chunks of one slot, with consecutive op ids taken together (so
 * every rank cuts the same way, given equal slot_bytes), and queued at
 * once: the rank runs them back to back without a round trip through
 * this thread between chunks. Every chunk is agreed on its own; the call
 * succeeds when all did over the same set (else the first chunk's error,
 * or MOONCAKE_EP_ERR_MIXED with *set = the sets' intersection). */
typedef struct {
    op_call_t *chunks;
    size_t n, submitted, left;
    int rc;
    uint64_t set, set0;
    mc_ep_api_call_t *c;
} multi_t;

typedef struct {
    multi_t *m;
    size_t i;
} chunk_arg_t;

static void multi_finish(multi_t *m)
{
    if (m->rc == MOONCAKE_EP_OK && m->set != m->set0) {
        m->rc = MOONCAKE_EP_ERR_MIXED;
        mc_ep_api_set_error("chunks agreed on different sets (a rank failed during the call)");
    }
    mc_ep_api_done(m->c, m->rc);
}

static void chunk_done(void *arg, const mc_ep_result_t *r)
{
    chunk_arg_t *a = arg;
    multi_t *m = a->m;
    op_fill(&m->chunks[a->i], r);
    if (a->i == 0)
        m->set0 = r->set;
    m->set &= r->set;
    if (r->status != MC_OK && m->rc == MOONCAKE_EP_OK) { /* chunks finish in order: the first failure */
        m->rc = mc_ep_api_status(r->status);
        mc_ep_api_set_error("chunk %zu of %zu: %s", a->i + 1, m->n, mc_status_name(r->status));
    }
    if (--m->left == 0 && m->submitted == m->n)
        multi_finish(m);
}

static void multi_start(mc_ep_api_call_t *c)
{
    multi_t *m = c->arg;
    chunk_arg_t *args = (chunk_arg_t *)(m->chunks + m->n);
    m->c = c;
    for (size_t i = 0; i < m->n; i++) {
        args[i] = (chunk_arg_t){m, i};
        m->left++;
        mc_status_t s = mc_ep_rank_submit(c->h->rank, &m->chunks[i].d, op_input(&m->chunks[i]), chunk_done, &args[i]);
        if (s != MC_OK) {
            m->left--;
            if (m->rc == MOONCAKE_EP_OK)
                m->rc = mc_ep_api_status(s);
            break;
        }
        m->submitted++;
    }
    if (m->submitted < m->n) {
        m->n = m->submitted; /* the queued ones still finish (and call chunk_done) */
        if (m->left == 0)
            multi_finish(m);
    }
}

static int submit_chunked(mooncake_ep_t *h, op_call_t *o, const uint8_t *in, uint8_t *out, size_t count,
                          uint64_t *set)
{
    size_t es = mc_ep_dtype_size(o->d.dtype), per = h->slot_bytes / es;
    size_t n = (count + per - 1) / per;
    multi_t m = {.n = n, .rc = MOONCAKE_EP_OK, .set = ~(uint64_t)0};
    /* chunk descs, then their callback arguments, in one block */
    m.chunks = malloc(n * (sizeof(op_call_t) + sizeof(chunk_arg_t)));
    if (!m.chunks) {
        mc_ep_api_set_error("out of memory");
        return MOONCAKE_EP_ERR_INTERNAL;
    }
    mc_ep_api_set_error("%s", "");
    uint64_t id = mc_ep_api_take_ids(h, n);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * per, cnt = count - off < per ? count - off : per;
        op_call_t *ch = &m.chunks[i];
        *ch = *o;
        ch->d.id = id + i;
        ch->d.count = (uint32_t)cnt;
        ch->in.data = in + off * es;
        ch->in.borrow = true;
        ch->out = out + off * es;
        ch->out_len = cnt * es;
    }
    int rc = mc_ep_api_run(h, multi_start, &m, NULL);
    if (rc == MOONCAKE_EP_OK || rc == MOONCAKE_EP_ERR_MIXED) {
        if (set)
            *set = m.set;
    } else if (set) {
        *set = m.n ? m.set : 0;
    }
    free(m.chunks);
    return rc;
}

/* Common checks and desc of a collective. */
static int coll(mooncake_ep_t *h, op_call_t *o, mc_ep_op_kind_t kind, size_t count, int dtype, int op,
                uint64_t timeout_us)
{
    bool chunked = kind == MC_EP_OP_ALL_REDUCE || kind == MC_EP_OP_BROADCAST;
    if (!h || dtype < 0 || dtype >= MC_EP_DTYPE_COUNT || op < 0 || op >= MC_EP_REDOP_COUNT ||
        (!chunked && count > UINT32_MAX) || !timeout_us ||
        (!chunked && count * mc_ep_dtype_size((mc_ep_dtype_t)dtype) > h->slot_bytes) ||
        h->slot_bytes < mc_ep_dtype_size((mc_ep_dtype_t)dtype)) {
        mc_ep_api_set_error("bad handle, dtype, op, timeout or count (a block is at most slot_bytes)");
        return MOONCAKE_EP_ERR_INVALID;
    }
    memset(o, 0, sizeof *o);
    o->d.kind = kind;
    o->d.world = h->world;
    o->d.count = (uint32_t)(count > UINT32_MAX ? 0 : count); /* chunked calls set it per chunk */
    o->d.dtype = (mc_ep_dtype_t)dtype;
    o->d.redop = (mc_ep_redop_t)op;
    o->d.timeout_ns = timeout_us * 1000;
    o->out_len = mc_ep_op_output_bytes(&o->d);
    return 0;
}

#define NEED(p)                                                                                                        \
    do {                                                                                                               \
        if (!(p)) {                                                                                                    \
            mc_ep_api_set_error("NULL buffer");                                                                        \
            return MOONCAKE_EP_ERR_INVALID;                                                                            \
        }                                                                                                              \
    } while (0)

int mooncake_ep_all_reduce(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype, int op,
                           uint64_t timeout_us, uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_ALL_REDUCE, count, dtype, op, timeout_us);
    if (rc)
        return rc;
    NEED(in && out);
    if (count * mc_ep_dtype_size(o.d.dtype) > h->slot_bytes)
        return submit_chunked(h, &o, in, out, count, set);
    o.in.data = in;
    o.out = out;
    return submit(h, &o, set);
}

int mooncake_ep_all_gather(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype, uint64_t timeout_us,
                           uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_ALL_GATHER, count, dtype, 0, timeout_us);
    if (rc)
        return rc;
    NEED(in && out);
    o.in.data = in;
    o.out = out;
    return submit(h, &o, set);
}

int mooncake_ep_broadcast(mooncake_ep_t *h, void *buf, size_t count, int dtype, uint32_t root, uint64_t timeout_us,
                          uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_BROADCAST, count, dtype, 0, timeout_us);
    if (rc)
        return rc;
    NEED(buf);
    if (root >= h->world)
        return MOONCAKE_EP_ERR_INVALID;
    o.d.root = root;
    if (count * mc_ep_dtype_size(o.d.dtype) > h->slot_bytes)
        return submit_chunked(h, &o, buf, buf, count, set);
    o.in.data = buf;
    o.out = buf;
    return submit(h, &o, set);
}

int mooncake_ep_reduce_scatter(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype, int op,
                               uint64_t timeout_us, uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_REDUCE_SCATTER, count, dtype, op, timeout_us);
    if (rc)
        return rc;
    NEED(in && out);
    o.in.data = in;
    o.out = out;
    return submit(h, &o, set);
}

int mooncake_ep_all_to_all(mooncake_ep_t *h, const void *in, void *out, size_t count, int dtype, uint64_t timeout_us,
                           uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_ALL_TO_ALL, count, dtype, 0, timeout_us);
    if (rc)
        return rc;
    NEED(in && out);
    o.in.data = in;
    o.out = out;
    return submit(h, &o, set);
}

int mooncake_ep_barrier(mooncake_ep_t *h, uint64_t timeout_us, uint64_t *set)
{
    op_call_t o;
    int rc = coll(h, &o, MC_EP_OP_BARRIER, 0, 0, 0, timeout_us);
    return rc ? rc : submit(h, &o, set);
}

static int p2p(mooncake_ep_t *h, mc_ep_op_kind_t kind, void *buf, size_t count, int dtype, uint32_t peer,
               uint64_t timeout_us)
{
    op_call_t o;
    int rc = coll(h, &o, kind, count, dtype, 0, timeout_us);
    if (rc)
        return rc;
    NEED(buf);
    if (peer >= h->world || peer == h->self) {
        mc_ep_api_set_error("bad peer %u", peer);
        return MOONCAKE_EP_ERR_INVALID;
    }
    o.d.root = peer;
    o.in.data = buf;
    if (kind == MC_EP_OP_RECV)
        o.out = buf;
    return submit(h, &o, NULL);
}

int mooncake_ep_send(mooncake_ep_t *h, const void *buf, size_t count, int dtype, uint32_t peer, uint64_t timeout_us)
{
    return p2p(h, MC_EP_OP_SEND, (void *)buf, count, dtype, peer, timeout_us);
}

int mooncake_ep_recv(mooncake_ep_t *h, void *buf, size_t count, int dtype, uint32_t peer, uint64_t timeout_us)
{
    return p2p(h, MC_EP_OP_RECV, buf, count, dtype, peer, timeout_us);
}

/* ---- MoE ---- */

static int moe(mooncake_ep_t *h, op_call_t *o, mc_ep_op_kind_t kind, const mooncake_ep_moe_t *m, uint64_t timeout_us)
{
    if (!h || !m || !timeout_us) {
        mc_ep_api_set_error("bad handle, config or timeout");
        return MOONCAKE_EP_ERR_INVALID;
    }
    memset(o, 0, sizeof *o);
    o->d.kind = kind;
    o->d.world = h->world;
    o->d.timeout_ns = timeout_us * 1000;
    o->d.moe = (mc_ep_moe_cfg_t){.num_ranks = h->world,
                                 .num_experts = m->experts,
                                 .hidden = m->hidden,
                                 .topk = m->topk,
                                 .max_tokens = m->max_tokens};
    if (mc_ep_moe_cfg_check(&o->d.moe) != MC_OK) {
        mc_ep_api_set_error("bad MoE config (experts %% world, topk 1..%d, sizes > 0)", MC_EP_MAX_TOPK);
        return MOONCAKE_EP_ERR_INVALID;
    }
    return 0;
}

void mooncake_ep_dispatch_sizes(const mooncake_ep_t *h, const mooncake_ep_moe_t *m, size_t *local_experts,
                                size_t *rows_cap)
{
    *local_experts = h && m && h->world ? m->experts / h->world : 0;
    *rows_cap = h && m ? (size_t)h->world * m->max_tokens * m->topk : 0;
}

int mooncake_ep_dispatch(mooncake_ep_t *h, const mooncake_ep_moe_t *m, const float *x, const int64_t *topk_idx,
                         const float *topk_weights, uint32_t tokens, uint64_t active_mask, uint64_t timeout_us,
                         float *recv_x, int32_t *recv_count, int32_t *src_info, int64_t *layout_range,
                         uint64_t *handle, uint64_t *set)
{
    op_call_t o;
    int rc = moe(h, &o, MC_EP_OP_DISPATCH, m, timeout_us);
    if (rc)
        return rc;
    NEED(x && topk_idx && topk_weights && recv_x && recv_count && src_info && layout_range);
    o.in = (mc_ep_input_t){.tokens = tokens, .x = x, .topk_idx = topk_idx, .topk_weights = topk_weights,
                           .active_ranks = active_mask};
    o.recv_x = recv_x;
    o.recv_count = recv_count;
    o.src_info = src_info;
    o.layout_range = layout_range;
    rc = submit(h, &o, set);
    if (handle)
        *handle = rc == 0 ? o.d.id : 0;
    return rc;
}

int mooncake_ep_combine(mooncake_ep_t *h, const mooncake_ep_moe_t *m, uint64_t handle, uint64_t active_mask,
                        uint64_t timeout_us, float *out, uint64_t *set)
{
    op_call_t o;
    int rc = moe(h, &o, MC_EP_OP_COMBINE, m, timeout_us);
    if (rc)
        return rc;
    NEED(out && handle);
    o.d.dispatch_id = handle;
    o.in.active_ranks = active_mask;
    o.out = out;
    o.out_len = mc_ep_op_output_bytes(&o.d);
    return submit(h, &o, set);
}
