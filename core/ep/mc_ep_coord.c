/* Role "ep_coord": the EP group coordinator (upstream's Coordinator on
 * global rank 0; here its own node, equally not HA).
 *
 * Membership: every slot is None / Active / Inactive / Awaiting (joined,
 * waiting for activation). The group bootstraps once all `world` founders
 * joined (epoch 1, all Active). A rank that misses heartbeats for
 * hb_timeout goes Offline and, if Active, Inactive (auto-deactivate); a
 * JOIN with a new incarnation replaces the old process (deactivated if it
 * was Active). Every change bumps the epoch and pushes EP_VIEW to every
 * online rank, so all ranks see the same sequence of views.
 *
 * Agreement: rows of one op are collected until every Active online rank
 * it needs reported or the earliest reporter's deadline (it sends how long
 * it can wait) passed; then mc_ep_decide gives the final set, every
 * reporter gets EP_DECIDE, and reporters outside the set (broken links)
 * are deactivated. A live rank that reports late (busy with an earlier op)
 * only fails that op; it stays Active.
 * Proposals (recover/deactivate) are applied when admissible; activation
 * waits until every target is online, up to proposal_timeout.
 *
 * Conf: addr, world (1..64), hb_timeout (default 1s), proposal_timeout
 * (default 20s, upstream kProposalAdmissionTimeout).
 * Trace: ep.coord_view epoch active synced; ep.coord_decide op set
 * reporters; ep.coord_offline rank; ep.coord_propose targets status. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_list.h"
#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "../env/mc_role.h"
#include "../rpc/mc_rpc.h"
#include "../wire/mc_msg_ep.h"
#include "../wire/mc_msg_types.h"
#include "mc_ep.h"

#define TICK_NS (100 * MC_NS_PER_MS)
#define KEEP_OPS 128

enum { S_NONE = 0, S_ACTIVE, S_INACTIVE, S_AWAITING };

typedef struct cslot {
    uint8_t state;
    bool online;
    uint64_t inc;
    char *addr;
    uint64_t last_hb;
    mc_conn_t conn;
} cslot_t;

typedef struct op_rec {
    uint64_t op_id;
    mc_ep_mask_t reporters, expect;
    mc_ep_row_t rows[MC_EP_MAX_RANKS];
    mc_conn_t conns[MC_EP_MAX_RANKS];
    bool decided;
    mc_ep_mask_t final;
    uint64_t epoch;
    mc_timer_t timer;
    uint64_t due;
    struct coord *c;
} op_rec_t;

typedef struct proposal {
    mc_list_t link;
    mc_conn_t conn;
    uint64_t req_id;
    mc_ep_mask_t targets;
    bool activate;
    uint64_t deadline;
} proposal_t;

typedef struct coord {
    mc_env_t *env;
    uint32_t world;
    uint64_t epoch;
    bool ready;
    uint64_t hb_timeout, proposal_timeout;
    cslot_t slots[MC_EP_MAX_RANKS];
    mc_map_t ops; /* op_id -> op_rec_t* */
    mc_list_t proposals;
    mc_timer_t tick;
    mc_wbuf_t w;
} coord_t;

static mc_ep_mask_t mask_of(const coord_t *c, int state, bool need_online)
{
    mc_ep_mask_t m = 0;
    for (uint32_t i = 0; i < c->world; i++)
        if ((state < 0 || c->slots[i].state == state) && (!need_online || c->slots[i].online))
            m |= mc_ep_bit(i);
    return m;
}

static mc_ep_mask_t active_mask(const coord_t *c) { return mask_of(c, S_ACTIVE, false); }

static mc_ep_mask_t synced_mask(const coord_t *c)
{
    return mask_of(c, S_ACTIVE, true) | mask_of(c, S_AWAITING, true);
}

