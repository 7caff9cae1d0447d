/* tests/test_pbt.c: population-based training (hpo/pbt.h, hpo/sched_pbt*.c):
 * the explore step (factors, bounds, resampling, integers, categoricals,
 * fixed parameters, conditions), the lineage records and the schedule
 * followed back through exploits, the scheduler's settings, the toy problem
 * of Jaderberg et al. 2017 (fig. 2) driven through the real scheduler with
 * an in-memory objective (PBT against explore only, exploit only and grid
 * search), synchronous and asynchronous runs (lineage stored, members keep
 * their numbers, copies exact), resume after a SIGKILL, and, through the
 * tunelab binary, exploit with the CLI's training objective (a copied
 * member continues bit-identically to its source) and `tunelab
 * pbt-replay`. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/pbt.h"
#include "tests/pbt_toy.h"
#include "hpo/scheduler.h"
#include "tests/cli_util.h"
#include "tests/lineage_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

static char dir[64];

/* Databases on tmpfs when there is one: the toy studies commit often. */
static void setup(void)
{
    struct stat st;
    int shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
    tmpdir_make_in(dir, sizeof dir, shm ? "/dev/shm" : "/tmp", "tl_pbt");
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

TestSuite(pbt, .init = setup, .fini = teardown, .timeout = 60);

/* ---- explore ---- */

static pbt_options explore_cfg(double resample)
{
    pbt_options c;
    pbt_options_default(&c);
    c.resample_probability = resample;
    return c;
}

Test(pbt, explore_multiplies_floats_by_a_listed_factor_and_clips_to_bounds)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "a", "uniform(0, 1)", "lr", "loguniform(1e-4, 1e-1)", NULL);
    pbt_options c = explore_cfg(0);
    int live[2] = { 1, 1 };
    rng r;
    rng_seed(&r, 7, 0);
    int seen_low = 0, seen_high = 0;
    for (int k = 0; k < 200; k++) {
        double v[2] = { 0.5, 1e-3 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0, "%s", err.msg);
        cr_assert(v[0] == 0.5 * 0.8 || v[0] == 0.5 * 1.2, "a = %.17g", v[0]);
        cr_assert(v[1] == 1e-3 * 0.8 || v[1] == 1e-3 * 1.2, "lr = %.17g", v[1]);
        seen_low += v[0] == 0.5 * 0.8;
        seen_high += v[0] == 0.5 * 1.2;
    }
    cr_assert(seen_low > 60 && seen_high > 60, "factors drawn %d / %d times", seen_low, seen_high);
    /* at the bounds: clipped */
    for (int k = 0; k < 50; k++) {
        double v[2] = { 0.95, 0.09 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0);
        cr_assert(v[0] == 1.0 || v[0] == 0.95 * 0.8, "a = %.17g", v[0]);
        cr_assert(v[1] == 0.1 || v[1] == 0.09 * 0.8, "lr = %.17g", v[1]);
    }
    c.factors[0] = 0.5;
    c.factors[1] = 2.0;
    c.factors[2] = 3.0;
    c.nfactors = 3;
    int seen3 = 0;
    for (int k = 0; k < 100; k++) {
        double v[2] = { 0.1, 1e-3 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0);
        cr_assert(fabs(v[0] - 0.05) < 1e-15 || fabs(v[0] - 0.2) < 1e-15 ||
                      fabs(v[0] - 0.3) < 1e-15, "a = %.17g", v[0]);
        seen3 += fabs(v[0] - 0.3) < 1e-15;
    }
    cr_assert(seen3 > 15, "the third factor drawn %d times", seen3);
    space_free(&sp);
}

Test(pbt, explore_resamples_from_the_space_with_the_given_probability)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "a", "uniform(-2, 3)", NULL);
    pbt_options c = explore_cfg(0.25);
    int live[1] = { 1 };
    rng r;
    rng_seed(&r, 11, 0);
    int n = 4000, resampled = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++) {
        double v = 1.0;
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, &v, &err), 0);
        cr_assert(v >= -2 && v <= 3, "out of bounds: %g", v);
        if (v != 0.8 && v != 1.2) {
            resampled++;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    double frac = (double)resampled / n; /* sd ~ 0.007 */
    cr_assert(fabs(frac - 0.25) < 0.03, "resampled a fraction %.3f, expected 0.25", frac);
    cr_assert(lo < -1.8 && hi > 2.8, "resampled values span [%g, %g], not the space", lo, hi);
    c.resample_probability = 1;
    for (int k = 0; k < 100; k++) {
        double v = 1.0;
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, &v, &err), 0);
        cr_assert(v != 0.8 && v != 1.2);
    }
    space_free(&sp);
}

