/* TE descriptors carry registration keys: a tcp-shaped descriptor of ours
 * publishes one rkey/lkey per buffer (upstream's rdma shape has one per
 * device; upstream's tcp shape none, which still decodes), the JSON round
 * trip keeps them, and a key count that fits neither shape is rejected. */
#include <check.h>
#include <string.h>

#include "base/mc_mem.h"
#include "te/mc_te_meta_desc.h"

static void tcp_desc(mc_te_seg_desc_t *d, uint32_t key)
{
    mc_te_seg_desc_init(d);
    d->name = mc_strdup("n1");
    d->protocol = mc_strdup("tcp");
    d->tcp_data_port = 12345;
    d->tcp_proto_version = 2;
    mc_te_buffer_desc_t *b = mc_te_seg_desc_add_buffer(d, "n1", 0x10000, 4096, 1);
    b->rkey[0] = b->lkey[0] = key;
}

START_TEST(test_tcp_rkey_roundtrip)
{
    mc_te_seg_desc_t d, e;
    tcp_desc(&d, 0xabcdef01u);
    char *json = mc_te_seg_desc_encode(&d);
    ck_assert_ptr_nonnull(strstr(json, "\"rkey\""));
    char err[256] = "";
    mc_te_seg_desc_init(&e);
    ck_assert_int_eq(mc_te_seg_desc_decode(json, strlen(json), &e, err, sizeof err), 0);
    ck_assert_uint_eq(e.nbuffers, 1);
    ck_assert_uint_eq(e.buffers[0].nrkey, 1);
    ck_assert_uint_eq(e.buffers[0].rkey[0], 0xabcdef01u);
    ck_assert_uint_eq(e.buffers[0].lkey[0], 0xabcdef01u);
    mc_te_seg_desc_free(&e);
    mc_free(json);
    mc_te_seg_desc_free(&d);
}
END_TEST

START_TEST(test_tcp_key_shapes)
{
    char err[256] = "";
    mc_te_seg_desc_t e;
    /* upstream's tcp shape: no keys (our peers then send key 0) */
    static const char up[] = "{\"name\":\"u\",\"protocol\":\"tcp\",\"tcp_data_port\":1,"
                             "\"buffers\":[{\"name\":\"u\",\"addr\":4096,\"length\":64}]}";
    mc_te_seg_desc_init(&e);
    ck_assert_int_eq(mc_te_seg_desc_decode(up, strlen(up), &e, err, sizeof err), 0);
    ck_assert_uint_eq(e.buffers[0].nrkey, 0);
    mc_te_seg_desc_free(&e);
    /* two keys without devices fit no shape */
    static const char two[] = "{\"name\":\"u\",\"protocol\":\"tcp\",\"tcp_data_port\":1,"
                              "\"buffers\":[{\"name\":\"u\",\"addr\":4096,\"length\":64,"
                              "\"rkey\":[1,2],\"lkey\":[1,2]}]}";
    mc_te_seg_desc_init(&e);
    ck_assert_int_ne(mc_te_seg_desc_decode(two, strlen(two), &e, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "rkey"));
    mc_te_seg_desc_free(&e);
    /* rkey and lkey counts must agree */
    static const char odd[] = "{\"name\":\"u\",\"protocol\":\"tcp\",\"tcp_data_port\":1,"
                              "\"buffers\":[{\"name\":\"u\",\"addr\":4096,\"length\":64,"
                              "\"rkey\":[1],\"lkey\":[]}]}";
    mc_te_seg_desc_init(&e);
    ck_assert_int_ne(mc_te_seg_desc_decode(odd, strlen(odd), &e, err, sizeof err), 0);
    mc_te_seg_desc_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("te_rkey");
    TCase *tc = tcase_create("rkey");
    tcase_add_test(tc, test_tcp_rkey_roundtrip);
    tcase_add_test(tc, test_tcp_key_shapes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
