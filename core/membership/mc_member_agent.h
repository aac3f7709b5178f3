/* Client side of membership: the agent keeps a connection to the master,
 * pings every interval, registers when the master answers NEED_REMOUNT
 * (first contact, master restart, or after being expired), and reconnects
 * after max_failures consecutive ping failures or a dropped connection
 * (upstream: 1 s pings, 3 failures => reconnect).
 *
 * The agent owns the master RPC channel so an embedding role (the store
 * client) sends its own master RPCs on the same connection. */
#ifndef MC_MEMBER_AGENT_H
#define MC_MEMBER_AGENT_H

#include <stdbool.h>

#include "../rpc/mc_rpc.h"
#include "../wire/mc_msg_membership.h"

typedef struct mc_member_agent_hooks {
    /* Master wants a re-registration. If set, the embedder performs it (e.g.
     * remount segments) and then calls mc_member_agent_registered(); if NULL
     * the agent sends a plain REGISTER. */
    void (*on_need_remount)(void *ctx);
    void *ctx;
} mc_member_agent_hooks_t;

typedef struct mc_member_agent {
    mc_env_t *env;
    mc_rpc_chan_t chan;
    mc_uuid_t id;
    char *name;
    uint64_t interval_ns;
    uint32_t max_failures;
    mc_timer_t tick;
    uint32_t failures;
    uint64_t ping_seq;
    uint64_t view_version; /* 0 until the first reply */
    bool ping_inflight;
    bool registering;
    bool registered;
    bool healthy; /* last ping succeeded (upstream health_check) */
    mc_member_agent_hooks_t hooks;
    mc_wbuf_t out;
} mc_member_agent_t;

void mc_member_agent_init(mc_member_agent_t *a, mc_env_t *env, const char *master_addr,
                          const char *name, uint64_t interval_ns, const mc_member_agent_hooks_t *hooks);
void mc_member_agent_destroy(mc_member_agent_t *a);
/* The embedder finished a re-registration (ok = it succeeded). */
void mc_member_agent_registered(mc_member_agent_t *a, bool ok, uint64_t view_version);

/* Route env upcalls; each returns true if consumed. */
bool mc_member_agent_on_up(mc_member_agent_t *a, mc_conn_t conn);
bool mc_member_agent_on_down(mc_member_agent_t *a, mc_conn_t conn, mc_status_t why);
bool mc_member_agent_on_frame(mc_member_agent_t *a, mc_conn_t conn, const mc_wire_hdr_t *hdr,
                              mc_rbuf_t *body);

#endif
