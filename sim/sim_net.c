/* Virtual network: NICs (serialization, up/down), links (latency, jitter,
 * loss, dup, reorder, one-way cuts) and TCP-shaped connections, on which
 * loss, dup and reorder turn into delay (see sim_net_send).
 *
 * A cut or a down NIC never makes a connection lose or reorder a frame:
 * like a kernel, the sender keeps what the cut ate and retransmits it with
 * exponential backoff, the receiver holds what arrives behind it, and the
 * stream resumes in order at the first retransmission after the heal; a
 * cut that outlasts the retransmission bound resets the connection (see
 * rtx_fire). Core must notice a cut through its own timeouts. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "sim_internal.h"

static mc_conn_t handle_of(const sim_conn_t *c, int side) { return 2 * c->k + (uint64_t)side; }

#define SIM_TCP_RTO_MIN_NS (200 * MC_NS_PER_MS)
#define SIM_TCP_RETRIES 6
#define SIM_FRAME_FIN 1 /* ev->status of a FIN that waits in its stream */

/* Retransmission timeout: >= 200 ms like Linux, plus a round trip. */
static uint64_t tcp_rto(const mc_sim_t *s)
{
    return SIM_TCP_RTO_MIN_NS + 2 * s->net.latency_ns + s->net.jitter_ns;
}

/* ---- links and NICs ---- */

void sim_net_resize_cut(mc_sim_t *s)
{
    uint32_t n = s->nnodes;
    uint8_t *cut = mc_calloc((size_t)n * n, 1);
    for (uint32_t a = 0; a < s->cut_n; a++)
        memcpy(cut + (size_t)a * n, s->cut + (size_t)a * s->cut_n, s->cut_n);
    mc_free(s->cut);
    s->cut = cut;
    s->cut_n = n;
}

int sim_net_ctl_nic(const sim_node_t *n)
{
    for (uint32_t i = 0; i < n->nnics; i++)
        if (!n->nics[i].down)
            return (int)i;
    return -1;
}

bool sim_net_blocked(const mc_sim_t *s, uint32_t a, uint32_t b)
{
    if (s->any_cut && s->cut[(size_t)a * s->cut_n + b])
        return true;
    return sim_net_ctl_nic(s->nodes[a]) < 0 || sim_net_ctl_nic(s->nodes[b]) < 0;
}

void sim_net_partition(mc_sim_t *s, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                       bool oneway)
{
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            if (a[i] == b[j])
                continue;
            s->cut[(size_t)a[i] * s->cut_n + b[j]] = 1;
            if (!oneway)
                s->cut[(size_t)b[j] * s->cut_n + a[i]] = 1;
            s->any_cut = true;
        }
}

void sim_net_heal(mc_sim_t *s)
{
    memset(s->cut, 0, (size_t)s->cut_n * s->cut_n);
    s->any_cut = false;
}

/* Frames leave a NIC one after another (bandwidth), then fly for latency
 * plus jitter. Returns the delay from now until arrival. */
uint64_t sim_net_delay(mc_sim_t *s, sim_node_t *a, uint32_t nic, uint64_t len)
{
    MC_ASSERT(nic < a->nnics);
    sim_nic_t *x = &a->nics[nic];
    uint64_t start = x->tx_free_ns > s->now ? x->tx_free_ns : s->now;
    uint64_t ser = 0;
    if (s->net.bandwidth_bps)
        ser = (uint64_t)((double)len * 8e9 / (double)s->net.bandwidth_bps);
    x->tx_free_ns = start + ser;
    uint64_t jit = s->net.jitter_ns ? mc_rng_below(&a->rng_net, s->net.jitter_ns + 1) : 0;
    return (start - s->now) + ser + s->net.latency_ns + jit;
}

/* ---- connections ---- */

static sim_conn_t *conn_lookup(const mc_sim_t *s, mc_conn_t h, int *side)
{
    sim_conn_t *c = mc_map_getu(&s->conns, h >> 1);
    *side = (int)(h & 1);
    return c;
}

