/* In-memory metadata backend (tests and the simulator). */
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "mc_te_meta.h"
#include "mc_te_status.h"

typedef struct mem_val {
    char *data; /* NUL-terminated copy */
    size_t len;
} mem_val_t;

struct mc_te_meta_mem_store {
    mc_map_t kv; /* key -> mem_val_t* */
    uint32_t refs;
    bool down;
};

enum mem_op_kind { MEM_GET, MEM_PUT, MEM_DEL };

typedef struct mem_client mem_client_t;

typedef struct mem_op {
    mem_client_t *client;
    uint64_t id;
    enum mem_op_kind kind;
    char *key;
    char *value;
    size_t len;
    mc_te_meta_cb cb;
    void *arg;
    mc_timer_t timer;
} mem_op_t;

struct mem_client {
    mc_te_meta_t meta; /* first: handed out as the interface */
    mc_te_meta_mem_store_t *store;
    mc_env_t *env;
    uint64_t latency_ns;
    uint64_t next_id;
    mc_map_t pending; /* id -> mem_op_t* */
};

static void val_free(mem_val_t *v)
{
    if (!v)
        return;
    mc_free(v->data);
    mc_free(v);
}

mc_te_meta_mem_store_t *mc_te_meta_mem_store_new(void)
{
    mc_te_meta_mem_store_t *s = mc_calloc(1, sizeof *s);
    mc_map_init(&s->kv);
    s->refs = 1;
    return s;
}

void mc_te_meta_mem_store_ref(mc_te_meta_mem_store_t *s) { s->refs++; }

void mc_te_meta_mem_store_clear(mc_te_meta_mem_store_t *s)
{
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&s->kv, &it, &e))
        val_free(e->value);
    mc_map_free(&s->kv);
    mc_map_init(&s->kv);
}

void mc_te_meta_mem_store_unref(mc_te_meta_mem_store_t *s)
{
    if (!s)
        return;
    MC_ASSERT(s->refs > 0);
    if (--s->refs)
        return;
    mc_te_meta_mem_store_clear(s);
    mc_map_free(&s->kv);
    mc_free(s);
}

void mc_te_meta_mem_store_set_down(mc_te_meta_mem_store_t *s, bool down) { s->down = down; }

const char *mc_te_meta_mem_store_get(const mc_te_meta_mem_store_t *s, const char *key, size_t *len)
{
    mem_val_t *v = mc_map_gets(&s->kv, key);
    if (len)
        *len = v ? v->len : 0;
    return v ? v->data : NULL;
}

void mc_te_meta_mem_store_put(mc_te_meta_mem_store_t *s, const char *key, const char *value, size_t len)
{
    mem_val_t *v = mc_malloc(sizeof *v);
    v->data = mc_malloc(len + 1);
    memcpy(v->data, value, len);
    v->data[len] = '\0';
    v->len = len;
    val_free(mc_map_puts(&s->kv, key, v));
}

void mc_te_meta_mem_store_del(mc_te_meta_mem_store_t *s, const char *key)
{
    val_free(mc_map_dels(&s->kv, key));
}

uint32_t mc_te_meta_mem_store_count(const mc_te_meta_mem_store_t *s) { return mc_map_count(&s->kv); }

static void op_free(mem_op_t *op)
{
    mc_free(op->key);
    mc_free(op->value);
    mc_free(op);
}

static void op_fire(void *arg)
{
    mem_op_t *op = arg;
    mem_client_t *c = op->client;
    mc_te_meta_mem_store_t *s = c->store;
    op->timer = 0;
    MC_ASSERT(mc_map_delu(&c->pending, op->id) == op);
    int err = s->down ? MC_TE_ERR_METADATA : MC_TE_ERR_OK;
    const char *val = NULL;
    size_t len = 0;
    if (!err) {
        switch (op->kind) {
        case MEM_GET: val = mc_te_meta_mem_store_get(s, op->key, &len); break;
        case MEM_PUT: mc_te_meta_mem_store_put(s, op->key, op->value, op->len); break;
        case MEM_DEL: mc_te_meta_mem_store_del(s, op->key); break;
        }
    }
    /* Copy a get's value: the callback may modify the store. */
    char *copy = val ? mc_memdup(val, len + 1) : NULL;
    if (op->cb)
        op->cb(op->arg, err, copy, len);
    mc_free(copy);
    op_free(op);
}

static uint64_t op_start(mem_client_t *c, enum mem_op_kind kind, const char *key, const char *value,
                         size_t len, mc_te_meta_cb cb, void *arg)
{
    mem_op_t *op = mc_calloc(1, sizeof *op);
    op->client = c;
    op->id = ++c->next_id;
    op->kind = kind;
    op->key = mc_strdup(key);
    if (value) {
        op->value = mc_memdup(value, len);
        op->len = len;
    }
    op->cb = cb;
    op->arg = arg;
    mc_map_putu(&c->pending, op->id, op);
    op->timer = mc_env_timer(c->env, c->latency_ns, op_fire, op);
    return op->id;
}

static uint64_t mem_get(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return op_start(impl, MEM_GET, key, NULL, 0, cb, arg);
}

static uint64_t mem_put(void *impl, const char *key, const char *value, size_t len, mc_te_meta_cb cb,
                        void *arg)
{
    return op_start(impl, MEM_PUT, key, value ? value : "", value ? len : 0, cb, arg);
}

static uint64_t mem_del(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return op_start(impl, MEM_DEL, key, NULL, 0, cb, arg);
}

static void mem_cancel(void *impl, uint64_t req)
{
    mem_client_t *c = impl;
    mem_op_t *op = mc_map_delu(&c->pending, req);
    if (!op)
        return;
    mc_env_timer_cancel(c->env, &op->timer);
    op_free(op);
}

static void mem_destroy(void *impl)
{
    mem_client_t *c = impl;
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&c->pending, &it, &e)) {
        mem_op_t *op = e->value;
        mc_env_timer_cancel(c->env, &op->timer);
        op_free(op);
    }
    mc_map_free(&c->pending);
    mc_te_meta_mem_store_unref(c->store);
    mc_free(c);
}

static const mc_te_meta_ops_t mem_ops = {
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .cancel = mem_cancel,
    .destroy = mem_destroy,
};

mc_te_meta_t *mc_te_meta_mem_open(mc_te_meta_mem_store_t *s, mc_env_t *env, uint64_t latency_ns)
{
    mem_client_t *c = mc_calloc(1, sizeof *c);
    c->meta.ops = &mem_ops;
    c->meta.impl = c;
    c->store = s;
    mc_te_meta_mem_store_ref(s);
    c->env = env;
    c->latency_ns = latency_ns;
    mc_map_init(&c->pending);
    return &c->meta;
}
