/* hw/meta etcd backend against a real etcd (Debian's etcd-server, started
 * per test case on a free loopback port with a temp data dir, killed
 * after; skipped with a printed reason if the binary is missing), and
 * against a fake etcd-like responder for malformed and error answers:
 * round trips, missing keys, empty and 1 MiB values, odd keys, endpoint
 * failover, server down / restarted empty, cancel, destroy in flight. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta_test_util.h"
#include "te/mc_te_status.h"

static etcd_proc_t *etcd;
static char skip_why[256];

static void etcd_setup(void)
{
    etcd = etcd_start(0, skip_why, sizeof skip_why);
}

static void etcd_teardown(void)
{
    etcd_stop(etcd);
    etcd = NULL;
}

#define NEED_ETCD()                                                   \
    do {                                                              \
        if (!etcd) {                                                  \
            printf("SKIP %s: %s\n", __func__, skip_why);              \
            return;                                                   \
        }                                                             \
    } while (0)

static mc_te_meta_t *open_conn(mc_loop_t *l, const char *conn)
{
    char err[256];
    mc_te_meta_t *m = mc_hw_meta_open(l, conn, err, sizeof err);
    ck_assert_msg(m != NULL, "%s: %s", conn, err);
    return m;
}

static mc_te_meta_t *open_etcd(mc_loop_t *l, uint16_t port, bool scheme)
{
    char conn[64];
    snprintf(conn, sizeof conn, "%s127.0.0.1:%u", scheme ? "etcd://" : "", port);
    return open_conn(l, conn);
}

START_TEST(test_round_trip)
{
    NEED_ETCD();
    mc_loop_t *l = mc_loop_create();
    mc_te_meta_t *m = open_etcd(l, etcd_port(etcd), true);
    res_t r = {0};
    const char *v = "{\"name\":\"seg\",\"protocol\":\"tcp\"}\n";
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/seg", v, strlen(v)), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert(!r.null);
    ck_assert_str_eq(r.val, v);
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/seg", "2", 1), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert_str_eq(r.val, "2");
    /* A key is not a prefix: "mooncake/ram/se" stays absent. */
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/se", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_del_sync(l, m, "mooncake/ram/seg"), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/seg", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_del_sync(l, m, "mooncake/ram/seg"), 0);
    /* Empty values (etcd omits them in JSON) read back as "", not absent. */
    ck_assert_int_eq(meta_put_sync(l, m, "empty", "", 0), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "empty", &r), 0);
    ck_assert(!r.null);
    ck_assert_uint_eq(r.len, 0);
    /* The bare host:port form is the same backend. */
    mc_te_meta_t *bare = open_etcd(l, etcd_port(etcd), false);
    ck_assert_int_eq(meta_put_sync(l, bare, "bare", "b", 1), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "bare", &r), 0);
    ck_assert_str_eq(r.val, "b");
    mc_te_meta_destroy(bare);
    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_big_value_odd_keys_order)
{
    NEED_ETCD();
    mc_loop_t *l = mc_loop_create();
    mc_te_meta_t *m = open_etcd(l, etcd_port(etcd), true);
    res_t r = {0};
    size_t big = 1u << 20;
    char *v = malloc(big);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)(i * 131 + i / 977); /* binary bytes, NULs included */
    ck_assert_int_eq(meta_put_sync(l, m, "mooncake/ram/big", v, big), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "mooncake/ram/big", &r), 0);
    ck_assert_uint_eq(r.len, big);
    ck_assert(memcmp(r.val, v, big) == 0);
    free(v);

    static const char *const keys[] = {"a b&c=d?e%f/g#h+i", "\xc3\xbc\xe2\x82\xac", "\"quoted\\\"", "k"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_int_eq(meta_put_sync(l, m, keys[i], keys[i], strlen(keys[i])), 0);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        ck_assert_int_eq(meta_get_sync(l, m, keys[i], &r), 0);
        ck_assert_msg(!r.null && strcmp(r.val, keys[i]) == 0, "key %s", keys[i]);
    }

    /* Issue order, completions never inside the call. */
    res_t o[4] = {{0}};
    res_seq = 0;
    mc_te_meta_put(m, "o", "1", 1, res_cb, &o[0]);
    mc_te_meta_get(m, "o", res_cb, &o[1]);
    mc_te_meta_del(m, "o", res_cb, &o[2]);
    mc_te_meta_get(m, "o", res_cb, &o[3]);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(o[i].calls, 0);
    ck_assert(run_until(l, &o[3].calls, 1, 20000 * MS));
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(o[i].err, 0);
        ck_assert_int_eq(o[i].order, i + 1);
    }
    ck_assert_str_eq(o[1].val, "1");
    ck_assert(o[3].null);
    for (int i = 0; i < 4; i++)
        res_reset(&o[i]);
    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_loop_destroy(l);
}
END_TEST

