/* core/base/mc_map: insert/replace/delete, insertion-ordered iteration
 * (also across deletes and rebuilds), u64 keys, and 100k random
 * operations checked against a simple reference model. */
#include <string.h>

#include "base/mc_map.h"
#include "base/mc_rng.h"
#include "mc_check.h"
#include <stdio.h>

#define V(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

START_TEST(test_put_get_replace_del)
{
    mc_map_t m;
    mc_map_init(&m);
    ck_assert_ptr_null(mc_map_gets(&m, "a"));
    ck_assert_ptr_null(mc_map_dels(&m, "a"));
    ck_assert(!mc_map_has(&m, "a", 1));

    ck_assert_ptr_null(mc_map_puts(&m, "a", V(1)));
    ck_assert_ptr_null(mc_map_puts(&m, "bb", V(2)));
    ck_assert_uint_eq(mc_map_count(&m), 2);
    ck_assert_uint_eq(U(mc_map_gets(&m, "a")), 1);
    ck_assert_uint_eq(U(mc_map_gets(&m, "bb")), 2);
    ck_assert(mc_map_has(&m, "bb", 2));
    ck_assert(!mc_map_has(&m, "b", 1));

    /* Replace returns the old value and keeps the count. */
    ck_assert_uint_eq(U(mc_map_puts(&m, "a", V(10))), 1);
    ck_assert_uint_eq(mc_map_count(&m), 2);
    ck_assert_uint_eq(U(mc_map_gets(&m, "a")), 10);

    ck_assert_uint_eq(U(mc_map_dels(&m, "a")), 10);
    ck_assert_ptr_null(mc_map_gets(&m, "a"));
    ck_assert(!mc_map_has(&m, "a", 1));
    ck_assert_ptr_null(mc_map_dels(&m, "a"));
    ck_assert_uint_eq(mc_map_count(&m), 1);

    /* A NULL value is stored and "has" sees it. */
    ck_assert_ptr_null(mc_map_puts(&m, "nil", NULL));
    ck_assert(mc_map_has(&m, "nil", 3));
    ck_assert_uint_eq(mc_map_count(&m), 2);
    mc_map_free(&m);
    ck_assert_uint_eq(mc_map_count(&m), 0);
}
END_TEST

START_TEST(test_binary_and_empty_keys)
{
    mc_map_t m;
    mc_map_init(&m);
    const uint8_t k1[] = {0, 1, 2}, k2[] = {0, 1, 3}, k3[] = {0, 1};
    mc_map_put(&m, k1, 3, V(1));
    mc_map_put(&m, k2, 3, V(2));
    mc_map_put(&m, k3, 2, V(3));
    mc_map_put(&m, "", 0, V(4));
    ck_assert_uint_eq(U(mc_map_get(&m, k1, 3)), 1);
    ck_assert_uint_eq(U(mc_map_get(&m, k2, 3)), 2);
    ck_assert_uint_eq(U(mc_map_get(&m, k3, 2)), 3);
    ck_assert_uint_eq(U(mc_map_get(&m, "x", 0)), 4); /* empty key: pointer irrelevant */
    ck_assert_uint_eq(U(mc_map_del(&m, "", 0)), 4);
    ck_assert_ptr_null(mc_map_get(&m, "", 0));
    ck_assert_uint_eq(mc_map_count(&m), 3);
    mc_map_free(&m);
}
END_TEST

START_TEST(test_slot)
{
    mc_map_t m;
    mc_map_init(&m);
    bool ins = false;
    void **s = mc_map_slot(&m, "k", 1, &ins);
    ck_assert(ins);
    ck_assert_ptr_null(*s);
    *s = V(5);
    s = mc_map_slot(&m, "k", 1, &ins);
    ck_assert(!ins);
    ck_assert_uint_eq(U(*s), 5);
    ck_assert_uint_eq(U(mc_map_gets(&m, "k")), 5);
    s = mc_map_slot(&m, "j", 1, NULL); /* inserted may be NULL */
    ck_assert_ptr_null(*s);
    ck_assert_uint_eq(mc_map_count(&m), 2);
    mc_map_free(&m);
}
END_TEST

