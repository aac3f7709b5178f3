#include "mc_msg_te.h"

#include "mc_msg_types.h"

static mc_status_t finish(const mc_rbuf_t *r)
{
    return mc_rbuf_done(r) ? MC_OK : MC_INVALID_PARAMS;
}

void mc_msg_te_notify_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_te_notify_t *m)
{
    mc_wire_begin(w, MC_MSG_TE_NOTIFY, 0, req_id);
    mc_wbuf_blob(w, m->name.p, m->name.len);
    mc_wbuf_blob(w, m->msg.p, m->msg.len);
    mc_wire_finish(w);
}

mc_status_t mc_msg_te_notify_decode(mc_rbuf_t *r, mc_msg_te_notify_t *m)
{
    m->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    m->msg = mc_rbuf_blob(r, MC_MSG_TE_MAX_NOTIFY);
    return finish(r);
}

void mc_msg_te_status_encode(mc_wbuf_t *w, uint16_t type, uint64_t req_id, const mc_msg_te_status_t *m)
{
    mc_wire_begin(w, type, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wire_finish(w);
}

mc_status_t mc_msg_te_status_decode(mc_rbuf_t *r, mc_msg_te_status_t *m)
{
    m->status = mc_rbuf_i32(r);
    /* TE error codes are 0 or small negatives (down to -303). */
    if (m->status > 0 || m->status < -1000)
        mc_rbuf_fail(r);
    return finish(r);
}

void mc_msg_te_probe_encode(mc_wbuf_t *w, uint64_t req_id)
{
    mc_wire_begin(w, MC_MSG_TE_PROBE, 0, req_id);
    mc_wire_finish(w);
}

mc_status_t mc_msg_te_probe_decode(mc_rbuf_t *r) { return finish(r); }

void mc_msg_te_meta_req_encode(mc_wbuf_t *w, uint16_t type, uint64_t req_id, const mc_msg_te_meta_req_t *m)
{
    mc_wire_begin(w, type, 0, req_id);
    mc_wbuf_blob(w, m->key.p, m->key.len);
    if (type == MC_MSG_TE_META_PUT)
        mc_wbuf_blob(w, m->value.p, m->value.len);
    mc_wire_finish(w);
}

mc_status_t mc_msg_te_meta_req_decode(mc_rbuf_t *r, uint16_t type, mc_msg_te_meta_req_t *m)
{
    m->key = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
    m->value = mc_slice(NULL, 0);
    if (type == MC_MSG_TE_META_PUT)
        m->value = mc_rbuf_blob(r, MC_MSG_TE_MAX_VALUE);
    if (m->key.len == 0)
        mc_rbuf_fail(r);
    return finish(r);
}

void mc_msg_te_meta_get_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_te_meta_get_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_TE_META_GET_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wbuf_u8(w, m->found);
    mc_wbuf_blob(w, m->value.p, m->value.len);
    mc_wire_finish(w);
}

mc_status_t mc_msg_te_meta_get_reply_decode(mc_rbuf_t *r, mc_msg_te_meta_get_reply_t *m)
{
    m->status = mc_rbuf_i32(r);
    m->found = mc_rbuf_u8(r);
    m->value = mc_rbuf_blob(r, MC_MSG_TE_MAX_VALUE);
    if (m->found > 1 || m->status > 0 || m->status < -1000 || (!m->found && m->value.len))
        mc_rbuf_fail(r);
    return finish(r);
}

mc_status_t mc_msg_te_validate(uint16_t type, mc_rbuf_t *r)
{
    switch (type) {
    case MC_MSG_TE_NOTIFY: {
        mc_msg_te_notify_t m;
        return mc_msg_te_notify_decode(r, &m);
    }
    case MC_MSG_TE_NOTIFY_REPLY:
    case MC_MSG_TE_PROBE_REPLY:
    case MC_MSG_TE_META_PUT_REPLY:
    case MC_MSG_TE_META_DEL_REPLY: {
        mc_msg_te_status_t m;
        return mc_msg_te_status_decode(r, &m);
    }
    case MC_MSG_TE_PROBE: return mc_msg_te_probe_decode(r);
    case MC_MSG_TE_META_GET:
    case MC_MSG_TE_META_PUT:
    case MC_MSG_TE_META_DEL: {
        mc_msg_te_meta_req_t m;
        return mc_msg_te_meta_req_decode(r, type, &m);
    }
    case MC_MSG_TE_META_GET_REPLY: {
        mc_msg_te_meta_get_reply_t m;
        return mc_msg_te_meta_get_reply_decode(r, &m);
    }
    default: return MC_INVALID_PARAMS;
    }
}
