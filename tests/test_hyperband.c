/* tests/test_hyperband.c: the successive-halving schedulers (sha,
 * hyperband, asha) against the C API with a synthetic objective,
 * value = (x - 0.3)^2 + 1/epochs, whose in-memory state counts the epochs
 * it trained (so a test can tell a continued trial from a re-run one):
 * Li et al.'s bracket table, the trial -> bracket map, rung counts of whole
 * studies, SHA's synchronous promotions, ASHA's promotion rule, no repeated
 * work, stopped trials ended as pruned (study_stop_paused: event, state
 * released, file deleted), first start and run time of promoted trials,
 * resume after a SIGKILL in the middle of a promotion (back to the last
 * pause, or from scratch without a saved state), refusal to resume with
 * other budgets, the rung table, `tunelab run` end to end, and the bayes
 * sampler under hyperband (suite bohb: the budget its GP is fitted on, and
 * a multi-fidelity Branin where it beats random sampling). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/sampler.h"
#include "hpo/sched_halving.h"
#include "hpo/study.h"
#include "tests/cli_json_util.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

TMPDIR_FIXTURE(dir, "tl_hb")

TestSuite(hyperband, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);
TestSuite(sha, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);
TestSuite(asha, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

/* ---- the synthetic objective ---- */

#define MAXLOG 4096

typedef struct fevent {
    int start;        /* 1: a job started; 0: it ended */
    int kind;         /* JOB_NEW / JOB_RESUME */
    int number;
    double budget;    /* start: target; end: epochs trained so far */
    double done;      /* start: budget_done */
    int had_state;    /* start: the job came with a state */
    int state;        /* end: the trial state told */
} fevent;

typedef struct fake {
    pthread_mutex_t mu;
    long epochs;      /* epochs trained in this process */
    long kill_after;  /* > 0: SIGKILL this process at that epoch */
    int frees;        /* states released through state_free */
    int bad;          /* a job whose state disagreed with budget_done */
    char why[256];
    double max_budget;
    fevent log[MAXLOG];
    int nlog;
} fake;

typedef struct fstate {
    int number;
    int epochs;
} fstate;

static double f_of(double x)
{
    return (x - 0.3) * (x - 0.3);
}

static double value_at(double x, int epochs)
{
    return f_of(x) + 1.0 / epochs;
}

static void fake_init(fake *F, double max_budget)
{
    memset(F, 0, sizeof *F);
    pthread_mutex_init(&F->mu, NULL);
    F->max_budget = max_budget;
}

static void fake_log(fake *F, fevent ev)
{
    pthread_mutex_lock(&F->mu);
    if (F->nlog < MAXLOG)
        F->log[F->nlog++] = ev;
    pthread_mutex_unlock(&F->mu);
}

static int fake_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    fake *F = ud;
    fstate *st = job->obj_state;
    fake_log(F, (fevent){ 1, job->kind, job->number, job->budget, job->budget_done, st != NULL, 0 });
    if (!st) {
        st = calloc(1, sizeof *st);
        st->number = job->number;
    }
    if (st->number != job->number || st->epochs != (int)lround(job->budget_done)) {
        pthread_mutex_lock(&F->mu);
        F->bad++;
        snprintf(F->why, sizeof F->why, "trial %d: state of trial %d with %d epochs, budget_done %g",
                 job->number, st->number, st->epochs, job->budget_done);
        pthread_mutex_unlock(&F->mu);
        free(st);
        snprintf(out->reason, sizeof out->reason, "state mismatch");
        return 1;
    }
    int until = (int)ceil(job->budget - 1e-9);
    double x = job->values[0], v = NAN;
    for (int e = st->epochs + 1; e <= until; e++) {
        pthread_mutex_lock(&F->mu);
        long total = ++F->epochs;
        pthread_mutex_unlock(&F->mu);
        if (F->kill_after > 0 && total >= F->kill_after)
            raise(SIGKILL);
        st->epochs = e;
        v = value_at(x, e);
        int dec = DECIDE_CONTINUE;
        tl_err err = { 0 };
        if (study_report(s, job->number, e, v, e, &dec, NULL, &err)) {
            snprintf(out->reason, sizeof out->reason, "%.200s", err.msg);
            free(st);
            return 1;
        }
        if (dec == DECIDE_STOP) {
            out->state = TRIAL_PRUNED;
            out->value = v;
            fake_log(F, (fevent){ 0, 0, job->number, st->epochs, 0, 0, TRIAL_PRUNED });
            free(st);
            return 0;
        }
        if (dec == DECIDE_PAUSE)
            break;
    }
    out->value = v;
    if (st->epochs >= F->max_budget) {
        out->state = TRIAL_COMPLETE;
        fake_log(F, (fevent){ 0, 0, job->number, st->epochs, 0, 0, TRIAL_COMPLETE });
        free(st);
    } else {
        out->state = TRIAL_PAUSED;
        fake_log(F, (fevent){ 0, 0, job->number, st->epochs, 0, 0, TRIAL_PAUSED });
        out->obj_state = st;
    }
    return 0;
}

static void fake_state_free(void *ud, void *state)
{
    fake *F = ud;
    if (!state)
        return;
    pthread_mutex_lock(&F->mu);
    F->frees++;
    pthread_mutex_unlock(&F->mu);
    free(state);
}

static int fake_state_save(void *ud, const void *state, const char *path, tl_err *err)
{
    const fstate *st = state;
    FILE *f = fopen(path, "w");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write", path);
    fprintf(f, "%d %d\n", st->number, st->epochs);
    return fclose(f) ? tl_fail(err, TL_ERUNTIME, "%s: write failed", path) : 0;
}

static int fake_state_load(void *ud, void **state, const char *path, tl_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot read", path);
    fstate *st = calloc(1, sizeof *st);
    int ok = fscanf(f, "%d %d", &st->number, &st->epochs) == 2;
    fclose(f);
    if (!ok) {
        free(st);
        return tl_fail(err, TL_EINPUT, "%s: damaged", path);
    }
    *state = st;
    return 0;
}

static objective fake_objective(fake *F)
{
    objective o = { .ud = F, .run = fake_run, .state_free = fake_state_free,
                    .state_save = fake_state_save, .state_load = fake_state_load };
    return o;
}

/* ---- helpers ---- */

/* FINISHED events other than pauses, per trial (the live view's count). */
typedef struct ended {
    pthread_mutex_t mu;
    int ends[64];
    int pruned;
} ended;

static void on_end(void *ud, const study_event *ev)
{
    ended *E = ud;
    if (ev->kind != STUDY_EV_FINISHED || ev->state == TRIAL_PAUSED || ev->trial < 0 ||
        ev->trial >= 64)
        return;
    pthread_mutex_lock(&E->mu);
    E->ends[ev->trial]++;
    E->pruned += ev->state == TRIAL_PRUNED;
    pthread_mutex_unlock(&E->mu);
}

static void make_space(space *sp)
{
    su_space(sp, "x", "uniform(0, 1)", NULL);
}

