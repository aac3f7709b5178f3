/* The blocking C facade over the asynchronous store client: one loop
 * thread per mooncake_store_t runs the core state machine; API calls post
 * operations to it and wait on a condition variable. */
#include "mooncake/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mc_mem.h"
#include "mc_addr.h"
#include "mc_hw_env.h"
#include "mc_loop.h"
#include "storesvc/mc_store_client.h"

#define PORT_MIN 12300
#define PORT_MAX 14300
#define PORT_TRIES 20
#define SETUP_WAIT_NS (10 * MC_NS_PER_S)

struct mooncake_store {
    mc_loop_t *loop;
    mc_env_t *env;
    FILE *trace_sink; /* structured traces: stderr with MC_TRACE=1, else /dev/null */
    pthread_t thread;
    bool thread_started;
    mc_store_client_t sc;
    bool sc_ready;
    char addr[300];
    char master[300];
    bool closed;
};

/* ---- waiting for the loop ---- */

typedef struct api_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t remaining;
} api_wait_t;

static void wait_init(api_wait_t *w, size_t n)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->remaining = n;
}

static void wait_signal(api_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->remaining--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wait_all(api_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->remaining)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* ---- operations ---- */

typedef enum api_kind {
    API_PUT,
    API_UPSERT,
    API_GET,
    API_EXIST,
    API_SIZE,
    API_REMOVE,
    API_REMOVE_REGEX,
    API_REMOVE_ALL,
    API_HEALTH,
} api_kind_t;

typedef struct api_op {
    mooncake_store_t *s;
    api_wait_t *w;
    api_kind_t kind;
    const void *key;
    size_t klen;
    const void *value;
    size_t vlen;
    mc_replicate_config_t rc;
    bool force;
    const char *pattern;
    /* get destination: user buffer (get_into) or malloc'd */
    void *into;
    size_t into_size;
    void *out;
    size_t out_len;
    /* result */
    mc_status_t status;
    uint64_t value_out;
} api_op_t;

static void api_done(void *arg, const mc_sc_result_t *r)
{
    api_op_t *op = arg;
    op->status = r->status;
    op->value_out = r->value;
    if (op->kind == API_GET && r->status == MC_OK) {
        op->out_len = r->len;
        if (op->into) {
            if (r->len > op->into_size)
                op->status = MC_INVALID_PARAMS; /* buffer smaller than the object */
            else
                memcpy(op->into, r->data, r->len);
        } else {
            op->out = malloc(r->len ? r->len : 1);
            if (!op->out)
                op->status = MC_BUFFER_OVERFLOW;
            else if (r->len)
                memcpy(op->out, r->data, r->len);
        }
    }
    wait_signal(op->w);
}

static void api_start(void *arg)
{
    api_op_t *op = arg;
    mc_store_client_t *c = &op->s->sc;
    mc_slice_t key = mc_slice(op->key, op->klen);
    switch (op->kind) {
    case API_PUT:
    case API_UPSERT:
        mc_sc_put(c, key, op->value, op->vlen, &op->rc, op->kind == API_UPSERT, api_done, op);
        break;
    case API_GET: mc_sc_get(c, key, api_done, op); break;
    case API_EXIST: mc_sc_exist(c, key, api_done, op); break;
    case API_SIZE: mc_sc_get_size(c, key, api_done, op); break;
    case API_REMOVE: mc_sc_remove(c, key, op->force, api_done, op); break;
    case API_REMOVE_REGEX: mc_sc_remove_by_regex(c, op->pattern, op->force, api_done, op); break;
    case API_REMOVE_ALL: mc_sc_remove_all(c, op->force, api_done, op); break;
    case API_HEALTH: {
        mc_sc_result_t r = {.status = MC_OK, .value = c->agent.healthy};
        api_done(op, &r);
        break;
    }
    }
}

/* Validation the client would otherwise reject only after a round trip. */
static mc_status_t check_key(const void *key, size_t klen)
{
    return (!key || klen == 0) ? MC_INVALID_PARAMS : MC_OK;
}

static void run_ops(mooncake_store_t *s, api_op_t *ops, size_t n)
{
    api_wait_t w;
    wait_init(&w, n);
    for (size_t i = 0; i < n; i++) {
        ops[i].s = s;
        ops[i].w = &w;
        if (mc_loop_post(s->loop, api_start, &ops[i]) != 0) {
            ops[i].status = MC_RPC_FAIL;
            wait_signal(&w);
        }
    }
    wait_all(&w);
}

static mc_status_t run_one(mooncake_store_t *s, api_op_t *op)
{
    if (!s || s->closed)
        return MC_INVALID_PARAMS;
    run_ops(s, op, 1);
    return op->status;
}

static void conv_cfg(const mooncake_replicate_config_t *in, mc_replicate_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->replica_num = in ? in->replica_num : 1;
    if (!in)
        return;
    out->with_hard_pin = in->with_hard_pin;
    out->prefer_alloc_in_same_node = in->prefer_alloc_in_same_node;
    out->soft_pin_action = in->with_soft_pin ? MC_SOFT_PIN_ENABLE : MC_SOFT_PIN_PRESERVE;
    out->preferred_segment = in->preferred_segment;
}

void mooncake_replicate_config_init(mooncake_replicate_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->replica_num = 1;
}

static int put_common(mooncake_store_t *s, api_kind_t kind, const void *key, size_t klen, const void *value,
                      size_t vlen, const mooncake_replicate_config_t *cfg)
{
    if (check_key(key, klen) != MC_OK || (!value && vlen) || vlen == 0)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = kind, .key = key, .klen = klen, .value = value, .vlen = vlen};
    conv_cfg(cfg, &op.rc);
    return run_one(s, &op);
}

