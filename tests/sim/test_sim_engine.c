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

/* A frame sent into a cut is held and retransmitted (RTO 202 ms here,
 * doubling: 1.202, 1.606, 2.414 s); it arrives at the first retransmission
 * after the heal, and the connection stays up. */
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
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    ck_assert_int_eq(inst(s, cli)->downs, 0);
    ck_assert_int_eq(inst(s, srv)->downs, 0);
    mc_sim_fault_apply(s, &fault_heal);
    mc_sim_run(s, 2410 * MS);
    ck_assert_int_eq(inst(s, srv)->msgs, 1); /* healed, but no retransmission yet */
    mc_sim_run(s, 2420 * MS);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 3);
    ck_assert_int_eq(inst(s, cli)->msgs, 3);
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
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
    uint32_t rkey = 0, lkey = 0;
    ck_assert_int_eq(es->ops->mem_register(es, rbuf, 4096, &rkey), MC_OK);
    ck_assert_int_eq(ec->ops->mem_register(ec, lbuf, 4096, &lkey), MC_OK);
    ck_assert_uint_ne(rkey, 0);
    ck_assert_uint_ne(rkey, lkey);

    mc_xfer_op_t op = {.opcode = MC_XFER_WRITE, .local = lbuf + 100, .peer = "s:7000",
                       .remote_addr = (uint64_t)(uintptr_t)(rbuf + 200), .remote_key = rkey, .len = 1000, .tag = 42};
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

/* Registration keys (rkeys): a re-registration, and a restarted process
 * that registers the very same memory, issue new keys; an op carrying the
 * old key fails with MC_TRANSFER_FAIL and moves no byte. */
START_TEST(test_xfer_stale_key)
{
    init_faults();
    mc_sim_t *s = mk(7, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *es = mc_sim_node_env(s, srv), *ec = mc_sim_node_env(s, cli);
    uint8_t *rbuf = mc_calloc(1, 4096), *lbuf = mc_malloc(4096);
    memset(lbuf, 0xab, 4096);
    uint32_t k1 = 0, k2 = 0, k3 = 0, lk = 0;
    ck_assert_int_eq(es->ops->mem_register(es, rbuf, 4096, &k1), MC_OK);
    ck_assert_int_eq(ec->ops->mem_register(ec, lbuf, 4096, NULL), MC_OK); /* key is optional */
    ck_assert_int_eq(ec->ops->mem_unregister(ec, lbuf), MC_OK);
    ck_assert_int_eq(ec->ops->mem_register(ec, lbuf, 4096, &lk), MC_OK);
    ck_assert_uint_ne(k1, 0);
    ck_assert_int_eq(es->ops->mem_unregister(es, rbuf), MC_OK);
    ck_assert_int_eq(es->ops->mem_register(es, rbuf, 4096, &k2), MC_OK);
    ck_assert_uint_ne(k2, 0);
    ck_assert_uint_ne(k2, k1);

    mc_xfer_op_t op = {.opcode = MC_XFER_WRITE, .local = lbuf, .peer = "s:7000",
                       .remote_addr = (uint64_t)(uintptr_t)rbuf, .remote_key = k1, .len = 64, .tag = 1};
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 1);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_TRANSFER_FAIL);
    ck_assert_uint_eq(rbuf[0], 0);
    ck_assert_uint_eq(rbuf[63], 0);
    op.remote_key = 0; /* no key is no exception */
    op.tag = 2;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_TRANSFER_FAIL);
    ck_assert_uint_eq(rbuf[0], 0);
    op.remote_key = k2;
    op.tag = 3;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 4 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 3);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_OK);
    ck_assert_uint_eq(rbuf[0], 0xab);
    ck_assert_uint_eq(rbuf[63], 0xab);

    /* the server crashes and restarts: the new process registers the same
     * address (all nodes share this address space), with a new key */
    mc_sim_fault_apply(s, &fault_crash);
    mc_scn_fault_t up = {.kind = MC_FAULT_RESTART, .node = "s"};
    mc_sim_fault_apply(s, &up);
    ck_assert(mc_sim_node_up(s, srv));
    es = mc_sim_node_env(s, srv);
    memset(rbuf, 0, 4096);
    ck_assert_int_eq(es->ops->mem_register(es, rbuf, 4096, &k3), MC_OK);
    ck_assert_uint_ne(k3, 0);
    ck_assert_uint_ne(k3, k2);
    ck_assert_uint_ne(k3, k1);
    op.remote_key = k2; /* the dead process's descriptor */
    op.tag = 4;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 5 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 4);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_TRANSFER_FAIL);
    ck_assert_uint_eq(rbuf[0], 0);
    op.remote_key = k3;
    op.tag = 5;
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 6 * SEC);
    ck_assert_int_eq(inst(s, cli)->last_xfer, MC_OK);
    ck_assert_uint_eq(rbuf[0], 0xab);
    (void)lk;
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
    f.node = "s"; /* s has no other NIC: frames wait for it, conns stay up */
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
    /* the held frame at the retransmission (3.414 s), the new one behind it */
    ck_assert_int_eq(inst(s, srv)->msgs, 4);
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
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

