/* Blocking socket I/O helpers; see mc_xport_io.h. */
#include "mc_xport_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mc_xport_io_read(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_WAITALL);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0)
            return got == 0 ? MC_XPORT_IO_EOF : MC_XPORT_IO_ERR;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && got == 0)
            return MC_XPORT_IO_IDLE;
        return MC_XPORT_IO_ERR;
    }
    return MC_XPORT_IO_OK;
}

/* recv for the buffered reader. With deferred output pending it first
 * takes what is already there without blocking; when that is less than
 * `need` (the reader is about to wait for the peer) it flushes first. */
static ssize_t mc_xport_rd_recv(mc_xport_rd_t *r, void *dst, size_t cap, size_t need, int flags)
{
    if (!r->flush_pending || !r->flush)
        return recv(r->fd, dst, cap, flags);
    ssize_t got = recv(r->fd, dst, cap, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || (got > 0 && (size_t)got >= need))
        return got;
    r->flush_pending = false;
    if (r->flush(r->flush_ctx) != 0) {
        errno = EPIPE;
        return -1;
    }
    return got > 0 ? got : recv(r->fd, dst, cap, flags);
}

static int mc_xport_rd_read_mode(mc_xport_rd_t *r, void *dst, size_t n, bool exact)
{
    unsigned char *d = dst;
    size_t done = 0;
    for (;;) {
        size_t have = r->len - r->pos;
        size_t k = have < n - done ? have : n - done;
        memcpy(d + done, r->buf + r->pos, k);
        r->pos += k;
        done += k;
        if (done == n)
            return MC_XPORT_IO_OK;
        r->pos = r->len = 0; /* buffer empty */
        /* Large reads go straight into the destination. */
        bool direct = exact || n - done >= MC_XPORT_RD_CAP / 2;
        ssize_t got = direct ? mc_xport_rd_recv(r, d + done, n - done, n - done, MSG_WAITALL)
                             : mc_xport_rd_recv(r, r->buf, sizeof r->buf, n - done, 0);
        if (got > 0) {
            if (direct)
                done += (size_t)got;
            else
                r->len = (size_t)got;
            if (done == n)
                return MC_XPORT_IO_OK;
            continue;
        }
        if (got == 0)
            return done == 0 ? MC_XPORT_IO_EOF : MC_XPORT_IO_ERR;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && done == 0)
            return MC_XPORT_IO_IDLE;
        return MC_XPORT_IO_ERR;
    }
}

int mc_xport_rd_read(mc_xport_rd_t *r, void *dst, size_t n)
{
    return mc_xport_rd_read_mode(r, dst, n, false);
}

int mc_xport_rd_read_exact(mc_xport_rd_t *r, void *dst, size_t n)
{
    return mc_xport_rd_read_mode(r, dst, n, true);
}

int mc_xport_io_writev(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)cnt;
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return MC_XPORT_IO_ERR;
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return MC_XPORT_IO_OK;
}

int mc_xport_io_write(int fd, const void *buf, size_t n)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return mc_xport_io_writev(fd, &iov, 1);
}

void mc_xport_io_tune(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int mc_xport_io_wait_connect(int fd, int timeout_ms, int stop_fd)
{
    struct pollfd pfd[2] = {{.fd = fd, .events = POLLOUT}, {.fd = stop_fd, .events = POLLIN}};
    for (;;) {
        int r = poll(pfd, stop_fd >= 0 ? 2 : 1, timeout_ms);
        if (r > 0 && stop_fd >= 0 && (pfd[1].revents & POLLIN)) {
            errno = ECANCELED;
            return -1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (r < 0)
            return -1;
        break;
    }
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        return -1;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

int mc_xport_io_connect(const char *host, unsigned port, int timeout_ms, int stop_fd)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0 || !res) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail;
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            goto fail_fd;
        if (mc_xport_io_wait_connect(fd, timeout_ms, stop_fd) != 0)
            goto fail_fd;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        goto fail_fd;
    freeaddrinfo(res);
    mc_xport_io_tune(fd);
    return fd;
fail_fd: {
    int e = errno;
    close(fd);
    errno = e;
}
fail: {
    int e = errno;
    freeaddrinfo(res);
    errno = e;
}
    return -1;
}
