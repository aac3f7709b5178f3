/* hw/ unit tests: the event loop (timers, cross-thread posts), framed TCP
 * through the hw env between two loops in one process (round trip, a
 * malformed header closes the connection, back-pressure, refused
 * connects, local and remote close), the data-plane stub, log/trace
 * formats and the node command-line codec. A tiny "echo" role drives
 * the env through the same interface core roles use. */
#include <check.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mc_assert.h"
#include "base/mc_bytes.h"
#include "base/mc_mem.h"
#include "env/mc_role.h"
#include "mc_hw_env.h"
#include "mc_linebuf.h"
#include "mc_loop.h"
#include "mc_node_run.h"
#include "scenario/mc_scenario.h"
#include "wire/mc_msg_types.h"
#include "wire/mc_wire.h"

#define MS (1000000ULL)

/* ------------------------------------------------------------- timers --- */

typedef struct order_rec {
    int seq[16];
    int n;
    mc_loop_t *loop;
} order_rec_t;

typedef struct order_arg {
    order_rec_t *rec;
    int id;
} order_arg_t;

static void order_fire(void *arg)
{
    order_arg_t *a = arg;
    a->rec->seq[a->rec->n++] = a->id;
}

static void run_for(mc_loop_t *l, uint64_t ns)
{
    uint64_t end = mc_loop_clock_ns() + ns;
    while (mc_loop_clock_ns() < end)
        mc_loop_run_once(l, end - mc_loop_clock_ns());
}

START_TEST(test_timer_order_cancel)
{
    mc_loop_t *l = mc_loop_create();
    ck_assert_ptr_nonnull(l);
    order_rec_t rec = {.n = 0};
    order_arg_t a[6];
    for (int i = 0; i < 6; i++)
        a[i] = (order_arg_t){&rec, i};
    uint64_t now = mc_loop_clock_ns(); /* one base: slow runs (valgrind) keep the order */
    uint64_t t30 = mc_loop_timer_at(l, now + 30 * MS, order_fire, &a[0]);
    uint64_t t10 = mc_loop_timer_at(l, now + 10 * MS, order_fire, &a[1]);
    uint64_t t20 = mc_loop_timer_at(l, now + 20 * MS, order_fire, &a[2]);
    /* Same deadline: fire in arming order. */
    uint64_t s1 = mc_loop_timer_at(l, now + 5 * MS, order_fire, &a[3]);
    uint64_t s2 = mc_loop_timer_at(l, now + 5 * MS, order_fire, &a[4]);
    uint64_t dead = mc_loop_timer_at(l, now + 15 * MS, order_fire, &a[5]);
    ck_assert(t30 && t10 && t20 && s1 && s2 && dead);
    ck_assert(t30 != t10 && t10 != t20 && s1 != s2);
    mc_loop_timer_cancel(l, dead);
    mc_loop_timer_cancel(l, dead); /* twice: no-op */
    mc_loop_timer_cancel(l, 0);
    mc_loop_timer_cancel(l, 987654); /* unknown */
    ck_assert_uint_eq(mc_loop_timer_count(l), 5);
    run_for(l, 60 * MS);
    ck_assert_int_eq(rec.n, 5);
    int want[] = {3, 4, 1, 2, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rec.seq[i], want[i]);
    mc_loop_timer_cancel(l, t10); /* already fired: no-op */
    ck_assert_uint_eq(mc_loop_timer_count(l), 0);
    /* Ids are never reused. */
    uint64_t t_new = mc_loop_timer_arm(l, 0, order_fire, &a[0]);
    ck_assert(t_new > dead && t_new > t30);
    mc_loop_destroy(l); /* frees the pending timer without firing */
    ck_assert_int_eq(rec.n, 5);
}
END_TEST

typedef struct rearm_ctx {
    mc_loop_t *l;
    int fired;
} rearm_ctx_t;

static void rearm_fire(void *arg)
{
    rearm_ctx_t *c = arg;
    c->fired++;
    mc_loop_timer_arm(c->l, 0, rearm_fire, c); /* must not starve the loop */
}

START_TEST(test_timer_zero_rearm_does_not_spin)
{
    mc_loop_t *l = mc_loop_create();
    rearm_ctx_t c = {l, 0};
    mc_loop_timer_arm(l, 0, rearm_fire, &c);
    for (int i = 0; i < 5; i++)
        mc_loop_run_once(l, 0);
    ck_assert_int_ge(c.fired, 1);
    ck_assert_int_le(c.fired, 5);
    mc_loop_destroy(l);
}
END_TEST

/* -------------------------------------------------------- cross-thread --- */

