/* core/env: mc_conf (key/value store, typed getters, duration and size
 * parsing with exact error messages) and the env helpers (logf/tracef,
 * timers, clock and randomness through a recording fake ops table). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "env/mc_conf.h"
#include "env/mc_env.h"
#include "mc_check.h"

START_TEST(test_set_get_copy)
{
    mc_conf_t c, d;
    mc_conf_init(&c);
    mc_conf_init(&d);
    ck_assert_ptr_null(mc_conf_get(&c, "a"));
    ck_assert_str_eq(mc_conf_str(&c, "a", "dflt"), "dflt");
    for (int i = 0; i < 20; i++) { /* grows past the first capacity */
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        mc_conf_set(&c, k, v);
    }
    mc_conf_set(&c, "k3", "replaced");
    ck_assert_uint_eq(c.n, 20);
    ck_assert_str_eq(mc_conf_get(&c, "k3"), "replaced");
    ck_assert_str_eq(mc_conf_str(&c, "k19", "x"), "v19");
    /* Order is insertion order; a replace keeps the slot. */
    ck_assert_str_eq(c.kv[3].key, "k3");
    ck_assert_str_eq(c.kv[3].value, "replaced");
    mc_conf_set(&d, "k0", "mine");
    mc_conf_set(&d, "own", "1");
    mc_conf_copy(&d, &c);
    ck_assert_uint_eq(d.n, 21);
    ck_assert_str_eq(mc_conf_get(&d, "k0"), "v0"); /* src wins */
    ck_assert_str_eq(mc_conf_get(&d, "own"), "1");
    ck_assert_str_eq(d.kv[0].key, "k0");
    ck_assert_str_eq(d.kv[1].key, "own");
    mc_conf_free(&c);
    mc_conf_free(&d);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_ptr_null(c.kv);
}
END_TEST

static uint64_t dur(const char *s)
{
    uint64_t v = 12345;
    ck_assert_msg(mc_parse_duration_ns(s, &v), "duration '%s' rejected", s);
    return v;
}

static bool dur_rejected(const char *s)
{
    uint64_t v = 777;
    bool ok = mc_parse_duration_ns(s, &v);
    ck_assert_uint_eq(v, 777); /* untouched on error */
    return !ok;
}

START_TEST(test_durations)
{
    ck_assert_uint_eq(dur("250ms"), 250000000ULL);
    ck_assert_uint_eq(dur("10s"), 10000000000ULL);
    ck_assert_uint_eq(dur("2m"), 120000000000ULL);
    ck_assert_uint_eq(dur("1h"), 3600000000000ULL);
    ck_assert_uint_eq(dur("500us"), 500000ULL);
    ck_assert_uint_eq(dur("100ns"), 100ULL);
    ck_assert_uint_eq(dur("1500"), 1500000000ULL); /* bare number: milliseconds */
    ck_assert_uint_eq(dur("0"), 0);
    ck_assert_uint_eq(dur("1.5s"), 1500000000ULL);
    ck_assert_uint_eq(dur("0.25ms"), 250000ULL);
    ck_assert_uint_eq(dur("10S"), 10000000000ULL); /* units are case-insensitive */
    ck_assert_uint_eq(dur("5000h"), 18000000000000000ULL);
    ck_assert(dur_rejected(""));
    ck_assert(dur_rejected(NULL));
    ck_assert(dur_rejected("s"));
    ck_assert(dur_rejected("x"));
    ck_assert(dur_rejected("-1s"));
    ck_assert(dur_rejected("+1s"));
    ck_assert(dur_rejected("10sec"));
    ck_assert(dur_rejected("10 s"));
    ck_assert(dur_rejected("10d"));
    ck_assert(dur_rejected("1e30h")); /* overflows u64 ns */
    ck_assert(dur_rejected("inf"));
}
END_TEST

