/* JSON scenario text -> mc_scenario_t. Format: scenarios/README.md.
 * Strict on purpose: an unknown key or node is an error, not ignored,
 * because a typo in a fault schedule silently tests nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario_int.h"

/* Names appear in trace lines, "${name.addr}" and file names: keep them plain. */
static bool name_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

/* Line/column of the byte cJSON stopped at, plus a short excerpt. */
static mc_status_t syntax_error(mc_scnp_t *p, const char *json, size_t len, const char *at)
{
    if (!at || at < json || at > json + len)
        at = json + len;
    size_t line = 1, col = 1;
    for (const char *c = json; c < at; c++) {
        if (*c == '\n')
            line++, col = 1;
        else
            col++;
    }
    char near[24];
    size_t n = 0;
    for (const char *c = at; c < json + len && *c && *c != '\n' && n < sizeof near - 1; c++)
        near[n++] = *c;
    near[n] = '\0';
    if (n)
        return mc_scnp_fail(p, "line %zu, column %zu: JSON syntax error near '%s'", line, col, near);
    return mc_scnp_fail(p, "line %zu, column %zu: JSON syntax error (unexpected end of input)", line,
                        col);
}

/* Count-expanded node names must be unique across the file. */
static mc_status_t add_node(mc_scnp_t *p, size_t *k, const char *name, const char *role,
                            uint64_t nics, uint64_t start)
{
    mc_scenario_t *s = p->s;
    mc_scn_node_t *n = &s->nodes[*k];
    if (mc_map_gets(&p->names, name)) {
        size_t m = mc_scnp_push_key(p, "name");
        mc_scnp_fail(p, "duplicate node name '%s'", name);
        mc_scnp_pop(p, m);
        return MC_INVALID_PARAMS;
    }
    n->name = mc_strdup(name);
    n->role = mc_strdup(role);
    n->nics = (uint32_t)nics;
    n->start_ns = start;
    (*k)++;
    mc_map_puts(&p->names, name, (void *)(uintptr_t)*k);
    return MC_OK;
}

