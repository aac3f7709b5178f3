/* Engine tests for sim/: ordering, timers, network faults, transfers,
 * determinism. Uses the tiny echo role from sim_test_role.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "sim.h"
#include "sim_test_role.h"

#define MS MC_NS_PER_MS
#define SEC MC_NS_PER_S

static mc_sim_t *mk(uint64_t seed, uint64_t jitter)
{
    mc_sim_cfg_t cfg;
    mc_sim_cfg_init(&cfg);
    cfg.seed = seed;
    cfg.net.latency_ns = 1 * MS;
    cfg.net.jitter_ns = jitter;
    return mc_sim_create(&cfg);
}

/* server "s" (echo) + client "c" connecting to it. */
static void pair(mc_sim_t *s, int *srv, int *cli)
{
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "echo", "1");
    *srv = mc_sim_node_add(s, "s", &sim_test_echo_role, &c, 1);
    mc_conf_free(&c);
    mc_conf_init(&c);
    mc_conf_set(&c, "peer", "s:7000");
    *cli = mc_sim_node_add(s, "c", &sim_test_echo_role, &c, 2);
    mc_conf_free(&c);
    mc_sim_at_start(s, *srv, 0);
    mc_sim_at_start(s, *cli, 10 * MS);
}

static echo_node_t *inst(mc_sim_t *s, int id) { return mc_sim_node_instance(s, id); }

/* ---- ordering ---- */

static uint64_t seen[16];
static int nseen;
static void rec(mc_sim_t *s, void *arg)
{
    (void)s;
    seen[nseen++] = (uint64_t)(uintptr_t)arg;
}

START_TEST(test_order)
{
    mc_sim_t *s = mk(1, 0);
    nseen = 0;
    mc_sim_at_call(s, 30, rec, (void *)3);
    mc_sim_at_call(s, 10, rec, (void *)1);
    mc_sim_at_call(s, 20, rec, (void *)2);
    mc_sim_at_call(s, 20, rec, (void *)22); /* same time: FIFO */
    mc_sim_at_call(s, 100, rec, (void *)9);
    ck_assert_int_eq(mc_sim_run(s, 50), MC_OK);
    ck_assert_int_eq(nseen, 4);
    ck_assert_uint_eq(seen[0], 1);
    ck_assert_uint_eq(seen[1], 2);
    ck_assert_uint_eq(seen[2], 22);
    ck_assert_uint_eq(seen[3], 3);
    ck_assert_uint_eq(mc_sim_now(s), 50);
    mc_sim_run(s, 200);
    ck_assert_int_eq(nseen, 5);
    mc_sim_destroy(s);
}
END_TEST

/* ---- timers ---- */

static echo_node_t *tnode;
static void tfire(void *arg)
{
    tnode->order[tnode->norder++] = (uint64_t)(uintptr_t)arg;
}

static mc_timer_t th[4];
static void arm(mc_sim_t *s, void *arg)
{
    mc_env_t *env = arg;
    tnode = env->node;
    th[0] = mc_env_timer(env, 5 * MS, tfire, (void *)1);
    th[1] = mc_env_timer(env, 3 * MS, tfire, (void *)2);
    th[2] = mc_env_timer(env, 4 * MS, tfire, (void *)3);
    th[3] = mc_env_timer(env, 0, tfire, (void *)4);
    mc_env_timer_cancel(env, &th[2]);
    ck_assert_uint_eq(th[2], 0);
    (void)s;
}

START_TEST(test_timers)
{
    mc_sim_t *s = mk(1, 0);
    int id = mc_sim_node_add(s, "t", &sim_test_echo_role, NULL, 1);
    mc_sim_at_start(s, id, 0);
    mc_sim_at_call(s, 1 * MS, arm, mc_sim_node_env(s, id));
    mc_sim_run(s, SEC);
    echo_node_t *e = inst(s, id);
    ck_assert_int_eq(e->norder, 3);
    ck_assert_uint_eq(e->order[0], 4);
    ck_assert_uint_eq(e->order[1], 2);
    ck_assert_uint_eq(e->order[2], 1);
    /* Cancelling a fired handle is a no-op, even once the slot is reused. */
    mc_env_t *env = mc_sim_node_env(s, id);
    mc_timer_t again = mc_env_timer(env, 1 * MS, tfire, (void *)5);
    env->ops->timer_cancel(env, th[0]);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(e->norder, 4);
    ck_assert_uint_eq(e->order[3], 5);
    (void)again;
    mc_sim_destroy(s);
}
END_TEST

