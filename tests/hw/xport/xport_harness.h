/* Shared helpers for the mc_xport tests: a loop, completion recorder,
 * xport construction and raw sockets. Header-only (static functions). */
#ifndef XPORT_HARNESS_H
#define XPORT_HARNESS_H

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc_loop.h"
#include "mc_xport.h"

#define MAXTAG 4096

typedef struct rec {
    mc_loop_t *loop;
    unsigned n_done;
    unsigned cnt[MAXTAG];
    mc_status_t st[MAXTAG];
    unsigned bad_tag;
} rec_t;

static inline int h_post(void *ctx, void (*fn)(void *), void *arg)
{
    return mc_loop_post(ctx, fn, arg);
}

static inline void h_done(void *ctx, uint64_t tag, mc_status_t status)
{
    rec_t *r = ctx;
    if (tag >= MAXTAG) {
        r->bad_tag++;
        return;
    }
    r->cnt[tag]++;
    r->st[tag] = status;
    r->n_done++;
}

static inline void h_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  [xport L%d] %s\n", level, msg);
}

static rec_t *h_rec_new(void)
{
    rec_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->loop = mc_loop_create();
    ck_assert_ptr_nonnull(r->loop);
    return r;
}

static inline void h_rec_free(rec_t *r)
{
    mc_loop_destroy(r->loop);
    free(r);
}

static inline void h_rec_reset(rec_t *r)
{
    r->n_done = 0;
    memset(r->cnt, 0, sizeof r->cnt);
    memset(r->st, 0, sizeof r->st);
}

/* Run the loop until n completions arrived or timeout_ms passed. */
static inline bool h_wait(rec_t *r, unsigned n, unsigned timeout_ms)
{
    uint64_t end = mc_loop_clock_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (r->n_done < n && mc_loop_clock_ns() < end)
        mc_loop_run_once(r->loop, 5000000ull);
    /* Give duplicates a chance to show up. */
    for (int i = 0; i < 3; i++)
        mc_loop_run_once(r->loop, 1000000ull);
    return r->n_done >= n;
}

/* shm: -2 off, 1 on. */
/* Options of a test xport on 127.0.0.1 reporting to r (tests adjust the
 * rest before mc_xport_create). */
static inline void h_xport_opts(rec_t *r, mc_xport_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->post = h_post;
    o->post_ctx = r->loop;
    o->done = h_done;
    o->done_ctx = r;
    o->log = h_log;
    o->log_level = MC_LOG_INFO;
}

static mc_xport_t *h_xport(rec_t *r, int shm, uint64_t timeout_ms)
{
    mc_xport_opts_t o;
    h_xport_opts(r, &o);
    o.shm = shm;
    o.timeout_ms = timeout_ms;
    mc_xport_t *x = mc_xport_create(&o);
    ck_assert_ptr_nonnull(x);
    return x;
}

static inline mc_xfer_op_t h_op(int opcode, void *local, const char *peer, uint64_t remote, uint64_t len, uint64_t tag)
{
    mc_xfer_op_t op;
    memset(&op, 0, sizeof op);
    op.opcode = (uint8_t)opcode;
    op.local = local;
    op.peer = peer;
    op.remote_addr = remote;
    op.len = len;
    op.tag = tag;
    return op;
}

static inline void h_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (uint8_t)(s >> 16);
    }
}

/* A loopback TCP listener on an ephemeral port; returns fd, *port set. */
static inline int h_raw_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static inline int h_raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

#endif