Test(pbt, explore_moves_ints_and_categoricals_to_a_neighbour)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "n", "int(2, 6)", "act", "choice(relu, gelu, tanh, silu)", NULL);
    pbt_options c = explore_cfg(0);
    int live[2] = { 1, 1 };
    rng r;
    rng_seed(&r, 3, 0);
    int up = 0, down = 0;
    for (int k = 0; k < 200; k++) {
        double v[2] = { 4, 1 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0);
        cr_assert(v[0] == 3 || v[0] == 5, "n = %g", v[0]);
        cr_assert(v[1] == 0 || v[1] == 2, "act = %g", v[1]);
        up += v[0] == 5;
        down += v[0] == 3;
    }
    cr_assert(up > 60 && down > 60, "int moves %d up, %d down", up, down);
    for (int k = 0; k < 20; k++) {
        double v[2] = { 2, 3 }; /* at the lower / upper end: inward */
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0);
        cr_assert_eq(v[0], 3);
        cr_assert_eq(v[1], 2);
        double w[2] = { 6, 0 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, w, &err), 0);
        cr_assert_eq(w[0], 5);
        cr_assert_eq(w[1], 1);
    }
    c.resample_probability = 1;
    int hits[4] = { 0 };
    for (int k = 0; k < 400; k++) {
        double v[2] = { 4, 1 };
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0);
        cr_assert(v[0] >= 2 && v[0] <= 6 && v[0] == floor(v[0]));
        hits[(int)v[1]]++;
    }
    for (int k = 0; k < 4; k++)
        cr_assert(hits[k] > 50, "choice %d resampled %d times of 400", k, hits[k]);
    space_free(&sp);
}

Test(pbt, explore_leaves_fixed_parameters_and_handles_conditions)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "opt", "choice(sgd, adamw)",
                  "momentum", "uniform(0.5, 0.99) if opt == sgd",
                  "width", "int(8, 64)",
                  NULL);
    pbt_options c = explore_cfg(0);
    int live[3];
    pbt_live_mask(&sp, "opt, momentum", live);
    cr_assert(live[0] && live[1] && !live[2]);
    rng r;
    rng_seed(&r, 5, 0);
    int to_sgd = 0;
    for (int k = 0; k < 100; k++) {
        double v[3] = { 1, NAN, 17 }; /* adamw: momentum inactive */
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, v, &err), 0, "%s", err.msg);
        cr_assert_eq(v[2], 17, "a fixed parameter moved");
        cr_assert_eq(v[0], 0, "the only neighbour of adamw is sgd");
        cr_assert(v[1] >= 0.5 && v[1] <= 0.99, "momentum switched on without a value: %g", v[1]);
        to_sgd++;
        double w[3] = { 0, 0.9, 17 }; /* sgd -> adamw switches momentum off */
        cr_assert_eq(pbt_explore(&sp, live, &c, &r, w, &err), 0);
        cr_assert_eq(w[0], 1);
        cr_assert(isnan(w[1]));
    }
    cr_assert_eq(to_sgd, 100);
    pbt_live_mask(&sp, "*", live);
    cr_assert(live[0] && live[1] && live[2]);
    pbt_live_mask(&sp, "train.lr,width ,nothing", live);
    cr_assert(!live[0] && !live[1] && live[2]);
    space_free(&sp);
}

/* ---- lineage and schedule ---- */

static pbt_entry entry(int kind, int step, int pos, double value, int ready, int src, int src_entry,
                       double x)
{
    pbt_entry e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.step = step;
    e.pos = pos;
    e.value = value;
    e.ready = ready;
    e.src = src;
    e.src_entry = src_entry;
    for (int i = 0; i < SPACE_MAX_PARAMS; i++)
        e.values[i] = NAN;
    e.values[0] = x;
    e.values[1] = 1;
    return e;
}

static void add(pbt_lineage *l, pbt_entry e)
{
    cr_assert_eq(pbt_lineage_append(l, &e, NULL), 0);
}

Test(pbt, lineage_json_round_trips_exactly)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "lr", "loguniform(1e-5, 1)",
                  "act", "choice(relu, gelu)",
                  "extra", "uniform(0, 1) if act == relu",
                  NULL);
    pbt_lineage l = { 0 };
    add(&l, entry(PBT_START, 0, 0, NAN, 0, -1, -1, 0.1 / 3));
    add(&l, entry(PBT_EXPLOIT, 9, 8, 0.123456789012345678, 0, 3, 4, 1e-5 * 1.2 * 1.2));
    add(&l, entry(PBT_FINAL, 12, 12, -2.5, 0, -1, -1, 0.7));
    char *json = pbt_lineage_to_json(&sp, &l);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"act\":\"gelu\"") && strstr(json, "\"extra\":null"), "%s", json);
    pbt_lineage back = { 0 };
    cr_assert_eq(pbt_lineage_parse(&sp, json, &back, &err), 0, "%s", err.msg);
    cr_assert_eq(back.n, 3);
    for (int k = 0; k < 3; k++) {
        const pbt_entry *a = &l.e[k], *b = &back.e[k];
        cr_assert_eq(a->kind, b->kind);
        cr_assert_eq(a->step, b->step);
        cr_assert_eq(a->pos, b->pos);
        cr_assert_eq(a->ready, b->ready);
        cr_assert_eq(a->src, b->src);
        cr_assert_eq(a->src_entry, b->src_entry);
        cr_assert(isnan(a->value) ? isnan(b->value) : a->value == b->value, "value %d", k);
        cr_assert_eq(a->values[0], b->values[0], "lr of entry %d: %.17g vs %.17g", k, a->values[0],
                     b->values[0]);
        cr_assert_eq(b->values[1], 1);
        cr_assert(isnan(b->values[2]));
    }
    free(json);
    pbt_lineage_free(&back);
    pbt_lineage_free(&l);
    pbt_lineage_free(NULL);
    space_free(&sp);
}

