/* Metadata backend choice (P2PHANDSHAKE: the core's handshake backend over
 * control messages; anything else: hw/meta's HTTP/etcd clients) and the
 * routing of env upcalls to the engine and the backend. */
#include <string.h>

#include "mc_te_api_int.h"
#include "meta/mc_hw_meta.h"
#include "te/mc_te_meta_rpc.h"
#include "rpc/mc_rpc.h"

int mc_te_api_meta_open(mooncake_te_t *h, const char *conn)
{
    if (strcmp(conn, MC_TE_P2P_HANDSHAKE) == 0) {
        h->meta = mc_te_meta_rpc_open(h->env, conn, 0);
        h->meta_rpc = true;
        h->p2p = true;
    } else {
        char err[256] = "";
        h->meta = mc_hw_meta_open(h->loop, conn, err, sizeof err);
        if (!h->meta) {
            mc_te_api_set_error("metadata server '%s': %s", conn, err[0] ? err : "cannot open");
            return -1;
        }
    }
    if (!h->meta) {
        mc_te_api_set_error("metadata server '%s': cannot open", conn);
        return -1;
    }
    return 0;
}

static void h_up(void *node, mc_conn_t c)
{
    mooncake_te_t *h = node;
    if (!(h->meta_rpc && mc_te_meta_rpc_on_conn_up(h->meta, c)) && h->te)
        mc_te_on_conn_up(h->te, c);
}

static void h_down(void *node, mc_conn_t c, mc_status_t why)
{
    mooncake_te_t *h = node;
    if (!(h->meta_rpc && mc_te_meta_rpc_on_conn_down(h->meta, c, why)) && h->te)
        mc_te_on_conn_down(h->te, c, why);
}

static void h_accept(void *node, mc_conn_t c, const char *peer) {}

static void h_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    mooncake_te_t *h = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!h->te || !mc_rpc_open_frame(h->env, c, frame, len, "te", true, &hdr, &body))
        return;
    if (h->meta_rpc && mc_te_meta_rpc_on_frame(h->meta, c, &hdr, &body))
        return;
    if (!mc_te_on_frame(h->te, c, &hdr, &body))
        mc_rpc_unexpected(h->env, "te", &hdr);
}

static void h_xfer(void *node, uint64_t tag, mc_status_t st)
{
    mooncake_te_t *h = node;
    if (!h->te || !mc_te_on_xfer_done(h->te, tag, st))
        mc_env_logf(h->env, MC_LOG_WARN, "te", "completion with a foreign tag");
}

static const mc_env_handlers_t handlers = {
    .on_conn_up = h_up,
    .on_conn_accept = h_accept,
    .on_conn_down = h_down,
    .on_msg = h_msg,
    .on_xfer_done = h_xfer,
};

void mc_te_api_bind(mooncake_te_t *h) { mc_env_bind(h->env, &handlers, h); }
