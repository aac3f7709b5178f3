/* Internals of the hw metadata backends: one client = one curl multi
 * handle driven by the loop plus a FIFO of ops, of which only the head is
 * on the wire. Serializing keeps a client's ops in issue order (a get
 * issued after a put sees it) at the cost of one round trip each, which
 * is fine for metadata (a handful of keys per engine).
 *
 * A backend turns an op into an HTTP request (prepare) and the finished
 * transfer into a result (finish), which may ask for a retry (etcd
 * failover to the next endpoint). */
#ifndef MC_HW_META_INT_H
#define MC_HW_META_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_hw_meta.h"
#include "te/mc_te_status.h"

enum { MC_HWM_GET, MC_HWM_PUT, MC_HWM_DEL };

/* Upstream's HTTP plugin limits (spec §7.3); etcd uses the same. */
#define MC_HWM_TIMEOUT_MS 3000L
#define MC_HWM_CONNECT_TIMEOUT_MS 1500L
/* Responses above this are refused (the HTTP server's body limit). */
#define MC_HWM_MAX_RESPONSE (64u << 20)

typedef struct mc_hwm_req {
    struct mc_hwm_req *next;
    uint64_t id;
    int op;
    char *key;
    char *val; /* put value (owned) */
    size_t vlen;
    mc_te_meta_cb cb;
    void *arg;
    unsigned attempts; /* transfers started for this op (failover) */
    CURL *easy;        /* non-NULL while on the wire */
    struct curl_slist *hdrs;
    char *body; /* request body the backend built (owned) */
    char *resp; /* response body, NUL-terminated when non-NULL */
    size_t rlen, rcap;
    bool too_big;
} mc_hwm_req_t;

typedef struct mc_hwm_client mc_hwm_client_t;

enum { MC_HWM_DONE, MC_HWM_RETRY };

typedef struct mc_hwm_backend {
    /* Set URL, method, body and headers on easy for r. 0, or -1 with a
     * message in c->last_err (the op fails with MC_TE_ERR_METADATA). */
    int (*prepare)(mc_hwm_client_t *c, mc_hwm_req_t *r, CURL *easy);
    /* Map a finished transfer (cc, HTTP status, r->resp) to *err and, for
     * a found get, *value (heap, freed by the caller) / *len. Returns
     * MC_HWM_DONE or MC_HWM_RETRY (prepare runs again). */
    int (*finish)(mc_hwm_client_t *c, mc_hwm_req_t *r, CURLcode cc, long status, int *err,
                  char **value, size_t *len);
    void (*destroy)(void *impl);
} mc_hwm_backend_t;

struct mc_hwm_sock;

struct mc_hwm_client {
    mc_te_meta_t meta; /* handed out; meta.impl == this */
    mc_loop_t *loop;
    CURLM *multi;
    const mc_hwm_backend_t *be;
    void *be_impl;
    mc_hwm_req_t *head, *tail;
    uint64_t next_id;
    uint64_t curl_timer; /* loop timer curl asked for */
    uint64_t kick_timer; /* starts the head op from the loop */
    struct mc_hwm_sock *socks;
    int busy;  /* nesting depth of loop callbacks in this client */
    bool dead; /* destroyed while busy: freed when busy drops to 0 */
    char last_err[256];
};

/* Creates a client over backend be (takes ownership of be_impl). */
mc_hwm_client_t *mc_hwm_client_new(mc_loop_t *loop, const mc_hwm_backend_t *be, void *be_impl);
/* Record a failure message (also kept for mc_hw_meta_last_error). */
void mc_hwm_set_err(mc_hwm_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Transport failure as text ("connection refused", "timed out", ...). */
const char *mc_hwm_curl_reason(CURLcode cc);

/* Backends: parse the conn tail and build a client. NULL + err on bad input. */
mc_te_meta_t *mc_hwm_http_open(mc_loop_t *loop, const char *url, char *err, size_t errlen);
mc_te_meta_t *mc_hwm_etcd_open(mc_loop_t *loop, const char *endpoints, char *err, size_t errlen);

#endif
