/* tune/study_setup.c: config -> space, study settings and algorithm
 * options, objective (see study_setup.h). */
#include "tune/study_setup.h"
#include "tune/study_mpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/cmd_objective.h"
#include "hpo/executor.h"
#include "util/shell.h"

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
