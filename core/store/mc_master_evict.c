/* Eviction (spec §4.11, §4.12) and the zombie-write sweep (§4.8). */
#include <stdlib.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

typedef struct cand {
    uint64_t lease;
    uint32_t idx; /* object table position: insertion order breaks ties */
} cand_t;

static int cand_cmp(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->lease != y->lease)
        return x->lease < y->lease ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool cand_lt(const cand_t *x, const cand_t *y)
{
    return x->lease < y->lease || (x->lease == y->lease && x->idx < y->idx);
}

static void cand_swap(cand_t *a, cand_t *b)
{
    cand_t t = *a;
    *a = *b;
    *b = t;
}

/* Put the k smallest candidates, sorted, at the front: quickselect with a
 * deterministic median-of-three pivot (keys are unique, so the result does
 * not depend on the algorithm), then sort only those k. O(n + k log k):
 * evicting 5% of 1M objects must not stall the master for a full sort. */
static void smallest_k(cand_t *a, uint32_t n, uint32_t k)
{
    if (k == 0 || n == 0)
        return;
    if (k < n) {
        int64_t lo = 0, hi = (int64_t)n - 1, kk = (int64_t)k - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (cand_lt(&a[mid], &a[lo]))
                cand_swap(&a[mid], &a[lo]);
            if (cand_lt(&a[hi], &a[lo]))
                cand_swap(&a[hi], &a[lo]);
            if (cand_lt(&a[hi], &a[mid]))
                cand_swap(&a[hi], &a[mid]);
            cand_t pivot = a[mid];
            int64_t i = lo, j = hi;
            while (i <= j) {
                while (cand_lt(&a[i], &pivot))
                    i++;
                while (cand_lt(&pivot, &a[j]))
                    j--;
                if (i <= j) {
                    cand_swap(&a[i], &a[j]);
                    i++;
                    j--;
                }
            }
            /* Now [lo, j] <= pivot <= [i, hi], and (j, i) == pivot. */
            if (kk <= j)
                hi = j;
            else if (kk >= i)
                lo = i;
            else
                break;
        }
    } else {
        k = n;
    }
    qsort(a, k, sizeof *a, cand_cmp);
}

static bool rep_evictable(const mc_master_t *m, const mc_rep_t *r)
{
    return r->type == MC_REPLICA_TYPE_MEMORY && r->refcnt == 0 && mc_m_rep_readable(m, r);
}

static bool has_evictable(const mc_master_t *m, const mc_obj_t *o)
{
    for (uint32_t i = 0; i < o->nrep; i++)
        if (rep_evictable(m, &o->rep[i]))
            return true;
    return false;
}

/* Remove every evictable replica at once; erase the object if none is left. */
static void evict_one(mc_master_t *m, mc_obj_t *o, uint64_t now_ns)
{
    for (uint32_t i = o->nrep; i-- > 0;)
        if (rep_evictable(m, &o->rep[i])) {
            m->st.evicted_bytes += o->size;
            mc_m_rep_drop(m, o, i, now_ns, 0, 0);
        }
    m->st.evicted_keys++;
    if (o->nrep == 0)
        mc_m_obj_erase(m, o, now_ns, false);
}

#define GROUP_BIT 0x80000000u

static bool soft_pinned(const mc_obj_t *o, uint64_t now_ns) { return o->soft_pin_deadline > now_ns; }

/* A member the group eviction may take (§4.14). */
static bool member_eligible(const mc_master_t *m, const mc_obj_t *o, uint64_t now_ns)
{
    return !(o->flags & MC_OBJ_HARD_PIN) && has_evictable(m, o) &&
           !(soft_pinned(o, now_ns) && !m->cfg.allow_evict_soft_pinned_objects);
}

/* Evict a candidate: one object, or every eligible member of a group.
 * Returns the number of objects evicted. */
static uint64_t evict_cand(mc_master_t *m, const cand_t *c, mc_group_t **gv, uint64_t now_ns)
{
    if (!(c->idx & GROUP_BIT)) {
        evict_one(m, m->objs.dense[c->idx], now_ns);
        return 1;
    }
    mc_group_t *g = gv[c->idx & ~GROUP_BIT];
    uint32_t n = mc_map_count(&g->members), k = 0;
    mc_obj_t **v = mc_malloc((size_t)(n ? n : 1) * sizeof *v);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&g->members, &it, &e);) {
        mc_obj_t *o = mc_m_find(m, mc_slice(e->key, e->klen));
        if (o && member_eligible(m, o, now_ns))
            v[k++] = o;
    }
    /* g may be freed by the last member leaving: not touched below. */
    for (uint32_t i = 0; i < k; i++)
        evict_one(m, v[i], now_ns);
    mc_free(v);
    return k;
}

/* Group candidates: a group with a leased member is skipped entirely;
 * otherwise it is ordered by its most recently leased eligible member. */
static uint32_t census_groups(mc_master_t *m, uint64_t now_ns, mc_group_t **gv, cand_t *plain, uint32_t *nplain,
                              cand_t *pinned, uint32_t *npinned)
{
    uint32_t ng = 0;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->groups, &it, &e);) {
        mc_group_t *g = e->value;
        bool leased = false, soft = false;
        uint64_t lease = 0;
        uint32_t nel = 0;
        mc_map_entry_t *me;
        for (uint32_t jt = 0; mc_map_next(&g->members, &jt, &me) && !leased;) {
            const mc_obj_t *o = mc_m_find(m, mc_slice(me->key, me->klen));
            if (!o)
                continue;
            if (mc_m_lease_active(o, now_ns)) {
                leased = true;
                break;
            }
            if (!member_eligible(m, o, now_ns))
                continue;
            nel++;
            soft |= soft_pinned(o, now_ns);
            if (o->lease_timeout > lease)
                lease = o->lease_timeout;
        }
        if (leased || nel == 0)
            continue;
        cand_t c = {lease, GROUP_BIT | ng};
        gv[ng++] = g;
        if (soft)
            pinned[(*npinned)++] = c;
        else
            plain[(*nplain)++] = c;
    }
    return ng;
}

