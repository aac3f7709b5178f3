/* mc_env_ops_t for the real world; see mc_hw_env.h. */
#include "mc_hw_env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/mc_map.h"
#include "base/mc_mem.h"
#include "base/mc_rng.h"
#include "base/mc_vec.h"
#include "mc_addr.h"
#include "mc_tcp.h"
#include "xport/mc_xport.h"

typedef struct mc_hw_env {
    mc_env_t env;
    mc_loop_t *loop;
    mc_tcp_t *tcp;
    char *name;
    uint64_t epoch_ns;
    uint64_t seed;
    mc_rng_t rng;
    FILE *log_out;
    FILE *trace_out;
    mc_map_t timers;  /* loop timer id -> mc_hw_timer_t* (pending only) */
    mc_vec_t done;    /* mc_hw_xfer_done_t waiting for done_timer */
    uint64_t done_timer;
    /* Data plane, created on first use (a master never needs its threads). */
    mc_xport_t *xport;
    char *data_host;
    char *protocol;     /* requested data plane protocol, NULL = tcp */
    char *rdma_devices; /* NULL = auto */
    bool data_rdma;     /* the xport runs the verbs backend */
    /* "host:port", or the xport descriptor (mcx1 ... rdma=<p>) when peers
     * must learn the verbs handshake port too. */
    char data_endpoint[MC_XPORT_DESC_LEN];
} mc_hw_env_t;

typedef struct mc_hw_timer {
    mc_hw_env_t *e;
    uint64_t id;
    mc_timer_fn fn;
    void *arg;
} mc_hw_timer_t;

typedef struct mc_hw_xfer_done {
    uint64_t tag;
    mc_status_t status;
} mc_hw_xfer_done_t;

static mc_hw_env_t *mc_hw_env_of(mc_env_t *env)
{
    return env->impl;
}

/* ---------------------------------------------------------- log level --- */

static const char *const mc_log_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};

const char *mc_log_level_name(int level)
{
    if (level < MC_LOG_TRACE)
        level = MC_LOG_TRACE;
    if (level > MC_LOG_ERROR)
        level = MC_LOG_ERROR;
    return mc_log_names[level];
}

int mc_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= MC_LOG_ERROR; i++)
        if (strcasecmp(s, mc_log_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return MC_LOG_WARN;
    if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
        return s[0] - '0';
    return -1;
}

/* -------------------------------------------------------------- clock --- */

static uint64_t mc_hw_now_ns(mc_env_t *env)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    uint64_t now = mc_loop_clock_ns();
    return now > e->epoch_ns ? now - e->epoch_ns : 0;
}

static void mc_hw_timer_fire(void *arg)
{
    mc_hw_timer_t *t = arg;
    mc_map_delu(&t->e->timers, t->id);
    mc_timer_fn fn = t->fn;
    void *fn_arg = t->arg;
    mc_free(t);
    fn(fn_arg);
}

static mc_timer_t mc_hw_timer_arm(mc_env_t *env, uint64_t delay_ns, mc_timer_fn fn, void *arg)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_hw_timer_t *t = mc_calloc(1, sizeof *t);
    t->e = e;
    t->fn = fn;
    t->arg = arg;
    /* Loop timer ids are unique for the loop's lifetime: reuse them. */
    t->id = mc_loop_timer_arm(e->loop, delay_ns, mc_hw_timer_fire, t);
    mc_map_putu(&e->timers, t->id, t);
    return t->id;
}

static void mc_hw_timer_cancel(mc_env_t *env, mc_timer_t id)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_hw_timer_t *t = mc_map_delu(&e->timers, id);
    if (!t)
        return;
    mc_loop_timer_cancel(e->loop, id);
    mc_free(t);
}

/* -------------------------------------------------- control messages --- */

static void mc_hw_tcp_up(void *ctx, uint64_t conn)
{
    mc_env_t *env = ctx;
    if (env->h && env->h->on_conn_up)
        env->h->on_conn_up(env->node, conn);
}

static void mc_hw_tcp_accept(void *ctx, uint64_t conn, const char *peer)
{
    mc_env_t *env = ctx;
    if (env->h && env->h->on_conn_accept)
        env->h->on_conn_accept(env->node, conn, peer);
}

static void mc_hw_tcp_down(void *ctx, uint64_t conn, mc_status_t why)
{
    mc_env_t *env = ctx;
    if (env->h && env->h->on_conn_down)
        env->h->on_conn_down(env->node, conn, why);
}

static void mc_hw_tcp_msg(void *ctx, uint64_t conn, const uint8_t *frame, size_t len)
{
    mc_env_t *env = ctx;
    if (env->h && env->h->on_msg)
        env->h->on_msg(env->node, conn, frame, len);
}

