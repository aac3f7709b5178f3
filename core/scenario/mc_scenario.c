/* Scenario lifetime, lookups, names and the small value formats
 * (durations, bandwidths, ${node.prop} references). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario_int.h"

void mc_net_model_default(mc_net_model_t *m)
{
    memset(m, 0, sizeof *m);
    m->latency_ns = 50000;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mc_free(v[i]);
    mc_free(v);
}

/* Safe on a zeroed or partially built scenario (parse errors). */
void mc_scenario_free(mc_scenario_t *s)
{
    if (!s)
        return;
    mc_free(s->name);
    mc_free(s->description);
    mc_free(s->file);
    for (size_t i = 0; i < s->nnodes; i++) {
        mc_free(s->nodes[i].name);
        mc_free(s->nodes[i].role);
        mc_conf_free(&s->nodes[i].conf);
    }
    mc_free(s->nodes);
    for (size_t i = 0; i < s->nfaults; i++) {
        mc_free(s->faults[i].node);
        free_strv(s->faults[i].nodes, s->faults[i].nnodes);
        free_strv(s->faults[i].peers, s->faults[i].npeers);
    }
    mc_free(s->faults);
    for (size_t i = 0; i < s->ncmds; i++) {
        mc_free(s->cmds[i].node);
        mc_free(s->cmds[i].cmd);
        mc_conf_free(&s->cmds[i].args);
    }
    mc_free(s->cmds);
    for (size_t i = 0; i < s->nexpects; i++) {
        mc_free(s->expects[i].event);
        mc_free(s->expects[i].node);
        mc_conf_free(&s->expects[i].fields);
        mc_free(s->expects[i].text);
    }
    mc_free(s->expects);
    memset(s, 0, sizeof *s);
}

const mc_scn_node_t *mc_scenario_node(const mc_scenario_t *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0)
            return &s->nodes[i];
    return NULL;
}

static const char *const fault_names[MC_FAULT__COUNT] = {
    [MC_FAULT_CRASH] = "crash",
    [MC_FAULT_RESTART] = "restart",
    [MC_FAULT_PAUSE] = "pause",
    [MC_FAULT_RESUME] = "resume",
    [MC_FAULT_PARTITION] = "partition",
    [MC_FAULT_HEAL] = "heal",
    [MC_FAULT_NIC_DOWN] = "nic_down",
    [MC_FAULT_NIC_UP] = "nic_up",
    [MC_FAULT_CLOCK_DRIFT] = "clock_drift",
    [MC_FAULT_CLOCK_STEP] = "clock_step",
    [MC_FAULT_NET] = "net",
    [MC_FAULT_XFER_BLACKHOLE] = "xfer_blackhole",
    [MC_FAULT_XFER_BLACKHOLE_OFF] = "xfer_blackhole_off",
};

const char *mc_fault_kind_name(mc_fault_kind_t k)
{
    return (unsigned)k < MC_FAULT__COUNT ? fault_names[k] : "unknown";
}

bool mc_fault_kind_from_name(const char *name, mc_fault_kind_t *out)
{
    for (unsigned i = 0; i < MC_FAULT__COUNT; i++) {
        if (strcmp(fault_names[i], name) == 0) {
            *out = (mc_fault_kind_t)i;
            return true;
        }
    }
    return false;
}

const char *mc_expect_kind_name(mc_expect_kind_t k)
{
    return k == MC_EXPECT_SAFETY ? "safety" : "liveness";
}

/* "<whole>.<frac>" with trailing zeros of frac removed; frac has digits places. */
static void fmt_frac(char *buf, size_t n, uint64_t whole, uint64_t frac, int digits, const char *unit)
{
    if (frac == 0) {
        snprintf(buf, n, "%llu%s", (unsigned long long)whole, unit);
        return;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, n, "%llu.%0*llu%s", (unsigned long long)whole, digits, (unsigned long long)frac, unit);
}

