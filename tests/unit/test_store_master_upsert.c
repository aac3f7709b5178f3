/* Master core: upsert (spec §4.7) and zombie writes (§4.8), re-expressing
 * the upsert scenarios of master_service_scenario_test and
 * PutStartExpiringTest of master_service_test. */
#include "test_store_fixture.h"

static mc_status_t upsert_start(mc_uuid_t c, const char *key, uint64_t size, mc_replica_list_t *l)
{
    mc_replicate_config_t cfg = fx_cfg(1);
    return mc_master_upsert_start(M, NOW, c, K(key), size, &cfg, l);
}

START_TEST(upsert_new_key_is_a_put)
{
    fx_mount(1, 1 << 20);
    mc_replica_list_t l;
    mc_replicate_config_t bad = fx_cfg(0);
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 10, &bad, &l), MC_INVALID_PARAMS);
    ck_assert_int_eq(upsert_start(U(1), "k", 100, &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert(fx_exists("k"));
}
END_TEST

START_TEST(upsert_same_size_in_place)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 1), MC_OK);
    mc_replica_list_t before, l;
    ck_assert_int_eq(mc_master_get_replica_list_admin(M, K("k"), &before), MC_OK);
    ck_assert_int_eq(upsert_start(U(2), "k", 100, &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(l.r[0].buffer_address, before.r[0].buffer_address);
    ck_assert_uint_eq(l.r[0].id, before.r[0].id);
    ck_assert_uint_eq(l.r[0].status, MC_REPLICA_PROCESSING);
    /* Unreadable until UpsertEnd; only the new writer may end it. */
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 100);
}
END_TEST

START_TEST(upsert_different_size)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(upsert_start(U(1), "k", 300, &l), MC_OK);
    ck_assert_uint_eq(l.r[0].size, 300);
    /* Old buffer parked for the release timeout (a slow reader/writer). */
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    uint64_t sz;
    ck_assert_int_eq(mc_master_get_size(M, NOW, K("k"), &sz), MC_OK);
    ck_assert_uint_eq(sz, 300);
    NOW += 600 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 300);
}
END_TEST

START_TEST(upsert_preempts_in_progress_put)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_OK);
    ck_assert_int_eq(upsert_start(U(2), "k", 100, &l), MC_OK); /* no 30 s wait */
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    /* And an in-progress upsert is preempted too. */
    ck_assert_int_eq(upsert_start(U(3), "k", 100, &l), MC_OK);
    ck_assert_int_eq(upsert_start(U(4), "k", 100, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(3), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(4), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
}
END_TEST

START_TEST(revoke_same_size_upsert_deletes_object)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(upsert_start(U(1), "k", 100, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL), MC_OK);
    ck_assert(!fx_exists("k"));
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OBJECT_NOT_FOUND);
    /* Revoking a size-changing upsert also leaves the key absent. */
    ck_assert_int_eq(fx_put("j", 100, 1), MC_OK);
    ck_assert_int_eq(upsert_start(U(1), "j", 200, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("j"), MC_REPLICA_TYPE_ALL), MC_OK);
    ck_assert(!fx_exists("j"));
}
END_TEST

/* Our fix: an in-place upsert would tear a leased reader's bytes, so a
 * leased object gets fresh buffers and the old ones stay parked. */
START_TEST(upsert_same_size_under_lease_uses_new_buffers)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 1), MC_OK);
    mc_replica_list_t r, l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &r), MC_OK);
    ck_assert_int_eq(upsert_start(U(2), "k", 100, &l), MC_OK);
    ck_assert_uint_ne(l.r[0].buffer_address, r.r[0].buffer_address);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    /* Parked only while the reader's lease lasts (not the 600 s release
     * timeout: steady upserts of a hot key would fill the pool). */
    NOW += CFG.default_kv_lease_ttl_ms * MS - 1;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    NOW += 2;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 100);
}
END_TEST

