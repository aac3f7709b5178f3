/* The event queue: a pooled event allocator, the (time, seq) heap, pause
 * deferral and the run loop. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "sim_internal.h"

enum { WHERE_FREE = 0, WHERE_HEAP = 1, WHERE_DEFERRED = 2, WHERE_RUNNING = 3 };

/* Pool slots come from fixed-size chunks that never move, so the heap may
 * hold pointers to them and timer handles can name them by index. No
 * malloc per event once the pool is warm. */
sim_ev_t *sim_ev_get(mc_sim_t *s, uint32_t idx)
{
    if (idx >= s->nev)
        return NULL;
    return &s->chunks[idx / SIM_POOL_CHUNK][idx % SIM_POOL_CHUNK];
}

sim_ev_t *sim_ev_new(mc_sim_t *s, uint8_t kind, uint32_t node, uint32_t inc)
{
    sim_ev_t *ev;
    if (s->free_head) {
        ev = sim_ev_get(s, s->free_head - 1);
        s->free_head = ev->u.timer.arg ? (uint32_t)(uintptr_t)ev->u.timer.arg : 0;
    } else {
        if (s->nev == s->nchunks * SIM_POOL_CHUNK) {
            s->chunks = mc_realloc(s->chunks, (s->nchunks + 1) * sizeof *s->chunks);
            s->chunks[s->nchunks++] = mc_calloc(SIM_POOL_CHUNK, sizeof(sim_ev_t));
        }
        ev = &s->chunks[s->nev / SIM_POOL_CHUNK][s->nev % SIM_POOL_CHUNK];
        ev->idx = s->nev++;
        ev->gen = 1;
    }
    MC_ASSERT(ev->where == WHERE_FREE);
    ev->kind = kind;
    ev->node = node;
    ev->inc = inc;
    ev->side = 0;
    ev->len = 0;
    ev->status = 0;
    ev->buf = NULL;
    memset(&ev->u, 0, sizeof ev->u);
    mc_list_init(&ev->dlink);
    return ev;
}

void sim_ev_push(mc_sim_t *s, sim_ev_t *ev, uint64_t t_ns)
{
    MC_ASSERT(ev->where != WHERE_HEAP && ev->where != WHERE_DEFERRED);
    MC_ASSERT(t_ns >= s->now);
    ev->where = WHERE_HEAP;
    mc_heap_push(&s->heap, &ev->hi, t_ns, ev);
}

void sim_ev_release(mc_sim_t *s, sim_ev_t *ev)
{
    switch (ev->kind) {
    case SIM_EV_MSG:
        ev->u.conn->queued[ev->side ^ 1] -= ev->len;
        if (ev->buf != ev->inline_buf)
            mc_free(ev->buf);
        sim_conn_unref(s, ev->u.conn);
        break;
    case SIM_EV_SYN:
    case SIM_EV_CONN_UP:
    case SIM_EV_ACCEPT:
    case SIM_EV_CONN_DOWN:
        sim_conn_unref(s, ev->u.conn);
        break;
    case SIM_EV_XFER_EXEC:
    case SIM_EV_XFER_DONE:
        mc_free(ev->u.xfer);
        break;
    default:
        break;
    }
    ev->kind = SIM_EV_FREE;
    ev->where = WHERE_FREE;
    ev->gen++;
    ev->buf = NULL;
    /* Free list threads through u.timer.arg (index + 1). */
    ev->u.timer.arg = (void *)(uintptr_t)s->free_head;
    s->free_head = ev->idx + 1;
}

void sim_ev_cancel(mc_sim_t *s, sim_ev_t *ev)
{
    if (ev->where == WHERE_HEAP)
        mc_heap_remove(&s->heap, &ev->hi);
    else if (ev->where == WHERE_DEFERRED)
        mc_list_del(&ev->dlink);
    else
        return; /* running: it is firing right now; nothing to cancel */
    sim_ev_release(s, ev);
}

/* Resume (or crash) of a paused node: its deferred events run now, in the
 * order they were due, as a stalled process would see them on SIGCONT. */
void sim_undefer(mc_sim_t *s, sim_node_t *n)
{
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &n->deferred) {
        sim_ev_t *ev = mc_container_of(pos, sim_ev_t, dlink);
        mc_list_del(&ev->dlink);
        ev->where = WHERE_RUNNING; /* in neither queue for a moment */
        sim_ev_push(s, ev, s->now);
    }
}

