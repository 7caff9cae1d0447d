/* tune/config.h: the run configuration: an INI file plus --set overrides.
 *
 * Every key the program understands is listed once in a table (config.c)
 * with its type, default and one line of help; the table drives parsing,
 * validation, `--help`, the resolved-config dump and the README reference.
 * Errors name the file, the line and the key:
 *   exp.ini:12: train.lr: expected a number, got 'fast'
 * The [space] section names config keys to tune; its lines are kept as text
 * (key, expression, line) for hpo/space to parse.
 *
 * This module only parses and validates; it builds nothing.
 */
#ifndef TL_TUNE_CONFIG_H
#define TL_TUNE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "hpo/space.h"
#include "util/err.h"

#define CONFIG_MAX_LAYERS 16
#define CONFIG_MAX_SPACE 64

typedef struct config_space_line {
    char key[64];
    char expr[256];
    char where[320];    /* "file:line" or "--set" */
} config_space_line;

typedef struct config {
    /* [data] */
    char dataset[32];           /* fmnist | images | text | spirals | blobs */
    char data_path[512];
    char split_file[512];       /* write the split's indices here ("": no) */
    double val_fraction;
    long train_limit, val_limit, test_limit;
    int channels, image_width, image_height;
    long samples;               /* synthetic sets */
    int classes, features;
    double noise;
    uint64_t data_seed;
    int eval_windows;           /* text: validation windows per evaluation */

    /* [model] */
    char model_type[16];        /* mlp | gpt */
    int layers;                 /* MLP hidden layers; GPT blocks */
    int hidden;                 /* MLP width of every hidden layer */
    int widths[CONFIG_MAX_LAYERS]; /* MLP explicit widths (overrides hidden) */
    int nwidths;
    int width_i[8];             /* MLP: model.width1..8, width of hidden layer i (0: hidden) */
    char activation[16];        /* relu | gelu */
    double dropout;
    int d_model, heads, mlp_ratio, ctx;

    /* [train] */
    char optimizer[16];         /* adamw | sgd */
    double lr, momentum, beta1, beta2, eps, weight_decay, clip_norm;
    int nesterov;
    int epochs, batch_size, accum_steps, base_batch_size;
    char lr_scaling[16];        /* none | linear | sqrt */
    char schedule[32];
    double warmup;              /* length in warmup_unit */
    char warmup_unit[16];       /* steps | epochs */
    double start_factor, min_lr, decay_rate, gamma;
    double step_size;           /* in step_unit */
    char step_unit[16];         /* epochs | steps */
    int patience;
    double min_delta;
    char monitor[16];           /* val_loss | val_acc */
    long steps_per_epoch;       /* text models: optimizer steps between evaluations */
    uint64_t seed;
    int threads;                /* 0: all cores */
    char checkpoint[512];       /* write a checkpoint here at the end of each epoch */

    /* [study] */
    char study_name[128];
    char storage[512];
    int trials;
    uint64_t study_seed;
    char direction[16];         /* minimize | maximize */
    char metric[32];            /* val_loss | val_accuracy | val_perplexity | test_accuracy | value */
    char sampler[32];
    int grid_points;
    int workers;
    char scheduler[32];
    double min_budget, max_budget, eta;
    int median_warmup_steps, median_min_trials;
    int max_failures;
    char acquisition[16];
    double xi, beta;
    int n_init;

    /* [tpe] */
    int tpe_startup_trials, tpe_ei_candidates, tpe_gamma_max;
    double tpe_gamma, tpe_prior_weight;
    int tpe_multivariate, tpe_magic_clip, tpe_endpoints, tpe_constant_liar;

    /* [cmaes] */
    double cmaes_sigma0;
    int cmaes_popsize, cmaes_inc_popsize, cmaes_margin, cmaes_startup_trials;
    char cmaes_restart[8];

    /* [pbt] */
    int pbt_population, pbt_interval, pbt_sync;
    double pbt_quantile, pbt_factor_low, pbt_factor_high, pbt_resample;

    /* [nas] */
    int nas_population, nas_sample_size;
    double nas_max_params;
    double nas_max_flops;
    char nas_objectives[64];
    int nas_inherit;            /* children start from their parent's morphed weights (tune/nas_inherit.h) */
    int nas_child_epochs;       /* epochs an inheriting child trains (-1: auto, 0: the trial's budget) */
    int nas_seed_epochs;        /* epochs a parentless trial trains when inheriting (-1: as child, 0: budget) */
    double nas_child_lr_scale;  /* an inheriting child's lr = train.lr * this */
    double nas_child_warmup;    /* an inheriting child's warmup in steps (0: the schedule as is) */
    int nas_child_moments;      /* an inheriting MLP child's optimizer continues the parent's moments */

    /* [objective] */
    char objective_type[16];    /* train | function | command */
    char function[32];
    char command[1024];
    double timeout;

    /* [space] */
    int nspace;
    config_space_line space[CONFIG_MAX_SPACE];

    char source[512];           /* the config file's path */
} config;

