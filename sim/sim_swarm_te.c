/* TE swarm (mooncake_sim swarm --workload te): per seed a random set of
 * transfer-engine nodes (2..min(K,6), 1..3 NICs each) sharing a metadata
 * server (role te_meta) or using P2PHANDSHAKE, random READ/WRITE batches
 * between random nodes (1 B..512 KiB, 1..4 requests), and a random fault
 * schedule on t1.. (crash + restart, pause, NIC down/up, partitions one or
 * both ways, lost completions), all undone by "calm".
 *
 * Every node owns "buf0", its segment, filled with a pattern derived from
 * its segment name, and a private "scratch" buffer (not a target) that its
 * own transfers use on the local side, each command in a slot of its own,
 * so no two transfers ever touch the same local bytes. A WRITE writes the
 * pattern the target already holds, a READ verifies it: a misplaced slice
 * or a false success shows up as verify=bad.
 *
 * Checked here from the trace:
 *  - safety: no transfer reports verify=bad; every request completes at
 *    most once per node incarnation (te.req_done keyed by batch and task);
 *    every command t0 (never faulted) issued ends (te.cmd_xfer or
 *    te.cmd_refresh), so nothing hangs;
 *  - liveness: after calm, t0 refreshes every peer's descriptor (twice:
 *    the first may time out, after the metadata timeout of 3 s, on a
 *    connection that died behind a partition) and then reads and writes every peer with COMPLETED and
 *    verify=ok. */
#include "sim_swarm.h"
#include "sim_swarm_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_map.h"
#include "base/mc_mem.h"
#include "base/mc_rng.h"

#define SEC MC_NS_PER_S
#define MS MC_NS_PER_MS

typedef struct te_plan {
    uint64_t seed;
    uint32_t nodes; /* te nodes t0.. */
    bool p2p;       /* P2PHANDSHAKE, else a te_meta node "meta" */
    uint32_t ncmds; /* random transfer commands */
    uint64_t *scratch; /* per te node: scratch bytes handed out so far */
    uint64_t buf_size;
    uint64_t calm_ns, verify_ns, final_ns;
} te_plan_t;

static char *tname(uint32_t i)
{
    char b[16];
    snprintf(b, sizeof b, "t%u", i);
    return mc_strdup(b);
}

static mc_scn_fault_t *fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k, uint32_t node)
{
    return mc_swarm_add_fault(s, cap, at, k, node != UINT32_MAX ? tname(node) : NULL);
}

static mc_scn_cmd_t *cmd(mc_scenario_t *s, size_t *cap, uint64_t at, uint32_t node, const char *name)
{
    return mc_swarm_add_cmd(s, cap, at, tname(node), name);
}

static void set_segment(mc_conf_t *c, const te_plan_t *p, uint32_t target)
{
    char b[32];
    if (p->p2p)
        snprintf(b, sizeof b, "${t%u.addr}", target);
    else
        snprintf(b, sizeof b, "t%u", target);
    mc_conf_set(c, "segment", b);
}

/* A read or write from src to dst in a fresh scratch slot of src. */
static void xfer(mc_rng_t *r, mc_scenario_t *s, size_t *cap, te_plan_t *p, uint64_t at, uint32_t src, uint32_t dst,
                 const char *op, uint64_t size, uint64_t count)
{
    mc_scn_cmd_t *c = cmd(s, cap, at, src, op);
    set_segment(&c->args, p, dst);
    mc_swarm_conf_u64(&c->args, "size", size);
    mc_swarm_conf_u64(&c->args, "count", count);
    uint64_t span = size * count;
    mc_swarm_conf_u64(&c->args, "offset", span < p->buf_size ? mc_rng_below(r, p->buf_size - span + 1) : 0);
    mc_conf_set(&c->args, "label", "scratch");
    mc_swarm_conf_u64(&c->args, "local_offset", p->scratch[src]);
    p->scratch[src] += (span + 4095) & ~4095ULL;
}

