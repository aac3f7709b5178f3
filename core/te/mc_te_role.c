/* Roles "te" (a transfer-engine node driven by scenario commands) and
 * "te_meta" (a metadata server for TE descriptors over control messages).
 * Registration in core/mc_roles.c is the lead's: add &mc_role_te and
 * &mc_role_te_meta to the table.
 *
 * "te" conf: every mc_te_create key (mc_te.h) plus
 *   addr             listen address (required; the world fills it)
 *   metadata_server  address of a te_meta node, or P2PHANDSHAKE (segment
 *                    names are then "host:port" addresses: segment_name
 *                    defaults to addr); unset = none
 *   nics             must not exceed the node's NIC count (the sim rejects
 *                    an unknown path index with MC_INVALID_PARAMS)
 *   buffer_size      register one buffer ("buf0") of this size at start
 * Buffers are filled with a pattern derived from the owner's segment
 * name and the offset, so a READ can verify what it got and a WRITE
 * writes the pattern the target already holds (idempotent): corruption,
 * misplaced slices or false successes show up as verify=bad.
 *
 * Commands (args) -> trace events:
 *   register   size [label=bufN] [location=cpu:0] [remote=true]
 *                                        -> te.cmd_register label rc
 *   unregister label                     -> te.cmd_unregister label rc
 *   open       segment                   -> te.cmd_open segment err id
 *   write|read segment size [count=1] [offset=0] [local_offset=0]
 *              [label] [notify_name notify_msg]
 *                                        -> te.cmd_xfer op segment status
 *                                           ok failed timeout bytes verify
 *   notify     segment name msg          -> te.cmd_notify segment err
 *   notifies                             -> te.cmd_notify_got name msg (each),
 *                                           te.cmd_notifies count
 *   probe      segment                   -> te.cmd_probe segment err
 *   refresh    segment                   -> te.cmd_refresh segment err
 *              (re-fetch a cached descriptor, e.g. after the peer
 *              restarted; opens the segment if it is not cached)
 * Engine events: te.req_done (one per request: exactly-once checkers
 * count them), te.path_pause, te.path_resume, te.late_completion, ... */
#include <stdio.h>
#include <string.h>

#include "../base/mc_bytes.h"
#include "../env/mc_role.h"
#include "mc_te_int.h"
#include "mc_te_meta_rpc.h"

typedef struct role_buf {
    char *label;
    uint8_t *mem;
    uint64_t len;
} role_buf_t;

typedef struct te_node te_node_t;

typedef struct role_op {
    te_node_t *n;
    uint64_t id;
    int kind; /* MC_XFER_READ / MC_XFER_WRITE, or -1 for probe/notify */
    char *cmd;
    char *segment;
    char *label;
    char *notify_name, *notify_msg;
    uint64_t size, count, offset, local_offset;
    uint64_t seg_id;
    bool fresh; /* seg_id was opened (not cached) for this op */
    uint64_t batch;
} role_op_t;

struct te_node {
    mc_env_t *env;
    mc_te_t *te;
    mc_te_meta_t *meta;
    bool meta_rpc;
    mc_vec_t bufs; /* role_buf_t */
    mc_map_t ops;  /* id -> role_op_t* (in flight) */
    uint64_t next_op;
};

/* ---- data pattern ---- */

static uint8_t pattern(uint64_t seed, uint64_t off)
{
    uint64_t x = seed ^ (off / 8) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    return (uint8_t)(x >> ((off % 8) * 8));
}

static uint64_t seg_seed(const char *name) { return mc_hash64(name, strlen(name), MC_HASH64_INIT); }

static void fill(uint8_t *p, uint64_t len, uint64_t seed, uint64_t off)
{
    for (uint64_t i = 0; i < len; i++)
        p[i] = pattern(seed, off + i);
}

static bool verify(const uint8_t *p, uint64_t len, uint64_t seed, uint64_t off)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pattern(seed, off + i))
            return false;
    return true;
}

