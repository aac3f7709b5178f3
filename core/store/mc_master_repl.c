/* Copy/move execution: CopyStart/End/Revoke, MoveStart/End/Revoke
 * (spec §4.16, master checks). One in-flight replication per key; its
 * source replica is pinned (refcnt) so eviction skips it. */
#include <string.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

static mc_repl_t *repl_of(const mc_master_t *m, const mc_obj_t *o)
{
    return (o->flags & MC_OBJ_HAS_TASK) ? mc_map_get(&m->repls, mc_obj_key(o), o->klen) : NULL;
}

uint64_t mc_m_repl_start_ns(const mc_master_t *m, const mc_obj_t *o)
{
    const mc_repl_t *r = repl_of(m, o);
    return r ? r->start_ns : 0;
}

void mc_m_repl_forget(mc_master_t *m, mc_obj_t *o)
{
    mc_free(mc_map_del(&m->repls, mc_obj_key(o), o->klen));
    o->flags &= (uint8_t)~MC_OBJ_HAS_TASK;
}

/* Index of the COMPLETE, valid replica on segment name, or -1. */
static int rep_on_name(const mc_master_t *m, const mc_obj_t *o, const char *name, bool complete_only)
{
    for (uint32_t i = 0; i < o->nrep; i++) {
        const mc_seg_t *s = mc_segmgr_at(&m->segs, o->rep[i].slot);
        if (strcmp(s->name, name) != 0 || !mc_seg_valid(s))
            continue;
        if (!complete_only || o->rep[i].status == MC_REPLICA_COMPLETE)
            return (int)i;
    }
    return -1;
}

/* Target segment check: SEGMENT_NOT_FOUND when no record has the name,
 * UNAVAILABLE_IN_CURRENT_STATUS when it is not in the allocation pool. */
static mc_status_t target_ok(const mc_master_t *m, const char *name)
{
    if (!name)
        return MC_SEGMENT_NOT_FOUND;
    if (mc_segmgr_has_name(&m->segs, name))
        return MC_OK;
    return mc_segmgr_find_by_name(&m->segs, name) ? MC_UNAVAILABLE_IN_CURRENT_STATUS : MC_SEGMENT_NOT_FOUND;
}

static void describe_one(const mc_master_t *m, const mc_obj_t *o, uint32_t i, mc_replica_desc_t *d)
{
    mc_replica_list_t tmp;
    mc_m_describe(m, o, false, &tmp);
    *d = tmp.r[i];
}

static mc_status_t repl_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint8_t type,
                              const char *src_segment, const char *const *targets, uint32_t ntargets,
                              mc_replica_desc_t *src, mc_replica_list_t *tgt)
{
    for (uint32_t i = 0; i < ntargets; i++) {
        mc_status_t st = target_ok(m, targets[i]);
        if (st != MC_OK)
            return st;
    }
    mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    if (o->flags & MC_OBJ_HAS_TASK)
        return MC_OBJECT_HAS_REPLICATION_TASK;
    int si = src_segment ? rep_on_name(m, o, src_segment, true) : -1;
    if (si < 0)
        return MC_REPLICA_NOT_FOUND;
    /* Allocate one PROCESSING replica per target not holding one yet. */
    mc_placement_t pl[MC_STORE_MAX_REPLICAS];
    uint32_t np = 0;
    mc_status_t st = MC_OK;
    for (uint32_t i = 0; i < ntargets && st == MC_OK; i++) {
        bool dup = rep_on_name(m, o, targets[i], false) >= 0;
        for (uint32_t j = 0; j < i && !dup; j++)
            dup = strcmp(targets[j], targets[i]) == 0;
        if (dup)
            continue;
        if (o->nrep + np >= MC_STORE_MAX_REPLICAS)
            st = MC_NO_AVAILABLE_HANDLE;
        else
            st = mc_segmgr_alloc_from(&m->segs, m->rng, targets[i], o->size, &pl[np++]);
        if (st != MC_OK)
            np--;
    }
    if (st != MC_OK) {
        while (np > 0) {
            np--;
            mc_segmgr_free(&m->segs, pl[np].slot, pl[np].h, o->size);
        }
        return st;
    }
    o = mc_m_obj_grow(m, o, o->nrep + np);
    mc_repl_t *r = mc_calloc(1, sizeof *r);
    r->type = type;
    r->client = client;
    r->start_ns = now_ns;
    r->src_id = o->rep[si].id;
    o->rep[si].refcnt++;
    for (uint32_t i = 0; i < np; i++) {
        mc_rep_t *nr = &o->rep[o->nrep++];
        memset(nr, 0, sizeof *nr);
        nr->id = m->next_replica_id++;
        nr->slot = pl[i].slot;
        nr->h = pl[i].h;
        nr->status = MC_REPLICA_PROCESSING;
        nr->type = MC_REPLICA_TYPE_MEMORY;
        r->tgt_id[r->ntgt++] = nr->id;
    }
    mc_map_put(&m->repls, key.p, key.len, r);
    o->flags |= MC_OBJ_HAS_TASK;
    if (src)
        describe_one(m, o, (uint32_t)si, src);
    if (tgt) {
        mc_replica_list_t all;
        mc_m_describe(m, o, false, &all);
        tgt->n = 0;
        tgt->lease_ttl_ms = all.lease_ttl_ms;
        tgt->has_checksum = false;
        for (uint32_t i = 0; i < all.n; i++)
            for (uint32_t j = 0; j < r->ntgt; j++)
                if (all.r[i].id == r->tgt_id[j])
                    tgt->r[tgt->n++] = all.r[i];
    }
    return MC_OK;
}

