/* Extra segments (upstream mount_segment / allocate_and_mount_segment and
 * their unmounts, spec store.md §4.15, §8.3): memory the caller gives us
 * joins the pool under our segment name, is remounted with the main
 * segment after NEED_REMOUNT, and leaves at once or after a grace period
 * during which it stays readable but takes no new allocations. */
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"

/* Margin after the grace period before the memory goes: the master
 * unmounts on its next tick (every 100 ms) after the deadline. */
#define DRAIN_MARGIN_NS (500 * MC_NS_PER_MS)

static mc_status_t range_in(const void *p, uint64_t size, uint64_t addr, uint64_t len)
{
    uint64_t base = (uint64_t)(uintptr_t)p;
    return addr >= base && len <= size && addr - base <= size - len ? MC_OK : MC_INVALID_PARAMS;
}

mc_status_t mc_sc_local_range_check(const mc_store_client_t *c, uint64_t addr, uint64_t len, uint32_t rkey)
{
    if (c->segment && rkey == c->segment_rkey)
        return range_in(c->segment, c->cfg.segment_size, addr, len);
    for (uint32_t i = 0; i < c->nextra; i++)
        if (rkey == c->extra[i]->rkey)
            return range_in(c->extra[i]->base, c->extra[i]->size, addr, len);
    return MC_TRANSFER_FAIL;
}

static mc_msg_seg_t seg_msg(const mc_store_client_t *c, mc_uuid_t id, const void *base, uint64_t size,
                            uint32_t rkey)
{
    return (mc_msg_seg_t){
        .id = id,
        .name = mc_slice_cstr(c->addr),
        .base = (uint64_t)(uintptr_t)base,
        .size = size,
        .endpoint = mc_slice_cstr(c->endpoint),
        .protocol = mc_slice_cstr(c->cfg.protocol),
        .rkey = rkey,
    };
}

mc_msg_seg_t *mc_sc_segments_for_remount(mc_store_client_t *c, uint32_t *n)
{
    mc_msg_seg_t *v = mc_calloc(c->nextra + 1, sizeof *v);
    uint32_t k = 0;
    if (c->segment)
        v[k++] = seg_msg(c, c->segment_id, c->segment, c->cfg.segment_size, c->segment_rkey);
    for (uint32_t i = 0; i < c->nextra; i++)
        if (!c->extra[i]->leaving)
            v[k++] = seg_msg(c, c->extra[i]->id, c->extra[i]->base, c->extra[i]->size, c->extra[i]->rkey);
    *n = k;
    return v;
}

static void seg_release(mc_store_client_t *c, mc_sc_seg_t *s)
{
    mc_env_timer_cancel(c->env, &s->drain);
    c->env->ops->mem_unregister(c->env, s->base);
    if (s->release)
        s->release(s->user, s->base, s->size);
    mc_free(s);
}

static void seg_remove(mc_store_client_t *c, mc_sc_seg_t *s)
{
    for (uint32_t i = 0; i < c->nextra; i++) {
        if (c->extra[i] != s)
            continue;
        memmove(&c->extra[i], &c->extra[i + 1], (c->nextra - i - 1) * sizeof *c->extra);
        c->nextra--;
        seg_release(c, s);
        return;
    }
    MC_ASSERT(!"segment not in the table");
}

void mc_sc_segments_free(mc_store_client_t *c)
{
    for (uint32_t i = 0; i < c->nextra; i++)
        seg_release(c, c->extra[i]);
    mc_free(c->extra);
    c->extra = NULL;
    c->nextra = c->cap_extra = 0;
}

static mc_sc_seg_t *seg_find(const mc_store_client_t *c, mc_uuid_t id)
{
    for (uint32_t i = 0; i < c->nextra; i++)
        if (mc_uuid_eq(c->extra[i]->id, id))
            return c->extra[i];
    return NULL;
}

static mc_status_t values_status(mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    mc_store_values_reply_free(&rep);
    return s;
}

/* ---- mount ---- */

typedef struct mount_ctx {
    mc_sc_seg_t *seg; /* not in the table until the master agreed */
} mount_ctx_t;

