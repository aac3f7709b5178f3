/* mc_sc_read_plan: the one rule for which replicas a get reads and in what
 * order (the loop's get and libmooncake's same-host reads both use it):
 * COMPLETE replicas only, ours first, then the master's order; the list's
 * status, an empty list and a too-small destination are final answers. */
#include <string.h>

#include "mc_check.h"
#include "storesvc/mc_store_client.h"

static void add(mc_store_rlist_t *l, const char *ep, uint8_t status, uint64_t size)
{
    uint32_t i = l->n++;
    l->r[i].status = status;
    l->r[i].size = size;
    l->endpoint[i] = mc_slice_cstr(ep);
}

START_TEST(test_order_local_first_complete_only)
{
    mc_store_rlist_t l;
    memset(&l, 0, sizeof l);
    add(&l, "10.0.0.2:1", MC_REPLICA_COMPLETE, 100);
    add(&l, "10.0.0.3:1", MC_REPLICA_PROCESSING, 100);
    add(&l, "10.0.0.1:1", MC_REPLICA_COMPLETE, 100); /* ours */
    add(&l, "10.0.0.4:1", MC_REPLICA_COMPLETE, 100);
    add(&l, "10.0.0.1:10", MC_REPLICA_COMPLETE, 100); /* a prefix of ours is not ours */
    uint8_t order[MC_STORE_MAX_REPLICAS];
    uint32_t n = 99;
    ck_assert_int_eq(mc_sc_read_plan(&l, "10.0.0.1:1", 0, order, &n), MC_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(order[0], 2);
    ck_assert_uint_eq(order[1], 0);
    ck_assert_uint_eq(order[2], 3);
    ck_assert_uint_eq(order[3], 4);
    /* no self: the master's order */
    ck_assert_int_eq(mc_sc_read_plan(&l, NULL, 0, order, &n), MC_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(order[0], 0);
    ck_assert_uint_eq(order[1], 2);
}
END_TEST

START_TEST(test_final_answers)
{
    mc_store_rlist_t l;
    memset(&l, 0, sizeof l);
    uint8_t order[MC_STORE_MAX_REPLICAS];
    uint32_t n = 99;
    l.status = MC_OBJECT_NOT_FOUND;
    ck_assert_int_eq(mc_sc_read_plan(&l, "a:1", 0, order, &n), MC_OBJECT_NOT_FOUND);
    ck_assert_uint_eq(n, 0);
    l.status = MC_OK;
    ck_assert_int_eq(mc_sc_read_plan(&l, "a:1", 0, order, &n), MC_INVALID_REPLICA); /* empty list */
    add(&l, "b:1", MC_REPLICA_COMPLETE, 4096);
    ck_assert_int_eq(mc_sc_read_plan(&l, "a:1", 4095, order, &n), MC_INVALID_PARAMS); /* does not fit */
    ck_assert_int_eq(mc_sc_read_plan(&l, "a:1", 4096, order, &n), MC_OK);
    ck_assert_uint_eq(n, 1);
    l.r[0].status = MC_REPLICA_PROCESSING; /* nothing complete: OK with no replica to read */
    ck_assert_int_eq(mc_sc_read_plan(&l, "a:1", 0, order, &n), MC_OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_read_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_order_local_first_complete_only);
    tcase_add_test(tc, test_final_answers);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
