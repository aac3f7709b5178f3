/* libmooncake: the transfer-engine handle (upstream Mooncake's Python
 * TransferEngine, `mooncake.engine`, as a C API; shared/spec/transfer.md
 * §11). Moves bytes between registered memory of processes over TCP
 * (same-host shared memory where the peer's memory allows it).
 *
 * Model. Each handle runs the core transfer engine (core/te) on its own
 * event-loop thread; every call below hands its work to that thread and
 * blocks until it is done (the *_async calls only until submitted).
 *
 * Thread-safety. After mooncake_te_initialize returns, every call may be
 * made from any number of threads at once. initialize/initialize_ext and
 * mooncake_te_destroy must not race with other calls on the same handle.
 *
 * Addresses are plain integers (uintptr_t), like upstream's Python ints:
 * `buffer` is a local address inside memory registered with this engine
 * (register_memory or allocate_managed_buffer); `peer_buffer_address` is
 * the PEER's virtual address inside memory it registered (upstream quirk:
 * not an offset). A target is named by its segment name: in P2PHANDSHAKE
 * mode "host:rpc_port" (the peer's "<host>:<get_rpc_port()>"), otherwise
 * the peer's local_hostname.
 *
 * Return conventions are upstream's:
 *   initialize, transfer_sync*, batch_transfer_sync*,
 *   get_batch_transfer_status          0 success, -1 failure
 *   register/unregister (+batch)       0 or a negative upstream ERR_*
 *                                      (MOONCAKE_TE_ERR_*)
 *   transfer_submit_write,
 *   batch_transfer_async*              batch id (> 0), 0 on failure
 *   transfer_check_status              1 done, 0 in progress, -1 failed,
 *                                      -2 timed out
 *   allocate_managed_buffer,
 *   get_first_buffer_address           address, 0 on failure
 * A failure is also described by mooncake_te_last_error() (per thread).
 *
 * Environment (read by initialize): MC_METADATA_SERVER (used when
 * metadata_server is NULL or ""), MC_FORCE_TCP (protocol "rdma" falls back
 * to TCP), MC_TRANSFER_TIMEOUT (seconds, >= 5, default 30: a request's
 * deadline is this plus 1 ns per byte), MC_LOG_LEVEL (0/INFO, 1/WARNING,
 * 2/ERROR, TRACE; default WARNING), MC_MIN_RPC_PORT/MC_MAX_RPC_PORT
 * (15000-17000), MC_LEGACY_RPC_PORT_BINDING, MC_TCP_BIND_ADDRESS. */
#ifndef MOONCAKE_TRANSFER_ENGINE_H
#define MOONCAKE_TRANSFER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MOONCAKE_API
#define MOONCAKE_API __attribute__((visibility("default")))
#endif

/* Upstream's int error codes (include/error.h). */
#define MOONCAKE_TE_ERR_INVALID_ARGUMENT (-1)
#define MOONCAKE_TE_ERR_TOO_MANY_REQUESTS (-2)
#define MOONCAKE_TE_ERR_ADDRESS_NOT_REGISTERED (-3)
#define MOONCAKE_TE_ERR_BATCH_BUSY (-4)
#define MOONCAKE_TE_ERR_ADDRESS_OVERLAPPED (-7)
#define MOONCAKE_TE_ERR_SOCKET (-102)
#define MOONCAKE_TE_ERR_MALFORMED_JSON (-103)
#define MOONCAKE_TE_ERR_METADATA (-200)
#define MOONCAKE_TE_ERR_MEMORY (-302)

/* TransferOpcode. */
#define MOONCAKE_TE_READ 0  /* peer -> local */
#define MOONCAKE_TE_WRITE 1 /* local -> peer */

/* transfer_check_status results. */
#define MOONCAKE_TE_STATUS_DONE 1
#define MOONCAKE_TE_STATUS_RUNNING 0
#define MOONCAKE_TE_STATUS_FAILED (-1)
#define MOONCAKE_TE_STATUS_TIMEOUT (-2)

typedef struct mooncake_te mooncake_te_t;

/* TransferNotify: {name, msg}. Strings are NUL-terminated. */
typedef struct mooncake_te_notify {
    char *name;
    char *msg;
} mooncake_te_notify_t;

/* ---- lifecycle ---- */
/* A new, uninitialized engine (upstream TransferEngine()). NULL on OOM. */
MOONCAKE_API mooncake_te_t *mooncake_te_new(void);
/* Orderly shutdown: removes our metadata keys (not in P2P mode), stops
 * the loop thread, unregisters and frees managed buffers. Memory the
 * caller registered stays the caller's. NULL is a no-op. No call may be
 * running on the handle. */
MOONCAKE_API void mooncake_te_destroy(mooncake_te_t *te);

