/* Get (spec store.md §6.4) and the one-RPC operations (remove, exist,
 * regex remove, remove all).
 *
 * Replica choice: our own segment first, then the others in the master's
 * order. Unlike upstream (which reads one chosen replica and fails), a
 * transfer failure moves on to the next replica, so a crashed owner does
 * not fail reads that another replica can serve. A read that finishes
 * after the lease the master granted has expired fails with
 * LEASE_EXPIRED (the space may have been reused). */
#include <string.h>

#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

mc_status_t mc_sc_read_plan(const mc_store_rlist_t *l, const char *self, size_t cap,
                            uint8_t order[MC_STORE_MAX_REPLICAS], uint32_t *norder)
{
    *norder = 0;
    if (l->status != MC_OK)
        return l->status;
    if (l->n == 0 || l->n > MC_STORE_MAX_REPLICAS)
        return MC_INVALID_REPLICA;
    if (cap && l->r[0].size > cap)
        return MC_INVALID_PARAMS; /* the caller's buffer cannot hold the object */
    size_t slen = self ? strlen(self) : 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < l->n; i++) {
            bool local = self && l->endpoint[i].len == slen && memcmp(l->endpoint[i].p, self, slen) == 0;
            if ((pass == 0) == local && l->r[i].status == MC_REPLICA_COMPLETE)
                order[(*norder)++] = (uint8_t)i;
        }
    return MC_OK;
}

/* The next replica of op->order; false when every one was tried. */
static bool read_next(mc_sc_op_t *op)
{
    if (op->next_replica >= op->norder)
        return false;
    uint32_t i = op->order[op->next_replica++];
    op->xfer_status = MC_OK;
    mc_sc_xfer(op, MC_XFER_READ, op->endpoints[i], op->rl.r[i].buffer_address, op->rl.r[i].rkey);
    return true;
}

/* The guard fired with the read still in flight (on hw the TCP transport
 * gives up on a partitioned peer only after its own, longer timeout): the
 * attempt is parked so its late completion cannot write memory this op
 * hands out, and the next replica is tried, as after a failed transfer. */
void mc_sc_get_overdue(mc_sc_op_t *op)
{
    mc_sc_park_attempt(op);
    op->xfer_status = MC_TRANSFER_FAIL;
    mc_sc_get_xfers_done(op);
}

void mc_sc_get_xfers_done(mc_sc_op_t *op)
{
    if (op->xfer_status != MC_OK) {
        mc_status_t first = op->xfer_status;
        if (!read_next(op))
            mc_sc_op_finish(op, first);
        return;
    }
    if (mc_env_now(op->c->env) > op->lease_deadline_ns) {
        mc_sc_op_finish(op, MC_LEASE_EXPIRED);
        return;
    }
    mc_sc_op_finish(op, MC_OK);
}

void mc_sc_get_on_list(mc_sc_op_t *op, const mc_store_rlist_t *l)
{
    /* size_only reads nothing: no capacity to check */
    mc_status_t s = mc_sc_read_plan(l, op->c->endpoint, op->ext && !op->size_only ? op->ext_cap : 0, op->order,
                                    &op->norder);
    if (s != MC_OK) {
        mc_sc_op_finish(op, s);
        return;
    }
    op->rl = *l;
    for (uint32_t i = 0; i < op->rl.n; i++) {
        mc_sc_copy_endpoint(op->endpoints[i], op->rl.endpoint[i]);
        mc_sc_copy_endpoint(op->segments[i], op->rl.segment[i]);
        op->rl.endpoint[i] = op->rl.protocol[i] = op->rl.segment[i] = mc_slice(NULL, 0); /* frame is transient */
    }
    op->lease_deadline_ns += op->rl.lease_ttl_ms * MC_NS_PER_MS;
    if (op->size_only) {
        op->res.value = op->rl.r[0].size;
        op->res.replicas = op->rl.n; /* the list too (C API get_replica_desc) */
        op->res.descs = op->rl.r;
        op->res.endpoints = (const char (*)[256])op->endpoints;
        op->res.segments = (const char (*)[256])op->segments;
        mc_sc_op_finish(op, MC_OK);
        return;
    }
    op->len = op->rl.r[0].size;
    op->data = op->ext ? op->ext : mc_malloc(op->len);
    if (!read_next(op))
        mc_sc_op_finish(op, MC_INVALID_REPLICA);
}

