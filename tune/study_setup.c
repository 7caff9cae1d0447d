/* tune/study_setup.c: config -> space, study settings and algorithm
 * options, objective (see study_setup.h). */
#include "tune/study_setup.h"
#include "tune/study_mpi.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/cmd_objective.h"
#include "hpo/executor.h"
#include "util/shell.h"
#include "util/timer.h"
#include "tune/session.h"

int tune_space_from_config(const config *c, space *sp, tl_err *err)
{
    space_init(sp);
    for (int i = 0; i < c->nspace; i++) {
        int rc = space_add(sp, c->space[i].key, c->space[i].expr, err);
        if (rc)
            return tl_prefix(err, "%s: space", c->space[i].where);
    }
    return 0;
}

/* PBT over the training objective: a member copies another's weights and
 * optimizer state, so what shapes them must be the same in every member. */
static const char *pbt_untunable(void *ud, const char *key)
{
    if ((!strncmp(key, "model.", 6) && strcmp(key, "model.dropout")) ||
        !strcmp(key, "train.optimizer") || !strcmp(key, "train.batch_size"))
        return "a member copies another's weights, so the model's shape, optimizer and batch size "
               "cannot be tuned";
    return NULL;
}

/* Every algorithm's options from c's keys. */
static void algo_options(const config *c, tune_algo_options *o)
{
    grid_options_default(&o->grid);
    o->grid.points = c->grid_points;
    bayes_options_default(&o->bayes);
    snprintf(o->bayes.acquisition, sizeof o->bayes.acquisition, "%s", c->acquisition);
    o->bayes.xi = c->xi;
    o->bayes.beta = c->beta;
    o->bayes.n_init = c->n_init > 0 ? c->n_init : 0; /* 0: the sampler's own, by dimension */
    tpe_options_default(&o->tpe);
    o->tpe.startup_trials = c->tpe_startup_trials;
    o->tpe.ei_candidates = c->tpe_ei_candidates;
    o->tpe.gamma = c->tpe_gamma;
    o->tpe.gamma_max = c->tpe_gamma_max;
    o->tpe.multivariate = c->tpe_multivariate;
    o->tpe.prior_weight = c->tpe_prior_weight;
    o->tpe.consider_magic_clip = c->tpe_magic_clip;
    o->tpe.consider_endpoints = c->tpe_endpoints;
    o->tpe.constant_liar = c->tpe_constant_liar;
    cmaes_options_default(&o->cmaes);
    o->cmaes.sigma0 = c->cmaes_sigma0;
    o->cmaes.popsize = c->cmaes_popsize;
    snprintf(o->cmaes.restart, sizeof o->cmaes.restart, "%s", c->cmaes_restart);
    o->cmaes.inc_popsize = c->cmaes_inc_popsize;
    o->cmaes.margin = c->cmaes_margin;
    o->cmaes.startup_trials = c->cmaes_startup_trials;
    evolution_options_default(&o->evolution);
    o->evolution.population = c->nas_population;
    o->evolution.sample_size = c->nas_sample_size;
    median_options_default(&o->median);
    o->median.warmup_steps = c->median_warmup_steps;
    o->median.startup_trials = c->median_min_trials;
    halving_options_default(&o->halving);
    o->halving.eta = c->eta;
    pbt_options_default(&o->pbt);
    o->pbt.population = c->pbt_population;
    o->pbt.interval = c->pbt_interval;
    o->pbt.quantile = c->pbt_quantile;
    o->pbt.factors[0] = c->pbt_factor_low;
    o->pbt.factors[1] = c->pbt_factor_high;
    o->pbt.nfactors = 2;
    o->pbt.resample_probability = c->pbt_resample;
    o->pbt.sync = c->pbt_sync;
    if (tune_objective_kind(c) == TUNE_OBJECTIVE_TRAIN)
        o->pbt.untunable = pbt_untunable;
}

