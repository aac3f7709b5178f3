/* Store swarm (mooncake_sim swarm --workload store): per seed a random
 * store cluster (1 master + 2..6 store clients, random segment sizes),
 * a random put/upsert/get/exist/remove workload over a small key space
 * with replica counts 1..3, and a random fault schedule (client
 * crash/restart, pauses shorter or longer than the TTL, partitions and
 * heals, master pauses shorter or longer than the TTL, rarely a master
 * restart, lossy links), all undone by "calm".
 *
 * Checked by: the store_history checker (safety: torn, phantom, stale and
 * lost reads, first writer wins), the roles' invariants (the master's
 * allocator conservation and replica placement, every second), and
 * liveness derived here: c1 is never faulted, and once the cluster has
 * been calm for longer than the TTL and the zombie release timeout it
 * reads every key with a definite answer (OK or OBJECT_NOT_FOUND) and
 * writes and reads back fresh keys. */
#include "sim_swarm.h"
#include "sim_swarm_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "base/mc_rng.h"

#define SEC MC_NS_PER_S
#define MS MC_NS_PER_MS
#define FRESH_KEYS 5

typedef struct store_plan {
    uint64_t seed;
    uint32_t nclients;
    uint32_t nkeys;
    uint64_t ttl_ns, calm_ns, verify_ns;
    bool allow_eviction;
} store_plan_t;

static char *cname(uint32_t i)
{
    char b[16];
    if (i == 0)
        return mc_strdup("master");
    snprintf(b, sizeof b, "c%u", i);
    return mc_strdup(b);
}

static mc_scn_fault_t *fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k, uint32_t node)
{
    return mc_swarm_add_fault(s, cap, at, k, node != UINT32_MAX ? cname(node) : NULL);
}

static mc_scn_cmd_t *cmd(mc_scenario_t *s, size_t *cap, uint64_t at, uint32_t node, const char *name)
{
    return mc_swarm_add_cmd(s, cap, at, cname(node), name);
}

static void set_key(mc_scn_cmd_t *c, const char *prefix, uint64_t k)
{
    char b[32];
    snprintf(b, sizeof b, "%s%llu", prefix, (unsigned long long)k);
    mc_conf_set(&c->args, "key", b);
}

static const uint64_t sizes[] = {16, 4096, 16384, 65536};

static void gen_workload(mc_rng_t *r, mc_scenario_t *s, size_t *ccap, const store_plan_t *p)
{
    uint32_t nops = (uint32_t)mc_rng_range(r, 40, 400);
    for (uint32_t i = 0; i < nops; i++) {
        uint64_t at = mc_rng_range(r, 2000, p->calm_ns / MS) * MS + mc_rng_below(r, 1000) * 1000;
        uint32_t node = 1 + (uint32_t)mc_rng_below(r, p->nclients);
        uint64_t key = mc_rng_below(r, p->nkeys);
        uint64_t dice = mc_rng_below(r, 100);
        mc_scn_cmd_t *c;
        if (mc_rng_chance(r, 0.1)) {
            /* a burst: the same command on k0..kN-1 back to back, from
             * several clients at once, so operations on one key overlap */
            static const char *const burst[] = {"put", "upsert", "get", "get", "exist", "remove"};
            const char *name = burst[mc_rng_below(r, 6)];
            uint32_t who = 1 + (uint32_t)mc_rng_below(r, p->nclients), k = 1 + (uint32_t)mc_rng_below(r, 3);
            for (uint32_t j = 0; j < k; j++) {
                c = cmd(s, ccap, at + j * mc_rng_below(r, 3) * MS, 1 + (who + j) % p->nclients, name);
                mc_conf_set(&c->args, "key", "k{i}");
                c->repeat = 1 + (uint32_t)mc_rng_below(r, p->nkeys);
                c->every_ns = mc_rng_range(r, 100, 3000) * 1000;
                if (name[0] == 'p' || name[0] == 'u') {
                    mc_swarm_conf_u64(&c->args, "size", sizes[mc_rng_below(r, 4)]);
                    mc_swarm_conf_u64(&c->args, "replicas", 1 + mc_rng_below(r, 3));
                }
            }
            continue;
        }
        if (dice < 45) {
            c = cmd(s, ccap, at, node, dice < 30 ? "put" : "upsert");
            set_key(c, "k", key);
            mc_swarm_conf_u64(&c->args, "size", sizes[mc_rng_below(r, 4)]);
            mc_swarm_conf_u64(&c->args, "replicas", 1 + mc_rng_below(r, 3));
            if (mc_rng_chance(r, 0.1))
                mc_conf_set(&c->args, "hard_pin", "1");
            else if (mc_rng_chance(r, 0.1))
                mc_conf_set(&c->args, "soft_pin", "1");
        } else if (dice < 80) {
            c = cmd(s, ccap, at, node, "get");
            set_key(c, "k", key);
        } else if (dice < 88) {
            c = cmd(s, ccap, at, node, "exist");
            set_key(c, "k", key);
        } else if (dice < 98) {
            c = cmd(s, ccap, at, node, "remove");
            set_key(c, "k", key);
            if (mc_rng_chance(r, 0.3))
                mc_conf_set(&c->args, "force", "1");
        } else if (dice < 99) {
            c = cmd(s, ccap, at, node, "remove_by_regex");
            char b[32];
            snprintf(b, sizeof b, "^k%llu", (unsigned long long)key);
            mc_conf_set(&c->args, "pattern", b);
        } else {
            c = cmd(s, ccap, at, node, "remove_all");
        }
    }
    /* verification by c1 (never faulted): read everything, write fresh keys */
    mc_scn_cmd_t *c = cmd(s, ccap, p->verify_ns, 1, "get");
    mc_conf_set(&c->args, "key", "k{i}");
    c->repeat = p->nkeys;
    c->every_ns = 5 * MS;
    c = cmd(s, ccap, p->verify_ns + 500 * MS, 1, "put");
    mc_conf_set(&c->args, "key", "z{i}");
    mc_conf_set(&c->args, "size", "4096");
    c->repeat = FRESH_KEYS;
    c->every_ns = 5 * MS;
    c = cmd(s, ccap, p->verify_ns + 1500 * MS, 1, "get");
    mc_conf_set(&c->args, "key", "z{i}");
    c->repeat = FRESH_KEYS;
    c->every_ns = 5 * MS;
}

