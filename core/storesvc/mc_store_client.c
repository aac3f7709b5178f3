#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

#define DEFAULT_RPC_TIMEOUT_NS (5 * MC_NS_PER_S)
#define DEFAULT_XFER_TIMEOUT_NS (10 * MC_NS_PER_S)

/* ---- membership: (re)mount our segment whenever the master asks ---- */

static void on_remount_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_store_client_t *c = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    mc_store_values_reply_free(&rep);
    c->remounting = false;
    if (s != MC_OK)
        mc_env_logf(c->env, MC_LOG_WARN, "client", "remount failed: %s", mc_status_name(s));
    mc_member_agent_registered(&c->agent, s == MC_OK, 0);
}

static void on_need_remount(void *ctx)
{
    mc_store_client_t *c = ctx;
    if (c->remounting)
        return;
    c->remounting = true;
    uint32_t nsegs;
    mc_msg_seg_t *segs = mc_sc_segments_for_remount(c, &nsegs); /* main + extra */
    mc_store_req_t q = {
        .type = MC_MSG_REMOUNT_SEGMENTS,
        .client = c->agent.id,
        .name = mc_slice_cstr(c->env->node_name),
        .nsegs = nsegs,
        .segs = segs,
    };
    mc_store_req_encode(&c->out, mc_rpc_next_id(&c->agent.chan), &q);
    mc_free(segs);
    mc_rpc_call(&c->agent.chan, &c->out, c->cfg.rpc_timeout_ns, on_remount_reply, c);
}

/* The segment comes from the env when it offers segment memory (hw: a
 * memfd mapping same-host readers reach by memcpy), else from the heap. */
static void *segment_alloc(mc_env_t *env, size_t len)
{
    return env->ops->seg_alloc ? env->ops->seg_alloc(env, len) : mc_calloc(1, len);
}

static void segment_free(mc_env_t *env, void *p, size_t len)
{
    if (env->ops->seg_alloc)
        env->ops->seg_free(env, p, len);
    else
        mc_free(p);
}

mc_status_t mc_store_client_init(mc_store_client_t *c, mc_env_t *env, const mc_sc_config_t *cfg, char *err,
                                 size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->cfg = *cfg;
    if (!c->cfg.rpc_timeout_ns)
        c->cfg.rpc_timeout_ns = DEFAULT_RPC_TIMEOUT_NS;
    if (!c->cfg.xfer_timeout_ns)
        c->cfg.xfer_timeout_ns = DEFAULT_XFER_TIMEOUT_NS;
    if (!c->cfg.protocol)
        c->cfg.protocol = "tcp";
    c->addr = mc_strdup(cfg->addr ? cfg->addr : env->node_name);
    c->endpoint = env->ops->data_endpoint ? env->ops->data_endpoint(env) : NULL;
    if (!c->endpoint)
        c->endpoint = c->addr;
    mc_map_init(&c->ops);
    mc_map_init(&c->writes);
    mc_map_init(&c->xfers);
    mc_map_init(&c->parked);
    mc_wbuf_init(&c->out);
    if (c->cfg.segment_size) {
        c->segment = segment_alloc(env, c->cfg.segment_size);
        mc_status_t s = c->segment ? env->ops->mem_register(env, c->segment, c->cfg.segment_size, &c->segment_rkey)
                                   : MC_INTERNAL_ERROR;
        if (s != MC_OK) {
            snprintf(err, errlen, "cannot %s the %llu-byte segment: %s", c->segment ? "register" : "allocate",
                     (unsigned long long)c->cfg.segment_size, mc_status_msg(s));
            if (c->segment)
                segment_free(env, c->segment, c->cfg.segment_size);
            mc_free(c->addr);
            mc_map_free(&c->ops);
            mc_map_free(&c->writes);
            mc_map_free(&c->xfers);
            mc_map_free(&c->parked);
            mc_wbuf_free(&c->out);
            return s;
        }
    }
    c->segment_id.hi = mc_env_rand(env);
    c->segment_id.lo = mc_env_rand(env);
    mc_member_agent_hooks_t hooks = {.on_need_remount = on_need_remount, .ctx = c};
    mc_member_agent_init(&c->agent, env, c->cfg.master, env->node_name, 0, &hooks);
    mc_sc_tasks_start(c);
    return MC_OK;
}

