/* The store client state machine (spec store.md §6): mounts a segment of
 * its own memory into the cluster pool, keeps membership with the master
 * (re-mounting after NEED_REMOUNT), and runs put/get/remove/exist as
 * asynchronous operations: master RPCs over the wire, bytes over the
 * environment's transport (or memcpy when the replica is in its own
 * segment, upstream's MC_STORE_MEMCPY path).
 *
 * Same code in the simulator and in hw; everything is asynchronous and
 * each operation's callback runs exactly once. */
#ifndef MC_STORE_CLIENT_H
#define MC_STORE_CLIENT_H

#include "base/mc_map.h"
#include "membership/mc_member_agent.h"
#include "store/mc_store_types.h"
#include "wire/mc_msg_store.h"

typedef struct mc_sc_result {
    mc_status_t status;
    uint64_t value;      /* exist: 0/1; remove_by_regex/remove_all: count; get: size */
    uint8_t *data;       /* get: object bytes (owned by the client; valid during the callback;
                            get_into: the caller's destination) */
    uint8_t **own;       /* get OK into a client buffer: the callback may take that malloc'd
                            buffer (free() it later) by reading *own and setting *own = NULL */
    size_t len;
    uint32_t replicas;   /* put: replicas written */
    const char (*endpoints)[256]; /* put/get_size OK: the replicas' transport endpoints, valid during the callback */
    const char (*segments)[256];  /* ... and their segment names (the owners' local_hostname) */
    const mc_replica_desc_t *descs; /* get_size OK: the replica list (replicas entries, endpoints above;
                                       string fields NULL), valid during the callback */
    mc_uuid_t uuid;      /* mount_segment: segment id; create_*_task: task id */
    const struct mc_sc_task_info *task; /* query_task OK, valid during the callback */
    const uint8_t *flags; /* batch_replica_clear OK: per key 1 = cleared */
    uint32_t nflags;
} mc_sc_result_t;

/* A task's record as query_task reports it (upstream QueryTaskResponse). */
typedef struct mc_sc_task_info {
    mc_uuid_t id;
    uint8_t type;        /* enum mc_task_type */
    uint8_t status;      /* enum mc_task_status */
    uint64_t created_ms;
    uint64_t updated_ms;
    mc_uuid_t assigned_client;
    char message[256];
} mc_sc_task_info_t;

/* An extra segment mounted with mc_sc_mount_segment. The memory belongs to
 * the caller; release runs (on the loop) once the master no longer hands
 * it out and the grace period, if any, has passed. */
typedef void (*mc_sc_seg_release_fn)(void *user, void *base, uint64_t size);
typedef struct mc_sc_seg {
    mc_uuid_t id;
    uint8_t *base;
    uint64_t size;
    uint32_t rkey;       /* registration key, published with the mount */
    bool leaving;        /* graceful unmount in progress: not remounted */
    mc_timer_t drain;    /* end of the grace period */
    mc_sc_seg_release_fn release;
    void *user;
    struct mc_store_client *c;
} mc_sc_seg_t;

typedef void (*mc_sc_done_fn)(void *arg, const mc_sc_result_t *r);

/* A caller buffer registered with the transport (mc_sc_buffer_register). */
typedef struct mc_sc_buf {
    uintptr_t base;
    size_t len;
} mc_sc_buf_t;

typedef struct mc_sc_config {
    const char *master;          /* master address */
    const char *addr;            /* own address: segment name and transfer endpoint */
    uint64_t segment_size;       /* bytes contributed to the pool (0: none) */
    uint64_t rpc_timeout_ns;     /* per master RPC */
    uint64_t xfer_timeout_ns;    /* guard for transport completions */
    const char *protocol;        /* "tcp" (static string or outlives the client) */
    uint64_t task_poll_ns;       /* how often to fetch copy/move tasks (0: 500 ms) */
} mc_sc_config_t;

