/* Role "store_client": a store client node whose workload comes from
 * scenario commands. Every operation is traced as a begin/end pair with
 * the value id it wrote or read, so history checkers (per-key
 * linearizability, durability, torn reads) work from the trace alone, in
 * the simulator and on real processes.
 *
 * Commands (args):
 *   put|upsert key=K size=N [replicas=R] [hard_pin=1] [soft_pin=1] [preferred=SEG]
 *   get key=K          remove key=K [force=1]      exist key=K
 *   remove_by_regex pattern=P [force=1]            remove_all [force=1]
 *   copy key=K targets=SEG[,SEG...]                move key=K source=SEG target=SEG
 *   (copy/move create a task; the executing client traces client.task_end)
 */
#include <stdio.h>
#include <string.h>

#include "base/mc_list.h"
#include "base/mc_mem.h"
#include "env/mc_role.h"
#include "storesvc/mc_store_client.h"
#include "storesvc/mc_store_value.h"

typedef struct store_client_node {
    mc_env_t *env;
    mc_store_client_t sc;
    uint64_t default_replicas;
    uint64_t next_id; /* op id in begin/end traces: pairs them for history checkers */
    mc_list_t pending; /* cmd_ctx_t of commands not answered yet */
} store_client_node_t;

typedef struct cmd_ctx {
    store_client_node_t *n;
    char op[16];
    char *key;
    uint64_t vid;
    uint64_t id;
    uint8_t *into; /* get into=SIZE: the destination (get_into), freed with the command */
    mc_list_t link; /* in n->pending until answered */
} cmd_ctx_t;

static void cmd_ctx_free(cmd_ctx_t *x)
{
    mc_list_del(&x->link);
    mc_free(x->into);
    mc_free(x->key);
    mc_free(x);
}

/* "a,b" from a put's replica endpoints (the segment names checkers map
 * to owner nodes for durability). */
static void join_segs(const mc_sc_result_t *r, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; r->segments && i < r->replicas && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "", r->segments[i]);
    if (!buf[0])
        snprintf(buf, cap, "-");
}

static void on_done(void *arg, const mc_sc_result_t *r)
{
    cmd_ctx_t *x = arg;
    mc_env_t *env = x->n->env;
    const char *st = mc_status_name(r->status);
    if (!strcmp(x->op, "get")) {
        uint64_t vid;
        if (r->status != MC_OK)
            mc_env_tracef(env, "client.op_end", "op=get key=%s status=%s id=%llu", x->key, st,
                          (unsigned long long)x->id);
        else if (mc_store_value_check(r->data, r->len, &vid))
            mc_env_tracef(env, "client.op_end", "op=get key=%s status=OK vid=%016llx size=%zu id=%llu", x->key,
                          (unsigned long long)vid, r->len, (unsigned long long)x->id);
        else
            mc_env_tracef(env, "client.op_end", "op=get key=%s status=OK vid=torn size=%zu id=%llu", x->key,
                          r->len, (unsigned long long)x->id);
    } else if (!strcmp(x->op, "put") || !strcmp(x->op, "upsert")) {
        char segs[MC_STORE_MAX_REPLICAS * 64];
        join_segs(r, segs, sizeof segs);
        mc_env_tracef(env, "client.op_end",
                      "op=%s key=%s status=%s vid=%016llx existed=%llu replicas=%u segs=%s id=%llu", x->op, x->key,
                      st, (unsigned long long)x->vid, (unsigned long long)r->value, r->replicas, segs,
                      (unsigned long long)x->id);
    } else {
        mc_env_tracef(env, "client.op_end", "op=%s key=%s status=%s value=%llu id=%llu", x->op,
                      x->key ? x->key : "-", st, (unsigned long long)r->value, (unsigned long long)x->id);
    }
    cmd_ctx_free(x);
}

static bool arg_bool(const mc_conf_t *args, const char *k)
{
    const char *v = mc_conf_get(args, k);
    return v && (!strcmp(v, "1") || !strcmp(v, "true"));
}

