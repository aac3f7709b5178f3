/* Scenario driver: nodes, faults and commands from an mc_scenario_t into
 * the engine, run to duration, then expectations. */
#include "sim_run.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/mc_mem.h"
#include "env/mc_role.h"

double mc_sim_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mc_sim_parse_log_level(const char *s)
{
    static const char *names[] = {"trace", "debug", "info", "warn", "error"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    if (s[0] >= '0' && s[0] <= '4' && s[1] == 0)
        return s[0] - '0';
    if (strcasecmp(s, "off") == 0 || strcasecmp(s, "none") == 0)
        return MC_LOG_ERROR + 1;
    return -1;
}

void mc_sim_run_opts_init(mc_sim_run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->log_level = MC_LOG_WARN;
    o->out = stdout;
    o->verbose = true;
}

int mc_sim_load_scenario(const char *path, mc_scenario_t *scn, FILE *err)
{
    int rc = MC_SIM_EXIT_BAD_SCENARIO;
    char *buf = NULL;
    char msg[1024];
    FILE *f = fopen(path, "rb");
    memset(scn, 0, sizeof *scn);
    if (!f) {
        fprintf(err, "%s: cannot open scenario file\n", path);
        return rc;
    }
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = mc_malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(err, "%s: read error\n", path);
        goto out;
    }
    buf[n] = 0;
    msg[0] = 0;
    if (mc_scenario_parse(buf, (size_t)n, path, scn, msg, sizeof msg) != MC_OK) {
        fprintf(err, "%s\n", msg[0] ? msg : "bad scenario");
        mc_scenario_free(scn);
        goto out;
    }
    rc = MC_SIM_EXIT_OK;
out:
    mc_free(buf);
    fclose(f);
    return rc;
}

static void collect(void *ctx, uint64_t t, const char *node, const char *event, const char *fields)
{
    mc_trace_log_add(ctx, t, node, event, fields);
}

/* Role invariants (mc_role_t.check) every simulated second and at the end. */
#define ROLE_CHECK_EVERY_NS MC_NS_PER_S

typedef struct role_checks {
    uint64_t end_ns;
    uint64_t runs;
    size_t fails;
    uint64_t first_t;
    char first[600];
} role_checks_t;

static void role_check_now(mc_sim_t *sim, role_checks_t *rc)
{
    char err[600];
    rc->runs++;
    if (mc_sim_check_roles(sim, err, sizeof err) == 0)
        return;
    if (rc->fails++ == 0) {
        rc->first_t = mc_sim_now(sim);
        snprintf(rc->first, sizeof rc->first, "%s", err);
    }
}

static void role_check_tick(mc_sim_t *sim, void *arg)
{
    role_checks_t *rc = arg;
    role_check_now(sim, rc);
    uint64_t next = mc_sim_now(sim) + ROLE_CHECK_EVERY_NS;
    if (next < rc->end_ns)
        mc_sim_at_call(sim, next, role_check_tick, rc);
}

static bool any_role_checks(const mc_scenario_t *scn)
{
    for (size_t i = 0; i < scn->nnodes; i++) {
        const mc_role_t *role = mc_role_find(scn->nodes[i].role);
        if (role && role->check)
            return true;
    }
    return false;
}

static void print_net(FILE *out, const mc_net_model_t *m)
{
    fprintf(out, "net: latency=%lluns jitter=%lluns bandwidth=%llubps loss=%g dup=%g reorder=%g\n",
            (unsigned long long)m->latency_ns, (unsigned long long)m->jitter_ns,
            (unsigned long long)m->bandwidth_bps, m->loss, m->dup, m->reorder);
}

