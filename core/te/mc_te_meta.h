/* Metadata store interface for the transfer engine: an asynchronous
 * key -> JSON-text store (upstream's TransferMetadata storage plugins,
 * shared/spec/transfer.md §7.3). hw/ implements it over HTTP
 * (GET/PUT/DELETE /metadata?key=), etcd and the P2P handshake; core/te
 * provides an in-memory backend for unit tests and the simulator.
 *
 * Contract for every backend:
 *  - each op returns a nonzero request handle and completes exactly once
 *    through cb, always later from the event loop, never inside the call;
 *  - cancel(handle) guarantees cb will not run (no-op if it already ran);
 *  - cb may be NULL (fire-and-forget; the op still happens);
 *  - err is 0 or a negative MC_TE_ERR_* (MC_TE_ERR_METADATA when the
 *    backend is unreachable or refuses);
 *  - get of a missing key completes with err 0 and value == NULL
 *    (upstream's HTTP 404); del of a missing key succeeds;
 *  - value (get) is valid only during the callback, not NUL-terminated
 *    unless the backend says so. */
#ifndef MC_TE_META_H
#define MC_TE_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../env/mc_env.h"

typedef void (*mc_te_meta_cb)(void *arg, int err, const char *value, size_t len);

typedef struct mc_te_meta_ops {
    uint64_t (*get)(void *impl, const char *key, mc_te_meta_cb cb, void *arg);
    uint64_t (*put)(void *impl, const char *key, const char *value, size_t len, mc_te_meta_cb cb,
                    void *arg);
    uint64_t (*del)(void *impl, const char *key, mc_te_meta_cb cb, void *arg);
    void (*cancel)(void *impl, uint64_t req);
    /* Cancel everything pending (no callbacks) and free the backend. */
    void (*destroy)(void *impl);
} mc_te_meta_ops_t;

typedef struct mc_te_meta {
    const mc_te_meta_ops_t *ops;
    void *impl;
} mc_te_meta_t;

static inline uint64_t mc_te_meta_get(mc_te_meta_t *m, const char *key, mc_te_meta_cb cb, void *arg)
{
    return m->ops->get(m->impl, key, cb, arg);
}
static inline uint64_t mc_te_meta_put(mc_te_meta_t *m, const char *key, const char *value, size_t len,
                                      mc_te_meta_cb cb, void *arg)
{
    return m->ops->put(m->impl, key, value, len, cb, arg);
}
static inline uint64_t mc_te_meta_del(mc_te_meta_t *m, const char *key, mc_te_meta_cb cb, void *arg)
{
    return m->ops->del(m->impl, key, cb, arg);
}
static inline void mc_te_meta_cancel(mc_te_meta_t *m, uint64_t *req)
{
    if (*req)
        m->ops->cancel(m->impl, *req);
    *req = 0;
}
static inline void mc_te_meta_destroy(mc_te_meta_t *m)
{
    if (m && m->ops)
        m->ops->destroy(m->impl);
}

/* ---- in-memory backend ----
 * One store (the "metadata server") shared by any number of clients; in
 * the simulator every node's TE opens a client on its own env, so
 * completions arrive on that node's timers after latency_ns. An op takes
 * effect when it completes (a get sees the store as it is then). Ops
 * from one client complete in issue order.
 * Fault hooks: set_down makes every op fail with MC_TE_ERR_METADATA
 * ("metadata server down"); clear empties the store ("restarted empty"). */
typedef struct mc_te_meta_mem_store mc_te_meta_mem_store_t;

mc_te_meta_mem_store_t *mc_te_meta_mem_store_new(void);
void mc_te_meta_mem_store_ref(mc_te_meta_mem_store_t *s);
void mc_te_meta_mem_store_unref(mc_te_meta_mem_store_t *s); /* frees at zero */
void mc_te_meta_mem_store_clear(mc_te_meta_mem_store_t *s);
void mc_te_meta_mem_store_set_down(mc_te_meta_mem_store_t *s, bool down);
/* Direct synchronous access (tests, checkers, scenario setup). get returns
 * a NUL-terminated value owned by the store, or NULL. */
const char *mc_te_meta_mem_store_get(const mc_te_meta_mem_store_t *s, const char *key, size_t *len);
void mc_te_meta_mem_store_put(mc_te_meta_mem_store_t *s, const char *key, const char *value, size_t len);
void mc_te_meta_mem_store_del(mc_te_meta_mem_store_t *s, const char *key);
uint32_t mc_te_meta_mem_store_count(const mc_te_meta_mem_store_t *s);

/* A client of store bound to env (takes a store reference). Free with
 * mc_te_meta_destroy(); the returned struct is owned by the backend. */
mc_te_meta_t *mc_te_meta_mem_open(mc_te_meta_mem_store_t *s, mc_env_t *env, uint64_t latency_ns);

#endif
