/* The EP checker over synthetic traces: correct runs pass, and each kind
 * of violation (wrong result, disagreeing sets, a rank outside its own
 * set, an op past its bound, an op that never returned, a view that is
 * not the coordinator's) is reported; pauses, crashes and drift excuse
 * the bound. Also the "ep" entry of a scenario's checks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ep/mc_ep_op.h"
#include "mc_check.h"
#include "scenario/mc_scenario.h"

#define MS 1000000ULL

static mc_trace_log_t lg;

static void setup(void) { mc_trace_log_init(&lg); }
static void teardown(void) { mc_trace_log_free(&lg); }

static void add(uint64_t t_ms, const char *node, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(uint64_t t_ms, const char *node, const char *ev, const char *fmt, ...)
{
    char f[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f, sizeof f, fmt, ap);
    va_end(ap);
    mc_trace_log_add(&lg, t_ms * MS, node, ev, f);
}

static mc_ep_op_desc_t desc(const char *kind, uint64_t id)
{
    mc_ep_op_desc_t d;
    mc_conf_t a;
    char err[128], idb[24];
    mc_ep_op_kind_t k;
    mc_conf_init(&a);
    snprintf(idb, sizeof idb, "%llu", (unsigned long long)id);
    mc_conf_set(&a, "id", idb);
    mc_conf_set(&a, "count", "6");
    mc_conf_set(&a, "timeout", "100ms");
    ck_assert(mc_ep_op_kind_parse(kind, &k));
    ck_assert_int_eq(mc_ep_op_desc_parse(&d, k, 3, &a, err, sizeof err), MC_OK);
    mc_conf_free(&a);
    return d;
}

static void begin(uint64_t t, uint32_t rank, const mc_ep_op_desc_t *d)
{
    char line[512], node[8];
    mc_ep_op_desc_fmt(d, line, sizeof line);
    snprintf(node, sizeof node, "r%u", rank);
    add(t, node, "ep.op_begin", "%s rank=%u", line, rank);
}

static void end(uint64_t t, uint32_t rank, const mc_ep_op_desc_t *d, const char *status, mc_ep_mask_t set,
                uint64_t hash)
{
    char node[8];
    snprintf(node, sizeof node, "r%u", rank);
    add(t, node, "ep.op_end", "op=%s id=%llu rank=%u status=%s set=%llx dropped=0 epoch=1 hash=%016llx",
        mc_ep_op_kind_name(d->kind), (unsigned long long)d->id, rank, status, (unsigned long long)set,
        (unsigned long long)hash);
}

static uint64_t good(const mc_ep_op_desc_t *d, uint32_t rank, mc_ep_mask_t set)
{
    bool ok;
    return mc_ep_op_expected_hash(d, rank, set, &ok);
}

static uint64_t run(mc_ep_check_result_t *res)
{
    return mc_check_ep(&lg, res);
}

START_TEST(test_correct_run)
{
    mc_ep_op_desc_t a = desc("all_reduce", 1), g = desc("all_gather", 2);
    add(0, "coord", "ep.coord_view", "epoch=1 active=7 synced=7");
    for (uint32_t r = 0; r < 3; r++) {
        add(1, "x", "ep.view", "rank=%u epoch=1 active=7 synced=7", r);
        begin(10, r, &a);
    }
    for (uint32_t r = 0; r < 3; r++)
        end(20, r, &a, "OK", 7, good(&a, r, 7));
    /* r2 dies during op 2: the others agree on {0,1} */
    add(25, "r2", "sim.node_crash", "why=fault inc=1");
    for (uint32_t r = 0; r < 3; r++)
        begin(21, r, &g);
    end(150, 0, &g, "OK", 3, good(&g, 0, 3));
    end(150, 1, &g, "OK", 3, good(&g, 1, 3));
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 0);
    ck_assert_msg(res.violations == 0, "%s", res.msg);
    ck_assert_uint_eq(res.ops, 6);
    ck_assert_uint_eq(res.ok_ends, 5);
    ck_assert_uint_eq(res.checked, 5);
    ck_assert_uint_eq(res.views, 3);
}
END_TEST

