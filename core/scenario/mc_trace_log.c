/* Trace records: the sim appends them directly, hw parses "@trace" lines
 * from each process's stdout. One allocation per record (node, event and
 * fields packed together) because swarm runs hold millions of them. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario.h"

void mc_trace_log_init(mc_trace_log_t *l)
{
    memset(l, 0, sizeof *l);
}

void mc_trace_log_free(mc_trace_log_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        mc_free(l->recs[i].node); /* the record's single block */
    mc_free(l->recs);
    mc_trace_log_init(l);
}

static void add_n(mc_trace_log_t *l, uint64_t t_ns, const char *node, size_t nl, const char *event,
                  size_t el, const char *fields, size_t fl)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->recs = mc_realloc(l->recs, l->cap * sizeof *l->recs);
    }
    char *blk = mc_malloc(nl + el + fl + 3);
    mc_trace_rec_t *r = &l->recs[l->n++];
    r->t_ns = t_ns;
    r->node = blk;
    memcpy(blk, node, nl);
    blk[nl] = '\0';
    r->event = blk + nl + 1;
    memcpy(r->event, event, el);
    r->event[el] = '\0';
    r->fields = r->event + el + 1;
    memcpy(r->fields, fields, fl);
    r->fields[fl] = '\0';
}

void mc_trace_log_add(mc_trace_log_t *l, uint64_t t_ns, const char *node, const char *event,
                      const char *fields)
{
    node = node ? node : "";
    event = event ? event : "";
    fields = fields ? fields : "";
    add_n(l, t_ns, node, strlen(node), event, strlen(event), fields, strlen(fields));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool mc_trace_parse_line(const char *line, mc_trace_log_t *l)
{
    static const char tag[] = "@trace";
    if (!line || strncmp(line, tag, sizeof tag - 1) != 0 || !is_space(line[sizeof tag - 1]))
        return false;
    const char *p = line + sizeof tag - 1;
    while (is_space(*p))
        p++;
    uint64_t t = 0;
    const char *digits = p;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (t > (UINT64_MAX - d) / 10)
            return false; /* overflow */
        t = t * 10 + d;
    }
    if (p == digits || !is_space(*p))
        return false;
    const char *tok[2];
    size_t len[2];
    for (int i = 0; i < 2; i++) {
        while (is_space(*p))
            p++;
        tok[i] = p;
        while (*p && !is_space(*p) && *p != '\n' && *p != '\r')
            p++;
        len[i] = (size_t)(p - tok[i]);
        if (!len[i])
            return false;
    }
    while (is_space(*p))
        p++;
    const char *f = p;
    size_t fl = strlen(f);
    while (fl && (f[fl - 1] == '\n' || f[fl - 1] == '\r' || is_space(f[fl - 1])))
        fl--;
    add_n(l, t, tok[0], len[0], tok[1], len[1], f, fl);
    return true;
}

int mc_trace_fmt_line(char *buf, size_t buflen, uint64_t t_ns, const char *node, const char *event,
                      const char *fields)
{
    if (fields && *fields)
        return snprintf(buf, buflen, "@trace %llu %s %s %s", (unsigned long long)t_ns, node, event,
                        fields);
    return snprintf(buf, buflen, "@trace %llu %s %s", (unsigned long long)t_ns, node, event);
}

/* Locate key's value: raw span (escapes intact if quoted). */
static bool field_find(const char *f, const char *key, const char **v, size_t *vl, bool *quoted)
{
    size_t kl = strlen(key);
    while (*f) {
        while (is_space(*f))
            f++;
        if (!*f)
            break;
        const char *k = f;
        while (*f && *f != '=' && !is_space(*f))
            f++;
        bool match = (size_t)(f - k) == kl && memcmp(k, key, kl) == 0 && *f == '=';
        if (*f != '=')
            continue; /* a bare word: not a field */
        f++;
        const char *s = f;
        bool q = *f == '"';
        if (q) {
            s = ++f;
            while (*f && *f != '"')
                f += (f[0] == '\\' && f[1]) ? 2 : 1;
        } else {
            while (*f && !is_space(*f))
                f++;
        }
        if (match) {
            *v = s;
            *vl = (size_t)(f - s);
            *quoted = q;
            return true;
        }
        if (q && *f == '"')
            f++;
    }
    return false;
}

bool mc_trace_field(const char *fields, const char *key, char *buf, size_t buflen)
{
    const char *v;
    size_t vl, o = 0;
    bool q;
    if (!fields || !field_find(fields, key, &v, &vl, &q) || !buflen)
        return false;
    for (size_t i = 0; i < vl; i++) {
        if (q && v[i] == '\\' && i + 1 < vl)
            i++;
        if (o + 1 >= buflen)
            return false;
        buf[o++] = v[i];
    }
    buf[o] = '\0';
    return true;
}

bool mc_trace_field_eq(const char *fields, const char *key, const char *value)
{
    const char *v;
    size_t vl, o = 0;
    bool q;
    if (!fields || !field_find(fields, key, &v, &vl, &q))
        return false;
    for (size_t i = 0; i < vl; i++, o++) {
        if (q && v[i] == '\\' && i + 1 < vl)
            i++;
        if (value[o] != v[i])
            return false;
    }
    return value[o] == '\0';
}