static role_buf_t *buf_find(te_node_t *n, const char *label)
{
    for (size_t i = 0; i < n->bufs.len; i++) {
        role_buf_t *b = MC_VEC_AT(&n->bufs, role_buf_t, i);
        if (!label || strcmp(b->label, label) == 0)
            return b;
    }
    return NULL;
}

/* ---- ops ---- */

static void op_free(role_op_t *op)
{
    mc_free(op->cmd);
    mc_free(op->segment);
    mc_free(op->label);
    mc_free(op->notify_name);
    mc_free(op->notify_msg);
    mc_free(op);
}

static void op_end(role_op_t *op)
{
    mc_map_delu(&op->n->ops, op->id);
    op_free(op);
}

static void xfer_fail(role_op_t *op, const char *status, int err)
{
    mc_env_tracef(op->n->env, "te.cmd_xfer", "op=%s segment=%s status=%s err=%s", op->cmd, op->segment,
                  status, mc_te_err_name(err));
    op_end(op);
}

static void batch_done(void *arg, uint64_t batch, int status)
{
    role_op_t *op = arg;
    te_node_t *n = op->n;
    uint64_t ok = 0, failed = 0, timeout = 0, bytes = 0;
    bool good = true;
    role_buf_t *b = buf_find(n, op->label);
    uint64_t seed = seg_seed(op->segment);
    for (uint64_t k = 0; k < op->count; k++) {
        mc_te_task_status_t st;
        MC_ASSERT(mc_te_get_transfer_status(n->te, batch, k, &st) == 0);
        bytes += st.transferred_bytes;
        if (st.status == MC_TE_COMPLETED) {
            ok++;
            if (op->kind == MC_XFER_READ && b &&
                !verify(b->mem + op->local_offset + k * op->size, op->size, seed, op->offset + k * op->size))
                good = false;
        } else if (st.status == MC_TE_TIMEOUT) {
            timeout++;
        } else {
            failed++;
        }
    }
    mc_env_tracef(n->env, "te.cmd_xfer",
                  "op=%s segment=%s status=%s ok=%llu failed=%llu timeout=%llu bytes=%llu verify=%s", op->cmd,
                  op->segment, mc_te_xfer_status_name(status), (unsigned long long)ok,
                  (unsigned long long)failed, (unsigned long long)timeout, (unsigned long long)bytes,
                  good ? "ok" : "bad");
    MC_ASSERT(mc_te_free_batch(n->te, batch) == 0);
    op_end(op);
}

static void xfer_start(role_op_t *op)
{
    te_node_t *n = op->n;
    role_buf_t *b = buf_find(n, op->label);
    te_seg_t *seg = te_seg_get(n->te, op->seg_id);
    if (!b || !seg || !seg->desc.nbuffers || op->count == 0 || op->size == 0 ||
        op->local_offset + op->count * op->size > b->len) {
        xfer_fail(op, "BAD_ARGS", MC_TE_ERR_INVALID_ARGUMENT);
        return;
    }
    /* The peer's first published buffer that is a target (local-only
     * buffers, e.g. a "remote=false" scratch, have no rkey). */
    uint64_t base = 0;
    bool found = false;
    for (uint32_t i = 0; i < seg->desc.nbuffers && !found; i++) {
        const mc_te_buffer_desc_t *d = &seg->desc.buffers[i];
        if (!mc_te_proto_has_devices(seg->desc.protocol) || d->nrkey > 0) {
            base = d->addr;
            found = true;
        }
    }
    if (!found) {
        xfer_fail(op, "BAD_ARGS", MC_TE_ERR_ADDRESS_NOT_REGISTERED);
        return;
    }
    uint64_t seed = seg_seed(op->segment);
    mc_te_request_t *reqs = mc_calloc(op->count, sizeof *reqs);
    for (uint64_t k = 0; k < op->count; k++) {
        uint8_t *local = b->mem + op->local_offset + k * op->size;
        if (op->kind == MC_XFER_WRITE)
            fill(local, op->size, seed, op->offset + k * op->size);
        reqs[k].opcode = (uint8_t)op->kind;
        reqs[k].source = local;
        reqs[k].target_id = op->seg_id;
        reqs[k].target_offset = base + op->offset + k * op->size;
        reqs[k].length = op->size;
    }
    op->batch = mc_te_alloc_batch(n->te, (uint32_t)op->count);
    int rc = op->notify_name ? mc_te_submit_with_notify(n->te, op->batch, reqs, op->count, op->notify_name,
                                                         op->notify_msg ? op->notify_msg : "")
                             : mc_te_submit(n->te, op->batch, reqs, op->count);
    mc_free(reqs);
    if (rc) {
        mc_te_free_batch(n->te, op->batch);
        xfer_fail(op, "SUBMIT_ERROR", rc);
        return;
    }
    mc_te_batch_on_done(n->te, op->batch, batch_done, op);
}

