/* The TCP receiver's fence against stale writes (mc_xport_proto.h,
 * "Fence"): a WRITE that timed out at the initiator but still sits in a
 * socket buffer must not overwrite a newer WRITE to the same range.
 *
 *   proto   encode/decode of the fence fields, the strict decoder
 *   raw     hand-made requests of two generations of one initiator id:
 *           the older is refused with STALE (nothing touched), a newer
 *           WRITE waits for an older one that is still landing
 *   e2e     a real initiator through a proxy that holds the first
 *           connection's bytes (a stopped receiver, deterministically): the
 *           held WRITE times out, a newer WRITE succeeds on a fresh
 *           connection, then the proxy delivers the held bytes late: STALE,
 *           the range keeps the newer bytes
 *   stale   an initiator that hears STALE fails that op with
 *           MC_TRANSFER_FAIL and moves to the next generation */
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "mc_xport_int.h"
#include "mc_xport_proto.h"
#include "xport_harness.h"

#define PEER_B "127.0.0.1:7001" /* B's (made-up) control address */
#define LEN (64u << 10)

static uint64_t stale_count(mc_xport_t *x)
{
    mc_xport_stats_t st;
    mc_xport_stats(x, &st);
    return st.stale_tcp;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static mc_xport_t *mk_xport(rec_t *r, unsigned conns, uint64_t timeout_ms)
{
    mc_xport_opts_t o;
    h_xport_opts(r, &o);
    o.shm = -2;
    o.timeout_ms = timeout_ms;
    o.conns_per_peer = conns;
    mc_xport_t *x = mc_xport_create(&o);
    ck_assert_ptr_nonnull(x);
    return x;
}

static void send_all(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void send_req(int fd, uint8_t opcode, const void *dst, uint64_t len, uint64_t id, uint32_t initiator,
                     uint32_t gen)
{
    mc_xport_req_t rq = {.opcode = opcode,
                         .len = len,
                         .addr = (uintptr_t)dst,
                         .req_id = id,
                         .initiator = initiator,
                         .gen = gen};
    uint8_t h[MC_XPORT_REQ_LEN];
    mc_xport_req_encode(&rq, h);
    send_all(fd, h, sizeof h);
}

static mc_xport_resp_t recv_resp(int fd)
{
    uint8_t b[MC_XPORT_RESP_LEN];
    ck_assert_int_eq(recv(fd, b, sizeof b, MSG_WAITALL), (ssize_t)sizeof b);
    mc_xport_resp_t rs;
    ck_assert_int_eq(mc_xport_resp_decode(b, sizeof b, &rs, NULL), MC_XPORT_DEC_OK);
    return rs;
}

/* -------------------------------------------------------------- proto --- */

START_TEST(test_proto_fence_fields)
{
    ck_assert_uint_eq(MC_XPORT_REQ_LEN, 48);
    mc_xport_req_t in = {.opcode = 1,
                         .len = 4096,
                         .addr = 0x7f0000001000ull,
                         .req_id = 99,
                         .key = 0xabcdef01u,
                         .initiator = 0x89abcdefu,
                         .gen = 0xfedcba98u};
    uint8_t b[MC_XPORT_REQ_LEN];
    mc_xport_req_encode(&in, b);
    ck_assert_uint_eq(b[4], 3); /* version */
    /* initiator at 36, gen at 40 (LE), 44..47 and 6..7 reserved */
    ck_assert_uint_eq(b[36], 0xef);
    ck_assert_uint_eq(b[39], 0x89);
    ck_assert_uint_eq(b[40], 0x98);
    ck_assert_uint_eq(b[43], 0xfe);
    for (int i = 44; i < 48; i++)
        ck_assert_uint_eq(b[i], 0);
    mc_xport_req_t out;
    memset(&out, 0, sizeof out);
    ck_assert_int_eq(mc_xport_req_decode(b, sizeof b, &out, NULL), MC_XPORT_DEC_OK);
    ck_assert_uint_eq(out.initiator, in.initiator);
    ck_assert_uint_eq(out.gen, in.gen);
    ck_assert_uint_eq(out.key, in.key);
    ck_assert_uint_eq(out.req_id, 99);
    ck_assert_int_eq(mc_xport_req_decode(b, sizeof b - 1, &out, NULL), MC_XPORT_DEC_SHORT);

    /* unfenced: both zero */
    in.initiator = 0;
    in.gen = 0;
    mc_xport_req_encode(&in, b);
    ck_assert_int_eq(mc_xport_req_decode(b, sizeof b, &out, NULL), MC_XPORT_DEC_OK);
    ck_assert_uint_eq(out.initiator, 0);
    ck_assert_uint_eq(out.gen, 0);

    const char *why = NULL;
    uint8_t c[MC_XPORT_REQ_LEN];
    /* id without a generation, and a generation without an id */
    memcpy(c, b, sizeof c);
    c[36] = 1;
    ck_assert_int_eq(mc_xport_req_decode(c, sizeof c, &out, &why), MC_XPORT_DEC_BAD);
    ck_assert_ptr_nonnull(why);
    memcpy(c, b, sizeof c);
    c[43] = 1;
    ck_assert_int_eq(mc_xport_req_decode(c, sizeof c, &out, NULL), MC_XPORT_DEC_BAD);
    /* reserved bytes */
    in.initiator = 5;
    in.gen = 1;
    mc_xport_req_encode(&in, b);
    for (int i = 44; i < 48; i++) {
        memcpy(c, b, sizeof c);
        c[i] = 0x80;
        ck_assert_int_eq(mc_xport_req_decode(c, sizeof c, &out, NULL), MC_XPORT_DEC_BAD);
    }
    memcpy(c, b, sizeof c);
    c[6] = 1;
    ck_assert_int_eq(mc_xport_req_decode(c, sizeof c, &out, NULL), MC_XPORT_DEC_BAD);
    /* the 40-byte version 2 is refused */
    memcpy(c, b, sizeof c);
    c[4] = 2;
    ck_assert_int_eq(mc_xport_req_decode(c, sizeof c, &out, NULL), MC_XPORT_DEC_BAD);

    /* responses: STALE is 4, 5 is unknown */
    mc_xport_resp_t rs = {.code = MC_XPORT_CODE_STALE, .req_id = 7}, ro;
    uint8_t r[MC_XPORT_RESP_LEN];
    mc_xport_resp_encode(&rs, r);
    ck_assert_int_eq(mc_xport_resp_decode(r, sizeof r, &ro, NULL), MC_XPORT_DEC_OK);
    ck_assert_uint_eq(ro.code, 4);
    ck_assert_uint_eq(ro.req_id, 7);
    r[4] = 5;
    ck_assert_int_eq(mc_xport_resp_decode(r, sizeof r, &ro, NULL), MC_XPORT_DEC_BAD);
}
END_TEST

/* ---------------------------------------------------------------- raw --- */

/* A newer generation first, then an older one (late): the older WRITE and
 * READ are refused with STALE, nothing touched, the connection stays in
 * sync; another initiator id has its own generations. */
START_TEST(test_raw_older_generation_refused)
{
    rec_t *r = h_rec_new();
    mc_xport_t *b = h_xport(r, -2, 0);
    uint8_t *dst = calloc(1, LEN), *pa = malloc(LEN), *pb = malloc(LEN);
    h_fill(pa, LEN, 1);
    h_fill(pb, LEN, 2);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, LEN), MC_OK);
    uint16_t port = mc_xport_data_port(b);
    int newer = h_raw_connect(port), older = h_raw_connect(port);

    send_req(newer, MC_XFER_WRITE, dst, LEN, 1, 0x1234, 2);
    send_all(newer, pb, LEN);
    mc_xport_resp_t rs = recv_resp(newer);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    ck_assert_int_eq(memcmp(dst, pb, LEN), 0);

    send_req(older, MC_XFER_WRITE, dst, LEN, 1, 0x1234, 1);
    send_all(older, pa, LEN);
    send_req(older, MC_XFER_READ, dst, 16, 2, 0x1234, 1);
    rs = recv_resp(older);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_STALE);
    ck_assert_uint_eq(rs.req_id, 1);
    rs = recv_resp(older);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_STALE);
    ck_assert_uint_eq(rs.req_id, 2);
    ck_assert_int_eq(memcmp(dst, pb, LEN), 0); /* the late bytes did not land */
    ck_assert_uint_eq(stale_count(b), 2);

    /* Same connection, current generation: served (it stayed in sync). */
    send_req(older, MC_XFER_READ, dst, 16, 3, 0x1234, 2);
    rs = recv_resp(older);
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_OK);
    uint8_t got[16];
    ck_assert_int_eq(recv(older, got, sizeof got, MSG_WAITALL), 16);
    ck_assert_int_eq(memcmp(got, pb, 16), 0);
    /* Another initiator at generation 1, and an unfenced client: served. */
    send_req(older, MC_XFER_WRITE, dst, 16, 4, 0x5678, 1);
    send_all(older, pa, 16);
    ck_assert_uint_eq(recv_resp(older).code, MC_XPORT_CODE_OK);
    send_req(older, MC_XFER_WRITE, dst + 16, 16, 5, 0, 0);
    send_all(older, pa + 16, 16);
    ck_assert_uint_eq(recv_resp(older).code, MC_XPORT_CODE_OK);
    ck_assert_int_eq(memcmp(dst, pa, 32), 0);
    ck_assert_uint_eq(stale_count(b), 2);

    close(newer);
    close(older);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(dst);
    free(pa);
    free(pb);
}
END_TEST