void tune_study_config(const config *c, study_config *sc, tune_algo_options *opts)
{
    int train = tune_objective_kind(c) == TUNE_OBJECTIVE_TRAIN;
    study_config_default(sc);
    snprintf(sc->name, sizeof sc->name, "%s", c->study_name);
    snprintf(sc->storage, sizeof sc->storage, "%s", c->storage);
    sc->trials = c->trials;
    sc->seed = c->study_seed;
    sc->direction = !strcmp(c->direction, "maximize") ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
    /* the default metric names a training value */
    snprintf(sc->metric, sizeof sc->metric, "%s",
             !train && !strcmp(c->metric, "val_loss") ? "value" : c->metric);
    snprintf(sc->sampler, sizeof sc->sampler, "%s", c->sampler);
    snprintf(sc->scheduler, sizeof sc->scheduler, "%s", c->scheduler);
    sc->workers = c->workers;
    sc->min_budget = c->min_budget;
    sc->max_budget = c->max_budget > 0 ? c->max_budget : train ? c->epochs : 1;
    sc->max_consecutive_failures = c->max_failures;
    algo_options(c, opts);
    const void *by_sampler[][2] = { { "grid", &opts->grid },
                                    { "bayes", &opts->bayes },
                                    { "evolution", &opts->evolution },
                                    { "tpe", &opts->tpe },
                                    { "cmaes", &opts->cmaes } };
    const void *by_scheduler[][2] = { { "median", &opts->median }, { "sha", &opts->halving },
                                      { "hyperband", &opts->halving },
                                      { "asha", &opts->halving }, { "pbt", &opts->pbt } };
    for (size_t i = 0; i < sizeof by_sampler / sizeof by_sampler[0]; i++)
        if (!strcmp(sc->sampler, by_sampler[i][0]))
            sc->sampler_opts = by_sampler[i][1];
    for (size_t i = 0; i < sizeof by_scheduler / sizeof by_scheduler[0]; i++)
        if (!strcmp(sc->scheduler, by_scheduler[i][0]))
            sc->scheduler_opts = by_scheduler[i][1];
}

int tune_objective_kind(const config *c)
{
    if (!strcmp(c->objective_type, "function"))
        return TUNE_OBJECTIVE_FUNCTION;
    if (!strcmp(c->objective_type, "command"))
        return TUNE_OBJECTIVE_COMMAND;
    return TUNE_OBJECTIVE_TRAIN;
}

int tune_objective_open(tune_objective *o, const config *c, const space *sp, tl_err *err)
{
    memset(o, 0, sizeof *o);
    o->kind = tune_objective_kind(c);
    switch (o->kind) {
    case TUNE_OBJECTIVE_FUNCTION:
        return function_objective_new(&o->obj, c->function, sp, err);
    case TUNE_OBJECTIVE_COMMAND:
        return cmd_objective_new(&o->obj, c->command, c->timeout, err);
    default: {
        int rc = task_data_load(c, &o->data, err);
        return rc ? rc : objective_train_init(&o->obj, &o->train, c, &o->data, err);
    }
    }
}

void tune_objective_close(tune_objective *o)
{
    if (o->kind == TUNE_OBJECTIVE_FUNCTION)
        function_objective_free(&o->obj);
    else if (o->kind == TUNE_OBJECTIVE_COMMAND)
        cmd_objective_free(&o->obj);
    task_data_free(&o->data);
    memset(o, 0, sizeof *o);
}

