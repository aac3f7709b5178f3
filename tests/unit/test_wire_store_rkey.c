/* core/wire store family: registration keys. A MOUNT/REMOUNT segment and a
 * replica descriptor carry the owner's rkey through a round trip (the
 * value that ends up in mc_xfer_op_t.remote_key); truncation at every byte
 * is rejected. */
#include <string.h>

#include "mc_check.h"
#include "mc_check_wire.h"
#include "wire/mc_msg_store.h"

START_TEST(test_mount_carries_rkey)
{
    mc_msg_seg_t segs[2] = {
        {.id = {1, 2}, .name = mc_slice_cstr("h:1"), .base = 0x1000, .size = 4096,
         .endpoint = mc_slice_cstr("h:2"), .protocol = mc_slice_cstr("tcp"), .rkey = 0xdeadbeef},
        {.id = {3, 4}, .name = mc_slice_cstr("h:1"), .base = 0x9000, .size = 8192,
         .endpoint = mc_slice_cstr("h:2"), .protocol = mc_slice_cstr("tcp"), .rkey = 7},
    };
    mc_store_req_t q = {.type = MC_MSG_REMOUNT_SEGMENTS, .client = {5, 6}, .name = mc_slice_cstr("h:1"), .nsegs = 2,
                        .segs = segs};
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_req_encode(&w, 1, &q);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    mc_store_req_t d;
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert_uint_eq(d.nsegs, 2);
    ck_assert_uint_eq(d.segs[0].rkey, 0xdeadbeef);
    ck_assert_uint_eq(d.segs[1].rkey, 7);
    ck_assert_uint_eq(d.segs[1].size, 8192);
    mc_store_req_free(&d);
    for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
        ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_INVALID_PARAMS);
    }
    mc_wbuf_free(&w);
}
END_TEST

START_TEST(test_replica_desc_carries_rkey)
{
    mc_replica_list_t l;
    memset(&l, 0, sizeof l);
    l.n = 2;
    l.r[0] = (mc_replica_desc_t){.id = 1, .buffer_address = 0x1000, .size = 64, .rkey = 0x12345678,
                                 .endpoint = "a:1", .protocol = "tcp", .segment_name = "a:1"};
    l.r[1] = (mc_replica_desc_t){.id = 2, .buffer_address = 0x2000, .size = 64, .rkey = 0xfffffffe,
                                 .endpoint = "b:1", .protocol = "tcp", .segment_name = "b:1"};
    l.lease_ttl_ms = 5000;
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_replicas_reply_begin(&w, 3, true, MC_OK, 1);
    mc_store_replicas_reply_add(&w, mc_slice_cstr("k"), MC_OK, &l);
    mc_store_replicas_reply_finish(&w);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    mc_store_replicas_reply_t d;
    ck_assert_int_eq(mc_store_replicas_reply_decode(type, &r, &d), MC_OK);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_uint_eq(d.l[0].n, 2);
    ck_assert_uint_eq(d.l[0].r[0].rkey, 0x12345678);
    ck_assert_uint_eq(d.l[0].r[1].rkey, 0xfffffffe);
    ck_assert_uint_eq(d.l[0].r[1].buffer_address, 0x2000);
    ck_assert_uint_eq(d.l[0].lease_ttl_ms, 5000);
    mc_store_replicas_reply_free(&d);
    for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
        ck_assert_int_eq(mc_store_replicas_reply_decode(type, &r, &d), MC_INVALID_PARAMS);
        mc_store_replicas_reply_free(&d);
    }
    mc_wbuf_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_wire_store_rkey");
    TCase *tc = tcase_create("rkey");
    tcase_add_test(tc, test_mount_carries_rkey);
    tcase_add_test(tc, test_replica_desc_carries_rkey);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
