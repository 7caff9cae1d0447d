/* tests/test_cmd_objective.c: the command objective (substitution and
 * environment, the last number as value, tunelab-report lines, a STOP
 * decision killing the program, failure, timeout killing the process
 * group, no number, a signal) and the function objective. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpo/cmd_objective.h"
#include "hpo/executor.h"
#include "hpo/sched_median.h"
#include "hpo/benchfn.h"
#include "util/timer.h"

#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl_cmd")

TestSuite(cmd_objective, .init = tmpdir_setup, .fini = tmpdir_teardown);

static study *open_study(const char *name, const char *scheduler, space *sp)
{
    tl_err err = { 0 };
    space_init(sp);
    cr_assert_eq(space_add(sp, "train.lr", "loguniform(1e-4, 1e-1)", &err), 0);
    cr_assert_eq(space_add(sp, "opt", "choice(sgd, adamw)", &err), 0);
    cr_assert_eq(space_add(sp, "beta-2", "uniform(0.9, 0.999) if opt == adamw", &err), 0);
    study_config c;
    study_config_default(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.storage, sizeof c.storage, "%s/%s.db", dir, name);
    snprintf(c.scheduler, sizeof c.scheduler, "%s", scheduler);
    c.trials = 20;
    c.max_budget = 4;
    median_options mo;
    median_options_default(&mo);
    mo.startup_trials = 1;
    if (!strcmp(scheduler, "median"))
        c.scheduler_opts = &mo;
    study *s;
    cr_assert_eq(study_open(&s, &c, sp, &err), 0, "%s", err.msg);
    return s;
}

/* Asks for a trial and runs `cmd` on it; returns the outcome's state and
 * fills *out.  *job receives the job. */
static int run_cmd(study *s, const char *cmd, double timeout, trial_job *job, trial_outcome *out)
{
    objective obj;
    tl_err err = { 0 };
    cr_assert_eq(cmd_objective_new(&obj, cmd, timeout, &err), 0, "%s", err.msg);
    cr_assert_eq(study_ask(s, job, &err), 0, "%s", err.msg);
    cr_assert_eq(job->kind, JOB_NEW);
    memset(out, 0, sizeof *out);
    out->value = NAN;
    int rc = obj.run(obj.ud, s, job, out);
    cmd_objective_free(&obj);
    cmd_objective_free(&obj); /* twice: the second is a no-op */
    if (rc && out->state != TRIAL_FAILED)
        cr_assert_fail("nonzero return %d with state %s", rc, trial_state_str(out->state));
    return out->state;
}

Test(cmd_objective, substitutes_values_and_exports_the_environment)
{
    space sp;
    study *s = open_study("subst", "fifo", &sp);
    /* the command checks {placeholders} against the environment, then
     * prints lr * 2 and the trial number as words around the value */
    const char *cmd = "test \"{train.lr}\" = \"$TRAIN_LR\" && test \"{opt}\" = \"$OPT\" && "
                      "test \"{trial}\" = \"$TUNELAB_TRIAL\" && test \"{budget}\" = 4 && "
                      "test \"{beta-2}\" = \"${BETA_2:-}\" && test \"{seed}\" = \"$TUNELAB_SEED\" && "
                      "echo 'loss: 7' && awk \"BEGIN { print \\\"value=\\\" {train.lr} * 2 }\"; "
                      "echo done";
    for (int k = 0; k < 3; k++) {
        trial_job job;
        trial_outcome out;
        int st = run_cmd(s, cmd, 10, &job, &out);
        cr_assert_eq(st, TRIAL_COMPLETE, "trial %d: %s", k, out.reason);
        cr_assert_float_eq(out.value, 2 * job.values[0], 1e-5 * job.values[0],
                           "value %g for lr %g", out.value, job.values[0]);
        tl_err err = { 0 };
        cr_assert_eq(study_tell(s, job.number, out.state, out.value, out.reason, &err), 0);
    }
    study_close(s);
    space_free(&sp);
}