static mc_sim_t *mk_net(uint64_t seed, double loss, double dup, double reorder)
{
    mc_sim_cfg_t cfg;
    mc_sim_cfg_init(&cfg);
    cfg.seed = seed;
    cfg.net.latency_ns = MS;
    cfg.net.jitter_ns = 2 * MS;
    cfg.net.loss = loss;
    cfg.net.dup = dup;
    cfg.net.reorder = reorder;
    return mc_sim_create(&cfg);
}

/* c sends frames 0..n-1 (first byte = index) on its connection to s. */
static void send_numbered(mc_sim_t *s, int cli, int n)
{
    mc_env_t *ec = mc_sim_node_env(s, cli);
    for (int i = 0; i < n; i++) {
        uint8_t f[8] = {(uint8_t)i};
        ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, f, sizeof f), MC_OK);
    }
}

/* hello, then 0..n-1, exactly once each and in order */
static void assert_stream(const echo_node_t *e, int n)
{
    ck_assert_int_eq(e->nfirsts, n + 1);
    ck_assert_uint_eq(e->firsts[0], 'h');
    for (int i = 0; i < n; i++)
        ck_assert_uint_eq(e->firsts[i + 1], (uint8_t)i);
}

/* c connects to s (echo) and sends frames 0..n-1; by `until` both
 * directions carried hello + 0..n-1 exactly once, in order, and no side saw
 * the connection go down. Returns how long after the sends the last echo
 * came back. Destroys s. */
static uint64_t stream_intact(mc_sim_t *s, int n, uint64_t until)
{
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    uint64_t t0 = mc_env_now(mc_sim_node_env(s, cli));
    send_numbered(s, cli, n);
    mc_sim_run(s, until);
    assert_stream(inst(s, srv), n);
    assert_stream(inst(s, cli), n); /* the echoes */
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
    uint64_t took = inst(s, cli)->last_msg_ns - t0;
    mc_sim_destroy(s);
    return took;
}

/* A TCP-shaped connection drops duplicates and reassembles reordered
 * segments: every frame arrives once, in order, both ways. */
START_TEST(test_tcp_dup_reorder)
{
    stream_intact(mk_net(5, 0, 1.0, 1.0), 40, 3 * SEC);
}
END_TEST

/* Loss on a connection is retransmission delay (>= 200 ms per loss), never
 * a hole in the stream; without loss the last echo would be back within
 * 2 * (1 + 2) ms. */
START_TEST(test_tcp_loss_delays)
{
    ck_assert_uint_gt(stream_intact(mk_net(7, 0.3, 0, 0), 20, 60 * SEC), 200 * MS);
    ck_assert_uint_lt(stream_intact(mk_net(7, 0, 0, 0), 20, 60 * SEC), 10 * MS);
}
END_TEST

/* Loss that persists past the retransmission bound resets the connection:
 * both sides see RPC_FAIL, nothing is delivered. */
START_TEST(test_tcp_loss_resets)
{
    mc_sim_t *s = mk_net(9, 1.0, 0, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, 10 * SEC);
    ck_assert_int_eq(inst(s, srv)->accepts, 1); /* handshakes are not lost */
    ck_assert_int_eq(inst(s, cli)->ups, 1);
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
    mc_sim_run(s, 20 * SEC); /* 63 RTOs of >= 200 ms after the hello */
    ck_assert_int_eq(inst(s, srv)->msgs, 0);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    ck_assert_int_eq(inst(s, cli)->last_down, MC_RPC_FAIL);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_RPC_FAIL);
    mc_sim_destroy(s);
}
END_TEST

/* s and c paired for a second; rb registered at s, lb at c; *op a 64-byte
 * WRITE of lb onto rb (tag 1). */
static mc_sim_t *xfer_pair(int *cli, uint8_t rb[64], uint8_t lb[64], mc_xfer_op_t *op)
{
    mc_sim_t *s = mk(3, 0);
    int srv;
    pair(s, &srv, cli);
    mc_sim_run(s, SEC);
    mc_env_t *es = mc_sim_node_env(s, srv), *ec = mc_sim_node_env(s, *cli);
    uint32_t rk = 0;
    es->ops->mem_register(es, rb, 64, &rk);
    ec->ops->mem_register(ec, lb, 64, NULL);
    *op = (mc_xfer_op_t){.opcode = MC_XFER_WRITE, .local = lb, .peer = "s:7000",
                         .remote_addr = (uint64_t)(uintptr_t)rb, .remote_key = rk, .len = 64, .tag = 1};
    return s;
}