static void conn_maybe_free(mc_sim_t *s, sim_conn_t *c)
{
    if (c->refs || c->open[0] || c->open[1])
        return;
    mc_map_delu(&s->conns, c->k);
    mc_free(c);
}

void sim_conn_unref(mc_sim_t *s, sim_conn_t *c)
{
    MC_ASSERT(c->refs > 0);
    c->refs--;
    conn_maybe_free(s, c);
}

/* ---- frames parked off the queue (lost in a cut, or behind a lost one) ---- */

/* Park ev in l in seq order; frames mostly come in order: scan from the back. */
static void hold(mc_list_t *l, sim_ev_t *ev)
{
    mc_list_t *pos = l->prev;
    while (pos != l && mc_container_of(pos, sim_ev_t, dlink)->seq > ev->seq)
        pos = pos->prev;
    ev->where = SIM_WHERE_HELD;
    mc_list_insert_after(pos, &ev->dlink);
}

static sim_ev_t *unhold(mc_list_t *l)
{
    if (mc_list_empty(l))
        return NULL;
    sim_ev_t *ev = mc_container_of(l->next, sim_ev_t, dlink);
    mc_list_del(&ev->dlink);
    return ev;
}

static void drop_held(mc_sim_t *s, mc_list_t *l)
{
    sim_ev_t *ev;
    while ((ev = unhold(l)) != NULL)
        sim_ev_release(s, ev);
}

static void close_side(mc_sim_t *s, sim_conn_t *c, int side)
{
    if (!c->open[side])
        return;
    c->open[side] = false;
    mc_list_del(&c->end[side].link);
    drop_held(s, &c->ooo[side ^ 1]); /* nobody will read them */
    if (!c->open[0] && !c->open[1])
        c->state = SIM_CONN_DEAD;
}

static void open_side(mc_sim_t *s, sim_conn_t *c, int side, sim_node_t *n)
{
    c->node[side] = n->id;
    c->inc[side] = n->inc;
    c->open[side] = true;
    c->end[side].c = c;
    c->end[side].side = (uint8_t)side;
    mc_list_push_back(&n->conns, &c->end[side].link);
    (void)s;
}

/* Schedule a conn event for side `side` of c at time t. */
static sim_ev_t *conn_ev(mc_sim_t *s, sim_conn_t *c, uint8_t kind, int side, uint64_t t)
{
    sim_ev_t *ev = sim_ev_new(s, kind, c->node[side], kind == SIM_EV_SYN ? SIM_ANY_INC : c->inc[side]);
    ev->u.conn = c;
    ev->side = (uint8_t)side;
    c->refs++;
    sim_ev_push(s, ev, t);
    return ev;
}

static void conn_down_at(mc_sim_t *s, sim_conn_t *c, int side, mc_status_t why, uint64_t t)
{
    sim_ev_t *ev = conn_ev(s, c, SIM_EV_CONN_DOWN, side, t);
    ev->status = why;
}

/* Delay of a small control segment (SYN, FIN, RST) from node a. */
static uint64_t ctl_delay(mc_sim_t *s, sim_node_t *a)
{
    int nic = sim_net_ctl_nic(a);
    return sim_net_delay(s, a, nic < 0 ? 0 : (uint32_t)nic, 64);
}

static sim_node_t *caller(mc_env_t *env) { return env->impl; }

mc_status_t sim_net_listen(mc_env_t *env, const char *addr)
{
    sim_node_t *n = caller(env);
    mc_sim_t *s = n->sim;
    if (n->state != SIM_NODE_UP || n->dying || !addr || !*addr)
        return MC_INVALID_PARAMS;
    uintptr_t cur = (uintptr_t)mc_map_gets(&s->listen, addr);
    if (cur == n->id + 1)
        return MC_OK;
    if (cur)
        return MC_INVALID_PARAMS; /* EADDRINUSE */
    mc_map_puts(&s->listen, addr, (void *)(uintptr_t)(n->id + 1));
    *(char **)mc_vec_push(&n->listens) = mc_strdup(addr);
    return MC_OK;
}

