/* EP checker (mc_check_ep): every EP operation in the trace, recomputed.
 *
 * From ep.op_begin / ep.op_end (role ep_rank, core/ep/mc_ep_role.c):
 *  - agreement: every rank that ended op N with status=OK reports the
 *    same final set, and is itself in it;
 *  - results: each OK rank's output hash equals the one recomputed from
 *    scratch for (op, rank, set) (mc_ep_op_expected_hash: inputs are pure
 *    functions of (op id, rank); combine replays dispatch + expert +
 *    combine), so a survivor's reduction is exactly over the agreed set;
 *  - bound: an op returns within 2 x its timeout from when it started
 *    (its begin, or the end of the op before it on that node), unless the
 *    node was paused or its clock drifted meanwhile; an op that never
 *    ended on a node that did not crash is a violation once the run went
 *    past the bound;
 *  - views: every rank's ep.view for epoch E shows the coordinator's
 *    active set of epoch E (ep.coord_view).
 * Pauses and drifts come from sim.fault lines (on real processes the
 * runner's hw.fault lines, node "-" and the paused node in node=);
 * crashes from *.node_crash.
 * O(n log n) plus the recomputations (cached per (op, rank, set)). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "../base/mc_vec.h"
#include "../ep/mc_ep_op.h"
#include "mc_scenario.h"

#define MAX_REPORT 3

typedef struct ev {
    uint64_t t;
    const mc_trace_rec_t *rec;
} ev_t;

typedef struct ck {
    mc_ep_check_result_t *res;
    size_t reported;
} ck_t;

static void violation(ck_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(ck_t *c, const char *fmt, ...)
{
    c->res->violations++;
    if (c->reported++ >= MAX_REPORT)
        return;
    size_t off = strlen(c->res->msg);
    if (off && off + 2 < sizeof c->res->msg)
        off += (size_t)snprintf(c->res->msg + off, sizeof c->res->msg - off, "; ");
    va_list ap;
    va_start(ap, fmt);
    if (off < sizeof c->res->msg)
        vsnprintf(c->res->msg + off, sizeof c->res->msg - off, fmt, ap);
    va_end(ap);
}

static int ev_cmp(const void *a, const void *b)
{
    const ev_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec; /* log order: stable */
}

static uint64_t fu64(const char *fields, const char *k, int base, bool *ok)
{
    char buf[64], *end;
    if (!mc_trace_field(fields, k, buf, sizeof buf)) {
        *ok = false;
        return 0;
    }
    unsigned long long v = strtoull(buf, &end, base);
    if (end == buf || *end)
        *ok = false;
    return v;
}

/* Per-node state while walking the sorted events. */
typedef struct nstate {
    const char *name;
    char *own_name;           /* name's storage when it came from a field (hw.fault) */
    uint64_t prev_end;        /* end of the node's previous op */
    bool crashed_since;       /* crashed after the current op began */
    uint64_t paused_from;     /* 0: not paused now */
    mc_vec_t pauses;          /* uint64_t pairs [from, to) */
    bool drift;
    mc_vec_t open;            /* open ops: struct open_op */
} nstate_t;

typedef struct open_op {
    uint64_t id, begin, timeout;
    const char *fields;
} open_op_t;

static nstate_t *node_get(mc_map_t *m, const char *name)
{
    nstate_t *n = mc_map_gets(m, name);
    if (!n) {
        n = mc_calloc(1, sizeof *n);
        n->name = name;
        mc_vec_init(&n->pauses, 2 * sizeof(uint64_t));
        mc_vec_init(&n->open, sizeof(open_op_t));
        mc_map_puts(m, name, n);
    }
    return n;
}

static bool paused_between(const nstate_t *n, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < n->pauses.len; i++) {
        const uint64_t *p = mc_vec_at(&n->pauses, i);
        if (p[0] < b && p[1] > a)
            return true;
    }
    return n->paused_from && n->paused_from < b;
}

/* Build the op description from a begin line's fields. */
static bool desc_from(const char *fields, mc_ep_op_desc_t *d)
{
    static const char *const keys[] = {"id", "count", "dtype", "red", "root", "tokens_max",
                                       "hidden", "experts", "topk", "dispatch", "dset", NULL};
    char op[32], buf[64];
    bool ok = true;
    mc_ep_op_kind_t kind;
    uint64_t world = fu64(fields, "world", 10, &ok);
    if (!ok || !mc_trace_field(fields, "op", op, sizeof op) || !mc_ep_op_kind_parse(op, &kind) || !world ||
        world > MC_EP_MAX_RANKS)
        return false;
    mc_conf_t a;
    mc_conf_init(&a);
    for (int i = 0; keys[i]; i++)
        if (mc_trace_field(fields, keys[i], buf, sizeof buf))
            mc_conf_set(&a, keys[i], buf);
    if (mc_trace_field(fields, "timeout_ns", buf, sizeof buf) && strlen(buf) < 60) {
        strcat(buf, "ns");
        mc_conf_set(&a, "timeout", buf);
    }
    char err[256];
    bool good = mc_ep_op_desc_parse(d, kind, (uint32_t)world, &a, err, sizeof err) == MC_OK;
    mc_conf_free(&a);
    return good;
}

