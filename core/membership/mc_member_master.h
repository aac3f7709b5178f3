/* Master side of membership and liveness (upstream: Ping, ClientMonitorFunc).
 *
 * A client becomes known with its first PING or REGISTER; every one of
 * them moves its deadline to now + client_ttl. Ping replies NEED_REMOUNT
 * until the client registers (so a master that restarted, or expired the
 * client, makes it re-register). A monitor tick every second expires
 * clients whose deadline passed and reports them through the hook: this is
 * where the store master unmounts their segments.
 *
 * Not a role by itself: the member_master role and the store master embed
 * it and route frames to it. */
#ifndef MC_MEMBER_MASTER_H
#define MC_MEMBER_MASTER_H

#include <stdbool.h>

#include "../base/mc_map.h"
#include "../env/mc_env.h"
#include "../wire/mc_msg_membership.h"

#define MC_MEMBER_DEFAULT_TTL_NS (10 * MC_NS_PER_S)
#define MC_MEMBER_MONITOR_NS MC_NS_PER_S

typedef struct mc_member_client {
    mc_uuid_t id;
    char *name;
    uint64_t deadline_ns;
    bool registered; /* "OK" set: ping replies OK */
} mc_member_client_t;

typedef struct mc_member_hooks {
    /* A client missed pings for the TTL and was forgotten. */
    void (*on_expired)(void *ctx, const mc_member_client_t *c);
    void *ctx;
} mc_member_hooks_t;

typedef struct mc_member_master {
    mc_env_t *env;
    uint64_t ttl_ns;
    uint64_t view_version;
    mc_map_t clients; /* uuid bytes -> mc_member_client_t* (insertion order) */
    mc_timer_t monitor;
    mc_member_hooks_t hooks;
    mc_wbuf_t out;
    uint64_t expired_total;
} mc_member_master_t;

void mc_member_master_init(mc_member_master_t *m, mc_env_t *env, uint64_t ttl_ns,
                           const mc_member_hooks_t *hooks);
void mc_member_master_destroy(mc_member_master_t *m);

/* Handle a frame if it is a membership request; false otherwise. A
 * malformed membership message is logged and dropped (returns true). */
bool mc_member_master_on_frame(mc_member_master_t *m, mc_conn_t conn, const mc_wire_hdr_t *hdr,
                               mc_rbuf_t *body);

/* Refresh a client's deadline (any request from it proves liveness) and
 * optionally mark it registered (store master: after a remount). */
mc_member_client_t *mc_member_master_touch(mc_member_master_t *m, mc_uuid_t id, mc_slice_t name,
                                           bool registered);
const mc_member_client_t *mc_member_master_find(const mc_member_master_t *m, mc_uuid_t id);
static inline uint32_t mc_member_master_count(const mc_member_master_t *m)
{
    return mc_map_count(&m->clients);
}

#endif
