/* Internals of the verbs backend shared by its files. */
#ifndef MC_XPORT_VERBS_INT_H
#define MC_XPORT_VERBS_INT_H

#include <infiniband/verbs.h>
#include <stdatomic.h>

#include "mc_xport_int.h"
#include "mc_xport_verbs.h"

#define MC_VERBS_MAX_DEV 8

typedef struct mc_vdev {
    char name[IBV_SYSFS_NAME_MAX];
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    uint8_t port;
    uint8_t mtu; /* enum ibv_mtu: min(active, MC_MTU) */
    uint16_t lid;
    int gid_index;
    union ibv_gid gid;
    uint8_t link_layer;
    uint32_t max_qp_wr;
    uint8_t max_rd_atom; /* outstanding RDMA READs per QP */
} mc_vdev_t;

/* Process-wide live-object counters (mc_xport_verbs_counts). */
extern atomic_llong mc_verbs_live_qps, mc_verbs_live_cqs, mc_verbs_live_mrs, mc_verbs_live_pds,
    mc_verbs_live_ctrl, mc_verbs_live_wrs;

/* Open the devices selected by opts/env into devs (at most max); the
 * count, or -1 with a message in err. */
int mc_xport_verbs_open(mc_xport_t *x, const char *names, mc_vdev_t *devs, int max, char *err, size_t errlen);
void mc_xport_verbs_close(mc_vdev_t *d);
/* The GID index to use on (ctx, port): RoCEv2 IPv4-mapped first, then
 * other RoCEv2, then IB/RoCEv1 non-link-local, then link-local; -1 if the
 * table holds no usable entry. */
int mc_xport_verbs_pick_gid(struct ibv_context *ctx, uint8_t port, int tbl_len);

#endif
