/* tests/test_tpe_cmaes.c: the tpe and cmaes samplers beyond the contract
 * of tests/test_samplers.c: they find the optimum of a quadratic, a study
 * closed and reopened continues with the very values an uninterrupted one
 * gets, trials asked side by side (parallel workers) get distinct points
 * and TPE's constant liar spreads them, CMA-ES's startup trials are the
 * random sampler's and stay out of its generations, its update equals
 * the cmaes package's (what Optuna drives), and bad options or a
 * space CMA-ES cannot search are config errors naming the key (exit
 * status 2). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo/sampler.h"
#include "hpo/sampler_cmaes.h"
#include "hpo/sampler_tpe.h"
#include "hpo/study.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl-tpecma");

TestSuite(tpe_cmaes, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

static void add(space *sp, const char *name, const char *expr)
{
    tl_err err = { 0 };
    cr_assert_eq(space_add(sp, name, expr, &err), 0, "%s", err.msg);
}

/* (x - 0.3)^2 + (log10(y) + 2)^2 + (k - 7)^2 / 100, minimum 0 at (0.3, 0.01, 7). */
static double quad(const double *v)
{
    double a = v[0] - 0.3, b = log10(v[1]) + 2, c = v[2] - 7;
    return a * a + b * b + c * c / 100;
}

static void quad_space(space *sp)
{
    space_init(sp);
    add(sp, "x", "uniform(-1, 1)");
    add(sp, "y", "loguniform(1e-4, 1)");
    add(sp, "k", "int(0, 20)");
}

static void open_study(study **st, const char *sampler, const void *opts, const char *db, int trials,
                       uint64_t seed, const space *sp)
{
    study_config cfg;
    study_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "t");
    snprintf(cfg.storage, sizeof cfg.storage, "%s/%s", dir, db);
    snprintf(cfg.sampler, sizeof cfg.sampler, "%s", sampler);
    cfg.sampler_opts = opts;
    cfg.trials = trials;
    cfg.seed = seed;
    tl_err err = { 0 };
    cr_assert_eq(study_open(st, &cfg, sp, &err), 0, "%s", err.msg);
}

/* Runs trials until the study's budget is spent; writes every trial's
 * values (3 per trial) into vals at its number, returns the best value. */
static double run_quad(study *st, double *vals)
{
    double best = INFINITY;
    for (;;) {
        trial_job job;
        tl_err err = { 0 };
        cr_assert_eq(study_ask(st, &job, &err), 0, "%s", err.msg);
        if (job.kind == JOB_DONE)
            break;
        cr_assert_eq(job.kind, JOB_NEW);
        memcpy(vals + 3 * job.number, job.values, 3 * sizeof(double));
        double f = quad(job.values);
        best = fmin(best, f);
        cr_assert_eq(study_tell(st, job.number, TRIAL_COMPLETE, f, NULL, &err), 0, "%s", err.msg);
    }
    return best;
}

Test(tpe_cmaes, both_find_the_optimum_of_a_quadratic_far_better_than_random)
{
    const char *names[] = { "tpe", "cmaes", "random" };
    double best[3];
    space sp;
    quad_space(&sp);
    for (int s = 0; s < 3; s++) {
        double sum = 0;
        for (int seed = 0; seed < 3; seed++) {
            char db[32];
            snprintf(db, sizeof db, "q-%s-%d.db", names[s], seed);
            study *st;
            open_study(&st, names[s], NULL, db, 80, (uint64_t)seed, &sp);
            double vals[3 * 80];
            sum += log10(run_quad(st, vals));
            study_close(st);
        }
        best[s] = sum / 3;
    }
    cr_assert(best[0] < -2 && best[1] < -2, "log10 best: tpe %g, cmaes %g", best[0], best[1]);
    cr_assert(best[0] < best[2] - 0.5 && best[1] < best[2] - 0.5,
              "log10 best: tpe %g, cmaes %g, random %g", best[0], best[1], best[2]);
    space_free(&sp);
}

