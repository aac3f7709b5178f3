/* Shared allocations for the shm path: memfd mappings the shm backend can
 * hand to same-host peers (SCM_RIGHTS). A memfd needs no name in the file
 * system, so nothing is left behind when the process exits or crashes:
 * the memory lives as long as some process maps it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mc_xport_int.h"

typedef struct mc_xport_shared_alloc {
    uint32_t id;
    uintptr_t base;
    size_t len;
    int fd;
} mc_xport_shared_alloc_t;

struct mc_xport_shared {
    pthread_mutex_t mu;
    mc_xport_shared_alloc_t *v;
    size_t n, cap;
    uint32_t next_id;
};

int mc_xport_shared_init(mc_xport_t *x)
{
    x->shared = calloc(1, sizeof *x->shared);
    if (!x->shared)
        return -1;
    pthread_mutex_init(&x->shared->mu, NULL);
    return 0;
}

void mc_xport_shared_fini(mc_xport_t *x)
{
    struct mc_xport_shared *t = x->shared;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        munmap((void *)t->v[i].base, t->v[i].len);
        close(t->v[i].fd);
    }
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
    x->shared = NULL;
}

int mc_xport_memfd_sealed(const char *name, size_t len)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)len) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool mc_xport_fd_holds(int fd, uint64_t len)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_SHRINK) && fstat(fd, &st) == 0 && st.st_size >= 0 &&
           (uint64_t)st.st_size >= len;
}

void *mc_xport_alloc_shared(mc_xport_t *x, size_t len)
{
    struct mc_xport_shared *t = x->shared;
    long pg = sysconf(_SC_PAGESIZE);
    if (len == 0 || len > SIZE_MAX - (size_t)pg)
        return NULL;
    len = (len + (size_t)pg - 1) & ~((size_t)pg - 1);
    int fd = mc_xport_memfd_sealed("mc-xport-shared", len);
    if (fd < 0) {
        mc_xport_logf(x, MC_LOG_ERROR, "sealed memfd of %zu bytes: %s", len, strerror(errno));
        return NULL;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        mc_xport_logf(x, MC_LOG_ERROR, "mmap(%zu): %s", len, strerror(errno));
        goto fail_fd;
    }
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        mc_xport_shared_alloc_t *v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&t->mu);
            munmap(p, len);
            goto fail_fd;
        }
        t->v = v;
        t->cap = cap;
    }
    mc_xport_shared_alloc_t *a = &t->v[t->n++];
    a->id = ++t->next_id;
    a->base = (uintptr_t)p;
    a->len = len;
    a->fd = fd;
    pthread_mutex_unlock(&t->mu);
    return p;
fail_fd:
    close(fd);
    return NULL;
}

void mc_xport_free_shared(mc_xport_t *x, void *p)
{
    struct mc_xport_shared *t = x->shared;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].base != (uintptr_t)p)
            continue;
        mc_xport_shared_alloc_t a = t->v[i];
        t->v[i] = t->v[--t->n];
        pthread_mutex_unlock(&t->mu);
        munmap((void *)a.base, a.len);
        close(a.fd);
        return;
    }
    pthread_mutex_unlock(&t->mu);
    mc_xport_logf(x, MC_LOG_WARN, "free_shared(%p): not a shared allocation", p);
}

bool mc_xport_is_shared(mc_xport_t *x, const void *p)
{
    struct mc_xport_shared *t = x->shared;
    bool found = false;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n && !found; i++)
        found = t->v[i].base == (uintptr_t)p;
    pthread_mutex_unlock(&t->mu);
    return found;
}

uint32_t mc_xport_shared_find(mc_xport_t *x, uintptr_t addr, size_t len, uint64_t *off)
{
    struct mc_xport_shared *t = x->shared;
    uint32_t id = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        if (mc_xport_range_inside(t->v[i].base, t->v[i].len, addr, len)) {
            id = t->v[i].id;
            *off = addr - t->v[i].base;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return id;
}

int mc_xport_shared_dup_fd(mc_xport_t *x, uint32_t id, uint64_t *len)
{
    struct mc_xport_shared *t = x->shared;
    int fd = -1;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].id == id) {
            fd = fcntl(t->v[i].fd, F_DUPFD_CLOEXEC, 0);
            *len = t->v[i].len;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return fd;
}
