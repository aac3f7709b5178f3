/* Store settings from an mc_conf_t (scenario conf or binary flags), with
 * upstream's names and defaults (spec store.md §4.20). */
#ifndef MC_STORE_CONF_H
#define MC_STORE_CONF_H

#include <stddef.h>

#include "env/mc_conf.h"
#include "store/mc_master.h"

/* Fills cfg from defaults and conf. On a bad value returns
 * MC_INVALID_PARAMS with err naming the key. */
mc_status_t mc_store_master_conf(mc_conf_t *conf, mc_master_config_t *cfg, char *err, size_t errlen);

#endif