int mooncake_store_put(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                       const mooncake_replicate_config_t *cfg)
{
    return put_common(s, API_PUT, key, klen, value, vlen, cfg);
}

int mooncake_store_upsert(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                          const mooncake_replicate_config_t *cfg)
{
    return put_common(s, API_UPSERT, key, klen, value, vlen, cfg);
}

int mooncake_store_get(mooncake_store_t *s, const void *key, size_t klen, void **value, size_t *vlen)
{
    *value = NULL;
    *vlen = 0;
    if (check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_GET, .key = key, .klen = klen};
    mc_status_t st = run_one(s, &op);
    if (st == MC_OK) {
        *value = op.out;
        *vlen = op.out_len;
    } else {
        free(op.out);
    }
    return st;
}

int64_t mooncake_store_get_into(mooncake_store_t *s, const void *key, size_t klen, void *buf, size_t size)
{
    if (check_key(key, klen) != MC_OK || !buf || size == 0)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_GET, .key = key, .klen = klen, .into = buf, .into_size = size};
    mc_status_t st = run_one(s, &op);
    return st == MC_OK ? (int64_t)op.out_len : st;
}

int mooncake_store_is_exist(mooncake_store_t *s, const void *key, size_t klen)
{
    if (check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_EXIST, .key = key, .klen = klen};
    mc_status_t st = run_one(s, &op);
    return st == MC_OK ? (int)op.value_out : st;
}

int64_t mooncake_store_get_size(mooncake_store_t *s, const void *key, size_t klen)
{
    if (check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_SIZE, .key = key, .klen = klen};
    mc_status_t st = run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}

int mooncake_store_remove(mooncake_store_t *s, const void *key, size_t klen, bool force)
{
    if (check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_REMOVE, .key = key, .klen = klen, .force = force};
    return run_one(s, &op);
}

int64_t mooncake_store_remove_by_regex(mooncake_store_t *s, const char *regex, bool force)
{
    if (!regex)
        return MC_INVALID_PARAMS;
    api_op_t op = {.kind = API_REMOVE_REGEX, .pattern = regex, .force = force};
    mc_status_t st = run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}

int64_t mooncake_store_remove_all(mooncake_store_t *s, bool force)
{
    api_op_t op = {.kind = API_REMOVE_ALL, .force = force};
    mc_status_t st = run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}

