/* hw/meta HTTP backend against the real HTTP metadata server
 * (hw/mc_http_meta.c, the code mooncake_http_metadata_server and
 * mooncake_master run, served by libmicrohttpd on its own thread) and
 * against a fake responder for failure shapes: round trips, missing keys,
 * 1 MiB values, keys needing URL encoding, issue-order completion, server
 * down / restarted empty, timeouts, cancel, destroy with ops in flight,
 * connection-string parsing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_http_meta.h"
#include "meta_test_util.h"
#include "te/mc_te_status.h"

static mc_te_meta_t *open_http(mc_loop_t *l, uint16_t port)
{
    char conn[64], err[256];
    snprintf(conn, sizeof conn, "http://127.0.0.1:%u/metadata", port);
    mc_te_meta_t *m = mc_hw_meta_open(l, conn, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

static mc_http_meta_t *server_start(uint16_t port)
{
    char err[256];
    mc_http_meta_t *s = mc_http_meta_start("127.0.0.1", port, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(test_round_trip)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    mc_te_meta_t *m = open_http(l, mc_http_meta_port(s));
    res_t r = {0};
    const char *v = "{\"ip_or_host_name\":\"10.0.0.1\",\"rpc_port\":15123}\n";

    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/rpc_meta/a", &r), 0);
    ck_assert(r.null); /* absent: err 0, NULL value */
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/rpc_meta/a", v, strlen(v)), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/rpc_meta/a", &r), 0);
    ck_assert(!r.null);
    ck_assert_uint_eq(r.len, strlen(v));
    ck_assert_str_eq(r.val, v);
    /* The server refuses a different rpc_meta for the same name: HTTP 400. */
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/rpc_meta/a", "{}", 2), MC_TE_ERR_METADATA);
    ck_assert_msg(strstr(mc_hw_meta_last_error(m), "HTTP 400"), "%s", mc_hw_meta_last_error(m));
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/seg", "x", 1), 0);
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/seg", "yz", 2), 0); /* overwrite */
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert_str_eq(r.val, "yz");
    ck_assert_int_eq(meta_del_sync(l, m, "mooncake/ram/seg"), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_del_sync(l, m, "mooncake/ram/seg"), 0); /* missing: still success */
    ck_assert_int_eq(meta_put_sync(l, m, "empty", "", 0), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "empty", &r), 0);
    ck_assert(!r.null);
    ck_assert_uint_eq(r.len, 0);

    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_big_value_and_odd_keys)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    mc_te_meta_t *m = open_http(l, mc_http_meta_port(s));
    res_t r = {0};
    size_t big = 1u << 20;
    char *v = malloc(big);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/big", v, big), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/big", &r), 0);
    ck_assert_uint_eq(r.len, big);
    ck_assert(memcmp(r.val, v, big) == 0);

    /* Keys that must be URL-encoded, and ones that would alias if not. */
    static const char *const keys[] = {"a b&c=d?e%f/g#h+i", "key=x&key=y", "mooncake/ram/10.0.0.1:15123",
                                       "\xc3\xbc\xe2\x82\xac", "a"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char val[32];
        snprintf(val, sizeof val, "v%zu", i);
        ck_assert_int_eq(meta_put_sync(l, m, keys[i], val, strlen(val)), 0);
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char val[32];
        snprintf(val, sizeof val, "v%zu", i);
        ck_assert_int_eq(meta_get_sync(l, m, keys[i], &r), 0);
        ck_assert_msg(!r.null && strcmp(r.val, val) == 0, "key %s", keys[i]);
    }
    ck_assert_int_eq(meta_get_sync(l, m, "a b", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_get_sync(l, m, "key=x", &r), 0);
    ck_assert(r.null);

    free(v);
    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

/* Ops complete later (never inside the call) and in issue order, so a get
 * issued right after a put sees it. */
START_TEST(test_issue_order)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    mc_te_meta_t *m = open_http(l, mc_http_meta_port(s));
    res_t r[6] = {{0}};
    res_seq = 0;
    uint64_t ids[6];
    ids[0] = mc_te_meta_put(m, "k", "one", 3, res_cb, &r[0]);
    ids[1] = mc_te_meta_get(m, "k", res_cb, &r[1]);
    ids[2] = mc_te_meta_put(m, "k", "two", 3, res_cb, &r[2]);
    ids[3] = mc_te_meta_get(m, "k", res_cb, &r[3]);
    ids[4] = mc_te_meta_del(m, "k", res_cb, &r[4]);
    ids[5] = mc_te_meta_get(m, "k", res_cb, &r[5]);
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_ne(ids[i], 0);
        ck_assert_int_eq(r[i].calls, 0);
        for (int j = 0; j < i; j++)
            ck_assert_uint_ne(ids[i], ids[j]);
    }
    ck_assert(run_until(l, &r[5].calls, 1, 20000 * MS));
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, 0);
        ck_assert_int_eq(r[i].order, i + 1);
    }
    ck_assert_str_eq(r[1].val, "one");
    ck_assert_str_eq(r[3].val, "two");
    ck_assert(r[5].null);
    /* NULL callbacks: the op still happens. */
    mc_te_meta_put(m, "fire", "forget", 6, NULL, NULL);
    res_t g = {0};
    ck_assert_int_eq(meta_get_sync(l, m, "fire", &g), 0);
    ck_assert_str_eq(g.val, "forget");
    res_reset(&g);
    for (int i = 0; i < 6; i++)
        res_reset(&r[i]);
    mc_te_meta_destroy(m);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_server_down_and_restarted_empty)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    uint16_t port = mc_http_meta_port(s);
    mc_te_meta_t *m = open_http(l, port);
    res_t r = {0};
    ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), 0);
    mc_http_meta_stop(s);

    /* Down: every op fails with METADATA and says why. */
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), MC_TE_ERR_METADATA);
    ck_assert(r.null);
    ck_assert_msg(strstr(mc_hw_meta_last_error(m), "connection refused"), "%s", mc_hw_meta_last_error(m));
    ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), MC_TE_ERR_METADATA);
    ck_assert_int_eq(meta_del_sync(l, m, "k"), MC_TE_ERR_METADATA);

    /* Back, empty: the old key is gone, new ones work on the same client. */
    s = server_start(port);
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_put_sync(l, m, "k", "w", 1), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), 0);
    ck_assert_str_eq(r.val, "w");

    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