/* The first endpoint refuses connections: ops fail over to the second,
 * which then stays current. Only dead endpoints: METADATA. */
START_TEST(test_failover)
{
    NEED_ETCD();
    mc_loop_t *l = mc_loop_create();
    char conn[128];
    uint16_t dead1 = free_port(), dead2 = free_port();
    snprintf(conn, sizeof conn, "etcd://127.0.0.1:%u,127.0.0.1:%u", dead1, etcd_port(etcd));
    mc_te_meta_t *m = open_conn(l, conn);
    res_t r = {0};
    ck_assert_int_eq(meta_put_sync(l, m, "fo", "x", 1), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "fo", &r), 0);
    ck_assert_str_eq(r.val, "x");
    mc_te_meta_destroy(m);

    snprintf(conn, sizeof conn, "127.0.0.1:%u,127.0.0.1:%u", dead1, dead2);
    m = open_conn(l, conn);
    ck_assert_int_eq(meta_get_sync(l, m, "fo", &r), MC_TE_ERR_METADATA);
    ck_assert(r.null);
    ck_assert_msg(strstr(mc_hw_meta_last_error(m), "connection refused"), "%s", mc_hw_meta_last_error(m));
    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_down_and_restarted_empty)
{
    NEED_ETCD();
    mc_loop_t *l = mc_loop_create();
    uint16_t port = etcd_port(etcd);
    mc_te_meta_t *m = open_etcd(l, port, true);
    res_t r = {0};
    ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), 0);
    etcd_stop(etcd);
    etcd = NULL;
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), MC_TE_ERR_METADATA);
    ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), MC_TE_ERR_METADATA);
    ck_assert_int_eq(meta_del_sync(l, m, "k"), MC_TE_ERR_METADATA);
    ck_assert_msg(strstr(mc_hw_meta_last_error(m), "etcd"), "%s", mc_hw_meta_last_error(m));

    etcd = etcd_start(port, skip_why, sizeof skip_why);
    ck_assert_msg(etcd != NULL, "restart: %s", skip_why);
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), 0);
    ck_assert(r.null);
    ck_assert_int_eq(meta_put_sync(l, m, "k", "w", 1), 0);
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), 0);
    ck_assert_str_eq(r.val, "w");
    res_reset(&r);
    mc_te_meta_destroy(m);
    mc_loop_destroy(l);
}
END_TEST

START_TEST(test_cancel_and_destroy)
{
    NEED_ETCD();
    mc_loop_t *l = mc_loop_create();
    mc_te_meta_t *m = open_etcd(l, etcd_port(etcd), true);
    res_t a = {0}, b = {0}, c = {0};
    uint64_t ia = mc_te_meta_put(m, "c", "a", 1, res_cb, &a);
    mc_te_meta_put(m, "c", "b", 1, res_cb, &b);
    mc_te_meta_cancel(m, &ia);
    ck_assert(run_until(l, &b.calls, 1, 20000 * MS));
    ck_assert_int_eq(a.calls, 0);
    ck_assert_int_eq(meta_get_sync(l, m, "c", &c), 0);
    ck_assert_str_eq(c.val, "b");
    /* In flight at destroy: no callbacks afterwards, no leaks. */
    res_reset(&a);
    res_reset(&b);
    mc_te_meta_put(m, "c", "x", 1, res_cb, &a);
    mc_te_meta_get(m, "c", res_cb, &b);
    mc_loop_run_once(l, 0);
    mc_te_meta_destroy(m);
    run_for(l, 300 * MS);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_int_eq(b.calls, 0);
    ck_assert_uint_eq(mc_loop_timer_count(l), 0);
    res_reset(&a);
    res_reset(&b);
    res_reset(&c);
    mc_loop_destroy(l);
}
END_TEST