void mooncake_store_batch_put(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              const void *const *values, const size_t *vlens,
                              const mooncake_replicate_config_t *cfg, int *results)
{
    if (!n)
        return;
    api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t k = 0;
    size_t *idx = mc_calloc(n, sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        if (!s || s->closed || check_key(keys[i], klens[i]) != MC_OK || !values[i] || vlens[i] == 0) {
            results[i] = MC_INVALID_PARAMS;
            continue;
        }
        ops[k] = (api_op_t){.kind = API_PUT, .key = keys[i], .klen = klens[i], .value = values[i], .vlen = vlens[i]};
        conv_cfg(cfg, &ops[k].rc);
        idx[k++] = i;
    }
    if (k)
        run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++)
        results[idx[j]] = ops[j].status;
    mc_free(idx);
    mc_free(ops);
}

void mooncake_store_batch_get(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              void **values, size_t *vlens, int *results)
{
    if (!n)
        return;
    api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        values[i] = NULL;
        vlens[i] = 0;
        if (!s || s->closed || check_key(keys[i], klens[i]) != MC_OK) {
            results[i] = MC_INVALID_PARAMS;
            continue;
        }
        ops[k] = (api_op_t){.kind = API_GET, .key = keys[i], .klen = klens[i]};
        idx[k++] = i;
    }
    if (k)
        run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        results[i] = ops[j].status;
        if (ops[j].status == MC_OK) {
            values[i] = ops[j].out;
            vlens[i] = ops[j].out_len;
        } else {
            free(ops[j].out);
        }
    }
    mc_free(idx);
    mc_free(ops);
}

void mooncake_store_batch_is_exist(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   int *results)
{
    if (!n)
        return;
    api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s || s->closed || check_key(keys[i], klens[i]) != MC_OK) {
            results[i] = MC_INVALID_PARAMS;
            continue;
        }
        ops[k] = (api_op_t){.kind = API_EXIST, .key = keys[i], .klen = klens[i]};
        idx[k++] = i;
    }
    if (k)
        run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++)
        results[idx[j]] = ops[j].status == MC_OK ? (int)ops[j].value_out : ops[j].status;
    mc_free(idx);
    mc_free(ops);
}

/* ---- lifecycle ---- */

static void *loop_main(void *arg)
{
    mooncake_store_t *s = arg;
    mc_loop_run(s->loop);
    return NULL;
}

typedef struct ready_probe {
    mooncake_store_t *s;
    api_wait_t w;
    bool ready;
} ready_probe_t;

static void probe_ready(void *arg)
{
    ready_probe_t *p = arg;
    p->ready = mc_store_client_ready(&p->s->sc);
    wait_signal(&p->w);
}

