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

/* The default model: latency 50us, no jitter, infinite bandwidth, no
 * loss/dup/reorder. A scenario's "network" object overrides field by field. */
void mc_net_model_default(mc_net_model_t *m);

/* to_ns of an expectation window that runs to the end of the run. */
#define MC_SCN_END UINT64_MAX

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
    MC_FAULT_XFER_BLACKHOLE,     /* node: its posted transfers never complete (sim only) */
    MC_FAULT_XFER_BLACKHOLE_OFF, /* node: transfers posted from now on complete again */
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
    mc_net_model_t net;      /* MC_FAULT_NET: the whole model in force from
                                at_ns (earlier "net" faults and the top-level
                                model filled in for fields the fault omits) */
    size_t index;            /* position in the file's "faults", for messages */
} mc_scn_fault_t;

/* A workload command for a node's role (mc_role_t.command). */
typedef struct mc_scn_cmd {
    uint64_t at_ns;
    char *node;
    char *cmd;
    mc_conf_t args;
    uint32_t repeat;      /* run this many times (default 1) */
    uint64_t every_ns;    /* spacing between repeats */
    size_t index;         /* position in the file's "workload", for messages */
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
    uint64_t to_ns;     /* inclusive; default MC_SCN_END (end of run) */
    uint64_t min;       /* default 1 */
    uint64_t max;       /* default UINT64_MAX */
    mc_expect_kind_t kind; /* default: liveness if only a lower bound, else safety */
    char *text;         /* human description for reports; "" if none, never NULL */
} mc_scn_expect_t;

/* History checks over the trace ("checks"), run by both worlds after
 * the expectations (mc_scenario_checks_run). */
typedef struct mc_scn_checks {
    bool store_history;  /* "store_history": per-key store semantics (mc_check_store) */
    bool allow_eviction; /* store_history option: eviction may drop unpinned objects */
    bool ep;             /* "ep": EP results, agreement, bounds, views (mc_check_ep) */
} mc_scn_checks_t;

typedef struct mc_scenario {
    char *name;
    char *description;       /* "" if none, never NULL */
    uint64_t duration_ns;
    uint64_t seed;           /* default seed when none is given */
    mc_net_model_t net;
    mc_scn_node_t *nodes;    size_t nnodes;
    mc_scn_fault_t *faults;  size_t nfaults;  /* sorted by at_ns, stable */
    mc_scn_cmd_t *cmds;      size_t ncmds;    /* sorted by at_ns, stable */
    mc_scn_expect_t *expects; size_t nexpects;
    mc_scn_checks_t checks;
    char *file;              /* the label given to parse, for messages */
    bool resolved;           /* mc_scenario_resolve() done */
} mc_scenario_t;

/* Parse JSON text (len bytes; no terminating NUL needed). On error returns
 * MC_INVALID_PARAMS, leaves *out zeroed (nothing to free) and writes
 * "<file>: <field path>: <problem>" into err (file = label for messages;
 * NULL = "<scenario>"). Format and every check: scenarios/README.md.
 * Threads: cJSON records its last parse error in a process global, so
 * parse from one thread at a time. */
mc_status_t mc_scenario_parse(const char *json, size_t len, const char *file, mc_scenario_t *out,
                              char *err, size_t errlen);
void mc_scenario_free(mc_scenario_t *s);
const mc_scn_node_t *mc_scenario_node(const mc_scenario_t *s, const char *name);
const char *mc_fault_kind_name(mc_fault_kind_t k);
/* Inverse of mc_fault_kind_name ("crash", "nic_down", ...); false if unknown. */
bool mc_fault_kind_from_name(const char *name, mc_fault_kind_t *out);
const char *mc_expect_kind_name(mc_expect_kind_t k); /* "safety", "liveness" */

/* Human-readable duration: "0s", "14s", "14.25s", "1.5ms", "20us", "7ns".
 * Exact (no rounding); returns buf. 32 bytes always suffice. */
char *mc_duration_fmt(uint64_t ns, char *buf, size_t buflen);
/* Bandwidth "10Gbit", "1Gbps", "100Mbit/s", "1GB/s", "512MiB/s", "0"
 * (= infinite) into bits/s. Lower-case b = bits, upper-case B = bytes. */
bool mc_parse_bandwidth_bps(const char *s, uint64_t *out_bps);

/* Substitute ${node.addr} / ${node.name} in every node conf, command
 * argument and expectation field ("$${" is a literal "${"), and set each
 * node's implicit conf key "addr". addr_of(name) returns the world-assigned
 * address (NULL = none, an error). References were validated by parse, so
 * only a missing address can fail here. A second call is a no-op. */
mc_status_t mc_scenario_resolve(mc_scenario_t *s, const char *(*addr_of)(void *ctx, const char *node),
                                void *ctx, char *err, size_t errlen);

/* The arguments of the i-th repetition (0-based) of a workload command:
 * every "{i}" in a value becomes i, so "key": "k{i}" with repeat 100
 * writes k0..k99. out must be initialised; both worlds call this. */
void mc_scn_cmd_args(const mc_scn_cmd_t *c, uint32_t i, mc_conf_t *out);

/* ---- trace records and expectation checking (shared by sim and hw) ---- */

