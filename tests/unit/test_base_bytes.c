/* core/base/mc_bytes: little-endian writer, and a reader whose every
 * underflow path sets the sticky error; blob max, count bound, slices,
 * FNV-1a. */
#include <string.h>

#include "base/mc_bytes.h"
#include "mc_check.h"

START_TEST(test_writer_layout)
{
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_wbuf_u8(&w, 0xab);
    mc_wbuf_u16(&w, 0x0102);
    mc_wbuf_u32(&w, 0x03040506);
    mc_wbuf_u64(&w, 0x0708090a0b0c0d0eULL);
    mc_wbuf_i32(&w, -2);
    mc_wbuf_str(&w, "hi");
    mc_wbuf_str(&w, NULL);
    mc_wbuf_blob(&w, "\0x", 2);
    const uint8_t want[] = {0xab, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0e, 0x0d, 0x0c, 0x0b,
                            0x0a, 0x09, 0x08, 0x07, 0xfe, 0xff, 0xff, 0xff, 2,    0,    0,
                            0,    'h',  'i',  0,    0,    0,    0,    2,    0,    0,    0,
                            0,    'x'};
    ck_assert_uint_eq(w.len, sizeof want);
    ck_assert_mem_eq(w.data, want, sizeof want);
    mc_wbuf_patch_u32(&w, 1, 0xdeadbeef);
    ck_assert_uint_eq(w.data[1], 0xef);
    ck_assert_uint_eq(w.data[4], 0xde);
    mc_wbuf_reset(&w);
    ck_assert_uint_eq(w.len, 0);
    /* Growth across many small writes keeps the bytes. */
    for (uint32_t i = 0; i < 10000; i++)
        mc_wbuf_u32(&w, i);
    ck_assert_uint_eq(w.len, 40000);
    mc_rbuf_t r;
    mc_rbuf_init(&r, w.data, w.len);
    for (uint32_t i = 0; i < 10000; i++)
        ck_assert_uint_eq(mc_rbuf_u32(&r), i);
    ck_assert(mc_rbuf_done(&r));
    mc_wbuf_free(&w);
    ck_assert_ptr_null(w.data);
    ck_assert_uint_eq(w.cap, 0);
}
END_TEST

START_TEST(test_reader_roundtrip)
{
    mc_wbuf_t w;
    mc_wbuf_init(&w);
    mc_wbuf_u8(&w, 200);
    mc_wbuf_u16(&w, 65535);
    mc_wbuf_u32(&w, 4000000000u);
    mc_wbuf_u64(&w, UINT64_MAX - 1);
    mc_wbuf_i32(&w, INT32_MIN);
    mc_wbuf_f64(&w, -1.5e300);
    mc_wbuf_blob(&w, "abc", 3);
    mc_wbuf_put(&w, "xyz", 3);
    mc_rbuf_t r;
    mc_rbuf_init(&r, w.data, w.len);
    ck_assert_uint_eq(mc_rbuf_left(&r), w.len);
    ck_assert_uint_eq(mc_rbuf_u8(&r), 200);
    ck_assert_uint_eq(mc_rbuf_u16(&r), 65535);
    ck_assert_uint_eq(mc_rbuf_u32(&r), 4000000000u);
    ck_assert_uint_eq(mc_rbuf_u64(&r), UINT64_MAX - 1);
    ck_assert_int_eq(mc_rbuf_i32(&r), INT32_MIN);
    ck_assert(mc_rbuf_f64(&r) == -1.5e300);
    mc_slice_t s = mc_rbuf_blob(&r, 3);
    ck_assert(mc_slice_eq_cstr(s, "abc"));
    ck_assert(!mc_rbuf_done(&r));
    s = mc_rbuf_take(&r, 3);
    ck_assert(mc_slice_eq_cstr(s, "xyz"));
    ck_assert(mc_rbuf_ok(&r));
    ck_assert(mc_rbuf_done(&r));
    ck_assert_uint_eq(mc_rbuf_left(&r), 0);
    mc_wbuf_free(&w);
}
END_TEST

