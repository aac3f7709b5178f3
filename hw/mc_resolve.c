/* getaddrinfo on helper threads; see mc_resolve.h. */
#include "mc_resolve.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/mc_list.h"
#include "base/mc_mem.h"

typedef struct mc_lookup {
    mc_list_t all;  /* r->lookups: owned by the loop thread */
    mc_list_t done; /* r->done: under r->mu */
    pthread_t th;
    char *host;
    uint16_t port;
    uint64_t token;
    int err;
    struct sockaddr_storage ss;
    socklen_t len;
    mc_resolver_t *r;
} mc_lookup_t;

struct mc_resolver {
    mc_loop_t *loop;
    mc_resolve_cb cb;
    void *ctx;
    int efd;
    mc_loop_io_t *io;
    mc_list_t lookups;
    pthread_mutex_t mu;
    mc_list_t done;
};

static void *mc_lookup_run(void *arg)
{
    mc_lookup_t *lk = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    lk->err = getaddrinfo(lk->host, NULL, &hints, &res);
    if (lk->err == 0) {
        lk->len = (socklen_t)res->ai_addrlen;
        memcpy(&lk->ss, res->ai_addr, res->ai_addrlen);
        if (lk->ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&lk->ss)->sin_port = htons(lk->port);
        else if (lk->ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&lk->ss)->sin6_port = htons(lk->port);
        else
            lk->err = EAI_FAMILY;
        freeaddrinfo(res);
    }
    mc_resolver_t *r = lk->r;
    pthread_mutex_lock(&r->mu);
    mc_list_push_back(&r->done, &lk->done);
    pthread_mutex_unlock(&r->mu);
    uint64_t one = 1;
    while (write(r->efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    return NULL;
}

static void mc_lookup_free(mc_lookup_t *lk)
{
    pthread_join(lk->th, NULL);
    mc_list_del(&lk->all);
    mc_free(lk->host);
    mc_free(lk);
}

static void mc_resolver_ready(void *arg, uint32_t events)
{
    (void)events;
    mc_resolver_t *r = arg;
    uint64_t cnt;
    while (read(r->efd, &cnt, sizeof cnt) < 0 && errno == EINTR) {
    }
    for (;;) {
        pthread_mutex_lock(&r->mu);
        mc_lookup_t *lk = NULL;
        if (!mc_list_empty(&r->done)) {
            lk = mc_container_of(r->done.next, mc_lookup_t, done);
            mc_list_del(&lk->done);
        }
        pthread_mutex_unlock(&r->mu);
        if (!lk)
            return;
        uint64_t token = lk->token;
        int err = lk->err;
        struct sockaddr_storage ss = lk->ss;
        socklen_t len = lk->len;
        mc_lookup_free(lk);
        r->cb(r->ctx, token, err, err ? NULL : &ss, len);
    }
}

mc_resolver_t *mc_resolver_create(mc_loop_t *loop, mc_resolve_cb cb, void *ctx)
{
    mc_resolver_t *r = mc_calloc(1, sizeof *r);
    r->loop = loop;
    r->cb = cb;
    r->ctx = ctx;
    mc_list_init(&r->lookups);
    mc_list_init(&r->done);
    pthread_mutex_init(&r->mu, NULL);
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0)
        goto fail;
    r->io = mc_loop_io_add(loop, r->efd, EPOLLIN, mc_resolver_ready, r);
    if (!r->io)
        goto fail;
    return r;
fail: {
    int saved = errno;
    if (r->efd >= 0)
        close(r->efd);
    pthread_mutex_destroy(&r->mu);
    mc_free(r);
    errno = saved;
    return NULL;
}
}

int mc_resolver_start(mc_resolver_t *r, const char *host, uint16_t port, uint64_t token)
{
    mc_lookup_t *lk = mc_calloc(1, sizeof *lk);
    lk->host = mc_strdup(host);
    lk->port = port;
    lk->token = token;
    lk->r = r;
    mc_list_init(&lk->done);
    int rc = pthread_create(&lk->th, NULL, mc_lookup_run, lk);
    if (rc != 0) {
        mc_free(lk->host);
        mc_free(lk);
        errno = rc;
        return -1;
    }
    mc_list_push_back(&r->lookups, &lk->all);
    return 0;
}

void mc_resolver_destroy(mc_resolver_t *r)
{
    if (!r)
        return;
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &r->lookups) {
        mc_lookup_free(mc_container_of(pos, mc_lookup_t, all));
    }
    mc_loop_io_del(r->loop, r->io);
    close(r->efd);
    pthread_mutex_destroy(&r->mu);
    mc_free(r);
}