static void gen_workload(mc_rng_t *r, mc_scenario_t *s, size_t *cap, te_plan_t *p)
{
    uint64_t t = 1 * SEC;
    while (t < p->calm_ns) {
        uint32_t src = (uint32_t)mc_rng_below(r, p->nodes);
        uint32_t dst = (src + 1 + (uint32_t)mc_rng_below(r, p->nodes - 1)) % p->nodes;
        uint64_t size = mc_rng_chance(r, 0.2) ? mc_rng_range(r, 1, 512 * 1024) : mc_rng_range(r, 1, 96 * 1024);
        uint64_t count = 1 + mc_rng_below(r, 4);
        xfer(r, s, cap, p, t, src, dst, mc_rng_chance(r, 0.5) ? "read" : "write", size, count);
        p->ncmds++;
        if (mc_rng_chance(r, 0.05)) { /* refresh a random cached descriptor */
            mc_scn_cmd_t *c = cmd(s, cap, t, src, "refresh");
            set_segment(&c->args, p, dst);
        }
        t += mc_rng_chance(r, 0.3) ? mc_rng_range(r, 0, 5) * MS : mc_rng_range(r, 20, 400) * MS;
    }
    /* verification from t0 */
    for (uint32_t j = 1; j < p->nodes; j++) {
        for (int k = 0; k < 2; k++) {
            mc_scn_cmd_t *c = cmd(s, cap, p->verify_ns + (uint64_t)k * 3500 * MS, 0, "refresh");
            set_segment(&c->args, p, j);
        }
        xfer(r, s, cap, p, p->final_ns, 0, j, "read", 64 * 1024, 2);
        xfer(r, s, cap, p, p->final_ns + SEC, 0, j, "write", 64 * 1024, 2);
    }
}

/* Faults on t1..: each undone before calm. */
static void gen_faults(mc_rng_t *r, mc_scenario_t *s, size_t *fcap, const te_plan_t *p)
{
    uint32_t nf = (uint32_t)mc_rng_below(r, 7);
    uint64_t calm_ms = p->calm_ns / MS;
    bool *busy = mc_calloc(p->nodes, sizeof *busy);
    for (uint32_t k = 0; k < nf; k++) {
        uint64_t t = mc_rng_range(r, 1000, calm_ms - 1500);
        uint64_t d = mc_rng_range(r, 50, 4000);
        uint64_t t2 = t + d < calm_ms - 500 ? t + d : calm_ms - 500;
        if (t2 <= t)
            t2 = t + 1;
        uint32_t who = 1 + (uint32_t)mc_rng_below(r, p->nodes - 1);
        const mc_scn_node_t *n = &s->nodes[who];
        uint32_t dice = (uint32_t)mc_rng_below(r, 12);
        if (dice < 3) {
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_CRASH, who);
            fault(s, fcap, t2 * MS, MC_FAULT_RESTART, who);
        } else if (dice < 4) {
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_PAUSE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_RESUME, who);
        } else if (dice < 7) {
            uint32_t nic = (uint32_t)mc_rng_below(r, n->nics);
            fault(s, fcap, t * MS, MC_FAULT_NIC_DOWN, who)->nic = nic;
            fault(s, fcap, t2 * MS, MC_FAULT_NIC_UP, who)->nic = nic;
        } else if (dice < 10) {
            bool oneway = mc_rng_chance(r, 0.3);
            uint32_t peer = (uint32_t)mc_rng_below(r, p->nodes);
            char *peer_name = peer != who && mc_rng_chance(r, 0.7) ? tname(peer) : NULL;
            mc_swarm_add_cut(s, fcap, t * MS, t2 * MS, tname(who), peer_name, oneway);
        } else {
            fault(s, fcap, t * MS, MC_FAULT_XFER_BLACKHOLE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_XFER_BLACKHOLE_OFF, who);
        }
    }
    mc_free(busy);
    if (s->net.loss > 0 || s->net.dup > 0 || s->net.reorder > 0) { /* calm: a clean network */
        mc_scn_fault_t *f = fault(s, fcap, p->calm_ns, MC_FAULT_NET, UINT32_MAX);
        f->net = s->net;
        f->net.loss = f->net.dup = f->net.reorder = 0;
    }
    fault(s, fcap, p->calm_ns, MC_FAULT_HEAL, UINT32_MAX);
}

