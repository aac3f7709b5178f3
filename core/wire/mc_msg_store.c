#include "mc_msg_store.h"

#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_wire_schema.h"

/* Field groups, encoded in this order when present. */
enum {
    F_CLIENT = 1 << 0,   /* uuid */
    F_NAME = 1 << 1,     /* blob */
    F_KEYS = 1 << 2,     /* count + blobs */
    F_SIZES = 1 << 3,    /* one u64 per key */
    F_CONFIG = 1 << 4,   /* ReplicateConfig */
    F_END = 1 << 5,      /* replica_type u8, has_checksum u8, checksum u64 */
    F_REVOKE = 1 << 6,   /* replica_type u8 */
    F_FORCE = 1 << 7,    /* u8 */
    F_PATTERN = 1 << 8,  /* blob */
    F_SEGS = 1 << 9,     /* count + segments */
    F_SEGID = 1 << 10,   /* uuid */
    F_ARG = 1 << 11,     /* u64 */
    F_TARGETS = 1 << 12, /* count + blobs */
    F_TASKID = 1 << 13,  /* uuid */
    F_TSTATUS = 1 << 14, /* task status u8 + message blob */
    F_WRITEID = 1 << 15, /* one u32 per key: the writer's write id (0: none) */
};

static const mc_wire_schema_t schema[] = {
    {MC_MSG_MOUNT_SEGMENT, F_CLIENT | F_SEGS},
    {MC_MSG_REMOUNT_SEGMENTS, F_CLIENT | F_NAME | F_SEGS},
    {MC_MSG_UNMOUNT_SEGMENT, F_CLIENT | F_SEGID},
    {MC_MSG_PUT_START, F_CLIENT | F_KEYS | F_SIZES | F_CONFIG | F_WRITEID},
    {MC_MSG_PUT_END, F_CLIENT | F_KEYS | F_END | F_WRITEID},
    {MC_MSG_PUT_REVOKE, F_CLIENT | F_KEYS | F_REVOKE | F_WRITEID},
    {MC_MSG_UPSERT_START, F_CLIENT | F_KEYS | F_SIZES | F_CONFIG | F_WRITEID},
    {MC_MSG_UPSERT_END, F_CLIENT | F_KEYS | F_END | F_WRITEID},
    {MC_MSG_UPSERT_REVOKE, F_CLIENT | F_KEYS | F_REVOKE | F_WRITEID},
    {MC_MSG_GET_REPLICA_LIST, F_KEYS},
    {MC_MSG_GET_REPLICA_LIST_BY_REGEX, F_PATTERN},
    {MC_MSG_EXIST_KEY, F_KEYS},
    {MC_MSG_REMOVE, F_KEYS | F_FORCE},
    {MC_MSG_REMOVE_BY_REGEX, F_PATTERN | F_FORCE},
    {MC_MSG_REMOVE_ALL, F_FORCE},
    {MC_MSG_GRACEFUL_UNMOUNT_SEGMENT, F_CLIENT | F_SEGID | F_ARG},
    {MC_MSG_BATCH_REPLICA_CLEAR, F_CLIENT | F_NAME | F_KEYS},
    {MC_MSG_CREATE_COPY_TASK, F_KEYS | F_TARGETS},
    {MC_MSG_CREATE_MOVE_TASK, F_NAME | F_KEYS | F_TARGETS},
    {MC_MSG_QUERY_TASK, F_TASKID},
    {MC_MSG_FETCH_TASKS, F_CLIENT | F_ARG},
    {MC_MSG_MARK_TASK_COMPLETE, F_CLIENT | F_TASKID | F_TSTATUS},
    {MC_MSG_COPY_START, F_CLIENT | F_NAME | F_KEYS | F_TARGETS},
    {MC_MSG_COPY_END, F_CLIENT | F_KEYS},
    {MC_MSG_COPY_REVOKE, F_CLIENT | F_KEYS},
    {MC_MSG_MOVE_START, F_CLIENT | F_NAME | F_KEYS | F_TARGETS},
    {MC_MSG_MOVE_END, F_CLIENT | F_KEYS},
    {MC_MSG_MOVE_REVOKE, F_CLIENT | F_KEYS},
};

