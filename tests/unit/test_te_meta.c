/* Transfer-engine metadata: descriptor and rpc_meta JSON in upstream's
 * shapes, malformed input, keys, timestamps, the in-memory backend, and
 * the TE control messages (types 500-599). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "te_fake_env.h"
#define MS 1000000ULL
#include "te/mc_te_meta_desc.h"
#include "wire/mc_msg_any.h"
#include "wire/mc_msg_te.h"
#include "wire/mc_msg_types.h"

/* The example of shared/spec/transfer.md §7.2, compact. */
static const char *RDMA_JSON =
    "{\"name\":\"10.0.0.1:15123\",\"protocol\":\"rdma\",\"tcp_data_port\":0,\"tcp_proto_version\":1,"
    "\"timestamp\":\"2026-08-22 13:12:18.123456\","
    "\"devices\":[{\"name\":\"mlx5_0\",\"lid\":0,\"gid\":\"00:00:00:00:00:00:00:00:00:00:ff:ff:0a:00:00:01\"},"
    "{\"name\":\"mlx5_1\",\"lid\":0,\"gid\":\"fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:02\"}],"
    "\"buffers\":[{\"name\":\"cpu:0\",\"addr\":140331184128000,\"length\":1073741824,"
    "\"rkey\":[2097152,2097408],\"lkey\":[2097152,2097408]}],"
    "\"priority_matrix\":{\"cpu:0\":[[\"mlx5_0\"],[\"mlx5_1\"]],\"cpu:1\":[[\"mlx5_1\"],[\"mlx5_0\"]],"
    "\"cuda:0\":[[\"mlx5_0\"],[\"mlx5_1\"]]}}";

static const char *TCP_JSON =
    "{\"name\":\"node1\",\"protocol\":\"tcp\",\"tcp_data_port\":15500,\"tcp_proto_version\":2,"
    "\"timestamp\":\"2026-08-22 13:12:18.123456\","
    "\"buffers\":[{\"name\":\"node1\",\"addr\":4096,\"length\":65536}]}";

/* What the encoder writes back: the same bytes except that "addr" is
 * right-aligned in 20 columns (JSON whitespace), so a descriptor's length
 * does not depend on the buffer's address (sim/README.md). */
