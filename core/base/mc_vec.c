#include "mc_vec.h"

#include <string.h>

#include "mc_assert.h"
#include "mc_mem.h"

void mc_vec_init(mc_vec_t *v, size_t esize)
{
    v->data = NULL;
    v->len = v->cap = 0;
    v->esize = esize;
}

void mc_vec_free(mc_vec_t *v)
{
    mc_free(v->data);
    mc_vec_init(v, v->esize);
}

void *mc_vec_push(mc_vec_t *v)
{
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->data = mc_realloc(v->data, v->cap * v->esize);
    }
    void *p = v->data + v->len++ * v->esize;
    memset(p, 0, v->esize);
    return p;
}

void *mc_vec_at(const mc_vec_t *v, size_t i)
{
    MC_ASSERT(i < v->len);
    return v->data + i * v->esize;
}

void mc_vec_remove(mc_vec_t *v, size_t i)
{
    MC_ASSERT(i < v->len);
    memmove(v->data + i * v->esize, v->data + (i + 1) * v->esize, (v->len - i - 1) * v->esize);
    v->len--;
}

void mc_vec_clear(mc_vec_t *v)
{
    v->len = 0;
}
