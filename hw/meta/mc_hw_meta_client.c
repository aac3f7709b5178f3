/* The async metadata client: a curl multi handle driven by the loop's fd
 * watches and timers, and a FIFO of ops with only the head on the wire.
 *
 * Re-entrancy: user callbacks run from loop callbacks with c->busy > 0;
 * they may issue, cancel or destroy. destroy while busy drops every op at
 * once (no callback) and defers freeing to the outermost loop callback. */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_hw_meta_int.h"

typedef struct mc_hwm_sock {
    struct mc_hwm_sock *next;
    mc_hwm_client_t *c;
    curl_socket_t fd;
    mc_loop_io_t *io;
} mc_hwm_sock_t;

static void client_free(mc_hwm_client_t *c);
static void start_head(mc_hwm_client_t *c);
static void kick(mc_hwm_client_t *c);

void mc_hwm_set_err(mc_hwm_client_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_err, sizeof c->last_err, fmt, ap);
    va_end(ap);
}

const char *mc_hwm_curl_reason(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return "connection refused";
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "host not resolved";
    case CURLE_GOT_NOTHING:
        return "empty reply";
    default:
        return curl_easy_strerror(cc);
    }
}

/* ---- request lifetime ---- */

static void req_detach(mc_hwm_client_t *c, mc_hwm_req_t *r)
{
    if (r->easy) {
        curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    mc_free(r->body);
    r->body = NULL;
    mc_free(r->resp);
    r->resp = NULL;
    r->rlen = r->rcap = 0;
    r->too_big = false;
}

static void req_free(mc_hwm_client_t *c, mc_hwm_req_t *r)
{
    req_detach(c, r);
    mc_free(r->key);
    mc_free(r->val);
    mc_free(r);
}

/* Unlinks r from the queue (it need not be the head). */
static void queue_unlink(mc_hwm_client_t *c, mc_hwm_req_t *r)
{
    mc_hwm_req_t **pp = &c->head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    assert(*pp == r);
    *pp = r->next;
    if (c->tail == r)
        c->tail = prev;
}

/* ---- curl <-> loop glue ---- */

static void enter(mc_hwm_client_t *c)
{
    c->busy++;
}

/* Returns false when c was freed. */
static bool leave(mc_hwm_client_t *c)
{
    assert(c->busy > 0);
    c->busy--;
    if (c->dead && c->busy == 0) {
        client_free(c);
        return false;
    }
    return true;
}

/* Completes the head op: unlink, then the user callback (which may issue,
 * cancel or destroy). */
static void complete_head(mc_hwm_client_t *c, int err, const char *value, size_t len)
{
    mc_hwm_req_t *r = c->head;
    queue_unlink(c, r);
    req_detach(c, r);
    if (r->cb)
        r->cb(r->arg, err, value, len);
    req_free(c, r);
}

static void finish_head(mc_hwm_client_t *c, CURLcode cc)
{
    mc_hwm_req_t *r = c->head;
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->too_big)
        cc = CURLE_WRITE_ERROR;
    /* The easy handle is done; the response stays for finish(). */
    curl_multi_remove_handle(c->multi, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    if (r->too_big)
        mc_hwm_set_err(c, "metadata: response over %u bytes", MC_HWM_MAX_RESPONSE);
    int err = 0;
    char *value = NULL;
    size_t len = 0;
    if (c->be->finish(c, r, cc, status, &err, &value, &len) == MC_HWM_RETRY) {
        req_detach(c, r);
        start_head(c);
        return;
    }
    complete_head(c, err, value, len);
    mc_free(value);
}

static void check_done(mc_hwm_client_t *c)
{
    CURLMsg *m;
    int left;
    while (!c->dead && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        /* Only the head is ever on the wire. */
        assert(c->head && c->head->easy == m->easy_handle);
        finish_head(c, m->data.result);
        if (!c->dead)
            kick(c);
    }
}

static void on_io(void *arg, uint32_t events)
{
    mc_hwm_sock_t *s = arg;
    mc_hwm_client_t *c = s->c;
    curl_socket_t fd = s->fd; /* s may be freed by the socket callback */
    int flags = 0, running;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    enter(c);
    curl_multi_socket_action(c->multi, fd, flags, &running);
    check_done(c);
    leave(c);
}

static void on_curl_timer(void *arg)
{
    mc_hwm_client_t *c = arg;
    int running;
    c->curl_timer = 0;
    enter(c);
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
    leave(c);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    mc_hwm_client_t *c = userp;
    mc_hwm_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            mc_loop_io_del(c->loop, s->io);
            mc_hwm_sock_t **pp = &c->socks;
            while (*pp != s)
                pp = &(*pp)->next;
            *pp = s->next;
            mc_free(s);
            curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    uint32_t ev = 0;
    if (what & CURL_POLL_IN)
        ev |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev |= EPOLLOUT;
    if (s)
        return mc_loop_io_mod(c->loop, s->io, ev) == 0 ? 0 : -1;
    s = mc_calloc(1, sizeof *s);
    s->c = c;
    s->fd = fd;
    s->io = mc_loop_io_add(c->loop, fd, ev, on_io, s);
    if (!s->io) {
        mc_free(s);
        return -1;
    }
    s->next = c->socks;
    c->socks = s;
    curl_multi_assign(c->multi, fd, s);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    mc_hwm_client_t *c = userp;
    mc_loop_timer_cancel(c->loop, c->curl_timer);
    c->curl_timer = 0;
    if (timeout_ms >= 0)
        c->curl_timer = mc_loop_timer_arm(c->loop, (uint64_t)timeout_ms * 1000000u, on_curl_timer, c);
    return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    mc_hwm_req_t *r = arg;
    size_t n = size * nmemb;
    if (r->rlen + n > MC_HWM_MAX_RESPONSE) {
        r->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->rlen + n + 1 > r->rcap) {
        size_t cap = r->rcap ? r->rcap : 4096;
        while (cap < r->rlen + n + 1)
            cap *= 2;
        r->resp = mc_realloc(r->resp, cap);
        r->rcap = cap;
    }
    memcpy(r->resp + r->rlen, data, n);
    r->rlen += n;
    r->resp[r->rlen] = '\0';
    return n;
}

/* ---- starting ops ---- */

/* Puts the head op on the wire, or fails it (from the loop) if the
 * backend cannot build the request. */
static void start_head(mc_hwm_client_t *c)
{
    mc_hwm_req_t *r = c->head;
    assert(r && !r->easy);
    CURL *e = curl_easy_init();
    if (!e)
        abort(); /* out of memory */
    r->attempts++;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, MC_HWM_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, MC_HWM_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    /* No proxies from the environment: metadata servers are direct. */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (c->be->prepare(c, r, e) != 0) {
        curl_easy_cleanup(e);
        complete_head(c, MC_TE_ERR_METADATA, NULL, 0);
        return;
    }
    if (r->hdrs)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    r->easy = e;
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        mc_hwm_set_err(c, "metadata: curl_multi_add_handle failed");
        curl_easy_cleanup(e);
        r->easy = NULL;
        complete_head(c, MC_TE_ERR_METADATA, NULL, 0);
    }
}

