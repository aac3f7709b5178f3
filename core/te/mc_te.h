/* Transfer engine core: moves bytes between registered memory of nodes
 * (upstream Mooncake's classic TransferEngine, shared/spec/transfer.md
 * §1-§8), as a pure state machine over mc_env_t.
 *
 * Embedding. A TE is a component of a node (store client, a "te" role,
 * ...), not a node itself: it never calls mc_env_bind. The owner routes
 * its env upcalls to mc_te_on_xfer_done / mc_te_on_conn_* / mc_te_on_frame
 * (each returns true when the event was the TE's). Data moves through
 * env->ops->xfer_post; every op the TE posts carries a tag with
 * MC_TE_TAG_PREFIX in its top byte so owners can tell TE completions
 * apart from their own.
 *
 * Return convention: every int-returning call returns 0 (MC_TE_ERR_OK) or
 * a negative MC_TE_ERR_* from mc_te_status.h (upstream's int errors);
 * MC_TE_IN_PROGRESS (1) means "not an error, the callback reports the
 * result later". The C API layer converts with mc_te_err_to_code() where
 * upstream returns positive Status codes.
 *
 * Callbacks never run inside the call that started them (env rule).
 *
 * Conf keys (all optional):
 *   segment_name       local segment name (default: env->node_name)
 *   addr               this node's control address "host:port" (the world
 *                      fills it); published as rpc_meta and used as the
 *                      peer address of our segment
 *   protocol           "rdma" (default) or "tcp": descriptor shape
 *   nics               number of local paths/NICs, 1..255 (default 1)
 *   device_names       comma list naming the paths (default nic0,nic1,...)
 *   slice_size         bytes per slice (MC_SLICE_SIZE, default 64KiB)
 *   fragment_ratio     tail merge limit = slice_size/ratio (default 4)
 *   retry_cnt          per-slice attempts (MC_RETRY_CNT, default 9, 1..127)
 *   transfer_timeout   per-request deadline (MC_TRANSFER_TIMEOUT): a bare
 *                      number is seconds clamped to >= 5 like upstream;
 *                      with a unit ("200ms") exact; "off" disables.
 *                      Deadline = timeout + 1 ns per byte. Default 30 s.
 *   slice_timeout      an attempt with no completion after this long is
 *                      abandoned and retried on another path (default off;
 *                      bare number = seconds, like MC_SLICE_TIMEOUT); a
 *                      request whose last attempt was abandoned this way
 *                      ends TIMEOUT rather than FAILED
 *   rail_pause         how long a path stays paused (default 30 s;
 *                      MC_RDMA_RAIL_PAUSE_SECONDS)
 *   path_pause_errors  errors within path_error_window that pause a path
 *                      (default 5), path_error_window default 5 s
 *   slices_in_flight   per-request posting window (default 256)
 *   rpc_timeout        notify/probe round-trip limit (default 5 s)
 *   cluster_id         MC_METADATA_CLUSTER_ID key segment (default none)
 *   publish            publish rpc_meta and descriptor (default true)
 */
#ifndef MC_TE_H
#define MC_TE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../env/mc_conf.h"
#include "../env/mc_env.h"
#include "../wire/mc_wire.h"
#include "mc_te_meta.h"
#include "mc_te_meta_desc.h"
#include "mc_te_status.h"

#define MC_TE_IN_PROGRESS 1
#define MC_TE_LOCAL_SEGMENT_ID 0ULL
#define MC_TE_INVALID_SEGMENT UINT64_MAX
#define MC_TE_INVALID_BATCH UINT64_MAX
#define MC_TE_TAG_PREFIX (0x7eULL << 56)
#define MC_TE_TAG_MASK (0xffULL << 56)
#define MC_TE_MAX_PATHS 255

typedef struct mc_te mc_te_t;

typedef struct mc_te_request {
    uint8_t opcode;         /* MC_XFER_READ (remote -> local) / MC_XFER_WRITE */
    void *source;           /* local address inside registered memory */
    uint64_t target_id;     /* segment handle from mc_te_open_segment */
    uint64_t target_offset; /* the PEER's virtual address (upstream quirk 1) */
    uint64_t length;        /* > 0 */
} mc_te_request_t;

typedef struct mc_te_task_status {
    int status;                 /* mc_te_xfer_status_t */
    uint64_t transferred_bytes; /* bytes of completed slices */
} mc_te_task_status_t;

typedef struct mc_te_notify {
    char *name;
    char *msg;
} mc_te_notify_t;

