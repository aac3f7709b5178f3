/* The shared-memory backend for same-host peers.
 *
 * Owner side: registered regions that lie inside an mc_xport_alloc_shared
 * mapping are published in a small "region table" (its own memfd, mapped
 * read-only by peers, updated under a seqlock). A listener thread on the
 * abstract UNIX socket "\0mcx@<host>:<data_port>" hands out the memfds
 * (id 0 = the table) with SCM_RIGHTS. Abstract sockets and memfds vanish
 * with the process, so a crash leaves nothing behind.
 *
 * Initiator side: the posting thread decides when the peer is already
 * mapped (not shared -> TCP at once; small ops copied right there); a
 * worker thread takes the rest, maps the peer's table
 * and allocations on first use (cached per peer), checks that the remote
 * range lies inside ONE region the peer registered (the same rule as the
 * TCP receiver) and memcpys. Anything it cannot serve (peer not reachable
 * over the UNIX socket, i.e. another host or network namespace; range not
 * in a shared region; owner gone or closing) is handed to the TCP backend,
 * which gives the authoritative answer (reject / transfer failure).
 * Owner liveness is checked before every op with a pidfd of the owner
 * (from SO_PEERCRED). Caveat: an unregister racing with a peer's memcpy
 * cannot stop that memcpy (there is no owner-side step on this path). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <signal.h>
#include <unistd.h>

#include "mc_xport_int.h"

#define SHM_TAB_CAP 4096
#define SHM_REQ_MAGIC 0x5358434Du /* "MCXS" */
#define SHM_MAX_PEERS 256
/* Pre-fault a peer's mapping at first contact up to this size (shmem
 * read faults allocate pages, so a 3 GiB store segment must not be
 * populated whole); larger ones fault page by page on first touch. */
#define SHM_POPULATE_MAX (256ull << 20)
/* Ops up to this size are copied on the posting thread when the peer is
 * already mapped (no worker hop); larger ones go to the worker so the
 * caller's (loop) thread is not held by a long copy. */
#define SHM_INLINE_MAX (64u << 10)

typedef struct shm_ent {
    uint64_t base, len, off;
    uint32_t id, key; /* key: the region's registration key */
} shm_ent_t;

typedef struct shm_tab {
    uint64_t seq;    /* odd while being written */
    uint32_t n;      /* entries in use */
    uint32_t closed; /* owner shutting down */
    uint64_t pad[6];
    shm_ent_t ent[SHM_TAB_CAP];
} shm_tab_t;

typedef struct shm_map {
    uint32_t id;
    uint8_t *p;
    uint64_t len;
} shm_map_t;

typedef struct shm_peer {
    char host[MC_XPORT_HOST_LEN];
    uint16_t port;
    bool unreachable;
    const shm_tab_t *tab;
    int pidfd;
    pid_t pid;
    _Atomic uint64_t alive_ns; /* last successful liveness check */
    shm_map_t *maps;
    size_t nmaps, cap;
} shm_peer_t;

typedef struct shm_qent {
    mc_xport_op_t *op;
    struct shm_qent *next;
} shm_qent_t;

typedef struct shm_be {
    mc_xport_t *x;
    /* owner side */
    int tab_fd;
    shm_tab_t *tab;
    int listen_fd;
    int stop_fd;
    char sock_name[108];
    /* initiator side */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    shm_qent_t *q, *q_tail;
    bool stopping;
    /* Peers: read-locked to look up, check, and copy (posting threads and
     * the worker); write-locked by the worker to open, map or reset. */
    pthread_rwlock_t peers_lk;
    shm_peer_t *peers[SHM_MAX_PEERS];
    size_t npeers;
} shm_be_t;

/* ------------------------------------------------------ region table --- */

static void shm_tab_begin(shm_tab_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void shm_tab_end(shm_tab_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE);
}

