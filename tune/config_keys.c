/* tune/config_keys.c: the key table (every config key, its type, default,
 * range, choices and help) and the lookups over it: find a key, suggest the
 * closest for a misspelt one.  Parsing and storing values is in
 * tune/config.c.  Does not: read files, print. */
#include "tune/config_keys.h"

#include <stddef.h>
#include <string.h>

#include "tune/config.h"

#define O(f) offsetof(config, f)
#define S(f) offsetof(config, f), sizeof(((config *)0)->f)
#define BIG 1e300

const keydef CONFIG_KEYS[] = {
    /* [data] */
    {"data.dataset", K_STR, S(dataset), "fmnist", "fmnist|images|text|spirals|blobs", 0, 0,
     "dataset kind"},
    {"data.path", K_STR, S(data_path), "", NULL, 0, 0,
     "file or folder (default: the Debian Fashion-MNIST or fortunes package)"},
    {"data.split_file", K_STR, S(split_file), "", NULL, 0, 0,
     "write the train/validation/test rows the trainer uses to this JSON file (for peers)"},
    {"data.val_fraction", K_DBL, O(val_fraction), 0, "0.1", NULL, 0.0, 0.9,
     "fraction of the training data held out for validation"},
    {"data.train_limit", K_LONG, O(train_limit), 0, "0", NULL, 0, BIG, "use at most N training samples (0: all)"},
    {"data.val_limit", K_LONG, O(val_limit), 0, "0", NULL, 0, BIG, "use at most N validation samples (0: all)"},
    {"data.test_limit", K_LONG, O(test_limit), 0, "0", NULL, 0, BIG, "use at most N test samples (0: all)"},
    {"data.channels", K_INT, O(channels), 0, "1", NULL, 1, 3, "image folders: 1 (grayscale) or 3 (RGB)"},
    {"data.image_width", K_INT, O(image_width), 0, "0", NULL, 0, 65536, "image folders: required width (0: any, all equal)"},
    {"data.image_height", K_INT, O(image_height), 0, "0", NULL, 0, 65536, "image folders: required height (0: any, all equal)"},
    {"data.samples", K_LONG, O(samples), 0, "2000", NULL, 1, 1e8, "synthetic sets: number of samples"},
    {"data.classes", K_INT, O(classes), 0, "3", NULL, 2, 1000, "synthetic sets: number of classes"},
    {"data.features", K_INT, O(features), 0, "2", NULL, 1, 100000, "blobs: input dimension"},
    {"data.noise", K_DBL, O(noise), 0, "0.2", NULL, 0, 100, "synthetic sets: noise / spread"},
    {"data.seed", K_U64, O(data_seed), 0, "1", NULL, 0, BIG, "seed of the train/validation split and synthetic data"},
    {"data.eval_windows", K_INT, O(eval_windows), 0, "256", NULL, 1, 1e7, "text: validation windows per evaluation"},
    /* [model] */
    {"model.type", K_STR, S(model_type), "mlp", "mlp|gpt", 0, 0, "model family"},
    {"model.layers", K_INT, O(layers), 0, "2", NULL, 1, CONFIG_MAX_LAYERS, "MLP hidden layers, or GPT blocks"},
    {"model.hidden", K_INT, O(hidden), 0, "256", NULL, 1, 1 << 20, "MLP: width of every hidden layer"},
    {"model.widths", K_LIST, O(widths), 0, "", NULL, 1, 1 << 20,
     "MLP: comma-separated widths, one per hidden layer (overrides layers and hidden)"},
    /* per-layer widths for architecture search: model.width1 .. model.width8 */
#define WIDTH_KEY(i)                                                                              \
    {"model.width" #i, K_INT, O(width_i[i - 1]), 0, "0", NULL, 0, 1 << 20,                       \
     "MLP: width of hidden layer " #i " (0: model.hidden); for architecture search"}
    WIDTH_KEY(1), WIDTH_KEY(2), WIDTH_KEY(3), WIDTH_KEY(4),
    WIDTH_KEY(5), WIDTH_KEY(6), WIDTH_KEY(7), WIDTH_KEY(8),
#undef WIDTH_KEY
    {"model.activation", K_STR, S(activation), "relu", "relu|gelu", 0, 0, "MLP activation"},
    {"model.dropout", K_DBL, O(dropout), 0, "0", NULL, 0, 0.95, "dropout probability"},
    {"model.d_model", K_INT, O(d_model), 0, "128", NULL, 1, 1 << 16, "GPT: embedding width"},
    {"model.heads", K_INT, O(heads), 0, "4", NULL, 1, 1024, "GPT: attention heads (must divide d_model)"},
    {"model.mlp_ratio", K_INT, O(mlp_ratio), 0, "4", NULL, 1, 64, "GPT: MLP hidden width / d_model"},
    {"model.ctx", K_INT, O(ctx), 0, "64", NULL, 2, 1 << 16, "GPT: context length in tokens"},
    /* [train] */
    {"train.optimizer", K_STR, S(optimizer), "adamw", "adamw|sgd", 0, 0, "optimizer"},
    {"train.lr", K_DBL, O(lr), 0, "1e-3", NULL, 0, 1e6, "base learning rate", 1},
    {"train.momentum", K_DBL, O(momentum), 0, "0.9", NULL, 0, 1, "SGD momentum"},
    {"train.nesterov", K_BOOL, O(nesterov), 0, "false", NULL, 0, 1, "SGD: Nesterov momentum"},
    {"train.beta1", K_DBL, O(beta1), 0, "0.9", NULL, 0, 1, "AdamW beta1"},
    {"train.beta2", K_DBL, O(beta2), 0, "0.999", NULL, 0, 1, "AdamW beta2"},
    {"train.eps", K_DBL, O(eps), 0, "1e-8", NULL, 0, 1, "AdamW epsilon", 1},
    {"train.weight_decay", K_DBL, O(weight_decay), 0, "0", NULL, 0, 100, "decoupled weight decay (AdamW) or L2 (SGD)"},
    {"train.clip_norm", K_DBL, O(clip_norm), 0, "0", NULL, 0, 1e9, "clip gradients to this global norm (0: off)"},
    {"train.epochs", K_INT, O(epochs), 0, "10", NULL, 1, 1e7, "epochs (text: evaluations)"},
    {"train.batch_size", K_INT, O(batch_size), 0, "128", NULL, 1, 1 << 20, "micro-batch size (samples or sequences)"},
    {"train.accum_steps", K_INT, O(accum_steps), 0, "1", NULL, 1, 4096, "micro-batches per optimizer step"},
    {"train.lr_scaling", K_STR, S(lr_scaling), "none", "none|linear|sqrt", 0, 0,
     "scale lr with effective batch / base_batch_size"},
    {"train.base_batch_size", K_INT, O(base_batch_size), 0, "0", NULL, 0, 1 << 24,
     "batch size the base lr is meant for (0: the effective batch)"},
    {"train.schedule", K_STR, S(schedule), "constant",
     "constant|step|exponential|cosine|warmup_cosine|warmup_linear|warmup_constant", 0, 0, "learning-rate schedule"},
    {"train.warmup", K_DBL, O(warmup), 0, "0", NULL, 0, 1e9, "warmup length (see warmup_unit)"},
    {"train.warmup_unit", K_STR, S(warmup_unit), "steps", "steps|epochs", 0, 0, "unit of train.warmup"},
    {"train.start_factor", K_DBL, O(start_factor), 0, "0", NULL, 0, 1, "warmup starts at lr * start_factor"},
    {"train.min_lr", K_DBL, O(min_lr), 0, "0", NULL, 0, 1e6, "floor of cosine and linear decay"},
    {"train.step_size", K_DBL, O(step_size), 0, "1", NULL, 1e-9, 1e9, "step decay: period, in schedule_unit"},
    {"train.schedule_unit", K_STR, S(step_unit), "auto", "auto|steps|epochs", 0, 0,
     "schedules run per optimizer step or per epoch (unit of step_size); auto: epochs for step, steps otherwise"},
    {"train.decay_rate", K_DBL, O(decay_rate), 0, "0.1", NULL, 0, 1, "step decay factor", 1},
    {"train.gamma", K_DBL, O(gamma), 0, "0.95", NULL, 0, 1, "exponential decay factor per schedule_unit", 1},
    {"train.early_stopping_patience", K_INT, O(patience), 0, "0", NULL, 0, 1e6,
     "stop after N evaluations without improvement (0: off)"},
    {"train.min_delta", K_DBL, O(min_delta), 0, "0", NULL, 0, 1e9, "smallest change that counts as improvement"},
    {"train.monitor", K_STR, S(monitor), "val_loss", "val_loss|val_acc", 0, 0, "metric watched by early stopping"},
    {"train.steps_per_epoch", K_LONG, O(steps_per_epoch), 0, "0", NULL, 0, 1e9,
     "optimizer steps per epoch (0: one pass; text default 200)"},
    {"train.seed", K_U64, O(seed), 0, "1", NULL, 0, BIG, "seed of initialization, dropout and shuffling"},
    {"train.threads", K_INT, O(threads), 0, "0", NULL, 0, 1024, "OpenMP threads (0: all cores)"},
    {"train.checkpoint", K_STR, S(checkpoint), "", NULL, 0, 0, "write a checkpoint here after every epoch"},
    /* [study] */
    {"study.name", K_STR, S(study_name), "", NULL, 0, 0, "study name (default: the config file's base name)"},
    {"study.storage", K_STR, S(storage), "", NULL, 0, 0, "SQLite database (default runs/<name>.db)"},
    {"study.trials", K_INT, O(trials), 0, "20", NULL, 1, 1e7, "trial budget"},
    {"study.seed", K_U64, O(study_seed), 0, "1", NULL, 0, BIG, "seed of the samplers and schedulers"},
    {"study.direction", K_STR, S(direction), "", "|minimize|maximize", 0, 0,
     "minimize or maximize (default: from the metric)"},
    {"study.metric", K_STR, S(metric), "val_loss",
     "val_loss|val_accuracy|val_perplexity|test_accuracy|train_loss|value", 0, 0, "the value a trial reports"},
    {"study.sampler", K_STR, S(sampler), "random", "grid|random|sobol|bayes|evolution|tpe|cmaes", 0, 0, "sampler"},
    {"study.grid_points", K_INT, O(grid_points), 0, "3", NULL, 1, 1e6, "grid: points per numeric range"},
    {"study.workers", K_INT, O(workers), 0, "1", "auto", 0, 1024,
     "trials run in parallel; auto (or 0): time a few steps of the model as 1 worker x all threads and as one "
     "worker per thread, keep the faster. Under mpirun: one trial per worker rank, at most the worker ranks "
     "(1 or auto: all of them)"},
    {"study.scheduler", K_STR, S(scheduler), "fifo", "fifo|median|sha|hyperband|asha|pbt", 0, 0, "scheduler"},
    {"study.min_budget", K_DBL, O(min_budget), 0, "1", NULL, 1e-9, 1e9, "smallest budget (epochs)"},
    {"study.max_budget", K_DBL, O(max_budget), 0, "0", NULL, 0, 1e9, "largest budget (0: train.epochs)"},
    {"study.eta", K_DBL, O(eta), 0, "3", NULL, 1.01, 1000, "reduction factor"},
    {"study.median_warmup_steps", K_INT, O(median_warmup_steps), 0, "1", NULL, 0, 1e9,
     "median: reports before pruning starts"},
    {"study.median_min_trials", K_INT, O(median_min_trials), 0, "5", NULL, 0, 1e9,
     "median: trials needed at a step before pruning"},
    {"study.max_failures", K_INT, O(max_failures), 0, "5", NULL, 1, 1e9,
     "stop when the first N trials all failed"},
    {"study.acquisition", K_STR, S(acquisition), "logei", "ei|logei|pi|ucb", 0, 0, "bayes: acquisition"},
    {"study.xi", K_DBL, O(xi), 0, "0", NULL, 0, 1e9, "bayes: ei/pi margin in standardized units (0.01 suits pi)"},
    {"study.beta", K_DBL, O(beta), 0, "2", NULL, 0, 1e9, "bayes: ucb exploration weight"},
    {"study.n_init", K_INT, O(n_init), 0, "0", NULL, 0, 1e6, "bayes: initial Sobol points (0: automatic)"},
    /* [tpe] (hpo/sampler_tpe.h: Optuna 3.1's TPESampler defaults) */
    {"tpe.startup_trials", K_INT, O(tpe_startup_trials), 0, "10", NULL, 0, 1e6,
     "tpe: random trials (complete + pruned) before the model"},
    {"tpe.ei_candidates", K_INT, O(tpe_ei_candidates), 0, "24", NULL, 1, 1e6,
     "tpe: candidates drawn from l(x) per suggestion"},
    {"tpe.gamma", K_DBL, O(tpe_gamma), 0, "0.1", NULL, 1e-9, 1,
     "tpe: fraction of trials in the good set, min(ceil(gamma n), gamma_max)"},
    {"tpe.gamma_max", K_INT, O(tpe_gamma_max), 0, "25", NULL, 1, 1e6, "tpe: cap of the good set"},
    {"tpe.multivariate", K_BOOL, O(tpe_multivariate), 0, "false", NULL, 0, 1,
     "tpe: one joint model of the unconditional parameters"},
    {"tpe.prior_weight", K_DBL, O(tpe_prior_weight), 0, "1", NULL, 1e-12, 1e6,
     "tpe: weight of the prior kernel"},
    {"tpe.consider_magic_clip", K_BOOL, O(tpe_magic_clip), 0, "true", NULL, 0, 1,
     "tpe: floor kernel widths at range / min(100, n + 1)"},
    {"tpe.consider_endpoints", K_BOOL, O(tpe_endpoints), 0, "false", NULL, 0, 1,
     "tpe: outermost kernels may reach the bounds"},
    {"tpe.constant_liar", K_BOOL, O(tpe_constant_liar), 0, "true", NULL, 0, 1,
     "tpe: running trials count as the worst, so parallel workers spread"},
    /* [cmaes] (hpo/sampler_cmaes.h) */
    {"cmaes.sigma0", K_DBL, O(cmaes_sigma0), 0, "0", NULL, 0, 1,
     "cmaes: initial step size in unit-cube coordinates (0: 1/6)"},
    {"cmaes.popsize", K_INT, O(cmaes_popsize), 0, "0", NULL, 0, 1e5,
     "cmaes: population (0: 4 + floor(3 ln n); else >= 2)"},
    {"cmaes.restart", K_STR, S(cmaes_restart), "ipop", "none|ipop", 0, 0,
     "cmaes: restart with a larger population when a run stagnates"},
    {"cmaes.inc_popsize", K_INT, O(cmaes_inc_popsize), 0, "2", NULL, 1, 100,
     "cmaes: population factor per IPOP restart"},
    {"cmaes.margin", K_BOOL, O(cmaes_margin), 0, "true", NULL, 0, 1,
     "cmaes: keep integer parameters from freezing (margin)"},
    {"cmaes.startup_trials", K_INT, O(cmaes_startup_trials), 0, "1", NULL, 0, 1e6,
     "cmaes: random trials before CMA-ES (until this many are complete)"},
    /* [pbt] */
    {"pbt.population", K_INT, O(pbt_population), 0, "8", NULL, 2, 1e5, "members"},
    {"pbt.interval", K_INT, O(pbt_interval), 0, "1", NULL, 1, 1e9, "epochs between ready points"},
    {"pbt.sync", K_BOOL, O(pbt_sync), 0, "true", NULL, 0, 1, "synchronous generations"},
    {"pbt.quantile", K_DBL, O(pbt_quantile), 0, "0.25", NULL, 0.01, 0.5, "bottom/top fraction"},
    {"pbt.factor_low", K_DBL, O(pbt_factor_low), 0, "0.8", NULL, 0.01, 100, "explore: down factor"},
    {"pbt.factor_high", K_DBL, O(pbt_factor_high), 0, "1.2", NULL, 0.01, 100, "explore: up factor"},
    {"pbt.resample_probability", K_DBL, O(pbt_resample), 0, "0.25", NULL, 0, 1, "explore: resample instead"},
    /* [nas] */
    {"nas.population", K_INT, O(nas_population), 0, "10", NULL, 2, 1e6, "aging-evolution population"},
    {"nas.sample_size", K_INT, O(nas_sample_size), 0, "3", NULL, 1, 1e6, "tournament size"},
    {"nas.max_params", K_DBL, O(nas_max_params), 0, "0", NULL, 0, 1e15, "parameter budget (0: none)"},
    {"nas.max_flops", K_DBL, O(nas_max_flops), 0, "0", NULL, 0, 1e18,
     "forward FLOPs per token (GPT) or per sample (MLP) budget (0: none)"},
    {"nas.objectives", K_STR, S(nas_objectives), "val_loss", NULL, 0, 0, "val_loss or 'val_loss, params'"},
    {"nas.inherit", K_BOOL, O(nas_inherit), 0, "false", NULL, 0, 1,
     "evolution: a mutated child starts from its parent's weights (Net2Net morphism)"},
    {"nas.child_epochs", K_INT, O(nas_child_epochs), 0, "-1", NULL, -1, 1e6,
     "nas.inherit: epochs a child trains (-1: a third of train.epochs, at least 1, with the fifo scheduler; "
     "0: the trial's budget)"},
    {"nas.seed_epochs", K_INT, O(nas_seed_epochs), 0, "-1", NULL, -1, 1e6,
     "nas.inherit: epochs a trial without a parent (the first population) trains (-1: as nas.child_epochs; "
     "0: the trial's budget)"},
    {"nas.child_warmup", K_DBL, O(nas_child_warmup), 0, "0", NULL, 0, 1e9,
     "nas.inherit: a child's lr warms up over this many steps (cosine/constant become warmup_*; 0: the schedule as is)"},
    {"nas.child_lr_scale", K_DBL, O(nas_child_lr_scale), 0, "1", NULL, 1e-6, 1e6,
     "nas.inherit: a child's train.lr is multiplied by this"},
    {"nas.child_moments", K_BOOL, O(nas_child_moments), 0, "true", NULL, 0, 1,
     "nas.inherit: an MLP child's optimizer moments (AdamW m, v; SGD momentum) and step count continue its "
     "parent's through the morphism (false: reset; a GPT child's are always reset)"},
    /* [objective] */
    {"objective.type", K_STR, S(objective_type), "train", "train|function|command", 0, 0, "what a trial runs"},
    {"objective.function", K_STR, S(function), "branin", NULL, 0, 0, "function objective: test function"},
    {"objective.command", K_STR, S(command), "", NULL, 0, 0, "command objective: shell command with {param}"},
    {"objective.timeout", K_DBL, O(timeout), 0, "0", NULL, 0, 1e9, "command objective: seconds (0: none)"},
};
const int CONFIG_NKEYS = (int)(sizeof CONFIG_KEYS / sizeof CONFIG_KEYS[0]);
const char *const CONFIG_SECTIONS[] = {"data", "model", "train", "study", "tpe", "cmaes", "pbt", "nas", "objective", "space"};
const int CONFIG_NSECTIONS = (int)(sizeof CONFIG_SECTIONS / sizeof CONFIG_SECTIONS[0]);

const keydef *config_find_key(const char *key)
{
    for (int i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(CONFIG_KEYS[i].key, key) == 0)
            return &CONFIG_KEYS[i];
    return NULL;
}

int config_has_key(const char *key)
{
    return config_find_key(key) != NULL;
}

/* Edit distance for "did you mean" hints. */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *config_closest_key(const char *key)
{
    const char *best = NULL;
    int bd = 4;
    size_t n = strlen(key);
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        size_t m = strlen(CONFIG_KEYS[i].key);
        if ((n > m ? n - m : m - n) >= (size_t)bd)
            continue; /* the distance is at least the length difference */
        int d = edit_distance(key, CONFIG_KEYS[i].key);
        if (d < bd) {
            bd = d;
            best = CONFIG_KEYS[i].key;
        }
    }
    return best;
}

int config_unknown_key(const char *key, const char *where, tl_err *err)
{
    const char *hint = config_closest_key(key);
    if (hint)
        return tl_fail(err, TL_EINPUT, "%s: %s: unknown key (did you mean %s?)", where, key, hint);
    return tl_fail(err, TL_EINPUT, "%s: %s: unknown key (see `tunelab train --help`)", where, key);
}