typedef struct mc_te_stats {
    uint64_t slices_posted;      /* attempts handed to xfer_post */
    uint64_t slices_ok;
    uint64_t slices_failed;      /* failed attempts (each may be retried) */
    uint64_t slices_timed_out;   /* attempts abandoned by slice_timeout */
    uint64_t retries;            /* re-posts after a failed attempt */
    uint64_t late_completions;   /* completions of abandoned attempts, ignored */
    uint64_t unknown_completions;/* TE-tagged completions with no record */
    uint64_t requests_completed;
    uint64_t requests_failed;
    uint64_t requests_timed_out;
    uint64_t path_pauses;
    uint64_t notifies_sent;
    uint64_t notifies_received;
} mc_te_stats_t;

typedef void (*mc_te_open_cb)(void *arg, int err, uint64_t segment_id);
/* status: the batch's final mc_te_xfer_status_t (COMPLETED, FAILED, TIMEOUT). */
typedef void (*mc_te_batch_cb)(void *arg, uint64_t batch_id, int status);
typedef void (*mc_te_done_cb)(void *arg, int err);

/* ---- lifecycle ---- */
/* meta is borrowed (may be NULL: nothing published, only mc_te_add_segment
 * opens segments) and must outlive the TE. Returns NULL with a message
 * naming the conf key in err on bad configuration. Publishes
 * rpc_meta/<name> and the (empty) segment descriptor when publish=true. */
mc_te_t *mc_te_create(mc_env_t *env, mc_conf_t *conf, mc_te_meta_t *meta, char *err, size_t errlen);
/* Frees everything, cancels timers and metadata ops; produces no upcalls
 * and touches no metadata (a crash leaves keys behind, as upstream). */
void mc_te_destroy(mc_te_t *te);
/* Orderly shutdown (upstream freeEngine): delete our rpc_meta and segment
 * keys. Fire-and-forget. */
void mc_te_unpublish(mc_te_t *te);
const char *mc_te_segment_name(const mc_te_t *te);
uint32_t mc_te_num_paths(const mc_te_t *te);
const mc_te_stats_t *mc_te_stats(const mc_te_t *te);
/* Our descriptor as currently published (tests, P2P metadata replies). */
const mc_te_seg_desc_t *mc_te_local_desc(mc_te_t *te);

/* ---- memory (spec §2.2) ----
 * register: len 0, NULL addr or addr+len overflow -> ERR_INVALID_ARGUMENT; overlap with a registered
 * region (duplicates included) -> ERR_ADDRESS_OVERLAPPED; env refusal ->
 * ERR_MEMORY. location: "cpu:N", "cuda:N", "*" (= cpu:0 here), ... .
 * remote_accessible=false publishes the buffer with empty rkey (not a
 * target). update_metadata republishes the descriptor.
 * unregister: addr must be a region base -> else ERR_ADDRESS_NOT_REGISTERED.
 * Callers must not unregister memory that transfers are still using. */
int mc_te_register(mc_te_t *te, void *addr, uint64_t len, const char *location, bool remote_accessible,
                   bool update_metadata);
int mc_te_unregister(mc_te_t *te, void *addr, bool update_metadata);
/* Batch forms: all-or-nothing (zero length / pairwise overlap checked first). */
int mc_te_register_batch(mc_te_t *te, void *const *addrs, const uint64_t *lens, size_t n,
                         const char *location);
int mc_te_unregister_batch(mc_te_t *te, void *const *addrs, size_t n);

/* ---- segments (spec §1, §7) ----
 * open: leading '/' stripped; empty -> ERR_INVALID_ARGUMENT; our own name
 * -> MC_TE_LOCAL_SEGMENT_ID. A cached segment returns 0 with *out_id set
 * and no callback. Otherwise returns MC_TE_IN_PROGRESS and cb(arg, err,
 * id) runs later: err 0 with a fresh id (1, 2, ... never reused), or
 * ERR_METADATA (key absent, backend down, no metadata backend),
 * ERR_MALFORMED_JSON (bad descriptor/rpc_meta), id = MC_TE_INVALID_SEGMENT. */
int mc_te_open_segment(mc_te_t *te, const char *name, mc_te_open_cb cb, void *arg, uint64_t *out_id);
/* Install a descriptor directly (P2P handshake result, tests): peer_addr is
 * the control/data address of its owner. Replaces a cached one of the same
 * name (same id). Returns 0 and *out_id. */
int mc_te_add_segment(mc_te_t *te, const mc_te_seg_desc_t *desc, const char *peer_addr, uint64_t *out_id);
/* Re-fetch a cached segment's descriptor (upstream syncSegmentCache /
 * openSegmentNoCache). cb as for open. Unknown id -> ERR_INVALID_ARGUMENT. */
int mc_te_refresh_segment(mc_te_t *te, uint64_t id, mc_te_open_cb cb, void *arg);
uint64_t mc_te_segment_id(const mc_te_t *te, const char *name); /* cached or MC_TE_INVALID_SEGMENT */
/* Cached descriptor of an open segment (id 0: ours), NULL if unknown. Valid
 * until the next refresh of that segment or an (un)registration (id 0).
 * Buffers keep the peer's published order (upstream get_first_buffer_address
 * = buffers[0].addr). */
