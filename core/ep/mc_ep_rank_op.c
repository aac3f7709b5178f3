/* EP rank operations: the data phase over the TE, the report to the
 * coordinator, and the result over the decided set (protocol in
 * mc_ep_rank.h). */
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "../wire/mc_msg_types.h"
#include "mc_ep_rank_int.h"

static void put_hdr(uint8_t *p, uint64_t op_id, uint32_t src, uint32_t len)
{
    memcpy(p, &op_id, 8);
    memcpy(p + 8, &src, 4);
    memcpy(p + 12, &len, 4);
}

static bool hdr_ok(const uint8_t *p, uint64_t op_id, uint32_t src, uint32_t *len)
{
    uint64_t id;
    uint32_t s;
    memcpy(&id, p, 8);
    memcpy(&s, p + 8, 4);
    memcpy(len, p + 12, 4);
    return id == op_id && s == src;
}

static ep_handle_t *handle_find(mc_ep_rank_t *r, uint64_t id)
{
    for (int i = 0; i < EP_HANDLES; i++)
        if (r->handles[i].used && r->handles[i].id == id)
            return &r->handles[i];
    return NULL;
}

static void handle_free(ep_handle_t *h)
{
    if (!h->used)
        return;
    mc_free(h->idx);
    mc_free(h->w);
    mc_ep_dispatch_out_free(&h->out);
    memset(h, 0, sizeof *h);
}

void ep_handles_free(mc_ep_rank_t *r)
{
    for (int i = 0; i < EP_HANDLES; i++)
        handle_free(&r->handles[i]);
}

static void op_free(ep_op_t *op)
{
    mc_free(op->input_copy);
    mc_free(op->x);
    mc_free(op->w);
    mc_free(op->idx);
    mc_free(op);
}

void ep_op_free_all(mc_ep_rank_t *r)
{
    while (!mc_list_empty(&r->queue)) {
        ep_op_t *op = mc_container_of(r->queue.next, ep_op_t, link);
        mc_env_timer_cancel(r->env, &op->t_data);
        mc_env_timer_cancel(r->env, &op->t_hard);
        mc_list_del(&op->link);
        op_free(op);
    }
}

static ep_op_t *head(mc_ep_rank_t *r)
{
    return mc_list_empty(&r->queue) ? NULL : mc_container_of(r->queue.next, ep_op_t, link);
}

/* The i-th op of the queue when i < EP_WINDOW (the ones that may run). */
static ep_op_t *window_op(mc_ep_rank_t *r, int i)
{
    mc_list_t *it = r->queue.next;
    for (int k = 0; it != &r->queue && k < EP_WINDOW; k++, it = it->next)
        if (k == i)
            return mc_container_of(it, ep_op_t, link);
    return NULL;
}

/* The started op with this id (data or decision phase), or NULL. */
static ep_op_t *running(mc_ep_rank_t *r, uint64_t id)
{
    for (int i = 0; i < EP_WINDOW; i++) {
        ep_op_t *op = window_op(r, i);
        if (op && (op->phase == 1 || op->phase == 2) && op->d.id == id)
            return op;
    }
    return NULL;
}

/* The next op to start: the first queued one in the window. A combine
 * needs its dispatch's result, so it starts only at the head. */
static ep_op_t *startable(mc_ep_rank_t *r)
{
    for (int i = 0; i < EP_WINDOW; i++) {
        ep_op_t *op = window_op(r, i);
        if (!op)
            return NULL;
        if (op->phase != 0)
            continue;
        return i > 0 && op->d.kind == MC_EP_OP_COMBINE ? NULL : op;
    }
    return NULL;
}

static void run_next(void *arg);

void ep_op_kick(mc_ep_rank_t *r)
{
    if (!r->kick && startable(r))
        r->kick = mc_env_timer(r->env, 0, run_next, r);
}

static void settle(mc_ep_rank_t *r, ep_op_t *op);

