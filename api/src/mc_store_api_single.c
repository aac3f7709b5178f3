/* One-key calls: put, upsert, get, get_into, is_exist, get_size, remove,
 * and the pattern calls remove_by_regex / remove_all. */
#include <stdlib.h>

#include "mc_store_api_int.h"

int mc_api_put_value(mooncake_store_t *s, mc_api_kind_t kind, const void *key, size_t klen, const void *value,
                     size_t vlen, const mooncake_replicate_config_t *cfg, bool staged)
{
    if (!mc_api_usable(s) || mc_api_check_key(key, klen) != MC_OK || !value || vlen == 0)
        return MC_INVALID_PARAMS;
    if (cfg && cfg->prefer_alloc_in_same_node)
        return MC_INVALID_PARAMS; /* upstream: only the multi-buffer batch calls honour it */
    mc_api_op_t op = {.kind = kind, .key = key, .klen = klen, .value = value, .vlen = vlen};
    mc_status_t st = mc_api_conv_cfg(cfg, 1, 0, &op.rc);
    if (st != MC_OK)
        return st;
    if (staged && !mc_api_lbuf_acquire(s->lbuf, vlen))
        return MC_INVALID_PARAMS; /* local buffer exhausted (upstream: allocation failure) */
    st = mc_api_run_one(s, &op);
    if (staged)
        mc_api_lbuf_release(s->lbuf, vlen);
    return st;
}

int mooncake_store_put(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                       const mooncake_replicate_config_t *cfg)
{
    return mc_api_put_value(s, MC_API_PUT, key, klen, value, vlen, cfg, true);
}

int mooncake_store_upsert(mooncake_store_t *s, const void *key, size_t klen, const void *value, size_t vlen,
                          const mooncake_replicate_config_t *cfg)
{
    return mc_api_put_value(s, MC_API_UPSERT, key, klen, value, vlen, cfg, true);
}

int mooncake_store_get(mooncake_store_t *s, const void *key, size_t klen, void **value, size_t *vlen)
{
    *value = NULL;
    *vlen = 0;
    if (mc_api_check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_GET, .key = key, .klen = klen};
    mc_status_t st = mc_api_run_one(s, &op);
    if (st == MC_OK && !mc_api_lbuf_acquire(s->lbuf, op.out_len))
        st = MC_INVALID_PARAMS; /* does not fit the local buffer */
    else if (st == MC_OK)
        mc_api_lbuf_release(s->lbuf, op.out_len);
    if (st == MC_OK) {
        *value = op.out;
        *vlen = op.out_len;
    } else {
        free(op.out);
    }
    return st;
}

int mooncake_store_is_exist(mooncake_store_t *s, const void *key, size_t klen)
{
    if (mc_api_check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_EXIST, .key = key, .klen = klen};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (op.value_out ? 1 : 0) : st;
}

int64_t mooncake_store_get_size(mooncake_store_t *s, const void *key, size_t klen)
{
    if (mc_api_check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_SIZE, .key = key, .klen = klen};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}

int mooncake_store_remove(mooncake_store_t *s, const void *key, size_t klen, bool force)
{
    if (mc_api_check_key(key, klen) != MC_OK)
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_REMOVE, .key = key, .klen = klen, .force = force};
    return mc_api_run_one(s, &op);
}

int64_t mooncake_store_remove_by_regex(mooncake_store_t *s, const char *regex, bool force)
{
    if (!regex)
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_REMOVE_REGEX, .pattern = regex, .force = force};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}

int64_t mooncake_store_remove_all(mooncake_store_t *s, bool force)
{
    mc_api_op_t op = {.kind = MC_API_REMOVE_ALL, .force = force};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (int64_t)op.value_out : st;
}
