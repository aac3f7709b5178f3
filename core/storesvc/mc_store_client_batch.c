/* Batch get / exist / remove: one master RPC carries every key (the wire
 * and the master answer per key), then each key continues as its own op
 * (reads posted together, replica failover per key), so every key's
 * callback runs once exactly as for the single form.
 *
 * Batch put / upsert (upstream BatchPutStart / BatchPutEnd): one start RPC
 * for the batch, each key's writes posted from its entry of the reply,
 * then, once every key's writes have completed, one End RPC for the keys
 * whose writes landed and one Revoke RPC for the others. The batch's
 * state lives in a carrier op (op->data), so a client destroyed mid-batch
 * frees it with its ops. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

/* ---- transfers of a batch: one xfer_post ---- */

void mc_sc_xfer_plug(mc_store_client_t *c)
{
    c->xplug++;
}

void mc_sc_xfer_defer(mc_store_client_t *c, const mc_xfer_op_t *x)
{
    MC_ASSERT(c->xplug > 0);
    if (c->nxq == c->cap_xq) {
        c->cap_xq = c->cap_xq ? 2 * c->cap_xq : 32;
        c->xq = mc_realloc(c->xq, (size_t)c->cap_xq * sizeof *c->xq);
    }
    c->xq[c->nxq++] = *x; /* x->peer: an op's endpoint, alive while the op waits for it */
}

void mc_sc_xfer_unplug(mc_store_client_t *c)
{
    MC_ASSERT(c->xplug > 0);
    if (--c->xplug || c->nxq == 0)
        return;
    uint32_t n = c->nxq;
    c->nxq = 0; /* completions never run inside xfer_post: they come later from the env */
    c->env->ops->xfer_post(c->env, c->xq, n); /* failures complete through on_xfer_done */
}

typedef struct batch_ctx {
    mc_store_client_t *c;
    uint32_t n;
    uint64_t ids[]; /* op ids, key order */
} batch_ctx_t;

typedef void (*batch_reply_fn)(batch_ctx_t *b, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

typedef struct batch_call {
    batch_ctx_t *b;
    batch_reply_fn fn;
} batch_call_t;

/* Fail every op of the batch that is still waiting. */
static void batch_fail(batch_ctx_t *b, mc_status_t s)
{
    for (uint32_t i = 0; i < b->n; i++) {
        mc_sc_op_t *op = mc_map_getu(&b->c->ops, b->ids[i]);
        if (op)
            mc_sc_op_finish(op, s);
    }
}

static void on_batch_lists(batch_ctx_t *b, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_store_replicas_reply_t rep;
    s = mc_sc_replicas_reply(s, hdr, body, b->n, &rep);
    if (s != MC_OK) {
        batch_fail(b, s);
    } else {
        mc_sc_xfer_plug(b->c);
        for (uint32_t i = 0; i < b->n; i++) {
            mc_sc_op_t *op = mc_map_getu(&b->c->ops, b->ids[i]);
            if (op)
                mc_sc_get_on_list(op, &rep.l[i]);
        }
        mc_sc_xfer_unplug(b->c);
    }
    mc_store_replicas_reply_free(&rep);
}

static void on_batch_values(batch_ctx_t *b, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK && rep.status != MC_OK)
        s = rep.status;
    if (s == MC_OK && rep.n != b->n)
        s = MC_RPC_FAIL;
    if (s != MC_OK) {
        batch_fail(b, s);
    } else {
        for (uint32_t i = 0; i < b->n; i++) {
            mc_sc_op_t *op = mc_map_getu(&b->c->ops, b->ids[i]);
            if (!op)
                continue;
            op->res.value = rep.v[i].value;
            mc_sc_op_finish(op, rep.v[i].status);
        }
    }
    mc_store_values_reply_free(&rep);
}

static void on_batch_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    batch_call_t *call = arg;
    call->fn(call->b, s, hdr, body);
    mc_free(call->b);
    mc_free(call);
}

