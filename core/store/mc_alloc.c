#include "store/mc_alloc.h"

#include <stdio.h>
#include <string.h>

#include "base/mc_assert.h"
#include "base/mc_mem.h"

#define MC_ALLOC_USED (UINT32_MAX - 1)

/* Size class of a length in units: exact for < 8 units, then 8 sub-bins
 * per power of two. bin_lo(bin_of(u)) <= u < bin_lo(bin_of(u) + 1). */
static uint32_t bin_of(uint64_t units)
{
    if (units < 8)
        return (uint32_t)units;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(units);
    uint32_t m = (uint32_t)(units >> (e - 3)) & 7u;
    return 8u * (e - 2u) + m;
}

static uint64_t bin_lo(uint32_t bin)
{
    if (bin < 8)
        return bin;
    uint32_t e = bin / 8u + 2u;
    return (8ull | (bin & 7u)) << (e - 3u);
}

static void bin_insert(mc_alloc_t *a, uint32_t n)
{
    mc_alloc_node_t *nd = &a->nodes[n];
    uint32_t b = bin_of(nd->len / a->align);
    MC_ASSERT(b < MC_ALLOC_NBINS);
    nd->bprev = MC_ALLOC_NIL;
    nd->bnext = a->bins[b];
    if (a->bins[b] != MC_ALLOC_NIL)
        a->nodes[a->bins[b]].bprev = n;
    a->bins[b] = n;
    a->bitmap[b / 64] |= 1ull << (b % 64);
    a->free_bytes += nd->len;
    a->nfree++;
}

static void bin_remove(mc_alloc_t *a, uint32_t n)
{
    mc_alloc_node_t *nd = &a->nodes[n];
    uint32_t b = bin_of(nd->len / a->align);
    if (nd->bprev != MC_ALLOC_NIL)
        a->nodes[nd->bprev].bnext = nd->bnext;
    else
        a->bins[b] = nd->bnext;
    if (nd->bnext != MC_ALLOC_NIL)
        a->nodes[nd->bnext].bprev = nd->bprev;
    if (a->bins[b] == MC_ALLOC_NIL)
        a->bitmap[b / 64] &= ~(1ull << (b % 64));
    nd->bnext = MC_ALLOC_USED;
    a->free_bytes -= nd->len;
    a->nfree--;
}

static uint32_t node_new(mc_alloc_t *a)
{
    uint32_t n;
    if (a->free_nodes != MC_ALLOC_NIL) {
        n = a->free_nodes;
        a->free_nodes = a->nodes[n].anext;
        return n;
    }
    if (a->nnodes == a->capnodes) {
        MC_ASSERT(a->capnodes < MC_ALLOC_NIL / 2);
        a->capnodes = a->capnodes ? a->capnodes * 2 : 16;
        a->nodes = mc_realloc(a->nodes, (size_t)a->capnodes * sizeof *a->nodes);
    }
    return a->nnodes++;
}

static void node_release(mc_alloc_t *a, uint32_t n)
{
    a->nodes[n].anext = a->free_nodes;
    a->nodes[n].bnext = MC_ALLOC_NIL;
    a->nodes[n].len = 0;
    a->free_nodes = n;
}

mc_status_t mc_alloc_init(mc_alloc_t *a, uint64_t capacity, uint32_t align)
{
    memset(a, 0, sizeof *a);
    if (align == 0)
        align = MC_ALLOC_DEFAULT_ALIGN;
    if (align & (align - 1))
        return MC_INVALID_PARAMS;
    capacity &= ~(uint64_t)(align - 1);
    if (capacity == 0)
        return MC_INVALID_PARAMS;
    a->align = align;
    a->capacity = capacity;
    a->free_nodes = MC_ALLOC_NIL;
    for (uint32_t i = 0; i < MC_ALLOC_NBINS; i++)
        a->bins[i] = MC_ALLOC_NIL;
    uint32_t n = node_new(a);
    MC_ASSERT(n == 0); /* node 0 always starts at offset 0 (merges keep the lower node) */
    a->nodes[n] = (mc_alloc_node_t){0, capacity, MC_ALLOC_NIL, MC_ALLOC_NIL, MC_ALLOC_NIL, MC_ALLOC_NIL};
    bin_insert(a, n);
    return MC_OK;
}

