/* The store master's handlers for extra-segment, replica-clear and
 * copy/move task requests (split from mc_store_master_node.c). */
#ifndef MC_STORE_MASTER_TASKS_H
#define MC_STORE_MASTER_TASKS_H

#include "env/mc_env.h"
#include "store/mc_master.h"
#include "wire/mc_msg_store.h"

/* Answers q when it is one of the types above; false otherwise (nothing sent). */
bool mc_store_master_handle_tasks(mc_env_t *env, mc_master_t *m, mc_wbuf_t *out, mc_conn_t conn, uint64_t req_id,
                                  const mc_store_req_t *q, uint64_t now);

#endif