/* copy targets=a,b / move source=s target=t: create the task. */
static void sc_task_command(store_client_node_t *n, const char *cmd, const mc_conf_t *args, mc_slice_t k,
                            cmd_ctx_t *x)
{
    if (cmd[0] == 'm') {
        const char *src = mc_conf_get(args, "source"), *tgt = mc_conf_get(args, "target");
        mc_sc_create_move_task(&n->sc, k, src ? src : "", tgt ? tgt : "", on_done, x);
        return;
    }
    const char *list = mc_conf_get(args, "targets");
    char *buf = mc_strdup(list ? list : "");
    const char *tg[MC_STORE_MAX_REPLICAS];
    uint32_t nt = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && nt < MC_STORE_MAX_REPLICAS;
         t = strtok_r(NULL, ",", &save))
        tg[nt++] = t;
    mc_sc_create_copy_task(&n->sc, k, tg, nt, on_done, x);
    mc_free(buf);
}

static cmd_ctx_t *cmd_ctx_new(store_client_node_t *n, const char *cmd, const char *key)
{
    cmd_ctx_t *x = mc_calloc(1, sizeof *x);
    x->n = n;
    snprintf(x->op, sizeof x->op, "%s", cmd);
    x->key = key ? mc_strdup(key) : NULL;
    x->id = ++n->next_id;
    mc_list_push_back(&n->pending, &x->link);
    return x;
}

/* put / upsert with keys=a,b,c (size, replicas as for one key): one
 * batch put (one start RPC, one End/Revoke); each key has its own value
 * and is traced as its own op. */
static mc_status_t sc_batch_put_command(store_client_node_t *n, const char *cmd, const char *list,
                                        const mc_conf_t *args)
{
    uint64_t size = 4096, replicas = n->default_replicas;
    const char *sz = mc_conf_get(args, "size"), *rp = mc_conf_get(args, "replicas");
    if ((sz && !mc_parse_size(sz, &size)) || (rp && !mc_parse_u64(rp, &replicas)) || size < MC_STORE_VALUE_MIN)
        return MC_INVALID_PARAMS;
    char *buf = mc_strdup(list);
    uint32_t cap = 1;
    for (const char *p = buf; *p; p++)
        cap += *p == ',';
    mc_slice_t *keys = mc_calloc(cap, sizeof *keys);
    void **args_v = mc_calloc(cap, sizeof *args_v);
    const void **vals = mc_calloc(cap, sizeof *vals);
    size_t *lens = mc_calloc(cap, sizeof *lens);
    uint32_t nk = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        cmd_ctx_t *x = cmd_ctx_new(n, cmd, t);
        x->vid = mc_env_rand(n->env);
        uint8_t *val = mc_malloc(size);
        mc_store_value_fill(val, size, x->vid);
        mc_env_tracef(n->env, "client.op_begin", "op=%s key=%s vid=%016llx size=%llu pin=none id=%llu", cmd, t,
                      (unsigned long long)x->vid, (unsigned long long)size, (unsigned long long)x->id);
        keys[nk] = mc_slice_cstr(x->key);
        vals[nk] = val;
        lens[nk] = size;
        args_v[nk++] = x;
    }
    mc_replicate_config_t rc = {
        .replica_num = (uint32_t)replicas,
        .soft_pin_action = MC_SOFT_PIN_PRESERVE,
        .preferred_segment = mc_conf_get(args, "preferred"),
    };
    mc_sc_batch_put(&n->sc, nk, keys, vals, lens, &rc, cmd[0] == 'u', on_done, args_v);
    for (uint32_t i = 0; i < nk; i++)
        mc_free((void *)vals[i]);
    mc_free(vals);
    mc_free(lens);
    mc_free(keys);
    mc_free(args_v);
    mc_free(buf);
    return nk ? MC_OK : MC_INVALID_PARAMS;
}

/* get / exist / remove with keys=a,b,c: one batch call (one master RPC);
 * each key is traced as its own op. */
