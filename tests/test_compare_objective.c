/* tests/test_compare_objective.c: the training objective records each
 * trial's own test accuracy and loss (attributes test_accuracy, test_loss)
 * whenever a run ends or pauses with a test set: complete trials, trials
 * stopped at a halving rung (pruned), so that `tunelab compare` can report
 * the test accuracy of any method's pick without a retrain.  A tiny slice
 * of Fashion-MNIST (the Debian package) and a tiny MLP keep it quick. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/study.h"
#include "tests/tmpdir_util.h"
#include "tune/config.h"
#include "tune/study_setup.h"

TMPDIR_FIXTURE(dir, "tl_cmpobj")

TestSuite(compare_objective, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

Test(compare_objective, every_run_of_sha_records_its_test_accuracy)
{
    char db[160], text[1024];
    snprintf(db, sizeof db, "%s/o.db", dir);
    snprintf(text, sizeof text,
             "[data]\ndataset = fmnist\ntrain_limit = 300\nval_limit = 100\ntest_limit = 100\n"
             "[model]\ntype = mlp\nlayers = 1\nhidden = 8\n"
             "[train]\nepochs = 3\nbatch_size = 50\nthreads = 1\n"
             "[study]\nname = o\nstorage = %s\nsampler = random\nscheduler = sha\ntrials = 4\n"
             "min_budget = 1\nmax_budget = 3\neta = 3\nmetric = val_accuracy\n"
             "[space]\ntrain.lr = loguniform(1e-4, 1e-1)\n",
             db);
    config c;
    tl_err err = {0};
    config_defaults(&c);
    cr_assert_eq(config_load_text(&c, text, strlen(text), "o.ini", &err), 0, "%s", err.msg);
    cr_assert_eq(config_resolve(&c, NULL, &err), 0, "%s", err.msg);
    space sp;
    cr_assert_eq(tune_space_from_config(&c, &sp, &err), 0, "%s", err.msg);
    study_config sc;
    tune_algo_options opts;
    tune_study_config(&c, &sc, &opts);
    tune_objective *o = calloc(1, sizeof *o);
    cr_assert_eq(tune_objective_open(o, &c, &sp, &err), 0, "%s", err.msg);
    study *st;
    cr_assert_eq(study_open(&st, &sc, &sp, &err), 0, "%s", err.msg);
    cr_assert_eq(tune_objective_optimize(o, st, 1, NULL, NULL, &err), 0, "%s", err.msg);
    trial *t;
    int n, pruned = 0, complete = 0;
    cr_assert_eq(study_trials(st, &t, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    for (int k = 0; k < n; k++) {
        char acc[64] = "", loss[64] = "";
        cr_assert_eq(study_trial_attr_get(st, k, "test_accuracy", acc, sizeof acc), 1,
                     "trial %d (%s) has no test_accuracy", k, trial_state_str(t[k].state));
        cr_assert_eq(study_trial_attr_get(st, k, "test_loss", loss, sizeof loss), 1, "trial %d", k);
        double a = strtod(acc, NULL), l = strtod(loss, NULL);
        cr_assert(a >= 0 && a <= 1, "trial %d: test_accuracy %s", k, acc);
        cr_assert(isfinite(l) && l > 0, "trial %d: test_loss %s", k, loss);
        pruned += t[k].state == TRIAL_PRUNED;
        complete += t[k].state == TRIAL_COMPLETE;
    }
    cr_assert_eq(pruned, 3, "sha stops 3 of 4 at rung 0");
    cr_assert_eq(complete, 1);
    study_trials_free(t, n);
    study_close(st);
    tune_objective_close(o);
    free(o);
    space_free(&sp);
}
