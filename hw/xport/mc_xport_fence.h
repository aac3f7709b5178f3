/* The TCP receiver's fence table (protocol v3, mc_xport_proto.h; design in
 * hw/xport/README.md "Fence"): per initiator fence id, the newest
 * connection generation seen and the WRITEs still landing, so a request
 * of an older generation is refused (STALE) and a WRITE of a newer one
 * waits for older WRITEs already landing. Thread-safe; the server
 * threads of mc_xport_tcp.c are its only users. */
#ifndef MC_XPORT_FENCE_H
#define MC_XPORT_FENCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mc_xport_fence mc_xport_fence_t;

typedef struct mc_xport_fences {
    pthread_mutex_t mu; /* the list and the entries' refs */
    mc_xport_fence_t *list;
    unsigned nidle;                /* entries with refs == 0 */
    atomic_uint_fast64_t stale;    /* requests refused with STALE */
} mc_xport_fences_t;

void mc_xport_fences_init(mc_xport_fences_t *t);
void mc_xport_fences_fini(mc_xport_fences_t *t);

/* The entry of initiator id, with a reference; NULL if out of memory. */
mc_xport_fence_t *mc_xport_fence_get(mc_xport_fences_t *t, uint32_t id);
void mc_xport_fence_put(mc_xport_fences_t *t, mc_xport_fence_t *f);
uint32_t mc_xport_fence_id(const mc_xport_fence_t *f);

enum { MC_XPORT_FENCE_PASS = 0, MC_XPORT_FENCE_STALE = 1, MC_XPORT_FENCE_ERR = -1 };

/* Check a request of generation gen from f's initiator and, for a WRITE,
 * count it as landing (PASS; call mc_xport_fence_leave when it is done).
 * STALE: refuse it, nothing counted. A WRITE that must wait first calls
 * flush(arg) once (answers already due must not wait with it; nonzero:
 * ERR) and gives up with ERR once *stopping. */
int mc_xport_fence_enter(mc_xport_fences_t *t, mc_xport_fence_t *f, uint32_t gen, bool write,
                         int (*flush)(void *arg), void *arg, const atomic_bool *stopping);
/* A WRITE that passed mc_xport_fence_enter is done (landed or failed). */
void mc_xport_fence_leave(mc_xport_fence_t *f, uint32_t gen);

#endif
