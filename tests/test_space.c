/* tests/test_space.c: parameter expressions (grammar and errors), the unit
 * cube mapping (round trips, int bins, log scale), value text, conditions,
 * canonical descriptions and grid points. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hpo/space.h"
#include "util/rng.h"

static space sp;

static void setup(void)
{
    space_init(&sp);
}

static void teardown(void)
{
    space_free(&sp);
}

TestSuite(space, .init = setup, .fini = teardown);

static void add_ok(const char *name, const char *expr)
{
    tl_err err = { 0 };
    int rc = space_add(&sp, name, expr, &err);
    cr_assert_eq(rc, 0, "%s = %s: %s", name, expr, err.msg);
}

Test(space, parses_every_kind_with_options)
{
    add_ok("train.lr", "loguniform(1e-5, 1e-2)");
    add_ok("drop", "uniform(0, 0.5) grid=5");
    add_ok("layers", "int(1, 4)");
    add_ok("width", " logint( 16 , 1024, grid=4 ) ");
    add_ok("model.type", "choice(mlp, gpt, \"a, b\")");
    add_ok("heads", "choice(2, 4, 8) if model.type == gpt");
    add_ok("act", "choice(relu, gelu) if model.type in (mlp, \"a, b\")");
    cr_assert_eq(sp.n, 7);
    cr_assert_eq(sp.p[0].kind, PARAM_FLOAT);
    cr_assert(sp.p[0].log);
    cr_assert_float_eq(sp.p[0].low, 1e-5, 0);
    cr_assert_float_eq(sp.p[0].high, 1e-2, 0);
    cr_assert_eq(sp.p[1].grid_points, 5);
    cr_assert(!sp.p[1].log);
    cr_assert_eq(sp.p[2].kind, PARAM_INT);
    cr_assert_eq(sp.p[3].kind, PARAM_INT);
    cr_assert(sp.p[3].log);
    cr_assert_eq(sp.p[3].grid_points, 4);
    cr_assert_eq(sp.p[4].ncat, 3);
    cr_assert_str_eq(sp.p[4].cats[2], "a, b");
    cr_assert(isnan(sp.p[4].catnum[0]));
    cr_assert_float_eq(sp.p[5].catnum[1], 4, 0);
    cr_assert_eq(sp.p[5].parent, 4);
    cr_assert_eq(sp.p[5].ncond, 1);
    cr_assert_eq(sp.p[5].cond[0], 1);
    cr_assert_eq(sp.p[6].ncond, 2);
    cr_assert_eq(sp.p[6].cond[0], 0);
    cr_assert_eq(sp.p[6].cond[1], 2);
    cr_assert_eq(space_find(&sp, "width"), 3);
    cr_assert_eq(space_find(&sp, "nope"), -1);
}

Test(space, rejects_bad_expressions_naming_the_parameter)
{
    static const struct {
        const char *expr, *msg;
    } bad[] = {
        { "uniform(1, 1)", "low < high" },
        { "uniform(2, 1)", "low < high" },
        { "loguniform(0, 1)", "0 < low" },
        { "loguniform(-1, 1)", "0 < low" },
        { "logint(0, 10)", "0 < low" },
        { "int(0.5, 3)", "integer bounds" },
        { "int(1, 3.5)", "integer bounds" },
        { "choice()", "at least one" },
        { "choice(a, b, a)", "duplicate value 'a'" },
        { "choice(1, 1.0)", "duplicate value" },
        { "choice(a, , b)", "empty" },
        { "uniform(0)", "two bounds" },
        { "uniform(0, 1, 2)", "two bounds" },
        { "uniform(a, 1)", "not a number" },
        { "uniform(0, inf)", "not a number" },
        { "normal(0, 1)", "unknown distribution 'normal'" },
        { "uniform 0, 1", "expected '('" },
        { "uniform(0, 1", "expected ',' or ')'" },
        { "uniform(0, 1) grid=0", "point count" },
        { "uniform(0, 1) grid=x", "point count" },
        { "choice(a, b) grid=3", "not to choice" },
        { "uniform(0, 1) junk", "unexpected 'junk'" },
        { "uniform(0, 1) if nope == a", "unknown parameter 'nope'" },
        { "uniform(0, 1) if lr == 1", "must be a choice" },
        { "uniform(0, 1) if kind == c", "'c' is not a choice of 'kind'" },
        { "uniform(0, 1) if kind in ()", "empty value list" },
        { "uniform(0, 1) if kind > a", "expected '==' or 'in'" },
        { "choice(\"a, b)", "unterminated quote" },
        { "", "expected uniform" },
    };
    add_ok("lr", "uniform(0, 1)");
    add_ok("kind", "choice(a, b)");
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tl_err err = { 0 };
        int rc = space_add(&sp, "p.x", bad[k].expr, &err);
        cr_assert_eq(rc, TL_EINPUT, "'%s' accepted (rc %d)", bad[k].expr, rc);
        cr_assert(strncmp(err.msg, "p.x: ", 5) == 0, "'%s': message '%s' does not name p.x",
                  bad[k].expr, err.msg);
        cr_assert(strstr(err.msg, bad[k].msg), "'%s': message '%s' lacks '%s'", bad[k].expr,
                  err.msg, bad[k].msg);
        cr_assert_eq(sp.n, 2, "a failed add changed the space");
    }
    tl_err err = { 0 };
    cr_assert_eq(space_add(&sp, "lr", "uniform(0, 2)", &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "lr: duplicate parameter"), "%s", err.msg);
    cr_assert_eq(space_add(&sp, "", "uniform(0, 2)", &err), TL_EINPUT);
}

Test(space, float_unit_round_trip_and_log_scale)
{
    add_ok("a", "uniform(-2, 3)");
    add_ok("b", "loguniform(1e-4, 1)");
    cr_assert_float_eq(space_from_unit(&sp, 0, 0), -2, 0);
    cr_assert_float_eq(space_from_unit(&sp, 0, 1), 3, 0);
    cr_assert_float_eq(space_from_unit(&sp, 0, 0.5), 0.5, 1e-12);
    cr_assert_float_eq(space_from_unit(&sp, 1, 0.5), 1e-2, 1e-15);
    cr_assert_float_eq(space_from_unit(&sp, 1, 0.25), 1e-3, 1e-16);
    cr_assert_float_eq(space_from_unit(&sp, 1, 0), 1e-4, 0);
    cr_assert_float_eq(space_from_unit(&sp, 1, 1), 1, 0);
    /* clamped outside [0, 1] */
    cr_assert_float_eq(space_from_unit(&sp, 0, -0.5), -2, 0);
    cr_assert_float_eq(space_from_unit(&sp, 1, 7), 1, 0);
    rng r;
    rng_seed(&r, 7, 0);
    for (int k = 0; k < 1000; k++) {
        double u = rng_uniform(&r);
        for (int i = 0; i < 2; i++) {
            double v = space_from_unit(&sp, i, u);
            cr_assert(v >= sp.p[i].low && v <= sp.p[i].high);
            cr_assert_float_eq(space_to_unit(&sp, i, v), u, 1e-12, "param %d u %g", i, u);
        }
    }
}

