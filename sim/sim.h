/* mc_sim: the deterministic simulator engine (design.md §4).
 *
 * One thread, one event queue ordered by (virtual time, sequence), one
 * seed. Hosts any number of nodes; each node is an mc_env_t implemented
 * here plus a role instance from core/. Nothing here reads the wall
 * clock, pointer values or hash seeds in a way that changes behaviour, so
 * the same seed and inputs give the same trace hash, byte for byte.
 *
 * Ownership: scenario objects handed to mc_sim_at_fault / mc_sim_at_cmd
 * are borrowed and must outlive the run. */
#ifndef MC_SIM_H
#define MC_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "env/mc_conf.h"
#include "env/mc_env.h"
#include "env/mc_role.h"
#include "scenario/mc_scenario.h"

typedef struct mc_sim mc_sim_t;

/* Every node listens (by convention) on "<name>:<MC_SIM_PORT>". */
#define MC_SIM_PORT 7000
/* conn_send answers MC_AGAIN once this many bytes are in flight one way. */
#define MC_SIM_SEND_QUEUE_MAX (64ull << 20)

typedef void (*mc_sim_trace_fn)(void *ctx, uint64_t t_ns, const char *node, const char *event,
                                const char *fields);

typedef struct mc_sim_cfg {
    uint64_t seed;
    mc_net_model_t net;
    uint64_t xfer_timeout_ns; /* failed transfer completes after this; 0 = 1 s */
    uint64_t conn_timeout_ns; /* connect through a cut completes after this; 0 = 1 s */
    int log_level;            /* env log lines at >= this go to stderr */
    FILE *trace_out;          /* optional: every trace line is written here */
    mc_sim_trace_fn on_trace; /* optional: every trace event (not logs) */
    void *trace_ctx;
} mc_sim_cfg_t;

void mc_sim_cfg_init(mc_sim_cfg_t *cfg); /* zero + defaults (log level WARN) */

mc_sim_t *mc_sim_create(const mc_sim_cfg_t *cfg);
/* Destroys every live role instance and frees everything. */
void mc_sim_destroy(mc_sim_t *s);

/* Add a node (not started). conf is copied; the key "addr" is set to the
 * node's address. Returns the node id (>= 0) or -1 if the name is taken. */
int mc_sim_node_add(mc_sim_t *s, const char *name, const mc_role_t *role, const mc_conf_t *conf,
                    uint32_t nics);
int mc_sim_node_find(const mc_sim_t *s, const char *name);
const char *mc_sim_node_addr(const mc_sim_t *s, int id);
const char *mc_sim_node_name(const mc_sim_t *s, int id);
/* Replace a node's conf (e.g. after mc_scenario_resolve); keeps "addr". */
void mc_sim_node_set_conf(mc_sim_t *s, int id, const mc_conf_t *conf);
/* For tests: the live role instance (NULL when down) and the node's env. */
void *mc_sim_node_instance(const mc_sim_t *s, int id);
mc_env_t *mc_sim_node_env(mc_sim_t *s, int id);
bool mc_sim_node_up(const mc_sim_t *s, int id);
/* addr_of callback for mc_scenario_resolve (ctx = the mc_sim_t). */
const char *mc_sim_addr_of(void *ctx, const char *node);

/* Schedule things (absolute virtual times). */
void mc_sim_at_start(mc_sim_t *s, int id, uint64_t t_ns);
void mc_sim_at_fault(mc_sim_t *s, const mc_scn_fault_t *f);
void mc_sim_at_cmd(mc_sim_t *s, const mc_scn_cmd_t *c);
typedef void (*mc_sim_call_fn)(mc_sim_t *s, void *arg);
void mc_sim_at_call(mc_sim_t *s, uint64_t t_ns, mc_sim_call_fn fn, void *arg);

/* Apply a fault now (names resolved against nodes; unknown names are
 * reported as a trace line "sim.fault_skipped"). */
void mc_sim_fault_apply(mc_sim_t *s, const mc_scn_fault_t *f);
/* Faults not expressible in a scenario file (yet): a node's posted
 * transfers never complete on their own (until set false). */
void mc_sim_fault_xfer_blackhole(mc_sim_t *s, int id, bool on);

/* Run role->check (when the role has one) on every live node instance.
 * Returns how many nodes failed; the first failure is written to err as
 * "<node>: <message>". Checks must not change state, so this does not
 * perturb the run (and traces nothing). */
size_t mc_sim_check_roles(mc_sim_t *s, char *err, size_t errlen);

/* Run every event with time <= until_ns, then set the clock to until_ns.
 * Returns MC_OK, or MC_INVALID_PARAMS when a node failed to boot (bad
 * conf; mc_sim_error() says which). */
mc_status_t mc_sim_run(mc_sim_t *s, uint64_t until_ns);
const char *mc_sim_error(const mc_sim_t *s);

uint64_t mc_sim_now(const mc_sim_t *s);
uint64_t mc_sim_events(const mc_sim_t *s);     /* events dispatched */
uint64_t mc_sim_trace_hash(const mc_sim_t *s); /* see sim_trace.c */
uint64_t mc_sim_trace_lines(const mc_sim_t *s);

/* Emit a sim-level trace line ("sim.*" events) at the current time. */
void mc_sim_trace(mc_sim_t *s, const char *node, const char *event, const char *fields);

#endif
