/* EP pure pieces: reductions (every type and op, rank order, empty set),
 * the agreement rule, the buffer size hint, and dispatch/combine routing
 * against a hand-computed reference. */
#include <math.h>
#include <string.h>

#include "base/mc_bytes.h"
#include "base/mc_mem.h"
#include "ep/mc_ep_op.h"
#include "mc_check.h"

START_TEST(test_dtype_names)
{
    mc_ep_dtype_t t;
    mc_ep_redop_t op;
    ck_assert(mc_ep_dtype_parse("float32", &t) && t == MC_EP_F32);
    ck_assert(mc_ep_dtype_parse("i64", &t) && t == MC_EP_I64);
    ck_assert(!mc_ep_dtype_parse("bf16", &t));
    ck_assert(!mc_ep_dtype_parse(NULL, &t));
    ck_assert(mc_ep_redop_parse("prod", &op) && op == MC_EP_PRODUCT);
    ck_assert(!mc_ep_redop_parse("avg", &op)); /* upstream: NotSupported */
    ck_assert_str_eq(mc_ep_dtype_name(MC_EP_F64), "f64");
    ck_assert_str_eq(mc_ep_redop_name(MC_EP_MIN), "min");
    ck_assert_str_eq(mc_ep_dtype_name((mc_ep_dtype_t)9), "?");
    ck_assert_str_eq(mc_ep_redop_name((mc_ep_redop_t)9), "?");
    ck_assert_uint_eq(mc_ep_dtype_size(MC_EP_I32), 4);
    ck_assert_uint_eq(mc_ep_dtype_size((mc_ep_dtype_t)7), 0);
}
END_TEST

START_TEST(test_reduce_every_type)
{
    float f[3][2] = {{1, -2}, {3, 5}, {-4, 0.5f}};
    double d[3][2] = {{1.5, 2}, {-3, 4}, {2, -1}};
    int32_t i[3][2] = {{INT32_MAX, -7}, {1, 3}, {2, 2}};
    int64_t l[3][2] = {{10, -1}, {-20, 6}, {5, 7}};
    const void *fb[3] = {f[0], f[1], f[2]}, *db[3] = {d[0], d[1], d[2]};
    const void *ib[3] = {i[0], i[1], i[2]}, *lb[3] = {l[0], l[1], l[2]};
    float fo[2];
    double dout[2];
    int32_t io[2];
    int64_t lo[2];
    mc_ep_mask_t all = 7, some = 5; /* ranks 0 and 2 */
    mc_ep_reduce_set(fo, fb, all, 2, MC_EP_F32, MC_EP_SUM);
    ck_assert(fo[0] == 0 && fo[1] == 3.5f);
    mc_ep_reduce_set(fo, fb, some, 2, MC_EP_F32, MC_EP_MAX);
    ck_assert(fo[0] == 1 && fo[1] == 0.5f);
    mc_ep_reduce_set(dout, db, all, 2, MC_EP_F64, MC_EP_MIN);
    ck_assert(dout[0] == -3 && dout[1] == -1);
    mc_ep_reduce_set(dout, db, all, 2, MC_EP_F64, MC_EP_PRODUCT);
    ck_assert(dout[0] == -9 && dout[1] == -8);
    mc_ep_reduce_set(io, ib, all, 2, MC_EP_I32, MC_EP_SUM); /* wraps, defined */
    ck_assert(io[0] == (int32_t)((uint32_t)INT32_MAX + 3u) && io[1] == -2);
    mc_ep_reduce_set(io, ib, 6, 2, MC_EP_I32, MC_EP_PRODUCT);
    ck_assert(io[0] == 2 && io[1] == 6);
    mc_ep_reduce_set(lo, lb, all, 2, MC_EP_I64, MC_EP_MAX);
    ck_assert(lo[0] == 10 && lo[1] == 7);
    mc_ep_reduce_set(lo, lb, all, 2, MC_EP_I64, MC_EP_MIN);
    ck_assert(lo[0] == -20 && lo[1] == -1);
    mc_ep_reduce_set(lo, lb, 2, 2, MC_EP_I64, MC_EP_SUM); /* one member: a copy */
    ck_assert(lo[0] == -20 && lo[1] == 6);
    lo[0] = lo[1] = 99;
    mc_ep_reduce_set(lo, lb, 0, 2, MC_EP_I64, MC_EP_SUM); /* empty: zeros */
    ck_assert(lo[0] == 0 && lo[1] == 0);
}
END_TEST

/* Long vectors (odd length): bit-identical to folding whole blocks in
 * rank order, float rounding included; nothing past count is written. */
