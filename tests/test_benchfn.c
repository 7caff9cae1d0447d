/* tests/test_benchfn.c: the benchmark functions at the test points of
 * /work/shared/benchmarks/functions.md, their optima, and the lookup. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hpo/benchfn.h"

static void near(double got, double want, const char *what)
{
    double tol = 1e-12 * fabs(want);
    cr_assert(fabs(got - want) <= tol, "%s: got %.17g want %.17g", what, got, want);
}

Test(benchfn, reference_points_match_to_1e12_relative)
{
    struct { const char *name; double x[6]; double f; } pts[] = {
        {"branin", {3.141592653589793, 2.275}, 0.39788735772973816},
        {"branin", {-2.0, 10.5}, 6.644372188889907},
        {"branin", {3.25, 5.25}, 9.805767321387703},
        {"hartmann6", {0.2, 0.7, 0.4, 0.9, 0.1, 0.6}, -0.025645630289370495},
        {"hartmann6", {0.55, 0.35, 0.85, 0.05, 0.65, 0.25}, -0.045162500181180884},
        {"rosenbrock4", {-2.0, 5.5, 1.0, 8.5}, 91435.5},
        {"rosenbrock4", {3.25, 0.25, 7.75, -4.25}, 430205.484375},
        {"ackley5", {0, 0, 0, 0, 0}, 4.440892098500626e-16},
        {"ackley5", {-19.6608, 13.1072, -6.5536, 26.2144, -26.2144}, 21.391724332175983},
        {"ackley5", {3.2768, -9.8304, 22.9376, -29.4912, 9.8304}, 21.003148995336943},
    };
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        const benchfn *tf = benchfn_find(pts[i].name);
        cr_assert_not_null(tf, "%s missing", pts[i].name);
        near(tf->f(pts[i].x), pts[i].f, pts[i].name);
    }
}

Test(benchfn, global_minimizers_reach_fstar)
{
    const double pi = 3.141592653589793;
    double b1[2] = {-pi, 12.275}, b2[2] = {3 * pi, 2.475};
    const benchfn *br = benchfn_find("branin");
    near(br->f(b1), br->fstar, "branin (-pi, 12.275)");
    near(br->f(b2), br->fstar, "branin (3pi, 2.475)");
    double h[6] = {0.20168951265373147, 0.15001069271431414, 0.4768739727643531,
                   0.2753324326360307, 0.3116516166043694, 0.6573005340667692};
    const benchfn *h6 = benchfn_find("hartmann6");
    near(h6->f(h), h6->fstar, "hartmann6 x*");
    double r[4] = {1, 1, 1, 1};
    cr_assert_eq(benchfn_find("rosenbrock4")->f(r), 0.0);
    double fx = 0.7572487578418557;
    const benchfn *fo = benchfn_find("forrester");
    near(fo->f(&fx), fo->fstar, "forrester x*");
}

Test(benchfn, fstar_is_a_lower_bound_on_a_grid)
{
    int n;
    const benchfn *all = benchfn_all(&n);
    cr_assert_geq(n, 4);
    for (int k = 0; k < n; k++) {
        const benchfn *tf = &all[k];
        cr_assert(tf->dim >= 1 && tf->dim <= BENCHFN_MAX_DIM);
        /* 4096 points of a lattice in the unit cube: none may beat f* */
        double u[BENCHFN_MAX_DIM];
        for (int i = 0; i < 4096; i++) {
            for (int d = 0; d < tf->dim; d++)
                u[d] = fmod((i + 0.5) * (0.6180339887498949 + 0.1 * d * 1.4142135623730951), 1.0);
            double f = benchfn_eval_unit(tf, u);
            cr_assert(f >= tf->fstar - 1e-12 * (1 + fabs(tf->fstar)), "%s: f=%g < f*=%g",
                      tf->name, f, tf->fstar);
        }
    }
}

Test(benchfn, lookup_by_name)
{
    cr_assert_null(benchfn_find("nope"));
    cr_assert_null(benchfn_find(NULL));
    const benchfn *tf = benchfn_find("hartmann6");
    cr_assert_not_null(tf);
    cr_assert_eq(tf->dim, 6);
    cr_assert_str_eq(tf->name, "hartmann6");
    cr_assert_eq(benchfn_find("ackley5")->dim, 5);
    cr_assert_eq(benchfn_find("ackley5")->low[4], -32.768);
}