void sim_ev_defer(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n)
{
    (void)s;
    MC_ASSERT(ev->where != WHERE_HEAP && ev->where != WHERE_DEFERRED);
    ev->where = WHERE_DEFERRED;
    mc_list_push_back(&n->deferred, &ev->dlink);
}

static bool node_targeted(uint8_t kind)
{
    switch (kind) {
    case SIM_EV_TIMER:
    case SIM_EV_SYN:
    case SIM_EV_CONN_UP:
    case SIM_EV_ACCEPT:
    case SIM_EV_CONN_DOWN:
    case SIM_EV_MSG:
    case SIM_EV_XFER_DONE:
    case SIM_EV_CMD:
        return true;
    default:
        return false;
    }
}

static void dispatch(mc_sim_t *s, sim_ev_t *ev)
{
    if (node_targeted(ev->kind)) {
        sim_node_t *n = sim_node(s, ev->node);
        if (ev->inc != SIM_ANY_INC && ev->inc != n->inc)
            return; /* addressed to an incarnation that no longer exists */
        /* A stalled process runs nothing; its kernel still answers SYNs
         * (sim_net's SYN handler queues the accept upcall for resume). */
        if (n->paused && n->state == SIM_NODE_UP && ev->kind != SIM_EV_SYN) {
            sim_ev_defer(s, ev, n);
            return;
        }
        s->events++;
        sim_hash_event(s, ev);
        sim_dispatch_node_ev(s, ev, n);
        return;
    }
    s->events++;
    sim_hash_event(s, ev);
    switch (ev->kind) {
    case SIM_EV_XFER_EXEC:
        sim_xfer_exec(s, ev);
        break;
    case SIM_EV_START:
        sim_node_start(s, sim_node(s, ev->node));
        break;
    case SIM_EV_FAULT:
        sim_fault_dispatch(s, ev);
        break;
    case SIM_EV_CALL:
        ev->u.call.fn(s, ev->u.call.arg);
        break;
    default:
        MC_UNREACHABLE();
    }
}

mc_status_t mc_sim_run(mc_sim_t *s, uint64_t until_ns)
{
    while (!s->failed) {
        mc_heap_item_t *it = mc_heap_peek(&s->heap);
        if (!it || it->key > until_ns)
            break;
        mc_heap_pop(&s->heap);
        sim_ev_t *ev = it->value;
        MC_ASSERT(it->key >= s->now);
        s->now = it->key;
        ev->where = WHERE_RUNNING;
        dispatch(s, ev);
        if (ev->where == WHERE_RUNNING)
            sim_ev_release(s, ev);
    }
    if (s->failed)
        return MC_INVALID_PARAMS;
    if (until_ns > s->now)
        s->now = until_ns;
    return MC_OK;
}

void sim_loop_free(mc_sim_t *s)
{
    mc_heap_item_t *it;
    while ((it = mc_heap_pop(&s->heap)) != NULL) {
        sim_ev_t *ev = it->value;
        ev->where = WHERE_RUNNING;
        sim_ev_release(s, ev);
    }
    for (uint32_t i = 0; i < s->nnodes; i++) {
        mc_list_t *pos, *tmp;
        mc_list_for_each_safe(pos, tmp, &s->nodes[i]->deferred) {
            sim_ev_t *ev = mc_container_of(pos, sim_ev_t, dlink);
            mc_list_del(&ev->dlink);
            ev->where = WHERE_RUNNING;
            sim_ev_release(s, ev);
        }
    }
    mc_heap_free(&s->heap);
    for (uint32_t i = 0; i < s->nchunks; i++)
        mc_free(s->chunks[i]);
    mc_free(s->chunks);
    s->chunks = NULL;
    s->nchunks = s->nev = s->free_head = 0;
}

void mc_sim_at_call(mc_sim_t *s, uint64_t t_ns, mc_sim_call_fn fn, void *arg)
{
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_CALL, SIM_NONE, SIM_ANY_INC);
    ev->u.call.fn = fn;
    ev->u.call.arg = arg;
    sim_ev_push(s, ev, t_ns < s->now ? s->now : t_ns);
}

uint64_t mc_sim_now(const mc_sim_t *s) { return s->now; }
uint64_t mc_sim_events(const mc_sim_t *s) { return s->events; }
const char *mc_sim_error(const mc_sim_t *s) { return s->err; }
