/* ReplicateConfig: public struct -> the core's config. */
#include <string.h>

#include "mc_store_api_int.h"

void mooncake_replicate_config_init(mooncake_replicate_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->replica_num = 1;
}

mc_status_t mc_api_conv_cfg(const mooncake_replicate_config_t *in, size_t nkeys, size_t index,
                            mc_replicate_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->replica_num = 1;
    if (!in)
        return MC_OK;
    if (in->replica_num == 0 || in->soft_pin_action < 0 || in->soft_pin_action > MC_SOFT_PIN_DISABLE)
        return MC_INVALID_PARAMS;
    if ((in->group_ids || in->n_group_ids) && (!in->group_ids || in->n_group_ids != nkeys || index >= nkeys))
        return MC_INVALID_PARAMS;
    if (in->n_preferred_segments && !in->preferred_segments)
        return MC_INVALID_PARAMS;
    out->replica_num = in->replica_num;
    out->with_hard_pin = in->with_hard_pin;
    out->prefer_alloc_in_same_node = in->prefer_alloc_in_same_node;
    out->soft_pin_action = (uint8_t)in->soft_pin_action;
    if (in->with_soft_pin && out->soft_pin_action == MC_SOFT_PIN_PRESERVE)
        out->soft_pin_action = MC_SOFT_PIN_ENABLE;
    out->has_soft_pin_ttl = in->has_soft_pin_ttl;
    out->soft_pin_ttl_ms = in->soft_pin_ttl_ms;
    out->preferred_segment = in->preferred_segment;
    out->preferred_segments = in->preferred_segments;
    out->n_preferred_segments = (uint32_t)in->n_preferred_segments;
    if (in->group_ids) {
        out->group_ids = &in->group_ids[index];
        out->n_group_ids = 1;
    }
    return MC_OK;
}
