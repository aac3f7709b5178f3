/* Mount / remount / unmount / graceful unmount (spec §4.15). */
#include <string.h>

#include "store/mc_master_int.h"

/* A segment name is its owner's "host:port", which one live process holds
 * at a time: a mount under that name by another client UUID means the
 * previous owner restarted. Its segments go at once, replicas on them
 * dropped as on its expiry, instead of being handed out until its TTL
 * ends (their descriptors would address the new process's memory; the
 * registration keys make such transfers fail, this makes them rare).
 * Upstream keeps them until the TTL. */
static void drop_stale_owner(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const char *name)
{
    for (uint32_t i = 0; i < m->segs.nslots; i++) {
        mc_seg_t *s = m->segs.segs[i];
        if (s && !mc_uuid_eq(s->owner, client) && s->status != MC_SEGMENT_UNMOUNTING && strcmp(s->name, name) == 0)
            mc_m_unmount(m, now_ns, s);
    }
}

mc_status_t mc_master_mount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, const mc_segment_info_t *seg)
{
    mc_m_client_touch(m, now_ns, client);
    mc_status_t st = mc_segmgr_mount(&m->segs, client, seg, NULL);
    if (st == MC_OK)
        drop_stale_owner(m, now_ns, client, seg->name);
    return st;
}

static bool same_record(const mc_seg_t *s, mc_uuid_t client, const mc_segment_info_t *in)
{
    const char *ep = in->te_endpoint && in->te_endpoint[0] ? in->te_endpoint : in->name;
    const char *proto = in->protocol && in->protocol[0] ? in->protocol : "tcp";
    return mc_uuid_eq(s->owner, client) && in->name && strcmp(s->name, in->name) == 0 && s->base == in->base &&
           s->size == in->size && strcmp(s->endpoint, ep) == 0 && strcmp(s->protocol, proto) == 0;
}

mc_status_t mc_master_remount_segments(mc_master_t *m, uint64_t now_ns, mc_uuid_t client,
                                       const mc_segment_info_t *segs, size_t n)
{
    mc_client_t *c = mc_m_client_touch(m, now_ns, client);
    for (size_t i = 0; i < n; i++) {
        const mc_seg_t *s = mc_segmgr_find(&m->segs, segs[i].id);
        if (s && !same_record(s, client, &segs[i]))
            return MC_INVALID_PARAMS;
    }
    for (size_t i = 0; i < n; i++) {
        mc_status_t st = mc_segmgr_mount(&m->segs, client, &segs[i], NULL);
        /* Only "try again later" errors matter to a remounting client. */
        if (st == MC_UNAVAILABLE_IN_CURRENT_STATUS || st == MC_INTERNAL_ERROR)
            return st;
        if (st == MC_OK)
            drop_stale_owner(m, now_ns, client, segs[i].name);
    }
    c->ok = true;
    return MC_OK;
}

void mc_m_unmount(mc_master_t *m, uint64_t now_ns, mc_seg_t *s)
{
    uint32_t slot = s->slot;
    mc_segmgr_begin_unmount(&m->segs, s);
    uint64_t rel = MC_MS(m->cfg.put_start_release_timeout_ms);
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        bool touched = false;
        for (uint32_t i = o->nrep; i-- > 0;) {
            mc_rep_t *r = &o->rep[i];
            if (r->slot != slot)
                continue;
            /* Keep the space reserved while someone may still touch it: a
             * writer until its release deadline, a reader until its lease
             * ends. A revived segment must not hand it out earlier. */
            uint64_t deadline = 0;
            if (r->status == MC_REPLICA_PROCESSING) {
                /* a put/upsert writer or a copy/move executor */
                uint64_t since = o->put_start_ns, rs = mc_m_repl_start_ns(m, o);
                deadline = (rs > since ? rs : since) + rel;
            }
            else if (mc_m_lease_active(o, now_ns))
                deadline = o->lease_timeout;
            r->refcnt = 0;
            mc_m_rep_drop(m, o, i, now_ns, deadline, deadline ? mc_m_park_set(m) : 0);
            touched = true;
        }
        if (!touched)
            continue;
        if (o->nrep == 0) {
            mc_m_obj_erase(m, o, now_ns, false);
            continue;
        }
        bool writing = false;
        for (uint32_t i = 0; i < o->nrep; i++)
            writing |= o->rep[i].status == MC_REPLICA_PROCESSING;
        if (!writing)
            mc_m_set_processing(m, o, false);
    }
    /* Freeing its last allocation above may already have reaped it. */
    if (m->segs.segs[slot])
        mc_segmgr_reap(&m->segs, m->segs.segs[slot]);
}

mc_status_t mc_master_unmount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t seg_id, mc_uuid_t client)
{
    (void)client;
    mc_seg_t *s = mc_segmgr_find(&m->segs, seg_id);
    if (!s)
        return MC_OK;
    if (s->status == MC_SEGMENT_UNMOUNTING)
        return MC_UNAVAILABLE_IN_CURRENT_STATUS;
    mc_m_unmount(m, now_ns, s);
    return MC_OK;
}

mc_status_t mc_master_graceful_unmount_segment(mc_master_t *m, uint64_t now_ns, mc_uuid_t seg_id, mc_uuid_t client,
                                               uint64_t grace_ms)
{
    mc_seg_t *s = mc_segmgr_find(&m->segs, seg_id);
    if (!s || !mc_uuid_eq(s->owner, client))
        return MC_INVALID_PARAMS;
    if (s->status == MC_SEGMENT_GRACEFULLY_UNMOUNTING)
        return MC_OK;
    if (s->status != MC_SEGMENT_OK && s->status != MC_SEGMENT_DRAINING)
        return MC_UNAVAILABLE_IN_CURRENT_STATUS;
    mc_segmgr_leave_pool(&m->segs, s);
    s->status = MC_SEGMENT_GRACEFULLY_UNMOUNTING;
    s->grace_deadline_ns = now_ns + MC_MS(grace_ms);
    return MC_OK;
}

mc_status_t mc_master_query_segment(const mc_master_t *m, const char *name, uint64_t *used, uint64_t *capacity)
{
    const mc_seg_name_t *nm = name ? mc_map_gets(&m->segs.by_name, name) : NULL;
    if (!nm)
        return MC_SEGMENT_NOT_FOUND;
    *used = *capacity = 0;
    for (uint32_t i = 0; i < nm->n; i++) {
        const mc_seg_t *s = mc_segmgr_at(&m->segs, nm->slots[i]);
        *used += s->used_bytes;
        *capacity += s->alloc.capacity;
    }
    return MC_OK;
}

uint8_t mc_master_segment_status(const mc_master_t *m, mc_uuid_t seg_id)
{
    const mc_seg_t *s = mc_segmgr_find(&m->segs, seg_id);
    return s ? s->status : MC_SEGMENT_UNDEFINED;
}

void mc_master_for_each_segment_name(const mc_master_t *m, void (*fn)(void *arg, const char *name), void *arg)
{
    for (uint32_t i = 0; i < m->segs.nnames; i++)
        fn(arg, m->segs.names[i]->name);
}