static void make_cfg(study_config *c, const char *name, const char *scheduler, int trials,
                     double min_budget, double max_budget)
{
    *c = su_config_in(dir, name);
    snprintf(c->scheduler, sizeof c->scheduler, "%s", scheduler);
    c->trials = trials;
    c->seed = 11;
    c->min_budget = min_budget;
    c->max_budget = max_budget;
    c->scheduler_opts = NULL; /* halving_options' defaults: eta = 3 */
}

/* Opens a study on c and sp, asserting it opens; the caller owns it. */
static study *open_study(const study_config *c, const space *sp)
{
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, c, sp, &err), 0, "%s", err.msg);
    return s;
}

/* make_space, make_cfg(name, scheduler, trials, min_budget, max_budget),
 * then opens the study (asserting it opens).  Returns the study; the
 * caller owns it and sp (close_study). */
static study *new_study(space *sp, study_config *c, const char *name, const char *scheduler,
                        int trials, double min_budget, double max_budget)
{
    make_space(sp);
    make_cfg(c, name, scheduler, trials, min_budget, max_budget);
    return open_study(c, sp);
}

/* new_study after fake_init(F, max_budget). */
static study *fake_study(space *sp, study_config *c, fake *F, const char *name,
                         const char *scheduler, int trials, double min_budget, double max_budget)
{
    fake_init(F, max_budget);
    return new_study(sp, c, name, scheduler, trials, min_budget, max_budget);
}

/* Runs s to its end on the fake objective F with `workers` workers and the
 * progress hook cb(ud) (may be NULL), asserting that study_optimize
 * succeeds and that no job's state disagreed with its budget_done. */
static void run_fake(study *s, fake *F, int workers, study_progress_fn cb, void *ud)
{
    objective obj = fake_objective(F);
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, workers, cb, ud, &err), 0, "%s", err.msg);
    cr_assert_eq(F->bad, 0, "%s", F->why);
}

/* Closes s and frees sp. */
static void close_study(study *s, space *sp)
{
    study_close(s);
    space_free(sp);
}

static void info_of(study *s, int k, halving_info *inf)
{
    char buf[2048];
    tl_err err = { 0 };
    cr_assert_eq(study_trial_attr_get(s, k, "hb", buf, sizeof buf), 1, "trial %d has no hb", k);
    cr_assert_eq(halving_info_parse(buf, inf, &err), 0, "trial %d: %s", k, err.msg);
}

/* Sum over the brackets of trials [0, trials) of n_i * (r_i - r_{i-1}):
 * the epochs a study needs when promotions continue training. */
static double planned_epochs(int mode, int trials, double max_budget, double eta, int s_max)
{
    double total = 0;
    long first = 0;
    while (first < trials) {
        long n[HALVING_MAX_RUNGS];
        double r[HALVING_MAX_RUNGS];
        int nr;
        long size;
        if (mode == HALVING_HYPERBAND) {
            halving_slot sl;
            halving_slot_of(first, s_max, eta, trials, &sl);
            long full = halving_bracket_n(sl.s, s_max, eta);
            nr = halving_bracket(sl.s, s_max, eta, max_budget, sl.n < full ? sl.n : 0, n, r);
            size = sl.n;
        } else {
            nr = halving_bracket(s_max, s_max, eta, max_budget, trials, n, r);
            size = trials;
        }
        for (int i = 0; i < nr; i++)
            total += (double)n[i] * (r[i] - (i ? r[i - 1] : 0));
        first += size;
    }
    return total;
}

static int by_f(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks every bracket of a finished synchronous study: rung sizes as
 * planned, exactly n_top complete trials, the promoted trials the best of
 * their rung, the others stopped: PRUNED with the reason naming their rung,
 * status "stopped", no saved state left on disk.  Returns the number of
 * stopped trials. */
static int check_sync_study(study *s, int mode, const study_config *c)
{
    double eta = halving_eta_for(c);
    int s_max = halving_s_max(c->min_budget, c->max_budget, eta);
    trial *tr;
    int n;
    tl_err err = { 0 };
    cr_assert_eq(study_trials(s, &tr, &n, &err), 0);
    cr_assert_eq(n, c->trials);
    int stopped = 0;
    long first = 0;
    while (first < n) {
        long pn[HALVING_MAX_RUNGS];
        double pr[HALVING_MAX_RUNGS];
        long size;
        int nr, bracket;
        long iteration = 0;
        if (mode == HALVING_HYPERBAND) {
            halving_slot sl;
            halving_slot_of(first, s_max, eta, c->trials, &sl);
            long full = halving_bracket_n(sl.s, s_max, eta);
            nr = halving_bracket(sl.s, s_max, eta, c->max_budget, sl.n < full ? sl.n : 0, pn, pr);
            size = sl.n;
            bracket = sl.s;
            iteration = sl.iteration;
        } else {
            nr = halving_bracket(s_max, s_max, eta, c->max_budget, c->trials, pn, pr);
            size = c->trials;
            bracket = s_max;
        }
        long count[HALVING_MAX_RUNGS] = { 0 };
        int complete = 0;
        for (long k = first; k < first + size; k++) {
            halving_info inf;
            info_of(s, (int)k, &inf);
            cr_assert_eq(inf.bracket, bracket, "trial %ld", k);
            cr_assert_eq(inf.iteration, iteration, "trial %ld", k);
            cr_assert_eq(inf.nrungs, nr);
            for (int i = 0; i <= inf.rung; i++)
                count[i]++;
            cr_assert(inf.nvalues == inf.rung + 1, "trial %ld: a value per rung finished", k);
            if (tr[k].state == TRIAL_COMPLETE) {
                complete++;
                cr_assert_eq(inf.rung, nr - 1, "trial %ld completes at the top rung", k);
                cr_assert_str_eq(inf.status, "complete");
                cr_assert_float_eq(tr[k].budget, c->max_budget, 1e-9);
            } else {
                cr_assert_eq(tr[k].state, TRIAL_PRUNED, "trial %ld: %s", k,
                             trial_state_str(tr[k].state));
                cr_assert_str_eq(inf.status, "stopped", "trial %ld", k);
                cr_assert_float_eq(tr[k].budget, pr[inf.rung], 1e-9, "trial %ld", k);
                char want[128], path[700];
                snprintf(want, sizeof want, "stopped at rung %d (budget %g) of bracket %d",
                         inf.rung, pr[inf.rung], bracket);
                cr_assert(!strncmp(tr[k].reason, want, strlen(want)), "trial %ld: '%s', want '%s'",
                          k, tr[k].reason, want);
                cr_assert(isfinite(tr[k].value), "trial %ld keeps its last value", k);
                snprintf(path, sizeof path, "%s.states/trial-%ld.state", c->storage, k);
                cr_assert_neq(access(path, F_OK), 0, "%s: a stopped trial's state file is deleted",
                              path);
                stopped++;
            }
            /* promoted: the best of its rung by f(x) (1/epochs is equal) */
            for (int i = 0; i + 1 < nr && i < inf.rung; i++) {
                double fx = f_of(tr[k].values[0]);
                int better = 0;
                for (long j = first; j < first + size; j++) {
                    halving_info o;
                    info_of(s, (int)j, &o);
                    better += o.rung >= i && f_of(tr[j].values[0]) < fx;
                }
                cr_assert(better < pn[i + 1], "trial %ld promoted from rung %d with %d better", k,
                          i, better);
            }
        }
        for (int i = 0; i < nr; i++)
            cr_assert_eq(count[i], pn[i], "bracket %d (iteration %ld) rung %d: %ld trials, plan %ld",
                         bracket, iteration, i, count[i], pn[i]);
        cr_assert_eq(complete, pn[nr - 1]);
        first += size;
    }
    study_trials_free(tr, n);
    return stopped;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "missing number %s", k);
    return v->valuedouble;
}

