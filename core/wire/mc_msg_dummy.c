#include "mc_msg_dummy.h"

#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_wire_schema.h"

/* Field groups, encoded in this order when present. */
enum {
    F_STATUS = 1 << 0,  /* i32 */
    F_SESSION = 1 << 1, /* uuid */
    F_NAME = 1 << 2,    /* blob */
    F_SHM = 1 << 3,     /* base u64, size u64, is_local_buffer u8 */
    F_BASE = 1 << 4,    /* base u64 */
    F_ADDRS = 1 << 5,   /* count + u64s */
    F_OPS = 1 << 6,     /* count + ops */
    F_RESULTS = 1 << 7, /* count + results */
};

static const mc_wire_schema_t schema[] = {
    {MC_MSG_DUMMY_HELLO, F_NAME},
    {MC_MSG_DUMMY_HELLO_REPLY, F_STATUS | F_SESSION | F_NAME},
    {MC_MSG_DUMMY_SHM_REGISTER, F_SESSION | F_SHM},
    {MC_MSG_DUMMY_SHM_UNREGISTER, F_BASE},
    {MC_MSG_DUMMY_ALLOC, F_ADDRS},
    {MC_MSG_DUMMY_RELEASE, F_ADDRS},
    {MC_MSG_DUMMY_OPS, F_OPS},
    {MC_MSG_DUMMY_OPS_REPLY, F_STATUS | F_RESULTS},
    {MC_MSG_DUMMY_STATUS_REPLY, F_STATUS},
    {MC_MSG_DUMMY_ADDRS_REPLY, F_STATUS | F_ADDRS},
};

static int schema_of(uint16_t type)
{
    return mc_wire_schema_fields(schema, MC_ARRAY_LEN(schema), type);
}

bool mc_msg_dummy_type_known(uint16_t type)
{
    return schema_of(type) >= 0;
}

bool mc_msg_dummy_is_reply(uint16_t type)
{
    return type == MC_MSG_DUMMY_HELLO_REPLY || type == MC_MSG_DUMMY_OPS_REPLY ||
           type == MC_MSG_DUMMY_STATUS_REPLY || type == MC_MSG_DUMMY_ADDRS_REPLY;
}

const char *mc_msg_dummy_type_name(uint16_t type)
{
    switch (type) {
#define MC_MSG_DUMMY_CASE(name, value, str) case (value): return str;
        MC_MSG_DUMMY_TYPE_LIST(MC_MSG_DUMMY_CASE)
#undef MC_MSG_DUMMY_CASE
    }
    return "unknown";
}

/* ---- encoding ---- */

enum {
    CFG_HARD_PIN = 1,
    CFG_SAME_NODE = 2,
    CFG_HAS_TTL = 4,
    CFG_HAS_PREFERRED = 8,
    CFG_HAS_GROUP = 16,
    CFG_ALL = 31,
};

static void put_cfg(mc_wbuf_t *w, const mc_dummy_cfg_t *c)
{
    mc_wbuf_u32(w, c->replica_num);
    mc_wbuf_u8(w, (uint8_t)((c->with_hard_pin ? CFG_HARD_PIN : 0) | (c->prefer_alloc_in_same_node ? CFG_SAME_NODE : 0) |
                            (c->has_soft_pin_ttl ? CFG_HAS_TTL : 0) |
                            (c->has_preferred_segment ? CFG_HAS_PREFERRED : 0) | (c->has_group ? CFG_HAS_GROUP : 0)));
    mc_wbuf_u8(w, c->soft_pin_action);
    mc_wbuf_u64(w, c->soft_pin_ttl_ms);
    if (c->has_preferred_segment)
        mc_wire_put_slice(w, c->preferred_segment);
    mc_wbuf_u32(w, c->npref);
    for (uint32_t i = 0; i < c->npref; i++)
        mc_wire_put_slice(w, c->pref[i]);
    if (c->has_group)
        mc_wire_put_slice(w, c->group);
}

static bool has_key(uint8_t kind)
{
    return kind != MC_DUMMY_OP_REMOVE_REGEX && kind != MC_DUMMY_OP_REMOVE_ALL && kind != MC_DUMMY_OP_HEALTH &&
           kind != MC_DUMMY_OP_QUERY_TASK;
}

static bool is_write(uint8_t kind)
{
    return kind == MC_DUMMY_OP_PUT || kind == MC_DUMMY_OP_UPSERT;
}

