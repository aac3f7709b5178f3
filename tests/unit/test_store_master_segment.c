/* Master core: segments, clients, liveness (spec §4.15), re-expressing
 * segment_test, the mount/unmount/graceful tests of master_service_test and
 * the client-expiry scenarios of issue 3 (R=1 lost, R=2 survives, leased
 * space never reused while the lease lasts, master stall). */
#include "test_store_fixture.h"

START_TEST(mount_validation_and_idempotence)
{
    mc_segment_info_t s = fx_seg(1, 1 << 20);
    s.base = 0;
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s), MC_INVALID_PARAMS);
    s = fx_seg(1, 0);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s), MC_INVALID_PARAMS);
    s = fx_seg(1, 1 << 20);
    s.name = "";
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s), MC_INVALID_PARAMS);
    s = fx_seg(1, 1 << 20);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s), MC_OK);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s), MC_OK); /* duplicate = success */
    ck_assert_uint_eq(fx_stats().segments, 1);
    ck_assert_uint_eq(fx_stats().capacity_bytes, 1 << 20);
    ck_assert_uint_eq(mc_master_segment_status(M, s.id), MC_SEGMENT_OK);
    /* Unmount: unknown id is success; the record goes away. */
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, U(999), U(1)), MC_OK);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, s.id, U(1)), MC_OK);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, s.id, U(1)), MC_OK);
    ck_assert_uint_eq(fx_stats().segments, 0);
    ck_assert_uint_eq(fx_stats().capacity_bytes, 0);
    ck_assert_uint_eq(mc_master_segment_status(M, s.id), MC_SEGMENT_UNDEFINED);
}
END_TEST

START_TEST(ping_and_remount)
{
    uint8_t cs;
    uint64_t vv;
    ck_assert_int_eq(mc_master_ping(M, NOW, U(1), &cs, &vv), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_NEED_REMOUNT);
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(mc_master_ping(M, NOW, U(1), &cs, &vv), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_NEED_REMOUNT); /* mount does not make it OK */
    mc_segment_info_t segs[2] = {fx_seg(1, 1 << 20), fx_seg(2, 1 << 20)};
    segs[1].name = "seg1";
    /* Mismatched fields of a known segment: rejected, nothing changes. */
    mc_segment_info_t bad[1] = {fx_seg(1, 2 << 20)};
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(1), bad, 1), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(7), segs, 1), MC_INVALID_PARAMS); /* not the owner */
    ck_assert_int_eq(mc_master_ping(M, NOW, U(1), &cs, &vv), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_NEED_REMOUNT);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(1), segs, 2), MC_OK);
    ck_assert_uint_eq(fx_stats().segments, 2);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(1), segs, 2), MC_OK); /* idempotent */
    ck_assert_int_eq(mc_master_ping(M, NOW, U(1), &cs, &vv), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_OK);
    /* Empty remount also makes a client OK. */
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(3), NULL, 0), MC_OK);
    ck_assert_int_eq(mc_master_ping(M, NOW, U(3), &cs, &vv), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_OK);
}
END_TEST

START_TEST(unmount_drops_objects_living_only_there)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "r2_%d", i);
        ck_assert_int_eq(fx_put(key, 1000, 2), MC_OK);
    }
    mc_replicate_config_t c = fx_cfg(1);
    c.preferred_segment = "seg2";
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("only2"), 1000, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("only2"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    c.preferred_segment = "seg1";
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("only1"), 1000, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("only1"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    mc_segment_info_t s2 = fx_seg(2, 1 << 20);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, s2.id, U(2)), MC_OK);
    ck_assert(!fx_exists("only2"));
    ck_assert(fx_exists("only1"));
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "r2_%d", i);
        ck_assert_uint_eq(fx_nreplicas(key), 1);
        ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K(key), &l), MC_OK);
        ck_assert_str_eq(l.r[0].segment_name, "seg1");
    }
    ck_assert_uint_eq(fx_stats().keys, 21);
}
END_TEST

