/* The "faults" array: per-action fields, time order, and a replay of the
 * crash/restart/pause/resume sequence so that e.g. "restart" of a node
 * that never crashed is caught here rather than mid-run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mc_assert.h"
#include "../base/mc_mem.h"
#include "mc_scenario_int.h"

/* Keys each action takes besides "at", "action" and "comment". */
static const char *const *action_keys(mc_fault_kind_t k)
{
    static const char *const node[] = {"at", "action", "comment", "node", NULL};
    static const char *const part[] = {"at", "action", "comment", "nodes", "peers", "oneway", NULL};
    static const char *const heal[] = {"at", "action", "comment", NULL};
    static const char *const nic[] = {"at", "action", "comment", "node", "nic", NULL};
    static const char *const drift[] = {"at", "action", "comment", "node", "rate", NULL};
    static const char *const step[] = {"at", "action", "comment", "node", "step", NULL};
    static const char *const net[] = {"at", "action", "comment", "network", NULL};
    switch (k) {
    case MC_FAULT_CRASH: case MC_FAULT_RESTART: case MC_FAULT_PAUSE: case MC_FAULT_RESUME:
    case MC_FAULT_XFER_BLACKHOLE: case MC_FAULT_XFER_BLACKHOLE_OFF:
        return node;
    case MC_FAULT_PARTITION: return part;
    case MC_FAULT_HEAL: return heal;
    case MC_FAULT_NIC_DOWN: case MC_FAULT_NIC_UP: return nic;
    case MC_FAULT_CLOCK_DRIFT: return drift;
    case MC_FAULT_CLOCK_STEP: return step;
    case MC_FAULT_NET: return net;
    default: MC_UNREACHABLE(); return NULL;
    }
}

static mc_status_t node_field(mc_scnp_t *p, const cJSON *obj, char **out, size_t *idx)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "node");
    size_t m = mc_scnp_push_key(p, "node");
    mc_status_t st = it ? mc_scnp_node_ref(p, it, idx) : mc_scnp_fail(p, "missing (required)");
    if (st == MC_OK)
        *out = mc_strdup(it->valuestring);
    mc_scnp_pop(p, m);
    return st;
}

/* A non-empty (unless may_be_empty) list of distinct, known node names. */
static mc_status_t node_list(mc_scnp_t *p, const cJSON *obj, const char *key, bool required,
                             char ***out, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t m = mc_scnp_push_key(p, key);
    mc_status_t st = MC_OK;
    if (!arr) {
        if (required)
            st = mc_scnp_fail(p, "missing (required)");
        goto out;
    }
    if (!cJSON_IsArray(arr)) {
        st = mc_scnp_fail(p, "expected an array of node names, got %s", mc_scnp_type_name(arr));
        goto out;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (required && cnt == 0) {
        st = mc_scnp_fail(p, "must name at least one node");
        goto out;
    }
    *out = mc_calloc(cnt, sizeof **out);
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        size_t idx;
        st = mc_scnp_node_ref(p, it, &idx);
        for (size_t j = 0; st == MC_OK && j < *n; j++)
            if (strcmp((*out)[j], it->valuestring) == 0)
                st = mc_scnp_fail(p, "node '%s' listed twice", it->valuestring);
        mc_scnp_pop(p, mi);
        if (st != MC_OK)
            goto out;
        (*out)[(*n)++] = mc_strdup(it->valuestring);
    }
out:
    mc_scnp_pop(p, m);
    return st;
}

