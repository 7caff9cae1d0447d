/* tests/test_ckpt.c: checkpoints: 2 epochs + save + load into a fresh
 * trainer + 2 epochs equals 4 epochs bit for bit; the config blob and
 * ckpt_peek; rejection of missing, truncated, corrupted, wrong-magic,
 * wrong-version, trailing-garbage and mismatched files with TL_EINPUT and a
 * message naming the file and the problem, the trainer left untouched;
 * atomic writes.  Files live in a fresh mkdtemp directory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/ckpt.h"
#include "tests/train_fixture.h"
#include "tests/tmpdir_util.h"

#define DIM 6
#define NCLS 3

typedef fx_world world;

/* 150 training and 50 validation rows, batches of 32. */
static void world_init(world *w)
{
    fx_world_init(w, 150, 50, DIM, NCLS, 1.5, 8, 32, 1);
}

static train_config cfg(int optimizer)
{
    train_config c;
    train_config_default(&c);
    c.optimizer = optimizer;
    c.live.opt.lr = 0.02;
    c.epochs = 4;
    c.batch_size = 20; /* 150 = 7*20 + 10: a partial batch */
    c.accum_steps = 2;
    c.live.clip_norm = 1.0;
    c.sched.kind = SCHED_WARMUP_COSINE;
    c.sched.warmup = 3;
    c.patience = 5;
    c.seed = 2024;
    return c;
}

TMPDIR_FIXTURE(dir, "tl_ckpt")

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static const char blob_text[] = "[train]\nlr = 0.02\nepochs = 4\n";