/* ---- connections ---- */

START_TEST(test_echo_roundtrip)
{
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    ck_assert_int_eq(inst(s, srv)->accepts, 1);
    ck_assert_int_eq(inst(s, cli)->ups, 1);
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    ck_assert_int_eq(inst(s, cli)->msgs, 1);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_refused)
{
    mc_sim_t *s = mk(7, 0);
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "peer", "nobody:7000");
    int id = mc_sim_node_add(s, "c", &sim_test_echo_role, &c, 1);
    mc_conf_free(&c);
    mc_sim_at_start(s, id, 0);
    mc_sim_run(s, SEC);
    ck_assert_int_eq(inst(s, id)->ups, 0);
    ck_assert_int_eq(inst(s, id)->downs, 1);
    ck_assert_int_eq(inst(s, id)->last_down, MC_RPC_FAIL);
    mc_sim_destroy(s);
}
END_TEST

static mc_scn_fault_t fault_part, fault_heal, fault_crash, fault_pause, fault_resume;

static void init_faults(void)
{
    static char *a[] = {"c"};
    memset(&fault_part, 0, sizeof fault_part);
    fault_part.kind = MC_FAULT_PARTITION;
    fault_part.nodes = a;
    fault_part.nnodes = 1;
    memset(&fault_heal, 0, sizeof fault_heal);
    fault_heal.kind = MC_FAULT_HEAL;
    memset(&fault_crash, 0, sizeof fault_crash);
    fault_crash.kind = MC_FAULT_CRASH;
    fault_crash.node = "s";
    memset(&fault_pause, 0, sizeof fault_pause);
    fault_pause.kind = MC_FAULT_PAUSE;
    fault_pause.node = "s";
    memset(&fault_resume, 0, sizeof fault_resume);
    fault_resume.kind = MC_FAULT_RESUME;
    fault_resume.node = "s";
}

static mc_scn_cmd_t send_cmd = {.node = "c", .cmd = "send"};

START_TEST(test_partition_drops)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    mc_sim_fault_apply(s, &fault_part);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 2 * SEC);
    /* dropped silently: no message, the connection stays up */
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    ck_assert_int_eq(inst(s, cli)->downs, 0);
    ck_assert_int_eq(inst(s, srv)->downs, 0);
    mc_sim_fault_apply(s, &fault_heal);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_int_eq(inst(s, cli)->msgs, 2);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_crash_conn_down)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_sim_fault_apply(s, &fault_crash);
    ck_assert(!mc_sim_node_up(s, srv));
    ck_assert_int_eq(inst(s, cli)->downs, 0); /* not synchronous */
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    ck_assert_int_eq(inst(s, cli)->last_down, MC_RPC_FAIL);
    /* sending on the dead conn fails */
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 3 * SEC);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_pause_defers)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_sim_fault_apply(s, &fault_pause);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 5 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    mc_sim_fault_apply(s, &fault_resume);
    mc_sim_run(s, 6 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_int_eq(inst(s, cli)->msgs, 2);
    mc_sim_destroy(s);
}
END_TEST


START_TEST(test_pause_accept)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli); /* c boots at 10 ms */
    mc_sim_run(s, 1 * MS);
    mc_sim_fault_apply(s, &fault_pause);
    mc_sim_run(s, SEC);
    /* the stalled server's kernel completed the handshake */
    ck_assert_int_eq(inst(s, cli)->ups, 1);
    ck_assert_int_eq(inst(s, srv)->accepts, 0);
    ck_assert_int_eq(inst(s, srv)->msgs, 0);
    mc_sim_fault_apply(s, &fault_resume);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, srv)->accepts, 1);
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    ck_assert_int_eq(inst(s, cli)->msgs, 1);
    mc_sim_destroy(s);
}
END_TEST

