/* Bounds-checked little-endian byte writer and reader.
 *
 * The reader has a sticky error flag: once a read would run past the end,
 * every later read returns zero/empty and mc_rbuf_ok() is false. Decoders
 * read all fields and check once at the end, so no code path can over-read
 * a malformed message. */
#ifndef MC_BYTES_H
#define MC_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed byte string (not NUL-terminated unless stated). */
typedef struct mc_slice {
    const uint8_t *p;
    size_t len;
} mc_slice_t;

typedef struct mc_wbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
} mc_wbuf_t;

void mc_wbuf_init(mc_wbuf_t *w);
void mc_wbuf_free(mc_wbuf_t *w);
void mc_wbuf_reset(mc_wbuf_t *w);
/* Reserve n bytes at the end and return a pointer to them. */
uint8_t *mc_wbuf_extend(mc_wbuf_t *w, size_t n);
void mc_wbuf_put(mc_wbuf_t *w, const void *p, size_t n);
void mc_wbuf_u8(mc_wbuf_t *w, uint8_t v);
void mc_wbuf_u16(mc_wbuf_t *w, uint16_t v);
void mc_wbuf_u32(mc_wbuf_t *w, uint32_t v);
void mc_wbuf_u64(mc_wbuf_t *w, uint64_t v);
void mc_wbuf_i32(mc_wbuf_t *w, int32_t v);
void mc_wbuf_f64(mc_wbuf_t *w, double v);
/* u32 length prefix + bytes. */
void mc_wbuf_blob(mc_wbuf_t *w, const void *p, size_t n);
void mc_wbuf_str(mc_wbuf_t *w, const char *s); /* blob of strlen(s) */
/* Patch a u32 at an absolute offset (e.g. a length written last). */
void mc_wbuf_patch_u32(mc_wbuf_t *w, size_t off, uint32_t v);

typedef struct mc_rbuf {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool err;
} mc_rbuf_t;

void mc_rbuf_init(mc_rbuf_t *r, const void *p, size_t len);
static inline bool mc_rbuf_ok(const mc_rbuf_t *r) { return !r->err; }
static inline size_t mc_rbuf_left(const mc_rbuf_t *r) { return r->err ? 0 : r->len - r->pos; }
/* True when no error occurred and every byte was consumed. */
static inline bool mc_rbuf_done(const mc_rbuf_t *r) { return !r->err && r->pos == r->len; }
uint8_t mc_rbuf_u8(mc_rbuf_t *r);
uint16_t mc_rbuf_u16(mc_rbuf_t *r);
uint32_t mc_rbuf_u32(mc_rbuf_t *r);
uint64_t mc_rbuf_u64(mc_rbuf_t *r);
int32_t mc_rbuf_i32(mc_rbuf_t *r);
double mc_rbuf_f64(mc_rbuf_t *r);
/* Borrow n raw bytes. */
mc_slice_t mc_rbuf_take(mc_rbuf_t *r, size_t n);
/* u32 length prefix + bytes; fails if the length exceeds max or the buffer. */
mc_slice_t mc_rbuf_blob(mc_rbuf_t *r, size_t max);
/* Element count for a following array: fails if count * min_elem_size
 * cannot fit in what is left, so a hostile count cannot force a huge
 * allocation before the data runs out. */
uint32_t mc_rbuf_count(mc_rbuf_t *r, size_t min_elem_size, uint32_t max);
void mc_rbuf_fail(mc_rbuf_t *r);

/* Slice helpers. */
static inline mc_slice_t mc_slice(const void *p, size_t len)
{
    mc_slice_t s = {(const uint8_t *)p, len};
    return s;
}
mc_slice_t mc_slice_cstr(const char *s);
bool mc_slice_eq(mc_slice_t a, mc_slice_t b);
bool mc_slice_eq_cstr(mc_slice_t a, const char *s);
/* Heap copy with a terminating NUL. */
char *mc_slice_dup(mc_slice_t s);

/* FNV-1a 64-bit: stable across runs and machines (used for trace hashes
 * and hash tables; never for security). */
uint64_t mc_hash64(const void *p, size_t n, uint64_t h);
#define MC_HASH64_INIT 0xcbf29ce484222325ULL

#endif
