/* mc_hw_meta_open: picks the backend from the connection string (upstream
 * TransferMetadata: "http(s)://", "etcd://", bare "host:port[,...]"). */
#include <stdio.h>
#include <string.h>

#include "mc_hw_meta_int.h"

mc_te_meta_t *mc_hw_meta_open(mc_loop_t *loop, const char *conn, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!loop || !conn || !*conn) {
        snprintf(err, errlen, "metadata conn: empty connection string");
        return NULL;
    }
    if (strncmp(conn, "http://", 7) == 0 || strncmp(conn, "https://", 8) == 0)
        return mc_hwm_http_open(loop, conn, err, errlen);
    if (strncmp(conn, "etcd://", 7) == 0)
        return mc_hwm_etcd_open(loop, conn + 7, err, errlen);
    if (strcmp(conn, "P2PHANDSHAKE") == 0) {
        snprintf(err, errlen,
                 "metadata conn 'P2PHANDSHAKE' has no store: descriptors come from the peer (mc_te_meta_rpc)");
        return NULL;
    }
    if (strstr(conn, "://")) {
        snprintf(err, errlen,
                 "metadata conn '%s': unsupported scheme (expected http://host:port/path, etcd://host:port "
                 "or host:port[,host:port...])",
                 conn);
        return NULL;
    }
    return mc_hwm_etcd_open(loop, conn, err, errlen);
}
