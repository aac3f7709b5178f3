/* Remove, BatchRemove, RemoveByRegex, RemoveAll (spec §4.10). */
#include <string.h>

#include "store/mc_master_int.h"
#include "store/mc_regex.h"

/* The three conditions every removal path checks, in upstream's order
 * (absence is checked by the caller). */
static mc_status_t removable(const mc_obj_t *o, uint64_t now_ns, bool force)
{
    if (!force && mc_m_lease_active(o, now_ns))
        return MC_OBJECT_HAS_LEASE;
    if (!mc_m_all_complete(o))
        return MC_REPLICA_IS_NOT_READY;
    if (o->flags & MC_OBJ_HAS_TASK)
        return MC_OBJECT_HAS_REPLICATION_TASK;
    return MC_OK;
}

mc_status_t mc_master_remove(mc_master_t *m, uint64_t now_ns, mc_slice_t key, bool force)
{
    mc_obj_t *o = mc_m_find(m, key);
    if (!o || o->nrep == 0)
        return MC_OBJECT_NOT_FOUND;
    mc_status_t st = removable(o, now_ns, force);
    if (st != MC_OK)
        return st;
    /* force bypasses the lease, but the space stays parked until the
     * reader's lease ends (upstream frees it at once). */
    mc_m_obj_erase(m, o, now_ns, true);
    return MC_OK;
}

void mc_master_batch_remove(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n, bool force,
                            mc_status_t *st)
{
    MC_M_FOR_CHUNKS(m, keys, n, i, st[i] = mc_master_remove(m, now_ns, keys[i], force));
}

mc_status_t mc_master_remove_by_regex(mc_master_t *m, uint64_t now_ns, const char *pattern, bool force,
                                      uint64_t *removed, char *err, size_t errlen)
{
    *removed = 0;
    mc_regex_t re;
    mc_status_t st = mc_regex_compile(&re, pattern, err, errlen);
    if (st != MC_OK)
        return st;
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        if (!mc_regex_search(&re, mc_obj_keyslice(o)) || removable(o, now_ns, force) != MC_OK)
            continue;
        mc_m_obj_erase(m, o, now_ns, true);
        (*removed)++;
    }
    mc_regex_free(&re);
    return MC_OK;
}

uint64_t mc_master_remove_all(mc_master_t *m, uint64_t now_ns, bool force)
{
    uint64_t removed = 0;
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        if (removable(o, now_ns, force) != MC_OK)
            continue;
        mc_m_obj_erase(m, o, now_ns, true);
        removed++;
    }
    return removed;
}

static bool clear_one(mc_master_t *m, uint64_t now_ns, mc_slice_t key, mc_uuid_t client, const char *seg)
{
    mc_obj_t *o = key.len ? mc_m_find(m, key) : NULL;
    if (!o || !mc_uuid_eq(o->client, client) || mc_m_lease_active(o, now_ns) || (o->flags & MC_OBJ_HAS_TASK))
        return false;
    if (!seg || !seg[0]) {
        if (!mc_m_all_complete(o))
            return false;
        mc_m_obj_erase(m, o, now_ns, false);
        return true;
    }
    bool any = false;
    for (uint32_t i = o->nrep; i-- > 0;) {
        const mc_seg_t *s = mc_segmgr_at(&m->segs, o->rep[i].slot);
        if (o->rep[i].status == MC_REPLICA_COMPLETE && strcmp(s->name, seg) == 0) {
            mc_m_rep_drop(m, o, i, now_ns, 0, 0);
            any = true;
        }
    }
    if (any && o->nrep == 0)
        mc_m_obj_erase(m, o, now_ns, false);
    return any;
}

uint64_t mc_master_batch_replica_clear(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n,
                                       mc_uuid_t client, const char *segment_name, bool *cleared)
{
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool c = clear_one(m, now_ns, keys[i], client, segment_name);
        if (cleared)
            cleared[i] = c;
        count += c;
    }
    return count;
}
