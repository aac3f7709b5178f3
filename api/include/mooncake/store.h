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
 * Data path: values are copied through the client (the core store client
 * keeps its own copy while a transfer is in flight), so "zero-copy" calls
 * save the Python-side copies, not every copy. Registered buffers are
 * bookkeeping in this library (the checks upstream's RDMA path needs);
 * they are not handed to the transport.
 *
 * Ownership: keys and values passed in are copied (or, for the zero-copy
 * calls, read) before the call returns; buffers returned
 * (mooncake_store_get, batch_get) are malloc'd and owned by the caller
 * (free with mooncake_free); buffer handles by the caller until
 * mooncake_buffer_release.
 *
 * Keys: 1 byte to 1 MiB (else -600 INVALID_PARAMS); any bytes.
 * A NULL or closed store makes every call return -600 (batch calls fill
 * every result with -600), except close/health/hostname. */
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
 * with mooncake_replicate_config_init(): replica_num 1, no pins, no
 * preferences. Every pointer is borrowed for the duration of the call. */
typedef struct mooncake_replicate_config {
    uint32_t replica_num;
    bool with_soft_pin;            /* soft_pin_action ENABLE (else PRESERVE) */
    bool with_hard_pin;
    bool prefer_alloc_in_same_node; /* multi-buffer batch puts only; other puts reject it (-600), as upstream */
    const char *preferred_segment; /* segment name ("host:port") or NULL; overrides the list */
    const char *const *preferred_segments; /* ordered preferences (n_preferred_segments) */
    size_t n_preferred_segments;
    int soft_pin_action;           /* 0 PRESERVE (default), 1 ENABLE, 2 DISABLE; with_soft_pin upgrades PRESERVE to ENABLE */
    bool has_soft_pin_ttl;         /* soft_pin_ttl_ms is set (only valid with ENABLE) */
    uint64_t soft_pin_ttl_ms;
    /* Object groups: NULL = ungrouped. Single-key calls need exactly one id,
     * batch calls one per key (else -600 INVALID_PARAMS). Accepted and
     * validated; the master does not route by group yet. */
    const char *const *group_ids;
    size_t n_group_ids;
} mooncake_replicate_config_t;

MOONCAKE_API void mooncake_replicate_config_init(mooncake_replicate_config_t *cfg);

/* setup(local_hostname, metadata_server, global_segment_size,
 *       local_buffer_size, protocol, rdma_devices, master_server_addr)
 * local_hostname without a port gets one from 12300-14300. protocol: "tcp"
 * or "rdma" (hw/xport verbs on rdma_devices, "" = all usable; no device:
 * -600 with a message naming MC_FORCE_TCP, which makes it TCP).
 * metadata_server: "http://host:port/metadata", "P2PHANDSHAKE" or an etcd
 * address (accepted, unused: transfer endpoints come with the master's
 * replica lists). Waits until the master acknowledged the segment, or
 * fails with -900 RPC_FAIL when it cannot be reached within 10 s
 * (MC_RPC_CONNECT_TIMEOUT_MS overrides); -1 when no port of the range
 * could be bound; -600 for bad arguments or another protocol.
 * *out is set on success only. */
MOONCAKE_API int mooncake_store_setup(mooncake_store_t **out, const char *local_hostname, const char *metadata_server,
                         uint64_t global_segment_size, uint64_t local_buffer_size, const char *protocol,
                         const char *rdma_devices, const char *master_server_addr);
/* setup_dummy(mem_pool_size, local_buffer_size, server_address): a dummy
 * client of the mooncake_client service at server_address ("host:port",
 * same host). It owns no segment: every call is forwarded to that real
 * client and answers with the real client's codes; payloads go through
 * memory shared with it (the local_buffer_size staging buffer and
 * alloc_from_mem_pool regions), not through the socket. mem_pool_size is
 * ignored (as upstream). 0, or -1 when the service cannot be reached or
 * refuses the shared memory; *out is set on success only. Unavailable in
 * dummy mode (as upstream): mount/unmount of segments (-1); hostname is "".
 * If the service goes away, calls fail with -900 RPC_FAIL (health 2) and
 * the next call reconnects. close() releases everything the real client
 * held for this dummy (so does the dummy process dying). */
MOONCAKE_API int mooncake_store_setup_dummy(mooncake_store_t **out, uint64_t mem_pool_size, uint64_t local_buffer_size,
                                            const char *server_address);
/* alloc_from_mem_pool: a dummy's new shared-memory region of size bytes
 * (its address; 0 on failure or for a real client). Register it with
 * mooncake_store_register_buffer (exactly this address and size) before
 * the zero-copy calls use it; it lives until close. */
MOONCAKE_API uint64_t mooncake_store_alloc_from_mem_pool(mooncake_store_t *s, uint64_t size);

/* Unmounts the segment on the master (objects stored only in it are gone)
 * and frees. NULL is a no-op.
 * No call may be in flight on s. */
MOONCAKE_API void mooncake_store_close(mooncake_store_t *s);

/* get_hostname: the address this client mounted its segment under
 * ("host:port"); valid until close. "" for NULL. */
MOONCAKE_API const char *mooncake_store_hostname(const mooncake_store_t *s);
/* 0 healthy, 1 not set up/closed, 2 master unreachable (Python health_check). */
MOONCAKE_API int mooncake_store_health(const mooncake_store_t *s);

/* Read-path counters (a libmooncake extension, for tests and tuning):
 * keys of get calls served on the caller's thread (same-host replicas:
 * one master round trip, then memcpy) and keys that took the store's
 * loop thread. 0 on success, -600 for NULL or a dummy client.
 * MC_STORE_DIRECT_READ=0 at setup sends every get through the loop
 * (both counters stay 0 then). */
typedef struct mooncake_read_stats {
    uint64_t direct_keys;
    uint64_t loop_keys;
} mooncake_read_stats_t;
MOONCAKE_API int mooncake_store_read_stats(const mooncake_store_t *s, mooncake_read_stats_t *out);

/* put: first writer wins (an existing key is left unchanged and 0 is
 * returned). cfg may be NULL (defaults). vlen 0 is -600. */
MOONCAKE_API int mooncake_store_put(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                       const mooncake_replicate_config_t *cfg);
/* upsert: insert or overwrite. */
MOONCAKE_API int mooncake_store_upsert(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                          const mooncake_replicate_config_t *cfg);
/* get: *value (malloc'd, caller frees with mooncake_free) and *vlen on 0;
 * *value NULL otherwise. Any failure (absent, not ready, lease expired,
 * local buffer too small) is its code. */
MOONCAKE_API int mooncake_store_get(mooncake_store_t *s, const void *key, size_t klen, void **value, size_t *vlen);
/* get_into: reads the whole object into buf, which must lie inside a
 * registered buffer (mooncake_store_register_buffer; else -600); returns
 * bytes read, or -600 when size is smaller than the object. */
MOONCAKE_API int64_t mooncake_store_get_into(mooncake_store_t *s, const void *key, size_t klen, void *buf, size_t size);
/* 1 exists, 0 absent, negative error. Grants a read lease. */
MOONCAKE_API int mooncake_store_is_exist(mooncake_store_t *s, const void *key, size_t klen);
/* Object size (>= 0) or negative error. Grants a read lease. */
MOONCAKE_API int64_t mooncake_store_get_size(mooncake_store_t *s, const void *key, size_t klen);
/* 0, -704 absent, -706 leased (unless force), -703 not complete. */
MOONCAKE_API int mooncake_store_remove(mooncake_store_t *s, const void *key, size_t klen, bool force);
/* Number removed, or negative error (-600 for an invalid regex). ECMAScript
 * search semantics (a match anywhere in the key). */
MOONCAKE_API int64_t mooncake_store_remove_by_regex(mooncake_store_t *s, const char *regex, bool force);
MOONCAKE_API int64_t mooncake_store_remove_all(mooncake_store_t *s, bool force);

/* Batch forms: n keys; results[i] per key with the single call's meaning
 * (batch_get: values[i]/vlens[i] as get). n 0 does nothing. */
MOONCAKE_API void mooncake_store_batch_put(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              const void *const *values, const size_t *vlens,
                              const mooncake_replicate_config_t *cfg, int *results);
MOONCAKE_API void mooncake_store_batch_get(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              void **values, size_t *vlens, int *results);
MOONCAKE_API void mooncake_store_batch_is_exist(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   int *results);

/* Batch upsert (values copied) and batch remove: results[i] as the single call. */
MOONCAKE_API void mooncake_store_batch_upsert(mooncake_store_t *s, size_t n, const void *const *keys,
                                              const size_t *klens, const void *const *values, const size_t *vlens,
                                              const mooncake_replicate_config_t *cfg, int *results);
MOONCAKE_API void mooncake_store_batch_remove(mooncake_store_t *s, size_t n, const void *const *keys,
                                              const size_t *klens, bool force, int *results);

/* ---- the local buffer ----
 * local_buffer_size (setup) bounds the bytes the copying calls (put, get,
 * upsert, put_parts, get_buffer and their batch forms) stage at once: a
 * value larger than what is free fails with -600 INVALID_PARAMS (put) or
 * leaves the key unread (get). local_buffer_size 0 makes every copying put
 * fail, as upstream. get_buffer handles hold their bytes against it until
 * released. Zero-copy calls (put_from, get_into, ...) do not use it. */

/* put_parts / upsert_parts: the object is the concatenation of nparts
 * parts in order. A total of 0 bytes stores nothing and returns 0. */
MOONCAKE_API int mooncake_store_put_parts(mooncake_store_t *s, const void *key, size_t klen, size_t nparts,
                                          const void *const *parts, const size_t *lens,
                                          const mooncake_replicate_config_t *cfg);
MOONCAKE_API int mooncake_store_upsert_parts(mooncake_store_t *s, const void *key, size_t klen, size_t nparts,
                                             const void *const *parts, const size_t *lens,
                                             const mooncake_replicate_config_t *cfg);

/* ---- registered buffers (zero-copy calls) ----
 * register_buffer records [ptr, ptr+size) as memory the zero-copy calls may
 * read from or write into; the caller keeps it alive and unchanged in
 * address until unregister_buffer. NULL/0 size, or a region overlapping an
 * already registered one, is -600; unregister of an address that is not a
 * registered region's start is -600. Thread-safe. */
MOONCAKE_API int mooncake_store_register_buffer(mooncake_store_t *s, void *ptr, size_t size);
MOONCAKE_API int mooncake_store_unregister_buffer(mooncake_store_t *s, void *ptr);

/* put_from / upsert_from: store size bytes read from buf, which must lie
 * inside one registered buffer (else -600). size 0 stores nothing and
 * returns 0. */
MOONCAKE_API int mooncake_store_put_from(mooncake_store_t *s, const void *key, size_t klen, const void *buf,
                                         size_t size, const mooncake_replicate_config_t *cfg);
MOONCAKE_API int mooncake_store_upsert_from(mooncake_store_t *s, const void *key, size_t klen, const void *buf,
                                            size_t size, const mooncake_replicate_config_t *cfg);
/* put_from_with_metadata: the object is meta[0..meta_size) followed by
 * buf[0..size); both must be registered. size 0 stores nothing, returns 0.
 * Returns 0 or a negative code (the Python layer maps it to upstream's
 * positive magnitude). */
MOONCAKE_API int mooncake_store_put_from_with_metadata(mooncake_store_t *s, const void *key, size_t klen,
                                                       const void *buf, const void *meta, size_t size,
                                                       size_t meta_size, const mooncake_replicate_config_t *cfg);
/* Batch forms: results[i] as the single call (bytes read for get_into). */
MOONCAKE_API void mooncake_store_batch_put_from(mooncake_store_t *s, size_t n, const void *const *keys,
                                                const size_t *klens, const void *const *bufs, const size_t *sizes,
                                                const mooncake_replicate_config_t *cfg, int *results);
MOONCAKE_API void mooncake_store_batch_upsert_from(mooncake_store_t *s, size_t n, const void *const *keys,
                                                   const size_t *klens, const void *const *bufs,
                                                   const size_t *sizes, const mooncake_replicate_config_t *cfg,
                                                   int *results);
MOONCAKE_API void mooncake_store_batch_get_into(mooncake_store_t *s, size_t n, const void *const *keys,
                                                const size_t *klens, void *const *bufs, const size_t *sizes,
                                                int64_t *results);
/* Multi-buffer forms: key i's object is the concatenation of nbufs[i]
 * buffers bufs[i][0..] (put), or is scattered over them in order (get;
 * the buffers' total must be >= the object, else -600). All buffers must
 * be registered. get results: bytes read. */
MOONCAKE_API void mooncake_store_batch_put_from_multi_buffers(mooncake_store_t *s, size_t n, const void *const *keys,
                                                              const size_t *klens, const void *const *const *bufs,
                                                              const size_t *const *sizes, const size_t *nbufs,
                                                              const mooncake_replicate_config_t *cfg, int *results);
MOONCAKE_API void mooncake_store_batch_get_into_multi_buffers(mooncake_store_t *s, size_t n, const void *const *keys,
                                                              const size_t *klens, void *const *const *bufs,
                                                              const size_t *const *sizes, const size_t *nbufs,
                                                              int64_t *results);

/* ---- buffer handles (Python BufferHandle) ----
 * get_buffer reads the whole object into memory charged to the local
 * buffer and returns a handle owning it, or NULL (*err, optional, says
 * why: -704 absent, -600 local buffer exhausted, ...). The bytes stay
 * valid and writable until mooncake_buffer_release, which may be called
 * from any thread, also after mooncake_store_close. */
typedef struct mooncake_buffer mooncake_buffer_t;
MOONCAKE_API mooncake_buffer_t *mooncake_store_get_buffer(mooncake_store_t *s, const void *key, size_t klen, int *err);
/* out[i]: handle or NULL; errs (optional) per key. */
MOONCAKE_API void mooncake_store_batch_get_buffer(mooncake_store_t *s, size_t n, const void *const *keys,
                                                  const size_t *klens, mooncake_buffer_t **out, int *errs);
MOONCAKE_API void *mooncake_buffer_data(const mooncake_buffer_t *b);
MOONCAKE_API size_t mooncake_buffer_size(const mooncake_buffer_t *b);
MOONCAKE_API void mooncake_buffer_release(mooncake_buffer_t *b);

/* ---- ranged reads (spec store.md §6.6) ----
 * Buffer-major: buffers[i] receives, for each of its keys j, the
 * fragments k: object bytes [src_offsets[k], +sizes[k]) are copied to
 * buffer + dst_offsets[k]. Each buffer must lie inside a registered
 * region; its capacity is region end - buffer. results[k] (caller's
 * array, nfrags entries per key) = sizes[k], or: -600 when the buffer is
 * unregistered, src + size exceeds the object or dst + size exceeds the
 * capacity; the key's read error (e.g. -704) for all its fragments. Every
 * distinct key is read once, all reads concurrently. */
typedef struct mooncake_range_key {
    const void *key;
    size_t klen;
    size_t nfrags;
    const uint64_t *dst_offsets;
    const uint64_t *src_offsets;
    const uint64_t *sizes;
    int64_t *results;
} mooncake_range_key_t;
typedef struct mooncake_range_buffer {
    void *buffer;
    size_t nkeys;
    const mooncake_range_key_t *keys;
} mooncake_range_buffer_t;
MOONCAKE_API void mooncake_store_get_into_ranges(mooncake_store_t *s, size_t nbuffers,
                                                 const mooncake_range_buffer_t *buffers);

/* ---- replica descriptors (Python get_replica_desc) ----
 * The key's readable replicas as the master lists them (grants a read
 * lease, as get_size). Memory replicas only in this build. */
#define MOONCAKE_MAX_REPLICAS 8
typedef struct mooncake_replica_desc {
    int status;                  /* ReplicaStatus: 3 COMPLETE, ... */
    int type;                    /* ReplicaType: 0 MEMORY */
    uint64_t buffer_address;     /* in the owning process */
    uint64_t size;
    char transport_endpoint[256]; /* the owner's segment name ("host:port") */
} mooncake_replica_desc_t;
/* Fills out[0..min(count, cap)); returns the count, or a negative error
 * (-704 absent, -703 not ready, ...). */
MOONCAKE_API int mooncake_store_get_replica_desc(mooncake_store_t *s, const void *key, size_t klen,
                                                 mooncake_replica_desc_t *out, size_t cap);
/* Key i's descriptors go to out[i * cap ..]; counts[i] as the single call. */
MOONCAKE_API void mooncake_store_batch_get_replica_desc(mooncake_store_t *s, size_t n, const void *const *keys,
                                                        const size_t *klens, mooncake_replica_desc_t *out,
                                                        size_t cap, int *counts);

/* ---- extra segments (Python mount_segment & co., RealClient only) ----
 * Segment and task ids are 128-bit UUIDs; Python shows segment ids as
 * "<hi>-<lo>" and task ids as (hi, lo). */
typedef struct mooncake_uuid {
    uint64_t hi, lo;
} mooncake_uuid_t;
/* Maps [offset, offset+size) of file `path` (offset page-aligned; a regular
 * file shorter than offset+size is extended) and mounts it under this
 * client's name. protocol: "tcp" or "rdma" (served by the client's data
 * plane either way); location is a hint (ignored). */
MOONCAKE_API int mooncake_store_mount_segment(mooncake_store_t *s, const char *path, uint64_t size, uint64_t offset,
                                              const char *protocol, const char *location, mooncake_uuid_t *id);
/* Allocates size bytes (rounded up to 4 KiB; *allocated tells) and mounts them. */
MOONCAKE_API int mooncake_store_allocate_and_mount_segment(mooncake_store_t *s, uint64_t size, const char *protocol,
                                                           const char *location, mooncake_uuid_t *id,
                                                           uint64_t *allocated);
/* Unmounts segments by id: grace 0 at once (objects only there vanish),
 * else no new allocations and readable for grace_period_seconds, then
 * unmounted and the memory unmapped / freed. -1 for an id this client did
 * not mount; stops at the first failure. */
MOONCAKE_API int mooncake_store_unmount_segment(mooncake_store_t *s, const mooncake_uuid_t *ids, size_t n,
                                                uint64_t grace_period_seconds);
MOONCAKE_API int mooncake_store_unmount_and_free_segment(mooncake_store_t *s, const mooncake_uuid_t *ids, size_t n,
                                                         uint64_t grace_period_seconds);

/* ---- copy / move tasks ----
 * A task is executed asynchronously by the client owning the source
 * replica; query_task follows it (TaskStatus 0 PENDING, 1 PROCESSING,
 * 2 FAILED, 3 SUCCESS). Errors: -704 no such key, -600 bad targets
 * (unknown segment, source == target), -1400 unknown task id. */
typedef struct mooncake_task_info {
    mooncake_uuid_t id;
    int type;                    /* TaskType: 0 REPLICA_COPY, 1 REPLICA_MOVE */
    int status;                  /* TaskStatus */
    uint64_t created_at_ms;      /* master's clock, ms */
    uint64_t last_updated_at_ms;
    mooncake_uuid_t assigned_client;
    char message[256];           /* failure reason ("" on success) */
} mooncake_task_info_t;
MOONCAKE_API int mooncake_store_create_copy_task(mooncake_store_t *s, const void *key, size_t klen,
                                                 const char *const *targets, size_t ntargets, mooncake_uuid_t *task);
MOONCAKE_API int mooncake_store_create_move_task(mooncake_store_t *s, const void *key, size_t klen, const char *source,
                                                 const char *target, mooncake_uuid_t *task);
MOONCAKE_API int mooncake_store_query_task(mooncake_store_t *s, mooncake_uuid_t task, mooncake_task_info_t *out);
/* BatchReplicaClear: keys this client wrote whose lease has expired lose
 * their replicas on `segment` (NULL/"" = the whole object). cleared[i]
 * tells whether key i was cleared; returns how many were, or an error. */
MOONCAKE_API int mooncake_store_batch_replica_clear(mooncake_store_t *s, size_t n, const void *const *keys,
                                                    const size_t *klens, const char *segment, bool *cleared);

/* Name of an error code ("OBJECT_NOT_FOUND"; "UNKNOWN_ERROR" if unknown). */
MOONCAKE_API const char *mooncake_strerror(int code);
MOONCAKE_API void mooncake_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
