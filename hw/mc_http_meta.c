#include "mc_http_meta.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_map.h"
#include "base/mc_mem.h"

#define MAX_BODY (64u << 20)

struct mc_http_meta {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    mc_map_t kv; /* key -> mc_meta_val_t* */
    uint16_t port;
};

typedef struct mc_meta_val {
    size_t len;
    char data[];
} mc_meta_val_t;

/* Per-request upload accumulator. */
typedef struct upload {
    char *buf;
    size_t len;
    size_t cap;
    int too_large;
} upload_t;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body, size_t len,
                             const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *msg)
{
    return reply(c, code, msg, strlen(msg), "text/plain");
}

static enum MHD_Result do_put(mc_http_meta_t *m, struct MHD_Connection *c, const char *key, const upload_t *u)
{
    pthread_mutex_lock(&m->mu);
    mc_meta_val_t *old = mc_map_gets(&m->kv, key);
    if (old && strstr(key, "rpc_meta")) {
        int same = old->len == u->len && (u->len == 0 || memcmp(old->data, u->buf, u->len) == 0);
        pthread_mutex_unlock(&m->mu);
        return same ? text(c, 200, "metadata unchanged") : text(c, 400, "Duplicate rpc_meta key not allowed");
    }
    mc_meta_val_t *v = mc_malloc(sizeof *v + u->len);
    v->len = u->len;
    if (u->len)
        memcpy(v->data, u->buf, u->len);
    mc_free(mc_map_puts(&m->kv, key, v));
    pthread_mutex_unlock(&m->mu);
    return text(c, 200, "metadata updated");
}

static enum MHD_Result do_get(mc_http_meta_t *m, struct MHD_Connection *c, const char *key)
{
    pthread_mutex_lock(&m->mu);
    mc_meta_val_t *v = mc_map_gets(&m->kv, key);
    enum MHD_Result r = v ? reply(c, 200, v->data, v->len, "application/json")
                          : text(c, 404, "metadata not found");
    pthread_mutex_unlock(&m->mu);
    return r;
}

static enum MHD_Result do_delete(mc_http_meta_t *m, struct MHD_Connection *c, const char *key)
{
    pthread_mutex_lock(&m->mu);
    mc_meta_val_t *v = mc_map_dels(&m->kv, key);
    pthread_mutex_unlock(&m->mu);
    mc_free(v);
    return v ? text(c, 200, "metadata deleted") : text(c, 404, "metadata not found");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    mc_http_meta_t *m = cls;
    upload_t *u = *con_cls;
    if (!u) { /* first call for this request: set up the body accumulator */
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->len + *data_size > MAX_BODY) {
            u->too_large = 1;
        } else if (!u->too_large) {
            if (u->len + *data_size > u->cap) {
                size_t cap = u->cap ? u->cap : 4096;
                while (cap < u->len + *data_size)
                    cap *= 2;
                char *nb = realloc(u->buf, cap);
                if (!nb)
                    return MHD_NO;
                u->buf = nb;
                u->cap = cap;
            }
            memcpy(u->buf + u->len, data, *data_size);
            u->len += *data_size;
        }
        *data_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/health"))
        return text(c, 200, "OK");
    if (strcmp(url, "/metadata") != 0)
        return text(c, 404, "not found");
    if (u->too_large)
        return text(c, 413, "metadata too large");
    const char *key = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
    if (!key)
        return text(c, 400, "Missing key parameter");
    if (!strcmp(method, "GET"))
        return do_get(m, c, key);
    if (!strcmp(method, "PUT"))
        return do_put(m, c, key, u);
    if (!strcmp(method, "DELETE"))
        return do_delete(m, c, key);
    return text(c, 405, "method not allowed");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload_t *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

mc_http_meta_t *mc_http_meta_start(const char *host, uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    const char *h = (!host || !*host || !strcmp(host, "localhost")) ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, h, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "bad listen host '%s' (an IPv4 address)", host);
        return NULL;
    }
    mc_http_meta_t *m = mc_calloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    mc_map_init(&m->kv);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, handler, m,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
                            NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (!m->d) {
        snprintf(err, errlen, "cannot listen on %s:%u (in use?)", h, port);
        pthread_mutex_destroy(&m->mu);
        mc_map_free(&m->kv);
        mc_free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : port;
    return m;
}

uint16_t mc_http_meta_port(const mc_http_meta_t *m)
{
    return m->port;
}

void mc_http_meta_stop(mc_http_meta_t *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    mc_map_entry_t *e;
    for (uint32_t it = 0; mc_map_next(&m->kv, &it, &e);)
        mc_free(e->value);
    mc_map_free(&m->kv);
    pthread_mutex_destroy(&m->mu);
    mc_free(m);
}
