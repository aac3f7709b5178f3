/* libmooncake: the Mooncake store client, C API.
 *
 * A mooncake_store_t is one store client: it contributes a segment of its
 * memory to the cluster pool, keeps membership with the master and runs
 * put/get/remove against it. Mirrors Python's MooncakeDistributedStore.
 *
 * Threading: every function is thread-safe and blocking. Requests are
 * handed to the client's own event-loop thread and the caller waits for
 * the answer; calls from several threads run concurrently. Batch calls
 * issue all their operations at once and wait for all of them.
 *
 * Return codes: 0 or a positive count/size on success, else a negative
 * upstream ErrorCode (e.g. -704 OBJECT_NOT_FOUND, -600 INVALID_PARAMS,
 * -900 RPC_FAIL); mooncake_strerror() names them.
 *
 * Ownership: keys and values passed in are copied before the call
 * returns; buffers returned (mooncake_store_get) are malloc'd and owned by
 * the caller (free with mooncake_free). */
#ifndef MOONCAKE_STORE_H
#define MOONCAKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOONCAKE_API __attribute__((visibility("default")))

typedef struct mooncake_store mooncake_store_t;

/* ReplicateConfig (Python: mooncake.store.ReplicateConfig). Initialise
 * with mooncake_replicate_config_init(): replica_num 1, no pins. */
typedef struct mooncake_replicate_config {
    uint32_t replica_num;
    bool with_soft_pin;
    bool with_hard_pin;
    bool prefer_alloc_in_same_node;
    const char *preferred_segment; /* segment name ("host:port") or NULL */
} mooncake_replicate_config_t;

MOONCAKE_API void mooncake_replicate_config_init(mooncake_replicate_config_t *cfg);

/* setup(local_hostname, metadata_server, global_segment_size,
 *       local_buffer_size, protocol, rdma_devices, master_server_addr)
 * local_hostname without a port gets one from 12300-14300. protocol: "tcp".
 * metadata_server: "http://host:port/metadata", "P2PHANDSHAKE" or an etcd
 * address. Waits until the master acknowledged the segment (or fails with
 * -900 RPC_FAIL when the master cannot be reached within 10 s).
 * *out is set on success only. */
MOONCAKE_API int mooncake_store_setup(mooncake_store_t **out, const char *local_hostname, const char *metadata_server,
                         uint64_t global_segment_size, uint64_t local_buffer_size, const char *protocol,
                         const char *rdma_devices, const char *master_server_addr);
/* Unmounts (by leaving; the master expires it) and frees. NULL is a no-op.
 * No call may be in flight on s. */
MOONCAKE_API void mooncake_store_close(mooncake_store_t *s);

/* The address this client mounted its segment under ("host:port"). */
MOONCAKE_API const char *mooncake_store_hostname(const mooncake_store_t *s);
/* 0 healthy, 1 not set up/closed, 2 master unreachable (Python health_check). */
MOONCAKE_API int mooncake_store_health(const mooncake_store_t *s);

/* put: first writer wins (an existing key is left unchanged and 0 is
 * returned). cfg may be NULL (defaults). */
MOONCAKE_API int mooncake_store_put(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                       const mooncake_replicate_config_t *cfg);
/* upsert: insert or overwrite. */
MOONCAKE_API int mooncake_store_upsert(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                          const mooncake_replicate_config_t *cfg);
/* get: *value (malloc'd, caller frees with mooncake_free) and *vlen on 0. */
MOONCAKE_API int mooncake_store_get(mooncake_store_t *s, const void *key, size_t klen, void **value, size_t *vlen);
/* get_into: reads into buf; returns bytes read, or -600 when size is
 * smaller than the object. */
MOONCAKE_API int64_t mooncake_store_get_into(mooncake_store_t *s, const void *key, size_t klen, void *buf, size_t size);
/* 1 exists, 0 absent, negative error. */
MOONCAKE_API int mooncake_store_is_exist(mooncake_store_t *s, const void *key, size_t klen);
/* Object size (>= 0) or negative error. Grants a read lease. */
MOONCAKE_API int64_t mooncake_store_get_size(mooncake_store_t *s, const void *key, size_t klen);
MOONCAKE_API int mooncake_store_remove(mooncake_store_t *s, const void *key, size_t klen, bool force);
/* Number removed, or negative error (-600 for an invalid regex). */
MOONCAKE_API int64_t mooncake_store_remove_by_regex(mooncake_store_t *s, const char *regex, bool force);
MOONCAKE_API int64_t mooncake_store_remove_all(mooncake_store_t *s, bool force);

/* Batch forms: n keys; results[i] per key with the single call's meaning. */
MOONCAKE_API void mooncake_store_batch_put(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              const void *const *values, const size_t *vlens,
                              const mooncake_replicate_config_t *cfg, int *results);
MOONCAKE_API void mooncake_store_batch_get(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              void **values, size_t *vlens, int *results);
MOONCAKE_API void mooncake_store_batch_is_exist(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   int *results);

/* Name of an error code ("OBJECT_NOT_FOUND"; "UNKNOWN_ERROR" if unknown). */
MOONCAKE_API const char *mooncake_strerror(int code);
MOONCAKE_API void mooncake_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