void mc_alloc_destroy(mc_alloc_t *a)
{
    mc_free(a->nodes);
    memset(a, 0, sizeof *a);
}

/* First non-empty bin >= b, or MC_ALLOC_NBINS. */
static uint32_t bin_search(const mc_alloc_t *a, uint32_t b)
{
    while (b < MC_ALLOC_NBINS) {
        uint64_t w = a->bitmap[b / 64] & (~0ull << (b % 64));
        if (w)
            return (b & ~63u) + (uint32_t)__builtin_ctzll(w);
        b = (b & ~63u) + 64;
    }
    return MC_ALLOC_NBINS;
}

mc_status_t mc_alloc_alloc(mc_alloc_t *a, uint64_t len, mc_alloc_handle_t *h, uint64_t *off)
{
    if (len == 0)
        return MC_INVALID_PARAMS;
    if (len > a->free_bytes)
        return MC_NO_AVAILABLE_HANDLE;
    uint64_t units = (len + a->align - 1) / a->align;
    len = units * a->align;
    uint32_t bfloor = bin_of(units);
    /* Every node of a bin above bfloor fits; bfloor itself only if exact. */
    uint32_t bfit = bin_lo(bfloor) == units ? bfloor : bfloor + 1;
    uint32_t n = MC_ALLOC_NIL;
    uint32_t b = bin_search(a, bfit);
    if (b < MC_ALLOC_NBINS) {
        n = a->bins[b];
    } else if (bfit != bfloor) {
        /* Fallback: a node in the floor bin may still be big enough. */
        for (uint32_t i = a->bins[bfloor]; i != MC_ALLOC_NIL; i = a->nodes[i].bnext)
            if (a->nodes[i].len >= len) {
                n = i;
                break;
            }
    }
    if (n == MC_ALLOC_NIL)
        return MC_NO_AVAILABLE_HANDLE;
    bin_remove(a, n);
    mc_alloc_node_t *nd = &a->nodes[n];
    if (nd->len > len) {
        /* Split: the tail stays free. nodes[] may move in node_new. */
        uint64_t rest_off = nd->off + len, rest_len = nd->len - len;
        uint32_t r = node_new(a);
        nd = &a->nodes[n];
        mc_alloc_node_t *rn = &a->nodes[r];
        rn->off = rest_off;
        rn->len = rest_len;
        rn->aprev = n;
        rn->anext = nd->anext;
        if (nd->anext != MC_ALLOC_NIL)
            a->nodes[nd->anext].aprev = r;
        nd->anext = r;
        nd->len = len;
        bin_insert(a, r);
    }
    a->nused++;
    *h = n;
    *off = nd->off;
    return MC_OK;
}

void mc_alloc_free(mc_alloc_t *a, mc_alloc_handle_t h)
{
    MC_ASSERT(h < a->nnodes && a->nodes[h].bnext == MC_ALLOC_USED && a->nodes[h].len > 0);
    a->nused--;
    uint32_t n = h;
    uint32_t nx = a->nodes[n].anext;
    if (nx != MC_ALLOC_NIL && a->nodes[nx].bnext != MC_ALLOC_USED) {
        bin_remove(a, nx);
        a->nodes[n].len += a->nodes[nx].len;
        a->nodes[n].anext = a->nodes[nx].anext;
        if (a->nodes[nx].anext != MC_ALLOC_NIL)
            a->nodes[a->nodes[nx].anext].aprev = n;
        node_release(a, nx);
    }
    uint32_t pv = a->nodes[n].aprev;
    if (pv != MC_ALLOC_NIL && a->nodes[pv].bnext != MC_ALLOC_USED) {
        bin_remove(a, pv);
        a->nodes[pv].len += a->nodes[n].len;
        a->nodes[pv].anext = a->nodes[n].anext;
        if (a->nodes[n].anext != MC_ALLOC_NIL)
            a->nodes[a->nodes[n].anext].aprev = pv;
        node_release(a, n);
        n = pv;
    }
    bin_insert(a, n);
}

