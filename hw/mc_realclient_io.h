/* Blocking socket and shared-memory helpers of the dummy-client link
 * (mooncake_client and libmooncake's dummy forwarder use both ends):
 * whole frames over a stream socket, one frame plus a file descriptor
 * over a SOCK_SEQPACKET unix socket, memfd shared memory. */
#ifndef MC_REALCLIENT_IO_H
#define MC_REALCLIENT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "base/mc_bytes.h"
#include "base/mc_status.h"
#include "wire/mc_wire.h"

/* Abstract unix socket name of the service on RPC port `port`
 * (upstream: "@mooncake_client_<port>.sock"). */
void mc_rc_ipc_name(char *buf, size_t n, uint16_t port);

/* TCP connect to "host:port" within timeout_ms; -1 on failure. The socket
 * gets TCP_NODELAY and, when io_timeout_ms > 0, send/receive timeouts. */
int mc_rc_tcp_connect(const char *addr, int timeout_ms, int io_timeout_ms);
/* Listening TCP socket on "host:port" (SO_REUSEADDR); -1 on failure. */
int mc_rc_tcp_listen(const char *addr);
/* Listening/connected SOCK_SEQPACKET socket on an abstract name. */
int mc_rc_ipc_listen(const char *name);
int mc_rc_ipc_connect(const char *name, int io_timeout_ms);

/* Write one whole frame. MC_OK or MC_RPC_FAIL. */
mc_status_t mc_rc_send(int fd, const mc_wbuf_t *frame);
/* Read one whole frame into buf and open it: *hdr and *body (borrowing
 * buf). MC_RPC_FAIL on EOF or error, MC_RPC_TIMEOUT when the receive
 * timeout fired, MC_INVALID_PARAMS for a malformed frame. */
mc_status_t mc_rc_recv(int fd, mc_wbuf_t *buf, mc_wire_hdr_t *hdr, mc_rbuf_t *body);

/* One frame with a descriptor attached (SCM_RIGHTS), seqpacket. */
mc_status_t mc_rc_send_fd(int sock, const mc_wbuf_t *frame, int fd);
/* One frame and the descriptor attached to it (*fd = -1 if none). */
mc_status_t mc_rc_recv_fd(int sock, mc_wbuf_t *buf, mc_wire_hdr_t *hdr, mc_rbuf_t *body, int *fd);

/* A memfd of size bytes, sealed against shrinking, mapped shared; NULL on
 * failure (*fd = -1). */
void *mc_rc_shm_create(size_t size, int *fd);
/* Map a peer's memfd shared: NULL unless it is sealed against shrinking
 * and holds at least size bytes. */
void *mc_rc_shm_map(int fd, size_t size);

#endif
