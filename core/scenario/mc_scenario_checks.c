/* The top-level "checks": which history checkers run over the trace,
 * and running them (both worlds call mc_scenario_checks_run after the
 * expectations). */
#include <stdio.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "mc_scenario_int.h"

static mc_status_t store_history_opts(mc_scnp_t *p, const cJSON *opts)
{
    static const char *const keys[] = {"allow_eviction", "comment", NULL};
    mc_scn_checks_t *c = &p->s->checks;
    c->store_history = true;
    if (!opts || cJSON_IsTrue(opts))
        return MC_OK;
    if (!cJSON_IsObject(opts))
        return mc_scnp_fail(p, "expected true or an object of options, got %s", mc_scnp_type_name(opts));
    mc_status_t st = mc_scnp_check_object(p, opts, keys);
    if (st == MC_OK)
        st = mc_scnp_bool(p, opts, "allow_eviction", false, &c->allow_eviction);
    return st;
}

static mc_status_t one_check(mc_scnp_t *p, const char *name, const cJSON *opts)
{
    if (strcmp(name, "store_history") == 0)
        return store_history_opts(p, opts);
    if (strcmp(name, "ep") == 0) {
        if (opts && !cJSON_IsTrue(opts) && !cJSON_IsObject(opts))
            return mc_scnp_fail(p, "expected true or an object of options, got %s", mc_scnp_type_name(opts));
        if (opts && cJSON_IsObject(opts)) {
            static const char *const keys[] = {"comment", NULL};
            mc_status_t st = mc_scnp_check_object(p, opts, keys);
            if (st != MC_OK)
                return st;
        }
        p->s->checks.ep = true;
        return MC_OK;
    }
    return mc_scnp_fail(p, "unknown check '%s' (expected: store_history, ep)", name);
}

mc_status_t mc_scnp_checks(mc_scnp_t *p, const cJSON *item)
{
    mc_status_t st = MC_OK;
    if (!item)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, "checks");
    if (cJSON_IsArray(item)) {
        size_t i = 0;
        for (const cJSON *it = item->child; it && st == MC_OK; it = it->next, i++) {
            size_t mi = mc_scnp_push_index(p, i);
            if (!cJSON_IsString(it))
                st = mc_scnp_fail(p, "expected a check name, got %s", mc_scnp_type_name(it));
            else
                st = one_check(p, it->valuestring, NULL);
            mc_scnp_pop(p, mi);
        }
    } else if (cJSON_IsObject(item)) {
        st = mc_scnp_check_object(p, item, NULL);
        for (const cJSON *it = item->child; it && st == MC_OK; it = it->next) {
            size_t mi = mc_scnp_push_key(p, it->string);
            st = one_check(p, it->string, it);
            mc_scnp_pop(p, mi);
        }
    } else {
        st = mc_scnp_fail(p, "expected an array of check names or an object, got %s", mc_scnp_type_name(item));
    }
    mc_scnp_pop(p, m);
    return st;
}

size_t mc_scenario_checks_run(const mc_scenario_t *s, const mc_trace_log_t *log, mc_expect_result_t *results,
                              size_t cap, size_t *fails)
{
    size_t n = 0;
    *fails = 0;
    if (s->checks.store_history && n < cap) {
        mc_store_check_cfg_t cfg = {.allow_eviction = s->checks.allow_eviction};
        mc_store_check_result_t res;
        mc_expect_result_t *r = &results[n++];
        mc_check_store_history(log, &cfg, &res);
        r->ok = res.violations == 0;
        r->kind = MC_EXPECT_SAFETY;
        r->count = res.violations;
        if (r->ok)
            snprintf(r->msg, sizeof r->msg,
                     "ok [safety] store_history%s: %llu ops on %llu keys, %llu reads checked, 0 violations",
                     cfg.allow_eviction ? " (eviction allowed)" : "", (unsigned long long)res.ops,
                     (unsigned long long)res.keys, (unsigned long long)res.gets_checked);
        else
            snprintf(r->msg, sizeof r->msg, "FAIL [safety] store_history: %llu violation(s) in %llu ops: %.400s",
                     (unsigned long long)res.violations, (unsigned long long)res.ops, res.msg);
        *fails += !r->ok;
    }
    if (s->checks.ep && n < cap) {
        mc_ep_check_result_t res;
        mc_expect_result_t *r = &results[n++];
        mc_check_ep(log, &res);
        r->ok = res.violations == 0;
        r->kind = MC_EXPECT_SAFETY;
        r->count = res.violations;
        if (r->ok)
            snprintf(r->msg, sizeof r->msg,
                     "ok [safety] ep: %llu ops, %llu ends (%llu OK, %llu results recomputed), %llu views, 0 violations",
                     (unsigned long long)res.ops, (unsigned long long)res.ends, (unsigned long long)res.ok_ends,
                     (unsigned long long)res.checked, (unsigned long long)res.views);
        else
            snprintf(r->msg, sizeof r->msg, "FAIL [safety] ep: %llu violation(s) in %llu ops: %.400s",
                     (unsigned long long)res.violations, (unsigned long long)res.ops, res.msg);
        *fails += !r->ok;
    }
    return n;
}