Test(pbt, lineage_parse_rejects_bad_records)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "act", "choice(relu, gelu)", NULL);
    const char *bad[] = {
        "{}",
        "[{\"kind\":\"jump\",\"step\":0,\"pos\":0,\"src\":-1,\"src_entry\":-1,\"values\":{}}]",
        "[{\"kind\":\"ready\",\"step\":1.5,\"pos\":0,\"src\":-1,\"src_entry\":-1,\"values\":{}}]",
        "[{\"kind\":\"ready\",\"step\":1,\"pos\":1,\"src\":-1,\"src_entry\":-1}]",
        "[{\"kind\":\"ready\",\"step\":1,\"pos\":1,\"src\":-1,\"src_entry\":-1,"
        "\"values\":{\"act\":\"tanh\"}}]",
        "not json",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        pbt_lineage l = { 0 };
        err.msg[0] = 0;
        cr_assert_eq(pbt_lineage_parse(&sp, bad[k], &l, &err), TL_EINPUT, "accepted %s", bad[k]);
        cr_assert(strstr(err.msg, "lineage") != NULL, "message: %s", err.msg);
        cr_assert_eq(l.n, 0);
    }
    space_free(&sp);
}

/* Three members, interval 2, final 6.  Member 1 copies member 0 at 2
 * (sync, one unit late: its own unit 2..3 is thrown away); member 2 copies
 * member 1 at 4; member 2 finishes.  Its weights: member 0 trained 0..2
 * with x = 10, member 1 trained 2..4 with 11, member 2 4..6 with 12. */
static void three_members(pbt_lineage *L)
{
    memset(L, 0, 3 * sizeof *L);
    add(&L[0], entry(PBT_START, 0, 0, NAN, 0, -1, -1, 10));
    add(&L[0], entry(PBT_READY, 2, 2, 0.5, 1, -1, -1, 10));
    add(&L[0], entry(PBT_READY, 4, 4, 0.4, 1, -1, -1, 10));
    add(&L[0], entry(PBT_FINAL, 6, 6, 0.3, 0, -1, -1, 10));
    add(&L[1], entry(PBT_START, 0, 0, NAN, 0, -1, -1, 20));
    add(&L[1], entry(PBT_READY, 2, 2, 0.9, 1, -1, -1, 20));
    add(&L[1], entry(PBT_EXPLOIT, 3, 2, 0.8, 0, 0, 1, 11));
    add(&L[1], entry(PBT_READY, 4, 4, 0.35, 1, -1, -1, 11));
    add(&L[1], entry(PBT_FINAL, 6, 6, 0.25, 0, -1, -1, 11));
    add(&L[2], entry(PBT_START, 0, 0, NAN, 0, -1, -1, 30));
    add(&L[2], entry(PBT_READY, 2, 2, 0.7, 1, -1, -1, 30));
    add(&L[2], entry(PBT_EXPLOIT, 4, 4, 0.6, 1, 1, 3, 12));
    add(&L[2], entry(PBT_FINAL, 6, 6, 0.2, 0, -1, -1, 12));
}

Test(pbt, schedule_follows_the_weights_back_through_every_exploit)
{
    pbt_lineage L[3];
    three_members(L);
    pbt_segment *seg;
    int n;
    tl_err err = { 0 };
    cr_assert_eq(pbt_schedule(L, 3, 2, 0, &seg, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    int start[] = { 0, 2, 4 }, end[] = { 2, 4, 6 }, member[] = { 0, 1, 2 };
    double x[] = { 10, 11, 12 };
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(seg[k].start, start[k], "segment %d", k);
        cr_assert_eq(seg[k].end, end[k], "segment %d", k);
        cr_assert_eq(seg[k].member, member[k], "segment %d", k);
        cr_assert_eq(seg[k].values[0], x[k], "segment %d", k);
    }
    free(seg);
    /* member 0 never copied: one segment per interval, all its own */
    cr_assert_eq(pbt_schedule(L, 3, 0, 0, &seg, &n, &err), 0);
    cr_assert_eq(n, 3);
    for (int k = 0; k < 3; k++)
        cr_assert(seg[k].member == 0 && seg[k].start == 2 * k && seg[k].end == 2 * k + 2);
    free(seg);
    /* work: member 1 trained 0..2, 2..3 (thrown away), 2..4, 4..6 */
    cr_assert_eq(pbt_member_work(&L[1], 6), 7);
    cr_assert_eq(pbt_member_work(&L[0], 6), 6);
    cr_assert_eq(pbt_member_work(&L[2], 6), 6);
    for (int k = 0; k < 3; k++)
        pbt_lineage_free(&L[k]);
}

Test(pbt, schedule_rejects_inconsistent_records)
{
    pbt_lineage L[3];
    tl_err err = { 0 };
    pbt_segment *seg = NULL;
    int n = 0;
    three_members(L);
    L[2].e[2].src_entry = 1; /* member 1's entry 1 starts at 2, not 4 */
    cr_assert_eq(pbt_schedule(L, 3, 2, 0, &seg, &n, &err), TL_EINPUT);
    cr_assert_null(seg);
    L[2].e[2].src = 7;
    cr_assert_eq(pbt_schedule(L, 3, 2, 0, &seg, &n, &err), TL_EINPUT);
    L[2].e[2].src = 2; /* a cycle: copies itself */
    L[2].e[2].src_entry = 2;
    cr_assert_eq(pbt_schedule(L, 3, 2, 0, &seg, &n, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "cycle") != NULL, "%s", err.msg);
    L[0].e[0].pos = 1; /* a start not at 0 */
    cr_assert_eq(pbt_schedule(L, 3, 0, 0, &seg, &n, &err), TL_EINPUT);
    cr_assert_eq(pbt_schedule(L, 3, 5, 0, &seg, &n, &err), TL_EINPUT);
    for (int k = 0; k < 3; k++)
        pbt_lineage_free(&L[k]);
}

/* ---- the scheduler through a study ---- */

/* The study settings of a toy run; its scheduler options are *po, which
 * must outlive study_open. */
static study_config toy_cfg(pbt_options *po, const char *name, int pop, int steps, int interval,
                            int sync, uint64_t seed)
{
    study_config c = su_config_in(dir, name);
    c.trials = pop;
    c.seed = seed;
    c.direction = STUDY_MAXIMIZE;
    c.max_budget = steps;
    snprintf(c.scheduler, sizeof c.scheduler, "pbt");
    pbt_options_default(po);
    po->population = pop;
    po->interval = interval;
    po->sync = sync;
    c.scheduler_opts = po;
    return c;
}

static void toy_space(space *sp, double hmax)
{
    char e[64];
    snprintf(e, sizeof e, "uniform(0, %g)", hmax);
    su_space(sp, "h0", e, "h1", e, NULL);
}

Test(pbt, init_rejects_bad_settings_naming_the_key)
{
    space sp;
    toy_space(&sp, 1);
    const char *keys[] = { "pbt.population", "pbt.interval", "pbt.interval", "study.max_budget",
                           "pbt.quantile", "pbt.factors", "pbt.resample_probability" };
    for (int k = 0; k < 7; k++) {
        pbt_options po;
        study_config c = toy_cfg(&po, "bad", 4, 20, 4, 1, 1);
        switch (k) {
        case 0: po.population = 1; break;
        case 1: po.interval = 0; break;
        case 2: po.interval = 1.5; break;
        case 3: c.max_budget = 4; break;
        case 4: po.quantile = 0.6; break;
        case 5: po.factors[1] = -1; break;
        case 6: po.resample_probability = 2; break;
        }
        study *s = NULL;
        tl_err err = { 0 };
        cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT, "case %d accepted", k);
        cr_assert_null(s);
        cr_assert(strstr(err.msg, keys[k]) != NULL, "case %d: %s", k, err.msg);
    }
    space_free(&sp);
}

