/* report/report_compare_stats.c: the statistics of `tunelab compare` (see
 * report_compare.h): quantiles, ranks within a seed, the exact
 * Mann-Whitney test, the best value so far at a budget position, and the
 * tables of a whole comparison.  Pure arithmetic over arrays: no files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_compare.h"

const double CMP_CHECKS[CMP_NCHECK] = { 0.25, 0.5, 1.0 };

static const char *const UNIT_NAMES[CMP_UNIT_COUNT] = { "epochs", "seconds", "trials" };

const char *cmp_unit_str(int unit)
{
    return unit >= 0 && unit < CMP_UNIT_COUNT ? UNIT_NAMES[unit] : "?";
}

int cmp_unit_parse(const char *name)
{
    for (int u = 0; u < CMP_UNIT_COUNT; u++)
        if (!strcmp(name, UNIT_NAMES[u]))
            return u;
    return -1;
}

double cmp_quantile(const double *sorted, int n, double q)
{
    if (n <= 0)
        return NAN;
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1)
        return sorted[n - 1];
    double f = pos - lo;
    return sorted[lo] + f * (sorted[lo + 1] - sorted[lo]);
}

/* 1 when x is better than y (NaN is worst), by direction. */
static int better(double x, double y, int maximize)
{
    if (isnan(x))
        return 0;
    if (isnan(y))
        return 1;
    return maximize ? x > y : x < y;
}

void cmp_ranks(const double *x, int n, int maximize, double *rank)
{
    for (int i = 0; i < n; i++) {
        int above = 0, same = 0;
        for (int j = 0; j < n; j++) {
            if (better(x[j], x[i], maximize))
                above++;
            else if (!better(x[i], x[j], maximize))
                same++; /* includes i itself */
        }
        rank[i] = above + (same + 1) / 2.0;
    }
}

int cmp_mann_whitney(const double *a, int na, const double *b, int nb, int maximize, double *u,
                     double *p, tl_err *err)
{
    int m = 0, n = 0;
    for (int i = 0; i < na; i++)
        m += isfinite(a[i]);
    for (int j = 0; j < nb; j++)
        n += isfinite(b[j]);
    if (m == 0 || n == 0)
        return tl_fail(err, TL_EINPUT, "mann-whitney: a side without a finite value");
    if (m > 60 || n > 60)
        return tl_fail(err, TL_EINPUT, "mann-whitney: at most 60 values a side (got %d and %d)", m, n);
    double U = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            if (!isfinite(a[i]) || !isfinite(b[j]))
                continue;
            if (better(a[i], b[j], maximize))
                U += 1;
            else if (a[i] == b[j])
                U += 0.5;
        }
    /* counts of arrangements with each U: f_k(j, u) over k = 1..m items of
     * a and j items of b: f_k(j, u) = f_{k-1}(j, u - j) + f_k(j - 1, u) */
    int umax = m * n;
    size_t w = (size_t)umax + 1;
    double *prev = calloc((size_t)(n + 1) * w, sizeof *prev), *cur = calloc((size_t)(n + 1) * w, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return tl_fail(err, TL_ERUNTIME, "mann-whitney: out of memory");
    }
    for (int j = 0; j <= n; j++)
        prev[(size_t)j * w] = 1; /* k = 0: U = 0 only */
    for (int k = 1; k <= m; k++) {
        memset(cur, 0, (size_t)(n + 1) * w * sizeof *cur);
        cur[0] = 1; /* j = 0 */
        for (int j = 1; j <= n; j++)
            for (int v = 0; v <= umax; v++) {
                double c = cur[(size_t)(j - 1) * w + v];
                if (v >= j)
                    c += prev[(size_t)j * w + v - j];
                cur[(size_t)j * w + v] = c;
            }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double total = 0, le = 0, ge = 0;
    const double *f = prev + (size_t)n * w;
    for (int v = 0; v <= umax; v++) {
        total += f[v];
        if (v <= floor(U + 1e-9))
            le += f[v];
        if (v >= ceil(U - 1e-9))
            ge += f[v];
    }
    free(prev);
    free(cur);
    double pv = 2 * fmin(le, ge) / total;
    *u = U;
    *p = pv > 1 ? 1 : pv;
    return 0;
}

