/* Task manager for copy/move tasks (spec §4.16): create, query, fetch by
 * the assigned client, complete; timeouts and pruning every 30 s. */
#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"
#include "store/mc_master_int.h"

#define MC_TASK_SWEEP_PERIOD_NS (30ull * 1000 * 1000 * 1000)

void mc_m_tasks_init(mc_master_t *m)
{
    mc_tasks_t *t = &m->tasks;
    memset(t, 0, sizeof *t);
    mc_map_init(&t->by_id);
    mc_list_init(&t->pending);
    mc_list_init(&t->processing);
    mc_list_init(&t->finished);
}

static void task_free(mc_task_t *k)
{
    for (uint32_t i = 0; i < k->ntargets; i++)
        mc_free(k->targets[i]);
    mc_free(k->targets);
    mc_free(k->source);
    mc_free(k->key);
    mc_free(k);
}

void mc_m_tasks_destroy(mc_master_t *m)
{
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->tasks.by_id, &it, &e);)
        task_free(e->value);
    mc_map_free(&m->tasks.by_id);
}

static mc_uuid_t new_id(mc_master_t *m)
{
    mc_uuid_t id = {mc_rng_next(m->rng), mc_rng_next(m->rng)};
    return id;
}

/* Target names for a new task: INVALID_PARAMS when no segment record has
 * the name, UNAVAILABLE_IN_CURRENT_STATUS when not allocatable. */
static mc_status_t check_target(const mc_master_t *m, const char *name)
{
    if (!name || !name[0])
        return MC_INVALID_PARAMS;
    if (mc_segmgr_has_name(&m->segs, name))
        return MC_OK;
    return mc_segmgr_find_by_name(&m->segs, name) ? MC_UNAVAILABLE_IN_CURRENT_STATUS : MC_INVALID_PARAMS;
}

static mc_status_t submit(mc_master_t *m, uint64_t now_ns, uint8_t type, mc_slice_t key, const char *source,
                          const char *const *targets, uint32_t n, mc_uuid_t *task_id)
{
    mc_tasks_t *t = &m->tasks;
    if (t->npending >= m->cfg.max_pending_tasks)
        return MC_TASK_PENDING_LIMIT_EXCEEDED;
    const mc_seg_t *src = mc_segmgr_find_by_name(&m->segs, source);
    mc_task_t *k = mc_calloc(1, sizeof *k);
    k->id = new_id(m);
    k->client = src ? src->owner : (mc_uuid_t){0, 0};
    k->type = type;
    k->status = MC_TASK_PENDING;
    k->created_ns = k->updated_ns = now_ns;
    k->key = mc_memdup(key.p, key.len ? key.len : 1);
    k->klen = (uint32_t)key.len;
    k->source = mc_strdup(source);
    k->targets = mc_calloc(n, sizeof *k->targets);
    k->ntargets = n;
    for (uint32_t i = 0; i < n; i++)
        k->targets[i] = mc_strdup(targets[i]);
    mc_map_put(&t->by_id, &k->id, sizeof k->id, k);
    mc_list_push_back(&t->pending, &k->link);
    t->npending++;
    *task_id = k->id;
    return MC_OK;
}

mc_status_t mc_master_create_copy_task(mc_master_t *m, uint64_t now_ns, mc_slice_t key, const char *const *targets,
                                       uint32_t ntargets, mc_uuid_t *task_id)
{
    if (ntargets == 0 || ntargets > MC_STORE_MAX_REPLICAS)
        return MC_INVALID_PARAMS;
    const mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    for (uint32_t i = 0; i < ntargets; i++) {
        mc_status_t st = check_target(m, targets[i]);
        if (st != MC_OK)
            return st;
    }
    /* Source: a uniformly random name among the complete replicas. */
    const char *names[MC_STORE_MAX_REPLICAS];
    uint32_t nn = 0;
    for (uint32_t i = 0; i < o->nrep; i++)
        if (mc_m_rep_readable(m, &o->rep[i]))
            names[nn++] = mc_segmgr_at(&m->segs, o->rep[i].slot)->name;
    if (nn == 0)
        return MC_REPLICA_NOT_FOUND;
    const char *source = names[mc_rng_below(m->rng, nn)];
    return submit(m, now_ns, MC_TASK_REPLICA_COPY, key, source, targets, ntargets, task_id);
}

mc_status_t mc_master_create_move_task(mc_master_t *m, uint64_t now_ns, mc_slice_t key, const char *source,
                                       const char *target, mc_uuid_t *task_id)
{
    const mc_obj_t *o = mc_m_find(m, key);
    if (!o)
        return MC_OBJECT_NOT_FOUND;
    if (!source || !target || strcmp(source, target) == 0)
        return MC_INVALID_PARAMS;
    mc_status_t st = check_target(m, target);
    if (st != MC_OK)
        return st;
    bool held = false;
    for (uint32_t i = 0; i < o->nrep && !held; i++)
        held = strcmp(mc_segmgr_at(&m->segs, o->rep[i].slot)->name, source) == 0;
    if (!held)
        return MC_INVALID_PARAMS;
    return submit(m, now_ns, MC_TASK_REPLICA_MOVE, key, source, &target, 1, task_id);
}

