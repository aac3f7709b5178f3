/* Hash map with byte-string keys and insertion-ordered iteration.
 *
 * Iteration order is the order of insertion (like Python's dict), never
 * dependent on pointer values or hash seeds, so runs replay exactly.
 * Keys are copied; values are borrowed pointers (or integers cast).
 * Removing during iteration is safe; inserting during iteration is not. */
#ifndef MC_MAP_H
#define MC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mc_map_entry {
    uint8_t *key; /* NULL marks a removed entry */
    uint32_t klen;
    uint32_t hash;
    void *value;
} mc_map_entry_t;

typedef struct mc_map {
    mc_map_entry_t *entries; /* dense, insertion order, may hold removed holes */
    uint32_t nentries;       /* used slots in entries[] including holes */
    uint32_t cap;            /* capacity of entries[] */
    uint32_t count;          /* live entries */
    uint32_t *index;         /* open addressing: 0 empty, else entry index + 1 */
    uint32_t index_mask;
} mc_map_t;

void mc_map_init(mc_map_t *m);
/* Frees keys and tables; values are the caller's. */
void mc_map_free(mc_map_t *m);
static inline uint32_t mc_map_count(const mc_map_t *m) { return m->count; }

/* Returns the value or NULL. */
void *mc_map_get(const mc_map_t *m, const void *key, size_t klen);
bool mc_map_has(const mc_map_t *m, const void *key, size_t klen);
/* Insert or replace; returns the previous value (NULL if none). */
void *mc_map_put(mc_map_t *m, const void *key, size_t klen, void *value);
/* Returns a pointer to the value slot, inserting NULL if absent. */
void **mc_map_slot(mc_map_t *m, const void *key, size_t klen, bool *inserted);
/* Remove; returns the removed value (NULL if absent). */
void *mc_map_del(mc_map_t *m, const void *key, size_t klen);

/* C-string and u64 key conveniences. */
void *mc_map_gets(const mc_map_t *m, const char *key);
void *mc_map_puts(mc_map_t *m, const char *key, void *value);
void *mc_map_dels(mc_map_t *m, const char *key);
void *mc_map_getu(const mc_map_t *m, uint64_t key);
void *mc_map_putu(mc_map_t *m, uint64_t key, void *value);
void *mc_map_delu(mc_map_t *m, uint64_t key);

/* Iteration: for (uint32_t it = 0; mc_map_next(m, &it, &e);) { ... } */
bool mc_map_next(const mc_map_t *m, uint32_t *it, mc_map_entry_t **e);
uint64_t mc_map_entry_u64(const mc_map_entry_t *e);

#endif
