/* Shared helper of the wire unit tests: the body of an encoded frame. */
#ifndef MC_CHECK_WIRE_H
#define MC_CHECK_WIRE_H

#include <check.h>

#include "wire/mc_wire.h"

/* w holds one whole frame: its body (borrowing w) and *type. */
static inline mc_rbuf_t body_of(const mc_wbuf_t *w, uint16_t *type)
{
    mc_wire_hdr_t h;
    const char *why = NULL;
    ck_assert_int_eq(mc_wire_parse_hdr(w->data, w->len, &h, &why), MC_OK);
    *type = h.type;
    mc_rbuf_t r;
    mc_rbuf_init(&r, w->data + MC_WIRE_HDR_LEN, h.body_len);
    return r;
}

#endif