static void on_mount_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_client_t *c = op->c;
    mc_sc_seg_t *seg = (mc_sc_seg_t *)(void *)op->data;
    op->data = NULL;
    s = values_status(s, hdr, body);
    if (s == MC_OK) {
        if (c->nextra == c->cap_extra) {
            c->cap_extra = c->cap_extra ? c->cap_extra * 2 : 4;
            c->extra = mc_realloc(c->extra, c->cap_extra * sizeof *c->extra);
        }
        c->extra[c->nextra++] = seg;
        op->res.uuid = seg->id;
        mc_env_tracef(c->env, "client.segment_mounted", "size=%llu", (unsigned long long)seg->size);
    } else {
        /* the caller keeps its memory: no release */
        c->env->ops->mem_unregister(c->env, seg->base);
        mc_free(seg);
    }
    mc_sc_op_finish(op, s);
}

void mc_sc_mount_segment(mc_store_client_t *c, void *base, uint64_t size, mc_sc_seg_release_fn release, void *user,
                         mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    op->msg_type = MC_MSG_MOUNT_SEGMENT;
    if (!base || !size) {
        mc_sc_op_finish(op, MC_INVALID_PARAMS);
        return;
    }
    uint32_t rkey = 0;
    mc_status_t s = c->env->ops->mem_register(c->env, base, size, &rkey);
    if (s != MC_OK) {
        mc_sc_op_finish(op, s);
        return;
    }
    mc_sc_seg_t *seg = mc_calloc(1, sizeof *seg);
    seg->rkey = rkey;
    seg->id.hi = mc_env_rand(c->env);
    seg->id.lo = mc_env_rand(c->env);
    seg->base = base;
    seg->size = size;
    seg->release = release;
    seg->user = user;
    seg->c = c;
    /* op->data carries the pending record (op_release frees it if the
     * client is destroyed before the reply) */
    op->data = (uint8_t *)(void *)seg;
    mc_msg_seg_t m = seg_msg(c, seg->id, base, size, rkey);
    mc_store_req_t q = {.type = MC_MSG_MOUNT_SEGMENT, .client = c->agent.id, .nsegs = 1, .segs = &m};
    mc_sc_rpc(op, &q, on_mount_reply);
}

/* ---- unmount ---- */

static void on_drained(void *arg)
{
    mc_sc_seg_t *s = arg;
    s->drain = 0;
    mc_env_tracef(s->c->env, "client.segment_unmounted", "graceful=1");
    seg_remove(s->c, s);
}

static void on_unmount_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_client_t *c = op->c;
    s = values_status(s, hdr, body);
    mc_sc_seg_t *seg = seg_find(c, op->res.uuid);
    if (s == MC_OK && seg) {
        if (op->msg_type == MC_MSG_UNMOUNT_SEGMENT) {
            mc_env_tracef(c->env, "client.segment_unmounted", "graceful=0");
            seg_remove(c, seg);
        } else if (!seg->drain) {
            seg->drain = mc_env_timer(c->env, op->aux + DRAIN_MARGIN_NS, on_drained, seg);
        }
    } else if (seg && op->msg_type == MC_MSG_GRACEFUL_UNMOUNT_SEGMENT && !seg->drain) {
        seg->leaving = false; /* still mounted as before */
    }
    mc_sc_op_finish(op, s);
}

void mc_sc_unmount_segment(mc_store_client_t *c, mc_uuid_t id, uint64_t grace_ms, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    mc_sc_seg_t *seg = seg_find(c, id);
    if (!seg) {
        mc_sc_op_finish(op, MC_INTERNAL_ERROR);
        return;
    }
    op->res.uuid = id;
    op->msg_type = grace_ms ? MC_MSG_GRACEFUL_UNMOUNT_SEGMENT : MC_MSG_UNMOUNT_SEGMENT;
    if (grace_ms) {
        seg->leaving = true;
        op->aux = grace_ms * MC_NS_PER_MS;
    }
    mc_store_req_t q = {.type = op->msg_type, .client = c->agent.id, .seg_id = id, .arg = grace_ms};
    mc_sc_rpc(op, &q, on_unmount_reply);
}
