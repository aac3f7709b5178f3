/* Writes valid frames of every message type (plus a few malformed headers)
 * as fuzz seeds: gen_corpus OUTDIR creates OUTDIR/wire/<name>.bin. Encoded with
 * the real encoders, so the seeds follow the wire format as it changes.
 * Valid frames must pass mc_msg_validate (exit 1 otherwise). When a message
 * family is added, add its frames here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/mc_msg_any.h"
#include "wire/mc_msg_membership.h"
#include "wire/mc_msg_store.h"
#include "wire/mc_msg_te.h"
#include "wire/mc_msg_types.h"

static const char *outdir;
static int failures;

static void emit(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/wire/%s.bin", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        failures++;
    }
    if (f)
        fclose(f);
}

/* A frame the encoders wrote must validate: gen_corpus doubles as a test
 * that every encoder and mc_msg_validate agree. */
static void emit_w(const char *name, const mc_wbuf_t *w)
{
    const char *why = NULL;
    if (mc_msg_validate(w->data, w->len, &why) != MC_OK) {
        fprintf(stderr, "gen_corpus: encoded %s does not validate: %s\n", name, why ? why : "?");
        failures++;
    }
    emit(name, w->data, w->len);
}

static void emit_bad(const char *name, const mc_wbuf_t *w)
{
    if (mc_msg_validate(w->data, w->len, NULL) == MC_OK) {
        fprintf(stderr, "gen_corpus: malformed %s validates\n", name);
        failures++;
    }
    emit(name, w->data, w->len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR\n");
        return 64;
    }
    outdir = argv[1];
    char dir[4096];
    mkdir(outdir, 0755);
    snprintf(dir, sizeof dir, "%s/wire", outdir);
    mkdir(dir, 0755);

    mc_wbuf_t w;
    mc_wbuf_init(&w);
    static char longname[MC_WIRE_MAX_NAME];
    memset(longname, 'n', sizeof longname);

    mc_msg_ping_t ping = {{0x0123456789abcdefULL, 0xfedcba9876543210ULL}, mc_slice_cstr("c1"), 7};
    mc_msg_ping_encode(&w, 1, &ping);
    emit_w("ping", &w);
    ping.name = mc_slice(NULL, 0);
    ping.seq = UINT64_MAX;
    mc_msg_ping_encode(&w, UINT64_MAX, &ping);
    emit_w("ping-empty-name", &w);
    ping.name = mc_slice(longname, sizeof longname);
    mc_msg_ping_encode(&w, 2, &ping);
    emit_w("ping-max-name", &w);

    for (uint8_t cs = 0; cs <= MC_CLIENT_STATUS_NEED_REMOUNT; cs++) {
        mc_msg_ping_reply_t pr = {cs == 0 ? -103 : 0, cs, 42 + cs};
        char name[64];
        snprintf(name, sizeof name, "ping-reply-%u", cs);
        mc_msg_ping_reply_encode(&w, 3, &pr);
        emit_w(name, &w);
    }

    mc_msg_register_t reg = {{1, 2}, mc_slice_cstr("client-one")};
    mc_msg_register_encode(&w, 4, &reg);
    emit_w("register", &w);
    mc_msg_register_reply_t rr = {0, 9};
    mc_msg_register_reply_encode(&w, 4, &rr);
    emit_w("register-reply", &w);
    rr.status = -1;
    mc_msg_register_reply_encode(&w, 5, &rr);
    emit_w("register-reply-error", &w);

    /* Store requests: one frame per type from a request with every field
     * set; the schema in mc_msg_store.c picks what each type carries. */
    static const struct {
        uint16_t type;
        const char *name;
    } store_types[] = {
#define STORE_ROW(n, v, str) {v, str},
        MC_MSG_STORE_TYPE_LIST(STORE_ROW)
#undef STORE_ROW
    };
    mc_slice_t keys[2] = {mc_slice_cstr("key-a"), mc_slice_cstr("key-b")};
    uint64_t sizes[2] = {4096, 1};
    uint32_t write_ids[2] = {7, 0xfffffff0u};
    mc_slice_t pref[1] = {mc_slice_cstr("seg-1")};
    mc_msg_seg_t seg = {{3, 4}, mc_slice_cstr("seg-1"), 0x10000, 1 << 20, mc_slice_cstr("127.0.0.1:1234"),
                        mc_slice_cstr("tcp"), 0x1234};
    for (size_t i = 0; i < sizeof store_types / sizeof store_types[0]; i++) {
        if (!mc_store_req_type_known(store_types[i].type))
            continue; /* replies: below */
        mc_store_req_t q;
        memset(&q, 0, sizeof q);
        q.type = store_types[i].type;
        q.client = (mc_uuid_t){1, 2};
        q.name = mc_slice_cstr("client-one");
        q.nkeys = 2;
        q.keys = keys;
        q.sizes = sizes;
        q.write_ids = write_ids;
        q.cfg.replica_num = 2;
        q.cfg.has_soft_pin_ttl = true;
        q.cfg.soft_pin_ttl_ms = 1000;
        q.cfg.npref = 1;
        q.cfg.pref = pref;
        q.has_checksum = true;
        q.checksum = 0xabcdef;
        q.force = true;
        q.pattern = mc_slice_cstr("key-.*");
        q.nsegs = 1;
        q.segs = &seg;
        q.seg_id = seg.id;
        q.arg = 30000;
        q.ntargets = 1;
        q.targets = pref;
        q.task_id = (mc_uuid_t){5, 6};
        q.task_status = MC_TASK_FAILED;
        q.message = mc_slice_cstr("TRANSFER_FAIL");
        mc_store_req_encode(&w, 100 + i, &q);
        emit_w(store_types[i].name, &w);
    }
    mc_store_val_t vals[2] = {{0, 1}, {MC_OBJECT_NOT_FOUND, 0}};
    mc_store_values_reply_t vr = {0, 2, vals};
    mc_store_values_reply_encode(&w, 200, &vr);
    emit_w("values_reply", &w);
    mc_store_replicas_reply_begin(&w, 201, false, MC_INVALID_PARAMS, 0);
    mc_store_replicas_reply_finish(&w);
    emit_w("replicas_reply-error", &w);
    mc_store_replicas_reply_begin(&w, 202, true, MC_OK, 0);
    mc_store_replicas_reply_finish(&w);
    emit_w("keyed_replicas_reply-empty", &w);
    mc_replica_list_t rl;
    memset(&rl, 0, sizeof rl);
    rl.n = 2;
    rl.lease_ttl_ms = 5000;
    rl.has_checksum = true;
    rl.checksum = 77;
    for (uint32_t k = 0; k < rl.n; k++) {
        rl.r[k].id = 10 + k;
        rl.r[k].buffer_address = 0x10000 + 4096 * k;
        rl.r[k].size = 4096;
        rl.r[k].endpoint = "127.0.0.1:1234";
        rl.r[k].protocol = "tcp";
        rl.r[k].segment_name = k ? "seg-2" : "seg-1";
        rl.r[k].status = MC_REPLICA_COMPLETE;
        rl.r[k].type = MC_REPLICA_TYPE_MEMORY;
    }
    mc_store_replicas_reply_begin(&w, 203, false, MC_OK, 2);
    mc_store_replicas_reply_add(&w, mc_slice(NULL, 0), MC_OK, &rl);
    mc_store_replicas_reply_add(&w, mc_slice(NULL, 0), MC_OBJECT_NOT_FOUND, NULL);
    mc_store_replicas_reply_finish(&w);
    emit_w("replicas_reply", &w);
    mc_store_replicas_reply_begin(&w, 204, true, MC_OK, 1);
    mc_store_replicas_reply_add(&w, keys[0], MC_OK, &rl);
    mc_store_replicas_reply_finish(&w);
    emit_w("keyed_replicas_reply", &w);
    mc_store_task_reply_t trep = {0, {5, 6}, MC_TASK_REPLICA_MOVE, MC_TASK_SUCCESS, 10, 20, {1, 2},
                                  mc_slice_cstr("done")};
    mc_store_task_reply_encode(&w, 205, &trep);
    emit_w("task_reply", &w);
    mc_store_task_assign_t ta = {{5, 6}, MC_TASK_REPLICA_COPY, keys[0], pref[0], 1, pref, 10, 3};
    mc_store_tasks_reply_t tsr = {0, 1, &ta};
    mc_store_tasks_reply_encode(&w, 206, &tsr);
    emit_w("tasks_reply", &w);

    /* Transfer-engine messages. */
    mc_msg_te_notify_t tn = {mc_slice_cstr("node-1"), mc_slice_cstr("hello")};
    mc_msg_te_notify_encode(&w, 300, &tn);
    emit_w("te_notify", &w);
    mc_msg_te_status_t ts = {MC_OK};
    mc_msg_te_status_encode(&w, MC_MSG_TE_NOTIFY_REPLY, 301, &ts);
    emit_w("te_notify_reply", &w);
    mc_msg_te_probe_encode(&w, 302);
    emit_w("te_probe", &w);
    mc_msg_te_meta_req_t tm = {mc_slice_cstr("mooncake/ram/node-1"), mc_slice_cstr("{\"name\":\"node-1\"}")};
    mc_msg_te_meta_req_encode(&w, MC_MSG_TE_META_PUT, 303, &tm);
    emit_w("te_meta_put", &w);
    mc_msg_te_meta_req_encode(&w, MC_MSG_TE_META_GET, 304, &tm);
    emit_w("te_meta_get", &w);
    mc_msg_te_meta_get_reply_t tg = {MC_OK, 1, mc_slice_cstr("{}")};
    mc_msg_te_meta_get_reply_encode(&w, 305, &tg);
    emit_w("te_meta_get_reply", &w);

    /* Malformed: unknown type, bad magic, oversize body, header only. */
    mc_wire_begin(&w, 0x7fff, 0, 6);
    mc_wbuf_u32(&w, 1);
    mc_wire_finish(&w);
    emit_bad("unknown-type", &w);
    mc_msg_register_reply_encode(&w, 7, &rr);
    w.data[0] ^= 0xff;
    emit_bad("bad-magic", &w);
    mc_wire_begin(&w, MC_MSG_PING, 0, 8);
    mc_wbuf_patch_u32(&w, 16, MC_WIRE_MAX_BODY + 1);
    emit_bad("oversize-body", &w);

    mc_wbuf_free(&w);
    return failures ? 1 : 0;
}
