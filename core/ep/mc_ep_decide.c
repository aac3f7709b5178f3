/* The agreement rule: per-rank arrival rows -> one final set. Pure, so
 * the coordinator, the checker and unit tests share it. */
#include "mc_ep.h"

static bool mutual(const mc_ep_row_t *rows, uint32_t a, uint32_t b)
{
    return mc_ep_has(rows[a].arrived, b) && mc_ep_has(rows[b].arrived, a);
}

mc_ep_mask_t mc_ep_decide(const mc_ep_row_t *rows, mc_ep_mask_t reporters, mc_ep_mask_t allowed)
{
    mc_ep_mask_t set = reporters & allowed;
    /* A member whose own row lacks itself holds nothing usable. */
    for (uint32_t r = 0; r < MC_EP_MAX_RANKS; r++)
        if (mc_ep_has(set, r) && !mc_ep_has(rows[r].arrived, r))
            set &= ~mc_ep_bit(r);
    for (;;) {
        uint32_t worst = UINT32_MAX, worst_links = UINT32_MAX;
        bool clique = true;
        for (uint32_t a = 0; a < MC_EP_MAX_RANKS; a++) {
            if (!mc_ep_has(set, a))
                continue;
            uint32_t links = 0;
            for (uint32_t b = 0; b < MC_EP_MAX_RANKS; b++) {
                if (b == a || !mc_ep_has(set, b))
                    continue;
                if (mutual(rows, a, b))
                    links++;
                else
                    clique = false;
            }
            /* ties -> larger rank: iterate upwards and take <= */
            if (links <= worst_links) {
                worst_links = links;
                worst = a;
            }
        }
        if (clique)
            return set;
        set &= ~mc_ep_bit(worst);
    }
}
