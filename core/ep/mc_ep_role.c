/* Role "ep_rank": an EP rank (mc_ep_rank.h) driven by scenario commands.
 * Inputs are deterministic functions of (op id, rank) (mc_ep_op.h), so the
 * "ep" checker recomputes every result from the trace alone.
 *
 * Commands (args):
 *   all_reduce|all_gather|broadcast|reduce_scatter|all_to_all|barrier
 *       id=N [count=16] [dtype=f32|f64|i32|i64] [red=sum|max|min|product]
 *       [root=0] [timeout=1s]
 *   dispatch id=N [tokens_max=8] [hidden=8] [experts=2*world] [topk=2] [timeout=1s]
 *   combine  id=N dispatch=D (same moe args as the dispatch) [timeout=1s]
 *   send|recv id=N peer=P [count=16] [dtype=..] [timeout=1s]
 *                          (point to point; the pair shares the op id)
 *   recover ranks=1,2      (recover_ranks / activate_ranks)
 *   deactivate ranks=1     (deactivate_ranks)
 *   state                  (traces get_active_ranks & co.)
 * Op ids must be equal across ranks and increasing on each rank.
 *
 * Trace: ep.op_begin <mc_ep_op_desc_fmt fields> rank;
 *        ep.op_end op id rank status set dropped epoch hash dset (combine:
 *        the set of the dispatch it answered, known only when it ran);
 *        ep.propose_done rank targets activate status epoch dropped;
 *        ep.state rank epoch active synced num_synced peers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_list.h"
#include "../base/mc_mem.h"
#include "../env/mc_role.h"
#include "mc_ep_rank.h"

typedef struct ep_role {
    mc_ep_rank_t *r;
    mc_env_t *env;
    mc_list_t pending;
} ep_role_t;

typedef struct cmd_ctx {
    mc_list_t link;
    ep_role_t *n;
    mc_ep_op_kind_t kind;
    uint64_t id;
    mc_ep_mask_t targets;
    bool activate;
} cmd_ctx_t;

static cmd_ctx_t *ctx_new(ep_role_t *n)
{
    cmd_ctx_t *x = mc_calloc(1, sizeof *x);
    x->n = n;
    mc_list_push_back(&n->pending, &x->link);
    return x;
}

static void ctx_free(cmd_ctx_t *x)
{
    mc_list_del(&x->link);
    mc_free(x);
}

static void op_done(void *arg, const mc_ep_result_t *res)
{
    cmd_ctx_t *x = arg;
    ep_role_t *n = x->n;
    mc_env_tracef(n->env, "ep.op_end",
                  "op=%s id=%llu rank=%u status=%s set=%llx dropped=%llx epoch=%llu hash=%016llx dset=%llx",
                  mc_ep_op_kind_name(x->kind), (unsigned long long)x->id, mc_ep_rank_self(n->r),
                  mc_status_name(res->status), (unsigned long long)res->set, (unsigned long long)res->dropped,
                  (unsigned long long)res->epoch, (unsigned long long)res->hash,
                  (unsigned long long)res->dispatch_set);
    ctx_free(x);
}

static void propose_done(void *arg, int status, uint64_t epoch, mc_ep_mask_t dropped)
{
    cmd_ctx_t *x = arg;
    ep_role_t *n = x->n;
    mc_env_tracef(n->env, "ep.propose_done", "rank=%u targets=%llx activate=%d status=%d epoch=%llu dropped=%llx",
                  mc_ep_rank_self(n->r), (unsigned long long)x->targets, x->activate, status,
                  (unsigned long long)epoch, (unsigned long long)dropped);
    ctx_free(x);
}

static bool parse_ranks(const char *s, uint32_t world, mc_ep_mask_t *out)
{
    *out = 0;
    if (!s || !*s)
        return false;
    while (*s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v >= world)
            return false;
        *out |= mc_ep_bit((uint32_t)v);
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return true;
}

static mc_status_t run_op(ep_role_t *n, mc_ep_op_kind_t kind, mc_conf_t *a)
{
    mc_ep_rank_t *r = n->r;
    uint32_t self = mc_ep_rank_self(r);
    mc_ep_op_desc_t d;
    char err[256];
    if (mc_ep_op_desc_parse(&d, kind, mc_ep_rank_world(r), a, err, sizeof err) != MC_OK) {
        mc_env_logf(n->env, MC_LOG_WARN, "ep", "%s: %s", mc_ep_op_kind_name(kind), err);
        return MC_INVALID_PARAMS;
    }
    size_t in_bytes = mc_ep_op_input_bytes(&d);
    uint8_t *input = mc_calloc(1, in_bytes + 1);
    size_t tk = (size_t)d.moe.max_tokens * d.moe.topk;
    int64_t *idx = NULL;
    float *w = NULL;
    mc_ep_input_t in = {.data = input};
    if (kind == MC_EP_OP_DISPATCH) {
        idx = mc_calloc(tk + 1, sizeof *idx);
        w = mc_calloc(tk + 1, sizeof *w);
        mc_ep_moe_inputs(&d, self, (float *)input, idx, w);
        in.x = (const float *)input;
        in.topk_idx = idx;
        in.topk_weights = w;
        in.tokens = mc_ep_moe_tokens(&d, self);
    } else if (kind != MC_EP_OP_COMBINE) {
        mc_ep_op_input(&d, self, input);
    }
    cmd_ctx_t *x = ctx_new(n);
    x->kind = kind;
    x->id = d.id;
    char desc[512];
    mc_ep_op_desc_fmt(&d, desc, sizeof desc);
    mc_env_tracef(n->env, "ep.op_begin", "%s rank=%u", desc, self);
    mc_status_t st = mc_ep_rank_submit(r, &d, &in, op_done, x);
    mc_free(input);
    mc_free(idx);
    mc_free(w);
    if (st != MC_OK) {
        mc_env_tracef(n->env, "ep.op_end", "op=%s id=%llu rank=%u status=%s set=0 dropped=0 epoch=%llu hash=0",
                      mc_ep_op_kind_name(kind), (unsigned long long)d.id, self, mc_status_name(st),
                      (unsigned long long)mc_ep_rank_epoch(r));
        ctx_free(x);
    }
    return MC_OK;
}

static mc_status_t ep_command(void *node, const char *cmd, const mc_conf_t *args)
{
    ep_role_t *n = node;
    mc_conf_t a;
    mc_conf_init(&a);
    mc_conf_copy(&a, args);
    mc_status_t st = MC_OK;
    mc_ep_op_kind_t kind;
    if (mc_ep_op_kind_parse(cmd, &kind)) {
        st = run_op(n, kind, &a);
    } else if (!strcmp(cmd, "recover") || !strcmp(cmd, "deactivate")) {
        mc_ep_mask_t targets;
        if (!parse_ranks(mc_conf_get(&a, "ranks"), mc_ep_rank_world(n->r), &targets)) {
            st = MC_INVALID_PARAMS;
        } else {
            cmd_ctx_t *x = ctx_new(n);
            x->targets = targets;
            x->activate = cmd[0] == 'r';
            mc_ep_rank_propose(n->r, targets, x->activate, propose_done, x);
        }
    } else if (!strcmp(cmd, "state")) {
        mc_ep_mask_t peers = 0;
        for (uint32_t j = 0; j < mc_ep_rank_world(n->r); j++)
            if (mc_ep_rank_peer_state(n->r, j))
                peers |= mc_ep_bit(j);
        mc_env_tracef(n->env, "ep.state", "rank=%u epoch=%llu active=%llx num_synced=%u peers=%llx",
                      mc_ep_rank_self(n->r), (unsigned long long)mc_ep_rank_epoch(n->r),
                      (unsigned long long)mc_ep_rank_active(n->r), mc_ep_rank_num_synced(n->r),
                      (unsigned long long)peers);
    } else {
        st = MC_INVALID_PARAMS;
    }
    mc_conf_free(&a);
    return st;
}

static void ep_destroy(void *node)
{
    ep_role_t *n = node;
    mc_ep_rank_destroy(n->r); /* no callbacks */
    while (!mc_list_empty(&n->pending))
        ctx_free(mc_container_of(n->pending.next, cmd_ctx_t, link));
    mc_free(n);
}

static void *ep_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    mc_ep_rank_t *r = mc_ep_rank_create(env, conf, err, errlen);
    if (!r)
        return NULL;
    ep_role_t *n = mc_calloc(1, sizeof *n);
    n->r = r;
    n->env = env;
    mc_list_init(&n->pending);
    return n;
}

const mc_role_t mc_role_ep_rank = {
    .name = "ep_rank",
    .help = "EP rank: addr, rank, world, coordinator, slot_bytes (64KiB), hb_interval (100ms), TE keys",
    .create = ep_create,
    .destroy = ep_destroy,
    .command = ep_command,
};
