/* hpo/sampler_grid.h: the "grid" sampler's options (hpo/sampler_grid.c,
 * sampler_grid_vt in hpo/sampler.h).
 *
 * The grid is the product of each parameter's grid values
 * (space_grid_values): a categorical's choices, an int's or a float's
 * `grid=N` points when the space gives them, else `points` points.
 */
#ifndef TL_HPO_SAMPLER_GRID_H
#define TL_HPO_SAMPLER_GRID_H

typedef struct grid_options {
    int points;                /* points per float/int range without grid=N; default 5;
                                  key study.grid_points, >= 1 */
} grid_options;

/* Fills o with the defaults above.  Cannot fail. */
void grid_options_default(grid_options *o);

#endif
