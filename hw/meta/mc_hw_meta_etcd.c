/* etcd metadata backend over the v3 JSON gateway (etcd >= 3.4):
 *   get -> POST /v3/kv/range {"key":b64}
 *   put -> POST /v3/kv/put {"key":b64,"value":b64}
 *   del -> POST /v3/kv/deleterange {"key":b64}
 * Endpoints are tried in order: a transport failure (refused, timeout,
 * reset) moves the op to the next endpoint, which then stays current for
 * later ops; when each endpoint failed once the op fails. An answer from
 * etcd (even an error) is never retried elsewhere. No leases (spec §7.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mc_mem.h"
#include "mc_addr.h"
#include "mc_hw_meta_etcd_json.h"
#include "mc_hw_meta_int.h"

#define ETCD_MAX_ENDPOINTS 16

typedef struct {
    char *ep[ETCD_MAX_ENDPOINTS]; /* "http://host:port" */
    unsigned n;
    unsigned cur;
} etcd_be_t;

static int etcd_prepare(mc_hwm_client_t *c, mc_hwm_req_t *r, CURL *e)
{
    etcd_be_t *b = c->be_impl;
    static const char *const paths[] = {
        [MC_HWM_GET] = "/v3/kv/range", [MC_HWM_PUT] = "/v3/kv/put", [MC_HWM_DEL] = "/v3/kv/deleterange"};
    char url[MC_ADDR_STRLEN + 40];
    snprintf(url, sizeof url, "%s%s", b->ep[b->cur], paths[r->op]);
    curl_easy_setopt(e, CURLOPT_URL, url);
    if (!r->body)
        r->body = r->op == MC_HWM_PUT ? mc_etcd_req_put(r->key, r->val, r->vlen) : mc_etcd_req_key(r->key);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
    r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    return 0;
}

static bool transport_failure(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return true;
    default:
        return false;
    }
}

static int etcd_finish(mc_hwm_client_t *c, mc_hwm_req_t *r, CURLcode cc, long status, int *err,
                       char **value, size_t *len)
{
    etcd_be_t *b = c->be_impl;
    static const char *const names[] = {[MC_HWM_GET] = "range", [MC_HWM_PUT] = "put", [MC_HWM_DEL] = "deleterange"};
    char why[200];
    *err = MC_TE_ERR_METADATA;
    if (cc != CURLE_OK) {
        if (r->too_big)
            return MC_HWM_DONE;
        mc_hwm_set_err(c, "etcd: %s %s key '%.64s': %s", names[r->op], b->ep[b->cur], r->key,
                       mc_hwm_curl_reason(cc));
        if (transport_failure(cc) && r->attempts < b->n) {
            b->cur = (b->cur + 1) % b->n;
            return MC_HWM_RETRY;
        }
        return MC_HWM_DONE;
    }
    const char *body = r->resp ? r->resp : "";
    if (status != 200) {
        /* etcd's error object carries the reason. */
        if (mc_etcd_parse_ok(body, r->rlen, why, sizeof why) == 0)
            why[0] = '\0';
        mc_hwm_set_err(c, "etcd: %s %s key '%.64s': HTTP %ld %s", names[r->op], b->ep[b->cur], r->key,
                       status, why);
        return MC_HWM_DONE;
    }
    if (r->op == MC_HWM_GET) {
        int rc = mc_etcd_parse_range(body, r->rlen, r->key, value, len, why, sizeof why);
        if (rc < 0) {
            mc_hwm_set_err(c, "etcd: range %s key '%.64s': %s", b->ep[b->cur], r->key, why);
            return MC_HWM_DONE;
        }
        *err = 0;
        return MC_HWM_DONE;
    }
    if (mc_etcd_parse_ok(body, r->rlen, why, sizeof why) != 0) {
        mc_hwm_set_err(c, "etcd: %s %s key '%.64s': %s", names[r->op], b->ep[b->cur], r->key, why);
        return MC_HWM_DONE;
    }
    *err = 0;
    return MC_HWM_DONE;
}

static void etcd_destroy(void *impl)
{
    etcd_be_t *b = impl;
    for (unsigned i = 0; i < b->n; i++)
        mc_free(b->ep[i]);
    mc_free(b);
}

static const mc_hwm_backend_t etcd_backend = {
    .prepare = etcd_prepare,
    .finish = etcd_finish,
    .destroy = etcd_destroy,
};

mc_te_meta_t *mc_hwm_etcd_open(mc_loop_t *loop, const char *endpoints, char *err, size_t errlen)
{
    etcd_be_t *b = mc_calloc(1, sizeof *b);
    const char *p = endpoints;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char ep[MC_ADDR_STRLEN], host[MC_ADDR_STRLEN];
        uint16_t port = 0;
        if (n == 0 || n >= sizeof ep) {
            snprintf(err, errlen, "metadata conn '%s': empty or overlong etcd endpoint", endpoints);
            goto bad;
        }
        memcpy(ep, p, n);
        ep[n] = '\0';
        if (!mc_addr_split(ep, host, sizeof host, &port) || !host[0] || port == 0) {
            snprintf(err, errlen, "metadata conn '%s': etcd endpoint '%s' is not host:port", endpoints, ep);
            goto bad;
        }
        if (b->n == ETCD_MAX_ENDPOINTS) {
            snprintf(err, errlen, "metadata conn '%s': more than %d etcd endpoints", endpoints,
                     ETCD_MAX_ENDPOINTS);
            goto bad;
        }
        char url[MC_ADDR_STRLEN + 16];
        snprintf(url, sizeof url, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, port);
        b->ep[b->n++] = mc_strdup(url);
        if (!comma)
            break;
        p = comma + 1;
    }
    return &mc_hwm_client_new(loop, &etcd_backend, b)->meta;
bad:
    etcd_destroy(b);
    return NULL;
}
