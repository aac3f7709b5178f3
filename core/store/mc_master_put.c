/* PutStart / PutEnd / PutRevoke and batch forms (spec §4.5, §4.6). */
#include <string.h>

#include "base/mc_assert.h"
#include "store/mc_master_int.h"

mc_status_t mc_m_validate_put(const mc_master_t *m, mc_slice_t key, uint64_t size, const mc_replicate_config_t *cfg)
{
    if (!cfg || cfg->replica_num == 0 || key.len == 0 || size == 0)
        return MC_INVALID_PARAMS;
    if (cfg->replica_num > MC_STORE_MAX_REPLICAS || key.len > UINT32_MAX)
        return MC_INVALID_PARAMS;
    if (cfg->group_ids && cfg->n_group_ids != 1 && cfg->n_group_ids != 0)
        return MC_INVALID_PARAMS; /* single-key form: exactly one group id */
    switch (cfg->soft_pin_action) {
    case MC_SOFT_PIN_PRESERVE:
    case MC_SOFT_PIN_DISABLE:
        if (cfg->has_soft_pin_ttl)
            return MC_INVALID_PARAMS;
        break;
    case MC_SOFT_PIN_ENABLE: {
        uint64_t ttl = cfg->has_soft_pin_ttl ? cfg->soft_pin_ttl_ms : m->cfg.default_kv_soft_pin_ttl_ms;
        if (ttl > m->cfg.max_kv_soft_pin_ttl_ms)
            return MC_INVALID_PARAMS;
        break;
    }
    default:
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

/* Preferred names: the explicit ones, then (prefer_alloc_in_same_node,
 * single replica) the writer's own segments. */
static uint32_t build_prefs(const mc_master_t *m, mc_uuid_t client, const mc_replicate_config_t *cfg,
                            const char **prefs, uint32_t max)
{
    uint32_t n = 0;
    if (cfg->preferred_segment && cfg->preferred_segment[0]) {
        prefs[n++] = cfg->preferred_segment;
    } else {
        for (uint32_t i = 0; i < cfg->n_preferred_segments && n < max; i++)
            prefs[n++] = cfg->preferred_segments[i];
    }
    if (cfg->prefer_alloc_in_same_node && cfg->replica_num == 1) {
        for (uint32_t i = 0; i < m->segs.nnames && n < max; i++) {
            const mc_seg_name_t *nm = m->segs.names[i];
            if (mc_uuid_eq(mc_segmgr_at(&m->segs, nm->slots[0])->owner, client))
                prefs[n++] = nm->name;
        }
    }
    return n;
}

mc_status_t mc_m_put_alloc(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                           const mc_replicate_config_t *cfg, bool hard_pin, uint64_t soft_pin_deadline,
                           uint32_t write_id, mc_replica_list_t *out)
{
    const char *prefs[32];
    uint32_t nprefs = build_prefs(m, client, cfg, prefs, MC_ARRAY_LEN(prefs));
    mc_placement_t pl[MC_STORE_MAX_REPLICAS];
    uint32_t got = mc_segmgr_place(&m->segs, m->rng, size, cfg->replica_num, prefs, nprefs, NULL, 0, pl);
    if (got == 0) {
        m->st.put_start_alloc_failures++;
        if (m->segs.nnames >= cfg->replica_num)
            m->need_eviction = true;
        return MC_NO_AVAILABLE_HANDLE;
    }
    if (got < cfg->replica_num)
        m->st.put_start_partial_allocations++;
    mc_obj_t *o = mc_m_obj_new(m, key, got);
    o->size = size;
    o->client = client;
    o->write_id = write_id;
    o->put_start_ns = now_ns;
    o->nrep = (uint8_t)got;
    for (uint32_t i = 0; i < got; i++) {
        mc_rep_t *r = &o->rep[i];
        memset(r, 0, sizeof *r);
        r->id = m->next_replica_id++;
        r->slot = pl[i].slot;
        r->h = pl[i].h;
        r->status = MC_REPLICA_PROCESSING;
        r->type = MC_REPLICA_TYPE_MEMORY;
    }
    if (hard_pin)
        o->flags |= MC_OBJ_HARD_PIN;
    mc_m_set_soft_pin(m, o, soft_pin_deadline);
    if (cfg->soft_pin_action == MC_SOFT_PIN_ENABLE) {
        o->pending_pin = MC_PIN_ENABLE;
        o->pending_pin_ttl_ms =
            (uint32_t)(cfg->has_soft_pin_ttl ? cfg->soft_pin_ttl_ms : m->cfg.default_kv_soft_pin_ttl_ms);
    } else if (cfg->soft_pin_action == MC_SOFT_PIN_DISABLE) {
        o->pending_pin = MC_PIN_DISABLE;
    }
    mc_m_set_processing(m, o, true);
    mc_m_group_join(m, o, mc_m_cfg_group(cfg));
    if (out)
        mc_m_describe(m, o, false, out);
    return MC_OK;
}

void mc_m_discard_processing(mc_master_t *m, mc_obj_t *o, uint64_t now_ns, uint64_t deadline_ns)
{
    uint64_t set = mc_m_park_set(m);
    for (uint32_t i = o->nrep; i-- > 0;)
        if (o->rep[i].status == MC_REPLICA_PROCESSING)
            mc_m_rep_drop(m, o, i, now_ns, deadline_ns, set);
    o->pending_pin = MC_PIN_NONE;
    mc_m_set_processing(m, o, false);
}

static bool has_complete(const mc_obj_t *o)
{
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].status == MC_REPLICA_COMPLETE)
            return true;
    return false;
}

