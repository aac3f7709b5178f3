/* libFuzzer target: the EP decoders of bytes from peers.
 *
 *  - control messages (types 600-608, mc_msg_ep_decode): byte 0 picks the
 *    type, the rest is the body. Only MC_OK / MC_INVALID_PARAMS; an
 *    accepted body re-encodes to exactly the same bytes (the codec is
 *    canonical), and a whole frame of it passes mc_msg_validate.
 *  - data blocks a peer TE-writes into our receive slots: the same bytes
 *    as a dispatch block (mc_ep_dispatch_unpack) and as a combine block
 *    (mc_ep_combine_unpack). Either MC_OK with every received row inside
 *    its bounds, or MC_INVALID_PARAMS with the outputs zeroed.
 * Built-in seeds (one valid message per type, a valid dispatch block) run
 * on the first call, so the gcc replay build covers the accept paths. */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "ep/mc_ep.h"
#include "wire/mc_msg_any.h"
#include "wire/mc_msg_ep.h"
#include "wire/mc_msg_types.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

static void fuzz_msg(uint16_t type, const uint8_t *body, size_t n)
{
    mc_msg_ep_t *m = mc_malloc(sizeof *m);
    mc_rbuf_t r;
    mc_rbuf_init(&r, body, n);
    mc_status_t st = mc_msg_ep_decode(type, &r, m);
    CHECK(st == MC_OK || st == MC_INVALID_PARAMS);
    if (st == MC_OK) {
        mc_wbuf_t w;
        mc_wbuf_init(&w);
        mc_msg_ep_encode(&w, 5, m);
        CHECK(w.len == MC_WIRE_HDR_LEN + n);
        CHECK(memcmp(w.data + MC_WIRE_HDR_LEN, body, n) == 0);
        CHECK(mc_msg_validate(w.data, w.len, NULL) == MC_OK);
        mc_wbuf_free(&w);
    }
    mc_free(m);
}

static const mc_ep_moe_cfg_t cfg = {.num_ranks = 2, .num_experts = 4, .hidden = 2, .topk = 3, .max_tokens = 4};

static void fuzz_blocks(const uint8_t *data, size_t n)
{
    const uint8_t *blocks[2] = {data, data};
    size_t lens[2] = {n, n / 2};
    mc_ep_dispatch_out_t o;
    mc_ep_dispatch_out_init(&o, &cfg);
    mc_status_t st = mc_ep_dispatch_unpack(&cfg, 0, blocks, lens, 3, &o);
    CHECK(st == MC_OK || st == MC_INVALID_PARAMS);
    int32_t total = 0;
    for (uint32_t e = 0; e < o.local_experts; e++) {
        CHECK(o.recv_count[e] >= 0 && (uint32_t)o.recv_count[e] <= o.rows_cap);
        total += o.recv_count[e];
        for (int32_t i = 0; i < o.recv_count[e]; i++) {
            size_t idx = (size_t)e * o.rows_cap + (size_t)i;
            CHECK(o.src_info[idx] >= 0 && (uint32_t)o.src_info[idx] < cfg.max_tokens);
            CHECK(o.src_rank[idx] == 0 || o.src_rank[idx] == 1);
        }
    }
    if (st != MC_OK)
        CHECK(total == 0);
    mc_ep_dispatch_out_free(&o);
    int64_t idx[12] = {0, 1, 2, 3, 0, -1, 1, 1, 2, 3, 3, 0};
    float w[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, out[8];
    st = mc_ep_combine_unpack(&cfg, 0, idx, w, 4, blocks, lens, 3, out);
    CHECK(st == MC_OK || st == MC_INVALID_PARAMS);
    if (st != MC_OK)
        for (int i = 0; i < 8; i++)
            CHECK(out[i] == 0);
}

static void seeds(void)
{
    for (uint16_t t = MC_MSG_EP_JOIN; t <= MC_MSG_EP_SEGMENT; t++) {
        mc_msg_ep_t *m = mc_calloc(1, sizeof *m);
        m->type = t;
        m->rank = 1;
        m->world = 2;
        m->active = 3;
        m->status = 1;
        m->addr = mc_slice_cstr("r1:1");
        m->peers[0].addr = mc_slice_cstr("r0:1");
        mc_wbuf_t w;
        mc_wbuf_init(&w);
        mc_msg_ep_encode(&w, 1, m);
        fuzz_msg(t, w.data + MC_WIRE_HDR_LEN, w.len - MC_WIRE_HDR_LEN);
        mc_wbuf_free(&w);
        mc_free(m);
    }
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t idx[12] = {0, 1, 2, 3, 0, -1, 1, 1, 2, 3, 3, 0};
    uint8_t blk[512];
    size_t n = mc_ep_dispatch_pack(&cfg, 0, x, idx, 4, blk);
    fuzz_blocks(blk, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int seeded;
    if (!seeded++)
        seeds();
    if (size < 1)
        return 0;
    uint8_t *copy = mc_malloc(size); /* exact size: overreads are caught */
    memcpy(copy, data, size);
    fuzz_msg((uint16_t)(MC_MSG_EP_JOIN + copy[0] % 9), copy + 1, size - 1);
    fuzz_blocks(copy + 1, size - 1);
    mc_free(copy);
    return 0;
}
