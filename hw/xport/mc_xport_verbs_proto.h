/* The verbs backend's control protocol, spoken over a TCP connection to
 * the peer's handshake port (descriptor key rdma=<port>). Pure
 * encode/decode (no I/O), fuzzed by tests/fuzz/fuzz_xport_verbs.c.
 *
 * Every message is MC_XPORT_VMSG_LEN (64) bytes, little endian:
 *   0  magic "MCVH"        4  u8 version (1)      5  u8 type
 *   6  u16 dev             8  u32 qpn (24 bit)    12 u32 psn (24 bit)
 *   16 u8 mtu (ibv_mtu 1..5)  17 u8 port          18 u16 lid
 *   20 gid[16]             36 u32 code            40 u64 addr
 *   48 u64 len             56 u32 rkey            60 u32 key
 * HELLO (initiator): its QP {dev index, qpn, psn, mtu, port, lid, gid}.
 * HELLO_ACK (responder): its QP on device dev (its own index), code 0; a
 *   non-zero code refuses (no QP could be made) and carries no QP.
 * RKEY_REQ {addr, len, key}: the rkey of the ONE registered region holding
 *   [addr, addr+len) on the responder's device of this connection, whose
 *   registration key (mc_xfer_op_t.remote_key) is key (0: any).
 * RKEY_REP {code 0: addr/len = that region, rkey, key; code 1: rejected
 *   (range); code 3: no region has key (a stale descriptor)}. key is 0 in
 *   other messages.
 * The connection lives as long as the QP: closing it tells the responder
 * to destroy its side. */
#ifndef MC_XPORT_VERBS_PROTO_H
#define MC_XPORT_VERBS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MC_XPORT_VMSG_LEN 64
#define MC_XPORT_VMSG_VERSION 1

enum mc_xport_vmsg_type {
    MC_XPORT_VMSG_HELLO = 1,
    MC_XPORT_VMSG_HELLO_ACK = 2,
    MC_XPORT_VMSG_RKEY_REQ = 3,
    MC_XPORT_VMSG_RKEY_REP = 4,
};

enum {
    MC_XPORT_VCODE_OK = 0,
    MC_XPORT_VCODE_REJECTED = 1,
    MC_XPORT_VCODE_ERROR = 2,
    MC_XPORT_VCODE_BAD_KEY = 3,
};

typedef struct mc_xport_vmsg {
    uint8_t type;
    uint16_t dev;
    uint32_t qpn, psn;
    uint8_t mtu, port;
    uint16_t lid;
    uint8_t gid[16];
    uint32_t code;
    uint64_t addr, len;
    uint32_t rkey;
    uint32_t key; /* registration key (RKEY_REQ/REP) */
} mc_xport_vmsg_t;

void mc_xport_vmsg_encode(const mc_xport_vmsg_t *m, uint8_t out[MC_XPORT_VMSG_LEN]);
/* 0 = ok, 1 = short (n < 64), -1 = malformed (*why says why). An accepted
 * message satisfies: known type and version, qpn/psn < 2^24, HELLO/ACK(ok)
 * mtu in 1..5, RKEY_REQ and RKEY_REP(ok) len > 0 without wrapping, code
 * in 0..3, key 0 outside RKEY_REQ/REP. */
int mc_xport_vmsg_decode(const uint8_t *in, size_t n, mc_xport_vmsg_t *m, const char **why);

#endif
