#include "mc_assert.h"

#include <stdio.h>

/* fprintf+abort are the only libc I/O in core/: the process is dying and
 * there is no environment left to trust. */
void mc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "mooncake: assertion failed: %s (%s:%d %s)\n", expr, file, line, func);
    abort();
}
