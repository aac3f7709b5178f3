/* Slicing, posting, completion, retry and timeouts of requests.
 *
 * A request is cut into slices (spec §3.1) and posted through
 * env->ops->xfer_post, at most slices_in_flight at a time. Each posted
 * attempt has a unique tag and lives in te->inflight until the env reports
 * it. A request finishes exactly once (asserted): COMPLETED when every
 * byte landed, FAILED when a slice ran out of attempts or the peer
 * rejected the range, TIMEOUT when its deadline passed. Attempts still in
 * flight at that point become orphans; their completions are counted as
 * late and otherwise ignored. */
#include "mc_te_int.h"

uint64_t mc_te_slice_len(uint64_t remaining, uint64_t block, uint64_t frag, uint64_t local_left,
                         uint64_t peer_left)
{
    /* A tail up to block + frag is merged into one slice (no tiny last slice). */
    uint64_t len = (remaining - block <= frag || remaining <= block) ? remaining : block;
    if (len > local_left)
        len = local_left;
    if (len > peer_left)
        len = peer_left;
    return len;
}

static void slice_free(te_slice_t *s)
{
    mc_env_timer_cancel(s->te->env, &s->timer);
    mc_free(s);
}

static void slice_timeout_fire(void *arg);

static void post(te_slice_t *s)
{
    mc_te_t *te = s->te;
    te_req_t *q = s->req;
    s->tag = MC_TE_TAG_PREFIX | (++te->tag_seq & ~MC_TE_TAG_MASK);
    MC_ASSERT(mc_map_putu(&te->inflight, s->tag, s) == NULL);
    mc_list_push_back(&q->slices, &s->link);
    q->inflight++;
    te->paths[s->path].posted++;
    te->stats.slices_posted++;
    if (te->slice_timeout_ns)
        s->timer = mc_env_timer(te->env, te->slice_timeout_ns, slice_timeout_fire, s);
    mc_xfer_op_t op = {
        .opcode = q->r.opcode,
        .path = s->path,
        .local = (uint8_t *)q->r.source + s->off,
        .peer = q->seg->data_addr ? q->seg->data_addr : q->seg->peer_addr,
        .remote_addr = q->r.target_offset + s->off,
        .remote_key = s->rkey,
        .len = s->len,
        .tag = s->tag,
    };
    /* Whatever it returns, every op completes through on_xfer_done. */
    (void)te->env->ops->xfer_post(te->env, &op, 1);
}

void te_req_finish(te_req_t *q, int status)
{
    mc_te_t *te = q->batch->te;
    MC_ASSERT(q->status == MC_TE_WAITING); /* exactly once */
    MC_ASSERT(mc_te_xfer_status_terminal(status));
    q->status = status;
    mc_env_timer_cancel(te->env, &q->timer);
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &q->slices)
    {
        te_slice_t *s = mc_container_of(pos, te_slice_t, link);
        mc_list_del(&s->link);
        mc_env_timer_cancel(te->env, &s->timer);
        s->req = NULL; /* orphan: stays in te->inflight until the env reports it */
        /* Given up (a deadline or another slice's failure): the transport
         * must not let these bytes land after what the caller posts next. */
        if (te->env->ops->xfer_abandon)
            te->env->ops->xfer_abandon(te->env, s->tag);
    }
    q->inflight = 0;
    if (status == MC_TE_COMPLETED) {
        MC_ASSERT(q->transferred == q->r.length);
        te->stats.requests_completed++;
    } else if (status == MC_TE_TIMEOUT) {
        te->stats.requests_timed_out++;
    } else {
        te->stats.requests_failed++;
    }
    mc_env_tracef(te->env, "te.req_done", "segment=%s batch=%llu task=%u status=%s bytes=%llu", te->name,
                  (unsigned long long)q->batch->id, q->idx, mc_te_xfer_status_name(status),
                  (unsigned long long)q->transferred);
    te_batch_task_done(q->batch, q);
}

void te_req_pump(te_req_t *q)
{
    mc_te_t *te = q->batch->te;
    while (q->status == MC_TE_WAITING && q->inflight < te->window && q->next_off < q->r.length) {
        uint64_t off = q->next_off;
        uint64_t src = (uint64_t)(uintptr_t)q->r.source + off;
        uint64_t dst = q->r.target_offset + off;
        te_buf_t *lb = te_buf_find(te, src);
        const mc_te_buffer_desc_t *pb = te_seg_find_buf(q->seg, dst, true);
        if (!lb || !pb) {
            /* Memory was unregistered (or the peer descriptor changed) after submit. */
            mc_env_logf(te->env, MC_LOG_WARN, "te", "batch %llu task %u: range no longer registered",
                        (unsigned long long)q->batch->id, q->idx);
            te_req_finish(q, MC_TE_FAILED);
            return;
        }
        uint64_t len = mc_te_slice_len(q->r.length - off, te->slice_size, te->frag_limit,
                                       lb->addr + lb->len - src, pb->addr + pb->length - dst);
        MC_ASSERT(len > 0);
        te_slice_t *s = mc_calloc(1, sizeof *s);
        s->te = te;
        s->req = q;
        s->off = off;
        s->len = len;
        s->rkey = pb->nrkey ? pb->rkey[0] : 0; /* no key: an upstream tcp peer */
        s->path = te_path_pick(te, q->start_path + q->nslices);
        mc_list_init(&s->link);
        q->nslices++;
        q->next_off += len;
        post(s);
    }
}