static void put_op(mc_wbuf_t *w, const mc_dummy_op_t *op)
{
    mc_wbuf_u8(w, op->kind);
    mc_wbuf_u8(w, op->flags);
    if (has_key(op->kind))
        mc_wire_put_slice(w, op->key);
    switch (op->kind) {
    case MC_DUMMY_OP_PUT:
    case MC_DUMMY_OP_UPSERT:
        put_cfg(w, &op->cfg);
        mc_wbuf_u8(w, op->value_mem);
        if (op->value_mem == MC_DUMMY_MEM_INLINE) {
            mc_wire_put_slice(w, op->value);
        } else {
            mc_wbuf_u64(w, op->value_addr);
            mc_wbuf_u64(w, op->value_len);
        }
        break;
    case MC_DUMMY_OP_GET:
        mc_wbuf_u8(w, op->into_mem);
        if (op->into_mem == MC_DUMMY_MEM_SHM) {
            mc_wbuf_u64(w, op->into_addr);
            mc_wbuf_u64(w, op->into_cap);
        }
        break;
    case MC_DUMMY_OP_SIZE: mc_wbuf_u32(w, op->descs_cap); break;
    case MC_DUMMY_OP_REMOVE_REGEX: mc_wire_put_slice(w, op->pattern); break;
    case MC_DUMMY_OP_COPY_TASK:
        mc_wbuf_u32(w, op->ntargets);
        for (uint32_t i = 0; i < op->ntargets; i++)
            mc_wire_put_slice(w, op->targets[i]);
        break;
    case MC_DUMMY_OP_MOVE_TASK:
        mc_wire_put_slice(w, op->source);
        mc_wire_put_slice(w, op->target);
        break;
    case MC_DUMMY_OP_QUERY_TASK: mc_wire_put_uuid(w, op->task); break;
    default: break;
    }
}

static void put_result(mc_wbuf_t *w, const mc_dummy_result_t *r)
{
    mc_wbuf_i32(w, r->status);
    mc_wbuf_u64(w, r->value);
    mc_wbuf_u64(w, r->out_len);
    mc_wbuf_u8(w, r->out_mem);
    if (r->out_mem == MC_DUMMY_MEM_SHM)
        mc_wbuf_u64(w, r->out_addr);
    else if (r->out_mem == MC_DUMMY_MEM_INLINE)
        mc_wire_put_slice(w, r->out);
    mc_wbuf_u32(w, r->ndescs);
    mc_wbuf_u32(w, r->nentries);
    for (uint32_t i = 0; i < r->nentries; i++) {
        const mc_dummy_desc_t *d = &r->descs[i];
        mc_wbuf_u8(w, d->status);
        mc_wbuf_u8(w, d->type);
        mc_wbuf_u64(w, d->buffer_address);
        mc_wbuf_u64(w, d->size);
        mc_wire_put_slice(w, d->endpoint);
    }
    mc_wbuf_u8(w, r->extra);
    if (r->extra != MC_DUMMY_EXTRA_NONE)
        mc_wire_put_uuid(w, r->task);
    if (r->extra == MC_DUMMY_EXTRA_TASK_INFO) {
        mc_wbuf_i32(w, r->task_type);
        mc_wbuf_i32(w, r->task_status);
        mc_wbuf_u64(w, r->created_at_ms);
        mc_wbuf_u64(w, r->last_updated_at_ms);
        mc_wire_put_uuid(w, r->assigned_client);
        mc_wire_put_slice(w, r->message);
    }
}

void mc_dummy_msg_encode(mc_wbuf_t *w, uint64_t req_id, const mc_dummy_msg_t *m)
{
    int f = schema_of(m->type);
    MC_ASSERT(f >= 0);
    mc_wire_begin(w, m->type, mc_msg_dummy_is_reply(m->type) ? MC_WIRE_FLAG_RESPONSE : 0, req_id);
    if (f & F_STATUS)
        mc_wbuf_i32(w, m->status);
    if (f & F_SESSION)
        mc_wire_put_uuid(w, m->session);
    if (f & F_NAME)
        mc_wire_put_slice(w, m->name);
    if (f & F_SHM) {
        mc_wbuf_u64(w, m->base);
        mc_wbuf_u64(w, m->size);
        mc_wbuf_u8(w, m->is_local_buffer);
    }
    if (f & F_BASE)
        mc_wbuf_u64(w, m->base);
    if (f & F_ADDRS) {
        mc_wbuf_u32(w, m->naddrs);
        for (uint32_t i = 0; i < m->naddrs; i++)
            mc_wbuf_u64(w, m->addrs[i]);
    }
    if (f & F_OPS) {
        mc_wbuf_u32(w, m->nops);
        for (uint32_t i = 0; i < m->nops; i++)
            put_op(w, &m->ops[i]);
    }
    if (f & F_RESULTS) {
        mc_wbuf_u32(w, m->nresults);
        for (uint32_t i = 0; i < m->nresults; i++)
            put_result(w, &m->results[i]);
    }
    mc_wire_finish(w);
}