typedef struct toy_run {
    study *s;
    pbt_toy toy;
    objective obj;
    space sp;
} toy_run;

static void toy_open(toy_run *t, const study_config *c, double hmax)
{
    tl_err err = { 0 };
    toy_space(&t->sp, hmax);
    cr_assert_eq(study_open(&t->s, c, &t->sp, &err), 0, "%s", err.msg);
    cr_assert_eq(pbt_toy_init(&t->toy, &t->obj, &err), 0);
}

static void toy_close(toy_run *t)
{
    pbt_toy_free(&t->toy);
    study_close(t->s);
    space_free(&t->sp);
}

/* Reads every member's lineage. */
static void lineages(study *s, int n, pbt_lineage *L)
{
    char *buf = malloc(PBT_LINEAGE_MAX);
    tl_err err = { 0 };
    for (int k = 0; k < n; k++)
        cr_assert_eq(pbt_lineage_load(s, k, buf, PBT_LINEAGE_MAX, &L[k], &err), 0, "%s", err.msg);
    free(buf);
}

/* theta of member m after `step` in the trace, before any copy made at that
 * step (the first point with that step). */
static const pbt_toy_point *trace_at(const pbt_toy *toy, int m, int step, int last)
{
    const pbt_toy_point *p = NULL;
    for (int i = 0; i < toy->ntrace; i++)
        if (toy->trace[i].trial == m && toy->trace[i].step == step) {
            p = &toy->trace[i];
            if (!last)
                break;
        }
    return p;
}

/* Checks what every PBT run must satisfy; sync: at most the bottom
 * quantile (quantile 0.25) copies in each generation. */
