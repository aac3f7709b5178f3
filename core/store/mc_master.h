/* The store master's core logic (spec store.md §4) as a pure, synchronous
 * library: object metadata, segments and placement, leases, pins,
 * eviction, zombie writes, client expiry. The master role (network), the
 * simulator and the hw master all drive it.
 *
 * Time: every call that depends on time takes now_ns (the caller's
 * monotonic clock, mc_env_now). Randomness: only the mc_rng_t given at
 * creation. Nothing here blocks, allocates on behalf of the caller or
 * keeps pointers into caller memory.
 *
 * Keys are byte strings (mc_slice_t, borrowed for the call). Returned
 * replica descriptors borrow strings from segment records: valid until
 * the next mutating call on the master.
 *
 * Timers: the caller runs mc_master_tick(now) periodically (upstream's
 * eviction thread runs every 10 ms; the client monitor every 1 s) or at
 * mc_master_next_deadline(); tick does client expiry, graceful-unmount
 * deadlines, release of parked buffers, zombie sweeps and eviction.
 *
 * Deliberate differences from upstream (each also noted at its function):
 *  - Space a reader holds under a lease is never handed out again while
 *    the lease lasts: buffers dropped by unmount/client expiry or by a
 *    forced remove of a leased object are parked until lease_timeout
 *    (upstream frees them at once, so a re-mount or new put can overwrite
 *    bytes a reader is still copying).
 *  - A segment re-mounted while such parked buffers exist is revived with
 *    them still reserved (upstream: UNAVAILABLE_IN_CURRENT_STATUS until
 *    its background sweep ends).
 *  - A master stall longer than the client TTL does not expire every
 *    client at once: deadlines missed while the master itself was not
 *    ticking are extended (upstream wipes the whole index).
 *  - Unmount sweeps metadata synchronously, so no invalid replica is ever
 *    visible (upstream sweeps in the background).
 *  - replica_num above MC_STORE_MAX_REPLICAS (8) is MC_INVALID_PARAMS.
 */
#ifndef MC_MASTER_H
#define MC_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_bytes.h"
#include "base/mc_rng.h"
#include "base/mc_status.h"
#include "store/mc_store_types.h"

typedef struct mc_master mc_master_t;

typedef struct mc_master_config {
    uint64_t default_kv_lease_ttl_ms;      /* 10 000 */
    uint64_t default_kv_soft_pin_ttl_ms;   /* 30 min */
    uint64_t max_kv_soft_pin_ttl_ms;       /* 24 h */
    bool allow_evict_soft_pinned_objects;  /* true */
    double eviction_ratio;                 /* 0.05 */
    double eviction_high_watermark_ratio;  /* 0.90 */
    uint64_t client_ttl_ms;                /* 10 000 */
    uint64_t put_start_discard_timeout_ms; /* 30 000 */
    uint64_t put_start_release_timeout_ms; /* 600 000 */
    uint32_t alloc_alignment;              /* 64 */
    uint32_t max_pending_tasks;            /* 10 000 */
    uint32_t max_processing_tasks;         /* 10 000 */
    uint32_t max_finished_tasks;           /* 10 000 */
    uint64_t pending_task_timeout_ms;      /* 300 000; 0 = none */
    uint64_t processing_task_timeout_ms;   /* 300 000; 0 = none */
    uint32_t max_retry_attempts;           /* 10 */
    /* Optional: told when a client's TTL passes, before its segments are
     * unmounted (the network role traces it). */
    void (*on_client_expired)(void *ctx, mc_uuid_t client);
    void *hook_ctx;
} mc_master_config_t;

typedef struct mc_master_stats {
    uint64_t keys;
    uint64_t processing_keys;
    uint64_t soft_pinned_keys;
    uint64_t allocated_bytes;  /* requested bytes in pool segments */
    uint64_t capacity_bytes;   /* pool capacity */
    uint64_t segments;         /* records, any status */
    uint64_t clients;
    uint64_t evicted_keys;
    uint64_t evicted_bytes;
    uint64_t successful_evictions;
    uint64_t attempted_evictions;
    uint64_t put_start_alloc_failures;
    uint64_t put_start_partial_allocations;
    uint64_t put_start_discard_cnt;   /* zombie writes taken over */
    uint64_t put_start_release_cnt;   /* zombie writes released by the sweep */
    uint64_t parked_buffers;          /* buffers waiting for a deadline */
    uint64_t parked_bytes;
} mc_master_stats_t;