/* Kick: starts the head op (and each next one that fails at once). */
static void on_kick(void *arg)
{
    mc_hwm_client_t *c = arg;
    c->kick_timer = 0;
    enter(c);
    while (!c->dead && c->head && !c->head->easy) {
        mc_hwm_req_t *h = c->head;
        start_head(c);
        if (!c->dead && c->head == h)
            break; /* on the wire */
    }
    leave(c);
}

static void kick(mc_hwm_client_t *c)
{
    if (!c->kick_timer && c->head && !c->head->easy)
        c->kick_timer = mc_loop_timer_arm(c->loop, 0, on_kick, c);
}

static uint64_t enqueue(mc_hwm_client_t *c, int op, const char *key, const char *val, size_t vlen,
                        mc_te_meta_cb cb, void *arg)
{
    assert(!c->dead);
    mc_hwm_req_t *r = mc_calloc(1, sizeof *r);
    r->id = ++c->next_id;
    r->op = op;
    r->key = mc_strdup(key ? key : "");
    if (op == MC_HWM_PUT)
        r->val = vlen ? mc_memdup(val, vlen) : mc_strdup("");
    r->vlen = vlen;
    r->cb = cb;
    r->arg = arg;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    /* Completions always come later from the loop: the kick timer starts
     * the op even when it fails before reaching the wire. */
    kick(c);
    return r->id;
}

/* ---- mc_te_meta_ops_t ---- */

static uint64_t op_get(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return enqueue(impl, MC_HWM_GET, key, NULL, 0, cb, arg);
}

static uint64_t op_put(void *impl, const char *key, const char *value, size_t len, mc_te_meta_cb cb,
                       void *arg)
{
    return enqueue(impl, MC_HWM_PUT, key, value, len, cb, arg);
}

static uint64_t op_del(void *impl, const char *key, mc_te_meta_cb cb, void *arg)
{
    return enqueue(impl, MC_HWM_DEL, key, NULL, 0, cb, arg);
}

static void op_cancel(void *impl, uint64_t id)
{
    mc_hwm_client_t *c = impl;
    for (mc_hwm_req_t *r = c->head; r; r = r->next) {
        if (r->id != id)
            continue;
        bool was_head = r == c->head;
        queue_unlink(c, r);
        req_free(c, r); /* removes it from the wire if it was there */
        if (was_head)
            kick(c);
        return;
    }
}

static void drop_all(mc_hwm_client_t *c)
{
    while (c->head) {
        mc_hwm_req_t *r = c->head;
        c->head = r->next;
        req_free(c, r);
    }
    c->tail = NULL;
    mc_loop_timer_cancel(c->loop, c->kick_timer);
    c->kick_timer = 0;
}

static void client_free(mc_hwm_client_t *c)
{
    drop_all(c);
    /* Cleanup may call sock_cb/timer_cb for the cached connections. */
    curl_multi_cleanup(c->multi);
    mc_loop_timer_cancel(c->loop, c->curl_timer);
    while (c->socks) {
        mc_hwm_sock_t *s = c->socks;
        c->socks = s->next;
        mc_loop_io_del(c->loop, s->io);
        mc_free(s);
    }
    if (c->be->destroy)
        c->be->destroy(c->be_impl);
    mc_free(c);
}

static void op_destroy(void *impl)
{
    mc_hwm_client_t *c = impl;
    if (c->busy) {
        drop_all(c);
        c->dead = true;
        return;
    }
    client_free(c);
}

static const mc_te_meta_ops_t client_ops = {
    .get = op_get,
    .put = op_put,
    .del = op_del,
    .cancel = op_cancel,
    .destroy = op_destroy,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

mc_hwm_client_t *mc_hwm_client_new(mc_loop_t *loop, const mc_hwm_backend_t *be, void *be_impl)
{
    pthread_once(&curl_once, curl_init_once);
    mc_hwm_client_t *c = mc_calloc(1, sizeof *c);
    c->loop = loop;
    c->be = be;
    c->be_impl = be_impl;
    c->multi = curl_multi_init();
    if (!c->multi)
        abort();
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    c->meta.ops = &client_ops;
    c->meta.impl = c;
    return c;
}

const char *mc_hw_meta_last_error(const mc_te_meta_t *m)
{
    if (!m || m->ops != &client_ops)
        return "";
    const mc_hwm_client_t *c = m->impl;
    return c->last_err;
}