START_TEST(unmount_during_put)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("w"), 1000, &c, &l), MC_OK);
    mc_segment_info_t s1 = fx_seg(1, 1 << 20);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, s1.id, U(1)), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("w"), MC_REPLICA_TYPE_ALL, NULL), MC_OBJECT_NOT_FOUND);
    /* The writer's buffer stays reserved until the release timeout. */
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_uint_eq(fx_stats().segments, 1);
    ck_assert_uint_eq(mc_master_segment_status(M, s1.id), MC_SEGMENT_UNMOUNTING);
    NOW += 600 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().segments, 0);
}
END_TEST

/* Client expiry with R=1 and R=2 after the TTL of missed pings. */
START_TEST(client_expiry_r1_lost_r2_survives)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    fx_mount(3, 1 << 20);
    int r1_on_2 = 0;
    for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "a%d", i);
        ck_assert_int_eq(fx_put(key, 1000, 1), MC_OK);
        mc_replica_list_t l;
        ck_assert_int_eq(mc_master_get_replica_list_admin(M, K(key), &l), MC_OK);
        r1_on_2 += strcmp(l.r[0].segment_name, "seg2") == 0;
        snprintf(key, sizeof key, "b%d", i);
        ck_assert_int_eq(fx_put(key, 1000, 2), MC_OK);
    }
    ck_assert_int_gt(r1_on_2, 0);
    /* Clients 1 and 3 keep pinging every second, client 2 stops. */
    for (int t = 1; t <= 10; t++) {
        NOW += SEC;
        mc_master_ping(M, NOW, U(1), NULL, NULL);
        mc_master_ping(M, NOW, U(3), NULL, NULL);
        mc_master_tick(M, NOW);
        if (t < 10)
            ck_assert_uint_eq(fx_stats().clients, 3);
    }
    ck_assert_uint_eq(fx_stats().clients, 2);
    ck_assert_uint_eq(mc_master_query_segment(M, "seg2", &(uint64_t){0}, &(uint64_t){0}), MC_SEGMENT_NOT_FOUND);
    int a_left = 0;
    for (int i = 0; i < 30; i++) {
        char key[16];
        snprintf(key, sizeof key, "a%d", i);
        a_left += fx_exists(key);
        snprintf(key, sizeof key, "b%d", i);
        ck_assert_msg(fx_exists(key), "R=2 object %s lost", key);
        ck_assert_uint_ge(fx_nreplicas(key), 1);
    }
    ck_assert_int_eq(a_left, 30 - r1_on_2);
    /* The client comes back: NEED_REMOUNT, then remount gives an empty segment. */
    uint8_t cs;
    ck_assert_int_eq(mc_master_ping(M, NOW, U(2), &cs, NULL), MC_OK);
    ck_assert_uint_eq(cs, MC_CLIENT_STATUS_NEED_REMOUNT);
    mc_segment_info_t s2 = fx_seg(2, 1 << 20);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(2), &s2, 1), MC_OK);
    uint64_t used, cap;
    ck_assert_int_eq(mc_master_query_segment(M, "seg2", &used, &cap), MC_OK);
    ck_assert_uint_eq(used, 0);
}
END_TEST

/* The fix: space under a reader's lease is not reused while the lease
 * lasts, even when its owner expires and re-mounts the same memory. */
START_TEST(expiry_keeps_leased_space_parked)
{
    fx_mount(1, 4096);
    ck_assert_int_eq(fx_put("k", 4096, 1), MC_OK);
    mc_replica_list_t l;
    NOW += 5 * SEC;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK); /* lease to NOW+10 s */
    uint64_t addr = l.r[0].buffer_address;
    mc_master_client_expired(M, NOW, U(1));
    ck_assert(!fx_exists("k"));
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    /* Same client, same memory, remounted at once: revived with the range reserved. */
    mc_segment_info_t s1 = fx_seg(1, 4096);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(1), &s1, 1), MC_OK);
    mc_replicate_config_t c = fx_cfg(1);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("n"), 64, &c, &l), MC_NO_AVAILABLE_HANDLE);
    NOW += 10 * SEC;
    mc_master_ping(M, NOW, U(1), NULL, NULL);
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("n"), 4096, &c, &l), MC_OK);
    ck_assert_uint_eq(l.r[0].buffer_address, addr);
}
END_TEST