START_TEST(test_xfer_blackhole)
{
    int cli;
    uint8_t rb[64] = {0}, lb[64] = {1};
    mc_xfer_op_t op;
    mc_sim_t *s = xfer_pair(&cli, rb, lb, &op);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    mc_sim_fault_xfer_blackhole(s, cli, true);
    ec->ops->xfer_post(ec, &op, 1);
    mc_sim_run(s, 100 * SEC);
    ck_assert_int_eq(inst(s, cli)->xfers, 0);
    ck_assert_uint_eq(rb[0], 0);
    mc_sim_destroy(s);
}
END_TEST

START_TEST(test_xfer_blackhole_fault)
{
    int cli;
    uint8_t rb[64] = {0}, lb[64] = {1};
    mc_xfer_op_t op;
    mc_sim_t *s = xfer_pair(&cli, rb, lb, &op);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    mc_scn_fault_t on = {.kind = MC_FAULT_XFER_BLACKHOLE, .node = "c"};
    mc_scn_fault_t off = {.kind = MC_FAULT_XFER_BLACKHOLE_OFF, .node = "c"};
    mc_sim_fault_apply(s, &on);
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

/* ---- cuts on connections behave like TCP (sim_net.c rtx_fire) ---- */

static char *cut_c[] = {"c"}, *cut_s[] = {"s"};

/* a -> b cut (and b -> a unless oneway). */
static void cut(mc_sim_t *s, char **a, char **b, bool oneway)
{
    mc_scn_fault_t f = {.kind = MC_FAULT_PARTITION, .nodes = a, .nnodes = 1, .peers = b,
                        .npeers = 1, .oneway = oneway};
    mc_sim_fault_apply(s, &f);
}

static void heal(mc_sim_t *s)
{
    mc_scn_fault_t f = {.kind = MC_FAULT_HEAL};
    mc_sim_fault_apply(s, &f);
}

/* Frames sent into a one-way cut, and frames sent after the heal but before
 * the retransmission, arrive once each, in order, at the retransmission. */
START_TEST(test_cut_keeps_order)
{
    mc_sim_t *s = mk(11, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    cut(s, cut_c, cut_s, true);
    for (int i = 0; i < 5; i++) {
        uint8_t f[8] = {(uint8_t)i};
        ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, f, sizeof f), MC_OK);
    }
    mc_sim_run(s, 1500 * MS);
    heal(s);
    for (int i = 5; i < 10; i++) {
        uint8_t f[8] = {(uint8_t)i};
        ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, f, sizeof f), MC_OK);
    }
    mc_sim_run(s, 1600 * MS); /* 5..9 arrived at 1.501 s: held behind 0..4 */
    ck_assert_int_eq(inst(s, srv)->nfirsts, 1);
    mc_sim_run(s, 3 * SEC); /* retransmissions at 1.202 (cut), 1.606 s */
    assert_stream(inst(s, srv), 10);
    assert_stream(inst(s, cli), 10);
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
    mc_sim_destroy(s);
}
END_TEST

/* A cut that outlasts the retransmission bound (6 lost transmissions,
 * 63 RTOs = 12.726 s after the send) resets the connection on both sides;
 * the held frame is never delivered, not even after the heal. */
START_TEST(test_cut_resets)
{
    mc_sim_t *s = mk(12, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    cut(s, cut_c, cut_s, false);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 13700 * MS);
    ck_assert_int_eq(inst(s, cli)->downs + inst(s, srv)->downs, 0);
    mc_sim_run(s, 13800 * MS);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    ck_assert_int_eq(inst(s, cli)->last_down, MC_RPC_FAIL);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_RPC_FAIL);
    heal(s);
    mc_sim_run(s, 20 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 1); /* the hello only */
    mc_env_t *ec = mc_sim_node_env(s, cli);
    ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, (const uint8_t *)"x", 1), MC_RPC_FAIL);
    mc_sim_destroy(s);
}
END_TEST

/* Only the way back is cut: c's frame reaches s, but its ACK never comes
 * back, so c's kernel retransmits until it gives up; s's echo is lost the
 * same way. Both sides end reset. */