Test(space, ints_use_equal_width_bins_and_round_trip)
{
    add_ok("n", "int(0, 4)");
    add_ok("w", "logint(1, 1000)");
    int hits[5] = { 0 };
    int N = 100000;
    for (int k = 0; k < N; k++) {
        double v = space_from_unit(&sp, 0, (k + 0.5) / N);
        cr_assert_eq(v, floor(v));
        hits[(int)v]++;
    }
    for (int k = 0; k < 5; k++)
        cr_assert_eq(hits[k], N / 5, "bin %d got %d", k, hits[k]);
    cr_assert_eq(space_from_unit(&sp, 0, 1.0), 4);
    for (int v = 0; v <= 4; v++) {
        double u = space_to_unit(&sp, 0, v);
        cr_assert_float_eq(u, (v + 0.5) / 5, 1e-15);
        cr_assert_eq(space_from_unit(&sp, 0, u), v);
    }
    /* log ints: every integer is reachable and round-trips; bins in log space */
    for (int v = 1; v <= 1000; v++) {
        double u = space_to_unit(&sp, 1, v);
        cr_assert(u > 0 && u < 1);
        cr_assert_eq(space_from_unit(&sp, 1, u), v, "logint %d -> %g -> %g", v, u,
                     space_from_unit(&sp, 1, u));
    }
    double mid = space_from_unit(&sp, 1, 0.5); /* geometric middle of [0.5, 1000.5] */
    cr_assert(mid >= 21 && mid <= 23, "logint middle %g", mid);
}

Test(space, categorical_bins_and_round_trip)
{
    add_ok("c", "choice(x, y, z)");
    cr_assert_eq(space_from_unit(&sp, 0, 0.0), 0);
    cr_assert_eq(space_from_unit(&sp, 0, 0.34), 1);
    cr_assert_eq(space_from_unit(&sp, 0, 0.99), 2);
    cr_assert_eq(space_from_unit(&sp, 0, 1.0), 2);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(space_from_unit(&sp, 0, space_to_unit(&sp, 0, k)), k);
    cr_assert(isnan(space_to_unit(&sp, 0, NAN)));
}

