/* mc_xport over TCP (shm off): two xports in one process on one loop and,
 * for peer death, a forked target process. Bytes compared; every op must
 * complete exactly once with the documented code. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "mc_xport_proto.h"
#include "xport_harness.h"

#define PEER_B "127.0.0.1:7001" /* B's (made-up) control address */

typedef struct pair {
    rec_t *r;
    mc_xport_t *a, *b;
} pair_t;

static pair_t pair_new(uint64_t timeout_ms)
{
    pair_t p;
    p.r = h_rec_new();
    p.a = h_xport(p.r, -2, timeout_ms);
    p.b = h_xport(p.r, -2, timeout_ms);
    ck_assert_int_eq(mc_xport_set_peer_desc(p.a, PEER_B, mc_xport_local_desc(p.b)), MC_OK);
    return p;
}

static void pair_free(pair_t *p)
{
    mc_xport_destroy(p->a);
    mc_xport_destroy(p->b);
    h_rec_free(p->r);
}

/* ---------------------------------------------------------- roundtrip --- */

START_TEST(test_write_read_sizes)
{
    static const uint64_t sizes[] = {1, 4096, 65536, 1u << 20, 16u << 20};
    pair_t p = pair_new(0);
    size_t cap = 16u << 20;
    uint8_t *src = calloc(1, cap), *dst = calloc(1, cap), *back = calloc(1, cap);
    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(dst);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(mc_xport_mem_register(p.a, src, cap), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(p.a, back, cap), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(p.b, dst, cap), MC_OK);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t n = sizes[i];
        h_rec_reset(p.r);
        h_fill(src, n, (uint32_t)i + 1);
        memset(dst, 0, n + (n < cap ? 1 : 0));
        memset(back, 0, n);
        mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, n, 1);
        ck_assert_int_eq(mc_xport_post(p.a, &w, 1), MC_OK);
        ck_assert_uint_eq(p.r->n_done, 0); /* never synchronous */
        ck_assert(h_wait(p.r, 1, 20000));
        ck_assert_int_eq(p.r->st[1], MC_OK);
        ck_assert_int_eq(memcmp(src, dst, n), 0);
        if (n < cap)
            ck_assert_uint_eq(dst[n], 0);
        mc_xfer_op_t rd = h_op(MC_XFER_READ, back, PEER_B, (uintptr_t)dst, n, 2);
        ck_assert_int_eq(mc_xport_post(p.a, &rd, 1), MC_OK);
        ck_assert(h_wait(p.r, 2, 20000));
        ck_assert_int_eq(p.r->st[2], MC_OK);
        ck_assert_int_eq(memcmp(src, back, n), 0);
        ck_assert_uint_eq(p.r->cnt[1], 1);
        ck_assert_uint_eq(p.r->cnt[2], 1);
        ck_assert_uint_eq(p.r->n_done, 2);
    }
    mc_xport_stats_t st;
    mc_xport_stats(p.a, &st);
    ck_assert_uint_eq(st.ops_shm, 0);
    ck_assert_uint_eq(st.ops_tcp, 10);
    pair_free(&p);
    free(src);
    free(dst);
    free(back);
}
END_TEST

/* Many concurrent ops of mixed sizes, both directions: exactly once each. */
START_TEST(test_many_concurrent_exactly_once)
{
    pair_t p = pair_new(0);
    size_t cap = 8u << 20;
    uint8_t *a = calloc(1, cap), *b = calloc(1, cap);
    ck_assert_int_eq(mc_xport_mem_register(p.a, a, cap), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(p.b, b, cap), MC_OK);
    h_fill(a, cap / 2, 7);
    h_fill(b + cap / 2, cap / 2, 9);
    enum { N = 512 };
    mc_xfer_op_t ops[N];
    uint64_t chunk = (cap / 2) / (N / 2); /* 16 KiB */
    for (unsigned i = 0; i < N; i++) {
        uint64_t off = (i / 2) * chunk;
        if (i % 2 == 0)
            ops[i] = h_op(MC_XFER_WRITE, a + off, PEER_B, (uintptr_t)(b + off), chunk, i);
        else
            ops[i] = h_op(MC_XFER_READ, a + cap / 2 + off, PEER_B, (uintptr_t)(b + cap / 2 + off), chunk, i);
    }
    ck_assert_int_eq(mc_xport_post(p.a, ops, N), MC_OK);
    ck_assert(h_wait(p.r, N, 30000));
    for (unsigned i = 0; i < N; i++) {
        ck_assert_uint_eq(p.r->cnt[i], 1);
        ck_assert_int_eq(p.r->st[i], MC_OK);
    }
    ck_assert_uint_eq(p.r->n_done, N);
    ck_assert_int_eq(memcmp(a, b, cap), 0);
    pair_free(&p);
    free(a);
    free(b);
}
END_TEST

