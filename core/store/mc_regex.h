/* Key pattern matching for *ByRegex operations: POSIX extended regular
 * expressions (<regex.h>, pure libc) with SEARCH semantics: a key matches
 * when the pattern matches anywhere in it (spec §10.12). Upstream uses
 * ECMAScript syntax; ERE covers the common subset (no \d, lookaround or
 * lazy quantifiers). Keys may contain any bytes, including NUL. */
#ifndef MC_REGEX_H
#define MC_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/mc_bytes.h"
#include "base/mc_status.h"

typedef struct mc_regex {
    regex_t re;
    char *buf; /* NUL-terminated copy of the subject (sanitizers read to NUL) */
    size_t cap;
} mc_regex_t;

/* MC_INVALID_PARAMS for a NULL/invalid pattern, with "invalid regex
 * '<pattern>': <reason>" written into err (if err != NULL). */
mc_status_t mc_regex_compile(mc_regex_t *r, const char *pattern, char *err, size_t errlen);
bool mc_regex_search(mc_regex_t *r, mc_slice_t key);
void mc_regex_free(mc_regex_t *r);

#endif
