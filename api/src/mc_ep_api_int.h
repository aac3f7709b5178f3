/* Internals of the EP facade (api/include/mooncake/ep.h):
 *
 *   mc_ep_api_run.c     loop thread, calls handed to it, last error, free ports
 *   mc_ep_api_rank.c    rank create/destroy, membership queries, proposals
 *   mc_ep_api_ops.c     collectives, send/recv, dispatch/combine
 *   mc_ep_api_coord.c   in-process coordinator */
#ifndef MC_EP_API_INT_H
#define MC_EP_API_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "ep/mc_ep_rank.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "mooncake/ep.h"

/* One loop thread running one env with one node on it. */
typedef struct mc_ep_api_host {
    mc_loop_t *loop;
    mc_env_t *env;
    pthread_t thread;
    bool thread_started;
} mc_ep_api_host_t;

struct mooncake_ep {
    mc_ep_api_host_t host;
    mc_ep_rank_t *rank; /* loop thread only */
    uint32_t self, world;
    size_t slot_bytes;
    pthread_mutex_t mu;
    uint64_t next_id; /* under mu */
};

typedef struct mc_ep_api_call mc_ep_api_call_t;
typedef void (*mc_ep_api_start_fn)(mc_ep_api_call_t *c);
struct mc_ep_api_call {
    mooncake_ep_t *h;
    mc_ep_api_start_fn start;
    void *arg;
    int rc;
    uint64_t u64; /* a query's answer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

/* Loop + hw env (TCP data plane on data_host); NULL name = "ep". */
int mc_ep_api_host_open(mc_ep_api_host_t *hh, const char *name, const char *data_host);
int mc_ep_api_host_start(mc_ep_api_host_t *hh);
/* Stops the loop (after running fn on it, if given) and frees everything. */
void mc_ep_api_host_close(mc_ep_api_host_t *hh, void (*fn)(void *), void *arg);
/* "host:port" with a port that was free a moment ago (port 0 given). */
int mc_ep_api_pick_addr(const char *listen, char *out, size_t cap);

/* Runs start(c) on the loop and waits for mc_ep_api_done(c, rc). */
int mc_ep_api_run(mooncake_ep_t *h, mc_ep_api_start_fn start, void *arg, uint64_t *u64);
void mc_ep_api_done(mc_ep_api_call_t *c, int rc);
int mc_ep_api_status(mc_status_t s);
void mc_ep_api_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t mc_ep_api_take_id(mooncake_ep_t *h);
uint64_t mc_ep_api_take_ids(mooncake_ep_t *h, uint64_t n); /* n consecutive ids, the first returned */

#endif
