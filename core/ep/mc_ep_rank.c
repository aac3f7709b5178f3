/* EP rank: lifecycle, the coordinator link (join, heartbeats, views,
 * proposals), peer connections and TE segments, env upcall routing.
 * Operations live in mc_ep_rank_op.c. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "../rpc/mc_rpc.h"
#include "../wire/mc_msg_types.h"
#include "mc_ep_rank_int.h"

#define REDIAL_NS (100 * MC_NS_PER_MS)

ep_ctx_t *ep_ctx_new(mc_ep_rank_t *r, uint32_t peer, uint64_t op_id)
{
    ep_ctx_t *c = mc_calloc(1, sizeof *c);
    c->r = r;
    c->peer = peer;
    c->op_id = op_id;
    mc_list_push_back(&r->ctxs, &c->link);
    return c;
}

void ep_ctx_free(ep_ctx_t *c)
{
    mc_list_del(&c->link);
    mc_free(c);
}

/* ---- coordinator link ---- */

void ep_send_coord(mc_ep_rank_t *r, const mc_msg_ep_t *m, uint64_t req_id)
{
    if (!r->coord_up)
        return; /* lost; heartbeats and deadlines recover */
    mc_msg_ep_encode(&r->w, req_id, m);
    r->env->ops->conn_send(r->env, r->coord, r->w.data, r->w.len);
}

static void send_join(mc_ep_rank_t *r)
{
    mc_msg_ep_t m = {.type = MC_MSG_EP_JOIN, .rank = r->self, .inc = r->inc};
    m.addr = mc_slice_cstr(r->addr);
    ep_send_coord(r, &m, 0);
}

static void redial(void *arg)
{
    mc_ep_rank_t *r = arg;
    r->redial = 0;
    if (r->coord)
        return;
    if (r->env->ops->conn_open(r->env, r->coord_addr, &r->coord) != MC_OK) {
        r->coord = 0;
        r->redial = mc_env_timer(r->env, REDIAL_NS, redial, r);
    }
}

static void heartbeat(void *arg)
{
    mc_ep_rank_t *r = arg;
    mc_msg_ep_t m = {.type = MC_MSG_EP_HEARTBEAT, .rank = r->self, .inc = r->inc, .epoch = r->epoch};
    ep_send_coord(r, &m, 0);
    r->hb = mc_env_timer(r->env, r->hb_interval, heartbeat, r);
}

/* ---- peers ---- */

/* Install a peer's descriptor once our view names the same incarnation. */
static void try_install(mc_ep_rank_t *r, uint32_t j)
{
    ep_peer_t *p = &r->peers[j];
    if (!p->desc_json || !p->addr || p->desc_inc != p->inc)
        return;
    mc_te_seg_desc_t d;
    char err[160];
    int rc = mc_te_seg_desc_decode(p->desc_json, strlen(p->desc_json), &d, err, sizeof err);
    mc_free(p->desc_json);
    p->desc_json = NULL;
    if (rc) {
        mc_env_logf(r->env, MC_LOG_WARN, "ep", "descriptor of rank %u: %s", j, err);
        return;
    }
    uint64_t id;
    rc = mc_te_add_segment(r->te, &d, p->addr, &id);
    mc_te_seg_desc_free(&d);
    if (rc) {
        mc_env_logf(r->env, MC_LOG_WARN, "ep", "segment of rank %u: %s", j, mc_te_err_name(rc));
        return;
    }
    p->seg_id = id;
    p->seg_ready = true;
    ep_op_peer_ready(r, j);
}

static void on_segment(mc_ep_rank_t *r, const mc_msg_ep_t *m)
{
    if (m->rank >= r->world || m->rank == r->self)
        return;
    ep_peer_t *p = &r->peers[m->rank];
    mc_free(p->desc_json);
    p->desc_json = mc_slice_dup(m->addr);
    p->desc_inc = m->inc;
    try_install(r, m->rank);
}

/* Our descriptor to peer j (on our connection to it, when it comes up). */
static void send_segment(mc_ep_rank_t *r, uint32_t j)
{
    char *json = mc_te_seg_desc_encode(mc_te_local_desc(r->te));
    mc_msg_ep_t m = {.type = MC_MSG_EP_SEGMENT, .rank = r->self, .inc = r->inc};
    m.addr = mc_slice_cstr(json);
    mc_msg_ep_encode(&r->w, 0, &m);
    r->env->ops->conn_send(r->env, r->peers[j].conn, r->w.data, r->w.len);
    mc_free(json);
}

void ep_ensure_peer(mc_ep_rank_t *r, uint32_t j)
{
    ep_peer_t *p = &r->peers[j];
    if (j == r->self || !p->addr || p->conn)
        return;
    if (r->env->ops->conn_open(r->env, p->addr, &p->conn) != MC_OK)
        p->conn = 0;
    p->conn_up = false;
}