int mc_sim_run_scenario(mc_scenario_t *scn, const mc_sim_run_opts_t *o, mc_sim_run_result_t *r)
{
    FILE *out = o->out;
    mc_trace_log_t log;
    mc_sim_cfg_t cfg;
    mc_sim_t *sim = NULL;
    mc_expect_result_t *res = NULL;
    mc_expect_result_t chk[MC_SCN_MAX_CHECKS];
    role_checks_t rchk = {.end_ns = scn->duration_ns};
    bool role_checks = any_role_checks(scn);
    char err[1024];
    const char *file = scn->file ? scn->file : (scn->name ? scn->name : "scenario");

    memset(r, 0, sizeof *r);
    r->exit_code = MC_SIM_EXIT_BAD_SCENARIO;
    mc_trace_log_init(&log);
    mc_sim_cfg_init(&cfg);
    cfg.seed = o->seed_set ? o->seed : scn->seed;
    cfg.net = scn->net;
    cfg.log_level = o->log_level;
    cfg.trace_out = o->trace_out;
    cfg.on_trace = collect;
    cfg.trace_ctx = &log;
    r->seed = cfg.seed;

    fprintf(out, "scenario: %s (%s)\n", scn->name ? scn->name : "?", file);
    fprintf(out, "seed: %llu\n", (unsigned long long)cfg.seed);
    fprintf(out, "nodes: %zu faults: %zu commands: %zu expectations: %zu duration: %.3fs\n",
            scn->nnodes, scn->nfaults, scn->ncmds, scn->nexpects, (double)scn->duration_ns / 1e9);
    print_net(out, &scn->net);

    sim = mc_sim_create(&cfg);
    for (size_t i = 0; i < scn->nnodes; i++) {
        const mc_scn_node_t *nd = &scn->nodes[i];
        const mc_role_t *role = mc_role_find(nd->role);
        if (!role) {
            fprintf(out, "%s: nodes.%s.role: unknown role '%s'\n", file, nd->name, nd->role);
            goto done;
        }
        if (mc_sim_node_add(sim, nd->name, role, NULL, nd->nics) < 0) {
            fprintf(out, "%s: nodes.%s: duplicate node name\n", file, nd->name);
            goto done;
        }
    }
    err[0] = 0;
    if (mc_scenario_resolve(scn, mc_sim_addr_of, sim, err, sizeof err) != MC_OK) {
        fprintf(out, "%s\n", err);
        goto done;
    }
    for (size_t i = 0; i < scn->nnodes; i++) {
        mc_sim_node_set_conf(sim, (int)i, &scn->nodes[i].conf);
        mc_sim_at_start(sim, (int)i, scn->nodes[i].start_ns);
    }
    for (size_t i = 0; i < scn->nfaults; i++)
        mc_sim_at_fault(sim, &scn->faults[i]);
    for (size_t i = 0; i < scn->ncmds; i++)
        mc_sim_at_cmd(sim, &scn->cmds[i]);
    if (role_checks)
        mc_sim_at_call(sim, ROLE_CHECK_EVERY_NS, role_check_tick, &rchk);

    double w0 = mc_sim_wall_now();
    mc_status_t st = mc_sim_run(sim, scn->duration_ns);
    r->wall_s = mc_sim_wall_now() - w0;
    r->events = mc_sim_events(sim);
    r->hash = mc_sim_trace_hash(sim);
    r->sim_ns = mc_sim_now(sim);
    if (st != MC_OK) {
        fprintf(out, "%s: %s\n", file, mc_sim_error(sim));
        goto done;
    }

    res = mc_calloc(scn->nexpects + 1, sizeof *res);
    mc_expect_check(scn, &log, scn->duration_ns, res);
    for (size_t i = 0; i < scn->nexpects; i++) {
        if (!res[i].ok) {
            if (res[i].kind == MC_EXPECT_SAFETY)
                r->safety_fail++;
            else
                r->liveness_fail++;
        }
        if (o->verbose || !res[i].ok)
            fprintf(out, "  %s\n", res[i].msg);
    }
    size_t nchk_fail = 0, nchk = mc_scenario_checks_run(scn, &log, chk, MC_SCN_MAX_CHECKS, &nchk_fail);
    r->safety_fail += nchk_fail;
    for (size_t i = 0; i < nchk; i++)
        if (o->verbose || !chk[i].ok)
            fprintf(out, "  %s\n", chk[i].msg);
    if (role_checks) {
        role_check_now(sim, &rchk); /* and once more at the end */
        if (rchk.fails) {
            r->safety_fail++;
            fprintf(out, "  FAIL [safety] role invariants: %zu of %llu checkpoints failed; first at %.6fs: %s\n",
                    rchk.fails, (unsigned long long)rchk.runs, (double)rchk.first_t / 1e9, rchk.first);
        } else if (o->verbose) {
            fprintf(out, "  ok [safety] role invariants held at %llu checkpoints (every 1s and at the end)\n",
                    (unsigned long long)rchk.runs);
        }
    }
    if (o->check)
        o->check(o->check_ctx, scn, &log, sim, out, &r->safety_fail, &r->liveness_fail);
    r->exit_code = r->safety_fail     ? MC_SIM_EXIT_SAFETY
                   : r->liveness_fail ? MC_SIM_EXIT_LIVENESS
                                      : MC_SIM_EXIT_OK;
    fprintf(out, "result: %s (%zu safety, %zu liveness failures)\n",
            r->exit_code == 0 ? "PASS" : r->exit_code == MC_SIM_EXIT_SAFETY ? "SAFETY FAILURE" : "LIVENESS FAILURE",
            r->safety_fail, r->liveness_fail);
done:
    if (r->events || r->exit_code != MC_SIM_EXIT_BAD_SCENARIO)
        fprintf(out, "simulated: %.3fs wall: %.3fs events: %llu (%.0f events/s, %.0fx real time)\n",
                (double)r->sim_ns / 1e9, r->wall_s, (unsigned long long)r->events,
                r->wall_s > 0 ? (double)r->events / r->wall_s : 0.0,
                r->wall_s > 0 ? (double)r->sim_ns / 1e9 / r->wall_s : 0.0);
    if (sim)
        r->hash = mc_sim_trace_hash(sim);
    fprintf(out, "trace-hash: %016llx\n", (unsigned long long)r->hash);
    mc_free(res);
    mc_sim_destroy(sim);
    mc_trace_log_free(&log);
    return r->exit_code;
}
