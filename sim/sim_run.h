/* Scenario driver: run one mc_scenario_t in the simulator, check its
 * expectations, report. Shared by `mooncake_sim run`, `replay` and swarm. */
#ifndef MC_SIM_RUN_H
#define MC_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/mc_scenario.h"
#include "sim.h"

/* Exit codes (sysexits-style where one fits). */
enum {
    MC_SIM_EXIT_OK = 0,
    MC_SIM_EXIT_USAGE = 64,
    MC_SIM_EXIT_BAD_SCENARIO = 65,
    MC_SIM_EXIT_CRASH = 70,
    MC_SIM_EXIT_SAFETY = 71,
    MC_SIM_EXIT_LIVENESS = 72,
};

/* Extra checks over the finished run (swarm's generated invariants).
 * Print one line per check to out; add failures to *safety / *liveness. */
typedef void (*mc_sim_check_fn)(void *ctx, const mc_scenario_t *scn, const mc_trace_log_t *log,
                                mc_sim_t *sim, FILE *out, size_t *safety, size_t *liveness);

typedef struct mc_sim_run_opts {
    bool seed_set;
    uint64_t seed;        /* overrides the scenario's seed when seed_set */
    FILE *trace_out;      /* optional trace lines */
    int log_level;        /* MC_LOG_* threshold for stderr */
    FILE *out;            /* report (stdout) */
    bool verbose;         /* print every expectation (else only failures) */
    mc_sim_check_fn check;
    void *check_ctx;
} mc_sim_run_opts_t;

typedef struct mc_sim_run_result {
    int exit_code;
    uint64_t seed;
    uint64_t events;
    uint64_t hash;
    uint64_t sim_ns;
    double wall_s;
    size_t safety_fail, liveness_fail;
} mc_sim_run_result_t;

void mc_sim_run_opts_init(mc_sim_run_opts_t *o);
/* Runs scn (resolving it against the sim's addresses). Returns the exit
 * code, also stored in r. */
int mc_sim_run_scenario(mc_scenario_t *scn, const mc_sim_run_opts_t *o, mc_sim_run_result_t *r);
/* Read and parse a scenario file; on error prints the parser's message
 * ("file: field: problem") to err and returns MC_SIM_EXIT_BAD_SCENARIO. */
int mc_sim_load_scenario(const char *path, mc_scenario_t *scn, FILE *err);

double mc_sim_wall_now(void); /* monotonic seconds, for reports only */
int mc_sim_parse_log_level(const char *s); /* -1 if bad */

#endif