typedef struct mc_store_client {
    mc_env_t *env;
    mc_sc_config_t cfg;
    char *addr;                  /* own address = segment name (owned) */
    const char *endpoint;        /* transport endpoint of our segment: env data_endpoint or addr */
    mc_member_agent_t agent;     /* owns the master channel */
    uint8_t *segment;            /* contributed memory */
    mc_uuid_t segment_id;
    uint32_t segment_rkey;       /* registration key of segment */
    bool remounting;
    uint64_t next_op_id;
    mc_map_t ops;                /* op id -> struct mc_sc_op* */
    mc_map_t writes;             /* key -> the put/upsert in flight on it (queued ones chained) */
    mc_map_t xfers;              /* xfer tag -> struct mc_sc_op* */
    mc_map_t parked;             /* xfer tag -> struct mc_sc_parked*: abandoned reads still in flight */
    uint64_t next_tag;
    mc_wbuf_t out;
    mc_sc_seg_t **extra;         /* extra segments (mount_segment), mount order */
    uint32_t nextra, cap_extra;
    mc_timer_t task_timer;       /* copy/move task executor (mc_store_client_tasks.c) */
    bool task_fetching;
    uint32_t tasks_running;
    struct mc_sc_task_run *tasks; /* tasks being executed (list, freed by destroy) */
    mc_sc_buf_t *bufs;           /* caller buffers registered once (mc_store_client_buffers.c) */
    uint32_t nbufs, cap_bufs;
    uint32_t xplug;              /* > 0: transfers are collected in xq and posted together */
    struct mc_xfer_op *xq;       /* ... (mc_store_client_batch.c) */
    uint32_t nxq, cap_xq;
} mc_store_client_t;

mc_status_t mc_store_client_init(mc_store_client_t *c, mc_env_t *env, const mc_sc_config_t *cfg, char *err,
                                 size_t errlen);
/* Fails pending operations with MC_RPC_FAIL (callbacks run) then frees. */
void mc_store_client_destroy(mc_store_client_t *c);

/* Operations. key bytes and data are copied (data inside a buffer
 * registered with mc_sc_buffer_register is borrowed instead: the caller
 * keeps it intact until the callback, which then waits for every transfer
 * reading it); callbacks run later. */
void mc_sc_put(mc_store_client_t *c, mc_slice_t key, const void *data, size_t len, const mc_replicate_config_t *rc,
               bool upsert, mc_sc_done_fn done, void *arg);
void mc_sc_get(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg);
/* get into caller memory [dst, dst+cap): the transport reads straight into
 * it when it can be registered (else through a client buffer and one copy).
 * The callback runs only once no transfer can write dst any more. An
 * object larger than cap: MC_INVALID_PARAMS. r->data = dst on success. */
void mc_sc_get_into(mc_store_client_t *c, mc_slice_t key, void *dst, size_t cap, mc_sc_done_fn done, void *arg);

/* Pure pieces of a get, shared with readers that talk to the master
 * themselves (libmooncake's same-host reads on the caller's thread).
 *
 * Decode a master reply expected to be a replica-list reply with n lists:
 * the transport status s, else MC_RPC_FAIL for a wrong type, a bad body or
 * another count, else the reply's own status. *rep is filled (free it
 * with mc_store_replicas_reply_free) whatever the result. */
mc_status_t mc_sc_replicas_reply(mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body, uint32_t n,
                                 mc_store_replicas_reply_t *rep);
/* A key's list as a read sees it: its status (an empty list is
 * MC_INVALID_REPLICA; an object larger than cap, when cap != 0, is
 * MC_INVALID_PARAMS) and, when MC_OK, the replicas to try in order[]
 * (*norder of them, possibly 0): COMPLETE ones only, those whose endpoint
 * is self (our own segment) first, then the master's order. */
mc_status_t mc_sc_read_plan(const mc_store_rlist_t *l, const char *self, size_t cap,
                            uint8_t order[MC_STORE_MAX_REPLICAS], uint32_t *norder);

/* Batch forms (mc_store_client_batch.c): one master RPC for all n keys,
 * then every key's transfers posted at once. Each key's callback runs
 * once, with args[i], as for the single form. dsts may be NULL (copying
 * get) or hold NULL entries. */
void mc_sc_batch_get(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, void *const *dsts,
                     const size_t *caps, mc_sc_done_fn done, void *const *args);
void mc_sc_batch_exist(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, mc_sc_done_fn done,
                       void *const *args);
void mc_sc_batch_remove(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, bool force, mc_sc_done_fn done,
                        void *const *args);
/* Batch put/upsert (upstream BatchPutStart / BatchPutEnd): one start RPC
 * for every key not already being written by this client, each key's
 * writes posted together, then one End RPC for the keys whose writes
 * landed and one Revoke RPC for the rest. Per-key results and codes are
 * those of mc_sc_put. A key with a write of this client in flight (or
 * repeated in the batch) is queued behind it and runs on its own. */
void mc_sc_batch_put(mc_store_client_t *c, uint32_t n, const mc_slice_t *keys, const void *const *datas,
                     const size_t *lens, const mc_replicate_config_t *rc, bool upsert, mc_sc_done_fn done,
                     void *const *args);
void mc_sc_remove(mc_store_client_t *c, mc_slice_t key, bool force, mc_sc_done_fn done, void *arg);
void mc_sc_exist(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg);
void mc_sc_remove_by_regex(mc_store_client_t *c, const char *pattern, bool force, mc_sc_done_fn done, void *arg);
void mc_sc_remove_all(mc_store_client_t *c, bool force, mc_sc_done_fn done, void *arg);

