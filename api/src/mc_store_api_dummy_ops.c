/* A dummy's operations, forwarded: the facade's checks have run already
 * (keys, registered buffers, the local-buffer budget), so each mc_api_op
 * becomes one wire op and its result comes back into the same struct.
 *
 * Payloads: a value or destination inside shared memory travels as its
 * address; any other value is first staged in the local buffer (DUMMY_ALLOC,
 * copied, released by the real client after the op); a GET without a
 * shared destination is answered in the local buffer, copied out here and
 * released (DUMMY_RELEASE). Bytes ride in the message only when the local
 * buffer is absent or full. */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"

#define MAX_INLINE_BYTES (48u << 20) /* per message, below MC_WIRE_MAX_BODY */

static uint8_t wire_kind(mc_api_kind_t k)
{
    switch (k) {
    case MC_API_PUT: return MC_DUMMY_OP_PUT;
    case MC_API_UPSERT: return MC_DUMMY_OP_UPSERT;
    case MC_API_GET: return MC_DUMMY_OP_GET;
    case MC_API_EXIST: return MC_DUMMY_OP_EXIST;
    case MC_API_SIZE: return MC_DUMMY_OP_SIZE;
    case MC_API_REMOVE: return MC_DUMMY_OP_REMOVE;
    case MC_API_REMOVE_REGEX: return MC_DUMMY_OP_REMOVE_REGEX;
    case MC_API_REMOVE_ALL: return MC_DUMMY_OP_REMOVE_ALL;
    case MC_API_HEALTH: return MC_DUMMY_OP_HEALTH;
    default: return 0;
    }
}

static void cfg_to_wire(const mc_replicate_config_t *in, mc_dummy_cfg_t *out, mc_slice_t *pref)
{
    memset(out, 0, sizeof *out);
    out->replica_num = in->replica_num;
    out->with_hard_pin = in->with_hard_pin;
    out->prefer_alloc_in_same_node = in->prefer_alloc_in_same_node;
    out->has_soft_pin_ttl = in->has_soft_pin_ttl;
    out->soft_pin_action = in->soft_pin_action;
    out->soft_pin_ttl_ms = in->soft_pin_ttl_ms;
    if (in->preferred_segment) {
        out->has_preferred_segment = true;
        out->preferred_segment = mc_slice_cstr(in->preferred_segment);
    }
    out->npref = in->n_preferred_segments < MC_DUMMY_MAX_PREF ? in->n_preferred_segments : MC_DUMMY_MAX_PREF;
    for (uint32_t i = 0; i < out->npref; i++)
        pref[i] = mc_slice_cstr(in->preferred_segments[i]);
    out->pref = pref;
    if (in->group_ids && in->n_group_ids == 1 && in->group_ids[0]) {
        out->has_group = true;
        out->group = mc_slice_cstr(in->group_ids[0]);
    }
}

/* Stage values outside shared memory in the local buffer. */
static void stage_values(mc_api_dummy_t *d, mc_api_op_t *ops, mc_dummy_op_t *w, size_t n)
{
    uint64_t *sizes = mc_calloc(n, sizeof *sizes);
    size_t *idx = mc_calloc(n, sizeof *idx);
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i].value_mem == MC_DUMMY_MEM_INLINE) {
            sizes[k] = ops[i].vlen;
            idx[k++] = i;
        }
    mc_dummy_msg_t req = {.type = MC_MSG_DUMMY_ALLOC, .naddrs = k, .addrs = sizes}, reply;
    if (k && d->lb.size && mc_api_dummy_exchange(d, &req, MC_MSG_DUMMY_ADDRS_REPLY, &reply) == MC_OK) {
        for (uint32_t j = 0; j < k && j < reply.naddrs; j++) {
            mc_dummy_op_t *o = &w[idx[j]];
            uint8_t *p = (uint8_t *)(uintptr_t)reply.addrs[j];
            if (!p || !mc_api_dummy_shared(d, p, o->value.len))
                continue; /* full: stays inline */
            memcpy(p, o->value.p, o->value.len);
            o->value_mem = MC_DUMMY_MEM_SHM;
            o->value_addr = reply.addrs[j];
            o->value_len = o->value.len;
            o->flags |= MC_DUMMY_OPF_RELEASE;
        }
        mc_dummy_msg_free(&reply);
    }
    mc_free(idx);
    mc_free(sizes);
}