static uint64_t sweep_zombies(mc_master_t *m, uint64_t now_ns)
{
    uint64_t n = 0;
    if (m->nprocessing == 0)
        return 0;
    uint64_t rel = MC_MS(m->cfg.put_start_release_timeout_ms);
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        if (!(o->flags & MC_OBJ_PROCESSING) || o->put_start_ns + rel > now_ns)
            continue;
        /* Past the release timeout the writer is presumed gone: free now. */
        mc_m_discard_processing(m, o, now_ns, 0);
        m->st.put_start_release_cnt++;
        n++;
        if (o->nrep == 0)
            mc_m_obj_erase(m, o, now_ns, false);
    }
    m->last_zombie_sweep_ns = now_ns;
    return n;
}

uint64_t mc_master_sweep(mc_master_t *m, uint64_t now_ns)
{
    sweep_zombies(m, now_ns);
    mc_m_repl_sweep(m, now_ns);
    m->last_zombie_sweep_ns = now_ns;
    return mc_m_release_parked(m, now_ns, NULL);
}

static uint64_t ceil_count(uint64_t base, double ratio)
{
    double v = (double)base * ratio;
    if (!(v > 0))
        return 0;
    uint64_t u = (uint64_t)v;
    return (double)u < v ? u + 1 : u;
}

uint64_t mc_master_batch_evict(mc_master_t *m, uint64_t now_ns, double target, double lower_bound)
{
    m->st.attempted_evictions++;
    sweep_zombies(m, now_ns);
    mc_m_repl_sweep(m, now_ns);
    uint32_t cap = mc_objtab_count(&m->objs);
    cand_t *plain = mc_malloc((size_t)(cap ? cap : 1) * sizeof *plain);
    cand_t *pinned = mc_malloc((size_t)(cap ? cap : 1) * sizeof *pinned);
    uint32_t nplain = 0, npinned = 0;
    uint64_t base = 0, evicted = 0;
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);) {
        if (o->soft_pin_deadline && o->soft_pin_deadline <= now_ns)
            mc_m_set_soft_pin(m, o, 0); /* expired pins are cleaned lazily */
        if ((o->flags & MC_OBJ_HARD_PIN) || !has_evictable(m, o))
            continue;
        base++;
        if ((o->flags & MC_OBJ_GROUPED) || mc_m_lease_active(o, now_ns))
            continue; /* group members are candidates as a unit */
        cand_t c = {o->lease_timeout, o->tab_idx};
        if (!o->soft_pin_deadline)
            plain[nplain++] = c;
        else if (m->cfg.allow_evict_soft_pinned_objects)
            pinned[npinned++] = c;
    }
    mc_group_t **gv = mc_malloc((size_t)(mc_map_count(&m->groups) + 1) * sizeof *gv);
    census_groups(m, now_ns, gv, plain, &nplain, pinned, &npinned);
    if (base == 0) {
        m->need_eviction = false;
        goto out;
    }
    /* Pass 1: the oldest unpinned candidates. */
    uint64_t n1 = ceil_count(base, target);
    uint64_t want = ceil_count(base, lower_bound);
    uint64_t most = n1 > want ? n1 : want; /* no pass evicts more than this */
    smallest_k(plain, nplain, most < nplain ? (uint32_t)most : nplain);
    smallest_k(pinned, npinned, most < npinned ? (uint32_t)most : npinned);
    uint32_t used = 0;
    while (evicted < n1 && used < nplain)
        evicted += evict_cand(m, &plain[used++], gv, now_ns);
    bool held = false;
    uint64_t r = mc_m_release_parked(m, now_ns, &held);
    /* Pass 2: up to the lower bound, unpinned leftovers then soft-pinned. */
    int64_t n2 = (int64_t)want - (int64_t)evicted - (int64_t)r;
    uint64_t left = (uint64_t)(nplain - used) + npinned;
    if (n2 > 0 && (uint64_t)n2 > left)
        n2 = (int64_t)left;
    for (uint32_t k = 0; n2 > 0;) {
        uint64_t got = used < nplain ? evict_cand(m, &plain[used++], gv, now_ns)
                                     : evict_cand(m, &pinned[k++], gv, now_ns);
        evicted += got;
        n2 -= (int64_t)got;
        if (used >= nplain && k >= npinned)
            break;
    }
    if (evicted > 0 || held)
        m->need_eviction = false;
    if (evicted > 0)
        m->st.successful_evictions++;
out:
    mc_free(gv);
    mc_free(plain);
    mc_free(pinned);
    return evicted;
}

uint64_t mc_master_evict_tick(mc_master_t *m, uint64_t now_ns)
{
    const mc_master_config_t *c = &m->cfg;
    double used = m->segs.pool_capacity ? (double)m->segs.pool_used / (double)m->segs.pool_capacity : 0.0;
    if (!(used > c->eviction_high_watermark_ratio || (m->need_eviction && c->eviction_ratio > 0)))
        return 0;
    double target = used - c->eviction_high_watermark_ratio + c->eviction_ratio;
    if (target < c->eviction_ratio)
        target = c->eviction_ratio;
    double lower = used - c->eviction_high_watermark_ratio;
    if (lower < target * 0.5)
        lower = target * 0.5;
    if (lower > target)
        lower = target;
    return mc_master_batch_evict(m, now_ns, target, lower);
}