/* ----------------------------------------------------------- bad input --- */

START_TEST(test_remote_out_of_range_rejected)
{
    pair_t p = pair_new(0);
    uint8_t *src = calloc(1, 1 << 20), *mem = calloc(1, 4096 + 2 * 256);
    ck_assert_int_eq(mc_xport_mem_register(p.a, src, 1 << 20), MC_OK);
    uint8_t *reg = mem + 256; /* guard bytes on both sides */
    memset(mem, 0xAB, 4096 + 512);
    ck_assert_int_eq(mc_xport_mem_register(p.b, reg, 4096), MC_OK);
    h_fill(src, 1 << 20, 3);
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg + 4000, 200, 1), /* runs past the end */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg - 100, 200, 2),  /* starts before */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)src, 64, 3),         /* not B's memory */
        h_op(MC_XFER_READ, src, PEER_B, (uintptr_t)reg + 10, 4096, 4),   /* read past end */
        h_op(MC_XFER_WRITE, src, PEER_B, UINT64_MAX - 100, 64, 5),       /* wild address */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg, 1 << 20, 6),    /* bigger than region, sliced */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg, 4096, 7),       /* valid, same connections */
    };
    ck_assert_int_eq(mc_xport_post(p.a, ops, 7), MC_OK);
    ck_assert(h_wait(p.r, 7, 10000));
    for (int t = 1; t <= 6; t++) {
        ck_assert_uint_eq(p.r->cnt[t], 1);
        ck_assert_int_eq(p.r->st[t], MC_INVALID_PARAMS);
    }
    ck_assert_int_eq(p.r->st[7], MC_OK);
    ck_assert_int_eq(memcmp(reg, src, 4096), 0);
    for (int i = 0; i < 256; i++) {
        ck_assert_uint_eq(mem[i], 0xAB);
        ck_assert_uint_eq(reg[4096 + i], 0xAB);
    }
    /* After unregistering, the same range is refused. */
    ck_assert_int_eq(mc_xport_mem_unregister(p.b, reg), MC_OK);
    ck_assert_int_eq(mc_xport_mem_unregister(p.b, reg), MC_INVALID_PARAMS);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg, 16, 8);
    mc_xport_post(p.a, &w, 1);
    ck_assert(h_wait(p.r, 8, 10000));
    ck_assert_int_eq(p.r->st[8], MC_INVALID_PARAMS);
    pair_free(&p);
    free(src);
    free(mem);
}
END_TEST

