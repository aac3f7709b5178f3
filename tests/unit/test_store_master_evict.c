/* Master core: eviction and pins (spec §4.11, §4.12), re-expressing
 * master_service_evict_scenario_test and the soft/hard pin tests of
 * master_service_test with exact counts. */
#include "test_store_fixture.h"

static void put_n(const char *prefix, int n, uint64_t size, uint64_t step_ns)
{
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        ck_assert_int_eq(fx_put(key, size, 1), MC_OK);
        NOW += step_ns;
    }
}

static int count_present(const char *prefix, int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s%d", prefix, i);
        n += fx_exists(key);
    }
    return n;
}

START_TEST(evict_oldest_400_times_005)
{
    fx_mount(1, 64 << 20);
    put_n("k", 400, 1024, MS);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.05, 0.05), 20);
    ck_assert_int_eq(count_present("k", 0, 20), 0);
    ck_assert_int_eq(count_present("k", 20, 400), 380);
    mc_master_stats_t st = fx_stats();
    ck_assert_uint_eq(st.evicted_keys, 20);
    ck_assert_uint_eq(st.evicted_bytes, 20 * 1024);
    ck_assert_uint_eq(st.successful_evictions, 1);
    ck_assert_uint_eq(st.allocated_bytes, 380 * 1024);
}
END_TEST

START_TEST(evict_250_times_010)
{
    fx_mount(1, 64 << 20);
    put_n("k", 250, 1024, 0); /* same instant: insertion order breaks ties */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.10, 0.10), 25);
    ck_assert_int_eq(count_present("k", 0, 25), 0);
    ck_assert_int_eq(count_present("k", 25, 250), 225);
}
END_TEST

START_TEST(lru_by_lease_timeout)
{
    fx_mount(1, 64 << 20);
    put_n("k", 10, 1024, MS);
    /* Reading the oldest makes it the youngest (lease_timeout moves). */
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k0"), &l), MC_OK);
    NOW += 11 * SEC; /* lease expired */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.2, 0.2), 2);
    ck_assert(fx_exists("k0"));
    ck_assert(!fx_exists("k1"));
    ck_assert(!fx_exists("k2"));
}
END_TEST

/* 20 objects, 10 soft pinned, ratio 0.8 => 10 unpinned + 6 oldest pinned. */
static void put_pinned(const char *key)
{
    mc_replicate_config_t c = fx_cfg(1);
    c.soft_pin_action = MC_SOFT_PIN_ENABLE;
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 1024, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
}

START_TEST(soft_pinned_are_second_pass)
{
    fx_mount(1, 64 << 20);
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        put_pinned(key);
        NOW += MS;
    }
    put_n("u", 10, 1024, MS);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 10);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.8, 0.8), 16);
    ck_assert_int_eq(count_present("u", 0, 10), 0);
    ck_assert_int_eq(count_present("p", 0, 6), 0);
    ck_assert_int_eq(count_present("p", 6, 10), 4);
}
END_TEST

static void tweak_no_soft_evict(mc_master_config_t *c) { c->allow_evict_soft_pinned_objects = false; }

START_TEST(soft_pinned_never_when_disallowed)
{
    mc_master_destroy(M);
    fx_setup_cfg(tweak_no_soft_evict);
    fx_mount(1, 64 << 20);
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        put_pinned(key);
    }
    put_n("u", 10, 1024, MS);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.8, 0.8), 10);
    ck_assert_int_eq(count_present("p", 0, 10), 10);
}
END_TEST

START_TEST(hard_pinned_never_and_not_in_base)
{
    fx_mount(1, 64 << 20);
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "h%d", i);
        mc_replicate_config_t c = fx_cfg(1);
        c.with_hard_pin = true;
        mc_replica_list_t l;
        ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 1024, &c, &l), MC_OK);
        ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    }
    put_n("u", 10, 1024, MS);
    /* base = 10 (hard pinned not counted): ceil(10 * 0.5) = 5. */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.5, 0.5), 5);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 5);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert_int_eq(count_present("h", 0, 10), 10);
    /* Hard-pinned objects can still be removed. */
    ck_assert_int_eq(mc_master_remove(M, NOW, K("h0"), false), MC_OK);
}
END_TEST

