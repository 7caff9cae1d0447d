/* nn/train.c: the training loop of train.h: micro-batches, accumulation,
 * clipping, optimizer steps, evaluation, early stopping, history, copies,
 * the LR range test and the thread-layout line.
 *
 * Everything a run needs is allocated by trainer_init (and by trainer_copy
 * when it must grow the history); the epoch loop allocates nothing.  It does
 * not print, does not touch files, and knows nothing of tuning. */
#include "nn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>
#if defined(__SSE__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#include "util/timer.h"

/* rng streams derived from cfg.seed */
enum { TRAIN_STREAM_TRAIN = 0x7472, TRAIN_STREAM_EVAL = 0x6576 };
/* Dropout's generators: seed ^ this, stream = the micro-batch's number. */
#define TRAIN_DROPOUT_SEED 0x64726f706f757421ULL

/* ---- names ---- */

static const char *const scaling_names[TRAIN_SCALE_COUNT] = { "none", "linear", "sqrt" };
static const char *const monitor_names[TRAIN_MONITOR_COUNT] = { "val_loss", "val_acc" };
static const char *const status_names[TRAIN_STATUS_COUNT] = {
    "not_started", "budget_reached", "paused", "stopped_by_hook",
    "completed", "early_stopped", "diverged",
};

const char *train_scaling_str(int s)
{
    return s >= 0 && s < TRAIN_SCALE_COUNT ? scaling_names[s] : "?";
}

const char *train_monitor_str(int m)
{
    return m >= 0 && m < TRAIN_MONITOR_COUNT ? monitor_names[m] : "?";
}

const char *train_status_str(int s)
{
    return s >= 0 && s < TRAIN_STATUS_COUNT ? status_names[s] : "?";
}

int train_scaling_parse(const char *name, int *s, tl_err *err)
{
    for (int k = 0; k < TRAIN_SCALE_COUNT; k++)
        if (name && strcmp(name, scaling_names[k]) == 0) {
            *s = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "unknown lr scaling '%s' (valid: none, linear, sqrt)",
                   name ? name : "(null)");
}

int train_monitor_parse(const char *name, int *m, tl_err *err)
{
    for (int k = 0; k < TRAIN_MONITOR_COUNT; k++)
        if (name && strcmp(name, monitor_names[k]) == 0) {
            *m = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "unknown monitor '%s' (valid: val_loss, val_acc)",
                   name ? name : "(null)");
}

/* ---- config ---- */

void train_config_default(train_config *c)
{
    memset(c, 0, sizeof *c);
    c->optimizer = OPTIM_ADAMW;
    c->live = (train_live){ .opt = { .lr = 1e-3, .weight_decay = 0.01, .momentum = 0.9,
                                     .nesterov = 0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8 },
                            .clip_norm = 0 };
    sched_config_default(&c->sched);
    c->epochs = 10;
    c->batch_size = 64;
    c->accum_steps = 1;
    c->lr_scaling = TRAIN_SCALE_NONE;
    c->base_batch_size = 0;
    c->patience = 0;
    c->min_delta = 0;
    c->monitor = TRAIN_MONITOR_VAL_LOSS;
    c->restore_best = 1;
    c->seed = 0;
}

/* The live hyperparameters (those the hook may change). */
static int live_check(const train_config *c, tl_err *err)
{
    int rc = optim_hparams_check(c->optimizer, &c->live.opt, err);
    if (rc)
        return rc;
    if (!(c->live.clip_norm >= 0) || !isfinite(c->live.clip_norm))
        return tl_fail(err, TL_EINPUT, "train.clip_norm: must be >= 0, 0 = off (got %g)",
                       c->live.clip_norm);
    return 0;
}

