/* tests/test_executor.c: study_optimize: two workers running trials at the
 * same time, one worker without a parallel region, failed and NaN trials,
 * the all-fail stop, progress events delivered without the study lock,
 * paused trials' states kept and saved. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/scheduler.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

TMPDIR_FIXTURE(dir, "tl_exec")

TestSuite(executor, .init = tmpdir_setup, .fini = tmpdir_teardown);

static study *open_study(const char *name, int trials, int max_fail)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "x", "uniform(-1, 1)", NULL);
    study_config c = su_config_in(dir, name);
    c.trials = trials;
    c.max_consecutive_failures = max_fail;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    space_free(&sp);
    return s;
}

typedef struct probe {
    int running, max_running;
    int threads[8];
    int in_parallel;
} probe;

static void nap_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static int probe_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    probe *p = ud;
    int now;
#pragma omp atomic capture
    now = ++p->running;
#pragma omp critical(probe)
    {
        if (now > p->max_running)
            p->max_running = now;
        p->threads[omp_get_thread_num() & 7]++;
        p->in_parallel |= omp_in_parallel();
    }
    nap_ms(15);
    tl_err err = { 0 };
    int dec;
    int rc = study_report(s, job->number, 0, job->values[0], 1, &dec, NULL, &err);
#pragma omp atomic
    p->running--;
    out->state = TRIAL_COMPLETE;
    out->value = job->values[0] * job->values[0];
    return rc;
}

Test(executor, two_workers_run_trials_side_by_side)
{
    study *s = open_study("two", 8, 5);
    probe p = { 0 };
    objective obj = { .ud = &p, .run = probe_run };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(s, counts), 8);
    cr_assert_eq(counts[TRIAL_COMPLETE], 8);
    cr_assert_eq(p.max_running, 2, "two trials should overlap");
    cr_assert(p.threads[0] > 0 && p.threads[1] > 0, "both workers ran trials (%d, %d)",
              p.threads[0], p.threads[1]);
    cr_assert(p.in_parallel);
    study_close(s);
}

Test(executor, one_worker_has_no_parallel_region)
{
    study *s = open_study("one", 3, 5);
    probe p = { 0 };
    objective obj = { .ud = &p, .run = probe_run };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(p.max_running, 1);
    cr_assert(!p.in_parallel, "a lone worker must leave BLAS every core");
    cr_assert_eq(p.threads[0], 3);
    study_close(s);
}

static int flaky_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    out->state = TRIAL_COMPLETE;
    switch (job->number % 3) {
    case 1:
        snprintf(out->reason, sizeof out->reason, "bad luck");
        return 1;
    case 2:
        out->value = NAN;
        return 0;
    default:
        out->value = job->number;
        return 0;
    }
}

Test(executor, failed_and_nan_trials_fail_with_reasons_and_the_study_goes_on)
{
    study *s = open_study("flaky", 9, 3);
    objective obj = { .run = flaky_run };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    trial *t;
    int n;
    cr_assert_eq(study_trials(s, &t, &n, &err), 0);
    cr_assert_eq(n, 9);
    for (int k = 0; k < n; k++) {
        if (k % 3 == 0) {
            cr_assert_eq(t[k].state, TRIAL_COMPLETE);
            cr_assert_eq(t[k].value, k);
        } else {
            cr_assert_eq(t[k].state, TRIAL_FAILED, "trial %d", k);
            cr_assert(strstr(t[k].reason, k % 3 == 1 ? "bad luck" : "objective returned nan"),
                      "trial %d: %s", k, t[k].reason);
        }
    }
    study_trials_free(t, n);
    study_close(s);
}

static int always_fail(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    nap_ms(2);
    snprintf(out->reason, sizeof out->reason, "cannot load data");
    return TL_EINPUT;
}

Test(executor, all_fail_stop_ends_the_study_with_a_clear_error)
{
    study *s = open_study("allfail", 50, 3);
    objective obj = { .run = always_fail };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 2, NULL, NULL, &err), TL_ERUNTIME);
    cr_assert(strstr(err.msg, "trials all failed") && strstr(err.msg, "cannot load data"), "%s",
              err.msg);
    int counts[TRIAL_STATE_COUNT];
    int total = study_counts(s, counts);
    cr_assert(total >= 3 && total <= 4, "stopped after %d trials", total);
    cr_assert_eq(counts[TRIAL_RUNNING], 0, "workers finish their trial before stopping");
    study_close(s);
}

typedef struct watch {
    study *s;
    int started, finished, reports;
    int lock_free;       /* every callback could let another thread use the study */
    int calls;
} watch;