START_TEST(test_local_checks)
{
    pair_t p = pair_new(0);
    uint8_t *src = calloc(1, 8192), *dst = calloc(1, 8192), other[64];
    ck_assert_int_eq(mc_xport_mem_register(p.a, src, 4096), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(p.b, dst, 8192), MC_OK);
    /* registration rules */
    ck_assert_int_eq(mc_xport_mem_register(p.a, src + 100, 10), MC_INVALID_PARAMS); /* overlap */
    ck_assert_int_eq(mc_xport_mem_register(p.a, NULL, 10), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_xport_mem_register(p.a, src + 4096, 0), MC_INVALID_PARAMS);
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_WRITE, other, PEER_B, (uintptr_t)dst, 64, 1),          /* unregistered local */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, 0, 2),             /* zero length */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, UINT64_MAX / 2, 3), /* huge */
        h_op(MC_XFER_WRITE, src + 4000, PEER_B, (uintptr_t)dst, 200, 4),    /* local runs past */
        h_op(7, src, PEER_B, (uintptr_t)dst, 64, 5),                         /* bad opcode */
        h_op(MC_XFER_WRITE, src, NULL, (uintptr_t)dst, 64, 6),               /* no peer */
        h_op(MC_XFER_READ, src, "nobody:1", (uintptr_t)dst, 64, 7),          /* unresolvable */
        h_op(MC_XFER_WRITE, src, PEER_B, UINT64_MAX - 10, 64, 8),            /* remote wraps */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, 64, 9),             /* fine */
    };
    ck_assert_int_eq(mc_xport_post(p.a, ops, 9), MC_INVALID_PARAMS);
    ck_assert_uint_eq(p.r->n_done, 0); /* completions are asynchronous */
    ck_assert(h_wait(p.r, 9, 10000));
    for (int t = 1; t <= 9; t++)
        ck_assert_uint_eq(p.r->cnt[t], 1);
    for (int t = 1; t <= 6; t++)
        ck_assert_int_eq(p.r->st[t], MC_INVALID_PARAMS);
    ck_assert_int_eq(p.r->st[7], MC_TRANSFER_FAIL);
    ck_assert_int_eq(p.r->st[8], MC_INVALID_PARAMS);
    ck_assert_int_eq(p.r->st[9], MC_OK);
    ck_assert_uint_eq(p.r->n_done, 9);
    pair_free(&p);
    free(src);
    free(dst);
}
END_TEST

START_TEST(test_connect_refused)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, -2, 0);
    uint16_t port;
    int lfd = h_raw_listen(&port);
    close(lfd); /* nothing listens there now */
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "dead:1", desc), MC_OK);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "dead:2", "garbage"), MC_INVALID_PARAMS);
    uint8_t *buf = calloc(1, 4 << 20);
    ck_assert_int_eq(mc_xport_mem_register(a, buf, 4 << 20), MC_OK);
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_WRITE, buf, "dead:1", 0x1000, 4 << 20, 1),
        h_op(MC_XFER_READ, buf, "dead:1", 0x1000, 100, 2),
    };
    mc_xport_post(a, ops, 2);
    ck_assert(h_wait(r, 2, 10000));
    ck_assert_int_eq(r->st[1], MC_TRANSFER_FAIL);
    ck_assert_int_eq(r->st[2], MC_TRANSFER_FAIL);
    ck_assert_uint_eq(r->cnt[1], 1);
    ck_assert_uint_eq(r->cnt[2], 1);
    mc_xport_destroy(a);
    h_rec_free(r);
    free(buf);
}
END_TEST

/* A peer that accepts and then never answers: MC_RPC_TIMEOUT. */
START_TEST(test_timeout)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, -2, 300);
    uint16_t port;
    int lfd = h_raw_listen(&port); /* accepts via backlog, never reads */
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "mute:1", desc), MC_OK);
    uint8_t *buf = calloc(1, 32 << 20);
    ck_assert_int_eq(mc_xport_mem_register(a, buf, 32 << 20), MC_OK);
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_READ, buf, "mute:1", 0x1000, 100, 1),
        h_op(MC_XFER_WRITE, buf, "mute:1", 0x1000, 32 << 20, 2), /* fills the socket buffers */
    };
    uint64_t t0 = mc_loop_clock_ns();
    mc_xport_post(a, ops, 2);
    ck_assert(h_wait(r, 2, 10000));
    uint64_t ms = (mc_loop_clock_ns() - t0) / 1000000;
    ck_assert_int_eq(r->st[1], MC_RPC_TIMEOUT);
    ck_assert_int_eq(r->st[2], MC_RPC_TIMEOUT);
    ck_assert_uint_ge(ms, 250);
    ck_assert_uint_lt(ms, 5000);
    mc_xport_destroy(a);
    close(lfd);
    h_rec_free(r);
    free(buf);
}
END_TEST

/* A peer that answers garbage: the connection is closed, ops fail. */
static void *garbage_server(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0) {
        uint8_t hdr[MC_XPORT_REQ_LEN];
        if (recv(fd, hdr, sizeof hdr, MSG_WAITALL) == (ssize_t)sizeof hdr) {
            static const char junk[] = "HTTP/1.1 200 OK\r\n\r\n";
            if (send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL) < 0)
                perror("send");
        }
        usleep(200000);
        close(fd);
    }
    return NULL;
}