#define POST_THREADS 4
#define POST_EACH 2000

typedef struct post_ctx {
    mc_loop_t *l;
    pthread_t loop_thread;
    atomic_int ran;
    int wrong_thread;
    int last_seq[POST_THREADS];
    int out_of_order;
} post_ctx_t;

typedef struct post_item {
    post_ctx_t *c;
    int thread;
    int seq;
} post_item_t;

static void post_run(void *arg)
{
    post_item_t *it = arg;
    post_ctx_t *c = it->c;
    if (!pthread_equal(pthread_self(), c->loop_thread))
        c->wrong_thread++;
    if (it->seq != c->last_seq[it->thread] + 1)
        c->out_of_order++;
    c->last_seq[it->thread] = it->seq;
    if (atomic_fetch_add(&c->ran, 1) + 1 == POST_THREADS * POST_EACH)
        mc_loop_stop(c->l);
    mc_free(it);
}

typedef struct poster {
    post_ctx_t *c;
    int id;
} poster_t;

static void *post_thread(void *arg)
{
    poster_t *p = arg;
    for (int i = 1; i <= POST_EACH; i++) {
        post_item_t *it = mc_malloc(sizeof *it);
        *it = (post_item_t){p->c, p->id, i};
        if (mc_loop_post(p->c->l, post_run, it) != 0)
            mc_free(it);
    }
    return NULL;
}

static void stop_loop(void *arg)
{
    mc_loop_stop(arg);
}

START_TEST(test_cross_thread_post)
{
    post_ctx_t c;
    memset(&c, 0, sizeof c);
    c.l = mc_loop_create();
    c.loop_thread = pthread_self();
    atomic_init(&c.ran, 0);
    pthread_t th[POST_THREADS];
    poster_t ps[POST_THREADS];
    for (int i = 0; i < POST_THREADS; i++) {
        ps[i] = (poster_t){&c, i};
        pthread_create(&th[i], NULL, post_thread, &ps[i]);
    }
    /* Safety net so a lost wake-up fails instead of hanging. */
    mc_loop_timer_arm(c.l, 20000 * MS, stop_loop, c.l);
    ck_assert_int_eq(mc_loop_run(c.l), 0);
    for (int i = 0; i < POST_THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&c.ran), POST_THREADS * POST_EACH);
    ck_assert_int_eq(c.wrong_thread, 0);
    ck_assert_int_eq(c.out_of_order, 0);
    mc_loop_destroy(c.l);
}
END_TEST

static void *stop_from_thread(void *arg)
{
    usleep(20000);
    mc_loop_stop(arg);
    return NULL;
}

START_TEST(test_stop_from_other_thread)
{
    mc_loop_t *l = mc_loop_create();
    pthread_t th;
    pthread_create(&th, NULL, stop_from_thread, l);
    ck_assert_int_eq(mc_loop_run(l), 0);
    pthread_join(th, NULL);
    ck_assert(mc_loop_stopped(l));
    mc_loop_destroy(l);
}
END_TEST

/* ------------------------------------------- a tiny role over the env --- */

typedef struct echo_node {
    mc_env_t *env;
    bool echo; /* server: send every frame back */
    int ups, accepts, downs;
    mc_status_t last_down;
    mc_conn_t accepted, down_conn;
    uint64_t msgs, bytes, next_req;
    int order_errors, in_upcall_errors;
    int xfer_done[8];
    mc_status_t xfer_status[8];
    int in_op; /* set while the test calls an op: upcalls must not nest */
} echo_node_t;

static void echo_up(void *node, mc_conn_t conn)
{
    echo_node_t *n = node;
    (void)conn;
    n->in_upcall_errors += n->in_op;
    n->ups++;
}

static void echo_accept(void *node, mc_conn_t conn, const char *peer)
{
    echo_node_t *n = node;
    ck_assert_ptr_nonnull(peer);
    n->in_upcall_errors += n->in_op;
    n->accepts++;
    n->accepted = conn;
}

static void echo_down(void *node, mc_conn_t conn, mc_status_t why)
{
    echo_node_t *n = node;
    n->in_upcall_errors += n->in_op;
    n->downs++;
    n->down_conn = conn;
    n->last_down = why;
}

static void echo_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    echo_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    n->in_upcall_errors += n->in_op;
    ck_assert_int_eq(mc_wire_open(frame, len, &hdr, &body, NULL), MC_OK);
    if (hdr.req_id != n->next_req)
        n->order_errors++;
    n->next_req = hdr.req_id + 1;
    /* Body: bytes (req_id + i) & 0xff. */
    for (uint32_t i = 0; i < hdr.body_len; i++)
        if (frame[MC_WIRE_HDR_LEN + i] != (uint8_t)(hdr.req_id + i)) {
            n->order_errors++;
            break;
        }
    n->msgs++;
    n->bytes += len;
    if (n->echo)
        ck_assert_int_eq(n->env->ops->conn_send(n->env, conn, frame, len), MC_OK);
}

