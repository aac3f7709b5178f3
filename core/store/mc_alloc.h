/* Offset allocator for one segment: hands out aligned, contiguous byte
 * ranges [off, off + len) of a region the allocator never touches (the
 * master only does bookkeeping; bytes live in the owning client).
 *
 * Shape (after upstream's TLSF-style OffsetAllocator, spec §4.13): every
 * range, used or free, is a node in a pool, linked to its address
 * neighbours; free nodes sit in size-class bins (power of two with a 3-bit
 * mantissa, 8 sub-bins per octave) found through a bitmap. Allocation takes
 * the first non-empty bin whose every node fits (good fit, O(bins/64));
 * if none, it scans the one bin that may hold a fitting node, so a request
 * fails only when no free range is large enough (upstream's rounding can
 * fail earlier). Free coalesces with both neighbours in O(1).
 *
 * Sizes are rounded up to the alignment (default 64 B); offsets are
 * multiples of it. Handles are node indices, stable until freed. */
#ifndef MC_ALLOC_H
#define MC_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_status.h"

#define MC_ALLOC_DEFAULT_ALIGN 64u
#define MC_ALLOC_NBINS 512u
#define MC_ALLOC_NIL UINT32_MAX

typedef uint32_t mc_alloc_handle_t;

typedef struct mc_alloc_node {
    uint64_t off;
    uint64_t len;
    uint32_t aprev, anext; /* address neighbours (MC_ALLOC_NIL at the ends) */
    uint32_t bprev, bnext; /* bin list when free; bnext == MC_ALLOC_USED when used */
} mc_alloc_node_t;

typedef struct mc_alloc {
    mc_alloc_node_t *nodes;
    uint32_t nnodes;     /* slots used in nodes[] */
    uint32_t capnodes;
    uint32_t free_nodes; /* head of the unused-slot list (chained through anext) */
    uint32_t align;
    uint64_t capacity;   /* bytes managed (rounded down to align) */
    uint64_t free_bytes; /* sum of free ranges */
    uint32_t nused;      /* live allocations */
    uint32_t nfree;      /* free ranges */
    uint32_t bins[MC_ALLOC_NBINS];
    uint64_t bitmap[MC_ALLOC_NBINS / 64];
} mc_alloc_t;

/* capacity is rounded down to a multiple of align (align: power of two,
 * 0 means the default). Returns MC_INVALID_PARAMS for a bad alignment or
 * a capacity smaller than one aligned unit. */
mc_status_t mc_alloc_init(mc_alloc_t *a, uint64_t capacity, uint32_t align);
void mc_alloc_destroy(mc_alloc_t *a);

/* Allocate len (> 0) bytes rounded up to the alignment. MC_OK with the handle and offset,
 * or MC_NO_AVAILABLE_HANDLE when no free range is large enough,
 * MC_INVALID_PARAMS for len 0. */
mc_status_t mc_alloc_alloc(mc_alloc_t *a, uint64_t len, mc_alloc_handle_t *h, uint64_t *off);
/* Free a live handle (asserts it is one). */
void mc_alloc_free(mc_alloc_t *a, mc_alloc_handle_t h);

static inline uint64_t mc_alloc_off(const mc_alloc_t *a, mc_alloc_handle_t h) { return a->nodes[h].off; }
static inline uint64_t mc_alloc_len(const mc_alloc_t *a, mc_alloc_handle_t h) { return a->nodes[h].len; }
static inline uint64_t mc_alloc_free_bytes(const mc_alloc_t *a) { return a->free_bytes; }
static inline uint64_t mc_alloc_used_bytes(const mc_alloc_t *a) { return a->capacity - a->free_bytes; }
/* Exact size of the largest free range (0 when full). */
uint64_t mc_alloc_largest_free(const mc_alloc_t *a);
/* Fragmentation metric: largest free / total free, in [0,1]; 1.0 when
 * nothing is free (no fragmentation to speak of). */
double mc_alloc_contiguity(const mc_alloc_t *a);
/* Bytes of master memory this allocator holds (for the memory bench). */
size_t mc_alloc_footprint(const mc_alloc_t *a);

/* Invariant check for tests and the simulator's conservation checker:
 * ranges tile [0, capacity) with no gap or overlap, no two free ranges are
 * adjacent, free ranges are in their bin, counters match. Returns true if
 * all hold; otherwise writes the first violation into err. */
bool mc_alloc_check(const mc_alloc_t *a, char *err, size_t errlen);

#endif