START_TEST(test_malformed_response)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, -2, 0);
    ck_assert_ptr_nonnull(a);
    uint16_t port;
    int lfd = h_raw_listen(&port);
    pthread_t th;
    pthread_create(&th, NULL, garbage_server, &lfd);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    mc_xport_set_peer_desc(a, "junk:1", desc);
    uint8_t buf[256];
    ck_assert_int_eq(mc_xport_mem_register(a, buf, sizeof buf), MC_OK);
    mc_xfer_op_t op = h_op(MC_XFER_READ, buf, "junk:1", 0x1000, 100, 1);
    mc_xport_post(a, &op, 1);
    ck_assert(h_wait(r, 1, 10000));
    ck_assert_int_eq(r->st[1], MC_TRANSFER_FAIL);
    pthread_join(th, NULL);
    close(lfd);
    mc_xport_destroy(a);
    h_rec_free(r);
}
END_TEST

/* A malformed request header closes that connection only; the receiver
 * keeps serving others. */
START_TEST(test_malformed_request)
{
    pair_t p = pair_new(0);
    uint8_t *src = calloc(1, 4096), *dst = calloc(1, 4096);
    mc_xport_mem_register(p.a, src, 4096);
    mc_xport_mem_register(p.b, dst, 4096);
    int fd = h_raw_connect(mc_xport_data_port(p.b));
    uint8_t junk[MC_XPORT_REQ_LEN];
    memset(junk, 0x5A, sizeof junk);
    ck_assert_int_eq(send(fd, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
    char c;
    ck_assert_int_eq(recv(fd, &c, 1, 0), 0); /* closed by the receiver */
    close(fd);
    /* A well-formed but out-of-range request gets REJECTED and the
     * connection stays usable. */
    fd = h_raw_connect(mc_xport_data_port(p.b));
    mc_xport_req_t rq = {.opcode = MC_XFER_READ, .len = 8, .addr = (uintptr_t)src, .req_id = 42};
    uint8_t hb[MC_XPORT_REQ_LEN], rb[MC_XPORT_RESP_LEN];
    mc_xport_req_encode(&rq, hb);
    ck_assert_int_eq(send(fd, hb, sizeof hb, MSG_NOSIGNAL), (ssize_t)sizeof hb);
    ck_assert_int_eq(recv(fd, rb, sizeof rb, MSG_WAITALL), (ssize_t)sizeof rb);
    mc_xport_resp_t rs;
    ck_assert_int_eq(mc_xport_resp_decode(rb, sizeof rb, &rs, NULL), MC_XPORT_DEC_OK);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_REJECTED);
    ck_assert_uint_eq(rs.req_id, 42);
    close(fd);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, 4096, 1);
    mc_xport_post(p.a, &w, 1);
    ck_assert(h_wait(p.r, 1, 10000));
    ck_assert_int_eq(p.r->st[1], MC_OK);
    pair_free(&p);
    free(src);
    free(dst);
}
END_TEST

/* ---------------------------------------------- peer killed mid-batch --- */

/* Child: a target xport with a registered buffer; reports its data port
 * and buffer address on the pipe, then serves until killed. */
static void child_target(int wfd, size_t len, int shm)
{
    rec_t *r = h_rec_new();
    mc_xport_t *x = h_xport(r, shm, 0);
    uint8_t *buf = shm == 1 ? mc_xport_alloc_shared(x, len) : calloc(1, len);
    if (!buf || mc_xport_mem_register(x, buf, len) != MC_OK)
        _exit(3);
    h_fill(buf, len, 99);
    uint64_t msg[2] = {mc_xport_data_port(x), (uintptr_t)buf};
    if (write(wfd, msg, sizeof msg) != (ssize_t)sizeof msg)
        _exit(4);
    for (;;)
        mc_loop_run_once(r->loop, 100000000ull);
}

static pid_t spawn_target(size_t len, int shm, uint16_t *port, uint64_t *addr)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        child_target(pfd[1], len, shm);
        _exit(0);
    }
    close(pfd[1]);
    uint64_t msg[2];
    ck_assert_int_eq(read(pfd[0], msg, sizeof msg), (ssize_t)sizeof msg);
    close(pfd[0]);
    *port = (uint16_t)msg[0];
    *addr = msg[1];
    return pid;
}