static void echo_xfer(void *node, uint64_t tag, mc_status_t s)
{
    echo_node_t *n = node;
    n->in_upcall_errors += n->in_op;
    ck_assert_uint_lt(tag, 8);
    n->xfer_done[tag]++;
    n->xfer_status[tag] = s;
}

static const mc_env_handlers_t echo_handlers = {
    .on_conn_up = echo_up,
    .on_conn_accept = echo_accept,
    .on_conn_down = echo_down,
    .on_msg = echo_msg,
    .on_xfer_done = echo_xfer,
};

static void *echo_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    bool echo;
    if (mc_conf_bool(conf, "echo", false, &echo) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    echo_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    n->echo = echo;
    mc_env_bind(env, &echo_handlers, n);
    return n;
}

static void echo_destroy(void *node)
{
    mc_free(node);
}

static const mc_role_t test_role_echo = {
    .name = "test_echo",
    .help = "test role: echo (bool)",
    .create = echo_create,
    .destroy = echo_destroy,
};

typedef struct world {
    mc_loop_t *la, *lb;
    mc_env_t *ea, *eb; /* a = server, b = client */
    echo_node_t *a, *b;
    uint16_t port;
    char addr[64];
    FILE *devnull; /* traces are not looked at here */
} world_t;

static void world_init(world_t *w, size_t out_limit)
{
    memset(w, 0, sizeof *w);
    w->la = mc_loop_create();
    w->lb = mc_loop_create();
    w->devnull = fopen("/dev/null", "w");
    mc_hw_env_opts_t oa = {.node_name = "a", .have_seed = true, .seed = 1, .log_level = MC_LOG_ERROR,
                           .trace_out = w->devnull};
    mc_hw_env_opts_t ob = {.node_name = "b", .have_seed = true, .seed = 2, .log_level = MC_LOG_ERROR,
                           .trace_out = w->devnull, .out_limit = out_limit};
    w->ea = mc_hw_env_create(w->la, &oa);
    w->eb = mc_hw_env_create(w->lb, &ob);
    mc_conf_t ca, cb;
    mc_conf_init(&ca);
    mc_conf_init(&cb);
    mc_conf_set(&ca, "echo", "true");
    char err[512];
    w->a = test_role_echo.create(w->ea, &ca, err, sizeof err);
    w->b = test_role_echo.create(w->eb, &cb, err, sizeof err);
    ck_assert_ptr_nonnull(w->a);
    ck_assert_ptr_nonnull(w->b);
    mc_conf_free(&ca);
    mc_conf_free(&cb);
    ck_assert_int_eq(mc_hw_env_listen(w->ea, "127.0.0.1:0", &w->port), MC_OK);
    ck_assert_uint_ne(w->port, 0);
    snprintf(w->addr, sizeof w->addr, "127.0.0.1:%u", w->port);
}

static void world_free(world_t *w)
{
    if (w->a)
        test_role_echo.destroy(w->a);
    test_role_echo.destroy(w->b);
    mc_hw_env_destroy(w->ea);
    mc_hw_env_destroy(w->eb);
    mc_loop_destroy(w->la);
    mc_loop_destroy(w->lb);
    fclose(w->devnull);
}

/* Run both loops until cond holds (true) or 5 s pass (false). */
static bool pump(world_t *w, bool (*cond)(world_t *, void *), void *arg)
{
    uint64_t end = mc_loop_clock_ns() + 30000 * MS; /* liveness bound, generous for loaded CI machines */
    while (!cond(w, arg)) {
        if (mc_loop_clock_ns() > end)
            return false;
        mc_loop_run_once(w->la, MS);
        mc_loop_run_once(w->lb, 0);
    }
    return true;
}

static bool b_is_up(world_t *w, void *arg)
{
    (void)arg;
    return w->b->ups == 1 && w->a->accepts == 1;
}

static bool b_up_only(world_t *w, void *arg)
{
    (void)arg;
    return w->b->ups == 1;
}

static bool b_got_msgs(world_t *w, void *arg)
{
    return w->b->msgs >= *(uint64_t *)arg;
}

static bool b_down(world_t *w, void *arg)
{
    (void)arg;
    return w->b->downs > 0;
}

static bool a_down(world_t *w, void *arg)
{
    (void)arg;
    return w->a->downs > 0;
}

