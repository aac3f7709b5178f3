/* Registered local memory and the descriptor we publish for it. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_bytes.h"
#include "mc_te_int.h"

/* Index of the first buffer with addr > a (buffers sorted by addr). */
static size_t upper_bound(mc_te_t *te, uint64_t a)
{
    size_t lo = 0, hi = te->bufs.len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (MC_VEC_AT(&te->bufs, te_buf_t, mid)->addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

te_buf_t *te_buf_find(mc_te_t *te, uint64_t addr)
{
    size_t i = upper_bound(te, addr);
    if (i == 0)
        return NULL;
    te_buf_t *b = MC_VEC_AT(&te->bufs, te_buf_t, i - 1);
    return addr - b->addr < b->len ? b : NULL;
}

uint64_t te_local_covered(mc_te_t *te, uint64_t addr, uint64_t need)
{
    size_t i = upper_bound(te, addr);
    if (i == 0)
        return 0;
    te_buf_t *b = MC_VEC_AT(&te->bufs, te_buf_t, i - 1);
    if (addr - b->addr >= b->len)
        return 0;
    uint64_t got = b->addr + b->len - addr;
    /* Adjacent regions form one run: a request may span them (slices never do). */
    for (size_t j = i; got < need && j < te->bufs.len; j++) {
        te_buf_t *n = MC_VEC_AT(&te->bufs, te_buf_t, j);
        if (n->addr != addr + got)
            break;
        got += n->len;
    }
    return got < need ? got : need;
}

/* Synthetic but stable identifiers for the descriptor (no hardware in
 * core). Derived from the registration order, never from the address:
 * addresses differ between runs (ASLR) and the descriptor's length must
 * not, or the simulator's timing (and trace hash) would. */
static void fake_gid(const char *seg, uint32_t path, char out[48])
{
    uint64_t h = mc_hash64(seg, strlen(seg), MC_HASH64_INIT + path);
    snprintf(out, 48, "00:00:00:00:00:00:00:00:00:00:ff:ff:%02x:%02x:%02x:%02x", (unsigned)(h & 0xff),
             (unsigned)(h >> 8 & 0xff), (unsigned)(h >> 16 & 0xff), (unsigned)(h >> 24 & 0xff));
}

void te_desc_rebuild(mc_te_t *te)
{
    te_seg_t *s = te->local;
    char *ts = s->desc.timestamp ? mc_strdup(s->desc.timestamp) : NULL;
    mc_te_seg_desc_free(&s->desc);
    mc_te_seg_desc_t *d = &s->desc;
    bool rdma = mc_te_proto_has_devices(te->protocol);
    d->name = mc_strdup(te->name);
    d->protocol = mc_strdup(te->protocol);
    d->timestamp = ts;
    d->tcp_proto_version = rdma ? 1 : 2;
    /* hw: the data plane listens on its own port (env data_endpoint). */
    const char *ep = te->env->ops->data_endpoint ? te->env->ops->data_endpoint(te->env) : NULL;
    if (rdma && ep) /* RDMA-shaped descriptor over hw's data plane: our extension key, ignored upstream */
        d->data_endpoint = mc_strdup(ep);
    if (!rdma) {
        const char *colon = strrchr(ep ? ep : te->addr, ':');
        uint64_t port = 0;
        if (ep && strncmp(ep, "mcx1 ", 5) == 0) /* hw rdma: an xport descriptor, peers use it verbatim */
            d->data_endpoint = mc_strdup(ep);
        else if (colon && mc_parse_u64(colon + 1, &port) && port <= 65535)
            d->tcp_data_port = (int64_t)port;
    }
    if (rdma) {
        for (uint32_t i = 0; i < te->npaths; i++) {
            char gid[48];
            fake_gid(te->name, i, gid);
            mc_te_seg_desc_add_device(d, te->devices[i], 0, gid);
        }
    }
    for (size_t i = 0; i < te->bufs.len; i++) {
        te_buf_t *b = MC_VEC_AT(&te->bufs, te_buf_t, i);
        const char *bname = rdma ? (strcmp(b->location, "*") == 0 ? "cpu:0" : b->location) : te->name;
        /* The env's registration key is the rkey on every device (tcp: one
         * entry): peers put it in each op, so a descriptor of an earlier
         * registration or process at the same address fails cleanly. */
        mc_te_buffer_desc_t *bd = mc_te_seg_desc_add_buffer(d, bname, b->addr, b->len, rdma ? te->npaths : 1);
        for (uint32_t p = 0; p < bd->nrkey; p++) {
            bd->lkey[p] = b->key;
            bd->rkey[p] = b->key;
        }
        if (rdma && !b->remote) {
            mc_free(bd->rkey);
            bd->rkey = NULL;
            bd->nrkey = 0;
        }
    }
    if (rdma) {
        /* One discovered NUMA node; readers synthesize the "*" row. */
        mc_te_topo_entry_t *t = mc_te_seg_desc_add_topo(d, "cpu:0");
        for (uint32_t i = 0; i < te->npaths; i++)
            mc_te_topo_add(&t->preferred, &t->npreferred, te->devices[i]);
    }
    te_seg_index(s);
}

static void pub_done(void *arg, int err, const char *value, size_t len)
{
    mc_te_t *te = arg;
    te->pub_req = 0;
    if (err) {
        mc_env_logf(te->env, MC_LOG_WARN, "te", "publishing segment %s failed: %s", te->name,
                    mc_te_err_name(err));
        te_publish_failed(te);
    } else {
        te->pub_backoff_ns = 0;
    }
    if (te->pub_again) {
        te->pub_again = false;
        te_publish(te);
    }
}

void te_publish(mc_te_t *te)
{
    if (!te->meta || !te->publish)
        return;
    if (te->pub_req) { /* one put at a time so the store never ends older */
        te->pub_again = true;
        return;
    }
    char ts[32];
    mc_te_format_timestamp(mc_env_now(te->env), ts);
    mc_free(te->local->desc.timestamp);
    te->local->desc.timestamp = mc_strdup(ts);
    char *json = mc_te_seg_desc_encode(&te->local->desc);
    char *key = mc_te_key_segment(te->cluster_id, te->name);
    te->pub_req = mc_te_meta_put(te->meta, key, json, strlen(json), pub_done, te);
    mc_free(key);
    mc_free(json);
}

static int check_new(mc_te_t *te, uint64_t a, uint64_t len)
{
    if (len == 0 || a == 0)
        return MC_TE_ERR_INVALID_ARGUMENT;
    if (a + len < a)
        return MC_TE_ERR_INVALID_ARGUMENT;
    size_t i = upper_bound(te, a);
    if (i > 0) {
        te_buf_t *p = MC_VEC_AT(&te->bufs, te_buf_t, i - 1);
        if (p->addr + p->len > a)
            return MC_TE_ERR_ADDRESS_OVERLAPPED;
    }
    if (i < te->bufs.len && MC_VEC_AT(&te->bufs, te_buf_t, i)->addr < a + len)
        return MC_TE_ERR_ADDRESS_OVERLAPPED;
    return MC_TE_ERR_OK;
}

static int add_region(mc_te_t *te, void *addr, uint64_t len, const char *location, bool remote)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    int rc = check_new(te, a, len);
    if (rc)
        return rc;
    uint32_t key = 0;
    if (te->env->ops->mem_register(te->env, addr, (size_t)len, &key) != MC_OK)
        return MC_TE_ERR_MEMORY;
    size_t i = upper_bound(te, a);
    mc_vec_push(&te->bufs);
    /* Shift to keep the vector sorted. */
    te_buf_t *arr = (te_buf_t *)te->bufs.data;
    memmove(arr + i + 1, arr + i, (te->bufs.len - 1 - i) * sizeof(te_buf_t));
    te_buf_t *b = MC_VEC_AT(&te->bufs, te_buf_t, i);
    b->addr = a;
    b->len = len;
    b->location = mc_strdup(location && *location ? location : "*");
    b->remote = remote;
    b->key = key;
    mc_env_tracef(te->env, "te.register", "segment=%s len=%llu", te->name, (unsigned long long)len);
    return MC_TE_ERR_OK;
}

static int remove_region(mc_te_t *te, void *addr)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    te_buf_t *b = te_buf_find(te, a);
    if (!b || b->addr != a)
        return MC_TE_ERR_ADDRESS_NOT_REGISTERED;
    (void)te->env->ops->mem_unregister(te->env, addr); /* best effort, as upstream */
    mc_env_tracef(te->env, "te.unregister", "segment=%s len=%llu", te->name, (unsigned long long)b->len);
    mc_free(b->location);
    mc_vec_remove(&te->bufs, (size_t)(b - MC_VEC_AT(&te->bufs, te_buf_t, 0)));
    return MC_TE_ERR_OK;
}

