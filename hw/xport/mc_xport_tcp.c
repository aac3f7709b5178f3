/* The TCP data backend (protocol: mc_xport_proto.h).
 *
 * Initiator: per peer data endpoint, up to conns_per_peer connections.
 * Each connection has a sender thread (connects, then writes request
 * headers and WRITE payloads back to back) and a receiver thread (reads
 * responses and READ data in order). An op is cut into slices of at most
 * slice_size (and at most len / connections, down to 64 KiB); each slice
 * goes to the least-loaded connection of its peer, so one op uses every
 * connection. The sender writes every queued slice with one sendmsg; the
 * receiver coalesces the responses of pipelined requests. A dead
 * connection is replaced on the next post.
 *
 * Receiver: a listener thread accepts; one thread per accepted connection
 * serves requests in order, pinning the target region while it copies.
 *
 * Slice ownership (conn->mu): a slice in a connection's queues is owned by
 * that connection; the sender holds an extra reference while it writes
 * from the slice, the receiver removes the slice when its response
 * arrives. Whoever drops the last reference reports the slice, so a slice
 * is reported exactly once and only when no thread touches its memory.
 *
 * A watchdog thread fails a connection with MC_RPC_TIMEOUT when it has
 * work but made no progress for the op timeout.
 *
 * Fence against stale writes (protocol: mc_xport_proto.h). Each peer has
 * a random fence id and a connection generation (be->mu); every
 * connection carries the generation of its peer at creation. When a
 * connection fails (connect, reset, timeout, malformed reply) the peer's
 * generation is bumped and its other connections of that generation are
 * failed too, so the next post opens connections of the new generation
 * only. The receiver (mc_xport_fence.c) refuses requests of generations older
 * than the newest it has seen from that id with STALE, and applies a
 * newer generation only once no older WRITE is still landing: a timed-out
 * WRITE left in the receiver's socket buffer can no longer overwrite a
 * newer WRITE to the same range. */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc_xport_fence.h"
#include "mc_xport_int.h"
#include "mc_xport_io.h"
#include "mc_xport_proto.h"

#define MC_XPORT_CONNECT_TIMEOUT_MS 5000
#define MC_XPORT_DRAIN_BUF (64u << 10)
/* Sender batching: at most this many slices (and, past the first, this
 * many WRITE payload bytes) per sendmsg. 2 * TX_BATCH stays < IOV_MAX. */
#define MC_XPORT_TX_BATCH 32
#define MC_XPORT_TX_BATCH_BYTES (1u << 20)
/* Ops are split over a peer's connections down to this slice length. */
#define MC_XPORT_MIN_SPREAD (64u << 10)
/* Receiver: at most this many coalesced responses. */
#define MC_XPORT_SRV_OUT_MAX 64
/* Receiver: READs up to this length are copied into the coalesced output
 * (a batch of small READs then goes back in one send, not one each); the
 * output buffer grows to at most MC_XPORT_SRV_OUT_BYTES. */
#define MC_XPORT_SRV_INLINE_READ (16u << 10)
#define MC_XPORT_SRV_OUT_BYTES (256u << 10)

typedef struct tcp_slice {
    struct tcp_slice *next;
    mc_xport_op_t *op;
    uint8_t *local;
    uint64_t remote, len, req_id;
    uint32_t key;
    uint8_t opcode;
    int refs;           /* conn->mu */
    mc_status_t final;  /* conn->mu */
} tcp_slice_t;

typedef struct tcp_be tcp_be_t;
typedef struct tcp_peer tcp_peer_t;

typedef struct tcp_conn {
    tcp_be_t *be;
    tcp_peer_t *peer;  /* lives until destroy */
    uint32_t fence_id; /* the peer's, copied */
    uint32_t gen;      /* the peer's generation when this was created */
    char host[MC_XPORT_HOST_LEN];
    uint16_t port;
    atomic_int refs; /* peer table + sender + receiver */
    atomic_uint_fast64_t load; /* bytes queued or in flight */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;  /* -1 until connected */
    bool dead;
    mc_status_t fail_status;
    tcp_slice_t *sq, *sq_tail; /* to send */
    tcp_slice_t *in, *in_tail; /* sent (or being sent), awaiting response */
    uint64_t next_req_id;
    uint64_t progress_ns; /* last progress while busy */
} tcp_conn_t;

struct tcp_peer {
    char host[MC_XPORT_HOST_LEN];
    uint16_t port;
    tcp_conn_t *conns[MC_XPORT_MAX_CONNS];
    unsigned rr;
    /* Per peer, not per xport: two names of one receiver (aliases) then
     * are two independent generation sequences instead of refusing each
     * other's requests. */
    uint32_t fence_id; /* random, nonzero */
    uint32_t gen;      /* be->mu; starts at 1, bumped on connection failure */
};


typedef struct tcp_srv_conn {
    tcp_be_t *be;
    int fd;
    mc_xport_rd_t rd;
    /* Responses not yet sent (in request order), with the data of small
     * READs. They go out before the thread would block on a read, when
     * MC_XPORT_SRV_OUT_MAX are queued, or ahead of a large READ's data, so
     * pipelined requests share one send instead of one each. */
    size_t out_len, out_cap;
    unsigned out_n;  /* responses in out */
    uint8_t *out;    /* malloc'd on first use, freed with the connection */
    mc_xport_fence_t *fence; /* of the last fenced request's initiator; holds a ref */
    char peer[NI_MAXHOST + NI_MAXSERV + 2];
    struct tcp_srv_conn *next, *prev;
} tcp_srv_conn_t;

struct tcp_be {
    mc_xport_t *x;
    int listen_fd;
    int stop_fd; /* eventfd; readable once stopping */
    uint16_t port;
    atomic_bool stopping;
    pthread_mutex_t mu; /* peers, srv list */
    tcp_peer_t **peers;
    size_t npeers, cap_peers;
    tcp_srv_conn_t srv; /* list head */
    mc_xport_fences_t fences; /* receiver fence table */
};

