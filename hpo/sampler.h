/* hpo/sampler.h: the sampler interface (grid, random, sobol, bayes, evolution,
 * tpe, cmaes).
 *
 * A sampler is { vtable, state }.  It suggests the internal values of a new
 * trial given a read-only snapshot of the study's trials (finished and still
 * running: running trials carry values but no final value, so a sampler can
 * avoid suggesting the same point twice to parallel workers).  Values the
 * sampler returns must lie in the space (ints integral, categorical indices
 * in range, inactive conditionals NAN).  All randomness comes from `r`, the
 * study's generator for this trial, so a study replays from its seed.
 *
 * Options: a sampler with settings declares its own options struct in its
 * header (hpo/sampler_grid.h, hpo/sampler_bayes.h, hpo/sampler_evolution.h,
 * hpo/sampler_tpe.h, hpo/sampler_cmaes.h),
 * handed to it through study_config.sampler_opts; it validates them and
 * copies what it keeps at init.
 *
 * Samplers depend on the core (space, trial); the core never depends on any
 * sampler.  The registry in sampler.c lists them by name.
 */
#ifndef TL_HPO_SAMPLER_H
#define TL_HPO_SAMPLER_H

#include "hpo/space.h"
#include "hpo/trial.h"
#include "util/err.h"
#include "util/rng.h"

/* Returned by suggest when the sampler has nothing left (grid exhausted). */
#define SAMPLER_EXHAUSTED (-1)

struct study_config;
struct study;

typedef struct sampler_vt {
    const char *name;
    /* Optional: checks the sampler's options `opts` (its own options
     * struct, declared in its header: grid_options, bayes_options,
     * evolution_options; NULL: its defaults) and the space before a study
     * starts.  cfg, the study's core settings, may be NULL.  Returns 0 or
     * TL_EINPUT with "key: what", the key being the config key. */
    int (*validate)(const space *sp, const void *opts, const struct study_config *cfg,
                    tl_err *err);
    /* Builds the sampler's state for space sp with options opts (as in
     * validate, which init runs itself; the sampler copies what it keeps)
     * and the core settings cfg (may be NULL: a sampler used outside a
     * study); *self may stay NULL for a stateless sampler.  Returns 0 or a
     * tl_code. */
    int (*init)(void **self, const space *sp, const void *opts, const struct study_config *cfg,
                uint64_t seed, tl_err *err);
    /* Writes sp->n internal values for trial `number`; returns 0,
     * SAMPLER_EXHAUSTED, or a tl_code with err filled. */
    int (*suggest)(void *self, const space *sp, const trial *const *hist, int nhist,
                   int direction, int number, rng *r, double *values, tl_err *err);
    /* Frees the state; NULL self is a no-op. */
    void (*free)(void *self);
    /* 1 when the sequence does not depend on the seed (grid). */
    int ignores_seed;
    /* Optional: the parent trial of the last suggestion (evolution: the
     * trial it mutated), or -1.  The study stores it as the trial's parent. */
    int (*parent_of_last)(void *self);
    /* Optional: writes the sampler's settings as study attributes (for
     * `tunelab report`), with study_attr_set.  study_open calls it once
     * the study is in storage, on every open.  Returns 0 or a tl_code. */
    int (*write_attrs)(void *self, struct study *s, tl_err *err);
} sampler_vt;

typedef struct sampler {
    const sampler_vt *vt;
    void *self;
} sampler;

extern const sampler_vt sampler_random_vt;
extern const sampler_vt sampler_grid_vt;
extern const sampler_vt sampler_sobol_vt;
extern const sampler_vt sampler_bayes_vt;
extern const sampler_vt sampler_evolution_vt; /* hpo/sampler_evolution.c */
extern const sampler_vt sampler_tpe_vt;       /* hpo/sampler_tpe.c */
extern const sampler_vt sampler_cmaes_vt;     /* hpo/sampler_cmaes.c */

/* The implemented sampler called name, or NULL (unknown, or registered
 * but not implemented yet).  The result is static. */
const sampler_vt *sampler_find(const char *name);

/* As sampler_find with an error: TL_EINPUT "unknown sampler 'x'
 * (available: random, grid, sobol, ...)" or "sampler 'x' is not
 * implemented yet".  Returns 0 with *out set. */
int sampler_lookup(const char *name, const sampler_vt **out, tl_err *err);

/* Implemented samplers, in registry order (for the contract test and
 * --help): how many, and the i-th (NULL out of range). */
int sampler_count(void);
const sampler_vt *sampler_at(int i);

#endif