int train_config_check(const train_config *c, tl_err *err)
{
    if (c->optimizer < 0 || c->optimizer >= OPTIM_COUNT)
        return tl_fail(err, TL_EINPUT, "train.optimizer: unknown optimizer kind %d",
                       c->optimizer);
    int rc = live_check(c, err);
    if (rc)
        return rc;
    if ((rc = sched_config_check(&c->sched, err)))
        return rc;
    if (c->epochs < 1)
        return tl_fail(err, TL_EINPUT, "train.epochs: must be >= 1 (got %d)", c->epochs);
    if (c->batch_size < 1)
        return tl_fail(err, TL_EINPUT, "train.batch_size: must be >= 1 (got %d)",
                       c->batch_size);
    if (c->accum_steps < 1)
        return tl_fail(err, TL_EINPUT, "train.accum_steps: must be >= 1 (got %d)",
                       c->accum_steps);
    if ((long)c->batch_size * c->accum_steps > 1L << 30)
        return tl_fail(err, TL_EINPUT, "train.accum_steps: effective batch %ld is too large",
                       (long)c->batch_size * c->accum_steps);
    if (c->lr_scaling < 0 || c->lr_scaling >= TRAIN_SCALE_COUNT)
        return tl_fail(err, TL_EINPUT, "train.lr_scaling: unknown scaling %d", c->lr_scaling);
    if (c->base_batch_size < 0)
        return tl_fail(err, TL_EINPUT,
                       "train.base_batch_size: must be >= 0, 0 = the effective batch (got %d)",
                       c->base_batch_size);
    if (c->patience < 0)
        return tl_fail(err, TL_EINPUT, "train.patience: must be >= 0, 0 = off (got %d)",
                       c->patience);
    if (!(c->min_delta >= 0) || !isfinite(c->min_delta))
        return tl_fail(err, TL_EINPUT, "train.min_delta: must be >= 0 (got %g)", c->min_delta);
    if (c->monitor < 0 || c->monitor >= TRAIN_MONITOR_COUNT)
        return tl_fail(err, TL_EINPUT, "train.monitor: unknown monitor %d", c->monitor);
    return 0;
}

int train_effective_batch(const train_config *c)
{
    return c->batch_size * c->accum_steps;
}

double train_scaled_lr(const train_config *c)
{
    double eff = (double)train_effective_batch(c);
    double base = c->base_batch_size > 0 ? (double)c->base_batch_size : eff;
    double k = eff / base;
    switch (c->lr_scaling) {
    case TRAIN_SCALE_LINEAR: return c->live.opt.lr * k;
    case TRAIN_SCALE_SQRT: return c->live.opt.lr * sqrt(k);
    default: return c->live.opt.lr;
    }
}

/* ---- lifecycle ---- */

void trainer_free(trainer *t)
{
    if (!t)
        return;
    optim_free(&t->opt);
    free(t->best_params);
    free(t->hist);
    memset(t, 0, sizeof *t);
}

int trainer_init(trainer *t, nn_model *m, const train_config *c, tl_err *err)
{
    memset(t, 0, sizeof *t);
    if (!m || !m->vt || !m->vt->forward || !m->vt->backward || !m->params || !m->grads)
        return tl_fail(err, TL_EINPUT, "trainer: model is missing or incomplete");
    int rc = train_config_check(c, err);
    if (rc)
        return rc;
    if (c->batch_size > m->max_batch)
        return tl_fail(err, TL_EINPUT,
                       "train.batch_size: %d exceeds the model's max batch %d",
                       c->batch_size, m->max_batch);
    if ((rc = optim_init(&t->opt, c->optimizer, m, err)))
        return rc;
    t->model = m;
    t->cfg = *c;
    t->cap_hist = c->epochs;
    t->hist = calloc((size_t)t->cap_hist, sizeof *t->hist);
    if (c->restore_best)
        t->best_params = malloc(m->nparams * sizeof *t->best_params);
    if (!t->hist || (c->restore_best && !t->best_params)) {
        trainer_free(t);
        return tl_fail(err, TL_ERUNTIME, "trainer: out of memory");
    }
    rng_seed(&t->rng, c->seed, TRAIN_STREAM_TRAIN);
    t->lr_mult = 1.0;
    t->last_lr = train_scaled_lr(c);
    t->status = TRAIN_NOT_STARTED;
    t->best_metric = NAN;
    t->best_epoch = -1;
    return 0;
}

void trainer_set_progress(trainer *t, train_progress_fn fn, void *ud)
{
    t->progress = fn;
    t->progress_ud = ud;
}

double trainer_lr(const trainer *t)
{
    if (!t->sched.fn)
        return train_scaled_lr(&t->cfg) * t->lr_mult;
    return sched_lr(&t->sched, train_scaled_lr(&t->cfg), t->step, t->epoch) * t->lr_mult;
}

int trainer_restore_best(trainer *t)
{
    if (!t->best_params || !t->has_best)
        return 0;
    memcpy(t->model->params, t->best_params, t->model->nparams * sizeof *t->best_params);
    return 1;
}

