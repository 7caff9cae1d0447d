/* tests/test_evolution.c: the evolution sampler (regularized evolution) and
 * the study's constraint and duplicate-reuse paths it relies on.
 *
 * Sampler alone, on hand-made histories: the initial population is the
 * random sampler's draws; in-flight trials count toward it; aging (the
 * oldest member is retired, never selected); tournament selection
 * probabilities against the exact formula; a child differs from its
 * parent in exactly one gene (with conditional genes filled or cleared);
 * the Pareto tournament with a cost; bad settings.
 * Through a study in a mkdtemp() folder: constraints (divisibility and a
 * parameter budget) hold for every trial over many draws and for another
 * sampler, rejections are counted in the "rejected" attribute, impossible
 * constraints fail clearly; duplicates reuse the earlier result; the same
 * seed gives the same study, a resumed study the same sequence; evolution
 * under asha with pauses and promotions. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/objective.h"
#include "hpo/sampler.h"
#include "hpo/sampler_evolution.h"
#include "hpo/sched_halving.h"
#include "hpo/scheduler.h"
#include "hpo/study.h"

#include "tests/tmpdir_util.h"
#include "tests/space_util.h"

TMPDIR_FIXTURE(dir, "tl_evo")

TestSuite(evolution, .init = tmpdir_setup, .fini = tmpdir_teardown);

/* d_model x heads x layers: 4 x 4 x 4 architectures, some of them with a
 * d_model that the heads do not divide. */
static void arch_space(space *sp)
{
    su_space(sp, "model.d_model", "choice(32, 48, 64, 96)",
             "model.heads", "choice(1, 2, 3, 4)",
             "model.layers", "int(1, 4)",
             NULL);
}

static int D(const space *sp, const double *v)
{
    return (int)sp->p[0].catnum[(int)v[0]];
}

static int H(const space *sp, const double *v)
{
    return (int)sp->p[1].catnum[(int)v[1]];
}

static int L(const double *v)
{
    return (int)v[2];
}

/* A transformer-like parameter count: 12 C^2 per layer plus a 64-token
 * embedding. */
static long params_of(const space *sp, const double *v)
{
    long d = D(sp, v);
    return 12 * d * d * L(v) + 64 * d;
}

/* A deterministic "validation loss": wider and 3 layers is better. */
static double loss_of(const space *sp, const double *v)
{
    return 1.0 + (96 - D(sp, v)) / 100.0 + 0.2 * fabs(L(v) - 3.0) + 0.01 * H(sp, v);
}

typedef struct limits {
    long max_params;
    int calls, rejects;
} limits;

static int check_arch(const limits *lim, const space *sp, const double *v, char *why, size_t n)
{
    if (D(sp, v) % H(sp, v)) {
        if (why)
            snprintf(why, n, "model.heads: d_model %d is not divisible by %d heads", D(sp, v), H(sp, v));
        return 0;
    }
    if (lim->max_params > 0 && params_of(sp, v) > lim->max_params) {
        if (why)
            snprintf(why, n, "nas.max_params: %ld parameters > %ld", params_of(sp, v), lim->max_params);
        return 0;
    }
    return 1;
}

static int accept_arch(void *ud, const space *sp, const double *v, char *why, size_t n)
{
    limits *lim = ud;
    lim->calls++;
    int ok = check_arch(lim, sp, v, why, n);
    lim->rejects += !ok;
    return ok;
}

/* ---- a hand-made history for the sampler alone ---- */

#define MAXH 64

typedef struct hist {
    trial t[MAXH];
    const trial *p[MAXH];
    int n;
} hist;

static void hist_add(hist *h, const space *sp, const double *v, int state, double value)
{
    cr_assert(h->n < MAXH);
    trial *t = &h->t[h->n];
    cr_assert_eq(trial_init(t, sp->n), 0);
    memcpy(t->values, v, sizeof *v * (size_t)sp->n);
    t->number = h->n;
    t->state = state;
    t->value = value;
    h->p[h->n] = t;
    h->n++;
}