static char *padded_addr(const char *json, const char *addr)
{
    char from[40], to[40];
    snprintf(from, sizeof from, "\"addr\":%s", addr);
    snprintf(to, sizeof to, "\"addr\":%20s", addr);
    const char *at = strstr(json, from);
    ck_assert_ptr_nonnull(at);
    char *out = mc_malloc(strlen(json) + 21);
    snprintf(out, strlen(json) + 21, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    return out;
}

START_TEST(test_rdma_roundtrip_exact)
{
    mc_te_seg_desc_t d;
    char err[160] = "";
    ck_assert_int_eq(mc_te_seg_desc_decode(RDMA_JSON, strlen(RDMA_JSON), &d, err, sizeof err), 0);
    ck_assert_str_eq(d.name, "10.0.0.1:15123");
    ck_assert_str_eq(d.protocol, "rdma");
    ck_assert_int_eq(d.tcp_proto_version, 1);
    ck_assert_uint_eq(d.ndevices, 2);
    ck_assert_str_eq(d.devices[1].name, "mlx5_1");
    ck_assert_uint_eq(d.nbuffers, 1);
    ck_assert_uint_eq(d.buffers[0].addr, 140331184128000ULL);
    ck_assert_uint_eq(d.buffers[0].length, 1073741824ULL);
    ck_assert_uint_eq(d.buffers[0].nrkey, 2);
    ck_assert_uint_eq(d.buffers[0].rkey[1], 2097408);
    ck_assert_uint_eq(d.ntopo, 3);
    ck_assert_str_eq(d.topo[2].location, "cuda:0");
    ck_assert_str_eq(d.topo[1].preferred[0], "mlx5_1");
    ck_assert_ptr_null(d.rdma_server_name);
    char *out = mc_te_seg_desc_encode(&d);
    char *want = padded_addr(RDMA_JSON, "140331184128000");
    ck_assert_str_eq(out, want); /* same keys, same order, same bytes but the addr padding */
    mc_free(want);
    mc_te_seg_desc_t e;
    ck_assert_int_eq(mc_te_seg_desc_decode(out, strlen(out), &e, NULL, 0), 0);
    ck_assert(mc_te_seg_desc_equal(&d, &e));
    mc_free(e.timestamp);
    e.timestamp = mc_strdup("1999-01-01 00:00:00.000000");
    ck_assert(mc_te_seg_desc_equal(&d, &e)); /* timestamp ignored */
    e.buffers[0].rkey[0]++;
    ck_assert(!mc_te_seg_desc_equal(&d, &e));
    mc_te_seg_desc_t c;
    mc_te_seg_desc_copy(&c, &d);
    ck_assert(mc_te_seg_desc_equal(&d, &c));
    mc_te_seg_desc_free(&c);
    mc_te_seg_desc_free(&e);
    mc_free(out);
    mc_te_seg_desc_free(&d);
}
END_TEST

START_TEST(test_tcp_roundtrip_exact)
{
    mc_te_seg_desc_t d;
    ck_assert_int_eq(mc_te_seg_desc_decode(TCP_JSON, strlen(TCP_JSON), &d, NULL, 0), 0);
    ck_assert_int_eq(d.tcp_data_port, 15500);
    ck_assert_int_eq(d.tcp_proto_version, 2);
    ck_assert_uint_eq(d.ndevices, 0);
    char *out = mc_te_seg_desc_encode(&d);
    char *want = padded_addr(TCP_JSON, "4096");
    ck_assert_str_eq(out, want);
    ck_assert_ptr_nonnull(strstr(out, "\"addr\":                4096,")); /* 16 spaces + 4 digits */
    mc_free(want);
    mc_free(out);
    /* The size never depends on the address (sim trace hashes, sim/README.md). */
    static const uint64_t addrs[] = {1, 94244260119168ULL, 140313982898192ULL, 1ULL << 53};
    size_t len0 = 0;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        d.buffers[0].addr = addrs[i];
        out = mc_te_seg_desc_encode(&d);
        if (i == 0)
            len0 = strlen(out);
        ck_assert_uint_eq(strlen(out), len0);
        mc_te_seg_desc_t e;
        ck_assert_int_eq(mc_te_seg_desc_decode(out, strlen(out), &e, NULL, 0), 0);
        ck_assert_uint_eq(e.buffers[0].addr, addrs[i]);
        mc_te_seg_desc_free(&e);
        mc_free(out);
    }
    mc_te_seg_desc_free(&d);
}
END_TEST

