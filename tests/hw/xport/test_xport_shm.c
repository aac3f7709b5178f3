/* mc_xport shared-memory path: same-host peers whose memory came from
 * mc_xport_alloc_shared() are served by memcpy (stats prove which path),
 * with the same bounds rules as TCP; MC_FORCE_TCP turns it off; a dead
 * owner process fails cleanly; shared memory is sealed; copy_now copies
 * on the calling thread once the peer is mapped. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "mc_xport_int.h"
#include "xport_harness.h"

#define PEER_B "127.0.0.1:7002"

START_TEST(test_shm_bytes_and_path)
{
    static const uint64_t sizes[] = {1, 4096, 65536, 1u << 20, 16u << 20};
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, 1, 0), *b = h_xport(r, 1, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, PEER_B, mc_xport_local_desc(b)), MC_OK);
    ck_assert_ptr_nonnull(strstr(mc_xport_local_desc(b), "shm=1"));
    size_t cap = 16u << 20;
    uint8_t *dst = mc_xport_alloc_shared(b, cap);
    ck_assert_ptr_nonnull(dst);
    uint8_t *src = calloc(1, cap), *back = calloc(1, cap);
    ck_assert_int_eq(mc_xport_mem_register(a, src, cap), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(a, back, cap), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, cap), MC_OK);
    uint64_t tag = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t n = sizes[i];
        h_rec_reset(r);
        h_fill(src, n, (uint32_t)i + 11);
        memset(back, 0, n);
        mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, n, tag);
        ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
        ck_assert_uint_eq(r->n_done, 0);
        ck_assert(h_wait(r, 1, 10000));
        ck_assert_int_eq(r->st[tag], MC_OK);
        ck_assert_int_eq(memcmp(src, dst, n), 0);
        mc_xfer_op_t rd = h_op(MC_XFER_READ, back, PEER_B, (uintptr_t)dst, n, tag + 1);
        ck_assert_int_eq(mc_xport_post(a, &rd, 1), MC_OK);
        ck_assert(h_wait(r, 2, 10000));
        ck_assert_int_eq(r->st[tag + 1], MC_OK);
        ck_assert_int_eq(memcmp(src, back, n), 0);
        ck_assert_uint_eq(r->cnt[tag], 1);
        ck_assert_uint_eq(r->cnt[tag + 1], 1);
        tag += 2;
    }
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 10);
    ck_assert_uint_eq(st.ops_tcp, 0);
    ck_assert_int_eq(mc_xport_mem_unregister(b, dst), MC_OK);
    mc_xport_free_shared(b, dst);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(src);
    free(back);
}
END_TEST

/* Bounds: a region registered inside a shared allocation, with guard bytes
 * of the same allocation around it. Out-of-range ops are refused
 * (MC_INVALID_PARAMS, via the TCP receiver's check) and touch nothing;
 * a plain (non-shared) region of the peer is served over TCP. */
START_TEST(test_shm_bounds_and_fallback)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, 1, 0), *b = h_xport(r, 1, 0);
    mc_xport_set_peer_desc(a, PEER_B, mc_xport_local_desc(b));
    uint8_t *sh = mc_xport_alloc_shared(b, 3 * 4096);
    memset(sh, 0xCD, 3 * 4096);
    uint8_t *reg = sh + 4096;
    ck_assert_int_eq(mc_xport_mem_register(b, reg, 4096), MC_OK);
    uint8_t *plain = calloc(1, 8192);
    ck_assert_int_eq(mc_xport_mem_register(b, plain, 8192), MC_OK);
    uint8_t *src = calloc(1, 16384);
    h_fill(src, 16384, 4);
    ck_assert_int_eq(mc_xport_mem_register(a, src, 16384), MC_OK);
    mc_xfer_op_t ops[] = {
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg + 4000, 200, 1), /* past the end */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg - 1, 16, 2),     /* before */
        h_op(MC_XFER_READ, src, PEER_B, (uintptr_t)sh, 64, 3),           /* shared, unregistered */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg, 4096, 4),       /* ok via shm */
        h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)plain, 8192, 5),     /* ok via tcp */
    };
    mc_xport_post(a, ops, 5);
    ck_assert(h_wait(r, 5, 10000));
    for (int t = 1; t <= 3; t++)
        ck_assert_int_eq(r->st[t], MC_INVALID_PARAMS);
    ck_assert_int_eq(r->st[4], MC_OK);
    ck_assert_int_eq(r->st[5], MC_OK);
    for (int t = 1; t <= 5; t++)
        ck_assert_uint_eq(r->cnt[t], 1);
    ck_assert_int_eq(memcmp(reg, src, 4096), 0);
    ck_assert_int_eq(memcmp(plain, src, 8192), 0);
    for (int i = 0; i < 4096; i++) {
        ck_assert_uint_eq(sh[i], 0xCD);
        ck_assert_uint_eq(sh[8192 + i], 0xCD);
    }
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 1);
    ck_assert_uint_eq(st.ops_tcp, 4);
    /* After unregistering, the peer's table no longer covers it. */
    h_rec_reset(r);
    ck_assert_int_eq(mc_xport_mem_unregister(b, reg), MC_OK);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)reg, 16, 1);
    mc_xport_post(a, &w, 1);
    ck_assert(h_wait(r, 1, 10000));
    ck_assert_int_eq(r->st[1], MC_INVALID_PARAMS);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(src);
    free(plain);
}
END_TEST

