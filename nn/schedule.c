/* nn/schedule.c: the learning-rate schedules of schedule.h, one small pure
 * function per kind, chosen once by sched_resolve.  No state, no
 * allocation, no string compares after parsing. */
#include "nn/schedule.h"

#include <math.h>
#include <string.h>

static const char *const sched_names[SCHED_COUNT] = {
    "constant", "step", "exponential", "cosine",
    "warmup_cosine", "warmup_linear", "warmup_constant",
};
static const char *const unit_names[SCHED_UNIT_COUNT] = { "steps", "epochs", "auto" };

const char *sched_str(int kind)
{
    return kind >= 0 && kind < SCHED_COUNT ? sched_names[kind] : "?";
}

const char *sched_unit_str(int unit)
{
    return unit >= 0 && unit < SCHED_UNIT_COUNT ? unit_names[unit] : "?";
}

int sched_parse(const char *name, int *kind, tl_err *err)
{
    for (int k = 0; k < SCHED_COUNT; k++)
        if (name && strcmp(name, sched_names[k]) == 0) {
            *kind = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT,
                   "unknown schedule '%s' (valid: constant, step, exponential, cosine, "
                   "warmup_cosine, warmup_linear, warmup_constant)",
                   name ? name : "(null)");
}

int sched_unit_parse(const char *name, int *unit, tl_err *err)
{
    for (int k = 0; k < SCHED_UNIT_COUNT; k++)
        if (name && strcmp(name, unit_names[k]) == 0) {
            *unit = k;
            return 0;
        }
    return tl_fail(err, TL_EINPUT, "unknown schedule unit '%s' (valid: steps, epochs, auto)",
                   name ? name : "(null)");
}

void sched_config_default(sched_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = SCHED_CONSTANT;
    c->unit = SCHED_UNIT_AUTO;
    c->step_size = 1;
    c->decay_rate = 0.1;
    c->gamma = 0.95;
    c->min_lr = 0;
    c->total = 0;
    c->warmup = 0;
    c->warmup_unit = SCHED_UNIT_STEPS;
    c->warmup_start = 0;
}

static int is_warmup(int kind)
{
    return kind == SCHED_WARMUP_COSINE || kind == SCHED_WARMUP_LINEAR ||
           kind == SCHED_WARMUP_CONSTANT;
}

int sched_config_check(const sched_config *c, tl_err *err)
{
    if (c->kind < 0 || c->kind >= SCHED_COUNT)
        return tl_fail(err, TL_EINPUT, "train.schedule: unknown schedule kind %d", c->kind);
    if (c->unit < 0 || c->unit >= SCHED_UNIT_COUNT)
        return tl_fail(err, TL_EINPUT, "train.sched_unit: unknown unit %d", c->unit);
    if (c->warmup_unit < 0 || c->warmup_unit >= SCHED_UNIT_AUTO)
        return tl_fail(err, TL_EINPUT, "train.warmup_unit: must be steps or epochs (got %s)",
                       sched_unit_str(c->warmup_unit));
    if (c->kind == SCHED_STEP) {
        if (!(c->step_size > 0) || !isfinite(c->step_size))
            return tl_fail(err, TL_EINPUT, "train.step_size: must be > 0 (got %g)",
                           c->step_size);
        if (!(c->decay_rate > 0) || !isfinite(c->decay_rate))
            return tl_fail(err, TL_EINPUT, "train.decay_rate: must be > 0 (got %g)",
                           c->decay_rate);
    }
    if (c->kind == SCHED_EXPONENTIAL && (!(c->gamma > 0) || !isfinite(c->gamma)))
        return tl_fail(err, TL_EINPUT, "train.gamma: must be > 0 (got %g)", c->gamma);
    if (!(c->min_lr >= 0) || !isfinite(c->min_lr))
        return tl_fail(err, TL_EINPUT, "train.min_lr: must be >= 0 (got %g)", c->min_lr);
    if (!(c->total >= 0) || !isfinite(c->total))
        return tl_fail(err, TL_EINPUT, "train.sched_total: must be >= 0, 0 = whole run (got %g)",
                       c->total);
    if (!(c->warmup >= 0) || !isfinite(c->warmup))
        return tl_fail(err, TL_EINPUT, "train.warmup: must be >= 0 (got %g)", c->warmup);
    if (is_warmup(c->kind) && c->warmup == 0)
        return tl_fail(err, TL_EINPUT,
                       "train.warmup: %s needs a warmup length > 0 (e.g. train.warmup = 1 with "
                       "train.warmup_unit = epochs); without warmup use train.schedule = %s",
                       sched_str(c->kind), c->kind == SCHED_WARMUP_CONSTANT ? "constant" : "cosine");
    if (!(c->warmup_start >= 0 && c->warmup_start < 1))
        return tl_fail(err, TL_EINPUT, "train.warmup_start: must be in [0, 1) (got %g)",
                       c->warmup_start);
    return 0;
}

