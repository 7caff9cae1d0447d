/* hpo/executor_mpi_serve.c: a worker rank's side of a study across MPI
 * ranks (see executor_mpi.h): worker threads that take jobs from rank 0,
 * run the ordinary objective against a remote study whose calls travel to
 * rank 0, and send back the outcome with a paused trial's state as bytes.
 *
 * Does: turn states into bytes and back in memory with the objective's
 * state_pack and state_unpack (no file anywhere on a worker rank).
 * Does not: touch the study's storage, choose what runs, print.
 */
#include "hpo/executor_mpi.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/mpi_world.h"
#include "hpo/study_remote.h"

/* One worker thread: its tag and its remote study. */
typedef struct wthread {
    int tag;
    const objective *obj;
    study *rs;
    int nparams;
} wthread;

/* The bytes of state (malloc'd into *out, *n), made in memory by the
 * objective's state_pack.  Returns 0 or a tl_code. */
static int state_to_bytes(wthread *w, const void *state, unsigned char **out, size_t *n, tl_err *err)
{
    *out = NULL;
    *n = 0;
    if (!w->obj->state_pack)
        return tl_fail(err, TL_EINPUT, "the objective cannot pack states");
    return w->obj->state_pack(w->obj->ud, state, out, n, err);
}

/* A state from its bytes (*state owned by the caller), by the objective's
 * state_unpack.  Returns 0 or a tl_code. */
static int state_from_bytes(wthread *w, const unsigned char *b, size_t n, void **state, tl_err *err)
{
    *state = NULL;
    if (!w->obj->state_unpack)
        return tl_fail(err, TL_EINPUT, "the objective cannot unpack states");
    return w->obj->state_unpack(w->obj->ud, state, b, n, err);
}

/* Sends m to rank 0 and waits for the answer in *m (payload: NULL when
 * not wanted).  Returns 0 or TL_ERUNTIME. */
static int call0(wthread *w, mpi_msg *m, unsigned char **payload, tl_err *err)
{
    unsigned char *p = NULL;
    int rc = mpi_msg_send(0, w->tag, m, NULL, err);
    if (!rc)
        rc = mpi_msg_recv(0, w->tag, m, &p, err);
    if (payload)
        *payload = p;
    else
        free(p);
    return rc;
}

static int r_report(void *ud, int trial, int step, double value, double budget_used, int *decision,
                    int *exploit_src, tl_err *err)
{
    mpi_msg m = { .type = MSG_REPORT, .trial = trial, .step = step, .value = value, .budget_used = budget_used };
    int rc = call0(ud, &m, NULL, err);
    if (rc)
        return rc;
    if (m.rc)
        return tl_fail(err, m.rc, "%s", m.text);
    if (decision)
        *decision = m.decision;
    if (exploit_src)
        *exploit_src = m.src;
    return 0;
}

static int r_state_copy(void *ud, int src, void *dst, tl_err *err)
{
    wthread *w = ud;
    mpi_msg m = { .type = MSG_COPY, .src = src };
    unsigned char *b = NULL;
    int rc = call0(w, &m, &b, err);
    if (!rc && m.rc)
        rc = tl_fail(err, m.rc, "%s", m.text);
    void *tmp = NULL;
    if (!rc && !(rc = state_from_bytes(w, b, (size_t)m.nbytes, &tmp, err))) {
        if (!w->obj->state_copy || w->obj->state_copy(w->obj->ud, dst, tmp))
            rc = tl_fail(err, TL_ERUNTIME, "copying the state of trial %d failed", src);
        if (w->obj->state_free)
            w->obj->state_free(w->obj->ud, tmp);
    }
    free(b);
    return rc;
}

static int r_get_values(void *ud, int trial, double *values, tl_err *err)
{
    wthread *w = ud;
    mpi_msg m = { .type = MSG_VALUES, .trial = trial };
    int rc = call0(w, &m, NULL, err);
    if (!rc && m.rc)
        rc = tl_fail(err, m.rc, "%s", m.text);
    if (!rc)
        memcpy(values, m.values, sizeof(double) * (size_t)w->nparams);
    return rc;
}

