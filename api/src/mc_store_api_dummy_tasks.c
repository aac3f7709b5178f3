/* A dummy's copy/move tasks and task queries: forwarded as one op each
 * (spec store.md §7.3, plain forwarding); the real client's codes. */
#include <string.h>

#include "mc_store_api_int.h"

static int run_one(mooncake_store_t *s, mc_dummy_op_t *op, mc_dummy_result_t *out, char *msg, size_t msgcap)
{
    mc_api_dummy_t *d = s->dummy;
    mc_dummy_msg_t req = {.type = MC_MSG_DUMMY_OPS, .nops = 1, .ops = op}, reply;
    pthread_mutex_lock(&d->mu);
    mc_status_t st = mc_api_dummy_exchange(d, &req, MC_MSG_DUMMY_OPS_REPLY, &reply);
    if (st == MC_OK) {
        if (reply.nresults != 1) {
            st = MC_RPC_FAIL;
        } else {
            *out = reply.results[0];
            st = out->status;
            if (msg)
                snprintf(msg, msgcap, "%.*s", (int)out->message.len, (const char *)out->message.p);
            out->message = (mc_slice_t){0};
        }
        mc_dummy_msg_free(&reply);
    }
    pthread_mutex_unlock(&d->mu);
    return st;
}

int mc_api_dummy_copy_task(mooncake_store_t *s, const void *key, size_t klen, const char *const *targets,
                           size_t ntargets, mooncake_uuid_t *task)
{
    mc_slice_t t[MC_DUMMY_MAX_TARGETS];
    if (ntargets > MC_DUMMY_MAX_TARGETS)
        return MC_INVALID_PARAMS;
    for (size_t i = 0; i < ntargets; i++)
        t[i] = mc_slice_cstr(targets[i]);
    mc_dummy_op_t op = {.kind = MC_DUMMY_OP_COPY_TASK, .key = mc_slice(key, klen), .ntargets = (uint32_t)ntargets,
                        .targets = t};
    mc_dummy_result_t r;
    int st = run_one(s, &op, &r, NULL, 0);
    if (st == MC_OK && task)
        *task = (mooncake_uuid_t){r.task.hi, r.task.lo};
    return st;
}

int mc_api_dummy_move_task(mooncake_store_t *s, const void *key, size_t klen, const char *source,
                           const char *target, mooncake_uuid_t *task)
{
    mc_dummy_op_t op = {.kind = MC_DUMMY_OP_MOVE_TASK, .key = mc_slice(key, klen), .source = mc_slice_cstr(source),
                        .target = mc_slice_cstr(target)};
    mc_dummy_result_t r;
    int st = run_one(s, &op, &r, NULL, 0);
    if (st == MC_OK && task)
        *task = (mooncake_uuid_t){r.task.hi, r.task.lo};
    return st;
}

int mc_api_dummy_query_task(mooncake_store_t *s, mooncake_uuid_t task, mooncake_task_info_t *out)
{
    mc_dummy_op_t op = {.kind = MC_DUMMY_OP_QUERY_TASK, .task = {task.hi, task.lo}};
    mc_dummy_result_t r;
    int st = run_one(s, &op, &r, out->message, sizeof out->message);
    if (st != MC_OK) {
        out->message[0] = '\0';
        return st;
    }
    if (r.extra != MC_DUMMY_EXTRA_TASK_INFO)
        return MC_RPC_FAIL;
    out->id = (mooncake_uuid_t){r.task.hi, r.task.lo};
    out->type = r.task_type;
    out->status = r.task_status;
    out->created_at_ms = r.created_at_ms;
    out->last_updated_at_ms = r.last_updated_at_ms;
    out->assigned_client = (mooncake_uuid_t){r.assigned_client.hi, r.assigned_client.lo};
    return MC_OK;
}