/* A WRITE of generation 2 arrives while one of generation 1 is half
 * landed: it waits until that one is done, then lands over it; it is not
 * interleaved with the older bytes. */
START_TEST(test_raw_newer_waits_for_landing_older)
{
    rec_t *r = h_rec_new();
    mc_xport_t *b = h_xport(r, -2, 0);
    uint8_t *dst = calloc(1, LEN), *pa = malloc(LEN), *pb = malloc(LEN);
    h_fill(pa, LEN, 3);
    h_fill(pb, LEN, 4);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, LEN), MC_OK);
    uint16_t port = mc_xport_data_port(b);
    int c1 = h_raw_connect(port), c2 = h_raw_connect(port);

    send_req(c1, MC_XFER_WRITE, dst, LEN, 1, 0x42, 1);
    send_all(c1, pa, LEN / 2);
    /* Wait until the first half is in place: the receiver is then inside
     * that WRITE (the payload is read straight into the range). */
    for (int i = 0; i < 20000 && memcmp(dst, pa, LEN / 2) != 0; i++)
        sleep_ms(1);
    ck_assert_int_eq(memcmp(dst, pa, LEN / 2), 0);

    send_req(c2, MC_XFER_WRITE, dst, LEN, 1, 0x42, 2);
    send_all(c2, pb, LEN);
    /* It must not land while the older one is in progress. */
    sleep_ms(200);
    uint8_t tmp;
    ck_assert_int_eq(recv(c2, &tmp, 1, MSG_DONTWAIT | MSG_PEEK), -1);
    ck_assert_int_eq(memcmp(dst, pa, LEN / 2), 0);

    send_all(c1, pa + LEN / 2, LEN / 2);
    ck_assert_uint_eq(recv_resp(c1).code, MC_XPORT_CODE_OK); /* was already landing */
    ck_assert_uint_eq(recv_resp(c2).code, MC_XPORT_CODE_OK);
    ck_assert_int_eq(memcmp(dst, pb, LEN), 0);
    ck_assert_uint_eq(stale_count(b), 0);
    /* generation 1 is now stale */
    send_req(c1, MC_XFER_READ, dst, 8, 2, 0x42, 1);
    ck_assert_uint_eq(recv_resp(c1).code, MC_XPORT_CODE_STALE);
    ck_assert_uint_eq(stale_count(b), 1);

    close(c1);
    close(c2);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(dst);
    free(pa);
    free(pb);
}
END_TEST

