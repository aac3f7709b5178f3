/* Segment descriptor values: construction, copy, equality, keys. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../base/mc_mem.h"
#include "mc_te_meta_desc.h"

static char *dup_or_null(const char *s) { return s ? mc_strdup(s) : NULL; }

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mc_free(v[i]);
    mc_free(v);
}

static char **copy_strv(char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **out = mc_calloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = mc_strdup(v[i]);
    return out;
}

void mc_te_seg_desc_init(mc_te_seg_desc_t *d)
{
    memset(d, 0, sizeof *d);
    d->tcp_proto_version = 1;
}

void mc_te_seg_desc_free(mc_te_seg_desc_t *d)
{
    mc_free(d->name);
    mc_free(d->protocol);
    mc_free(d->timestamp);
    mc_free(d->rdma_server_name);
    mc_free(d->data_endpoint);
    for (size_t i = 0; i < d->ndevices; i++) {
        mc_free(d->devices[i].name);
        mc_free(d->devices[i].gid);
    }
    mc_free(d->devices);
    for (size_t i = 0; i < d->nbuffers; i++) {
        mc_free(d->buffers[i].name);
        mc_free(d->buffers[i].rkey);
        mc_free(d->buffers[i].lkey);
        mc_free(d->buffers[i].protocol);
    }
    mc_free(d->buffers);
    for (size_t i = 0; i < d->ntopo; i++) {
        mc_free(d->topo[i].location);
        free_strv(d->topo[i].preferred, d->topo[i].npreferred);
        free_strv(d->topo[i].avail, d->topo[i].navail);
    }
    mc_free(d->topo);
    mc_te_seg_desc_init(d);
}

mc_te_device_desc_t *mc_te_seg_desc_add_device(mc_te_seg_desc_t *d, const char *name, uint16_t lid,
                                               const char *gid)
{
    d->devices = mc_realloc(d->devices, (d->ndevices + 1) * sizeof *d->devices);
    mc_te_device_desc_t *dev = &d->devices[d->ndevices++];
    dev->name = mc_strdup(name);
    dev->lid = lid;
    dev->gid = mc_strdup(gid ? gid : "");
    return dev;
}

mc_te_buffer_desc_t *mc_te_seg_desc_add_buffer(mc_te_seg_desc_t *d, const char *name, uint64_t addr,
                                               uint64_t length, size_t nkeys)
{
    d->buffers = mc_realloc(d->buffers, (d->nbuffers + 1) * sizeof *d->buffers);
    mc_te_buffer_desc_t *b = &d->buffers[d->nbuffers++];
    memset(b, 0, sizeof *b);
    b->name = mc_strdup(name);
    b->addr = addr;
    b->length = length;
    b->nrkey = b->nlkey = nkeys;
    if (nkeys) {
        b->rkey = mc_calloc(nkeys, sizeof *b->rkey);
        b->lkey = mc_calloc(nkeys, sizeof *b->lkey);
    }
    return b;
}

mc_te_topo_entry_t *mc_te_seg_desc_add_topo(mc_te_seg_desc_t *d, const char *location)
{
    d->topo = mc_realloc(d->topo, (d->ntopo + 1) * sizeof *d->topo);
    mc_te_topo_entry_t *t = &d->topo[d->ntopo++];
    memset(t, 0, sizeof *t);
    t->location = mc_strdup(location);
    return t;
}

void mc_te_topo_add(char ***list, size_t *n, const char *nic)
{
    *list = mc_realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = mc_strdup(nic);
}

void mc_te_seg_desc_copy(mc_te_seg_desc_t *dst, const mc_te_seg_desc_t *src)
{
    mc_te_seg_desc_init(dst);
    dst->name = dup_or_null(src->name);
    dst->protocol = dup_or_null(src->protocol);
    dst->tcp_data_port = src->tcp_data_port;
    dst->tcp_proto_version = src->tcp_proto_version;
    dst->timestamp = dup_or_null(src->timestamp);
    dst->rdma_server_name = dup_or_null(src->rdma_server_name);
    dst->data_endpoint = dup_or_null(src->data_endpoint);
    for (size_t i = 0; i < src->ndevices; i++)
        mc_te_seg_desc_add_device(dst, src->devices[i].name, src->devices[i].lid, src->devices[i].gid);
    for (size_t i = 0; i < src->nbuffers; i++) {
        const mc_te_buffer_desc_t *s = &src->buffers[i];
        mc_te_buffer_desc_t *b = mc_te_seg_desc_add_buffer(dst, s->name, s->addr, s->length, 0);
        b->nrkey = s->nrkey;
        b->nlkey = s->nlkey;
        b->rkey = s->nrkey ? mc_memdup(s->rkey, s->nrkey * sizeof *s->rkey) : NULL;
        b->lkey = s->nlkey ? mc_memdup(s->lkey, s->nlkey * sizeof *s->lkey) : NULL;
        b->protocol = dup_or_null(s->protocol);
    }
    for (size_t i = 0; i < src->ntopo; i++) {
        mc_te_topo_entry_t *t = mc_te_seg_desc_add_topo(dst, src->topo[i].location);
        t->preferred = copy_strv(src->topo[i].preferred, src->topo[i].npreferred);
        t->npreferred = src->topo[i].npreferred;
        t->avail = copy_strv(src->topo[i].avail, src->topo[i].navail);
        t->navail = src->topo[i].navail;
    }
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

bool mc_te_seg_desc_equal(const mc_te_seg_desc_t *a, const mc_te_seg_desc_t *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->protocol, b->protocol) ||
        a->tcp_data_port != b->tcp_data_port || a->tcp_proto_version != b->tcp_proto_version ||
        !str_eq(a->rdma_server_name, b->rdma_server_name) || !str_eq(a->data_endpoint, b->data_endpoint) ||
        a->ndevices != b->ndevices || a->nbuffers != b->nbuffers || a->ntopo != b->ntopo)
        return false;
    for (size_t i = 0; i < a->ndevices; i++)
        if (!str_eq(a->devices[i].name, b->devices[i].name) || a->devices[i].lid != b->devices[i].lid ||
            !str_eq(a->devices[i].gid, b->devices[i].gid))
            return false;
    for (size_t i = 0; i < a->nbuffers; i++) {
        const mc_te_buffer_desc_t *x = &a->buffers[i], *y = &b->buffers[i];
        if (!str_eq(x->name, y->name) || x->addr != y->addr || x->length != y->length ||
            x->nrkey != y->nrkey || x->nlkey != y->nlkey || !str_eq(x->protocol, y->protocol))
            return false;
        if (x->nrkey && memcmp(x->rkey, y->rkey, x->nrkey * sizeof *x->rkey) != 0)
            return false;
        if (x->nlkey && memcmp(x->lkey, y->lkey, x->nlkey * sizeof *x->lkey) != 0)
            return false;
    }
    for (size_t i = 0; i < a->ntopo; i++)
        if (!str_eq(a->topo[i].location, b->topo[i].location) ||
            !strv_eq(a->topo[i].preferred, a->topo[i].npreferred, b->topo[i].preferred,
                     b->topo[i].npreferred) ||
            !strv_eq(a->topo[i].avail, a->topo[i].navail, b->topo[i].avail, b->topo[i].navail))
            return false;
    return true;
}

bool mc_te_proto_has_devices(const char *protocol)
{
    return protocol && strcmp(protocol, "tcp") != 0;
}

void mc_te_rpc_meta_free(mc_te_rpc_meta_t *m)
{
    mc_free(m->ip_or_host_name);
    m->ip_or_host_name = NULL;
    m->rpc_port = 0;
}

static char *prefixed(const char *cluster_id, const char *mid, const char *name)
{
    const char *cid = cluster_id ? cluster_id : "";
    size_t n = strlen("mooncake/") + strlen(cid) + 1 + strlen(mid) + strlen(name) + 1;
    char *k = mc_malloc(n);
    snprintf(k, n, "mooncake/%s%s%s%s", cid, cid[0] ? "/" : "", mid, name);
    return k;
}

char *mc_te_key_rpc_meta(const char *cluster_id, const char *server_name)
{
    return prefixed(cluster_id, "rpc_meta/", server_name);
}

char *mc_te_key_segment(const char *cluster_id, const char *segment_name)
{
    return prefixed(cluster_id, strchr(segment_name, '/') ? "" : "ram/", segment_name);
}

/* Howard Hinnant's civil_from_days: pure integer calendar arithmetic. */
void mc_te_format_timestamp(uint64_t ns, char out[32])
{
    uint64_t secs = ns / 1000000000ULL;
    uint64_t usec = (ns / 1000ULL) % 1000000ULL;
    int64_t days = (int64_t)(secs / 86400);
    uint64_t sod = secs % 86400;
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    /* Fields are range-bounded; unsigned char casts tell the compiler so. */
    unsigned yy = (unsigned)(y % 10000);
    snprintf(out, 32, "%04u-%02u-%02u %02u:%02u:%02u.%06u", yy % 10000u, (unsigned char)m,
             (unsigned char)d, (unsigned char)(sod / 3600), (unsigned char)(sod / 60 % 60),
             (unsigned char)(sod % 60), (unsigned)(usec % 1000000u));
}
