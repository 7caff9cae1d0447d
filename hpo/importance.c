/* hpo/importance.c: fANOVA over a random forest (hpo/importance.h).
 *
 * Per tree: every node's box (the bounds narrowed by its ancestors'
 * splits, top-down since children follow parents), each leaf's volume
 * fraction, the tree's variance, then per parameter the marginal over its
 * cells: for each cell (a mixed-radix counter over the parameter's
 * columns) a walk from the root that follows the cell's side at splits on
 * the parameter's columns and both sides elsewhere; a reached leaf weighs
 * its volume divided by its width along the parameter's columns.  Cost per
 * tree: cells x leaves reached, small for studies of up to a few thousand
 * trials.  Does not: cache subtree averages (Optuna's speed-up), which
 * gives the same numbers.
 */
#include "hpo/importance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void importance_opts_default(importance_opts *o)
{
    o->nseeds = 5;
    o->seed = 0;
    forest_opts_default(&o->forest);
}

/* One tree's geometry and the scratch its marginals use. */
typedef struct tree_geo {
    const forest_tree *t;
    int D;
    const double *lo, *hi;  /* (D) bounds */
    double *blo, *bhi;      /* (nnodes, D) node boxes */
    double *vf;             /* (nnodes) leaf volume fraction (leaves only) */
    int *stack;             /* (nnodes) */
    double *cuts;           /* (nnodes + 2) per column: sorted split values with the bounds */
    int *ncut;              /* (D) */
    double *cutbuf;         /* (D, nnodes + 2) */
} tree_geo;

