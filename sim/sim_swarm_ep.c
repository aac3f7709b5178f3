/* EP swarm (mooncake_sim swarm --workload ep): per seed a random EP group
 * (a coordinator + 2..8 ranks, world = rank count), a sequence of random
 * operations (every collective, dispatch and the combine of a previous
 * dispatch, random types, reductions, sizes, roots and timeouts) issued to
 * every rank, send/recv pairs between two random ranks, random recover
 * proposals, and a random fault schedule on
 * r1.. (crash + restart, pauses shorter or longer than the op timeout and
 * the heartbeat timeout, partitions between ranks or from the
 * coordinator, one or both ways, lost completions), all undone by "calm".
 *
 * Checked by: the "ep" checker (safety: every OK result equals the
 * reduction over the agreed set, every rank of an op agrees on the set,
 * every op returns within 2 x its timeout, views match the coordinator's)
 * and liveness derived here: r0 and the coordinator are never faulted;
 * after calm + the heartbeat timeout r0 recovers every rank, and the two
 * final operations succeed on every rank over the full group. */
#include "sim_swarm.h"
#include "sim_swarm_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "base/mc_rng.h"

#define SEC MC_NS_PER_S
#define MS MC_NS_PER_MS

typedef struct ep_plan {
    uint64_t seed;
    uint32_t world;
    uint32_t nops;
    uint64_t hb_ns, calm_ns, verify_ns, final_ns;
} ep_plan_t;

/* node 0 = coord, 1.. = r0.. */
static char *nname(uint32_t i)
{
    char b[16];
    if (i == 0)
        return mc_strdup("coord");
    snprintf(b, sizeof b, "r%u", i - 1);
    return mc_strdup(b);
}

static mc_scn_fault_t *fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k, uint32_t node)
{
    return mc_swarm_add_fault(s, cap, at, k, node != UINT32_MAX ? nname(node) : NULL);
}

static mc_scn_cmd_t *cmd(mc_scenario_t *s, size_t *cap, uint64_t at, uint32_t node, const char *name)
{
    return mc_swarm_add_cmd(s, cap, at, nname(node), name);
}

static const char *const kinds[] = {"all_reduce", "all_gather", "broadcast", "reduce_scatter",
                                    "all_to_all", "barrier",    "dispatch",  "combine"};
static const char *const dtypes[] = {"f32", "f64", "i32", "i64"};
static const char *const reds[] = {"sum", "max", "min", "product"};

/* The same operation on every rank. */
static void op_all(mc_scenario_t *s, size_t *cap, const ep_plan_t *p, uint64_t at, const mc_conf_t *args,
                   const char *kind)
{
    for (uint32_t i = 0; i < p->world; i++) {
        mc_scn_cmd_t *c = cmd(s, cap, at, 1 + i, kind);
        mc_conf_copy(&c->args, args);
    }
}

