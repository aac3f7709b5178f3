/* get_replica_desc: the master's replica list for a key (the same query
 * as get_size, which already returns it). */
#include "base/mc_mem.h"
#include "mc_store_api_int.h"

int mooncake_store_get_replica_desc(mooncake_store_t *s, const void *key, size_t klen, mooncake_replica_desc_t *out,
                                    size_t cap)
{
    if (mc_api_check_key(key, klen) != MC_OK || (!out && cap))
        return MC_INVALID_PARAMS;
    mc_api_op_t op = {.kind = MC_API_SIZE, .key = key, .klen = klen, .descs = out, .descs_cap = cap};
    mc_status_t st = mc_api_run_one(s, &op);
    return st == MC_OK ? (int)op.ndescs : st;
}

void mooncake_store_batch_get_replica_desc(mooncake_store_t *s, size_t n, const void *const *keys,
                                           const size_t *klens, mooncake_replica_desc_t *out, size_t cap,
                                           int *counts)
{
    if (!n)
        return;
    mc_api_op_t *ops = mc_calloc(n, sizeof *ops);
    size_t *idx = mc_calloc(n, sizeof *idx);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        counts[i] = MC_INVALID_PARAMS;
        if (!mc_api_usable(s) || mc_api_check_key(keys[i], klens[i]) != MC_OK || (!out && cap))
            continue;
        ops[k] = (mc_api_op_t){.kind = MC_API_SIZE, .key = keys[i], .klen = klens[i],
                               .descs = out ? out + i * cap : NULL, .descs_cap = cap};
        idx[k++] = i;
    }
    if (k)
        mc_api_run_ops(s, ops, k);
    for (size_t j = 0; j < k; j++)
        counts[idx[j]] = ops[j].status == MC_OK ? (int)ops[j].ndescs : ops[j].status;
    mc_free(idx);
    mc_free(ops);
}