static void send_view_to(coord_t *c, mc_conn_t conn)
{
    mc_msg_ep_t *m = mc_calloc(1, sizeof *m);
    m->type = MC_MSG_EP_VIEW;
    m->epoch = c->epoch;
    m->world = c->world;
    m->active = c->ready ? active_mask(c) : 0;
    m->synced = synced_mask(c);
    for (uint32_t i = 0; i < c->world; i++) {
        const cslot_t *s = &c->slots[i];
        m->peers[i].inc = s->inc;
        m->peers[i].addr = (s->online && s->addr) ? mc_slice_cstr(s->addr) : mc_slice(NULL, 0);
    }
    mc_msg_ep_encode(&c->w, 0, m);
    mc_free(m);
    c->env->ops->conn_send(c->env, conn, c->w.data, c->w.len);
}

/* A membership change: new epoch, pushed to everyone online. */
static void view_changed(coord_t *c)
{
    if (!c->ready)
        return;
    c->epoch++;
    mc_env_tracef(c->env, "ep.coord_view", "epoch=%llu active=%llx synced=%llx", (unsigned long long)c->epoch,
                  (unsigned long long)active_mask(c), (unsigned long long)synced_mask(c));
    for (uint32_t i = 0; i < c->world; i++)
        if (c->slots[i].online && c->slots[i].conn)
            send_view_to(c, c->slots[i].conn);
}

static void go_offline(coord_t *c, uint32_t i, const char *why)
{
    cslot_t *s = &c->slots[i];
    s->online = false;
    if (s->state == S_ACTIVE || s->state == S_AWAITING)
        s->state = S_INACTIVE;
    mc_env_tracef(c->env, "ep.coord_offline", "rank=%u why=%s", i, why);
}

/* ---- agreement ---- */

static void decide(op_rec_t *o)
{
    coord_t *c = o->c;
    mc_env_timer_cancel(c->env, &o->timer);
    mc_ep_mask_t active = active_mask(c);
    o->final = mc_ep_decide(o->rows, o->reporters, active);
    o->decided = true;
    /* Deactivate the reporters the clique rule dropped: their links are
     * broken (upstream's auto-deactivate). A live member that simply has
     * not reported yet (still busy with an earlier op) only misses this
     * op; a dead one goes with its heartbeats. */
    mc_ep_mask_t gone = o->reporters & o->expect & active & ~o->final;
    for (uint32_t i = 0; i < c->world; i++)
        if (mc_ep_has(gone, i))
            c->slots[i].state = S_INACTIVE;
    mc_env_tracef(c->env, "ep.coord_decide", "op=%llu set=%llx reporters=%llx dropped=%llx",
                  (unsigned long long)o->op_id, (unsigned long long)o->final, (unsigned long long)o->reporters,
                  (unsigned long long)gone);
    if (gone)
        view_changed(c);
    o->epoch = c->epoch;
    mc_msg_ep_t m = {.type = MC_MSG_EP_DECIDE, .op_id = o->op_id, .mask = o->final, .epoch = o->epoch};
    mc_msg_ep_encode(&c->w, 0, &m);
    for (uint32_t i = 0; i < c->world; i++)
        if (mc_ep_has(o->reporters, i) && o->conns[i])
            c->env->ops->conn_send(c->env, o->conns[i], c->w.data, c->w.len);
}

static void op_window(void *arg)
{
    op_rec_t *o = arg;
    o->timer = 0;
    if (!o->decided)
        decide(o);
}

static bool op_complete(const coord_t *c, const op_rec_t *o)
{
    mc_ep_mask_t need = o->expect & mask_of(c, S_ACTIVE, true);
    return (o->reporters & need) == need;
}

static void prune_ops(coord_t *c)
{
    while (mc_map_count(&c->ops) > KEEP_OPS) {
        uint32_t it = 0;
        mc_map_entry_t *e;
        op_rec_t *old = NULL;
        while (mc_map_next(&c->ops, &it, &e)) {
            op_rec_t *o = e->value;
            if (o->decided && (!old || o->op_id < old->op_id))
                old = o;
        }
        if (!old)
            return;
        mc_map_delu(&c->ops, old->op_id);
        mc_free(old);
    }
}

