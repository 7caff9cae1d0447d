/* tests/test_train.c: the training loop on an MLP over Gaussian blobs:
 * learning, gradient accumulation, bit-identical copies, early stopping with
 * restore, hook decisions and budgets, divergence, lr scaling and the
 * multiplier, progress callbacks, the LR range test, config errors, FTZ and
 * the thread-layout line.  Small sizes: the suite runs in seconds. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/train.h"
#include "tests/train_fixture.h"

#define DIM 8
#define NCLS 3

/* 256 train + 128 val rows of the same blobs. */
typedef fx_world world;

static void world_init(world *w, int ntrain, int nval, int maxb, int shuffle)
{
    fx_world_init(w, ntrain, nval, DIM, NCLS, 2.0, 3, maxb, shuffle);
}

static train_config base_cfg(void)
{
    train_config c;
    train_config_default(&c);
    c.live.opt.lr = 1e-2;
    c.epochs = 4;
    c.batch_size = 32;
    c.seed = 17;
    return c;
}

static nn_model *mlp(int hidden, float dropout, int maxb, uint64_t seed)
{
    nn_model *m = fx_mlp(DIM, hidden, NCLS, dropout, maxb, seed);
    cr_assert_not_null(m, "mlp_create failed");
    return m;
}

/* ---- hooks ---- */

typedef struct rec {
    int calls;
    train_event ev[32];
    int pause_at, stop_at;       /* epoch at which to answer pause / stop */
    float *snapshot;             /* params copied at snapshot_at */
    int snapshot_at;
    double mult_after1;          /* lr_mult set after epoch 1 (0: leave) */
    double bad_lr_at2;           /* set cfg.live.opt.lr to this after epoch 2 (0: leave) */
} rec;

static int record_hook(trainer *t, const train_event *ev, void *ud)
{
    rec *r = ud;
    if (r->calls < 32)
        r->ev[r->calls] = *ev;
    r->calls++;
    if (r->snapshot && ev->epoch == r->snapshot_at)
        memcpy(r->snapshot, t->model->params, t->model->nparams * sizeof(float));
    if (r->mult_after1 > 0 && ev->epoch == 1)
        t->lr_mult = r->mult_after1;
    if (r->bad_lr_at2 != 0 && ev->epoch == 2)
        t->cfg.live.opt.lr = r->bad_lr_at2;
    if (ev->epoch == r->stop_at)
        return TRAIN_STOP;
    if (ev->epoch == r->pause_at)
        return TRAIN_PAUSE;
    return TRAIN_CONTINUE;
}

/* ---- tests ---- */

Test(train, learns_blobs_and_tracks_the_best_val_loss)
{
    world w;
    world_init(&w, 256, 128, 128, 1);
    nn_model *m = mlp(16, 0.0f, 128, 1);
    train_config c = base_cfg();
    c.epochs = 6;
    c.patience = 3;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    rec r = { 0 };
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_COMPLETED, "status %s", train_status_str(t.status));
    cr_assert_eq(t.epoch, 6);
    cr_assert_eq(t.step, 6 * 8); /* 256 / 32 steps per epoch */
    cr_assert_eq(r.calls, 6);
    cr_assert_eq(t.nhist, 6);
    cr_assert_lt(t.hist[5].train_loss, 0.5 * t.hist[0].train_loss, "train loss %g -> %g",
                 t.hist[0].train_loss, t.hist[5].train_loss);
    cr_assert_gt(r.ev[5].val_acc, 0.9, "val acc %g", r.ev[5].val_acc);
    int argmin = 0;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(r.ev[i].epoch, i + 1);
        cr_assert_eq(t.hist[i].val_loss, r.ev[i].val_loss);
        cr_assert(r.ev[i].samples_per_sec > 0);
        if (r.ev[i].val_loss < r.ev[argmin].val_loss)
            argmin = i;
    }
    cr_assert_eq(t.best_epoch, argmin + 1);
    cr_assert_eq(t.best_metric, r.ev[argmin].val_loss);
    /* the restored best parameters give the best val loss back */
    double vl, va;
    cr_assert_eq(trainer_evaluate(&t, &w.val, &vl, &va, &e), 0);
    cr_assert_eq(vl, t.best_metric);
    /* a finished trainer returns at once */
    long steps = t.step;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0);
    cr_assert_eq(t.step, steps);
    cr_assert_eq(r.calls, 6);
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