static void frame_build(mc_wbuf_t *f, uint64_t req, size_t body)
{
    mc_wire_begin(f, MC_MSG_PING, 0, req);
    uint8_t *p = mc_wbuf_extend(f, body);
    for (size_t i = 0; i < body; i++)
        p[i] = (uint8_t)(req + i);
    mc_wire_finish(f);
}

static mc_conn_t world_connect(world_t *w)
{
    mc_conn_t c = 0;
    w->b->in_op = 1;
    ck_assert_int_eq(w->eb->ops->conn_open(w->eb, w->addr, &c), MC_OK);
    w->b->in_op = 0;
    ck_assert_uint_ne(c, 0);
    ck_assert_int_eq(w->b->ups, 0); /* never synchronous */
    ck_assert(pump(w, b_is_up, NULL));
    return c;
}

START_TEST(test_tcp_round_trip)
{
    world_t w;
    world_init(&w, 0);
    mc_conn_t c = world_connect(&w);
    mc_wbuf_t f;
    mc_wbuf_init(&f);
    /* Small frames, an empty body and a 3 MiB one, interleaved. */
    size_t sizes[] = {0, 1, 100, 4096, 3u << 20, 7, 65536, 0, 12345};
    uint64_t n = 0;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < MC_ARRAY_LEN(sizes); i++) {
            frame_build(&f, n++, round ? sizes[i] % 70000 : sizes[i]);
            w.b->in_op = 1;
            ck_assert_int_eq(w.eb->ops->conn_send(w.eb, c, f.data, f.len), MC_OK);
            w.b->in_op = 0;
        }
    ck_assert(pump(&w, b_got_msgs, &n));
    ck_assert_uint_eq(w.a->msgs, n);
    ck_assert_uint_eq(w.b->msgs, n);
    ck_assert_int_eq(w.a->order_errors, 0);
    ck_assert_int_eq(w.b->order_errors, 0);
    ck_assert_int_eq(w.b->in_upcall_errors, 0);
    ck_assert_uint_eq(w.a->bytes, w.b->bytes);
    /* A non-frame is refused by the sender. */
    uint8_t junk[30] = {1, 2, 3};
    ck_assert_int_eq(w.eb->ops->conn_send(w.eb, c, junk, sizeof junk), MC_INVALID_PARAMS);
    ck_assert_int_eq(w.eb->ops->conn_send(w.eb, 999, f.data, f.len), MC_RPC_FAIL);

    /* Local close: no on_conn_down here; the peer sees an orderly close. */
    w.eb->ops->conn_close(w.eb, c);
    ck_assert_int_eq(w.eb->ops->conn_send(w.eb, c, f.data, f.len), MC_RPC_FAIL);
    ck_assert(pump(&w, a_down, NULL));
    ck_assert_int_eq(w.a->last_down, MC_OK);
    ck_assert_uint_eq(w.a->down_conn, w.a->accepted);
    ck_assert_int_eq(w.b->downs, 0);
    /* Handles are never reused. */
    mc_conn_t c2 = 0;
    ck_assert_int_eq(w.eb->ops->conn_open(w.eb, w.addr, &c2), MC_OK);
    ck_assert_uint_gt(c2, c);
    mc_wbuf_free(&f);
    world_free(&w);
}
END_TEST

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static bool a_accepted_and_down(world_t *w, void *arg)
{
    (void)arg;
    return w->a->accepts == 1 && w->a->downs == 1;
}

START_TEST(test_tcp_malformed_header_closes)
{
    world_t w;
    world_init(&w, 0);
    int fd = raw_connect(w.port);
    /* A valid frame first, then a header with a bad magic. */
    mc_wbuf_t f;
    mc_wbuf_init(&f);
    frame_build(&f, 0, 10);
    ck_assert_int_eq(write(fd, f.data, f.len), (ssize_t)f.len);
    uint8_t bad[MC_WIRE_HDR_LEN];
    memset(bad, 0xab, sizeof bad);
    ck_assert_int_eq(write(fd, bad, sizeof bad), (ssize_t)sizeof bad);
    ck_assert(pump(&w, a_accepted_and_down, NULL));
    ck_assert_uint_eq(w.a->msgs, 1);
    ck_assert_int_eq(w.a->last_down, MC_RPC_FAIL);
    ck_assert_uint_eq(w.a->down_conn, w.a->accepted);
    /* The runner's side sees the connection closed (after the echo). */
    uint8_t buf[256];
    ssize_t got = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        got += n;
    ck_assert(n == 0 || (n < 0 && errno == ECONNRESET));
    ck_assert(got == 0 || got == (ssize_t)f.len);
    close(fd);

    /* An oversized body length is rejected the same way. */
    fd = raw_connect(w.port);
    frame_build(&f, 0, 0);
    mc_wbuf_patch_u32(&f, 16, MC_WIRE_MAX_BODY + 1);
    ck_assert_int_eq(write(fd, f.data, f.len), (ssize_t)f.len);
    int downs = w.a->downs;
    uint64_t end = mc_loop_clock_ns() + 30000 * MS; /* liveness bound, generous for loaded CI machines */
    while (w.a->downs == downs && mc_loop_clock_ns() < end)
        mc_loop_run_once(w.la, MS);
    ck_assert_int_eq(w.a->downs, downs + 1);
    ck_assert_int_eq(w.a->last_down, MC_RPC_FAIL);
    close(fd);
    mc_wbuf_free(&f);
    world_free(&w);
}
END_TEST

