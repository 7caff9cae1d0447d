/* hpo/benchfn.c: the benchmark functions of hpo/benchfn.h.
 *
 * Formulas follow functions.md term by term, in the same order of
 * operations as the reference values were computed, so the test points
 * match to about 1e-12 relative (Ackley at its optimum gives 4.44e-16, not
 * 0, for that reason).  No sampling, no state.
 */
#include "hpo/benchfn.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define PI 3.141592653589793

double benchfn_branin(const double *x)
{
    const double a = 1.0, b = 5.1 / (4.0 * PI * PI), c = 5.0 / PI;
    const double r = 6.0, s = 10.0, t = 1.0 / (8.0 * PI);
    double x1 = x[0], x2 = x[1];
    double q = x2 - b * x1 * x1 + c * x1 - r;
    return a * q * q + s * (1.0 - t) * cos(x1) + s;
}

double benchfn_hartmann6(const double *x)
{
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {
        {10, 3, 17, 3.5, 1.7, 8},
        {0.05, 10, 17, 0.1, 8, 14},
        {3, 3.5, 1.7, 10, 17, 8},
        {17, 8, 0.05, 10, 0.1, 14},
    };
    static const double P[4][6] = {
        {1312, 1696, 5569, 124, 8283, 5886},
        {2329, 4135, 8307, 3736, 1004, 9991},
        {2348, 1451, 3522, 2883, 3047, 6650},
        {4047, 8828, 8732, 5743, 1091, 381},
    };
    double outer = 0.0;
    for (int i = 0; i < 4; i++) {
        double inner = 0.0;
        for (int j = 0; j < 6; j++) {
            double d = x[j] - 1e-4 * P[i][j];
            inner += A[i][j] * d * d;
        }
        outer += alpha[i] * exp(-inner);
    }
    return -outer;
}

static double rosenbrock(const double *x, int d)
{
    double s = 0.0;
    for (int i = 0; i < d - 1; i++) {
        double u = x[i + 1] - x[i] * x[i], v = x[i] - 1.0;
        s += 100.0 * u * u + v * v;
    }
    return s;
}

double benchfn_rosenbrock4(const double *x) { return rosenbrock(x, 4); }

static double ackley(const double *x, int d)
{
    const double a = 20.0, b = 0.2, c = 2.0 * PI;
    double s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < d; i++) {
        s1 += x[i] * x[i];
        s2 += cos(c * x[i]);
    }
    return -a * exp(-b * sqrt(s1 / d)) - exp(s2 / d) + a + exp(1.0);
}

double benchfn_ackley5(const double *x) { return ackley(x, 5); }

/* Forrester et al. (2008): (6x - 2)^2 sin(12x - 4) on [0, 1]; a 1-d
 * teaching function with a local and a global minimum. */
double benchfn_forrester(const double *x)
{
    double u = 6.0 * x[0] - 2.0;
    return u * u * sin(12.0 * x[0] - 4.0);
}

double benchfn_sphere3(const double *x)
{
    return x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
}

#define A5 {-32.768, -32.768, -32.768, -32.768, -32.768}
#define B5 {32.768, 32.768, 32.768, 32.768, 32.768}

static const benchfn table[] = {
    {"branin", 2, {-5.0, 0.0}, {10.0, 15.0}, 0.39788735772973816, benchfn_branin},
    {"hartmann6", 6, {0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, -3.3223680114155147,
     benchfn_hartmann6},
    {"rosenbrock4", 4, {-5, -5, -5, -5}, {10, 10, 10, 10}, 0.0, benchfn_rosenbrock4},
    {"ackley5", 5, A5, B5, 0.0, benchfn_ackley5},
    /* f* at x* = 0.7572487578418557 (bisection on f' in double precision) */
    {"forrester", 1, {0.0}, {1.0}, -6.0207400557670825, benchfn_forrester},
    {"sphere3", 3, {-5, -5, -5}, {5, 5, 5}, 0.0, benchfn_sphere3},
};

const benchfn *benchfn_all(int *n)
{
    if (n)
        *n = (int)(sizeof table / sizeof table[0]);
    return table;
}

const benchfn *benchfn_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

double benchfn_eval_unit(const benchfn *tf, const double *u)
{
    double x[BENCHFN_MAX_DIM];
    for (int i = 0; i < tf->dim; i++)
        x[i] = tf->low[i] + u[i] * (tf->high[i] - tf->low[i]);
    return tf->f(x);
}
