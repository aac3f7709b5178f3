/* core/base/mc_status: upstream numeric codes, names and messages. */
#include <string.h>

#include "base/mc_status.h"
#include "mc_check.h"

START_TEST(test_codes_match_upstream)
{
    ck_assert_int_eq(MC_OK, 0);
    ck_assert_int_eq(MC_IN_PROGRESS, 1);
    ck_assert_int_eq(MC_AGAIN, 2);
    ck_assert_int_eq(MC_INTERNAL_ERROR, -1);
    ck_assert_int_eq(MC_BUFFER_OVERFLOW, -10);
    ck_assert_int_eq(MC_SEGMENT_NOT_FOUND, -101);
    ck_assert_int_eq(MC_NO_AVAILABLE_HANDLE, -200);
    ck_assert_int_eq(MC_INVALID_PARAMS, -600);
    ck_assert_int_eq(MC_OBJECT_NOT_FOUND, -704);
    ck_assert_int_eq(MC_REPLICA_NOT_IN_LOCAL_MEMORY, -713);
    ck_assert_int_eq(MC_TRANSFER_FAIL, -800);
    ck_assert_int_eq(MC_RPC_TIMEOUT, -901);
    ck_assert_int_eq(MC_ETCD_OPERATION_ERROR, -1000);
    ck_assert_int_eq(MC_TENANT_NOT_EMPTY, -1702);
}
END_TEST

START_TEST(test_names_and_messages)
{
    ck_assert_str_eq(mc_status_name(MC_OK), "OK");
    ck_assert_str_eq(mc_status_msg(MC_OK), "success");
    ck_assert_str_eq(mc_status_name(1), "IN_PROGRESS");
    ck_assert_str_eq(mc_status_msg(1), "operation in progress");
    ck_assert_str_eq(mc_status_name(2), "AGAIN");
    ck_assert_str_eq(mc_status_name(-1), "INTERNAL_ERROR");
    ck_assert_str_eq(mc_status_name(-600), "INVALID_PARAMS");
    ck_assert_str_eq(mc_status_msg(-600), "invalid parameters");
    ck_assert_str_eq(mc_status_name(-704), "OBJECT_NOT_FOUND");
    ck_assert_str_eq(mc_status_msg(-704), "object not found");
    ck_assert_str_eq(mc_status_name(-706), "OBJECT_HAS_LEASE");
    /* Upstream's toString has no case for -713; ours names it. */
    ck_assert_str_eq(mc_status_name(-713), "REPLICA_NOT_IN_LOCAL_MEMORY");
    ck_assert_str_eq(mc_status_msg(-713), "replica not in local memory");
    ck_assert_str_eq(mc_status_name(-714), "OBJECT_REPLICA_BUSY");
    ck_assert_str_eq(mc_status_name(-901), "RPC_TIMEOUT");
    ck_assert_str_eq(mc_status_msg(-901), "RPC timed out");
    ck_assert_str_eq(mc_status_name(-1702), "TENANT_NOT_EMPTY");
}
END_TEST

START_TEST(test_unknown)
{
    const mc_status_t unknown[] = {3, -2, -715, -799, -1703, 12345, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_str_eq(mc_status_name(unknown[i]), "UNKNOWN_ERROR");
        ck_assert_str_eq(mc_status_msg(unknown[i]), "unknown error");
    }
}
END_TEST

/* Every listed code has a distinct value, its own name back, and a message. */
START_TEST(test_list_consistent)
{
    static const struct {
        mc_status_t v;
        const char *name;
        const char *msg;
    } all[] = {
#define ROW(name, value, msg) {value, #name, msg},
        MC_STATUS_LIST(ROW)
#undef ROW
    };
    size_t n = sizeof all / sizeof all[0];
    ck_assert_uint_gt(n, 70);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(mc_status_name(all[i].v), all[i].name);
        ck_assert_str_eq(mc_status_msg(all[i].v), all[i].msg);
        ck_assert_uint_gt(strlen(all[i].msg), 0);
        for (size_t j = i + 1; j < n; j++)
            ck_assert_int_ne(all[i].v, all[j].v);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_status");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_codes_match_upstream);
    tcase_add_test(tc, test_names_and_messages);
    tcase_add_test(tc, test_unknown);
    tcase_add_test(tc, test_list_consistent);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
