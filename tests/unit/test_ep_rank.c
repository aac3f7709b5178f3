/* The EP rank and coordinator in a small fake world (te_fake_env.h): real
 * bytes through the TE, the agreement with the coordinator, a peer that
 * dies mid-operation, configuration and submit validation, proposals
 * without a coordinator, and the role's commands. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "env/mc_role.h"
#include "ep/mc_ep_rank.h"
#include "wire/mc_msg_ep.h"
#include "mc_check.h"
#include "te_fake_env.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

extern const mc_role_t mc_role_ep_coord;
extern const mc_role_t mc_role_ep_rank;

static void conf_of(mc_conf_t *c, fw_node_t *n, const char *const *kv)
{
    mc_conf_init(c);
    mc_conf_set(c, "addr", n->addr);
    for (; kv && kv[0]; kv += 2)
        mc_conf_set(c, kv[0], kv[1]);
}

static void *start_role(const mc_role_t *role, fw_node_t *n, const char *const *kv)
{
    mc_conf_t c;
    char err[256] = "";
    conf_of(&c, n, kv);
    void *node = role->create(&n->env, &c, err, sizeof err);
    ck_assert_msg(node != NULL, "create: %s", err);
    mc_conf_free(&c);
    return node;
}

static mc_ep_rank_t *start_rank(fw_node_t *n, const char *coord, const char *rank, const char *world)
{
    const char *kv[] = {"coordinator", coord, "rank", rank, "world", world, "slot_bytes", "4KiB", NULL};
    mc_conf_t c;
    char err[256] = "";
    conf_of(&c, n, kv);
    mc_ep_rank_t *r = mc_ep_rank_create(&n->env, &c, err, sizeof err);
    ck_assert_msg(r != NULL, "create: %s", err);
    mc_conf_free(&c);
    return r;
}

typedef struct got {
    int calls;
    mc_ep_result_t res;
    uint8_t out[4096];
} got_t;

static void done(void *arg, const mc_ep_result_t *r)
{
    got_t *g = arg;
    g->calls++;
    g->res = *r;
    if (r->out && r->out_len <= sizeof g->out)
        memcpy(g->out, r->out, r->out_len);
}

static mc_ep_op_desc_t desc(mc_ep_op_kind_t kind, uint64_t id, uint32_t count, uint32_t world)
{
    mc_ep_op_desc_t d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.id = id;
    d.world = world;
    d.count = count;
    d.dtype = MC_EP_I64;
    d.redop = MC_EP_SUM;
    d.timeout_ns = 200 * MS;
    return d;
}

START_TEST(test_all_reduce_and_peer_death)
{
    fw_t *w = fw_new();
    fw_node_t *cn = fw_add_node(w, "coord"), *n0 = fw_add_node(w, "r0"), *n1 = fw_add_node(w, "r1");
    const char *ckv[] = {"world", "2", "hb_timeout", "300ms", NULL};
    void *coord = start_role(&mc_role_ep_coord, cn, ckv);
    mc_ep_rank_t *r0 = start_rank(n0, cn->addr, "0", "2"), *r1 = start_rank(n1, cn->addr, "1", "2");
    fw_run(w, 50 * MS);
    ck_assert_uint_eq(mc_ep_rank_active(r0), 3);
    ck_assert_uint_eq(mc_ep_rank_num_synced(r1), 2);
    ck_assert(mc_ep_rank_peer_state(r0, 1) && !mc_ep_rank_peer_state(r0, 5));
    ck_assert_uint_eq(mc_ep_rank_epoch(r0), 1);
    ck_assert_uint_eq(mc_ep_rank_self(r1), 1);

    int64_t a[8], b[8];
    for (int i = 0; i < 8; i++) {
        a[i] = i;
        b[i] = 100 * i;
    }
    mc_ep_op_desc_t d = desc(MC_EP_OP_ALL_REDUCE, 1, 8, 2);
    got_t g0 = {0}, g1 = {0};
    mc_ep_input_t in0 = {.data = a}, in1 = {.data = b};
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_OK);
    ck_assert_int_eq(mc_ep_rank_submit(r1, &d, &in1, done, &g1), MC_OK);
    ck_assert_int_eq(g0.calls, 0); /* never inside the call */
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.calls, 1);
    ck_assert_int_eq(g1.calls, 1);
    ck_assert_int_eq(g0.res.status, MC_OK);
    ck_assert_uint_eq(g0.res.set, 3);
    ck_assert_uint_eq(g0.res.dropped, 0);
    for (int i = 0; i < 8; i++) {
        int64_t v0, v1;
        memcpy(&v0, g0.out + 8 * i, 8);
        memcpy(&v1, g1.out + 8 * i, 8);
        ck_assert_int_eq(v0, 101 * i);
        ck_assert_int_eq(v1, 101 * i);
    }

    /* r1 dies; r0's next all_gather returns within 2 x timeout, over {r0} */
    mc_ep_rank_destroy(r1);
    n1->dead = true;
    d = desc(MC_EP_OP_ALL_GATHER, 2, 8, 2);
    uint64_t t0 = w->now;
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_OK);
    while (g0.calls < 2 && w->now < t0 + SEC)
        fw_advance(w, MS);
    ck_assert_int_eq(g0.calls, 2);
    ck_assert_uint_le(w->now - t0, 2 * d.timeout_ns);
    ck_assert_int_eq(g0.res.status, MC_OK);
    ck_assert_uint_eq(g0.res.set, 1);
    ck_assert_uint_eq(g0.res.dropped, 2);
    ck_assert(memcmp(g0.out, a, sizeof a) == 0);
    for (int i = 0; i < 64; i++) /* r1's slot is zeroed, not stale */
        ck_assert_uint_eq(g0.out[64 + i], 0);
    fw_run(w, 500 * MS);
    ck_assert_uint_eq(mc_ep_rank_active(r0), 1); /* offline -> deactivated */
    ck_assert(!mc_ep_rank_peer_state(r0, 1));

    mc_ep_rank_destroy(r0);
    mc_role_ep_coord.destroy(coord);
    fw_free(w);
}
END_TEST