static void one_epoch_params(int n, int batch, int accum, float *out, size_t np)
{
    world w;
    world_init(&w, n, 8, 128, 0);
    nn_model *m = mlp(16, 0.0f, 128, 2);
    cr_assert_eq(m->nparams, np);
    train_config c = base_cfg();
    c.optimizer = OPTIM_SGD;
    c.live.opt.lr = 0.5;
    c.epochs = 1;
    c.batch_size = batch;
    c.accum_steps = accum;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(trainer_run(&t, &w.train, NULL, 0, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(t.step, 1, "one optimizer step, got %ld", t.step);
    memcpy(out, m->params, np * sizeof(float));
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

static void assert_params_close(const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        cr_assert(d <= tol * (1 + fabs(b[i])), "param %zu: %.9g vs %.9g", i, a[i], b[i]);
    }
}

Test(train, accumulating_4_micro_batches_of_32_equals_one_batch_of_128)
{
    size_t np = (size_t)DIM * 16 + 16 + 16 * NCLS + NCLS;
    float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float));
    float *init = malloc(np * sizeof(float));
    one_epoch_params(128, 128, 1, a, np);
    one_epoch_params(128, 32, 4, b, np);
    assert_params_close(b, a, np, 1e-5);
    /* and the step did move the parameters (lr 0.5) */
    nn_model *m = mlp(16, 0.0f, 128, 2);
    memcpy(init, m->params, np * sizeof(float));
    nn_model_free(m);
    double moved = 0;
    for (size_t i = 0; i < np; i++)
        moved += fabs((double)a[i] - init[i]);
    cr_assert_gt(moved, 1e-2, "the step barely moved the parameters (%g)", moved);
    free(a);
    free(b);
    free(init);
}

Test(train, short_last_accumulation_group_is_averaged_over_its_micro_batches)
{
    size_t np = (size_t)DIM * 16 + 16 + 16 * NCLS + NCLS;
    float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float));
    one_epoch_params(96, 96, 1, a, np);
    one_epoch_params(96, 32, 4, b, np); /* 3 of 4 micro-batches */
    assert_params_close(b, a, np, 1e-5);
    free(a);
    free(b);
}

