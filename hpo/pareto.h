/* hpo/pareto.h: non-dominated sorting over k objectives (Pareto fronts).
 * Shapes: n points, k objectives; f is row-major (n, k).
 *
 * Every objective is MINIMIZED: negate a maximized one before calling.
 * Point a dominates b when a is no worse than b in every objective and
 * strictly better in at least one; equal points do not dominate each
 * other (both stay on the same front).  Front 0 holds the points no other
 * point dominates; front r the points dominated only by points of fronts
 * < r (Deb et al. 2002, "fast non-dominated sorting", in O(k n^2) time and
 * O(n) memory).  A point with a NaN objective is on no front (rank -1).
 *
 * Does not: know trials or studies (callers build f), compute crowding
 * distances or hypervolumes, print.
 */
#ifndef TL_HPO_PARETO_H
#define TL_HPO_PARETO_H

#include "util/err.h"

/* 1 when a dominates b (k objectives, minimized; NaNs never dominate nor
 * are dominated), else 0.  Cannot fail. */
int pareto_dominates(const double *a, const double *b, int k);

/* Ranks the n points of f (n, k) into fronts: rank[i] (room for n) gets
 * point i's front (0 = non-dominated) or -1 when it has a NaN objective;
 * *nfronts (may be NULL) the number of fronts.  Returns 0, TL_EINPUT for
 * n < 0 or k < 1, TL_ERUNTIME when out of memory (rank then untouched). */
int pareto_sort(const double *f, int n, int k, int *rank, int *nfronts, tl_err *err);

/* The indices of front 0 of f (n, k), sorted by the first objective
 * (ties: the next objectives, then the index), written to idx (room for n);
 * *count gets how many.  Returns 0 or pareto_sort's codes. */
int pareto_front(const double *f, int n, int k, int *idx, int *count, tl_err *err);

#endif
