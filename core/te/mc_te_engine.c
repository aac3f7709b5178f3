/* Engine object: configuration, lifecycle, upcall routing. */
#include <stdio.h>
#include <string.h>

#include "mc_te_int.h"

/* Duration where a bare number means seconds (upstream env vars are in s). */
static bool conf_secs(mc_conf_t *c, const char *key, uint64_t def_ns, uint64_t *out, bool *bare)
{
    const char *v = mc_conf_get(c, key);
    *bare = false;
    if (!v) {
        *out = def_ns;
        return true;
    }
    uint64_t n;
    if (mc_parse_u64(v, &n)) {
        *bare = true;
        if (n > UINT64_MAX / MC_NS_PER_S)
            return false;
        *out = n * MC_NS_PER_S;
        return true;
    }
    if (strcmp(v, "off") == 0) {
        *out = 0;
        return true;
    }
    return mc_parse_duration_ns(v, out);
}

static void set_err(char *err, size_t errlen, const char *msg, const char *key)
{
    if (err && errlen)
        snprintf(err, errlen, "key '%s': %s", key, msg);
}

static void split_devices(mc_te_t *te, const char *list)
{
    te->devices = mc_calloc(te->npaths, sizeof *te->devices);
    const char *p = list;
    for (uint32_t i = 0; i < te->npaths; i++) {
        char buf[64];
        if (p && *p) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            te->devices[i] = mc_strndup(p, n);
            p = e ? e + 1 : p + n;
        } else {
            snprintf(buf, sizeof buf, "nic%u", i);
            te->devices[i] = mc_strdup(buf);
        }
    }
}

