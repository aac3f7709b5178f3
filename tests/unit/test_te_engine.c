/* Transfer engine core: registration, segments, batches, slicing,
 * failover, path pause, retry budget, timeouts, late completions,
 * exactly-once, notifications. Driven by the fake world in te_fake_env.h. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_rng.h"
#include "te_fake_env.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)
#define MS 1000000ULL
#define SEC 1000000000ULL

typedef struct pair {
    fw_t *w;
    mc_te_meta_mem_store_t *store;
    fw_node_t *a, *b;
    mc_te_meta_t *ma, *mb;
    uint8_t *abuf, *bbuf;
    uint64_t blen;
    uint64_t seg; /* a's handle for b */
} pair_t;

static mc_te_t *make_te(fw_node_t *n, mc_te_meta_t *meta, const char *const *kv)
{
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "addr", n->addr);
    for (; kv && kv[0]; kv += 2)
        mc_conf_set(&c, kv[0], kv[1]);
    char err[256] = "";
    mc_te_t *te = mc_te_create(&n->env, &c, meta, err, sizeof err);
    ck_assert_msg(te != NULL, "create: %s", err);
    mc_conf_free(&c);
    n->te = te;
    return te;
}

static void open_cb(void *arg, int err, uint64_t id)
{
    int64_t *out = arg;
    out[0] = err;
    out[1] = (int64_t)id;
    out[2]++;
}

/* A and B with blen-byte buffers registered, A has B open. */
static void pair_setup(pair_t *p, uint64_t blen, const char *const *akv, const char *const *bkv)
{
    memset(p, 0, sizeof *p);
    p->w = fw_new();
    p->store = mc_te_meta_mem_store_new();
    p->a = fw_add_node(p->w, "A");
    p->b = fw_add_node(p->w, "B");
    p->ma = mc_te_meta_mem_open(p->store, &p->a->env, 1000);
    p->mb = mc_te_meta_mem_open(p->store, &p->b->env, 1000);
    make_te(p->a, p->ma, akv);
    make_te(p->b, p->mb, bkv);
    p->blen = blen;
    p->abuf = malloc(blen);
    p->bbuf = malloc(blen);
    for (uint64_t i = 0; i < blen; i++) {
        p->abuf[i] = (uint8_t)(i * 7 + 1);
        p->bbuf[i] = (uint8_t)(i * 13 + 5);
    }
    ck_assert_int_eq(mc_te_register(p->a->te, p->abuf, blen, "cpu:0", true, true), 0);
    ck_assert_int_eq(mc_te_register(p->b->te, p->bbuf, blen, "cpu:0", true, true), 0);
    fw_run(p->w, 10 * MS);
    int64_t res[3] = {99, -1, 0};
    uint64_t id = 77;
    ck_assert_int_eq(mc_te_open_segment(p->a->te, "B", open_cb, res, &id), MC_TE_IN_PROGRESS);
    ck_assert_uint_eq(id, MC_TE_INVALID_SEGMENT);
    fw_run(p->w, 10 * MS);
    ck_assert_int_eq(res[2], 1);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], 1); /* first remote handle is 1 */
    p->seg = (uint64_t)res[1];
}

static void pair_free(pair_t *p)
{
    mc_te_destroy(p->a->te);
    mc_te_destroy(p->b->te);
    mc_te_meta_destroy(p->ma);
    mc_te_meta_destroy(p->mb);
    mc_te_meta_mem_store_unref(p->store);
    fw_free(p->w);
    free(p->abuf);
    free(p->bbuf);
}

static mc_te_request_t req(pair_t *p, int op, uint64_t loff, uint64_t roff, uint64_t len)
{
    mc_te_request_t r = {(uint8_t)op, p->abuf + loff, p->seg, (uint64_t)(uintptr_t)(p->bbuf + roff), len};
    return r;
}

/* Submit one request in a fresh batch, run to quiescence, return status. */
static int run_one(pair_t *p, mc_te_request_t r, uint64_t limit, uint64_t *batch_out)
{
    uint64_t b = mc_te_alloc_batch(p->a->te, 4);
    ck_assert_uint_ne(b, MC_TE_INVALID_BATCH);
    ck_assert_int_eq(mc_te_submit(p->a->te, b, &r, 1), 0);
    fw_run(p->w, limit);
    mc_te_task_status_t st;
    ck_assert_int_eq(mc_te_get_transfer_status(p->a->te, b, 0, &st), 0);
    if (batch_out)
        *batch_out = b;
    else if (mc_te_xfer_status_terminal(st.status))
        ck_assert_int_eq(mc_te_free_batch(p->a->te, b), 0);
    return st.status;
}

/* ------------------------------------------------------------------ */

