/* Framed TCP control connections; see mc_tcp.h. */
#include "mc_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mc_assert.h"
#include "base/mc_list.h"
#include "base/mc_map.h"
#include "base/mc_mem.h"
#include "env/mc_env.h"
#include "mc_addr.h"
#include "mc_resolve.h"
#include "wire/mc_wire.h"

#define MC_TCP_READ_CHUNK (64u << 10)
#define MC_TCP_READS_PER_EVENT 16
#define MC_TCP_ACCEPTS_PER_EVENT 64
#define MC_TCP_KEEP_BUF (256u << 10) /* shrink idle buffers larger than this */
#define MC_TCP_PREALLOC_MAX (1u << 20) /* input room reserved ahead of a frame's bytes */

typedef enum mc_tcp_state {
    MC_TCP_RESOLVING, /* host name lookup on a helper thread; no socket yet */
    MC_TCP_CONNECTING,
    MC_TCP_UP,
    MC_TCP_CLOSED, /* removed from the map; freed when no dispatch holds it */
} mc_tcp_state_t;

typedef struct mc_tcp_buf {
    uint8_t *p;
    size_t off; /* consumed prefix */
    size_t len; /* filled bytes, off <= len <= cap */
    size_t cap;
} mc_tcp_buf_t;

typedef struct mc_tcp_conn {
    mc_tcp_t *t;
    uint64_t id;
    int fd;
    mc_loop_io_t *io;
    mc_tcp_state_t state;
    int busy;            /* > 0 while an upcall for this conn runs */
    uint64_t fail_timer; /* deferred on_down after a failure seen in an op */
    mc_status_t fail_why;
    char peer[MC_ADDR_STRLEN];
    mc_tcp_buf_t in;
    mc_tcp_buf_t out;
} mc_tcp_conn_t;

typedef struct mc_tcp_listener {
    mc_list_t link;
    mc_tcp_t *t;
    int fd;
    mc_loop_io_t *io;
} mc_tcp_listener_t;

struct mc_tcp {
    mc_loop_t *loop;
    mc_tcp_cbs_t cbs;
    void *ctx;
    size_t out_limit;
    uint64_t next_id;
    mc_map_t conns; /* id -> mc_tcp_conn_t* */
    mc_list_t listeners;
    mc_resolver_t *resolver; /* created on the first host name */
};

