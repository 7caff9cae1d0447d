/* bench/bench_hpo.c: simple regret and suggestion overhead of tunelab's
 * samplers on the benchmark functions of hpo/benchfn.h (`make bench-hpo`
 * runs it through scripts/bench_hpo.sh beside Optuna).
 *
 * Every run is a study driven through the ask/tell API (study_open with an
 * SQLite file under --tmp, study_ask, study_tell), minimizing the function
 * over uniform parameters on its domain.  Samplers: random, sobol and
 * bayes with each acquisition (bayes-ei, bayes-logei, bayes-pi, bayes-ucb;
 * n_init automatic, xi = 0 for ei/logei and 0.01 for pi, beta = 2), tpe
 * (Optuna 3.1's defaults), tpe-mv (tpe.multivariate) and cmaes (its
 * defaults: IPOP restarts, sigma0 1/6 of the range).  When
 * the registry does not list a sampler (hpo/sampler.c), it is driven
 * directly through its vtable with the same seeds, and the row says so.
 *
 * Output, tab-separated on stdout (scripts/bench_hpo.sh makes the table):
 *   regret   FUNCTION SAMPLER SEED R25 R50 DRIVER
 *   overhead SAMPLER N MS DRIVER CPU_MS
 * R25/R50: best value after 25/50 trials minus f*.  MS: median wall time
 * of ask + tell over the 20 trials before trial N (hartmann6, seed 0);
 * CPU_MS: the median CPU time of the process (all its threads) over the
 * same trials, steadier than MS on a shared machine.
 * Does not evaluate noisy functions or judge the numbers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpo/sampler.h"
#include "hpo/sampler_bayes.h"
#include "hpo/sampler_tpe.h"
#include "hpo/space.h"
#include "hpo/study.h"
#include "hpo/benchfn.h"
#include "util/timer.h"

extern const sampler_vt sampler_bayes_vt;

/* CPU seconds of the process, all threads. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double *cpu_dt; /* (trials) CPU seconds of each trial's ask + tell, beside dt */

typedef struct samp {
    const char *label, *sampler, *acq;
    double xi;
    int multivariate; /* tpe */
} samp;

static const samp SAMPLERS[] = {
    {"random", "random", "", 0.0},
    {"sobol", "sobol", "", 0.0},
    {"bayes-ei", "bayes", "ei", 0.0},
    {"bayes-logei", "bayes", "logei", 0.0},
    {"bayes-pi", "bayes", "pi", 0.01},
    {"bayes-ucb", "bayes", "ucb", 0.0},
    {"tpe", "tpe", "", 0.0},
    {"tpe-mv", "tpe", "", 0.0, 1},
    {"cmaes", "cmaes", "", 0.0},
};
#define NSAMP ((int)(sizeof SAMPLERS / sizeof SAMPLERS[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_hpo [--seeds N] [--trials N] [--functions LIST] [--samplers LIST]\n"
               "                 [--overhead LIST] [--tmp DIR]\n"
               "  --seeds N         seeds 0..N-1 (default 15; 0: overhead rows only)\n"
               "  --trials N        trials per run (default 50; regret at N/2 and N)\n"
               "  --functions LIST  comma-separated (default branin,hartmann6,rosenbrock4,ackley5)\n"
               "  --samplers LIST   comma-separated labels (default all: random,sobol,bayes-ei,\n"
               "                    bayes-logei,bayes-pi,bayes-ucb,tpe,tpe-mv,cmaes)\n"
               "  --overhead LIST   observation counts for the overhead rows (default 100,300;\n"
               "                    'none' to skip)\n"
               "  --tmp DIR         folder for the study files (default /tmp)\n");
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static void make_space(space *sp, const benchfn *tf)
{
    space_init(sp);
    for (int i = 0; i < tf->dim; i++) {
        char name[16], expr[96];
        snprintf(name, sizeof name, "x%d", i);
        snprintf(expr, sizeof expr, "uniform(%.17g, %.17g)", tf->low[i], tf->high[i]);
        tl_err err;
        if (space_add(sp, name, expr, &err)) {
            fprintf(stderr, "bench_hpo: %s\n", err.msg);
            exit(1);
        }
    }
}

/* Fills cfg and, for the bayes and tpe samplers, their options *bo and
 * *to (which cfg points to: they must outlive study_open). */
