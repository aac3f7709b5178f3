/* Invariant checks stay on in every build type: a broken invariant in a
 * storage system must stop the process, not corrupt data quietly. */
#ifndef MC_ASSERT_H
#define MC_ASSERT_H

#include <stdlib.h>

void mc_assert_fail(const char *expr, const char *file, int line, const char *func);

#define MC_ASSERT(expr) \
    ((expr) ? (void)0 : mc_assert_fail(#expr, __FILE__, __LINE__, __func__))

#define MC_UNREACHABLE() mc_assert_fail("unreachable", __FILE__, __LINE__, __func__)

#define MC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
