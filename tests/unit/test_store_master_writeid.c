/* Master core: write ids (core/store/README.md, "Write ids"). A start,
 * End or Revoke names its write; the master never commits or revokes
 * another write of the same client, and drops a start older than that
 * client's current/last write of the key (store swarm seed 1859: a late
 * UpsertStart preempted the writer's newer write, whose End then
 * committed a buffer nobody had written). */
#include "test_store_fixture.h"

static mc_replicate_config_t CFG1;

static void wsetup(void)
{
    fx_setup();
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    CFG1 = fx_cfg(1);
}

static uint64_t read_addr(const char *key, uint64_t *size)
{
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K(key), &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    *size = l.r[0].size;
    return l.r[0].buffer_address;
}

/* The seed-1859 order: the fresh start (id 7) is processed first, then the
 * stale start (id 5) of the same client arrives. */
START_TEST(stale_upsert_start_after_fresh_is_dropped)
{
    mc_replica_list_t fresh, stale;
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 16, &CFG1, 7, &fresh), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 16384, &CFG1, 5, &stale), MC_INVALID_WRITE);
    ck_assert_uint_eq(fx_stats().keys, 1);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 7), MC_OK);
    uint64_t size;
    ck_assert_uint_eq(read_addr("k", &size), fresh.r[0].buffer_address);
    ck_assert_uint_eq(size, 16);
    /* Also once the fresh write is committed: the late start changes nothing. */
    NOW += 10 * SEC;
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 16384, &CFG1, 6, &stale), MC_INVALID_WRITE);
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(1), K("k"), 16384, &CFG1, 6, &stale), MC_INVALID_WRITE);
    ck_assert_uint_eq(read_addr("k", &size), fresh.r[0].buffer_address);
    ck_assert_uint_eq(size, 16);
    /* A newer write of the same client proceeds as usual. */
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 64, &CFG1, 9, &fresh), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 9), MC_OK);
    ck_assert_uint_eq(read_addr("k", &size), fresh.r[0].buffer_address);
    ck_assert_uint_eq(size, 64);
}
END_TEST

/* The other order: a newer start of the same client preempts the older
 * write; the older write's End must not commit the newer one's buffers
 * (their bytes may not be written yet). */
START_TEST(end_of_preempted_write_is_refused)
{
    mc_replica_list_t a, b;
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 5, &a), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 8192, &CFG1, 6, &b), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 5), MC_INVALID_WRITE);
    ck_assert_int_eq(mc_master_put_revoke_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, 5), MC_INVALID_WRITE);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 6), MC_OK);
    uint64_t size;
    ck_assert_uint_eq(read_addr("k", &size), b.r[0].buffer_address);
    ck_assert_uint_eq(size, 8192);
    /* A retried End of the committed write stays idempotent; the old id
     * still names nothing. */
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 6), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 5), MC_INVALID_WRITE);
}
END_TEST

START_TEST(revoke_names_its_write)
{
    mc_replica_list_t a;
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 11, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, 10), MC_INVALID_WRITE);
    ck_assert_uint_eq(fx_stats().keys, 1);
    ck_assert_int_eq(mc_master_put_revoke_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, 11), MC_OK);
    ck_assert_uint_eq(fx_stats().keys, 0);
    /* Upstream's codes are unchanged for the cases they describe. */
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 11), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 12, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL, 12), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), 9, NULL, 12), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 12), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, 12), MC_INVALID_WRITE);
}
END_TEST

/* Ids are per client: another client's lower id is no stale start, and
 * first-writer-wins / preemption work as upstream. */
START_TEST(ids_are_per_client)
{
    mc_replica_list_t a, b;
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 100, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(2), K("k"), 4096, &CFG1, 3, &b), MC_OBJECT_ALREADY_EXISTS);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(2), K("k"), 4096, &CFG1, 3, &b), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 100), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL, 3), MC_OK);
    /* Client 1 writes again with a higher id than its last one: fine. */
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 101, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 101), MC_OK);
}
END_TEST

/* Id 0 (the forms without _id) matches any write of the client, as upstream. */
START_TEST(id_zero_is_upstream_behaviour)
{
    mc_replica_list_t a;
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 40, &a), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 4096, &CFG1, &a), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 2048, &CFG1, 41, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 1024, &CFG1, 0, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 0), MC_OK);
    uint64_t size;
    read_addr("k", &size);
    ck_assert_uint_eq(size, 1024);
}
END_TEST

/* Ids compare modulo 2^32: 3 is newer than 0xfffffff0, which is older. */
START_TEST(ids_wrap_around)
{
    mc_replica_list_t a;
    ck_assert_int_eq(mc_master_put_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 0xfffffff0u, &a), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 0xfffffff0u), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 3, &a), MC_OK);
    ck_assert_int_eq(mc_master_upsert_start_id(M, NOW, U(1), K("k"), 4096, &CFG1, 0xfffffff1u, &a),
                     MC_INVALID_WRITE);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL, 3), MC_OK);
}
END_TEST

/* Batch starts carry one id per key (NULL: none). */
START_TEST(batch_start_ids)
{
    mc_slice_t keys[2] = {K("a"), K("b")};
    uint64_t sizes[2] = {4096, 4096};
    uint32_t ids[2] = {20, 21};
    mc_replica_list_t l[2];
    mc_status_t st[2];
    mc_master_batch_put_start_id(M, NOW, U(1), keys, sizes, ids, 2, &CFG1, l, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("a"), MC_REPLICA_TYPE_ALL, NULL, 21), MC_INVALID_WRITE);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("a"), MC_REPLICA_TYPE_ALL, NULL, 20), MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("b"), MC_REPLICA_TYPE_ALL, NULL, 21), MC_OK);
    uint32_t old[2] = {19, 30};
    mc_master_batch_upsert_start_id(M, NOW, U(1), keys, sizes, old, 2, &CFG1, l, st);
    ck_assert_int_eq(st[0], MC_INVALID_WRITE); /* 19 is older than a's 20 */
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert_int_eq(mc_master_put_end_id(M, NOW, U(1), K("b"), MC_REPLICA_TYPE_ALL, NULL, 30), MC_OK);
    mc_master_batch_upsert_start_id(M, NOW, U(1), keys, sizes, NULL, 2, &CFG1, l, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_master_writeid");
    TCase *tc = tcase_create("writeid");
    tcase_add_checked_fixture(tc, wsetup, fx_teardown);
    tcase_add_test(tc, stale_upsert_start_after_fresh_is_dropped);
    tcase_add_test(tc, end_of_preempted_write_is_refused);
    tcase_add_test(tc, revoke_names_its_write);
    tcase_add_test(tc, ids_are_per_client);
    tcase_add_test(tc, id_zero_is_upstream_behaviour);
    tcase_add_test(tc, ids_wrap_around);
    tcase_add_test(tc, batch_start_ids);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(suite)