static void on_list_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_replicas_reply_t rep;
    s = mc_sc_replicas_reply(s, hdr, body, 1, &rep);
    if (s == MC_OK)
        mc_sc_get_on_list(op, &rep.l[0]);
    else
        mc_sc_op_finish(op, s);
    mc_store_replicas_reply_free(&rep);
}

void mc_sc_get(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_GET, key, done, arg);
    /* The lease runs from when the query was sent (upstream: steady clock at send). */
    op->lease_deadline_ns = mc_env_now(c->env);
    mc_store_req_t q = {.type = MC_MSG_GET_REPLICA_LIST, .nkeys = 1, .keys = &key};
    mc_sc_rpc(op, &q, on_list_reply);
}

void mc_sc_get_into(mc_store_client_t *c, mc_slice_t key, void *dst, size_t cap, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_GET, key, done, arg);
    op->ext = dst;
    op->ext_cap = cap;
    op->lease_deadline_ns = mc_env_now(c->env);
    mc_store_req_t q = {.type = MC_MSG_GET_REPLICA_LIST, .nkeys = 1, .keys = &key};
    mc_sc_rpc(op, &q, on_list_reply);
}

void mc_sc_get_size(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_GET, key, done, arg);
    op->size_only = true;
    op->lease_deadline_ns = mc_env_now(c->env);
    mc_store_req_t q = {.type = MC_MSG_GET_REPLICA_LIST, .nkeys = 1, .keys = &key};
    mc_sc_rpc(op, &q, on_list_reply);
}

/* ---- one-RPC operations ---- */

static void on_simple_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK && rep.status != MC_OK)
        s = rep.status;
    if (s == MC_OK && rep.n < 1)
        s = MC_RPC_FAIL;
    if (s == MC_OK) {
        s = rep.v[0].status;
        op->res.value = rep.v[0].value;
    }
    mc_store_values_reply_free(&rep);
    mc_sc_op_finish(op, s);
}

static void simple(mc_store_client_t *c, const mc_store_req_t *q, mc_sc_done_fn done, void *arg)
{
    mc_slice_t key = q->nkeys ? q->keys[0] : mc_slice(NULL, 0);
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, key, done, arg);
    op->msg_type = q->type;
    mc_sc_rpc(op, q, on_simple_reply);
}

void mc_sc_remove(mc_store_client_t *c, mc_slice_t key, bool force, mc_sc_done_fn done, void *arg)
{
    mc_store_req_t q = {.type = MC_MSG_REMOVE, .nkeys = 1, .keys = &key, .force = force};
    simple(c, &q, done, arg);
}

void mc_sc_exist(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg)
{
    mc_store_req_t q = {.type = MC_MSG_EXIST_KEY, .nkeys = 1, .keys = &key};
    simple(c, &q, done, arg);
}

void mc_sc_remove_by_regex(mc_store_client_t *c, const char *pattern, bool force, mc_sc_done_fn done, void *arg)
{
    mc_store_req_t q = {.type = MC_MSG_REMOVE_BY_REGEX, .pattern = mc_slice_cstr(pattern), .force = force};
    simple(c, &q, done, arg);
}

void mc_sc_remove_all(mc_store_client_t *c, bool force, mc_sc_done_fn done, void *arg)
{
    mc_store_req_t q = {.type = MC_MSG_REMOVE_ALL, .force = force};
    simple(c, &q, done, arg);
}