/* ---- transfers ---- */

START_TEST(test_xfer)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *es = mc_sim_node_env(s, srv), *ec = mc_sim_node_env(s, cli);
    uint8_t *rbuf = mc_calloc(1, 4096), *lbuf = mc_malloc(4096);
    for (int i = 0; i < 4096; i++)
        lbuf[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(es->ops->mem_register(es, rbuf, 4096), MC_OK);
    ck_assert_int_eq(ec->ops->mem_register(ec, lbuf, 4096), MC_OK);

    mc_xfer_op_t op = {.opcode = MC_XFER_WRITE, .local = lbuf + 100, .peer = "s:7000",
                       .remote_addr = (uint64_t)(uintptr_t)(rbuf + 200), .len = 1000, .tag = 42};
    ck_assert_int_eq(ec->ops->xfer_post(ec, &op, 1), MC_OK);
    ck_assert_int_eq(inst(s, cli)->xfers, 0); /* never synchronous */
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 1);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_OK);
    ck_assert_uint_eq(inst(s, cli)->last_xfer_tag, 42);
    ck_assert(memcmp(rbuf + 200, lbuf + 100, 1000) == 0);
    ck_assert_uint_eq(rbuf[199], 0);
    ck_assert_uint_eq(rbuf[1200], 0);

    /* READ back into another part of the local buffer */
    op.opcode = MC_XFER_READ;
    op.local = lbuf + 2000;
    op.tag = 43;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_OK);
    ck_assert(memcmp(lbuf + 2000, lbuf + 100, 1000) == 0);

    /* remote range past the region */
    op.remote_addr = (uint64_t)(uintptr_t)(rbuf + 4000);
    op.tag = 44;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 4 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 3);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_INVALID_PARAMS);

    /* local range not registered */
    op.remote_addr = (uint64_t)(uintptr_t)rbuf;
    op.local = lbuf + 4000;
    ck_assert_int_eq(ec->ops->xfer_post(ec, &op, 1), MC_INVALID_PARAMS);
    mc_sim_run(s, 5 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 4);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_INVALID_PARAMS);

    /* peer crashed: fails after the transfer timeout, never hangs */
    mc_sim_fault_apply(s, &fault_crash);
    op.local = lbuf;
    op.tag = 45;
    uint64_t t0 = mc_sim_now(s);
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, t0 + SEC - 1);
    ck_assert_int_eq(inst(s, cli)->xfers, 4);
    mc_sim_run(s, t0 + SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 5);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_TRANSFER_FAIL);
    mc_sim_destroy(s);
    mc_free(rbuf);
    mc_free(lbuf);
}
END_TEST