mc_status_t mc_master_put_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                const mc_replicate_config_t *cfg, mc_replica_list_t *out)
{
    return mc_master_put_start_id(m, now_ns, client, key, size, cfg, 0, out);
}

mc_status_t mc_master_put_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                   const mc_replicate_config_t *cfg, uint32_t write_id, mc_replica_list_t *out)
{
    mc_status_t st = mc_m_validate_put(m, key, size, cfg);
    if (st != MC_OK)
        return st;
    mc_obj_t *o = mc_m_find(m, key);
    if (o) {
        if (mc_m_write_stale(o, client, write_id))
            return MC_INVALID_WRITE;
        if (has_complete(o) || o->put_start_ns + MC_MS(m->cfg.put_start_discard_timeout_ms) >= now_ns)
            return MC_OBJECT_ALREADY_EXISTS;
        /* Abandoned write older than the discard timeout: take it over. Its
         * writer may still be writing, so park its buffers until the
         * release deadline. */
        m->st.put_start_discard_cnt++;
        mc_m_discard_processing(m, o, now_ns, o->put_start_ns + MC_MS(m->cfg.put_start_release_timeout_ms));
        mc_m_obj_erase(m, o, now_ns, false);
    }
    return mc_m_put_alloc(m, now_ns, client, key, size, cfg, cfg->with_hard_pin, 0, write_id, out);
}

static mc_status_t check_type(uint8_t replica_type)
{
    return replica_type == MC_REPLICA_TYPE_ALL || replica_type == MC_REPLICA_TYPE_MEMORY ? MC_OK : MC_INVALID_PARAMS;
}

mc_status_t mc_master_put_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint8_t replica_type,
                              const uint64_t *checksum)
{
    return mc_master_put_end_id(m, now_ns, client, key, replica_type, checksum, 0);
}

mc_status_t mc_master_put_end_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 uint8_t replica_type, const uint64_t *checksum, uint32_t write_id)
{
    mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    if (!mc_uuid_eq(o->client, client))
        return MC_ILLEGAL_CLIENT;
    if (check_type(replica_type) != MC_OK)
        return MC_INVALID_PARAMS;
    /* Another write of this client holds the key now (one that preempted
     * ours): committing it would publish buffers its writer may not have
     * written yet. */
    if (!mc_m_write_named(o, write_id))
        return MC_INVALID_WRITE;
    if (!(o->flags & MC_OBJ_PROCESSING))
        return o->nrep > 0 && mc_m_all_complete(o) ? MC_OK : MC_INVALID_WRITE;
    bool was_readable = has_complete(o), completed = false;
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].status == MC_REPLICA_PROCESSING) {
            o->rep[i].status = MC_REPLICA_COMPLETE;
            completed = true;
        }
    /* The soft-pin lifetime starts when the write first becomes readable. */
    if (!was_readable && completed && o->pending_pin != MC_PIN_NONE) {
        uint64_t ttl = MC_MS(o->pending_pin_ttl_ms);
        if (o->pending_pin == MC_PIN_ENABLE && ttl > 0)
            mc_m_set_soft_pin(m, o, now_ns > UINT64_MAX - ttl ? UINT64_MAX : now_ns + ttl);
        else
            mc_m_set_soft_pin(m, o, 0);
        o->pending_pin = MC_PIN_NONE;
    }
    if (checksum) {
        mc_map_put(&m->csums, mc_obj_key(o), o->klen, (void *)(uintptr_t)*checksum);
        o->flags |= MC_OBJ_HAS_CSUM;
    } else if (o->flags & MC_OBJ_HAS_CSUM) {
        mc_map_del(&m->csums, mc_obj_key(o), o->klen);
        o->flags &= (uint8_t)~MC_OBJ_HAS_CSUM;
    }
    if (mc_m_all_complete(o))
        mc_m_set_processing(m, o, false);
    mc_m_grant_lease(o, now_ns, 0);
    return MC_OK;
}