mc_status_t sim_net_open(mc_env_t *env, const char *addr, mc_conn_t *out)
{
    sim_node_t *a = caller(env);
    mc_sim_t *s = a->sim;
    *out = 0;
    if (a->state != SIM_NODE_UP || a->dying || !addr)
        return MC_RPC_FAIL;
    sim_conn_t *c = mc_calloc(1, sizeof *c);
    c->k = ++s->next_conn;
    c->state = SIM_CONN_CONNECTING;
    c->open_ns = s->now;
    c->node[1] = SIM_NONE;
    for (int d = 0; d < 2; d++) {
        mc_list_init(&c->lost[d]);
        mc_list_init(&c->ooo[d]);
        c->end[d].c = c; /* the retransmission timer's argument */
        c->end[d].side = (uint8_t)d;
    }
    mc_map_putu(&s->conns, c->k, c);
    open_side(s, c, 0, a);
    *out = handle_of(c, 0);

    uintptr_t lid = (uintptr_t)mc_map_gets(&s->listen, addr);
    if (!lid) {
        /* Nobody listens: refused after a round trip (RST). */
        conn_down_at(s, c, 0, MC_RPC_FAIL, s->now + 2 * s->net.latency_ns);
        return MC_OK;
    }
    sim_node_t *b = s->nodes[lid - 1];
    c->node[1] = b->id;
    c->inc[1] = b->inc;
    if (sim_net_blocked(s, a->id, b->id) || sim_net_blocked(s, b->id, a->id)) {
        /* SYNs vanish into the cut: connect times out. */
        conn_down_at(s, c, 0, MC_RPC_FAIL, s->now + s->cfg.conn_timeout_ns);
        return MC_OK;
    }
    uint64_t t = s->now + ctl_delay(s, a);
    c->last_arrival[0] = t;
    conn_ev(s, c, SIM_EV_SYN, 1, t);
    return MC_OK;
}

/* TCP never hands the application a lost, duplicated or reordered frame:
 * the kernel retransmits, drops copies and reassembles. On a connection the
 * network model's raw-frame faults therefore only cost time:
 *  - loss: the segment is resent after the retransmission timeout, which
 *    doubles per consecutive loss (RTO >= 200 ms, like Linux); after
 *    SIM_TCP_RETRIES losses in a row the sender gives up and the connection
 *    is reset (both sides see on_conn_down(RPC_FAIL), like ETIMEDOUT);
 *  - reorder: the segment took a slower path (up to one more latency plus
 *    jitter); the receiver holds everything behind it (head-of-line);
 *  - dup: the receiver drops the copy; it only occupies the sender's NIC.
 * Frames stay FIFO per direction. The draws are made only for a nonzero
 * probability, so runs without these faults keep their trace hashes. */

/* Retransmission delay of a frame sent now; false when the sender gives up
 * (then *extra is when it does). */
static bool tcp_retransmit(mc_sim_t *s, sim_node_t *a, uint64_t *extra)
{
    uint64_t rto = tcp_rto(s);
    *extra = 0;
    for (int tries = 0; s->net.loss > 0 && mc_rng_chance(&a->rng_net, s->net.loss); tries++) {
        *extra += rto << tries;
        if (tries + 1 >= SIM_TCP_RETRIES)
            return false;
    }
    return true;
}

/* The sender's kernel gives up at t: it reports the error to its side and
 * its RST reaches the peer a delay later; the stream behind is lost. */
static void tcp_give_up(mc_sim_t *s, sim_conn_t *c, int side, sim_node_t *a, uint64_t t)
{
    c->gave_up[side] = true;
    conn_down_at(s, c, side, MC_RPC_FAIL, t);
    conn_down_at(s, c, side ^ 1, MC_RPC_FAIL, t + ctl_delay(s, a));
}

