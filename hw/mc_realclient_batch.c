/* Runs of alike forwarded ops as one libmooncake batch call, so a dummy's
 * batch is as concurrent on the real client as a real client's own batch
 * (the store issues all operations of a batch call at once). Anything the
 * batch calls cannot express (a config differing between keys, memory
 * outside the dummy's shared regions, staged GETs) ends the run and goes
 * through the one-op path. */
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_realclient.h"

#define MAX_RUN 4096u

static bool same_cfg(const mc_dummy_cfg_t *a, const mc_dummy_cfg_t *b)
{
    if (a->replica_num != b->replica_num || a->with_hard_pin != b->with_hard_pin ||
        a->prefer_alloc_in_same_node != b->prefer_alloc_in_same_node || a->has_soft_pin_ttl != b->has_soft_pin_ttl ||
        a->soft_pin_action != b->soft_pin_action || a->soft_pin_ttl_ms != b->soft_pin_ttl_ms ||
        a->has_preferred_segment != b->has_preferred_segment || a->npref != b->npref || a->has_group != b->has_group)
        return false;
    if (a->has_preferred_segment && !mc_slice_eq(a->preferred_segment, b->preferred_segment))
        return false;
    for (uint32_t i = 0; i < a->npref; i++)
        if (!mc_slice_eq(a->pref[i], b->pref[i]))
            return false;
    return true; /* group ids may differ: one per key */
}

/* The pointer an op works on in our mapping, or NULL. */
static uint8_t *op_mem(mc_rc_session_t *s, const mc_dummy_op_t *op)
{
    switch (op->kind) {
    case MC_DUMMY_OP_PUT:
    case MC_DUMMY_OP_UPSERT:
        return op->value_mem == MC_DUMMY_MEM_SHM && op->value_len
                   ? mc_rc_session_translate(s, op->value_addr, op->value_len)
                   : NULL;
    case MC_DUMMY_OP_GET:
        return op->into_mem == MC_DUMMY_MEM_SHM && op->into_cap
                   ? mc_rc_session_translate(s, op->into_addr, op->into_cap)
                   : NULL;
    default: return NULL;
    }
}

static bool alike(mc_rc_session_t *s, const mc_dummy_op_t *first, const mc_dummy_op_t *op)
{
    if (op->kind != first->kind)
        return false;
    switch (op->kind) {
    case MC_DUMMY_OP_PUT:
    case MC_DUMMY_OP_UPSERT: return same_cfg(&first->cfg, &op->cfg) && op_mem(s, op);
    case MC_DUMMY_OP_GET: return op_mem(s, op) != NULL;
    case MC_DUMMY_OP_EXIST: return true;
    case MC_DUMMY_OP_REMOVE: return (op->flags & MC_DUMMY_OPF_FORCE) == (first->flags & MC_DUMMY_OPF_FORCE);
    default: return false;
    }
}

size_t mc_rc_run_batch(mc_rc_session_t *s, const mc_dummy_op_t *ops, size_t n, mc_dummy_result_t *res)
{
    size_t k = 0;
    while (k < n && k < MAX_RUN && alike(s, &ops[0], &ops[k]))
        k++;
    if (k < 2)
        return 0;
    mooncake_store_t *st = s->srv->store;
    const void **keys = mc_calloc(k, sizeof *keys);
    size_t *klens = mc_calloc(k, sizeof *klens);
    void **mem = mc_calloc(k, sizeof *mem);
    size_t *sizes = mc_calloc(k, sizeof *sizes);
    int *r32 = mc_calloc(k, sizeof *r32);
    int64_t *r64 = mc_calloc(k, sizeof *r64);
    for (size_t i = 0; i < k; i++) {
        keys[i] = ops[i].key.p;
        klens[i] = ops[i].key.len;
        mem[i] = op_mem(s, &ops[i]);
        sizes[i] = ops[i].kind == MC_DUMMY_OP_GET ? ops[i].into_cap : ops[i].value_len;
    }
    switch (ops[0].kind) {
    case MC_DUMMY_OP_PUT:
    case MC_DUMMY_OP_UPSERT: {
        mc_rc_pub_cfg_t pc;
        mc_rc_cfg_to_public(&ops[0].cfg, &pc);
        const char **groups = NULL;
        if (ops[0].cfg.has_group) { /* one id per key */
            groups = mc_calloc(k, sizeof *groups);
            for (size_t i = 0; i < k; i++)
                groups[i] = mc_slice_dup(ops[i].cfg.group);
            pc.c.group_ids = groups;
            pc.c.n_group_ids = k;
        }
        if (ops[0].kind == MC_DUMMY_OP_PUT)
            mooncake_store_batch_put_from(st, k, keys, klens, (const void *const *)mem, sizes, &pc.c, r32);
        else
            mooncake_store_batch_upsert_from(st, k, keys, klens, (const void *const *)mem, sizes, &pc.c, r32);
        for (size_t i = 0; groups && i < k; i++)
            mc_free((void *)groups[i]);
        mc_free(groups);
        mc_rc_cfg_free(&pc, ops[0].cfg.npref);
        for (size_t i = 0; i < k; i++) {
            res[i].status = r32[i];
            if (ops[i].flags & MC_DUMMY_OPF_RELEASE)
                mc_rc_session_free(s, ops[i].value_addr);
        }
        break;
    }
    case MC_DUMMY_OP_GET:
        mooncake_store_batch_get_into(st, k, keys, klens, mem, sizes, r64);
        for (size_t i = 0; i < k; i++) {
            res[i].status = r64[i] < 0 ? (int32_t)r64[i] : MC_OK;
            res[i].out_len = r64[i] < 0 ? 0 : (uint64_t)r64[i];
        }
        break;
    case MC_DUMMY_OP_EXIST:
        mooncake_store_batch_is_exist(st, k, keys, klens, r32);
        for (size_t i = 0; i < k; i++) {
            res[i].status = r32[i] < 0 ? r32[i] : MC_OK;
            res[i].value = r32[i] > 0;
        }
        break;
    case MC_DUMMY_OP_REMOVE:
        mooncake_store_batch_remove(st, k, keys, klens, ops[0].flags & MC_DUMMY_OPF_FORCE, r32);
        for (size_t i = 0; i < k; i++)
            res[i].status = r32[i];
        break;
    default: break;
    }
    mc_free(r64);
    mc_free(r32);
    mc_free(sizes);
    mc_free(mem);
    mc_free(klens);
    mc_free(keys);
    return k;
}
