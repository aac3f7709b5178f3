/* Swarm: per seed, a random membership cluster (1 master + 1..K clients),
 * random network and fault schedule, and invariants derived from the
 * membership protocol (core/membership):
 *
 *  - clients ping every 1 s; the master expires a client after client_ttl
 *    without a ping or register from it (monitor tick every 1 s);
 *  - trace: master.client_seen / client_registered / client_expired
 *    client=<name>, client.registered client=<name>.
 *
 * Safety: a client no fault ever touched (and whose master no fault
 * touched, on a loss-free or forgiving network) is never expired.
 * Liveness, after every fault is undone ("calm") plus TTL plus margin:
 * each live client has registered since its last boot and the master
 * holds exactly one registered entry for it; each client left crashed is
 * gone from the master.
 *
 * Every seed runs in a fork()ed child so that an abort or a sanitizer
 * report is caught and reported as a crash with its seed. */
#include "sim_swarm.h"
#include "sim_swarm_gen.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "base/mc_rng.h"

#define SEC MC_NS_PER_S
#define MS MC_NS_PER_MS
#define MAX_CLIENTS 64

typedef struct swarm_plan {
    uint64_t seed;
    uint32_t nclients;
    uint64_t ttl_ns;
    uint64_t calm_ns;          /* every fault undone by then */
    bool disturbed[MAX_CLIENTS + 1]; /* index 0 = master */
    bool stays_down[MAX_CLIENTS + 1];
    uint64_t down_at[MAX_CLIENTS + 1];
} swarm_plan_t;

void mc_swarm_opts_init(mc_swarm_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed_from = 1;
    o->seed_to = 100;
    o->jobs = 2;
    o->max_clients = 8;
    o->log_level = MC_LOG_ERROR + 1;
}

/* ---- scenario generation ---- */

static char *node_name(uint32_t i)
{
    char b[16];
    if (i == 0)
        return mc_strdup("master");
    snprintf(b, sizeof b, "c%u", i);
    return mc_strdup(b);
}

static mc_scn_fault_t *add_fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k)
{
    return mc_swarm_add_fault(s, cap, at, k, NULL);
}

static void add_expect(mc_scenario_t *s, size_t *cap, const char *event, const char *node,
                       const char *client, uint64_t min, uint64_t max, mc_expect_kind_t kind,
                       const char *text)
{
    if (s->nexpects == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        s->expects = mc_realloc(s->expects, *cap * sizeof *s->expects);
    }
    mc_scn_expect_t *e = &s->expects[s->nexpects++];
    memset(e, 0, sizeof *e);
    e->event = mc_strdup(event);
    e->node = node ? mc_strdup(node) : NULL;
    mc_conf_init(&e->fields);
    if (client)
        mc_conf_set(&e->fields, "client", client);
    e->to_ns = MC_SCN_END;
    e->min = min;
    e->max = max;
    e->kind = kind;
    e->text = mc_strdup(text);
}

static uint64_t rnd_range(mc_rng_t *r, uint64_t lo, uint64_t hi) { return mc_rng_range(r, lo, hi); }

/* A fault on node i (0 = master). */
static uint32_t pick_node(mc_rng_t *r, const swarm_plan_t *p)
{
    /* master is hit less often so that some seeds keep a meaningful
     * "undisturbed clients are never expired" check */
    if (mc_rng_chance(r, 0.12))
        return 0;
    return 1 + (uint32_t)mc_rng_below(r, p->nclients);
}

