/* Swarm: random membership clusters and fault schedules per seed. */
#ifndef MC_SIM_SWARM_H
#define MC_SIM_SWARM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_run.h"

typedef enum mc_swarm_workload {
    MC_SWARM_MEMBERSHIP, /* member_master + member_client (sim_swarm.c) */
    MC_SWARM_STORE,      /* store_master + store_client (sim_swarm_store.c) */
    MC_SWARM_EP,         /* ep_coord + ep_rank (sim_swarm_ep.c) */
    MC_SWARM_TE,         /* te nodes (+ te_meta) (sim_swarm_te.c) */
} mc_swarm_workload_t;

typedef struct mc_swarm_opts {
    mc_swarm_workload_t workload;
    uint64_t seed_from, seed_to; /* inclusive */
    uint32_t jobs;               /* parallel children */
    uint32_t max_clients;        /* K: clients per cluster are 1..K */
    bool verbose;                /* print every seed's report */
    bool twice;                  /* run each seed twice, hashes must match */
    int log_level;
    FILE *trace_out;             /* replay only */
} mc_swarm_opts_t;

void mc_swarm_opts_init(mc_swarm_opts_t *o);
/* One seed in this process (replay). Returns the exit code. */
int mc_swarm_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res);
/* One store-workload seed in this process (sim_swarm_store.c). */
/* Name a generated scenario: "<prefix>swarm-<seed>", file label
 * "swarm:<tag>seed=<seed>" (tag "" or "store:"), seed and description. */
void mc_swarm_scn_identity(mc_scenario_t *s, const char *prefix, const char *tag, uint64_t seed, const char *desc);
/* Run a generated scenario for seed with the swarm's options and a
 * workload-specific checker; frees scn. */
int mc_swarm_run_generated(mc_scenario_t *scn, uint64_t seed, const mc_swarm_opts_t *o, FILE *out,
                           mc_sim_check_fn check, void *check_ctx, mc_sim_run_result_t *res);
int mc_swarm_store_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res);
/* One EP-workload seed in this process (sim_swarm_ep.c). */
int mc_swarm_ep_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res);
/* One TE-workload seed in this process (sim_swarm_te.c). */
int mc_swarm_te_run_seed(uint64_t seed, const mc_swarm_opts_t *o, FILE *out, mc_sim_run_result_t *res);
/* "membership", "store", "ep", "te" */
const char *mc_swarm_workload_name(mc_swarm_workload_t w);
/* Seeds [from, to] in forked children, `jobs` at a time; prints failing
 * seeds and a summary. Returns the worst exit code (crash > safety >
 * liveness), 0 if all passed. */
int mc_swarm_main(const mc_swarm_opts_t *o);

#endif