/* Same-generation WRITEs on several connections are not serialized: one
 * half-landed WRITE does not hold another of its generation. */
START_TEST(test_raw_same_generation_concurrent)
{
    rec_t *r = h_rec_new();
    mc_xport_t *b = h_xport(r, -2, 0);
    uint8_t *dst = calloc(1, 2 * LEN), *pa = malloc(LEN), *pb = malloc(LEN);
    h_fill(pa, LEN, 5);
    h_fill(pb, LEN, 6);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, 2 * LEN), MC_OK);
    uint16_t port = mc_xport_data_port(b);
    int c1 = h_raw_connect(port), c2 = h_raw_connect(port);
    send_req(c1, MC_XFER_WRITE, dst, LEN, 1, 0x77, 3);
    send_all(c1, pa, LEN / 2);
    for (int i = 0; i < 20000 && memcmp(dst, pa, LEN / 2) != 0; i++)
        sleep_ms(1);
    ck_assert_int_eq(memcmp(dst, pa, LEN / 2), 0);
    send_req(c2, MC_XFER_WRITE, dst + LEN, LEN, 1, 0x77, 3);
    send_all(c2, pb, LEN);
    ck_assert_uint_eq(recv_resp(c2).code, MC_XPORT_CODE_OK); /* while c1's is half done */
    ck_assert_int_eq(memcmp(dst + LEN, pb, LEN), 0);
    send_all(c1, pa + LEN / 2, LEN / 2);
    ck_assert_uint_eq(recv_resp(c1).code, MC_XPORT_CODE_OK);
    ck_assert_int_eq(memcmp(dst, pa, LEN), 0);
    close(c1);
    close(c2);
    mc_xport_destroy(b);
    h_rec_free(r);
    free(dst);
    free(pa);
    free(pb);
}
END_TEST