/* ------------------------------------------------------------ slices --- */

/* Drop one reference (takes conn->mu). The last one reports the slice. */
static void tcp_slice_unref(tcp_conn_t *c, tcp_slice_t *s)
{
    pthread_mutex_lock(&c->mu);
    int left = --s->refs;
    mc_status_t st = s->final;
    pthread_mutex_unlock(&c->mu);
    if (left == 0) {
        atomic_fetch_sub(&c->load, s->len);
        mc_xport_op_part_done(s->op, st);
    }
}

static void tcp_conn_unref(tcp_conn_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->fd >= 0)
        close(c->fd);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Mark the connection dead (first status wins), wake its threads and
 * report every queued slice with status. False if it already was dead. */
static bool tcp_conn_kill(tcp_conn_t *c, mc_status_t status, const char *why)
{
    pthread_mutex_lock(&c->mu);
    if (c->dead) {
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    c->dead = true;
    c->fail_status = status;
    tcp_slice_t *lists[2] = {c->sq, c->in};
    c->sq = c->sq_tail = c->in = c->in_tail = NULL;
    int fd = c->fd;
    for (int i = 0; i < 2; i++)
        for (tcp_slice_t *s = lists[i]; s; s = s->next)
            s->final = status;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    if (why && !atomic_load(&c->be->stopping))
        mc_xport_logf(c->be->x, status == MC_RPC_TIMEOUT ? MC_LOG_WARN : MC_LOG_INFO,
                      "data connection to %s:%u failed (%s): in-flight ops fail with %s", c->host,
                      (unsigned)c->port, why, mc_status_name(status));
    for (int i = 0; i < 2; i++) {
        tcp_slice_t *s = lists[i];
        while (s) {
            tcp_slice_t *next = s->next; /* s may be freed by unref */
            tcp_slice_unref(c, s);
            s = next;
        }
    }
    return true;
}

/* Dead connection c failed its generation (be->mu held): bump the peer's
 * generation, once per generation, and fail the peer's other connections
 * of the old one. Their requests would be refused as STALE once the
 * receiver has seen the new generation, and new slices must not queue
 * behind them: the next post opens connections of the new generation. */
static void tcp_peer_bump_locked(tcp_be_t *be, tcp_conn_t *c)
{
    tcp_peer_t *p = c->peer;
    if (!p || p->gen != c->gen || atomic_load(&be->stopping))
        return;
    /* u32: 2^32 failed connections to one peer never happen; skip 0 anyway
     * (0 means "unfenced" on the wire). */
    if (++p->gen == 0)
        p->gen = 1;
    /* The others' ops fail as c's did: a peer that stopped answering times
     * out every op sent to it, not just those of the first late connection. */
    pthread_mutex_lock(&c->mu);
    mc_status_t st = c->fail_status;
    pthread_mutex_unlock(&c->mu);
    for (unsigned k = 0; k < MC_XPORT_MAX_CONNS; k++) {
        tcp_conn_t *o = p->conns[k];
        if (o && o != c && o->gen == c->gen)
            (void)tcp_conn_kill(o, st, "superseded: another connection to this peer failed");
    }
}

/* Kill c (idempotent) and, the first time, retire its generation. Must
 * not be called with be->mu held unless stopping (tcp_stop). */
static void tcp_conn_fail(tcp_conn_t *c, mc_status_t status, const char *why)
{
    tcp_be_t *be = c->be;
    if (!tcp_conn_kill(c, status, why) || atomic_load(&be->stopping))
        return;
    pthread_mutex_lock(&be->mu);
    tcp_peer_bump_locked(be, c);
    pthread_mutex_unlock(&be->mu);
}

/* ------------------------------------------------------------ sender --- */

static void *tcp_receiver_main(void *arg);

static void *tcp_sender_main(void *arg)
{
    tcp_conn_t *c = arg;
    tcp_be_t *be = c->be;
    int fd = mc_xport_io_connect(c->host, c->port, MC_XPORT_CONNECT_TIMEOUT_MS, be->stop_fd);
    if (fd < 0) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        tcp_conn_fail(c, MC_TRANSFER_FAIL, why);
        goto out;
    }
    pthread_mutex_lock(&c->mu);
    c->fd = fd;
    bool dead = c->dead;
    c->progress_ns = mc_xport_now_ns();
    pthread_mutex_unlock(&c->mu);
    if (dead)
        goto out; /* failed while connecting; fd closed with the conn */
    atomic_fetch_add(&c->refs, 1);
    if (mc_xport_thread_start(be->x, tcp_receiver_main, c) != 0) {
        tcp_conn_unref(c);
        tcp_conn_fail(c, MC_TRANSFER_FAIL, "cannot start receiver thread");
        goto out;
    }
    for (;;) {
        /* Take every queued slice up to the batch limits and write them
         * with one sendmsg: small slices then cost a fraction of a system
         * call each instead of one call and one TCP push apiece. */
        tcp_slice_t *batch[MC_XPORT_TX_BATCH];
        unsigned nb = 0;
        uint64_t bytes = 0;
        pthread_mutex_lock(&c->mu);
        while (!c->sq && !c->dead)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->dead) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        while (c->sq && nb < MC_XPORT_TX_BATCH && (nb == 0 || bytes + c->sq->len <= MC_XPORT_TX_BATCH_BYTES)) {
            tcp_slice_t *s = c->sq;
            c->sq = s->next;
            if (!c->sq)
                c->sq_tail = NULL;
            s->next = NULL;
            if (c->in_tail)
                c->in_tail->next = s;
            else
                c->in = s;
            c->in_tail = s;
            s->refs = 2; /* in-list + this writer */
            bytes += s->opcode == MC_XFER_WRITE ? s->len : 0;
            batch[nb++] = s;
        }
        pthread_mutex_unlock(&c->mu);

        uint8_t hdr[MC_XPORT_TX_BATCH][MC_XPORT_REQ_LEN];
        struct iovec iov[2 * MC_XPORT_TX_BATCH];
        int ni = 0;
        for (unsigned i = 0; i < nb; i++) {
            tcp_slice_t *s = batch[i];
            mc_xport_req_t rq = {.opcode = s->opcode,
                                 .len = s->len,
                                 .addr = s->remote,
                                 .req_id = s->req_id,
                                 .key = s->key,
                                 .initiator = c->fence_id,
                                 .gen = c->gen};
            mc_xport_req_encode(&rq, hdr[i]);
            iov[ni++] = (struct iovec){.iov_base = hdr[i], .iov_len = MC_XPORT_REQ_LEN};
            if (s->opcode == MC_XFER_WRITE)
                iov[ni++] = (struct iovec){.iov_base = s->local, .iov_len = s->len};
        }
        int rc = mc_xport_io_writev(fd, iov, ni);
        if (rc != MC_XPORT_IO_OK) {
            char why[96];
            snprintf(why, sizeof why, "send: %s", strerror(errno));
            tcp_conn_fail(c, MC_TRANSFER_FAIL, why);
        } else {
            pthread_mutex_lock(&c->mu);
            c->progress_ns = mc_xport_now_ns();
            pthread_mutex_unlock(&c->mu);
        }
        for (unsigned i = 0; i < nb; i++)
            tcp_slice_unref(c, batch[i]);
    }