Test(tpe_cmaes, a_study_closed_and_reopened_continues_with_the_same_values)
{
    const char *names[] = { "tpe", "cmaes" };
    tpe_options mv;
    tpe_options_default(&mv);
    mv.multivariate = 1;
    const void *opts[] = { NULL, NULL, &mv };
    space sp;
    quad_space(&sp);
    for (int s = 0; s < 3; s++) {
        const char *name = names[s % 2];
        double once[3 * 45], twice[3 * 45];
        study *st;
        char db[32];
        snprintf(db, sizeof db, "once-%d.db", s);
        open_study(&st, name, opts[s], db, 45, 11, &sp);
        run_quad(st, once);
        study_close(st);
        snprintf(db, sizeof db, "twice-%d.db", s);
        open_study(&st, name, opts[s], db, 20, 11, &sp);
        run_quad(st, twice);
        study_close(st); /* "killed" after 20 trials; the sampler's memory is gone */
        open_study(&st, name, opts[s], db, 45, 11, &sp);
        run_quad(st, twice);
        study_close(st);
        cr_assert(memcmp(once, twice, sizeof once) == 0, "%s (case %d): resumed study differs",
                  name, s);
    }
    space_free(&sp);
}

/* Asks 4 trials at once (4 workers) after 20 complete ones; returns the
 * mean distance between them in x. */
static double four_at_once(const char *name, const void *opts, uint64_t seed, const space *sp)
{
    char db[48];
    snprintf(db, sizeof db, "par-%s-%p-%d.db", name, opts, (int)seed);
    study *st;
    open_study(&st, name, opts, db, 24, seed, sp);
    double vals[3 * 24], x[4];
    for (int k = 0; k < 20; k++) {
        trial_job job;
        tl_err err = { 0 };
        cr_assert_eq(study_ask(st, &job, &err), 0, "%s", err.msg);
        memcpy(vals + 3 * k, job.values, sizeof(double) * 3);
        cr_assert_eq(study_tell(st, job.number, TRIAL_COMPLETE, quad(job.values), NULL, &err), 0);
    }
    for (int w = 0; w < 4; w++) {
        trial_job job;
        tl_err err = { 0 };
        cr_assert_eq(study_ask(st, &job, &err), 0, "%s", err.msg);
        cr_assert_eq(job.kind, JOB_NEW);
        x[w] = job.values[0];
        for (int v = 0; v < w; v++)
            cr_assert(x[v] != x[w], "%s: workers %d and %d got the same point", name, v, w);
    }
    study_close(st);
    double d = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < a; b++)
            d += fabs(x[a] - x[b]) / 6;
    return d;
}

Test(tpe_cmaes, parallel_workers_get_distinct_points_and_the_liar_spreads_them)
{
    space sp;
    quad_space(&sp);
    tpe_options liar, plain;
    tpe_options_default(&liar);
    tpe_options_default(&plain);
    plain.constant_liar = 0;
    double with = 0, without = 0;
    for (uint64_t seed = 0; seed < 6; seed++) {
        with += four_at_once("tpe", &liar, seed, &sp);
        without += four_at_once("tpe", &plain, seed, &sp);
        four_at_once("cmaes", NULL, seed, &sp);
    }
    cr_assert(with > without, "mean spread with the liar %g, without %g", with / 6, without / 6);
    space_free(&sp);
}

/* Runs a quad study of `trials` trials; the value told for trial 0 is
 * quad + shift0.  Writes every trial's values (3 per trial) into vals. */
static void run_shifted(const char *name, const void *opts, const char *db, int trials,
                        double shift0, const space *sp, double *vals)
{
    study *st;
    open_study(&st, name, opts, db, trials, 5, sp);
    for (int k = 0; k < trials; k++) {
        trial_job job;
        tl_err err = { 0 };
        cr_assert_eq(study_ask(st, &job, &err), 0, "%s", err.msg);
        cr_assert_eq(job.kind, JOB_NEW);
        memcpy(vals + 3 * k, job.values, 3 * sizeof(double));
        double f = quad(job.values) + (k == 0 ? shift0 : 0);
        cr_assert_eq(study_tell(st, job.number, TRIAL_COMPLETE, f, NULL, &err), 0, "%s", err.msg);
    }
    study_close(st);
}