/* ---- decoding ---- */

static void get_cfg(mc_rbuf_t *r, mc_dummy_cfg_t *c)
{
    c->replica_num = mc_rbuf_u32(r);
    uint8_t fl = mc_rbuf_u8(r);
    if (fl & ~CFG_ALL)
        mc_rbuf_fail(r);
    c->with_hard_pin = fl & CFG_HARD_PIN;
    c->prefer_alloc_in_same_node = fl & CFG_SAME_NODE;
    c->has_soft_pin_ttl = fl & CFG_HAS_TTL;
    c->has_preferred_segment = fl & CFG_HAS_PREFERRED;
    c->has_group = fl & CFG_HAS_GROUP;
    c->soft_pin_action = mc_rbuf_u8(r);
    if (c->soft_pin_action > 2) /* PRESERVE, ENABLE, DISABLE */
        mc_rbuf_fail(r);
    c->soft_pin_ttl_ms = mc_rbuf_u64(r);
    if (c->has_preferred_segment)
        c->preferred_segment = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    c->npref = mc_rbuf_count(r, 4, MC_DUMMY_MAX_PREF);
    c->pref = mc_calloc(c->npref, sizeof *c->pref);
    for (uint32_t i = 0; i < c->npref && mc_rbuf_ok(r); i++)
        c->pref[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    if (c->has_group)
        c->group = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
}

static uint8_t get_mem(mc_rbuf_t *r, bool allow_none, bool allow_inline)
{
    uint8_t m = mc_rbuf_u8(r);
    if ((m == MC_DUMMY_MEM_NONE && !allow_none) || (m == MC_DUMMY_MEM_INLINE && !allow_inline) ||
        m > MC_DUMMY_MEM_SHM)
        mc_rbuf_fail(r);
    return m;
}

static void get_op(mc_rbuf_t *r, mc_dummy_op_t *op)
{
    op->kind = mc_rbuf_u8(r);
    op->flags = mc_rbuf_u8(r);
    if (op->kind < MC_DUMMY_OP_PUT || op->kind > MC_DUMMY_OP_QUERY_TASK)
        mc_rbuf_fail(r);
    if (op->flags & ~(MC_DUMMY_OPF_FORCE | MC_DUMMY_OPF_RELEASE))
        mc_rbuf_fail(r);
    if (!mc_rbuf_ok(r))
        return;
    if (has_key(op->kind))
        op->key = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
    switch (op->kind) {
    case MC_DUMMY_OP_PUT:
    case MC_DUMMY_OP_UPSERT:
        get_cfg(r, &op->cfg);
        op->value_mem = get_mem(r, false, true);
        if (op->value_mem == MC_DUMMY_MEM_INLINE) {
            op->value = mc_rbuf_blob(r, MC_WIRE_MAX_BODY);
        } else {
            op->value_addr = mc_rbuf_u64(r);
            op->value_len = mc_rbuf_u64(r);
        }
        break;
    case MC_DUMMY_OP_GET:
        op->into_mem = get_mem(r, true, false);
        if (op->into_mem == MC_DUMMY_MEM_SHM) {
            op->into_addr = mc_rbuf_u64(r);
            op->into_cap = mc_rbuf_u64(r);
        }
        break;
    case MC_DUMMY_OP_SIZE: op->descs_cap = mc_rbuf_u32(r); break;
    case MC_DUMMY_OP_REMOVE_REGEX: op->pattern = mc_rbuf_blob(r, MC_WIRE_MAX_KEY); break;
    case MC_DUMMY_OP_COPY_TASK:
        op->ntargets = mc_rbuf_count(r, 4, MC_DUMMY_MAX_TARGETS);
        op->targets = mc_calloc(op->ntargets, sizeof *op->targets);
        for (uint32_t i = 0; i < op->ntargets && mc_rbuf_ok(r); i++)
            op->targets[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        break;
    case MC_DUMMY_OP_MOVE_TASK:
        op->source = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        op->target = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        break;
    case MC_DUMMY_OP_QUERY_TASK: op->task = mc_wire_get_uuid(r); break;
    default: break;
    }
    /* RELEASE only makes sense for a staged shared-memory value */
    if ((op->flags & MC_DUMMY_OPF_RELEASE) && !(is_write(op->kind) && op->value_mem == MC_DUMMY_MEM_SHM))
        mc_rbuf_fail(r);
}

static void get_result(mc_rbuf_t *r, mc_dummy_result_t *res)
{
    res->status = mc_rbuf_i32(r);
    res->value = mc_rbuf_u64(r);
    res->out_len = mc_rbuf_u64(r);
    res->out_mem = get_mem(r, true, true);
    if (res->out_mem == MC_DUMMY_MEM_SHM)
        res->out_addr = mc_rbuf_u64(r);
    else if (res->out_mem == MC_DUMMY_MEM_INLINE)
        res->out = mc_rbuf_blob(r, MC_WIRE_MAX_BODY);
    if (res->out_mem == MC_DUMMY_MEM_INLINE && res->out.len != res->out_len)
        mc_rbuf_fail(r);
    res->ndescs = mc_rbuf_u32(r);
    res->nentries = mc_rbuf_u32(r);
    if (res->nentries > MC_DUMMY_MAX_DESCS || res->nentries > res->ndescs) {
        mc_rbuf_fail(r);
        res->nentries = 0;
    }
    for (uint32_t i = 0; i < res->nentries && mc_rbuf_ok(r); i++) {
        mc_dummy_desc_t *d = &res->descs[i];
        d->status = mc_rbuf_u8(r);
        d->type = mc_rbuf_u8(r);
        d->buffer_address = mc_rbuf_u64(r);
        d->size = mc_rbuf_u64(r);
        d->endpoint = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    }
    res->extra = mc_rbuf_u8(r);
    if (res->extra > MC_DUMMY_EXTRA_TASK_INFO)
        mc_rbuf_fail(r);
    if (res->extra != MC_DUMMY_EXTRA_NONE)
        res->task = mc_wire_get_uuid(r);
    if (res->extra == MC_DUMMY_EXTRA_TASK_INFO) {
        res->task_type = mc_rbuf_i32(r);
        res->task_status = mc_rbuf_i32(r);
        res->created_at_ms = mc_rbuf_u64(r);
        res->last_updated_at_ms = mc_rbuf_u64(r);
        res->assigned_client = mc_wire_get_uuid(r);
        res->message = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    }
}

mc_status_t mc_dummy_msg_decode(uint16_t type, mc_rbuf_t *r, mc_dummy_msg_t *m)
{
    memset(m, 0, sizeof *m);
    int f = schema_of(type);
    if (f < 0)
        return MC_INVALID_PARAMS;
    m->type = type;
    if (f & F_STATUS)
        m->status = mc_rbuf_i32(r);
    if (f & F_SESSION)
        m->session = mc_wire_get_uuid(r);
    if (f & F_NAME)
        m->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    if (f & F_SHM) {
        m->base = mc_rbuf_u64(r);
        m->size = mc_rbuf_u64(r);
        m->is_local_buffer = mc_wire_get_bool(r);
    }
    if (f & F_BASE)
        m->base = mc_rbuf_u64(r);
    if (f & F_ADDRS) {
        m->naddrs = mc_rbuf_count(r, 8, MC_DUMMY_MAX_ADDRS);
        m->addrs = mc_calloc(m->naddrs, sizeof *m->addrs);
        for (uint32_t i = 0; i < m->naddrs && mc_rbuf_ok(r); i++)
            m->addrs[i] = mc_rbuf_u64(r);
    }
    if (f & F_OPS) {
        /* smallest op: kind + flags + an empty pattern/key prefix */
        m->nops = mc_rbuf_count(r, 2, MC_DUMMY_MAX_OPS);
        m->ops = mc_calloc(m->nops, sizeof *m->ops);
        for (uint32_t i = 0; i < m->nops && mc_rbuf_ok(r); i++)
            get_op(r, &m->ops[i]);
    }
    if (f & F_RESULTS) {
        /* status + value + out_len + mem + ndescs + nentries + extra */
        m->nresults = mc_rbuf_count(r, 4 + 8 + 8 + 1 + 4 + 4 + 1, MC_DUMMY_MAX_OPS);
        m->results = mc_calloc(m->nresults, sizeof *m->results);
        for (uint32_t i = 0; i < m->nresults && mc_rbuf_ok(r); i++)
            get_result(r, &m->results[i]);
    }
    if (!mc_rbuf_done(r)) {
        mc_dummy_msg_free(m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void mc_dummy_msg_free(mc_dummy_msg_t *m)
{
    if (m->ops)
        for (uint32_t i = 0; i < m->nops; i++) {
            mc_free(m->ops[i].cfg.pref);
            mc_free(m->ops[i].targets);
        }
    mc_free(m->ops);
    mc_free(m->addrs);
    mc_free(m->results);
    m->ops = NULL;
    m->addrs = NULL;
    m->results = NULL;
    m->nops = m->naddrs = m->nresults = 0;
}
