/* tests/test_pareto.c: non-dominated sorting (hpo/pareto.c) against a
 * brute-force peeling of fronts, on random point sets with ties and
 * duplicates in 1 to 4 objectives; a hand-checked 2-D example; NaN points
 * left out; the front listing's order; bad arguments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pareto.h"
#include "util/rng.h"

/* Brute force: front r = the points not yet ranked that no other unranked
 * point dominates (the definition, in O(k n^3)). */
static int brute_rank(const double *f, int n, int k, int *rank)
{
    for (int i = 0; i < n; i++) {
        rank[i] = -2;
        for (int j = 0; j < k; j++)
            if (isnan(f[i * k + j]))
                rank[i] = -1;
    }
    int r = 0, left = 0;
    for (int i = 0; i < n; i++)
        left += rank[i] == -2;
    int *mark = malloc(sizeof *mark * (size_t)(n > 0 ? n : 1));
    while (left > 0) {
        for (int i = 0; i < n; i++) {
            mark[i] = 0;
            if (rank[i] != -2)
                continue;
            int dominated = 0;
            for (int q = 0; q < n && !dominated; q++) {
                if (q == i || rank[q] != -2)
                    continue;
                int le = 1, lt = 0;
                for (int j = 0; j < k; j++) {
                    le &= f[q * k + j] <= f[i * k + j];
                    lt |= f[q * k + j] < f[i * k + j];
                }
                dominated = le && lt;
            }
            mark[i] = !dominated;
        }
        for (int i = 0; i < n; i++)
            if (mark[i]) {
                rank[i] = r;
                left--;
            }
        r++;
    }
    free(mark);
    return r;
}

Test(pareto, dominance_is_strict_and_ignores_nan)
{
    double a[] = { 1, 2 }, b[] = { 1, 3 }, c[] = { 1, 2 }, d[] = { 0, 5 }, e[] = { NAN, 0 };
    cr_assert(pareto_dominates(a, b, 2));
    cr_assert_not(pareto_dominates(b, a, 2));
    cr_assert_not(pareto_dominates(a, c, 2), "equal points do not dominate");
    cr_assert_not(pareto_dominates(a, d, 2));
    cr_assert_not(pareto_dominates(d, a, 2));
    cr_assert_not(pareto_dominates(e, a, 2));
    cr_assert_not(pareto_dominates(a, e, 2));
}

Test(pareto, hand_example_in_two_objectives)
{
    /* (loss, params): 0 and 2 and 4 are the front; 1 is behind 0; 3 is
     * behind 1 (and 0); 5 equals 4 (same front); 6 has a NaN. */
    double f[] = { 1.0, 100, 1.5, 120, 2.0, 50, 1.6, 130, 3.0, 10, 3.0, 10, NAN, 1 };
    int rank[7], nf = -1;
    tl_err err = { 0 };
    cr_assert_eq(pareto_sort(f, 7, 2, rank, &nf, &err), 0, "%s", err.msg);
    int want[7] = { 0, 1, 0, 2, 0, 0, -1 };
    for (int i = 0; i < 7; i++)
        cr_assert_eq(rank[i], want[i], "point %d: rank %d, want %d", i, rank[i], want[i]);
    cr_assert_eq(nf, 3);
    int idx[7], m = -1;
    cr_assert_eq(pareto_front(f, 7, 2, idx, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(m, 4);
    int order[4] = { 0, 2, 4, 5 }; /* by loss, then params, then index */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(idx[i], order[i], "front[%d] = %d, want %d", i, idx[i], order[i]);
}

Test(pareto, matches_brute_force_on_random_sets_with_ties)
{
    rng r;
    rng_seed(&r, 2024, 7);
    tl_err err = { 0 };
    enum { N = 120 };
    static double f[N * 4];
    int rank[N], want[N];
    for (int rep = 0; rep < 40; rep++) {
        int k = 1 + rep % 4;
        int n = 1 + (int)rng_below(&r, N);
        /* coarse grid values: many ties and exact duplicates */
        for (int i = 0; i < n * k; i++)
            f[i] = (double)rng_below(&r, 6 + rep % 5);
        if (rep % 3 == 0)
            f[(int)rng_below(&r, (uint64_t)(n * k))] = NAN;
        int nf = -1;
        cr_assert_eq(pareto_sort(f, n, k, rank, &nf, &err), 0, "%s", err.msg);
        int wf = brute_rank(f, n, k, want);
        cr_assert_eq(nf, wf, "rep %d: %d fronts, brute force %d", rep, nf, wf);
        for (int i = 0; i < n; i++)
            cr_assert_eq(rank[i], want[i], "rep %d (n %d, k %d): point %d rank %d, brute force %d", rep, n, k,
                         i, rank[i], want[i]);
        /* a dominated point always sits on a later front */
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                if (pareto_dominates(f + a * k, f + b * k, k))
                    cr_assert_lt(rank[a], rank[b]);
    }
}

Test(pareto, one_objective_ranks_distinct_values)
{
    double f[] = { 3, 1, 2, 1 };
    int rank[4], nf;
    cr_assert_eq(pareto_sort(f, 4, 1, rank, &nf, NULL), 0);
    cr_assert_eq(rank[1], 0);
    cr_assert_eq(rank[3], 0);
    cr_assert_eq(rank[2], 1);
    cr_assert_eq(rank[0], 2);
    cr_assert_eq(nf, 3);
}

Test(pareto, bad_arguments_and_empty_input)
{
    tl_err err = { 0 };
    int rank[1], idx[1], m = 5, nf = 5;
    cr_assert_eq(pareto_sort(NULL, 0, 2, rank, &nf, &err), 0);
    cr_assert_eq(nf, 0);
    cr_assert_eq(pareto_front(NULL, 0, 2, idx, &m, &err), 0);
    cr_assert_eq(m, 0);
    cr_assert_eq(pareto_sort(NULL, 1, 0, rank, NULL, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "objectives"), "%s", err.msg);
    cr_assert_eq(pareto_front(NULL, -1, 2, idx, &m, &err), TL_EINPUT);
}
