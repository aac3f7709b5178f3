/* Internals shared by the dispatcher and the backends. */
#ifndef MC_XPORT_INT_H
#define MC_XPORT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "mc_xport.h"
#include "mc_xport_regions.h"

#define MC_XPORT_PEER_LEN 128

typedef struct mc_xport_backend_ops mc_xport_backend_ops_t;

/* One posted op, owned by a backend until it completes. Backends that
 * split it into slices set `remaining` to the slice count and call
 * mc_xport_op_part_done() once per slice (from any thread); the last call
 * completes the op with the first error seen (or MC_OK) and frees it. */
typedef struct mc_xport_op {
    mc_xport_t *x;
    uint64_t tag;
    uint8_t opcode; /* enum mc_xfer_opcode */
    uint8_t *local;
    uint64_t remote;
    uint32_t remote_key; /* 0 = none */
    uint64_t len;
    char peer[MC_XPORT_PEER_LEN];
    mc_xport_endpoint_t ep;
    atomic_int status;
    atomic_uint remaining;
    void *backend_mem; /* freed with the op (slices) */
} mc_xport_op_t;

/* Backend table (UCX uct_iface_ops style). Every function pointer except
 * name, create, destroy and post may be NULL. */
struct mc_xport_backend_ops {
    const char *name;
    /* Create the backend's state; 0 or -1 (logged). */
    int (*create)(mc_xport_t *x, void **state);
    /* Stop: close sockets and wake every thread of the backend (they exit
     * soon; completions are dropped while closing). */
    void (*stop)(void *state);
    /* Free the state; every backend thread has returned. */
    void (*destroy)(void *state);
    /* Region added / about to be removed (loop thread, after/before the
     * table update). */
    void (*mem_register)(void *state, const mc_xport_region_t *r);
    void (*mem_unregister)(void *state, const mc_xport_region_t *r);
    /* Take ownership of op; complete it later via mc_xport_op_part_done. */
    void (*post)(void *state, mc_xport_op_t *op);
    /* Optional, any thread: do op right here if that needs no waiting
     * (the peer's memory is already mapped); true when done. op is the
     * caller's (not kept, no completion). */
    bool (*copy_now)(void *state, mc_xport_op_t *op);
    /* Optional, loop thread: the user no longer waits for op `tag` (see
     * mc_xport_abandon). */
    void (*abandon)(void *state, uint64_t tag);
};

extern const mc_xport_backend_ops_t mc_xport_tcp_ops;
extern const mc_xport_backend_ops_t mc_xport_shm_ops;
/* verbs (mc_xport_verbs.c); NULL when built without libibverbs */
extern const mc_xport_backend_ops_t *const mc_xport_verbs_ops;

enum { MC_XPORT_BE_TCP = 0, MC_XPORT_BE_SHM = 1, MC_XPORT_BE_RDMA = 2, MC_XPORT_BE_COUNT = 3 };

struct mc_xport {
    mc_xport_opts_t o; /* resolved options */
    char host[MC_XPORT_HOST_LEN];
    bool shm_enabled;
    char desc[MC_XPORT_DESC_LEN];
    mc_xport_regions_t regions;

    const mc_xport_backend_ops_t *be[MC_XPORT_BE_COUNT];
    void *be_state[MC_XPORT_BE_COUNT];

    /* completion queue -> loop thread */
    pthread_mutex_t cq_mu;
    struct mc_xport_cqe *cq;
    size_t cq_len, cq_cap;
    bool cq_posted;
    bool closing;
    struct mc_xport_flusher *flusher;

    /* peer descriptors (loop thread only) */
    struct mc_xport_peerdesc *pd;
    size_t pd_len, pd_cap;

    /* worker threads started with mc_xport_thread_start */
    pthread_mutex_t th_mu;
    pthread_cond_t th_cv;
    unsigned th_count;
    /* Joinable worker threads (guarded by th_mu): detached threads could
     * still be exiting after destroy returned. Finished ones are reaped
     * when the next thread starts, the rest joined by join_all. */
    struct mc_xport_thread *threads;

    struct mc_xport_shared *shared; /* mc_xport_alloc_shared table */

    atomic_uint_fast64_t st_ops[MC_XPORT_BE_COUNT], st_bytes[MC_XPORT_BE_COUNT], st_done;
};

/* Queue a completion for the loop thread (any thread). Dropped while the
 * xport is closing. */
void mc_xport_complete(mc_xport_t *x, uint64_t tag, mc_status_t status);
/* One part of op finished with status (any thread); see mc_xport_op_t. */
void mc_xport_op_part_done(mc_xport_op_t *op, mc_status_t status);
/* Hand an op to the tcp backend (any thread): the shm backend's fallback. */
void mc_xport_post_tcp(mc_xport_t *x, mc_xport_op_t *op);
/* Between plug and unplug (per thread, nesting) the TCP backend wakes its
 * senders once, at unplug, and keeps a batch's small slices on one
 * connection per peer (mc_xport_tcp.c). */
void mc_xport_tcp_plug(void);
void mc_xport_tcp_unplug(void);

/* Detached worker thread counted for destroy; 0 or -1. */
int mc_xport_thread_start(mc_xport_t *x, void *(*fn)(void *), void *arg);
/* Wait until every counted thread has returned. */
void mc_xport_thread_join_all(mc_xport_t *x);

/* tcp: the bound data port. */
uint16_t mc_xport_tcp_port(void *tcp_state);
/* tcp: requests this receiver refused as STALE (the fence). */
uint64_t mc_xport_tcp_stale(void *tcp_state);
/* verbs: the bound handshake port. */
uint16_t mc_xport_verbs_port(void *verbs_state);
/* shared allocations (mc_xport_shared.c) */
int mc_xport_shared_init(mc_xport_t *x);
void mc_xport_shared_fini(mc_xport_t *x);
/* A memfd of len bytes sealed against shrinking and growing (and further
 * seals): a peer that maps it cannot be killed by SIGBUS through a
 * truncation. -1 with errno on failure. */
int mc_xport_memfd_sealed(const char *name, size_t len);
/* A peer's fd is safe to map for len bytes: sealed against shrinking and
 * at least that long (a peer's stated length is not trusted). */
bool mc_xport_fd_holds(int fd, uint64_t len);
/* The allocation containing [addr, addr+len): its id (> 0) and the offset
 * of addr in it, or 0. */
uint32_t mc_xport_shared_find(mc_xport_t *x, uintptr_t addr, size_t len, uint64_t *off);
/* A dup of allocation id's memfd and its length; -1 if unknown. */
int mc_xport_shared_dup_fd(mc_xport_t *x, uint32_t id, uint64_t *len);

void mc_xport_logf(mc_xport_t *x, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t mc_xport_now_ns(void);

#endif
