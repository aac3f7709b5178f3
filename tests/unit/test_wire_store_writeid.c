/* core/wire store family: write ids. PUT/UPSERT START, END and REVOKE carry
 * one u32 write id per key through a round trip; no ids (NULL) encode as
 * zeros; truncation at every byte and trailing bytes are rejected; other
 * types carry none. */
#include <string.h>

#include "mc_check.h"
#include "mc_check_wire.h"
#include "wire/mc_msg_store.h"

static const uint16_t write_types[] = {MC_MSG_PUT_START, MC_MSG_PUT_END,    MC_MSG_PUT_REVOKE,
                                       MC_MSG_UPSERT_START, MC_MSG_UPSERT_END, MC_MSG_UPSERT_REVOKE};

START_TEST(test_write_ids_round_trip)
{
    mc_slice_t keys[3] = {mc_slice_cstr("a"), mc_slice_cstr("bb"), mc_slice_cstr("ccc")};
    uint64_t sizes[3] = {16, 4096, 1 << 20};
    uint32_t ids[3] = {1, 0xfffffff0u, 42};
    for (size_t t = 0; t < sizeof write_types / sizeof write_types[0]; t++) {
        mc_store_req_t q = {.type = write_types[t], .client = {5, 6}, .nkeys = 3, .keys = keys, .sizes = sizes,
                            .replica_type = MC_REPLICA_TYPE_ALL, .write_ids = ids};
        q.cfg.replica_num = 1;
        mc_wbuf_t w;
        mc_wbuf_init(&w);
        mc_store_req_encode(&w, 9, &q);
        uint16_t type;
        mc_rbuf_t r = body_of(&w, &type);
        mc_store_req_t d;
        ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
        ck_assert_uint_eq(d.nkeys, 3);
        ck_assert_ptr_nonnull(d.write_ids);
        for (uint32_t i = 0; i < 3; i++)
            ck_assert_uint_eq(d.write_ids[i], ids[i]);
        ck_assert_mem_eq(d.keys[2].p, "ccc", 3);
        mc_store_req_free(&d);
        ck_assert_ptr_null(d.write_ids);
        for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
            mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
            ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_INVALID_PARAMS);
        }
        /* one more byte after the ids: rejected too */
        mc_wbuf_u8(&w, 0);
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, w.len - MC_WIRE_HDR_LEN);
        ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_INVALID_PARAMS);
        mc_wbuf_free(&w);
    }
}
END_TEST

START_TEST(test_no_ids_encode_zeros)
{
    mc_slice_t keys[2] = {mc_slice_cstr("a"), mc_slice_cstr("b")};
    mc_store_req_t q = {.type = MC_MSG_PUT_END, .client = {5, 6}, .nkeys = 2, .keys = keys,
                        .replica_type = MC_REPLICA_TYPE_ALL};
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_req_encode(&w, 1, &q);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    mc_store_req_t d;
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert_uint_eq(d.write_ids[0], 0);
    ck_assert_uint_eq(d.write_ids[1], 0);
    mc_store_req_free(&d);
    /* a type without write ids decodes none */
    q.type = MC_MSG_REMOVE;
    mc_store_req_encode(&w, 2, &q);
    r = body_of(&w, &type);
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert_ptr_null(d.write_ids);
    mc_store_req_free(&d);
    mc_wbuf_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wire_store_writeid");
    TCase *tc = tcase_create("writeid");
    tcase_add_test(tc, test_write_ids_round_trip);
    tcase_add_test(tc, test_no_ids_encode_zeros);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
