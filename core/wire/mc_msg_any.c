#include "mc_msg_any.h"

#include "mc_msg_ep.h"
#include "mc_msg_membership.h"
#include "mc_msg_store.h"
#include "mc_msg_te.h"
#include "mc_msg_types.h"
#include "../base/mc_mem.h"

mc_status_t mc_msg_validate(const uint8_t *frame, size_t len, const char **why)
{
    mc_wire_hdr_t hdr;
    mc_rbuf_t r;
    const char *dummy;
    if (!why)
        why = &dummy;
    mc_status_t s = mc_wire_open(frame, len, &hdr, &r, why);
    if (s != MC_OK)
        return s;
    union {
        mc_msg_ping_t ping;
        mc_msg_ping_reply_t ping_reply;
        mc_msg_register_t reg;
        mc_msg_register_reply_t reg_reply;
    } u;
    switch (hdr.type) {
    case MC_MSG_PING: s = mc_msg_ping_decode(&r, &u.ping); break;
    case MC_MSG_PING_REPLY: s = mc_msg_ping_reply_decode(&r, &u.ping_reply); break;
    case MC_MSG_REGISTER: s = mc_msg_register_decode(&r, &u.reg); break;
    case MC_MSG_REGISTER_REPLY: s = mc_msg_register_reply_decode(&r, &u.reg_reply); break;
    case MC_MSG_TE_NOTIFY:
    case MC_MSG_TE_NOTIFY_REPLY:
    case MC_MSG_TE_PROBE:
    case MC_MSG_TE_PROBE_REPLY:
    case MC_MSG_TE_META_GET:
    case MC_MSG_TE_META_GET_REPLY:
    case MC_MSG_TE_META_PUT:
    case MC_MSG_TE_META_PUT_REPLY:
    case MC_MSG_TE_META_DEL:
    case MC_MSG_TE_META_DEL_REPLY: s = mc_msg_te_validate(hdr.type, &r); break;
    default:
        if (mc_msg_ep_type_known(hdr.type)) {
            mc_msg_ep_t *ep = mc_malloc(sizeof *ep); /* large (64 peers): not on the stack */
            s = mc_msg_ep_decode(hdr.type, &r, ep);
            mc_free(ep);
            break;
        }
        if (mc_msg_store_type_known(hdr.type)) {
            s = mc_msg_store_validate(hdr.type, &r);
            break;
        }
        *why = "unknown message type";
        return MC_INVALID_PARAMS;
    }
    if (s != MC_OK)
        *why = "malformed message body";
    return s;
}