START_TEST(test_register_rules)
{
    fw_t *w = fw_new();
    fw_node_t *n = fw_add_node(w, "A");
    mc_te_t *te = make_te(n, NULL, NULL);
    uint8_t *m = malloc(64 * KiB);
    ck_assert_int_eq(mc_te_register(te, m, 0, "*", true, true), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_register(te, m + 4096, 4096, "*", true, true), 0);
    ck_assert_int_eq(mc_te_register(te, m + 4096, 4096, "*", true, true), MC_TE_ERR_ADDRESS_OVERLAPPED);
    ck_assert_int_eq(mc_te_register(te, m, 4097, "*", true, true), MC_TE_ERR_ADDRESS_OVERLAPPED);
    ck_assert_int_eq(mc_te_register(te, m + 8191, 10, "*", true, true), MC_TE_ERR_ADDRESS_OVERLAPPED);
    ck_assert_int_eq(mc_te_register(te, m + 5000, 1, "*", true, true), MC_TE_ERR_ADDRESS_OVERLAPPED);
    /* adjacent on both sides is fine */
    ck_assert_int_eq(mc_te_register(te, m, 4096, "cpu:1", true, true), 0);
    ck_assert_int_eq(mc_te_register(te, m + 8192, 4096, "*", false, true), 0);
    const mc_te_seg_desc_t *d = mc_te_local_desc(te);
    ck_assert_uint_eq(d->nbuffers, 3);
    ck_assert_uint_eq(d->buffers[0].addr, (uint64_t)(uintptr_t)m);
    ck_assert_str_eq(d->buffers[0].name, "cpu:1");
    ck_assert_str_eq(d->buffers[1].name, "cpu:0"); /* "*" */
    ck_assert_uint_eq(d->buffers[2].nrkey, 0);     /* not remotely accessible */
    ck_assert_uint_eq(d->buffers[2].nlkey, 1);
    /* unregister: only region bases */
    ck_assert_int_eq(mc_te_unregister(te, m + 1, true), MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    ck_assert_int_eq(mc_te_unregister(te, m + 32 * KiB, true), MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    ck_assert_int_eq(mc_te_unregister(te, m + 4096, true), 0);
    ck_assert_int_eq(mc_te_unregister(te, m + 4096, true), MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    ck_assert_int_eq(n->nregs, 2);
    /* batch: pairwise overlap and zero length rejected, nothing registered */
    void *addrs[3] = {m + 16 * KiB, m + 20 * KiB, m + 18 * KiB};
    uint64_t lens[3] = {4096, 4096, 4096};
    ck_assert_int_eq(mc_te_register_batch(te, addrs, lens, 3, "*"), MC_TE_ERR_ADDRESS_OVERLAPPED);
    lens[2] = 0;
    ck_assert_int_eq(mc_te_register_batch(te, addrs, lens, 3, "*"), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(n->nregs, 2);
    ck_assert_int_eq(mc_te_register_batch(te, addrs, lens, 2, "*"), 0);
    ck_assert_int_eq(n->nregs, 4);
    ck_assert_int_eq(mc_te_unregister_batch(te, addrs, 2), 0);
    ck_assert_int_eq(mc_te_unregister_batch(te, addrs, 2), MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    mc_te_destroy(te);
    fw_free(w);
    free(m);
}
END_TEST

START_TEST(test_conf_errors)
{
    fw_t *w = fw_new();
    fw_node_t *n = fw_add_node(w, "A");
    const char *bad[][2] = {{"nics", "0"},          {"nics", "256"},         {"retry_cnt", "0"},
                            {"retry_cnt", "128"},   {"slice_size", "0"},     {"slice_size", "abc"},
                            {"transfer_timeout", "x"}, {"protocol", "a,b"}, {"segment_name", "///"},
                            {"fragment_ratio", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_conf_t c;
        mc_conf_init(&c);
        mc_conf_set(&c, bad[i][0], bad[i][1]);
        char err[256] = "";
        ck_assert_ptr_null(mc_te_create(&n->env, &c, NULL, err, sizeof err));
        ck_assert_msg(strstr(err, bad[i][0]) != NULL, "err '%s' names %s", err, bad[i][0]);
        mc_conf_free(&c);
    }
    const char *kv[] = {"segment_name", "/seg", "nics", "3", "device_names", "mlx5_0,mlx5_1", NULL};
    mc_te_t *te = make_te(n, NULL, kv);
    ck_assert_str_eq(mc_te_segment_name(te), "seg");
    ck_assert_uint_eq(mc_te_num_paths(te), 3);
    const mc_te_seg_desc_t *d = mc_te_local_desc(te);
    ck_assert_uint_eq(d->ndevices, 3);
    ck_assert_str_eq(d->devices[0].name, "mlx5_0");
    ck_assert_str_eq(d->devices[1].name, "mlx5_1");
    ck_assert_str_eq(d->devices[2].name, "nic2");
    mc_te_destroy(te);
    fw_free(w);
}
END_TEST

START_TEST(test_open_segment)
{
    pair_t p;
    pair_setup(&p, 64 * KiB, NULL, NULL);
    mc_te_t *te = p.a->te;
    uint64_t id = 0;
    int64_t res[3] = {0, 0, 0};
    /* cached: synchronous, same id; leading '/' stripped */
    ck_assert_int_eq(mc_te_open_segment(te, "/B", open_cb, res, &id), 0);
    ck_assert_uint_eq(id, p.seg);
    ck_assert_uint_eq(mc_te_segment_id(te, "B"), p.seg);
    /* own name is LOCAL_SEGMENT_ID */
    ck_assert_int_eq(mc_te_open_segment(te, "A", open_cb, res, &id), 0);
    ck_assert_uint_eq(id, MC_TE_LOCAL_SEGMENT_ID);
    ck_assert_int_eq(mc_te_open_segment(te, "", open_cb, res, &id), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_open_segment(te, "//", open_cb, res, &id), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_open_segment(te, NULL, open_cb, res, &id), MC_TE_ERR_INVALID_ARGUMENT);
    /* unknown: METADATA, callback later, exactly once; two openers join */
    int64_t r2[3] = {0, 0, 0};
    ck_assert_int_eq(mc_te_open_segment(te, "nobody", open_cb, res, &id), MC_TE_IN_PROGRESS);
    ck_assert_int_eq(mc_te_open_segment(te, "nobody", open_cb, r2, &id), MC_TE_IN_PROGRESS);
    ck_assert_int_eq(res[2], 0);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[2], 1);
    ck_assert_int_eq(r2[2], 1);
    ck_assert_int_eq(res[0], MC_TE_ERR_METADATA);
    ck_assert_uint_eq((uint64_t)res[1], MC_TE_INVALID_SEGMENT);
    /* malformed descriptor */
    mc_te_meta_mem_store_put(p.store, "mooncake/ram/bad", "{\"name\":", 8);
    memset(res, 0, sizeof res);
    mc_te_open_segment(te, "bad", open_cb, res, &id);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], MC_TE_ERR_MALFORMED_JSON);
    /* descriptor fine, rpc_meta malformed */
    mc_te_meta_mem_store_put(p.store, "mooncake/ram/bad", "{\"name\":\"bad\",\"protocol\":\"tcp\"}", 31);
    mc_te_meta_mem_store_put(p.store, "mooncake/rpc_meta/bad", "{\"ip_or_host_name\":1}", 21);
    memset(res, 0, sizeof res);
    mc_te_open_segment(te, "bad", open_cb, res, &id);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], MC_TE_ERR_MALFORMED_JSON);
    /* no rpc_meta but a host:port name works (P2P style) */
    mc_te_meta_mem_store_put(p.store, "mooncake/ram/h:1", "{\"name\":\"h:1\",\"protocol\":\"tcp\"}", 31);
    memset(res, 0, sizeof res);
    mc_te_open_segment(te, "h:1", open_cb, res, &id);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], 0);
    ck_assert_int_eq(res[1], 2); /* ids grow; failures consumed none */
    /* metadata server down */
    mc_te_meta_mem_store_set_down(p.store, true);
    memset(res, 0, sizeof res);
    mc_te_open_segment(te, "C", open_cb, res, &id);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], MC_TE_ERR_METADATA);
    /* refresh of a cached segment fails but keeps it usable */
    memset(res, 0, sizeof res);
    ck_assert_int_eq(mc_te_refresh_segment(te, p.seg, open_cb, res), MC_TE_IN_PROGRESS);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], MC_TE_ERR_METADATA);
    ck_assert_uint_eq(mc_te_segment_id(te, "B"), p.seg);
    mc_te_meta_mem_store_set_down(p.store, false);
    ck_assert_int_eq(mc_te_refresh_segment(te, 999, open_cb, res), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_close_segment(te, p.seg), 0);
    const mc_te_seg_desc_t *bd = mc_te_segment_desc(te, p.seg);
    ck_assert_ptr_nonnull(bd);
    ck_assert_str_eq(bd->name, "B");
    ck_assert_uint_eq(bd->buffers[0].addr, (uint64_t)(uintptr_t)p.bbuf);
    ck_assert_ptr_eq(mc_te_segment_desc(te, 0), mc_te_local_desc(te));
    ck_assert_ptr_null(mc_te_segment_desc(te, 4242));
    pair_free(&p);
}
END_TEST