/* A frame from `side` to its peer, numbered in its stream, not yet queued. */
static sim_ev_t *frame_new(mc_sim_t *s, sim_conn_t *c, int side, const uint8_t *frame, size_t len,
                           int32_t flags)
{
    sim_ev_t *ev = sim_ev_new(s, SIM_EV_MSG, c->node[side ^ 1], c->inc[side ^ 1]);
    ev->u.conn = c;
    ev->side = (uint8_t)(side ^ 1);
    ev->len = (uint32_t)len;
    ev->status = flags;
    ev->seq = c->next_seq[side]++;
    ev->buf = len <= SIM_INLINE ? ev->inline_buf : mc_malloc(len);
    if (len)
        memcpy(ev->buf, frame, len);
    c->refs++;
    c->queued[side] += len;
    return ev;
}

/* ---- cuts: retransmission with backoff ---- */

static void rtx_fire(mc_sim_t *s, void *arg);

static void rtx_arm(mc_sim_t *s, sim_conn_t *c, int d, uint64_t t)
{
    if (c->rtx_armed[d])
        return;
    c->rtx_armed[d] = true;
    c->refs++;
    mc_sim_at_call(s, t, rtx_fire, &c->end[d]);
}

/* The cut ate ev (from side d): the sender keeps it for the RTO. */
static void frame_lost(mc_sim_t *s, sim_conn_t *c, int d, sim_ev_t *ev)
{
    hold(&c->lost[d], ev);
    rtx_arm(s, c, d, s->now + tcp_rto(s));
}

/* Resend everything side d lost, in order, behind what is in flight. */
static void rtx_resend(mc_sim_t *s, sim_conn_t *c, int d, sim_node_t *a)
{
    int nic = sim_net_ctl_nic(a);
    MC_ASSERT(nic >= 0);
    sim_ev_t *ev;
    while ((ev = unhold(&c->lost[d])) != NULL) {
        uint64_t t = s->now + sim_net_delay(s, a, (uint32_t)nic, ev->len ? ev->len : 64);
        if (t < c->last_arrival[d])
            t = c->last_arrival[d];
        c->last_arrival[d] = t;
        sim_ev_push(s, ev, t);
    }
}

/* Side d's retransmission timer. Lost frames are resent when the way is
 * open; an attempt counts as failed when the way there (frames) or back
 * (ACKs) is cut. Backoff doubles per failure; like the loss model, the 6th
 * lost transmission in a row (the original and 5 retransmissions) makes
 * the sender give up 63 RTOs after the first: both sides are reset. */
static void rtx_fire(mc_sim_t *s, void *arg)
{
    struct sim_conn_end *e = arg;
    sim_conn_t *c = e->c;
    int d = e->side, r = d ^ 1;
    sim_node_t *a = s->nodes[c->node[d]];
    c->rtx_armed[d] = false;
    bool alive = a->state == SIM_NODE_UP && a->inc == c->inc[d] && !c->gave_up[d] &&
                 c->state != SIM_CONN_DEAD && (c->state == SIM_CONN_CONNECTING || c->open[r]);
    if (!alive || (mc_list_empty(&c->lost[d]) && !c->ack_lost[d])) {
        drop_held(s, &c->lost[d]); /* the sender's kernel or the reader is gone */
        c->ack_lost[d] = false;
        c->rtx_tries[d] = 0;
        goto out;
    }
    /* Not accepted yet (SYN still in flight): nobody to deliver to. */
    bool fwd = c->state == SIM_CONN_CONNECTING || sim_net_blocked(s, a->id, c->node[r]);
    bool back = !fwd && sim_net_blocked(s, c->node[r], a->id);
    if (!fwd)
        rtx_resend(s, c, d, a);
    if (!fwd && !back) {
        c->rtx_tries[d] = 0;
        c->ack_lost[d] = false;
        goto out;
    }
    c->rtx_tries[d]++;
    uint64_t next = s->now + (tcp_rto(s) << c->rtx_tries[d]);
    if (c->rtx_tries[d] + 1 >= SIM_TCP_RETRIES) {
        tcp_give_up(s, c, d, a, next);
        drop_held(s, &c->lost[d]);
        c->ack_lost[d] = false;
    } else {
        rtx_arm(s, c, d, next);
    }
out:
    sim_conn_unref(s, c);
}

