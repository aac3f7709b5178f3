/* UpsertStart and its batch form (spec §4.7). UpsertEnd/UpsertRevoke are
 * PutEnd/PutRevoke. */
#include <string.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

static bool has_complete(const mc_obj_t *o)
{
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].status == MC_REPLICA_COMPLETE)
            return true;
    return false;
}

static void set_pending_pin(mc_master_t *m, mc_obj_t *o, const mc_replicate_config_t *cfg)
{
    o->pending_pin = MC_PIN_NONE;
    if (cfg->soft_pin_action == MC_SOFT_PIN_ENABLE) {
        o->pending_pin = MC_PIN_ENABLE;
        o->pending_pin_ttl_ms =
            (uint32_t)(cfg->has_soft_pin_ttl ? cfg->soft_pin_ttl_ms : m->cfg.default_kv_soft_pin_ttl_ms);
    } else if (cfg->soft_pin_action == MC_SOFT_PIN_DISABLE) {
        o->pending_pin = MC_PIN_DISABLE;
    }
}

/* Case C: new buffers first, then retire the old ones, so a failed
 * allocation leaves the old object intact (upstream erases it first). */
static mc_status_t replace(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_obj_t *o, mc_slice_t key, uint64_t size,
                           const mc_replicate_config_t *cfg, uint32_t write_id, mc_replica_list_t *out)
{
    bool hard = cfg->with_hard_pin || (o->flags & MC_OBJ_HARD_PIN);
    uint64_t pin = o->soft_pin_deadline > now_ns ? o->soft_pin_deadline : 0;
    /* The group is preserved: the new object joins the old one's group. */
    mc_group_t *g = mc_m_group_of(m, o);
    char *gid = g ? mc_strdup(g->id) : NULL;
    const char *gids[1] = {gid};
    mc_replicate_config_t c = *cfg;
    c.group_ids = gid ? gids : NULL;
    c.n_group_ids = gid ? 1 : 0;
    mc_m_group_leave(m, o);
    mc_objtab_remove(&m->objs, o);
    mc_status_t st = mc_m_put_alloc(m, now_ns, client, key, size, &c, hard, pin, write_id, out);
    if (st != MC_OK) {
        mc_objtab_insert(&m->objs, o);
        mc_m_group_join(m, o, gid);
        mc_free(gid);
        return st;
    }
    mc_free(gid);
    /* A slow reader may still copy the old bytes: park them at least until
     * its lease ends. Every replica left here is COMPLETE (a preempted
     * write's buffers were parked on their own), so no writer targets
     * them. A size change (upstream's case C) keeps upstream's parking for
     * the release timeout; a same-size upsert that only came here because
     * of a read lease (our deviation) needs just the lease: parking it for
     * the release timeout let steady upserts of a hot key fill the pool,
     * and eviction then dropped the live key (store-upsert-readers). */
    uint64_t deadline = size == o->size ? now_ns : now_ns + MC_MS(m->cfg.put_start_release_timeout_ms);
    if (o->lease_timeout > deadline)
        deadline = o->lease_timeout;
    uint64_t set = mc_m_park_set(m);
    while (o->nrep)
        mc_m_rep_drop(m, o, o->nrep - 1u, now_ns, deadline, set);
    mc_m_set_soft_pin(m, o, 0);
    mc_m_set_processing(m, o, false);
    if (o->flags & MC_OBJ_HAS_CSUM) {
        /* The checksum map is keyed by the key the new object now owns. */
        mc_map_del(&m->csums, key.p, key.len);
    }
    mc_free(o);
    return MC_OK;
}

mc_status_t mc_master_upsert_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint64_t size,
                                   const mc_replicate_config_t *cfg, mc_replica_list_t *out)
{
    return mc_master_upsert_start_id(m, now_ns, client, key, size, cfg, 0, out);
}