/* TryEvictLeasedObject: leased objects count in the base but are skipped. */
START_TEST(leased_never_evicted)
{
    fx_mount(1, 64 << 20);
    put_n("k", 10, 1024, MS);
    mc_replica_list_t l;
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K(key), &l), MC_OK);
    }
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert_uint_eq(fx_stats().keys, 10);
    NOW += 10 * SEC;
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.5, 0.5), 5);
}
END_TEST

START_TEST(in_progress_puts_are_not_evicted)
{
    fx_mount(1, 64 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("w"), 1024, &c, &l), MC_OK);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 1.0, 1.0), 0);
    ck_assert_uint_eq(fx_stats().keys, 1);
}
END_TEST

/* Two passes: pass 2 tops up to the lower bound. */
START_TEST(two_pass_counts)
{
    fx_mount(1, 64 << 20);
    put_n("k", 100, 1024, MS);
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.1, 0.3), 30);
    ck_assert_uint_eq(fx_stats().keys, 70);
}
END_TEST

START_TEST(watermark_triggers_eviction)
{
    fx_mount(1, 100 * 1024);
    put_n("k", 90, 1024, MS); /* used 0.90: not above */
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 0);
    ck_assert_int_eq(fx_put("k90", 1024, 1), MC_OK); /* 0.91 */
    NOW += MS;
    /* target = max(0.05, 0.91 - 0.9 + 0.05) = 0.06 over base 91 => 6;
     * lower = max(0.03, 0.01) = 0.03 => 3, already met. */
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 6);
    ck_assert_uint_eq(fx_stats().keys, 85);
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 0);
}
END_TEST

static void tweak_no_watermark(mc_master_config_t *c) { c->eviction_high_watermark_ratio = 1.0; }

START_TEST(full_segment_then_put_fails_then_evicts)
{
    mc_master_destroy(M);
    fx_setup_cfg(tweak_no_watermark); /* no proactive eviction */
    fx_mount(1, 20 * 1024);
    put_n("k", 20, 1024, MS);
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 0);
    ck_assert_int_eq(fx_put("x", 1024, 1), MC_NO_AVAILABLE_HANDLE);
    ck_assert_uint_eq(fx_stats().put_start_alloc_failures, 1);
    /* need_eviction: target 0.05 of 20 => 1. */
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 1);
    ck_assert_uint_eq(mc_master_evict_tick(M, NOW), 0); /* flag cleared */
    ck_assert_int_eq(fx_put("x", 1024, 1), MC_OK);
}
END_TEST

/* Soft pin: lifetime starts at the first PutEnd, expires without
 * reactivation, reads do not extend it. */
START_TEST(soft_pin_commit_and_expiry)
{
    fx_mount(1, 64 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    c.soft_pin_action = MC_SOFT_PIN_ENABLE;
    c.has_soft_pin_ttl = true;
    c.soft_pin_ttl_ms = 1000;
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("p"), 1024, &c, &l), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0); /* pending only */
    NOW += 5 * SEC;
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("p"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 1);
    ck_assert_int_eq(fx_put("u", 1024, 1), MC_OK);
    /* Within the pin: only u goes. */
    NOW += 999 * MS;
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.5, 0.5), 1);
    ck_assert(fx_exists("p"));
    ck_assert(!fx_exists("u"));
    /* Repeated End does not refresh; a read does not either. */
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("p"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    NOW += 1 * MS;
    ck_assert_int_eq(fx_put("u2", 1024, 1), MC_OK);
    NOW += 1 * MS;
    /* Pin expired: p is ordinary cache and the older one. */
    ck_assert_uint_eq(mc_master_batch_evict(M, NOW, 0.5, 0.5), 1);
    ck_assert(!fx_exists("p"));
    ck_assert(fx_exists("u2"));
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0);
    /* The periodic sweep also drops expired pins (metric stays true). */
    put_pinned("q");
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 1);
    mc_master_tick(M, NOW);
    NOW += 30 * 60 * SEC;
    mc_master_ping(M, NOW, U(1), NULL, NULL);
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0);
    ck_assert(fx_exists("q"));
}
END_TEST