/* ---------------------------------------------------------------- e2e --- */

/* A proxy between the initiator and the receiver. With hold_first,
 * connection 0 is "held": its bytes are buffered until the initiator
 * closes it (as if the receiver were stopped with them in its socket
 * buffer); the test then delivers them late. Other connections are
 * forwarded both ways. Each connection's first request header is
 * recorded. */
typedef struct proxy {
    int lfd;
    uint16_t up_port;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *held;
    size_t held_len, held_cap;
    bool held_closed;
    bool hold_first;
    unsigned nconns;
    int down[16];
    mc_xport_req_t first[16];
    unsigned nfirst;
} proxy_t;

typedef struct fwd {
    proxy_t *px;
    int down;
    unsigned idx;
} fwd_t;

static void proxy_note_header(proxy_t *px, const uint8_t *b, size_t n)
{
    mc_xport_req_t rq;
    if (mc_xport_req_decode(b, n, &rq, NULL) != MC_XPORT_DEC_OK)
        return;
    pthread_mutex_lock(&px->mu);
    if (px->nfirst < 16)
        px->first[px->nfirst++] = rq;
    pthread_mutex_unlock(&px->mu);
}

static void *proxy_conn_main(void *arg)
{
    fwd_t *f = arg;
    proxy_t *px = f->px;
    uint8_t buf[65536];
    if (f->idx == 0 && px->hold_first) {
        for (;;) {
            ssize_t k = recv(f->down, buf, sizeof buf, 0);
            if (k <= 0)
                break;
            pthread_mutex_lock(&px->mu);
            if (px->held_len + (size_t)k > px->held_cap) {
                px->held_cap = (px->held_len + (size_t)k) * 2;
                px->held = realloc(px->held, px->held_cap);
            }
            memcpy(px->held + px->held_len, buf, (size_t)k);
            px->held_len += (size_t)k;
            pthread_mutex_unlock(&px->mu);
        }
        if (px->held_len >= MC_XPORT_REQ_LEN) /* only this thread writes held */
            proxy_note_header(px, px->held, MC_XPORT_REQ_LEN);
        pthread_mutex_lock(&px->mu);
        px->held_closed = true;
        pthread_cond_broadcast(&px->cv);
        pthread_mutex_unlock(&px->mu);
        close(f->down);
        free(f);
        return NULL;
    }
    int up = h_raw_connect(px->up_port);
    size_t seen = 0;
    uint8_t first[MC_XPORT_REQ_LEN];
    struct pollfd pf[2] = {{.fd = f->down, .events = POLLIN}, {.fd = up, .events = POLLIN}};
    for (;;) {
        if (poll(pf, 2, -1) < 0)
            break;
        int from = (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 0 : 1;
        ssize_t k = recv(pf[from].fd, buf, sizeof buf, 0);
        if (k <= 0)
            break;
        if (from == 0 && seen < sizeof first) {
            size_t t = (size_t)k < sizeof first - seen ? (size_t)k : sizeof first - seen;
            memcpy(first + seen, buf, t);
            seen += t;
            if (seen == sizeof first)
                proxy_note_header(px, first, sizeof first);
        }
        if (send(pf[1 - from].fd, buf, (size_t)k, MSG_NOSIGNAL) != k)
            break;
    }
    close(up);
    close(f->down);
    free(f);
    return NULL;
}

static void *proxy_main(void *arg);

static void proxy_start(proxy_t *px, mc_xport_t *a, mc_xport_t *b, bool hold_first)
{
    memset(px, 0, sizeof *px);
    pthread_mutex_init(&px->mu, NULL);
    pthread_cond_init(&px->cv, NULL);
    px->hold_first = hold_first;
    px->up_port = mc_xport_data_port(b);
    uint16_t pport;
    px->lfd = h_raw_listen(&pport);
    pthread_create(&px->th, NULL, proxy_main, px);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)pport);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, PEER_B, desc), MC_OK);
}