Test(cmd_objective, report_lines_become_intermediate_values)
{
    space sp;
    study *s = open_study("reports", "fifo", &sp);
    trial_job job;
    trial_outcome out;
    int st = run_cmd(s,
                     "echo tunelab-report 0 3.5; echo 'tunelab-report 1 2.5 2'; "
                     "echo 'tunelab-report x'; printf 'final 2.0'",
                     10, &job, &out);
    cr_assert_eq(st, TRIAL_COMPLETE, "%s", out.reason);
    cr_assert_eq(out.value, 2.0, "the report lines are not the value; no trailing newline needed");
    tl_err err = { 0 };
    cr_assert_eq(study_tell(s, job.number, st, out.value, NULL, &err), 0);
    trial t;
    cr_assert_eq(study_get_trial(s, job.number, &t, &err), 0);
    cr_assert_eq(t.nsteps, 2);
    cr_assert(t.steps[0] == 0 && t.inter[0] == 3.5 && t.steps[1] == 1 && t.inter[1] == 2.5);
    cr_assert_eq(t.budget, 2, "budget from the optional third field");
    trial_free(&t);
    study_close(s);
    space_free(&sp);
}

Test(cmd_objective, stop_decision_kills_the_program_and_prunes)
{
    space sp;
    study *s = open_study("prune", "median", &sp);
    trial_job job;
    trial_outcome out;
    tl_err err = { 0 };
    int st = run_cmd(s, "echo tunelab-report 0 1; echo tunelab-report 1 1; echo 1", 10, &job, &out);
    cr_assert_eq(st, TRIAL_COMPLETE, "%s", out.reason);
    cr_assert_eq(study_tell(s, job.number, st, out.value, NULL, &err), 0);
    double t0 = tl_now();
    st = run_cmd(s, "echo tunelab-report 0 5; sleep 5; echo tunelab-report 1 5; echo 5", 10, &job,
                 &out);
    double took = tl_now() - t0;
    cr_assert_eq(st, TRIAL_PRUNED, "%s", out.reason);
    cr_assert(took < 3, "the program was not killed (%.1f s)", took);
    cr_assert_eq(study_tell(s, job.number, st, out.value, NULL, &err), 0);
    trial t;
    cr_assert_eq(study_get_trial(s, job.number, &t, &err), 0);
    cr_assert_eq(t.state, TRIAL_PRUNED);
    cr_assert_eq(t.value, 5, "pruned at its last report");
    cr_assert_eq(t.nsteps, 1);
    trial_free(&t);
    study_close(s);
    space_free(&sp);
}

