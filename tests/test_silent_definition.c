/* tests/test_silent_definition.c: a study remembers its definition (space,
 * sampler and scheduler with their options, objective, metric): a run of
 * a changed config stops with the difference and exit 2, changes nothing,
 * and continues only with --continue-changed; a new study.name starts a
 * new study. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tune/study_definition.h"

static char dir[64];

static void mkdir_tmp(void)
{
    tmpdir_make(dir, sizeof dir, "tl-silentd");
    cli_write_in(dir, "b.ini", "[objective]\ntype = function\n[study]\ntrials = 3\nstorage = b.db\nsampler = bayes\n"
                               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
}

static void rm_tmp(void)
{
    tmpdir_remove(dir);
}

TestSuite(silent_definition, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 60);

Test(silent_definition, the_diff_names_each_changed_key)
{
    config c;
    config_defaults(&c);
    space sp;
    space_init(&sp);
    tl_err e = {0};
    cr_assert_eq(space_add(&sp, "train.lr", "loguniform(1e-4, 0.1)", &e), 0, "%s", e.msg);
    snprintf(c.sampler, sizeof c.sampler, "bayes");
    char *a = tune_study_definition(&c, &sp);
    snprintf(c.acquisition, sizeof c.acquisition, "ucb");
    snprintf(c.scheduler, sizeof c.scheduler, "asha");
    char *b = tune_study_definition(&c, &sp);
    char diff[2048];
    cr_assert_eq(tune_definition_diff(a, a, diff, sizeof diff), 0);
    cr_assert_str_eq(diff, "");
    int n = tune_definition_diff(a, b, diff, sizeof diff);
    cr_assert(strstr(diff, "  study.acquisition: stored 'logei', now 'ucb'\n"), "%s", diff);
    cr_assert(strstr(diff, "  study.scheduler: stored 'fifo', now 'asha'\n"), "%s", diff);
    cr_assert(strstr(diff, "  study.eta: stored (none), now '3'\n"), "%s", diff);
    cr_assert_eq(n, 5, "acquisition, scheduler, min_budget, max_budget, eta: %s", diff);
    cr_assert_eq(tune_definition_diff("not json", b, diff, sizeof diff), 1);
    free(a);
    free(b);
    space_free(&sp);
}

Test(silent_definition, a_changed_config_stops_until_a_new_name_or_the_flag)
{
    cli_out r = cli_run(dir, "run b.ini");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_free(&r);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp '%s/b.db' '%s/before.db'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    r = cli_run(dir, "run b.ini --set study.acquisition=ucb --set study.trials=4");
    cr_assert_eq(r.status, 2, "status %d: %s", r.status, r.err);
    snprintf(cmd, sizeof cmd, "cmp -s '%s/b.db' '%s/before.db'", dir, dir);
    cr_assert_eq(system(cmd), 0, "the refused run changed the database");
    cr_assert(strstr(r.err, "study 'b' was defined differently:\n  study.acquisition: stored 'logei', now 'ucb'\n"),
              "%s", r.err);
    cr_assert(strstr(r.err, "--set study.name=") && strstr(r.err, "--continue-changed"), "%s", r.err);
    cli_free(&r);
    r = cli_run(dir, "run b.ini --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"n_trials\":3"), "the refused run added no trial: %s", r.out);
    cli_free(&r);
    r = cli_run(dir, "run b.ini --set study.acquisition=ucb --set study.name=b-ucb --set study.storage=b-ucb.db");
    cr_assert_eq(r.status, 0, "a new study: %s", r.err);
    cli_free(&r);
    r = cli_run(dir, "run b.ini --set study.acquisition=ucb --set study.trials=4 --continue-changed --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "definition changed (--continue-changed)"), "%s", r.err);
    cr_assert(strstr(r.out, "\"n_trials\":4"), "%s", r.out);
    cli_free(&r);
    r = cli_run(dir, "run b.ini --set study.acquisition=ucb --set study.trials=4");
    cr_assert_eq(r.status, 0, "the new definition is the stored one now: %s", r.err);
    cli_free(&r);
}