Test(space, format_and_parse_round_trip)
{
    add_ok("lr", "loguniform(1e-6, 1)");
    add_ok("n", "int(-5, 5)");
    add_ok("c", "choice(adamw, 0.5, \"with space\")");
    add_ok("d", "uniform(0, 1) if c == adamw");
    rng r;
    rng_seed(&r, 11, 0);
    char buf[128];
    tl_err err = { 0 };
    for (int k = 0; k < 500; k++) {
        for (int i = 0; i < 3; i++) {
            double v = space_from_unit(&sp, i, rng_uniform(&r)), back = -99;
            space_format_value(&sp, i, v, buf, sizeof buf);
            cr_assert_eq(space_value_parse(&sp, i, buf, &back, &err), 0, "%s: %s", buf, err.msg);
            cr_assert_eq(back, v, "param %d: %.17g -> '%s' -> %.17g", i, v, buf, back);
        }
    }
    space_format_value(&sp, 1, -3, buf, sizeof buf);
    cr_assert_str_eq(buf, "-3");
    space_format_value(&sp, 2, 2, buf, sizeof buf);
    cr_assert_str_eq(buf, "with space");
    space_format_value(&sp, 0, 0.001, buf, sizeof buf);
    cr_assert_str_eq(buf, "0.001");
    space_format_value(&sp, 3, NAN, buf, sizeof buf);
    cr_assert_str_eq(buf, "-");
    double v;
    cr_assert_eq(space_value_parse(&sp, 2, "0.50", &v, &err), 0, "%s", err.msg);
    cr_assert_eq(v, 1);
    cr_assert_eq(space_value_parse(&sp, 3, "-", &v, &err), 0);
    cr_assert(isnan(v));
}