static mc_status_t parse_nodes(mc_scnp_t *p, const cJSON *arr)
{
    static const char *const keys[] = {"name", "role", "count", "conf", "nics", "start", "comment", NULL};
    mc_scenario_t *s = p->s;
    size_t m = mc_scnp_push_key(p, "nodes");
    mc_status_t st = MC_OK;
    if (!arr) {
        st = mc_scnp_fail(p, "missing (required)");
        goto out;
    }
    if (!cJSON_IsArray(arr) || !arr->child) {
        st = mc_scnp_fail(p, "expected a non-empty array of nodes, got %s",
                          cJSON_IsArray(arr) ? "an empty array" : mc_scnp_type_name(arr));
        goto out;
    }
    /* Pass 1: shape and counts, so the array is allocated once. */
    size_t total = 0, i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        uint64_t cnt = 1;
        st = mc_scnp_check_object(p, it, keys);
        if (st == MC_OK && cJSON_GetObjectItemCaseSensitive(it, "count"))
            st = mc_scnp_u64(p, it, "count", false, 1, 1, MC_SCN_MAX_COUNT, &cnt);
        mc_scnp_pop(p, mi);
        if (st != MC_OK)
            goto out;
        total += cnt;
        if (total > MC_SCN_MAX_COUNT) {
            st = mc_scnp_fail(p, "more than %u nodes", MC_SCN_MAX_COUNT);
            goto out;
        }
    }
    s->nodes = mc_calloc(total, sizeof *s->nodes);
    s->nnodes = total;
    size_t k = 0;
    i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        char *name = NULL, *role = NULL;
        uint64_t cnt = 1, nics = 1, start = 0;
        bool counted = cJSON_GetObjectItemCaseSensitive(it, "count") != NULL;
        st = mc_scnp_str(p, it, "name", true, NULL, &name);
        if (st == MC_OK && !name_ok(name)) {
            size_t mk = mc_scnp_push_key(p, "name");
            st = mc_scnp_fail(p, "bad node name '%s' (use 1-64 letters, digits, '_' or '-')", name);
            mc_scnp_pop(p, mk);
        }
        if (st == MC_OK)
            st = mc_scnp_str(p, it, "role", true, NULL, &role);
        if (st == MC_OK)
            st = mc_scnp_u64(p, it, "count", false, 1, 1, MC_SCN_MAX_COUNT, &cnt);
        if (st == MC_OK)
            st = mc_scnp_u64(p, it, "nics", false, 1, 1, MC_SCN_MAX_NICS, &nics);
        if (st == MC_OK)
            st = mc_scnp_duration(p, it, "start", false, 0, &start);
        if (st == MC_OK && start > s->duration_ns) {
            size_t mk = mc_scnp_push_key(p, "start");
            char a[32], d[32];
            st = mc_scnp_fail(p, "%s is after the end of the scenario (duration %s)",
                              mc_duration_fmt(start, a, sizeof a),
                              mc_duration_fmt(s->duration_ns, d, sizeof d));
            mc_scnp_pop(p, mk);
        }
        for (uint64_t c = 1; st == MC_OK && c <= cnt; c++) {
            char nm[160];
            if (counted)
                snprintf(nm, sizeof nm, "%s%llu", name, (unsigned long long)c);
            else
                snprintf(nm, sizeof nm, "%s", name);
            st = add_node(p, &k, nm, role, nics, start);
        }
        mc_free(name);
        mc_free(role);
        mc_scnp_pop(p, mi);
        if (st != MC_OK)
            goto out;
    }
    MC_ASSERT(k == total);
    /* Pass 2: confs, now that every name is known for ${node.addr}. */
    k = 0;
    i = 0;
    for (const cJSON *it = arr->child; it && st == MC_OK; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        uint64_t cnt = 1;
        mc_scnp_u64(p, it, "count", false, 1, 1, MC_SCN_MAX_COUNT, &cnt);
        mc_conf_t conf;
        mc_conf_init(&conf);
        st = mc_scnp_conf(p, it, "conf", true, &conf);
        if (st == MC_OK && mc_conf_get(&conf, "addr")) {
            size_t mk = mc_scnp_push_key(p, "conf");
            size_t ma = mc_scnp_push_key(p, "addr");
            st = mc_scnp_fail(p, "reserved: the world assigns every node's address");
            mc_scnp_pop(p, ma);
            mc_scnp_pop(p, mk);
        }
        for (uint64_t c = 0; st == MC_OK && c < cnt; c++)
            mc_conf_copy(&s->nodes[k++].conf, &conf);
        mc_conf_free(&conf);
        mc_scnp_pop(p, mi);
    }
out:
    mc_scnp_pop(p, m);
    return st;
}

