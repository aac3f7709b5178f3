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
