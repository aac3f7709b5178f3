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
        if (mc_m_lease_active(o, now_ns))
            continue;
        cand_t c = {o->lease_timeout, o->tab_idx};
        if (!o->soft_pin_deadline)
            plain[nplain++] = c;
        else if (m->cfg.allow_evict_soft_pinned_objects)
            pinned[npinned++] = c;
    }
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
    while (evicted < n1 && used < nplain) {
        evict_one(m, m->objs.dense[plain[used++].idx], now_ns);
        evicted++;
    }
    bool held = false;
    uint64_t r = mc_m_release_parked(m, now_ns, &held);
    /* Pass 2: up to the lower bound, unpinned leftovers then soft-pinned. */
    int64_t n2 = (int64_t)want - (int64_t)evicted - (int64_t)r;
    uint64_t left = (uint64_t)(nplain - used) + npinned;
    if (n2 > 0 && (uint64_t)n2 > left)
        n2 = (int64_t)left;
    for (uint32_t k = 0; n2 > 0; n2--) {
        if (used < nplain)
            evict_one(m, m->objs.dense[plain[used++].idx], now_ns);
        else
            evict_one(m, m->objs.dense[pinned[k++].idx], now_ns);
        evicted++;
    }
    if (evicted > 0 || held)
        m->need_eviction = false;
    if (evicted > 0)
        m->st.successful_evictions++;
out:
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