/* Results leave in queue order: an op behind the head keeps its outcome
 * (phase 3) until the ones before it are done. */
static void complete(mc_ep_rank_t *r, ep_op_t *op, mc_ep_result_t *res)
{
    MC_ASSERT(op == head(r));
    mc_env_timer_cancel(r->env, &op->t_data);
    mc_env_timer_cancel(r->env, &op->t_hard);
    mc_list_del(&op->link);
    res->epoch = r->epoch;
    if (!res->dropped)
        res->dropped = op->M & ~res->set;
    op->cb(op->arg, res);
    op_free(op);
    ep_op_t *next = head(r);
    if (next && next->phase == 3)
        settle(r, next);
    ep_op_kick(r);
}

static void stash(mc_ep_rank_t *r, ep_op_t *op, bool decided, mc_ep_mask_t set, mc_status_t st)
{
    mc_env_timer_cancel(r->env, &op->t_data);
    mc_env_timer_cancel(r->env, &op->t_hard);
    op->phase = 3;
    op->stash_decided = decided;
    op->stash_set = set;
    op->stash_status = st;
}

static void fail(mc_ep_rank_t *r, ep_op_t *op, mc_status_t st)
{
    if (op != head(r)) {
        stash(r, op, false, 0, st);
        return;
    }
    mc_ep_result_t res = {.status = st, .dropped = op->M & ~mc_ep_bit(r->self)};
    complete(r, op, &res);
}

/* ---- data phase ---- */

static void notify_data(mc_ep_rank_t *r, ep_op_t *op, uint32_t j)
{
    ep_peer_t *p = &r->peers[j];
    if (!p->conn_up || mc_ep_has(op->pending_send, j))
        return;
    mc_msg_ep_t m = {.type = MC_MSG_EP_DATA, .op_id = op->d.id, .rank = r->self, .inc = r->inc, .len = op->lens[j]};
    mc_msg_ep_encode(&r->w, 0, &m);
    if (r->env->ops->conn_send(r->env, p->conn, r->w.data, r->w.len) == MC_OK)
        op->notified |= mc_ep_bit(j);
}

static void sent(void *arg, uint64_t batch, int status)
{
    ep_ctx_t *c = arg;
    mc_ep_rank_t *r = c->r;
    uint32_t j = c->peer;
    uint64_t op_id = c->op_id;
    mc_te_free_batch(r->te, batch);
    ep_ctx_free(c);
    ep_op_t *op = running(r, op_id);
    if (!op)
        return;
    if (status != MC_TE_COMPLETED) { /* evidence: j will lack our block */
        mc_env_logf(r->env, MC_LOG_INFO, "ep", "op %llu: write to rank %u: %s", (unsigned long long)op_id, j,
                    mc_te_xfer_status_name(status));
        return;
    }
    op->written |= mc_ep_bit(j);
    notify_data(r, op, j);
}

static void post_send(mc_ep_rank_t *r, ep_op_t *op, uint32_t j)
{
    ep_peer_t *p = &r->peers[j];
    const mc_te_seg_desc_t *desc = p->seg_ready ? mc_te_segment_desc(r->te, p->seg_id) : NULL;
    if (!desc || !desc->nbuffers) {
        op->pending_send |= mc_ep_bit(j);
        ep_ensure_peer(r, j);
        return;
    }
    op->pending_send &= ~mc_ep_bit(j);
    mc_te_request_t req = {.opcode = MC_XFER_WRITE,
                           .source = ep_send_slot(r, op->d.id, op->shared ? r->self : j),
                           .target_id = p->seg_id,
                           .target_offset = desc->buffers[0].addr +
                                            ((op->d.id % EP_NSLOTS) * r->world + r->self) * r->slot_bytes,
                           .length = EP_SLOT_HDR + op->lens[j]};
    uint64_t b = mc_te_alloc_batch(r->te, 1);
    ep_ctx_t *c = ep_ctx_new(r, j, op->d.id);
    int rc = mc_te_submit(r->te, b, &req, 1);
    if (rc) {
        mc_env_logf(r->env, MC_LOG_INFO, "ep", "submit to rank %u: %s", j, mc_te_err_name(rc));
        mc_te_free_batch(r->te, b);
        ep_ctx_free(c);
        return;
    }
    mc_te_batch_on_done(r->te, b, sent, c);
}

