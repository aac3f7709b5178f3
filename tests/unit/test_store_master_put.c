/* Master core: put / get / exist / remove / leases / batch / regex,
 * re-expressing upstream's master_service_test, master_service_scenario_test
 * and batch_remove_test scenarios (spec §9.3) with exact codes. */
#include "test_store_fixture.h"

START_TEST(put_start_invalid_params)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(""), 100, &c, &l), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 0, &c, &l), MC_INVALID_PARAMS);
    c.replica_num = 0;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    c.replica_num = MC_STORE_MAX_REPLICAS + 1;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    /* Soft-pin request validation. */
    c = fx_cfg(1);
    c.has_soft_pin_ttl = true;
    c.soft_pin_ttl_ms = 1000;
    c.soft_pin_action = MC_SOFT_PIN_PRESERVE;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    c.soft_pin_action = MC_SOFT_PIN_DISABLE;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    c.soft_pin_action = MC_SOFT_PIN_ENABLE;
    c.soft_pin_ttl_ms = CFG.max_kv_soft_pin_ttl_ms + 1;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    c.soft_pin_action = 7;
    c.has_soft_pin_ttl = false;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_INVALID_PARAMS);
    ck_assert(!fx_exists("k"));
    ck_assert_uint_eq(fx_stats().keys, 0);
}
END_TEST

static void tweak_bad_pin(mc_master_config_t *c) { c->default_kv_soft_pin_ttl_ms = c->max_kv_soft_pin_ttl_ms + 1; }
static void tweak_bad_timeouts(mc_master_config_t *c) { c->put_start_release_timeout_ms = c->put_start_discard_timeout_ms; }

START_TEST(create_rejects_bad_config)
{
    mc_master_config_t c;
    mc_master_t *m;
    mc_rng_t r;
    mc_rng_seed(&r, 1);
    mc_master_config_default(&c);
    tweak_bad_pin(&c);
    ck_assert_int_eq(mc_master_create(&c, &r, &m), MC_INVALID_PARAMS);
    mc_master_config_default(&c);
    tweak_bad_timeouts(&c);
    ck_assert_int_eq(mc_master_create(&c, &r, &m), MC_INVALID_PARAMS);
    mc_master_config_default(&c);
    c.eviction_ratio = 1.5;
    ck_assert_int_eq(mc_master_create(&c, &r, &m), MC_INVALID_PARAMS);
}
END_TEST

/* master_service_scenario_test lifecycle. */
START_TEST(put_lifecycle)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    bool ex;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 1000, &c, &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(l.r[0].status, MC_REPLICA_PROCESSING);
    ck_assert_uint_eq(l.r[0].size, 1000);
    ck_assert_str_eq(l.r[0].endpoint, "seg1");
    ck_assert_uint_eq(l.r[0].buffer_address, 0x100000000ull);
    ck_assert_uint_eq(l.r[0].id, 1);
    /* In progress: not readable, not existing, not removable. */
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_exist_key(M, NOW, K("k"), &ex), MC_OK);
    ck_assert(!ex);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), true), MC_REPLICA_IS_NOT_READY);
    /* Second writer loses; other client cannot end or revoke. */
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(2), K("k"), 1000, &c, &l), MC_OBJECT_ALREADY_EXISTS);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL), MC_ILLEGAL_CLIENT);
    ck_assert_uint_eq(fx_stats().processing_keys, 1);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_uint_eq(fx_stats().processing_keys, 0);
    /* Idempotent retry of End; Revoke after End is an invalid write. */
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL), MC_INVALID_WRITE);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_DISK, NULL), MC_INVALID_PARAMS);
    /* First writer wins. */
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(2), K("k"), 10, &c, &l), MC_OBJECT_ALREADY_EXISTS);
    /* Fresh writes are unleased: removable at once. */
    ck_assert_int_eq(mc_master_get_replica_list_admin(M, K("k"), &l), MC_OK);
    ck_assert_uint_eq(l.r[0].status, MC_REPLICA_COMPLETE);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OBJECT_NOT_FOUND);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
}
END_TEST

START_TEST(end_revoke_absent_and_revoke_frees)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("x"), MC_REPLICA_TYPE_ALL, NULL), MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("x"), MC_REPLICA_TYPE_ALL), MC_OBJECT_NOT_FOUND);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("x"), 4096, &c, &l), MC_OK);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 4096);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("x"), MC_REPLICA_TYPE_MEMORY), MC_OK);
    /* parked until put_start_discard_timeout, then freed (test_store_master_revoke.c) */
    ck_assert_uint_eq(fx_stats().parked_bytes, 4096);
    ck_assert(!fx_exists("x"));
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("x"), MC_REPLICA_TYPE_ALL, NULL), MC_OBJECT_NOT_FOUND);
    /* The key is free again. */
    ck_assert_int_eq(fx_put("x", 10, 1), MC_OK);
}
END_TEST