static mc_status_t parse_cmds(mc_scnp_t *p, const cJSON *arr)
{
    static const char *const keys[] = {"at", "node", "cmd", "args", "repeat", "every", "comment", NULL};
    mc_scenario_t *s = p->s;
    if (!arr)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, "workload");
    mc_status_t st = MC_OK;
    if (!cJSON_IsArray(arr)) {
        st = mc_scnp_fail(p, "expected an array, got %s", mc_scnp_type_name(arr));
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    s->cmds = mc_calloc(n, sizeof *s->cmds);
    s->ncmds = n;
    size_t i = 0;
    for (const cJSON *it = arr->child; it && st == MC_OK; it = it->next, i++) {
        mc_scn_cmd_t *c = &s->cmds[i];
        size_t mi = mc_scnp_push_index(p, i);
        uint64_t rep = 1, idx;
        c->index = i;
        st = mc_scnp_check_object(p, it, keys);
        if (st == MC_OK)
            st = mc_scnp_at(p, it, &c->at_ns);
        if (st == MC_OK) {
            const cJSON *nd = cJSON_GetObjectItemCaseSensitive(it, "node");
            size_t mk = mc_scnp_push_key(p, "node");
            st = nd ? mc_scnp_node_ref(p, nd, &idx) : mc_scnp_fail(p, "missing (required)");
            if (st == MC_OK)
                c->node = mc_strdup(nd->valuestring);
            mc_scnp_pop(p, mk);
        }
        if (st == MC_OK)
            st = mc_scnp_str(p, it, "cmd", true, NULL, &c->cmd);
        if (st == MC_OK)
            st = mc_scnp_conf(p, it, "args", true, &c->args);
        if (st == MC_OK)
            st = mc_scnp_u64(p, it, "repeat", false, 1, 1, UINT32_MAX, &rep);
        c->repeat = (uint32_t)rep;
        if (st == MC_OK)
            st = mc_scnp_duration(p, it, "every", false, 0, &c->every_ns);
        if (st == MC_OK && rep > 1) {
            /* The last repetition must still fall inside the run. */
            uint64_t span = c->every_ns * (rep - 1);
            bool ovf = c->every_ns && span / c->every_ns != rep - 1;
            if (ovf || span > s->duration_ns - c->at_ns) {
                size_t mk = mc_scnp_push_key(p, "repeat");
                char d[32];
                st = mc_scnp_fail(p, "the last of %llu repeats falls after the end of the scenario "
                                     "(duration %s)",
                                  (unsigned long long)rep, mc_duration_fmt(s->duration_ns, d, sizeof d));
                mc_scnp_pop(p, mk);
            }
        }
        mc_scnp_pop(p, mi);
    }
    if (st == MC_OK) {
        /* Stable sort by time: insertion sort keeps equal times in file
         * order, and workloads are short. */
        for (size_t a = 1; a < n; a++) {
            mc_scn_cmd_t tmp = s->cmds[a];
            size_t b = a;
            for (; b > 0 && s->cmds[b - 1].at_ns > tmp.at_ns; b--)
                s->cmds[b] = s->cmds[b - 1];
            s->cmds[b] = tmp;
        }
    }
out:
    mc_scnp_pop(p, m);
    return st;
}

/* A window end must fall inside the run; the path names the field. */
static mc_status_t window_check(mc_scnp_t *p, uint64_t t)
{
    if (t <= p->s->duration_ns)
        return MC_OK;
    char a[32], d[32];
    return mc_scnp_fail(p, "%s is after the end of the scenario (duration %s)",
                        mc_duration_fmt(t, a, sizeof a), mc_duration_fmt(p->s->duration_ns, d, sizeof d));
}

static mc_status_t window_end(mc_scnp_t *p, const cJSON *obj, const char *key, uint64_t *out)
{
    if (!cJSON_GetObjectItemCaseSensitive(obj, key))
        return MC_OK;
    mc_status_t st = mc_scnp_duration(p, obj, key, false, 0, out);
    if (st == MC_OK) {
        size_t m = mc_scnp_push_key(p, key);
        st = window_check(p, *out);
        mc_scnp_pop(p, m);
    }
    return st;
}

static mc_status_t parse_window(mc_scnp_t *p, const cJSON *obj, mc_scn_expect_t *e)
{
    const cJSON *btw = cJSON_GetObjectItemCaseSensitive(obj, "between");
    const cJSON *aft = cJSON_GetObjectItemCaseSensitive(obj, "after");
    const cJSON *bef = cJSON_GetObjectItemCaseSensitive(obj, "before");
    mc_status_t st = MC_OK;
    e->from_ns = 0;
    e->to_ns = MC_SCN_END;
    if (btw) {
        size_t m = mc_scnp_push_key(p, "between");
        if (aft || bef)
            st = mc_scnp_fail(p, "use either between or after/before, not both");
        else if (!cJSON_IsArray(btw) || cJSON_GetArraySize(btw) != 2)
            st = mc_scnp_fail(p, "expected [from, to], e.g. [\"10s\", \"13s\"]");
        for (int i = 0; st == MC_OK && i < 2; i++) {
            uint64_t *t = i ? &e->to_ns : &e->from_ns;
            size_t mi = mc_scnp_push_index(p, (size_t)i);
            st = mc_scnp_duration_item(p, cJSON_GetArrayItem(btw, i), t);
            if (st == MC_OK)
                st = window_check(p, *t);
            mc_scnp_pop(p, mi);
        }
        mc_scnp_pop(p, m);
    } else {
        st = window_end(p, obj, "after", &e->from_ns);
        if (st == MC_OK)
            st = window_end(p, obj, "before", &e->to_ns);
    }
    if (st == MC_OK && e->from_ns > e->to_ns) {
        char a[32], b[32];
        size_t m = mc_scnp_push_key(p, btw ? "between" : "after");
        st = mc_scnp_fail(p, "window starts at %s, after it ends at %s",
                          mc_duration_fmt(e->from_ns, a, sizeof a), mc_duration_fmt(e->to_ns, b, sizeof b));
        mc_scnp_pop(p, m);
    }
    return st;
}

