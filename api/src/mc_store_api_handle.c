/* get_buffer: the object's bytes in memory charged to the local buffer,
 * owned by a handle until released (Python's BufferHandle). */
#include <stdlib.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"

struct mooncake_buffer {
    void *data;
    size_t size;
    mc_api_lbuf_t *lbuf; /* charged size bytes; keeps the budget alive */
};

static mooncake_buffer_t *handle_from(mooncake_store_t *s, mc_api_op_t *op, int *err)
{
    if (op->status != MC_OK) {
        *err = op->status;
        free(op->out);
        return NULL;
    }
    if (!mc_api_lbuf_acquire(s->lbuf, op->out_len)) {
        *err = MC_INVALID_PARAMS; /* local buffer exhausted */
        free(op->out);
        return NULL;
    }
    mooncake_buffer_t *h = malloc(sizeof *h);
    if (!h) {
        mc_api_lbuf_release(s->lbuf, op->out_len);
        free(op->out);
        *err = MC_BUFFER_OVERFLOW;
        return NULL;
    }
    *h = (mooncake_buffer_t){.data = op->out, .size = op->out_len, .lbuf = s->lbuf};
    *err = MC_OK;
    return h;
}

mooncake_buffer_t *mooncake_store_get_buffer(mooncake_store_t *s, const void *key, size_t klen, int *err)
{
    int e = MC_INVALID_PARAMS;
    mooncake_buffer_t *h = NULL;
    if (mc_api_check_key(key, klen) == MC_OK && mc_api_usable(s)) {
        mc_api_op_t op = {.kind = MC_API_GET, .key = key, .klen = klen};
        mc_api_run_one(s, &op);
        h = handle_from(s, &op, &e);
    }
    if (err)
        *err = e;
    return h;
}

void mooncake_store_batch_get_buffer(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                     mooncake_buffer_t **out, int *errs)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (errs)
            errs[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK)
            continue;
        ops[k] = (mc_api_op_t){.kind = MC_API_GET, .key = keys[i], .klen = klens[i]};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++) {
        int e;
        out[idx[j]] = handle_from(s, &ops[j], &e);
        if (errs)
            errs[idx[j]] = e;
    }
    mc_free(idx);
    mc_free(ops);
}

void *mooncake_buffer_data(const mooncake_buffer_t *b)
{
    return b ? b->data : NULL;
}

size_t mooncake_buffer_size(const mooncake_buffer_t *b)
{
    return b ? b->size : 0;
}

void mooncake_buffer_release(mooncake_buffer_t *b)
{
    if (!b)
        return;
    mc_api_lbuf_release(b->lbuf, b->size);
    free(b->data);
    free(b);
}