mc_status_t mc_master_query_task(const mc_master_t *m, mc_uuid_t id, mc_task_info_t *out)
{
    const mc_task_t *k = mc_map_get(&m->tasks.by_id, &id, sizeof id);
    if (!k)
        return MC_TASK_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->id = k->id;
    out->type = k->type;
    out->status = k->status;
    out->created_ms = k->created_ns / 1000000;
    out->updated_ms = k->updated_ns / 1000000;
    out->assigned_client = k->client;
    snprintf(out->message, sizeof out->message, "%s", k->message);
    return MC_OK;
}

mc_status_t mc_master_fetch_tasks(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, uint32_t max,
                                  mc_task_assignment_t *out, uint32_t *n)
{
    mc_tasks_t *t = &m->tasks;
    mc_list_t *pos, *tmp;
    *n = 0;
    mc_list_for_each_safe(pos, tmp, &t->pending)
    {
        if (*n >= max || t->nprocessing >= m->cfg.max_processing_tasks)
            break;
        mc_task_t *k = mc_container_of(pos, mc_task_t, link);
        if (!mc_uuid_eq(k->client, client))
            continue;
        mc_list_del(&k->link);
        t->npending--;
        mc_list_push_back(&t->processing, &k->link);
        t->nprocessing++;
        k->status = MC_TASK_PROCESSING;
        k->updated_ns = now_ns;
        mc_task_assignment_t *a = &out[(*n)++];
        a->id = k->id;
        a->type = k->type;
        a->key = mc_slice(k->key, k->klen);
        a->source = k->source;
        a->targets = (const char *const *)k->targets;
        a->ntargets = k->ntargets;
        a->created_ms = k->created_ns / 1000000;
        a->max_retry_attempts = m->cfg.max_retry_attempts;
    }
    return MC_OK;
}

static void finish(mc_master_t *m, mc_task_t *k, uint64_t now_ns, uint8_t status, const char *msg)
{
    mc_tasks_t *t = &m->tasks;
    if (k->status == MC_TASK_PENDING)
        t->npending--;
    else
        t->nprocessing--;
    mc_list_del(&k->link);
    k->status = status;
    k->updated_ns = now_ns;
    snprintf(k->message, sizeof k->message, "%s", msg ? msg : "");
    mc_list_push_back(&t->finished, &k->link);
    t->nfinished++;
}

mc_status_t mc_master_mark_task_complete(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, mc_uuid_t id,
                                         uint8_t status, const char *message)
{
    mc_task_t *k = mc_map_get(&m->tasks.by_id, &id, sizeof id);
    if (!k)
        return MC_TASK_NOT_FOUND;
    if (status != MC_TASK_SUCCESS && status != MC_TASK_FAILED)
        return MC_INVALID_PARAMS;
    if (!mc_uuid_eq(k->client, client))
        return MC_ILLEGAL_CLIENT;
    if (k->status == MC_TASK_SUCCESS || k->status == MC_TASK_FAILED)
        return MC_OK;
    finish(m, k, now_ns, status, message);
    return MC_OK;
}

void mc_m_tasks_tick(mc_master_t *m, uint64_t now_ns)
{
    mc_tasks_t *t = &m->tasks;
    if (now_ns - t->last_sweep_ns < MC_TASK_SWEEP_PERIOD_NS)
        return;
    t->last_sweep_ns = now_ns;
    uint64_t pto = MC_MS(m->cfg.pending_task_timeout_ms), xto = MC_MS(m->cfg.processing_task_timeout_ms);
    mc_list_t *pos, *tmp;
    if (pto)
        mc_list_for_each_safe(pos, tmp, &t->pending)
        {
            mc_task_t *k = mc_container_of(pos, mc_task_t, link);
            if (k->created_ns + pto <= now_ns)
                finish(m, k, now_ns, MC_TASK_FAILED, "pending timeout");
        }
    if (xto)
        mc_list_for_each_safe(pos, tmp, &t->processing)
        {
            mc_task_t *k = mc_container_of(pos, mc_task_t, link);
            if (k->updated_ns + xto <= now_ns)
                finish(m, k, now_ns, MC_TASK_FAILED, "processing timeout");
        }
    while (t->nfinished > m->cfg.max_finished_tasks) {
        mc_task_t *k = mc_container_of(t->finished.next, mc_task_t, link);
        mc_list_del(&k->link);
        t->nfinished--;
        mc_map_del(&t->by_id, &k->id, sizeof k->id);
        task_free(k);
    }
}
