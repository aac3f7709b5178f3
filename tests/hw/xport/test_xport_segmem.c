/* Store segment memory on hw (env op seg_alloc): a memfd mapping, so a
 * same-host reader copies it over shm (stats prove the path) with the
 * registration key still checked (a stale key fails with
 * MC_TRANSFER_FAIL, nothing touched). Also the posting-thread decision of
 * the shm backend: once the peer is mapped, ops for memory that is not
 * shared go straight to TCP, small ones are copied inline, large ones by
 * the worker; all complete exactly once with the right bytes. */
#include "mc_hw_env.h"
#include "xport_harness.h"

#define SEG_LEN ((1u << 20) + 100) /* rounded up to pages by seg_alloc */
#define NB 32
#define PEER "seg-owner"

static mc_status_t run_n(rec_t *r, mc_xport_t *a, mc_xfer_op_t *ops, size_t n)
{
    h_rec_reset(r);
    mc_xport_post(a, ops, n);
    ck_assert(h_wait(r, (unsigned)n, 20000));
    mc_status_t s = MC_OK;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(r->cnt[ops[i].tag], 1);
        if (r->st[ops[i].tag] != MC_OK)
            s = r->st[ops[i].tag];
    }
    return s;
}

static mc_xfer_op_t kop(int opc, void *local, uint64_t remote, uint64_t len, uint32_t key, uint64_t tag)
{
    mc_xfer_op_t op = h_op(opc, local, PEER, remote, len, tag);
    op.remote_key = key;
    return op;
}

START_TEST(test_segment_shared_and_keyed)
{
    mc_loop_t *oloop = mc_loop_create();
    ck_assert_ptr_nonnull(oloop);
    mc_hw_env_opts_t eo = {.node_name = "owner", .log_level = MC_LOG_WARN};
    mc_env_t *env = mc_hw_env_create(oloop, &eo);
    ck_assert_ptr_nonnull(env);
    mc_hw_env_set_data_host(env, "127.0.0.1");
    ck_assert_ptr_nonnull(env->ops->seg_alloc);
    ck_assert_ptr_nonnull(env->ops->seg_free);

    uint8_t *seg = env->ops->seg_alloc(env, SEG_LEN);
    ck_assert_ptr_nonnull(seg);
    ck_assert_uint_eq((uintptr_t)seg % 4096, 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < SEG_LEN; i++)
        nonzero += seg[i] != 0;
    ck_assert_uint_eq(nonzero, 0); /* zeroed like mc_calloc */
    uint32_t k1 = 0, k2 = 0, kh = 0;
    ck_assert_int_eq(env->ops->mem_register(env, seg, SEG_LEN, &k1), MC_OK);
    h_fill(seg, SEG_LEN, 42);
    uint8_t *heap = calloc(1, 1u << 16); /* registered but not shared */
    ck_assert_int_eq(env->ops->mem_register(env, heap, 1u << 16, &kh), MC_OK);
    h_fill(heap, 1u << 16, 43);

    const char *ep = env->ops->data_endpoint(env);
    ck_assert_ptr_nonnull(ep);
    const char *colon = strrchr(ep, ':');
    ck_assert_ptr_nonnull(colon);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%s shm=1", colon + 1);

    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, 1, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, PEER, desc), MC_OK);
    uint8_t *buf = calloc(1, SEG_LEN);
    ck_assert_int_eq(mc_xport_mem_register(a, buf, SEG_LEN), MC_OK);
    uint64_t base = (uintptr_t)seg;

    /* a batch of 4 KiB reads (the store's batched get): all over shm */
    mc_xfer_op_t ops[NB];
    for (int round = 0; round < 2; round++) { /* first contact, then mapped */
        memset(buf, 0, SEG_LEN);
        for (unsigned i = 0; i < NB; i++)
            ops[i] = kop(MC_XFER_READ, buf + i * 4096, base + 100 + i * 8192, 4096, k1, 1 + i);
        ck_assert_int_eq(run_n(r, a, ops, NB), MC_OK);
        for (unsigned i = 0; i < NB; i++)
            ck_assert_int_eq(memcmp(buf + i * 4096, seg + 100 + i * 8192, 4096), 0);
    }
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 2 * NB);
    ck_assert_uint_eq(st.ops_tcp, 0);

    /* a write lands in the owner's segment by memcpy; a large read takes
     * the worker (above the inline size) */
    h_fill(buf, 4096, 7);
    ops[0] = kop(MC_XFER_WRITE, buf, base + 5000, 4096, k1, 100);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_OK);
    ck_assert_int_eq(memcmp(seg + 5000, buf, 4096), 0);
    ops[0] = kop(MC_XFER_READ, buf, base, SEG_LEN, k1, 101);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_OK);
    ck_assert_int_eq(memcmp(buf, seg, SEG_LEN), 0);
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 2 * NB + 2);
    ck_assert_uint_eq(st.ops_tcp, 0);

    /* registered heap memory is not shared: decided at post, served by tcp */
    memset(buf, 0, 1u << 16);
    ops[0] = kop(MC_XFER_READ, buf, (uintptr_t)heap, 1u << 16, kh, 102);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_OK);
    ck_assert_int_eq(memcmp(buf, heap, 1u << 16), 0);
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_tcp, 1);

    /* re-registration: the old key is refused on this path, nothing moves */
    ck_assert_int_eq(env->ops->mem_unregister(env, seg), MC_OK);
    ck_assert_int_eq(env->ops->mem_register(env, seg, SEG_LEN, &k2), MC_OK);
    ck_assert_uint_ne(k2, k1);
    memset(buf, 0xC3, 4096);
    ops[0] = kop(MC_XFER_READ, buf, base, 4096, k1, 103);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_TRANSFER_FAIL);
    for (size_t i = 0; i < 4096; i++)
        ck_assert_uint_eq(buf[i], 0xC3);
    uint8_t before = seg[0];
    ops[0] = kop(MC_XFER_WRITE, buf, base, 4096, k1, 104);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_TRANSFER_FAIL);
    ck_assert_uint_eq(seg[0], before);
    ops[0] = kop(MC_XFER_READ, buf, base, 4096, k2, 105);
    ck_assert_int_eq(run_n(r, a, ops, 1), MC_OK);
    ck_assert_int_eq(memcmp(buf, seg, 4096), 0);
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 2 * NB + 3);
    ck_assert_uint_eq(st.ops_tcp, 3);
    ck_assert_uint_eq(r->bad_tag, 0);

    mc_xport_destroy(a);
    h_rec_free(r);
    free(buf);
    ck_assert_int_eq(env->ops->mem_unregister(env, seg), MC_OK);
    ck_assert_int_eq(env->ops->mem_unregister(env, heap), MC_OK);
    env->ops->seg_free(env, seg, SEG_LEN);
    free(heap);
    mc_hw_env_destroy(env);
    mc_loop_destroy(oloop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xport_segmem");
    TCase *tc = tcase_create("segmem");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_segment_shared_and_keyed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