void ep_op_peer_ready(mc_ep_rank_t *r, uint32_t j)
{
    for (int i = 0; i < EP_WINDOW; i++) {
        ep_op_t *op = window_op(r, i);
        if (!op || op->phase != 1)
            continue;
        if (mc_ep_has(op->pending_send, j))
            post_send(r, op, j);
        if (mc_ep_has(op->written & ~op->notified, j))
            notify_data(r, op, j);
    }
}

static void send_row(mc_ep_rank_t *r, ep_op_t *op)
{
    op->phase = 2;
    mc_env_timer_cancel(r->env, &op->t_data);
    mc_msg_ep_t m = {.type = MC_MSG_EP_ROW,
                     .op_id = op->d.id,
                     .rank = r->self,
                     .inc = r->inc,
                     .epoch = r->epoch,
                     .mask = op->arrived,
                     .active = op->M,
                     .value = 0};
    /* The coordinator may wait until start + 1.25 T: rows of live members
     * (each sent by start + T) are in by then, and the decision still
     * reaches us before our own hard deadline at start + 2 T. */
    uint64_t now = mc_env_now(r->env), due = op->start_ns + op->d.timeout_ns + op->d.timeout_ns / 4;
    m.value = due > now ? due - now : 0;
    ep_send_coord(r, &m, 0);
}

static void check_data(mc_ep_rank_t *r, ep_op_t *op)
{
    mc_ep_mask_t need = op->M & r->active; /* a member the view dropped is not waited for */
    if (op->phase == 1 && (op->arrived & need) == need)
        send_row(r, op);
}

static void data_deadline(void *arg)
{
    ep_op_t *op = arg;
    op->t_data = 0;
    if (op->phase == 1)
        send_row(op->r, op); /* timeout: report what arrived */
}

static void hard_deadline(void *arg)
{
    ep_op_t *op = arg;
    op->t_hard = 0;
    fail(op->r, op, MC_RPC_TIMEOUT);
}

void ep_op_on_data(mc_ep_rank_t *r, const mc_msg_ep_t *m)
{
    uint32_t len;
    if (m->rank >= r->world || m->rank == r->self || m->len > r->slot_bytes - EP_SLOT_HDR)
        return;
    if (r->peers[m->rank].inc != m->inc)
        return; /* another incarnation than our view's: not a member */
    if (!hdr_ok(ep_recv_slot(r, m->op_id, m->rank), m->op_id, m->rank, &len) || len != m->len)
        return; /* the bytes are not (or no longer) that block */
    ep_early_t *e = &r->early[m->op_id % EP_NSLOTS];
    if (e->op_id != m->op_id) {
        if (e->op_id != UINT64_MAX && e->op_id > m->op_id)
            return; /* stale */
        e->op_id = m->op_id;
        e->mask = 0;
    }
    e->mask |= mc_ep_bit(m->rank);
    ep_op_t *op = running(r, m->op_id);
    if (op && op->phase == 1 && mc_ep_has(op->M, m->rank)) {
        op->arrived |= mc_ep_bit(m->rank);
        check_data(r, op);
    }
}

void ep_op_on_view(mc_ep_rank_t *r)
{
    /* check_data may send a row, never completes: the window stays put */
    for (int i = 0; i < EP_WINDOW; i++) {
        ep_op_t *op = window_op(r, i);
        if (op)
            check_data(r, op);
    }
}

/* ---- blocks ---- */

