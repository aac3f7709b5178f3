/* The dispatcher: options, backend selection per op, completions back to
 * the loop thread, worker-thread accounting. See mc_xport.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mc_xport_int.h"

typedef struct mc_xport_cqe {
    uint64_t tag;
    mc_status_t status;
} mc_xport_cqe_t;

/* The closure argument of a posted flush. It outlives the xport when a
 * flush is still queued on the loop at destroy time (x is then NULL and
 * the flush only frees it). */
typedef struct mc_xport_flusher {
    mc_xport_t *x;
} mc_xport_flusher_t;

typedef struct mc_xport_peerdesc {
    char peer[MC_XPORT_PEER_LEN];
    mc_xport_endpoint_t ep;
} mc_xport_peerdesc_t;

/* ---------------------------------------------------------- utilities --- */

uint64_t mc_xport_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mc_xport_logf(mc_xport_t *x, int level, const char *fmt, ...)
{
    if (level < x->o.log_level || (!x->o.log && level < MC_LOG_INFO))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (x->o.log)
        x->o.log(x->o.log_ctx, level, msg);
    else
        fprintf(stderr, "xport[%s]: %s\n", x->desc, msg);
}

/* One worker thread; lives on x->threads until joined. */
typedef struct mc_xport_thread {
    struct mc_xport_thread *next;
    pthread_t t;
    bool done; /* fn returned; joining will not block for long */
    mc_xport_t *x;
    void *(*fn)(void *);
    void *arg;
} mc_xport_thread_t;

static void *mc_xport_thread_main(void *p)
{
    mc_xport_thread_t *th = p;
    th->fn(th->arg);
    mc_xport_t *x = th->x;
    pthread_mutex_lock(&x->th_mu);
    th->done = true;
    x->th_count--;
    pthread_cond_broadcast(&x->th_cv);
    pthread_mutex_unlock(&x->th_mu);
    return NULL;
}

/* Join threads whose work is over. Call with th_mu held; joins outside it. */
static mc_xport_thread_t *take_done(mc_xport_t *x, bool all)
{
    mc_xport_thread_t *out = NULL, **pp = &x->threads;
    while (*pp) {
        mc_xport_thread_t *th = *pp;
        if (all || th->done) {
            *pp = th->next;
            th->next = out;
            out = th;
        } else {
            pp = &th->next;
        }
    }
    return out;
}

static void join_list(mc_xport_thread_t *list)
{
    while (list) {
        mc_xport_thread_t *next = list->next;
        pthread_join(list->t, NULL);
        free(list);
        list = next;
    }
}

int mc_xport_thread_start(mc_xport_t *x, void *(*fn)(void *), void *arg)
{
    mc_xport_thread_t *th = calloc(1, sizeof *th);
    if (!th)
        return -1;
    th->x = x;
    th->fn = fn;
    th->arg = arg;
    pthread_mutex_lock(&x->th_mu);
    mc_xport_thread_t *reap = take_done(x, false);
    x->th_count++;
    /* Created under the lock so th->t is set before anyone can join it. */
    int rc = pthread_create(&th->t, NULL, mc_xport_thread_main, th);
    if (rc == 0) {
        th->next = x->threads;
        x->threads = th;
    } else {
        x->th_count--;
        pthread_cond_broadcast(&x->th_cv);
    }
    pthread_mutex_unlock(&x->th_mu);
    join_list(reap);
    if (rc != 0) {
        free(th);
        mc_xport_logf(x, MC_LOG_ERROR, "pthread_create: %s", strerror(rc));
        return -1;
    }
    return 0;
}

void mc_xport_thread_join_all(mc_xport_t *x)
{
    pthread_mutex_lock(&x->th_mu);
    while (x->th_count)
        pthread_cond_wait(&x->th_cv, &x->th_mu);
    mc_xport_thread_t *all = take_done(x, true);
    pthread_mutex_unlock(&x->th_mu);
    join_list(all);
}

/* -------------------------------------------------------- completions --- */

