/* tests/test_silent_outputs.c: outputs are checked before any work, and a
 * failed command changes no file: train.checkpoint in a missing folder, a
 * folder, a file that is not a checkpoint, another model's checkpoint (the
 * architecture: every shape), a read-only folder (as user nobody when the
 * tests run as root); --plot in a missing folder. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/cli_util.h"
#include "tests/reader_util.h"
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
}

/* chmod does not stop root: the command runs in a child that cannot write
 * the folder (user nobody when the tests run as root, tests/reader_util.h),
 * its outputs in a folder it may write. */
Test(silent_outputs, a_checkpoint_in_a_read_only_folder_fails_before_training)
{
    char ro[128], out[128], path[192], msg[256], why[256];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(chmod(dir, 0755), 0); /* mkdtemp's 0700: let the child in */
    cr_assert_eq(mkdir(ro, 0555), 0);
    cr_assert_eq(chmod(ro, 0555), 0);
    cr_assert_eq(mkdir(out, 0777), 0);
    cr_assert_eq(chmod(out, 0777), 0); /* past the umask */
    int fd[2];
    pid_t pid = reader_fork(ro, fd, why, sizeof why);
    if (pid == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "cd '%s' && NO_COLOR=1 OMP_NUM_THREADS=1 '%s' train s.ini "
                 "--set train.checkpoint=ro/x.ckpt >'%s/1.out' 2>'%s/1.err'; echo $? >'%s/status'",
                 dir, cli_bin(), out, out, out);
        if (!why[0] && system(cmd) != 0)
            snprintf(why, sizeof why, "the shell failed in the child");
        reader_reply(fd, why);
    }
    reader_wait(pid, fd, msg, sizeof msg);
    if (!strncmp(msg, "skip: ", 6))
        cr_skip_test("%s", msg + 6);
    cr_assert_str_empty(msg, "%s", msg);
    snprintf(path, sizeof path, "%s/status", out);
    char *status = cli_slurp(path);
    cr_assert_str_eq(status, "2\n", "exit status");
    free(status);
    snprintf(path, sizeof path, "%s/1.err", out);
    char *err = cli_slurp(path);
    cr_assert(strstr(err, "train.checkpoint: ro/x.ckpt: cannot write in ro"), "%s", err);
    free(err);
    snprintf(path, sizeof path, "%s/1.out", out);
    char *o = cli_slurp(path);
    cr_assert_null(strstr(o, "train_loss"), "trained before failing: %s", o);
    free(o);
    char ls[64];
    reader_listing(ro, ls, sizeof ls);
    cr_assert_str_eq(ls, ". .. ", "nothing written in the read-only folder");
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

/* 2-16-16-3 and 2-15-17-3 both have 371 parameters: the shapes differ. */
Test(silent_outputs, a_checkpoint_with_the_same_count_but_other_shapes_is_not_overwritten)
{
    cli_out r = cli_run(dir, "train s.ini --set train.checkpoint=w.ckpt --set model.widths=16,16");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "2-16-16-3 relu, 371 parameters"), "%s", r.err);
    cli_free(&r);
    char path[128];
    snprintf(path, sizeof path, "%s/w.ckpt", dir);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    r = cli_run(dir, "train s.ini --set model.widths=15,17");
    cr_assert(strstr(r.err, "2-15-17-3 relu, 371 parameters"), "the same count: %s", r.err);
    cli_free(&r);
    expect_early_error("train s.ini --set train.checkpoint=w.ckpt --set model.widths=15,17",
                       "holds a checkpoint of another model (architecture mismatch at tensor 0: checkpoint has "
                       "fc0.weight [16 x 2]");
    cr_assert_eq(stat(path, &after), 0);
    cr_assert_eq(before.st_size, after.st_size);
    cr_assert_eq(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    cr_assert_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

Test(silent_outputs, a_plot_that_cannot_be_written_fails_before_the_work)
{
    expect_early_error("schedule s.ini --plot missing/lr.png", "--plot: missing/lr.png: the folder missing does not exist");
    cli_out r = cli_run(dir, "schedule s.ini --plot missing/lr.png");
    cr_assert_str_eq(r.out, "", "no table before the error");
    cli_free(&r);
}
