/* Store control messages (client <-> master), types 100-399.
 *
 * One request struct serves the whole family; a schema table (in
 * mc_msg_store.c) says which field groups each type carries, in order, so
 * each message has exactly one definition and one codec. Single and
 * batch forms are the same message with one or many keys: the master
 * answers per key.
 *
 * Replies come in three shapes:
 *   VALUES_REPLY    per key (status, u64 value): end/revoke/remove/exist/
 *                   mount/... (value: exists 0/1, size, count)
 *   REPLICAS_REPLY  per key (status, replica list): put/upsert start, get
 *   KEYED_REPLICAS_REPLY  (key, replica list) pairs: regex queries
 *   TASK_REPLY      one task's record: create_copy/move_task, query_task
 *   TASKS_REPLY     task assignments: fetch_tasks
 * COPY_START / MOVE_START answer with a REPLICAS_REPLY of two lists: the
 * source replica, then the new target replicas.
 *
 * Decoded messages borrow slices from the frame; arrays are heap-allocated
 * and released with the matching _free. */
#ifndef MC_MSG_STORE_H
#define MC_MSG_STORE_H

#include "../store/mc_store_types.h"
#include "mc_wire.h"

#define MC_MSG_STORE_TYPE_LIST(X)                              \
    X(MOUNT_SEGMENT, 100, "mount_segment")                     \
    X(REMOUNT_SEGMENTS, 101, "remount_segments")               \
    X(UNMOUNT_SEGMENT, 102, "unmount_segment")                 \
    X(GRACEFUL_UNMOUNT_SEGMENT, 103, "graceful_unmount_segment") \
    X(PUT_START, 110, "put_start")                             \
    X(PUT_END, 111, "put_end")                                 \
    X(PUT_REVOKE, 112, "put_revoke")                           \
    X(UPSERT_START, 113, "upsert_start")                       \
    X(UPSERT_END, 114, "upsert_end")                           \
    X(UPSERT_REVOKE, 115, "upsert_revoke")                     \
    X(GET_REPLICA_LIST, 120, "get_replica_list")               \
    X(GET_REPLICA_LIST_BY_REGEX, 121, "get_replica_list_by_regex") \
    X(EXIST_KEY, 122, "exist_key")                             \
    X(REMOVE, 130, "remove")                                   \
    X(REMOVE_BY_REGEX, 131, "remove_by_regex")                 \
    X(REMOVE_ALL, 132, "remove_all")                           \
    X(BATCH_REPLICA_CLEAR, 133, "batch_replica_clear")         \
    X(CREATE_COPY_TASK, 140, "create_copy_task")               \
    X(CREATE_MOVE_TASK, 141, "create_move_task")               \
    X(QUERY_TASK, 142, "query_task")                           \
    X(FETCH_TASKS, 143, "fetch_tasks")                         \
    X(MARK_TASK_COMPLETE, 144, "mark_task_complete")           \
    X(COPY_START, 150, "copy_start")                           \
    X(COPY_END, 151, "copy_end")                               \
    X(COPY_REVOKE, 152, "copy_revoke")                         \
    X(MOVE_START, 153, "move_start")                           \
    X(MOVE_END, 154, "move_end")                               \
    X(MOVE_REVOKE, 155, "move_revoke")                         \
    X(VALUES_REPLY, 390, "values_reply")                       \
    X(REPLICAS_REPLY, 391, "replicas_reply")                   \
    X(KEYED_REPLICAS_REPLY, 392, "keyed_replicas_reply")       \
    X(TASK_REPLY, 393, "task_reply")                           \
    X(TASKS_REPLY, 394, "tasks_reply")

enum mc_msg_store_type {
#define MC_MSG_STORE_ENUM(name, value, str) MC_MSG_##name = (value),
    MC_MSG_STORE_TYPE_LIST(MC_MSG_STORE_ENUM)
#undef MC_MSG_STORE_ENUM
};

/* Limits a decoder enforces (a hostile frame cannot make us allocate more). */
#define MC_MSG_STORE_MAX_KEYS (1u << 20)
#define MC_MSG_STORE_MAX_SEGS 4096u
#define MC_MSG_STORE_MAX_PREF 64u
#define MC_MSG_STORE_MAX_TARGETS 64u   /* copy targets per task */
#define MC_MSG_STORE_MAX_TASKS 1024u   /* assignments per fetch */
#define MC_MSG_STORE_MAX_MESSAGE 256u  /* task status message */

typedef struct mc_msg_seg {
    mc_uuid_t id;
    mc_slice_t name;
    uint64_t base;
    uint64_t size;
    mc_slice_t endpoint;
    mc_slice_t protocol;
    uint32_t rkey; /* registration key of [base, base+size) in the owner */
} mc_msg_seg_t;

typedef struct mc_msg_config {
    uint32_t replica_num;
    bool with_hard_pin;
    bool prefer_alloc_in_same_node;
    uint8_t soft_pin_action;
    bool has_soft_pin_ttl;
    uint64_t soft_pin_ttl_ms;
    uint32_t npref;
    mc_slice_t *pref; /* preferred segment names, in order */
} mc_msg_config_t;

