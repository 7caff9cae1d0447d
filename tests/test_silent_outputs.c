/* tests/test_silent_outputs.c: outputs are checked before any work, and a
 * failed command changes no file: train.checkpoint in a missing folder, a
 * folder, a file that is not a checkpoint, another model's checkpoint, a
 * read-only folder (as a user other than root); --plot in a missing
 * folder. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

static char dir[64];

static void mkdir_tmp(void)
{
    tmpdir_make(dir, sizeof dir, "tl-silento");
    cli_write_in(dir, "s.ini", "[data]\ndataset = spirals\nsamples = 200\n[model]\nhidden = 16\n[train]\nepochs = 2\n");
}

static void rm_tmp(void)
{
    tmpdir_remove(dir);
}

TestSuite(silent_outputs, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 60);

/* Runs `tunelab ARGS` in dir, expects exit 2, no epoch printed, and `msg`
 * in stderr. */
static void expect_early_error(const char *args, const char *msg)
{
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, 2, "%s: status %d: %s", args, r.status, r.err);
    cr_assert(strstr(r.err, msg), "%s: %s", args, r.err);
    cr_assert_null(strstr(r.out, "train_loss"), "%s: trained before failing: %s", args, r.out);
    cli_free(&r);
}

Test(silent_outputs, a_checkpoint_place_that_cannot_be_written_fails_before_training)
{
    expect_early_error("train s.ini --set train.checkpoint=missing/x.ckpt",
                       "train.checkpoint: missing/x.ckpt: the folder missing does not exist");
    char sub[128];
    snprintf(sub, sizeof sub, "%s/folder", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    expect_early_error("train s.ini --set train.checkpoint=folder", "train.checkpoint: folder: is a folder");
    if (geteuid() == 0)
        return; /* root writes in a read-only folder */
    snprintf(sub, sizeof sub, "%s/ro", dir);
    cr_assert_eq(mkdir(sub, 0555), 0);
    expect_early_error("train s.ini --set train.checkpoint=ro/x.ckpt", "cannot write in ro");
}

Test(silent_outputs, another_file_or_another_models_checkpoint_is_not_overwritten)
{
    char path[128];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    cli_write(path, "my notes\n");
    expect_early_error("train s.ini --set train.checkpoint=notes.txt", "is not a readable tunelab checkpoint");
    char *kept = cli_slurp(path);
    cr_assert_str_eq(kept, "my notes\n");
    free(kept);

    cli_out r = cli_run(dir, "train s.ini --set train.checkpoint=a.ckpt");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_free(&r);
    r = cli_run(dir, "train s.ini --set train.checkpoint=a.ckpt");
    cr_assert_eq(r.status, 0, "the same model's checkpoint is replaced: %s", r.err);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/a.ckpt", dir);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    expect_early_error("train s.ini --set train.checkpoint=a.ckpt --set model.hidden=8",
                       "holds a checkpoint of another model");
    cr_assert_eq(stat(path, &after), 0);
    cr_assert_eq(before.st_size, after.st_size);
    cr_assert_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

Test(silent_outputs, a_plot_that_cannot_be_written_fails_before_the_work)
{
    expect_early_error("schedule s.ini --plot missing/lr.png", "--plot: missing/lr.png: the folder missing does not exist");
    cli_out r = cli_run(dir, "schedule s.ini --plot missing/lr.png");
    cr_assert_str_eq(r.out, "", "no table before the error");
    cli_free(&r);
}
