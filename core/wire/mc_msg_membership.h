/* Membership and liveness messages (client <-> master).
 * Upstream equivalents: Ping -> {view_version, ClientStatus}, ReMountSegment
 * (here REGISTER; the store family extends registration with segments). */
#ifndef MC_MSG_MEMBERSHIP_H
#define MC_MSG_MEMBERSHIP_H

#include "mc_wire.h"

typedef struct mc_uuid {
    uint64_t hi, lo;
} mc_uuid_t;

static inline int mc_uuid_eq(mc_uuid_t a, mc_uuid_t b) { return a.hi == b.hi && a.lo == b.lo; }

/* ClientStatus as upstream numbers it. */
enum mc_client_status {
    MC_CLIENT_STATUS_UNDEFINED = 0,
    MC_CLIENT_STATUS_OK = 1,
    MC_CLIENT_STATUS_NEED_REMOUNT = 2,
};

typedef struct mc_msg_ping {
    mc_uuid_t client;
    mc_slice_t name; /* borrowed from the frame when decoded */
    uint64_t seq;
} mc_msg_ping_t;

typedef struct mc_msg_ping_reply {
    int32_t status;
    uint8_t client_status;
    uint64_t view_version;
} mc_msg_ping_reply_t;

typedef struct mc_msg_register {
    mc_uuid_t client;
    mc_slice_t name;
} mc_msg_register_t;

typedef struct mc_msg_register_reply {
    int32_t status;
    uint64_t view_version;
} mc_msg_register_reply_t;

/* Encoders write a complete frame into w. Decoders take the body reader
 * from mc_wire_open and return MC_OK or MC_INVALID_PARAMS (malformed,
 * out-of-range field or trailing bytes). */
void mc_msg_ping_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ping_t *m);
mc_status_t mc_msg_ping_decode(mc_rbuf_t *r, mc_msg_ping_t *m);
void mc_msg_ping_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ping_reply_t *m);
mc_status_t mc_msg_ping_reply_decode(mc_rbuf_t *r, mc_msg_ping_reply_t *m);
void mc_msg_register_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_register_t *m);
mc_status_t mc_msg_register_decode(mc_rbuf_t *r, mc_msg_register_t *m);
void mc_msg_register_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_register_reply_t *m);
mc_status_t mc_msg_register_reply_decode(mc_rbuf_t *r, mc_msg_register_reply_t *m);

#endif