/* Fills c with every default.  Cannot fail. */
void config_defaults(config *c);

/* Parses the INI file at path into c (on top of what c holds).  Returns 0,
 * or TL_EINPUT with "path:line: key: what" in err. */
int config_load(config *c, const char *path, tl_err *err);

/* Parses INI text (len bytes, e.g. a checkpoint's stored config) as
 * config_load does; `name` stands for the file in messages and becomes
 * c->source.  Returns 0 or TL_EINPUT (TL_ERUNTIME when the text cannot be
 * read at all). */
int config_load_text(config *c, const char *text, size_t len, const char *name, tl_err *err);

/* Sets one key from text ("train.lr", "3e-4"); `where` prefixes errors
 * ("exp.ini:12" or "--set").  Returns 0 or TL_EINPUT (unknown key, with
 * the closest known key as a hint; wrong type; out of range; not one of
 * the choices). */
int config_set(config *c, const char *key, const char *value, const char *where, tl_err *err);

/* Sets one key from a number, with the checks and messages of config_set:
 * a float key takes any finite v in its range, an integer key an integral
 * v (below 9e15 in magnitude) in its range, a boolean 0 or 1; a text key
 * takes v's shortest round-trip text.  Messages show v as that text
 * ("trial 3: model.hidden: expected an integer, got '27.5'").  Returns 0 or
 * TL_EINPUT (unknown key, wrong type, out of range); c is unchanged on
 * error. */
int config_set_number(config *c, const char *key, double v, const char *where, tl_err *err);

/* Applies a trial's values (sp->n, in hpo/space's internal form) to c: each
 * parameter's name is a config key; a float or int parameter goes in as a
 * number (config_set_number's checks), a categorical as its choice (a
 * numeric choice of a numeric key as that number, any other as its text,
 * config_set's checks); NAN (an inactive conditional parameter) leaves its
 * key alone.  Then config_validate.  Messages are prefixed with `where`
 * ("trial 3", "exploit") and show each value as space_format_value writes
 * it.  Returns 0 or TL_EINPUT naming the key; on error c may hold the
 * values before the failing one. */
int config_apply_values(config *c, const space *sp, const double *values, const char *where, tl_err *err);

/* Applies "section.key=value" (a --set argument; "space.NAME=EXPR" adds or
 * replaces a [space] line).  Returns 0 or TL_EINPUT naming the argument. */
int config_set_arg(config *c, const char *arg, tl_err *err);

/* Checks cross-key constraints (d_model % heads, ranges).  Returns 0 or
 * TL_EINPUT naming the key. */
int config_validate(const config *c, tl_err *err);

/* Fills the keys whose defaults depend on other keys, where the config left
 * them empty: study.name (the base name of `path` without its extension;
 * "study" when path is NULL), study.storage (runs/NAME.db),
 * study.direction (maximize for val_accuracy and test_accuracy, else
 * minimize), data.path (the Debian Fashion-MNIST or fortunes package) and,
 * for text, train.steps_per_epoch (200); then config_validate.  Returns 0
 * or config_validate's TL_EINPUT. */
int config_resolve(config *c, const char *path, tl_err *err);

/* Writes the resolved configuration as INI text (every key, in the KEYS
 * table's order, then [space]) to f.  Cannot fail (f's errors are f's). */
void config_write(const config *c, FILE *f);

/* Writes, on one line without its newline, "key=value" for every key
 * whose value differs from its default (defaults resolved from other keys
 * count as changes), then the [space] lines as "space.NAME=EXPR": the
 * compact form of the run's settings.  Returns how many it wrote, or -1
 * when out of memory. */
int config_write_changed(const config *c, FILE *f);

/* Returns a malloc'd INI text of the resolved configuration (caller frees),
 * as config_write writes it, or NULL when out of memory. */
char *config_to_string(const config *c);

/* Formats key's current value as text into buf (n bytes; numbers as the
 * shortest text that reads back exactly).  Returns 0 or -1 if the key is
 * unknown. */
int config_get(const config *c, const char *key, char *buf, size_t n);

/* 1 if key names a known, tunable key, else 0.  Cannot fail. */
int config_has_key(const char *key);

/* Writes the key reference (key, default, help, choices) of every key whose
 * name starts with `section` (NULL: all) to f, for --help and the README.
 * Cannot fail. */
void config_print_reference(FILE *f, const char *section);
#endif