const mc_te_seg_desc_t *mc_te_segment_desc(mc_te_t *te, uint64_t id);
int mc_te_close_segment(mc_te_t *te, uint64_t id);              /* no-op, 0 (upstream) */

/* ---- batches (spec §2.3) ----
 * alloc: capacity 0 -> MC_TE_INVALID_BATCH. Ids are 1, 2, ... never reused.
 * submit: unknown batch -> ERR_INVALID_ARGUMENT; more than capacity in
 * total -> ERR_TOO_MANY_REQUESTS; a bad request (opcode, zero length,
 * address overflow -> ERR_INVALID_ARGUMENT; unknown segment ->
 * ERR_INVALID_ARGUMENT; local or peer range not inside registered,
 * remotely accessible memory -> ERR_ADDRESS_NOT_REGISTERED) rejects the
 * whole call and adds no task (unlike upstream, where earlier requests of
 * the call keep running). Task ids continue across calls: 0, 1, ... */
uint64_t mc_te_alloc_batch(mc_te_t *te, uint32_t capacity);
int mc_te_submit(mc_te_t *te, uint64_t batch, const mc_te_request_t *reqs, size_t n);
/* As submit; once every task of the batch COMPLETED, {name,msg} is sent
 * once to the segment of reqs[0] (spec §6). Not sent if any task fails. */
int mc_te_submit_with_notify(mc_te_t *te, uint64_t batch, const mc_te_request_t *reqs, size_t n,
                             const char *notify_name, const char *notify_msg);
/* Task status. ERR_INVALID_ARGUMENT for an unknown batch or task id. */
int mc_te_get_transfer_status(mc_te_t *te, uint64_t batch, uint64_t task, mc_te_task_status_t *out);
/* Batch status: COMPLETED when every task COMPLETED (empty batch too),
 * FAILED/TIMEOUT as soon as one task is (others may still run), else
 * WAITING. transferred_bytes sums all tasks. */
int mc_te_get_batch_status(mc_te_t *te, uint64_t batch, mc_te_task_status_t *out);
/* Called once, later, when every task of the batch is terminal (right
 * away-ish if it already is). Replaces a previous callback. */
int mc_te_batch_on_done(mc_te_t *te, uint64_t batch, mc_te_batch_cb cb, void *arg);
/* ERR_BATCH_BUSY while any task is not terminal (every task reaches a
 * terminal state by transfer_timeout at the latest, so this never leaks
 * like upstream quirk 3). Unknown batch -> ERR_INVALID_ARGUMENT. */
int mc_te_free_batch(mc_te_t *te, uint64_t batch);

/* ---- notifications (spec §6) ---- */
/* Send {name,msg} to a segment's owner; cb(arg, err): 0 when the peer
 * appended it, ERR_METADATA when it rejected, ERR_SOCKET when unreachable
 * or timed out. Unknown segment -> ERR_INVALID_ARGUMENT (no callback). */
int mc_te_send_notify(mc_te_t *te, uint64_t segment_id, const char *name, const char *msg,
                      mc_te_done_cb cb, void *arg);
/* Liveness probe (upstream Probe/send_probe): cb err 0 = alive. */
int mc_te_probe(mc_te_t *te, uint64_t segment_id, mc_te_done_cb cb, void *arg);
/* Drain received notifications in arrival order. *out is a heap array of n
 * entries (NULL when none); free with mc_te_notifies_free. */
size_t mc_te_get_notifies(mc_te_t *te, mc_te_notify_t **out);
void mc_te_notifies_free(mc_te_notify_t *v, size_t n);

/* ---- env upcall routing (owner calls these) ---- */
bool mc_te_on_xfer_done(mc_te_t *te, uint64_t tag, mc_status_t status);
bool mc_te_on_conn_up(mc_te_t *te, mc_conn_t conn);
bool mc_te_on_conn_down(mc_te_t *te, mc_conn_t conn, mc_status_t why);
/* Frames of types 500-599 (requests on any connection, responses on ours). */
bool mc_te_on_frame(mc_te_t *te, mc_conn_t conn, const mc_wire_hdr_t *hdr, mc_rbuf_t *body);

/* ---- introspection (tests, checkers) ---- */
bool mc_te_path_paused(mc_te_t *te, uint32_t path);
/* Attempts posted and not yet completed by the env (orphans included). */
uint32_t mc_te_inflight(const mc_te_t *te);

/* Pure slicing rule (spec §3.1): length of the slice starting with
 * `remaining` bytes left, block = slice_size, frag = fragment limit, and
 * the bytes left in the local and peer buffers at that offset. */
uint64_t mc_te_slice_len(uint64_t remaining, uint64_t block, uint64_t frag, uint64_t local_left,
                         uint64_t peer_left);

#endif