START_TEST(soft_pin_ttl_zero_is_disable)
{
    fx_mount(1, 64 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    c.soft_pin_action = MC_SOFT_PIN_ENABLE;
    c.has_soft_pin_ttl = true;
    c.soft_pin_ttl_ms = 0;
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("p"), 1024, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("p"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(fx_stats().soft_pinned_keys, 0);
}
END_TEST

/* Exactly the k candidates with the smallest (lease_timeout, insertion)
 * go, whatever the read pattern (checks the partial selection). */
START_TEST(evicts_exactly_the_oldest_k)
{
    enum { N = 600 };
    static uint64_t lease[N];
    fx_mount(1, 64 << 20);
    mc_rng_t r;
    mc_rng_seed(&r, 7 + (uint64_t)_i);
    uint64_t t0 = NOW;
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        NOW = t0 + mc_rng_below(&r, 50) * MS; /* many equal PutEnd times */
        ck_assert_int_eq(fx_put(key, 1024, 1), MC_OK);
        lease[i] = NOW;
    }
    for (int j = 0; j < 400; j++) {
        int i = (int)mc_rng_below(&r, N);
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        NOW = t0 + (60 + mc_rng_below(&r, 100)) * MS;
        mc_replica_list_t l;
        ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K(key), &l), MC_OK);
        if (NOW + 10 * SEC > lease[i])
            lease[i] = NOW + 10 * SEC;
    }
    NOW = t0 + 20 * SEC;
    uint64_t k = 1 + mc_rng_below(&r, N - 1);
    double ratio = (double)k / N;
    uint64_t got = mc_master_batch_evict(M, NOW, ratio, ratio);
    uint64_t want = (uint64_t)((double)N * ratio);
    if ((double)want < (double)N * ratio)
        want++;
    ck_assert_uint_eq(got, want);
    /* The survivors' smallest (lease, i) is above every evicted one's. */
    uint64_t max_ev_l = 0, min_kept_l = UINT64_MAX;
    int max_ev_i = -1, min_kept_i = N;
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        if (fx_exists(key)) {
            if (lease[i] < min_kept_l || (lease[i] == min_kept_l && i < min_kept_i)) {
                min_kept_l = lease[i];
                min_kept_i = i;
            }
        } else if (lease[i] > max_ev_l || (lease[i] == max_ev_l && i > max_ev_i)) {
            max_ev_l = lease[i];
            max_ev_i = i;
        }
    }
    ck_assert(max_ev_l < min_kept_l || (max_ev_l == min_kept_l && max_ev_i < min_kept_i));
}
END_TEST

Suite *store_master_evict_suite(void);
Suite *store_master_evict_suite(void)
{
    Suite *s = suite_create("store_master_evict");
    TCase *tc = tcase_create("evict");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, evict_oldest_400_times_005);
    tcase_add_test(tc, evict_250_times_010);
    tcase_add_test(tc, lru_by_lease_timeout);
    tcase_add_test(tc, soft_pinned_are_second_pass);
    tcase_add_test(tc, soft_pinned_never_when_disallowed);
    tcase_add_test(tc, hard_pinned_never_and_not_in_base);
    tcase_add_test(tc, leased_never_evicted);
    tcase_add_test(tc, in_progress_puts_are_not_evicted);
    tcase_add_test(tc, two_pass_counts);
    tcase_add_test(tc, watermark_triggers_eviction);
    tcase_add_test(tc, full_segment_then_put_fails_then_evicts);
    tcase_add_test(tc, soft_pin_commit_and_expiry);
    tcase_add_test(tc, soft_pin_ttl_zero_is_disable);
    tcase_add_loop_test(tc, evicts_exactly_the_oldest_k, 0, 5);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_evict_suite)