/* ---- threads ---- */

void train_enable_ftz(void)
{
#if defined(__SSE__)
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
    #pragma omp parallel
    {
        _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
        _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
    }
#endif
}

char *train_thread_layout(char *buf, size_t n)
{
    static const char *const par[] = { "sequential", "pthreads", "openmp" };
    int p = openblas_get_parallel();
    const char *cfg = openblas_get_config();
    if (n == 0)
        return buf;
    snprintf(buf, n,
             "openmp: %d threads (max %d, %s parallel region, level %d); "
             "openblas: %d threads, %s, %s kernels (build '%s')",
             omp_in_parallel() ? omp_get_num_threads() : omp_get_max_threads(),
             omp_get_max_threads(), omp_in_parallel() ? "inside a" : "outside any",
             omp_get_level(), openblas_get_num_threads(),
             p >= 0 && p <= 2 ? par[p] : "?", openblas_get_corename(), cfg ? cfg : "?");
    return buf;
}

int train_threads_here(void)
{
    return omp_in_parallel() ? 1 : omp_get_max_threads();
}

/* ---- the step ---- */

enum { STEP_OK, STEP_END, STEP_DIVERGED, STEP_BADBATCH };

typedef struct step_acc {
    double loss_sum;   /* sum of loss * weight over micro-batches */
    double weight;     /* samples (tokens) */
    long samples;
    double step_loss;  /* mean loss of the last step */
    double grad_norm;  /* pre-clip norm of the last step */
} step_acc;

static int check_batch(const trainer *t, const nn_batch *b, int B, tl_err *err)
{
    if (b->B != B || B > t->cfg.batch_size || b->T < 1 ||
        (!t->model->is_text && !b->x) || (t->model->is_text && !b->tokens) || !b->targets)
        return tl_fail(err, TL_ERUNTIME,
                       "trainer: batch source returned a bad batch (B %d/%d, T %d, max %d)",
                       b->B, B, b->T, t->cfg.batch_size);
    return 0;
}

/* This process's rows of micro-batch b under data parallelism (all of b
 * with one process). */
static nn_batch dp_slice(const trainer *t, const nn_batch *b)
{
    if (t->dp.size <= 1)
        return *b;
    nn_batch s = *b;
    int lo = (int)((long)b->B * t->dp.rank / t->dp.size), hi = (int)((long)b->B * (t->dp.rank + 1) / t->dp.size);
    s.B = hi - lo;
    if (b->x)
        s.x = b->x + (size_t)lo * (size_t)t->dp.x_row;
    if (b->tokens)
        s.tokens = b->tokens + (size_t)lo * (size_t)b->T;
    s.targets = b->targets + (size_t)lo * (size_t)(t->model->is_text ? b->T : 1);
    s.row0 = b->row0 + lo;
    return s;
}

/* Sums the gradients and the loss sum of this step over every process
 * (data parallelism).  Returns 0 or STEP_BADBATCH with err set. */
static int dp_reduce(trainer *t, double *sum, tl_err *err)
{
    if (t->dp.size <= 1)
        return 0;
    if (t->dp.reduce(t->dp.ud, t->model->grads, t->model->nparams, sum, 1)) {
        tl_fail(err, TL_ERUNTIME, "trainer: reducing the gradients across processes failed");
        return STEP_BADBATCH;
    }
    return 0;
}

/* Replaces d (n doubles) by process 0's (data parallelism; a no-op with
 * one process).  Returns 0 or TL_ERUNTIME with err set. */
static int dp_share(trainer *t, double *d, int n, tl_err *err)
{
    if (t->dp.size <= 1 || !t->dp.share || !t->dp.share(t->dp.ud, d, n))
        return 0;
    return tl_fail(err, TL_ERUNTIME, "trainer: sharing process 0's evaluation failed");
}

/* The epoch's evaluation on val: under data parallelism process 0 alone
 * evaluates and the others take its numbers.  Returns 0 or TL_ERUNTIME. */
static int dp_evaluate(trainer *t, nn_batch_src *val, double *loss, double *acc, tl_err *err)
{
    if (t->dp.size <= 1 || !t->dp.share)
        return trainer_evaluate(t, val, loss, acc, err);
    int rc = t->dp.rank == 0 ? trainer_evaluate(t, val, loss, acc, err) : 0;
    double d[3] = { *loss, *acc, rc };
    int src = dp_share(t, d, 3, err);
    if (src)
        return src;
    *loss = d[0];
    *acc = d[1];
    if (!rc && d[2] != 0)
        rc = tl_fail(err, TL_ERUNTIME, "trainer: process 0's evaluation failed");
    return rc;
}

