/* Registered-region table; see mc_xport_regions.h. */
#include "mc_xport_regions.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* A random start per process, so a restarted process under the same
 * address does not issue its predecessor's keys. */
static uint32_t mc_xport_key_seed(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u ^ (uint32_t)getpid() << 16;
    }
    return v;
}

int mc_xport_regions_init(mc_xport_regions_t *t)
{
    memset(t, 0, sizeof *t);
    t->key_next = mc_xport_key_seed();
    if (pthread_rwlock_init(&t->lock, NULL) != 0)
        return -1;
    if (pthread_mutex_init(&t->pin_mu, NULL) != 0)
        goto fail_rw;
    if (pthread_cond_init(&t->pin_cv, NULL) != 0)
        goto fail_mu;
    return 0;
fail_mu:
    pthread_mutex_destroy(&t->pin_mu);
fail_rw:
    pthread_rwlock_destroy(&t->lock);
    return -1;
}

void mc_xport_regions_fini(mc_xport_regions_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    pthread_cond_destroy(&t->pin_cv);
    pthread_mutex_destroy(&t->pin_mu);
    pthread_rwlock_destroy(&t->lock);
}

/* Index of the first region with base > addr (caller holds the lock). */
static size_t mc_xport_regions_upper(const mc_xport_regions_t *t, uint64_t addr)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The region that may contain addr, or NULL (caller holds the lock). */
static mc_xport_region_t *mc_xport_regions_find(const mc_xport_regions_t *t, uint64_t addr, uint64_t len)
{
    size_t i = mc_xport_regions_upper(t, addr);
    if (i == 0)
        return NULL;
    mc_xport_region_t *r = t->v[i - 1];
    return mc_xport_range_inside(r->base, r->len, addr, len) ? r : NULL;
}

mc_status_t mc_xport_regions_add(mc_xport_regions_t *t, uintptr_t base, size_t len, uint32_t shm_id,
                                 uint64_t shm_off, const mc_xport_region_t **out)
{
    if (!base || len == 0 || len > UINTPTR_MAX - base)
        return MC_INVALID_PARAMS;
    mc_status_t ret = MC_OK;
    pthread_rwlock_wrlock(&t->lock);
    size_t i = mc_xport_regions_upper(t, base);
    if (i > 0 && t->v[i - 1]->base + t->v[i - 1]->len > base) {
        ret = MC_INVALID_PARAMS; /* overlaps the region below */
        goto out;
    }
    if (i < t->n && t->v[i]->base < base + len) {
        ret = MC_INVALID_PARAMS; /* overlaps the region above */
        goto out;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        mc_xport_region_t **v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            ret = MC_INTERNAL_ERROR;
            goto out;
        }
        t->v = v;
        t->cap = cap;
    }
    mc_xport_region_t *r = calloc(1, sizeof *r);
    if (!r) {
        ret = MC_INTERNAL_ERROR;
        goto out;
    }
    r->base = base;
    r->len = len;
    do /* never 0 ("no key"); wraps only after 2^32 registrations */
        r->key = t->key_next++;
    while (r->key == 0);
    r->shm_id = shm_id;
    r->shm_off = shm_off;
    memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof *t->v);
    t->v[i] = r;
    t->n++;
    if (out)
        *out = r;
out:
    pthread_rwlock_unlock(&t->lock);
    return ret;
}

mc_xport_region_t *mc_xport_regions_remove(mc_xport_regions_t *t, uintptr_t base)
{
    mc_xport_region_t *r = NULL;
    pthread_rwlock_wrlock(&t->lock);
    size_t i = mc_xport_regions_upper(t, base);
    if (i > 0 && t->v[i - 1]->base == base) {
        r = t->v[i - 1];
        memmove(&t->v[i - 1], &t->v[i], (t->n - i) * sizeof *t->v);
        t->n--;
        atomic_store(&r->dead, true);
    }
    pthread_rwlock_unlock(&t->lock);
    return r;
}

void mc_xport_regions_free(mc_xport_regions_t *t, mc_xport_region_t *r)
{
    pthread_mutex_lock(&t->pin_mu);
    while (atomic_load(&r->pins) != 0)
        pthread_cond_wait(&t->pin_cv, &t->pin_mu);
    pthread_mutex_unlock(&t->pin_mu);
    free(r);
}

bool mc_xport_regions_covers(mc_xport_regions_t *t, uint64_t addr, uint64_t len)
{
    pthread_rwlock_rdlock(&t->lock);
    bool ok = mc_xport_regions_find(t, addr, len) != NULL;
    pthread_rwlock_unlock(&t->lock);
    return ok;
}

mc_xport_region_t *mc_xport_regions_pin(mc_xport_regions_t *t, uint64_t addr, uint64_t len)
{
    pthread_rwlock_rdlock(&t->lock);
    mc_xport_region_t *r = mc_xport_regions_find(t, addr, len);
    if (r)
        atomic_fetch_add(&r->pins, 1);
    pthread_rwlock_unlock(&t->lock);
    return r;
}

mc_status_t mc_xport_regions_pin_key(mc_xport_regions_t *t, uint64_t addr, uint64_t len, uint32_t key,
                                     mc_xport_region_t **out)
{
    mc_xport_region_t *r = NULL;
    mc_status_t st = MC_INVALID_PARAMS;
    pthread_rwlock_rdlock(&t->lock);
    if (key == 0) {
        r = mc_xport_regions_find(t, addr, len);
    } else {
        st = MC_TRANSFER_FAIL;
        for (size_t i = 0; i < t->n; i++) /* few regions; keys are not sorted */
            if (t->v[i]->key == key) {
                st = MC_INVALID_PARAMS;
                if (mc_xport_range_inside(t->v[i]->base, t->v[i]->len, addr, len))
                    r = t->v[i];
                break;
            }
    }
    if (r) {
        atomic_fetch_add(&r->pins, 1);
        st = MC_OK;
    }
    pthread_rwlock_unlock(&t->lock);
    *out = r;
    return st;
}

bool mc_xport_regions_key_ok(uint64_t base, uint64_t blen, uint32_t rkey, uint64_t addr, uint64_t len, uint32_t key)
{
    return (key == 0 || key == rkey) && mc_xport_range_inside(base, blen, addr, len);
}

void mc_xport_regions_unpin(mc_xport_regions_t *t, mc_xport_region_t *r)
{
    if (atomic_fetch_sub(&r->pins, 1) == 1 && atomic_load(&r->dead)) {
        pthread_mutex_lock(&t->pin_mu);
        pthread_cond_broadcast(&t->pin_cv);
        pthread_mutex_unlock(&t->pin_mu);
    }
}