START_TEST(no_segments_and_too_large)
{
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 100, &c, &l), MC_NO_AVAILABLE_HANDLE);
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), (1 << 20) + 1, &c, &l), MC_NO_AVAILABLE_HANDLE);
    ck_assert_uint_eq(fx_stats().put_start_alloc_failures, 2);
    /* Largest contiguous free region is the limit. */
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 1 << 20, &c, &l), MC_OK);
}
END_TEST

/* Replica counts 1..5, ReplicaSegmentsAreUnique, best effort. */
START_TEST(replica_counts_and_distinct_segments)
{
    for (int i = 1; i <= 5; i++)
        fx_mount(i, 1 << 20);
    for (uint32_t r = 1; r <= 5; r++) {
        for (int k = 0; k < 20; k++) {
            char key[32];
            snprintf(key, sizeof key, "r%u_%d", r, k);
            mc_replicate_config_t c = fx_cfg(r);
            mc_replica_list_t l;
            ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 1000, &c, &l), MC_OK);
            ck_assert_uint_eq(l.n, r);
            for (uint32_t i = 0; i < l.n; i++)
                for (uint32_t j = 0; j < i; j++)
                    ck_assert_str_ne(l.r[i].segment_name, l.r[j].segment_name);
            ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
            ck_assert_uint_eq(fx_nreplicas(key), r);
        }
    }
    ck_assert_uint_eq(fx_stats().put_start_partial_allocations, 0);
    /* Six replicas on five names: best effort gives five. */
    mc_replicate_config_t c = fx_cfg(6);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("six"), 1000, &c, &l), MC_OK);
    ck_assert_uint_eq(l.n, 5);
    ck_assert_uint_eq(fx_stats().put_start_partial_allocations, 1);
}
END_TEST

START_TEST(replication_factor_two_with_single_segment)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(2);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 1000, &c, &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(fx_stats().put_start_partial_allocations, 1);
}
END_TEST

START_TEST(two_segments_one_name_count_once)
{
    /* Replicas go on distinct names: a client with two segments is one name. */
    mc_segment_info_t a = fx_seg(1, 1 << 20), b = fx_seg(2, 1 << 20);
    b.name = "seg1";
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &a), MC_OK);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U(1), &b), MC_OK);
    mc_replicate_config_t c = fx_cfg(2);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 1000, &c, &l), MC_OK);
    ck_assert_uint_eq(l.n, 1);
    uint64_t used, cap;
    ck_assert_int_eq(mc_master_query_segment(M, "seg1", &used, &cap), MC_OK);
    ck_assert_uint_eq(used, 1000);
    ck_assert_uint_eq(cap, 2 << 20);
    ck_assert_int_eq(mc_master_query_segment(M, "nope", &used, &cap), MC_SEGMENT_NOT_FOUND);
}
END_TEST

START_TEST(preferred_segment_and_same_node)
{
    for (int i = 1; i <= 4; i++)
        fx_mount(i, 1 << 20);
    for (int k = 0; k < 20; k++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", k);
        mc_replicate_config_t c = fx_cfg(1);
        c.preferred_segment = "seg3";
        mc_replica_list_t l;
        ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K(key), 100, &c, &l), MC_OK);
        ck_assert_str_eq(l.r[0].segment_name, "seg3");
    }
    /* preferred list in order, first with room wins; R=2 takes both. */
    const char *prefs[] = {"nope", "seg4", "seg2"};
    mc_replicate_config_t c = fx_cfg(2);
    c.preferred_segments = prefs;
    c.n_preferred_segments = 3;
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("pl"), 100, &c, &l), MC_OK);
    ck_assert_str_eq(l.r[0].segment_name, "seg4");
    ck_assert_str_eq(l.r[1].segment_name, "seg2");
    /* prefer_alloc_in_same_node: client 2 writes into its own segment. */
    for (int k = 0; k < 20; k++) {
        char key[16];
        snprintf(key, sizeof key, "s%d", k);
        mc_replicate_config_t s = fx_cfg(1);
        s.prefer_alloc_in_same_node = true;
        ck_assert_int_eq(mc_master_put_start(M, NOW, U(2), K(key), 100, &s, &l), MC_OK);
        ck_assert_str_eq(l.r[0].segment_name, "seg2");
    }
    /* Preferred segment full: falls back to another one. */
    mc_replicate_config_t big = fx_cfg(1);
    big.preferred_segment = "seg1";
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("big1"), 1 << 20, &big, &l), MC_OK);
    ck_assert_str_eq(l.r[0].segment_name, "seg1");
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("big2"), 1000, &big, &l), MC_OK);
    ck_assert_str_ne(l.r[0].segment_name, "seg1");
}
END_TEST

