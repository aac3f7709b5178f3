/* Memory registration (single and batch) on the loop thread, a copy of
 * the registered regions for bounds checks from any thread, and
 * write_bytes_to_buffer / read_bytes_from_buffer. */
#include <stdlib.h>
#include <string.h>

#include "mc_te_api_int.h"

/* ---- region table (reg_mu) ---- */

static void region_add(mooncake_te_t *h, uintptr_t base, size_t len)
{
    pthread_mutex_lock(&h->reg_mu);
    if (h->nregions == h->cap_regions) {
        size_t cap = h->cap_regions ? h->cap_regions * 2 : 16;
        mc_te_api_region_t *r = realloc(h->regions, cap * sizeof *r);
        if (!r) { /* only bounds checks of write/read_bytes miss this region */
            pthread_mutex_unlock(&h->reg_mu);
            return;
        }
        h->regions = r;
        h->cap_regions = cap;
    }
    h->regions[h->nregions++] = (mc_te_api_region_t){base, len};
    pthread_mutex_unlock(&h->reg_mu);
}

static void region_del(mooncake_te_t *h, uintptr_t base)
{
    pthread_mutex_lock(&h->reg_mu);
    for (size_t i = 0; i < h->nregions; i++) {
        if (h->regions[i].base == base) {
            h->regions[i] = h->regions[--h->nregions];
            break;
        }
    }
    pthread_mutex_unlock(&h->reg_mu);
}

bool mc_te_api_region_find(mooncake_te_t *h, uintptr_t p, size_t len)
{
    bool hit = false;
    pthread_mutex_lock(&h->reg_mu);
    for (size_t i = 0; i < h->nregions && !hit; i++) {
        const mc_te_api_region_t *r = &h->regions[i];
        hit = p >= r->base && p - r->base <= r->len && len <= r->len - (p - r->base);
    }
    pthread_mutex_unlock(&h->reg_mu);
    return hit;
}

void mc_te_api_regions_free(mooncake_te_t *h)
{
    pthread_mutex_lock(&h->reg_mu);
    free(h->regions);
    h->regions = NULL;
    h->nregions = h->cap_regions = 0;
    pthread_mutex_unlock(&h->reg_mu);
}

/* ---- calls ---- */

typedef struct reg_args {
    const uintptr_t *addrs;
    const size_t *lens; /* NULL: unregister */
    size_t n;
    const char *location;
} reg_args_t;

static void reg_start(mc_te_api_call_t *c)
{
    reg_args_t *a = c->arg;
    mc_te_t *te = c->h->te;
    int rc;
    if (a->n == 1 && a->lens)
        rc = mc_te_register(te, (void *)a->addrs[0], a->lens[0], a->location, true, true);
    else if (a->n == 1)
        rc = mc_te_unregister(te, (void *)a->addrs[0], true);
    else if (a->lens)
        rc = mc_te_register_batch(te, (void *const *)a->addrs, (const uint64_t *)a->lens, a->n, a->location);
    else
        rc = mc_te_unregister_batch(te, (void *const *)a->addrs, a->n);
    if (rc)
        mc_te_api_fail(c, rc, "%s: %s", a->lens ? "register" : "unregister", mc_te_err_msg(rc));
    else
        mc_te_api_done(c, 0);
}

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t lengths are passed as uint64_t");
_Static_assert(sizeof(uintptr_t) == sizeof(void *), "addresses are pointers");

static int reg_call(mooncake_te_t *h, const uintptr_t *addrs, const size_t *lens, size_t n, const char *location)
{
    if (!h || !h->initialized) {
        mc_te_api_set_error("transfer engine is not initialized");
        return MOONCAKE_TE_ERR_INVALID_ARGUMENT;
    }
    if (n == 0)
        return 0;
    if (!addrs) {
        mc_te_api_set_error("NULL address list");
        return MOONCAKE_TE_ERR_INVALID_ARGUMENT;
    }
    reg_args_t a = {addrs, lens, n, location && *location ? location : "*"};
    int rc = mc_te_api_run(h, reg_start, &a, MOONCAKE_TE_ERR_INVALID_ARGUMENT);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (lens)
            region_add(h, addrs[i], lens[i]);
        else
            region_del(h, addrs[i]);
    }
    return rc;
}

int mc_te_api_register(mooncake_te_t *h, uintptr_t addr, size_t len, const char *location)
{
    return reg_call(h, &addr, &len, 1, location ? location : "*");
}

int mc_te_api_unregister(mooncake_te_t *h, uintptr_t addr) { return reg_call(h, &addr, NULL, 1, NULL); }

int mooncake_te_register_memory(mooncake_te_t *h, uintptr_t addr, size_t capacity, const char *location)
{
    return mc_te_api_register(h, addr, capacity, location);
}

int mooncake_te_unregister_memory(mooncake_te_t *h, uintptr_t addr) { return mc_te_api_unregister(h, addr); }

int mooncake_te_batch_register_memory(mooncake_te_t *h, const uintptr_t *addrs, const size_t *capacities, size_t n,
                                      const char *location)
{
    if (n && !capacities) {
        mc_te_api_set_error("NULL capacity list");
        return MOONCAKE_TE_ERR_INVALID_ARGUMENT;
    }
    return reg_call(h, addrs, capacities, n, location ? location : "*");
}

int mooncake_te_batch_unregister_memory(mooncake_te_t *h, const uintptr_t *addrs, size_t n)
{
    return reg_call(h, addrs, NULL, n, NULL);
}

int mooncake_te_write_bytes_to_buffer(mooncake_te_t *h, uintptr_t dest, const void *src, size_t length)
{
    if (length == 0)
        return 0;
    if (!h || !src || !mc_te_api_region_find(h, dest, length)) {
        mc_te_api_set_error("write_bytes_to_buffer: [%#lx, +%zu) is not inside memory registered with this engine",
                            (unsigned long)dest, length);
        return -1;
    }
    memcpy((void *)dest, src, length);
    return 0;
}

int mooncake_te_read_bytes_from_buffer(mooncake_te_t *h, uintptr_t src, void *dest, size_t length)
{
    if (length == 0)
        return 0;
    if (!h || !dest || !mc_te_api_region_find(h, src, length)) {
        mc_te_api_set_error("read_bytes_from_buffer: [%#lx, +%zu) is not inside memory registered with this engine",
                            (unsigned long)src, length);
        return -1;
    }
    memcpy(dest, (const void *)src, length);
    return 0;
}