START_TEST(test_open_without_meta)
{
    fw_t *w = fw_new();
    fw_node_t *n = fw_add_node(w, "A");
    mc_te_t *te = make_te(n, NULL, NULL);
    int64_t res[3] = {0, 0, 0};
    uint64_t id;
    ck_assert_int_eq(mc_te_open_segment(te, "B", open_cb, res, &id), MC_TE_IN_PROGRESS);
    ck_assert_int_eq(res[2], 0); /* never inside the call */
    fw_run(w, MS);
    ck_assert_int_eq(res[2], 1);
    ck_assert_int_eq(res[0], MC_TE_ERR_METADATA);
    /* add_segment installs a descriptor directly */
    mc_te_seg_desc_t d;
    mc_te_seg_desc_init(&d);
    d.name = mc_strdup("B");
    d.protocol = mc_strdup("tcp");
    mc_te_seg_desc_add_buffer(&d, "B", 4096, 4096, 0);
    ck_assert_int_eq(mc_te_add_segment(te, &d, "B:1", &id), 0);
    ck_assert_uint_eq(id, 1);
    ck_assert_int_eq(mc_te_add_segment(te, &d, "B:1", &id), 0);
    ck_assert_uint_eq(id, 1);
    mc_free(d.name);
    d.name = mc_strdup("A");
    ck_assert_int_eq(mc_te_add_segment(te, &d, "A:1", &id), MC_TE_ERR_INVALID_ARGUMENT);
    mc_te_seg_desc_free(&d);
    mc_te_destroy(te);
    fw_free(w);
}
END_TEST

START_TEST(test_write_read_roundtrip)
{
    pair_t p;
    pair_setup(&p, 1 * MiB, NULL, NULL);
    uint64_t b = mc_te_alloc_batch(p.a->te, 2);
    mc_te_request_t r[2] = {req(&p, MC_XFER_WRITE, 0, 0, 300 * KiB), req(&p, MC_XFER_READ, 512 * KiB, 512 * KiB, 200 * KiB)};
    ck_assert_int_eq(mc_te_submit(p.a->te, b, r, 2), 0);
    mc_te_task_status_t st;
    ck_assert_int_eq(mc_te_get_batch_status(p.a->te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_WAITING);
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), MC_TE_ERR_BATCH_BUSY);
    fw_run(p.w, 100 * MS);
    ck_assert_int_eq(mc_te_get_transfer_status(p.a->te, b, 0, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_COMPLETED);
    ck_assert_uint_eq(st.transferred_bytes, 300 * KiB);
    ck_assert_int_eq(mc_te_get_transfer_status(p.a->te, b, 1, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_COMPLETED);
    ck_assert_int_eq(mc_te_get_transfer_status(p.a->te, b, 2, &st), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_get_batch_status(p.a->te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_COMPLETED);
    ck_assert_uint_eq(st.transferred_bytes, 500 * KiB);
    ck_assert(memcmp(p.abuf, p.bbuf, 300 * KiB) == 0);
    ck_assert(memcmp(p.abuf + 512 * KiB, p.bbuf + 512 * KiB, 200 * KiB) == 0);
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), 0);
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->requests_completed, 2);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    /* loopback to our own segment (id 0) */
    mc_te_request_t lr = {MC_XFER_WRITE, p.abuf, MC_TE_LOCAL_SEGMENT_ID,
                          (uint64_t)(uintptr_t)(p.abuf + 800 * KiB), 100 * KiB};
    ck_assert_int_eq(run_one(&p, lr, 100 * MS, NULL), MC_TE_COMPLETED);
    ck_assert(memcmp(p.abuf, p.abuf + 800 * KiB, 100 * KiB) == 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_slice_len_rule)
{
    const uint64_t B = 64 * KiB, F = 16 * KiB, BIG = UINT64_MAX;
    ck_assert_uint_eq(mc_te_slice_len(1, B, F, BIG, BIG), 1);
    ck_assert_uint_eq(mc_te_slice_len(B - 1, B, F, BIG, BIG), B - 1);
    ck_assert_uint_eq(mc_te_slice_len(B, B, F, BIG, BIG), B);
    ck_assert_uint_eq(mc_te_slice_len(B + F, B, F, BIG, BIG), B + F); /* tail merged */
    ck_assert_uint_eq(mc_te_slice_len(B + F + 1, B, F, BIG, BIG), B);
    ck_assert_uint_eq(mc_te_slice_len(100 * KiB, B, F, BIG, BIG), B);
    ck_assert_uint_eq(mc_te_slice_len(36 * KiB, B, F, BIG, BIG), 36 * KiB);
    ck_assert_uint_eq(mc_te_slice_len(1ULL << 40, B, F, BIG, BIG), B);
    ck_assert_uint_eq(mc_te_slice_len(B, B, F, 100, BIG), 100); /* local MR end */
    ck_assert_uint_eq(mc_te_slice_len(B, B, F, BIG, 7), 7);     /* peer MR end */
    ck_assert_uint_eq(mc_te_slice_len(UINT64_MAX, B, F, BIG, BIG), B);
}
END_TEST

START_TEST(test_slicing_counts)
{
    pair_t p;
    pair_setup(&p, 16 * MiB, NULL, NULL);
    const struct { uint64_t len, slices; } cases[] = {
        {1, 1}, {64 * KiB - 1, 1}, {64 * KiB, 1}, {80 * KiB, 1}, {80 * KiB + 1, 2},
        {100 * KiB, 2}, {128 * KiB, 2}, {16 * MiB, 256},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t before = mc_te_stats(p.a->te)->slices_posted;
        for (uint64_t k = 0; k < cases[i].len; k++)
            p.abuf[k] = (uint8_t)(k ^ i);
        ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, cases[i].len), SEC, NULL), MC_TE_COMPLETED);
        ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted - before, cases[i].slices);
        ck_assert(memcmp(p.abuf, p.bbuf, cases[i].len) == 0);
    }
    pair_free(&p);
}
END_TEST

