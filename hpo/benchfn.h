/* hpo/benchfn.h: standard black-box benchmark functions: what the
 * function objective (`objective.type = function`, hpo/cmd_objective.h)
 * evaluates, and the problems the samplers are tested and benchmarked on.
 *
 * Branin (2-d), Hartmann6, Rosenbrock (4-d) and Ackley (5-d) as defined in
 * /work/shared/benchmarks/functions.md (SFU Virtual Library conventions),
 * all minimized, plus Forrester (1-d) and a 3-d sphere for teaching and
 * quick tests.  Each function takes x in its own domain [low, high] (not
 * the unit cube); `fstar` is the global minimum in full double precision.
 * Pure functions: no state, thread-safe.  Does not sample or optimize.
 */
#ifndef TL_HPO_BENCHFN_H
#define TL_HPO_BENCHFN_H

#define BENCHFN_MAX_DIM 8

typedef struct benchfn {
    const char *name;
    int dim;
    double low[BENCHFN_MAX_DIM], high[BENCHFN_MAX_DIM];
    double fstar;                 /* global minimum value */
    double (*f)(const double *x); /* x: (dim) in [low, high] */
} benchfn;

/* Returns the function named `name` ("branin", "hartmann6", "rosenbrock4",
 * "ackley5", "forrester", "sphere3"), or NULL when there is none.  The
 * result is static and must not be freed.  NULL name gives NULL. */
const benchfn *benchfn_find(const char *name);

/* Returns the static table of every function and stores its length in *n
 * (n may be NULL).  Cannot fail; not to be freed. */
const benchfn *benchfn_all(int *n);

/* Evaluates tf at u in the unit cube [0,1]^dim (mapped linearly onto the
 * domain).  Convenience for benchmarks and tests. */
double benchfn_eval_unit(const benchfn *tf, const double *u);

/* The functions themselves: each returns f(x) for x (dim) in its domain.
 * Pure; cannot fail. */
double benchfn_branin(const double *x);
double benchfn_hartmann6(const double *x);
double benchfn_rosenbrock4(const double *x);
double benchfn_ackley5(const double *x);
double benchfn_forrester(const double *x);
double benchfn_sphere3(const double *x);

#endif
