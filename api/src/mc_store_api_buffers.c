/* Registered buffers (register_buffer/unregister_buffer) and the local
 * buffer budget of the copying calls. */
#include <stdlib.h>

#include "mc_store_api_int.h"

/* ---- local buffer ---- */

mc_api_lbuf_t *mc_api_lbuf_new(uint64_t cap)
{
    mc_api_lbuf_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    b->cap = cap;
    b->refs = 1;
    return b;
}

void mc_api_lbuf_unref(mc_api_lbuf_t *b)
{
    pthread_mutex_lock(&b->mu);
    unsigned left = --b->refs;
    pthread_mutex_unlock(&b->mu);
    if (left)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

bool mc_api_lbuf_acquire(mc_api_lbuf_t *b, uint64_t n)
{
    pthread_mutex_lock(&b->mu);
    bool ok = n <= b->cap - b->used;
    if (ok) {
        b->used += n;
        b->refs++; /* each charge keeps the budget alive (handles outlive stores) */
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void mc_api_lbuf_release(mc_api_lbuf_t *b, uint64_t n)
{
    pthread_mutex_lock(&b->mu);
    b->used -= n;
    pthread_mutex_unlock(&b->mu);
    mc_api_lbuf_unref(b);
}

/* ---- registered regions ----
 * A real client also registers each region with its transport once (on
 * the loop), so the zero-copy calls move bytes straight in and out of it
 * without a registration per operation; the table here answers the
 * argument checks without a round trip to the loop. */

typedef struct reg_call {
    mooncake_store_t *s;
    void *ptr;
    size_t size;
    bool unregister;
    mc_status_t status;
} reg_call_t;

static void reg_on_loop(void *arg)
{
    reg_call_t *r = arg;
    mc_store_client_t *c = &r->s->sc;
    r->status = r->unregister ? mc_sc_buffer_unregister(c, r->ptr) : mc_sc_buffer_register(c, r->ptr, r->size);
}

static mc_status_t transport_reg(mooncake_store_t *s, void *ptr, size_t size, bool unregister)
{
    if (s->dummy || !s->sc_ready)
        return MC_OK; /* a dummy's regions are shared with the real client instead */
    reg_call_t r = {.s = s, .ptr = ptr, .size = size, .unregister = unregister};
    mc_status_t st = mc_api_on_loop(s, reg_on_loop, &r);
    return st == MC_OK ? r.status : st;
}

static bool overlaps(const mc_api_region_t *r, uintptr_t lo, size_t len)
{
    return lo < r->base + r->len && r->base < lo + len;
}

int mooncake_store_register_buffer(mooncake_store_t *s, void *ptr, size_t size)
{
    uintptr_t lo = (uintptr_t)ptr;
    if (!mc_api_usable(s) || !ptr || size == 0 || size > UINTPTR_MAX - lo)
        return MC_INVALID_PARAMS;
    if (s->dummy && mc_api_dummy_register(s, ptr, size) != MC_OK)
        return MC_INTERNAL_ERROR; /* upstream dummy: only a whole alloc_from_mem_pool region, else -1 */
    int rc = MC_OK;
    pthread_mutex_lock(&s->reg_mu);
    for (size_t i = 0; i < s->nregions; i++) {
        if (overlaps(&s->regions[i], lo, size)) {
            rc = MC_INVALID_PARAMS;
            goto out;
        }
    }
    if (s->nregions == s->cap_regions) {
        size_t cap = s->cap_regions ? s->cap_regions * 2 : 8;
        mc_api_region_t *r = realloc(s->regions, cap * sizeof *r);
        if (!r) {
            rc = MC_BUFFER_OVERFLOW;
            goto out;
        }
        s->regions = r;
        s->cap_regions = cap;
    }
    /* under reg_mu: a concurrent registration of an overlapping region
     * cannot slip between the check above and the table entry */
    if (transport_reg(s, ptr, size, false) != MC_OK) {
        rc = MC_INVALID_PARAMS; /* the transport refused it (overlaps a segment, ...), as upstream's TE */
        goto out;
    }
    s->regions[s->nregions++] = (mc_api_region_t){lo, size};
out:
    pthread_mutex_unlock(&s->reg_mu);
    return rc;
}

int mooncake_store_unregister_buffer(mooncake_store_t *s, void *ptr)
{
    if (!mc_api_usable(s) || !ptr)
        return MC_INVALID_PARAMS;
    int rc = MC_INVALID_PARAMS;
    pthread_mutex_lock(&s->reg_mu);
    for (size_t i = 0; i < s->nregions; i++) {
        if (s->regions[i].base == (uintptr_t)ptr) {
            s->regions[i] = s->regions[--s->nregions];
            transport_reg(s, ptr, 0, true);
            rc = MC_OK;
            break;
        }
    }
    pthread_mutex_unlock(&s->reg_mu);
    if (rc == MC_OK && s->dummy)
        mc_api_dummy_unregister(s, ptr); /* the real client unmaps it */
    return rc;
}

bool mc_api_region_find(mooncake_store_t *s, const void *p, size_t len, size_t *cap)
{
    uintptr_t lo = (uintptr_t)p;
    bool found = false;
    if (!p)
        return false;
    pthread_mutex_lock(&s->reg_mu);
    for (size_t i = 0; i < s->nregions; i++) {
        const mc_api_region_t *r = &s->regions[i];
        if (lo >= r->base && lo - r->base <= r->len && len <= r->len - (lo - r->base)) {
            if (cap)
                *cap = r->len - (lo - r->base);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->reg_mu);
    return found;
}

void mc_api_regions_free(mooncake_store_t *s)
{
    free(s->regions);
    s->regions = NULL;
    s->nregions = s->cap_regions = 0;
}
