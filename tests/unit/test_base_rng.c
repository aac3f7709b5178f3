/* core/base/mc_rng: pinned output (a seed must replay across versions and
 * machines), determinism per seed, below()/range() bounds, double/chance. */

#include "base/mc_rng.h"
#include "mc_check.h"

/* Reference values from an independent xoshiro256** + splitmix64 model. */
START_TEST(test_pinned_sequence)
{
    ck_assert_uint_eq(mc_rng_mix(0), 0xe220a8397b1dcdafULL);
    mc_rng_t r;
    mc_rng_seed(&r, 0);
    ck_assert_uint_eq(mc_rng_next(&r), 0x1a70a846bd9cc2a9ULL);
    ck_assert_uint_eq(mc_rng_next(&r), 0x6a0ef250cd2b9e80ULL);
    ck_assert_uint_eq(mc_rng_next(&r), 0x61325a7589c2ff27ULL);
    mc_rng_seed(&r, 7);
    ck_assert_uint_eq(mc_rng_next(&r), 0xe31a50a219a11335ULL);
    ck_assert_uint_eq(mc_rng_next(&r), 0x9bdde32a4e7792c2ULL);
    ck_assert_uint_eq(mc_rng_next(&r), 0x3f981c5573a71280ULL);
    mc_rng_seed(&r, 0xdeadbeef);
    ck_assert_uint_eq(mc_rng_next(&r), 0xbe69c2f4fc35b0b5ULL);
}
END_TEST

START_TEST(test_determinism_per_seed)
{
    mc_rng_t a, b, c;
    mc_rng_seed(&a, 42);
    mc_rng_seed(&b, 42);
    mc_rng_seed(&c, 43);
    int same_as_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = mc_rng_next(&a);
        MC_CK(x == mc_rng_next(&b));
        same_as_c += x == mc_rng_next(&c);
    }
    ck_assert_int_eq(same_as_c, 0);
    /* Re-seeding restarts the sequence. */
    mc_rng_seed(&a, 42);
    mc_rng_seed(&b, 42);
    mc_rng_next(&b);
    mc_rng_seed(&b, 42);
    ck_assert_uint_eq(mc_rng_next(&a), mc_rng_next(&b));
}
END_TEST

START_TEST(test_below_bounds)
{
    mc_rng_t r;
    mc_rng_seed(&r, 1);
    ck_assert_uint_eq(mc_rng_below(&r, 0), 0);
    const uint64_t ns[] = {1, 2, 3, 7, 1000, (1ULL << 63) + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int i = 0; i < 2000; i++)
            MC_CK(mc_rng_below(&r, ns[k]) < ns[k]);
    /* Roughly uniform: 10 buckets, 100k draws, each within 5% of 10k. */
    uint32_t hist[10] = {0};
    for (int i = 0; i < 100000; i++)
        hist[mc_rng_below(&r, 10)]++;
    for (int b = 0; b < 10; b++) {
        ck_assert_uint_gt(hist[b], 9500);
        ck_assert_uint_lt(hist[b], 10500);
    }
}
END_TEST

START_TEST(test_range)
{
    mc_rng_t r;
    mc_rng_seed(&r, 2);
    ck_assert_uint_eq(mc_rng_range(&r, 5, 5), 5);
    ck_assert_uint_eq(mc_rng_range(&r, 9, 3), 9); /* hi < lo gives lo */
    int seen[3] = {0};
    for (int i = 0; i < 3000; i++) {
        uint64_t x = mc_rng_range(&r, 5, 7);
        MC_CK(x >= 5 && x <= 7);
        seen[x - 5]++;
    }
    ck_assert(seen[0] && seen[1] && seen[2]);
    for (int i = 0; i < 1000; i++)
        MC_CK(mc_rng_range(&r, UINT64_MAX - 1, UINT64_MAX) >= UINT64_MAX - 1);
    /* Full range is just next(): same value as a fresh generator's next. */
    mc_rng_t a, b;
    mc_rng_seed(&a, 3);
    mc_rng_seed(&b, 3);
    ck_assert_uint_eq(mc_rng_range(&a, 0, UINT64_MAX), mc_rng_next(&b));
}
END_TEST

START_TEST(test_double_and_chance)
{
    mc_rng_t r;
    mc_rng_seed(&r, 4);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double d = mc_rng_double(&r);
        MC_CK(d >= 0.0 && d < 1.0);
        sum += d;
    }
    ck_assert(sum / 100000 > 0.49 && sum / 100000 < 0.51);
    int hits = 0;
    for (int i = 0; i < 10000; i++) {
        MC_CK(mc_rng_chance(&r, 0.0) == 0);
        MC_CK(mc_rng_chance(&r, -1.0) == 0);
        MC_CK(mc_rng_chance(&r, 1.0) == 1);
        MC_CK(mc_rng_chance(&r, 2.0) == 1);
        hits += mc_rng_chance(&r, 0.25);
    }
    ck_assert_int_gt(hits, 2300);
    ck_assert_int_lt(hits, 2700);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_rng");
    TCase *tc = tcase_create("rng");
    tcase_add_test(tc, test_pinned_sequence);
    tcase_add_test(tc, test_determinism_per_seed);
    tcase_add_test(tc, test_below_bounds);
    tcase_add_test(tc, test_range);
    tcase_add_test(tc, test_double_and_chance);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
