/* Object groups (spec §4.14): membership, group lease refresh. Group
 * eviction lives in mc_master_evict.c. */
#include <string.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

const char *mc_m_cfg_group(const mc_replicate_config_t *cfg)
{
    if (!cfg->group_ids || cfg->n_group_ids == 0)
        return NULL;
    return cfg->group_ids[0] ? cfg->group_ids[0] : "";
}

mc_group_t *mc_m_group_of(const mc_master_t *m, const mc_obj_t *o)
{
    return (o->flags & MC_OBJ_GROUPED) ? mc_map_get(&m->obj_group, mc_obj_key(o), o->klen) : NULL;
}

void mc_m_group_join(mc_master_t *m, mc_obj_t *o, const char *gid)
{
    if (!gid || !gid[0])
        return;
    bool inserted;
    void **slot = mc_map_slot(&m->groups, gid, strlen(gid), &inserted);
    mc_group_t *g = *slot;
    if (inserted) {
        g = mc_calloc(1, sizeof *g);
        g->id = mc_strdup(gid);
        mc_map_init(&g->members);
        *slot = g;
    }
    mc_map_put(&g->members, mc_obj_key(o), o->klen, (void *)1);
    mc_map_put(&m->obj_group, mc_obj_key(o), o->klen, g);
    o->flags |= MC_OBJ_GROUPED;
    g->refresh = true;
}

static void group_free(mc_group_t *g)
{
    mc_map_free(&g->members);
    mc_free(g->id);
    mc_free(g);
}

void mc_m_group_leave(mc_master_t *m, mc_obj_t *o)
{
    mc_group_t *g = mc_m_group_of(m, o);
    if (!g)
        return;
    mc_map_del(&g->members, mc_obj_key(o), o->klen);
    mc_map_del(&m->obj_group, mc_obj_key(o), o->klen);
    o->flags &= (uint8_t)~MC_OBJ_GROUPED;
    if (mc_map_count(&g->members) == 0) {
        mc_map_dels(&m->groups, g->id);
        group_free(g);
    }
}

void mc_m_read_lease(mc_master_t *m, mc_obj_t *o, uint64_t now_ns)
{
    uint64_t ttl = MC_MS(m->cfg.default_kv_lease_ttl_ms);
    mc_group_t *g = mc_m_group_of(m, o);
    if (g && (g->refresh || o->lease_timeout <= now_ns + ttl / 2)) {
        mc_map_entry_t *e;
        for (uint32_t it = 0; mc_map_next(&g->members, &it, &e);) {
            mc_obj_t *mo = mc_m_find(m, mc_slice(e->key, e->klen));
            if (mo)
                mc_m_grant_lease(mo, now_ns, ttl);
        }
        g->refresh = false;
    }
    mc_m_grant_lease(o, now_ns, ttl);
}

void mc_m_groups_destroy(mc_master_t *m)
{
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->groups, &it, &e);)
        group_free(e->value);
    mc_map_free(&m->groups);
    mc_map_free(&m->obj_group);
}