static void done_cb(void *arg, int err)
{
    role_op_t *op = arg;
    mc_env_tracef(op->n->env, op->kind == -1 ? "te.cmd_notify" : "te.cmd_probe", "segment=%s err=%s",
                  op->segment, mc_te_err_name(err));
    op_end(op);
}

static void refresh_start(role_op_t *op);

static void op_continue(role_op_t *op)
{
    te_node_t *n = op->n;
    if (strcmp(op->cmd, "open") == 0) {
        mc_env_tracef(n->env, "te.cmd_open", "segment=%s err=OK id=%llu", op->segment,
                      (unsigned long long)op->seg_id);
        op_end(op);
    } else if (strcmp(op->cmd, "refresh") == 0) {
        refresh_start(op);
    } else if (strcmp(op->cmd, "notify") == 0) {
        op->kind = -1;
        int rc = mc_te_send_notify(n->te, op->seg_id, op->notify_name, op->notify_msg, done_cb, op);
        if (rc != MC_TE_IN_PROGRESS)
            done_cb(op, rc);
    } else if (strcmp(op->cmd, "probe") == 0) {
        op->kind = -2;
        int rc = mc_te_probe(n->te, op->seg_id, done_cb, op);
        if (rc != MC_TE_IN_PROGRESS)
            done_cb(op, rc);
    } else {
        xfer_start(op);
    }
}

static void refresh_cb(void *arg, int err, uint64_t id)
{
    role_op_t *op = arg;
    (void)id;
    mc_env_tracef(op->n->env, "te.cmd_refresh", "segment=%s err=%s", op->segment, mc_te_err_name(err));
    op_end(op);
}

static void refresh_start(role_op_t *op)
{
    if (op->fresh) { /* just opened: the descriptor is current */
        refresh_cb(op, MC_TE_ERR_OK, op->seg_id);
        return;
    }
    int rc = mc_te_refresh_segment(op->n->te, op->seg_id, refresh_cb, op);
    if (rc != MC_TE_IN_PROGRESS)
        refresh_cb(op, rc, op->seg_id);
}

static void open_cb(void *arg, int err, uint64_t id)
{
    role_op_t *op = arg;
    if (err && strcmp(op->cmd, "refresh") == 0) {
        refresh_cb(op, err, id);
        return;
    }
    if (err) {
        mc_env_tracef(op->n->env, strcmp(op->cmd, "open") == 0 ? "te.cmd_open" : "te.cmd_xfer",
                      "op=%s segment=%s status=OPEN_ERROR err=%s", op->cmd, op->segment, mc_te_err_name(err));
        op_end(op);
        return;
    }
    op->seg_id = id;
    op->fresh = true;
    op_continue(op);
}

static const char *arg_str(const mc_conf_t *a, const char *k, const char *def) { return mc_conf_str(a, k, def); }