mc_status_t mc_master_copy_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 const char *src_segment, const char *const *targets, uint32_t ntargets,
                                 mc_replica_desc_t *src, mc_replica_list_t *tgt)
{
    if (ntargets == 0 || ntargets > MC_STORE_MAX_REPLICAS)
        return MC_INVALID_PARAMS;
    return repl_start(m, now_ns, client, key, MC_TASK_REPLICA_COPY, src_segment, targets, ntargets, src, tgt);
}

mc_status_t mc_master_move_start(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key,
                                 const char *src_segment, const char *target, mc_replica_desc_t *src,
                                 mc_replica_list_t *tgt)
{
    if (!src_segment || !target || strcmp(src_segment, target) == 0)
        return MC_INVALID_PARAMS;
    return repl_start(m, now_ns, client, key, MC_TASK_REPLICA_MOVE, src_segment, &target, 1, src, tgt);
}

/* Drop the targets still present, unpin the source, forget the record. */
static void repl_finish(mc_master_t *m, uint64_t now_ns, mc_obj_t *o, mc_repl_t *r, bool keep_targets)
{
    for (uint32_t j = 0; j < r->ntgt; j++) {
        int i = mc_m_rep_find(o, r->tgt_id[j]);
        if (i < 0)
            continue;
        if (keep_targets)
            o->rep[i].status = MC_REPLICA_COMPLETE;
        else
            mc_m_rep_drop(m, o, (uint32_t)i, now_ns, 0, 0); /* nobody reads a PROCESSING replica */
    }
    int si = mc_m_rep_find(o, r->src_id);
    if (si >= 0 && o->rep[si].refcnt > 0)
        o->rep[si].refcnt--;
    mc_m_repl_forget(m, o);
    if (o->nrep == 0)
        mc_m_obj_erase(m, o, now_ns, false);
}

static mc_status_t repl_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key, uint8_t type,
                            bool commit)
{
    mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    mc_repl_t *r = repl_of(m, o);
    if (!r)
        return MC_OBJECT_NO_REPLICATION_TASK;
    if (!mc_uuid_eq(r->client, client))
        return MC_ILLEGAL_CLIENT;
    if (r->type != type)
        return MC_INVALID_PARAMS;
    if (!commit) {
        repl_finish(m, now_ns, o, r, false);
        return MC_OK;
    }
    int si = mc_m_rep_find(o, r->src_id);
    if (si < 0 || !mc_m_rep_readable(m, &o->rep[si])) {
        repl_finish(m, now_ns, o, r, false);
        return MC_REPLICA_IS_GONE;
    }
    uint64_t src_id = r->src_id;
    repl_finish(m, now_ns, o, r, true);
    if (type == MC_TASK_REPLICA_MOVE) {
        /* The source may be under a reader's lease: park it until then. */
        int i = mc_m_rep_find(o, src_id);
        if (i >= 0 && o->nrep > 1) {
            uint64_t deadline = mc_m_lease_active(o, now_ns) ? o->lease_timeout : 0;
            mc_m_rep_drop(m, o, (uint32_t)i, now_ns, deadline, deadline ? mc_m_park_set(m) : 0);
        }
    }
    return MC_OK;
}

mc_status_t mc_master_copy_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key)
{
    return repl_end(m, now_ns, client, key, MC_TASK_REPLICA_COPY, true);
}

mc_status_t mc_master_copy_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key)
{
    return repl_end(m, now_ns, client, key, MC_TASK_REPLICA_COPY, false);
}

mc_status_t mc_master_move_end(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key)
{
    return repl_end(m, now_ns, client, key, MC_TASK_REPLICA_MOVE, true);
}

mc_status_t mc_master_move_revoke(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_slice_t key)
{
    return repl_end(m, now_ns, client, key, MC_TASK_REPLICA_MOVE, false);
}

void mc_m_repl_sweep(mc_master_t *m, uint64_t now_ns)
{
    if (mc_map_count(&m->repls) == 0)
        return;
    uint64_t rel = MC_MS(m->cfg.put_start_release_timeout_ms);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->repls, &it, &e);) {
        mc_repl_t *r = e->value;
        if (r->start_ns + rel > now_ns)
            continue;
        mc_obj_t *o = mc_m_find(m, mc_slice(e->key, e->klen));
        if (o)
            repl_finish(m, now_ns, o, r, false);
    }
}