/* The update of a fused step (nn_model_vt.train_step), on its team. */
typedef struct step_post {
    trainer *t;
    optim_hparams h;
    double norm;
} step_post;

static void step_post_fn(void *ctx, struct nn_team *tm)
{
    step_post *p = ctx;
    nn_model *m = p->t->model;
    double norm = optim_clip_step_team(&p->t->opt, m->params, m->grads, &p->h,
                                       p->t->cfg.live.clip_norm, tm);
    if (omp_get_thread_num() == 0)
        p->norm = norm;
}

/* One optimizer step at learning rate lr over up to accum micro-batches of
 * src.  Returns STEP_OK, STEP_END (src was exhausted before any micro-batch),
 * STEP_DIVERGED (t->reason set), or STEP_BADBATCH (err set). */
static int train_step(trainer *t, nn_batch_src *src, double lr, step_acc *acc, tl_err *err)
{
    nn_model *m = t->model;
    const int accum = t->cfg.accum_steps;
    const float scale = 1.0f / (float)accum;
    double sum = 0, w = 0, norm = NAN;
    int k, fused = accum == 1 && t->dp.size <= 1 && m->vt->train_step;
    optim_hparams h = t->cfg.live.opt;
    h.lr = lr;
    if (!fused)
        memset(m->grads, 0, m->nparams * sizeof *m->grads); /* = nn_zero_grad */
    for (k = 0; k < accum; k++) {
        nn_batch b;
        memset(&b, 0, sizeof b);
        int B = src->next(src->self, &b, t->cfg.batch_size, &t->rng);
        if (B <= 0)
            break;
        if (check_batch(t, &b, B, err))
            return STEP_BADBATCH;
        /* dropout: the masks come from (seed, step, micro-batch, row) and not
         * from t->rng, so that every process of a data-parallel run draws the
         * same masks for the same rows as one process (nn_batch.row0) */
        rng drop;
        rng_seed(&drop, t->cfg.seed ^ TRAIN_DROPOUT_SEED, (uint64_t)t->step * (uint64_t)accum + (uint64_t)k);
        if (t->dp.size > 1) { /* this process's rows; divergence is checked on the total */
            nn_batch mine = dp_slice(t, &b);
            float part = mine.B > 0 ? m->vt->forward(m, &mine, 1, &drop, NULL) : 0.0f;
            if (mine.B > 0)
                m->vt->backward(m, &mine, scale * (float)mine.B / (float)b.B);
            sum += (double)part * mine.B * b.T;
            w += (double)b.B * b.T;
            acc->samples += b.B;
            continue;
        }
        float loss = NAN;
        step_post p = {.t = t, .h = h, .norm = NAN};
        if (fused && m->vt->train_step(m, &b, &drop, scale, &(nn_step_post){step_post_fn, &p}, &loss)) {
            norm = p.norm; /* forward, backward and update in one region */
        } else {
            if (fused) /* declined: the separate calls */
                memset(m->grads, 0, m->nparams * sizeof *m->grads);
            fused = 0;
            loss = m->vt->forward(m, &b, 1, &drop, NULL);
        }
        if (!isfinite(loss)) {
            snprintf(t->reason, sizeof t->reason, "training loss is %g at step %ld (epoch %d)",
                     (double)loss, t->step + 1, t->epoch + 1);
            return STEP_DIVERGED;
        }
        double bw = (double)b.B * b.T;
        sum += (double)loss * bw;
        w += bw;
        acc->samples += b.B;
        if (!fused)
            m->vt->backward(m, &b, scale);
    }
    if (k == 0)
        return STEP_END;
    int rc = dp_reduce(t, &sum, err);
    if (rc)
        return rc;
    if (!isfinite(sum)) {
        snprintf(t->reason, sizeof t->reason, "training loss is %g at step %ld (epoch %d)", sum / w, t->step + 1,
                 t->epoch + 1);
        return STEP_DIVERGED;
    }
    if (k < accum) {
        /* short last group: make the gradient the mean of its k micro-batches */
        const float r = (float)accum / (float)k;
        float *g = m->grads;
        const size_t n = m->nparams;
        #pragma omp parallel for simd schedule(static) if (n >= OPTIM_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            g[i] *= r;
    }
    /* The clip and the update in one region (no update when the norm is
     * not finite); a fused step has done them already. */
    if (!fused)
        norm = optim_clip_step(&t->opt, m->params, m->grads, &h, t->cfg.live.clip_norm);
    if (!isfinite(norm)) {
        snprintf(t->reason, sizeof t->reason, "gradient norm is %g at step %ld (epoch %d)",
                 norm, t->step + 1, t->epoch + 1);
        return STEP_DIVERGED;
    }
    t->step++;
    acc->loss_sum += sum;
    acc->weight += w;
    acc->step_loss = sum / w;
    acc->grad_norm = norm;
    return STEP_OK;
}

