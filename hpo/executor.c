/* hpo/executor.c: study_optimize: worker threads looping ask -> run ->
 * tell.
 *
 * Does: an OpenMP parallel region of `workers` threads (none for one
 * worker), WAIT polling, failed-trial handling (nonzero return, NaN value),
 * keeping and saving paused states (removing an older saved state when
 * this pause's cannot be saved), loading a saved state when a resumed
 * trial's state is not in memory, stopping all workers after the first
 * error.  Does not: print, or run anything across machines.
 */
#include "hpo/executor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SLEEP_NS 20000000L /* 20 ms between asks while waiting */

static void nap(void)
{
    struct timespec ts = { 0, WAIT_SLEEP_NS };
    nanosleep(&ts, NULL);
}

/* mkdir -p of the folder part of path; 0 or -1. */
static int make_dirs_for(const char *path)
{
    char buf[600];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Runs one job to its end and tells the study.  Returns 0 or the study's
 * error (the objective's own failures only fail the trial). */
static int run_job(study *s, const objective *obj, trial_job *job, tl_err *err)
{
    trial_outcome out;
    memset(&out, 0, sizeof out);
    out.state = TRIAL_COMPLETE;
    out.value = NAN;
    if (job->kind == JOB_RESUME && !job->obj_state && obj->state_load &&
        access(job->state_path, R_OK) == 0) {
        tl_err lerr = { 0 };
        if (obj->state_load(obj->ud, &job->obj_state, job->state_path, &lerr))
            job->obj_state = NULL;
    }
    if (job->kind == JOB_RESUME && !job->obj_state)
        job->budget_done = 0; /* nothing to resume from: start over */
    int rc = obj->run(obj->ud, s, job, &out);
    if (rc) {
        out.state = TRIAL_FAILED;
        if (!out.reason[0])
            snprintf(out.reason, sizeof out.reason, "objective failed (code %d)", rc);
    }
    if (out.state == TRIAL_COMPLETE && !isfinite(out.value)) {
        out.state = TRIAL_FAILED;
        char r[200];
        snprintf(r, sizeof r, "%.199s", out.reason);
        snprintf(out.reason, sizeof out.reason, "objective returned %s%s%.200s",
                 isnan(out.value) ? "nan" : "inf", r[0] ? ": " : "", r);
    }
    if (out.state != TRIAL_COMPLETE && out.state != TRIAL_PRUNED && out.state != TRIAL_FAILED &&
        out.state != TRIAL_PAUSED) {
        snprintf(out.reason, sizeof out.reason, "objective gave an invalid state %d", out.state);
        out.state = TRIAL_FAILED;
    }
    if (out.state == TRIAL_PAUSED) {
        int saved = 0;
        if (out.obj_state && obj->state_save && make_dirs_for(job->state_path) == 0) {
            tl_err serr = { 0 };
            saved = obj->state_save(obj->ud, out.obj_state, job->state_path, &serr) == 0;
        }
        if (!saved)
            unlink(job->state_path); /* an earlier pause's file would resume the wrong epoch */
        study_state_put(s, job->number, out.obj_state);
    } else if (out.obj_state && obj->state_free) {
        obj->state_free(obj->ud, out.obj_state);
    }
    return study_tell(s, job->number, out.state, out.value, out.reason, err);
}

/* One worker: ask -> run -> tell until done, an error, or *stop. */
static int worker(study *s, const objective *obj, volatile int *stop, tl_err *err)
{
    for (;;) {
        int halt;
#pragma omp atomic read
        halt = *stop;
        if (halt)
            return 0;
        trial_job job;
        int rc = study_ask(s, &job, err);
        if (rc)
            return rc;
        if (job.kind == JOB_DONE)
            return 0;
        if (job.kind == JOB_WAIT) {
            nap();
            continue;
        }
        if ((rc = run_job(s, obj, &job, err)))
            return rc;
    }
}

int study_optimize(study *s, const objective *obj, int workers, study_progress_fn progress,
                   void *progress_ud, tl_err *err)
{
    if (!s || !obj || !obj->run)
        return tl_fail(err, TL_EINPUT, "study_optimize: no study or no objective");
    if (workers < 1)
        workers = 1;
    study_set_objective(s, obj);
    study_set_progress(s, progress, progress_ud);
    volatile int stop = 0;
    int rc = 0;
    if (workers == 1) {
        rc = worker(s, obj, &stop, err);
    } else {
#pragma omp parallel num_threads(workers)
        {
            tl_err mine = { 0 };
            int r = worker(s, obj, &stop, &mine);
            if (r) {
#pragma omp critical(tl_executor_err)
                {
                    if (!rc) {
                        rc = r;
                        if (err)
                            *err = mine;
                    }
                }
#pragma omp atomic write
                stop = 1;
            }
        }
    }
    study_set_progress(s, NULL, NULL);
    return rc;
}