static void apply_view(mc_ep_rank_t *r, const mc_msg_ep_t *m)
{
    if (m->world != r->world) {
        mc_env_logf(r->env, MC_LOG_WARN, "ep", "view for world %u, we have %u", m->world, r->world);
        return;
    }
    if (r->have_view && m->epoch < r->epoch)
        return; /* older than what we applied (upstream ignores those too) */
    bool fresh = !r->have_view || m->epoch > r->epoch;
    r->have_view = true;
    r->epoch = m->epoch;
    r->active = m->active;
    r->synced = m->synced;
    for (uint32_t j = 0; j < r->world; j++) {
        ep_peer_t *p = &r->peers[j];
        char *addr = m->peers[j].addr.len ? mc_slice_dup(m->peers[j].addr) : NULL;
        /* A new address or a new incarnation: our connection may lead to a
         * dead process (a crash behind a partition sends no reset). */
        bool moved = (addr == NULL) != (p->addr == NULL) || (addr && strcmp(addr, p->addr)) ||
                     p->inc != m->peers[j].inc;
        if (moved && p->conn) {
            r->env->ops->conn_close(r->env, p->conn);
            p->conn = 0;
            p->conn_up = false;
        }
        mc_free(p->addr);
        p->addr = addr;
        if (p->inc != m->peers[j].inc)
            p->seg_ready = false; /* a new process: wait for its descriptor */
        p->inc = m->peers[j].inc;
        try_install(r, j);
        if (mc_ep_has(r->active | r->synced, j))
            ep_ensure_peer(r, j);
    }
    if (fresh)
        mc_env_tracef(r->env, "ep.view", "rank=%u epoch=%llu active=%llx synced=%llx", r->self,
                      (unsigned long long)r->epoch, (unsigned long long)r->active, (unsigned long long)r->synced);
    /* Deactivated but alive: rejoin in place (upstream join_group). Views
     * come only on changes and on stale heartbeats, so this cannot loop. */
    if (r->epoch > 0 && !mc_ep_has(r->active, r->self) && !mc_ep_has(r->synced, r->self))
        send_join(r);
    ep_op_on_view(r);
}

static void on_propose_reply(mc_ep_rank_t *r, uint64_t req_id, const mc_msg_ep_t *m)
{
    mc_list_t *it, *tmp;
    mc_list_for_each_safe(it, tmp, &r->props)
    {
        ep_prop_t *p = mc_container_of(it, ep_prop_t, link);
        if (p->req_id != req_id)
            continue;
        mc_list_del(&p->link);
        p->cb(p->arg, m->status, m->epoch, m->mask);
        mc_free(p);
        return;
    }
}

static void fail_props(mc_ep_rank_t *r, bool all);

static void props_unsent(void *arg)
{
    mc_ep_rank_t *r = arg;
    r->propt = 0;
    fail_props(r, false);
}

void mc_ep_rank_propose(mc_ep_rank_t *r, mc_ep_mask_t targets, bool activate, mc_ep_propose_cb cb, void *arg)
{
    ep_prop_t *p = mc_calloc(1, sizeof *p);
    p->cb = cb;
    p->arg = arg;
    mc_list_push_back(&r->props, &p->link);
    if (!r->coord_up) { /* Rejected, later (never inside the call) */
        if (!r->propt)
            r->propt = mc_env_timer(r->env, 0, props_unsent, r);
        return;
    }
    p->req_id = ++r->next_req;
    mc_msg_ep_t m = {.type = MC_MSG_EP_PROPOSE, .rank = r->self, .mask = targets, .status = activate ? 1 : 0};
    ep_send_coord(r, &m, p->req_id); /* lost with the link: Rejected when it drops */
}

static void fail_props(mc_ep_rank_t *r, bool all)
{
    mc_list_t *it, *tmp;
    mc_list_for_each_safe(it, tmp, &r->props)
    {
        ep_prop_t *p = mc_container_of(it, ep_prop_t, link);
        if (!all && p->req_id)
            continue;
        mc_list_del(&p->link);
        p->cb(p->arg, MC_EP_PROPOSAL_REJECTED, r->epoch, 0);
        mc_free(p);
    }
}

/* ---- env upcalls ---- */

static void h_up(void *node, mc_conn_t conn)
{
    mc_ep_rank_t *r = node;
    if (conn == r->coord) {
        r->coord_up = true;
        send_join(r);
        return;
    }
    for (uint32_t j = 0; j < r->world; j++)
        if (r->peers[j].conn == conn) {
            r->peers[j].conn_up = true;
            send_segment(r, j);
            ep_op_peer_ready(r, j); /* block notices that waited for the link */
            return;
        }
    mc_te_on_conn_up(r->te, conn);
}

