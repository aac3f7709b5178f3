/* The verbs (RDMA) backend: RC QPs per (peer, local device), handshake and
 * rkey lookups over a TCP control connection, RDMA WRITE/READ slices, one
 * worker thread per QP polling its CQ. See mc_xport_verbs.h. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mc_xport_io.h"
#include "mc_xport_verbs_int.h"
#include "mc_xport_verbs_proto.h"

#define VB_MAX_INFLIGHT 32 /* posted WRs per QP */
#define VB_RCACHE 16       /* cached remote regions per QP */
#define VB_CQE 256

typedef struct vmr {
    struct vmr *next;
    uintptr_t base;
    uint64_t len;
    uint32_t key; /* the region's registration key */
    struct ibv_mr *mr[MC_VERBS_MAX_DEV];
} vmr_t;

typedef struct vslice {
    struct vslice *next, *prev;
    mc_xport_op_t *op;
    uint64_t off, len;
    uint64_t t_post;
} vslice_t;

typedef struct vrc {
    uint64_t addr, len;
    uint32_t rkey;
    uint32_t key; /* registration key the lookup was made with */
} vrc_t;

typedef struct vbe vbe_t;

/* Initiator side: one QP to (peer host, rdma port) from local device dev. */
typedef struct vconn {
    struct vconn *next;
    vbe_t *b;
    char host[MC_XPORT_HOST_LEN];
    uint16_t port;
    int dev;
    int wake_fd;
    pthread_mutex_t mu; /* queue, flags, sock and qp fields */
    vslice_t *q_head, *q_tail;
    bool want_break, want_down;
    int sock;
    struct ibv_qp *qp;
    /* worker thread only */
    struct ibv_comp_channel *ch;
    struct ibv_cq *cq;
    vslice_t *p_head, *p_tail; /* taken from the queue, not yet posted */
    vslice_t infl;             /* sentinel: posted, not completed */
    unsigned n_infl;
    mc_status_t broken; /* MC_OK = healthy */
    vrc_t rc[VB_RCACHE];
    unsigned rc_n, rc_next;
} vconn_t;

/* Responder side: one accepted control connection (and its QP). */
typedef struct vsrv {
    struct vsrv *next, *prev;
    vbe_t *b;
    int sock;
    struct ibv_qp *qp; /* under b->mu (test hook) */
} vsrv_t;

struct vbe {
    mc_xport_t *x;
    mc_vdev_t dev[MC_VERBS_MAX_DEV];
    int ndev;
    int lfd, stop_fd;
    uint16_t port;
    atomic_bool stopping;
    pthread_mutex_t mu; /* conns, srv */
    vconn_t *conns;
    vsrv_t srv; /* sentinel */
    pthread_rwlock_t mr_mu;
    vmr_t *mrs;
    unsigned rr; /* loop thread: first QP for the next op */
};

void mc_xport_verbs_counts(mc_xport_verbs_counts_t *out)
{
    out->qps = atomic_load(&mc_verbs_live_qps);
    out->cqs = atomic_load(&mc_verbs_live_cqs);
    out->mrs = atomic_load(&mc_verbs_live_mrs);
    out->pds = atomic_load(&mc_verbs_live_pds);
    out->ctrl_conns = atomic_load(&mc_verbs_live_ctrl);
    out->wrs = atomic_load(&mc_verbs_live_wrs);
}

static uint32_t vb_psn(void)
{
    uint32_t r = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &r, sizeof r) != (ssize_t)sizeof r)
            r = 0;
        close(fd);
    }
    if (!r)
        r = (uint32_t)mc_xport_now_ns() ^ (uint32_t)getpid() * 2654435761u;
    return r & 0xffffff;
}

static void vb_set_rcvtimeo(int fd, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static int vb_send(int fd, const mc_xport_vmsg_t *m)
{
    uint8_t buf[MC_XPORT_VMSG_LEN];
    mc_xport_vmsg_encode(m, buf);
    return mc_xport_io_write(fd, buf, sizeof buf) == MC_XPORT_IO_OK ? 0 : -1;
}

/* 0, 1 on orderly EOF, -1 on error or a malformed message. */
static int vb_recv(int fd, mc_xport_vmsg_t *m, const char **why)
{
    uint8_t buf[MC_XPORT_VMSG_LEN];
    int r = mc_xport_io_read(fd, buf, sizeof buf);
    if (r == MC_XPORT_IO_EOF)
        return 1;
    if (r != MC_XPORT_IO_OK) {
        *why = "read failed";
        return -1;
    }
    return mc_xport_vmsg_decode(buf, sizeof buf, m, why) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ QP setup --- */

static struct ibv_qp *vb_qp_create(mc_vdev_t *d, struct ibv_cq *cq)
{
    struct ibv_qp_init_attr ia;
    memset(&ia, 0, sizeof ia);
    ia.send_cq = cq;
    ia.recv_cq = cq;
    ia.qp_type = IBV_QPT_RC;
    ia.cap.max_send_wr = d->max_qp_wr < 2 * VB_MAX_INFLIGHT ? d->max_qp_wr : 2 * VB_MAX_INFLIGHT;
    ia.cap.max_recv_wr = 1;
    ia.cap.max_send_sge = 1;
    ia.cap.max_recv_sge = 1;
    struct ibv_qp *qp = ibv_create_qp(d->pd, &ia);
    if (!qp)
        return NULL;
    atomic_fetch_add(&mc_verbs_live_qps, 1);
    struct ibv_qp_attr a;
    memset(&a, 0, sizeof a);
    a.qp_state = IBV_QPS_INIT;
    a.pkey_index = 0;
    a.port_num = d->port;
    a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS) != 0) {
        ibv_destroy_qp(qp);
        atomic_fetch_sub(&mc_verbs_live_qps, 1);
        return NULL;
    }
    return qp;
}