/* Optuna's n_startup_trials: the first trials are the random sampler's
 * (same seed, same values), and CMA-ES is told none of them, so what a
 * startup trial scored changes nothing after it; without a startup
 * (cmaes.startup_trials = 0) trial 0 is CMA-ES's and its value counts. */
Test(tpe_cmaes, cmaes_startup_trials_are_random_and_left_out_of_the_generations)
{
    space sp;
    quad_space(&sp);
    cmaes_options three, none;
    cmaes_options_default(&three);
    cmaes_options_default(&none);
    three.startup_trials = 3;
    none.startup_trials = 0;
    enum { N = 24 };
    double rnd[3 * N], a[3 * N], b[3 * N], dflt[3 * N], c[3 * N], d[3 * N];
    run_shifted("random", NULL, "rnd.db", N, 0, &sp, rnd);
    run_shifted("cmaes", &three, "a.db", N, 0, &sp, a);
    run_shifted("cmaes", &three, "b.db", N, -100, &sp, b);
    run_shifted("cmaes", NULL, "dflt.db", N, -100, &sp, dflt);
    run_shifted("cmaes", &none, "c.db", N, 0, &sp, c);
    run_shifted("cmaes", &none, "d.db", N, -100, &sp, d);
    cr_assert(memcmp(a, rnd, 3 * 3 * sizeof(double)) == 0, "startup trials are not random's");
    cr_assert(memcmp(a + 9, rnd + 9, 3 * sizeof(double)) != 0, "trial 3 is still random");
    cr_assert(memcmp(dflt, rnd, 3 * sizeof(double)) == 0, "default: trial 0 is not random's");
    cr_assert(memcmp(dflt + 3, rnd + 3, 3 * sizeof(double)) != 0, "default: trial 1 is random");
    cr_assert(memcmp(a, b, sizeof a) == 0, "a startup trial's value reached CMA-ES");
    cr_assert(memcmp(c, rnd, 3 * sizeof(double)) != 0, "startup_trials 0: trial 0 is random");
    cr_assert(memcmp(c, d, sizeof c) != 0, "startup_trials 0: trial 0's value is not told");
    space_free(&sp);
}

/* Two generations told to CMA-ES over the unit square (popsize 6), after
 * a startup trial with the best value of all: the distribution equals the
 * cmaes package's (0.9.1, what Optuna 3.1 drives), computed with
 * /usr/bin/python3:
 *   cma = CMA(mean=[.5, .5], sigma=1/6, bounds=[[0, 1], [0, 1]])
 *   cma.tell([(x, f(x)) for x in X1]); cma._mean, cma._sigma, cma._C
 * and again after X2, f(x) = (x0 - .3)^2 + 2 (x1 - .8)^2 + .5 x0 x1 (the
 * worse half weighted negatively: active CMA). */
