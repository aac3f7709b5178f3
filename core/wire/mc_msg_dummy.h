/* Dummy client <-> real-client service (mooncake_client) messages, types
 * 400-499 (spec store.md §7).
 *
 * A dummy client owns no segment: it forwards each store operation to a
 * mooncake_client over TCP and shares memory with it (memfd regions whose
 * descriptors travel over a unix socket, SHM_REGISTER). Payloads stay in
 * that shared memory: an operation names dummy addresses (value to write,
 * buffer to read into) and the real client translates them into its own
 * mapping. Bytes travel inside a message only as a fallback (a value
 * outside shared memory that does not fit the local buffer).
 *
 * One struct serves the family and a schema table (mc_msg_dummy.c) says
 * which field groups each type carries, in order, so every message has
 * one definition and one codec. Decoded messages borrow slices from the
 * frame; arrays are heap-allocated and released with mc_dummy_msg_free. */
#ifndef MC_MSG_DUMMY_H
#define MC_MSG_DUMMY_H

#include <stdbool.h>

#include "mc_msg_membership.h"
#include "mc_wire.h"

#define MC_MSG_DUMMY_TYPE_LIST(X)                         \
    X(DUMMY_HELLO, 400, "dummy_hello")                    \
    X(DUMMY_HELLO_REPLY, 401, "dummy_hello_reply")        \
    X(DUMMY_SHM_REGISTER, 402, "dummy_shm_register")      \
    X(DUMMY_SHM_UNREGISTER, 403, "dummy_shm_unregister")  \
    X(DUMMY_ALLOC, 404, "dummy_alloc")                    \
    X(DUMMY_RELEASE, 405, "dummy_release")                \
    X(DUMMY_OPS, 410, "dummy_ops")                        \
    X(DUMMY_OPS_REPLY, 411, "dummy_ops_reply")            \
    X(DUMMY_STATUS_REPLY, 490, "dummy_status_reply")      \
    X(DUMMY_ADDRS_REPLY, 491, "dummy_addrs_reply")

enum mc_msg_dummy_type {
#define MC_MSG_DUMMY_ENUM(name, value, str) MC_MSG_##name = (value),
    MC_MSG_DUMMY_TYPE_LIST(MC_MSG_DUMMY_ENUM)
#undef MC_MSG_DUMMY_ENUM
};

/* Decoder limits (a hostile frame cannot make us allocate more). */
#define MC_DUMMY_MAX_OPS 4096u /* per message; senders split bigger batches */
#define MC_DUMMY_MAX_ADDRS (1u << 20)
#define MC_DUMMY_MAX_PREF 64u
#define MC_DUMMY_MAX_DESCS 8u /* entries carried per result (MOONCAKE_MAX_REPLICAS) */

/* Operations, as the C facade runs them (one key each unless stated). */
enum mc_dummy_op_kind {
    MC_DUMMY_OP_PUT = 1,
    MC_DUMMY_OP_UPSERT = 2,
    MC_DUMMY_OP_GET = 3,
    MC_DUMMY_OP_EXIST = 4,
    MC_DUMMY_OP_SIZE = 5, /* also the replica list when descs_cap > 0 */
    MC_DUMMY_OP_REMOVE = 6,
    MC_DUMMY_OP_REMOVE_REGEX = 7, /* pattern, no key */
    MC_DUMMY_OP_REMOVE_ALL = 8,   /* no key */
    MC_DUMMY_OP_HEALTH = 9,       /* value: 1 when the real client's master is reachable */
    MC_DUMMY_OP_COPY_TASK = 10,   /* key, targets: result carries the task id */
    MC_DUMMY_OP_MOVE_TASK = 11,   /* key, source, target: result carries the task id */
    MC_DUMMY_OP_QUERY_TASK = 12,  /* task (no key): result carries the task's state */
};

#define MC_DUMMY_MAX_TARGETS 64u

/* What a result carries beyond status/value (self-describing on the wire). */
enum mc_dummy_extra {
    MC_DUMMY_EXTRA_NONE = 0,
    MC_DUMMY_EXTRA_TASK_ID = 1,
    MC_DUMMY_EXTRA_TASK_INFO = 2,
};

/* Where a value (PUT/UPSERT) or a GET destination lives. */
enum mc_dummy_mem {
    MC_DUMMY_MEM_NONE = 0,
    MC_DUMMY_MEM_INLINE = 1, /* bytes in the message */
    MC_DUMMY_MEM_SHM = 2,    /* dummy address + length inside a registered region */
};

