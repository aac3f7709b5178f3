/* Shared boilerplate for libcheck unit tests. A test file defines
 *     static Suite *suite(void) { ... }
 *     MC_CHECK_MAIN(suite)
 * and tests/CMakeLists.txt builds it as its own executable (any
 * tests/unit/test_*.c is picked up). CK_FORK=no runs in-process (valgrind). */
#ifndef MC_CHECK_H
#define MC_CHECK_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

/* Cheap assertion for hot loops: libcheck's ck_assert_* records a
 * checkpoint (an I/O call) on every success, which dominates tight
 * loops, especially under valgrind. This only reports on failure. */
#define MC_CK(expr)                                                        \
    do {                                                                   \
        if (!(expr))                                                       \
            ck_abort_msg("%s:%d: assertion '%s' failed", __FILE__, __LINE__, #expr); \
    } while (0)

#define MC_CHECK_MAIN(suite_fn)                          \
    int main(void)                                       \
    {                                                    \
        SRunner *sr = srunner_create(suite_fn());        \
        srunner_run_all(sr, CK_NORMAL);                  \
        int failed = srunner_ntests_failed(sr);          \
        srunner_free(sr);                                \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;     \
    }

#endif