/* Trace fields are "k=v k=v": keys and values without spaces, or values in
 * double quotes with \" and \\ escapes (k="a b"). */
typedef struct mc_trace_rec {
    uint64_t t_ns;
    char *node;   /* node, event and fields share one allocation owned by */
    char *event;  /* the log (node is its start): add records only with */
    char *fields; /* mc_trace_log_add / mc_trace_parse_line */
} mc_trace_rec_t;

typedef struct mc_trace_log {
    mc_trace_rec_t *recs;
    size_t n, cap;
} mc_trace_log_t;

void mc_trace_log_init(mc_trace_log_t *l);
void mc_trace_log_free(mc_trace_log_t *l);
void mc_trace_log_add(mc_trace_log_t *l, uint64_t t_ns, const char *node, const char *event,
                      const char *fields);
/* Parse one line "@trace <t_ns> <node> <event> <fields...>" (a trailing
 * "\n" or "\r\n" is ignored) and append it to l; false (l untouched) if
 * the line is not one. */
bool mc_trace_parse_line(const char *line, mc_trace_log_t *l);
/* Format one such line (no newline) with snprintf semantics. */
int mc_trace_fmt_line(char *buf, size_t buflen, uint64_t t_ns, const char *node, const char *event,
                      const char *fields);
/* Value of field key in "k=v k=v" into buf (quotes removed, escapes
 * undone); false if absent or if it does not fit in buf. */
bool mc_trace_field(const char *fields, const char *key, char *buf, size_t buflen);
/* True if field key is present with exactly this value (no allocation). */
bool mc_trace_field_eq(const char *fields, const char *key, const char *value);

typedef struct mc_expect_result {
    bool ok;
    mc_expect_kind_t kind;
    uint64_t count;
    char msg[512]; /* "FAIL [safety] <text>: expected 1..1 of master.client_expired{client=c1}
                      on master in [10s,13s], saw 0", or "ok [safety] ..." */
} mc_expect_result_t;

/* Evaluate every expectation; results[] has s->nexpects entries.
 * Returns the number of failures. end_ns bounds open windows. The log need
 * not be sorted (hw merges several processes); one pass per expectation. */
size_t mc_expect_check(const mc_scenario_t *s, const mc_trace_log_t *log, uint64_t end_ns,
                       mc_expect_result_t *results);

/* ---- history checks (mc_check_store.c) ---- */

/* The store history checker over client.op_begin / client.op_end traces
 * of store_client roles (fields documented in scenarios/README.md), plus
 * the loss events it needs: "*.node_crash" lines, master.start (which
 * nodes are masters; a master crash loses every object) and
 * master.client_expired client=NAME. Per key it finds:
 *  - torn reads (vid=torn);
 *  - phantom reads: a vid no put/upsert of that key began writing before
 *    the get ended (or a put that reported existed=1, which writes nothing);
 *  - stale reads: a get that began after another write or a remove of the
 *    key definitely completed after the value's write ended;
 *  - lost objects: OBJECT_NOT_FOUND from a get (or 0 from exist) that
 *    began after a write definitely completed, when no remove, failed
 *    upsert, owner crash/expiry, master crash (or, with allow_eviction,
 *    eviction of an object not hard-pinned by its put) could have deleted it;
 *  - first-writer-wins: a put reporting existed=0 although a committed
 *    value definitely existed (same excuses).
 * O(n log n) in the number of trace records. The log need not be sorted. */
typedef struct mc_store_check_cfg {
    bool allow_eviction;
} mc_store_check_cfg_t;

typedef struct mc_store_check_result {
    uint64_t ops;        /* store operations seen (begun) */
    uint64_t keys;
    uint64_t gets_checked;
    uint64_t violations;
    char msg[1024];      /* the first few violations, "; "-separated */
} mc_store_check_result_t;

/* Returns the number of violations (also in res->violations). */
uint64_t mc_check_store_history(const mc_trace_log_t *log, const mc_store_check_cfg_t *cfg,
                                mc_store_check_result_t *res);

/* ---- EP checker (mc_check_ep.c) ----
 * Over ep.op_begin/ep.op_end/ep.view/ep.coord_view of roles ep_rank and
 * ep_coord: all OK ranks of one op report the same set and are in it;
 * each OK result hash equals the one recomputed for (op, rank, set); each
 * op returns within 2 x its timeout from its start (unless its node was
 * paused or drifted); every rank's view of epoch E is the coordinator's. */
typedef struct mc_ep_check_result {
    uint64_t ops, ends, ok_ends, checked, views;
    uint64_t violations;
    char msg[1024];
} mc_ep_check_result_t;

uint64_t mc_check_ep(const mc_trace_log_t *log, mc_ep_check_result_t *res);

/* Run the scenario's "checks" over a finished run's trace. Writes one
 * result per enabled check into results (at most cap; same format as the
 * expectations: "ok [safety] store_history: ..." / "FAIL [safety] ...").
 * Returns the number of results written; *fails gets the failures. */
size_t mc_scenario_checks_run(const mc_scenario_t *s, const mc_trace_log_t *log, mc_expect_result_t *results,
                              size_t cap, size_t *fails);
#define MC_SCN_MAX_CHECKS 4

#endif
