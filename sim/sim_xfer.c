/* Data plane: registered memory per node and one-sided READ/WRITE that
 * copy real bytes between the nodes' memories (all nodes share this
 * process's address space), RDMA-style: the remote CPU is not involved, so
 * a paused peer still serves transfers; a crashed, cut or NIC-down peer
 * fails them after the transfer timeout. Every posted op completes exactly
 * once while its initiator lives. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "sim_internal.h"

static bool region_has(const sim_region_t *r, uintptr_t p, uint64_t len)
{
    return p >= r->base && len <= r->len && p - r->base <= r->len - len;
}

static bool region_covers(const sim_node_t *n, uintptr_t p, uint64_t len)
{
    for (size_t i = 0; i < n->regions.len; i++)
        if (region_has(MC_VEC_AT(&n->regions, sim_region_t, i), p, len))
            return true;
    return false;
}

/* Remote side of an op, RDMA-style: the key names the registration (a key
 * this incarnation never issued, or whose region is gone, is
 * MC_TRANSFER_FAIL), then the range must lie inside that registration
 * (else MC_INVALID_PARAMS). Looking the key up first keeps the outcome
 * independent of where the heap put the memory. */
static mc_status_t remote_check(const sim_node_t *n, uint32_t key, uintptr_t p, uint64_t len)
{
    for (size_t i = 0; i < n->regions.len; i++) {
        const sim_region_t *r = MC_VEC_AT(&n->regions, sim_region_t, i);
        if (r->key == key)
            return region_has(r, p, len) ? MC_OK : MC_INVALID_PARAMS;
    }
    return MC_TRANSFER_FAIL;
}

/* Keys: a per-incarnation random start (derived from the seed, without
 * drawing from the role's generator, so traces stay as they were) plus a
 * counter that never repeats within the node's life. All nodes share one
 * address space, so a restarted node's memory can sit where its
 * predecessor's was; only the key tells a stale descriptor apart. */
static uint32_t sim_key_next(sim_node_t *n)
{
    uint64_t base = mc_rng_mix(n->sim->cfg.seed ^ n->name_hash ^ ((uint64_t)n->inc << 32) ^ 0x726b6579ULL);
    uint32_t k;
    do
        k = (uint32_t)base + ++n->key_seq;
    while (k == 0);
    return k;
}

mc_status_t sim_mem_register(mc_env_t *env, void *addr, size_t len, uint32_t *key)
{
    sim_node_t *n = env->impl;
    if (!addr || len == 0 || n->state != SIM_NODE_UP)
        return MC_INVALID_PARAMS;
    sim_region_t *r = mc_vec_push(&n->regions);
    r->base = (uintptr_t)addr;
    r->len = len;
    r->key = sim_key_next(n);
    if (key)
        *key = r->key;
    return MC_OK;
}

mc_status_t sim_mem_unregister(mc_env_t *env, void *addr)
{
    sim_node_t *n = env->impl;
    for (size_t i = 0; i < n->regions.len; i++)
        if (MC_VEC_AT(&n->regions, sim_region_t, i)->base == (uintptr_t)addr) {
            mc_vec_remove(&n->regions, i);
            return MC_OK;
        }
    return MC_INVALID_PARAMS;
}

static void complete_at(mc_sim_t *s, sim_xfer_t *x, mc_status_t st, uint64_t t)
{
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_XFER_DONE, x->init, x->init_inc);
    ev->u.xfer = x;
    ev->status = st;
    sim_ev_push(s, ev, t < s->now ? s->now : t);
}

static bool path_ok(const mc_sim_t *s, const sim_xfer_t *x)
{
    const sim_node_t *a = s->nodes[x->init], *b = s->nodes[x->peer];
    if (b->state != SIM_NODE_UP || b->inc != x->peer_inc)
        return false;
    if (a->nics[x->path].down)
        return false;
    if (s->any_cut && (s->cut[(size_t)a->id * s->cut_n + b->id] || s->cut[(size_t)b->id * s->cut_n + a->id]))
        return false;
    return sim_net_ctl_nic(b) >= 0;
}

