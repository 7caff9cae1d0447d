/* tests/test_bayes.c: the "bayes" sampler and its engine (hpo/bo.h):
 * finds Branin's minimum, replays by seed, gives parallel workers distinct
 * points, keeps failed trials out of the GP without suggesting them again,
 * wastes no trial on repeated integer/categorical cells, maximizes, and
 * rejects bad options; past PRUNE_MIN_N observations the pruned candidate
 * scoring still ranks the best candidates exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "hpo/bo_internal.h"
#include "hpo/sampler.h"
#include "hpo/sampler_bayes.h"
#include "hpo/study.h"
#include "hpo/benchfn.h"

extern const sampler_vt sampler_bayes_vt;

#define MAXT 64

typedef struct run {
    space sp;
    void *self;
    trial t[MAXT];
    const trial *p[MAXT];
    int n;
} run;

static void run_open(run *R, const bayes_options *opts, uint64_t seed)
{
    tl_err err = {0};
    cr_assert_eq(sampler_bayes_vt.init(&R->self, &R->sp, opts, NULL, seed, &err), 0, "%s", err.msg);
    R->n = 0;
}

static void run_close(run *R)
{
    for (int k = 0; k < R->n; k++)
        trial_free(&R->t[k]);
    sampler_bayes_vt.free(R->self);
    space_free(&R->sp);
}

/* Asks for trial R->n and appends it to the history with `state`. */
static double *ask(run *R, uint64_t seed, int state)
{
    cr_assert(R->n < MAXT);
    trial *t = &R->t[R->n];
    cr_assert_eq(trial_init(t, R->sp.n), 0);
    rng r;
    rng_seed(&r, seed, (uint64_t)R->n);
    tl_err err = {0};
    cr_assert_eq(sampler_bayes_vt.suggest(R->self, &R->sp, R->p, R->n, STUDY_MINIMIZE, R->n, &r,
                                          t->values, &err), 0, "%s", err.msg);
    cr_assert_eq(space_check_values(&R->sp, t->values, &err), 0, "%s", err.msg);
    t->number = R->n;
    t->state = state;
    t->value = NAN;
    R->p[R->n] = t;
    R->n++;
    return t->values;
}

static void branin_space(space *sp)
{
    tl_err err = {0};
    space_init(sp);
    cr_assert_eq(space_add(sp, "x0", "uniform(-5, 10)", &err), 0, "%s", err.msg);
    cr_assert_eq(space_add(sp, "x1", "uniform(0, 15)", &err), 0, "%s", err.msg);
}

/* Runs ntrials sequential trials of the sampler on Branin; returns the
 * regret and copies the values into out (ntrials x 2) when not NULL. */
static double branin_run(const char *acq, uint64_t seed, int ntrials, double *out)
{
    run R;
    branin_space(&R.sp);
    bayes_options cfg;
    bayes_options_default(&cfg);
    snprintf(cfg.acquisition, sizeof cfg.acquisition, "%s", acq);
    cfg.n_init = 0;
    cfg.xi = 0.0; /* a margin in standardized units stops EI short of 1e-3 precision */
    run_open(&R, &cfg, seed);
    double best = INFINITY;
    for (int k = 0; k < ntrials; k++) {
        double *v = ask(&R, seed, TRIAL_COMPLETE);
        R.t[k].value = benchfn_branin(v);
        best = fmin(best, R.t[k].value);
        if (out)
            memcpy(out + 2 * k, v, 2 * sizeof *v);
    }
    run_close(&R);
    return best - benchfn_find("branin")->fstar;
}

Test(bayes, finds_branin_minimum_within_40_trials)
{
    double reg = branin_run("logei", 3, 40, NULL);
    cr_assert(reg < 0.01, "logei regret after 40 trials: %g", reg);
    reg = branin_run("ei", 4, 40, NULL);
    cr_assert(reg < 0.01, "ei regret after 40 trials: %g", reg);
}

Test(bayes, same_seed_same_sequence_other_seed_other_sequence)
{
    double a[14 * 2], b[14 * 2], c[14 * 2];
    branin_run("logei", 7, 14, a); /* 6 design points, 8 from the model */
    branin_run("logei", 7, 14, b);
    branin_run("logei", 8, 14, c);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "same seed gave different suggestions");
    for (int k = 0; k < 14; k++)
        cr_assert(a[2 * k] != c[2 * k] || a[2 * k + 1] != c[2 * k + 1], "seeds 7 and 8 agree at %d", k);
}

