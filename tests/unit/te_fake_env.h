/* A small fake world for transfer-engine unit tests: several nodes share
 * one virtual clock and one event heap; the test advances time by hand.
 *
 *  - timers: env timers are events on the heap (cancellable);
 *  - xfer_post: completes after fw->xfer_latency with real byte copies
 *    between the nodes' (same-process) memories, or per a scripted fault
 *    plan per local path: fail, withhold the completion, reject as out
 *    of range; plus "fail the next N ops on this path";
 *  - messages: conn_open to another node's addr delivers on_conn_up, the
 *    peer sees on_conn_accept, frames arrive after msg_latency, in order.
 *
 * Header-only (static functions) because the unit glob builds only
 * tests/unit/test_*.c; include it from one test file. */
#ifndef TE_FAKE_ENV_H
#define TE_FAKE_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_heap.h"
#include "base/mc_map.h"
#include "base/mc_mem.h"
#include "env/mc_env.h"
#include "te/mc_te.h"
#include "wire/mc_wire.h"

enum fw_mode { FW_OK = 0, FW_FAIL, FW_DROP, FW_INVALID };
enum fw_ev_kind { FW_EV_TIMER, FW_EV_XFER, FW_EV_UP, FW_EV_ACCEPT, FW_EV_MSG, FW_EV_DOWN };

/* Not every test uses every helper. */
#define FW_FN static __attribute__((unused))

#define FW_MAX_NODES 8
#define FW_MAX_REGS 64

typedef struct fw fw_t;
typedef struct fw_node fw_node_t;

typedef struct fw_ev {
    mc_heap_item_t item;
    int kind;
    fw_node_t *node;
    uint64_t handle;
    mc_timer_fn fn;
    void *arg;
    mc_xfer_op_t op;
    char peer[64];
    mc_status_t st;
    mc_conn_t conn;
    uint8_t *frame;
    size_t len;
} fw_ev_t;

struct fw_node {
    fw_t *w;
    mc_env_t env;
    char name[32];
    char addr[64];
    mc_te_t *te;
    int mode[256];
    uint32_t fail_next[256];
    uint64_t posted_on[256];
    struct { uint64_t addr, len; } regs[FW_MAX_REGS];
    int nregs;
    fw_ev_t *withheld[4096];
    size_t nwithheld;
    uint64_t xfer_done_calls;
    bool dead; /* its memory is unreachable: ops to it fail */
    /* Optional: sees every frame first; returning true consumes it. */
    bool (*frame_hook)(fw_node_t *n, mc_conn_t c, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);
    void *hook_arg;
};

typedef struct fw_conn {
    uint64_t id;
    fw_node_t *node;
    uint64_t peer_id;
    bool closed;
} fw_conn_t;

struct fw {
    uint64_t now;
    mc_heap_t heap;
    fw_node_t *nodes[FW_MAX_NODES];
    int nnodes;
    uint64_t next_handle;
    mc_map_t timers; /* handle -> fw_ev_t* */
    mc_map_t conns;  /* id -> fw_conn_t* */
    uint64_t xfer_latency;
    uint64_t msg_latency;
    int log_echo;
    char *traces; /* "node event fields\n" lines, for tests to search */
    size_t traces_len;
    size_t traces_cap;
};

FW_FN void fw_push(fw_t *w, fw_ev_t *ev, uint64_t delay)
{
    mc_heap_push(&w->heap, &ev->item, w->now + delay, ev);
}

/* ---- env ops ---- */
FW_FN fw_node_t *fw_node_of(mc_env_t *env) { return env->impl; }
FW_FN uint64_t fw_now(mc_env_t *env) { return fw_node_of(env)->w->now; }

FW_FN mc_timer_t fw_timer_arm(mc_env_t *env, uint64_t delay, mc_timer_fn fn, void *arg)
{
    fw_node_t *n = fw_node_of(env);
    fw_ev_t *ev = calloc(1, sizeof *ev);
    ev->kind = FW_EV_TIMER;
    ev->node = n;
    ev->fn = fn;
    ev->arg = arg;
    ev->handle = ++n->w->next_handle;
    mc_map_putu(&n->w->timers, ev->handle, ev);
    fw_push(n->w, ev, delay);
    return ev->handle;
}

FW_FN void fw_timer_cancel(mc_env_t *env, mc_timer_t t)
{
    fw_t *w = fw_node_of(env)->w;
    fw_ev_t *ev = mc_map_delu(&w->timers, t);
    if (!ev)
        return;
    mc_heap_remove(&w->heap, &ev->item);
    free(ev);
}