out:
    tcp_conn_unref(c);
    return NULL;
}

/* ---------------------------------------------------------- receiver --- */

static mc_status_t tcp_code_status(uint32_t code)
{
    switch (code) {
    case MC_XPORT_CODE_OK:
        return MC_OK;
    case MC_XPORT_CODE_REJECTED:
        return MC_INVALID_PARAMS;
    case MC_XPORT_CODE_BAD_KEY: /* a stale descriptor */
    case MC_XPORT_CODE_STALE:   /* the peer saw a newer generation */
    default:
        return MC_TRANSFER_FAIL;
    }
}

/* The initiator's receiver reports the slices it settles in runs: just
 * before it would wait for more bytes (the reader's flush hook), or when
 * MC_XPORT_RX_DONE_MAX are held. A batch's responses then reach the loop
 * as one completion run instead of waking it once per op. */
#define MC_XPORT_RX_DONE_MAX 64

typedef struct tcp_rx {
    mc_xport_rd_t rd;
    unsigned n;
    mc_xport_op_t *op[MC_XPORT_RX_DONE_MAX];
    mc_status_t st[MC_XPORT_RX_DONE_MAX];
} tcp_rx_t;

static int tcp_rx_flush(void *arg)
{
    tcp_rx_t *rx = arg;
    unsigned n = rx->n;
    rx->n = 0;
    rx->rd.flush_pending = false;
    for (unsigned i = 0; i < n; i++)
        mc_xport_op_part_done(rx->op[i], rx->st[i]);
    return 0;
}

/* A slice whose last reference the receiver dropped (load already taken off). */
static void tcp_rx_done(tcp_rx_t *rx, mc_xport_op_t *op, mc_status_t st)
{
    if (rx->n == MC_XPORT_RX_DONE_MAX)
        (void)tcp_rx_flush(rx);
    rx->op[rx->n] = op;
    rx->st[rx->n++] = st;
    rx->rd.flush_pending = true;
}

static void *tcp_receiver_main(void *arg)
{
    tcp_conn_t *c = arg;
    char why[128];
    tcp_rx_t *rx = malloc(sizeof *rx);
    if (!rx) {
        tcp_conn_fail(c, MC_TRANSFER_FAIL, "out of memory");
        goto out;
    }
    mc_xport_rd_t *rd = &rx->rd;
    rx->n = 0;
    rd->fd = c->fd;
    rd->pos = rd->len = 0;
    rd->flush = tcp_rx_flush;
    rd->flush_ctx = rx;
    rd->flush_pending = false;
    for (;;) {
        uint8_t buf[MC_XPORT_RESP_LEN];
        int rc = mc_xport_rd_read(rd, buf, sizeof buf);
        if (rc != MC_XPORT_IO_OK) {
            tcp_conn_fail(c, MC_TRANSFER_FAIL, rc == MC_XPORT_IO_EOF ? "closed by peer" : "connection reset");
            break;
        }
        mc_xport_resp_t rs;
        const char *bad = NULL;
        if (mc_xport_resp_decode(buf, sizeof buf, &rs, &bad) != MC_XPORT_DEC_OK) {
            snprintf(why, sizeof why, "malformed response: %s", bad);
            tcp_conn_fail(c, MC_TRANSFER_FAIL, why);
            break;
        }
        pthread_mutex_lock(&c->mu);
        tcp_slice_t *s = c->in;
        if (!s || s->req_id != rs.req_id) {
            pthread_mutex_unlock(&c->mu);
            snprintf(why, sizeof why, "malformed response: unexpected request id %llu",
                     (unsigned long long)rs.req_id);
            tcp_conn_fail(c, MC_TRANSFER_FAIL, why);
            break;
        }
        c->in = s->next;
        if (!c->in)
            c->in_tail = NULL;
        s->next = NULL;
        c->progress_ns = mc_xport_now_ns();
        mc_status_t st = tcp_code_status(rs.code);
        if (st != MC_OK || s->opcode != MC_XFER_READ) {
            /* Nothing more to read: settle and drop the in-list reference
             * under the same lock (the common WRITE case). */
            s->final = st;
            int left = --s->refs;
            pthread_mutex_unlock(&c->mu);
            if (left == 0) {
                atomic_fetch_sub(&c->load, s->len);
                tcp_rx_done(rx, s->op, st);
            }
            if (rs.code == MC_XPORT_CODE_STALE) {
                /* Only a retired generation should hear this; if a live one
                 * does (the peer saw a newer one), move on to a new one. */
                tcp_conn_fail(c, MC_TRANSFER_FAIL, "peer refused a stale connection generation");
                break;
            }
            continue;
        }
        pthread_mutex_unlock(&c->mu);

        if (mc_xport_rd_read(rd, s->local, s->len) != MC_XPORT_IO_OK) {
            tcp_conn_fail(c, MC_TRANSFER_FAIL, "connection lost in read data");
            pthread_mutex_lock(&c->mu);
            st = c->fail_status;
            pthread_mutex_unlock(&c->mu);
        }
        pthread_mutex_lock(&c->mu);
        s->final = st;
        int left = --s->refs;
        pthread_mutex_unlock(&c->mu);
        if (left == 0) { /* else the sender reports it when done with it */
            atomic_fetch_sub(&c->load, s->len);
            tcp_rx_done(rx, s->op, st);
        }
        /* after a failure the next read fails too */
    }
    (void)tcp_rx_flush(rx);
    free(rx);
out:
    tcp_conn_unref(c);
    return NULL;
}