START_TEST(test_force_tcp_env)
{
    setenv("MC_FORCE_TCP", "1", 1);
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, 1, 0);
    unsetenv("MC_FORCE_TCP");
    mc_xport_t *b = h_xport(r, 1, 0);
    ck_assert_ptr_nonnull(strstr(mc_xport_local_desc(a), "shm=0"));
    mc_xport_set_peer_desc(a, PEER_B, mc_xport_local_desc(b));
    uint8_t *dst = mc_xport_alloc_shared(b, 1 << 20);
    uint8_t *src = calloc(1, 1 << 20);
    h_fill(src, 1 << 20, 8);
    mc_xport_mem_register(a, src, 1 << 20);
    mc_xport_mem_register(b, dst, 1 << 20);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, 1 << 20, 1);
    mc_xport_post(a, &w, 1);
    ck_assert(h_wait(r, 1, 10000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(src, dst, 1 << 20), 0);
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 0);
    ck_assert_uint_eq(st.ops_tcp, 1);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(src);
}
END_TEST

/* Two processes: the child owns shared memory; the parent reads and writes
 * it through shm; after the child dies, ops fail (no stale success). */
static void child_owner(int wfd, size_t len)
{
    rec_t *r = h_rec_new();
    mc_xport_t *x = h_xport(r, 1, 0);
    uint8_t *buf = mc_xport_alloc_shared(x, len);
    if (!buf || mc_xport_mem_register(x, buf, len) != MC_OK)
        _exit(3);
    h_fill(buf, len, 99);
    uint64_t msg[2] = {mc_xport_data_port(x), (uintptr_t)buf};
    if (write(wfd, msg, sizeof msg) != (ssize_t)sizeof msg)
        _exit(4);
    for (;;)
        mc_loop_run_once(r->loop, 100000000ull);
}

START_TEST(test_shm_two_process)
{
    size_t len = 8u << 20;
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child_owner(pfd[1], len);
        _exit(0);
    }
    close(pfd[1]);
    uint64_t msg[2];
    ck_assert_int_eq(read(pfd[0], msg, sizeof msg), (ssize_t)sizeof msg);
    close(pfd[0]);
    rec_t *r = h_rec_new();
    mc_xport_t *a = h_xport(r, 1, 0);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=1", (unsigned)msg[0]);
    mc_xport_set_peer_desc(a, "owner:1", desc);
    uint8_t *buf = calloc(1, len), *expect = calloc(1, len);
    h_fill(expect, len, 99);
    mc_xport_mem_register(a, buf, len);
    mc_xfer_op_t rd = h_op(MC_XFER_READ, buf, "owner:1", msg[1], len, 1);
    mc_xport_post(a, &rd, 1);
    ck_assert(h_wait(r, 1, 10000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(buf, expect, len), 0);
    h_fill(buf, 4096, 1234);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, buf, "owner:1", msg[1] + 100, 4096, 2);
    mc_xfer_op_t rb = h_op(MC_XFER_READ, buf + 8192, "owner:1", msg[1] + 100, 4096, 3);
    mc_xport_post(a, &w, 1);
    ck_assert(h_wait(r, 2, 10000));
    mc_xport_post(a, &rb, 1);
    ck_assert(h_wait(r, 3, 10000));
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_int_eq(r->st[3], MC_OK);
    ck_assert_int_eq(memcmp(buf, buf + 8192, 4096), 0);
    mc_xport_stats_t st;
    mc_xport_stats(a, &st);
    ck_assert_uint_eq(st.ops_shm, 3);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    mc_xfer_op_t late = h_op(MC_XFER_WRITE, buf, "owner:1", msg[1], 4096, 4);
    mc_xport_post(a, &late, 1);
    ck_assert(h_wait(r, 4, 10000));
    ck_assert_int_eq(r->st[4], MC_TRANSFER_FAIL);
    ck_assert_uint_eq(r->cnt[4], 1);
    mc_xport_destroy(a);
    h_rec_free(r);
    free(buf);
    free(expect);
}
END_TEST

/* Shared memory is sealed: a mapper cannot be killed by SIGBUS through a
 * truncation, and a peer's fd that is unsealed or shorter than it claims
 * is refused. */
START_TEST(test_memfd_seals)
{
    int fd = mc_xport_memfd_sealed("t-sealed", 8192);
    ck_assert_int_ge(fd, 0);
    ck_assert(mc_xport_fd_holds(fd, 8192));
    ck_assert(!mc_xport_fd_holds(fd, 8193));         /* claims more than it holds */
    ck_assert_int_ne(ftruncate(fd, 4096), 0);        /* cannot shrink under a mapper */
    ck_assert_int_ne(ftruncate(fd, 1 << 20), 0);
    close(fd);
    int raw = memfd_create("t-unsealed", MFD_CLOEXEC);
    ck_assert_int_ge(raw, 0);
    ck_assert_int_eq(ftruncate(raw, 8192), 0);
    ck_assert(!mc_xport_fd_holds(raw, 8192));        /* could shrink later */
    close(raw);
}
END_TEST

