/* Verbs device discovery and per-device setup (port, GID index, MTU, PD).
 * Selection rules follow upstream's store client (spec transfer.md 9.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mc_xport_verbs_int.h"

atomic_llong mc_verbs_live_qps, mc_verbs_live_cqs, mc_verbs_live_mrs, mc_verbs_live_pds, mc_verbs_live_ctrl, mc_verbs_live_wrs;

/* name in the comma list? An empty/NULL list matches nothing. */
static bool in_list(const char *list, const char *name)
{
    if (!list)
        return false;
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        if ((size_t)(p - s) == n && n && memcmp(s, name, n) == 0)
            return true;
    }
    return false;
}

static bool nonempty(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if (*s != ',' && *s != ' ')
            return true;
    return false;
}

static long env_long(const char *name, long dflt, long lo, long hi)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < lo || n > hi) ? dflt : n;
}

int mc_xport_verbs_pick_gid(struct ibv_context *ctx, uint8_t port, int tbl_len)
{
    int best = -1, best_score = 0;
    for (int i = 0; i < tbl_len; i++) {
        struct ibv_gid_entry e;
        if (ibv_query_gid_ex(ctx, port, (uint32_t)i, &e, 0) != 0)
            continue;
        static const uint8_t zero[16];
        if (memcmp(e.gid.raw, zero, 16) == 0)
            continue;
        static const uint8_t v4pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        bool v4 = memcmp(e.gid.raw, v4pre, 12) == 0;
        bool ll = e.gid.raw[0] == 0xfe && (e.gid.raw[1] & 0xc0) == 0x80;
        int score;
        if (e.gid_type == IBV_GID_TYPE_ROCE_V2)
            score = v4 ? 4 : ll ? 2 : 3;
        else
            score = ll ? 1 : 2; /* IB or RoCEv1 */
        if (score > best_score) {
            best = i;
            best_score = score;
        }
    }
    return best;
}

/* Open one device; 0 or -1 (why in err). */
static int open_one(struct ibv_device *dev, mc_vdev_t *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", ibv_get_device_name(dev));
    d->port = (uint8_t)env_long("MC_IB_PORT", 1, 1, 255);
    d->ctx = ibv_open_device(dev);
    if (!d->ctx) {
        snprintf(err, errlen, "%s: ibv_open_device failed", d->name);
        return -1;
    }
    struct ibv_device_attr da;
    struct ibv_port_attr pa;
    if (ibv_query_device(d->ctx, &da) != 0 || ibv_query_port(d->ctx, d->port, &pa) != 0) {
        snprintf(err, errlen, "%s: cannot query device/port %u", d->name, d->port);
        goto fail;
    }
    if (pa.state != IBV_PORT_ACTIVE) {
        snprintf(err, errlen, "%s: port %u not ACTIVE", d->name, d->port);
        goto fail;
    }
    long want = env_long("MC_MTU", 4096, 256, 4096);
    uint8_t cap = want >= 4096 ? IBV_MTU_4096 : want >= 2048 ? IBV_MTU_2048 : want >= 1024 ? IBV_MTU_1024
                                                                  : want >= 512 ? IBV_MTU_512 : IBV_MTU_256;
    d->mtu = pa.active_mtu < cap ? (uint8_t)pa.active_mtu : cap;
    d->lid = pa.lid;
    d->link_layer = pa.link_layer;
    long gi = env_long("MC_GID_INDEX", -1, 0, 255);
    if (gi < 0)
        gi = env_long("NCCL_IB_GID_INDEX", -1, 0, 255);
    if (gi < 0)
        gi = mc_xport_verbs_pick_gid(d->ctx, d->port, pa.gid_tbl_len);
    if (gi < 0 && pa.link_layer == IBV_LINK_LAYER_INFINIBAND && pa.lid)
        gi = 0; /* IB with a LID routes without a GRH */
    if (gi < 0 || ibv_query_gid(d->ctx, d->port, (int)gi, &d->gid) != 0) {
        snprintf(err, errlen, "%s: no usable GID on port %u", d->name, d->port);
        goto fail;
    }
    d->gid_index = (int)gi;
    d->max_qp_wr = (uint32_t)da.max_qp_wr;
    int ra = da.max_qp_rd_atom < da.max_qp_init_rd_atom ? da.max_qp_rd_atom : da.max_qp_init_rd_atom;
    d->max_rd_atom = (uint8_t)(ra > 16 ? 16 : ra < 1 ? 1 : ra);
    d->pd = ibv_alloc_pd(d->ctx);
    if (!d->pd) {
        snprintf(err, errlen, "%s: ibv_alloc_pd failed", d->name);
        goto fail;
    }
    atomic_fetch_add(&mc_verbs_live_pds, 1);
    return 0;
fail:
    ibv_close_device(d->ctx);
    d->ctx = NULL;
    return -1;
}

void mc_xport_verbs_close(mc_vdev_t *d)
{
    if (d->pd) {
        ibv_dealloc_pd(d->pd);
        atomic_fetch_sub(&mc_verbs_live_pds, 1);
    }
    if (d->ctx)
        ibv_close_device(d->ctx);
    memset(d, 0, sizeof *d);
}

int mc_xport_verbs_open(mc_xport_t *x, const char *names, mc_vdev_t *devs, int max, char *err, size_t errlen)
{
    bool autod = !nonempty(names);
    const char *ad = getenv("MC_MS_AUTO_DISC");
    if (ad && *ad) {
        if (strcmp(ad, "1") == 0)
            autod = true;
        else if (strcmp(ad, "0") == 0)
            autod = false;
        else
            mc_xport_logf(x, MC_LOG_WARN, "MC_MS_AUTO_DISC=%s ignored (1 or 0)", ad);
    }
    const char *filter = NULL;
    if (autod) {
        filter = getenv("MC_MS_FILTERS");
        if (!nonempty(filter))
            filter = NULL;
    } else {
        if (nonempty(getenv("MC_MS_FILTERS")))
            mc_xport_logf(x, MC_LOG_WARN, "MC_MS_FILTERS ignored: auto-discovery is off");
        if (!nonempty(names)) {
            snprintf(err, errlen, "MC_MS_AUTO_DISC=0 needs rdma_devices");
            return -1;
        }
        filter = names;
    }
    const char *te_filter = getenv("MC_TE_FILTERS");
    if (!nonempty(te_filter))
        te_filter = NULL;

    int num = 0;
    struct ibv_device **list = ibv_get_device_list(&num);
    if (!list || num == 0) {
        if (list)
            ibv_free_device_list(list);
        snprintf(err, errlen, "no RDMA device found (set MC_FORCE_TCP=1 to use TCP)");
        return -1;
    }
    int n = 0;
    char why[200] = "";
    for (int i = 0; i < num && n < max; i++) {
        const char *name = ibv_get_device_name(list[i]);
        if ((filter && !in_list(filter, name)) || (te_filter && !in_list(te_filter, name)))
            continue;
        if (open_one(list[i], &devs[n], why, sizeof why) != 0) {
            mc_xport_logf(x, MC_LOG_WARN, "rdma device skipped: %s", why);
            continue;
        }
        mc_xport_logf(x, MC_LOG_INFO, "rdma device %s port %u gid_index %d mtu %d lid %u", devs[n].name,
                      devs[n].port, devs[n].gid_index, 128 << devs[n].mtu, devs[n].lid);
        n++;
    }
    ibv_free_device_list(list);
    if (n == 0) {
        snprintf(err, errlen, "no RDMA device found%s%s (set MC_FORCE_TCP=1 to use TCP)", *why ? ": " : "", why);
        return -1;
    }
    return n;
}