/* Build the scenario for a seed, and the plan the checks need. */
static void swarm_generate(uint64_t seed, uint32_t max_clients, mc_scenario_t *s, swarm_plan_t *p)
{
    mc_rng_t r;
    size_t fcap = 0, ecap = 0;
    char buf[256];
    mc_rng_seed(&r, mc_rng_mix(seed ^ 0x737761726dULL));
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    if (max_clients < 1)
        max_clients = 1;
    if (max_clients > MAX_CLIENTS)
        max_clients = MAX_CLIENTS;
    p->seed = seed;
    p->nclients = 1 + (uint32_t)mc_rng_below(&r, max_clients);
    p->ttl_ns = rnd_range(&r, 2000, 10000) * MS;

    mc_swarm_scn_identity(s, "", "", seed, "generated membership cluster and fault schedule");

    /* network: sub-interval latency, some seeds lossy/duplicating/reordering */
    s->net.latency_ns = rnd_range(&r, 50, 20000) * 1000;
    s->net.jitter_ns = mc_rng_chance(&r, 0.7) ? rnd_range(&r, 0, 20000) * 1000 : 0;
    s->net.bandwidth_bps = mc_rng_chance(&r, 0.5) ? rnd_range(&r, 1, 100) * 1000000000ULL : 0;
    s->net.loss = mc_rng_chance(&r, 0.5) ? mc_rng_double(&r) * 0.01 : 0;
    s->net.dup = mc_rng_chance(&r, 0.25) ? mc_rng_double(&r) * 0.01 : 0;
    s->net.reorder = mc_rng_chance(&r, 0.25) ? mc_rng_double(&r) * 0.01 : 0;

    /* nodes */
    s->nnodes = p->nclients + 1;
    s->nodes = mc_calloc(s->nnodes, sizeof *s->nodes);
    for (uint32_t i = 0; i < s->nnodes; i++) {
        mc_scn_node_t *n = &s->nodes[i];
        n->name = node_name(i);
        n->role = mc_strdup(i == 0 ? "member_master" : "member_client");
        n->nics = 1;
        mc_conf_init(&n->conf);
        if (i == 0) {
            snprintf(buf, sizeof buf, "%llums", (unsigned long long)(p->ttl_ns / MS));
            mc_conf_set(&n->conf, "client_ttl", buf);
        } else {
            mc_conf_set(&n->conf, "master", "${master.addr}");
            n->start_ns = rnd_range(&r, 0, 3000) * MS;
        }
    }

    /* faults in [5s, fault_end); each undone by fault_end = calm */
    uint64_t fault_end = (5 + rnd_range(&r, 10, 40)) * SEC;
    p->calm_ns = fault_end;
    s->duration_ns = fault_end + p->ttl_ns + 20 * SEC;
    uint32_t nf = (uint32_t)mc_rng_below(&r, 9);
    bool crashed[MAX_CLIENTS + 1] = {0};
    for (uint32_t k = 0; k < nf; k++) {
        uint64_t t = rnd_range(&r, 5000, fault_end / MS - 1000) * MS;
        uint64_t d = rnd_range(&r, 300, 2 * p->ttl_ns / MS + 2000) * MS;
        uint64_t t2 = t + d < fault_end ? t + d : fault_end - 500 * MS;
        if (t2 <= t)
            t2 = t + 1;
        uint32_t who = pick_node(&r, p);
        mc_scn_fault_t *f;
        switch (mc_rng_below(&r, 8)) {
        case 0: /* crash, maybe for good (clients only) */
            f = add_fault(s, &fcap, t, MC_FAULT_CRASH);
            f->node = node_name(who);
            p->disturbed[who] = true;
            if (who != 0 && !crashed[who] && mc_rng_chance(&r, 0.3)) {
                crashed[who] = true;
                p->stays_down[who] = true;
                p->down_at[who] = t;
            } else {
                f = add_fault(s, &fcap, t2, MC_FAULT_RESTART);
                f->node = node_name(who);
            }
            break;
        case 1: /* restart in place */
            f = add_fault(s, &fcap, t, MC_FAULT_RESTART);
            f->node = node_name(who);
            p->disturbed[who] = true;
            break;
        case 2: /* pause (SIGSTOP) */
            f = add_fault(s, &fcap, t, MC_FAULT_PAUSE);
            f->node = node_name(who);
            f = add_fault(s, &fcap, t2, MC_FAULT_RESUME);
            f->node = node_name(who);
            p->disturbed[who] = true;
            break;
        case 3:
        case 4: { /* partition some clients from the master, maybe one way */
            uint32_t c = 1 + (uint32_t)mc_rng_below(&r, p->nclients);
            f = add_fault(s, &fcap, t, MC_FAULT_PARTITION);
            f->oneway = mc_rng_chance(&r, 0.3);
            bool master_side = mc_rng_chance(&r, 0.5);
            f->nodes = mc_calloc(1, sizeof(char *));
            f->peers = mc_calloc(1, sizeof(char *));
            f->nodes[0] = node_name(master_side ? 0 : c);
            f->peers[0] = node_name(master_side ? c : 0);
            f->nnodes = f->npeers = 1;
            p->disturbed[c] = true;
            add_fault(s, &fcap, t2, MC_FAULT_HEAL);
            break;
        }
        case 5: /* NIC down */
            f = add_fault(s, &fcap, t, MC_FAULT_NIC_DOWN);
            f->node = node_name(who);
            f = add_fault(s, &fcap, t2, MC_FAULT_NIC_UP);
            f->node = node_name(who);
            p->disturbed[who] = true;
            break;
        case 6: /* clock drift, back to true rate later */
            f = add_fault(s, &fcap, t, MC_FAULT_CLOCK_DRIFT);
            f->node = node_name(who);
            f->rate = 0.8 + mc_rng_double(&r) * 0.45;
            f = add_fault(s, &fcap, t2, MC_FAULT_CLOCK_DRIFT);
            f->node = node_name(who);
            f->rate = 1.0;
            p->disturbed[who] = true;
            break;
        default: /* clock step forward */
            f = add_fault(s, &fcap, t, MC_FAULT_CLOCK_STEP);
            f->node = node_name(who);
            f->step_ns = rnd_range(&r, 1, 5000) * MS;
            p->disturbed[who] = true;
            break;
        }
    }
    /* calm: the network stops losing frames so liveness has a fair chance */
    mc_scn_fault_t *f = add_fault(s, &fcap, fault_end, MC_FAULT_NET);
    f->net = s->net;
    f->net.loss = f->net.dup = f->net.reorder = 0;
    add_fault(s, &fcap, fault_end, MC_FAULT_HEAL);

    /* faults sorted by time, stable (generation order breaks ties) */
    for (size_t i = 1; i < s->nfaults; i++) {
        mc_scn_fault_t tmp = s->faults[i];
        size_t j = i;
        while (j > 0 && s->faults[j - 1].at_ns > tmp.at_ns) {
            s->faults[j] = s->faults[j - 1];
            j--;
        }
        s->faults[j] = tmp;
    }
    /* a "stays down" client restarted by a later overlapping fault is up */
    for (size_t i = 0; i < s->nfaults; i++) {
        const mc_scn_fault_t *g = &s->faults[i];
        if (g->kind != MC_FAULT_RESTART || !g->node)
            continue;
        for (uint32_t c = 1; c <= p->nclients; c++)
            if (p->stays_down[c] && g->at_ns >= p->down_at[c] && strcmp(g->node, s->nodes[c].name) == 0)
                p->stays_down[c] = false;
    }

    /* expectations the membership protocol must meet */
    bool forgiving = s->net.loss == 0 || p->ttl_ns >= 6 * SEC;
    for (uint32_t c = 1; c <= p->nclients; c++) {
        const char *name = s->nodes[c].name;
        if (!p->disturbed[0] && !p->disturbed[c] && forgiving) {
            snprintf(buf, sizeof buf, "%s is never disturbed, so the master never expires it", name);
            add_expect(s, &ecap, "master.client_expired", "master", name, 0, 0, MC_EXPECT_SAFETY, buf);
        }
        if (!p->stays_down[c]) {
            snprintf(buf, sizeof buf, "%s registers with the master", name);
            add_expect(s, &ecap, "client.registered", name, name, 1, UINT64_MAX, MC_EXPECT_LIVENESS, buf);
        }
    }
}

