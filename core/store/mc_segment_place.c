/* RANDOM allocation strategy (spec §4.13). */
#include <string.h>

#include "base/mc_assert.h"
#include "store/mc_segment.h"

#define MC_PLACE_MAX_WALK 100u

static bool in_list(const char *name, const char *const *list, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* Try one name: start at a random segment of it, take the first with room. */
static bool place_on_name(mc_segmgr_t *g, mc_rng_t *rng, mc_seg_name_t *nm, uint64_t len, mc_placement_t *out)
{
    uint32_t start = nm->n > 1 ? (uint32_t)mc_rng_below(rng, nm->n) : 0;
    for (uint32_t k = 0; k < nm->n; k++) {
        uint32_t slot = nm->slots[(start + k) % nm->n];
        if (mc_segmgr_alloc_on(g, g->segs[slot], len, &out->h) == MC_OK) {
            out->slot = slot;
            return true;
        }
    }
    return false;
}

static bool used_name(const mc_segmgr_t *g, const mc_placement_t *out, uint32_t n, const mc_seg_name_t *nm)
{
    for (uint32_t i = 0; i < n; i++)
        if (g->segs[out[i].slot]->pool == nm)
            return true;
    return false;
}

uint32_t mc_segmgr_place(mc_segmgr_t *g, mc_rng_t *rng, uint64_t len, uint32_t want, const char *const *prefs,
                         uint32_t nprefs, const char *const *exclude, uint32_t nexclude, mc_placement_t *out)
{
    uint32_t got = 0;
    if (g->nnames == 0 || want == 0)
        return 0;
    if (g->nnames == 1) {
        mc_seg_name_t *nm = g->names[0];
        if (!in_list(nm->name, exclude, nexclude) && place_on_name(g, rng, nm, len, &out[0]))
            got = 1;
        return got;
    }
    for (uint32_t i = 0; i < nprefs && got < want; i++) {
        mc_seg_name_t *nm = prefs[i] ? mc_map_gets(&g->by_name, prefs[i]) : NULL;
        if (!nm || in_list(nm->name, exclude, nexclude) || used_name(g, out, got, nm))
            continue;
        if (place_on_name(g, rng, nm, len, &out[got]))
            got++;
    }
    if (got == want)
        return got;
    uint32_t n = g->nnames;
    uint32_t steps = n < MC_PLACE_MAX_WALK ? n : MC_PLACE_MAX_WALK;
    uint32_t start = (uint32_t)mc_rng_below(rng, n);
    for (uint32_t k = 0; k < steps && got < want; k++) {
        mc_seg_name_t *nm = g->names[(start + k) % n];
        if (in_list(nm->name, exclude, nexclude) || used_name(g, out, got, nm))
            continue;
        if (place_on_name(g, rng, nm, len, &out[got]))
            got++;
    }
    return got;
}
