/* hpo/sampler_evolution.h: the "evolution" sampler's options (regularized
 * evolution, hpo/sampler_evolution.c; sampler_evolution_vt in
 * hpo/sampler.h).  Its second objective, when there is one, is the
 * study's cost callback (study_config.cost). */
#ifndef TL_HPO_SAMPLER_EVOLUTION_H
#define TL_HPO_SAMPLER_EVOLUTION_H

typedef struct evolution_options {
    int population;            /* P: members, the last P evaluated trials; default 16;
                                  key nas.population, >= 1 */
    int sample_size;           /* S: tournament size; default 4; key nas.sample_size, in [1, P] */
} evolution_options;

/* Fills o with the defaults above.  Cannot fail. */
void evolution_options_default(evolution_options *o);

#endif