static void on_row(coord_t *c, mc_conn_t conn, const mc_msg_ep_t *m)
{
    if (m->rank >= c->world || c->slots[m->rank].inc != m->inc)
        return; /* a stale incarnation's evidence is ignored (upstream too) */
    op_rec_t *o = mc_map_getu(&c->ops, m->op_id);
    if (!o) {
        o = mc_calloc(1, sizeof *o);
        o->c = c;
        o->op_id = m->op_id;
        o->expect = active_mask(c);
        mc_map_putu(&c->ops, m->op_id, o);
        prune_ops(c);
    }
    if (o->decided) { /* late reporter: the decision stands, it is not in it */
        mc_msg_ep_t d = {.type = MC_MSG_EP_DECIDE, .op_id = o->op_id, .mask = o->final, .epoch = c->epoch};
        mc_msg_ep_encode(&c->w, 0, &d);
        c->env->ops->conn_send(c->env, conn, c->w.data, c->w.len);
        return;
    }
    o->rows[m->rank].arrived = m->mask;
    o->reporters |= mc_ep_bit(m->rank);
    o->conns[m->rank] = conn;
    o->expect &= m->active | mc_ep_bit(m->rank); /* per-call masks narrow what this op needed */
    /* value: how long this reporter can still wait for the decision. The
     * earliest such deadline wins, so every reporter hears in time. */
    uint64_t now = mc_env_now(c->env), due = now + m->value;
    if (op_complete(c, o)) {
        decide(o);
    } else if (!o->timer || due < o->due) {
        mc_env_timer_cancel(c->env, &o->timer);
        o->due = due;
        o->timer = mc_env_timer(c->env, m->value, op_window, o);
    }
}

/* ---- proposals ---- */

static void propose_reply(coord_t *c, proposal_t *p, uint8_t status, const char *reason)
{
    mc_msg_ep_t m = {.type = MC_MSG_EP_PROPOSE_REPLY, .status = status, .epoch = c->epoch};
    m.addr = mc_slice_cstr(reason);
    mc_msg_ep_encode(&c->w, p->req_id, &m);
    c->env->ops->conn_send(c->env, p->conn, c->w.data, c->w.len);
    mc_env_tracef(c->env, "ep.coord_propose", "targets=%llx activate=%d status=%u epoch=%llu",
                  (unsigned long long)p->targets, p->activate, status, (unsigned long long)c->epoch);
    mc_list_del(&p->link);
    mc_free(p);
}

/* true when the proposal was answered */
static bool propose_try(coord_t *c, proposal_t *p, uint64_t now)
{
    if (!c->ready)
        goto wait;
    if (!p->activate) {
        bool change = false;
        for (uint32_t i = 0; i < c->world; i++)
            if (mc_ep_has(p->targets, i) && c->slots[i].state == S_ACTIVE) {
                c->slots[i].state = c->slots[i].online ? S_AWAITING : S_INACTIVE;
                change = true;
            }
        if (change)
            view_changed(c);
        propose_reply(c, p, MC_EP_PROPOSAL_APPLIED, "");
        return true;
    }
    /* Activation: every target joined (Awaiting or Active) and online. */
    bool change = false;
    for (uint32_t i = 0; i < c->world; i++) {
        if (!mc_ep_has(p->targets, i))
            continue;
        const cslot_t *s = &c->slots[i];
        if (!s->online || (s->state != S_AWAITING && s->state != S_ACTIVE))
            goto wait;
        change |= s->state == S_AWAITING;
    }
    for (uint32_t i = 0; i < c->world; i++)
        if (mc_ep_has(p->targets, i))
            c->slots[i].state = S_ACTIVE;
    if (change)
        view_changed(c);
    propose_reply(c, p, MC_EP_PROPOSAL_APPLIED, "");
    return true;
wait:
    if (now >= p->deadline) {
        propose_reply(c, p, MC_EP_PROPOSAL_REJECTED, "proposal admission timed out");
        return true;
    }
    return false;
}

