/* tests/test_fit.c: tune/'s training glue without the command line:
 * tune/fit (a run stopped with --until and resumed from its checkpoint
 * equals one straight run bit for bit; a checkpoint that cannot be written
 * stops the run with its flag; the schedule table gives the rates the
 * trainer used), tune/session's live values (session_apply_live), and
 * tune/metric's names.  Synthetic spirals, tiny MLP, files in a fresh
 * mkdtemp folder. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune/fit.h"
#include "tune/metric.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl_fit")

TestSuite(fit, .init = tmpdir_setup, .fini = tmpdir_teardown);

static void set(config *c, const char *key, const char *v)
{
    tl_err e;
    cr_assert_eq(config_set(c, key, v, "test", &e), 0, "%s", e.msg);
}

/* Spirals, a 2-16-16-3 MLP, SGD with Nesterov momentum, clipping,
 * accumulation, warmup then cosine, dropout: every part of the step. */
static config spirals(int epochs)
{
    config c;
    config_defaults(&c);
    set(&c, "data.dataset", "spirals");
    set(&c, "data.samples", "300");
    set(&c, "model.hidden", "16");
    set(&c, "model.dropout", "0.1");
    set(&c, "train.optimizer", "sgd");
    set(&c, "train.nesterov", "true");
    set(&c, "train.lr", "0.05");
    set(&c, "train.clip_norm", "2");
    set(&c, "train.batch_size", "32");
    set(&c, "train.accum_steps", "2");
    set(&c, "train.schedule", "warmup_cosine");
    set(&c, "train.warmup", "3");
    char e[16];
    snprintf(e, sizeof e, "%d", epochs);
    set(&c, "train.epochs", e);
    tl_err err;
    cr_assert_eq(config_validate(&c, &err), 0, "%s", err.msg);
    return c;
}

Test(fit, until_then_resume_equals_one_run_bit_for_bit)
{
    config c = spirals(4);
    tl_err e = {0};
    fit a;
    cr_assert_eq(fit_open(&a, &c, NULL, &e), 0, "%s", e.msg);
    cr_assert_null(a.ckpt);
    cr_assert_eq(fit_run(&a, 0, NULL, NULL, NULL, &e), 0, "%s", e.msg);
    fit_result ra;
    fit_finish(&a, &ra);
    cr_assert_str_eq(ra.status, "completed");
    cr_assert_eq(ra.epochs, 4);

    char path[128];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    set(&c, "train.checkpoint", path);
    fit b;
    cr_assert_eq(fit_open(&b, &c, NULL, &e), 0, "%s", e.msg);
    cr_assert_str_eq(b.ckpt, path);
    cr_assert_eq(fit_run(&b, 2, NULL, NULL, NULL, &e), 0, "%s", e.msg);
    fit_result rb;
    fit_finish(&b, &rb);
    cr_assert(rb.can_continue, "stopped by --until: %s", rb.status);
    cr_assert(isnan(rb.test_acc));
    fit_close(&b);

    /* the checkpoint holds the run's config: reopen from it alone */
    config back;
    int bad = -1;
    cr_assert_eq(session_config_of_ckpt(&back, path, &bad, &e), 0, "%s", e.msg);
    cr_assert_eq(bad, 0);
    cr_assert_eq(back.epochs, 4);
    cr_assert_eq(back.nesterov, 1);
    fit d;
    cr_assert_eq(fit_open(&d, &back, path, &e), 0, "%s", e.msg);
    cr_assert(d.resumed);
    fit_info in;
    fit_describe(&d, &in);
    cr_assert_eq(in.epoch, 2);
    cr_assert_eq(in.effective_batch, 64);
    cr_assert_str_eq(in.model, "mlp 2-16-16-3 relu");
    cr_assert_eq(fit_run(&d, 0, NULL, NULL, NULL, &e), 0, "%s", e.msg);
    fit_result rd;
    fit_finish(&d, &rd);
    cr_assert_eq(rd.epochs, 4);
    cr_assert_eq(rd.steps, ra.steps);
    cr_assert_eq(memcmp(&rd.val_loss, &ra.val_loss, sizeof ra.val_loss), 0, "val loss %.17g vs %.17g",
                 rd.val_loss, ra.val_loss);
    nn_model *ma = a.s.model, *md = d.s.model;
    cr_assert_eq(memcmp(ma->params, md->params, ma->nparams * sizeof(float)), 0, "resumed weights differ");
    fit_close(&d);
    fit_close(&a);
    fit_close(NULL);
}

static void count_epoch(const train_event *ev, void *ud)
{
    (*(int *)ud)++;
}