Test(train, copy_continues_bit_identically)
{
    world w;
    world_init(&w, 256, 64, 64, 1);
    train_config c = base_cfg();
    c.batch_size = 24;      /* a partial last batch */
    c.accum_steps = 2;
    c.live.clip_norm = 0.5;
    c.sched.kind = SCHED_WARMUP_COSINE;
    c.sched.warmup = 5;
    c.patience = 10;
    nn_model *ma = mlp(16, 0.25f, 64, 1), *mb = mlp(16, 0.0f, 64, 99),
             *mc = mlp(16, 0.25f, 64, 1);
    trainer a, b, ref;
    tl_err e;
    cr_assert_eq(trainer_init(&a, ma, &c, &e), 0, "%s", e.msg);
    train_config cb = c;
    cb.seed = 1234; /* everything but the architecture differs */
    cb.live.opt.lr = 0.5;
    cr_assert_eq(trainer_init(&b, mb, &cb, &e), 0, "%s", e.msg);
    cr_assert_eq(trainer_init(&ref, mc, &c, &e), 0, "%s", e.msg);

    cr_assert_eq(trainer_run(&a, &w.train, &w.val, 2, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(a.status, TRAIN_BUDGET_REACHED);
    cr_assert_eq(trainer_copy(&b, &a, &e), 0, "%s", e.msg);
    cr_assert_eq(mb->dropout, 0.25f);
    cr_assert_eq(trainer_run(&a, &w.train, &w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(trainer_run(&b, &w.train, &w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(trainer_run(&ref, &w.train, &w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(a.status, TRAIN_COMPLETED);
    cr_assert_eq(b.status, TRAIN_COMPLETED);
    cr_assert_eq(memcmp(ma->params, mb->params, ma->nparams * sizeof(float)), 0,
                 "the copy diverged from its source");
    cr_assert_eq(memcmp(ma->params, mc->params, ma->nparams * sizeof(float)), 0,
                 "2 + 2 epochs differ from 4 epochs");
    cr_assert_eq(b.nhist, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(memcmp(&a.hist[i].train_loss, &b.hist[i].train_loss, sizeof(double)), 0);
        cr_assert_eq(memcmp(&a.hist[i].val_loss, &b.hist[i].val_loss, sizeof(double)), 0);
        cr_assert_eq(memcmp(&a.hist[i].val_loss, &ref.hist[i].val_loss, sizeof(double)), 0);
    }
    cr_assert_eq(a.step, b.step);
    cr_assert_eq(a.opt.t, b.opt.t);
    cr_assert_eq(memcmp(&a.rng, &b.rng, sizeof a.rng), 0);
    trainer_free(&a);
    trainer_free(&b);
    trainer_free(&ref);
    nn_model_free(ma);
    nn_model_free(mb);
    nn_model_free(mc);
    fx_world_free(&w);
}

Test(train, different_seeds_give_different_runs)
{
    world w;
    world_init(&w, 128, 32, 64, 1);
    train_config c = base_cfg();
    c.epochs = 1;
    nn_model *m1 = mlp(8, 0.1f, 64, 1), *m2 = mlp(8, 0.1f, 64, 1);
    trainer t1, t2;
    cr_assert_eq(trainer_init(&t1, m1, &c, NULL), 0);
    c.seed++;
    cr_assert_eq(trainer_init(&t2, m2, &c, NULL), 0);
    cr_assert_eq(trainer_run(&t1, &w.train, NULL, 0, NULL, NULL, NULL), 0);
    cr_assert_eq(trainer_run(&t2, &w.train, NULL, 0, NULL, NULL, NULL), 0);
    cr_assert_neq(memcmp(m1->params, m2->params, m1->nparams * sizeof(float)), 0);
    trainer_free(&t1);
    trainer_free(&t2);
    nn_model_free(m1);
    nn_model_free(m2);
    fx_world_free(&w);
}

Test(train, copy_rejects_another_architecture_and_leaves_dst)
{
    nn_model *ma = mlp(16, 0.0f, 32, 1), *mb = mlp(17, 0.0f, 32, 1);
    train_config c = base_cfg();
    trainer a, b;
    tl_err e;
    cr_assert_eq(trainer_init(&a, ma, &c, NULL), 0);
    cr_assert_eq(trainer_init(&b, mb, &c, NULL), 0);
    a.epoch = 3;
    float p0 = mb->params[0];
    cr_assert_eq(trainer_copy(&b, &a, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "trainer copy"), "%s", e.msg);
    cr_assert_eq(b.epoch, 0);
    cr_assert_eq(mb->params[0], p0);
    trainer_free(&a);
    trainer_free(&b);
    nn_model_free(ma);
    nn_model_free(mb);
}

Test(train, early_stopping_stops_after_patience_and_restores_the_best)
{
    world w;
    world_init(&w, 128, 64, 64, 1);
    nn_model *m = mlp(16, 0.0f, 64, 1);
    train_config c = base_cfg();
    c.epochs = 10;
    c.monitor = TRAIN_MONITOR_VAL_ACC;
    c.min_delta = 10; /* no accuracy can beat the first epoch by 10 */
    c.patience = 2;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    rec r = { 0 };
    r.snapshot = malloc(m->nparams * sizeof(float));
    r.snapshot_at = 1;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_EARLY_STOPPED, "status %s", train_status_str(t.status));
    cr_assert_eq(t.epoch, 3);
    cr_assert_eq(t.best_epoch, 1);
    cr_assert_eq(t.bad_epochs, 2);
    cr_assert_eq(t.best_metric, r.ev[0].val_acc);
    cr_assert(r.ev[0].is_best && !r.ev[1].is_best && !r.ev[2].is_best);
    cr_assert_eq(memcmp(m->params, r.snapshot, m->nparams * sizeof(float)), 0,
                 "the parameters of epoch 1 were not restored");
    free(r.snapshot);
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, hook_pause_and_stop_and_budgets)
{
    world w;
    world_init(&w, 64, 32, 32, 1);
    nn_model *m = mlp(8, 0.0f, 32, 1);
    train_config c = base_cfg();
    c.epochs = 5;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    rec r = { 0 };
    r.pause_at = 2;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_PAUSED);
    cr_assert_eq(t.epoch, 2);
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 3, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_BUDGET_REACHED);
    cr_assert_eq(t.epoch, 3);
    r.stop_at = 4;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_STOPPED_BY_HOOK);
    cr_assert_eq(t.epoch, 4);
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_COMPLETED);
    cr_assert_eq(t.epoch, 5);
    cr_assert_eq(r.calls, 5);
    cr_assert_eq(t.nhist, 5);
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 6, record_hook, &r, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "until_epoch 6 exceeds train.epochs 5"), "%s", e.msg);
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, huge_lr_diverges_without_crashing)
{
    world w;
    world_init(&w, 128, 32, 32, 1);
    nn_model *m = mlp(16, 0.0f, 32, 1);
    train_config c = base_cfg();
    c.optimizer = OPTIM_SGD;
    c.live.opt.momentum = 0.9;
    c.live.opt.lr = 1e30;
    c.epochs = 50;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    rec r = { 0 };
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_DIVERGED, "status %s", train_status_str(t.status));
    cr_assert_lt(t.epoch, 50);
    cr_assert(strstr(t.reason, "nan") || strstr(t.reason, "inf"), "reason: %s", t.reason);
    cr_assert_str_eq(train_status_str(t.status), "diverged");
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, effective_lr_scales_with_batch_schedule_and_multiplier)
{
    train_config c = base_cfg();
    c.live.opt.lr = 0.1;
    c.batch_size = 32;
    c.accum_steps = 2;
    c.base_batch_size = 16; /* k = 64 / 16 = 4 */
    cr_assert_eq(train_effective_batch(&c), 64);
    c.lr_scaling = TRAIN_SCALE_NONE;
    cr_assert_float_eq(train_scaled_lr(&c), 0.1, 1e-15);
    c.lr_scaling = TRAIN_SCALE_LINEAR;
    cr_assert_float_eq(train_scaled_lr(&c), 0.4, 1e-15);
    c.lr_scaling = TRAIN_SCALE_SQRT;
    cr_assert_float_eq(train_scaled_lr(&c), 0.2, 1e-15);
    c.base_batch_size = 0; /* reference = effective batch: factor 1 */
    cr_assert_float_eq(train_scaled_lr(&c), 0.1, 1e-15);

    world w;
    world_init(&w, 128, 32, 32, 1);
    nn_model *m = mlp(8, 0.0f, 32, 1);
    c.base_batch_size = 16;
    c.optimizer = OPTIM_SGD;
    c.epochs = 3;
    c.sched.kind = SCHED_EXPONENTIAL;
    c.sched.unit = SCHED_UNIT_EPOCHS;
    c.sched.gamma = 0.5;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    cr_assert_float_eq(trainer_lr(&t), 0.2, 1e-15);
    rec r = { 0 };
    r.mult_after1 = 0.25;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(r.calls, 3);
    cr_assert_float_eq(r.ev[0].lr, 0.2, 1e-15);
    cr_assert_float_eq(r.ev[1].lr, 0.2 * 0.5 * 0.25, 1e-15);
    cr_assert_float_eq(r.ev[2].lr, 0.2 * 0.25 * 0.25, 1e-15);
    cr_assert_eq(t.step, 3 * 2); /* 128 / 64 */
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, hook_setting_a_bad_hyperparameter_is_an_input_error)
{
    world w;
    world_init(&w, 64, 32, 32, 1);
    nn_model *m = mlp(8, 0.0f, 32, 1);
    train_config c = base_cfg();
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    rec r = { 0 };
    r.bad_lr_at2 = -1;
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, record_hook, &r, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "after the hook of epoch 2") && strstr(e.msg, "train.lr"), "%s",
              e.msg);
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

