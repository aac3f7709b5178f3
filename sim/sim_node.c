/* Nodes: the env ops that are not network or data plane (clock, timers,
 * randomness, log, trace), node lifecycle (boot, crash) and the sim
 * object itself. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_bytes.h"
#include "base/mc_mem.h"
#include "sim_internal.h"

sim_node_t *sim_node(const mc_sim_t *s, uint32_t id)
{
    MC_ASSERT(id < s->nnodes);
    return s->nodes[id];
}

static sim_node_t *env_node(mc_env_t *env) { return env->impl; }

/* ---- clock ---- */

uint64_t sim_node_local_now(sim_node_t *n, uint64_t t)
{
    uint64_t el = t - n->anchor_t;
    uint64_t local = n->anchor_local + (n->rate == 1.0 ? el : (uint64_t)((double)el * n->rate));
    /* Float rounding must never make the clock step back. */
    if (local < n->last_local)
        local = n->last_local;
    n->last_local = local;
    return local;
}

static void clock_reanchor(mc_sim_t *s, sim_node_t *n)
{
    n->anchor_local = sim_node_local_now(n, s->now);
    n->anchor_t = s->now;
}

void sim_node_set_rate(mc_sim_t *s, sim_node_t *n, double rate)
{
    clock_reanchor(s, n);
    n->rate = rate < 0.01 ? 0.01 : rate; /* a clock never stops or runs backwards */
}

void sim_node_step(mc_sim_t *s, sim_node_t *n, uint64_t step_ns)
{
    clock_reanchor(s, n);
    n->anchor_local += step_ns;
}

static uint64_t op_now_ns(mc_env_t *env)
{
    sim_node_t *n = env_node(env);
    return sim_node_local_now(n, n->sim->now);
}

/* ---- timers ---- */

/* Handle = gen << 32 | pool index: names one arming of one slot, so a
 * stale handle (fired, cancelled, slot reused) never cancels the wrong
 * timer. */
static mc_timer_t op_timer_arm(mc_env_t *env, uint64_t delay_ns, mc_timer_fn fn, void *arg)
{
    sim_node_t *n = env_node(env);
    mc_sim_t *s = n->sim;
    MC_ASSERT(fn != NULL);
    if (n->state != SIM_NODE_UP || n->dying)
        return 0;
    uint64_t d = delay_ns;
    if (n->rate != 1.0)
        d = (uint64_t)ceil((double)delay_ns / n->rate);
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_TIMER, n->id, n->inc);
    ev->u.timer.fn = fn;
    ev->u.timer.arg = arg;
    uint64_t t = s->now + d < s->now ? UINT64_MAX : s->now + d;
    sim_ev_push(s, ev, t);
    return ((uint64_t)ev->gen << 32) | ev->idx;
}

static void op_timer_cancel(mc_env_t *env, mc_timer_t t)
{
    sim_node_t *n = env_node(env);
    sim_ev_t *ev = sim_ev_get(n->sim, (uint32_t)t);
    if (!ev || ev->gen != (uint32_t)(t >> 32) || ev->kind != SIM_EV_TIMER || ev->node != n->id)
        return;
    sim_ev_cancel(n->sim, ev);
}

/* ---- randomness, log, trace ---- */

static uint64_t op_rand_u64(mc_env_t *env) { return mc_rng_next(&env_node(env)->rng_env); }

static const char *level_name(int level)
{
    static const char *names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
    return level >= 0 && level <= MC_LOG_ERROR ? names[level] : "?";
}

/* Logs are for humans: stderr, not hashed (the trace is the record). */
static void op_log(mc_env_t *env, int level, const char *component, const char *msg)
{
    sim_node_t *n = env_node(env);
    if (level < n->sim->cfg.log_level)
        return;
    fprintf(stderr, "%llu %s %s %s: %s\n", (unsigned long long)n->sim->now, n->name,
            level_name(level), component, msg);
}

