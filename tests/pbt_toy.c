/* tests/pbt_toy.c: the toy problem of Jaderberg et al. 2017 (sec. 4.1,
 * fig. 2) as an objective with a copyable state (tests/pbt_toy.h), for the
 * PBT tests and the experiments/pbt-toy program.
 *
 * Does: one gradient-ascent step on Qhat per budget unit, report Q after
 * each step, obey stop / pause / exploit (copy theta, read the new h), re-read
 * h after every report (so the explore_only ablation takes effect), save and
 * load theta exactly (hex floats), record every point in a trace.  Does not:
 * schedule, print, or use any randomness (the toy is deterministic).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/pbt_toy.h"

#include "hpo/study.h"

typedef struct toy_state {
    double theta[2];
    int step;
} toy_state;

double pbt_toy_q(double theta0, double theta1)
{
    return 1.2 - (theta0 * theta0 + theta1 * theta1);
}

static int trace_add(pbt_toy *toy, int trial, const toy_state *st, const double *h)
{
    pthread_mutex_t *mu = toy->mu;
    pthread_mutex_lock(mu);
    int rc = 0;
    if (toy->ntrace == toy->cap) {
        int nc = toy->cap ? 2 * toy->cap : 256;
        pbt_toy_point *p = realloc(toy->trace, (size_t)nc * sizeof *p);
        if (!p)
            rc = -1;
        else {
            toy->trace = p;
            toy->cap = nc;
        }
    }
    if (!rc)
        toy->trace[toy->ntrace++] = (pbt_toy_point){ trial, st->step, st->theta[0], st->theta[1],
                                                      pbt_toy_q(st->theta[0], st->theta[1]), h[0],
                                                      h[1] };
    pthread_mutex_unlock(mu);
    return rc;
}

/* h0 and h1 from the trial's values (0 where the space lacks one). */
static void read_h(const space *sp, const double *values, double *h)
{
    int i0 = space_find(sp, "h0"), i1 = space_find(sp, "h1");
    h[0] = i0 >= 0 && !isnan(values[i0]) ? values[i0] : 0;
    h[1] = i1 >= 0 && !isnan(values[i1]) ? values[i1] : 0;
}

static int toy_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    pbt_toy *toy = ud;
    toy_state *st = job->obj_state;
    if (!st) {
        st = malloc(sizeof *st);
        if (!st) {
            snprintf(out->reason, sizeof out->reason, "out of memory");
            return 1;
        }
        st->theta[0] = toy->theta0[0];
        st->theta[1] = toy->theta0[1];
        st->step = 0;
    }
    double h[2], vals[SPACE_MAX_PARAMS];
    read_h(job->sp, job->values, h);
    int final = (int)ceil(study_get_config(s)->max_budget - 1e-9);
    int until = (int)ceil(job->budget - 1e-9);
    if (until > final)
        until = final;
    tl_err err = { 0 };
    int dec = DECIDE_CONTINUE;
    while (st->step < until) {
        for (int k = 0; k < 2; k++)
            st->theta[k] += toy->lr * (-2.0 * h[k] * st->theta[k]);
        st->step++;
        double q = pbt_toy_q(st->theta[0], st->theta[1]);
        int src = -1;
        if (trace_add(toy, job->number, st, h) ||
            study_report(s, job->number, st->step, q, st->step, &dec, &src, &err))
            goto fail;
        if (dec == DECIDE_STOP) {
            out->state = TRIAL_PRUNED;
            out->value = q;
            free(st);
            return 0;
        }
        if (dec == DECIDE_EXPLOIT && study_state_copy(s, src, st, &err))
            goto fail;
        if (study_get_values(s, job->number, vals, &err))
            goto fail;
        read_h(job->sp, vals, h);
        if (dec == DECIDE_EXPLOIT && trace_add(toy, job->number, st, h))
            goto fail;
        if (dec == DECIDE_PAUSE || (dec == DECIDE_EXPLOIT && st->step >= until))
            break;
    }
    out->value = pbt_toy_q(st->theta[0], st->theta[1]);
    if (st->step >= final) {
        out->state = TRIAL_COMPLETE;
        free(st);
    } else {
        out->state = TRIAL_PAUSED;
        out->obj_state = st;
    }
    return 0;
fail:
    snprintf(out->reason, sizeof out->reason, "%.250s", err.msg[0] ? err.msg : "out of memory");
    free(st);
    return 1;
}

static void toy_state_free(void *ud, void *state)
{
    free(state);
}

static int toy_state_copy(void *ud, void *dst, const void *src)
{
    memcpy(dst, src, sizeof(toy_state));
    return 0;
}

static int toy_state_save(void *ud, const void *state, const char *path, tl_err *err)
{
    const toy_state *st = state;
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write", tmp);
    int ok = fprintf(f, "pbt-toy 1 %a %a %d\n", st->theta[0], st->theta[1], st->step) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write", path);
    }
    return 0;
}

static int toy_state_load(void *ud, void **state, const char *path, tl_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot read", path);
    toy_state st;
    int version = 0;
    int n = fscanf(f, "pbt-toy %d %la %la %d", &version, &st.theta[0], &st.theta[1], &st.step);
    fclose(f);
    if (n != 4 || version != 1 || st.step < 0)
        return tl_fail(err, TL_EINPUT, "%s: not a pbt-toy state (version 1)", path);
    toy_state *p = malloc(sizeof *p);
    if (!p)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    *p = st;
    *state = p;
    return 0;
}

int pbt_toy_init(pbt_toy *toy, objective *obj, tl_err *err)
{
    memset(toy, 0, sizeof *toy);
    toy->lr = 0.01;
    toy->theta0[0] = toy->theta0[1] = 0.9;
    pthread_mutex_t *mu = malloc(sizeof *mu);
    if (!mu || pthread_mutex_init(mu, NULL)) {
        free(mu);
        return tl_fail(err, TL_ERUNTIME, "pbt toy: out of memory");
    }
    toy->mu = mu;
    *obj = (objective){ .ud = toy,
                        .run = toy_run,
                        .state_free = toy_state_free,
                        .state_copy = toy_state_copy,
                        .state_save = toy_state_save,
                        .state_load = toy_state_load };
    return 0;
}

void pbt_toy_free(pbt_toy *toy)
{
    if (!toy)
        return;
    if (toy->mu) {
        pthread_mutex_destroy(toy->mu);
        free(toy->mu);
    }
    free(toy->trace);
    toy->trace = NULL;
    toy->mu = NULL;
    toy->ntrace = toy->cap = 0;
}