Test(bayes, pending_trials_get_distinct_points)
{
    run R;
    branin_space(&R.sp);
    bayes_options cfg;
    bayes_options_default(&cfg);
    cfg.n_init = 0;
    run_open(&R, &cfg, 5);
    for (int k = 0; k < 10; k++) {
        double *v = ask(&R, 5, TRIAL_COMPLETE);
        R.t[k].value = benchfn_branin(v);
    }
    /* four workers ask while the others still run (kriging believer) */
    for (int k = 10; k < 14; k++)
        ask(&R, 5, TRIAL_RUNNING);
    for (int a = 10; a < 14; a++)
        for (int b = 0; b < a; b++) {
            double dx = (R.t[a].values[0] - R.t[b].values[0]) / 15.0;
            double dy = (R.t[a].values[1] - R.t[b].values[1]) / 15.0;
            cr_assert(sqrt(dx * dx + dy * dy) > 1e-3, "trial %d repeats trial %d: (%g, %g)", a, b,
                      R.t[a].values[0], R.t[a].values[1]);
        }
    run_close(&R);
}

Test(bayes, failed_trials_stay_out_of_the_gp_and_are_not_suggested_again)
{
    /* one int in 0..4; 0, 1, 2 completed with 3, 2, 1; 3 failed.  The
     * trend points at 3 and 4: 3 must not come again, so 4 is next. */
    bo_param p = {BO_INT, 5};
    bo_config c;
    bo_config_default(&c);
    c.n_init = 2;
    bo b;
    tl_err err = {0};
    cr_assert_eq(bo_init(&b, 1, &p, &c, 1, &err), 0, "%s", err.msg);
    double U[4] = {0.1, 0.3, 0.5, 0.7}, y[4] = {3, 2, 1, NAN}, u;
    int obs[4] = {BO_OBS_COMPLETE, BO_OBS_COMPLETE, BO_OBS_COMPLETE, BO_OBS_FAILED};
    rng r;
    rng_seed(&r, 1, 4);
    cr_assert_eq(bo_suggest(&b, U, y, obs, 4, 4, &r, &u, &err), 0, "%s", err.msg);
    cr_assert_eq(b.last_phase, 1, "model not used");
    cr_assert_eq(b.g.n, 3, "GP has %d points, want the 3 finite ones", b.g.n);
    cr_assert(fabs(u - 0.9) < 1e-12, "suggested %g, want 0.9 (the value 4)", u);
    /* a COMPLETE row with an infinite value counts as failed too */
    obs[3] = BO_OBS_COMPLETE;
    y[3] = INFINITY;
    cr_assert_eq(bo_suggest(&b, U, y, obs, 4, 4, &r, &u, &err), 0, "%s", err.msg);
    cr_assert_eq(b.g.n, 3);
    cr_assert(fabs(u - 0.9) < 1e-12, "suggested %g", u);
    bo_free(&b);
    bo_free(&b);
    bo_free(NULL);
}

Test(bayes, integer_and_categorical_cells_are_never_repeated)
{
    run R;
    tl_err err = {0};
    space_init(&R.sp);
    cr_assert_eq(space_add(&R.sp, "i", "int(1, 3)", &err), 0, "%s", err.msg);
    cr_assert_eq(space_add(&R.sp, "c", "choice(a, b)", &err), 0, "%s", err.msg);
    cr_assert_eq(space_add(&R.sp, "f", "loguniform(1, 100) if c == b", &err), 0, "%s", err.msg);
    bayes_options cfg;
    bayes_options_default(&cfg);
    cfg.n_init = 3;
    run_open(&R, &cfg, 9);
    /* 3 cells with c == a (f inactive) and 3 rows of cells with c == b */
    int seen_a[4] = {0};
    for (int k = 0; k < 12; k++) {
        double *v = ask(&R, 9, TRIAL_COMPLETE);
        R.t[k].value = (v[0] - 2) * (v[0] - 2) + v[1] + (isnan(v[2]) ? 0 : log(v[2]) * 0.1);
        if (v[1] == 0) {
            cr_assert(isnan(v[2]), "f active while c == a");
            cr_assert_eq(seen_a[(int)v[0]], 0, "cell (i=%g, c=a) suggested twice", v[0]);
            seen_a[(int)v[0]] = 1;
        } else {
            cr_assert(!isnan(v[2]));
        }
        for (int j = 0; j < k; j++)
            cr_assert(!(R.t[j].values[0] == v[0] && R.t[j].values[1] == v[1] &&
                        ((isnan(v[2]) && isnan(R.t[j].values[2])) || R.t[j].values[2] == v[2])),
                      "trial %d repeats trial %d", k, j);
    }
    run_close(&R);
}

