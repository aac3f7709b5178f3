/* Same-host reads on the caller's thread.
 *
 * A get through the store's loop costs four thread hand-offs: caller ->
 * loop, loop -> master, master -> loop, loop -> caller (Redis' GET costs
 * two). When a replica of the key is reachable by memcpy (our own
 * segment, or a same-host owner's shared memory the transport has already
 * mapped), the caller does it alone: the same GET_REPLICA_LIST request to
 * the master on a connection of its own (so the same lease and the same
 * answers), then the copies, checked against the lease as the loop does.
 *
 * This path only serves what it can finish with the loop's result; the
 * loop stays the reference. Keys whose replicas cannot be copied here (on
 * another host, first contact with an owner, a stale key) go to the loop;
 * so does the whole call when the master connection fails before an
 * answer (the loop reconnects and reports). A master that does not answer
 * within the RPC timeout gives MC_RPC_TIMEOUT, as the loop would.
 * MC_STORE_DIRECT_READ=0 turns the path off. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_realclient_io.h"
#include "mc_store_api_int.h"
#include "wire/mc_msg_types.h"

#define DIRECT_IDLE_MAX 8 /* master connections kept between calls */

typedef struct direct_conn {
    int fd;
    mc_wbuf_t out, in;
} direct_conn_t;

struct mc_api_direct {
    pthread_mutex_t mu;
    direct_conn_t *idle[DIRECT_IDLE_MAX];
    size_t nidle;
    int io_timeout_ms;
    atomic_uint_fast64_t next_id;
    atomic_uint_fast64_t keys_direct, keys_loop;
};

mc_api_direct_t *mc_api_direct_new(mooncake_store_t *s)
{
    const char *v = getenv("MC_STORE_DIRECT_READ");
    if (v && strcmp(v, "0") == 0)
        return NULL;
    mc_api_direct_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    pthread_mutex_init(&d->mu, NULL);
    uint64_t ms = s->sc.cfg.rpc_timeout_ns / 1000000u;
    d->io_timeout_ms = ms == 0 ? 1 : ms > 3600000u ? 3600000 : (int)ms;
    atomic_init(&d->next_id, 1);
    return d;
}

static void conn_free(direct_conn_t *cn)
{
    if (cn->fd >= 0)
        close(cn->fd);
    mc_wbuf_free(&cn->out);
    mc_wbuf_free(&cn->in);
    free(cn);
}

void mc_api_direct_free(mc_api_direct_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nidle; i++)
        conn_free(d->idle[i]);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void mc_api_direct_stats(const mc_api_direct_t *d, uint64_t *direct, uint64_t *loop)
{
    mc_api_direct_t *m = (mc_api_direct_t *)d;
    *direct = m ? atomic_load(&m->keys_direct) : 0;
    *loop = m ? atomic_load(&m->keys_loop) : 0;
}

void mc_api_direct_count_loop(mc_api_direct_t *d, uint64_t keys)
{
    if (d)
        atomic_fetch_add(&d->keys_loop, keys);
}

/* An idle connection, or a new one; NULL if the master cannot be reached. */
static direct_conn_t *conn_get(mooncake_store_t *s, bool fresh)
{
    mc_api_direct_t *d = s->direct;
    direct_conn_t *cn = NULL;
    pthread_mutex_lock(&d->mu);
    if (!fresh && d->nidle)
        cn = d->idle[--d->nidle];
    pthread_mutex_unlock(&d->mu);
    if (cn)
        return cn;
    int fd = mc_rc_tcp_connect(s->master, d->io_timeout_ms, d->io_timeout_ms);
    if (fd < 0)
        return NULL;
    cn = calloc(1, sizeof *cn);
    if (!cn) {
        close(fd);
        return NULL;
    }
    cn->fd = fd;
    mc_wbuf_init(&cn->out);
    mc_wbuf_init(&cn->in);
    return cn;
}

static void conn_put(mc_api_direct_t *d, direct_conn_t *cn)
{
    pthread_mutex_lock(&d->mu);
    if (d->nidle < DIRECT_IDLE_MAX) {
        d->idle[d->nidle++] = cn;
        cn = NULL;
    }
    pthread_mutex_unlock(&d->mu);
    if (cn)
        conn_free(cn);
}

/* One GET_REPLICA_LIST round trip for keys. MC_OK: *rep holds n lists
 * (or the master's whole-call status); MC_RPC_TIMEOUT: no answer in
 * time; MC_RPC_FAIL: the connection failed (nothing was answered). */