/* initialize(local_hostname, metadata_server, protocol, device_name):
 * metadata_server "P2PHANDSHAKE" (descriptors are fetched from the peers
 * themselves; our segment name becomes "host:rpc_port"), a URL with
 * "://" ("http://h:p/metadata", "etcd://h:p"), or a bare "h:p" (etcd).
 * protocol "tcp"; "rdma" runs hw/xport's verbs transport and fails
 * without an RDMA device (message names MC_FORCE_TCP, which makes it TCP);
 * "" is rdma when a device exists, else tcp.
 * device_name: comma list of RDMA devices (filter), may be NULL.
 * local_hostname "host" or "host:port": the RPC port is a free one from
 * [MC_MIN_RPC_PORT, MC_MAX_RPC_PORT] (the given port is only used with
 * MC_LEGACY_RPC_PORT_BINDING). 0 or -1; initializing twice is -1. */
MOONCAKE_API int mooncake_te_initialize(mooncake_te_t *te, const char *local_hostname,
                                        const char *metadata_server, const char *protocol,
                                        const char *device_name);
/* As initialize with conn = metadata_type + "://" + metadata_server unless
 * the server already has "://" or is P2PHANDSHAKE. */
MOONCAKE_API int mooncake_te_initialize_ext(mooncake_te_t *te, const char *local_hostname,
                                            const char *metadata_server, const char *protocol,
                                            const char *device_name, const char *metadata_type);
/* The RPC (handshake) port, -1 before initialize. */
MOONCAKE_API int mooncake_te_get_rpc_port(mooncake_te_t *te);
/* Our segment name (P2P: "host:rpc_port"); "" before initialize. Valid
 * while the handle lives. */
MOONCAKE_API const char *mooncake_te_segment_name(mooncake_te_t *te);

/* ---- managed buffers ----
 * Registered memory owned by the engine: power-of-two classes of 8 KiB ..
 * 256 MiB reused after free, larger sizes allocated and registered on
 * their own. allocate returns 0 for length 0, before initialize, or when
 * memory or registration fails. free: 0, or -1 for an address/length pair
 * this engine did not hand out. */
MOONCAKE_API uintptr_t mooncake_te_allocate_managed_buffer(mooncake_te_t *te, size_t length);
MOONCAKE_API int mooncake_te_free_managed_buffer(mooncake_te_t *te, uintptr_t addr, size_t length);

/* Copy into/out of memory registered with this engine (0), or -1 when
 * [addr, addr+length) is not inside one registered region (deviation:
 * upstream copies blindly). length 0 is a no-op (0). */
MOONCAKE_API int mooncake_te_write_bytes_to_buffer(mooncake_te_t *te, uintptr_t dest, const void *src,
                                                   size_t length);
MOONCAKE_API int mooncake_te_read_bytes_from_buffer(mooncake_te_t *te, uintptr_t src, void *dest,
                                                    size_t length);

/* ---- registration (0 or MOONCAKE_TE_ERR_*) ----
 * location: "cpu:N", "*" (NULL = "*"). Overlap with a registered region ->
 * ERR_ADDRESS_OVERLAPPED; length 0 or NULL -> ERR_INVALID_ARGUMENT;
 * unregister of a non-base address -> ERR_ADDRESS_NOT_REGISTERED. The
 * batch forms are all-or-nothing. The caller keeps ownership of the
 * memory and must not free it while registered. */
MOONCAKE_API int mooncake_te_register_memory(mooncake_te_t *te, uintptr_t addr, size_t capacity,
                                             const char *location);
MOONCAKE_API int mooncake_te_unregister_memory(mooncake_te_t *te, uintptr_t addr);
MOONCAKE_API int mooncake_te_batch_register_memory(mooncake_te_t *te, const uintptr_t *addrs,
                                                   const size_t *capacities, size_t n, const char *location);
MOONCAKE_API int mooncake_te_batch_unregister_memory(mooncake_te_t *te, const uintptr_t *addrs, size_t n);

/* ---- transfers ----
 * sync: 0 when every byte arrived, -1 otherwise (unknown target, bad
 * address or length, peer gone, deadline MC_TRANSFER_TIMEOUT + 1 ns/byte).
 * A failed attempt is retried once within the deadline, like upstream
 * (numContexts()+1 attempts). notify (may be NULL) is delivered to the
 * target once the whole transfer completed. */
MOONCAKE_API int mooncake_te_transfer_sync(mooncake_te_t *te, const char *target_hostname, uintptr_t buffer,
                                           uintptr_t peer_buffer_address, size_t length, int opcode,
                                           const mooncake_te_notify_t *notify);
MOONCAKE_API int mooncake_te_transfer_sync_write(mooncake_te_t *te, const char *target_hostname,
                                                 uintptr_t buffer, uintptr_t peer_buffer_address, size_t length);
