/* Benchmark (not a test) of the store master core alone, in-process:
 * metadata operations per second for PutStart+PutEnd, GetReplicaList and
 * ExistKey, single and batched (128), with N objects resident (default
 * 1M), plus master heap memory per resident object.
 *
 *   bench_store_master [--objects N] [--replicas R] [--batch B] [--seed S]
 *
 * Memory is measured with mallinfo2 (heap bytes in use, malloc overhead
 * included) around filling the store; the master's own estimate without
 * malloc overhead is printed too. Benches may use libc time freely. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mc_rng.h"
#include "store/mc_master.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static uint64_t vclock; /* the master's notion of time: advances 1 us per op */

static void key_of(char *buf, uint64_t i) { snprintf(buf, 24, "key-%010llu", (unsigned long long)(i % 10000000000ull)); }

int main(int argc, char **argv)
{
    uint64_t nobj = 1000000, seed = 1;
    uint32_t repl = 1, batch = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--objects") && i + 1 < argc)
            nobj = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--replicas") && i + 1 < argc)
            repl = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--objects N] [--replicas R] [--batch B] [--seed S]\n", argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (batch == 0 || repl == 0)
        return 2;
    mc_rng_t rng;
    mc_rng_seed(&rng, seed);
    mc_master_config_t cfg;
    mc_master_config_default(&cfg);
    mc_master_t *m;
    if (mc_master_create(&cfg, &rng, &m) != MC_OK)
        return 1;
    vclock = 1000000000ull;
    /* Four clients with 64 GiB each (bookkeeping only: no memory behind it). */
    for (uint64_t c = 1; c <= 4; c++) {
        char name[32];
        snprintf(name, sizeof name, "10.0.0.%llu:12345", (unsigned long long)c);
        mc_segment_info_t s = {{c, c}, name, c << 40, 64ull << 30, NULL, "tcp", 0};
        mc_master_mount_segment(m, vclock, (mc_uuid_t){c, c}, &s);
    }
    mc_uuid_t writer = {1, 1};
    mc_replicate_config_t rc;
    memset(&rc, 0, sizeof rc);
    rc.replica_num = repl;
    const uint64_t osize = 4096;
    mc_replica_list_t one;
    char key[24];

    printf("store master bench: %llu objects, %u replica(s), %llu B each, batch %u\n", (unsigned long long)nobj,
           repl, (unsigned long long)osize, batch);

    /* 1. Fill with single PutStart+PutEnd. */
    size_t heap0 = heap_used();
    double t0 = now_s();
    for (uint64_t i = 0; i < nobj; i++) {
        key_of(key, i);
        mc_slice_t k = mc_slice_cstr(key);
        if (mc_master_put_start(m, vclock++, writer, k, osize, &rc, &one) != MC_OK ||
            mc_master_put_end(m, vclock++, writer, k, MC_REPLICA_TYPE_ALL, NULL) != MC_OK) {
            fprintf(stderr, "put %llu failed\n", (unsigned long long)i);
            return 1;
        }
    }
    double t1 = now_s();
    size_t heap1 = heap_used();
    double dt = t1 - t0;
    printf("%-34s %12.0f ops/s  (%.0f puts/s)\n", "PutStart+PutEnd single", 2.0 * (double)nobj / dt,
           (double)nobj / dt);
    printf("%-34s %12.1f B/object (heap, mallinfo2)  %.1f B/object (metadata, no malloc overhead)\n",
           "master memory", (double)(heap1 - heap0) / (double)nobj,
           (double)mc_master_footprint(m) / (double)nobj);

    /* Reads go to random resident keys; key strings are prepared outside
     * the timed regions (as a decoded request hands them over), and every
     * measured pass uses its own random order so no pass runs on a cache
     * warmed by the previous one. */
    uint64_t *order = malloc(nobj * sizeof *order);
    char (*keys)[24] = malloc(nobj * sizeof *keys);
    mc_slice_t *kslices = malloc(nobj * sizeof *kslices);