static mc_status_t query_lists(mooncake_store_t *s, const mc_slice_t *keys, uint32_t n, mc_store_replicas_reply_t *rep)
{
    mc_api_direct_t *d = s->direct;
    memset(rep, 0, sizeof *rep);
    mc_status_t st = MC_RPC_FAIL;
    /* A pooled connection may have died with an earlier master: one retry on a fresh one. */
    for (int attempt = 0; attempt < 2 && st == MC_RPC_FAIL; attempt++) {
        direct_conn_t *cn = conn_get(s, attempt > 0);
        if (!cn)
            return MC_RPC_FAIL;
        uint64_t id = atomic_fetch_add(&d->next_id, 1);
        mc_store_req_t q = {.type = MC_MSG_GET_REPLICA_LIST, .nkeys = n, .keys = (mc_slice_t *)keys};
        mc_store_req_encode(&cn->out, id, &q);
        mc_wire_hdr_t hdr;
        mc_rbuf_t body;
        st = mc_rc_send(cn->fd, &cn->out);
        if (st == MC_OK)
            st = mc_rc_recv(cn->fd, &cn->in, &hdr, &body);
        if (st == MC_OK && (!(hdr.flags & MC_WIRE_FLAG_RESPONSE) || hdr.req_id != id))
            st = MC_RPC_FAIL; /* out of step: drop the connection */
        if (st == MC_OK) {
            /* the whole call's status (a malformed reply: MC_RPC_FAIL, as the loop reports it) */
            st = mc_sc_replicas_reply(MC_OK, &hdr, &body, n, rep);
            if (st != MC_OK)
                rep->status = st;
            conn_put(d, cn);
            return MC_OK;
        }
        conn_free(cn);
        if (st == MC_RPC_TIMEOUT)
            return st;
        st = MC_RPC_FAIL;
    }
    return st;
}

/* Copy key i's object from the first replica reachable here. MC_OK and
 * the length, a final status, or MC_IN_PROGRESS (the loop must do it). */
static mc_status_t read_one(mooncake_store_t *s, mc_api_op_t *op, const mc_store_rlist_t *l, uint64_t deadline_ns)
{
    uint8_t order[MC_STORE_MAX_REPLICAS];
    uint32_t norder;
    mc_status_t st = mc_sc_read_plan(l, s->sc.endpoint, op->into ? op->into_size : 0, order, &norder);
    if (st != MC_OK)
        return st;
    if (norder == 0)
        return MC_INVALID_REPLICA; /* as the loop: nothing complete to read */
    uint64_t len = l->r[0].size;
    if (len == 0 || len > SIZE_MAX)
        return MC_IN_PROGRESS;
    uint8_t *dst = op->into ? op->into : malloc(len);
    if (!dst)
        return MC_IN_PROGRESS;
    for (uint32_t k = 0; k < norder; k++) {
        uint32_t i = order[k];
        char peer[256];
        if (l->endpoint[i].len == 0 || l->endpoint[i].len >= sizeof peer)
            continue;
        memcpy(peer, l->endpoint[i].p, l->endpoint[i].len);
        peer[l->endpoint[i].len] = '\0';
        mc_xfer_op_t x = {.opcode = MC_XFER_READ,
                          .local = dst,
                          .peer = peer,
                          .remote_addr = l->r[i].buffer_address,
                          .remote_key = l->r[i].rkey,
                          .len = len};
        if (mc_hw_env_copy_now(s->env, &x) != MC_OK)
            continue;
        if (mc_loop_clock_ns() > deadline_ns) {
            st = MC_LEASE_EXPIRED; /* the space may have been reused meanwhile */
            break;
        }
        op->out_len = len;
        if (!op->into)
            op->out = dst;
        return MC_OK;
    }
    if (!op->into)
        free(dst);
    return st == MC_LEASE_EXPIRED ? st : MC_IN_PROGRESS;
}

size_t mc_api_direct_gets(mooncake_store_t *s, mc_api_op_t *ops, size_t n)
{
    mc_slice_t keys_stack[64];
    uint32_t idx_stack[64];
    mc_slice_t *keys = keys_stack;
    uint32_t *idx = idx_stack;
    size_t done = 0;
    if (n > 64) {
        keys = malloc(n * sizeof *keys);
        idx = malloc(n * sizeof *idx);
        if (!keys || !idx)
            goto out;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < n && k < UINT32_MAX; i++)
        if (ops[i].kind == MC_API_GET && !ops[i].done) {
            keys[k] = mc_slice(ops[i].key, ops[i].klen);
            idx[k++] = (uint32_t)i;
        }
    if (k == 0)
        goto out;
    /* the lease runs from when the query was sent (as the loop measures it) */
    uint64_t sent_ns = mc_loop_clock_ns();
    mc_store_replicas_reply_t rep;
    mc_status_t st = query_lists(s, keys, k, &rep);
    if (st == MC_OK && rep.status == MC_OK) {
        for (uint32_t j = 0; j < k; j++) {
            mc_api_op_t *op = &ops[idx[j]];
            uint64_t deadline = sent_ns + rep.l[j].lease_ttl_ms * 1000000u;
            mc_status_t r = read_one(s, op, &rep.l[j], deadline);
            if (r == MC_IN_PROGRESS)
                continue;
            op->status = r;
            op->done = true;
            done++;
        }
    } else if (st != MC_RPC_FAIL) {
        /* the master answered for the whole call, or did not answer in time */
        for (uint32_t j = 0; j < k; j++) {
            ops[idx[j]].status = st == MC_OK ? rep.status : st;
            ops[idx[j]].done = true;
        }
        done = k;
    }
    mc_store_replicas_reply_free(&rep);
    atomic_fetch_add(&s->direct->keys_direct, done);
out:
    if (keys != keys_stack)
        free(keys);
    if (idx != idx_stack)
        free(idx);
    return done;
}
