/* Parked buffers: space that must not be reused before a deadline
 * (spec §4.8 discarded replicas, plus our lease protection). */
#include "store/mc_master_int.h"

void mc_m_park(mc_master_t *m, uint32_t slot, uint32_t h, uint64_t len, uint64_t deadline_ns, uint64_t set)
{
    mc_parked_t *p = mc_vec_push(&m->parked);
    p->deadline_ns = deadline_ns;
    p->set = set;
    p->len = len;
    p->slot = slot;
    p->h = h;
    if (deadline_ns < m->parked_min_deadline)
        m->parked_min_deadline = deadline_ns;
}

/* Free every parked buffer whose deadline passed; returns how many sets
 * were released (upstream counts discarded replica sets). */
uint64_t mc_m_release_parked(mc_master_t *m, uint64_t now_ns, bool *held_memory)
{
    if (held_memory)
        *held_memory = false;
    if (now_ns < m->parked_min_deadline)
        return 0;
    uint64_t sets = 0, last_set = 0;
    uint64_t min = UINT64_MAX;
    size_t j = 0;
    for (size_t i = 0; i < m->parked.len; i++) {
        mc_parked_t p = *MC_VEC_AT(&m->parked, mc_parked_t, i);
        if (p.deadline_ns <= now_ns) {
            mc_segmgr_free(&m->segs, p.slot, p.h, p.len);
            if (p.set != last_set) {
                sets++;
                last_set = p.set;
            }
            continue;
        }
        if (p.deadline_ns < min)
            min = p.deadline_ns;
        *MC_VEC_AT(&m->parked, mc_parked_t, j++) = p;
    }
    m->parked.len = j;
    m->parked_min_deadline = min;
    if (held_memory)
        *held_memory = sets > 0;
    return sets;
}