/* ---- hyperband ---- */

Test(hyperband, bracket_arithmetic_matches_li_et_al_table_1)
{
    /* Li et al. (2018), Table 1: R = 81, eta = 3. */
    static const long N[5][5] = {
        { 5 }, { 8, 2 }, { 15, 5, 1 }, { 34, 11, 3, 1 }, { 81, 27, 9, 3, 1 },
    };
    static const double R[5][5] = {
        { 81 }, { 27, 81 }, { 9, 27, 81 }, { 3, 9, 27, 81 }, { 1, 3, 9, 27, 81 },
    };
    int s_max = halving_s_max(1, 81, 3);
    cr_assert_eq(s_max, 4);
    long cycle = 0;
    for (int s = 0; s <= s_max; s++) {
        long n[HALVING_MAX_RUNGS];
        double r[HALVING_MAX_RUNGS];
        cr_assert_eq(halving_bracket(s, s_max, 3, 81, 0, n, r), s + 1);
        cr_assert_eq(halving_bracket_n(s, s_max, 3), N[s][0]);
        for (int i = 0; i <= s; i++) {
            cr_assert_eq(n[i], N[s][i], "s=%d rung %d: n %ld, table %ld", s, i, n[i], N[s][i]);
            cr_assert_eq(r[i], R[s][i], "s=%d rung %d: r %g, table %g", s, i, r[i], R[s][i]);
        }
        cycle += n[0];
    }
    cr_assert_eq(cycle, 143);
    /* the same with a non-integer eta and budgets that are not powers */
    cr_assert_eq(halving_s_max(1, 6.25, 2.5), 2);
    long n[HALVING_MAX_RUNGS];
    double r[HALVING_MAX_RUNGS];
    halving_bracket(1, 2, 2.5, 6.25, 0, n, r);
    cr_assert_eq(n[0], 4, "ceil(3/2 * 2.5) = 4, got %ld", n[0]);
    cr_assert_eq(n[1], 1);
    cr_assert_float_eq(r[0], 2.5, 1e-12);
    cr_assert_float_eq(r[1], 6.25, 1e-12);
    cr_assert_eq(halving_s_max(1, 10, 3), 2);
    halving_bracket(2, 2, 3, 10, 0, n, r);
    cr_assert_float_eq(r[0], 10.0 / 9, 1e-12);
    cr_assert_eq(r[2], 10);
    /* a bracket cut short keeps at least one trial per rung */
    halving_bracket(4, 4, 3, 81, 20, n, r);
    cr_assert(n[0] == 20 && n[1] == 6 && n[2] == 2 && n[3] == 1 && n[4] == 1);
}

Test(hyperband, s_max_is_exact_and_rejects_bad_inputs)
{
    cr_assert_eq(halving_s_max(1, 9, 3), 2);
    cr_assert_eq(halving_s_max(1, 8.99, 3), 1);
    cr_assert_eq(halving_s_max(1, 1, 3), 0);
    cr_assert_eq(halving_s_max(0.1, 100, 10), 3);
    cr_assert_eq(halving_s_max(1, 9, 1), -1);
    cr_assert_eq(halving_s_max(0, 9, 3), -1);
    cr_assert_eq(halving_s_max(9, 1, 3), -1);
    cr_assert_eq(halving_s_max(1, NAN, 3), -1);
    cr_assert_eq(halving_s_max(1e-9, 1e9, 1.5), -1, "more than HALVING_MAX_RUNGS rungs");
}

Test(hyperband, trials_map_to_brackets_in_the_papers_order)
{
    static const struct {
        long number;
        long iteration, first, n;
        int s;
    } cases[] = {
        { 0, 0, 0, 81, 4 },     { 80, 0, 0, 81, 4 },     { 81, 0, 81, 34, 3 },
        { 114, 0, 81, 34, 3 },  { 115, 0, 115, 15, 2 },  { 130, 0, 130, 8, 1 },
        { 138, 0, 138, 5, 0 },  { 142, 0, 138, 5, 0 },   { 143, 1, 143, 81, 4 },
        { 230, 1, 224, 34, 3 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        halving_slot sl;
        halving_slot_of(cases[k].number, 4, 3, 1000, &sl);
        cr_assert(sl.iteration == cases[k].iteration && sl.s == cases[k].s &&
                      sl.first == cases[k].first && sl.n == cases[k].n,
                  "trial %ld: iteration %ld s %d first %ld n %ld", cases[k].number, sl.iteration,
                  sl.s, sl.first, sl.n);
    }
    halving_slot sl;
    halving_slot_of(90, 4, 3, 100, &sl);
    cr_assert(sl.s == 3 && sl.first == 81 && sl.n == 19, "the budget cuts bracket 3 to 19 trials");
}

Test(hyperband, study_runs_every_bracket_with_the_papers_counts)
{
    /* max 9, eta 3: brackets (9@1, 3@3, 1@9), (5@3, 1@9), (3@9) = 17 trials,
     * then a second cycle cut short by the budget: 9 in bracket 2, 1 in 1. */
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "hb", "hyperband", 27, 1, 9);
    ended E;
    memset(&E, 0, sizeof E);
    pthread_mutex_init(&E.mu, NULL);
    run_fake(s, &F, 1, on_end, &E);
    int stopped = check_sync_study(s, HALVING_HYPERBAND, &c);
    /* every trial ends once, as the live view counts them */
    for (int k = 0; k < 27; k++)
        cr_assert_eq(E.ends[k], 1, "trial %d: %d FINISHED events that are not pauses", k, E.ends[k]);
    cr_assert_eq(E.pruned, stopped, "a FINISHED event (pruned) for each stopped trial");
    double plan = planned_epochs(HALVING_HYPERBAND, 27, 9, 3, 2);
    cr_assert_eq(plan, 69 + 21 + 3 + 6);
    cr_assert_eq(study_budget_used(s), plan, "budget used %g, plan %g", study_budget_used(s), plan);
    cr_assert_eq(F.epochs, (long)plan, "epochs trained %ld = the budgets: nothing re-run", F.epochs);
    cr_assert_eq(F.frees, stopped, "every stopped trial's kept state released (%d of %d)", F.frees,
                 stopped);
    /* one worker runs the brackets strictly in order: s = 2, 1, 0, 2, 1 */
    int last_first = -1;
    for (int i = 0; i < F.nlog; i++)
        if (F.log[i].start && F.log[i].kind == JOB_NEW) {
            cr_assert_gt(F.log[i].number, last_first, "new trials in number order");
            last_first = F.log[i].number;
        }
    int counts[TRIAL_STATE_COUNT];
    study_counts(s, counts);
    cr_assert_eq(counts[TRIAL_COMPLETE], 1 + 1 + 3 + 1 + 1);
    cr_assert_eq(counts[TRIAL_PRUNED], stopped);
    cr_assert_eq(counts[TRIAL_PAUSED], 0, "no trial is left paused");
    close_study(s, &sp);
}

