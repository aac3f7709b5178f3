/* Extra segments: mount a file mapping or an allocation into the pool
 * (upstream mount_segment / allocate_and_mount_segment) and unmount them,
 * optionally after a grace period. Allocations are segment memory from
 * the env (shared memory: same-host peers read them by memcpy, as the
 * global segment). The memory is released (munmap / seg_free) on the
 * loop thread once the core client lets it go. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mc_store_api_int.h"

#define SEG_ALIGN 4096u

/* user: the env whose seg_alloc gave the memory, or NULL for a file
 * mapping (no allocation for the tag). */
static void seg_release(void *user, void *base, uint64_t size)
{
    mc_env_t *env = user;
    if (env)
        env->ops->seg_free(env, base, (size_t)size);
    else
        munmap(base, size);
}

typedef struct seg_args {
    void *base;
    uint64_t size;
    mc_env_t *alloc_env; /* the release tag (seg_release) */
    mooncake_uuid_t id;
    uint64_t grace_ms;
} seg_args_t;

static void start_mount(mc_api_call_t *call, mc_store_client_t *c)
{
    seg_args_t *a = call->arg;
    mc_sc_mount_segment(c, a->base, a->size, seg_release, a->alloc_env, mc_api_call_done, call);
}

static void take_id(mc_api_call_t *call, const mc_sc_result_t *r)
{
    seg_args_t *a = call->arg;
    if (r->status == MC_OK)
        a->id = (mooncake_uuid_t){r->uuid.hi, r->uuid.lo};
}

/* Mounted segments are served by the client's one data plane (tcp, or
 * rdma when setup asked for it), so either name is accepted. */
static bool protocol_ok(const char *protocol)
{
    return !protocol || !protocol[0] || strcmp(protocol, "tcp") == 0 || strcmp(protocol, "rdma") == 0;
}

/* Mount a; on failure the memory is still ours to release. */
static int mount(mooncake_store_t *s, seg_args_t *a, mooncake_uuid_t *id)
{
    mc_api_call_t call = {.start = start_mount, .finish = take_id, .arg = a};
    mc_status_t st = mc_api_call_run(s, &call);
    if (st != MC_OK) {
        seg_release(a->alloc_env, a->base, a->size);
        return st;
    }
    if (id)
        *id = a->id;
    return MC_OK;
}

int mooncake_store_mount_segment(mooncake_store_t *s, const char *path, uint64_t size, uint64_t offset,
                                 const char *protocol, const char *location, mooncake_uuid_t *id)
{
    (void)location; /* a device/NUMA hint: no placement by locality here */
    if (id)
        *id = (mooncake_uuid_t){0, 0};
    long page = sysconf(_SC_PAGESIZE);
    if (!mc_api_usable(s) || !path || !path[0] || !size || !protocol_ok(protocol) ||
        offset % (uint64_t)(page > 0 ? page : SEG_ALIGN) || size > (uint64_t)SIZE_MAX || offset > INT64_MAX - size)
        return MC_INVALID_PARAMS;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return MC_INVALID_PARAMS;
    struct stat stt;
    int rc = MC_OK;
    if (fstat(fd, &stt) != 0)
        rc = MC_INTERNAL_ERROR;
    else if (S_ISREG(stt.st_mode) && (uint64_t)stt.st_size < offset + size &&
             ftruncate(fd, (off_t)(offset + size)) != 0)
        rc = MC_INVALID_PARAMS;
    void *base = MAP_FAILED;
    if (rc == MC_OK)
        base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    close(fd);
    if (rc != MC_OK)
        return rc;
    if (base == MAP_FAILED)
        return MC_INVALID_PARAMS;
    seg_args_t a = {.base = base, .size = size};
    return mount(s, &a, id);
}

int mooncake_store_allocate_and_mount_segment(mooncake_store_t *s, uint64_t size, const char *protocol,
                                              const char *location, mooncake_uuid_t *id, uint64_t *allocated)
{
    (void)location;
    if (id)
        *id = (mooncake_uuid_t){0, 0};
    if (allocated)
        *allocated = 0;
    if (!mc_api_usable(s) || !size || !protocol_ok(protocol) || size > (uint64_t)SIZE_MAX - SEG_ALIGN)
        return MC_INVALID_PARAMS;
    if (s->dummy)
        return MC_INTERNAL_ERROR; /* no local store client (upstream: -1), as mc_api_call_run */
    uint64_t rounded = (size + SEG_ALIGN - 1) / SEG_ALIGN * SEG_ALIGN;
    /* page-aligned, zeroed; thread-safe (the data plane started at setup) */
    void *base = s->env->ops->seg_alloc(s->env, (size_t)rounded);
    if (!base)
        return MC_BUFFER_OVERFLOW;
    seg_args_t a = {.base = base, .size = rounded, .alloc_env = s->env};
    int rc = mount(s, &a, id);
    if (rc == MC_OK && allocated)
        *allocated = rounded;
    return rc;
}

static void start_unmount(mc_api_call_t *call, mc_store_client_t *c)
{
    seg_args_t *a = call->arg;
    mc_sc_unmount_segment(c, (mc_uuid_t){a->id.hi, a->id.lo}, a->grace_ms, mc_api_call_done, call);
}

static int unmount(mooncake_store_t *s, const mooncake_uuid_t *ids, size_t n, uint64_t grace_s)
{
    if (!mc_api_usable(s) || (n && !ids) || grace_s > UINT64_MAX / 1000 / MC_NS_PER_MS)
        return MC_INVALID_PARAMS;
    for (size_t i = 0; i < n; i++) {
        seg_args_t a = {.id = ids[i], .grace_ms = grace_s * 1000};
        mc_api_call_t call = {.start = start_unmount, .arg = &a};
        mc_status_t st = mc_api_call_run(s, &call);
        if (st != MC_OK)
            return st;
    }
    return MC_OK;
}

int mooncake_store_unmount_segment(mooncake_store_t *s, const mooncake_uuid_t *ids, size_t n,
                                   uint64_t grace_period_seconds)
{
    return unmount(s, ids, n, grace_period_seconds);
}

int mooncake_store_unmount_and_free_segment(mooncake_store_t *s, const mooncake_uuid_t *ids, size_t n,
                                            uint64_t grace_period_seconds)
{
    /* the memory goes with the segment either way (munmap or free,
     * whichever way it was obtained) */
    return unmount(s, ids, n, grace_period_seconds);
}
