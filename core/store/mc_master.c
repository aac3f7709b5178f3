/* Master lifetime, configuration and the object/replica helpers every
 * operation shares. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "store/mc_master_int.h"

void mc_master_config_default(mc_master_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->default_kv_lease_ttl_ms = 10000;
    c->default_kv_soft_pin_ttl_ms = 30ull * 60 * 1000;
    c->max_kv_soft_pin_ttl_ms = 24ull * 3600 * 1000;
    c->allow_evict_soft_pinned_objects = true;
    c->eviction_ratio = 0.05;
    c->eviction_high_watermark_ratio = 0.90;
    c->client_ttl_ms = 10000;
    c->put_start_discard_timeout_ms = 30000;
    c->put_start_release_timeout_ms = 600000;
    c->alloc_alignment = 64;
    c->max_pending_tasks = 10000;
    c->max_processing_tasks = 10000;
    c->max_finished_tasks = 10000;
    c->pending_task_timeout_ms = 300000;
    c->processing_task_timeout_ms = 300000;
    c->max_retry_attempts = 10;
}

mc_status_t mc_master_create(const mc_master_config_t *c, mc_rng_t *rng, mc_master_t **out)
{
    *out = NULL;
    if (c->put_start_release_timeout_ms <= c->put_start_discard_timeout_ms)
        return MC_INVALID_PARAMS;
    if (c->default_kv_soft_pin_ttl_ms > c->max_kv_soft_pin_ttl_ms || c->max_kv_soft_pin_ttl_ms > UINT32_MAX)
        return MC_INVALID_PARAMS;
    if (!(c->eviction_ratio >= 0 && c->eviction_ratio <= 1) ||
        !(c->eviction_high_watermark_ratio >= 0 && c->eviction_high_watermark_ratio <= 1))
        return MC_INVALID_PARAMS;
    if (c->alloc_alignment & (c->alloc_alignment - 1))
        return MC_INVALID_PARAMS;
    mc_master_t *m = mc_calloc(1, sizeof *m);
    m->cfg = *c;
    m->rng = rng;
    mc_segmgr_init(&m->segs, c->alloc_alignment);
    mc_objtab_init(&m->objs);
    mc_map_init(&m->csums);
    mc_map_init(&m->clients);
    mc_vec_init(&m->parked, sizeof(mc_parked_t));
    mc_map_init(&m->repls);
    mc_map_init(&m->groups);
    mc_map_init(&m->obj_group);
    mc_m_tasks_init(m);
    m->parked_min_deadline = UINT64_MAX;
    m->next_replica_id = 1;
    m->next_park_set = 1;
    m->view_version = 1;
    *out = m;
    return MC_OK;
}

void mc_master_destroy(mc_master_t *m)
{
    if (!m)
        return;
    mc_m_tasks_destroy(m);
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);)
        mc_free(o);
    mc_objtab_free(&m->objs);
    mc_map_entry_t *re;
    for (uint32_t it = 0; mc_map_next(&m->repls, &it, &re);)
        mc_free(re->value);
    mc_map_free(&m->repls);
    mc_m_groups_destroy(m);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->clients, &it, &e);)
        mc_free(e->value);
    mc_map_free(&m->clients);
    mc_map_free(&m->csums);
    mc_vec_free(&m->parked);
    mc_segmgr_destroy(&m->segs);
    mc_free(m);
}

const mc_master_config_t *mc_master_config(const mc_master_t *m) { return &m->cfg; }

void mc_master_get_stats(const mc_master_t *m, mc_master_stats_t *st)
{
    *st = m->st;
    st->keys = mc_objtab_count(&m->objs);
    st->processing_keys = m->nprocessing;
    st->soft_pinned_keys = m->nsoftpinned;
    st->allocated_bytes = m->segs.pool_used;
    st->capacity_bytes = m->segs.pool_capacity;
    st->segments = m->segs.live;
    st->clients = mc_map_count(&m->clients);
    st->parked_buffers = m->parked.len;
    uint64_t pb = 0;
    for (size_t i = 0; i < m->parked.len; i++)
        pb += MC_VEC_AT(&m->parked, mc_parked_t, i)->len;
    st->parked_bytes = pb;
}

mc_obj_t *mc_m_find(const mc_master_t *m, mc_slice_t key)
{
    return mc_objtab_get(&m->objs, key.p, key.len, mc_objtab_hash(key.p, key.len));
}

mc_obj_t *mc_m_obj_new(mc_master_t *m, mc_slice_t key, uint32_t caprep)
{
    MC_ASSERT(caprep <= MC_STORE_MAX_REPLICAS && key.len <= UINT32_MAX);
    mc_obj_t *o = mc_malloc(sizeof *o + caprep * sizeof(mc_rep_t) + key.len);
    memset(o, 0, sizeof *o);
    o->caprep = (uint8_t)caprep;
    o->klen = (uint32_t)key.len;
    o->hash = mc_objtab_hash(key.p, key.len);
    memcpy(mc_obj_key(o), key.p, key.len);
    mc_objtab_insert(&m->objs, o);
    return o;
}

void mc_m_set_processing(mc_master_t *m, mc_obj_t *o, bool on)
{
    bool was = o->flags & MC_OBJ_PROCESSING;
    if (on && !was) {
        o->flags |= MC_OBJ_PROCESSING;
        m->nprocessing++;
    } else if (!on && was) {
        o->flags &= (uint8_t)~MC_OBJ_PROCESSING;
        m->nprocessing--;
    }
}

void mc_m_set_soft_pin(mc_master_t *m, mc_obj_t *o, uint64_t deadline_ns)
{
    if (o->soft_pin_deadline && !deadline_ns)
        m->nsoftpinned--;
    else if (!o->soft_pin_deadline && deadline_ns)
        m->nsoftpinned++;
    o->soft_pin_deadline = deadline_ns;
}

uint64_t mc_m_park_set(mc_master_t *m) { return m->next_park_set++; }

void mc_m_rep_drop(mc_master_t *m, mc_obj_t *o, uint32_t i, uint64_t now_ns, uint64_t deadline_ns, uint64_t set)
{
    MC_ASSERT(i < o->nrep);
    mc_rep_t *r = &o->rep[i];
    if (deadline_ns > now_ns)
        mc_m_park(m, r->slot, r->h, o->size, deadline_ns, set);
    else
        mc_segmgr_free(&m->segs, r->slot, r->h, o->size);
    memmove(&o->rep[i], &o->rep[i + 1], (size_t)(o->nrep - i - 1) * sizeof *o->rep);
    o->nrep--;
}

void mc_m_obj_erase(mc_master_t *m, mc_obj_t *o, uint64_t now_ns, bool park_leased)
{
    uint64_t deadline = park_leased && mc_m_lease_active(o, now_ns) ? o->lease_timeout : 0;
    uint64_t set = deadline ? mc_m_park_set(m) : 0;
    while (o->nrep)
        mc_m_rep_drop(m, o, o->nrep - 1u, now_ns, deadline, set);
    mc_m_set_processing(m, o, false);
    mc_m_set_soft_pin(m, o, 0);
    if (o->flags & MC_OBJ_HAS_CSUM)
        mc_map_del(&m->csums, mc_obj_key(o), o->klen);
    if (o->flags & MC_OBJ_HAS_TASK)
        mc_m_repl_forget(m, o);
    if (o->flags & MC_OBJ_GROUPED)
        mc_m_group_leave(m, o);
    mc_objtab_remove(&m->objs, o);
    mc_free(o);
}

bool mc_m_rep_readable(const mc_master_t *m, const mc_rep_t *r)
{
    return r->status == MC_REPLICA_COMPLETE && mc_seg_valid(mc_segmgr_at(&m->segs, r->slot));
}

bool mc_m_all_complete(const mc_obj_t *o)
{
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].status != MC_REPLICA_COMPLETE)
            return false;
    return true;
}

void mc_m_describe(const mc_master_t *m, const mc_obj_t *o, bool readable_only, mc_replica_list_t *out)
{
    out->n = 0;
    out->lease_ttl_ms = m->cfg.default_kv_lease_ttl_ms;
    out->has_checksum = false;
    out->checksum = 0;
    if (o->flags & MC_OBJ_HAS_CSUM) {
        out->has_checksum = true;
        out->checksum = (uint64_t)(uintptr_t)mc_map_get(&m->csums, mc_obj_key(o), o->klen);
    }
    for (uint32_t i = 0; i < o->nrep; i++) {
        const mc_rep_t *r = &o->rep[i];
        if (readable_only && !mc_m_rep_readable(m, r))
            continue;
        const mc_seg_t *s = mc_segmgr_at(&m->segs, r->slot);
        mc_replica_desc_t *d = &out->r[out->n++];
        d->id = r->id;
        d->buffer_address = mc_segmgr_addr(&m->segs, r->slot, r->h);
        d->size = o->size;
        d->rkey = s->rkey;
        d->endpoint = s->endpoint;
        d->protocol = s->protocol;
        d->segment_name = s->name;
        d->status = r->status;
        d->type = r->type;
    }
}

size_t mc_master_footprint(const mc_master_t *m)
{
    size_t n = sizeof *m + mc_objtab_footprint(&m->objs) + mc_segmgr_footprint(&m->segs);
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);)
        n += sizeof *o + o->caprep * sizeof(mc_rep_t) + o->klen;
    n += m->parked.cap * m->parked.esize;
    return n;
}

void mc_m_prefetch(const mc_master_t *m, const mc_slice_t *keys, size_t n)
{
    mc_obj_t *cand[MC_OBJTAB_PREFETCH_MAX];
    MC_ASSERT(n <= MC_OBJTAB_PREFETCH_MAX);
    mc_objtab_prefetch(&m->objs, keys, n, cand);
    for (size_t i = 0; i < n; i++)
        if (cand[i])
            __builtin_prefetch((const char *)cand[i] + 64);
    for (size_t i = 0; i < n; i++) {
        const mc_obj_t *o = cand[i];
        if (!o || o->nrep == 0 || o->rep[0].slot >= m->segs.nslots)
            continue;
        const mc_seg_t *s = m->segs.segs[o->rep[0].slot];
        if (s && o->rep[0].h < s->alloc.nnodes)
            __builtin_prefetch(&s->alloc.nodes[o->rep[0].h]);
    }
}

mc_obj_t *mc_m_obj_grow(mc_master_t *m, mc_obj_t *o, uint32_t caprep)
{
    if (caprep <= o->caprep)
        return o;
    MC_ASSERT(caprep <= MC_STORE_MAX_REPLICAS);
    uint32_t old = o->caprep;
    o = mc_realloc(o, sizeof *o + caprep * sizeof(mc_rep_t) + o->klen);
    /* The key lives after the replica slots: move it up. */
    memmove((uint8_t *)&o->rep[caprep], (uint8_t *)&o->rep[old], o->klen);
    o->caprep = (uint8_t)caprep;
    mc_objtab_moved(&m->objs, o);
    return o;
}

int mc_m_rep_find(const mc_obj_t *o, uint64_t id)
{
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].id == id)
            return (int)i;
    return -1;
}
