#include "store/mc_segment.h"

#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"

void mc_segmgr_init(mc_segmgr_t *g, uint32_t align)
{
    memset(g, 0, sizeof *g);
    mc_map_init(&g->by_id);
    mc_map_init(&g->by_name);
    g->align = align ? align : MC_ALLOC_DEFAULT_ALIGN;
}

static void seg_free(mc_seg_t *s)
{
    mc_alloc_destroy(&s->alloc);
    mc_free(s->name);
    mc_free(s->endpoint);
    mc_free(s->protocol);
    mc_free(s);
}

void mc_segmgr_destroy(mc_segmgr_t *g)
{
    for (uint32_t i = 0; i < g->nslots; i++)
        if (g->segs[i])
            seg_free(g->segs[i]);
    for (uint32_t i = 0; i < g->nnames; i++) {
        mc_free(g->names[i]->slots);
        mc_free(g->names[i]->name);
        mc_free(g->names[i]);
    }
    mc_free(g->names);
    mc_free(g->segs);
    mc_map_free(&g->by_id);
    mc_map_free(&g->by_name);
    memset(g, 0, sizeof *g);
}

mc_seg_t *mc_segmgr_find(const mc_segmgr_t *g, mc_uuid_t id)
{
    return mc_map_get(&g->by_id, &id, sizeof id);
}

bool mc_segmgr_has_name(const mc_segmgr_t *g, const char *name)
{
    return name && mc_map_gets(&g->by_name, name) != NULL;
}

mc_seg_t *mc_segmgr_find_by_name(const mc_segmgr_t *g, const char *name)
{
    for (uint32_t i = 0; i < g->nslots; i++)
        if (g->segs[i] && strcmp(g->segs[i]->name, name) == 0)
            return g->segs[i];
    return NULL;
}

static bool same_fields(const mc_seg_t *s, mc_uuid_t owner, const mc_segment_info_t *in)
{
    return mc_uuid_eq(s->owner, owner) && s->base == in->base && s->size == in->size && s->rkey == in->rkey &&
           strcmp(s->name, in->name) == 0 && strcmp(s->endpoint, in->te_endpoint ? in->te_endpoint : in->name) == 0 &&
           strcmp(s->protocol, in->protocol ? in->protocol : "tcp") == 0;
}

static void join_pool(mc_segmgr_t *g, mc_seg_t *s)
{
    MC_ASSERT(s->pool == NULL);
    bool inserted;
    void **slot = mc_map_slot(&g->by_name, s->name, strlen(s->name), &inserted);
    mc_seg_name_t *nm = *slot;
    if (inserted) {
        nm = mc_calloc(1, sizeof *nm);
        nm->name = mc_strdup(s->name);
        *slot = nm;
        if (g->nnames == g->capnames) {
            g->capnames = g->capnames ? g->capnames * 2 : 8;
            g->names = mc_realloc(g->names, (size_t)g->capnames * sizeof *g->names);
        }
        nm->vec_idx = g->nnames;
        g->names[g->nnames++] = nm;
    }
    if (nm->n == nm->cap) {
        nm->cap = nm->cap ? nm->cap * 2 : 2;
        nm->slots = mc_realloc(nm->slots, (size_t)nm->cap * sizeof *nm->slots);
    }
    nm->slots[nm->n++] = s->slot;
    s->pool = nm;
    g->pool_capacity += s->alloc.capacity;
    g->pool_used += s->used_bytes;
}

void mc_segmgr_leave_pool(mc_segmgr_t *g, mc_seg_t *s)
{
    mc_seg_name_t *nm = s->pool;
    if (!nm)
        return;
    for (uint32_t i = 0; i < nm->n; i++)
        if (nm->slots[i] == s->slot) {
            memmove(&nm->slots[i], &nm->slots[i + 1], (size_t)(nm->n - i - 1) * sizeof *nm->slots);
            nm->n--;
            break;
        }
    g->pool_capacity -= s->alloc.capacity;
    g->pool_used -= s->used_bytes;
    s->pool = NULL;
    if (nm->n == 0) {
        /* Keep the order of the other names: the random walk depends on it. */
        memmove(&g->names[nm->vec_idx], &g->names[nm->vec_idx + 1],
                (size_t)(g->nnames - nm->vec_idx - 1) * sizeof *g->names);
        g->nnames--;
        for (uint32_t i = nm->vec_idx; i < g->nnames; i++)
            g->names[i]->vec_idx = i;
        mc_map_dels(&g->by_name, nm->name);
        mc_free(nm->slots);
        mc_free(nm->name);
        mc_free(nm);
    }
}

