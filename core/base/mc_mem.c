#include "mc_mem.h"

#include <string.h>

#include "mc_assert.h"

void *mc_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    MC_ASSERT(p != NULL);
    return p;
}

void *mc_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    MC_ASSERT(p != NULL);
    return p;
}

void *mc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    MC_ASSERT(q != NULL);
    return q;
}

char *mc_strdup(const char *s)
{
    return mc_memdup(s, strlen(s) + 1);
}

char *mc_strndup(const char *s, size_t n)
{
    char *p = mc_malloc(n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *mc_memdup(const void *p, size_t n)
{
    void *q = mc_malloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

void mc_free(void *p)
{
    free(p);
}
