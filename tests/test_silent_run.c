/* tests/test_silent_run.c: `tunelab run` says what a person can act on: a
 * damaged database is bad input (exit 2, as `show` says) and is left as
 * it was; the all-fail stop names the config key study.max_failures; a
 * choice of numbers reaches a test function as numbers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl-silentr");

TestSuite(silent_run, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

Test(silent_run, a_damaged_database_exits_2_from_run_and_show_and_is_kept)
{
    cli_write_in(dir, "bad.db", "SQLite format 3\nthis is not a database at all, just text\n");
    cli_write_in(dir, "f.ini", "[objective]\ntype = function\n[study]\ntrials = 2\nstorage = bad.db\n"
                               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    cli_out r = cli_run(dir, "run f.ini");
    cr_assert_eq(r.status, 2, "run: status %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "bad.db"), "%s", r.err);
    cli_free(&r);
    r = cli_run(dir, "show bad.db");
    cr_assert_eq(r.status, 2, "show: status %d: %s", r.status, r.err);
    cli_free(&r);
    char path[160];
    snprintf(path, sizeof path, "%s/bad.db", dir);
    char *kept = cli_slurp(path);
    cr_assert_str_eq(kept, "SQLite format 3\nthis is not a database at all, just text\n");
    free(kept);
}

Test(silent_run, the_all_fail_stop_names_study_max_failures)
{
    cli_write_in(dir, "c.ini", "[objective]\ntype = command\ncommand = false\n[study]\ntrials = 6\nmax_failures = 2\n"
                               "storage = c.db\n[space]\nx0 = uniform(0, 1)\n");
    cli_out r = cli_run(dir, "run c.ini");
    cr_assert_eq(r.status, 1, "status %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "(study.max_failures = 2)"), "%s", r.err);
    cr_assert_null(strstr(r.err, "max_consecutive_failures"), "%s", r.err);
    cli_free(&r);
}

Test(silent_run, numeric_choices_reach_a_test_function_and_print_as_written)
{
    cli_write_in(dir, "n.ini", "[objective]\ntype = function\nfunction = branin\n[study]\ntrials = 4\nstorage = n.db\n"
                               "[space]\nx0 = choice(-5, 0, 5)\nx1 = uniform(0, 15)\n");
    cli_out r = cli_run(dir, "run n.ini");
    cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
    cr_assert(strstr(r.out, "4 complete"), "%s", r.out);
    cr_assert(strstr(r.err, "x1 = uniform(0, 15)"), "%s", r.err);
    cli_free(&r);
}
