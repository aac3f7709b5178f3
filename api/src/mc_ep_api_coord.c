/* In-process EP coordinator: the ep_coord role (core/ep/mc_ep_coord.c)
 * on its own loop thread, exactly what `mooncake_node --role ep_coord`
 * runs as a separate process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/mc_role.h"
#include "mc_addr.h"
#include "mc_ep_api_int.h"

struct mooncake_ep_coord {
    mc_ep_api_host_t host;
    const mc_role_t *role;
    void *node;
};

static void destroy_node(void *arg)
{
    mooncake_ep_coord_t *c = arg;
    if (c->node)
        c->role->destroy(c->node);
    c->node = NULL;
}

void mooncake_ep_coord_stop(mooncake_ep_coord_t *c)
{
    if (!c)
        return;
    mc_ep_api_host_close(&c->host, destroy_node, c);
    free(c);
}

mooncake_ep_coord_t *mooncake_ep_coord_start(const char *listen, uint32_t world, uint32_t hb_timeout_ms,
                                             char *addr_out, size_t addr_cap)
{
    char addr[300], host[256], num[32];
    uint16_t port;
    if (world == 0 || world > MC_EP_MAX_RANKS) {
        mc_ep_api_set_error("world must be 1..%d", MC_EP_MAX_RANKS);
        return NULL;
    }
    if (mc_ep_api_pick_addr(listen, addr, sizeof addr) != 0 || !mc_addr_split(addr, host, sizeof host, &port))
        return NULL;
    mooncake_ep_coord_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->role = mc_role_find("ep_coord");
    if (!c->role || mc_ep_api_host_open(&c->host, "coord", host) != 0)
        goto fail;
    mc_conf_t conf;
    mc_conf_init(&conf);
    mc_conf_set(&conf, "addr", addr);
    snprintf(num, sizeof num, "%u", world);
    mc_conf_set(&conf, "world", num);
    snprintf(num, sizeof num, "%ums", hb_timeout_ms ? hb_timeout_ms : 1000);
    mc_conf_set(&conf, "hb_timeout", num);
    char err[256] = "";
    c->node = c->role->create(c->host.env, &conf, err, sizeof err);
    mc_conf_free(&conf);
    if (!c->node) {
        mc_ep_api_set_error("ep coordinator: %s", err);
        goto fail;
    }
    if (mc_ep_api_host_start(&c->host) != 0)
        goto fail;
    if (addr_out && addr_cap)
        snprintf(addr_out, addr_cap, "%s", addr);
    return c;
fail:
    mooncake_ep_coord_stop(c);
    return NULL;
}
