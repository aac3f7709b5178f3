/* Real metadata-store backends for the transfer engine (the hw side of
 * core/te/mc_te_meta.h; shared/spec/transfer.md §7.3):
 *
 *   "http://host:port/metadata"     upstream's HTTP metadata server
 *                                    (GET/PUT/DELETE ?key=<urlencoded>)
 *   "etcd://host:port[,host:port]"  etcd v3 JSON gateway, failover in order
 *   "host:port[,host:port...]"      same as etcd:// (upstream's bare form)
 *
 * Ops run on libcurl's multi interface driven by the loop's fd watches and
 * timers, so nothing blocks the loop thread; ops of one client complete in
 * issue order. All calls (including destroy) are loop-thread only. */
#ifndef MC_HW_META_H
#define MC_HW_META_H

#include <stddef.h>

#include "mc_loop.h"
#include "te/mc_te_meta.h"

/* Opens a client for conn. NULL (and a message in err) for an unknown or
 * malformed form. Free with mc_te_meta_destroy(). */
mc_te_meta_t *mc_hw_meta_open(mc_loop_t *loop, const char *conn, char *err, size_t errlen);

/* The reason of the client's latest failed op ("" if none): errors reach
 * callbacks only as MC_TE_ERR_METADATA, this says why (logs, tests). */
const char *mc_hw_meta_last_error(const mc_te_meta_t *m);

#endif
