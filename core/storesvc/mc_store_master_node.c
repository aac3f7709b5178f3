/* Role "store_master": the store master service on the network. Decodes
 * store requests, applies them to the pure master core (core/store) and
 * answers. Liveness (Ping/REGISTER) is the store core's own client table,
 * so segment ownership and TTL expiry stay in one place. */
#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"
#include "env/mc_role.h"
#include "rpc/mc_rpc.h"
#include "store/mc_master.h"
#include "wire/mc_msg_membership.h"
#include "wire/mc_msg_store.h"
#include "wire/mc_msg_types.h"
#include "storesvc/mc_store_conf.h"
#include "storesvc/mc_store_master_metrics.h"
#include "storesvc/mc_store_master_tasks.h"

#define TICK_NS (100 * MC_NS_PER_MS)

typedef struct store_master_node {
    mc_env_t *env;
    mc_master_t *m;
    mc_rng_t rng;
    mc_timer_t tick;
    mc_wbuf_t out;
    mc_map_t names; /* client uuid -> name (char*), learned from pings, for traces */
    /* per-request scratch, grown on demand */
    mc_replica_list_t *lists;
    mc_status_t *st;
    bool *exists;
    size_t scratch;
    mc_sm_counters_t counters; /* per-RPC requests / failures (metrics) */
} store_master_node_t;

static void ensure_scratch(store_master_node_t *n, size_t k)
{
    if (k <= n->scratch)
        return;
    n->scratch = k;
    n->lists = mc_realloc(n->lists, k * sizeof *n->lists);
    n->st = mc_realloc(n->st, k * sizeof *n->st);
    n->exists = mc_realloc(n->exists, k * sizeof *n->exists);
}

static void on_client_expired(void *ctx, mc_uuid_t client)
{
    store_master_node_t *n = ctx;
    char *name = mc_map_del(&n->names, &client, sizeof client);
    mc_env_tracef(n->env, "master.client_expired", "client=%s", name ? name : "?");
    mc_free(name);
}

static void remember_name(store_master_node_t *n, mc_uuid_t client, mc_slice_t name)
{
    bool inserted;
    void **slot = mc_map_slot(&n->names, &client, sizeof client, &inserted);
    if (inserted)
        *slot = mc_slice_dup(name);
}

static void tick(void *arg)
{
    store_master_node_t *n = arg;
    mc_master_tick(n->m, mc_env_now(n->env));
    n->tick = mc_env_timer(n->env, TICK_NS, tick, n);
}

static void reply_values(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, int32_t status, uint32_t k,
                         const mc_status_t *st, const uint64_t *vals)
{
    mc_store_val_t small[16];
    mc_store_val_t *v = k <= 16 ? small : mc_malloc(k * sizeof *v);
    for (uint32_t i = 0; i < k; i++) {
        v[i].status = st ? st[i] : MC_OK;
        v[i].value = vals ? vals[i] : 0;
    }
    mc_store_values_reply_t rep = {.status = status, .n = k, .v = v};
    mc_store_values_reply_encode(&n->out, req_id, &rep);
    mc_rpc_reply(n->env, conn, &n->out);
    if (v != small)
        mc_free(v);
}

static void reply_lists(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, uint32_t k)
{
    mc_store_replicas_reply_begin(&n->out, req_id, false, MC_OK, k);
    for (uint32_t i = 0; i < k; i++)
        mc_store_replicas_reply_add(&n->out, mc_slice(NULL, 0), n->st[i], &n->lists[i]);
    mc_store_replicas_reply_finish(&n->out);
    mc_rpc_reply(n->env, conn, &n->out);
}

static void conv_config(const mc_msg_config_t *in, mc_replicate_config_t *out, const char **pref, char **owned)
{
    memset(out, 0, sizeof *out);
    out->replica_num = in->replica_num;
    out->with_hard_pin = in->with_hard_pin;
    out->prefer_alloc_in_same_node = in->prefer_alloc_in_same_node;
    out->soft_pin_action = in->soft_pin_action;
    out->has_soft_pin_ttl = in->has_soft_pin_ttl;
    out->soft_pin_ttl_ms = in->soft_pin_ttl_ms;
    for (uint32_t i = 0; i < in->npref; i++)
        pref[i] = owned[i] = mc_slice_dup(in->pref[i]);
    out->preferred_segments = pref;
    out->n_preferred_segments = in->npref;
}