mc_status_t mc_master_put_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 uint8_t replica_type)
{
    return mc_master_put_revoke_id(m, now_ns, client, key, replica_type, 0);
}

mc_status_t mc_master_put_revoke_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                    uint8_t replica_type, uint32_t write_id)
{
    mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    if (!mc_uuid_eq(o->client, client))
        return MC_ILLEGAL_CLIENT;
    if (check_type(replica_type) != MC_OK)
        return MC_INVALID_PARAMS;
    if (!mc_m_write_named(o, write_id))
        return MC_INVALID_WRITE; /* not ours to revoke: a later write of this client */
    if (!(o->flags & MC_OBJ_PROCESSING))
        return MC_INVALID_WRITE;
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].status != MC_REPLICA_PROCESSING)
            return MC_INVALID_WRITE;
    /* Nobody reads a PROCESSING replica, but the writer's transfers may
     * still be in flight: a revoke often follows a transfer whose
     * completion was overdue (slow, not lost), and its bytes would land in
     * whatever the space held next. Upstream frees at once; here the
     * buffers are parked for put_start_discard_timeout (how long a write
     * is presumed possibly in progress) before the space is reusable. */
    uint64_t grace = MC_MS(m->cfg.put_start_discard_timeout_ms);
    uint64_t deadline = now_ns > UINT64_MAX - grace ? UINT64_MAX : now_ns + grace;
    uint64_t set = mc_m_park_set(m);
    while (o->nrep)
        mc_m_rep_drop(m, o, o->nrep - 1u, now_ns, deadline, set);
    o->pending_pin = MC_PIN_NONE;
    mc_m_obj_erase(m, o, now_ns, false);
    return MC_OK;
}

void mc_master_batch_put_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                               const uint64_t *sizes, size_t n, const mc_replicate_config_t *cfg,
                               mc_replica_list_t *out, mc_status_t *st)
{
    mc_master_batch_put_start_id(m, now_ns, client, keys, sizes, NULL, n, cfg, out, st);
}

void mc_master_batch_put_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                  const uint64_t *sizes, const uint32_t *write_ids, size_t n,
                                  const mc_replicate_config_t *cfg, mc_replica_list_t *out, mc_status_t *st)
{
    mc_replicate_config_t c = *cfg;
    bool pinned_first = false;
    if (cfg->group_ids && cfg->n_group_ids != n) {
        for (size_t i = 0; i < n; i++)
            st[i] = MC_INVALID_PARAMS;
        return;
    }
    MC_M_FOR_CHUNKS(m, keys, n, i, {
        if (cfg->group_ids) {
            c.group_ids = &cfg->group_ids[i];
            c.n_group_ids = 1;
        }
        st[i] = mc_master_put_start_id(m, now_ns, client, keys[i], sizes[i], &c, write_ids ? write_ids[i] : 0,
                                       out ? &out[i] : NULL);
        /* Same-node batches follow the first key's segment. */
        if (st[i] == MC_OK && cfg->prefer_alloc_in_same_node && !pinned_first && out && out[i].n > 0) {
            c.preferred_segment = out[i].r[0].segment_name;
            pinned_first = true;
        }
    });
}

void mc_master_batch_put_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys, size_t n,
                             mc_status_t *st)
{
    MC_M_FOR_CHUNKS(m, keys, n, i, st[i] = mc_master_put_end(m, now_ns, client, keys[i], MC_REPLICA_TYPE_ALL, NULL));
}

void mc_master_batch_put_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys, size_t n,
                                mc_status_t *st)
{
    MC_M_FOR_CHUNKS(m, keys, n, i, st[i] = mc_master_put_revoke(m, now_ns, client, keys[i], MC_REPLICA_TYPE_ALL));
}
