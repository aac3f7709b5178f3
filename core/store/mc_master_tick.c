/* Time-driven work of the master (upstream's eviction thread, client
 * monitor, graceful-unmount scheduler and task cleanup in one call). */
#include "store/mc_master_int.h"

#define MC_ZOMBIE_SWEEP_PERIOD_NS (1000ull * 1000 * 1000)
#define MC_PIN_SWEEP_PERIOD_NS (30ull * 1000 * 1000 * 1000)

/* Expired soft pins are otherwise cleaned lazily by eviction; upstream's
 * task-cleanup thread also drops them every 30 s (keeps the metric true). */
static void sweep_soft_pins(mc_master_t *m, uint64_t now_ns)
{
    if (m->nsoftpinned == 0 || now_ns - m->last_pin_sweep_ns < MC_PIN_SWEEP_PERIOD_NS)
        return;
    m->last_pin_sweep_ns = now_ns;
    mc_obj_t *o;
    for (uint32_t it = 0; mc_objtab_next(&m->objs, &it, &o);)
        if (o->soft_pin_deadline && o->soft_pin_deadline <= now_ns)
            mc_m_set_soft_pin(m, o, 0);
}

void mc_master_tick(mc_master_t *m, uint64_t now_ns)
{
    mc_m_clients_tick(m, now_ns);
    for (uint32_t i = 0; i < m->segs.nslots; i++) {
        mc_seg_t *s = m->segs.segs[i];
        if (s && s->status == MC_SEGMENT_GRACEFULLY_UNMOUNTING && s->grace_deadline_ns <= now_ns)
            mc_m_unmount(m, now_ns, s);
    }
    if ((m->nprocessing || mc_map_count(&m->repls)) && now_ns - m->last_zombie_sweep_ns >= MC_ZOMBIE_SWEEP_PERIOD_NS)
        mc_master_sweep(m, now_ns);
    else
        mc_m_release_parked(m, now_ns, NULL);
    mc_m_tasks_tick(m, now_ns);
    sweep_soft_pins(m, now_ns);
    mc_master_evict_tick(m, now_ns);
    m->last_tick_ns = now_ns;
    m->ticked = true;
}

uint64_t mc_master_next_deadline(const mc_master_t *m)
{
    uint64_t d = m->parked_min_deadline;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->clients, &it, &e);) {
        const mc_client_t *c = e->value;
        if (c->deadline_ns < d)
            d = c->deadline_ns;
    }
    for (uint32_t i = 0; i < m->segs.nslots; i++) {
        const mc_seg_t *s = m->segs.segs[i];
        if (s && s->status == MC_SEGMENT_GRACEFULLY_UNMOUNTING && s->grace_deadline_ns < d)
            d = s->grace_deadline_ns;
    }
    if ((m->nprocessing || mc_map_count(&m->repls)) && m->last_zombie_sweep_ns + MC_ZOMBIE_SWEEP_PERIOD_NS < d)
        d = m->last_zombie_sweep_ns + MC_ZOMBIE_SWEEP_PERIOD_NS;
    uint64_t task_due = m->tasks.last_sweep_ns + 30ull * 1000 * 1000 * 1000;
    if ((m->tasks.npending || m->tasks.nprocessing || m->tasks.nfinished > m->cfg.max_finished_tasks) && task_due < d)
        d = task_due;
    return d;
}