/* ---- the trace-derived checks (run after the run, on its trace log) ---- */

#define VIEW_MAX 16

static void swarm_check(void *ctx, const mc_scenario_t *scn, const mc_trace_log_t *log, mc_sim_t *sim,
                        FILE *out, size_t *safety, size_t *liveness)
{
    const swarm_plan_t *p = ctx;
    uint32_t nc = p->nclients;
    /* master view: per client name, entries (a restarted client has a new
     * uuid, so the old entry lingers until it expires) */
    /* ent[c][k]: k-th oldest master entry for c, true once registered */
    bool ent[MAX_CLIENTS + 1][VIEW_MAX];
    uint32_t nent[MAX_CLIENTS + 1] = {0};
    uint64_t last_boot[MAX_CLIENTS + 1] = {0}, last_reg[MAX_CLIENTS + 1] = {0};
    bool ever_reg[MAX_CLIENTS + 1] = {0};
    char cname[64];
    for (size_t i = 0; i < log->n; i++) {
        const mc_trace_rec_t *rec = &log->recs[i];
        bool from_master = strcmp(rec->node, "master") == 0;
        if (from_master && (strcmp(rec->event, "sim.node_start") == 0 || strcmp(rec->event, "sim.node_crash") == 0)) {
            memset(nent, 0, sizeof nent);
            continue;
        }
        if (rec->node[0] == 'c' && strcmp(rec->event, "sim.node_start") == 0) {
            uint32_t c = (uint32_t)atoi(rec->node + 1);
            if (c >= 1 && c <= nc)
                last_boot[c] = rec->t_ns, ever_reg[c] = false;
            continue;
        }
        if (strncmp(rec->event, "master.client_", 14) != 0 && strcmp(rec->event, "client.registered") != 0)
            continue;
        if (!mc_trace_field(rec->fields, "client", cname, sizeof cname) || cname[0] != 'c')
            continue;
        uint32_t c = (uint32_t)atoi(cname + 1);
        if (c < 1 || c > nc)
            continue;
        if (strcmp(rec->event, "client.registered") == 0) {
            ever_reg[c] = true;
            last_reg[c] = rec->t_ns;
        } else if (strcmp(rec->event, "master.client_seen") == 0) {
            if (nent[c] < VIEW_MAX)
                ent[c][nent[c]++] = false;
        } else if (strcmp(rec->event, "master.client_registered") == 0) {
            if (nent[c] > 0)
                ent[c][nent[c] - 1] = true; /* the newest entry is the one registering */
        } else if (strcmp(rec->event, "master.client_expired") == 0) {
            /* deadlines follow last contact, so the oldest entry goes first */
            if (nent[c] > 0) {
                memmove(&ent[c][0], &ent[c][1], (nent[c] - 1) * sizeof ent[c][0]);
                nent[c]--;
            }
        }
    }
    uint64_t end = mc_sim_now(sim);
    for (uint32_t c = 1; c <= nc; c++) {
        int id = mc_sim_node_find(sim, scn->nodes[c].name);
        bool up = id >= 0 && mc_sim_node_up(sim, id);
        if (up) {
            bool ok = nent[c] == 1 && ent[c][0];
            if (!ok)
                (*liveness)++;
            fprintf(out, "  %s [liveness] c%u is live at the end: the master holds exactly one registered entry for it (has %u, newest %s)\n",
                    ok ? "ok" : "FAIL", c, nent[c], nent[c] && ent[c][nent[c] - 1] ? "registered" : "unregistered");
            ok = ever_reg[c] && last_reg[c] >= last_boot[c];
            if (!ok)
                (*liveness)++;
            fprintf(out, "  %s [liveness] c%u registered since its last boot\n", ok ? "ok" : "FAIL", c);
        } else if (p->stays_down[c] && end - p->down_at[c] > p->ttl_ns + 3 * SEC) {
            bool ok = nent[c] == 0;
            if (!ok)
                (*liveness)++;
            fprintf(out, "  %s [liveness] c%u crashed for good: the master forgot it (has %u entries)\n",
                    ok ? "ok" : "FAIL", c, nent[c]);
        }
    }
    (void)safety;
}