START_TEST(test_reduce_long_rank_order)
{
    enum { R = 5, N = 3 * 4096 + 7 };
    static float f[R][N], want[N], got[N];
    static double d[R][N], dwant[N], dgot[N];
    const void *fb[R], *db[R];
    uint64_t x = 12345;
    for (int r = 0; r < R; r++) {
        for (int i = 0; i < N; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            f[r][i] = (float)(int64_t)(x >> 40) / 1024.0f + 1e-3f * (float)r;
            d[r][i] = (double)(int64_t)(x >> 20) * 1e-7;
        }
        fb[r] = f[r];
        db[r] = d[r];
    }
    mc_ep_mask_t set = 0x1d; /* ranks 0, 2, 3, 4 */
    memcpy(want, f[0], sizeof want);
    memcpy(dwant, d[0], sizeof dwant);
    for (int r = 2; r < R; r++)
        for (int i = 0; i < N; i++) {
            want[i] = want[i] + f[r][i];
            dwant[i] = dwant[i] * d[r][i];
        }
    memset(got, 0xff, sizeof got);
    mc_ep_reduce_set(got, fb, set, N, MC_EP_F32, MC_EP_SUM);
    ck_assert(memcmp(got, want, sizeof got) == 0);
    mc_ep_reduce_set(dgot, db, set, N, MC_EP_F64, MC_EP_PRODUCT);
    ck_assert(memcmp(dgot, dwant, sizeof dgot) == 0);
    got[N - 1] = 7;
    mc_ep_reduce_set(got, fb, set, N - 1, MC_EP_F32, MC_EP_SUM); /* writes count elements only */
    ck_assert(got[N - 1] == 7);
}
END_TEST

static mc_ep_row_t rows_full(mc_ep_row_t *rows, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        rows[i].arrived = mc_ep_all(n);
    return rows[0];
}

START_TEST(test_decide)
{
    mc_ep_row_t rows[MC_EP_MAX_RANKS] = {{0}};
    rows_full(rows, 4);
    ck_assert_uint_eq(mc_ep_decide(rows, 0xf, 0xf), 0xf);
    ck_assert_uint_eq(mc_ep_decide(rows, 0xb, 0xf), 0xb); /* a silent rank is out */
    ck_assert_uint_eq(mc_ep_decide(rows, 0xf, 0x7), 0x7); /* only active ranks */
    /* rank 1's block reached rank 0 but not 2 and 3: every survivor must hold it */
    rows[2].arrived = rows[3].arrived = 0xd;
    ck_assert_uint_eq(mc_ep_decide(rows, 0xf, 0xf), 0xd);
    /* split {0,1} | {2,3}: equal links, ties drop larger ranks -> {0,1} */
    rows_full(rows, 4);
    rows[0].arrived = rows[1].arrived = 0x3;
    rows[2].arrived = rows[3].arrived = 0xc;
    ck_assert_uint_eq(mc_ep_decide(rows, 0xf, 0xf), 0x3);
    /* one-way loss 0 -> 2 only: 0 or 2 goes, the larger (2) */
    rows_full(rows, 4);
    rows[2].arrived = 0xe;
    ck_assert_uint_eq(mc_ep_decide(rows, 0xf, 0xf), 0xb);
    /* a row without its own rank is unusable */
    rows_full(rows, 3);
    rows[1].arrived = 0x5;
    ck_assert_uint_eq(mc_ep_decide(rows, 0x7, 0x7), 0x5);
    ck_assert_uint_eq(mc_ep_decide(rows, 0, 0x7), 0);
    /* 64 ranks, all complete */
    for (int i = 0; i < 64; i++)
        rows[i].arrived = ~0ULL;
    ck_assert(mc_ep_decide(rows, ~0ULL, ~0ULL) == ~0ULL);
    ck_assert_uint_eq(mc_ep_count(0xf0), 4);
    ck_assert(mc_ep_all(64) == ~0ULL && mc_ep_bit(64) == 0 && !mc_ep_has(~0ULL, 64));
}
END_TEST

START_TEST(test_size_hint)
{
    /* shared/spec/ep.md B6.2 examples */
    ck_assert_uint_eq(mc_ep_buffer_size_hint(128, 7168, 8, 288), 2118652416ULL);
    ck_assert_uint_eq(mc_ep_buffer_size_hint(256, 2048, 16, 288), 1217401344ULL);
    ck_assert_uint_eq(mc_ep_buffer_size_hint(1024, 4096, 8, 64), 16 * 64 + 4ULL * 64 * 1024 * (32 + 2 * 4096));
    ck_assert_uint_eq(mc_ep_buffer_size_hint(1024, 4096, 1, 64), mc_ep_buffer_size_hint(1024, 4096, 99, 64));
    ck_assert_uint_eq(mc_ep_buffer_size_hint(UINT64_MAX, 4096, 8, 64), 0); /* overflow */
    ck_assert_uint_eq(mc_ep_buffer_size_hint(1, UINT64_MAX / 2, 8, 64), 0);
}
END_TEST

