/* Element types and reductions over rank blocks. */
#include <string.h>

#include "../base/mc_assert.h"
#include "mc_ep.h"

static const char *const dtype_names[] = {"f32", "f64", "i32", "i64"};
static const char *const redop_names[] = {"sum", "max", "min", "product"};

size_t mc_ep_dtype_size(mc_ep_dtype_t t)
{
    switch (t) {
    case MC_EP_F32:
    case MC_EP_I32: return 4;
    case MC_EP_F64:
    case MC_EP_I64: return 8;
    default: return 0;
    }
}

const char *mc_ep_dtype_name(mc_ep_dtype_t t) { return (unsigned)t < MC_EP_DTYPE_COUNT ? dtype_names[t] : "?"; }
const char *mc_ep_redop_name(mc_ep_redop_t op) { return (unsigned)op < MC_EP_REDOP_COUNT ? redop_names[op] : "?"; }

bool mc_ep_dtype_parse(const char *s, mc_ep_dtype_t *out)
{
    static const char *const longn[] = {"float32", "float64", "int32", "int64"};
    for (int i = 0; s && i < MC_EP_DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_names[i]) || !strcmp(s, longn[i])) {
            *out = (mc_ep_dtype_t)i;
            return true;
        }
    return false;
}

bool mc_ep_redop_parse(const char *s, mc_ep_redop_t *out)
{
    for (int i = 0; s && i < MC_EP_REDOP_COUNT; i++)
        if (!strcmp(s, redop_names[i])) {
            *out = (mc_ep_redop_t)i;
            return true;
        }
    if (s && !strcmp(s, "prod")) {
        *out = MC_EP_PRODUCT;
        return true;
    }
    return false;
}

/* One loop per (type, op): no per-element dispatch, so the compiler can
 * vectorize. Same element order and operations as a scalar loop, so
 * results stay bit-identical on every rank. Integers wrap through the
 * unsigned type. */
#define RED_LOOP(T, EXPR)                                             \
    do {                                                              \
        uint8_t *a_ = acc;                                            \
        const uint8_t *b_ = in;                                       \
        for (size_t i = 0; i < count; i++) {                          \
            T a, b;                                                   \
            memcpy(&a, a_ + i * sizeof(T), sizeof a);                 \
            memcpy(&b, b_ + i * sizeof(T), sizeof b);                 \
            a = (EXPR);                                               \
            memcpy(a_ + i * sizeof(T), &a, sizeof a);                 \
        }                                                             \
    } while (0)

#define RED_FLOAT(T)                                                  \
    do {                                                              \
        switch (op) {                                                 \
        case MC_EP_SUM: RED_LOOP(T, a + b); break;                    \
        case MC_EP_MAX: RED_LOOP(T, b > a ? b : a); break;            \
        case MC_EP_MIN: RED_LOOP(T, b < a ? b : a); break;            \
        default: RED_LOOP(T, a * b); break;                           \
        }                                                             \
    } while (0)

#define RED_INT(T, U)                                                 \
    do {                                                              \
        switch (op) {                                                 \
        case MC_EP_SUM: RED_LOOP(T, (T)((U)a + (U)b)); break;         \
        case MC_EP_MAX: RED_LOOP(T, b > a ? b : a); break;            \
        case MC_EP_MIN: RED_LOOP(T, b < a ? b : a); break;            \
        default: RED_LOOP(T, (T)((U)a * (U)b)); break;                \
        }                                                             \
    } while (0)

/* Element access through memcpy: blocks sit at any slot offset. */
void mc_ep_reduce_into(void *acc, const void *in, size_t count, mc_ep_dtype_t t, mc_ep_redop_t op)
{
    MC_ASSERT((unsigned)t < MC_EP_DTYPE_COUNT && (unsigned)op < MC_EP_REDOP_COUNT);
    switch (t) {
    case MC_EP_F32: RED_FLOAT(float); break;
    case MC_EP_F64: RED_FLOAT(double); break;
    case MC_EP_I32: RED_INT(int32_t, uint32_t); break;
    default: RED_INT(int64_t, uint64_t); break;
    }
}

void mc_ep_reduce_set(void *out, const void *const *blocks, mc_ep_mask_t set, size_t count, mc_ep_dtype_t t,
                      mc_ep_redop_t op)
{
    size_t bytes = count * mc_ep_dtype_size(t);
    bool first = true;
    for (uint32_t r = 0; r < MC_EP_MAX_RANKS; r++) {
        if (!mc_ep_has(set, r))
            continue;
        if (first)
            memcpy(out, blocks[r], bytes);
        else
            mc_ep_reduce_into(out, blocks[r], count, t, op);
        first = false;
    }
    if (first)
        memset(out, 0, bytes);
}