START_TEST(test_tcp_back_pressure)
{
    world_t w;
    world_init(&w, 256u << 10); /* client queue bound: 256 KiB */
    /* A raw listener that accepts but does not read until told to. */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(ls, 4), 0);
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    mc_conn_t c = 0;
    ck_assert_int_eq(w.eb->ops->conn_open(w.eb, addr, &c), MC_OK);
    int peer = accept(ls, NULL, NULL);
    ck_assert_int_ge(peer, 0);
    ck_assert(pump(&w, b_up_only, NULL));

    mc_wbuf_t f;
    mc_wbuf_init(&f);
    frame_build(&f, 1, 64u << 10);
    int sent = 0;
    mc_status_t s = MC_OK;
    for (; sent < 10000; sent++) {
        s = w.eb->ops->conn_send(w.eb, c, f.data, f.len);
        if (s != MC_OK)
            break;
        mc_loop_run_once(w.lb, 0); /* let EPOLLOUT drain into the kernel */
    }
    ck_assert_int_eq(s, MC_AGAIN);
    ck_assert_int_gt(sent, 4);
    size_t q = mc_hw_env_queued(w.eb, c);
    ck_assert_uint_le(q, 256u << 10);
    ck_assert_uint_gt(q + f.len, 256u << 10);
    /* Drain the peer: the queue empties and sending works again. */
    uint8_t *buf = mc_malloc(1 << 20);
    uint64_t end = mc_loop_clock_ns() + 30000 * MS; /* liveness bound, generous for loaded CI machines */
    while (mc_hw_env_queued(w.eb, c) > 0 && mc_loop_clock_ns() < end) {
        ssize_t n = recv(peer, buf, 1 << 20, MSG_DONTWAIT);
        (void)n;
        mc_loop_run_once(w.lb, MS);
    }
    ck_assert_uint_eq(mc_hw_env_queued(w.eb, c), 0);
    ck_assert_int_eq(w.eb->ops->conn_send(w.eb, c, f.data, f.len), MC_OK);
    ck_assert_int_eq(w.b->downs, 0);
    mc_free(buf);
    close(peer);
    close(ls);
    mc_wbuf_free(&f);
    world_free(&w);
}
END_TEST

START_TEST(test_tcp_refused_and_peer_crash)
{
    world_t w;
    world_init(&w, 0);
    /* Nobody listens on the port of a just-closed socket. */
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    bind(tmp, (struct sockaddr *)&sa, sizeof sa);
    getsockname(tmp, (struct sockaddr *)&sa, &sl);
    close(tmp);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
    mc_conn_t c = 0;
    w.b->in_op = 1;
    ck_assert_int_eq(w.eb->ops->conn_open(w.eb, addr, &c), MC_OK);
    w.b->in_op = 0;
    ck_assert_int_eq(w.b->downs, 0);
    ck_assert(pump(&w, b_down, NULL));
    ck_assert_int_eq(w.b->last_down, MC_RPC_FAIL);
    ck_assert_uint_eq(w.b->down_conn, c);
    ck_assert_int_eq(w.b->ups, 0);
    ck_assert_int_eq(w.b->in_upcall_errors, 0);
    /* Bad addresses fail at once. */
    ck_assert_int_ne(w.eb->ops->conn_open(w.eb, "nocolon", &c), MC_OK);
    ck_assert_int_ne(w.eb->ops->conn_open(w.eb, "127.0.0.1:99999", &c), MC_OK);

    /* The server goes away: the client sees on_conn_down. */
    w.b->downs = 0;
    c = world_connect(&w);
    test_role_echo.destroy(w.a);
    mc_hw_env_destroy(w.ea); /* closes the server's sockets, like a crash */
    w.a = NULL;
    w.ea = NULL;
    ck_assert(pump(&w, b_down, NULL));
    ck_assert(w.b->last_down == MC_OK || w.b->last_down == MC_RPC_FAIL);
    world_free(&w);
}
END_TEST