/* 2 ranks, 4 experts (2 local), H=2, K=2, T_max=3. */
static const mc_ep_moe_cfg_t cfg = {.num_ranks = 2, .num_experts = 4, .hidden = 2, .topk = 2, .max_tokens = 3};

START_TEST(test_moe_cfg)
{
    mc_ep_moe_cfg_t c = cfg;
    ck_assert_int_eq(mc_ep_moe_cfg_check(&c), MC_OK);
    c.num_experts = 5;
    ck_assert_int_eq(mc_ep_moe_cfg_check(&c), MC_INVALID_PARAMS);
    c = cfg;
    c.topk = MC_EP_MAX_TOPK + 1;
    ck_assert_int_eq(mc_ep_moe_cfg_check(&c), MC_INVALID_PARAMS);
    c = cfg;
    c.num_ranks = 65;
    ck_assert_int_eq(mc_ep_moe_cfg_check(&c), MC_INVALID_PARAMS);
}
END_TEST

START_TEST(test_dispatch_combine_routing)
{
    /* rank 0: 3 tokens; rank 1: 2 tokens */
    float x0[6] = {1, 2, 3, 4, 5, 6}, x1[6] = {10, 20, 30, 40, 0, 0};
    int64_t k0[6] = {0, 3, 2, -1, 1, 1}, k1[6] = {2, 0, 3, 3, 0, 0};
    float w0[6] = {0.5f, 0.25f, 1, 1, 0.5f, 0.5f}, w1[6] = {1, 2, 0.5f, 0.5f, 0, 0};
    uint8_t b[2][2][256];
    size_t len[2][2];
    for (uint32_t d = 0; d < 2; d++) {
        len[0][d] = mc_ep_dispatch_pack(&cfg, d, x0, k0, 3, b[0][d]);
        len[1][d] = mc_ep_dispatch_pack(&cfg, d, x1, k1, 2, b[1][d]);
        ck_assert_uint_eq(len[0][d], mc_ep_dispatch_pack(&cfg, d, x0, k0, 3, NULL));
    }
    size_t rs = mc_ep_dispatch_rec_size(&cfg);
    ck_assert_uint_eq(len[0][0], 3 * rs); /* t0->e0, t2->e1 twice */
    ck_assert_uint_eq(len[0][1], 2 * rs); /* t0->e3, t1->e2 */
    ck_assert_uint_eq(len[1][0], 1 * rs); /* t0->e0 */
    ck_assert_uint_eq(len[1][1], 3 * rs); /* t0->e2, t1->e3 x2 */
    mc_ep_dispatch_out_t o[2];
    for (uint32_t r = 0; r < 2; r++) {
        const uint8_t *blocks[2] = {b[0][r], b[1][r]};
        size_t lens[2] = {len[0][r], len[1][r]};
        mc_ep_dispatch_out_init(&o[r], &cfg);
        ck_assert_int_eq(mc_ep_dispatch_unpack(&cfg, r, blocks, lens, 3, &o[r]), MC_OK);
    }
    /* rank 0, expert 0: rank 0's t0 then rank 1's t0 (source order) */
    ck_assert_int_eq(o[0].recv_count[0], 2);
    ck_assert_int_eq(o[0].src_info[0], 0);
    ck_assert_int_eq(o[0].src_rank[1], 1);
    ck_assert(o[0].recv_x[2] == 10 && o[0].recv_x[3] == 20);
    ck_assert_int_eq(o[0].layout_range[0 * 2 + 1], (int64_t)((1ULL << 32) | 1));
    ck_assert_int_eq(o[0].recv_count[1], 2); /* t2 picked e1 twice */
    ck_assert_int_eq(o[1].recv_count[1], 3); /* e3: r0 t0, r1 t1 x2 */
    /* expert outputs y = x * (0.1 e + 1), then combine back to each rank */
    float out0[6], out1[6];
    uint8_t cb[2][2][256];
    size_t cl[2][2];
    for (uint32_t owner = 0; owner < 2; owner++) {
        float y[2 * 12 * 2] = {0};
        mc_ep_moe_expert(&cfg, owner, &o[owner], y);
        for (uint32_t s = 0; s < 2; s++) {
            cl[owner][s] = mc_ep_combine_pack(&cfg, &o[owner], y, s, cb[owner][s]);
            ck_assert_uint_eq(cl[owner][s], mc_ep_combine_pack(&cfg, &o[owner], y, s, NULL));
        }
    }
    const uint8_t *to0[2] = {cb[0][0], cb[1][0]}, *to1[2] = {cb[0][1], cb[1][1]};
    size_t l0[2] = {cl[0][0], cl[1][0]}, l1[2] = {cl[0][1], cl[1][1]};
    ck_assert_int_eq(mc_ep_combine_unpack(&cfg, 0, k0, w0, 3, to0, l0, 3, out0), MC_OK);
    /* t0 = 0.5*x*1.0 + 0.25*x*1.3; t1 = 1*x*1.2 (k=1 masked); t2 = (0.5+0.5)*x*1.1 */
    ck_assert(fabsf(out0[0] - (0.5f * 1 + 0.25f * 1 * 1.3f)) < 1e-5f);
    ck_assert(fabsf(out0[3] - 4 * 1.2f) < 1e-5f);
    ck_assert(fabsf(out0[4] - 5 * 1.1f) < 1e-5f);
    /* rank 1 dead for the combine: its experts (2, 3) contribute nothing,
     * weights are not renormalized */
    ck_assert_int_eq(mc_ep_combine_unpack(&cfg, 0, k0, w0, 3, to0, l0, 1, out0), MC_OK);
    ck_assert(fabsf(out0[0] - 0.5f) < 1e-6f && out0[2] == 0 && out0[3] == 0);
    ck_assert_int_eq(mc_ep_combine_unpack(&cfg, 1, k1, w1, 2, to1, l1, 3, out1), MC_OK);
    ck_assert(fabsf(out1[2] - (0.5f + 0.5f) * 30 * 1.3f) < 1e-4f);
    /* malformed blocks are refused and leave zeros */
    size_t bad[2] = {l0[0] - 1, l0[1]};
    ck_assert_int_eq(mc_ep_combine_unpack(&cfg, 0, k0, w0, 3, to0, bad, 3, out0), MC_INVALID_PARAMS);
    ck_assert(out0[0] == 0);
    const uint8_t *blocks[2] = {b[0][0], b[1][0]};
    size_t lens[2] = {len[0][0], len[1][0] - 1};
    ck_assert_int_eq(mc_ep_dispatch_unpack(&cfg, 0, blocks, lens, 3, &o[0]), MC_INVALID_PARAMS);
    ck_assert_int_eq(o[0].recv_count[0], 0);
    uint8_t evil[64];
    memcpy(evil, b[0][0], rs);
    evil[0] = 9; /* not a local expert */
    const uint8_t *eb[2] = {evil, NULL};
    size_t el[2] = {rs, 0};
    ck_assert_int_eq(mc_ep_dispatch_unpack(&cfg, 0, eb, el, 1, &o[0]), MC_INVALID_PARAMS);
    /* a combine row for a token that never asked for that expert */
    const uint8_t *cbad[2] = {cb[1][0], NULL};
    size_t clbad[2] = {cl[1][0], 0};
    ck_assert_int_eq(mc_ep_combine_unpack(&cfg, 0, k1, w1, 2, cbad, clbad, 1, out0), MC_INVALID_PARAMS);
    mc_ep_dispatch_out_free(&o[0]);
    mc_ep_dispatch_out_free(&o[1]);
}
END_TEST

