#include "mc_wire.h"

#include "../base/mc_assert.h"
#include "mc_msg_store.h"
#include "mc_msg_types.h"

void mc_wire_begin(mc_wbuf_t *w, uint16_t type, uint8_t flags, uint64_t req_id)
{
    mc_wbuf_reset(w);
    mc_wbuf_u16(w, MC_WIRE_MAGIC);
    mc_wbuf_u8(w, MC_WIRE_VERSION);
    mc_wbuf_u8(w, flags);
    mc_wbuf_u16(w, type);
    mc_wbuf_u16(w, 0);
    mc_wbuf_u64(w, req_id);
    mc_wbuf_u32(w, 0);
}

void mc_wire_finish(mc_wbuf_t *w)
{
    MC_ASSERT(w->len >= MC_WIRE_HDR_LEN);
    size_t body = w->len - MC_WIRE_HDR_LEN;
    MC_ASSERT(body <= MC_WIRE_MAX_BODY);
    mc_wbuf_patch_u32(w, 16, (uint32_t)body);
}

mc_status_t mc_wire_parse_hdr(const uint8_t *buf, size_t len, mc_wire_hdr_t *hdr, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (len < MC_WIRE_HDR_LEN)
        return MC_IN_PROGRESS;
    mc_rbuf_t r;
    mc_rbuf_init(&r, buf, MC_WIRE_HDR_LEN);
    uint16_t magic = mc_rbuf_u16(&r);
    hdr->version = mc_rbuf_u8(&r);
    hdr->flags = mc_rbuf_u8(&r);
    hdr->type = mc_rbuf_u16(&r);
    uint16_t reserved = mc_rbuf_u16(&r);
    hdr->req_id = mc_rbuf_u64(&r);
    hdr->body_len = mc_rbuf_u32(&r);
    MC_ASSERT(mc_rbuf_done(&r));
    if (magic != MC_WIRE_MAGIC) {
        *why = "bad magic (not a mooncake frame)";
        return MC_INVALID_PARAMS;
    }
    if (hdr->version != MC_WIRE_VERSION) {
        *why = "unsupported wire version";
        return MC_INVALID_PARAMS;
    }
    if (reserved != 0 || (hdr->flags & ~MC_WIRE_FLAG_RESPONSE)) {
        *why = "reserved header bits set";
        return MC_INVALID_PARAMS;
    }
    if (hdr->body_len > MC_WIRE_MAX_BODY) {
        *why = "body length exceeds the 64 MiB limit";
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

mc_status_t mc_wire_open(const uint8_t *frame, size_t len, mc_wire_hdr_t *hdr, mc_rbuf_t *r,
                         const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    mc_status_t s = mc_wire_parse_hdr(frame, len, hdr, why);
    if (s == MC_IN_PROGRESS) {
        *why = "truncated header";
        return MC_INVALID_PARAMS;
    }
    if (s != MC_OK)
        return s;
    if ((size_t)MC_WIRE_HDR_LEN + hdr->body_len != len) {
        *why = "frame length does not match body_len";
        return MC_INVALID_PARAMS;
    }
    mc_rbuf_init(r, frame + MC_WIRE_HDR_LEN, hdr->body_len);
    return MC_OK;
}

const char *mc_msg_type_name(uint16_t type)
{
    switch (type) {
#define MC_MSG_CASE(name, value, str) case (value): return str;
        MC_MSG_TYPE_LIST(MC_MSG_CASE)
#undef MC_MSG_CASE
    }
    return mc_msg_store_type_name(type);
}
