/* mc_xport TCP receiver under pipelining, driven from a raw socket: many
 * requests in one send get their responses in request order (coalesced
 * responses must not reorder or lose any; small READs travel inside the
 * coalesced run), a lone last request is still
 * answered (deferred responses go out before the receiver waits),
 * rejected WRITEs in the middle keep the stream in sync, and requests
 * served before a malformed header are answered before the close. */
#include <poll.h>
#include <signal.h>

#include "mc_xport_proto.h"
#include "xport_harness.h"

#define REG (64u << 10)

typedef struct srv {
    rec_t *r;
    mc_xport_t *x;
    uint8_t *mem;
} srv_t;

static srv_t srv_new(void)
{
    srv_t s;
    s.r = h_rec_new();
    s.x = h_xport(s.r, -2, 0);
    s.mem = calloc(1, REG);
    ck_assert_ptr_nonnull(s.mem);
    ck_assert_int_eq(mc_xport_mem_register(s.x, s.mem, REG), MC_OK);
    return s;
}

static void srv_free(srv_t *s)
{
    mc_xport_mem_unregister(s->x, s->mem);
    mc_xport_destroy(s->x);
    h_rec_free(s->r);
    free(s->mem);
}

/* Append a request (and a WRITE's payload) to out; returns the new length. */
static size_t put_req(uint8_t *out, size_t at, int opcode, uint64_t addr, uint64_t len, uint64_t id,
                      const uint8_t *payload)
{
    mc_xport_req_t rq = {.opcode = (uint8_t)opcode, .len = len, .addr = addr, .req_id = id};
    mc_xport_req_encode(&rq, out + at);
    at += MC_XPORT_REQ_LEN;
    if (opcode == MC_XFER_WRITE) {
        memcpy(out + at, payload, len);
        at += len;
    }
    return at;
}

static void send_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        ck_assert_int_gt(w, 0);
        b += w;
        n -= (size_t)w;
    }
}

/* Read one response within 10 s (no timed assertion on speed: a missing
 * response would otherwise hang the test). */
static mc_xport_resp_t read_resp(int fd)
{
    uint8_t b[MC_XPORT_RESP_LEN];
    size_t got = 0;
    while (got < sizeof b) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ssize_t r = recv(fd, b + got, sizeof b - got, 0);
        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
    mc_xport_resp_t rs;
    ck_assert_int_eq(mc_xport_resp_decode(b, sizeof b, &rs, NULL), MC_XPORT_DEC_OK);
    return rs;
}

START_TEST(test_pipelined_in_order)
{
    srv_t s = srv_new();
    enum { N = 16, LEN = 2048 };
    uint8_t *src = malloc(REG), *req = malloc(N * (MC_XPORT_REQ_LEN + LEN) + 2 * MC_XPORT_REQ_LEN);
    h_fill(src, REG, 5);
    size_t at = 0;
    for (unsigned i = 0; i < N; i++) /* 16 WRITEs of 2 KiB, back to back, one send */
        at = put_req(req, at, MC_XFER_WRITE, (uintptr_t)s.mem + i * LEN, LEN, 100 + i, src + i * LEN);
    at = put_req(req, at, MC_XFER_READ, (uintptr_t)s.mem, N * LEN, 200, NULL);
    int fd = h_raw_connect(mc_xport_data_port(s.x));
    send_all(fd, req, at);
    for (unsigned i = 0; i < N; i++) {
        mc_xport_resp_t rs = read_resp(fd);
        ck_assert_uint_eq(rs.req_id, 100 + i);
        ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    }
    mc_xport_resp_t rs = read_resp(fd);
    ck_assert_uint_eq(rs.req_id, 200);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    uint8_t *back = malloc(N * LEN);
    ck_assert_int_eq(recv(fd, back, N * LEN, MSG_WAITALL), N * LEN);
    ck_assert_int_eq(memcmp(back, src, N * LEN), 0);
    ck_assert_int_eq(memcmp(s.mem, src, N * LEN), 0);
    /* One lone WRITE with nothing after it is still answered. */
    at = put_req(req, 0, MC_XFER_WRITE, (uintptr_t)s.mem + N * LEN, 100, 300, src + N * LEN);
    send_all(fd, req, at);
    rs = read_resp(fd);
    ck_assert_uint_eq(rs.req_id, 300);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    ck_assert_int_eq(memcmp(s.mem + N * LEN, src + N * LEN, 100), 0);
    close(fd);
    free(back);
    free(src);
    free(req);
    srv_free(&s);
}
END_TEST

