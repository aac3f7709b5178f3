/* Internals of the blocking C facade (libmooncake), shared by its files:
 *
 *   mc_store_api_run.c        operations handed to the loop thread, waiting
 *   mc_store_api_direct.c     same-host gets on the caller's thread
 *   mc_store_api_lifecycle.c  setup, close, hostname, health
 *   mc_store_api_single.c     put/get/exist/size/remove (one key)
 *   mc_store_api_batch.c      batch forms of the copying operations
 *   mc_store_api_buffers.c    registered-buffer table, local-buffer budget
 *   mc_store_api_zero_copy.c  put_from/get_into (+batch, multi-buffer, parts)
 *   mc_store_api_handle.c     get_buffer handles
 *   mc_store_api_ranges.c     get_into_ranges
 *   mc_store_api_config.c     ReplicateConfig conversion
 *   mc_store_api_replicas.c   get_replica_desc
 *   mc_store_api_dummy*.c     setup_dummy: forwarding to a mooncake_client
 *   mc_store_api_segments.c   mount/unmount of extra segments
 *   mc_store_api_tasks.c      copy/move tasks, replica clear, mc_api_call */
#ifndef MC_STORE_API_INT_H
#define MC_STORE_API_INT_H

#include <pthread.h>
#include <stdio.h>

#include "mooncake/store.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "storesvc/mc_store_client.h"
#include "wire/mc_msg_dummy.h"

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
    struct mc_api_dummy *dummy; /* set: a dummy client (setup_dummy), every op is forwarded */
    struct mc_api_direct *direct; /* set: gets may run on the caller's thread */
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
    bool done; /* finished on the caller's thread (mc_api_direct_gets) */
} mc_api_op_t;

/* Same-host gets on the caller's thread (mc_store_api_direct.c). new:
 * NULL when MC_STORE_DIRECT_READ=0 (or out of memory): every get takes
 * the loop. direct_gets finishes the GET ops of ops[0..n) it can (their
 * status and results set, done = true) and returns how many. */
typedef struct mc_api_direct mc_api_direct_t;
mc_api_direct_t *mc_api_direct_new(mooncake_store_t *s);
void mc_api_direct_free(mc_api_direct_t *d);
size_t mc_api_direct_gets(mooncake_store_t *s, mc_api_op_t *ops, size_t n);
void mc_api_direct_count_loop(mc_api_direct_t *d, uint64_t keys);
void mc_api_direct_stats(const mc_api_direct_t *d, uint64_t *direct, uint64_t *loop);

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

/* One asynchronous store-client call run on the loop: start() issues it
 * with mc_api_call_done as the callback; finish() (optional, on the loop)
 * copies results out of r; the caller waits. */
typedef struct mc_api_call mc_api_call_t;
struct mc_api_call {
    mooncake_store_t *s; /* set by mc_api_call_run */
    void (*start)(mc_api_call_t *call, mc_store_client_t *c);
    void (*finish)(mc_api_call_t *call, const mc_sc_result_t *r);
    void *arg;
    mc_status_t status;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};
mc_status_t mc_api_call_run(mooncake_store_t *s, mc_api_call_t *call);
void mc_api_call_done(void *arg, const mc_sc_result_t *r);

/* Dummy clients (mc_store_api_dummy*.c): a store without a loop whose
 * operations go to a mooncake_client (spec store.md §7). */
void mc_api_dummy_run_ops(mooncake_store_t *s, mc_api_op_t *ops, size_t n);
void mc_api_dummy_destroy(mooncake_store_t *s);
/* register_buffer/unregister_buffer on a dummy: the region must be exactly
 * one alloc_from_mem_pool allocation (else -1); it is shared with the
 * real client on registration and unshared on unregistration. */
int mc_api_dummy_register(mooncake_store_t *s, void *ptr, size_t size);
void mc_api_dummy_unregister(mooncake_store_t *s, void *ptr);
/* Copy/move tasks and task queries of a dummy (mc_store_api_dummy_tasks.c),
 * called by the public task calls after their argument checks. */
int mc_api_dummy_copy_task(mooncake_store_t *s, const void *key, size_t klen, const char *const *targets,
                           size_t ntargets, mooncake_uuid_t *task);
int mc_api_dummy_move_task(mooncake_store_t *s, const void *key, size_t klen, const char *source,
                           const char *target, mooncake_uuid_t *task);
int mc_api_dummy_query_task(mooncake_store_t *s, mooncake_uuid_t task, mooncake_task_info_t *out);

/* Shared between mc_store_api_dummy.c (connection, shared memory) and
 * mc_store_api_dummy_ops.c (forwarding). */
typedef struct mc_api_shm {
    uint8_t *base;
    uint64_t size;
    int fd;
    bool registered; /* mapped by the real client */
    bool is_local_buffer;
} mc_api_shm_t;
typedef struct mc_api_dummy {
    pthread_mutex_t mu; /* one exchange at a time on the connection; before shm_mu */
    int fd;             /* -1: disconnected (the next exchange reconnects) */
    char server[300];
    char ipc_name[108];
    mc_uuid_t session;
    uint64_t next_req;
    int io_timeout_ms;
    mc_wbuf_t out, in;
    pthread_mutex_t shm_mu;
    mc_api_shm_t *shm;
    size_t nshm, cap_shm;
    mc_api_shm_t lb; /* the local buffer (size 0: none) */
    /* liveness: a thread pings when the link was idle for a second, so
     * the service can tell a stalled dummy from an idle one (spec §7.2) */
    pthread_t pinger;
    bool pinger_started, stopping;
    pthread_cond_t stop_cv; /* with mu */
    uint64_t last_exchange_ms;
} mc_api_dummy_t;
/* One request/reply on the connection (caller holds d->mu). MC_RPC_FAIL /
 * MC_RPC_TIMEOUT drop the connection; *reply must be mc_dummy_msg_free'd
 * on MC_OK. */
mc_status_t mc_api_dummy_exchange(mc_api_dummy_t *d, const mc_dummy_msg_t *req, uint16_t reply_type,
                                  mc_dummy_msg_t *reply);
/* True if [p, p+len) lies inside memory the real client maps. */
bool mc_api_dummy_shared(mc_api_dummy_t *d, const void *p, size_t len);

/* Copying put of a value assembled from parts (also put/upsert). */
int mc_api_put_value(mooncake_store_t *s, mc_api_kind_t kind, const void *key, size_t klen, const void *value,
                     size_t vlen, const mooncake_replicate_config_t *cfg, bool staged);

#endif
