/* tune/nas.h: architecture search wiring for `tunelab run`: the constraint
 * and cost callbacks the study calls (hpo/ knows no networks), duplicate
 * reuse, and the end-of-run summary (rejections, reused results, the
 * Pareto front of loss against parameter count).
 *
 * A study is an architecture search when its [space] tunes a model shape
 * key (model.layers, model.heads, model.d_model, model.mlp_ratio,
 * model.ctx, model.hidden, model.width1..8) or when the sampler is
 * evolution.  Then, for the train objective:
 *   - every sampled candidate is checked before it is trained: the trial's
 *     values are applied to a copy of the config (config_apply_values, so
 *     config_validate's d_model % heads rule holds), the model config is
 *     checked (gpt_check / mlp_check), and its parameter count
 *     (gpt_param_count / mlp_param_count) and forward FLOPs (gpt_flops /
 *     mlp_flops) are compared with nas.max_params and nas.max_flops; a candidate that breaks
 *     one is never trained and its reason ("model.heads: d_model 48 is not
 *     divisible by 5 heads", "nas.max_params: 61234 parameters > 50000")
 *     is counted in the study attribute "rejected";
 *   - an architecture already evaluated is not trained again (the study's
 *     reuse_duplicates: "reused result of trial N");
 *   - with nas.objectives = "val_loss, params" (or "..., flops") the
 *     evolution sampler's tournaments pick by Pareto rank of (metric,
 *     params), and the run ends by printing the Pareto front, stored as
 *     the study attribute "pareto_front" (so shown in the report's
 *     "Architecture search" section) -- for the evolution sampler, a second
 *     objective or a size budget, not for a study that tunes a shape key
 *     beside other hyperparameters.
 *
 *   - with nas.inherit = true (checked here: evolution sampler and an
 *     architecture key needed), children start from their parent's weights:
 *     tune/nas_inherit.h.
 *
 * Does not: train (tune/objective_train.c), draw (report/report_nas.c), or
 * print anything but nas_finish's summary.
 */
#ifndef TL_TUNE_NAS_H
#define TL_TUNE_NAS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

#include "tune/config.h"
#include "tune/session.h"
#include "hpo/space.h"
#include "hpo/study.h"

enum nas_second { NAS_SECOND_NONE, NAS_SECOND_PARAMS, NAS_SECOND_FLOPS, NAS_SECOND_COUNT };

typedef struct nas_ctx {
    const config *base;       /* borrowed: the run's config */
    const task_data *data;    /* borrowed; NULL for function and command objectives */
    int arch;                 /* 1: an architecture search (see above) */
    int front;                /* 1: the summary has a Pareto front: the evolution sampler,
                                 a second objective or a size budget (a study that only
                                 tunes a width beside other hyperparameters has none) */
    long max_params;          /* nas.max_params; 0: no limit */
    double max_flops;         /* forward FLOPs per token (GPT) or sample (MLP); 0: no limit
                                 (no config key yet: set by C callers) */
    int second;               /* enum nas_second, from nas.objectives */
    config scratch;           /* work copy for the callbacks (called under the study lock) */
} nas_ctx;

/* Reads the [nas] settings of c and, for an architecture search, turns on
 * sc->reuse_duplicates and, with the train objective (d not NULL),
 * installs the callbacks into sc (accept, cost).  n must outlive the study.  Returns 0, or
 * TL_EINPUT naming the key (an unknown objective in nas.objectives; a
 * parameter budget or a second objective without the train objective). */
int nas_setup(nas_ctx *n, const config *c, const task_data *d, const space *sp, study_config *sc, tl_err *err);

/* Parameter count of the model c describes over data d (GPT: d->vocab;
 * MLP: d->in_dim, d->nclass), or 0 when the model config is invalid. */
size_t nas_param_count(const config *c, const task_data *d);

/* Forward FLOPs of the model c describes over d: per token of a GPT
 * (gpt_flops) or per sample of an MLP (mlp_flops); 0 when the model config
 * is invalid. */
double nas_flops(const config *c, const task_data *d);

/* Training FLOPs of `steps` optimizer steps of the model c describes over
 * d: 3 x forward FLOPs (forward + backward ~ 2 x forward) x samples
 * (MLP: train.batch_size x train.accum_steps per step, the micro-batches of
 * one step; GPT: that many sequences of ctx tokens).  An epoch's short last
 * group counts as a whole one.  0 when the model config is invalid. */
double nas_train_flops(const config *c, const task_data *d, long steps);

/* The accept callback (study_config.accept; ud is a nas_ctx). */
int nas_accept(void *ud, const space *sp, const double *values, char *why, size_t why_n);

/* The cost callback (study_config.cost): the second objective of values
 * (parameters or FLOPs), NAN when the model config is invalid. */
double nas_cost(void *ud, const space *sp, const double *values);

/* End of a run: reads the study back and, for an architecture search,
 * prints to out (when not NULL) the rejected candidates by reason, the
 * number of reused results and (n->front) the Pareto front of the metric against
 * parameters (or FLOPs); stores the front as the study attribute
 * "pareto_front" ([{"trial", "value", "params"|"flops"}, ...], ascending
 * cost) and, when json is not NULL, adds "rejected", "reused" and
 * "pareto_front" to it.  Returns 0 or a tl_code (database, memory). */
int nas_finish(nas_ctx *n, study *st, FILE *out, cJSON *json, tl_err *err);

#endif