static void mc_tcp_logf(mc_tcp_t *t, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void mc_tcp_logf(mc_tcp_t *t, int level, const char *fmt, ...)
{
    if (!t->cbs.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->cbs.log(t->ctx, level, msg);
}

mc_tcp_t *mc_tcp_create(mc_loop_t *loop, const mc_tcp_cbs_t *cbs, void *ctx)
{
    mc_tcp_t *t = mc_calloc(1, sizeof *t);
    t->loop = loop;
    t->cbs = *cbs;
    t->ctx = ctx;
    t->out_limit = MC_TCP_DEFAULT_OUT_LIMIT;
    t->next_id = 1;
    mc_map_init(&t->conns);
    mc_list_init(&t->listeners);
    return t;
}

void mc_tcp_set_out_limit(mc_tcp_t *t, size_t bytes)
{
    t->out_limit = bytes;
}

/* ------------------------------------------------------------ buffers --- */

/* Make room for n more bytes after len. Compacts only when the consumed
 * prefix is at least as large as the live bytes, so each byte is moved
 * O(1) times even when a deep queue is appended to while it drains. */
static uint8_t *mc_tcp_buf_reserve(mc_tcp_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->p + b->len;
    if (b->off && b->off >= b->len - b->off) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return b->p + b->len;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    b->p = mc_realloc(b->p, cap);
    b->cap = cap;
    return b->p + b->len;
}

/* All consumed: rewind, and drop a large buffer so an idle connection that
 * once carried a big frame does not pin its memory. */
static void mc_tcp_buf_settle(mc_tcp_buf_t *b)
{
    if (b->off != b->len)
        return;
    b->off = b->len = 0;
    if (b->cap > MC_TCP_KEEP_BUF) {
        mc_free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

static void mc_tcp_buf_free(mc_tcp_buf_t *b)
{
    mc_free(b->p);
    memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------- connections --- */

static void mc_tcp_conn_io(void *arg, uint32_t events);

static mc_tcp_conn_t *mc_tcp_conn_new(mc_tcp_t *t, int fd, mc_tcp_state_t state)
{
    mc_tcp_conn_t *c = mc_calloc(1, sizeof *c);
    c->t = t;
    c->id = t->next_id++;
    c->fd = fd;
    c->state = state;
    return c;
}

static void mc_tcp_conn_free(mc_tcp_conn_t *c)
{
    mc_tcp_buf_free(&c->in);
    mc_tcp_buf_free(&c->out);
    mc_free(c);
}

/* Detach from the loop and the map, close the socket. The struct lives on
 * while an upcall for it is running. */
static void mc_tcp_conn_shut(mc_tcp_conn_t *c)
{
    mc_tcp_t *t = c->t;
    MC_ASSERT(c->state != MC_TCP_CLOSED);
    c->state = MC_TCP_CLOSED;
    mc_map_delu(&t->conns, c->id);
    mc_loop_timer_cancel(t->loop, c->fail_timer);
    c->fail_timer = 0;
    mc_loop_io_del(t->loop, c->io);
    c->io = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void mc_tcp_conn_release(mc_tcp_conn_t *c)
{
    if (c->state == MC_TCP_CLOSED && c->busy == 0)
        mc_tcp_conn_free(c);
}

/* The connection failed or the peer closed it: tell the node. */
static void mc_tcp_conn_down(mc_tcp_conn_t *c, mc_status_t why)
{
    mc_tcp_t *t = c->t;
    uint64_t id = c->id;
    mc_tcp_conn_shut(c);
    c->busy++;
    if (t->cbs.on_down)
        t->cbs.on_down(t->ctx, id, why);
    c->busy--;
    mc_tcp_conn_release(c);
}

static void mc_tcp_conn_fail_fire(void *arg)
{
    mc_tcp_conn_t *c = arg;
    c->fail_timer = 0;
    mc_tcp_conn_down(c, c->fail_why);
}

/* A failure noticed inside an op: report it from the loop, never inline. */
static void mc_tcp_conn_fail_later(mc_tcp_conn_t *c, mc_status_t why)
{
    if (c->fail_timer)
        return;
    c->fail_why = why;
    c->fail_timer = mc_loop_timer_arm(c->t->loop, 0, mc_tcp_conn_fail_fire, c);
}

static uint32_t mc_tcp_conn_interest(const mc_tcp_conn_t *c)
{
    if (c->fail_timer) /* failing: stop polling, the timer reports it */
        return 0;
    if (c->state == MC_TCP_CONNECTING)
        return EPOLLOUT;
    return EPOLLIN | (c->out.len > c->out.off ? EPOLLOUT : 0);
}

static void mc_tcp_conn_rearm(mc_tcp_conn_t *c)
{
    if (c->io && mc_loop_io_mod(c->t->loop, c->io, mc_tcp_conn_interest(c)) < 0) {
        mc_tcp_logf(c->t, MC_LOG_ERROR, "conn %llu: epoll_ctl: %s", (unsigned long long)c->id,
                    strerror(errno));
        mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
    }
}

/* Write what the socket takes. 0 = ok (maybe partial), -1 = socket error. */
static int mc_tcp_conn_flush(mc_tcp_conn_t *c)
{
    mc_tcp_buf_t *b = &c->out;
    while (b->off < b->len) {
        ssize_t n = send(c->fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL);
        if (n > 0) {
            b->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        mc_tcp_logf(c->t, MC_LOG_WARN, "conn %llu (%s): send: %s", (unsigned long long)c->id, c->peer,
                    strerror(errno));
        return -1;
    }
    mc_tcp_buf_settle(b);
    return 0;
}

/* Deliver every complete frame in the input buffer. false = conn is gone. */
static bool mc_tcp_conn_parse(mc_tcp_conn_t *c)
{
    mc_tcp_t *t = c->t;
    mc_tcp_buf_t *b = &c->in;
    for (;;) {
        size_t avail = b->len - b->off;
        mc_wire_hdr_t hdr;
        const char *why = NULL;
        mc_status_t s = mc_wire_parse_hdr(b->p + b->off, avail, &hdr, &why);
        if (s == MC_IN_PROGRESS)
            break;
        if (s != MC_OK) {
            mc_tcp_logf(t, MC_LOG_ERROR, "conn %llu (%s): malformed frame header: %s; closing",
                        (unsigned long long)c->id, c->peer, why ? why : "invalid");
            mc_tcp_conn_down(c, MC_RPC_FAIL);
            return false;
        }
        size_t need = (size_t)MC_WIRE_HDR_LEN + hdr.body_len;
        if (avail < need) {
            /* Room for the rest, up to a cap: memory follows the bytes that
             * actually arrive, not a length a peer merely announces. */
            size_t rest = need - avail;
            mc_tcp_buf_reserve(b, rest < MC_TCP_PREALLOC_MAX ? rest : MC_TCP_PREALLOC_MAX);
            break;
        }
        c->busy++;
        if (t->cbs.on_msg)
            t->cbs.on_msg(t->ctx, c->id, b->p + b->off, need);
        c->busy--;
        if (c->state == MC_TCP_CLOSED) {
            mc_tcp_conn_release(c);
            return false;
        }
        b->off += need;
    }
    mc_tcp_buf_settle(b);
    return true;
}

static void mc_tcp_conn_readable(mc_tcp_conn_t *c)
{
    for (int i = 0; i < MC_TCP_READS_PER_EVENT; i++) {
        uint8_t *dst = mc_tcp_buf_reserve(&c->in, MC_TCP_READ_CHUNK);
        size_t room = c->in.cap - c->in.len;
        ssize_t n = recv(c->fd, dst, room, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (!mc_tcp_conn_parse(c))
                return;
            if ((size_t)n < room)
                return; /* drained; level-triggered epoll calls again if not */
            continue;
        }
        if (n == 0) {
            mc_tcp_logf(c->t, MC_LOG_DEBUG, "conn %llu (%s): closed by peer", (unsigned long long)c->id,
                        c->peer);
            mc_tcp_conn_down(c, MC_OK);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        mc_tcp_logf(c->t, MC_LOG_WARN, "conn %llu (%s): recv: %s", (unsigned long long)c->id, c->peer,
                    strerror(errno));
        mc_tcp_conn_down(c, MC_RPC_FAIL);
        return;
    }
}

static void mc_tcp_conn_connected(mc_tcp_conn_t *c)
{
    mc_tcp_t *t = c->t;
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err) {
        mc_tcp_logf(t, MC_LOG_DEBUG, "conn %llu: connect to %s: %s", (unsigned long long)c->id, c->peer,
                    strerror(err));
        mc_tcp_conn_down(c, MC_RPC_FAIL);
        return;
    }
    c->state = MC_TCP_UP;
    if (mc_tcp_conn_flush(c) < 0)
        mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
    mc_tcp_conn_rearm(c);
    c->busy++;
    if (t->cbs.on_up)
        t->cbs.on_up(t->ctx, c->id);
    c->busy--;
    mc_tcp_conn_release(c);
}

static void mc_tcp_conn_io(void *arg, uint32_t events)
{
    mc_tcp_conn_t *c = arg;
    if (c->fail_timer)
        return; /* EPOLLERR/HUP cannot be masked; the timer reports it */
    if (c->state == MC_TCP_CONNECTING) {
        mc_tcp_conn_connected(c);
        return;
    }
    MC_ASSERT(c->state == MC_TCP_UP);
    if (events & EPOLLOUT) {
        if (mc_tcp_conn_flush(c) < 0) {
            mc_tcp_conn_down(c, MC_RPC_FAIL);
            return;
        }
        mc_tcp_conn_rearm(c);
    }
    /* Errors and hang-ups surface through recv. */
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        mc_tcp_conn_readable(c);
}

static void mc_tcp_sock_setup(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Open the socket and start connecting c (state CONNECTING). Failures are
 * reported later through on_down. */
static void mc_tcp_conn_start(mc_tcp_conn_t *c, const struct sockaddr_storage *ss, socklen_t sslen)
{
    mc_tcp_t *t = c->t;
    c->state = MC_TCP_CONNECTING;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        mc_tcp_logf(t, MC_LOG_ERROR, "conn %llu: connect to %s: socket: %s", (unsigned long long)c->id, c->peer,
                    strerror(errno));
        mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
        return;
    }
    c->fd = fd;
    mc_tcp_sock_setup(fd);
    int rc;
    do {
        rc = connect(fd, (const struct sockaddr *)ss, sslen);
    } while (rc < 0 && errno == EINTR);
    int cerr = rc < 0 ? errno : 0;
    if (cerr && cerr != EINPROGRESS) {
        /* Refused at once (common on loopback): report from the loop. */
        mc_tcp_logf(t, MC_LOG_DEBUG, "conn %llu: connect to %s: %s", (unsigned long long)c->id, c->peer,
                    strerror(cerr));
        mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
        return;
    }
    c->io = mc_loop_io_add(t->loop, fd, EPOLLOUT, mc_tcp_conn_io, c);
    if (!c->io) {
        mc_tcp_logf(t, MC_LOG_ERROR, "conn %llu: connect to %s: epoll_ctl: %s", (unsigned long long)c->id, c->peer,
                    strerror(errno));
        mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
    }
}

static void mc_tcp_resolved(void *ctx, uint64_t token, int err, const struct sockaddr_storage *ss, socklen_t len)
{
    mc_tcp_t *t = ctx;
    mc_tcp_conn_t *c = mc_map_getu(&t->conns, token);
    if (!c || c->state != MC_TCP_RESOLVING)
        return; /* closed while resolving */
    if (err) {
        mc_tcp_logf(t, MC_LOG_WARN, "conn %llu: cannot resolve %s: %s", (unsigned long long)c->id, c->peer,
                    gai_strerror(err));
        mc_tcp_conn_down(c, MC_RPC_FAIL);
        return;
    }
    mc_tcp_conn_start(c, ss, len);
}

mc_status_t mc_tcp_connect(mc_tcp_t *t, const char *addr, uint64_t *out)
{
    *out = 0;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    char why[128], host[MC_ADDR_STRLEN];
    uint16_t port;
    bool name = mc_addr_split(addr, host, sizeof host, &port) && port != 0 && mc_addr_is_name(host);
    if (!name && !mc_addr_resolve(addr, false, &ss, &sslen, why, sizeof why)) {
        mc_tcp_logf(t, MC_LOG_ERROR, "connect to '%s': %s", addr, why);
        return MC_INVALID_PARAMS;
    }
    if (name && !t->resolver && !(t->resolver = mc_resolver_create(t->loop, mc_tcp_resolved, t))) {
        mc_tcp_logf(t, MC_LOG_ERROR, "connect to %s: resolver: %s", addr, strerror(errno));
        return MC_INTERNAL_ERROR;
    }
    mc_tcp_conn_t *c = mc_tcp_conn_new(t, -1, MC_TCP_RESOLVING);
    snprintf(c->peer, sizeof c->peer, "%s", addr);
    if (name && mc_resolver_start(t->resolver, host, port, c->id) < 0) {
        mc_tcp_logf(t, MC_LOG_ERROR, "connect to %s: resolver thread: %s", addr, strerror(errno));
        mc_tcp_conn_free(c);
        return MC_INTERNAL_ERROR;
    }
    mc_map_putu(&t->conns, c->id, c);
    *out = c->id;
    if (!name)
        mc_tcp_conn_start(c, &ss, sslen);
    return MC_OK;
}

mc_status_t mc_tcp_send(mc_tcp_t *t, uint64_t conn, const uint8_t *frame, size_t len)
{
    mc_wire_hdr_t hdr;
    if (!frame || mc_wire_parse_hdr(frame, len, &hdr, NULL) != MC_OK ||
        (size_t)MC_WIRE_HDR_LEN + hdr.body_len != len)
        return MC_INVALID_PARAMS;
    mc_tcp_conn_t *c = mc_map_getu(&t->conns, conn);
    if (!c || c->fail_timer)
        return MC_RPC_FAIL;
    size_t pending = c->out.len - c->out.off;
    if (pending && pending + len > t->out_limit)
        return MC_AGAIN;
    memcpy(mc_tcp_buf_reserve(&c->out, len), frame, len);
    c->out.len += len;
    if (c->state != MC_TCP_UP)
        return MC_OK;
    if (pending == 0) { /* nothing queued before: try to write right away */
        if (mc_tcp_conn_flush(c) < 0) {
            mc_tcp_conn_fail_later(c, MC_RPC_FAIL);
            mc_tcp_conn_rearm(c);
            return MC_OK; /* accepted; the failure arrives as on_down */
        }
        if (c->out.len > c->out.off)
            mc_tcp_conn_rearm(c);
    }
    return MC_OK;
}

size_t mc_tcp_queued(const mc_tcp_t *t, uint64_t conn)
{
    mc_tcp_conn_t *c = mc_map_getu(&t->conns, conn);
    return c ? c->out.len - c->out.off : 0;
}

void mc_tcp_close(mc_tcp_t *t, uint64_t conn)
{
    mc_tcp_conn_t *c = mc_map_getu(&t->conns, conn);
    if (!c)
        return;
    /* Best effort: hand what is queued to the kernel before closing. */
    if (c->state == MC_TCP_UP && !c->fail_timer)
        (void)mc_tcp_conn_flush(c);
    mc_tcp_conn_shut(c);
    mc_tcp_conn_release(c);
}

/* ---------------------------------------------------------- listeners --- */

static void mc_tcp_listener_io(void *arg, uint32_t events)
{
    (void)events;
    mc_tcp_listener_t *ls = arg;
    mc_tcp_t *t = ls->t;
    for (int i = 0; i < MC_TCP_ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int fd = accept4(ls->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                mc_tcp_logf(t, MC_LOG_ERROR, "accept: %s", strerror(errno));
            return;
        }
        mc_tcp_sock_setup(fd);
        mc_tcp_conn_t *c = mc_tcp_conn_new(t, fd, MC_TCP_UP);
        mc_addr_format((struct sockaddr *)&ss, sslen, c->peer, sizeof c->peer);
        c->io = mc_loop_io_add(t->loop, fd, EPOLLIN, mc_tcp_conn_io, c);
        if (!c->io) {
            mc_tcp_logf(t, MC_LOG_ERROR, "accept: epoll_ctl: %s", strerror(errno));
            close(fd);
            mc_tcp_conn_free(c);
            continue;
        }
        mc_map_putu(&t->conns, c->id, c);
        c->busy++;
        if (t->cbs.on_accept)
            t->cbs.on_accept(t->ctx, c->id, c->peer);
        c->busy--;
        mc_tcp_conn_release(c);
    }
}

mc_status_t mc_tcp_listen(mc_tcp_t *t, const char *addr, uint16_t *bound_port)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char why[128];
    if (!mc_addr_resolve(addr, true, &ss, &sslen, why, sizeof why)) {
        mc_tcp_logf(t, MC_LOG_ERROR, "listen on '%s': %s", addr, why);
        return MC_INVALID_PARAMS;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        mc_tcp_logf(t, MC_LOG_ERROR, "listen on %s: socket: %s", addr, strerror(errno));
        return MC_INTERNAL_ERROR;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, SOMAXCONN) < 0) {
        mc_tcp_logf(t, MC_LOG_ERROR, "listen on %s: %s", addr, strerror(errno));
        close(fd);
        return MC_RPC_FAIL;
    }
    if (bound_port) {
        struct sockaddr_storage b;
        socklen_t blen = sizeof b;
        getsockname(fd, (struct sockaddr *)&b, &blen);
        *bound_port = mc_addr_port((struct sockaddr *)&b);
    }
    mc_tcp_listener_t *ls = mc_calloc(1, sizeof *ls);
    ls->t = t;
    ls->fd = fd;
    ls->io = mc_loop_io_add(t->loop, fd, EPOLLIN, mc_tcp_listener_io, ls);
    if (!ls->io) {
        mc_tcp_logf(t, MC_LOG_ERROR, "listen on %s: epoll_ctl: %s", addr, strerror(errno));
        close(fd);
        mc_free(ls);
        return MC_INTERNAL_ERROR;
    }
    mc_list_push_back(&t->listeners, &ls->link);
    return MC_OK;
}

void mc_tcp_destroy(mc_tcp_t *t)
{
    if (!t)
        return;
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&t->conns, &it, &e);) {
        mc_tcp_conn_t *c = e->value;
        MC_ASSERT(c->busy == 0); /* not from inside an upcall */
        mc_tcp_conn_shut(c);
        mc_tcp_conn_free(c);
    }
    mc_map_free(&t->conns);
    mc_resolver_destroy(t->resolver);
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &t->listeners) {
        mc_tcp_listener_t *ls = mc_container_of(pos, mc_tcp_listener_t, link);
        mc_list_del(pos);
        mc_loop_io_del(t->loop, ls->io);
        close(ls->fd);
        mc_free(ls);
    }
    mc_free(t);
}