Test(hyperband, a_promotion_continues_training_from_the_paused_state)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "cont", "hyperband", 17, 1, 9);
    run_fake(s, &F, 2, NULL, NULL);
    /* re-running every promoted trial from scratch would cost sum n_i r_i */
    double rerun = 9 * 1 + 3 * 3 + 1 * 9 + 5 * 3 + 1 * 9 + 3 * 9;
    cr_assert_eq(study_budget_used(s), 69);
    cr_assert_eq(F.epochs, 69, "trained %ld epochs; re-runs would train %g", F.epochs, rerun);
    int resumes = 0;
    for (int i = 0; i < F.nlog; i++) {
        const fevent *e = &F.log[i];
        if (!e->start || e->kind != JOB_RESUME)
            continue;
        resumes++;
        cr_assert(e->had_state, "trial %d resumed with its kept state", e->number);
        cr_assert(e->done == 1 || e->done == 3, "trial %d resumed from %g epochs", e->number,
                  e->done);
        cr_assert(e->budget == 3 * e->done, "promoted to eta times its budget: %g -> %g", e->done,
                  e->budget);
    }
    cr_assert_eq(resumes, 3 + 1 + 1, "promotions: 3 + 1 in bracket 2, 1 in bracket 1");
    check_sync_study(s, HALVING_HYPERBAND, &c);
    close_study(s, &sp);
}