void tune_retrain_command(const config *c, const space *sp, const double *values,
                          const char *threads, char *buf, size_t n)
{
    /* as report_retrain_command writes it back from the database */
    char prog[4096];
    tl_program_name(prog, sizeof prog);
    if (n)
        buf[0] = 0;
    size_t at = tl_shell_append(buf, n, 0, prog);
    at = tl_text_append(buf, n, at, " train ");
    /* the config's absolute path, as the study stores it (`best` reads it
     * back): the same line from any folder */
    char *abs = c->source[0] ? realpath(c->source, NULL) : NULL;
    at = tl_shell_append(buf, n, at, abs ? abs : c->source[0] ? c->source : "CONFIG");
    free(abs);
    for (int i = 0; i < sp->n; i++) {
        if (isnan(values[i]))
            continue;
        char v[300], kv[512];
        space_format_value(sp, i, values[i], v, sizeof v);
        snprintf(kv, sizeof kv, "%s=%s", sp->p[i].name, v);
        at = tl_text_append(buf, n, at, " --set ");
        at = tl_shell_append(buf, n, at, kv);
    }
    if (threads && threads[0] && tl_shell_plain(threads)) {
        at = tl_text_append(buf, n, at, " --set train.threads=");
        tl_text_append(buf, n, at, threads);
    }
}

/* hpo/ names its setting (max_consecutive_failures); a config user knows
 * the key that sets it: the message says study.max_failures. */
static void name_config_keys(tl_err *err)
{
    static const char from[] = "max_consecutive_failures =", to[] = "study.max_failures =";
    char *at = err ? strstr(err->msg, from) : NULL;
    if (!at)
        return;
    char tail[sizeof err->msg];
    snprintf(tail, sizeof tail, "%s", at + strlen(from));
    snprintf(at, sizeof err->msg - (size_t)(at - err->msg), "%s%s", to, tail);
}

int tune_objective_optimize(tune_objective *o, study *st, int workers, study_progress_fn fn, void *ud,
                            tl_err *err)
{
    int rc = tune_mpi_size() > 1 /* rank 0 of an MPI job: the trials run on the other ranks */
                 ? tune_objective_optimize_mpi(o, st, workers, fn, ud, err)
                 : study_optimize(st, &o->obj, workers, fn, ud, err);
    if (rc)
        name_config_keys(err);
    return rc;
}

/* ---- study.workers = auto ---- */

/* Runs `steps` optimizer steps of s at a constant rate (the lr range test's
 * loop with lo ~ hi: no schedule, the same steps every time). */
static int probe_steps(session *s, const config *c, int steps, int *ran, tl_err *err)
{
    train_lr_find_result r = {0};
    double lr = c->lr > 0 ? c->lr : 1e-3;
    int rc = trainer_lr_find(&s->tr, session_train(s), lr, lr * 1.000001, steps < 3 ? 3 : steps, 0.0, &r, err);
    *ran = rc ? 0 : r.n; /* fewer when the loss diverged */
    train_lr_find_free(&r);
    return rc;
}

/* Samples per second of `nsess` sessions of config pc training side by
 * side (nsess 1: in the calling thread, on all its threads; else in a
 * parallel region of nsess threads, one each).  The warm-up (3 steps, the
 * shortest lr test) is timed too: when it took `cap` seconds or more, its
 * rate is the answer and no timed steps follow (*timed = 0: a model that
 * slow is measured well enough by 3 steps, first touch included); else
 * *timed = TUNE_PROBE_STEPS steps are timed. */
static int probe_layout(const tune_objective *o, const config *pc, int nsess, double cap,
                        double *rate, int *timed, tl_err *err)
{
    session *ss = calloc((size_t)nsess, sizeof *ss);
    if (!ss)
        return tl_fail(err, TL_ERUNTIME, "workers probe: out of memory");
    int rc = 0;
    for (int i = 0; i < nsess && !rc; i++)
        rc = session_new(&ss[i], pc, &o->data, err);
    double t0 = 0, t1 = 0;
    long samples = 0;
    int steps = TUNE_PROBE_STEPS;
    if (!rc) {
        int bad = 0;
        tl_err e1 = {0};
        /* nsess 1 runs on the calling thread and keeps its team for the
         * session's own parallel loops */
#pragma omp parallel num_threads(nsess) if (nsess > 1) reduction(| : bad) reduction(+ : samples)
        {
            int me = omp_get_thread_num(), warm = 0, ran = 0;
            tl_err e = {0};
#pragma omp single
            t0 = tl_now();
            bad |= probe_steps(&ss[me], pc, 3, &warm, &e) != 0;
#pragma omp barrier
#pragma omp single
            {
                t1 = tl_now();
                if (t1 - t0 < cap) {
                    t0 = t1;
                } else {
                    steps = 0;
                }
            }
            if (steps) {
                bad |= probe_steps(&ss[me], pc, steps, &ran, &e) != 0;
                samples += (long)ran * pc->batch_size;
            } else {
                samples += (long)warm * pc->batch_size;
            }
#pragma omp barrier
#pragma omp single
            if (steps)
                t1 = tl_now();
            if (bad) {
#pragma omp critical
                e1 = e;
            }
        }
        if (bad)
            rc = tl_fail(err, e1.code ? e1.code : TL_ERUNTIME, "%s", e1.msg);
    }
    for (int i = 0; i < nsess; i++)
        session_free(&ss[i]);
    free(ss);
    if (!rc) {
        double dt = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9;
        *rate = (double)samples / dt;
        *timed = steps;
    }
    return rc;
}