static void fill_config(study_config *cfg, bayes_options *bo, tpe_options *to, const samp *s,
                        uint64_t seed, int trials, const char *path)
{
    study_config_default(cfg);
    snprintf(cfg->name, sizeof cfg->name, "bench");
    snprintf(cfg->storage, sizeof cfg->storage, "%s", path);
    snprintf(cfg->sampler, sizeof cfg->sampler, "%s", s->sampler);
    bayes_options_default(bo);
    if (s->acq[0])
        snprintf(bo->acquisition, sizeof bo->acquisition, "%s", s->acq);
    bo->xi = s->xi;
    bo->beta = 2.0;
    bo->n_init = 0;
    if (!strcmp(s->sampler, "bayes"))
        cfg->sampler_opts = bo;
    tpe_options_default(to);
    to->multivariate = s->multivariate;
    if (!strcmp(s->sampler, "tpe"))
        cfg->sampler_opts = to;
    cfg->trials = trials;
    cfg->seed = seed;
    cfg->max_consecutive_failures = 0;
}

static void remove_db(const char *path)
{
    char buf[512];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    unlink(buf);
}

/* One run of `trials` trials; writes each trial's value to f and its ask +
 * tell seconds to dt.  Returns 0 on success, 1 for the direct driver used. */
static int run_one(const benchfn *tf, const samp *s, uint64_t seed, int trials,
                   const char *tmp, double *f, double *dt, int *direct)
{
    space sp;
    make_space(&sp, tf);
    char path[400];
    snprintf(path, sizeof path, "%s/tunelab-bench-hpo-%d.db", tmp, (int)getpid());
    remove_db(path);
    study_config cfg;
    bayes_options bo;
    tpe_options to;
    fill_config(&cfg, &bo, &to, s, seed, trials, path);
    tl_err err = {0};
    *direct = sampler_find(s->sampler) == NULL;
    if (!*direct) {
        study *st;
        if (study_open(&st, &cfg, &sp, &err)) {
            fprintf(stderr, "bench_hpo: %s\n", err.msg);
            exit(1);
        }
        for (int k = 0; k < trials; k++) {
            trial_job job;
            double t0 = tl_now(), c0 = cpu_now();
            if (study_ask(st, &job, &err) || job.kind != JOB_NEW) {
                fprintf(stderr, "bench_hpo: ask: %s\n", err.msg);
                exit(1);
            }
            double t1 = tl_now();
            double c1 = cpu_now();
            f[k] = tf->f(job.values);
            double t2 = tl_now(), c2 = cpu_now();
            if (study_tell(st, job.number, TRIAL_COMPLETE, f[k], NULL, &err)) {
                fprintf(stderr, "bench_hpo: tell: %s\n", err.msg);
                exit(1);
            }
            dt[k] = (t1 - t0) + (tl_now() - t2);
            cpu_dt[k] = (c1 - c0) + (cpu_now() - c2);
        }
        study_close(st);
        remove_db(path);
    } else {
        const sampler_vt *vt = strcmp(s->sampler, "bayes") == 0 ? &sampler_bayes_vt : NULL;
        if (!vt) {
            fprintf(stderr, "bench_hpo: sampler %s is not available\n", s->sampler);
            exit(1);
        }
        void *self = NULL;
        if (vt->init(&self, &sp, &bo, &cfg, seed, &err)) {
            fprintf(stderr, "bench_hpo: %s\n", err.msg);
            exit(1);
        }
        trial *t = calloc((size_t)trials, sizeof *t);
        const trial **p = calloc((size_t)trials, sizeof *p);
        for (int k = 0; k < trials; k++) {
            double t0 = tl_now(), c0 = cpu_now();
            trial_init(&t[k], sp.n);
            rng r;
            rng_seed(&r, seed, (uint64_t)k);
            if (vt->suggest(self, &sp, p, k, STUDY_MINIMIZE, k, &r, t[k].values, &err)) {
                fprintf(stderr, "bench_hpo: %s\n", err.msg);
                exit(1);
            }
            dt[k] = tl_now() - t0;
            cpu_dt[k] = cpu_now() - c0;
            f[k] = tf->f(t[k].values);
            t[k].number = k;
            t[k].state = TRIAL_COMPLETE;
            t[k].value = f[k];
            p[k] = &t[k];
        }
        for (int k = 0; k < trials; k++)
            trial_free(&t[k]);
        free(t);
        free(p);
        vt->free(self);
    }
    space_free(&sp);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int seeds = 15, trials = 50;
    const char *funcs = "branin,hartmann6,rosenbrock4,ackley5", *samplers = NULL;
    const char *overhead = "100,300", *tmp = "/tmp";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        char *end;
        if (strcmp(a, "--seeds") == 0 || strcmp(a, "--trials") == 0) {
            long n = strtol(v, &end, 10);
            if (*end || n < (a[2] == 's' ? 0 : 2) || n > 100000) {
                fprintf(stderr, "bench_hpo: error: %s: not a valid count: '%s'\n", a, v);
                return 2;
            }
            *(a[2] == 's' ? &seeds : &trials) = (int)n;
        } else if (strcmp(a, "--functions") == 0) {
            funcs = v;
        } else if (strcmp(a, "--samplers") == 0) {
            samplers = v;
        } else if (strcmp(a, "--overhead") == 0) {
            overhead = v;
        } else if (strcmp(a, "--tmp") == 0) {
            tmp = v;
        } else {
            fprintf(stderr, "bench_hpo: error: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    int nf;
    const benchfn *all = benchfn_all(&nf);
    for (const char *p = funcs; p && *p;) { /* check the names first */
        const char *e = strchr(p, ',');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
        if (!benchfn_find(name)) {
            fprintf(stderr, "bench_hpo: error: --functions: unknown function '%s'\n", name);
            return 2;
        }
        p = e ? e + 1 : NULL;
    }
    double *f = malloc(sizeof *f * (size_t)(trials > 300 ? trials : 300));
    double *dt = malloc(sizeof *dt * (size_t)(trials > 300 ? trials : 300));
    cpu_dt = malloc(sizeof *cpu_dt * (size_t)(trials > 300 ? trials : 300));
    int half = trials / 2;
    for (int k = 0; k < nf; k++) {
        const benchfn *tf = &all[k];
        if (!in_list(funcs, tf->name))
            continue;
        for (int s = 0; s < NSAMP; s++) {
            if (samplers && !in_list(samplers, SAMPLERS[s].label))
                continue;
            for (int seed = 0; seed < seeds; seed++) {
                int direct;
                run_one(tf, &SAMPLERS[s], (uint64_t)seed, trials, tmp, f, dt, &direct);
                double best = INFINITY, r25 = NAN;
                for (int t = 0; t < trials; t++) {
                    best = fmin(best, f[t]);
                    if (t == half - 1)
                        r25 = best - tf->fstar;
                }
                printf("regret\t%s\t%s\t%d\t%.6g\t%.6g\t%s\n", tf->name, SAMPLERS[s].label, seed,
                       r25, best - tf->fstar, direct ? "direct" : "study");
                fflush(stdout);
            }
        }
    }
    if (strcmp(overhead, "none") != 0) {
        int maxn = 0;
        for (const char *p = overhead; p && *p;) {
            int n = atoi(p);
            maxn = n > maxn ? n : maxn;
            p = strchr(p, ',');
            p = p ? p + 1 : NULL;
        }
            if (maxn > 300) {
            f = realloc(f, sizeof *f * maxn);
            dt = realloc(dt, sizeof *dt * maxn);
            cpu_dt = realloc(cpu_dt, sizeof *cpu_dt * maxn);
        }
        const benchfn *h6 = benchfn_find("hartmann6");
        for (int s = 0; s < NSAMP; s++) {
            if (samplers && !in_list(samplers, SAMPLERS[s].label))
                continue;
            int direct;
            run_one(h6, &SAMPLERS[s], 0, maxn, tmp, f, dt, &direct);
            for (const char *p = overhead; p && *p;) {
                int n = atoi(p);
                int lo = n - 20 < 0 ? 0 : n - 20;
                double w[20], wc[20];
                int m = 0;
                for (int t = lo; t < n; t++, m++) {
                    w[m] = dt[t];
                    wc[m] = cpu_dt[t];
                }
                qsort(w, (size_t)m, sizeof *w, cmp_double);
                qsort(wc, (size_t)m, sizeof *wc, cmp_double);
                printf("overhead\t%s\t%d\t%.3f\t%s\t%.3f\n", SAMPLERS[s].label, n, 1e3 * w[m / 2],
                       direct ? "direct" : "study", 1e3 * wc[m / 2]);
                fflush(stdout);
                p = strchr(p, ',');
                p = p ? p + 1 : NULL;
            }
        }
    }
    free(f);
    free(dt);
    free(cpu_dt);
    return 0;
}