static void vb_qp_destroy(struct ibv_qp *qp)
{
    if (qp) {
        ibv_destroy_qp(qp);
        atomic_fetch_sub(&mc_verbs_live_qps, 1);
    }
}

static struct ibv_cq *vb_cq_create(mc_vdev_t *d, int n, struct ibv_comp_channel *ch)
{
    struct ibv_cq *cq = ibv_create_cq(d->ctx, n, NULL, ch, 0);
    if (cq)
        atomic_fetch_add(&mc_verbs_live_cqs, 1);
    return cq;
}

static void vb_cq_destroy(struct ibv_cq *cq)
{
    if (cq) {
        ibv_destroy_cq(cq);
        atomic_fetch_sub(&mc_verbs_live_cqs, 1);
    }
}

/* INIT -> RTR -> RTS against the peer's QP described by m; my_psn is our
 * send PSN (the peer's receive PSN). */
static int vb_qp_connect(mc_vdev_t *d, struct ibv_qp *qp, const mc_xport_vmsg_t *m, uint32_t my_psn)
{
    struct ibv_qp_attr a;
    memset(&a, 0, sizeof a);
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = (enum ibv_mtu)(m->mtu < d->mtu ? m->mtu : d->mtu); /* min of both ports */
    a.dest_qp_num = m->qpn;
    a.rq_psn = m->psn;
    a.max_dest_rd_atomic = d->max_rd_atom;
    a.min_rnr_timer = 12;
    a.ah_attr.port_num = d->port;
    a.ah_attr.dlid = m->lid;
    static const uint8_t zero[16];
    if (d->link_layer == IBV_LINK_LAYER_ETHERNET || memcmp(m->gid, zero, 16) != 0) {
        a.ah_attr.is_global = 1;
        memcpy(a.ah_attr.grh.dgid.raw, m->gid, 16);
        a.ah_attr.grh.sgid_index = (uint8_t)d->gid_index;
        a.ah_attr.grh.hop_limit = 16;
    }
    if (ibv_modify_qp(qp, &a,
                      IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                          IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER) != 0)
        return -1;
    const char *t = getenv("MC_IB_TIMEOUT");
    int tmo = t && *t ? atoi(t) : 14; /* 4.096 us * 2^14 ~ 67 ms per try, as upstream */
    memset(&a, 0, sizeof a);
    a.qp_state = IBV_QPS_RTS;
    a.timeout = (uint8_t)(tmo < 1 || tmo > 31 ? 14 : tmo);
    a.retry_cnt = 7;
    a.rnr_retry = 7;
    a.sq_psn = my_psn;
    a.max_rd_atomic = d->max_rd_atom;
    return ibv_modify_qp(qp, &a,
                         IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                             IBV_QP_MAX_QP_RD_ATOMIC);
}

static void vb_qp_describe(const mc_vdev_t *d, int dev, struct ibv_qp *qp, uint32_t psn, mc_xport_vmsg_t *m)
{
    m->dev = (uint16_t)dev;
    m->qpn = qp->qp_num;
    m->psn = psn;
    m->mtu = d->mtu;
    m->port = d->port;
    m->lid = d->lid;
    memcpy(m->gid, d->gid.raw, 16);
}

/* ------------------------------------------------------------- regions --- */

/* lkey/rkey of the region wholly holding [addr, addr+len) on dev; *base
 * and *blen describe the region. false if none. */
static bool vb_mr_find(vbe_t *b, int dev, uint64_t addr, uint64_t len, uint32_t *lkey, uint32_t *rkey,
                       uint64_t *base, uint64_t *blen)
{
    bool ok = false;
    pthread_rwlock_rdlock(&b->mr_mu);
    for (vmr_t *m = b->mrs; m; m = m->next) {
        if (!mc_xport_range_inside(m->base, m->len, addr, len))
            continue;
        if (m->mr[dev]) {
            *lkey = m->mr[dev]->lkey;
            *rkey = m->mr[dev]->rkey;
            *base = m->base;
            *blen = m->len;
            ok = true;
        }
        break;
    }
    pthread_rwlock_unlock(&b->mr_mu);
    return ok;
}