FW_FN fw_node_t *fw_find(fw_t *w, const char *addr)
{
    for (int i = 0; i < w->nnodes; i++)
        if (strcmp(w->nodes[i]->addr, addr) == 0)
            return w->nodes[i];
    return NULL;
}

FW_FN mc_status_t fw_listen(mc_env_t *env, const char *addr) { return MC_OK; }

FW_FN fw_conn_t *fw_conn_new(fw_t *w, fw_node_t *n)
{
    fw_conn_t *c = calloc(1, sizeof *c);
    c->id = ++w->next_handle;
    c->node = n;
    mc_map_putu(&w->conns, c->id, c);
    return c;
}

FW_FN mc_status_t fw_conn_open(mc_env_t *env, const char *addr, mc_conn_t *out)
{
    fw_node_t *n = fw_node_of(env);
    fw_t *w = n->w;
    fw_node_t *peer = fw_find(w, addr);
    if (!peer || !addr[0])
        return MC_RPC_FAIL;
    fw_conn_t *a = fw_conn_new(w, n), *b = fw_conn_new(w, peer);
    a->peer_id = b->id;
    b->peer_id = a->id;
    *out = a->id;
    fw_ev_t *ev = calloc(1, sizeof *ev);
    ev->kind = peer->dead ? FW_EV_DOWN : FW_EV_UP;
    ev->node = n;
    ev->conn = a->id;
    fw_push(w, ev, w->msg_latency);
    if (!peer->dead) {
        ev = calloc(1, sizeof *ev);
        ev->kind = FW_EV_ACCEPT;
        ev->node = peer;
        ev->conn = b->id;
        fw_push(w, ev, w->msg_latency);
    }
    return MC_OK;
}

FW_FN mc_status_t fw_conn_send(mc_env_t *env, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    fw_t *w = fw_node_of(env)->w;
    fw_conn_t *c = mc_map_getu(&w->conns, conn);
    if (!c || c->closed)
        return MC_RPC_FAIL;
    fw_conn_t *p = mc_map_getu(&w->conns, c->peer_id);
    if (!p || p->closed || p->node->dead)
        return MC_OK; /* lost in flight */
    fw_ev_t *ev = calloc(1, sizeof *ev);
    ev->kind = FW_EV_MSG;
    ev->node = p->node;
    ev->conn = p->id;
    ev->frame = malloc(len);
    memcpy(ev->frame, frame, len);
    ev->len = len;
    fw_push(w, ev, w->msg_latency);
    return MC_OK;
}

FW_FN void fw_conn_close(mc_env_t *env, mc_conn_t conn)
{
    fw_conn_t *c = mc_map_getu(&fw_node_of(env)->w->conns, conn);
    if (c)
        c->closed = true;
}

FW_FN mc_status_t fw_mem_register(mc_env_t *env, void *addr, size_t len, uint32_t *key)
{
    static uint32_t fw_key_seq;
    fw_node_t *n = fw_node_of(env);
    if (n->nregs >= FW_MAX_REGS)
        return MC_INTERNAL_ERROR;
    if (key)
        *key = 0x1000u + ++fw_key_seq;
    n->regs[n->nregs].addr = (uint64_t)(uintptr_t)addr;
    n->regs[n->nregs].len = len;
    n->nregs++;
    return MC_OK;
}

FW_FN mc_status_t fw_mem_unregister(mc_env_t *env, void *addr)
{
    fw_node_t *n = fw_node_of(env);
    for (int i = 0; i < n->nregs; i++)
        if (n->regs[i].addr == (uint64_t)(uintptr_t)addr) {
            n->regs[i] = n->regs[--n->nregs];
            return MC_OK;
        }
    return MC_INVALID_PARAMS;
}

FW_FN bool fw_in_regs(fw_node_t *n, uint64_t a, uint64_t len)
{
    for (int i = 0; i < n->nregs; i++)
        if (a >= n->regs[i].addr && a + len <= n->regs[i].addr + n->regs[i].len)
            return true;
    return false;
}