static size_t block_for(mc_ep_rank_t *r, ep_op_t *op, uint32_t j, uint8_t *out)
{
    if (op->d.kind == MC_EP_OP_DISPATCH)
        return mc_ep_dispatch_pack(&op->d.moe, j, op->x, op->idx, op->tokens, out);
    if (op->d.kind == MC_EP_OP_COMBINE) {
        ep_handle_t *h = handle_find(r, op->d.dispatch_id);
        if (!h)
            return 0;
        size_t rows = (size_t)h->out.local_experts * h->out.rows_cap * h->cfg.hidden;
        float *y = mc_calloc(rows + 1, sizeof *y);
        mc_ep_moe_expert(&h->cfg, r->self, &h->out, y);
        size_t n = mc_ep_combine_pack(&h->cfg, &h->out, y, j, out);
        mc_free(y);
        return n;
    }
    return mc_ep_op_block(&op->d, r->self, j, op->input, out);
}

static void start(mc_ep_rank_t *r, ep_op_t *op)
{
    if (!r->have_view || !mc_ep_has(r->active, r->self)) {
        fail(r, op, MC_UNAVAILABLE_IN_CURRENT_STATUS);
        return;
    }
    if (op->d.kind == MC_EP_OP_COMBINE && !handle_find(r, op->d.dispatch_id)) {
        fail(r, op, MC_INVALID_PARAMS);
        return;
    }
    if (op->d.kind == MC_EP_OP_SEND || op->d.kind == MC_EP_OP_RECV) /* just the two of them */
        op->call_mask = mc_ep_bit(r->self) | mc_ep_bit(op->d.root);
    op->M = r->active & (op->call_mask ? op->call_mask : ~(mc_ep_mask_t)0);
    op->M |= mc_ep_bit(r->self);
    op->phase = 1;
    op->start_ns = mc_env_now(r->env);
    /* all_reduce / all_gather / broadcast: every member gets the same
     * block (same header too: src is us), so it is built once, in our own
     * send slot, and every write reads it from there. */
    op->shared = op->d.kind == MC_EP_OP_ALL_REDUCE || op->d.kind == MC_EP_OP_ALL_GATHER ||
                 op->d.kind == MC_EP_OP_BROADCAST;
    for (uint32_t j = 0; j < r->world; j++) {
        if (!mc_ep_has(op->M, j))
            continue;
        if (op->shared && j != r->self) {
            op->lens[j] = (uint32_t)mc_ep_op_block(&op->d, r->self, j, op->input, NULL);
            continue;
        }
        uint8_t *slot = ep_send_slot(r, op->d.id, j);
        op->lens[j] = (uint32_t)block_for(r, op, j, slot + EP_SLOT_HDR);
        put_hdr(slot, op->d.id, r->self, op->lens[j]);
    }
    /* Our own block stays in our send slot [self]: finish reads it there
     * (no copy into the receive slot; nobody else writes either). */
    const ep_early_t *e = &r->early[op->d.id % EP_NSLOTS];
    op->arrived = mc_ep_bit(r->self) | (e->op_id == op->d.id ? e->mask & op->M : 0);
    op->t_data = mc_env_timer(r->env, op->d.timeout_ns, data_deadline, op);
    op->t_hard = mc_env_timer(r->env, 2 * op->d.timeout_ns, hard_deadline, op);
    for (uint32_t j = 0; j < r->world; j++)
        if (j != r->self && mc_ep_has(op->M, j))
            post_send(r, op, j);
    check_data(r, op);
}

static void run_next(void *arg)
{
    mc_ep_rank_t *r = arg;
    r->kick = 0;
    /* start() may complete the head (and settle the next): look again each time */
    for (ep_op_t *op; (op = startable(r)) != NULL;)
        start(r, op);
}

/* ---- decision and result ---- */

static void finish(mc_ep_rank_t *r, ep_op_t *op, mc_ep_mask_t set);

