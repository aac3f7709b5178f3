/* core/base: mc_vec, mc_list, mc_mem helpers and MC_ASSERT. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_list.h"
#include "base/mc_mem.h"
#include "base/mc_vec.h"
#include "mc_check.h"

typedef struct pair {
    uint32_t a;
    uint64_t b;
} pair_t;

START_TEST(test_vec)
{
    mc_vec_t v;
    mc_vec_init(&v, sizeof(pair_t));
    for (uint32_t i = 0; i < 100; i++) {
        pair_t *p = mc_vec_push(&v);
        ck_assert_uint_eq(p->a, 0); /* zeroed */
        ck_assert_uint_eq(p->b, 0);
        p->a = i;
        p->b = 1000 + i;
    }
    ck_assert_uint_eq(v.len, 100);
    ck_assert_uint_eq(MC_VEC_AT(&v, pair_t, 57)->b, 1057);
    mc_vec_remove(&v, 0);
    mc_vec_remove(&v, 50);  /* was index 51 */
    mc_vec_remove(&v, 97);  /* last */
    ck_assert_uint_eq(v.len, 97);
    ck_assert_uint_eq(MC_VEC_AT(&v, pair_t, 0)->a, 1);
    ck_assert_uint_eq(MC_VEC_AT(&v, pair_t, 49)->a, 50);
    ck_assert_uint_eq(MC_VEC_AT(&v, pair_t, 50)->a, 52);
    ck_assert_uint_eq(MC_VEC_AT(&v, pair_t, 96)->a, 98);
    mc_vec_clear(&v);
    ck_assert_uint_eq(v.len, 0);
    ck_assert_uint_eq(((pair_t *)mc_vec_push(&v))->a, 0);
    mc_vec_free(&v);
    ck_assert_ptr_null(v.data);
    ck_assert_uint_eq(v.esize, sizeof(pair_t));
}
END_TEST

typedef struct node {
    int id;
    mc_list_t link;
} node_t;

START_TEST(test_list)
{
    mc_list_t head, *pos, *tmp;
    mc_list_init(&head);
    ck_assert(mc_list_empty(&head));
    node_t n[4];
    for (int i = 0; i < 4; i++)
        n[i].id = i;
    mc_list_push_back(&head, &n[1].link);
    mc_list_push_back(&head, &n[2].link);
    mc_list_push_front(&head, &n[0].link);
    mc_list_push_back(&head, &n[3].link);
    int want = 0;
    mc_list_for_each_safe(pos, tmp, &head)
    {
        node_t *x = mc_container_of(pos, node_t, link);
        ck_assert_int_eq(x->id, want++);
        if (x->id % 2)
            mc_list_del(pos); /* deleting while walking is safe */
    }
    ck_assert_int_eq(want, 4);
    ck_assert(mc_list_empty(&n[1].link)); /* del re-inits the node */
    ck_assert_ptr_eq(head.next, &n[0].link);
    ck_assert_ptr_eq(head.next->next, &n[2].link);
    ck_assert_ptr_eq(head.prev, &n[2].link);
    mc_list_del(&n[0].link);
    mc_list_del(&n[2].link);
    ck_assert(mc_list_empty(&head));
}
END_TEST

START_TEST(test_mem)
{
    char *s = mc_strdup("abc");
    ck_assert_str_eq(s, "abc");
    mc_free(s);
    s = mc_strndup("abcdef", 2);
    ck_assert_str_eq(s, "ab");
    mc_free(s);
    uint8_t *p = mc_memdup("\x01\x02", 2);
    ck_assert_uint_eq(p[1], 2);
    mc_free(p);
    mc_free(mc_memdup(NULL, 0)); /* zero-size allocations are valid */
    mc_free(mc_malloc(0));
    uint32_t *z = mc_calloc(16, sizeof *z);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(z[i], 0);
    z = mc_realloc(z, 1024 * sizeof *z);
    ck_assert_uint_eq(z[15], 0); /* old contents kept */
    mc_free(z);
    mc_free(mc_calloc(0, 0));
    mc_free(mc_realloc(NULL, 0));
    mc_free(NULL);
    ck_assert_uint_eq(MC_ARRAY_LEN(((int[]){1, 2, 3})), 3);
}
END_TEST

START_TEST(test_assert_aborts)
{
    volatile int x = 1;
    MC_ASSERT(x == 1); /* holds: no effect */
    MC_ASSERT(x == 2); /* fails: abort() */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("base_misc");
    TCase *tc = tcase_create("misc");
    tcase_add_test(tc, test_vec);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_mem);
    /* An abort only makes sense in a forked child (not under valgrind's
     * CK_FORK=no runs). */
    const char *fork_mode = getenv("CK_FORK");
    if (!fork_mode || strcmp(fork_mode, "no") != 0)
        tcase_add_test_raise_signal(tc, test_assert_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
