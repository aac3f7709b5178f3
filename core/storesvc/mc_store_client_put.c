/* Put and upsert (spec store.md §6.3): PutStart -> write every replica ->
 * PutEnd, or PutRevoke when any write failed. First writer wins: a put
 * of an existing key succeeds without writing (upsert overwrites). */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

static mc_status_t decode_values(mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body, uint32_t want,
                                 mc_store_values_reply_t *rep)
{
    memset(rep, 0, sizeof *rep);
    if (s != MC_OK)
        return s;
    if (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, rep) != MC_OK)
        return MC_RPC_FAIL;
    if (rep->status != MC_OK)
        return rep->status;
    if (rep->n != want)
        return MC_RPC_FAIL;
    return MC_OK;
}

static void on_finish_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep;
    s = decode_values(s, hdr, body, 1, &rep);
    if (s == MC_OK)
        s = rep.v[0].status;
    mc_store_values_reply_free(&rep);
    /* A revoke that succeeded still reports the transfer error. */
    if (op->xfer_status != MC_OK)
        s = op->xfer_status;
    mc_sc_op_finish(op, s);
}

void mc_sc_put_xfers_done(mc_sc_op_t *op)
{
    bool ok = op->xfer_status == MC_OK;
    if (ok) {
        op->res.replicas = op->nrep;
        op->res.endpoints = (const char (*)[256])op->endpoints;
        op->res.segments = (const char (*)[256])op->segments;
    }
    if (op->wbatch && mc_sc_batch_put_xfers_done(op))
        return; /* the batch sends one End / Revoke for all its keys */
    mc_slice_t key = mc_slice(op->key, op->klen);
    uint32_t wid = mc_sc_write_id(op);
    mc_store_req_t q = {
        .client = op->c->agent.id,
        .nkeys = 1,
        .keys = &key,
        .replica_type = MC_REPLICA_TYPE_ALL,
        .write_ids = &wid,
    };
    if (op->upsert)
        q.type = ok ? MC_MSG_UPSERT_END : MC_MSG_UPSERT_REVOKE;
    else
        q.type = ok ? MC_MSG_PUT_END : MC_MSG_PUT_REVOKE;
    mc_sc_rpc(op, &q, on_finish_reply);
}

void mc_sc_put_on_list(mc_sc_op_t *op, mc_status_t s, const mc_store_rlist_t *l)
{
    if (s == MC_OK)
        s = l->status;
    if (s != MC_OK) {
        if (s == MC_OBJECT_ALREADY_EXISTS && !op->upsert) {
            op->res.value = 1; /* "existed": first writer wins, nothing written */
            s = MC_OK;
        }
        mc_sc_op_finish(op, s);
        return;
    }
    op->nrep = l->n;
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->r[i].size != op->len) {
            op->xfer_status = MC_INVALID_REPLICA;
            continue;
        }
        mc_sc_copy_endpoint(op->endpoints[i], l->endpoint[i]);
        mc_sc_copy_endpoint(op->segments[i], l->segment[i]);
        mc_sc_xfer(op, MC_XFER_WRITE, op->endpoints[i], l->r[i].buffer_address, l->r[i].rkey);
    }
    if (op->pending_xfers == 0) /* nothing posted: finish the protocol now */
        mc_sc_put_xfers_done(op);
}

static void on_start_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_replicas_reply_t rep;
    s = mc_sc_replicas_reply(s, hdr, body, 1, &rep);
    mc_sc_put_on_list(op, s, s == MC_OK ? &rep.l[0] : NULL);
    mc_store_replicas_reply_free(&rep);
}

static void put_start(mc_sc_op_t *op)
{
    mc_slice_t key = mc_slice(op->key, op->klen);
    uint64_t size = op->len;
    uint32_t wid = mc_sc_write_id(op);
    mc_store_req_t q = {
        .type = op->upsert ? MC_MSG_UPSERT_START : MC_MSG_PUT_START,
        .client = op->c->agent.id,
        .nkeys = 1,
        .keys = &key,
        .sizes = &size,
        .cfg = op->wcfg,
        .write_ids = &wid,
    };
    q.cfg.pref = op->wpref;
    mc_sc_rpc(op, &q, on_start_reply);
}

/* Writes of one key from this client run one at a time: upstream's master
 * knows a write only by (client, key), so with two in flight the first
 * one's PutEnd would commit the second one's replicas before their bytes
 * were written (store swarm seed 511). Write ids (mc_sc_write_id) now
 * name the write, but one at a time also keeps each key's start ids
 * increasing, which lets the master drop a start delivered late. */
void mc_sc_put_next(mc_sc_op_t *op)
{
    mc_store_client_t *c = op->c;
    bool inserted;
    /* only the active one finishes: queued ones have not started */
    MC_ASSERT(mc_map_get(&c->writes, op->key, op->klen) == op);
    mc_sc_op_t *next = op->next_write;
    op->next_write = NULL;
    if (!next) {
        mc_map_del(&c->writes, op->key, op->klen);
        return;
    }
    *mc_map_slot(&c->writes, op->key, op->klen, &inserted) = next;
    put_start(next);
}

mc_sc_op_t *mc_sc_put_op_new(mc_store_client_t *c, mc_slice_t key, const void *data, size_t len,
                             const mc_replicate_config_t *rc, bool upsert, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_PUT, key, done, arg);
    op->upsert = upsert;
    /* Inside a buffer registered once (put_from): borrowed, not copied; the
     * callback runs only once no transfer reads it (mc_sc_op_finish). */
    op->ext = mc_sc_buffer_covered(c, data, len) ? (uint8_t *)(uintptr_t)data : NULL;
    op->data = op->ext ? op->ext : mc_memdup(data, len);
    op->len = len;
    op->wcfg.replica_num = rc->replica_num;
    op->wcfg.with_hard_pin = rc->with_hard_pin;
    op->wcfg.prefer_alloc_in_same_node = rc->prefer_alloc_in_same_node;
    op->wcfg.soft_pin_action = rc->soft_pin_action;
    op->wcfg.has_soft_pin_ttl = rc->has_soft_pin_ttl;
    op->wcfg.soft_pin_ttl_ms = rc->soft_pin_ttl_ms;
    if (rc->preferred_segment && *rc->preferred_segment)
        op->wpref[op->wcfg.npref++] = mc_slice_cstr(mc_strdup(rc->preferred_segment));
    for (uint32_t i = 0; i < rc->n_preferred_segments && op->wcfg.npref < MC_MSG_STORE_MAX_PREF; i++)
        op->wpref[op->wcfg.npref++] = mc_slice_cstr(mc_strdup(rc->preferred_segments[i]));
    return op;
}

void mc_sc_put(mc_store_client_t *c, mc_slice_t key, const void *data, size_t len, const mc_replicate_config_t *rc,
               bool upsert, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_put_op_new(c, key, data, len, rc, upsert, done, arg);
    bool inserted;
    void **slot = mc_map_slot(&c->writes, key.p, key.len, &inserted);
    if (!inserted) { /* queue behind the write in flight on this key */
        mc_sc_op_t *t = *slot;
        while (t->next_write)
            t = t->next_write;
        t->next_write = op;
        return;
    }
    *slot = op;
    put_start(op);
}