Test(hyperband, stop_paused_ends_a_paused_trial_and_cleans_up)
{
    /* By hand, outside any hook: fifo with two trials; trial 0 pauses with a
     * kept state and a saved file, then is stopped. */
    space sp;
    study_config c;
    study *s = new_study(&sp, &c, "stop", "fifo", 2, 1, 9);
    tl_err err = { 0 };
    fake F;
    fake_init(&F, 9);
    objective obj = fake_objective(&F);
    study_set_objective(s, &obj);
    ended E;
    memset(&E, 0, sizeof E);
    pthread_mutex_init(&E.mu, NULL);
    study_set_progress(s, on_end, &E);
    trial_job job;
    cr_assert_eq(study_ask(s, &job, &err), 0, "%s", err.msg);
    cr_assert_eq(study_report(s, 0, 1, 0.75, 1, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(study_stop_paused(s, 0, TRIAL_PRUNED, "x", &err), TL_EINPUT, "running, not paused");
    cr_assert(strstr(err.msg, "not paused"), "%s", err.msg);
    fstate *st = calloc(1, sizeof *st);
    st->epochs = 1;
    cr_assert_eq(fake_state_save(&F, st, job.state_path, &err), TL_ERUNTIME, "no folder yet");
    char dirpath[600];
    snprintf(dirpath, sizeof dirpath, "%s.states", c.storage);
    cr_assert_eq(mkdir(dirpath, 0777), 0);
    cr_assert_eq(fake_state_save(&F, st, job.state_path, &err), 0, "%s", err.msg);
    cr_assert_eq(study_state_put(s, 0, st), 0);
    cr_assert_eq(study_tell(s, 0, TRIAL_PAUSED, 0.75, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(study_stop_paused(s, 0, TRIAL_COMPLETE, "x", &err), TL_EINPUT);
    cr_assert_eq(study_stop_paused(s, 7, TRIAL_PRUNED, "x", &err), TL_EINPUT);
    cr_assert_eq(F.frees, 0);
    cr_assert_eq(access(job.state_path, F_OK), 0);
    cr_assert_eq(study_stop_paused(s, 0, TRIAL_PRUNED, "stopped by hand", &err), 0, "%s", err.msg);
    trial t;
    cr_assert_eq(study_get_trial(s, 0, &t, &err), 0);
    cr_assert_eq(t.state, TRIAL_PRUNED);
    cr_assert_eq(t.value, 0.75, "keeps its last value");
    cr_assert_eq(t.budget, 1);
    cr_assert_str_eq(t.reason, "stopped by hand");
    cr_assert(t.finished >= t.started);
    trial_free(&t);
    cr_assert_eq(F.frees, 1, "the kept state is released through the objective");
    cr_assert_null(study_state_peek(s, 0));
    cr_assert_neq(access(job.state_path, F_OK), 0, "the saved state is deleted");
    cr_assert(E.ends[0] == 1 && E.pruned == 1, "one FINISHED (pruned) event");
    cr_assert_eq(study_stop_paused(s, 0, TRIAL_PRUNED, NULL, &err), TL_EINPUT, "ended already");
    int counts[TRIAL_STATE_COUNT];
    study_counts(s, counts);
    cr_assert(counts[TRIAL_PRUNED] == 1 && counts[TRIAL_PAUSED] == 0);
    study_set_progress(s, NULL, NULL);
    close_study(s, &sp);
}

/* Sleeps about ms milliseconds per epoch so that run times are measurable. */
static int slow_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    struct timespec ts = { 0, 3000000L };
    for (int e = (int)job->budget_done + 1; e <= (int)job->budget; e++)
        nanosleep(&ts, NULL);
    return fake_run(ud, s, job, out);
}

/* Unix time of each trial's first STARTED event and of its last. */
typedef struct starts {
    double first[16], last[16];
} starts;

static void on_start(void *ud, const study_event *ev)
{
    starts *S = ud;
    if (ev->kind != STUDY_EV_STARTED || ev->trial < 0 || ev->trial >= 16)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    if (!(S->first[ev->trial] > 0))
        S->first[ev->trial] = now;
    S->last[ev->trial] = now;
}

Test(hyperband, promoted_trials_keep_their_first_start_and_sum_their_run_time)
{
    space sp;
    study_config c;
    fake F;
    /* bracket 2 only: 9@1, 3@3, 1@9 */
    study *s = fake_study(&sp, &c, &F, "times", "hyperband", 9, 1, 9);
    tl_err err = { 0 };
    objective obj = fake_objective(&F);
    obj.run = slow_run;
    starts S;
    memset(&S, 0, sizeof S);
    cr_assert_eq(study_optimize(s, &obj, 1, on_start, &S, &err), 0, "%s", err.msg);
    trial *tr;
    int n;
    cr_assert_eq(study_trials(s, &tr, &n, &err), 0);
    cr_assert_eq(n, 9);
    int promoted = 0;
    for (int k = 0; k < n; k++) {
        halving_info inf;
        info_of(s, k, &inf);
        char buf[64];
        cr_assert_eq(study_trial_attr_get(s, k, STUDY_ATTR_RUN_SECONDS, buf, sizeof buf), 1,
                     "trial %d has its run time", k);
        double run = strtod(buf, NULL), span = tr[k].finished - tr[k].started;
        cr_assert(isfinite(tr[k].finished) && span >= 0, "trial %d: started %f finished %f", k,
                  tr[k].started, tr[k].finished);
        cr_assert(run >= 0.003 * tr[k].budget * 0.9, "trial %d ran %g s for %g epochs", k, run,
                  tr[k].budget);
        cr_assert(run <= span + 1e-3, "trial %d: run %g s within its span %g s", k, run, span);
        if (inf.rung > 0) {
            promoted++;
            /* the first start (claimed just before its first STARTED event),
             * not the last promotion's */
            cr_assert_lt(tr[k].started, S.first[k], "trial %d", k);
            cr_assert_lt(tr[k].started, S.last[k] - 0.003, "trial %d started %f, promoted %f", k,
                         tr[k].started, S.last[k]);
            cr_assert(span > run + 0.003, "trial %d waited paused: span %g, run %g", k, span, run);
        }
    }
    cr_assert_eq(promoted, 3);
    study_trials_free(tr, n);
    close_study(s, &sp);
}

/* The child: runs the study until epoch `kill_after`, then SIGKILLs itself
 * (before reporting that epoch). */
static void child_dies_at(const study_config *c, const space *sp, long kill_after)
{
    static fake F;
    fake_init(&F, c->max_budget);
    F.kill_after = kill_after;
    objective obj = fake_objective(&F);
    study *s;
    tl_err err = { 0 };
    if (study_open(&s, c, sp, &err))
        _exit(10);
    study_optimize(s, &obj, 1, NULL, NULL, &err);
    _exit(11); /* not reached */
}

static void fork_and_kill(const study_config *c, const space *sp, long kill_after)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
        child_dies_at(c, sp, kill_after);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
}

/* Bracket 2 of max 9, eta 3 with one worker: epochs 1-9 are rung 0 (nine
 * trials at 1 epoch), 10-15 rung 1 (three promoted to 3 epochs), 16-21 the
 * top rung (one promoted to 9).  Killed at epoch 19, the top-rung trial had
 * trained and reported epochs 4, 5 and 6 of its promotion. */
#define KILL_AT_TOP 19

Test(hyperband, resumes_mid_bracket_after_sigkill)
{
    space sp;
    study_config c;
    make_space(&sp);
    make_cfg(&c, "killed", "hyperband", 17, 1, 9);
    fork_and_kill(&c, &sp, KILL_AT_TOP);

    study *s = open_study(&c, &sp);
    tl_err err = { 0 };
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(s, counts), 9);
    cr_assert_eq(counts[TRIAL_WAITING], 0, "nothing restarts from scratch");
    cr_assert_eq(counts[TRIAL_PRUNED], 6, "the six losers of rung 0 were stopped");
    cr_assert_eq(counts[TRIAL_PAUSED], 3, "rung 1's three trials, the promoted one back there");
    trial *tr;
    int n;
    cr_assert_eq(study_trials(s, &tr, &n, &err), 0, "%s", err.msg);
    int back = -1;
    for (int k = 0; k < n; k++)
        if (strstr(tr[k].reason, "back to its pause"))
            back = k;
    cr_assert(back >= 0, "the trial that was running is back to its pause");
    cr_assert_eq(tr[back].state, TRIAL_PAUSED);
    cr_assert_eq(tr[back].budget, 3, "at the budget of its last pause, not %g", tr[back].budget);
    cr_assert_eq(tr[back].nsteps, 3, "its reports of epochs 4-6 dropped, 1-3 kept");
    cr_assert_eq(trial_last_step(&tr[back]), 3);
    cr_assert_float_eq(tr[back].value, value_at(tr[back].values[0], 3), 1e-12);
    halving_info inf;
    info_of(s, back, &inf);
    cr_assert(inf.rung == 1 && !strcmp(inf.status, "paused") && inf.nvalues == 2,
              "its record is back at rung 1: rung %d %s %d values", inf.rung, inf.status,
              inf.nvalues);
    study_trials_free(tr, n);
    double kept = study_budget_used(s);
    cr_assert_eq(kept, 6 * 1 + 3 * 3, "epochs kept from the killed process (got %g)", kept);

    fake F;
    fake_init(&F, 9);
    run_fake(s, &F, 1, NULL, NULL);
    check_sync_study(s, HALVING_HYPERBAND, &c);
    cr_assert_eq(study_budget_used(s), 69);
    cr_assert_eq(F.epochs, 69 - (long)kept,
                 "the resumed process trained %ld epochs: only the missing %g (rungs 0 and 1 of "
                 "bracket 2 are not repeated)", F.epochs, 69 - kept);
    /* the dead promotion is promoted again and continues from epoch 3 */
    int resumed_back = 0, from_disk = 0;
    for (int i = 0; i < F.nlog; i++) {
        const fevent *e = &F.log[i];
        if (!e->start || e->kind != JOB_RESUME)
            continue;
        int paused_here = 0;
        for (int j = 0; j < i; j++)
            paused_here |= !F.log[j].start && F.log[j].number == e->number;
        if (!paused_here) {
            cr_assert(e->had_state && e->done > 0, "trial %d resumed from its saved state",
                      e->number);
            from_disk++;
        }
        if (e->number == back) {
            cr_assert(e->had_state && e->done == 3 && e->budget == 9,
                      "trial %d resumed from %g epochs (state %d) to %g", back, e->done,
                      e->had_state, e->budget);
            resumed_back++;
        }
    }
    cr_assert_eq(resumed_back, 1);
    cr_assert_geq(from_disk, 1, "paused trials of the killed process resume from saved states");
    close_study(s, &sp);
}

Test(hyperband, a_dead_promotion_without_its_saved_state_starts_over)
{
    space sp;
    study_config c;
    make_space(&sp);
    make_cfg(&c, "nostate", "hyperband", 17, 1, 9);
    fork_and_kill(&c, &sp, KILL_AT_TOP);
    /* find the running trial in the database and delete its saved state */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(c.storage, &h), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT number FROM trials WHERE state = 'running'", -1, &q,
                                    NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int dead = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    char path[700];
    snprintf(path, sizeof path, "%s.states/trial-%d.state", c.storage, dead);
    cr_assert_eq(unlink(path), 0, "%s", path);

    study *s = open_study(&c, &sp);
    tl_err err = { 0 };
    trial t;
    cr_assert_eq(study_get_trial(s, dead, &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t.state, TRIAL_WAITING, "no state to resume from: re-run from scratch");
    cr_assert(t.budget == 0 && t.nsteps == 0 && strstr(t.reason, "requeued"), "%g %d %s",
              t.budget, t.nsteps, t.reason);
    trial_free(&t);
    fake F;
    fake_init(&F, 9);
    run_fake(s, &F, 1, NULL, NULL);
    check_sync_study(s, HALVING_HYPERBAND, &c);
    cr_assert_eq(study_budget_used(s), 69);
    cr_assert_eq(F.epochs, 69 - (6 + 2 * 3), "the dead trial's 9 epochs trained again");
    close_study(s, &sp);
}

Test(hyperband, resuming_with_other_budgets_is_refused)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "changed", "hyperband", 5, 1, 9);
    tl_err err = { 0 };
    objective obj = fake_objective(&F);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    study_close(s);
    c.max_budget = 27;
    c.trials = 8;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    fake_init(&F, 27);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "bracket") && strstr(err.msg, "resume with the settings"), "%s",
              err.msg);
    close_study(s, &sp);
}

