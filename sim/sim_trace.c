/* The trace: every trace event and sim event becomes a line
 *   "<t_ns> <node> <event> <fields>"      (t_ns = global virtual time)
 * and the trace hash is FNV-1a (mc_hash64) over
 *   - every line's bytes including its '\n', and
 *   - for every dispatched engine event (timer, message, conn, transfer,
 *     fault, command), a binary record folded in 64-bit words with the
 *     FNV-1a step h = (h ^ w) * prime: time, kind << 32 | node, and for a
 *     delivered frame its length and first 20 bytes (the mc_wire header:
 *     type, req_id, body_len; little-endian words, zero-padded).
 * The binary part makes the hash cover message delivery order without
 * formatting a line per event (the hot path stays cheap). Env log lines
 * are not hashed: they are for humans and depend on --log-level. */
#include <string.h>

#include "base/mc_bytes.h"
#include "sim_internal.h"

#define SIM_HASH_FRAME 20 /* MC_WIRE_HDR_LEN */

static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void sim_trace_line(mc_sim_t *s, uint64_t t, const char *node, const char *event, const char *fields)
{
    char ts[24];
    size_t tl = fmt_u64(ts, t);
    size_t nl = strlen(node), el = strlen(event), fl = strlen(fields);
    uint64_t h = s->hash;
    h = mc_hash64(ts, tl, h);
    h = mc_hash64(" ", 1, h);
    h = mc_hash64(node, nl, h);
    h = mc_hash64(" ", 1, h);
    h = mc_hash64(event, el, h);
    if (fl) {
        h = mc_hash64(" ", 1, h);
        h = mc_hash64(fields, fl, h);
    }
    s->hash = mc_hash64("\n", 1, h);
    s->trace_lines++;
    if (s->cfg.trace_out) {
        FILE *f = s->cfg.trace_out;
        fwrite(ts, 1, tl, f);
        fputc(' ', f);
        fwrite(node, 1, nl, f);
        fputc(' ', f);
        fwrite(event, 1, el, f);
        if (fl) {
            fputc(' ', f);
            fwrite(fields, 1, fl, f);
        }
        fputc('\n', f);
    }
    if (s->cfg.on_trace)
        s->cfg.on_trace(s->cfg.trace_ctx, t, node, event, fields);
}

/* FNV-1a folded a 64-bit word at a time: a few multiplies per event on
 * the hot path instead of one per byte. */
static inline uint64_t fold(uint64_t h, uint64_t w) { return (h ^ w) * 0x100000001b3ULL; }

void sim_hash_event(mc_sim_t *s, const sim_ev_t *ev)
{
    uint64_t h = fold(s->hash, ev->hi.key);
    h = fold(h, (uint64_t)ev->kind << 32 | ev->node);
    if (ev->kind == SIM_EV_MSG) {
        uint64_t w[3] = {0, 0, 0};
        memcpy(w, ev->buf, ev->len < SIM_HASH_FRAME ? ev->len : SIM_HASH_FRAME);
        h = fold(fold(fold(fold(h, ev->len), w[0]), w[1]), w[2]);
    }
    s->hash = h;
}

void mc_sim_trace(mc_sim_t *s, const char *node, const char *event, const char *fields)
{
    sim_trace_line(s, s->now, node ? node : "-", event, fields ? fields : "");
}

uint64_t mc_sim_trace_hash(const mc_sim_t *s) { return s->hash; }
uint64_t mc_sim_trace_lines(const mc_sim_t *s) { return s->trace_lines; }
