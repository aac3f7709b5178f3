/* Operations handed to the store's loop thread (after the caller's thread took
 * the gets it can do itself, mc_store_api_direct.c); the caller waits on a
 * condition variable until every operation of its call has completed. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_api_int.h"
#include "wire/mc_wire.h"

struct mc_api_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t remaining;
};

static void wait_init(mc_api_wait_t *w, size_t n)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->remaining = n;
}

/* One waiter per wait: wake it once, when the last operation is done
 * (not once per operation of a batch). */
static void wait_signal(mc_api_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    if (--w->remaining == 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wait_all(mc_api_wait_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->remaining)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* Runs on the loop thread: the object bytes are only valid here. */
static void op_done(void *arg, const mc_sc_result_t *r)
{
    mc_api_op_t *op = arg;
    op->status = r->status;
    op->value_out = r->value;
    if (op->kind == MC_API_SIZE && r->status == MC_OK && r->descs) {
        op->ndescs = r->replicas;
        for (size_t i = 0; op->descs && i < r->replicas && i < op->descs_cap; i++) {
            mooncake_replica_desc_t *d = &op->descs[i];
            d->status = r->descs[i].status;
            d->type = r->descs[i].type;
            d->buffer_address = r->descs[i].buffer_address;
            d->size = r->descs[i].size;
            /* Upstream: the segment name, except in P2PHANDSHAKE mode (spec §10.13). */
            const char (*ep)[256] = op->s->p2p ? r->endpoints : r->segments;
            snprintf(d->transport_endpoint, sizeof d->transport_endpoint, "%s", ep ? ep[i] : "");
        }
    }
    if (op->kind == MC_API_GET && r->status == MC_OK) {
        op->out_len = r->len;
        if (op->into) {
            /* the client read straight into it (get_into checked the size) */
        } else if (r->own && *r->own) {
            op->out = *r->own; /* the client's read buffer becomes the caller's */
            *r->own = NULL;
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

static void op_start(void *arg)
{
    mc_api_op_t *op = arg;
    mc_store_client_t *c = &op->s->sc;
    mc_slice_t key = mc_slice(op->key, op->klen);
    switch (op->kind) {
    case MC_API_PUT:
    case MC_API_UPSERT:
        mc_sc_put(c, key, op->value, op->vlen, &op->rc, op->kind == MC_API_UPSERT, op_done, op);
        break;
    case MC_API_GET:
        if (op->into)
            mc_sc_get_into(c, key, op->into, op->into_size, op_done, op);
        else
            mc_sc_get(c, key, op_done, op);
        break;
    case MC_API_EXIST: mc_sc_exist(c, key, op_done, op); break;
    case MC_API_SIZE: mc_sc_get_size(c, key, op_done, op); break;
    case MC_API_REMOVE: mc_sc_remove(c, key, op->force, op_done, op); break;
    case MC_API_REMOVE_REGEX: mc_sc_remove_by_regex(c, op->pattern, op->force, op_done, op); break;
    case MC_API_REMOVE_ALL: mc_sc_remove_all(c, op->force, op_done, op); break;
    case MC_API_UNMOUNT: mc_sc_unmount(c, op_done, op); break;
    case MC_API_HEALTH: {
        mc_sc_result_t r = {.status = MC_OK, .value = c->agent.healthy};
        op_done(op, &r);
        break;
    }
    }
}

typedef struct op_batch {
    mc_api_op_t *ops;
    size_t n;
} op_batch_t;

/* Same replication config (group ids are per key and not sent by the
 * client; pointers compared: a batch call converts one config for all). */
static bool same_rc(const mc_replicate_config_t *a, const mc_replicate_config_t *b)
{
    return a->replica_num == b->replica_num && a->with_hard_pin == b->with_hard_pin &&
           a->prefer_alloc_in_same_node == b->prefer_alloc_in_same_node && a->soft_pin_action == b->soft_pin_action &&
           a->has_soft_pin_ttl == b->has_soft_pin_ttl && a->soft_pin_ttl_ms == b->soft_pin_ttl_ms &&
           a->preferred_segment == b->preferred_segment && a->preferred_segments == b->preferred_segments &&
           a->n_preferred_segments == b->n_preferred_segments;
}

/* Runs of ops that one master RPC can carry: gets, exists, removes (same
 * force), puts / upserts (same config: one BatchPutStart). */
static bool batchable(const mc_api_op_t *a, const mc_api_op_t *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == MC_API_PUT || a->kind == MC_API_UPSERT)
        return same_rc(&a->rc, &b->rc);
    return a->kind == MC_API_GET || a->kind == MC_API_EXIST || (a->kind == MC_API_REMOVE && a->force == b->force);
}

/* Starts ops[0..k) with one batch call. Everything is read from ops
 * before the call: once their last callback has run the caller may
 * return and ops is gone. */
static void op_start_batch(mc_api_op_t *ops, size_t k)
{
    mc_store_client_t *c = &ops[0].s->sc;
    mc_api_kind_t kind = ops[0].kind;
    bool force = ops[0].force;
    mc_slice_t *keys = malloc(k * sizeof *keys);
    void **dsts = malloc(k * sizeof *dsts);
    size_t *caps = malloc(k * sizeof *caps);
    void **args = malloc(k * sizeof *args);
    const void **vals = malloc(k * sizeof *vals);
    if (!keys || !dsts || !caps || !args || !vals) {
        for (size_t i = 0; i < k; i++)
            op_start(&ops[i]); /* one by one, as before */
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        keys[i] = mc_slice(ops[i].key, ops[i].klen);
        dsts[i] = ops[i].into;
        caps[i] = ops[i].into_size;
        args[i] = &ops[i];
        vals[i] = ops[i].value;
    }
    if (kind == MC_API_PUT || kind == MC_API_UPSERT) {
        /* caps holds the value lengths here; rc is copied before any op can finish */
        for (size_t i = 0; i < k; i++)
            caps[i] = ops[i].vlen;
        mc_replicate_config_t rc = ops[0].rc;
        mc_sc_batch_put(c, (uint32_t)k, keys, vals, caps, &rc, kind == MC_API_UPSERT, op_done, args);
    } else if (kind == MC_API_GET)
        mc_sc_batch_get(c, (uint32_t)k, keys, dsts, caps, op_done, args);
    else if (kind == MC_API_EXIST)
        mc_sc_batch_exist(c, (uint32_t)k, keys, op_done, args);
    else
        mc_sc_batch_remove(c, (uint32_t)k, keys, force, op_done, args);
out:
    free(keys);
    free(dsts);
    free(caps);
    free(args);
    free(vals);
}

static void op_start_all(void *arg)
{
    /* b lives on the caller's stack: once the last op completes (possibly
     * inside op_start) the caller may return, so read it up front. */
    op_batch_t *b = arg;
    mc_api_op_t *ops = b->ops;
    size_t n = b->n;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1; /* ops[j] is read before ops[i..j) start */
        while (j < n && j - i < UINT32_MAX && batchable(&ops[i], &ops[j]))
            j++;
        if (j - i > 1)
            op_start_batch(ops + i, j - i);
        else
            op_start(&ops[i]);
        i = j;
    }
}

static void run_on_loop(mooncake_store_t *s, mc_api_op_t *ops, size_t n)
{
    mc_api_wait_t w;
    wait_init(&w, n);
    for (size_t i = 0; i < n; i++) {
        ops[i].s = s;
        ops[i].w = &w;
    }
    /* One hand-off to the loop for the whole batch (one wake-up). */
    op_batch_t b = {ops, n};
    if (mc_loop_post(s->loop, op_start_all, &b) != 0)
        for (size_t i = 0; i < n; i++) {
            ops[i].status = MC_RPC_FAIL;
            wait_signal(&w);
        }
    wait_all(&w);
}

/* The ops the caller's thread did not finish (not done), on the loop; the
 * caller's array keeps its order. */
static void run_rest_on_loop(mooncake_store_t *s, mc_api_op_t *ops, size_t n, size_t ndone)
{
    size_t gets = 0;
    for (size_t i = 0; i < n; i++)
        gets += !ops[i].done && ops[i].kind == MC_API_GET;
    mc_api_direct_count_loop(s->direct, gets);
    if (ndone == 0) {
        run_on_loop(s, ops, n);
        return;
    }
    mc_api_op_t *rest = malloc((n - ndone) * sizeof *rest);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!ops[i].done) {
            if (rest)
                rest[k] = ops[i];
            k++;
        }
    assert(k == n - ndone);
    if (!rest) {
        for (size_t i = 0; i < n; i++)
            if (!ops[i].done)
                ops[i].status = MC_BUFFER_OVERFLOW;
        return;
    }
    run_on_loop(s, rest, k);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (!ops[i].done)
            ops[i] = rest[k++];
    free(rest);
}

void mc_api_run_ops(mooncake_store_t *s, mc_api_op_t *ops, size_t n)
{
    if (s->dummy) { /* setup_dummy: a mooncake_client runs them */
        mc_api_dummy_run_ops(s, ops, n);
        return;
    }
    if (n == 0)
        return;
    size_t ndone = s->direct ? mc_api_direct_gets(s, ops, n) : 0;
    if (ndone < n)
        run_rest_on_loop(s, ops, n, ndone);
}

mc_status_t mc_api_run_one(mooncake_store_t *s, mc_api_op_t *op)
{
    if (!mc_api_usable(s))
        return MC_INVALID_PARAMS;
    mc_api_run_ops(s, op, 1);
    return op->status;
}

typedef struct on_loop_call {
    void (*fn)(void *);
    void *arg;
    mc_api_wait_t w;
} on_loop_call_t;

static void on_loop_run(void *arg)
{
    on_loop_call_t *c = arg;
    c->fn(c->arg);
    wait_signal(&c->w);
}

mc_status_t mc_api_on_loop(mooncake_store_t *s, void (*fn)(void *), void *arg)
{
    if (s->dummy)
        return MC_INTERNAL_ERROR; /* no local store client: RealClient-only calls are -1 */
    on_loop_call_t c = {.fn = fn, .arg = arg};
    wait_init(&c.w, 1);
    if (mc_loop_post(s->loop, on_loop_run, &c) != 0) {
        pthread_cond_destroy(&c.w.cv);
        pthread_mutex_destroy(&c.w.mu);
        return MC_RPC_FAIL;
    }
    wait_all(&c.w);
    return MC_OK;
}

mc_status_t mc_api_check_key(const void *key, size_t klen)
{
    return (!key || klen == 0 || klen > MC_WIRE_MAX_KEY) ? MC_INVALID_PARAMS : MC_OK;
}
