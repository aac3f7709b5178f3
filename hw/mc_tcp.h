/* Framed TCP control connections on an mc_loop: listeners, non-blocking
 * connects, per-connection input reassembly with mc_wire_parse_hdr and an
 * output queue with a byte bound (back-pressure). One mc_tcp_t serves one
 * node; all calls and callbacks run on the loop thread.
 *
 * Callbacks follow the env upcall contract (core/env/mc_env.h): never
 * called synchronously from an mc_tcp_* call; on_down is not called for
 * a connection closed with mc_tcp_close(); handles are never reused. */
#ifndef MC_TCP_H
#define MC_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mc_status.h"
#include "mc_loop.h"

#define MC_TCP_DEFAULT_OUT_LIMIT (64u << 20)

typedef struct mc_tcp mc_tcp_t;

typedef struct mc_tcp_cbs {
    void (*on_up)(void *ctx, uint64_t conn);
    void (*on_accept)(void *ctx, uint64_t conn, const char *peer);
    void (*on_down)(void *ctx, uint64_t conn, mc_status_t why);
    void (*on_msg)(void *ctx, uint64_t conn, const uint8_t *frame, size_t len);
    /* Diagnostics (malformed frames, socket errors); level is enum mc_log_level. */
    void (*log)(void *ctx, int level, const char *msg);
} mc_tcp_cbs_t;

mc_tcp_t *mc_tcp_create(mc_loop_t *loop, const mc_tcp_cbs_t *cbs, void *ctx);
/* Closes every socket without callbacks. */
void mc_tcp_destroy(mc_tcp_t *t);
/* Bytes a connection may have queued before mc_tcp_send returns MC_AGAIN. */
void mc_tcp_set_out_limit(mc_tcp_t *t, size_t bytes);

/* Listen on addr ("host:port"; port 0 = ephemeral). *bound_port (may be
 * NULL) receives the port actually bound. */
mc_status_t mc_tcp_listen(mc_tcp_t *t, const char *addr, uint16_t *bound_port);
/* Start a non-blocking connect; the outcome is on_up or on_down(MC_RPC_FAIL). */
mc_status_t mc_tcp_connect(mc_tcp_t *t, const char *addr, uint64_t *out);
/* Queue one complete frame (validated header, length = header + body).
 * MC_OK, MC_AGAIN (queue past the limit), MC_RPC_FAIL (unknown or dead
 * connection) or MC_INVALID_PARAMS (not a well-formed frame). Frames sent
 * while connecting are delivered once the connection is up. */
mc_status_t mc_tcp_send(mc_tcp_t *t, uint64_t conn, const uint8_t *frame, size_t len);
/* Bytes queued but not yet written (0 for unknown connections). */
size_t mc_tcp_queued(const mc_tcp_t *t, uint64_t conn);
void mc_tcp_close(mc_tcp_t *t, uint64_t conn);

#endif
