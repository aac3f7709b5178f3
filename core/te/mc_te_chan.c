#include "mc_te_chan.h"

#include "../base/mc_mem.h"

/* Wraps a caller's callback to notice timeouts (see the header). */
typedef struct te_chan_wrap {
    mc_te_chan_t *chan;
    mc_rpc_cb cb;
    void *arg;
} te_chan_wrap_t;

typedef struct te_chan_call {
    mc_wbuf_t frame;
    mc_rpc_cb cb;
    void *arg;
} te_chan_call_t;

static void fail_queue(mc_te_chan_t *c)
{
    mc_vec_t q = c->queue;
    mc_vec_init(&c->queue, sizeof(te_chan_call_t *));
    for (size_t i = 0; i < q.len; i++) {
        te_chan_call_t *x = *MC_VEC_AT(&q, te_chan_call_t *, i);
        mc_rpc_cb cb = x->cb;
        void *arg = x->arg;
        mc_wbuf_free(&x->frame);
        mc_free(x);
        cb(arg, MC_RPC_FAIL, NULL, NULL);
    }
    mc_vec_free(&q);
}

static void fail_fire(void *arg)
{
    mc_te_chan_t *c = arg;
    c->fail_timer = 0;
    if (c->rpc.state == MC_RPC_DOWN)
        fail_queue(c);
}

static void reset_fire(void *arg)
{
    mc_te_chan_t *c = arg;
    c->reset_timer = 0;
    if (c->rpc.state == MC_RPC_UP)
        mc_rpc_chan_close(&c->rpc);
}

static void wrap_done(void *arg, mc_status_t st, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    te_chan_wrap_t *w = arg;
    mc_te_chan_t *c = w->chan;
    mc_rpc_cb cb = w->cb;
    void *cb_arg = w->arg;
    mc_free(w);
    /* Only a timeout comes from the channel's own timer while it is alive;
     * FAIL may come from destroy, when c must not be touched. */
    if (st == MC_RPC_TIMEOUT && !c->reset_timer)
        c->reset_timer = mc_env_timer(c->env, 0, reset_fire, c);
    cb(cb_arg, st, hdr, body);
}

static void flush(mc_te_chan_t *c)
{
    if (c->rpc.state == MC_RPC_UP) {
        mc_vec_t q = c->queue;
        mc_vec_init(&c->queue, sizeof(te_chan_call_t *));
        for (size_t i = 0; i < q.len; i++) {
            te_chan_call_t *x = *MC_VEC_AT(&q, te_chan_call_t *, i);
            mc_rpc_call(&c->rpc, &x->frame, c->timeout_ns, x->cb, x->arg);
            mc_wbuf_free(&x->frame);
            mc_free(x);
        }
        mc_vec_free(&q);
        return;
    }
    if (c->rpc.state == MC_RPC_DOWN) {
        mc_rpc_chan_connect(&c->rpc);
        /* conn_open refused synchronously: fail from a timer, never inside the call. */
        if (c->rpc.state == MC_RPC_DOWN && !c->fail_timer)
            c->fail_timer = mc_env_timer(c->env, 0, fail_fire, c);
    }
}

static void on_state(void *owner, mc_rpc_state_t state, mc_status_t why)
{
    mc_te_chan_t *c = owner;
    (void)why;
    if (state == MC_RPC_UP)
        flush(c);
    else if (state == MC_RPC_DOWN)
        fail_queue(c);
}

void mc_te_chan_init(mc_te_chan_t *c, mc_env_t *env, const char *addr, uint64_t timeout_ns)
{
    c->env = env;
    c->timeout_ns = timeout_ns;
    c->fail_timer = 0;
    c->reset_timer = 0;
    mc_vec_init(&c->queue, sizeof(te_chan_call_t *));
    mc_rpc_chan_init(&c->rpc, env, addr, on_state, c);
}

void mc_te_chan_destroy(mc_te_chan_t *c)
{
    mc_env_timer_cancel(c->env, &c->fail_timer);
    mc_env_timer_cancel(c->env, &c->reset_timer);
    mc_rpc_chan_destroy(&c->rpc);
    fail_queue(c);
    mc_vec_free(&c->queue);
}

void mc_te_chan_call(mc_te_chan_t *c, const mc_wbuf_t *frame, mc_rpc_cb cb, void *arg)
{
    te_chan_call_t *x = mc_calloc(1, sizeof *x);
    mc_wbuf_init(&x->frame);
    mc_wbuf_put(&x->frame, frame->data, frame->len);
    te_chan_wrap_t *w = mc_calloc(1, sizeof *w);
    w->chan = c;
    w->cb = cb;
    w->arg = arg;
    x->cb = wrap_done;
    x->arg = w;
    *(te_chan_call_t **)mc_vec_push(&c->queue) = x;
    flush(c);
}

bool mc_te_chan_on_up(mc_te_chan_t *c, mc_conn_t conn) { return mc_rpc_chan_on_up(&c->rpc, conn); }
bool mc_te_chan_on_down(mc_te_chan_t *c, mc_conn_t conn, mc_status_t why)
{
    return mc_rpc_chan_on_down(&c->rpc, conn, why);
}
bool mc_te_chan_on_frame(mc_te_chan_t *c, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    return mc_rpc_chan_on_frame(&c->rpc, conn, hdr, body);
}