/* -------------------------------------------------------------- plug --- */

/* While a thread posts a batch (mc_xport_post of several ops, the shm
 * worker's queue), senders are woken once at the end instead of once per
 * slice: a sender woken by the first slice would otherwise write it alone
 * while the rest are still being queued (one sendmsg, one receiver
 * wake-up on each side and one response per 4 KiB op). Small slices of
 * one plug also stay on one connection of their peer, so a batch of
 * small ops leaves in one sendmsg and comes back as one run of replies. */
#define MC_XPORT_PLUG_MAX 16
static __thread unsigned tcp_plug_depth;
static __thread unsigned tcp_nplugged;
static __thread tcp_conn_t *tcp_plugged[MC_XPORT_PLUG_MAX]; /* each holds a reference */

void mc_xport_tcp_plug(void)
{
    tcp_plug_depth++;
}

void mc_xport_tcp_unplug(void)
{
    if (--tcp_plug_depth)
        return;
    unsigned n = tcp_nplugged;
    tcp_nplugged = 0;
    for (unsigned i = 0; i < n; i++) {
        tcp_conn_t *c = tcp_plugged[i];
        pthread_mutex_lock(&c->mu);
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        tcp_conn_unref(c);
    }
}

/* c->mu held, c has queued work: wake its sender now or at unplug. */
static void tcp_conn_wake(tcp_conn_t *c)
{
    if (tcp_plug_depth) {
        for (unsigned i = 0; i < tcp_nplugged; i++)
            if (tcp_plugged[i] == c)
                return;
        if (tcp_nplugged < MC_XPORT_PLUG_MAX) {
            atomic_fetch_add(&c->refs, 1);
            tcp_plugged[tcp_nplugged++] = c;
            return;
        }
    }
    pthread_cond_signal(&c->cv);
}

static bool tcp_conn_is_dead(tcp_conn_t *c);

/* A live connection of peer p that this thread's plug already queued to,
 * for a small slice (be->mu held); NULL: pick as usual. */
static tcp_conn_t *tcp_plug_pick(tcp_be_t *be, const tcp_peer_t *p, uint64_t len)
{
    if (!tcp_plug_depth || len >= MC_XPORT_MIN_SPREAD)
        return NULL;
    for (unsigned i = tcp_nplugged; i-- > 0;) {
        tcp_conn_t *c = tcp_plugged[i];
        if (c->be != be || c->port != p->port || strcmp(c->host, p->host) != 0)
            continue;
        if (atomic_load(&c->load) + len > MC_XPORT_TX_BATCH_BYTES || tcp_conn_is_dead(c))
            continue;
        return c;
    }
    return NULL;
}

/* -------------------------------------------------------------- post --- */

/* be->mu held. */
static tcp_conn_t *tcp_conn_new(tcp_be_t *be, tcp_peer_t *p)
{
    tcp_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->be = be;
    c->peer = p;
    c->fence_id = p->fence_id;
    c->gen = p->gen;
    snprintf(c->host, sizeof c->host, "%s", p->host);
    c->port = p->port;
    c->fd = -1;
    atomic_init(&c->refs, 2); /* table + sender */
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (mc_xport_thread_start(be->x, tcp_sender_main, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    return c;
}

/* A random nonzero fence id (getrandom; if that fails, clock and address
 * mixed: uniqueness across initiators is what matters, not secrecy). */
static uint32_t tcp_fence_id_new(const void *salt)
{
    uint32_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != (ssize_t)sizeof id) {
        uint64_t v = mc_xport_now_ns() ^ ((uint64_t)(uintptr_t)salt << 16) ^ (uint64_t)getpid() << 40;
        v *= 0x9E3779B97F4A7C15ull;
        id = (uint32_t)(v >> 32);
    }
    return id ? id : 1;
}

/* be->mu held. */
static tcp_peer_t *tcp_peer_get(tcp_be_t *be, const mc_xport_endpoint_t *ep)
{
    for (size_t i = 0; i < be->npeers; i++)
        if (be->peers[i]->port == ep->data_port && strcmp(be->peers[i]->host, ep->host) == 0)
            return be->peers[i];
    if (be->npeers == be->cap_peers) {
        size_t cap = be->cap_peers ? be->cap_peers * 2 : 8;
        tcp_peer_t **v = realloc(be->peers, cap * sizeof *v);
        if (!v)
            return NULL;
        be->peers = v;
        be->cap_peers = cap;
    }
    tcp_peer_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->host, sizeof p->host, "%s", ep->host);
    p->port = ep->data_port;
    p->fence_id = tcp_fence_id_new(p);
    p->gen = 1;
    be->peers[be->npeers++] = p;
    return p;
}