static void op_trace(mc_env_t *env, const char *event, const char *fields)
{
    sim_node_t *n = env_node(env);
    sim_trace_line(n->sim, n->sim->now, n->name, event, fields ? fields : "");
}

/* Segment memory is plain heap memory: sim nodes share one address space. */
static void *op_seg_alloc(mc_env_t *env, size_t len)
{
    (void)env;
    return mc_calloc(1, len);
}

static void op_seg_free(mc_env_t *env, void *p, size_t len)
{
    (void)env;
    (void)len;
    mc_free(p);
}

const mc_env_ops_t sim_env_ops = {
    .now_ns = op_now_ns,
    .timer_arm = op_timer_arm,
    .timer_cancel = op_timer_cancel,
    .listen = sim_net_listen,
    .conn_open = sim_net_open,
    .conn_send = sim_net_send,
    .conn_close = sim_net_close,
    .mem_register = sim_mem_register,
    .mem_unregister = sim_mem_unregister,
    .xfer_post = sim_xfer_post,
    .seg_alloc = op_seg_alloc,
    .seg_free = op_seg_free,
    .rand_u64 = op_rand_u64,
    .log = op_log,
    .trace = op_trace,
};

/* ---- lifecycle ---- */

void sim_node_start(mc_sim_t *s, sim_node_t *n)
{
    char f[256];
    if (n->state == SIM_NODE_UP) {
        mc_sim_trace(s, n->name, "sim.node_start_skipped", "why=already_up");
        return;
    }
    n->inc++;
    n->state = SIM_NODE_UP;
    n->paused = false;
    /* A fresh process draws fresh random numbers, still from the seed. */
    mc_rng_seed(&n->rng_env, mc_rng_mix(s->cfg.seed ^ n->name_hash) + n->inc);
    n->env.ops = &sim_env_ops;
    n->env.impl = n;
    n->env.node_name = n->name;
    n->env.h = NULL;
    n->env.node = NULL;
    n->env.log_level = s->cfg.log_level;
    snprintf(f, sizeof f, "role=%s inc=%u", n->role->name, n->inc);
    mc_sim_trace(s, n->name, "sim.node_start", f);
    char err[256] = "";
    n->inst = n->role->create(&n->env, &n->conf, err, sizeof err);
    if (!n->inst) {
        n->state = SIM_NODE_DOWN;
        snprintf(s->err, sizeof s->err, "node '%s' (role %s) failed to start: %s", n->name,
                 n->role->name, err[0] ? err : "no reason given");
        s->failed = true;
        return;
    }
    MC_ASSERT(n->env.h != NULL); /* create must call mc_env_bind */
}

void sim_node_crash(mc_sim_t *s, sim_node_t *n, const char *why)
{
    if (n->state != SIM_NODE_UP)
        return;
    char f[128];
    snprintf(f, sizeof f, "why=%s inc=%u", why, n->inc);
    mc_sim_trace(s, n->name, "sim.node_crash", f);
    n->dying = true;
    n->role->destroy(n->inst);
    n->dying = false;
    n->inst = NULL;
    n->state = SIM_NODE_DOWN;
    n->inc++; /* every pending event for the old process is now stale */
    n->env.h = NULL;
    n->env.node = NULL;
    sim_net_node_down(s, n);
    mc_vec_clear(&n->regions);
    n->paused = false;
    n->xfer_blackhole = false;
    sim_undefer(s, n); /* SYNs among them must still be refused */
}

void sim_dispatch_node_ev(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n)
{
    switch (ev->kind) {
    case SIM_EV_TIMER:
        ev->u.timer.fn(ev->u.timer.arg);
        break;
    case SIM_EV_SYN:
    case SIM_EV_CONN_UP:
    case SIM_EV_ACCEPT:
    case SIM_EV_CONN_DOWN:
    case SIM_EV_MSG:
        sim_net_dispatch(s, ev, n);
        break;
    case SIM_EV_XFER_DONE:
        if (n->state == SIM_NODE_UP && n->env.h->on_xfer_done)
            n->env.h->on_xfer_done(n->env.node, ev->u.xfer->tag, ev->status);
        break;
    case SIM_EV_CMD:
        sim_cmd_dispatch(s, ev, n);
        break;
    default:
        MC_UNREACHABLE();
    }
}