static void to_wire(mc_api_dummy_t *d, const mc_api_op_t *op, mc_dummy_op_t *w, mc_slice_t *pref)
{
    memset(w, 0, sizeof *w);
    w->kind = wire_kind(op->kind);
    w->flags = op->force ? MC_DUMMY_OPF_FORCE : 0;
    w->key = mc_slice(op->key, op->klen);
    switch (op->kind) {
    case MC_API_PUT:
    case MC_API_UPSERT:
        cfg_to_wire(&op->rc, &w->cfg, pref);
        if (mc_api_dummy_shared(d, op->value, op->vlen)) {
            w->value_mem = MC_DUMMY_MEM_SHM;
            w->value_addr = (uintptr_t)op->value;
            w->value_len = op->vlen;
        } else {
            w->value_mem = MC_DUMMY_MEM_INLINE;
            w->value = mc_slice(op->value, op->vlen);
        }
        break;
    case MC_API_GET:
        if (op->into && mc_api_dummy_shared(d, op->into, op->into_size)) {
            w->into_mem = MC_DUMMY_MEM_SHM;
            w->into_addr = (uintptr_t)op->into;
            w->into_cap = op->into_size;
        }
        break;
    case MC_API_SIZE:
        w->descs_cap = op->descs ? (uint32_t)(op->descs_cap < MC_DUMMY_MAX_DESCS ? op->descs_cap : MC_DUMMY_MAX_DESCS)
                                 : 0;
        break;
    case MC_API_REMOVE_REGEX: w->pattern = mc_slice_cstr(op->pattern); break;
    default: break;
    }
}

/* GET answer without a shared destination: copy it where the op wants it. */
static void take_bytes(mc_api_dummy_t *d, mc_api_op_t *op, const mc_dummy_result_t *r, uint64_t *release)
{
    const uint8_t *src = NULL;
    if (r->out_mem == MC_DUMMY_MEM_INLINE)
        src = r->out.p;
    else if (r->out_mem == MC_DUMMY_MEM_SHM && mc_api_dummy_shared(d, (void *)(uintptr_t)r->out_addr, r->out_len)) {
        src = (const uint8_t *)(uintptr_t)r->out_addr;
        *release = r->out_addr;
    }
    if (!src && r->out_len) {
        op->status = MC_RPC_FAIL; /* the service named memory we do not share */
        return;
    }
    if (op->into) {
        if (r->out_len > op->into_size)
            op->status = MC_INVALID_PARAMS;
        else if (r->out_len)
            memcpy(op->into, src, r->out_len);
        return;
    }
    op->out = malloc(r->out_len ? r->out_len : 1);
    if (!op->out)
        op->status = MC_BUFFER_OVERFLOW;
    else if (r->out_len)
        memcpy(op->out, src, r->out_len);
}

static void from_wire(mc_api_dummy_t *d, mc_api_op_t *op, const mc_dummy_op_t *w, const mc_dummy_result_t *r,
                      uint64_t *release)
{
    op->status = r->status;
    op->value_out = r->value;
    if (r->status != MC_OK)
        return;
    if (op->kind == MC_API_GET) {
        op->out_len = r->out_len;
        if (w->into_mem != MC_DUMMY_MEM_SHM)
            take_bytes(d, op, r, release);
    } else if (op->kind == MC_API_SIZE) {
        op->ndescs = r->ndescs;
        for (uint32_t i = 0; op->descs && i < r->nentries && i < op->descs_cap; i++) {
            mooncake_replica_desc_t *o = &op->descs[i];
            o->status = r->descs[i].status;
            o->type = r->descs[i].type;
            o->buffer_address = r->descs[i].buffer_address;
            o->size = r->descs[i].size;
            snprintf(o->transport_endpoint, sizeof o->transport_endpoint, "%.*s", (int)r->descs[i].endpoint.len,
                     (const char *)r->descs[i].endpoint.p);
        }
    }
}

