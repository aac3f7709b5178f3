/* Master core: PutRevoke parks the revoked buffers for
 * put_start_discard_timeout before their space can be handed out again
 * (a slow transfer of the revoked write may still land there; upstream
 * frees at once). Release is driven by mc_master_tick at the deadline
 * mc_master_next_deadline reports. */
#include "test_store_fixture.h"

#define DISCARD_MS 3000ull

static void short_discard(mc_master_config_t *c)
{
    c->put_start_discard_timeout_ms = DISCARD_MS;
    c->put_start_release_timeout_ms = 10 * DISCARD_MS;
    c->client_ttl_ms = 3600ull * 1000; /* the segment owner outlives every tick here */
}

static void setup(void) { fx_setup_cfg(short_discard); }

static mc_status_t start(const char *key, uint64_t size, mc_replica_list_t *l)
{
    mc_replicate_config_t c = fx_cfg(1);
    return mc_master_put_start(M, NOW, U(1), K(key), size, &c, l);
}

START_TEST(revoked_space_parked_until_discard_timeout)
{
    fx_mount(1, 4096); /* room for exactly one 4 KiB object */
    mc_replica_list_t l;
    ck_assert_int_eq(start("x", 4096, &l), MC_OK);
    uint64_t addr = l.r[0].buffer_address;
    uint64_t t0 = NOW;
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("x"), MC_REPLICA_TYPE_ALL), MC_OK);
    /* the key is gone at once, the space is not */
    ck_assert(!fx_exists("x"));
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_uint_eq(fx_stats().parked_bytes, 4096);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 4096);
    ck_assert_uint_eq(mc_master_next_deadline(M), t0 + DISCARD_MS * MS);
    ck_assert_int_eq(start("y", 4096, &l), MC_NO_AVAILABLE_HANDLE);
    /* the same key may be written again, but not into the parked space */
    ck_assert_int_eq(start("x", 4096, &l), MC_NO_AVAILABLE_HANDLE);
    NOW = t0 + DISCARD_MS * MS - 1;
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 1);
    ck_assert_int_eq(start("y", 4096, &l), MC_NO_AVAILABLE_HANDLE);
    NOW = t0 + DISCARD_MS * MS;
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
    ck_assert_int_eq(start("y", 4096, &l), MC_OK);
    ck_assert_uint_eq(l.r[0].buffer_address, addr); /* reusable only now */
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("y"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
}
END_TEST

START_TEST(new_writes_avoid_revoked_space)
{
    fx_mount(1, 1 << 20);
    mc_replica_list_t l;
    ck_assert_int_eq(start("a", 64 << 10, &l), MC_OK);
    uint64_t lo = l.r[0].buffer_address, hi = lo + (64 << 10);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("a"), MC_REPLICA_TYPE_MEMORY), MC_OK);
    /* writes placed while it is parked never overlap it */
    for (int i = 0; i < 8; i++) {
        char key[16];
        snprintf(key, sizeof key, "b%d", i);
        ck_assert_int_eq(start(key, 64 << 10, &l), MC_OK);
        uint64_t a = l.r[0].buffer_address;
        ck_assert_msg(a + (64 << 10) <= lo || a >= hi, "%s placed in revoked space", key);
        ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K(key), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    }
    ck_assert_uint_eq(fx_stats().allocated_bytes, 9u * (64 << 10));
    fx_check();
}
END_TEST

START_TEST(batch_and_upsert_revokes_park)
{
    fx_mount(1, 1 << 20);
    mc_replicate_config_t c = fx_cfg(1);
    mc_replica_list_t out[2];
    mc_status_t st[2];
    mc_slice_t keys[] = {K("n0"), K("n1")};
    uint64_t sizes[] = {1000, 2000};
    mc_master_batch_put_start(M, NOW, U(1), keys, sizes, 2, &c, out, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    mc_master_batch_put_revoke(M, NOW, U(1), keys, 2, st);
    ck_assert_int_eq(st[0], MC_OK);
    ck_assert_int_eq(st[1], MC_OK);
    ck_assert(!fx_exists("n0") && !fx_exists("n1"));
    ck_assert_uint_eq(fx_stats().parked_buffers, 2);
    /* a same-size upsert flips the object to PROCESSING in place; revoking
     * it deletes the object (as upstream) and parks its buffer */
    ck_assert_int_eq(fx_put("u", 4096, 1), MC_OK);
    mc_replica_list_t l;
    ck_assert_int_eq(mc_master_upsert_start(M, NOW, U(1), K("u"), 4096, &c, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("u"), MC_REPLICA_TYPE_ALL), MC_OK);
    ck_assert(!fx_exists("u"));
    ck_assert_uint_eq(fx_stats().parked_buffers, 3);
    fx_check();
    NOW += DISCARD_MS * MS;
    mc_master_tick(M, NOW);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert_uint_eq(fx_stats().allocated_bytes, 0);
}
END_TEST

START_TEST(refused_revokes_park_nothing)
{
    fx_mount(1, 1 << 20);
    mc_replica_list_t l;
    ck_assert_int_eq(start("k", 100, &l), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(2), K("k"), MC_REPLICA_TYPE_ALL), MC_ILLEGAL_CLIENT);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_DISK), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_master_put_end(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL, NULL), MC_OK);
    ck_assert_int_eq(mc_master_put_revoke(M, NOW, U(1), K("k"), MC_REPLICA_TYPE_ALL), MC_INVALID_WRITE);
    ck_assert_uint_eq(fx_stats().parked_buffers, 0);
    ck_assert(fx_exists("k"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_master_revoke");
    TCase *tc = tcase_create("revoke");
    tcase_add_checked_fixture(tc, setup, fx_teardown);
    tcase_add_test(tc, revoked_space_parked_until_discard_timeout);
    tcase_add_test(tc, new_writes_avoid_revoked_space);
    tcase_add_test(tc, batch_and_upsert_revokes_park);
    tcase_add_test(tc, refused_revokes_park_nothing);
    suite_add_tcase(s, tc);
    return s;
}

FX_MAIN(suite)