static bool tcp_conn_is_dead(tcp_conn_t *c)
{
    pthread_mutex_lock(&c->mu);
    bool d = c->dead;
    pthread_mutex_unlock(&c->mu);
    return d;
}

/* The least-loaded live connection of p, opening or replacing as needed
 * (be->mu held). NULL if none can be created. */
static tcp_conn_t *tcp_peer_pick(tcp_be_t *be, tcp_peer_t *p)
{
    unsigned n = be->x->o.conns_per_peer;
    tcp_conn_t *best = NULL;
    uint64_t best_load = UINT64_MAX;
    /* Retire failed generations first (if their failers have not yet), so
     * no connection of an old generation is picked and then killed. */
    for (unsigned i = 0; i < n; i++)
        if (p->conns[i] && tcp_conn_is_dead(p->conns[i]))
            tcp_peer_bump_locked(be, p->conns[i]);
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (p->rr + k) % n;
        tcp_conn_t *c = p->conns[i];
        if (c && tcp_conn_is_dead(c)) {
            tcp_conn_unref(c);
            c = p->conns[i] = NULL;
        }
        if (!c) {
            c = p->conns[i] = tcp_conn_new(be, p);
            if (!c)
                continue;
        }
        uint64_t load = atomic_load(&c->load);
        if (load < best_load) {
            best = c;
            best_load = load;
            if (load == 0)
                break;
        }
    }
    p->rr = (p->rr + 1) % n;
    return best;
}

/* Slice length for an op of len bytes: at most slice_size, but small
 * enough that one op spreads over every connection of its peer (a lone
 * 1 MiB get then moves over 4 connections, not 1), and no smaller than
 * MC_XPORT_MIN_SPREAD (per-slice costs would outweigh the parallelism). */
static uint64_t tcp_slice_len(uint64_t slice_size, unsigned conns, uint64_t len)
{
    uint64_t spread = conns > 1 ? (len + conns - 1) / conns : len;
    spread = (spread + 4095) & ~(uint64_t)4095;
    if (spread < MC_XPORT_MIN_SPREAD)
        spread = MC_XPORT_MIN_SPREAD;
    return spread < slice_size ? spread : slice_size;
}

static void tcp_post(void *state, mc_xport_op_t *op)
{
    tcp_be_t *be = state;
    uint64_t ssz = tcp_slice_len(be->x->o.slice_size, be->x->o.conns_per_peer, op->len);
    uint64_t n = (op->len + ssz - 1) / ssz;
    tcp_slice_t *sl = calloc(n, sizeof *sl);
    if (!sl || !op->ep.data_port) {
        free(sl);
        atomic_store(&op->remaining, 1);
        mc_xport_op_part_done(op, MC_TRANSFER_FAIL);
        return;
    }
    op->backend_mem = sl;
    atomic_store(&op->remaining, (unsigned)n);
    pthread_mutex_lock(&be->mu);
    tcp_peer_t *p = atomic_load(&be->stopping) ? NULL : tcp_peer_get(be, &op->ep);
    for (uint64_t i = 0; i < n; i++) {
        tcp_slice_t *s = &sl[i];
        s->op = op;
        s->opcode = op->opcode;
        s->local = op->local + i * ssz;
        s->remote = op->remote + i * ssz;
        s->key = op->remote_key;
        s->len = i + 1 < n ? ssz : op->len - i * ssz;
        tcp_conn_t *c = p ? tcp_plug_pick(be, p, s->len) : NULL;
        if (!c && p)
            c = tcp_peer_pick(be, p);
        if (!c) {
            mc_xport_op_part_done(op, MC_TRANSFER_FAIL);
            continue;
        }
        atomic_fetch_add(&c->load, s->len);
        pthread_mutex_lock(&c->mu);
        if (c->dead) {
            mc_status_t st = c->fail_status;
            pthread_mutex_unlock(&c->mu);
            atomic_fetch_sub(&c->load, s->len);
            mc_xport_op_part_done(op, st);
            continue;
        }
        if (!c->sq && !c->in)
            c->progress_ns = mc_xport_now_ns();
        s->req_id = ++c->next_req_id;
        s->refs = 1;
        s->final = MC_TRANSFER_FAIL;
        if (c->sq_tail)
            c->sq_tail->next = s;
        else
            c->sq = s;
        c->sq_tail = s;
        tcp_conn_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&be->mu);
}

/* ------------------------------------------------------------ server --- */

/* Discard n payload bytes of a rejected WRITE (the connection stays in
 * sync and other requests on it are unaffected). */
static int tcp_srv_drain(mc_xport_rd_t *rd, uint64_t n)
{
    static __thread uint8_t scratch[MC_XPORT_DRAIN_BUF];
    while (n) {
        size_t k = n < sizeof scratch ? (size_t)n : sizeof scratch;
        if (mc_xport_rd_read(rd, scratch, k) != MC_XPORT_IO_OK)
            return -1;
        n -= k;
    }
    return 0;
}

/* Send the deferred responses (the reader's flush hook). */
static int tcp_srv_flush(void *arg)
{
    tcp_srv_conn_t *sc = arg;
    size_t n = sc->out_len;
    sc->out_len = 0;
    sc->out_n = 0;
    sc->rd.flush_pending = false;
    if (n == 0)
        return 0;
    return mc_xport_io_write(sc->fd, sc->out, n) == MC_XPORT_IO_OK ? 0 : -1;
}

/* Room for one more response of extra data bytes in the deferred output
 * (flushing first when it would pass its limits). -1: send failed or out
 * of memory (the connection closes). */
