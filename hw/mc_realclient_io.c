#include "mc_realclient_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mc_addr.h"

void mc_rc_ipc_name(char *buf, size_t n, uint16_t port)
{
    snprintf(buf, n, "mooncake_client_%u.sock", port);
}

static void set_timeouts(int fd, int ms)
{
    if (ms <= 0)
        return;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int mc_rc_tcp_connect(const char *addr, int timeout_ms, int io_timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char why[128];
    if (!mc_addr_resolve(addr, false, &ss, &len, why, sizeof why))
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS)
            goto fail;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err)
            goto fail;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        goto fail;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeouts(fd, io_timeout_ms);
    return fd;
fail:
    close(fd);
    return -1;
}

int mc_rc_tcp_listen(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char why[128];
    if (!mc_addr_resolve(addr, true, &ss, &len, why, sizeof why))
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static socklen_t ipc_addr(const char *name, struct sockaddr_un *un)
{
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof un->sun_path - 1)
        n = sizeof un->sun_path - 1;
    memcpy(un->sun_path + 1, name, n); /* abstract: leading NUL, no file */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int mc_rc_ipc_listen(const char *name)
{
    struct sockaddr_un un;
    socklen_t len = ipc_addr(name, &un);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&un, len) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int mc_rc_ipc_connect(const char *name, int io_timeout_ms)
{
    struct sockaddr_un un;
    socklen_t len = ipc_addr(name, &un);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&un, len) != 0) {
        close(fd);
        return -1;
    }
    set_timeouts(fd, io_timeout_ms);
    return fd;
}

mc_status_t mc_rc_send(int fd, const mc_wbuf_t *frame)
{
    size_t off = 0;
    while (off < frame->len) {
        ssize_t n = send(fd, frame->data + off, frame->len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MC_RPC_FAIL;
        off += (size_t)n;
    }
    return MC_OK;
}

static mc_status_t read_full(int fd, uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = recv(fd, p + off, len - off, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return MC_RPC_TIMEOUT;
        if (n <= 0)
            return MC_RPC_FAIL;
        off += (size_t)n;
    }
    return MC_OK;
}

mc_status_t mc_rc_recv(int fd, mc_wbuf_t *buf, mc_wire_hdr_t *hdr, mc_rbuf_t *body)
{
    const char *why;
    mc_wbuf_reset(buf);
    uint8_t *h = mc_wbuf_extend(buf, MC_WIRE_HDR_LEN);
    mc_status_t st = read_full(fd, h, MC_WIRE_HDR_LEN);
    if (st != MC_OK)
        return st;
    if (mc_wire_parse_hdr(buf->data, buf->len, hdr, &why) != MC_OK)
        return MC_INVALID_PARAMS;
    if (hdr->body_len) {
        uint8_t *b = mc_wbuf_extend(buf, hdr->body_len);
        if ((st = read_full(fd, b, hdr->body_len)) != MC_OK)
            return st;
    }
    return mc_wire_open(buf->data, buf->len, hdr, body, &why) == MC_OK ? MC_OK : MC_INVALID_PARAMS;
}

mc_status_t mc_rc_send_fd(int sock, const mc_wbuf_t *frame, int fd)
{
    struct iovec iov = {.iov_base = frame->data, .iov_len = frame->len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    memset(&c, 0, sizeof c);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ssize_t n;
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)frame->len ? MC_OK : MC_RPC_FAIL;
}

#define IPC_MAX_FRAME 4096 /* registration frames are small */

mc_status_t mc_rc_recv_fd(int sock, mc_wbuf_t *buf, mc_wire_hdr_t *hdr, mc_rbuf_t *body, int *fd)
{
    *fd = -1;
    mc_wbuf_reset(buf);
    uint8_t *p = mc_wbuf_extend(buf, IPC_MAX_FRAME);
    struct iovec iov = {.iov_base = p, .iov_len = IPC_MAX_FRAME};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return MC_RPC_TIMEOUT;
    if (n <= 0)
        return MC_RPC_FAIL;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(cm), sizeof *fd);
    buf->len = (size_t)n;
    const char *why;
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || mc_wire_open(buf->data, buf->len, hdr, body, &why) != MC_OK) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

void *mc_rc_shm_create(size_t size, int *fd)
{
    *fd = memfd_create("mooncake_dummy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (*fd < 0)
        return NULL;
    void *p = MAP_FAILED;
    /* sealed against shrinking: a peer mapping it can never SIGBUS */
    if (ftruncate(*fd, (off_t)size) == 0 && fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p == MAP_FAILED) {
        close(*fd);
        *fd = -1;
        return NULL;
    }
    return p;
}

void *mc_rc_shm_map(int fd, size_t size)
{
    /* The sender must not be able to shrink it under us (access past the
     * end is SIGBUS): sealed memfds of at least size bytes only. */
    int seals = fcntl(fd, F_GET_SEALS);
    off_t end = lseek(fd, 0, SEEK_END);
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || end < 0 || (uint64_t)end < size)
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}
