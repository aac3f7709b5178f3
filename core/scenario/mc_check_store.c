/* Store history checker (mc_check_store_history): per-key checks of the
 * store's semantics over client.op_begin / client.op_end trace records.
 *
 * Model. Every operation has an interval [b, e] (trace times of its begin
 * and end); an operation that never ended (its node crashed, or the run
 * stopped) or that failed with a status that does not prove it had no
 * effect (an RPC timeout may hide a PutEnd or Remove the master did
 * apply) has e = infinity. Values are unique ids (vid), so instead of a
 * general linearizability search each read is checked against witnesses:
 *
 *  effective write  put OK existed=0, or upsert OK: the key held its vid
 *                   at some instant in [b, e];
 *  definite change  an effective write or a remove OK: after it, every
 *                   older value is gone for good (vids are never reused);
 *  maybe delete     a remove (unless it failed with a status proving it
 *                   removed nothing), a failed or unfinished upsert (a
 *                   revoked same-size upsert deletes the object), and any
 *                   remove_all / remove_by_regex that may have removed.
 *
 * A get returning V is stale when some definite change began after V's
 * writer ended and ended before the get began. A read answering "absent"
 * (or a put answering existed=0) is a lost object when the effective
 * write W that began last among those that ended before it began could
 * not have been deleted in between: no maybe delete overlaps
 * (W.b, read.e), no crash/expiry of every owner of W's replicas and no
 * master crash happened after W.b, and eviction is not allowed (or W
 * asked for a hard pin); likewise for every effective write that began
 * in (W.b, read.e) (it may have replaced W's value, then been lost
 * itself). Each query is a binary search over per-key
 * arrays sorted once: O(n log n) overall. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_map.h"
#include "../base/mc_mem.h"
#include "mc_scenario.h"

#define T_INF UINT64_MAX
#define NONE UINT32_MAX
#define MAX_REPORT 3

enum op_kind { K_PUT, K_UPSERT, K_GET, K_EXIST, K_REMOVE, K_REMOVE_ALL, K_REMOVE_REGEX, K_OTHER };

enum op_flag {
    F_ENDED = 1u << 0,
    F_OK = 1u << 1,      /* status=OK */
    F_EXISTED = 1u << 2, /* put: existed=1 (wrote nothing) */
    F_HARD = 1u << 3,    /* a put that asked for a hard pin */
    F_TORN = 1u << 4,    /* get: vid=torn */
    F_ABSENT = 1u << 5,  /* get: OBJECT_NOT_FOUND, exist: value=0 */
    F_NOEFFECT = 1u << 6, /* failed with a status proving no effect */
    F_VID = 1u << 7,     /* get returned a parsable vid */
};

typedef struct op {
    uint64_t b, e;   /* e = T_INF: unfinished, or failed without proof of no effect */
    uint64_t end_t;  /* trace time of the end (T_INF if none), for messages */
    uint64_t vid;
    uint32_t key;    /* key index; NONE for remove_all / remove_by_regex */
    uint32_t node;
    uint32_t segs, nsegs; /* owner node indices in ck.segv */
    uint32_t flags;
    uint32_t next;   /* pending FIFO link */
    uint8_t kind;
} op_t;

typedef struct times {
    uint64_t *t;
    size_t n, cap;
} times_t;

typedef struct node {
    const char *name;
    uint32_t inc;
    bool master;
    times_t loss; /* crash or expiry instants, increasing */
} node_t;

typedef struct ck {
    const mc_trace_log_t *log;
    mc_store_check_cfg_t cfg;
    mc_store_check_result_t *res;
    node_t *nodes;
    size_t nnodes, capnodes;
    mc_map_t node_ix;  /* name -> index + 1 */
    mc_map_t addr_ix;  /* segment address -> node index + 1 */
    mc_map_t key_ix;   /* key -> index + 1 */
    char **keys;       /* index -> key (owned) */
    size_t nkeys, capkeys;
    mc_map_t pending;  /* "node inc id" -> op index + 1 (head of a FIFO) */
    mc_map_t vids;     /* vid -> op index + 1 (put/upsert) */
    op_t *ops;
    size_t nops, capops;
    uint32_t *segv;
    size_t nsegv, capsegv;
    times_t master_loss, any_loss;
    size_t reported;
    size_t msg_len;
} ck_t;

