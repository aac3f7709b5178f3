/* Notifications and probes over control messages (spec §6, §8 types 2-3),
 * plus the answers a TE gives to inbound TE requests. */
#include <string.h>

#include "../wire/mc_msg_te.h"
#include "../wire/mc_msg_types.h"
#include "mc_te_int.h"

static void send_done(void *arg, mc_status_t status, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    te_send_t *x = arg;
    mc_te_t *te = x->peer->te;
    int err = MC_TE_ERR_SOCKET;
    if (status == MC_OK) {
        mc_msg_te_status_t m;
        if (hdr->type != x->reply_type || mc_msg_te_status_decode(body, &m) != MC_OK)
            err = MC_TE_ERR_MALFORMED_JSON; /* upstream: reply of the wrong shape */
        else
            err = m.status == 0 ? MC_TE_ERR_OK : MC_TE_ERR_METADATA;
    }
    mc_te_done_cb cb = x->cb;
    void *cb_arg = x->arg;
    bool notify = x->is_notify;
    te_peer_t *peer = x->peer;
    mc_free(x);
    if (te->destroying)
        return;
    if (notify && !err)
        te->stats.notifies_sent++;
    if (err)
        mc_env_logf(te->env, MC_LOG_WARN, "te", "%s to %s failed: %s", notify ? "notify" : "probe",
                    mc_te_chan_addr(&peer->chan), mc_te_err_name(err));
    if (cb)
        cb(cb_arg, err);
}

static te_peer_t *peer_get(mc_te_t *te, const char *addr)
{
    te_peer_t *p = mc_map_gets(&te->peers, addr);
    if (p)
        return p;
    p = mc_calloc(1, sizeof *p);
    p->te = te;
    mc_te_chan_init(&p->chan, te->env, addr, te->rpc_timeout_ns);
    mc_map_puts(&te->peers, addr, p);
    return p;
}

static void send_call(te_peer_t *p, uint16_t reply_type, mc_te_done_cb cb, void *arg, bool notify)
{
    te_send_t *x = mc_calloc(1, sizeof *x);
    x->peer = p;
    x->reply_type = reply_type;
    x->cb = cb;
    x->arg = arg;
    x->is_notify = notify;
    mc_te_chan_call(&p->chan, &p->te->out, send_done, x);
}

void te_send_notify_internal(mc_te_t *te, te_seg_t *seg, const char *name, const char *msg,
                             mc_te_done_cb cb, void *arg)
{
    te_peer_t *p = peer_get(te, seg->peer_addr ? seg->peer_addr : "");
    mc_msg_te_notify_t m = {mc_slice_cstr(name), mc_slice_cstr(msg)};
    mc_msg_te_notify_encode(&te->out, mc_te_chan_next_id(&p->chan), &m);
    mc_env_tracef(te->env, "te.notify_send", "segment=%s to=%s name=%s", te->name, seg->name, name);
    send_call(p, MC_MSG_TE_NOTIFY_REPLY, cb, arg, true);
}

int mc_te_send_notify(mc_te_t *te, uint64_t segment_id, const char *name, const char *msg,
                      mc_te_done_cb cb, void *arg)
{
    te_seg_t *seg = te_seg_get(te, segment_id);
    if (!seg || !name || !msg || strlen(name) > MC_WIRE_MAX_NAME || strlen(msg) > MC_MSG_TE_MAX_NOTIFY)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_send_notify_internal(te, seg, name, msg, cb, arg);
    return MC_TE_IN_PROGRESS;
}

int mc_te_probe(mc_te_t *te, uint64_t segment_id, mc_te_done_cb cb, void *arg)
{
    te_seg_t *seg = te_seg_get(te, segment_id);
    if (!seg)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_peer_t *p = peer_get(te, seg->peer_addr ? seg->peer_addr : "");
    mc_msg_te_probe_encode(&te->out, mc_te_chan_next_id(&p->chan));
    send_call(p, MC_MSG_TE_PROBE_REPLY, cb, arg, false);
    return MC_TE_IN_PROGRESS;
}

size_t mc_te_get_notifies(mc_te_t *te, mc_te_notify_t **out)
{
    size_t n = te->notifies.len;
    *out = n ? mc_memdup(te->notifies.data, n * sizeof(mc_te_notify_t)) : NULL;
    mc_vec_clear(&te->notifies);
    return n;
}

void mc_te_notifies_free(mc_te_notify_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mc_free(v[i].name);
        mc_free(v[i].msg);
    }
    mc_free(v);
}

