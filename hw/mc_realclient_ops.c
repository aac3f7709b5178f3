/* Forwarded operations, run on the real store through libmooncake's public
 * calls so a dummy gets exactly a real client's behaviour and codes.
 * Values and destinations are the dummy's shared memory, translated into
 * our mapping (registered with the real store, so the zero-copy calls
 * accept it). */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_realclient.h"

void mc_rc_cfg_to_public(const mc_dummy_cfg_t *in, mc_rc_pub_cfg_t *out)
{
    memset(out, 0, sizeof *out);
    mooncake_replicate_config_init(&out->c);
    out->c.replica_num = in->replica_num;
    out->c.with_hard_pin = in->with_hard_pin;
    out->c.prefer_alloc_in_same_node = in->prefer_alloc_in_same_node;
    out->c.soft_pin_action = in->soft_pin_action;
    out->c.has_soft_pin_ttl = in->has_soft_pin_ttl;
    out->c.soft_pin_ttl_ms = in->soft_pin_ttl_ms;
    if (in->has_preferred_segment)
        out->c.preferred_segment = out->preferred = mc_slice_dup(in->preferred_segment);
    if (in->npref) {
        out->pref = mc_calloc(in->npref, sizeof *out->pref);
        for (uint32_t i = 0; i < in->npref; i++)
            out->pref[i] = mc_slice_dup(in->pref[i]);
        out->c.preferred_segments = (const char *const *)out->pref;
        out->c.n_preferred_segments = in->npref;
    }
    if (in->has_group) {
        out->group_ids[0] = out->group = mc_slice_dup(in->group);
        out->c.group_ids = out->group_ids;
        out->c.n_group_ids = 1;
    }
}

void mc_rc_cfg_free(mc_rc_pub_cfg_t *p, uint32_t npref)
{
    mc_free(p->preferred);
    for (uint32_t i = 0; p->pref && i < npref; i++)
        mc_free(p->pref[i]);
    mc_free(p->pref);
    mc_free(p->group);
}

static int run_write(mc_rc_session_t *s, const mc_dummy_op_t *op)
{
    mooncake_store_t *st = s->srv->store;
    mc_rc_pub_cfg_t pc;
    int rc;
    mc_rc_cfg_to_public(&op->cfg, &pc);
    bool upsert = op->kind == MC_DUMMY_OP_UPSERT;
    if (op->value_mem == MC_DUMMY_MEM_SHM) {
        uint8_t *p = mc_rc_session_translate(s, op->value_addr, op->value_len);
        if (!p || op->value_len == 0)
            rc = MC_INVALID_PARAMS; /* outside what the dummy registered */
        else if (upsert)
            rc = mooncake_store_upsert_from(st, op->key.p, op->key.len, p, op->value_len, &pc.c);
        else
            rc = mooncake_store_put_from(st, op->key.p, op->key.len, p, op->value_len, &pc.c);
        if (op->flags & MC_DUMMY_OPF_RELEASE)
            mc_rc_session_free(s, op->value_addr);
    } else if (upsert) {
        rc = mooncake_store_upsert(st, op->key.p, op->key.len, op->value.p, op->value.len, &pc.c);
    } else {
        rc = mooncake_store_put(st, op->key.p, op->key.len, op->value.p, op->value.len, &pc.c);
    }
    mc_rc_cfg_free(&pc, op->cfg.npref);
    return rc;
}

/* GET without a destination: the object is read straight into the dummy's
 * local buffer (its largest free range, then trimmed to the object); the
 * dummy copies it out and releases the range. Like a real client's
 * local buffer, an object that does not fit fails (-600). Without a local
 * buffer the real client's own staging is used and the bytes go inline. */