FW_FN mc_status_t fw_xfer_post(mc_env_t *env, const mc_xfer_op_t *ops, size_t nops)
{
    fw_node_t *n = fw_node_of(env);
    for (size_t i = 0; i < nops; i++) {
        fw_ev_t *ev = calloc(1, sizeof *ev);
        ev->kind = FW_EV_XFER;
        ev->node = n;
        ev->op = ops[i];
        snprintf(ev->peer, sizeof ev->peer, "%s", ops[i].peer);
        ev->op.peer = ev->peer;
        n->posted_on[ops[i].path]++;
        int mode = n->mode[ops[i].path];
        if (n->fail_next[ops[i].path]) {
            n->fail_next[ops[i].path]--;
            mode = FW_FAIL;
        }
        fw_node_t *peer = fw_find(n->w, ops[i].peer);
        ev->st = MC_OK;
        if (mode == FW_FAIL || !peer || peer->dead)
            ev->st = MC_TRANSFER_FAIL;
        else if (mode == FW_INVALID || !fw_in_regs(peer, ops[i].remote_addr, ops[i].len) ||
                 !fw_in_regs(n, (uint64_t)(uintptr_t)ops[i].local, ops[i].len))
            ev->st = MC_INVALID_PARAMS;
        if (mode == FW_DROP) {
            n->withheld[n->nwithheld++] = ev;
            continue;
        }
        fw_push(n->w, ev, n->w->xfer_latency);
    }
    return MC_OK;
}

FW_FN uint64_t fw_rand(mc_env_t *env) { return 42; }

FW_FN void fw_log(mc_env_t *env, int level, const char *component, const char *msg)
{
    if (fw_node_of(env)->w->log_echo)
        fprintf(stderr, "[%s] %s: %s\n", env->node_name, component, msg);
}

FW_FN void fw_trace(mc_env_t *env, const char *event, const char *fields)
{
    fw_t *w = fw_node_of(env)->w;
    size_t add = strlen(env->node_name) + strlen(event) + strlen(fields) + 3;
    if (w->traces_len + add + 1 > w->traces_cap) {
        w->traces_cap = (w->traces_len + add + 1) * 2;
        w->traces = realloc(w->traces, w->traces_cap);
    }
    snprintf(w->traces + w->traces_len, add + 1, "%s %s %s\n", env->node_name, event, fields);
    w->traces_len += add;
    if (fw_node_of(env)->w->log_echo > 1)
        fprintf(stderr, "@trace %s %s %s\n", env->node_name, event, fields);
}

static const mc_env_ops_t fw_ops = {
    .now_ns = fw_now,
    .timer_arm = fw_timer_arm,
    .timer_cancel = fw_timer_cancel,
    .listen = fw_listen,
    .conn_open = fw_conn_open,
    .conn_send = fw_conn_send,
    .conn_close = fw_conn_close,
    .mem_register = fw_mem_register,
    .mem_unregister = fw_mem_unregister,
    .xfer_post = fw_xfer_post,
    .rand_u64 = fw_rand,
    .log = fw_log,
    .trace = fw_trace,
};

/* ---- node handlers: route everything to the node's TE ---- */
FW_FN void fw_h_up(void *node, mc_conn_t c)
{
    if (((fw_node_t *)node)->te)
        mc_te_on_conn_up(((fw_node_t *)node)->te, c);
}
FW_FN void fw_h_accept(void *node, mc_conn_t c, const char *peer) {}
FW_FN void fw_h_down(void *node, mc_conn_t c, mc_status_t why)
{
    if (((fw_node_t *)node)->te)
        mc_te_on_conn_down(((fw_node_t *)node)->te, c, why);
}
FW_FN void fw_h_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    mc_wire_hdr_t hdr;
    mc_rbuf_t r;
    const char *why;
    fw_node_t *n = node;
    if (mc_wire_open(frame, len, &hdr, &r, &why) != MC_OK)
        return;
    if (n->frame_hook && n->frame_hook(n, c, &hdr, &r))
        return;
    if (n->te)
        mc_te_on_frame(n->te, c, &hdr, &r);
}
FW_FN void fw_h_xfer(void *node, uint64_t tag, mc_status_t st)
{
    fw_node_t *n = node;
    n->xfer_done_calls++;
    if (n->te)
        mc_te_on_xfer_done(n->te, tag, st);
}

static const mc_env_handlers_t fw_handlers = {
    .on_conn_up = fw_h_up,
    .on_conn_accept = fw_h_accept,
    .on_conn_down = fw_h_down,
    .on_msg = fw_h_msg,
    .on_xfer_done = fw_h_xfer,
};

/* ---- world ---- */
FW_FN fw_t *fw_new(void)
{
    fw_t *w = calloc(1, sizeof *w);
    mc_heap_init(&w->heap);
    mc_map_init(&w->timers);
    mc_map_init(&w->conns);
    w->now = 1000000000ULL; /* t = 1 s */
    w->xfer_latency = 10000;
    w->msg_latency = 5000;
    w->log_echo = getenv("TE_TEST_LOG") ? atoi(getenv("TE_TEST_LOG")) : 0;
    return w;
}