static bool wait_registered(mooncake_store_t *s)
{
    for (uint64_t waited = 0; waited < SETUP_WAIT_NS; waited += 20 * MC_NS_PER_MS) {
        ready_probe_t p = {.s = s};
        wait_init(&p.w, 1);
        if (mc_loop_post(s->loop, probe_ready, &p) != 0)
            return false;
        wait_all(&p.w);
        if (p.ready)
            return true;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* Bind local_hostname (with a port from the dynamic range if it has none). */
static mc_status_t choose_address(mooncake_store_t *s, const char *local_hostname)
{
    char host[256];
    uint16_t port = 0;
    if (mc_addr_split(local_hostname, host, sizeof host, &port) && port) {
        snprintf(s->addr, sizeof s->addr, "%s", local_hostname);
        return mc_hw_env_listen(s->env, s->addr, NULL);
    }
    snprintf(host, sizeof host, "%s", local_hostname);
    const char *lo = getenv("MC_STORE_CLIENT_MIN_PORT"), *hi = getenv("MC_STORE_CLIENT_MAX_PORT");
    uint32_t pmin = lo ? (uint32_t)atoi(lo) : PORT_MIN, pmax = hi ? (uint32_t)atoi(hi) : PORT_MAX;
    if (pmin == 0 || pmax < pmin || pmax > 65535)
        return MC_INVALID_PARAMS;
    uint32_t span = pmax - pmin + 1;
    uint32_t start = (uint32_t)(mc_loop_clock_ns() / 1000) % span;
    for (uint32_t i = 0; i < PORT_TRIES; i++) {
        uint32_t p = pmin + (start + i * 7919u) % span;
        snprintf(s->addr, sizeof s->addr, "%s:%u", host, p);
        if (mc_hw_env_listen(s->env, s->addr, NULL) == MC_OK)
            return MC_OK;
    }
    return MC_RPC_FAIL;
}

static void destroy_on_loop(void *arg)
{
    mooncake_store_t *s = arg;
    if (s->sc_ready) {
        mc_store_client_destroy(&s->sc);
        s->sc_ready = false;
    }
    mc_loop_stop(s->loop);
}

static void teardown(mooncake_store_t *s)
{
    if (s->thread_started) {
        if (mc_loop_post(s->loop, destroy_on_loop, s) != 0)
            mc_loop_stop(s->loop);
        pthread_join(s->thread, NULL);
    } else if (s->sc_ready) {
        mc_store_client_destroy(&s->sc);
    }
    if (s->env)
        mc_hw_env_destroy(s->env);
    if (s->loop)
        mc_loop_destroy(s->loop);
    if (s->trace_sink && s->trace_sink != stderr)
        fclose(s->trace_sink);
    free(s);
}

int mooncake_store_setup(mooncake_store_t **out, const char *local_hostname, const char *metadata_server,
                         uint64_t global_segment_size, uint64_t local_buffer_size, const char *protocol,
                         const char *rdma_devices, const char *master_server_addr)
{
    (void)metadata_server;
    (void)local_buffer_size;
    (void)rdma_devices;
    if (!out || !local_hostname || !*local_hostname || !master_server_addr || !*master_server_addr)
        return MC_INVALID_PARAMS;
    if (protocol && *protocol && strcmp(protocol, "tcp") != 0) {
        fprintf(stderr, "mooncake: protocol '%s' is not available in this build (use \"tcp\")\n", protocol);
        return MC_INVALID_PARAMS;
    }
    mooncake_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return MC_BUFFER_OVERFLOW;
    snprintf(s->master, sizeof s->master, "%s", master_server_addr);
    s->loop = mc_loop_create();
    const char *lvl = getenv("MC_LOG_LEVEL"), *tr = getenv("MC_TRACE");
    /* A library never writes to the application's stdout. */
    s->trace_sink = tr && strcmp(tr, "0") ? stderr : fopen("/dev/null", "w");
    mc_hw_env_opts_t opts = {
        .node_name = local_hostname,
        .log_level = lvl && mc_log_level_parse(lvl) >= 0 ? mc_log_level_parse(lvl) : MC_LOG_WARN,
        .trace_out = s->trace_sink ? s->trace_sink : stderr,
    };
    if (!s->loop || !(s->env = mc_hw_env_create(s->loop, &opts))) {
        teardown(s);
        return MC_INTERNAL_ERROR;
    }
    mc_status_t st = choose_address(s, local_hostname);
    if (st != MC_OK) {
        fprintf(stderr, "mooncake: cannot bind a client port for '%s': %s\n", local_hostname, mc_status_name(st));
        teardown(s);
        return st;
    }
    char err[256] = "";
    mc_sc_config_t cfg = {.master = s->master, .addr = s->addr, .segment_size = global_segment_size};
    st = mc_store_client_init(&s->sc, s->env, &cfg, err, sizeof err);
    if (st != MC_OK) {
        fprintf(stderr, "mooncake: setup failed: %s\n", err);
        teardown(s);
        return st;
    }
    s->sc_ready = true;
    mc_store_client_bind(&s->sc);
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        teardown(s);
        return MC_INTERNAL_ERROR;
    }
    s->thread_started = true;
    if (!wait_registered(s)) {
        fprintf(stderr, "mooncake: master %s did not acknowledge this client within 10 s\n", s->master);
        teardown(s);
        return MC_RPC_FAIL;
    }
    *out = s;
    return MC_OK;
}

void mooncake_store_close(mooncake_store_t *s)
{
    if (!s)
        return;
    s->closed = true;
    teardown(s);
}

const char *mooncake_store_hostname(const mooncake_store_t *s)
{
    return s ? s->addr : "";
}

int mooncake_store_health(const mooncake_store_t *s)
{
    if (!s || s->closed)
        return 1;
    api_op_t op = {.kind = API_HEALTH};
    if (run_one((mooncake_store_t *)s, &op) != MC_OK)
        return 2;
    return op.value_out ? 0 : 2;
}

const char *mooncake_strerror(int code)
{
    return mc_status_name(code);
}

void mooncake_free(void *p)
{
    free(p);
}
