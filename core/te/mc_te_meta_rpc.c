/* Metadata over control messages: client backend and server handler. */
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "../wire/mc_msg_te.h"
#include "../wire/mc_msg_types.h"
#include "mc_te_chan.h"
#include "mc_te_meta_rpc.h"
#include "mc_te_status.h"

typedef struct rpc_meta {
    mc_te_meta_t meta; /* first: handed out as the interface */
    mc_env_t *env;
    char *server;
    bool p2p;
    uint64_t timeout_ns;
    mc_map_t chans;   /* addr -> mc_te_chan_t* */
    mc_map_t pending; /* id -> rpc_op_t* */
    uint64_t next_id;
    bool destroying;
    mc_wbuf_t out;
} rpc_meta_t;

typedef struct rpc_op {
    rpc_meta_t *m;
    uint64_t id;
    uint16_t reply_type;
    mc_te_meta_cb cb;
    void *arg;
    bool cancelled;
    mc_timer_t timer; /* local completion (P2P) */
    int local_err;
} rpc_op_t;

static rpc_op_t *op_new(rpc_meta_t *m, uint16_t reply_type, mc_te_meta_cb cb, void *arg)
{
    rpc_op_t *op = mc_calloc(1, sizeof *op);
    op->m = m;
    op->id = ++m->next_id;
    op->reply_type = reply_type;
    op->cb = cb;
    op->arg = arg;
    mc_map_putu(&m->pending, op->id, op);
    return op;
}

static void local_fire(void *arg)
{
    rpc_op_t *op = arg;
    op->timer = 0;
    MC_ASSERT(mc_map_delu(&op->m->pending, op->id) == op);
    mc_te_meta_cb cb = op->cb;
    void *cb_arg = op->arg;
    int err = op->local_err;
    mc_free(op);
    if (cb)
        cb(cb_arg, err, NULL, 0);
}

/* Complete without the network (P2P puts/deletes, rpc_meta gets). */
static uint64_t complete_locally(rpc_meta_t *m, int err, mc_te_meta_cb cb, void *arg)
{
    rpc_op_t *op = op_new(m, 0, cb, arg);
    op->local_err = err;
    op->timer = mc_env_timer(m->env, 0, local_fire, op);
    return op->id;
}

static void rpc_done(void *arg, mc_status_t status, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    rpc_op_t *op = arg;
    rpc_meta_t *m = op->m;
    if (!op->cancelled)
        MC_ASSERT(mc_map_delu(&m->pending, op->id) == op);
    if (op->cancelled || m->destroying) {
        mc_free(op);
        return;
    }
    int err = MC_TE_ERR_METADATA;
    const char *val = NULL;
    size_t len = 0;
    bool found = false;
    if (status == MC_OK && hdr->type == op->reply_type) {
        if (op->reply_type == MC_MSG_TE_META_GET_REPLY) {
            mc_msg_te_meta_get_reply_t g;
            if (mc_msg_te_meta_get_reply_decode(body, &g) == MC_OK) {
                err = g.status;
                if (!err && g.found) {
                    found = true;
                    val = (const char *)g.value.p;
                    len = g.value.len;
                }
            }
        } else {
            mc_msg_te_status_t s;
            if (mc_msg_te_status_decode(body, &s) == MC_OK)
                err = s.status;
        }
    }
    if (err)
        err = MC_TE_ERR_METADATA; /* the interface promises this code for backend failures */
    /* A found value is non-NULL even when empty (NULL means absent). */
    char *copy = NULL;
    if (found && !err) {
        copy = mc_malloc(len + 1);
        if (len)
            memcpy(copy, val, len);
        copy[len] = '\0';
    }
    mc_te_meta_cb cb = op->cb;
    void *cb_arg = op->arg;
    mc_free(op);
    if (cb)
        cb(cb_arg, err, copy, len);
    mc_free(copy);
}