/* Adds architecture (d index, h index, layers). */
static void hist_arch(hist *h, const space *sp, int di, int hi, int l, int state, double value)
{
    double v[3] = { di, hi, l };
    hist_add(h, sp, v, state, value);
}

static void hist_free(hist *h)
{
    for (int k = 0; k < h->n; k++)
        trial_free(&h->t[k]);
    h->n = 0;
}

static void *evo_new(const space *sp, int P, int S, study_config *cfg)
{
    study_config c;
    if (!cfg)
        cfg = &c;
    if (cfg == &c)
        study_config_default(cfg);
    evolution_options o = { .population = P, .sample_size = S };
    void *self = NULL;
    tl_err err = { 0 };
    cr_assert_eq(sampler_evolution_vt.init(&self, sp, &o, cfg, 1, &err), 0, "%s", err.msg);
    return self;
}

/* One suggestion with generator (seed, stream); returns the parent. */
static int suggest(void *self, const space *sp, const hist *h, int direction, uint64_t stream, double *v)
{
    rng r;
    rng_seed(&r, 99, stream);
    tl_err err = { 0 };
    cr_assert_eq(sampler_evolution_vt.suggest(self, sp, h->p, h->n, direction, h->n, &r, v, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(space_check_values(sp, v, &err), 0, "%s", err.msg);
    return sampler_evolution_vt.parent_of_last(self);
}

Test(evolution, registered_and_bad_settings_are_input_errors)
{
    cr_assert_eq(sampler_find("evolution"), &sampler_evolution_vt);
    space sp;
    arch_space(&sp);
    evolution_options o = { .population = 4, .sample_size = 5 };
    void *self = NULL;
    tl_err err = { 0 };
    cr_assert_eq(sampler_evolution_vt.init(&self, &sp, &o, NULL, 1, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "nas.sample_size"), "%s", err.msg);
    o.population = 0;
    cr_assert_eq(sampler_evolution_vt.init(&self, &sp, &o, NULL, 1, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "nas.population"), "%s", err.msg);
    cr_assert_null(self);
    sampler_evolution_vt.free(NULL);
    space_free(&sp);
}

Test(evolution, initial_population_is_the_random_samplers_draws)
{
    space sp;
    arch_space(&sp);
    void *self = evo_new(&sp, 4, 2, NULL);
    hist h = { .n = 0 };
    for (int k = 0; k < 4; k++) {
        double v[3], w[3];
        int parent = suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v);
        cr_assert_eq(parent, -1, "trial %d is a random draw", k);
        rng r;
        rng_seed(&r, 99, (uint64_t)k);
        cr_assert_eq(sampler_random_vt.suggest(NULL, &sp, h.p, h.n, STUDY_MINIMIZE, k, &r, w, NULL), 0);
        cr_assert_arr_eq(v, w, sizeof v, "trial %d", k);
        hist_add(&h, &sp, v, TRIAL_COMPLETE, 1.0 + k);
    }
    double v[3];
    cr_assert_geq(suggest(self, &sp, &h, STUDY_MINIMIZE, 4, v), 0, "the fifth suggestion evolves");
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

Test(evolution, in_flight_trials_count_toward_the_population_without_waiting)
{
    space sp;
    arch_space(&sp);
    void *self = evo_new(&sp, 4, 2, NULL);
    hist h = { .n = 0 };
    double v[3];
    hist_arch(&h, &sp, 0, 0, 1, TRIAL_RUNNING, NAN);
    hist_arch(&h, &sp, 1, 0, 1, TRIAL_RUNNING, NAN);
    hist_arch(&h, &sp, 2, 0, 1, TRIAL_RUNNING, NAN);
    hist_arch(&h, &sp, 3, 0, 1, TRIAL_RUNNING, NAN);
    cr_assert_eq(suggest(self, &sp, &h, STUDY_MINIMIZE, 0, v), -1, "nothing evaluated: random");
    hist_free(&h);
    hist_arch(&h, &sp, 0, 0, 1, TRIAL_COMPLETE, 2.0);
    hist_arch(&h, &sp, 1, 0, 1, TRIAL_COMPLETE, 1.0);
    hist_arch(&h, &sp, 2, 0, 1, TRIAL_RUNNING, NAN);
    hist_arch(&h, &sp, 3, 0, 1, TRIAL_FAILED, NAN);
    cr_assert_eq(suggest(self, &sp, &h, STUDY_MINIMIZE, 0, v), -1, "3 of 4 evaluated or in flight: random");
    hist_arch(&h, &sp, 3, 1, 1, TRIAL_WAITING, NAN);
    for (int k = 0; k < 50; k++) {
        int p = suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v);
        cr_assert(p == 0 || p == 1, "evolves from the evaluated members only (got %d)", p);
    }
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

Test(evolution, aging_retires_the_oldest_member)
{
    space sp;
    arch_space(&sp);
    void *self = evo_new(&sp, 4, 4, NULL); /* the tournament sees the whole population */
    hist h = { .n = 0 };
    double v[3];
    hist_arch(&h, &sp, 3, 0, 3, TRIAL_COMPLETE, 0.1); /* the best, and the oldest */
    hist_arch(&h, &sp, 0, 0, 1, TRIAL_COMPLETE, 1.0);
    hist_arch(&h, &sp, 1, 0, 1, TRIAL_FAILED, NAN);   /* not a member */
    hist_arch(&h, &sp, 1, 1, 1, TRIAL_PRUNED, 0.9);
    hist_arch(&h, &sp, 2, 0, 1, TRIAL_COMPLETE, 0.8);
    for (int k = 0; k < 20; k++)
        cr_assert_eq(suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v), 0, "4 members: trial 0 wins");
    hist_arch(&h, &sp, 2, 1, 1, TRIAL_COMPLETE, 0.7); /* a fifth member retires trial 0 */
    for (int k = 0; k < 20; k++)
        cr_assert_eq(suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v), 5, "trial 0 retired: trial 5 wins");
    hist_arch(&h, &sp, 0, 1, 2, TRIAL_COMPLETE, 5.0);
    for (int k = 0; k < 20; k++)
        cr_assert_eq(suggest(self, &sp, &h, STUDY_MAXIMIZE, (uint64_t)k, v), 6, "maximize: trial 6 wins");
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

static double binom(int n, int k)
{
    if (k < 0 || k > n)
        return 0;
    double b = 1;
    for (int i = 1; i <= k; i++)
        b = b * (n - k + i) / i;
    return b;
}

Test(evolution, tournament_selection_follows_the_exact_probabilities)
{
    /* P = 8 members with distinct values, S = 3 drawn without replacement:
     * the r-th best (r = 1..P) wins with probability C(P-r, S-1) / C(P, S). */
    enum { P = 8, S = 3, N = 20000 };
    space sp;
    arch_space(&sp);
    void *self = evo_new(&sp, P, S, NULL);
    hist h = { .n = 0 };
    for (int k = 0; k < P; k++) /* trial k has rank 1 + (k * 3) % 8 */
        hist_arch(&h, &sp, k % 4, 0, 1 + k / 4, TRIAL_COMPLETE, (double)((k * 3) % P));
    int wins[P] = { 0 };
    double v[3];
    for (int k = 0; k < N; k++) {
        int p = suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v);
        cr_assert(p >= 0 && p < P);
        wins[(int)h.t[p].value]++;
    }
    for (int r = 1; r <= P; r++) {
        double want = binom(P - r, S - 1) / binom(P, S), got = (double)wins[r - 1] / N;
        cr_assert(fabs(got - want) < 0.015, "rank %d wins %.4f, expected %.4f", r, got, want);
    }
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

Test(evolution, a_child_differs_from_its_parent_in_one_gene)
{
    space sp;
    su_space(&sp, "model.layers", "choice(1, 2, 3)",
             "model.width1", "logint(8, 256)",
             "model.width2", "int(8, 256) if model.layers in (2, 3)",
             "model.width3", "choice(16, 32, 64) if model.layers == 3",
             "train.lr", "loguniform(1e-4, 1e-1)",
             NULL);
    void *self = evo_new(&sp, 2, 1, NULL);
    hist h = { .n = 0 };
    double a[5] = { 0, 64, NAN, NAN, 1e-3 }, b[5] = { 2, 16, 100, 1, 1e-2 };
    hist_add(&h, &sp, a, TRIAL_COMPLETE, 1.0);
    hist_add(&h, &sp, b, TRIAL_COMPLETE, 2.0);
    int changed[5] = { 0 }, near = 0, far = 0;
    for (int k = 0; k < 3000; k++) {
        double v[5];
        int p = suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v);
        cr_assert(p == 0 || p == 1);
        const double *par = h.t[p].values;
        int diff = 0, which = -1;
        for (int i = 0; i < 5; i++)
            if (!isnan(par[i]) && !isnan(v[i]) && par[i] != v[i]) {
                diff++;
                which = i;
            }
        cr_assert_eq(diff, 1, "draw %d: %d genes changed", k, diff);
        changed[which]++;
        if (which == 0) {
            int dl = abs((int)v[0] - (int)par[0]);
            near += dl == 1;
            far += dl == 2;
            /* conditional genes follow the new layer count */
            cr_assert_eq(isnan(v[2]), v[0] == 0);
            cr_assert_eq(isnan(v[3]), v[0] != 2);
        } else {
            for (int i = 0; i < 5; i++)
                cr_assert_eq(isnan(v[i]), isnan(par[i]), "gene %d: activity kept", i);
        }
    }
    for (int i = 0; i < 5; i++)
        cr_assert_gt(changed[i], 100, "gene %d mutated %d times", i, changed[i]);
    cr_assert(near > 0 && far > 0, "neighbouring (%d) and random (%d) moves", near, far);
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

static double cost_params(void *ud, const space *sp, const double *v)
{
    return (double)params_of(sp, v);
}

Test(evolution, with_a_cost_the_tournament_picks_from_the_pareto_front)
{
    space sp;
    arch_space(&sp);
    study_config c;
    study_config_default(&c);
    c.cost = cost_params;
    void *self = evo_new(&sp, 5, 5, &c);
    hist h = { .n = 0 };
    /* (loss, params): trials 0, 2 and 4 are the front */
    hist_arch(&h, &sp, 3, 0, 4, TRIAL_COMPLETE, 1.0); /* big, best loss */
    hist_arch(&h, &sp, 3, 1, 4, TRIAL_COMPLETE, 1.5); /* as big, worse */
    hist_arch(&h, &sp, 1, 0, 1, TRIAL_COMPLETE, 2.0); /* small */
    hist_arch(&h, &sp, 2, 0, 1, TRIAL_COMPLETE, 2.5); /* bigger and worse than 2 */
    hist_arch(&h, &sp, 0, 0, 1, TRIAL_COMPLETE, 3.0); /* smallest */
    int wins[5] = { 0 };
    double v[3];
    for (int k = 0; k < 600; k++)
        wins[suggest(self, &sp, &h, STUDY_MINIMIZE, (uint64_t)k, v)]++;
    cr_assert_eq(wins[1] + wins[3], 0, "dominated members never win (%d, %d)", wins[1], wins[3]);
    for (int k = 0; k < 5; k += 2)
        cr_assert_gt(wins[k], 120, "front member %d won %d of 600", k, wins[k]);
    hist_free(&h);
    sampler_evolution_vt.free(self);
    space_free(&sp);
}

/* ---- through a study ---- */

/* c's sampler options are *eo, which must outlive study_open. */
static void make_cfg(study_config *c, evolution_options *eo, const char *name, int trials, int P,
                     int S)
{
    study_config_default(c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->storage, sizeof c->storage, "%s/%s.db", dir, name);
    snprintf(c->sampler, sizeof c->sampler, "evolution");
    c->trials = trials;
    c->seed = 5;
    eo->population = P;
    eo->sample_size = S;
    c->sampler_opts = eo;
}

static study *open_ok(const study_config *c, const space *sp)
{
    study *s = NULL;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, c, sp, &err), 0, "study_open: %s", err.msg);
    return s;
}