/* Creates the n ops, then sends one request for all their keys. */
static void batch_start(mc_store_client_t *c, mc_sc_kind_t kind, mc_store_req_t *q, void *const *dsts,
                        const size_t *caps, mc_sc_done_fn done, void *const *args, batch_reply_fn fn)
{
    if (q->nkeys == 0)
        return;
    batch_ctx_t *b = mc_malloc(sizeof *b + q->nkeys * sizeof b->ids[0]);
    b->c = c;
    b->n = q->nkeys;
    uint64_t now = mc_env_now(c->env); /* the lease runs from when the query was sent */
    for (uint32_t i = 0; i < q->nkeys; i++) {
        mc_sc_op_t *op = mc_sc_op_new(c, kind, q->keys[i], done, args[i]);
        op->msg_type = q->type;
        op->lease_deadline_ns = now;
        if (dsts && dsts[i]) {
            op->ext = dsts[i];
            op->ext_cap = caps[i];
        }
        b->ids[i] = op->id;
    }
    batch_call_t *call = mc_malloc(sizeof *call);
    *call = (batch_call_t){b, fn};
    mc_store_req_encode(&c->out, mc_rpc_next_id(&c->agent.chan), q);
    mc_rpc_call(&c->agent.chan, &c->out, c->cfg.rpc_timeout_ns, on_batch_reply, call);
}

void mc_sc_batch_get(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, void *const *dsts,
                     const size_t *caps, mc_sc_done_fn done, void *const *args)
{
    mc_store_req_t q = {.type = MC_MSG_GET_REPLICA_LIST, .nkeys = n, .keys = (mc_slice_t *)keys};
    batch_start(c, MC_SC_GET, &q, dsts, caps, done, args, on_batch_lists);
}

void mc_sc_batch_exist(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, mc_sc_done_fn done,
                       void *const *args)
{
    mc_store_req_t q = {.type = MC_MSG_EXIST_KEY, .nkeys = n, .keys = (mc_slice_t *)keys};
    batch_start(c, MC_SC_SIMPLE, &q, NULL, NULL, done, args, on_batch_values);
}

void mc_sc_batch_remove(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, bool force, mc_sc_done_fn done,
                        void *const *args)
{
    mc_store_req_t q = {.type = MC_MSG_REMOVE, .nkeys = n, .keys = (mc_slice_t *)keys, .force = force};
    batch_start(c, MC_SC_SIMPLE, &q, NULL, NULL, done, args, on_batch_values);
}

/* ---- batch put ---- */

enum { WB_WRITING, WB_END, WB_REVOKE, WB_DONE };

typedef struct wbatch {
    uint32_t n;
    uint32_t writing;  /* keys whose transfers are in flight */
    uint32_t rpcs;     /* End / Revoke RPCs awaiting their reply */
    bool starting;     /* the start reply is being handled */
    bool ended;        /* End / Revoke sent */
    bool upsert;
    uint64_t *ids;     /* per key: its op id (same block) */
    uint8_t *phase;    /* per key: WB_* */
} wbatch_t;

static void wb_noop(void *arg, const mc_sc_result_t *r)
{
    (void)arg;
    (void)r;
}

static void wb_end_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);
static void wb_revoke_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

/* Keys of the batch in phase ph whose op is still alive, in key order. */
static uint32_t wb_collect(mc_store_client_t *c, const wbatch_t *wb, uint8_t ph, mc_sc_op_t **out)
{
    uint32_t k = 0;
    for (uint32_t j = 0; j < wb->n; j++) {
        if (wb->phase[j] != ph)
            continue;
        mc_sc_op_t *op = mc_map_getu(&c->ops, wb->ids[j]);
        if (op)
            out[k++] = op;
    }
    return k;
}