/* Forwards ops[0..n) in one message (n <= MC_DUMMY_MAX_OPS). */
static void run_chunk(mc_api_dummy_t *d, mc_api_op_t *ops, size_t n)
{
    mc_dummy_op_t *w = mc_calloc(n, sizeof *w);
    mc_slice_t *pref = mc_calloc(n * MC_DUMMY_MAX_PREF, sizeof *pref);
    uint64_t *release = mc_calloc(n, sizeof *release);
    for (size_t i = 0; i < n; i++)
        to_wire(d, &ops[i], &w[i], pref + i * MC_DUMMY_MAX_PREF);
    pthread_mutex_lock(&d->mu);
    stage_values(d, ops, w, n);
    mc_dummy_msg_t req = {.type = MC_MSG_DUMMY_OPS, .nops = (uint32_t)n, .ops = w}, reply;
    mc_status_t st = mc_api_dummy_exchange(d, &req, MC_MSG_DUMMY_OPS_REPLY, &reply);
    if (st == MC_OK && reply.nresults != n) {
        mc_dummy_msg_free(&reply);
        st = MC_RPC_FAIL;
    }
    uint32_t nrel = 0;
    size_t *retry = mc_calloc(n, sizeof *retry), nretry = 0;
    for (size_t i = 0; i < n; i++) {
        if (st != MC_OK) {
            ops[i].status = st;
            continue;
        }
        uint64_t rel = 0;
        /* a staged GET the local buffer had no room for while earlier
         * results of this message held it: worth another round */
        if (ops[i].kind == MC_API_GET && w[i].into_mem != MC_DUMMY_MEM_SHM &&
            reply.results[i].status == MC_INVALID_PARAMS)
            retry[nretry++] = i;
        from_wire(d, &ops[i], &w[i], &reply.results[i], &rel);
        if (rel)
            release[nrel++] = rel;
    }
    if (st == MC_OK)
        mc_dummy_msg_free(&reply);
    if (nrel) {
        mc_dummy_msg_t rq = {.type = MC_MSG_DUMMY_RELEASE, .naddrs = nrel, .addrs = release}, rr;
        if (mc_api_dummy_exchange(d, &rq, MC_MSG_DUMMY_STATUS_REPLY, &rr) == MC_OK)
            mc_dummy_msg_free(&rr);
    }
    pthread_mutex_unlock(&d->mu);
    /* Released now: retry the GETs that found the local buffer full. Each
     * round makes progress (some staged GET succeeded) or stops. */
    if (nretry && nrel) {
        mc_api_op_t *again = mc_calloc(nretry, sizeof *again);
        for (size_t j = 0; j < nretry; j++) {
            again[j] = ops[retry[j]];
            again[j].status = MC_OK;
        }
        run_chunk(d, again, nretry);
        for (size_t j = 0; j < nretry; j++)
            ops[retry[j]] = again[j];
        mc_free(again);
    }
    mc_free(retry);
    mc_free(release);
    mc_free(pref);
    mc_free(w);
}

void mc_api_dummy_run_ops(mooncake_store_t *s, mc_api_op_t *ops, size_t n)
{
    mc_api_dummy_t *d = s->dummy;
    /* Ops answered here, and chunks that keep each message bounded. */
    size_t start = 0, inline_bytes = 0;
    for (size_t i = 0; i <= n; i++) {
        bool flush = i == n || i - start == MC_DUMMY_MAX_OPS ||
                     (i < n && inline_bytes + ops[i].vlen > MAX_INLINE_BYTES && i > start);
        if (flush && i > start) {
            run_chunk(d, ops + start, i - start);
            start = i;
            inline_bytes = 0;
        }
        if (i == n)
            break;
        mc_api_op_t *op = &ops[i];
        op->s = s;
        if (op->kind == MC_API_UNMOUNT || !wire_kind(op->kind) ||
            ((op->kind == MC_API_PUT || op->kind == MC_API_UPSERT) && op->vlen > MAX_INLINE_BYTES &&
             !mc_api_dummy_shared(d, op->value, op->vlen) && op->vlen > d->lb.size)) {
            /* not forwarded: close has nothing to unmount (the segment is
             * the real client's); other kinds are RealClient-only (-1) */
            if (i > start)
                run_chunk(d, ops + start, i - start);
            op->status = op->kind == MC_API_UNMOUNT ? MC_OK
                         : wire_kind(op->kind)     ? MC_INVALID_PARAMS /* too big to send without a buffer */
                                                   : MC_INTERNAL_ERROR;
            start = i + 1;
            inline_bytes = 0;
            continue;
        }
        if (op->kind == MC_API_PUT || op->kind == MC_API_UPSERT)
            inline_bytes += op->vlen;
    }
}
