/* Expectation checking over a trace log: one pass per expectation. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "mc_scenario.h"

static bool rec_matches(const mc_scn_expect_t *e, const mc_trace_rec_t *r, uint64_t to)
{
    if (r->t_ns < e->from_ns || r->t_ns > to)
        return false;
    if (strcmp(r->event, e->event) != 0)
        return false;
    if (e->node && strcmp(r->node, e->node) != 0)
        return false;
    for (size_t i = 0; i < e->fields.n; i++)
        if (!mc_trace_field_eq(r->fields, e->fields.kv[i].key, e->fields.kv[i].value))
            return false;
    return true;
}

/* "master.client_expired{client=c1} on master" */
static void fmt_selector(const mc_scn_expect_t *e, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "%s", e->event);
    for (size_t i = 0; i < e->fields.n && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%c%s=%s", i ? ',' : '{', e->fields.kv[i].key,
                                e->fields.kv[i].value);
    if (e->fields.n && len < n)
        len += (size_t)snprintf(buf + len, n - len, "}");
    if (e->node && len < n)
        snprintf(buf + len, n - len, " on %s", e->node);
}

static void expect_one(const mc_scn_expect_t *e, const mc_trace_log_t *log, uint64_t end_ns,
                       mc_expect_result_t *r)
{
    uint64_t to = e->to_ns == MC_SCN_END ? end_ns : e->to_ns;
    uint64_t count = 0;
    for (size_t i = 0; i < log->n; i++)
        count += rec_matches(e, &log->recs[i], to);
    r->count = count;
    r->kind = e->kind;
    r->ok = count >= e->min && count <= e->max;

    char sel[256], range[48], from[32], until[32];
    fmt_selector(e, sel, sizeof sel);
    if (e->max == UINT64_MAX)
        snprintf(range, sizeof range, "%llu..inf", (unsigned long long)e->min);
    else
        snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)e->min,
                 (unsigned long long)e->max);
    mc_duration_fmt(e->from_ns, from, sizeof from);
    if (e->to_ns == MC_SCN_END)
        snprintf(until, sizeof until, "end");
    else
        mc_duration_fmt(e->to_ns, until, sizeof until);
    const char *text = e->text ? e->text : "";
    snprintf(r->msg, sizeof r->msg, "%s [%s] %s%sexpected %s of %s in [%s,%s], saw %llu",
             r->ok ? "ok" : "FAIL", mc_expect_kind_name(e->kind), text, *text ? ": " : "", range, sel,
             from, until, (unsigned long long)count);
}

size_t mc_expect_check(const mc_scenario_t *s, const mc_trace_log_t *log, uint64_t end_ns,
                       mc_expect_result_t *results)
{
    MC_ASSERT(s != NULL && log != NULL && (results != NULL || s->nexpects == 0));
    size_t fails = 0;
    for (size_t i = 0; i < s->nexpects; i++) {
        expect_one(&s->expects[i], log, end_ns, &results[i]);
        fails += !results[i].ok;
    }
    return fails;
}