static void op_release(mc_sc_op_t *op)
{
    mc_store_client_t *c = op->c;
    mc_env_timer_cancel(c->env, &op->guard);
    if (op->data_registered)
        c->env->ops->mem_unregister(c->env, op->data);
    if (op->data != op->ext)
        mc_free(op->data);
    if (op->ext_wait)
        op->ext_wait->waiter = NULL; /* destroy: nobody waits any more */
    mc_free(op->key);
    for (uint32_t i = 0; i < op->wcfg.npref; i++)
        mc_free((void *)op->wpref[i].p);
    mc_free(op);
}

static void parked_release(mc_store_client_t *c, mc_sc_parked_t *p)
{
    if (p->registered)
        c->env->ops->mem_unregister(c->env, p->data);
    if (p->owned)
        mc_free(p->data);
    mc_free(p);
}

/* One completion of an abandoned attempt: the last one frees its buffer,
 * or lets the op that reads into caller memory answer at last. */
static void parked_complete(mc_store_client_t *c, mc_sc_parked_t *p)
{
    MC_ASSERT(p->npending > 0);
    if (--p->npending)
        return;
    mc_sc_op_t *w = p->waiter;
    parked_release(c, p);
    if (w) {
        w->ext_wait = NULL;
        if (w->held)
            mc_sc_op_finish(w, w->held_status);
    }
}

void mc_store_client_destroy(mc_store_client_t *c)
{
    /* The process is going away: pending operations are dropped without
     * callbacks (there is nobody left to tell). */
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&c->ops, &it, &e);)
        op_release(e->value);
    for (uint32_t it = 0; mc_map_next(&c->parked, &it, &e);) {
        mc_sc_parked_t *p = e->value;
        p->waiter = NULL;
        if (--p->npending == 0)
            parked_release(c, p);
    }
    mc_map_free(&c->parked);
    mc_sc_tasks_stop(c);
    mc_sc_segments_free(c);
    mc_sc_buffers_free(c);
    mc_free(c->xq);
    mc_map_free(&c->ops);
    mc_map_free(&c->writes);
    mc_map_free(&c->xfers);
    mc_member_agent_destroy(&c->agent);
    if (c->segment) {
        c->env->ops->mem_unregister(c->env, c->segment);
        segment_free(c->env, c->segment, c->cfg.segment_size);
    }
    mc_wbuf_free(&c->out);
    mc_free(c->addr);
}

/* ---- operations ---- */

mc_sc_op_t *mc_sc_op_new(mc_store_client_t *c, mc_sc_kind_t kind, mc_slice_t key, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_calloc(1, sizeof *op);
    op->c = c;
    op->id = ++c->next_op_id;
    op->kind = kind;
    op->key = mc_memdup(key.p, key.len);
    op->klen = key.len;
    op->done = done;
    op->arg = arg;
    mc_map_putu(&c->ops, op->id, op);
    return op;
}

/* An op whose transfers are still in flight cannot free its buffer (the
 * transport may still copy into it): it leaves the op table but lives on
 * until the last completion, or until destroy. */
