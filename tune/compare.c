/* tune/compare.c: `tunelab compare`'s runs (see compare.h): the method
 * table, the checks before anything runs, the folder's definition, one
 * study per method x seed with its report log, and reading them back into
 * report/report_compare.h's input. */
#include "tune/compare.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hpo/sched_halving.h"
#include "report/report.h"
#include "tune/nas.h"
#include "tune/study_setup.h"

typedef struct method {
    const char *name, *sampler, *scheduler;
} method;

static const method METHODS[] = {
    { "random", "random", "fifo" },       { "sobol", "sobol", "fifo" },   { "grid", "grid", "fifo" },
    { "bayes", "bayes", "fifo" },         { "tpe", "tpe", "fifo" },       { "cmaes", "cmaes", "fifo" },
    { "median", "random", "median" },     { "sha", "random", "sha" },     { "hyperband", "random", "hyperband" },
    { "asha", "random", "asha" },         { "bohb", "bayes", "hyperband" }, { "pbt", "random", "pbt" },
    { "evolution", "evolution", "fifo" },
};
#define NMETHODS (int)(sizeof METHODS / sizeof METHODS[0])

/* Keys that make a space an architecture space (as tune/nas.c reads them). */
static int is_shape_key(const char *name)
{
    static const char *const keys[] = { "model.layers", "model.heads", "model.d_model",
                                        "model.mlp_ratio", "model.ctx", "model.hidden" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(name, keys[i]))
            return 1;
    return !strncmp(name, "model.width", 11) && isdigit((unsigned char)name[11]);
}

int compare_method_algos(const char *name, const char **sampler, const char **scheduler)
{
    for (int i = 0; i < NMETHODS; i++)
        if (!strcmp(name, METHODS[i].name)) {
            *sampler = METHODS[i].sampler;
            *scheduler = METHODS[i].scheduler;
            return 0;
        }
    return -1;
}

int compare_parse_methods(compare_opts *o, const char *list, tl_err *err)
{
    char avail[400] = "";
    for (int i = 0; i < NMETHODS; i++)
        snprintf(avail + strlen(avail), sizeof avail - strlen(avail), "%s%s", i ? ", " : "", METHODS[i].name);
    o->nmethods = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), p);
        char *s = name, *e = name + strlen(name);
        while (*s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            *--e = 0;
        const char *smp, *sch;
        if (!*s)
            return tl_fail(err, TL_EINPUT, "--methods: an empty name in '%s'", list);
        if (compare_method_algos(s, &smp, &sch))
            return tl_fail(err, TL_EINPUT, "--methods: unknown method '%s' (available: %s)", s, avail);
        for (int k = 0; k < o->nmethods; k++)
            if (!strcmp(o->methods[k], s))
                return tl_fail(err, TL_EINPUT, "--methods: method '%s' is listed twice", s);
        if (o->nmethods >= COMPARE_MAX_METHODS)
            return tl_fail(err, TL_EINPUT, "--methods: at most %d methods", COMPARE_MAX_METHODS);
        snprintf(o->methods[o->nmethods++], sizeof o->methods[0], "%s", s);
        p += n;
        if (*p == ',')
            p++;
    }
    if (o->nmethods == 0)
        return tl_fail(err, TL_EINPUT, "--methods: no method given (available: %s)", avail);
    return 0;
}

long compare_sha_trials(double budget, double min_budget, double max_budget, double eta)
{
    int s = halving_s_max(min_budget, max_budget, eta);
    if (s < 0)
        return 1;
    long best = 1;
    for (long n = 1; n < 100000; n++) {
        long nn[HALVING_MAX_RUNGS];
        double r[HALVING_MAX_RUNGS], cost = 0, prev = 0;
        int k = halving_bracket(s, s, eta, max_budget, n, nn, r);
        for (int i = 0; i < k; i++) {
            cost += (double)nn[i] * (ceil(r[i] - 1e-9) - prev);
            prev = ceil(r[i] - 1e-9);
        }
        if (cost > budget + 1e-9)
            break;
        best = n;
    }
    return best;
}

/* One method's config: base with its sampler and scheduler (and grid
 * points when given). */
