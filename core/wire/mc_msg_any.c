#include "mc_msg_any.h"

#include "mc_msg_membership.h"
#include "mc_msg_types.h"

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
    default:
        *why = "unknown message type";
        return MC_INVALID_PARAMS;
    }
    if (s != MC_OK)
        *why = "malformed message body";
    return s;
}