Test(hyperband, bad_settings_are_rejected_at_open)
{
    space sp;
    study_config c;
    make_space(&sp);
    study *s = NULL;
    tl_err err = { 0 };
    make_cfg(&c, "bad", "hyperband", 5, 1, 9);
    halving_options ho = { .eta = 1 };
    c.scheduler_opts = &ho;
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "study.eta"), "%s", err.msg);
    cr_assert_null(s);
    make_cfg(&c, "bad", "asha", 5, 1e-6, 1e6);
    ho.eta = 1.2;
    c.scheduler_opts = &ho;
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "spans more than"), "%s", err.msg);
    space_free(&sp);
}

Test(hyperband, works_with_the_sobol_sampler)
{
    space sp;
    study_config c;
    make_space(&sp);
    make_cfg(&c, "sobol", "hyperband", 17, 1, 9);
    snprintf(c.sampler, sizeof c.sampler, "sobol");
    fake F;
    fake_init(&F, 9);
    objective obj = fake_objective(&F);
    study *s = open_study(&c, &sp);
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    check_sync_study(s, HALVING_HYPERBAND, &c);
    cr_assert_eq(F.epochs, 69);
    close_study(s, &sp);
}

Test(hyperband, rung_table_lists_every_rung)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "table", "hyperband", 17, 1, 9);
    tl_err err = { 0 };
    objective obj = fake_objective(&F);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    char *attrs[17];
    for (int k = 0; k < 17; k++) {
        char buf[2048];
        cr_assert_eq(study_trial_attr_get(s, k, "hb", buf, sizeof buf), 1);
        attrs[k] = strdup(buf);
    }
    char *text;
    cr_assert_eq(halving_rung_table((const char *const *)attrs, 17, STUDY_MINIMIZE, &text, &err), 0,
                 "%s", err.msg);
    /* header + 3 + 2 + 1 rungs */
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 1 + 6, "%s", text);
    long it, entered, promoted, stopped, complete, failed, open;
    int br, rung;
    double budget, best;
    char planned[16];
    const char *line = strchr(text, '\n') + 1; /* bracket 2, rung 0 */
    cr_assert_eq(sscanf(line, "%ld %d %d %lf %15s %ld %ld %ld %ld %ld %ld %lf", &it, &br, &rung,
                        &budget, planned, &entered, &promoted, &stopped, &complete, &failed, &open,
                        &best),
                 12, "%s", text);
    cr_assert(it == 0 && br == 2 && rung == 0 && budget == 1 && !strcmp(planned, "9") &&
                  entered == 9 && promoted == 3 && stopped == 6 && complete == 0 && open == 0,
              "%s", text);
    cr_assert(best > 1 && best < 1.5, "best value at 1 epoch: f + 1: %s", text);
    free(text);
    free(attrs[3]);
    attrs[3] = strdup("{\"bracket\": 1}");
    cr_assert_eq(halving_rung_table((const char *const *)attrs, 17, STUDY_MINIMIZE, &text, &err),
                 TL_EINPUT);
    cr_assert(strstr(err.msg, "trial 3"), "%s", err.msg);
    for (int k = 0; k < 17; k++)
        free(attrs[k]);
    close_study(s, &sp);
}

Test(hyperband, tunelab_run_on_spirals_reports_the_budget, .timeout = 120)
{
    char path[128], db[128];
    snprintf(path, sizeof path, "%s/hb.ini", dir);
    snprintf(db, sizeof db, "%s/hb.db", dir);
    cli_write(path, "[data]\ndataset = spirals\nsamples = 300\nclasses = 3\nval_fraction = 0.2\n"
                    "[model]\ntype = mlp\nlayers = 1\nhidden = 16\n"
                    "[train]\nlr = 1e-2\nbatch_size = 32\nepochs = 9\nseed = 3\n"
                    "[study]\nname = hb\nstorage = hb.db\ntrials = 17\nscheduler = hyperband\n"
                    "min_budget = 1\nmax_budget = 9\neta = 3\nmetric = val_accuracy\n"
                    "[space]\ntrain.lr = loguniform(3e-3, 3e-2)\n");
    cli_out r = cli_run(dir, "run hb.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    double n_trials = num(j, "n_trials"), n_complete = num(j, "n_complete"),
           n_failed = num(j, "n_failed"), budget = num(j, "budget_used");
    cJSON *best = cJSON_GetObjectItem(j, "best_value");
    cr_assert_eq(n_trials, 17);
    cr_assert_eq(n_failed, 0, "%s", r.out);
    cr_assert_eq(n_complete, 1 + 1 + 3, "one trial per bracket top rung, 3 in bracket 0: %s", r.out);
    cr_assert_eq(budget, 69, "epochs = the sum over rungs, not re-runs: %s", r.out);
    cr_assert(cJSON_IsNumber(best) && best->valuedouble > 0.34 && best->valuedouble <= 1, "%s",
              r.out);
    cJSON_Delete(j);
    cli_free(&r);
    /* every trial carries its rung record */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM trial_attrs WHERE key = 'hb'", -1, &q,
                                    NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 17);
    sqlite3_finalize(q);
    sqlite3_close(h);
}

/* ---- sha ---- */

Test(sha, promotes_the_best_third_once_the_whole_rung_finished)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "sha", "sha", 9, 1, 9);
    tl_err err = { 0 };
    run_fake(s, &F, 2, NULL, NULL);
    check_sync_study(s, HALVING_SHA, &c);
    /* synchronous: with 2 workers, a promotion to rung i+1 starts only after
     * all n_i trials ended rung i */
    static const long N[] = { 9, 3, 1 };
    static const double R[] = { 1, 3, 9 };
    for (int i = 0; i < F.nlog; i++) {
        const fevent *e = &F.log[i];
        if (!e->start || e->kind != JOB_RESUME)
            continue;
        int rung = e->budget == 3 ? 1 : 2;
        int ended = 0;
        for (int j = 0; j < i; j++)
            ended += !F.log[j].start && F.log[j].budget == R[rung - 1];
        cr_assert_eq(ended, N[rung - 1], "promotion of trial %d to %g after %d of %ld ended",
                     e->number, e->budget, ended, N[rung - 1]);
    }
    /* the complete trial is the best of all nine by f(x) */
    trial *tr;
    int n;
    cr_assert_eq(study_trials(s, &tr, &n, &err), 0);
    double fx[9];
    int winner = -1;
    for (int k = 0; k < 9; k++) {
        fx[k] = f_of(tr[k].values[0]);
        if (tr[k].state == TRIAL_COMPLETE)
            winner = k;
    }
    double sorted[9];
    memcpy(sorted, fx, sizeof fx);
    qsort(sorted, 9, sizeof *sorted, by_f);
    cr_assert(winner >= 0 && fx[winner] == sorted[0]);
    cr_assert_eq(study_budget_used(s), 9 + 3 * 2 + 6);
    cr_assert_eq(F.epochs, 21);
    study_trials_free(tr, n);
    close_study(s, &sp);
}

Test(sha, keeps_one_trial_per_rung_when_n_is_small)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "small", "sha", 4, 1, 9);
    tl_err err = { 0 };
    objective obj = fake_objective(&F);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    check_sync_study(s, HALVING_SHA, &c);
    cr_assert_eq(study_budget_used(s), 4 * 1 + 1 * 2 + 1 * 6);
    cr_assert_eq(F.epochs, 12);
    close_study(s, &sp);
}

/* ---- asha (driven by hand through ask / report / tell) ---- */