/* Runs the study sequentially with the fake loss; returns trials handed
 * out (jobs).  vals/parents (may be NULL) get each job's values/parent. */
static int drive(study *s, const space *sp, double *vals, int *parents)
{
    int jobs = 0;
    tl_err err = { 0 };
    for (;;) {
        trial_job job;
        cr_assert_eq(study_ask(s, &job, &err), 0, "ask: %s", err.msg);
        if (job.kind == JOB_DONE)
            break;
        cr_assert_eq(job.kind, JOB_NEW);
        if (vals)
            memcpy(vals + (size_t)job.number * sp->n, job.values, sizeof(double) * (size_t)sp->n);
        if (parents)
            parents[job.number] = job.parent;
        cr_assert_eq(study_tell(s, job.number, TRIAL_COMPLETE, loss_of(sp, job.values), NULL, &err), 0, "%s",
                     err.msg);
        jobs++;
    }
    return jobs;
}

Test(evolution, constraints_hold_for_every_trial_and_rejections_are_counted)
{
    space sp;
    arch_space(&sp);
    limits lim = { .max_params = 12 * 64 * 64 * 2 + 64 * 64 };
    study_config c;
    evolution_options eo;
    make_cfg(&c, &eo, "constrained", 80, 6, 3);
    c.accept = accept_arch;
    c.accept_ud = &lim;
    study *s = open_ok(&c, &sp);
    int n = drive(s, &sp, NULL, NULL);
    cr_assert_eq(n, 80);
    trial *t;
    int nt;
    tl_err err = { 0 };
    cr_assert_eq(study_trials(s, &t, &nt, &err), 0);
    int evolved = 0;
    for (int k = 0; k < nt; k++) {
        char why[256];
        cr_assert(check_arch(&lim, &sp, t[k].values, why, sizeof why), "trial %d: %s", k, why);
        evolved += t[k].parent >= 0;
    }
    cr_assert_geq(evolved, 60, "trials after the initial population have parents (%d)", evolved);
    cr_assert_gt(lim.rejects, 0);
    char buf[4096];
    cr_assert_eq(study_attr_get(s, STUDY_ATTR_REJECTED, buf, sizeof buf), 1);
    cJSON *o = cJSON_Parse(buf);
    cr_assert_not_null(o, "%s", buf);
    cr_assert_eq((int)cJSON_GetObjectItem(o, "total")->valuedouble, lim.rejects, "%s", buf);
    int heads = 0, params = 0, sum = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "reasons"))
    {
        const char *key = cJSON_GetObjectItem(it, "key")->valuestring;
        int cnt = (int)cJSON_GetObjectItem(it, "count")->valuedouble;
        sum += cnt;
        if (!strcmp(key, "model.heads")) {
            heads = cnt;
            cr_assert(strstr(cJSON_GetObjectItem(it, "example")->valuestring, "not divisible"));
        }
        if (!strcmp(key, "nas.max_params"))
            params = cnt;
    }
    cr_assert(heads > 0 && params > 0, "both reasons counted: %s", buf);
    cr_assert_eq(sum, lim.rejects);
    cJSON_Delete(o);
    study_trials_free(t, nt);
    study_close(s);

    /* the same constraint holds for the random sampler */
    lim.rejects = 0;
    make_cfg(&c, &eo, "constrained_random", 40, 6, 3);
    snprintf(c.sampler, sizeof c.sampler, "random");
    c.accept = accept_arch;
    c.accept_ud = &lim;
    s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, NULL, NULL), 40);
    cr_assert_eq(study_trials(s, &t, &nt, &err), 0);
    for (int k = 0; k < nt; k++)
        cr_assert(check_arch(&lim, &sp, t[k].values, NULL, 0), "random trial %d", k);
    cr_assert_gt(lim.rejects, 0);
    study_trials_free(t, nt);
    study_close(s);
    space_free(&sp);
}