void ep_op_on_decide(mc_ep_rank_t *r, const mc_msg_ep_t *m)
{
    ep_op_t *op = running(r, m->op_id);
    if (!op || op->phase != 2)
        return;
    if (op != head(r)) /* decided before an earlier op: its blocks stay in their slots */
        stash(r, op, true, m->mask, MC_OK);
    else
        finish(r, op, m->mask);
}

static void settle(mc_ep_rank_t *r, ep_op_t *op)
{
    if (op->stash_decided)
        finish(r, op, op->stash_set);
    else
        fail(r, op, op->stash_status);
}

/* The op's result over the decided set (op is the head). */
static void finish(mc_ep_rank_t *r, ep_op_t *op, mc_ep_mask_t set)
{
    mc_ep_result_t res = {.set = set};
    if (!mc_ep_has(set, r->self)) {
        res.status = MC_TRANSFER_FAIL; /* we were dropped */
        complete(r, op, &res);
        return;
    }
    const uint8_t *blocks[MC_EP_MAX_RANKS] = {0};
    size_t lens[MC_EP_MAX_RANKS] = {0};
    for (uint32_t s = 0; s < r->world; s++) {
        uint32_t len;
        if (!mc_ep_has(set, s))
            continue;
        const uint8_t *slot = s == r->self ? ep_send_slot(r, op->d.id, s) : ep_recv_slot(r, op->d.id, s);
        if (!mc_ep_has(op->arrived, s) || !hdr_ok(slot, op->d.id, s, &len) || len > r->slot_bytes - EP_SLOT_HDR) {
            /* cannot happen unless memory was overwritten: never guess */
            mc_env_logf(r->env, MC_LOG_ERROR, "ep", "op %llu: block of rank %u missing at decision",
                        (unsigned long long)op->d.id, s);
            res.status = MC_INVALID_PARAMS;
            complete(r, op, &res);
            return;
        }
        blocks[s] = slot + EP_SLOT_HDR;
        lens[s] = len;
    }
    size_t out_bytes = mc_ep_op_output_bytes(&op->d);
    if (!op->out && out_bytes + 1 > r->out_cap) { /* grown, never shrunk: no fresh pages per op */
        mc_free(r->out);
        r->out_cap = out_bytes + 1;
        r->out = mc_malloc(r->out_cap);
    }
    uint8_t *out = op->out ? op->out : r->out;
    if (op->d.kind == MC_EP_OP_COMBINE)
        memset(out, 0, out_bytes); /* combine accumulates; collectives write every byte */
    if (op->d.kind == MC_EP_OP_DISPATCH) {
        ep_handle_t *h = &r->handles[op->d.id % EP_HANDLES];
        handle_free(h);
        h->used = true;
        h->id = op->d.id;
        h->cfg = op->d.moe;
        h->set = set;
        h->tokens = op->tokens;
        h->idx = op->idx;
        h->w = op->w;
        op->idx = NULL;
        op->w = NULL;
        mc_ep_dispatch_out_init(&h->out, &h->cfg);
        res.status = mc_ep_dispatch_unpack(&h->cfg, r->self, blocks, lens, set, &h->out);
        res.dispatch = &h->out;
        res.hash = r->result_hash ? mc_ep_dispatch_out_hash(&h->cfg, &h->out) : 0;
        if (res.status != MC_OK)
            handle_free(h);
    } else if (op->d.kind == MC_EP_OP_COMBINE) {
        ep_handle_t *h = handle_find(r, op->d.dispatch_id);
        res.dispatch_set = h ? h->set : 0;
        res.status = h ? mc_ep_combine_unpack(&op->d.moe, r->self, h->idx, h->w, h->tokens, blocks, lens,
                                              set & h->set, (float *)out)
                       : MC_INVALID_PARAMS;
    } else {
        res.status = mc_ep_op_finish(&op->d, r->self, blocks, lens, set, out);
    }
    /* A failed op leaves the caller's buffer as it was (mc_ep_op_finish
     * writes only on success) and reports no output. */
    if (op->d.kind != MC_EP_OP_DISPATCH && (res.status == MC_OK || !op->out)) {
        if (res.status != MC_OK) /* a failed op may leave the scratch as the last op left it */
            memset(out, 0, out_bytes);
        res.out = out;
        res.out_len = out_bytes;
        res.hash = r->result_hash ? mc_hash64(out, out_bytes, MC_HASH64_INIT) : 0;
    }
    complete(r, op, &res);
}

