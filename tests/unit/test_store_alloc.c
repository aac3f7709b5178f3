/* Offset allocator (core/store/mc_alloc.c): exact behaviour, coalescing,
 * fragmentation metric and conservation under 10k random ops checked
 * against a byte-map model. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_rng.h"
#include "store/mc_alloc.h"
#include "store/mc_segment.h"

static void assert_ok(const mc_alloc_t *a)
{
    char err[256] = "";
    ck_assert_msg(mc_alloc_check(a, err, sizeof err), "%s", err);
}

START_TEST(init_rejects_bad_params)
{
    mc_alloc_t a;
    ck_assert_int_eq(mc_alloc_init(&a, 63, 64), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_alloc_init(&a, 4096, 48), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_alloc_init(&a, 4096 + 10, 0), MC_OK);
    ck_assert_uint_eq(a.capacity, 4096);
    ck_assert_uint_eq(a.align, MC_ALLOC_DEFAULT_ALIGN);
    assert_ok(&a);
    mc_alloc_destroy(&a);
}
END_TEST

START_TEST(alloc_aligns_and_fills_exactly)
{
    mc_alloc_t a;
    mc_alloc_handle_t h[64];
    uint64_t off;
    ck_assert_int_eq(mc_alloc_init(&a, 64 * 64, 64), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, 0, &h[0], &off), MC_INVALID_PARAMS);
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(mc_alloc_alloc(&a, 1 + (uint64_t)i % 64, &h[i], &off), MC_OK);
        ck_assert_uint_eq(off % 64, 0);
        ck_assert_uint_eq(mc_alloc_len(&a, h[i]), 64);
    }
    ck_assert_uint_eq(mc_alloc_free_bytes(&a), 0);
    ck_assert_int_eq(mc_alloc_alloc(&a, 1, &h[0], &off), MC_NO_AVAILABLE_HANDLE);
    ck_assert_double_eq(mc_alloc_contiguity(&a), 1.0);
    assert_ok(&a);
    /* Free every other range: 32 holes of 64 B, none adjacent. */
    for (int i = 0; i < 64; i += 2)
        mc_alloc_free(&a, h[i]);
    assert_ok(&a);
    ck_assert_uint_eq(a.nfree, 32);
    ck_assert_uint_eq(mc_alloc_largest_free(&a), 64);
    ck_assert_double_eq_tol(mc_alloc_contiguity(&a), 1.0 / 32, 1e-12);
    ck_assert_int_eq(mc_alloc_alloc(&a, 65, &h[0], &off), MC_NO_AVAILABLE_HANDLE);
    /* Freeing the rest coalesces back into one range. */
    for (int i = 1; i < 64; i += 2)
        mc_alloc_free(&a, h[i]);
    assert_ok(&a);
    ck_assert_uint_eq(a.nfree, 1);
    ck_assert_uint_eq(mc_alloc_largest_free(&a), 64 * 64);
    mc_alloc_destroy(&a);
}
END_TEST

START_TEST(finds_any_fitting_range)
{
    /* A free range of 100 units sits in the same size class as a request of
     * 97 units; the allocator must find it (TLSF rounding alone would not). */
    mc_alloc_t a;
    mc_alloc_handle_t h1, h2, h3;
    uint64_t off;
    ck_assert_int_eq(mc_alloc_init(&a, 200 * 64, 64), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, 100 * 64, &h1, &off), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, 100 * 64, &h2, &off), MC_OK);
    mc_alloc_free(&a, h1);
    ck_assert_uint_eq(mc_alloc_largest_free(&a), 100 * 64);
    ck_assert_int_eq(mc_alloc_alloc(&a, 97 * 64, &h3, &off), MC_OK);
    ck_assert_uint_eq(off, 0);
    assert_ok(&a);
    mc_alloc_free(&a, h3);
    mc_alloc_free(&a, h2);
    assert_ok(&a);
    mc_alloc_destroy(&a);
}
END_TEST

