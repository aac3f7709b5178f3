/* Managed buffers (upstream allocate_managed_buffer): registered memory
 * the engine owns. Sizes round up to a power-of-two class from 8 KiB to
 * 256 MiB; a freed block goes back to its class's free list and stays
 * registered for the next allocation of that class. Larger sizes are
 * allocated, registered and, on free, unregistered on their own.
 * (Upstream carves the classes out of 2 GiB registered chunks with a buddy
 * allocator; one registration per block keeps every block a region of its
 * own here, which the receiver-side bounds checks rely on.) */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mc_te_api_int.h"

#define MIN_CLASS_SHIFT 13 /* 8 KiB */

/* Class index for length, or -1 when it is larger than the last class. */
static int class_of(size_t length)
{
    for (int c = 0; c < MC_TE_API_CLASSES; c++)
        if (length <= ((size_t)1 << (MIN_CLASS_SHIFT + c)))
            return c;
    return -1;
}

static size_t class_size(int c) { return (size_t)1 << (MIN_CLASS_SHIFT + c); }

/* Blocks we mapped, with their mapped length (mb_mu held). */
static bool owned_add(mooncake_te_t *h, uintptr_t addr, size_t len)
{
    if (h->nowned == h->cap_owned) {
        size_t cap = h->cap_owned ? h->cap_owned * 2 : 16;
        mc_te_api_region_t *r = realloc(h->owned, cap * sizeof *r);
        if (!r)
            return false;
        h->owned = r;
        h->cap_owned = cap;
    }
    h->owned[h->nowned++] = (mc_te_api_region_t){addr, len};
    return true;
}

static ssize_t owned_find(mooncake_te_t *h, uintptr_t addr)
{
    for (size_t i = 0; i < h->nowned; i++)
        if (h->owned[i].base == addr)
            return (ssize_t)i;
    return -1;
}

static bool block_is_free(mooncake_te_t *h, int c, uintptr_t addr)
{
    for (mc_te_api_block_t *b = h->free_blocks[c]; b; b = b->next)
        if (b->addr == addr)
            return true;
    return false;
}

uintptr_t mooncake_te_allocate_managed_buffer(mooncake_te_t *h, size_t length)
{
    if (!h || !h->initialized || length == 0) {
        mc_te_api_set_error(length ? "transfer engine is not initialized" : "length 0");
        return 0;
    }
    int c = class_of(length);
    size_t size = c >= 0 ? class_size(c) : length;
    pthread_mutex_lock(&h->mb_mu);
    if (c >= 0 && h->free_blocks[c]) {
        mc_te_api_block_t *b = h->free_blocks[c];
        h->free_blocks[c] = b->next;
        pthread_mutex_unlock(&h->mb_mu);
        uintptr_t a = b->addr;
        free(b);
        return a;
    }
    pthread_mutex_unlock(&h->mb_mu);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        mc_te_api_set_error("allocate_managed_buffer: cannot map %zu bytes", size);
        return 0;
    }
    int rc = mc_te_api_register(h, (uintptr_t)p, size, "cpu:0");
    if (rc != 0) {
        munmap(p, size);
        return 0;
    }
    pthread_mutex_lock(&h->mb_mu);
    bool ok = owned_add(h, (uintptr_t)p, size);
    pthread_mutex_unlock(&h->mb_mu);
    if (!ok) {
        mc_te_api_unregister(h, (uintptr_t)p);
        munmap(p, size);
        mc_te_api_set_error("allocate_managed_buffer: out of memory");
        return 0;
    }
    return (uintptr_t)p;
}

int mooncake_te_free_managed_buffer(mooncake_te_t *h, uintptr_t addr, size_t length)
{
    if (!h || !addr || length == 0) {
        mc_te_api_set_error("free_managed_buffer: bad arguments");
        return -1;
    }
    int c = class_of(length);
    size_t size = c >= 0 ? class_size(c) : length;
    pthread_mutex_lock(&h->mb_mu);
    ssize_t i = owned_find(h, addr);
    if (i < 0 || h->owned[i].len != size || (c >= 0 && block_is_free(h, c, addr))) {
        pthread_mutex_unlock(&h->mb_mu);
        mc_te_api_set_error("free_managed_buffer: %#lx/%zu was not handed out by this engine (or is free)",
                            (unsigned long)addr, length);
        return -1;
    }
    if (c >= 0) {
        mc_te_api_block_t *b = malloc(sizeof *b);
        if (b) {
            b->addr = addr;
            b->next = h->free_blocks[c];
            h->free_blocks[c] = b;
        } /* else the block is simply not reused */
        pthread_mutex_unlock(&h->mb_mu);
        return 0;
    }
    h->owned[i] = h->owned[--h->nowned];
    pthread_mutex_unlock(&h->mb_mu);
    mc_te_api_unregister(h, addr);
    munmap((void *)addr, size);
    return 0;
}

/* At teardown (loop gone, core engine destroyed): unmap everything. */
void mc_te_api_managed_free_all(mooncake_te_t *h)
{
    pthread_mutex_lock(&h->mb_mu);
    for (int c = 0; c < MC_TE_API_CLASSES; c++) {
        while (h->free_blocks[c]) {
            mc_te_api_block_t *b = h->free_blocks[c];
            h->free_blocks[c] = b->next;
            free(b);
        }
    }
    for (size_t i = 0; i < h->nowned; i++)
        munmap((void *)h->owned[i].base, h->owned[i].len);
    free(h->owned);
    h->owned = NULL;
    h->nowned = h->cap_owned = 0;
    pthread_mutex_unlock(&h->mb_mu);
}
