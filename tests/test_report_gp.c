/* tests/test_report_gp.c: the Bayesian-optimization section of `tunelab
 * report` (report/report_gp.c) and the GP it draws, which is the bayes
 * sampler's own (hpo/bo.h: bo_fit, bo_predict).
 *
 * Each test starts from a small bayes study of Branin (12 trials, 5 of
 * them the Sobol design, EI) written by `tunelab run` (TUNELAB_BIN, else
 * ./tunelab) into a mkdtemp() folder and read back with report_study_load.
 * The numbers are checked through the public API (report_gp_fit,
 * report_gp_predict, bo_lengthscale, and bo_fit / bo_predict against
 * bo_suggest: the fit the report draws is the sampler's, bit for bit, and
 * its acquisition is the one the sampler ranked its candidates by); the
 * figures and the HTML through the binary.  Does not: look inside the PNGs
 * beyond their size.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hpo/acq.h"
#include "hpo/bo.h"
#include "report/report.h"
#include "report/report_gp.h"
#include "tests/report_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"

#define NTRIALS 12
#define NINIT 5

static char dir[64];
static char db[128];
static const char *bin;
static report_study *rs;  /* the study, read back */
static const space *sp;   /* its space: x0, x1 */
static trial *tr[NTRIALS];/* its trials, number order (rs's) */
static int ntr;
static const trial *hist[NTRIALS];

/* Runs `tunelab ARGS`; returns the exit status, stdout and stderr. */
#define tl(out, errout, ...) \
    ru_tl(dir, bin, "NO_COLOR=1 OMP_NUM_THREADS=1", out, errout, __VA_ARGS__)

/* `tunelab run` of Branin in study `name` (sampler and trials given) into
 * DIR/name.db. */
static void run_study(const char *name, const char *sampler, int trials)
{
    char ini[128], *out, *err;
    snprintf(ini, sizeof ini, "%s/%s.ini", dir, name);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f, "[study]\nname = %s\nstorage = %s/%s.db\ntrials = %d\nseed = 5\nsampler = %s\n"
               "acquisition = ei\nn_init = %d\n[objective]\ntype = function\nfunction = branin\n"
               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n",
            name, dir, name, trials, sampler, NINIT);
    fclose(f);
    cr_assert_eq(tl(&out, &err, "run %s --quiet", ini), 0, "%s%s", out, err);
    free(out);
    free(err);
}

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_report_gp");
    snprintf(db, sizeof db, "%s/branin.db", dir);
    bin = ru_bin();
    omp_set_num_threads(1); /* tiny GPs: one thread, the machine is shared */
    run_study("branin", "bayes", NTRIALS);
    tl_err err = {0};
    cr_assert_eq(report_study_load(&rs, db, NULL, &err), 0, "%s", err.msg);
    ntr = rs->ntrials;
    cr_assert_eq(ntr, NTRIALS);
    sp = &rs->sp;
    for (int i = 0; i < ntr; i++) {
        tr[i] = &rs->trials[i].t;
        hist[i] = tr[i];
    }
}

static void teardown(void)
{
    report_study_free(rs);
    tmpdir_remove(dir);
}

TestSuite(report_gp, .init = setup, .fini = teardown, .timeout = 60);

/* Unit coordinates of trial t. */
static void unit_of(const trial *t, double *u)
{
    for (int i = 0; i < sp->n; i++)
        u[i] = space_to_unit(sp, i, t->values[i]);
}

/* m = the report's GP on every trial of the suite's study, with the EI
 * acquisition (whose numbers the tests check against acq_ei and the BO
 * engine); a failed fit fails the test. */
static void fit_all_ei(report_gp_model *m)
{
    report_gp_opts o;
    report_gp_opts_default(&o);
    o.acq = ACQ_EI;
    tl_err err = {0};
    cr_assert_eq(report_gp_fit(m, sp, hist, ntr, STUDY_MINIMIZE, NTRIALS, &o, &err), 0, "%s", err.msg);
}