START_TEST(large_segments)
{
    mc_alloc_t a;
    mc_alloc_handle_t h[4];
    uint64_t off;
    uint64_t cap = 1ull << 40; /* 1 TiB */
    ck_assert_int_eq(mc_alloc_init(&a, cap, 64), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, cap / 2, &h[0], &off), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, cap / 2, &h[1], &off), MC_OK);
    ck_assert_uint_eq(off, cap / 2);
    ck_assert_int_eq(mc_alloc_alloc(&a, 64, &h[2], &off), MC_NO_AVAILABLE_HANDLE);
    mc_alloc_free(&a, h[0]);
    ck_assert_int_eq(mc_alloc_alloc(&a, (cap / 2) - 64, &h[2], &off), MC_OK);
    ck_assert_int_eq(mc_alloc_alloc(&a, 64, &h[3], &off), MC_OK);
    ck_assert_uint_eq(mc_alloc_free_bytes(&a), 0);
    assert_ok(&a);
    mc_alloc_destroy(&a);
}
END_TEST

/* 10k random alloc/free ops; a byte map of units proves no overlap and
 * the free counter matches the model after every op. */
START_TEST(random_churn_against_model)
{
    enum { UNITS = 4096, ALIGN = 64, MAXLIVE = 512 };
    mc_alloc_t a;
    mc_rng_t rng;
    mc_rng_seed(&rng, 0x5eed + (uint64_t)_i);
    ck_assert_int_eq(mc_alloc_init(&a, (uint64_t)UNITS * ALIGN, ALIGN), MC_OK);
    static uint8_t owner[UNITS];
    memset(owner, 0, sizeof owner);
    mc_alloc_handle_t live_h[MAXLIVE];
    uint64_t live_len[MAXLIVE];
    int nlive = 0;
    uint64_t model_free = (uint64_t)UNITS * ALIGN;
    for (int op = 0; op < 10000; op++) {
        bool do_alloc = nlive == 0 || (nlive < MAXLIVE && mc_rng_below(&rng, 100) < 55);
        if (do_alloc) {
            uint64_t len = 1 + mc_rng_below(&rng, mc_rng_chance(&rng, 0.1) ? 64 * ALIGN : 4 * ALIGN);
            uint64_t units = (len + ALIGN - 1) / ALIGN;
            mc_alloc_handle_t h;
            uint64_t off;
            mc_status_t st = mc_alloc_alloc(&a, len, &h, &off);
            /* Model: does any run of free units fit? */
            uint64_t run = 0, best = 0;
            for (int u = 0; u < UNITS; u++) {
                run = owner[u] ? 0 : run + 1;
                if (run > best)
                    best = run;
            }
            if (st == MC_OK) {
                ck_assert_uint_eq(off % ALIGN, 0);
                for (uint64_t u = off / ALIGN; u < off / ALIGN + units; u++) {
                    ck_assert_msg(owner[u] == 0, "op %d: overlap at unit %llu", op, (unsigned long long)u);
                    owner[u] = 1;
                }
                live_h[nlive] = h;
                live_len[nlive] = units * ALIGN;
                nlive++;
                model_free -= units * ALIGN;
            } else {
                ck_assert_int_eq(st, MC_NO_AVAILABLE_HANDLE);
                ck_assert_msg(best < units, "op %d: failed with a free run of %llu units for %llu", op,
                              (unsigned long long)best, (unsigned long long)units);
            }
            /* Exact largest-free introspection matches the model. */
            run = best = 0;
            for (int u = 0; u < UNITS; u++) {
                run = owner[u] ? 0 : run + 1;
                if (run > best)
                    best = run;
            }
            ck_assert_uint_eq(mc_alloc_largest_free(&a), best * ALIGN);
        } else {
            int i = (int)mc_rng_below(&rng, (uint64_t)nlive);
            uint64_t off = mc_alloc_off(&a, live_h[i]);
            for (uint64_t u = off / ALIGN; u < (off + live_len[i]) / ALIGN; u++)
                owner[u] = 0;
            mc_alloc_free(&a, live_h[i]);
            model_free += live_len[i];
            live_h[i] = live_h[nlive - 1];
            live_len[i] = live_len[nlive - 1];
            nlive--;
        }
        ck_assert_uint_eq(mc_alloc_free_bytes(&a), model_free);
        if (op % 97 == 0)
            assert_ok(&a);
    }
    while (nlive > 0)
        mc_alloc_free(&a, live_h[--nlive]);
    assert_ok(&a);
    ck_assert_uint_eq(a.nfree, 1);
    ck_assert_uint_eq(mc_alloc_free_bytes(&a), (uint64_t)UNITS * ALIGN);
    mc_alloc_destroy(&a);
}
END_TEST

