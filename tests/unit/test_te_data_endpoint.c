/* The optional "mc_data_endpoint" of a TE segment descriptor (hw rdma:
 * the xport descriptor peers name in transfers): codec round trip,
 * equality, absence, and malformed values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "te/mc_te_meta_desc.h"

#define EP "mcx1 host=10.0.0.1 port=40000 shm=1 rdma=40001"

static const char *JSON =
    "{\"name\":\"n1\",\"protocol\":\"tcp\",\"tcp_data_port\":0,\"tcp_proto_version\":2,"
    "\"timestamp\":\"2026-08-22 13:12:18.123456\",\"mc_data_endpoint\":\"" EP "\","
    "\"buffers\":[{\"name\":\"n1\",\"addr\":4096,\"length\":65536}]}";

START_TEST(test_roundtrip_exact)
{
    mc_te_seg_desc_t d, e;
    char err[160] = "";
    ck_assert_int_eq(mc_te_seg_desc_decode(JSON, strlen(JSON), &d, err, sizeof err), 0);
    ck_assert_str_eq(d.data_endpoint, EP);
    char *out = mc_te_seg_desc_encode(&d);
    const char *at = strstr(out, "\"addr\":                4096,"); /* right-aligned in 20 columns */
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(strncmp(out, JSON, (size_t)(at - out)), 0); /* upstream's bytes up to addr */
    ck_assert_str_eq(at + strlen("\"addr\":                4096"), strstr(JSON, ",\"length\""));
    ck_assert_int_eq(mc_te_seg_desc_decode(out, strlen(out), &e, NULL, 0), 0);
    ck_assert(mc_te_seg_desc_equal(&d, &e));
    mc_free(e.data_endpoint);
    e.data_endpoint = mc_strdup("mcx1 host=10.0.0.1 port=40000 shm=1 rdma=40002");
    ck_assert(!mc_te_seg_desc_equal(&d, &e)); /* a new verbs port is a new descriptor */
    mc_te_seg_desc_t c;
    mc_te_seg_desc_copy(&c, &d);
    ck_assert_str_eq(c.data_endpoint, EP);
    ck_assert(mc_te_seg_desc_equal(&c, &d));
    mc_te_seg_desc_free(&c);
    mc_te_seg_desc_free(&e);
    mc_te_seg_desc_free(&d);
    mc_free(out);
}
END_TEST

START_TEST(test_absent_and_malformed)
{
    const char *plain = "{\"name\":\"n1\",\"protocol\":\"tcp\",\"tcp_data_port\":15500,\"buffers\":[]}";
    mc_te_seg_desc_t d;
    char err[160] = "";
    ck_assert_int_eq(mc_te_seg_desc_decode(plain, strlen(plain), &d, err, sizeof err), 0);
    ck_assert_ptr_null(d.data_endpoint);
    char *out = mc_te_seg_desc_encode(&d);
    ck_assert_ptr_null(strstr(out, "mc_data_endpoint")); /* TCP descriptors keep upstream's shape */
    mc_free(out);
    mc_te_seg_desc_free(&d);

    const char *bad = "{\"name\":\"n1\",\"protocol\":\"tcp\",\"mc_data_endpoint\":7,\"buffers\":[]}";
    ck_assert_int_ne(mc_te_seg_desc_decode(bad, strlen(bad), &d, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "mc_data_endpoint"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("te_data_endpoint");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_roundtrip_exact);
    tcase_add_test(tc, test_absent_and_malformed);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
