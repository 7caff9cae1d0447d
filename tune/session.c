/* tune/session.c: config and data -> model, trainer; the batch-source
 * adapters that put data/ loaders behind nn/'s iterator interface; the
 * live values and the checkpoints of a session. */
#include "tune/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ckpt.h"
#include "nn/gpt.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nn/schedule.h"

/* ---- batch sources ---- */

struct session_src {
    nn_batch_src base;
    const data_view *view;
    data_loader *loader;    /* classification */
    int shuffle;
    int T;                  /* text */
    long per_epoch;         /* text train: sequences per epoch; text eval: windows */
    long done;
    long cap;               /* text eval: window cap */
    int text_eval;
    int maxb, dim;
    float *x;
    int *y, *tok, *tgt;
};

static void src_reset(void *self, rng *r)
{
    session_src *s = self;
    s->done = 0;
    if (s->loader)
        data_loader_reset(s->loader, s->shuffle ? r : NULL);
}

static int src_next(void *self, nn_batch *b, int max_b, rng *r)
{
    session_src *s = self;
    if (max_b > s->maxb)
        max_b = s->maxb;
    memset(b, 0, sizeof *b);
    if (s->loader) {
        int n = data_loader_next(s->loader, s->x, s->y, max_b);
        b->B = n;
        b->T = 1;
        b->x = s->x;
        b->targets = s->y;
        return n;
    }
    long left = s->per_epoch - s->done;
    if (left <= 0)
        return 0;
    int n = left < max_b ? (int)left : max_b;
    if (s->text_eval)
        n = data_text_eval_batch(s->view, s->T, s->cap, s->done, n, s->tok, s->tgt);
    else if (data_text_sample(s->view, r, n, s->T, s->tok, s->tgt) != n)
        return 0;
    s->done += n;
    b->B = n;
    b->T = s->T;
    b->tokens = s->tok;
    b->targets = s->tgt;
    return n;
}

static long src_count(void *self)
{
    session_src *s = self;
    return s->loader ? data_loader_samples(s->loader) : s->per_epoch;
}

static void src_free(session_src *s)
{
    if (!s)
        return;
    data_loader_free(s->loader);
    free(s->x);
    free(s->y);
    free(s->tok);
    free(s->tgt);
    free(s);
}

/* kind: 0 train, 1 eval. */
static session_src *src_new(const config *c, const data_view *v, int is_text, int eval, int maxb, tl_err *err)
{
    session_src *s = calloc(1, sizeof *s);
    if (!s) {
        tl_fail(err, TL_ERUNTIME, "out of memory");
        return NULL;
    }
    s->base = (nn_batch_src){.self = s, .reset = src_reset, .next = src_next, .count = src_count};
    s->view = v;
    s->maxb = maxb;
    if (!is_text) {
        s->dim = v->d->dim;
        s->shuffle = !eval;
        s->loader = data_loader_new(v, maxb, 0, err);
        s->x = malloc((size_t)maxb * (size_t)s->dim * sizeof *s->x);
        s->y = malloc((size_t)maxb * sizeof *s->y);
        if (!s->loader || !s->x || !s->y)
            goto fail;
    } else {
        s->T = c->ctx;
        s->text_eval = eval;
        if (eval) {
            s->cap = c->eval_windows;
            s->per_epoch = data_text_eval_count(v, s->T, s->cap);
        } else {
            s->per_epoch = c->steps_per_epoch * (long)c->batch_size * c->accum_steps;
        }
        s->tok = malloc((size_t)maxb * (size_t)s->T * sizeof *s->tok);
        s->tgt = malloc((size_t)maxb * (size_t)s->T * sizeof *s->tgt);
        if (!s->tok || !s->tgt)
            goto fail;
    }
    return s;
fail:
    if (err && !err->code)
        tl_fail(err, TL_ERUNTIME, "out of memory");
    src_free(s);
    return NULL;
}

/* ---- model and trainer ---- */