typedef struct prog {
    int calls;
    long last_in_epoch, spe;
    int bad;
} prog;

static void on_progress(const train_progress *p, void *ud)
{
    prog *g = ud;
    if (p->step_in_epoch != g->last_in_epoch % p->steps_per_epoch + 1 || !isfinite(p->loss) ||
        !(p->lr > 0))
        g->bad++;
    g->last_in_epoch = p->step_in_epoch;
    g->spe = p->steps_per_epoch;
    g->calls++;
}

Test(train, progress_is_called_once_per_optimizer_step)
{
    world w;
    world_init(&w, 100, 16, 32, 1);
    nn_model *m = mlp(8, 0.0f, 32, 1);
    train_config c = base_cfg();
    c.batch_size = 16;
    c.accum_steps = 3; /* 7 micro-batches: 3 steps per epoch */
    c.epochs = 2;
    trainer t;
    cr_assert_eq(trainer_init(&t, m, &c, NULL), 0);
    prog g = { 0 };
    trainer_set_progress(&t, on_progress, &g);
    cr_assert_eq(trainer_run(&t, &w.train, &w.val, 0, NULL, NULL, NULL), 0);
    cr_assert_eq(g.spe, 3);
    cr_assert_eq(g.calls, 6);
    cr_assert_eq(g.bad, 0);
    cr_assert_eq(t.step, 6);
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, lr_find_suggests_a_sensible_lr)
{
    world w;
    world_init(&w, 256, 8, 32, 1);
    nn_model *m = mlp(16, 0.0f, 32, 1);
    train_config c = base_cfg();
    c.optimizer = OPTIM_SGD;
    c.live.opt.momentum = 0.0;
    c.live.opt.weight_decay = 0;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    train_lr_find_result res;
    cr_assert_eq(trainer_lr_find(&t, &w.train, 1e-4, 1e4, 120, 0.9, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.stopped_early, 1, "loss never blew up up to lr 1e4");
    cr_assert_lt(res.n, 120);
    cr_assert_gt(res.n, 20);
    for (int i = 1; i < res.n; i++)
        cr_assert_gt(res.lr[i], res.lr[i - 1]);
    cr_assert_float_eq(res.lr[0], 1e-4, 1e-12);
    /* plain SGD on this problem trains well between ~0.01 and ~3 */
    cr_assert(res.suggestion >= 1e-2 && res.suggestion <= 3, "suggestion %g", res.suggestion);
    cr_assert(res.lr_min_div10 >= 1e-3 && res.lr_min_div10 <= 3, "min/10 %g",
              res.lr_min_div10);
    trainer_free(&t);

    /* the suggestion trains: 3 epochs at it beat 3 epochs at lo */
    double loss[2];
    double lrs[2] = { res.suggestion, 1e-4 };
    for (int k = 0; k < 2; k++) {
        nn_model *mk = mlp(16, 0.0f, 32, 1);
        c.live.opt.lr = lrs[k];
        c.epochs = 3;
        cr_assert_eq(trainer_init(&t, mk, &c, NULL), 0);
        cr_assert_eq(trainer_run(&t, &w.train, NULL, 0, NULL, NULL, NULL), 0);
        loss[k] = t.hist[2].train_loss;
        trainer_free(&t);
        nn_model_free(mk);
    }
    cr_assert_lt(loss[0], 0.5 * loss[1], "loss at suggestion %g vs at 1e-4 %g", loss[0],
                 loss[1]);
    train_lr_find_free(&res);
    cr_assert_eq(trainer_lr_find(&t, &w.train, 1, 0.5, 10, 0.9, &res, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "0 < lo < hi"), "%s", e.msg);
    cr_assert_null(res.lr);
    train_lr_find_free(NULL);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, rejects_bad_configs_naming_the_key)
{
    nn_model *m = mlp(8, 0.0f, 32, 1);
    struct { const char *key; train_config c; } cases[12];
    int n = 0;
    for (int i = 0; i < 12; i++)
        cases[i].c = base_cfg();
    cases[n].key = "train.batch_size", cases[n++].c.batch_size = 33;
    cases[n].key = "train.batch_size", cases[n++].c.batch_size = 0;
    cases[n].key = "train.epochs", cases[n++].c.epochs = 0;
    cases[n].key = "train.accum_steps", cases[n++].c.accum_steps = 0;
    cases[n].key = "train.lr", cases[n++].c.live.opt.lr = -1;
    cases[n].key = "train.clip_norm", cases[n++].c.live.clip_norm = -1;
    cases[n].key = "train.patience", cases[n++].c.patience = -2;
    cases[n].key = "train.min_delta", cases[n++].c.min_delta = -1;
    cases[n].key = "train.monitor", cases[n++].c.monitor = 5;
    cases[n].key = "train.lr_scaling", cases[n++].c.lr_scaling = 9;
    cases[n].key = "train.base_batch_size", cases[n++].c.base_batch_size = -1;
    cases[n].key = "train.gamma", cases[n].c.sched.kind = SCHED_EXPONENTIAL,
    cases[n++].c.sched.gamma = 0;
    for (int i = 0; i < n; i++) {
        trainer t;
        tl_err e = { 0 };
        cr_assert_eq(trainer_init(&t, m, &cases[i].c, &e), TL_EINPUT, "case %d accepted", i);
        cr_assert(strncmp(e.msg, cases[i].key, strlen(cases[i].key)) == 0,
                  "case %d: '%s' should start with %s", i, e.msg, cases[i].key);
        trainer_free(&t);
    }
    /* monitor val_acc without a validation source */
    world w;
    world_init(&w, 64, 16, 32, 1);
    train_config c = base_cfg();
    c.monitor = TRAIN_MONITOR_VAL_ACC;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0);
    cr_assert_eq(trainer_run(&t, &w.train, NULL, 0, NULL, NULL, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "train.monitor"), "%s", e.msg);
    trainer_free(&t);
    trainer_free(NULL);
    nn_model_free(m);
    fx_world_free(&w);
}

