/* Engine lifecycle: new, initialize(_ext) (metadata conn string, protocol
 * check, RPC port choice, loop thread, core engine), destroy. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mc_addr.h"
#include "mc_te_api_int.h"

#define RPC_PORT_MIN 15000
#define RPC_PORT_MAX 17000
#define RPC_PORT_TRIES 500
#define LEGACY_PORT 12001

static void *loop_main(void *arg)
{
    mooncake_te_t *h = arg;
    mc_loop_run(h->loop);
    return NULL;
}

mooncake_te_t *mooncake_te_new(void)
{
    mooncake_te_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->reg_mu, NULL);
    pthread_mutex_init(&h->mb_mu, NULL);
    h->rpc_port = -1;
    return h;
}

static bool env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0 && strcasecmp(v, "no") != 0;
}

/* MC_LOG_LEVEL: upstream's 0/1/2 (INFO/WARNING/ERROR) or names. */
static int log_level(void)
{
    const char *v = getenv("MC_LOG_LEVEL");
    if (!v || !*v)
        return MC_LOG_WARN;
    if (!strcmp(v, "0") || !strcasecmp(v, "info"))
        return MC_LOG_INFO;
    if (!strcmp(v, "1") || !strcasecmp(v, "warning") || !strcasecmp(v, "warn"))
        return MC_LOG_WARN;
    if (!strcmp(v, "2") || !strcasecmp(v, "error"))
        return MC_LOG_ERROR;
    if (!strcasecmp(v, "trace"))
        return MC_LOG_TRACE;
    if (!strcasecmp(v, "debug"))
        return MC_LOG_DEBUG;
    return MC_LOG_WARN;
}

/* Number of RDMA devices (sysfs), honoring the device_name filter. */
static int rdma_devices(const char *filter)
{
    DIR *d = opendir("/sys/class/infiniband");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (filter && *filter) {
            size_t l = strlen(e->d_name);
            const char *p = filter;
            bool hit = false;
            while (*p && !hit) {
                const char *q = strchr(p, ',');
                size_t pl = q ? (size_t)(q - p) : strlen(p);
                hit = pl == l && strncmp(p, e->d_name, l) == 0;
                p = q ? q + 1 : p + pl;
            }
            if (!hit)
                continue;
        }
        n++;
    }
    closedir(d);
    return n;
}

/* The data plane protocol: "rdma" when asked for (or auto-discovery, ""
 * / NULL, finds an RDMA device) unless MC_FORCE_TCP, else "tcp"; hw/xport's
 * verbs backend then runs it. NULL (error set) for "rdma" without a
 * matching device, as upstream: MC_FORCE_TCP=1 falls back to TCP. */
static const char *check_protocol(const char *protocol, const char *device_name)
{
    if (!protocol || !*protocol || !strcmp(protocol, "rdma")) {
        if (env_on("MC_FORCE_TCP"))
            return "tcp";
        int n = rdma_devices(device_name);
        if (n > 0)
            return "rdma";
        if (!protocol || !*protocol)
            return "tcp"; /* auto-discovery finds no HCA: TCP, as upstream */
        mc_te_api_set_error("protocol 'rdma': no RDMA device found%s%s (set MC_FORCE_TCP=1 to use TCP)",
                            device_name && *device_name ? " matching " : "",
                            device_name && *device_name ? device_name : "");
        return NULL;
    }
    if (!strcmp(protocol, "tcp"))
        return "tcp";
    mc_te_api_set_error("protocol '%s' is not supported (use \"tcp\" or \"rdma\")", protocol);
    return NULL;
}

static uint32_t env_port(const char *name, const char *alias, uint32_t def)
{
    const char *v = getenv(name);
    if (!v)
        v = getenv(alias);
    long p = v ? strtol(v, NULL, 10) : 0;
    /* upstream: <= 1023 or inside the ephemeral range 32768-60999 is invalid */
    if (p <= 1023 || p > 65535 || (p >= 32768 && p <= 60999))
        return def;
    return (uint32_t)p;
}