/* Every key's writes are done: one End and one Revoke for the batch. */
static void wb_maybe_end(mc_sc_op_t *carrier)
{
    wbatch_t *wb = (wbatch_t *)(void *)carrier->data;
    mc_store_client_t *c = carrier->c;
    if (wb->writing || wb->starting || wb->ended)
        return;
    wb->ended = true;
    mc_sc_op_t **ops = mc_malloc((wb->n ? wb->n : 1) * sizeof *ops);
    mc_slice_t *keys = mc_malloc((wb->n ? wb->n : 1) * sizeof *keys);
    uint32_t *wids = mc_malloc((wb->n ? wb->n : 1) * sizeof *wids);
    for (uint8_t ph = WB_END; ph <= WB_REVOKE; ph++) {
        uint32_t k = wb_collect(c, wb, ph, ops);
        if (k == 0)
            continue;
        for (uint32_t i = 0; i < k; i++) {
            keys[i] = mc_slice(ops[i]->key, ops[i]->klen);
            wids[i] = mc_sc_write_id(ops[i]);
        }
        mc_store_req_t q = {
            .client = c->agent.id,
            .nkeys = k,
            .keys = keys,
            .replica_type = MC_REPLICA_TYPE_ALL,
            .write_ids = wids,
        };
        if (ph == WB_END)
            q.type = wb->upsert ? MC_MSG_UPSERT_END : MC_MSG_PUT_END;
        else
            q.type = wb->upsert ? MC_MSG_UPSERT_REVOKE : MC_MSG_PUT_REVOKE;
        wb->rpcs++;
        mc_sc_rpc(carrier, &q, ph == WB_END ? wb_end_reply : wb_revoke_reply);
    }
    mc_free(ops);
    mc_free(keys);
    mc_free(wids);
    if (wb->rpcs == 0)
        mc_sc_op_finish(carrier, MC_OK);
}

/* Per key: the End/Revoke result, or the transfer error (a revoke that
 * succeeded still reports it), exactly as the single put reports. */
static void wb_finish_reply(mc_sc_op_t *carrier, uint8_t ph, mc_status_t s, const mc_wire_hdr_t *hdr,
                            mc_rbuf_t *body)
{
    wbatch_t *wb = (wbatch_t *)(void *)carrier->data;
    mc_store_client_t *c = carrier->c;
    mc_sc_op_t **ops = mc_malloc((wb->n ? wb->n : 1) * sizeof *ops);
    uint32_t k = wb_collect(c, wb, ph, ops);
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK && rep.status != MC_OK)
        s = rep.status;
    if (s == MC_OK && rep.n != k)
        s = MC_RPC_FAIL;
    for (uint32_t j = 0; j < wb->n; j++)
        if (wb->phase[j] == ph)
            wb->phase[j] = WB_DONE;
    for (uint32_t i = 0; i < k; i++) {
        mc_status_t st = s == MC_OK ? rep.v[i].status : s;
        if (ops[i]->xfer_status != MC_OK)
            st = ops[i]->xfer_status;
        mc_sc_op_finish(ops[i], st);
    }
    mc_store_values_reply_free(&rep);
    mc_free(ops);
    MC_ASSERT(wb->rpcs > 0);
    if (--wb->rpcs == 0)
        mc_sc_op_finish(carrier, MC_OK);
}

static void wb_end_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    wb_finish_reply(arg, WB_END, s, hdr, body);
}

static void wb_revoke_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    wb_finish_reply(arg, WB_REVOKE, s, hdr, body);
}

bool mc_sc_batch_put_xfers_done(mc_sc_op_t *op)
{
    mc_sc_op_t *carrier = mc_map_getu(&op->c->ops, op->wbatch);
    if (!carrier)
        return false;
    wbatch_t *wb = (wbatch_t *)(void *)carrier->data;
    uint32_t j = op->wbatch_idx;
    MC_ASSERT(j < wb->n && wb->ids[j] == op->id);
    if (wb->phase[j] != WB_WRITING || wb->ended)
        return false; /* not waiting for the batch any more: finish alone */
    wb->phase[j] = op->xfer_status == MC_OK ? WB_END : WB_REVOKE;
    if (!wb->starting) {
        MC_ASSERT(wb->writing > 0);
        wb->writing--;
        wb_maybe_end(carrier);
    }
    return true;
}

