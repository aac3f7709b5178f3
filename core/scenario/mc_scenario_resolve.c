/* ${node.addr} / ${node.name} substitution, once the world has assigned
 * addresses. Validate everything first, then rewrite, so a failed resolve
 * leaves the scenario untouched. */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario_int.h"

typedef struct resolver {
    const mc_scenario_t *s;
    const char *(*addr_of)(void *ctx, const char *node);
    void *ctx;
} resolver_t;

static bool ref_subst(void *ctx, const char *node, size_t nlen, const char *prop, size_t plen,
                      mc_strbuf_t *out, char *err, size_t errlen)
{
    resolver_t *r = ctx;
    char name[80];
    if (nlen >= sizeof name || (snprintf(name, sizeof name, "%.*s", (int)nlen, node),
                                !mc_scenario_node(r->s, name))) {
        snprintf(err, errlen, "unknown node '%.*s'", (int)nlen, node);
        return false;
    }
    const char *v;
    if (plen == 4 && memcmp(prop, "name", 4) == 0) {
        v = name;
    } else if (plen == 4 && memcmp(prop, "addr", 4) == 0) {
        v = r->addr_of(r->ctx, name);
        if (!v) {
            snprintf(err, errlen, "no address for node '%s'", name);
            return false;
        }
    } else {
        snprintf(err, errlen, "unknown property '%.*s' (expected addr or name)", (int)plen, prop);
        return false;
    }
    if (out)
        mc_strbuf_add(out, v, strlen(v));
    return true;
}

static mc_status_t fail(const mc_scenario_t *s, char *err, size_t errlen, const char *path,
                        const char *key, const char *e, const char *v)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s.%s: %s in '%s'", s->file ? s->file : "<scenario>", path, key, e, v);
    return MC_INVALID_PARAMS;
}

/* apply=false only checks; apply=true rewrites values that hold a '$'. */
static mc_status_t conf_pass(resolver_t *r, mc_conf_t *c, const char *path, bool apply, char *err,
                             size_t errlen)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!strchr(c->kv[i].value, '$'))
            continue;
        char e[160];
        mc_strbuf_t b = {0};
        if (!mc_scn_refs_expand(c->kv[i].value, ref_subst, r, apply ? &b : NULL, e, sizeof e)) {
            MC_ASSERT(!apply); /* the check pass saw the same values */
            return fail(r->s, err, errlen, path, c->kv[i].key, e, c->kv[i].value);
        }
        if (apply) {
            mc_free(c->kv[i].value);
            c->kv[i].value = mc_strbuf_take(&b);
        }
    }
    return MC_OK;
}

static mc_status_t all_pass(resolver_t *r, mc_scenario_t *s, bool apply, char *err, size_t errlen)
{
    char path[128];
    for (size_t i = 0; i < s->nnodes; i++) {
        snprintf(path, sizeof path, "nodes[%s].conf", s->nodes[i].name);
        if (conf_pass(r, &s->nodes[i].conf, path, apply, err, errlen) != MC_OK)
            return MC_INVALID_PARAMS;
    }
    for (size_t i = 0; i < s->ncmds; i++) {
        snprintf(path, sizeof path, "workload[%zu].args", s->cmds[i].index);
        if (conf_pass(r, &s->cmds[i].args, path, apply, err, errlen) != MC_OK)
            return MC_INVALID_PARAMS;
    }
    for (size_t i = 0; i < s->nexpects; i++) {
        snprintf(path, sizeof path, "expect[%zu].fields", i);
        if (conf_pass(r, &s->expects[i].fields, path, apply, err, errlen) != MC_OK)
            return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

mc_status_t mc_scenario_resolve(mc_scenario_t *s, const char *(*addr_of)(void *ctx, const char *node),
                                void *ctx, char *err, size_t errlen)
{
    MC_ASSERT(s != NULL && addr_of != NULL);
    if (s->resolved)
        return MC_OK;
    resolver_t r = {s, addr_of, ctx};
    for (size_t i = 0; i < s->nnodes; i++) {
        if (!addr_of(ctx, s->nodes[i].name)) {
            if (err && errlen)
                snprintf(err, errlen, "%s: nodes[%s]: no address for node '%s'",
                         s->file ? s->file : "<scenario>", s->nodes[i].name, s->nodes[i].name);
            return MC_INVALID_PARAMS;
        }
    }
    if (all_pass(&r, s, false, err, errlen) != MC_OK)
        return MC_INVALID_PARAMS;
    mc_status_t st = all_pass(&r, s, true, err, errlen);
    MC_ASSERT(st == MC_OK);
    for (size_t i = 0; i < s->nnodes; i++)
        mc_conf_set(&s->nodes[i].conf, "addr", addr_of(ctx, s->nodes[i].name));
    s->resolved = true;
    return MC_OK;
}