/* ---- printing a plan ---- */

static void print_plan(FILE *out, const mc_scenario_t *s, const swarm_plan_t *p)
{
    fprintf(out, "swarm seed %llu: master + %u clients, client_ttl=%llums, calm at %.3fs, duration %.3fs\n",
            (unsigned long long)p->seed, p->nclients, (unsigned long long)(p->ttl_ns / MS),
            (double)p->calm_ns / 1e9, (double)s->duration_ns / 1e9);
    for (size_t i = 0; i < s->nfaults; i++) {
        const mc_scn_fault_t *f = &s->faults[i];
        fprintf(out, "  fault @%.3fs %s", (double)f->at_ns / 1e9, mc_fault_kind_name(f->kind));
        if (f->node)
            fprintf(out, " node=%s", f->node);
        if (f->kind == MC_FAULT_PARTITION)
            fprintf(out, " %s -> %s%s", f->nodes[0], f->peers[0], f->oneway ? " (one way)" : "");
        if (f->kind == MC_FAULT_CLOCK_DRIFT)
            fprintf(out, " rate=%g", f->rate);
        if (f->kind == MC_FAULT_CLOCK_STEP)
            fprintf(out, " step=%.3fs", (double)f->step_ns / 1e9);
        fputc('\n', out);
    }
}

void mc_swarm_scn_identity(mc_scenario_t *s, const char *prefix, const char *tag, uint64_t seed, const char *desc)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%sswarm-%llu", prefix, (unsigned long long)seed);
    s->name = mc_strdup(buf);
    s->description = mc_strdup(desc);
    snprintf(buf, sizeof buf, "swarm:%sseed=%llu", tag, (unsigned long long)seed);
    s->file = mc_strdup(buf);
    s->seed = seed;
}

const char *mc_swarm_workload_name(mc_swarm_workload_t w)
{
    switch (w) {
    case MC_SWARM_STORE:
        return "store";
    case MC_SWARM_EP:
        return "ep";
    case MC_SWARM_TE:
        return "te";
    default:
        return "membership";
    }
}

