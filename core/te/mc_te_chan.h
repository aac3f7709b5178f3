/* A request channel to one peer address for the transfer engine's
 * control messages: an mc_rpc_chan_t plus a queue for calls made while
 * the connection is still coming up, so callers can "call" at any time.
 *
 * Every call's callback runs exactly once, later (never inside the
 * call): with the response (MC_OK), MC_RPC_TIMEOUT, or MC_RPC_FAIL when
 * the peer is unreachable or the connection drops. On destroy, pending
 * callbacks run synchronously with MC_RPC_FAIL (owners guard).
 *
 * A call that times out makes the connection suspect: a peer behind a
 * partition keeps a silent connection "up" forever, so the channel closes
 * it (from a timer, after the callback) and the next call reconnects. */
#ifndef MC_TE_CHAN_H
#define MC_TE_CHAN_H

#include "../base/mc_vec.h"
#include "../rpc/mc_rpc.h"

typedef struct mc_te_chan {
    mc_env_t *env;
    mc_rpc_chan_t rpc;
    mc_vec_t queue; /* te_chan_call_t*: waiting for the connection */
    mc_timer_t fail_timer;
    mc_timer_t reset_timer; /* closes a connection after a timed-out call */
    uint64_t timeout_ns;
} mc_te_chan_t;

void mc_te_chan_init(mc_te_chan_t *c, mc_env_t *env, const char *addr, uint64_t timeout_ns);
void mc_te_chan_destroy(mc_te_chan_t *c);
static inline uint64_t mc_te_chan_next_id(mc_te_chan_t *c) { return mc_rpc_next_id(&c->rpc); }
static inline const char *mc_te_chan_addr(const mc_te_chan_t *c) { return c->rpc.addr; }
/* frame: a complete request built with mc_te_chan_next_id(); copied. */
void mc_te_chan_call(mc_te_chan_t *c, const mc_wbuf_t *frame, mc_rpc_cb cb, void *arg);

bool mc_te_chan_on_up(mc_te_chan_t *c, mc_conn_t conn);
bool mc_te_chan_on_down(mc_te_chan_t *c, mc_conn_t conn, mc_status_t why);
bool mc_te_chan_on_frame(mc_te_chan_t *c, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

#endif
