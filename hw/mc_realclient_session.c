/* A dummy client's state in the real client: the shared-memory regions it
 * registered (mapped here and registered with the real store so the
 * zero-copy calls accept them) and the staging allocator over its local
 * buffer. Everything is released when the dummy's connection ends, which
 * is how a dummy that dies gives back what it held. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/mc_mem.h"
#include "mc_realclient.h"

mc_rc_session_t *mc_rc_session_new(mc_rc_server_t *srv, int fd)
{
    mc_rc_session_t *s = mc_calloc(1, sizeof *s);
    s->fd = fd;
    s->srv = srv;
    s->lb = -1;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void region_drop(mc_rc_session_t *s, mc_rc_region_t *r)
{
    mooncake_store_unregister_buffer(s->srv->store, r->local);
    munmap(r->local, r->size);
}

void mc_rc_session_release(mc_rc_session_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nregions; i++)
        region_drop(s, &s->regions[i]);
    free(s->regions);
    s->regions = NULL;
    s->nregions = 0;
    if (s->lb_ready)
        mc_alloc_destroy(&s->lb_alloc);
    s->lb_ready = false;
    s->lb = -1;
    free(s->allocs);
    s->allocs = NULL;
    s->nallocs = 0;
    pthread_mutex_unlock(&s->mu);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    pthread_mutex_destroy(&s->mu);
}

static bool overlaps_locked(const mc_rc_session_t *s, uint64_t base, uint64_t size)
{
    for (size_t i = 0; i < s->nregions; i++) {
        const mc_rc_region_t *r = &s->regions[i];
        if (base < r->dummy_base + r->size && r->dummy_base < base + size)
            return true;
    }
    return false;
}

mc_status_t mc_rc_session_add_region(mc_rc_session_t *s, uint64_t base, uint64_t size, bool is_local_buffer, int fd)
{
    mc_status_t st = MC_INVALID_PARAMS;
    uint8_t *p = NULL;
    pthread_mutex_lock(&s->mu);
    if (size == 0 || base == 0 || base + size < base || overlaps_locked(s, base, size) ||
        (is_local_buffer && s->lb >= 0))
        goto out;
    if (!(p = mc_rc_shm_map(fd, size)))
        goto out;
    if ((st = mooncake_store_register_buffer(s->srv->store, p, size)) != MC_OK) {
        munmap(p, size);
        goto out;
    }
    if (is_local_buffer) {
        if (mc_alloc_init(&s->lb_alloc, size, 0) != MC_OK) {
            mooncake_store_unregister_buffer(s->srv->store, p);
            munmap(p, size);
            st = MC_INVALID_PARAMS;
            goto out;
        }
        s->lb_ready = true;
        s->lb = (int)s->nregions;
    }
    if (s->nregions == s->cap_regions) {
        s->cap_regions = s->cap_regions ? s->cap_regions * 2 : 8;
        s->regions = mc_realloc(s->regions, s->cap_regions * sizeof *s->regions);
    }
    s->regions[s->nregions++] = (mc_rc_region_t){base, size, p, is_local_buffer};
    st = MC_OK;
out:
    pthread_mutex_unlock(&s->mu);
    close(fd);
    return st;
}

mc_status_t mc_rc_session_remove_region(mc_rc_session_t *s, uint64_t base)
{
    mc_status_t st = MC_INVALID_PARAMS;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nregions; i++) {
        if (s->regions[i].dummy_base == base && !s->regions[i].is_local_buffer) {
            region_drop(s, &s->regions[i]);
            s->regions[i] = s->regions[--s->nregions];
            if (s->lb == (int)s->nregions) /* the local buffer moved into slot i */
                s->lb = (int)i;
            st = MC_OK;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

uint8_t *mc_rc_session_translate(mc_rc_session_t *s, uint64_t addr, uint64_t len)
{
    uint8_t *p = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nregions; i++) {
        const mc_rc_region_t *r = &s->regions[i];
        if (addr >= r->dummy_base && addr - r->dummy_base <= r->size && len <= r->size - (addr - r->dummy_base)) {
            p = r->local + (addr - r->dummy_base);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return p;
}

uint64_t mc_rc_session_alloc(mc_rc_session_t *s, uint64_t len)
{
    uint64_t addr = 0;
    pthread_mutex_lock(&s->mu);
    mc_alloc_handle_t h;
    uint64_t off;
    if (s->lb_ready && len && mc_alloc_alloc(&s->lb_alloc, len, &h, &off) == MC_OK) {
        if (s->nallocs == s->cap_allocs) {
            s->cap_allocs = s->cap_allocs ? s->cap_allocs * 2 : 16;
            s->allocs = mc_realloc(s->allocs, s->cap_allocs * sizeof *s->allocs);
        }
        s->allocs[s->nallocs++] = (mc_rc_alloc_rec_t){off, h};
        addr = s->regions[s->lb].dummy_base + off;
    }
    pthread_mutex_unlock(&s->mu);
    return addr;
}

bool mc_rc_session_free(mc_rc_session_t *s, uint64_t addr)
{
    bool ok = false;
    pthread_mutex_lock(&s->mu);
    if (s->lb_ready && addr >= s->regions[s->lb].dummy_base) {
        uint64_t off = addr - s->regions[s->lb].dummy_base;
        for (size_t i = 0; i < s->nallocs; i++) {
            if (s->allocs[i].off == off) {
                mc_alloc_free(&s->lb_alloc, s->allocs[i].h);
                s->allocs[i] = s->allocs[--s->nallocs];
                ok = true;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

uint64_t mc_rc_session_alloc_largest(mc_rc_session_t *s, uint64_t *cap)
{
    pthread_mutex_lock(&s->mu);
    uint64_t largest = s->lb_ready ? mc_alloc_largest_free(&s->lb_alloc) : 0;
    pthread_mutex_unlock(&s->mu);
    *cap = largest;
    /* only this session's thread allocates, so the range is still free */
    return largest ? mc_rc_session_alloc(s, largest) : 0;
}

uint64_t mc_rc_session_shrink(mc_rc_session_t *s, uint64_t addr, uint64_t len)
{
    if (!mc_rc_session_free(s, addr))
        return 0;
    if (len == 0)
        return 0;
    uint64_t to = mc_rc_session_alloc(s, len); /* fits: the freed range was at least len */
    if (to && to != addr) {
        pthread_mutex_lock(&s->mu);
        uint8_t *base = s->regions[s->lb].local;
        uint64_t dbase = s->regions[s->lb].dummy_base;
        memmove(base + (to - dbase), base + (addr - dbase), len); /* the allocator never touches bytes */
        pthread_mutex_unlock(&s->mu);
    }
    return to;
}