static int method_config(const config *base, const compare_opts *o, const char *name, config *c, tl_err *err)
{
    const char *smp, *sch;
    if (compare_method_algos(name, &smp, &sch))
        return tl_fail(err, TL_EINPUT, "--methods: unknown method '%s'", name);
    *c = *base;
    int rc;
    char where[64];
    snprintf(where, sizeof where, "method '%s'", name);
    if ((rc = config_set(c, "study.sampler", smp, where, err)) ||
        (rc = config_set(c, "study.scheduler", sch, where, err)))
        return rc;
    if (o->grid_points > 0)
        c->grid_points = o->grid_points;
    return 0;
}

/* The smallest trial of a method, in epochs (the budget must hold it). */
static double smallest_trial(const study_config *sc, const tune_algo_options *opts)
{
    if (!strcmp(sc->scheduler, "sha") || !strcmp(sc->scheduler, "hyperband") || !strcmp(sc->scheduler, "asha")) {
        int s = halving_s_max(sc->min_budget, sc->max_budget, opts->halving.eta);
        return s < 0 ? sc->max_budget : ceil(sc->max_budget * pow(opts->halving.eta, -s) - 1e-9);
    }
    if (!strcmp(sc->scheduler, "pbt"))
        return opts->pbt.interval < sc->max_budget ? opts->pbt.interval : sc->max_budget;
    return ceil(sc->max_budget - 1e-9);
}

int compare_check(const config *base, const compare_opts *o, tl_err *err)
{
    if (o->nseeds < 1)
        return tl_fail(err, TL_EINPUT, "--seeds: must be >= 1, got %d", o->nseeds);
    if (!(o->budget > 0) || !isfinite(o->budget))
        return tl_fail(err, TL_EINPUT, "--budget: must be > 0, got %g", o->budget);
    if (o->unit == CMP_TRIALS && o->budget != floor(o->budget))
        return tl_fail(err, TL_EINPUT, "--budget: a whole number of trials, got %g", o->budget);
    space sp;
    int rc = tune_space_from_config(base, &sp, err);
    if (!rc && sp.n == 0)
        rc = tl_fail(err, TL_EINPUT, "%s: [space]: no parameters to tune", base->source);
    for (int m = 0; !rc && m < o->nmethods; m++) {
        const char *name = o->methods[m];
        config c;
        if ((rc = method_config(base, o, name, &c, err)))
            break;
        if (!strcmp(name, "grid") && o->grid_points <= 0)
            for (int i = 0; i < sp.n && !rc; i++)
                if (sp.p[i].kind == PARAM_FLOAT)
                    rc = tl_fail(err, TL_EINPUT,
                                 "method 'grid': %s is a continuous range and no grid points were given "
                                 "(pass --grid-points N, or leave grid out)",
                                 sp.p[i].name);
        if (!rc && !strcmp(name, "evolution")) {
            int arch = 0;
            for (int i = 0; i < sp.n; i++)
                arch |= is_shape_key(sp.p[i].name);
            if (!arch)
                rc = tl_fail(err, TL_EINPUT,
                             "method 'evolution': needs an architecture space (model.layers, model.hidden, "
                             "model.widthN, model.heads, model.d_model, ...); %s has none",
                             base->source);
        }
        if (rc)
            break;
        study_config sc;
        tune_algo_options opts;
        tune_study_config(&c, &sc, &opts);
        if ((rc = study_validate(&sc, &sp, err))) {
            tl_prefix(err, "method '%s'", name);
            break;
        }
        double need = smallest_trial(&sc, &opts);
        if (o->unit == CMP_EPOCHS && o->budget < need)
            rc = tl_fail(err, TL_EINPUT,
                         "method '%s': --budget %g epochs is less than one trial (%g epochs); raise --budget",
                         name, o->budget, need);
        if (!rc && o->unit == CMP_TRIALS && !strcmp(sc.scheduler, "pbt") && o->budget < 2)
            rc = tl_fail(err, TL_EINPUT, "method 'pbt': --budget %g trials is less than a population of 2",
                         o->budget);
    }
    space_free(&sp);
    return rc;
}

/* ---- the folder's definition ---- */