static mc_status_t cmd_segment_op(te_node_t *n, const char *cmd, const mc_conf_t *args)
{
    const char *seg = mc_conf_get(args, "segment");
    if (!seg)
        return MC_INVALID_PARAMS;
    mc_conf_t a;
    mc_conf_init(&a);
    mc_conf_copy(&a, args); /* typed getters want a mutable conf */
    role_op_t *op = mc_calloc(1, sizeof *op);
    op->n = n;
    op->id = ++n->next_op;
    op->cmd = mc_strdup(cmd);
    op->segment = mc_strdup(seg);
    op->kind = strcmp(cmd, "read") == 0 ? MC_XFER_READ : MC_XFER_WRITE;
    const char *label = mc_conf_get(&a, "label");
    op->label = label ? mc_strdup(label) : NULL;
    const char *nn = mc_conf_get(&a, "notify_name"), *nm = mc_conf_get(&a, "notify_msg");
    if (strcmp(cmd, "notify") == 0) {
        nn = arg_str(&a, "name", "");
        nm = arg_str(&a, "msg", "");
    }
    op->notify_name = nn ? mc_strdup(nn) : NULL;
    op->notify_msg = nm ? mc_strdup(nm) : NULL;
    mc_status_t s = MC_OK;
    if (mc_conf_size(&a, "size", 0, &op->size) != MC_OK || mc_conf_u64(&a, "count", 1, &op->count) != MC_OK ||
        mc_conf_size(&a, "offset", 0, &op->offset) != MC_OK ||
        mc_conf_size(&a, "local_offset", 0, &op->local_offset) != MC_OK || op->count > (1u << 20))
        s = MC_INVALID_PARAMS;
    mc_conf_free(&a);
    if (s != MC_OK) {
        op_free(op);
        return s;
    }
    mc_map_putu(&n->ops, op->id, op);
    uint64_t id;
    int rc = mc_te_open_segment(n->te, seg, open_cb, op, &id);
    if (rc == MC_TE_ERR_OK) {
        op->seg_id = id;
        op_continue(op);
    } else if (rc != MC_TE_IN_PROGRESS) {
        open_cb(op, rc, MC_TE_INVALID_SEGMENT); /* traced like an asynchronous open failure */
    }
    return MC_OK;
}

static mc_status_t te_command(void *node, const char *cmd, const mc_conf_t *args)
{
    te_node_t *n = node;
    mc_conf_t a;
    mc_conf_init(&a);
    mc_conf_copy(&a, args);
    mc_status_t s = MC_OK;
    if (strcmp(cmd, "register") == 0) {
        uint64_t size;
        bool remote;
        char label[32];
        snprintf(label, sizeof label, "buf%zu", n->bufs.len);
        if (mc_conf_size(&a, "size", 0, &size) != MC_OK || size == 0 || size > (1ULL << 34) ||
            mc_conf_bool(&a, "remote", true, &remote) != MC_OK) {
            s = MC_INVALID_PARAMS;
            goto out;
        }
        const char *lab = mc_conf_str(&a, "label", label);
        uint8_t *mem = mc_malloc(size);
        fill(mem, size, seg_seed(mc_te_segment_name(n->te)), 0);
        int rc = mc_te_register(n->te, mem, size, mc_conf_str(&a, "location", "cpu:0"), remote, true);
        if (rc) {
            mc_free(mem);
        } else {
            role_buf_t *b = mc_vec_push(&n->bufs);
            b->label = mc_strdup(lab);
            b->mem = mem;
            b->len = size;
        }
        mc_env_tracef(n->env, "te.cmd_register", "label=%s rc=%s", lab, mc_te_err_name(rc));
    } else if (strcmp(cmd, "unregister") == 0) {
        const char *lab = mc_conf_str(&a, "label", "buf0");
        role_buf_t *b = buf_find(n, lab);
        int rc = b ? mc_te_unregister(n->te, b->mem, true) : MC_TE_ERR_ADDRESS_NOT_REGISTERED;
        /* The memory stays allocated: late completions may still touch it. */
        if (b && !rc) {
            mc_free(b->label);
            b->label = mc_strdup("");
        }
        mc_env_tracef(n->env, "te.cmd_unregister", "label=%s rc=%s", lab, mc_te_err_name(rc));
    } else if (strcmp(cmd, "notifies") == 0) {
        mc_te_notify_t *v;
        size_t cnt = mc_te_get_notifies(n->te, &v);
        for (size_t i = 0; i < cnt; i++)
            mc_env_tracef(n->env, "te.cmd_notify_got", "name=%s msg=%s", v[i].name, v[i].msg);
        mc_env_tracef(n->env, "te.cmd_notifies", "count=%zu", cnt);
        mc_te_notifies_free(v, cnt);
    } else if (!strcmp(cmd, "open") || !strcmp(cmd, "write") || !strcmp(cmd, "read") ||
               !strcmp(cmd, "notify") || !strcmp(cmd, "probe") || !strcmp(cmd, "refresh")) {
        s = cmd_segment_op(n, cmd, &a);
    } else {
        s = MC_INVALID_PARAMS;
    }
out:
    mc_conf_free(&a);
    return s;
}

