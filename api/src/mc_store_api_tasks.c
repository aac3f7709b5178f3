/* Copy/move tasks, query_task and batch_replica_clear; and mc_api_call,
 * the generic "run one store-client call on the loop and wait". */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"
#include "wire/mc_msg_store.h"

/* ---- mc_api_call ---- */

static void call_start(void *arg)
{
    mc_api_call_t *call = arg;
    call->start(call, &call->s->sc);
}

void mc_api_call_done(void *arg, const mc_sc_result_t *r)
{
    mc_api_call_t *call = arg;
    call->status = r->status;
    if (call->finish)
        call->finish(call, r);
    pthread_mutex_lock(&call->mu);
    call->done = true;
    pthread_cond_broadcast(&call->cv);
    pthread_mutex_unlock(&call->mu);
}

mc_status_t mc_api_call_run(mooncake_store_t *s, mc_api_call_t *call)
{
    if (!mc_api_usable(s))
        return MC_INVALID_PARAMS;
    if (s->dummy)
        return MC_INTERNAL_ERROR; /* setup_dummy: no local store client (upstream: -1) */
    call->s = s;
    call->done = false;
    pthread_mutex_init(&call->mu, NULL);
    pthread_cond_init(&call->cv, NULL);
    if (mc_loop_post(s->loop, call_start, call) != 0) {
        call->status = MC_RPC_FAIL;
    } else {
        pthread_mutex_lock(&call->mu);
        while (!call->done)
            pthread_cond_wait(&call->cv, &call->mu);
        pthread_mutex_unlock(&call->mu);
    }
    pthread_cond_destroy(&call->cv);
    pthread_mutex_destroy(&call->mu);
    return call->status;
}

/* ---- tasks ---- */

typedef struct task_args {
    const void *key;
    size_t klen;
    const char *const *targets;
    size_t ntargets;
    const char *source, *target;
    mooncake_uuid_t id;
    mooncake_task_info_t *info;
} task_args_t;

static void take_uuid(mc_api_call_t *call, const mc_sc_result_t *r)
{
    task_args_t *a = call->arg;
    if (r->status == MC_OK)
        a->id = (mooncake_uuid_t){r->uuid.hi, r->uuid.lo};
}

static void start_copy(mc_api_call_t *call, mc_store_client_t *c)
{
    task_args_t *a = call->arg;
    mc_sc_create_copy_task(c, mc_slice(a->key, a->klen), a->targets, (uint32_t)a->ntargets, mc_api_call_done, call);
}

static void start_move(mc_api_call_t *call, mc_store_client_t *c)
{
    task_args_t *a = call->arg;
    mc_sc_create_move_task(c, mc_slice(a->key, a->klen), a->source, a->target, mc_api_call_done, call);
}

int mooncake_store_create_copy_task(mooncake_store_t *s, const void *key, size_t klen, const char *const *targets,
                                    size_t ntargets, mooncake_uuid_t *task)
{
    if (task)
        *task = (mooncake_uuid_t){0, 0};
    if (mc_api_check_key(key, klen) != MC_OK || !ntargets || !targets || ntargets > MC_MSG_STORE_MAX_TARGETS)
        return MC_INVALID_PARAMS;
    for (size_t i = 0; i < ntargets; i++)
        if (!targets[i] || !targets[i][0])
            return MC_INVALID_PARAMS;
    if (mc_api_usable(s) && s->dummy) /* setup_dummy: the real client runs it */
        return mc_api_dummy_copy_task(s, key, klen, targets, ntargets, task);
    task_args_t a = {.key = key, .klen = klen, .targets = targets, .ntargets = ntargets};
    mc_api_call_t call = {.start = start_copy, .finish = take_uuid, .arg = &a};
    mc_status_t st = mc_api_call_run(s, &call);
    if (st == MC_OK && task)
        *task = a.id;
    return st;
}

