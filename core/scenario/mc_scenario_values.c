/* Field readers for the scenario parser: typed, path-tracking, strict. */
#include <math.h> /* isfinite: a macro */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario_int.h"

static size_t push_fmt(mc_scnp_t *p, const char *fmt, const char *s, size_t i)
{
    size_t mark = p->plen;
    char tmp[128];
    if (s)
        snprintf(tmp, sizeof tmp, fmt, s);
    else
        snprintf(tmp, sizeof tmp, fmt, i);
    size_t n = strlen(tmp);
    if (p->plen + n < sizeof p->path) { /* an overlong path is cut, never overrun */
        memcpy(p->path + p->plen, tmp, n + 1);
        p->plen += n;
    }
    return mark;
}

size_t mc_scnp_push_key(mc_scnp_t *p, const char *key)
{
    return push_fmt(p, p->plen ? ".%s" : "%s", key, 0);
}

size_t mc_scnp_push_index(mc_scnp_t *p, size_t i)
{
    return push_fmt(p, "[%zu]", NULL, i);
}

void mc_scnp_pop(mc_scnp_t *p, size_t mark)
{
    MC_ASSERT(mark <= p->plen);
    p->plen = mark;
    p->path[mark] = '\0';
}

mc_status_t mc_scnp_fail(mc_scnp_t *p, const char *fmt, ...)
{
    if (p->failed)
        return MC_INVALID_PARAMS;
    p->failed = true;
    if (!p->err || !p->errlen)
        return MC_INVALID_PARAMS;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->plen)
        snprintf(p->err, p->errlen, "%s: %s: %s", p->file, p->path, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    return MC_INVALID_PARAMS;
}

const char *mc_scnp_type_name(const cJSON *item)
{
    if (!item)
        return "nothing";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsObject(item))
        return "an object";
    return "invalid JSON";
}

static void join_allowed(const char *const *allowed, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; allowed[i] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", allowed[i]);
}

static mc_status_t key_error(mc_scnp_t *p, const char *key, const char *msg)
{
    size_t m = mc_scnp_push_key(p, key);
    mc_scnp_fail(p, "%s", msg);
    mc_scnp_pop(p, m);
    return MC_INVALID_PARAMS;
}

mc_status_t mc_scnp_check_object(mc_scnp_t *p, const cJSON *obj, const char *const *allowed)
{
    if (!cJSON_IsObject(obj))
        return mc_scnp_fail(p, "expected an object, got %s", mc_scnp_type_name(obj));
    /* cJSON keeps duplicate keys and lookups see only the first: a
     * silently ignored second value is a bug in the file. A map keeps
     * this linear for large conf objects. */
    mc_map_t seen;
    mc_map_init(&seen);
    mc_status_t st = MC_OK;
    for (const cJSON *it = obj->child; it && st == MC_OK; it = it->next) {
        MC_ASSERT(it->string != NULL);
        if (mc_map_puts(&seen, it->string, (void *)1)) {
            st = key_error(p, it->string, "duplicate key");
            break;
        }
        if (!allowed)
            continue;
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], it->string) == 0)
                break;
        if (!allowed[i]) {
            char list[256], msg[300];
            join_allowed(allowed, list, sizeof list);
            snprintf(msg, sizeof msg, "unknown key (expected one of: %s)", list);
            st = key_error(p, it->string, msg);
        }
    }
    mc_map_free(&seen);
    return st;
}

/* Look up key; NULL and an error when required and absent. */
static const cJSON *field(mc_scnp_t *p, const cJSON *obj, const char *key, bool required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it && required) {
        size_t m = mc_scnp_push_key(p, key);
        mc_scnp_fail(p, "missing (required)");
        mc_scnp_pop(p, m);
    }
    return it;
}

mc_status_t mc_scnp_str(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                        const char *def, char **out)
{
    const cJSON *it = field(p, obj, key, required);
    if (!it) {
        if (p->failed)
            return MC_INVALID_PARAMS;
        *out = def ? mc_strdup(def) : NULL;
        return MC_OK;
    }
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = MC_OK;
    if (!cJSON_IsString(it))
        st = mc_scnp_fail(p, "expected a string, got %s", mc_scnp_type_name(it));
    else if (required && !it->valuestring[0])
        st = mc_scnp_fail(p, "must not be empty");
    else
        *out = mc_strdup(it->valuestring);
    mc_scnp_pop(p, m);
    return st;
}

/* JSON integers are doubles: beyond 2^53 they are no longer exact. */
#define MC_JSON_MAX_INT 9007199254740992.0