static void mc_xport_flush(void *arg)
{
    mc_xport_flusher_t *f = arg;
    mc_xport_t *x = f->x;
    if (!x) {
        free(f); /* the xport was destroyed while this was queued */
        return;
    }
    pthread_mutex_lock(&x->cq_mu);
    mc_xport_cqe_t *batch = x->cq;
    size_t n = x->cq_len;
    x->cq = NULL;
    x->cq_len = x->cq_cap = 0;
    x->cq_posted = false;
    pthread_mutex_unlock(&x->cq_mu);
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_add(&x->st_done, 1);
        x->o.done(x->o.done_ctx, batch[i].tag, batch[i].status);
    }
    free(batch);
}

void mc_xport_complete(mc_xport_t *x, uint64_t tag, mc_status_t status)
{
    bool post = false;
    pthread_mutex_lock(&x->cq_mu);
    if (x->closing)
        goto out;
    if (x->cq_len == x->cq_cap) {
        size_t cap = x->cq_cap ? x->cq_cap * 2 : 64;
        mc_xport_cqe_t *v = realloc(x->cq, cap * sizeof *v);
        if (!v) {
            /* Cannot queue: an op would be lost. Nothing sane remains. */
            fprintf(stderr, "xport: out of memory queueing a completion\n");
            abort();
        }
        x->cq = v;
        x->cq_cap = cap;
    }
    x->cq[x->cq_len].tag = tag;
    x->cq[x->cq_len].status = status;
    x->cq_len++;
    if (!x->cq_posted) {
        x->cq_posted = true;
        post = true;
    }
out:
    pthread_mutex_unlock(&x->cq_mu);
    if (post && x->o.post(x->o.post_ctx, mc_xport_flush, x->flusher) != 0) {
        pthread_mutex_lock(&x->cq_mu);
        x->cq_posted = false; /* loop shutting down: nobody will deliver */
        pthread_mutex_unlock(&x->cq_mu);
    }
}

void mc_xport_op_part_done(mc_xport_op_t *op, mc_status_t status)
{
    if (status != MC_OK) {
        int expect = MC_OK;
        atomic_compare_exchange_strong(&op->status, &expect, status);
    }
    if (atomic_fetch_sub(&op->remaining, 1) != 1)
        return;
    mc_xport_complete(op->x, op->tag, atomic_load(&op->status));
    free(op->backend_mem);
    free(op);
}

/* ------------------------------------------------------------ options --- */

static bool mc_xport_env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

static uint64_t mc_xport_env_u64(const char *name, uint64_t dflt, uint64_t lo, uint64_t hi)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return dflt;
    return n;
}

static void mc_xport_opts_resolve(mc_xport_t *x, const mc_xport_opts_t *in)
{
    x->o = *in;
    snprintf(x->host, sizeof x->host, "%s", in->host && *in->host ? in->host : "127.0.0.1");
    x->o.host = x->host;
    if (!x->o.conns_per_peer)
        x->o.conns_per_peer = (unsigned)mc_xport_env_u64("MC_TCP_LANES_PER_PEER", MC_XPORT_DEFAULT_CONNS, 1,
                                                         MC_XPORT_MAX_CONNS);
    if (x->o.conns_per_peer > MC_XPORT_MAX_CONNS)
        x->o.conns_per_peer = MC_XPORT_MAX_CONNS;
    if (!x->o.slice_size)
        x->o.slice_size = mc_xport_env_u64("MC_XPORT_SLICE_SIZE", MC_XPORT_DEFAULT_SLICE, 4096, 64ull << 20);
    if (x->o.slice_size > (64ull << 20))
        x->o.slice_size = 64ull << 20;
    if (!x->o.timeout_ms) {
        /* seconds, clamped to >= 5 as upstream's Python engine does */
        uint64_t s = mc_xport_env_u64("MC_TRANSFER_TIMEOUT", MC_XPORT_DEFAULT_TIMEOUT_S, 1, 86400);
        x->o.timeout_ms = 1000 * (s < 5 ? 5 : s);
    }
    if (mc_xport_env_true("MC_FORCE_TCP"))
        x->o.force_tcp = true;
    x->shm_enabled = x->o.shm != -2 && !x->o.force_tcp;
    x->o.protocol = x->o.protocol && *x->o.protocol ? x->o.protocol : "tcp";
}

/* ------------------------------------------------------ create/destroy --- */