static void conv_seg(const mc_msg_seg_t *in, mc_segment_info_t *out, char **strs)
{
    strs[0] = mc_slice_dup(in->name);
    strs[1] = mc_slice_dup(in->endpoint);
    strs[2] = mc_slice_dup(in->protocol);
    out->id = in->id;
    out->name = strs[0];
    out->base = in->base;
    out->size = in->size;
    out->rkey = in->rkey;
    out->te_endpoint = strs[1];
    out->protocol = strs[2];
}

static void handle_segments(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, const mc_store_req_t *q,
                            uint64_t now)
{
    mc_status_t s = MC_OK;
    if (q->type == MC_MSG_UNMOUNT_SEGMENT) {
        s = mc_master_unmount_segment(n->m, now, q->seg_id, q->client);
        reply_values(n, conn, req_id, s, 0, NULL, NULL);
        return;
    }
    mc_segment_info_t *segs = mc_calloc(q->nsegs, sizeof *segs);
    char **strs = mc_calloc((size_t)q->nsegs * 3, sizeof *strs);
    for (uint32_t i = 0; i < q->nsegs; i++)
        conv_seg(&q->segs[i], &segs[i], &strs[i * 3]);
    if (q->type == MC_MSG_MOUNT_SEGMENT) {
        s = q->nsegs == 1 ? mc_master_mount_segment(n->m, now, q->client, &segs[0]) : MC_INVALID_PARAMS;
    } else {
        char *name = mc_slice_dup(q->name);
        remember_name(n, q->client, q->name);
        s = mc_master_remount_segments(n->m, now, q->client, segs, q->nsegs);
        if (s == MC_OK)
            mc_env_tracef(n->env, "master.client_registered", "client=%s segments=%u", name, q->nsegs);
        mc_free(name);
    }
    for (uint32_t i = 0; i < q->nsegs * 3; i++)
        mc_free(strs[i]);
    mc_free(strs);
    mc_free(segs);
    reply_values(n, conn, req_id, s, 0, NULL, NULL);
}

static void handle_write_start(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, const mc_store_req_t *q,
                               uint64_t now)
{
    const char *pref[MC_MSG_STORE_MAX_PREF];
    char *owned[MC_MSG_STORE_MAX_PREF];
    mc_replicate_config_t cfg;
    conv_config(&q->cfg, &cfg, pref, owned);
    ensure_scratch(n, q->nkeys);
    if (q->type == MC_MSG_PUT_START)
        mc_master_batch_put_start_id(n->m, now, q->client, q->keys, q->sizes, q->write_ids, q->nkeys, &cfg, n->lists,
                                     n->st);
    else
        mc_master_batch_upsert_start_id(n->m, now, q->client, q->keys, q->sizes, q->write_ids, q->nkeys, &cfg,
                                        n->lists, n->st);
    for (uint32_t i = 0; i < q->cfg.npref; i++)
        mc_free(owned[i]);
    reply_lists(n, conn, req_id, q->nkeys);
}

static void handle_write_finish(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, const mc_store_req_t *q,
                                uint64_t now)
{
    ensure_scratch(n, q->nkeys);
    bool end = q->type == MC_MSG_PUT_END || q->type == MC_MSG_UPSERT_END;
    for (uint32_t i = 0; i < q->nkeys; i++) {
        uint32_t wid = q->write_ids ? q->write_ids[i] : 0;
        n->st[i] = end ? mc_master_put_end_id(n->m, now, q->client, q->keys[i], q->replica_type,
                                              q->has_checksum ? &q->checksum : NULL, wid)
                       : mc_master_put_revoke_id(n->m, now, q->client, q->keys[i], q->replica_type, wid);
    }
    reply_values(n, conn, req_id, MC_OK, q->nkeys, n->st, NULL);
}

typedef struct regex_acc {
    mc_wbuf_t body; /* (key, list) entries, appended as found */
    uint32_t n;
} regex_acc_t;

static void regex_found(void *arg, mc_slice_t key, const mc_replica_list_t *l)
{
    regex_acc_t *acc = arg;
    mc_store_replicas_reply_add(&acc->body, key, MC_OK, l);
    acc->n++;
}