static int tcp_srv_room(tcp_srv_conn_t *sc, size_t extra)
{
    size_t need = MC_XPORT_RESP_LEN + extra;
    if ((sc->out_n >= MC_XPORT_SRV_OUT_MAX || sc->out_len + need > MC_XPORT_SRV_OUT_BYTES) && tcp_srv_flush(sc) != 0)
        return -1;
    if (sc->out_len + need <= sc->out_cap)
        return 0;
    size_t cap = sc->out_cap ? sc->out_cap : MC_XPORT_SRV_OUT_MAX * MC_XPORT_RESP_LEN;
    while (cap < sc->out_len + need)
        cap *= 2;
    uint8_t *p = realloc(sc->out, cap);
    if (!p)
        return -1;
    sc->out = p;
    sc->out_cap = cap;
    return 0;
}

/* Queue a response (and, for a small READ, its data); sent before this
 * thread next waits for the peer. */
static int tcp_srv_reply_data(tcp_srv_conn_t *sc, uint32_t code, uint64_t req_id, const void *data, size_t len)
{
    if (tcp_srv_room(sc, len) != 0)
        return -1;
    mc_xport_resp_t r = {.code = code, .req_id = req_id};
    mc_xport_resp_encode(&r, sc->out + sc->out_len);
    sc->out_len += MC_XPORT_RESP_LEN;
    if (len)
        memcpy(sc->out + sc->out_len, data, len);
    sc->out_len += len;
    sc->out_n++;
    sc->rd.flush_pending = true;
    return 0;
}

static int tcp_srv_reply(tcp_srv_conn_t *sc, uint32_t code, uint64_t req_id)
{
    return tcp_srv_reply_data(sc, code, req_id, NULL, 0);
}

/* ------------------------------------------------------------- fence --- */

static int tcp_srv_flush_cb(void *sc) { return tcp_srv_flush(sc); }

/* The fence (mc_xport_fence.c) for rq's initiator; the connection keeps a
 * reference to the last initiator's entry. */
static int tcp_fence_enter(tcp_srv_conn_t *sc, const mc_xport_req_t *rq)
{
    tcp_be_t *be = sc->be;
    if (!rq->initiator)
        return MC_XPORT_FENCE_PASS; /* unfenced (raw client) */
    if (!sc->fence || mc_xport_fence_id(sc->fence) != rq->initiator) {
        if (sc->fence)
            mc_xport_fence_put(&be->fences, sc->fence);
        sc->fence = mc_xport_fence_get(&be->fences, rq->initiator);
        if (!sc->fence)
            return MC_XPORT_FENCE_ERR;
    }
    return mc_xport_fence_enter(&be->fences, sc->fence, rq->gen, rq->opcode == MC_XFER_WRITE, tcp_srv_flush_cb,
                                sc, &be->stopping);
}

static void tcp_fence_leave(tcp_srv_conn_t *sc, const mc_xport_req_t *rq)
{
    if (rq->initiator && rq->opcode == MC_XFER_WRITE)
        mc_xport_fence_leave(sc->fence, rq->gen);
}

/* Requests this receiver refused as STALE (for mc_xport_stats / tests). */
uint64_t mc_xport_tcp_stale(void *state)
{
    return atomic_load(&((tcp_be_t *)state)->fences.stale);
}

/* ------------------------------------------------------------ server --- */

/* Serve one request that passed the fence; -1 closes the connection. */
static int tcp_srv_apply(tcp_srv_conn_t *sc, const mc_xport_req_t *rq)
{
    mc_xport_t *x = sc->be->x;
    mc_xport_region_t *r;
    mc_status_t st = mc_xport_regions_pin_key(&x->regions, rq->addr, rq->len, rq->key, &r);
    if (st != MC_OK) {
        bool bad_key = st == MC_TRANSFER_FAIL;
        mc_xport_logf(x, MC_LOG_DEBUG, "reject %s [0x%llx, +%llu) key %u from %s: %s",
                      rq->opcode == MC_XFER_WRITE ? "WRITE" : "READ", (unsigned long long)rq->addr,
                      (unsigned long long)rq->len, rq->key, sc->peer,
                      bad_key ? "no region has this key (stale descriptor)" : "not inside one registered region");
        if (rq->opcode == MC_XFER_WRITE && tcp_srv_drain(&sc->rd, rq->len) != 0)
            return -1;
        return tcp_srv_reply(sc, bad_key ? MC_XPORT_CODE_BAD_KEY : MC_XPORT_CODE_REJECTED, rq->req_id);
    }
    int ret = 0;
    void *mem = (void *)(uintptr_t)rq->addr;
    if (rq->opcode == MC_XFER_WRITE) {
        if (mc_xport_rd_read(&sc->rd, mem, rq->len) != MC_XPORT_IO_OK)
            ret = -1;
        mc_xport_regions_unpin(&x->regions, r);
        if (ret == 0)
            ret = tcp_srv_reply(sc, MC_XPORT_CODE_OK, rq->req_id);
        return ret;
    }
    if (rq->len <= MC_XPORT_SRV_INLINE_READ) {
        /* copied now (as the send below would read it now), sent with the run */
        ret = tcp_srv_reply_data(sc, MC_XPORT_CODE_OK, rq->req_id, mem, rq->len);
        mc_xport_regions_unpin(&x->regions, r);
        return ret;
    }
    /* Deferred responses first (order), then this one and its data. */
    uint8_t b[MC_XPORT_RESP_LEN];
    mc_xport_resp_t rs = {.code = MC_XPORT_CODE_OK, .req_id = rq->req_id};
    mc_xport_resp_encode(&rs, b);
    struct iovec iov[3] = {{.iov_base = sc->out, .iov_len = sc->out_len},
                           {.iov_base = b, .iov_len = sizeof b},
                           {.iov_base = mem, .iov_len = rq->len}};
    int skip = sc->out_len ? 0 : 1;
    sc->out_len = 0;
    sc->out_n = 0;
    sc->rd.flush_pending = false;
    if (mc_xport_io_writev(sc->fd, iov + skip, 3 - skip) != MC_XPORT_IO_OK)
        ret = -1;
    mc_xport_regions_unpin(&x->regions, r);
    return ret;
}

