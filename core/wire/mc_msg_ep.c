#include "mc_msg_ep.h"

#include <string.h>

#include "mc_msg_types.h"

bool mc_msg_ep_type_known(uint16_t type) { return type >= MC_MSG_EP_JOIN && type <= MC_MSG_EP_SEGMENT; }

void mc_msg_ep_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ep_t *m)
{
    mc_wire_begin(w, m->type, m->type == MC_MSG_EP_PROPOSE_REPLY ? MC_WIRE_FLAG_RESPONSE : 0, req_id);
    switch (m->type) {
    case MC_MSG_EP_JOIN:
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->inc);
        mc_wbuf_blob(w, m->addr.p, m->addr.len);
        break;
    case MC_MSG_EP_VIEW:
        mc_wbuf_u64(w, m->epoch);
        mc_wbuf_u32(w, m->world);
        mc_wbuf_u64(w, m->active);
        mc_wbuf_u64(w, m->synced);
        for (uint32_t i = 0; i < m->world && i < MC_MSG_EP_MAX_WORLD; i++) {
            mc_wbuf_u64(w, m->peers[i].inc);
            mc_wbuf_blob(w, m->peers[i].addr.p, m->peers[i].addr.len);
        }
        break;
    case MC_MSG_EP_HEARTBEAT:
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->inc);
        mc_wbuf_u64(w, m->epoch);
        break;
    case MC_MSG_EP_DATA:
        mc_wbuf_u64(w, m->op_id);
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->inc);
        mc_wbuf_u32(w, m->len);
        break;
    case MC_MSG_EP_ROW:
        mc_wbuf_u64(w, m->op_id);
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->inc);
        mc_wbuf_u64(w, m->epoch);
        mc_wbuf_u64(w, m->mask);
        mc_wbuf_u64(w, m->active);
        mc_wbuf_u64(w, m->value);
        break;
    case MC_MSG_EP_DECIDE:
        mc_wbuf_u64(w, m->op_id);
        mc_wbuf_u64(w, m->mask);
        mc_wbuf_u64(w, m->epoch);
        break;
    case MC_MSG_EP_PROPOSE:
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->mask);
        mc_wbuf_u8(w, m->status);
        break;
    case MC_MSG_EP_SEGMENT:
        mc_wbuf_u32(w, m->rank);
        mc_wbuf_u64(w, m->inc);
        mc_wbuf_blob(w, m->addr.p, m->addr.len);
        break;
    default: /* MC_MSG_EP_PROPOSE_REPLY */
        mc_wbuf_u8(w, m->status);
        mc_wbuf_u64(w, m->epoch);
        mc_wbuf_u64(w, m->mask);
        mc_wbuf_blob(w, m->addr.p, m->addr.len);
        break;
    }
    mc_wire_finish(w);
}

static uint32_t get_rank(mc_rbuf_t *r)
{
    uint32_t v = mc_rbuf_u32(r);
    if (v >= MC_MSG_EP_MAX_WORLD)
        mc_rbuf_fail(r);
    return v;
}

mc_status_t mc_msg_ep_decode(uint16_t type, mc_rbuf_t *r, mc_msg_ep_t *m)
{
    memset(m, 0, offsetof(mc_msg_ep_t, peers));
    m->type = type;
    switch (type) {
    case MC_MSG_EP_JOIN:
        m->rank = get_rank(r);
        m->inc = mc_rbuf_u64(r);
        m->addr = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        break;
    case MC_MSG_EP_VIEW:
        m->epoch = mc_rbuf_u64(r);
        m->world = mc_rbuf_u32(r);
        if (m->world == 0 || m->world > MC_MSG_EP_MAX_WORLD) {
            mc_rbuf_fail(r);
            break;
        }
        m->active = mc_rbuf_u64(r);
        m->synced = mc_rbuf_u64(r);
        if (m->world < 64 && ((m->active | m->synced) >> m->world))
            mc_rbuf_fail(r);
        for (uint32_t i = 0; i < m->world && mc_rbuf_ok(r); i++) {
            m->peers[i].inc = mc_rbuf_u64(r);
            m->peers[i].addr = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        }
        break;
    case MC_MSG_EP_HEARTBEAT:
        m->rank = get_rank(r);
        m->inc = mc_rbuf_u64(r);
        m->epoch = mc_rbuf_u64(r);
        break;
    case MC_MSG_EP_DATA:
        m->op_id = mc_rbuf_u64(r);
        m->rank = get_rank(r);
        m->inc = mc_rbuf_u64(r);
        m->len = mc_rbuf_u32(r);
        break;
    case MC_MSG_EP_ROW:
        m->op_id = mc_rbuf_u64(r);
        m->rank = get_rank(r);
        m->inc = mc_rbuf_u64(r);
        m->epoch = mc_rbuf_u64(r);
        m->mask = mc_rbuf_u64(r);
        m->active = mc_rbuf_u64(r);
        m->value = mc_rbuf_u64(r);
        break;
    case MC_MSG_EP_DECIDE:
        m->op_id = mc_rbuf_u64(r);
        m->mask = mc_rbuf_u64(r);
        m->epoch = mc_rbuf_u64(r);
        break;
    case MC_MSG_EP_PROPOSE:
        m->rank = get_rank(r);
        m->mask = mc_rbuf_u64(r);
        m->status = mc_rbuf_u8(r);
        if (m->status > 1)
            mc_rbuf_fail(r);
        break;
    case MC_MSG_EP_PROPOSE_REPLY:
        m->status = mc_rbuf_u8(r);
        m->epoch = mc_rbuf_u64(r);
        m->mask = mc_rbuf_u64(r);
        m->addr = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        if (m->status > MC_EP_PROPOSAL_APPLIED_WITH_DROPPED)
            mc_rbuf_fail(r);
        break;
    case MC_MSG_EP_SEGMENT:
        m->rank = get_rank(r);
        m->inc = mc_rbuf_u64(r);
        m->addr = mc_rbuf_blob(r, MC_MSG_EP_MAX_DESC);
        break;
    default: return MC_INVALID_PARAMS;
    }
    return mc_rbuf_done(r) ? MC_OK : MC_INVALID_PARAMS;
}
