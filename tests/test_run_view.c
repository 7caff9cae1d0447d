/* tests/test_run_view.c: the CLI's progress view (cli/run_view.c) counts
 * running, paused and done trials from the study's events, in whatever
 * order the workers emit them. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cli/run_view.h"

static void ev(run_view *v, int kind, int trial, int state)
{
    study_event e = {.kind = kind, .trial = trial, .state = state, .step = 1, .value = 1.0,
                     .budget = 1, .reason = ""};
    run_view_event(v, &e, 1);
}

/* The view's status line holds `want`. */
static void expect_status(const run_view *v, const char *want)
{
    char buf[512];
    run_view_status(v, " | ", buf, sizeof buf);
    cr_assert(strstr(buf, want), "want '%s' in '%s'", want, buf);
}

/* A view of `total` trials with trials 0 and 1 running. */
static void two_running(run_view *v, term *t, int total)
{
    run_view_init(v, t, total, 4, 0, 0);
    ev(v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    ev(v, STUDY_EV_STARTED, 1, TRIAL_RUNNING);
}

/* Two workers: worker A pauses trial 0 and lets the study's lock go, worker
 * B resumes trial 0 and ends it, and only then does A's "paused" event
 * arrive (the order `silent_progress/pbt_in_a_pipe_*` once saw: "4/4 done,
 * 0 running, 1 paused"). */
Test(run_view, a_late_pause_of_a_trial_that_has_ended_changes_nothing)
{
    term t = {0};
    run_view v;
    two_running(&v, &t, 2);
    ev(&v, STUDY_EV_REPORT, 0, TRIAL_RUNNING);
    /* B resumes 0 and ends it before A's pause event is delivered */
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_COMPLETE);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_PAUSED); /* late */
    ev(&v, STUDY_EV_REPORT, 0, TRIAL_RUNNING);  /* late too */
    expect_status(&v, "trials 1/2 done, 1 running, 0 paused");
    ev(&v, STUDY_EV_FINISHED, 1, TRIAL_COMPLETE);
    expect_status(&v, "trials 2/2 done, 0 running, 0 paused  100%");
}

Test(run_view, a_paused_trial_counts_as_paused_until_it_runs_again)
{
    term t = {0};
    run_view v;
    two_running(&v, &t, 3);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_PAUSED);
    expect_status(&v, "trials 0/3 done, 1 running, 1 paused");
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    expect_status(&v, "trials 0/3 done, 2 running, 0 paused");
    /* more trials end than the view remembers: the oldest is forgotten, the
     * counts stay right */
    for (int k = 10; k < 10 + 2 * RUN_VIEW_SLOTS; k++) {
        ev(&v, STUDY_EV_STARTED, k, TRIAL_RUNNING);
        ev(&v, STUDY_EV_FINISHED, k, TRIAL_PRUNED);
    }
    expect_status(&v, "done, 2 running, 0 paused");
    cr_assert_eq(v.finished, 2 * RUN_VIEW_SLOTS);
}
