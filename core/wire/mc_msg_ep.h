/* EP control messages (types 600-699): rank <-> coordinator membership,
 * per-operation agreement, and the rank -> rank "data written" notice.
 * One struct carries every type; which fields a type uses:
 *
 *   EP_JOIN          rank, inc, addr          rank (re)joins: boot or in-place rejoin
 *   EP_VIEW          epoch, world, active, synced, peers[world]{inc, addr}
 *                                             coordinator -> ranks, every change
 *   EP_HEARTBEAT     rank, inc, epoch         rank -> coordinator, every hb_interval
 *   EP_DATA          op_id, rank (src), inc, len
 *                                             src's block for op_id is in the
 *                                             receiver's memory (sent after the TE
 *                                             write completed)
 *   EP_ROW           op_id, rank, inc, epoch, mask (arrived), active (the
 *                    rank's starting set), value (window ns)
 *   EP_DECIDE        op_id, mask (final set), epoch
 *   EP_PROPOSE       rank (proposer), mask (targets), status (1 activate,
 *                    0 deactivate)            recover_ranks / deactivate_ranks
 *   EP_PROPOSE_REPLY status (0 Rejected, 1 Applied, 2 AppliedWithDroppedRanks),
 *                    epoch, mask (dropped), addr (reject reason)
 *   EP_SEGMENT       rank, inc, addr (the sender's TE segment descriptor,
 *                    JSON, <= MC_MSG_EP_MAX_DESC): sent to each peer when
 *                    our connection to it comes up, so peers install it
 *                    (mc_te_add_segment) without a metadata service
 *
 * Masks are u64 (64 ranks, upstream's limit). Decoders reject ranks >= 64,
 * world 0 or > 64, unknown status values and trailing bytes. */
#ifndef MC_MSG_EP_H
#define MC_MSG_EP_H

#include "mc_wire.h"

#define MC_MSG_EP_MAX_WORLD 64
#define MC_MSG_EP_MAX_DESC (64u << 10)

enum mc_ep_propose_status {
    MC_EP_PROPOSAL_REJECTED = 0,
    MC_EP_PROPOSAL_APPLIED = 1,
    MC_EP_PROPOSAL_APPLIED_WITH_DROPPED = 2,
};

typedef struct mc_msg_ep_peer {
    uint64_t inc;
    mc_slice_t addr; /* empty: slot has no endpoint */
} mc_msg_ep_peer_t;

typedef struct mc_msg_ep {
    uint16_t type;
    uint32_t rank;
    uint64_t inc;
    uint64_t epoch;
    uint64_t op_id;
    uint64_t mask;
    uint64_t value;
    uint32_t len;
    uint8_t status;
    uint32_t world;
    uint64_t active, synced;
    mc_slice_t addr;
    mc_msg_ep_peer_t peers[MC_MSG_EP_MAX_WORLD];
} mc_msg_ep_t;

bool mc_msg_ep_type_known(uint16_t type);
/* Encode m as a complete frame of type m->type (flags: EP_PROPOSE_REPLY
 * is a response to the proposal's req_id). */
void mc_msg_ep_encode(mc_wbuf_t *w, uint64_t req_id, const mc_msg_ep_t *m);
/* Decode the body of a frame of this type; slices borrow the frame. */
mc_status_t mc_msg_ep_decode(uint16_t type, mc_rbuf_t *r, mc_msg_ep_t *m);

#endif