static const double *axis_of(const cmp_run *r, int unit)
{
    return unit == CMP_SECONDS ? r->seconds : unit == CMP_TRIALS ? r->trials : r->epochs;
}

double cmp_best_at(const cmp_run *r, int unit, double x)
{
    const double *ax = axis_of(r, unit);
    double v = NAN;
    for (int i = 0; i < r->npts; i++) {
        if (ax[i] > x + 1e-9)
            break;
        v = r->best[i];
    }
    return v;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Median, IQR and n of the finite values of x (n values). */
static void summarize(const double *x, int n, cmp_cell *c)
{
    double s[256];
    int k = 0;
    for (int i = 0; i < n && k < 256; i++)
        if (isfinite(x[i]))
            s[k++] = x[i];
    qsort(s, (size_t)k, sizeof *s, cmp_double);
    c->n = k;
    c->median = cmp_quantile(s, k, 0.5);
    c->q1 = cmp_quantile(s, k, 0.25);
    c->q3 = cmp_quantile(s, k, 0.75);
}

/* Mean rank of each method over seeds of values v[m * K + k]. */
static void mean_ranks(const double *v, int M, int K, int maximize, cmp_cell *cells)
{
    double x[256] = {0}, r[256];
    for (int m = 0; m < M; m++)
        cells[m].mean_rank = 0;
    for (int k = 0; k < K; k++) {
        for (int m = 0; m < M && m < 256; m++)
            x[m] = v[m * K + k];
        cmp_ranks(x, M, maximize, r);
        for (int m = 0; m < M; m++)
            cells[m].mean_rank += r[m] / K;
    }
}

void cmp_stats_free(cmp_stats *st)
{
    if (!st)
        return;
    free(st->at);
    free(st->check);
    free(st->test);
    free(st->win);
    free(st->p);
    memset(st, 0, sizeof *st);
}

int cmp_stats_compute(const cmp_input *in, cmp_stats *st, tl_err *err)
{
    memset(st, 0, sizeof *st);
    int M = in->nmethods, K = in->nseeds;
    if (M > 256 || K > 256)
        return tl_fail(err, TL_EINPUT, "compare: at most 256 methods and 256 seeds");
    st->nmethods = M;
    st->nseeds = K;
    st->at = calloc((size_t)(CMP_NCHECK * M * K) + 1, sizeof *st->at);
    st->check = calloc((size_t)(CMP_NCHECK * M) + 1, sizeof *st->check);
    st->test = calloc((size_t)M + 1, sizeof *st->test);
    st->win = calloc((size_t)(M * M) + 1, sizeof *st->win);
    st->p = calloc((size_t)(M * M) + 1, sizeof *st->p);
    double *tv = calloc((size_t)(M * K) + 1, sizeof *tv);
    if (!st->at || !st->check || !st->test || !st->win || !st->p || !tv) {
        free(tv);
        cmp_stats_free(st);
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    }
    for (int c = 0; c < CMP_NCHECK; c++) {
        double *v = st->at + (size_t)c * M * K;
        for (int m = 0; m < M; m++) {
            for (int k = 0; k < K; k++)
                v[m * K + k] = cmp_best_at(&in->runs[m * K + k], in->unit, CMP_CHECKS[c] * in->budget);
            summarize(v + m * K, K, &st->check[c * M + m]);
        }
        mean_ranks(v, M, K, in->maximize, st->check + c * M);
    }
    for (int m = 0; m < M; m++) {
        for (int k = 0; k < K; k++)
            tv[m * K + k] = in->runs[m * K + k].pick_test;
        summarize(tv + m * K, K, &st->test[m]);
    }
    mean_ranks(tv, M, K, 1, st->test);
    free(tv);
    const double *fin = st->at + (size_t)(CMP_NCHECK - 1) * M * K;
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) {
            double u = NAN, p = NAN;
            if (a != b && !cmp_mann_whitney(fin + a * K, K, fin + b * K, K, in->maximize, &u, &p, NULL)) {
                int na = 0, nb = 0;
                for (int k = 0; k < K; k++) {
                    na += isfinite(fin[a * K + k]);
                    nb += isfinite(fin[b * K + k]);
                }
                st->win[a * M + b] = u / ((double)na * nb);
                st->p[a * M + b] = p;
            } else {
                st->win[a * M + b] = NAN;
                st->p[a * M + b] = NAN;
            }
        }
    return 0;
}
