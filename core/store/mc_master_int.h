/* Private state and helpers of the master core, shared by mc_master_*.c. */
#ifndef MC_MASTER_INT_H
#define MC_MASTER_INT_H

#include "base/mc_list.h"
#include "base/mc_map.h"
#include "base/mc_vec.h"
#include "store/mc_master.h"
#include "store/mc_obj.h"
#include "store/mc_objtab.h"
#include "store/mc_segment.h"

#define MC_MS(ms) ((uint64_t)(ms) * 1000000ull)

/* A buffer whose space must not be reused before deadline: a zombie or
 * preempted write (writer may still be writing) or a buffer dropped while
 * a reader held a lease. Buffers parked together share set. */
typedef struct mc_parked {
    uint64_t deadline_ns;
    uint64_t set;
    uint64_t len;
    uint32_t slot;
    uint32_t h;
} mc_parked_t;

/* An in-flight copy/move on one key (execution side, §4.16). */
typedef struct mc_repl {
    uint8_t type;              /* enum mc_task_type */
    uint8_t ntgt;
    mc_uuid_t client;          /* executor: only it may end/revoke */
    uint64_t start_ns;
    uint64_t src_id;           /* pinned source replica */
    uint64_t tgt_id[MC_STORE_MAX_REPLICAS];
} mc_repl_t;

/* A copy/move task of the task manager (§4.16). */
typedef struct mc_task {
    mc_uuid_t id;
    mc_uuid_t client;
    uint8_t type;
    uint8_t status;
    uint64_t created_ns;
    uint64_t updated_ns;
    uint8_t *key;
    uint32_t klen;
    uint32_t ntargets;
    char *source;
    char **targets;
    char message[96];
    mc_list_t link;            /* pending, processing or finished list */
} mc_task_t;

typedef struct mc_tasks {
    mc_map_t by_id;            /* uuid -> mc_task_t* */
    mc_list_t pending;         /* FIFO */
    mc_list_t processing;
    mc_list_t finished;        /* oldest first, pruned beyond the limit */
    uint32_t npending, nprocessing, nfinished;
    uint64_t last_sweep_ns;
} mc_tasks_t;

/* An object group (§4.14): members evicted as a unit, leases refreshed
 * together. */
typedef struct mc_group {
    char *id;
    mc_map_t members; /* key -> (void *)1, join order */
    bool refresh;     /* membership changed: next read refreshes all */
} mc_group_t;

typedef struct mc_client {
    mc_uuid_t id;
    uint64_t deadline_ns;
    bool ok; /* remounted: Ping answers OK */
} mc_client_t;

struct mc_master {
    mc_master_config_t cfg;
    mc_rng_t *rng;
    mc_segmgr_t segs;
    mc_objtab_t objs;
    mc_map_t csums;        /* key -> checksum (uintptr_t) for MC_OBJ_HAS_CSUM */
    mc_vec_t parked;       /* mc_parked_t, in parking order */
    uint64_t parked_min_deadline;
    uint64_t next_park_set;
    mc_map_t clients;      /* uuid -> mc_client_t* */
    uint64_t next_replica_id;
    uint64_t nprocessing;
    uint64_t nsoftpinned;  /* objects with a soft-pin deadline set (maybe expired) */
    bool need_eviction;
    uint64_t last_zombie_sweep_ns;
    uint64_t last_pin_sweep_ns;
    uint64_t last_tick_ns;
    bool ticked;           /* last_tick_ns is meaningful */
    uint64_t view_version;
    mc_master_stats_t st;
    mc_map_t repls;        /* key -> mc_repl_t* for MC_OBJ_HAS_TASK */
    mc_map_t groups;       /* group id -> mc_group_t*, creation order */
    mc_map_t obj_group;    /* key -> mc_group_t* for MC_OBJ_GROUPED */
    mc_tasks_t tasks;
};

/* Object lookup / lifetime (mc_master.c). */
mc_obj_t *mc_m_find(const mc_master_t *m, mc_slice_t key);
mc_obj_t *mc_m_obj_new(mc_master_t *m, mc_slice_t key, uint32_t caprep);
/* Erase the object: its remaining replicas' buffers are freed, or parked
 * until the lease ends when a reader may hold one (park_leased). */
void mc_m_obj_erase(mc_master_t *m, mc_obj_t *o, uint64_t now_ns, bool park_leased);
/* Drop replica i (keeps order): free its buffer now, or park it until
 * deadline when deadline > now. */
void mc_m_rep_drop(mc_master_t *m, mc_obj_t *o, uint32_t i, uint64_t now_ns, uint64_t deadline_ns, uint64_t set);
uint64_t mc_m_park_set(mc_master_t *m);
void mc_m_set_processing(mc_master_t *m, mc_obj_t *o, bool on);
void mc_m_set_soft_pin(mc_master_t *m, mc_obj_t *o, uint64_t deadline_ns);