Test(tpe_cmaes, cmaes_update_equals_the_cmaes_packages)
{
    static const double X[12][2] = {
        {0.42, 0.61}, {0.71, 0.38}, {0.55, 0.83}, {0.29, 0.47}, {0.64, 0.66}, {0.36, 0.22},
        {0.31, 0.74}, {0.48, 0.69}, {0.22, 0.81}, {0.40, 0.93}, {0.35, 0.58}, {0.27, 0.66}};
    static const double ref[2][7] = { /* mean, sigma, C */
        {0.39319619880475326, 0.5874053416492404, 0.15587085145633908, 0.9530159117147874,
         -0.12771553808434596, -0.12771553808434596, 0.876035852000733},
        {0.2495306817354605, 0.7783220062812252, 0.20294969956876335, 1.2320014940453803,
         -0.6727510153373102, -0.6727510153373102, 1.2834489092123484}};
    space sp;
    space_init(&sp);
    add(&sp, "a", "uniform(0, 1)");
    add(&sp, "b", "uniform(0, 1)");
    trial t[13];
    const trial *h[13];
    for (int k = 0; k < 13; k++) {
        cr_assert_eq(trial_init(&t[k], 2), 0);
        h[k] = &t[k];
        t[k].number = k;
        t[k].state = TRIAL_COMPLETE;
        const double *x = k ? X[k - 1] : (const double[]){0.9, 0.9}; /* trial 0: the startup */
        memcpy(t[k].values, x, 2 * sizeof(double));
        t[k].value = k ? (x[0] - 0.3) * (x[0] - 0.3) + 2 * (x[1] - 0.8) * (x[1] - 0.8) +
                             0.5 * x[0] * x[1]
                       : -100;
    }
    for (int g = 0; g < 2; g++) {
        double m[2], sigma, C[4];
        int n = 0;
        tl_err err = { 0 };
        cr_assert_eq(cmaes_distribution(&sp, NULL, h, 7 + 6 * g, STUDY_MINIMIZE, m, &sigma, C, &n,
                                        &err), 0, "%s", err.msg);
        cr_assert_eq(n, 2);
        double got[7] = { m[0], m[1], sigma, C[0], C[1], C[2], C[3] };
        for (int i = 0; i < 7; i++)
            cr_assert(fabs(got[i] - ref[g][i]) < 1e-12, "generation %d, item %d: %.17g vs %.17g",
                      g + 1, i, got[i], ref[g][i]);
    }
    for (int k = 0; k < 13; k++)
        trial_free(&t[k]);
    space_free(&sp);
}

Test(tpe_cmaes, bad_options_and_a_categorical_space_name_the_key)
{
    space sp, cat;
    space_init(&sp);
    space_init(&cat);
    add(&sp, "x", "uniform(0, 1)");
    add(&cat, "c", "choice(a, b)");
    add(&cat, "d", "choice(1, 2, 3)");
    tpe_options t[5];
    for (int k = 0; k < 5; k++)
        tpe_options_default(&t[k]);
    t[0].startup_trials = -1;
    t[1].ei_candidates = 0;
    t[2].gamma = 0;
    t[3].gamma_max = 0;
    t[4].prior_weight = 0;
    const char *tkeys[] = { "tpe.startup_trials", "tpe.ei_candidates", "tpe.gamma",
                            "tpe.gamma_max", "tpe.prior_weight" };
    cmaes_options c[5];
    for (int k = 0; k < 5; k++)
        cmaes_options_default(&c[k]);
    c[0].sigma0 = 2;
    c[1].popsize = 1;
    snprintf(c[2].restart, sizeof c[2].restart, "bipop");
    c[3].inc_popsize = 0;
    c[4].startup_trials = -1;
    const char *ckeys[] = { "cmaes.sigma0", "cmaes.popsize", "cmaes.restart", "cmaes.inc_popsize",
                            "cmaes.startup_trials" };
    for (int k = 0; k < 10; k++) {
        const sampler_vt *vt = k < 5 ? &sampler_tpe_vt : &sampler_cmaes_vt;
        const void *o = k < 5 ? (const void *)&t[k] : (const void *)&c[k - 5];
        const char *key = k < 5 ? tkeys[k] : ckeys[k - 5];
        tl_err err = { 0 };
        cr_assert_eq(vt->validate(&sp, o, NULL, &err), TL_EINPUT, "%s", key);
        cr_assert(strstr(err.msg, key), "%s: %s", key, err.msg);
    }
    tl_err err = { 0 };
    cr_assert_eq(sampler_cmaes_vt.validate(&cat, NULL, NULL, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "study.sampler") && strstr(err.msg, "categorical"), "%s", err.msg);
    cr_assert_eq(sampler_tpe_vt.validate(&cat, NULL, NULL, &err), 0, "tpe takes it: %s", err.msg);
    space_free(&sp);
    space_free(&cat);
}