int trainer_evaluate(trainer *t, nn_batch_src *src, double *loss, double *acc, tl_err *err)
{
    nn_model *m = t->model;
    rng er;
    rng_seed(&er, t->cfg.seed, TRAIN_STREAM_EVAL);
    if (src->reset)
        src->reset(src->self, &er);
    double sum = 0, w = 0;
    long correct = 0;
    for (;;) {
        nn_batch b;
        memset(&b, 0, sizeof b);
        int B = src->next(src->self, &b, m->max_batch, &er);
        if (B <= 0)
            break;
        if (b.B != B || b.T < 1 || !b.targets || (!m->is_text && !b.x) ||
            (m->is_text && !b.tokens))
            return tl_fail(err, TL_ERUNTIME,
                           "trainer: validation source returned a bad batch (B %d/%d, T %d)",
                           b.B, B, b.T);
        long nc = 0;
        float l = m->vt->forward(m, &b, 0, &er, &nc);
        double bw = (double)b.B * b.T;
        sum += (double)l * bw;
        w += bw;
        correct += nc;
    }
    *loss = w > 0 ? sum / w : NAN;
    *acc = w > 0 ? (double)correct / w : NAN;
    return 0;
}

/* ---- early stopping ---- */

/* Updates the best state with this epoch's metric; returns 1 if it improved. */
static int track_best(trainer *t, double metric)
{
    int maximize = t->cfg.monitor == TRAIN_MONITOR_VAL_ACC;
    int better;
    if (isnan(metric))
        better = 0;
    else if (!t->has_best)
        better = 1;
    else if (maximize)
        better = metric > t->best_metric + t->cfg.min_delta;
    else
        better = metric < t->best_metric - t->cfg.min_delta;
    if (better) {
        t->has_best = 1;
        t->best_metric = metric;
        t->best_epoch = t->epoch;
        t->bad_epochs = 0;
        if (t->best_params)
            memcpy(t->best_params, t->model->params,
                   t->model->nparams * sizeof *t->best_params);
    } else {
        t->bad_epochs++;
    }
    return better;
}

static int is_final(int status)
{
    return status == TRAIN_COMPLETED || status == TRAIN_EARLY_STOPPED ||
           status == TRAIN_DIVERGED;
}

static int steps_per_epoch(const trainer *t, nn_batch_src *train, long *spe, tl_err *err)
{
    long count = train->count ? train->count(train->self) : 0;
    if (count <= 0)
        return tl_fail(err, TL_EINPUT, "trainer: the training source is empty (count %ld)",
                       count);
    long nb = (count + t->cfg.batch_size - 1) / t->cfg.batch_size;
    *spe = (nb + t->cfg.accum_steps - 1) / t->cfg.accum_steps;
    return 0;
}

/* One pass of train: optimizer steps until the source runs dry.  Returns
 * STEP_END (the pass is done: *nsteps steps, their norms summed in
 * *norm_sum), STEP_DIVERGED or STEP_BADBATCH. */
static int train_epoch(trainer *t, nn_batch_src *train, step_acc *acc, double *norm_sum, long *nsteps,
                       tl_err *err)
{
    if (train->reset)
        train->reset(train->self, &t->rng);
    for (;;) {
        double lr = trainer_lr(t);
        int s = train_step(t, train, lr, acc, err);
        if (s != STEP_OK)
            return s;
        t->last_lr = lr;
        *norm_sum += acc->grad_norm;
        (*nsteps)++;
        if (t->progress) {
            train_progress p = { t->epoch, t->step, *nsteps, t->steps_per_epoch,
                                 acc->step_loss, lr, acc->grad_norm };
            t->progress(&p, t->progress_ud);
        }
    }
}

