/* Verbs control messages: pure encode/decode; see mc_xport_verbs_proto.h. */
#include <string.h>

#include "mc_xport_verbs_proto.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void mc_xport_vmsg_encode(const mc_xport_vmsg_t *m, uint8_t out[MC_XPORT_VMSG_LEN])
{
    memset(out, 0, MC_XPORT_VMSG_LEN);
    memcpy(out, "MCVH", 4);
    out[4] = MC_XPORT_VMSG_VERSION;
    out[5] = m->type;
    put16(out + 6, m->dev);
    put32(out + 8, m->qpn);
    put32(out + 12, m->psn);
    out[16] = m->mtu;
    out[17] = m->port;
    put16(out + 18, m->lid);
    memcpy(out + 20, m->gid, 16);
    put32(out + 36, m->code);
    put64(out + 40, m->addr);
    put64(out + 48, m->len);
    put32(out + 56, m->rkey);
    put32(out + 60, m->key);
}

static int bad(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

int mc_xport_vmsg_decode(const uint8_t *in, size_t n, mc_xport_vmsg_t *m, const char **why)
{
    if (n < MC_XPORT_VMSG_LEN)
        return 1;
    if (memcmp(in, "MCVH", 4) != 0)
        return bad(why, "bad magic");
    if (in[4] != MC_XPORT_VMSG_VERSION)
        return bad(why, "unsupported version");
    mc_xport_vmsg_t v;
    memset(&v, 0, sizeof v);
    v.type = in[5];
    v.dev = get16(in + 6);
    v.qpn = get32(in + 8);
    v.psn = get32(in + 12);
    v.mtu = in[16];
    v.port = in[17];
    v.lid = get16(in + 18);
    memcpy(v.gid, in + 20, 16);
    v.code = get32(in + 36);
    v.addr = get64(in + 40);
    v.len = get64(in + 48);
    v.rkey = get32(in + 56);
    v.key = get32(in + 60);
    if (v.type < MC_XPORT_VMSG_HELLO || v.type > MC_XPORT_VMSG_RKEY_REP)
        return bad(why, "unknown message type");
    if (v.key && v.type != MC_XPORT_VMSG_RKEY_REQ && v.type != MC_XPORT_VMSG_RKEY_REP)
        return bad(why, "non-zero padding");
    if (v.code > MC_XPORT_VCODE_BAD_KEY)
        return bad(why, "unknown code");
    if (v.qpn >= (1u << 24) || v.psn >= (1u << 24))
        return bad(why, "qpn/psn wider than 24 bits");
    int hello = v.type == MC_XPORT_VMSG_HELLO || (v.type == MC_XPORT_VMSG_HELLO_ACK && v.code == 0);
    if (hello && (v.mtu < 1 || v.mtu > 5))
        return bad(why, "bad mtu");
    int range = v.type == MC_XPORT_VMSG_RKEY_REQ || (v.type == MC_XPORT_VMSG_RKEY_REP && v.code == 0);
    if (range && (v.len == 0 || v.addr > UINT64_MAX - v.len))
        return bad(why, "empty or wrapping range");
    *m = v;
    return 0;
}
