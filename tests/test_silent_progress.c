/* tests/test_silent_progress.c: progress a person can read.  In a pipe,
 * `run` writes plain "# progress:" lines (no escape codes) that count
 * trials done, running and paused for every scheduler (PBT included, two
 * workers: two running); `train` prints a compact header, and the whole
 * configuration only with --verbose. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

static char dir[64];

static void mkdir_tmp(void)
{
    tmpdir_make(dir, sizeof dir, "tl-silentp");
    cli_write_in(dir, "p.ini", "[data]\ndataset = spirals\nsamples = 300\n[model]\nhidden = 16\n[train]\nepochs = 4\n"
                               "[study]\nscheduler = pbt\nstorage = p.db\nworkers = 2\n[pbt]\npopulation = 4\n"
                               "[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
}

static void rm_tmp(void)
{
    tmpdir_remove(dir);
}

TestSuite(silent_progress, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 120);

Test(silent_progress, pbt_in_a_pipe_counts_running_paused_and_done)
{
    setenv("TUNELAB_PROGRESS_SECONDS", "0", 1);
    cli_out r = cli_run(dir, "run p.ini");
    unsetenv("TUNELAB_PROGRESS_SECONDS");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strchr(r.err, '\033'), "no escape codes in a pipe");
    cr_assert(strstr(r.err, "# progress: trials 0/4 done, 2 running"), "two workers, two running: %s", r.err);
    cr_assert(strstr(r.err, " 1 paused") || strstr(r.err, " 2 paused") || strstr(r.err, " 3 paused"),
              "PBT's members wait at their ready points: %s", r.err);
    cr_assert(strstr(r.err, "# progress: trials 4/4 done, 0 running, 0 paused  100%"), "%s", r.err);
    cr_assert(strstr(r.err, "left | best "), "an estimate and the best so far: %s", r.err);
    cli_free(&r);
}

Test(silent_progress, train_prints_a_compact_header_unless_verbose)
{
    cli_write_in(dir, "t.ini", "[data]\ndataset = spirals\nsamples = 300\n[train]\nepochs = 1\n");
    cli_out r = cli_run(dir, "train t.ini");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "# settings: data.dataset=spirals data.samples=300 train.epochs=1"), "%s", r.err);
    cr_assert_null(strstr(r.err, "resolved configuration"), "%s", r.err);
    int lines = 0;
    for (const char *c = r.err; *c; c++)
        lines += *c == '\n';
    cr_assert_leq(lines, 12, "a compact header: %s", r.err);
    cli_free(&r);
    r = cli_run(dir, "train t.ini --verbose");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "# resolved configuration:\n"), "%s", r.err);
    cr_assert(strstr(r.err, "#   timeout = 0\n"), "%s", r.err);
    cli_free(&r);
}

Test(silent_progress, run_prints_every_key_only_with_verbose)
{
    cli_write_in(dir, "f.ini", "[objective]\ntype = function\n[study]\ntrials = 2\nstorage = f.db\n"
                               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    cli_out r = cli_run(dir, "run f.ini");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strstr(r.err, "#   timeout = 0"), "%s", r.err);
    cli_free(&r);
    cli_expect_err(dir, "run f.ini --verbose", 0, "#   timeout = 0\n");
}
