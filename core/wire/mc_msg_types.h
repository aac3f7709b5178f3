/* Every control message type, in one list. Families own ranges:
 *   1-99 membership, 100-399 store master, 400-499 store client/dummy,
 *   500-599 transfer engine, 600-699 EP. */
#ifndef MC_MSG_TYPES_H
#define MC_MSG_TYPES_H

#define MC_MSG_TYPE_LIST(X)   \
    X(PING, 1, "ping")         \
    X(PING_REPLY, 2, "ping_reply") \
    X(REGISTER, 3, "register") \
    X(REGISTER_REPLY, 4, "register_reply")

enum mc_msg_type {
#define MC_MSG_ENUM(name, value, str) MC_MSG_##name = (value),
    MC_MSG_TYPE_LIST(MC_MSG_ENUM)
#undef MC_MSG_ENUM
};

#endif