static void key_of(char *buf, size_t n, int i)
{
    snprintf(buf, n, "key-%d", i);
}

/* Expected order: ids[] as given; the map must iterate exactly that. */
static void assert_order(mc_map_t *m, const int *ids, size_t n)
{
    size_t k = 0;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(m, &it, &e); k++) {
        MC_CK(k < n);
        char want[32];
        key_of(want, sizeof want, ids[k]);
        MC_CK(e->klen == strlen(want));
        MC_CK(memcmp(e->key, want, e->klen) == 0);
        MC_CK(U(e->value) == (uintptr_t)ids[k] + 1);
    }
    ck_assert_uint_eq(k, n);
    ck_assert_uint_eq(mc_map_count(m), n);
}

START_TEST(test_iteration_order_across_deletes_and_rebuilds)
{
    mc_map_t m;
    mc_map_init(&m);
    enum { N = 1000 };
    static int order[2 * N];
    size_t n = 0;
    char k[32];
    for (int i = 0; i < N; i++) {
        key_of(k, sizeof k, i);
        mc_map_puts(&m, k, V(i + 1));
        order[n++] = i;
    }
    assert_order(&m, order, n);

    /* Delete every third key: the rest keep their relative order. */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (order[i] % 3 == 0) {
            key_of(k, sizeof k, order[i]);
            ck_assert_uint_eq(U(mc_map_dels(&m, k)), (uintptr_t)order[i] + 1);
        } else {
            order[j++] = order[i];
        }
    }
    n = j;
    assert_order(&m, order, n);

    /* Replacing a value keeps the position. */
    key_of(k, sizeof k, 1);
    mc_map_puts(&m, k, V(2));
    assert_order(&m, order, n);

    /* Re-inserting a deleted key appends it; inserting many more forces
     * rebuilds that squeeze out holes and grow the table. */
    key_of(k, sizeof k, 0);
    mc_map_puts(&m, k, V(1));
    order[n++] = 0;
    for (int i = N; i < N + 700; i++) {
        key_of(k, sizeof k, i);
        mc_map_puts(&m, k, V(i + 1));
        order[n++] = i;
    }
    assert_order(&m, order, n);

    /* Delete almost everything, then insert again (rebuild without growth). */
    j = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 10 != 0) {
            key_of(k, sizeof k, order[i]);
            mc_map_dels(&m, k);
        } else {
            order[j++] = order[i];
        }
    }
    n = j;
    assert_order(&m, order, n);
    for (int i = 5000; i < 5300; i++) {
        key_of(k, sizeof k, i);
        mc_map_puts(&m, k, V(i + 1));
        order[n++] = i;
    }
    assert_order(&m, order, n);
    mc_map_free(&m);
}
END_TEST

START_TEST(test_delete_during_iteration)
{
    mc_map_t m;
    mc_map_init(&m);
    for (uint64_t i = 0; i < 100; i++)
        mc_map_putu(&m, i, V(i + 1));
    mc_map_entry_t *e;
    uint64_t seen = 0;
    for (uint32_t it = 0; mc_map_next(&m, &it, &e);) {
        uint64_t key = mc_map_entry_u64(e);
        ck_assert_uint_eq(key, seen);
        seen++;
        if (key % 2 == 0)
            ck_assert_uint_eq(U(mc_map_delu(&m, key)), key + 1);
    }
    ck_assert_uint_eq(seen, 100);
    ck_assert_uint_eq(mc_map_count(&m), 50);
    uint64_t expect = 1;
    for (uint32_t it = 0; mc_map_next(&m, &it, &e); expect += 2)
        ck_assert_uint_eq(mc_map_entry_u64(e), expect);
    ck_assert_uint_eq(expect, 101);
    mc_map_free(&m);
}
END_TEST