mc_status_t sim_xfer_post(mc_env_t *env, const mc_xfer_op_t *ops, size_t n)
{
    sim_node_t *a = env->impl;
    mc_sim_t *s = a->sim;
    mc_status_t ret = MC_OK;
    if (a->state != SIM_NODE_UP || a->dying)
        return MC_INVALID_PARAMS;
    for (size_t i = 0; i < n; i++) {
        const mc_xfer_op_t *op = &ops[i];
        sim_xfer_t *x = mc_calloc(1, sizeof *x);
        x->tag = op->tag;
        x->opcode = op->opcode;
        x->path = op->path;
        x->local = op->local;
        x->remote = (uintptr_t)op->remote_addr;
        x->remote_key = op->remote_key;
        x->len = op->len;
        x->init = a->id;
        x->init_inc = a->inc;
        x->post_ns = s->now;
        uintptr_t pid = op->peer ? (uintptr_t)mc_map_gets(&s->by_addr, op->peer) : 0;
        if (op->len == 0 || op->path >= a->nnics || op->opcode > MC_XFER_WRITE ||
            !region_covers(a, (uintptr_t)op->local, op->len)) {
            complete_at(s, x, MC_INVALID_PARAMS, s->now);
            ret = MC_INVALID_PARAMS;
            continue;
        }
        if (a->xfer_blackhole) {
            mc_free(x); /* fault: the completion never arrives */
            continue;
        }
        if (!pid) {
            complete_at(s, x, MC_TRANSFER_FAIL, s->now + s->cfg.xfer_timeout_ns);
            continue;
        }
        x->peer = (uint32_t)(pid - 1);
        x->peer_inc = s->nodes[x->peer]->inc;
        if (!path_ok(s, x)) {
            complete_at(s, x, MC_TRANSFER_FAIL, s->now + s->cfg.xfer_timeout_ns);
            continue;
        }
        sim_ev_t *ev = sim_ev_new(s, SIM_EV_XFER_EXEC, SIM_NONE, SIM_ANY_INC);
        ev->u.xfer = x;
        sim_ev_push(s, ev, s->now + sim_net_delay(s, a, x->path, x->len));
    }
    return ret;
}

/* The bytes move now; the completion travels back to the initiator. */
void sim_xfer_exec(mc_sim_t *s, sim_ev_t *ev)
{
    sim_xfer_t *x = ev->u.xfer;
    sim_node_t *a = s->nodes[x->init];
    if (a->state != SIM_NODE_UP || a->inc != x->init_inc)
        return; /* initiator died: its memory is gone, nobody to tell */
    ev->u.xfer = NULL; /* ownership moves to the completion event */
    if (!path_ok(s, x)) {
        complete_at(s, x, MC_TRANSFER_FAIL, x->post_ns + s->cfg.xfer_timeout_ns);
        return;
    }
    sim_node_t *b = s->nodes[x->peer];
    /* Check both ends now: either side may have unregistered meanwhile. */
    mc_status_t st = remote_check(b, x->remote_key, x->remote, x->len);
    if (st == MC_OK && !region_covers(a, (uintptr_t)x->local, x->len))
        st = MC_INVALID_PARAMS;
    if (st != MC_OK) {
        /* A stale key (a descriptor of an earlier registration or process)
         * is traced: scenarios count them. No byte moves. */
        if (st == MC_TRANSFER_FAIL)
            mc_sim_trace(s, b->name, "sim.xfer_bad_key", x->opcode == MC_XFER_WRITE ? "op=write" : "op=read");
        complete_at(s, x, st, s->now + s->net.latency_ns);
        return;
    }
    if (x->opcode == MC_XFER_WRITE)
        memmove((void *)x->remote, x->local, x->len);
    else
        memmove(x->local, (const void *)x->remote, x->len);
    complete_at(s, x, MC_OK, s->now + s->net.latency_ns);
}

void mc_sim_fault_xfer_blackhole(mc_sim_t *s, int id, bool on)
{
    sim_node(s, (uint32_t)id)->xfer_blackhole = on;
}
