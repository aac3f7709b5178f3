/* mooncake_master: the store master service (role store_master) with
 * upstream's flag names and defaults (spec store.md §4.20). Thin on
 * purpose: flags -> mc_conf -> role; the behaviour lives in core/.
 * Optionally embeds the HTTP metadata server (--enable_http_metadata_server).
 * Serves metrics on --metrics_port (Prometheus text, hw/mc_metrics.c) and
 * logs the one-line summary every 10 s (--enable_metric_reporting), as
 * upstream. SIGINT/SIGTERM: clean shutdown, exit 0 (mc_node_run). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/mc_role.h"
#include "mc_flags.h"
#include "mc_http_meta.h"
#include "mc_metrics.h"
#include "mc_node_run.h"

#define MC_MASTER_ROLE "store_master"
#define METRIC_REPORT_MS 10000 /* upstream's summary period */

/* How a flag's value becomes a role conf value. */
typedef enum flag_kind {
    FLAG_SECONDS,  /* "30" -> "30s" */
    FLAG_DURATION, /* upstream ms with optional suffix: "10000" (ms) or "10s" */
    FLAG_RATIO,    /* number in [0, 1] */
    FLAG_BOOL,
} flag_kind_t;

static const struct {
    const char *flag;
    const char *conf;
    flag_kind_t kind;
    const char *help;
} role_flags[] = {
    {"client_ttl", "client_ttl", FLAG_SECONDS, "seconds without a ping before a client is expired (10)"},
    {"default_kv_lease_ttl", "default_kv_lease_ttl", FLAG_DURATION, "read lease, ms or 500ms/10s/1m/1h (10000)"},
    {"default_kv_soft_pin_ttl", "default_kv_soft_pin_ttl", FLAG_DURATION, "soft-pin TTL (1800000 ms)"},
    {"max_kv_soft_pin_ttl", "max_kv_soft_pin_ttl", FLAG_DURATION, "largest soft-pin TTL (86400000 ms)"},
    {"allow_evict_soft_pinned_objects", "allow_evict_soft_pinned_objects", FLAG_BOOL, "(true)"},
    {"eviction_ratio", "eviction_ratio", FLAG_RATIO, "fraction evicted per pass (0.05)"},
    {"eviction_high_watermark_ratio", "eviction_high_watermark_ratio", FLAG_RATIO, "usage that starts eviction (0.90)"},
    {"put_start_discard_timeout_sec", "put_start_discard_timeout", FLAG_SECONDS, "abandoned put takeover (30)"},
    {"put_start_release_timeout_sec", "put_start_release_timeout", FLAG_SECONDS, "abandoned buffers freed (600)"},
};

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [options]\n"
            "Mooncake master service: object metadata, placement, leases, eviction, client liveness.\n\n"
            "  --port N                          RPC port (default 50051; alias of --rpc_port)\n"
            "  --rpc_port N                      RPC port (0 = use --port)\n"
            "  --rpc_address ADDR                address to listen on (default 0.0.0.0)\n",
            prog);
    for (size_t i = 0; i < sizeof role_flags / sizeof role_flags[0]; i++)
        fprintf(out, "  --%-32s %s\n", role_flags[i].flag, role_flags[i].help);
    fprintf(out,
            "  --enable_http_metadata_server B   serve the transfer-engine metadata over HTTP (false)\n"
            "  --http_metadata_server_host H     (0.0.0.0)\n"
            "  --http_metadata_server_port N     (8080)\n"
            "  --metrics_port N                  Prometheus /metrics and /metrics/summary (9003; 0 = any free port)\n"
            "  --metrics_host H                  (0.0.0.0)\n"
            "  --enable_metric_reporting B       log the metrics summary every 10 s (true)\n"
            "  -v, -vv                           more logging (also MC_LOG_LEVEL=trace|debug|info|warn|error)\n"
            "  --help                            this text\n\n"
            "Flags also take the --flag=value form. Trace lines go to stdout, logs to stderr.\n");
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static void metrics_started(void *arg, mc_loop_t *loop, void *node)
{
    mc_metrics_attach(arg, loop, node);
}

