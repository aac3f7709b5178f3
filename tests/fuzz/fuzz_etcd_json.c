/* libFuzzer target: the etcd v3 JSON-gateway response decoders and base64
 * (hw/meta/mc_hw_meta_etcd_json.c), i.e. every byte an etcd endpoint
 * sends back to the metadata backend.
 *
 * Contracts checked: parse_range returns -1/0/1 with a message exactly on
 * -1 and a NUL-terminated value exactly on 1, and its value survives a
 * round trip through a response we encode; parse_ok agrees with
 * parse_range on what is an error object; a successful strict base64
 * decode re-encodes to exactly the input. The input is copied into an
 * exact-size heap buffer so ASan/valgrind catch reads past the end.
 * MC_FUZZ_LINK: mc_hw_meta_codec */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_hw_meta_etcd_json.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

static void fuzz_range(const char *buf, size_t size, const char *key)
{
    char err[160] = "";
    char *v = (char *)1;
    size_t len = 99;
    int rc = mc_etcd_parse_range(buf, size, key, &v, &len, err, sizeof err);
    CHECK(rc >= -1 && rc <= 1);
    if (rc != 1) {
        CHECK(v == NULL && len == 0);
        CHECK((rc == -1) == (err[0] != '\0'));
        if (rc == 0)
            CHECK(mc_etcd_parse_ok(buf, size, NULL, 0) == 0);
        return;
    }
    CHECK(v != NULL && v[len] == '\0');
    CHECK(mc_etcd_parse_ok(buf, size, NULL, 0) == 0);
    /* Round trip through an encoded response. */
    char *kb = mc_b64_encode(key, strlen(key)), *vb = mc_b64_encode(v, len);
    size_t n = strlen(kb) + strlen(vb) + 64;
    char *resp = mc_malloc(n);
    int rn = snprintf(resp, n, "{\"header\":{},\"kvs\":[{\"key\":\"%s\",\"value\":\"%s\"}]}", kb, vb);
    char *v2 = NULL;
    size_t len2 = 0;
    CHECK(mc_etcd_parse_range(resp, (size_t)rn, key, &v2, &len2, NULL, 0) == 1);
    CHECK(len2 == len && memcmp(v, v2, len) == 0);
    mc_free(v2);
    mc_free(resp);
    mc_free(kb);
    mc_free(vb);
    mc_free(v);
}

static void fuzz_b64(const char *buf, size_t size)
{
    unsigned char *out = mc_malloc(size / 4 * 3 + 1);
    long n = mc_b64_decode(buf, size, out);
    if (n >= 0) {
        CHECK((size_t)n <= size / 4 * 3);
        char *e = mc_b64_encode(out, (size_t)n);
        CHECK(strlen(e) == size && memcmp(e, buf, size) == 0);
        mc_free(e);
    }
    /* Any bytes encode and decode back. */
    char *e = mc_b64_encode(buf, size);
    unsigned char *back = mc_malloc(size + 1);
    CHECK(mc_b64_decode(e, strlen(e), back) == (long)size);
    CHECK(memcmp(back, buf, size) == 0);
    mc_free(back);
    mc_free(e);
    mc_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = mc_malloc(size ? size : 1);
    memcpy(buf, data, size);
    fuzz_range(buf, size, "k");
    fuzz_range(buf, size, "mooncake/ram/seg");
    char err[160] = "";
    int rc = mc_etcd_parse_ok(buf, size, err, sizeof err);
    CHECK(rc == 0 || (rc == -1 && err[0] != '\0'));
    fuzz_b64(buf, size);
    mc_free(buf);
    return 0;
}