static mc_te_chan_t *chan_get(rpc_meta_t *m, const char *addr)
{
    mc_te_chan_t *c = mc_map_gets(&m->chans, addr);
    if (!c) {
        c = mc_calloc(1, sizeof *c);
        mc_te_chan_init(c, m->env, addr, m->timeout_ns);
        mc_map_puts(&m->chans, addr, c);
    }
    return c;
}

/* P2P: the segment name (last key component) is the peer's address. */
static const char *p2p_addr(const char *key)
{
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    return strchr(name, ':') ? name : NULL;
}

static uint64_t send_req(rpc_meta_t *m, uint16_t type, const char *key, const char *value, size_t len,
                         mc_te_meta_cb cb, void *arg)
{
    const char *addr = m->server;
    if (m->p2p) {
        if (type != MC_MSG_TE_META_GET)
            return complete_locally(m, MC_TE_ERR_OK, cb, arg);
        if (strstr(key, "/rpc_meta/"))
            return complete_locally(m, MC_TE_ERR_OK, cb, arg); /* absent: name is the address */
        addr = p2p_addr(key);
        if (!addr)
            return complete_locally(m, MC_TE_ERR_METADATA, cb, arg);
    }
    uint16_t reply = type == MC_MSG_TE_META_GET   ? MC_MSG_TE_META_GET_REPLY
                     : type == MC_MSG_TE_META_PUT ? MC_MSG_TE_META_PUT_REPLY
                                                  : MC_MSG_TE_META_DEL_REPLY;
    rpc_op_t *op = op_new(m, reply, cb, arg);
    mc_te_chan_t *c = chan_get(m, addr);
    mc_msg_te_meta_req_t q = {mc_slice_cstr(key), mc_slice(value, value ? len : 0)};
    mc_msg_te_meta_req_encode(&m->out, type, mc_te_chan_next_id(c), &q);
    mc_te_chan_call(c, &m->out, rpc_done, op);
    return op->id;
}

static uint64_t r_get(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return send_req(impl, MC_MSG_TE_META_GET, key, NULL, 0, cb, arg);
}

static uint64_t r_put(void *impl, const char *key, const char *value, size_t len, mc_te_meta_cb cb, void *arg)
{
    return send_req(impl, MC_MSG_TE_META_PUT, key, value, len, cb, arg);
}

static uint64_t r_del(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return send_req(impl, MC_MSG_TE_META_DEL, key, NULL, 0, cb, arg);
}

static void r_cancel(void *impl, uint64_t req)
{
    rpc_meta_t *m = impl;
    rpc_op_t *op = mc_map_delu(&m->pending, req);
    if (!op)
        return;
    if (op->timer) {
        mc_env_timer_cancel(m->env, &op->timer);
        mc_free(op);
        return;
    }
    op->cancelled = true; /* freed when its response or failure arrives */
}

static void r_destroy(void *impl)
{
    rpc_meta_t *m = impl;
    m->destroying = true;
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->chans, &it, &e)) {
        mc_te_chan_destroy(e->value); /* in-flight ops end in rpc_done and are freed */
        mc_free(e->value);
    }
    mc_map_free(&m->chans);
    it = 0;
    while (mc_map_next(&m->pending, &it, &e)) {
        rpc_op_t *op = e->value;
        MC_ASSERT(op->timer);
        mc_env_timer_cancel(m->env, &op->timer);
        mc_free(op);
    }
    mc_map_free(&m->pending);
    mc_wbuf_free(&m->out);
    mc_free(m->server);
    mc_free(m);
}

static const mc_te_meta_ops_t rpc_ops = {
    .get = r_get,
    .put = r_put,
    .del = r_del,
    .cancel = r_cancel,
    .destroy = r_destroy,
};