mc_status_t sim_net_send(mc_env_t *env, mc_conn_t h, const uint8_t *frame, size_t len)
{
    sim_node_t *a = caller(env);
    mc_sim_t *s = a->sim;
    int side;
    sim_conn_t *c = conn_lookup(s, h, &side);
    if (!c || !c->open[side] || c->node[side] != a->id || c->inc[side] != a->inc || a->dying)
        return MC_RPC_FAIL;
    if (c->queued[side] + len > MC_SIM_SEND_QUEUE_MAX)
        return MC_AGAIN;
    uint32_t peer = c->node[side ^ 1];
    if (peer == SIM_NONE || c->gave_up[side])
        return MC_OK; /* nobody at the other end, or behind a stream being reset */
    if (sim_net_blocked(s, a->id, peer)) {
        frame_lost(s, c, side, frame_new(s, c, side, frame, len, 0));
        return MC_OK;
    }
    int nic = sim_net_ctl_nic(a);
    uint64_t extra;
    if (!tcp_retransmit(s, a, &extra)) {
        uint64_t t = s->now + extra;
        tcp_give_up(s, c, side, a, t > c->last_arrival[side] ? t : c->last_arrival[side]);
        return MC_OK;
    }
    uint64_t t = s->now + sim_net_delay(s, a, (uint32_t)nic, len) + extra;
    if (s->net.reorder > 0 && mc_rng_chance(&a->rng_net, s->net.reorder))
        t += mc_rng_below(&a->rng_net, s->net.latency_ns + s->net.jitter_ns + 1);
    if (s->net.dup > 0 && mc_rng_chance(&a->rng_net, s->net.dup))
        (void)sim_net_delay(s, a, (uint32_t)nic, len); /* the copy's wire time */
    if (t < c->last_arrival[side])
        t = c->last_arrival[side];
    c->last_arrival[side] = t;
    sim_ev_push(s, frame_new(s, c, side, frame, len, 0), t);
    return MC_OK;
}

void sim_net_close(mc_env_t *env, mc_conn_t h)
{
    sim_node_t *a = caller(env);
    mc_sim_t *s = a->sim;
    int side;
    sim_conn_t *c = conn_lookup(s, h, &side);
    if (!c || !c->open[side] || c->node[side] != a->id || c->inc[side] != a->inc || a->dying)
        return;
    close_side(s, c, side);
    int o = side ^ 1;
    if (c->open[o] && !c->gave_up[side] &&
        (sim_net_blocked(s, a->id, c->node[o]) || !mc_list_empty(&c->lost[side]))) {
        /* The FIN waits in the stream, behind what the cut ate. */
        frame_lost(s, c, side, frame_new(s, c, side, NULL, 0, SIM_FRAME_FIN));
    } else if (c->open[o] && !c->gave_up[side]) {
        /* FIN travels behind the data already in flight. */
        uint64_t t = s->now + ctl_delay(s, a);
        if (t < c->last_arrival[side])
            t = c->last_arrival[side];
        conn_down_at(s, c, o, MC_OK, t);
    }
    conn_maybe_free(s, c);
}

/* A crashed process: the kernel resets its connections (peers learn after
 * a latency unless a cut eats the RST) and its listening sockets vanish. */
