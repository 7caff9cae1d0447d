/* tune/objective_train.c: a trial = a training run of the built-in trainer
 * (see objective_train.h): the trial's state, the epoch hook that reports
 * to the study, PBT's exploit, the final value and the attributes, and the
 * state callbacks (free, copy, save, load). */
#include "tune/objective_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ckpt.h"
#include "tune/nas.h"
#include "tune/nas_inherit.h"
#include "util/blas_kernels.h"

/* The state of a trial between runs: its config and session. */
typedef struct tstate {
    config cfg;
    session s;
} tstate;

static void tstate_free(tstate *t)
{
    if (!t)
        return;
    session_free(&t->s);
    free(t);
}

static tstate *tstate_new(const config *cfg, const task_data *d, tl_err *err)
{
    tstate *t = calloc(1, sizeof *t);
    if (!t) {
        tl_fail(err, TL_ERUNTIME, "out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    if (session_new(&t->s, &t->cfg, d, err)) {
        free(t);
        return NULL;
    }
    return t;
}

/* What the epoch hook shares with run_trial. */
typedef struct hook_ctx {
    objective_train *to;
    study *st;
    int number;
    int decision;           /* the scheduler's last answer (DECIDE_*) */
    int exploit_src;        /* DECIDE_EXPLOIT: the trial to copy */
    tl_err err;
    int failed;             /* study_report failed: err says why */
} hook_ctx;

/* The value reported after an epoch: test_accuracy reports val_accuracy
 * until the end. */
static double metric_of(const objective_train *to, const train_event *ev)
{
    switch (to->metric) {
    case METRIC_VAL_ACCURACY:
    case METRIC_TEST_ACCURACY:
        return ev->val_acc;
    case METRIC_VAL_PERPLEXITY:
        return exp(ev->val_loss);
    case METRIC_TRAIN_LOSS:
        return ev->train_loss;
    default:
        return ev->val_loss;
    }
}

static int on_epoch(trainer *t, const train_event *ev, void *ud)
{
    hook_ctx *h = ud;
    double v = metric_of(h->to, ev);
    int dec = DECIDE_CONTINUE, src = -1;
    if (study_report(h->st, h->number, ev->epoch, v, (double)ev->epoch, &dec, &src, &h->err)) {
        h->failed = 1;
        return TRAIN_STOP;
    }
    h->decision = dec;
    h->exploit_src = src;
    switch (dec) {
    case DECIDE_STOP:
        return TRAIN_STOP;
    case DECIDE_PAUSE:
    case DECIDE_EXPLOIT: /* the copy happens after trainer_run returns */
        return TRAIN_PAUSE;
    default:
        return TRAIN_CONTINUE;
    }
}

/* Live hyperparameters a running trial may change (PBT explore). */
static int apply_live(tstate *ts, const space *sp, const double *values, tl_err *err)
{
    config c = ts->cfg;
    int rc = config_apply_values(&c, sp, values, "exploit", err);
    if (rc)
        return rc;
    session_apply_live(&ts->s, &ts->cfg, &c);
    ts->cfg = c;
    return 0;
}

/* The trial's state: its own, or a new one from the base config and the
 * trial's values (the budget's epochs, study.max_budget when set).  A
 * paused trial resumes with its current values (PBT may have changed them
 * while it waited).  NULL with out->reason on failure. */
static tstate *trial_state(objective_train *to, study *st, const trial_job *job, trial_outcome *out)
{
    tl_err err = {0};
    tstate *ts = job->obj_state;
    if (ts) {
        if (!apply_live(ts, job->sp, job->values, &err))
            return ts;
        snprintf(out->reason, sizeof out->reason, "%.250s", err.msg);
        tstate_free(ts);
        return NULL;
    }
    config c = *to->base;
    char where[64];
    snprintf(where, sizeof where, "trial %d", job->number);
    int rc = config_apply_values(&c, job->sp, job->values, where, &err);
    if (!rc && to->base->max_budget > 0)
        c.epochs = (int)ceil(to->base->max_budget);
    if (!rc)
        nas_inherit_adjust(&c, st, job); /* nas.child_epochs, seed_epochs, child_lr_scale */
    ts = rc ? NULL : tstate_new(&c, to->data, &err);
    if (ts && c.nas_inherit && nas_inherit_apply(st, job, &c, &ts->s, to->data, &err)) {
        tstate_free(ts);
        ts = NULL;
    }
    if (!ts)
        snprintf(out->reason, sizeof out->reason, "%.250s", err.msg);
    return ts;
}

/* Trains ts up to epoch `until`, reporting every epoch; a PBT exploit
 * copies the source member's weights, optimizer and schedule position,
 * takes this trial's new values and goes on.  Returns 0, or 1 with
 * out->reason (ts is then still the caller's). */
static int train_until(hook_ctx *h, tstate *ts, const trial_job *job, int until, trial_outcome *out)
{
    tl_err err = {0};
    for (;;) {
        int rc = trainer_run(&ts->s.tr, session_train(&ts->s), session_val(&ts->s), until, on_epoch, h, &err);
        if (rc || h->failed) {
            snprintf(out->reason, sizeof out->reason, "%.250s", rc ? err.msg : h->err.msg);
            return 1;
        }
        if (ts->s.tr.status != TRAIN_PAUSED || h->decision != DECIDE_EXPLOIT)
            return 0;
        double vals[SPACE_MAX_PARAMS];
        if (study_state_copy(h->st, h->exploit_src, ts, &err) || study_get_values(h->st, job->number, vals, &err) ||
            apply_live(ts, job->sp, vals, &err)) {
            snprintf(out->reason, sizeof out->reason, "exploit of trial %d: %.200s", h->exploit_src, err.msg);
            return 1;
        }
        ts->s.tr.status = TRAIN_PAUSED; /* may continue */
        h->decision = DECIDE_CONTINUE;
        if (ts->s.tr.epoch >= until)
            return 0;
    }
}

/* The study metric after training (test_accuracy: the test set's, when the
 * run is final and has one).  Every run that ends or pauses with a test
 * set records the test_accuracy and test_loss attributes of the weights it
 * ends with (complete, pruned, paused at a rung or cut by a budget), so a
 * trial picked at any point has its own test figure without a retrain. */
static double final_value(const objective_train *to, study *st, int number, tstate *ts)
{
    trainer *tr = &ts->s.tr;
    tl_err err = {0};
    double vl = NAN, va = NAN, value;
    trainer_evaluate(tr, session_val(&ts->s), &vl, &va, &err);
    switch (to->metric) {
    case METRIC_VAL_ACCURACY:
        value = va;
        break;
    case METRIC_VAL_PERPLEXITY:
        value = exp(vl);
        break;
    case METRIC_TRAIN_LOSS:
        value = tr->nhist ? tr->hist[tr->nhist - 1].train_loss : NAN;
        break;
    default:
        value = vl;
    }
    int final = tr->status == TRAIN_COMPLETED || tr->status == TRAIN_EARLY_STOPPED;
    double tl = NAN, ta = NAN;
    if (session_test(&ts->s) && !trainer_evaluate(tr, session_test(&ts->s), &tl, &ta, &err)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.6g", ta);
        study_trial_attr_set(st, number, "test_accuracy", buf, NULL);
        snprintf(buf, sizeof buf, "%.6g", tl);
        study_trial_attr_set(st, number, "test_loss", buf, NULL);
        if (final && to->metric == METRIC_TEST_ACCURACY)
            value = ta;
    }
    return value;
}

/* The attributes of a trained trial: size, work, status, and what a bit-for-
 * bit retrain needs besides the values (README.md). */
static void record_attrs(study *st, int number, const tstate *ts, const task_data *data)
{
    const trainer *tr = &ts->s.tr;
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", ts->s.nparams);
    study_trial_attr_set(st, number, "params", buf, NULL);
    snprintf(buf, sizeof buf, "%d", tr->epoch);
    study_trial_attr_set(st, number, "epochs", buf, NULL);
    snprintf(buf, sizeof buf, "%.6g", nas_train_flops(&ts->cfg, data, tr->step));
    study_trial_attr_set(st, number, "train_flops", buf, NULL);
    snprintf(buf, sizeof buf, "%.3f", tr->elapsed);
    study_trial_attr_set(st, number, "seconds", buf, NULL);
    study_trial_attr_set(st, number, "train_status", train_status_str(tr->status), NULL);
    snprintf(buf, sizeof buf, "%d", train_threads_here());
    study_trial_attr_set(st, number, "threads", buf, NULL);
    study_trial_attr_set(st, number, "blas_kernel", tl_blas_core(), NULL);
    if (tr->cfg.patience > 0) {
        snprintf(buf, sizeof buf, "%d", tr->best_epoch);
        study_trial_attr_set(st, number, "best_epoch", buf, NULL);
    }
}

static int run_trial(void *ud, study *st, const trial_job *job, trial_outcome *out)
{
    objective_train *to = ud;
    out->obj_state = NULL;
    out->value = NAN;
    tstate *ts = trial_state(to, st, job, out);
    if (!ts)
        return 1;
    hook_ctx h = {.to = to, .st = st, .number = job->number, .exploit_src = -1};
    int until = (int)ceil(job->budget - 1e-9);
    if (until > ts->s.tr.cfg.epochs)
        until = ts->s.tr.cfg.epochs;
    if (train_until(&h, ts, job, until, out)) {
        tstate_free(ts);
        return 1;
    }
    trainer *tr = &ts->s.tr;
    if (tr->status == TRAIN_DIVERGED) {
        snprintf(out->reason, sizeof out->reason, "diverged: %s", tr->reason);
        out->state = TRIAL_FAILED;
        tstate_free(ts);
        return 1;
    }
    out->value = final_value(to, st, job->number, ts);
    record_attrs(st, job->number, ts, to->data);
    if (h.decision == DECIDE_STOP) {
        out->state = TRIAL_PRUNED;
    } else if (tr->status == TRAIN_PAUSED || tr->status == TRAIN_BUDGET_REACHED) {
        out->state = TRIAL_PAUSED;
        out->obj_state = ts;
        return 0;
    } else {
        out->state = TRIAL_COMPLETE;
    }
    tl_err serr = {0};
    if (ts->cfg.nas_inherit && nas_inherit_save(job, &ts->s, &ts->cfg, &serr))
        study_trial_attr_set(st, job->number, "inherit_save_error", serr.msg, NULL);
    tstate_free(ts);
    return 0;
}

static void state_free(void *ud, void *state)
{
    tstate_free(state);
}

static int state_copy(void *ud, void *dst, const void *src)
{
    tstate *d = dst;
    const tstate *s = src;
    return trainer_copy(&d->s.tr, &s->s.tr, NULL);
}

static int state_save(void *ud, const void *state, const char *path, tl_err *err)
{
    const tstate *ts = state;
    char *ini = config_to_string(&ts->cfg);
    if (!ini)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = session_save(&ts->s, ini, path, err);
    free(ini);
    return rc;
}

static int state_load(void *ud, void **state, const char *path, tl_err *err)
{
    objective_train *to = ud;
    config c;
    int rc = session_config_of_ckpt(&c, path, NULL, err);
    if (rc)
        return rc;
    tstate *ts = tstate_new(&c, to->data, err);
    if (!ts)
        return err && err->code ? err->code : TL_ERUNTIME;
    if ((rc = session_resume(&ts->s, path, err))) {
        tstate_free(ts);
        return rc;
    }
    *state = ts;
    return 0;
}

/* A state in memory (the MPI executor moves it between ranks): the bytes
 * of the checkpoint state_save writes, made and read without a file. */
static int state_pack(void *ud, const void *state, unsigned char **bytes, size_t *n, tl_err *err)
{
    const tstate *ts = state;
    char *ini = config_to_string(&ts->cfg);
    if (!ini)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = ckpt_save_mem(&ts->s.tr, ini, strlen(ini) + 1, bytes, n, err);
    free(ini);
    return rc;
}

static int state_unpack(void *ud, void **state, const unsigned char *bytes, size_t n, tl_err *err)
{
    objective_train *to = ud;
    void *blob = NULL;
    size_t len = 0;
    int rc = ckpt_peek_mem(bytes, n, NULL, &blob, &len, err);
    if (rc)
        return rc;
    config c;
    config_defaults(&c);
    rc = config_load_text(&c, blob, strnlen(blob, len), "in-memory state", err);
    free(blob);
    if (rc)
        return rc;
    tstate *ts = tstate_new(&c, to->data, err);
    if (!ts)
        return err && err->code ? err->code : TL_ERUNTIME;
    if ((rc = ckpt_load_mem(&ts->s.tr, bytes, n, NULL, NULL, err))) {
        tstate_free(ts);
        return rc;
    }
    *state = ts;
    return 0;
}

int objective_train_init(objective *obj, objective_train *to, const config *base, const task_data *data,
                         tl_err *err)
{
    memset(to, 0, sizeof *to);
    to->base = base;
    to->data = data;
    if (metric_parse(base->metric, &to->metric, err))
        return tl_prefix(err, "%s", base->source);
    if (to->metric == METRIC_VAL_ACCURACY && data->is_text)
        return tl_fail(err, TL_EINPUT, "%s: study.metric: use val_loss or val_perplexity for text models",
                       base->source);
    if (to->metric == METRIC_TEST_ACCURACY && data->test.n == 0)
        return tl_fail(err, TL_EINPUT, "%s: study.metric: test_accuracy needs a dataset with a test set",
                       base->source);
    to->maximize = !strcmp(base->direction, "maximize");
    *obj = (objective){.ud = to, .run = run_trial, .state_free = state_free, .state_copy = state_copy,
                       .state_save = state_save, .state_load = state_load, .state_pack = state_pack,
                       .state_unpack = state_unpack};
    return 0;
}