void mc_sc_op_finish(mc_sc_op_t *op, mc_status_t s)
{
    mc_store_client_t *c = op->c;
    MC_ASSERT(mc_map_getu(&c->ops, op->id) == op);
    if (op->ext_wait) {
        /* An abandoned read may still write the caller's memory: answer
         * only after its completion (the transport always delivers one). */
        op->held = true;
        op->held_status = s;
        return;
    }
    if (op->kind == MC_SC_PUT && op->ext && op->pending_xfers) {
        /* A borrowed value (put_from) that overdue transfers may still
         * read: answer at their last completion, so the caller does not
         * reuse or free its buffer under them. */
        op->held = true;
        op->held_status = s;
        return;
    }
    mc_map_delu(&c->ops, op->id);
    op->res.status = s;
    if (s == MC_OK && op->kind == MC_SC_GET && !op->size_only) {
        MC_ASSERT(op->pending_xfers == 0);
        if (op->ext && op->data != op->ext)
            memcpy(op->ext, op->data, op->len); /* read through a client buffer */
        if (!op->ext && op->data_registered) {
            /* the caller may take the buffer: no longer the transport's */
            c->env->ops->mem_unregister(c->env, op->data);
            op->data_registered = false;
        }
        op->res.data = op->ext ? op->ext : op->data;
        op->res.own = op->ext ? NULL : &op->data;
        op->res.len = op->len;
        op->res.value = op->len;
    }
    op->done(op->arg, &op->res);
    if (op->kind == MC_SC_PUT)
        mc_sc_put_next(op);
    if (op->pending_xfers == 0) {
        op_release(op);
    } else {
        op->done = NULL;
        mc_map_putu(&c->ops, op->id | (1ULL << 63), op); /* orphan, freed at destroy or last completion */
    }
}

typedef struct rpc_ctx {
    mc_store_client_t *c;
    uint64_t op_id;
    mc_rpc_cb cb;
} rpc_ctx_t;

/* Route an RPC reply to its op only if the op is still alive. */
static void on_rpc_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    rpc_ctx_t *rc = arg;
    mc_sc_op_t *op = mc_map_getu(&rc->c->ops, rc->op_id);
    mc_rpc_cb cb = rc->cb;
    mc_free(rc);
    if (op)
        cb(op, s, hdr, body);
}

