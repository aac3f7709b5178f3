/* Store enumerations and small value types shared by the master core, the
 * store client and the wire codec. Numeric values are upstream's
 * (shared/spec/store.md §2) and part of the contract. */
#ifndef MC_STORE_TYPES_H
#define MC_STORE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/mc_bytes.h"
#include "wire/mc_msg_membership.h" /* mc_uuid_t */

enum mc_replica_status {
    MC_REPLICA_UNDEFINED = 0,
    MC_REPLICA_INITIALIZED = 1,
    MC_REPLICA_PROCESSING = 2,
    MC_REPLICA_COMPLETE = 3,
    MC_REPLICA_REMOVED = 4,
    MC_REPLICA_FAILED = 5,
};

enum mc_replica_type {
    MC_REPLICA_TYPE_MEMORY = 0,
    MC_REPLICA_TYPE_DISK = 1,
    MC_REPLICA_TYPE_LOCAL_DISK = 2,
    MC_REPLICA_TYPE_NOF_SSD = 3,
    MC_REPLICA_TYPE_ALL = 4, /* PutEnd/PutRevoke pseudo-type */
    MC_REPLICA_TYPE_DFS = 100,
};

enum mc_segment_status {
    MC_SEGMENT_UNDEFINED = 0,
    MC_SEGMENT_OK = 1,
    MC_SEGMENT_DRAINING = 2,
    MC_SEGMENT_DRAINED = 3,
    MC_SEGMENT_GRACEFULLY_UNMOUNTING = 4,
    MC_SEGMENT_UNMOUNTING = 5,
};

enum mc_soft_pin_action {
    MC_SOFT_PIN_PRESERVE = 0,
    MC_SOFT_PIN_ENABLE = 1,
    MC_SOFT_PIN_DISABLE = 2,
};

enum mc_task_type {
    MC_TASK_REPLICA_COPY = 0,
    MC_TASK_REPLICA_MOVE = 1,
};

enum mc_task_status {
    MC_TASK_PENDING = 0,
    MC_TASK_PROCESSING = 1,
    MC_TASK_FAILED = 2,
    MC_TASK_SUCCESS = 3,
};

/* Most memory replicas one object may have (upstream has no cap; ours keeps
 * descriptors fixed-size; asking for more is MC_INVALID_PARAMS). */
#define MC_STORE_MAX_REPLICAS 8u

/* Segment as a client mounts it (spec §4.15). Strings are borrowed by the
 * call; the master copies them. */
typedef struct mc_segment_info {
    mc_uuid_t id;          /* chosen by the client */
    const char *name;      /* client local_hostname; replicas go on distinct names */
    uint64_t base;         /* virtual address in the owner */
    uint64_t size;
    const char *te_endpoint;
    const char *protocol;  /* "tcp", "rdma", ... */
    uint32_t rkey;         /* the owner's registration key (mem_register) */
} mc_segment_info_t;

/* ReplicateConfig (spec §8.2), the fields the master core uses. */
typedef struct mc_replicate_config {
    uint32_t replica_num;
    bool with_hard_pin;
    bool prefer_alloc_in_same_node;
    uint8_t soft_pin_action;     /* enum mc_soft_pin_action */
    bool has_soft_pin_ttl;
    uint64_t soft_pin_ttl_ms;
    const char *preferred_segment;           /* NULL or "" = none; overrides the list */
    const char *const *preferred_segments;   /* tried in order */
    uint32_t n_preferred_segments;
    /* Object groups (§4.14): one id per key ("" = ungrouped); single-key
     * calls take exactly one, batch calls one per key; NULL/0 = none. */
    const char *const *group_ids;
    uint32_t n_group_ids;
} mc_replicate_config_t;

/* A replica as returned to clients. endpoint/protocol are borrowed from
 * the master's segment record: valid until the next mutating master call. */
typedef struct mc_replica_desc {
    uint64_t id;
    uint64_t buffer_address; /* segment base + offset, in the owner's address space */
    uint64_t size;
    uint32_t rkey;           /* segment's registration key: mc_xfer_op_t.remote_key */
    const char *endpoint;
    const char *protocol;
    const char *segment_name;
    uint8_t status;          /* enum mc_replica_status */
    uint8_t type;            /* enum mc_replica_type (MEMORY) */
} mc_replica_desc_t;

typedef struct mc_replica_list {
    uint32_t n;
    mc_replica_desc_t r[MC_STORE_MAX_REPLICAS];
    uint64_t lease_ttl_ms;
    bool has_checksum;
    uint64_t checksum;
} mc_replica_list_t;

#endif
