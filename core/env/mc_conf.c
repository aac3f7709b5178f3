#include "mc_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/mc_mem.h"

void mc_conf_init(mc_conf_t *c)
{
    memset(c, 0, sizeof *c);
}

void mc_conf_free(mc_conf_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        mc_free(c->kv[i].key);
        mc_free(c->kv[i].value);
    }
    mc_free(c->kv);
    mc_conf_init(c);
}

void mc_conf_set(mc_conf_t *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->kv[i].key, key) == 0) {
            mc_free(c->kv[i].value);
            c->kv[i].value = mc_strdup(value);
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->kv = mc_realloc(c->kv, c->cap * sizeof *c->kv);
    }
    c->kv[c->n].key = mc_strdup(key);
    c->kv[c->n].value = mc_strdup(value);
    c->n++;
}

void mc_conf_copy(mc_conf_t *dst, const mc_conf_t *src)
{
    for (size_t i = 0; i < src->n; i++)
        mc_conf_set(dst, src->kv[i].key, src->kv[i].value);
}

const char *mc_conf_get(const mc_conf_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->kv[i].key, key) == 0)
            return c->kv[i].value;
    return NULL;
}

const char *mc_conf_str(const mc_conf_t *c, const char *key, const char *def)
{
    const char *v = mc_conf_get(c, key);
    return v ? v : def;
}

bool mc_parse_u64(const char *s, uint64_t *out)
{
    /* Digits only: no sign, spaces, hex or silent overflow (strtoull takes all four). */
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* "<digits>[.<digits>]<unit>" with the unit from the table (or none:
 * bare_mult). Strict on purpose: no sign, spaces, hex, exponent, nan/inf. */
static bool parse_scaled(const char *s, const char *const units[], const uint64_t mult[],
                         size_t nunits, uint64_t bare_mult, uint64_t *out)
{
    if (!s)
        return false;
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == s)
        return false;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return false;
    }
    uint64_t m = bare_mult;
    if (*p) {
        size_t i;
        for (i = 0; i < nunits; i++)
            if (strcasecmp(p, units[i]) == 0)
                break;
        if (i == nunits)
            return false;
        m = mult[i];
    }
    double v = strtod(s, NULL); /* s..p is a plain decimal: strtod is exact enough */
    double r = v * (double)m;
    if (r >= 18446744073709551615.0)
        return false;
    *out = (uint64_t)r;
    return true;
}

bool mc_parse_duration_ns(const char *s, uint64_t *out_ns)
{
    static const char *const u[] = {"ns", "us", "ms", "s", "m", "h"};
    static const uint64_t m[] = {1, 1000, 1000000, 1000000000ULL, 60000000000ULL, 3600000000000ULL};
    return parse_scaled(s, u, m, 6, 1000000, out_ns);
}

bool mc_parse_size(const char *s, uint64_t *out)
{
    static const char *const u[] = {"b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib"};
    static const uint64_t m[] = {1, 1ULL << 10, 1000, 1ULL << 10, 1ULL << 20, 1000000, 1ULL << 20,
                                 1ULL << 30, 1000000000ULL, 1ULL << 30, 1ULL << 40, 1000000000000ULL, 1ULL << 40};
    return parse_scaled(s, u, m, sizeof u / sizeof u[0], 1, out);
}

static mc_status_t bad(mc_conf_t *c, const char *key, const char *v, const char *what)
{
    snprintf(c->err, sizeof c->err, "key '%s': bad %s '%s'", key, what, v);
    return MC_INVALID_PARAMS;
}

mc_status_t mc_conf_u64(mc_conf_t *c, const char *key, uint64_t def, uint64_t *out)
{
    const char *v = mc_conf_get(c, key);
    if (!v) {
        *out = def;
        return MC_OK;
    }
    return mc_parse_u64(v, out) ? MC_OK : bad(c, key, v, "unsigned integer");
}

mc_status_t mc_conf_bool(mc_conf_t *c, const char *key, bool def, bool *out)
{
    const char *v = mc_conf_get(c, key);
    if (!v) {
        *out = def;
        return MC_OK;
    }
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
        *out = true;
        return MC_OK;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) {
        *out = false;
        return MC_OK;
    }
    return bad(c, key, v, "boolean");
}

mc_status_t mc_conf_double(mc_conf_t *c, const char *key, double def, double *out)
{
    const char *v = mc_conf_get(c, key);
    if (!v) {
        *out = def;
        return MC_OK;
    }
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end)
        return bad(c, key, v, "number");
    *out = d;
    return MC_OK;
}

mc_status_t mc_conf_duration(mc_conf_t *c, const char *key, uint64_t def_ns, uint64_t *out_ns)
{
    const char *v = mc_conf_get(c, key);
    if (!v) {
        *out_ns = def_ns;
        return MC_OK;
    }
    return mc_parse_duration_ns(v, out_ns) ? MC_OK : bad(c, key, v, "duration");
}

mc_status_t mc_conf_size(mc_conf_t *c, const char *key, uint64_t def, uint64_t *out)
{
    const char *v = mc_conf_get(c, key);
    if (!v) {
        *out = def;
        return MC_OK;
    }
    return mc_parse_size(v, out) ? MC_OK : bad(c, key, v, "size");
}
