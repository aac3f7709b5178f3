/* Master core: object groups (spec §4.14), re-expressing the group tests of
 * master_service_test and master_service_evict_scenario_test. */
#include "test_store_fixture.h"

static mc_status_t gput(const char *key, const char *group)
{
    mc_replicate_config_t c = fx_cfg(1);
    const char *g[1] = {group};
    c.group_ids = g;
    c.n_group_ids = 1;
    mc_replica_list_t l;
    mc_status_t st = mc_master_put_start(M, NOW, U(1), K(key), 1024, &c, &l);
    if (st != MC_OK)
        return st;
    return mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL);
}

START_TEST(group_ids_validation)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    const char *g2[2] = {"g", "h"};
    c.group_ids = g2;
    c.n_group_ids = 2;
    mc_replica_list_t l[3];
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 10, &c, &l[0]), MC_INVALID_PARAMS);
    mc_slice_t keys[3] = {K("a"), K("b"), K("c")};
    uint64_t sizes[3] = {10, 10, 10};
    mc_status_t st[3];
    mc_master_batch_put_start(M, NOW, U(1), keys, sizes, 3, &c, l, st);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(st[i], MC_INVALID_PARAMS);
    const char *g3[3] = {"g", "", "h"};
    c.group_ids = g3;
    c.n_group_ids = 3;
    mc_master_batch_put_start(M, NOW, U(1), keys, sizes, 3, &c, l, st);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(st[i], MC_OK);
}
END_TEST

START_TEST(group_read_refreshes_members)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(gput("a", "g"), MC_OK);
    ck_assert_int_eq(gput("b", "g"), MC_OK);
    ck_assert_int_eq(gput("x", ""), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("a"), &l), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("b"), false), MC_OBJECT_HAS_LEASE);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("x"), false), MC_OK);
    /* Remove keeps per-object semantics; the group survives with one member. */
    ck_assert_int_eq(mc_master_remove(M, NOW, K("b"), true), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), true), MC_OK);
}
END_TEST

START_TEST(group_evicted_as_unit)
{
    fx_mount(1, 1 << 20);
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "g%d", i);
        ck_assert_int_eq(gput(key, "grp"), MC_OK);
        NOW += MS;
    }
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "u%d", i);
        ck_assert_int_eq(fx_put(key, 1024, 1), MC_OK);
        NOW += MS;
    }
    /* base 8, n1 = ceil(0.8) = 1: the oldest candidate is the group: 3 go. */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.1, 0.1), 3);
    ck_assert(!fx_exists("g0") && !fx_exists("g1") && !fx_exists("g2"));
    ck_assert_uint_eq(fx_stats().keys, 5);
}
END_TEST

START_TEST(active_member_blocks_group)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(gput("a", "g"), MC_OK);
    ck_assert_int_eq(gput("b", "g"), MC_OK);
    mc_replica_list_t l;
    uint64_t t0 = NOW;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("a"), &l), MC_OK); /* all to t0+10 s */
    NOW = t0 + 1 * SEC;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("a"), &l), MC_OK); /* only a to t0+11 s */
    NOW = t0 + 10 * SEC + 500 * MS;
    /* b is expired, a still leased: the whole group is protected. */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("b"), false), MC_OK); /* per-object removal still works */
    ck_assert_int_eq(gput("b", "g"), MC_OK);
    NOW = t0 + 11 * SEC;
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.5, 0.5), 2);
    ck_assert_uint_eq(fx_stats().keys, 0);
}
END_TEST

START_TEST(upsert_group_is_immutable_and_preserved)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(gput("a", "g"), MC_OK);
    ck_assert_int_eq(gput("b", "g"), MC_OK);
    mc_replicate_config_t c = fx_cfg(1);
    const char *other[1] = {"h"}, *none[1] = {""}, *same[1] = {"g"};
    mc_replica_list_t l;
    c.group_ids = other;
    c.n_group_ids = 1;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("a"), 2048, &c, &l), MC_INVALID_PARAMS);
    c.group_ids = none;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("a"), 2048, &c, &l), MC_INVALID_PARAMS);
    c.group_ids = same;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("a"), 1024, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("a"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    c.group_ids = NULL;
    c.n_group_ids = 0;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("a"), 4096, &c, &l), MC_OK); /* case C */
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("a"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    /* Still a member: reading b leases a. */
    NOW += SEC;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("b"), &l), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), false), MC_OBJECT_HAS_LEASE);
}
END_TEST

Suite *store_master_group_suite(void);
Suite *store_master_group_suite(void)
{
    Suite *s = suite_create("store_master_group");
    TCase *tc = tcase_create("group");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, group_ids_validation);
    tcase_add_test(tc, group_read_refreshes_members);
    tcase_add_test(tc, group_evicted_as_unit);
    tcase_add_test(tc, active_member_blocks_group);
    tcase_add_test(tc, upsert_group_is_immutable_and_preserved);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_group_suite)