static void handle_regex_get(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, const mc_store_req_t *q,
                             uint64_t now)
{
    char err[256] = "";
    char *pattern = mc_slice_dup(q->pattern);
    regex_acc_t acc = {.n = 0};
    mc_wbuf_init(&acc.body);
    /* Entries go into a scratch frame first (the count leads the list). */
    mc_store_replicas_reply_begin(&acc.body, 0, true, MC_OK, 0);
    size_t entries_off = acc.body.len;
    mc_status_t s = mc_master_get_replica_list_by_regex(n->m, now, pattern, regex_found, &acc, err, sizeof err);
    if (s != MC_OK) {
        mc_env_logf(n->env, MC_LOG_INFO, "master", "regex '%s' rejected: %s", pattern, err);
        acc.n = 0;
        acc.body.len = entries_off;
    }
    mc_store_replicas_reply_begin(&n->out, req_id, true, s, acc.n);
    mc_wbuf_put(&n->out, acc.body.data + entries_off, acc.body.len - entries_off);
    mc_store_replicas_reply_finish(&n->out);
    mc_rpc_reply(n->env, conn, &n->out);
    mc_wbuf_free(&acc.body);
    mc_free(pattern);
}

static void handle_store(store_master_node_t *n, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_store_req_t q;
    if (mc_store_req_decode(hdr->type, body, &q) != MC_OK) {
        mc_env_logf(n->env, MC_LOG_WARN, "master", "malformed %s request", mc_msg_type_name(hdr->type));
        reply_values(n, conn, hdr->req_id, MC_INVALID_PARAMS, 0, NULL, NULL);
        return;
    }
    uint64_t now = mc_env_now(n->env);
    uint64_t one = 0;
    switch (q.type) {
    case MC_MSG_MOUNT_SEGMENT:
    case MC_MSG_REMOUNT_SEGMENTS:
    case MC_MSG_UNMOUNT_SEGMENT:
        handle_segments(n, conn, hdr->req_id, &q, now);
        break;
    case MC_MSG_PUT_START:
    case MC_MSG_UPSERT_START:
        handle_write_start(n, conn, hdr->req_id, &q, now);
        break;
    case MC_MSG_PUT_END:
    case MC_MSG_PUT_REVOKE:
    case MC_MSG_UPSERT_END:
    case MC_MSG_UPSERT_REVOKE:
        handle_write_finish(n, conn, hdr->req_id, &q, now);
        break;
    case MC_MSG_GET_REPLICA_LIST:
        ensure_scratch(n, q.nkeys);
        mc_master_batch_get_replica_list(n->m, now, q.keys, q.nkeys, n->lists, n->st);
        reply_lists(n, conn, hdr->req_id, q.nkeys);
        break;
    case MC_MSG_GET_REPLICA_LIST_BY_REGEX:
        handle_regex_get(n, conn, hdr->req_id, &q, now);
        break;
    case MC_MSG_EXIST_KEY: {
        ensure_scratch(n, q.nkeys);
        mc_master_batch_exist_key(n->m, now, q.keys, q.nkeys, n->exists, n->st);
        uint64_t *vals = mc_calloc(q.nkeys, sizeof *vals);
        for (uint32_t i = 0; i < q.nkeys; i++)
            vals[i] = n->exists[i];
        reply_values(n, conn, hdr->req_id, MC_OK, q.nkeys, n->st, vals);
        mc_free(vals);
        break;
    }
    case MC_MSG_REMOVE:
        ensure_scratch(n, q.nkeys);
        mc_master_batch_remove(n->m, now, q.keys, q.nkeys, q.force, n->st);
        reply_values(n, conn, hdr->req_id, MC_OK, q.nkeys, n->st, NULL);
        break;
    case MC_MSG_REMOVE_BY_REGEX: {
        char err[256] = "";
        char *pattern = mc_slice_dup(q.pattern);
        mc_status_t s = mc_master_remove_by_regex(n->m, now, pattern, q.force, &one, err, sizeof err);
        if (s != MC_OK)
            mc_env_logf(n->env, MC_LOG_INFO, "master", "regex '%s' rejected: %s", pattern, err);
        mc_free(pattern);
        reply_values(n, conn, hdr->req_id, s, 1, NULL, &one);
        break;
    }
    case MC_MSG_REMOVE_ALL:
        one = mc_master_remove_all(n->m, now, q.force);
        reply_values(n, conn, hdr->req_id, MC_OK, 1, NULL, &one);
        break;
    default:
        if (!mc_store_master_handle_tasks(n->env, n->m, &n->out, conn, hdr->req_id, &q, now))
            reply_values(n, conn, hdr->req_id, MC_INVALID_PARAMS, 0, NULL, NULL);
        break;
    }
    mc_store_req_free(&q);
}

