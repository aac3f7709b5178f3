/* Batches: allocation, submission (validation), status, completion
 * callback, notify-on-completion and freeing. */
#include "mc_te_int.h"

static te_batch_t *batch_get(mc_te_t *te, uint64_t id)
{
    return id == MC_TE_INVALID_BATCH ? NULL : mc_map_getu(&te->batches, id);
}

uint64_t mc_te_alloc_batch(mc_te_t *te, uint32_t capacity)
{
    if (capacity == 0)
        return MC_TE_INVALID_BATCH;
    te_batch_t *b = mc_calloc(1, sizeof *b);
    b->te = te;
    b->id = te->next_batch_id++;
    b->cap = capacity;
    mc_vec_init(&b->tasks, sizeof(te_req_t *));
    mc_map_putu(&te->batches, b->id, b);
    return b->id;
}

static int check_request(mc_te_t *te, const mc_te_request_t *r)
{
    if (r->opcode != MC_XFER_READ && r->opcode != MC_XFER_WRITE)
        return MC_TE_ERR_INVALID_ARGUMENT;
    uint64_t src = (uint64_t)(uintptr_t)r->source;
    if (r->length == 0 || src + r->length < src || r->target_offset + r->length < r->target_offset)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_seg_t *seg = te_seg_get(te, r->target_id);
    if (!seg)
        return MC_TE_ERR_INVALID_ARGUMENT;
    if (te_local_covered(te, src, r->length) < r->length)
        return MC_TE_ERR_ADDRESS_NOT_REGISTERED;
    if (te_seg_covered(seg, r->target_offset, r->length) < r->length)
        return MC_TE_ERR_ADDRESS_NOT_REGISTERED;
    return MC_TE_ERR_OK;
}

static int submit(mc_te_t *te, uint64_t batch, const mc_te_request_t *reqs, size_t n)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b || (n && !reqs))
        return MC_TE_ERR_INVALID_ARGUMENT;
    if ((uint64_t)b->tasks.len + n > b->cap)
        return MC_TE_ERR_TOO_MANY_REQUESTS;
    for (size_t i = 0; i < n; i++) {
        int rc = check_request(te, &reqs[i]);
        if (rc) {
            mc_env_logf(te->env, MC_LOG_DEBUG, "te", "batch %llu: request %zu rejected: %s",
                        (unsigned long long)batch, i, mc_te_err_name(rc));
            return rc;
        }
    }
    size_t first = b->tasks.len;
    for (size_t i = 0; i < n; i++) {
        te_req_t *q = mc_calloc(1, sizeof *q);
        q->batch = b;
        q->idx = (uint32_t)b->tasks.len;
        q->r = reqs[i];
        q->seg = te_seg_get(te, reqs[i].target_id);
        q->status = MC_TE_WAITING;
        mc_list_init(&q->slices);
        *(te_req_t **)mc_vec_push(&b->tasks) = q;
    }
    b->cb_fired = n ? false : b->cb_fired;
    for (size_t i = first; i < b->tasks.len; i++)
        te_req_start(*MC_VEC_AT(&b->tasks, te_req_t *, i));
    return MC_TE_ERR_OK;
}

int mc_te_submit(mc_te_t *te, uint64_t batch, const mc_te_request_t *reqs, size_t n)
{
    return submit(te, batch, reqs, n);
}

int mc_te_submit_with_notify(mc_te_t *te, uint64_t batch, const mc_te_request_t *reqs, size_t n,
                             const char *notify_name, const char *notify_msg)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b || !notify_name || !notify_msg)
        return MC_TE_ERR_INVALID_ARGUMENT;
    int rc = submit(te, batch, reqs, n);
    if (rc || n == 0)
        return rc;
    mc_free(b->notify_name);
    mc_free(b->notify_msg);
    b->notify_name = mc_strdup(notify_name);
    b->notify_msg = mc_strdup(notify_msg);
    b->notify_seg = te_seg_get(te, reqs[0].target_id);
    b->notify_sent = false;
    /* Requests never complete inside submit, so the batch cannot be done yet. */
    MC_ASSERT(b->nterminal < b->tasks.len);
    return MC_TE_ERR_OK;
}

static int batch_status(const te_batch_t *b)
{
    if (b->nfailed)
        return MC_TE_FAILED;
    if (b->ntimeout)
        return MC_TE_TIMEOUT;
    return b->nterminal == b->tasks.len ? MC_TE_COMPLETED : MC_TE_WAITING;
}