int session_mlp_config(const config *c, const task_data *d, mlp_config *m, tl_err *err)
{
    memset(m, 0, sizeof *m);
    m->in_dim = d->in_dim;
    m->out_dim = d->nclass;
    int nh = c->nwidths > 0 ? c->nwidths : c->layers;
    if (nh < 0 || nh > MLP_MAX_HIDDEN)
        return tl_fail(err, TL_EINPUT, "model.layers: %d hidden layers (at most %d)", nh, MLP_MAX_HIDDEN);
    m->nhidden = nh;
    for (int i = 0; i < nh; i++)
        m->hidden[i] = c->nwidths > 0 ? c->widths[i] : i < 8 && c->width_i[i] > 0 ? c->width_i[i] : c->hidden;
    m->dropout = (float)c->dropout;
    return mlp_act_parse(c->activation, &m->act, err);
}

void session_gpt_config(const config *c, const task_data *d, gpt_config *g)
{
    memset(g, 0, sizeof *g);
    g->vocab = d->vocab;
    g->ctx = c->ctx;
    g->d_model = c->d_model;
    g->layers = c->layers;
    g->heads = c->heads;
    g->mlp_ratio = c->mlp_ratio;
    g->dropout = (float)c->dropout;
}

/* The one place that reads the live hyperparameters out of a config. */
static train_live live_of(const config *c)
{
    return (train_live){ .opt = { .lr = c->lr, .weight_decay = c->weight_decay, .momentum = c->momentum,
                                  .nesterov = c->nesterov, .beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps },
                         .clip_norm = c->clip_norm };
}

void session_apply_live(session *s, const config *was, const config *c)
{
    s->tr.cfg.live = live_of(c);
    if (c->dropout != was->dropout)
        s->model->vt->set_dropout(s->model, (float)c->dropout);
}

int session_train_config(const config *c, train_config *tc, tl_err *err)
{
    train_config_default(tc);
    int rc;
    if ((rc = optim_parse(c->optimizer, &tc->optimizer, err)) ||
        (rc = train_scaling_parse(c->lr_scaling, &tc->lr_scaling, err)) ||
        (rc = train_monitor_parse(c->monitor, &tc->monitor, err)) ||
        (rc = sched_parse(c->schedule, &tc->sched.kind, err)) ||
        (rc = sched_unit_parse(c->warmup_unit, &tc->sched.warmup_unit, err)) ||
        (rc = sched_unit_parse(c->step_unit, &tc->sched.unit, err)))
        return rc;
    tc->live = live_of(c);
    tc->sched.step_size = c->step_size;
    tc->sched.decay_rate = c->decay_rate;
    tc->sched.gamma = c->gamma;
    tc->sched.min_lr = c->min_lr;
    tc->sched.warmup = c->warmup;
    tc->sched.warmup_start = c->start_factor;
    tc->epochs = c->epochs;
    tc->batch_size = c->batch_size;
    tc->accum_steps = c->accum_steps;
    tc->base_batch_size = c->base_batch_size;
    tc->patience = c->patience;
    tc->min_delta = c->min_delta;
    tc->restore_best = c->patience > 0;
    tc->seed = c->seed;
    if ((rc = train_config_check(tc, err)))
        return tl_prefix(err, "%s", c->source[0] ? c->source : "config");
    return 0;
}

int session_new(session *s, const config *c, const task_data *d, tl_err *err)
{
    memset(s, 0, sizeof *s);
    int rc;
    rng init;
    rng_seed(&init, c->seed, 0x1417);
    int maxb = c->batch_size;
    const char *src = c->source[0] ? c->source : "config";
    if (d->is_text) {
        gpt_config g;
        session_gpt_config(c, d, &g);
        rc = gpt_create(&g, maxb, &init, &s->model, err);
    } else {
        mlp_config m;
        if ((rc = session_mlp_config(c, d, &m, err)))
            return tl_prefix(err, "%s", src);
        rc = mlp_create(&m, maxb, &init, &s->model, err);
    }
    if (rc)
        return tl_prefix(err, "%s", src);
    s->nparams = s->model->nparams;
    train_config tc;
    if ((rc = session_train_config(c, &tc, err)))
        goto fail;
    if ((rc = trainer_init(&s->tr, s->model, &tc, err))) {
        tl_prefix(err, "%s", src);
        goto fail;
    }
    s->has_trainer = 1;
    s->train_src = src_new(c, &d->train, d->is_text, 0, maxb, err);
    s->val_src = src_new(c, &d->val, d->is_text, 1, maxb, err);
    if (!s->train_src || !s->val_src) {
        rc = err && err->code ? err->code : TL_ERUNTIME;
        goto fail;
    }
    if (d->test.n > 0) {
        s->test_src = src_new(c, &d->test, d->is_text, 1, maxb, err);
        if (!s->test_src) {
            rc = TL_ERUNTIME;
            goto fail;
        }
    }
    return 0;
fail:
    session_free(s);
    return rc;
}