mc_xport_t *mc_xport_create(const mc_xport_opts_t *opts)
{
    if (!opts || !opts->post || !opts->done) {
        fprintf(stderr, "xport: create needs opts.post and opts.done\n");
        return NULL;
    }
    mc_xport_t *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    mc_xport_opts_resolve(x, opts);
    snprintf(x->desc, sizeof x->desc, "starting");
    bool rdma = strcmp(x->o.protocol, "rdma") == 0;
    if (!rdma && strcmp(x->o.protocol, "tcp") != 0) {
        mc_xport_logf(x, MC_LOG_ERROR, "unknown protocol '%s' (tcp or rdma)", x->o.protocol);
        goto fail_x;
    }
    if (rdma && x->o.force_tcp) {
        mc_xport_logf(x, MC_LOG_INFO, "MC_FORCE_TCP: protocol rdma falls back to TCP");
        rdma = false;
    }
    x->flusher = calloc(1, sizeof *x->flusher);
    if (!x->flusher)
        goto fail_x;
    x->flusher->x = x;
    if (mc_xport_regions_init(&x->regions) != 0)
        goto fail_f;
    pthread_mutex_init(&x->cq_mu, NULL);
    pthread_mutex_init(&x->th_mu, NULL);
    pthread_cond_init(&x->th_cv, NULL);
    if (mc_xport_shared_init(x) != 0)
        goto fail_be;

    x->be[MC_XPORT_BE_TCP] = &mc_xport_tcp_ops;
    x->be[MC_XPORT_BE_SHM] = x->shm_enabled ? &mc_xport_shm_ops : NULL;
    x->be[MC_XPORT_BE_RDMA] = rdma ? mc_xport_verbs_ops : NULL;
    if (rdma && !mc_xport_verbs_ops) {
        mc_xport_logf(x, MC_LOG_ERROR, "no RDMA device found (built without libibverbs; set MC_FORCE_TCP=1 to use TCP)");
        goto fail_be;
    }
    /* tcp first: it binds the data port, which names the shm socket. */
    for (int i = 0; i < MC_XPORT_BE_COUNT; i++) {
        if (!x->be[i])
            continue;
        if (x->be[i]->create(x, &x->be_state[i]) != 0) {
            mc_xport_logf(x, MC_LOG_ERROR, "backend %s failed to start", x->be[i]->name);
            if (!x->be_state[i])
                x->be[i] = NULL; /* else kept only to be stopped and freed */
            if (i != MC_XPORT_BE_SHM)
                goto fail_be;
            x->shm_enabled = false;
        }
    }
    /* the caller's strings are only read during create */
    x->o.protocol = x->be[MC_XPORT_BE_RDMA] ? "rdma" : "tcp";
    x->o.rdma_devices = NULL;
    mc_xport_endpoint_t me;
    memset(&me, 0, sizeof me);
    snprintf(me.host, sizeof me.host, "%s", x->host);
    me.data_port = mc_xport_data_port(x);
    me.shm = x->shm_enabled;
    me.rdma_port = x->be[MC_XPORT_BE_RDMA] ? mc_xport_verbs_port(x->be_state[MC_XPORT_BE_RDMA]) : 0;
    mc_xport_desc_format(&me, x->desc, sizeof x->desc);
    mc_xport_logf(x, MC_LOG_DEBUG, "up: conns/peer=%u slice=%llu timeout=%llums force_tcp=%d",
                  x->o.conns_per_peer, (unsigned long long)x->o.slice_size,
                  (unsigned long long)x->o.timeout_ms, (int)x->o.force_tcp);
    return x;

fail_be:
    pthread_mutex_lock(&x->cq_mu);
    x->closing = true;
    pthread_mutex_unlock(&x->cq_mu);
    for (int i = 0; i < MC_XPORT_BE_COUNT; i++)
        if (x->be[i] && x->be_state[i])
            x->be[i]->stop(x->be_state[i]);
    mc_xport_thread_join_all(x);
    for (int i = 0; i < MC_XPORT_BE_COUNT; i++)
        if (x->be[i] && x->be_state[i])
            x->be[i]->destroy(x->be_state[i]);
    mc_xport_shared_fini(x);
    pthread_cond_destroy(&x->th_cv);
    pthread_mutex_destroy(&x->th_mu);
    pthread_mutex_destroy(&x->cq_mu);
    mc_xport_regions_fini(&x->regions);
fail_f:
    free(x->flusher);
fail_x:
    free(x);
    return NULL;
}

