/* TCP data-protocol headers: pure encode/decode; see mc_xport_proto.h. */
#include "mc_xport_proto.h"

static void mc_xport_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void mc_xport_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t mc_xport_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t mc_xport_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void mc_xport_req_encode(const mc_xport_req_t *r, uint8_t out[MC_XPORT_REQ_LEN])
{
    mc_xport_put_u32(out, MC_XPORT_REQ_MAGIC);
    out[4] = MC_XPORT_PROTO_VERSION;
    out[5] = r->opcode;
    out[6] = 0;
    out[7] = 0;
    mc_xport_put_u64(out + 8, r->len);
    mc_xport_put_u64(out + 16, r->addr);
    mc_xport_put_u64(out + 24, r->req_id);
    mc_xport_put_u32(out + 32, r->key);
    mc_xport_put_u32(out + 36, r->initiator);
    mc_xport_put_u32(out + 40, r->gen);
    mc_xport_put_u32(out + 44, 0);
}

static int mc_xport_bad(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return MC_XPORT_DEC_BAD;
}

int mc_xport_req_decode(const uint8_t *buf, size_t n, mc_xport_req_t *out, const char **why)
{
    if (n < MC_XPORT_REQ_LEN)
        return MC_XPORT_DEC_SHORT;
    if (mc_xport_get_u32(buf) != MC_XPORT_REQ_MAGIC)
        return mc_xport_bad(why, "bad request magic");
    if (buf[4] != MC_XPORT_PROTO_VERSION)
        return mc_xport_bad(why, "unsupported protocol version");
    if (buf[5] > 1)
        return mc_xport_bad(why, "unknown opcode");
    if (buf[6] || buf[7] || mc_xport_get_u32(buf + 44))
        return mc_xport_bad(why, "reserved bits set");
    uint32_t initiator = mc_xport_get_u32(buf + 36);
    uint32_t gen = mc_xport_get_u32(buf + 40);
    if ((initiator == 0) != (gen == 0))
        return mc_xport_bad(why, "fence id and generation must both be set or both be 0");
    uint64_t len = mc_xport_get_u64(buf + 8);
    uint64_t addr = mc_xport_get_u64(buf + 16);
    if (len == 0)
        return mc_xport_bad(why, "zero length");
    if (len > MC_XPORT_PROTO_MAX_LEN)
        return mc_xport_bad(why, "length above the slice limit");
    if (addr > UINT64_MAX - len)
        return mc_xport_bad(why, "address range wraps");
    out->opcode = buf[5];
    out->len = len;
    out->addr = addr;
    out->req_id = mc_xport_get_u64(buf + 24);
    out->key = mc_xport_get_u32(buf + 32);
    out->initiator = initiator;
    out->gen = gen;
    return MC_XPORT_DEC_OK;
}

void mc_xport_resp_encode(const mc_xport_resp_t *r, uint8_t out[MC_XPORT_RESP_LEN])
{
    mc_xport_put_u32(out, MC_XPORT_RESP_MAGIC);
    mc_xport_put_u32(out + 4, r->code);
    mc_xport_put_u64(out + 8, r->req_id);
}

int mc_xport_resp_decode(const uint8_t *buf, size_t n, mc_xport_resp_t *out, const char **why)
{
    if (n < MC_XPORT_RESP_LEN)
        return MC_XPORT_DEC_SHORT;
    if (mc_xport_get_u32(buf) != MC_XPORT_RESP_MAGIC)
        return mc_xport_bad(why, "bad response magic");
    uint32_t code = mc_xport_get_u32(buf + 4);
    if (code > MC_XPORT_CODE_STALE)
        return mc_xport_bad(why, "unknown response code");
    out->code = code;
    out->req_id = mc_xport_get_u64(buf + 8);
    return MC_XPORT_DEC_OK;
}