typedef struct agree {
    bool have;
    uint64_t set;
} agree_t;

static void check_end(ck_t *c, mc_map_t *agree, mc_map_t *cache, const open_op_t *o, nstate_t *n,
                      const mc_trace_rec_t *e)
{
    char status[48];
    bool ok = true;
    uint64_t set = fu64(e->fields, "set", 16, &ok), hash = fu64(e->fields, "hash", 16, &ok);
    uint64_t rank = fu64(e->fields, "rank", 10, &ok);
    uint64_t start = o->begin > n->prev_end ? o->begin : n->prev_end;
    c->res->ends++;
    if (!ok || !mc_trace_field(e->fields, "status", status, sizeof status)) {
        violation(c, "%s: malformed ep.op_end", n->name);
        return;
    }
    if (e->t_ns > start + 2 * o->timeout && !paused_between(n, start, e->t_ns) && !n->drift)
        violation(c, "%s op %llu took %.3fs > 2 x timeout %.3fs", n->name, (unsigned long long)o->id,
                  (double)(e->t_ns - start) / 1e9, (double)o->timeout / 1e9);
    n->prev_end = e->t_ns;
    if (strcmp(status, "OK") != 0)
        return;
    c->res->ok_ends++;
    if (!mc_ep_has(set, (uint32_t)rank)) {
        violation(c, "%s op %llu: OK but rank %llu not in its set %llx", n->name, (unsigned long long)o->id,
                  (unsigned long long)rank, (unsigned long long)set);
        return;
    }
    agree_t *g = mc_map_getu(agree, o->id);
    if (!g) {
        g = mc_calloc(1, sizeof *g);
        mc_map_putu(agree, o->id, g);
    }
    if (g->have && g->set != set)
        violation(c, "op %llu: %s reports set %llx, another rank %llx", (unsigned long long)o->id, n->name,
                  (unsigned long long)set, (unsigned long long)g->set);
    g->have = true;
    g->set = set;
    mc_ep_op_desc_t d;
    if (!desc_from(o->fields, &d)) {
        violation(c, "%s op %llu: unparsable ep.op_begin", n->name, (unsigned long long)o->id);
        return;
    }
    if (d.kind == MC_EP_OP_COMBINE) { /* the dispatch set is known when the op ran */
        bool dok = true;
        uint64_t dset = fu64(e->fields, "dset", 16, &dok);
        if (dok)
            d.dispatch_set = dset;
    }
    uint64_t key[4] = {o->id, rank, set, d.dispatch_set};
    uint64_t *want = mc_map_get(cache, key, sizeof key);
    if (!want) {
        bool can;
        want = mc_malloc(sizeof *want);
        *want = mc_ep_op_expected_hash(&d, (uint32_t)rank, set, &can);
        if (!can)
            *want = ~*want; /* no correct OK exists */
        mc_map_put(cache, key, sizeof key, want);
    }
    c->res->checked++;
    if (*want != hash)
        violation(c, "%s op %llu (%s): hash %016llx, expected %016llx over set %llx", n->name,
                  (unsigned long long)o->id, mc_ep_op_kind_name(d.kind), (unsigned long long)hash,
                  (unsigned long long)*want, (unsigned long long)set);
}

static void check_views(ck_t *c, const ev_t *evs, size_t n)
{
    mc_map_t coord; /* epoch -> active+1 */
    mc_map_init(&coord);
    for (size_t i = 0; i < n; i++) {
        const mc_trace_rec_t *r = evs[i].rec;
        if (strcmp(r->event, "ep.coord_view"))
            continue;
        bool ok = true;
        uint64_t epoch = fu64(r->fields, "epoch", 10, &ok), act = fu64(r->fields, "active", 16, &ok);
        if (ok)
            mc_map_putu(&coord, epoch, (void *)(uintptr_t)(act + 1));
    }
    for (size_t i = 0; i < n; i++) {
        const mc_trace_rec_t *r = evs[i].rec;
        if (strcmp(r->event, "ep.view"))
            continue;
        bool ok = true;
        uint64_t epoch = fu64(r->fields, "epoch", 10, &ok), act = fu64(r->fields, "active", 16, &ok);
        uintptr_t want = (uintptr_t)mc_map_getu(&coord, epoch);
        c->res->views++;
        if (ok && want && want - 1 != act)
            violation(c, "%s applied epoch %llu with active %llx, coordinator's was %llx", r->node,
                      (unsigned long long)epoch, (unsigned long long)act, (unsigned long long)(want - 1));
    }
    mc_map_free(&coord);
}