static char *definition_text(const config *base, const compare_opts *o)
{
    config c = *base;
    snprintf(c.study_name, sizeof c.study_name, "compare");
    snprintf(c.storage, sizeof c.storage, "compare");
    char *ini = config_to_string(&c);
    if (!ini)
        return NULL;
    size_t n = strlen(ini) + 200;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s[compare]\nunit = %s\nbudget = %.17g\ngrid_points = %d\n", ini, cmp_unit_str(o->unit),
                 o->budget, o->grid_points);
    free(ini);
    return t;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? 2 * cap : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        buf[len++] = (char)ch;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = 0;
    return buf;
}

/* Line k (0-based) of text into buf ("" past the end). */
static void line_of(const char *text, int k, char *buf, size_t n)
{
    const char *p = text;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p || !*p) {
        snprintf(buf, n, "(none)");
        return;
    }
    size_t l = strcspn(p, "\n");
    snprintf(buf, n, "%.*s", (int)(l < n - 1 ? l : n - 1), p);
}

static int check_definition(const config *base, const compare_opts *o, tl_err *err)
{
    if (mkdir(o->dir, 0777) && errno != EEXIST)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot create the folder: %s", o->dir, strerror(errno));
    char path[600];
    snprintf(path, sizeof path, "%s/compare.def", o->dir);
    char *now = definition_text(base, o);
    if (!now)
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    char *stored = slurp(path);
    int rc = 0;
    if (stored && strcmp(stored, now)) {
        int k = 0;
        char a[200], b[200];
        for (;; k++) {
            line_of(stored, k, a, sizeof a);
            line_of(now, k, b, sizeof b);
            if (strcmp(a, b))
                break;
        }
        rc = tl_fail(err, TL_EINPUT,
                     "%s: made with another config or budget (%s, line %d: stored '%s', now '%s'); use another "
                     "-o DIR, or the config and budget it was made with",
                     o->dir, path, k + 1, a, b);
    } else if (!stored) {
        /* a temporary file renamed into place: two compares starting in one
         * folder never read a half-written definition */
        char tmp[640];
        snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(now, f) < 0)
            rc = tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", tmp, strerror(errno));
        if (f && fclose(f) && !rc)
            rc = tl_fail(err, TL_ERUNTIME, "%s: cannot write", tmp);
        if (!rc && rename(tmp, path))
            rc = tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
        if (rc)
            remove(tmp);
    }
    free(stored);
    free(now);
    return rc;
}

/* ---- one run ---- */

typedef struct run_ctx {
    FILE *log;
    double epochs;       /* reports logged */
    double sec0;         /* seconds logged by earlier processes */
    double t0;           /* this process's start of the run */
    int maxtrial;
    compare_progress_fn fn;
    void *ud;
    const char *method;
    int seed_index;
} run_ctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_event(void *ud, const study_event *ev)
{
    run_ctx *r = ud;
    if (ev->kind == STUDY_EV_STARTED && ev->trial + 1 > r->maxtrial)
        r->maxtrial = ev->trial + 1;
    if (ev->kind == STUDY_EV_REPORT && r->log) {
        r->epochs += 1;
        fprintf(r->log, "%.0f %.3f %d %d %d %.17g\n", r->epochs, r->sec0 + now_s() - r->t0, ev->trial, ev->step,
                r->maxtrial, ev->value);
        fflush(r->log);
    }
    if (r->fn)
        r->fn(r->ud, r->method, r->seed_index, 0, ev);
}

/* Keeps the first `keep` lines of the log at path (the reports the study
 * kept) and returns the last kept line's seconds and trials in *sec and
 * *trials.  Returns 0 or TL_ERUNTIME. */