static void mc_hw_tcp_log(void *ctx, int level, const char *msg)
{
    mc_env_t *env = ctx;
    if (level >= env->log_level)
        env->ops->log(env, level, "tcp", msg);
}

static const mc_tcp_cbs_t mc_hw_tcp_cbs = {
    .on_up = mc_hw_tcp_up,
    .on_accept = mc_hw_tcp_accept,
    .on_down = mc_hw_tcp_down,
    .on_msg = mc_hw_tcp_msg,
    .log = mc_hw_tcp_log,
};

static mc_status_t mc_hw_listen(mc_env_t *env, const char *addr)
{
    return mc_tcp_listen(mc_hw_env_of(env)->tcp, addr, NULL);
}

static mc_status_t mc_hw_conn_open(mc_env_t *env, const char *addr, mc_conn_t *out)
{
    return mc_tcp_connect(mc_hw_env_of(env)->tcp, addr, out);
}

static mc_status_t mc_hw_conn_send(mc_env_t *env, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    return mc_tcp_send(mc_hw_env_of(env)->tcp, conn, frame, len);
}

static void mc_hw_conn_close(mc_env_t *env, mc_conn_t conn)
{
    mc_tcp_close(mc_hw_env_of(env)->tcp, conn);
}

/* --------------------------------------------------------- data plane --- */

/* The xport posts only its completion flush, which frees its own state
 * once the xport is gone; running it at loop teardown releases that. */
static int xport_post(void *loop, void (*fn)(void *), void *arg)
{
    return mc_loop_post_drop(loop, fn, arg, fn);
}

static void xport_done(void *ctx, uint64_t tag, mc_status_t status)
{
    mc_hw_env_t *e = ctx;
    if (e->env.h && e->env.h->on_xfer_done)
        e->env.h->on_xfer_done(e->env.node, tag, status);
}

/* Peers are named by their data endpoint as published in segment
 * descriptors via data_endpoint(): "host:port", or an xport descriptor
 * ("mcx1 host=.. port=.. shm=.. rdma=..") from an rdma peer. Resolving is
 * parsing. */
static int xport_resolve(void *ctx, const char *peer, mc_xport_endpoint_t *out)
{
    (void)ctx;
    if (strncmp(peer, "mcx1", 4) == 0)
        return mc_xport_desc_parse(peer, out);
    char host[256];
    uint16_t port = 0;
    if (!mc_addr_split(peer, host, sizeof host, &port) || port == 0 || strlen(host) >= sizeof out->host)
        return -1;
    memset(out, 0, sizeof *out);
    memcpy(out->host, host, strlen(host) + 1); /* length checked above */
    out->data_port = port;
    out->shm = true;
    return 0;
}

static void xport_log(void *ctx, int level, const char *msg)
{
    mc_hw_env_t *e = ctx;
    /* may run on a worker thread: stdio is locked per call */
    fprintf(e->log_out, "[xport] %s %s: %s\n", mc_log_level_name(level), e->name, msg);
}

static mc_xport_t *mc_hw_xport(mc_hw_env_t *e)
{
    if (e->xport)
        return e->xport;
    mc_xport_opts_t xo;
    memset(&xo, 0, sizeof xo);
    xo.host = e->data_host ? e->data_host : "127.0.0.1";
    xo.post = xport_post;
    xo.post_ctx = e->loop;
    xo.done = xport_done;
    xo.done_ctx = e;
    xo.resolve = xport_resolve;
    xo.resolve_ctx = e;
    xo.log = xport_log;
    xo.log_ctx = e;
    xo.log_level = e->env.log_level;
    xo.protocol = e->protocol;
    xo.rdma_devices = e->rdma_devices;
    e->xport = mc_xport_create(&xo);
    if (!e->xport)
        return NULL;
    mc_xport_endpoint_t me;
    const char *desc = mc_xport_local_desc(e->xport);
    e->data_rdma = mc_xport_desc_parse(desc, &me) == 0 && me.rdma_port != 0;
    if (e->data_rdma) /* peers need the verbs port: publish the whole descriptor */
        snprintf(e->data_endpoint, sizeof e->data_endpoint, "%s", desc);
    else /* plain host:port keeps TCP endpoints as before (and short) */
        snprintf(e->data_endpoint, sizeof e->data_endpoint, "%s:%u", xo.host, mc_xport_data_port(e->xport));
    return e->xport;
}

static mc_status_t mc_hw_mem_register(mc_env_t *env, void *addr, size_t len, uint32_t *key)
{
    mc_xport_t *x = mc_hw_xport(mc_hw_env_of(env));
    return x ? mc_xport_mem_register_key(x, addr, len, key) : MC_INTERNAL_ERROR;
}

static mc_status_t mc_hw_mem_unregister(mc_env_t *env, void *addr)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    return e->xport ? mc_xport_mem_unregister(e->xport, addr) : MC_INVALID_PARAMS;
}

