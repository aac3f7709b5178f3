/* Control-message framing. Every message, on the simulated network or a
 * real socket, is one frame:
 *
 *   off size field
 *     0    2 magic     0x434d ("MC" little-endian)
 *     2    1 version   MC_WIRE_VERSION
 *     3    1 flags     bit0 = response
 *     4    2 type      enum mc_msg_type
 *     6    2 reserved  must be 0
 *     8    8 req_id    matches a response to its request
 *    16    4 body_len  <= MC_WIRE_MAX_BODY
 *    20    . body      message-specific, encoded with mc_wbuf
 *
 * All integers little-endian. A decoder never trusts a length it has not
 * checked against what it holds. */
#ifndef MC_WIRE_H
#define MC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/mc_bytes.h"
#include "../base/mc_status.h"

#define MC_WIRE_MAGIC 0x434d
#define MC_WIRE_VERSION 1
#define MC_WIRE_HDR_LEN 20
#define MC_WIRE_MAX_BODY (64u << 20)
#define MC_WIRE_FLAG_RESPONSE 0x01

/* Limits every decoder applies to strings and lists. */
#define MC_WIRE_MAX_NAME 1024        /* node names, addresses */
#define MC_WIRE_MAX_KEY (1u << 20)   /* object keys (upstream enforces none; we cap at 1 MiB) */

typedef struct mc_wire_hdr {
    uint8_t version;
    uint8_t flags;
    uint16_t type;
    uint64_t req_id;
    uint32_t body_len;
} mc_wire_hdr_t;

/* Start a frame in w (w is reset); finish patches body_len. */
void mc_wire_begin(mc_wbuf_t *w, uint16_t type, uint8_t flags, uint64_t req_id);
void mc_wire_finish(mc_wbuf_t *w);

/* Parse the header at the start of buf.
 *   MC_OK           header valid; the frame is MC_WIRE_HDR_LEN + body_len bytes
 *   MC_IN_PROGRESS  fewer than MC_WIRE_HDR_LEN bytes so far (stream: read more)
 *   MC_INVALID_PARAMS malformed (bad magic, version, reserved, length);
 *                   *why says which. A stream must be closed. */
mc_status_t mc_wire_parse_hdr(const uint8_t *buf, size_t len, mc_wire_hdr_t *hdr, const char **why);

/* Validate a complete frame and position r at its body. */
mc_status_t mc_wire_open(const uint8_t *frame, size_t len, mc_wire_hdr_t *hdr, mc_rbuf_t *r,
                         const char **why);

/* Message type name for logs and traces ("ping", ...); "unknown" otherwise. */
const char *mc_msg_type_name(uint16_t type);

#endif
