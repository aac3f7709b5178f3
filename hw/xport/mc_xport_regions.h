/* The registered-region table: written by the loop thread, read by worker
 * threads (pthread rwlock). A region being copied into/out of by a worker
 * is pinned; unregistering waits for its pins to drop, so the embedder may
 * free the memory as soon as mem_unregister returns. */
#ifndef MC_XPORT_REGIONS_H
#define MC_XPORT_REGIONS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_status.h"

typedef struct mc_xport_region {
    uintptr_t base;
    size_t len;
    uint32_t key; /* registration key (rkey): nonzero, unique per process */
    atomic_uint pins;
    atomic_bool dead;
    /* shm: the shared allocation containing the region, or 0 */
    uint32_t shm_id;
    uint64_t shm_off; /* offset of base inside that allocation */
} mc_xport_region_t;

typedef struct mc_xport_regions {
    pthread_rwlock_t lock;
    mc_xport_region_t **v; /* sorted by base, non-overlapping */
    size_t n, cap;
    pthread_mutex_t pin_mu;
    pthread_cond_t pin_cv;
    uint32_t key_next; /* next key; starts at a random point per process */
} mc_xport_regions_t;

int mc_xport_regions_init(mc_xport_regions_t *t);
void mc_xport_regions_fini(mc_xport_regions_t *t);
/* MC_OK, MC_INVALID_PARAMS (NULL/0/overflow/overlap), MC_INTERNAL_ERROR.
 * *out (may be NULL) is the new region (valid until it is removed). */
mc_status_t mc_xport_regions_add(mc_xport_regions_t *t, uintptr_t base, size_t len, uint32_t shm_id,
                                 uint64_t shm_off, const mc_xport_region_t **out);
/* Remove the region based at base: returns it (removed from the table but
 * not yet freed) or NULL. Call mc_xport_regions_free() to wait for pins
 * and free it. */
mc_xport_region_t *mc_xport_regions_remove(mc_xport_regions_t *t, uintptr_t base);
void mc_xport_regions_free(mc_xport_regions_t *t, mc_xport_region_t *r);
/* True if [addr, addr+len) lies inside one region (len > 0). */
bool mc_xport_regions_covers(mc_xport_regions_t *t, uint64_t addr, uint64_t len);
/* Same, pinning the region; NULL if not covered. Unpin when done. */
mc_xport_region_t *mc_xport_regions_pin(mc_xport_regions_t *t, uint64_t addr, uint64_t len);
/* The remote side of an op, as the sim checks it (RDMA-style): key names
 * the registration; MC_TRANSFER_FAIL if no region has that key (a stale
 * descriptor: earlier registration or process), MC_INVALID_PARAMS if the
 * range is not inside it, MC_OK with *out pinned. key 0 (an op from a
 * user that has no keys, e.g. upstream-shaped tcp descriptors): the range
 * alone decides, as before keys. */
mc_status_t mc_xport_regions_pin_key(mc_xport_regions_t *t, uint64_t addr, uint64_t len, uint32_t key,
                                     mc_xport_region_t **out);
/* True if [addr, addr+len) lies inside the region with this key (key 0:
 * inside any region). For initiator-side fast paths (shm). */
bool mc_xport_regions_key_ok(uint64_t base, uint64_t blen, uint32_t rkey, uint64_t addr, uint64_t len, uint32_t key);
void mc_xport_regions_unpin(mc_xport_regions_t *t, mc_xport_region_t *r);
/* Pure range check used by every bounds test. */
static inline bool mc_xport_range_inside(uint64_t base, uint64_t blen, uint64_t addr, uint64_t len)
{
    return len > 0 && addr >= base && addr - base <= blen && len <= blen - (addr - base);
}

#endif