static void *count_from_thread(void *arg)
{
    int counts[TRIAL_STATE_COUNT];
    study_counts(arg, counts);
    return NULL;
}

static void on_event(void *ud, const study_event *ev)
{
    watch *w = ud;
    pthread_t th;
    int ok = 0;
    if (pthread_create(&th, NULL, count_from_thread, w->s) == 0) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        ok = pthread_timedjoin_np(th, NULL, &dl) == 0;
        if (!ok) { /* would deadlock: the lock is held */
            pthread_detach(th);
        }
    }
#pragma omp critical(watch)
    {
        w->calls++;
        w->lock_free += ok;
        w->started += ev->kind == STUDY_EV_STARTED;
        w->finished += ev->kind == STUDY_EV_FINISHED;
        w->reports += ev->kind == STUDY_EV_REPORT;
    }
}

Test(executor, progress_events_arrive_without_the_study_lock)
{
    study *s = open_study("progress", 4, 5);
    probe p = { 0 };
    objective obj = { .ud = &p, .run = probe_run };
    watch w = { .s = s };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 2, on_event, &w, &err), 0, "%s", err.msg);
    cr_assert_eq(w.started, 4);
    cr_assert_eq(w.finished, 4);
    cr_assert_eq(w.reports, 4);
    cr_assert_eq(w.lock_free, w.calls, "a callback ran with the lock held");
    study_close(s);
}

static int saved;

static int pause_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    if (job->number == 0) {
        int *st = malloc(sizeof *st);
        *st = 123;
        out->state = TRIAL_PAUSED;
        out->value = 0.5;
        out->obj_state = st;
        return 0;
    }
    out->state = TRIAL_COMPLETE;
    out->value = 1;
    return 0;
}

static void int_free(void *ud, void *st)
{
    free(st);
}

static int int_save(void *ud, const void *st, const char *path, tl_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s", path);
    fprintf(f, "%d\n", *(const int *)st);
    fclose(f);
    saved++;
    return 0;
}

Test(executor, paused_trials_keep_and_save_their_state)
{
    study *s = open_study("pause", 3, 5);
    objective obj = { .run = pause_run, .state_free = int_free, .state_save = int_save };
    tl_err err = { 0 };
    saved = 0;
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    trial t;
    cr_assert_eq(study_get_trial(s, 0, &t, &err), 0);
    cr_assert_eq(t.state, TRIAL_PAUSED);
    cr_assert_eq(t.value, 0.5);
    trial_free(&t);
    cr_assert_eq(saved, 1);
    char path[256];
    snprintf(path, sizeof path, "%s/pause.db.states/trial-0.state", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "state file %s", path);
    int v = 0;
    cr_assert_eq(fscanf(f, "%d", &v), 1);
    fclose(f);
    cr_assert_eq(v, 123);
    int *kept = study_state_take(s, 0);
    cr_assert_not_null(kept);
    cr_assert_eq(*kept, 123);
    free(kept);
    study_close(s);
}

/* A two-rung test scheduler: trials 0 and 1 start with budget 2 and pause
 * at step 1; each paused trial is then promoted to budget 4.  The rung
 * lives in a trial attribute, set from the `started` hook. */
static int ts_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                   tl_err *err)
{
    *self = NULL;
    return 0;
}

