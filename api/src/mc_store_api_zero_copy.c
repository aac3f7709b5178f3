/* Calls on caller memory: put_from, upsert_from, get_into (and batch and
 * multi-buffer forms), put_from_with_metadata, put_parts/upsert_parts.
 * Caller buffers of the _from and _into calls must be registered. */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"

/* ---- assembling an object from pieces ---- */

static int put_pieces(mooncake_store_t *s, mc_api_kind_t kind, const void *key, size_t klen, size_t n,
                      const void *const *parts, const size_t *lens, const mooncake_replicate_config_t *cfg,
                      bool staged)
{
    if (!mc_api_usable(s))
        return MC_INVALID_PARAMS;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i] && lens[i])
            return MC_INVALID_PARAMS;
        if (lens[i] > SIZE_MAX - total)
            return MC_INVALID_PARAMS;
        total += lens[i];
    }
    if (total == 0)
        return MC_OK; /* upstream: nothing to store */
    if (n == 1)
        return mc_api_put_value(s, kind, key, klen, parts[0], total, cfg, staged);
    uint8_t *buf = malloc(total);
    if (!buf)
        return MC_BUFFER_OVERFLOW;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i])
            memcpy(buf + off, parts[i], lens[i]);
        off += lens[i];
    }
    int rc = mc_api_put_value(s, kind, key, klen, buf, total, cfg, staged);
    free(buf);
    return rc;
}

int mooncake_store_put_parts(mooncake_store_t *s, const void *key, size_t klen, size_t nparts,
                             const void *const *parts, const size_t *lens, const mooncake_replicate_config_t *cfg)
{
    return put_pieces(s, MC_API_PUT, key, klen, nparts, parts, lens, cfg, true);
}

int mooncake_store_upsert_parts(mooncake_store_t *s, const void *key, size_t klen, size_t nparts,
                                const void *const *parts, const size_t *lens,
                                const mooncake_replicate_config_t *cfg)
{
    return put_pieces(s, MC_API_UPSERT, key, klen, nparts, parts, lens, cfg, true);
}

/* ---- single ---- */

static int put_from_common(mooncake_store_t *s, mc_api_kind_t kind, const void *key, size_t klen, const void *buf,
                           size_t size, const mooncake_replicate_config_t *cfg)
{
    if (!mc_api_usable(s) || mc_api_check_key(key, klen) != MC_OK || (cfg && cfg->prefer_alloc_in_same_node))
        return MC_INVALID_PARAMS;
    if (size == 0)
        return MC_OK;
    if (!mc_api_region_find(s, buf, size, NULL))
        return MC_INVALID_PARAMS; /* not inside a registered buffer */
    return mc_api_put_value(s, kind, key, klen, buf, size, cfg, false);
}

int mooncake_store_put_from(mooncake_store_t *s, const void *key, size_t klen, const void *buf, size_t size,
                            const mooncake_replicate_config_t *cfg)
{
    return put_from_common(s, MC_API_PUT, key, klen, buf, size, cfg);
}

int mooncake_store_upsert_from(mooncake_store_t *s, const void *key, size_t klen, const void *buf, size_t size,
                               const mooncake_replicate_config_t *cfg)
{
    return put_from_common(s, MC_API_UPSERT, key, klen, buf, size, cfg);
}

int mooncake_store_put_from_with_metadata(mooncake_store_t *s, const void *key, size_t klen, const void *buf,
                                          const void *meta, size_t size, size_t meta_size,
                                          const mooncake_replicate_config_t *cfg)
{
    if (!mc_api_usable(s) || mc_api_check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    if (size == 0)
        return MC_OK;
    if (!mc_api_region_find(s, buf, size, NULL) || (meta_size && !mc_api_region_find(s, meta, meta_size, NULL)))
        return MC_INVALID_PARAMS;
    const void *parts[2] = {meta, buf};
    size_t lens[2] = {meta_size, size};
    return put_pieces(s, MC_API_PUT, key, klen, 2, parts, lens, cfg, false);
}

int64_t mooncake_store_get_into(mooncake_store_t *s, const void *key, size_t klen, void *buf, size_t size)
{
    if (!mc_api_usable(s) || mc_api_check_key(key, klen) != MC_OK || !buf || size == 0)
        return MC_INVALID_PARAMS;
    if (!mc_api_region_find(s, buf, size, NULL))
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_GET, .key = key, .klen = klen, .into = buf, .into_size = size};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (int64_t)op.out_len : st;
}

/* ---- batch ---- */