Test(evolution, impossible_constraints_fail_with_the_last_reason)
{
    space sp;
    arch_space(&sp);
    limits lim = { .max_params = 10 };
    study_config c;
    evolution_options eo;
    make_cfg(&c, &eo, "impossible", 5, 4, 2);
    c.accept = accept_arch;
    c.accept_ud = &lim;
    study *s = open_ok(&c, &sp);
    trial_job job;
    tl_err err = { 0 };
    cr_assert_eq(study_ask(s, &job, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "break the constraints") && strstr(err.msg, "nas.max_params"), "%s", err.msg);
    cr_assert_eq(lim.rejects, STUDY_MAX_REJECTS);
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(s, counts), 0, "no trial stored");
    study_close(s);
    space_free(&sp);
}

typedef struct events {
    int finished, reused;
} events;

static void count_events(void *ud, const study_event *ev)
{
    events *e = ud;
    if (ev->kind == STUDY_EV_FINISHED) {
        e->finished++;
        e->reused += !strncmp(ev->reason, "reused result of trial ", 23);
    }
}

Test(evolution, a_repeated_architecture_reuses_the_earlier_result)
{
    space sp;
    su_space(&sp, "model.d_model", "choice(32, 64)",
             "model.heads", "choice(1, 2)",
             "model.layers", "choice(1)",
             NULL);
    study_config c;
    evolution_options eo;
    make_cfg(&c, &eo, "reuse", 12, 2, 2);
    c.reuse_duplicates = 1;
    study *s = open_ok(&c, &sp);
    events ev = { 0 };
    study_set_progress(s, count_events, &ev);
    int jobs = drive(s, &sp, NULL, NULL);
    cr_assert_leq(jobs, 4, "at most the 4 architectures are trained (%d jobs)", jobs);
    trial *t;
    int nt;
    tl_err err = { 0 };
    cr_assert_eq(study_trials(s, &t, &nt, &err), 0);
    cr_assert_eq(nt, 12, "reused trials count as trials");
    int reused = 0;
    for (int k = 0; k < nt; k++) {
        cr_assert_eq(t[k].state, TRIAL_COMPLETE);
        int src;
        if (sscanf(t[k].reason, "reused result of trial %d", &src) != 1)
            continue;
        reused++;
        cr_assert(src >= 0 && src < k);
        cr_assert(!strstr(t[src].reason, "reused"), "the source was trained");
        cr_assert_eq(memcmp(t[k].values, t[src].values, sizeof(double) * 3), 0);
        cr_assert_eq(t[k].value, t[src].value);
        cr_assert_eq(t[k].budget, 0);
        char buf[32];
        cr_assert_eq(study_trial_attr_get(s, k, "reused_from", buf, sizeof buf), 1);
        cr_assert_eq(atoi(buf), src);
    }
    cr_assert_eq(reused + jobs, 12);
    cr_assert_eq(ev.reused, reused, "a FINISHED event per reused trial");
    cr_assert_eq(ev.finished, 12, "one FINISHED event per trial, trained or reused");
    study_trials_free(t, nt);
    study_close(s);

    /* reuse off: every trial is trained */
    make_cfg(&c, &eo, "noreuse", 12, 2, 2);
    s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, NULL, NULL), 12);
    study_close(s);
    space_free(&sp);
}