/* Unmount our segment on the master (close): objects stored only there
 * are gone when the callback reports MC_OK. No segment: MC_OK at once. */
void mc_sc_unmount(mc_store_client_t *c, mc_sc_done_fn done, void *arg);

/* Extra segments (mc_store_client_segments.c). mount: registers
 * [base, base+size) with the transport and mounts it under our name;
 * r->uuid is the segment id. unmount: grace_ms 0 unmounts now, else the
 * segment takes no new allocations, stays readable grace_ms, then goes.
 * Unknown id: MC_INTERNAL_ERROR (-1, as upstream). */
void mc_sc_mount_segment(mc_store_client_t *c, void *base, uint64_t size, mc_sc_seg_release_fn release, void *user,
                         mc_sc_done_fn done, void *arg);
void mc_sc_unmount_segment(mc_store_client_t *c, mc_uuid_t id, uint64_t grace_ms, mc_sc_done_fn done, void *arg);
/* A replica descriptor naming our own memory, checked as the transports
 * check a remote op: MC_TRANSFER_FAIL if none of our segments (main or
 * extra) has registration key rkey (a descriptor of an earlier process
 * under our address: it must not touch our memory), MC_INVALID_PARAMS if
 * [addr, addr+len) is not inside that segment, else MC_OK. */
mc_status_t mc_sc_local_range_check(const mc_store_client_t *c, uint64_t addr, uint64_t len, uint32_t rkey);
/* Segments for a remount: main first, then extra ones not leaving. *n set; caller frees. */
struct mc_msg_seg *mc_sc_segments_for_remount(mc_store_client_t *c, uint32_t *n);
/* Caller buffers registered once with the transport (upstream
 * register_buffer; mc_store_client_buffers.c): transfers into or out of a
 * range inside one skip the per-operation registration. register: a
 * transport refusal (overlap, duplicate) is MC_INVALID_PARAMS; unregister
 * of an unknown base is MC_INVALID_PARAMS. The caller must not unregister
 * a buffer an operation of it is still using. destroy unregisters all. */
mc_status_t mc_sc_buffer_register(mc_store_client_t *c, void *base, size_t len);
mc_status_t mc_sc_buffer_unregister(mc_store_client_t *c, void *base);
bool mc_sc_buffer_covered(const mc_store_client_t *c, const void *p, size_t len);
void mc_sc_buffers_free(mc_store_client_t *c);
/* Releases every extra segment (destroy). */
void mc_sc_segments_free(mc_store_client_t *c);

/* BatchReplicaClear: r->flags[i] tells whether key i was cleared. */
void mc_sc_batch_replica_clear(mc_store_client_t *c, const mc_slice_t *keys, uint32_t n, const char *segment,
                               mc_sc_done_fn done, void *arg);
/* Copy/move tasks (mc_store_client_tasks.c): create (r->uuid = task id),
 * query (r->task), and the executor that runs tasks the master assigns
 * to this client (started by init, stopped by destroy). */
void mc_sc_create_copy_task(mc_store_client_t *c, mc_slice_t key, const char *const *targets, uint32_t n,
                            mc_sc_done_fn done, void *arg);
void mc_sc_create_move_task(mc_store_client_t *c, mc_slice_t key, const char *source, const char *target,
                            mc_sc_done_fn done, void *arg);
void mc_sc_query_task(mc_store_client_t *c, mc_uuid_t id, mc_sc_done_fn done, void *arg);
void mc_sc_tasks_start(mc_store_client_t *c);
void mc_sc_tasks_stop(mc_store_client_t *c);

/* Bind env upcalls straight to this client (for embedders that host
 * nothing else on the env: the store_client role, the C API). */
void mc_store_client_bind(mc_store_client_t *c);
/* Read-only: object size (grants a lease, as upstream's getSize). */
void mc_sc_get_size(mc_store_client_t *c, mc_slice_t key, mc_sc_done_fn done, void *arg);
/* True once the master has acknowledged our segment (health). */
static inline bool mc_store_client_ready(const mc_store_client_t *c) { return c->agent.registered; }

/* Env upcalls, routed by the embedding role. */
void mc_store_client_on_up(mc_store_client_t *c, mc_conn_t conn);
void mc_store_client_on_down(mc_store_client_t *c, mc_conn_t conn, mc_status_t why);
void mc_store_client_on_msg(mc_store_client_t *c, mc_conn_t conn, const uint8_t *frame, size_t len);
void mc_store_client_on_xfer(mc_store_client_t *c, uint64_t tag, mc_status_t s);

#endif
