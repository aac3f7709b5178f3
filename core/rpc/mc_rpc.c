#include "mc_rpc.h"

#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"

typedef struct mc_rpc_pending {
    mc_rpc_chan_t *chan;
    uint64_t req_id;
    mc_rpc_cb cb;
    void *arg;
    mc_timer_t timer;
    mc_status_t early; /* set when the call failed before reaching the wire */
} mc_rpc_pending_t;

void mc_rpc_chan_init(mc_rpc_chan_t *c, mc_env_t *env, const char *addr,
                      void (*on_state)(void *owner, mc_rpc_state_t, mc_status_t), void *owner)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->addr = mc_strdup(addr);
    mc_map_init(&c->pending);
    c->on_state = on_state;
    c->owner = owner;
}

static void complete(mc_rpc_pending_t *p, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_rpc_chan_t *c = p->chan;
    mc_map_delu(&c->pending, p->req_id);
    mc_env_timer_cancel(c->env, &p->timer);
    mc_rpc_cb cb = p->cb;
    void *arg = p->arg;
    mc_free(p);
    cb(arg, s, hdr, body);
}

/* Fail every pending call. Collect first: callbacks may issue new calls. */
static void fail_all(mc_rpc_chan_t *c, mc_status_t s)
{
    uint32_t n = mc_map_count(&c->pending);
    if (!n)
        return;
    mc_rpc_pending_t **list = mc_malloc(n * sizeof *list);
    uint32_t k = 0, it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&c->pending, &it, &e))
        list[k++] = e->value;
    MC_ASSERT(k == n);
    for (uint32_t i = 0; i < k; i++)
        complete(list[i], s, NULL, NULL);
    mc_free(list);
}

void mc_rpc_chan_close(mc_rpc_chan_t *c)
{
    if (c->state != MC_RPC_DOWN) {
        c->env->ops->conn_close(c->env, c->conn);
        c->conn = 0;
        c->state = MC_RPC_DOWN;
    }
    fail_all(c, MC_RPC_FAIL);
}

void mc_rpc_chan_destroy(mc_rpc_chan_t *c)
{
    c->on_state = NULL;
    mc_rpc_chan_close(c);
    mc_map_free(&c->pending);
    mc_free(c->addr);
    c->addr = NULL;
}

void mc_rpc_chan_connect(mc_rpc_chan_t *c)
{
    if (c->state != MC_RPC_DOWN)
        return;
    mc_status_t s = c->env->ops->conn_open(c->env, c->addr, &c->conn);
    if (s != MC_OK) {
        /* Report asynchronously-equivalent: the owner sees DOWN and retries. */
        c->conn = 0;
        mc_env_logf(c->env, MC_LOG_WARN, "rpc", "connect to %s failed: %s", c->addr, mc_status_name(s));
        return;
    }
    c->state = MC_RPC_CONNECTING;
}

static void on_timeout(void *arg)
{
    mc_rpc_pending_t *p = arg;
    p->timer = 0;
    complete(p, p->early ? p->early : MC_RPC_TIMEOUT, NULL, NULL);
}

void mc_rpc_call(mc_rpc_chan_t *c, const mc_wbuf_t *frame, uint64_t timeout_ns, mc_rpc_cb cb, void *arg)
{
    mc_wire_hdr_t hdr;
    MC_ASSERT(mc_wire_parse_hdr(frame->data, frame->len, &hdr, NULL) == MC_OK);
    mc_rpc_pending_t *p = mc_calloc(1, sizeof *p);
    p->chan = c;
    p->req_id = hdr.req_id;
    p->cb = cb;
    p->arg = arg;
    MC_ASSERT(mc_map_putu(&c->pending, p->req_id, p) == NULL);
    mc_status_t s = c->state == MC_RPC_UP
                        ? c->env->ops->conn_send(c->env, c->conn, frame->data, frame->len)
                        : MC_RPC_FAIL;
    if (s != MC_OK) {
        /* Keep "callback never inside the call": fail from a zero timer. */
        p->early = s == MC_AGAIN ? MC_RPC_FAIL : s;
        timeout_ns = 0;
    }
    p->timer = mc_env_timer(c->env, timeout_ns, on_timeout, p);
}

bool mc_rpc_chan_on_up(mc_rpc_chan_t *c, mc_conn_t conn)
{
    if (conn != c->conn || c->state != MC_RPC_CONNECTING)
        return false;
    c->state = MC_RPC_UP;
    if (c->on_state)
        c->on_state(c->owner, MC_RPC_UP, MC_OK);
    return true;
}

bool mc_rpc_chan_on_down(mc_rpc_chan_t *c, mc_conn_t conn, mc_status_t why)
{
    if (conn != c->conn || c->state == MC_RPC_DOWN)
        return false;
    c->conn = 0;
    c->state = MC_RPC_DOWN;
    fail_all(c, MC_RPC_FAIL);
    if (c->on_state)
        c->on_state(c->owner, MC_RPC_DOWN, why);
    return true;
}

bool mc_rpc_chan_on_frame(mc_rpc_chan_t *c, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    if (conn != c->conn || !(hdr->flags & MC_WIRE_FLAG_RESPONSE))
        return false;
    mc_rpc_pending_t *p = mc_map_getu(&c->pending, hdr->req_id);
    if (p)
        complete(p, MC_OK, hdr, body);
    /* else: a response after its timeout; drop it. */
    return true;
}

void mc_rpc_reply(mc_env_t *env, mc_conn_t conn, const mc_wbuf_t *frame)
{
    mc_status_t s = env->ops->conn_send(env, conn, frame->data, frame->len);
    if (s != MC_OK)
        mc_env_logf(env, MC_LOG_WARN, "rpc", "reply dropped: %s", mc_status_name(s));
}

bool mc_rpc_open_frame(mc_env_t *env, mc_conn_t conn, const uint8_t *frame, size_t len, const char *component,
                       bool close_bad, mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    const char *why;
    if (mc_wire_open(frame, len, hdr, body, &why) == MC_OK)
        return true;
    mc_env_logf(env, MC_LOG_WARN, component, "bad frame: %s", why);
    if (close_bad)
        env->ops->conn_close(env, conn);
    return false;
}

void mc_rpc_unexpected(mc_env_t *env, const char *component, const mc_wire_hdr_t *hdr)
{
    mc_env_logf(env, MC_LOG_WARN, component, "unexpected message %s", mc_msg_type_name(hdr->type));
}