static void h_down(void *node, mc_conn_t conn, mc_status_t why)
{
    mc_ep_rank_t *r = node;
    if (conn == r->coord) {
        r->coord = 0;
        r->coord_up = false;
        fail_props(r, true);
        r->redial = mc_env_timer(r->env, REDIAL_NS, redial, r);
        return;
    }
    for (uint32_t j = 0; j < r->world; j++)
        if (r->peers[j].conn == conn) {
            r->peers[j].conn = 0; /* reopened at the next use */
            r->peers[j].conn_up = false;
            return;
        }
    mc_te_on_conn_down(r->te, conn, why);
}

static void h_accept(void *node, mc_conn_t conn, const char *peer) { (void)node, (void)conn, (void)peer; }

static void h_msg(void *node, mc_conn_t conn, const uint8_t *frame, size_t len)
{
    mc_ep_rank_t *r = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!mc_rpc_open_frame(r->env, conn, frame, len, "ep", true, &hdr, &body))
        return;
    if (!mc_msg_ep_type_known(hdr.type)) {
        if (!mc_te_on_frame(r->te, conn, &hdr, &body))
            mc_rpc_unexpected(r->env, "ep", &hdr);
        return;
    }
    mc_msg_ep_t *m = mc_malloc(sizeof *m);
    if (mc_msg_ep_decode(hdr.type, &body, m) != MC_OK) {
        mc_env_logf(r->env, MC_LOG_WARN, "ep", "malformed %s", mc_msg_type_name(hdr.type));
        r->env->ops->conn_close(r->env, conn);
        goto out;
    }
    switch (hdr.type) {
    case MC_MSG_EP_VIEW: apply_view(r, m); break;
    case MC_MSG_EP_DATA: ep_op_on_data(r, m); break;
    case MC_MSG_EP_DECIDE: ep_op_on_decide(r, m); break;
    case MC_MSG_EP_PROPOSE_REPLY: on_propose_reply(r, hdr.req_id, m); break;
    case MC_MSG_EP_SEGMENT: on_segment(r, m); break;
    default: mc_rpc_unexpected(r->env, "ep", &hdr);
    }
out:
    mc_free(m);
}

static void h_xfer(void *node, uint64_t tag, mc_status_t st)
{
    mc_ep_rank_t *r = node;
    if (!mc_te_on_xfer_done(r->te, tag, st))
        mc_env_logf(r->env, MC_LOG_WARN, "ep", "completion with a foreign tag");
}

static const mc_env_handlers_t rank_handlers = {
    .on_conn_up = h_up,
    .on_conn_accept = h_accept,
    .on_conn_down = h_down,
    .on_msg = h_msg,
    .on_xfer_done = h_xfer,
};

/* ---- lifecycle ---- */

/* The region comes from the env's segment memory when it offers some (hw:
 * a memfd mapping, so a same-host peer's writes into it are memcpys through
 * the shm transport instead of loopback TCP), else from the heap. */
static void *region_alloc(mc_env_t *env, size_t len)
{
    return env->ops->seg_alloc ? env->ops->seg_alloc(env, len) : mc_calloc(1, len);
}

static void region_free(mc_env_t *env, void *p, size_t len)
{
    if (!p)
        return;
    if (env->ops->seg_alloc)
        env->ops->seg_free(env, p, len);
    else
        mc_free(p);
}

void mc_ep_rank_destroy(mc_ep_rank_t *r)
{
    if (!r)
        return;
    mc_env_timer_cancel(r->env, &r->kick);
    mc_env_timer_cancel(r->env, &r->hb);
    mc_env_timer_cancel(r->env, &r->redial);
    mc_env_timer_cancel(r->env, &r->propt);
    ep_op_free_all(r);
    ep_handles_free(r);
    if (r->te)
        mc_te_destroy(r->te); /* no callbacks: pending contexts are freed below */
    while (!mc_list_empty(&r->ctxs))
        ep_ctx_free(mc_container_of(r->ctxs.next, ep_ctx_t, link));
    while (!mc_list_empty(&r->props)) {
        ep_prop_t *p = mc_container_of(r->props.next, ep_prop_t, link);
        mc_list_del(&p->link);
        mc_free(p);
    }
    for (uint32_t j = 0; j < MC_EP_MAX_RANKS; j++) {
        mc_free(r->peers[j].addr);
        mc_free(r->peers[j].desc_json);
    }
    region_free(r->env, r->mem, 2 * r->region); /* after mc_te_destroy unregistered it */
    mc_free(r->out);
    mc_free(r->addr);
    mc_free(r->coord_addr);
    mc_wbuf_free(&r->w);
    mc_free(r);
}