START_TEST(test_pipelined_rejects_keep_order)
{
    srv_t s = srv_new();
    uint8_t *src = malloc(8192), *req = malloc(4 * (MC_XPORT_REQ_LEN + 8192));
    h_fill(src, 8192, 6);
    size_t at = 0;
    at = put_req(req, at, MC_XFER_WRITE, (uintptr_t)s.mem, 1000, 1, src);
    at = put_req(req, at, MC_XFER_WRITE, (uintptr_t)s.mem + REG - 10, 8192, 2, src); /* past the end */
    at = put_req(req, at, MC_XFER_READ, (uintptr_t)s.mem + REG - 4, 8, 3, NULL);      /* past the end */
    at = put_req(req, at, MC_XFER_WRITE, (uintptr_t)s.mem + 1000, 3000, 4, src + 1000);
    int fd = h_raw_connect(mc_xport_data_port(s.x));
    send_all(fd, req, at);
    static const uint32_t want[] = {MC_XPORT_CODE_OK, MC_XPORT_CODE_REJECTED, MC_XPORT_CODE_REJECTED,
                                    MC_XPORT_CODE_OK};
    for (unsigned i = 0; i < 4; i++) {
        mc_xport_resp_t rs = read_resp(fd);
        ck_assert_uint_eq(rs.req_id, i + 1);
        ck_assert_uint_eq(rs.code, want[i]);
    }
    ck_assert_int_eq(memcmp(s.mem, src, 4000), 0);
    for (unsigned i = REG - 10; i < REG; i++)
        ck_assert_uint_eq(s.mem[i], 0); /* the rejected WRITE stored nothing */
    close(fd);
    free(src);
    free(req);
    srv_free(&s);
}
END_TEST

START_TEST(test_answers_before_malformed_close)
{
    srv_t s = srv_new();
    uint8_t *src = malloc(4096), *req = malloc(3 * (MC_XPORT_REQ_LEN + 512) + MC_XPORT_REQ_LEN);
    h_fill(src, 4096, 7);
    size_t at = 0;
    for (unsigned i = 0; i < 3; i++)
        at = put_req(req, at, MC_XFER_WRITE, (uintptr_t)s.mem + i * 512, 512, 10 + i, src + i * 512);
    memset(req + at, 0x5A, MC_XPORT_REQ_LEN); /* junk header */
    at += MC_XPORT_REQ_LEN;
    int fd = h_raw_connect(mc_xport_data_port(s.x));
    send_all(fd, req, at);
    for (unsigned i = 0; i < 3; i++) {
        mc_xport_resp_t rs = read_resp(fd);
        ck_assert_uint_eq(rs.req_id, 10 + i);
        ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    }
    char c;
    ck_assert_int_eq(recv(fd, &c, 1, 0), 0); /* then closed */
    ck_assert_int_eq(memcmp(s.mem, src, 3 * 512), 0);
    close(fd);
    free(src);
    free(req);
    srv_free(&s);
}
END_TEST

/* Many small WRITEs posted at once through an initiator xport (the sender
 * batches them into few sendmsg calls): all land, each completes once. */