START_TEST(test_validation_and_no_coordinator)
{
    fw_t *w = fw_new();
    fw_node_t *n0 = fw_add_node(w, "r0");
    mc_conf_t c;
    char err[256];
    const char *bad[][10] = {
        {"rank", "0", "world", "2", NULL},                                 /* no coordinator */
        {"coordinator", "x:1", "rank", "2", "world", "2", NULL},           /* rank out of range */
        {"coordinator", "x:1", "rank", "0", "world", "65", NULL},          /* world */
        {"coordinator", "x:1", "world", "2", NULL},                        /* no rank */
        {"coordinator", "x:1", "rank", "0", "world", "2", "slot_bytes", "8", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        conf_of(&c, n0, bad[i]);
        err[0] = '\0';
        ck_assert_ptr_null(mc_ep_rank_create(&n0->env, &c, err, sizeof err));
        ck_assert_msg(strstr(err, "key '") != NULL, "%zu: %s", i, err);
        mc_conf_free(&c);
    }
    const char *cbad[] = {"world", "0", NULL};
    conf_of(&c, n0, cbad);
    ck_assert_ptr_null(mc_role_ep_coord.create(&n0->env, &c, err, sizeof err));
    mc_conf_free(&c);

    /* a rank whose coordinator does not exist */
    mc_ep_rank_t *r = start_rank(n0, "nowhere:1", "0", "2");
    got_t g = {0};
    int64_t x[600] = {0};
    mc_ep_input_t in = {.data = x};
    mc_ep_op_desc_t d = desc(MC_EP_OP_ALL_REDUCE, 1, 4, 3);
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, &in, done, &g), MC_INVALID_PARAMS); /* world */
    d = desc(MC_EP_OP_ALL_REDUCE, 1, 600, 2);
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, &in, done, &g), MC_INVALID_PARAMS); /* > slot */
    d = desc(MC_EP_OP_ALL_REDUCE, 1, 4, 2);
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, NULL, done, &g), MC_INVALID_PARAMS); /* no input */
    d = desc(MC_EP_OP_DISPATCH, 1, 4, 2);
    d.moe = (mc_ep_moe_cfg_t){.num_ranks = 2, .num_experts = 4, .hidden = 4, .topk = 2, .max_tokens = 4};
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, &in, done, &g), MC_INVALID_PARAMS); /* no x/topk */
    d.moe.max_tokens = 1000;
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, &in, done, &g), MC_INVALID_PARAMS); /* too big */
    /* no view yet: not active */
    d = desc(MC_EP_OP_BARRIER, 1, 0, 2);
    ck_assert_int_eq(mc_ep_rank_submit(r, &d, NULL, done, &g), MC_OK);
    fw_run(w, 10 * MS);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.res.status, MC_UNAVAILABLE_IN_CURRENT_STATUS);
    mc_ep_rank_destroy(r);
    fw_free(w);
}
END_TEST