Test(fit, a_checkpoint_that_cannot_be_written_stops_the_run)
{
    config c = spirals(3);
    char path[160], sub[160];
    snprintf(path, sizeof path, "%s/no/such/dir/x.ckpt", dir);
    set(&c, "train.checkpoint", path);
    tl_err e = {0};
    fit f;
    cr_assert_eq(fit_open(&f, &c, NULL, &e), TL_EINPUT, "a missing folder is refused before training");
    cr_assert(strstr(e.msg, "train.checkpoint") && strstr(e.msg, "does not exist"), "%s", e.msg);
    /* a folder that disappears after the open: the epoch, then the error */
    snprintf(sub, sizeof sub, "%s/gone", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/gone/x.ckpt", dir);
    set(&c, "train.checkpoint", path);
    cr_assert_eq(fit_open(&f, &c, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(rmdir(sub), 0);
    int epochs = 0;
    cr_assert_eq(fit_run(&f, 0, count_epoch, NULL, &epochs, &e), TL_ERUNTIME);
    cr_assert(f.ckpt_failed);
    cr_assert(strstr(e.msg, path) && strstr(e.msg, "cannot create"), "%s", e.msg);
    cr_assert_eq(epochs, 1, "the epoch is reported, then its checkpoint fails");
    cr_assert_eq(f.s.tr.epoch, 1);
    fit_close(&f);
}

Test(fit, schedule_table_gives_the_rates_the_trainer_used)
{
    config c = spirals(5);
    tl_err e = {0};
    fit f;
    cr_assert_eq(fit_open(&f, &c, NULL, &e), 0, "%s", e.msg);
    fit_lr_table t;
    cr_assert_eq(fit_schedule(&f, &t, &e), 0, "%s", e.msg);
    /* 270 training samples, batches of 32 -> 9 micro-batches, 5 steps */
    cr_assert_eq(t.steps_per_epoch, 5);
    cr_assert_eq(t.n, 25);
    cr_assert_eq(t.per_epoch, 0);
    cr_assert_float_eq(t.rows[0].lr, 0.05 / 3, 1e-15, "warmup's first step runs at lr/3");
    cr_assert_eq(fit_run(&f, 0, NULL, NULL, NULL, &e), 0, "%s", e.msg);
    for (int ep = 0; ep < 5; ep++) {
        const fit_lr_row *last = &t.rows[(ep + 1) * t.steps_per_epoch - 1];
        cr_assert_eq(last->epoch, ep);
        cr_assert_eq(memcmp(&last->lr, &f.s.tr.hist[ep].lr, sizeof last->lr), 0,
                     "epoch %d: table %.17g, trainer %.17g", ep + 1, last->lr, f.s.tr.hist[ep].lr);
    }
    fit_lr_table_free(&t);
    fit_lr_table_free(NULL);
    fit_close(&f);
}

Test(fit, apply_live_gives_the_trainer_every_live_value_and_the_model_its_dropout)
{
    config c = spirals(2);
    tl_err e = {0};
    fit f;
    cr_assert_eq(fit_open(&f, &c, NULL, &e), 0, "%s", e.msg);
    config next = c;
    set(&next, "train.lr", "0.02");
    set(&next, "train.momentum", "0.5");
    set(&next, "train.nesterov", "false");
    set(&next, "train.weight_decay", "0.001");
    set(&next, "train.clip_norm", "0.5");
    set(&next, "train.beta1", "0.8");
    set(&next, "train.beta2", "0.99");
    set(&next, "train.eps", "1e-6");
    set(&next, "model.dropout", "0.3");
    session_apply_live(&f.s, &c, &next);
    const train_live *l = &f.s.tr.cfg.live;
    cr_assert_eq(l->opt.lr, 0.02);
    cr_assert_eq(l->opt.momentum, 0.5);
    cr_assert_eq(l->opt.nesterov, 0);
    cr_assert_eq(l->opt.weight_decay, 0.001);
    cr_assert_eq(l->clip_norm, 0.5);
    cr_assert_eq(l->opt.beta1, 0.8);
    cr_assert_eq(l->opt.beta2, 0.99);
    cr_assert_eq(l->opt.eps, 1e-6);
    cr_assert_eq(f.s.model->dropout, 0.3f);
    /* the same values as a session built from next */
    train_config tc;
    cr_assert_eq(session_train_config(&next, &tc, &e), 0, "%s", e.msg);
    cr_assert(tc.live.opt.lr == l->opt.lr && tc.live.opt.momentum == l->opt.momentum &&
              tc.live.opt.nesterov == l->opt.nesterov && tc.live.opt.weight_decay == l->opt.weight_decay &&
              tc.live.opt.beta1 == l->opt.beta1 && tc.live.opt.beta2 == l->opt.beta2 &&
              tc.live.opt.eps == l->opt.eps && tc.live.clip_norm == l->clip_norm);
    fit_close(&f);
}

Test(fit, metric_names_round_trip)
{
    for (int m = 0; m < METRIC_COUNT; m++) {
        int back = -1;
        cr_assert_eq(metric_parse(metric_str(m), &back, NULL), 0, "%s", metric_str(m));
        cr_assert_eq(back, m);
    }
    cr_assert_str_eq(metric_str(METRIC_COUNT), "?");
    cr_assert(metric_maximized(METRIC_TEST_ACCURACY) && !metric_maximized(METRIC_VAL_PERPLEXITY));
    tl_err e;
    int m = 7;
    cr_assert_eq(metric_parse("value", &m, &e), TL_EINPUT);
    cr_assert_eq(m, 7, "untouched on error");
    cr_assert_str_eq(e.msg, "study.metric: 'value' is not a training metric (val_loss, val_accuracy, "
                            "val_perplexity, test_accuracy, train_loss)");
}