START_TEST(test_slice_size_conf)
{
    const char *kv[] = {"slice_size", "4KiB", "fragment_ratio", "2", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 6 * KiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted, 1); /* 4K + 2K tail merged */
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 6 * KiB + 1), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted, 3);
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_READ, 0, 0, 1 * MiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted, 3 + 256);
    ck_assert(memcmp(p.abuf, p.bbuf, MiB) == 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_submit_validation)
{
    pair_t p;
    pair_setup(&p, 64 * KiB, NULL, NULL);
    mc_te_t *te = p.a->te;
    ck_assert_uint_eq(mc_te_alloc_batch(te, 0), MC_TE_INVALID_BATCH);
    uint64_t b = mc_te_alloc_batch(te, 2);
    mc_te_request_t r = req(&p, MC_XFER_WRITE, 0, 0, 4096);
    ck_assert_int_eq(mc_te_submit(te, 12345, &r, 1), MC_TE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(mc_te_submit(te, MC_TE_INVALID_BATCH, &r, 1), MC_TE_ERR_INVALID_ARGUMENT);
#define REJECT(expr, code)                                          \
    do {                                                            \
        mc_te_request_t x = r;                                      \
        expr;                                                       \
        ck_assert_int_eq(mc_te_submit(te, b, &x, 1), (code));       \
    } while (0)
    REJECT(x.length = 0, MC_TE_ERR_INVALID_ARGUMENT);
    REJECT(x.opcode = 2, MC_TE_ERR_INVALID_ARGUMENT);
    REJECT(x.target_id = 42, MC_TE_ERR_INVALID_ARGUMENT);
    REJECT(x.target_id = MC_TE_INVALID_SEGMENT, MC_TE_ERR_INVALID_ARGUMENT);
    REJECT(x.length = UINT64_MAX, MC_TE_ERR_INVALID_ARGUMENT);        /* address overflow */
    REJECT(x.length = 1ULL << 40, MC_TE_ERR_ADDRESS_NOT_REGISTERED);  /* huge */
    REJECT(x.length = 64 * KiB + 1, MC_TE_ERR_ADDRESS_NOT_REGISTERED); /* past both ends */
    REJECT(x.source = p.abuf + 64 * KiB, MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    REJECT(x.source = p.abuf - 1, MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    REJECT(x.source = NULL, MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    REJECT(x.target_offset += 64 * KiB - 100, MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    REJECT(x.target_offset = 4096, MC_TE_ERR_ADDRESS_NOT_REGISTERED);
#undef REJECT
    /* a bad request rejects the whole call: no task added */
    mc_te_request_t two[2] = {r, r};
    two[1].length = 0;
    ck_assert_int_eq(mc_te_submit(te, b, two, 2), MC_TE_ERR_INVALID_ARGUMENT);
    mc_te_task_status_t st;
    ck_assert_int_eq(mc_te_get_transfer_status(te, b, 0, &st), MC_TE_ERR_INVALID_ARGUMENT);
    /* capacity */
    mc_te_request_t three[3] = {r, r, r};
    ck_assert_int_eq(mc_te_submit(te, b, three, 3), MC_TE_ERR_TOO_MANY_REQUESTS);
    ck_assert_int_eq(mc_te_submit(te, b, three, 2), 0);
    ck_assert_int_eq(mc_te_submit(te, b, three, 1), MC_TE_ERR_TOO_MANY_REQUESTS);
    ck_assert_int_eq(mc_te_submit(te, b, three, 0), 0);
    fw_run(p.w, SEC);
    ck_assert_int_eq(mc_te_get_batch_status(te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_COMPLETED);
    ck_assert_int_eq(mc_te_free_batch(te, b), 0);
    /* an empty batch is COMPLETED and freeable */
    b = mc_te_alloc_batch(te, 1);
    ck_assert_int_eq(mc_te_get_batch_status(te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_COMPLETED);
    ck_assert_int_eq(mc_te_free_batch(te, b), 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_not_remote_accessible_and_spanning)
{
    pair_t p;
    pair_setup(&p, 256 * KiB, NULL, NULL);
    /* B: a local-only region is not a target */
    uint8_t *priv = malloc(8192);
    ck_assert_int_eq(mc_te_register(p.b->te, priv, 8192, "cpu:0", false, true), 0);
    uint8_t *extra = malloc(100 * KiB);
    fw_run(p.w, 10 * MS);
    int64_t res[3] = {0, 0, 0};
    ck_assert_int_eq(mc_te_refresh_segment(p.a->te, p.seg, open_cb, res), MC_TE_IN_PROGRESS);
    fw_run(p.w, 10 * MS);
    ck_assert_int_eq(res[0], 0);
    uint64_t b = mc_te_alloc_batch(p.a->te, 1);
    mc_te_request_t r = req(&p, MC_XFER_WRITE, 0, 0, 4096);
    r.target_offset = (uint64_t)(uintptr_t)priv;
    ck_assert_int_eq(mc_te_submit(p.a->te, b, &r, 1), MC_TE_ERR_ADDRESS_NOT_REGISTERED);
    mc_te_free_batch(p.a->te, b);
    /* A: two adjacent regions form one run; slices split at the boundary */
    uint8_t *big = malloc(192 * KiB);
    ck_assert_int_eq(mc_te_register(p.a->te, big, 100 * KiB, "*", true, true), 0);
    ck_assert_int_eq(mc_te_register(p.a->te, big + 100 * KiB, 92 * KiB, "*", true, true), 0);
    for (int i = 0; i < 192 * 1024; i++)
        big[i] = (uint8_t)(i * 31);
    uint64_t before = mc_te_stats(p.a->te)->slices_posted;
    mc_te_request_t s = {MC_XFER_WRITE, big, p.seg, (uint64_t)(uintptr_t)p.bbuf, 192 * KiB};
    ck_assert_int_eq(run_one(&p, s, SEC, NULL), MC_TE_COMPLETED);
    /* 64 + 36 (MR end) + 64 + 28 (merged tail) */
    ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted - before, 4);
    ck_assert(memcmp(big, p.bbuf, 192 * KiB) == 0);
    free(priv);
    free(extra);
    free(big);
    pair_free(&p);
}
END_TEST

START_TEST(test_failover_and_pause)
{
    const char *kv[] = {"nics", "2", "rail_pause", "2s", NULL};
    pair_t p;
    pair_setup(&p, 4 * MiB, kv, NULL);
    p.a->mode[1] = FW_FAIL;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 2 * MiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert(memcmp(p.abuf, p.bbuf, 2 * MiB) == 0);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_ge(s->retries, 1);
    ck_assert_uint_eq(s->path_pauses, 1);
    ck_assert(mc_te_path_paused(p.a->te, 1));
    ck_assert(!mc_te_path_paused(p.a->te, 0));
    /* all 32 slices were posted at once: half went to path 1 before the
     * pause; every retry went to path 0 */
    ck_assert_uint_eq(p.a->posted_on[1], 16);
    ck_assert_uint_eq(p.a->posted_on[0], 32);
    /* while paused, nothing goes to path 1 */
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_READ, 0, 0, 1 * MiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(p.a->posted_on[1], 16);
    /* after rail_pause the path is used again */
    p.a->mode[1] = FW_OK;
    fw_advance(p.w, 2 * SEC);
    ck_assert(!mc_te_path_paused(p.a->te, 1));
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 1 * MiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(p.a->posted_on[1], 16 + 8);
    ck_assert_uint_eq(s->requests_completed, 3);
    ck_assert_uint_eq(s->requests_failed, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_spread_over_paths)
{
    const char *kv[] = {"nics", "4", NULL};
    pair_t p;
    pair_setup(&p, 4 * MiB, kv, NULL);
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 4 * MiB), SEC, NULL), MC_TE_COMPLETED);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(p.a->posted_on[i], 16);
    pair_free(&p);
}
END_TEST

START_TEST(test_error_window_resets)
{
    const char *kv[] = {"nics", "2", "path_pause_errors", "3", "path_error_window", "1s", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    /* two errors, a long quiet gap, two more: never 3 within the window.
     * A 256 KiB request has 4 slices, 2 of them on path 0. */
    for (int round = 0; round < 2; round++) {
        p.a->fail_next[0] = 2;
        ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 256 * KiB), SEC, NULL), MC_TE_COMPLETED);
        ck_assert_uint_eq(p.a->fail_next[0], 0);
        fw_advance(p.w, 2 * SEC);
    }
    ck_assert_uint_eq(mc_te_stats(p.a->te)->path_pauses, 0);
    /* three within the window (6 slices, 3 on path 0) */
    p.a->fail_next[0] = 3;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 384 * KiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->path_pauses, 1);
    pair_free(&p);
}
END_TEST

START_TEST(test_failed_after_budget)
{
    const char *kv[] = {"nics", "2", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.a->mode[0] = p.a->mode[1] = FW_FAIL;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 4096), SEC, NULL), MC_TE_FAILED);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_eq(s->slices_posted, 9); /* MC_RETRY_CNT attempts */
    ck_assert_uint_eq(s->retries, 8);
    ck_assert_uint_eq(s->requests_failed, 1);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    /* a multi-slice request fails once; the other slices' completions are late */
    const char *kv3[] = {"retry_cnt", "3", NULL};
    pair_t q;
    pair_setup(&q, 1 * MiB, kv3, NULL);
    q.a->mode[0] = FW_FAIL;
    uint64_t b;
    ck_assert_int_eq(run_one(&q, req(&q, MC_XFER_WRITE, 0, 0, 1 * MiB), SEC, &b), MC_TE_FAILED);
    const mc_te_stats_t *t = mc_te_stats(q.a->te);
    ck_assert_uint_eq(t->requests_failed, 1);
    ck_assert_uint_eq(t->requests_completed, 0);
    ck_assert_uint_eq(t->slices_posted, t->slices_failed + t->late_completions);
    ck_assert_uint_eq(mc_te_inflight(q.a->te), 0);
    mc_te_task_status_t st;
    ck_assert_int_eq(mc_te_get_batch_status(q.a->te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_FAILED);
    ck_assert_int_eq(mc_te_free_batch(q.a->te, b), 0);
    pair_free(&q);
    pair_free(&p);
}
END_TEST

START_TEST(test_invalid_range_fails_fast)
{
    const char *kv[] = {"nics", "2", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.a->mode[0] = p.a->mode[1] = FW_INVALID;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_READ, 0, 0, 4096), SEC, NULL), MC_TE_FAILED);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->slices_posted, 1);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->path_pauses, 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_dead_peer)
{
    const char *kv[] = {"nics", "2", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.b->dead = true;
    uint64_t b;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 512 * KiB), SEC, &b), MC_TE_FAILED);
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), 0);
    /* the engine keeps working for other peers: loopback still fine */
    mc_te_request_t lr = {MC_XFER_WRITE, p.abuf, 0, (uint64_t)(uintptr_t)(p.abuf + 512 * KiB), 4096};
    ck_assert_int_eq(run_one(&p, lr, SEC, NULL), MC_TE_COMPLETED);
    pair_free(&p);
}
END_TEST