/* Serve one request; -1 closes the connection. */
static int tcp_srv_one(tcp_srv_conn_t *sc, const mc_xport_req_t *rq)
{
    int fr = tcp_fence_enter(sc, rq);
    if (fr == MC_XPORT_FENCE_ERR)
        return -1;
    if (fr == MC_XPORT_FENCE_STALE) {
        mc_xport_logf(sc->be->x, MC_LOG_DEBUG,
                      "refuse %s [0x%llx, +%llu) from %s: generation %u of initiator %08x is stale",
                      rq->opcode == MC_XFER_WRITE ? "WRITE" : "READ", (unsigned long long)rq->addr,
                      (unsigned long long)rq->len, sc->peer, rq->gen, rq->initiator);
        if (rq->opcode == MC_XFER_WRITE && tcp_srv_drain(&sc->rd, rq->len) != 0)
            return -1;
        return tcp_srv_reply(sc, MC_XPORT_CODE_STALE, rq->req_id);
    }
    int ret = tcp_srv_apply(sc, rq);
    tcp_fence_leave(sc, rq);
    return ret;
}

static void *tcp_srv_main(void *arg)
{
    tcp_srv_conn_t *sc = arg;
    tcp_be_t *be = sc->be;
    bool bulk_writes = false; /* the last request was a large WRITE */
    for (;;) {
        uint8_t hdr[MC_XPORT_REQ_LEN];
        /* After a large WRITE, expect another: read just its header so the
         * payload lands in place rather than partly via the read buffer. */
        int rc = bulk_writes ? mc_xport_rd_read_exact(&sc->rd, hdr, sizeof hdr)
                             : mc_xport_rd_read(&sc->rd, hdr, sizeof hdr);
        if (rc == MC_XPORT_IO_IDLE && !atomic_load(&be->stopping))
            continue;
        if (rc != MC_XPORT_IO_OK)
            break;
        mc_xport_req_t rq;
        const char *why = NULL;
        if (mc_xport_req_decode(hdr, sizeof hdr, &rq, &why) != MC_XPORT_DEC_OK) {
            mc_xport_logf(be->x, MC_LOG_WARN, "malformed data request header from %s (%s): closing connection",
                          sc->peer, why);
            break;
        }
        bulk_writes = rq.opcode == MC_XFER_WRITE && rq.len >= MC_XPORT_RD_CAP;
        if (tcp_srv_one(sc, &rq) != 0)
            break;
    }
    (void)tcp_srv_flush(sc); /* answers to requests served before a bad header */
    if (sc->fence)
        mc_xport_fence_put(&be->fences, sc->fence);
    pthread_mutex_lock(&be->mu);
    sc->prev->next = sc->next;
    sc->next->prev = sc->prev;
    pthread_mutex_unlock(&be->mu);
    close(sc->fd);
    free(sc->out);
    free(sc);
    return NULL;
}

static void tcp_accept_one(tcp_be_t *be)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(be->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
            mc_xport_logf(be->x, MC_LOG_WARN, "accept: %s", strerror(errno));
        if (errno == EMFILE || errno == ENFILE)
            poll(NULL, 0, 10);
        return;
    }
    mc_xport_io_tune(fd);
    /* A stalled sender mid-message is cut off after the op timeout. */
    uint64_t ms = be->x->o.timeout_ms;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    tcp_srv_conn_t *sc = calloc(1, sizeof *sc);
    if (!sc) {
        close(fd);
        return;
    }
    sc->be = be;
    sc->fd = fd;
    sc->rd.fd = fd;
    sc->rd.flush = tcp_srv_flush;
    sc->rd.flush_ctx = sc;
    char h[NI_MAXHOST], p[NI_MAXSERV];
    if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(sc->peer, sizeof sc->peer, "%s:%s", h, p);
    pthread_mutex_lock(&be->mu);
    if (atomic_load(&be->stopping)) {
        pthread_mutex_unlock(&be->mu);
        close(fd);
        free(sc);
        return;
    }
    sc->next = be->srv.next;
    sc->prev = &be->srv;
    be->srv.next->prev = sc;
    be->srv.next = sc;
    pthread_mutex_unlock(&be->mu);
    if (mc_xport_thread_start(be->x, tcp_srv_main, sc) != 0) {
        pthread_mutex_lock(&be->mu);
        sc->prev->next = sc->next;
        sc->next->prev = sc->prev;
        pthread_mutex_unlock(&be->mu);
        close(fd);
        free(sc);
    }
}

