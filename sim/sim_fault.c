/* Fault injection (mc_fault_kind_t) and workload commands. */
#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "sim_internal.h"

void mc_sim_at_fault(mc_sim_t *s, const mc_scn_fault_t *f)
{
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_FAULT, SIM_NONE, SIM_ANY_INC);
    ev->u.fault = f;
    sim_ev_push(s, ev, f->at_ns < s->now ? s->now : f->at_ns);
}

void sim_fault_dispatch(mc_sim_t *s, sim_ev_t *ev)
{
    mc_sim_fault_apply(s, ev->u.fault);
}

/* Resolve a list of names; false (and a trace line) if one is unknown. */
static bool resolve(mc_sim_t *s, char *const *names, size_t n, uint32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int id = mc_sim_node_find(s, names[i]);
        if (id < 0) {
            char f[300];
            snprintf(f, sizeof f, "kind=partition why=unknown_node node=%s", names[i]);
            mc_sim_trace(s, "-", "sim.fault_skipped", f);
            return false;
        }
        out[i] = (uint32_t)id;
    }
    return true;
}

static void join_names(char *buf, size_t cap, char *const *names, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "", names[i]);
}

static void partition(mc_sim_t *s, const mc_scn_fault_t *f)
{
    uint32_t *a = mc_calloc(f->nnodes + 1, sizeof *a);
    uint32_t *b = mc_calloc(s->nnodes + f->npeers + 1, sizeof *b);
    size_t nb = 0;
    char fa[512], fb[512], line[1100];
    if (!resolve(s, f->nodes, f->nnodes, a) || !resolve(s, f->peers, f->npeers, b))
        goto out;
    if (f->npeers) {
        nb = f->npeers;
    } else {
        /* empty peers = everyone else */
        for (uint32_t id = 0; id < s->nnodes; id++) {
            bool in = false;
            for (size_t i = 0; i < f->nnodes; i++)
                in |= a[i] == id;
            if (!in)
                b[nb++] = id;
        }
    }
    join_names(fa, sizeof fa, f->nodes, f->nnodes);
    join_names(fb, sizeof fb, f->peers, f->npeers);
    snprintf(line, sizeof line, "kind=partition nodes=%s peers=%s oneway=%d", fa,
             f->npeers ? fb : "*", f->oneway);
    mc_sim_trace(s, "-", "sim.fault", line);
    sim_net_partition(s, a, f->nnodes, b, nb, f->oneway);
out:
    mc_free(a);
    mc_free(b);
}