static void handle_ping(store_master_node_t *n, mc_conn_t conn, uint64_t req_id, mc_rbuf_t *body)
{
    mc_msg_ping_t req;
    if (mc_msg_ping_decode(body, &req) != MC_OK) {
        mc_env_logf(n->env, MC_LOG_WARN, "master", "malformed ping dropped");
        return;
    }
    mc_msg_ping_reply_t rep = {.status = MC_OK};
    remember_name(n, req.client, req.name);
    rep.status = mc_master_ping(n->m, mc_env_now(n->env), req.client, &rep.client_status, &rep.view_version);
    mc_msg_ping_reply_encode(&n->out, req_id, &rep);
    mc_rpc_reply(n->env, conn, &n->out);
}

static void sm_on_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    store_master_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!mc_rpc_open_frame(n->env, conn, frame, len, "master", true, &hdr, &body))
        return;
    n->out.len = 0; /* what the handler answered, for the counters */
    if (hdr.type == MC_MSG_PING)
        handle_ping(n, conn, hdr.req_id, &body);
    else if (mc_store_req_type_known(hdr.type))
        handle_store(n, conn, &hdr, &body);
    else
        mc_rpc_unexpected(n->env, "master", &hdr);
    mc_sm_count(&n->counters, hdr.type, &n->out);
}

const mc_master_t *mc_store_master_core(const void *node)
{
    return ((const store_master_node_t *)node)->m;
}

const mc_sm_counters_t *mc_store_master_counters(const void *node)
{
    return &((const store_master_node_t *)node)->counters;
}

static void sm_ignore_conn(void *node, mc_conn_t conn) { (void)node; (void)conn; }
static void sm_ignore_accept(void *node, mc_conn_t conn, const char *peer) { (void)node; (void)conn; (void)peer; }
static void sm_ignore_down(void *node, mc_conn_t conn, mc_status_t why) { (void)node; (void)conn; (void)why; }
static void sm_ignore_xfer(void *node, uint64_t tag, mc_status_t s) { (void)node; (void)tag; (void)s; }

static const mc_env_handlers_t sm_handlers = {
    .on_conn_up = sm_ignore_conn,
    .on_conn_accept = sm_ignore_accept,
    .on_conn_down = sm_ignore_down,
    .on_msg = sm_on_msg,
    .on_xfer_done = sm_ignore_xfer,
};

static void *sm_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    mc_master_config_t cfg;
    const char *addr = mc_conf_get(conf, "addr");
    if (!addr) {
        snprintf(err, errlen, "key 'addr': required (listen address)");
        return NULL;
    }
    if (mc_store_master_conf(conf, &cfg, err, errlen) != MC_OK)
        return NULL;
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    store_master_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    mc_rng_seed(&n->rng, mc_env_rand(env));
    cfg.on_client_expired = on_client_expired;
    cfg.hook_ctx = n;
    s = mc_master_create(&cfg, &n->rng, &n->m);
    if (s != MC_OK) {
        snprintf(err, errlen, "invalid master configuration: %s", mc_status_msg(s));
        mc_free(n);
        return NULL;
    }
    mc_wbuf_init(&n->out);
    mc_map_init(&n->names);
    mc_env_bind(env, &sm_handlers, n);
    n->tick = mc_env_timer(env, TICK_NS, tick, n);
    mc_env_tracef(env, "master.start", "ttl_ms=%llu lease_ms=%llu", (unsigned long long)cfg.client_ttl_ms,
                  (unsigned long long)cfg.default_kv_lease_ttl_ms);
    return n;
}

static void sm_destroy(void *node)
{
    store_master_node_t *n = node;
    mc_env_timer_cancel(n->env, &n->tick);
    mc_master_destroy(n->m);
    mc_wbuf_free(&n->out);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&n->names, &it, &e);)
        mc_free(e->value);
    mc_map_free(&n->names);
    mc_free(n->lists);
    mc_free(n->st);
    mc_free(n->exists);
    mc_free(n);
}

/* Invariant hook for the simulator's checkers. */
static bool sm_check(void *node, char *err, size_t errlen)
{
    store_master_node_t *n = node;
    return mc_master_check(n->m, err, errlen);
}

const mc_role_t mc_role_store_master = {
    .name = "store_master",
    .help = "store master: addr, client_ttl, default_kv_lease_ttl, eviction_ratio, "
            "eviction_high_watermark_ratio, default_kv_soft_pin_ttl, put_start_discard_timeout, "
            "put_start_release_timeout",
    .create = sm_create,
    .destroy = sm_destroy,
    .check = sm_check,
};