START_TEST(test_wrong_result)
{
    mc_ep_op_desc_t a = desc("all_reduce", 1);
    for (uint32_t r = 0; r < 2; r++)
        begin(10, r, &a);
    end(20, 0, &a, "OK", 3, good(&a, 0, 3));
    end(20, 1, &a, "OK", 3, good(&a, 1, 7)); /* reduced over a rank not in its set */
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 1);
    ck_assert_msg(strstr(res.msg, "r1 op 1 (all_reduce): hash") != NULL, "%s", res.msg);
}
END_TEST

START_TEST(test_disagreement_and_self)
{
    mc_ep_op_desc_t a = desc("barrier", 4);
    for (uint32_t r = 0; r < 3; r++)
        begin(10, r, &a);
    end(20, 0, &a, "OK", 3, good(&a, 0, 3));
    end(20, 1, &a, "OK", 7, good(&a, 1, 7));
    end(20, 2, &a, "OK", 3, good(&a, 2, 3)); /* OK outside its own set */
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 2);
    ck_assert_msg(strstr(res.msg, "op 4: r1 reports set 7, another rank 3") != NULL, "%s", res.msg);
    ck_assert_msg(strstr(res.msg, "r2 op 4: OK but rank 2 not in its set 3") != NULL, "%s", res.msg);
}
END_TEST

START_TEST(test_bounds)
{
    mc_ep_op_desc_t a = desc("barrier", 1), b = desc("barrier", 2);
    begin(10, 0, &a);
    begin(10, 0, &b); /* queued behind op 1: its bound starts when op 1 ends */
    end(200, 0, &a, "RPC_TIMEOUT", 0, 0);
    end(390, 0, &b, "RPC_TIMEOUT", 0, 0);
    /* r1: too slow */
    begin(10, 1, &a);
    end(211, 1, &a, "RPC_TIMEOUT", 0, 0);
    /* r2: as slow, but paused meanwhile; then an op that never returns */
    add(50, "r2", "sim.fault", "kind=pause");
    add(400, "r2", "sim.fault", "kind=resume");
    begin(10, 2, &a);
    end(450, 2, &a, "RPC_TIMEOUT", 0, 0);
    begin(460, 2, &b);
    add(1000, "coord", "ep.coord_view", "epoch=9 active=0 synced=0");
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 2);
    ck_assert_msg(strstr(res.msg, "r1 op 1 took 0.201s > 2 x timeout 0.100s") != NULL, "%s", res.msg);
    ck_assert_msg(strstr(res.msg, "r2 op 2 never returned") != NULL, "%s", res.msg);
}
END_TEST

START_TEST(test_excuses)
{
    mc_ep_op_desc_t a = desc("barrier", 1);
    begin(10, 0, &a); /* crashed: never returns, no violation */
    add(20, "r0", "sim.node_crash", "why=fault inc=1");
    add(5, "r1", "sim.fault", "kind=clock_drift rate=0.5");
    begin(10, 1, &a); /* drifted clock: bound not enforced */
    end(400, 1, &a, "RPC_TIMEOUT", 0, 0);
    add(1000, "coord", "ep.coord_start", "world=3");
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 0);
}
END_TEST

/* On real processes pauses are the runner's hw.fault lines (node "-", the
 * paused node in node=): the bound is excused the same way, for that node
 * only. */
START_TEST(test_hw_pause_excuses)
{
    mc_ep_op_desc_t a = desc("barrier", 1);
    begin(10, 2, &a);
    add(11, "-", "hw.fault", "kind=pause node=r2");
    add(3000, "-", "hw.fault", "kind=resume node=r2");
    end(3005, 2, &a, "RPC_TIMEOUT", 0, 0);
    begin(10, 1, &a); /* r1 was not paused: too slow */
    end(3005, 1, &a, "RPC_TIMEOUT", 0, 0);
    add(3010, "-", "hw.fault", "kind=pause"); /* no node= field: ignored */
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 1);
    ck_assert_msg(strstr(res.msg, "r1 op 1 took") != NULL, "%s", res.msg);
}
END_TEST