void mc_xport_destroy(mc_xport_t *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->cq_mu);
    x->closing = true;
    bool queued = x->cq_posted;
    pthread_mutex_unlock(&x->cq_mu);
    /* shm before tcp: shm falls back to tcp. */
    for (int i = MC_XPORT_BE_COUNT - 1; i >= 0; i--)
        if (x->be[i])
            x->be[i]->stop(x->be_state[i]);
    mc_xport_thread_join_all(x);
    for (int i = MC_XPORT_BE_COUNT - 1; i >= 0; i--)
        if (x->be[i])
            x->be[i]->destroy(x->be_state[i]);
    mc_xport_shared_fini(x);
    if (queued)
        x->flusher->x = NULL; /* the queued flush frees it */
    else
        free(x->flusher);
    free(x->cq);
    free(x->pd);
    pthread_cond_destroy(&x->th_cv);
    pthread_mutex_destroy(&x->th_mu);
    pthread_mutex_destroy(&x->cq_mu);
    mc_xport_regions_fini(&x->regions);
    free(x);
}

/* ------------------------------------------------------------- memory --- */

mc_status_t mc_xport_mem_register(mc_xport_t *x, void *addr, size_t len)
{
    return mc_xport_mem_register_key(x, addr, len, NULL);
}

mc_status_t mc_xport_mem_register_key(mc_xport_t *x, void *addr, size_t len, uint32_t *key)
{
    uint32_t shm_id = 0;
    uint64_t shm_off = 0;
    if (addr && len)
        shm_id = mc_xport_shared_find(x, (uintptr_t)addr, len, &shm_off);
    const mc_xport_region_t *r;
    mc_status_t s = mc_xport_regions_add(&x->regions, (uintptr_t)addr, len, shm_id, shm_off, &r);
    if (s != MC_OK)
        return s;
    for (int i = 0; i < MC_XPORT_BE_COUNT; i++)
        if (x->be[i] && x->be[i]->mem_register)
            x->be[i]->mem_register(x->be_state[i], r);
    if (key)
        *key = r->key;
    return MC_OK;
}

mc_status_t mc_xport_mem_unregister(mc_xport_t *x, void *addr)
{
    mc_xport_region_t *r = mc_xport_regions_remove(&x->regions, (uintptr_t)addr);
    if (!r)
        return MC_INVALID_PARAMS;
    for (int i = 0; i < MC_XPORT_BE_COUNT; i++)
        if (x->be[i] && x->be[i]->mem_unregister)
            x->be[i]->mem_unregister(x->be_state[i], r);
    mc_xport_regions_free(&x->regions, r);
    return MC_OK;
}

/* -------------------------------------------------------- descriptors --- */

const char *mc_xport_local_desc(const mc_xport_t *x)
{
    return x->desc;
}

static mc_xport_peerdesc_t *mc_xport_pd_find(mc_xport_t *x, const char *peer)
{
    for (size_t i = 0; i < x->pd_len; i++)
        if (strcmp(x->pd[i].peer, peer) == 0)
            return &x->pd[i];
    return NULL;
}

mc_status_t mc_xport_set_peer_desc(mc_xport_t *x, const char *peer, const char *desc)
{
    if (!peer || strlen(peer) >= MC_XPORT_PEER_LEN)
        return MC_INVALID_PARAMS;
    mc_xport_peerdesc_t *d = mc_xport_pd_find(x, peer);
    if (!desc) {
        if (d)
            *d = x->pd[--x->pd_len];
        return MC_OK;
    }
    mc_xport_endpoint_t ep;
    if (mc_xport_desc_parse(desc, &ep) != 0)
        return MC_INVALID_PARAMS;
    if (!d) {
        if (x->pd_len == x->pd_cap) {
            size_t cap = x->pd_cap ? x->pd_cap * 2 : 8;
            mc_xport_peerdesc_t *v = realloc(x->pd, cap * sizeof *v);
            if (!v)
                return MC_INTERNAL_ERROR;
            x->pd = v;
            x->pd_cap = cap;
        }
        d = &x->pd[x->pd_len++];
        snprintf(d->peer, sizeof d->peer, "%s", peer);
    }
    d->ep = ep;
    return MC_OK;
}