mc_status_t mc_scnp_u64(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                        uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
    const cJSON *it = field(p, obj, key, required);
    if (!it) {
        *out = def;
        return p->failed ? MC_INVALID_PARAMS : MC_OK;
    }
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = MC_OK;
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it))
        st = mc_scnp_fail(p, "expected an integer, got %s", mc_scnp_type_name(it));
    else if (!(d >= 0 && d <= MC_JSON_MAX_INT) || d != (double)(uint64_t)d)
        st = mc_scnp_fail(p, "expected a non-negative integer, got %g", d);
    else if ((uint64_t)d < min || (uint64_t)d > max)
        st = mc_scnp_fail(p, "%llu is outside [%llu, %llu]", (unsigned long long)d,
                          (unsigned long long)min, (unsigned long long)max);
    else
        *out = (uint64_t)d;
    mc_scnp_pop(p, m);
    return st;
}

mc_status_t mc_scnp_bool(mc_scnp_t *p, const cJSON *obj, const char *key, bool def, bool *out)
{
    const cJSON *it = field(p, obj, key, false);
    if (!it) {
        *out = def;
        return MC_OK;
    }
    if (cJSON_IsBool(it)) {
        *out = cJSON_IsTrue(it);
        return MC_OK;
    }
    size_t m = mc_scnp_push_key(p, key);
    mc_scnp_fail(p, "expected true or false, got %s", mc_scnp_type_name(it));
    mc_scnp_pop(p, m);
    return MC_INVALID_PARAMS;
}

mc_status_t mc_scnp_duration_item(mc_scnp_t *p, const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsString(item))
        return mc_scnp_fail(p, "expected a duration string such as \"5s\" or \"250ms\", got %s",
                            mc_scnp_type_name(item));
    const char *v = item->valuestring;
    size_t n = strlen(v);
    if (v[0] == '-')
        return mc_scnp_fail(p, "negative duration '%s'", v);
    /* Require a leading digit (strtod would take "nan", "inf", "0x1p3")
     * and a unit (a bare number means ms to mc_parse_duration_ns, which is
     * a trap in a file where everything else carries a unit). */
    bool lead = (v[0] >= '0' && v[0] <= '9') || (v[0] == '.' && v[1] >= '0' && v[1] <= '9');
    bool unit = n && ((v[n - 1] >= 'a' && v[n - 1] <= 'z') || (v[n - 1] >= 'A' && v[n - 1] <= 'Z'));
    for (size_t i = 0; lead && i < n; i++)
        if (v[i] == 'x' || v[i] == 'X' || v[i] == 'p' || v[i] == 'P')
            lead = false;
    if (!lead || !unit || !mc_parse_duration_ns(v, out))
        return mc_scnp_fail(p, "bad duration '%s' (expected a number and a unit: ns, us, ms, s, m, h)",
                            v);
    return MC_OK;
}

mc_status_t mc_scnp_duration(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                             uint64_t def, uint64_t *out)
{
    const cJSON *it = field(p, obj, key, required);
    if (!it) {
        *out = def;
        return p->failed ? MC_INVALID_PARAMS : MC_OK;
    }
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = mc_scnp_duration_item(p, it, out);
    mc_scnp_pop(p, m);
    return st;
}

mc_status_t mc_scnp_at(mc_scnp_t *p, const cJSON *obj, uint64_t *out)
{
    if (mc_scnp_duration(p, obj, "at", true, 0, out) != MC_OK)
        return MC_INVALID_PARAMS;
    if (*out > p->s->duration_ns) {
        char a[32], d[32];
        size_t m = mc_scnp_push_key(p, "at");
        mc_scnp_fail(p, "%s is after the end of the scenario (duration %s)",
                     mc_duration_fmt(*out, a, sizeof a),
                     mc_duration_fmt(p->s->duration_ns, d, sizeof d));
        mc_scnp_pop(p, m);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

/* Shortest text that reads back as the same double; integers without ".0". */
static void fmt_number(double d, char *buf, size_t n)
{
    /* The range check comes first: the cast is defined only inside it.
     * (No floor/fabs: core/ does not link libm.) */
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
        snprintf(buf, n, "%lld", (long long)d);
        return;
    }
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, n, "%.17g", d);
}

typedef struct ref_check {
    mc_scnp_t *p;
} ref_check_t;

static bool ref_validate(void *ctx, const char *node, size_t nlen, const char *prop, size_t plen,
                         mc_strbuf_t *out, char *err, size_t errlen)
{
    ref_check_t *rc = ctx;
    (void)out;
    if (!mc_map_get(&rc->p->names, node, nlen)) {
        snprintf(err, errlen, "unknown node '%.*s'", (int)nlen, node);
        return false;
    }
    if (!(plen == 4 && memcmp(prop, "addr", 4) == 0) && !(plen == 4 && memcmp(prop, "name", 4) == 0)) {
        snprintf(err, errlen, "unknown property '%.*s' (expected addr or name)", (int)plen, prop);
        return false;
    }
    return true;
}

