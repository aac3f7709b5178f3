/* The store master's metrics: per-RPC request / failure counters kept by
 * the store_master role, and their rendering with the master core's
 * gauges as Prometheus text (names as upstream's master metric manager,
 * spec store.md §4.19) and as the one-line summary. Pure: the hw master
 * (mooncake_master) serves and logs what these produce. */
#ifndef MC_STORE_MASTER_METRICS_H
#define MC_STORE_MASTER_METRICS_H

#include "base/mc_bytes.h"
#include "store/mc_master.h"

#define MC_SM_SLOTS 48

typedef struct mc_sm_counters {
    uint64_t req[MC_SM_SLOTS];
    uint64_t fail[MC_SM_SLOTS];  /* whole-call error, or any key failed */
} mc_sm_counters_t;

/* Count one request of type `type` whose reply frame is `reply` (len 0:
 * no reply was sent, counted as a failure). Unknown types are ignored. */
void mc_sm_count(mc_sm_counters_t *c, uint16_t type, const mc_wbuf_t *reply);
/* Prometheus text exposition (version 0.0.4) into out (appended). */
void mc_sm_metrics_text(const mc_sm_counters_t *c, const mc_master_t *m, mc_wbuf_t *out);
/* The one-line summary (upstream's periodic log line). */
void mc_sm_metrics_summary(const mc_sm_counters_t *c, const mc_master_t *m, char *buf, size_t cap);

/* The store_master role's node (mc_store_master_node.c), for embedders. */
const mc_master_t *mc_store_master_core(const void *node);
const mc_sm_counters_t *mc_store_master_counters(const void *node);

#endif
