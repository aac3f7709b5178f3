/* The "te" and "te_meta" roles driven like a scenario would drive them:
 * metadata server over control messages, P2P handshake mode, commands,
 * data verification, failover on a multi-NIC node, notifications, and
 * a metadata server restart. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "env/mc_role.h"
#include "te_fake_env.h"

#define MS 1000000ULL
#define SEC 1000000000ULL

extern const mc_role_t mc_role_te;
extern const mc_role_t mc_role_te_meta;

static void *start(const mc_role_t *role, fw_node_t *n, const char *const *kv)
{
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "addr", n->addr);
    for (; kv && kv[0]; kv += 2)
        mc_conf_set(&c, kv[0], kv[1]);
    char err[256] = "";
    void *node = role->create(&n->env, &c, err, sizeof err);
    ck_assert_msg(node != NULL, "create: %s", err);
    mc_conf_free(&c);
    return node;
}

static void cmd(const mc_role_t *role, void *node, const char *name, const char *const *kv)
{
    mc_conf_t a;
    mc_conf_init(&a);
    for (; kv && kv[0]; kv += 2)
        mc_conf_set(&a, kv[0], kv[1]);
    ck_assert_int_eq(role->command(node, name, &a), MC_OK);
    mc_conf_free(&a);
}

START_TEST(test_role_with_metadata_server)
{
    fw_t *w = fw_new();
    fw_node_t *m = fw_add_node(w, "meta");
    fw_node_t *a = fw_add_node(w, "A");
    fw_node_t *b = fw_add_node(w, "B");
    void *mn = start(&mc_role_te_meta, m, NULL);
    const char *akv[] = {"metadata_server", m->addr, "buffer_size", "1MiB", "nics", "2", NULL};
    const char *bkv[] = {"metadata_server", m->addr, "buffer_size", "1MiB", NULL};
    void *an = start(&mc_role_te, a, akv);
    void *bn = start(&mc_role_te, b, bkv);
    fw_run(w, 10 * MS);
    ck_assert_int_eq(fw_count(w, "te.cmd_register", "rc=OK", NULL), 2);
    cmd(&mc_role_te_meta, mn, "keys", NULL);
    ck_assert_int_eq(fw_count(w, "te_meta.keys", "count=4", NULL), 1);

    const char *wr[] = {"segment", "B", "size", "256KiB", "count", "2", NULL};
    cmd(&mc_role_te, an, "write", wr);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=write segment=B status=COMPLETED ok=2 failed=0", NULL), 1);
    const char *rd[] = {"segment", "B", "size", "64KiB", "count", "4", "offset", "128KiB", "local_offset", "512KiB", NULL};
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=read", "status=COMPLETED ok=4 failed=0 timeout=0 bytes=262144 verify=ok"), 1);
    ck_assert_int_eq(fw_count(w, "te.req_done", "status=COMPLETED", NULL), 6);

    /* failover: A's second NIC fails every op; everything still completes */
    a->mode[1] = FW_FAIL;
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=read", "ok=4 failed=0 timeout=0 bytes=262144 verify=ok"), 2);
    const char *big[] = {"segment", "B", "size", "1MiB", NULL};
    cmd(&mc_role_te, an, "write", big);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.path_pause", "path=1", NULL), 1);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=write", "ok=1 failed=0"), 1);

    /* notify and probe */
    const char *nt[] = {"segment", "B", "name", "agent1", "msg", "hello", NULL};
    cmd(&mc_role_te, an, "notify", nt);
    const char *pr[] = {"segment", "B", NULL};
    cmd(&mc_role_te, an, "probe", pr);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_notify", "segment=B err=OK", NULL), 1);
    ck_assert_int_eq(fw_count(w, "te.cmd_probe", "segment=B err=OK", NULL), 1);
    cmd(&mc_role_te, bn, "notifies", NULL);
    ck_assert_int_eq(fw_count(w, "B te.cmd_notify_got", "name=agent1 msg=hello", NULL), 1);

    /* unknown segment; metadata server restarted empty */
    const char *bad[] = {"segment", "nobody", "size", "4KiB", NULL};
    cmd(&mc_role_te, an, "read", bad);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "segment=nobody status=OPEN_ERROR err=ERR_METADATA", NULL), 1);
    mc_role_te_meta.destroy(mn);
    mn = start(&mc_role_te_meta, m, NULL);
    fw_node_t *c = fw_add_node(w, "C");
    const char *ckv[] = {"metadata_server", m->addr, NULL};
    void *cn = start(&mc_role_te, c, ckv);
    cmd(&mc_role_te, cn, "open", pr);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "C te.cmd_open", "segment=B status=OPEN_ERROR err=ERR_METADATA", NULL), 1);
    /* A still has B cached and keeps working */
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "A te.cmd_xfer", "op=read", "verify=ok"), 3);
    /* bad commands */
    mc_conf_t none;
    mc_conf_init(&none);
    ck_assert_int_eq(mc_role_te.command(an, "frobnicate", &none), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_role_te.command(an, "write", &none), MC_INVALID_PARAMS);
    mc_conf_free(&none);

    /* destroy with metadata ops and transfers in flight: no callbacks, no leaks */
    const char *zz[] = {"segment", "zzz", NULL};
    cmd(&mc_role_te, cn, "open", zz);
    cmd(&mc_role_te, an, "read", rd);
    fw_advance(w, 7000);
    mc_role_te.destroy(cn);
    mc_role_te.destroy(an);
    mc_role_te.destroy(bn);
    mc_role_te_meta.destroy(mn);
    fw_free(w);
}
END_TEST