static void gen_workload(mc_rng_t *r, mc_scenario_t *s, size_t *cap, ep_plan_t *p)
{
    uint64_t t = 1500 * MS, id = 0, last_dispatch = 0;
    char moe[4][16];
    uint32_t experts = p->world * (1 + (uint32_t)mc_rng_below(r, 3));
    snprintf(moe[0], sizeof moe[0], "%u", 4 + (uint32_t)mc_rng_below(r, 29));  /* tokens_max */
    snprintf(moe[1], sizeof moe[1], "%u", 1 + (uint32_t)mc_rng_below(r, 32));  /* hidden */
    snprintf(moe[2], sizeof moe[2], "%u", experts);
    snprintf(moe[3], sizeof moe[3], "%u", 1 + (uint32_t)mc_rng_below(r, 4));   /* topk */
    while (t < p->calm_ns) {
        mc_conf_t a;
        mc_conf_init(&a);
        uint32_t k = (uint32_t)mc_rng_below(r, 8);
        if (k == 7 && !last_dispatch)
            k = 6;
        uint64_t timeout = mc_rng_range(r, 100, 1000) * MS;
        mc_swarm_conf_u64(&a, "id", ++id);
        mc_swarm_conf_ms(&a, "timeout", timeout);
        if (k >= 6) {
            mc_conf_set(&a, "tokens_max", moe[0]);
            mc_conf_set(&a, "hidden", moe[1]);
            mc_conf_set(&a, "experts", moe[2]);
            mc_conf_set(&a, "topk", moe[3]);
            if (k == 7)
                mc_swarm_conf_u64(&a, "dispatch", last_dispatch);
            else
                last_dispatch = id;
        } else {
            mc_swarm_conf_u64(&a, "count", 1 + mc_rng_below(r, mc_rng_chance(r, 0.2) ? 4096 : 64));
            mc_conf_set(&a, "dtype", dtypes[mc_rng_below(r, 4)]);
            mc_conf_set(&a, "red", reds[mc_rng_below(r, 4)]);
            mc_swarm_conf_u64(&a, "root", mc_rng_below(r, p->world));
        }
        if (k < 6 && mc_rng_chance(r, 0.15)) { /* a send/recv pair instead */
            uint32_t src = (uint32_t)mc_rng_below(r, p->world);
            uint32_t dst = (src + 1 + (uint32_t)mc_rng_below(r, p->world - 1)) % p->world;
            mc_scn_cmd_t *c = cmd(s, cap, t, 1 + src, "send");
            mc_conf_copy(&c->args, &a);
            mc_swarm_conf_u64(&c->args, "peer", dst);
            c = cmd(s, cap, t, 1 + dst, "recv");
            mc_conf_copy(&c->args, &a);
            mc_swarm_conf_u64(&c->args, "peer", src);
        } else {
            op_all(s, cap, p, t, &a, kinds[k]);
        }
        mc_conf_free(&a);
        p->nops++;
        if (mc_rng_chance(r, 0.1)) { /* a recover proposal from a random rank for random targets */
            char ranks[256] = "";
            size_t off = 0;
            for (uint32_t j = 0; j < p->world; j++)
                if (mc_rng_chance(r, 0.5) && off < sizeof ranks - 8)
                    off += (size_t)snprintf(ranks + off, sizeof ranks - off, "%s%u", off ? "," : "", j);
            if (off) {
                mc_scn_cmd_t *c = cmd(s, cap, t + timeout / 2, 1 + (uint32_t)mc_rng_below(r, p->world), "recover");
                mc_conf_set(&c->args, "ranks", ranks);
            }
        }
        /* mostly back to back (2.5 timeouts apart), sometimes overlapping */
        t += mc_rng_chance(r, 0.15) ? mc_rng_range(r, 1, 50) * MS : timeout * 5 / 2 + mc_rng_below(r, 300) * MS;
    }
    /* verification: recover everyone, then two full operations */
    char all[256] = "";
    size_t off = 0;
    for (uint32_t j = 0; j < p->world; j++)
        off += (size_t)snprintf(all + off, sizeof all - off, "%s%u", off ? "," : "", j);
    if (off) {
        mc_scn_cmd_t *c = cmd(s, cap, p->verify_ns, 1, "recover");
        mc_conf_set(&c->args, "ranks", all);
    }
    mc_conf_t a;
    mc_conf_init(&a);
    mc_swarm_conf_u64(&a, "id", 1000000);
    mc_conf_set(&a, "count", "33");
    mc_conf_set(&a, "timeout", "1s");
    op_all(s, cap, p, p->final_ns, &a, "all_reduce");
    mc_swarm_conf_u64(&a, "id", 1000001);
    op_all(s, cap, p, p->final_ns + 3 * SEC, &a, "all_gather");
    mc_conf_free(&a);
}

/* Faults on r1..: each undone before calm. */
static void gen_faults(mc_rng_t *r, mc_scenario_t *s, size_t *fcap, const ep_plan_t *p)
{
    uint32_t nf = (uint32_t)mc_rng_below(r, 7);
    uint64_t calm_ms = p->calm_ns / MS;
    bool *busy = mc_calloc(p->world + 2, sizeof *busy);
    for (uint32_t k = 0; k < nf && p->world > 1; k++) {
        uint64_t t = mc_rng_range(r, 2000, calm_ms - 2000);
        uint64_t d = mc_rng_range(r, 50, 2 * p->hb_ns / MS + 1500);
        uint64_t t2 = t + d < calm_ms - 500 ? t + d : calm_ms - 500;
        if (t2 <= t)
            t2 = t + 1;
        uint32_t who = 2 + (uint32_t)mc_rng_below(r, p->world - 1); /* node index of r1.. */
        uint32_t dice = (uint32_t)mc_rng_below(r, 10);
        if (dice < 3) {
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_CRASH, who);
            fault(s, fcap, t2 * MS, MC_FAULT_RESTART, who);
        } else if (dice < 5) {
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_PAUSE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_RESUME, who);
        } else if (dice < 8) {
            mc_scn_fault_t *f = fault(s, fcap, t * MS, MC_FAULT_PARTITION, UINT32_MAX);
            f->nodes = mc_calloc(1, sizeof(char *));
            f->nodes[0] = nname(who);
            f->nnodes = 1;
            f->oneway = mc_rng_chance(r, 0.3);
            uint32_t peer = mc_rng_below(r, 3) == 0 ? 0 : 1 + (uint32_t)mc_rng_below(r, p->world);
            if (peer != who && mc_rng_chance(r, 0.7)) {
                f->peers = mc_calloc(1, sizeof(char *));
                f->peers[0] = nname(peer);
                f->npeers = 1;
            }
            fault(s, fcap, t2 * MS, MC_FAULT_HEAL, UINT32_MAX);
        } else {
            fault(s, fcap, t * MS, MC_FAULT_XFER_BLACKHOLE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_XFER_BLACKHOLE_OFF, who);
        }
    }
    mc_free(busy);
    fault(s, fcap, p->calm_ns, MC_FAULT_HEAL, UINT32_MAX);
}

