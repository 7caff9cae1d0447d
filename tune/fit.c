/* tune/fit.c: one model trained from a config (see fit.h): open (data,
 * session, resume), the epoch loop with its checkpoints, the final
 * evaluation, the schedule table and the lr range test. */
#include "tune/fit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/ckpt.h"
#include "nn/schedule.h"

void fit_close(fit *f)
{
    if (!f)
        return;
    session_free(&f->s);
    task_data_free(&f->data);
    free(f->ini);
    train_lr_find_free(&f->sweep);
    memset(f, 0, sizeof *f);
}

int fit_check_output(const char *path, const char *what, tl_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return tl_fail(err, TL_EINPUT, "%s: %s: is a folder; give a file name inside it", what, path);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *folder = dirname(tmp);
    if (stat(folder, &st) != 0 || !S_ISDIR(st.st_mode))
        return tl_fail(err, TL_EINPUT, "%s: %s: the folder %s does not exist; create it first", what, path, folder);
    /* a probe file beside the output: what the write will need, without
     * touching a file that is already there */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.tunelab-probe-XXXXXX", folder);
    int fd = mkstemp(probe);
    if (fd < 0)
        return tl_fail(err, TL_EINPUT, "%s: %s: cannot write in %s (%s); choose another place", what, path, folder,
                       strerror(errno));
    close(fd);
    unlink(probe);
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
        return tl_fail(err, TL_EINPUT, "%s: %s: the file is read-only; choose another place", what, path);
    return 0;
}

/* train.checkpoint before any training: a place that can be written, and
 * not a file of something else (a checkpoint of another model, or not a
 * checkpoint at all), which the first epoch would overwrite. */
static int check_ckpt_target(const fit *f, tl_err *err)
{
    const char *path = f->cfg.checkpoint;
    int rc = fit_check_output(path, "train.checkpoint", err);
    if (rc || access(path, F_OK) != 0)
        return rc;
    ckpt_info in;
    tl_err pe = {0};
    if (ckpt_peek(path, &in, NULL, NULL, &pe))
        return tl_fail(err, TL_EINPUT,
                       "train.checkpoint: %s: exists and is not a readable tunelab checkpoint (%s); choose "
                       "another train.checkpoint, or remove the file", path, pe.msg);
    /* the architecture, not the parameter count alone: 2-16-16-3 and
     * 2-12-20-3 have 371 each */
    if (ckpt_check_model(path, f->s.model, &pe))
        return tl_fail(err, TL_EINPUT,
                       "train.checkpoint: %s: holds a checkpoint of another model (%s); choose another "
                       "train.checkpoint, or remove the file to overwrite it",
                       path, strstr(pe.msg, "architecture mismatch") ? strstr(pe.msg, "architecture mismatch") : pe.msg);
    return 0;
}

int fit_open(fit *f, const config *c, const char *resume, tl_err *err)
{
    return fit_open_mem(f, c, resume, NULL, 0, err);
}

int fit_open_mem(fit *f, const config *c, const char *resume, const unsigned char *bytes, size_t n, tl_err *err)
{
    memset(f, 0, sizeof *f);
    f->cfg = *c;
    f->resumed = resume != NULL;
    f->ckpt = f->cfg.checkpoint[0] ? f->cfg.checkpoint : resume;
    f->ini = config_to_string(&f->cfg);
    if (!f->ini)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = task_data_load(&f->cfg, &f->data, err);
    if (rc) {
        fit_close(f);
        return rc;
    }
    if ((rc = session_new(&f->s, &f->cfg, &f->data, err))) {
        fit_close(f);
        return rc;
    }
    if (resume && (rc = bytes ? session_resume_mem(&f->s, bytes, n, resume, err)
                              : session_resume(&f->s, resume, err))) {
        fit_close(f);
        return rc;
    }
    if (f->cfg.checkpoint[0] && (!resume || strcmp(resume, f->cfg.checkpoint)) &&
        (rc = check_ckpt_target(f, err))) {
        fit_close(f);
        return rc;
    }
    return 0;
}

void fit_describe(const fit *f, fit_info *info)
{
    memset(info, 0, sizeof *info);
    session_describe(&f->cfg, &f->data, info->model, sizeof info->model);
    info->nparams = f->s.nparams;
    info->ntrain = f->data.train.n;
    info->nval = f->data.val.n;
    info->ntest = f->data.test.n;
    info->is_text = f->data.is_text;
    info->unigram_entropy = task_data_unigram_entropy(&f->data);
    info->effective_batch = train_effective_batch(&f->s.tr.cfg);
    info->effective_lr = train_scaled_lr(&f->s.tr.cfg);
    info->epoch = f->s.tr.epoch;
    info->step = f->s.tr.step;
    train_thread_layout(info->threads, sizeof info->threads);
}