static uint64_t size_of(const char *s)
{
    uint64_t v = 0;
    ck_assert_msg(mc_parse_size(s, &v), "size '%s' rejected", s);
    return v;
}

START_TEST(test_sizes)
{
    ck_assert_uint_eq(size_of("4096"), 4096);
    ck_assert_uint_eq(size_of("0"), 0);
    ck_assert_uint_eq(size_of("64KiB"), 65536);
    ck_assert_uint_eq(size_of("64kb"), 64000);
    ck_assert_uint_eq(size_of("1k"), 1024);
    ck_assert_uint_eq(size_of("16MB"), 16000000);
    ck_assert_uint_eq(size_of("16MiB"), 16ULL << 20);
    ck_assert_uint_eq(size_of("2m"), 2ULL << 20);
    ck_assert_uint_eq(size_of("1GiB"), 1ULL << 30);
    ck_assert_uint_eq(size_of("3GB"), 3000000000ULL);
    ck_assert_uint_eq(size_of("2t"), 2ULL << 40);
    ck_assert_uint_eq(size_of("1TB"), 1000000000000ULL);
    ck_assert_uint_eq(size_of("7b"), 7);
    ck_assert_uint_eq(size_of("1.5KiB"), 1536);
    uint64_t v = 99;
    ck_assert(!mc_parse_size("", &v));
    ck_assert(!mc_parse_size("12XB", &v));
    ck_assert(!mc_parse_size("-1", &v));
    ck_assert(!mc_parse_size("KiB", &v));
    ck_assert(!mc_parse_size("1 KiB", &v));
    ck_assert(!mc_parse_size("20000000TiB", &v)); /* > 2^64 bytes */
    ck_assert_uint_eq(v, 99);
}
END_TEST

