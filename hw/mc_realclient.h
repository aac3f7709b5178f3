/* mooncake_client: the real-client service dummy clients forward to
 * (spec store.md §7). One real store client (libmooncake) serves every
 * connected dummy:
 *
 *   mc_realclient_serve.c    listeners, a thread per dummy connection,
 *                            shared-memory registration, shutdown
 *   mc_realclient_session.c  a dummy's state: its mapped regions and the
 *                            allocator over its local buffer; release of
 *                            everything when the dummy goes away
 *   mc_realclient_ops.c      forwarded operations run on the real client
 *   mc_realclient_batch.c    runs of alike operations as one batch call
 *   mc_realclient_io.c       frames, fd passing, memfd (shared with the
 *                            dummy side in libmooncake)
 *
 * Payloads never cross the control socket in the normal case: the dummy
 * names addresses inside memory both processes map, and the real client
 * reads and writes its own mapping of it. */
#ifndef MC_REALCLIENT_H
#define MC_REALCLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mc_realclient_io.h"
#include "mooncake/store.h"
#include "store/mc_alloc.h"
#include "wire/mc_msg_dummy.h"

typedef struct mc_rc_region {
    uint64_t dummy_base; /* address in the dummy */
    uint64_t size;
    uint8_t *local;      /* our mapping */
    bool is_local_buffer;
} mc_rc_region_t;

typedef struct mc_rc_alloc_rec {
    uint64_t off;
    mc_alloc_handle_t h;
} mc_rc_alloc_rec_t;

typedef struct mc_rc_session {
    mc_uuid_t id;
    int fd;
    pthread_t thread;
    bool done; /* thread finished; the server reaps it */
    struct mc_rc_server *srv;
    pthread_mutex_t mu; /* regions (registration comes from another thread) */
    mc_rc_region_t *regions;
    size_t nregions, cap_regions;
    /* the dummy's local buffer: staging for copying puts and gets */
    int lb; /* index in regions, -1 if none */
    bool lb_ready;
    mc_alloc_t lb_alloc;
    mc_rc_alloc_rec_t *allocs;
    size_t nallocs, cap_allocs;
    struct mc_rc_session *next;
} mc_rc_session_t;

typedef struct mc_rc_server {
    mooncake_store_t *store;
    int tcp_fd, ipc_fd;
    int stop_pipe[2];
    char ipc_name[108];
    pthread_mutex_t mu; /* sessions list */
    mc_rc_session_t *sessions;
    uint64_t next_id;
    uint64_t boot_id;
    unsigned verbose;
} mc_rc_server_t;

/* serve.c: listen on rpc_addr ("host:port") and the abstract socket named
 * after port; run until a byte arrives on stop_pipe[0]. 0 on a clean stop. */
int mc_rc_serve(mc_rc_server_t *srv, const char *rpc_addr, uint16_t port);

/* session.c */
mc_rc_session_t *mc_rc_session_new(mc_rc_server_t *srv, int fd);
/* Unregisters and unmaps every region, drops the allocator, closes fd. */
void mc_rc_session_release(mc_rc_session_t *s);
/* Maps and registers a region with the real store (fd is consumed). */
mc_status_t mc_rc_session_add_region(mc_rc_session_t *s, uint64_t base, uint64_t size, bool is_local_buffer, int fd);
mc_status_t mc_rc_session_remove_region(mc_rc_session_t *s, uint64_t base);
/* Our pointer for [addr, addr+len) of the dummy, or NULL if it does not
 * lie inside one registered region. */
uint8_t *mc_rc_session_translate(mc_rc_session_t *s, uint64_t addr, uint64_t len);
/* Local-buffer staging: dummy address of len bytes (0 if none free). */
uint64_t mc_rc_session_alloc(mc_rc_session_t *s, uint64_t len);
/* The largest free staging range (*cap bytes at the returned address; 0 if
 * none), for reads of unknown size; then shrink it to what was read (the
 * bytes may move: the new address is returned). */
uint64_t mc_rc_session_alloc_largest(mc_rc_session_t *s, uint64_t *cap);
uint64_t mc_rc_session_shrink(mc_rc_session_t *s, uint64_t addr, uint64_t len);
/* Frees a staging allocation by dummy address; false if it is not one. */
bool mc_rc_session_free(mc_rc_session_t *s, uint64_t addr);

/* A single key's ReplicateConfig in public form, with NUL-terminated
 * copies of its strings (the frame's slices are not terminated). */
typedef struct mc_rc_pub_cfg {
    mooncake_replicate_config_t c;
    char *preferred;
    char **pref;
    char *group;
    const char *group_ids[1];
} mc_rc_pub_cfg_t;
void mc_rc_cfg_to_public(const mc_dummy_cfg_t *in, mc_rc_pub_cfg_t *out);
void mc_rc_cfg_free(mc_rc_pub_cfg_t *p, uint32_t npref);

/* batch.c: if ops[0] starts a run of at least two alike ops the real store
 * has a batch call for (GET into shared memory, PUT/UPSERT from it with one
 * config, EXIST, REMOVE), runs the run concurrently, fills res[0..k) and
 * returns k; else 0. */
size_t mc_rc_run_batch(mc_rc_session_t *s, const mc_dummy_op_t *ops, size_t n, mc_dummy_result_t *res);

/* ops.c: runs m->ops on the real store, fills reply (results allocated;
 * inline bytes in *inline_bufs, to free after sending). */
void mc_rc_run_ops(mc_rc_session_t *s, const mc_dummy_msg_t *m, mc_dummy_msg_t *reply, void ***inline_bufs);

#endif