/* Allocation strategy edge cases (allocation_strategy_test): no names,
 * all excluded, replica count above the names, preferred order, a name
 * with several segments, single name. */
START_TEST(placement_edge_cases)
{
    mc_segmgr_t g;
    mc_rng_t rng;
    mc_placement_t pl[8];
    mc_rng_seed(&rng, 3);
    mc_segmgr_init(&g, 64);
    ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 100, 1, NULL, 0, NULL, 0, pl), 0);
    mc_segment_info_t a = {{1, 1}, "A", 0x1000, 4096, NULL, NULL, 0};
    ck_assert_int_eq(mc_segmgr_mount(&g, (mc_uuid_t){1, 1}, &a, NULL), MC_OK);
    const char *exA[] = {"A"};
    ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 100, 1, NULL, 0, exA, 1, pl), 0);
    ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 100, 3, NULL, 0, NULL, 0, pl), 1);
    mc_segmgr_free(&g, pl[0].slot, pl[0].h, 100);
    mc_segment_info_t b = {{2, 2}, "B", 0x100000, 4096, "ep-b", "rdma", 0}, b2 = {{3, 3}, "B", 0x200000, 4096, NULL, NULL, 0};
    mc_segment_info_t c = {{4, 4}, "C", 0x300000, 4096, NULL, NULL, 0};
    ck_assert_int_eq(mc_segmgr_mount(&g, (mc_uuid_t){2, 2}, &b, NULL), MC_OK);
    ck_assert_int_eq(mc_segmgr_mount(&g, (mc_uuid_t){2, 2}, &b2, NULL), MC_OK);
    ck_assert_int_eq(mc_segmgr_mount(&g, (mc_uuid_t){4, 4}, &c, NULL), MC_OK);
    ck_assert_uint_eq(g.nnames, 3);
    const char *prefs[] = {"C", "nope", "A"};
    ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 100, 2, prefs, 3, NULL, 0, pl), 2);
    ck_assert_str_eq(mc_segmgr_at(&g, pl[0].slot)->name, "C");
    ck_assert_str_eq(mc_segmgr_at(&g, pl[1].slot)->name, "A");
    mc_segmgr_free(&g, pl[0].slot, pl[0].h, 100);
    mc_segmgr_free(&g, pl[1].slot, pl[1].h, 100);
    const char *exAC[] = {"A", "C"};
    for (int i = 0; i < 4; i++) {
        /* Both segments of B fill up: 2 x 4096 bytes in 64-byte units. */
        ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 2048, 3, NULL, 0, exAC, 2, pl), 1);
        ck_assert_str_eq(mc_segmgr_at(&g, pl[0].slot)->name, "B");
    }
    ck_assert_uint_eq(mc_segmgr_place(&g, &rng, 64, 3, NULL, 0, exAC, 2, pl), 0);
    ck_assert_int_eq(mc_segmgr_alloc_from(&g, &rng, "B", 64, pl), MC_NO_AVAILABLE_HANDLE);
    ck_assert_int_eq(mc_segmgr_alloc_from(&g, &rng, "Z", 64, pl), MC_SEGMENT_NOT_FOUND);
    ck_assert_uint_eq(g.pool_used, 4 * 2048);
    char err[256];
    ck_assert_msg(mc_segmgr_check(&g, err, sizeof err), "%s", err);
    mc_segmgr_destroy(&g);
}
END_TEST

Suite *store_alloc_suite(void);
Suite *store_alloc_suite(void)
{
    Suite *s = suite_create("store_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, init_rejects_bad_params);
    tcase_add_test(tc, alloc_aligns_and_fills_exactly);
    tcase_add_test(tc, finds_any_fitting_range);
    tcase_add_test(tc, large_segments);
    tcase_add_loop_test(tc, random_churn_against_model, 0, 3);
    tcase_add_test(tc, placement_edge_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