/* Accepts, and every ~100 ms checks connections for the op timeout. */
static void *tcp_listener_main(void *arg)
{
    tcp_be_t *be = arg;
    uint64_t timeout_ns = be->x->o.timeout_ms * 1000000ull;
    int period = be->x->o.timeout_ms < 400 ? (int)(be->x->o.timeout_ms / 4) + 1 : 100;
    while (!atomic_load(&be->stopping)) {
        struct pollfd pfd[2] = {{.fd = be->listen_fd, .events = POLLIN}, {.fd = be->stop_fd, .events = POLLIN}};
        int r = poll(pfd, 2, period);
        if (r > 0 && (pfd[0].revents & POLLIN))
            tcp_accept_one(be);
        /* watchdog */
        uint64_t now = mc_xport_now_ns();
        tcp_conn_t *late[64];
        size_t nl = 0;
        pthread_mutex_lock(&be->mu);
        for (size_t i = 0; i < be->npeers; i++)
            for (unsigned k = 0; k < MC_XPORT_MAX_CONNS && nl < 64; k++) {
                tcp_conn_t *c = be->peers[i]->conns[k];
                if (!c)
                    continue;
                pthread_mutex_lock(&c->mu);
                bool busy = !c->dead && (c->sq || c->in);
                bool is_late = busy && now > c->progress_ns && now - c->progress_ns > timeout_ns;
                pthread_mutex_unlock(&c->mu);
                if (is_late) {
                    atomic_fetch_add(&c->refs, 1);
                    late[nl++] = c;
                }
            }
        pthread_mutex_unlock(&be->mu);
        for (size_t i = 0; i < nl; i++) {
            tcp_conn_fail(late[i], MC_RPC_TIMEOUT, "no progress within the transfer timeout");
            tcp_conn_unref(late[i]);
        }
    }
    return NULL;
}

/* The user gave up on op `tag` (its own deadline passed before ours): a
 * connection still holding a slice of it (queued, or sent and awaiting
 * the answer) is failed, which retires its generation before the user
 * hears of the failure. So nothing posted afterwards can be overtaken at
 * the receiver by the abandoned bytes (the fence refuses them). */
static void tcp_abandon(void *state, uint64_t tag)
{
    tcp_be_t *be = state;
    tcp_conn_t *hit = NULL;
    pthread_mutex_lock(&be->mu);
    for (size_t i = 0; i < be->npeers && !hit; i++)
        for (unsigned k = 0; k < MC_XPORT_MAX_CONNS && !hit; k++) {
            tcp_conn_t *c = be->peers[i]->conns[k];
            if (!c)
                continue;
            pthread_mutex_lock(&c->mu);
            for (tcp_slice_t *q = c->dead ? NULL : c->sq; q && !hit; q = q->next)
                hit = q->op && q->op->tag == tag ? c : NULL;
            for (tcp_slice_t *q = c->dead ? NULL : c->in; q && !hit; q = q->next)
                hit = q->op && q->op->tag == tag ? c : NULL;
            pthread_mutex_unlock(&c->mu);
            if (hit)
                atomic_fetch_add(&hit->refs, 1);
        }
    pthread_mutex_unlock(&be->mu);
    if (!hit)
        return; /* done already, or never got to a connection */
    tcp_conn_fail(hit, MC_TRANSFER_FAIL, "an op on it was abandoned by its user");
    tcp_conn_unref(hit);
}

/* --------------------------------------------------------- lifecycle --- */

static int tcp_listen(tcp_be_t *be, const char *host, uint16_t port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0) {
        mc_xport_logf(be->x, MC_LOG_ERROR, "data listener %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0)
        goto fail_fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        goto fail_fd;
    be->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    be->listen_fd = fd;
    freeaddrinfo(res);
    return 0;
fail_fd:
    close(fd);
fail:
    mc_xport_logf(be->x, MC_LOG_ERROR, "data listener %s:%u: %s", host, (unsigned)port, strerror(errno));
    freeaddrinfo(res);
    return -1;
}

static int tcp_create(mc_xport_t *x, void **state)
{
    tcp_be_t *be = calloc(1, sizeof *be);
    if (!be)
        return -1;
    be->x = x;
    be->listen_fd = -1;
    be->srv.next = be->srv.prev = &be->srv;
    pthread_mutex_init(&be->mu, NULL);
    mc_xport_fences_init(&be->fences);
    be->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (be->stop_fd < 0)
        goto fail;
    if (tcp_listen(be, x->o.host, x->o.data_port) != 0)
        goto fail;
    *state = be; /* destroy frees it even if the thread fails below */
    if (mc_xport_thread_start(x, tcp_listener_main, be) != 0)
        return -1;
    return 0;
fail:
    if (be->stop_fd >= 0)
        close(be->stop_fd);
    mc_xport_fences_fini(&be->fences);
    pthread_mutex_destroy(&be->mu);
    free(be);
    return -1;
}

static void tcp_stop(void *state)
{
    tcp_be_t *be = state;
    atomic_store(&be->stopping, true);
    uint64_t one = 1;
    if (write(be->stop_fd, &one, sizeof one) < 0) {
        /* eventfd write cannot fail with a counter of 1 */
    }
    pthread_mutex_lock(&be->mu);
    for (size_t i = 0; i < be->npeers; i++)
        for (unsigned k = 0; k < MC_XPORT_MAX_CONNS; k++) {
            tcp_conn_t *c = be->peers[i]->conns[k];
            if (!c)
                continue;
            be->peers[i]->conns[k] = NULL;
            tcp_conn_fail(c, MC_TRANSFER_FAIL, NULL);
            tcp_conn_unref(c);
        }
    for (tcp_srv_conn_t *sc = be->srv.next; sc != &be->srv; sc = sc->next)
        shutdown(sc->fd, SHUT_RDWR);
    pthread_mutex_unlock(&be->mu);
}

static void tcp_destroy(void *state)
{
    tcp_be_t *be = state;
    for (size_t i = 0; i < be->npeers; i++)
        free(be->peers[i]);
    free(be->peers);
    if (be->listen_fd >= 0)
        close(be->listen_fd);
    close(be->stop_fd);
    mc_xport_fences_fini(&be->fences);
    pthread_mutex_destroy(&be->mu);
    free(be);
}

uint16_t mc_xport_tcp_port(void *state)
{
    return ((tcp_be_t *)state)->port;
}

const mc_xport_backend_ops_t mc_xport_tcp_ops = {
    .name = "tcp",
    .create = tcp_create,
    .stop = tcp_stop,
    .destroy = tcp_destroy,
    .post = tcp_post,
    .abandon = tcp_abandon,
};
