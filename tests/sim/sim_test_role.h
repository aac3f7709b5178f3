/* A tiny role for engine tests: listens on its addr, optionally connects
 * to conf "peer", echoes frames when conf "echo" is "1", records upcalls. */
#ifndef SIM_TEST_ROLE_H
#define SIM_TEST_ROLE_H

#include <stdbool.h>
#include <stdint.h>

#include "env/mc_role.h"

typedef struct echo_node {
    mc_env_t *env;
    int echo;
    mc_conn_t out;      /* outbound conn (peer) */
    mc_conn_t in;       /* last accepted conn */
    int ups, accepts, downs, msgs, timers, xfers;
    mc_status_t last_down;
    mc_status_t last_xfer;
    uint64_t last_xfer_tag;
    uint64_t last_msg_ns;
    uint8_t firsts[64]; /* first byte of each frame received, in order */
    int nfirsts;
    uint64_t order[32]; /* timer args in firing order */
    int norder;
    bool broken;        /* check() fails while set */
} echo_node_t;

extern const mc_role_t sim_test_echo_role;


#endif
