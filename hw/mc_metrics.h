/* mooncake_master's metrics: an HTTP server (libmicrohttpd, own thread)
 * serving /metrics (Prometheus text) and /metrics/summary, and the
 * periodic one-line summary on stderr (--enable_metric_reporting).
 *
 * The master's state lives on the loop thread, so a loop timer renders a
 * snapshot every MC_METRICS_REFRESH_MS and the HTTP thread serves the
 * latest one (at most that old). */
#ifndef MC_METRICS_H
#define MC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_loop.h"

#define MC_METRICS_REFRESH_MS 200

typedef struct mc_metrics mc_metrics_t;

/* http: serve on host:port (port 0 = any free port, see mc_metrics_port).
 * report_interval_ms: 0 = no periodic summary. NULL with err on failure. */
mc_metrics_t *mc_metrics_create(bool http, const char *host, uint16_t port, uint64_t report_interval_ms, char *err,
                                size_t errlen);
uint16_t mc_metrics_port(const mc_metrics_t *mt);
/* Start rendering the store_master role node's metrics on loop (call before
 * the loop runs, or on it); detach stops the timers (on the loop thread or
 * after it stopped). */
void mc_metrics_attach(mc_metrics_t *mt, mc_loop_t *loop, const void *node);
void mc_metrics_detach(mc_metrics_t *mt);
/* Stops the HTTP server and frees (NULL is fine). */
void mc_metrics_destroy(mc_metrics_t *mt);

#endif