int tune_workers_auto(const tune_objective *o, const config *c, const space *sp, int cores,
                      tune_layout *out, tl_err *err)
{
    return tune_workers_auto_capped(o, c, sp, cores, TUNE_PROBE_SECONDS, out, err);
}

int tune_workers_auto_capped(const tune_objective *o, const config *c, const space *sp, int cores,
                             double cap, tune_layout *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    out->cores = cores < 1 ? 1 : cores;
    out->workers = 1;
    out->threads = out->cores;
    if (out->cores < 2) {
        snprintf(out->why, sizeof out->why, "one core: nothing to compare");
        return 0;
    }
    if (o->kind != TUNE_OBJECTIVE_TRAIN) {
        out->workers = out->cores;
        out->threads = 1;
        snprintf(out->why, sizeof out->why, "the objective is not training: no model to time, one trial per core");
        return 0;
    }
    out->nbatch = 1;
    out->batch[0] = c->batch_size;
    int bi = space_find(sp, "train.batch_size");
    if (bi >= 0 && (sp->p[bi].kind == PARAM_INT || sp->p[bi].kind == PARAM_FLOAT)) {
        out->nbatch = 2;
        out->batch[0] = (int)ceil(sp->p[bi].low);
        out->batch[1] = (int)floor(sp->p[bi].high);
    } else if (bi >= 0 && sp->p[bi].kind == PARAM_CAT) {
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < sp->p[bi].ncat; k++) {
            double v = sp->p[bi].catnum[k];
            if (isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        if (isfinite(lo)) {
            out->nbatch = lo < hi ? 2 : 1;
            out->batch[0] = (int)lo;
            out->batch[1] = (int)hi;
        }
    }
    out->steps = TUNE_PROBE_STEPS;
    double t0 = tl_now(), one = 0, many = 0;
    for (int b = 0; b < out->nbatch; b++) {
        config pc = *c;
        pc.batch_size = out->batch[b] > 0 ? out->batch[b] : c->batch_size;
        pc.accum_steps = 1;
        double r1 = 0, rn = 0;
        int k1 = 0, kn = 0;
        int rc = probe_layout(o, &pc, 1, cap, &r1, &k1, err);
        if (!rc)
            rc = probe_layout(o, &pc, out->cores, cap, &rn, &kn, err);
        out->steps = k1 < out->steps ? k1 : out->steps;
        out->steps = kn < out->steps ? kn : out->steps;
        if (rc)
            return tl_prefix(err, "study.workers = auto: probe at batch %d", pc.batch_size);
        /* each batch size weighs the same: the time of one sample at each */
        one += 1.0 / r1;
        many += 1.0 / rn;
    }
    out->seconds = tl_now() - t0;
    out->measured = 1;
    out->rate_one = out->nbatch / one;
    out->rate_many = out->nbatch / many;
    if (out->rate_many > out->rate_one) {
        out->workers = out->cores;
        out->threads = 1;
    }
    return 0;
}