/* Master stall longer than the client TTL: nobody is expired for it. */
START_TEST(master_stall_does_not_expire_clients)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 2), MC_OK);
    mc_master_tick(M, NOW);
    NOW += 30 * SEC; /* the master was stopped */
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().clients, 2);
    ck_assert_uint_eq(fx_nreplicas("k"), 2);
    /* After the stall, a client that really stopped pinging still expires. */
    for (int t = 0; t < 10; t++) {
        NOW += SEC;
        mc_master_ping(M, NOW, U(1), NULL, NULL);
        mc_master_tick(M, NOW);
    }
    ck_assert_uint_eq(fx_stats().clients, 1);
    ck_assert_uint_eq(fx_nreplicas("k"), 1);
}
END_TEST

START_TEST(graceful_unmount)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    c.preferred_segment = "seg2";
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("on2"), 100, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("on2"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    mc_uuid_t id2 = fx_seg(2, 0).id;
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, id2, U(1), 5000), MC_INVALID_PARAMS); /* not owner */
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, U(12345), U(2), 5000), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, id2, U(2), 5000), MC_OK);
    ck_assert_uint_eq(mc_master_segment_status(M, id2), MC_SEGMENT_GRACEFULLY_UNMOUNTING);
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, id2, U(2), 5000), MC_OK); /* idempotent */
    ck_assert_uint_eq(mc_master_next_deadline(M), NOW + 5 * SEC);
    /* No new allocations there, still readable. */
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "n%d", i);
        ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 100, &c, &l), MC_OK);
        ck_assert_str_eq(l.r[0].segment_name, "seg1");
    }
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("on2"), &l), MC_OK);
    NOW += 4 * SEC;
    mc_master_ping(M, NOW, U(1), NULL, NULL);
    mc_master_ping(M, NOW, U(2), NULL, NULL);
    mc_master_tick(M, NOW);
    ck_assert(fx_exists("on2"));
    NOW += 1 * SEC;
    mc_master_tick(M, NOW);
    ck_assert(!fx_exists("on2"));
    /* on2 was leased when the unmount happened: its range stays parked. */
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_uint_eq(mc_master_segment_status(M, id2), MC_SEGMENT_UNMOUNTING);
    ck_assert_int_eq(mc_master_graceful_unmount_segment(M, NOW, id2, U(2), 5000), MC_UNAVAILABLE_IN_CURRENT_STATUS);
    ck_assert_int_eq(mc_master_unmount_segment(M, NOW, id2, U(2)), MC_UNAVAILABLE_IN_CURRENT_STATUS);
    NOW += 5 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(mc_master_segment_status(M, id2), MC_SEGMENT_UNDEFINED);
}
END_TEST

static int nnames;
static void count_name(void *arg, const char *name)
{
    (void)arg;
    (void)name;
    nnames++;
}

/* Registration keys ride along: a replica descriptor carries its segment's
 * rkey. A mount under a segment name owned by another client UUID (the
 * owner restarted under the same host:port) drops the dead owner's
 * segment at once, with its replicas, as its expiry would; the same
 * client mounting a second segment under its name drops nothing. */
