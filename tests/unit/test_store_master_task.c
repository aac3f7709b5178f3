/* Master core: copy/move tasks and their execution (spec §4.16),
 * re-expressing task_manager_test and the Copy/Move tests of
 * master_service_test. */
#include "test_store_fixture.h"

static void setup3(void)
{
    fx_setup();
    for (int i = 1; i <= 3; i++)
        fx_mount(i, 1 << 20);
}

/* key on seg1 only */
static void put_on1(const char *key)
{
    mc_replicate_config_t c = fx_cfg(1);
    c.preferred_segment = "seg1";
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 1000, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
}

START_TEST(copy_task_lifecycle)
{
    put_on1("k");
    const char *t23[] = {"seg2", "seg3"}, *bad[] = {"nope"};
    mc_uuid_t id;
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t23, 0, &id), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("zz"), t23, 2, &id), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), bad, 1, &id), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, U(103), U(3), 60000), MC_OK);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t23, 2, &id), MC_UNAVAILABLE_IN_CURRENT_STATUS);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t23, 1, &id), MC_OK);
    mc_task_info_t ti;
    ck_assert_int_eq(mc_master_query_task(M, id, &ti), MC_OK);
    ck_assert_uint_eq(ti.status, MC_TASK_PENDING);
    ck_assert_uint_eq(ti.type, MC_TASK_REPLICA_COPY);
    ck_assert(mc_uuid_eq(ti.assigned_client, U(1))); /* owner of the source seg1 */
    ck_assert_uint_eq(ti.created_ms, NOW / MS);
    mc_task_assignment_t a[4];
    uint32_t n;
    ck_assert_int_eq(mc_master_fetch_tasks(M, NOW, U(2), 4, a, &n), MC_OK);
    ck_assert_uint_eq(n, 0);
    NOW += SEC;
    ck_assert_int_eq(mc_master_fetch_tasks(M, NOW, U(1), 4, a, &n), MC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(mc_uuid_eq(a[0].id, id));
    ck_assert_str_eq(a[0].source, "seg1");
    ck_assert_uint_eq(a[0].ntargets, 1);
    ck_assert_str_eq(a[0].targets[0], "seg2");
    ck_assert(mc_slice_eq_cstr(a[0].key, "k"));
    ck_assert_uint_eq(a[0].max_retry_attempts, 10);
    ck_assert_int_eq(mc_master_query_task(M, id, &ti), MC_OK);
    ck_assert_uint_eq(ti.status, MC_TASK_PROCESSING);
    ck_assert_uint_eq(ti.updated_ms, NOW / MS);
    ck_assert_int_eq(mc_master_fetch_tasks(M, NOW, U(1), 4, a, &n), MC_OK);
    ck_assert_uint_eq(n, 0);
    /* Completion. */
    ck_assert_int_eq(mc_master_mark_task_complete(M, NOW, U(1), U(777), MC_TASK_SUCCESS, ""), MC_TASK_NOT_FOUND);
    ck_assert_int_eq(mc_master_mark_task_complete(M, NOW, U(1), id, MC_TASK_PROCESSING, ""), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_mark_task_complete(M, NOW, U(2), id, MC_TASK_SUCCESS, ""), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_mark_task_complete(M, NOW, U(1), id, MC_TASK_SUCCESS, "copied"), MC_OK);
    ck_assert_int_eq(mc_master_mark_task_complete(M, NOW, U(1), id, MC_TASK_FAILED, "late"), MC_OK); /* no-op */
    ck_assert_int_eq(mc_master_query_task(M, id, &ti), MC_OK);
    ck_assert_uint_eq(ti.status, MC_TASK_SUCCESS);
    ck_assert_str_eq(ti.message, "copied");
    ck_assert_int_eq(mc_master_query_task(M, U(12345), &ti), MC_TASK_NOT_FOUND);
}
END_TEST

