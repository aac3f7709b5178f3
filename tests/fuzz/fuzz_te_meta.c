/* libFuzzer target: transfer-engine metadata JSON decoders
 * (segment descriptor and rpc_meta, shared/spec/transfer.md §7.2).
 *
 * Contracts checked: only 0 or ERR_MALFORMED_JSON, a message on every
 * rejection, an empty descriptor after a rejection, and for an accepted
 * value an exact semantic round trip (decode(encode(d)) == d) with a
 * stable encoding (encode(decode(encode(d))) == encode(d)). The input is
 * copied into an exact-size heap buffer (not NUL-terminated) so
 * ASan/valgrind catch any read past the end.
 *
 * Built-in seeds (upstream's descriptor shapes) run on the first call, so
 * the gcc replay build exercises the accept paths even before a corpus
 * directory exists; the scenario files serve as other-shaped JSON input.
 * MC_FUZZ_SEEDS: scenarios */
#include <stdlib.h>
#include <string.h>

#include "te/mc_te_meta_desc.h"
#include "te/mc_te_status.h"
#include "base/mc_mem.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

static void fuzz_desc(const char *buf, size_t size)
{
    mc_te_seg_desc_t d;
    char err[160];
    err[0] = '\0';
    int rc = mc_te_seg_desc_decode(buf, size, &d, err, sizeof err);
    if (rc != MC_TE_ERR_OK) {
        CHECK(rc == MC_TE_ERR_MALFORMED_JSON);
        CHECK(err[0] != '\0');
        CHECK(d.name == NULL && d.nbuffers == 0 && d.ndevices == 0 && d.ntopo == 0);
        return;
    }
    CHECK(d.name != NULL && d.protocol != NULL);
    for (size_t i = 0; i < d.nbuffers; i++) {
        CHECK(d.buffers[i].name != NULL);
        CHECK(d.buffers[i].nrkey == 0 || d.buffers[i].nrkey == d.ndevices);
    }
    char *e1 = mc_te_seg_desc_encode(&d);
    mc_te_seg_desc_t d2;
    CHECK(mc_te_seg_desc_decode(e1, strlen(e1), &d2, NULL, 0) == MC_TE_ERR_OK);
    /* The encoder writes devices/keys/matrix only for RDMA-shaped
     * protocols, so compare against what survives that projection. */
    if (mc_te_proto_has_devices(d.protocol))
        CHECK(mc_te_seg_desc_equal(&d, &d2));
    char *e2 = mc_te_seg_desc_encode(&d2);
    CHECK(strcmp(e1, e2) == 0);
    mc_free(e1);
    mc_free(e2);
    mc_te_seg_desc_free(&d2);
    mc_te_seg_desc_free(&d);
}

static void fuzz_rpc_meta(const char *buf, size_t size)
{
    mc_te_rpc_meta_t m;
    char err[128];
    err[0] = '\0';
    int rc = mc_te_rpc_meta_decode(buf, size, &m, err, sizeof err);
    if (rc != MC_TE_ERR_OK) {
        CHECK(rc == MC_TE_ERR_MALFORMED_JSON);
        CHECK(err[0] != '\0');
        CHECK(m.ip_or_host_name == NULL);
        return;
    }
    char *e = mc_te_rpc_meta_encode(&m);
    mc_te_rpc_meta_t m2;
    CHECK(mc_te_rpc_meta_decode(e, strlen(e), &m2, NULL, 0) == MC_TE_ERR_OK);
    CHECK(strcmp(m.ip_or_host_name, m2.ip_or_host_name) == 0 && m.rpc_port == m2.rpc_port);
    mc_free(e);
    mc_te_rpc_meta_free(&m2);
    mc_te_rpc_meta_free(&m);
}

static const char *const builtin_seeds[] = {
    "{\"name\":\"10.0.0.1:15123\",\"protocol\":\"rdma\",\"tcp_data_port\":0,\"tcp_proto_version\":1,"
    "\"timestamp\":\"2026-08-22 13:12:18.123456\",\"devices\":[{\"name\":\"mlx5_0\",\"lid\":0,"
    "\"gid\":\"00:00:00:00:00:00:00:00:00:00:ff:ff:0a:00:00:01\"},{\"name\":\"mlx5_1\",\"lid\":0,\"gid\":\"x\"}],"
    "\"buffers\":[{\"name\":\"cpu:0\",\"addr\":140331184128000,\"length\":1073741824,"
    "\"rkey\":[2097152,2097408],\"lkey\":[2097152,2097408]}],"
    "\"priority_matrix\":{\"cpu:0\":[[\"mlx5_0\"],[\"mlx5_1\"]],\"cuda:0\":[[\"mlx5_1\"],[]]}}",
    "{\"name\":\"node1\",\"protocol\":\"tcp\",\"tcp_data_port\":15500,\"tcp_proto_version\":2,"
    "\"timestamp\":\"2026-08-22 13:12:18.123456\",\"buffers\":[{\"name\":\"node1\",\"addr\":4096,\"length\":65536}]}\n",
    "{\"name\":\"n\",\"protocol\":[\"tcp\",\"rdma\"],\"rdma_server_name\":\"1.2.3.4:5\",\"devices\":[],"
    "\"buffers\":[{\"name\":\"cpu:0\",\"addr\":1,\"length\":2,\"rkey\":[],\"lkey\":[],\"protocol\":\"tcp\"}]}",
    "{\"ip_or_host_name\":\"10.0.0.1\",\"rpc_port\":15123}",
};

static void one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int seeded;
    if (!seeded) {
        seeded = 1;
        for (size_t i = 0; i < sizeof builtin_seeds / sizeof builtin_seeds[0]; i++) {
            size_t n = strlen(builtin_seeds[i]);
            for (size_t k = 0; k <= n; k++) /* the seed and all its prefixes */
                one((const uint8_t *)builtin_seeds[i], k);
        }
    }
    one(data, size);
    return 0;
}

static void one(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (size)
        memcpy(buf, data, size);
    fuzz_desc(buf, size);
    fuzz_rpc_meta(buf, size);
    free(buf);
}
