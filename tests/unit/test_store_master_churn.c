/* Master core under 10k random operations checked against a model of
 * every key's state: exact status codes for each op, invariants
 * (allocator conservation, distinct replica names, counters) after every
 * op, and all space returned at the end. */
#include "test_store_fixture.h"

enum { NKEYS = 40, NCLIENTS = 3, NOPS = 10000 };
enum { ABSENT, WRITING, COMPLETE };

typedef struct model_key {
    int state;
    uint64_t writer; /* client of the current or last write */
    uint64_t size;
    uint64_t start;  /* put_start time */
    uint64_t lease;
} model_key_t;

static model_key_t mk[NKEYS];

static void churn_tweak(mc_master_config_t *c) { c->eviction_high_watermark_ratio = 1.0; }

static uint64_t rnd(uint64_t n) { return mc_rng_below(&fx_rng, n); }

START_TEST(random_ops_against_model)
{
    mc_master_destroy(M);
    fx_setup_cfg(churn_tweak);
    mc_rng_t *r = &fx_rng;
    mc_rng_seed(r, 1234 + (uint64_t)_i);
    memset(mk, 0, sizeof mk);
    int seen_takeover = 0, seen_lease = 0, seen_removed = 0;
    for (int i = 1; i <= 3; i++)
        fx_mount(i, 64ull << 20);
    const uint64_t discard = 30 * SEC, release = 600 * SEC, lease = 10 * SEC;
    for (int op = 0; op < NOPS; op++) {
        int k = (int)rnd(NKEYS);
        char key[16];
        snprintf(key, sizeof key, "key%d", k);
        model_key_t *m = &mk[k];
        uint64_t c = 1 + rnd(NCLIENTS);
        uint64_t size = 1 + rnd(4) * 1000 + rnd(3);
        mc_replicate_config_t cfg = fx_cfg(1 + (uint32_t)rnd(3));
        mc_replica_list_t l;
        mc_status_t st, want;
        switch (rnd(9)) {
        case 0:
        case 1: /* put start */
            st = mc_master_put_start(M, NOW, U(c), K(key), size, &cfg, &l);
            if (m->state == ABSENT || (m->state == WRITING && m->start + discard < NOW))
                want = MC_OK;
            else
                want = MC_OBJECT_ALREADY_EXISTS;
            ck_assert_msg(st == want, "op %d put_start %s: %d want %d", op, key, st, want);
            seen_takeover += st == MC_OK && m->state == WRITING;
            if (st == MC_OK) {
                *m = (model_key_t){WRITING, c, size, NOW, 0};
                ck_assert_uint_eq(l.n, cfg.replica_num);
            }
            break;
        case 2: /* put end */
            st = mc_master_put_end(M, NOW, U(c), K(key), MC_REPLICA_TYPE_ALL, NULL);
            want = m->state == ABSENT ? MC_OBJECT_NOT_FOUND : m->writer != c ? MC_ILLEGAL_CLIENT : MC_OK;
            ck_assert_msg(st == want, "op %d put_end %s: %d want %d", op, key, st, want);
            if (st == MC_OK && m->state == WRITING) {
                m->state = COMPLETE;
                if (m->lease < NOW)
                    m->lease = NOW;
            }
            break;
        case 3: /* revoke */
            st = mc_master_put_revoke(M, NOW, U(c), K(key), MC_REPLICA_TYPE_ALL);
            want = m->state == ABSENT      ? MC_OBJECT_NOT_FOUND
                   : m->writer != c        ? MC_ILLEGAL_CLIENT
                   : m->state == COMPLETE ? MC_INVALID_WRITE
                                           : MC_OK;
            ck_assert_msg(st == want, "op %d revoke %s: %d want %d", op, key, st, want);
            if (st == MC_OK)
                m->state = ABSENT;
            break;
        case 4: /* get */
            st = mc_master_get_replica_list(M, NOW, K(key), &l);
            want = m->state == ABSENT ? MC_OBJECT_NOT_FOUND : m->state == WRITING ? MC_REPLICA_IS_NOT_READY : MC_OK;
            ck_assert_msg(st == want, "op %d get %s: %d want %d", op, key, st, want);
            if (st == MC_OK) {
                ck_assert_uint_eq(l.r[0].size, m->size);
                if (m->lease < NOW + lease)
                    m->lease = NOW + lease;
            }
            break;
        case 5: { /* remove */
            bool force = rnd(4) == 0;
            st = mc_master_remove(M, NOW, K(key), force);
            want = m->state == ABSENT                     ? MC_OBJECT_NOT_FOUND
                   : m->state == WRITING                  ? MC_REPLICA_IS_NOT_READY
                   : (!force && m->lease > NOW)           ? MC_OBJECT_HAS_LEASE
                                                          : MC_OK;
            ck_assert_msg(st == want, "op %d remove %s: %d want %d", op, key, st, want);
            seen_lease += st == MC_OBJECT_HAS_LEASE;
            seen_removed += st == MC_OK;
            if (st == MC_OK)
                m->state = ABSENT;
            break;
        }
        case 6: /* upsert */
            st = mc_master_upsert_start(M, NOW, U(c), K(key), size, &cfg, &l);
            ck_assert_msg(st == MC_OK, "op %d upsert %s: %d", op, key, st);
            if (m->state == COMPLETE && m->size == size && m->lease <= NOW) {
                /* in place: replicas and lease carry over */
                m->state = WRITING;
                m->writer = c;
                m->start = NOW;
            } else {
                /* fresh object (the old one's buffers stay parked) */
                *m = (model_key_t){WRITING, c, size, NOW, 0};
            }
            break;
        case 7: /* time passes */
            NOW += rnd(4 * SEC);
            for (int i = 1; i <= 3; i++)
                mc_master_ping(M, NOW, U((uint64_t)i), NULL, NULL);
            break;
        case 8: /* sweep: zombies past the release timeout disappear */
            mc_master_sweep(M, NOW);
            for (int i = 0; i < NKEYS; i++)
                if (mk[i].state == WRITING && mk[i].start + release <= NOW)
                    mk[i].state = ABSENT;
            break;
        }
        fx_check();
        if (op % 50 == 0) {
            uint64_t n = 0;
            for (int i = 0; i < NKEYS; i++)
                n += mk[i].state != ABSENT;
            ck_assert_uint_eq(fx_stats().keys, n);
        }
    }
    /* The walk reached the interesting paths. */
    ck_assert_int_gt(seen_takeover, 0);
    ck_assert_int_gt(seen_lease, 0);
    ck_assert_int_gt(seen_removed, 10);
    /* Drain: everything removed, every parked buffer released, all space back. */
    for (int i = 0; i < NKEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%d", i);
        if (mk[i].state == WRITING)
            ck_assert_int_eq(mc_master_put_end(M, NOW, U(mk[i].writer), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    }
    mc_master_remove_all(M, NOW, true);
    ck_assert_uint_eq(fx_stats().keys, 0);
    NOW += 700 * SEC;
    mc_master_sweep(M, NOW);
    fx_check();
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
}
END_TEST

/* Random mount/unmount/expiry churn with puts: conservation holds and
 * objects only live on mounted segments. */
START_TEST(segment_churn)
{
    mc_rng_seed(&fx_rng, 99 + (uint64_t)_i);
    bool mounted[6] = {0};
    for (int op = 0; op < 3000; op++) {
        int s = 1 + (int)rnd(5);
        char key[16];
        snprintf(key, sizeof key, "k%d", (int)rnd(200));
        char src[16], dst[16];
        snprintf(src, sizeof src, "seg%d", 1 + (int)rnd(5));
        snprintf(dst, sizeof dst, "seg%d", 1 + (int)rnd(5));
        const char *dsts[1] = {dst};
        mc_replica_desc_t sd;
        mc_replica_list_t tl;
        switch (rnd(11)) {
        case 8:
            if (rnd(2))
                mc_master_copy_start(M, NOW, U((uint64_t)s), K(key), src, dsts, 1, &sd, &tl);
            else
                mc_master_move_start(M, NOW, U((uint64_t)s), K(key), src, dst, &sd, &tl);
            break;
        case 9:
            for (uint64_t c = 1; c <= 5; c++) {
                mc_master_copy_end(M, NOW, U(c), K(key));
                mc_master_move_end(M, NOW, U(c), K(key));
            }
            break;
        case 10:
            for (uint64_t c = 1; c <= 5; c++) {
                mc_master_copy_revoke(M, NOW, U(c), K(key));
                mc_master_move_revoke(M, NOW, U(c), K(key));
            }
            break;
        case 0:
            if (!mounted[s]) {
                mc_segment_info_t info = fx_seg(s, 1 << 20);
                mc_status_t st = mc_master_remount_segments(M, NOW, U((uint64_t)s), &info, 1);
                ck_assert_int_eq(st, MC_OK);
                mounted[s] = true;
            }
            break;
        case 1:
            if (rnd(3) == 0) {
                mc_master_client_expired(M, NOW, U((uint64_t)s));
            } else {
                mc_master_unmount_segment(M, NOW, U(100 + (uint64_t)s), U((uint64_t)s));
            }
            mounted[s] = false;
            break;
        case 2:
        case 3: {
            /* a third of the objects join one of three groups */
            char gid[8];
            snprintf(gid, sizeof gid, "g%d", (int)rnd(3));
            const char *gids[1] = {gid};
            mc_replicate_config_t c = fx_cfg(1 + (uint32_t)rnd(3));
            if (rnd(3) == 0) {
                c.group_ids = gids;
                c.n_group_ids = 1;
            }
            mc_replica_list_t l;
            if (mc_master_put_start(M, NOW, U((uint64_t)s), K(key), 1 + rnd(50000), &c, &l) == MC_OK && rnd(4))
                mc_master_put_end(M, NOW, U((uint64_t)s), K(key), MC_REPLICA_TYPE_ALL, NULL);
            break;
        }
        case 4: {
            mc_replica_list_t l;
            mc_master_get_replica_list(M, NOW, K(key), &l);
            break;
        }
        case 5:
            mc_master_remove(M, NOW, K(key), rnd(2));
            break;
        case 6: {
            mc_replicate_config_t c = fx_cfg(2);
            mc_replica_list_t l;
            mc_master_upsert_start(M, NOW, U((uint64_t)s), K(key), 1 + rnd(50000), &c, &l);
            break;
        }
        case 7:
            NOW += rnd(3 * SEC);
            for (int i = 1; i <= 5; i++)
                if (mounted[i])
                    mc_master_ping(M, NOW, U((uint64_t)i), NULL, NULL);
            mc_master_tick(M, NOW);
            if (rnd(4) == 0)
                mc_master_batch_evict(M, NOW, 0.2, 0.3);
            break;
        }
        fx_check();
    }
    for (int s = 1; s <= 5; s++)
        mc_master_client_expired(M, NOW, U((uint64_t)s));
    ck_assert_uint_eq(fx_stats().keys, 0);
    NOW += 700 * SEC;
    mc_master_sweep(M, NOW);
    ck_assert_uint_eq(fx_stats().segments, 0);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
}
END_TEST

/* Same seed, same inputs => same outputs: run a mixed workload twice and
 * compare a hash of every status and descriptor the master returned. */
static uint64_t run_trace(uint64_t seed)
{
    mc_rng_t ops, mrng;
    mc_rng_seed(&ops, seed);
    mc_rng_seed(&mrng, seed ^ 0xabc);
    mc_master_config_t c;
    mc_master_config_default(&c);
    mc_master_t *m;
    ck_assert_int_eq(mc_master_create(&c, &mrng, &m), MC_OK);
    uint64_t now = SEC, h = MC_HASH64_INIT;
    for (int i = 1; i <= 6; i++) {
        mc_segment_info_t s = fx_seg(i, 256 << 10);
        mc_master_mount_segment(m, now, U((uint64_t)i), &s);
    }
    for (int op = 0; op < 4000; op++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", (int)mc_rng_below(&ops, 300));
        mc_replicate_config_t cfg = fx_cfg(1 + (uint32_t)mc_rng_below(&ops, 3));
        mc_replica_list_t l;
        memset(&l, 0, sizeof l);
        mc_status_t st = 0;
        uint64_t cl = 1 + mc_rng_below(&ops, 6);
        switch (mc_rng_below(&ops, 6)) {
        case 0:
            st = mc_master_put_start(m, now, U(cl), K(key), 1 + mc_rng_below(&ops, 20000), &cfg, &l);
            break;
        case 1:
            st = mc_master_put_end(m, now, U(cl), K(key), MC_REPLICA_TYPE_ALL, NULL);
            break;
        case 2:
            st = mc_master_get_replica_list(m, now, K(key), &l);
            break;
        case 3:
            st = mc_master_upsert_start(m, now, U(cl), K(key), 1 + mc_rng_below(&ops, 20000), &cfg, &l);
            break;
        case 4:
            st = mc_master_remove(m, now, K(key), mc_rng_below(&ops, 2));
            break;
        case 5:
            now += mc_rng_below(&ops, 2 * SEC);
            for (uint64_t i = 1; i <= 6; i++)
                if (i != 6 || now < 60 * SEC) /* client 6 dies after a minute */
                    mc_master_ping(m, now, U(i), NULL, NULL);
            mc_master_tick(m, now);
            st = (mc_status_t)mc_master_evict_tick(m, now);
            break;
        }
        h = mc_hash64(&st, sizeof st, h);
        for (uint32_t i = 0; i < l.n; i++) {
            h = mc_hash64(&l.r[i].id, sizeof l.r[i].id, h);
            h = mc_hash64(&l.r[i].buffer_address, sizeof l.r[i].buffer_address, h);
            h = mc_hash64(l.r[i].segment_name, strlen(l.r[i].segment_name), h);
        }
    }
    mc_master_stats_t s;
    mc_master_get_stats(m, &s);
    h = mc_hash64(&s, sizeof s, h);
    mc_master_destroy(m);
    return h;
}

START_TEST(deterministic_replay)
{
    uint64_t a = run_trace(5 + (uint64_t)_i), b = run_trace(5 + (uint64_t)_i);
    ck_assert_uint_eq(a, b);
    ck_assert_uint_ne(a, run_trace(1005 + (uint64_t)_i));
}
END_TEST

Suite *store_master_churn_suite(void);
Suite *store_master_churn_suite(void)
{
    Suite *s = suite_create("store_master_churn");
    TCase *tc = tcase_create("churn");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_loop_test(tc, random_ops_against_model, 0, 3);
    tcase_add_loop_test(tc, segment_churn, 0, 3);
    tcase_add_loop_test(tc, deterministic_replay, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(store_master_churn_suite)