mc_status_t mc_master_upsert_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                      uint64_t size, const mc_replicate_config_t *cfg, uint32_t write_id,
                                      mc_replica_list_t *out)
{
    mc_status_t st = mc_m_validate_put(m, key, size, cfg);
    if (st != MC_OK)
        return st;
    mc_obj_t *o = mc_m_find(m, key);
    bool hard = cfg->with_hard_pin;
    uint64_t pin = 0;
    /* A late start its writer gave up on must not preempt (or overwrite)
     * that writer's newer write of the key (store swarm seed 1859). */
    if (o && mc_m_write_stale(o, client, write_id))
        return MC_INVALID_WRITE;
    if (o) {
        /* Membership is immutable while the object exists. */
        const char *want = mc_m_cfg_group(cfg);
        const mc_group_t *g = mc_m_group_of(m, o);
        if (want && strcmp(want, g ? g->id : "") != 0)
            return MC_INVALID_PARAMS;
        if (o->flags & MC_OBJ_HAS_TASK)
            return MC_OBJECT_HAS_REPLICATION_TASK;
        if (o->flags & MC_OBJ_PROCESSING) {
            /* Preempt the in-flight write now; its writer may still be
             * writing, so its buffers are parked for the release timeout. */
            mc_m_discard_processing(m, o, now_ns, now_ns + MC_MS(m->cfg.put_start_release_timeout_ms));
            if (!has_complete(o)) {
                pin = o->soft_pin_deadline > now_ns ? o->soft_pin_deadline : 0;
                hard = hard || (o->flags & MC_OBJ_HARD_PIN);
                const mc_group_t *og = mc_m_group_of(m, o);
                char *gid = og ? mc_strdup(og->id) : NULL;
                mc_m_obj_erase(m, o, now_ns, false);
                const char *gids[1] = {gid};
                mc_replicate_config_t c = *cfg;
                c.group_ids = gid ? gids : cfg->group_ids;
                c.n_group_ids = gid ? 1 : cfg->n_group_ids;
                mc_status_t st2 = mc_m_put_alloc(m, now_ns, client, key, size, &c, hard, pin, write_id, out);
                mc_free(gid);
                return st2;
            }
        }
    }
    if (!o) /* case A */
        return mc_m_put_alloc(m, now_ns, client, key, size, cfg, hard, pin, write_id, out);
    for (uint32_t i = 0; i < o->nrep; i++)
        if (o->rep[i].refcnt > 0)
            return MC_OBJECT_REPLICA_BUSY;
    if (size != o->size || mc_m_lease_active(o, now_ns))
        return replace(m, now_ns, client, o, key, size, cfg, write_id, out); /* case C */
    /* Case B: overwrite in place; unreadable until UpsertEnd. */
    o->client = client;
    o->write_id = write_id;
    o->put_start_ns = now_ns;
    for (uint32_t i = 0; i < o->nrep; i++)
        o->rep[i].status = MC_REPLICA_PROCESSING;
    set_pending_pin(m, o, cfg);
    mc_m_set_processing(m, o, true);
    if (out)
        mc_m_describe(m, o, false, out);
    return MC_OK;
}

void mc_master_batch_upsert_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                  const uint64_t *sizes, size_t n, const mc_replicate_config_t *cfg,
                                  mc_replica_list_t *out, mc_status_t *st)
{
    mc_master_batch_upsert_start_id(m, now_ns, client, keys, sizes, NULL, n, cfg, out, st);
}

void mc_master_batch_upsert_start_id(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_slice_t *keys,
                                     const uint64_t *sizes, const uint32_t *write_ids, size_t n,
                                     const mc_replicate_config_t *cfg, mc_replica_list_t *out, mc_status_t *st)
{
    mc_replicate_config_t c = *cfg;
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
        st[i] = mc_master_upsert_start_id(m, now_ns, client, keys[i], sizes[i], &c, write_ids ? write_ids[i] : 0,
                                          out ? &out[i] : NULL);
    });
}
