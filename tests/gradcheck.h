/* tests/gradcheck.h: finite-difference gradient checking through the
 * nn_model interface, shared by the model tests (test_mlp.c, test_gpt.c):
 * a training-mode loss under a fixed dropout mask, a central-difference
 * check of every parameter tensor with an optional per-model hook that
 * skips perturbations (for ReLU kinks), and plain SGD steps.
 * Header-only (static inline), test code only; not part of the library.
 * It logs failures with cr_log_error and returns 0/1: the caller asserts. */
#ifndef TL_TESTS_GRADCHECK_H
#define TL_TESTS_GRADCHECK_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "util/rng.h"

/* Loss of a training forward whose dropout mask comes from a copy of *r0
 * (the same mask at every call). */
static inline double gc_loss_at(nn_model *m, const nn_batch *b, const rng *r0)
{
    rng r = *r0;
    return m->vt->forward(m, b, 1, &r, NULL);
}

/* Optional hook of gc_check, called right after each forward: with
 * base = 1 after the unperturbed one (record a reference; the return is
 * ignored), with base = 0 after each perturbed one (return nonzero where
 * the model's state differs from the reference). */
typedef int (*gc_probe_fn)(void *ctx, const nn_model *m, int base);

/* Checks every tensor of m (up to max_checks evenly spaced entries each)
 * against central differences of gc_loss_at.  With a probe, an entry whose
 * +eps or -eps forward makes the probe answer nonzero is skipped and
 * counted in *skipped (may be NULL without a probe).  Every tensor but
 * the one named no_grad_ok (may be NULL) must carry a gradient above
 * 10 * atol somewhere, or the check says nothing.  Returns 1 when all
 * pass, 0 after logging the first failure; allocates and frees its own. */
static inline int gc_check(nn_model *m, const nn_batch *b, const rng *r0, float eps, double atol,
                           double rtol, size_t max_checks, gc_probe_fn probe, void *ctx,
                           int *skipped, const char *no_grad_ok)
{
    nn_zero_grad(m);
    gc_loss_at(m, b, r0);
    if (probe)
        probe(ctx, m, 1);
    m->vt->backward(m, b, 1.0f);
    float *g = malloc(m->nparams * sizeof(float));
    memcpy(g, m->grads, m->nparams * sizeof(float));
    int ok = 1;
    if (skipped)
        *skipped = 0;
    for (int t = 0; t < m->ntensors && ok; t++) {
        const nn_tensor *tn = &m->tensors[t];
        size_t step = tn->size > max_checks ? tn->size / max_checks : 1;
        double gmax = 0.0;
        for (size_t i = 0; i < tn->size; i += step) {
            float *x = m->params + tn->offset + i, orig = *x;
            float xp = orig + eps, xm = orig - eps;
            int crossed = 0;
            *x = xp;
            double lp = gc_loss_at(m, b, r0);
            if (probe)
                crossed |= probe(ctx, m, 0) != 0;
            *x = xm;
            double lm = gc_loss_at(m, b, r0);
            if (probe)
                crossed |= probe(ctx, m, 0) != 0;
            *x = orig;
            if (crossed) {
                (*skipped)++;
                continue;
            }
            double num = (lp - lm) / ((double)xp - (double)xm), ana = g[tn->offset + i];
            gmax = fabs(ana) > gmax ? fabs(ana) : gmax;
            if (!(fabs(num - ana) <= atol + rtol * fabs(ana))) {
                cr_log_error("%s[%zu]: first failure: analytic %.8g, numeric %.8g", tn->name, i,
                             ana, num);
                ok = 0;
                break;
            }
        }
        if (ok && gmax < 10 * atol && !(no_grad_ok && strcmp(tn->name, no_grad_ok) == 0)) {
            cr_log_error("%s: largest gradient checked is %g: the check says nothing", tn->name,
                         gmax);
            ok = 0;
        }
    }
    free(g);
    return ok;
}

/* Plain SGD: p -= lr * g. */
static inline void gc_sgd(nn_model *m, float lr)
{
    for (size_t i = 0; i < m->nparams; i++)
        m->params[i] -= lr * m->grads[i];
}

/* One training step: zeroes the gradients, runs a training forward (dropout
 * from r, may be NULL) and backward on b, then gc_sgd.  Returns the loss
 * of that forward. */
static inline double gc_sgd_step(nn_model *m, const nn_batch *b, rng *r, float lr)
{
    nn_zero_grad(m);
    double loss = m->vt->forward(m, b, 1, r, NULL);
    m->vt->backward(m, b, 1.0f);
    gc_sgd(m, lr);
    return loss;
}

/* Runs 0 and 1 used the same seed, run 2 another: asserts that 0 and 1 gave
 * the same parameters (n floats each) and losses (nloss floats each), bit
 * for bit, and that run 2 differs in both; frees params[0..2]. */
static inline void gc_assert_seeded_runs(float *params[3], size_t n, const float *losses, size_t nloss)
{
    cr_assert(memcmp(params[0], params[1], n * sizeof(float)) == 0, "same seed, same parameters");
    cr_assert(memcmp(params[0], params[2], n * sizeof(float)) != 0, "another seed, other parameters");
    cr_assert(memcmp(losses, losses + nloss, nloss * sizeof(float)) == 0, "same seed, same losses");
    cr_assert(memcmp(losses, losses + 2 * nloss, nloss * sizeof(float)) != 0, "another seed, other losses");
    for (int i = 0; i < 3; i++)
        free(params[i]);
}

#endif