START_TEST(move_task_validation)
{
    put_on1("k");
    mc_uuid_t id;
    ck_assert_int_eq(mc_master_create_move_task(M, NOW, K("zz"), "seg1", "seg2", &id), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_create_move_task(M, NOW, K("k"), "seg1", "seg1", &id), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_create_move_task(M, NOW, K("k"), "seg1", "nope", &id), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_create_move_task(M, NOW, K("k"), "seg3", "seg2", &id), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_create_move_task(M, NOW, K("k"), "seg1", "seg2", &id), MC_OK);
    mc_task_info_t ti;
    ck_assert_int_eq(mc_master_query_task(M, id, &ti), MC_OK);
    ck_assert_uint_eq(ti.type, MC_TASK_REPLICA_MOVE);
    ck_assert(mc_uuid_eq(ti.assigned_client, U(1)));
}
END_TEST

static void tweak_small_tasks(mc_master_config_t *c)
{
    c->max_pending_tasks = 3;
    c->max_finished_tasks = 2;
}

START_TEST(pending_limit_timeouts_pruning)
{
    mc_master_destroy(M);
    fx_setup_cfg(tweak_small_tasks);
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    put_on1("k");
    const char *t2[] = {"seg2"};
    mc_uuid_t id[4];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t2, 1, &id[i]), MC_OK);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t2, 1, &id[3]), MC_TASK_PENDING_LIMIT_EXCEEDED);
    mc_task_assignment_t a[1];
    uint32_t n;
    ck_assert_int_eq(mc_master_fetch_tasks(M, NOW, U(1), 1, a, &n), MC_OK); /* id[0] processing */
    ck_assert_uint_eq(n, 1);
    mc_master_tick(M, NOW); /* first task sweep */
    /* 300 s later (tick every 30 s): pending and processing tasks time out. */
    for (int i = 0; i < 10; i++) {
        NOW += 30 * SEC;
        mc_master_ping(M, NOW, U(1), NULL, NULL);
        mc_master_ping(M, NOW, U(2), NULL, NULL);
        mc_master_tick(M, NOW);
    }
    mc_task_info_t ti;
    /* Three finished, limit two: the oldest finished is forgotten. */
    int found = 0;
    for (int i = 0; i < 3; i++) {
        if (mc_master_query_task(M, id[i], &ti) == MC_OK) {
            found++;
            ck_assert_uint_eq(ti.status, MC_TASK_FAILED);
            ck_assert(strstr(ti.message, "timeout") != NULL);
        }
    }
    ck_assert_int_eq(found, 2);
    ck_assert_int_eq(mc_master_create_copy_task(M, NOW, K("k"), t2, 1, &id[3]), MC_OK);
}
END_TEST

START_TEST(copy_execution)
{
    put_on1("k");
    const char *t23[] = {"seg2", "seg3"}, *bad[] = {"nope"}, *t1[] = {"seg1"};
    mc_replica_desc_t src;
    mc_replica_list_t tgt;
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", bad, 1, &src, &tgt), MC_SEGMENT_NOT_FOUND);
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("zz"), "seg1", t23, 2, &src, &tgt), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg2", t23, 2, &src, &tgt), MC_REPLICA_NOT_FOUND);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_OBJECT_NO_REPLICATION_TASK);
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", t23, 2, &src, &tgt), MC_OK);
    ck_assert_str_eq(src.segment_name, "seg1");
    ck_assert_uint_eq(tgt.n, 2);
    ck_assert_uint_eq(tgt.r[0].status, MC_REPLICA_PROCESSING);
    ck_assert_str_eq(tgt.r[0].segment_name, "seg2");
    ck_assert_str_eq(tgt.r[1].segment_name, "seg3");
    /* While copying: one task per key, no upsert, no eviction of the source. */
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", t23, 2, &src, &tgt), MC_OBJECT_HAS_REPLICATION_TASK);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("k"), 1000, &c, &l), MC_OBJECT_HAS_REPLICATION_TASK);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), true), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert_uint_eq(l.n, 1); /* targets not readable yet */
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(2), K("k")), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_move_end(M, NOW, U(1), K("k")), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_OK);
    ck_assert_uint_eq(fx_nreplicas("k"), 3);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_OBJECT_NO_REPLICATION_TASK);
    /* A target that already holds a replica is skipped. */
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg2", t1, 1, &src, &tgt), MC_OK);
    ck_assert_uint_eq(tgt.n, 0);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), true), MC_OBJECT_HAS_REPLICATION_TASK);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_OK);
    NOW += 10 * SEC;
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OK);
}
END_TEST