static int parse_conf(mc_te_t *te, mc_conf_t *conf, char *err, size_t errlen)
{
    uint64_t v, ratio;
    bool bare;
#define U64(key, def, lo, hi, dst)                                                  \
    do {                                                                            \
        if (mc_conf_u64(conf, key, def, &v) != MC_OK || v < (lo) || v > (hi)) {     \
            set_err(err, errlen, "out of range [" #lo ".." #hi "]", key);           \
            return -1;                                                              \
        }                                                                           \
        dst = v;                                                                    \
    } while (0)
    U64("nics", 1, 1, MC_TE_MAX_PATHS, te->npaths);
    U64("retry_cnt", 9, 1, 127, te->retry_cnt);
    U64("fragment_ratio", 4, 1, 1u << 30, ratio);
    U64("path_pause_errors", 5, 1, 1u << 20, te->pause_errors);
    U64("slices_in_flight", 256, 1, 1u << 20, te->window);
#undef U64
    if (mc_conf_size(conf, "slice_size", 65536, &te->slice_size) != MC_OK || te->slice_size == 0 ||
        te->slice_size > (1ULL << 40)) {
        set_err(err, errlen, "bad size (must be > 0)", "slice_size");
        return -1;
    }
    te->frag_limit = te->slice_size / ratio;
    if (!conf_secs(conf, "transfer_timeout", 30 * MC_NS_PER_S, &te->transfer_timeout_ns, &bare)) {
        set_err(err, errlen, "bad duration", "transfer_timeout");
        return -1;
    }
    if (bare && te->transfer_timeout_ns < 5 * MC_NS_PER_S)
        te->transfer_timeout_ns = 5 * MC_NS_PER_S; /* upstream clamps MC_TRANSFER_TIMEOUT to >= 5 s */
    if (!conf_secs(conf, "slice_timeout", 0, &te->slice_timeout_ns, &bare)) {
        set_err(err, errlen, "bad duration", "slice_timeout");
        return -1;
    }
    if (!conf_secs(conf, "rail_pause", 30 * MC_NS_PER_S, &te->pause_ns, &bare)) {
        set_err(err, errlen, "bad duration", "rail_pause");
        return -1;
    }
    if (!conf_secs(conf, "path_error_window", 5 * MC_NS_PER_S, &te->err_window_ns, &bare)) {
        set_err(err, errlen, "bad duration", "path_error_window");
        return -1;
    }
    if (!conf_secs(conf, "rpc_timeout", 5 * MC_NS_PER_S, &te->rpc_timeout_ns, &bare) ||
        te->rpc_timeout_ns == 0) {
        set_err(err, errlen, "bad duration", "rpc_timeout");
        return -1;
    }
    if (mc_conf_bool(conf, "publish", true, &te->publish) != MC_OK) {
        set_err(err, errlen, "bad boolean", "publish");
        return -1;
    }
    const char *name = mc_conf_str(conf, "segment_name", te->env->node_name);
    while (name && *name == '/')
        name++;
    if (!name || !*name) {
        set_err(err, errlen, "empty segment name", "segment_name");
        return -1;
    }
    te->name = mc_strdup(name);
    te->addr = mc_strdup(mc_conf_str(conf, "addr", ""));
    te->protocol = mc_strdup(mc_conf_str(conf, "protocol", "rdma"));
    if (!te->protocol[0] || strchr(te->protocol, ',')) {
        set_err(err, errlen, "bad protocol", "protocol");
        return -1;
    }
    te->cluster_id = mc_strdup(mc_conf_str(conf, "cluster_id", ""));
    split_devices(te, mc_conf_get(conf, "device_names"));
    return 0;
}

char *te_rpc_meta_json(mc_te_t *te)
{
    if (!te->addr[0])
        return NULL;
    /* "host:port" or "[v6]:port"; no port => 0. */
    const char *colon = strrchr(te->addr, ':');
    const char *host = te->addr;
    size_t hlen = colon ? (size_t)(colon - te->addr) : strlen(te->addr);
    uint64_t port = 0;
    if (colon && (!mc_parse_u64(colon + 1, &port) || port > 65535))
        port = 0;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    mc_te_rpc_meta_t m = {mc_strndup(host, hlen), (uint16_t)port};
    char *json = mc_te_rpc_meta_encode(&m);
    mc_te_rpc_meta_free(&m);
    return json;
}

static void rpc_meta_done(void *arg, int err, const char *value, size_t len)
{
    mc_te_t *te = arg;
    (void)value;
    (void)len;
    te->rpc_meta_req = 0;
    if (err) {
        mc_env_logf(te->env, MC_LOG_WARN, "te", "publishing rpc_meta of %s failed: %s", te->name,
                    mc_te_err_name(err));
        te_publish_failed(te);
    }
}

void te_publish_rpc_meta(mc_te_t *te)
{
    if (!te->meta || !te->publish)
        return;
    char *json = te_rpc_meta_json(te);
    if (!json)
        return;
    char *key = mc_te_key_rpc_meta(te->cluster_id, te->name);
    mc_te_meta_cancel(te->meta, &te->rpc_meta_req);
    te->rpc_meta_req = mc_te_meta_put(te->meta, key, json, strlen(json), rpc_meta_done, te);
    mc_free(key);
    mc_free(json);
}

static void pub_retry_fire(void *arg)
{
    mc_te_t *te = arg;
    te->pub_retry = 0;
    te_publish_rpc_meta(te);
    te_publish(te);
}

void te_publish_failed(mc_te_t *te)
{
    if (!te->publish || te->pub_retry)
        return;
    te->pub_backoff_ns = te->pub_backoff_ns ? te->pub_backoff_ns * 2 : MC_NS_PER_S;
    if (te->pub_backoff_ns > 30 * MC_NS_PER_S)
        te->pub_backoff_ns = 30 * MC_NS_PER_S;
    te->pub_retry = mc_env_timer(te->env, te->pub_backoff_ns, pub_retry_fire, te);
}

void te_publish_cancel(mc_te_t *te)
{
    if (!te->meta)
        return;
    mc_te_meta_cancel(te->meta, &te->pub_req);
    mc_te_meta_cancel(te->meta, &te->rpc_meta_req);
    mc_env_timer_cancel(te->env, &te->pub_retry);
    te->pub_again = false;
}

mc_te_t *mc_te_create(mc_env_t *env, mc_conf_t *conf, mc_te_meta_t *meta, char *err, size_t errlen)
{
    mc_te_t *te = mc_calloc(1, sizeof *te);
    te->env = env;
    te->meta = meta;
    mc_vec_init(&te->bufs, sizeof(te_buf_t));
    mc_map_init(&te->segs_by_id);
    mc_map_init(&te->segs_by_name);
    mc_vec_init(&te->all_segs, sizeof(te_seg_t *));
    mc_map_init(&te->batches);
    mc_map_init(&te->inflight);
    mc_map_init(&te->peers);
    mc_vec_init(&te->notifies, sizeof(mc_te_notify_t));
    mc_wbuf_init(&te->out);
    te->next_seg_id = 1;
    te->next_batch_id = 1;
    if (parse_conf(te, conf, err, errlen) != 0) {
        mc_te_destroy(te);
        return NULL;
    }
    te_paths_init(te);

    /* Our own segment is id 0 (LOCAL_SEGMENT_ID): loopback transfers. */
    te_seg_t *s = mc_calloc(1, sizeof *s);
    s->te = te;
    s->id = MC_TE_LOCAL_SEGMENT_ID;
    s->name = mc_strdup(te->name);
    s->peer_addr = mc_strdup(te->addr);
    s->loaded = true;
    mc_te_seg_desc_init(&s->desc);
    mc_te_seg_desc_init(&s->fresh);
    mc_vec_init(&s->waiters, sizeof(te_waiter_t));
    *(te_seg_t **)mc_vec_push(&te->all_segs) = s;
    mc_map_putu(&te->segs_by_id, s->id, s);
    mc_map_puts(&te->segs_by_name, s->name, s);
    te->local = s;
    const char *ep = env->ops->data_endpoint ? env->ops->data_endpoint(env) : NULL;
    if (ep) /* loopback transfers go to our own data plane */
        s->data_addr = mc_strdup(ep);
    te_desc_rebuild(te);

    te_publish_rpc_meta(te);
    te_publish(te);
    mc_env_tracef(env, "te.create", "segment=%s paths=%u slice=%llu retry=%u", te->name, te->npaths,
                  (unsigned long long)te->slice_size, te->retry_cnt);
    return te;
}

void mc_te_destroy(mc_te_t *te)
{
    if (!te)
        return;
    te->destroying = true;
    te_batches_destroy(te); /* finishes nothing: just frees */
    te_slices_destroy(te);
    te_peers_destroy(te);
    te_publish_cancel(te);
    for (size_t i = 0; i < te->all_segs.len; i++)
        te_seg_free(te, *MC_VEC_AT(&te->all_segs, te_seg_t *, i));
    mc_vec_free(&te->all_segs);
    mc_map_free(&te->segs_by_id);
    mc_map_free(&te->segs_by_name);
    /* Unregister from the env too: the owner frees the memory next, and a
     * peer's transfer must be refused by the data plane, not land in it. */
    for (size_t i = 0; i < te->bufs.len; i++) {
        te_buf_t *b = MC_VEC_AT(&te->bufs, te_buf_t, i);
        (void)te->env->ops->mem_unregister(te->env, (void *)(uintptr_t)b->addr);
        mc_free(b->location);
    }
    mc_vec_free(&te->bufs);
    mc_map_free(&te->batches);
    mc_map_free(&te->inflight);
    mc_map_free(&te->peers);
    for (size_t i = 0; i < te->notifies.len; i++) {
        mc_te_notify_t *n = MC_VEC_AT(&te->notifies, mc_te_notify_t, i);
        mc_free(n->name);
        mc_free(n->msg);
    }
    mc_vec_free(&te->notifies);
    mc_wbuf_free(&te->out);
    for (uint32_t i = 0; te->devices && i < te->npaths; i++)
        mc_free(te->devices[i]);
    mc_free(te->devices);
    mc_free(te->paths);
    mc_free(te->name);
    mc_free(te->addr);
    mc_free(te->protocol);
    mc_free(te->cluster_id);
    mc_free(te);
}

void mc_te_unpublish(mc_te_t *te)
{
    if (!te->meta || !te->publish)
        return;
    te_publish_cancel(te);
    char *key = mc_te_key_rpc_meta(te->cluster_id, te->name);
    mc_te_meta_del(te->meta, key, NULL, NULL);
    mc_free(key);
    key = mc_te_key_segment(te->cluster_id, te->name);
    mc_te_meta_del(te->meta, key, NULL, NULL);
    mc_free(key);
    te->publish = false; /* later registrations stay local */
}

const char *mc_te_segment_name(const mc_te_t *te) { return te->name; }
uint32_t mc_te_num_paths(const mc_te_t *te) { return te->npaths; }
const mc_te_stats_t *mc_te_stats(const mc_te_t *te) { return &te->stats; }
const mc_te_seg_desc_t *mc_te_local_desc(mc_te_t *te) { return &te->local->desc; }
uint32_t mc_te_inflight(const mc_te_t *te) { return mc_map_count(&te->inflight); }
bool mc_te_path_paused(mc_te_t *te, uint32_t path) { return path < te->npaths && te_path_paused(te, path); }
