/* data/synth.c: synthetic classification sets for fast tests and demos:
 * 2-D spirals and Gaussian blobs, drawn only from the caller's rng.
 *
 * Samples are stored class by class (class 0 first); a split or a loader
 * shuffles them.  Coordinates are not clipped to [0, 1]: spirals lie in
 * about [-1, 1]^2 plus noise, blobs around centres in [-1, 1]^dim.
 */
#include "data/dataset.h"
#include "data/data_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define SYNTH_TWO_PI 6.283185307179586

/* Points of class k when n points are split over K classes. */
static long class_size(long n, int K, int k)
{
    return n / K + (k < n % K ? 1 : 0);
}

static int check_sizes(const char *what, long n, int nclass, tl_err *err)
{
    if (nclass < 2)
        return tl_fail(err, TL_EINPUT, "%s: need at least 2 classes, got %d", what, nclass);
    if (n < nclass)
        return tl_fail(err, TL_EINPUT, "%s: need at least one point per class (n = %ld, classes = %d)",
                       what, n, nclass);
    return 0;
}

int data_make_spirals(long n, int nclass, double noise, rng *r, dataset **out, tl_err *err)
{
    *out = NULL;
    int rc = check_sizes("spirals", n, nclass, err);
    if (rc)
        return rc;
    if (!(noise >= 0.0) || !isfinite(noise))
        return tl_fail(err, TL_EINPUT, "spirals: noise must be a finite number >= 0, got %g", noise);
    dataset *d;
    if ((rc = data_new_classif(n, 2, nclass, &d, err)))
        return rc;
    char src[96];
    snprintf(src, sizeof src, "spirals(n=%ld, arms=%d, noise=%g)", n, nclass, noise);
    free(d->source);
    d->source = data__strdup(src);
    long row = 0;
    for (int k = 0; k < nclass; k++) {
        long nk = class_size(n, nclass, k);
        for (long i = 0; i < nk; i++, row++) {
            double rad = nk > 1 ? (double)i / (double)(nk - 1) : 0.0;
            double t = SYNTH_TWO_PI * ((double)k / nclass + rad); /* one turn per arm */
            double px = rad * sin(t), py = rad * cos(t);
            if (noise > 0.0) {
                px += noise * rng_normal(r);
                py += noise * rng_normal(r);
            }
            d->x[2 * row] = (float)px;
            d->x[2 * row + 1] = (float)py;
            d->y[row] = k;
        }
    }
    *out = d;
    return 0;
}

int data_make_blobs(long n, int nclass, int dim, double spread, rng *r, dataset **out, tl_err *err)
{
    *out = NULL;
    int rc = check_sizes("blobs", n, nclass, err);
    if (rc)
        return rc;
    if (dim < 1)
        return tl_fail(err, TL_EINPUT, "blobs: dim must be >= 1, got %d", dim);
    if (!(spread >= 0.0) || !isfinite(spread))
        return tl_fail(err, TL_EINPUT, "blobs: spread must be a finite number >= 0, got %g", spread);
    dataset *d;
    if ((rc = data_new_classif(n, dim, nclass, &d, err)))
        return rc;
    double *centres = malloc((size_t)nclass * (size_t)dim * sizeof *centres);
    if (!centres) {
        data_free(d);
        return tl_fail(err, TL_ERUNTIME, "blobs: out of memory");
    }
    char src[96];
    snprintf(src, sizeof src, "blobs(n=%ld, clusters=%d, dim=%d, spread=%g)", n, nclass, dim, spread);
    free(d->source);
    d->source = data__strdup(src);
    for (long j = 0; j < (long)nclass * dim; j++)
        centres[j] = 2.0 * rng_uniform(r) - 1.0;
    long row = 0;
    for (int k = 0; k < nclass; k++) {
        long nk = class_size(n, nclass, k);
        const double *c = centres + (size_t)k * dim;
        for (long i = 0; i < nk; i++, row++) {
            float *x = d->x + (size_t)row * dim;
            for (int j = 0; j < dim; j++)
                x[j] = (float)(c[j] + spread * rng_normal(r));
            d->y[row] = k;
        }
    }
    free(centres);
    *out = d;
    return 0;
}