static double frac(double a, double b, double lo, double hi)
{
    return hi > lo ? (b - a) / (hi - lo) : 1.0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Boxes, volumes and sorted split values of g->t; returns the tree's
 * variance (leaf values weighted by volume). */
static double tree_prepare(tree_geo *g)
{
    const forest_node *nd = g->t->nodes;
    int nn = g->t->nnodes, D = g->D;
    memcpy(g->blo, g->lo, sizeof *g->lo * D);
    memcpy(g->bhi, g->hi, sizeof *g->hi * D);
    for (int c = 0; c < D; c++) {
        g->ncut[c] = 1;
        g->cutbuf[(size_t)c * (nn + 2)] = g->lo[c];
    }
    for (int k = 0; k < nn; k++) {
        if (nd[k].feature < 0)
            continue;
        int f = nd[k].feature;
        double th = nd[k].threshold;
        for (int s = 0; s < 2; s++) {
            int ch = s ? nd[k].right : nd[k].left;
            memcpy(g->blo + (size_t)ch * D, g->blo + (size_t)k * D, sizeof *g->blo * D);
            memcpy(g->bhi + (size_t)ch * D, g->bhi + (size_t)k * D, sizeof *g->bhi * D);
            if (s)
                g->blo[(size_t)ch * D + f] = th;
            else
                g->bhi[(size_t)ch * D + f] = th;
        }
        g->cutbuf[(size_t)f * (nn + 2) + g->ncut[f]++] = th;
    }
    for (int c = 0; c < D; c++) {
        double *cb = g->cutbuf + (size_t)c * (nn + 2);
        cb[g->ncut[c]++] = g->hi[c];
        qsort(cb + 1, (size_t)g->ncut[c] - 2, sizeof *cb, cmp_d);
        int m = 1; /* drop repeated split values */
        for (int q = 1; q < g->ncut[c]; q++)
            if (cb[q] > cb[m - 1])
                cb[m++] = cb[q];
        g->ncut[c] = m;
    }
    double mean = 0.0, var = 0.0;
    for (int k = 0; k < nn; k++) {
        if (nd[k].feature >= 0)
            continue;
        double v = 1.0;
        for (int c = 0; c < D; c++)
            v *= frac(g->blo[(size_t)k * D + c], g->bhi[(size_t)k * D + c], g->lo[c], g->hi[c]);
        g->vf[k] = v;
        mean += v * nd[k].value;
    }
    for (int k = 0; k < nn; k++)
        if (nd[k].feature < 0)
            var += g->vf[k] * (nd[k].value - mean) * (nd[k].value - mean);
    return var;
}

/* The tree's mean over the other columns with columns cols (nc) at x. */
static double marginal_at(tree_geo *g, const int *cols, int nc, const double *x, const int *colpos)
{
    const forest_node *nd = g->t->nodes;
    int sp = 0, D = g->D;
    double sw = 0.0, swv = 0.0;
    g->stack[sp++] = 0;
    while (sp > 0) {
        int k = g->stack[--sp];
        int f = nd[k].feature;
        if (f >= 0) {
            if (colpos[f] >= 0) {
                g->stack[sp++] = x[colpos[f]] <= nd[k].threshold ? nd[k].left : nd[k].right;
            } else {
                g->stack[sp++] = nd[k].left;
                g->stack[sp++] = nd[k].right;
            }
            continue;
        }
        double w = g->vf[k];
        for (int q = 0; q < nc; q++) {
            int c = cols[q];
            w /= frac(g->blo[(size_t)k * D + c], g->bhi[(size_t)k * D + c], g->lo[c], g->hi[c]);
        }
        sw += w;
        swv += w * nd[k].value;
    }
    return sw > 0.0 ? swv / sw : 0.0;
}

/* Variance of the tree's marginal over the columns cols (nc); colpos (D):
 * position of a column in cols or -1.  Returns -1 when the cells exceed
 * IMPORTANCE_MAX_CELLS. */
static double marginal_variance(tree_geo *g, const int *cols, int nc, const int *colpos)
{
    int nn = g->t->nnodes;
    long ncells = 1;
    for (int q = 0; q < nc; q++) {
        ncells *= g->ncut[cols[q]] - 1;
        if (ncells > IMPORTANCE_MAX_CELLS)
            return -1.0;
    }
    int idx[nc > 0 ? nc : 1];
    double x[nc > 0 ? nc : 1];
    memset(idx, 0, sizeof idx);
    double sw = 0.0, swm = 0.0, swm2 = 0.0, shift = g->t->nodes[0].value; /* less cancellation */
    for (long cell = 0; cell < ncells; cell++) {
        double w = 1.0;
        for (int q = 0; q < nc; q++) {
            const double *cb = g->cutbuf + (size_t)cols[q] * (nn + 2);
            x[q] = 0.5 * (cb[idx[q]] + cb[idx[q] + 1]);
            w *= frac(cb[idx[q]], cb[idx[q] + 1], g->lo[cols[q]], g->hi[cols[q]]);
        }
        double m = marginal_at(g, cols, nc, x, colpos) - shift;
        sw += w;
        swm += w * m;
        swm2 += w * m * m;
        for (int q = 0; q < nc; q++) { /* next cell */
            if (++idx[q] < g->ncut[cols[q]] - 1)
                break;
            idx[q] = 0;
        }
    }
    double mean = swm / sw, v = swm2 / sw - mean * mean;
    return v > 0.0 ? v : 0.0;
}

/* Importances of one forest (d), normalized; returns 1 when every tree had
 * zero variance, 0, or -1 for too many cells. */
static int forest_importance(const forest *f, tree_geo *g, const int *group, int d, double *imp)
{
    int D = g->D, cols[D], colpos[D], nvar = 0;
    memset(imp, 0, sizeof *imp * d);
    for (int t = 0; t < f->ntrees; t++) {
        g->t = &f->trees[t];
        double V = tree_prepare(g);
        if (!(V > 0.0))
            continue;
        nvar++;
        for (int p = 0; p < d; p++) {
            int nc = 0;
            for (int c = 0; c < D; c++) {
                colpos[c] = group[c] == p ? nc : -1;
                if (group[c] == p)
                    cols[nc++] = c;
            }
            double vp = marginal_variance(g, cols, nc, colpos);
            if (vp < 0.0)
                return -1;
            imp[p] += vp / V;
        }
    }
    if (nvar == 0)
        return 1;
    double s = 0.0;
    for (int p = 0; p < d; p++)
        s += imp[p] / nvar;
    for (int p = 0; p < d; p++)
        imp[p] = s > 0.0 ? imp[p] / nvar / s : 0.0;
    return 0;
}

int importance_fanova(const double *X, const double *y, int n, int D, const double *lo,
                      const double *hi, const int *group, int d, const importance_opts *o,
                      double *mean, double *sd, double *min, double *max, int *zero_variance,
                      tl_err *err)
{
    importance_opts def;
    if (!o) {
        importance_opts_default(&def);
        o = &def;
    }
    if (n < 2)
        return tl_fail(err, TL_EINPUT, "importance: needs at least two trials (has %d)", n);
    if (D < 1 || d < 1 || d > D || o->nseeds < 1)
        return tl_fail(err, TL_EINPUT, "importance: bad shapes (D %d, d %d, seeds %d)", D, d,
                       o->nseeds);
    for (int c = 0; c < D; c++)
        if (group[c] < 0 || group[c] >= d || !(lo[c] <= hi[c]) || !isfinite(hi[c] - lo[c]))
            return tl_fail(err, TL_EINPUT, "importance: column %d: bad group or bounds", c);
    int rc = 0;
    tree_geo g = {NULL, D, lo, hi};
    size_t nodes = 2 * (size_t)n + 2; /* a tree on n rows has at most 2n - 1 nodes */
    g.blo = malloc(sizeof(double) * nodes * D);
    g.bhi = malloc(sizeof(double) * nodes * D);
    g.vf = malloc(sizeof(double) * nodes);
    g.stack = malloc(sizeof(int) * nodes);
    g.ncut = malloc(sizeof(int) * D);
    g.cutbuf = malloc(sizeof(double) * (nodes + 2) * D);
    double *imp = malloc(sizeof(double) * (size_t)d * o->nseeds);
    if (!g.blo || !g.bhi || !g.vf || !g.stack || !g.ncut || !g.cutbuf || !imp) {
        rc = tl_fail(err, TL_ERUNTIME, "importance: out of memory");
        goto out;
    }
    *zero_variance = 0;
    for (int s = 0; s < o->nseeds; s++) {
        rng r;
        rng_seed(&r, o->seed, (uint64_t)s);
        forest f;
        if ((rc = forest_fit(&f, X, y, n, D, &o->forest, &r, err))) {
            forest_free(&f);
            goto out;
        }
        int z = forest_importance(&f, &g, group, d, imp + (size_t)s * d);
        forest_free(&f);
        if (z < 0) {
            rc = tl_fail(err, TL_EINPUT, "importance: a parameter has more than %d marginal cells",
                         IMPORTANCE_MAX_CELLS);
            goto out;
        }
        *zero_variance |= z;
    }
    for (int p = 0; p < d; p++) {
        double s1 = 0.0, s2 = 0.0;
        min[p] = HUGE_VAL;
        max[p] = -HUGE_VAL;
        for (int s = 0; s < o->nseeds; s++) {
            double v = imp[(size_t)s * d + p];
            s1 += v;
            min[p] = v < min[p] ? v : min[p];
            max[p] = v > max[p] ? v : max[p];
        }
        mean[p] = s1 / o->nseeds;
        for (int s = 0; s < o->nseeds; s++)
            s2 += (imp[(size_t)s * d + p] - mean[p]) * (imp[(size_t)s * d + p] - mean[p]);
        sd[p] = sqrt(s2 / o->nseeds);
    }
out:
    free(g.blo); free(g.bhi); free(g.vf); free(g.stack); free(g.ncut); free(g.cutbuf); free(imp);
    return rc;
}

/* Columns of sp: one per float/int, ncat per categorical. */
static int ncolumns(const space *sp)
{
    int D = 0;
    for (int i = 0; i < sp->n; i++)
        D += sp->p[i].kind == PARAM_CAT ? sp->p[i].ncat : 1;
    return D;
}

int importance_trials(const space *sp, const trial *const *t, int n, const importance_opts *o,
                      importance_result *res, tl_err *err)
{
    memset(res, 0, sizeof *res);
    int d = sp->n, D = ncolumns(sp), m = 0;
    res->d = d;
    res->nseeds = o ? o->nseeds : 5;
    if (d < 1)
        return tl_fail(err, TL_EINPUT, "importance: the space has no parameters");
    double *X = malloc(sizeof *X * (size_t)(n > 0 ? n : 1) * D);
    double *y = malloc(sizeof *y * (size_t)(n > 0 ? n : 1));
    double *lo = malloc(sizeof *lo * D), *hi = malloc(sizeof *hi * D);
    int *group = malloc(sizeof *group * D);
    int rc = 0;
    if (!X || !y || !lo || !hi || !group) {
        rc = tl_fail(err, TL_ERUNTIME, "importance: out of memory");
        goto out;
    }
    for (int i = 0, c = 0; i < d; i++)
        for (int k = 0; k < (sp->p[i].kind == PARAM_CAT ? sp->p[i].ncat : 1); k++, c++) {
            group[c] = i;
            lo[c] = 0.0;
            hi[c] = 1.0;
        }
    for (int k = 0; k < n; k++) {
        const trial *tk = t[k];
        int ok = tk->state == TRIAL_COMPLETE && isfinite(tk->value) && tk->nparams == d;
        for (int i = 0; ok && i < d; i++)
            ok = !isnan(tk->values[i]);
        if (!ok)
            continue;
        double *x = X + (size_t)m * D;
        for (int i = 0, c = 0; i < d; i++) {
            if (sp->p[i].kind == PARAM_CAT) {
                for (int q = 0; q < sp->p[i].ncat; q++)
                    x[c++] = q == (int)tk->values[i] ? 1.0 : 0.0;
            } else {
                x[c++] = space_to_unit(sp, i, tk->values[i]);
            }
        }
        y[m++] = tk->value;
    }
    res->ntrials = m;
    if (m < 2) {
        rc = tl_fail(err, TL_EINPUT,
                     "needs at least two complete trials with every parameter active (has %d)", m);
        goto out;
    }
    rc = importance_fanova(X, y, m, D, lo, hi, group, d, o, res->mean, res->sd, res->min, res->max,
                           &res->zero_variance, err);
out:
    free(X); free(y); free(lo); free(hi); free(group);
    return rc;
}