static void te_generate(uint64_t seed, uint32_t max_nodes, mc_scenario_t *s, te_plan_t *p)
{
    mc_rng_t r;
    size_t fcap = 0, ccap = 0;
    mc_rng_seed(&r, mc_rng_mix(seed ^ 0x7465737761726dULL));
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    uint32_t maxn = max_nodes < 2 ? 2 : max_nodes > 6 ? 6 : max_nodes;
    p->seed = seed;
    p->nodes = 2 + (uint32_t)mc_rng_below(&r, maxn - 1);
    p->p2p = mc_rng_chance(&r, 0.5);
    p->buf_size = (1 + mc_rng_below(&r, 4)) << 20;
    p->scratch = mc_calloc(p->nodes, sizeof *p->scratch);
    p->calm_ns = mc_rng_range(&r, 6, 20) * SEC;
    p->verify_ns = p->calm_ns + 1 * SEC;
    p->final_ns = p->verify_ns + 8 * SEC; /* two refreshes, each bounded by the 3 s metadata timeout */
    s->duration_ns = p->final_ns + 8 * SEC;
    mc_swarm_scn_identity(s, "te-", "te:", seed, "generated TE nodes, transfers and fault schedule");
    s->net.latency_ns = mc_rng_range(&r, 5, 500) * 1000;
    s->net.jitter_ns = mc_rng_chance(&r, 0.5) ? mc_rng_range(&r, 0, 100) * 1000 : 0;
    s->net.bandwidth_bps = mc_rng_range(&r, 1, 100) * 1000000000ULL;
    /* Lossy links on some seeds: TE control messages ride connections, where
     * loss/dup/reorder are retransmission and head-of-line delay
     * (sim_net.c). Drawn from a stream of their own so that the rest of a
     * seed's plan is what it was before they were added. */
    mc_rng_t rn;
    mc_rng_seed(&rn, mc_rng_mix(seed ^ 0x74656e6574ULL));
    s->net.loss = mc_rng_chance(&rn, 0.25) ? mc_rng_double(&rn) * 0.005 : 0;
    s->net.dup = mc_rng_chance(&rn, 0.15) ? mc_rng_double(&rn) * 0.01 : 0;
    s->net.reorder = mc_rng_chance(&rn, 0.15) ? mc_rng_double(&rn) * 0.01 : 0;
    s->nnodes = p->nodes + (p->p2p ? 0 : 1);
    s->nodes = mc_calloc(s->nnodes, sizeof *s->nodes);
    const char *timeout = mc_rng_chance(&r, 0.5) ? "1s" : "3s";
    for (uint32_t i = 0; i < s->nnodes; i++) {
        mc_scn_node_t *n = &s->nodes[i];
        mc_conf_init(&n->conf);
        if (i == p->nodes) {
            n->name = mc_strdup("meta");
            n->role = mc_strdup("te_meta");
            n->nics = 1;
            continue;
        }
        n->name = tname(i);
        n->role = mc_strdup("te");
        /* After the metadata server: a TE publishes its descriptor once, at
         * creation (upstream), so a server that is not up yet loses it. */
        n->start_ns = mc_rng_range(&r, 50, 300) * MS;
        n->nics = 1 + (uint32_t)mc_rng_below(&r, 3);
        mc_swarm_conf_u64(&n->conf, "nics", n->nics);
        mc_conf_set(&n->conf, "metadata_server", p->p2p ? "P2PHANDSHAKE" : "${meta.addr}");
        mc_swarm_conf_u64(&n->conf, "buffer_size", p->buf_size);
        mc_conf_set(&n->conf, "transfer_timeout", timeout);
        mc_conf_set(&n->conf, "rpc_timeout", "1s");
        if (mc_rng_chance(&r, 0.3))
            mc_conf_set(&n->conf, "slice_timeout", "500ms");
        if (mc_rng_chance(&r, 0.3))
            mc_conf_set(&n->conf, "rail_pause", "2s");
    }
    gen_faults(&r, s, &fcap, p);
    gen_workload(&r, s, &ccap, p);
    /* The scratch buffer, sized for every slot this node uses, registered
     * at start and again after each restart (a restart loses it). */
    for (uint32_t i = 0; i < p->nodes; i++) {
        uint64_t size = p->scratch[i] ? p->scratch[i] : 4096;
        mc_scn_cmd_t *c = cmd(s, &ccap, s->nodes[i].start_ns + MS, i, "register");
        mc_swarm_conf_u64(&c->args, "size", size);
        mc_conf_set(&c->args, "label", "scratch");
        mc_conf_set(&c->args, "remote", "false");
        for (size_t k = 0; k < s->nfaults; k++)
            if (s->faults[k].kind == MC_FAULT_RESTART && strcmp(s->faults[k].node, s->nodes[i].name) == 0) {
                c = cmd(s, &ccap, s->faults[k].at_ns + MS, i, "register");
                mc_swarm_conf_u64(&c->args, "size", size);
                mc_conf_set(&c->args, "label", "scratch");
                mc_conf_set(&c->args, "remote", "false");
            }
    }
    mc_swarm_sort(s);
}