/* ---- small helpers ---- */

static void times_add(times_t *t, uint64_t v)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->t = mc_realloc(t->t, t->cap * sizeof *t->t);
    }
    t->t[t->n++] = v;
}

/* Is there an instant of t in (lo, hi]? t is sorted. */
static bool times_in(const times_t *t, uint64_t lo, uint64_t hi)
{
    size_t a = 0, z = t->n;
    while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (t->t[mid] <= lo)
            a = mid + 1;
        else
            z = mid;
    }
    return a < t->n && t->t[a] <= hi;
}

static uint32_t node_get(ck_t *c, const char *name)
{
    bool ins;
    void **slot = mc_map_slot(&c->node_ix, name, strlen(name), &ins);
    if (!ins)
        return (uint32_t)((uintptr_t)*slot - 1);
    if (c->nnodes == c->capnodes) {
        c->capnodes = c->capnodes ? c->capnodes * 2 : 16;
        c->nodes = mc_realloc(c->nodes, c->capnodes * sizeof *c->nodes);
    }
    node_t *n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof *n);
    n->name = name;
    *slot = (void *)(uintptr_t)(++c->nnodes);
    return (uint32_t)(c->nnodes - 1);
}

static uint32_t key_get(ck_t *c, const char *key)
{
    bool ins;
    void **slot = mc_map_slot(&c->key_ix, key, strlen(key), &ins);
    if (!ins)
        return (uint32_t)((uintptr_t)*slot - 1);
    if (c->nkeys == c->capkeys) {
        c->capkeys = c->capkeys ? c->capkeys * 2 : 64;
        c->keys = mc_realloc(c->keys, c->capkeys * sizeof *c->keys);
    }
    c->keys[c->nkeys] = mc_strdup(key);
    *slot = (void *)(uintptr_t)(++c->nkeys);
    return (uint32_t)(c->nkeys - 1);
}