enum {
    MC_DUMMY_OPF_FORCE = 1 << 0,   /* remove forms */
    MC_DUMMY_OPF_RELEASE = 1 << 1, /* value was staged by DUMMY_ALLOC: free it after the op */
};

/* ReplicateConfig (a single key's view: at most one group id). */
typedef struct mc_dummy_cfg {
    uint32_t replica_num;
    bool with_hard_pin;
    bool prefer_alloc_in_same_node;
    bool has_soft_pin_ttl;
    uint8_t soft_pin_action;
    uint64_t soft_pin_ttl_ms;
    bool has_preferred_segment;
    mc_slice_t preferred_segment;
    uint32_t npref;
    mc_slice_t *pref;
    bool has_group;
    mc_slice_t group;
} mc_dummy_cfg_t;

typedef struct mc_dummy_op {
    uint8_t kind;
    uint8_t flags;
    mc_slice_t key;     /* not REMOVE_REGEX/REMOVE_ALL/HEALTH */
    mc_slice_t pattern; /* REMOVE_REGEX */
    mc_dummy_cfg_t cfg; /* PUT/UPSERT */
    uint8_t value_mem;  /* PUT/UPSERT: INLINE or SHM */
    mc_slice_t value;   /* INLINE */
    uint64_t value_addr, value_len; /* SHM */
    uint8_t into_mem;   /* GET: NONE (answer in the local buffer) or SHM */
    uint64_t into_addr, into_cap;
    uint32_t descs_cap; /* SIZE */
    uint32_t ntargets;  /* COPY_TASK */
    mc_slice_t *targets;
    mc_slice_t source, target; /* MOVE_TASK */
    mc_uuid_t task;     /* QUERY_TASK */
} mc_dummy_op_t;

typedef struct mc_dummy_desc {
    uint8_t status;
    uint8_t type;
    uint64_t buffer_address;
    uint64_t size;
    mc_slice_t endpoint;
} mc_dummy_desc_t;

typedef struct mc_dummy_result {
    int32_t status;
    uint64_t value;    /* exists 0/1, size, count, healthy */
    uint64_t out_len;  /* GET: object size */
    uint8_t out_mem;   /* GET without a destination: SHM (out_addr in the local buffer) or INLINE */
    uint64_t out_addr;
    mc_slice_t out;
    uint32_t ndescs;   /* SIZE with descs: the full count */
    uint32_t nentries; /* entries carried (<= MC_DUMMY_MAX_DESCS) */
    mc_dummy_desc_t descs[MC_DUMMY_MAX_DESCS];
    uint8_t extra;     /* enum mc_dummy_extra */
    mc_uuid_t task;    /* TASK_ID, TASK_INFO */
    int32_t task_type, task_status;          /* TASK_INFO */
    uint64_t created_at_ms, last_updated_at_ms;
    mc_uuid_t assigned_client;
    mc_slice_t message;
} mc_dummy_result_t;

typedef struct mc_dummy_msg {
    uint16_t type;
    int32_t status;     /* replies */
    mc_uuid_t session;  /* HELLO_REPLY, SHM_REGISTER */
    mc_slice_t name;    /* HELLO: the dummy's name; HELLO_REPLY: the unix socket name for SHM_REGISTER */
    uint64_t base;      /* SHM_*: the region's address in the dummy */
    uint64_t size;      /* SHM_REGISTER */
    bool is_local_buffer;
    uint32_t naddrs;    /* ALLOC: sizes; RELEASE/ADDRS_REPLY: dummy addresses (0 = none) */
    uint64_t *addrs;
    uint32_t nops;
    mc_dummy_op_t *ops;
    uint32_t nresults;
    mc_dummy_result_t *results;
} mc_dummy_msg_t;

bool mc_msg_dummy_type_known(uint16_t type);
bool mc_msg_dummy_is_reply(uint16_t type);
const char *mc_msg_dummy_type_name(uint16_t type);

/* Encoder writes a complete frame (replies get the response flag). The
 * decoder takes the body reader from mc_wire_open; MC_INVALID_PARAMS for
 * an unknown type, malformed or out-of-range field, or trailing bytes. */
void mc_dummy_msg_encode(mc_wbuf_t *w, uint64_t req_id, const mc_dummy_msg_t *m);
mc_status_t mc_dummy_msg_decode(uint16_t type, mc_rbuf_t *r, mc_dummy_msg_t *m);
void mc_dummy_msg_free(mc_dummy_msg_t *m);

#endif
