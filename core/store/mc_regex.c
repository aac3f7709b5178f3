#include "store/mc_regex.h"

#include <stdio.h>
#include <string.h>

#include "base/mc_mem.h"

mc_status_t mc_regex_compile(mc_regex_t *r, const char *pattern, char *err, size_t errlen)
{
    if (!pattern) {
        if (err && errlen)
            snprintf(err, errlen, "invalid regex: no pattern");
        return MC_INVALID_PARAMS;
    }
    r->buf = NULL;
    r->cap = 0;
    int rc = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        if (err && errlen) {
            char why[128];
            regerror(rc, &r->re, why, sizeof why);
            snprintf(err, errlen, "invalid regex '%s': %s", pattern, why);
        }
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

bool mc_regex_search(mc_regex_t *r, mc_slice_t key)
{
    if (key.len + 1 > r->cap) {
        r->cap = key.len + 1 > 2 * r->cap ? key.len + 1 : 2 * r->cap;
        r->buf = mc_realloc(r->buf, r->cap);
    }
    memcpy(r->buf, key.p, key.len);
    r->buf[key.len] = 0;
    /* REG_STARTEND bounds the subject by length: keys may hold NUL bytes. */
    regmatch_t pm[1];
    pm[0].rm_so = 0;
    pm[0].rm_eo = (regoff_t)key.len;
    return regexec(&r->re, r->buf, 1, pm, REG_STARTEND) == 0;
}

void mc_regex_free(mc_regex_t *r)
{
    regfree(&r->re);
    mc_free(r->buf);
    r->buf = NULL;
}