static void ep_generate(uint64_t seed, uint32_t max_ranks, mc_scenario_t *s, ep_plan_t *p)
{
    mc_rng_t r;
    size_t fcap = 0, ccap = 0;
    mc_rng_seed(&r, mc_rng_mix(seed ^ 0x6570737761726dULL));
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    uint32_t maxw = max_ranks < 2 ? 2 : max_ranks > 8 ? 8 : max_ranks;
    p->seed = seed;
    p->world = 2 + (uint32_t)mc_rng_below(&r, maxw - 1);
    p->hb_ns = mc_rng_range(&r, 500, 2000) * MS;
    p->calm_ns = mc_rng_range(&r, 10, 25) * SEC;
    mc_swarm_scn_identity(s, "ep-", "ep:", seed, "generated EP group, operations and fault schedule");
    s->net.latency_ns = mc_rng_range(&r, 20, 2000) * 1000;
    s->net.jitter_ns = mc_rng_chance(&r, 0.6) ? mc_rng_range(&r, 0, 300) * 1000 : 0;
    s->net.bandwidth_bps = mc_rng_range(&r, 1, 100) * 1000000000ULL;
    /* No loss/dup/reorder (the plans predate them). Restarted/paused ranks
     * rejoin within a heartbeat timeout; a stream stalled by a cut resumes
     * at the first retransmission after the heal, up to 32 RTOs later
     * (sim/README.md, cuts on connections). */
    p->verify_ns = p->calm_ns + p->hb_ns + 2 * SEC + 32 * (200 * MS + 2 * s->net.latency_ns + s->net.jitter_ns);
    p->final_ns = p->verify_ns + 2 * SEC;
    s->duration_ns = p->final_ns + 6 * SEC;
    s->nnodes = p->world + 1;
    s->nodes = mc_calloc(s->nnodes, sizeof *s->nodes);
    for (uint32_t i = 0; i < s->nnodes; i++) {
        mc_scn_node_t *n = &s->nodes[i];
        n->name = nname(i);
        n->role = mc_strdup(i == 0 ? "ep_coord" : "ep_rank");
        n->nics = 1;
        mc_conf_init(&n->conf);
        mc_swarm_conf_u64(&n->conf, "world", p->world);
        if (i == 0) {
            mc_swarm_conf_ms(&n->conf, "hb_timeout", p->hb_ns);
            mc_conf_set(&n->conf, "proposal_timeout", "3s");
            continue;
        }
        mc_swarm_conf_u64(&n->conf, "rank", i - 1);
        mc_conf_set(&n->conf, "coordinator", "${coord.addr}");
        mc_conf_set(&n->conf, "slot_bytes", "64KiB");
        n->start_ns = mc_rng_range(&r, 0, 500) * MS;
    }
    gen_faults(&r, s, &fcap, p);
    gen_workload(&r, s, &ccap, p);
    mc_swarm_sort(s);
    s->checks.ep = true;
}

/* Liveness: both final operations succeed on every rank over everyone. */
static void ep_check(void *ctx, const mc_scenario_t *scn, const mc_trace_log_t *log, mc_sim_t *sim, FILE *out,
                     size_t *safety, size_t *liveness)
{
    const ep_plan_t *p = ctx;
    (void)scn;
    (void)sim;
    (void)safety;
    char full[32];
    snprintf(full, sizeof full, "%llx", (unsigned long long)((p->world >= 64) ? ~0ULL : (1ULL << p->world) - 1));
    uint64_t good = 0;
    for (size_t i = 0; i < log->n; i++) {
        const mc_trace_rec_t *r = &log->recs[i];
        if (r->t_ns < p->final_ns || strcmp(r->event, "ep.op_end") != 0)
            continue;
        good += mc_trace_field_eq(r->fields, "status", "OK") && mc_trace_field_eq(r->fields, "set", full);
    }
    bool ok = good == 2ULL * p->world;
    *liveness += !ok;
    fprintf(out, "  %s [liveness] after calm every rank is recovered and 2 final ops succeed on all %u ranks (%llu/%u)\n",
            ok ? "ok" : "FAIL", p->world, (unsigned long long)good, 2 * p->world);
}

static void print_plan(FILE *out, const mc_scenario_t *s, const ep_plan_t *p)
{
    fprintf(out, "ep swarm seed %llu: coordinator + %u ranks, %u ops, hb_timeout=%llums, calm at %.3fs, final ops at "
                 "%.3fs, duration %.3fs\n",
            (unsigned long long)p->seed, p->world, p->nops, (unsigned long long)(p->hb_ns / MS),
            (double)p->calm_ns / 1e9, (double)p->final_ns / 1e9, (double)s->duration_ns / 1e9);
    mc_swarm_print_faults(out, s);
}

int mc_swarm_ep_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res)
{
    mc_scenario_t scn;
    ep_plan_t plan;
    ep_generate(seed, o->max_clients, &scn, &plan);
    print_plan(out, &scn, &plan);
    return mc_swarm_run_generated(&scn, seed, o, out, ep_check, &plan, res);
}