static mc_status_t parse_one(mc_scnp_t *p, const cJSON *obj, mc_scn_fault_t *f, unsigned *netmask)
{
    static const char *const all[] = {"at", "action", "comment", "node", "nodes", "peers", "oneway",
                                      "nic", "rate", "step", "network", NULL};
    char *action = NULL;
    size_t idx = 0;
    mc_status_t st = mc_scnp_check_object(p, obj, all);
    if (st == MC_OK)
        st = mc_scnp_str(p, obj, "action", true, NULL, &action);
    if (st != MC_OK)
        goto out;
    if (!mc_fault_kind_from_name(action, &f->kind)) {
        size_t m = mc_scnp_push_key(p, "action");
        st = mc_scnp_fail(p, "unknown action '%s' (expected one of: crash, restart, pause, resume, "
                             "partition, heal, nic_down, nic_up, clock_drift, clock_step, net, "
                             "xfer_blackhole, xfer_blackhole_off)",
                          action);
        mc_scnp_pop(p, m);
        goto out;
    }
    const char *const *keys = action_keys(f->kind);
    for (const cJSON *it = obj->child; it; it = it->next) {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], it->string) != 0; i++)
            ;
        if (!keys[i]) {
            size_t m = mc_scnp_push_key(p, it->string);
            st = mc_scnp_fail(p, "not used by action '%s'", action);
            mc_scnp_pop(p, m);
            goto out;
        }
    }
    st = mc_scnp_at(p, obj, &f->at_ns);
    if (st != MC_OK)
        goto out;
    switch (f->kind) {
    case MC_FAULT_CRASH: case MC_FAULT_RESTART: case MC_FAULT_PAUSE: case MC_FAULT_RESUME:
    case MC_FAULT_XFER_BLACKHOLE: case MC_FAULT_XFER_BLACKHOLE_OFF:
        st = node_field(p, obj, &f->node, &idx);
        break;
    case MC_FAULT_PARTITION:
        st = node_list(p, obj, "nodes", true, &f->nodes, &f->nnodes);
        if (st == MC_OK)
            st = node_list(p, obj, "peers", false, &f->peers, &f->npeers);
        for (size_t i = 0; st == MC_OK && i < f->npeers; i++) {
            for (size_t j = 0; j < f->nnodes; j++) {
                if (strcmp(f->peers[i], f->nodes[j]) == 0) {
                    size_t m = mc_scnp_push_key(p, "peers");
                    size_t mi = mc_scnp_push_index(p, i);
                    st = mc_scnp_fail(p, "node '%s' is on both sides of the partition", f->peers[i]);
                    mc_scnp_pop(p, mi);
                    mc_scnp_pop(p, m);
                    break;
                }
            }
        }
        if (st == MC_OK)
            st = mc_scnp_bool(p, obj, "oneway", false, &f->oneway);
        break;
    case MC_FAULT_HEAL:
        break;
    case MC_FAULT_NIC_DOWN: case MC_FAULT_NIC_UP: {
        uint64_t nic = 0;
        st = node_field(p, obj, &f->node, &idx);
        if (st == MC_OK)
            st = mc_scnp_u64(p, obj, "nic", false, 0, 0, UINT32_MAX, &nic);
        if (st == MC_OK && nic >= p->s->nodes[idx].nics) {
            size_t m = mc_scnp_push_key(p, "nic");
            st = mc_scnp_fail(p, "node '%s' has %u NIC(s), no nic %llu", f->node,
                              p->s->nodes[idx].nics, (unsigned long long)nic);
            mc_scnp_pop(p, m);
        }
        f->nic = (uint32_t)nic;
        break;
    }
    case MC_FAULT_CLOCK_DRIFT: {
        st = node_field(p, obj, &f->node, &idx);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "rate");
        size_t m = mc_scnp_push_key(p, "rate");
        if (st != MC_OK)
            ;
        else if (!r)
            st = mc_scnp_fail(p, "missing (required)");
        else if (!cJSON_IsNumber(r) || !isfinite(r->valuedouble) || r->valuedouble <= 0)
            st = mc_scnp_fail(p, "expected a clock rate > 0 (1.0 = true time)");
        else
            f->rate = r->valuedouble;
        mc_scnp_pop(p, m);
        break;
    }
    case MC_FAULT_CLOCK_STEP:
        st = node_field(p, obj, &f->node, &idx);
        if (st == MC_OK)
            st = mc_scnp_duration(p, obj, "step", true, 0, &f->step_ns);
        break;
    case MC_FAULT_NET:
        if (!cJSON_GetObjectItemCaseSensitive(obj, "network")) {
            size_t m = mc_scnp_push_key(p, "network");
            st = mc_scnp_fail(p, "missing (required)");
            mc_scnp_pop(p, m);
        } else {
            st = mc_scnp_net(p, obj, "network", &f->net, netmask);
        }
        break;
    default:
        MC_UNREACHABLE();
    }
out:
    mc_free(action);
    return st;
}

typedef struct order {
    uint64_t at;
    size_t idx;
} order_t;

static int order_cmp(const void *a, const void *b)
{
    const order_t *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* file order: stable */
}

enum node_state { NODE_UP, NODE_CRASHED, NODE_PAUSED };

