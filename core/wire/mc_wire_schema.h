/* Pieces shared by the schema-driven codecs (mc_msg_store.c,
 * mc_msg_dummy.c): a message type maps to a set of field groups, each
 * encoded in a fixed order when present; and the field encodings they
 * have in common. The groups themselves differ per protocol and stay in
 * each codec. */
#ifndef MC_WIRE_SCHEMA_H
#define MC_WIRE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_msg_membership.h"
#include "mc_wire.h"

typedef struct mc_wire_schema {
    uint16_t type;
    uint16_t fields; /* the codec's field-group bits */
} mc_wire_schema_t;

/* The field groups of type in table[0..n), or -1 for a type not there. */
static inline int mc_wire_schema_fields(const mc_wire_schema_t *table, size_t n, uint16_t type)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].type == type)
            return table[i].fields;
    return -1;
}

/* uuid: hi then lo, u64 each */
static inline void mc_wire_put_uuid(mc_wbuf_t *w, mc_uuid_t u)
{
    mc_wbuf_u64(w, u.hi);
    mc_wbuf_u64(w, u.lo);
}

static inline mc_uuid_t mc_wire_get_uuid(mc_rbuf_t *r)
{
    mc_uuid_t u;
    u.hi = mc_rbuf_u64(r);
    u.lo = mc_rbuf_u64(r);
    return u;
}

/* slice: u32 length + bytes (mc_rbuf_blob reads it back, with a cap) */
static inline void mc_wire_put_slice(mc_wbuf_t *w, mc_slice_t s)
{
    mc_wbuf_blob(w, s.p, s.len);
}

/* bool: one byte, 0 or 1; anything else fails the reader */
static inline bool mc_wire_get_bool(mc_rbuf_t *r)
{
    uint8_t v = mc_rbuf_u8(r);
    if (v > 1)
        mc_rbuf_fail(r);
    return v == 1;
}

#endif