static void req_timeout_fire(void *arg)
{
    te_req_t *q = arg;
    q->timer = 0;
    te_req_finish(q, MC_TE_TIMEOUT);
}

void te_req_start(te_req_t *q)
{
    mc_te_t *te = q->batch->te;
    q->start_path = (uint8_t)(te->rr++ % te->npaths);
    if (te->transfer_timeout_ns) {
        /* Upstream's Python deadline: timeout + 1 ns per byte. */
        uint64_t d = te->transfer_timeout_ns + q->r.length;
        if (d < te->transfer_timeout_ns)
            d = UINT64_MAX / 2;
        q->timer = mc_env_timer(te->env, d, req_timeout_fire, q);
    }
    te_req_pump(q);
}

/* A failed attempt: retry on another path while the budget lasts. When
 * the last attempt was abandoned by slice_timeout the request ends
 * TIMEOUT (completions never came), otherwise FAILED. */
static void retry(te_slice_t *s, bool timed_out)
{
    mc_te_t *te = s->te;
    te_req_t *q = s->req;
    s->retry++;
    if (s->retry >= te->retry_cnt) {
        mc_env_logf(te->env, MC_LOG_WARN, "te", "batch %llu task %u: slice at %llu failed %u times%s",
                    (unsigned long long)q->batch->id, q->idx, (unsigned long long)s->off, s->retry,
                    timed_out ? " (last: no completion)" : "");
        slice_free(s);
        te_req_finish(q, timed_out ? MC_TE_TIMEOUT : MC_TE_FAILED);
        return;
    }
    te->stats.retries++;
    s->path = te_path_pick_retry(te, s->path, s->retry);
    post(s);
}

static void slice_timeout_fire(void *arg)
{
    te_slice_t *old = arg;
    mc_te_t *te = old->te;
    te_req_t *q = old->req;
    old->timer = 0;
    MC_ASSERT(q);
    /* Abandon this attempt (it stays an orphan in te->inflight) and retry
     * the same bytes as a new attempt. */
    mc_list_del(&old->link);
    q->inflight--;
    old->req = NULL;
    if (te->env->ops->xfer_abandon) /* the retry must not be overtaken by it */
        te->env->ops->xfer_abandon(te->env, old->tag);
    te->stats.slices_timed_out++;
    te_path_error(te, old->path);
    te_slice_t *s = mc_calloc(1, sizeof *s);
    s->te = te;
    s->req = q;
    s->off = old->off;
    s->len = old->len;
    s->rkey = old->rkey;
    s->retry = old->retry;
    s->path = old->path;
    mc_list_init(&s->link);
    retry(s, true);
}

bool mc_te_on_xfer_done(mc_te_t *te, uint64_t tag, mc_status_t status)
{
    if (!te_tag_is_ours(tag))
        return false;
    te_slice_t *s = mc_map_delu(&te->inflight, tag);
    if (!s) {
        te->stats.unknown_completions++;
        mc_env_logf(te->env, MC_LOG_WARN, "te", "completion for unknown tag %llu ignored",
                    (unsigned long long)tag);
        return true;
    }
    if (!s->req) {
        te->stats.late_completions++;
        mc_env_tracef(te->env, "te.late_completion", "segment=%s status=%d", te->name, status);
        slice_free(s);
        return true;
    }
    te_req_t *q = s->req;
    mc_env_timer_cancel(te->env, &s->timer);
    mc_list_del(&s->link);
    MC_ASSERT(q->inflight > 0);
    q->inflight--;
    if (status == MC_OK) {
        te->stats.slices_ok++;
        te_path_ok(te, s->path);
        q->transferred += s->len;
        slice_free(s);
        if (q->next_off == q->r.length && q->inflight == 0)
            te_req_finish(q, MC_TE_COMPLETED);
        else
            te_req_pump(q);
        return true;
    }
    te->stats.slices_failed++;
    if (status == MC_INVALID_PARAMS) {
        /* The peer refused the range: no path is at fault and no retry helps. */
        slice_free(s);
        te_req_finish(q, MC_TE_FAILED);
        return true;
    }
    te_path_error(te, s->path);
    retry(s, false);
    return true;
}

void te_slices_destroy(mc_te_t *te)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&te->inflight, &it, &e))
        slice_free(e->value);
    mc_map_free(&te->inflight);
    mc_map_init(&te->inflight);
}
