/* get_into_ranges (spec store.md §6.6): each distinct key is read once
 * (all concurrently), then every fragment is checked against the object
 * size and its buffer's registered capacity and copied. */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_store_api_int.h"

typedef struct range_read {
    const void *key;
    size_t klen;
} range_read_t;

/* Index of key among the reads so far, adding it if new. */
static size_t read_slot(range_read_t *reads, size_t *nreads, const void *key, size_t klen)
{
    for (size_t i = 0; i < *nreads; i++)
        if (reads[i].klen == klen && memcmp(reads[i].key, key, klen) == 0)
            return i;
    reads[*nreads] = (range_read_t){key, klen};
    return (*nreads)++;
}

static void fill(const mooncake_range_key_t *k, int64_t v)
{
    for (size_t f = 0; f < k->nfrags; f++)
        k->results[f] = v;
}

static int64_t copy_fragment(const mooncake_range_buffer_t *b, size_t cap, const mc_api_op_t *op,
                             const mooncake_range_key_t *k, size_t f)
{
    uint64_t src = k->src_offsets[f], dst = k->dst_offsets[f], size = k->sizes[f];
    if (src > op->out_len || size > op->out_len - src)
        return MC_INVALID_PARAMS; /* beyond the object */
    if (dst > cap || size > cap - dst)
        return MC_INVALID_PARAMS; /* beyond the registered buffer */
    if (size)
        memcpy((uint8_t *)b->buffer + dst, (const uint8_t *)op->out + src, size);
    return (int64_t)size;
}

void mooncake_store_get_into_ranges(mooncake_store_t *s, size_t nbuffers, const mooncake_range_buffer_t *buffers)
{
    size_t total_keys = 0;
    for (size_t i = 0; i < nbuffers; i++)
        total_keys += buffers[i].nkeys;
    if (!total_keys)
        return;
    range_read_t *reads = mc_calloc(total_keys, sizeof *reads);
    size_t *slot = mc_calloc(total_keys, sizeof *slot); /* per (buffer, key), flattened */
    size_t *caps = mc_calloc(nbuffers ? nbuffers : 1, sizeof *caps);
    bool *usable = mc_calloc(nbuffers ? nbuffers : 1, sizeof *usable);
    size_t nreads = 0, flat = 0;
    for (size_t i = 0; i < nbuffers; i++) {
        const mooncake_range_buffer_t *b = &buffers[i];
        usable[i] = mc_api_usable(s) && mc_api_region_find(s, b->buffer, 1, &caps[i]);
        for (size_t j = 0; j < b->nkeys; j++, flat++) {
            const mooncake_range_key_t *k = &b->keys[j];
            slot[flat] = SIZE_MAX;
            if (!usable[i] || mc_api_check_key(k->key, k->klen) != MC_OK) {
                fill(k, MC_INVALID_PARAMS);
                continue;
            }
            slot[flat] = read_slot(reads, &nreads, k->key, k->klen);
        }
    }
    mc_api_op_t *ops = mc_calloc(nreads ? nreads : 1, sizeof *ops);
    for (size_t r = 0; r < nreads; r++)
        ops[r] = (mc_api_op_t){.kind = MC_API_GET, .key = reads[r].key, .klen = reads[r].klen};
    if (nreads)
        mc_api_run_ops(s, ops, nreads);
    flat = 0;
    for (size_t i = 0; i < nbuffers; i++) {
        const mooncake_range_buffer_t *b = &buffers[i];
        for (size_t j = 0; j < b->nkeys; j++, flat++) {
            const mooncake_range_key_t *k = &b->keys[j];
            if (slot[flat] == SIZE_MAX)
                continue;
            const mc_api_op_t *op = &ops[slot[flat]];
            if (op->status != MC_OK) {
                fill(k, op->status);
                continue;
            }
            for (size_t f = 0; f < k->nfrags; f++)
                k->results[f] = copy_fragment(b, caps[i], op, k, f);
        }
    }
    for (size_t r = 0; r < nreads; r++)
        free(ops[r].out);
    mc_free(ops);
    mc_free(usable);
    mc_free(caps);
    mc_free(slot);
    mc_free(reads);
}
