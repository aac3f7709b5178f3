#include "store/mc_objtab.h"

#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_bytes.h"
#include "base/mc_mem.h"
#include "store/mc_obj.h"

uint32_t mc_objtab_hash(const void *key, size_t klen)
{
    uint64_t h = mc_hash64(key, klen, MC_HASH64_INIT);
    return (uint32_t)(h ^ (h >> 32));
}

void mc_objtab_init(mc_objtab_t *t)
{
    memset(t, 0, sizeof *t);
}

void mc_objtab_free(mc_objtab_t *t)
{
    mc_free(t->dense);
    mc_free(t->index);
    memset(t, 0, sizeof *t);
}

/* Index entry helpers: position in the low posbits, hash tag above. */
static inline uint32_t ent_pos(const mc_objtab_t *t, uint32_t e) { return (e & ((1u << t->posbits) - 1)) - 1; }
static inline uint32_t ent_tag(const mc_objtab_t *t, uint32_t h) { return t->posbits >= 32 ? 0 : h >> t->posbits; }
static inline uint32_t ent_make(const mc_objtab_t *t, uint32_t pos, uint32_t h)
{
    return (pos + 1) | (t->posbits >= 32 ? 0 : (ent_tag(t, h) << t->posbits));
}

static bool matches(const mc_obj_t *o, const void *key, size_t klen, uint32_t hash)
{
    return o && o->hash == hash && o->klen == klen && memcmp(mc_obj_key(o), key, klen) == 0;
}

mc_obj_t *mc_objtab_get(const mc_objtab_t *t, const void *key, size_t klen, uint32_t hash)
{
    if (!t->count)
        return NULL;
    uint32_t tag = ent_tag(t, hash);
    for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        uint32_t e = t->index[i];
        if (e == 0)
            return NULL;
        if (t->posbits < 32 && (e >> t->posbits) != tag)
            continue;
        mc_obj_t *o = t->dense[ent_pos(t, e)];
        if (matches(o, key, klen, hash))
            return o;
    }
}

/* Squeeze removed holes out of dense[], grow it to want, re-index. */
static void rebuild(mc_objtab_t *t, uint32_t want)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < t->ndense; i++)
        if (t->dense[i]) {
            t->dense[j] = t->dense[i];
            t->dense[j]->tab_idx = j;
            j++;
        }
    t->ndense = j;
    if (want > t->cap) {
        t->cap = want;
        t->dense = mc_realloc(t->dense, (size_t)t->cap * sizeof *t->dense);
    }
    uint32_t isize = 16;
    while (isize < (uint64_t)t->cap * 2)
        isize *= 2;
    mc_free(t->index);
    t->index = mc_calloc(isize, sizeof *t->index);
    t->mask = isize - 1;
    t->posbits = 1;
    while (t->posbits < 32 && (1ull << t->posbits) <= t->cap)
        t->posbits++;
    for (uint32_t i = 0; i < t->ndense; i++) {
        uint32_t k = t->dense[i]->hash & t->mask;
        while (t->index[k])
            k = (k + 1) & t->mask;
        t->index[k] = ent_make(t, i, t->dense[i]->hash);
    }
}

void mc_objtab_insert(mc_objtab_t *t, mc_obj_t *o)
{
    if (t->ndense == t->cap) {
        MC_ASSERT(t->cap < (1u << 30));
        uint32_t want = t->count * 2 >= t->cap ? (t->cap ? t->cap * 2 : 16) : t->cap;
        rebuild(t, want);
    }
    uint32_t pos = t->ndense++;
    t->dense[pos] = o;
    o->tab_idx = pos;
    t->count++;
    /* Tombstones (index entries whose dense slot is NULL) are not reused:
     * a later slot in the probe chain may hold this key's older self. */
    uint32_t k = o->hash & t->mask;
    while (t->index[k])
        k = (k + 1) & t->mask;
    t->index[k] = ent_make(t, pos, o->hash);
}

void mc_objtab_remove(mc_objtab_t *t, mc_obj_t *o)
{
    MC_ASSERT(o->tab_idx < t->ndense && t->dense[o->tab_idx] == o);
    t->dense[o->tab_idx] = NULL;
    t->count--;
}

void mc_objtab_moved(mc_objtab_t *t, mc_obj_t *o)
{
    MC_ASSERT(o->tab_idx < t->ndense);
    t->dense[o->tab_idx] = o;
}

bool mc_objtab_next(const mc_objtab_t *t, uint32_t *it, mc_obj_t **o)
{
    while (*it < t->ndense) {
        mc_obj_t *c = t->dense[(*it)++];
        if (c) {
            *o = c;
            return true;
        }
    }
    return false;
}

size_t mc_objtab_footprint(const mc_objtab_t *t)
{
    return sizeof *t + (size_t)t->cap * sizeof *t->dense + (size_t)(t->mask + 1) * sizeof *t->index * (t->index != NULL);
}

void mc_objtab_prefetch(const mc_objtab_t *t, const mc_slice_t *keys, size_t n, mc_obj_t **cand)
{
    uint32_t slot[MC_OBJTAB_PREFETCH_MAX];
    MC_ASSERT(n <= MC_OBJTAB_PREFETCH_MAX);
    if (!t->count) {
        for (size_t i = 0; i < n; i++)
            cand[i] = NULL;
        return;
    }
    uint32_t hash[MC_OBJTAB_PREFETCH_MAX];
    for (size_t i = 0; i < n; i++) {
        hash[i] = mc_objtab_hash(keys[i].p, keys[i].len);
        slot[i] = hash[i] & t->mask;
        __builtin_prefetch(&t->index[slot[i]]);
    }
    for (size_t i = 0; i < n; i++) {
        /* First entry with a matching tag in the probe run, if any. */
        uint32_t e, k = slot[i], tag = ent_tag(t, hash[i]);
        while ((e = t->index[k]) != 0 && t->posbits < 32 && (e >> t->posbits) != tag)
            k = (k + 1) & t->mask;
        slot[i] = e ? ent_pos(t, e) + 1 : 0;
        if (slot[i])
            __builtin_prefetch(&t->dense[slot[i] - 1]);
    }
    for (size_t i = 0; i < n; i++) {
        cand[i] = slot[i] ? t->dense[slot[i] - 1] : NULL;
        if (cand[i])
            __builtin_prefetch(cand[i]);
    }
}
