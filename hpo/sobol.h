/* hpo/sobol.h: Sobol low-discrepancy sequence, optionally scrambled.
 *
 * Direction numbers are Joe & Kuo's new-joe-kuo-6.21201 set for the first
 * SOBOL_MAX_DIM dimensions; points are produced in Gray-code order with 32
 * bits of resolution (so the first 2^k points of every axis form a (t,k,s)
 * net).  Scrambling (when an rng is given) is Owen-style linear matrix
 * scrambling (a random lower-triangular binary matrix per dimension applied
 * to the direction numbers) followed by a random digital shift, as in
 * scipy.stats.qmc.Sobol(scramble=True); it keeps the net property and makes
 * the point 0 random.  Points lie in [0, 1).  After 2^32 points the
 * sequence repeats.  Does not know about search spaces.
 */
#ifndef TL_HPO_SOBOL_H
#define TL_HPO_SOBOL_H

#include <stdint.h>

#include "util/err.h"
#include "util/rng.h"

#define SOBOL_MAX_DIM 256
#define SOBOL_BITS 32

typedef struct sobol {
    int dim;
    uint64_t index;   /* number of points drawn so far */
    uint32_t *v;      /* (dim, SOBOL_BITS) direction numbers, scrambled if asked */
    uint32_t *state;  /* (dim) current point as 32-bit integers (before shift) */
    uint32_t *shift;  /* (dim) digital shift, zeros when unscrambled */
} sobol;

/* Prepares s for `dim` dimensions (1..SOBOL_MAX_DIM).  When `scramble` is
 * not NULL, draws the scrambling matrices and shift from it (advancing it);
 * NULL gives the plain sequence starting at the origin.  Returns 0, or
 * TL_EINPUT for a bad dim, TL_ERUNTIME when out of memory (s is then left
 * freeable).  s owns its buffers: release them with sobol_free. */
int sobol_init(sobol *s, int dim, rng *scramble, tl_err *err);

/* Writes the next point, x: (dim) in [0,1).  Cannot fail. */
void sobol_next(sobol *s, double *x);

/* Skips n points (the next sobol_next gives point index+n).  Cannot fail. */
void sobol_skip(sobol *s, long n);

/* Releases s's buffers; NULL s (or an s zeroed or already freed) is a no-op. */
void sobol_free(sobol *s);

#endif