Test(report_gp, posterior_mean_at_evaluated_points_is_close_to_the_observed_values)
{
    report_gp_model m = {0};
    fit_all_ei(&m);
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (int i = 0; i < ntr; i++) {
        lo = fmin(lo, tr[i]->value);
        hi = fmax(hi, tr[i]->value);
    }
    cr_assert_gt(hi - lo, 10.0, "Branin varies over the design");
    double worst = 0;
    for (int i = 0; i < ntr; i++) {
        double u[2] = {0, 0}, mean, sd;
        unit_of(tr[i], u);
        report_gp_predict(&m, u, 1, &mean, &sd, NULL);
        worst = fmax(worst, fabs(mean - tr[i]->value));
        cr_assert(sd >= 0 && sd < 0.1 * (hi - lo), "trial %d: sd %g at an evaluated point", i, sd);
    }
    cr_assert_lt(worst, 0.01 * (hi - lo), "largest |mean - observed| %g over a range of %g", worst, hi - lo);
    /* away from the data the GP is less sure than at it */
    double far[2] = {0, 0}, mean, sd_far, sd_at, u0[2];
    unit_of(tr[0], u0);
    double best_far = 0;
    for (int a = 0; a <= 10; a++) /* the grid point farthest from every trial */
        for (int b = 0; b <= 10; b++) {
            double p[2] = {a / 10.0, b / 10.0}, dmin = HUGE_VAL;
            for (int i = 0; i < ntr; i++) {
                double u[2] = {0, 0};
                unit_of(tr[i], u);
                dmin = fmin(dmin, hypot(u[0] - p[0], u[1] - p[1]));
            }
            if (dmin > best_far) {
                best_far = dmin;
                far[0] = p[0];
                far[1] = p[1];
            }
        }
    report_gp_predict(&m, far, 1, &mean, &sd_far, NULL);
    report_gp_predict(&m, u0, 1, &mean, &sd_at, NULL);
    cr_assert_gt(sd_far, 10 * sd_at, "sd %g far from the data, %g at trial 0", sd_far, sd_at);
    report_gp_model_free(&m);
}