START_TEST(test_two_process_bytes)
{
    size_t len = 16u << 20;
    uint16_t port;
    uint64_t raddr;
    pid_t pid = spawn_target(len, -2, &port, &raddr);
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, -2, 0);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    mc_xport_set_peer_desc(a, "child:1", desc);
    uint8_t *buf = calloc(1, len), *expect = calloc(1, len), *mine = calloc(1, len);
    h_fill(expect, len, 99);
    h_fill(mine, len, 5);
    ck_assert_int_eq(mc_xport_mem_register(a, buf, len), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(a, mine, len), MC_OK);
    mc_xfer_op_t rd = h_op(MC_XFER_READ, buf, "child:1", raddr, len, 1);
    mc_xport_post(a, &rd, 1);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(buf, expect, len), 0);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, mine, "child:1", raddr + 12345, 1 << 20, 2);
    mc_xfer_op_t rb = h_op(MC_XFER_READ, buf, "child:1", raddr + 12345, 1 << 20, 3);
    mc_xport_post(a, &w, 1);
    ck_assert(h_wait(r, 2, 20000));
    mc_xport_post(a, &rb, 1);
    ck_assert(h_wait(r, 3, 20000));
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_int_eq(r->st[3], MC_OK);
    ck_assert_int_eq(memcmp(buf, mine, 1 << 20), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    mc_xport_destroy(a);
    h_rec_free(r);
    free(buf);
    free(expect);
    free(mine);
}
END_TEST

typedef struct killer {
    rec_t *r;
    pid_t pid;
    bool killed;
} killer_t;