START_TEST(test_optional_fields)
{
    /* tcp_proto_version absent => 1; rdma_server_name kept; multi-protocol */
    const char *j = "{\"name\":\"n\",\"protocol\":[\"tcp\",\"rdma\"],\"rdma_server_name\":\"1.2.3.4:5\","
                    "\"devices\":[],\"buffers\":[{\"name\":\"cpu:0\",\"addr\":1,\"length\":2,"
                    "\"rkey\":[],\"lkey\":[],\"protocol\":\"tcp\"}]}";
    mc_te_seg_desc_t d;
    char err[128] = "";
    ck_assert_int_eq(mc_te_seg_desc_decode(j, strlen(j), &d, err, sizeof err), 0);
    ck_assert_int_eq(d.tcp_proto_version, 1);
    ck_assert_str_eq(d.protocol, "tcp,rdma");
    ck_assert_str_eq(d.rdma_server_name, "1.2.3.4:5");
    ck_assert_str_eq(d.buffers[0].protocol, "tcp");
    char *out = mc_te_seg_desc_encode(&d);
    ck_assert_ptr_nonnull(strstr(out, "\"protocol\":[\"tcp\",\"rdma\"]"));
    ck_assert_ptr_nonnull(strstr(out, "\"rdma_server_name\":\"1.2.3.4:5\""));
    mc_te_seg_desc_t e;
    ck_assert_int_eq(mc_te_seg_desc_decode(out, strlen(out), &e, NULL, 0), 0);
    ck_assert(mc_te_seg_desc_equal(&d, &e));
    mc_te_seg_desc_free(&e);
    mc_free(out);
    mc_te_seg_desc_free(&d);
    /* a local-only buffer: empty rkey with lkeys is legal */
    const char *k = "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\",\"gid\":\"\"}],"
                    "\"buffers\":[{\"name\":\"cpu:0\",\"addr\":1,\"length\":2,\"rkey\":[],\"lkey\":[7]}]}";
    ck_assert_int_eq(mc_te_seg_desc_decode(k, strlen(k), &d, NULL, 0), 0);
    ck_assert_uint_eq(d.buffers[0].nrkey, 0);
    ck_assert_uint_eq(d.buffers[0].nlkey, 1);
    mc_te_seg_desc_free(&d);
    /* not NUL-terminated input: only len bytes are read */
    char buf[256];
    size_t n = strlen(TCP_JSON);
    memcpy(buf, TCP_JSON, n);
    memset(buf + n, '}', sizeof buf - n);
    ck_assert_int_eq(mc_te_seg_desc_decode(buf, n, &d, NULL, 0), 0);
    mc_te_seg_desc_free(&d);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *bad[] = {
        "",
        "{",
        "null",
        "[]",
        "\"x\"",
        "{}",
        "{\"name\":\"n\"}",                                  /* no protocol */
        "{\"protocol\":\"tcp\"}",                            /* no name */
        "{\"name\":5,\"protocol\":\"tcp\"}",
        "{\"name\":\"n\",\"protocol\":\"\"}",
        "{\"name\":\"n\",\"protocol\":[]}",
        "{\"name\":\"n\",\"protocol\":[1]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"tcp_data_port\":\"x\"}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"tcp_data_port\":1.5}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"tcp_proto_version\":-1}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"timestamp\":3}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":{}}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[1]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":1}]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"addr\":1,\"length\":1}]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":-1,\"length\":1}]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":1e300,\"length\":1}]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":18446744073709551615,\"length\":1}]}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":\"1\"}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\"}]}",          /* no gid */
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"gid\":\"g\"}]}",           /* no name */
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\",\"gid\":\"g\",\"lid\":70000}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":{}}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\",\"gid\":\"g\"}],"
        "\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":1,\"rkey\":[1],\"lkey\":[1,2]}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\",\"gid\":\"g\"}],"
        "\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":1,\"rkey\":[1,2],\"lkey\":[1,2]}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[{\"name\":\"d\",\"gid\":\"g\"}],"
        "\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":1,\"rkey\":[4294967296],\"lkey\":[1]}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"devices\":[],"
        "\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":1,\"rkey\":\"x\"}]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"priority_matrix\":[]}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"priority_matrix\":{\"cpu:0\":[[\"a\"]]}}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"priority_matrix\":{\"cpu:0\":[[\"a\"],[1]]}}",
        "{\"name\":\"n\",\"protocol\":\"rdma\",\"priority_matrix\":{\"cpu:0\":[\"a\",\"b\"]}}",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":9007199254740000,"
        "\"length\":9007199254740000}]} trailing",
        "{\"name\":\"n\",\"protocol\":\"tcp\",\"buffers\":[{\"name\":\"b\",\"addr\":1,\"length\":1,\"protocol\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mc_te_seg_desc_t d;
        char err[160] = "";
        int rc = mc_te_seg_desc_decode(bad[i], strlen(bad[i]), &d, err, sizeof err);
        ck_assert_msg(rc == MC_TE_ERR_MALFORMED_JSON, "case %zu accepted: %s", i, bad[i]);
        ck_assert_msg(err[0] != '\0', "case %zu has no message", i);
        ck_assert_ptr_null(d.name);
        ck_assert_uint_eq(d.nbuffers, 0);
    }
    mc_te_seg_desc_t d;
    ck_assert_int_eq(mc_te_seg_desc_decode(NULL, 0, &d, NULL, 0), MC_TE_ERR_MALFORMED_JSON);
}
END_TEST