static void check_run(toy_run *t, int pop, int steps, int interval, int sync)
{
    int per_gen[64] = { 0 }, nq = (pop + 3) / 4;
    trial *tr;
    int n;
    tl_err err = { 0 };
    cr_assert_eq(study_trials(t->s, &tr, &n, &err), 0);
    cr_assert_eq(n, pop, "one trial per member");
    pbt_lineage L[16];
    lineages(t->s, pop, L);
    int exploits = 0;
    for (int m = 0; m < pop; m++) {
        cr_assert_eq(tr[m].state, TRIAL_COMPLETE, "member %d is %s", m,
                     trial_state_str(tr[m].state));
        cr_assert_eq(trial_last_step(&tr[m]), steps);
        cr_assert_eq(L[m].e[0].kind, PBT_START);
        cr_assert_eq(L[m].e[L[m].n - 1].kind, PBT_FINAL);
        int last_parent = -1;
        for (int j = 1; j < L[m].n - 1; j++) {
            const pbt_entry *e = &L[m].e[j];
            if (e->kind == PBT_READY)
                cr_assert(e->step == e->pos && e->step % interval == 0 && e->step < steps,
                          "member %d entry %d: ready at %d", m, j, e->step);
            if (e->kind != PBT_EXPLOIT)
                continue;
            exploits++;
            if (sync && e->pos < 64)
                per_gen[e->pos]++;
            last_parent = e->src;
            cr_assert(e->src >= 0 && e->src < pop && e->src != m);
            /* the copy was exact: the next point of m is the source's state */
            const pbt_toy_point *after = trace_at(&t->toy, m, e->pos, 1);
            const pbt_toy_point *src = trace_at(&t->toy, e->src, e->pos, 1);
            cr_assert(after && src, "member %d: no trace at %d", m, e->pos);
            cr_assert(after->theta0 == src->theta0 && after->theta1 == src->theta1,
                      "member %d copied (%.17g, %.17g) from %d, which had (%.17g, %.17g)", m,
                      after->theta0, after->theta1, e->src, src->theta0, src->theta1);
            cr_assert(after->h0 == e->values[0] && after->h1 == e->values[1],
                      "member %d trains with the explored values", m);
        }
        cr_assert_eq(tr[m].parent, last_parent, "member %d: parent %d, last copy from %d", m,
                     tr[m].parent, last_parent);
        pbt_segment *seg;
        int ns;
        cr_assert_eq(pbt_schedule(L, pop, m, 0, &seg, &ns, &err), 0, "member %d: %s", m, err.msg);
        cr_assert_eq(seg[0].start, 0);
        cr_assert_eq(seg[ns - 1].end, steps);
        for (int k = 1; k < ns; k++)
            cr_assert_eq(seg[k].start, seg[k - 1].end);
        free(seg);
    }
    cr_assert(exploits > 0, "no member ever exploited");
    for (int r = 0; r < 64; r++)
        cr_assert(per_gen[r] <= nq, "%d members copied in the generation at %d, more than %d",
                  per_gen[r], r, nq);
    char note[512];
    cr_assert_eq(study_attr_get(t->s, PBT_ATTR_NOTE, note, sizeof note), 1);
    cr_assert(strstr(note, "h0 h1") != NULL, "%s", note);
    for (int m = 0; m < pop; m++)
        pbt_lineage_free(&L[m]);
    study_trials_free(tr, n);
}

