#include "mc_bytes.h"

#include <string.h>

#include "mc_assert.h"
#include "mc_mem.h"

void mc_wbuf_init(mc_wbuf_t *w)
{
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
}

void mc_wbuf_free(mc_wbuf_t *w)
{
    mc_free(w->data);
    mc_wbuf_init(w);
}

void mc_wbuf_reset(mc_wbuf_t *w)
{
    w->len = 0;
}

uint8_t *mc_wbuf_extend(mc_wbuf_t *w, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        w->data = mc_realloc(w->data, cap);
        w->cap = cap;
    }
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}

void mc_wbuf_put(mc_wbuf_t *w, const void *p, size_t n)
{
    if (n)
        memcpy(mc_wbuf_extend(w, n), p, n);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void mc_wbuf_u8(mc_wbuf_t *w, uint8_t v) { put_le(mc_wbuf_extend(w, 1), v, 1); }
void mc_wbuf_u16(mc_wbuf_t *w, uint16_t v) { put_le(mc_wbuf_extend(w, 2), v, 2); }
void mc_wbuf_u32(mc_wbuf_t *w, uint32_t v) { put_le(mc_wbuf_extend(w, 4), v, 4); }
void mc_wbuf_u64(mc_wbuf_t *w, uint64_t v) { put_le(mc_wbuf_extend(w, 8), v, 8); }
void mc_wbuf_i32(mc_wbuf_t *w, int32_t v) { mc_wbuf_u32(w, (uint32_t)v); }

void mc_wbuf_f64(mc_wbuf_t *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    mc_wbuf_u64(w, u);
}

void mc_wbuf_blob(mc_wbuf_t *w, const void *p, size_t n)
{
    MC_ASSERT(n <= UINT32_MAX);
    mc_wbuf_u32(w, (uint32_t)n);
    mc_wbuf_put(w, p, n);
}

void mc_wbuf_str(mc_wbuf_t *w, const char *s)
{
    mc_wbuf_blob(w, s, s ? strlen(s) : 0);
}

void mc_wbuf_patch_u32(mc_wbuf_t *w, size_t off, uint32_t v)
{
    MC_ASSERT(off + 4 <= w->len);
    put_le(w->data + off, v, 4);
}

void mc_rbuf_init(mc_rbuf_t *r, const void *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->err = false;
}

void mc_rbuf_fail(mc_rbuf_t *r)
{
    r->err = true;
}

static const uint8_t *need(mc_rbuf_t *r, size_t n)
{
    if (r->err || n > r->len - r->pos) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}

#define RBUF_GET(name, type, n)                 \
    type mc_rbuf_##name(mc_rbuf_t *r)           \
    {                                           \
        const uint8_t *p = need(r, n);          \
        return p ? (type)get_le(p, n) : 0;      \
    }
RBUF_GET(u8, uint8_t, 1)
RBUF_GET(u16, uint16_t, 2)
RBUF_GET(u32, uint32_t, 4)
RBUF_GET(u64, uint64_t, 8)

int32_t mc_rbuf_i32(mc_rbuf_t *r)
{
    return (int32_t)mc_rbuf_u32(r);
}

double mc_rbuf_f64(mc_rbuf_t *r)
{
    uint64_t u = mc_rbuf_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

mc_slice_t mc_rbuf_take(mc_rbuf_t *r, size_t n)
{
    const uint8_t *p = need(r, n);
    mc_slice_t s = {p, p ? n : 0};
    return s;
}

mc_slice_t mc_rbuf_blob(mc_rbuf_t *r, size_t max)
{
    uint32_t n = mc_rbuf_u32(r);
    if (n > max) {
        r->err = true;
        return mc_slice(NULL, 0);
    }
    return mc_rbuf_take(r, n);
}

uint32_t mc_rbuf_count(mc_rbuf_t *r, size_t min_elem_size, uint32_t max)
{
    uint32_t n = mc_rbuf_u32(r);
    if (r->err)
        return 0;
    if (n > max || (min_elem_size && n > mc_rbuf_left(r) / min_elem_size)) {
        r->err = true;
        return 0;
    }
    return n;
}

mc_slice_t mc_slice_cstr(const char *s)
{
    return mc_slice(s, s ? strlen(s) : 0);
}

bool mc_slice_eq(mc_slice_t a, mc_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool mc_slice_eq_cstr(mc_slice_t a, const char *s)
{
    return mc_slice_eq(a, mc_slice_cstr(s));
}

char *mc_slice_dup(mc_slice_t s)
{
    return mc_strndup((const char *)s.p, s.len);
}

uint64_t mc_hash64(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
