/* Object table: key -> object, keys stored inline in the object (one
 * allocation per object), insertion-ordered iteration.
 *
 * Like mc_map, a dense array in insertion order (holes on removal,
 * squeezed out when it fills) plus an open-addressing index of u32
 * positions; unlike mc_map it stores no key copy and no per-entry hash or
 * length (the object has them), which is what keeps master memory per
 * object low (~16-32 B of table per object). Removing during iteration is
 * safe; inserting during iteration is not. */
#ifndef MC_OBJTAB_H
#define MC_OBJTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_bytes.h"

struct mc_obj;

typedef struct mc_objtab {
    struct mc_obj **dense; /* insertion order; NULL = removed */
    uint32_t ndense;
    uint32_t cap;
    uint32_t count;
    uint32_t *index;       /* 0 empty, else (dense position + 1) | tag << posbits */
    uint32_t mask;
    uint32_t posbits;      /* bits of an index entry holding the position */
} mc_objtab_t;

uint32_t mc_objtab_hash(const void *key, size_t klen);
void mc_objtab_init(mc_objtab_t *t);
void mc_objtab_free(mc_objtab_t *t); /* objects are the caller's */
struct mc_obj *mc_objtab_get(const mc_objtab_t *t, const void *key, size_t klen, uint32_t hash);
/* Insert an object whose key is absent; sets obj->tab_idx. */
void mc_objtab_insert(mc_objtab_t *t, struct mc_obj *o);
void mc_objtab_remove(mc_objtab_t *t, struct mc_obj *o);
/* The object moved in memory (realloc): point its entry at the new copy. */
void mc_objtab_moved(mc_objtab_t *t, struct mc_obj *o);
bool mc_objtab_next(const mc_objtab_t *t, uint32_t *it, struct mc_obj **o);
static inline uint32_t mc_objtab_count(const mc_objtab_t *t) { return t->count; }
size_t mc_objtab_footprint(const mc_objtab_t *t);
/* Batched lookups are memory-latency bound: issue the cache misses of n
 * (<= MC_OBJTAB_PREFETCH_MAX) lookups in stages (index slot, dense entry,
 * object) so they overlap; cand[i] is the first-probe candidate object for
 * keys[i] (unverified, may be NULL). Pure hint: no semantic effect. */
#define MC_OBJTAB_PREFETCH_MAX 64u
void mc_objtab_prefetch(const mc_objtab_t *t, const mc_slice_t *keys, size_t n, struct mc_obj **cand);

#endif