static int r_attr_set(void *ud, int trial, const char *key, const char *value, tl_err *err)
{
    wthread *w = ud;
    mpi_msg m = { .type = MSG_ATTR_SET, .trial = trial };
    snprintf(m.key, sizeof m.key, "%s", key);
    snprintf(m.text, sizeof m.text, "%s", value);
    return mpi_msg_send(0, w->tag, &m, NULL, err);
}

static int r_attr_get(void *ud, int trial, const char *key, char *buf, size_t n)
{
    mpi_msg m = { .type = MSG_ATTR_GET, .trial = trial };
    snprintf(m.key, sizeof m.key, "%s", key);
    if (call0(ud, &m, NULL, NULL))
        return -1;
    if (m.rc == 1 && n)
        snprintf(buf, n, "%s", m.text);
    return m.rc;
}

static const study_remote_vt REMOTE = { r_report, r_state_copy, r_get_values, r_attr_set, r_attr_get };

/* Runs one job m (state bytes b) and sends its outcome.  Returns 0 or
 * TL_ERUNTIME (MPI). */
static int serve_job(wthread *w, const mpi_msg *m, const unsigned char *b, tl_err *err)
{
    trial_job job;
    memset(&job, 0, sizeof job);
    job.kind = m->kind;
    job.number = m->trial;
    job.rerun = m->rerun;
    job.budget = m->budget;
    job.budget_done = m->budget_done;
    job.nparams = m->nparams;
    memcpy(job.values, m->values, sizeof job.values);
    job.seed = m->seed;
    rng_seed(&job.rng, job.seed, 0); /* as study_fill_job */
    job.parent = m->parent;
    job.sp = study_space(w->rs);
    if (b && state_from_bytes(w, b, (size_t)m->nbytes, &job.obj_state, NULL))
        job.obj_state = NULL;
    if (job.kind == JOB_RESUME && !job.obj_state)
        job.budget_done = 0; /* nothing to resume from: start over (as executor.c) */
    trial_outcome out;
    memset(&out, 0, sizeof out);
    out.state = TRIAL_COMPLETE;
    out.value = NAN;
    int rc = w->obj->run(w->obj->ud, w->rs, &job, &out);
    unsigned char *bytes = NULL;
    size_t n = 0;
    if (out.state == TRIAL_PAUSED && out.obj_state && w->obj->state_pack)
        state_to_bytes(w, out.obj_state, &bytes, &n, NULL); /* unsaved: the promotion starts over */
    if (out.obj_state && w->obj->state_free)
        w->obj->state_free(w->obj->ud, out.obj_state);
    mpi_msg o = { .type = MSG_OUTCOME, .trial = job.number, .rc = rc, .state = out.state, .value = out.value,
                  .nbytes = n };
    snprintf(o.text, sizeof o.text, "%s", out.reason);
    rc = mpi_msg_send(0, w->tag, &o, bytes, err);
    free(bytes);
    return rc;
}

/* One worker thread's loop until MSG_DONE. */
static int serve_thread(wthread *w, tl_err *err)
{
    for (;;) {
        mpi_msg m;
        unsigned char *b = NULL;
        int rc = mpi_msg_recv(0, w->tag, &m, &b, err);
        if (!rc && m.type == MSG_JOB)
            rc = serve_job(w, &m, b, err);
        free(b);
        if (rc || m.type != MSG_JOB)
            return rc;
    }
}

int study_serve_mpi(const study_config *cfg, const space *sp, const objective *obj, int threads, tl_err *err)
{
    if (threads < 1)
        threads = 1;
    int rc = 0;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        wthread w = { .obj = obj, .nparams = sp->n };
        w.tag = omp_get_thread_num();
        tl_err mine = { 0 };
        int r = study_open_remote(&w.rs, cfg, sp, &REMOTE, &w, &mine);
        if (!r)
            r = serve_thread(&w, &mine);
        study_close(w.rs);
        if (r) {
#pragma omp critical(tl_serve_err)
            {
                if (!rc) {
                    rc = r;
                    if (err)
                        *err = mine;
                }
            }
        }
    }
    return rc;
}
