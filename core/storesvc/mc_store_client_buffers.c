/* Caller buffers registered once with the transport (upstream
 * register_buffer, spec store.md §6.8): get_into and friends read
 * straight into them without registering per operation (with verbs a
 * registration pins and maps pages, far costlier than the transfer of a
 * small value). Ranges inside such a buffer are "covered": mc_sc_xfer
 * skips its per-op registration for them. */
#include <string.h>

#include "base/mc_mem.h"
#include "storesvc/mc_store_client_int.h"

static bool inside(const mc_sc_buf_t *b, uintptr_t p, size_t len)
{
    return p >= b->base && p - b->base <= b->len && len <= b->len - (p - b->base);
}

mc_status_t mc_sc_buffer_register(mc_store_client_t *c, void *base, size_t len)
{
    if (!base || !len)
        return MC_INVALID_PARAMS;
    /* overlaps (with these, our segments or anything else registered) are
     * the transport's to refuse, as upstream's TE does */
    mc_status_t s = c->env->ops->mem_register(c->env, base, len, NULL);
    if (s != MC_OK)
        return MC_INVALID_PARAMS;
    if (c->nbufs == c->cap_bufs) {
        c->cap_bufs = c->cap_bufs ? c->cap_bufs * 2 : 8;
        c->bufs = mc_realloc(c->bufs, c->cap_bufs * sizeof *c->bufs);
    }
    c->bufs[c->nbufs++] = (mc_sc_buf_t){(uintptr_t)base, len};
    return MC_OK;
}

mc_status_t mc_sc_buffer_unregister(mc_store_client_t *c, void *base)
{
    for (uint32_t i = 0; i < c->nbufs; i++) {
        if (c->bufs[i].base != (uintptr_t)base)
            continue;
        c->env->ops->mem_unregister(c->env, base);
        c->bufs[i] = c->bufs[--c->nbufs];
        return MC_OK;
    }
    return MC_INVALID_PARAMS;
}

bool mc_sc_buffer_covered(const mc_store_client_t *c, const void *p, size_t len)
{
    for (uint32_t i = 0; i < c->nbufs; i++)
        if (inside(&c->bufs[i], (uintptr_t)p, len))
            return true;
    return false;
}

void mc_sc_buffers_free(mc_store_client_t *c)
{
    for (uint32_t i = 0; i < c->nbufs; i++)
        c->env->ops->mem_unregister(c->env, (void *)c->bufs[i].base);
    mc_free(c->bufs);
    c->bufs = NULL;
    c->nbufs = c->cap_bufs = 0;
}
