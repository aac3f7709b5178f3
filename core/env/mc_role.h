/* Roles: the kinds of node core/ can run (master, client, ...). sim/ and
 * hw/ instantiate nodes only through this table, so a new role appears
 * in both worlds at once. */
#ifndef MC_ROLE_H
#define MC_ROLE_H

#include "mc_conf.h"
#include "mc_env.h"

typedef struct mc_role {
    const char *name;
    const char *help; /* one line; the conf keys the role reads */
    /* Create a node bound to env (calls mc_env_bind). On bad configuration
     * returns NULL and writes a message naming the key into err. */
    void *(*create)(mc_env_t *env, mc_conf_t *conf, char *err, size_t errlen);
    /* Free everything. Called on crash (state lost) and on clean exit;
     * must not call env ops that produce upcalls. */
    void (*destroy)(void *node);
    /* Optional: a workload command (e.g. "put key=a size=4096"), issued by
     * the scenario driver. Completion is reported with a trace event. */
    mc_status_t (*command)(void *node, const char *cmd, const mc_conf_t *args);
    /* Optional: check the node's internal invariants (e.g. the store
     * master's allocator conservation and replica placement). The simulator
     * calls it during and after a run; false (with err) is a correctness
     * failure. Must not change state. */
    bool (*check)(void *node, char *err, size_t errlen);
} mc_role_t;

const mc_role_t *mc_role_find(const char *name);
/* NULL-terminated list of all roles. */
const mc_role_t *const *mc_role_all(void);

#endif