/* Faults on c2..cN and the master, each undone before calm. */
static void gen_faults(mc_rng_t *r, mc_scenario_t *s, size_t *fcap, const store_plan_t *p)
{
    uint32_t nf = (uint32_t)mc_rng_below(r, 6);
    uint64_t calm_ms = p->calm_ns / MS, ttl_ms = p->ttl_ns / MS;
    bool master_busy = false;
    bool *busy = mc_calloc(p->nclients + 1, sizeof *busy); /* one process fault per node */
    for (uint32_t k = 0; k < nf; k++) {
        uint64_t t = mc_rng_range(r, 3000, calm_ms - 2000);
        uint64_t d = mc_rng_range(r, 300, 2 * ttl_ms + 2000);
        uint64_t t2 = t + d < calm_ms - 500 ? t + d : calm_ms - 500;
        if (t2 <= t)
            t2 = t + 1;
        uint32_t dice = (uint32_t)mc_rng_below(r, 10);
        uint32_t who = p->nclients >= 2 ? 2 + (uint32_t)mc_rng_below(r, p->nclients - 1) : 0;
        if (dice >= 8) { /* the master: a stall, rarely a restart (loses every object) */
            if (master_busy)
                continue;
            master_busy = true;
            if (dice == 9 && mc_rng_chance(r, 0.3)) {
                fault(s, fcap, t * MS, MC_FAULT_CRASH, 0);
                fault(s, fcap, t2 * MS, MC_FAULT_RESTART, 0);
            } else {
                fault(s, fcap, t * MS, MC_FAULT_PAUSE, 0);
                fault(s, fcap, t2 * MS, MC_FAULT_RESUME, 0);
            }
            continue;
        }
        if (who == 0)
            continue;
        if (dice < 3) { /* crash, restart later or stay down */
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_CRASH, who);
            if (mc_rng_chance(r, 0.7))
                fault(s, fcap, t2 * MS, MC_FAULT_RESTART, who);
        } else if (dice < 5) { /* pause (SIGSTOP), maybe longer than the TTL */
            if (busy[who])
                continue;
            busy[who] = true;
            fault(s, fcap, t * MS, MC_FAULT_PAUSE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_RESUME, who);
        } else if (dice < 7) { /* cut from the master, or from everyone */
            bool oneway = mc_rng_chance(r, 0.3);
            char *peer = mc_rng_chance(r, 0.5) ? cname(0) : NULL;
            mc_swarm_add_cut(s, fcap, t * MS, t2 * MS, cname(who), peer, oneway);
        } else { /* completions lost for a while */
            fault(s, fcap, t * MS, MC_FAULT_XFER_BLACKHOLE, who);
            fault(s, fcap, t2 * MS, MC_FAULT_XFER_BLACKHOLE_OFF, who);
        }
    }
    mc_free(busy);
    /* calm: a loss-free network, every cut healed */
    mc_scn_fault_t *f = fault(s, fcap, p->calm_ns, MC_FAULT_NET, UINT32_MAX);
    f->net = s->net;
    f->net.loss = f->net.dup = f->net.reorder = 0;
    fault(s, fcap, p->calm_ns, MC_FAULT_HEAL, UINT32_MAX);
}