static void violation(ck_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(ck_t *c, const char *fmt, ...)
{
    mc_store_check_result_t *r = c->res;
    r->violations++;
    if (c->reported >= MAX_REPORT || c->msg_len + 2 >= sizeof r->msg)
        return;
    if (c->reported++)
        c->msg_len += (size_t)snprintf(r->msg + c->msg_len, sizeof r->msg - c->msg_len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->msg + c->msg_len, sizeof r->msg - c->msg_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->msg_len += (size_t)n;
    if (c->msg_len >= sizeof r->msg)
        c->msg_len = sizeof r->msg - 1;
}

static double secs(uint64_t t) { return t == T_INF ? -1.0 : (double)t / 1e9; }

static const char *kind_name(uint8_t k)
{
    static const char *const names[] = {"put", "upsert", "get", "exist", "remove", "remove_all",
                                        "remove_by_regex", "?"};
    return names[k <= K_OTHER ? k : K_OTHER];
}

static uint8_t kind_of(const char *op)
{
    static const char *const names[] = {"put", "upsert", "get", "exist", "remove", "remove_all",
                                        "remove_by_regex"};
    for (uint8_t i = 0; i < K_OTHER; i++)
        if (strcmp(op, names[i]) == 0)
            return i;
    return K_OTHER;
}

static bool parse_hex(const char *s, uint64_t *out)
{
    char *end;
    if (!*s)
        return false;
    *out = strtoull(s, &end, 16);
    return *end == '\0';
}

/* Pending-op FIFO key: node, incarnation, and the op id when the role
 * traced one (else op and key: same-key ops of one node pair in order). */
static void pending_key(const ck_t *c, const mc_trace_rec_t *r, uint32_t node, char *buf, size_t cap)
{
    char id[32], op[24], key[256];
    if (mc_trace_field(r->fields, "id", id, sizeof id)) {
        snprintf(buf, cap, "%u|%u|#%s", node, c->nodes[node].inc, id);
        return;
    }
    op[0] = key[0] = 0;
    mc_trace_field(r->fields, "op", op, sizeof op);
    mc_trace_field(r->fields, "key", key, sizeof key);
    snprintf(buf, cap, "%u|%u|%s|%s", node, c->nodes[node].inc, op, key);
}

/* ---- building the op table from the trace ---- */

static void on_begin(ck_t *c, const mc_trace_rec_t *r)
{
    char op[24], key[256], vid[32], pin[16], pk[320];
    if (!mc_trace_field(r->fields, "op", op, sizeof op))
        return;
    uint8_t kind = kind_of(op);
    if (kind == K_OTHER)
        return;
    if (c->nops == c->capops) {
        c->capops = c->capops ? c->capops * 2 : 1024;
        c->ops = mc_realloc(c->ops, c->capops * sizeof *c->ops);
    }
    uint32_t idx = (uint32_t)c->nops++;
    op_t *o = &c->ops[idx];
    memset(o, 0, sizeof *o);
    o->b = r->t_ns;
    o->e = o->end_t = T_INF;
    o->kind = kind;
    o->node = node_get(c, r->node);
    o->next = NONE;
    o->key = NONE;
    if (kind != K_REMOVE_ALL && kind != K_REMOVE_REGEX) {
        if (!mc_trace_field(r->fields, "key", key, sizeof key)) {
            c->nops--;
            return;
        }
        o->key = key_get(c, key);
    }
    if ((kind == K_PUT || kind == K_UPSERT) && mc_trace_field(r->fields, "vid", vid, sizeof vid) &&
        parse_hex(vid, &o->vid))
        mc_map_putu(&c->vids, o->vid, (void *)(uintptr_t)(idx + 1));
    /* Only a put's hard pin is sure to hold: a same-size upsert keeps the
     * object's pin as it was (spec 4.7 case B), whatever it asks for. */
    if (kind == K_PUT && mc_trace_field(r->fields, "pin", pin, sizeof pin) && strcmp(pin, "hard") == 0)
        o->flags |= F_HARD;
    c->res->ops++;
    pending_key(c, r, o->node, pk, sizeof pk);
    bool ins;
    void **slot = mc_map_slot(&c->pending, pk, strlen(pk), &ins);
    if (ins) {
        *slot = (void *)(uintptr_t)(idx + 1);
        return;
    }
    uint32_t t = (uint32_t)((uintptr_t)*slot - 1);
    while (c->ops[t].next != NONE)
        t = c->ops[t].next;
    c->ops[t].next = idx;
}

/* Statuses proving that a remove (or put/upsert) changed nothing. */
static bool no_effect_status(const char *st)
{
    static const char *const s[] = {"OBJECT_NOT_FOUND", "OBJECT_HAS_LEASE", "REPLICA_IS_NOT_READY",
                                    "OBJECT_HAS_REPLICATION_TASK", "INVALID_PARAMS", NULL};
    for (size_t i = 0; s[i]; i++)
        if (strcmp(st, s[i]) == 0)
            return true;
    return false;
}

static void parse_segs(ck_t *c, op_t *o, const char *segs)
{
    o->segs = (uint32_t)c->nsegv;
    if (strcmp(segs, "-") == 0 || !*segs)
        return;
    const char *p = segs;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        void *v = mc_map_get(&c->addr_ix, p, n);
        if (!v)
            v = mc_map_get(&c->node_ix, p, n); /* a world may name segments by node */
        if (c->nsegv == c->capsegv) {
            c->capsegv = c->capsegv ? c->capsegv * 2 : 256;
            c->segv = mc_realloc(c->segv, c->capsegv * sizeof *c->segv);
        }
        c->segv[c->nsegv++] = v ? (uint32_t)((uintptr_t)v - 1) : NONE;
        o->nsegs++;
        p = comma ? comma + 1 : p + n;
    }
}

static void on_end(ck_t *c, const mc_trace_rec_t *r)
{
    char pk[320], st[48], vid[32], ex[8], val[32], segs[1024];
    uint32_t node = node_get(c, r->node);
    pending_key(c, r, node, pk, sizeof pk);
    void *v = mc_map_gets(&c->pending, pk);
    if (!v)
        return; /* an end without a begin (e.g. an unknown command) */
    uint32_t idx = (uint32_t)((uintptr_t)v - 1);
    op_t *o = &c->ops[idx];
    if (o->next == NONE)
        mc_map_dels(&c->pending, pk);
    else
        mc_map_puts(&c->pending, pk, (void *)(uintptr_t)(o->next + 1));
    o->flags |= F_ENDED;
    o->end_t = r->t_ns;
    if (!mc_trace_field(r->fields, "status", st, sizeof st))
        st[0] = 0;
    bool ok = strcmp(st, "OK") == 0;
    if (ok)
        o->flags |= F_OK;
    else if (no_effect_status(st))
        o->flags |= F_NOEFFECT;
    /* Failed without proof of no effect: the master may still apply it. */
    o->e = ok || (o->flags & F_NOEFFECT) ? r->t_ns : T_INF;
    switch (o->kind) {
    case K_PUT:
    case K_UPSERT:
        if (ok && mc_trace_field(r->fields, "existed", ex, sizeof ex) && strcmp(ex, "1") == 0)
            o->flags |= F_EXISTED;
        if (ok && mc_trace_field(r->fields, "segs", segs, sizeof segs))
            parse_segs(c, o, segs);
        break;
    case K_GET:
        if (strcmp(st, "OBJECT_NOT_FOUND") == 0)
            o->flags |= F_ABSENT;
        if (ok && mc_trace_field(r->fields, "vid", vid, sizeof vid)) {
            if (strcmp(vid, "torn") == 0)
                o->flags |= F_TORN;
            else if (parse_hex(vid, &o->vid))
                o->flags |= F_VID;
        }
        break;
    case K_EXIST:
        if (ok && mc_trace_field(r->fields, "value", val, sizeof val) && strcmp(val, "0") == 0)
            o->flags |= F_ABSENT;
        break;
    case K_REMOVE_ALL:
    case K_REMOVE_REGEX:
        if (ok && mc_trace_field(r->fields, "value", val, sizeof val) && strcmp(val, "0") == 0)
            o->flags |= F_NOEFFECT;
        break;
    default:
        break;
    }
}

static void on_loss(ck_t *c, uint32_t node, uint64_t t)
{
    times_add(&c->nodes[node].loss, t);
    times_add(&c->any_loss, t);
    if (c->nodes[node].master)
        times_add(&c->master_loss, t);
}

static void scan_record(ck_t *c, const mc_trace_rec_t *r)
{
    const char *ev = r->event;
    char buf[256];
    if (strcmp(ev, "client.op_begin") == 0) {
        on_begin(c, r);
    } else if (strcmp(ev, "client.op_end") == 0) {
        on_end(c, r);
    } else if (strcmp(ev, "client.start") == 0) {
        uint32_t n = node_get(c, r->node);
        if (mc_trace_field(r->fields, "addr", buf, sizeof buf))
            mc_map_puts(&c->addr_ix, buf, (void *)(uintptr_t)(n + 1));
        if (mc_trace_field(r->fields, "endpoint", buf, sizeof buf)) /* hw: host:data_port */
            mc_map_puts(&c->addr_ix, buf, (void *)(uintptr_t)(n + 1));
    } else if (strcmp(ev, "master.start") == 0) {
        uint32_t n = node_get(c, r->node); /* may grow c->nodes */
        c->nodes[n].master = true;
    } else if (strcmp(ev, "master.client_expired") == 0) {
        if (mc_trace_field(r->fields, "client", buf, sizeof buf) && mc_map_gets(&c->node_ix, buf))
            on_loss(c, node_get(c, buf), r->t_ns);
    } else {
        size_t n = strlen(ev);
        bool crash = n >= 11 && strcmp(ev + n - 11, ".node_crash") == 0;
        bool start = n >= 11 && strcmp(ev + n - 11, ".node_start") == 0;
        if (crash || start) {
            uint32_t id = node_get(c, r->node);
            c->nodes[id].inc++; /* ops pending in the old incarnation never end */
            if (crash)
                on_loss(c, id, r->t_ns);
        }
    }
}

/* ---- per-key witness arrays ---- */

typedef struct span {
    uint64_t sort; /* the sort field (b or e) */
    uint64_t agg;  /* prefix max / suffix min of the other field */
    uint32_t op;   /* op giving agg */
} span_t;

static int span_cmp(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    if (x->sort != y->sort)
        return x->sort < y->sort ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

typedef struct spans {
    span_t *v;
    size_t n, cap;
} spans_t;

static void spans_add(spans_t *s, uint64_t sort, uint64_t agg, uint32_t op)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = mc_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (span_t){sort, agg, op};
}

static void spans_sort(spans_t *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, span_cmp);
}