/* ---- one function per kind; u is the position in the evaluation unit ---- */

static double f_constant(const sched *s, double lr0, double u)
{
    (void)s, (void)u;
    return lr0;
}

static double f_step(const sched *s, double lr0, double u)
{
    return lr0 * pow(s->decay_rate, floor(u / s->step_size));
}

static double f_exponential(const sched *s, double lr0, double u)
{
    return lr0 * pow(s->gamma, u);
}

static double cosine(double lo, double hi, double p)
{
    return lo + 0.5 * (hi - lo) * (1.0 + cos(M_PI * p));
}

static double f_cosine(const sched *s, double lr0, double u)
{
    double p = u < s->T ? u / s->T : 1.0;
    return cosine(s->min_lr, lr0, p);
}

/* Warmup factor for step u < W, else -1; p receives the decay progress. */
static double warmup(const sched *s, double u, double *p)
{
    if (u < s->W)
        return s->f + (1.0 - s->f) * (u + 1.0) / s->W;
    double span = s->T - s->W;
    *p = span > 0 && u - s->W < span ? (u - s->W) / span : 1.0;
    return -1.0;
}

static double f_warmup_cosine(const sched *s, double lr0, double u)
{
    double p = 0, w = warmup(s, u, &p);
    return w >= 0 ? lr0 * w : cosine(s->min_lr, lr0, p);
}

static double f_warmup_linear(const sched *s, double lr0, double u)
{
    double p = 0, w = warmup(s, u, &p);
    return w >= 0 ? lr0 * w : s->min_lr + (lr0 - s->min_lr) * (1.0 - p);
}

static double f_warmup_constant(const sched *s, double lr0, double u)
{
    double p = 0, w = warmup(s, u, &p);
    return w >= 0 ? lr0 * w : lr0;
}

static const sched_fn sched_fns[SCHED_COUNT] = {
    f_constant, f_step, f_exponential, f_cosine,
    f_warmup_cosine, f_warmup_linear, f_warmup_constant,
};

int sched_resolve(sched *s, const sched_config *c, long steps_per_epoch, int epochs,
                  tl_err *err)
{
    int rc = sched_config_check(c, err);
    if (rc)
        return rc;
    if (steps_per_epoch <= 0 || epochs <= 0)
        return tl_fail(err, TL_EINPUT,
                       "schedule: needs steps_per_epoch > 0 and epochs > 0 (got %ld, %d)",
                       steps_per_epoch, epochs);
    sched r;
    memset(&r, 0, sizeof r);
    r.fn = sched_fns[c->kind];
    r.kind = c->kind;
    r.step_size = c->step_size;
    r.decay_rate = c->decay_rate;
    r.gamma = c->gamma;
    r.min_lr = c->min_lr;
    r.f = c->warmup_start;
    double spe = (double)steps_per_epoch;
    int unit = c->unit != SCHED_UNIT_AUTO ? c->unit
               : c->kind == SCHED_STEP    ? SCHED_UNIT_EPOCHS
                                          : SCHED_UNIT_STEPS;
    if (is_warmup(c->kind)) {
        r.per_epoch = 0;
        r.T = c->total > 0 ? (unit == SCHED_UNIT_EPOCHS ? c->total * spe : c->total)
                           : (double)epochs * spe;
        r.W = c->warmup_unit == SCHED_UNIT_EPOCHS ? c->warmup * spe : c->warmup;
        r.T = round(r.T);
        r.W = round(r.W);
        if (r.W > r.T)
            return tl_fail(err, TL_EINPUT,
                           "train.warmup: %g warmup steps exceed the %g steps of the schedule",
                           r.W, r.T);
    } else {
        r.per_epoch = unit == SCHED_UNIT_EPOCHS;
        r.T = c->total > 0 ? c->total : (r.per_epoch ? (double)epochs : (double)epochs * spe);
    }
    if (!(r.T > 0))
        return tl_fail(err, TL_EINPUT, "train.sched_total: schedule length must be > 0");
    *s = r;
    return 0;
}
