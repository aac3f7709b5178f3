/* The HTTP metadata server (spec store.md §5): an in-memory key/value
 * store for transfer-engine descriptors, served over HTTP by
 * libmicrohttpd on its own thread. Embedded in mooncake_master and run
 * standalone by mooncake_http_metadata_server.
 *
 *   GET    /metadata?key=K  200 body | 404 "metadata not found" | 400 "Missing key parameter"
 *   PUT    /metadata?key=K  200 "metadata updated"; an existing key containing
 *                           "rpc_meta": identical body 200 "metadata unchanged",
 *                           different body 400 "Duplicate rpc_meta key not allowed"
 *   DELETE /metadata?key=K  200 "metadata deleted" | 404 "metadata not found"
 *   GET    /health          200 "OK"
 *   other methods on /metadata: 405; other paths: 404. Bodies over 64 MiB: 413. */
#ifndef MC_HTTP_META_H
#define MC_HTTP_META_H

#include <stddef.h>
#include <stdint.h>

typedef struct mc_http_meta mc_http_meta_t;

/* Start serving on host:port (port 0 = ephemeral). NULL with err on failure. */
mc_http_meta_t *mc_http_meta_start(const char *host, uint16_t port, char *err, size_t errlen);
uint16_t mc_http_meta_port(const mc_http_meta_t *m);
/* Stop and free; NULL is a no-op. */
void mc_http_meta_stop(mc_http_meta_t *m);

#endif
