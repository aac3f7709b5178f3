/* See mc_metrics.h. */
#include "mc_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "env/mc_env.h"
#include "storesvc/mc_store_master_metrics.h"

struct mc_metrics {
    struct MHD_Daemon *d;
    uint16_t port;
    uint64_t report_ns;
    mc_loop_t *loop;
    const void *node;
    uint64_t refresh_timer, report_timer;
    pthread_mutex_t mu; /* guards the snapshot */
    mc_wbuf_t text;     /* Prometheus text */
    char summary[512];
    mc_wbuf_t scratch;  /* loop thread only */
};

static void snapshot(mc_metrics_t *mt)
{
    char line[512];
    mt->scratch.len = 0;
    mc_sm_metrics_text(mc_store_master_counters(mt->node), mc_store_master_core(mt->node), &mt->scratch);
    mc_sm_metrics_summary(mc_store_master_counters(mt->node), mc_store_master_core(mt->node), line, sizeof line);
    pthread_mutex_lock(&mt->mu);
    mt->text.len = 0;
    mc_wbuf_put(&mt->text, mt->scratch.data, mt->scratch.len);
    memcpy(mt->summary, line, sizeof line);
    pthread_mutex_unlock(&mt->mu);
}

static void on_refresh(void *arg)
{
    mc_metrics_t *mt = arg;
    snapshot(mt);
    mt->refresh_timer = mc_loop_timer_arm(mt->loop, MC_METRICS_REFRESH_MS * MC_NS_PER_MS, on_refresh, mt);
}

static void on_report(void *arg)
{
    mc_metrics_t *mt = arg;
    char line[512];
    mc_sm_metrics_summary(mc_store_master_counters(mt->node), mc_store_master_core(mt->node), line, sizeof line);
    fprintf(stderr, "Master Metrics: %s\n", line);
    mt->report_timer = mc_loop_timer_arm(mt->loop, mt->report_ns, on_report, mt);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const void *body, size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    mc_metrics_t *mt = cls;
    if (strcmp(method, "GET") != 0)
        return reply(c, 405, "method not allowed\n", 19, "text/plain");
    enum MHD_Result r;
    pthread_mutex_lock(&mt->mu);
    if (strcmp(url, "/metrics") == 0)
        r = reply(c, 200, mt->text.data ? (const void *)mt->text.data : "", mt->text.len,
                  "text/plain; version=0.0.4");
    else if (strcmp(url, "/metrics/summary") == 0)
        r = reply(c, 200, mt->summary, strlen(mt->summary), "text/plain");
    else
        r = reply(c, 404, "not found\n", 10, "text/plain");
    pthread_mutex_unlock(&mt->mu);
    return r;
}

mc_metrics_t *mc_metrics_create(bool http, const char *host, uint16_t port, uint64_t report_interval_ms, char *err,
                                size_t errlen)
{
    mc_metrics_t *mt = mc_calloc(1, sizeof *mt);
    pthread_mutex_init(&mt->mu, NULL);
    mc_wbuf_init(&mt->text);
    mc_wbuf_init(&mt->scratch);
    mt->report_ns = report_interval_ms * MC_NS_PER_MS;
    snprintf(mt->summary, sizeof mt->summary, "starting");
    if (!http)
        return mt;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--metrics_host '%s': expected an IPv4 address", host);
        goto fail;
    }
    mt->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL, handler, mt,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!mt->d) {
        snprintf(err, errlen, "cannot serve metrics on %s:%u (port in use?)", host, (unsigned)port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(mt->d, MHD_DAEMON_INFO_BIND_PORT);
    mt->port = info ? info->port : port;
    return mt;
fail:
    mc_metrics_destroy(mt);
    return NULL;
}

uint16_t mc_metrics_port(const mc_metrics_t *mt)
{
    return mt->port;
}

void mc_metrics_attach(mc_metrics_t *mt, mc_loop_t *loop, const void *node)
{
    mt->loop = loop;
    mt->node = node;
    on_refresh(mt);
    if (mt->report_ns)
        mt->report_timer = mc_loop_timer_arm(loop, mt->report_ns, on_report, mt);
}

void mc_metrics_detach(mc_metrics_t *mt)
{
    if (!mt || !mt->loop)
        return;
    mc_loop_timer_cancel(mt->loop, mt->refresh_timer);
    if (mt->report_timer)
        mc_loop_timer_cancel(mt->loop, mt->report_timer);
    mt->refresh_timer = mt->report_timer = 0;
    mt->loop = NULL;
    mt->node = NULL;
}

void mc_metrics_destroy(mc_metrics_t *mt)
{
    if (!mt)
        return;
    if (mt->d)
        MHD_stop_daemon(mt->d);
    pthread_mutex_destroy(&mt->mu);
    mc_wbuf_free(&mt->text);
    mc_wbuf_free(&mt->scratch);
    mc_free(mt);
}
