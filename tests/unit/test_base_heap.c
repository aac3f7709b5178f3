/* core/base/mc_heap: (key, seq) ordering, FIFO among equal keys, remove. */
#include "base/mc_heap.h"
#include "base/mc_rng.h"
#include "mc_check.h"

#define V(x) ((void *)(uintptr_t)(x))
#define U(p) ((uintptr_t)(p))

START_TEST(test_empty)
{
    mc_heap_t h;
    mc_heap_init(&h);
    ck_assert_uint_eq(mc_heap_len(&h), 0);
    ck_assert_ptr_null(mc_heap_peek(&h));
    ck_assert_ptr_null(mc_heap_pop(&h));
    mc_heap_free(&h);
}
END_TEST

START_TEST(test_ordering_random)
{
    enum { N = 10000 };
    static mc_heap_item_t items[N];
    mc_heap_t h;
    mc_heap_init(&h);
    mc_rng_t r;
    mc_rng_seed(&r, 99);
    for (uint32_t i = 0; i < N; i++)
        mc_heap_push(&h, &items[i], mc_rng_below(&r, 500), V(i));
    ck_assert_uint_eq(mc_heap_len(&h), N);
    uint64_t last_key = 0, last_seq = 0;
    for (uint32_t i = 0; i < N; i++) {
        mc_heap_item_t *top = mc_heap_peek(&h);
        mc_heap_item_t *it = mc_heap_pop(&h);
        MC_CK(top == it);
        MC_CK(it->key >= last_key);
        if (i > 0 && it->key == last_key)
            MC_CK(it->seq > last_seq); /* FIFO among equal keys */
        /* seq is the push order, and value was the push index. */
        MC_CK(it->seq == U(it->value));
        last_key = it->key;
        last_seq = it->seq;
    }
    ck_assert_uint_eq(mc_heap_len(&h), 0);
    mc_heap_free(&h);
}
END_TEST

START_TEST(test_fifo_ties)
{
    mc_heap_item_t it[6];
    mc_heap_t h;
    mc_heap_init(&h);
    /* Same virtual time pushed in order a..f, with an earlier one mixed in. */
    mc_heap_push(&h, &it[0], 10, V('a'));
    mc_heap_push(&h, &it[1], 10, V('b'));
    mc_heap_push(&h, &it[2], 5, V('c'));
    mc_heap_push(&h, &it[3], 10, V('d'));
    mc_heap_push(&h, &it[4], 5, V('e'));
    mc_heap_push(&h, &it[5], 10, V('f'));
    const char expect[] = {'c', 'e', 'a', 'b', 'd', 'f'};
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(U(mc_heap_pop(&h)->value), (uintptr_t)expect[i]);
    mc_heap_free(&h);
}
END_TEST

START_TEST(test_remove)
{
    enum { N = 2000 };
    static mc_heap_item_t items[N];
    static bool removed[N];
    mc_heap_t h;
    mc_heap_init(&h);
    mc_rng_t r;
    mc_rng_seed(&r, 7);
    for (uint32_t i = 0; i < N; i++) {
        removed[i] = false;
        mc_heap_push(&h, &items[i], mc_rng_below(&r, 100), V(i));
    }
    /* Remove the current minimum, the last array slot and random items. */
    mc_heap_item_t *top = mc_heap_peek(&h);
    removed[U(top->value)] = true;
    mc_heap_remove(&h, top);
    mc_heap_item_t *last = h.a[h.len - 1];
    removed[U(last->value)] = true;
    mc_heap_remove(&h, last);
    uint32_t left = N - 2;
    for (uint32_t i = 0; i < N; i++) {
        if (!removed[i] && mc_rng_chance(&r, 0.5)) {
            mc_heap_remove(&h, &items[i]);
            removed[i] = true;
            left--;
        }
    }
    ck_assert_uint_eq(mc_heap_len(&h), left);
    uint64_t last_key = 0, last_seq = 0;
    for (uint32_t i = 0; i < left; i++) {
        mc_heap_item_t *it = mc_heap_pop(&h);
        MC_CK(!removed[U(it->value)]);
        MC_CK(it->key > last_key || (it->key == last_key && (i == 0 || it->seq > last_seq)));
        last_key = it->key;
        last_seq = it->seq;
    }
    ck_assert_ptr_null(mc_heap_pop(&h));
    mc_heap_free(&h);
}
END_TEST

START_TEST(test_item_reuse_after_pop)
{
    mc_heap_item_t a, b;
    mc_heap_t h;
    mc_heap_init(&h);
    mc_heap_push(&h, &a, 1, V(1));
    mc_heap_push(&h, &b, 2, V(2));
    ck_assert_ptr_eq(mc_heap_pop(&h), &a);
    mc_heap_push(&h, &a, 2, V(3)); /* same key as b, pushed later */
    ck_assert_uint_gt(a.seq, b.seq);
    ck_assert_ptr_eq(mc_heap_pop(&h), &b);
    ck_assert_ptr_eq(mc_heap_pop(&h), &a);
    mc_heap_free(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_ordering_random);
    tcase_add_test(tc, test_fifo_ties);
    tcase_add_test(tc, test_remove);
    tcase_add_test(tc, test_item_reuse_after_pop);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
