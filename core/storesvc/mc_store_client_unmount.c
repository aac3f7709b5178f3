/* Unmount on close (spec store.md §6.10): tell the master our segment is
 * leaving, so objects stored only there disappear now rather than when
 * the client TTL expires. Added for the C API's close (api/). */
#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"
#include "wire/mc_msg_types.h"

static void on_unmount_reply(void *arg, mc_status_t s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    mc_sc_op_t *op = arg;
    mc_store_values_reply_t rep = {0};
    if (s == MC_OK && (hdr->type != MC_MSG_VALUES_REPLY || mc_store_values_reply_decode(body, &rep) != MC_OK))
        s = MC_RPC_FAIL;
    if (s == MC_OK)
        s = rep.status;
    mc_store_values_reply_free(&rep);
    mc_sc_op_finish(op, s);
}

void mc_sc_unmount(mc_store_client_t *c, mc_sc_done_fn done, void *arg)
{
    mc_sc_op_t *op = mc_sc_op_new(c, MC_SC_SIMPLE, mc_slice(NULL, 0), done, arg);
    if (!c->segment) {
        mc_sc_op_finish(op, MC_OK);
        return;
    }
    op->msg_type = MC_MSG_UNMOUNT_SEGMENT;
    mc_store_req_t q = {.type = MC_MSG_UNMOUNT_SEGMENT, .client = c->agent.id, .seg_id = c->segment_id};
    mc_sc_rpc(op, &q, on_unmount_reply);
}