Test(space, value_parse_errors)
{
    add_ok("lr", "loguniform(1e-6, 1)");
    add_ok("n", "int(1, 5)");
    add_ok("c", "choice(a, b)");
    static const struct {
        int i;
        const char *text, *msg;
    } bad[] = {
        { 0, "2", "outside" }, { 0, "fast", "expected a number" }, { 1, "2.5", "integer" },
        { 1, "9", "outside" },   { 2, "c", "not one of (a, b)" },  { 0, "-", "unconditional" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tl_err err = { 0 };
        double v;
        cr_assert_eq(space_value_parse(&sp, bad[k].i, bad[k].text, &v, &err), TL_EINPUT,
                     "'%s' accepted", bad[k].text);
        cr_assert(strstr(err.msg, sp.p[bad[k].i].name) == err.msg, "%s", err.msg);
        cr_assert(strstr(err.msg, bad[k].msg), "'%s': %s", bad[k].text, err.msg);
    }
}

Test(space, conditions_follow_the_parent_chain)
{
    add_ok("model", "choice(mlp, gpt)");
    add_ok("heads", "choice(2, 4) if model == gpt");
    add_ok("headdim", "int(8, 64) if heads == 4");
    add_ok("width", "int(8, 64) if model == mlp");
    double v[4] = { 1, 1, 16, 32 };
    cr_assert(space_is_active(&sp, v, 1));
    cr_assert(space_is_active(&sp, v, 2));
    cr_assert(!space_is_active(&sp, v, 3));
    tl_err err = { 0 };
    cr_assert_eq(space_check_values(&sp, v, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "width: inactive"), "%s", err.msg);
    space_apply_conditions(&sp, v);
    cr_assert(isnan(v[3]));
    cr_assert_eq(space_check_values(&sp, v, &err), 0, "%s", err.msg);
    v[1] = 0; /* heads = 2: headdim goes inactive */
    space_apply_conditions(&sp, v);
    cr_assert(isnan(v[2]));
    v[0] = 0; /* mlp: heads inactive, so is its child */
    v[3] = 20;
    space_apply_conditions(&sp, v);
    cr_assert(isnan(v[1]) && isnan(v[2]) && v[3] == 20);
    cr_assert_eq(space_check_values(&sp, v, &err), 0, "%s", err.msg);
    v[3] = 70;
    cr_assert_eq(space_check_values(&sp, v, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "width: 70 is outside"), "%s", err.msg);
    /* unit vectors: conditions applied */
    double u[4] = { 0.1, 0.9, 0.5, 0.5 }, w[4];
    space_from_unit_vec(&sp, u, w);
    cr_assert(w[0] == 0 && isnan(w[1]) && isnan(w[2]) && !isnan(w[3]));
}

Test(space, describe_reads_back_to_the_same_space_and_compare_explains)
{
    add_ok("lr", "loguniform(1e-05, 0.01) grid=3");
    add_ok("n", "logint(2, 256)");
    add_ok("c", "choice(a, \"b c\", \"x,y\", 3)");
    add_ok("d", "uniform(-1.5, 0.1) if c in (a, 3)");
    space back;
    space_init(&back);
    char a[512], b[512];
    tl_err err = { 0 };
    for (int i = 0; i < sp.n; i++) {
        space_describe(&sp, i, 1, a, sizeof a);
        cr_assert_eq(space_add(&back, sp.p[i].name, a, &err), 0, "'%s': %s", a, err.msg);
        space_describe(&back, i, 1, b, sizeof b);
        cr_assert_str_eq(a, b);
    }
    space_describe(&sp, 0, 1, a, sizeof a);
    cr_assert_str_eq(a, "loguniform(1e-05, 0.01) grid=3");
    space_describe(&sp, 3, 0, a, sizeof a);
    cr_assert_str_eq(a, "uniform(-1.5, 0.1) if c in (a, 3)");
    cr_assert_eq(space_compare(&sp, &back, &err), 0, "%s", err.msg);

    space other;
    space_init(&other);
    add_ok("unused", "uniform(0, 1)"); /* keep the fixture busy: sp now has 5 */
    tl_err e2 = { 0 };
    cr_assert_eq(space_compare(&back, &sp, &e2), TL_EINPUT);
    cr_assert(strstr(e2.msg, "unused: new parameter"), "%s", e2.msg);
    cr_assert_eq(space_add(&other, "lr", "uniform(0, 1)", &err), 0);
    cr_assert_eq(space_add(&other, "n", "logint(2, 256)", &err), 0);
    cr_assert_eq(space_add(&other, "c", "choice(a, \"b c\", \"x,y\", 3)", &err), 0);
    cr_assert_eq(space_add(&other, "d", "uniform(-1.5, 0.1) if c in (a, 3)", &err), 0);
    cr_assert_eq(space_compare(&back, &other, &e2), TL_EINPUT);
    cr_assert(strstr(e2.msg, "lr: stored loguniform(1e-05, 0.01), now uniform(0, 1)"), "%s",
              e2.msg);
    space copy;
    cr_assert_eq(space_copy(&copy, &back, &err), 0);
    cr_assert_eq(space_compare(&back, &copy, &err), 0);
    cr_assert_neq(copy.p[2].cats[0], back.p[2].cats[0], "copy must own its strings");
    space_free(&copy);
    space_free(&other);
    space_free(&back);
    space_free(NULL);
}

Test(space, grid_points_cover_ranges_and_choices)
{
    add_ok("u", "uniform(0, 1) grid=5");
    add_ok("l", "loguniform(1e-3, 1) grid=4");
    add_ok("i", "int(1, 3)");
    add_ok("li", "logint(1, 1000) grid=4");
    add_ok("c", "choice(a, b, c)");
    add_ok("one", "uniform(2, 4) grid=1");
    add_ok("dense", "int(0, 100) grid=3");
    double g[16];
    int n = space_grid_values(&sp, 0, 9, g, 16);
    cr_assert_eq(n, 5);
    for (int k = 0; k < 5; k++)
        cr_assert_float_eq(g[k], 0.25 * k, 1e-15);
    n = space_grid_values(&sp, 1, 9, g, 16);
    cr_assert_eq(n, 4);
    cr_assert(g[0] == 1e-3 && g[3] == 1);
    cr_assert_float_eq(g[1], 1e-2, 1e-15);
    cr_assert_eq(space_grid_values(&sp, 2, 5, g, 16), 3); /* fewer ints than points: all */
    cr_assert(g[0] == 1 && g[1] == 2 && g[2] == 3);
    n = space_grid_values(&sp, 3, 9, g, 16);
    cr_assert_eq(n, 4);
    cr_assert(g[0] == 1 && g[1] == 10 && g[2] == 100 && g[3] == 1000);
    cr_assert_eq(space_grid_values(&sp, 4, 2, g, 16), 3);
    cr_assert_eq(space_grid_values(&sp, 5, 9, g, 16), 1);
    cr_assert_float_eq(g[0], 3, 1e-15);
    n = space_grid_values(&sp, 6, 9, g, 16);
    cr_assert_eq(n, 3);
    cr_assert(g[0] == 0 && g[1] == 50 && g[2] == 100);
    cr_assert_eq(space_grid_values(&sp, 0, 9, NULL, 0), 5, "counting without a buffer");
}
