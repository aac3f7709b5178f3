/* Segment manager: the segment records the master knows about, the
 * allocation pool (segments new replicas may land on, grouped by segment
 * name) and replica placement (spec §4.13, §4.15).
 *
 * Records are addressed by a small slot number that replicas store. A
 * record outlives its unmount while anything still references it (a
 * replica not yet swept, or a buffer parked until a reader's lease ends),
 * so a slot is never reused under a live reference. */
#ifndef MC_SEGMENT_H
#define MC_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/mc_map.h"
#include "base/mc_rng.h"
#include "base/mc_status.h"
#include "store/mc_alloc.h"
#include "store/mc_store_types.h"

typedef struct mc_seg_name mc_seg_name_t;

typedef struct mc_seg {
    mc_uuid_t id;
    mc_uuid_t owner;      /* client that mounted it */
    char *name;
    char *endpoint;
    char *protocol;
    uint64_t base;
    uint64_t size;
    uint32_t rkey;        /* owner's registration key, returned in replica descriptors */
    uint8_t status;       /* enum mc_segment_status */
    uint32_t slot;
    uint32_t refs;        /* live allocations (replicas + parked buffers) */
    uint64_t used_bytes;  /* requested bytes of live allocations (spec: not padding) */
    uint64_t grace_deadline_ns; /* GRACEFULLY_UNMOUNTING: when to unmount */
    mc_seg_name_t *pool;  /* name group while in the allocation pool, else NULL */
    mc_alloc_t alloc;
} mc_seg_t;

struct mc_seg_name {
    char *name;
    uint32_t vec_idx;     /* position in mgr->names */
    uint32_t n;
    uint32_t cap;
    uint32_t *slots;      /* pool segments with this name, mount order */
};

typedef struct mc_segmgr {
    mc_seg_t **segs;      /* by slot; NULL = free slot */
    uint32_t nslots;
    uint32_t capslots;
    uint32_t live;        /* records */
    mc_map_t by_id;       /* 16-byte uuid -> mc_seg_t* */
    mc_map_t by_name;     /* name -> mc_seg_name_t* (pool only) */
    mc_seg_name_t **names; /* pool names in first-mount order (random walk) */
    uint32_t nnames;
    uint32_t capnames;
    uint32_t align;
    uint64_t pool_capacity; /* bytes of pool segments */
    uint64_t pool_used;     /* requested bytes allocated in pool segments */
} mc_segmgr_t;

/* One placed replica. */
typedef struct mc_placement {
    uint32_t slot;
    mc_alloc_handle_t h;
} mc_placement_t;

void mc_segmgr_init(mc_segmgr_t *g, uint32_t align);
void mc_segmgr_destroy(mc_segmgr_t *g);

static inline mc_seg_t *mc_segmgr_at(const mc_segmgr_t *g, uint32_t slot) { return g->segs[slot]; }
mc_seg_t *mc_segmgr_find(const mc_segmgr_t *g, mc_uuid_t id);
/* True if some pool segment has this name. */
bool mc_segmgr_has_name(const mc_segmgr_t *g, const char *name);
/* A pool-independent lookup: first live record with this name (any status). */
mc_seg_t *mc_segmgr_find_by_name(const mc_segmgr_t *g, const char *name);

/* Mount (spec §4.15 MountSegment). MC_INVALID_PARAMS: base or size 0,
 * empty name, or size below one aligned unit; same id mounted and OK:
 * MC_OK (idempotent); same id in another state: revived when every field
 * matches and it is UNMOUNTING (space parked for readers stays reserved),
 * else MC_UNAVAILABLE_IN_CURRENT_STATUS. *out (optional) = the record. */
mc_status_t mc_segmgr_mount(mc_segmgr_t *g, mc_uuid_t owner, const mc_segment_info_t *info, mc_seg_t **out);
/* Take a segment out of the allocation pool (graceful unmount, unmount). */
void mc_segmgr_leave_pool(mc_segmgr_t *g, mc_seg_t *s);
/* Mark UNMOUNTING (replicas on it become invalid) and leave the pool. */
void mc_segmgr_begin_unmount(mc_segmgr_t *g, mc_seg_t *s);
/* Destroy an UNMOUNTING record once nothing references it. True if gone. */
bool mc_segmgr_reap(mc_segmgr_t *g, mc_seg_t *s);

/* Replica handle validity (spec §4.3): the record's allocator still serves. */
static inline bool mc_seg_valid(const mc_seg_t *s) { return s->status != MC_SEGMENT_UNMOUNTING; }
static inline bool mc_seg_allocatable(const mc_seg_t *s) { return s->status == MC_SEGMENT_OK; }

/* Allocate len bytes on one segment; accounting included. */
mc_status_t mc_segmgr_alloc_on(mc_segmgr_t *g, mc_seg_t *s, uint64_t len, mc_alloc_handle_t *h);
/* Free an allocation made by alloc_on/place; reaps an UNMOUNTING record
 * when this was its last reference. */
void mc_segmgr_free(mc_segmgr_t *g, uint32_t slot, mc_alloc_handle_t h, uint64_t len);
static inline uint64_t mc_segmgr_addr(const mc_segmgr_t *g, uint32_t slot, mc_alloc_handle_t h)
{
    return g->segs[slot]->base + mc_alloc_off(&g->segs[slot]->alloc, h);
}

/* RANDOM placement (spec §4.13): up to want replicas of len bytes on
 * distinct names; preferred names first, in order, then a circular walk of
 * at most min(100, #names) names from a random start, within a name
 * starting at a random segment. Names in exclude[] are skipped. With a
 * single name, only exclusion matters. Returns the number placed
 * (0..want); 0 with no names. */
uint32_t mc_segmgr_place(mc_segmgr_t *g, mc_rng_t *rng, uint64_t len, uint32_t want, const char *const *prefs,
                         uint32_t nprefs, const char *const *exclude, uint32_t nexclude, mc_placement_t *out);

/* Allocate on the named pool segment (AllocateFrom, used by copy/move):
 * unknown name MC_SEGMENT_NOT_FOUND, no room MC_NO_AVAILABLE_HANDLE. */
mc_status_t mc_segmgr_alloc_from(mc_segmgr_t *g, mc_rng_t *rng, const char *name, uint64_t len, mc_placement_t *out);

/* Allocator invariants of every record plus pool accounting. */
bool mc_segmgr_check(const mc_segmgr_t *g, char *err, size_t errlen);
/* Master memory held by segment records and allocators. */
size_t mc_segmgr_footprint(const mc_segmgr_t *g);

#endif