Test(evolution, the_same_seed_gives_the_same_study_and_resuming_continues_it)
{
    enum { N = 30 };
    space sp;
    arch_space(&sp);
    limits lim = { 0 };
    double va[N * 3], vb[N * 3], vc[N * 3];
    int pa[N], pb[N], pc[N];
    study_config c;
    evolution_options eo;
    make_cfg(&c, &eo, "seed_a", N, 5, 2);
    c.accept = accept_arch;
    c.accept_ud = &lim;
    study *s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, va, pa), N);
    study_close(s);

    /* b: the same seed, run as 12 trials, closed, then resumed to N */
    make_cfg(&c, &eo, "seed_b", 12, 5, 2);
    c.accept = accept_arch;
    c.accept_ud = &lim;
    s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, vb, pb), 12);
    study_close(s);
    c.trials = N;
    s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, vb, pb), N - 12);
    study_close(s);
    for (int k = 0; k < N; k++) {
        cr_assert_arr_eq(va + 3 * k, vb + 3 * k, sizeof(double) * 3, "trial %d", k);
        cr_assert_eq(pa[k], pb[k], "trial %d's parent", k);
    }

    make_cfg(&c, &eo, "seed_c", N, 5, 2);
    c.seed = 6;
    c.accept = accept_arch;
    c.accept_ud = &lim;
    s = open_ok(&c, &sp);
    cr_assert_eq(drive(s, &sp, vc, pc), N);
    study_close(s);
    cr_assert_neq(memcmp(va, vc, sizeof va), 0, "another seed, another study");
    space_free(&sp);
}