/* ---- the sim object ---- */

void mc_sim_cfg_init(mc_sim_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->net.latency_ns = 100 * 1000; /* 100 us */
    cfg->xfer_timeout_ns = MC_NS_PER_S;
    cfg->conn_timeout_ns = MC_NS_PER_S;
    cfg->log_level = MC_LOG_WARN;
}

mc_sim_t *mc_sim_create(const mc_sim_cfg_t *cfg)
{
    mc_sim_t *s = mc_calloc(1, sizeof *s);
    s->cfg = *cfg;
    if (!s->cfg.xfer_timeout_ns)
        s->cfg.xfer_timeout_ns = MC_NS_PER_S;
    if (!s->cfg.conn_timeout_ns)
        s->cfg.conn_timeout_ns = MC_NS_PER_S;
    s->net = cfg->net;
    mc_heap_init(&s->heap);
    mc_map_init(&s->by_name);
    mc_map_init(&s->by_addr);
    mc_map_init(&s->listen);
    mc_map_init(&s->conns);
    s->hash = MC_HASH64_INIT;
    return s;
}

void sim_node_free(mc_sim_t *s, sim_node_t *n)
{
    (void)s;
    mc_free(n->name);
    mc_free(n->addr);
    mc_conf_free(&n->conf);
    mc_vec_free(&n->regions);
    for (size_t i = 0; i < n->listens.len; i++)
        mc_free(*MC_VEC_AT(&n->listens, char *, i));
    mc_vec_free(&n->listens);
    mc_free(n);
}

void mc_sim_destroy(mc_sim_t *s)
{
    if (!s)
        return;
    /* Clean exit of every live role: destroy must not produce upcalls. */
    for (uint32_t i = 0; i < s->nnodes; i++) {
        sim_node_t *n = s->nodes[i];
        if (n->state == SIM_NODE_UP) {
            n->dying = true;
            n->role->destroy(n->inst);
            n->dying = false;
            n->inst = NULL;
            n->state = SIM_NODE_DOWN;
            n->inc++;
        }
    }
    sim_net_drop_held(s); /* frames parked in connections live in the event pool */
    sim_loop_free(s);
    sim_net_free(s);
    for (uint32_t i = 0; i < s->nnodes; i++)
        sim_node_free(s, s->nodes[i]);
    mc_free(s->nodes);
    mc_map_free(&s->by_name);
    mc_map_free(&s->by_addr);
    mc_map_free(&s->listen);
    mc_map_free(&s->conns);
    mc_free(s->cut);
    mc_free(s);
}

/* Keys the world owns: the node's address and, unless the scenario set
 * it, how many NICs (paths) it has. */
static void sim_node_world_conf(sim_node_t *n)
{
    mc_conf_set(&n->conf, "addr", n->addr);
    if (!mc_conf_get(&n->conf, "nics")) {
        char buf[16];
        snprintf(buf, sizeof buf, "%u", n->nnics);
        mc_conf_set(&n->conf, "nics", buf);
    }
}