Test(pbt, sync_members_keep_their_numbers_and_copies_are_exact)
{
    pbt_options po;
    study_config c = toy_cfg(&po, "sync", 4, 24, 4, 1, 3);
    toy_run t;
    toy_open(&t, &c, 4);
    tl_err err = { 0 };
    cr_assert_eq(study_attr_set(t.s, PBT_ATTR_LIVE, "*", &err), 0);
    cr_assert_eq(study_optimize(t.s, &t.obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    check_run(&t, 4, 24, 4, 1);
    /* sync: no member is ever more than one interval ahead of another */
    for (int i = 0; i < t.toy.ntrace; i++) {
        int lo = 1 << 30;
        for (int m = 0; m < 4; m++) {
            int last = 0;
            for (int j = 0; j <= i; j++)
                if (t.toy.trace[j].trial == m)
                    last = t.toy.trace[j].step;
            lo = last < lo ? last : lo;
        }
        cr_assert(t.toy.trace[i].step <= lo / 4 * 4 + 4,
                  "point %d: step %d while a member is at %d", i, t.toy.trace[i].step, lo);
    }
    toy_close(&t);
}

Test(pbt, async_with_two_workers_completes_with_a_consistent_lineage)
{
    pbt_options po;
    study_config c = toy_cfg(&po, "async", 6, 24, 4, 0, 9);
    toy_run t;
    toy_open(&t, &c, 4);
    tl_err err = { 0 };
    cr_assert_eq(study_attr_set(t.s, PBT_ATTR_LIVE, "*", &err), 0);
    cr_assert_eq(study_optimize(t.s, &t.obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    check_run(&t, 6, 24, 4, 0);
    toy_close(&t);
}

Test(pbt, sync_with_two_workers_completes_with_a_consistent_lineage)
{
    pbt_options po;
    study_config c = toy_cfg(&po, "sync2", 6, 24, 4, 1, 13);
    toy_run t;
    toy_open(&t, &c, 4);
    tl_err err = { 0 };
    cr_assert_eq(study_attr_set(t.s, PBT_ATTR_LIVE, "*", &err), 0);
    cr_assert_eq(study_optimize(t.s, &t.obj, 2, NULL, NULL, &err), 0, "%s", err.msg);
    check_run(&t, 6, 24, 4, 1);
    toy_close(&t);
}

Test(pbt, default_live_list_keeps_unknown_names_fixed_per_lineage)
{
    pbt_options po;
    study_config c = toy_cfg(&po, "fixed", 4, 16, 4, 1, 5);
    toy_run t;
    toy_open(&t, &c, 4);
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(t.s, &t.obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    char note[512], live[256];
    cr_assert_eq(study_attr_get(t.s, PBT_ATTR_NOTE, note, sizeof note), 1);
    cr_assert(strstr(note, "explored at each ready point: none") &&
                  strstr(note, "fixed per lineage (copied from the source on exploit): h0 h1"),
              "%s", note);
    cr_assert_eq(study_attr_get(t.s, PBT_ATTR_LIVE, live, sizeof live), 1);
    cr_assert_str_eq(live, "");
    /* fixed values travel with the weights: each exploit takes the
     * source's values unchanged */
    pbt_lineage L[4];
    lineages(t.s, 4, L);
    trial *tr;
    int n, exploits = 0;
    cr_assert_eq(study_trials(t.s, &tr, &n, &err), 0);
    for (int m = 0; m < 4; m++)
        for (int j = 0; j < L[m].n; j++) {
            const pbt_entry *e = &L[m].e[j];
            if (e->kind != PBT_EXPLOIT)
                continue;
            exploits++;
            const pbt_entry *s = &L[e->src].e[e->src_entry];
            cr_assert(e->values[0] == s->values[0] && e->values[1] == s->values[1]);
        }
    cr_assert(exploits > 0);
    for (int m = 0; m < 4; m++)
        pbt_lineage_free(&L[m]);
    study_trials_free(tr, n);
    toy_close(&t);
}

/* ---- the toy of Jaderberg et al. 2017, fig. 2 ---- */

enum { V_PBT, V_EXPLORE, V_EXPLOIT, V_GRID };

/* Best final Q of one variant: two members from theta = (0.9, 0.9) with h =
 * (1, 0) and (0, 1), 50 steps, ready every 4. */
static double toy_variant(int v, uint64_t seed)
{
    static const char *const modes[] = { "pbt", "explore_only", "exploit_only" };
    char name[64];
    snprintf(name, sizeof name, "toy-%d-%llu", v, (unsigned long long)seed);
    pbt_options po;
    study_config c = toy_cfg(&po, name, 2, 50, 4, 1, seed);
    po.quantile = 0.5;
    if (v == V_GRID)
        snprintf(c.scheduler, sizeof c.scheduler, "fifo");
    toy_run t;
    toy_open(&t, &c, 4);
    tl_err err = { 0 };
    double h[2][2] = { { 1, 0 }, { 0, 1 } };
    for (int k = 0; k < 2; k++)
        cr_assert_eq(study_enqueue(t.s, h[k], NULL, &err), 0, "%s", err.msg);
    if (v != V_GRID) {
        cr_assert_eq(study_attr_set(t.s, PBT_ATTR_LIVE, "*", &err), 0);
        cr_assert_eq(study_attr_set(t.s, PBT_ATTR_MODE, modes[v], &err), 0);
    }
    cr_assert_eq(study_optimize(t.s, &t.obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    double best = NAN;
    cr_assert(study_best(t.s, NULL, &best));
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(t.s, counts), 2);
    cr_assert_eq(counts[TRIAL_COMPLETE], 2);
    toy_close(&t);
    return best;
}

Test(pbt, toy_pbt_gets_closer_to_the_optimum_than_its_ablations_and_grid)
{
    const char *names[] = { "pbt", "explore only", "exploit only", "grid search" };
    double mean[4] = { 0 };
    int nseeds = 10;
    for (int v = 0; v < 4; v++) {
        for (uint64_t sd = 1; sd <= (uint64_t)nseeds; sd++)
            mean[v] += toy_variant(v, sd) / nseeds;
        if (v == V_GRID || v == V_EXPLOIT) /* no randomness left: one seed is enough */
            nseeds = 1;
    }
    /* Without exploit or explore each member only ever shrinks one
     * coordinate: Q <= 1.2 - 0.81 */
    double one_coord = 1.2 - 0.81;
    cr_assert(mean[V_GRID] < one_coord, "grid: %g", mean[V_GRID]);
    cr_assert(mean[V_PBT] > 1.15, "PBT reaches %.4f on average, not close to 1.2", mean[V_PBT]);
    for (int v = 1; v < 4; v++)
        cr_assert(mean[v] < mean[V_PBT] - 0.05, "%s reaches %.4f, PBT %.4f", names[v], mean[v],
                  mean[V_PBT]);
}

/* ---- resume after a kill ---- */

typedef struct killer {
    int reports, kill_at;
} killer;

static void kill_after(void *ud, const study_event *ev)
{
    killer *k = ud;
    if (ev->kind == STUDY_EV_REPORT && ++k->reports == k->kill_at)
        raise(SIGKILL);
}

/* Runs the toy study `name` in a child process that SIGKILLs itself after
 * kill_at reports, then reopens it here: *t is open, its running member
 * requeued; pos[m] is each member's position then, state[m] its state (-1:
 * not created yet). */
static void killed_study(toy_run *t, const char *name, int kill_at, int *pos, int *state)
{
    pbt_options po;
    study_config c = toy_cfg(&po, name, 4, 24, 4, 1, 21);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        toy_run k;
        toy_space(&k.sp, 4);
        tl_err err = { 0 };
        if (study_open(&k.s, &c, &k.sp, &err) || pbt_toy_init(&k.toy, &k.obj, &err) ||
            study_attr_set(k.s, PBT_ATTR_LIVE, "*", &err))
            _exit(3);
        killer kl = { 0, kill_at };
        study_optimize(k.s, &k.obj, 1, kill_after, &kl, &err);
        _exit(4);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    toy_open(t, &c, 4); /* requeues the member that was running */
    trial *tr;
    int n;
    tl_err err = { 0 };
    cr_assert_eq(study_trials(t->s, &tr, &n, &err), 0);
    cr_assert(n >= 1 && n <= 4);
    pbt_lineage L[4];
    lineages(t->s, n, L);
    for (int m = 0; m < 4; m++) {
        pos[m] = m < n ? L[m].e[L[m].n - 1].pos : -1;
        state[m] = m < n ? tr[m].state : -1;
        if (m >= n)
            continue;
        if (tr[m].state == TRIAL_PAUSED) {
            /* nothing of a lost run is left: the lineage ends at the pause and
             * the values are those of that pause */
            const pbt_entry *e = &L[m].e[L[m].n - 1];
            cr_assert(e->step <= trial_last_step(&tr[m]), "member %d: entry at %d after its "
                      "pause at %d", m, e->step, trial_last_step(&tr[m]));
            cr_assert(e->values[0] == tr[m].values[0] && e->values[1] == tr[m].values[1],
                      "member %d: values not those of its pause", m);
        }
        pbt_lineage_free(&L[m]);
    }
    study_trials_free(tr, n);
}

/* Finishes the reopened study and checks where each member went on from. */
static void finish_and_check(toy_run *t, const int *first_step, int restarts_expected)
{
    tl_err err = { 0 };
    cr_assert_eq(study_optimize(t->s, &t->obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    for (int m = 0; m < 4; m++) {
        int first = -1;
        for (int i = 0; i < t->toy.ntrace && first < 0; i++)
            if (t->toy.trace[i].trial == m)
                first = t->toy.trace[i].step;
        cr_assert_eq(first, first_step[m], "member %d went on at step %d, not %d", m, first,
                     first_step[m]);
    }
    pbt_lineage L[4];
    lineages(t->s, 4, L);
    int restarts = 0;
    for (int m = 0; m < 4; m++) {
        for (int j = 0; j < L[m].n; j++)
            restarts += L[m].e[j].kind == PBT_RESTART;
        cr_assert_eq(L[m].e[L[m].n - 1].kind, PBT_FINAL);
        cr_assert_eq(L[m].e[L[m].n - 1].step, 24);
        pbt_segment *seg;
        int ns;
        cr_assert_eq(pbt_schedule(L, 4, m, 0, &seg, &ns, &err), 0, "member %d: %s", m, err.msg);
        cr_assert_eq(seg[0].start, 0);
        cr_assert_eq(seg[ns - 1].end, 24);
        for (int k = 1; k < ns; k++)
            cr_assert_eq(seg[k].start, seg[k - 1].end);
        free(seg);
    }
    for (int m = 0; m < 4; m++)
        pbt_lineage_free(&L[m]);
    cr_assert_eq(restarts, restarts_expected);
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(t->s, counts), 4);
    cr_assert_eq(counts[TRIAL_COMPLETE], 4);
}

Test(pbt, killed_study_resumes_every_member_from_its_last_ready_point)
{
    toy_run t;
    int pos[4], state[4], first[4], paused = 0;
    killed_study(&t, "kill", 16 + 10, pos, state); /* in the second generation */
    for (int m = 0; m < 4; m++) {
        /* the one that was running is back at its last pause too */
        cr_assert_eq(state[m], TRIAL_PAUSED, "member %d is %s", m, trial_state_str(state[m]));
        cr_assert(pos[m] > 0 && pos[m] % 4 == 0, "member %d paused at %d", m, pos[m]);
        paused++;
        first[m] = pos[m] + 1;
    }
    cr_assert_eq(paused, 4);
    finish_and_check(&t, first, 0);
    toy_close(&t);
}

Test(pbt, member_killed_right_after_a_copy_forgets_it)
{
    /* report 17 is the first of the second generation: the first member
     * resumed is a bottom one, which copies at that report */
    toy_run t;
    int pos[4], state[4], first[4];
    killed_study(&t, "kill17", 16 + 1, pos, state);
    for (int m = 0; m < 4; m++) {
        cr_assert_eq(state[m], TRIAL_PAUSED);
        cr_assert_eq(pos[m], 4, "member %d at %d", m, pos[m]);
        first[m] = 5;
    }
    finish_and_check(&t, first, 0);
    toy_close(&t);
}

Test(pbt, member_killed_in_its_first_segment_starts_over)
{
    toy_run t;
    int pos[4], state[4], first[4], waiting = 0;
    killed_study(&t, "kill1", 4 + 4 + 2, pos, state); /* member 2, step 2 of 4 */
    for (int m = 0; m < 4; m++) {
        if (state[m] == TRIAL_WAITING) {
            waiting++;
            cr_assert_eq(m, 2);
            first[m] = 1;
        } else if (state[m] >= 0) {
            cr_assert_eq(state[m], TRIAL_PAUSED);
            first[m] = pos[m] + 1;
        }
    }
    cr_assert_eq(waiting, 1);
    cr_assert_eq(state[3], -1, "member 3 did not exist yet");
    first[3] = 1;
    finish_and_check(&t, first, 1);
    toy_close(&t);
}

/* ---- through the tunelab binary: the training objective ---- */

static const char *SPIRALS_INI =
    "[data]\ndataset = spirals\nsamples = 600\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 16\n"
    "[train]\noptimizer = adamw\nlr = 3e-3\nbatch_size = 32\nepochs = 6\nseed = 3\nthreads = 1\n"
    "[study]\nname = sp\nstorage = sp.db\ntrials = 4\nscheduler = pbt\nseed = 5\n"
    "[pbt]\npopulation = 4\ninterval = 2\nfactor_low = 1\nfactor_high = 1\n"
    "resample_probability = 0\n"
    "[space]\ntrain.lr = loguniform(1e-4, 3e-2)\n";

/* value of trial m at step, from the database's intermediate values */
static int inter_at(sqlite3 *db, int m, int step, double *v)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT i.value FROM trial_intermediate i JOIN trials t ON "
                                    "t.id = i.trial_id WHERE t.number = ? AND i.step = ?",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(st, 1, m);
    sqlite3_bind_int(st, 2, step);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        *v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return found;
}

Test(pbt, cli_copied_member_continues_bit_identically_and_replay_reproduces_it)
{
    char path[128];
    cli_write_in(dir, "sp.ini", SPIRALS_INI);
    cli_out r = cli_run(dir, "run sp.ini --quiet");
    cr_assert_eq(r.status, 0, "run failed: %s", r.err);
    cli_free(&r);

    /* factors 1 and no resampling: an exploiting member takes its source's
     * learning rate unchanged, so from the copy on both must report the
     * same numbers, to the bit, until either reaches its next entry */
    space sp;
    su_space(&sp, "train.lr", "loguniform(1e-4, 3e-2)", NULL);
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/sp.db", dir);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    pbt_lineage L[4];
    cr_assert_eq(lu_load_lineages(db, &sp, L, 4), 4);
    int compared = 0;
    for (int m = 0; m < 4; m++)
        for (int j = 0; j < L[m].n; j++) {
            const pbt_entry *e = &L[m].e[j];
            if (e->kind != PBT_EXPLOIT)
                continue;
            cr_assert_eq(e->values[0], L[e->src].e[e->src_entry].values[0]);
            int end_m = j + 1 < L[m].n ? L[m].e[j + 1].step : 6;
            int end_s = e->src_entry + 1 < L[e->src].n ? L[e->src].e[e->src_entry + 1].step : 6;
            int end = end_m < end_s ? end_m : end_s;
            for (int step = e->pos + 1; step <= end; step++) {
                double a, b;
                cr_assert(inter_at(db, m, step, &a) && inter_at(db, e->src, step, &b));
                cr_assert(a == b, "trial %d (copy of %d at epoch %d): epoch %d: %.17g vs %.17g", m,
                          e->src, e->pos, step, a, b);
                compared++;
            }
        }
    cr_assert(compared >= 2, "only %d epochs after a copy to compare", compared);
    sqlite3_close(db);

    /* the replay of the best member's schedule, same seed: the same model */
    r = cli_run(dir, "pbt-replay sp.db --json");
    cr_assert_eq(r.status, 0, "pbt-replay failed: %s", r.err);
    cJSON *o = cJSON_Parse(r.out);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    double pv = cJSON_GetObjectItem(o, "pbt_value")->valuedouble;
    double rv = cJSON_GetObjectItem(o, "replay_value")->valuedouble;
    cr_assert(isfinite(pv) && pv == rv, "PBT %.17g, replay %.17g", pv, rv);
    cJSON *sched = cJSON_GetObjectItem(o, "schedule");
    int ns = cJSON_GetArraySize(sched);
    cr_assert(ns >= 3);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(sched, 0), "start")->valueint, 0);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(sched, ns - 1), "end")->valueint, 6);
    cr_assert(cJSON_GetObjectItem(o, "pbt_member_epochs")->valueint >= 24);
    cJSON_Delete(o);
    cli_free(&r);

    cli_expect_err(dir, "pbt-replay sp.db --seed", 2, "--seed needs a value");
    r = cli_run(dir, "pbt-replay missing.db");
    cr_assert_eq(r.status, 2);
    cli_free(&r);
    for (int m = 0; m < 4; m++)
        pbt_lineage_free(&L[m]);
    space_free(&sp);
}

/* ---- validation: the settings and the space, before anything is opened ---- */

static const char *refuse_h1(void *ud, const char *name)
{
    return strcmp(name, "h1") == 0 ? "h1 shapes the state" : NULL;
}

Test(pbt, validate_refuses_what_the_untunable_hook_names)
{
    space sp;
    toy_space(&sp, 1);
    pbt_options po;
    study_config c = toy_cfg(&po, "untunable", 4, 20, 4, 1, 1);
    tl_err err = { 0 };
    cr_assert_eq(sched_pbt_vt.validate(&po, &c, &sp, &err), 0, "%s", err.msg);
    po.untunable = refuse_h1;
    cr_assert_eq(sched_pbt_vt.validate(&po, &c, &sp, &err), TL_EINPUT);
    cr_assert_str_eq(err.msg, "space: h1: with study.scheduler = pbt h1 shapes the state (tune them "
                              "with another scheduler, or fix them)");
    cr_assert_eq(study_validate(&c, &sp, &err), TL_EINPUT);
    study *s = NULL;
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "space: h1:"), "%s", err.msg);
    char db[128];
    snprintf(db, sizeof db, "%s/untunable.db", dir);
    cr_assert_neq(access(db, F_OK), 0, "a refused study created its database");
    space_free(&sp);
}

Test(pbt, cli_refuses_to_tune_what_a_copied_member_cannot_change)
{
    char path[128];
    cli_write_in(dir, "sp.ini", SPIRALS_INI);
    const char *keys[] = { "train.batch_size", "model.hidden", "train.optimizer" };
    const char *exprs[] = { "choice(16, 32)", "choice(8, 16)", "choice(sgd, adamw)" };
    for (int k = 0; k < 3; k++) {
        char args[256], want[128];
        snprintf(args, sizeof args, "run sp.ini --quiet --set 'space.%s=%s'", keys[k], exprs[k]);
        cli_out r = cli_run(dir, args);
        cr_assert_eq(r.status, 2, "%s: status %d: %s", keys[k], r.status, r.err);
        snprintf(want, sizeof want, "sp.ini: space: %s: with study.scheduler = pbt a member copies", keys[k]);
        cr_assert(strstr(r.err, want) && strstr(r.err, "cannot be tuned"), "%s", r.err);
        cli_free(&r);
    }
    snprintf(path, sizeof path, "%s/sp.db", dir);
    cr_assert_neq(access(path, F_OK), 0, "a refused run created its database");
}
