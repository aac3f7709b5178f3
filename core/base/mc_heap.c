#include "mc_heap.h"

#include <string.h>

#include "mc_assert.h"
#include "mc_mem.h"

void mc_heap_init(mc_heap_t *h)
{
    memset(h, 0, sizeof *h);
}

void mc_heap_free(mc_heap_t *h)
{
    mc_free(h->a);
    mc_heap_init(h);
}

static bool less(const mc_heap_item_t *x, const mc_heap_item_t *y)
{
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static void place(mc_heap_t *h, uint32_t i, mc_heap_item_t *it)
{
    h->a[i] = it;
    it->pos = i;
}

static void sift_up(mc_heap_t *h, uint32_t i)
{
    mc_heap_item_t *it = h->a[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!less(it, h->a[p]))
            break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, it);
}

static void sift_down(mc_heap_t *h, uint32_t i)
{
    mc_heap_item_t *it = h->a[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        mc_heap_item_t *best = it;
        if (l < h->len && less(h->a[l], best)) {
            m = l;
            best = h->a[l];
        }
        if (r < h->len && less(h->a[r], best)) {
            m = r;
            best = h->a[r];
        }
        if (m == i)
            break;
        place(h, i, best);
        i = m;
    }
    place(h, i, it);
}

void mc_heap_push(mc_heap_t *h, mc_heap_item_t *item, uint64_t key, void *value)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->a = mc_realloc(h->a, h->cap * sizeof *h->a);
    }
    item->key = key;
    item->seq = h->next_seq++;
    item->value = value;
    h->a[h->len] = item;
    sift_up(h, h->len++);
}

mc_heap_item_t *mc_heap_peek(const mc_heap_t *h)
{
    return h->len ? h->a[0] : NULL;
}

mc_heap_item_t *mc_heap_pop(mc_heap_t *h)
{
    if (!h->len)
        return NULL;
    mc_heap_item_t *top = h->a[0];
    mc_heap_remove(h, top);
    return top;
}

void mc_heap_remove(mc_heap_t *h, mc_heap_item_t *item)
{
    uint32_t i = item->pos;
    MC_ASSERT(i < h->len && h->a[i] == item);
    h->len--;
    if (i == h->len)
        return;
    place(h, i, h->a[h->len]);
    if (i > 0 && less(h->a[i], h->a[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}
