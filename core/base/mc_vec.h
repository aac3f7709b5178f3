/* Growable array of fixed-size elements. */
#ifndef MC_VEC_H
#define MC_VEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct mc_vec {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t esize;
} mc_vec_t;

void mc_vec_init(mc_vec_t *v, size_t esize);
void mc_vec_free(mc_vec_t *v);
/* Append one zeroed element and return it. */
void *mc_vec_push(mc_vec_t *v);
void *mc_vec_at(const mc_vec_t *v, size_t i);
void mc_vec_remove(mc_vec_t *v, size_t i); /* keeps order */
void mc_vec_clear(mc_vec_t *v);

#define MC_VEC_AT(v, type, i) ((type *)mc_vec_at((v), (i)))

#endif