START_TEST(test_role_p2p_and_dead_peer)
{
    fw_t *w = fw_new();
    fw_node_t *a = fw_add_node(w, "A");
    fw_node_t *b = fw_add_node(w, "B");
    const char *akv[] = {"metadata_server", "P2PHANDSHAKE", "buffer_size", "256KiB", "transfer_timeout", "200ms",
                         NULL}; /* segment_name defaults to addr */
    const char *bkv[] = {"metadata_server", "P2PHANDSHAKE", "segment_name", b->addr, "buffer_size", "256KiB", NULL};
    void *an = start(&mc_role_te, a, akv);
    void *bn = start(&mc_role_te, b, bkv);
    const char *rd[] = {"segment", "B:15000", "size", "100KiB", "count", "2", NULL};
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=read segment=B:15000 status=COMPLETED", "verify=ok"), 1);
    /* the peer's completions stop arriving: TIMEOUT, never a hang or false success */
    a->mode[0] = FW_DROP;
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "status=TIMEOUT ok=0 failed=0 timeout=2", NULL), 1);
    /* a dead peer: FAILED */
    a->mode[0] = FW_OK;
    b->dead = true;
    cmd(&mc_role_te, an, "write", rd);
    fw_run(w, SEC);
    ck_assert_int_eq(fw_count(w, "te.cmd_xfer", "op=write", "status=FAILED ok=0 failed=2"), 1);
    ck_assert_int_eq(fw_count(w, "te.req_done", NULL, NULL), 6);
    mc_role_te.destroy(an);
    mc_role_te.destroy(bn);
    fw_free(w);
}
END_TEST

/* One faulty run: multi-NIC failover, slice timeouts, a transfer timeout. */
static char *one_run(void)
{
    fw_t *w = fw_new();
    fw_node_t *m = fw_add_node(w, "meta");
    fw_node_t *a = fw_add_node(w, "A");
    fw_node_t *b = fw_add_node(w, "B");
    void *mn = start(&mc_role_te_meta, m, NULL);
    const char *akv[] = {"metadata_server", m->addr, "buffer_size", "2MiB", "nics", "3", "slice_timeout", "1ms",
                         "transfer_timeout", "300ms", "slice_size", "16KiB", NULL};
    const char *bkv[] = {"metadata_server", m->addr, "buffer_size", "2MiB", NULL};
    void *an = start(&mc_role_te, a, akv);
    void *bn = start(&mc_role_te, b, bkv);
    fw_run(w, 10 * MS); /* descriptors published */
    a->mode[1] = FW_FAIL;
    a->mode[2] = FW_DROP;
    const char *wr[] = {"segment", "B", "size", "200KiB", "count", "5", NULL};
    const char *rd[] = {"segment", "B", "size", "100KiB", "count", "7", "local_offset", "1MiB", NULL};
    cmd(&mc_role_te, an, "write", wr);
    cmd(&mc_role_te, an, "read", rd);
    fw_run(w, 2 * SEC);
    fw_release(w, a, MC_OK);
    fw_run(w, 2 * SEC);
    char *t = strdup(w->traces ? w->traces : "");
    mc_role_te.destroy(an);
    mc_role_te.destroy(bn);
    mc_role_te_meta.destroy(mn);
    fw_free(w);
    return t;
}

START_TEST(test_deterministic_trace)
{
    char *x = one_run();
    char *y = one_run();
    ck_assert_str_eq(x, y);
    ck_assert_ptr_nonnull(strstr(x, "te.path_pause"));
    ck_assert_ptr_nonnull(strstr(x, "te.cmd_xfer op=write segment=B status=COMPLETED ok=5"));
    ck_assert_ptr_nonnull(strstr(x, "te.cmd_xfer op=read segment=B status=COMPLETED ok=7 failed=0 timeout=0 bytes=716800 verify=ok"));
    free(x);
    free(y);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("te_role");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_role_with_metadata_server);
    tcase_add_test(tc, test_role_p2p_and_dead_peer);
    tcase_add_test(tc, test_deterministic_trace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
