/* Exercises every libmooncake call against a live master (run by
 * run_with_master.sh; under ASan/LSan in Debug builds, so leaks fail it).
 *   store_api_check MASTER_ADDR */
#include <mooncake/store.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                   \
        }                                                                 \
    } while (0)
#define K(s) (s), strlen(s)

static void check_null_store(void)
{
    void *v = (void *)1;
    size_t n = 7;
    int r[1];
    const void *keys[1] = {"k"};
    size_t klens[1] = {1};
    CHECK(mooncake_store_put(NULL, K("k"), "v", 1, NULL) == -600);
    CHECK(mooncake_store_get(NULL, K("k"), &v, &n) == -600 && v == NULL && n == 0);
    CHECK(mooncake_store_is_exist(NULL, K("k")) == -600);
    CHECK(mooncake_store_remove_all(NULL, false) == -600);
    CHECK(mooncake_store_register_buffer(NULL, &n, 8) == -600);
    mooncake_store_batch_remove(NULL, 1, keys, klens, false, r);
    CHECK(r[0] == -600);
    CHECK(mooncake_store_health(NULL) == 1);
    CHECK(strcmp(mooncake_store_hostname(NULL), "") == 0);
    CHECK(mooncake_store_get_buffer(NULL, K("k"), NULL) == NULL);
    mooncake_store_close(NULL);
}

static void check_copying(mooncake_store_t *s)
{
    void *v = NULL;
    size_t n = 0;
    const void *parts[3] = {"ab", "", "cd"};
    size_t lens[3] = {2, 0, 2};
    CHECK(mooncake_store_put_parts(s, K("c.parts"), 3, parts, lens, NULL) == 0);
    CHECK(mooncake_store_get(s, K("c.parts"), &v, &n) == 0 && n == 4 && memcmp(v, "abcd", 4) == 0);
    mooncake_free(v);
    CHECK(mooncake_store_upsert_parts(s, K("c.parts"), 1, parts, lens, NULL) == 0);
    CHECK(mooncake_store_get_size(s, K("c.parts")) == 2);
    CHECK(mooncake_store_put_parts(s, K("c.empty"), 0, NULL, NULL, NULL) == 0);
    CHECK(mooncake_store_is_exist(s, K("c.empty")) == 0);

    const void *keys[3] = {"c.b1", "c.b2", ""};
    size_t klens[3] = {4, 4, 0};
    const void *vals[3] = {"1", "22", "333"};
    size_t vlens[3] = {1, 2, 3};
    int r[3];
    mooncake_store_batch_upsert(s, 3, keys, klens, vals, vlens, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == -600);
    mooncake_store_batch_remove(s, 3, keys, klens, true, r);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == -600);
    mooncake_store_batch_remove(s, 2, keys, klens, false, r);
    CHECK(r[0] == -704 && r[1] == -704);

    mooncake_replicate_config_t cfg;
    mooncake_replicate_config_init(&cfg);
    const char *groups[2] = {"g1", "g2"};
    cfg.group_ids = groups;
    cfg.n_group_ids = 2;
    CHECK(mooncake_store_put(s, K("c.g"), "v", 1, &cfg) == -600);
    mooncake_store_batch_put(s, 2, keys, klens, vals, vlens, &cfg, r);
    CHECK(r[0] == 0 && r[1] == 0);
    cfg.n_group_ids = 0;
    cfg.group_ids = NULL;
    cfg.replica_num = 0;
    CHECK(mooncake_store_put(s, K("c.r0"), "v", 1, &cfg) == -600);
}

static void check_handles(mooncake_store_t *s, mooncake_buffer_t **keep)
{
    int err = 0;
    CHECK(mooncake_store_put(s, K("h.a"), "handle", 6, NULL) == 0);
    mooncake_buffer_t *h = mooncake_store_get_buffer(s, K("h.a"), &err);
    CHECK(h && err == 0 && mooncake_buffer_size(h) == 6 && memcmp(mooncake_buffer_data(h), "handle", 6) == 0);
    CHECK(mooncake_store_get_buffer(s, K("h.none"), &err) == NULL && err == -704);
    const void *keys[2] = {"h.a", "h.none"};
    size_t klens[2] = {3, 6};
    mooncake_buffer_t *out[2];
    int errs[2];
    mooncake_store_batch_get_buffer(s, 2, keys, klens, out, errs);
    CHECK(out[0] && !out[1] && errs[0] == 0 && errs[1] == -704);
    mooncake_buffer_release(out[0]);
    *keep = h; /* released after close */

    mooncake_replica_desc_t d[MOONCAKE_MAX_REPLICAS];
    CHECK(mooncake_store_get_replica_desc(s, K("h.a"), d, MOONCAKE_MAX_REPLICAS) == 1);
    CHECK(d[0].status == 3 && d[0].type == 0 && d[0].size == 6 && d[0].buffer_address != 0);
    CHECK(strcmp(d[0].transport_endpoint, mooncake_store_hostname(s)) == 0);
    CHECK(mooncake_store_get_replica_desc(s, K("h.none"), d, MOONCAKE_MAX_REPLICAS) == -704);
    int counts[2];
    mooncake_replica_desc_t bd[2 * MOONCAKE_MAX_REPLICAS];
    mooncake_store_batch_get_replica_desc(s, 2, keys, klens, bd, MOONCAKE_MAX_REPLICAS, counts);
    CHECK(counts[0] == 1 && counts[1] == -704 && bd[0].size == 6);
}