void mc_master_config_default(mc_master_config_t *c);
/* MC_INVALID_PARAMS if release timeout <= discard timeout, default soft pin
 * ttl > max, ratios outside [0,1], or a bad alignment. rng is borrowed and
 * must outlive the master. */
mc_status_t mc_master_create(const mc_master_config_t *c, mc_rng_t *rng, mc_master_t **out);
void mc_master_destroy(mc_master_t *m);
const mc_master_config_t *mc_master_config(const mc_master_t *m);
void mc_master_get_stats(const mc_master_t *m, mc_master_stats_t *st);

/* ---- segments and clients (mc_master_segment.c, mc_master_client.c) ---- */

/* MountSegment: starts TTL tracking of client. INVALID_PARAMS (base or
 * size 0, no name), OK if already mounted and OK, UNAVAILABLE_IN_CURRENT_STATUS
 * if the id is mounted in another state. Does not make Ping return OK. */
mc_status_t mc_master_mount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_segment_info_t *seg);
/* ReMountSegment: every segment already known must be owned by client with
 * identical fields (else INVALID_PARAMS, nothing changes); missing ones are
 * mounted; the client becomes OK for Ping. */
mc_status_t mc_master_remount_segments(mc_master_t *m, uint64_t now_ns, mc_uuid_t client,
                                       const mc_segment_info_t *segs, size_t n);
/* UnmountSegment: unknown id => OK; UNMOUNTING => UNAVAILABLE_IN_CURRENT_STATUS.
 * Replicas on it vanish now; objects left without replicas are erased. */
mc_status_t mc_master_unmount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t seg_id, mc_uuid_t client);
/* GracefulUnmountSegment: not the owner (or unknown) => INVALID_PARAMS;
 * status not OK/DRAINING => UNAVAILABLE_IN_CURRENT_STATUS (already graceful
 * => OK). No new allocations; readable until now + grace_ms, then tick
 * unmounts it. */
mc_status_t mc_master_graceful_unmount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t seg_id, mc_uuid_t client,
                                               uint64_t grace_ms);
/* Ping: refreshes the client's TTL (registers it if new). *status =
 * MC_CLIENT_STATUS_OK after a ReMount, else NEED_REMOUNT. */
mc_status_t mc_master_ping(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, uint8_t *client_status,
                           uint64_t *view_version);
/* The client's TTL passed: unmount all its segments (objects living only
 * there disappear; space under a reader's lease stays parked), forget it. */
void mc_master_client_expired(mc_master_t *m, uint64_t now_ns, mc_uuid_t client);
/* QuerySegments(name): used bytes and capacity summed over pool segments
 * of that name. SEGMENT_NOT_FOUND if none. */
mc_status_t mc_master_query_segment(const mc_master_t *m, const char *name, uint64_t *used, uint64_t *capacity);
/* Segment status by id (UNDEFINED when unknown). */
uint8_t mc_master_segment_status(const mc_master_t *m, mc_uuid_t seg_id);
/* GetAllSegments: calls fn for each pool segment name, first-mount order. */
void mc_master_for_each_segment_name(const mc_master_t *m, void (*fn)(void *arg, const char *name), void *arg);

/* ---- writes (mc_master_put.c, mc_master_upsert.c) ---- */

/* PutStart (spec §4.5). Errors: INVALID_PARAMS (empty key, size 0,
 * replica_num 0 or > MC_STORE_MAX_REPLICAS, soft-pin request invalid),
 * OBJECT_ALREADY_EXISTS (key has a COMPLETE replica or its write started
 * less than put_start_discard_timeout ago), NO_AVAILABLE_HANDLE (no replica
 * could be placed). Best effort: fewer than replica_num replicas is OK.
 * On OK out holds the PROCESSING replicas in order. */
mc_status_t mc_master_put_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                const mc_replicate_config_t *cfg, mc_replica_list_t *out);
/* PutEnd (§4.6). OBJECT_NOT_FOUND, ILLEGAL_CLIENT, INVALID_WRITE (no write
 * in progress and not an idempotent retry). replica_type: ALL or MEMORY
 * (other tiers are not implemented: INVALID_PARAMS). checksum may be NULL. */
