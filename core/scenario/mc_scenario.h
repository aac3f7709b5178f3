/* Scenarios: one file that both mooncake_sim and the hw runner accept.
 * Format documented in scenarios/README.md. Parsing is pure (cJSON over a
 * buffer the caller read), so it lives in core/ and both worlds share it.
 *
 * Addresses: every node gets an implicit conf key "addr" from the world
 * (sim: "<name>:<port>" on its virtual network; hw: "127.0.0.1:<port>").
 * Conf values may reference "${<node>.addr}" and "${<node>.name}";
 * mc_scenario_resolve() substitutes them once the world has assigned
 * addresses. */
#ifndef MC_SCENARIO_H
#define MC_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/mc_status.h"
#include "../env/mc_conf.h"

/* Per-link network model (sim); hw ignores what it cannot make real. */
typedef struct mc_net_model {
    uint64_t latency_ns;    /* one-way propagation */
    uint64_t jitter_ns;     /* uniform extra delay in [0, jitter] */
    uint64_t bandwidth_bps; /* bits/s, serialization delay; 0 = infinite */
    double loss;            /* probability a frame/slice is dropped */
    double dup;             /* probability a frame is delivered twice */
    double reorder;         /* probability a frame skips the in-order queue */
} mc_net_model_t;

typedef struct mc_scn_node {
    char *name;     /* unique; "c" with count 3 expands to c1, c2, c3 */
    char *role;     /* mc_role_find() name */
    mc_conf_t conf; /* role settings, unresolved ${...} references */
    uint32_t nics;  /* virtual NICs (paths), default 1 */
    uint64_t start_ns; /* when the node boots, default 0 */
} mc_scn_node_t;

typedef enum mc_fault_kind {
    MC_FAULT_CRASH,       /* node: state lost, process killed (SIGKILL) */
    MC_FAULT_RESTART,     /* node: boot a fresh instance */
    MC_FAULT_PAUSE,       /* node: stalled, no events run (SIGSTOP) */
    MC_FAULT_RESUME,      /* node (SIGCONT) */
    MC_FAULT_PARTITION,   /* nodes vs peers; oneway = only nodes->peers cut */
    MC_FAULT_HEAL,        /* remove every partition */
    MC_FAULT_NIC_DOWN,    /* node, nic */
    MC_FAULT_NIC_UP,      /* node, nic */
    MC_FAULT_CLOCK_DRIFT, /* node, rate (1.0 = true time) */
    MC_FAULT_CLOCK_STEP,  /* node, step_ns forward */
    MC_FAULT_NET,         /* change the network model from now on */
    MC_FAULT__COUNT
} mc_fault_kind_t;

typedef struct mc_scn_fault {
    uint64_t at_ns;
    mc_fault_kind_t kind;
    char *node;              /* single-node faults */
    char **nodes;            /* partition side A */
    size_t nnodes;
    char **peers;            /* partition side B; empty = everyone else */
    size_t npeers;
    bool oneway;
    uint32_t nic;
    double rate;
    uint64_t step_ns;
    mc_net_model_t net;      /* MC_FAULT_NET */
} mc_scn_fault_t;

/* A workload command for a node's role (mc_role_t.command). */
typedef struct mc_scn_cmd {
    uint64_t at_ns;
    char *node;
    char *cmd;
    mc_conf_t args;
    uint32_t repeat;      /* run this many times (default 1) */
    uint64_t every_ns;    /* spacing between repeats */
} mc_scn_cmd_t;

typedef enum mc_expect_kind {
    MC_EXPECT_SAFETY,   /* violated => correctness failure */
    MC_EXPECT_LIVENESS, /* violated => liveness failure */
} mc_expect_kind_t;

/* "count events matching (event, node, fields) in [from, to]; require
 * min <= count <= max". */
typedef struct mc_scn_expect {
    char *event;        /* exact event name, e.g. "master.client_expired" */
    char *node;         /* NULL = any node */
    mc_conf_t fields;   /* every listed field must match exactly */
    uint64_t from_ns;   /* default 0 */
    uint64_t to_ns;     /* default end of run */
    uint64_t min;       /* default 1 */
    uint64_t max;       /* default UINT64_MAX */
    mc_expect_kind_t kind;
    char *text;         /* human description for reports */
} mc_scn_expect_t;

typedef struct mc_scenario {
    char *name;
    char *description;
    uint64_t duration_ns;
    uint64_t seed;           /* default seed when none is given */
    mc_net_model_t net;
    mc_scn_node_t *nodes;    size_t nnodes;
    mc_scn_fault_t *faults;  size_t nfaults;  /* sorted by at_ns, stable */
    mc_scn_cmd_t *cmds;      size_t ncmds;    /* sorted by at_ns, stable */
    mc_scn_expect_t *expects; size_t nexpects;
} mc_scenario_t;

/* Parse JSON text. On error returns MC_INVALID_PARAMS and writes
 * "<file>: <field path>: <problem>" into err (file = label for messages). */
mc_status_t mc_scenario_parse(const char *json, size_t len, const char *file, mc_scenario_t *out,
                              char *err, size_t errlen);
void mc_scenario_free(mc_scenario_t *s);
const mc_scn_node_t *mc_scenario_node(const mc_scenario_t *s, const char *name);
const char *mc_fault_kind_name(mc_fault_kind_t k);

/* Substitute ${node.addr} / ${node.name} in every node conf and command
 * argument. addr_of(name) returns the world-assigned address. */
mc_status_t mc_scenario_resolve(mc_scenario_t *s, const char *(*addr_of)(void *ctx, const char *node),
                                void *ctx, char *err, size_t errlen);

/* ---- trace records and expectation checking (shared by sim and hw) ---- */

typedef struct mc_trace_rec {
    uint64_t t_ns;
    char *node;
    char *event;
    char *fields; /* "k=v k=v" */
} mc_trace_rec_t;

typedef struct mc_trace_log {
    mc_trace_rec_t *recs;
    size_t n, cap;
} mc_trace_log_t;

void mc_trace_log_init(mc_trace_log_t *l);
void mc_trace_log_free(mc_trace_log_t *l);
void mc_trace_log_add(mc_trace_log_t *l, uint64_t t_ns, const char *node, const char *event,
                      const char *fields);
/* Parse one line "@trace <t_ns> <node> <event> <fields...>"; false if not one. */
bool mc_trace_parse_line(const char *line, mc_trace_log_t *l);
/* Value of field key in "k=v k=v" into buf; false if absent. */
bool mc_trace_field(const char *fields, const char *key, char *buf, size_t buflen);

typedef struct mc_expect_result {
    bool ok;
    mc_expect_kind_t kind;
    uint64_t count;
    char msg[512]; /* "FAIL expected 1..inf of master.client_expired{client=c1} in [10s,13s], saw 0" */
} mc_expect_result_t;

/* Evaluate every expectation; results[] has s->nexpects entries.
 * Returns the number of failures. end_ns bounds open windows. */
size_t mc_expect_check(const mc_scenario_t *s, const mc_trace_log_t *log, uint64_t end_ns,
                       mc_expect_result_t *results);

#endif
