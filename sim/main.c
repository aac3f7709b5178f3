/* mooncake_sim: run scenarios and swarms in the deterministic simulator. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_run.h"
#include "sim_swarm.h"

static const char usage_text[] =
    "usage: mooncake_sim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO [--seed N] [--trace FILE] [--log-level L] [--quiet] [--no-fork]\n"
    "      run a scenario file; print seed, parameters, expectation results,\n"
    "      simulated and wall seconds, events and the trace hash\n"
    "  swarm [--seeds A..B] [--jobs N] [--clients K] [--workload W] [--twice] [--verbose]\n"
    "      per seed: a random membership cluster (1 master + 1..K clients,\n"
    "      default K=8) with a random network and fault schedule, checked\n"
    "      against the membership invariants; each seed in a forked child\n"
    "      (default seeds 1..100, jobs 2). --workload store: a random store\n"
    "      cluster (1 master + 2..min(K,6) store clients) with a random\n"
    "      put/get/upsert/remove/exist workload and faults, checked by\n"
    "      store_history, the master's invariants and liveness after calm\n"
    "      --workload ep: a random EP group (coordinator + 2..min(K,8) ranks),\n"
    "      random collectives/dispatch/combine, recoveries and faults, checked\n"
    "      by the ep checker and liveness after calm\n"
    "      --workload te: random transfer-engine nodes (2..min(K,6), 1..3 NICs)\n"
    "      with random READ/WRITE batches and peer/NIC/link faults, checked for\n"
    "      verified bytes, exactly-once completion, no hang and liveness after calm\n"
    "  replay --seed N [--clients K] [--workload W] [--trace FILE] [--log-level L]\n"
    "      re-run one swarm seed in this process, verbosely\n"
    "\n"
    "options:\n"
    "  --seed N        run seed (default: the scenario's)\n"
    "  --trace FILE    write trace lines \"<t_ns> <node> <event> <fields>\" (- = stdout)\n"
    "  --log-level L   env log lines at >= L to stderr: trace|debug|info|warn|error|off\n"
    "                  (default warn for run, off for swarm)\n"
    "  --no-fork       run: do not run in a child (crashes are not mapped to 70)\n"
    "  --twice         swarm: run each seed twice; hashes must match\n"
    "  --workload W    swarm/replay: membership (default), store, ep or te\n"
    "  -h, --help      this text\n"
    "\n"
    "exit codes: 0 pass, 64 usage, 65 bad scenario file, 70 crash (a node's\n"
    "code aborted or a sanitizer fired), 71 safety failure, 72 liveness failure\n";

static int usage(FILE *f, int code)
{
    fputs(usage_text, f);
    return code;
}

enum { OPT_SEED = 256, OPT_TRACE, OPT_LOG, OPT_SEEDS, OPT_JOBS, OPT_CLIENTS, OPT_TWICE, OPT_NOFORK,
       OPT_QUIET, OPT_VERBOSE, OPT_WORKLOAD };

static const struct option long_opts[] = {
    {"seed", required_argument, NULL, OPT_SEED},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"seeds", required_argument, NULL, OPT_SEEDS},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"twice", no_argument, NULL, OPT_TWICE},
    {"no-fork", no_argument, NULL, OPT_NOFORK},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"workload", required_argument, NULL, OPT_WORKLOAD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct cli {
    bool seed_set;
    uint64_t seed;
    const char *trace;
    int log_level; /* -2 = default */
    uint64_t from, to;
    uint32_t jobs, clients;
    bool twice, nofork, quiet, verbose;
    mc_swarm_workload_t workload; /* --workload */
    const char *file;
} cli_t;

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static int parse_cli(int argc, char **argv, cli_t *c)
{
    memset(c, 0, sizeof *c);
    c->log_level = -2;
    c->from = 1;
    c->to = 100;
    c->jobs = 2;
    c->clients = 8;
    int ch;
    uint64_t v;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (ch) {
        case OPT_SEED:
            if (!parse_u64(optarg, &c->seed)) {
                fprintf(stderr, "mooncake_sim: --seed: not a number: '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            c->seed_set = true;
            break;
        case OPT_TRACE:
            c->trace = optarg;
            break;
        case OPT_LOG:
            c->log_level = mc_sim_parse_log_level(optarg);
            if (c->log_level < 0) {
                fprintf(stderr, "mooncake_sim: --log-level: unknown level '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            break;
        case OPT_SEEDS: {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", optarg);
            char *dots = strstr(buf, "..");
            if (dots) {
                *dots = 0;
                if (!parse_u64(buf, &c->from) || !parse_u64(dots + 2, &c->to) || c->to < c->from) {
                    fprintf(stderr, "mooncake_sim: --seeds: expected A..B with A <= B, got '%s'\n", optarg);
                    return MC_SIM_EXIT_USAGE;
                }
            } else if (parse_u64(buf, &c->from)) {
                c->to = c->from;
            } else {
                fprintf(stderr, "mooncake_sim: --seeds: expected A..B, got '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            break;
        }
        case OPT_JOBS:
            if (!parse_u64(optarg, &v) || v < 1 || v > 256) {
                fprintf(stderr, "mooncake_sim: --jobs: expected 1..256, got '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            c->jobs = (uint32_t)v;
            break;
        case OPT_CLIENTS:
            if (!parse_u64(optarg, &v) || v < 1 || v > 64) {
                fprintf(stderr, "mooncake_sim: --clients: expected 1..64, got '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            c->clients = (uint32_t)v;
            break;
        case OPT_TWICE:
            c->twice = true;
            break;
        case OPT_NOFORK:
            c->nofork = true;
            break;
        case OPT_QUIET:
            c->quiet = true;
            break;
        case OPT_VERBOSE:
            c->verbose = true;
            break;
        case OPT_WORKLOAD:
            if (strcmp(optarg, "store") == 0) {
                c->workload = MC_SWARM_STORE;
            } else if (strcmp(optarg, "ep") == 0) {
                c->workload = MC_SWARM_EP;
            } else if (strcmp(optarg, "te") == 0) {
                c->workload = MC_SWARM_TE;
            } else if (strcmp(optarg, "membership") == 0) {
                c->workload = MC_SWARM_MEMBERSHIP;
            } else {
                fprintf(stderr, "mooncake_sim: --workload: expected membership, store, ep or te, got '%s'\n", optarg);
                return MC_SIM_EXIT_USAGE;
            }
            break;
        case 'h':
            exit(usage(stdout, 0));
        default:
            return usage(stderr, MC_SIM_EXIT_USAGE);
        }
    }
    return 0;
}

static FILE *open_trace(const char *path)
{
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "mooncake_sim: --trace: cannot open '%s': %s\n", path, strerror(errno));
    return f;
}

static void close_trace(FILE *f)
{
    if (f && f != stdout)
        fclose(f);
}

/* Run fn in a forked child so an abort/sanitizer report becomes exit 70. */
static int in_child(int (*fn)(void *), void *arg, bool nofork)
{
    if (nofork)
        return fn(arg);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return fn(arg);
    }
    if (pid == 0) {
        int rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return MC_SIM_EXIT_CRASH;
    if (WIFEXITED(status)) {
        int rc = WEXITSTATUS(status);
        if (rc == 0 || rc == MC_SIM_EXIT_USAGE || rc == MC_SIM_EXIT_BAD_SCENARIO ||
            rc == MC_SIM_EXIT_SAFETY || rc == MC_SIM_EXIT_LIVENESS)
            return rc;
        printf("result: CRASH (exit %d)\n", rc);
        return MC_SIM_EXIT_CRASH;
    }
    printf("result: CRASH (signal %d: %s)\n", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return MC_SIM_EXIT_CRASH;
}

static int do_run(void *arg)
{
    cli_t *c = arg;
    mc_scenario_t scn;
    int rc = mc_sim_load_scenario(c->file, &scn, stderr);
    if (rc != 0)
        return rc;
    mc_sim_run_opts_t o;
    mc_sim_run_opts_init(&o);
    o.seed_set = c->seed_set;
    o.seed = c->seed;
    if (c->log_level != -2)
        o.log_level = c->log_level;
    o.verbose = !c->quiet;
    o.trace_out = open_trace(c->trace);
    if (c->trace && !o.trace_out) {
        mc_scenario_free(&scn);
        return MC_SIM_EXIT_USAGE;
    }
    mc_sim_run_result_t r;
    rc = mc_sim_run_scenario(&scn, &o, &r);
    close_trace(o.trace_out);
    mc_scenario_free(&scn);
    return rc;
}

static int do_replay(void *arg)
{
    cli_t *c = arg;
    mc_swarm_opts_t o;
    mc_swarm_opts_init(&o);
    o.max_clients = c->clients;
    o.workload = c->workload;
    o.verbose = true;
    o.log_level = c->log_level == -2 ? MC_LOG_WARN : c->log_level;
    o.trace_out = open_trace(c->trace);
    if (c->trace && !o.trace_out)
        return MC_SIM_EXIT_USAGE;
    mc_sim_run_result_t r;
    int rc = mc_swarm_run_seed(c->seed, &o, stdout, &r);
    close_trace(o.trace_out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, MC_SIM_EXIT_USAGE);
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    cli_t c;
    int rc = parse_cli(argc - 1, argv + 1, &c);
    if (rc)
        return rc;
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (strcmp(cmd, "run") == 0) {
        if (nargs != 1) {
            fprintf(stderr, "mooncake_sim run: expected one SCENARIO file\n");
            return usage(stderr, MC_SIM_EXIT_USAGE);
        }
        c.file = args[0];
        return in_child(do_run, &c, c.nofork);
    }
    if (nargs != 0) {
        fprintf(stderr, "mooncake_sim %s: unexpected argument '%s'\n", cmd, args[0]);
        return usage(stderr, MC_SIM_EXIT_USAGE);
    }
    if (strcmp(cmd, "replay") == 0) {
        if (!c.seed_set) {
            fprintf(stderr, "mooncake_sim replay: --seed N is required\n");
            return MC_SIM_EXIT_USAGE;
        }
        return in_child(do_replay, &c, c.nofork);
    }
    if (strcmp(cmd, "swarm") == 0) {
        mc_swarm_opts_t o;
        mc_swarm_opts_init(&o);
        o.seed_from = c.from;
        o.seed_to = c.to;
        o.jobs = c.jobs;
        o.max_clients = c.clients;
        o.workload = c.workload;
        o.verbose = c.verbose;
        o.twice = c.twice;
        if (c.log_level != -2)
            o.log_level = c.log_level;
        return mc_swarm_main(&o);
    }
    fprintf(stderr, "mooncake_sim: unknown command '%s'\n", cmd);
    return usage(stderr, MC_SIM_EXIT_USAGE);
}