Test(report_gp, the_model_uses_the_first_k_complete_trials_and_names_the_best_and_the_next)
{
    report_gp_model m = {0};
    tl_err err = {0};
    cr_assert_eq(report_gp_count(hist, ntr), NTRIALS);
    cr_assert_eq(report_gp_fit(&m, sp, hist, ntr, STUDY_MINIMIZE, NINIT, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(m.k, NINIT);
    cr_assert_eq(m.last, NINIT - 1);
    cr_assert_eq(m.next, NINIT, "the trial the sampler suggested after iteration %d", NINIT);
    int best = 0;
    for (int i = 1; i < NINIT; i++)
        if (tr[i]->value < tr[best]->value)
            best = i;
    cr_assert_eq(m.best, best, "best of the first %d: trial %d, model says %d", NINIT, best, m.best);
    for (int j = 0; j < NINIT; j++) {
        cr_assert_eq(m.rows[j], j);
        cr_assert_eq(m.y[j], tr[j]->value);
    }
    cr_assert_eq(m.o.acq, ACQ_LOGEI, "NULL options: the CLI's default acquisition");
    report_gp_model_free(&m);
    report_gp_model_free(&m); /* freeing twice, and NULL, is harmless */
    report_gp_model_free(NULL);
}

Test(report_gp, maximizing_the_negated_objective_gives_the_negated_curve_and_the_same_acquisition)
{
    trial neg[NTRIALS];
    const trial *nh[NTRIALS];
    for (int i = 0; i < ntr; i++) {
        cr_assert_eq(trial_copy(&neg[i], tr[i]), 0);
        neg[i].value = -tr[i]->value;
        nh[i] = &neg[i];
    }
    report_gp_model a = {0}, b = {0};
    tl_err err = {0};
    cr_assert_eq(report_gp_fit(&a, sp, hist, ntr, STUDY_MINIMIZE, 9, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(report_gp_fit(&b, sp, nh, ntr, STUDY_MAXIMIZE, 9, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(a.best, b.best);
    double u[3 * 2] = {0.1, 0.9, 0.5, 0.5, 0.77, 0.2}, ma[3], sa[3], aa[3], mb[3], sb[3], ab[3];
    report_gp_predict(&a, u, 3, ma, sa, aa);
    report_gp_predict(&b, u, 3, mb, sb, ab);
    for (int q = 0; q < 3; q++) {
        cr_assert_float_eq(mb[q], -ma[q], 1e-9 * (1 + fabs(ma[q])), "point %d: %g vs %g", q, mb[q], ma[q]);
        cr_assert_float_eq(sb[q], sa[q], 1e-9 * (1 + sa[q]));
        cr_assert_float_eq(ab[q], aa[q], 1e-9 * (1 + fabs(aa[q])));
    }
    report_gp_model_free(&a);
    report_gp_model_free(&b);
    for (int i = 0; i < ntr; i++)
        trial_free(&neg[i]);
}

Test(report_gp, acquisition_is_the_samplers_on_the_posterior_ei_vanishes_where_already_evaluated)
{
    report_gp_model m = {0};
    fit_all_ei(&m);
    /* EI at a random point equals acq_ei on the posterior in standardized
     * units, the incumbent being the best standardized observation */
    const gp *g = &m.b.g;
    double ybest = HUGE_VAL;
    for (int i = 0; i < g->n; i++)
        ybest = fmin(ybest, g->y[i]);
    cr_assert_eq(g->n, NTRIALS);
    rng r;
    rng_seed(&r, 11, 0);
    double emax = 0;
    for (int q = 0; q < 200; q++) {
        double u[2] = {rng_uniform(&r), rng_uniform(&r)}, mean, sd, ei;
        report_gp_predict(&m, u, 1, &mean, &sd, &ei);
        double mu = (mean - g->ymean) / g->ystd, s = sd / g->ystd;
        if (s > 1e-9)
            cr_assert_float_eq(ei, acq_ei(mu, s, ybest, 0.0), 1e-9 + 1e-6 * ei, "point %d", q);
        cr_assert_geq(ei, 0.0);
        emax = fmax(emax, ei);
    }
    cr_assert_gt(emax, 0.0);
    for (int i = 0; i < ntr; i++) { /* an evaluated point: little to gain there */
        double u[2] = {0, 0}, mean, sd, ei;
        unit_of(tr[i], u);
        report_gp_predict(&m, u, 1, &mean, &sd, &ei);
        cr_assert_lt(ei, 0.5 * emax, "trial %d: EI %g, largest %g", i, ei, emax);
    }
    report_gp_model_free(&m);
}

Test(report_gp, the_shorter_lengthscale_belongs_to_the_parameter_that_matters)
{
    /* f = sin(6 x0) + 0.01 x1 on 25 random points: x0 matters, x1 barely */
    trial t[25];
    const trial *h[25];
    rng r;
    rng_seed(&r, 3, 1);
    for (int i = 0; i < 25; i++) {
        cr_assert_eq(trial_init(&t[i], 2), 0);
        t[i].number = i;
        t[i].state = TRIAL_COMPLETE;
        double u0 = rng_uniform(&r), u1 = rng_uniform(&r);
        t[i].values[0] = space_from_unit(sp, 0, u0);
        t[i].values[1] = space_from_unit(sp, 1, u1);
        t[i].value = sin(6 * u0) + 0.01 * u1;
        h[i] = &t[i];
    }
    report_gp_model m = {0};
    tl_err err = {0};
    cr_assert_eq(report_gp_fit(&m, sp, h, 25, STUDY_MINIMIZE, 25, NULL, &err), 0, "%s", err.msg);
    double l0 = bo_lengthscale(&m.b, 0), l1 = bo_lengthscale(&m.b, 1);
    cr_assert_lt(l0, 0.5 * l1, "lengthscales: x0 %g, x1 %g", l0, l1);
    cr_assert(isnan(bo_lengthscale(&m.b, 2)), "no parameter 2");
    report_gp_model_free(&m);
    for (int i = 0; i < 25; i++)
        trial_free(&t[i]);
}

Test(report_gp, bad_iterations_and_options_are_input_errors)
{
    report_gp_model m = {0};
    tl_err err = {0};
    cr_assert_eq(report_gp_fit(&m, sp, hist, ntr, STUDY_MINIMIZE, 1, NULL, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "needs 2 to 12"), "%s", err.msg);
    report_gp_model_free(&m);
    cr_assert_eq(report_gp_fit(&m, sp, hist, ntr, STUDY_MINIMIZE, NTRIALS + 1, NULL, &err), TL_EINPUT);
    report_gp_model_free(&m);
    report_gp_opts o;
    report_gp_opts_default(&o);
    o.xi = -1;
    cr_assert_eq(report_gp_fit(&m, sp, hist, ntr, STUDY_MINIMIZE, 5, &o, &err), TL_EINPUT);
    report_gp_model_free(&m);
    /* a failed trial is not an observation */
    tr[3]->state = TRIAL_FAILED;
    cr_assert_eq(report_gp_count(hist, ntr), NTRIALS - 1);
    cr_assert_eq(report_gp_fit(&m, sp, hist, ntr, STUDY_MINIMIZE, 4, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(m.rows[3], 4);
    cr_assert_eq(m.last, 4);
    report_gp_model_free(&m);
}

Test(report_gp, axis_maps_the_unit_interval_onto_the_parameter_range)
{
    space s;
    su_space(&s, "lr", "loguniform(1e-4, 1e-1)", "n", "int(2, 5)", NULL);
    cr_assert_float_eq(report_gp_axis(&s, 0, 0), 1e-4, 1e-15);
    cr_assert_float_eq(report_gp_axis(&s, 0, 1), 1e-1, 1e-12);
    cr_assert_float_eq(report_gp_axis(&s, 0, 0.5), sqrt(1e-5), 1e-12);
    cr_assert_float_eq(report_gp_axis(&s, 1, 0), 1.5, 1e-12);
    cr_assert_float_eq(report_gp_axis(&s, 1, 1), 5.5, 1e-12);
    /* an int's value sits at the axis point of its unit coordinate */
    for (int v = 2; v <= 5; v++)
        cr_assert_float_eq(report_gp_axis(&s, 1, space_to_unit(&s, 1, v)), v, 1e-12);
    space_free(&s);
}

/* ---- through the binary ---- */

static long file_size(const char *d, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", d, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Runs `tunelab report study_db -o rep OPTS`, which must succeed, and
 * returns the page it wrote (caller frees). */
static char *report_page(const char *study_db, const char *rep, const char *opts)
{
    char *out, *err, idx[160];
    cr_assert_eq(tl(&out, &err, "report %s -o %s %s", study_db, rep, opts), 0, "%s%s", out, err);
    free(out);
    free(err);
    snprintf(idx, sizeof idx, "%s/index.html", rep);
    char *html = ru_slurp(idx, NULL);
    cr_assert_not_null(html);
    return html;
}

Test(report_gp, report_of_a_bayes_study_has_the_gp_section_and_its_figures)
{
    char rep[128];
    snprintf(rep, sizeof rep, "%s/rep", dir);
    char *html = report_page(db, rep, "");
    cr_assert(strstr(html, "<section id=\"gp\">"), "no GP section");
    cr_assert(strstr(html, "Acquisition: ei, xi = 0, beta = 2."), "settings from the study attributes");
    cr_assert(strstr(html, "<th>lengthscale</th>"));
    /* iterations: the end of the design (5), the middle (8), the last with a next trial (11) */
    const char *figs[] = {"gp_slice_k5.png", "gp_slice_k8.png", "gp_slice_k11.png", "gp_2d_k11.png"};
    for (int k = 0; k < 4; k++) {
        char tag[64];
        snprintf(tag, sizeof tag, "<img src=\"%s\"", figs[k]);
        cr_assert(strstr(html, tag), "index.html does not show %s", figs[k]);
        cr_assert_gt(file_size(rep, figs[k]), 1000, "%s missing or empty", figs[k]);
    }
    cr_assert(strstr(html, "trial 5, the next suggestion"), "iteration 5 marks trial 5");
    free(html);
}

Test(report_gp, gp_param_chooses_the_slice_and_rejects_unknown_or_repeated_names)
{
    char rep[128], *out, *err;
    snprintf(rep, sizeof rep, "%s/rep1", dir);
    char *html = report_page(db, rep, "--gp-param x1");
    cr_assert(strstr(html, "<code>x1</code> (chosen with --gp-param)"), "slice through x1");
    cr_assert(strstr(html, "x1 (x) and x0 (y)"), "2-D slice: x1 first, then the other");
    free(html);
    cr_assert_eq(tl(&out, &err, "report %s -o %s --gp-param=nope", db, rep), 2);
    cr_assert(strstr(err, "--gp-param: nope: no such parameter"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "report %s -o %s --gp-param x0,x0", db, rep), 2);
    cr_assert(strstr(err, "named twice"), "%s", err);
    free(out);
    free(err);
}

Test(report_gp, a_study_of_another_sampler_has_no_gp_section)
{
    run_study("rnd", "random", 4);
    char rep[128], rnd[128];
    snprintf(rep, sizeof rep, "%s/rep2", dir);
    snprintf(rnd, sizeof rnd, "%s/rnd.db", dir);
    char *html = report_page(rnd, rep, "");
    cr_assert(!strstr(html, "id=\"gp\""), "random search has no GP section");
    free(html);
}

/* ---- the report's GP is the sampler's ---- */

/* The engine the bayes sampler makes for this study (EI, xi 0, beta 2). */
static void engine(bo *b)
{
    bo_config c;
    bo_config_default(&c);
    c.acq = ACQ_EI;
    c.n_init = NINIT;
    bo_param p[2] = {{BO_FLOAT, 0}, {BO_FLOAT, 0}};
    tl_err err = {0};
    cr_assert_eq(bo_init(b, 2, p, &c, 5, &err), 0, "%s", err.msg);
}

Test(report_gp, bo_fit_is_the_samplers_fit_bit_for_bit_and_bo_predict_its_acquisition)
{
    double U[NTRIALS * 2], y[NTRIALS], u_next[2];
    int obs[NTRIALS];
    for (int i = 0; i < ntr; i++) {
        unit_of(tr[i], U + 2 * i);
        y[i] = tr[i]->value;
        obs[i] = BO_OBS_COMPLETE;
    }
    /* the sampler suggests trial 12 from the 12 complete trials ... */
    bo s, f;
    engine(&s);
    engine(&f);
    rng r1, r2;
    rng_seed(&r1, 7, 1);
    rng_seed(&r2, 7, 1);
    tl_err err = {0};
    cr_assert_eq(bo_suggest(&s, U, y, obs, ntr, ntr, &r1, u_next, &err), 0, "%s", err.msg);
    cr_assert_eq(s.last_phase, 1, "the suggestion came from the GP");
    /* ... and bo_fit, from the same random state, fits the same GP */
    cr_assert_eq(bo_fit(&f, U, y, ntr, &r2, &err), 0, "%s", err.msg);
    cr_assert_eq(f.g.n, s.g.n);
    cr_assert(!memcmp(f.g.theta, s.g.theta, sizeof *f.g.theta * GP_NTHETA(f.D)),
              "hyperparameters differ from the sampler's");
    cr_assert(f.g.ymean == s.g.ymean && f.g.ystd == s.g.ystd);
    /* the acquisition bo_predict gives at the sampler's raw candidates is
     * the one the sampler ranked them by */
    int R = s.cfg.raw_samples + s.cfg.raw_samples / 8;
    double *cand = malloc(sizeof *cand * 2 * R), *mean = malloc(sizeof *mean * R),
           *sd = malloc(sizeof *sd * R), *acq = malloc(sizeof *acq * R);
    cr_assert(cand && mean && sd && acq);
    memcpy(cand, s.raw, sizeof *cand * 2 * R);
    bo_predict(&f, cand, R, mean, sd, acq);
    int checked = 0;
    for (int j = 0; j < R; j++) {
        if (s.racq[j] <= -1e300) /* non-finite there: the sampler's -1e300 */
            continue;
        cr_assert_float_eq(acq[j], s.racq[j], 1e-12 * (1 + fabs(s.racq[j])), "candidate %d: %.17g vs %.17g",
                           j, acq[j], s.racq[j]);
        cr_assert_float_eq(mean[j], s.g.ymean + s.g.ystd * s.rmu[j], 1e-12 * (1 + fabs(mean[j])));
        cr_assert(sd[j] >= 0);
        checked++;
    }
    cr_assert_gt(checked, R / 2);
    /* the point suggested scores at least as well as every raw candidate */
    double m1, s1, a1;
    bo_predict(&f, u_next, 1, &m1, &s1, &a1);
    for (int j = 0; j < R; j++)
        cr_assert_geq(a1, acq[j] - 1e-9 * (1 + fabs(acq[j])), "candidate %d beats the suggestion", j);
    /* and the report's model is that engine with the sign undone */
    report_gp_model m = {0};
    fit_all_ei(&m);
    double rm[3], rsd[3], ra[3], bm[3], bsd[3], ba[3];
    report_gp_predict(&m, cand, 3, rm, rsd, ra);
    bo_predict(&m.b, cand, 3, bm, bsd, ba);
    for (int q = 0; q < 3; q++)
        cr_assert(rm[q] == bm[q] && rsd[q] == bsd[q] && ra[q] == ba[q], "point %d", q);
    report_gp_model_free(&m);
    free(cand);
    free(mean);
    free(sd);
    free(acq);
    bo_free(&s);
    bo_free(&f);
}
