/* Building blocks of the generated swarm scenarios (sim_swarm*.c): growing
 * the fault and command arrays, typed conf values, and putting both in
 * time order (stable by creation index, so a seed always yields the same
 * scenario). */
#ifndef MC_SIM_SWARM_GEN_H
#define MC_SIM_SWARM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario/mc_scenario.h"

/* node: owned by the fault from now on (NULL for cluster-wide faults). */
mc_scn_fault_t *mc_swarm_add_fault(mc_scenario_t *s, size_t *cap, uint64_t at, mc_fault_kind_t k, char *node);
/* A partition of node from peer (NULL: from everyone), one way or both,
 * at `at`, healed (every cut) at heal_at. Both names owned by the faults. */
void mc_swarm_add_cut(mc_scenario_t *s, size_t *cap, uint64_t at, uint64_t heal_at, char *node, char *peer,
                      bool oneway);
/* node: owned by the command from now on. */
mc_scn_cmd_t *mc_swarm_add_cmd(mc_scenario_t *s, size_t *cap, uint64_t at, char *node, const char *name);
void mc_swarm_conf_u64(mc_conf_t *c, const char *k, uint64_t v);
void mc_swarm_conf_ms(mc_conf_t *c, const char *k, uint64_t ns); /* "<n>ms" */
/* Faults and commands in time order; ties keep creation order. */
void mc_swarm_sort(mc_scenario_t *s);
/* One line per fault of a generated plan: time, kind, node, NIC, partition sides. */
void mc_swarm_print_faults(FILE *out, const mc_scenario_t *s);

#endif
