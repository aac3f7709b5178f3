/* Blocking socket I/O for the worker threads: EINTR, short reads and
 * writes handled, SIGPIPE suppressed. */
#ifndef MC_XPORT_IO_H
#define MC_XPORT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Results of the helpers below. */
enum {
    MC_XPORT_IO_OK = 0,
    MC_XPORT_IO_EOF = 1,     /* orderly close before the first byte */
    MC_XPORT_IO_IDLE = 2,    /* SO_RCVTIMEO expired before the first byte */
    MC_XPORT_IO_ERR = -1,    /* error, timeout mid-message or EOF mid-message */
};

/* Read exactly n bytes. */
int mc_xport_io_read(int fd, void *buf, size_t n);

/* A buffered reader: small reads (headers, responses) are served from one
 * recv of whatever is available, so a burst of pipelined messages costs
 * one system call; large reads go straight into the destination. */
#define MC_XPORT_RD_CAP 8192
typedef struct mc_xport_rd {
    int fd;
    size_t pos, len;
    /* Optional deferred output (e.g. coalesced responses): while
     * flush_pending is set, the reader first takes what has arrived without
     * blocking and, if that is not enough, clears flush_pending and calls
     * flush(flush_ctx) before it waits. So deferred output never waits on
     * the peer. A nonzero return from flush fails the read (MC_XPORT_IO_ERR). */
    int (*flush)(void *ctx);
    void *flush_ctx;
    bool flush_pending;
    unsigned char buf[MC_XPORT_RD_CAP];
} mc_xport_rd_t;

/* Read exactly n bytes (same results as mc_xport_io_read). */
int mc_xport_rd_read(mc_xport_rd_t *r, void *dst, size_t n);
/* Same, but never reads past the n bytes (buffered bytes are used first):
 * for a header whose large payload should then go straight to its
 * destination instead of partly through the buffer. */
int mc_xport_rd_read_exact(mc_xport_rd_t *r, void *dst, size_t n);
/* Bytes already buffered (a following message has at least partly arrived). */
static inline size_t mc_xport_rd_buffered(const mc_xport_rd_t *r)
{
    return r->len - r->pos;
}
/* Write every byte of iov[0..cnt) (the array is modified). */
int mc_xport_io_writev(int fd, struct iovec *iov, int cnt);
int mc_xport_io_write(int fd, const void *buf, size_t n);
/* Tune a connected data socket (TCP_NODELAY, buffers). */
void mc_xport_io_tune(int fd);
/* Non-blocking connect with a deadline, then back to blocking. Gives up
 * early (ECANCELED) when stop_fd (may be -1) becomes readable. Returns
 * the fd or -1 with errno set. */
int mc_xport_io_connect(const char *host, unsigned port, int timeout_ms, int stop_fd);

#endif