mc_status_t mc_master_put_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint8_t replica_type,
                              const uint64_t *checksum);
/* PutRevoke (§4.6). OBJECT_NOT_FOUND, ILLEGAL_CLIENT, INVALID_WRITE. Frees
 * the PROCESSING replicas now; erases the object if nothing remains. */
mc_status_t mc_master_put_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 uint8_t replica_type);
/* Batch forms: per-key loops, results in input order. out may be NULL for
 * end/revoke. */
void mc_master_batch_put_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                               const uint64_t *sizes, size_t n, const mc_replicate_config_t *cfg,
                               mc_replica_list_t *out, mc_status_t *st);
void mc_master_batch_put_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys, size_t n,
                             mc_status_t *st);
void mc_master_batch_put_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys, size_t n,
                                mc_status_t *st);

/* UpsertStart (§4.7): preempts an in-progress write at once; A new key
 * (as PutStart), B same size (replicas flipped to PROCESSING, same
 * addresses), C other size (old replicas parked, new ones allocated).
 * Extra errors: OBJECT_HAS_REPLICATION_TASK, OBJECT_REPLICA_BUSY.
 * Difference: a same-size upsert of an object under an active read lease
 * takes path C (fresh buffers; old ones parked until the lease ends, not
 * for the release timeout) so readers are never torn; upstream overwrites
 * in place. */
mc_status_t mc_master_upsert_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                   const mc_replicate_config_t *cfg, mc_replica_list_t *out);
/* UpsertEnd == PutEnd, UpsertRevoke == PutRevoke (revoke of a case-B upsert
 * deletes the object, as upstream). */
void mc_master_batch_upsert_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                  const uint64_t *sizes, size_t n, const mc_replicate_config_t *cfg,
                                  mc_replica_list_t *out, mc_status_t *st);

/* Write ids (a deviation, core/store/README.md). Upstream knows a write
 * only by (client, key): a start delivered late (sent on a connection its
 * writer had already given up on) could preempt the writer's newer write
 * of the key, whose End then committed buffers nobody had written. The
 * _id forms tag the write with the writer's nonzero write_id (increasing
 * per client, compared modulo 2^32): an End/Revoke whose id is not the
 * object's current write is INVALID_WRITE (nothing changes), and so is a
 * start older than the same client's current or last write of the key.
 * write_id 0, and the forms above, behave as upstream. write_ids NULL:
 * all 0. */
mc_status_t mc_master_put_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                   const mc_replicate_config_t *cfg, uint32_t write_id, mc_replica_list_t *out);
mc_status_t mc_master_upsert_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                      uint64_t size, const mc_replicate_config_t *cfg, uint32_t write_id,
                                      mc_replica_list_t *out);
mc_status_t mc_master_put_end_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 uint8_t replica_type, const uint64_t *checksum, uint32_t write_id);
mc_status_t mc_master_put_revoke_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                    uint8_t replica_type, uint32_t write_id);
void mc_master_batch_put_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                  const uint64_t *sizes, const uint32_t *write_ids, size_t n,
                                  const mc_replicate_config_t *cfg, mc_replica_list_t *out, mc_status_t *st);
void mc_master_batch_upsert_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                     const uint64_t *sizes, const uint32_t *write_ids, size_t n,
                                     const mc_replicate_config_t *cfg, mc_replica_list_t *out, mc_status_t *st);

/* ---- reads (mc_master_read.c) ---- */

/* GetReplicaList (§4.9): OBJECT_NOT_FOUND, REPLICA_IS_NOT_READY; OK grants
 * the lease (default_kv_lease_ttl). */
mc_status_t mc_master_get_replica_list(mc_master_t *m, uint64_t now_ns, mc_slice_t key, mc_replica_list_t *out);
void mc_master_batch_get_replica_list(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n,
                                      mc_replica_list_t *out, mc_status_t *st);
/* ExistKey: *exists true (and lease granted) iff the key has a readable replica. */
mc_status_t mc_master_exist_key(mc_master_t *m, uint64_t now_ns, mc_slice_t key, bool *exists);
void mc_master_batch_exist_key(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n, bool *exists,
                               mc_status_t *st);
