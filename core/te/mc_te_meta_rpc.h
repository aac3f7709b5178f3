/* Metadata over control messages (TE_META_GET/PUT/DEL, types 504-509).
 *
 * Client backend (implements mc_te_meta_t):
 *  - server mode: every op goes to one metadata server node (role
 *    "te_meta", or hw's HTTP server behind a gateway);
 *  - P2P mode (server == "P2PHANDSHAKE", upstream's handshake mode):
 *    nothing is published (puts/deletes succeed locally), a descriptor
 *    get for key ".../ram/<host:port>" is sent to <host:port> itself,
 *    whose TE answers for its own keys; rpc_meta gets answer "absent"
 *    locally (the segment name is the address).
 * Transport failures and timeouts complete with MC_TE_ERR_METADATA.
 * The owner routes connection events and response frames to it.
 *
 * Server side: mc_te_meta_server_on_frame() answers TE_META_* requests
 * from an in-memory store. */
#ifndef MC_TE_META_RPC_H
#define MC_TE_META_RPC_H

#include "../wire/mc_wire.h"
#include "mc_te_meta.h"

#define MC_TE_P2P_HANDSHAKE "P2PHANDSHAKE"

mc_te_meta_t *mc_te_meta_rpc_open(mc_env_t *env, const char *server, uint64_t timeout_ns);
bool mc_te_meta_rpc_on_conn_up(mc_te_meta_t *m, mc_conn_t conn);
bool mc_te_meta_rpc_on_conn_down(mc_te_meta_t *m, mc_conn_t conn, mc_status_t why);
/* Responses of types 505/507/509 on this backend's connections. */
bool mc_te_meta_rpc_on_frame(mc_te_meta_t *m, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

/* Answer a TE_META_GET/PUT/DEL request (returns false for other types).
 * out is scratch space for the reply frame. */
bool mc_te_meta_server_on_frame(mc_te_meta_mem_store_t *s, mc_env_t *env, mc_conn_t conn,
                                const mc_wire_hdr_t *hdr, mc_rbuf_t *body, mc_wbuf_t *out);

#endif