/* RemoveLeasedObject: a read lease blocks remove until the TTL passes. */
START_TEST(lease_blocks_remove_until_ttl)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("k", 100, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert_uint_eq(l.lease_ttl_ms, 10000);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OBJECT_HAS_LEASE);
    NOW += 9999 * MS;
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OBJECT_HAS_LEASE);
    NOW += 1 * MS;
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), false), MC_OK);
}
END_TEST

START_TEST(exist_and_get_size_grant_leases)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("a", 100, 1), MC_OK);
    ck_assert_int_eq(fx_put("b", 200, 1), MC_OK);
    bool ex;
    ck_assert_int_eq(mc_master_exist_key(M, NOW, K("a"), &ex), MC_OK);
    ck_assert(ex);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), false), MC_OBJECT_HAS_LEASE);
    uint64_t sz;
    ck_assert_int_eq(mc_master_get_size(M, NOW, K("b"), &sz), MC_OK);
    ck_assert_uint_eq(sz, 200);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("b"), false), MC_OBJECT_HAS_LEASE);
    ck_assert_int_eq(mc_master_get_size(M, NOW, K("zz"), &sz), MC_OBJECT_NOT_FOUND);
    /* Admin reads grant nothing. */
    ck_assert_int_eq(fx_put("c", 10, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list_admin(M, K("c"), &l), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("c"), false), MC_OK);
    /* Lease extends as max(old, now + ttl). */
    NOW += 5 * SEC;
    ck_assert_int_eq(mc_master_exist_key(M, NOW, K("a"), &ex), MC_OK);
    NOW += 6 * SEC;
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), false), MC_OBJECT_HAS_LEASE);
    NOW += 4 * SEC;
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), false), MC_OK);
}
END_TEST

/* ForceRemove*: force bypasses only the lease; the space stays parked
 * until the lease ends (our fix: upstream frees it at once). */
START_TEST(force_remove_parks_leased_space)
{
    fx_mount(1, 4096);
    ck_assert_int_eq(fx_put("k", 4096, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), true), MC_OK);
    ck_assert(!fx_exists("k"));
    mc_master_stats_t st = fx_stats();
    ck_assert_uint_eq(st.parked_buffers, 1);
    ck_assert_uint_eq(st.allocated_bytes, 4096);
    /* The reader's bytes cannot be handed out while it reads. */
    ck_assert_int_eq(fx_put("n", 64, 1), MC_NO_AVAILABLE_HANDLE);
    NOW += 10 * SEC;
    mc_master_ping(M, NOW, U(1), NULL, NULL); /* keep the segment owner alive */
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
    ck_assert_int_eq(fx_put("n", 4096, 1), MC_OK);
}
END_TEST

START_TEST(remove_all_skips_leased_unless_forced)
{
    fx_mount(1, 1 << 20);
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(fx_put(key, 100, 1), MC_OK);
    }
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k3"), &l), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k7"), &l), MC_OK);
    mc_replicate_config_t c = fx_cfg(1);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("busy"), 100, &c, &l), MC_OK);
    ck_assert_uint_eq(mc_master_remove_all(M, NOW, false), 8);
    ck_assert_uint_eq(fx_stats().keys, 3);
    ck_assert_uint_eq(mc_master_remove_all(M, NOW, true), 2); /* in-progress put stays */
    ck_assert_uint_eq(fx_stats().keys, 1);
    ck_assert_uint_eq(mc_master_remove_all(M, NOW, true), 0);
}
END_TEST

START_TEST(remove_by_regex_search_semantics)
{
    fx_mount(1, 1 << 20);
    const char *keys[] = {"apple", "pineapple", "banana", "grape", "app", "xapplex", "cherry"};
    for (size_t i = 0; i < MC_ARRAY_LEN(keys); i++)
        ck_assert_int_eq(fx_put(keys[i], 64, 1), MC_OK);
    char err[256] = "";
    uint64_t n = 99;
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "(", false, &n, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_ptr_nonnull(strstr(err, "invalid regex '('"));
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "[a-", false, &n, NULL, 0), MC_INVALID_PARAMS);
    /* Search semantics: "app" matches anywhere. A leased match is skipped. */
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("xapplex"), &l), MC_OK);
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "app", false, &n, err, sizeof err), MC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(fx_exists("xapplex"));
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "^(ban|gr)a.*(a|e)$", false, &n, err, sizeof err), MC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "app", true, &n, err, sizeof err), MC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(mc_master_remove_by_regex(M, NOW, "^cherry$", false, &n, err, sizeof err), MC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(fx_stats().keys, 0);
}
END_TEST