static void tick(void *arg)
{
    (*(int *)arg)++;
}

/* A server that accepts and never answers: the op fails after upstream's
 * 3 s timeout with METADATA, and the loop keeps running meanwhile. */
START_TEST(test_timeout_does_not_block_loop)
{
    mc_loop_t *l = mc_loop_create();
    fake_http_t *f = fake_http_start(0, NULL);
    mc_te_meta_t *m = open_http(l, fake_http_port(f));
    res_t r = {0};
    int ticks = 0;
    res_seq = 0;
    mc_te_meta_get(m, "k", res_cb, &r);
    mc_loop_timer_arm(l, 100 * MS, tick, &ticks);
    ck_assert(run_until(l, &ticks, 1, 20000 * MS));
    ck_assert_int_eq(r.calls, 0); /* the timer ran while the get waited */
    ck_assert(run_until(l, &r.calls, 1, 20000 * MS));
    ck_assert_int_eq(r.err, MC_TE_ERR_METADATA);
    ck_assert_msg(strstr(mc_hw_meta_last_error(m), "timed out"), "%s", mc_hw_meta_last_error(m));
    ck_assert_int_ge(fake_http_requests(f), 1);
    res_reset(&r);
    mc_te_meta_destroy(m);
    fake_http_stop(f);
    mc_loop_destroy(l);
}
END_TEST

/* Cancel: a queued op and the op on the wire never call back; the ops
 * behind them still run. */
START_TEST(test_cancel)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    mc_te_meta_t *m = open_http(l, mc_http_meta_port(s));
    res_t a = {0}, b = {0}, c = {0};
    uint64_t ia = mc_te_meta_put(m, "k", "a", 1, res_cb, &a);
    uint64_t ib = mc_te_meta_put(m, "k", "b", 1, res_cb, &b);
    mc_te_meta_get(m, "k", res_cb, &c);
    mc_te_meta_cancel(m, &ib);
    ck_assert_uint_eq(ib, 0);
    ck_assert(run_until(l, &c.calls, 1, 20000 * MS));
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(b.calls, 0); /* cancelled before it ran: never happened */
    ck_assert_str_eq(c.val, "a");
    mc_te_meta_cancel(m, &ia); /* already completed: no-op */
    uint64_t bogus = 12345;
    mc_te_meta_cancel(m, &bogus); /* unknown: no-op */
    res_reset(&a);
    res_reset(&b);
    res_reset(&c);

    /* On the wire (a black-hole server): cancel stops it; no callback even
     * after the 3 s timeout would have fired, and the next op runs. */
    fake_http_t *f = fake_http_start(0, NULL);
    mc_te_meta_t *hole = open_http(l, fake_http_port(f));
    uint64_t ih = mc_te_meta_get(hole, "k", res_cb, &a);
    mc_te_meta_get(hole, "k2", res_cb, &b);
    run_for(l, 200 * MS);
    ck_assert_int_ge(fake_http_requests(f), 1);
    mc_te_meta_cancel(hole, &ih);
    run_for(l, 3500 * MS);
    ck_assert_int_eq(a.calls, 0);
    ck_assert(run_until(l, &b.calls, 1, 20000 * MS));
    ck_assert_int_eq(b.err, MC_TE_ERR_METADATA);
    ck_assert_int_eq(a.calls, 0);
    res_reset(&a);
    res_reset(&b);
    mc_te_meta_destroy(hole);
    fake_http_stop(f);
    mc_te_meta_destroy(m);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

