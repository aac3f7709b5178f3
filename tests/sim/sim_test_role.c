#include "sim_test_role.h"

#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"

static void on_up(void *node, mc_conn_t c)
{
    echo_node_t *e = node;
    e->ups++;
    mc_env_tracef(e->env, "echo.up", "conn=%llu", (unsigned long long)c);
    static const uint8_t hello[] = "hello";
    e->env->ops->conn_send(e->env, c, hello, sizeof hello);
}

static void on_accept(void *node, mc_conn_t c, const char *peer)
{
    echo_node_t *e = node;
    e->accepts++;
    e->in = c;
    mc_env_tracef(e->env, "echo.accept", "peer=%s", peer);
}

static void on_down(void *node, mc_conn_t c, mc_status_t why)
{
    echo_node_t *e = node;
    e->downs++;
    e->last_down = why;
    if (c == e->out)
        e->out = 0;
    mc_env_tracef(e->env, "echo.down", "why=%s", mc_status_name(why));
}

static void on_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    echo_node_t *e = node;
    e->msgs++;
    e->last_msg_ns = e->env->ops->now_ns(e->env);
    if (len && e->nfirsts < (int)sizeof e->firsts)
        e->firsts[e->nfirsts++] = frame[0];
    mc_env_tracef(e->env, "echo.msg", "len=%zu", len);
    if (e->echo)
        e->env->ops->conn_send(e->env, c, frame, len);
}

static void on_xfer(void *node, uint64_t tag, mc_status_t st)
{
    echo_node_t *e = node;
    e->xfers++;
    e->last_xfer = st;
    e->last_xfer_tag = tag;
    mc_env_tracef(e->env, "echo.xfer", "tag=%llu status=%s", (unsigned long long)tag, mc_status_name(st));
}

static const mc_env_handlers_t handlers = {
    .on_conn_up = on_up,
    .on_conn_accept = on_accept,
    .on_conn_down = on_down,
    .on_msg = on_msg,
    .on_xfer_done = on_xfer,
};

static void *create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    const char *addr = mc_conf_get(conf, "addr");
    if (mc_conf_get(conf, "fail")) {
        snprintf(err, errlen, "key 'fail': asked to fail");
        return NULL;
    }
    echo_node_t *e = mc_calloc(1, sizeof *e);
    e->env = env;
    e->echo = strcmp(mc_conf_str(conf, "echo", "0"), "1") == 0;
    mc_env_bind(env, &handlers, e);
    env->ops->listen(env, addr);
    const char *peer = mc_conf_get(conf, "peer");
    if (peer)
        env->ops->conn_open(env, peer, &e->out);
    return e;
}

static void destroy(void *node) { mc_free(node); }

static mc_status_t command(void *node, const char *cmd, const mc_conf_t *args)
{
    echo_node_t *e = node;
    if (strcmp(cmd, "send") == 0 && e->out) {
        static const uint8_t x[] = "cmd";
        return e->env->ops->conn_send(e->env, e->out, x, sizeof x);
    }
    return MC_INVALID_PARAMS;
}

static bool check(void *node, char *err, size_t errlen)
{
    echo_node_t *e = node;
    if (e->broken)
        snprintf(err, errlen, "broken on purpose");
    return !e->broken;
}

const mc_role_t sim_test_echo_role = {
    .name = "test_echo",
    .help = "test role: peer=<addr> echo=0|1",
    .create = create,
    .destroy = destroy,
    .command = command,
    .check = check,
};