static void proposals_run(coord_t *c)
{
    uint64_t now = mc_env_now(c->env);
    mc_list_t *it = c->proposals.next;
    while (it != &c->proposals) {
        mc_list_t *next = it->next;
        propose_try(c, mc_container_of(it, proposal_t, link), now);
        it = next;
    }
}

/* ---- membership ---- */

static void on_join(coord_t *c, mc_conn_t conn, const mc_msg_ep_t *m)
{
    if (m->rank >= c->world || !m->addr.len)
        return;
    cslot_t *s = &c->slots[m->rank];
    bool replaced = s->inc != m->inc;
    bool change = false;
    if (replaced && s->state == S_ACTIVE && c->ready) {
        s->state = S_INACTIVE; /* the old process is gone */
        change = true;
    }
    s->inc = m->inc;
    mc_free(s->addr);
    s->addr = mc_slice_dup(m->addr);
    s->conn = conn;
    s->last_hb = mc_env_now(c->env);
    change |= !s->online;
    s->online = true;
    if (!c->ready) {
        s->state = S_ACTIVE;
        if (mask_of(c, S_ACTIVE, true) == mc_ep_all(c->world)) {
            c->ready = true;
            view_changed(c); /* epoch 1 */
        } else {
            send_view_to(c, conn); /* not ready: active = 0 */
        }
        return;
    }
    if (s->state != S_ACTIVE && s->state != S_AWAITING) {
        s->state = S_AWAITING; /* upstream join_group: AwaitingActivation */
        change = true;
    }
    if (change)
        view_changed(c);
    else
        send_view_to(c, conn);
    proposals_run(c);
}

static void on_hb(coord_t *c, mc_conn_t conn, const mc_msg_ep_t *m)
{
    if (m->rank >= c->world)
        return;
    cslot_t *s = &c->slots[m->rank];
    if (s->inc != m->inc || !s->online) {
        send_view_to(c, conn); /* it sees itself out of the group and JOINs again */
        return;
    }
    s->last_hb = mc_env_now(c->env);
    s->conn = conn;
    if (m->epoch < c->epoch && c->ready)
        send_view_to(c, conn); /* lost a push: resend */
}

static void tick(void *arg)
{
    coord_t *c = arg;
    uint64_t now = mc_env_now(c->env);
    bool change = false;
    for (uint32_t i = 0; i < c->world; i++) {
        cslot_t *s = &c->slots[i];
        if (s->online && now - s->last_hb > c->hb_timeout) {
            go_offline(c, i, "heartbeat");
            change = true;
        }
    }
    if (change) {
        view_changed(c);
        /* Ops waiting for a rank that just went offline can decide now. */
        uint32_t it = 0;
        mc_map_entry_t *e;
        op_rec_t *ready[KEEP_OPS + 1];
        size_t n = 0;
        while (mc_map_next(&c->ops, &it, &e) && n < KEEP_OPS + 1) {
            op_rec_t *o = e->value;
            if (!o->decided && o->reporters && op_complete(c, o))
                ready[n++] = o;
        }
        for (size_t i = 0; i < n; i++)
            decide(ready[i]);
    }
    proposals_run(c);
    c->tick = mc_env_timer(c->env, TICK_NS, tick, c);
}

/* ---- env upcalls ---- */

static void h_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    coord_t *c = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!mc_rpc_open_frame(c->env, conn, frame, len, "ep_coord", true, &hdr, &body))
        return;
    mc_msg_ep_t *m = mc_malloc(sizeof *m);
    if (!mc_msg_ep_type_known(hdr.type) || mc_msg_ep_decode(hdr.type, &body, m) != MC_OK) {
        mc_rpc_unexpected(c->env, "ep_coord", &hdr);
        goto out;
    }
    switch (hdr.type) {
    case MC_MSG_EP_JOIN: on_join(c, conn, m); break;
    case MC_MSG_EP_HEARTBEAT: on_hb(c, conn, m); break;
    case MC_MSG_EP_ROW: on_row(c, conn, m); break;
    case MC_MSG_EP_PROPOSE: {
        proposal_t *p = mc_calloc(1, sizeof *p);
        p->conn = conn;
        p->req_id = hdr.req_id;
        p->targets = m->mask & mc_ep_all(c->world);
        p->activate = m->status == 1;
        p->deadline = mc_env_now(c->env) + c->proposal_timeout;
        mc_list_push_back(&c->proposals, &p->link);
        propose_try(c, p, mc_env_now(c->env));
        break;
    }
    default: mc_rpc_unexpected(c->env, "ep_coord", &hdr);
    }
