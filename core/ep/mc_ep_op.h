/* One EP operation as the rank, the scenario role and the checker see it:
 * its kind and parameters, the deterministic inputs of every rank (a pure
 * function of (op id, rank), so a checker can recompute any result), and
 * the result a rank must produce given the agreed final set. */
#ifndef MC_EP_OP_H
#define MC_EP_OP_H

#include "../env/mc_conf.h"
#include "mc_ep.h"

typedef enum mc_ep_op_kind {
    MC_EP_OP_ALL_REDUCE = 0,
    MC_EP_OP_ALL_GATHER,
    MC_EP_OP_BROADCAST,
    MC_EP_OP_REDUCE_SCATTER,
    MC_EP_OP_ALL_TO_ALL,
    MC_EP_OP_BARRIER,
    MC_EP_OP_DISPATCH,
    MC_EP_OP_COMBINE,
    MC_EP_OP_SEND, /* point to point: to rank `root` (the peer) */
    MC_EP_OP_RECV, /* from rank `root` */
    MC_EP_OP_KIND_COUNT
} mc_ep_op_kind_t;

typedef struct mc_ep_op_desc {
    mc_ep_op_kind_t kind;
    uint64_t id;          /* the op id: same on every rank, increasing */
    uint32_t world;       /* slot capacity */
    uint32_t count;       /* elements per rank block (collectives) */
    mc_ep_dtype_t dtype;
    mc_ep_redop_t redop;
    uint32_t root;        /* broadcast root; send/recv: the peer (arg peer= or root=) */
    uint64_t timeout_ns;  /* data-phase timeout; the op returns within 2x */
    mc_ep_moe_cfg_t moe;  /* dispatch/combine (num_ranks = world) */
    uint64_t dispatch_id; /* combine: the dispatch it answers */
    mc_ep_mask_t dispatch_set; /* combine: that dispatch's final set */
} mc_ep_op_desc_t;

const char *mc_ep_op_kind_name(mc_ep_op_kind_t k);
bool mc_ep_op_kind_parse(const char *s, mc_ep_op_kind_t *out);

/* Fill d from a command (or an ep.op_begin trace line's fields, which
 * carry the same keys): id, count, dtype, op (reduction), root,
 * peer (send/recv, = root), timeout (duration), tokens_max, hidden,
 * experts, topk, dispatch, dset
 * (hex). world is given. MC_INVALID_PARAMS with a message in err. */
mc_status_t mc_ep_op_desc_parse(mc_ep_op_desc_t *d, mc_ep_op_kind_t kind, uint32_t world, mc_conf_t *args,
                                char *err, size_t errlen);
/* "op=all_reduce id=3 count=.. dtype=.. red=.. root=.. timeout_ns=.. ..." */
int mc_ep_op_desc_fmt(const mc_ep_op_desc_t *d, char *buf, size_t cap);

/* Bytes of rank r's input (collectives: the input tensor; dispatch: x). */
size_t mc_ep_op_input_bytes(const mc_ep_op_desc_t *d);
size_t mc_ep_op_output_bytes(const mc_ep_op_desc_t *d);
/* Deterministic input of rank r (collectives). */
void mc_ep_op_input(const mc_ep_op_desc_t *d, uint32_t rank, void *out);
/* The block rank r contributes to dest, into out (NULL: length only). */
size_t mc_ep_op_block(const mc_ep_op_desc_t *d, uint32_t rank, uint32_t dest, const void *input, uint8_t *out);

/* MoE inputs of rank r for a dispatch/combine desc: tokens, x [T,H],
 * topk_idx [T,K], weights [T,K] (arrays sized for max_tokens). */
uint32_t mc_ep_moe_tokens(const mc_ep_op_desc_t *d, uint32_t rank);
void mc_ep_moe_inputs(const mc_ep_op_desc_t *d, uint32_t rank, float *x, int64_t *topk_idx, float *weights);
/* The mock expert of upstream's test: y = x * (0.1 e + 1), e global. */
void mc_ep_moe_expert(const mc_ep_moe_cfg_t *c, uint32_t rank, const mc_ep_dispatch_out_t *o, float *y);
uint64_t mc_ep_dispatch_out_hash(const mc_ep_moe_cfg_t *c, const mc_ep_dispatch_out_t *o);

/* Collective output of `rank` from the blocks it received (blocks[s],
 * lens[s] for s in set). MC_OK, MC_INVALID_PARAMS (a block of the wrong
 * length) or MC_TRANSFER_FAIL (broadcast root not in set); out is written
 * only on MC_OK. */
mc_status_t mc_ep_op_finish(const mc_ep_op_desc_t *d, uint32_t rank, const uint8_t *const *blocks,
                            const size_t *lens, mc_ep_mask_t set, void *out);

/* The hash every correct rank must report: recomputes every input from
 * scratch (collectives and dispatch), or the whole dispatch + expert +
 * combine pipeline (combine). ok=false when the op cannot succeed for
 * this set (broadcast root missing). */
uint64_t mc_ep_op_expected_hash(const mc_ep_op_desc_t *d, uint32_t rank, mc_ep_mask_t set, bool *ok);

#endif
