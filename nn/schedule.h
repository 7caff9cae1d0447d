/* nn/schedule.h: learning-rate schedules.
 *
 * What it does: maps a training position (optimizer step s, 0-based: the
 * update about to happen, and epoch e, 0-based) to a learning rate, given
 * the peak rate lr0.  A sched_config (plain data, from the CLI) is resolved
 * ONCE by sched_resolve into a function pointer plus numbers; sched_lr then
 * costs one indirect call and no string compare.  Formulas (u = the unit
 * position: s when unit = steps, e when unit = epochs):
 *
 *   constant         lr0
 *   step             lr0 * decay_rate^floor(u / step_size)
 *   exponential      lr0 * gamma^u
 *   cosine           min_lr + 0.5*(lr0 - min_lr)*(1 + cos(pi * min(u, T)/T))
 *                    (torch CosineAnnealingLR, held at min_lr after T)
 *   warmup_*         per step, W warmup steps, T total steps:
 *                    s < W:  lr0 * (f + (1 - f)*(s + 1)/W)   (f = warmup_start;
 *                            f = 0 is "linear from 0"; step W-1 reaches lr0,
 *                            so no update runs at lr 0)
 *                    s >= W: p = min((s - W)/(T - W), 1) and
 *                      warmup_cosine    min_lr + 0.5*(lr0 - min_lr)*(1 + cos(pi*p))
 *                      warmup_linear    min_lr + (lr0 - min_lr)*(1 - p)
 *                      warmup_constant  lr0
 *                    (the first decay step, p = 0, runs at lr0; the last
 *                    step of the run, s = T-1, sits one step above min_lr,
 *                    as in Hugging Face's get_cosine_schedule_with_warmup)
 *
 * Units: `unit` says whether the lengths of step/exponential/cosine (and the
 * total T of every kind) count optimizer steps or epochs, and whether
 * step/exponential/cosine are evaluated per step or per epoch (piecewise
 * constant within an epoch, like a torch scheduler stepped per epoch).
 * unit = auto (the default) is epochs for step decay, steps otherwise.
 * Warmup kinds are always evaluated per step; their lengths (warmup,
 * warmup_unit; total, unit) are converted to steps with steps_per_epoch,
 * and a warmup kind needs warmup > 0 (without it, warmup_cosine would be a
 * plain cosine: sched_config_check refuses it, naming train.warmup).
 * total = 0 means the whole run (epochs, or epochs * steps_per_epoch).
 *
 * What it does not do: no cyclic or plateau schedules, no state: the same
 * position always gives the same rate, so checkpoints only need (s, e).
 * The run-time multiplier (PBT) and batch-size scaling are applied by the
 * trainer, outside.
 */
#ifndef TL_NN_SCHEDULE_H
#define TL_NN_SCHEDULE_H

#include "util/err.h"

enum sched_kind {
    SCHED_CONSTANT,
    SCHED_STEP,
    SCHED_EXPONENTIAL,
    SCHED_COSINE,
    SCHED_WARMUP_COSINE,
    SCHED_WARMUP_LINEAR,
    SCHED_WARMUP_CONSTANT,
    SCHED_COUNT
};

/* AUTO: epochs for step decay (the rate is cut every step_size epochs, as a
 * course's "step decay" means), optimizer steps for every other kind. */
enum sched_unit { SCHED_UNIT_STEPS, SCHED_UNIT_EPOCHS, SCHED_UNIT_AUTO, SCHED_UNIT_COUNT };

/* The name of a kind ("constant", "step", "exponential", "cosine",
 * "warmup_cosine", "warmup_linear", "warmup_constant"); "?" if out of range. */
const char *sched_str(int kind);
/* "steps" or "epochs"; "?" if out of range. */
const char *sched_unit_str(int unit);

/* Parses a schedule name into *kind.  Returns 0, or TL_EINPUT with a message
 * listing every valid name. */
int sched_parse(const char *name, int *kind, tl_err *err);
/* Parses "steps", "epochs" or "auto" into *unit.  Returns 0 or TL_EINPUT. */
int sched_unit_parse(const char *name, int *unit, tl_err *err);

typedef struct sched_config {
    int kind;              /* enum sched_kind */
    int unit;              /* enum sched_unit: of step_size, T and of evaluation */
    double step_size;      /* step: decay every step_size units (> 0) */
    double decay_rate;     /* step: factor per decay, > 0 (0.1) */
    double gamma;          /* exponential: factor per unit, > 0 (0.95) */
    double min_lr;         /* cosine, warmup_cosine, warmup_linear: floor (absolute, >= 0) */
    double total;          /* T in `unit`s; 0 = the whole run */
    double warmup;         /* warmup_*: length in warmup_units (>= 0) */
    int warmup_unit;       /* enum sched_unit */
    double warmup_start;   /* warmup_*: start factor f in [0, 1) (0) */
} sched_config;

/* Fills c with defaults: constant, unit auto, step_size 1, decay_rate 0.1,
 * gamma 0.95, min_lr 0, total 0, warmup 0 in steps, warmup_start 0.
 * Cannot fail. */
void sched_config_default(sched_config *c);

/* Checks c's fields (ranges above).  Returns 0 or TL_EINPUT naming the key,
 * e.g. "train.step_size: must be > 0 (got 0)". */
int sched_config_check(const sched_config *c, tl_err *err);

typedef struct sched sched;
typedef double (*sched_fn)(const sched *s, double lr0, double u);

/* A resolved schedule. */
struct sched {
    sched_fn fn;
    int per_epoch;          /* u = epoch (1) or step (0) */
    int kind;
    double step_size, decay_rate, gamma, min_lr;
    double T;               /* total, in the evaluation unit (steps for warmup kinds) */
    double W;               /* warmup steps */
    double f;               /* warmup start factor */
};

/* Resolves c for a run of `epochs` epochs of `steps_per_epoch` optimizer
 * steps.  Returns 0, or TL_EINPUT when c is invalid or when the lengths
 * leave no room (warmup >= total for a warmup kind, T <= 0).  Cannot
 * allocate. */
int sched_resolve(sched *s, const sched_config *c, long steps_per_epoch, int epochs,
                  tl_err *err);

/* The learning rate for the update at optimizer step `step` (0-based) in
 * epoch `epoch` (0-based), for peak rate lr0.  Cannot fail. */
static inline double sched_lr(const sched *s, double lr0, long step, int epoch)
{
    return s->fn(s, lr0, s->per_epoch ? (double)epoch : (double)step);
}

#endif
