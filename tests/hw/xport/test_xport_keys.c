/* mc_xport registration keys (rkeys): every registration gets a fresh
 * nonzero key; an op carrying a key the receiver does not (or no longer)
 * hold fails with MC_TRANSFER_FAIL and touches no byte, over TCP and over
 * shm (which hands a stale key to TCP for the authoritative answer); a
 * second process (xport) registering the same memory under the same peer
 * address issues other keys, so its predecessor's descriptors are refused.
 * Key 0 means "no key": the range alone decides (users without keys). */
#include "xport_harness.h"

#define PEER_B "127.0.0.1:7003"
#define CAP 65536

static mc_xfer_op_t kop(int opcode, void *local, uint64_t remote, uint64_t len, uint32_t key, uint64_t tag)
{
    mc_xfer_op_t op = h_op(opcode, local, PEER_B, remote, len, tag);
    op.remote_key = key;
    return op;
}

/* Post one op, wait for it, return its status. */
static mc_status_t run1(rec_t *r, mc_xport_t *a, mc_xfer_op_t op)
{
    h_rec_reset(r);
    mc_xport_post(a, &op, 1);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_uint_eq(r->cnt[op.tag], 1);
    return r->st[op.tag];
}

static void check_keys(int shm)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, shm, 0), *b = h_xport(r, shm, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, PEER_B, mc_xport_local_desc(b)), MC_OK);
    uint8_t *dst = shm == 1 ? mc_xport_alloc_shared(b, CAP) : calloc(1, CAP);
    uint8_t *src = calloc(1, CAP), *back = calloc(1, CAP);
    ck_assert_ptr_nonnull(dst);
    uint32_t ka = 0, k1 = 0, k2 = 0, k3 = 0;
    ck_assert_int_eq(mc_xport_mem_register_key(a, src, CAP, &ka), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(a, back, CAP), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register_key(b, dst, CAP, &k1), MC_OK);
    ck_assert_uint_ne(ka, 0);
    ck_assert_uint_ne(k1, 0);
    ck_assert_uint_ne(k1, ka);
    ck_assert_int_eq(mc_xport_mem_unregister(b, dst), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register_key(b, dst, CAP, &k2), MC_OK);
    ck_assert_uint_ne(k2, 0);
    ck_assert_uint_ne(k2, k1); /* never reused within the process */

    h_fill(src, CAP, 7);
    memset(dst, 0x5A, CAP);
    uint64_t d = (uintptr_t)dst;
    /* the earlier registration's key: refused, nothing written or read */
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d, 4096, k1, 1)), MC_TRANSFER_FAIL);
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d + 100, 1 << 15, k1, 2)), MC_TRANSFER_FAIL);
    for (size_t i = 0; i < CAP; i++)
        ck_assert_uint_eq(dst[i], 0x5A);
    memset(back, 0xC3, CAP);
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_READ, back, d, 4096, k1, 3)), MC_TRANSFER_FAIL);
    for (size_t i = 0; i < 4096; i++)
        ck_assert_uint_eq(back[i], 0xC3);
    /* a key nobody issued, and the initiator's own key, are refused too */
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d, 64, ka, 4)), MC_TRANSFER_FAIL);
    ck_assert_uint_eq(dst[0], 0x5A);
    /* the right key with a range outside its region: range refused */
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d + CAP - 10, 64, k2, 5)), MC_INVALID_PARAMS);
    /* the current key moves bytes both ways */
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d, CAP, k2, 6)), MC_OK);
    ck_assert_int_eq(memcmp(dst, src, CAP), 0);
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_READ, back, d, CAP, k2, 7)), MC_OK);
    ck_assert_int_eq(memcmp(back, src, CAP), 0);
    /* no key: the range alone decides */
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_READ, back, d, 16, 0, 8)), MC_OK);
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    if (shm == 1)
        ck_assert_uint_gt(st.ops_shm, 0); /* the good ops did take shm */

    /* "restart": another process's xport answers under B's address and
     * registers the very same memory; the dead one's key is refused */
    ck_assert_int_eq(mc_xport_mem_unregister(b, dst), MC_OK);
    mc_xport_t *c = h_xport(r, -2, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, PEER_B, mc_xport_local_desc(c)), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register_key(c, dst, CAP, &k3), MC_OK);
    ck_assert_uint_ne(k3, 0);
    ck_assert_uint_ne(k3, k2);
    memset(dst, 0x11, CAP);
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d, 4096, k2, 9)), MC_TRANSFER_FAIL);
    ck_assert_uint_eq(dst[0], 0x11);
    ck_assert_uint_eq(dst[4095], 0x11);
    ck_assert_int_eq(run1(r, a, kop(MC_XFER_WRITE, src, d, 4096, k3, 10)), MC_OK);
    ck_assert_int_eq(memcmp(dst, src, 4096), 0);
    ck_assert_int_eq(mc_xport_mem_unregister(c, dst), MC_OK);
    mc_xport_destroy(c);

    mc_xport_destroy(a);
    if (shm == 1)
        mc_xport_free_shared(b, dst);
    else
        free(dst);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(src);
    free(back);
}

START_TEST(test_keys_tcp) { check_keys(-2); }
END_TEST

START_TEST(test_keys_shm) { check_keys(1); }
END_TEST

int main(void)
{
    Suite *s = suite_create("xport_keys");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_keys_tcp);
    tcase_add_test(tc, test_keys_shm);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
