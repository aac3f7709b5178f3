/* etcd v3 JSON-gateway codec (pure: cJSON only, no I/O), used by the etcd
 * metadata backend and fuzzed by tests/fuzz/fuzz_etcd_json.c.
 *
 * The gateway speaks protobuf-JSON: bytes fields are standard base64,
 * int64 fields are strings, and empty/zero fields are omitted (a key with
 * an empty value has no "value" member). Errors come back as
 * {"error":"...","code":N,"message":"..."} with a non-200 status. */
#ifndef MC_HW_META_ETCD_JSON_H
#define MC_HW_META_ETCD_JSON_H

#include <stddef.h>

/* Standard base64 with padding. encode returns a NUL-terminated heap
 * string. decode is strict (alphabet, padding, zero pad bits), so a
 * successful decode re-encodes to exactly its input; it writes at most
 * n/4*3 bytes to out and returns the length, or -1. */
char *mc_b64_encode(const void *src, size_t n);
long mc_b64_decode(const char *src, size_t n, unsigned char *out);

/* Request bodies (heap strings): {"key":b64} and {"key":b64,"value":b64}. */
char *mc_etcd_req_key(const char *key);
char *mc_etcd_req_put(const char *key, const char *value, size_t len);

/* RangeResponse for `key`: 1 found (*value heap, NUL-terminated, *len),
 * 0 absent (no kvs), -1 malformed or an error object (message in err;
 * *value NULL). A kvs entry whose key is not `key` is malformed. */
int mc_etcd_parse_range(const char *body, size_t n, const char *key, char **value, size_t *len,
                        char *err, size_t errlen);
/* Put/DeleteRange response: 0 when it is an object with a "header" object
 * and no "error", else -1 with a message. */
int mc_etcd_parse_ok(const char *body, size_t n, char *err, size_t errlen);

#endif