/* Sort by .sort, then make .agg a running max (prefix) or min (suffix). */
static void spans_prefix_max(spans_t *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, span_cmp);
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i - 1].agg > s->v[i].agg) {
            s->v[i].agg = s->v[i - 1].agg;
            s->v[i].op = s->v[i - 1].op;
        }
}

static void spans_suffix_min(spans_t *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, span_cmp);
    for (size_t i = s->n - 1; i-- > 0;)
        if (s->v[i + 1].agg < s->v[i].agg) {
            s->v[i].agg = s->v[i + 1].agg;
            s->v[i].op = s->v[i + 1].op;
        }
}

/* Number of spans with sort < t (so index-1 is the last of them). */
static size_t spans_below(const spans_t *s, uint64_t t)
{
    size_t a = 0, z = s->n;
    while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (s->v[mid].sort < t)
            a = mid + 1;
        else
            z = mid;
    }
    return a;
}

/* First index with sort > t. */
static size_t spans_above(const spans_t *s, uint64_t t)
{
    size_t a = 0, z = s->n;
    while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (s->v[mid].sort <= t)
            a = mid + 1;
        else
            z = mid;
    }
    return a;
}

typedef struct keyset {
    spans_t ew;  /* effective writes: sort e, agg prefix-max b */
    spans_t chg; /* definite changes: sort b, agg suffix-min e */
    spans_t del; /* maybe deletes: sort b, agg prefix-max e */
    spans_t wr;  /* every put/upsert: sort b, agg prefix-max e */
    spans_t ewb; /* effective writes: sort b (no aggregate: .op is each write) */
} keyset_t;