/* After both xports are destroyed. */
static void proxy_stop(proxy_t *px)
{
    shutdown(px->lfd, SHUT_RDWR);
    pthread_join(px->th, NULL);
    close(px->lfd);
    sleep_ms(50); /* detached forwarders see their sockets close */
    free(px->held);
}

static void *proxy_main(void *arg)
{
    proxy_t *px = arg;
    for (;;) {
        int fd = accept(px->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* listener shut down */
        fwd_t *f = malloc(sizeof *f);
        f->px = px;
        f->down = fd;
        pthread_mutex_lock(&px->mu);
        f->idx = px->nconns++;
        if (f->idx < 16)
            px->down[f->idx] = fd;
        pthread_mutex_unlock(&px->mu);
        pthread_t t;
        pthread_create(&t, NULL, proxy_conn_main, f);
        pthread_detach(t);
    }
}

START_TEST(test_e2e_timed_out_write_delivered_late)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = mk_xport(r, 1, 400); /* initiator: one connection, 400 ms timeout */
    mc_xport_t *b = h_xport(r, -2, 0); /* receiver */
    uint8_t *src_a = malloc(LEN), *src_b = malloc(LEN), *dst = calloc(1, LEN);
    h_fill(src_a, LEN, 7);
    h_fill(src_b, LEN, 8);
    ck_assert_int_eq(mc_xport_mem_register(a, src_a, LEN), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(a, src_b, LEN), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, LEN), MC_OK);

    proxy_t px;
    proxy_start(&px, a, b, true);

    /* A: held by the "stopped receiver", times out; its connection closes. */
    mc_xfer_op_t wa = h_op(MC_XFER_WRITE, src_a, PEER_B, (uintptr_t)dst, LEN, 1);
    ck_assert_int_eq(mc_xport_post(a, &wa, 1), MC_OK);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_int_eq(r->st[1], MC_RPC_TIMEOUT);
    pthread_mutex_lock(&px.mu);
    while (!px.held_closed)
        pthread_cond_wait(&px.cv, &px.mu);
    ck_assert_uint_eq(px.held_len, MC_XPORT_REQ_LEN + LEN); /* all of A, waiting */
    pthread_mutex_unlock(&px.mu);

    /* B: a newer write of the same range on a fresh connection lands. */
    mc_xfer_op_t wb = h_op(MC_XFER_WRITE, src_b, PEER_B, (uintptr_t)dst, LEN, 2);
    ck_assert_int_eq(mc_xport_post(a, &wb, 1), MC_OK);
    ck_assert(h_wait(r, 2, 20000));
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_int_eq(memcmp(dst, src_b, LEN), 0);

    /* The two connections: one initiator id, generations 1 then 2. */
    pthread_mutex_lock(&px.mu);
    ck_assert_uint_eq(px.nfirst, 2);
    mc_xport_req_t g_a = px.first[0], g_b = px.first[1];
    pthread_mutex_unlock(&px.mu);
    ck_assert_uint_ne(g_a.initiator, 0);
    ck_assert_uint_eq(g_a.initiator, g_b.initiator);
    ck_assert_uint_eq(g_a.gen, 1);
    ck_assert_uint_eq(g_b.gen, 2);
    ck_assert_uint_eq(g_a.req_id, g_b.req_id); /* each connection's first */

    /* A's bytes reach the receiver late: refused, B stays. */
    int late = h_raw_connect(px.up_port);
    send_all(late, px.held, px.held_len);
    mc_xport_resp_t rs = recv_resp(late);
    ck_assert_int_eq(memcmp(dst, src_b, LEN), 0); /* without the fence: A's bytes */
    ck_assert_uint_eq(rs.code, MC_XPORT_CODE_STALE);
    ck_assert_uint_eq(stale_count(b), 1);
    close(late);

    /* The initiator still works at its current generation. */
    mc_xfer_op_t rb = h_op(MC_XFER_READ, src_a, PEER_B, (uintptr_t)dst, LEN, 3);
    ck_assert_int_eq(mc_xport_post(a, &rb, 1), MC_OK);
    ck_assert(h_wait(r, 3, 20000));
    ck_assert_int_eq(r->st[3], MC_OK);
    ck_assert_int_eq(memcmp(src_a, src_b, LEN), 0);

    mc_xport_destroy(a);
    mc_xport_destroy(b);
    proxy_stop(&px);
    h_rec_free(r);
    free(src_a);
    free(src_b);
    free(dst);
}
END_TEST