START_TEST(restart_under_same_name_drops_stale_segment)
{
    mc_segment_info_t s1 = fx_seg(1, 1 << 20), s2 = fx_seg(2, 1 << 20);
    s1.rkey = 0x1111;
    s2.rkey = 0x2222;
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &s1), MC_OK);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(2), &s2), MC_OK);
    ck_assert_int_eq(fx_put("both", 4096, 2), MC_OK);
    ck_assert_int_eq(fx_put("only1", 4096, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list_admin(M, K("both"), &l), MC_OK);
    ck_assert_uint_eq(l.n, 2);
    for (uint32_t i = 0; i < l.n; i++)
        ck_assert_uint_eq(l.r[i].rkey, strcmp(l.r[i].segment_name, "seg1") == 0 ? 0x1111 : 0x2222);
    bool only1_on_1 = fx_nreplicas("only1") == 1 &&
                      mc_master_get_replica_list_admin(M, K("only1"), &l) == MC_OK &&
                      strcmp(l.r[0].segment_name, "seg1") == 0;

    /* client 9 = the restarted owner of "seg1", with fresh memory and key */
    mc_segment_info_t n1 = fx_seg(1, 1 << 20);
    n1.id = U(901);
    n1.rkey = 0x9999;
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(9), &n1), MC_OK);
    ck_assert_uint_eq(mc_master_segment_status(M, s1.id), MC_SEGMENT_UNDEFINED); /* gone, not parked */
    ck_assert_uint_eq(mc_master_segment_status(M, n1.id), MC_SEGMENT_OK);
    ck_assert_uint_eq(fx_stats().segments, 2);
    ck_assert_uint_eq(fx_nreplicas("both"), 1); /* the seg2 replica survives */
    ck_assert_int_eq(mc_master_get_replica_list_admin(M, K("both"), &l), MC_OK);
    ck_assert_str_eq(l.r[0].segment_name, "seg2");
    ck_assert_uint_eq(l.r[0].rkey, 0x2222);
    if (only1_on_1)
        ck_assert(!fx_exists("only1"));
    fx_check();

    /* the new owner's own second segment under its name: nothing dropped */
    mc_segment_info_t n2 = fx_seg(1, 1 << 20);
    n2.id = U(902);
    n2.base += 1 << 20;
    n2.rkey = 0x999a;
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(9), &n2), MC_OK);
    ck_assert_uint_eq(mc_master_segment_status(M, n1.id), MC_SEGMENT_OK);
    ck_assert_uint_eq(fx_stats().segments, 3);
    /* a remount by a third UUID under that name drops both of client 9's */
    mc_segment_info_t r1 = fx_seg(1, 1 << 20);
    r1.id = U(903);
    ck_assert_int_eq(mc_master_remount_segments(M, NOW, U(10), &r1, 1), MC_OK);
    ck_assert_uint_eq(mc_master_segment_status(M, n1.id), MC_SEGMENT_UNDEFINED);
    ck_assert_uint_eq(mc_master_segment_status(M, n2.id), MC_SEGMENT_UNDEFINED);
    ck_assert_uint_eq(mc_master_segment_status(M, s2.id), MC_SEGMENT_OK);
    ck_assert_uint_eq(fx_stats().segments, 2);
    fx_check();
}
END_TEST

START_TEST(segment_names_listing)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    nnames = 0;
    mc_master_for_each_segment_name(M, count_name, NULL);
    ck_assert_int_eq(nnames, 2);
}
END_TEST

Suite *store_master_segment_suite(void);
Suite *store_master_segment_suite(void)
{
    Suite *s = suite_create("store_master_segment");
    TCase *tc = tcase_create("segment");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, mount_validation_and_idempotence);
    tcase_add_test(tc, ping_and_remount);
    tcase_add_test(tc, unmount_drops_objects_living_only_there);
    tcase_add_test(tc, unmount_during_put);
    tcase_add_test(tc, client_expiry_r1_lost_r2_survives);
    tcase_add_test(tc, expiry_keeps_leased_space_parked);
    tcase_add_test(tc, master_stall_does_not_expire_clients);
    tcase_add_test(tc, graceful_unmount);
    tcase_add_test(tc, segment_names_listing);
    tcase_add_test(tc, restart_under_same_name_drops_stale_segment);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_segment_suite)
