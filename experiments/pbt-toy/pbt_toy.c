/* experiments/pbt-toy/pbt_toy.c: Jaderberg et al. 2017, sec. 4.1, fig. 2,
 * through tunelab's PBT scheduler.
 *
 * Runs four studies of the toy problem (tests/pbt_toy.h: theta in R^2, Q = 1.2 -
 * |theta|^2, gradient ascent on Qhat(theta|h), two members starting at
 * theta = (0.9, 0.9) with h = (1, 0) and (0, 1)): PBT, explore only, exploit
 * only, and grid search (the same two members, fixed h, no PBT).  Prints the
 * best member's final Q for each, and writes each run's trace (every step of
 * every member, and the jump of each exploit) to OUT/<variant>.dat for
 * gnuplot.  Does not plot (scripts/exp_pbt.sh does).
 *
 *   build: cc -O2 -I. experiments/pbt-toy/pbt_toy.c tests/pbt_toy.c build/libtunelab.a ...
 *          (scripts/exp_pbt.sh)
 *   run:   pbt_toy [--steps 50] [--interval 4] [--lr 0.01] [--hmax 4] [--resample 0.25]
 *                  [--keep-values] [--seeds 10] [--out DIR]
 * h0, h1 range over uniform(0, hmax); --keep-values makes an exploiting
 * member copy theta only and keep its own h (pbt.keep_values).  The
 * defaults are those of the PBT test (tests/test_pbt.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/pbt.h"
#include "tests/pbt_toy.h"

static const char *const VARIANTS[] = { "pbt", "explore_only", "exploit_only", "grid" };

typedef struct opts {
    int steps, interval, seeds, keep_values;
    double lr, hmax, resample;
    const char *out;
} opts;

/* Runs one variant with study seed `seed`; fills *best (best final Q) and,
 * when path is set, writes the trace.  Returns 0 or a tl_code. */
static int run_variant(const opts *o, int v, unsigned seed, const char *dbdir, const char *path,
                       double *best, tl_err *err)
{
    space sp;
    space_init(&sp);
    int rc;
    char hx[64];
    snprintf(hx, sizeof hx, "uniform(0, %.17g)", o->hmax);
    if ((rc = space_add(&sp, "h0", hx, err)) || (rc = space_add(&sp, "h1", hx, err)))
        return rc;
    study_config c;
    study_config_default(&c);
    snprintf(c.name, sizeof c.name, "toy-%s-%u", VARIANTS[v], seed);
    snprintf(c.storage, sizeof c.storage, "%s/%s.db", dbdir, c.name);
    remove(c.storage);
    c.trials = 2;
    c.seed = seed;
    c.direction = STUDY_MAXIMIZE;
    c.max_budget = o->steps;
    snprintf(c.scheduler, sizeof c.scheduler, "%s", v == 3 ? "fifo" : "pbt");
    pbt_options po;
    pbt_options_default(&po);
    po.population = 2;
    po.interval = o->interval;
    po.quantile = 0.5;
    po.sync = 1;
    po.resample_probability = o->resample;
    if (v != 3)
        c.scheduler_opts = &po;
    study *s = NULL;
    pbt_toy toy;
    objective obj;
    if ((rc = study_open(&s, &c, &sp, err)) || (rc = pbt_toy_init(&toy, &obj, err))) {
        study_close(s);
        space_free(&sp);
        return rc;
    }
    toy.lr = o->lr;
    double h[2][2] = { { 1, 0 }, { 0, 1 } };
    for (int k = 0; k < 2 && !rc; k++)
        rc = study_enqueue(s, h[k], NULL, err);
    if (!rc && v < 3)
        rc = study_attr_set(s, PBT_ATTR_LIVE, "*", err);
    if (!rc && v < 3)
        rc = study_attr_set(s, PBT_ATTR_MODE, VARIANTS[v], err);
    if (!rc && v < 3 && o->keep_values)
        rc = study_attr_set(s, PBT_ATTR_KEEP_VALUES, "1", err);
    if (!rc)
        rc = study_optimize(s, &obj, 1, NULL, NULL, err);
    if (!rc && !study_best(s, NULL, best))
        rc = tl_fail(err, TL_ERUNTIME, "%s: no member completed", c.name);
    if (!rc && path) {
        FILE *f = fopen(path, "w");
        if (!f) {
            rc = tl_fail(err, TL_ERUNTIME, "%s: %s", path, strerror(errno));
        } else {
            fprintf(f, "# %s: member step theta0 theta1 Q h0 h1\n", VARIANTS[v]);
            for (int m = 0; m < 2; m++) {
                for (int i = 0; i < toy.ntrace; i++) {
                    const pbt_toy_point *p = &toy.trace[i];
                    if (p->trial == m)
                        fprintf(f, "%d %d %.9g %.9g %.9g %.6g %.6g\n", p->trial, p->step,
                                p->theta0, p->theta1, p->q, p->h0, p->h1);
                }
                fprintf(f, "\n\n");
            }
            fclose(f);
        }
    }
    pbt_toy_free(&toy);
    study_close(s);
    space_free(&sp);
    return rc;
}