/* One of a peer's four connections fails: the other three (same
 * generation) are retired with it, the next op opens four connections of
 * the next generation and spreads over them as before. */
START_TEST(test_e2e_generation_spans_all_connections)
{
    const uint64_t big = 1u << 20;
    rec_t *r = h_rec_new();
    mc_xport_t *a = mk_xport(r, 4, 0);
    mc_xport_t *b = h_xport(r, -2, 0);
    uint8_t *src = malloc(big), *dst = calloc(1, big);
    ck_assert_int_eq(mc_xport_mem_register(a, src, big), MC_OK);
    ck_assert_int_eq(mc_xport_mem_register(b, dst, big), MC_OK);
    proxy_t px;
    proxy_start(&px, a, b, false);

    h_fill(src, big, 10);
    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, PEER_B, (uintptr_t)dst, big, 1);
    ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_int_eq(r->st[1], MC_OK);
    ck_assert_int_eq(memcmp(src, dst, big), 0);
    pthread_mutex_lock(&px.mu);
    ck_assert_uint_eq(px.nconns, 4);
    int victim = px.down[1];
    pthread_mutex_unlock(&px.mu);

    shutdown(victim, SHUT_RDWR); /* that connection breaks */
    h_fill(src, big, 11);
    uint64_t tag = 2;
    for (; tag < 200; tag++) { /* until the initiator has noticed */
        w.tag = tag;
        ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
        ck_assert(h_wait(r, (unsigned)tag, 20000));
        if (r->st[tag] == MC_OK)
            break;
        ck_assert_int_eq(r->st[tag], MC_TRANSFER_FAIL);
        sleep_ms(10);
    }
    ck_assert_uint_lt(tag, 200);
    ck_assert_int_eq(memcmp(src, dst, big), 0);

    pthread_mutex_lock(&px.mu);
    ck_assert_uint_eq(px.nconns, 8);
    ck_assert_uint_eq(px.nfirst, 8);
    unsigned per_gen[3] = {0, 0, 0};
    for (unsigned i = 0; i < px.nfirst; i++) {
        ck_assert_uint_eq(px.first[i].initiator, px.first[0].initiator);
        ck_assert_uint_ge(px.first[i].gen, 1);
        ck_assert_uint_le(px.first[i].gen, 2);
        per_gen[px.first[i].gen]++;
    }
    pthread_mutex_unlock(&px.mu);
    ck_assert_uint_eq(per_gen[1], 4);
    ck_assert_uint_eq(per_gen[2], 4);
    ck_assert_uint_eq(stale_count(b), 0);

    mc_xport_destroy(a);
    mc_xport_destroy(b);
    proxy_stop(&px);
    h_rec_free(r);
    free(src);
    free(dst);
}
END_TEST