/* Asks; expects `kind` (NEW or RESUME) and returns the trial number. */
static int ask_expect(study *s, int kind, double budget)
{
    trial_job job;
    tl_err err = { 0 };
    cr_assert_eq(study_ask(s, &job, &err), 0, "%s", err.msg);
    cr_assert_eq(job.kind, kind, "asked %s, got %s (trial %d)", study_job_kind_str(kind),
                 study_job_kind_str(job.kind), job.number);
    if (kind == JOB_NEW || kind == JOB_RESUME)
        cr_assert_eq(job.budget, budget, "trial %d: budget %g, expected %g", job.number, job.budget,
                     budget);
    return job.number;
}

/* Trial k reports value at each epoch (from+1 .. to) and is told what the
 * last decision says. */
static void train_to(study *s, int k, int from, int to, double value, int expect_last)
{
    tl_err err = { 0 };
    int dec = -1;
    for (int e = from + 1; e <= to; e++) {
        cr_assert_eq(study_report(s, k, e, value, e, &dec, NULL, &err), 0, "%s", err.msg);
        if (e < to)
            cr_assert_eq(dec, DECIDE_CONTINUE, "trial %d epoch %d", k, e);
    }
    cr_assert_eq(dec, expect_last, "trial %d at %d: %s", k, to, study_decision_str(dec));
    cr_assert_eq(study_tell(s, k, expect_last == DECIDE_PAUSE ? TRIAL_PAUSED : TRIAL_COMPLETE, value,
                            NULL, &err),
                 0, "%s", err.msg);
}

Test(asha, promotes_as_soon_as_a_trial_is_in_the_top_third)
{
    space sp;
    study_config c;
    study *s = new_study(&sp, &c, "asha", "asha", 10, 1, 9);
    /* rung 0 (1 epoch): floor(m/3) of m results may go on */
    train_to(s, ask_expect(s, JOB_NEW, 1), 0, 1, 5.0, DECIDE_PAUSE);  /* 0 */
    train_to(s, ask_expect(s, JOB_NEW, 1), 0, 1, 3.0, DECIDE_PAUSE);  /* 1 */
    train_to(s, ask_expect(s, JOB_NEW, 1), 0, 1, 4.0, DECIDE_PAUSE);  /* 2 */
    int k = ask_expect(s, JOB_RESUME, 3);
    cr_assert_eq(k, 1, "3 results: the best (trial 1) is promoted at once");
    train_to(s, 1, 1, 3, 2.0, DECIDE_PAUSE);
    /* top third of rung 0 already promoted, rung 1 has one result: no
     * promotion, and no worker waits: two new trials side by side */
    int a = ask_expect(s, JOB_NEW, 1), b = ask_expect(s, JOB_NEW, 1);
    cr_assert(a == 3 && b == 4);
    train_to(s, 3, 0, 1, 6.0, DECIDE_PAUSE);
    train_to(s, 4, 0, 1, 4.5, DECIDE_PAUSE);
    /* 5 results: top 1 = trial 1, promoted: a new trial */
    cr_assert_eq(ask_expect(s, JOB_NEW, 1), 5);
    train_to(s, 5, 0, 1, 7.0, DECIDE_PAUSE);
    /* 6 results: top 2 = trials 1 and 2: trial 2, paused since long, goes on */
    cr_assert_eq(ask_expect(s, JOB_RESUME, 3), 2);
    halving_info inf;
    info_of(s, 2, &inf);
    cr_assert(inf.rung == 1 && !strcmp(inf.status, "running") && inf.nvalues == 1 &&
              inf.value[0] == 4.0 && !inf.has_n && inf.nrungs == 3);
    train_to(s, 2, 1, 3, 1.5, DECIDE_PAUSE);
    /* rung 1 has 2 results (trial 1: 2.0, trial 2: 1.5): floor(2/3) = 0 */
    cr_assert_eq(ask_expect(s, JOB_NEW, 1), 6);
    close_study(s, &sp);
}

Test(asha, finishes_the_best_trial_when_the_budget_ends_early)
{
    space sp;
    study_config c;
    study *s = new_study(&sp, &c, "drain", "asha", 2, 1, 9);
    train_to(s, ask_expect(s, JOB_NEW, 1), 0, 1, 5.0, DECIDE_PAUSE);
    int b = ask_expect(s, JOB_NEW, 1);
    /* budget used, trial 1 still running: wait for it */
    ask_expect(s, JOB_WAIT, 0);
    train_to(s, b, 0, 1, 3.0, DECIDE_PAUSE);
    cr_assert_eq(ask_expect(s, JOB_RESUME, 3), 1);
    train_to(s, 1, 1, 3, 2.0, DECIDE_PAUSE);
    cr_assert_eq(ask_expect(s, JOB_RESUME, 9), 1);
    train_to(s, 1, 3, 9, 1.0, DECIDE_CONTINUE);
    ask_expect(s, JOB_DONE, 0);
    halving_info inf;
    info_of(s, 0, &inf);
    cr_assert_str_eq(inf.status, "stopped");
    info_of(s, 1, &inf);
    cr_assert(inf.rung == 2 && !strcmp(inf.status, "complete") && inf.nvalues == 3 &&
              inf.value[0] == 3.0 && inf.value[1] == 2.0 && inf.value[2] == 1.0);
    close_study(s, &sp);
}

Test(asha, two_workers_train_every_epoch_once)
{
    space sp;
    study_config c;
    fake F;
    study *s = fake_study(&sp, &c, &F, "asha2", "asha", 30, 1, 9);
    tl_err err = { 0 };
    run_fake(s, &F, 2, NULL, NULL);
    cr_assert_eq(F.epochs, (long)study_budget_used(s), "no epoch trained twice");
    trial *tr;
    int n;
    cr_assert_eq(study_trials(s, &tr, &n, &err), 0);
    cr_assert_eq(n, 30);
    int at[3] = { 0 }, rung[30], complete = 0;
    double val[30][3];
    for (int k = 0; k < n; k++) {
        halving_info inf;
        info_of(s, k, &inf);
        rung[k] = inf.rung;
        for (int i = 0; i <= inf.rung; i++) {
            at[i]++;
            val[k][i] = inf.value[i];
            cr_assert(isfinite(inf.value[i]), "trial %d has its rung %d value", k, i);
        }
        complete += tr[k].state == TRIAL_COMPLETE;
        cr_assert(tr[k].state == TRIAL_COMPLETE || !strcmp(inf.status, "stopped"), "trial %d: %s",
                  k, inf.status);
        cr_assert(tr[k].state != TRIAL_COMPLETE || (tr[k].budget == 9 && inf.rung == 2));
    }
    /* at the end, the top floor(m/3) of every rung's m results went on
     * (earlier promotions, decided on fewer results, may add more) */
    cr_assert_eq(at[0], 30);
    for (int i = 0; i < 2; i++) {
        cr_assert_geq(at[i + 1], at[i] / 3, "rung %d: %d of %d", i + 1, at[i + 1], at[i]);
        for (int k = 0; k < n; k++) {
            if (rung[k] < i)
                continue;
            int better = 0;
            for (int j = 0; j < n; j++)
                better += rung[j] >= i && val[j][i] < val[k][i];
            if (better < at[i] / 3)
                cr_assert_gt(rung[k], i, "trial %d is in the top third of rung %d but stayed", k, i);
        }
    }
    cr_assert_eq(complete, at[2]);
    cr_assert_geq(complete, 1);
    cr_assert_eq(study_budget_used(s), 30 + at[1] * 2 + at[2] * 6);
    study_trials_free(tr, n);
    close_study(s, &sp);
}

