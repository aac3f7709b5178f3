/* The real-world environment: mc_env_ops_t over an mc_loop (clock, timers),
 * mc_tcp (control messages), a seeded PRNG and stderr/stdout for logs and
 * traces. One env per node; every op runs on the loop thread. */
#ifndef MC_HW_ENV_H
#define MC_HW_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "env/mc_env.h"
#include "mc_loop.h"

typedef struct mc_hw_env_opts {
    const char *node_name; /* copied */
    /* Time base: now_ns() = CLOCK_MONOTONIC - epoch_ns. 0 = the moment the
     * env is created. A runner passes one epoch to every process so their
     * traces share one clock. */
    uint64_t epoch_ns;
    bool have_seed; /* else seeded from getrandom() */
    uint64_t seed;
    int log_level; /* enum mc_log_level */
    FILE *log_out;   /* NULL = stderr */
    FILE *trace_out; /* NULL = stdout */
    size_t out_limit; /* per-connection queue bound; 0 = MC_TCP_DEFAULT_OUT_LIMIT */
    /* Data plane: "tcp" (NULL/"") or "rdma" (hw/xport verbs backend; the
     * data plane then fails to start without an RDMA device unless
     * MC_FORCE_TCP is set). rdma_devices: comma list, NULL/"" = auto.
     * Both copied. */
    const char *protocol;
    const char *rdma_devices;
} mc_hw_env_opts_t;

mc_env_t *mc_hw_env_create(mc_loop_t *loop, const mc_hw_env_opts_t *opts);
/* Cancels the env's timers and pending completions, closes its sockets.
 * Destroy the node first (no upcall runs after this). */
void mc_hw_env_destroy(mc_env_t *env);

mc_loop_t *mc_hw_env_loop(mc_env_t *env);
/* The seed actually used (printed so a run can be repeated). */
uint64_t mc_hw_env_seed(mc_env_t *env);
/* Like ops->listen but also returns the bound port (tests use port 0). */
mc_status_t mc_hw_env_listen(mc_env_t *env, const char *addr, uint16_t *bound_port);
/* Host the data-plane listener binds (default 127.0.0.1); call before the
 * first mem_register/xfer_post/data_endpoint. */
void mc_hw_env_set_data_host(mc_env_t *env, const char *host);
/* Start the data plane now instead of on first use, so a protocol that
 * cannot work (e.g. "rdma" without a device) is reported at setup:
 * MC_OK, or MC_INVALID_PARAMS (the reason was logged). Loop thread, or
 * before the loop runs. */
mc_status_t mc_hw_env_data_start(mc_env_t *env);
/* Do one transfer on the calling thread (any thread), now, when it needs
 * no waiting: the peer is this process (our own registered memory) or a
 * same-host peer whose shared memory is already mapped. MC_OK: done, no
 * on_xfer_done follows; MC_IN_PROGRESS: nothing touched, post it instead.
 * Only after the data plane has started (e.g. a segment is registered)
 * and with happens-before from that (the caller synchronised with the
 * loop thread since). */
mc_status_t mc_hw_env_copy_now(mc_env_t *env, const mc_xfer_op_t *op);
/* "rdma" once the data plane runs over verbs, else "tcp" (also when
 * MC_FORCE_TCP turned an rdma request into TCP). */
const char *mc_hw_env_data_protocol(mc_env_t *env);
/* Bytes queued on a connection (tests of back-pressure). */
size_t mc_hw_env_queued(mc_env_t *env, mc_conn_t conn);

/* "trace"/"debug"/"info"/"warn"/"error" or 0..4; -1 if unknown. */
int mc_log_level_parse(const char *s);
const char *mc_log_level_name(int level);

#endif