static bool name_resolves(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    bool loop = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    freeaddrinfo(res);
    return loop;
}

START_TEST(test_tcp_host_name)
{
    world_t w;
    world_init(&w, 0);
    /* A name that needs a lookup (the resolver thread), when this host's
     * own name maps to 127.0.0.1 as usual in /etc/hosts. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char addr[300];
    mc_conn_t c = 0;
    if (host[0] && name_resolves(host)) {
        snprintf(addr, sizeof addr, "%s:%u", host, w.port);
        w.b->in_op = 1;
        ck_assert_int_eq(w.eb->ops->conn_open(w.eb, addr, &c), MC_OK);
        w.b->in_op = 0;
        mc_wbuf_t f;
        mc_wbuf_init(&f);
        frame_build(&f, 0, 32);
        ck_assert_int_eq(w.eb->ops->conn_send(w.eb, c, f.data, f.len), MC_OK); /* queued while resolving */
        uint64_t one = 1;
        ck_assert(pump(&w, b_got_msgs, &one));
        ck_assert_int_eq(w.b->ups, 1);
        ck_assert_int_eq(w.b->order_errors, 0);
        mc_wbuf_free(&f);
    }
    /* Closed while the lookup runs: no upcall, ever. */
    snprintf(addr, sizeof addr, "%s:%u", host[0] ? host : "localhost.localdomain", w.port);
    ck_assert_int_eq(w.eb->ops->conn_open(w.eb, addr, &c), MC_OK);
    int ups = w.b->ups, downs = w.b->downs;
    w.eb->ops->conn_close(w.eb, c);
    run_for(w.lb, 50 * MS);
    ck_assert_int_eq(w.b->ups, ups);
    ck_assert_int_eq(w.b->downs, downs);
    /* Destroyed with a lookup in flight: joins it, no upcall. */
    ck_assert_int_eq(w.eb->ops->conn_open(w.eb, addr, &c), MC_OK);
    world_free(&w);
}
END_TEST

/* ------------------------------------------------ env: timers, xfer --- */

typedef struct env_timer_ctx {
    int fired;
    mc_env_t *env;
    mc_timer_t other;
} env_timer_ctx_t;

static void env_timer_fire(void *arg)
{
    env_timer_ctx_t *c = arg;
    c->fired++;
    mc_env_timer_cancel(c->env, &c->other); /* cancel from inside a timer */
}

START_TEST(test_env_timers_and_clock)
{
    mc_loop_t *l = mc_loop_create();
    mc_env_t *e = mc_hw_env_create(l, &(mc_hw_env_opts_t){.node_name = "t"});
    env_timer_ctx_t c = {0, e, 0};
    uint64_t t0 = mc_env_now(e);
    ck_assert_uint_lt(t0, 1000 * MS); /* epoch defaults to creation */
    mc_timer_t t1 = mc_env_timer(e, 5 * MS, env_timer_fire, &c);
    c.other = mc_env_timer(e, 50 * MS, env_timer_fire, &c);
    ck_assert(t1 && c.other && t1 != c.other);
    run_for(l, 80 * MS);
    ck_assert_int_eq(c.fired, 1);
    ck_assert_uint_ge(mc_env_now(e), t0 + 80 * MS);
    /* Pending timers die with the env. */
    mc_env_timer(e, 1 * MS, env_timer_fire, &c);
    mc_hw_env_destroy(e);
    run_for(l, 10 * MS);
    ck_assert_int_eq(c.fired, 1);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_env_xfer_stub_and_registration)
{
    world_t w;
    world_init(&w, 0);
    static uint8_t mem[4096], other[64];
    mc_env_t *e = w.eb;
    ck_assert_int_eq(e->ops->mem_register(e, mem, sizeof mem, NULL), MC_OK);
    ck_assert_int_eq(e->ops->mem_register(e, mem + 100, 10, NULL), MC_INVALID_PARAMS); /* overlap */
    ck_assert_int_eq(e->ops->mem_register(e, NULL, 10, NULL), MC_INVALID_PARAMS);
    ck_assert_int_eq(e->ops->mem_register(e, other, 0, NULL), MC_INVALID_PARAMS);
    mc_xfer_op_t ops[3] = {
        {.opcode = MC_XFER_READ, .local = mem, .peer = "127.0.0.1:1", .remote_addr = 0, .len = 4096, .tag = 0},
        {.opcode = MC_XFER_WRITE, .local = mem + 4000, .peer = "127.0.0.1:1", .len = 200, .tag = 1},
        {.opcode = MC_XFER_WRITE, .local = other, .peer = "127.0.0.1:1", .len = 8, .tag = 2},
    };
    w.b->in_op = 1;
    mc_status_t s = e->ops->xfer_post(e, ops, 3);
    w.b->in_op = 0;
    ck_assert_int_ne(s, MC_OK);
    ck_assert_int_eq(w.b->xfer_done[0] + w.b->xfer_done[1] + w.b->xfer_done[2], 0); /* async */
    /* Wait until all three completed (a liveness bound, not a timing check:
     * the refused connect runs on a transport thread), then a little more
     * so a duplicate completion would show. */
    uint64_t end = mc_loop_clock_ns() + 30000 * MS;
    while (w.b->xfer_done[0] + w.b->xfer_done[1] + w.b->xfer_done[2] < 3 && mc_loop_clock_ns() < end)
        mc_loop_run_once(w.lb, MS);
    run_for(w.lb, 20 * MS);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(w.b->xfer_done[i], 1); /* exactly once */
    ck_assert_int_eq(w.b->xfer_status[0], MC_TRANSFER_FAIL); /* nobody serves data on port 1 */
    ck_assert_int_eq(w.b->xfer_status[1], MC_INVALID_PARAMS); /* runs past the region */
    ck_assert_int_eq(w.b->xfer_status[2], MC_INVALID_PARAMS); /* unregistered */
    ck_assert_int_eq(w.b->in_upcall_errors, 0);
    ck_assert_int_eq(e->ops->mem_unregister(e, mem), MC_OK);
    ck_assert_int_eq(e->ops->mem_unregister(e, mem), MC_INVALID_PARAMS);
    /* Completions still pending at destroy are dropped with the env. */
    e->ops->xfer_post(e, ops, 1);
    world_free(&w);
}
END_TEST