int mooncake_store_create_move_task(mooncake_store_t *s, const void *key, size_t klen, const char *source,
                                    const char *target, mooncake_uuid_t *task)
{
    if (task)
        *task = (mooncake_uuid_t){0, 0};
    if (mc_api_check_key(key, klen) != MC_OK || !source || !target || !source[0] || !target[0])
        return MC_INVALID_PARAMS;
    if (mc_api_usable(s) && s->dummy)
        return mc_api_dummy_move_task(s, key, klen, source, target, task);
    task_args_t a = {.key = key, .klen = klen, .source = source, .target = target};
    mc_api_call_t call = {.start = start_move, .finish = take_uuid, .arg = &a};
    mc_status_t st = mc_api_call_run(s, &call);
    if (st == MC_OK && task)
        *task = a.id;
    return st;
}

static void start_query(mc_api_call_t *call, mc_store_client_t *c)
{
    task_args_t *a = call->arg;
    mc_sc_query_task(c, (mc_uuid_t){a->id.hi, a->id.lo}, mc_api_call_done, call);
}

static void take_info(mc_api_call_t *call, const mc_sc_result_t *r)
{
    task_args_t *a = call->arg;
    if (r->status != MC_OK || !r->task)
        return;
    mooncake_task_info_t *o = a->info;
    o->id = (mooncake_uuid_t){r->task->id.hi, r->task->id.lo};
    o->type = r->task->type;
    o->status = r->task->status;
    o->created_at_ms = r->task->created_ms;
    o->last_updated_at_ms = r->task->updated_ms;
    o->assigned_client = (mooncake_uuid_t){r->task->assigned_client.hi, r->task->assigned_client.lo};
    memcpy(o->message, r->task->message, sizeof o->message);
}

int mooncake_store_query_task(mooncake_store_t *s, mooncake_uuid_t task, mooncake_task_info_t *out)
{
    if (!out)
        return MC_INVALID_PARAMS;
    memset(out, 0, sizeof *out);
    if (mc_api_usable(s) && s->dummy)
        return mc_api_dummy_query_task(s, task, out);
    task_args_t a = {.id = task, .info = out};
    mc_api_call_t call = {.start = start_query, .finish = take_info, .arg = &a};
    return mc_api_call_run(s, &call);
}

/* ---- batch_replica_clear ---- */

typedef struct clear_args {
    mc_slice_t *keys;
    size_t n;
    const char *segment;
    bool *cleared;
    int count;
} clear_args_t;

static void start_clear(mc_api_call_t *call, mc_store_client_t *c)
{
    clear_args_t *a = call->arg;
    mc_sc_batch_replica_clear(c, a->keys, (uint32_t)a->n, a->segment, mc_api_call_done, call);
}

static void take_flags(mc_api_call_t *call, const mc_sc_result_t *r)
{
    clear_args_t *a = call->arg;
    for (uint32_t i = 0; r->status == MC_OK && i < r->nflags && i < a->n; i++) {
        a->cleared[i] = r->flags[i];
        a->count += r->flags[i];
    }
}

int mooncake_store_batch_replica_clear(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                       const char *segment, bool *cleared)
{
    if (n && (!keys || !klens || !cleared))
        return MC_INVALID_PARAMS;
    for (size_t i = 0; i < n; i++)
        cleared[i] = false;
    if (!mc_api_usable(s))
        return MC_INVALID_PARAMS;
    if (!n)
        return 0;
    /* empty or oversize keys are skipped by the master; an oversize key
     * would not even encode, so it is dropped here (not cleared) */
    clear_args_t a = {.keys = mc_calloc(n, sizeof *a.keys), .n = n, .segment = segment, .cleared = cleared};
    for (size_t i = 0; i < n; i++)
        a.keys[i] = (keys[i] && klens[i] <= MC_WIRE_MAX_KEY) ? mc_slice(keys[i], klens[i]) : mc_slice(NULL, 0);
    mc_api_call_t call = {.start = start_clear, .finish = take_flags, .arg = &a};
    mc_status_t st = mc_api_call_run(s, &call);
    mc_free(a.keys);
    return st == MC_OK ? a.count : st;
}