/* Appends ev to the history (one record per epoch, up to cap_hist). */
static void record_epoch(trainer *t, const train_event *ev)
{
    if (t->nhist >= t->cap_hist)
        return;
    train_record *r = &t->hist[t->nhist++];
    r->epoch = ev->epoch;
    r->step = ev->step;
    r->train_loss = ev->train_loss;
    r->val_loss = ev->val_loss;
    r->val_acc = ev->val_acc;
    r->lr = ev->lr;
    r->grad_norm = ev->grad_norm;
    r->elapsed = ev->elapsed;
}

/* Checks the arguments of trainer_run and resolves the run's schedule. */
static int run_setup(trainer *t, nn_batch_src *train, nn_batch_src *val, int *until_epoch, tl_err *err)
{
    if (!train || !train->next)
        return tl_fail(err, TL_EINPUT, "trainer: no training source");
    if (val && !val->next)
        return tl_fail(err, TL_EINPUT, "trainer: validation source has no next()");
    if (*until_epoch <= 0)
        *until_epoch = t->cfg.epochs;
    if (*until_epoch > t->cfg.epochs)
        return tl_fail(err, TL_EINPUT, "trainer: until_epoch %d exceeds train.epochs %d",
                       *until_epoch, t->cfg.epochs);
    if (!val && t->cfg.monitor == TRAIN_MONITOR_VAL_ACC)
        return tl_fail(err, TL_EINPUT, "train.monitor: val_acc needs a validation set");
    return 0;
}

int trainer_run(trainer *t, nn_batch_src *train, nn_batch_src *val, int until_epoch,
                train_hook hook, void *ud, tl_err *err)
{
    int rc = run_setup(t, train, val, &until_epoch, err);
    if (rc)
        return rc;
    if (is_final(t->status))
        return 0;
    if ((rc = live_check(&t->cfg, err)))
        return rc;
    if ((rc = steps_per_epoch(t, train, &t->steps_per_epoch, err)))
        return rc;
    if ((rc = sched_resolve(&t->sched, &t->cfg.sched, t->steps_per_epoch, t->cfg.epochs, err)))
        return rc;
    train_enable_ftz();

    double t_run = tl_now(), elapsed0 = t->elapsed;
    t->status = TRAIN_BUDGET_REACHED;
    while (t->epoch < until_epoch) {
        double t0 = tl_now();
        step_acc acc;
        memset(&acc, 0, sizeof acc);
        double norm_sum = 0;
        long nsteps = 0;
        int s = train_epoch(t, train, &acc, &norm_sum, &nsteps, err);
        if (s == STEP_BADBATCH)
            return TL_ERUNTIME;
        if (s == STEP_DIVERGED) {
            t->status = TRAIN_DIVERGED;
            goto done;
        }
        double train_secs = tl_now() - t0;
        if (nsteps == 0)
            return tl_fail(err, TL_EINPUT, "trainer: the training source gave no batch");
        t->epoch++;

        train_event ev;
        memset(&ev, 0, sizeof ev);
        ev.epoch = t->epoch;
        ev.step = t->step;
        ev.train_loss = acc.loss_sum / acc.weight;
        ev.val_loss = ev.val_acc = NAN;
        if (val && (rc = dp_evaluate(t, val, &ev.val_loss, &ev.val_acc, err)))
            return rc;
        if (val && !isfinite(ev.val_loss)) {
            snprintf(t->reason, sizeof t->reason, "validation loss is %g after epoch %d",
                     ev.val_loss, t->epoch);
            t->status = TRAIN_DIVERGED;
            goto done;
        }
        ev.lr = t->last_lr;
        ev.grad_norm = norm_sum / (double)nsteps;
        ev.samples_per_sec = train_secs > 0 ? (double)acc.samples / train_secs : 0;
        t->elapsed = elapsed0 + (tl_now() - t_run);
        ev.elapsed = t->elapsed;
        double metric = !val ? ev.train_loss
                        : t->cfg.monitor == TRAIN_MONITOR_VAL_ACC ? ev.val_acc : ev.val_loss;
        ev.is_best = track_best(t, metric);
        ev.best_metric = t->best_metric;
        ev.best_epoch = t->best_epoch;
        record_epoch(t, &ev);
        int decision = hook ? hook(t, &ev, ud) : TRAIN_CONTINUE;
        if (t->dp.size > 1) { /* process 0's hook decides (it checkpoints) */
            double d = decision;
            if ((rc = dp_share(t, &d, 1, err)))
                return rc;
            decision = (int)d;
        }
        if ((rc = live_check(&t->cfg, err)))
            return tl_prefix(err, "after the hook of epoch %d", t->epoch);
        if (decision == TRAIN_STOP || decision == TRAIN_PAUSE) {
            t->status = decision == TRAIN_STOP ? TRAIN_STOPPED_BY_HOOK : TRAIN_PAUSED;
            goto done;
        }
        if (t->cfg.patience > 0 && t->bad_epochs >= t->cfg.patience &&
            t->epoch < t->cfg.epochs) {
            t->status = TRAIN_EARLY_STOPPED;
            goto done;
        }
    }
    t->status = t->epoch >= t->cfg.epochs ? TRAIN_COMPLETED : TRAIN_BUDGET_REACHED;
done:
    t->elapsed = elapsed0 + (tl_now() - t_run);
    if (is_final(t->status) && t->cfg.restore_best)
        trainer_restore_best(t);
    return 0;
}