/* Store segments in memfd memory: a same-host reader maps it through the
 * xport's shm backend and copies without a TCP round trip. */
static void mc_hw_log(mc_env_t *env, int level, const char *component, const char *msg);

/* Segment memory: shared (memfd) so a same-host peer reads it by memcpy;
 * where memfd is not allowed (seccomp, old kernels) plain anonymous memory,
 * reachable over TCP/verbs only: slower, nothing lost. */
static void *mc_hw_seg_alloc(mc_env_t *env, size_t len)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_xport_t *x = mc_hw_xport(e);
    void *p = x ? mc_xport_alloc_shared(x, len) : NULL;
    if (p)
        return p;
    if (x) {
        char msg[160];
        snprintf(msg, sizeof msg, "segment of %zu bytes in private memory (no shared memory): same-host peers use TCP",
                 len);
        mc_hw_log(env, MC_LOG_WARN, "seg", msg);
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void mc_hw_seg_free(mc_env_t *env, void *p, size_t len)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    if (e->xport && mc_xport_is_shared(e->xport, p))
        mc_xport_free_shared(e->xport, p);
    else
        munmap(p, len);
}

static void mc_hw_xfer_flush(void *arg)
{
    mc_hw_env_t *e = arg;
    e->done_timer = 0;
    /* Take the batch first: handlers may post more (a new batch). */
    mc_vec_t batch = e->done;
    mc_vec_init(&e->done, sizeof(mc_hw_xfer_done_t));
    for (size_t i = 0; i < batch.len; i++) {
        mc_hw_xfer_done_t *d = MC_VEC_AT(&batch, mc_hw_xfer_done_t, i);
        xport_done(e, d->tag, d->status);
    }
    mc_vec_free(&batch);
}

static mc_status_t mc_hw_xfer_post(mc_env_t *env, const mc_xfer_op_t *ops, size_t n)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_xport_t *x = mc_hw_xport(e);
    if (x)
        return mc_xport_post(x, ops, n);
    /* No data plane could be started: every op still completes, once. */
    for (size_t i = 0; i < n; i++) {
        mc_hw_xfer_done_t *d = mc_vec_push(&e->done);
        d->tag = ops[i].tag;
        d->status = MC_TRANSFER_FAIL;
    }
    if (n && !e->done_timer)
        e->done_timer = mc_loop_timer_arm(e->loop, 0, mc_hw_xfer_flush, e);
    return n ? MC_TRANSFER_FAIL : MC_OK;
}

static void mc_hw_xfer_abandon(mc_env_t *env, uint64_t tag)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    if (e->xport)
        mc_xport_abandon(e->xport, tag);
}

static const char *mc_hw_data_endpoint(mc_env_t *env)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    return mc_hw_xport(e) ? e->data_endpoint : NULL;
}

mc_status_t mc_hw_env_data_start(mc_env_t *env)
{
    return mc_hw_xport(mc_hw_env_of(env)) ? MC_OK : MC_INVALID_PARAMS;
}

mc_status_t mc_hw_env_copy_now(mc_env_t *env, const mc_xfer_op_t *op)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    if (!e->xport || !op->peer)
        return MC_IN_PROGRESS;
    if (strcmp(op->peer, e->data_endpoint) == 0) /* our own memory: as the store client's local path */
        return mc_xport_copy_local(e->xport, op->opcode, op->local, op->remote_addr, op->remote_key, op->len);
    return mc_xport_copy_now(e->xport, op);
}

const char *mc_hw_env_data_protocol(mc_env_t *env)
{
    return mc_hw_env_of(env)->data_rdma ? "rdma" : "tcp";
}

void mc_hw_env_set_data_host(mc_env_t *env, const char *host)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_free(e->data_host);
    e->data_host = host && *host ? mc_strdup(host) : NULL;
}

/* ---------------------------------------------------- rand, log, trace --- */

static uint64_t mc_hw_rand_u64(mc_env_t *env)
{
    return mc_rng_next(&mc_hw_env_of(env)->rng);
}

static void mc_hw_log(mc_env_t *env, int level, const char *component, const char *msg)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    if (level < env->log_level)
        return;
    uint64_t t = mc_hw_now_ns(env);
    fprintf(e->log_out, "[%llu.%06llu] %-5s %s %s: %s\n", (unsigned long long)(t / MC_NS_PER_S),
            (unsigned long long)(t % MC_NS_PER_S / 1000), mc_log_level_name(level), e->name,
            component ? component : "-", msg);
    fflush(e->log_out);
}

