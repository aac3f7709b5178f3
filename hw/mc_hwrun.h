/* mooncake_hwrun internals: run a scenario as real processes, on loopback
 * or (namespace mode, mc_netns.h) each node in its own network namespace.
 *
 *   main   flags, scenario file, mode, addresses, verdict and exit code
 *   spawn  fork/exec one mooncake_node with stdin/stdout/stderr pipes
 *   drive  the event loop: boots, faults, commands, output collection,
 *          child deaths (signalfd SIGCHLD), shutdown */
#ifndef MC_HWRUN_H
#define MC_HWRUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "scenario/mc_scenario.h"

/* Exit codes shared with mooncake_sim. */
enum {
    MC_HWRUN_EXIT_PASS = 0,
    MC_HWRUN_EXIT_USAGE = 64,
    MC_HWRUN_EXIT_BAD_SCENARIO = 65,
    MC_HWRUN_EXIT_CRASH = 70,
    MC_HWRUN_EXIT_CORRECTNESS = 71,
    MC_HWRUN_EXIT_LIVENESS = 72,
    MC_HWRUN_EXIT_SKIP = 77, /* --netns asked for, but namespaces cannot be used here */
};

typedef struct mc_netns mc_netns_t;

typedef struct mc_hwrun_cfg {
    const mc_scenario_t *s;      /* resolved */
    const char *const *addrs;    /* per node, "127.0.0.1:<port>" or its namespace address */
    mc_netns_t *netns;           /* namespace mode, or NULL (loopback) */
    const char *node_bin;        /* mooncake_node */
    uint64_t seed;               /* run seed; per-node seeds derive from it */
    int verbose;                 /* forwarded to nodes as -v */
    bool quiet;                  /* do not forward node stderr */
    bool keep_going;             /* run to the end after an unexpected death */
    FILE *trace_out;             /* every trace line as received, or NULL */
} mc_hwrun_cfg_t;

typedef struct mc_hwrun_result {
    mc_trace_log_t log;     /* every @trace line of every process */
    uint64_t skip_from_ns;  /* first fault that could not be made real; UINT64_MAX if none */
    size_t crashes;         /* children that died without an injected fault */
    size_t skipped_faults;
    bool interrupted;       /* SIGINT/SIGTERM to the runner */
} mc_hwrun_result_t;

/* Run the scenario for its duration, then stop every node. Fills res
 * (free res->log with mc_trace_log_free). Returns 0, or -1 if the run
 * could not be set up (message printed). */
int mc_hwrun_drive(const mc_hwrun_cfg_t *cfg, mc_hwrun_result_t *res);

/* Spawn argv[0] with new pipes as its stdin/stdout/stderr (the parent's
 * ends are non-blocking and close-on-exec), in its own process group, with
 * SIGKILL as its parent-death signal, inside network namespace netns_fd
 * if >= 0. Returns the pid or -1 (err set). */
pid_t mc_hwrun_spawn(char *const argv[], int netns_fd, int *in_fd, int *out_fd, int *err_fd, char *err,
                     size_t errlen);

#endif
