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

#endif