static void cb_fire(void *arg)
{
    te_batch_t *b = arg;
    b->cb_timer = 0;
    if (b->cb_fired || b->nterminal != b->tasks.len || !b->cb)
        return;
    b->cb_fired = true;
    b->cb(b->cb_arg, b->id, batch_status(b)); /* may free the batch: last use */
}

static void schedule_cb(te_batch_t *b)
{
    if (b->cb && !b->cb_fired && !b->cb_timer && b->nterminal == b->tasks.len)
        b->cb_timer = mc_env_timer(b->te->env, 0, cb_fire, b);
}

void te_batch_task_done(te_batch_t *b, te_req_t *q)
{
    b->nterminal++;
    MC_ASSERT(b->nterminal <= b->tasks.len);
    if (q->status == MC_TE_FAILED)
        b->nfailed++;
    else if (q->status == MC_TE_TIMEOUT)
        b->ntimeout++;
    if (b->nterminal != b->tasks.len)
        return;
    if (b->notify_name && !b->notify_sent && batch_status(b) == MC_TE_COMPLETED) {
        b->notify_sent = true;
        te_send_notify_internal(b->te, b->notify_seg, b->notify_name, b->notify_msg, NULL, NULL);
    }
    schedule_cb(b);
}

int mc_te_batch_on_done(mc_te_t *te, uint64_t batch, mc_te_batch_cb cb, void *arg)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b)
        return MC_TE_ERR_INVALID_ARGUMENT;
    b->cb = cb;
    b->cb_arg = arg;
    b->cb_fired = false;
    schedule_cb(b);
    return MC_TE_ERR_OK;
}

int mc_te_get_transfer_status(mc_te_t *te, uint64_t batch, uint64_t task, mc_te_task_status_t *out)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b || task >= b->tasks.len || !out)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_req_t *q = *MC_VEC_AT(&b->tasks, te_req_t *, task);
    out->status = q->status;
    out->transferred_bytes = q->transferred;
    return MC_TE_ERR_OK;
}

int mc_te_get_batch_status(mc_te_t *te, uint64_t batch, mc_te_task_status_t *out)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b || !out)
        return MC_TE_ERR_INVALID_ARGUMENT;
    out->status = batch_status(b);
    out->transferred_bytes = 0;
    for (size_t i = 0; i < b->tasks.len; i++)
        out->transferred_bytes += (*MC_VEC_AT(&b->tasks, te_req_t *, i))->transferred;
    return MC_TE_ERR_OK;
}

static void batch_free(mc_te_t *te, te_batch_t *b)
{
    mc_env_timer_cancel(te->env, &b->cb_timer);
    for (size_t i = 0; i < b->tasks.len; i++) {
        te_req_t *q = *MC_VEC_AT(&b->tasks, te_req_t *, i);
        mc_env_timer_cancel(te->env, &q->timer);
        mc_free(q);
    }
    mc_vec_free(&b->tasks);
    mc_free(b->notify_name);
    mc_free(b->notify_msg);
    mc_free(b);
}

int mc_te_free_batch(mc_te_t *te, uint64_t batch)
{
    te_batch_t *b = batch_get(te, batch);
    if (!b)
        return MC_TE_ERR_INVALID_ARGUMENT;
    if (b->nterminal != b->tasks.len)
        return MC_TE_ERR_BATCH_BUSY;
    /* Finished requests hold no slices (orphans point nowhere), so this is safe. */
    mc_map_delu(&te->batches, batch);
    batch_free(te, b);
    return MC_TE_ERR_OK;
}

void te_batches_destroy(mc_te_t *te)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&te->batches, &it, &e)) {
        te_batch_t *b = e->value;
        /* Detach live requests' slices so te_slices_destroy sees plain records. */
        for (size_t i = 0; i < b->tasks.len; i++) {
            te_req_t *q = *MC_VEC_AT(&b->tasks, te_req_t *, i);
            mc_list_t *pos, *tmp;
            mc_list_for_each_safe(pos, tmp, &q->slices)
            {
                te_slice_t *s = mc_container_of(pos, te_slice_t, link);
                mc_list_del(&s->link);
                s->req = NULL;
            }
        }
        batch_free(te, b);
    }
    mc_map_free(&te->batches);
    mc_map_init(&te->batches);
}
