/* Store client: caller buffers registered once with the transport
 * (core/storesvc/mc_store_client_buffers.c). A fake env records the
 * transport registrations; the client's table must match them exactly. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "storesvc/mc_store_client.h"

/* the transport: up to 8 non-overlapping registrations, as hw/xport */
static struct {
    uintptr_t base[8];
    size_t len[8];
    int n;
    int registers, unregisters;
} T;

static mc_status_t fake_register(mc_env_t *env, void *addr, size_t len, uint32_t *key)
{
    (void)env;
    uintptr_t lo = (uintptr_t)addr;
    T.registers++;
    for (int i = 0; i < T.n; i++)
        if (lo < T.base[i] + T.len[i] && T.base[i] < lo + len)
            return MC_INVALID_PARAMS;
    if (T.n == 8)
        return MC_BUFFER_OVERFLOW;
    T.base[T.n] = lo;
    T.len[T.n++] = len;
    if (key)
        *key = 1;
    return MC_OK;
}

static mc_status_t fake_unregister(mc_env_t *env, void *addr)
{
    (void)env;
    T.unregisters++;
    for (int i = 0; i < T.n; i++)
        if (T.base[i] == (uintptr_t)addr) {
            T.base[i] = T.base[--T.n];
            T.len[i] = T.len[T.n];
            return MC_OK;
        }
    return MC_INVALID_PARAMS;
}

static mc_env_ops_t ops;
static mc_env_t env;
static mc_store_client_t C;
static uint8_t mem[1 << 16];

static void setup(void)
{
    memset(&T, 0, sizeof T);
    memset(&ops, 0, sizeof ops);
    ops.mem_register = fake_register;
    ops.mem_unregister = fake_unregister;
    env = (mc_env_t){.ops = &ops, .node_name = "c1"};
    memset(&C, 0, sizeof C);
    C.env = &env;
}

static void teardown(void)
{
    mc_sc_buffers_free(&C);
    ck_assert_int_eq(T.n, 0); /* nothing left registered with the transport */
    ck_assert_ptr_null(C.bufs);
}

START_TEST(register_cover_unregister)
{
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem, 4096), MC_OK);
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem + 8192, 4096), MC_OK);
    ck_assert_int_eq(T.n, 2);
    /* covered: any range inside one registration, nothing straddling */
    ck_assert(mc_sc_buffer_covered(&C, mem, 4096));
    ck_assert(mc_sc_buffer_covered(&C, mem + 100, 3996));
    ck_assert(mc_sc_buffer_covered(&C, mem + 8192 + 4095, 1));
    ck_assert(!mc_sc_buffer_covered(&C, mem + 100, 3997));
    ck_assert(!mc_sc_buffer_covered(&C, mem + 4096, 1));
    ck_assert(!mc_sc_buffer_covered(&C, mem + 4000, 8192)); /* spans both and the gap */
    ck_assert(!mc_sc_buffer_covered(&C, mem + 8191, 2)); /* starts before the second */
    /* asking costs no registration */
    ck_assert_int_eq(T.registers, 2);
    ck_assert_int_eq(mc_sc_buffer_unregister(&C, mem), MC_OK);
    ck_assert_int_eq(T.n, 1);
    ck_assert(!mc_sc_buffer_covered(&C, mem, 1));
    ck_assert(mc_sc_buffer_covered(&C, mem + 8192, 4096));
    /* unknown base (also: inside a registration, not its start) */
    ck_assert_int_eq(mc_sc_buffer_unregister(&C, mem), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_sc_buffer_unregister(&C, mem + 8193), MC_INVALID_PARAMS);
    ck_assert_int_eq(T.unregisters, 1);
    ck_assert_int_eq(T.n, 1);
}
END_TEST

START_TEST(transport_refusals_are_invalid_params)
{
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem, 4096), MC_OK);
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem, 4096), MC_INVALID_PARAMS);       /* duplicate */
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem + 2048, 4096), MC_INVALID_PARAMS); /* overlap */
    ck_assert_int_eq(mc_sc_buffer_register(&C, NULL, 4096), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem + 8192, 0), MC_INVALID_PARAMS);
    ck_assert_int_eq(C.nbufs, 1); /* refused ones left no entry */
    ck_assert(!mc_sc_buffer_covered(&C, mem + 2048, 4096));
    /* the range is free again once unregistered */
    ck_assert_int_eq(mc_sc_buffer_unregister(&C, mem), MC_OK);
    ck_assert_int_eq(mc_sc_buffer_register(&C, mem + 2048, 4096), MC_OK);
    ck_assert(mc_sc_buffer_covered(&C, mem + 2048, 4096));
}
END_TEST

START_TEST(many_buffers_then_free_unregisters_all)
{
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(mc_sc_buffer_register(&C, mem + i * 4096, 4096), MC_OK);
    ck_assert_int_eq(C.nbufs, 8);
    for (int i = 0; i < 8; i++)
        ck_assert(mc_sc_buffer_covered(&C, mem + i * 4096 + 7, 100));
    /* teardown's mc_sc_buffers_free must unregister all eight */
    mc_sc_buffers_free(&C);
    ck_assert_int_eq(T.unregisters, 8);
    ck_assert_int_eq(T.n, 0);
    ck_assert(!mc_sc_buffer_covered(&C, mem, 1));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_client_buffers");
    TCase *tc = tcase_create("buffers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, register_cover_unregister);
    tcase_add_test(tc, transport_refusals_are_invalid_params);
    tcase_add_test(tc, many_buffers_then_free_unregisters_all);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
