/* hpo/forest.h: a small random-forest regressor, the model fANOVA
 * (hpo/importance.h) decomposes.
 * Shapes: n samples, D features, T trees.
 *
 * As scikit-learn's RandomForestRegressor with Optuna's fANOVA settings
 * (max_features = 1.0, bootstrap = True): each tree is fitted on a
 * bootstrap sample (n draws with replacement; a sample drawn k times
 * weighs k), grown by CART: at each node every feature is tried in a
 * random order, the split maximizing the weighted variance reduction is
 * kept (ties: the first one tried), its threshold is the midpoint between
 * two consecutive distinct values; a node becomes a leaf at max_depth,
 * below min_samples_split distinct samples, when no split leaves
 * min_samples_leaf on each side, or when its values are all equal.  A
 * leaf predicts the weighted mean of its samples.  Every random draw comes
 * from the rng passed in.  Does not: do classification, sample features
 * (max_features < 1), or compute out-of-bag scores.
 */
#ifndef TL_HPO_FOREST_H
#define TL_HPO_FOREST_H

#include "util/err.h"
#include "util/rng.h"

typedef struct forest_node {
    int feature;       /* split feature, -1 for a leaf */
    double threshold;  /* x[feature] <= threshold goes left */
    int left, right;   /* children (node indices), -1 for a leaf */
    double value;      /* weighted mean of the node's samples */
} forest_node;

typedef struct forest_tree {
    int nnodes;
    forest_node *nodes; /* (nnodes) node 0 is the root; children after parents */
} forest_tree;

typedef struct forest_opts {
    int ntrees;            /* default 64 */
    int max_depth;         /* default 64 */
    int min_samples_split; /* default 2 */
    int min_samples_leaf;  /* default 1 */
} forest_opts;

typedef struct forest {
    int D;
    int ntrees;
    forest_tree *trees;    /* (ntrees) */
} forest;

/* Fills o with the defaults above (Optuna's FanovaImportanceEvaluator).
 * Cannot fail. */
void forest_opts_default(forest_opts *o);

/* Fits f to X (n, D, row-major) and y (n, all finite) with o (NULL: the
 * defaults), drawing from r.  Returns 0, TL_EINPUT for n < 1, D < 1, a
 * non-finite input or a bad option, TL_ERUNTIME for memory.  f owns its
 * trees: release with forest_free (also after a failure). */
int forest_fit(forest *f, const double *X, const double *y, int n, int D, const forest_opts *o,
               rng *r, tl_err *err);

/* The forest's prediction at x (D): the mean of its trees' leaves.
 * Cannot fail. */
double forest_predict(const forest *f, const double *x);

/* Releases f's trees; NULL or an already freed f is a no-op. */
void forest_free(forest *f);

#endif