Test(train, names_parse_and_print)
{
    int v = -1;
    tl_err e;
    cr_assert_eq(train_scaling_parse("sqrt", &v, &e), 0);
    cr_assert_eq(v, TRAIN_SCALE_SQRT);
    cr_assert_eq(train_scaling_parse("log", &v, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "none, linear, sqrt"), "%s", e.msg);
    cr_assert_eq(train_monitor_parse("val_acc", &v, &e), 0);
    cr_assert_eq(v, TRAIN_MONITOR_VAL_ACC);
    cr_assert_eq(train_monitor_parse("acc", &v, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "val_loss, val_acc"), "%s", e.msg);
    cr_assert_str_eq(train_status_str(TRAIN_EARLY_STOPPED), "early_stopped");
    cr_assert_str_eq(train_status_str(TRAIN_STATUS_COUNT), "?");
    cr_assert_str_eq(train_monitor_str(TRAIN_MONITOR_VAL_LOSS), "val_loss");
    cr_assert_str_eq(train_scaling_str(TRAIN_SCALE_LINEAR), "linear");
}

Test(train, ftz_flushes_denormals_and_layout_names_both_runtimes)
{
    train_enable_ftz();
    volatile float tiny = 1e-39f; /* a denormal */
    volatile float one = 1.0f;
    cr_assert_eq(tiny * one, 0.0f, "denormal input not treated as zero");
    volatile float small = 1e-30f;
    cr_assert_eq(small * small, 0.0f, "denormal result not flushed");
    char buf[512];
    cr_assert_eq(train_thread_layout(buf, sizeof buf), buf);
    cr_assert(strstr(buf, "openmp: ") && strstr(buf, "openblas: ") &&
              strstr(buf, "outside any parallel region"), "%s", buf);
    char small_buf[8];
    train_thread_layout(small_buf, sizeof small_buf);
    cr_assert_eq(strlen(small_buf), 7);
}