mc_status_t mc_scnp_conf(mc_scnp_t *p, const cJSON *obj, const char *key, bool check_refs,
                         mc_conf_t *c)
{
    const cJSON *it = field(p, obj, key, false);
    if (!it)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = mc_scnp_check_object(p, it, NULL);
    for (const cJSON *kv = it->child; st == MC_OK && kv; kv = kv->next) {
        size_t mk = mc_scnp_push_key(p, kv->string);
        char num[40];
        const char *v = NULL;
        if (cJSON_IsString(kv))
            v = kv->valuestring;
        else if (cJSON_IsBool(kv))
            v = cJSON_IsTrue(kv) ? "true" : "false";
        else if (cJSON_IsNumber(kv) && isfinite(kv->valuedouble))
            fmt_number(kv->valuedouble, num, sizeof num), v = num;
        if (!kv->string[0])
            st = mc_scnp_fail(p, "empty key");
        else if (!v)
            st = mc_scnp_fail(p, "expected a string, number or boolean, got %s",
                              mc_scnp_type_name(kv));
        if (st == MC_OK && check_refs) {
            char e[160];
            ref_check_t rc = {p};
            if (!mc_scn_refs_expand(v, ref_validate, &rc, NULL, e, sizeof e))
                st = mc_scnp_fail(p, "%s in '%s'", e, v);
        }
        if (st == MC_OK)
            mc_conf_set(c, kv->string, v);
        mc_scnp_pop(p, mk);
    }
    mc_scnp_pop(p, m);
    return st;
}

static mc_status_t prob(mc_scnp_t *p, const cJSON *obj, const char *key, double *out, unsigned bit,
                        unsigned *mask)
{
    const cJSON *it = field(p, obj, key, false);
    if (!it)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = MC_OK;
    if (!cJSON_IsNumber(it))
        st = mc_scnp_fail(p, "expected a probability in [0,1], got %s", mc_scnp_type_name(it));
    else if (!(it->valuedouble >= 0.0 && it->valuedouble <= 1.0))
        st = mc_scnp_fail(p, "probability %g is outside [0,1]", it->valuedouble);
    else
        *out = it->valuedouble, *mask |= bit;
    mc_scnp_pop(p, m);
    return st;
}

mc_status_t mc_scnp_net(mc_scnp_t *p, const cJSON *obj, const char *key, mc_net_model_t *nm,
                        unsigned *mask)
{
    static const char *const keys[] = {"latency", "jitter", "bandwidth", "loss", "dup", "reorder", NULL};
    *mask = 0;
    const cJSON *it = field(p, obj, key, false);
    if (!it)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = mc_scnp_check_object(p, it, keys);
    if (st == MC_OK && cJSON_GetObjectItemCaseSensitive(it, "latency")) {
        st = mc_scnp_duration(p, it, "latency", false, 0, &nm->latency_ns);
        *mask |= MC_NETF_LATENCY;
    }
    if (st == MC_OK && cJSON_GetObjectItemCaseSensitive(it, "jitter")) {
        st = mc_scnp_duration(p, it, "jitter", false, 0, &nm->jitter_ns);
        *mask |= MC_NETF_JITTER;
    }
    const cJSON *bw = cJSON_GetObjectItemCaseSensitive(it, "bandwidth");
    if (st == MC_OK && bw) {
        size_t mb = mc_scnp_push_key(p, "bandwidth");
        if (cJSON_IsNumber(bw) && bw->valuedouble >= 0 && bw->valuedouble < 1.8e19)
            nm->bandwidth_bps = (uint64_t)bw->valuedouble;
        else if (!cJSON_IsString(bw) || !mc_parse_bandwidth_bps(bw->valuestring, &nm->bandwidth_bps))
            st = mc_scnp_fail(p, "bad bandwidth %s%s%s (expected e.g. \"10Gbit\", \"1Gbps\", "
                                 "\"100Mbit\", \"1GB/s\"; \"0\" = unlimited)",
                              cJSON_IsString(bw) ? "'" : "",
                              cJSON_IsString(bw) ? bw->valuestring : mc_scnp_type_name(bw),
                              cJSON_IsString(bw) ? "'" : "");
        mc_scnp_pop(p, mb);
        *mask |= MC_NETF_BANDWIDTH;
    }
    if (st == MC_OK)
        st = prob(p, it, "loss", &nm->loss, MC_NETF_LOSS, mask);
    if (st == MC_OK)
        st = prob(p, it, "dup", &nm->dup, MC_NETF_DUP, mask);
    if (st == MC_OK)
        st = prob(p, it, "reorder", &nm->reorder, MC_NETF_REORDER, mask);
    mc_scnp_pop(p, m);
    return st;
}

mc_status_t mc_scnp_node_ref(mc_scnp_t *p, const cJSON *item, size_t *idx)
{
    if (!cJSON_IsString(item))
        return mc_scnp_fail(p, "expected a node name, got %s", mc_scnp_type_name(item));
    void *v = mc_map_gets(&p->names, item->valuestring);
    if (!v)
        return mc_scnp_fail(p, "unknown node '%s'", item->valuestring);
    *idx = (size_t)(uintptr_t)v - 1;
    return MC_OK;
}
