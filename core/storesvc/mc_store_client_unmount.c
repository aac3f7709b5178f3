/* Unmount on close (spec store.md §6.10): every segment this client
 * mounted leaves the master (the main one and every extra one from
 * mc_sc_mount_segment, graceful ones included), so objects stored only
 * there disappear now rather than when the client TTL expires, and the
 * extra segments' memory is released as each unmount is acknowledged.
 * Added for the C API's close (api/). */
#include "base/mc_assert.h"
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

/* op->nrep counts the unmounts still unanswered (plus one while they are
 * being issued); op->xfer_status keeps the first failure. */
static void part_done(mc_sc_op_t *op, mc_status_t s)
{
    if (s != MC_OK && op->xfer_status == MC_OK)
        op->xfer_status = s;
    MC_ASSERT(op->nrep > 0);
    if (--op->nrep == 0)
        mc_sc_op_finish(op, op->xfer_status);
}

static void on_unmount_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    mc_store_values_reply_free(&rep);
    part_done(op, s);
}

/* An extra segment's unmount answered (its memory is already released
 * when it succeeded). The op outlives every such callback: it finishes
 * only at the last one, and destroy drops both without callbacks. */
static void on_extra_done(void *arg, const mc_sc_result_t *r)
{
    part_done(arg, r->status);
}

void mc_sc_unmount(mc_store_client_t *c, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    op->msg_type = MC_MSG_UNMOUNT_SEGMENT;
    op->nrep = 1;
    if (c->segment) {
        op->nrep++;
        mc_store_req_t q = {.type = MC_MSG_UNMOUNT_SEGMENT, .client = c->agent.id, .seg_id = c->segment_id};
        mc_sc_rpc(op, &q, on_unmount_reply);
    }
    /* ids first: a successful unmount removes its entry from c->extra */
    uint32_t n = c->nextra;
    mc_uuid_t *ids = mc_calloc(n ? n : 1, sizeof *ids);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = c->extra[i]->id;
    for (uint32_t i = 0; i < n; i++) {
        op->nrep++;
        mc_sc_unmount_segment(c, ids[i], 0, on_extra_done, op);
    }
    mc_free(ids);
    part_done(op, MC_OK);
}
