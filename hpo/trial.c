/* hpo/trial.c: small helpers on the read-only trial record (state names,
 * copying, intermediate values).  Does not talk to storage or samplers. */
#include "hpo/trial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[TRIAL_STATE_COUNT] = {
    "running", "complete", "pruned", "failed", "paused", "waiting",
};

const char *trial_state_str(int state)
{
    return state >= 0 && state < TRIAL_STATE_COUNT ? state_names[state] : "?";
}

int trial_state_parse(const char *text)
{
    for (int s = 0; s < TRIAL_STATE_COUNT; s++)
        if (text && strcmp(text, state_names[s]) == 0)
            return s;
    return -1;
}

int trial_state_finished(int state)
{
    return state == TRIAL_COMPLETE || state == TRIAL_PRUNED || state == TRIAL_FAILED;
}

int trial_init(trial *t, int nparams)
{
    memset(t, 0, sizeof *t);
    t->parent = -1;
    t->value = NAN;
    t->started = t->finished = NAN;
    t->nparams = nparams;
    t->values = malloc((size_t)(nparams > 0 ? nparams : 1) * sizeof *t->values);
    if (!t->values) {
        t->nparams = 0;
        return 1;
    }
    for (int i = 0; i < nparams; i++)
        t->values[i] = NAN;
    return 0;
}

void trial_free(trial *t)
{
    if (!t)
        return;
    free(t->values);
    free(t->steps);
    free(t->inter);
    t->values = NULL;
    t->steps = NULL;
    t->inter = NULL;
    t->nparams = t->nsteps = t->cap_steps = 0;
}

static int reserve(trial *t, int cap)
{
    if (cap <= t->cap_steps)
        return 0;
    int nc = t->cap_steps ? t->cap_steps : 8;
    while (nc < cap)
        nc *= 2;
    int *s = realloc(t->steps, (size_t)nc * sizeof *s);
    if (!s)
        return -1;
    t->steps = s;
    double *v = realloc(t->inter, (size_t)nc * sizeof *v);
    if (!v)
        return -1;
    t->inter = v;
    t->cap_steps = nc;
    return 0;
}

int trial_copy(trial *dst, const trial *src)
{
    *dst = *src;
    dst->values = NULL;
    dst->steps = NULL;
    dst->inter = NULL;
    dst->cap_steps = dst->nsteps = 0;
    dst->values = malloc((size_t)(src->nparams > 0 ? src->nparams : 1) * sizeof(double));
    if (!dst->values || reserve(dst, src->nsteps)) {
        trial_free(dst);
        return -1;
    }
    if (src->nparams)
        memcpy(dst->values, src->values, (size_t)src->nparams * sizeof(double));
    if (src->nsteps) {
        memcpy(dst->steps, src->steps, (size_t)src->nsteps * sizeof(int));
        memcpy(dst->inter, src->inter, (size_t)src->nsteps * sizeof(double));
    }
    dst->nsteps = src->nsteps;
    return 0;
}

int trial_set_inter(trial *t, int step, double value)
{
    for (int k = t->nsteps - 1; k >= 0; k--)
        if (t->steps[k] == step) {
            t->inter[k] = value;
            return 0;
        }
    if (reserve(t, t->nsteps + 1))
        return -1;
    t->steps[t->nsteps] = step;
    t->inter[t->nsteps] = value;
    t->nsteps++;
    return 0;
}

int trial_inter_at(const trial *t, int step, double *value)
{
    for (int k = t->nsteps - 1; k >= 0; k--)
        if (t->steps[k] == step) {
            *value = t->inter[k];
            return 1;
        }
    return 0;
}

int trial_last_step(const trial *t)
{
    int last = -1;
    for (int k = 0; k < t->nsteps; k++)
        if (t->steps[k] > last)
            last = t->steps[k];
    return last;
}