static int ts_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    int running = 0, paused = -1;
    for (int k = 0; k < ctx->ntrials; k++) {
        running += ctx->trials[k]->state == TRIAL_RUNNING;
        if (ctx->trials[k]->state == TRIAL_PAUSED && paused < 0)
            paused = k;
    }
    if (ctx->ntrials < 2)
        *out = (sched_next){ SCHED_NEW, -1, 2 };
    else if (paused >= 0)
        *out = (sched_next){ SCHED_PROMOTE, paused, 4 };
    else
        *out = (sched_next){ running ? SCHED_WAIT : SCHED_NONE, -1, 0 };
    return 0;
}

static int ts_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                     int *decision, int *exploit_src, tl_err *err)
{
    char rung[8] = "";
    study_trial_attr_get(ctx->s, t->number, "rung", rung, sizeof rung);
    *decision = strcmp(rung, "0") == 0 && step == 1 ? DECIDE_PAUSE : DECIDE_CONTINUE;
    return 0;
}

static int ts_started(void *self, const sched_ctx *ctx, const trial *t, const sched_next *how,
                      tl_err *err)
{
    return study_trial_attr_set(ctx->s, t->number, "rung", how->kind == SCHED_PROMOTE ? "1" : "0",
                                err);
}

static const scheduler_vt two_rungs = {
    .name = "two_rungs",
    .init = ts_init,
    .next = ts_next,
    .report = ts_report,
    .started = ts_started,
};

typedef struct counter_state {
    int steps_done;
} counter_state;

typedef struct resume_probe {
    int resumed, mismatched, waits_seen;
} resume_probe;

static int rung_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    resume_probe *p = ud;
    counter_state *st = job->obj_state;
    if (st) {
#pragma omp atomic
        p->resumed++;
    } else {
        st = calloc(1, sizeof *st);
    }
    if (st->steps_done != (int)job->budget_done) {
#pragma omp atomic
        p->mismatched++;
    }
    tl_err err = { 0 };
    for (int step = (int)job->budget_done; step < (int)job->budget; step++) {
        int dec;
        nap_ms(3);
        if (study_report(s, job->number, step, 1.0 / (step + 1) + job->number, step + 1, &dec,
                         NULL, &err)) {
            snprintf(out->reason, sizeof out->reason, "%.200s", err.msg);
            free(st);
            return 1;
        }
        st->steps_done = step + 1;
        if (dec == DECIDE_PAUSE) {
            out->state = TRIAL_PAUSED;
            out->obj_state = st;
            return 0;
        }
    }
    out->state = TRIAL_COMPLETE;
    out->value = 1.0 / st->steps_done + job->number;
    out->obj_state = st; /* the executor frees it through state_free */
    return 0;
}

static void counter_free(void *ud, void *st)
{
    free(st);
}

Test(executor, paused_trials_are_promoted_and_resume_from_their_state)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "x", "uniform(-1, 1)", NULL);
    study_config c = su_config_in(dir, "rungs");
    c.trials = 2;
    c.max_budget = 4;
    study *s;
    cr_assert_eq(study_open_custom(&s, &c, &sp, NULL, &two_rungs, &err), 0, "%s", err.msg);
    resume_probe p = { 0 };
    objective obj = { .ud = &p, .run = rung_run, .state_free = counter_free };
    cr_assert_eq(study_optimize(s, &obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(p.resumed, 2, "both trials resumed from their kept state");
    cr_assert_eq(p.mismatched, 0, "budget_done matches the state");
    trial *t;
    int n;
    cr_assert_eq(study_trials(s, &t, &n, &err), 0);
    cr_assert_eq(n, 2);
    for (int k = 0; k < n; k++) {
        cr_assert_eq(t[k].state, TRIAL_COMPLETE, "trial %d %s: %s", k, trial_state_str(t[k].state),
                     t[k].reason);
        cr_assert_eq(t[k].nsteps, 4);
        for (int j = 0; j < 4; j++)
            cr_assert_eq(t[k].steps[j], j);
        cr_assert_eq(t[k].budget, 4);
        char rung[8];
        cr_assert_eq(study_trial_attr_get(s, k, "rung", rung, sizeof rung), 1);
        cr_assert_str_eq(rung, "1");
    }
    study_trials_free(t, n);
    study_close(s);
    space_free(&sp);
}
