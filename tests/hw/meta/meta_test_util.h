/* Helpers shared by the hw metadata-backend tests: driving the loop until
 * callbacks arrive, recording results, a scriptable fake HTTP responder
 * (canned status/body, or never answering), and an etcd process on a free
 * loopback port. */
#ifndef META_TEST_UTIL_H
#define META_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mc_hw_meta.h"
#include "mc_loop.h"

#define MS (1000000ULL)

/* One op's outcome. */
typedef struct res {
    int calls;
    int err;
    bool null;
    char *val; /* heap copy, NUL-terminated */
    size_t len;
    int order; /* completion sequence number (res_seq) */
} res_t;

extern int res_seq;
void res_cb(void *arg, int err, const char *value, size_t len);
void res_reset(res_t *r);

/* Runs the loop until *calls reaches n or limit_ns passes (a hang guard,
 * not a timing assertion). Returns true when reached. */
bool run_until(mc_loop_t *l, const int *calls, int n, uint64_t limit_ns);
void run_for(mc_loop_t *l, uint64_t ns);

/* A port nothing listens on (bound then closed). */
uint16_t free_port(void);

/* Fake HTTP server: answers every request with status/body; status 0
 * means read the request and never answer. */
typedef struct fake_http fake_http_t;
fake_http_t *fake_http_start(int status, const char *body);
uint16_t fake_http_port(const fake_http_t *f);
int fake_http_requests(const fake_http_t *f);
void fake_http_stop(fake_http_t *f);

/* etcd on 127.0.0.1:<client port> with a fresh data dir. NULL (reason in
 * why) when the binary is missing or it does not come up. */
typedef struct etcd_proc etcd_proc_t;
etcd_proc_t *etcd_start(uint16_t port, char *why, size_t whylen);
uint16_t etcd_port(const etcd_proc_t *e);
void etcd_stop(etcd_proc_t *e);
bool etcd_available(void);

/* Synchronous wrappers over a client (drive the loop). */
int meta_put_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key, const char *v, size_t len);
int meta_get_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key, res_t *out);
int meta_del_sync(mc_loop_t *l, mc_te_meta_t *m, const char *key);

#endif