static void store_generate(uint64_t seed, uint32_t max_clients, mc_scenario_t *s, store_plan_t *p)
{
    mc_rng_t r;
    size_t fcap = 0, ccap = 0;
    mc_rng_seed(&r, mc_rng_mix(seed ^ 0x73746f7265ULL));
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    uint32_t maxc = max_clients < 2 ? 2 : max_clients > 6 ? 6 : max_clients;
    p->seed = seed;
    p->nclients = 2 + (uint32_t)mc_rng_below(&r, maxc - 1);
    p->nkeys = 4 + (uint32_t)mc_rng_below(&r, 20);
    p->ttl_ns = mc_rng_range(&r, 2000, 6000) * MS;
    p->calm_ns = mc_rng_range(&r, 15, 40) * SEC;
    uint64_t discard = mc_rng_range(&r, 1000, 5000) * MS;
    uint64_t release = discard + mc_rng_range(&r, 500, 3000) * MS;
    uint64_t settle = (p->ttl_ns > release ? p->ttl_ns : release) + 3 * SEC;

    mc_swarm_scn_identity(s, "store-", "store:", seed, "generated store cluster, workload and fault schedule");
    s->net.latency_ns = mc_rng_range(&r, 20, 2000) * 1000;
    s->net.jitter_ns = mc_rng_chance(&r, 0.6) ? mc_rng_range(&r, 0, 500) * 1000 : 0;
    s->net.bandwidth_bps = mc_rng_range(&r, 1, 100) * 1000000000ULL;
    s->net.loss = mc_rng_chance(&r, 0.25) ? mc_rng_double(&r) * 0.005 : 0;
    /* On connections (store RPCs ride TCP) loss, dup and reorder become
     * retransmission and head-of-line delay, never a lost, repeated or
     * reordered request (sim_net.c): they stall RPCs past their timeouts
     * (the op may still apply). */
    s->net.dup = mc_rng_chance(&r, 0.15) ? mc_rng_double(&r) * 0.01 : 0;
    s->net.reorder = mc_rng_chance(&r, 0.15) ? mc_rng_double(&r) * 0.01 : 0;
    /* A request sent into a cut reaches the master at the first
     * retransmission after the heal, up to 32 RTOs later (sim/README.md,
     * cuts on connections), and may start a write its client gave up on:
     * the zombie sweep frees it `release` after that. */
    settle += 32 * (200 * MS + 2 * s->net.latency_ns + s->net.jitter_ns);
    p->verify_ns = p->calm_ns + settle;
    s->duration_ns = p->verify_ns + 3 * SEC;

    /* Segments: mostly roomy; a quarter of the seeds small enough that
     * eviction runs (the history check then allows it). */
    bool tight = mc_rng_chance(&r, 0.25);
    p->allow_eviction = tight;
    s->nnodes = p->nclients + 1;
    s->nodes = mc_calloc(s->nnodes, sizeof *s->nodes);
    for (uint32_t i = 0; i < s->nnodes; i++) {
        mc_scn_node_t *n = &s->nodes[i];
        n->name = cname(i);
        n->role = mc_strdup(i == 0 ? "store_master" : "store_client");
        n->nics = 1;
        mc_conf_init(&n->conf);
        if (i == 0) {
            mc_swarm_conf_ms(&n->conf, "client_ttl", p->ttl_ns);
            mc_swarm_conf_ms(&n->conf, "default_kv_lease_ttl", mc_rng_range(&r, 100, 3000) * MS);
            mc_swarm_conf_ms(&n->conf, "put_start_discard_timeout", discard);
            mc_swarm_conf_ms(&n->conf, "put_start_release_timeout", release);
            if (tight)
                mc_conf_set(&n->conf, "eviction_high_watermark_ratio", mc_rng_chance(&r, 0.5) ? "0.5" : "0.8");
            continue;
        }
        mc_conf_set(&n->conf, "master", "${master.addr}");
        uint64_t seg = tight ? mc_rng_range(&r, 2, 8) * 64 * 1024 : mc_rng_range(&r, 4, 16) * 1024 * 1024;
        mc_swarm_conf_u64(&n->conf, "segment_size", seg);
        mc_swarm_conf_ms(&n->conf, "rpc_timeout", mc_rng_range(&r, 1000, 3000) * MS);
        mc_swarm_conf_ms(&n->conf, "transfer_timeout", mc_rng_range(&r, 1500, 4000) * MS);
        n->start_ns = mc_rng_range(&r, 0, 1000) * MS;
    }
    gen_faults(&r, s, &fcap, p);
    gen_workload(&r, s, &ccap, p);
    mc_swarm_sort(s);
    s->checks.store_history = true;
    s->checks.allow_eviction = p->allow_eviction;
}

