/* Batch get / exist / remove: one master RPC carries every key (the wire
 * and the master answer per key), then each key continues as its own op
 * (reads posted together, replica failover per key), so every key's
 * callback runs once exactly as for the single form. */
#include <string.h>

#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

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
    mc_store_replicas_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_REPLICAS_REPLY ||
                       mc_store_replicas_reply_decode(hdr->type, body, &rep) != MC_OK))
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
            if (op)
                mc_sc_get_on_list(op, &rep.l[i]);
        }
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
