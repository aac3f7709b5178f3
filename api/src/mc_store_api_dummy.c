/* setup_dummy: a store handle whose operations a mooncake_client runs
 * (spec store.md §7). This file owns the link: the TCP control connection
 * (HELLO gives a session id), the shared memory (the local buffer and
 * alloc_from_mem_pool regions, handed to the real client as memfds over
 * its unix socket) and reconnection: after the service restarts, the next
 * call reconnects and shares every registered region again. The
 * forwarding of operations is in mc_store_api_dummy_ops.c. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mc_addr.h"
#include "mc_realclient_io.h"
#include "mc_store_api_int.h"

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_IO_TIMEOUT_MS 30000 /* upstream's coro_rpc default deadline */
#define PING_PERIOD_MS 1000         /* upstream's dummy ping period */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drop_connection(mc_api_dummy_t *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

static mc_status_t send_recv(mc_api_dummy_t *d, const mc_dummy_msg_t *req, uint16_t reply_type, mc_dummy_msg_t *reply)
{
    uint64_t id = ++d->next_req;
    mc_dummy_msg_encode(&d->out, id, req);
    mc_status_t st = mc_rc_send(d->fd, &d->out);
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (st == MC_OK)
        st = mc_rc_recv(d->fd, &d->in, &hdr, &body);
    if (st == MC_OK && (hdr.req_id != id || hdr.type != reply_type ||
                        mc_dummy_msg_decode(hdr.type, &body, reply) != MC_OK))
        st = MC_RPC_FAIL; /* out of step with the service: start over */
    if (st != MC_OK) {
        drop_connection(d);
        return st == MC_RPC_TIMEOUT ? MC_RPC_TIMEOUT : MC_RPC_FAIL;
    }
    d->last_exchange_ms = now_ms();
    return MC_OK;
}

/* SHM_REGISTER over the unix socket, the memfd attached. */
static mc_status_t share_region(mc_api_dummy_t *d, const mc_api_shm_t *r)
{
    int c = mc_rc_ipc_connect(d->ipc_name, d->io_timeout_ms);
    if (c < 0)
        return MC_RPC_FAIL;
    mc_wbuf_t w, in;
    mc_wbuf_init(&w);
    mc_wbuf_init(&in);
    mc_dummy_msg_t m = {.type = MC_MSG_DUMMY_SHM_REGISTER, .session = d->session, .base = (uintptr_t)r->base,
                        .size = r->size, .is_local_buffer = r->is_local_buffer};
    mc_dummy_msg_encode(&w, 1, &m);
    mc_status_t st = mc_rc_send_fd(c, &w, r->fd);
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    int nofd;
    mc_dummy_msg_t reply;
    if (st == MC_OK)
        st = mc_rc_recv_fd(c, &in, &hdr, &body, &nofd);
    if (st == MC_OK) {
        if (nofd >= 0)
            close(nofd);
        if (hdr.type != MC_MSG_DUMMY_STATUS_REPLY || mc_dummy_msg_decode(hdr.type, &body, &reply) != MC_OK)
            st = MC_RPC_FAIL;
        else
            st = reply.status;
    }
    mc_wbuf_free(&w);
    mc_wbuf_free(&in);
    close(c);
    return st;
}

/* Connect, say hello, share the local buffer and every registered region. */
static mc_status_t connect_service(mc_api_dummy_t *d)
{
    d->fd = mc_rc_tcp_connect(d->server, CONNECT_TIMEOUT_MS, d->io_timeout_ms);
    if (d->fd < 0)
        return MC_RPC_FAIL;
    mc_dummy_msg_t hello = {.type = MC_MSG_DUMMY_HELLO, .name = mc_slice_cstr("dummy")}, reply;
    mc_status_t st = send_recv(d, &hello, MC_MSG_DUMMY_HELLO_REPLY, &reply);
    if (st != MC_OK)
        return st;
    d->session = reply.session;
    snprintf(d->ipc_name, sizeof d->ipc_name, "%.*s", (int)reply.name.len, (const char *)reply.name.p);
    st = reply.status;
    mc_dummy_msg_free(&reply);
    if (st == MC_OK && d->lb.size)
        st = share_region(d, &d->lb);
    pthread_mutex_lock(&d->shm_mu);
    for (size_t i = 0; st == MC_OK && i < d->nshm; i++)
        if (d->shm[i].registered)
            st = share_region(d, &d->shm[i]);
    pthread_mutex_unlock(&d->shm_mu);
    if (st != MC_OK)
        drop_connection(d);
    return st;
}

/* Between exchanges nothing may arrive: anything readable is the service's
 * close (it restarted, or dropped us after a stall). Checked before
 * sending so a request never goes down a dead link. */