static int log_cut(const char *path, long keep, double *sec, int *trials, tl_err *err)
{
    *sec = 0;
    *trials = 0;
    char *text = slurp(path);
    if (!text)
        return 0;
    const char *p = text;
    long k = 0;
    while (k < keep && *p) {
        double e, s, v;
        int t, st, nt;
        if (sscanf(p, "%lf %lf %d %d %d %lf", &e, &s, &t, &st, &nt, &v) == 6) {
            *sec = s;
            *trials = nt;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
        k++;
    }
    size_t len = (size_t)(p - text);
    int rc = 0;
    if (text[len]) {
        FILE *f = fopen(path, "w");
        if (!f || fwrite(text, 1, len, f) != len)
            rc = tl_fail(err, TL_ERUNTIME, "%s: cannot rewrite: %s", path, strerror(errno));
        if (f)
            fclose(f);
    }
    free(text);
    return rc;
}

static void run_paths(const compare_opts *o, const char *method, int k, char *db, char *log, char *name, size_t n)
{
    snprintf(name, 64, "%s-s%d", method, k);
    snprintf(db, n, "%s/%s.db", o->dir, name);
    snprintf(log, n, "%s/%s.log", o->dir, name);
}

/* Runs (or resumes, or skips when finished) method m, seed index k; the
 * caller holds the run's lock. */
static int run_locked(const config *base, const compare_opts *o, int m, int k, tune_objective *obj,
                      compare_progress_fn fn, void *ud, tl_err *err)
{
    const char *mname = o->methods[m];
    char db[700], logp[700], name[64];
    run_paths(o, mname, k, db, logp, name, sizeof db);
    if (access(db, F_OK) == 0) {
        report_study *rs = NULL;
        if (!report_study_load(&rs, db, name, NULL)) {
            const char *done = report_study_attr(rs, "compare_done");
            int skip = done && !strcmp(done, "1");
            report_study_free(rs);
            if (skip) {
                if (fn)
                    fn(ud, mname, k, 1, NULL);
                return 0;
            }
        }
    }
    if (fn)
        fn(ud, mname, k, 0, NULL);
    config c;
    int rc;
    if ((rc = method_config(base, o, mname, &c, err)))
        return rc;
    snprintf(c.study_name, sizeof c.study_name, "%s", name);
    snprintf(c.storage, sizeof c.storage, "%.500s", db);
    c.study_seed = base->study_seed + (uint64_t)k;
    c.workers = 1;
    space sp;
    if ((rc = tune_space_from_config(&c, &sp, err))) {
        space_free(&sp);
        return rc;
    }
    study_config sc;
    tune_algo_options opts;
    tune_study_config(&c, &sc, &opts);
    sc.workers = 1;
    if (o->unit == CMP_EPOCHS) {
        sc.max_reports = o->budget;
        sc.trials = !strcmp(sc.scheduler, "sha") ? (int)compare_sha_trials(o->budget, sc.min_budget,
                                                                           sc.max_budget, opts.halving.eta)
                                                 : 10000000;
    } else if (o->unit == CMP_SECONDS) {
        sc.max_seconds = o->budget;
        if (strcmp(sc.scheduler, "sha"))
            sc.trials = 10000000;
    } else {
        sc.trials = (int)o->budget;
    }
    if (!strcmp(sc.scheduler, "pbt") && sc.trials > opts.pbt.population)
        sc.trials = opts.pbt.population;
    nas_ctx nas;
    study *st = NULL;
    run_ctx r = { .fn = fn, .ud = ud, .method = mname, .seed_index = k };
    if ((rc = nas_setup(&nas, &c, obj->kind == TUNE_OBJECTIVE_TRAIN ? &obj->data : NULL, &sp, &sc, err)) ||
        (rc = study_open(&st, &sc, &sp, err))) {
        tl_prefix(err, "%s", db);
        space_free(&sp);
        return rc;
    }
    study_attr_set(st, "sampler", sc.sampler, NULL);
    study_attr_set(st, "scheduler", sc.scheduler, NULL);
    study_attr_set(st, "objective", c.objective_type, NULL);
    study_attr_set(st, "compare_method", mname, NULL);
    if (c.source[0]) {
        char *abs = realpath(c.source, NULL);
        study_attr_set(st, "config", abs ? abs : c.source, NULL);
        free(abs);
    }
    if ((rc = log_cut(logp, study_reports_used(st), &r.sec0, &r.maxtrial, err)))
        goto done;
    r.epochs = (double)study_reports_used(st);
    r.log = fopen(logp, "a");
    if (!r.log) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", logp, strerror(errno));
        goto done;
    }
    r.t0 = now_s();
    {
        int cnt[TRIAL_STATE_COUNT];
        int n = study_counts(st, cnt);
        if (n > r.maxtrial)
            r.maxtrial = n;
    }
    if ((rc = tune_objective_optimize(obj, st, 1, on_event, &r, err))) {
        tl_prefix(err, "%s", name);
        goto done;
    }
    rc = study_attr_set(st, "compare_done", "1", err);
done:
    if (r.log)
        fclose(r.log);
    study_close(st);
    space_free(&sp);
    return rc;
}