Test(bayes, maximizes_when_told)
{
    run R;
    tl_err err = {0};
    space_init(&R.sp);
    cr_assert_eq(space_add(&R.sp, "x", "uniform(0, 1)", &err), 0, "%s", err.msg);
    bayes_options cfg;
    bayes_options_default(&cfg);
    cfg.n_init = 0;
    cfg.xi = 0.0;
    run_open(&R, &cfg, 2);
    double best = -INFINITY;
    const benchfn *fo = benchfn_find("forrester");
    for (int k = 0; k < 15; k++) {
        cr_assert(R.n < MAXT);
        trial *t = &R.t[R.n];
        cr_assert_eq(trial_init(t, 1), 0);
        rng r;
        rng_seed(&r, 2, (uint64_t)k);
        cr_assert_eq(sampler_bayes_vt.suggest(R.self, &R.sp, R.p, R.n, STUDY_MAXIMIZE, k, &r,
                                              t->values, &err), 0, "%s", err.msg);
        t->number = k;
        t->state = TRIAL_COMPLETE;
        t->value = -fo->f(t->values); /* maximize -forrester */
        best = fmax(best, t->value);
        R.p[R.n++] = t;
    }
    cr_assert(-best - fo->fstar < 1e-3, "maximized -forrester to %g, want %g", best, -fo->fstar);
    run_close(&R);
}

Test(bayes, bad_options_are_input_errors)
{
    space sp;
    branin_space(&sp);
    bayes_options cfg;
    bayes_options_default(&cfg);
    void *self = NULL;
    tl_err err = {0};
    snprintf(cfg.acquisition, sizeof cfg.acquisition, "eei");
    cr_assert_eq(sampler_bayes_vt.init(&self, &sp, &cfg, NULL, 1, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "study.acquisition") && strstr(err.msg, "eei"), "%s", err.msg);
    cr_assert_null(self);
    snprintf(cfg.acquisition, sizeof cfg.acquisition, "ucb");
    cfg.beta = -1;
    cr_assert_eq(sampler_bayes_vt.init(&self, &sp, &cfg, NULL, 1, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "study.beta"), "%s", err.msg);
    cfg.beta = 2;
    cfg.n_init = -3;
    cr_assert_eq(sampler_bayes_vt.init(&self, &sp, &cfg, NULL, 1, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "study.n_init"), "%s", err.msg);
    cfg.n_init = 0;
    cr_assert_eq(sampler_bayes_vt.init(&self, &sp, &cfg, NULL, 1, &err), 0, "%s", err.msg);
    sampler_bayes_vt.free(self);
    sampler_bayes_vt.free(NULL);
    /* the engine checks its own arguments */
    bo b;
    bo_param bad = {BO_CAT, 0};
    cr_assert_eq(bo_init(&b, 1, &bad, NULL, 1, &err), TL_EINPUT);
    bo_free(&b);
    space_free(&sp);
}

/* The sampler stores its settings as study attributes itself (for
 * `tunelab report`), at every open, as the options were given; the
 * defaults when the study names bayes without options; nothing for
 * another sampler. */