/* ---- env upcalls ---- */

static void h_up(void *node, mc_conn_t c)
{
    te_node_t *n = node;
    if (!(n->meta_rpc && mc_te_meta_rpc_on_conn_up(n->meta, c)))
        mc_te_on_conn_up(n->te, c);
}

static void h_down(void *node, mc_conn_t c, mc_status_t why)
{
    te_node_t *n = node;
    if (!(n->meta_rpc && mc_te_meta_rpc_on_conn_down(n->meta, c, why)))
        mc_te_on_conn_down(n->te, c, why);
}

static void h_accept(void *node, mc_conn_t c, const char *peer) {}

static void h_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    te_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (!mc_rpc_open_frame(n->env, c, frame, len, "te", true, &hdr, &body))
        return;
    if (n->meta_rpc && mc_te_meta_rpc_on_frame(n->meta, c, &hdr, &body))
        return;
    if (!mc_te_on_frame(n->te, c, &hdr, &body))
        mc_rpc_unexpected(n->env, "te", &hdr);
}

static void h_xfer(void *node, uint64_t tag, mc_status_t st)
{
    te_node_t *n = node;
    if (!mc_te_on_xfer_done(n->te, tag, st))
        mc_env_logf(n->env, MC_LOG_WARN, "te", "completion with a foreign tag");
}

static const mc_env_handlers_t te_handlers = {
    .on_conn_up = h_up,
    .on_conn_accept = h_accept,
    .on_conn_down = h_down,
    .on_msg = h_msg,
    .on_xfer_done = h_xfer,
};

static void te_destroy(void *node)
{
    te_node_t *n = node;
    mc_te_destroy(n->te); /* no callbacks: in-flight ops are freed below */
    uint32_t it = 0;
    mc_map_entry_t *e;
    while (mc_map_next(&n->ops, &it, &e))
        op_free(e->value);
    mc_map_free(&n->ops);
    if (n->meta)
        mc_te_meta_destroy(n->meta);
    for (size_t i = 0; i < n->bufs.len; i++) {
        role_buf_t *b = MC_VEC_AT(&n->bufs, role_buf_t, i);
        mc_free(b->label);
        mc_free(b->mem);
    }
    mc_vec_free(&n->bufs);
    mc_free(n);
}

static void *te_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    const char *addr = mc_conf_get(conf, "addr");
    if (!addr) {
        snprintf(err, errlen, "key 'addr': required (listen address)");
        return NULL;
    }
    uint64_t bufsize;
    if (mc_conf_size(conf, "buffer_size", 0, &bufsize) != MC_OK) {
        snprintf(err, errlen, "%s", conf->err);
        return NULL;
    }
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    te_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    mc_vec_init(&n->bufs, sizeof(role_buf_t));
    mc_map_init(&n->ops);
    const char *ms = mc_conf_get(conf, "metadata_server");
    /* P2P handshake mode names the segment by its address (upstream
     * rewrites local_server_name to host:port the same way). */
    if (ms && strcmp(ms, MC_TE_P2P_HANDSHAKE) == 0 && !mc_conf_get(conf, "segment_name"))
        mc_conf_set(conf, "segment_name", addr);
    if (ms && *ms) {
        n->meta = mc_te_meta_rpc_open(env, ms, 0);
        n->meta_rpc = true;
    }
    mc_env_bind(env, &te_handlers, n);
    n->te = mc_te_create(env, conf, n->meta, err, errlen);
    if (!n->te) {
        n->te = NULL;
        if (n->meta)
            mc_te_meta_destroy(n->meta);
        mc_map_free(&n->ops);
        mc_vec_free(&n->bufs);
        mc_free(n);
        return NULL;
    }
    if (bufsize) {
        mc_conf_t a;
        mc_conf_init(&a);
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)bufsize);
        mc_conf_set(&a, "size", v);
        te_command(n, "register", &a);
        mc_conf_free(&a);
    }
    return n;
}