START_TEST(test_u64_keys)
{
    mc_map_t m;
    mc_map_init(&m);
    const uint64_t keys[] = {0, 1, UINT64_MAX, 0x8000000000000000ULL, 42};
    for (size_t i = 0; i < (sizeof keys / sizeof keys[0]); i++)
        ck_assert_ptr_null(mc_map_putu(&m, keys[i], V(i + 100)));
    for (size_t i = 0; i < (sizeof keys / sizeof keys[0]); i++)
        ck_assert_uint_eq(U(mc_map_getu(&m, keys[i])), i + 100);
    ck_assert_ptr_null(mc_map_getu(&m, 2));
    ck_assert_uint_eq(U(mc_map_putu(&m, UINT64_MAX, V(7))), 102);
    ck_assert_uint_eq(U(mc_map_delu(&m, 0)), 100);
    ck_assert_ptr_null(mc_map_delu(&m, 0));
    mc_map_entry_t *e;
    uint32_t it = 0;
    ck_assert(mc_map_next(&m, &it, &e));
    ck_assert_uint_eq(mc_map_entry_u64(e), 1);
    ck_assert(mc_map_next(&m, &it, &e));
    ck_assert_uint_eq(mc_map_entry_u64(e), UINT64_MAX);
    ck_assert_uint_eq(U(e->value), 7);
    mc_map_free(&m);
}
END_TEST

/* Reference model: keys 0..K-1; value and insertion stamp per key. */
enum { K = 2048, OPS = 100000 };

START_TEST(test_random_ops_vs_model)
{
    static uint64_t val[K], stamp[K];
    static bool present[K];
    memset(present, 0, sizeof present);
    uint64_t clock = 0;
    uint32_t live = 0;
    mc_map_t m;
    mc_map_init(&m);
    mc_rng_t r;
    mc_rng_seed(&r, 12345);
    for (int op = 0; op < OPS; op++) {
        /* Vary the key range so the map both grows and shrinks a lot. */
        uint64_t span = (op / 10000) % 2 ? K : K / 8;
        uint64_t k = mc_rng_below(&r, span);
        uint64_t kind = mc_rng_below(&r, 10);
        if (kind < 5) { /* put */
            uint64_t v = mc_rng_next(&r) | 1;
            void *old = mc_map_putu(&m, k, V(v));
            MC_CK(U(old) == (present[k] ? val[k] : 0));
            if (!present[k]) {
                present[k] = true;
                stamp[k] = ++clock;
                live++;
            }
            val[k] = v;
        } else if (kind < 8) { /* delete */
            void *old = mc_map_delu(&m, k);
            MC_CK(U(old) == (present[k] ? val[k] : 0));
            if (present[k])
                live--;
            present[k] = false;
        } else { /* lookup */
            MC_CK(U(mc_map_getu(&m, k)) == (present[k] ? val[k] : 0));
            MC_CK(mc_map_has(&m, &k, sizeof k) == present[k]);
        }
        MC_CK(mc_map_count(&m) == live);
        if (op % 5000 == 4999 || op == OPS - 1) {
            /* Full walk: every live key once, in insertion-stamp order. */
            uint64_t last = 0;
            uint32_t n = 0;
            mc_map_entry_t *e;
            for (uint32_t it = 0; mc_map_next(&m, &it, &e); n++) {
                uint64_t key = mc_map_entry_u64(e);
                MC_CK(key < K);
                MC_CK(present[key]);
                MC_CK(stamp[key] > last);
                last = stamp[key];
                MC_CK(U(e->value) == val[key]);
            }
            ck_assert_uint_eq(n, live);
        }
    }
    mc_map_free(&m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_map");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, test_put_get_replace_del);
    tcase_add_test(tc, test_binary_and_empty_keys);
    tcase_add_test(tc, test_slot);
    tcase_add_test(tc, test_iteration_order_across_deletes_and_rebuilds);
    tcase_add_test(tc, test_delete_during_iteration);
    tcase_add_test(tc, test_u64_keys);
    tcase_add_test(tc, test_random_ops_vs_model);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
