/* tests/test_silent_space.c: a space prints its numbers as the shortest
 * text that reads back ("uniform(-5, 10)", not "1e+01"); a test function
 * takes a choice of numbers as those numbers (as Optuna's categorical
 * numbers), and refuses a choice of words naming the parameter. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hpo/benchfn.h"
#include "hpo/cmd_objective.h"
#include "hpo/space.h"
#include "hpo/study.h"
#include "tune/config.h"
#include "tests/space_util.h"

Test(silent_space, numbers_print_as_their_shortest_text)
{
    space sp;
    tl_err e = {0};
    su_space(&sp, "x0", "uniform(-5, 10)",
             "lr", "loguniform(1e-05, 0.01)",
             "n", "int(100, 1000000)",
             NULL);
    char buf[128];
    space_describe(&sp, 0, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "uniform(-5, 10)");
    space_describe(&sp, 1, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "loguniform(1e-05, 0.01)");
    space_describe(&sp, 2, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "int(100, 1e+06)");
    space_format_value(&sp, 0, 0.1 + 0.2, buf, sizeof buf);
    cr_assert_eq(strtod(buf, NULL), 0.1 + 0.2, "round trip: %s", buf);
    space_format_value(&sp, 0, 10, buf, sizeof buf);
    cr_assert_str_eq(buf, "10");
    space_free(&sp);

    config c;
    config_defaults(&c);
    cr_assert_eq(config_set(&c, "study.eta", "10", "t", &e), 0, "%s", e.msg);
    config_get(&c, "study.eta", buf, sizeof buf);
    cr_assert_str_eq(buf, "10");
}

Test(silent_space, a_test_function_takes_numeric_choices_as_numbers)
{
    space sp;
    tl_err e = {0};
    su_space(&sp, "x0", "choice(-5, 0, 5)",
             "x1", "uniform(0, 15)",
             NULL);
    objective o;
    cr_assert_eq(function_objective_new(&o, "branin", &sp, &e), 0, "%s", e.msg);
    trial_job job;
    memset(&job, 0, sizeof job);
    job.sp = &sp;
    job.nparams = 2;
    job.values[0] = 2; /* the third choice: 5 */
    job.values[1] = 3;
    trial_outcome out;
    memset(&out, 0, sizeof out);
    cr_assert_eq(o.run(o.ud, NULL, &job, &out), 0, "%s", out.reason);
    const benchfn *b = benchfn_find("branin");
    double x[2] = {5, 3};
    cr_assert_eq(out.value, b->f(x));
    function_objective_free(&o);
    space_free(&sp);

    su_space(&sp, "x0", "choice(a, 0, 5)",
             "x1", "uniform(0, 15)",
             NULL);
    cr_assert_eq(function_objective_new(&o, "branin", &sp, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "parameter x0: choice 'a' is not a number"), "%s", e.msg);
    space_free(&sp);
}