static void run_get_staged(mc_rc_session_t *s, const mc_dummy_op_t *op, mc_dummy_result_t *r, void **inline_buf)
{
    uint64_t cap = 0, addr = mc_rc_session_alloc_largest(s, &cap);
    if (addr) {
        uint8_t *p = mc_rc_session_translate(s, addr, cap);
        int64_t n = p ? mooncake_store_get_into(s->srv->store, op->key.p, op->key.len, p, cap) : MC_INTERNAL_ERROR;
        if (n < 0) {
            mc_rc_session_free(s, addr);
            r->status = (int32_t)n;
            return;
        }
        r->status = MC_OK;
        r->out_len = (uint64_t)n;
        r->out_mem = MC_DUMMY_MEM_SHM;
        r->out_addr = mc_rc_session_shrink(s, addr, (uint64_t)n);
        if (!r->out_addr)
            r->out_mem = MC_DUMMY_MEM_NONE; /* empty object: nothing to copy or release */
        return;
    }
    void *v = NULL;
    size_t vlen = 0;
    r->status = mooncake_store_get(s->srv->store, op->key.p, op->key.len, &v, &vlen);
    if (r->status != MC_OK)
        return;
    r->out_len = vlen;
    r->out_mem = MC_DUMMY_MEM_INLINE;
    r->out = mc_slice(v, vlen);
    *inline_buf = v;
}

static void run_get(mc_rc_session_t *s, const mc_dummy_op_t *op, mc_dummy_result_t *r, void **inline_buf)
{
    if (op->into_mem == MC_DUMMY_MEM_NONE) {
        run_get_staged(s, op, r, inline_buf);
        return;
    }
    uint8_t *p = mc_rc_session_translate(s, op->into_addr, op->into_cap);
    if (!p || op->into_cap == 0) {
        r->status = MC_INVALID_PARAMS;
        return;
    }
    int64_t n = mooncake_store_get_into(s->srv->store, op->key.p, op->key.len, p, op->into_cap);
    r->status = n < 0 ? (int32_t)n : MC_OK;
    r->out_len = n < 0 ? 0 : (uint64_t)n;
}

static void run_size(mc_rc_session_t *s, const mc_dummy_op_t *op, mc_dummy_result_t *r, void **bufs, size_t *nb)
{
    mooncake_store_t *st = s->srv->store;
    if (op->descs_cap == 0) {
        int64_t n = mooncake_store_get_size(st, op->key.p, op->key.len);
        r->status = n < 0 ? (int32_t)n : MC_OK;
        r->value = n < 0 ? 0 : (uint64_t)n;
        return;
    }
    mooncake_replica_desc_t d[MC_DUMMY_MAX_DESCS];
    int n = mooncake_store_get_replica_desc(st, op->key.p, op->key.len, d, MC_DUMMY_MAX_DESCS);
    if (n < 0) {
        r->status = n;
        return;
    }
    r->ndescs = (uint32_t)n;
    r->nentries = (uint32_t)n < MC_DUMMY_MAX_DESCS ? (uint32_t)n : MC_DUMMY_MAX_DESCS;
    if (r->nentries > op->descs_cap)
        r->nentries = op->descs_cap;
    /* endpoint strings must live until the reply is sent: owned by bufs */
    for (uint32_t i = 0; i < r->nentries; i++) {
        char *ep = mc_strdup(d[i].transport_endpoint);
        bufs[(*nb)++] = ep;
        r->descs[i].endpoint = mc_slice_cstr(ep);
        r->descs[i].status = (uint8_t)d[i].status;
        r->descs[i].type = (uint8_t)d[i].type;
        r->descs[i].buffer_address = d[i].buffer_address;
        r->descs[i].size = d[i].size;
    }
    r->value = n ? d[0].size : 0;
}