/* -------------------------------------------------------------- stale --- */

/* A fake receiver that answers the first connection's WRITE with STALE
 * and the second's with OK, recording both headers. */
typedef struct fake {
    int lfd;
    mc_xport_req_t rq[2];
    bool silent_first;   /* no answer on the first connection (a stopped peer) */
    atomic_bool got_first; /* the first request and its payload arrived */
} fake_t;

static void *fake_main(void *arg)
{
    fake_t *fk = arg;
    for (int i = 0; i < 2; i++) {
        int fd = accept(fk->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        uint8_t h[MC_XPORT_REQ_LEN];
        if (recv(fd, h, sizeof h, MSG_WAITALL) == (ssize_t)sizeof h &&
            mc_xport_req_decode(h, sizeof h, &fk->rq[i], NULL) == MC_XPORT_DEC_OK) {
            uint8_t *pl = malloc(fk->rq[i].len);
            bool got = recv(fd, pl, fk->rq[i].len, MSG_WAITALL) == (ssize_t)fk->rq[i].len;
            if (i == 0)
                atomic_store(&fk->got_first, got);
            if (got && !(i == 0 && fk->silent_first)) {
                mc_xport_resp_t rs = {.code = i == 0 ? MC_XPORT_CODE_STALE : MC_XPORT_CODE_OK,
                                      .req_id = fk->rq[i].req_id};
                uint8_t b[MC_XPORT_RESP_LEN];
                mc_xport_resp_encode(&rs, b);
                if (send(fd, b, sizeof b, MSG_NOSIGNAL) < 0)
                    perror("send");
            }
            free(pl);
        }
        if (i == 0) {
            char c;
            (void)recv(fd, &c, 1, 0); /* the initiator closes this one */
        }
        close(fd);
    }
    return NULL;
}

START_TEST(test_initiator_stale_is_transfer_fail)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = mk_xport(r, 1, 0);
    uint8_t *src = malloc(4096);
    h_fill(src, 4096, 9);
    ck_assert_int_eq(mc_xport_mem_register(a, src, 4096), MC_OK);
    fake_t fk;
    memset(&fk, 0, sizeof fk);
    uint16_t port;
    fk.lfd = h_raw_listen(&port);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &fk);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "fake:1", desc), MC_OK);

    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, "fake:1", 0x10000, 4096, 1);
    ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_int_eq(r->st[1], MC_TRANSFER_FAIL);
    w.tag = 2;
    ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
    ck_assert(h_wait(r, 2, 20000));
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_uint_eq(r->cnt[1], 1);
    ck_assert_uint_eq(r->cnt[2], 1);
    pthread_join(th, NULL);
    ck_assert_uint_ne(fk.rq[0].initiator, 0);
    ck_assert_uint_eq(fk.rq[1].initiator, fk.rq[0].initiator);
    ck_assert_uint_eq(fk.rq[1].gen, fk.rq[0].gen + 1);
    close(fk.lfd);
    mc_xport_destroy(a);
    h_rec_free(r);
    free(src);
}
END_TEST

