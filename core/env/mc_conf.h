/* Node configuration: an ordered list of string key/value pairs. The
 * simulator fills it from a scenario file, hw binaries from their flags,
 * so a role reads its settings the same way in both worlds. */
#ifndef MC_CONF_H
#define MC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/mc_status.h"

typedef struct mc_conf_kv {
    char *key;
    char *value;
} mc_conf_kv_t;

typedef struct mc_conf {
    mc_conf_kv_t *kv;
    size_t n;
    size_t cap;
    char err[256]; /* last error, "key 'ttl': bad duration 'x'" */
} mc_conf_t;

void mc_conf_init(mc_conf_t *c);
void mc_conf_free(mc_conf_t *c);
/* Set (replace if present). */
void mc_conf_set(mc_conf_t *c, const char *key, const char *value);
void mc_conf_copy(mc_conf_t *dst, const mc_conf_t *src);
const char *mc_conf_get(const mc_conf_t *c, const char *key); /* NULL if unset */
const char *mc_conf_str(const mc_conf_t *c, const char *key, const char *def);
/* Typed getters: return MC_OK (value or default stored in *out) or
 * MC_INVALID_PARAMS with c->err naming the key and the bad value. */
mc_status_t mc_conf_u64(mc_conf_t *c, const char *key, uint64_t def, uint64_t *out);
mc_status_t mc_conf_bool(mc_conf_t *c, const char *key, bool def, bool *out);
mc_status_t mc_conf_double(mc_conf_t *c, const char *key, double def, double *out);
/* Durations: "250ms", "10s", "2m", "1h", "500us", "100ns"; a bare number
 * is milliseconds (upstream's *_ms flags). Result in nanoseconds. */
mc_status_t mc_conf_duration(mc_conf_t *c, const char *key, uint64_t def_ns, uint64_t *out_ns);
/* Sizes: "64KiB", "16MB", "1GiB", "4096"; bytes. */
mc_status_t mc_conf_size(mc_conf_t *c, const char *key, uint64_t def, uint64_t *out);

/* The same parsers for free-standing strings (scenario fields, flags). */
bool mc_parse_u64(const char *s, uint64_t *out);
bool mc_parse_duration_ns(const char *s, uint64_t *out_ns);
bool mc_parse_size(const char *s, uint64_t *out);

#endif