static mc_status_t parse(mc_ep_op_desc_t *d, const char *kind, uint32_t world, const char *const *kv)
{
    mc_conf_t a;
    char err[256];
    mc_ep_op_kind_t k;
    mc_conf_init(&a);
    for (; kv[0]; kv += 2)
        mc_conf_set(&a, kv[0], kv[1]);
    ck_assert(mc_ep_op_kind_parse(kind, &k));
    mc_status_t st = mc_ep_op_desc_parse(d, k, world, &a, err, sizeof err);
    mc_conf_free(&a);
    return st;
}

/* The rank's path (blocks -> finish) equals the checker's recomputation. */
START_TEST(test_op_finish_matches_expected)
{
    static const char *const kinds[] = {"all_reduce", "all_gather", "broadcast", "reduce_scatter",
                                        "all_to_all", "barrier", "dispatch", "combine"};
    for (size_t k = 0; k < 8; k++) {
        mc_ep_op_desc_t d;
        const char *kv[] = {"id", "7", "count", "5", "dtype", "i64", "red", "max", "root", "2", "dispatch", "3",
                            "dset", "d", NULL};
        ck_assert_int_eq(parse(&d, kinds[k], 4, kv), MC_OK);
        ck_assert_str_eq(mc_ep_op_kind_name(d.kind), kinds[k]);
        char line[512];
        ck_assert_int_gt(mc_ep_op_desc_fmt(&d, line, sizeof line), 0);
        bool ok;
        mc_ep_mask_t set = 0xd;
        uint64_t want = mc_ep_op_expected_hash(&d, 0, set, &ok);
        ck_assert(ok);
        if (d.kind == MC_EP_OP_DISPATCH || d.kind == MC_EP_OP_COMBINE)
            continue; /* covered by the routing test and the scenarios */
        uint8_t in[4][4 * 5 * 8], blk[4][64];
        const uint8_t *blocks[4] = {0};
        size_t lens[4] = {0};
        for (uint32_t s = 0; s < 4; s++) {
            mc_ep_op_input(&d, s, in[s]);
            lens[s] = mc_ep_op_block(&d, s, 0, in[s], blk[s]);
            blocks[s] = blk[s];
        }
        uint8_t out[4 * 5 * 8 + 1];
        ck_assert_int_eq(mc_ep_op_finish(&d, 0, blocks, lens, set, out), MC_OK);
        ck_assert_uint_eq(mc_hash64(out, mc_ep_op_output_bytes(&d), MC_HASH64_INIT), want);
        if (d.kind == MC_EP_OP_ALL_GATHER) /* slot of rank 1 (not in set) is zeroed */
            for (size_t i = 0; i < 40; i++)
                ck_assert_uint_eq(out[40 + i], 0);
        if (d.kind == MC_EP_OP_ALL_REDUCE) {
            lens[2] = 3; /* a block of the wrong length is refused */
            ck_assert_int_eq(mc_ep_op_finish(&d, 0, blocks, lens, set, out), MC_INVALID_PARAMS);
        }
    }
    /* broadcast without its root cannot succeed */
    mc_ep_op_desc_t d;
    const char *kv[] = {"id", "1", "root", "1", NULL};
    ck_assert_int_eq(parse(&d, "broadcast", 4, kv), MC_OK);
    bool ok;
    mc_ep_op_expected_hash(&d, 0, 0xd, &ok);
    ck_assert(!ok);
    const uint8_t *none[4] = {0};
    size_t nl[4] = {0};
    uint8_t out[128];
    ck_assert_int_eq(mc_ep_op_finish(&d, 0, none, nl, 0xd, out), MC_TRANSFER_FAIL);
}
END_TEST

