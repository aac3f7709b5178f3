/* The store history checker (core/scenario/mc_check_store.c) over
 * hand-written traces: each violation kind is found, valid histories
 * (including the legitimate excuses: removes, failed upserts, owner and
 * master crashes, expiry, eviction) pass. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mc_check.h"
#include "scenario/mc_scenario.h"

#define MS 1000000ULL

static mc_trace_log_t lg;
static uint64_t next_id;

static void setup(void)
{
    mc_trace_log_init(&lg);
    next_id = 0;
    /* three store clients and a master, as the roles trace them */
    mc_trace_log_add(&lg, 0, "master", "master.start", "ttl_ms=5000 lease_ms=10000");
    mc_trace_log_add(&lg, 0, "c1", "client.start", "client=c1 segment=1 addr=c1:7000");
    mc_trace_log_add(&lg, 0, "c2", "client.start", "client=c2 segment=1 addr=c2:7000");
    mc_trace_log_add(&lg, 0, "c3", "client.start", "client=c3 segment=1 addr=c3:7000");
}

static void teardown(void) { mc_trace_log_free(&lg); }

static void add(uint64_t t_ms, const char *node, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(uint64_t t_ms, const char *node, const char *ev, const char *fmt, ...)
{
    char f[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f, sizeof f, fmt, ap);
    va_end(ap);
    mc_trace_log_add(&lg, t_ms * MS, node, ev, f);
}

/* A write [b, e] (e == 0: never ends). */
static void write_op(const char *op, uint64_t b, uint64_t e, const char *node, const char *key, uint64_t vid,
                     const char *status, int existed, const char *segs, const char *pin)
{
    uint64_t id = ++next_id;
    add(b, node, "client.op_begin", "op=%s key=%s vid=%016llx size=64 pin=%s id=%llu", op, key,
        (unsigned long long)vid, pin, (unsigned long long)id);
    if (e)
        add(e, node, "client.op_end", "op=%s key=%s status=%s vid=%016llx existed=%d replicas=1 segs=%s id=%llu",
            op, key, status, (unsigned long long)vid, existed, segs, (unsigned long long)id);
}

static void put(uint64_t b, uint64_t e, const char *node, const char *key, uint64_t vid)
{
    write_op("put", b, e, node, key, vid, "OK", 0, "c2:7000", "none");
}

static void upsert(uint64_t b, uint64_t e, const char *node, const char *key, uint64_t vid, const char *status)
{
    write_op("upsert", b, e, node, key, vid, status, 0, "c2:7000", "none");
}

/* get returning vid (0 = status not OK with `status`), "torn" when vid == 1 */
static void get(uint64_t b, uint64_t e, const char *node, const char *key, uint64_t vid, const char *status)
{
    uint64_t id = ++next_id;
    add(b, node, "client.op_begin", "op=get key=%s id=%llu", key, (unsigned long long)id);
    if (vid == 1)
        add(e, node, "client.op_end", "op=get key=%s status=OK vid=torn size=64 id=%llu", key, (unsigned long long)id);
    else if (vid)
        add(e, node, "client.op_end", "op=get key=%s status=OK vid=%016llx size=64 id=%llu", key,
            (unsigned long long)vid, (unsigned long long)id);
    else
        add(e, node, "client.op_end", "op=get key=%s status=%s id=%llu", key, status, (unsigned long long)id);
}

static void simple(const char *op, uint64_t b, uint64_t e, const char *node, const char *key, const char *status,
                   uint64_t value)
{
    uint64_t id = ++next_id;
    add(b, node, "client.op_begin", "op=%s key=%s id=%llu", op, key, (unsigned long long)id);
    add(e, node, "client.op_end", "op=%s key=%s status=%s value=%llu id=%llu", op, key, status,
        (unsigned long long)value, (unsigned long long)id);
}

static uint64_t run(bool allow_eviction, mc_store_check_result_t *r)
{
    mc_store_check_cfg_t cfg = {.allow_eviction = allow_eviction};
    return mc_check_store_history(&lg, &cfg, r);
}

static void expect_violations(uint64_t n, const char *needle)
{
    mc_store_check_result_t r;
    uint64_t v = run(false, &r);
    if (v != n)
        fprintf(stderr, "violations %llu (want %llu): %s\n", (unsigned long long)v, (unsigned long long)n, r.msg);
    ck_assert_uint_eq(v, n);
    if (needle)
        ck_assert_msg(strstr(r.msg, needle) != NULL, "'%s' not in '%s'", needle, r.msg);
}

START_TEST(test_valid_sequential)
{
    put(10, 20, "c1", "k", 0xa1);
    get(30, 40, "c2", "k", 0xa1, NULL);
    simple("exist", 41, 42, "c3", "k", "OK", 1);
    upsert(50, 60, "c1", "k", 0xa2, "OK");
    get(70, 80, "c3", "k", 0xa2, NULL);
    write_op("put", 81, 82, "c2", "k", 0xa3, "OK", 1, "-", "none"); /* first writer wins */
    get(83, 84, "c3", "k", 0xa2, NULL);
    simple("remove", 90, 100, "c2", "k", "OK", 0);
    get(110, 120, "c1", "k", 0, "OBJECT_NOT_FOUND");
    simple("exist", 121, 122, "c1", "k", "OK", 0);
    put(130, 140, "c2", "k", 0xa4); /* absent again: existed=0 is right */
    get(150, 160, "c1", "k", 0xa4, NULL);
    mc_store_check_result_t r;
    ck_assert_uint_eq(run(false, &r), 0);
    ck_assert_uint_eq(r.keys, 1);
    ck_assert_uint_eq(r.ops, 12);
    ck_assert_uint_eq(r.gets_checked, 7);
}
END_TEST

START_TEST(test_concurrent_reads_may_see_either)
{
    put(10, 20, "c1", "k", 0xb1);
    upsert(30, 60, "c1", "k", 0xb2, "OK");
    get(25, 35, "c2", "k", 0xb1, NULL);  /* overlaps the upsert: old is fine */
    get(40, 50, "c3", "k", 0xb2, NULL);  /* overlaps: new is fine too */
    get(45, 55, "c2", "k", 0, "REPLICA_IS_NOT_READY"); /* not a claim */
    get(55, 70, "c3", "k", 0xb1, NULL);  /* began before the upsert ended */
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_torn)
{
    put(10, 20, "c1", "k", 0xc1);
    get(30, 40, "c2", "k", 1, NULL);
    expect_violations(1, "torn read");
}
END_TEST

START_TEST(test_phantom)
{
    put(10, 20, "c1", "k", 0xd1);
    put(10, 20, "c1", "j", 0xd2);
    get(30, 40, "c2", "k", 0xdead, NULL);                                  /* nobody wrote it */
    get(30, 40, "c2", "k", 0xd2, NULL);                                    /* other key's value */
    write_op("put", 50, 60, "c3", "k", 0xd3, "OK", 1, "-", "none");       /* existed=1: no write */
    get(70, 80, "c2", "k", 0xd3, NULL);
    get(90, 95, "c2", "j", 0xd4, NULL);                                    /* written only later */
    upsert(100, 110, "c1", "j", 0xd4, "OK");
    expect_violations(4, "no put/upsert wrote");
    mc_store_check_result_t r;
    run(false, &r);
    ck_assert(strstr(r.msg, "another key") != NULL);
    ck_assert(strstr(r.msg, "never wrote") != NULL);
}
END_TEST

START_TEST(test_stale)
{
    put(10, 20, "c1", "k", 0xe1);
    upsert(30, 40, "c1", "k", 0xe2, "OK");
    get(50, 60, "c2", "k", 0xe1, NULL);
    expect_violations(1, "stale read");
}
END_TEST

START_TEST(test_stale_after_remove)
{
    put(10, 20, "c1", "k", 0xe1);
    simple("remove", 30, 40, "c3", "k", "OK", 0);
    get(50, 60, "c2", "k", 0xe1, NULL);
    expect_violations(1, "stale read");
}
END_TEST

START_TEST(test_failed_upsert_may_apply_late)
{
    /* an upsert whose End timed out at the client may still be applied */
    put(10, 20, "c1", "k", 0xe1);
    upsert(30, 40, "c1", "k", 0xe2, "RPC_FAIL");
    put(50, 60, "c3", "k", 0xe3); /* the failed upsert may have deleted the key first */
    get(70, 80, "c2", "k", 0xe2, NULL);
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_lost_object)
{
    put(10, 20, "c1", "k", 0xf1);
    get(30, 40, "c2", "k", 0, "OBJECT_NOT_FOUND");
    simple("exist", 50, 60, "c3", "k", "OK", 0);
    expect_violations(2, "lost object");
}
END_TEST

START_TEST(test_lost_excused_by_maybe_remove)
{
    put(10, 20, "c1", "k", 0xf1);
    simple("remove", 25, 30, "c3", "k", "RPC_FAIL", 0); /* may have removed it */
    get(40, 50, "c2", "k", 0, "OBJECT_NOT_FOUND");
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_lost_not_excused_by_failed_remove)
{
    put(10, 20, "c1", "k", 0xf1);
    simple("remove", 25, 30, "c3", "k", "OBJECT_HAS_LEASE", 0); /* removed nothing */
    simple("remove_all", 31, 32, "c3", "-", "OK", 0);         /* removed nothing */
    get(40, 50, "c2", "k", 0, "OBJECT_NOT_FOUND");
    expect_violations(1, "lost object");
}
END_TEST

START_TEST(test_lost_excused_by_remove_all_and_upsert)
{
    put(10, 20, "c1", "k", 0xf1);
    simple("remove_by_regex", 25, 30, "c3", "-", "OK", 3);
    get(40, 50, "c2", "k", 0, "OBJECT_NOT_FOUND");
    put(60, 70, "c1", "j", 0xf2);
    upsert(75, 80, "c3", "j", 0xf3, "TRANSFER_FAIL"); /* revoked in-place upsert deletes */
    get(90, 95, "c2", "j", 0, "OBJECT_NOT_FOUND");
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_owner_crash_and_expiry)
{
    write_op("put", 10, 20, "c1", "k", 0x11, "OK", 0, "c2:7000,c3:7000", "none");
    add(25, "c2", "sim.node_crash", "why=fault inc=1");
    get(30, 40, "c1", "k", 0, "OBJECT_NOT_FOUND"); /* one owner left: lost */
    expect_violations(1, "lost object");
    add(45, "master", "master.client_expired", "client=c3");
    get(50, 60, "c1", "k", 0, "OBJECT_NOT_FOUND"); /* both owners gone: fine */
    expect_violations(1, NULL);
}
END_TEST

START_TEST(test_owner_by_endpoint)
{
    /* hw: replicas are listed by transport endpoint (host:data_port) */
    mc_trace_log_add(&lg, 0, "c4", "client.start", "client=c4 segment=1 addr=127.0.0.1:7004 endpoint=127.0.0.1:9004");
    write_op("put", 10, 20, "c1", "k", 0x14, "OK", 0, "127.0.0.1:9004", "none");
    add(25, "c4", "hw.node_crash", "why=SIGKILL");
    get(30, 40, "c1", "k", 0, "OBJECT_NOT_FOUND"); /* its only owner died: fine */
    write_op("put", 50, 60, "c1", "j", 0x15, "OK", 0, "c2:7000", "none");
    get(70, 80, "c1", "j", 0, "OBJECT_NOT_FOUND"); /* c2 lives: lost */
    expect_violations(1, "key j:");
}
END_TEST

START_TEST(test_master_crash)
{
    put(10, 20, "c1", "k", 0x12);
    add(25, "master", "sim.node_crash", "why=fault inc=1");
    add(26, "master", "sim.node_start", "role=store_master inc=2");
    get(30, 40, "c1", "k", 0, "OBJECT_NOT_FOUND");
    put(50, 60, "c3", "k", 0x13);
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_eviction_option)
{
    put(10, 20, "c1", "k", 0x21);
    write_op("put", 10, 20, "c1", "h", 0x22, "OK", 0, "c2:7000", "hard");
    get(30, 40, "c2", "k", 0, "OBJECT_NOT_FOUND");
    get(30, 40, "c2", "h", 0, "OBJECT_NOT_FOUND");
    /* a same-size upsert asking for a hard pin does not pin (spec 4.7 B) */
    write_op("upsert", 10, 20, "c1", "u", 0x23, "OK", 0, "c2:7000", "hard");
    get(30, 40, "c2", "u", 0, "OBJECT_NOT_FOUND");
    mc_store_check_result_t r;
    ck_assert_uint_eq(run(false, &r), 3);
    ck_assert_uint_eq(run(true, &r), 1); /* hard-pinned objects are never evicted */
    ck_assert(strstr(r.msg, "key h:") != NULL);
}
END_TEST

/* Store swarm seed 2437: W committed before the put began, then an
 * overlapping upsert replaced it with a value whose only replica was on
 * c3, and c3 expired: the put (and a get) rightly found the key absent. */
START_TEST(test_overwriting_write_lost)
{
    write_op("upsert", 10, 20, "c1", "k", 0x41, "OK", 0, "c1:7000", "none");
    put(30, 100, "c2", "k", 0x42);
    write_op("upsert", 40, 50, "c1", "k", 0x43, "OK", 0, "c3:7000", "none");
    get(35, 90, "c1", "k", 0, "OBJECT_NOT_FOUND");
    /* the same on key j, but j's overwriting value lives on: violations */
    write_op("upsert", 10, 20, "c1", "j", 0x44, "OK", 0, "c1:7000", "none");
    put(30, 100, "c2", "j", 0x45);
    write_op("upsert", 40, 50, "c1", "j", 0x46, "OK", 0, "c1:7000", "none");
    get(35, 90, "c1", "j", 0, "OBJECT_NOT_FOUND");
    expect_violations(4, "key k:"); /* c3 still lives: k is lost too */
    add(60, "master", "master.client_expired", "client=c3");
    expect_violations(2, "key j:");
    mc_store_check_result_t r;
    run(false, &r);
    ck_assert_msg(strstr(r.msg, "key k:") == NULL, "%s", r.msg);
}
END_TEST

START_TEST(test_first_writer_wins)
{
    put(10, 20, "c1", "k", 0x31);
    put(30, 40, "c2", "k", 0x32); /* existed=0 although 0x31 committed */
    expect_violations(1, "first writer must win");
}
END_TEST

START_TEST(test_concurrent_puts_both_win)
{
    put(10, 30, "c1", "k", 0x33);
    put(15, 25, "c2", "k", 0x34);                                     /* both existed=0 */
    write_op("put", 12, 40, "c3", "k", 0x35, "OK", 1, "-", "none"); /* the loser: fine */
    put(50, 60, "c1", "j", 0x36);
    write_op("put", 52, 58, "c2", "j", 0x37, "OK", 1, "-", "none");
    expect_violations(1, "concurrent puts");
}
END_TEST

START_TEST(test_exist_during_upsert)
{
    put(10, 20, "c1", "k", 0x41);
    upsert(30, 50, "c1", "k", 0x42, "OK");
    simple("exist", 35, 40, "c2", "k", "OK", 0); /* in-place upsert: unreadable */
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_crashed_writer)
{
    /* the writer crashes before its end: the value may or may not appear */
    write_op("put", 10, 0, "c1", "k", 0x51, "OK", 0, "-", "none");
    add(15, "c1", "sim.node_crash", "why=fault inc=1");
    add(16, "c1", "sim.node_start", "role=store_client inc=2");
    get(20, 30, "c2", "k", 0x51, NULL);
    get(40, 50, "c3", "k", 0, "OBJECT_NOT_FOUND");
    /* ids restart with the new incarnation: must not pair with the old op */
    add(60, "c1", "client.op_begin", "op=get key=k id=1");
    add(70, "c1", "client.op_end", "op=get key=k status=OK vid=%016llx size=64 id=1", 0x51ULL);
    expect_violations(0, NULL);
}
END_TEST

START_TEST(test_fifo_without_ids_and_unsorted)
{
    /* hw-style: no ids, records merged out of order */
    add(30, "c2", "client.op_end", "op=get key=k status=OK vid=%016llx size=64", 0x61ULL);
    add(10, "c1", "client.op_begin", "op=put key=k vid=%016llx size=64", 0x61ULL);
    add(25, "c2", "client.op_begin", "op=get key=k");
    add(20, "c1", "client.op_end", "op=put key=k status=OK vid=%016llx existed=0 replicas=1", 0x61ULL);
    add(40, "c2", "client.op_begin", "op=get key=k");
    add(50, "c2", "client.op_end", "op=get key=k status=OBJECT_NOT_FOUND");
    mc_store_check_result_t r;
    /* no segs: any client loss excuses; there is none, so it is lost */
    ck_assert_uint_eq(run(false, &r), 1);
    ck_assert_uint_eq(r.gets_checked, 2);
}
END_TEST

START_TEST(test_large_history)
{
    /* 100k operations over 1000 keys: must stay fast (O(n log n)) */
    char key[16];
    for (uint64_t i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "k%llu", (unsigned long long)(i % 1000));
        uint64_t t = 10 + i * 4;
        upsert(t, t + 1, "c1", key, 0x100000 + i, "OK");
        get(t + 2, t + 3, "c2", key, 0x100000 + i, NULL);
    }
    mc_store_check_result_t r;
    ck_assert_uint_eq(run(false, &r), 0);
    ck_assert_uint_eq(r.ops, 100000);
    ck_assert_uint_eq(r.keys, 1000);
    /* one stale read among them is found */
    get(10 + 50000 * 4, 10 + 50000 * 4 + 1, "c3", "k7", 0x100000 + 7, NULL);
    ck_assert_uint_eq(run(false, &r), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_check_store");
    TCase *tc = tcase_create("history");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120); /* the 100k-op history under valgrind */
    tcase_add_test(tc, test_valid_sequential);
    tcase_add_test(tc, test_concurrent_reads_may_see_either);
    tcase_add_test(tc, test_torn);
    tcase_add_test(tc, test_phantom);
    tcase_add_test(tc, test_stale);
    tcase_add_test(tc, test_stale_after_remove);
    tcase_add_test(tc, test_failed_upsert_may_apply_late);
    tcase_add_test(tc, test_lost_object);
    tcase_add_test(tc, test_lost_excused_by_maybe_remove);
    tcase_add_test(tc, test_lost_not_excused_by_failed_remove);
    tcase_add_test(tc, test_lost_excused_by_remove_all_and_upsert);
    tcase_add_test(tc, test_owner_crash_and_expiry);
    tcase_add_test(tc, test_owner_by_endpoint);
    tcase_add_test(tc, test_master_crash);
    tcase_add_test(tc, test_eviction_option);
    tcase_add_test(tc, test_overwriting_write_lost);
    tcase_add_test(tc, test_first_writer_wins);
    tcase_add_test(tc, test_concurrent_puts_both_win);
    tcase_add_test(tc, test_exist_during_upsert);
    tcase_add_test(tc, test_crashed_writer);
    tcase_add_test(tc, test_fifo_without_ids_and_unsorted);
    tcase_add_test(tc, test_large_history);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
