/* Batch forms of the copying calls: every key's operation is issued at
 * once on the loop and the call waits for all. Keys rejected before the
 * round trip get -600 in their slot; the rest get their own result. */
#include <stdlib.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"

typedef struct batch {
    mc_api_op_t *ops;
    size_t *idx; /* ops[j] answers key idx[j] */
    uint64_t *charged;
    size_t k;
} batch_t;

static void batch_init(batch_t *b, size_t n)
{
    b->ops = mc_calloc(n, sizeof *b->ops);
    b->idx = mc_calloc(n, sizeof *b->idx);
    b->charged = mc_calloc(n, sizeof *b->charged);
    b->k = 0;
}

static mc_api_op_t *batch_add(batch_t *b, size_t i)
{
    b->idx[b->k] = i;
    return &b->ops[b->k++];
}

static void batch_run(mooncake_store_t *s, batch_t *b)
{
    if (b->k)
        mc_api_run_ops(s, b->ops, b->k);
    for (size_t j = 0; j < b->k; j++)
        if (b->charged[j])
            mc_api_lbuf_release(s->lbuf, b->charged[j]);
}

static void batch_free(batch_t *b)
{
    mc_free(b->ops);
    mc_free(b->idx);
    mc_free(b->charged);
}

static void batch_put_common(mooncake_store_t *s, mc_api_kind_t kind, size_t n, const void *const *keys,
                             const size_t *klens, const void *const *values, const size_t *vlens,
                             const mooncake_replicate_config_t *cfg, int *results)
{
    if (!n)
        return;
    batch_t b;
    batch_init(&b, n);
    for (size_t i = 0; i < n; i++) {
        mc_replicate_config_t rc;
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK || !values[i] || vlens[i] == 0 ||
            (cfg && cfg->prefer_alloc_in_same_node))
            continue;
        if ((results[i] = mc_api_conv_cfg(cfg, n, i, &rc)) != MC_OK)
            continue;
        if (!mc_api_lbuf_acquire(s->lbuf, vlens[i])) {
            results[i] = MC_INVALID_PARAMS; /* local buffer exhausted */
            continue;
        }
        b.charged[b.k] = vlens[i];
        mc_api_op_t *op = batch_add(&b, i);
        *op = (mc_api_op_t){.kind = kind, .key = keys[i], .klen = klens[i], .value = values[i], .vlen = vlens[i],
                            .rc = rc};
    }
    batch_run(s, &b);
    for (size_t j = 0; j < b.k; j++)
        results[b.idx[j]] = b.ops[j].status;
    batch_free(&b);
}

void mooncake_store_batch_put(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              const void *const *values, const size_t *vlens,
                              const mooncake_replicate_config_t *cfg, int *results)
{
    batch_put_common(s, MC_API_PUT, n, keys, klens, values, vlens, cfg, results);
}

void mooncake_store_batch_upsert(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                 const void *const *values, const size_t *vlens,
                                 const mooncake_replicate_config_t *cfg, int *results)
{
    batch_put_common(s, MC_API_UPSERT, n, keys, klens, values, vlens, cfg, results);
}

void mooncake_store_batch_get(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                              void **values, size_t *vlens, int *results)
{
    if (!n)
        return;
    batch_t b;
    batch_init(&b, n);
    for (size_t i = 0; i < n; i++) {
        values[i] = NULL;
        vlens[i] = 0;
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK)
            continue;
        *batch_add(&b, i) = (mc_api_op_t){.kind = MC_API_GET, .key = keys[i], .klen = klens[i]};
    }
    batch_run(s, &b);
    for (size_t j = 0; j < b.k; j++) {
        size_t i = b.idx[j];
        mc_api_op_t *op = &b.ops[j];
        results[i] = op->status;
        if (op->status == MC_OK && !mc_api_lbuf_acquire(s->lbuf, op->out_len))
            results[i] = MC_INVALID_PARAMS; /* does not fit the local buffer */
        else if (op->status == MC_OK)
            mc_api_lbuf_release(s->lbuf, op->out_len);
        if (results[i] == MC_OK) {
            values[i] = op->out;
            vlens[i] = op->out_len;
        } else {
            free(op->out);
        }
    }
    batch_free(&b);
}

static void batch_keyed(mooncake_store_t *s, mc_api_kind_t kind, bool force, size_t n, const void *const *keys,
                        const size_t *klens, int *results)
{
    if (!n)
        return;
    batch_t b;
    batch_init(&b, n);
    for (size_t i = 0; i < n; i++) {
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK)
            continue;
        *batch_add(&b, i) = (mc_api_op_t){.kind = kind, .key = keys[i], .klen = klens[i], .force = force};
    }
    batch_run(s, &b);
    for (size_t j = 0; j < b.k; j++) {
        mc_api_op_t *op = &b.ops[j];
        if (kind == MC_API_EXIST)
            results[b.idx[j]] = op->status == MC_OK ? (op->value_out ? 1 : 0) : op->status;
        else
            results[b.idx[j]] = op->status;
    }
    batch_free(&b);
}

void mooncake_store_batch_is_exist(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   int *results)
{
    batch_keyed(s, MC_API_EXIST, false, n, keys, klens, results);
}

void mooncake_store_batch_remove(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                 bool force, int *results)
{
    batch_keyed(s, MC_API_REMOVE, force, n, keys, klens, results);
}
