/* core/wire store family, task and extra-segment messages: request
 * round trips (targets, task id, status + message, grace), TASK_REPLY and
 * TASKS_REPLY round trips, truncation at every byte and bad enum values
 * rejected, mc_msg_validate accepting them. */
#include <string.h>

#include "mc_check.h"
#include "mc_check_wire.h"
#include "wire/mc_msg_any.h"
#include "wire/mc_msg_store.h"

static bool slice_is(mc_slice_t s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

START_TEST(test_task_requests_roundtrip)
{
    mc_slice_t keys[1] = {mc_slice_cstr("k")};
    mc_slice_t tg[2] = {mc_slice_cstr("seg-a"), mc_slice_cstr("seg-b")};
    mc_store_req_t q = {.type = MC_MSG_COPY_START, .client = {1, 2}, .name = mc_slice_cstr("src"), .nkeys = 1,
                        .keys = keys, .ntargets = 2, .targets = tg};
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_req_encode(&w, 9, &q);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    mc_store_req_t d;
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert_uint_eq(d.type, MC_MSG_COPY_START);
    ck_assert(mc_uuid_eq(d.client, q.client));
    ck_assert(slice_is(d.name, "src"));
    ck_assert_uint_eq(d.nkeys, 1);
    ck_assert(slice_is(d.keys[0], "k"));
    ck_assert_uint_eq(d.ntargets, 2);
    ck_assert(slice_is(d.targets[1], "seg-b"));
    mc_store_req_free(&d);

    mc_store_req_t m = {.type = MC_MSG_MARK_TASK_COMPLETE, .client = {3, 4}, .task_id = {5, 6},
                        .task_status = MC_TASK_FAILED, .message = mc_slice_cstr("TRANSFER_FAIL")};
    mc_store_req_encode(&w, 10, &m);
    r = body_of(&w, &type);
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert(mc_uuid_eq(d.task_id, m.task_id));
    ck_assert_uint_eq(d.task_status, MC_TASK_FAILED);
    ck_assert(slice_is(d.message, "TRANSFER_FAIL"));
    mc_store_req_free(&d);
    /* a task status past SUCCESS is rejected: it is the byte before the message blob */
    w.data[w.len - 4 - strlen("TRANSFER_FAIL") - 1] = 7;
    r = body_of(&w, &type);
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_INVALID_PARAMS);

    mc_store_req_t g = {.type = MC_MSG_GRACEFUL_UNMOUNT_SEGMENT, .client = {1, 1}, .seg_id = {7, 8}, .arg = 30000};
    mc_store_req_encode(&w, 11, &g);
    r = body_of(&w, &type);
    ck_assert_int_eq(mc_store_req_decode(type, &r, &d), MC_OK);
    ck_assert(mc_uuid_eq(d.seg_id, g.seg_id));
    ck_assert_uint_eq(d.arg, 30000);
    mc_store_req_free(&d);
    /* truncated at every byte: rejected, nothing leaked (ASan/valgrind) */
    for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
        ck_assert_int_eq(mc_store_req_decode(MC_MSG_GRACEFUL_UNMOUNT_SEGMENT, &r, &d), MC_INVALID_PARAMS);
    }
    mc_wbuf_free(&w);
}
END_TEST

START_TEST(test_task_reply_roundtrip)
{
    mc_store_task_reply_t t = {MC_OK, {5, 6}, MC_TASK_REPLICA_MOVE, MC_TASK_SUCCESS, 10, 20, {1, 2},
                               mc_slice_cstr("done")};
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_task_reply_encode(&w, 1, &t);
    const char *why = NULL;
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_OK);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    ck_assert_uint_eq(type, MC_MSG_TASK_REPLY);
    mc_store_task_reply_t d;
    ck_assert_int_eq(mc_store_task_reply_decode(&r, &d), MC_OK);
    ck_assert(mc_uuid_eq(d.id, t.id) && mc_uuid_eq(d.assigned_client, t.assigned_client));
    ck_assert_uint_eq(d.type, MC_TASK_REPLICA_MOVE);
    ck_assert_uint_eq(d.task_status, MC_TASK_SUCCESS);
    ck_assert_uint_eq(d.created_ms, 10);
    ck_assert_uint_eq(d.updated_ms, 20);
    ck_assert(slice_is(d.message, "done"));
    for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
        ck_assert_int_eq(mc_store_task_reply_decode(&r, &d), MC_INVALID_PARAMS);
    }
    /* type byte (after status and id) out of range */
    w.data[MC_WIRE_HDR_LEN + 4 + 16] = 2;
    r = body_of(&w, &type);
    ck_assert_int_eq(mc_store_task_reply_decode(&r, &d), MC_INVALID_PARAMS);
    mc_wbuf_free(&w);
}
END_TEST

START_TEST(test_tasks_reply_roundtrip)
{
    mc_slice_t tg[2] = {mc_slice_cstr("a"), mc_slice_cstr("bb")};
    mc_store_task_assign_t a[2] = {
        {{1, 1}, MC_TASK_REPLICA_COPY, mc_slice_cstr("k1"), mc_slice_cstr("s1"), 2, tg, 5, 3},
        {{2, 2}, MC_TASK_REPLICA_MOVE, mc_slice_cstr("k2"), mc_slice_cstr("s2"), 1, tg + 1, 6, 0},
    };
    mc_store_tasks_reply_t t = {MC_OK, 2, a};
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_store_tasks_reply_encode(&w, 2, &t);
    const char *why = NULL;
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_OK);
    uint16_t type;
    mc_rbuf_t r = body_of(&w, &type);
    mc_store_tasks_reply_t d;
    ck_assert_int_eq(mc_store_tasks_reply_decode(&r, &d), MC_OK);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.t[0].ntargets, 2);
    ck_assert(slice_is(d.t[0].targets[1], "bb"));
    ck_assert(slice_is(d.t[1].key, "k2"));
    ck_assert(slice_is(d.t[1].source, "s2"));
    ck_assert_uint_eq(d.t[1].type, MC_TASK_REPLICA_MOVE);
    ck_assert_uint_eq(d.t[0].max_retry, 3);
    mc_store_tasks_reply_free(&d);
    for (size_t cut = 0; cut + MC_WIRE_HDR_LEN < w.len; cut++) {
        mc_rbuf_init(&r, w.data + MC_WIRE_HDR_LEN, cut);
        ck_assert_int_eq(mc_store_tasks_reply_decode(&r, &d), MC_INVALID_PARAMS);
    }
    mc_wbuf_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_wire_store_tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_test(tc, test_task_requests_roundtrip);
    tcase_add_test(tc, test_task_reply_roundtrip);
    tcase_add_test(tc, test_tasks_reply_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
