/* Built without libibverbs: no verbs backend (protocol "rdma" fails at
 * create with a clear message; see mc_xport.c). */
#include "mc_xport_verbs.h"
#include "mc_xport_int.h"

const mc_xport_backend_ops_t *const mc_xport_verbs_ops = NULL;

uint16_t mc_xport_verbs_port(void *state)
{
    (void)state;
    return 0;
}
void mc_xport_verbs_counts(mc_xport_verbs_counts_t *out)
{
    *out = (mc_xport_verbs_counts_t){0};
}
int mc_xport_verbs_break(mc_xport_t *x)
{
    (void)x;
    return -1;
}
int mc_xport_verbs_break_responders(mc_xport_t *x)
{
    (void)x;
    return -1;
}
int mc_xport_verbs_disconnect(mc_xport_t *x)
{
    (void)x;
    return -1;
}
int mc_xport_verbs_gid_index(mc_xport_t *x, int i)
{
    (void)x;
    (void)i;
    return -1;
}
int mc_xport_verbs_devices(mc_xport_t *x, char *buf, size_t len)
{
    (void)x;
    (void)buf;
    (void)len;
    return -1;
}