static bool is_xfer_cmd(const char *fields)
{
    return mc_trace_field_eq(fields, "cmd", "read") || mc_trace_field_eq(fields, "cmd", "write") ||
           mc_trace_field_eq(fields, "cmd", "refresh");
}

static void te_check(void *ctx, const mc_scenario_t *scn, const mc_trace_log_t *log, mc_sim_t *sim, FILE *out,
                     size_t *safety, size_t *liveness)
{
    const te_plan_t *p = ctx;
    (void)scn;
    (void)sim;
    uint64_t bad = 0, dup = 0, issued0 = 0, ended0 = 0, good_final = 0;
    mc_map_t seen; /* "node#incarnation/batch/task" */
    mc_map_init(&seen);
    uint32_t *inc = mc_calloc(p->nodes + 1, sizeof *inc);
    for (size_t i = 0; i < log->n; i++) {
        const mc_trace_rec_t *r = &log->recs[i];
        bool t0 = strcmp(r->node, "t0") == 0;
        if (strcmp(r->event, "sim.node_start") == 0 && r->node[0] == 't') {
            inc[strtoul(r->node + 1, NULL, 10) % (p->nodes + 1)]++;
        } else if (strcmp(r->event, "te.cmd_xfer") == 0) {
            bad += mc_trace_field_eq(r->fields, "verify", "bad");
            ended0 += t0;
            good_final += t0 && r->t_ns >= p->final_ns && mc_trace_field_eq(r->fields, "status", "COMPLETED") &&
                          mc_trace_field_eq(r->fields, "verify", "ok");
        } else if (strcmp(r->event, "te.cmd_refresh") == 0) {
            ended0 += t0;
        } else if (t0 && strcmp(r->event, "sim.cmd") == 0 && mc_trace_field_eq(r->fields, "status", "OK") &&
                   is_xfer_cmd(r->fields)) {
            issued0++;
        } else if (strcmp(r->event, "te.req_done") == 0 && r->node[0] == 't') {
            char batch[32] = "", task[32] = "", key[128];
            mc_trace_field(r->fields, "batch", batch, sizeof batch);
            mc_trace_field(r->fields, "task", task, sizeof task);
            snprintf(key, sizeof key, "%s#%u/%s/%s", r->node, inc[strtoul(r->node + 1, NULL, 10) % (p->nodes + 1)],
                     batch, task);
            bool inserted;
            mc_map_slot(&seen, key, strlen(key), &inserted);
            dup += !inserted;
        }
    }
    mc_map_free(&seen);
    mc_free(inc);
    bool ok_bad = bad == 0, ok_dup = dup == 0, ok_end = issued0 == ended0;
    bool ok_final = good_final == 2ULL * (p->nodes - 1);
    *safety += !ok_bad + !ok_dup + !ok_end;
    *liveness += !ok_final;
    fprintf(out, "  %s [safety] no transfer returned wrong bytes (%llu verify=bad)\n", ok_bad ? "ok" : "FAIL",
            (unsigned long long)bad);
    fprintf(out, "  %s [safety] every request completed at most once (%llu duplicates)\n", ok_dup ? "ok" : "FAIL",
            (unsigned long long)dup);
    fprintf(out, "  %s [safety] every command t0 issued ended (%llu issued, %llu ended)\n", ok_end ? "ok" : "FAIL",
            (unsigned long long)issued0, (unsigned long long)ended0);
    fprintf(out, "  %s [liveness] after calm t0 reads and writes every peer (%llu/%u COMPLETED, verified)\n",
            ok_final ? "ok" : "FAIL", (unsigned long long)good_final, 2 * (p->nodes - 1));
}

static void print_plan(FILE *out, const mc_scenario_t *s, const te_plan_t *p)
{
    fprintf(out, "te swarm seed %llu: %u nodes (%s), %u transfers, segments %llu MiB, calm at %.3fs, final at %.3fs\n",
            (unsigned long long)p->seed, p->nodes, p->p2p ? "P2PHANDSHAKE" : "te_meta", p->ncmds,
            (unsigned long long)(p->buf_size >> 20), (double)p->calm_ns / 1e9, (double)p->final_ns / 1e9);
    mc_swarm_print_faults(out, s);
}

int mc_swarm_te_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res)
{
    mc_scenario_t scn;
    te_plan_t plan;
    te_generate(seed, o->max_clients, &scn, &plan);
    print_plan(out, &scn, &plan);
    int rc = mc_swarm_run_generated(&scn, seed, o, out, te_check, &plan, res);
    mc_free(plan.scratch);
    return rc;
}