static bool is_effective_write(const op_t *o)
{
    return (o->kind == K_PUT || o->kind == K_UPSERT) && (o->flags & F_OK) && !(o->flags & F_EXISTED);
}

static bool is_maybe_delete(const op_t *o)
{
    if (o->kind == K_REMOVE || o->kind == K_REMOVE_ALL || o->kind == K_REMOVE_REGEX)
        return !(o->flags & F_NOEFFECT);
    return o->kind == K_UPSERT && !(o->flags & F_OK);
}

/* Could W's value have been lost (owners crashed/expired, master crashed)
 * in (W.b, t]? */
static bool lossable(const ck_t *c, const op_t *w, uint64_t t)
{
    if (times_in(&c->master_loss, w->b, t))
        return true;
    if (w->nsegs == 0)
        return times_in(&c->any_loss, w->b, t);
    for (uint32_t i = 0; i < w->nsegs; i++) {
        uint32_t n = c->segv[w->segs + i];
        if (n != NONE && !times_in(&c->nodes[n].loss, w->b, t))
            return false;
    }
    return true;
}

/* Could W's value be gone by t without any remove: lost with its owners,
 * or evicted? */
static bool vanishable(const ck_t *c, const op_t *w, uint64_t t)
{
    return (c->cfg.allow_eviction && !(w->flags & F_HARD)) || lossable(c, w, t);
}

