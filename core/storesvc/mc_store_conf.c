#include "storesvc/mc_store_conf.h"

#include <stdio.h>

typedef struct ms_field {
    const char *key;
    uint64_t *ms; /* durations, stored in ms */
} ms_field_t;

mc_status_t mc_store_master_conf(mc_conf_t *conf, mc_master_config_t *cfg, char *err, size_t errlen)
{
    mc_master_config_default(cfg);
    const ms_field_t durations[] = {
        {"client_ttl", &cfg->client_ttl_ms},
        {"default_kv_lease_ttl", &cfg->default_kv_lease_ttl_ms},
        {"default_kv_soft_pin_ttl", &cfg->default_kv_soft_pin_ttl_ms},
        {"max_kv_soft_pin_ttl", &cfg->max_kv_soft_pin_ttl_ms},
        {"put_start_discard_timeout", &cfg->put_start_discard_timeout_ms},
        {"put_start_release_timeout", &cfg->put_start_release_timeout_ms},
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        uint64_t ns;
        if (mc_conf_duration(conf, durations[i].key, *durations[i].ms * 1000000ULL, &ns) != MC_OK)
            goto bad;
        *durations[i].ms = ns / 1000000ULL;
    }
    if (mc_conf_double(conf, "eviction_ratio", cfg->eviction_ratio, &cfg->eviction_ratio) != MC_OK ||
        mc_conf_double(conf, "eviction_high_watermark_ratio", cfg->eviction_high_watermark_ratio,
                       &cfg->eviction_high_watermark_ratio) != MC_OK ||
        mc_conf_bool(conf, "allow_evict_soft_pinned_objects", cfg->allow_evict_soft_pinned_objects,
                     &cfg->allow_evict_soft_pinned_objects) != MC_OK)
        goto bad;
    if (cfg->eviction_ratio < 0 || cfg->eviction_ratio > 1 || cfg->eviction_high_watermark_ratio < 0 ||
        cfg->eviction_high_watermark_ratio > 1) {
        snprintf(err, errlen, "eviction ratios must be within [0, 1]");
        return MC_INVALID_PARAMS;
    }
    if (cfg->put_start_release_timeout_ms <= cfg->put_start_discard_timeout_ms) {
        snprintf(err, errlen, "key 'put_start_release_timeout': must be greater than put_start_discard_timeout");
        return MC_INVALID_PARAMS;
    }
    return MC_OK;
bad:
    snprintf(err, errlen, "%s", conf->err);
    return MC_INVALID_PARAMS;
}