static int prop_status = -1;
static void prop_cb(void *arg, int status, uint64_t epoch, mc_ep_mask_t dropped)
{
    (void)arg, (void)epoch, (void)dropped;
    prop_status = status;
}

START_TEST(test_role_commands_and_proposals)
{
    fw_t *w = fw_new();
    fw_node_t *cn = fw_add_node(w, "coord"), *n0 = fw_add_node(w, "r0"), *n1 = fw_add_node(w, "r1");
    const char *ckv[] = {"world", "2", "proposal_timeout", "200ms", NULL};
    void *coord = start_role(&mc_role_ep_coord, cn, ckv);
    const char *k0[] = {"coordinator", cn->addr, "rank", "0", "world", "2", NULL};
    const char *k1[] = {"coordinator", cn->addr, "rank", "1", "world", "2", NULL};
    void *a = start_role(&mc_role_ep_rank, n0, k0);
    void *b = start_role(&mc_role_ep_rank, n1, k1);
    fw_run(w, 50 * MS);
    mc_conf_t args;
    mc_conf_init(&args);
    mc_conf_set(&args, "id", "1");
    mc_conf_set(&args, "count", "4");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "all_to_all", &args), MC_OK);
    ck_assert_int_eq(mc_role_ep_rank.command(b, "all_to_all", &args), MC_OK);
    mc_conf_set(&args, "id", "2");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "dispatch", &args), MC_OK);
    ck_assert_int_eq(mc_role_ep_rank.command(b, "dispatch", &args), MC_OK);
    mc_conf_set(&args, "id", "3");
    mc_conf_set(&args, "dispatch", "2");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "combine", &args), MC_OK);
    ck_assert_int_eq(mc_role_ep_rank.command(b, "combine", &args), MC_OK);
    mc_conf_set(&args, "id", "4");
    mc_conf_set(&args, "dispatch", "99"); /* unknown handle */
    ck_assert_int_eq(mc_role_ep_rank.command(a, "combine", &args), MC_OK);
    mc_conf_set(&args, "red", "avg");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "all_reduce", &args), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_role_ep_rank.command(a, "gather", &args), MC_INVALID_PARAMS);
    mc_conf_free(&args);
    fw_run(w, 200 * MS);
    ck_assert_int_eq(fw_count(w, "ep.op_end", "op=all_to_all", "status=OK set=3"), 2);
    ck_assert_int_eq(fw_count(w, "ep.op_end", "op=dispatch", "status=OK set=3"), 2);
    ck_assert_int_eq(fw_count(w, "ep.op_end", "op=combine id=3", "status=OK set=3"), 2);
    ck_assert_int_eq(fw_count(w, "r0 ep.op_end", "id=4", "status=INVALID_PARAMS"), 1);

    mc_conf_init(&args);
    ck_assert_int_eq(mc_role_ep_rank.command(a, "state", &args), MC_OK);
    ck_assert_int_eq(fw_count(w, "r0 ep.state", "active=3 num_synced=2 peers=3", NULL), 1);
    ck_assert_int_eq(mc_role_ep_rank.command(a, "recover", &args), MC_INVALID_PARAMS); /* no ranks */
    mc_conf_set(&args, "ranks", "0,7");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "recover", &args), MC_INVALID_PARAMS);
    mc_conf_set(&args, "ranks", "1");
    ck_assert_int_eq(mc_role_ep_rank.command(b, "deactivate", &args), MC_OK);
    fw_run(w, 50 * MS);
    ck_assert_int_eq(fw_count(w, "r1 ep.propose_done", "activate=0 status=1", NULL), 1);
    ck_assert_int_eq(mc_role_ep_rank.command(a, "recover", &args), MC_OK);
    fw_run(w, 50 * MS);
    ck_assert_int_eq(fw_count(w, "r0 ep.propose_done", "activate=1 status=1", NULL), 1);
    mc_conf_free(&args);
    mc_role_ep_rank.destroy(b);
    n1->dead = true;
    fw_run(w, 1500 * MS); /* r1 offline */
    mc_conf_init(&args);
    mc_conf_set(&args, "ranks", "1");
    ck_assert_int_eq(mc_role_ep_rank.command(a, "recover", &args), MC_OK);
    mc_conf_free(&args);
    fw_run(w, 400 * MS);
    ck_assert_int_eq(fw_count(w, "coord ep.coord_propose", "targets=2 activate=1 status=0", NULL), 1);
    ck_assert_int_eq(fw_count(w, "r0 ep.propose_done", "activate=1 status=0", NULL), 1);
    mc_role_ep_rank.destroy(a);
    mc_role_ep_coord.destroy(coord);

    /* a proposal without a coordinator link is rejected, later */
    fw_node_t *n2 = fw_add_node(w, "r2");
    mc_ep_rank_t *r = start_rank(n2, "nowhere:1", "0", "1");
    mc_ep_rank_propose(r, 1, true, prop_cb, NULL);
    ck_assert_int_eq(prop_status, -1);
    fw_run(w, MS);
    ck_assert_int_eq(prop_status, MC_EP_PROPOSAL_REJECTED);
    mc_ep_rank_destroy(r);
    fw_free(w);
}
END_TEST