/* The key definitely held a committed value when r began: returns that
 * write (or NONE) when nothing could have deleted it before r ended. */
static uint32_t committed_before(const ck_t *c, const keyset_t *ks, const spans_t *gdel, const op_t *r,
                                 uint32_t self)
{
    size_t i = spans_below(&ks->ew, r->b);
    if (i == 0)
        return NONE;
    uint32_t wi = ks->ew.v[i - 1].op;
    const op_t *w = &c->ops[wi];
    if (wi == self)
        return NONE;
    /* a maybe delete that began before r ended and ended after w began */
    size_t k = spans_below(&ks->del, r->end_t == T_INF ? T_INF : r->end_t);
    if (k > 0 && ks->del.v[k - 1].agg > w->b)
        return NONE;
    k = spans_below(gdel, r->end_t == T_INF ? T_INF : r->end_t);
    if (k > 0 && gdel->v[k - 1].agg > w->b)
        return NONE;
    if (vanishable(c, w, r->end_t))
        return NONE;
    /* A write overlapping r replaced W's value and may have vanished in
     * turn (store swarm seed 2437: an upsert whose only replica was on a
     * client that then expired). Such writes end at or after r.b (W is
     * the last to begin among those ending before), so they are few. */
    size_t j = spans_above(&ks->ewb, w->b), z = spans_below(&ks->ewb, r->end_t);
    for (; j < z; j++) {
        uint32_t xi = ks->ewb.v[j].op;
        if (xi != self && vanishable(c, &c->ops[xi], r->end_t))
            return NONE;
    }
    return wi;
}

/* Two puts that both report existed=0 each found the key absent, so the
 * first one's value must have been deleted before the second took
 * effect. Sequential pairs are caught by committed_before; this catches
 * overlapping ones: walking effective puts by begin time, each is paired
 * with the earlier put that ends last. */
static void check_concurrent_puts(ck_t *c, const char *kname, const uint32_t *ops, size_t n, const spans_t *gdel,
                                  const keyset_t *ks)
{
    uint32_t prev = NONE;
    for (size_t i = 0; i < n; i++) { /* ops are in begin order */
        const op_t *p = &c->ops[ops[i]];
        if (p->kind != K_PUT || !is_effective_write(p))
            continue;
        if (prev != NONE && c->ops[prev].e > p->b) {
            const op_t *q = &c->ops[prev];
            uint64_t hi = q->e > p->e ? q->e : p->e;
            size_t k = spans_below(&ks->del, hi);
            bool excused = k > 0 && ks->del.v[k - 1].agg > q->b;
            k = spans_below(gdel, hi);
            excused |= k > 0 && gdel->v[k - 1].agg > q->b;
            excused |= c->cfg.allow_eviction && !(q->flags & F_HARD);
            excused |= lossable(c, q, hi);
            if (!excused)
                violation(c,
                          "key %s: concurrent puts by %s (%016llx, %.6fs-%.6fs) and %s (%016llx, %.6fs-%.6fs) both "
                          "reported existed=0 (first writer must win)",
                          kname, c->nodes[q->node].name, (unsigned long long)q->vid, secs(q->b), secs(q->e),
                          c->nodes[p->node].name, (unsigned long long)p->vid, secs(p->b), secs(p->e));
        }
        if (prev == NONE || p->e > c->ops[prev].e)
            prev = ops[i];
    }
}

