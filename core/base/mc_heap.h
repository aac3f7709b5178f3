/* Binary min-heap ordered by (key, seq). seq is assigned on push and
 * breaks ties in FIFO order, so equal keys (e.g. events at the same
 * virtual time) pop deterministically. Items carry a stable handle so
 * they can be cancelled in O(log n). */
#ifndef MC_HEAP_H
#define MC_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mc_heap_item {
    uint64_t key;
    uint64_t seq;
    void *value;
    uint32_t pos; /* index in the heap array; maintained by the heap */
} mc_heap_item_t;

typedef struct mc_heap {
    mc_heap_item_t **a;
    uint32_t len;
    uint32_t cap;
    uint64_t next_seq;
} mc_heap_t;

void mc_heap_init(mc_heap_t *h);
void mc_heap_free(mc_heap_t *h); /* items are the caller's */
static inline uint32_t mc_heap_len(const mc_heap_t *h) { return h->len; }
/* Push a caller-owned item; sets item->seq and item->pos. */
void mc_heap_push(mc_heap_t *h, mc_heap_item_t *item, uint64_t key, void *value);
mc_heap_item_t *mc_heap_peek(const mc_heap_t *h);
mc_heap_item_t *mc_heap_pop(mc_heap_t *h);
/* Remove an item that is in the heap. */
void mc_heap_remove(mc_heap_t *h, mc_heap_item_t *item);

#endif
