/* hpo/space.h: search spaces.  Shapes: d = number of parameters.
 *
 * A parameter is a float, an int or a categorical; floats and ints may be
 * log-scaled; a parameter may be conditional on a categorical parent taking
 * one of some values.  Values are stored as doubles in the "internal"
 * representation: a float's value, an int's value (integral), a
 * categorical's index; NAN marks an inactive conditional parameter.
 *
 * Samplers work in the unit cube [0,1]^d: space_from_unit maps a unit
 * coordinate to an internal value (log scaling applied there, ints rounded
 * to the nearest integer of equal-width bins), space_to_unit maps back to
 * the centre of that value's cell.
 *
 * This module knows nothing of config keys or neural networks: `name` is any
 * string the caller chose (cli/ uses config keys such as "train.lr").
 */
#ifndef TL_HPO_SPACE_H
#define TL_HPO_SPACE_H

#include <stddef.h>

#include "util/err.h"

enum param_kind { PARAM_FLOAT, PARAM_INT, PARAM_CAT, PARAM_KIND_COUNT };
const char *param_kind_str(int kind);

#define SPACE_MAX_PARAMS 64
#define PARAM_MAX_CATS 64

typedef struct param {
    char name[64];
    int kind;                  /* enum param_kind */
    int log;                   /* float/int: log-scaled */
    double low, high;          /* float/int: inclusive bounds */
    int ncat;                  /* categorical: number of choices */
    char *cats[PARAM_MAX_CATS];/* categorical: choices as text (owned) */
    double catnum[PARAM_MAX_CATS]; /* numeric value of a choice, NAN if not a number */
    int grid_points;           /* grid sampler: points for a float/int range (0: default) */
    int parent;                /* index of the parent parameter, -1 if unconditional */
    int ncond;                 /* active when the parent's index is one of cond[] */
    int cond[PARAM_MAX_CATS];
} param;

typedef struct space {
    int n;
    param p[SPACE_MAX_PARAMS];
} space;


/* ---- Building a space ---- */

/* Empties sp (n = 0).  Cannot fail. */
void space_init(space *sp);

/* Frees the choice strings sp owns and empties it; does not free sp itself.
 * NULL is a no-op. */
void space_free(space *sp);

/* Deep copy of src into dst (dst's previous contents are not freed: pass an
 * empty or freed space).  Returns 0 or TL_ERUNTIME (memory; dst left empty). */
int space_copy(space *dst, const space *src, tl_err *err);

/* Parses one parameter expression and appends it as parameter `name`.
 * Grammar (whitespace free, numbers as strtod reads them):
 *   uniform(a, b)      float in [a, b]              (a < b, finite)
 *   loguniform(a, b)   float, log scale             (0 < a < b)
 *   int(a, b)          integer in [a, b]            (integral a < b)
 *   logint(a, b)       integer, log scale           (integral 0 < a < b)
 *   choice(v1, v2, ...) categorical; numbers or words ("quoted" allowed)
 * then optionally `grid=N` (N >= 1 points for the grid sampler, floats and
 * ints only; also accepted inside the call as a last argument
 * `uniform(0, 1, grid=5)`), then optionally a condition on an EARLIER
 * categorical parameter:  `if parent == v`  or  `if parent in (v1, v2)`.
 * Returns 0, or TL_EINPUT with a message "name: what" (bad syntax, bounds,
 * empty or duplicate choice, duplicate name, unknown or non-categorical
 * parent, value not among the parent's choices); TL_ERUNTIME for memory.
 * On error sp is unchanged. */
int space_add(space *sp, const char *name, const char *expr, tl_err *err);

/* Index of the parameter called name, or -1. */
int space_find(const space *sp, const char *name);

/* Writes the canonical expression of parameter i (what space_add reads back
 * to the same parameter; bounds printed exactly) into buf; with_grid = 0
 * leaves out the grid=N option.  Returns the length snprintf would write. */
int space_describe(const space *sp, int i, int with_grid, char *buf, size_t n);

/* Compares two spaces parameter by parameter (names, kinds, bounds, choices,
 * conditions; not grid points).  Returns 0 when they match, else TL_EINPUT
 * with a message explaining the first difference, e.g.
 * "train.lr: stored loguniform(1e-05, 0.01), now uniform(0, 1)". */
int space_compare(const space *stored, const space *now, tl_err *err);

/* ---- Values ---- */

/* Internal value of parameter i for unit coordinate u in [0, 1] (clamped):
 * floats linearly or in log space; ints in equal-width bins of the unit
 * interval (log-width bins for logint); categoricals in ncat equal bins. */
double space_from_unit(const space *sp, int i, double u);

/* Unit coordinate of internal value v of parameter i: floats exactly
 * inverse to space_from_unit; ints and categoricals the centre of their
 * bin, so space_from_unit(space_to_unit(v)) == v.  NAN for NAN. */
double space_to_unit(const space *sp, int i, double v);

/* Maps a whole unit vector u (sp->n) to internal values (sp->n) and sets
 * inactive conditional parameters to NAN.  Cannot fail. */
void space_from_unit_vec(const space *sp, const double *u, double *values);

/* 1 when parameter i is active given the other values (its parent chain's
 * values satisfy the conditions), else 0. */
int space_is_active(const space *sp, const double *values, int i);

/* Sets every inactive parameter of values to NAN (parents precede their
 * children, so one pass suffices).  Cannot fail. */
void space_apply_conditions(const space *sp, double *values);

/* Checks a full vector: active values in range, integral where needed,
 * valid choice indices; inactive values NAN.  Returns 0 or TL_EINPUT
 * naming the parameter. */
int space_check_values(const space *sp, const double *values, tl_err *err);

/* Text of internal value v of parameter i, as a user writes it (and as
 * `--set key=text` and space_value_parse read it): shortest round-trip
 * number for floats, integer digits for ints, the choice's text for
 * categoricals, "-" for NAN (inactive).  Returns the length snprintf would
 * write. */
int space_format_value(const space *sp, int i, double v, char *buf, size_t n);

/* Parses text into the internal value of parameter i (inverse of
 * space_format_value; a categorical matches its choice's text or, for
 * numeric choices, the same number; "-" gives NAN for a conditional
 * parameter).  Returns 0 or TL_EINPUT "name: what". */
int space_value_parse(const space *sp, int i, const char *text, double *v, tl_err *err);

/* Grid points of parameter i: every choice of a categorical; for floats
 * g = (p->grid_points or default_points, at least 1) points evenly spaced
 * (log-spaced for log scales) from low to high (the centre when g = 1);
 * for ints every integer when there are at most g, else g evenly spaced
 * integers (duplicates removed).  Writes at most cap values to out (NULL
 * to only count) and returns the number of points. */
int space_grid_values(const space *sp, int i, int default_points, double *out, int cap);

#endif