static bool link_stale(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) != 0;
}

mc_status_t mc_api_dummy_exchange(mc_api_dummy_t *d, const mc_dummy_msg_t *req, uint16_t reply_type,
                                  mc_dummy_msg_t *reply)
{
    if (d->fd >= 0 && link_stale(d->fd))
        drop_connection(d);
    if (d->fd < 0 && connect_service(d) != MC_OK)
        return MC_RPC_FAIL;
    return send_recv(d, req, reply_type, reply);
}

static bool inside(const mc_api_shm_t *r, const void *p, size_t len)
{
    uintptr_t lo = (uintptr_t)p, b = (uintptr_t)r->base;
    return r->size && lo >= b && lo - b <= r->size && len <= r->size - (lo - b);
}

bool mc_api_dummy_shared(mc_api_dummy_t *d, const void *p, size_t len)
{
    bool yes = inside(&d->lb, p, len);
    pthread_mutex_lock(&d->shm_mu);
    for (size_t i = 0; !yes && i < d->nshm; i++)
        yes = d->shm[i].registered && inside(&d->shm[i], p, len);
    pthread_mutex_unlock(&d->shm_mu);
    return yes;
}

static void shm_unmap(mc_api_shm_t *r)
{
    if (r->base)
        munmap(r->base, r->size);
    if (r->fd >= 0)
        close(r->fd);
    r->base = NULL;
    r->fd = -1;
}

/* Pings (a HEALTH op) when nothing else used the link for a period; after
 * the service went away this is also what reconnects and re-shares. A busy
 * link needs no ping: the ongoing exchange shows the dummy is alive. */
static void *pinger_main(void *arg)
{
    mc_api_dummy_t *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += PING_PERIOD_MS / 1000;
        pthread_cond_timedwait(&d->stop_cv, &d->mu, &ts);
        if (d->stopping || now_ms() - d->last_exchange_ms < PING_PERIOD_MS)
            continue;
        mc_dummy_op_t op = {.kind = MC_DUMMY_OP_HEALTH};
        mc_dummy_msg_t req = {.type = MC_MSG_DUMMY_OPS, .nops = 1, .ops = &op}, reply;
        if (mc_api_dummy_exchange(d, &req, MC_MSG_DUMMY_OPS_REPLY, &reply) == MC_OK)
            mc_dummy_msg_free(&reply);
        else
            d->last_exchange_ms = now_ms(); /* retry (reconnect) a period later */
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

void mc_api_dummy_destroy(mooncake_store_t *s)
{
    mc_api_dummy_t *d = s->dummy;
    if (!d)
        return;
    if (d->pinger_started) {
        pthread_mutex_lock(&d->mu);
        d->stopping = true;
        pthread_cond_broadcast(&d->stop_cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->pinger, NULL);
    }
    pthread_cond_destroy(&d->stop_cv);
    /* Closing the connection is the release: the real client drops the
     * session with its mappings and staging allocations. */
    drop_connection(d);
    for (size_t i = 0; i < d->nshm; i++)
        shm_unmap(&d->shm[i]);
    free(d->shm);
    shm_unmap(&d->lb);
    mc_wbuf_free(&d->out);
    mc_wbuf_free(&d->in);
    pthread_mutex_destroy(&d->shm_mu);
    pthread_mutex_destroy(&d->mu);
    free(d);
    s->dummy = NULL;
}

static int io_timeout_ms(void)
{
    const char *e = getenv("MC_RPC_TIMEOUT_MS");
    long v = e ? atol(e) : 0;
    return v > 0 && v < 24L * 3600 * 1000 ? (int)v : DEFAULT_IO_TIMEOUT_MS;
}

int mooncake_store_setup_dummy(mooncake_store_t **out, uint64_t mem_pool_size, uint64_t local_buffer_size,
                               const char *server_address)
{
    (void)mem_pool_size; /* upstream ignores it too (spec §7.2) */
    char host[256];
    uint16_t port;
    if (!out || !server_address || !mc_addr_split(server_address, host, sizeof host, &port) || !port ||
        local_buffer_size > SIZE_MAX)
        return MC_INVALID_PARAMS;
    mooncake_store_t *s = calloc(1, sizeof *s);
    mc_api_dummy_t *d = calloc(1, sizeof *d);
    if (!s || !d) {
        free(s);
        free(d);
        return MC_BUFFER_OVERFLOW;
    }
    pthread_mutex_init(&s->reg_mu, NULL);
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->shm_mu, NULL);
    pthread_cond_init(&d->stop_cv, NULL);
    mc_wbuf_init(&d->out);
    mc_wbuf_init(&d->in);
    d->fd = -1;
    d->lb.fd = -1;
    d->io_timeout_ms = io_timeout_ms();
    snprintf(d->server, sizeof d->server, "%s", server_address);
    s->dummy = d;
    s->lbuf = mc_api_lbuf_new(local_buffer_size);
    int rc = MC_INTERNAL_ERROR; /* upstream: -1 for every setup failure */
    if (!s->lbuf)
        goto fail;
    if (local_buffer_size) {
        d->lb.is_local_buffer = true;
        d->lb.size = local_buffer_size;
        if (!(d->lb.base = mc_rc_shm_create(local_buffer_size, &d->lb.fd)))
            goto fail;
    }
    pthread_mutex_lock(&d->mu);
    mc_status_t st = connect_service(d);
    pthread_mutex_unlock(&d->mu);
    if (st != MC_OK) {
        fprintf(stderr, "mooncake: setup_dummy: cannot reach the real client at %s: %s\n", server_address,
                mc_status_name(st));
        goto fail;
    }
    if (pthread_create(&d->pinger, NULL, pinger_main, d) != 0)
        goto fail;
    d->pinger_started = true;
    *out = s;
    return MC_OK;
fail:
    mc_api_dummy_destroy(s);
    if (s->lbuf)
        mc_api_lbuf_unref(s->lbuf);
    pthread_mutex_destroy(&s->reg_mu);
    free(s);
    return rc;
}