const mc_role_t mc_role_te = {
    .name = "te",
    .help = "transfer engine node: addr, metadata_server (addr|P2PHANDSHAKE), buffer_size, nics, slice_size, "
            "retry_cnt, transfer_timeout, slice_timeout, rail_pause, ... (core/te/mc_te.h)",
    .create = te_create,
    .destroy = te_destroy,
    .command = te_command,
};

/* ---- te_meta: the metadata server ---- */

typedef struct te_meta_node {
    mc_env_t *env;
    mc_te_meta_mem_store_t *store;
    mc_wbuf_t out;
} te_meta_node_t;

static void m_up(void *node, mc_conn_t c) {}
static void m_down(void *node, mc_conn_t c, mc_status_t why) {}
static void m_xfer(void *node, uint64_t tag, mc_status_t st) {}

static void m_msg(void *node, mc_conn_t c, const uint8_t *frame, size_t len)
{
    te_meta_node_t *n = node;
    mc_wire_hdr_t hdr;
    mc_rbuf_t body;
    if (mc_rpc_open_frame(n->env, c, frame, len, "te_meta", true, &hdr, &body) &&
        !mc_te_meta_server_on_frame(n->store, n->env, c, &hdr, &body, &n->out))
        mc_rpc_unexpected(n->env, "te_meta", &hdr);
}

static const mc_env_handlers_t meta_handlers = {
    .on_conn_up = m_up,
    .on_conn_accept = h_accept,
    .on_conn_down = m_down,
    .on_msg = m_msg,
    .on_xfer_done = m_xfer,
};

static void *meta_create(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen)
{
    const char *addr = mc_conf_get(conf, "addr");
    if (!addr) {
        snprintf(err, errlen, "key 'addr': required (listen address)");
        return NULL;
    }
    mc_status_t s = env->ops->listen(env, addr);
    if (s != MC_OK) {
        snprintf(err, errlen, "key 'addr': cannot listen on '%s': %s", addr, mc_status_msg(s));
        return NULL;
    }
    te_meta_node_t *n = mc_calloc(1, sizeof *n);
    n->env = env;
    n->store = mc_te_meta_mem_store_new(); /* a restart starts empty, like upstream's servers */
    mc_wbuf_init(&n->out);
    mc_env_bind(env, &meta_handlers, n);
    mc_env_tracef(env, "te_meta.start", "addr=%s", addr);
    return n;
}

static void meta_destroy(void *node)
{
    te_meta_node_t *n = node;
    mc_te_meta_mem_store_unref(n->store);
    mc_wbuf_free(&n->out);
    mc_free(n);
}

static mc_status_t meta_command(void *node, const char *cmd, const mc_conf_t *args)
{
    te_meta_node_t *n = node;
    if (strcmp(cmd, "keys") == 0) {
        mc_env_tracef(n->env, "te_meta.keys", "count=%u", mc_te_meta_mem_store_count(n->store));
        return MC_OK;
    }
    return MC_INVALID_PARAMS;
}

const mc_role_t mc_role_te_meta = {
    .name = "te_meta",
    .help = "transfer-engine metadata server (TE_META_GET/PUT/DEL): addr",
    .create = meta_create,
    .destroy = meta_destroy,
    .command = meta_command,
};