mc_status_t mc_sc_replicas_reply(mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body, uint32_t n,
                                 mc_store_replicas_reply_t *rep)
{
    memset(rep, 0, sizeof *rep);
    if (s == MC_OK && (hdr->type != MC_MSG_REPLICAS_REPLY ||
                       mc_store_replicas_reply_decode(hdr->type, body, rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK && rep->status != MC_OK)
        s = rep->status;
    if (s == MC_OK && rep->n != n)
        s = MC_RPC_FAIL;
    return s;
}

void mc_sc_rpc(mc_sc_op_t *op, const mc_store_req_t *q, mc_rpc_cb cb)
{
    mc_store_client_t *c = op->c;
    rpc_ctx_t *rc = mc_malloc(sizeof *rc);
    rc->c = c;
    rc->op_id = op->id;
    rc->cb = cb;
    mc_store_req_encode(&c->out, mc_rpc_next_id(&c->agent.chan), q);
    mc_rpc_call(&c->agent.chan, &c->out, c->cfg.rpc_timeout_ns, on_rpc_reply, rc);
}

void mc_sc_copy_endpoint(char dst[256], mc_slice_t src)
{
    size_t n = src.len < 255 ? src.len : 255;
    if (n)
        memcpy(dst, src.p, n);
    dst[n] = '\0';
}

/* ---- transfers ---- */

static void xfer_complete(mc_sc_op_t *op, mc_status_t s)
{
    MC_ASSERT(op->pending_xfers > 0);
    op->pending_xfers--;
    if (s != MC_OK && op->xfer_status == MC_OK)
        op->xfer_status = s;
    if (op->pending_xfers)
        return;
    mc_env_timer_cancel(op->c->env, &op->guard);
    if (op->held && op->kind == MC_SC_PUT) {
        mc_sc_op_finish(op, op->held_status); /* the last reader of the borrowed value is done */
        return;
    }
    if (op->done && op->overdue)
        return; /* the guard already moved the protocol on (a revoke is in flight) */
    if (!op->done) { /* orphan: its caller was already answered */
        mc_map_delu(&op->c->ops, op->id | (1ULL << 63));
        op_release(op);
        return;
    }
    if (op->kind == MC_SC_PUT)
        mc_sc_put_xfers_done(op);
    else if (op->kind == MC_SC_XFER)
        mc_sc_op_finish(op, op->xfer_status);
    else
        mc_sc_get_xfers_done(op);
}

void mc_store_client_on_xfer(mc_store_client_t *c, uint64_t tag, mc_status_t s)
{
    void *v = mc_map_delu(&c->xfers, tag);
    if (!v) {
        mc_sc_parked_t *p = mc_map_delu(&c->parked, tag);
        if (p)
            parked_complete(c, p);
        return;
    }
    uint64_t op_id = (uint64_t)(uintptr_t)v;
    mc_sc_op_t *op = mc_map_getu(&c->ops, op_id);
    if (!op)
        op = mc_map_getu(&c->ops, op_id | (1ULL << 63));
    if (op)
        xfer_complete(op, s);
}

static void on_guard(void *arg)
{
    mc_sc_op_t *op = arg;
    op->guard = 0;
    if (!op->done)
        return;
    if (op->kind == MC_SC_GET) {
        mc_env_logf(op->c->env, MC_LOG_WARN, "client", "read completion overdue; trying the next replica");
        mc_sc_get_overdue(op);
        return;
    }
    mc_env_logf(op->c->env, MC_LOG_WARN, "client", "transfer completion overdue; failing the operation");
    op->overdue = true;
    if (op->kind == MC_SC_PUT) {
        /* Revoke, as after any failed write: finishing without it left the
         * key "in processing" until put_start_discard_timeout, and a retried
         * put then reported success (OBJECT_ALREADY_EXISTS) without writing. */
        op->xfer_status = MC_TRANSFER_FAIL;
        mc_sc_put_xfers_done(op);
        return;
    }
    mc_sc_op_finish(op, MC_TRANSFER_FAIL);
}

void mc_sc_park_attempt(mc_sc_op_t *op)
{
    mc_store_client_t *c = op->c;
    mc_env_timer_cancel(c->env, &op->guard);
    if (op->pending_xfers == 0)
        return;
    mc_sc_parked_t *p = mc_calloc(1, sizeof *p);
    p->data = op->data;
    p->owned = op->data != op->ext;
    p->registered = op->data_registered;
    p->npending = op->pending_xfers;
    if (!p->owned) {
        MC_ASSERT(!op->ext_wait);
        p->waiter = op;
        op->ext_wait = p;
    }
    uint32_t moved = 0;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&c->xfers, &it, &e);) {
        if ((uint64_t)(uintptr_t)e->value != op->id)
            continue;
        uint64_t tag = mc_map_entry_u64(e);
        mc_map_delu(&c->xfers, tag);
        mc_map_putu(&c->parked, tag, p);
        moved++;
        /* given up: its bytes must not land after our next write there */
        if (c->env->ops->xfer_abandon)
            c->env->ops->xfer_abandon(c->env, tag);
    }
    MC_ASSERT(moved == op->pending_xfers);
    op->pending_xfers = 0;
    op->data = mc_malloc(op->len); /* the next attempt reads into fresh memory */
    op->data_registered = false;
}

typedef struct local_copy {
    mc_store_client_t *c;
    uint64_t tag;
    mc_status_t status;
} local_copy_t;

static void local_copy_done(void *arg)
{
    local_copy_t *lc = arg;
    mc_store_client_on_xfer(lc->c, lc->tag, lc->status);
    mc_free(lc);
}