static void check_key(ck_t *c, uint32_t key, const uint32_t *ops, size_t n, const spans_t *gdel, keyset_t *ks)
{
    ks->ew.n = ks->chg.n = ks->del.n = ks->wr.n = ks->ewb.n = 0;
    for (size_t i = 0; i < n; i++) {
        const op_t *o = &c->ops[ops[i]];
        if (is_effective_write(o)) {
            spans_add(&ks->ew, o->e, o->b, ops[i]);
            spans_add(&ks->chg, o->b, o->e, ops[i]);
            spans_add(&ks->ewb, o->b, 0, ops[i]);
        } else if (o->kind == K_REMOVE && (o->flags & F_OK)) {
            spans_add(&ks->chg, o->b, o->e, ops[i]);
        }
        if (is_maybe_delete(o))
            spans_add(&ks->del, o->b, o->e, ops[i]);
        if (o->kind == K_PUT || o->kind == K_UPSERT)
            spans_add(&ks->wr, o->b, o->e, ops[i]);
    }
    spans_prefix_max(&ks->ew);
    spans_suffix_min(&ks->chg);
    spans_prefix_max(&ks->del);
    spans_prefix_max(&ks->wr);
    spans_sort(&ks->ewb);
    const char *kname = c->keys[key];
    check_concurrent_puts(c, kname, ops, n, gdel, ks);

    for (size_t i = 0; i < n; i++) {
        const op_t *g = &c->ops[ops[i]];
        if (g->kind == K_PUT && (g->flags & F_OK) && !(g->flags & F_EXISTED)) {
            uint32_t w = committed_before(c, ks, gdel, g, ops[i]);
            if (w != NONE)
                violation(c,
                          "key %s: put by %s at %.6fs reported existed=0, but %s %016llx by %s committed at "
                          "%.6fs and nothing could have removed it (first writer must win)",
                          kname, c->nodes[g->node].name, secs(g->b), kind_name(c->ops[w].kind),
                          (unsigned long long)c->ops[w].vid, c->nodes[c->ops[w].node].name, secs(c->ops[w].e));
            continue;
        }
        if (g->kind != K_GET && g->kind != K_EXIST)
            continue;
        if (!(g->flags & F_ENDED))
            continue;
        c->res->gets_checked++;
        if (g->flags & F_TORN) {
            violation(c, "key %s: torn read by %s at %.6fs", kname, c->nodes[g->node].name, secs(g->end_t));
            continue;
        }
        if (g->flags & F_VID) {
            void *v = mc_map_getu(&c->vids, g->vid);
            const op_t *w = v ? &c->ops[(uintptr_t)v - 1] : NULL;
            if (!w || w->key != key || w->b >= g->end_t || (w->flags & F_EXISTED)) {
                violation(c, "key %s: get by %s at %.6fs returned %016llx, which %s", kname,
                          c->nodes[g->node].name, secs(g->end_t), (unsigned long long)g->vid,
                          !w                        ? "no put/upsert wrote"
                          : w->key != key           ? "was written to another key"
                          : (w->flags & F_EXISTED) ? "a put that found the key existing never wrote"
                                                    : "was only written after the get ended");
                continue;
            }
            if (w->e == T_INF)
                continue;
            size_t k = spans_above(&ks->chg, w->e);
            if (k < ks->chg.n && ks->chg.v[k].agg < g->b) {
                const op_t *x = &c->ops[ks->chg.v[k].op];
                violation(c,
                          "key %s: stale read: get by %s began at %.6fs and returned %016llx (written by %s, "
                          "done at %.6fs), but %s by %s ran from %.6fs to %.6fs in between",
                          kname, c->nodes[g->node].name, secs(g->b), (unsigned long long)g->vid,
                          c->nodes[w->node].name, secs(w->e), kind_name(x->kind), c->nodes[x->node].name,
                          secs(x->b), secs(x->e));
            }
            continue;
        }
        if (!(g->flags & F_ABSENT))
            continue;
        /* exist=0 also while a write holds the key unreadable (an upsert in
         * place flips replicas back to PROCESSING) */
        if (g->kind == K_EXIST) {
            size_t k = spans_below(&ks->wr, g->end_t);
            if (k > 0 && ks->wr.v[k - 1].agg > g->b)
                continue;
        }
        uint32_t w = committed_before(c, ks, gdel, g, ops[i]);
        if (w != NONE)
            violation(c,
                      "key %s: lost object: %s by %s began at %.6fs and found nothing, but %s %016llx by %s "
                      "committed at %.6fs and no remove, eviction or owner loss could have removed it",
                      kname, kind_name(g->kind), c->nodes[g->node].name, secs(g->b), kind_name(c->ops[w].kind),
                      (unsigned long long)c->ops[w].vid, c->nodes[c->ops[w].node].name, secs(c->ops[w].e));
    }
}

