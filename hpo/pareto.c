/* hpo/pareto.c: non-dominated sorting (see pareto.h).
 *
 * Does: count, for every point, how many points dominate it (O(k n^2)),
 * then peel fronts: the points with count 0 form the current front; each
 * of them decrements the counts of the points it dominates.  Every point
 * is peeled once, so the total stays O(k n^2), and only the counts and the
 * two front lists are kept (O(n) memory, allocated once).  Does not
 * sort within fronts except in pareto_front.
 */
#include "hpo/pareto.h"

#include <math.h>
#include <stdlib.h>

int pareto_dominates(const double *a, const double *b, int k)
{
    int better = 0;
    for (int j = 0; j < k; j++) {
        if (isnan(a[j]) || isnan(b[j]) || a[j] > b[j])
            return 0;
        better |= a[j] < b[j];
    }
    return better;
}

static int has_nan(const double *a, int k)
{
    for (int j = 0; j < k; j++)
        if (isnan(a[j]))
            return 1;
    return 0;
}

int pareto_sort(const double *f, int n, int k, int *rank, int *nfronts, tl_err *err)
{
    if (n < 0 || k < 1)
        return tl_fail(err, TL_EINPUT, "pareto: need n >= 0 points and k >= 1 objectives (got n %d, k %d)",
                       n, k);
    if (nfronts)
        *nfronts = 0;
    if (n == 0)
        return 0;
    int *count = malloc(sizeof *count * (size_t)n * 3);
    if (!count)
        return tl_fail(err, TL_ERUNTIME, "pareto: out of memory for %d points", n);
    int *cur = count + n, *nxt = count + 2 * n;
    int ncur = 0;
    for (int i = 0; i < n; i++) {
        const double *a = f + (size_t)i * k;
        if (has_nan(a, k)) {
            rank[i] = -1;
            count[i] = -1;
            continue;
        }
        int c = 0;
        for (int q = 0; q < n; q++)
            c += q != i && pareto_dominates(f + (size_t)q * k, a, k);
        count[i] = c;
        if (c == 0)
            cur[ncur++] = i;
    }
    int r = 0;
    while (ncur > 0) {
        int nn = 0;
        for (int m = 0; m < ncur; m++) {
            int p = cur[m];
            rank[p] = r;
            const double *a = f + (size_t)p * k;
            for (int q = 0; q < n; q++)
                if (count[q] > 0 && pareto_dominates(a, f + (size_t)q * k, k) && --count[q] == 0)
                    nxt[nn++] = q;
        }
        int *t = cur;
        cur = nxt;
        nxt = t;
        ncur = nn;
        r++;
    }
    if (nfronts)
        *nfronts = r;
    free(count); /* cur and nxt point into the same block */
    return 0;
}

/* qsort context: C11 qsort has none, so the comparison works on rows that
 * carry their index (built in pareto_front). */
typedef struct row {
    const double *v;
    int k, idx;
} row;

static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    for (int j = 0; j < a->k; j++)
        if (a->v[j] != b->v[j])
            return a->v[j] < b->v[j] ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

int pareto_front(const double *f, int n, int k, int *idx, int *count, tl_err *err)
{
    *count = 0;
    if (n < 0 || k < 1)
        return tl_fail(err, TL_EINPUT, "pareto: need n >= 0 points and k >= 1 objectives (got n %d, k %d)",
                       n, k);
    if (n == 0)
        return 0;
    int *rank = malloc(sizeof *rank * (size_t)n);
    row *rows = malloc(sizeof *rows * (size_t)n);
    if (!rank || !rows) {
        free(rank);
        free(rows);
        return tl_fail(err, TL_ERUNTIME, "pareto: out of memory for %d points", n);
    }
    int rc = pareto_sort(f, n, k, rank, NULL, err);
    int m = 0;
    if (!rc) {
        for (int i = 0; i < n; i++)
            if (rank[i] == 0)
                rows[m++] = (row){ f + (size_t)i * k, k, i };
        qsort(rows, (size_t)m, sizeof *rows, row_cmp);
        for (int i = 0; i < m; i++)
            idx[i] = rows[i].idx;
        *count = m;
    }
    free(rank);
    free(rows);
    return rc;
}