/* Liveness after calm: c1's final reads answer definitely, its fresh
 * writes commit and read back. */
static void store_check(void *ctx, const mc_scenario_t *scn, const mc_trace_log_t *log, mc_sim_t *sim, FILE *out,
                        size_t *safety, size_t *liveness)
{
    const store_plan_t *p = ctx;
    uint64_t reads = 0, definite = 0, puts_ok = 0, fresh_ok = 0, puts_def = 0, fresh_def = 0;
    char op[16], key[32], st[48];
    bool ok;
    (void)scn;
    (void)sim;
    (void)safety;
    for (size_t i = 0; i < log->n; i++) {
        const mc_trace_rec_t *r = &log->recs[i];
        if (r->t_ns < p->verify_ns || strcmp(r->node, "c1") != 0 || strcmp(r->event, "client.op_end") != 0)
            continue;
        if (!mc_trace_field(r->fields, "op", op, sizeof op) || !mc_trace_field(r->fields, "key", key, sizeof key) ||
            !mc_trace_field(r->fields, "status", st, sizeof st))
            continue;
        bool is_ok = strcmp(st, "OK") == 0;
        if (key[0] == 'k' && strcmp(op, "get") == 0) {
            reads++;
            definite += is_ok || strcmp(st, "OBJECT_NOT_FOUND") == 0;
        } else if (key[0] == 'z') {
            if (strcmp(op, "put") == 0) {
                puts_ok += is_ok && mc_trace_field_eq(r->fields, "existed", "0");
                puts_def += is_ok || strcmp(st, "NO_AVAILABLE_HANDLE") == 0;
            } else if (strcmp(op, "get") == 0) {
                fresh_ok += is_ok;
                fresh_def += is_ok || strcmp(st, "OBJECT_NOT_FOUND") == 0;
            }
        }
    }
    ok = reads == p->nkeys && definite == reads;
    *liveness += !ok;
    fprintf(out, "  %s [liveness] after calm c1 reads all %u keys with a definite answer (%llu reads, %llu definite)\n",
            ok ? "ok" : "FAIL", p->nkeys, (unsigned long long)reads, (unsigned long long)definite);
    if (p->allow_eviction) {
        /* Small pools: the fresh keys may be evicted at once, or find the
         * pool full of hard-pinned objects; answers must still be definite. */
        ok = puts_def == FRESH_KEYS && fresh_def == FRESH_KEYS;
        *liveness += !ok;
        fprintf(out, "  %s [liveness] after calm c1's %d fresh puts and reads answer definitely (%llu, %llu)\n",
                ok ? "ok" : "FAIL", FRESH_KEYS, (unsigned long long)puts_def, (unsigned long long)fresh_def);
        return;
    }
    ok = puts_ok == FRESH_KEYS && fresh_ok == FRESH_KEYS;
    *liveness += !ok;
    fprintf(out, "  %s [liveness] after calm c1 writes %d fresh keys and reads them back (%llu put, %llu read)\n",
            ok ? "ok" : "FAIL", FRESH_KEYS, (unsigned long long)puts_ok, (unsigned long long)fresh_ok);
}

static void print_plan(FILE *out, const mc_scenario_t *s, const store_plan_t *p)
{
    fprintf(out,
            "store swarm seed %llu: master + %u clients, %u keys, %zu commands, client_ttl=%llums, calm at %.3fs, "
            "verify at %.3fs, duration %.3fs%s\n",
            (unsigned long long)p->seed, p->nclients, p->nkeys, s->ncmds, (unsigned long long)(p->ttl_ns / MS),
            (double)p->calm_ns / 1e9, (double)p->verify_ns / 1e9, (double)s->duration_ns / 1e9,
            p->allow_eviction ? ", small segments (eviction allowed)" : "");
    for (size_t i = 0; i < s->nnodes; i++)
        fprintf(out, "  node %s segment_size=%s\n", s->nodes[i].name,
                mc_conf_get(&s->nodes[i].conf, "segment_size") ? mc_conf_get(&s->nodes[i].conf, "segment_size")
                                                                : "-");
    mc_swarm_print_faults(out, s);
}

int mc_swarm_store_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res)
{
    mc_scenario_t scn;
    store_plan_t plan;
    store_generate(seed, o->max_clients, &scn, &plan);
    print_plan(out, &scn, &plan);
    return mc_swarm_run_generated(&scn, seed, o, out, store_check, &plan, res);
}