uint64_t mc_alloc_largest_free(const mc_alloc_t *a)
{
    for (uint32_t w = MC_ALLOC_NBINS / 64; w-- > 0;) {
        if (!a->bitmap[w])
            continue;
        uint32_t b = w * 64 + 63u - (uint32_t)__builtin_clzll(a->bitmap[w]);
        uint64_t best = 0;
        for (uint32_t i = a->bins[b]; i != MC_ALLOC_NIL; i = a->nodes[i].bnext)
            if (a->nodes[i].len > best)
                best = a->nodes[i].len;
        return best;
    }
    return 0;
}

double mc_alloc_contiguity(const mc_alloc_t *a)
{
    if (a->free_bytes == 0)
        return 1.0;
    return (double)mc_alloc_largest_free(a) / (double)a->free_bytes;
}

size_t mc_alloc_footprint(const mc_alloc_t *a)
{
    return sizeof *a + (size_t)a->capnodes * sizeof *a->nodes;
}

#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            if (err && errlen)                    \
                snprintf(err, errlen, __VA_ARGS__); \
            return false;                         \
        }                                         \
    } while (0)

bool mc_alloc_check(const mc_alloc_t *a, char *err, size_t errlen)
{
    uint64_t pos = 0, freeb = 0;
    uint32_t nused = 0, nfree = 0, prev = MC_ALLOC_NIL;
    bool prev_free = false;
    for (uint32_t n = 0; n != MC_ALLOC_NIL; n = a->nodes[n].anext) {
        const mc_alloc_node_t *nd = &a->nodes[n];
        bool is_free = nd->bnext != MC_ALLOC_USED;
        CHECK(nd->aprev == prev, "node %u: bad back link", n);
        CHECK(nd->off == pos, "node %u: offset %llu, expected %llu (gap or overlap)", n,
              (unsigned long long)nd->off, (unsigned long long)pos);
        CHECK(nd->len > 0 && nd->len % a->align == 0, "node %u: bad length %llu", n, (unsigned long long)nd->len);
        CHECK(!(is_free && prev_free), "node %u: adjacent free ranges not coalesced", n);
        if (is_free) {
            freeb += nd->len;
            nfree++;
        } else {
            nused++;
        }
        pos += nd->len;
        prev_free = is_free;
        prev = n;
        CHECK(nused + nfree <= a->nnodes, "address list has a cycle");
    }
    CHECK(pos == a->capacity, "ranges cover %llu of %llu bytes", (unsigned long long)pos,
          (unsigned long long)a->capacity);
    CHECK(freeb == a->free_bytes, "free bytes %llu, counter says %llu", (unsigned long long)freeb,
          (unsigned long long)a->free_bytes);
    CHECK(nused == a->nused && nfree == a->nfree, "counts used %u/%u free %u/%u", nused, a->nused, nfree, a->nfree);
    uint32_t inbins = 0;
    for (uint32_t b = 0; b < MC_ALLOC_NBINS; b++) {
        bool bit = (a->bitmap[b / 64] >> (b % 64)) & 1;
        CHECK(bit == (a->bins[b] != MC_ALLOC_NIL), "bin %u: bitmap disagrees with list", b);
        uint32_t prevb = MC_ALLOC_NIL;
        for (uint32_t i = a->bins[b]; i != MC_ALLOC_NIL; i = a->nodes[i].bnext) {
            CHECK(i < a->nnodes && a->nodes[i].len > 0, "bin %u links a released node %u", b, i);
            CHECK(bin_of(a->nodes[i].len / a->align) == b, "node %u in wrong bin %u", i, b);
            CHECK(a->nodes[i].bprev == prevb, "bin %u: bad back link at node %u", b, i);
            prevb = i;
            if (++inbins > nfree)
                break;
        }
    }
    /* Bin lists hold only free nodes (used ones carry the USED mark, not a
     * link), so equal counts mean every free range is binned exactly once. */
    CHECK(inbins == nfree, "bins hold %u nodes, %u free ranges", inbins, nfree);
    return true;
}