static void wb_start_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *carrier = arg;
    wbatch_t *wb = (wbatch_t *)(void *)carrier->data;
    mc_store_client_t *c = carrier->c;
    mc_store_replicas_reply_t rep;
    s = mc_sc_replicas_reply(s, hdr, body, wb->n, &rep);
    wb->starting = true;
    mc_sc_xfer_plug(c);
    for (uint32_t j = 0; j < wb->n; j++) {
        mc_sc_op_t *op = mc_map_getu(&c->ops, wb->ids[j]);
        if (!op) {
            wb->phase[j] = WB_DONE;
            continue;
        }
        mc_sc_put_on_list(op, s, s == MC_OK ? &rep.l[j] : NULL);
        if (wb->phase[j] != WB_WRITING)
            continue; /* nothing was posted: already waits for End / Revoke */
        op = mc_map_getu(&c->ops, wb->ids[j]);
        if (op && op->pending_xfers)
            wb->writing++;
        else
            wb->phase[j] = WB_DONE; /* finished at once (error, or existed) */
    }
    wb->starting = false; /* before the post: a completion may only come after it, but is counted either way */
    mc_sc_xfer_unplug(c);
    mc_store_replicas_reply_free(&rep);
    wb_maybe_end(carrier);
}

void mc_sc_batch_put(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, const void *const *datas,
                     const size_t *lens, const mc_replicate_config_t *rc, bool upsert, mc_sc_done_fn done,
                     void *const *args)
{
    if (n == 0)
        return;
    mc_sc_op_t *carrier = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), wb_noop, NULL);
    carrier->msg_type = upsert ? MC_MSG_UPSERT_START : MC_MSG_PUT_START;
    wbatch_t *wb = mc_calloc(1, sizeof *wb + (size_t)n * (sizeof wb->ids[0] + sizeof wb->phase[0]));
    wb->ids = (uint64_t *)(void *)(wb + 1);
    wb->phase = (uint8_t *)(wb->ids + n);
    wb->upsert = upsert;
    carrier->data = (uint8_t *)(void *)wb; /* op_release frees it */
    mc_slice_t *qkeys = mc_malloc((size_t)n * sizeof *qkeys);
    uint64_t *sizes = mc_malloc((size_t)n * sizeof *sizes);
    uint32_t *wids = mc_malloc((size_t)n * sizeof *wids);
    mc_sc_op_t *first = NULL;
    for (uint32_t i = 0; i < n; i++) {
        mc_sc_op_t *op = mc_sc_put_op_new(c, keys[i], datas[i], lens[i], rc, upsert, done, args[i]);
        bool inserted;
        void **slot = mc_map_slot(&c->writes, keys[i].p, keys[i].len, &inserted);
        if (!inserted) { /* a write of this key is in flight: queue behind it, as mc_sc_put */
            mc_sc_op_t *t = *slot;
            while (t->next_write)
                t = t->next_write;
            t->next_write = op;
            continue;
        }
        *slot = op;
        if (!first)
            first = op;
        op->wbatch = carrier->id;
        op->wbatch_idx = wb->n;
        wb->ids[wb->n] = op->id;
        qkeys[wb->n] = mc_slice(op->key, op->klen);
        sizes[wb->n] = op->len;
        wids[wb->n] = mc_sc_write_id(op);
        wb->n++;
    }
    if (wb->n == 0) {
        mc_sc_op_finish(carrier, MC_OK);
    } else {
        mc_store_req_t q = {
            .type = carrier->msg_type,
            .client = c->agent.id,
            .nkeys = wb->n,
            .keys = qkeys,
            .sizes = sizes,
            .cfg = first->wcfg,
            .write_ids = wids,
        };
        q.cfg.pref = first->wpref;
        mc_sc_rpc(carrier, &q, wb_start_reply);
    }
    mc_free(qkeys);
    mc_free(sizes);
    mc_free(wids);
}