Test(tpe_cmaes, the_command_line_runs_both_and_refuses_bad_input_with_status_2)
{
    cli_write_in(dir, "f.ini", "[objective]\ntype = function\nfunction = branin\n[study]\ntrials = 14\n"
                               "seed = 3\nstorage = f.db\n[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    const char *ok[] = { "run f.ini --set study.sampler=tpe --set tpe.startup_trials=4",
                         "run f.ini --set study.sampler=cmaes --set study.storage=g.db" };
    for (int k = 0; k < 2; k++) {
        cli_out r = cli_run(dir, ok[k]);
        cr_assert_eq(r.status, 0, "%s: %s", ok[k], r.err);
        cli_free(&r);
    }
    struct {
        const char *args, *key;
    } bad[] = {
        { "run f.ini --set study.sampler=tpe --set tpe.ei_candidates=0", "tpe.ei_candidates" },
        { "run f.ini --set study.sampler=tpe --set tpe.prior_weight=0", "tpe.prior_weight" },
        { "run f.ini --set study.sampler=cmaes --set cmaes.popsize=1", "cmaes.popsize" },
        { "run f.ini --set study.sampler=cmaes --set cmaes.sigma0=3", "cmaes.sigma0" },
        { "run f.ini --set study.sampler=cmaes --set cmaes.startup_trials=-1",
          "cmaes.startup_trials" },
        { "run f.ini --set study.sampler=cmaes --set study.storage=c.db "
          "--set 'space.x0=choice(1,2)' --set 'space.x1=choice(a,b)'",
          "study.sampler" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cli_out r = cli_run(dir, bad[k].args);
        cr_assert_eq(r.status, 2, "%s: status %d: %s", bad[k].args, r.status, r.err);
        cr_assert(strstr(r.err, bad[k].key), "%s: %s", bad[k].args, r.err);
        cli_free(&r);
    }
}

/* Optuna's ranking: a complete trial beats every pruned one, whatever
 * the pruned one's intermediate value, so TPE's good set is the best
 * complete trials (here around x = 0.65) and not the pruned trials with
 * lower values (around x = 0.05). */
Test(tpe_cmaes, tpe_ranks_complete_trials_before_pruned_ones)
{
    space sp;
    space_init(&sp);
    add(&sp, "x", "uniform(0, 1)");
    trial t[30];
    const trial *p[30];
    for (int k = 0; k < 30; k++) {
        trial_init(&t[k], 1);
        t[k].number = k;
        p[k] = &t[k];
        if (k % 2 == 0) {
            t[k].values[0] = 0.6 + 0.1 * k / 30;
            t[k].state = TRIAL_COMPLETE;
            t[k].value = 1.0 + 0.01 * k;
        } else {
            t[k].values[0] = 0.1 * k / 30;
            t[k].state = TRIAL_PRUNED;
            cr_assert_eq(trial_set_inter(&t[k], 3, 0.1), 0);
            t[k].value = 0.1;
        }
    }
    void *self;
    tl_err err = { 0 };
    cr_assert_eq(sampler_tpe_vt.init(&self, &sp, NULL, NULL, 1, &err), 0, "%s", err.msg);
    int near_complete = 0;
    for (int k = 0; k < 20; k++) {
        rng r;
        rng_seed(&r, 1, (uint64_t)k);
        double v;
        cr_assert_eq(sampler_tpe_vt.suggest(self, &sp, p, 30, STUDY_MINIMIZE, 30, &r, &v, &err), 0);
        near_complete += v > 0.3;
    }
    cr_assert(near_complete >= 15, "%d of 20 suggestions near the complete trials", near_complete);
    sampler_tpe_vt.free(self);
    for (int k = 0; k < 30; k++)
        trial_free(&t[k]);
    space_free(&sp);
}