/* Each reader on a buffer one byte too short: returns zero/empty, sets the
 * error, consumes nothing more, and later reads fail too (sticky). */
static const uint8_t ff[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void assert_failed(mc_rbuf_t *r)
{
    ck_assert(!mc_rbuf_ok(r));
    ck_assert(!mc_rbuf_done(r));
    ck_assert_uint_eq(mc_rbuf_left(r), 0);
    /* Sticky: even a read the bytes would allow now fails. */
    ck_assert_uint_eq(mc_rbuf_u8(r), 0);
    ck_assert_uint_eq(mc_rbuf_take(r, 0).len, 0);
    ck_assert(!mc_rbuf_ok(r));
}

START_TEST(test_underflow_each_reader)
{
    mc_rbuf_t r;
    mc_rbuf_init(&r, ff, 0);
    ck_assert_uint_eq(mc_rbuf_u8(&r), 0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 1);
    ck_assert_uint_eq(mc_rbuf_u16(&r), 0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 3);
    ck_assert_uint_eq(mc_rbuf_u32(&r), 0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 7);
    ck_assert_uint_eq(mc_rbuf_u64(&r), 0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 3);
    ck_assert_int_eq(mc_rbuf_i32(&r), 0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 7);
    ck_assert(mc_rbuf_f64(&r) == 0.0);
    assert_failed(&r);
    mc_rbuf_init(&r, ff, 4);
    mc_slice_t s = mc_rbuf_take(&r, 5);
    ck_assert_ptr_null(s.p);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* take(SIZE_MAX) must not wrap around. */
    mc_rbuf_init(&r, ff, 4);
    mc_rbuf_u8(&r);
    s = mc_rbuf_take(&r, SIZE_MAX);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* Blob prefix itself truncated. */
    mc_rbuf_init(&r, ff, 3);
    s = mc_rbuf_blob(&r, 100);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* Count prefix truncated. */
    mc_rbuf_init(&r, ff, 2);
    ck_assert_uint_eq(mc_rbuf_count(&r, 1, 100), 0);
    assert_failed(&r);
    /* Explicit failure. */
    mc_rbuf_init(&r, ff, 16);
    mc_rbuf_fail(&r);
    assert_failed(&r);
    /* A successful read before the failing one does not mask it. */
    mc_rbuf_init(&r, ff, 5);
    ck_assert_uint_eq(mc_rbuf_u32(&r), 0xffffffffu);
    ck_assert_uint_eq(mc_rbuf_u16(&r), 0);
    assert_failed(&r);
    /* NULL buffer reads as empty. */
    mc_rbuf_init(&r, NULL, 100);
    ck_assert_uint_eq(mc_rbuf_left(&r), 0);
    ck_assert(mc_rbuf_done(&r));
    ck_assert_uint_eq(mc_rbuf_u8(&r), 0);
    assert_failed(&r);
}
END_TEST

static size_t blob_frame(uint8_t *buf, uint32_t declared, size_t payload)
{
    buf[0] = (uint8_t)declared;
    buf[1] = (uint8_t)(declared >> 8);
    buf[2] = (uint8_t)(declared >> 16);
    buf[3] = (uint8_t)(declared >> 24);
    memset(buf + 4, 'b', payload);
    return 4 + payload;
}

START_TEST(test_blob_max)
{
    uint8_t buf[64];
    mc_rbuf_t r;
    /* Exactly max: accepted. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 10, 10));
    mc_slice_t s = mc_rbuf_blob(&r, 10);
    ck_assert(mc_rbuf_done(&r));
    ck_assert_uint_eq(s.len, 10);
    ck_assert_ptr_eq(s.p, buf + 4);
    /* One over max: rejected even though the bytes are there. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 11, 11));
    s = mc_rbuf_blob(&r, 10);
    ck_assert_ptr_null(s.p);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* Declared longer than what is left. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 9, 8));
    s = mc_rbuf_blob(&r, 100);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* Hostile length near 4 GiB. */
    mc_rbuf_init(&r, buf, blob_frame(buf, UINT32_MAX, 8));
    s = mc_rbuf_blob(&r, SIZE_MAX);
    ck_assert_uint_eq(s.len, 0);
    assert_failed(&r);
    /* Empty blob. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 0, 0));
    s = mc_rbuf_blob(&r, 0);
    ck_assert(mc_rbuf_done(&r));
    ck_assert_uint_eq(s.len, 0);
}
END_TEST

START_TEST(test_count_bound)
{
    uint8_t buf[64];
    mc_rbuf_t r;
    /* 3 elements of >= 4 bytes in 12 bytes left: fits exactly. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 3, 12));
    ck_assert_uint_eq(mc_rbuf_count(&r, 4, 10), 3);
    ck_assert(mc_rbuf_ok(&r));
    ck_assert_uint_eq(mc_rbuf_left(&r), 12);
    /* 4 elements cannot fit in 12 bytes. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 4, 12));
    ck_assert_uint_eq(mc_rbuf_count(&r, 4, 10), 0);
    assert_failed(&r);
    /* Over max. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 11, 50));
    ck_assert_uint_eq(mc_rbuf_count(&r, 1, 10), 0);
    assert_failed(&r);
    /* At max. */
    mc_rbuf_init(&r, buf, blob_frame(buf, 10, 50));
    ck_assert_uint_eq(mc_rbuf_count(&r, 1, 10), 10);
    ck_assert(mc_rbuf_ok(&r));
    /* Hostile count with zero-size elements: only max bounds it. */
    mc_rbuf_init(&r, buf, blob_frame(buf, UINT32_MAX, 0));
    ck_assert_uint_eq(mc_rbuf_count(&r, 0, UINT32_MAX), UINT32_MAX);
    ck_assert(mc_rbuf_done(&r));
    mc_rbuf_init(&r, buf, blob_frame(buf, UINT32_MAX, 0));
    ck_assert_uint_eq(mc_rbuf_count(&r, 1, UINT32_MAX), 0);
    assert_failed(&r);
}
END_TEST

START_TEST(test_slices_and_hash)
{
    mc_slice_t a = mc_slice_cstr("abc");
    ck_assert_uint_eq(a.len, 3);
    ck_assert(mc_slice_eq(a, mc_slice("abc", 3)));
    ck_assert(!mc_slice_eq(a, mc_slice("abd", 3)));
    ck_assert(!mc_slice_eq(a, mc_slice("ab", 2)));
    ck_assert(mc_slice_eq(mc_slice(NULL, 0), mc_slice_cstr("")));
    ck_assert(mc_slice_eq_cstr(mc_slice(NULL, 0), ""));
    ck_assert_uint_eq(mc_slice_cstr(NULL).len, 0);
    char *d = mc_slice_dup(mc_slice("hello world", 5));
    ck_assert_str_eq(d, "hello");
    free(d);
    d = mc_slice_dup(mc_slice(NULL, 0));
    ck_assert_str_eq(d, "");
    free(d);
    /* FNV-1a 64 reference values. */
    ck_assert_uint_eq(mc_hash64("", 0, MC_HASH64_INIT), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(mc_hash64("a", 1, MC_HASH64_INIT), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(mc_hash64("foobar", 6, MC_HASH64_INIT), 0x85944171f73967e8ULL);
    /* Chaining equals hashing the concatenation. */
    ck_assert_uint_eq(mc_hash64("bar", 3, mc_hash64("foo", 3, MC_HASH64_INIT)),
                      0x85944171f73967e8ULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mc_bytes");
    TCase *tc = tcase_create("bytes");
    tcase_add_test(tc, test_writer_layout);
    tcase_add_test(tc, test_reader_roundtrip);
    tcase_add_test(tc, test_underflow_each_reader);
    tcase_add_test(tc, test_blob_max);
    tcase_add_test(tc, test_count_bound);
    tcase_add_test(tc, test_slices_and_hash);
    suite_add_tcase(s, tc);
    return s;
}

MC_CHECK_MAIN(suite)