/* ---- bayes + hyperband (BOHB-like) ---- */

TestSuite(bohb, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

#include "hpo/benchfn.h"
#include "tests/epoch_objective.h"

#define MF_C 20.0 /* value = branin(x) + MF_C / epochs */

/* value = branin(x) + MF_C / epochs (tests/epoch_objective.h). */
static int mf_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    return eo_train(s, job, out, benchfn_eval_unit(benchfn_find("branin"), job->values), MF_C);
}

/* Best branin value among the trials trained to max_budget (the study's
 * best value less MF_C / max_budget); *seconds: wall time of the study. */
static double mf_study(const char *sampler, uint64_t seed, int trials, double max_budget,
                       double *seconds)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "x0", "uniform(0, 1)", "x1", "uniform(0, 1)", NULL);
    study_config c;
    char name[64];
    snprintf(name, sizeof name, "mf-%s-%llu", sampler, (unsigned long long)seed);
    make_cfg(&c, name, "hyperband", trials, 1, max_budget);
    snprintf(c.sampler, sizeof c.sampler, "%s", sampler);
    c.seed = seed;
    objective obj = { .run = mf_run, .state_free = eo_free };
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *seconds = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    double best = NAN;
    cr_assert(study_best(s, NULL, &best));
    study_close(s);
    space_free(&sp);
    return best - MF_C / max_budget;
}

#define BOHB_SEEDS 8

Test(bohb, bayes_hyperband_beats_random_hyperband_on_a_multi_fidelity_branin)
{
    /* value = branin(x) + 20 / epochs over [0,1]^2, hyperband max 9, eta 3,
     * three cycles (51 trials, 207 epochs), one worker, seeds 1..8: the same
     * trial budget and, for trial k, the same random draw in both samplers'
     * studies.  Measured: random's best is 0.3992..4.30 (mean regret 1.23
     * over branin's 0.397887), bayes's 0.3979..0.4007 (mean regret < 0.001),
     * bayes better on all eight seeds. */
    const double fstar = benchfn_find("branin")->fstar;
    double reg_r = 0, reg_b = 0, sec_r = 0, sec_b = 0;
    int wins = 0;
    for (uint64_t sd = 1; sd <= BOHB_SEEDS; sd++) {
        double tr, tb;
        double r = mf_study("random", sd, 51, 9, &tr);
        double b = mf_study("bayes", sd, 51, 9, &tb);
        cr_log_info("seed %llu: random %.4f (%.2f s), bayes %.4f (%.2f s)", (unsigned long long)sd,
                    r, tr, b, tb);
        reg_r += (r - fstar) / BOHB_SEEDS;
        reg_b += (b - fstar) / BOHB_SEEDS;
        sec_r += tr;
        sec_b += tb;
        wins += b < r;
    }
    cr_log_info("mean regret: random %.4f, bayes %.4f; seconds %.2f and %.2f", reg_r, reg_b, sec_r,
                sec_b);
    cr_assert_lt(reg_b, 0.02, "bayes + hyperband mean regret %.4f", reg_b);
    cr_assert_lt(reg_b, reg_r / 10, "bayes %.4f, random %.4f", reg_b, reg_r);
    cr_assert_geq(wins, BOHB_SEEDS - 2, "bayes better on %d of %d seeds", wins, BOHB_SEEDS);
}

/* A hand-made history row for the sampler tests below. */
static void mf_trial(trial *t, int number, double x, int state, double budget, double value)
{
    cr_assert_eq(trial_init(t, 1), 0);
    t->number = number;
    t->values[0] = x;
    t->state = state;
    t->budget = budget;
    t->value = value;
}

Test(bohb, fits_the_largest_budget_with_d_plus_2_observations)
{
    /* d = 1: the GP needs 3 observations at a budget.  Budget 1 says the
     * optimum is near 0.9, budget 3 near 0.1, budget 9 near 0.5. */
    space sp;
    make_space(&sp);
    study_config c;
    make_cfg(&c, "levels", "hyperband", 40, 1, 9);
    snprintf(c.sampler, sizeof c.sampler, "bayes");
    void *self = NULL;
    tl_err err = { 0 };
    cr_assert_eq(sampler_bayes_vt.init(&self, &sp, NULL, &c, 3, &err), 0, "%s", err.msg);
    trial t[16];
    const trial *h[16];
    int n = 0;
    static const double low[] = { 0.7, 0.75, 0.8, 0.85, 0.9, 0.95 };
    for (int i = 0; i < 6; i++, n++) /* stopped at rung 0 */
        mf_trial(&t[n], n, low[i], TRIAL_PRUNED, 1, 1 + (low[i] - 0.9) * (low[i] - 0.9));
    mf_trial(&t[n], n, 0.05, TRIAL_PAUSED, 3, 0.3 + 0.0025), n++;
    mf_trial(&t[n], n, 0.6, TRIAL_PAUSED, 3, 0.3 + 0.25), n++;
    /* promoted to 9: its value at 3 is its intermediate value at step 3 */
    mf_trial(&t[n], n, 0.15, TRIAL_COMPLETE, 9, 0.1225);
    for (int e = 1; e <= 9; e++)
        cr_assert_eq(trial_set_inter(&t[n], e, e == 3 ? 0.3 + 0.0025 : e < 3 ? 5 : 0.1225), 0);
    n++;
    mf_trial(&t[n], n, 0.3, TRIAL_RUNNING, 1, NAN), n++; /* pending */
    for (int k = 0; k < n; k++)
        h[k] = &t[k];
    double v[1];
    rng r;
    rng_seed(&r, 3, 100);
    cr_assert_eq(sampler_bayes_vt.suggest(self, &sp, h, n, STUDY_MINIMIZE, n, &r, v, &err), 0, "%s",
                 err.msg);
    cr_assert(fabs(v[0] - 0.1) < 0.15,
              "budget 3 has 3 observations (one from an intermediate value): x = %g", v[0]);
    /* two more trials complete at 9: budget 9 now has 3 and wins */
    mf_trial(&t[n], n, 0.48, TRIAL_COMPLETE, 9, 0.0004), n++;
    mf_trial(&t[n], n, 0.56, TRIAL_COMPLETE, 9, 0.0036), n++;
    for (int k = 0; k < n; k++)
        h[k] = &t[k];
    rng_seed(&r, 3, 101);
    cr_assert_eq(sampler_bayes_vt.suggest(self, &sp, h, n, STUDY_MINIMIZE, n, &r, v, &err), 0, "%s",
                 err.msg);
    cr_assert(fabs(v[0] - 0.5) < 0.15, "budget 9 has 3 observations: x = %g", v[0]);
    for (int k = 0; k < n; k++)
        trial_free(&t[k]);
    sampler_bayes_vt.free(self);
    space_free(&sp);
}
