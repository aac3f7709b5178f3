/* The TCP data protocol. Pure encode/decode (no I/O), fuzzed by
 * tests/fuzz/fuzz_xport_hdr.c.
 *
 * Per connection, the initiator sends requests back to back (pipelined);
 * the receiver serves them in order and answers each with one response.
 *
 * Request, 48 bytes, little-endian (version 3; version 2 was 40 bytes
 * with 36..39 reserved: its two reserved fields, 48 bits, could not hold a
 * 32-bit fence id and a 32-bit generation, and a 16-bit generation would
 * need wrap-around comparisons; 8 bytes per request are noise):
 *    0 u32 magic 'M','C','X','Q'
 *    4 u8  version (3)
 *    5 u8  opcode (0 READ: remote -> initiator, 1 WRITE: initiator -> remote)
 *    6 u16 reserved, 0
 *    8 u64 len    (1 .. MC_XPORT_PROTO_MAX_LEN; one slice)
 *   16 u64 addr   receiver-local virtual address; addr + len must not wrap
 *   24 u64 req_id initiator's id, echoed in the response
 *   32 u32 key    the region's registration key (mc_xfer_op_t.remote_key);
 *                 0 = none (the range alone decides)
 *   36 u32 initiator  fence id: random, nonzero, drawn per initiator xport
 *                 instance and peer endpoint; 0 = unfenced (raw clients)
 *   40 u32 gen    the initiator's connection generation towards this
 *                 peer (>= 1; 0 iff initiator is 0)
 *   44 u32 reserved, 0
 *  WRITE: followed by len payload bytes.
 *
 * Response, 16 bytes, little-endian:
 *    0 u32 magic 'M','C','X','R'
 *    4 u32 code   0 OK, 1 REJECTED (range not inside one registered region;
 *                 nothing touched), 2 ERROR (receiver-side failure),
 *                 3 BAD_KEY (no region has the key: a stale descriptor of
 *                 an earlier registration or process; nothing touched),
 *                 4 STALE (gen is older than the newest generation the
 *                 receiver has seen from this initiator id: a request of a
 *                 connection the initiator already gave up on; nothing
 *                 touched, a WRITE's payload is drained)
 *    8 u64 req_id
 *  READ + OK: followed by len bytes. A WRITE's response is sent only after
 *  all len bytes were stored at addr (so OK means "landed").
 *
 * Fence (why initiator/gen exist). A WRITE that timed out at the initiator
 * may still sit in the receiver's socket buffer (receiver stopped or
 * stalled); the initiator closed that connection and may already have
 * written the same range over a new one. The initiator bumps its
 * generation for a peer whenever a connection to it fails or times out
 * (and retires every connection of the old generation); the receiver
 * keeps, per initiator id, the newest generation seen and refuses older
 * ones with STALE. A newer generation is applied only once no WRITE of an
 * older one from the same initiator is still landing (check-and-apply is
 * atomic per initiator); requests of one generation run concurrently.
 *
 * Anything else (bad magic/version/opcode/reserved bits, len 0 or too big,
 * wrapping range, initiator/gen not both zero or both nonzero, response
 * code unknown, response id out of order) is a protocol error: the
 * reader logs it and closes the connection; every op on it fails. */
#ifndef MC_XPORT_PROTO_H
#define MC_XPORT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MC_XPORT_REQ_LEN 48
#define MC_XPORT_RESP_LEN 16
#define MC_XPORT_REQ_MAGIC 0x5158434Du  /* "MCXQ" */
#define MC_XPORT_RESP_MAGIC 0x5258434Du /* "MCXR" */
#define MC_XPORT_PROTO_VERSION 3
#define MC_XPORT_PROTO_MAX_LEN (64ull << 20)

enum mc_xport_code {
    MC_XPORT_CODE_OK = 0,
    MC_XPORT_CODE_REJECTED = 1,
    MC_XPORT_CODE_ERROR = 2,
    MC_XPORT_CODE_BAD_KEY = 3,
    MC_XPORT_CODE_STALE = 4,
};

/* Decoder results. */
enum {
    MC_XPORT_DEC_OK = 0,
    MC_XPORT_DEC_SHORT = 1, /* need more bytes */
    MC_XPORT_DEC_BAD = -1,  /* malformed: close the connection */
};

typedef struct mc_xport_req {
    uint8_t opcode;
    uint64_t len;
    uint64_t addr;
    uint64_t req_id;
    uint32_t key;
    uint32_t initiator; /* fence id; 0 = unfenced */
    uint32_t gen;       /* connection generation; 0 iff initiator is 0 */
} mc_xport_req_t;

typedef struct mc_xport_resp {
    uint32_t code;
    uint64_t req_id;
} mc_xport_resp_t;

void mc_xport_req_encode(const mc_xport_req_t *r, uint8_t out[MC_XPORT_REQ_LEN]);
/* Decode the first MC_XPORT_REQ_LEN bytes of buf. *why (may be NULL) gets
 * a static reason on MC_XPORT_DEC_BAD. */
int mc_xport_req_decode(const uint8_t *buf, size_t n, mc_xport_req_t *out, const char **why);

void mc_xport_resp_encode(const mc_xport_resp_t *r, uint8_t out[MC_XPORT_RESP_LEN]);
int mc_xport_resp_decode(const uint8_t *buf, size_t n, mc_xport_resp_t *out, const char **why);

#endif