/* ---- the region in the env's segment memory ---- */

static struct {
    int allocs, frees;
    void *p[4];
    size_t len[4];
    bool registered_at_free; /* must stay false: freed after unregistering */
    bool fail;               /* seg_alloc returns NULL */
} seg;

static void *seg_alloc(mc_env_t *env, size_t len)
{
    (void)env;
    if (seg.fail || seg.allocs >= 4)
        return NULL;
    seg.len[seg.allocs] = len;
    return seg.p[seg.allocs++] = calloc(1, len);
}

static void seg_free(mc_env_t *env, void *p, size_t len)
{
    for (int i = 0; i < seg.allocs; i++)
        if (seg.p[i] == p && seg.len[i] == len)
            seg.frees++;
    if (fw_in_regs(fw_node_of(env), (uint64_t)(uintptr_t)p, 1))
        seg.registered_at_free = true;
    free(p);
}

START_TEST(test_region_in_segment_memory)
{
    static mc_env_ops_t ops;
    memset(&seg, 0, sizeof seg);
    fw_t *w = fw_new();
    fw_node_t *cn = fw_add_node(w, "coord"), *n0 = fw_add_node(w, "r0"), *n1 = fw_add_node(w, "r1");
    ops = *n0->env.ops;
    ops.seg_alloc = seg_alloc;
    ops.seg_free = seg_free;
    n0->env.ops = n1->env.ops = &ops;
    const char *ckv[] = {"world", "2", NULL};
    void *coord = start_role(&mc_role_ep_coord, cn, ckv);
    mc_ep_rank_t *r0 = start_rank(n0, cn->addr, "0", "2"), *r1 = start_rank(n1, cn->addr, "1", "2");
    /* one allocation per rank: [recv | send], each 4 slots x world x 4 KiB */
    ck_assert_int_eq(seg.allocs, 2);
    ck_assert_uint_eq(seg.len[0], 2 * 4 * 2 * 4096);
    ck_assert(fw_in_regs(n0, (uint64_t)(uintptr_t)seg.p[0], seg.len[0]));
    ck_assert(fw_in_regs(n1, (uint64_t)(uintptr_t)seg.p[1], seg.len[1]));
    fw_run(w, 50 * MS);

    /* the bytes land in segment memory and reduce as before */
    int64_t a[8], b[8];
    for (int i = 0; i < 8; i++) {
        a[i] = 3 * i;
        b[i] = -i;
    }
    mc_ep_op_desc_t d = desc(MC_EP_OP_ALL_REDUCE, 1, 8, 2);
    got_t g0 = {0}, g1 = {0};
    mc_ep_input_t in0 = {.data = a}, in1 = {.data = b};
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_OK);
    ck_assert_int_eq(mc_ep_rank_submit(r1, &d, &in1, done, &g1), MC_OK);
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.res.status, MC_OK);
    ck_assert_int_eq(g1.res.status, MC_OK);
    for (int i = 0; i < 8; i++) {
        int64_t v0, v1;
        memcpy(&v0, g0.out + 8 * i, 8);
        memcpy(&v1, g1.out + 8 * i, 8);
        ck_assert_int_eq(v0, 2 * i);
        ck_assert_int_eq(v1, 2 * i);
    }
    /* r0's region holds r1's block (header + payload) in slot [1 % 4][1] */
    const uint8_t *blk = (const uint8_t *)seg.p[0] + (1 * 2 + 1) * 4096 + 16;
    ck_assert(memcmp(blk, b, sizeof b) == 0);

    mc_ep_rank_destroy(r0);
    mc_ep_rank_destroy(r1);
    ck_assert_int_eq(seg.frees, 2); /* the same pointer and length */
    ck_assert(!seg.registered_at_free);

    /* no segment memory: a clear error, nothing leaks (ASan/valgrind) */
    seg.fail = true;
    mc_conf_t c;
    char err[256] = "";
    const char *kv[] = {"coordinator", cn->addr, "rank", "0", "world", "2", "slot_bytes", "4KiB", NULL};
    conf_of(&c, n0, kv);
    ck_assert_ptr_null(mc_ep_rank_create(&n0->env, &c, err, sizeof err));
    ck_assert_msg(strstr(err, "EP region") != NULL, "err: %s", err);
    mc_conf_free(&c);
    mc_role_ep_coord.destroy(coord);
    fw_free(w);
}
END_TEST

