/* Master side of graceful unmount, BatchReplicaClear and the copy/move
 * task protocol (spec store.md §4.15-§4.17): create/query tasks for
 * users, fetch/complete and Copy/Move Start/End/Revoke for the client
 * that executes them. Pure translation between wire and master core. */
#include <string.h>

#include "base/mc_mem.h"
#include "rpc/mc_rpc.h"
#include "storesvc/mc_store_master_tasks.h"

static void reply_status(mc_env_t *env, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id, mc_status_t s)
{
    mc_store_values_reply_t rep = {.status = s};
    mc_store_values_reply_encode(out, req_id, &rep);
    mc_rpc_reply(env, conn, out);
}

/* NUL-terminated copies of the target names (the master wants C strings). */
static char **dup_names(const mc_slice_t *s, uint32_t n)
{
    char **v = mc_calloc(n ? n : 1, sizeof *v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = mc_slice_dup(s[i]);
    return v;
}

static void free_names(char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        mc_free(v[i]);
    mc_free(v);
}

static void reply_task(mc_env_t *env, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id, mc_status_t s,
                       const mc_task_info_t *t)
{
    mc_store_task_reply_t rep = {.status = s};
    if (s == MC_OK && t) {
        rep.id = t->id;
        rep.type = t->type;
        rep.task_status = t->status;
        rep.created_ms = t->created_ms;
        rep.updated_ms = t->updated_ms;
        rep.assigned_client = t->assigned_client;
        rep.message = mc_slice_cstr(t->message);
    }
    mc_store_task_reply_encode(out, req_id, &rep);
    mc_rpc_reply(env, conn, out);
}

static void handle_create(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                          const mc_store_req_t *q, uint64_t now)
{
    mc_task_info_t t;
    memset(&t, 0, sizeof t);
    mc_status_t s = MC_INVALID_PARAMS;
    char **tg = dup_names(q->targets, q->ntargets);
    if (q->nkeys == 1 && q->type == MC_MSG_CREATE_COPY_TASK) {
        s = mc_master_create_copy_task(m, now, q->keys[0], (const char *const *)tg, q->ntargets, &t.id);
    } else if (q->nkeys == 1 && q->ntargets == 1) {
        char *src = mc_slice_dup(q->name);
        s = mc_master_create_move_task(m, now, q->keys[0], src, tg[0], &t.id);
        mc_free(src);
    }
    free_names(tg, q->ntargets);
    if (s == MC_OK)
        s = mc_master_query_task(m, t.id, &t);
    reply_task(env, out, conn, req_id, s, &t);
}

static void handle_fetch(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                         const mc_store_req_t *q, uint64_t now)
{
    uint32_t max = q->arg > MC_MSG_STORE_MAX_TASKS ? MC_MSG_STORE_MAX_TASKS : (uint32_t)q->arg, n = 0;
    mc_task_assignment_t *a = mc_calloc(max ? max : 1, sizeof *a);
    mc_status_t s = mc_master_fetch_tasks(m, now, q->client, max, a, &n);
    mc_store_tasks_reply_t rep = {.status = s, .n = s == MC_OK ? n : 0};
    rep.t = mc_calloc(rep.n ? rep.n : 1, sizeof *rep.t);
    uint32_t ntg = 0;
    for (uint32_t i = 0; i < rep.n; i++)
        ntg += a[i].ntargets;
    mc_slice_t *tg = mc_calloc(ntg ? ntg : 1, sizeof *tg), *p = tg;
    for (uint32_t i = 0; i < rep.n; i++) {
        mc_store_task_assign_t *t = &rep.t[i];
        t->id = a[i].id;
        t->type = a[i].type;
        t->key = a[i].key;
        t->source = mc_slice_cstr(a[i].source);
        t->ntargets = a[i].ntargets;
        t->targets = p;
        for (uint32_t k = 0; k < a[i].ntargets; k++)
            *p++ = mc_slice_cstr(a[i].targets[k]);
        t->created_ms = a[i].created_ms;
        t->max_retry = a[i].max_retry_attempts;
    }
    mc_store_tasks_reply_encode(out, req_id, &rep);
    mc_rpc_reply(env, conn, out);
    mc_free(tg);
    mc_free(rep.t);
    mc_free(a);
}

static void handle_start(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                         const mc_store_req_t *q, uint64_t now)
{
    mc_replica_list_t src, tgt;
    memset(&src, 0, sizeof src);
    memset(&tgt, 0, sizeof tgt);
    mc_status_t s = MC_INVALID_PARAMS;
    char *sname = mc_slice_dup(q->name);
    char **tg = dup_names(q->targets, q->ntargets);
    if (q->nkeys == 1 && q->type == MC_MSG_COPY_START)
        s = mc_master_copy_start(m, now, q->client, q->keys[0], sname, (const char *const *)tg, q->ntargets,
                                 &src.r[0], &tgt);
    else if (q->nkeys == 1 && q->ntargets == 1)
        s = mc_master_move_start(m, now, q->client, q->keys[0], sname, tg[0], &src.r[0], &tgt);
    src.n = s == MC_OK ? 1 : 0;
    /* the descriptors borrow master strings: encode before freeing ours */
    mc_store_replicas_reply_begin(out, req_id, false, s, s == MC_OK ? 2 : 0);
    if (s == MC_OK) {
        mc_store_replicas_reply_add(out, mc_slice(NULL, 0), MC_OK, &src);
        mc_store_replicas_reply_add(out, mc_slice(NULL, 0), MC_OK, &tgt);
    }
    mc_store_replicas_reply_finish(out);
    mc_rpc_reply(env, conn, out);
    free_names(tg, q->ntargets);
    mc_free(sname);
}

static mc_status_t finish_repl(mc_master_t *m, const mc_store_req_t *q, uint64_t now)
{
    if (q->nkeys != 1)
        return MC_INVALID_PARAMS;
    switch (q->type) {
    case MC_MSG_COPY_END: return mc_master_copy_end(m, now, q->client, q->keys[0]);
    case MC_MSG_COPY_REVOKE: return mc_master_copy_revoke(m, now, q->client, q->keys[0]);
    case MC_MSG_MOVE_END: return mc_master_move_end(m, now, q->client, q->keys[0]);
    default: return mc_master_move_revoke(m, now, q->client, q->keys[0]);
    }
}

static void handle_clear(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                         const mc_store_req_t *q, uint64_t now)
{
    bool *cleared = mc_calloc(q->nkeys ? q->nkeys : 1, sizeof *cleared);
    mc_store_val_t *v = mc_calloc(q->nkeys ? q->nkeys : 1, sizeof *v);
    char *seg = mc_slice_dup(q->name);
    mc_master_batch_replica_clear(m, now, q->keys, q->nkeys, q->client, seg, cleared);
    for (uint32_t i = 0; i < q->nkeys; i++)
        v[i].value = cleared[i];
    mc_store_values_reply_t rep = {.status = MC_OK, .n = q->nkeys, .v = v};
    mc_store_values_reply_encode(out, req_id, &rep);
    mc_rpc_reply(env, conn, out);
    mc_free(seg);
    mc_free(v);
    mc_free(cleared);
}

bool mc_store_master_handle_tasks(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                                  const mc_store_req_t *q, uint64_t now)
{
    switch (q->type) {
    case MC_MSG_GRACEFUL_UNMOUNT_SEGMENT:
        reply_status(env, out, conn, req_id,
                     mc_master_graceful_unmount_segment(m, now, q->seg_id, q->client, q->arg));
        return true;
    case MC_MSG_BATCH_REPLICA_CLEAR:
        handle_clear(env, m, out, conn, req_id, q, now);
        return true;
    case MC_MSG_CREATE_COPY_TASK:
    case MC_MSG_CREATE_MOVE_TASK:
        handle_create(env, m, out, conn, req_id, q, now);
        return true;
    case MC_MSG_QUERY_TASK: {
        mc_task_info_t t;
        mc_status_t s = mc_master_query_task(m, q->task_id, &t);
        reply_task(env, out, conn, req_id, s, &t);
        return true;
    }
    case MC_MSG_FETCH_TASKS:
        handle_fetch(env, m, out, conn, req_id, q, now);
        return true;
    case MC_MSG_MARK_TASK_COMPLETE: {
        char *msg = mc_slice_dup(q->message);
        mc_status_t s = mc_master_mark_task_complete(m, now, q->client, q->task_id, q->task_status, msg);
        mc_free(msg);
        reply_status(env, out, conn, req_id, s);
        return true;
    }
    case MC_MSG_COPY_START:
    case MC_MSG_MOVE_START:
        handle_start(env, m, out, conn, req_id, q, now);
        return true;
    case MC_MSG_COPY_END:
    case MC_MSG_COPY_REVOKE:
    case MC_MSG_MOVE_END:
    case MC_MSG_MOVE_REVOKE:
        reply_status(env, out, conn, req_id, finish_repl(m, q, now));
        return true;
    default:
        return false;
    }
}