START_TEST(copy_revoke_and_source_gone)
{
    put_on1("k");
    const char *t23[] = {"seg2", "seg3"};
    mc_replica_desc_t src;
    mc_replica_list_t tgt;
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", t23, 2, &src, &tgt), MC_OK);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 3000);
    ck_assert_int_eq(mc_master_copy_revoke(M, NOW, U(2), K("k")), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_copy_revoke(M, NOW, U(1), K("k")), MC_OK);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 1000);
    ck_assert_uint_eq(fx_nreplicas("k"), 1);
    /* Source segment unmounted mid-copy: CopyEnd reports the loss. */
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", t23, 2, &src, &tgt), MC_OK);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, U(101), U(1)), MC_OK);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_REPLICA_IS_GONE);
    ck_assert(!fx_exists("k"));
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
}
END_TEST

START_TEST(move_execution)
{
    put_on1("k");
    mc_replica_desc_t src;
    mc_replica_list_t tgt, l;
    ck_assert_int_eq(mc_master_move_start(M, NOW, U(1), K("k"), "seg1", "seg1", &src, &tgt), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_move_start(M, NOW, U(1), K("k"), "seg1", "seg2", &src, &tgt), MC_OK);
    ck_assert_uint_eq(tgt.n, 1);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_move_end(M, NOW, U(1), K("k")), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.r[0].segment_name, "seg2");
    uint64_t used, cap;
    ck_assert_int_eq(mc_master_query_segment(M, "seg1", &used, &cap), MC_OK);
    ck_assert_uint_eq(used, 0);
    /* Move back while leased (the Get above): the source stays parked. */
    ck_assert_int_eq(mc_master_move_start(M, NOW, U(2), K("k"), "seg2", "seg3", &src, &tgt), MC_OK);
    ck_assert_int_eq(mc_master_move_revoke(M, NOW, U(1), K("k")), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_move_end(M, NOW, U(2), K("k")), MC_OK);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_int_eq(mc_master_move_start(M, NOW, U(2), K("k"), "seg3", "seg1", &src, &tgt), MC_OK);
    ck_assert_int_eq(mc_master_move_revoke(M, NOW, U(2), K("k")), MC_OK);
    ck_assert_uint_eq(fx_nreplicas("k"), 1);
}
END_TEST

START_TEST(stale_replication_reclaimed)
{
    put_on1("k");
    const char *t2[] = {"seg2"};
    mc_replica_desc_t src;
    mc_replica_list_t tgt;
    ck_assert_int_eq(mc_master_copy_start(M, NOW, U(1), K("k"), "seg1", t2, 1, &src, &tgt), MC_OK);
    NOW += 599 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 2000);
    NOW += 1 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 1000);
    ck_assert_int_eq(mc_master_copy_end(M, NOW, U(1), K("k")), MC_OBJECT_NO_REPLICATION_TASK);
    /* The source is unpinned: evictable again. */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 1);
}
END_TEST

Suite *store_master_task_suite(void);
Suite *store_master_task_suite(void)
{
    Suite *s = suite_create("store_master_task");
    TCase *tc = tcase_create("task");
    tcase_add_checked_fixture(tc, setup3, fx_teardown);
    tcase_add_test(tc, copy_task_lifecycle);
    tcase_add_test(tc, move_task_validation);
    tcase_add_test(tc, pending_limit_timeouts_pruning);
    tcase_add_test(tc, copy_execution);
    tcase_add_test(tc, copy_revoke_and_source_gone);
    tcase_add_test(tc, move_execution);
    tcase_add_test(tc, stale_replication_reclaimed);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_task_suite)
