/* Internals of the transfer-engine facade (api/include/mooncake/transfer_engine.h):
 *
 *   mc_te_api_run.c       loop thread, calls handed to it, waiting, last error
 *   mc_te_api_lifecycle.c new, initialize(_ext), destroy, RPC port choice
 *   mc_te_api_meta.c      metadata backend choice and env upcall routing
 *   mc_te_api_mem.c       registration, region table, write/read bytes
 *   mc_te_api_managed.c   managed buffers (size classes)
 *   mc_te_api_xfer.c      sync/async transfers, batch status
 *   mc_te_api_segment.c   first buffer address, notifications, probe
 *   mc_te_api_topology.c  local topology JSON */
#ifndef MC_TE_API_INT_H
#define MC_TE_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "mc_hw_env.h"
#include "mc_loop.h"
#include "mooncake/transfer_engine.h"
#include "te/mc_te.h"

#define MC_TE_API_CLASSES 16 /* managed buffer classes 8 KiB << 0..15 */

typedef struct mc_te_api_region {
    uintptr_t base;
    size_t len;
} mc_te_api_region_t;

typedef struct mc_te_api_block {
    uintptr_t addr;
    struct mc_te_api_block *next;
} mc_te_api_block_t;

struct mooncake_te {
    /* set by initialize, read-only afterwards */
    bool initialized;
    mc_loop_t *loop;
    mc_env_t *env;
    FILE *trace_sink;
    pthread_t thread;
    bool thread_started;
    mc_te_t *te;           /* loop thread only */
    mc_te_meta_t *meta;    /* loop thread only */
    bool meta_rpc;         /* meta is the core rpc backend (P2PHANDSHAKE) */
    bool p2p;
    char name[300];        /* segment name */
    char addr[300];        /* control address host:rpc_port */
    int rpc_port;
    uint64_t timeout_ns;   /* MC_TRANSFER_TIMEOUT: sync deadline = this + 1 ns/byte */
    /* registered regions (any thread; the core's table is the loop's) */
    pthread_mutex_t reg_mu;
    mc_te_api_region_t *regions;
    size_t nregions, cap_regions;
    /* managed buffers */
    pthread_mutex_t mb_mu;
    mc_te_api_block_t *free_blocks[MC_TE_API_CLASSES];
    mc_te_api_region_t *owned; /* every block we allocated (freed at destroy) */
    size_t nowned, cap_owned;
};

/* ---- calls on the loop thread ---- */
typedef struct mc_te_api_call mc_te_api_call_t;
typedef void (*mc_te_api_start_fn)(mc_te_api_call_t *c);
struct mc_te_api_call {
    mooncake_te_t *h;
    mc_te_api_start_fn start;
    void *arg;
    int rc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    char err[256]; /* loop-side failure text, copied to the caller's thread */
};
/* Runs start(c) on the loop thread and waits until mc_te_api_done(c, rc)
 * (from start itself or a later callback). Returns c->rc, or fallback if
 * the handle is not initialized or the loop is gone. */
int mc_te_api_run(mooncake_te_t *h, mc_te_api_start_fn start, void *arg, int fallback);
void mc_te_api_done(mc_te_api_call_t *c, int rc);
/* Same with a failure text (shown by mooncake_te_last_error). */
void mc_te_api_fail(mc_te_api_call_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Per-thread error text (mooncake_te_last_error). */
void mc_te_api_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mc_te_api_clear_error(void);

/* ---- metadata and upcalls (mc_te_api_meta.c) ---- */
/* Opens h->meta for conn ("P2PHANDSHAKE" or a backend URL); loop thread
 * not yet running. 0 or -1 with the error set. */
int mc_te_api_meta_open(mooncake_te_t *h, const char *conn);
void mc_te_api_bind(mooncake_te_t *h);

/* ---- regions (mc_te_api_mem.c) ---- */
bool mc_te_api_region_find(mooncake_te_t *h, uintptr_t p, size_t len);
void mc_te_api_regions_free(mooncake_te_t *h);
/* Register/unregister on the loop with the region table kept in step. */
int mc_te_api_register(mooncake_te_t *h, uintptr_t addr, size_t len, const char *location);
int mc_te_api_unregister(mooncake_te_t *h, uintptr_t addr);

/* ---- managed buffers (mc_te_api_managed.c) ---- */
void mc_te_api_managed_free_all(mooncake_te_t *h);

#endif