/* ---- copies ---- */

int train_same_arch(const nn_model *a, const nn_model *b, const char *what, tl_err *err)
{
    if (a->nparams != b->nparams)
        return tl_fail(err, TL_EINPUT, "%s: %zu parameters, expected %zu", what, b->nparams,
                       a->nparams);
    if (a->ntensors != b->ntensors)
        return tl_fail(err, TL_EINPUT, "%s: %d tensors, expected %d", what, b->ntensors,
                       a->ntensors);
    for (int i = 0; i < a->ntensors; i++) {
        const nn_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        int same = strncmp(x->name, y->name, sizeof x->name) == 0 && x->offset == y->offset &&
                   x->size == y->size && x->ndim == y->ndim && x->decay == y->decay;
        for (int d = 0; same && d < x->ndim && d < 4; d++)
            same = x->shape[d] == y->shape[d];
        if (!same)
            return tl_fail(err, TL_EINPUT,
                           "%s: tensor %d is %.48s (%zu floats at %zu), expected %.48s "
                           "(%zu floats at %zu)",
                           what, i, y->name, y->size, y->offset, x->name, x->size, x->offset);
    }
    return 0;
}

int trainer_copy(trainer *dst, const trainer *src, tl_err *err)
{
    if (dst == src)
        return 0;
    int rc = train_same_arch(dst->model, src->model, "trainer copy", err);
    if (rc)
        return rc;
    if (dst->opt.kind != src->opt.kind)
        return tl_fail(err, TL_EINPUT, "trainer copy: optimizer %s into %s",
                       optim_str(src->opt.kind), optim_str(dst->opt.kind));
    if (src->cfg.batch_size > dst->model->max_batch)
        return tl_fail(err, TL_EINPUT,
                       "trainer copy: batch_size %d exceeds the destination model's max batch %d",
                       src->cfg.batch_size, dst->model->max_batch);
    if (dst->cap_hist < src->nhist) {
        train_record *h = realloc(dst->hist, (size_t)src->cap_hist * sizeof *h);
        if (!h)
            return tl_fail(err, TL_ERUNTIME, "trainer copy: out of memory");
        dst->hist = h;
        dst->cap_hist = src->cap_hist;
    }
    if (src->best_params && !dst->best_params) {
        dst->best_params = malloc(src->model->nparams * sizeof *dst->best_params);
        if (!dst->best_params)
            return tl_fail(err, TL_ERUNTIME, "trainer copy: out of memory");
    }
    nn_model *dm = dst->model;
    const nn_model *sm = src->model;
    memcpy(dm->params, sm->params, sm->nparams * sizeof *sm->params);
    if (dm->dropout != sm->dropout && dm->vt->set_dropout)
        dm->vt->set_dropout(dm, sm->dropout);
    dm->dropout = sm->dropout;
    optim_copy(&dst->opt, &src->opt, NULL);
    dst->cfg = src->cfg;
    dst->rng = src->rng;
    dst->step = src->step;
    dst->epoch = src->epoch;
    dst->lr_mult = src->lr_mult;
    dst->last_lr = src->last_lr;
    dst->status = src->status;
    memcpy(dst->reason, src->reason, sizeof dst->reason);
    dst->has_best = src->has_best;
    dst->best_metric = src->best_metric;
    dst->best_epoch = src->best_epoch;
    dst->bad_epochs = src->bad_epochs;
    if (src->best_params)
        memcpy(dst->best_params, src->best_params, sm->nparams * sizeof *sm->params);
    if (src->nhist)
        memcpy(dst->hist, src->hist, (size_t)src->nhist * sizeof *src->hist);
    dst->nhist = src->nhist;
    dst->elapsed = src->elapsed;
    dst->sched = src->sched;
    dst->steps_per_epoch = src->steps_per_epoch;
    return 0;
}