/* Split "host:port" / "[v6]:port" (no allocation). */
static int mc_xport_split_addr(const char *addr, char *host, size_t hlen, unsigned *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= hlen)
        return -1;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (unsigned)p;
    return 0;
}

static int mc_xport_resolve_peer(mc_xport_t *x, const char *peer, mc_xport_endpoint_t *ep)
{
    mc_xport_peerdesc_t *d = mc_xport_pd_find(x, peer);
    if (d) {
        *ep = d->ep;
        return 0;
    }
    memset(ep, 0, sizeof *ep);
    if (x->o.resolve && x->o.resolve(x->o.resolve_ctx, peer, ep) == 0 && ep->data_port)
        return 0;
    if (x->o.peer_port_offset) {
        unsigned port;
        if (mc_xport_split_addr(peer, ep->host, sizeof ep->host, &port) != 0)
            return -1;
        long p = (long)port + x->o.peer_port_offset;
        if (p <= 0 || p > 65535)
            return -1;
        ep->data_port = (uint16_t)p;
        ep->shm = true;
        return 0;
    }
    return -1;
}

/* --------------------------------------------------------------- post --- */

void mc_xport_post_tcp(mc_xport_t *x, mc_xport_op_t *op)
{
    atomic_fetch_add(&x->st_ops[MC_XPORT_BE_TCP], 1);
    atomic_fetch_add(&x->st_bytes[MC_XPORT_BE_TCP], op->len);
    x->be[MC_XPORT_BE_TCP]->post(x->be_state[MC_XPORT_BE_TCP], op);
}

/* The shape checks every op passes (post and copy_now). */
static bool mc_xport_op_well_formed(const mc_xfer_op_t *in)
{
    return in->opcode <= MC_XFER_WRITE && in->len != 0 && in->local && in->peer && *in->peer &&
           strlen(in->peer) < MC_XPORT_PEER_LEN && in->remote_addr <= UINT64_MAX - in->len;
}

static void mc_xport_op_fill(mc_xport_t *x, const mc_xfer_op_t *in, mc_xport_op_t *op)
{
    op->x = x;
    op->tag = in->tag;
    op->opcode = in->opcode;
    op->local = in->local;
    op->remote = in->remote_addr;
    op->remote_key = in->remote_key;
    op->len = in->len;
    snprintf(op->peer, sizeof op->peer, "%s", in->peer);
    atomic_init(&op->status, MC_OK);
}

static mc_status_t mc_xport_post_one(mc_xport_t *x, const mc_xfer_op_t *in)
{
    mc_status_t s = MC_INVALID_PARAMS;
    if (!mc_xport_op_well_formed(in)) {
        mc_xport_logf(x, MC_LOG_DEBUG, "op tag=%llu rejected: bad opcode/len/peer", (unsigned long long)in->tag);
        goto fail;
    }
    if (!mc_xport_regions_covers(&x->regions, (uint64_t)(uintptr_t)in->local, in->len)) {
        mc_xport_logf(x, MC_LOG_DEBUG, "op tag=%llu rejected: local range not registered",
                      (unsigned long long)in->tag);
        goto fail;
    }
    mc_xport_op_t *op = calloc(1, sizeof *op);
    if (!op) {
        s = MC_INTERNAL_ERROR;
        goto fail;
    }
    mc_xport_op_fill(x, in, op);
    if (mc_xport_resolve_peer(x, in->peer, &op->ep) != 0) {
        mc_xport_logf(x, MC_LOG_WARN, "no data endpoint for peer %s (set its descriptor or a resolver)", in->peer);
        free(op);
        s = MC_TRANSFER_FAIL;
        goto fail;
    }
    if (x->be[MC_XPORT_BE_RDMA] && op->ep.rdma_port) {
        atomic_fetch_add(&x->st_ops[MC_XPORT_BE_RDMA], 1);
        atomic_fetch_add(&x->st_bytes[MC_XPORT_BE_RDMA], op->len);
        x->be[MC_XPORT_BE_RDMA]->post(x->be_state[MC_XPORT_BE_RDMA], op);
    } else if (x->shm_enabled && op->ep.shm) {
        x->be[MC_XPORT_BE_SHM]->post(x->be_state[MC_XPORT_BE_SHM], op);
    } else {
        mc_xport_post_tcp(x, op);
    }
    return MC_OK;
fail:
    mc_xport_complete(x, in->tag, s);
    return s;
}