/* ---- driver ---- */

typedef struct ord {
    uint64_t t;
    size_t i;
} ord_t;

static int ord_cmp(const void *a, const void *b)
{
    const ord_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

uint64_t mc_check_store_history(const mc_trace_log_t *log, const mc_store_check_cfg_t *cfg,
                                mc_store_check_result_t *res)
{
    MC_ASSERT(log != NULL && res != NULL);
    ck_t c;
    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.log = log;
    c.res = res;
    if (cfg)
        c.cfg = *cfg;
    mc_map_init(&c.node_ix);
    mc_map_init(&c.addr_ix);
    mc_map_init(&c.key_ix);
    mc_map_init(&c.pending);
    mc_map_init(&c.vids);

    /* time order (hw merges several processes' logs); ties keep log order */
    ord_t *ord = mc_malloc((log->n ? log->n : 1) * sizeof *ord);
    bool sorted = true;
    for (size_t i = 0; i < log->n; i++) {
        ord[i] = (ord_t){log->recs[i].t_ns, i};
        sorted &= i == 0 || log->recs[i - 1].t_ns <= log->recs[i].t_ns;
    }
    if (!sorted && log->n > 1)
        qsort(ord, log->n, sizeof *ord, ord_cmp);
    for (size_t i = 0; i < log->n; i++)
        scan_record(&c, &log->recs[ord[i].i]);
    mc_free(ord);

    /* ops grouped by key (counting sort keeps time order within a key) */
    uint32_t *start = mc_calloc(c.nkeys + 1, sizeof *start);
    uint32_t *byk = mc_malloc((c.nops ? c.nops : 1) * sizeof *byk);
    spans_t gdel = {0};
    for (size_t i = 0; i < c.nops; i++) {
        if (c.ops[i].key != NONE)
            start[c.ops[i].key + 1]++;
        else if (is_maybe_delete(&c.ops[i]))
            spans_add(&gdel, c.ops[i].b, c.ops[i].e, (uint32_t)i);
    }
    spans_prefix_max(&gdel);
    for (size_t k = 0; k < c.nkeys; k++)
        start[k + 1] += start[k];
    uint32_t *fill = mc_malloc((c.nkeys + 1) * sizeof *fill);
    memcpy(fill, start, (c.nkeys + 1) * sizeof *fill);
    for (size_t i = 0; i < c.nops; i++)
        if (c.ops[i].key != NONE)
            byk[fill[c.ops[i].key]++] = (uint32_t)i;
    keyset_t ks = {0};
    for (size_t k = 0; k < c.nkeys; k++)
        check_key(&c, (uint32_t)k, byk + start[k], start[k + 1] - start[k], &gdel, &ks);
    res->keys = c.nkeys;

    mc_free(ks.ew.v);
    mc_free(ks.chg.v);
    mc_free(ks.del.v);
    mc_free(ks.wr.v);
    mc_free(ks.ewb.v);
    mc_free(gdel.v);
    mc_free(fill);
    mc_free(start);
    mc_free(byk);
    for (size_t i = 0; i < c.nnodes; i++)
        mc_free(c.nodes[i].loss.t);
    mc_free(c.nodes);
    for (size_t k = 0; k < c.nkeys; k++)
        mc_free(c.keys[k]);
    mc_free(c.keys);
    mc_free(c.ops);
    mc_free(c.segv);
    mc_free(c.master_loss.t);
    mc_free(c.any_loss.t);
    mc_map_free(&c.node_ix);
    mc_map_free(&c.addr_ix);
    mc_map_free(&c.key_ix);
    mc_map_free(&c.pending);
    mc_map_free(&c.vids);
    return res->violations;
}
