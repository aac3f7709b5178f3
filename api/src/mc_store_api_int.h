/* Internals of the blocking C facade (libmooncake), shared by its files:
 *
 *   mc_store_api_run.c        operations handed to the loop thread, waiting
 *   mc_store_api_lifecycle.c  setup, close, hostname, health
 *   mc_store_api_single.c     put/get/exist/size/remove (one key)
 *   mc_store_api_batch.c      batch forms of the copying operations
 *   mc_store_api_buffers.c    registered-buffer table, local-buffer budget
 *   mc_store_api_zero_copy.c  put_from/get_into (+batch, multi-buffer, parts)
 *   mc_store_api_handle.c     get_buffer handles
 *   mc_store_api_ranges.c     get_into_ranges
 *   mc_store_api_config.c     ReplicateConfig conversion
 *   mc_store_api_replicas.c   get_replica_desc */
#ifndef MC_STORE_API_INT_H
#define MC_STORE_API_INT_H

#include <pthread.h>
#include <stdio.h>

#include "mooncake/store.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "storesvc/mc_store_client.h"

/* The local buffer (setup's local_buffer_size): the staging budget of the
 * copying calls. Shared by the store and the buffer handles it hands out
 * (a handle may outlive its store), hence reference counted. */
typedef struct mc_api_lbuf {
    pthread_mutex_t mu;
    uint64_t cap;
    uint64_t used;
    unsigned refs;
} mc_api_lbuf_t;

typedef struct mc_api_region {
    uintptr_t base;
    size_t len;
} mc_api_region_t;

struct mooncake_store {
    mc_loop_t *loop;
    mc_env_t *env;
    FILE *trace_sink; /* structured traces: stderr with MC_TRACE=1, else /dev/null */
    pthread_t thread;
    bool thread_started;
    mc_store_client_t sc;
    bool sc_ready;
    char addr[300];
    char master[300];
    bool p2p; /* metadata_server "P2PHANDSHAKE": descriptors name transport endpoints */
    bool closed;
    mc_api_lbuf_t *lbuf;
    pthread_mutex_t reg_mu; /* guards regions */
    mc_api_region_t *regions;
    size_t nregions, cap_regions;
};

typedef enum mc_api_kind {
    MC_API_PUT,
    MC_API_UPSERT,
    MC_API_GET,
    MC_API_EXIST,
    MC_API_SIZE,
    MC_API_REMOVE,
    MC_API_REMOVE_REGEX,
    MC_API_REMOVE_ALL,
    MC_API_HEALTH,
    MC_API_UNMOUNT,
} mc_api_kind_t;

typedef struct mc_api_wait mc_api_wait_t;

/* One operation handed to the loop thread. GET results land in `into`
 * (when set, capacity into_size) or in a malloc'd `out`. */
typedef struct mc_api_op {
    mooncake_store_t *s;
    mc_api_wait_t *w;
    mc_api_kind_t kind;
    const void *key;
    size_t klen;
    const void *value;
    size_t vlen;
    mc_replicate_config_t rc;
    bool force;
    const char *pattern;
    void *into;
    size_t into_size;
    void *out;
    size_t out_len;
    mooncake_replica_desc_t *descs; /* SIZE: replica list destination (optional) */
    size_t descs_cap;
    size_t ndescs;
    mc_status_t status;
    uint64_t value_out;
} mc_api_op_t;

/* Runs n operations concurrently on s's loop and waits for all. */
void mc_api_run_ops(mooncake_store_t *s, mc_api_op_t *ops, size_t n);
/* One operation; MC_INVALID_PARAMS when s is NULL or closed. */
mc_status_t mc_api_run_one(mooncake_store_t *s, mc_api_op_t *op);
/* Runs fn(arg) on the loop thread and waits for it. */
mc_status_t mc_api_on_loop(mooncake_store_t *s, void (*fn)(void *), void *arg);

/* Argument checks done before any round trip. */
mc_status_t mc_api_check_key(const void *key, size_t klen);
static inline bool mc_api_usable(const mooncake_store_t *s) { return s && !s->closed; }

/* ReplicateConfig -> core config (borrowed pointers) for key `index` of a
 * call on nkeys keys (group ids: none, or exactly nkeys). */
mc_status_t mc_api_conv_cfg(const mooncake_replicate_config_t *in, size_t nkeys, size_t index,
                            mc_replicate_config_t *out);

/* Local buffer budget. */
mc_api_lbuf_t *mc_api_lbuf_new(uint64_t cap);
void mc_api_lbuf_unref(mc_api_lbuf_t *b);
bool mc_api_lbuf_acquire(mc_api_lbuf_t *b, uint64_t n);
void mc_api_lbuf_release(mc_api_lbuf_t *b, uint64_t n);

/* Registered buffers: true if [p, p+len) lies inside one registered region;
 * *cap (optional) = region end - p. */
bool mc_api_region_find(mooncake_store_t *s, const void *p, size_t len, size_t *cap);
void mc_api_regions_free(mooncake_store_t *s);

/* Copying put of a value assembled from parts (also put/upsert). */
int mc_api_put_value(mooncake_store_t *s, mc_api_kind_t kind, const void *key, size_t klen, const void *value,
                     size_t vlen, const mooncake_replicate_config_t *cfg, bool staged);

#endif