static mc_status_t parse_expect_one(mc_scnp_t *p, const cJSON *obj, mc_scn_expect_t *e)
{
    static const char *const keys[] = {"event", "node", "fields", "between", "after", "before", "count",
                                       "min", "max", "kind", "text", "comment", NULL};
    char *kind = NULL;
    mc_status_t st = mc_scnp_check_object(p, obj, keys);
    if (st == MC_OK)
        st = mc_scnp_str(p, obj, "event", true, NULL, &e->event);
    const cJSON *nd = cJSON_GetObjectItemCaseSensitive(obj, "node");
    if (st == MC_OK && nd) {
        size_t idx, m = mc_scnp_push_key(p, "node");
        st = mc_scnp_node_ref(p, nd, &idx);
        if (st == MC_OK)
            e->node = mc_strdup(nd->valuestring);
        mc_scnp_pop(p, m);
    }
    if (st == MC_OK)
        st = mc_scnp_conf(p, obj, "fields", true, &e->fields);
    if (st == MC_OK)
        st = parse_window(p, obj, e);
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(obj, "count");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(obj, "min");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(obj, "max");
    if (st == MC_OK && cnt && (mn || mx)) {
        size_t m = mc_scnp_push_key(p, "count");
        st = mc_scnp_fail(p, "use either count or min/max, not both");
        mc_scnp_pop(p, m);
    }
    if (st == MC_OK && cnt) {
        st = mc_scnp_u64(p, obj, "count", false, 0, 0, UINT64_MAX, &e->min);
        e->max = e->min;
    } else if (st == MC_OK) {
        st = mc_scnp_u64(p, obj, "min", false, 1, 0, UINT64_MAX, &e->min);
        if (st == MC_OK)
            st = mc_scnp_u64(p, obj, "max", false, UINT64_MAX, 0, UINT64_MAX, &e->max);
        if (st == MC_OK && e->min > e->max) {
            size_t m = mc_scnp_push_key(p, "min");
            st = mc_scnp_fail(p, "min %llu is greater than max %llu", (unsigned long long)e->min,
                              (unsigned long long)e->max);
            mc_scnp_pop(p, m);
        }
    }
    if (st == MC_OK)
        st = mc_scnp_str(p, obj, "kind", false, NULL, &kind);
    if (st == MC_OK) {
        /* "Something must happen" is liveness; any upper bound is safety. */
        e->kind = e->max == UINT64_MAX && e->min > 0 ? MC_EXPECT_LIVENESS : MC_EXPECT_SAFETY;
        if (kind && strcmp(kind, "safety") == 0)
            e->kind = MC_EXPECT_SAFETY;
        else if (kind && strcmp(kind, "liveness") == 0)
            e->kind = MC_EXPECT_LIVENESS;
        else if (kind) {
            size_t m = mc_scnp_push_key(p, "kind");
            st = mc_scnp_fail(p, "unknown kind '%s' (expected safety or liveness)", kind);
            mc_scnp_pop(p, m);
        }
    }
    if (st == MC_OK)
        st = mc_scnp_str(p, obj, "text", false, "", &e->text);
    mc_free(kind);
    return st;
}