void mc_sc_xfer(mc_sc_op_t *op, uint8_t opcode, const char *endpoint, uint64_t remote_addr, uint32_t rkey)
{
    mc_store_client_t *c = op->c;
    uint64_t tag = ++c->next_tag;
    mc_map_putu(&c->xfers, tag, (void *)(uintptr_t)op->id);
    op->pending_xfers++;
    if (!op->guard)
        op->guard = mc_env_timer(c->env, c->cfg.xfer_timeout_ns, on_guard, op);
    if (strcmp(endpoint, c->endpoint) == 0) {
        /* Our own segment: plain memcpy, after checking the master's address
         * and key really name it (as a transport would). Completion still
         * comes from the loop. */
        local_copy_t *lc = mc_malloc(sizeof *lc);
        lc->c = c;
        lc->tag = tag;
        lc->status = mc_sc_local_range_check(c, remote_addr, op->len, rkey);
        if (lc->status == MC_OK) {
            uint8_t *seg = (uint8_t *)(uintptr_t)remote_addr;
            if (opcode == MC_XFER_WRITE)
                memcpy(seg, op->data, op->len);
            else
                memcpy(op->data, seg, op->len);
        }
        mc_env_timer(c->env, 0, local_copy_done, lc);
        return;
    }
    /* caller memory inside a buffer registered once is used as it is */
    if (!op->data_registered && !mc_sc_buffer_covered(c, op->data, op->len)) {
        mc_status_t s = c->env->ops->mem_register(c->env, op->data, op->len, NULL);
        if (s != MC_OK && op->data == op->ext) {
            /* caller memory the transport cannot take (e.g. overlapping
             * another registration): read through a client buffer */
            op->data = mc_malloc(op->len);
            s = c->env->ops->mem_register(c->env, op->data, op->len, NULL);
        }
        if (s != MC_OK) {
            mc_env_logf(c->env, MC_LOG_WARN, "client", "register buffer failed: %s", mc_status_name(s));
            local_copy_t *lc = mc_malloc(sizeof *lc);
            *lc = (local_copy_t){c, tag, MC_TRANSFER_FAIL};
            mc_env_timer(c->env, 0, local_copy_done, lc);
            return;
        }
        op->data_registered = true;
    }
    mc_xfer_op_t x = {
        .opcode = opcode,
        .path = 0,
        .local = op->data,
        .peer = endpoint,
        .remote_addr = remote_addr,
        .remote_key = rkey,
        .len = op->len,
        .tag = tag,
    };
    if (c->xplug)
        mc_sc_xfer_defer(c, &x); /* a batch posts its transfers with one call */
    else
        c->env->ops->xfer_post(c->env, &x, 1); /* failures complete through on_xfer_done */
}

/* ---- upcall routing ---- */

void mc_store_client_on_up(mc_store_client_t *c, mc_conn_t conn)
{
    mc_member_agent_on_up(&c->agent, conn);
}

void mc_store_client_on_down(mc_store_client_t *c, mc_conn_t conn, mc_status_t why)
{
    if (mc_member_agent_on_down(&c->agent, conn, why))
        c->remounting = false;
}

void mc_store_client_on_msg(mc_store_client_t *c, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (mc_rpc_open_frame(c->env, conn, frame, len, "client", false, &hdr, &body) &&
        !mc_member_agent_on_frame(&c->agent, conn, &hdr, &body))
        mc_rpc_unexpected(c->env, "client", &hdr);
}

static void bind_up(void *node, mc_conn_t conn) { mc_store_client_on_up(node, conn); }
static void bind_down(void *node, mc_conn_t conn, mc_status_t why) { mc_store_client_on_down(node, conn, why); }
static void bind_accept(void *node, mc_conn_t conn, const char *peer)
{
    (void)node;
    (void)conn;
    (void)peer; /* data arrives through the transport, not control connections */
}
static void bind_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    mc_store_client_on_msg(node, conn, frame, len);
}
static void bind_xfer(void *node, uint64_t tag, mc_status_t s) { mc_store_client_on_xfer(node, tag, s); }

static const mc_env_handlers_t client_handlers = {
    .on_conn_up = bind_up,
    .on_conn_accept = bind_accept,
    .on_conn_down = bind_down,
    .on_msg = bind_msg,
    .on_xfer_done = bind_xfer,
};

void mc_store_client_bind(mc_store_client_t *c)
{
    mc_env_bind(c->env, &client_handlers, c);
}
