/* tests/test_silent_run.c: `tunelab run` says what a person can act on: a
 * damaged database is bad input (exit 2, as `show` says) and is left as
 * it was; the all-fail stop names the config key study.max_failures; a
 * choice of numbers reaches a test function as numbers; the retrain line
 * names the binary a shell runs (not a bare `tunelab` off PATH), the same
 * in `run` and `best`, and run as printed gives the trial's value. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_json_util.h"
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

/* The text after the first `key` in text, or NULL. */
static const char *line_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    return at ? at + strlen(key) : NULL;
}

Test(silent_run, the_retrain_line_runs_as_printed_and_gives_the_trials_value)
{
    cli_write_in(dir, "r.ini", "[data]\ndataset = spirals\nsamples = 240\n[model]\nhidden = 16\n"
                               "[train]\nepochs = 3\nseed = 3\n[study]\ntrials = 2\nmetric = val_loss\n"
                               "storage = r.db\n[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    cli_out r = cli_run(dir, "run r.ini");
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = line_after(r.out, "retrain: ");
    cr_assert(at, "%s", r.out);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "\n"), at);
    cli_free(&r);
    /* the first word is the binary itself (its absolute path), or tunelab
     * when PATH finds this very binary */
    char first[1024];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(line, " "), line);
    char *real = realpath(cli_bin(), NULL);
    cr_assert(real);
    cr_assert(!strcmp(first, real) || !strcmp(first, "tunelab"), "%s (binary %s)", line, real);
    free(real);

    r = cli_run(dir, "best r.db");
    cr_assert_eq(r.status, 0, "%s", r.err);
    at = line_after(r.out, "retrain: ");
    cr_assert(at && !strncmp(at, line, strlen(line)) && at[strlen(line)] == '\n',
              "best and run print the same line:\n%s\n%s", line, r.out);
    cli_free(&r);
    r = cli_run(dir, "best r.db --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *j = cJSON_Parse(r.out);
    cr_assert(j, "%s", r.out);
    double best = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trial"), "value")->valuedouble;
    cr_assert_str_eq(cJSON_GetObjectItem(j, "retrain")->valuestring, line);
    cJSON_Delete(j);
    cli_free(&r);

    /* as printed, from another folder, in a shell whose PATH has no tunelab */
    char cmd[4096], want[64];
    snprintf(cmd, sizeof cmd, "cd / && PATH=/usr/bin:/bin OMP_NUM_THREADS=1 %s", line);
    r = cli_sh(cmd);
    cr_assert_eq(r.status, 0, "%s: %s", cmd, r.err);
    snprintf(want, sizeof want, "val_loss %.4f ", best);
    cr_assert(strstr(r.out, want), "%s: want %s in\n%s", cmd, want, r.out);
    cli_free(&r);
    /* and bit for bit (--json prints every digit) */
    snprintf(cmd, sizeof cmd, "cd / && PATH=/usr/bin:/bin OMP_NUM_THREADS=1 %s --json", line);
    r = cli_sh(cmd);
    cr_assert_eq(r.status, 0, "%s: %s", cmd, r.err);
    j = cli_last_json(r.out);
    cr_assert(cJSON_GetObjectItem(j, "val_loss")->valuedouble == best, "retrain %.17g vs trial %.17g",
              cJSON_GetObjectItem(j, "val_loss")->valuedouble, best);
    cJSON_Delete(j);
    cli_free(&r);
}
