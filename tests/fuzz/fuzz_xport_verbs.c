/* libFuzzer target: the verbs backend's control messages (handshake and
 * rkey lookups, hw/xport/mc_xport_verbs_proto.c).
 *
 * MC_FUZZ_REQUIRES: hw/xport
 *
 * Contracts: only the documented results; an accepted message satisfies
 * every invariant the backend relies on (known type, 24-bit qpn/psn, mtu
 * 1..5 where a QP is described, non-empty non-wrapping ranges) and
 * re-encodes to the same 64 bytes. Inputs are copied into exact-size heap
 * buffers so ASan/valgrind catch any over-read. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../hw/xport/mc_xport_verbs_proto.c"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *d = malloc(size ? size : 1);
    if (!d)
        return 0;
    memcpy(d, data, size);
    mc_xport_vmsg_t m;
    const char *why = NULL;
    int r = mc_xport_vmsg_decode(d, size, &m, &why);
    CHECK(r == 0 || r == 1 || r == -1);
    if (r == 1)
        CHECK(size < MC_XPORT_VMSG_LEN);
    if (r == -1)
        CHECK(why && *why);
    if (r == 0) {
        CHECK(m.type >= MC_XPORT_VMSG_HELLO && m.type <= MC_XPORT_VMSG_RKEY_REP);
        CHECK(m.qpn < (1u << 24) && m.psn < (1u << 24));
        CHECK(m.code <= MC_XPORT_VCODE_BAD_KEY);
        if (m.type == MC_XPORT_VMSG_HELLO || (m.type == MC_XPORT_VMSG_HELLO_ACK && m.code == 0))
            CHECK(m.mtu >= 1 && m.mtu <= 5);
        if (m.type == MC_XPORT_VMSG_RKEY_REQ || (m.type == MC_XPORT_VMSG_RKEY_REP && m.code == 0))
            CHECK(m.len > 0 && m.addr <= UINT64_MAX - m.len);
        uint8_t out[MC_XPORT_VMSG_LEN];
        mc_xport_vmsg_encode(&m, out);
        CHECK(memcmp(out, d, MC_XPORT_VMSG_LEN) == 0);
    }
    free(d);
    return 0;
}