static int schema_of(uint16_t type)
{
    return mc_wire_schema_fields(schema, MC_ARRAY_LEN(schema), type);
}

bool mc_store_req_type_known(uint16_t type)
{
    return schema_of(type) >= 0;
}

/* the shared field encodings (mc_wire_schema.h) under short names */
#define put_uuid mc_wire_put_uuid
#define get_uuid mc_wire_get_uuid
#define put_slice mc_wire_put_slice
#define get_bool mc_wire_get_bool

void mc_store_req_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_req_t *m)
{
    int f = schema_of(m->type);
    MC_ASSERT(f >= 0);
    mc_wire_begin(w, m->type, 0, req_id);
    if (f & F_CLIENT)
        put_uuid(w, m->client);
    if (f & F_NAME)
        put_slice(w, m->name);
    if (f & F_KEYS) {
        mc_wbuf_u32(w, m->nkeys);
        for (uint32_t i = 0; i < m->nkeys; i++)
            put_slice(w, m->keys[i]);
    }
    if (f & F_SIZES)
        for (uint32_t i = 0; i < m->nkeys; i++)
            mc_wbuf_u64(w, m->sizes[i]);
    if (f & F_CONFIG) {
        const mc_msg_config_t *c = &m->cfg;
        mc_wbuf_u32(w, c->replica_num);
        mc_wbuf_u8(w, (uint8_t)(c->with_hard_pin | c->prefer_alloc_in_same_node << 1 | c->has_soft_pin_ttl << 2));
        mc_wbuf_u8(w, c->soft_pin_action);
        mc_wbuf_u64(w, c->soft_pin_ttl_ms);
        mc_wbuf_u32(w, c->npref);
        for (uint32_t i = 0; i < c->npref; i++)
            put_slice(w, c->pref[i]);
    }
    if (f & F_END) {
        mc_wbuf_u8(w, m->replica_type);
        mc_wbuf_u8(w, m->has_checksum);
        mc_wbuf_u64(w, m->checksum);
    }
    if (f & F_REVOKE)
        mc_wbuf_u8(w, m->replica_type);
    if (f & F_FORCE)
        mc_wbuf_u8(w, m->force);
    if (f & F_PATTERN)
        put_slice(w, m->pattern);
    if (f & F_SEGS) {
        mc_wbuf_u32(w, m->nsegs);
        for (uint32_t i = 0; i < m->nsegs; i++) {
            const mc_msg_seg_t *s = &m->segs[i];
            put_uuid(w, s->id);
            put_slice(w, s->name);
            mc_wbuf_u64(w, s->base);
            mc_wbuf_u64(w, s->size);
            put_slice(w, s->endpoint);
            put_slice(w, s->protocol);
            mc_wbuf_u32(w, s->rkey);
        }
    }
    if (f & F_SEGID)
        put_uuid(w, m->seg_id);
    if (f & F_ARG)
        mc_wbuf_u64(w, m->arg);
    if (f & F_TARGETS) {
        mc_wbuf_u32(w, m->ntargets);
        for (uint32_t i = 0; i < m->ntargets; i++)
            put_slice(w, m->targets[i]);
    }
    if (f & F_TASKID)
        put_uuid(w, m->task_id);
    if (f & F_TSTATUS) {
        mc_wbuf_u8(w, m->task_status);
        put_slice(w, m->message);
    }
    if (f & F_WRITEID) /* no ids given: zeros (the master then matches by client and key) */
        for (uint32_t i = 0; i < m->nkeys; i++)
            mc_wbuf_u32(w, m->write_ids ? m->write_ids[i] : 0);
    mc_wire_finish(w);
}

