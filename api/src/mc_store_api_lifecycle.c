/* Store lifecycle: setup (address, loop thread, core client, waiting for
 * the master's acknowledgement), close, identity and health. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_addr.h"
#include "mc_store_api_int.h"

#define PORT_MIN 12300
#define PORT_MAX 14300
#define PORT_TRIES 20
#define SETUP_WAIT_MS 10000

static void *loop_main(void *arg)
{
    mooncake_store_t *s = arg;
    mc_loop_run(s->loop);
    return NULL;
}

typedef struct ready_probe {
    mooncake_store_t *s;
    bool ready;
} ready_probe_t;

static void probe_ready(void *arg)
{
    ready_probe_t *p = arg;
    p->ready = mc_store_client_ready(&p->s->sc);
}

/* MC_RPC_CONNECT_TIMEOUT_MS (upstream's connect deadline) bounds the wait. */
static uint64_t setup_wait_ms(void)
{
    const char *e = getenv("MC_RPC_CONNECT_TIMEOUT_MS");
    long v = e ? atol(e) : 0;
    return v > 0 ? (uint64_t)v : SETUP_WAIT_MS;
}

static bool wait_registered(mooncake_store_t *s, uint64_t wait_ms)
{
    for (uint64_t waited = 0; waited < wait_ms; waited += 20) {
        ready_probe_t p = {.s = s};
        if (mc_api_on_loop(s, probe_ready, &p) != MC_OK)
            return false;
        if (p.ready)
            return true;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* The data plane (TCP/shm/verbs) listens on local_hostname's IPv4 address,
 * so peers on other hosts can reach the replicas this store owns; a name
 * is resolved here (setup blocks anyway). Unresolvable or wildcard: the
 * data plane keeps its loopback default. */
static void set_data_host(mc_env_t *env, const char *local_hostname)
{
    char host[MC_ADDR_STRLEN];
    uint16_t port = 0;
    if (!mc_addr_split(local_hostname, host, sizeof host, &port))
        snprintf(host, sizeof host, "%s", local_hostname);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return;
    char ip[INET_ADDRSTRLEN];
    const struct sockaddr_in *sin = (const struct sockaddr_in *)res->ai_addr;
    if (sin->sin_addr.s_addr != htonl(INADDR_ANY) && inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip))
        mc_hw_env_set_data_host(env, ip);
    freeaddrinfo(res);
}

/* Bind local_hostname (with a port from the dynamic range if it has none). */
static mc_status_t choose_address(mooncake_store_t *s, const char *local_hostname)
{
    char host[256];
    uint16_t port = 0;
    if (mc_addr_split(local_hostname, host, sizeof host, &port) && port) {
        snprintf(s->addr, sizeof s->addr, "%s", local_hostname);
        /* upstream: client creation with an explicit port fails with -600 */
        return mc_hw_env_listen(s->env, s->addr, NULL) == MC_OK ? MC_OK : MC_INVALID_PARAMS;
    }
    snprintf(host, sizeof host, "%s", local_hostname);
    const char *lo = getenv("MC_STORE_CLIENT_MIN_PORT"), *hi = getenv("MC_STORE_CLIENT_MAX_PORT");
    uint32_t pmin = lo ? (uint32_t)atoi(lo) : PORT_MIN, pmax = hi ? (uint32_t)atoi(hi) : PORT_MAX;
    if (pmin == 0 || pmax < pmin || pmax > 65535)
        return MC_INVALID_PARAMS;
    uint32_t span = pmax - pmin + 1;
    uint32_t start = (uint32_t)(mc_loop_clock_ns() / 1000) % span;
    for (uint32_t i = 0; i < PORT_TRIES; i++) {
        uint32_t p = pmin + (start + i * 7919u) % span;
        snprintf(s->addr, sizeof s->addr, "%s:%u", host, p);
        if (mc_hw_env_listen(s->env, s->addr, NULL) == MC_OK)
            return MC_OK;
    }
    return MC_INTERNAL_ERROR; /* upstream: -1 after 20 failed binds */
}

static void destroy_on_loop(void *arg)
{
    mooncake_store_t *s = arg;
    if (s->sc_ready) {
        mc_store_client_destroy(&s->sc);
        s->sc_ready = false;
    }
    mc_loop_stop(s->loop);
}

static void teardown(mooncake_store_t *s)
{
    mc_api_dummy_destroy(s); /* no-op unless setup_dummy */
    mc_api_direct_free(s->direct);
    s->direct = NULL;
    if (s->thread_started) {
        if (mc_loop_post(s->loop, destroy_on_loop, s) != 0)
            mc_loop_stop(s->loop);
        pthread_join(s->thread, NULL);
    } else if (s->sc_ready) {
        mc_store_client_destroy(&s->sc);
    }
    if (s->env)
        mc_hw_env_destroy(s->env);
    if (s->loop)
        mc_loop_destroy(s->loop);
    if (s->trace_sink && s->trace_sink != stderr)
        fclose(s->trace_sink);
    mc_api_regions_free(s);
    pthread_mutex_destroy(&s->reg_mu);
    if (s->lbuf)
        mc_api_lbuf_unref(s->lbuf);
    free(s);
}

static bool protocol_ok(const char *protocol)
{
    return !protocol || !*protocol || strcmp(protocol, "tcp") == 0 || strcmp(protocol, "rdma") == 0;
}

static bool want_rdma(const char *protocol)
{
    return protocol && strcmp(protocol, "rdma") == 0;
}

int mooncake_store_setup(mooncake_store_t **out, const char *local_hostname, const char *metadata_server,
                         uint64_t global_segment_size, uint64_t local_buffer_size, const char *protocol,
                         const char *rdma_devices, const char *master_server_addr)
{
    /* Transfer metadata travels with the master's replica lists; the mode
     * only decides what replica descriptors report (spec §10.13). The data
     * plane is hw/xport: "rdma" runs its verbs backend on rdma_devices
     * ("" / "auto-discovery": every usable device; MC_MS_AUTO_DISC and
     * MC_MS_FILTERS apply there). */
    if (!out || !local_hostname || !*local_hostname || !master_server_addr || !*master_server_addr)
        return MC_INVALID_PARAMS;
    if (!protocol_ok(protocol)) {
        fprintf(stderr, "mooncake: protocol '%s' is not supported (use \"tcp\" or \"rdma\")\n", protocol);
        return MC_INVALID_PARAMS;
    }
    mooncake_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return MC_BUFFER_OVERFLOW;
    pthread_mutex_init(&s->reg_mu, NULL);
    snprintf(s->master, sizeof s->master, "%s", master_server_addr);
    s->p2p = metadata_server && strcmp(metadata_server, "P2PHANDSHAKE") == 0;
    s->lbuf = mc_api_lbuf_new(local_buffer_size);
    s->loop = mc_loop_create();
    const char *lvl = getenv("MC_LOG_LEVEL"), *tr = getenv("MC_TRACE");
    /* A library never writes to the application's stdout. */
    s->trace_sink = tr && strcmp(tr, "0") ? stderr : fopen("/dev/null", "w");
    mc_hw_env_opts_t opts = {
        .node_name = local_hostname,
        .log_level = lvl && mc_log_level_parse(lvl) >= 0 ? mc_log_level_parse(lvl) : MC_LOG_WARN,
        .trace_out = s->trace_sink ? s->trace_sink : stderr,
        .protocol = want_rdma(protocol) ? "rdma" : "tcp",
        .rdma_devices = rdma_devices && strcmp(rdma_devices, "auto-discovery") != 0 ? rdma_devices : NULL,
    };
    if (!s->lbuf || !s->loop || !(s->env = mc_hw_env_create(s->loop, &opts))) {
        teardown(s);
        return MC_INTERNAL_ERROR;
    }
    set_data_host(s->env, local_hostname);
    /* rdma: open the devices now, so "no device" is setup's error (the
     * xport logged the verbs reason); MC_FORCE_TCP=1 makes it TCP there. */
    if (want_rdma(protocol) && mc_hw_env_data_start(s->env) != MC_OK) {
        fprintf(stderr,
                "mooncake: setup failed: protocol 'rdma': no usable RDMA device%s%s "
                "(set MC_FORCE_TCP=1 to use TCP)\n",
                rdma_devices && *rdma_devices ? " among " : "", rdma_devices && *rdma_devices ? rdma_devices : "");
        teardown(s);
        return MC_INVALID_PARAMS;
    }
    mc_status_t st = choose_address(s, local_hostname);
    if (st != MC_OK) {
        fprintf(stderr, "mooncake: cannot bind a client port for '%s': %s\n", local_hostname, mc_status_name(st));
        teardown(s);
        return st;
    }
    char err[256] = "";
    mc_sc_config_t cfg = {.master = s->master,
                          .addr = s->addr,
                          .segment_size = global_segment_size,
                          .protocol = mc_hw_env_data_protocol(s->env)};
    st = mc_store_client_init(&s->sc, s->env, &cfg, err, sizeof err);
    if (st != MC_OK) {
        fprintf(stderr, "mooncake: setup failed: %s\n", err);
        teardown(s);
        return st;
    }
    s->sc_ready = true;
    mc_store_client_bind(&s->sc);
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        teardown(s);
        return MC_INTERNAL_ERROR;
    }
    s->thread_started = true;
    uint64_t wait_ms = setup_wait_ms();
    if (!wait_registered(s, wait_ms)) {
        fprintf(stderr, "mooncake: setup failed: master %s did not acknowledge this client within %llu ms\n",
                s->master, (unsigned long long)wait_ms);
        teardown(s);
        return MC_RPC_FAIL;
    }
    s->direct = mc_api_direct_new(s);
    *out = s;
    return MC_OK;
}

void mooncake_store_close(mooncake_store_t *s)
{
    if (!s)
        return;
    /* Unmount first (upstream: objects stored only here vanish at close);
     * a master that is down just means the TTL expiry does it later. */
    mc_api_op_t op = {.kind = MC_API_UNMOUNT};
    mc_api_run_one(s, &op);
    s->closed = true;
    teardown(s);
}

const char *mooncake_store_hostname(const mooncake_store_t *s)
{
    return s ? s->addr : "";
}

int mooncake_store_health(const mooncake_store_t *s)
{
    if (!mc_api_usable(s))
        return 1;
    mc_api_op_t op = {.kind = MC_API_HEALTH};
    if (mc_api_run_one((mooncake_store_t *)s, &op) != MC_OK)
        return 2;
    return op.value_out ? 0 : 2;
}

int mooncake_store_read_stats(const mooncake_store_t *s, mooncake_read_stats_t *out)
{
    if (!s || !out || s->dummy)
        return MC_INVALID_PARAMS;
    mc_api_direct_stats(s->direct, &out->direct_keys, &out->loop_keys);
    return MC_OK;
}

const char *mooncake_strerror(int code)
{
    return mc_status_name(code);
}

void mooncake_free(void *p)
{
    free(p);
}