mc_status_t mc_xport_post(mc_xport_t *x, const mc_xfer_op_t *ops, size_t n)
{
    mc_status_t ret = MC_OK;
    mc_xport_tcp_plug(); /* one sender wake-up per connection for the batch */
    for (size_t i = 0; i < n; i++) {
        mc_status_t s = mc_xport_post_one(x, &ops[i]);
        if (ret == MC_OK)
            ret = s;
    }
    mc_xport_tcp_unplug();
    return ret;
}

void mc_xport_abandon(mc_xport_t *x, uint64_t tag)
{
    for (int b = 0; b < MC_XPORT_BE_COUNT; b++)
        if (x->be[b] && x->be[b]->abandon)
            x->be[b]->abandon(x->be_state[b], tag);
}

mc_status_t mc_xport_copy_now(mc_xport_t *x, const mc_xfer_op_t *in)
{
    if (!mc_xport_op_well_formed(in))
        return MC_INVALID_PARAMS;
    const mc_xport_backend_ops_t *shm = x->be[MC_XPORT_BE_SHM];
    if (!x->shm_enabled || !shm || !shm->copy_now || !x->o.resolve)
        return MC_IN_PROGRESS;
    mc_xport_op_t op;
    memset(&op, 0, sizeof op);
    mc_xport_op_fill(x, in, &op);
    /* The resolver, not the descriptor table (loop thread only): peers
     * known by descriptor only take the posted path. */
    if (x->o.resolve(x->o.resolve_ctx, in->peer, &op.ep) != 0 || !op.ep.data_port || !op.ep.shm)
        return MC_IN_PROGRESS;
    if (x->be[MC_XPORT_BE_RDMA] && op.ep.rdma_port)
        return MC_IN_PROGRESS; /* post would pick verbs: so does the answer */
    return shm->copy_now(x->be_state[MC_XPORT_BE_SHM], &op) ? MC_OK : MC_IN_PROGRESS;
}

mc_status_t mc_xport_copy_local(mc_xport_t *x, uint8_t opcode, void *local, uint64_t addr, uint32_t key,
                                uint64_t len)
{
    if (opcode > MC_XFER_WRITE || len == 0 || !local || key == 0)
        return MC_INVALID_PARAMS;
    mc_xport_region_t *r = NULL;
    if (mc_xport_regions_pin_key(&x->regions, addr, len, key, &r) != MC_OK)
        return MC_IN_PROGRESS; /* the posted path gives the authoritative answer */
    if (opcode == MC_XFER_WRITE)
        memcpy((void *)(uintptr_t)addr, local, len);
    else
        memcpy(local, (const void *)(uintptr_t)addr, len);
    mc_xport_regions_unpin(&x->regions, r);
    return MC_OK;
}

void mc_xport_stats(const mc_xport_t *x, mc_xport_stats_t *out)
{
    mc_xport_t *m = (mc_xport_t *)x;
    out->ops_tcp = atomic_load(&m->st_ops[MC_XPORT_BE_TCP]);
    out->ops_shm = atomic_load(&m->st_ops[MC_XPORT_BE_SHM]);
    out->bytes_tcp = atomic_load(&m->st_bytes[MC_XPORT_BE_TCP]);
    out->bytes_shm = atomic_load(&m->st_bytes[MC_XPORT_BE_SHM]);
    out->ops_done = atomic_load(&m->st_done);
    out->ops_rdma = atomic_load(&m->st_ops[MC_XPORT_BE_RDMA]);
    out->bytes_rdma = atomic_load(&m->st_bytes[MC_XPORT_BE_RDMA]);
    out->stale_tcp = m->be[MC_XPORT_BE_TCP] ? mc_xport_tcp_stale(m->be_state[MC_XPORT_BE_TCP]) : 0;
}

uint16_t mc_xport_data_port(const mc_xport_t *x)
{
    return x->be[MC_XPORT_BE_TCP] ? mc_xport_tcp_port(x->be_state[MC_XPORT_BE_TCP]) : 0;
}