START_TEST(test_initiator_batches_small_writes)
{
    srv_t s = srv_new();
    mc_xport_t *a = h_xport(s.r, -2, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "peer:1", mc_xport_local_desc(s.x)), MC_OK);
    uint8_t *src = malloc(REG);
    h_fill(src, REG, 8);
    ck_assert_int_eq(mc_xport_mem_register(a, src, REG), MC_OK);
    enum { N = 1024 };
    static mc_xfer_op_t ops[N];
    for (unsigned i = 0; i < N; i++) /* 64 B each, the last one rejected (outside) */
        ops[i] = h_op(MC_XFER_WRITE, src + i * 64, "peer:1",
                      i == N - 1 ? (uintptr_t)s.mem + REG - 32 : (uintptr_t)s.mem + i * 64, 64, i);
    ck_assert_int_eq(mc_xport_post(a, ops, N), MC_OK);
    ck_assert(h_wait(s.r, N, 30000));
    for (unsigned i = 0; i < N; i++) {
        ck_assert_uint_eq(s.r->cnt[i], 1);
        ck_assert_int_eq(s.r->st[i], i == N - 1 ? MC_INVALID_PARAMS : MC_OK);
    }
    ck_assert_int_eq(memcmp(s.mem, src, (N - 1) * 64), 0);
    mc_xport_mem_unregister(a, src);
    mc_xport_destroy(a);
    free(src);
    srv_free(&s);
}
END_TEST

/* Small READs posted at once (a batch of 4 KiB gets): the receiver copies
 * them into one run of responses, the initiator settles them in runs. Mixed
 * with large READs (sent on their own, after the run so far) and a
 * rejected one: every byte lands where it belongs, each op completes once
 * with its own status. Posted twice, so the second batch reuses the
 * connections (and the receiver's grown output buffer). */
START_TEST(test_small_reads_batched)
{
    srv_t s = srv_new();
    h_fill(s.mem, REG, 21);
    mc_xport_t *a = h_xport(s.r, -2, 0);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "peer:1", mc_xport_local_desc(s.x)), MC_OK);
    enum { N = 70, SMALL = 512 };
    uint8_t *dst = calloc(1, 2 * REG);
    ck_assert_ptr_nonnull(dst);
    ck_assert_int_eq(mc_xport_mem_register(a, dst, 2 * REG), MC_OK);
    for (int round = 0; round < 2; round++) {
        memset(dst, 0, 2 * REG);
        static mc_xfer_op_t ops[N];
        uint64_t off[N], len[N];
        uint64_t at = 0;
        for (unsigned i = 0; i < N; i++) {
            /* 64 small reads of SMALL bytes, two 24 KiB ones in the middle, one rejected */
            len[i] = (i == 20 || i == 40) ? 24u << 10 : SMALL;
            off[i] = (i == 20 || i == 40) ? (i == 20 ? 0 : REG - (24u << 10)) : (uint64_t)(i % 64) * SMALL;
            uint64_t remote = i == 55 ? (uintptr_t)s.mem + REG - 16 : (uintptr_t)s.mem + off[i];
            ops[i] = h_op(MC_XFER_READ, dst + at, "peer:1", remote, len[i], round * N + i);
            at += len[i];
        }
        ck_assert_int_eq(mc_xport_post(a, ops, N), MC_OK);
        ck_assert(h_wait(s.r, (unsigned)(round + 1) * N, 30000));
        at = 0;
        for (unsigned i = 0; i < N; i++) {
            unsigned t = (unsigned)round * N + i;
            ck_assert_uint_eq(s.r->cnt[t], 1);
            ck_assert_int_eq(s.r->st[t], i == 55 ? MC_INVALID_PARAMS : MC_OK);
            if (i != 55)
                ck_assert_int_eq(memcmp(dst + at, s.mem + off[i], len[i]), 0);
            at += len[i];
        }
    }
    mc_xport_mem_unregister(a, dst);
    mc_xport_destroy(a);
    free(dst);
    srv_free(&s);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *su = suite_create("xport_pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pipelined_in_order);
    tcase_add_test(tc, test_pipelined_rejects_keep_order);
    tcase_add_test(tc, test_answers_before_malformed_close);
    tcase_add_test(tc, test_initiator_batches_small_writes);
    tcase_add_test(tc, test_small_reads_batched);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
