/* libFuzzer target: the hw data-plane (mc_xport) TCP protocol decoders and
 * the endpoint descriptor parser.
 *
 * MC_FUZZ_REQUIRES: hw/xport
 *
 * The decoders are pure and live in hw/xport; they are compiled into this
 * target directly so it links only mc_core like every fuzz target.
 * Contracts: only the documented results; an accepted request satisfies
 * every invariant the receiver relies on (len in 1..MAX, no wrap, opcode
 * 0/1, fence id and generation both zero or both nonzero, version 3,
 * reserved bytes zero) and re-encodes to the same bytes; an accepted
 * response has a known code (up to STALE); an accepted descriptor formats
 * and re-parses to the same endpoint. Inputs are copied into exact-size
 * heap buffers so ASan/valgrind catch any over-read. */
#include <stdlib.h>
#include <string.h>

#include "../../hw/xport/mc_xport_desc.c"
#include "../../hw/xport/mc_xport_tcp_proto.c"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

static void fuzz_req(const uint8_t *d, size_t n)
{
    mc_xport_req_t rq;
    const char *why = NULL;
    int r = mc_xport_req_decode(d, n, &rq, &why);
    CHECK(r == MC_XPORT_DEC_OK || r == MC_XPORT_DEC_SHORT || r == MC_XPORT_DEC_BAD);
    if (r == MC_XPORT_DEC_SHORT)
        CHECK(n < MC_XPORT_REQ_LEN);
    if (r == MC_XPORT_DEC_BAD)
        CHECK(why && *why);
    if (r != MC_XPORT_DEC_OK)
        return;
    CHECK(rq.opcode <= 1);
    CHECK(rq.len > 0 && rq.len <= MC_XPORT_PROTO_MAX_LEN);
    CHECK(rq.addr <= UINT64_MAX - rq.len);
    CHECK((rq.initiator == 0) == (rq.gen == 0));
    CHECK(d[4] == MC_XPORT_PROTO_VERSION && d[6] == 0 && d[7] == 0);
    CHECK(d[44] == 0 && d[45] == 0 && d[46] == 0 && d[47] == 0);
    uint8_t out[MC_XPORT_REQ_LEN];
    mc_xport_req_encode(&rq, out);
    CHECK(memcmp(out, d, MC_XPORT_REQ_LEN) == 0);
}

static void fuzz_resp(const uint8_t *d, size_t n)
{
    mc_xport_resp_t rs;
    const char *why = NULL;
    int r = mc_xport_resp_decode(d, n, &rs, &why);
    CHECK(r == MC_XPORT_DEC_OK || r == MC_XPORT_DEC_SHORT || r == MC_XPORT_DEC_BAD);
    if (r == MC_XPORT_DEC_BAD)
        CHECK(why && *why);
    if (r != MC_XPORT_DEC_OK)
        return;
    CHECK(rs.code <= MC_XPORT_CODE_STALE);
    uint8_t out[MC_XPORT_RESP_LEN];
    mc_xport_resp_encode(&rs, out);
    CHECK(memcmp(out, d, MC_XPORT_RESP_LEN) == 0);
}

static void fuzz_desc(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return;
    memcpy(s, d, n);
    s[n] = '\0';
    mc_xport_endpoint_t ep, ep2;
    if (mc_xport_desc_parse(s, &ep) == 0) {
        CHECK(ep.data_port != 0 && ep.host[0] && strlen(ep.host) < sizeof ep.host);
        char buf[MC_XPORT_DESC_LEN + MC_XPORT_HOST_LEN];
        mc_xport_desc_format(&ep, buf, sizeof buf);
        CHECK(mc_xport_desc_parse(buf, &ep2) == 0);
        CHECK(strcmp(ep.host, ep2.host) == 0 && ep.data_port == ep2.data_port && ep.shm == ep2.shm);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *d = malloc(size ? size : 1);
    if (!d)
        return 0;
    memcpy(d, data, size);
    fuzz_req(d, size);
    fuzz_resp(d, size);
    fuzz_desc(d, size);
    free(d);
    return 0;
}
