#include "mc_msg_membership.h"

#include "mc_msg_types.h"

static void put_uuid(mc_wbuf_t *w, mc_uuid_t u)
{
    mc_wbuf_u64(w, u.hi);
    mc_wbuf_u64(w, u.lo);
}

static mc_uuid_t get_uuid(mc_rbuf_t *r)
{
    mc_uuid_t u;
    u.hi = mc_rbuf_u64(r);
    u.lo = mc_rbuf_u64(r);
    return u;
}

static mc_status_t finish(const mc_rbuf_t *r)
{
    return mc_rbuf_done(r) ? MC_OK : MC_INVALID_PARAMS;
}

void mc_msg_ping_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ping_t *m)
{
    mc_wire_begin(w, MC_MSG_PING, 0, req_id);
    put_uuid(w, m->client);
    mc_wbuf_blob(w, m->name.p, m->name.len);
    mc_wbuf_u64(w, m->seq);
    mc_wire_finish(w);
}

mc_status_t mc_msg_ping_decode(mc_rbuf_t *r, mc_msg_ping_t *m)
{
    m->client = get_uuid(r);
    m->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    m->seq = mc_rbuf_u64(r);
    return finish(r);
}

void mc_msg_ping_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ping_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_PING_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wbuf_u8(w, m->client_status);
    mc_wbuf_u64(w, m->view_version);
    mc_wire_finish(w);
}

mc_status_t mc_msg_ping_reply_decode(mc_rbuf_t *r, mc_msg_ping_reply_t *m)
{
    m->status = mc_rbuf_i32(r);
    m->client_status = mc_rbuf_u8(r);
    m->view_version = mc_rbuf_u64(r);
    if (m->client_status > MC_CLIENT_STATUS_NEED_REMOUNT)
        mc_rbuf_fail(r);
    return finish(r);
}

void mc_msg_register_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_register_t *m)
{
    mc_wire_begin(w, MC_MSG_REGISTER, 0, req_id);
    put_uuid(w, m->client);
    mc_wbuf_blob(w, m->name.p, m->name.len);
    mc_wire_finish(w);
}

mc_status_t mc_msg_register_decode(mc_rbuf_t *r, mc_msg_register_t *m)
{
    m->client = get_uuid(r);
    m->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    return finish(r);
}

void mc_msg_register_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_register_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_REGISTER_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wbuf_u64(w, m->view_version);
    mc_wire_finish(w);
}

mc_status_t mc_msg_register_reply_decode(mc_rbuf_t *r, mc_msg_register_reply_t *m)
{
    m->status = mc_rbuf_i32(r);
    m->view_version = mc_rbuf_u64(r);
    return finish(r);
}
