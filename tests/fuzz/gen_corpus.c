/* Writes valid frames of every message type (plus a few malformed headers)
 * as fuzz seeds: gen_corpus OUTDIR creates OUTDIR/wire/<name>.bin. Encoded with
 * the real encoders, so the seeds follow the wire format as it changes.
 * When a message family is added, add its frames here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/mc_msg_membership.h"
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

static void emit_w(const char *name, const mc_wbuf_t *w)
{
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

    /* Malformed: unknown type, bad magic, oversize body, header only. */
    mc_wire_begin(&w, 0x7fff, 0, 6);
    mc_wbuf_u32(&w, 1);
    mc_wire_finish(&w);
    emit_w("unknown-type", &w);
    mc_msg_register_reply_encode(&w, 7, &rr);
    w.data[0] ^= 0xff;
    emit_w("bad-magic", &w);
    mc_wire_begin(&w, MC_MSG_PING, 0, 8);
    mc_wbuf_patch_u32(&w, 16, MC_WIRE_MAX_BODY + 1);
    emit_w("oversize-body", &w);

    mc_wbuf_free(&w);
    return failures ? 1 : 0;
}