out:
    mc_free(m);
}

static void h_accept(void *node, mc_conn_t conn, const char *peer) { (void)node, (void)conn, (void)peer; }
static void h_up(void *node, mc_conn_t conn) { (void)node, (void)conn; }

static void h_down(void *node, mc_conn_t conn, mc_status_t why)
{
    coord_t *c = node;
    (void)why;
    for (uint32_t i = 0; i < c->world; i++)
        if (c->slots[i].conn == conn)
            c->slots[i].conn = 0;
    mc_list_t *it = c->proposals.next;
    while (it != &c->proposals) {
        mc_list_t *next = it->next;
        proposal_t *p = mc_container_of(it, proposal_t, link);
        if (p->conn == conn) {
            mc_list_del(&p->link);
            mc_free(p);
        }
        it = next;
    }
}

static void h_xfer(void *node, uint64_t tag, mc_status_t st) { (void)node, (void)tag, (void)st; }

static const mc_env_handlers_t coord_handlers = {
    .on_conn_up = h_up,
    .on_conn_accept = h_accept,
    .on_conn_down = h_down,
    .on_msg = h_msg,
    .on_xfer_done = h_xfer,
};

static void coord_destroy(void *node)
{
    coord_t *c = node;
    mc_env_timer_cancel(c->env, &c->tick);
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&c->ops, &it, &e)) {
        op_rec_t *o = e->value;
        mc_env_timer_cancel(c->env, &o->timer);
        mc_free(o);
    }
    mc_map_free(&c->ops);
    while (c->proposals.next != &c->proposals) {
        proposal_t *p = mc_container_of(c->proposals.next, proposal_t, link);
        mc_list_del(&p->link);
        mc_free(p);
    }
    for (uint32_t i = 0; i < MC_EP_MAX_RANKS; i++)
        mc_free(c->slots[i].addr);
    mc_wbuf_free(&c->w);
    mc_free(c);
}

static void *coord_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    const char *addr = mc_conf_get(conf, "addr");
    uint64_t world, hb, prop;
    if (!addr) {
        snprintf(err, errlen, "key 'addr': required (listen address)");
        return NULL;
    }
    if (mc_conf_u64(conf, "world", 0, &world) != MC_OK || world == 0 || world > MC_EP_MAX_RANKS) {
        snprintf(err, errlen, "key 'world': required, 1..%d", MC_EP_MAX_RANKS);
        return NULL;
    }
    if (mc_conf_duration(conf, "hb_timeout", MC_NS_PER_S, &hb) != MC_OK ||
        mc_conf_duration(conf, "proposal_timeout", 20 * MC_NS_PER_S, &prop) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    coord_t *c = mc_calloc(1, sizeof *c);
    c->env = env;
    c->world = (uint32_t)world;
    c->hb_timeout = hb;
    c->proposal_timeout = prop;
    mc_map_init(&c->ops);
    mc_list_init(&c->proposals);
    mc_wbuf_init(&c->w);
    mc_env_bind(env, &coord_handlers, c);
    c->tick = mc_env_timer(env, TICK_NS, tick, c);
    mc_env_tracef(env, "ep.coord_start", "world=%u", c->world);
    return c;
}

const mc_role_t mc_role_ep_coord = {
    .name = "ep_coord",
    .help = "EP group coordinator: addr, world (1..64), hb_timeout (1s), proposal_timeout (20s)",
    .create = coord_create,
    .destroy = coord_destroy,
};
