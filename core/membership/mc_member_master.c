#include "mc_member_master.h"

#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "../rpc/mc_rpc.h"
#include "../wire/mc_msg_types.h"

static void monitor_tick(void *arg);

void mc_member_master_init(mc_member_master_t *m, mc_env_t *env, uint64_t ttl_ns,
                           const mc_member_hooks_t *hooks)
{
    memset(m, 0, sizeof *m);
    m->env = env;
    m->ttl_ns = ttl_ns ? ttl_ns : MC_MEMBER_DEFAULT_TTL_NS;
    /* A fresh view per master incarnation lets clients notice a restart. */
    m->view_version = mc_env_rand(env) | 1;
    mc_map_init(&m->clients);
    mc_wbuf_init(&m->out);
    if (hooks)
        m->hooks = *hooks;
    m->monitor = mc_env_timer(env, MC_MEMBER_MONITOR_NS, monitor_tick, m);
}

static void client_free(mc_member_client_t *c)
{
    mc_free(c->name);
    mc_free(c);
}

void mc_member_master_destroy(mc_member_master_t *m)
{
    mc_env_timer_cancel(m->env, &m->monitor);
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->clients, &it, &e))
        client_free(e->value);
    mc_map_free(&m->clients);
    mc_wbuf_free(&m->out);
}

const mc_member_client_t *mc_member_master_find(const mc_member_master_t *m, mc_uuid_t id)
{
    return mc_map_get(&m->clients, &id, sizeof id);
}

mc_member_client_t *mc_member_master_touch(mc_member_master_t *m, mc_uuid_t id, mc_slice_t name,
                                           bool registered)
{
    bool inserted;
    void **slot = mc_map_slot(&m->clients, &id, sizeof id, &inserted);
    mc_member_client_t *c = *slot;
    if (inserted) {
        c = mc_calloc(1, sizeof *c);
        c->id = id;
        c->name = mc_slice_dup(name);
        *slot = c;
        mc_env_tracef(m->env, "master.client_seen", "client=%s", c->name);
    }
    c->deadline_ns = mc_env_now(m->env) + m->ttl_ns;
    if (registered && !c->registered) {
        c->registered = true;
        mc_env_tracef(m->env, "master.client_registered", "client=%s", c->name);
    }
    return c;
}

static void handle_ping(mc_member_master_t *m, mc_conn_t conn, uint64_t req_id, mc_rbuf_t *body)
{
    mc_msg_ping_t req;
    if (mc_msg_ping_decode(body, &req) != MC_OK) {
        mc_env_logf(m->env, MC_LOG_WARN, "member", "malformed ping dropped");
        return;
    }
    mc_member_client_t *c = mc_member_master_touch(m, req.client, req.name, false);
    mc_msg_ping_reply_t rep = {
        .status = MC_OK,
        .client_status = c->registered ? MC_CLIENT_STATUS_OK : MC_CLIENT_STATUS_NEED_REMOUNT,
        .view_version = m->view_version,
    };
    mc_msg_ping_reply_encode(&m->out, req_id, &rep);
    mc_rpc_reply(m->env, conn, &m->out);
}

static void handle_register(mc_member_master_t *m, mc_conn_t conn, uint64_t req_id, mc_rbuf_t *body)
{
    mc_msg_register_t req;
    if (mc_msg_register_decode(body, &req) != MC_OK) {
        mc_env_logf(m->env, MC_LOG_WARN, "member", "malformed register dropped");
        return;
    }
    mc_member_master_touch(m, req.client, req.name, true);
    mc_msg_register_reply_t rep = {.status = MC_OK, .view_version = m->view_version};
    mc_msg_register_reply_encode(&m->out, req_id, &rep);
    mc_rpc_reply(m->env, conn, &m->out);
}

bool mc_member_master_on_frame(mc_member_master_t *m, mc_conn_t conn, const mc_wire_hdr_t *hdr,
                               mc_rbuf_t *body)
{
    switch (hdr->type) {
    case MC_MSG_PING:
        handle_ping(m, conn, hdr->req_id, body);
        return true;
    case MC_MSG_REGISTER:
        handle_register(m, conn, hdr->req_id, body);
        return true;
    default:
        return false;
    }
}

static void monitor_tick(void *arg)
{
    mc_member_master_t *m = arg;
    uint64_t now = mc_env_now(m->env);
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&m->clients, &it, &e)) {
        mc_member_client_t *c = e->value;
        if (c->deadline_ns > now)
            continue;
        mc_map_del(&m->clients, &c->id, sizeof c->id); /* safe during iteration */
        m->expired_total++;
        mc_env_tracef(m->env, "master.client_expired", "client=%s", c->name);
        if (m->hooks.on_expired)
            m->hooks.on_expired(m->hooks.ctx, c);
        client_free(c);
    }
    m->monitor = mc_env_timer(m->env, MC_MEMBER_MONITOR_NS, monitor_tick, m);
}