void sim_net_node_down(mc_sim_t *s, sim_node_t *n)
{
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &n->conns) {
        struct sim_conn_end *e = mc_container_of(pos, struct sim_conn_end, link);
        sim_conn_t *c = e->c;
        int side = e->side, o = side ^ 1;
        close_side(s, c, side);
        if (c->open[o] && !c->gave_up[side] && !sim_net_blocked(s, n->id, c->node[o])) {
            uint64_t t = s->now + ctl_delay(s, n);
            if (t < c->last_arrival[side])
                t = c->last_arrival[side];
            conn_down_at(s, c, o, MC_RPC_FAIL, t);
        }
        conn_maybe_free(s, c);
    }
    for (size_t i = 0; i < n->listens.len; i++) {
        char *addr = *MC_VEC_AT(&n->listens, char *, i);
        if ((uintptr_t)mc_map_gets(&s->listen, addr) == n->id + 1)
            mc_map_dels(&s->listen, addr);
        mc_free(addr);
    }
    mc_vec_clear(&n->listens);
}

/* When the opener gives up on SYNs lost in a cut. */
static uint64_t connect_deadline(const mc_sim_t *s, const sim_conn_t *c)
{
    uint64_t t = c->open_ns + s->cfg.conn_timeout_ns;
    return t > s->now ? t : s->now;
}

static void on_syn(mc_sim_t *s, sim_conn_t *c, sim_node_t *b)
{
    if (!c->open[0])
        return; /* the opener gave up or died meanwhile */
    sim_node_t *a = s->nodes[c->node[0]];
    if (sim_net_blocked(s, a->id, b->id)) {
        /* cut while the SYN flew: it is lost and the connect times out */
        conn_down_at(s, c, 0, MC_RPC_FAIL, connect_deadline(s, c));
        return;
    }
    bool back_cut = sim_net_blocked(s, b->id, a->id);
    if (b->state != SIM_NODE_UP || b->listens.len == 0) {
        /* refused: RST back, unless the way back is cut */
        conn_down_at(s, c, 0, MC_RPC_FAIL, back_cut ? connect_deadline(s, c) : s->now + ctl_delay(s, b));
        return;
    }
    if (back_cut) {
        /* SYN-ACK lost: the opener times out; the listener never saw it. */
        conn_down_at(s, c, 0, MC_RPC_FAIL, connect_deadline(s, c));
        return;
    }
    open_side(s, c, 1, b);
    c->state = SIM_CONN_UP;
    /* Schedule conn_up before the accept upcall so that anything the
     * acceptor sends from inside it arrives after on_conn_up. */
    uint64_t t = s->now + ctl_delay(s, b);
    c->last_arrival[1] = t;
    conn_ev(s, c, SIM_EV_CONN_UP, 0, t);
    if (b->paused) {
        /* SIGSTOPped: the kernel completes the handshake; the process sees
         * the accept on resume, before any frame that arrived after it. */
        sim_ev_t *ev = sim_ev_new(s, SIM_EV_ACCEPT, b->id, b->inc);
        ev->u.conn = c;
        ev->side = 1;
        c->refs++;
        sim_ev_defer(s, ev, b);
        return;
    }
    if (b->env.h->on_conn_accept)
        b->env.h->on_conn_accept(b->env.node, handle_of(c, 1), a->addr);
}

/* Hand one in-order frame (or the FIN) of c's stream to side `side` on n. */
static void deliver(mc_sim_t *s, sim_conn_t *c, int side, sim_node_t *n, const sim_ev_t *ev)
{
    c->rcv_next[side ^ 1]++;
    if (ev->status == SIM_FRAME_FIN) {
        close_side(s, c, side);
        if (n->env.h->on_conn_down)
            n->env.h->on_conn_down(n->env.node, handle_of(c, side), MC_OK);
        return;
    }
    if (n->env.h->on_msg)
        n->env.h->on_msg(n->env.node, handle_of(c, side), ev->buf, ev->len);
}

/* Frame ev of c reaches side `side` on n. A cut on the way eats it (the
 * sender retransmits); one on the way back eats the ACK. A frame behind a
 * lost one waits; once the gap is filled the waiting ones follow. The
 * caller's event holds a reference, so c outlives the upcalls. */
