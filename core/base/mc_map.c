#include "mc_map.h"

#include <string.h>

#include "mc_assert.h"
#include "mc_bytes.h"
#include "mc_mem.h"

void mc_map_init(mc_map_t *m)
{
    memset(m, 0, sizeof *m);
}

void mc_map_free(mc_map_t *m)
{
    for (uint32_t i = 0; i < m->nentries; i++)
        mc_free(m->entries[i].key);
    mc_free(m->entries);
    mc_free(m->index);
    mc_map_init(m);
}

static uint32_t key_hash(const void *key, size_t klen)
{
    uint64_t h = mc_hash64(key, klen, MC_HASH64_INIT);
    return (uint32_t)(h ^ (h >> 32));
}

/* Index slot holding key, or the first empty slot when absent. */
static uint32_t *find_slot(const mc_map_t *m, const void *key, size_t klen, uint32_t h)
{
    uint32_t i = h & m->index_mask;
    for (;;) {
        uint32_t *slot = &m->index[i];
        if (*slot == 0)
            return slot;
        mc_map_entry_t *e = &m->entries[*slot - 1];
        if (e->key && e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return slot;
        i = (i + 1) & m->index_mask;
    }
}

/* Rebuild: drop removed holes from entries[] and re-index. Keeps order. */
static void rebuild(mc_map_t *m, uint32_t want_entries)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < m->nentries; i++)
        if (m->entries[i].key)
            m->entries[j++] = m->entries[i];
    m->nentries = j;
    if (want_entries > m->cap) {
        m->cap = want_entries;
        m->entries = mc_realloc(m->entries, (size_t)m->cap * sizeof *m->entries);
    }
    uint32_t isize = 8;
    while (isize < (uint64_t)m->cap * 2)
        isize *= 2;
    mc_free(m->index);
    m->index = mc_calloc(isize, sizeof *m->index);
    m->index_mask = isize - 1;
    for (uint32_t i = 0; i < m->nentries; i++) {
        mc_map_entry_t *e = &m->entries[i];
        uint32_t k = e->hash & m->index_mask;
        while (m->index[k])
            k = (k + 1) & m->index_mask;
        m->index[k] = i + 1;
    }
}

void *mc_map_get(const mc_map_t *m, const void *key, size_t klen)
{
    if (!m->count)
        return NULL;
    uint32_t *slot = find_slot(m, key, klen, key_hash(key, klen));
    return *slot ? m->entries[*slot - 1].value : NULL;
}

bool mc_map_has(const mc_map_t *m, const void *key, size_t klen)
{
    if (!m->count)
        return false;
    return *find_slot(m, key, klen, key_hash(key, klen)) != 0;
}

void **mc_map_slot(mc_map_t *m, const void *key, size_t klen, bool *inserted)
{
    MC_ASSERT(klen <= UINT32_MAX);
    uint32_t h = key_hash(key, klen);
    if (m->index) {
        uint32_t *slot = find_slot(m, key, klen, h);
        if (*slot) {
            if (inserted)
                *inserted = false;
            return &m->entries[*slot - 1].value;
        }
    }
    if (m->nentries == m->cap) {
        /* Grow if mostly live, otherwise just squeeze out removed holes. */
        uint32_t want = m->count * 2 >= m->cap ? (m->cap ? m->cap * 2 : 8) : m->cap;
        rebuild(m, want);
    }
    uint32_t idx = m->nentries++;
    mc_map_entry_t *e = &m->entries[idx];
    e->key = mc_memdup(key, klen ? klen : 1);
    e->klen = (uint32_t)klen;
    e->hash = h;
    e->value = NULL;
    m->count++;
    *find_slot(m, key, klen, h) = idx + 1;
    if (inserted)
        *inserted = true;
    return &e->value;
}

void *mc_map_put(mc_map_t *m, const void *key, size_t klen, void *value)
{
    void **slot = mc_map_slot(m, key, klen, NULL);
    void *old = *slot;
    *slot = value;
    return old;
}

void *mc_map_del(mc_map_t *m, const void *key, size_t klen)
{
    if (!m->count)
        return NULL;
    uint32_t *slot = find_slot(m, key, klen, key_hash(key, klen));
    if (!*slot)
        return NULL;
    mc_map_entry_t *e = &m->entries[*slot - 1];
    void *v = e->value;
    /* Leave the index slot pointing at the hole: it acts as a tombstone
     * (find_slot skips entries whose key is NULL) until the next rebuild. */
    mc_free(e->key);
    e->key = NULL;
    e->value = NULL;
    m->count--;
    return v;
}

void *mc_map_gets(const mc_map_t *m, const char *key) { return mc_map_get(m, key, strlen(key)); }
void *mc_map_puts(mc_map_t *m, const char *key, void *v) { return mc_map_put(m, key, strlen(key), v); }
void *mc_map_dels(mc_map_t *m, const char *key) { return mc_map_del(m, key, strlen(key)); }
void *mc_map_getu(const mc_map_t *m, uint64_t key) { return mc_map_get(m, &key, sizeof key); }
void *mc_map_putu(mc_map_t *m, uint64_t key, void *v) { return mc_map_put(m, &key, sizeof key, v); }
void *mc_map_delu(mc_map_t *m, uint64_t key) { return mc_map_del(m, &key, sizeof key); }

bool mc_map_next(const mc_map_t *m, uint32_t *it, mc_map_entry_t **e)
{
    while (*it < m->nentries) {
        mc_map_entry_t *cand = &m->entries[(*it)++];
        if (cand->key) {
            *e = cand;
            return true;
        }
    }
    return false;
}

uint64_t mc_map_entry_u64(const mc_map_entry_t *e)
{
    uint64_t v = 0;
    MC_ASSERT(e->klen == sizeof v);
    memcpy(&v, e->key, sizeof v);
    return v;
}
