/* The service loop: the main thread accepts dummy connections (TCP) and
 * shared-memory registrations (abstract unix socket, fd attached); each
 * dummy connection gets a thread that answers its requests in order.
 * When a connection ends (the dummy closed or died) its session releases
 * everything it held. A byte on stop_pipe ends the loop; open sessions are
 * shut down and joined before returning. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_realclient.h"

#define IPC_IO_TIMEOUT_MS 2000
#define DUMMY_TTL_MS 10000 /* upstream: a dummy silent this long is dropped */

/* MC_DUMMY_TTL_MS overrides (tests). Dummies ping every second when idle. */
static int dummy_ttl_ms(void)
{
    const char *e = getenv("MC_DUMMY_TTL_MS");
    long v = e ? atol(e) : 0;
    return v > 0 && v < 3600L * 1000 ? (int)v : DUMMY_TTL_MS;
}

static void reply_status(int fd, uint64_t req_id, int32_t status)
{
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_dummy_msg_t r = {.type = MC_MSG_DUMMY_STATUS_REPLY, .status = status};
    mc_dummy_msg_encode(&w, req_id, &r);
    mc_rc_send(fd, &w);
    mc_wbuf_free(&w);
}

/* One request of a session; false when the connection must end. */
static bool handle(mc_rc_session_t *s, const mc_wire_hdr_t *hdr, mc_rbuf_t *body, mc_wbuf_t *w)
{
    mc_dummy_msg_t m, reply = {0};
    if (mc_dummy_msg_decode(hdr->type, body, &m) != MC_OK || mc_msg_dummy_is_reply(hdr->type)) {
        fprintf(stderr, "mooncake_client: malformed or unexpected request (type %u); closing\n", hdr->type);
        return false;
    }
    void **bufs = NULL;
    size_t nbufs = 0;
    switch (m.type) {
    case MC_MSG_DUMMY_HELLO:
        reply.type = MC_MSG_DUMMY_HELLO_REPLY;
        reply.session = s->id;
        reply.name = mc_slice_cstr(s->srv->ipc_name);
        break;
    case MC_MSG_DUMMY_SHM_UNREGISTER:
        reply.type = MC_MSG_DUMMY_STATUS_REPLY;
        reply.status = mc_rc_session_remove_region(s, m.base);
        break;
    case MC_MSG_DUMMY_ALLOC:
        reply.type = MC_MSG_DUMMY_ADDRS_REPLY;
        reply.naddrs = m.naddrs;
        reply.addrs = mc_calloc(m.naddrs, sizeof *reply.addrs);
        for (uint32_t i = 0; i < m.naddrs; i++)
            reply.addrs[i] = mc_rc_session_alloc(s, m.addrs[i]);
        break;
    case MC_MSG_DUMMY_RELEASE:
        reply.type = MC_MSG_DUMMY_STATUS_REPLY;
        for (uint32_t i = 0; i < m.naddrs; i++)
            if (!mc_rc_session_free(s, m.addrs[i]))
                reply.status = MC_INVALID_PARAMS;
        break;
    case MC_MSG_DUMMY_OPS:
        mc_rc_run_ops(s, &m, &reply, &bufs);
        nbufs = (size_t)m.nops * (1 + MC_DUMMY_MAX_DESCS) + 1;
        break;
    default: /* SHM_REGISTER belongs on the unix socket */
        reply.type = MC_MSG_DUMMY_STATUS_REPLY;
        reply.status = MC_INVALID_PARAMS;
        break;
    }
    mc_dummy_msg_encode(w, hdr->req_id, &reply);
    bool ok = mc_rc_send(s->fd, w) == MC_OK;
    for (size_t i = 0; i < nbufs; i++)
        free(bufs[i]);
    mc_free(bufs);
    mc_dummy_msg_free(&reply);
    mc_dummy_msg_free(&m);
    return ok;
}

static void *session_main(void *arg)
{
    mc_rc_session_t *s = arg;
    mc_wbuf_t in, out;
    mc_wbuf_init(&in);
    mc_wbuf_init(&out);
    for (;;) {
        mc_wire_hdr_t hdr;
        mc_rbuf_t body;
        if (mc_rc_recv(s->fd, &in, &hdr, &body) != MC_OK)
            break;
        if (!handle(s, &hdr, &body, &out))
            break;
    }
    mc_wbuf_free(&in);
    mc_wbuf_free(&out);
    if (s->srv->verbose)
        fprintf(stderr, "mooncake_client: dummy %llu-%llu left; its memory is released\n",
                (unsigned long long)s->id.hi, (unsigned long long)s->id.lo);
    pthread_mutex_lock(&s->srv->mu);
    s->done = true;
    pthread_mutex_unlock(&s->srv->mu);
    return NULL;
}