/* Responder side of RKEY_REQ: the region with registration key key (0:
 * the one holding the range), as mc_xport_regions_pin_key decides. */
static uint32_t vb_mr_find_key(vbe_t *b, int dev, uint64_t addr, uint64_t len, uint32_t key, uint32_t *rkey,
                               uint64_t *base, uint64_t *blen)
{
    uint32_t code = key ? MC_XPORT_VCODE_BAD_KEY : MC_XPORT_VCODE_REJECTED;
    pthread_rwlock_rdlock(&b->mr_mu);
    for (vmr_t *m = b->mrs; m; m = m->next) {
        if (key ? m->key != key : !mc_xport_range_inside(m->base, m->len, addr, len))
            continue;
        code = MC_XPORT_VCODE_REJECTED; /* not inside ONE registered region, or no MR on dev */
        if (mc_xport_range_inside(m->base, m->len, addr, len) && m->mr[dev]) {
            *rkey = m->mr[dev]->rkey;
            *base = m->base;
            *blen = m->len;
            code = MC_XPORT_VCODE_OK;
        }
        break;
    }
    pthread_rwlock_unlock(&b->mr_mu);
    return code;
}

static void vb_mem_register(void *state, const mc_xport_region_t *r)
{
    vbe_t *b = state;
    vmr_t *m = calloc(1, sizeof *m);
    if (!m) {
        mc_xport_logf(b->x, MC_LOG_ERROR, "rdma: out of memory registering a region");
        return;
    }
    m->base = r->base;
    m->len = r->len;
    m->key = r->key;
    for (int i = 0; i < b->ndev; i++) {
        m->mr[i] = ibv_reg_mr(b->dev[i].pd, (void *)r->base, r->len,
                              IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
        if (m->mr[i])
            atomic_fetch_add(&mc_verbs_live_mrs, 1);
        else
            mc_xport_logf(b->x, MC_LOG_ERROR, "rdma: ibv_reg_mr(%s, %zu bytes): %s (ops on it will fail)",
                          b->dev[i].name, r->len, strerror(errno));
    }
    pthread_rwlock_wrlock(&b->mr_mu);
    m->next = b->mrs;
    b->mrs = m;
    pthread_rwlock_unlock(&b->mr_mu);
}

static void vb_mr_free(vbe_t *b, vmr_t *m)
{
    for (int i = 0; i < b->ndev; i++)
        if (m->mr[i]) {
            ibv_dereg_mr(m->mr[i]);
            atomic_fetch_sub(&mc_verbs_live_mrs, 1);
        }
    free(m);
}

static void vb_mem_unregister(void *state, const mc_xport_region_t *r)
{
    vbe_t *b = state;
    vmr_t *found = NULL;
    pthread_rwlock_wrlock(&b->mr_mu);
    for (vmr_t **pp = &b->mrs; *pp; pp = &(*pp)->next)
        if ((*pp)->base == r->base) {
            found = *pp;
            *pp = found->next;
            break;
        }
    pthread_rwlock_unlock(&b->mr_mu);
    if (found)
        vb_mr_free(b, found);
}

/* ------------------------------------------------------------ responder --- */

static void vb_srv_serve(vsrv_t *s)
{
    vbe_t *b = s->b;
    mc_xport_vmsg_t m, r;
    const char *why = "";
    struct ibv_cq *cq = NULL;
    struct ibv_qp *qp = NULL;
    vb_set_rcvtimeo(s->sock, b->x->o.timeout_ms);
    if (vb_recv(s->sock, &m, &why) != 0 || m.type != MC_XPORT_VMSG_HELLO) {
        mc_xport_logf(b->x, MC_LOG_DEBUG, "rdma: bad handshake (%s)", why);
        return;
    }
    int dev = m.dev % b->ndev;
    mc_vdev_t *d = &b->dev[dev];
    uint32_t psn = vb_psn();
    memset(&r, 0, sizeof r);
    r.type = MC_XPORT_VMSG_HELLO_ACK;
    cq = vb_cq_create(d, 4, NULL);
    qp = cq ? vb_qp_create(d, cq) : NULL;
    if (!qp || vb_qp_connect(d, qp, &m, psn) != 0) {
        mc_xport_logf(b->x, MC_LOG_WARN, "rdma: cannot set up a responder QP on %s: %s", d->name, strerror(errno));
        r.code = MC_XPORT_VCODE_ERROR;
        vb_send(s->sock, &r);
        goto out;
    }
    vb_qp_describe(d, dev, qp, psn, &r);
    if (vb_send(s->sock, &r) != 0)
        goto out;
    pthread_mutex_lock(&b->mu);
    s->qp = qp;
    pthread_mutex_unlock(&b->mu);
    vb_set_rcvtimeo(s->sock, 0); /* idle connections live as long as the QP */
    for (;;) {
        int rc = vb_recv(s->sock, &m, &why);
        if (rc != 0) {
            if (rc < 0 && !atomic_load(&b->stopping))
                mc_xport_logf(b->x, MC_LOG_DEBUG, "rdma: control connection: %s", why);
            break;
        }
        if (m.type != MC_XPORT_VMSG_RKEY_REQ) {
            mc_xport_logf(b->x, MC_LOG_WARN, "rdma: unexpected control message type %u", m.type);
            break;
        }
        memset(&r, 0, sizeof r);
        r.type = MC_XPORT_VMSG_RKEY_REP;
        r.code = vb_mr_find_key(b, dev, m.addr, m.len, m.key, &r.rkey, &r.addr, &r.len);
        r.key = r.code == MC_XPORT_VCODE_OK ? m.key : 0;
        if (vb_send(s->sock, &r) != 0)
            break;
    }
out:
    pthread_mutex_lock(&b->mu);
    s->qp = NULL;
    pthread_mutex_unlock(&b->mu);
    vb_qp_destroy(qp);
    vb_cq_destroy(cq);
}

static void *vb_srv_main(void *arg)
{
    vsrv_t *s = arg;
    vbe_t *b = s->b;
    vb_srv_serve(s);
    pthread_mutex_lock(&b->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    close(s->sock);
    pthread_mutex_unlock(&b->mu);
    atomic_fetch_sub(&mc_verbs_live_ctrl, 1);
    free(s);
    return NULL;
}

static void *vb_listen_main(void *arg)
{
    vbe_t *b = arg;
    while (!atomic_load(&b->stopping)) {
        struct pollfd p[2] = {{.fd = b->lfd, .events = POLLIN}, {.fd = b->stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (atomic_load(&b->stopping) || p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        mc_xport_io_tune(fd);
        vsrv_t *s = calloc(1, sizeof *s);
        if (!s) {
            close(fd);
            continue;
        }
        s->b = b;
        s->sock = fd;
        atomic_fetch_add(&mc_verbs_live_ctrl, 1);
        pthread_mutex_lock(&b->mu);
        s->next = b->srv.next;
        s->prev = &b->srv;
        b->srv.next->prev = s;
        b->srv.next = s;
        pthread_mutex_unlock(&b->mu);
        if (mc_xport_thread_start(b->x, vb_srv_main, s) != 0) {
            pthread_mutex_lock(&b->mu);
            s->prev->next = s->next;
            s->next->prev = s->prev;
            pthread_mutex_unlock(&b->mu);
            close(fd);
            atomic_fetch_sub(&mc_verbs_live_ctrl, 1);
            free(s);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ initiator --- */

static void vb_infl_add(vconn_t *c, vslice_t *s)
{
    s->next = c->infl.next;
    s->prev = &c->infl;
    c->infl.next->prev = s;
    c->infl.next = s;
    c->n_infl++;
    atomic_fetch_add(&mc_verbs_live_wrs, 1);
}

static void vb_infl_del(vconn_t *c, vslice_t *s)
{
    s->prev->next = s->next;
    s->next->prev = s->prev;
    c->n_infl--;
    atomic_fetch_sub(&mc_verbs_live_wrs, 1);
}

/* Fail every pending and in-flight slice of c with st. */
static void vb_fail_all(vconn_t *c, mc_status_t st)
{
    while (c->infl.next != &c->infl) {
        vslice_t *s = c->infl.next;
        vb_infl_del(c, s);
        mc_xport_op_part_done(s->op, st);
    }
    while (c->p_head) {
        vslice_t *s = c->p_head;
        c->p_head = s->next;
        mc_xport_op_part_done(s->op, st);
    }
    c->p_tail = NULL;
}

/* Destroy the QP and its CQ, close the control connection (the peer then
 * destroys its side). In-flight slices fail with c->broken (or
 * MC_TRANSFER_FAIL). */
static void vb_teardown(vconn_t *c)
{
    mc_status_t st = c->broken != MC_OK ? c->broken : MC_TRANSFER_FAIL;
    while (c->infl.next != &c->infl) {
        vslice_t *s = c->infl.next;
        vb_infl_del(c, s);
        mc_xport_op_part_done(s->op, st);
    }
    pthread_mutex_lock(&c->mu);
    struct ibv_qp *qp = c->qp;
    int sock = c->sock;
    c->qp = NULL;
    c->sock = -1;
    pthread_mutex_unlock(&c->mu);
    vb_qp_destroy(qp);
    vb_cq_destroy(c->cq);
    c->cq = NULL;
    if (c->ch)
        ibv_destroy_comp_channel(c->ch);
    c->ch = NULL;
    if (sock >= 0) {
        close(sock);
        atomic_fetch_sub(&mc_verbs_live_ctrl, 1);
    }
    c->rc_n = c->rc_next = 0;
    c->broken = MC_OK;
}

/* Mark the QP broken: it goes to the error state (flushing its WRs) and is
 * rebuilt for the next slice. */
static void vb_break(vconn_t *c, mc_status_t st, const char *why)
{
    if (c->broken == MC_OK) {
        c->broken = st;
        mc_xport_logf(c->b->x, MC_LOG_WARN, "rdma: QP to %s:%u on %s failed: %s; reconnecting on next use", c->host,
                      c->port, c->b->dev[c->dev].name, why);
    }
}

static int vb_connect(vconn_t *c)
{
    vbe_t *b = c->b;
    mc_vdev_t *d = &b->dev[c->dev];
    const char *why = "";
    int sock = mc_xport_io_connect(c->host, c->port, (int)b->x->o.timeout_ms, b->stop_fd);
    if (sock < 0) {
        mc_xport_logf(b->x, MC_LOG_WARN, "rdma: connect to %s:%u: %s", c->host, c->port, strerror(errno));
        return -1;
    }
    atomic_fetch_add(&mc_verbs_live_ctrl, 1);
    vb_set_rcvtimeo(sock, b->x->o.timeout_ms);
    pthread_mutex_lock(&c->mu);
    c->sock = sock;
    pthread_mutex_unlock(&c->mu);
    c->ch = ibv_create_comp_channel(d->ctx);
    if (!c->ch) {
        why = "ibv_create_comp_channel";
        goto fail;
    }
    int fl = fcntl(c->ch->fd, F_GETFL);
    fcntl(c->ch->fd, F_SETFL, fl | O_NONBLOCK);
    c->cq = vb_cq_create(d, VB_CQE, c->ch);
    struct ibv_qp *qp = c->cq ? vb_qp_create(d, c->cq) : NULL;
    if (!qp) {
        why = "cannot create CQ/QP";
        goto fail;
    }
    pthread_mutex_lock(&c->mu);
    c->qp = qp;
    pthread_mutex_unlock(&c->mu);
    uint32_t psn = vb_psn();
    mc_xport_vmsg_t m, r;
    memset(&m, 0, sizeof m);
    m.type = MC_XPORT_VMSG_HELLO;
    vb_qp_describe(d, c->dev, qp, psn, &m);
    if (vb_send(sock, &m) != 0) {
        why = "handshake send failed";
        goto fail;
    }
    if (vb_recv(sock, &r, &why) != 0 || r.type != MC_XPORT_VMSG_HELLO_ACK || r.code != 0) {
        why = *why ? why : "handshake refused";
        goto fail;
    }
    if (vb_qp_connect(d, qp, &r, psn) != 0) {
        why = "modify QP to RTR/RTS failed";
        goto fail;
    }
    if (ibv_req_notify_cq(c->cq, 0) != 0) {
        why = "ibv_req_notify_cq";
        goto fail;
    }
    return 0;
fail:
    mc_xport_logf(b->x, MC_LOG_WARN, "rdma: handshake with %s:%u failed: %s", c->host, c->port, why);
    vb_teardown(c);
    return -1;
}

/* The peer's rkey for [addr, addr+len): MC_OK, MC_INVALID_PARAMS (the
 * peer rejected the range) or MC_TRANSFER_FAIL (connection trouble). */
static mc_status_t vb_rkey(vconn_t *c, uint64_t addr, uint64_t len, uint32_t key, uint32_t *rkey)
{
    for (unsigned i = 0; i < c->rc_n; i++)
        if (c->rc[i].key == key && mc_xport_range_inside(c->rc[i].addr, c->rc[i].len, addr, len)) {
            *rkey = c->rc[i].rkey;
            return MC_OK;
        }
    mc_xport_vmsg_t m, r;
    const char *why = "";
    memset(&m, 0, sizeof m);
    m.type = MC_XPORT_VMSG_RKEY_REQ;
    m.addr = addr;
    m.len = len;
    m.key = key;
    if (vb_send(c->sock, &m) != 0 || vb_recv(c->sock, &r, &why) != 0 || r.type != MC_XPORT_VMSG_RKEY_REP) {
        vb_break(c, MC_TRANSFER_FAIL, "rkey lookup failed");
        return MC_TRANSFER_FAIL;
    }
    if (r.code == MC_XPORT_VCODE_BAD_KEY)
        return MC_TRANSFER_FAIL; /* a stale descriptor: no region has that key */
    if (r.code != MC_XPORT_VCODE_OK || !mc_xport_range_inside(r.addr, r.len, addr, len))
        return MC_INVALID_PARAMS;
    vrc_t *e = &c->rc[c->rc_next];
    c->rc_next = (c->rc_next + 1) % VB_RCACHE;
    if (c->rc_n < VB_RCACHE)
        c->rc_n++;
    e->addr = r.addr;
    e->len = r.len;
    e->rkey = r.rkey;
    e->key = key;
    *rkey = r.rkey;
    return MC_OK;
}

/* Post one slice; on failure it is completed here. */
static void vb_post_slice(vconn_t *c, vslice_t *s)
{
    mc_xport_op_t *op = s->op;
    uint64_t laddr = (uint64_t)(uintptr_t)op->local + s->off, raddr = op->remote + s->off;
    uint32_t lkey, rk_unused, rkey;
    uint64_t b0, b1;
    if (!vb_mr_find(c->b, c->dev, laddr, s->len, &lkey, &rk_unused, &b0, &b1)) {
        mc_xport_op_part_done(op, MC_INVALID_PARAMS); /* local memory not registered with the device */
        return;
    }
    mc_status_t st = vb_rkey(c, raddr, s->len, op->remote_key, &rkey);
    if (st != MC_OK) {
        mc_xport_op_part_done(op, st);
        return;
    }
    struct ibv_sge sge = {.addr = laddr, .length = (uint32_t)s->len, .lkey = lkey};
    struct ibv_send_wr wr, *bad = NULL;
    memset(&wr, 0, sizeof wr);
    wr.wr_id = (uintptr_t)s;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = op->opcode == MC_XFER_WRITE ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = raddr;
    wr.wr.rdma.rkey = rkey;
    s->t_post = mc_xport_now_ns();
    int rc = ibv_post_send(c->qp, &wr, &bad);
    if (rc != 0) {
        vb_break(c, MC_TRANSFER_FAIL, "ibv_post_send failed");
        mc_xport_op_part_done(op, MC_TRANSFER_FAIL);
        return;
    }
    vb_infl_add(c, s);
}

static void vb_drain_cq(vconn_t *c)
{
    if (!c->cq)
        return;
    struct ibv_wc wc[16];
    int n;
    while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
        for (int i = 0; i < n; i++) {
            vslice_t *s = (vslice_t *)(uintptr_t)wc[i].wr_id;
            vb_infl_del(c, s);
            mc_status_t st = MC_OK;
            if (wc[i].status != IBV_WC_SUCCESS) {
                vb_break(c, MC_TRANSFER_FAIL, ibv_wc_status_str(wc[i].status));
                st = c->broken;
            }
            mc_xport_op_part_done(s->op, st);
        }
    }
    if (n < 0)
        vb_break(c, MC_TRANSFER_FAIL, "ibv_poll_cq failed");
}

static void vb_comp_event(vconn_t *c)
{
    struct ibv_cq *cq;
    void *ctx;
    while (c->ch && ibv_get_cq_event(c->ch, &cq, &ctx) == 0) {
        ibv_ack_cq_events(cq, 1);
        ibv_req_notify_cq(cq, 0);
    }
}

static void *vb_conn_main(void *arg)
{
    vconn_t *c = arg;
    vbe_t *b = c->b;
    uint64_t tmo_ns = b->x->o.timeout_ms * 1000000ull;
    for (;;) {
        uint64_t ev;
        if (read(c->wake_fd, &ev, sizeof ev) < 0 && errno != EAGAIN)
            break;
        pthread_mutex_lock(&c->mu);
        if (c->q_head) {
            if (c->p_tail)
                c->p_tail->next = c->q_head;
            else
                c->p_head = c->q_head;
            c->p_tail = c->q_tail;
            c->q_head = c->q_tail = NULL;
        }
        bool brk = c->want_break, down = c->want_down;
        c->want_break = c->want_down = false;
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&b->stopping))
            break;
        vb_comp_event(c);
        vb_drain_cq(c);
        if (brk && c->qp)
            vb_break(c, MC_TRANSFER_FAIL, "QP forced to the error state");
        if (c->n_infl && mc_xport_now_ns() - c->infl.prev->t_post > tmo_ns)
            vb_break(c, MC_RPC_TIMEOUT, "no completion within the transfer timeout");
        if (c->broken != MC_OK)
            vb_teardown(c);
        if (c->p_head && !c->qp && vb_connect(c) != 0)
            vb_fail_all(c, MC_TRANSFER_FAIL);
        while (c->p_head && c->qp && c->broken == MC_OK && c->n_infl < VB_MAX_INFLIGHT) {
            vslice_t *s = c->p_head;
            c->p_head = s->next;
            if (!c->p_head)
                c->p_tail = NULL;
            vb_post_slice(c, s);
        }
        if (c->broken != MC_OK)
            continue; /* tear down now, retry pending slices on a new QP */
        if (down && c->qp && !c->p_head && !c->n_infl)
            vb_teardown(c);
        struct pollfd p[4];
        int np = 0;
        p[np++] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
        p[np++] = (struct pollfd){.fd = b->stop_fd, .events = POLLIN};
        int ch_i = -1, sock_i = -1;
        if (c->ch) {
            ch_i = np;
            p[np++] = (struct pollfd){.fd = c->ch->fd, .events = POLLIN};
        }
        if (c->sock >= 0) {
            sock_i = np; /* the peer never speaks unasked: readable = closed */
            p[np++] = (struct pollfd){.fd = c->sock, .events = POLLIN};
        }
        int to = c->n_infl ? 100 : -1;
        if (poll(p, (nfds_t)np, to) < 0 && errno != EINTR)
            break;
        (void)ch_i;
        if (sock_i >= 0 && (p[sock_i].revents & (POLLIN | POLLHUP | POLLERR))) {
            vb_drain_cq(c);
            vb_break(c, MC_TRANSFER_FAIL, "peer closed the control connection");
        }
    }
    /* stopping: nothing is delivered any more, but the ops must be freed */
    pthread_mutex_lock(&c->mu);
    if (c->q_head) {
        if (c->p_tail)
            c->p_tail->next = c->q_head;
        else
            c->p_head = c->q_head;
        c->q_head = c->q_tail = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    vb_fail_all(c, MC_TRANSFER_FAIL);
    vb_teardown(c);
    return NULL;
}

static void vb_conn_wake(vconn_t *c)
{
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof one) < 0) {
        /* counter saturated: the worker is awake anyway */
    }
}

/* The conn for (host, port, dev), created with its worker on first use. */
static vconn_t *vb_conn_get(vbe_t *b, const char *host, uint16_t port, int dev)
{
    pthread_mutex_lock(&b->mu);
    for (vconn_t *c = b->conns; c; c = c->next)
        if (c->port == port && c->dev == dev && strcmp(c->host, host) == 0) {
            pthread_mutex_unlock(&b->mu);
            return c;
        }
    pthread_mutex_unlock(&b->mu);
    vconn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->b = b;
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->dev = dev;
    c->sock = -1;
    c->infl.next = c->infl.prev = &c->infl;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_lock(&b->mu);
    c->next = b->conns;
    b->conns = c;
    pthread_mutex_unlock(&b->mu);
    /* On failure the conn stays listed (freed at destroy) without a
     * worker; posts to it fail below. */
    if (mc_xport_thread_start(b->x, vb_conn_main, c) != 0) {
        close(c->wake_fd);
        c->wake_fd = -1;
        return NULL;
    }
    return c;
}

static void vb_post(void *state, mc_xport_op_t *op)
{
    vbe_t *b = state;
    vconn_t *cs[MC_VERBS_MAX_DEV];
    for (int i = 0; i < b->ndev; i++) {
        cs[i] = atomic_load(&b->stopping) ? NULL : vb_conn_get(b, op->ep.host, op->ep.rdma_port, i);
        if (!cs[i] || cs[i]->wake_fd < 0) {
            atomic_store(&op->remaining, 1);
            mc_xport_op_part_done(op, MC_TRANSFER_FAIL);
            return;
        }
    }
    uint64_t ss = b->x->o.slice_size;
    uint64_t n = (op->len + ss - 1) / ss;
    vslice_t *sl = calloc(n, sizeof *sl);
    if (!sl) {
        atomic_store(&op->remaining, 1);
        mc_xport_op_part_done(op, MC_INTERNAL_ERROR);
        return;
    }
    op->backend_mem = sl;
    atomic_store(&op->remaining, (unsigned)n);
    unsigned first = b->rr++;
    for (uint64_t i = 0; i < n; i++) {
        vslice_t *s = &sl[i];
        s->op = op;
        s->off = i * ss;
        s->len = op->len - s->off < ss ? op->len - s->off : ss;
        vconn_t *c = cs[(first + i) % (unsigned)b->ndev];
        pthread_mutex_lock(&c->mu);
        if (c->q_tail)
            c->q_tail->next = s;
        else
            c->q_head = s;
        c->q_tail = s;
        pthread_mutex_unlock(&c->mu);
        vb_conn_wake(c); /* (op and sl may be gone after the last one) */
    }
}

/* ----------------------------------------------------------- test hooks --- */

static vbe_t *vb_of(mc_xport_t *x)
{
    return x && x->be[MC_XPORT_BE_RDMA] ? x->be_state[MC_XPORT_BE_RDMA] : NULL;
}

int mc_xport_verbs_break(mc_xport_t *x)
{
    vbe_t *b = vb_of(x);
    if (!b)
        return -1;
    pthread_mutex_lock(&b->mu);
    for (vconn_t *c = b->conns; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->qp) {
            struct ibv_qp_attr a = {.qp_state = IBV_QPS_ERR};
            ibv_modify_qp(c->qp, &a, IBV_QP_STATE);
            c->want_break = true;
        }
        pthread_mutex_unlock(&c->mu);
        if (c->wake_fd >= 0)
            vb_conn_wake(c);
    }
    pthread_mutex_unlock(&b->mu);
    return 0;
}

int mc_xport_verbs_break_responders(mc_xport_t *x)
{
    vbe_t *b = vb_of(x);
    if (!b)
        return -1;
    pthread_mutex_lock(&b->mu);
    for (vsrv_t *s = b->srv.next; s != &b->srv; s = s->next)
        if (s->qp) {
            struct ibv_qp_attr a = {.qp_state = IBV_QPS_ERR};
            ibv_modify_qp(s->qp, &a, IBV_QP_STATE);
        }
    pthread_mutex_unlock(&b->mu);
    return 0;
}

int mc_xport_verbs_disconnect(mc_xport_t *x)
{
    vbe_t *b = vb_of(x);
    if (!b)
        return -1;
    pthread_mutex_lock(&b->mu);
    for (vconn_t *c = b->conns; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        c->want_down = true;
        pthread_mutex_unlock(&c->mu);
        if (c->wake_fd >= 0)
            vb_conn_wake(c);
    }
    pthread_mutex_unlock(&b->mu);
    return 0;
}

int mc_xport_verbs_devices(mc_xport_t *x, char *buf, size_t len)
{
    vbe_t *b = vb_of(x);
    if (!b || !len)
        return -1;
    buf[0] = '\0';
    size_t off = 0;
    for (int i = 0; i < b->ndev && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", b->dev[i].name);
        if (n < 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

int mc_xport_verbs_gid_index(mc_xport_t *x, int i)
{
    vbe_t *b = vb_of(x);
    return b && i >= 0 && i < b->ndev ? b->dev[i].gid_index : -1;
}

/* ------------------------------------------------------------ lifecycle --- */

static int vb_listen(vbe_t *b)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(b->x->host, "0", &hints, &res) != 0 || !res)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return -1;
    }
    b->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    b->lfd = fd;
    return 0;
}

static void vb_destroy(void *state);

static int vb_create(mc_xport_t *x, void **state)
{
    vbe_t *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->x = x;
    b->lfd = b->stop_fd = -1;
    b->srv.next = b->srv.prev = &b->srv;
    pthread_mutex_init(&b->mu, NULL);
    pthread_rwlock_init(&b->mr_mu, NULL);
    char err[300];
    b->ndev = mc_xport_verbs_open(x, x->o.rdma_devices, b->dev, MC_VERBS_MAX_DEV, err, sizeof err);
    if (b->ndev <= 0) {
        b->ndev = 0;
        mc_xport_logf(x, MC_LOG_ERROR, "%s", err);
        goto fail;
    }
    b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->stop_fd < 0 || vb_listen(b) != 0) {
        mc_xport_logf(x, MC_LOG_ERROR, "rdma: cannot listen for handshakes on %s: %s", x->host, strerror(errno));
        goto fail;
    }
    if (mc_xport_thread_start(x, vb_listen_main, b) != 0)
        goto fail;
    *state = b;
    return 0;
fail:
    vb_destroy(b);
    return -1;
}

static void vb_stop(void *state)
{
    vbe_t *b = state;
    atomic_store(&b->stopping, true);
    uint64_t one = 1;
    if (b->stop_fd >= 0 && write(b->stop_fd, &one, sizeof one) < 0) {
        /* cannot happen for a fresh eventfd; the sockets below still wake */
    }
    pthread_mutex_lock(&b->mu);
    for (vsrv_t *s = b->srv.next; s != &b->srv; s = s->next)
        shutdown(s->sock, SHUT_RDWR);
    for (vconn_t *c = b->conns; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->sock >= 0)
            shutdown(c->sock, SHUT_RDWR);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&b->mu);
}

static void vb_destroy(void *state)
{
    vbe_t *b = state;
    assert(b->srv.next == &b->srv); /* every responder thread has returned */
    while (b->conns) {
        vconn_t *c = b->conns;
        b->conns = c->next;
        if (c->wake_fd >= 0)
            close(c->wake_fd);
        pthread_mutex_destroy(&c->mu);
        free(c);
    }
    while (b->mrs) {
        vmr_t *m = b->mrs;
        b->mrs = m->next;
        vb_mr_free(b, m);
    }
    for (int i = 0; i < b->ndev; i++)
        mc_xport_verbs_close(&b->dev[i]);
    if (b->lfd >= 0)
        close(b->lfd);
    if (b->stop_fd >= 0)
        close(b->stop_fd);
    pthread_rwlock_destroy(&b->mr_mu);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

uint16_t mc_xport_verbs_port(void *state)
{
    return ((vbe_t *)state)->port;
}

static const mc_xport_backend_ops_t mc_xport_verbs_ops_impl = {
    .name = "rdma",
    .create = vb_create,
    .stop = vb_stop,
    .destroy = vb_destroy,
    .mem_register = vb_mem_register,
    .mem_unregister = vb_mem_unregister,
    .post = vb_post,
};
const mc_xport_backend_ops_t *const mc_xport_verbs_ops = &mc_xport_verbs_ops_impl;