/* in.out: the result goes straight into the caller's buffer; a failed op
 * leaves it as it was */
START_TEST(test_result_in_caller_buffer)
{
    fw_t *w = fw_new();
    fw_node_t *cn = fw_add_node(w, "coord"), *n0 = fw_add_node(w, "r0"), *n1 = fw_add_node(w, "r1");
    const char *ckv[] = {"world", "2", NULL};
    void *coord = start_role(&mc_role_ep_coord, cn, ckv);
    mc_ep_rank_t *r0 = start_rank(n0, cn->addr, "0", "2"), *r1 = start_rank(n1, cn->addr, "1", "2");
    fw_run(w, 50 * MS);
    int64_t a[8], b[8], o0[8], o1[16];
    for (int i = 0; i < 8; i++) {
        a[i] = i;
        b[i] = 10 * i;
    }
    memset(o0, 0x5a, sizeof o0);
    memset(o1, 0x5a, sizeof o1);
    mc_ep_op_desc_t d = desc(MC_EP_OP_ALL_REDUCE, 1, 8, 2);
    got_t g0 = {0}, g1 = {0};
    mc_ep_input_t in0 = {.data = a, .out = o0, .out_len = sizeof o0 - 1};
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_INVALID_PARAMS); /* too small */
    in0.out_len = sizeof o0;
    mc_ep_input_t in1 = {.data = b, .out = o1, .out_len = sizeof o1};
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_OK);
    ck_assert_int_eq(mc_ep_rank_submit(r1, &d, &in1, done, &g1), MC_OK);
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.res.status, MC_OK);
    ck_assert_int_eq(g1.res.status, MC_OK);
    ck_assert_ptr_eq(g0.res.out, o0);
    ck_assert_ptr_eq(g1.res.out, o1);
    ck_assert_uint_eq(g1.res.out_len, sizeof a);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(o0[i], 11 * i);
        ck_assert_int_eq(o1[i], 11 * i);
    }
    for (size_t i = 8 * 8; i < sizeof o1; i++) /* nothing past the output */
        ck_assert_uint_eq(((uint8_t *)o1)[i], 0x5a);

    /* the ranks disagree on the size: refused, the buffers keep their bytes */
    memset(o0, 0x5a, sizeof o0);
    memcpy(o1, o0, sizeof o0);
    d = desc(MC_EP_OP_ALL_REDUCE, 2, 8, 2);
    mc_ep_op_desc_t d1 = desc(MC_EP_OP_ALL_REDUCE, 2, 4, 2);
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0, done, &g0), MC_OK);
    ck_assert_int_eq(mc_ep_rank_submit(r1, &d1, &in1, done, &g1), MC_OK);
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.calls, 2);
    ck_assert_int_eq(g0.res.status, MC_INVALID_PARAMS);
    ck_assert_ptr_null(g0.res.out);
    for (size_t i = 0; i < sizeof o0; i++)
        ck_assert_uint_eq(((uint8_t *)o0)[i], 0x5a);

    /* an all_gather into the caller's buffer (world x count) */
    d = desc(MC_EP_OP_ALL_GATHER, 3, 8, 2);
    mc_ep_input_t in0g = {.data = a, .out = o1, .out_len = sizeof o1};
    int64_t og[16];
    mc_ep_input_t in1g = {.data = b, .out = og, .out_len = sizeof og};
    ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &in0g, done, &g0), MC_OK);
    ck_assert_int_eq(mc_ep_rank_submit(r1, &d, &in1g, done, &g1), MC_OK);
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.res.status, MC_OK);
    ck_assert_int_eq(g1.res.status, MC_OK);
    ck_assert(memcmp(o1, a, sizeof a) == 0 && memcmp(o1 + 8, b, sizeof b) == 0);
    ck_assert(memcmp(og, o1, sizeof og) == 0);

    /* in place, two queued ops on the two halves (what the C API does
     * with a call larger than one slot): input borrowed, output the same */
    int64_t p0[16], p1[16];
    for (int i = 0; i < 16; i++) {
        p0[i] = i;
        p1[i] = 1000 * i;
    }
    for (int h = 0; h < 2; h++) {
        d = desc(MC_EP_OP_ALL_REDUCE, 4 + (uint64_t)h, 8, 2);
        mc_ep_input_t i0 = {.data = p0 + 8 * h, .borrow = true, .out = p0 + 8 * h, .out_len = 64};
        mc_ep_input_t i1 = {.data = p1 + 8 * h, .borrow = true, .out = p1 + 8 * h, .out_len = 64};
        ck_assert_int_eq(mc_ep_rank_submit(r0, &d, &i0, done, &g0), MC_OK);
        ck_assert_int_eq(mc_ep_rank_submit(r1, &d, &i1, done, &g1), MC_OK);
    }
    fw_run(w, 100 * MS);
    ck_assert_int_eq(g0.calls, 5);
    ck_assert_int_eq(g1.res.status, MC_OK);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(p0[i], 1001 * i);
        ck_assert_int_eq(p1[i], 1001 * i);
    }

    mc_ep_rank_destroy(r0);
    mc_ep_rank_destroy(r1);
    mc_role_ep_coord.destroy(coord);
    fw_free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ep_rank");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_all_reduce_and_peer_death);
    tcase_add_test(tc, test_validation_and_no_coordinator);
    tcase_add_test(tc, test_role_commands_and_proposals);
    tcase_add_test(tc, test_region_in_segment_memory);
    tcase_add_test(tc, test_result_in_caller_buffer);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
