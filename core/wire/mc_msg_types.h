/* Every control message type, in one list. Families own ranges:
 *   1-99 membership, 100-399 store master, 400-499 store client/dummy,
 *   500-599 transfer engine, 600-699 EP. */
#ifndef MC_MSG_TYPES_H
#define MC_MSG_TYPES_H

#define MC_MSG_TYPE_LIST(X)   \
    X(PING, 1, "ping")         \
    X(PING_REPLY, 2, "ping_reply") \
    X(REGISTER, 3, "register") \
    X(REGISTER_REPLY, 4, "register_reply") \
    X(TE_NOTIFY, 500, "te_notify") \
    X(TE_NOTIFY_REPLY, 501, "te_notify_reply") \
    X(TE_PROBE, 502, "te_probe") \
    X(TE_PROBE_REPLY, 503, "te_probe_reply") \
    X(TE_META_GET, 504, "te_meta_get") \
    X(TE_META_GET_REPLY, 505, "te_meta_get_reply") \
    X(TE_META_PUT, 506, "te_meta_put") \
    X(TE_META_PUT_REPLY, 507, "te_meta_put_reply") \
    X(TE_META_DEL, 508, "te_meta_del") \
    X(TE_META_DEL_REPLY, 509, "te_meta_del_reply") \
    X(EP_JOIN, 600, "ep_join") \
    X(EP_VIEW, 601, "ep_view") \
    X(EP_HEARTBEAT, 602, "ep_heartbeat") \
    X(EP_DATA, 603, "ep_data") \
    X(EP_ROW, 604, "ep_row") \
    X(EP_DECIDE, 605, "ep_decide") \
    X(EP_PROPOSE, 606, "ep_propose") \
    X(EP_PROPOSE_REPLY, 607, "ep_propose_reply") \
    X(EP_SEGMENT, 608, "ep_segment")

enum mc_msg_type {
#define MC_MSG_ENUM(name, value, str) MC_MSG_##name = (value),
    MC_MSG_TYPE_LIST(MC_MSG_ENUM)
#undef MC_MSG_ENUM
};

#endif