mc_ep_rank_t *mc_ep_rank_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    const char *addr = mc_conf_get(conf, "addr"), *coord = mc_conf_get(conf, "coordinator");
    uint64_t rank, world, slot, hb;
    bool result_hash;
    if (!addr || !coord) {
        snprintf(err, errlen, "key '%s': required", addr ? "coordinator" : "addr");
        return NULL;
    }
    if (mc_conf_u64(conf, "world", 0, &world) != MC_OK || world == 0 || world > MC_EP_MAX_RANKS) {
        snprintf(err, errlen, "key 'world': required, 1..%d", MC_EP_MAX_RANKS);
        return NULL;
    }
    if (!mc_conf_get(conf, "rank") || mc_conf_u64(conf, "rank", 0, &rank) != MC_OK || rank >= world) {
        snprintf(err, errlen, "key 'rank': required, 0..world-1");
        return NULL;
    }
    if (mc_conf_size(conf, "slot_bytes", 64 << 10, &slot) != MC_OK || slot < 64 || slot > (64u << 20) ||
        mc_conf_duration(conf, "hb_interval", 100 * MC_NS_PER_MS, &hb) != MC_OK || !hb ||
        mc_conf_bool(conf, "result_hash", true, &result_hash) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err[0] ? conf->err : "key 'slot_bytes': 64B..64MiB");
        return NULL;
    }
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    mc_ep_rank_t *r = mc_calloc(1, sizeof *r);
    r->env = env;
    r->self = (uint32_t)rank;
    r->world = (uint32_t)world;
    r->slot_bytes = (size_t)slot;
    r->hb_interval = hb;
    r->result_hash = result_hash;
    r->addr = mc_strdup(addr);
    r->coord_addr = mc_strdup(coord);
    r->inc = mc_env_rand(env) | 1; /* a process incarnation, never 0 */
    mc_list_init(&r->queue);
    mc_list_init(&r->ctxs);
    mc_list_init(&r->props);
    mc_wbuf_init(&r->w);
    for (uint32_t i = 0; i < EP_NSLOTS; i++)
        r->early[i].op_id = UINT64_MAX;
    mc_env_bind(env, &rank_handlers, r);
    /* No metadata service: ranks hand their descriptors to each other
     * (EP_SEGMENT) over connections that follow peer incarnations. */
    mc_conf_t tc;
    mc_conf_init(&tc);
    mc_conf_copy(&tc, conf);
    if (!mc_conf_get(&tc, "transfer_timeout"))
        mc_conf_set(&tc, "transfer_timeout", "2s");
    mc_conf_set(&tc, "segment_name", addr);
    r->te = mc_te_create(env, &tc, NULL, err, errlen);
    mc_conf_free(&tc);
    if (!r->te)
        goto fail;
    r->region = EP_NSLOTS * (size_t)r->world * r->slot_bytes;
    r->mem = region_alloc(env, 2 * r->region);
    if (!r->mem) {
        snprintf(err, errlen, "cannot allocate %zu bytes for the EP region", 2 * r->region);
        goto fail;
    }
    int rc = mc_te_register(r->te, r->mem, 2 * r->region, "cpu:0", true, true);
    if (rc) {
        snprintf(err, errlen, "registering %zu bytes: %s", 2 * r->region, mc_te_err_name(rc));
        goto fail;
    }
    if (env->ops->conn_open(env, r->coord_addr, &r->coord) != MC_OK) {
        r->coord = 0;
        r->redial = mc_env_timer(env, REDIAL_NS, redial, r);
    }
    r->hb = mc_env_timer(env, r->hb_interval, heartbeat, r);
    mc_env_tracef(env, "ep.rank_start", "rank=%u world=%u", r->self, r->world);
    return r;
fail:
    mc_ep_rank_destroy(r);
    return NULL;
}

uint32_t mc_ep_rank_self(const mc_ep_rank_t *r) { return r->self; }
uint32_t mc_ep_rank_world(const mc_ep_rank_t *r) { return r->world; }
mc_ep_mask_t mc_ep_rank_active(const mc_ep_rank_t *r) { return r->active; }
uint32_t mc_ep_rank_num_synced(const mc_ep_rank_t *r) { return mc_ep_count(r->synced); }
bool mc_ep_rank_peer_state(const mc_ep_rank_t *r, uint32_t rank)
{
    return rank < r->world && mc_ep_has(r->synced, rank) && r->peers[rank].addr;
}
uint64_t mc_ep_rank_epoch(const mc_ep_rank_t *r) { return r->epoch; }
