/* Copy/move tasks (spec store.md §4.16-§4.17) on the client side:
 *
 *  - users create and query tasks (create_copy_task, create_move_task,
 *    query_task) and clear replicas (batch_replica_clear): one RPC each;
 *  - every client runs an executor: it polls the master for tasks
 *    assigned to it (the owner of the source segment), and runs each as
 *    Copy/MoveStart -> write the source bytes to the new target replicas
 *    through the transport -> Copy/MoveEnd (Revoke on failure) ->
 *    MarkTaskToComplete(SUCCESS | FAILED, message).
 *
 * Each step is an op of the client's op table, so destroy drops them
 * like any other op; the task records themselves are freed by
 * mc_sc_tasks_stop. */
#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"

#define DEFAULT_POLL_NS (500 * MC_NS_PER_MS)
#define MAX_RUNNING 4u

/* ---- user calls ---- */

static void on_task_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_task_reply_t rep;
    mc_sc_task_info_t info;
    memset(&info, 0, sizeof info);
    if (s == MC_OK && (hdr->type != MC_MSG_TASK_REPLY || mc_store_task_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    if (s == MC_OK) {
        info.id = rep.id;
        info.type = rep.type;
        info.status = rep.task_status;
        info.created_ms = rep.created_ms;
        info.updated_ms = rep.updated_ms;
        info.assigned_client = rep.assigned_client;
        mc_sc_copy_endpoint(info.message, rep.message);
        op->res.uuid = rep.id;
        op->res.task = &info;
    }
    mc_sc_op_finish(op, s);
}

static void send_create(mc_store_client_t *c, uint16_t type, mc_slice_t key, const char *source,
                        const char *const *targets, uint32_t n, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, key, done, arg);
    op->msg_type = type;
    if (n > MC_MSG_STORE_MAX_TARGETS || (n && !targets)) {
        mc_sc_op_finish(op, MC_INVALID_PARAMS);
        return;
    }
    mc_slice_t tg[MC_MSG_STORE_MAX_TARGETS];
    for (uint32_t i = 0; i < n; i++)
        tg[i] = mc_slice_cstr(targets[i] ? targets[i] : "");
    mc_store_req_t q = {.type = type, .name = mc_slice_cstr(source ? source : ""), .nkeys = 1, .keys = &key,
                        .ntargets = n, .targets = tg};
    mc_sc_rpc(op, &q, on_task_reply);
}

void mc_sc_create_copy_task(mc_store_client_t *c, mc_slice_t key, const char *const *targets, uint32_t n,
                            mc_sc_done_fn done, void *arg)
{
    send_create(c, MC_MSG_CREATE_COPY_TASK, key, NULL, targets, n, done, arg);
}

void mc_sc_create_move_task(mc_store_client_t *c, mc_slice_t key, const char *source, const char *target,
                            mc_sc_done_fn done, void *arg)
{
    const char *tg[1] = {target};
    send_create(c, MC_MSG_CREATE_MOVE_TASK, key, source, tg, 1, done, arg);
}

void mc_sc_query_task(mc_store_client_t *c, mc_uuid_t id, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    op->msg_type = MC_MSG_QUERY_TASK;
    mc_store_req_t q = {.type = MC_MSG_QUERY_TASK, .task_id = id};
    mc_sc_rpc(op, &q, on_task_reply);
}

static void on_clear_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    uint8_t *flags = NULL;
    if (s == MC_OK && rep.n != op->aux)
        s = MC_RPC_FAIL; /* one answer per key */
    if (s == MC_OK) {
        flags = mc_calloc(rep.n ? rep.n : 1, 1);
        for (uint32_t i = 0; i < rep.n; i++)
            flags[i] = rep.v[i].value != 0;
        op->res.flags = flags;
        op->res.nflags = rep.n;
    }
    mc_store_values_reply_free(&rep);
    mc_sc_op_finish(op, s);
    mc_free(flags);
}

void mc_sc_batch_replica_clear(mc_store_client_t *c, const mc_slice_t *keys, uint32_t n, const char *segment,
                               mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    op->msg_type = MC_MSG_BATCH_REPLICA_CLEAR;
    op->aux = n;
    mc_store_req_t q = {.type = MC_MSG_BATCH_REPLICA_CLEAR, .client = c->agent.id,
                        .name = mc_slice_cstr(segment ? segment : ""), .nkeys = n, .keys = (mc_slice_t *)keys};
    mc_sc_rpc(op, &q, on_clear_reply);
}

/* ---- executor ---- */