/* ---------------------------------------------------- log and trace --- */

START_TEST(test_trace_and_log_lines)
{
    mc_loop_t *l = mc_loop_create();
    FILE *tr = tmpfile(), *lg = tmpfile();
    mc_env_t *e = mc_hw_env_create(l, &(mc_hw_env_opts_t){.node_name = "n1", .epoch_ns = mc_loop_clock_ns() - 5 * MS,
                                                          .log_level = MC_LOG_INFO, .log_out = lg, .trace_out = tr});
    mc_env_tracef(e, "client.registered", "client=%s view=%d", "c1", 3);
    mc_env_tracef(e, "bare.event", "%s", "");
    mc_env_tracef(e, "multi", "a=1\nb=2");
    mc_env_logf(e, MC_LOG_DEBUG, "x", "dropped");
    mc_env_logf(e, MC_LOG_WARN, "comp", "hello %d", 42);
    char buf[512];
    rewind(tr);
    mc_trace_log_t log;
    mc_trace_log_init(&log);
    int lines = 0;
    while (fgets(buf, sizeof buf, tr)) {
        ck_assert(mc_trace_parse_line(buf, &log));
        lines++;
    }
    ck_assert_int_eq(lines, 3);
    ck_assert_str_eq(log.recs[0].node, "n1");
    ck_assert_str_eq(log.recs[0].event, "client.registered");
    ck_assert_str_eq(log.recs[0].fields, "client=c1 view=3");
    ck_assert_uint_ge(log.recs[0].t_ns, 5 * MS);
    ck_assert_str_eq(log.recs[1].fields, "");
    ck_assert_str_eq(log.recs[2].fields, "a=1 b=2");
    mc_trace_log_free(&log);
    rewind(lg);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, lg));
    ck_assert_ptr_nonnull(strstr(buf, "] WARN  n1 comp: hello 42"));
    ck_assert_ptr_null(fgets(buf, sizeof buf, lg)); /* the debug line was dropped */
    /* Seeded: the same seed gives the same numbers. */
    mc_env_t *s1 = mc_hw_env_create(l, &(mc_hw_env_opts_t){.have_seed = true, .seed = 7});
    mc_env_t *s2 = mc_hw_env_create(l, &(mc_hw_env_opts_t){.have_seed = true, .seed = 7});
    ck_assert_uint_eq(mc_env_rand(s1), mc_env_rand(s2));
    ck_assert_uint_eq(mc_hw_env_seed(s1), 7);
    mc_hw_env_destroy(s1);
    mc_hw_env_destroy(s2);
    mc_hw_env_destroy(e);
    fclose(tr);
    fclose(lg);
    mc_loop_destroy(l);
    ck_assert_int_eq(mc_log_level_parse("debug"), MC_LOG_DEBUG);
    ck_assert_int_eq(mc_log_level_parse("WARN"), MC_LOG_WARN);
    ck_assert_int_eq(mc_log_level_parse("4"), MC_LOG_ERROR);
    ck_assert_int_eq(mc_log_level_parse("loud"), -1);
}
END_TEST