START_TEST(test_u64)
{
    uint64_t v = 5;
    ck_assert(mc_parse_u64("0", &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(mc_parse_u64("18446744073709551615", &v));
    ck_assert_uint_eq(v, UINT64_MAX);
    v = 5;
    ck_assert(!mc_parse_u64("", &v));
    ck_assert(!mc_parse_u64(NULL, &v));
    ck_assert(!mc_parse_u64("-1", &v));
    ck_assert(!mc_parse_u64("+1", &v));
    ck_assert(!mc_parse_u64("12a", &v));
    ck_assert(!mc_parse_u64("1.5", &v));
    ck_assert_uint_eq(v, 5);
}
END_TEST

/* Inputs strtoull/strtod accept that a config value should not. */
START_TEST(test_parsers_reject_lenient_libc_forms)
{
    uint64_t v = 5;
    ck_assert_msg(!mc_parse_u64("18446744073709551616", &v), "u64 overflow accepted");
    ck_assert_msg(!mc_parse_u64(" 5", &v), "leading space accepted");
    ck_assert_msg(!mc_parse_u64(" -5", &v), "' -5' accepted as %llu", (unsigned long long)v);
    ck_assert_msg(!mc_parse_duration_ns("nan", &v), "'nan' accepted as a duration");
    ck_assert_msg(!mc_parse_duration_ns("nans", &v), "'nans' accepted as a duration");
    ck_assert_msg(!mc_parse_duration_ns(" -1s", &v), "' -1s' accepted as a duration");
    ck_assert_msg(!mc_parse_size("0x10", &v), "hex '0x10' accepted as a size");
}
END_TEST

START_TEST(test_typed_getters_and_messages)
{
    mc_conf_t c;
    mc_conf_init(&c);
    uint64_t u = 0;
    bool b = false;
    double d = 0;

    /* Missing keys give the default and MC_OK. */
    ck_assert_int_eq(mc_conf_u64(&c, "n", 17, &u), MC_OK);
    ck_assert_uint_eq(u, 17);
    ck_assert_int_eq(mc_conf_duration(&c, "ttl", 5 * MC_NS_PER_S, &u), MC_OK);
    ck_assert_uint_eq(u, 5000000000ULL);
    ck_assert_int_eq(mc_conf_size(&c, "seg", 4096, &u), MC_OK);
    ck_assert_uint_eq(u, 4096);
    ck_assert_int_eq(mc_conf_bool(&c, "on", true, &b), MC_OK);
    ck_assert(b);
    ck_assert_int_eq(mc_conf_double(&c, "rate", 0.5, &d), MC_OK);
    ck_assert(d == 0.5);

    mc_conf_set(&c, "n", "42");
    mc_conf_set(&c, "ttl", "250ms");
    mc_conf_set(&c, "seg", "16MiB");
    mc_conf_set(&c, "rate", "1.25");
    ck_assert_int_eq(mc_conf_u64(&c, "n", 0, &u), MC_OK);
    ck_assert_uint_eq(u, 42);
    ck_assert_int_eq(mc_conf_duration(&c, "ttl", 0, &u), MC_OK);
    ck_assert_uint_eq(u, 250 * MC_NS_PER_MS);
    ck_assert_int_eq(mc_conf_size(&c, "seg", 0, &u), MC_OK);
    ck_assert_uint_eq(u, 16ULL << 20);
    ck_assert_int_eq(mc_conf_double(&c, "rate", 0, &d), MC_OK);
    ck_assert(d == 1.25);

    const char *yes[] = {"true", "TRUE", "1", "yes", "On"}, *no[] = {"false", "0", "No", "off"};
    for (size_t i = 0; i < 5; i++) {
        mc_conf_set(&c, "on", yes[i]);
        ck_assert_int_eq(mc_conf_bool(&c, "on", false, &b), MC_OK);
        ck_assert_msg(b, "%s", yes[i]);
    }
    for (size_t i = 0; i < 4; i++) {
        mc_conf_set(&c, "on", no[i]);
        ck_assert_int_eq(mc_conf_bool(&c, "on", true, &b), MC_OK);
        ck_assert_msg(!b, "%s", no[i]);
    }

    /* Errors: MC_INVALID_PARAMS and a message naming key and value. */
    mc_conf_set(&c, "ttl", "x");
    ck_assert_int_eq(mc_conf_duration(&c, "ttl", 0, &u), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'ttl': bad duration 'x'");
    mc_conf_set(&c, "seg", "12XB");
    ck_assert_int_eq(mc_conf_size(&c, "seg", 0, &u), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'seg': bad size '12XB'");
    mc_conf_set(&c, "n", "-3");
    ck_assert_int_eq(mc_conf_u64(&c, "n", 0, &u), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'n': bad unsigned integer '-3'");
    mc_conf_set(&c, "on", "maybe");
    ck_assert_int_eq(mc_conf_bool(&c, "on", false, &b), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'on': bad boolean 'maybe'");
    mc_conf_set(&c, "rate", "1.5x");
    ck_assert_int_eq(mc_conf_double(&c, "rate", 0, &d), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'rate': bad number '1.5x'");
    mc_conf_set(&c, "rate", "");
    ck_assert_int_eq(mc_conf_double(&c, "rate", 0, &d), MC_INVALID_PARAMS);
    ck_assert_str_eq(c.err, "key 'rate': bad number ''");

    /* A very long value is cut to the buffer, still NUL-terminated. */
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mc_conf_set(&c, "ttl", big);
    ck_assert_int_eq(mc_conf_duration(&c, "ttl", 0, &u), MC_INVALID_PARAMS);
    ck_assert_uint_eq(strlen(c.err), sizeof c.err - 1);
    ck_assert(strncmp(c.err, "key 'ttl': bad duration 'zzz", 28) == 0);
    mc_conf_free(&c);
}
END_TEST

/* ---- env helpers over a recording fake ---- */

typedef struct fake {
    char log[2048];
    int level;
    char comp[32];
    char event[64];
    char fields[2048];
    int logs, traces, cancels;
    mc_timer_t cancelled;
} fake_t;

static uint64_t f_now(mc_env_t *env) { (void)env; return 123456789; }
static mc_timer_t f_arm(mc_env_t *env, uint64_t d, mc_timer_fn fn, void *arg)
{
    (void)env; (void)fn; (void)arg;
    return d + 1;
}
static void f_cancel(mc_env_t *env, mc_timer_t t)
{
    fake_t *f = env->impl;
    f->cancels++;
    f->cancelled = t;
}
static uint64_t f_rand(mc_env_t *env) { (void)env; return 0xabcdef; }
static void f_log(mc_env_t *env, int level, const char *component, const char *msg)
{
    fake_t *f = env->impl;
    f->logs++;
    f->level = level;
    snprintf(f->comp, sizeof f->comp, "%s", component);
    snprintf(f->log, sizeof f->log, "%s", msg);
}
static void f_trace(mc_env_t *env, const char *event, const char *fields)
{
    fake_t *f = env->impl;
    f->traces++;
    snprintf(f->event, sizeof f->event, "%s", event);
    snprintf(f->fields, sizeof f->fields, "%s", fields);
}

static const mc_env_ops_t fake_ops = {
    .now_ns = f_now, .timer_arm = f_arm, .timer_cancel = f_cancel,
    .rand_u64 = f_rand, .log = f_log, .trace = f_trace,
};

START_TEST(test_env_helpers)
{
    fake_t f;
    memset(&f, 0, sizeof f);
    mc_env_t env = {.ops = &fake_ops, .impl = &f, .node_name = "n1", .log_level = MC_LOG_INFO};
    ck_assert_uint_eq(mc_env_now(&env), 123456789);
    ck_assert_uint_eq(mc_env_rand(&env), 0xabcdef);
    mc_timer_t t = mc_env_timer(&env, 41, NULL, NULL);
    ck_assert_uint_eq(t, 42);
    mc_env_timer_cancel(&env, &t);
    ck_assert_int_eq(f.cancels, 1);
    ck_assert_uint_eq(f.cancelled, 42);
    ck_assert_uint_eq(t, 0);
    mc_env_timer_cancel(&env, &t); /* handle 0: no op call */
    ck_assert_int_eq(f.cancels, 1);

    mc_env_logf(&env, MC_LOG_DEBUG, "master", "dropped %d", 1);
    ck_assert_int_eq(f.logs, 0);
    mc_env_logf(&env, MC_LOG_WARN, "master", "client %s expired after %llu ms", "c1",
                (unsigned long long)10000);
    ck_assert_int_eq(f.logs, 1);
    ck_assert_int_eq(f.level, MC_LOG_WARN);
    ck_assert_str_eq(f.comp, "master");
    ck_assert_str_eq(f.log, "client c1 expired after 10000 ms");

    mc_env_tracef(&env, "master.client_expired", "client=%s view=%u", "c1", 3u);
    ck_assert_int_eq(f.traces, 1);
    ck_assert_str_eq(f.event, "master.client_expired");
    ck_assert_str_eq(f.fields, "client=c1 view=3");

    /* Over-long lines are truncated to the helpers' 1 KiB buffers. */
    char big[1500];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mc_env_tracef(&env, "e", "%s", big);
    ck_assert_uint_eq(strlen(f.fields), 1023);
    mc_env_logf(&env, MC_LOG_ERROR, "c", "%s", big);
    ck_assert_uint_eq(strlen(f.log), 1023);

    /* Binding sets the upcall target. */
    static const mc_env_handlers_t h = {0};
    int node;
    mc_env_bind(&env, &h, &node);
    ck_assert_ptr_eq(env.h, &h);
    ck_assert_ptr_eq(env.node, &node);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_conf");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, test_set_get_copy);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_u64);
    tcase_add_test(tc, test_parsers_reject_lenient_libc_forms);
    tcase_add_test(tc, test_typed_getters_and_messages);
    tcase_add_test(tc, test_env_helpers);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
