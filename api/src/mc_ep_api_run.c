/* The EP facade's loop threads: a loop + hw env per handle (TCP data
 * plane), calls handed to the loop and waited for, status mapping, the
 * per-thread error text, free-port choice. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc_addr.h"
#include "mc_ep_api_int.h"

static _Thread_local char last_error[512];

void mc_ep_api_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *mooncake_ep_last_error(void) { return last_error; }

int mc_ep_api_status(mc_status_t s)
{
    switch (s) {
    case MC_OK: return MOONCAKE_EP_OK;
    case MC_INVALID_PARAMS: return MOONCAKE_EP_ERR_INVALID;
    case MC_UNAVAILABLE_IN_CURRENT_STATUS: return MOONCAKE_EP_ERR_INACTIVE;
    case MC_TRANSFER_FAIL: return MOONCAKE_EP_ERR_DROPPED;
    case MC_RPC_TIMEOUT: return MOONCAKE_EP_ERR_TIMEOUT;
    default: return MOONCAKE_EP_ERR_INTERNAL;
    }
}

/* MC_LOG_LEVEL as the other facades: default WARN (the rank logs every
 * dropped peer at INFO). */
static int log_level(void)
{
    const char *v = getenv("MC_LOG_LEVEL");
    int l = v && *v ? mc_log_level_parse(v) : -1;
    if (v && !strcmp(v, "0"))
        return MC_LOG_INFO;
    return l >= 0 ? l : MC_LOG_WARN;
}

static FILE *devnull;
static pthread_once_t devnull_once = PTHREAD_ONCE_INIT;
static void devnull_open(void) { devnull = fopen("/dev/null", "w"); }

static void *loop_main(void *arg)
{
    mc_ep_api_host_t *hh = arg;
    mc_loop_run(hh->loop);
    return NULL;
}

int mc_ep_api_host_open(mc_ep_api_host_t *hh, const char *name, const char *data_host)
{
    memset(hh, 0, sizeof *hh);
    const char *tr = getenv("MC_TRACE");
    mc_hw_env_opts_t o = {
        .node_name = name ? name : "ep",
        .log_level = log_level(),
        .trace_out = tr && strcmp(tr, "0") ? stderr : NULL,
        .protocol = "tcp",
    };
    /* traces are noise for a library user unless asked for */
    if (!o.trace_out) {
        pthread_once(&devnull_once, devnull_open);
        o.trace_out = devnull ? devnull : stderr;
    }
    hh->loop = mc_loop_create();
    if (!hh->loop || !(hh->env = mc_hw_env_create(hh->loop, &o))) {
        mc_ep_api_set_error("cannot create the event loop");
        mc_ep_api_host_close(hh, NULL, NULL);
        return -1;
    }
    mc_hw_env_set_data_host(hh->env, data_host && *data_host ? data_host : "127.0.0.1");
    return 0;
}

int mc_ep_api_host_start(mc_ep_api_host_t *hh)
{
    if (pthread_create(&hh->thread, NULL, loop_main, hh) != 0) {
        mc_ep_api_set_error("cannot start the loop thread");
        return -1;
    }
    hh->thread_started = true;
    return 0;
}

typedef struct {
    mc_ep_api_host_t *hh;
    void (*fn)(void *);
    void *arg;
} stop_t;

/* After the node is gone the loop may still deliver this iteration's
 * events (a peer closing): they go nowhere. */
static void idle_up(void *node, mc_conn_t c) { (void)node, (void)c; }
static void idle_accept(void *node, mc_conn_t c, const char *peer) { (void)node, (void)c, (void)peer; }
static void idle_down(void *node, mc_conn_t c, mc_status_t why) { (void)node, (void)c, (void)why; }
static void idle_msg(void *node, mc_conn_t c, const uint8_t *f, size_t n) { (void)node, (void)c, (void)f, (void)n; }
static void idle_xfer(void *node, uint64_t tag, mc_status_t st) { (void)node, (void)tag, (void)st; }
static const mc_env_handlers_t idle = {idle_up, idle_accept, idle_down, idle_msg, idle_xfer};

static void stop_on_loop(void *arg)
{
    stop_t *s = arg;
    if (s->fn)
        s->fn(s->arg);
    mc_env_bind(s->hh->env, &idle, NULL);
    mc_loop_stop(s->hh->loop);
}

void mc_ep_api_host_close(mc_ep_api_host_t *hh, void (*fn)(void *), void *arg)
{
    stop_t s = {hh, fn, arg};
    if (hh->thread_started) {
        if (mc_loop_post(hh->loop, stop_on_loop, &s) != 0)
            mc_loop_stop(hh->loop);
        pthread_join(hh->thread, NULL);
        hh->thread_started = false;
    } else if (fn) {
        fn(arg); /* loop never ran: nothing else touches the node */
    }
    if (hh->env)
        mc_env_bind(hh->env, &idle, NULL); /* env teardown may report closes */
    if (hh->env)
        mc_hw_env_destroy(hh->env);
    hh->env = NULL;
    if (hh->loop)
        mc_loop_destroy(hh->loop);
    hh->loop = NULL;
}

/* The role listens itself, so probe a free port (bind to 0) and hand it
 * over; a race with another process taking it fails create cleanly. */
int mc_ep_api_pick_addr(const char *listen, char *out, size_t cap)
{
    char host[256];
    uint16_t port = 0;
    if (!listen || !*listen)
        listen = "127.0.0.1";
    if (!mc_addr_split(listen, host, sizeof host, &port)) {
        if (strlen(listen) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%s", listen);
        port = 0;
    }
    if (port == 0) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sa.sin_addr) != 1) {
            mc_ep_api_set_error("listen host '%s' is not a numeric IPv4 address", host);
            return -1;
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        socklen_t sl = sizeof sa;
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
            if (fd >= 0)
                close(fd);
            mc_ep_api_set_error("no free port on %s", host);
            return -1;
        }
        port = ntohs(sa.sin_port);
        close(fd);
    }
    int n = snprintf(out, cap, "%s:%u", host, port);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

void mc_ep_api_done(mc_ep_api_call_t *c, int rc)
{
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void call_start(void *arg)
{
    mc_ep_api_call_t *c = arg;
    c->start(c);
}

int mc_ep_api_run(mooncake_ep_t *h, mc_ep_api_start_fn start, void *arg, uint64_t *u64)
{
    if (!h) {
        mc_ep_api_set_error("no handle");
        return MOONCAKE_EP_ERR_INVALID;
    }
    mc_ep_api_call_t c = {.h = h, .start = start, .arg = arg, .rc = MOONCAKE_EP_ERR_INTERNAL};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    if (mc_loop_post(h->host.loop, call_start, &c) != 0) {
        mc_ep_api_set_error("handle is shutting down");
    } else {
        pthread_mutex_lock(&c.mu);
        while (!c.done)
            pthread_cond_wait(&c.cv, &c.mu);
        pthread_mutex_unlock(&c.mu);
    }
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
    if (u64)
        *u64 = c.u64;
    return c.rc;
}

uint64_t mc_ep_api_take_id(mooncake_ep_t *h) { return mc_ep_api_take_ids(h, 1); }

uint64_t mc_ep_api_take_ids(mooncake_ep_t *h, uint64_t n)
{
    pthread_mutex_lock(&h->mu);
    uint64_t id = h->next_id;
    h->next_id += n;
    pthread_mutex_unlock(&h->mu);
    return id;
}
