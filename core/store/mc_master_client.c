/* Client liveness: Ping, TTL, expiry (spec §4.15). */
#include "base/mc_mem.h"
#include "store/mc_master_int.h"

mc_client_t *mc_m_client_touch(mc_master_t *m, uint64_t now_ns, mc_uuid_t id)
{
    bool inserted;
    void **slot = mc_map_slot(&m->clients, &id, sizeof id, &inserted);
    mc_client_t *c = *slot;
    if (inserted) {
        c = mc_calloc(1, sizeof *c);
        c->id = id;
        *slot = c;
    }
    c->deadline_ns = now_ns + MC_MS(m->cfg.client_ttl_ms);
    return c;
}

mc_status_t mc_master_ping(mc_master_t *m, uint64_t now_ns, mc_uuid_t client, uint8_t *client_status,
                           uint64_t *view_version)
{
    mc_client_t *c = mc_m_client_touch(m, now_ns, client);
    if (client_status)
        *client_status = c->ok ? MC_CLIENT_STATUS_OK : MC_CLIENT_STATUS_NEED_REMOUNT;
    if (view_version)
        *view_version = m->view_version;
    return MC_OK;
}

void mc_master_client_expired(mc_master_t *m, uint64_t now_ns, mc_uuid_t client)
{
    mc_client_t *c = mc_map_del(&m->clients, &client, sizeof client);
    mc_free(c);
    /* Graceful unmounts pending for it become immediate. */
    for (uint32_t i = 0; i < m->segs.nslots; i++) {
        mc_seg_t *s = m->segs.segs[i];
        if (s && mc_uuid_eq(s->owner, client) && s->status != MC_SEGMENT_UNMOUNTING)
            mc_m_unmount(m, now_ns, s);
    }
}

/* Deadlines that passed while the master itself was not running (a stall
 * longer than the TTL) say nothing about the clients: upstream expires
 * them all and wipes the index; we give every client a fresh TTL. */
static void forgive_stall(mc_master_t *m, uint64_t now_ns)
{
    uint64_t ttl = MC_MS(m->cfg.client_ttl_ms);
    if (!m->ticked || now_ns - m->last_tick_ns <= ttl)
        return;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->clients, &it, &e);) {
        mc_client_t *c = e->value;
        if (c->deadline_ns < now_ns + ttl)
            c->deadline_ns = now_ns + ttl;
    }
}

void mc_m_clients_tick(mc_master_t *m, uint64_t now_ns)
{
    forgive_stall(m, now_ns);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->clients, &it, &e);) {
        mc_client_t *c = e->value;
        if (c->deadline_ns <= now_ns) {
            if (m->cfg.on_client_expired)
                m->cfg.on_client_expired(m->cfg.hook_ctx, c->id);
            mc_master_client_expired(m, now_ns, c->id);
        }
    }
}
