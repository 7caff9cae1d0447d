/* tests/test_sobol.c: the Sobol generator against PyTorch's reference
 * sequence, bounds and balance of the scrambled sequence, skip, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hpo/sobol.h"

/* Reference values produced with /usr/bin/python3 (torch 1.13, which embeds
 * Joe & Kuo's new-joe-kuo-6.21201 directions):
 *   e = torch.quasirandom.SobolEngine(32, scramble=False)
 *   p = e.draw(8, dtype=torch.float64)          # rows below are p * 8
 *   e.reset(); e.fast_forward(1000)
 *   q = e.draw(2, dtype=torch.float64)          # rows below are q * 2**30 */
static const int first8[8][32] = {
{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
{4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4},
{6, 2, 2, 2, 6, 6, 2, 6, 6, 6, 6, 6, 2, 2, 6, 2, 6, 2, 6, 2, 2, 6, 2, 2, 2, 6, 2, 6, 2, 6, 2, 2},
{2, 6, 6, 6, 2, 2, 6, 2, 2, 2, 2, 2, 6, 6, 2, 6, 2, 6, 2, 6, 6, 2, 6, 6, 6, 2, 6, 2, 6, 2, 6, 6},
{3, 3, 5, 7, 3, 1, 3, 7, 7, 5, 7, 3, 3, 5, 3, 7, 3, 7, 7, 1, 1, 1, 3, 7, 7, 7, 3, 5, 1, 1, 3, 1},
{7, 7, 1, 3, 7, 5, 7, 3, 3, 1, 3, 7, 7, 1, 7, 3, 7, 3, 3, 5, 5, 5, 7, 3, 3, 3, 7, 1, 5, 5, 7, 5},
{5, 1, 7, 5, 5, 7, 1, 1, 1, 3, 1, 5, 1, 7, 5, 5, 5, 5, 1, 3, 3, 7, 1, 5, 5, 1, 1, 3, 3, 7, 1, 3},
{1, 5, 3, 1, 1, 3, 5, 5, 5, 7, 5, 1, 5, 3, 1, 1, 1, 1, 5, 7, 7, 3, 5, 1, 1, 5, 5, 7, 7, 3, 5, 7},
};
static const long at1000[2][32] = {
{235929600, 103809024, 556793856, 726663168, 300941312, 974127104, 49283072, 965738496, 537919488, 74448896, 91226112, 273678336, 173015040, 412090368, 154140672, 397410304, 772800512, 370147328, 1064304640, 779091968, 560988160, 590348288, 1020264448, 579862528, 625999872, 974127104, 42991616, 1051721728, 63963136, 365953024, 158334976, 156237824},
{772800512, 640679936, 19922944, 189792256, 837812224, 437256192, 586153984, 428867584, 1048576, 611319808, 628097024, 810549248, 709885952, 948961280, 691011584, 934281216, 235929600, 907018240, 527433728, 242221056, 24117248, 53477376, 483393536, 42991616, 89128960, 437256192, 579862528, 514850816, 600834048, 902823936, 695205888, 693108736},
};

Test(sobol, unscrambled_first_points_match_joe_kuo_reference)
{
    sobol s;
    tl_err e;
    cr_assert_eq(sobol_init(&s, 32, NULL, &e), 0);
    double x[32];
    for (int i = 0; i < 8; i++) {
        sobol_next(&s, x);
        for (int d = 0; d < 32; d++)
            cr_assert_eq(x[d], first8[i][d] / 8.0, "point %d dim %d: %g", i, d, x[d]);
    }
    sobol_free(&s);
}

Test(sobol, skip_and_stepping_agree_with_reference_at_1000)
{
    sobol a, b;
    cr_assert_eq(sobol_init(&a, 32, NULL, NULL), 0);
    cr_assert_eq(sobol_init(&b, 32, NULL, NULL), 0);
    double xa[32], xb[32];
    sobol_skip(&a, 1000);
    for (int i = 0; i < 1000; i++)
        sobol_next(&b, xb);
    for (int i = 0; i < 2; i++) {
        sobol_next(&a, xa);
        sobol_next(&b, xb);
        for (int d = 0; d < 32; d++) {
            cr_assert_eq(xa[d], at1000[i][d] * 0x1.0p-30, "skip: point %d dim %d", 1000 + i, d);
            cr_assert_eq(xb[d], xa[d], "step: point %d dim %d", 1000 + i, d);
        }
    }
    sobol_free(&a);
    sobol_free(&b);
}

/* Each half of every axis (and each quarter) gets exactly its share of the
 * first 2^k points, scrambled or not: the (t,m,s)-net property of each axis. */
static void check_balance(rng *scr, int dim)
{
    sobol s;
    cr_assert_eq(sobol_init(&s, dim, scr, NULL), 0);
    enum { K = 10, N = 1 << K };
    static double pts[N][64];
    for (int i = 0; i < N; i++)
        sobol_next(&s, pts[i]);
    for (int k = 1; k <= K; k++) {
        int n = 1 << k;
        for (int d = 0; d < dim; d++) {
            int lo = 0, q[4] = {0, 0, 0, 0};
            for (int i = 0; i < n; i++) {
                cr_assert(pts[i][d] >= 0.0 && pts[i][d] < 1.0, "point %d dim %d = %g", i, d,
                          pts[i][d]);
                lo += pts[i][d] < 0.5;
                q[(int)(pts[i][d] * 4)]++;
            }
            cr_assert_eq(lo, n / 2, "k=%d dim %d: %d of %d in lower half", k, d, lo, n);
            if (k >= 2)
                for (int j = 0; j < 4; j++)
                    cr_assert_eq(q[j], n / 4, "k=%d dim %d quarter %d: %d", k, d, j, q[j]);
        }
    }
    sobol_free(&s);
}

Test(sobol, unscrambled_halves_are_balanced)
{
    check_balance(NULL, 64);
}

Test(sobol, scrambled_points_in_unit_cube_and_balanced)
{
    rng r;
    rng_seed(&r, 7, 0);
    check_balance(&r, 64);
}

Test(sobol, scrambled_depends_on_seed_and_is_reproducible)
{
    rng r1, r2, r3;
    rng_seed(&r1, 1, 0);
    rng_seed(&r2, 1, 0);
    rng_seed(&r3, 2, 0);
    sobol a, b, c;
    cr_assert_eq(sobol_init(&a, 5, &r1, NULL), 0);
    cr_assert_eq(sobol_init(&b, 5, &r2, NULL), 0);
    cr_assert_eq(sobol_init(&c, 5, &r3, NULL), 0);
    double xa[5], xb[5], xc[5];
    int differ = 0;
    for (int i = 0; i < 16; i++) {
        sobol_next(&a, xa);
        sobol_next(&b, xb);
        sobol_next(&c, xc);
        cr_assert_eq(memcmp(xa, xb, sizeof xa), 0, "same seed differs at point %d", i);
        differ += memcmp(xa, xc, sizeof xa) != 0;
    }
    cr_assert_eq(differ, 16, "different seeds gave %d equal points", 16 - differ);
    /* scrambling moves the first point off the origin */
    sobol s;
    rng_seed(&r1, 3, 0);
    cr_assert_eq(sobol_init(&s, 5, &r1, NULL), 0);
    sobol_next(&s, xa);
    int nonzero = 0;
    for (int d = 0; d < 5; d++)
        nonzero += xa[d] != 0.0;
    cr_assert_eq(nonzero, 5);
    sobol_free(&a);
    sobol_free(&b);
    sobol_free(&c);
    sobol_free(&s);
}

Test(sobol, bad_dim_is_input_error_and_free_is_safe)
{
    sobol s;
    tl_err e = {0};
    cr_assert_eq(sobol_init(&s, 0, NULL, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "dim") != NULL, "%s", e.msg);
    cr_assert_eq(sobol_init(&s, SOBOL_MAX_DIM + 1, NULL, &e), TL_EINPUT);
    sobol_free(&s);
    sobol_free(&s);
    sobol_free(NULL);
    cr_assert_eq(sobol_init(&s, SOBOL_MAX_DIM, NULL, &e), 0);
    sobol_free(&s);
}

/* Every one of the 256 dimensions, at points 100000..100002 (past 2^16,
 * so every dimension's recurrence is exercised), against torch:
 *   e = torch.quasirandom.SobolEngine(256, scramble=False); e.fast_forward(100000)
 *   for r in e.draw(3, dtype=torch.float64):
 *       v = [int(x * 2**30) for x in r]; print(sum(v), xor of v, v[255]) */
Test(sobol, all_256_dimensions_match_reference_at_100000)
{
    static const long long ref[3][3] = {
        {140218318848LL, 563888128LL, 999333888LL},
        {136997093376LL, 563888128LL, 462462976LL},
        {141828931584LL, 27017216LL, 194027520LL},
    };
    sobol s;
    cr_assert_eq(sobol_init(&s, SOBOL_MAX_DIM, NULL, NULL), 0);
    sobol_skip(&s, 100000);
    double x[SOBOL_MAX_DIM];
    for (int i = 0; i < 3; i++) {
        sobol_next(&s, x);
        long long sum = 0, xr = 0;
        for (int d = 0; d < SOBOL_MAX_DIM; d++) {
            long long v = (long long)(x[d] * 0x1.0p30);
            cr_assert_eq((double)v, x[d] * 0x1.0p30, "dim %d not on the 2^-30 grid", d);
            sum += v;
            xr ^= v;
        }
        cr_assert_eq(sum, ref[i][0], "point %d: sum %lld", 100000 + i, sum);
        cr_assert_eq(xr, ref[i][1], "point %d: xor %lld", 100000 + i, xr);
        cr_assert_eq((long long)(x[255] * 0x1.0p30), ref[i][2], "point %d: dim 255", 100000 + i);
    }
    sobol_free(&s);
}