void mc_sim_fault_apply(mc_sim_t *s, const mc_scn_fault_t *f)
{
    char line[512];
    const char *kn = mc_fault_kind_name(f->kind);
    if (f->kind == MC_FAULT_PARTITION) {
        partition(s, f);
        return;
    }
    if (f->kind == MC_FAULT_HEAL) {
        mc_sim_trace(s, "-", "sim.fault", "kind=heal");
        sim_net_heal(s);
        return;
    }
    if (f->kind == MC_FAULT_NET) {
        snprintf(line, sizeof line,
                 "kind=net latency_ns=%llu jitter_ns=%llu bandwidth_bps=%llu loss=%g dup=%g reorder=%g",
                 (unsigned long long)f->net.latency_ns, (unsigned long long)f->net.jitter_ns,
                 (unsigned long long)f->net.bandwidth_bps, f->net.loss, f->net.dup, f->net.reorder);
        mc_sim_trace(s, "-", "sim.fault", line);
        s->net = f->net;
        return;
    }
    int id = f->node ? mc_sim_node_find(s, f->node) : -1;
    if (id < 0) {
        snprintf(line, sizeof line, "kind=%s why=unknown_node node=%s", kn, f->node ? f->node : "");
        mc_sim_trace(s, "-", "sim.fault_skipped", line);
        return;
    }
    sim_node_t *n = sim_node(s, (uint32_t)id);
    switch (f->kind) {
    case MC_FAULT_CRASH:
    case MC_FAULT_RESTART:
    case MC_FAULT_PAUSE:
    case MC_FAULT_RESUME:
        snprintf(line, sizeof line, "kind=%s", kn);
        break;
    case MC_FAULT_NIC_DOWN:
    case MC_FAULT_NIC_UP:
        if (f->nic >= n->nnics) {
            snprintf(line, sizeof line, "kind=%s nic=%u why=no_such_nic nics=%u", kn, f->nic, n->nnics);
            mc_sim_trace(s, n->name, "sim.fault_skipped", line);
            return;
        }
        snprintf(line, sizeof line, "kind=%s nic=%u", kn, f->nic);
        break;
    case MC_FAULT_CLOCK_DRIFT:
        snprintf(line, sizeof line, "kind=%s rate=%g", kn, f->rate);
        break;
    case MC_FAULT_CLOCK_STEP:
        snprintf(line, sizeof line, "kind=%s step_ns=%llu", kn, (unsigned long long)f->step_ns);
        break;
    case MC_FAULT_XFER_BLACKHOLE:
    case MC_FAULT_XFER_BLACKHOLE_OFF:
        snprintf(line, sizeof line, "kind=%s", kn);
        break;
    default:
        snprintf(line, sizeof line, "kind=%s why=unsupported", kn);
        mc_sim_trace(s, n->name, "sim.fault_skipped", line);
        return;
    }
    mc_sim_trace(s, n->name, "sim.fault", line);
    switch (f->kind) {
    case MC_FAULT_CRASH:
        sim_node_crash(s, n, "fault");
        break;
    case MC_FAULT_RESTART:
        sim_node_crash(s, n, "restart");
        sim_node_start(s, n);
        break;
    case MC_FAULT_PAUSE:
        if (n->state == SIM_NODE_UP)
            n->paused = true;
        break;
    case MC_FAULT_RESUME:
        if (n->paused) {
            n->paused = false;
            sim_undefer(s, n);
        }
        break;
    case MC_FAULT_NIC_DOWN:
    case MC_FAULT_NIC_UP:
        n->nics[f->nic].down = f->kind == MC_FAULT_NIC_DOWN;
        break;
    case MC_FAULT_CLOCK_DRIFT:
        sim_node_set_rate(s, n, f->rate);
        break;
    case MC_FAULT_CLOCK_STEP:
        sim_node_step(s, n, f->step_ns);
        break;
    case MC_FAULT_XFER_BLACKHOLE:
    case MC_FAULT_XFER_BLACKHOLE_OFF:
        /* transfers already in flight still complete: only new posts vanish */
        n->xfer_blackhole = f->kind == MC_FAULT_XFER_BLACKHOLE;
        break;
    default:
        MC_UNREACHABLE();
    }
}

/* ---- workload commands ---- */

void mc_sim_at_cmd(mc_sim_t *s, const mc_scn_cmd_t *c)
{
    int id = mc_sim_node_find(s, c->node);
    if (id < 0) {
        char line[300];
        snprintf(line, sizeof line, "why=unknown_node node=%s cmd=%s", c->node, c->cmd);
        mc_sim_trace(s, "-", "sim.cmd_skipped", line);
        return;
    }
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_CMD, (uint32_t)id, SIM_ANY_INC);
    ev->u.cmd.c = c;
    ev->u.cmd.left = c->repeat ? c->repeat : 1;
    sim_ev_push(s, ev, c->at_ns < s->now ? s->now : c->at_ns);
}

void sim_cmd_dispatch(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n)
{
    const mc_scn_cmd_t *c = ev->u.cmd.c;
    char line[300];
    if (n->state != SIM_NODE_UP || !n->role->command) {
        snprintf(line, sizeof line, "cmd=%s why=%s", c->cmd, n->state != SIM_NODE_UP ? "down" : "no_command");
        mc_sim_trace(s, n->name, "sim.cmd_skipped", line);
    } else {
        mc_conf_t args;
        mc_conf_init(&args);
        mc_scn_cmd_args(c, (c->repeat ? c->repeat : 1) - ev->u.cmd.left, &args);
        mc_status_t st = n->role->command(n->inst, c->cmd, &args);
        mc_conf_free(&args);
        snprintf(line, sizeof line, "cmd=%s status=%s", c->cmd, mc_status_name(st));
        mc_sim_trace(s, n->name, "sim.cmd", line);
    }
    if (ev->u.cmd.left > 1) {
        sim_ev_t *next = sim_ev_new(s, SIM_EV_CMD, n->id, SIM_ANY_INC);
        next->u.cmd.c = c;
        next->u.cmd.left = ev->u.cmd.left - 1;
        sim_ev_push(s, next, s->now + c->every_ns);
    }
}