START_TEST(test_rpc_meta)
{
    mc_te_rpc_meta_t m = {mc_strdup("10.0.0.1"), 15123};
    char *j = mc_te_rpc_meta_encode(&m);
    ck_assert_str_eq(j, "{\"ip_or_host_name\":\"10.0.0.1\",\"rpc_port\":15123}");
    mc_te_rpc_meta_t n;
    ck_assert_int_eq(mc_te_rpc_meta_decode(j, strlen(j), &n, NULL, 0), 0);
    ck_assert_str_eq(n.ip_or_host_name, "10.0.0.1");
    ck_assert_uint_eq(n.rpc_port, 15123);
    mc_te_rpc_meta_free(&n);
    mc_te_rpc_meta_free(&m);
    mc_free(j);
    static const char *bad[] = {"{}", "{\"ip_or_host_name\":\"h\"}", "{\"rpc_port\":1}",
                                "{\"ip_or_host_name\":\"h\",\"rpc_port\":65536}",
                                "{\"ip_or_host_name\":\"h\",\"rpc_port\":-1}",
                                "{\"ip_or_host_name\":[],\"rpc_port\":1}", "x", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        ck_assert_int_eq(mc_te_rpc_meta_decode(bad[i], strlen(bad[i]), &n, err, sizeof err),
                         MC_TE_ERR_MALFORMED_JSON);
        ck_assert(err[0]);
        ck_assert_ptr_null(n.ip_or_host_name);
    }
}
END_TEST

START_TEST(test_keys_and_timestamp)
{
    char *k = mc_te_key_rpc_meta(NULL, "10.0.0.1:15123");
    ck_assert_str_eq(k, "mooncake/rpc_meta/10.0.0.1:15123");
    mc_free(k);
    k = mc_te_key_rpc_meta("c1", "n");
    ck_assert_str_eq(k, "mooncake/c1/rpc_meta/n");
    mc_free(k);
    k = mc_te_key_segment("", "node1");
    ck_assert_str_eq(k, "mooncake/ram/node1");
    mc_free(k);
    k = mc_te_key_segment("c1", "nvmeof/x");
    ck_assert_str_eq(k, "mooncake/c1/nvmeof/x");
    mc_free(k);
    char ts[32];
    mc_te_format_timestamp(0, ts);
    ck_assert_str_eq(ts, "1970-01-01 00:00:00.000000");
    mc_te_format_timestamp(1787404338123456789ULL, ts);
    ck_assert_str_eq(ts, "2026-08-22 13:12:18.123456");
    mc_te_format_timestamp(951782400000000000ULL, ts); /* leap day */
    ck_assert_str_eq(ts, "2000-02-29 00:00:00.000000");
}
END_TEST

static void meta_cb(void *arg, int err, const char *value, size_t len)
{
    char *out = arg;
    snprintf(out, 64, "%d:%.*s", err, value ? (int)len : 4, value ? value : "null");
}

