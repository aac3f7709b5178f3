/* Seeded PRNG (xoshiro256**, seeded through splitmix64). Every random
 * decision in core/ and sim/ derives from one of these so a seed replays
 * a run exactly. */
#ifndef MC_RNG_H
#define MC_RNG_H

#include <stdint.h>

typedef struct mc_rng {
    uint64_t s[4];
} mc_rng_t;

void mc_rng_seed(mc_rng_t *r, uint64_t seed);
uint64_t mc_rng_next(mc_rng_t *r);
/* Uniform in [0, n); n == 0 returns 0. Unbiased (rejection sampling). */
uint64_t mc_rng_below(mc_rng_t *r, uint64_t n);
/* Uniform in [lo, hi] inclusive. */
uint64_t mc_rng_range(mc_rng_t *r, uint64_t lo, uint64_t hi);
/* Uniform double in [0, 1). */
double mc_rng_double(mc_rng_t *r);
/* True with probability p. */
int mc_rng_chance(mc_rng_t *r, double p);
/* splitmix64 step: derive independent sub-seeds from one seed. */
uint64_t mc_rng_mix(uint64_t x);

#endif