mc_te_meta_t *mc_te_meta_rpc_open(mc_env_t *env, const char *server, uint64_t timeout_ns)
{
    rpc_meta_t *m = mc_calloc(1, sizeof *m);
    m->meta.ops = &rpc_ops;
    m->meta.impl = m;
    m->env = env;
    m->server = mc_strdup(server);
    m->p2p = strcmp(server, MC_TE_P2P_HANDSHAKE) == 0;
    m->timeout_ns = timeout_ns ? timeout_ns : 3 * MC_NS_PER_S; /* upstream HTTP: 3 s */
    mc_map_init(&m->chans);
    mc_map_init(&m->pending);
    mc_wbuf_init(&m->out);
    return &m->meta;
}

bool mc_te_meta_rpc_on_conn_up(mc_te_meta_t *mt, mc_conn_t conn)
{
    rpc_meta_t *m = mt->impl;
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->chans, &it, &e))
        if (mc_te_chan_on_up(e->value, conn))
            return true;
    return false;
}

bool mc_te_meta_rpc_on_conn_down(mc_te_meta_t *mt, mc_conn_t conn, mc_status_t why)
{
    rpc_meta_t *m = mt->impl;
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->chans, &it, &e))
        if (mc_te_chan_on_down(e->value, conn, why))
            return true;
    return false;
}

bool mc_te_meta_rpc_on_frame(mc_te_meta_t *mt, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    rpc_meta_t *m = mt->impl;
    if (!(hdr->flags & MC_WIRE_FLAG_RESPONSE) || hdr->type < MC_MSG_TE_META_GET ||
        hdr->type > MC_MSG_TE_META_DEL_REPLY)
        return false;
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->chans, &it, &e))
        if (mc_te_chan_on_frame(e->value, conn, hdr, body))
            return true;
    return false;
}

/* ---- server ---- */

static void reply_status(mc_env_t *env, mc_conn_t conn, uint16_t type, uint64_t req_id, int st, mc_wbuf_t *out)
{
    mc_msg_te_status_t m = {st};
    mc_msg_te_status_encode(out, type, req_id, &m);
    mc_rpc_reply(env, conn, out);
}

bool mc_te_meta_server_on_frame(mc_te_meta_mem_store_t *s, mc_env_t *env, mc_conn_t conn,
                                const mc_wire_hdr_t *hdr, mc_rbuf_t *body, mc_wbuf_t *out)
{
    if (hdr->flags & MC_WIRE_FLAG_RESPONSE)
        return false;
    mc_msg_te_meta_req_t q;
    uint16_t type = hdr->type;
    if (type != MC_MSG_TE_META_GET && type != MC_MSG_TE_META_PUT && type != MC_MSG_TE_META_DEL)
        return false;
    bool ok = mc_msg_te_meta_req_decode(body, type, &q) == MC_OK;
    char *key = ok ? mc_slice_dup(q.key) : NULL;
    if (type == MC_MSG_TE_META_GET) {
        mc_msg_te_meta_get_reply_t g = {ok ? MC_TE_ERR_OK : MC_TE_ERR_INVALID_ARGUMENT, 0, mc_slice(NULL, 0)};
        size_t len = 0;
        const char *v = ok ? mc_te_meta_mem_store_get(s, key, &len) : NULL;
        if (v) {
            g.found = 1;
            g.value = mc_slice(v, len);
        }
        mc_msg_te_meta_get_reply_encode(out, hdr->req_id, &g);
        mc_rpc_reply(env, conn, out);
    } else if (type == MC_MSG_TE_META_PUT) {
        if (ok)
            mc_te_meta_mem_store_put(s, key, (const char *)q.value.p, q.value.len);
        reply_status(env, conn, MC_MSG_TE_META_PUT_REPLY, hdr->req_id,
                     ok ? MC_TE_ERR_OK : MC_TE_ERR_INVALID_ARGUMENT, out);
    } else {
        if (ok)
            mc_te_meta_mem_store_del(s, key);
        reply_status(env, conn, MC_MSG_TE_META_DEL_REPLY, hdr->req_id,
                     ok ? MC_TE_ERR_OK : MC_TE_ERR_INVALID_ARGUMENT, out);
    }
    mc_free(key);
    return true;
}
