/* GetReplicaList, ExistKey, GetSize and batch/regex forms (spec §4.9). */
#include <stdio.h>

#include "store/mc_master_int.h"
#include "store/mc_regex.h"

/* OK if the object has a readable replica; the spec's error otherwise. */
static mc_status_t readable_status(const mc_master_t *m, const mc_obj_t *o)
{
    if (!o || o->nrep == 0)
        return MC_OBJECT_NOT_FOUND;
    bool all_removed = true;
    for (uint32_t i = 0; i < o->nrep; i++) {
        if (mc_m_rep_readable(m, &o->rep[i]))
            return MC_OK;
        if (o->rep[i].status != MC_REPLICA_REMOVED)
            all_removed = false;
    }
    return all_removed ? MC_OBJECT_NOT_FOUND : MC_REPLICA_IS_NOT_READY;
}


mc_status_t mc_master_get_replica_list(mc_master_t *m, uint64_t now_ns, mc_slice_t key, mc_replica_list_t *out)
{
    mc_obj_t *o = mc_m_find(m, key);
    mc_status_t st = readable_status(m, o);
    if (st != MC_OK)
        return st;
    mc_m_read_lease(m, o, now_ns);
    if (out)
        mc_m_describe(m, o, true, out);
    return MC_OK;
}

void mc_master_batch_get_replica_list(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n,
                                      mc_replica_list_t *out, mc_status_t *st)
{
    MC_M_FOR_CHUNKS(m, keys, n, i, st[i] = mc_master_get_replica_list(m, now_ns, keys[i], out ? &out[i] : NULL));
}

mc_status_t mc_master_get_replica_list_admin(const mc_master_t *m, mc_slice_t key, mc_replica_list_t *out)
{
    const mc_obj_t *o = mc_m_find(m, key);
    mc_status_t st = readable_status(m, o);
    if (st == MC_OK && out)
        mc_m_describe(m, o, true, out);
    return st;
}

mc_status_t mc_master_exist_key(mc_master_t *m, uint64_t now_ns, mc_slice_t key, bool *exists)
{
    mc_obj_t *o = mc_m_find(m, key);
    *exists = readable_status(m, o) == MC_OK;
    if (*exists)
        mc_m_read_lease(m, o, now_ns);
    return MC_OK;
}

void mc_master_batch_exist_key(mc_master_t *m, uint64_t now_ns, const mc_slice_t *keys, size_t n, bool *exists,
                               mc_status_t *st)
{
    MC_M_FOR_CHUNKS(m, keys, n, i, {
        mc_status_t s = mc_master_exist_key(m, now_ns, keys[i], &exists[i]);
        if (st)
            st[i] = s;
    });
}

mc_status_t mc_master_get_size(mc_master_t *m, uint64_t now_ns, mc_slice_t key, uint64_t *size)
{
    mc_obj_t *o = mc_m_find(m, key);
    mc_status_t st = readable_status(m, o);
    if (st != MC_OK)
        return st;
    mc_m_read_lease(m, o, now_ns);
    *size = o->size;
    return MC_OK;
}

mc_status_t mc_master_get_replica_list_by_regex(mc_master_t *m, uint64_t now_ns, const char *pattern,
                                                void (*fn)(void *arg, mc_slice_t key, const mc_replica_list_t *l),
                                                void *arg, char *err, size_t errlen)
{
    mc_regex_t re;
    mc_status_t st = mc_regex_compile(&re, pattern, err, errlen);
    if (st != MC_OK)
        return st;
    mc_replica_list_t l;
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        if (readable_status(m, o) != MC_OK || !mc_regex_search(&re, mc_obj_keyslice(o)))
            continue;
        mc_m_read_lease(m, o, now_ns);
        mc_m_describe(m, o, true, &l);
        if (fn)
            fn(arg, mc_obj_keyslice(o), &l);
    }
    mc_regex_free(&re);
    return MC_OK;
}

void mc_master_for_each_key(const mc_master_t *m, void (*fn)(void *arg, mc_slice_t key), void *arg)
{
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);)
        if (readable_status(m, o) == MC_OK)
            fn(arg, mc_obj_keyslice(o));
}