static void batch_cb(void *arg, uint64_t batch, int status)
{
    int *x = arg;
    x[0]++;
    x[1] = status;
    x[2] = (int)batch;
}

START_TEST(test_timeout_and_late_completion)
{
    const char *kv[] = {"transfer_timeout", "100ms", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.a->mode[0] = FW_DROP;
    uint64_t b = mc_te_alloc_batch(p.a->te, 1);
    mc_te_request_t r = req(&p, MC_XFER_WRITE, 0, 0, 256 * KiB);
    ck_assert_int_eq(mc_te_submit(p.a->te, b, &r, 1), 0);
    int cbx[3] = {0, 0, 0};
    ck_assert_int_eq(mc_te_batch_on_done(p.a->te, b, batch_cb, cbx), 0);
    uint64_t t0 = p.w->now;
    fw_advance(p.w, 100 * MS);
    mc_te_task_status_t st;
    mc_te_get_transfer_status(p.a->te, b, 0, &st);
    ck_assert_int_eq(st.status, MC_TE_WAITING); /* deadline = 100 ms + 1 ns/byte */
    fw_advance(p.w, 256 * KiB);
    ck_assert_uint_eq(p.w->now - t0, 100 * MS + 256 * KiB);
    mc_te_get_transfer_status(p.a->te, b, 0, &st);
    ck_assert_int_eq(st.status, MC_TE_TIMEOUT);
    fw_run(p.w, MS);
    ck_assert_int_eq(cbx[0], 1);
    ck_assert_int_eq(cbx[1], MC_TE_TIMEOUT);
    ck_assert_int_eq(mc_te_get_batch_status(p.a->te, b, &st), 0);
    ck_assert_int_eq(st.status, MC_TE_TIMEOUT);
    /* the batch can be freed even though attempts are still out */
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 4);
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), 0);
    /* completions arriving now are ignored safely */
    ck_assert_uint_eq(fw_release(p.w, p.a, MC_OK), 4);
    fw_run(p.w, SEC);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_eq(s->late_completions, 4);
    ck_assert_uint_eq(s->requests_timed_out, 1);
    ck_assert_uint_eq(s->requests_completed, 0);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    ck_assert_int_eq(cbx[0], 1);
    /* foreign tags are not ours; unknown TE tags are counted */
    ck_assert(!mc_te_on_xfer_done(p.a->te, 5, MC_OK));
    ck_assert(mc_te_on_xfer_done(p.a->te, MC_TE_TAG_PREFIX | 999999, MC_OK));
    ck_assert_uint_eq(s->unknown_completions, 1);
    pair_free(&p);
}
END_TEST