static inline bool mc_m_lease_active(const mc_obj_t *o, uint64_t now_ns) { return now_ns < o->lease_timeout; }
static inline void mc_m_grant_lease(mc_obj_t *o, uint64_t now_ns, uint64_t ttl_ns)
{
    if (now_ns + ttl_ns > o->lease_timeout)
        o->lease_timeout = now_ns + ttl_ns;
}
bool mc_m_rep_readable(const mc_master_t *m, const mc_rep_t *r);
/* Batch forms process keys in chunks of MC_M_CHUNK, prefetching each
 * chunk's objects and replica allocator nodes first (latency hiding). */
#define MC_M_CHUNK 32u
void mc_m_prefetch(const mc_master_t *m, const mc_slice_t *keys, size_t n);
#define MC_M_FOR_CHUNKS(m, keys, n, i, ...)                                     \
    for (size_t base_ = 0; base_ < (n); base_ += MC_M_CHUNK) {                   \
        size_t end_ = (n) - base_ < MC_M_CHUNK ? (n) : base_ + MC_M_CHUNK;        \
        mc_m_prefetch((m), (keys) + base_, end_ - base_);                       \
        for (size_t i = base_; i < end_; i++) {                                 \
            __VA_ARGS__;                                                        \
        }                                                                       \
    }
/* Fill out with the readable replicas (readable_only) or all of them. */
void mc_m_describe(const mc_master_t *m, const mc_obj_t *o, bool readable_only, mc_replica_list_t *out);
bool mc_m_all_complete(const mc_obj_t *o);

/* Write helpers (mc_master_put.c). */
mc_status_t mc_m_validate_put(const mc_master_t *m, mc_slice_t key, uint64_t size, const mc_replicate_config_t *cfg);
/* Allocate and insert a fresh PROCESSING object (case A) for write write_id. */
mc_status_t mc_m_put_alloc(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                           const mc_replicate_config_t *cfg, bool hard_pin, uint64_t soft_pin_deadline,
                           uint32_t write_id, mc_replica_list_t *out);
/* A start (write_id) older than the same client's current/last write of
 * the object: a request its writer gave up on, delivered late (e.g. on a
 * connection it had already closed). Ids compare modulo 2^32. */
static inline bool mc_m_write_stale(const mc_obj_t *o, mc_uuid_t client, uint32_t write_id)
{
    uint32_t ahead = o->write_id - write_id;
    return write_id && o->write_id && mc_uuid_eq(o->client, client) && ahead != 0 && ahead < 0x80000000u;
}
/* An End/Revoke names the object's write (id 0: any write of the client). */
static inline bool mc_m_write_named(const mc_obj_t *o, uint32_t write_id)
{
    return write_id == 0 || o->write_id == write_id;
}
/* Park every PROCESSING replica of an in-flight write (zombie / preempt). */
void mc_m_discard_processing(mc_master_t *m, mc_obj_t *o, uint64_t now_ns, uint64_t deadline_ns);

/* Parked buffers (mc_master_park.c). */
void mc_m_park(mc_master_t *m, uint32_t slot, uint32_t h, uint64_t len, uint64_t deadline_ns, uint64_t set);
uint64_t mc_m_release_parked(mc_master_t *m, uint64_t now_ns, bool *held_memory);

/* Clients (mc_master_client.c): register/refresh the TTL; expire due ones. */
mc_client_t *mc_m_client_touch(mc_master_t *m, uint64_t now_ns, mc_uuid_t id);
void mc_m_clients_tick(mc_master_t *m, uint64_t now_ns);

/* Segment sweep after unmount (mc_master_segment.c). */
void mc_m_unmount(mc_master_t *m, uint64_t now_ns, mc_seg_t *s);

/* Groups (mc_master_group.c). */
/* The group id a config asks for: NULL = none given, "" = ungrouped. */
const char *mc_m_cfg_group(const mc_replicate_config_t *cfg);
mc_group_t *mc_m_group_of(const mc_master_t *m, const mc_obj_t *o);
void mc_m_group_join(mc_master_t *m, mc_obj_t *o, const char *gid);
void mc_m_group_leave(mc_master_t *m, mc_obj_t *o);
/* Grant the read lease; for a group member, refresh the whole group when
 * this member's lease is within ttl/2 of expiring or the group changed. */
void mc_m_read_lease(mc_master_t *m, mc_obj_t *o, uint64_t now_ns);
void mc_m_groups_destroy(mc_master_t *m);

/* Tasks (mc_master_task.c) and replication execution (mc_master_repl.c). */
void mc_m_tasks_init(mc_master_t *m);
void mc_m_tasks_destroy(mc_master_t *m);
void mc_m_tasks_tick(mc_master_t *m, uint64_t now_ns);
/* Reclaim copy/move executions older than the release timeout. */
void mc_m_repl_sweep(mc_master_t *m, uint64_t now_ns);
/* Start time of the object's copy/move (0 if none). */
uint64_t mc_m_repl_start_ns(const mc_master_t *m, const mc_obj_t *o);
/* Forget the replication record of an object being erased. */
void mc_m_repl_forget(mc_master_t *m, mc_obj_t *o);
/* Make room for more replicas; returns the (possibly moved) object. */
mc_obj_t *mc_m_obj_grow(mc_master_t *m, mc_obj_t *o, uint32_t caprep);
int mc_m_rep_find(const mc_obj_t *o, uint64_t id);

#endif