Test(cmd_objective, failures_name_their_reason)
{
    space sp;
    study *s = open_study("fail", "fifo", &sp);
    static const struct {
        const char *cmd, *reason;
    } cases[] = {
        { "echo 0.5; echo 'oops: no GPU' >&2; exit 3", "exited with status 3: oops: no GPU" },
        { "echo hello world", "printed no number" },
        { "echo 1; kill -9 $$", "killed by signal 9" },
        { "exec /nonexistent/prog", "status 127" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        trial_job job;
        trial_outcome out;
        int st = run_cmd(s, cases[k].cmd, 10, &job, &out);
        cr_assert_eq(st, TRIAL_FAILED, "'%s' did not fail", cases[k].cmd);
        cr_assert(strstr(out.reason, cases[k].reason), "'%s': reason '%s'", cases[k].cmd,
                  out.reason);
        tl_err err = { 0 };
        cr_assert_eq(study_tell(s, job.number, st, out.value, out.reason, &err), 0);
    }
    tl_err err = { 0 };
    objective obj;
    cr_assert_eq(cmd_objective_new(&obj, "", 0, &err), TL_EINPUT);
    study_close(s);
    space_free(&sp);
}

/* 1 when pid is gone or a zombie. */
static int gone(long pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

Test(cmd_objective, timeout_kills_the_whole_process_group)
{
    space sp;
    study *s = open_study("timeout", "fifo", &sp);
    char cmd[512], pidfile[128];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", dir);
    snprintf(cmd, sizeof cmd, "sleep 30 & echo $! > %s; echo 1; sleep 30; echo 2", pidfile);
    trial_job job;
    trial_outcome out;
    double t0 = tl_now();
    int st = run_cmd(s, cmd, 0.3, &job, &out);
    double took = tl_now() - t0;
    cr_assert_eq(st, TRIAL_FAILED);
    cr_assert(strstr(out.reason, "timed out after 0.3 s"), "%s", out.reason);
    cr_assert(took < 3, "took %.1f s", took);
    FILE *f = fopen(pidfile, "r");
    cr_assert_not_null(f);
    long bg = 0;
    cr_assert_eq(fscanf(f, "%ld", &bg), 1);
    fclose(f);
    int dead = 0;
    for (int k = 0; k < 100 && !dead; k++) {
        dead = gone(bg);
        if (!dead) {
            struct timespec ts = { 0, 10000000 };
            nanosleep(&ts, NULL);
        }
    }
    cr_assert(dead, "background child %ld survived the timeout", bg);
    study_close(s);
    space_free(&sp);
}

Test(cmd_objective, runs_under_the_executor_with_two_workers)
{
    space sp;
    study *s = open_study("exec", "fifo", &sp);
    objective obj;
    tl_err err = { 0 };
    cr_assert_eq(cmd_objective_new(&obj, "echo tunelab-report 0 {train.lr}; echo {train.lr}", 10,
                                   &err), 0);
    cr_assert_eq(study_optimize(s, &obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    trial *t;
    int n;
    cr_assert_eq(study_trials(s, &t, &n, &err), 0);
    cr_assert_eq(n, 20);
    for (int k = 0; k < n; k++) {
        cr_assert_eq(t[k].state, TRIAL_COMPLETE, "trial %d: %s", k, t[k].reason);
        cr_assert_float_eq(t[k].value, t[k].values[0], 1e-12 * t[k].values[0]);
        cr_assert_eq(t[k].nsteps, 1);
    }
    study_trials_free(t, n);
    cmd_objective_free(&obj);
    study_close(s);
    space_free(&sp);
}

Test(cmd_objective, function_objective_evaluates_test_functions)
{
    space sp;
    tl_err err = { 0 };
    space_init(&sp);
    cr_assert_eq(space_add(&sp, "x1", "uniform(0, 15)", &err), 0);
    cr_assert_eq(space_add(&sp, "x0", "uniform(-5, 10)", &err), 0);
    study_config c;
    study_config_default(&c);
    snprintf(c.name, sizeof c.name, "branin");
    snprintf(c.storage, sizeof c.storage, "%s/branin.db", dir);
    snprintf(c.sampler, sizeof c.sampler, "sobol");
    c.trials = 16;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    objective obj;
    cr_assert_eq(function_objective_new(&obj, "branin", &sp, &err), 0, "%s", err.msg);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    trial *t;
    int n;
    cr_assert_eq(study_trials(s, &t, &n, &err), 0);
    cr_assert_eq(n, 16);
    for (int k = 0; k < n; k++) {
        double x[2] = { t[k].values[1], t[k].values[0] }; /* mapped by name: x0 is param 1 */
        cr_assert_eq(t[k].value, benchfn_branin(x), "trial %d", k);
    }
    study_trials_free(t, n);
    function_objective_free(&obj);
    function_objective_free(NULL);
    cr_assert_eq(function_objective_new(&obj, "nope", &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "unknown test function 'nope'") && strstr(err.msg, "branin"), "%s",
              err.msg);
    cr_assert_eq(function_objective_new(&obj, "hartmann6", &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "needs 6 parameters"), "%s", err.msg);
    study_close(s);
    space_free(&sp);
}