START_TEST(test_close_fin)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    ec->ops->conn_close(ec, inst(s, cli)->out);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_OK);
    ck_assert_int_eq(inst(s, cli)->downs, 0); /* no upcall for a local close */
    static const uint8_t x[] = "x";
    ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, x, 1), MC_RPC_FAIL);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_backpressure)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    size_t big = 1u << 20;
    uint8_t *buf = mc_calloc(1, big);
    int ok = 0;
    mc_status_t st = MC_OK;
    while ((st = ec->ops->conn_send(ec, inst(s, cli)->out, buf, big)) == MC_OK)
        ok++;
    ck_assert_int_eq(st, MC_AGAIN);
    ck_assert_int_eq(ok, 64);
    mc_sim_run(s, 2 * SEC);
    /* drained: sending works again */
    ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, buf, 16), MC_OK);
    mc_free(buf);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_nic_down)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli); /* c has 2 NICs, s has 1 */
    mc_sim_run(s, SEC);
    mc_scn_fault_t f = {.kind = MC_FAULT_NIC_DOWN, .node = "c", .nic = 0};
    mc_sim_fault_apply(s, &f); /* c fails over to nic 1 */
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    f.node = "s"; /* s has no other NIC: frames vanish, conns stay up */
    mc_sim_fault_apply(s, &f);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_int_eq(inst(s, cli)->downs, 0);
    f.kind = MC_FAULT_NIC_UP;
    mc_sim_fault_apply(s, &f);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 4 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 3);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_clock)
{
    mc_sim_t *s = mk(3, 0);
    int id = mc_sim_node_add(s, "t", &sim_test_echo_role, NULL, 1);
    mc_sim_at_start(s, id, 0);
    mc_sim_run(s, SEC);
    mc_env_t *env = mc_sim_node_env(s, id);
    uint64_t a = mc_env_now(env);
    mc_sim_run(s, 2 * SEC);
    ck_assert_uint_eq(mc_env_now(env) - a, SEC);
    mc_scn_fault_t f = {.kind = MC_FAULT_CLOCK_DRIFT, .node = "t", .rate = 2.0};
    mc_sim_fault_apply(s, &f);
    a = mc_env_now(env);
    mc_sim_run(s, 3 * SEC);
    ck_assert_uint_eq(mc_env_now(env) - a, 2 * SEC);
    /* a 2 s local timer fires after 1 s of true time */
    tnode = env->node;
    tnode->norder = 0;
    mc_env_timer(env, 2 * SEC, tfire, (void *)7);
    mc_sim_run(s, 4 * SEC - 1);
    ck_assert_int_eq(tnode->norder, 0);
    mc_sim_run(s, 4 * SEC);
    ck_assert_int_eq(tnode->norder, 1);
    f.kind = MC_FAULT_CLOCK_STEP;
    f.step_ns = 10 * SEC;
    a = mc_env_now(env);
    mc_sim_fault_apply(s, &f);
    ck_assert_uint_eq(mc_env_now(env) - a, 10 * SEC);
    f.kind = MC_FAULT_CLOCK_DRIFT;
    f.rate = 0.3;
    mc_sim_fault_apply(s, &f);
    uint64_t prev = mc_env_now(env);
    for (int i = 1; i <= 100; i++) {
        mc_sim_run(s, 4 * SEC + (uint64_t)i * 7);
        uint64_t now = mc_env_now(env);
        ck_assert_uint_ge(now, prev);
        prev = now;
    }
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_restart)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    void *old = mc_sim_node_instance(s, srv);
    mc_scn_fault_t f = {.kind = MC_FAULT_RESTART, .node = "s"};
    mc_sim_fault_apply(s, &f);
    ck_assert(mc_sim_node_up(s, srv));
    ck_assert_int_eq(inst(s, srv)->accepts, 0); /* fresh state */
    (void)old;
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    /* the fresh instance accepts new connections */
    mc_env_t *ec = mc_sim_node_env(s, cli);
    ck_assert_int_eq(ec->ops->conn_open(ec, "s:7000", &inst(s, cli)->out), MC_OK);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, srv)->accepts, 1);
    ck_assert_int_eq(inst(s, cli)->ups, 2);
    ck_assert_int_eq(inst(s, cli)->msgs, 2);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_dup)
{
    mc_sim_cfg_t cfg;
    mc_sim_cfg_init(&cfg);
    cfg.seed = 5;
    cfg.net.latency_ns = MS;
    cfg.net.dup = 1.0;
    mc_sim_t *s = mc_sim_create(&cfg);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    /* hello arrives twice at s; each echo twice at c */
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_int_eq(inst(s, cli)->msgs, 4);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_xfer_blackhole)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *es = mc_sim_node_env(s, srv), *ec = mc_sim_node_env(s, cli);
    uint8_t rb[64] = {0}, lb[64] = {1};
    es->ops->mem_register(es, rb, sizeof rb);
    ec->ops->mem_register(ec, lb, sizeof lb);
    mc_sim_fault_xfer_blackhole(s, cli, true);
    mc_xfer_op_t op = {.opcode = MC_XFER_WRITE, .local = lb, .peer = "s:7000",
                       .remote_addr = (uint64_t)(uintptr_t)rb, .len = 64, .tag = 1};
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 100 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 0);
    ck_assert_uint_eq(rb[0], 0);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_xfer_blackhole_fault)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *es = mc_sim_node_env(s, srv), *ec = mc_sim_node_env(s, cli);
    uint8_t rb[64] = {0}, lb[64] = {1};
    es->ops->mem_register(es, rb, sizeof rb);
    ec->ops->mem_register(ec, lb, sizeof lb);
    mc_scn_fault_t on = {.kind = MC_FAULT_XFER_BLACKHOLE, .node = "c"};
    mc_scn_fault_t off = {.kind = MC_FAULT_XFER_BLACKHOLE_OFF, .node = "c"};
    mc_sim_fault_apply(s, &on);
    mc_xfer_op_t op = {.opcode = MC_XFER_WRITE, .local = lb, .peer = "s:7000",
                       .remote_addr = (uint64_t)(uintptr_t)rb, .len = 64, .tag = 1};
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 10 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 0); /* swallowed, bytes included */
    ck_assert_uint_eq(rb[0], 0);
    mc_sim_fault_apply(s, &off);
    op.tag = 2;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 20 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 1);
    ck_assert_int_eq(inst(s, cli)->last_xfer_tag, 2);
    ck_assert_uint_eq(rb[0], 1);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_role_check)
{
    mc_sim_t *s = mk(3, 0);
    int srv, cli;
    char err[128] = "";
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    ck_assert_uint_eq(mc_sim_check_roles(s, err, sizeof err), 0);
    inst(s, cli)->broken = true;
    ck_assert_uint_eq(mc_sim_check_roles(s, err, sizeof err), 1);
    ck_assert_str_eq(err, "c: broken on purpose");
    inst(s, srv)->broken = true;
    ck_assert_uint_eq(mc_sim_check_roles(s, err, sizeof err), 2);
    ck_assert_str_eq(err, "s: broken on purpose"); /* the first failing node */
    mc_scn_fault_t crash = {.kind = MC_FAULT_CRASH, .node = "s"};
    mc_sim_fault_apply(s, &crash);
    ck_assert_uint_eq(mc_sim_check_roles(s, err, sizeof err), 1); /* down nodes are not checked */
    mc_sim_destroy(s);
}
END_TEST