/* ---- evolution under asha: an objective that reports each unit of budget ---- */

static int asha_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    const space *sp = job->sp;
    double base = loss_of(sp, job->values);
    int *done = job->obj_state ? job->obj_state : calloc(1, sizeof *done);
    out->obj_state = NULL;
    tl_err err = { 0 };
    for (int step = *done + 1; step <= (int)job->budget; step++) {
        double v = base + 1.0 / step;
        int dec;
        if (study_report(s, job->number, step, v, step, &dec, NULL, &err)) {
            snprintf(out->reason, sizeof out->reason, "%.250s", err.msg);
            free(done);
            return 1;
        }
        *done = step;
        out->value = v;
        if (dec == DECIDE_STOP) {
            out->state = TRIAL_PRUNED;
            free(done);
            return 0;
        }
        if (dec == DECIDE_PAUSE) {
            out->state = TRIAL_PAUSED;
            out->obj_state = done;
            return 0;
        }
    }
    out->state = TRIAL_COMPLETE;
    free(done);
    return 0;
}

static void asha_free(void *ud, void *state)
{
    free(state);
}

Test(evolution, runs_under_asha_with_pauses_and_promotions)
{
    cr_assert_not_null(scheduler_find("asha"), "the asha scheduler is registered");
    space sp;
    arch_space(&sp);
    limits lim = { 0 };
    study_config c;
    evolution_options eo;
    make_cfg(&c, &eo, "asha", 30, 6, 3);
    snprintf(c.scheduler, sizeof c.scheduler, "asha");
    c.min_budget = 1;
    c.max_budget = 9;
    halving_options ho = { .eta = 3 };
    c.scheduler_opts = &ho;
    c.accept = accept_arch;
    c.accept_ud = &lim;
    c.reuse_duplicates = 1;
    study *s = open_ok(&c, &sp);
    objective obj = { .run = asha_run, .state_free = asha_free };
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    trial *t;
    int nt;
    cr_assert_eq(study_trials(s, &t, &nt, &err), 0);
    cr_assert_eq(nt, 30);
    int full = 0, stopped = 0, parents = 0;
    for (int k = 0; k < nt; k++) {
        cr_assert(check_arch(&lim, &sp, t[k].values, NULL, 0));
        cr_assert_neq(t[k].state, TRIAL_FAILED, "trial %d: %s", k, t[k].reason);
        full += t[k].state == TRIAL_COMPLETE && t[k].budget >= 9;
        /* losers of a rung end pruned, "stopped at rung i (budget b) of ..." */
        stopped += t[k].state == TRIAL_PRUNED && strstr(t[k].reason, "stopped at rung") != NULL;
        parents += t[k].parent >= 0;
    }
    cr_assert_gt(full, 0, "some architecture was promoted to the full budget");
    cr_assert_gt(stopped, 0, "some stayed at a lower rung");
    cr_assert_gt(parents, 10, "children of the population (%d)", parents);
    int best;
    cr_assert(study_best(s, &best, NULL));
    study_trials_free(t, nt);
    study_close(s);
    space_free(&sp);
}