START_TEST(test_views_and_malformed)
{
    add(0, "coord", "ep.coord_view", "epoch=1 active=7 synced=7");
    add(1, "r0", "ep.view", "rank=0 epoch=1 active=7 synced=7");
    add(1, "r1", "ep.view", "rank=1 epoch=1 active=3 synced=7");
    add(2, "r0", "ep.op_end", "op=barrier id=5 rank=0 status=OK set=1 hash=0");
    add(3, "r0", "ep.op_begin", "op=barrier rank=0");
    add(4, "r0", "ep.op_begin", "op=nope id=6 timeout_ns=100 world=3 rank=0");
    add(5, "r0", "ep.op_end", "op=nope id=6 rank=0 status=OK set=1 hash=0");
    add(6, "r0", "ep.op_begin", "op=barrier id=7 timeout_ns=100000000 world=3 rank=0");
    add(7, "r0", "ep.op_end", "op=barrier id=7 rank=0 set=1 hash=0");
    mc_ep_check_result_t res;
    ck_assert_uint_eq(run(&res), 6);
    ck_assert_msg(strstr(res.msg, "without a begin") != NULL, "%s", res.msg);
}
END_TEST

START_TEST(test_scenario_checks_entry)
{
    const char *json = "{\"name\":\"t\",\"duration\":\"1s\",\"nodes\":[{\"name\":\"r0\",\"role\":\"ep_rank\"}],"
                       "\"checks\":{\"ep\":{\"comment\":\"x\"}}}";
    mc_scenario_t s;
    char err[256];
    ck_assert_int_eq(mc_scenario_parse(json, strlen(json), "t.json", &s, err, sizeof err), MC_OK);
    ck_assert(s.checks.ep && !s.checks.store_history);
    mc_ep_op_desc_t a = desc("all_to_all", 1);
    begin(10, 0, &a);
    end(20, 0, &a, "OK", 1, good(&a, 0, 1) ^ 1);
    mc_expect_result_t results[MC_SCN_MAX_CHECKS];
    size_t fails;
    ck_assert_uint_eq(mc_scenario_checks_run(&s, &lg, results, MC_SCN_MAX_CHECKS, &fails), 1);
    ck_assert_uint_eq(fails, 1);
    ck_assert_msg(strncmp(results[0].msg, "FAIL [safety] ep: 1 violation", 29) == 0, "%s", results[0].msg);
    mc_scenario_free(&s);
    const char *bad = "{\"name\":\"t\",\"duration\":\"1s\",\"nodes\":[{\"name\":\"r0\",\"role\":\"ep_rank\"}],"
                      "\"checks\":{\"ep\":{\"x\":1}}}";
    ck_assert_int_eq(mc_scenario_parse(bad, strlen(bad), "t.json", &s, err, sizeof err), MC_INVALID_PARAMS);
    ck_assert_msg(strstr(err, "checks.ep.x: unknown key") != NULL, "%s", err);
    const char *bad2 = "{\"name\":\"t\",\"duration\":\"1s\",\"nodes\":[{\"name\":\"r0\",\"role\":\"ep_rank\"}],"
                       "\"checks\":{\"ep\":3}}";
    ck_assert_int_eq(mc_scenario_parse(bad2, strlen(bad2), "t.json", &s, err, sizeof err), MC_INVALID_PARAMS);
    const char *okj = "{\"name\":\"t\",\"duration\":\"1s\",\"nodes\":[{\"name\":\"r0\",\"role\":\"ep_rank\"}],"
                      "\"checks\":[\"ep\"]}";
    ck_assert_int_eq(mc_scenario_parse(okj, strlen(okj), "t.json", &s, err, sizeof err), MC_OK);
    mc_trace_log_free(&lg);
    mc_trace_log_init(&lg);
    ck_assert_uint_eq(mc_scenario_checks_run(&s, &lg, results, MC_SCN_MAX_CHECKS, &fails), 1);
    ck_assert_uint_eq(fails, 0);
    ck_assert_msg(strncmp(results[0].msg, "ok [safety] ep: 0 ops", 21) == 0, "%s", results[0].msg);
    mc_scenario_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ep_check");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_correct_run);
    tcase_add_test(tc, test_wrong_result);
    tcase_add_test(tc, test_disagreement_and_self);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_excuses);
    tcase_add_test(tc, test_hw_pause_excuses);
    tcase_add_test(tc, test_views_and_malformed);
    tcase_add_test(tc, test_scenario_checks_entry);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
