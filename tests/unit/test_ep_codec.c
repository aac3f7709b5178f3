/* EP wire messages (types 600-608): every type round-trips, and every
 * malformed body (truncated, trailing bytes, out-of-range rank, world,
 * masks or status) is refused, also through mc_msg_validate. */
#include <string.h>

#include "base/mc_mem.h"
#include "mc_check.h"
#include "wire/mc_msg_any.h"
#include "wire/mc_msg_ep.h"
#include "wire/mc_msg_types.h"

static mc_status_t decode_frame(const mc_wbuf_t *w, mc_msg_ep_t *m)
{
    mc_wire_hdr_t hdr;
    mc_rbuf_t r;
    const char *why;
    mc_status_t st = mc_wire_open(w->data, w->len, &hdr, &r, &why);
    if (st != MC_OK)
        return st;
    return mc_msg_ep_decode(hdr.type, &r, m);
}

static mc_msg_ep_t *sample(uint16_t type)
{
    mc_msg_ep_t *m = mc_calloc(1, sizeof *m);
    m->type = type;
    m->rank = 3;
    m->inc = 0x1122334455667788ULL;
    m->epoch = 42;
    m->op_id = 9;
    m->mask = 0xb;
    m->value = 123456789;
    m->len = 4096;
    m->status = 1;
    m->world = 4;
    m->active = 0x7;
    m->synced = 0xf;
    m->addr = mc_slice_cstr("r3:7000");
    for (uint32_t i = 0; i < 4; i++) {
        m->peers[i].inc = 100 + i;
        m->peers[i].addr = i == 2 ? mc_slice(NULL, 0) : mc_slice_cstr("peer:1");
    }
    return m;
}

START_TEST(test_roundtrip_every_type)
{
    for (uint16_t t = MC_MSG_EP_JOIN; t <= MC_MSG_EP_SEGMENT; t++) {
        ck_assert(mc_msg_ep_type_known(t));
        mc_msg_ep_t *m = sample(t), *d = mc_calloc(1, sizeof *d);
        mc_wbuf_t w, w2;
        mc_wbuf_init(&w);
        mc_wbuf_init(&w2);
        mc_msg_ep_encode(&w, 77, m);
        ck_assert_int_eq(decode_frame(&w, d), MC_OK);
        ck_assert_int_eq(mc_msg_validate(w.data, w.len, NULL), MC_OK);
        mc_msg_ep_encode(&w2, 77, d); /* decode . encode is the identity */
        ck_assert_uint_eq(w.len, w2.len);
        ck_assert(memcmp(w.data, w2.data, w.len) == 0);
        switch (t) {
        case MC_MSG_EP_VIEW:
            ck_assert_uint_eq(d->world, 4);
            ck_assert_uint_eq(d->active, 7);
            ck_assert_uint_eq(d->peers[3].inc, 103);
            ck_assert_uint_eq(d->peers[2].addr.len, 0);
            ck_assert(mc_slice_eq_cstr(d->peers[1].addr, "peer:1"));
            break;
        case MC_MSG_EP_ROW:
            ck_assert_uint_eq(d->mask, 0xb);
            ck_assert_uint_eq(d->active, 0x7);
            ck_assert_uint_eq(d->value, 123456789);
            break;
        case MC_MSG_EP_DATA: ck_assert_uint_eq(d->len, 4096); break;
        case MC_MSG_EP_JOIN: ck_assert(mc_slice_eq_cstr(d->addr, "r3:7000")); break;
        default: break;
        }
        /* every strict prefix of the body is refused */
        for (size_t cut = MC_WIRE_HDR_LEN; cut < w.len; cut++) {
            mc_rbuf_t r;
            mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut - MC_WIRE_HDR_LEN);
            MC_CK(mc_msg_ep_decode(t, &r, d) == MC_INVALID_PARAMS);
        }
        /* one trailing byte is refused */
        uint8_t *longer = mc_malloc(w.len + 1);
        memcpy(longer, w.data, w.len);
        longer[w.len] = 0;
        mc_rbuf_t r;
        mc_rbuf_init(&r, longer + MC_WIRE_HDR_LEN, w.len + 1 - MC_WIRE_HDR_LEN);
        ck_assert_int_eq(mc_msg_ep_decode(t, &r, d), MC_INVALID_PARAMS);
        mc_free(longer);
        mc_wbuf_free(&w);
        mc_wbuf_free(&w2);
        mc_free(m);
        mc_free(d);
    }
    ck_assert(!mc_msg_ep_type_known(599) && !mc_msg_ep_type_known(609));
    ck_assert_str_eq(mc_msg_type_name(MC_MSG_EP_DECIDE), "ep_decide");
}
END_TEST

static mc_status_t enc_dec(mc_msg_ep_t *m)
{
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_msg_ep_encode(&w, 1, m);
    mc_msg_ep_t *d = mc_malloc(sizeof *d);
    mc_status_t st = decode_frame(&w, d);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, NULL), st);
    mc_free(d);
    mc_wbuf_free(&w);
    return st;
}

START_TEST(test_out_of_range)
{
    mc_msg_ep_t *m = sample(MC_MSG_EP_JOIN);
    m->rank = 64;
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->type = MC_MSG_EP_DATA;
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->type = MC_MSG_EP_PROPOSE;
    m->rank = 1;
    m->status = 2; /* only activate (1) / deactivate (0) */
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->type = MC_MSG_EP_PROPOSE_REPLY;
    m->status = 3;
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->status = 2;
    ck_assert_int_eq(enc_dec(m), MC_OK);
    mc_free(m);
    m = sample(MC_MSG_EP_VIEW);
    m->active = 0x10; /* bit beyond world 4 */
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->active = 0x1;
    m->world = 0;
    ck_assert_int_eq(enc_dec(m), MC_INVALID_PARAMS);
    m->world = 64;
    m->active = m->synced = ~0ULL;
    ck_assert_int_eq(enc_dec(m), MC_OK);
    mc_free(m);
    /* a view claiming 65 slots is refused before reading them */
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_wire_begin(&w, MC_MSG_EP_VIEW, 0, 1);
    mc_wbuf_u64(&w, 1);
    mc_wbuf_u32(&w, 65);
    mc_wire_finish(&w);
    const char *why = NULL;
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);
    ck_assert_ptr_nonnull(why);
    mc_wbuf_free(&w);
    mc_rbuf_t r;
    mc_rbuf_init(&r, "", 0);
    mc_msg_ep_t d;
    ck_assert_int_eq(mc_msg_ep_decode(700, &r, &d), MC_INVALID_PARAMS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ep_codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_out_of_range);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