static int arg_int(const char *s, int lo, int *out)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (*e || e == s || v < lo || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* A number in (lo, hi]; 0 or -1. */
static int arg_dbl(const char *s, double lo, double hi, double *out)
{
    char *e;
    double v = strtod(s, &e);
    if (*e || e == s || !(v > lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    opts o = { .steps = 50, .interval = 4, .seeds = 10, .lr = 0.01, .hmax = 4, .resample = 0.25 };
    for (int i = 1; i < argc; i++) {
        int bad = i + 1 >= argc;
        if (!bad && !strcmp(argv[i], "--steps"))
            bad = arg_int(argv[++i], 2, &o.steps);
        else if (!bad && !strcmp(argv[i], "--interval"))
            bad = arg_int(argv[++i], 1, &o.interval);
        else if (!bad && !strcmp(argv[i], "--seeds"))
            bad = arg_int(argv[++i], 1, &o.seeds);
        else if (!bad && !strcmp(argv[i], "--lr"))
            bad = arg_dbl(argv[++i], 0, 1, &o.lr);
        else if (!bad && !strcmp(argv[i], "--hmax"))
            bad = arg_dbl(argv[++i], 0, 1e3, &o.hmax);
        else if (!bad && !strcmp(argv[i], "--resample"))
            bad = arg_dbl(argv[++i], -1e-300, 1, &o.resample);
        else if (!strcmp(argv[i], "--keep-values"))
            bad = 0, o.keep_values = 1;
        else if (!bad && !strcmp(argv[i], "--out"))
            o.out = argv[++i];
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "usage: pbt_toy [--steps 50] [--interval 4] [--lr 0.01] [--hmax 4] "
                            "[--resample 0.25] [--keep-values] [--seeds 10] [--out DIR]\n");
            return 2;
        }
    }
    char tmp[] = "/tmp/pbt_toy_XXXXXX";
    const char *dbdir = o.out;
    if (!dbdir && !(dbdir = mkdtemp(tmp))) {
        perror("mkdtemp");
        return 1;
    }
    if (o.out && mkdir(o.out, 0777) && errno != EEXIST) {
        perror(o.out);
        return 1;
    }
    printf("toy: %d steps, ready every %d, lr %g, h in [0, %g], resample %g, exploit copies %s; "
           "%d seed(s)\nbest member's final Q (the maximum is 1.2):\n", o.steps, o.interval, o.lr,
           o.hmax, o.resample, o.keep_values ? "theta only" : "theta and h", o.seeds);
    printf("%-14s %10s %10s %10s\n", "variant", "mean Q", "min Q", "max Q");
    for (int v = 0; v < 4; v++) {
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (int sd = 1; sd <= o.seeds; sd++) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s.dat", dbdir, VARIANTS[v]);
            double q = NAN;
            tl_err err = { 0 };
            if (run_variant(&o, v, (unsigned)sd, dbdir, o.out && sd == 1 ? path : NULL, &q,
                            &err)) {
                fprintf(stderr, "pbt_toy: error: %s\n", err.msg);
                return 1;
            }
            sum += q;
            lo = q < lo ? q : lo;
            hi = q > hi ? q : hi;
        }
        printf("%-14s %10.6f %10.6f %10.6f\n", VARIANTS[v], sum / o.seeds, lo, hi);
    }
    if (!o.out) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbdir);
        if (system(cmd) != 0)
            fprintf(stderr, "pbt_toy: could not remove %s\n", dbdir);
    }
    return 0;
}
