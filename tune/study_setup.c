#include "tune/study_setup.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int study_space_from_config(const config *c, space *sp, tl_err *err)
{
    space_init(sp);
    for (int i = 0; i < c->nspace; i++) {
        int rc = space_add(sp, c->space[i].key, c->space[i].expr, err);
        if (rc)
            return tl_prefix(err, "%s: space", c->space[i].where);
    }
    return 0;
}

void study_config_from(const config *c, study_config *sc)
{
    study_config_default(sc);
    snprintf(sc->name, sizeof sc->name, "%s", c->study_name);
    snprintf(sc->storage, sizeof sc->storage, "%s", c->storage);
    sc->trials = c->trials;
    sc->seed = c->study_seed;
    sc->direction = !strcmp(c->direction, "maximize") ? STUDY_MAXIMIZE : STUDY_MINIMIZE;
    snprintf(sc->metric, sizeof sc->metric, "%s", c->metric);
    snprintf(sc->sampler, sizeof sc->sampler, "%s", c->sampler);
    sc->grid_points = c->grid_points;
    sc->workers = c->workers;
    snprintf(sc->scheduler, sizeof sc->scheduler, "%s", c->scheduler);
    sc->min_budget = c->min_budget;
    sc->max_budget = c->max_budget > 0 ? c->max_budget : c->epochs;
    sc->eta = c->eta;
    sc->median_warmup_steps = c->median_warmup_steps;
    sc->median_startup_trials = c->median_min_trials;
    sc->max_consecutive_failures = c->max_failures;
    snprintf(sc->acquisition, sizeof sc->acquisition, "%s", c->acquisition);
    sc->xi = c->xi;
    sc->beta = c->beta;
    if (c->n_init > 0)
        sc->n_init = c->n_init;
    else
        sc->n_init = 0; /* the sampler's own default, depending on the dimension */
    sc->pbt_population = c->pbt_population;
    sc->pbt_interval = c->pbt_interval;
    sc->pbt_quantile = c->pbt_quantile;
    sc->pbt_factors[0] = c->pbt_factor_low;
    sc->pbt_factors[1] = c->pbt_factor_high;
    sc->pbt_nfactors = 2;
    sc->pbt_resample_probability = c->pbt_resample;
    sc->pbt_sync = c->pbt_sync;
    sc->nas_population = c->nas_population;
    sc->nas_sample_size = c->nas_sample_size;
    sc->nas_max_params = (long)c->nas_max_params;
}

void retrain_command(const config *c, const space *sp, const double *values, const char *threads,
                     char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "tunelab train %s", c->source[0] ? c->source : "CONFIG");
    for (int i = 0; i < sp->n && used < n; i++) {
        if (isnan(values[i]))
            continue;
        char v[128];
        space_format_value(sp, i, values[i], v, sizeof v);
        used += (size_t)snprintf(buf + used, n - used, " --set %s=%s", sp->p[i].name, v);
    }
    if (threads && threads[0] && used < n)
        snprintf(buf + used, n - used, " --set train.threads=%s", threads);
}