typedef struct mc_sc_task_run {
    mc_store_client_t *c;
    struct mc_sc_task_run *prev, *next;
    mc_uuid_t id;
    uint8_t type;
    char *key;
    size_t klen;
    char *source;
    char **targets;
    uint32_t ntargets;
    /* from Copy/MoveStart */
    uint64_t src_addr, len;
    uint32_t src_rkey;
    char src_ep[256];
    uint32_t ntgt;
    uint64_t tgt_addr[MC_STORE_MAX_REPLICAS];
    uint32_t tgt_rkey[MC_STORE_MAX_REPLICAS];
    char tgt_ep[MC_STORE_MAX_REPLICAS][256];
    mc_status_t fail; /* first failure; MC_OK while all went well */
} mc_sc_task_run_t;

static const char *type_name(uint8_t t) { return t == MC_TASK_REPLICA_MOVE ? "move" : "copy"; }

static void run_free(mc_sc_task_run_t *t)
{
    mc_store_client_t *c = t->c;
    if (t->prev)
        t->prev->next = t->next;
    else
        c->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    MC_ASSERT(c->tasks_running > 0);
    c->tasks_running--;
    for (uint32_t i = 0; i < t->ntargets; i++)
        mc_free(t->targets[i]);
    mc_free(t->targets);
    mc_free(t->source);
    mc_free(t->key);
    mc_free(t);
}

static void after_mark(void *arg, const mc_sc_result_t *r)
{
    mc_sc_task_run_t *t = arg;
    if (r->status != MC_OK)
        mc_env_logf(t->c->env, MC_LOG_WARN, "client", "mark task complete failed: %s", mc_status_name(r->status));
    run_free(t);
}

static void on_values_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    mc_store_values_reply_free(&rep);
    mc_sc_op_finish(op, s);
}

static void task_mark(mc_sc_task_run_t *t)
{
    mc_store_client_t *c = t->c;
    char msg[128];
    uint8_t st = t->fail == MC_OK ? MC_TASK_SUCCESS : MC_TASK_FAILED;
    snprintf(msg, sizeof msg, "%s", t->fail == MC_OK ? "" : mc_status_name(t->fail));
    mc_env_tracef(c->env, "client.task_end", "type=%s key=%.*s status=%s", type_name(t->type), (int)t->klen, t->key,
                  t->fail == MC_OK ? "SUCCESS" : mc_status_name(t->fail));
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), after_mark, t);
    op->msg_type = MC_MSG_MARK_TASK_COMPLETE;
    mc_store_req_t q = {.type = MC_MSG_MARK_TASK_COMPLETE, .client = c->agent.id, .task_id = t->id,
                        .task_status = st, .message = mc_slice_cstr(msg)};
    mc_sc_rpc(op, &q, on_values_reply);
}

static void after_end(void *arg, const mc_sc_result_t *r)
{
    mc_sc_task_run_t *t = arg;
    if (t->fail == MC_OK && r->status != MC_OK)
        t->fail = r->status;
    task_mark(t);
}

/* Copy/MoveEnd when every write succeeded, else Copy/MoveRevoke. */
static void task_end(mc_sc_task_run_t *t)
{
    mc_store_client_t *c = t->c;
    bool move = t->type == MC_TASK_REPLICA_MOVE, ok = t->fail == MC_OK;
    uint16_t type = ok ? (move ? MC_MSG_MOVE_END : MC_MSG_COPY_END) : (move ? MC_MSG_MOVE_REVOKE : MC_MSG_COPY_REVOKE);
    mc_slice_t key = mc_slice(t->key, t->klen);
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, key, after_end, t);
    op->msg_type = type;
    mc_store_req_t q = {.type = type, .client = c->agent.id, .nkeys = 1, .keys = &key};
    mc_sc_rpc(op, &q, on_values_reply);
}

static void after_write(void *arg, const mc_sc_result_t *r)
{
    mc_sc_task_run_t *t = arg;
    if (r->status != MC_OK)
        t->fail = r->status;
    task_end(t);
}

/* The source replica lives in our own memory (the master assigns a task
 * to the source's owner): its bytes go straight to every target. */
static void task_write(mc_sc_task_run_t *t)
{
    mc_store_client_t *c = t->c;
    if (strcmp(t->src_ep, c->endpoint) != 0 ||
        mc_sc_local_range_check(c, t->src_addr, t->len, t->src_rkey) != MC_OK) {
        mc_env_logf(c->env, MC_LOG_WARN, "client", "task source replica is not in this client's memory");
        t->fail = MC_INVALID_PARAMS;
        task_end(t);
        return;
    }
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_XFER, mc_slice(t->key, t->klen), after_write, t);
    op->data = mc_memdup((const void *)(uintptr_t)t->src_addr, t->len);
    op->len = t->len;
    for (uint32_t i = 0; i < t->ntgt; i++)
        mc_sc_xfer(op, MC_XFER_WRITE, t->tgt_ep[i], t->tgt_addr[i], t->tgt_rkey[i]);
}

