/* The role registry: every kind of node core/ can run. */
#include <string.h>

#include "env/mc_role.h"

extern const mc_role_t mc_role_member_master;
extern const mc_role_t mc_role_member_client;
extern const mc_role_t mc_role_store_master;
extern const mc_role_t mc_role_store_client;
extern const mc_role_t mc_role_te;
extern const mc_role_t mc_role_te_meta;
extern const mc_role_t mc_role_ep_coord;
extern const mc_role_t mc_role_ep_rank;

static const mc_role_t *const roles[] = {
    &mc_role_member_master,
    &mc_role_member_client,
    &mc_role_store_master,
    &mc_role_store_client,
    &mc_role_te,
    &mc_role_te_meta,
    &mc_role_ep_coord,
    &mc_role_ep_rank,
    NULL,
};

const mc_role_t *const *mc_role_all(void)
{
    return roles;
}

const mc_role_t *mc_role_find(const char *name)
{
    for (size_t i = 0; roles[i]; i++)
        if (strcmp(roles[i]->name, name) == 0)
            return roles[i];
    return NULL;
}
