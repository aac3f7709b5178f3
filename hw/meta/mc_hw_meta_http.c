/* HTTP metadata backend (upstream's HTTP plugin, spec §7.3):
 *   GET/PUT/DELETE <url>?key=<urlencoded>, PUT body = value with
 *   Content-Type: application/json; only 200 is success, except that 404
 *   is "absent" for get and "already gone" for del. */
#include <string.h>

#include "base/mc_mem.h"
#include "mc_hw_meta_int.h"

typedef struct {
    char *url; /* base URL, e.g. http://127.0.0.1:8080/metadata */
} http_be_t;

static int http_prepare(mc_hwm_client_t *c, mc_hwm_req_t *r, CURL *e)
{
    http_be_t *h = c->be_impl;
    char *k = curl_easy_escape(e, r->key, (int)strlen(r->key));
    if (!k) {
        mc_hwm_set_err(c, "metadata: cannot URL-encode key");
        return -1;
    }
    size_t n = strlen(h->url) + strlen(k) + 8;
    char *url = mc_malloc(n);
    snprintf(url, n, "%s%ckey=%s", h->url, strchr(h->url, '?') ? '&' : '?', k);
    curl_free(k);
    curl_easy_setopt(e, CURLOPT_URL, url); /* curl copies it */
    mc_free(url);
    switch (r->op) {
    case MC_HWM_GET:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        break;
    case MC_HWM_PUT:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->val);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->vlen);
        r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
        /* No 100-continue round trip for big descriptors. */
        r->hdrs = curl_slist_append(r->hdrs, "Expect:");
        break;
    case MC_HWM_DEL:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    }
    return 0;
}

static const char *op_name(int op)
{
    return op == MC_HWM_GET ? "GET" : op == MC_HWM_PUT ? "PUT" : "DELETE";
}

static int http_finish(mc_hwm_client_t *c, mc_hwm_req_t *r, CURLcode cc, long status, int *err,
                       char **value, size_t *len)
{
    http_be_t *h = c->be_impl;
    *err = MC_TE_ERR_METADATA;
    if (cc != CURLE_OK) {
        if (!r->too_big)
            mc_hwm_set_err(c, "metadata: %s %s key '%.64s': %s", op_name(r->op), h->url, r->key,
                           mc_hwm_curl_reason(cc));
        return MC_HWM_DONE;
    }
    if (status == 200) {
        *err = 0;
        if (r->op == MC_HWM_GET) {
            *len = r->rlen;
            *value = r->resp ? r->resp : mc_strdup("");
            r->resp = NULL; /* handed to the caller */
        }
        return MC_HWM_DONE;
    }
    if (status == 404 && r->op != MC_HWM_PUT) {
        *err = 0; /* absent key: get -> NULL value, del -> nothing to do */
        return MC_HWM_DONE;
    }
    mc_hwm_set_err(c, "metadata: %s %s key '%.64s': HTTP %ld: %.80s", op_name(r->op), h->url, r->key,
                   status, r->resp ? r->resp : "");
    return MC_HWM_DONE;
}

static void http_destroy(void *impl)
{
    http_be_t *h = impl;
    mc_free(h->url);
    mc_free(h);
}

static const mc_hwm_backend_t http_backend = {
    .prepare = http_prepare,
    .finish = http_finish,
    .destroy = http_destroy,
};

mc_te_meta_t *mc_hwm_http_open(mc_loop_t *loop, const char *url, char *err, size_t errlen)
{
    /* http://host[:port]/path: a host is required. */
    const char *rest = strncmp(url, "https://", 8) == 0 ? url + 8 : url + 7;
    if (!*rest || *rest == '/' || *rest == ':') {
        snprintf(err, errlen, "metadata conn '%s': expected http://host:port/path", url);
        return NULL;
    }
    http_be_t *h = mc_calloc(1, sizeof *h);
    h->url = mc_strdup(url);
    return &mc_hwm_client_new(loop, &http_backend, h)->meta;
}
