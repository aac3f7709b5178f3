#include "mc_member_agent.h"

#include <string.h>

#include "../base/mc_mem.h"

#define AGENT_MAX_FAILURES 3

static void tick(void *arg);
static void send_ping(mc_member_agent_t *a);

static void on_chan_state(void *owner, mc_rpc_state_t st, mc_status_t why)
{
    mc_member_agent_t *a = owner;
    if (st == MC_RPC_UP) {
        a->failures = 0;
        mc_env_tracef(a->env, "client.connected", "master=%s", a->chan.addr);
        send_ping(a);
    } else if (st == MC_RPC_DOWN) {
        a->healthy = false;
        a->registered = false;
        mc_env_tracef(a->env, "client.master_lost", "why=%s", mc_status_name(why));
    }
}

void mc_member_agent_init(mc_member_agent_t *a, mc_env_t *env, const char *master_addr,
                          const char *name, uint64_t interval_ns, const mc_member_agent_hooks_t *hooks)
{
    memset(a, 0, sizeof *a);
    a->env = env;
    a->id.hi = mc_env_rand(env);
    a->id.lo = mc_env_rand(env);
    a->name = mc_strdup(name);
    a->interval_ns = interval_ns ? interval_ns : MC_NS_PER_S;
    a->max_failures = AGENT_MAX_FAILURES;
    if (hooks)
        a->hooks = *hooks;
    mc_wbuf_init(&a->out);
    mc_rpc_chan_init(&a->chan, env, master_addr, on_chan_state, a);
    mc_rpc_chan_connect(&a->chan);
    a->tick = mc_env_timer(env, a->interval_ns, tick, a);
}

void mc_member_agent_destroy(mc_member_agent_t *a)
{
    mc_env_timer_cancel(a->env, &a->tick);
    mc_rpc_chan_destroy(&a->chan);
    mc_wbuf_free(&a->out);
    mc_free(a->name);
}

void mc_member_agent_registered(mc_member_agent_t *a, bool ok, uint64_t view_version)
{
    a->registering = false;
    a->registered = ok;
    if (ok) {
        a->view_version = view_version;
        mc_env_tracef(a->env, "client.registered", "client=%s", a->name);
    }
}

static void on_register_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_member_agent_t *a = arg;
    mc_msg_register_reply_t rep = {0};
    if (s == MC_OK && mc_msg_register_reply_decode(body, &rep) != MC_OK)
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    if (s != MC_OK)
        mc_env_logf(a->env, MC_LOG_WARN, "member", "register failed: %s", mc_status_name(s));
    mc_member_agent_registered(a, s == MC_OK, rep.view_version);
}

static void start_register(mc_member_agent_t *a)
{
    if (a->registering)
        return;
    a->registering = true;
    mc_env_tracef(a->env, "client.need_remount", "client=%s", a->name);
    if (a->hooks.on_need_remount) {
        a->hooks.on_need_remount(a->hooks.ctx);
        return;
    }
    mc_msg_register_t req = {.client = a->id, .name = mc_slice_cstr(a->name)};
    mc_msg_register_encode(&a->out, mc_rpc_next_id(&a->chan), &req);
    mc_rpc_call(&a->chan, &a->out, a->interval_ns * a->max_failures, on_register_reply, a);
}

static void on_ping_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_member_agent_t *a = arg;
    a->ping_inflight = false;
    mc_msg_ping_reply_t rep;
    if (s == MC_OK && mc_msg_ping_reply_decode(body, &rep) != MC_OK)
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    if (s != MC_OK) {
        a->healthy = false;
        a->failures++;
        mc_env_tracef(a->env, "client.ping_failed", "count=%u why=%s", a->failures, mc_status_name(s));
        if (a->failures >= a->max_failures && a->chan.state != MC_RPC_DOWN) {
            mc_env_tracef(a->env, "client.reconnect", "failures=%u", a->failures);
            mc_rpc_chan_close(&a->chan);
            a->registered = false;
            a->failures = 0;
            mc_rpc_chan_connect(&a->chan);
        }
        return;
    }
    a->failures = 0;
    a->healthy = true;
    if (a->view_version && rep.view_version != a->view_version)
        mc_env_tracef(a->env, "client.view_changed", "client=%s", a->name);
    if (rep.client_status == MC_CLIENT_STATUS_NEED_REMOUNT) {
        a->registered = false;
        start_register(a);
    } else if (!a->registered && !a->registering) {
        /* The master's view wins: our REGISTER reached it even though its
         * reply was lost (found by swarm seed 158). */
        mc_member_agent_registered(a, true, rep.view_version);
    }
}

static void send_ping(mc_member_agent_t *a)
{
    if (a->ping_inflight || a->chan.state != MC_RPC_UP)
        return;
    mc_msg_ping_t req = {.client = a->id, .name = mc_slice_cstr(a->name), .seq = ++a->ping_seq};
    mc_msg_ping_encode(&a->out, mc_rpc_next_id(&a->chan), &req);
    a->ping_inflight = true;
    /* A reply slower than one interval counts as a failed ping. */
    mc_rpc_call(&a->chan, &a->out, a->interval_ns, on_ping_reply, a);
}

static void tick(void *arg)
{
    mc_member_agent_t *a = arg;
    if (a->chan.state == MC_RPC_DOWN)
        mc_rpc_chan_connect(&a->chan);
    else
        send_ping(a);
    a->tick = mc_env_timer(a->env, a->interval_ns, tick, a);
}

bool mc_member_agent_on_up(mc_member_agent_t *a, mc_conn_t conn)
{
    return mc_rpc_chan_on_up(&a->chan, conn);
}

bool mc_member_agent_on_down(mc_member_agent_t *a, mc_conn_t conn, mc_status_t why)
{
    return mc_rpc_chan_on_down(&a->chan, conn, why);
}

bool mc_member_agent_on_frame(mc_member_agent_t *a, mc_conn_t conn, const mc_wire_hdr_t *hdr,
                              mc_rbuf_t *body)
{
    return mc_rpc_chan_on_frame(&a->chan, conn, hdr, body);
}