/* ---- determinism ---- */

static uint64_t run_hash(uint64_t seed)
{
    init_faults();
    mc_sim_t *s = mk(seed, 500 * 1000);
    int srv, cli;
    pair(s, &srv, &cli);
    static mc_scn_cmd_t many = {.at_ns = SEC, .node = "c", .cmd = "send", .repeat = 50, .every_ns = 3 * MS};
    mc_sim_at_cmd(s, &many);
    mc_sim_run(s, 3 * SEC);
    uint64_t h = mc_sim_trace_hash(s);
    ck_assert_int_eq(inst(s, srv)->msgs, 51);
    mc_sim_destroy(s);
    return h;
}

START_TEST(test_determinism)
{
    uint64_t a = run_hash(1), b = run_hash(1), c = run_hash(2);
    ck_assert_uint_eq(a, b);
    ck_assert_uint_ne(a, c);
}
END_TEST

START_TEST(test_boot_failure)
{
    mc_sim_t *s = mk(1, 0);
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "fail", "1");
    int id = mc_sim_node_add(s, "bad", &sim_test_echo_role, &c, 1);
    mc_conf_free(&c);
    ck_assert_int_eq(mc_sim_node_add(s, "bad", &sim_test_echo_role, NULL, 1), -1);
    mc_sim_at_start(s, id, 0);
    ck_assert_int_eq(mc_sim_run(s, SEC), MC_INVALID_PARAMS);
    ck_assert(strstr(mc_sim_error(s), "bad") != NULL);
    mc_sim_destroy(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("sim_engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_timers);
    tcase_add_test(tc, test_echo_roundtrip);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_partition_drops);
    tcase_add_test(tc, test_crash_conn_down);
    tcase_add_test(tc, test_pause_defers);
    tcase_add_test(tc, test_pause_accept);
    tcase_add_test(tc, test_xfer);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_boot_failure);
    tcase_add_test(tc, test_close_fin);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_nic_down);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_restart);
    tcase_add_test(tc, test_dup);
    tcase_add_test(tc, test_xfer_blackhole);
    tcase_add_test(tc, test_xfer_blackhole_fault);
    tcase_add_test(tc, test_role_check);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
