#include "storesvc/mc_store_value.h"

#include <string.h>

#include "base/mc_rng.h"

static void stream(uint8_t *out, size_t len, uint64_t vid)
{
    uint64_t x = vid;
    for (size_t i = 0; i < len; i += 8) {
        x = mc_rng_mix(x);
        size_t n = len - i < 8 ? len - i : 8;
        for (size_t k = 0; k < n; k++)
            out[i + k] = (uint8_t)(x >> (8 * k));
    }
}

void mc_store_value_fill(uint8_t *buf, size_t len, uint64_t vid)
{
    uint8_t id[8];
    for (int k = 0; k < 8; k++)
        id[k] = (uint8_t)(vid >> (8 * k));
    memcpy(buf, id, len < 8 ? len : 8);
    if (len > 8)
        stream(buf + 8, len - 8, vid);
}

bool mc_store_value_check(const uint8_t *buf, size_t len, uint64_t *vid)
{
    if (len < MC_STORE_VALUE_MIN)
        return false;
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)buf[k] << (8 * k);
    /* Same generator as stream(), compared word by word as it runs. */
    uint64_t x = v;
    for (size_t i = 8; i < len; i += 8) {
        x = mc_rng_mix(x);
        size_t n = len - i < 8 ? len - i : 8;
        for (size_t k = 0; k < n; k++)
            if (buf[i + k] != (uint8_t)(x >> (8 * k)))
                return false;
    }
    *vid = v;
    return true;
}