static void metrics_stopping(void *arg)
{
    mc_metrics_detach(arg);
}

/* Convert one role flag; false with a message on a bad value. */
static bool set_role_flag(mc_conf_t *conf, size_t i, const char *v, const char *prog)
{
    char buf[64];
    uint64_t n;
    bool b;
    switch (role_flags[i].kind) {
    case FLAG_SECONDS:
        if (!mc_parse_u64(v, &n))
            goto bad;
        snprintf(buf, sizeof buf, "%llus", (unsigned long long)n);
        break;
    case FLAG_DURATION:
        if (!mc_parse_duration_ns(v, &n))
            goto bad;
        snprintf(buf, sizeof buf, "%s", v);
        break;
    case FLAG_RATIO: {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || d < 0 || d > 1)
            goto bad;
        snprintf(buf, sizeof buf, "%s", v);
        break;
    }
    case FLAG_BOOL:
        if (!parse_bool(v, &b))
            goto bad;
        snprintf(buf, sizeof buf, "%s", b ? "true" : "false");
        break;
    }
    mc_conf_set(conf, role_flags[i].conf, buf);
    return true;
bad:
    fprintf(stderr, "%s: --%s '%s': invalid value\n", prog, role_flags[i].flag, v);
    return false;
}

int main(int argc, char **argv)
{
    const char *prog = "mooncake_master";
    int rc = 2;
    const char *port = "50051", *rpc_port = "0", *rpc_address = "0.0.0.0", *v = NULL;
    const char *http_host = "0.0.0.0", *http_port = "8080", *http_enable = "false";
    const char *metrics_port = "9003", *metrics_host = "0.0.0.0", *metric_reporting = "true";
    mc_metrics_t *metrics = NULL;
    int verbose = 0;
    mc_http_meta_t *meta = NULL;
    mc_conf_t conf;
    mc_conf_init(&conf);
    /* Before any thread starts (HTTP servers): SIGINT/SIGTERM must reach
     * mc_node_run's signalfd, not kill the process from another thread. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    mc_flags_t f;
    mc_flags_init(&f, argc, argv);
    while (mc_flags_peek(&f)) {
        int nv;
        bool matched = false;
        if (mc_flags_bool(&f, "help") || mc_flags_bool(&f, "h")) {
            usage(stdout, prog);
            rc = 0;
            goto cleanup;
        } else if ((nv = mc_flags_verbose(&f)) > 0) {
            verbose += nv;
            continue;
        } else if (mc_flags_value(&f, "port", &v)) {
            port = v;
            continue;
        } else if (mc_flags_value(&f, "rpc_port", &v)) {
            rpc_port = v;
            continue;
        } else if (mc_flags_value(&f, "rpc_address", &v)) {
            rpc_address = v;
            continue;
        } else if (mc_flags_value(&f, "enable_http_metadata_server", &v)) {
            http_enable = v;
            continue;
        } else if (mc_flags_value(&f, "http_metadata_server_host", &v)) {
            http_host = v;
            continue;
        } else if (mc_flags_value(&f, "http_metadata_server_port", &v)) {
            http_port = v;
            continue;
        } else if (mc_flags_value(&f, "metrics_port", &v)) {
            metrics_port = v;
            continue;
        } else if (mc_flags_value(&f, "metrics_host", &v)) {
            metrics_host = v;
            continue;
        } else if (mc_flags_value(&f, "enable_metric_reporting", &v)) {
            metric_reporting = v;
            continue;
        }
        for (size_t i = 0; !f.err && i < sizeof role_flags / sizeof role_flags[0]; i++) {
            if (mc_flags_value(&f, role_flags[i].flag, &v)) {
                if (!set_role_flag(&conf, i, v, prog))
                    goto cleanup;
                matched = true;
                break;
            }
        }
        if (matched)
            continue;
        if (f.err)
            fprintf(stderr, "%s: %s: %s\n", prog, f.err_flag, f.err);
        else
            fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", prog, mc_flags_peek(&f));
        goto cleanup;
    }
    uint64_t n;
    if (!mc_parse_u64(rpc_port, &n) || n > 65535) {
        fprintf(stderr, "%s: --rpc_port '%s': expected 0..65535\n", prog, rpc_port);
        goto cleanup;
    }
    if (n == 0 && (!mc_parse_u64(port, &n) || n == 0 || n > 65535)) {
        fprintf(stderr, "%s: --port '%s': expected 1..65535\n", prog, port);
        goto cleanup;
    }
    char buf[300];
    snprintf(buf, sizeof buf, strchr(rpc_address, ':') ? "[%s]:%llu" : "%s:%llu", rpc_address,
             (unsigned long long)n);
    mc_conf_set(&conf, "addr", buf);

    bool http_on;
    if (!parse_bool(http_enable, &http_on)) {
        fprintf(stderr, "%s: --enable_http_metadata_server '%s': expected true or false\n", prog, http_enable);
        goto cleanup;
    }
    if (http_on) {
        if (!mc_parse_u64(http_port, &n) || n == 0 || n > 65535) {
            fprintf(stderr, "%s: --http_metadata_server_port '%s': expected 1..65535\n", prog, http_port);
            goto cleanup;
        }
        char err[256];
        meta = mc_http_meta_start(http_host, (uint16_t)n, err, sizeof err);
        if (!meta) {
            fprintf(stderr, "%s: HTTP metadata server: %s\n", prog, err);
            rc = 1;
            goto cleanup;
        }
        fprintf(stderr, "%s: HTTP metadata server on http://%s:%llu/metadata\n", prog, http_host,
                (unsigned long long)n);
    }

    bool reporting;
    if (!parse_bool(metric_reporting, &reporting)) {
        fprintf(stderr, "%s: --enable_metric_reporting '%s': expected true or false\n", prog, metric_reporting);
        goto cleanup;
    }
    if (!mc_parse_u64(metrics_port, &n) || n > 65535) {
        fprintf(stderr, "%s: --metrics_port '%s': expected 0..65535\n", prog, metrics_port);
        goto cleanup;
    }
    char merr[256];
    metrics = mc_metrics_create(true, metrics_host, (uint16_t)n, reporting ? METRIC_REPORT_MS : 0, merr, sizeof merr);
    if (!metrics) {
        /* The store keeps working without its metrics endpoint. */
        fprintf(stderr, "%s: metrics: %s; continuing without /metrics\n", prog, merr);
        metrics = mc_metrics_create(false, metrics_host, 0, reporting ? METRIC_REPORT_MS : 0, merr, sizeof merr);
    } else {
        fprintf(stderr, "%s: metrics on http://%s:%u/metrics\n", prog, metrics_host,
                (unsigned)mc_metrics_port(metrics));
    }

    mc_node_opts_t o;
    memset(&o, 0, sizeof o);
    o.on_started = metrics_started;
    o.on_stopping = metrics_stopping;
    o.hook_arg = metrics;
    o.prog = prog;
    o.role = mc_role_find(MC_MASTER_ROLE);
    if (!o.role) {
        fprintf(stderr, "%s: role %s is not built in\n", prog, MC_MASTER_ROLE);
        rc = 1;
        goto cleanup;
    }
    o.name = "master";
    o.conf = &conf;
    o.log_level = mc_flags_log_level(verbose);
    rc = mc_node_run(&o);
cleanup:
    mc_metrics_destroy(metrics);
    mc_http_meta_stop(meta);
    mc_conf_free(&conf);
    return rc;
}