static mc_status_t parse_expects(mc_scnp_t *p, const cJSON *arr)
{
    mc_scenario_t *s = p->s;
    if (!arr)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, "expect");
    mc_status_t st = MC_OK;
    if (!cJSON_IsArray(arr)) {
        st = mc_scnp_fail(p, "expected an array, got %s", mc_scnp_type_name(arr));
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    s->expects = mc_calloc(n, sizeof *s->expects);
    s->nexpects = n;
    size_t i = 0;
    for (const cJSON *it = arr->child; it && st == MC_OK; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        st = parse_expect_one(p, it, &s->expects[i]);
        mc_scnp_pop(p, mi);
    }
out:
    mc_scnp_pop(p, m);
    return st;
}

static mc_status_t parse_seed(mc_scnp_t *p, const cJSON *root)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "seed");
    /* Seeds beyond 2^53 do not survive a JSON number: allow a string. */
    if (it && cJSON_IsString(it)) {
        if (mc_parse_u64(it->valuestring, &p->s->seed))
            return MC_OK;
        size_t m = mc_scnp_push_key(p, "seed");
        mc_scnp_fail(p, "bad seed '%s' (expected an unsigned integer)", it->valuestring);
        mc_scnp_pop(p, m);
        return MC_INVALID_PARAMS;
    }
    return mc_scnp_u64(p, root, "seed", false, 1, 0, UINT64_MAX, &p->s->seed);
}

mc_status_t mc_scenario_parse(const char *json, size_t len, const char *file, mc_scenario_t *out,
                              char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "description", "duration", "seed", "network", "nodes",
                                       "faults", "workload", "expect", "checks", "comment", NULL};
    MC_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    mc_scnp_t p = {.file = file ? file : "<scenario>", .err = err, .errlen = errlen, .s = out};
    mc_map_init(&p.names);
    out->file = mc_strdup(p.file);
    mc_status_t st = MC_OK;
    const char *end = NULL;
    cJSON *root = json ? cJSON_ParseWithLengthOpts(json, len, &end, false) : NULL;
    if (!root) {
        st = syntax_error(&p, json ? json : "", json ? len : 0, end);
        goto out;
    }
    /* cJSON stops after the first value: anything but whitespace after it
     * (a second object, a stray brace) is a syntax error too. */
    for (const char *c = end; c < json + len && *c; c++) {
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
            st = syntax_error(&p, json, len, c);
            goto out;
        }
    }
    if (!cJSON_IsObject(root)) {
        st = mc_scnp_fail(&p, "expected a JSON object at the top level, got %s",
                          mc_scnp_type_name(root));
        goto out;
    }
    st = mc_scnp_check_object(&p, root, keys);
    if (st == MC_OK)
        st = mc_scnp_str(&p, root, "name", true, NULL, &out->name);
    if (st == MC_OK)
        st = mc_scnp_str(&p, root, "description", false, "", &out->description);
    if (st == MC_OK)
        st = mc_scnp_duration(&p, root, "duration", true, 0, &out->duration_ns);
    if (st == MC_OK && out->duration_ns == 0) {
        size_t m = mc_scnp_push_key(&p, "duration");
        st = mc_scnp_fail(&p, "must be greater than 0");
        mc_scnp_pop(&p, m);
    }
    if (st == MC_OK)
        st = parse_seed(&p, root);
    if (st == MC_OK) {
        unsigned mask;
        mc_net_model_default(&out->net);
        st = mc_scnp_net(&p, root, "network", &out->net, &mask);
    }
    if (st == MC_OK)
        st = parse_nodes(&p, cJSON_GetObjectItemCaseSensitive(root, "nodes"));
    if (st == MC_OK)
        st = mc_scnp_faults(&p, cJSON_GetObjectItemCaseSensitive(root, "faults"));
    if (st == MC_OK)
        st = parse_cmds(&p, cJSON_GetObjectItemCaseSensitive(root, "workload"));
    if (st == MC_OK)
        st = parse_expects(&p, cJSON_GetObjectItemCaseSensitive(root, "expect"));
    if (st == MC_OK)
        st = mc_scnp_checks(&p, cJSON_GetObjectItemCaseSensitive(root, "checks"));
out:
    cJSON_Delete(root);
    mc_map_free(&p.names);
    if (st != MC_OK)
        mc_scenario_free(out);
    return st;
}
