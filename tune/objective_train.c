/* tune/objective_train.c: a trial = a training run of the built-in trainer. */
#include "tune/objective_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ckpt.h"
#include "util/blas_kernels.h"

enum metric_kind { M_VAL_LOSS, M_VAL_ACC, M_VAL_PPL, M_TEST_ACC, M_TRAIN_LOSS, M_COUNT };

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

typedef struct hook_ctx {
    train_objective *to;
    study *st;
    int number;
    double budget_done;
    int decision;
    int exploit_src;
    tl_err err;
    int failed;
} hook_ctx;

static double metric_of(const train_objective *to, const train_event *ev)
{
    switch (to->metric) {
    case M_VAL_ACC:
        return ev->val_acc;
    case M_VAL_PPL:
        return exp(ev->val_loss);
    case M_TRAIN_LOSS:
        return ev->train_loss;
    default:
        return ev->val_loss; /* test metrics are intermediate-reported as val_loss */
    }
}

static int on_epoch(trainer *t, const train_event *ev, void *ud)
{
    hook_ctx *h = ud;
    double v = metric_of(h->to, ev);
    if (h->to->metric == M_TEST_ACC)
        v = ev->val_acc;
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

static int run_trial(void *ud, study *st, const trial_job *job, trial_outcome *out)
{
    train_objective *to = ud;
    tl_err err = {0};
    tstate *ts = job->obj_state;
    out->obj_state = NULL;
    out->value = NAN;
    if (!ts) {
        config c = *to->base;
        char where[64];
        snprintf(where, sizeof where, "trial %d", job->number);
        int rc = config_apply_values(&c, job->sp, job->values, where, &err);
        if (!rc && to->base->max_budget > 0)
            c.epochs = (int)ceil(to->base->max_budget);
        ts = rc ? NULL : tstate_new(&c, to->data, &err);
        if (!ts) {
            snprintf(out->reason, sizeof out->reason, "%.250s", err.msg);
            return 1;
        }
    }
    else if (apply_live(ts, job->sp, job->values, &err)) {
        /* a paused trial resumes with its current values (PBT may have
         * changed them while it waited) */
        snprintf(out->reason, sizeof out->reason, "%.250s", err.msg);
        tstate_free(ts);
        return 1;
    }
    hook_ctx h = {.to = to, .st = st, .number = job->number, .exploit_src = -1};
    int until = (int)ceil(job->budget - 1e-9);
    if (until > ts->s.tr.cfg.epochs)
        until = ts->s.tr.cfg.epochs;
    for (;;) {
        int rc = trainer_run(&ts->s.tr, session_train(&ts->s), session_val(&ts->s), until, on_epoch, &h, &err);
        if (rc || h.failed) {
            snprintf(out->reason, sizeof out->reason, "%.250s", rc ? err.msg : h.err.msg);
            tstate_free(ts);
            return 1;
        }
        if (ts->s.tr.status == TRAIN_PAUSED && h.decision == DECIDE_EXPLOIT) {
            /* PBT: take the source member's weights, optimizer and schedule
             * position, then this trial's new hyperparameters. */
            double vals[SPACE_MAX_PARAMS];
            if (study_state_copy(st, h.exploit_src, ts, &err) || study_get_values(st, job->number, vals, &err) ||
                apply_live(ts, job->sp, vals, &err)) {
                snprintf(out->reason, sizeof out->reason, "exploit of trial %d: %.200s", h.exploit_src, err.msg);
                tstate_free(ts);
                return 1;
            }
            ts->s.tr.status = TRAIN_PAUSED; /* may continue */
            h.decision = DECIDE_CONTINUE;
            if (ts->s.tr.epoch >= until)
                break;
            continue;
        }
        break;
    }
    trainer *tr = &ts->s.tr;
    if (tr->status == TRAIN_DIVERGED) {
        snprintf(out->reason, sizeof out->reason, "diverged: %s", tr->reason);
        out->state = TRIAL_FAILED;
        tstate_free(ts);
        return 1;
    }
    double vl = NAN, va = NAN;
    trainer_evaluate(tr, session_val(&ts->s), &vl, &va, &err);
    double value;
    switch (to->metric) {
    case M_VAL_ACC:
        value = va;
        break;
    case M_VAL_PPL:
        value = exp(vl);
        break;
    case M_TRAIN_LOSS:
        value = tr->nhist ? tr->hist[tr->nhist - 1].train_loss : NAN;
        break;
    default:
        value = vl;
    }
    int final = tr->status == TRAIN_COMPLETED || tr->status == TRAIN_EARLY_STOPPED;
    char buf[64];
    if (final && session_test(&ts->s)) {
        double tl = NAN, ta = NAN;
        if (!trainer_evaluate(tr, session_test(&ts->s), &tl, &ta, &err)) {
            snprintf(buf, sizeof buf, "%.6g", ta);
            study_trial_attr_set(st, job->number, "test_accuracy", buf, NULL);
            snprintf(buf, sizeof buf, "%.6g", tl);
            study_trial_attr_set(st, job->number, "test_loss", buf, NULL);
            if (to->metric == M_TEST_ACC)
                value = ta;
        }
    }
    snprintf(buf, sizeof buf, "%zu", ts->s.nparams);
    study_trial_attr_set(st, job->number, "params", buf, NULL);
    snprintf(buf, sizeof buf, "%d", tr->epoch);
    study_trial_attr_set(st, job->number, "epochs", buf, NULL);
    snprintf(buf, sizeof buf, "%.3f", tr->elapsed);
    study_trial_attr_set(st, job->number, "seconds", buf, NULL);
    study_trial_attr_set(st, job->number, "train_status", train_status_str(tr->status), NULL);
    /* what a bit-for-bit retrain needs besides the values (README.md) */
    snprintf(buf, sizeof buf, "%d", train_threads_here());
    study_trial_attr_set(st, job->number, "threads", buf, NULL);
    study_trial_attr_set(st, job->number, "blas_kernel", tl_blas_core(), NULL);
    if (tr->cfg.patience > 0) {
        snprintf(buf, sizeof buf, "%d", tr->best_epoch);
        study_trial_attr_set(st, job->number, "best_epoch", buf, NULL);
    }
    out->value = value;
    if (h.decision == DECIDE_STOP) {
        out->state = TRIAL_PRUNED;
    } else if (tr->status == TRAIN_PAUSED || tr->status == TRAIN_BUDGET_REACHED) {
        out->state = TRIAL_PAUSED;
        out->obj_state = ts;
        return 0;
    } else {
        out->state = TRIAL_COMPLETE;
    }
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
    char *blob = config_to_string(&ts->cfg);
    if (!blob)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = ckpt_save(&ts->s.tr, path, blob, strlen(blob) + 1, err);
    free(blob);
    return rc;
}

static int state_load(void *ud, void **state, const char *path, tl_err *err)
{
    train_objective *to = ud;
    void *blob = NULL;
    size_t len = 0;
    ckpt_info info;
    int rc = ckpt_peek(path, &info, &blob, &len, err);
    if (rc)
        return rc;
    config c;
    config_defaults(&c);
    rc = config_load_text(&c, blob, strnlen(blob, len), path, err);
    free(blob);
    if (rc)
        return rc;
    tstate *ts = tstate_new(&c, to->data, err);
    if (!ts)
        return err && err->code ? err->code : TL_ERUNTIME;
    if ((rc = ckpt_load(&ts->s.tr, path, NULL, NULL, err))) {
        tstate_free(ts);
        return rc;
    }
    *state = ts;
    return 0;
}

int train_objective_init(objective *obj, train_objective *to, const config *base, const task_data *data,
                         tl_err *err)
{
    static const char *names[M_COUNT] = {"val_loss", "val_accuracy", "val_perplexity", "test_accuracy",
                                         "train_loss"};
    memset(to, 0, sizeof *to);
    to->base = base;
    to->data = data;
    to->metric = -1;
    for (int i = 0; i < M_COUNT; i++)
        if (!strcmp(base->metric, names[i]))
            to->metric = i;
    if (to->metric < 0)
        return tl_fail(err, TL_EINPUT, "%s: study.metric: '%s' is not a training metric "
                       "(val_loss, val_accuracy, val_perplexity, test_accuracy, train_loss)",
                       base->source, base->metric);
    if (to->metric == M_VAL_ACC && data->is_text)
        return tl_fail(err, TL_EINPUT, "%s: study.metric: use val_loss or val_perplexity for text models",
                       base->source);
    if (to->metric == M_TEST_ACC && data->test.n == 0)
        return tl_fail(err, TL_EINPUT, "%s: study.metric: test_accuracy needs a dataset with a test set",
                       base->source);
    to->maximize = !strcmp(base->direction, "maximize");
    *obj = (objective){.ud = to, .run = run_trial, .state_free = state_free, .state_copy = state_copy,
                       .state_save = state_save, .state_load = state_load};
    return 0;
}