START_TEST(upsert_keeps_hard_pin)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    c.with_hard_pin = true;
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(upsert_start(U(1), "k", 100, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(upsert_start(U(1), "k", 200, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert(fx_exists("k"));
}
END_TEST

START_TEST(upsert_failed_allocation_keeps_old_object)
{
    fx_mount(1, 4096);
    ck_assert_int_eq(fx_put("k", 2048, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(upsert_start(U(1), "k", 4096, &l), MC_NO_AVAILABLE_HANDLE);
    ck_assert(fx_exists("k"));
    uint64_t sz;
    ck_assert_int_eq(mc_master_get_size(M, NOW, K("k"), &sz), MC_OK);
    ck_assert_uint_eq(sz, 2048);
}
END_TEST

START_TEST(batch_upsert)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("a", 100, 1), MC_OK);
    mc_slice_t keys[] = {K("a"), K("b"), K("")};
    uint64_t sizes[] = {100, 50, 10};
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t out[3];
    mc_status_t st[3];
    mc_master_batch_upsert_start(M, NOW, U(1), keys, sizes, 3, &c, out, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert_int_eq(st[2], MC_INVALID_PARAMS);
    mc_master_batch_put_end(M, NOW, U(1), keys, 2, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
}
END_TEST

static void tweak_short_zombie(mc_master_config_t *c)
{
    c->put_start_discard_timeout_ms = 3000;
    c->put_start_release_timeout_ms = 5000;
}

/* PutStartExpiringTest: discard 3 s / release 5 s. */
START_TEST(zombie_takeover_after_discard_timeout)
{
    mc_master_destroy(M);
    fx_setup_cfg(tweak_short_zombie);
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    uint64_t t0 = NOW;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("z"), 100, &c, &l), MC_OK);
    uint64_t old_addr = l.r[0].buffer_address;
    NOW = t0 + 3 * SEC; /* put_start + discard >= now: still owned */
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(2), K("z"), 100, &c, &l), MC_OBJECT_ALREADY_EXISTS);
    NOW = t0 + 3 * SEC + 1;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(2), K("z"), 100, &c, &l), MC_OK);
    ck_assert_uint_ne(l.r[0].buffer_address, old_addr); /* old one parked */
    ck_assert_uint_eq(fx_stats().put_start_discard_cnt, 1);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("z"), MC_REPLICA_TYPE_ALL, NULL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(2), K("z"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    /* Parked until old put_start + release timeout. */
    NOW = t0 + 5 * SEC - 1;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    NOW = t0 + 5 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 100);
}
END_TEST

START_TEST(zombie_released_by_sweep)
{
    mc_master_destroy(M);
    fx_setup_cfg(tweak_short_zombie);
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    uint64_t t0 = NOW;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("z"), 100, &c, &l), MC_OK);
    NOW = t0 + 4 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().keys, 1);
    NOW = t0 + 5 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().keys, 0);
    ck_assert_uint_eq(fx_stats().put_start_release_cnt, 1);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("z"), MC_REPLICA_TYPE_ALL, NULL), MC_OBJECT_NOT_FOUND);
    /* The periodic tick does the same. */
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("y"), 100, &c, &l), MC_OK);
    for (int i = 0; i < 6; i++) {
        NOW += SEC;
        mc_master_ping(M, NOW, U(1), NULL, NULL);
        mc_master_tick(M, NOW);
    }
    ck_assert_uint_eq(fx_stats().keys, 0);
}
END_TEST

START_TEST(upsert_soft_pin_and_checksum)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    uint64_t crc = 77;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, &crc), MC_OK);
    /* Case B with ENABLE: the pin starts at UpsertEnd. */
    c.soft_pin_action = MC_SOFT_PIN_ENABLE;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, &crc), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 1);
    /* Case C keeps the committed pin; DISABLE clears it at End. */
    c.soft_pin_action = MC_SOFT_PIN_PRESERVE;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 200, &c, &l), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 1);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert(!l.has_checksum);
    NOW += 10 * SEC;
    c.soft_pin_action = MC_SOFT_PIN_DISABLE;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 200, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0);
    /* Batch with a wrong number of group ids: every key rejected. */
    const char *g1[1] = {"g"};
    mc_slice_t keys[2] = {K("a"), K("b")};
    uint64_t sizes[2] = {1, 1};
    mc_status_t st[2];
    mc_replica_list_t out[2];
    c = fx_cfg(1);
    c.group_ids = g1;
    c.n_group_ids = 1;
    mc_master_batch_upsert_start(M, NOW, U(1), keys, sizes, 2, &c, out, st);
    ck_assert_int_eq(st[0], MC_INVALID_PARAMS);
    ck_assert_int_eq(st[1], MC_INVALID_PARAMS);
}
END_TEST

Suite *store_master_upsert_suite(void);
Suite *store_master_upsert_suite(void)
{
    Suite *s = suite_create("store_master_upsert");
    TCase *tc = tcase_create("upsert");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, upsert_new_key_is_a_put);
    tcase_add_test(tc, upsert_same_size_in_place);
    tcase_add_test(tc, upsert_different_size);
    tcase_add_test(tc, upsert_preempts_in_progress_put);
    tcase_add_test(tc, revoke_same_size_upsert_deletes_object);
    tcase_add_test(tc, upsert_same_size_under_lease_uses_new_buffers);
    tcase_add_test(tc, upsert_keeps_hard_pin);
    tcase_add_test(tc, upsert_failed_allocation_keeps_old_object);
    tcase_add_test(tc, batch_upsert);
    tcase_add_test(tc, upsert_soft_pin_and_checksum);
    tcase_add_test(tc, zombie_takeover_after_discard_timeout);
    tcase_add_test(tc, zombie_released_by_sweep);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_upsert_suite)
