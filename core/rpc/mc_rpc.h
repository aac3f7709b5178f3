/* RPC over the environment's control messages.
 *
 * Client side: an mc_rpc_chan_t owns one connection to a server address,
 * matches responses to requests by req_id, and guarantees every call's
 * callback runs exactly once: with the response, MC_RPC_TIMEOUT when the
 * deadline passes, or MC_RPC_FAIL when the connection drops. A late
 * response after a timeout is discarded.
 *
 * Server side: mc_rpc_reply() sends a built frame back on the connection
 * a request arrived on. */
#ifndef MC_RPC_H
#define MC_RPC_H

#include "../base/mc_map.h"
#include "../env/mc_env.h"
#include "../wire/mc_wire.h"

/* status is MC_OK when a response arrived (hdr/body valid for the call only). */
typedef void (*mc_rpc_cb)(void *arg, mc_status_t status, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

typedef enum mc_rpc_state {
    MC_RPC_DOWN = 0,
    MC_RPC_CONNECTING,
    MC_RPC_UP,
} mc_rpc_state_t;

typedef struct mc_rpc_chan {
    mc_env_t *env;
    char *addr;
    mc_conn_t conn;
    mc_rpc_state_t state;
    uint64_t next_req_id;
    mc_map_t pending; /* req_id -> struct mc_rpc_pending* */
    /* Connection state changes, for the owner (e.g. reconnect policy). */
    void (*on_state)(void *owner, mc_rpc_state_t state, mc_status_t why);
    void *owner;
} mc_rpc_chan_t;

void mc_rpc_chan_init(mc_rpc_chan_t *c, mc_env_t *env, const char *addr,
                      void (*on_state)(void *owner, mc_rpc_state_t, mc_status_t), void *owner);
/* Fails pending calls with MC_RPC_FAIL and closes the connection. */
void mc_rpc_chan_destroy(mc_rpc_chan_t *c);
/* Start connecting if down. */
void mc_rpc_chan_connect(mc_rpc_chan_t *c);
/* Close the connection now; pending calls fail with MC_RPC_FAIL. */
void mc_rpc_chan_close(mc_rpc_chan_t *c);

/* A fresh request id for building the next request frame. */
static inline uint64_t mc_rpc_next_id(mc_rpc_chan_t *c) { return ++c->next_req_id; }
/* Send a built request frame (its req_id from mc_rpc_next_id). The
 * callback always runs later, never inside this call. */
void mc_rpc_call(mc_rpc_chan_t *c, const mc_wbuf_t *frame, uint64_t timeout_ns, mc_rpc_cb cb, void *arg);

/* Owner routing from its env handlers. Each returns true if the event
 * belonged to this channel. */
bool mc_rpc_chan_on_up(mc_rpc_chan_t *c, mc_conn_t conn);
bool mc_rpc_chan_on_down(mc_rpc_chan_t *c, mc_conn_t conn, mc_status_t why);
bool mc_rpc_chan_on_frame(mc_rpc_chan_t *c, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

/* Open an incoming frame for a role's on_msg. A malformed frame is
 * logged (component names the role) and, when close_bad, its connection
 * is closed: a peer that breaks framing cannot be trusted further.
 * Returns true with hdr/body set when the frame is well formed. */
bool mc_rpc_open_frame(mc_env_t *env, mc_conn_t conn, const uint8_t *frame, size_t len, const char *component,
                       bool close_bad, mc_wire_hdr_t *hdr, mc_rbuf_t *body);
/* Log a well-formed frame nobody handled. */
void mc_rpc_unexpected(mc_env_t *env, const char *component, const mc_wire_hdr_t *hdr);

/* Server side: send a response frame; errors (peer gone) are logged and dropped. */
void mc_rpc_reply(mc_env_t *env, mc_conn_t conn, const mc_wbuf_t *frame);

#endif