FW_FN fw_node_t *fw_add_node(fw_t *w, const char *name)
{
    fw_node_t *n = calloc(1, sizeof *n);
    n->w = w;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->addr, sizeof n->addr, "%s:15000", name);
    n->env.ops = &fw_ops;
    n->env.impl = n;
    n->env.node_name = n->name;
    n->env.log_level = MC_LOG_TRACE;
    mc_env_bind(&n->env, &fw_handlers, n);
    w->nodes[w->nnodes++] = n;
    return n;
}

FW_FN void fw_deliver(fw_t *w, fw_ev_t *ev)
{
    fw_node_t *n = ev->node;
    switch (ev->kind) {
    case FW_EV_TIMER:
        mc_map_delu(&w->timers, ev->handle);
        ev->fn(ev->arg);
        break;
    case FW_EV_XFER:
        if (ev->st == MC_OK && ev->op.len) {
            void *remote = (void *)(uintptr_t)ev->op.remote_addr;
            if (ev->op.opcode == MC_XFER_WRITE)
                memmove(remote, ev->op.local, ev->op.len);
            else
                memmove(ev->op.local, remote, ev->op.len);
        }
        n->env.h->on_xfer_done(n->env.node, ev->op.tag, ev->st);
        break;
    case FW_EV_UP: n->env.h->on_conn_up(n->env.node, ev->conn); break;
    case FW_EV_DOWN: n->env.h->on_conn_down(n->env.node, ev->conn, MC_RPC_FAIL); break;
    case FW_EV_ACCEPT: n->env.h->on_conn_accept(n->env.node, ev->conn, ""); break;
    case FW_EV_MSG: {
        fw_conn_t *c = mc_map_getu(&w->conns, ev->conn);
        if (c && !c->closed && !n->dead)
            n->env.h->on_msg(n->env.node, ev->conn, ev->frame, ev->len);
        free(ev->frame);
        break;
    }
    }
    free(ev);
}

/* Run every event due within the next dt ns (inclusive), then set the clock. */
FW_FN void fw_advance(fw_t *w, uint64_t dt)
{
    uint64_t end = w->now + dt;
    for (;;) {
        mc_heap_item_t *it = mc_heap_peek(&w->heap);
        if (!it || it->key > end)
            break;
        mc_heap_pop(&w->heap);
        w->now = it->key;
        fw_deliver(w, it->value);
    }
    w->now = end;
}

/* Run until the heap is empty or limit ns of virtual time passed. */
FW_FN void fw_run(fw_t *w, uint64_t limit)
{
    uint64_t end = w->now + limit;
    for (;;) {
        mc_heap_item_t *it = mc_heap_peek(&w->heap);
        if (!it || it->key > end)
            break;
        mc_heap_pop(&w->heap);
        w->now = it->key;
        fw_deliver(w, it->value);
    }
}

/* Number of trace lines containing every one of the given substrings. */
FW_FN int fw_count(fw_t *w, const char *a, const char *b, const char *c)
{
    int n = 0;
    const char *p = w->traces;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, len);
        if (strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c)))
            n++;
        free(line);
        p += len + (e ? 1 : 0);
    }
    return n;
}

/* Release withheld completions of a node with status st (copying if OK). */
FW_FN size_t fw_release(fw_t *w, fw_node_t *n, mc_status_t st)
{
    size_t k = n->nwithheld;
    for (size_t i = 0; i < k; i++) {
        fw_ev_t *ev = n->withheld[i];
        ev->st = st;
        fw_push(w, ev, w->xfer_latency);
    }
    n->nwithheld = 0;
    return k;
}

FW_FN void fw_free(fw_t *w)
{
    mc_heap_item_t *it;
    while ((it = mc_heap_pop(&w->heap))) {
        fw_ev_t *ev = it->value;
        free(ev->frame);
        free(ev);
    }
    mc_heap_free(&w->heap);
    mc_map_free(&w->timers);
    uint32_t i = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&w->conns, &i, &e))
        free(e->value);
    mc_map_free(&w->conns);
    for (int k = 0; k < w->nnodes; k++) {
        for (size_t j = 0; j < w->nodes[k]->nwithheld; j++)
            free(w->nodes[k]->withheld[j]);
        free(w->nodes[k]);
    }
    free(w->traces);
    free(w);
}

#endif