typedef struct mc_store_req {
    uint16_t type;
    mc_uuid_t client;
    mc_slice_t name;        /* REMOUNT: client name */
    uint32_t nkeys;
    mc_slice_t *keys;
    uint64_t *sizes;        /* PUT_START/UPSERT_START: one per key */
    mc_msg_config_t cfg;    /* PUT_START/UPSERT_START */
    uint8_t replica_type;   /* END and REVOKE forms */
    bool has_checksum;      /* END forms */
    uint64_t checksum;
    bool force;             /* REMOVE forms */
    mc_slice_t pattern;     /* BY_REGEX forms */
    uint32_t nsegs;
    mc_msg_seg_t *segs;     /* MOUNT (1) / REMOUNT (n) */
    mc_uuid_t seg_id;       /* UNMOUNT forms */
    uint64_t arg;           /* GRACEFUL_UNMOUNT: grace ms; FETCH_TASKS: max tasks */
    uint32_t ntargets;
    mc_slice_t *targets;    /* task and COPY/MOVE_START targets (segment names);
                               source / clear segment travel in name */
    mc_uuid_t task_id;      /* QUERY_TASK, MARK_TASK_COMPLETE */
    uint8_t task_status;    /* MARK_TASK_COMPLETE */
    mc_slice_t message;     /* MARK_TASK_COMPLETE */
    uint32_t *write_ids;    /* PUT/UPSERT START, END, REVOKE: one per key, the
                               writer's id for that key's write; 0 = none, and
                               NULL encodes zeros. The master ends/revokes only
                               the write the id names (core/store/README.md) */
} mc_store_req_t;

void mc_store_req_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_req_t *m);
/* type comes from the frame header; MC_INVALID_PARAMS if not a store request. */
mc_status_t mc_store_req_decode(uint16_t type, mc_rbuf_t *r, mc_store_req_t *m);
void mc_store_req_free(mc_store_req_t *m);
bool mc_store_req_type_known(uint16_t type);

/* Replies. */
typedef struct mc_store_val {
    int32_t status;
    uint64_t value;
} mc_store_val_t;

typedef struct mc_store_values_reply {
    int32_t status; /* whole-call status; per-key results valid when MC_OK */
    uint32_t n;
    mc_store_val_t *v;
} mc_store_values_reply_t;

typedef struct mc_store_rlist {
    int32_t status;
    uint32_t n;
    mc_replica_desc_t r[MC_STORE_MAX_REPLICAS]; /* strings borrowed from the frame (NUL-less: use lens) */
    mc_slice_t endpoint[MC_STORE_MAX_REPLICAS];
    mc_slice_t protocol[MC_STORE_MAX_REPLICAS];
    mc_slice_t segment[MC_STORE_MAX_REPLICAS];
    uint64_t lease_ttl_ms;
    bool has_checksum;
    uint64_t checksum;
} mc_store_rlist_t;

typedef struct mc_store_replicas_reply {
    int32_t status;
    uint32_t n;
    mc_store_rlist_t *l;
    mc_slice_t *keys; /* KEYED_REPLICAS_REPLY only */
} mc_store_replicas_reply_t;

void mc_store_values_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_values_reply_t *m);
mc_status_t mc_store_values_reply_decode(mc_rbuf_t *r, mc_store_values_reply_t *m);
void mc_store_values_reply_free(mc_store_values_reply_t *m);

/* Encoding is incremental (lists come straight from master calls):
 * begin, then one add per key, then finish. */
void mc_store_replicas_reply_begin(mc_wbuf_t *w, uint64_t req_id, bool keyed, int32_t status, uint32_t n);
void mc_store_replicas_reply_add(mc_wbuf_t *w, mc_slice_t key /* keyed only */, int32_t status,
                                 const mc_replica_list_t *l);
void mc_store_replicas_reply_finish(mc_wbuf_t *w);
mc_status_t mc_store_replicas_reply_decode(uint16_t type, mc_rbuf_t *r, mc_store_replicas_reply_t *m);
void mc_store_replicas_reply_free(mc_store_replicas_reply_t *m);

/* One task's record (TASK_REPLY). message borrowed from the frame. */
typedef struct mc_store_task_reply {
    int32_t status;
    mc_uuid_t id;
    uint8_t type;           /* enum mc_task_type */
    uint8_t task_status;    /* enum mc_task_status */
    uint64_t created_ms;
    uint64_t updated_ms;
    mc_uuid_t assigned_client;
    mc_slice_t message;
} mc_store_task_reply_t;

void mc_store_task_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_task_reply_t *m);
mc_status_t mc_store_task_reply_decode(mc_rbuf_t *r, mc_store_task_reply_t *m);

/* Task assignments (TASKS_REPLY). Slices borrowed from the frame; the
 * arrays are heap-allocated, released with mc_store_tasks_reply_free. */
typedef struct mc_store_task_assign {
    mc_uuid_t id;
    uint8_t type;
    mc_slice_t key;
    mc_slice_t source;
    uint32_t ntargets;
    mc_slice_t *targets;
    uint64_t created_ms;
    uint32_t max_retry;
} mc_store_task_assign_t;

typedef struct mc_store_tasks_reply {
    int32_t status;
    uint32_t n;
    mc_store_task_assign_t *t;
} mc_store_tasks_reply_t;

void mc_store_tasks_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_tasks_reply_t *m);
mc_status_t mc_store_tasks_reply_decode(mc_rbuf_t *r, mc_store_tasks_reply_t *m);
void mc_store_tasks_reply_free(mc_store_tasks_reply_t *m);

/* For mc_msg_validate: decode and free any store message. */
mc_status_t mc_msg_store_validate(uint16_t type, mc_rbuf_t *r);
bool mc_msg_store_type_known(uint16_t type);
const char *mc_msg_store_type_name(uint16_t type);

#endif