void session_free(session *s)
{
    if (!s)
        return;
    if (s->has_trainer)
        trainer_free(&s->tr);
    nn_model_free(s->model);
    src_free(s->train_src);
    src_free(s->val_src);
    src_free(s->test_src);
    memset(s, 0, sizeof *s);
}

nn_batch_src *session_train(session *s) { return &s->train_src->base; }
nn_batch_src *session_val(session *s) { return &s->val_src->base; }
nn_batch_src *session_test(session *s) { return s->test_src ? &s->test_src->base : NULL; }

void session_describe(const config *c, const task_data *d, char *buf, size_t n)
{
    if (d->is_text) {
        snprintf(buf, n, "gpt layers=%d heads=%d d_model=%d ctx=%d vocab=%d mlp_ratio=%d", c->layers, c->heads,
                 c->d_model, c->ctx, d->vocab, c->mlp_ratio);
        return;
    }
    size_t used = (size_t)snprintf(buf, n, "mlp %d", d->in_dim);
    int nh = c->nwidths > 0 ? c->nwidths : c->layers;
    for (int i = 0; i < nh && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "-%d",
                                 c->nwidths > 0 ? c->widths[i] : i < 8 && c->width_i[i] > 0 ? c->width_i[i] : c->hidden);
    if (used < n)
        snprintf(buf + used, n - used, "-%d %s", d->nclass, c->activation);
}

/* ---- checkpoints ---- */

int session_save(const session *s, const char *ini, const char *path, tl_err *err)
{
    return ckpt_save(&s->tr, path, ini, strlen(ini) + 1, err);
}

int session_resume(session *s, const char *path, tl_err *err)
{
    return ckpt_load(&s->tr, path, NULL, NULL, err);
}

int session_resume_mem(session *s, const unsigned char *bytes, size_t n, const char *name, tl_err *err)
{
    int rc = ckpt_load_mem(&s->tr, bytes, n, NULL, NULL, err);
    return rc ? tl_prefix(err, "%s", name) : 0;
}

/* The config text a checkpoint's blob holds, loaded into c. */
static int config_of_blob(config *c, void *blob, size_t len, const char *name, int *bad_text, tl_err *err)
{
    config_defaults(c);
    int rc = config_load_text(c, blob, strnlen(blob, len), name, err);
    free(blob);
    if (rc && bad_text)
        *bad_text = 1;
    return rc;
}

int session_config_of_ckpt(config *c, const char *path, int *bad_text, tl_err *err)
{
    void *blob = NULL;
    size_t len = 0;
    if (bad_text)
        *bad_text = 0;
    int rc = ckpt_peek(path, NULL, &blob, &len, err);
    return rc ? rc : config_of_blob(c, blob, len, path, bad_text, err);
}

int session_config_of_ckpt_mem(config *c, const unsigned char *bytes, size_t n, const char *name, int *bad_text,
                               tl_err *err)
{
    void *blob = NULL;
    size_t len = 0;
    if (bad_text)
        *bad_text = 0;
    int rc = ckpt_peek_mem(bytes, n, NULL, &blob, &len, err);
    return rc ? tl_prefix(err, "%s", name) : config_of_blob(c, blob, len, name, bad_text, err);
}