typedef struct run_ctx {
    fit *f;
    fit_epoch_fn on_epoch;
    void *ud;
    tl_err ckpt_err;
} run_ctx;

static int after_epoch(trainer *t, const train_event *ev, void *ud)
{
    run_ctx *r = ud;
    if (r->on_epoch)
        r->on_epoch(ev, r->ud);
    fit *f = r->f;
    if (f->ckpt && session_save(&f->s, f->ini, f->ckpt, &r->ckpt_err)) {
        f->ckpt_failed = 1;
        return TRAIN_STOP;
    }
    return TRAIN_CONTINUE;
}

int fit_run(fit *f, int until, fit_epoch_fn on_epoch, train_progress_fn progress, void *ud, tl_err *err)
{
    run_ctx r = {.f = f, .on_epoch = on_epoch, .ud = ud};
    f->ckpt_failed = 0;
    trainer_set_progress(&f->s.tr, progress, ud);
    int rc = trainer_run(&f->s.tr, session_train(&f->s), session_val(&f->s), until, after_epoch, &r, err);
    trainer_set_progress(&f->s.tr, NULL, NULL);
    if (!rc && f->ckpt_failed) {
        if (err)
            *err = r.ckpt_err;
        rc = r.ckpt_err.code ? r.ckpt_err.code : TL_ERUNTIME;
    }
    return rc;
}

void fit_finish(fit *f, fit_result *r)
{
    trainer *t = &f->s.tr;
    memset(r, 0, sizeof *r);
    r->status = train_status_str(t->status);
    r->diverged = t->status == TRAIN_DIVERGED;
    r->can_continue = t->status == TRAIN_BUDGET_REACHED;
    r->reason = t->reason;
    r->epochs = t->epoch;
    r->steps = t->step;
    r->best_epoch = t->best_epoch;
    r->nparams = f->s.nparams;
    r->seconds = t->elapsed;
    r->val_loss = r->val_acc = r->test_loss = r->test_acc = NAN;
    if (r->diverged)
        return;
    tl_err e;
    trainer_evaluate(t, session_val(&f->s), &r->val_loss, &r->val_acc, &e);
    if (!r->can_continue && session_test(&f->s))
        trainer_evaluate(t, session_test(&f->s), &r->test_loss, &r->test_acc, &e);
}

/* Optimizer steps per epoch of f's training source: ceil(ceil(count /
 * batch_size) / accum_steps), as the trainer counts them. */
static long steps_per_epoch(fit *f)
{
    nn_batch_src *src = session_train(&f->s);
    long count = src->count(src->self);
    long nb = (count + f->cfg.batch_size - 1) / f->cfg.batch_size;
    return (nb + f->cfg.accum_steps - 1) / f->cfg.accum_steps;
}

void fit_lr_table_free(fit_lr_table *t)
{
    if (!t)
        return;
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int fit_schedule(fit *f, fit_lr_table *t, tl_err *err)
{
    memset(t, 0, sizeof *t);
    const train_config *tc = &f->s.tr.cfg;
    t->steps_per_epoch = steps_per_epoch(f);
    t->epochs = f->cfg.epochs;
    sched sc;
    int rc = sched_resolve(&sc, &tc->sched, t->steps_per_epoch, t->epochs, err);
    if (rc)
        return rc;
    t->per_epoch = sc.per_epoch;
    t->lr0 = train_scaled_lr(tc);
    t->effective_batch = train_effective_batch(tc);
    long n = t->per_epoch ? t->epochs : t->steps_per_epoch * t->epochs;
    t->rows = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->rows);
    if (!t->rows)
        return tl_fail(err, TL_ERUNTIME, "out of memory for %ld schedule rows", n);
    for (long i = 0; i < n; i++) {
        fit_lr_row *row = &t->rows[i];
        row->step = t->per_epoch ? i * t->steps_per_epoch : i;
        row->epoch = t->per_epoch ? (int)i : (int)(i / t->steps_per_epoch);
        row->lr = sched_lr(&sc, t->lr0, row->step, row->epoch);
    }
    t->n = n;
    return 0;
}

int fit_lr_find(fit *f, double lo, double hi, int steps, const train_lr_find_result **out, tl_err *err)
{
    train_lr_find_free(&f->sweep);
    int rc = trainer_lr_find(&f->s.tr, session_train(&f->s), lo, hi, steps, 0.95, &f->sweep, err);
    *out = rc ? NULL : &f->sweep;
    return rc;
}