char *mc_duration_fmt(uint64_t ns, char *buf, size_t buflen)
{
    if (ns >= 1000000000ULL)
        fmt_frac(buf, buflen, ns / 1000000000ULL, ns % 1000000000ULL, 9, "s");
    else if (ns >= 1000000ULL)
        fmt_frac(buf, buflen, ns / 1000000ULL, ns % 1000000ULL, 6, "ms");
    else if (ns >= 1000ULL)
        fmt_frac(buf, buflen, ns / 1000ULL, ns % 1000ULL, 3, "us");
    else if (ns == 0)
        snprintf(buf, buflen, "0s");
    else
        snprintf(buf, buflen, "%lluns", (unsigned long long)ns);
    return buf;
}

bool mc_parse_bandwidth_bps(const char *s, uint64_t *out_bps)
{
    if (!s || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        return false;
    if (strpbrk(s, "xX")) /* strtod would read hex floats */
        return false;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0))
        return false;
    double mult = 1;
    const char *u = end;
    switch (*u) {
    case 'k': case 'K': mult = 1e3; u++; break;
    case 'M': mult = 1e6; u++; break;
    case 'G': mult = 1e9; u++; break;
    case 'T': mult = 1e12; u++; break;
    default: break;
    }
    if (mult != 1 && *u == 'i') { /* KiB/s, Gibit */
        mult = mult == 1e3 ? 1024.0 : mult == 1e6 ? 1048576.0 : mult == 1e9 ? 1073741824.0 : 1099511627776.0;
        u++;
    }
    /* Case matters here: "Gbps" is gigabits, "GBps"/"GB/s" gigabytes. */
    static const char *const bit_units[] = {"", "bit", "bit/s", "bps", "b/s", "b"};
    static const char *const byte_units[] = {"B/s", "Bps", "B"};
    double scale = 0;
    for (size_t i = 0; i < sizeof bit_units / sizeof bit_units[0]; i++)
        if (strcmp(u, bit_units[i]) == 0)
            scale = 1;
    for (size_t i = 0; i < sizeof byte_units / sizeof byte_units[0]; i++)
        if (strcmp(u, byte_units[i]) == 0)
            scale = 8;
    if (scale == 0 || (mult != 1 && *u == '\0')) /* "10G": bits or bytes? */
        return false;
    double r = v * mult * scale;
    if (!(r < 18446744073709551615.0))
        return false;
    *out_bps = (uint64_t)r;
    return true;
}

void mc_strbuf_add(mc_strbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = mc_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

char *mc_strbuf_take(mc_strbuf_t *b)
{
    char *r = b->p ? b->p : mc_strdup("");
    memset(b, 0, sizeof *b);
    return r;
}

bool mc_scn_refs_expand(const char *value, mc_ref_fn fn, void *ctx, mc_strbuf_t *out, char *err,
                        size_t errlen)
{
    const char *v = value;
    for (;;) {
        const char *d = strchr(v, '$');
        if (!d) {
            if (out)
                mc_strbuf_add(out, v, strlen(v));
            return true;
        }
        if (out)
            mc_strbuf_add(out, v, (size_t)(d - v));
        if (d[1] == '$' && d[2] == '{') { /* "$${" escapes a literal "${" */
            if (out)
                mc_strbuf_add(out, "${", 2);
            v = d + 3;
            continue;
        }
        if (d[1] != '{') {
            if (out)
                mc_strbuf_add(out, "$", 1);
            v = d + 1;
            continue;
        }
        const char *body = d + 2;
        const char *close = strchr(body, '}');
        if (!close) {
            snprintf(err, errlen, "unterminated '${'");
            return false;
        }
        const char *dot = memchr(body, '.', (size_t)(close - body));
        if (!dot || dot == body || dot + 1 == close) {
            snprintf(err, errlen, "bad reference '%.*s' (expected ${<node>.addr} or ${<node>.name})",
                     (int)(close - d + 1), d);
            return false;
        }
        if (!fn(ctx, body, (size_t)(dot - body), dot + 1, (size_t)(close - dot - 1), out, err, errlen))
            return false;
        v = close + 1;
    }
}
