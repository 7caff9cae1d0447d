/* tests/pbt_toy.h: the toy problem of Jaderberg et al. 2017 (sec. 4.1,
 * fig. 2) as a ready-made objective with a copyable state: a test helper
 * for tests/test_pbt.c and tests/test_report_pbt.c, also compiled into the
 * experiments/pbt-toy program (scripts/exp_pbt.sh).  Not part of
 * libtunelab.a.
 */
#ifndef TL_TESTS_PBT_TOY_H
#define TL_TESTS_PBT_TOY_H

#include "hpo/objective.h"
#include "util/err.h"

/* theta in R^2, Q(theta) = 1.2 - (theta0^2 + theta1^2) (maximized), trained
 * by gradient ascent on Qhat(theta | h) = 1.2 - (h0 theta0^2 + h1 theta1^2)
 * with step size `lr`: theta_k += lr * (-2 h_k theta_k).  One budget unit is
 * one step; the value reported after each step is Q.  Its parameters are
 * the space's parameters named "h0" and "h1".  The state is theta and the
 * step count; the objective records theta after each step in a trace. */
typedef struct pbt_toy_point {
    int trial, step;
    double theta0, theta1, q, h0, h1;
} pbt_toy_point;

typedef struct pbt_toy {
    double lr;                /* step size; default 0.01 */
    double theta0[2];         /* start; default (0.9, 0.9) */
    pbt_toy_point *trace;     /* (ntrace) after every step of every member, in order */
    int ntrace, cap;
    void *mu;                 /* guards the trace (workers may share the toy) */
} pbt_toy;

/* Fills *obj with the toy objective over `toy` (which must outlive obj).
 * Sets toy's defaults and an empty trace.  Returns 0 or TL_ERUNTIME. */
int pbt_toy_init(pbt_toy *toy, objective *obj, tl_err *err);

/* Frees the trace; NULL is a no-op. */
void pbt_toy_free(pbt_toy *toy);

/* Q(theta) = 1.2 - (theta0^2 + theta1^2). */
double pbt_toy_q(double theta0, double theta1);

#endif
