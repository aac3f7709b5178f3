/* In-memory object metadata of the master (spec §4.1), laid out for
 * memory: one allocation holds the header, the replicas and the key. */
#ifndef MC_OBJ_H
#define MC_OBJ_H

#include <stdint.h>

#include "store/mc_store_types.h"

enum mc_obj_flag {
    MC_OBJ_HARD_PIN = 1u << 0,
    MC_OBJ_PROCESSING = 1u << 1, /* key in upstream's processing_keys */
    MC_OBJ_HAS_CSUM = 1u << 2,   /* checksum in mc_master.csums */
    MC_OBJ_HAS_TASK = 1u << 3,   /* replication task in mc_master.repls */
    MC_OBJ_GROUPED = 1u << 4,    /* member of a group in mc_master.obj_group */
};

/* Pending soft-pin action of the in-flight write (committed at PutEnd). */
enum mc_pending_pin {
    MC_PIN_NONE = 0,
    MC_PIN_ENABLE = 1,
    MC_PIN_DISABLE = 2,
};

typedef struct mc_rep {
    uint64_t id;
    uint32_t slot;   /* segment record */
    uint32_t h;      /* allocator handle in that segment */
    uint8_t status;  /* enum mc_replica_status */
    uint8_t type;    /* enum mc_replica_type */
    uint16_t refcnt; /* copy/move source pins */
    uint32_t pad;
} mc_rep_t;

typedef struct mc_obj {
    uint64_t size;
    uint64_t lease_timeout;     /* ns; 0 = never leased */
    uint64_t soft_pin_deadline; /* ns; 0 = not soft pinned */
    uint64_t put_start_ns;
    mc_uuid_t client;           /* writer of the current/last write */
    uint32_t tab_idx;           /* position in the object table */
    uint32_t hash;
    uint32_t klen;
    uint32_t pending_pin_ttl_ms;
    uint8_t nrep;
    uint8_t caprep;
    uint8_t flags;              /* enum mc_obj_flag */
    uint8_t pending_pin;        /* enum mc_pending_pin */
    uint32_t write_id;          /* writer-chosen id of the current/last write; 0: none */
    mc_rep_t rep[];             /* caprep slots, then klen key bytes */
} mc_obj_t;

static inline uint8_t *mc_obj_key(const mc_obj_t *o) { return (uint8_t *)&o->rep[o->caprep]; }
static inline mc_slice_t mc_obj_keyslice(const mc_obj_t *o) { return mc_slice(mc_obj_key(o), o->klen); }

#endif