mc_status_t mc_store_req_decode(uint16_t type, mc_rbuf_t *r, mc_store_req_t *m)
{
    memset(m, 0, sizeof *m);
    int f = schema_of(type);
    if (f < 0)
        return MC_INVALID_PARAMS;
    m->type = type;
    if (f & F_CLIENT)
        m->client = get_uuid(r);
    if (f & F_NAME)
        m->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    if (f & F_KEYS) {
        /* each key costs at least its 4-byte length prefix */
        m->nkeys = mc_rbuf_count(r, 4, MC_MSG_STORE_MAX_KEYS);
        m->keys = mc_calloc(m->nkeys, sizeof *m->keys);
        for (uint32_t i = 0; i < m->nkeys && mc_rbuf_ok(r); i++)
            m->keys[i] = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
    }
    if (f & F_SIZES) {
        if (mc_rbuf_left(r) / 8 < m->nkeys)
            mc_rbuf_fail(r);
        m->sizes = mc_calloc(m->nkeys, sizeof *m->sizes);
        for (uint32_t i = 0; i < m->nkeys && mc_rbuf_ok(r); i++)
            m->sizes[i] = mc_rbuf_u64(r);
    }
    if (f & F_CONFIG) {
        mc_msg_config_t *c = &m->cfg;
        c->replica_num = mc_rbuf_u32(r);
        uint8_t flags = mc_rbuf_u8(r);
        if (flags & ~7u)
            mc_rbuf_fail(r);
        c->with_hard_pin = flags & 1;
        c->prefer_alloc_in_same_node = (flags >> 1) & 1;
        c->has_soft_pin_ttl = (flags >> 2) & 1;
        c->soft_pin_action = mc_rbuf_u8(r);
        if (c->soft_pin_action > MC_SOFT_PIN_DISABLE)
            mc_rbuf_fail(r);
        c->soft_pin_ttl_ms = mc_rbuf_u64(r);
        c->npref = mc_rbuf_count(r, 4, MC_MSG_STORE_MAX_PREF);
        c->pref = mc_calloc(c->npref, sizeof *c->pref);
        for (uint32_t i = 0; i < c->npref && mc_rbuf_ok(r); i++)
            c->pref[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    }
    if (f & F_END) {
        m->replica_type = mc_rbuf_u8(r);
        m->has_checksum = get_bool(r);
        m->checksum = mc_rbuf_u64(r);
    }
    if (f & F_REVOKE)
        m->replica_type = mc_rbuf_u8(r);
    if (f & F_FORCE)
        m->force = get_bool(r);
    if (f & F_PATTERN)
        m->pattern = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
    if (f & F_SEGS) {
        /* uuid + 3 blob prefixes + base + size + rkey */
        m->nsegs = mc_rbuf_count(r, 16 + 12 + 16 + 4, MC_MSG_STORE_MAX_SEGS);
        m->segs = mc_calloc(m->nsegs, sizeof *m->segs);
        for (uint32_t i = 0; i < m->nsegs && mc_rbuf_ok(r); i++) {
            mc_msg_seg_t *s = &m->segs[i];
            s->id = get_uuid(r);
            s->name = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
            s->base = mc_rbuf_u64(r);
            s->size = mc_rbuf_u64(r);
            s->endpoint = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
            s->protocol = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
            s->rkey = mc_rbuf_u32(r);
        }
    }
    if (f & F_SEGID)
        m->seg_id = get_uuid(r);
    if (f & F_ARG)
        m->arg = mc_rbuf_u64(r);
    if (f & F_TARGETS) {
        m->ntargets = mc_rbuf_count(r, 4, MC_MSG_STORE_MAX_TARGETS);
        m->targets = mc_calloc(m->ntargets, sizeof *m->targets);
        for (uint32_t i = 0; i < m->ntargets && mc_rbuf_ok(r); i++)
            m->targets[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
    }
    if (f & F_TASKID)
        m->task_id = get_uuid(r);
    if (f & F_TSTATUS) {
        m->task_status = mc_rbuf_u8(r);
        if (m->task_status > MC_TASK_SUCCESS)
            mc_rbuf_fail(r);
        m->message = mc_rbuf_blob(r, MC_MSG_STORE_MAX_MESSAGE);
    }
    if (f & F_WRITEID) {
        if (mc_rbuf_left(r) / 4 < m->nkeys)
            mc_rbuf_fail(r);
        m->write_ids = mc_calloc(m->nkeys, sizeof *m->write_ids);
        for (uint32_t i = 0; i < m->nkeys && mc_rbuf_ok(r); i++)
            m->write_ids[i] = mc_rbuf_u32(r);
    }
    if (!mc_rbuf_done(r)) {
        mc_store_req_free(m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void mc_store_req_free(mc_store_req_t *m)
{
    mc_free(m->keys);
    mc_free(m->sizes);
    mc_free(m->cfg.pref);
    mc_free(m->segs);
    mc_free(m->targets);
    mc_free(m->write_ids);
    m->targets = NULL;
    m->write_ids = NULL;
    m->keys = NULL;
    m->sizes = NULL;
    m->cfg.pref = NULL;
    m->segs = NULL;
}

/* ---- replies ---- */

void mc_store_values_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_values_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_VALUES_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wbuf_u32(w, m->n);
    for (uint32_t i = 0; i < m->n; i++) {
        mc_wbuf_i32(w, m->v[i].status);
        mc_wbuf_u64(w, m->v[i].value);
    }
    mc_wire_finish(w);
}

mc_status_t mc_store_values_reply_decode(mc_rbuf_t *r, mc_store_values_reply_t *m)
{
    memset(m, 0, sizeof *m);
    m->status = mc_rbuf_i32(r);
    m->n = mc_rbuf_count(r, 12, MC_MSG_STORE_MAX_KEYS);
    m->v = mc_calloc(m->n, sizeof *m->v);
    for (uint32_t i = 0; i < m->n && mc_rbuf_ok(r); i++) {
        m->v[i].status = mc_rbuf_i32(r);
        m->v[i].value = mc_rbuf_u64(r);
    }
    if (!mc_rbuf_done(r)) {
        mc_store_values_reply_free(m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void mc_store_values_reply_free(mc_store_values_reply_t *m)
{
    mc_free(m->v);
    m->v = NULL;
    m->n = 0;
}

void mc_store_replicas_reply_begin(mc_wbuf_t *w, uint64_t req_id, bool keyed, int32_t status, uint32_t n)
{
    mc_wire_begin(w, keyed ? MC_MSG_KEYED_REPLICAS_REPLY : MC_MSG_REPLICAS_REPLY, MC_WIRE_FLAG_RESPONSE,
                  req_id);
    mc_wbuf_i32(w, status);
    mc_wbuf_u32(w, n);
}

static void put_cstr(mc_wbuf_t *w, const char *s)
{
    mc_wbuf_str(w, s ? s : "");
}

void mc_store_replicas_reply_add(mc_wbuf_t *w, mc_slice_t key, int32_t status, const mc_replica_list_t *l)
{
    MC_ASSERT(w->len >= MC_WIRE_HDR_LEN);
    uint16_t type = (uint16_t)(w->data[4] | w->data[5] << 8);
    if (type == MC_MSG_KEYED_REPLICAS_REPLY)
        put_slice(w, key);
    mc_wbuf_i32(w, status);
    uint32_t n = (status == MC_OK && l) ? l->n : 0;
    mc_wbuf_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        const mc_replica_desc_t *d = &l->r[i];
        mc_wbuf_u64(w, d->id);
        mc_wbuf_u64(w, d->buffer_address);
        mc_wbuf_u64(w, d->size);
        mc_wbuf_u32(w, d->rkey);
        put_cstr(w, d->endpoint);
        put_cstr(w, d->protocol);
        put_cstr(w, d->segment_name);
        mc_wbuf_u8(w, d->status);
        mc_wbuf_u8(w, d->type);
    }
    mc_wbuf_u64(w, n ? l->lease_ttl_ms : 0);
    mc_wbuf_u8(w, n ? l->has_checksum : 0);
    mc_wbuf_u64(w, n ? l->checksum : 0);
}

void mc_store_replicas_reply_finish(mc_wbuf_t *w)
{
    mc_wire_finish(w);
}

static void get_rlist(mc_rbuf_t *r, mc_store_rlist_t *l)
{
    l->status = mc_rbuf_i32(r);
    l->n = mc_rbuf_u32(r);
    if (l->n > MC_STORE_MAX_REPLICAS) {
        mc_rbuf_fail(r);
        l->n = 0;
    }
    for (uint32_t i = 0; i < l->n && mc_rbuf_ok(r); i++) {
        mc_replica_desc_t *d = &l->r[i];
        d->id = mc_rbuf_u64(r);
        d->buffer_address = mc_rbuf_u64(r);
        d->size = mc_rbuf_u64(r);
        d->rkey = mc_rbuf_u32(r);
        l->endpoint[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        l->protocol[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        l->segment[i] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        d->status = mc_rbuf_u8(r);
        d->type = mc_rbuf_u8(r);
        if (d->status > MC_REPLICA_FAILED)
            mc_rbuf_fail(r);
    }
    l->lease_ttl_ms = mc_rbuf_u64(r);
    l->has_checksum = get_bool(r);
    l->checksum = mc_rbuf_u64(r);
}

mc_status_t mc_store_replicas_reply_decode(uint16_t type, mc_rbuf_t *r, mc_store_replicas_reply_t *m)
{
    memset(m, 0, sizeof *m);
    if (type != MC_MSG_REPLICAS_REPLY && type != MC_MSG_KEYED_REPLICAS_REPLY)
        return MC_INVALID_PARAMS;
    bool keyed = type == MC_MSG_KEYED_REPLICAS_REPLY;
    m->status = mc_rbuf_i32(r);
    /* smallest entry: status + n + lease + flag + checksum (+ key prefix) */
    m->n = mc_rbuf_count(r, 25 + (keyed ? 4 : 0), MC_MSG_STORE_MAX_KEYS);
    m->l = mc_calloc(m->n, sizeof *m->l);
    if (keyed)
        m->keys = mc_calloc(m->n, sizeof *m->keys);
    for (uint32_t i = 0; i < m->n && mc_rbuf_ok(r); i++) {
        if (keyed)
            m->keys[i] = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
        get_rlist(r, &m->l[i]);
    }
    if (!mc_rbuf_done(r)) {
        mc_store_replicas_reply_free(m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void mc_store_replicas_reply_free(mc_store_replicas_reply_t *m)
{
    mc_free(m->l);
    mc_free(m->keys);
    m->l = NULL;
    m->keys = NULL;
    m->n = 0;
}

/* ---- task replies ---- */

void mc_store_task_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_task_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_TASK_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    put_uuid(w, m->id);
    mc_wbuf_u8(w, m->type);
    mc_wbuf_u8(w, m->task_status);
    mc_wbuf_u64(w, m->created_ms);
    mc_wbuf_u64(w, m->updated_ms);
    put_uuid(w, m->assigned_client);
    put_slice(w, m->message);
    mc_wire_finish(w);
}

mc_status_t mc_store_task_reply_decode(mc_rbuf_t *r, mc_store_task_reply_t *m)
{
    memset(m, 0, sizeof *m);
    m->status = mc_rbuf_i32(r);
    m->id = get_uuid(r);
    m->type = mc_rbuf_u8(r);
    m->task_status = mc_rbuf_u8(r);
    if (m->type > MC_TASK_REPLICA_MOVE || m->task_status > MC_TASK_SUCCESS)
        mc_rbuf_fail(r);
    m->created_ms = mc_rbuf_u64(r);
    m->updated_ms = mc_rbuf_u64(r);
    m->assigned_client = get_uuid(r);
    m->message = mc_rbuf_blob(r, MC_MSG_STORE_MAX_MESSAGE);
    return mc_rbuf_done(r) ? MC_OK : MC_INVALID_PARAMS;
}

void mc_store_tasks_reply_encode(mc_wbuf_t *w, uint64_t req_id, const mc_store_tasks_reply_t *m)
{
    mc_wire_begin(w, MC_MSG_TASKS_REPLY, MC_WIRE_FLAG_RESPONSE, req_id);
    mc_wbuf_i32(w, m->status);
    mc_wbuf_u32(w, m->n);
    for (uint32_t i = 0; i < m->n; i++) {
        const mc_store_task_assign_t *t = &m->t[i];
        put_uuid(w, t->id);
        mc_wbuf_u8(w, t->type);
        put_slice(w, t->key);
        put_slice(w, t->source);
        mc_wbuf_u32(w, t->ntargets);
        for (uint32_t k = 0; k < t->ntargets; k++)
            put_slice(w, t->targets[k]);
        mc_wbuf_u64(w, t->created_ms);
        mc_wbuf_u32(w, t->max_retry);
    }
    mc_wire_finish(w);
}

mc_status_t mc_store_tasks_reply_decode(mc_rbuf_t *r, mc_store_tasks_reply_t *m)
{
    memset(m, 0, sizeof *m);
    m->status = mc_rbuf_i32(r);
    /* smallest entry: uuid + type + 2 blob prefixes + count + created + retry */
    m->n = mc_rbuf_count(r, 16 + 1 + 8 + 4 + 8 + 4, MC_MSG_STORE_MAX_TASKS);
    m->t = mc_calloc(m->n, sizeof *m->t);
    for (uint32_t i = 0; i < m->n && mc_rbuf_ok(r); i++) {
        mc_store_task_assign_t *t = &m->t[i];
        t->id = get_uuid(r);
        t->type = mc_rbuf_u8(r);
        if (t->type > MC_TASK_REPLICA_MOVE)
            mc_rbuf_fail(r);
        t->key = mc_rbuf_blob(r, MC_WIRE_MAX_KEY);
        t->source = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        t->ntargets = mc_rbuf_count(r, 4, MC_MSG_STORE_MAX_TARGETS);
        t->targets = mc_calloc(t->ntargets, sizeof *t->targets);
        for (uint32_t k = 0; k < t->ntargets && mc_rbuf_ok(r); k++)
            t->targets[k] = mc_rbuf_blob(r, MC_WIRE_MAX_NAME);
        t->created_ms = mc_rbuf_u64(r);
        t->max_retry = mc_rbuf_u32(r);
    }
    if (!mc_rbuf_done(r)) {
        mc_store_tasks_reply_free(m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void mc_store_tasks_reply_free(mc_store_tasks_reply_t *m)
{
    for (uint32_t i = 0; m->t && i < m->n; i++)
        mc_free(m->t[i].targets);
    mc_free(m->t);
    m->t = NULL;
    m->n = 0;
}

bool mc_msg_store_type_known(uint16_t type)
{
    return mc_store_req_type_known(type) || type == MC_MSG_VALUES_REPLY || type == MC_MSG_REPLICAS_REPLY ||
           type == MC_MSG_KEYED_REPLICAS_REPLY || type == MC_MSG_TASK_REPLY || type == MC_MSG_TASKS_REPLY;
}

const char *mc_msg_store_type_name(uint16_t type)
{
    switch (type) {
#define MC_MSG_STORE_CASE(name, value, str) case (value): return str;
        MC_MSG_STORE_TYPE_LIST(MC_MSG_STORE_CASE)
#undef MC_MSG_STORE_CASE
    }
    return "unknown";
}

mc_status_t mc_msg_store_validate(uint16_t type, mc_rbuf_t *r)
{
    mc_status_t s;
    if (type == MC_MSG_VALUES_REPLY) {
        mc_store_values_reply_t v;
        s = mc_store_values_reply_decode(r, &v);
        mc_store_values_reply_free(&v);
    } else if (type == MC_MSG_REPLICAS_REPLY || type == MC_MSG_KEYED_REPLICAS_REPLY) {
        mc_store_replicas_reply_t v;
        s = mc_store_replicas_reply_decode(type, r, &v);
        mc_store_replicas_reply_free(&v);
    } else if (type == MC_MSG_TASK_REPLY) {
        mc_store_task_reply_t v;
        s = mc_store_task_reply_decode(r, &v);
    } else if (type == MC_MSG_TASKS_REPLY) {
        mc_store_tasks_reply_t v;
        s = mc_store_tasks_reply_decode(r, &v);
        mc_store_tasks_reply_free(&v);
    } else {
        mc_store_req_t v;
        s = mc_store_req_decode(type, r, &v);
        mc_store_req_free(&v);
    }
    return s;
}