/* Run one seed in this process. */
static int run_seed_once(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res)
{
    if (o->workload == MC_SWARM_STORE)
        return mc_swarm_store_run_seed(seed, o, out, res);
    if (o->workload == MC_SWARM_EP)
        return mc_swarm_ep_run_seed(seed, o, out, res);
    if (o->workload == MC_SWARM_TE)
        return mc_swarm_te_run_seed(seed, o, out, res);
    mc_scenario_t scn;
    swarm_plan_t plan;
    swarm_generate(seed, o->max_clients, &scn, &plan);
    print_plan(out, &scn, &plan);
    return mc_swarm_run_generated(&scn, seed, o, out, swarm_check, &plan, res);
}

int mc_swarm_run_generated(mc_scenario_t *scn, uint64_t seed, const mc_swarm_opts_t *o, FILE *out,
                           mc_sim_check_fn check, void *check_ctx, mc_sim_run_result_t *res)
{
    mc_sim_run_opts_t ro;
    mc_sim_run_opts_init(&ro);
    ro.seed_set = true;
    ro.seed = seed;
    ro.out = out;
    ro.verbose = o->verbose;
    ro.log_level = o->log_level;
    ro.trace_out = o->trace_out;
    ro.check = check;
    ro.check_ctx = check_ctx;
    int rc = mc_sim_run_scenario(scn, &ro, res);
    mc_scenario_free(scn);
    return rc;
}

/* --twice: the same seed in a child forked BEFORE our own run, so both
 * runs start from identical process state and any difference is the
 * simulation's. (Comparing two runs inside one process also compares heap
 * layouts: see docs/known-issues.md, "stale segment descriptors".) */
static pid_t twice_fork(uint64_t seed, const mc_swarm_opts_t *o, int *rfd)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        mc_swarm_opts_t once = *o;
        once.twice = false;
        once.trace_out = NULL;
        once.verbose = false;
        FILE *devnull = fopen("/dev/null", "w");
        mc_sim_run_result_t r;
        memset(&r, 0, sizeof r);
        run_seed_once(seed, &once, devnull ? devnull : stdout, &r);
        ssize_t w = write(fds[1], &r.hash, sizeof r.hash);
        _exit(w == (ssize_t)sizeof r.hash ? 0 : 1);
    }
    close(fds[1]);
    *rfd = fds[0];
    return pid;
}

int mc_swarm_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res)
{
    int rfd = -1;
    pid_t twin = o->twice ? twice_fork(seed, o, &rfd) : 0;
    int rc = run_seed_once(seed, o, out, res);
    if (!o->twice)
        return rc;
    uint64_t other = 0;
    int status = 0;
    bool got = twin > 0 && read(rfd, &other, sizeof other) == (ssize_t)sizeof other;
    if (rfd >= 0)
        close(rfd);
    if (twin > 0)
        waitpid(twin, &status, 0);
    if (rc == MC_SIM_EXIT_BAD_SCENARIO)
        return rc;
    if (!got) {
        fprintf(out, "FAIL [crash] determinism: the second run did not report a hash\n");
        return res->exit_code = MC_SIM_EXIT_CRASH;
    }
    if (other != res->hash) {
        fprintf(out, "FAIL [safety] determinism: second run hash %016llx != %016llx\n", (unsigned long long)other,
                (unsigned long long)res->hash);
        rc = res->exit_code = MC_SIM_EXIT_SAFETY;
    }
    return rc;
}

/* ---- the parallel driver ---- */

typedef struct job {
    pid_t pid;
    uint64_t seed;
    FILE *tmp;
} job_t;

static const char *code_name(int rc)
{
    switch (rc) {
    case MC_SIM_EXIT_OK: return "pass";
    case MC_SIM_EXIT_SAFETY: return "SAFETY FAILURE";
    case MC_SIM_EXIT_LIVENESS: return "LIVENESS FAILURE";
    case MC_SIM_EXIT_BAD_SCENARIO: return "BAD SCENARIO";
    default: return "CRASH";
    }
}

typedef struct swarm_tot {
    uint64_t seeds, failures, events, sim_ns;
    int worst;
} swarm_tot_t;