static void reap(mc_rc_server_t *srv, bool all)
{
    pthread_mutex_lock(&srv->mu);
    mc_rc_session_t **pp = &srv->sessions;
    while (*pp) {
        mc_rc_session_t *s = *pp;
        if (all && !s->done)
            shutdown(s->fd, SHUT_RDWR); /* wakes its thread */
        if (s->done || all) {
            *pp = s->next;
            pthread_mutex_unlock(&srv->mu);
            pthread_join(s->thread, NULL);
            mc_rc_session_release(s);
            mc_free(s);
            pthread_mutex_lock(&srv->mu);
        } else {
            pp = &s->next;
        }
    }
    pthread_mutex_unlock(&srv->mu);
}

static void accept_dummy(mc_rc_server_t *srv)
{
    int fd = accept4(srv->tcp_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    /* a dummy that stops talking (stalled, or gone without a FIN) ends
     * its session when the receive timeout fires */
    int ttl = dummy_ttl_ms();
    struct timeval tv = {.tv_sec = ttl / 1000, .tv_usec = (ttl % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    mc_rc_session_t *s = mc_rc_session_new(srv, fd);
    pthread_mutex_lock(&srv->mu);
    s->id = (mc_uuid_t){srv->boot_id, ++srv->next_id};
    pthread_mutex_unlock(&srv->mu);
    if (pthread_create(&s->thread, NULL, session_main, s) != 0) {
        mc_rc_session_release(s);
        mc_free(s);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    s->next = srv->sessions;
    srv->sessions = s;
    pthread_mutex_unlock(&srv->mu);
}

/* SHM_REGISTER: one frame with the memfd attached, answered with a status. */
static void accept_registration(mc_rc_server_t *srv)
{
    int c = accept4(srv->ipc_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct timeval tv = {.tv_sec = IPC_IO_TIMEOUT_MS / 1000};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    mc_wbuf_t buf;
    mc_wbuf_init(&buf);
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    int fd = -1;
    mc_dummy_msg_t m;
    if (mc_rc_recv_fd(c, &buf, &hdr, &body, &fd) != MC_OK)
        goto out;
    int32_t st = MC_INVALID_PARAMS;
    if (hdr.type == MC_MSG_DUMMY_SHM_REGISTER && mc_dummy_msg_decode(hdr.type, &body, &m) == MC_OK) {
        pthread_mutex_lock(&srv->mu);
        mc_rc_session_t *s = srv->sessions;
        while (s && !(mc_uuid_eq(s->id, m.session) && !s->done))
            s = s->next;
        /* The session cannot be reaped meanwhile: only this thread reaps. */
        pthread_mutex_unlock(&srv->mu);
        if (s && fd >= 0) {
            st = mc_rc_session_add_region(s, m.base, m.size, m.is_local_buffer, fd);
            fd = -1;
        }
        mc_dummy_msg_free(&m);
    }
    reply_status(c, hdr.req_id, st);
out:
    if (fd >= 0)
        close(fd);
    mc_wbuf_free(&buf);
    close(c);
}

int mc_rc_serve(mc_rc_server_t *srv, const char *rpc_addr, uint16_t port)
{
    pthread_mutex_init(&srv->mu, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srv->boot_id = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    mc_rc_ipc_name(srv->ipc_name, sizeof srv->ipc_name, port);
    srv->tcp_fd = mc_rc_tcp_listen(rpc_addr);
    if (srv->tcp_fd < 0) {
        fprintf(stderr, "mooncake_client: cannot listen on %s: %s\n", rpc_addr, strerror(errno));
        return 1;
    }
    srv->ipc_fd = mc_rc_ipc_listen(srv->ipc_name);
    if (srv->ipc_fd < 0) {
        fprintf(stderr, "mooncake_client: cannot listen on @%s: %s\n", srv->ipc_name, strerror(errno));
        close(srv->tcp_fd);
        return 1;
    }
    fprintf(stderr, "mooncake_client: serving dummy clients on %s (shared memory via @%s)\n", rpc_addr,
            srv->ipc_name);
    for (;;) {
        struct pollfd p[3] = {
            {.fd = srv->tcp_fd, .events = POLLIN},
            {.fd = srv->ipc_fd, .events = POLLIN},
            {.fd = srv->stop_pipe[0], .events = POLLIN},
        };
        int n = poll(p, 3, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && p[2].revents)
            break;
        if (n > 0 && p[0].revents & POLLIN)
            accept_dummy(srv);
        if (n > 0 && p[1].revents & POLLIN)
            accept_registration(srv);
        reap(srv, false);
    }
    close(srv->tcp_fd);
    close(srv->ipc_fd);
    reap(srv, true);
    pthread_mutex_destroy(&srv->mu);
    return 0;
}