START_TEST(test_mem_backend)
{
    fw_t *w = fw_new();
    fw_node_t *n = fw_add_node(w, "A");
    mc_te_meta_mem_store_t *s = mc_te_meta_mem_store_new();
    mc_te_meta_t *m = mc_te_meta_mem_open(s, &n->env, 100);
    char r1[64] = "", r2[64] = "", r3[64] = "", r4[64] = "";
    mc_te_meta_put(m, "k", "v1", 2, meta_cb, r1);
    mc_te_meta_get(m, "k", meta_cb, r2);
    mc_te_meta_get(m, "missing", meta_cb, r3);
    ck_assert_str_eq(r1, ""); /* never inside the call */
    ck_assert_uint_eq(mc_te_meta_mem_store_count(s), 0);
    fw_run(w, 1000);
    ck_assert_str_eq(r1, "0:null"); /* puts carry no value */
    ck_assert_str_eq(r2, "0:v1"); /* ops apply in issue order */
    ck_assert_str_eq(r3, "0:null");
    /* cancel: no callback, no effect */
    uint64_t id = mc_te_meta_del(m, "k", meta_cb, r4);
    mc_te_meta_cancel(m, &id);
    ck_assert_uint_eq(id, 0);
    fw_run(w, 1000);
    ck_assert_str_eq(r4, "");
    ck_assert_str_eq(mc_te_meta_mem_store_get(s, "k", NULL), "v1");
    mc_te_meta_del(m, "k", NULL, NULL);
    mc_te_meta_del(m, "nothing", meta_cb, r4);
    fw_run(w, 1000);
    ck_assert_str_eq(r4, "0:null");
    ck_assert_ptr_null(mc_te_meta_mem_store_get(s, "k", NULL));
    /* down: every op fails with ERR_METADATA */
    mc_te_meta_mem_store_set_down(s, true);
    mc_te_meta_put(m, "k", "v", 1, meta_cb, r1);
    fw_run(w, 1000);
    ck_assert_int_eq(atoi(r1), MC_TE_ERR_METADATA);
    ck_assert_uint_eq(mc_te_meta_mem_store_count(s), 0);
    mc_te_meta_mem_store_set_down(s, false);
    /* restart empty */
    mc_te_meta_mem_store_put(s, "a", "1", 1);
    mc_te_meta_mem_store_put(s, "b", "2", 1);
    ck_assert_uint_eq(mc_te_meta_mem_store_count(s), 2);
    mc_te_meta_mem_store_clear(s);
    ck_assert_uint_eq(mc_te_meta_mem_store_count(s), 0);
    /* destroy with ops pending: no callbacks, no leaks */
    mc_te_meta_get(m, "x", meta_cb, r1);
    mc_te_meta_destroy(m);
    mc_te_meta_mem_store_unref(s); /* the client held a reference until destroy */
    fw_run(w, 1000);
    fw_free(w);
}
END_TEST

/* ---- control messages ---- */

static void check_valid(const mc_wbuf_t *w)
{
    const char *why = NULL;
    ck_assert_int_eq(mc_msg_validate(w->data, w->len, &why), MC_OK);
    /* every truncation is rejected without reading past the end */
    for (size_t n = 0; n < w->len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, w->data, n);
        ck_assert_int_ne(mc_msg_validate(cut, n, &why), MC_OK);
        free(cut);
    }
}