/* GetSize: as GetReplicaList (grants a lease), returns the object size. */
mc_status_t mc_master_get_size(mc_master_t *m, uint64_t now_ns, mc_slice_t key, uint64_t *size);
/* GetReplicaListByRegex (POSIX ERE, search semantics): fn(arg, key, list)
 * for each matched key with >=1 readable replica (lease granted).
 * INVALID_PARAMS for a bad pattern (message in err). */
mc_status_t mc_master_get_replica_list_by_regex(mc_master_t *m, uint64_t now_ns, const char *pattern,
                                                void (*fn)(void *arg, mc_slice_t key, const mc_replica_list_t *l),
                                                void *arg, char *err, size_t errlen);
/* GetAllKeys: keys with >=1 readable replica (no lease), insertion order. */
void mc_master_for_each_key(const mc_master_t *m, void (*fn)(void *arg, mc_slice_t key), void *arg);
/* Admin read: no lease. */
mc_status_t mc_master_get_replica_list_admin(const mc_master_t *m, mc_slice_t key, mc_replica_list_t *out);

/* ---- removal (mc_master_remove.c) ---- */

/* Remove (§4.10): OBJECT_NOT_FOUND, OBJECT_HAS_LEASE (unless force),
 * REPLICA_IS_NOT_READY (even with force), OBJECT_HAS_REPLICATION_TASK.
 * A forced remove of a leased object parks its buffers until the lease ends. */
mc_status_t mc_master_remove(mc_master_t *m, uint64_t now_ns, mc_slice_t key, bool force);
void mc_master_batch_remove(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n, bool force,
                            mc_status_t *st);
/* RemoveByRegex: INVALID_PARAMS for a bad pattern (message in err, may be
 * NULL); else *removed = objects removed (skipped ones silently skipped). */
mc_status_t mc_master_remove_by_regex(mc_master_t *m, uint64_t now_ns, const char *pattern, bool force,
                                      uint64_t *removed, char *err, size_t errlen);
uint64_t mc_master_remove_all(mc_master_t *m, uint64_t now_ns, bool force);
/* BatchReplicaClear: for each key (skipping empty, absent, leased keys and
 * keys whose writer is not client): segment_name NULL/"" erases the whole
 * object unless a replica is not COMPLETE; otherwise only the COMPLETE
 * replicas on that segment name (the object goes when none is left).
 * cleared[i] tells whether key i was cleared; returns how many were. */
uint64_t mc_master_batch_replica_clear(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n,
                                       mc_uuid_t client, const char *segment_name, bool *cleared);

/* ---- copy / move tasks (mc_master_task.c, mc_master_repl.c) ---- */

typedef struct mc_task_info {
    mc_uuid_t id;
    uint8_t type;              /* enum mc_task_type */
    uint8_t status;            /* enum mc_task_status */
    uint64_t created_ms;       /* master clock (now_ns / 1e6), not wall time */
    uint64_t updated_ms;
    mc_uuid_t assigned_client;
    char message[96];
} mc_task_info_t;

/* What an executing client is told. Pointers borrow master memory:
 * valid until the next mutating call. */
typedef struct mc_task_assignment {
    mc_uuid_t id;
    uint8_t type;
    mc_slice_t key;
    const char *source;        /* segment name */
    const char *const *targets;
    uint32_t ntargets;
    uint64_t created_ms;
    uint32_t max_retry_attempts;
} mc_task_assignment_t;

/* CreateCopyTask: INVALID_PARAMS (no targets, a target not mounted),
 * OBJECT_NOT_FOUND, UNAVAILABLE_IN_CURRENT_STATUS (a target not
 * allocatable), TASK_PENDING_LIMIT_EXCEEDED. The source is a uniformly
 * random segment name among the object's complete replicas; the task goes
 * to the client owning it. */
mc_status_t mc_master_create_copy_task(mc_master_t *m, uint64_t now_ns, mc_slice_t key, const char *const *targets,
                                       uint32_t ntargets, mc_uuid_t *task_id);
