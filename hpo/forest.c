/* hpo/forest.c: the random-forest regressor of hpo/forest.h.
 *
 * One tree at a time: a bootstrap sample becomes distinct rows with
 * weights, and nodes are grown from an explicit stack of row ranges that
 * are partitioned in place.  The split search sorts the node's rows by each
 * feature (n log n per feature and node: the studies this serves have
 * thousands of trials at most).  Does not: grow trees in parallel or keep
 * the samples' leaf assignments.
 */
#include "hpo/forest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_EPS 1e-7 /* values closer than this are not split apart (as scikit-learn) */

void forest_opts_default(forest_opts *o)
{
    o->ntrees = 64;
    o->max_depth = 64;
    o->min_samples_split = 2;
    o->min_samples_leaf = 1;
}

typedef struct pair {
    double x;
    int row;
} pair;

static int by_x(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : p->row - q->row;
}

/* What one tree's growth needs. */
typedef struct grower {
    const double *X, *y;
    int D;
    const forest_opts *o;
    rng *r;
    int *rows;        /* (n) distinct bootstrap rows; node ranges partition it */
    double *w;        /* (n) weight of each row of X (bootstrap count) */
    pair *buf;        /* (n) sort buffer */
    int *feat;        /* (D) feature order */
    forest_tree *t;
    int cap;          /* nodes allocated in t */
} grower;

typedef struct split {
    int feature;
    double threshold;
} split;

/* Best split of rows[lo, hi) (see forest.h); feature -1 when none. */
static split best_split(grower *g, int lo, int hi)
{
    split best = {-1, 0.0};
    int m = hi - lo, minleaf = g->o->min_samples_leaf;
    double W = 0.0, S = 0.0, bestp = -HUGE_VAL;
    for (int k = lo; k < hi; k++) {
        W += g->w[g->rows[k]];
        S += g->w[g->rows[k]] * g->y[g->rows[k]];
    }
    for (int j = 0; j < g->D; j++)
        g->feat[j] = j;
    rng_shuffle_int(g->r, g->feat, (size_t)g->D);
    for (int q = 0; q < g->D; q++) {
        int f = g->feat[q];
        for (int k = 0; k < m; k++) {
            g->buf[k].row = g->rows[lo + k];
            g->buf[k].x = g->X[(size_t)g->buf[k].row * g->D + f];
        }
        qsort(g->buf, (size_t)m, sizeof *g->buf, by_x);
        if (g->buf[m - 1].x <= g->buf[0].x + FEATURE_EPS)
            continue; /* constant here */
        double wl = 0.0, sl = 0.0;
        for (int p = 1; p < m; p++) {
            int row = g->buf[p - 1].row;
            wl += g->w[row];
            sl += g->w[row] * g->y[row];
            if (g->buf[p].x <= g->buf[p - 1].x + FEATURE_EPS || p < minleaf || m - p < minleaf)
                continue;
            double wr = W - wl, sr = S - sl;
            double proxy = sl * sl / wl + sr * sr / wr;
            if (proxy > bestp) {
                bestp = proxy;
                best.feature = f;
                best.threshold = 0.5 * (g->buf[p - 1].x + g->buf[p].x);
                if (best.threshold >= g->buf[p].x) /* rounding: keep the left value left */
                    best.threshold = g->buf[p - 1].x;
            }
        }
    }
    return best;
}

/* Weighted mean of rows[lo, hi) and whether their values are all equal. */
static double node_mean(const grower *g, int lo, int hi, int *constant)
{
    double W = 0.0, S = 0.0, y0 = g->y[g->rows[lo]];
    *constant = 1;
    for (int k = lo; k < hi; k++) {
        double yi = g->y[g->rows[k]];
        W += g->w[g->rows[k]];
        S += g->w[g->rows[k]] * yi;
        *constant &= yi == y0;
    }
    return S / W;
}

/* Appends a node; returns its index or -1 (memory). */
static int add_node(grower *g, double value)
{
    if (g->t->nnodes == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        forest_node *nn = realloc(g->t->nodes, sizeof *nn * (size_t)cap);
        if (!nn)
            return -1;
        g->t->nodes = nn;
        g->cap = cap;
    }
    forest_node *nd = &g->t->nodes[g->t->nnodes];
    nd->feature = -1;
    nd->threshold = 0.0;
    nd->left = nd->right = -1;
    nd->value = value;
    return g->t->nnodes++;
}

typedef struct frame {
    int node, lo, hi, depth;
} frame;