START_TEST(test_msgs_roundtrip)
{
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_wire_hdr_t hdr;
    mc_rbuf_t r;
    const char *why;

    mc_msg_te_notify_t n = {mc_slice_cstr("agent1"), mc_slice_cstr("notification0")};
    mc_msg_te_notify_encode(&w, 7, &n);
    check_valid(&w);
    ck_assert_int_eq(mc_wire_open(w.data, w.len, &hdr, &r, &why), MC_OK);
    ck_assert_uint_eq(hdr.type, MC_MSG_TE_NOTIFY);
    ck_assert_uint_eq(hdr.req_id, 7);
    mc_msg_te_notify_t n2;
    ck_assert_int_eq(mc_msg_te_notify_decode(&r, &n2), MC_OK);
    ck_assert(mc_slice_eq_cstr(n2.name, "agent1"));
    ck_assert(mc_slice_eq_cstr(n2.msg, "notification0"));
    ck_assert_str_eq(mc_msg_type_name(MC_MSG_TE_NOTIFY), "te_notify");

    uint16_t st_types[] = {MC_MSG_TE_NOTIFY_REPLY, MC_MSG_TE_PROBE_REPLY, MC_MSG_TE_META_PUT_REPLY,
                           MC_MSG_TE_META_DEL_REPLY};
    for (size_t i = 0; i < 4; i++) {
        mc_msg_te_status_t s = {MC_TE_ERR_METADATA};
        mc_msg_te_status_encode(&w, st_types[i], 9, &s);
        check_valid(&w);
        ck_assert_int_eq(mc_wire_open(w.data, w.len, &hdr, &r, &why), MC_OK);
        ck_assert(hdr.flags & MC_WIRE_FLAG_RESPONSE);
        mc_msg_te_status_t s2;
        ck_assert_int_eq(mc_msg_te_status_decode(&r, &s2), MC_OK);
        ck_assert_int_eq(s2.status, MC_TE_ERR_METADATA);
    }
    /* a positive status is not a TE error code */
    mc_msg_te_status_t sp = {5};
    mc_msg_te_status_encode(&w, MC_MSG_TE_NOTIFY_REPLY, 1, &sp);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);

    mc_msg_te_probe_encode(&w, 3);
    check_valid(&w);

    uint16_t req_types[] = {MC_MSG_TE_META_GET, MC_MSG_TE_META_PUT, MC_MSG_TE_META_DEL};
    for (size_t i = 0; i < 3; i++) {
        mc_msg_te_meta_req_t q = {mc_slice_cstr("mooncake/ram/x"), mc_slice_cstr("{}")};
        mc_msg_te_meta_req_encode(&w, req_types[i], 11, &q);
        check_valid(&w);
        ck_assert_int_eq(mc_wire_open(w.data, w.len, &hdr, &r, &why), MC_OK);
        mc_msg_te_meta_req_t q2;
        ck_assert_int_eq(mc_msg_te_meta_req_decode(&r, req_types[i], &q2), MC_OK);
        ck_assert(mc_slice_eq_cstr(q2.key, "mooncake/ram/x"));
        ck_assert_uint_eq(q2.value.len, req_types[i] == MC_MSG_TE_META_PUT ? 2 : 0);
    }
    /* empty key rejected */
    mc_msg_te_meta_req_t qe = {mc_slice_cstr(""), mc_slice_cstr("")};
    mc_msg_te_meta_req_encode(&w, MC_MSG_TE_META_GET, 1, &qe);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);

    mc_msg_te_meta_get_reply_t g = {0, 1, mc_slice_cstr("{\"a\":1}")};
    mc_msg_te_meta_get_reply_encode(&w, 12, &g);
    check_valid(&w);
    g.found = 0; /* not found must carry no value */
    mc_msg_te_meta_get_reply_encode(&w, 12, &g);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);
    g.value = mc_slice(NULL, 0);
    mc_msg_te_meta_get_reply_encode(&w, 12, &g);
    check_valid(&w);
    g.found = 2;
    mc_msg_te_meta_get_reply_encode(&w, 12, &g);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);

    /* unknown type inside the TE range */
    mc_wire_begin(&w, 599, 0, 1);
    mc_wire_finish(&w);
    ck_assert_int_eq(mc_msg_validate(w.data, w.len, &why), MC_INVALID_PARAMS);
    mc_rbuf_init(&r, NULL, 0);
    ck_assert_int_eq(mc_msg_te_validate(599, &r), MC_INVALID_PARAMS);
    mc_wbuf_free(&w);
}
END_TEST

/* A TE answers metadata gets for its own keys (P2P-style descriptor
 * exchange), probes, notifies, and refuses metadata puts/deletes. */
typedef struct replies {
    int n;
    uint16_t type[16];
    int32_t status[16];
    uint8_t found[16];
    char value[16][2048];
} replies_t;

static bool capture(fw_node_t *n, mc_conn_t c, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    replies_t *x = n->hook_arg;
    int i = x->n++;
    x->type[i] = hdr->type;
    if (hdr->type == MC_MSG_TE_META_GET_REPLY) {
        mc_msg_te_meta_get_reply_t g;
        ck_assert_int_eq(mc_msg_te_meta_get_reply_decode(body, &g), MC_OK);
        x->status[i] = g.status;
        x->found[i] = g.found;
        snprintf(x->value[i], sizeof x->value[i], "%.*s", (int)g.value.len, (const char *)g.value.p);
    } else {
        mc_msg_te_status_t st;
        ck_assert_int_eq(mc_msg_te_status_decode(body, &st), MC_OK);
        x->status[i] = st.status;
    }
    return true;
}