void te_peers_destroy(mc_te_t *te)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&te->peers, &it, &e)) {
        te_peer_t *p = e->value;
        mc_te_chan_destroy(&p->chan); /* pending calls end in send_done: no user callbacks */
        mc_free(p);
    }
    mc_map_free(&te->peers);
    mc_map_init(&te->peers);
}

/* ---- routing ---- */

bool mc_te_on_conn_up(mc_te_t *te, mc_conn_t conn)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&te->peers, &it, &e))
        if (mc_te_chan_on_up(&((te_peer_t *)e->value)->chan, conn))
            return true;
    return false;
}

bool mc_te_on_conn_down(mc_te_t *te, mc_conn_t conn, mc_status_t why)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&te->peers, &it, &e))
        if (mc_te_chan_on_down(&((te_peer_t *)e->value)->chan, conn, why))
            return true;
    return false;
}

static void reply_status(mc_te_t *te, mc_conn_t conn, uint16_t type, uint64_t req_id, int status)
{
    mc_msg_te_status_t m = {status};
    mc_msg_te_status_encode(&te->out, type, req_id, &m);
    mc_rpc_reply(te->env, conn, &te->out);
}

static void on_notify(mc_te_t *te, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_msg_te_notify_t m;
    if (mc_msg_te_notify_decode(body, &m) != MC_OK) {
        reply_status(te, conn, MC_MSG_TE_NOTIFY_REPLY, hdr->req_id, MC_TE_ERR_INVALID_ARGUMENT);
        return;
    }
    mc_te_notify_t *n = mc_vec_push(&te->notifies);
    n->name = mc_slice_dup(m.name);
    n->msg = mc_slice_dup(m.msg);
    te->stats.notifies_received++;
    mc_env_tracef(te->env, "te.notify_recv", "segment=%s name=%s", te->name, n->name);
    reply_status(te, conn, MC_MSG_TE_NOTIFY_REPLY, hdr->req_id, MC_TE_ERR_OK);
}

/* P2P-style metadata: answer gets for our own keys from memory. */
static void on_meta_get(mc_te_t *te, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_msg_te_meta_req_t m;
    mc_msg_te_meta_get_reply_t rep = {MC_TE_ERR_OK, 0, mc_slice(NULL, 0)};
    char *json = NULL;
    if (mc_msg_te_meta_req_decode(body, MC_MSG_TE_META_GET, &m) != MC_OK) {
        rep.status = MC_TE_ERR_INVALID_ARGUMENT;
    } else {
        char *k_seg = mc_te_key_segment(te->cluster_id, te->name);
        char *k_rpc = mc_te_key_rpc_meta(te->cluster_id, te->name);
        if (mc_slice_eq_cstr(m.key, k_seg))
            json = mc_te_seg_desc_encode(&te->local->desc);
        else if (mc_slice_eq_cstr(m.key, k_rpc) && te->addr[0])
            json = te_rpc_meta_json(te);
        mc_free(k_seg);
        mc_free(k_rpc);
    }
    if (json) {
        rep.found = 1;
        rep.value = mc_slice_cstr(json);
    }
    mc_msg_te_meta_get_reply_encode(&te->out, hdr->req_id, &rep);
    mc_rpc_reply(te->env, conn, &te->out);
    mc_free(json);
}

bool mc_te_on_frame(mc_te_t *te, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    if (hdr->type < 500 || hdr->type > 599)
        return false;
    if (hdr->flags & MC_WIRE_FLAG_RESPONSE) {
        uint32_t it = 0;
        mc_map_entry_t *e;
        while (mc_map_next(&te->peers, &it, &e))
            if (mc_te_chan_on_frame(&((te_peer_t *)e->value)->chan, conn, hdr, body))
                return true;
        return false; /* someone else's channel (e.g. a metadata RPC backend) */
    }
    switch (hdr->type) {
    case MC_MSG_TE_NOTIFY: on_notify(te, conn, hdr, body); return true;
    case MC_MSG_TE_PROBE:
        reply_status(te, conn, MC_MSG_TE_PROBE_REPLY, hdr->req_id,
                     mc_msg_te_probe_decode(body) == MC_OK ? MC_TE_ERR_OK : MC_TE_ERR_INVALID_ARGUMENT);
        return true;
    case MC_MSG_TE_META_GET: on_meta_get(te, conn, hdr, body); return true;
    case MC_MSG_TE_META_PUT:
        reply_status(te, conn, MC_MSG_TE_META_PUT_REPLY, hdr->req_id, MC_TE_ERR_NOT_IMPLEMENTED);
        return true;
    case MC_MSG_TE_META_DEL:
        reply_status(te, conn, MC_MSG_TE_META_DEL_REPLY, hdr->req_id, MC_TE_ERR_NOT_IMPLEMENTED);
        return true;
    default: return false;
    }
}