static void changed(mc_te_t *te, bool update_metadata)
{
    te_desc_rebuild(te);
    if (update_metadata)
        te_publish(te);
}

int mc_te_register(mc_te_t *te, void *addr, uint64_t len, const char *location, bool remote_accessible,
                   bool update_metadata)
{
    int rc = add_region(te, addr, len, location, remote_accessible);
    if (rc == MC_TE_ERR_OK)
        changed(te, update_metadata);
    return rc;
}

int mc_te_unregister(mc_te_t *te, void *addr, bool update_metadata)
{
    int rc = remove_region(te, addr);
    if (rc == MC_TE_ERR_OK)
        changed(te, update_metadata);
    return rc;
}

int mc_te_register_batch(mc_te_t *te, void *const *addrs, const uint64_t *lens, size_t n,
                         const char *location)
{
    /* Validate everything first (zero lengths, overlap with the registered
     * set and pairwise), then register; roll back on an env failure. */
    for (size_t i = 0; i < n; i++) {
        uint64_t a = (uint64_t)(uintptr_t)addrs[i];
        int rc = check_new(te, a, lens[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++) {
            uint64_t b = (uint64_t)(uintptr_t)addrs[j];
            if (a < b + lens[j] && b < a + lens[i])
                return MC_TE_ERR_ADDRESS_OVERLAPPED;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int rc = add_region(te, addrs[i], lens[i], location, true);
        if (rc) {
            while (i-- > 0)
                remove_region(te, addrs[i]);
            te_desc_rebuild(te);
            return rc;
        }
    }
    if (n)
        changed(te, true);
    return MC_TE_ERR_OK;
}

int mc_te_unregister_batch(mc_te_t *te, void *const *addrs, size_t n)
{
    int first = MC_TE_ERR_OK;
    for (size_t i = 0; i < n; i++) {
        int rc = remove_region(te, addrs[i]);
        if (rc && !first)
            first = rc;
    }
    changed(te, true);
    return first;
}
