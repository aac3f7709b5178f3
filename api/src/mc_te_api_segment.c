/* Segment-level calls: get_first_buffer_address (re-fetches the
 * descriptor), notifications (drain, send) and the liveness probe. */
#include <stdlib.h>
#include <string.h>

#include "mc_te_api_int.h"

typedef struct seg_op {
    const char *name;
    int kind; /* 0 first buffer, 1 notify, 2 probe */
    const mooncake_te_notify_t *notify;
    uint64_t seg;
    bool refreshed;
    uintptr_t addr_out;
    mc_te_api_call_t *c;
} seg_op_t;

static void seg_fail(seg_op_t *o, const char *what, int err)
{
    mc_te_api_fail(o->c, -1, "%s '%s': %s", what, o->name, mc_te_err_msg(err));
}

static void peer_done(void *arg, int err)
{
    seg_op_t *o = arg;
    if (err)
        seg_fail(o, o->kind == 1 ? "notify" : "probe", err);
    else
        mc_te_api_done(o->c, 0);
}

static void seg_opened(void *arg, int err, uint64_t id)
{
    seg_op_t *o = arg;
    mc_te_t *te = o->c->h->te;
    if (err) {
        seg_fail(o, "open segment", err);
        return;
    }
    o->seg = id;
    if (o->kind == 0 && !o->refreshed && id != MC_TE_LOCAL_SEGMENT_ID) {
        /* The cached descriptor may predate the peer's registrations. */
        o->refreshed = true;
        int r = mc_te_refresh_segment(te, id, seg_opened, o);
        if (r != MC_TE_IN_PROGRESS)
            seg_fail(o, "refresh segment", r);
        return;
    }
    if (o->kind == 0) {
        const mc_te_seg_desc_t *d = mc_te_segment_desc(te, id);
        if (!d || d->nbuffers == 0) {
            mc_te_api_fail(o->c, -1, "segment '%s' has no registered buffer", o->name);
            return;
        }
        o->addr_out = (uintptr_t)d->buffers[0].addr;
        mc_te_api_done(o->c, 0);
        return;
    }
    int rc = o->kind == 1 ? mc_te_send_notify(te, id, o->notify->name ? o->notify->name : "",
                                              o->notify->msg ? o->notify->msg : "", peer_done, o)
                          : mc_te_probe(te, id, peer_done, o);
    if (rc != MC_TE_IN_PROGRESS)
        peer_done(o, rc ? rc : MC_TE_ERR_INVALID_ARGUMENT);
}

static void seg_start(mc_te_api_call_t *c)
{
    seg_op_t *o = c->arg;
    o->c = c;
    uint64_t id;
    int rc = mc_te_open_segment(c->h->te, o->name, seg_opened, o, &id);
    if (rc == MC_TE_ERR_OK)
        seg_opened(o, 0, id);
    else if (rc != MC_TE_IN_PROGRESS)
        seg_fail(o, "open segment", rc);
}

static int seg_run(mooncake_te_t *h, seg_op_t *o)
{
    if (!o->name || !*o->name) {
        mc_te_api_set_error("empty segment name");
        return -1;
    }
    return mc_te_api_run(h, seg_start, o, -1);
}

uintptr_t mooncake_te_get_first_buffer_address(mooncake_te_t *h, const char *segment_name)
{
    seg_op_t o = {.name = segment_name, .kind = 0};
    return seg_run(h, &o) == 0 ? o.addr_out : 0;
}

int mooncake_te_send_notify(mooncake_te_t *h, const char *target, const mooncake_te_notify_t *notify)
{
    if (!notify) {
        mc_te_api_set_error("NULL notify");
        return -1;
    }
    seg_op_t o = {.name = target, .kind = 1, .notify = notify};
    return seg_run(h, &o);
}

int mooncake_te_send_probe(mooncake_te_t *h, const char *peer_server_name)
{
    seg_op_t o = {.name = peer_server_name, .kind = 2};
    return seg_run(h, &o);
}

/* ---- draining notifications ---- */

typedef struct drain {
    mooncake_te_notify_t *out;
    size_t n;
} drain_t;

static void drain_start(mc_te_api_call_t *c)
{
    drain_t *d = c->arg;
    mc_te_notify_t *v = NULL;
    size_t n = mc_te_get_notifies(c->h->te, &v);
    if (n) {
        d->out = calloc(n, sizeof *d->out);
        for (size_t i = 0; d->out && i < n; i++) { /* hand the strings over */
            d->out[i].name = v[i].name;
            d->out[i].msg = v[i].msg;
            v[i].name = v[i].msg = NULL;
        }
        d->n = d->out ? n : 0;
    }
    mc_te_notifies_free(v, n);
    mc_te_api_done(c, 0);
}

size_t mooncake_te_get_notifies(mooncake_te_t *h, mooncake_te_notify_t **out)
{
    drain_t d = {0};
    if (out)
        *out = NULL;
    if (!out || mc_te_api_run(h, drain_start, &d, -1) != 0)
        return 0;
    *out = d.out;
    return d.n;
}

void mooncake_te_notifies_free(mooncake_te_notify_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].msg);
    }
    free(v);
}
