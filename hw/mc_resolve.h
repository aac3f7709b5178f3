/* Host-name lookups off the loop thread: each lookup runs getaddrinfo on
 * a short-lived helper thread and reports back on the loop thread through
 * an eventfd, so DNS never stalls the event loop. */
#ifndef MC_RESOLVE_H
#define MC_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

#include "mc_loop.h"

typedef struct mc_resolver mc_resolver_t;

/* On the loop thread. err is 0 and ss/len hold the first address (port
 * set), or err is a getaddrinfo error (gai_strerror) and ss is NULL. */
typedef void (*mc_resolve_cb)(void *ctx, uint64_t token, int err, const struct sockaddr_storage *ss,
                              socklen_t len);

/* NULL on error (errno set). */
mc_resolver_t *mc_resolver_create(mc_loop_t *loop, mc_resolve_cb cb, void *ctx);
/* Waits for lookups still running (bounded by the resolver's timeouts);
 * no callback runs after this. */
void mc_resolver_destroy(mc_resolver_t *r);
/* Start a lookup; its result comes back with token. 0, or -1 (errno). */
int mc_resolver_start(mc_resolver_t *r, const char *host, uint16_t port, uint64_t token);

#endif