uint64_t mc_check_ep(const mc_trace_log_t *log, mc_ep_check_result_t *res)
{
    memset(res, 0, sizeof *res);
    ck_t c = {.res = res};
    ev_t *evs = mc_calloc(log->n + 1, sizeof *evs);
    size_t n = 0;
    uint64_t end_t = 0;
    for (size_t i = 0; i < log->n; i++) {
        const mc_trace_rec_t *r = &log->recs[i];
        if (r->t_ns > end_t)
            end_t = r->t_ns;
        if (!strncmp(r->event, "ep.", 3) || !strcmp(r->event, "sim.fault") || !strcmp(r->event, "hw.fault") ||
            strstr(r->event, ".node_crash"))
            evs[n++] = (ev_t){r->t_ns, r};
    }
    qsort(evs, n, sizeof *evs, ev_cmp);
    mc_map_t nodes, agree, cache;
    mc_map_init(&nodes);
    mc_map_init(&agree);
    mc_map_init(&cache);
    for (size_t i = 0; i < n; i++) {
        const mc_trace_rec_t *r = evs[i].rec;
        nstate_t *ns;
        char faulted[128];
        if (!strcmp(r->event, "hw.fault")) { /* the runner's line: the node is a field */
            if (!mc_trace_field(r->fields, "node", faulted, sizeof faulted))
                continue;
            ns = mc_map_gets(&nodes, faulted);
            if (!ns) {
                char *name = mc_strdup(faulted);
                ns = node_get(&nodes, name);
                ns->own_name = name;
            }
        } else {
            ns = node_get(&nodes, r->node);
        }
        if (!strcmp(r->event, "sim.fault") || !strcmp(r->event, "hw.fault")) {
            if (mc_trace_field_eq(r->fields, "kind", "pause"))
                ns->paused_from = r->t_ns;
            else if (mc_trace_field_eq(r->fields, "kind", "resume") && ns->paused_from) {
                uint64_t *p = mc_vec_push(&ns->pauses);
                p[0] = ns->paused_from;
                p[1] = r->t_ns;
                ns->paused_from = 0;
            } else if (mc_trace_field_eq(r->fields, "kind", "clock_drift")) {
                ns->drift = true;
            }
        } else if (strstr(r->event, ".node_crash")) {
            mc_vec_clear(&ns->open); /* its ops died with it */
            ns->prev_end = r->t_ns;
        } else if (!strcmp(r->event, "ep.op_begin")) {
            bool ok = true;
            open_op_t *o = mc_vec_push(&ns->open);
            o->id = fu64(r->fields, "id", 10, &ok);
            o->timeout = fu64(r->fields, "timeout_ns", 10, &ok);
            o->begin = r->t_ns;
            o->fields = r->fields;
            res->ops++;
            if (!ok) {
                violation(&c, "%s: malformed ep.op_begin", r->node);
                mc_vec_remove(&ns->open, ns->open.len - 1);
            }
        } else if (!strcmp(r->event, "ep.op_end")) {
            bool ok = true;
            uint64_t id = fu64(r->fields, "id", 10, &ok);
            size_t k = 0;
            while (k < ns->open.len && ((open_op_t *)mc_vec_at(&ns->open, k))->id != id)
                k++;
            if (!ok || k == ns->open.len) {
                violation(&c, "%s: ep.op_end of op %llu without a begin", r->node, (unsigned long long)id);
                continue;
            }
            open_op_t o = *(open_op_t *)mc_vec_at(&ns->open, k);
            mc_vec_remove(&ns->open, k);
            check_end(&c, &agree, &cache, &o, ns, r);
        }
    }
    /* Ops that never returned on a node that stayed up. */
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&nodes, &it, &e)) {
        nstate_t *ns = e->value;
        uint64_t prev = ns->prev_end;
        for (size_t k = 0; k < ns->open.len; k++) {
            const open_op_t *o = mc_vec_at(&ns->open, k);
            uint64_t start = o->begin > prev ? o->begin : prev;
            if (k == 0 && end_t > start + 2 * o->timeout && !paused_between(ns, start, end_t) && !ns->drift)
                violation(&c, "%s op %llu never returned (began %.3fs, bound %.3fs)", ns->name,
                          (unsigned long long)o->id, (double)o->begin / 1e9, (double)(2 * o->timeout) / 1e9);
        }
    }
    check_views(&c, evs, n);
    it = 0;
    while (mc_map_next(&nodes, &it, &e)) {
        nstate_t *ns = e->value;
        mc_vec_free(&ns->pauses);
        mc_vec_free(&ns->open);
        mc_free(ns->own_name);
        mc_free(ns);
    }
    it = 0;
    while (mc_map_next(&agree, &it, &e))
        mc_free(e->value);
    it = 0;
    while (mc_map_next(&cache, &it, &e))
        mc_free(e->value);
    mc_map_free(&nodes);
    mc_map_free(&agree);
    mc_map_free(&cache);
    mc_free(evs);
    return res->violations;
}