START_TEST(test_op_parse_errors)
{
    mc_ep_op_desc_t d;
    const char *noid[] = {"count", "4", NULL};
    ck_assert_int_eq(parse(&d, "all_reduce", 4, noid), MC_INVALID_PARAMS);
    const char *badroot[] = {"id", "1", "root", "4", NULL};
    ck_assert_int_eq(parse(&d, "broadcast", 4, badroot), MC_INVALID_PARAMS);
    const char *avg[] = {"id", "1", "red", "avg", NULL};
    ck_assert_int_eq(parse(&d, "all_reduce", 4, avg), MC_INVALID_PARAMS);
    const char *bf16[] = {"id", "1", "dtype", "bf16", NULL};
    ck_assert_int_eq(parse(&d, "all_reduce", 4, bf16), MC_INVALID_PARAMS);
    const char *dset[] = {"id", "1", "dset", "xyz", NULL};
    ck_assert_int_eq(parse(&d, "combine", 4, dset), MC_INVALID_PARAMS);
    const char *experts[] = {"id", "1", "experts", "6", NULL};
    ck_assert_int_eq(parse(&d, "dispatch", 4, experts), MC_INVALID_PARAMS);
    const char *zero_to[] = {"id", "1", "timeout", "0s", NULL};
    ck_assert_int_eq(parse(&d, "barrier", 4, zero_to), MC_INVALID_PARAMS);
    mc_ep_op_kind_t k;
    ck_assert(!mc_ep_op_kind_parse("gather", &k));
    ck_assert_str_eq(mc_ep_op_kind_name(MC_EP_OP_KIND_COUNT), "?");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ep_math");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dtype_names);
    tcase_add_test(tc, test_reduce_every_type);
    tcase_add_test(tc, test_reduce_long_rank_order);
    tcase_add_test(tc, test_decide);
    tcase_add_test(tc, test_size_hint);
    tcase_add_test(tc, test_moe_cfg);
    tcase_add_test(tc, test_dispatch_combine_routing);
    tcase_add_test(tc, test_op_finish_matches_expected);
    tcase_add_test(tc, test_op_parse_errors);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