/* Destroy with ops queued and on the wire: no callbacks, nothing leaks
 * (ASan/valgrind), the loop has no stale watches or timers. */
START_TEST(test_destroy_in_flight)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    mc_te_meta_t *m = open_http(l, mc_http_meta_port(s));
    res_t r[4] = {{0}};
    mc_te_meta_put(m, "k", "v", 1, res_cb, &r[0]);
    mc_te_meta_get(m, "k", res_cb, &r[1]);
    mc_te_meta_del(m, "k", res_cb, &r[2]);
    mc_loop_run_once(l, 0); /* the first op goes on the wire */
    mc_te_meta_destroy(m);
    run_for(l, 300 * MS);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(r[i].calls, 0);
    ck_assert_uint_eq(mc_loop_timer_count(l), 0);

    /* Destroy right after one completion, the next op queued or on the wire. */
    m = open_http(l, mc_http_meta_port(s));
    mc_te_meta_put(m, "k", "v", 1, res_cb, &r[0]);
    mc_te_meta_get(m, "k", res_cb, &r[1]);
    ck_assert(run_until(l, &r[0].calls, 1, 20000 * MS));
    mc_te_meta_destroy(m);
    run_for(l, 300 * MS);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[1].calls, 0);
    for (int i = 0; i < 4; i++)
        res_reset(&r[i]);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

typedef struct self_destroy {
    mc_te_meta_t *m;
    int calls;
} self_destroy_t;

static void destroy_in_cb(void *arg, int err, const char *value, size_t len)
{
    (void)err;
    (void)value;
    (void)len;
    self_destroy_t *sd = arg;
    sd->calls++;
    mc_te_meta_destroy(sd->m);
}

START_TEST(test_destroy_inside_callback)
{
    mc_loop_t *l = mc_loop_create();
    mc_http_meta_t *s = server_start(0);
    self_destroy_t sd = {0};
    res_t later = {0};
    sd.m = open_http(l, mc_http_meta_port(s));
    mc_te_meta_put(sd.m, "k", "v", 1, destroy_in_cb, &sd);
    mc_te_meta_get(sd.m, "k", res_cb, &later);
    ck_assert(run_until(l, &sd.calls, 1, 20000 * MS));
    run_for(l, 300 * MS);
    ck_assert_int_eq(sd.calls, 1);
    ck_assert_int_eq(later.calls, 0);
    ck_assert_uint_eq(mc_loop_timer_count(l), 0);
    mc_http_meta_stop(s);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_open_errors)
{
    mc_loop_t *l = mc_loop_create();
    static const char *const bad[] = {"",           "redis://127.0.0.1:6379", "P2PHANDSHAKE", "etcd://",
                                      "host",       "127.0.0.1:0",            "a:1,,b:2",     "http://",
                                      "http:///md", "etcd://h:99999",         "h:1,"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "unset";
        mc_te_meta_t *m = mc_hw_meta_open(l, bad[i], err, sizeof err);
        ck_assert_msg(m == NULL, "'%s' accepted", bad[i]);
        ck_assert_msg(err[0] && strcmp(err, "unset") != 0, "'%s': no message", bad[i]);
    }
    static const char *const good[] = {"http://127.0.0.1:1/metadata", "https://h/x", "etcd://127.0.0.1:2379",
                                       "127.0.0.1:2379", "a:1,b:2,[::1]:3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char err[256];
        mc_te_meta_t *m = mc_hw_meta_open(l, good[i], err, sizeof err);
        ck_assert_msg(m != NULL, "'%s': %s", good[i], err);
        ck_assert_str_eq(mc_hw_meta_last_error(m), "");
        mc_te_meta_destroy(m);
    }
    mc_loop_destroy(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hw_meta_http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_big_value_and_odd_keys);
    tcase_add_test(tc, test_issue_order);
    tcase_add_test(tc, test_server_down_and_restarted_empty);
    tcase_add_test(tc, test_timeout_does_not_block_loop);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_destroy_in_flight);
    tcase_add_test(tc, test_destroy_inside_callback);
    tcase_add_test(tc, test_open_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