#define SHUFFLE()                                               \
    do {                                                        \
        for (uint64_t i_ = 0; i_ < nobj; i_++) {                \
            order[i_] = mc_rng_below(&rng, nobj);               \
            key_of(keys[i_], order[i_]);                        \
            kslices[i_] = mc_slice_cstr(keys[i_]);              \
        }                                                       \
    } while (0)
    SHUFFLE();

    /* 2. Single GetReplicaList / ExistKey. */
    uint64_t okc = 0;
    t0 = now_s();
    for (uint64_t i = 0; i < nobj; i++)
        okc += mc_master_get_replica_list(m, vclock++, kslices[i], &one) == MC_OK;
    dt = now_s() - t0;
    printf("%-34s %12.0f ops/s  (%llu ok)\n", "GetReplicaList single", (double)nobj / dt, (unsigned long long)okc);
    okc = 0;
    SHUFFLE();
    t0 = now_s();
    for (uint64_t i = 0; i < nobj; i++) {
        bool ex;
        mc_master_exist_key(m, vclock++, kslices[i], &ex);
        okc += ex;
    }
    dt = now_s() - t0;
    printf("%-34s %12.0f ops/s  (%llu ok)\n", "ExistKey single", (double)nobj / dt, (unsigned long long)okc);

    /* 3. Batched forms. Keys are prepared outside the timed region, as a
     * decoded request would hand them over. */
    char (*kb)[24] = malloc((size_t)batch * sizeof *kb);
    mc_slice_t *ks = malloc((size_t)batch * sizeof *ks);
    uint64_t *sizes = malloc((size_t)batch * sizeof *sizes);
    mc_replica_list_t *lists = malloc((size_t)batch * sizeof *lists);
    mc_status_t *st = malloc((size_t)batch * sizeof *st);
    bool *ex = malloc((size_t)batch * sizeof *ex);
    uint64_t nb = nobj / batch;
    SHUFFLE();
    t0 = now_s();
    for (uint64_t b = 0; b < nb; b++)
        mc_master_batch_get_replica_list(m, vclock++, &kslices[b * batch], batch, lists, st);
    dt = now_s() - t0;
    printf("%-34s %12.0f ops/s\n", "BatchGetReplicaList (keys/s)", (double)(nb * batch) / dt);
    SHUFFLE();
    t0 = now_s();
    for (uint64_t b = 0; b < nb; b++)
        mc_master_batch_exist_key(m, vclock++, &kslices[b * batch], batch, ex, st);
    dt = now_s() - t0;
    printf("%-34s %12.0f ops/s\n", "BatchExistKey (keys/s)", (double)(nb * batch) / dt);

    /* 4. Batched PutStart+PutEnd of extra keys on top of the resident
     * set, then BatchRemove of them. Round 0 grows the heap (fresh pages:
     * page faults and malloc growth dominate); round 1 reuses the memory
     * round 0 freed, which is the steady state of a store that evicts. */
    uint64_t nbput = nobj / 4 / batch;
    for (int round = 0; round < 2; round++) {
        double tput = 0, trm = 0;
        for (uint64_t b = 0; b < nbput; b++) {
            for (uint32_t j = 0; j < batch; j++) {
                key_of(kb[j], nobj + b * batch + j);
                ks[j] = mc_slice_cstr(kb[j]);
                sizes[j] = osize;
            }
            t0 = now_s();
            mc_master_batch_put_start(m, vclock++, writer, ks, sizes, batch, &rc, lists, st);
            mc_master_batch_put_end(m, vclock++, writer, ks, batch, st);
            tput += now_s() - t0;
        }
        for (uint64_t b = 0; b < nbput; b++) {
            for (uint32_t j = 0; j < batch; j++) {
                key_of(kb[j], nobj + b * batch + j);
                ks[j] = mc_slice_cstr(kb[j]);
            }
            t0 = now_s();
            mc_master_batch_remove(m, vclock++, ks, batch, false, st);
            trm += now_s() - t0;
        }
        const char *what = round ? "BatchPutStart+End (steady)" : "BatchPutStart+End (heap growth)";
        printf("%-34s %12.0f ops/s  (%.0f puts/s)\n", what, 2.0 * (double)(nbput * batch) / tput,
               (double)(nbput * batch) / tput);
        if (round)
            printf("%-34s %12.0f ops/s\n", "BatchRemove (keys/s)", (double)(nbput * batch) / trm);
    }

    /* 5. Eviction pass over the resident set (census + sort + evict 5%). */
    t0 = now_s();
    uint64_t ev = mc_master_batch_evict(m, vclock + 20000000000ull, 0.05, 0.05);
    printf("%-34s %12.3f s  (%llu evicted of %llu)\n", "BatchEvict 5%", now_s() - t0, (unsigned long long)ev,
           (unsigned long long)nobj);

    char err[256];
    if (!mc_master_check(m, err, sizeof err)) {
        fprintf(stderr, "invariant violated: %s\n", err);
        return 1;
    }
    mc_master_destroy(m);
    free(order);
    free(keys);
    free(kslices);
    free(kb);
    free(ks);
    free(sizes);
    free(lists);
    free(st);
    free(ex);
    return 0;
}