/* Listen on host:port for a free port (or the legacy fixed one). */
static int bind_rpc(mooncake_te_t *h, const char *host, uint16_t given_port)
{
    bool v6 = strchr(host, ':') != NULL;
    if (env_on("MC_LEGACY_RPC_PORT_BINDING")) {
        uint16_t p = given_port ? given_port : LEGACY_PORT;
        snprintf(h->addr, sizeof h->addr, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", p);
        if (mc_hw_env_listen(h->env, h->addr, NULL) != MC_OK) {
            mc_te_api_set_error("cannot listen on %s (MC_LEGACY_RPC_PORT_BINDING)", h->addr);
            return -1;
        }
        h->rpc_port = p;
        return 0;
    }
    uint32_t pmin = env_port("MC_MIN_RPC_PORT", "MC_MIN_PRC_PORT", RPC_PORT_MIN);
    uint32_t pmax = env_port("MC_MAX_RPC_PORT", "MC_MAX_PRC_PORT", RPC_PORT_MAX);
    if (pmin > pmax) {
        pmin = RPC_PORT_MIN;
        pmax = RPC_PORT_MAX;
    }
    uint32_t span = pmax - pmin + 1;
    uint64_t r = mc_loop_clock_ns() ^ ((uint64_t)getpid() << 20);
    for (uint32_t i = 0; i < RPC_PORT_TRIES; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t p = pmin + (uint32_t)((r >> 33) % span);
        snprintf(h->addr, sizeof h->addr, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", p);
        if (mc_hw_env_listen(h->env, h->addr, NULL) == MC_OK) {
            h->rpc_port = (int)p;
            return 0;
        }
    }
    mc_te_api_set_error("no free RPC port on %s in [%u, %u] after %d tries", host, pmin, pmax, RPC_PORT_TRIES);
    return -1;
}

static void destroy_on_loop(void *arg)
{
    mooncake_te_t *h = arg;
    if (h->te) {
        mc_te_destroy(h->te);
        h->te = NULL;
    }
    if (h->meta) {
        mc_te_meta_destroy(h->meta);
        h->meta = NULL;
    }
    mc_loop_stop(h->loop);
}

/* Orderly removal of our keys needs the backend to run a little: the
 * unpublish ops are queued, then the loop gets a short grace. */
static void unpublish_then_stop(void *arg)
{
    mooncake_te_t *h = arg;
    if (h->te && !h->p2p)
        mc_te_unpublish(h->te);
    mc_loop_timer_arm(h->loop, 200 * 1000 * 1000ULL, destroy_on_loop, h);
}

/* unpublish: remove our keys first (not after a failed initialize: the
 * rpc_meta key may be another engine's). */
static void teardown(mooncake_te_t *h, bool unpublish)
{
    if (h->thread_started) {
        if (mc_loop_post(h->loop, h->p2p || !unpublish ? destroy_on_loop : unpublish_then_stop, h) != 0)
            mc_loop_stop(h->loop);
        pthread_join(h->thread, NULL);
        h->thread_started = false;
    }
    /* loop stopped (or never ran): anything left is freed here */
    if (h->te)
        mc_te_destroy(h->te);
    h->te = NULL;
    if (h->meta)
        mc_te_meta_destroy(h->meta);
    h->meta = NULL;
    if (h->env) /* stops the data plane: nobody touches our memory after */
        mc_hw_env_destroy(h->env);
    h->env = NULL;
    mc_te_api_managed_free_all(h);
    if (h->loop)
        mc_loop_destroy(h->loop);
    h->loop = NULL;
    if (h->trace_sink && h->trace_sink != stderr)
        fclose(h->trace_sink);
    h->trace_sink = NULL;
    mc_te_api_regions_free(h);
    h->initialized = false;
    h->meta_rpc = h->p2p = false;
}

void mooncake_te_destroy(mooncake_te_t *h)
{
    if (!h)
        return;
    teardown(h, true);
    pthread_mutex_destroy(&h->reg_mu);
    pthread_mutex_destroy(&h->mb_mu);
    free(h);
}

/* Reads our rpc_meta entry back: the backend completes ops in issue
 * order, so this sees whether create's publish landed. */
static void published_cb(void *arg, int err, const char *value, size_t len)
{
    mc_te_api_call_t *c = arg;
    if (err)
        mc_te_api_fail(c, -1, "metadata server unreachable: %s", mc_te_err_msg(err));
    else if (!value)
        mc_te_api_fail(c, -1, "metadata server did not store our rpc_meta entry");
    else
        mc_te_api_done(c, 0);
}

static void check_published(mc_te_api_call_t *c)
{
    char *key = mc_te_key_rpc_meta(c->arg, c->h->name);
    mc_te_meta_get(c->h->meta, key, published_cb, c);
    free(key);
}

/* conn = metadata_server as given when it is P2PHANDSHAKE or has "://",
 * else type + "://" + server. */
static int make_conn(const char *server, const char *type, char *out, size_t outlen)
{
    if (!server || !*server)
        server = getenv("MC_METADATA_SERVER");
    if (!server || !*server) {
        mc_te_api_set_error("no metadata server (argument empty and MC_METADATA_SERVER unset)");
        return -1;
    }
    int n;
    if (!strcmp(server, "P2PHANDSHAKE") || strstr(server, "://"))
        n = snprintf(out, outlen, "%s", server);
    else
        n = snprintf(out, outlen, "%s://%s", type && *type ? type : "etcd", server);
    if (n < 0 || (size_t)n >= outlen) {
        mc_te_api_set_error("metadata server string too long");
        return -1;
    }
    return 0;
}

static int init_conn(mooncake_te_t *h, const char *local_hostname, const char *conn, const char *protocol,
                     const char *device_name)
{
    if (h->initialized) {
        mc_te_api_set_error("transfer engine already initialized");
        return -1;
    }
    char host[256] = "";
    uint16_t port = 0;
    if (!local_hostname || !*local_hostname || strlen(local_hostname) >= sizeof host) {
        mc_te_api_set_error("local_hostname is empty or too long");
        return -1;
    }
    if (!mc_addr_split(local_hostname, host, sizeof host, &port)) {
        snprintf(host, sizeof host, "%s", local_hostname); /* no port */
        port = 0;
    }
    if (!host[0] || strchr(host, '/') || strchr(host, ' ')) {
        mc_te_api_set_error("local_hostname '%s' has no usable host", local_hostname);
        return -1;
    }
    const char *data_proto = check_protocol(protocol, device_name);
    if (!data_proto)
        return -1;
    const char *bind = getenv("MC_TCP_BIND_ADDRESS");
    const char *adv = !strcmp(conn, "P2PHANDSHAKE") || !bind || !*bind ? host : bind;

    const char *tr = getenv("MC_TRACE");
    h->trace_sink = tr && strcmp(tr, "0") ? stderr : fopen("/dev/null", "w");
    h->loop = mc_loop_create();
    mc_hw_env_opts_t opts = {
        .node_name = local_hostname,
        .log_level = log_level(),
        .trace_out = h->trace_sink ? h->trace_sink : stderr,
        .protocol = data_proto,
        .rdma_devices = device_name,
    };
    if (!h->loop || !(h->env = mc_hw_env_create(h->loop, &opts))) {
        mc_te_api_set_error("cannot create the event loop");
        goto fail;
    }
    mc_hw_env_set_data_host(h->env, adv);
    /* rdma: open the devices now so a failure is initialize's (the log has
     * the verbs reason) rather than every transfer's */
    if (!strcmp(data_proto, "rdma") && mc_hw_env_data_start(h->env) != MC_OK) {
        mc_te_api_set_error("protocol 'rdma': the RDMA data plane did not start%s%s (see the log; set "
                            "MC_FORCE_TCP=1 to use TCP)",
                            device_name && *device_name ? " on " : "", device_name && *device_name ? device_name : "");
        goto fail;
    }
    if (bind_rpc(h, adv, port) != 0)
        goto fail;
    if (mc_te_api_meta_open(h, conn) != 0)
        goto fail;
    /* P2P: the segment name is the RPC address (upstream rewrites it). */
    snprintf(h->name, sizeof h->name, "%s", h->p2p ? h->addr : local_hostname);

    mc_conf_t conf;
    mc_conf_init(&conf);
    mc_conf_set(&conf, "segment_name", h->name);
    mc_conf_set(&conf, "addr", h->addr);
    mc_conf_set(&conf, "protocol", "tcp");
    const char *cluster = getenv("MC_METADATA_CLUSTER_ID");
    if (cluster && *cluster)
        mc_conf_set(&conf, "cluster_id", cluster);
    const char *to = getenv("MC_TRANSFER_TIMEOUT");
    char tbuf[32];
    long secs = to && *to ? strtol(to, NULL, 10) : 30;
    if (secs < 5)
        secs = 5; /* upstream clamps to >= 5 s */
    snprintf(tbuf, sizeof tbuf, "%ld", secs);
    mc_conf_set(&conf, "transfer_timeout", tbuf);
    h->timeout_ns = (uint64_t)secs * 1000000000ULL;
    char err[256] = "";
    mc_te_api_bind(h);
    h->te = mc_te_create(h->env, &conf, h->meta, err, sizeof err);
    mc_conf_free(&conf);
    if (!h->te) {
        mc_te_api_set_error("transfer engine: %s", err);
        goto fail;
    }
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
        mc_te_api_set_error("cannot start the loop thread");
        goto fail;
    }
    h->thread_started = true;
    h->initialized = true;
    if (!h->p2p && mc_te_api_run(h, check_published, (void *)(cluster ? cluster : ""), -1) != 0)
        goto fail; /* upstream: init fails when the rpc_meta entry cannot be stored */
    mc_te_api_clear_error();
    return 0;
fail:
    teardown(h, false);
    h->rpc_port = -1;
    h->name[0] = '\0';
    return -1;
}

int mooncake_te_initialize_ext(mooncake_te_t *h, const char *local_hostname, const char *metadata_server,
                               const char *protocol, const char *device_name, const char *metadata_type)
{
    char conn[600];
    if (!h) {
        mc_te_api_set_error("NULL engine");
        return -1;
    }
    if (make_conn(metadata_server, metadata_type, conn, sizeof conn) != 0)
        return -1;
    return init_conn(h, local_hostname, conn, protocol, device_name);
}

int mooncake_te_initialize(mooncake_te_t *h, const char *local_hostname, const char *metadata_server,
                           const char *protocol, const char *device_name)
{
    return mooncake_te_initialize_ext(h, local_hostname, metadata_server, protocol, device_name, "etcd");
}

int mooncake_te_get_rpc_port(mooncake_te_t *h) { return h && h->initialized ? h->rpc_port : -1; }

const char *mooncake_te_segment_name(mooncake_te_t *h) { return h && h->initialized ? h->name : ""; }
