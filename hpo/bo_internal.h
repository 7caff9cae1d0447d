/* hpo/bo_internal.h: what hpo/bo.c (suggestions) and hpo/bo_model.c (the
 * model read back) and hpo/bo_local.c (the acquisition's local
 * optimization) share, so all see one encoding, one fit schedule and one
 * variance floor.  Not a public interface: only these files include it. */
#ifndef TL_HPO_BO_INTERNAL_H
#define TL_HPO_BO_INTERNAL_H

#include "hpo/bo.h"

#define BO_VAR_FLOOR 1e-18 /* predicted variance floor of the acquisitions */

/* Raw candidates per suggestion: R Sobol points plus R/8 perturbations. */
static inline int bo_nraw_total(const bo *b) { return b->cfg.raw_samples + b->cfg.raw_samples / 8; }

/* u (d) -> z (D): floats and ints as they are (NAN, inactive: 0.5),
 * categoricals one-hot (inactive: all zero).  Cannot fail. */
void bo_encode(const bo *b, const double *u, double *z);

/* Grows b's history buffers (and the GP's) to n rows.  Returns 0 or
 * TL_ERUNTIME. */
int bo_grow(bo *b, int n, tl_err *err);

/* The hyperparameter fit for nc observations from warm (NULL: cold), by
 * the schedule in hpo/bo.c's file comment.  Fills o; returns 1 to refit,
 * 0 to keep warm as it is (only update the factorization). */
int bo_fit_plan(const bo *b, int nc, const double *warm, gp_fit_opts *o);

/* Clamps u (d) to the unit cube and snaps it (the callback, or the
 * default bins).  Cannot fail. */
void bo_snap(const bo *b, double *u);

/* L-BFGS from the best n_starts raw candidates (b->raw in b->order) over
 * the free coordinates, best = the incumbent (standardized); the snapped
 * optima and their acquisitions go to b->cand, b->cacq in start order
 * (hpo/bo_local.c).  Returns how many, or -1 (err filled). */
int bo_local_opt(bo *b, double best, tl_err *err);

#endif