/* ---- submit ---- */

mc_status_t mc_ep_rank_submit(mc_ep_rank_t *r, const mc_ep_op_desc_t *d, const mc_ep_input_t *in, mc_ep_done_cb cb,
                              void *arg)
{
    size_t cap = r->slot_bytes - EP_SLOT_HDR;
    if (d->world != r->world || (unsigned)d->kind >= MC_EP_OP_KIND_COUNT || !d->timeout_ns || !cb)
        return MC_INVALID_PARAMS;
    bool moe = d->kind == MC_EP_OP_DISPATCH || d->kind == MC_EP_OP_COMBINE;
    if (moe) {
        if (mc_ep_moe_cfg_check(&d->moe) != MC_OK || d->moe.num_ranks != r->world)
            return MC_INVALID_PARAMS;
        /* worst case: every token's every pick goes to one rank */
        if ((uint64_t)d->moe.max_tokens * d->moe.topk * mc_ep_dispatch_rec_size(&d->moe) > cap)
            return MC_INVALID_PARAMS;
    } else if ((uint64_t)d->count * mc_ep_dtype_size(d->dtype) > cap || d->root >= r->world) {
        return MC_INVALID_PARAMS;
    }
    if (d->kind == MC_EP_OP_DISPATCH &&
        (!in || !in->x || !in->topk_idx || !in->topk_weights || in->tokens > d->moe.max_tokens))
        return MC_INVALID_PARAMS;
    size_t in_bytes = moe ? 0 : mc_ep_op_input_bytes(d);
    if (in_bytes && (!in || !in->data))
        return MC_INVALID_PARAMS;
    if (!moe && in && in->out && in->out_len < mc_ep_op_output_bytes(d))
        return MC_INVALID_PARAMS;
    ep_op_t *op = mc_calloc(1, sizeof *op);
    op->r = r;
    op->d = *d;
    op->cb = cb;
    op->arg = arg;
    op->call_mask = in ? in->active_ranks : 0;
    op->out = !moe && in ? in->out : NULL;
    if (in_bytes && in->borrow) {
        op->input = in->data;
    } else if (in_bytes) {
        op->input = op->input_copy = mc_malloc(in_bytes);
        memcpy(op->input_copy, in->data, in_bytes);
    }
    if (d->kind == MC_EP_OP_DISPATCH) {
        size_t tk = (size_t)d->moe.max_tokens * d->moe.topk;
        op->tokens = in->tokens;
        op->x = mc_calloc((size_t)d->moe.max_tokens * d->moe.hidden, sizeof(float));
        op->idx = mc_calloc(tk, sizeof(int64_t));
        op->w = mc_calloc(tk, sizeof(float));
        memcpy(op->x, in->x, (size_t)in->tokens * d->moe.hidden * sizeof(float));
        memcpy(op->idx, in->topk_idx, (size_t)in->tokens * d->moe.topk * sizeof(int64_t));
        memcpy(op->w, in->topk_weights, (size_t)in->tokens * d->moe.topk * sizeof(float));
    }
    mc_list_push_back(&r->queue, &op->link);
    ep_op_kick(r);
    return MC_OK;
}

bool mc_ep_rank_dispatch_set(mc_ep_rank_t *r, uint64_t dispatch_id, mc_ep_mask_t *set)
{
    ep_handle_t *h = handle_find(r, dispatch_id);
    if (h)
        *set = h->set;
    return h != NULL;
}
