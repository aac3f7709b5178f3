/* Internals shared by the store client's files. */
#ifndef MC_STORE_CLIENT_INT_H
#define MC_STORE_CLIENT_INT_H

#include "storesvc/mc_store_client.h"
#include "wire/mc_msg_store.h"

typedef enum mc_sc_kind {
    MC_SC_PUT,
    MC_SC_GET,
    MC_SC_SIMPLE, /* one RPC, values reply: remove, exist, regex, remove_all */
    MC_SC_XFER,   /* transfers only (task executor): finishes with the transfer status */
} mc_sc_kind_t;

typedef struct mc_sc_op {
    mc_store_client_t *c;
    uint64_t id;
    mc_sc_kind_t kind;
    uint16_t msg_type;      /* SIMPLE: which request */
    bool upsert;
    bool size_only;         /* get_size: stop after the replica list */
    char *key;
    size_t klen;
    uint8_t *data;          /* put: value; get: this attempt's destination */
    size_t len;
    bool data_registered;
    uint8_t *ext;           /* get_into: the caller's memory (never freed); data == ext
                               while the transport reads straight into it */
    size_t ext_cap;
    struct mc_sc_parked *ext_wait; /* an abandoned read into ext still in flight */
    bool held;              /* finished, but waits for ext_wait before answering */
    mc_status_t held_status;
    mc_sc_done_fn done;
    void *arg;
    /* put: replicas being written */
    uint32_t nrep;
    uint32_t pending_xfers;
    mc_status_t xfer_status;
    /* get: replica candidates and lease */
    mc_store_rlist_t rl;
    char endpoints[MC_STORE_MAX_REPLICAS][256];
    char segments[MC_STORE_MAX_REPLICAS][256];
    uint32_t next_replica;  /* attempts made: position in order[] */
    uint8_t order[MC_STORE_MAX_REPLICAS]; /* replicas to read, in mc_sc_read_order's order */
    uint32_t norder;
    uint64_t lease_deadline_ns;
    /* put: the PutStart/UpsertStart config, kept while the write waits
     * behind an earlier write of the same key from this client */
    mc_msg_config_t wcfg;
    mc_slice_t wpref[MC_MSG_STORE_MAX_PREF];
    struct mc_sc_op *next_write;
    mc_timer_t guard;       /* transport completion guard */
    bool overdue;           /* the guard fired: late completions are ignored */
    uint64_t aux;           /* per-kind extra argument (graceful unmount: grace ns) */
    uint64_t wbatch;        /* put started by mc_sc_batch_put: the batch's carrier op id (0: none) */
    uint32_t wbatch_idx;    /* ... and this key's index in it */
    mc_sc_result_t res;
} mc_sc_op_t;

mc_sc_op_t *mc_sc_op_new(mc_store_client_t *c, mc_sc_kind_t kind, mc_slice_t key, mc_sc_done_fn done, void *arg);
/* Put: the write id its start, End and Revoke carry, so the master ends
 * only this write (never a later one of ours that a late-delivered start
 * preempted). Op ids grow, and one key's writes start in op order, so
 * the ids of one key's starts grow too (the master drops older ones). */
static inline uint32_t mc_sc_write_id(const mc_sc_op_t *op)
{
    uint32_t w = (uint32_t)op->id;
    return w ? w : 1u; /* 0 means "no id" */
}
/* Complete: run the callback once, release everything. */
void mc_sc_op_finish(mc_sc_op_t *op, mc_status_t s);
/* Send a store request for op; reply goes to cb(op, ...). */
void mc_sc_rpc(mc_sc_op_t *op, const mc_store_req_t *q, mc_rpc_cb cb);
/* Post one transfer for op; completes through mc_sc_xfer_done. Local
 * endpoints use memcpy (the replica is in our own segment). */
void mc_sc_xfer(mc_sc_op_t *op, uint8_t opcode, const char *endpoint, uint64_t remote_addr, uint32_t rkey);
/* Transfers posted between plug and the matching unplug go to the env in
 * one xfer_post call (a batch's ops reach the transport together, so it
 * can coalesce them); defer is mc_sc_xfer's side. Nests. */
void mc_sc_xfer_plug(mc_store_client_t *c);
void mc_sc_xfer_unplug(mc_store_client_t *c);
void mc_sc_xfer_defer(mc_store_client_t *c, const mc_xfer_op_t *x);
/* An abandoned attempt's buffer with its transfers still in flight: freed
 * (or, for caller memory, released to the waiting op) at the last one. */
typedef struct mc_sc_parked {
    uint8_t *data;
    bool owned;
    bool registered;
    uint32_t npending;
    mc_sc_op_t *waiter;     /* op whose caller memory this is (held until we are done) */
} mc_sc_parked_t;

/* Abandon op's transfers in flight: they complete into a parked record,
 * op gets a fresh client buffer and pending_xfers 0. */
void mc_sc_park_attempt(mc_sc_op_t *op);
/* Get: the replica guard fired; move on to the next replica. */
void mc_sc_get_overdue(mc_sc_op_t *op);
/* Get: start reading from list l (one key's entry of a replicas reply). */
void mc_sc_get_on_list(mc_sc_op_t *op, const mc_store_rlist_t *l);
/* Copy a replica's endpoint out of the (transient) reply frame. */
void mc_sc_copy_endpoint(char dst[256], mc_slice_t src);
/* A put/upsert finished: start the next write of the same key, if queued. */
void mc_sc_put_next(mc_sc_op_t *op);
/* Per-kind continuation after every posted transfer has completed. */
void mc_sc_put_xfers_done(mc_sc_op_t *op);
/* Put: one key's PutStart/UpsertStart result (entry of a replicas reply):
 * finishes op or posts its writes (mc_store_client_batch.c shares it). */
void mc_sc_put_on_list(mc_sc_op_t *op, mc_status_t s, const mc_store_rlist_t *l);
/* Put: a new op for key with its own copy of data and config rc. */
mc_sc_op_t *mc_sc_put_op_new(mc_store_client_t *c, mc_slice_t key, const void *data, size_t len,
                             const mc_replicate_config_t *rc, bool upsert, mc_sc_done_fn done, void *arg);
/* Put: op's transfers are done and a batch coalesces its End/Revoke: false
 * if op is not (or no longer) part of a live batch. */
bool mc_sc_batch_put_xfers_done(mc_sc_op_t *op);
void mc_sc_get_xfers_done(mc_sc_op_t *op);

#endif