mc_status_t mc_segmgr_mount(mc_segmgr_t *g, mc_uuid_t owner, const mc_segment_info_t *in, mc_seg_t **out)
{
    if (in->base == 0 || in->size == 0 || in->size < g->align || !in->name || !in->name[0])
        return MC_INVALID_PARAMS;
    mc_seg_t *s = mc_segmgr_find(g, in->id);
    if (s) {
        if (out)
            *out = s;
        if (s->status == MC_SEGMENT_OK)
            return MC_OK;
        if (s->status == MC_SEGMENT_UNMOUNTING && same_fields(s, owner, in)) {
            /* Revive: the allocator still reserves buffers parked for
             * readers; they are freed when their leases end. */
            s->status = MC_SEGMENT_OK;
            join_pool(g, s);
            return MC_OK;
        }
        return MC_UNAVAILABLE_IN_CURRENT_STATUS;
    }
    s = mc_calloc(1, sizeof *s);
    mc_status_t st = mc_alloc_init(&s->alloc, in->size, g->align);
    if (st != MC_OK) {
        mc_free(s);
        return st;
    }
    s->id = in->id;
    s->owner = owner;
    s->name = mc_strdup(in->name);
    s->endpoint = mc_strdup(in->te_endpoint && in->te_endpoint[0] ? in->te_endpoint : in->name);
    s->protocol = mc_strdup(in->protocol && in->protocol[0] ? in->protocol : "tcp");
    s->base = in->base;
    s->size = in->size;
    s->rkey = in->rkey;
    s->status = MC_SEGMENT_OK;
    uint32_t slot = 0;
    while (slot < g->nslots && g->segs[slot])
        slot++;
    if (slot == g->nslots) {
        if (g->nslots == g->capslots) {
            g->capslots = g->capslots ? g->capslots * 2 : 8;
            g->segs = mc_realloc(g->segs, (size_t)g->capslots * sizeof *g->segs);
        }
        g->nslots++;
    }
    s->slot = slot;
    g->segs[slot] = s;
    g->live++;
    mc_map_put(&g->by_id, &s->id, sizeof s->id, s);
    join_pool(g, s);
    if (out)
        *out = s;
    return MC_OK;
}

void mc_segmgr_begin_unmount(mc_segmgr_t *g, mc_seg_t *s)
{
    mc_segmgr_leave_pool(g, s);
    s->status = MC_SEGMENT_UNMOUNTING;
}

bool mc_segmgr_reap(mc_segmgr_t *g, mc_seg_t *s)
{
    if (s->status != MC_SEGMENT_UNMOUNTING || s->refs != 0)
        return false;
    MC_ASSERT(s->alloc.nused == 0 && s->used_bytes == 0);
    mc_map_del(&g->by_id, &s->id, sizeof s->id);
    g->segs[s->slot] = NULL;
    g->live--;
    seg_free(s);
    return true;
}

mc_status_t mc_segmgr_alloc_on(mc_segmgr_t *g, mc_seg_t *s, uint64_t len, mc_alloc_handle_t *h)
{
    uint64_t off;
    mc_status_t st = mc_alloc_alloc(&s->alloc, len, h, &off);
    if (st != MC_OK)
        return st;
    s->refs++;
    s->used_bytes += len;
    if (s->pool)
        g->pool_used += len;
    return MC_OK;
}

void mc_segmgr_free(mc_segmgr_t *g, uint32_t slot, mc_alloc_handle_t h, uint64_t len)
{
    mc_seg_t *s = g->segs[slot];
    MC_ASSERT(s && s->refs > 0 && s->used_bytes >= len);
    mc_alloc_free(&s->alloc, h);
    s->refs--;
    s->used_bytes -= len;
    if (s->pool)
        g->pool_used -= len;
    mc_segmgr_reap(g, s);
}

mc_status_t mc_segmgr_alloc_from(mc_segmgr_t *g, mc_rng_t *rng, const char *name, uint64_t len, mc_placement_t *out)
{
    mc_seg_name_t *nm = name ? mc_map_gets(&g->by_name, name) : NULL;
    if (!nm)
        return MC_SEGMENT_NOT_FOUND;
    uint32_t start = (uint32_t)mc_rng_below(rng, nm->n);
    for (uint32_t k = 0; k < nm->n; k++) {
        uint32_t slot = nm->slots[(start + k) % nm->n];
        if (mc_segmgr_alloc_on(g, g->segs[slot], len, &out->h) == MC_OK) {
            out->slot = slot;
            return MC_OK;
        }
    }
    return MC_NO_AVAILABLE_HANDLE;
}

bool mc_segmgr_check(const mc_segmgr_t *g, char *err, size_t errlen)
{
    uint64_t cap = 0, used = 0;
    uint32_t live = 0;
    for (uint32_t i = 0; i < g->nslots; i++) {
        const mc_seg_t *s = g->segs[i];
        if (!s)
            continue;
        live++;
        char sub[192];
        if (!mc_alloc_check(&s->alloc, sub, sizeof sub)) {
            snprintf(err, errlen, "segment %s: %s", s->name, sub);
            return false;
        }
        if (s->refs != s->alloc.nused) {
            snprintf(err, errlen, "segment %s: %u references, %u allocations", s->name, s->refs, s->alloc.nused);
            return false;
        }
        if (s->pool) {
            cap += s->alloc.capacity;
            used += s->used_bytes;
        }
    }
    if (live != g->live || cap != g->pool_capacity || used != g->pool_used) {
        snprintf(err, errlen, "pool accounting: capacity %llu/%llu used %llu/%llu", (unsigned long long)cap,
                 (unsigned long long)g->pool_capacity, (unsigned long long)used, (unsigned long long)g->pool_used);
        return false;
    }
    return true;
}

size_t mc_segmgr_footprint(const mc_segmgr_t *g)
{
    size_t n = sizeof *g + (size_t)g->capslots * sizeof *g->segs;
    for (uint32_t i = 0; i < g->nslots; i++)
        if (g->segs[i])
            n += sizeof *g->segs[i] + mc_alloc_footprint(&g->segs[i]->alloc) - sizeof(mc_alloc_t);
    return n;
}
