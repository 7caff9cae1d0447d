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

static void status(const run_view *v, char *buf, size_t n) { run_view_status(v, " | ", buf, n); }

/* Two workers: worker A pauses trial 0 and lets the study's lock go, worker
 * B resumes trial 0 and ends it, and only then does A's "paused" event
 * arrive (the order `silent_progress/pbt_in_a_pipe_*` once saw: "4/4 done,
 * 0 running, 1 paused"). */
Test(run_view, a_late_pause_of_a_trial_that_has_ended_changes_nothing)
{
    term t = {0};
    run_view v;
    run_view_init(&v, &t, 2, 4, 0, 0);
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    ev(&v, STUDY_EV_STARTED, 1, TRIAL_RUNNING);
    ev(&v, STUDY_EV_REPORT, 0, TRIAL_RUNNING);
    /* B resumes 0 and ends it before A's pause event is delivered */
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_COMPLETE);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_PAUSED); /* late */
    ev(&v, STUDY_EV_REPORT, 0, TRIAL_RUNNING);  /* late too */
    char buf[512];
    status(&v, buf, sizeof buf);
    cr_assert(strstr(buf, "trials 1/2 done, 1 running, 0 paused"), "%s", buf);
    ev(&v, STUDY_EV_FINISHED, 1, TRIAL_COMPLETE);
    status(&v, buf, sizeof buf);
    cr_assert(strstr(buf, "trials 2/2 done, 0 running, 0 paused  100%"), "%s", buf);
}

Test(run_view, a_paused_trial_counts_as_paused_until_it_runs_again)
{
    term t = {0};
    run_view v;
    run_view_init(&v, &t, 3, 4, 0, 0);
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    ev(&v, STUDY_EV_STARTED, 1, TRIAL_RUNNING);
    ev(&v, STUDY_EV_FINISHED, 0, TRIAL_PAUSED);
    char buf[512];
    status(&v, buf, sizeof buf);
    cr_assert(strstr(buf, "trials 0/3 done, 1 running, 1 paused"), "%s", buf);
    ev(&v, STUDY_EV_STARTED, 0, TRIAL_RUNNING);
    status(&v, buf, sizeof buf);
    cr_assert(strstr(buf, "trials 0/3 done, 2 running, 0 paused"), "%s", buf);
    /* more trials end than the view remembers: the oldest is forgotten, the
     * counts stay right */
    for (int k = 10; k < 10 + 2 * RUN_VIEW_SLOTS; k++) {
        ev(&v, STUDY_EV_STARTED, k, TRIAL_RUNNING);
        ev(&v, STUDY_EV_FINISHED, k, TRIAL_PRUNED);
    }
    status(&v, buf, sizeof buf);
    cr_assert(strstr(buf, "done, 2 running, 0 paused"), "%s", buf);
    cr_assert_eq(v.finished, 2 * RUN_VIEW_SLOTS);
}