Test(bayes, writes_its_settings_as_study_attributes_at_open)
{
    char dir[] = "/tmp/tl_bayes_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    space sp;
    branin_space(&sp);
    study_config c;
    study_config_default(&c);
    snprintf(c.sampler, sizeof c.sampler, "bayes");
    bayes_options o;
    bayes_options_default(&o);
    snprintf(o.acquisition, sizeof o.acquisition, "ucb");
    o.xi = 0.125;
    o.beta = 3.25;
    o.n_init = 7;
    struct {
        const char *name;
        const char *sampler;
        const void *opts;
        const char *want[4]; /* acquisition, xi, beta, n_init; NULL: absent */
    } cases[] = { { "given", "bayes", &o, { "ucb", "0.125", "3.25", "7" } },
                  { "dflt", "bayes", NULL, { "logei", "0", "2", "0" } },
                  { "other", "random", NULL, { NULL, NULL, NULL, NULL } } };
    const char *keys[4] = { BAYES_ATTR_ACQUISITION, BAYES_ATTR_XI, BAYES_ATTR_BETA, BAYES_ATTR_N_INIT };
    cr_assert_str_eq(keys[0], "acquisition"); /* the names report/ reads */
    cr_assert_str_eq(keys[1], "xi");
    cr_assert_str_eq(keys[2], "beta");
    cr_assert_str_eq(keys[3], "n_init");
    for (int k = 0; k < 3; k++) {
        snprintf(c.name, sizeof c.name, "%s", cases[k].name);
        snprintf(c.storage, sizeof c.storage, "%s/%s.db", dir, cases[k].name);
        snprintf(c.sampler, sizeof c.sampler, "%s", cases[k].sampler);
        c.sampler_opts = cases[k].opts;
        study *s;
        tl_err err = { 0 };
        cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
        for (int i = 0; i < 4; i++) {
            char buf[64];
            int got = study_attr_get(s, keys[i], buf, sizeof buf);
            if (!cases[k].want[i]) {
                cr_assert_eq(got, 0, "%s: %s = %s", cases[k].name, keys[i], buf);
                continue;
            }
            cr_assert_eq(got, 1, "%s: no attribute %s", cases[k].name, keys[i]);
            cr_assert_str_eq(buf, cases[k].want[i], "%s: %s", cases[k].name, keys[i]);
        }
        study_close(s);
    }
    /* reopened with other options: the attributes follow the open */
    snprintf(c.name, sizeof c.name, "given");
    snprintf(c.storage, sizeof c.storage, "%s/given.db", dir);
    snprintf(c.sampler, sizeof c.sampler, "bayes");
    o.beta = 0.5;
    c.sampler_opts = &o;
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    char buf[64];
    cr_assert_eq(study_attr_get(s, BAYES_ATTR_BETA, buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "0.5");
    study_close(s);
    space_free(&sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* From 256 observations score_raw scores a seed set exactly and lets the
 * other raw candidates stop their variance once their bound cannot reach
 * its n_starts-th best: the candidates it ranks first must be the best by
 * the exact acquisition, with the exact values, and every dropped one
 * must be below the bar. */
Test(bayes, pruned_candidate_scoring_keeps_the_best_candidates_exact)
{
    enum { N = 300, d = 3 };
    bo_param p[d] = {{BO_FLOAT, 0}, {BO_FLOAT, 0}, {BO_FLOAT, 0}};
    bo_config c;
    bo_config_default(&c);
    c.acq = ACQ_EI;
    bo b;
    cr_assert_eq(bo_init(&b, d, p, &c, 3, NULL), 0);
    static double U[(N + 1) * d], y[N + 1];
    int obs[N + 1] = {0};
    rng r;
    rng_seed(&r, 11, 0);
    for (int i = 0; i < N; i++) {
        double *u = U + i * d;
        for (int k = 0; k < d; k++)
            u[k] = rng_uniform(&r);
        y[i] = sin(7 * u[0]) * cos(5 * u[1]) + (u[2] - 0.3) * (u[2] - 0.3);
    }
    cr_assert_eq(bo_suggest(&b, U, y, obs, N, N, &r, U + N * d, NULL), 0);
    cr_assert_eq(b.last_phase, 1);
    cr_assert_gt(b.last_pruned, 0, "nothing was pruned");
    int R = bo_nraw_total(&b);
    double *mu = malloc(sizeof *mu * R), *var = malloc(sizeof *var * R), best = HUGE_VAL;
    gp_predict(&b.g, b.rawe, R, mu, var);
    for (int i = 0; i < b.g.n; i++)
        best = b.g.y[i] < best ? b.g.y[i] : best;
    double bar = b.racq[b.order[c.n_starts - 1]];
    for (int j = 0; j < R; j++) {
        double sd = var[j] > BO_VAR_FLOOR ? sqrt(var[j]) : sqrt(BO_VAR_FLOOR);
        double a = acq_eval(c.acq, mu[j], sd, best, c.xi, c.beta, NULL, NULL);
        if (b.racq[j] == -1e300) /* dropped: could not reach the bar */
            cr_assert_lt(a, bar, "dropped candidate %d has %g >= %g", j, a, bar);
        else
            cr_assert(fabs(b.racq[j] - a) <= 1e-9 * (1 + fabs(a)), "candidate %d: %g vs exact %g",
                      j, b.racq[j], a);
    }
    free(mu);
    free(var);
    bo_free(&b);
}