/* Copy s into dst, turning line breaks into spaces so one record stays one line. */
static size_t mc_hw_one_line(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        dst[n++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    dst[n] = '\0';
    return n;
}

static void mc_hw_trace(mc_env_t *env, const char *event, const char *fields)
{
    mc_hw_env_t *e = mc_hw_env_of(env);
    char ev[256], fl[2048];
    mc_hw_one_line(ev, sizeof ev, event);
    size_t fn = mc_hw_one_line(fl, sizeof fl, fields);
    fprintf(e->trace_out, "@trace %llu %s %s%s%s\n", (unsigned long long)mc_hw_now_ns(env), e->name, ev,
            fn ? " " : "", fl);
    fflush(e->trace_out);
}

static const mc_env_ops_t mc_hw_ops = {
    .now_ns = mc_hw_now_ns,
    .timer_arm = mc_hw_timer_arm,
    .timer_cancel = mc_hw_timer_cancel,
    .listen = mc_hw_listen,
    .conn_open = mc_hw_conn_open,
    .conn_send = mc_hw_conn_send,
    .conn_close = mc_hw_conn_close,
    .mem_register = mc_hw_mem_register,
    .mem_unregister = mc_hw_mem_unregister,
    .xfer_post = mc_hw_xfer_post,
    .xfer_abandon = mc_hw_xfer_abandon,
    .data_endpoint = mc_hw_data_endpoint,
    .seg_alloc = mc_hw_seg_alloc,
    .seg_free = mc_hw_seg_free,
    .rand_u64 = mc_hw_rand_u64,
    .log = mc_hw_log,
    .trace = mc_hw_trace,
};

/* ---------------------------------------------------------- lifecycle --- */

static uint64_t mc_hw_seed_random(void)
{
    uint64_t s = 0;
    ssize_t n;
    do {
        n = getrandom(&s, sizeof s, GRND_NONBLOCK);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof s) /* entropy pool not ready: still distinct per process */
        s = mc_rng_mix(mc_loop_clock_ns() ^ ((uint64_t)getpid() << 32));
    return s;
}

mc_env_t *mc_hw_env_create(mc_loop_t *loop, const mc_hw_env_opts_t *o)
{
    mc_hw_env_t *e = mc_calloc(1, sizeof *e);
    e->loop = loop;
    e->name = mc_strdup(o->node_name ? o->node_name : "node");
    e->epoch_ns = o->epoch_ns ? o->epoch_ns : mc_loop_clock_ns();
    e->seed = o->have_seed ? o->seed : mc_hw_seed_random();
    mc_rng_seed(&e->rng, e->seed);
    e->log_out = o->log_out ? o->log_out : stderr;
    e->protocol = o->protocol && *o->protocol ? mc_strdup(o->protocol) : NULL;
    e->rdma_devices = o->rdma_devices && *o->rdma_devices ? mc_strdup(o->rdma_devices) : NULL;
    e->trace_out = o->trace_out ? o->trace_out : stdout;
    mc_map_init(&e->timers);
    mc_vec_init(&e->done, sizeof(mc_hw_xfer_done_t));
    e->env.ops = &mc_hw_ops;
    e->env.impl = e;
    e->env.node_name = e->name;
    e->env.log_level = o->log_level;
    e->tcp = mc_tcp_create(loop, &mc_hw_tcp_cbs, &e->env);
    if (o->out_limit)
        mc_tcp_set_out_limit(e->tcp, o->out_limit);
    return &e->env;
}

void mc_hw_env_destroy(mc_env_t *env)
{
    if (!env)
        return;
    mc_hw_env_t *e = mc_hw_env_of(env);
    mc_tcp_destroy(e->tcp);
    mc_map_entry_t *it;
    for (uint32_t i = 0; mc_map_next(&e->timers, &i, &it);) {
        mc_hw_timer_t *t = it->value;
        mc_loop_timer_cancel(e->loop, t->id);
        mc_free(t);
    }
    mc_map_free(&e->timers);
    mc_loop_timer_cancel(e->loop, e->done_timer);
    mc_vec_free(&e->done);
    if (e->xport)
        mc_xport_destroy(e->xport); /* joins workers; no completion after this */
    mc_free(e->data_host);
    mc_free(e->protocol);
    mc_free(e->rdma_devices);
    mc_free(e->name);
    mc_free(e);
}

mc_loop_t *mc_hw_env_loop(mc_env_t *env)
{
    return mc_hw_env_of(env)->loop;
}

uint64_t mc_hw_env_seed(mc_env_t *env)
{
    return mc_hw_env_of(env)->seed;
}

mc_status_t mc_hw_env_listen(mc_env_t *env, const char *addr, uint16_t *bound_port)
{
    return mc_tcp_listen(mc_hw_env_of(env)->tcp, addr, bound_port);
}

size_t mc_hw_env_queued(mc_env_t *env, mc_conn_t conn)
{
    return mc_tcp_queued(mc_hw_env_of(env)->tcp, conn);
}