static void frame_arrive(mc_sim_t *s, sim_conn_t *c, int side, sim_node_t *n, sim_ev_t *ev)
{
    int d = side ^ 1;
    uint32_t a = c->node[d];
    if (sim_net_blocked(s, a, n->id)) {
        if (!c->gave_up[d])
            frame_lost(s, c, d, ev);
        return;
    }
    if (!c->gave_up[d] && sim_net_blocked(s, n->id, a)) {
        c->ack_lost[d] = true;
        rtx_arm(s, c, d, s->now + tcp_rto(s));
    }
    MC_ASSERT(ev->seq >= c->rcv_next[d]);
    if (ev->seq != c->rcv_next[d]) {
        hold(&c->ooo[d], ev);
        return;
    }
    deliver(s, c, side, n, ev);
    while (c->open[side] && c->inc[side] == n->inc && !mc_list_empty(&c->ooo[d])) {
        sim_ev_t *next = mc_container_of(c->ooo[d].next, sim_ev_t, dlink);
        if (next->seq != c->rcv_next[d])
            break;
        mc_list_del(&next->dlink);
        sim_hash_event(s, next);
        deliver(s, c, side, n, next);
        sim_ev_release(s, next);
    }
}

/* A FIN reaches n while its stream has a gap (or through a cut): it joins
 * the stream behind the missing frames. False: deliver it now. */
static bool fin_waits(mc_sim_t *s, sim_conn_t *c, int side, sim_node_t *n)
{
    int d = side ^ 1;
    if (!sim_net_blocked(s, c->node[d], n->id) && mc_list_empty(&c->lost[d]) &&
        mc_list_empty(&c->ooo[d]))
        return false;
    sim_ev_t *fin = frame_new(s, c, d, NULL, 0, SIM_FRAME_FIN);
    fin->where = SIM_WHERE_HELD;
    frame_arrive(s, c, side, n, fin);
    if (fin->where == SIM_WHERE_HELD && mc_list_empty(&fin->dlink))
        sim_ev_release(s, fin); /* delivered (or dropped) on the spot */
    return true;
}

void sim_net_dispatch(mc_sim_t *s, sim_ev_t *ev, sim_node_t *n)
{
    sim_conn_t *c = ev->u.conn;
    int side = ev->side;
    switch (ev->kind) {
    case SIM_EV_SYN:
        on_syn(s, c, n);
        break;
    case SIM_EV_CONN_UP:
        if (c->open[0] && c->inc[0] == n->inc && n->env.h->on_conn_up)
            n->env.h->on_conn_up(n->env.node, handle_of(c, 0));
        break;
    case SIM_EV_ACCEPT:
        if (c->open[1] && c->inc[1] == n->inc && n->env.h->on_conn_accept)
            n->env.h->on_conn_accept(n->env.node, handle_of(c, 1), s->nodes[c->node[0]]->addr);
        break;
    case SIM_EV_CONN_DOWN:
        if (!c->open[side] || c->inc[side] != n->inc)
            break;
        if (ev->status == MC_OK && fin_waits(s, c, side, n))
            break;
        close_side(s, c, side);
        if (n->env.h->on_conn_down)
            n->env.h->on_conn_down(n->env.node, handle_of(c, side), ev->status);
        break;
    case SIM_EV_MSG:
        if (!c->open[side] || c->inc[side] != n->inc)
            break;
        frame_arrive(s, c, side, n, ev);
        break;
    default:
        MC_UNREACHABLE();
    }
}

void sim_net_drop_held(mc_sim_t *s)
{
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&s->conns, &it, &e);) {
        sim_conn_t *c = e->value;
        c->refs++; /* pinned: the releases must not free it mid-iteration */
        for (int d = 0; d < 2; d++) {
            drop_held(s, &c->lost[d]);
            drop_held(s, &c->ooo[d]);
        }
        c->refs--;
    }
}

void sim_net_free(mc_sim_t *s)
{
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&s->conns, &it, &e);)
        mc_free(e->value);
    mc_map_free(&s->conns);
    mc_map_init(&s->conns);
}