START_TEST(test_slice_timeout_failover)
{
    const char *kv[] = {"nics", "2", "slice_timeout", "5ms", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.a->mode[0] = FW_DROP; /* completions on path 0 never arrive */
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 1 * MiB), SEC, NULL), MC_TE_COMPLETED);
    ck_assert(memcmp(p.abuf, p.bbuf, MiB) == 0);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_ge(s->slices_timed_out, 1);
    ck_assert_uint_eq(s->path_pauses, 1);
    uint32_t orphans = mc_te_inflight(p.a->te);
    ck_assert_uint_eq(orphans, s->slices_timed_out);
    /* the lost attempts finally report (with stale data): ignored */
    memset(p.abuf, 0xEE, 64 * KiB); /* would corrupt B if a late copy counted */
    fw_release(p.w, p.a, MC_TRANSFER_FAIL);
    fw_run(p.w, SEC);
    ck_assert_uint_eq(s->late_completions, orphans);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    ck_assert_uint_eq(s->requests_completed, 1);
    pair_free(&p);
}
END_TEST

START_TEST(test_slice_timeouts_exhaust_budget)
{
    /* No completion on any path and no request deadline: the slice budget
     * runs out through abandoned attempts and the request ends TIMEOUT. */
    const char *kv[] = {"nics", "2", "slice_timeout", "1ms", "retry_cnt", "3", "transfer_timeout", "off", NULL};
    pair_t p;
    pair_setup(&p, 64 * KiB, kv, NULL);
    p.a->mode[0] = p.a->mode[1] = FW_DROP;
    uint64_t t0 = p.w->now;
    ck_assert_int_eq(run_one(&p, req(&p, MC_XFER_WRITE, 0, 0, 4096), SEC, NULL), MC_TE_TIMEOUT);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_eq(s->slices_posted, 3);
    ck_assert_uint_eq(s->slices_timed_out, 3);
    ck_assert_uint_eq(s->requests_timed_out, 1);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 3); /* orphans until the env answers */
    ck_assert_uint_ge(p.w->now - t0, 3 * MS);
    fw_release(p.w, p.a, MC_OK);
    fw_run(p.w, SEC);
    ck_assert_uint_eq(s->late_completions, 3);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_timeout_bare_seconds_clamped)
{
    const char *kv[] = {"transfer_timeout", "1", NULL};
    pair_t p;
    pair_setup(&p, 64 * KiB, kv, NULL);
    p.a->mode[0] = FW_DROP;
    uint64_t b = mc_te_alloc_batch(p.a->te, 1);
    mc_te_request_t r = req(&p, MC_XFER_WRITE, 0, 0, 1000);
    mc_te_submit(p.a->te, b, &r, 1);
    fw_advance(p.w, 5 * SEC + 999);
    mc_te_task_status_t st;
    mc_te_get_transfer_status(p.a->te, b, 0, &st);
    ck_assert_int_eq(st.status, MC_TE_WAITING);
    fw_advance(p.w, 1);
    mc_te_get_transfer_status(p.a->te, b, 0, &st);
    ck_assert_int_eq(st.status, MC_TE_TIMEOUT);
    pair_free(&p);
}
END_TEST

START_TEST(test_exactly_once_mixed)
{
    /* Many requests, faults on some paths, drops, a short timeout: every
     * request ends exactly once and the counters add up. */
    const char *kv[] = {"nics", "3", "transfer_timeout", "50ms", "slice_timeout", "2ms",
                        "retry_cnt", "4", NULL};
    pair_t p;
    pair_setup(&p, 8 * MiB, kv, NULL);
    p.a->mode[1] = FW_FAIL;
    p.a->mode[2] = FW_DROP;
    uint64_t b = mc_te_alloc_batch(p.a->te, 64);
    mc_te_request_t r[64];
    for (int i = 0; i < 64; i++)
        r[i] = req(&p, i % 2, (uint64_t)i * 128 * KiB, (uint64_t)i * 128 * KiB, 1 + (uint64_t)i * 2000);
    ck_assert_int_eq(mc_te_submit(p.a->te, b, r, 64), 0);
    int cbx[3] = {0, 0, 0};
    mc_te_batch_on_done(p.a->te, b, batch_cb, cbx);
    fw_run(p.w, 10 * SEC);
    const mc_te_stats_t *s = mc_te_stats(p.a->te);
    ck_assert_uint_eq(s->requests_completed + s->requests_failed + s->requests_timed_out, 64);
    ck_assert_int_eq(cbx[0], 1);
    ck_assert_int_eq(cbx[2], (int)b);
    for (int i = 0; i < 64; i++) {
        mc_te_task_status_t st;
        mc_te_get_transfer_status(p.a->te, b, (uint64_t)i, &st);
        ck_assert(mc_te_xfer_status_terminal(st.status));
        if (st.status == MC_TE_COMPLETED)
            ck_assert(memcmp(p.abuf + i * 128 * KiB, p.bbuf + i * 128 * KiB, r[i].length) == 0);
    }
    ck_assert_int_eq(mc_te_free_batch(p.a->te, b), 0);
    fw_release(p.w, p.a, MC_OK);
    fw_run(p.w, SEC);
    ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
    ck_assert_uint_eq(s->slices_posted, s->slices_ok + s->slices_failed + s->late_completions);
    pair_free(&p);
}
END_TEST

static void done_cb(void *arg, int err)
{
    int *x = arg;
    x[0]++;
    x[1] = err;
}

START_TEST(test_notify_roundtrip)
{
    pair_t p;
    pair_setup(&p, 1 * MiB, NULL, NULL);
    uint64_t b = mc_te_alloc_batch(p.a->te, 2);
    mc_te_request_t r[2] = {req(&p, MC_XFER_WRITE, 0, 0, 100 * KiB), req(&p, MC_XFER_WRITE, 0, 0, 10)};
    ck_assert_int_eq(mc_te_submit_with_notify(p.a->te, b, r, 2, "agent1", "notification0"), 0);
    fw_run(p.w, SEC);
    mc_te_notify_t *v;
    size_t n = mc_te_get_notifies(p.b->te, &v);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0].name, "agent1");
    ck_assert_str_eq(v[0].msg, "notification0");
    mc_te_notifies_free(v, n);
    ck_assert_uint_eq(mc_te_get_notifies(p.b->te, &v), 0); /* drained */
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(mc_te_stats(p.a->te)->notifies_sent, 1);
    /* direct sends arrive in order; callback reports success */
    int x[2] = {0, 99};
    ck_assert_int_eq(mc_te_send_notify(p.a->te, p.seg, "n1", "m1", done_cb, x), MC_TE_IN_PROGRESS);
    ck_assert_int_eq(mc_te_send_notify(p.a->te, p.seg, "n2", "", done_cb, x), MC_TE_IN_PROGRESS);
    ck_assert_int_eq(x[0], 0);
    fw_run(p.w, SEC);
    ck_assert_int_eq(x[0], 2);
    ck_assert_int_eq(x[1], 0);
    n = mc_te_get_notifies(p.b->te, &v);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].name, "n1");
    ck_assert_str_eq(v[1].name, "n2");
    ck_assert_str_eq(v[1].msg, "");
    mc_te_notifies_free(v, n);
    ck_assert_int_eq(mc_te_send_notify(p.a->te, 77, "n", "m", done_cb, x), MC_TE_ERR_INVALID_ARGUMENT);
    /* probe */
    int y[2] = {0, 99};
    ck_assert_int_eq(mc_te_probe(p.a->te, p.seg, done_cb, y), MC_TE_IN_PROGRESS);
    fw_run(p.w, SEC);
    ck_assert_int_eq(y[0], 1);
    ck_assert_int_eq(y[1], 0);
    /* no notify when the batch fails */
    p.a->mode[0] = FW_FAIL;
    b = mc_te_alloc_batch(p.a->te, 1);
    ck_assert_int_eq(mc_te_submit_with_notify(p.a->te, b, r, 1, "x", "y"), 0);
    fw_run(p.w, SEC);
    ck_assert_uint_eq(mc_te_get_notifies(p.b->te, &v), 0);
    pair_free(&p);
}
END_TEST