static void after_start(void *arg, const mc_sc_result_t *r)
{
    mc_sc_task_run_t *t = arg;
    if (r->status != MC_OK) {
        t->fail = r->status; /* nothing started: no end/revoke */
        task_mark(t);
    } else if (t->ntgt == 0) {
        task_end(t); /* the target already holds a replica (move): End drops the source */
    } else {
        task_write(t);
    }
}

static void on_start_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_sc_task_run_t *t = op->arg;
    mc_store_replicas_reply_t rep;
    s = mc_sc_replicas_reply(s, hdr, body, 2, &rep);
    if (s == MC_OK && rep.l[0].n != 1)
        s = MC_RPC_FAIL;
    if (s == MC_OK) {
        t->src_addr = rep.l[0].r[0].buffer_address;
        t->src_rkey = rep.l[0].r[0].rkey;
        t->len = rep.l[0].r[0].size;
        mc_sc_copy_endpoint(t->src_ep, rep.l[0].endpoint[0]);
        t->ntgt = rep.l[1].n;
        for (uint32_t i = 0; i < t->ntgt; i++) {
            t->tgt_addr[i] = rep.l[1].r[i].buffer_address;
            t->tgt_rkey[i] = rep.l[1].r[i].rkey;
            mc_sc_copy_endpoint(t->tgt_ep[i], rep.l[1].endpoint[i]);
            if (rep.l[1].r[i].size != t->len)
                s = MC_RPC_FAIL;
        }
    }
    mc_store_replicas_reply_free(&rep);
    mc_sc_op_finish(op, s);
}

static void task_run(mc_store_client_t *c, const mc_store_task_assign_t *a)
{
    mc_sc_task_run_t *t = mc_calloc(1, sizeof *t);
    t->c = c;
    t->id = a->id;
    t->type = a->type;
    t->key = mc_memdup(a->key.p, a->key.len);
    t->klen = a->key.len;
    t->source = mc_slice_dup(a->source);
    t->ntargets = a->ntargets;
    t->targets = mc_calloc(a->ntargets ? a->ntargets : 1, sizeof *t->targets);
    for (uint32_t i = 0; i < a->ntargets; i++)
        t->targets[i] = mc_slice_dup(a->targets[i]);
    t->next = c->tasks;
    if (c->tasks)
        c->tasks->prev = t;
    c->tasks = t;
    c->tasks_running++;
    mc_env_tracef(c->env, "client.task_begin", "type=%s key=%.*s source=%s", type_name(t->type), (int)t->klen,
                  t->key, t->source);
    uint16_t type = t->type == MC_TASK_REPLICA_MOVE ? MC_MSG_MOVE_START : MC_MSG_COPY_START;
    mc_slice_t key = mc_slice(t->key, t->klen);
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, key, after_start, t);
    op->msg_type = type;
    mc_store_req_t q = {.type = type, .client = c->agent.id, .name = a->source, .nkeys = 1, .keys = &key,
                        .ntargets = a->ntargets, .targets = a->targets};
    mc_sc_rpc(op, &q, on_start_reply);
}

static void on_fetch_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_client_t *c = op->c;
    mc_store_tasks_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_TASKS_REPLY || mc_store_tasks_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    for (uint32_t i = 0; s == MC_OK && i < rep.n; i++)
        task_run(c, &rep.t[i]);
    mc_store_tasks_reply_free(&rep);
    mc_sc_op_finish(op, s);
}

static void after_fetch(void *arg, const mc_sc_result_t *r)
{
    mc_store_client_t *c = arg;
    (void)r;
    c->task_fetching = false;
}

static void on_poll(void *arg)
{
    mc_store_client_t *c = arg;
    uint64_t period = c->cfg.task_poll_ns ? c->cfg.task_poll_ns : DEFAULT_POLL_NS;
    c->task_timer = mc_env_timer(c->env, period, on_poll, c);
    if (!c->agent.registered || c->task_fetching || c->tasks_running >= MAX_RUNNING)
        return;
    c->task_fetching = true;
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), after_fetch, c);
    op->msg_type = MC_MSG_FETCH_TASKS;
    mc_store_req_t q = {.type = MC_MSG_FETCH_TASKS, .client = c->agent.id, .arg = MAX_RUNNING - c->tasks_running};
    mc_sc_rpc(op, &q, on_fetch_reply);
}

void mc_sc_tasks_start(mc_store_client_t *c)
{
    uint64_t period = c->cfg.task_poll_ns ? c->cfg.task_poll_ns : DEFAULT_POLL_NS;
    c->task_timer = mc_env_timer(c->env, period, on_poll, c);
}

void mc_sc_tasks_stop(mc_store_client_t *c)
{
    mc_env_timer_cancel(c->env, &c->task_timer);
    while (c->tasks)
        run_free(c->tasks);
    c->task_fetching = false;
}