/* A user that gives up on an op (its own deadline, before the transport's)
 * abandons it: the connection holding it is failed at once, so the next
 * post opens a connection of the next generation and the receiver's fence
 * would refuse the abandoned bytes. The op still completes exactly once. */
START_TEST(test_abandon_retires_generation)
{
    rec_t *r = h_rec_new();
    mc_xport_t *a = mk_xport(r, 1, 0);
    uint8_t *src = malloc(4096);
    h_fill(src, 4096, 3);
    ck_assert_int_eq(mc_xport_mem_register(a, src, 4096), MC_OK);
    fake_t fk;
    memset(&fk, 0, sizeof fk);
    fk.silent_first = true;
    uint16_t port;
    fk.lfd = h_raw_listen(&port);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &fk);
    char desc[128];
    snprintf(desc, sizeof desc, "mcx1 host=127.0.0.1 port=%u shm=0", (unsigned)port);
    ck_assert_int_eq(mc_xport_set_peer_desc(a, "fake:1", desc), MC_OK);

    mc_xfer_op_t w = h_op(MC_XFER_WRITE, src, "fake:1", 0x10000, 4096, 1);
    ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
    for (int i = 0; i < 2000 && !atomic_load(&fk.got_first); i++)
        sleep_ms(5);
    ck_assert(atomic_load(&fk.got_first)); /* sent; the peer will never answer */
    mc_xport_abandon(a, 99);               /* unknown tag: nothing happens */
    ck_assert_uint_eq(r->n_done, 0);
    mc_xport_abandon(a, 1);
    ck_assert(h_wait(r, 1, 20000));
    ck_assert_int_eq(r->st[1], MC_TRANSFER_FAIL);
    mc_xport_abandon(a, 1); /* done already: no-op */
    w.tag = 2;
    ck_assert_int_eq(mc_xport_post(a, &w, 1), MC_OK);
    ck_assert(h_wait(r, 2, 20000));
    ck_assert_int_eq(r->st[2], MC_OK);
    ck_assert_uint_eq(r->cnt[1], 1);
    ck_assert_uint_eq(r->cnt[2], 1);
    pthread_join(th, NULL);
    ck_assert_uint_eq(fk.rq[1].initiator, fk.rq[0].initiator);
    ck_assert_uint_eq(fk.rq[1].gen, fk.rq[0].gen + 1);
    close(fk.lfd);
    mc_xport_destroy(a);
    h_rec_free(r);
    free(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("xport_fence");
    TCase *tc = tcase_create("fence");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_proto_fence_fields);
    tcase_add_test(tc, test_raw_older_generation_refused);
    tcase_add_test(tc, test_raw_newer_waits_for_landing_older);
    tcase_add_test(tc, test_raw_same_generation_concurrent);
    tcase_add_test(tc, test_e2e_timed_out_write_delivered_late);
    tcase_add_test(tc, test_e2e_generation_spans_all_connections);
    tcase_add_test(tc, test_initiator_stale_is_transfer_fail);
    tcase_add_test(tc, test_abandon_retires_generation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