START_TEST(test_notify_unreachable)
{
    const char *kv[] = {"rpc_timeout", "50ms", NULL};
    pair_t p;
    pair_setup(&p, 64 * KiB, kv, NULL);
    p.b->dead = true; /* connection refused */
    int x[2] = {0, 0};
    mc_te_send_notify(p.a->te, p.seg, "n", "m", done_cb, x);
    fw_run(p.w, SEC);
    ck_assert_int_eq(x[0], 1);
    ck_assert_int_eq(x[1], MC_TE_ERR_SOCKET);
    /* unknown address: conn_open refuses synchronously, callback still later */
    mc_te_seg_desc_t d;
    mc_te_seg_desc_init(&d);
    d.name = mc_strdup("Z");
    d.protocol = mc_strdup("tcp");
    uint64_t id;
    ck_assert_int_eq(mc_te_add_segment(p.a->te, &d, "nowhere:1", &id), 0);
    mc_te_seg_desc_free(&d);
    int y[2] = {0, 0};
    mc_te_probe(p.a->te, id, done_cb, y);
    ck_assert_int_eq(y[0], 0);
    fw_run(p.w, SEC);
    ck_assert_int_eq(y[0], 1);
    ck_assert_int_eq(y[1], MC_TE_ERR_SOCKET);
    /* peer alive but silent: rpc timeout */
    p.b->dead = false;
    int z[2] = {0, 0};
    mc_te_probe(p.a->te, p.seg, done_cb, z);
    fw_advance(p.w, 5000); /* connection comes up */
    p.b->dead = true;      /* and then the peer stops answering */
    fw_run(p.w, SEC);
    ck_assert_int_eq(z[0], 1);
    ck_assert_int_eq(z[1], MC_TE_ERR_SOCKET);
    pair_free(&p);
}
END_TEST

START_TEST(test_published_metadata)
{
    pair_t p;
    pair_setup(&p, 64 * KiB, NULL, NULL);
    size_t len;
    const char *v = mc_te_meta_mem_store_get(p.store, "mooncake/rpc_meta/B", &len);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "{\"ip_or_host_name\":\"B\",\"rpc_port\":15000}");
    v = mc_te_meta_mem_store_get(p.store, "mooncake/ram/B", &len);
    ck_assert_ptr_nonnull(v);
    mc_te_seg_desc_t d;
    ck_assert_int_eq(mc_te_seg_desc_decode(v, len, &d, NULL, 0), 0);
    ck_assert(mc_te_seg_desc_equal(&d, mc_te_local_desc(p.b->te)));
    ck_assert_uint_eq(d.nbuffers, 1);
    ck_assert_uint_eq(d.buffers[0].addr, (uint64_t)(uintptr_t)p.bbuf);
    mc_te_seg_desc_free(&d);
    /* unregister republishes; unpublish removes both keys */
    ck_assert_int_eq(mc_te_unregister(p.b->te, p.bbuf, true), 0);
    fw_run(p.w, SEC);
    v = mc_te_meta_mem_store_get(p.store, "mooncake/ram/B", &len);
    ck_assert_int_eq(mc_te_seg_desc_decode(v, len, &d, NULL, 0), 0);
    ck_assert_uint_eq(d.nbuffers, 0);
    mc_te_seg_desc_free(&d);
    mc_te_unpublish(p.b->te);
    fw_run(p.w, SEC);
    ck_assert_ptr_null(mc_te_meta_mem_store_get(p.store, "mooncake/ram/B", NULL));
    ck_assert_ptr_null(mc_te_meta_mem_store_get(p.store, "mooncake/rpc_meta/B", NULL));
    /* a peer answers metadata gets for its own keys (P2P handshake) */
    pair_free(&p);
}
END_TEST

START_TEST(test_destroy_with_work_in_flight)
{
    const char *kv[] = {"nics", "2", NULL};
    pair_t p;
    pair_setup(&p, 1 * MiB, kv, NULL);
    p.a->mode[0] = FW_DROP;
    uint64_t b = mc_te_alloc_batch(p.a->te, 1);
    mc_te_request_t r = req(&p, MC_XFER_WRITE, 0, 0, 1 * MiB);
    mc_te_submit(p.a->te, b, &r, 1);
    mc_te_batch_on_done(p.a->te, b, batch_cb, NULL);
    int x[2] = {0, 0};
    mc_te_send_notify(p.a->te, p.seg, "n", "m", done_cb, x);
    int64_t res[3] = {0, 0, 0};
    uint64_t id;
    mc_te_open_segment(p.a->te, "C", open_cb, res, &id);
    fw_advance(p.w, 500);
    mc_te_destroy(p.a->te);
    p.a->te = NULL;
    ck_assert_int_eq(x[0], 0);
    ck_assert_int_eq(res[2], 0);
    mc_te_destroy(p.b->te);
    p.b->te = NULL;
    mc_te_meta_destroy(p.ma);
    mc_te_meta_destroy(p.mb);
    mc_te_meta_mem_store_unref(p.store);
    /* pending world events (xfers, messages) are dropped undelivered */
    fw_free(p.w);
    free(p.abuf);
    free(p.bbuf);
}
END_TEST