START_TEST(test_cut_ack_lost_resets)
{
    mc_sim_t *s = mk(13, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    cut(s, cut_s, cut_c, true);
    send_cmd.at_ns = mc_sim_now(s);
    mc_sim_at_cmd(s, &send_cmd);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_int_eq(inst(s, cli)->msgs, 1);
    mc_sim_run(s, 20 * SEC);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    ck_assert_int_eq(inst(s, cli)->last_down, MC_RPC_FAIL);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_RPC_FAIL);
    ck_assert_int_eq(inst(s, srv)->msgs, 2); /* delivered once, never twice */
    ck_assert_int_eq(inst(s, cli)->msgs, 1);
    mc_sim_destroy(s);
}
END_TEST

/* A close during a cut: the FIN is retransmitted behind the data and
 * reaches s, after that data, once the cut heals. */
START_TEST(test_cut_fin_waits)
{
    mc_sim_t *s = mk(14, 0);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    cut(s, cut_c, cut_s, false);
    uint8_t f[8] = {7};
    ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, f, sizeof f), MC_OK);
    ec->ops->conn_close(ec, inst(s, cli)->out);
    mc_sim_run(s, 2 * SEC);
    ck_assert_int_eq(inst(s, srv)->downs, 0);
    heal(s);
    mc_sim_run(s, 3 * SEC);
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_uint_eq(inst(s, srv)->firsts[1], 7);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_OK);
    ck_assert_int_eq(inst(s, cli)->downs, 0);
    mc_sim_destroy(s);
}
END_TEST

/* A frame in flight when the cut starts is lost on arrival; the FIN behind
 * it arrives after the heal but waits for the frame's retransmission.
 * At 1 Mbit/s the 1000-byte frame arrives at 1.009 s, the FIN 0.5 ms later. */
START_TEST(test_cut_in_flight)
{
    mc_sim_cfg_t cfg;
    mc_sim_cfg_init(&cfg);
    cfg.seed = 15;
    cfg.net.latency_ns = MS;
    cfg.net.bandwidth_bps = 1000000;
    mc_sim_t *s = mc_sim_create(&cfg);
    int srv, cli;
    pair(s, &srv, &cli);
    mc_sim_run(s, SEC);
    mc_env_t *ec = mc_sim_node_env(s, cli);
    uint8_t f[1000] = {9};
    ck_assert_int_eq(ec->ops->conn_send(ec, inst(s, cli)->out, f, sizeof f), MC_OK);
    ec->ops->conn_close(ec, inst(s, cli)->out);
    cut(s, cut_c, cut_s, true);
    mc_sim_run(s, 1009200 * 1000ULL);
    heal(s);
    mc_sim_run(s, 1100 * MS);
    ck_assert_int_eq(inst(s, srv)->msgs, 1);
    ck_assert_int_eq(inst(s, srv)->downs, 0);
    mc_sim_run(s, 2 * SEC); /* retransmitted at 1.211 s */
    ck_assert_int_eq(inst(s, srv)->msgs, 2);
    ck_assert_uint_eq(inst(s, srv)->firsts[1], 9);
    ck_assert_int_eq(inst(s, srv)->downs, 1);
    ck_assert_int_eq(inst(s, srv)->last_down, MC_OK);
    mc_sim_destroy(s);
}
END_TEST

/* A new connection across a cut fails after conn_timeout (1 s). */
START_TEST(test_cut_connect_times_out)
{
    mc_sim_t *s = mk(16, 0);
    int srv, cli;
    pair(s, &srv, &cli); /* c connects at 10 ms */
    cut(s, cut_c, cut_s, true);
    mc_sim_run(s, 1005 * MS);
    ck_assert_int_eq(inst(s, cli)->downs, 0);
    mc_sim_run(s, 1020 * MS);
    ck_assert_int_eq(inst(s, cli)->downs, 1);
    ck_assert_int_eq(inst(s, cli)->last_down, MC_RPC_FAIL);
    ck_assert_int_eq(inst(s, cli)->ups, 0);
    ck_assert_int_eq(inst(s, srv)->accepts, 0);
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
    tcase_add_test(tc, test_xfer_stale_key);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_boot_failure);
    tcase_add_test(tc, test_close_fin);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_nic_down);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_restart);
    tcase_add_test(tc, test_tcp_dup_reorder);
    tcase_add_test(tc, test_tcp_loss_delays);
    tcase_add_test(tc, test_tcp_loss_resets);
    tcase_add_test(tc, test_xfer_blackhole);
    tcase_add_test(tc, test_xfer_blackhole_fault);
    tcase_add_test(tc, test_role_check);
    tcase_add_test(tc, test_cut_keeps_order);
    tcase_add_test(tc, test_cut_resets);
    tcase_add_test(tc, test_cut_ack_lost_resets);
    tcase_add_test(tc, test_cut_fin_waits);
    tcase_add_test(tc, test_cut_in_flight);
    tcase_add_test(tc, test_cut_connect_times_out);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
