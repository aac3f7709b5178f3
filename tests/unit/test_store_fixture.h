/* Shared fixture for the store master unit tests (test_store_*.c): a
 * master with default config, a virtual clock, helpers to mount segments
 * and to put objects, and an invariant check after every test. */
#ifndef TEST_STORE_FIXTURE_H
#define TEST_STORE_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_rng.h"
#include "store/mc_master.h"

#define MS 1000000ull
#define SEC 1000000000ull

static mc_rng_t fx_rng;
static mc_master_t *M;
static uint64_t NOW;
static mc_master_config_t CFG;

static inline mc_uuid_t U(uint64_t n) { return (mc_uuid_t){n, n}; }
static inline mc_slice_t K(const char *s) { return mc_slice_cstr(s); }

/* Client n owns segment "seg<n>" with id U(100 + n); sizes in bytes. */
static inline mc_segment_info_t fx_seg(int n, uint64_t size)
{
    static char names[64][16];
    snprintf(names[n], sizeof names[n], "seg%d", n);
    mc_segment_info_t s = {U(100 + (uint64_t)n), names[n], 0x100000000ull * (uint64_t)n, size, NULL, "tcp", 0};
    return s;
}

static inline void fx_mount(int n, uint64_t size)
{
    mc_segment_info_t s = fx_seg(n, size);
    ck_assert_int_eq(mc_master_mount_segment(M, NOW, U((uint64_t)n), &s), MC_OK);
}

static inline mc_replicate_config_t fx_cfg(uint32_t r)
{
    mc_replicate_config_t c;
    memset(&c, 0, sizeof c);
    c.replica_num = r;
    return c;
}

/* PutStart + PutEnd by client 1 (or the given client). */
static inline mc_status_t fx_put_as(mc_uuid_t c, const char *key, uint64_t size, uint32_t r)
{
    mc_replicate_config_t cfg = fx_cfg(r);
    mc_replica_list_t l;
    mc_status_t st = mc_master_put_start(M, NOW, c, K(key), size, &cfg, &l);
    if (st != MC_OK)
        return st;
    return mc_master_put_end(M, NOW, c, K(key), MC_REPLICA_TYPE_ALL, NULL);
}
static inline mc_status_t fx_put(const char *key, uint64_t size, uint32_t r) { return fx_put_as(U(1), key, size, r); }

static inline bool fx_exists(const char *key)
{
    mc_replica_list_t l;
    return mc_master_get_replica_list_admin(M, K(key), &l) == MC_OK;
}

static inline uint32_t fx_nreplicas(const char *key)
{
    mc_replica_list_t l;
    if (mc_master_get_replica_list_admin(M, K(key), &l) != MC_OK)
        return 0;
    return l.n;
}

static inline void fx_check(void)
{
    char err[512] = "";
    ck_assert_msg(mc_master_check(M, err, sizeof err), "invariant: %s", err);
}

static inline void fx_setup_cfg(void (*tweak)(mc_master_config_t *))
{
    mc_rng_seed(&fx_rng, 42);
    mc_master_config_default(&CFG);
    if (tweak)
        tweak(&CFG);
    NOW = 1000 * SEC;
    ck_assert_int_eq(mc_master_create(&CFG, &fx_rng, &M), MC_OK);
}

static inline void fx_setup(void) { fx_setup_cfg(NULL); }

static inline void fx_teardown(void)
{
    fx_check();
    mc_master_destroy(M);
    M = NULL;
}

static inline mc_master_stats_t fx_stats(void)
{
    mc_master_stats_t st;
    mc_master_get_stats(M, &st);
    return st;
}

#define FX_MAIN(suite_fn)                                   \
    int main(void)                                          \
    {                                                       \
        SRunner *sr = srunner_create(suite_fn());           \
        srunner_run_all(sr, CK_NORMAL);                     \
        int failed = srunner_ntests_failed(sr);             \
        srunner_free(sr);                                   \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;        \
    }

#endif