static int regex_hits;
static void count_hit(void *arg, mc_slice_t key, const mc_replica_list_t *l)
{
    (void)arg;
    (void)key;
    ck_assert_uint_eq(l->n, 1);
    regex_hits++;
}

START_TEST(get_replica_list_by_regex)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("layer.0.k", 64, 1), MC_OK);
    ck_assert_int_eq(fx_put("layer.1.k", 64, 1), MC_OK);
    ck_assert_int_eq(fx_put("other", 64, 1), MC_OK);
    regex_hits = 0;
    ck_assert_int_eq(mc_master_get_replica_list_by_regex(M, NOW, "layer\\.[0-9]", count_hit, NULL, NULL, 0), MC_OK);
    ck_assert_int_eq(regex_hits, 2);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("layer.0.k"), false), MC_OBJECT_HAS_LEASE);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("other"), false), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list_by_regex(M, NOW, "*(", count_hit, NULL, NULL, 0), MC_INVALID_PARAMS);
}
END_TEST

/* batch_remove_test: mixed existence, duplicates, empty keys, codes. */
START_TEST(batch_remove)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("a", 64, 1), MC_OK);
    ck_assert_int_eq(fx_put("b", 64, 1), MC_OK);
    ck_assert_int_eq(fx_put("c", 64, 1), MC_OK);
    ck_assert_int_eq(fx_put("key with spaces/and:*?chars", 64, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("b"), &l), MC_OK);
    mc_replicate_config_t c = fx_cfg(1);
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("w"), 64, &c, &l), MC_OK);
    mc_slice_t keys[] = {K("a"), K("missing"), K("b"), K("a"), K(""), K("w"), K("key with spaces/and:*?chars")};
    mc_status_t st[7];
    mc_master_batch_remove(M, NOW, keys, 7, false, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(st[2], MC_OBJECT_HAS_LEASE);
    ck_assert_int_eq(st[3], MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(st[4], MC_OBJECT_NOT_FOUND);
    ck_assert_int_eq(st[5], MC_REPLICA_IS_NOT_READY);
    ck_assert_int_eq(st[6], MC_OK);
    mc_master_batch_remove(M, NOW, keys + 2, 1, true, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_uint_eq(fx_stats().keys, 2); /* c and w */
}
END_TEST

START_TEST(batch_put_get_exist)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    mc_slice_t keys[] = {K("k0"), K("k1"), K("k0"), K("k2")};
    uint64_t sizes[] = {100, 200, 300, 0};
    mc_replicate_config_t c = fx_cfg(2);
    mc_replica_list_t out[4];
    mc_status_t st[4];
    mc_master_batch_put_start(M, NOW, U(1), keys, sizes, 4, &c, out, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert_int_eq(st[2], MC_OBJECT_ALREADY_EXISTS); /* duplicate in one batch */
    ck_assert_int_eq(st[3], MC_INVALID_PARAMS);
    ck_assert_uint_eq(out[1].n, 2);
    bool ex[4];
    mc_master_batch_exist_key(M, NOW, keys, 4, ex, NULL);
    ck_assert(!ex[0] && !ex[1]);
    mc_master_batch_put_end(M, NOW, U(1), keys, 4, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert_int_eq(st[2], MC_OK); /* idempotent second End of k0 */
    ck_assert_int_eq(st[3], MC_OBJECT_NOT_FOUND);
    mc_master_batch_exist_key(M, NOW, keys, 4, ex, st);
    ck_assert(ex[0] && ex[1] && ex[2] && !ex[3]);
    mc_master_batch_get_replica_list(M, NOW, keys, 4, out, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_uint_eq(out[0].r[0].size, 100);
    ck_assert_uint_eq(out[1].r[1].size, 200);
    ck_assert_int_eq(st[3], MC_OBJECT_NOT_FOUND);
    /* Batch revoke. */
    mc_slice_t nk[] = {K("n0"), K("n1")};
    uint64_t ns[] = {10, 10};
    mc_master_batch_put_start(M, NOW, U(1), nk, ns, 2, &c, out, st);
    mc_master_batch_put_revoke(M, NOW, U(1), nk, 2, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert(!fx_exists("n0"));
}
END_TEST

START_TEST(checksum_round_trip)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    uint64_t crc = 0xdeadbeefcafeull;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("k"), 10, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, &crc), MC_OK);
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("k"), &l), MC_OK);
    ck_assert(l.has_checksum);
    ck_assert_uint_eq(l.checksum, crc);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("k"), true), MC_OK);
}
END_TEST