static void batch_put_from_common(mooncake_store_t *s, mc_api_kind_t kind, size_t n, const void *const *keys,
                                  const size_t *klens, const void *const *bufs, const size_t *sizes,
                                  const mooncake_replicate_config_t *cfg, int *results)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        mc_replicate_config_t rc;
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK ||
            (cfg && cfg->prefer_alloc_in_same_node))
            continue;
        if ((results[i] = mc_api_conv_cfg(cfg, n, i, &rc)) != MC_OK)
            continue;
        if (sizes[i] == 0) {
            results[i] = MC_OK;
            continue;
        }
        if (!mc_api_region_find(s, bufs[i], sizes[i], NULL)) {
            results[i] = MC_INVALID_PARAMS;
            continue;
        }
        ops[k] = (mc_api_op_t){.kind = kind, .key = keys[i], .klen = klens[i], .value = bufs[i], .vlen = sizes[i],
                               .rc = rc};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++)
        results[idx[j]] = ops[j].status;
    mc_free(idx);
    mc_free(ops);
}

void mooncake_store_batch_put_from(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   const void *const *bufs, const size_t *sizes,
                                   const mooncake_replicate_config_t *cfg, int *results)
{
    batch_put_from_common(s, MC_API_PUT, n, keys, klens, bufs, sizes, cfg, results);
}

void mooncake_store_batch_upsert_from(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                      const void *const *bufs, const size_t *sizes,
                                      const mooncake_replicate_config_t *cfg, int *results)
{
    batch_put_from_common(s, MC_API_UPSERT, n, keys, klens, bufs, sizes, cfg, results);
}

void mooncake_store_batch_get_into(mooncake_store_t *s, size_t n, const void *const *keys, const size_t *klens,
                                   void *const *bufs, const size_t *sizes, int64_t *results)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK || !bufs[i] || sizes[i] == 0 ||
            !mc_api_region_find(s, bufs[i], sizes[i], NULL))
            continue;
        ops[k] = (mc_api_op_t){.kind = MC_API_GET, .key = keys[i], .klen = klens[i], .into = bufs[i],
                               .into_size = sizes[i]};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++)
        results[idx[j]] = ops[j].status == MC_OK ? (int64_t)ops[j].out_len : ops[j].status;
    mc_free(idx);
    mc_free(ops);
}

/* ---- multi-buffer ---- */

static bool all_registered(mooncake_store_t *s, const void *const *bufs, const size_t *sizes, size_t nb)
{
    for (size_t j = 0; j < nb; j++)
        if (sizes[j] && !mc_api_region_find(s, bufs[j], sizes[j], NULL))
            return false;
    return true;
}

void mooncake_store_batch_put_from_multi_buffers(mooncake_store_t *s, size_t n, const void *const *keys,
                                                 const size_t *klens, const void *const *const *bufs,
                                                 const size_t *const *sizes, const size_t *nbufs,
                                                 const mooncake_replicate_config_t *cfg, int *results)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    uint8_t **tmp = mc_calloc(n, sizeof *tmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        mc_replicate_config_t rc;
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK ||
            !all_registered(s, bufs[i], sizes[i], nbufs[i]))
            continue;
        if ((results[i] = mc_api_conv_cfg(cfg, n, i, &rc)) != MC_OK)
            continue;
        size_t total = 0;
        for (size_t j = 0; j < nbufs[i]; j++)
            total += sizes[i][j];
        if (total == 0) {
            results[i] = MC_INVALID_PARAMS;
            continue;
        }
        tmp[k] = mc_malloc(total);
        size_t off = 0;
        for (size_t j = 0; j < nbufs[i]; j++) {
            memcpy(tmp[k] + off, bufs[i][j], sizes[i][j]);
            off += sizes[i][j];
        }
        ops[k] = (mc_api_op_t){.kind = MC_API_PUT, .key = keys[i], .klen = klens[i], .value = tmp[k], .vlen = total,
                               .rc = rc};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++) {
        results[idx[j]] = ops[j].status;
        mc_free(tmp[j]);
    }
    mc_free(tmp);
    mc_free(idx);
    mc_free(ops);
}

void mooncake_store_batch_get_into_multi_buffers(mooncake_store_t *s, size_t n, const void *const *keys,
                                                 const size_t *klens, void *const *const *bufs,
                                                 const size_t *const *sizes, const size_t *nbufs, int64_t *results)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        results[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK ||
            !all_registered(s, (const void *const *)bufs[i], sizes[i], nbufs[i]))
            continue;
        ops[k] = (mc_api_op_t){.kind = MC_API_GET, .key = keys[i], .klen = klens[i]};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        mc_api_op_t *op = &ops[j];
        results[i] = op->status;
        if (op->status == MC_OK) {
            size_t cap = 0;
            for (size_t b = 0; b < nbufs[i]; b++)
                cap += sizes[i][b];
            if (cap < op->out_len) {
                results[i] = MC_INVALID_PARAMS; /* the buffers cannot hold the object */
            } else {
                size_t off = 0;
                for (size_t b = 0; b < nbufs[i] && off < op->out_len; b++) {
                    size_t c = sizes[i][b] < op->out_len - off ? sizes[i][b] : op->out_len - off;
                    memcpy(bufs[i][b], (uint8_t *)op->out + off, c);
                    off += c;
                }
                results[i] = (int64_t)op->out_len;
            }
        }
        free(op->out);
    }
    mc_free(idx);
    mc_free(ops);
}