static void shm_mem_register(void *state, const mc_xport_region_t *r)
{
    shm_be_t *be = state;
    if (!r->shm_id)
        return;
    shm_tab_t *t = be->tab;
    if (t->n == SHM_TAB_CAP) {
        mc_xport_logf(be->x, MC_LOG_WARN, "shm region table full: region %p served over tcp only", (void *)r->base);
        return;
    }
    shm_tab_begin(t);
    shm_ent_t *e = &t->ent[t->n];
    __atomic_store_n(&e->base, (uint64_t)r->base, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, (uint64_t)r->len, __ATOMIC_RELAXED);
    __atomic_store_n(&e->off, r->shm_off, __ATOMIC_RELAXED);
    __atomic_store_n(&e->id, r->shm_id, __ATOMIC_RELAXED);
    __atomic_store_n(&e->key, r->key, __ATOMIC_RELAXED);
    __atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELAXED);
    shm_tab_end(t);
}

static void shm_mem_unregister(void *state, const mc_xport_region_t *r)
{
    shm_be_t *be = state;
    shm_tab_t *t = be->tab;
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->ent[i].base != r->base)
            continue;
        shm_tab_begin(t);
        shm_ent_t last = t->ent[t->n - 1];
        shm_ent_t *e = &t->ent[i];
        __atomic_store_n(&e->base, last.base, __ATOMIC_RELAXED);
        __atomic_store_n(&e->len, last.len, __ATOMIC_RELAXED);
        __atomic_store_n(&e->off, last.off, __ATOMIC_RELAXED);
        __atomic_store_n(&e->id, last.id, __ATOMIC_RELAXED);
        __atomic_store_n(&e->key, last.key, __ATOMIC_RELAXED);
        __atomic_store_n(&t->n, t->n - 1, __ATOMIC_RELAXED);
        shm_tab_end(t);
        return;
    }
}

/* Seqlock read: the entry holding [addr, addr+len), copied out. */
/* A region holding the range whose key is key (0: any). A stale key finds
 * nothing here: the TCP backend then gives the authoritative answer. */
static bool shm_tab_lookup(const shm_tab_t *t, uint64_t addr, uint64_t len, uint32_t key, shm_ent_t *out)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        bool found = false;
        uint32_t n = __atomic_load_n(&t->n, __ATOMIC_RELAXED);
        if (n > SHM_TAB_CAP)
            n = SHM_TAB_CAP;
        for (uint32_t i = 0; i < n && !found; i++) {
            shm_ent_t e;
            e.base = __atomic_load_n(&t->ent[i].base, __ATOMIC_RELAXED);
            e.len = __atomic_load_n(&t->ent[i].len, __ATOMIC_RELAXED);
            e.key = __atomic_load_n(&t->ent[i].key, __ATOMIC_RELAXED);
            if (!mc_xport_regions_key_ok(e.base, e.len, e.key, addr, len, key))
                continue;
            e.off = __atomic_load_n(&t->ent[i].off, __ATOMIC_RELAXED);
            e.id = __atomic_load_n(&t->ent[i].id, __ATOMIC_RELAXED);
            *out = e;
            found = true;
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            return found;
    }
    return false;
}

/* ----------------------------------------------------- owner listener --- */

static void shm_serve_conn(shm_be_t *be, int fd)
{
    struct timeval tv = {.tv_sec = 1};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        uint32_t rq[2];
        ssize_t r = recv(fd, rq, sizeof rq, MSG_WAITALL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof rq || rq[0] != SHM_REQ_MAGIC)
            return;
        uint64_t len = 0;
        int mfd;
        if (rq[1] == 0) {
            mfd = fcntl(be->tab_fd, F_DUPFD_CLOEXEC, 0);
            len = sizeof(shm_tab_t);
        } else {
            mfd = mc_xport_shared_dup_fd(be->x, rq[1], &len);
        }
        uint64_t rep[2] = {((uint64_t)(mfd >= 0 ? 0 : 1) << 32) | SHM_REQ_MAGIC, len};
        struct iovec iov = {.iov_base = rep, .iov_len = sizeof rep};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } cm;
        memset(&cm, 0, sizeof cm);
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (mfd >= 0) {
            mh.msg_control = cm.buf;
            mh.msg_controllen = sizeof cm.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &mfd, sizeof mfd);
        }
        ssize_t w;
        do
            w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (mfd >= 0)
            close(mfd);
        if (w != (ssize_t)sizeof rep)
            return;
    }
}

static void *shm_listener_main(void *arg)
{
    shm_be_t *be = arg;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = be->listen_fd, .events = POLLIN}, {.fd = be->stop_fd, .events = POLLIN}};
        int r = poll(pfd, 2, -1);
        if (r < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN)
            break;
        if (!(pfd[0].revents & POLLIN))
            continue;
        int fd = accept4(be->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        shm_serve_conn(be, fd);
        close(fd);
    }
    return NULL;
}

