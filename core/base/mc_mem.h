/* Allocation helpers: out-of-memory is fatal (like Redis' zmalloc), so
 * callers never carry an OOM path that cannot be tested. */
#ifndef MC_MEM_H
#define MC_MEM_H

#include <stddef.h>

void *mc_malloc(size_t n);
void *mc_calloc(size_t count, size_t size);
void *mc_realloc(void *p, size_t n);
char *mc_strdup(const char *s);
char *mc_strndup(const char *s, size_t n);
void *mc_memdup(const void *p, size_t n);
void mc_free(void *p);

#endif