static void check_zero_copy(mooncake_store_t *s)
{
    enum { N = 4096 };
    unsigned char *src = malloc(N), *dst = calloc(1, N), *other = calloc(1, 64);
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)(i * 7);
    CHECK(mooncake_store_put_from(s, K("z.a"), src, 100, NULL) == -600); /* unregistered */
    CHECK(mooncake_store_register_buffer(s, src, N) == 0);
    CHECK(mooncake_store_register_buffer(s, src + 10, 10) == -600);
    CHECK(mooncake_store_register_buffer(s, dst, N) == 0);
    CHECK(mooncake_store_put_from(s, K("z.a"), src, 100, NULL) == 0);
    CHECK(mooncake_store_put_from(s, K("z.zero"), src, 0, NULL) == 0);
    CHECK(mooncake_store_is_exist(s, K("z.zero")) == 0);
    CHECK(mooncake_store_get_into(s, K("z.a"), dst, N) == 100 && memcmp(src, dst, 100) == 0);
    CHECK(mooncake_store_get_into(s, K("z.a"), dst, 99) == -600);
    CHECK(mooncake_store_get_into(s, K("z.a"), other, 64) == -600);
    CHECK(mooncake_store_upsert_from(s, K("z.a"), src + 1, 50, NULL) == 0);
    CHECK(mooncake_store_get_size(s, K("z.a")) == 50);
    CHECK(mooncake_store_put_from_with_metadata(s, K("z.m"), src + 8, src, 4, 8, NULL) == 0);
    CHECK(mooncake_store_get_into(s, K("z.m"), dst, N) == 12 && memcmp(dst, src, 12) == 0);

    const void *keys[2] = {"z.b1", "z.b2"};
    size_t klens[2] = {4, 4};
    const void *bufs[2] = {src, src + 1000};
    void *dbufs[2] = {dst, dst + 2000};
    size_t sizes[2] = {10, 20}, dsizes[2] = {2000, 2000};
    int r[2];
    int64_t r64[2];
    mooncake_store_batch_put_from(s, 2, keys, klens, bufs, sizes, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0);
    mooncake_store_batch_upsert_from(s, 2, keys, klens, bufs, sizes, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0);
    mooncake_store_batch_get_into(s, 2, keys, klens, dbufs, dsizes, r64);
    CHECK(r64[0] == 10 && r64[1] == 20 && memcmp(dst + 2000, src + 1000, 20) == 0);

    const void *p0[2] = {src, src + 500}, *p1[1] = {src + 900};
    const void *const *mbufs[2] = {p0, p1};
    size_t s0[2] = {5, 6}, s1[1] = {7};
    const size_t *msizes[2] = {s0, s1};
    size_t nb[2] = {2, 1};
    const void *mkeys[2] = {"z.m1", "z.m2"};
    mooncake_store_batch_put_from_multi_buffers(s, 2, mkeys, klens, mbufs, msizes, nb, NULL, r);
    CHECK(r[0] == 0 && r[1] == 0);
    void *g0[2] = {dst, dst + 100}, *g1[1] = {dst + 200};
    void *const *gbufs[2] = {g0, g1};
    size_t gs0[2] = {3, 8}, gs1[1] = {6};
    const size_t *gsizes[2] = {gs0, gs1};
    mooncake_store_batch_get_into_multi_buffers(s, 2, mkeys, klens, gbufs, gsizes, nb, r64);
    CHECK(r64[0] == 11 && r64[1] == -600);
    CHECK(memcmp(dst, src, 3) == 0 && memcmp(dst + 100, src + 3, 2) == 0 && memcmp(dst + 102, src + 500, 6) == 0);

    /* ranges: one buffer, key z.a (50 bytes) two fragments + a missing key */
    uint64_t d0[2] = {0, 10}, s0r[2] = {0, 45}, z0[2] = {4, 6};
    uint64_t d1[1] = {0}, s1r[1] = {0}, z1[1] = {1};
    int64_t res0[2], res1[1];
    mooncake_range_key_t rk[2] = {
        {"z.a", 3, 2, d0, s0r, z0, res0},
        {"z.none", 6, 1, d1, s1r, z1, res1},
    };
    mooncake_range_buffer_t rb = {dst, 2, rk};
    mooncake_store_get_into_ranges(s, 1, &rb);
    CHECK(res0[0] == 4 && res0[1] == -600 && res1[0] == -704);
    CHECK(memcmp(dst, src + 1, 4) == 0);
    mooncake_range_buffer_t bad = {other, 1, rk};
    mooncake_store_get_into_ranges(s, 1, &bad);
    CHECK(res0[0] == -600 && res0[1] == -600);

    CHECK(mooncake_store_unregister_buffer(s, src + 1) == -600);
    CHECK(mooncake_store_unregister_buffer(s, src) == 0);
    CHECK(mooncake_store_unregister_buffer(s, dst) == 0);
    free(src);
    free(dst);
    free(other);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_api_check MASTER_ADDR\n");
        return 2;
    }
    check_null_store();
    mooncake_store_t *s = NULL;
    int rc = mooncake_store_setup(&s, "127.0.0.1", "http://127.0.0.1:8080/metadata", 32u << 20, 1u << 20, "tcp", "", argv[1]);
    if (rc != 0) {
        fprintf(stderr, "setup failed: %d (%s)\n", rc, mooncake_strerror(rc));
        return 1;
    }
    CHECK(mooncake_store_health(s) == 0);
    check_copying(s);
    mooncake_buffer_t *keep = NULL;
    check_handles(s, &keep);
    check_zero_copy(s);
    static char big[2u << 20];
    CHECK(mooncake_store_put(s, K("big"), big, sizeof big, NULL) == -600); /* > 1 MiB local buffer */
    CHECK(mooncake_store_remove_all(s, true) >= 0);
    mooncake_store_close(s);
    CHECK(keep && memcmp(mooncake_buffer_data(keep), "handle", 6) == 0);
    mooncake_buffer_release(keep);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("store_api_check: all checks passed\n");
    return 0;
}