START_TEST(test_te_serves_own_metadata)
{
    fw_t *w = fw_new();
    fw_node_t *a = fw_add_node(w, "A");
    fw_node_t *b = fw_add_node(w, "B");
    mc_conf_t c;
    mc_conf_init(&c);
    mc_conf_set(&c, "addr", b->addr);
    mc_conf_set(&c, "protocol", "tcp");
    b->te = mc_te_create(&b->env, &c, NULL, NULL, 0);
    mc_conf_free(&c);
    ck_assert_ptr_nonnull(b->te);
    uint8_t mem[128];
    ck_assert_int_eq(mc_te_register(b->te, mem, sizeof mem, "*", true, true), 0);
    replies_t rep;
    memset(&rep, 0, sizeof rep);
    a->frame_hook = capture;
    a->hook_arg = &rep;
    mc_conn_t conn;
    ck_assert_int_eq(a->env.ops->conn_open(&a->env, b->addr, &conn), MC_OK);
    fw_run(w, MS);
    mc_wbuf_t f;
    mc_wbuf_init(&f);
#define SEND() ck_assert_int_eq(a->env.ops->conn_send(&a->env, conn, f.data, f.len), MC_OK)
    mc_msg_te_meta_req_t q = {mc_slice_cstr("mooncake/ram/B"), mc_slice(NULL, 0)};
    mc_msg_te_meta_req_encode(&f, MC_MSG_TE_META_GET, 1, &q);
    SEND();
    q.key = mc_slice_cstr("mooncake/rpc_meta/B");
    mc_msg_te_meta_req_encode(&f, MC_MSG_TE_META_GET, 2, &q);
    SEND();
    q.key = mc_slice_cstr("mooncake/ram/other");
    mc_msg_te_meta_req_encode(&f, MC_MSG_TE_META_GET, 3, &q);
    SEND();
    q.value = mc_slice_cstr("{}");
    mc_msg_te_meta_req_encode(&f, MC_MSG_TE_META_PUT, 4, &q);
    SEND();
    mc_msg_te_probe_encode(&f, 5);
    SEND();
    /* a notify with a truncated body is answered with an error, not a crash */
    mc_msg_te_notify_t nt = {mc_slice_cstr("n"), mc_slice_cstr("m")};
    mc_msg_te_notify_encode(&f, 6, &nt);
    f.len -= 1;
    f.data[16] = (uint8_t)(f.data[16] - 1); /* body_len */
    SEND();
#undef SEND
    fw_run(w, MS);
    ck_assert_int_eq(rep.n, 6);
    ck_assert_uint_eq(rep.type[0], MC_MSG_TE_META_GET_REPLY);
    ck_assert_int_eq(rep.found[0], 1);
    mc_te_seg_desc_t d;
    ck_assert_int_eq(mc_te_seg_desc_decode(rep.value[0], strlen(rep.value[0]), &d, NULL, 0), 0);
    ck_assert(mc_te_seg_desc_equal(&d, mc_te_local_desc(b->te)));
    ck_assert_str_eq(d.protocol, "tcp");
    ck_assert_int_eq(d.tcp_data_port, 15000);
    ck_assert_int_eq(d.tcp_proto_version, 2);
    ck_assert_uint_eq(d.nbuffers, 1);
    ck_assert_str_eq(d.buffers[0].name, "B");
    mc_te_seg_desc_free(&d);
    ck_assert_int_eq(rep.found[1], 1);
    ck_assert_str_eq(rep.value[1], "{\"ip_or_host_name\":\"B\",\"rpc_port\":15000}");
    ck_assert_int_eq(rep.found[2], 0);
    ck_assert_uint_eq(rep.type[3], MC_MSG_TE_META_PUT_REPLY);
    ck_assert_int_eq(rep.status[3], MC_TE_ERR_NOT_IMPLEMENTED);
    ck_assert_uint_eq(rep.type[4], MC_MSG_TE_PROBE_REPLY);
    ck_assert_int_eq(rep.status[4], 0);
    ck_assert_uint_eq(rep.type[5], MC_MSG_TE_NOTIFY_REPLY);
    ck_assert_int_eq(rep.status[5], MC_TE_ERR_INVALID_ARGUMENT);
    mc_te_notify_t *v;
    ck_assert_uint_eq(mc_te_get_notifies(b->te, &v), 0);
    mc_wbuf_free(&f);
    mc_te_destroy(b->te);
    fw_free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("te_meta");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rdma_roundtrip_exact);
    tcase_add_test(tc, test_tcp_roundtrip_exact);
    tcase_add_test(tc, test_optional_fields);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_rpc_meta);
    tcase_add_test(tc, test_keys_and_timestamp);
    tcase_add_test(tc, test_mem_backend);
    tcase_add_test(tc, test_msgs_roundtrip);
    tcase_add_test(tc, test_te_serves_own_metadata);
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