MOONCAKE_API int mooncake_te_transfer_sync_read(mooncake_te_t *te, const char *target_hostname,
                                                uintptr_t buffer, uintptr_t peer_buffer_address, size_t length);
/* Batch of n requests to one target (n = 0: success, nothing moves). */
MOONCAKE_API int mooncake_te_batch_transfer_sync(mooncake_te_t *te, const char *target_hostname,
                                                 const uintptr_t *buffers, const uintptr_t *peer_buffer_addresses,
                                                 const size_t *lengths, size_t n, int opcode,
                                                 const mooncake_te_notify_t *notify);
MOONCAKE_API int mooncake_te_batch_transfer_sync_write(mooncake_te_t *te, const char *target_hostname,
                                                       const uintptr_t *buffers,
                                                       const uintptr_t *peer_buffer_addresses,
                                                       const size_t *lengths, size_t n);
MOONCAKE_API int mooncake_te_batch_transfer_sync_read(mooncake_te_t *te, const char *target_hostname,
                                                      const uintptr_t *buffers,
                                                      const uintptr_t *peer_buffer_addresses,
                                                      const size_t *lengths, size_t n);
/* Submit only: a batch id, 0 when the submission is refused (nothing is
 * then running). Finish it with get_batch_transfer_status (or, for one
 * request, transfer_check_status), which frees it. */
MOONCAKE_API uint64_t mooncake_te_batch_transfer_async(mooncake_te_t *te, const char *target_hostname,
                                                       const uintptr_t *buffers,
                                                       const uintptr_t *peer_buffer_addresses,
                                                       const size_t *lengths, size_t n, int opcode);
MOONCAKE_API uint64_t mooncake_te_batch_transfer_async_write(mooncake_te_t *te, const char *target_hostname,
                                                             const uintptr_t *buffers,
                                                             const uintptr_t *peer_buffer_addresses,
                                                             const size_t *lengths, size_t n);
MOONCAKE_API uint64_t mooncake_te_batch_transfer_async_read(mooncake_te_t *te, const char *target_hostname,
                                                            const uintptr_t *buffers,
                                                            const uintptr_t *peer_buffer_addresses,
                                                            const size_t *lengths, size_t n);
MOONCAKE_API uint64_t mooncake_te_transfer_submit_write(mooncake_te_t *te, const char *target_hostname,
                                                        uintptr_t buffer, uintptr_t peer_buffer_address,
                                                        size_t length);
/* Non-blocking status of request 0 of a batch: 1 completed, 0 running,
 * -1 failed or unknown id, -2 timed out. The batch is freed once the
 * result is not 0 (deviation: upstream keeps a timed-out batch). */
MOONCAKE_API int mooncake_te_transfer_check_status(mooncake_te_t *te, uint64_t batch_id);
/* Waits for every batch: 0 if all completed, -1 as soon as one failed,
 * timed out or is unknown. Every batch is freed (the others once they
 * finish). */
MOONCAKE_API int mooncake_te_get_batch_transfer_status(mooncake_te_t *te, const uint64_t *batch_ids, size_t n);

/* ---- segments, topology, notifications ---- */
/* buffers[0].addr of the segment's current descriptor (re-fetched on
 * every call), 0 if unknown or it has no buffer. */
MOONCAKE_API uintptr_t mooncake_te_get_first_buffer_address(mooncake_te_t *te, const char *segment_name);
/* The local priority matrix as JSON ({"cpu:N": [[preferred], [avail]]}),
 * filtered by device_name (comma list, NULL = all). Heap string: free with
 * mooncake_free. NULL on OOM. Needs no initialize. */
MOONCAKE_API char *mooncake_te_get_local_topology(mooncake_te_t *te, const char *device_name);
/* Drain received notifications (FIFO). *out = heap array of the returned
 * count (NULL when 0); free with mooncake_te_notifies_free. */
MOONCAKE_API size_t mooncake_te_get_notifies(mooncake_te_t *te, mooncake_te_notify_t **out);
MOONCAKE_API void mooncake_te_notifies_free(mooncake_te_notify_t *v, size_t n);
/* Send a notification without a transfer (upstream sendNotifyByName):
 * 0 once the target appended it, -1 otherwise. */
MOONCAKE_API int mooncake_te_send_notify(mooncake_te_t *te, const char *target_hostname,
                                         const mooncake_te_notify_t *notify);
/* Probe a peer's handshake port: 0 alive, -1 otherwise. */
MOONCAKE_API int mooncake_te_send_probe(mooncake_te_t *te, const char *peer_server_name);

/* Frees strings returned by this library (same as store.h's). */
MOONCAKE_API void mooncake_free(void *p);

/* Why the last failing call of this thread failed ("" if none). */
MOONCAKE_API const char *mooncake_te_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