/* BatchReplicaClear: all / specific segment, lease active, foreign client,
 * empty and nonexistent keys. */
START_TEST(batch_replica_clear)
{
    fx_mount(1, 1 << 20);
    fx_mount(2, 1 << 20);
    ck_assert_int_eq(fx_put("a", 100, 2), MC_OK);
    ck_assert_int_eq(fx_put("b", 100, 2), MC_OK);
    mc_replicate_config_t c2 = fx_cfg(1);
    c2.preferred_segment = "seg2";
    mc_replica_list_t cl2;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("c"), 100, &c2, &cl2), MC_OK);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("c"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(fx_put_as(U(2), "d", 100, 1), MC_OK);
    ck_assert_int_eq(fx_put("leased", 100, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_get_replica_list(M, NOW, K("leased"), &l), MC_OK);
    mc_slice_t keys[] = {K("a"), K(""), K("nope"), K("d"), K("leased"), K("c")};
    bool cl[6];
    ck_assert_uint_eq(mc_master_batch_replica_clear(M, NOW, keys, 6, U(1), "seg2", cl), 2);
    ck_assert(cl[0] && !cl[1] && !cl[2] && !cl[3] && !cl[4] && cl[5]);
    ck_assert(!fx_exists("c")); /* its only replica was there */
    ck_assert_uint_eq(fx_nreplicas("a"), 1);
    /* Whole-object clear. */
    mc_slice_t k2[] = {K("a"), K("b"), K("d")};
    ck_assert_uint_eq(mc_master_batch_replica_clear(M, NOW, k2, 3, U(1), "", cl), 2);
    ck_assert(cl[0] && cl[1] && !cl[2]);
    ck_assert(!fx_exists("a") && !fx_exists("b") && fx_exists("d"));
}
END_TEST

static int nkeys_seen;
static void see_key(void *arg, mc_slice_t key)
{
    (void)arg;
    (void)key;
    nkeys_seen++;
}

START_TEST(get_all_keys_lists_readable_only)
{
    fx_mount(1, 1 << 20);
    ck_assert_int_eq(fx_put("a", 10, 1), MC_OK);
    ck_assert_int_eq(fx_put("b", 10, 1), MC_OK);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_put_start(M, NOW, U(1), K("w"), 10, &c, &l), MC_OK);
    nkeys_seen = 0;
    mc_master_for_each_key(M, see_key, NULL);
    ck_assert_int_eq(nkeys_seen, 2);
    ck_assert_int_eq(mc_master_remove(M, NOW, K("a"), false), MC_OK); /* no lease taken */
}
END_TEST

Suite *store_master_put_suite(void);
Suite *store_master_put_suite(void)
{
    Suite *s = suite_create("store_master_put");
    TCase *tc = tcase_create("put");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, put_start_invalid_params);
    tcase_add_test(tc, create_rejects_bad_config);
    tcase_add_test(tc, put_lifecycle);
    tcase_add_test(tc, end_revoke_absent_and_revoke_frees);
    tcase_add_test(tc, no_segments_and_too_large);
    tcase_add_test(tc, replica_counts_and_distinct_segments);
    tcase_add_test(tc, replication_factor_two_with_single_segment);
    tcase_add_test(tc, two_segments_one_name_count_once);
    tcase_add_test(tc, preferred_segment_and_same_node);
    tcase_add_test(tc, lease_blocks_remove_until_ttl);
    tcase_add_test(tc, exist_and_get_size_grant_leases);
    tcase_add_test(tc, force_remove_parks_leased_space);
    tcase_add_test(tc, remove_all_skips_leased_unless_forced);
    tcase_add_test(tc, remove_by_regex_search_semantics);
    tcase_add_test(tc, get_replica_list_by_regex);
    tcase_add_test(tc, batch_remove);
    tcase_add_test(tc, batch_put_get_exist);
    tcase_add_test(tc, checksum_round_trip);
    tcase_add_test(tc, batch_replica_clear);
    tcase_add_test(tc, get_all_keys_lists_readable_only);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_put_suite)