START_TEST(test_status_names)
{
    ck_assert_str_eq(mc_te_err_name(MC_TE_ERR_BATCH_BUSY), "ERR_BATCH_BUSY");
    ck_assert_str_eq(mc_te_err_name(0), "OK");
    ck_assert_str_eq(mc_te_err_name(-12345), "ERR_UNKNOWN");
    ck_assert_int_eq(MC_TE_ERR_ADDRESS_OVERLAPPED, -7);
    ck_assert_int_eq(MC_TE_ERR_MALFORMED_JSON, -103);
    ck_assert_int_eq(MC_TE_ERR_NOT_IMPLEMENTED, -303);
    ck_assert_int_eq(mc_te_err_to_code(MC_TE_ERR_TOO_MANY_REQUESTS), 2);
    ck_assert_int_eq(mc_te_err_to_code(MC_TE_ERR_METADATA), 200);
    ck_assert_int_eq(mc_te_err_to_code(MC_TE_ERR_NOT_IMPLEMENTED), 999);
    ck_assert_int_eq(mc_te_err_to_code(0), 0);
    ck_assert_str_eq(mc_te_xfer_status_name(MC_TE_TIMEOUT), "TIMEOUT");
    ck_assert_str_eq(mc_te_xfer_status_name(7), "UNKNOWN");
    ck_assert_int_eq(MC_TE_WAITING, 0);
    ck_assert_int_eq(MC_TE_FAILED, 6);
    ck_assert_str_ne(mc_te_err_msg(-999), "");
}
END_TEST

/* Randomized fault plans (seeded, reproducible): every request ends
 * exactly once, the attempt accounting adds up, completed requests carry
 * the right bytes, nothing stays in flight once the env has answered. */
START_TEST(test_random_fault_plans)
{
    mc_rng_t rng;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        mc_rng_seed(&rng, seed);
        char nics[8], retry[8], st[16], tt[16];
        snprintf(nics, sizeof nics, "%u", (unsigned)mc_rng_range(&rng, 1, 4));
        snprintf(retry, sizeof retry, "%u", (unsigned)mc_rng_range(&rng, 1, 9));
        snprintf(st, sizeof st, "%ums", (unsigned)mc_rng_range(&rng, 0, 3));
        snprintf(tt, sizeof tt, "%ums", (unsigned)mc_rng_range(&rng, 5, 80));
        const char *kv[] = {"nics", nics, "retry_cnt", retry, "slice_timeout", strcmp(st, "0ms") ? st : "off",
                            "transfer_timeout", tt, "slice_size", "16KiB", "path_pause_errors", "3",
                            "rail_pause", "20ms", "slices_in_flight", "8", NULL};
        pair_t p;
        pair_setup(&p, 2 * MiB, kv, NULL);
        uint32_t np = mc_te_num_paths(p.a->te);
        for (uint32_t i = 0; i < np; i++) {
            p.a->mode[i] = (int)mc_rng_below(&rng, 4);
            p.a->fail_next[i] = (uint32_t)mc_rng_below(&rng, 5);
        }
        uint32_t n = (uint32_t)mc_rng_range(&rng, 1, 24);
        uint64_t b = mc_te_alloc_batch(p.a->te, n);
        mc_te_request_t *r = calloc(n, sizeof *r);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t len = mc_rng_range(&rng, 1, 80 * KiB);
            uint64_t off = (uint64_t)i * 80 * KiB;
            r[i] = req(&p, (int)mc_rng_below(&rng, 2), off, off, len);
        }
        ck_assert_int_eq(mc_te_submit(p.a->te, b, r, n), 0);
        int cbx[3] = {0, 0, 0};
        mc_te_batch_on_done(p.a->te, b, batch_cb, cbx);
        for (int step = 0; step < 20; step++) {
            fw_advance(p.w, mc_rng_range(&rng, 1, 5 * MS));
            if (mc_rng_chance(&rng, 0.2))
                fw_release(p.w, p.a, mc_rng_chance(&rng, 0.5) ? MC_OK : MC_TRANSFER_FAIL);
            if (mc_rng_chance(&rng, 0.2))
                p.a->mode[mc_rng_below(&rng, np)] = (int)mc_rng_below(&rng, 4);
        }
        fw_run(p.w, SEC); /* every deadline passes */
        const mc_te_stats_t *s = mc_te_stats(p.a->te);
        ck_assert_uint_eq(s->requests_completed + s->requests_failed + s->requests_timed_out, n);
        ck_assert_int_eq(cbx[0], 1);
        for (uint32_t i = 0; i < n; i++) {
            mc_te_task_status_t ts;
            ck_assert_int_eq(mc_te_get_transfer_status(p.a->te, b, i, &ts), 0);
            ck_assert(mc_te_xfer_status_terminal(ts.status));
            if (ts.status == MC_TE_COMPLETED) {
                ck_assert_uint_eq(ts.transferred_bytes, r[i].length);
                ck_assert(memcmp(p.abuf + i * 80 * KiB, p.bbuf + i * 80 * KiB, r[i].length) == 0);
            }
        }
        ck_assert_int_eq(mc_te_free_batch(p.a->te, b), 0);
        fw_release(p.w, p.a, MC_OK);
        fw_run(p.w, SEC);
        ck_assert_uint_eq(mc_te_inflight(p.a->te), 0);
        ck_assert_uint_eq(s->slices_posted, s->slices_ok + s->slices_failed + s->late_completions);
        ck_assert_uint_eq(s->unknown_completions, 0);
        free(r);
        pair_free(&p);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("te_engine");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_register_rules);
    tcase_add_test(tc, test_conf_errors);
    tcase_add_test(tc, test_open_segment);
    tcase_add_test(tc, test_open_without_meta);
    tcase_add_test(tc, test_write_read_roundtrip);
    tcase_add_test(tc, test_slice_len_rule);
    tcase_add_test(tc, test_slicing_counts);
    tcase_add_test(tc, test_slice_size_conf);
    tcase_add_test(tc, test_submit_validation);
    tcase_add_test(tc, test_not_remote_accessible_and_spanning);
    tcase_add_test(tc, test_failover_and_pause);
    tcase_add_test(tc, test_spread_over_paths);
    tcase_add_test(tc, test_error_window_resets);
    tcase_add_test(tc, test_failed_after_budget);
    tcase_add_test(tc, test_invalid_range_fails_fast);
    tcase_add_test(tc, test_dead_peer);
    tcase_add_test(tc, test_timeout_and_late_completion);
    tcase_add_test(tc, test_slice_timeout_failover);
    tcase_add_test(tc, test_slice_timeouts_exhaust_budget);
    tcase_add_test(tc, test_timeout_bare_seconds_clamped);
    tcase_add_test(tc, test_exactly_once_mixed);
    tcase_add_test(tc, test_notify_roundtrip);
    tcase_add_test(tc, test_notify_unreachable);
    tcase_add_test(tc, test_published_metadata);
    tcase_add_test(tc, test_destroy_with_work_in_flight);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_random_fault_plans);
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