/* ---- LR range test ---- */

void train_lr_find_free(train_lr_find_result *r)
{
    if (!r)
        return;
    free(r->lr);
    free(r->loss);
    free(r->smooth);
    memset(r, 0, sizeof *r);
}

int trainer_lr_find(trainer *t, nn_batch_src *train, double lo, double hi, int nsteps,
                    double beta, train_lr_find_result *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!train || !train->next)
        return tl_fail(err, TL_EINPUT, "lr_find: no training source");
    if (!(lo > 0) || !(hi > lo) || !isfinite(hi))
        return tl_fail(err, TL_EINPUT, "lr_find: needs 0 < lo < hi (got %g, %g)", lo, hi);
    if (nsteps < 3)
        return tl_fail(err, TL_EINPUT, "lr_find: needs at least 3 steps (got %d)", nsteps);
    if (!(beta >= 0 && beta < 1))
        return tl_fail(err, TL_EINPUT, "lr_find: beta must be in [0, 1) (got %g)", beta);
    out->lr = malloc((size_t)nsteps * sizeof *out->lr);
    out->loss = malloc((size_t)nsteps * sizeof *out->loss);
    out->smooth = malloc((size_t)nsteps * sizeof *out->smooth);
    if (!out->lr || !out->loss || !out->smooth) {
        train_lr_find_free(out);
        return tl_fail(err, TL_ERUNTIME, "lr_find: out of memory");
    }
    train_enable_ftz();
    if (train->reset)
        train->reset(train->self, &t->rng);
    double avg = 0, best = INFINITY, ratio = log(hi / lo) / (double)(nsteps - 1);
    double bpow = 1.0;
    int n = 0, rc;
    for (int i = 0; i < nsteps; i++) {
        double lr = lo * exp(ratio * i);
        step_acc acc;
        memset(&acc, 0, sizeof acc);
        int s = train_step(t, train, lr, &acc, err);
        if (s == STEP_END) {
            /* cycle: a new epoch of the source */
            if (train->reset)
                train->reset(train->self, &t->rng);
            s = train_step(t, train, lr, &acc, err);
            if (s == STEP_END) {
                rc = tl_fail(err, TL_EINPUT, "lr_find: the training source gave no batch");
                goto fail;
            }
        }
        if (s == STEP_BADBATCH) {
            rc = TL_ERUNTIME;
            goto fail;
        }
        if (s == STEP_DIVERGED) {
            out->stopped_early = 1;
            break;
        }
        avg = beta * avg + (1 - beta) * acc.step_loss;
        bpow *= beta;
        double sm = avg / (1 - bpow);
        out->lr[n] = lr;
        out->loss[n] = acc.step_loss;
        out->smooth[n] = sm;
        n++;
        if (sm < best)
            best = sm;
        if (sm > 4 * best) {
            out->stopped_early = 1;
            break;
        }
    }
    out->n = n;
    if (n == 0) {
        rc = tl_fail(err, TL_EINPUT, "lr_find: diverged at the first step (lr %g); lower lo",
                     lo);
        goto fail;
    }
    int imin = 0;
    for (int i = 1; i < n; i++)
        if (out->smooth[i] < out->smooth[imin])
            imin = i;
    out->lr_min_div10 = out->lr[imin] / 10;
    out->suggestion = out->lr_min_div10;
    if (imin >= 2) {
        /* steepest descent of smooth vs log(lr), central differences on the
         * evenly spaced log grid, over the steps 1..imin */
        double steepest = INFINITY;
        for (int i = 1; i <= imin && i + 1 < n; i++) {
            double slope = (out->smooth[i + 1] - out->smooth[i - 1]) / (2 * ratio);
            if (slope < steepest) {
                steepest = slope;
                out->suggestion = out->lr[i];
            }
        }
    }
    return 0;
fail:
    train_lr_find_free(out);
    return rc;
}
