/* util/rng.h: explicit, seeded random number generators.
 *
 * Every random draw in tunelab comes from an `rng` owned by its caller: a
 * study, a trial, a data loader.  There is no global generator.  The
 * generator is xoshiro256** seeded through splitmix64 from a (seed, stream)
 * pair, so the study seed and a trial number (or a worker id) give
 * independent, reproducible streams.  Not for cryptography.
 */
#ifndef TL_RNG_H
#define TL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seeds r from (seed, stream); different streams give independent
 * sequences.  Cannot fail. */
void rng_seed(rng *r, uint64_t seed, uint64_t stream);

/* Next raw 64-bit output. */
uint64_t rng_u64(rng *r);

/* Uniform double in [0, 1), 53 bits. */
double rng_uniform(rng *r);

/* Uniform float in [0, 1), 24 bits. */
float rng_uniformf(rng *r);

/* Standard normal draw (Box-Muller; consumes two uniforms, no cache). */
double rng_normal(rng *r);

/* Uniform integer in [0, n) without modulo bias; n must be > 0. */
uint64_t rng_below(rng *r, uint64_t n);

/* Fisher-Yates shuffle of a[0..n). */
void rng_shuffle_int(rng *r, int *a, size_t n);

/* A child generator: a new stream derived from r's next output and `stream`.
 * Advances r by one draw. */
void rng_split(rng *r, uint64_t stream, rng *child);

#endif