/* Copy/move tasks and their queries: plain forwarding (spec §7.3). */
static void run_task(mc_rc_session_t *s, const mc_dummy_op_t *op, mc_dummy_result_t *r, void **msg_buf)
{
    mooncake_store_t *st = s->srv->store;
    mooncake_uuid_t id = {0, 0};
    if (op->kind == MC_DUMMY_OP_QUERY_TASK) {
        mooncake_task_info_t info;
        r->status = mooncake_store_query_task(st, (mooncake_uuid_t){op->task.hi, op->task.lo}, &info);
        if (r->status != MC_OK)
            return;
        char *msg = mc_strdup(info.message);
        *msg_buf = msg;
        r->extra = MC_DUMMY_EXTRA_TASK_INFO;
        r->task = (mc_uuid_t){info.id.hi, info.id.lo};
        r->task_type = info.type;
        r->task_status = info.status;
        r->created_at_ms = info.created_at_ms;
        r->last_updated_at_ms = info.last_updated_at_ms;
        r->assigned_client = (mc_uuid_t){info.assigned_client.hi, info.assigned_client.lo};
        r->message = mc_slice_cstr(msg);
        return;
    }
    if (op->kind == MC_DUMMY_OP_COPY_TASK) {
        char **t = mc_calloc(op->ntargets ? op->ntargets : 1, sizeof *t);
        for (uint32_t i = 0; i < op->ntargets; i++)
            t[i] = mc_slice_dup(op->targets[i]);
        r->status = mooncake_store_create_copy_task(st, op->key.p, op->key.len, (const char *const *)t, op->ntargets,
                                                    &id);
        for (uint32_t i = 0; i < op->ntargets; i++)
            mc_free(t[i]);
        mc_free(t);
    } else {
        char *src = mc_slice_dup(op->source), *dst = mc_slice_dup(op->target);
        r->status = mooncake_store_create_move_task(st, op->key.p, op->key.len, src, dst, &id);
        mc_free(src);
        mc_free(dst);
    }
    if (r->status == MC_OK) {
        r->extra = MC_DUMMY_EXTRA_TASK_ID;
        r->task = (mc_uuid_t){id.hi, id.lo};
    }
}

void mc_rc_run_ops(mc_rc_session_t *s, const mc_dummy_msg_t *m, mc_dummy_msg_t *reply, void ***inline_bufs)
{
    mooncake_store_t *st = s->srv->store;
    reply->type = MC_MSG_DUMMY_OPS_REPLY;
    reply->status = MC_OK;
    reply->nresults = m->nops;
    reply->results = mc_calloc(m->nops, sizeof *reply->results);
    /* inline GET bytes and endpoint strings, freed after the reply is sent */
    void **bufs = mc_calloc((size_t)m->nops * (1 + MC_DUMMY_MAX_DESCS) + 1, sizeof *bufs);
    size_t nb = 0;
    for (uint32_t i = 0; i < m->nops; i++) {
        /* runs of alike ops go to the real store as one batch call */
        size_t k = mc_rc_run_batch(s, &m->ops[i], m->nops - i, &reply->results[i]);
        if (k) {
            i += (uint32_t)k - 1;
            continue;
        }
        const mc_dummy_op_t *op = &m->ops[i];
        mc_dummy_result_t *r = &reply->results[i];
        int64_t n;
        switch (op->kind) {
        case MC_DUMMY_OP_PUT:
        case MC_DUMMY_OP_UPSERT: r->status = run_write(s, op); break;
        case MC_DUMMY_OP_GET: run_get(s, op, r, &bufs[nb++]); break;
        case MC_DUMMY_OP_EXIST:
            n = mooncake_store_is_exist(st, op->key.p, op->key.len);
            r->status = n < 0 ? (int32_t)n : MC_OK;
            r->value = n > 0;
            break;
        case MC_DUMMY_OP_SIZE: run_size(s, op, r, bufs, &nb); break;
        case MC_DUMMY_OP_REMOVE:
            r->status = mooncake_store_remove(st, op->key.p, op->key.len, op->flags & MC_DUMMY_OPF_FORCE);
            break;
        case MC_DUMMY_OP_REMOVE_REGEX: {
            char *pat = mc_slice_dup(op->pattern);
            n = mooncake_store_remove_by_regex(st, pat, op->flags & MC_DUMMY_OPF_FORCE);
            mc_free(pat);
            r->status = n < 0 ? (int32_t)n : MC_OK;
            r->value = n < 0 ? 0 : (uint64_t)n;
            break;
        }
        case MC_DUMMY_OP_REMOVE_ALL:
            n = mooncake_store_remove_all(st, op->flags & MC_DUMMY_OPF_FORCE);
            r->status = n < 0 ? (int32_t)n : MC_OK;
            r->value = n < 0 ? 0 : (uint64_t)n;
            break;
        case MC_DUMMY_OP_COPY_TASK:
        case MC_DUMMY_OP_MOVE_TASK:
        case MC_DUMMY_OP_QUERY_TASK: run_task(s, op, r, &bufs[nb++]); break;
        case MC_DUMMY_OP_HEALTH:
            r->status = MC_OK;
            r->value = mooncake_store_health(st) == 0;
            break;
        default: r->status = MC_INVALID_PARAMS; break;
        }
    }
    *inline_bufs = bufs;
}