/* CreateMoveTask: OBJECT_NOT_FOUND, INVALID_PARAMS (source == target,
 * target not mounted, source holds no replica), UNAVAILABLE_IN_CURRENT_STATUS,
 * TASK_PENDING_LIMIT_EXCEEDED. Assigned to the owner of source. */
mc_status_t mc_master_create_move_task(mc_master_t *m, uint64_t now_ns, mc_slice_t key, const char *source,
                                       const char *target, mc_uuid_t *task_id);
/* QueryTask: TASK_NOT_FOUND for unknown or pruned ids. */
mc_status_t mc_master_query_task(const mc_master_t *m, mc_uuid_t id, mc_task_info_t *out);
/* FetchTasks: up to max PENDING tasks of client (oldest first) become
 * PROCESSING, within the processing cap. *n = number returned. */
mc_status_t mc_master_fetch_tasks(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, uint32_t max,
                                  mc_task_assignment_t *out, uint32_t *n);
/* MarkTaskToComplete: TASK_NOT_FOUND, INVALID_PARAMS (status not SUCCESS
 * or FAILED), ILLEGAL_CLIENT (not the assignee); a finished task: OK. */
mc_status_t mc_master_mark_task_complete(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_uuid_t id,
                                         uint8_t status, const char *message);

/* CopyStart: SEGMENT_NOT_FOUND (unknown target), UNAVAILABLE_IN_CURRENT_STATUS
 * (target not allocatable), OBJECT_NOT_FOUND, OBJECT_HAS_REPLICATION_TASK,
 * REPLICA_NOT_FOUND (no complete replica on src), NO_AVAILABLE_HANDLE.
 * Targets already holding a replica are skipped. Pins the source. src
 * gets the source replica, tgt the new PROCESSING target replicas. */
mc_status_t mc_master_copy_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 const char *src_segment, const char *const *targets, uint32_t ntargets,
                                 mc_replica_desc_t *src, mc_replica_list_t *tgt);
/* CopyEnd: OBJECT_NOT_FOUND, OBJECT_NO_REPLICATION_TASK, ILLEGAL_CLIENT,
 * INVALID_PARAMS (it is a move), REPLICA_IS_GONE (source vanished: targets
 * dropped). CopyRevoke: same checks; drops the targets. */
mc_status_t mc_master_copy_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key);
mc_status_t mc_master_copy_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key);
/* MoveStart: INVALID_PARAMS (src == tgt), then as CopyStart with one
 * target; tgt->n == 0 when the target already holds a replica. MoveEnd
 * additionally removes the source replica (parked while leased). */
mc_status_t mc_master_move_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 const char *src_segment, const char *target, mc_replica_desc_t *src,
                                 mc_replica_list_t *tgt);
mc_status_t mc_master_move_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key);
mc_status_t mc_master_move_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key);

/* ---- eviction, sweeps, timers (mc_master_evict.c, mc_master_tick.c) ---- */

/* BatchEvict(target, lower_bound) (§4.11). Returns objects evicted. */
uint64_t mc_master_batch_evict(mc_master_t *m, uint64_t now_ns, double target, double lower_bound);
/* Watermark check + BatchEvict when due. Returns objects evicted. */
uint64_t mc_master_evict_tick(mc_master_t *m, uint64_t now_ns);
/* Zombie sweep (§4.8) and release of parked buffers whose deadline passed.
 * Returns the number of parked buffer sets released. */
uint64_t mc_master_sweep(mc_master_t *m, uint64_t now_ns);
/* Everything time-driven: client expiry, graceful unmounts, parked
 * buffers, zombie sweep, task timeouts, eviction. */
void mc_master_tick(mc_master_t *m, uint64_t now_ns);
/* Earliest instant something in tick is due (UINT64_MAX if nothing);
 * eviction by watermark additionally wants a tick every ~10 ms. */
uint64_t mc_master_next_deadline(const mc_master_t *m);

/* ---- invariants (for tests and the simulator's checkers) ---- */

/* Allocator conservation on every segment (no overlap, all space
 * accounted), every replica's allocation live and counted once, replicas
 * of one object on distinct segment names, counters consistent. */
bool mc_master_check(const mc_master_t *m, char *err, size_t errlen);
/* Bytes of master heap held by metadata (excluding malloc overhead). */
size_t mc_master_footprint(const mc_master_t *m);

#endif
