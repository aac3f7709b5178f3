/* Rendering of the store master's metrics (see the header). RPC names are
 * the wire names ("put_start" -> master_put_start_requests_total); single
 * and batch forms are one message here, so they share one counter. */
#include <stdio.h>
#include <string.h>

#include "storesvc/mc_store_master_metrics.h"
#include "wire/mc_msg_store.h"
#include "wire/mc_msg_types.h"

static const struct {
    uint16_t type;
    const char *name;
} rpcs[] = {
#define MC_SM_ROW(n, v, str) {v, str},
    MC_MSG_STORE_TYPE_LIST(MC_SM_ROW)
#undef MC_SM_ROW
    {MC_MSG_PING, "ping"},
};

_Static_assert(sizeof rpcs / sizeof rpcs[0] <= MC_SM_SLOTS, "raise MC_SM_SLOTS");

static int slot_of(uint16_t type)
{
    for (size_t i = 0; i < sizeof rpcs / sizeof rpcs[0]; i++)
        if (rpcs[i].type == type)
            return (int)i;
    return -1;
}

static bool is_request(uint16_t type)
{
    return type == MC_MSG_PING || mc_store_req_type_known(type);
}

/* Did the reply report an error (whole call, or any key of a values reply)? */
static bool reply_failed(const mc_wbuf_t *reply)
{
    if (reply->len < MC_WIRE_HDR_LEN + 4)
        return true;
    mc_rbuf_t r;
    mc_rbuf_init(&r, reply->data + MC_WIRE_HDR_LEN, reply->len - MC_WIRE_HDR_LEN);
    if (mc_rbuf_i32(&r) != MC_OK)
        return true;
    uint16_t type = (uint16_t)(reply->data[4] | reply->data[5] << 8);
    if (type == MC_MSG_VALUES_REPLY) {
        uint32_t n = mc_rbuf_u32(&r);
        for (uint32_t i = 0; i < n && mc_rbuf_ok(&r); i++) {
            if (mc_rbuf_i32(&r) != MC_OK)
                return true;
            (void)mc_rbuf_u64(&r);
        }
    } else if (type == MC_MSG_REPLICAS_REPLY) {
        /* first entry's status (entries are variable-length) */
        if (mc_rbuf_u32(&r) > 0 && mc_rbuf_i32(&r) != MC_OK)
            return true;
    }
    return false;
}

void mc_sm_count(mc_sm_counters_t *c, uint16_t type, const mc_wbuf_t *reply)
{
    int s = is_request(type) ? slot_of(type) : -1;
    if (s < 0)
        return;
    c->req[s]++;
    if (reply_failed(reply))
        c->fail[s]++;
}

static void line(mc_wbuf_t *out, const char *name, const char *type, const char *help, uint64_t v)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                     (unsigned long long)v);
    if (n > 0)
        mc_wbuf_put(out, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void mc_sm_metrics_text(const mc_sm_counters_t *c, const mc_master_t *m, mc_wbuf_t *out)
{
    mc_master_stats_t st;
    mc_master_get_stats(m, &st);
    line(out, "master_key_count", "gauge", "objects stored", st.keys);
    line(out, "master_processing_key_count", "gauge", "objects being written", st.processing_keys);
    line(out, "master_soft_pin_key_count", "gauge", "soft-pinned objects", st.soft_pinned_keys);
    line(out, "master_allocated_bytes", "gauge", "bytes allocated in mounted segments", st.allocated_bytes);
    line(out, "master_total_capacity_bytes", "gauge", "capacity of mounted segments", st.capacity_bytes);
    line(out, "master_segment_count", "gauge", "segment records", st.segments);
    line(out, "master_active_clients", "gauge", "clients with a live TTL", st.clients);
    line(out, "master_evicted_key_count", "counter", "objects evicted", st.evicted_keys);
    line(out, "master_evicted_size_bytes", "counter", "bytes evicted", st.evicted_bytes);
    line(out, "master_successful_evictions_total", "counter", "eviction passes that freed space",
         st.successful_evictions);
    line(out, "master_attempted_evictions_total", "counter", "eviction passes", st.attempted_evictions);
    line(out, "master_put_start_alloc_failures_total", "counter", "PutStart without space",
         st.put_start_alloc_failures);
    line(out, "master_put_start_partial_allocations_total", "counter", "PutStart with fewer replicas",
         st.put_start_partial_allocations);
    line(out, "master_put_start_discard_cnt", "counter", "abandoned writes taken over", st.put_start_discard_cnt);
    line(out, "master_put_start_release_cnt", "counter", "abandoned writes released", st.put_start_release_cnt);
    line(out, "master_parked_bytes", "gauge", "bytes held for readers' leases", st.parked_bytes);
    char name[128], help[160];
    for (size_t i = 0; i < sizeof rpcs / sizeof rpcs[0]; i++) {
        if (!is_request(rpcs[i].type))
            continue;
        snprintf(name, sizeof name, "master_%s_requests_total", rpcs[i].name);
        snprintf(help, sizeof help, "%s requests", rpcs[i].name);
        line(out, name, "counter", help, c->req[i]);
        snprintf(name, sizeof name, "master_%s_failures_total", rpcs[i].name);
        snprintf(help, sizeof help, "%s requests answered with an error", rpcs[i].name);
        line(out, name, "counter", help, c->fail[i]);
    }
}

void mc_sm_metrics_summary(const mc_sm_counters_t *c, const mc_master_t *m, char *buf, size_t cap)
{
    mc_master_stats_t st;
    mc_master_get_stats(m, &st);
    uint64_t req = 0, fail = 0;
    for (size_t i = 0; i < sizeof rpcs / sizeof rpcs[0]; i++) {
        req += c->req[i];
        fail += c->fail[i];
    }
    double pct = st.capacity_bytes ? 100.0 * (double)st.allocated_bytes / (double)st.capacity_bytes : 0.0;
    snprintf(buf, cap,
             "Storage: %llu / %llu bytes (%.1f%%) | Keys: %llu (soft-pinned %llu) | Clients: %llu | "
             "Segments: %llu | Requests: %llu (failed %llu) | Evicted: %llu keys, %llu bytes",
             (unsigned long long)st.allocated_bytes, (unsigned long long)st.capacity_bytes, pct,
             (unsigned long long)st.keys, (unsigned long long)st.soft_pinned_keys, (unsigned long long)st.clients,
             (unsigned long long)st.segments, (unsigned long long)req, (unsigned long long)fail,
             (unsigned long long)st.evicted_keys, (unsigned long long)st.evicted_bytes);
}