START_TEST(test_node_cmd_codec)
{
    char esc[128], line[256];
    mc_node_cmd_escape("a b=c%d\n", esc, sizeof esc);
    ck_assert_str_eq(esc, "a%20b%3Dc%25d%0A");
    snprintf(line, sizeof line, "cmd put key=k1 value=%s size=4KiB", esc);
    const char *name = NULL;
    mc_conf_t args;
    mc_conf_init(&args);
    ck_assert(mc_node_cmd_parse(line, &name, &args));
    ck_assert_str_eq(name, "put");
    ck_assert_str_eq(mc_conf_get(&args, "key"), "k1");
    ck_assert_str_eq(mc_conf_get(&args, "value"), "a b=c%d\n");
    ck_assert_str_eq(mc_conf_get(&args, "size"), "4KiB");
    mc_conf_free(&args);
    mc_conf_init(&args);
    char bad1[] = "put key=1", bad2[] = "cmd", bad3[] = "cmd x novalue", bad4[] = "cmd x k=%zz";
    ck_assert(!mc_node_cmd_parse(bad1, &name, &args));
    ck_assert(!mc_node_cmd_parse(bad2, &name, &args));
    ck_assert(!mc_node_cmd_parse(bad3, &name, &args));
    ck_assert(!mc_node_cmd_parse(bad4, &name, &args));
    mc_conf_free(&args);
}
END_TEST

typedef struct lines_seen {
    char got[8][16];
    int n;
} lines_seen_t;

static void line_collect(void *arg, char *line)
{
    lines_seen_t *ls = arg;
    ck_assert_int_lt(ls->n, 8);
    snprintf(ls->got[ls->n++], sizeof ls->got[0], "%s", line);
}

START_TEST(test_linebuf)
{
    mc_linebuf_t lb;
    mc_linebuf_init(&lb, 8);
    lines_seen_t ls = {.n = 0};
    const char *input = "ab\ncd";
    size_t room;
    char *dst = mc_linebuf_space(&lb, &room);
    ck_assert_uint_eq(room, 8);
    memcpy(dst, input, 5);
    mc_linebuf_commit(&lb, 5, line_collect, &ls);
    ck_assert_int_eq(ls.n, 1);
    ck_assert_str_eq(ls.got[0], "ab");
    dst = mc_linebuf_space(&lb, &room);
    ck_assert_uint_eq(room, 6);
    memcpy(dst, "efghij", 6); /* fills the buffer without a newline: a piece */
    mc_linebuf_commit(&lb, 6, line_collect, &ls);
    ck_assert_int_eq(ls.n, 2);
    ck_assert_str_eq(ls.got[1], "cdefghij");
    dst = mc_linebuf_space(&lb, &room);
    memcpy(dst, "\nxy", 3);
    mc_linebuf_commit(&lb, 3, line_collect, &ls);
    ck_assert_int_eq(ls.n, 3);
    ck_assert_str_eq(ls.got[2], "");
    mc_linebuf_flush(&lb, line_collect, &ls); /* end of stream */
    ck_assert_int_eq(ls.n, 4);
    ck_assert_str_eq(ls.got[3], "xy");
    mc_linebuf_flush(&lb, line_collect, &ls);
    ck_assert_int_eq(ls.n, 4);
    mc_linebuf_free(&lb);
}
END_TEST

static Suite *hw_suite(void)
{
    Suite *s = suite_create("hw");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_timer_order_cancel);
    tcase_add_test(tc, test_timer_zero_rearm_does_not_spin);
    tcase_add_test(tc, test_cross_thread_post);
    tcase_add_test(tc, test_stop_from_other_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("tcp");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tcp_round_trip);
    tcase_add_test(tc, test_tcp_malformed_header_closes);
    tcase_add_test(tc, test_tcp_back_pressure);
    tcase_add_test(tc, test_tcp_refused_and_peer_crash);
    tcase_add_test(tc, test_tcp_host_name);
    suite_add_tcase(s, tc);
    tc = tcase_create("env");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_env_timers_and_clock);
    tcase_add_test(tc, test_env_xfer_stub_and_registration);
    tcase_add_test(tc, test_trace_and_log_lines);
    tcase_add_test(tc, test_node_cmd_codec);
    tcase_add_test(tc, test_linebuf);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hw_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
