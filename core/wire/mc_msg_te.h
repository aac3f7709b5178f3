/* Transfer-engine control messages (types 500-599).
 *
 *  TE_NOTIFY        {name, msg}                 upstream handshake type 2
 *  TE_NOTIFY_REPLY  {status}                    0 = appended ("success")
 *  TE_PROBE         {}                          upstream handshake type 3
 *  TE_PROBE_REPLY   {status}
 *  TE_META_GET      {key}                       metadata KV over control
 *  TE_META_GET_REPLY{status, found, value}      messages (sim metadata
 *  TE_META_PUT      {key, value}                server, P2P descriptor
 *  TE_META_PUT_REPLY{status}                    fetch)
 *  TE_META_DEL      {key}
 *  TE_META_DEL_REPLY{status}
 *
 * status fields carry MC_TE_ERR_* values (core/te/mc_te_status.h).
 * Strings are u32-length blobs, borrowed from the frame when decoded. */
#ifndef MC_MSG_TE_H
#define MC_MSG_TE_H

#include "mc_wire.h"

#define MC_MSG_TE_MAX_NOTIFY (1u << 20) /* upstream MC_HANDSHAKE_MAX_LENGTH default */
#define MC_MSG_TE_MAX_VALUE (16u << 20)

typedef struct mc_msg_te_notify {
    mc_slice_t name;
    mc_slice_t msg;
} mc_msg_te_notify_t;

typedef struct mc_msg_te_status {
    int32_t status;
} mc_msg_te_status_t;

typedef struct mc_msg_te_meta_req {
    mc_slice_t key;
    mc_slice_t value; /* PUT only */
} mc_msg_te_meta_req_t;

typedef struct mc_msg_te_meta_get_reply {
    int32_t status;
    uint8_t found; /* 0 or 1 */
    mc_slice_t value;
} mc_msg_te_meta_get_reply_t;

/* Encoders write a complete frame into w; decoders take the body reader
 * from mc_wire_open and return MC_OK or MC_INVALID_PARAMS. */
void mc_msg_te_notify_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_te_notify_t *m);
mc_status_t mc_msg_te_notify_decode(mc_rbuf_t *r, mc_msg_te_notify_t *m);
/* type: MC_MSG_TE_NOTIFY_REPLY, _PROBE_REPLY, _META_PUT_REPLY or _META_DEL_REPLY. */
void mc_msg_te_status_encode(mc_wbuf_t *w, uint16_t type, uint64_t req_id, const mc_msg_te_status_t *m);
mc_status_t mc_msg_te_status_decode(mc_rbuf_t *r, mc_msg_te_status_t *m);
void mc_msg_te_probe_encode(mc_wbuf_t *w, uint64_t req_id);
mc_status_t mc_msg_te_probe_decode(mc_rbuf_t *r);
/* type: MC_MSG_TE_META_GET, _PUT (value used) or _DEL. */
void mc_msg_te_meta_req_encode(mc_wbuf_t *w, uint16_t type, uint64_t req_id, const mc_msg_te_meta_req_t *m);
mc_status_t mc_msg_te_meta_req_decode(mc_rbuf_t *r, uint16_t type, mc_msg_te_meta_req_t *m);
void mc_msg_te_meta_get_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_te_meta_get_reply_t *m);
mc_status_t mc_msg_te_meta_get_reply_decode(mc_rbuf_t *r, mc_msg_te_meta_get_reply_t *m);

/* Validate a body of any TE message type (for mc_msg_validate). Returns
 * MC_INVALID_PARAMS for a type outside the family. */
mc_status_t mc_msg_te_validate(uint16_t type, mc_rbuf_t *r);

#endif