static mc_status_t sc_batch_command(store_client_node_t *n, const char *cmd, const char *list, bool force)
{
    char *buf = mc_strdup(list);
    uint32_t cap = 1;
    for (const char *p = buf; *p; p++)
        cap += *p == ',';
    mc_slice_t *keys = mc_calloc(cap, sizeof *keys);
    void **args = mc_calloc(cap, sizeof *args);
    uint32_t nk = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        cmd_ctx_t *x = cmd_ctx_new(n, cmd, t);
        mc_env_tracef(n->env, "client.op_begin", "op=%s key=%s id=%llu", cmd, t, (unsigned long long)x->id);
        keys[nk] = mc_slice_cstr(x->key);
        args[nk++] = x;
    }
    if (!strcmp(cmd, "get"))
        mc_sc_batch_get(&n->sc, nk, keys, NULL, NULL, on_done, args);
    else if (!strcmp(cmd, "exist"))
        mc_sc_batch_exist(&n->sc, nk, keys, on_done, args);
    else
        mc_sc_batch_remove(&n->sc, nk, keys, force, on_done, args);
    mc_free(keys);
    mc_free(args);
    mc_free(buf);
    return nk ? MC_OK : MC_INVALID_PARAMS;
}

static mc_status_t sc_command(void *node, const char *cmd, const mc_conf_t *args)
{
    store_client_node_t *n = node;
    const char *keys = mc_conf_get(args, "keys");
    if (keys && (!strcmp(cmd, "get") || !strcmp(cmd, "exist") || !strcmp(cmd, "remove")))
        return sc_batch_command(n, cmd, keys, arg_bool(args, "force"));
    if (keys && (!strcmp(cmd, "put") || !strcmp(cmd, "upsert")))
        return sc_batch_put_command(n, cmd, keys, args);
    const char *key = mc_conf_get(args, "key");
    bool needs_key = strcmp(cmd, "remove_all") && strcmp(cmd, "remove_by_regex");
    if (needs_key && !key) {
        mc_env_logf(n->env, MC_LOG_WARN, "client", "command '%s': missing key", cmd);
        return MC_INVALID_PARAMS;
    }
    if (strlen(cmd) >= sizeof ((cmd_ctx_t *)0)->op)
        return MC_INVALID_PARAMS;
    cmd_ctx_t *x = cmd_ctx_new(n, cmd, key);
    mc_slice_t k = mc_slice_cstr(key);
    bool force = arg_bool(args, "force");

    if (!strcmp(cmd, "put") || !strcmp(cmd, "upsert")) {
        uint64_t size = 4096, replicas = n->default_replicas;
        const char *sz = mc_conf_get(args, "size"), *rp = mc_conf_get(args, "replicas");
        if ((sz && !mc_parse_size(sz, &size)) || (rp && !mc_parse_u64(rp, &replicas)) ||
            size < MC_STORE_VALUE_MIN) {
            mc_env_logf(n->env, MC_LOG_WARN, "client", "command '%s': bad size or replicas (size >= %d)", cmd,
                        MC_STORE_VALUE_MIN);
            cmd_ctx_free(x);
            return MC_INVALID_PARAMS;
        }
        x->vid = mc_env_rand(n->env);
        uint8_t *val = mc_malloc(size);
        mc_store_value_fill(val, size, x->vid);
        mc_replicate_config_t rc = {
            .replica_num = (uint32_t)replicas,
            .with_hard_pin = arg_bool(args, "hard_pin"),
            .soft_pin_action = arg_bool(args, "soft_pin") ? MC_SOFT_PIN_ENABLE : MC_SOFT_PIN_PRESERVE,
            .preferred_segment = mc_conf_get(args, "preferred"),
        };
        mc_env_tracef(n->env, "client.op_begin", "op=%s key=%s vid=%016llx size=%llu pin=%s id=%llu", cmd, key,
                      (unsigned long long)x->vid, (unsigned long long)size,
                      rc.with_hard_pin ? "hard" : rc.soft_pin_action == MC_SOFT_PIN_ENABLE ? "soft" : "none",
                      (unsigned long long)x->id);
        mc_sc_put(&n->sc, k, val, size, &rc, cmd[0] == 'u', on_done, x);
        mc_free(val);
        return MC_OK;
    }
    mc_env_tracef(n->env, "client.op_begin", "op=%s key=%s id=%llu", cmd, key ? key : "-", (unsigned long long)x->id);
    uint64_t into = 0;
    const char *into_s = mc_conf_get(args, "into");
    if (!strcmp(cmd, "get") && into_s && mc_parse_size(into_s, &into) && into) {
        x->into = mc_malloc(into); /* freed right after the callback: no transfer may write it later */
        mc_sc_get_into(&n->sc, k, x->into, into, on_done, x);
    } else if (!strcmp(cmd, "get")) {
        mc_sc_get(&n->sc, k, on_done, x);
    } else if (!strcmp(cmd, "remove")) {
        mc_sc_remove(&n->sc, k, force, on_done, x);
    } else if (!strcmp(cmd, "exist")) {
        mc_sc_exist(&n->sc, k, on_done, x);
    } else if (!strcmp(cmd, "remove_all")) {
        mc_sc_remove_all(&n->sc, force, on_done, x);
    } else if (!strcmp(cmd, "copy") || !strcmp(cmd, "move")) {
        sc_task_command(n, cmd, args, k, x);
    } else if (!strcmp(cmd, "remove_by_regex")) {
        const char *pattern = mc_conf_get(args, "pattern");
        mc_sc_remove_by_regex(&n->sc, pattern ? pattern : "", force, on_done, x);
    } else {
        mc_env_logf(n->env, MC_LOG_WARN, "client", "unknown command '%s'", cmd);
        mc_env_tracef(n->env, "client.op_end", "op=%s key=%s status=INVALID_PARAMS id=%llu", cmd, key ? key : "-",
                      (unsigned long long)x->id);
        cmd_ctx_free(x);
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
}

static void *sc_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    mc_sc_config_t cfg = {
        .master = mc_conf_get(conf, "master"),
        .addr = mc_conf_get(conf, "addr"),
        .protocol = "tcp",
    };
    uint64_t replicas;
    if (!cfg.master) {
        snprintf(err, errlen, "key 'master': required (master address)");
        return NULL;
    }
    if (mc_conf_size(conf, "segment_size", 64ULL << 20, &cfg.segment_size) != MC_OK ||
        mc_conf_duration(conf, "rpc_timeout", 5 * MC_NS_PER_S, &cfg.rpc_timeout_ns) != MC_OK ||
        mc_conf_duration(conf, "transfer_timeout", 10 * MC_NS_PER_S, &cfg.xfer_timeout_ns) != MC_OK ||
        mc_conf_u64(conf, "replicas", 1, &replicas) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    store_client_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    n->default_replicas = replicas;
    mc_list_init(&n->pending);
    if (mc_store_client_init(&n->sc, env, &cfg, err, errlen) != MC_OK) {
        mc_free(n);
        return NULL;
    }
    mc_store_client_bind(&n->sc);
    /* addr and endpoint let history checkers map a put's segs= (replica
     * endpoints) back to the owning node */
    mc_env_tracef(env, "client.start", "client=%s segment=%llu addr=%s endpoint=%s", env->node_name,
                  (unsigned long long)cfg.segment_size, n->sc.addr, n->sc.endpoint ? n->sc.endpoint : n->sc.addr);
    return n;
}

static void sc_destroy(void *node)
{
    store_client_node_t *n = node;
    mc_store_client_destroy(&n->sc);
    /* destroy drops pending operations without callbacks (the process is
     * gone): their contexts are freed here, not leaked */
    mc_list_t *pos, *tmp;
    mc_list_for_each_safe(pos, tmp, &n->pending)
        cmd_ctx_free(mc_container_of(pos, cmd_ctx_t, link));
    mc_free(n);
}

const mc_role_t mc_role_store_client = {
    .name = "store_client",
    .help = "store client: master, segment_size (64MiB), replicas (1), rpc_timeout, transfer_timeout; "
            "commands put/upsert/get/remove/exist/remove_by_regex/remove_all/copy/move",
    .create = sc_create,
    .destroy = sc_destroy,
    .command = sc_command,
};