Test(ckpt, resume_after_save_and_load_is_bit_identical, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    for (int opt = 0; opt < OPTIM_COUNT; opt++) {
        train_config c = cfg(opt);
        tl_err e;
        char path[128];
        path_in(path, sizeof path, "run.ckpt");

        /* straight: 4 epochs */
        world w;
        world_init(&w);
        nn_model *ma = fx_mlp(DIM, 12, NCLS, 0.2f, 32, 1);
        trainer a;
        cr_assert_eq(trainer_init(&a, ma, &c, &e), 0, "%s", e.msg);
        cr_assert_eq(trainer_run(&a, &w.train, &w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(a.status, TRAIN_COMPLETED);
        fx_world_free(&w);

        /* 2 epochs, save, throw everything away */
        world_init(&w);
        nn_model *mb = fx_mlp(DIM, 12, NCLS, 0.2f, 32, 1);
        trainer b;
        cr_assert_eq(trainer_init(&b, mb, &c, &e), 0, "%s", e.msg);
        cr_assert_eq(trainer_run(&b, &w.train, &w.val, 2, NULL, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(ckpt_save(&b, path, blob_text, sizeof blob_text, &e), 0, "%s", e.msg);
        trainer_free(&b);
        nn_model_free(mb);
        fx_world_free(&w);

        /* a fresh model (another init) and trainer, load, 2 more epochs */
        world_init(&w);
        nn_model *mc = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 77);
        trainer d;
        cr_assert_eq(trainer_init(&d, mc, &c, &e), 0, "%s", e.msg);
        void *blob = NULL;
        size_t blen = 0;
        cr_assert_eq(ckpt_load(&d, path, &blob, &blen, &e), 0, "%s", e.msg);
        cr_assert_eq(blen, sizeof blob_text);
        cr_assert_eq(memcmp(blob, blob_text, blen), 0);
        free(blob);
        cr_assert_eq(d.epoch, 2);
        cr_assert_eq(mc->dropout, 0.2f);
        cr_assert_eq(trainer_run(&d, &w.train, &w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(d.status, TRAIN_COMPLETED);
        fx_world_free(&w);

        cr_assert_eq(memcmp(ma->params, mc->params, ma->nparams * sizeof(float)), 0,
                     "%s: resumed parameters differ", optim_str(opt));
        cr_assert_eq(d.nhist, 4);
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(memcmp(&a.hist[i].train_loss, &d.hist[i].train_loss, 8), 0,
                         "%s: train loss of epoch %d differs", optim_str(opt), i + 1);
            cr_assert_eq(memcmp(&a.hist[i].val_loss, &d.hist[i].val_loss, 8), 0);
            cr_assert_eq(memcmp(&a.hist[i].lr, &d.hist[i].lr, 8), 0);
        }
        cr_assert_eq(a.best_epoch, d.best_epoch);
        cr_assert_eq(memcmp(&a.best_metric, &d.best_metric, 8), 0);
        cr_assert_eq(a.opt.t, d.opt.t);
        cr_assert_eq(memcmp(a.opt.m, d.opt.m, ma->nparams * sizeof(float)), 0);
        trainer_free(&a);
        trainer_free(&d);
        nn_model_free(ma);
        nn_model_free(mc);
    }
}

/* A trained trainer and its checkpoint at path. */
typedef struct fixture {
    world w;
    nn_model *m;
    trainer t;
} fixture;

static void fixture_init(fixture *f, const char *path)
{
    train_config c = cfg(OPTIM_ADAMW);
    world_init(&f->w);
    f->m = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    tl_err e;
    cr_assert_eq(trainer_init(&f->t, f->m, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(trainer_run(&f->t, &f->w.train, &f->w.val, 1, NULL, NULL, &e), 0, "%s",
                 e.msg);
    cr_assert_eq(ckpt_save(&f->t, path, blob_text, sizeof blob_text, &e), 0, "%s", e.msg);
}

static void fixture_free(fixture *f)
{
    trainer_free(&f->t);
    nn_model_free(f->m);
    fx_world_free(&f->w);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    cr_assert_eq(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

/* Loads path into a trainer that has moved on (epoch 2) and checks that the
 * load fails with TL_EINPUT, a message naming path and `problem`, and the
 * trainer untouched. */
static void expect_rejected(trainer *t, const char *path, const char *problem)
{
    size_t np = t->model->nparams;
    float *p0 = malloc(np * sizeof(float));
    memcpy(p0, t->model->params, np * sizeof(float));
    trainer snap = *t;
    tl_err e = { 0 };
    void *blob = (void *)0x1;
    cr_assert_eq(ckpt_load(t, path, &blob, NULL, &e), TL_EINPUT, "%s accepted (%s)", path,
                 problem);
    cr_assert(strstr(e.msg, path) && strstr(e.msg, problem), "message '%s' lacks %s", e.msg,
              problem);
    cr_assert_eq(blob, (void *)0x1, "blob set on failure");
    cr_assert_eq(memcmp(p0, t->model->params, np * sizeof(float)), 0, "params touched");
    cr_assert_eq(memcmp(&snap, t, sizeof snap), 0, "trainer fields touched");
    free(p0);
}

/* A trainer of m (freed here) under c refuses the checkpoint at path as
 * expect_rejected does. */
static void expect_model_rejected(nn_model *m, const train_config *c, const char *path, const char *problem)
{
    trainer t;
    cr_assert_eq(trainer_init(&t, m, c, NULL), 0);
    expect_rejected(&t, path, problem);
    trainer_free(&t);
    nn_model_free(m);
}

Test(ckpt, rejects_damaged_files_and_leaves_the_trainer, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char good[128], bad[128];
    path_in(good, sizeof good, "good.ckpt");
    path_in(bad, sizeof bad, "bad.ckpt");
    fixture f;
    fixture_init(&f, good);
    tl_err e;
    cr_assert_eq(trainer_run(&f.t, &f.w.train, &f.w.val, 2, NULL, NULL, &e), 0, "%s", e.msg);
    size_t n;
    unsigned char *b = slurp(good, &n);
    cr_assert_gt(n, 1000);

    spit(bad, b, n / 2);
    expect_rejected(&f.t, bad, "truncated");
    spit(bad, b, 10);
    expect_rejected(&f.t, bad, "truncated");
    spit(bad, b, n - 1);
    expect_rejected(&f.t, bad, "truncated");

    unsigned char *c = malloc(n + 3);
    memcpy(c, b, n);
    c[n / 2] ^= 0x10;
    spit(bad, c, n);
    expect_rejected(&f.t, bad, "checksum");

    memcpy(c, b, n);
    c[0] = 'X';
    spit(bad, c, n);
    expect_rejected(&f.t, bad, "bad magic");

    memcpy(c, b, n);
    c[8] = 2; /* version field */
    spit(bad, c, n);
    expect_rejected(&f.t, bad, "version 2");

    memcpy(c, b, n);
    memcpy(c + n, "abc", 3);
    spit(bad, c, n + 3);
    expect_rejected(&f.t, bad, "unexpected bytes");

    char missing[128];
    path_in(missing, sizeof missing, "nope.ckpt");
    expect_rejected(&f.t, missing, "cannot open");

    /* the intact file still loads, and puts the trainer back at epoch 1 */
    cr_assert_eq(ckpt_load(&f.t, good, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(f.t.epoch, 1);
    free(b);
    free(c);
    fixture_free(&f);
}

Test(ckpt, rejects_another_architecture_or_optimizer, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128];
    path_in(path, sizeof path, "a.ckpt");
    fixture f;
    fixture_init(&f, path);

    train_config c = cfg(OPTIM_ADAMW);
    nn_model *wide = fx_mlp(DIM, 13, NCLS, 0.0f, 32, 1);
    expect_model_rejected(wide, &c, path, "architecture mismatch");

    /* same parameter count, other tensor table: 6->12->3 vs 6->... shapes */
    nn_model *same = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    strcpy(same->tensors[0].name, "renamed");
    expect_model_rejected(same, &c, path, "tensor 0");

    c = cfg(OPTIM_SGD);
    expect_model_rejected(fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1), &c, path, "optimizer");

    c = cfg(OPTIM_ADAMW);
    c.epochs = 1; /* a budget of exactly the file's epoch still fits */
    nn_model *m = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    trainer t;
    cr_assert_eq(trainer_init(&t, m, &c, NULL), 0);
    cr_assert_eq(ckpt_load(&t, path, NULL, NULL, NULL), 0);
    cr_assert_eq(t.status, TRAIN_BUDGET_REACHED);
    trainer_free(&t);
    nn_model_free(m);
    fixture_free(&f);
}

/* ckpt_check_model (what train.checkpoint checks before overwriting a
 * file): the architecture, every shape, not the parameter count alone. */
Test(ckpt, check_model_compares_every_shape_not_the_count, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128];
    path_in(path, sizeof path, "m.ckpt");
    fixture f;
    fixture_init(&f, path);
    tl_err e = {0};
    nn_model *same = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    cr_assert_eq(ckpt_check_model(path, same, &e), 0, "%s", e.msg);

    /* the same count, sizes and names; the first weight transposed */
    int32_t r0 = same->tensors[0].shape[0];
    same->tensors[0].shape[0] = same->tensors[0].shape[1];
    same->tensors[0].shape[1] = r0;
    cr_assert_eq(ckpt_check_model(path, same, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "architecture mismatch at tensor 0: checkpoint has fc0.weight [12 x 6]"), "%s", e.msg);
    cr_assert(strstr(e.msg, "model has fc0.weight [6 x 12]"), "%s", e.msg);
    nn_model_free(same);

    /* another kind: the names say it */
    nn_model *other = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    strcpy(other->tensors[0].name, "wte");
    cr_assert_eq(ckpt_check_model(path, other, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "checkpoint has fc0.weight") && strstr(e.msg, "model has wte"), "%s", e.msg);
    nn_model_free(other);

    nn_model *wide = fx_mlp(DIM, 13, NCLS, 0.0f, 32, 1);
    cr_assert_eq(ckpt_check_model(path, wide, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "parameters"), "%s", e.msg);
    nn_model_free(wide);
    fixture_free(&f);
}

Test(ckpt, peek_reads_info_and_blob_without_a_trainer, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128];
    path_in(path, sizeof path, "p.ckpt");
    fixture f;
    fixture_init(&f, path);
    ckpt_info info;
    void *blob = NULL;
    size_t blen = 0;
    tl_err e;
    cr_assert_eq(ckpt_peek(path, &info, &blob, &blen, &e), 0, "%s", e.msg);
    cr_assert_eq(info.version, CKPT_VERSION);
    cr_assert_eq(info.nparams, f.m->nparams);
    cr_assert_eq(info.ntensors, f.m->ntensors);
    cr_assert_eq(info.optimizer, OPTIM_ADAMW);
    cr_assert_eq(info.epoch, 1);
    cr_assert_eq(info.step, f.t.step);
    cr_assert_eq(info.status, TRAIN_BUDGET_REACHED);
    cr_assert_eq(blen, sizeof blob_text);
    cr_assert_str_eq(blob, blob_text);
    free(blob);
    cr_assert_eq(ckpt_peek(path, NULL, NULL, NULL, &e), 0);
    fixture_free(&f);
}

Test(ckpt, save_is_atomic_and_reports_unwritable_paths, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128], tmp[140], nodir[160];
    path_in(path, sizeof path, "x.ckpt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fixture f;
    fixture_init(&f, path);
    struct stat st;
    cr_assert_eq(stat(tmp, &st), -1, "temporary file left behind");
    size_t n1;
    free(slurp(path, &n1));
    /* overwrite in place with an empty blob */
    tl_err e;
    cr_assert_eq(ckpt_save(&f.t, path, NULL, 0, &e), 0, "%s", e.msg);
    size_t n2;
    free(slurp(path, &n2));
    cr_assert_eq(n1 - n2, sizeof blob_text);
    snprintf(nodir, sizeof nodir, "%s/missing/dir/x.ckpt", dir);
    cr_assert_eq(ckpt_save(&f.t, nodir, NULL, 0, &e), TL_ERUNTIME);
    cr_assert(strstr(e.msg, nodir) && strstr(e.msg, "cannot create"), "%s", e.msg);
    fixture_free(&f);
}

Test(ckpt, finished_run_stays_finished_after_load, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128];
    path_in(path, sizeof path, "done.ckpt");
    fixture f;
    fixture_init(&f, path);
    tl_err e;
    cr_assert_eq(trainer_run(&f.t, &f.w.train, &f.w.val, 0, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(f.t.status, TRAIN_COMPLETED);
    cr_assert_eq(ckpt_save(&f.t, path, NULL, 0, &e), 0, "%s", e.msg);
    nn_model *m = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 5);
    train_config c = cfg(OPTIM_ADAMW);
    trainer t;
    cr_assert_eq(trainer_init(&t, m, &c, NULL), 0);
    cr_assert_eq(ckpt_load(&t, path, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(t.status, TRAIN_COMPLETED);
    cr_assert_eq(t.best_epoch, f.t.best_epoch);
    long step = t.step;
    cr_assert_eq(trainer_run(&t, &f.w.train, &f.w.val, 0, NULL, NULL, &e), 0);
    cr_assert_eq(t.step, step);
    cr_assert_eq(memcmp(m->params, f.m->params, m->nparams * sizeof(float)), 0);
    trainer_free(&t);
    nn_model_free(m);
    fixture_free(&f);
}

/* ---- the on-disk layout of version 1 ----
 *
 * tests/data/ckpt_v1_sgd.bin was written by the version-1 writer (commit
 * 57f23ee, before the live hyperparameters became one struct) from the run
 * below: SGD with Nesterov momentum and every live hyperparameter set away
 * from its default, 2 epochs, an lr multiplier, dropout and early stopping,
 * so each field of the layout holds a value of its own.  Reading it must
 * give back those values, and saving what was read must give back the same
 * bytes: the reader and the writer still agree with the version-1 layout.
 * TUNELAB_CKPT_UPDATE=1 rewrites the file (only when the format changes on
 * purpose, with a new version). */
#define V1_FILE "tests/data/ckpt_v1_sgd.bin"
static const char v1_blob[] = "[train]\noptimizer = sgd\n";

static train_config v1_cfg(void)
{
    train_config c = cfg(OPTIM_SGD);
    c.live.opt.lr = 0.03;
    c.live.opt.momentum = 0.8;
    c.live.opt.nesterov = 1;
    c.live.opt.weight_decay = 0.004;
    c.live.clip_norm = 1.5;
    c.live.opt.beta1 = 0.85;
    c.live.opt.beta2 = 0.99;
    c.live.opt.eps = 1e-7;
    return c;
}

Test(ckpt, version1_file_reads_back_and_rewrites_byte_for_byte, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    train_config c = v1_cfg();
    tl_err e;
    if (getenv("TUNELAB_CKPT_UPDATE")) {
        world w;
        world_init(&w);
        nn_model *m = fx_mlp(DIM, 12, NCLS, 0.1f, 32, 3);
        trainer t;
        cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
        t.lr_mult = 0.5;
        cr_assert_eq(trainer_run(&t, &w.train, &w.val, 2, NULL, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(ckpt_save(&t, V1_FILE, v1_blob, sizeof v1_blob, &e), 0, "%s", e.msg);
        trainer_free(&t);
        nn_model_free(m);
        fx_world_free(&w);
    }
    nn_model *m = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 9);
    trainer t;
    train_config_default(&c); /* the file, not the config, holds the live values */
    c.optimizer = OPTIM_SGD;
    c.epochs = 4;
    c.batch_size = 20;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    ckpt_info info;
    cr_assert_eq(ckpt_peek(V1_FILE, &info, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(info.version, 1);
    void *blob = NULL;
    size_t blen = 0;
    cr_assert_eq(ckpt_load(&t, V1_FILE, &blob, &blen, &e), 0, "%s", e.msg);
    cr_assert_eq(blen, sizeof v1_blob);
    cr_assert_eq(memcmp(blob, v1_blob, blen), 0);
    free(blob);
    const train_config w = v1_cfg();
    cr_assert_eq(t.cfg.live.opt.lr, w.live.opt.lr);
    cr_assert_eq(t.cfg.live.opt.momentum, w.live.opt.momentum);
    cr_assert_eq(t.cfg.live.opt.nesterov, 1);
    cr_assert_eq(t.cfg.live.opt.weight_decay, w.live.opt.weight_decay);
    cr_assert_eq(t.cfg.live.clip_norm, w.live.clip_norm);
    cr_assert_eq(t.cfg.live.opt.beta1, w.live.opt.beta1);
    cr_assert_eq(t.cfg.live.opt.beta2, w.live.opt.beta2);
    cr_assert_eq(t.cfg.live.opt.eps, w.live.opt.eps);
    cr_assert_eq(t.lr_mult, 0.5);
    cr_assert_eq(m->dropout, 0.1f);
    cr_assert_eq(t.epoch, 2);
    cr_assert_eq(t.nhist, 2);
    cr_assert_eq(t.opt.kind, OPTIM_SGD);
    cr_assert_eq(t.opt.t, t.step);

    char again[128];
    path_in(again, sizeof again, "again.ckpt");
    cr_assert_eq(ckpt_save(&t, again, v1_blob, sizeof v1_blob, &e), 0, "%s", e.msg);
    size_t n1, n2;
    unsigned char *b1 = slurp(V1_FILE, &n1), *b2 = slurp(again, &n2);
    cr_assert_eq(n1, n2, "rewritten file has %zu bytes, the version-1 file %zu", n2, n1);
    size_t at = 0;
    while (at < n1 && b1[at] == b2[at])
        at++;
    cr_assert_eq(at, n1, "rewritten file differs from the version-1 file at byte %zu", at);
    free(b1);
    free(b2);
    trainer_free(&t);
    nn_model_free(m);
}

/* In memory (what the MPI executor sends between ranks): ckpt_save_mem
 * makes the very bytes of the file, ckpt_load_mem brings a trainer to the
 * same point as ckpt_load, and damaged bytes are refused as a damaged
 * file is, the trainer untouched. */
Test(ckpt, in_memory_bytes_equal_the_file_and_load_the_same, .init = tmpdir_setup, .fini = tmpdir_teardown)
{
    char path[128];
    path_in(path, sizeof path, "m.ckpt");
    fixture f;
    fixture_init(&f, path);
    size_t nf = 0, nm = 0;
    unsigned char *file = slurp(path, &nf), *mem = NULL;
    tl_err e;
    cr_assert_eq(ckpt_save_mem(&f.t, blob_text, sizeof blob_text, &mem, &nm, &e), 0, "%s", e.msg);
    cr_assert_eq(nm, nf);
    cr_assert_eq(memcmp(mem, file, nf), 0, "the in-memory bytes differ from the file's");
    ckpt_info info;
    void *blob = NULL;
    size_t blen = 0;
    cr_assert_eq(ckpt_peek_mem(mem, nm, &info, &blob, &blen, &e), 0, "%s", e.msg);
    cr_assert_eq(info.epoch, 1);
    cr_assert_str_eq(blob, blob_text);
    free(blob);
    /* a trainer moved on to epoch 2, brought back by the bytes: it matches the saved one */
    tl_err e2;
    cr_assert_eq(trainer_run(&f.t, &f.w.train, &f.w.val, 2, NULL, NULL, &e2), 0, "%s", e2.msg);
    nn_model *m2 = fx_mlp(DIM, 12, NCLS, 0.0f, 32, 1);
    train_config c = cfg(OPTIM_ADAMW);
    trainer t2;
    cr_assert_eq(trainer_init(&t2, m2, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(ckpt_load_mem(&t2, mem, nm, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(ckpt_load(&f.t, path, NULL, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(t2.epoch, 1);
    cr_assert_eq(t2.step, f.t.step);
    cr_assert_eq(memcmp(t2.model->params, f.t.model->params, f.m->nparams * sizeof(float)), 0);
    cr_assert_eq(memcmp(t2.opt.v, f.t.opt.v, f.m->nparams * sizeof(float)), 0);
    /* damaged bytes: refused, naming the in-memory checkpoint, t2 untouched */
    mem[nm / 2] ^= 0x40;
    float p0 = t2.model->params[0];
    cr_assert_eq(ckpt_load_mem(&t2, mem, nm, NULL, NULL, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "in-memory checkpoint") && strstr(e.msg, "checksum"), "%s", e.msg);
    cr_assert_eq(ckpt_peek_mem(mem, 10, NULL, NULL, NULL, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    cr_assert_eq(t2.model->params[0], p0);
    trainer_free(&t2);
    nn_model_free(m2);
    free(mem);
    free(file);
    fixture_free(&f);
}
