/* Self-verifying values for workloads and checkers: bytes 0-7 hold the
 * value id (little-endian), the rest is a PRNG stream seeded by it. A
 * reader recovers the id and proves every byte, so torn or stale-space
 * reads are detected in the simulator and on real processes alike. */
#ifndef MC_STORE_VALUE_H
#define MC_STORE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_STORE_VALUE_MIN 16 /* smallest verifiable value */

void mc_store_value_fill(uint8_t *buf, size_t len, uint64_t vid);
/* true and *vid when buf is an intact value; false when torn/corrupt. */
bool mc_store_value_check(const uint8_t *buf, size_t len, uint64_t *vid);

#endif