/* ------------------------------------------------- initiator: peers --- */

static int shm_sock_addr(const char *host, uint16_t port, struct sockaddr_un *sa, socklen_t *sl, char *name,
                         size_t nlen)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "mcx@%s:%u", host, (unsigned)port);
    if (n < 0 || (size_t)n >= sizeof sa->sun_path - 1)
        return -1;
    if (name)
        snprintf(name, nlen, "@%s", sa->sun_path + 1);
    *sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    return 0;
}

/* Ask the owner for memfd id; returns the fd (length in *len) or -1. */
static int shm_fetch_fd(int sock, uint32_t id, uint64_t *len)
{
    uint32_t rq[2] = {SHM_REQ_MAGIC, id};
    if (send(sock, rq, sizeof rq, MSG_NOSIGNAL) != (ssize_t)sizeof rq)
        return -1;
    uint64_t rep[2];
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof rep};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    ssize_t r;
    do
        r = recvmsg(sock, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    int fd = -1;
    struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (r != (ssize_t)sizeof rep || (uint32_t)rep[0] != SHM_REQ_MAGIC || (rep[0] >> 32) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *len = rep[1];
    return fd;
}

static int shm_connect(const shm_peer_t *p)
{
    struct sockaddr_un sa;
    socklen_t sl;
    if (shm_sock_addr(p->host, p->port, &sa, &sl, NULL, 0) != 0)
        return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct timeval tv = {.tv_sec = 2};
    (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&sa, sl) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static void shm_peer_reset(shm_peer_t *p)
{
    if (p->tab)
        munmap((void *)p->tab, sizeof(shm_tab_t));
    p->tab = NULL;
    atomic_store_explicit(&p->alive_ns, 0, memory_order_relaxed);
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
    for (size_t i = 0; i < p->nmaps; i++)
        munmap(p->maps[i].p, p->maps[i].len);
    p->nmaps = 0;
}

/* Map the peer's region table (first use, or after a reset). */
static int shm_peer_open(shm_peer_t *p)
{
    int s = shm_connect(p);
    if (s < 0)
        return -1;
    struct ucred cr;
    socklen_t cl = sizeof cr;
    int ret = -1;
    if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0)
        goto out;
    uint64_t len = 0;
    int fd = shm_fetch_fd(s, 0, &len);
    if (fd < 0 || len != sizeof(shm_tab_t) || !mc_xport_fd_holds(fd, len)) {
        if (fd >= 0)
            close(fd);
        goto out;
    }
    void *m = mmap(NULL, sizeof(shm_tab_t), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        goto out;
    p->tab = m;
    p->pid = cr.pid;
    p->pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
    ret = 0;
out:
    close(s);
    return ret;
}

static bool shm_peer_alive(const shm_peer_t *p)
{
    if (__atomic_load_n(&p->tab->closed, __ATOMIC_ACQUIRE))
        return false;
    if (p->pidfd >= 0) {
        struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
        return poll(&pfd, 1, 0) == 0; /* readable = exited */
    }
    return kill(p->pid, 0) == 0 || errno == EPERM;
}

static uint8_t *shm_peer_map(shm_peer_t *p, uint32_t id, uint64_t *len)
{
    for (size_t i = 0; i < p->nmaps; i++)
        if (p->maps[i].id == id) {
            *len = p->maps[i].len;
            return p->maps[i].p;
        }
    if (p->nmaps == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        shm_map_t *v = realloc(p->maps, cap * sizeof *v);
        if (!v)
            return NULL;
        p->maps = v;
        p->cap = cap;
    }
    int s = shm_connect(p);
    if (s < 0)
        return NULL;
    uint64_t mlen = 0;
    int fd = shm_fetch_fd(s, id, &mlen);
    close(s);
    if (fd < 0)
        return NULL;
    if (!mc_xport_fd_holds(fd, mlen)) { /* not sealed, or shorter than stated: a SIGBUS waiting to happen */
        close(fd);
        return NULL;
    }
    /* Pre-fault moderate mappings now: page faults on first touch cost far
     * more than the copy in a VM, and first contact is off the hot path. */
    int flags = MAP_SHARED | (mlen <= SHM_POPULATE_MAX ? MAP_POPULATE : 0);
    void *m = mmap(NULL, mlen, PROT_READ | PROT_WRITE, flags, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return NULL;
    p->maps[p->nmaps].id = id;
    p->maps[p->nmaps].p = m;
    p->maps[p->nmaps].len = mlen;
    p->nmaps++;
    *len = mlen;
    return m;
}

static shm_peer_t *shm_peer_find(shm_be_t *be, const mc_xport_endpoint_t *ep)
{
    for (size_t i = 0; i < be->npeers; i++)
        if (be->peers[i]->port == ep->data_port && strcmp(be->peers[i]->host, ep->host) == 0)
            return be->peers[i];
    return NULL;
}

static shm_peer_t *shm_peer_get(shm_be_t *be, const mc_xport_endpoint_t *ep)
{
    shm_peer_t *p = shm_peer_find(be, ep);
    if (p || be->npeers == SHM_MAX_PEERS)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->host, sizeof p->host, "%s", ep->host);
    p->port = ep->data_port;
    p->pidfd = -1;
    be->peers[be->npeers++] = p;
    return p;
}

/* An allocation of the peer already mapped (no fetch), or NULL. */
static uint8_t *shm_peer_mapped(const shm_peer_t *p, uint32_t id, uint64_t *len)
{
    for (size_t i = 0; i < p->nmaps; i++)
        if (p->maps[i].id == id) {
            *len = p->maps[i].len;
            return p->maps[i].p;
        }
    return NULL;
}

/* Liveness costs a system call: checked at most every 100 us (a burst of
 * small ops shares one check). Safe under the read lock. */
static bool shm_peer_alive_recent(shm_peer_t *p)
{
    uint64_t now = mc_xport_now_ns();
    if (now - atomic_load_explicit(&p->alive_ns, memory_order_relaxed) <= 100000)
        return true;
    if (!shm_peer_alive(p))
        return false;
    atomic_store_explicit(&p->alive_ns, now, memory_order_relaxed);
    return true;
}

static void shm_copy(mc_xport_op_t *op, uint8_t *m, uint64_t pos)
{
    if (op->opcode == MC_XFER_WRITE)
        memcpy(m + pos, op->local, op->len);
    else
        memcpy(op->local, m + pos, op->len);
}

typedef enum {
    SHM_DONE, /* copied */
    SHM_TCP,  /* not for shm: hand it to tcp */
    SHM_SLOW  /* needs the worker (first contact, a mapping to fetch, owner gone, or a copy to do) */
} shm_verdict_t;

/* With the peers read-locked: the op's fate from what is already mapped.
 * copy=false only decides (a SHM_DONE op becomes SHM_SLOW). */
static shm_verdict_t shm_try_mapped(shm_be_t *be, mc_xport_op_t *op, bool copy)
{
    shm_peer_t *p = shm_peer_find(be, &op->ep);
    if (!p)
        return SHM_SLOW;
    if (p->unreachable)
        return SHM_TCP; /* another host/namespace, or no shm there */
    if (!p->tab || !shm_peer_alive_recent(p))
        return SHM_SLOW; /* the worker opens, or resets a dead owner */
    /* A stale key finds nothing: tcp gives the authoritative answer. */
    shm_ent_t e = {0};
    if (!shm_tab_lookup(p->tab, op->remote, op->len, op->remote_key, &e))
        return SHM_TCP;
    uint64_t mlen;
    uint8_t *m = shm_peer_mapped(p, e.id, &mlen);
    if (!m)
        return SHM_SLOW;
    uint64_t pos = e.off + (op->remote - e.base);
    if (e.off > mlen || !mc_xport_range_inside(0, mlen, pos, op->len))
        return SHM_TCP;
    if (!copy)
        return SHM_SLOW;
    shm_copy(op, m, pos);
    return SHM_DONE;
}

/* shm_try_mapped under the read lock, if it can be had without waiting
 * (the worker may hold it while opening a peer): SHM_SLOW otherwise. */
static shm_verdict_t shm_try_mapped_nowait(shm_be_t *be, mc_xport_op_t *op, bool copy)
{
    if (pthread_rwlock_tryrdlock(&be->peers_lk) != 0)
        return SHM_SLOW;
    shm_verdict_t v = shm_try_mapped(be, op, copy);
    pthread_rwlock_unlock(&be->peers_lk);
    return v;
}

/* With the peers write-locked (worker): open, check, map, copy. */
static shm_verdict_t shm_try(shm_be_t *be, mc_xport_op_t *op)
{
    shm_peer_t *p = shm_peer_get(be, &op->ep);
    if (!p || p->unreachable)
        return SHM_TCP;
    if (!p->tab && shm_peer_open(p) != 0) {
        p->unreachable = true; /* another host/namespace, or no shm there */
        return SHM_TCP;
    }
    if (!shm_peer_alive_recent(p)) {
        shm_peer_reset(p); /* a new owner on that endpoint reopens */
        return SHM_TCP;
    }
    shm_ent_t e = {0};
    if (!shm_tab_lookup(p->tab, op->remote, op->len, op->remote_key, &e))
        return SHM_TCP;
    uint64_t mlen;
    uint8_t *m = shm_peer_map(p, e.id, &mlen);
    uint64_t pos = e.off + (op->remote - e.base);
    if (!m || e.off > mlen || !mc_xport_range_inside(0, mlen, pos, op->len))
        return SHM_TCP;
    shm_copy(op, m, pos);
    return SHM_DONE;
}

static void shm_finish(shm_be_t *be, mc_xport_op_t *op, shm_verdict_t v)
{
    assert(v != SHM_SLOW);
    if (v == SHM_TCP) {
        mc_xport_post_tcp(be->x, op);
        return;
    }
    atomic_fetch_add(&be->x->st_ops[MC_XPORT_BE_SHM], 1);
    atomic_fetch_add(&be->x->st_bytes[MC_XPORT_BE_SHM], op->len);
    atomic_store(&op->remaining, 1);
    mc_xport_op_part_done(op, MC_OK);
}

static void *shm_worker_main(void *arg)
{
    shm_be_t *be = arg;
    for (;;) {
        pthread_mutex_lock(&be->mu);
        while (!be->q && !be->stopping)
            pthread_cond_wait(&be->cv, &be->mu);
        if (be->stopping) {
            pthread_mutex_unlock(&be->mu);
            break;
        }
        shm_qent_t *batch = be->q; /* take the whole queue */
        be->q = be->q_tail = NULL;
        pthread_mutex_unlock(&be->mu);
        mc_xport_tcp_plug(); /* ops falling back to TCP: one wake-up per connection */
        while (batch) {
            shm_qent_t *qe = batch;
            batch = qe->next;
            mc_xport_op_t *op = qe->op;
            free(qe);
            pthread_rwlock_rdlock(&be->peers_lk);
            shm_verdict_t v = shm_try_mapped(be, op, true);
            pthread_rwlock_unlock(&be->peers_lk);
            if (v == SHM_SLOW) {
                pthread_rwlock_wrlock(&be->peers_lk);
                v = shm_try(be, op);
                pthread_rwlock_unlock(&be->peers_lk);
            }
            shm_finish(be, op, v);
        }
        mc_xport_tcp_unplug();
    }
    return NULL;
}

/* Decide on the posting thread when the peer is already mapped: ops that
 * are not for a shared region go straight to tcp and small ones are copied
 * here, so the common case never wakes the worker. Only first contact,
 * liveness failures, new mappings and large copies take the worker. The
 * try-lock keeps the caller from waiting behind the worker's open. */
static void shm_post(void *state, mc_xport_op_t *op)
{
    shm_be_t *be = state;
    shm_verdict_t v = shm_try_mapped_nowait(be, op, op->len <= SHM_INLINE_MAX);
    if (v != SHM_SLOW) {
        shm_finish(be, op, v);
        return;
    }
    shm_qent_t *qe = malloc(sizeof *qe);
    if (!qe) {
        mc_xport_post_tcp(be->x, op);
        return;
    }
    qe->op = op;
    qe->next = NULL;
    pthread_mutex_lock(&be->mu);
    if (be->q_tail)
        be->q_tail->next = qe;
    else
        be->q = qe;
    be->q_tail = qe;
    pthread_cond_signal(&be->cv);
    pthread_mutex_unlock(&be->mu);
}

/* The caller's thread, any size: it waits for the bytes anyway. */
static bool shm_copy_now(void *state, mc_xport_op_t *op)
{
    shm_be_t *be = state;
    if (shm_try_mapped_nowait(be, op, true) != SHM_DONE)
        return false; /* not mapped yet, not for shm, or the worker holds the lock: post it */
    atomic_fetch_add(&be->x->st_ops[MC_XPORT_BE_SHM], 1);
    atomic_fetch_add(&be->x->st_bytes[MC_XPORT_BE_SHM], op->len);
    return true;
}

/* --------------------------------------------------------- lifecycle --- */

static int shm_create(mc_xport_t *x, void **state)
{
    shm_be_t *be = calloc(1, sizeof *be);
    if (!be)
        return -1;
    be->x = x;
    be->listen_fd = be->stop_fd = -1;
    pthread_mutex_init(&be->mu, NULL);
    pthread_cond_init(&be->cv, NULL);
    pthread_rwlock_init(&be->peers_lk, NULL);
    be->tab_fd = mc_xport_memfd_sealed("mc-xport-regtab", sizeof(shm_tab_t));
    if (be->tab_fd < 0)
        goto fail;
    void *m = mmap(NULL, sizeof(shm_tab_t), PROT_READ | PROT_WRITE, MAP_SHARED, be->tab_fd, 0);
    if (m == MAP_FAILED)
        goto fail;
    be->tab = m;
    be->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (be->stop_fd < 0)
        goto fail;
    struct sockaddr_un sa;
    socklen_t sl;
    if (shm_sock_addr(x->host, mc_xport_data_port(x), &sa, &sl, be->sock_name, sizeof be->sock_name) != 0)
        goto fail;
    be->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (be->listen_fd < 0 || bind(be->listen_fd, (struct sockaddr *)&sa, sl) != 0 || listen(be->listen_fd, 64) != 0) {
        mc_xport_logf(x, MC_LOG_WARN, "shm socket %s: %s (shm disabled)", be->sock_name, strerror(errno));
        goto fail;
    }
    *state = be;
    if (mc_xport_thread_start(x, shm_listener_main, be) != 0)
        return -1;
    if (mc_xport_thread_start(x, shm_worker_main, be) != 0)
        return -1;
    return 0;
fail:
    if (be->listen_fd >= 0)
        close(be->listen_fd);
    if (be->stop_fd >= 0)
        close(be->stop_fd);
    if (be->tab)
        munmap(be->tab, sizeof(shm_tab_t));
    if (be->tab_fd >= 0)
        close(be->tab_fd);
    pthread_rwlock_destroy(&be->peers_lk);
    pthread_cond_destroy(&be->cv);
    pthread_mutex_destroy(&be->mu);
    free(be);
    return -1;
}

static void shm_stop(void *state)
{
    shm_be_t *be = state;
    __atomic_store_n(&be->tab->closed, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(be->stop_fd, &one, sizeof one) < 0) {
        /* cannot fail for an eventfd at 0 */
    }
    pthread_mutex_lock(&be->mu);
    be->stopping = true;
    pthread_cond_broadcast(&be->cv);
    pthread_mutex_unlock(&be->mu);
}

static void shm_destroy(void *state)
{
    shm_be_t *be = state;
    while (be->q) { /* ops never started: dropped (the xport is closing) */
        shm_qent_t *qe = be->q;
        be->q = qe->next;
        free(qe->op);
        free(qe);
    }
    for (size_t i = 0; i < be->npeers; i++) {
        shm_peer_reset(be->peers[i]);
        free(be->peers[i]->maps);
        free(be->peers[i]);
    }
    close(be->listen_fd);
    close(be->stop_fd);
    munmap(be->tab, sizeof(shm_tab_t));
    close(be->tab_fd);
    pthread_rwlock_destroy(&be->peers_lk);
    pthread_cond_destroy(&be->cv);
    pthread_mutex_destroy(&be->mu);
    free(be);
}

const mc_xport_backend_ops_t mc_xport_shm_ops = {
    .name = "shm",
    .create = shm_create,
    .stop = shm_stop,
    .destroy = shm_destroy,
    .mem_register = shm_mem_register,
    .mem_unregister = shm_mem_unregister,
    .post = shm_post,
    .copy_now = shm_copy_now,
};