/* Locks run NAME of DIR (DIR/NAME.lock) against another compare process
 * sharing DIR; the lock goes with the descriptor, also when the process
 * dies.  While another holds it: with wait 0 returns -2 (err untouched),
 * else says so through fn and waits.  Returns the descriptor, or -1 with
 * err set. */
static int run_lock(const char *path, int wait, const char *mname, int k, compare_progress_fn fn, void *ud,
                    tl_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        tl_fail(err, TL_ERUNTIME, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    int e = errno;
    if (e == EWOULDBLOCK && !wait) {
        close(fd);
        return -2;
    }
    if (e == EWOULDBLOCK) {
        if (fn)
            fn(ud, mname, k, 2, NULL);
        int r;
        while ((r = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
            ;
        if (r == 0)
            return fd;
        e = errno;
    }
    tl_fail(err, TL_ERUNTIME, "%s: cannot lock: %s", path, strerror(e));
    close(fd);
    return -1;
}

/* run_locked under the run's lock, so that compares sharing DIR never run
 * one run twice at once.  With wait 0 a run another compare holds is left
 * alone: *held = 1 (and fn told, skipped 3); with wait 1 this one waits,
 * then finds it finished or runs what the other left. */
static int run_one(const config *base, const compare_opts *o, int m, int k, int wait, int *held,
                   tune_objective *obj, compare_progress_fn fn, void *ud, tl_err *err)
{
    char lock[720];
    snprintf(lock, sizeof lock, "%s/%s-s%d.lock", o->dir, o->methods[m], k);
    int fd = run_lock(lock, wait, o->methods[m], k, fn, ud, err);
    if (fd == -2) {
        *held = 1;
        if (fn)
            fn(ud, o->methods[m], k, 3, NULL);
        return 0;
    }
    if (fd < 0)
        return err->code ? err->code : TL_ERUNTIME;
    int rc = run_locked(base, o, m, k, obj, fn, ud, err);
    close(fd);
    return rc;
}

/* ---- reading back ---- */

static int read_run(const compare_opts *o, int m, int k, int maximize, cmp_run *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    out->pick = -1;
    out->pick_value = out->pick_test = NAN;
    char db[700], logp[700], name[64];
    run_paths(o, o->methods[m], k, db, logp, name, sizeof db);
    char *text = slurp(logp);
    int cap = 0;
    for (const char *p = text ? text : ""; *p; p++)
        cap += *p == '\n';
    out->epochs = calloc((size_t)cap + 1, sizeof(double));
    out->seconds = calloc((size_t)cap + 1, sizeof(double));
    out->trials = calloc((size_t)cap + 1, sizeof(double));
    out->best = calloc((size_t)cap + 1, sizeof(double));
    if (!out->epochs || !out->seconds || !out->trials || !out->best) {
        free(text);
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    }
    double best = NAN;
    for (const char *p = text ? text : ""; *p && out->npts < cap;) {
        double e, s, v;
        int t, st, nt;
        if (sscanf(p, "%lf %lf %d %d %d %lf", &e, &s, &t, &st, &nt, &v) == 6) {
            if (isfinite(v) && (isnan(best) || (maximize ? v > best : v < best)))
                best = v;
            out->epochs[out->npts] = e;
            out->seconds[out->npts] = s;
            out->trials[out->npts] = nt;
            out->best[out->npts] = best;
            out->npts++;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    free(text);
    report_study *rs = NULL;
    if (access(db, F_OK) != 0)
        return 0;
    int rc = report_study_load(&rs, db, name, err);
    if (rc)
        return rc;
    const char *done = report_study_attr(rs, "compare_done");
    out->finished = done && !strcmp(done, "1");
    out->ntrials = rs->ntrials;
    for (int i = 0; i < rs->ntrials; i++) {
        const trial *t = &rs->trials[i].t;
        if (t->state == TRIAL_FAILED || t->state == TRIAL_WAITING || t->state == TRIAL_RUNNING ||
            !isfinite(t->value) || t->budget <= 0)
            continue;
        if (out->pick < 0 || (maximize ? t->value > out->pick_value : t->value < out->pick_value)) {
            out->pick = t->number;
            out->pick_value = t->value;
        }
    }
    if (out->pick >= 0) {
        const char *acc = report_trial_attr(rs, out->pick, "test_accuracy");
        out->pick_test = acc ? strtod(acc, NULL) : NAN;
    }
    report_study_free(rs);
    return 0;
}

void compare_input_free(cmp_input *in)
{
    if (!in)
        return;
    for (int i = 0; in->runs && i < in->nmethods * in->nseeds; i++) {
        free(in->runs[i].epochs);
        free(in->runs[i].seconds);
        free(in->runs[i].trials);
        free(in->runs[i].best);
    }
    free(in->runs);
    free(in->methods);
    free(in->seeds);
    memset(in, 0, sizeof *in);
}

int compare_run(const config *base, const compare_opts *o, compare_progress_fn fn, void *ud, cmp_input *in,
                tl_err *err)
{
    memset(in, 0, sizeof *in);
    int rc;
    if ((rc = compare_check(base, o, err)) || (rc = check_definition(base, o, err)))
        return rc;
    space sp;
    if ((rc = tune_space_from_config(base, &sp, err))) {
        space_free(&sp);
        return rc;
    }
    tune_objective *obj = calloc(1, sizeof *obj);
    if (!obj) {
        space_free(&sp);
        return tl_fail(err, TL_ERUNTIME, "compare: out of memory");
    }
    if ((rc = tune_objective_open(obj, base, &sp, err)))
        goto done;
    int M = o->nmethods, K = o->nseeds;
    /* Every run no other compare holds, in order; then the held ones,
     * waiting for each: compares sharing DIR split its runs between them
     * instead of queueing behind each other. */
    int *held = calloc((size_t)(M * K), sizeof *held);
    if (!held) {
        rc = tl_fail(err, TL_ERUNTIME, "compare: out of memory");
        goto done;
    }
    for (int m = 0; m < M && !rc; m++)
        for (int k = 0; k < K && !rc; k++)
            rc = run_one(base, o, m, k, 0, &held[m * K + k], obj, fn, ud, err);
    for (int m = 0; m < M && !rc; m++)
        for (int k = 0; k < K && !rc; k++)
            if (held[m * K + k])
                rc = run_one(base, o, m, k, 1, NULL, obj, fn, ud, err);
    free(held);
    if (rc)
        goto done;
    in->maximize = obj->kind == TUNE_OBJECTIVE_TRAIN ? obj->train.maximize : !strcmp(base->direction, "maximize");
    in->unit = o->unit;
    in->budget = o->budget;
    snprintf(in->metric, sizeof in->metric, "%s", base->metric);
    snprintf(in->config, sizeof in->config, "%s", base->source);
    in->nmethods = M;
    in->nseeds = K;
    in->methods = calloc((size_t)M, sizeof *in->methods);
    in->seeds = calloc((size_t)K, sizeof *in->seeds);
    in->runs = calloc((size_t)(M * K), sizeof *in->runs);
    if (!in->methods || !in->seeds || !in->runs) {
        rc = tl_fail(err, TL_ERUNTIME, "compare: out of memory");
        goto done;
    }
    for (int m = 0; m < M; m++)
        snprintf(in->methods[m], sizeof in->methods[m], "%s", o->methods[m]);
    for (int k = 0; k < K; k++)
        in->seeds[k] = base->study_seed + (uint64_t)k;
    for (int m = 0; m < M && !rc; m++)
        for (int k = 0; k < K && !rc; k++)
            rc = read_run(o, m, k, in->maximize, &in->runs[m * K + k], err);
done:
    if (rc)
        compare_input_free(in);
    tune_objective_close(obj);
    free(obj);
    space_free(&sp);
    return rc;
}