/* Replay process faults in time order; the first impossible step is an error. */
static mc_status_t check_sequence(mc_scnp_t *p)
{
    mc_scenario_t *s = p->s;
    enum node_state *st = mc_calloc(s->nnodes, sizeof *st);
    mc_status_t rc = MC_OK;
    for (size_t i = 0; i < s->nfaults && rc == MC_OK; i++) {
        const mc_scn_fault_t *f = &s->faults[i];
        if (f->kind != MC_FAULT_CRASH && f->kind != MC_FAULT_RESTART && f->kind != MC_FAULT_PAUSE &&
            f->kind != MC_FAULT_RESUME)
            continue;
        size_t n = (size_t)(uintptr_t)mc_map_gets(&p->names, f->node) - 1;
        MC_ASSERT(n < s->nnodes);
        const char *why = NULL;
        enum node_state next = st[n];
        char at[32], start[32];
        mc_duration_fmt(f->at_ns, at, sizeof at);
        mc_duration_fmt(s->nodes[n].start_ns, start, sizeof start);
        if (f->at_ns < s->nodes[n].start_ns && f->kind != MC_FAULT_RESTART) {
            size_t m = mc_scnp_push_key(p, "faults");
            size_t mi = mc_scnp_push_index(p, f->index);
            rc = mc_scnp_fail(p, "%s of '%s' at %s, before it starts (start %s)",
                              mc_fault_kind_name(f->kind), f->node, at, start);
            mc_scnp_pop(p, mi);
            mc_scnp_pop(p, m);
            break;
        }
        switch (f->kind) {
        case MC_FAULT_CRASH:
            why = st[n] == NODE_CRASHED ? "already crashed" : NULL;
            next = NODE_CRASHED; /* a paused process can be killed too */
            break;
        case MC_FAULT_RESTART:
            why = st[n] != NODE_CRASHED ? "not crashed (crash it first)" : NULL;
            next = NODE_UP;
            break;
        case MC_FAULT_PAUSE:
            why = st[n] == NODE_CRASHED ? "crashed" : st[n] == NODE_PAUSED ? "already paused" : NULL;
            next = NODE_PAUSED;
            break;
        case MC_FAULT_RESUME:
            why = st[n] != NODE_PAUSED ? "not paused" : NULL;
            next = NODE_UP;
            break;
        default:
            MC_UNREACHABLE();
        }
        if (why) {
            size_t m = mc_scnp_push_key(p, "faults");
            size_t mi = mc_scnp_push_index(p, f->index);
            rc = mc_scnp_fail(p, "%s of '%s' at %s, which is %s", mc_fault_kind_name(f->kind),
                              f->node, at, why);
            mc_scnp_pop(p, mi);
            mc_scnp_pop(p, m);
        }
        st[n] = next;
    }
    mc_free(st);
    return rc;
}

mc_status_t mc_scnp_faults(mc_scnp_t *p, const cJSON *arr)
{
    mc_scenario_t *s = p->s;
    if (!arr)
        return MC_OK;
    size_t m = mc_scnp_push_key(p, "faults");
    if (!cJSON_IsArray(arr)) {
        mc_scnp_fail(p, "expected an array, got %s", mc_scnp_type_name(arr));
        mc_scnp_pop(p, m);
        return MC_INVALID_PARAMS;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    mc_scn_fault_t *tmp = mc_calloc(n, sizeof *tmp);
    unsigned *mask = mc_calloc(n, sizeof *mask);
    order_t *ord = mc_calloc(n, sizeof *ord);
    mc_status_t st = MC_OK;
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        size_t mi = mc_scnp_push_index(p, i);
        tmp[i].index = i;
        st = parse_one(p, it, &tmp[i], &mask[i]);
        mc_scnp_pop(p, mi);
        if (st != MC_OK)
            break;
        ord[i].at = tmp[i].at_ns;
        ord[i].idx = i;
    }
    mc_scnp_pop(p, m);
    if (st != MC_OK) {
        /* Hand the partial array to s so mc_scenario_free releases it. */
        s->faults = tmp;
        s->nfaults = n;
        goto out;
    }
    qsort(ord, n, sizeof *ord, order_cmp);
    s->faults = mc_calloc(n, sizeof *s->faults);
    s->nfaults = n;
    mc_net_model_t cur = s->net; /* "net" faults change fields cumulatively */
    for (i = 0; i < n; i++) {
        mc_scn_fault_t *f = &s->faults[i];
        *f = tmp[ord[i].idx];
        if (f->kind == MC_FAULT_NET) {
            unsigned b = mask[ord[i].idx];
            if (b & MC_NETF_LATENCY) cur.latency_ns = f->net.latency_ns;
            if (b & MC_NETF_JITTER) cur.jitter_ns = f->net.jitter_ns;
            if (b & MC_NETF_BANDWIDTH) cur.bandwidth_bps = f->net.bandwidth_bps;
            if (b & MC_NETF_LOSS) cur.loss = f->net.loss;
            if (b & MC_NETF_DUP) cur.dup = f->net.dup;
            if (b & MC_NETF_REORDER) cur.reorder = f->net.reorder;
            f->net = cur;
        }
    }
    mc_free(tmp);
    st = check_sequence(p);
out:
    mc_free(mask);
    mc_free(ord);
    return st;
}