static void reap(job_t *j, int status, const mc_swarm_opts_t *o, swarm_tot_t *tot)
{
    int rc;
    char sig[64] = "";
    if (WIFEXITED(status)) {
        rc = WEXITSTATUS(status);
        if (rc != 0 && rc != MC_SIM_EXIT_SAFETY && rc != MC_SIM_EXIT_LIVENESS && rc != MC_SIM_EXIT_BAD_SCENARIO) {
            snprintf(sig, sizeof sig, " (child exit %d)", rc);
            rc = MC_SIM_EXIT_CRASH;
        }
    } else {
        rc = MC_SIM_EXIT_CRASH;
        snprintf(sig, sizeof sig, " (signal %d: %s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    /* the child's report, and its machine line "@swarm events=.. sim_ns=.." */
    char line[1024];
    unsigned long long ev = 0, sns = 0;
    rewind(j->tmp);
    if (rc != 0)
        printf("=== seed %llu: %s%s\n", (unsigned long long)j->seed, code_name(rc), sig);
    while (fgets(line, sizeof line, j->tmp)) {
        if (sscanf(line, "@swarm events=%llu sim_ns=%llu", &ev, &sns) == 2)
            continue;
        if (rc != 0 || o->verbose)
            fputs(line, stdout);
    }
    if (rc != 0)
        printf("=== replay: mooncake_sim replay --seed %llu%s%s\n", (unsigned long long)j->seed,
               o->workload == MC_SWARM_MEMBERSHIP ? "" : " --workload ",
               o->workload == MC_SWARM_MEMBERSHIP ? "" : mc_swarm_workload_name(o->workload));
    fclose(j->tmp);
    tot->seeds++;
    tot->events += ev;
    tot->sim_ns += sns;
    if (rc != 0) {
        tot->failures++;
        /* precedence: crash > safety > liveness > bad scenario */
        int rank_new = rc == MC_SIM_EXIT_CRASH ? 4 : rc == MC_SIM_EXIT_SAFETY ? 3 : rc == MC_SIM_EXIT_LIVENESS ? 2 : 1;
        int rank_old = tot->worst == MC_SIM_EXIT_CRASH ? 4 : tot->worst == MC_SIM_EXIT_SAFETY ? 3
                       : tot->worst == MC_SIM_EXIT_LIVENESS ? 2 : tot->worst ? 1 : 0;
        if (rank_new > rank_old)
            tot->worst = rc;
    }
    fflush(stdout);
    j->pid = 0;
}

int mc_swarm_main(const mc_swarm_opts_t *o)
{
    uint32_t jobs = o->jobs ? o->jobs : 1;
    job_t *js = mc_calloc(jobs, sizeof *js);
    swarm_tot_t tot = {0};
    uint64_t next = o->seed_from;
    uint32_t running = 0;
    double w0 = mc_sim_wall_now();
    fflush(stdout);
    fflush(stderr);
    while (next <= o->seed_to || running) {
        while (running < jobs && next <= o->seed_to) {
            job_t *j = NULL;
            for (uint32_t i = 0; i < jobs; i++)
                if (!js[i].pid) {
                    j = &js[i];
                    break;
                }
            j->seed = next++;
            j->tmp = tmpfile();
            if (!j->tmp) {
                perror("tmpfile");
                mc_free(js);
                return MC_SIM_EXIT_CRASH;
            }
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                mc_free(js);
                return MC_SIM_EXIT_CRASH;
            }
            if (pid == 0) {
                mc_sim_run_result_t res;
                /* line-buffered: an abort keeps the report up to the crash */
                setvbuf(j->tmp, NULL, _IOLBF, 0);
                int rc = mc_swarm_run_seed(j->seed, o, j->tmp, &res);
                fprintf(j->tmp, "@swarm events=%llu sim_ns=%llu\n", (unsigned long long)res.events,
                        (unsigned long long)res.sim_ns);
                fflush(j->tmp);
                _exit(rc);
            }
            j->pid = pid;
            running++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (uint32_t i = 0; i < jobs; i++)
            if (js[i].pid == pid) {
                reap(&js[i], status, o, &tot);
                running--;
                break;
            }
    }
    double wall = mc_sim_wall_now() - w0;
    printf("%llu seeds, %llu failures\n", (unsigned long long)tot.seeds, (unsigned long long)tot.failures);
    printf("simulated %.1fs in %.2fs wall: %.0f simulated seconds per wall second, %.0f events/s (%llu events, %u jobs)\n",
           (double)tot.sim_ns / 1e9, wall, wall > 0 ? (double)tot.sim_ns / 1e9 / wall : 0.0,
           wall > 0 ? (double)tot.events / wall : 0.0, (unsigned long long)tot.events, jobs);
    mc_free(js);
    return tot.worst;
}
