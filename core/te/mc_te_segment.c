/* Remote segments: open by name through the metadata store, cache,
 * refresh, and range lookups in a peer's descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_te_int.h"

static const mc_te_seg_desc_t *sort_desc; /* qsort context (single-threaded) */

static int cmp_buf(const void *a, const void *b)
{
    uint64_t x = sort_desc->buffers[*(const uint32_t *)a].addr;
    uint64_t y = sort_desc->buffers[*(const uint32_t *)b].addr;
    if (x != y)
        return x < y ? -1 : 1;
    /* Stable on ties: index order. */
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void te_seg_index(te_seg_t *s)
{
    mc_free(s->order);
    s->order = NULL;
    if (!s->desc.nbuffers)
        return;
    s->order = mc_malloc(s->desc.nbuffers * sizeof *s->order);
    for (uint32_t i = 0; i < s->desc.nbuffers; i++)
        s->order[i] = i;
    sort_desc = &s->desc;
    qsort(s->order, s->desc.nbuffers, sizeof *s->order, cmp_buf);
    sort_desc = NULL;
}

static bool buf_target_ok(const te_seg_t *s, const mc_te_buffer_desc_t *b)
{
    /* RDMA-shaped descriptors mark local-only buffers with an empty rkey. */
    return !mc_te_proto_has_devices(s->desc.protocol) || b->nrkey > 0;
}

/* Position in order[] of the last buffer with addr <= a, or -1. */
static long find_pos(const te_seg_t *s, uint64_t a)
{
    long lo = 0, hi = (long)s->desc.nbuffers;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (s->desc.buffers[s->order[mid]].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

const mc_te_buffer_desc_t *te_seg_find_buf(te_seg_t *s, uint64_t addr, bool target)
{
    /* Overlapping peer buffers are tolerated: scan back over candidates. */
    for (long i = find_pos(s, addr); i >= 0; i--) {
        const mc_te_buffer_desc_t *b = &s->desc.buffers[s->order[i]];
        if (addr - b->addr < b->length && (!target || buf_target_ok(s, b)))
            return b;
    }
    return NULL;
}

uint64_t te_seg_covered(te_seg_t *s, uint64_t addr, uint64_t need)
{
    uint64_t got = 0;
    while (got < need) {
        const mc_te_buffer_desc_t *b = te_seg_find_buf(s, addr + got, true);
        if (!b)
            break;
        got += b->addr + b->length - (addr + got);
    }
    return got < need ? got : need;
}

te_seg_t *te_seg_get(mc_te_t *te, uint64_t id)
{
    te_seg_t *s = mc_map_getu(&te->segs_by_id, id);
    return s && s->loaded ? s : NULL;
}

void te_seg_free(mc_te_t *te, te_seg_t *s)
{
    if (te->meta)
        mc_te_meta_cancel(te->meta, &s->meta_req);
    mc_env_timer_cancel(te->env, &s->fail_timer);
    mc_free(s->name);
    mc_free(s->peer_addr);
    mc_free(s->data_addr);
    mc_te_seg_desc_free(&s->desc);
    mc_te_seg_desc_free(&s->fresh);
    mc_free(s->order);
    mc_vec_free(&s->waiters);
    mc_free(s);
}

static te_seg_t *seg_new(mc_te_t *te, const char *name)
{
    te_seg_t *s = mc_calloc(1, sizeof *s);
    s->te = te;
    s->id = MC_TE_INVALID_SEGMENT;
    s->name = mc_strdup(name);
    mc_te_seg_desc_init(&s->desc);
    mc_te_seg_desc_init(&s->fresh);
    mc_vec_init(&s->waiters, sizeof(te_waiter_t));
    *(te_seg_t **)mc_vec_push(&te->all_segs) = s;
    mc_map_puts(&te->segs_by_name, name, s);
    return s;
}

/* Finish a load: notify every waiter (in arrival order). */
static void load_done(te_seg_t *s, int err)
{
    mc_te_t *te = s->te;
    s->loading = false;
    s->meta_req = 0;
    mc_te_seg_desc_free(&s->fresh);
    if (err && !s->loaded) /* first load failed: forget the name (retry later opens afresh) */
        mc_map_dels(&te->segs_by_name, s->name);
    mc_env_tracef(te->env, "te.segment_open", "segment=%s id=%lld err=%d", s->name,
                  s->loaded ? (long long)s->id : -1LL, err);
    mc_vec_t w = s->waiters;
    mc_vec_init(&s->waiters, sizeof(te_waiter_t));
    uint64_t id = s->loaded ? s->id : MC_TE_INVALID_SEGMENT;
    if (!s->loaded) {
        /* Never opened: drop the record so failed opens do not accumulate. */
        for (size_t i = 0; i < te->all_segs.len; i++)
            if (*MC_VEC_AT(&te->all_segs, te_seg_t *, i) == s) {
                mc_vec_remove(&te->all_segs, i);
                break;
            }
        te_seg_free(te, s);
    }
    for (size_t i = 0; i < w.len; i++) {
        te_waiter_t *x = MC_VEC_AT(&w, te_waiter_t, i);
        if (x->cb)
            x->cb(x->arg, err, err ? MC_TE_INVALID_SEGMENT : id);
    }
    mc_vec_free(&w);
}

static void fail_later_fire(void *arg)
{
    te_seg_t *s = arg;
    s->fail_timer = 0;
    load_done(s, s->fail_err);
}

static void fail_later(te_seg_t *s, int err)
{
    s->fail_err = err;
    s->fail_timer = mc_env_timer(s->te->env, 0, fail_later_fire, s);
}

/* Envs with a separate data plane (data_endpoint op) reach a peer's
 * memory at the host of its control address and its tcp_data_port, or at
 * the data endpoint it published verbatim (hw rdma). */
static void set_data_addr(te_seg_t *s)
{
    mc_free(s->data_addr);
    s->data_addr = NULL;
    if (s->te->env->ops->data_endpoint && s->desc.data_endpoint && *s->desc.data_endpoint) {
        s->data_addr = mc_strdup(s->desc.data_endpoint);
        return;
    }
    const char *colon = strrchr(s->peer_addr, ':');
    if (!s->te->env->ops->data_endpoint || s->desc.tcp_data_port <= 0 || s->desc.tcp_data_port > 65535 || !colon)
        return;
    size_t hlen = (size_t)(colon - s->peer_addr);
    s->data_addr = mc_malloc(hlen + 8);
    memcpy(s->data_addr, s->peer_addr, hlen);
    snprintf(s->data_addr + hlen, 8, ":%u", (unsigned)s->desc.tcp_data_port);
}

static void install(te_seg_t *s, mc_te_seg_desc_t *desc, const char *peer_addr)
{
    mc_te_t *te = s->te;
    mc_te_seg_desc_free(&s->desc);
    s->desc = *desc;
    mc_te_seg_desc_init(desc);
    te_seg_index(s);
    if (!s->peer_addr || strcmp(s->peer_addr, peer_addr) != 0) {
        mc_free(s->peer_addr);
        s->peer_addr = mc_strdup(peer_addr);
    }
    set_data_addr(s);
    if (!s->loaded) {
        s->id = te->next_seg_id++;
        s->loaded = true;
        mc_map_putu(&te->segs_by_id, s->id, s);
    }
}

static void got_rpc_meta(void *arg, int err, const char *value, size_t len)
{
    te_seg_t *s = arg;
    s->meta_req = 0;
    char addr[600];
    if (err) {
        load_done(s, MC_TE_ERR_METADATA);
        return;
    }
    if (!value) {
        /* No rpc_meta: P2P-style names are the address themselves. */
        if (!strchr(s->name, ':') || strlen(s->name) >= sizeof addr) {
            load_done(s, MC_TE_ERR_METADATA);
            return;
        }
        snprintf(addr, sizeof addr, "%s", s->name);
    } else {
        mc_te_rpc_meta_t m;
        char why[128];
        if (mc_te_rpc_meta_decode(value, len, &m, why, sizeof why) != 0) {
            mc_env_logf(s->te->env, MC_LOG_WARN, "te", "rpc_meta of %s: %s", s->name, why);
            load_done(s, MC_TE_ERR_MALFORMED_JSON);
            return;
        }
        bool v6 = strchr(m.ip_or_host_name, ':') != NULL;
        snprintf(addr, sizeof addr, "%s%.500s%s:%u", v6 ? "[" : "", m.ip_or_host_name, v6 ? "]" : "",
                 (unsigned)m.rpc_port);
        mc_te_rpc_meta_free(&m);
    }
    install(s, &s->fresh, addr);
    load_done(s, MC_TE_ERR_OK);
}

static void got_desc(void *arg, int err, const char *value, size_t len)
{
    te_seg_t *s = arg;
    mc_te_t *te = s->te;
    s->meta_req = 0;
    if (err || !value) {
        load_done(s, MC_TE_ERR_METADATA);
        return;
    }
    char why[160];
    mc_te_seg_desc_free(&s->fresh);
    if (mc_te_seg_desc_decode(value, len, &s->fresh, why, sizeof why) != 0) {
        mc_env_logf(te->env, MC_LOG_WARN, "te", "descriptor of %s: %s", s->name, why);
        load_done(s, MC_TE_ERR_MALFORMED_JSON);
        return;
    }
    s->stage = 1;
    char *key = mc_te_key_rpc_meta(te->cluster_id, s->name);
    s->meta_req = mc_te_meta_get(te->meta, key, got_rpc_meta, s);
    mc_free(key);
}

static void start_load(te_seg_t *s)
{
    mc_te_t *te = s->te;
    s->loading = true;
    s->stage = 0;
    char *key = mc_te_key_segment(te->cluster_id, s->name);
    s->meta_req = mc_te_meta_get(te->meta, key, got_desc, s);
    mc_free(key);
}

static void add_waiter(te_seg_t *s, mc_te_open_cb cb, void *arg)
{
    te_waiter_t *w = mc_vec_push(&s->waiters);
    w->cb = cb;
    w->arg = arg;
}

int mc_te_open_segment(mc_te_t *te, const char *name, mc_te_open_cb cb, void *arg, uint64_t *out_id)
{
    if (out_id)
        *out_id = MC_TE_INVALID_SEGMENT;
    if (!name)
        return MC_TE_ERR_INVALID_ARGUMENT;
    while (*name == '/')
        name++;
    if (!*name)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_seg_t *s = mc_map_gets(&te->segs_by_name, name);
    if (s && s->loaded) {
        if (out_id)
            *out_id = s->id;
        return MC_TE_ERR_OK;
    }
    if (s) { /* first load already running: join it */
        add_waiter(s, cb, arg);
        return MC_TE_IN_PROGRESS;
    }
    s = seg_new(te, name);
    add_waiter(s, cb, arg);
    if (!te->meta) {
        s->loading = true;
        fail_later(s, MC_TE_ERR_METADATA);
    } else {
        start_load(s);
    }
    return MC_TE_IN_PROGRESS;
}

int mc_te_refresh_segment(mc_te_t *te, uint64_t id, mc_te_open_cb cb, void *arg)
{
    te_seg_t *s = te_seg_get(te, id);
    if (!s)
        return MC_TE_ERR_INVALID_ARGUMENT;
    add_waiter(s, cb, arg);
    if (s->loading)
        return MC_TE_IN_PROGRESS;
    if (id == MC_TE_LOCAL_SEGMENT_ID || !te->meta) {
        s->loading = true;
        fail_later(s, id == MC_TE_LOCAL_SEGMENT_ID ? MC_TE_ERR_OK : MC_TE_ERR_METADATA);
    } else {
        start_load(s);
    }
    return MC_TE_IN_PROGRESS;
}

int mc_te_add_segment(mc_te_t *te, const mc_te_seg_desc_t *desc, const char *peer_addr, uint64_t *out_id)
{
    if (!desc || !desc->name || !desc->name[0] || !peer_addr || strcmp(desc->name, te->name) == 0)
        return MC_TE_ERR_INVALID_ARGUMENT;
    te_seg_t *s = mc_map_gets(&te->segs_by_name, desc->name);
    if (!s)
        s = seg_new(te, desc->name);
    mc_te_seg_desc_t copy;
    mc_te_seg_desc_copy(&copy, desc);
    install(s, &copy, peer_addr);
    if (out_id)
        *out_id = s->id;
    return MC_TE_ERR_OK;
}

uint64_t mc_te_segment_id(const mc_te_t *te, const char *name)
{
    while (name && *name == '/')
        name++;
    te_seg_t *s = name ? mc_map_gets(&te->segs_by_name, name) : NULL;
    return s && s->loaded ? s->id : MC_TE_INVALID_SEGMENT;
}

const mc_te_seg_desc_t *mc_te_segment_desc(mc_te_t *te, uint64_t id)
{
    te_seg_t *s = te_seg_get(te, id);
    return s ? &s->desc : NULL;
}

int mc_te_close_segment(mc_te_t *te, uint64_t id)
{
    (void)te;
    (void)id;
    return MC_TE_ERR_OK;
}