/* Grows g->t from rows[0, m).  Returns 0 or -1 (memory). */
static int grow_tree(grower *g, int m)
{
    frame *stack = malloc(sizeof *stack * (size_t)(2 * m + 2));
    if (!stack)
        return -1;
    int sp = 0, constant;
    int root = add_node(g, node_mean(g, 0, m, &constant));
    if (root < 0) {
        free(stack);
        return -1;
    }
    stack[sp++] = (frame){root, 0, m, 0};
    while (sp > 0) {
        frame fr = stack[--sp];
        int n = fr.hi - fr.lo;
        node_mean(g, fr.lo, fr.hi, &constant);
        if (constant || fr.depth >= g->o->max_depth || n < g->o->min_samples_split ||
            n < 2 * g->o->min_samples_leaf)
            continue;
        split s = best_split(g, fr.lo, fr.hi);
        if (s.feature < 0)
            continue;
        int mid = fr.lo; /* partition: x <= threshold first */
        for (int k = fr.lo; k < fr.hi; k++)
            if (g->X[(size_t)g->rows[k] * g->D + s.feature] <= s.threshold) {
                int tmp = g->rows[k];
                g->rows[k] = g->rows[mid];
                g->rows[mid++] = tmp;
            }
        int l = add_node(g, node_mean(g, fr.lo, mid, &constant));
        int r = l < 0 ? -1 : add_node(g, node_mean(g, mid, fr.hi, &constant));
        if (r < 0) {
            free(stack);
            return -1;
        }
        forest_node *nd = &g->t->nodes[fr.node];
        nd->feature = s.feature;
        nd->threshold = s.threshold;
        nd->left = l;
        nd->right = r;
        stack[sp++] = (frame){r, mid, fr.hi, fr.depth + 1};
        stack[sp++] = (frame){l, fr.lo, mid, fr.depth + 1};
    }
    free(stack);
    return 0;
}

int forest_fit(forest *f, const double *X, const double *y, int n, int D, const forest_opts *o,
               rng *r, tl_err *err)
{
    memset(f, 0, sizeof *f);
    forest_opts def;
    if (!o) {
        forest_opts_default(&def);
        o = &def;
    }
    if (n < 1 || D < 1 || !X || !y || !r)
        return tl_fail(err, TL_EINPUT, "forest: needs at least one sample and one feature");
    if (o->ntrees < 1 || o->max_depth < 1 || o->min_samples_split < 2 || o->min_samples_leaf < 1)
        return tl_fail(err, TL_EINPUT, "forest: ntrees, max_depth, min_samples_leaf must be >= 1 "
                                       "and min_samples_split >= 2");
    for (size_t i = 0; i < (size_t)n * D; i++)
        if (!isfinite(X[i]))
            return tl_fail(err, TL_EINPUT, "forest: input row %zu is not finite", i / D);
    for (int i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return tl_fail(err, TL_EINPUT, "forest: target %d is not finite", i);
    grower g = {X, y, D, o, r, malloc(sizeof(int) * n), malloc(sizeof(double) * n),
                malloc(sizeof(pair) * n), malloc(sizeof(int) * D), NULL, 0};
    f->trees = calloc((size_t)o->ntrees, sizeof *f->trees);
    int rc = 0;
    if (!g.rows || !g.w || !g.buf || !g.feat || !f->trees) {
        rc = tl_fail(err, TL_ERUNTIME, "forest: out of memory");
        goto out;
    }
    f->D = D;
    for (int t = 0; t < o->ntrees; t++) {
        memset(g.w, 0, sizeof *g.w * n);
        for (int i = 0; i < n; i++)
            g.w[rng_below(r, (uint64_t)n)] += 1.0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (g.w[i] > 0.0)
                g.rows[m++] = i;
        g.t = &f->trees[t];
        g.cap = 0;
        f->ntrees = t + 1;
        if (grow_tree(&g, m)) {
            rc = tl_fail(err, TL_ERUNTIME, "forest: out of memory");
            goto out;
        }
    }
out:
    free(g.rows);
    free(g.w);
    free(g.buf);
    free(g.feat);
    return rc;
}

double forest_predict(const forest *f, const double *x)
{
    double s = 0.0;
    for (int t = 0; t < f->ntrees; t++) {
        const forest_node *nd = f->trees[t].nodes;
        int k = 0;
        while (nd[k].feature >= 0)
            k = x[nd[k].feature] <= nd[k].threshold ? nd[k].left : nd[k].right;
        s += nd[k].value;
    }
    return f->ntrees > 0 ? s / f->ntrees : NAN;
}

void forest_free(forest *f)
{
    if (!f)
        return;
    for (int t = 0; t < f->ntrees; t++)
        free(f->trees[t].nodes);
    free(f->trees);
    memset(f, 0, sizeof *f);
}
