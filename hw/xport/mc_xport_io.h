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