START_TEST(test_peer_killed_mid_batch)
{
    size_t len = 64u << 20;
    uint16_t port;
    uint64_t raddr;
    pid_t pid = spawn_target(len, -2, &port, &raddr);
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, -2, 0);
    mc_xport_t *c = h_xport(r, -2, 0); /* a second, healthy peer */
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    mc_xport_set_peer_desc(a, "child:1", desc);
    mc_xport_set_peer_desc(a, "c:1", mc_xport_local_desc(c));
    uint8_t *buf = calloc(1, len), *cbuf = calloc(1, 1 << 20);
    ck_assert_int_eq(mc_xport_mem_register(a, buf, len), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(c, cbuf, 1 << 20), MC_OK);
    enum { N = 256 };
    uint64_t blk = len / 16; /* 4 MiB: N ops move 1 GiB */
    mc_xfer_op_t ops[N];
    for (unsigned i = 0; i < N; i++)
        ops[i] = h_op(i % 2 ? MC_XFER_READ : MC_XFER_WRITE, buf + (i % 16) * blk, "child:1",
                      raddr + (i % 16) * blk, blk, i);
    ck_assert_int_eq(mc_xport_post(a, ops, N), MC_OK);
    /* Kill the target as soon as the first op completed. */
    uint64_t end = mc_loop_clock_ns() + 20000000000ull;
    while (r->n_done == 0 && mc_loop_clock_ns() < end)
        mc_loop_run_once(r->loop, 1000000ull);
    ck_assert_uint_gt(r->n_done, 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert(h_wait(r, N, 20000));
    unsigned ok = 0, failed = 0;
    for (unsigned i = 0; i < N; i++) {
        ck_assert_uint_eq(r->cnt[i], 1);
        if (r->st[i] == MC_OK)
            ok++;
        else if (r->st[i] == MC_TRANSFER_FAIL)
            failed++;
        else
            ck_abort_msg("op %u: unexpected status %d", i, r->st[i]);
    }
    ck_assert_uint_eq(r->n_done, N);
    ck_assert_uint_gt(ok, 0);
    ck_assert_uint_gt(failed, 0);
    fprintf(stderr, "  killed mid-batch: %u ok, %u failed\n", ok, failed);
    /* The engine still works with another peer, and fails fast on the dead one. */
    h_rec_reset(r);
    h_fill(buf, 1 << 20, 77);
    mc_xfer_op_t more[] = {
        h_op(MC_XFER_WRITE, buf, "c:1", (uintptr_t)cbuf, 1 << 20, 1),
        h_op(MC_XFER_WRITE, buf, "child:1", raddr, 4096, 2),
    };
    mc_xport_post(a, more, 2);
    ck_assert(h_wait(r, 2, 10000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(buf, cbuf, 1 << 20), 0);
    ck_assert_int_eq(r->st[2], MC_TRANSFER_FAIL);
    mc_xport_destroy(a);
    mc_xport_destroy(c);
    h_rec_free(r);
    free(buf);
    free(cbuf);
}
END_TEST

/* Destroy with ops in flight: no callback afterwards, no leak, no hang. */
START_TEST(test_destroy_in_flight)
{
    pair_t p = pair_new(0);
    size_t len = 32u << 20;
    uint8_t *a = calloc(1, len), *b = calloc(1, len);
    mc_xport_mem_register(p.a, a, len);
    mc_xport_mem_register(p.b, b, len);
    mc_xfer_op_t ops[8];
    for (int i = 0; i < 8; i++)
        ops[i] = h_op(MC_XFER_WRITE, a, PEER_B, (uintptr_t)b, len, (uint64_t)i);
    mc_xport_post(p.a, ops, 8);
    mc_loop_run_once(p.r->loop, 1000000ull);
    mc_xport_destroy(p.a);
    unsigned before = p.r->n_done;
    for (int i = 0; i < 5; i++)
        mc_loop_run_once(p.r->loop, 2000000ull);
    ck_assert_uint_eq(p.r->n_done, before);
    mc_xport_destroy(p.b);
    h_rec_free(p.r);
    free(a);
    free(b);
}
END_TEST

/* The deterministic resolver rule: data port = control port + offset. */
static int fixed_resolve(void *ctx, const char *peer, mc_xport_endpoint_t *out)
{
    if (strcmp(peer, "resolved:1") != 0)
        return -1;
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    out->data_port = *(uint16_t *)ctx;
    return 0;
}

START_TEST(test_resolvers)
{
    rec_t *r = h_rec_new();
    mc_xport_t *b = h_xport(r, -2, 0);
    uint16_t bport = mc_xport_data_port(b);
    mc_xport_endpoint_t ep;
    ck_assert_int_eq(mc_xport_desc_parse(mc_xport_local_desc(b), &ep), 0);
    ck_assert_uint_eq(ep.data_port, bport);
    ck_assert_str_eq(ep.host, "127.0.0.1");
    mc_xport_opts_t o;
    memset(&o, 0, sizeof o);
    o.shm = -2;
    o.post = h_post;
    o.post_ctx = r->loop;
    o.done = h_done;
    o.done_ctx = r;
    o.resolve = fixed_resolve;
    o.resolve_ctx = &bport;
    o.peer_port_offset = 100;
    mc_xport_t *a = mc_xport_create(&o);
    ck_assert_ptr_nonnull(a);
    uint8_t *src = calloc(1, 4096), *dst = calloc(1, 4096);
    mc_xport_mem_register(a, src, 4096);
    mc_xport_mem_register(b, dst, 4096);
    h_fill(src, 4096, 1);
    char ctrl[64];
    snprintf(ctrl, sizeof ctrl, "127.0.0.1:%u", (unsigned)(bport - 100));
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_WRITE, src, "resolved:1", (uintptr_t)dst, 2048, 1),
        h_op(MC_XFER_WRITE, src + 2048, ctrl, (uintptr_t)dst + 2048, 2048, 2),
    };
    mc_xport_post(a, ops, 2);
    ck_assert(h_wait(r, 2, 10000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_int_eq(memcmp(src, dst, 4096), 0);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(src);
    free(dst);
}
END_TEST

static Suite *xport_tcp_suite(void)
{
    Suite *s = suite_create("xport_tcp");
    TCase *tc = tcase_create("tcp");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_write_read_sizes);
    tcase_add_test(tc, test_many_concurrent_exactly_once);
    tcase_add_test(tc, test_remote_out_of_range_rejected);
    tcase_add_test(tc, test_local_checks);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_malformed_response);
    tcase_add_test(tc, test_malformed_request);
    tcase_add_test(tc, test_two_process_bytes);
    tcase_add_test(tc, test_peer_killed_mid_batch);
    tcase_add_test(tc, test_destroy_in_flight);
    tcase_add_test(tc, test_resolvers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(xport_tcp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