static int parse_resolve(void *ctx, const char *peer, mc_xport_endpoint_t *out)
{
    (void)ctx;
    return mc_xport_desc_parse(peer, out);
}

/* mc_xport_copy_now: nothing before first contact (MC_IN_PROGRESS, bytes
 * untouched), then a synchronous memcpy of any size with the key checked
 * (a wrong key is MC_IN_PROGRESS: the posted path answers); the own-memory
 * form checks the key the same way. */
START_TEST(test_copy_now)
{
    rec_t *r = h_rec_new();
    mc_xport_opts_t o;
    h_xport_opts(r, &o);
    o.shm = 1;
    o.resolve = parse_resolve;
    mc_xport_t *a = mc_xport_create(&o), *b = h_xport(r, 1, 0);
    ck_assert_ptr_nonnull(a);
    char peer[256];
    snprintf(peer, sizeof peer, "%s", mc_xport_local_desc(b));
    size_t cap = 4u << 20;
    uint8_t *seg = mc_xport_alloc_shared(b, cap), *buf = calloc(1, cap);
    uint32_t key = 0, lkey = 0;
    ck_assert_int_eq(mc_xport_mem_register_key(b, seg, cap, &key), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register_key(a, buf, cap, &lkey), MC_OK);
    h_fill(seg, cap, 5);
    mc_xfer_op_t rd = h_op(MC_XFER_READ, buf, peer, (uintptr_t)seg, cap, 1);
    rd.remote_key = key;
    ck_assert_int_eq(mc_xport_copy_now(a, &rd), MC_IN_PROGRESS); /* not mapped yet */
    ck_assert_uint_eq(buf[0] | buf[cap - 1], 0);
    ck_assert_int_eq(mc_xport_post(a, &rd, 1), MC_OK);           /* first contact: the worker maps it */
    ck_assert(h_wait(r, 1, 10000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(buf, seg, cap), 0);
    memset(buf, 0, cap);
    ck_assert_int_eq(mc_xport_copy_now(a, &rd), MC_OK);          /* 4 MiB, on this thread */
    ck_assert_int_eq(memcmp(buf, seg, cap), 0);
    ck_assert_uint_eq(r->n_done, 1);                              /* no completion for it */
    mc_xfer_op_t wr = h_op(MC_XFER_WRITE, buf, peer, (uintptr_t)seg + 100, 50, 2);
    wr.remote_key = key;
    memset(buf, 0xab, 50);
    ck_assert_int_eq(mc_xport_copy_now(a, &wr), MC_OK);
    ck_assert_uint_eq(seg[100], 0xab);
    ck_assert_uint_eq(seg[149], 0xab);
    wr.remote_key = key + 1;                                      /* stale key: untouched */
    memset(buf, 0xcd, 50);
    ck_assert_int_eq(mc_xport_copy_now(a, &wr), MC_IN_PROGRESS);
    ck_assert_uint_eq(seg[100], 0xab);
    wr.remote_key = key;
    wr.remote_addr = (uintptr_t)seg + cap - 10;                   /* past the region */
    ck_assert_int_eq(mc_xport_copy_now(a, &wr), MC_IN_PROGRESS);
    wr.len = 0;
    ck_assert_int_eq(mc_xport_copy_now(a, &wr), MC_INVALID_PARAMS);
    /* own memory: by key */
    uint8_t small[8] = {0};
    ck_assert_int_eq(mc_xport_copy_local(a, MC_XFER_READ, small, (uintptr_t)buf, lkey, 8), MC_OK);
    ck_assert_uint_eq(small[0], 0xcd);
    ck_assert_int_eq(mc_xport_copy_local(a, MC_XFER_READ, small, (uintptr_t)buf, lkey + 1, 8), MC_IN_PROGRESS);
    ck_assert_int_eq(mc_xport_copy_local(a, MC_XFER_READ, small, (uintptr_t)buf + cap - 4, lkey, 8),
                     MC_IN_PROGRESS);
    ck_assert_int_eq(mc_xport_copy_local(a, MC_XFER_READ, small, (uintptr_t)buf, 0, 8), MC_INVALID_PARAMS);
    ck_assert_int_eq(mc_xport_mem_unregister(b, seg), MC_OK);
    ck_assert_int_eq(mc_xport_mem_unregister(a, buf), MC_OK);
    mc_xport_free_shared(b, seg);
    mc_xport_destroy(a);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(buf);
}
END_TEST

static Suite *xport_shm_suite(void)
{
    Suite *s = suite_create("xport_shm");
    TCase *tc = tcase_create("shm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shm_bytes_and_path);
    tcase_add_test(tc, test_shm_bounds_and_fallback);
    tcase_add_test(tc, test_force_tcp_env);
    tcase_add_test(tc, test_shm_two_process);
    tcase_add_test(tc, test_memfd_seals);
    tcase_add_test(tc, test_copy_now);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(xport_shm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
