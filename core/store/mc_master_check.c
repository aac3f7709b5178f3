/* Whole-master invariant check for tests and the simulator's checkers. */
#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

bool mc_master_check(const mc_master_t *m, char *err, size_t errlen)
{
    char sub[256];
    if (!mc_segmgr_check(&m->segs, sub, sizeof sub)) {
        snprintf(err, errlen, "%s", sub);
        return false;
    }
    /* Count the allocations objects and parked buffers hold per segment. */
    uint32_t *held = mc_calloc(m->segs.nslots ? m->segs.nslots : 1, sizeof *held);
    uint64_t *bytes = mc_calloc(m->segs.nslots ? m->segs.nslots : 1, sizeof *bytes);
    bool ok = false;
    uint64_t nproc = 0, npin = 0, ntask = 0, ngrouped = 0;
    const mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, (uint32_t *)&it, (mc_obj_t **)&o);) {
        if (o->nrep == 0 || o->nrep > o->caprep) {
            snprintf(err, errlen, "object '%.*s': %u replicas", (int)o->klen, mc_obj_key(o), o->nrep);
            goto out;
        }
        for (uint32_t i = 0; i < o->nrep; i++) {
            const mc_rep_t *r = &o->rep[i];
            const mc_seg_t *s = r->slot < m->segs.nslots ? m->segs.segs[r->slot] : NULL;
            if (!s || !mc_seg_valid(s)) {
                snprintf(err, errlen, "object '%.*s': replica on a gone segment", (int)o->klen, mc_obj_key(o));
                goto out;
            }
            held[r->slot]++;
            bytes[r->slot] += o->size;
            for (uint32_t j = 0; j < i; j++)
                if (strcmp(m->segs.segs[o->rep[j].slot]->name, s->name) == 0) {
                    snprintf(err, errlen, "object '%.*s': two replicas on segment name %s", (int)o->klen,
                             mc_obj_key(o), s->name);
                    goto out;
                }
        }
        /* Pins: only the source of the object's one replication task. */
        const mc_repl_t *rp = (o->flags & MC_OBJ_HAS_TASK) ? mc_map_get(&m->repls, mc_obj_key(o), o->klen) : NULL;
        if ((o->flags & MC_OBJ_HAS_TASK) && !rp) {
            snprintf(err, errlen, "object '%.*s': task flag without a task", (int)o->klen, mc_obj_key(o));
            goto out;
        }
        for (uint32_t i = 0; i < o->nrep; i++) {
            uint16_t want = rp && o->rep[i].id == rp->src_id ? 1 : 0;
            if (o->rep[i].refcnt != want) {
                snprintf(err, errlen, "object '%.*s': replica %llu refcnt %u, expected %u", (int)o->klen,
                         mc_obj_key(o), (unsigned long long)o->rep[i].id, o->rep[i].refcnt, want);
                goto out;
            }
        }
        ntask += rp != NULL;
        if (o->flags & MC_OBJ_GROUPED) {
            const mc_group_t *g = mc_map_get(&m->obj_group, mc_obj_key(o), o->klen);
            if (!g || !mc_map_has(&g->members, mc_obj_key(o), o->klen) || mc_map_gets(&m->groups, g->id) != g) {
                snprintf(err, errlen, "object '%.*s': broken group membership", (int)o->klen, mc_obj_key(o));
                goto out;
            }
            ngrouped++;
        }
        nproc += (o->flags & MC_OBJ_PROCESSING) != 0;
        npin += o->soft_pin_deadline != 0;
    }
    for (size_t i = 0; i < m->parked.len; i++) {
        const mc_parked_t *p = MC_VEC_AT(&m->parked, mc_parked_t, i);
        held[p->slot]++;
        bytes[p->slot] += p->len;
    }
    for (uint32_t i = 0; i < m->segs.nslots; i++) {
        const mc_seg_t *s = m->segs.segs[i];
        if (!s)
            continue;
        if (held[i] != s->refs || bytes[i] != s->used_bytes) {
            snprintf(err, errlen, "segment %s: %u allocations/%llu bytes held by objects and parking, %u/%llu allocated",
                     s->name, held[i], (unsigned long long)bytes[i], s->refs, (unsigned long long)s->used_bytes);
            goto out;
        }
    }
    uint64_t nmembers = 0;
    mc_map_entry_t *ge;
    for (uint32_t it = 0; mc_map_next(&m->groups, &it, &ge);)
        nmembers += mc_map_count(&((const mc_group_t *)ge->value)->members);
    if (ngrouped != mc_map_count(&m->obj_group) || nmembers != ngrouped) {
        snprintf(err, errlen, "groups: %llu grouped objects, %u routes, %llu members", (unsigned long long)ngrouped,
                 mc_map_count(&m->obj_group), (unsigned long long)nmembers);
        goto out;
    }
    if (ntask != mc_map_count(&m->repls)) {
        snprintf(err, errlen, "%llu replication records, %llu objects with a task",
                 (unsigned long long)mc_map_count(&m->repls), (unsigned long long)ntask);
        goto out;
    }
    if (nproc != m->nprocessing || npin != m->nsoftpinned) {
        snprintf(err, errlen, "counters: processing %llu/%llu soft-pinned %llu/%llu", (unsigned long long)nproc,
                 (unsigned long long)m->nprocessing, (unsigned long long)npin, (unsigned long long)m->nsoftpinned);
        goto out;
    }
    ok = true;
out:
    mc_free(held);
    mc_free(bytes);
    return ok;
}
