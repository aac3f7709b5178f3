/* The RDMA verbs backend of mc_xport (protocol "rdma").
 *
 * Devices: opts.rdma_devices (comma list) or auto-discovery of every
 * device with an ACTIVE port (MC_MS_AUTO_DISC=1|0 forces auto-discovery
 * on/off; MC_MS_FILTERS (comma list) restricts it; MC_TE_FILTERS is a
 * further allow-list). Per device: port MC_IB_PORT (1), GID index
 * MC_GID_INDEX / NCCL_IB_GID_INDEX or auto (RoCEv2 IPv4-mapped first),
 * path MTU = min(both ports' active MTU, MC_MTU (4096)).
 * Every registered region is registered (ibv_reg_mr) on every device.
 *
 * Peers: the descriptor's rdma=<port> names the peer's handshake listener.
 * Per (peer, local device) one RC QP is set up over a TCP control
 * connection (HELLO/HELLO_ACK: qpn, random PSNs, gid, lid, mtu; see
 * mc_xport_verbs_proto.h); the same connection answers rkey lookups, in
 * which the responder checks that the range lies in ONE registered region
 * (else the slice fails with MC_INVALID_PARAMS and nothing is touched).
 * Ops are cut into slice_size slices spread over the peer's QPs; one
 * worker thread per QP posts WRITE/READ work requests and polls the CQ
 * (completion channel). An error completion fails its slice
 * (MC_TRANSFER_FAIL; MC_RPC_TIMEOUT when the op timeout moved the QP to
 * the error state), the QP is then destroyed and the control connection
 * closed; the next slice reconnects. */
#ifndef MC_XPORT_VERBS_H
#define MC_XPORT_VERBS_H

#include <stdint.h>

#include "mc_xport.h"

/* Live verbs objects made by this process's xports (all of them). */
typedef struct mc_xport_verbs_counts {
    int64_t qps, cqs, mrs, pds, ctrl_conns;
    int64_t wrs; /* work requests posted and not yet completed */
} mc_xport_verbs_counts_t;
void mc_xport_verbs_counts(mc_xport_verbs_counts_t *out);

/* Test hooks (any thread). 0, or -1 if x has no verbs backend.
 * break: move every initiator QP of x to IBV_QPS_ERR (in-flight slices
 * fail, the QPs are then rebuilt on demand).
 * disconnect: tear down every idle initiator QP and control connection
 * (the peers destroy their side when the connection closes). */
int mc_xport_verbs_break(mc_xport_t *x);
/* Move every responder QP of x (peers' QPs into x) to IBV_QPS_ERR: their
 * initiators see real error completions (retry exceeded) on next use. */
int mc_xport_verbs_break_responders(mc_xport_t *x);
int mc_xport_verbs_disconnect(mc_xport_t *x);
/* Names of x's opened devices, comma separated, into buf. */
int mc_xport_verbs_devices(mc_xport_t *x, char *buf, size_t len);
/* The GID index chosen for device i; -1 if
 * there is no such device. */
int mc_xport_verbs_gid_index(mc_xport_t *x, int i);

#endif