int mc_sim_node_add(mc_sim_t *s, const char *name, const mc_role_t *role, const mc_conf_t *conf,
                    uint32_t nics)
{
    MC_ASSERT(role != NULL && name != NULL);
    if (mc_map_gets(&s->by_name, name))
        return -1;
    sim_node_t *n = mc_calloc(1, sizeof *n);
    n->sim = s;
    n->id = s->nnodes;
    n->name = mc_strdup(name);
    char addr[1100];
    snprintf(addr, sizeof addr, "%s:%d", name, MC_SIM_PORT);
    n->addr = mc_strdup(addr);
    n->name_hash = mc_hash64(name, strlen(name), MC_HASH64_INIT);
    n->role = role;
    mc_conf_init(&n->conf);
    if (conf)
        mc_conf_copy(&n->conf, conf);
    n->nnics = nics == 0 ? 1 : (nics > SIM_MAX_NICS ? SIM_MAX_NICS : nics);
    sim_node_world_conf(n);
    n->rate = 1.0;
    /* Monotonic clocks count from boot, not from 0: a per-node offset from
     * the seed keeps core from assuming "0 = start of time". */
    uint64_t mix = mc_rng_mix(s->cfg.seed ^ n->name_hash ^ 0x636c6f636bULL);
    n->anchor_local = n->last_local = MC_NS_PER_S + mix % (1000 * MC_NS_PER_S);
    mc_rng_seed(&n->rng_net, mc_rng_mix(s->cfg.seed ^ n->name_hash ^ 0x6e6574ULL));
    mc_list_init(&n->conns);
    mc_list_init(&n->deferred);
    mc_vec_init(&n->regions, sizeof(sim_region_t));
    mc_vec_init(&n->listens, sizeof(char *));
    n->env.ops = &sim_env_ops;
    n->env.impl = n;
    n->env.node_name = n->name;
    n->env.log_level = s->cfg.log_level;
    if (s->nnodes == s->capnodes) {
        s->capnodes = s->capnodes ? s->capnodes * 2 : 16;
        s->nodes = mc_realloc(s->nodes, s->capnodes * sizeof *s->nodes);
    }
    s->nodes[s->nnodes++] = n;
    mc_map_puts(&s->by_name, name, (void *)(uintptr_t)(n->id + 1));
    mc_map_puts(&s->by_addr, n->addr, (void *)(uintptr_t)(n->id + 1));
    sim_net_resize_cut(s);
    return (int)n->id;
}

int mc_sim_node_find(const mc_sim_t *s, const char *name)
{
    uintptr_t v = (uintptr_t)mc_map_gets(&s->by_name, name);
    return v ? (int)(v - 1) : -1;
}

const char *mc_sim_node_addr(const mc_sim_t *s, int id) { return sim_node(s, (uint32_t)id)->addr; }
const char *mc_sim_node_name(const mc_sim_t *s, int id) { return sim_node(s, (uint32_t)id)->name; }

void mc_sim_node_set_conf(mc_sim_t *s, int id, const mc_conf_t *conf)
{
    sim_node_t *n = sim_node(s, (uint32_t)id);
    mc_conf_free(&n->conf);
    mc_conf_init(&n->conf);
    mc_conf_copy(&n->conf, conf);
    sim_node_world_conf(n);
}

void *mc_sim_node_instance(const mc_sim_t *s, int id) { return sim_node(s, (uint32_t)id)->inst; }
mc_env_t *mc_sim_node_env(mc_sim_t *s, int id) { return &sim_node(s, (uint32_t)id)->env; }
bool mc_sim_node_up(const mc_sim_t *s, int id) { return sim_node(s, (uint32_t)id)->state == SIM_NODE_UP; }

const char *mc_sim_addr_of(void *ctx, const char *node)
{
    mc_sim_t *s = ctx;
    int id = mc_sim_node_find(s, node);
    return id < 0 ? NULL : s->nodes[id]->addr;
}

void mc_sim_at_start(mc_sim_t *s, int id, uint64_t t_ns)
{
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_START, (uint32_t)id, SIM_ANY_INC);
    sim_ev_push(s, ev, t_ns < s->now ? s->now : t_ns);
}

size_t mc_sim_check_roles(mc_sim_t *s, char *err, size_t errlen)
{
    size_t fails = 0;
    char msg[512];
    for (uint32_t i = 0; i < s->nnodes; i++) {
        sim_node_t *n = s->nodes[i];
        if (n->state != SIM_NODE_UP || n->dying || !n->inst || !n->role->check)
            continue;
        msg[0] = 0;
        if (n->role->check(n->inst, msg, sizeof msg))
            continue;
        if (fails++ == 0 && err && errlen)
            snprintf(err, errlen, "%s: %s", n->name, msg[0] ? msg : "check failed");
    }
    return fails;
}
