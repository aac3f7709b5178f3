/* Roles "member_master" and "member_client": the membership protocol on
 * its own, the first protocol that runs unchanged in the simulator and on
 * real processes. The store roles embed the same modules. */
#include <stdio.h>

#include "../base/mc_mem.h"
#include "../env/mc_role.h"
#include "mc_member_agent.h"
#include "mc_member_master.h"

/* ---- member_master ---- */

typedef struct member_master_node {
    mc_env_t *env;
    mc_member_master_t mm;
} member_master_node_t;

static void mm_on_accept(void *node, mc_conn_t conn, const char *peer) { (void)node; (void)conn; (void)peer; }
static void mm_on_up(void *node, mc_conn_t conn) { (void)node; (void)conn; }
static void mm_on_down(void *node, mc_conn_t conn, mc_status_t why) { (void)node; (void)conn; (void)why; }
static void mm_on_xfer(void *node, uint64_t tag, mc_status_t s) { (void)node; (void)tag; (void)s; }

static void mm_on_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    member_master_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (mc_rpc_open_frame(n->env, conn, frame, len, "master", true, &hdr, &body) &&
        !mc_member_master_on_frame(&n->mm, conn, &hdr, &body))
        mc_rpc_unexpected(n->env, "master", &hdr);
}

static const mc_env_handlers_t mm_handlers = {
    .on_conn_up = mm_on_up,
    .on_conn_accept = mm_on_accept,
    .on_conn_down = mm_on_down,
    .on_msg = mm_on_msg,
    .on_xfer_done = mm_on_xfer,
};

static void *mm_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    uint64_t ttl;
    const char *addr = mc_conf_get(conf, "addr");
    if (!addr) {
        snprintf(err, errlen, "key 'addr': required (listen address)");
        return NULL;
    }
    if (mc_conf_duration(conf, "client_ttl", MC_MEMBER_DEFAULT_TTL_NS, &ttl) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    member_master_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    mc_env_bind(env, &mm_handlers, n);
    mc_member_master_init(&n->mm, env, ttl, NULL);
    mc_env_tracef(env, "master.start", "ttl_ms=%llu", (unsigned long long)(ttl / MC_NS_PER_MS));
    return n;
}

static void mm_destroy(void *node)
{
    member_master_node_t *n = node;
    mc_member_master_destroy(&n->mm);
    mc_free(n);
}

const mc_role_t mc_role_member_master = {
    .name = "member_master",
    .help = "membership master: addr (listen), client_ttl (default 10s)",
    .create = mm_create,
    .destroy = mm_destroy,
};

/* ---- member_client ---- */

typedef struct member_client_node {
    mc_env_t *env;
    mc_member_agent_t agent;
} member_client_node_t;

static void mc_on_up(void *node, mc_conn_t conn)
{
    member_client_node_t *n = node;
    mc_member_agent_on_up(&n->agent, conn);
}

static void mc_on_down(void *node, mc_conn_t conn, mc_status_t why)
{
    member_client_node_t *n = node;
    mc_member_agent_on_down(&n->agent, conn, why);
}

static void mc_on_accept(void *node, mc_conn_t conn, const char *peer)
{
    member_client_node_t *n = node;
    (void)peer;
    n->env->ops->conn_close(n->env, conn); /* a pure member client serves nothing */
}

static void mc_on_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    member_client_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (mc_rpc_open_frame(n->env, conn, frame, len, "client", false, &hdr, &body) &&
        !mc_member_agent_on_frame(&n->agent, conn, &hdr, &body))
        mc_rpc_unexpected(n->env, "client", &hdr);
}

static const mc_env_handlers_t mc_handlers = {
    .on_conn_up = mc_on_up,
    .on_conn_accept = mc_on_accept,
    .on_conn_down = mc_on_down,
    .on_msg = mc_on_msg,
    .on_xfer_done = mm_on_xfer,
};

static void *mc_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    uint64_t interval;
    const char *master = mc_conf_get(conf, "master");
    if (!master) {
        snprintf(err, errlen, "key 'master': required (master address)");
        return NULL;
    }
    if (mc_conf_duration(conf, "ping_interval", MC_NS_PER_S, &interval) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    member_client_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    mc_env_bind(env, &mc_handlers, n);
    mc_member_agent_init(&n->agent, env, master, env->node_name, interval, NULL);
    mc_env_tracef(env, "client.start", "client=%s", env->node_name);
    return n;
}

static void mc_destroy(void *node)
{
    member_client_node_t *n = node;
    mc_member_agent_destroy(&n->agent);
    mc_free(n);
}

const mc_role_t mc_role_member_client = {
    .name = "member_client",
    .help = "membership client: master (address), ping_interval (default 1s)",
    .create = mc_create,
    .destroy = mc_destroy,
};
