/* hpo/study_claim.c: which process runs a trial: claiming a trial for
 * this process (host, pid, worker, first start), the job handed to a
 * worker, enqueued trials, and the trials of dead processes put back
 * (requeued from scratch, or to their last pause through study_pause.c).
 *
 * Does not: pick what runs next (study.c asks the scheduler), sample, or
 * keep states.  The struct is in hpo/study_internal.h.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "hpo/study_internal.h"

void study_claim(study *s, int number, double target)
{
    trial *t = &s->trials[number];
    trial_meta *m = &s->meta[number];
    double now = study_now();
    t->state = TRIAL_RUNNING;
    if (!isfinite(t->started) || !(t->started > 0))
        t->started = now; /* the first start: promotions and re-runs keep it */
    s->run_t0[number] = now;
    t->reason[0] = 0;
    m->target = target;
    snprintf(m->host, sizeof m->host, "%s", s->host);
    m->pid = s->pid;
    m->worker = omp_get_thread_num();
}

void study_fill_job(study *s, int number, int kind, trial_job *job)
{
    const trial *t = &s->trials[number];
    job->kind = kind;
    job->number = number;
    job->nparams = s->sp.n;
    memcpy(job->values, t->values, (size_t)s->sp.n * sizeof(double));
    job->budget = s->meta[number].target;
    job->budget_done = kind == JOB_RESUME ? t->budget : 0;
    job->parent = t->parent;
    rng seeder;
    rng_seed(&seeder, s->cfg.seed, STREAM_TRIAL + (uint64_t)number);
    job->seed = rng_u64(&seeder);
    rng_seed(&job->rng, job->seed, 0);
    job->obj_state = NULL;
    if (number < s->cap_states) {
        job->obj_state = s->states[number];
        s->states[number] = NULL;
    }
    study_state_file(s, number, job->state_path, sizeof job->state_path);
    job->sp = &s->sp;
}

static int pid_dead(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Puts RUNNING trials of dead processes on this host back: to their last
 * pause (back_to_pause) or in the queue from scratch.  Lock held, inside a
 * write transaction. */
int study_requeue_dead(study *s, tl_err *err)
{
    for (int k = 0; k < s->ntrials; k++) {
        trial *t = &s->trials[k];
        trial_meta *m = &s->meta[k];
        if (t->state != TRIAL_RUNNING || m->pid == s->pid || strcmp(m->host, s->host) != 0 ||
            !pid_dead(m->pid))
            continue;
        int done = 0, rc;
        if (s->sch.vt && s->sch.vt->requeued && (rc = study_pause_restore(s, k, &done, err)))
            return rc;
        if (done)
            continue;
        snprintf(t->reason, sizeof t->reason, "requeued: process %ld died while running it",
                 m->pid);
        t->state = TRIAL_WAITING;
        t->value = NAN;
        t->budget = 0;
        t->nsteps = 0;
        if (s->st.vt->inter_clear(s->st.self, s->study_id, k, err) || study_write_trial(s, k, err))
            return TL_ERUNTIME;
    }
    return 0;
}

int study_enqueue(study *s, const double *values, int *number, tl_err *err)
{
    int rc;
    if ((rc = study_write_begin(s, err)))
        return rc;
    if (s->ntrials >= s->cfg.trials) {
        rc = tl_fail(err, TL_EINPUT, "%s: cannot enqueue: the budget of %d trials is used",
                     s->cfg.name, s->cfg.trials);
        goto fail;
    }
    double v[SPACE_MAX_PARAMS];
    memcpy(v, values, (size_t)s->sp.n * sizeof *v);
    space_apply_conditions(&s->sp, v);
    if ((rc = space_check_values(&s->sp, v, err)))
        goto fail;
    if ((rc = study_view_reserve(s, s->ntrials + 1, err)))
        goto fail;
    int n = s->ntrials;
    trial *t = &s->trials[n];
    if (trial_init(t, s->sp.n)) {
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
        goto fail;
    }
    t->number = n;
    t->state = TRIAL_WAITING;
    memcpy(t->values, v, (size_t)s->sp.n * sizeof *v);
    snprintf(t->reason, sizeof t->reason, "enqueued");
    s->ntrials++;
    memset(&s->meta[n], 0, sizeof s->meta[n]);
    s->meta[n].target = NAN;
    if ((rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t, &s->meta[n], err)) ||
        (rc = study_tx_commit(s, err)))
        goto fail;
    if (number)
        *number = n;
    study_unlock(s);
    return 0;
fail:
    study_tx_rollback(s);
    study_unlock(s);
    return rc;
}