/* An etcd-like server answering garbage: every op fails with METADATA and
 * a message naming the problem; nothing crashes or leaks. */
START_TEST(test_malformed_responses)
{
    static const struct {
        int status;
        const char *body;
        const char *why;
    } cases[] = {
        {200, "{not json", "not JSON"},
        {200, "[1,2]", "not a JSON object"},
        {200, "{\"kvs\":[]}", "no header"},
        {200, "{\"header\":{},\"kvs\":[{\"key\":\"!!!!\",\"value\":\"eA==\"}]}", "base64"},
        {200, "{\"header\":{},\"kvs\":[{\"key\":\"b3RoZXI=\",\"value\":\"eA==\"}]}", "another key"},
        {200, "{\"header\":{},\"kvs\":[{\"key\":\"aw==\",\"value\":5}]}", "not a string"},
        {200, "{\"header\":{},\"kvs\":{}}", "array"},
        {200, "", "not JSON"},
        {400, "{\"error\":\"etcdserver: request is too large\",\"code\":3,\"message\":\"etcdserver: request is too large\"}",
         "request is too large"},
        {500, "oops", "HTTP 500"},
    };
    mc_loop_t *l = mc_loop_create();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake_http_t *f = fake_http_start(cases[i].status, cases[i].body);
        mc_te_meta_t *m = open_etcd(l, fake_http_port(f), true);
        res_t r = {0};
        ck_assert_int_eq(meta_get_sync(l, m, "k", &r), MC_TE_ERR_METADATA);
        ck_assert(r.null);
        ck_assert_msg(strstr(mc_hw_meta_last_error(m), cases[i].why), "case %zu: %s", i,
                      mc_hw_meta_last_error(m));
        if (cases[i].status != 200 || strncmp(cases[i].body, "{\"header\"", 9) != 0) {
            /* Put/del read the same error shapes. */
            ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), MC_TE_ERR_METADATA);
            ck_assert_int_eq(meta_del_sync(l, m, "k"), MC_TE_ERR_METADATA);
        }
        res_reset(&r);
        mc_te_meta_destroy(m);
        fake_http_stop(f);
    }
    /* A well-formed fake answer is accepted (the parser is not just
     * rejecting everything): a found key and an empty range. */
    fake_http_t *f = fake_http_start(200, "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"aw==\","
                                          "\"create_revision\":\"7\",\"value\":\"aGVsbG8=\"}],\"count\":\"1\"}");
    mc_te_meta_t *m = open_etcd(l, fake_http_port(f), true);
    res_t r = {0};
    ck_assert_int_eq(meta_get_sync(l, m, "k", &r), 0);
    ck_assert_str_eq(r.val, "hello");
    ck_assert_int_eq(meta_put_sync(l, m, "k", "v", 1), 0);
    res_reset(&r);
    mc_te_meta_destroy(m);
    fake_http_stop(f);
    mc_loop_destroy(l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hw_meta_etcd");
    TCase *tc = tcase_create("etcd");
    tcase_set_timeout(tc, 90);
    /* A fresh etcd per test (checked fixture): tests can kill it. */
    tcase_add_checked_fixture(tc, etcd_setup, etcd_teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_big_value_odd_keys_order);
    tcase_add_test(tc, test_failover);
    tcase_add_test(tc, test_down_and_restarted_empty);
    tcase_add_test(tc, test_cancel_and_destroy);
    suite_add_tcase(s, tc);
    TCase *fake = tcase_create("fake");
    tcase_add_test(fake, test_malformed_responses);
    suite_add_tcase(s, fake);
    return s;
}

int main(void)
{
    if (!etcd_available())
        printf("SKIP etcd tests: etcd binary not found (apt-get install etcd-server)\n");
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