/* ---- alloc_from_mem_pool and registration ---- */

uint64_t mooncake_store_alloc_from_mem_pool(mooncake_store_t *s, uint64_t size)
{
    if (!mc_api_usable(s) || !s->dummy || size == 0 || size > SIZE_MAX)
        return 0; /* upstream: a real client has no pool */
    mc_api_dummy_t *d = s->dummy;
    mc_api_shm_t r = {.size = size, .fd = -1};
    if (!(r.base = mc_rc_shm_create(size, &r.fd)))
        return 0;
    pthread_mutex_lock(&d->shm_mu);
    if (d->nshm == d->cap_shm) {
        size_t cap = d->cap_shm ? d->cap_shm * 2 : 8;
        mc_api_shm_t *v = realloc(d->shm, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&d->shm_mu);
            shm_unmap(&r);
            return 0;
        }
        d->shm = v;
        d->cap_shm = cap;
    }
    d->shm[d->nshm++] = r;
    pthread_mutex_unlock(&d->shm_mu);
    return (uintptr_t)r.base;
}

static mc_api_shm_t *find_exact(mc_api_dummy_t *d, const void *ptr, size_t size)
{
    for (size_t i = 0; i < d->nshm; i++)
        if (d->shm[i].base == ptr && (size == 0 || d->shm[i].size == size))
            return &d->shm[i];
    return NULL;
}

int mc_api_dummy_register(mooncake_store_t *s, void *ptr, size_t size)
{
    mc_api_dummy_t *d = s->dummy;
    mc_status_t st = MC_OK;
    pthread_mutex_lock(&d->mu);
    pthread_mutex_lock(&d->shm_mu);
    mc_api_shm_t *r = find_exact(d, ptr, size);
    mc_api_shm_t copy = r ? *r : (mc_api_shm_t){0};
    pthread_mutex_unlock(&d->shm_mu);
    if (!r) {
        st = MC_INTERNAL_ERROR; /* upstream: only whole pool allocations, else -1 */
    } else if (!copy.registered) {
        if (d->fd < 0 && connect_service(d) != MC_OK)
            st = MC_RPC_FAIL;
        else
            st = share_region(d, &copy);
        if (st == MC_OK) {
            pthread_mutex_lock(&d->shm_mu);
            find_exact(d, ptr, size)->registered = true;
            pthread_mutex_unlock(&d->shm_mu);
        } else {
            st = MC_INTERNAL_ERROR;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return st;
}

void mc_api_dummy_unregister(mooncake_store_t *s, void *ptr)
{
    mc_api_dummy_t *d = s->dummy;
    pthread_mutex_lock(&d->mu);
    pthread_mutex_lock(&d->shm_mu);
    mc_api_shm_t *r = find_exact(d, ptr, 0);
    bool was = r && r->registered;
    if (r)
        r->registered = false;
    pthread_mutex_unlock(&d->shm_mu);
    if (was && d->fd >= 0) {
        mc_dummy_msg_t m = {.type = MC_MSG_DUMMY_SHM_UNREGISTER, .base = (uintptr_t)ptr}, reply;
        if (mc_api_dummy_exchange(d, &m, MC_MSG_DUMMY_STATUS_REPLY, &reply) == MC_OK)
            mc_dummy_msg_free(&reply);
    }
    pthread_mutex_unlock(&d->mu);
}
