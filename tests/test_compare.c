/* tests/test_compare.c: `tunelab compare` (tune/compare.h,
 * report/report_compare.h): the statistics against hand-computed values
 * (quantiles, ranks with ties, the exact Mann-Whitney test, checkpoint
 * tables and win rates), sha's bracket size for a budget, equal-budget
 * accounting (every run trains exactly the budget's epochs, pruned, paused
 * and PBT-copied epochs included, the trial running at the end cut), the
 * trials unit, hpo's max_reports through ask / report / tell, a killed compare resumed (finished runs kept, the same
 * numbers as an uninterrupted one), the pages, and each bad input refused
 * with exit status 2 and no finished run lost.  A tiny MLP on synthetic
 * blobs keeps each run well under a second. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/report_compare.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tune/compare.h"

TMPDIR_FIXTURE(dir, "tl_compare")

TestSuite(compare_stats);
TestSuite(compare, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

/* ---- statistics ---- */

Test(compare_stats, quantiles_interpolate_between_order_statistics)
{
    const double s[] = { 1, 2, 3, 4 };
    cr_assert_float_eq(cmp_quantile(s, 4, 0.25), 1.75, 1e-12);
    cr_assert_float_eq(cmp_quantile(s, 4, 0.5), 2.5, 1e-12);
    cr_assert_float_eq(cmp_quantile(s, 4, 0.75), 3.25, 1e-12);
    cr_assert_float_eq(cmp_quantile(s, 1, 0.75), 1.0, 1e-12);
    cr_assert(isnan(cmp_quantile(s, 0, 0.5)));
}

Test(compare_stats, ranks_share_ties_and_put_nan_last)
{
    const double x[] = { 0.5, 0.7, 0.7, NAN };
    double r[4];
    cmp_ranks(x, 4, 1, r);
    cr_assert_float_eq(r[0], 3.0, 1e-12);
    cr_assert_float_eq(r[1], 1.5, 1e-12);
    cr_assert_float_eq(r[2], 1.5, 1e-12);
    cr_assert_float_eq(r[3], 4.0, 1e-12);
    cmp_ranks(x, 4, 0, r); /* minimize: 0.5 is best */
    cr_assert_float_eq(r[0], 1.0, 1e-12);
    cr_assert_float_eq(r[1], 2.5, 1e-12);
    cr_assert_float_eq(r[3], 4.0, 1e-12);
}

Test(compare_stats, mann_whitney_matches_the_exact_distribution_by_hand)
{
    /* m = n = 3: the 20 arrangements give U = 0..9 with counts
     * 1 1 2 3 3 3 3 2 1 1. */
    double u, p;
    const double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
    cr_assert_eq(cmp_mann_whitney(a, 3, b, 3, 0, &u, &p, NULL), 0);
    cr_assert_float_eq(u, 9.0, 1e-12, "a beats b in all 9 pairs (minimize)");
    cr_assert_float_eq(p, 0.1, 1e-12, "2 * 1/20");
    const double c[] = { 1, 3, 5 }, d[] = { 2, 4, 6 };
    cr_assert_eq(cmp_mann_whitney(c, 3, d, 3, 0, &u, &p, NULL), 0);
    cr_assert_float_eq(u, 6.0, 1e-12);
    cr_assert_float_eq(p, 0.7, 1e-12, "2 * (3+2+1+1)/20");
    /* 5 against 5, complete separation: 2 / C(10,5) = 2/252 */
    const double e[] = { 0.9, 0.91, 0.92, 0.93, 0.94 }, f[] = { 0.8, 0.81, 0.82, 0.83, 0.84 };
    cr_assert_eq(cmp_mann_whitney(e, 5, f, 5, 1, &u, &p, NULL), 0);
    cr_assert_float_eq(u, 25.0, 1e-12);
    cr_assert_float_eq(p, 2.0 / 252, 1e-12);
    cr_assert(p < CMP_ALPHA);
    const double g[] = { NAN, NAN };
    tl_err err = {0};
    cr_assert_eq(cmp_mann_whitney(g, 2, f, 5, 1, &u, &p, &err), TL_EINPUT);
}

/* A run whose best-so-far curve is `best` at epochs 1..n. */
static void fake_run(cmp_run *r, const double *best, int n, double pick_test)
{
    memset(r, 0, sizeof *r);
    r->npts = n;
    r->epochs = calloc((size_t)n, sizeof(double));
    r->seconds = calloc((size_t)n, sizeof(double));
    r->trials = calloc((size_t)n, sizeof(double));
    r->best = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        r->epochs[i] = i + 1;
        r->seconds[i] = 0.5 * (i + 1);
        r->trials[i] = 1;
        r->best[i] = best[i];
    }
    r->pick_test = pick_test;
    r->finished = 1;
}

Test(compare_stats, checkpoint_table_ranks_and_win_rates_by_hand)
{
    /* two methods x three seeds, budget 4 epochs, maximize */
    cmp_input in;
    memset(&in, 0, sizeof in);
    in.maximize = 1;
    in.unit = CMP_EPOCHS;
    in.budget = 4;
    in.nmethods = 2;
    in.nseeds = 3;
    in.methods = calloc(2, sizeof *in.methods);
    in.seeds = calloc(3, sizeof *in.seeds);
    in.runs = calloc(6, sizeof *in.runs);
    snprintf(in.methods[0], 32, "a");
    snprintf(in.methods[1], 32, "b");
    const double a0[] = { 0.1, 0.5, 0.6, 0.8 }, a1[] = { 0.2, 0.2, 0.7, 0.7 }, a2[] = { 0.3, 0.4, 0.4, 0.9 };
    const double b0[] = { 0.3, 0.3, 0.3, 0.5 }, b1[] = { 0.1, 0.6, 0.6, 0.7 }, b2[] = { NAN, 0.2, 0.2, 0.6 };
    fake_run(&in.runs[0], a0, 4, 0.80);
    fake_run(&in.runs[1], a1, 4, 0.70);
    fake_run(&in.runs[2], a2, 4, NAN);
    fake_run(&in.runs[3], b0, 4, 0.60);
    fake_run(&in.runs[4], b1, 2, 0.65); /* stopped after 2 epochs: its final best counts after */
    fake_run(&in.runs[5], b2, 4, 0.50);
    cmp_stats st;
    tl_err err = {0};
    cr_assert_eq(cmp_stats_compute(&in, &st, &err), 0, "%s", err.msg);
    /* 25 %: epoch 1: a = {0.1, 0.2, 0.3}, b = {0.3, 0.1, NaN} */
    cr_assert_float_eq(st.check[0 * 2 + 0].median, 0.2, 1e-12);
    cr_assert_float_eq(st.check[0 * 2 + 0].q1, 0.15, 1e-12);
    cr_assert_float_eq(st.check[0 * 2 + 0].q3, 0.25, 1e-12);
    cr_assert_eq(st.check[0 * 2 + 1].n, 2);
    cr_assert_float_eq(st.check[0 * 2 + 1].median, 0.2, 1e-12);
    /* ranks at 25 %: seed 0 b, seed 1 a, seed 2 a (NaN last): a = (2+1+1)/3 */
    cr_assert_float_eq(st.check[0 * 2 + 0].mean_rank, 4.0 / 3, 1e-12);
    cr_assert_float_eq(st.check[0 * 2 + 1].mean_rank, 5.0 / 3, 1e-12);
    /* 100 %: epoch 4: a = {0.8, 0.7, 0.9}, b = {0.5, 0.6 (seed 1's final best), 0.6} */
    cr_assert_float_eq(st.at[2 * 6 + 4], 0.6, 1e-12);
    cr_assert_float_eq(st.check[2 * 2 + 0].median, 0.8, 1e-12);
    cr_assert_float_eq(st.check[2 * 2 + 1].median, 0.6, 1e-12);
    cr_assert_float_eq(st.check[2 * 2 + 1].q1, 0.55, 1e-12);
    cr_assert_float_eq(st.check[2 * 2 + 0].mean_rank, 1.0, 1e-12);
    /* a beats b in all 9 pairs: win 1, exact p = 0.1 (within seed noise at 3 seeds) */
    cr_assert_float_eq(st.win[0 * 2 + 1], 1.0, 1e-12);
    cr_assert_float_eq(st.win[1 * 2 + 0], 0.0, 1e-12);
    cr_assert_float_eq(st.p[0 * 2 + 1], 0.1, 1e-12);
    cr_assert(isnan(st.win[0]));
    /* picks' test accuracy: a = {0.8, 0.7} (one NaN), b = {0.6, 0.65, 0.5} */
    cr_assert_eq(st.test[0].n, 2);
    cr_assert_float_eq(st.test[0].median, 0.75, 1e-12);
    cr_assert_float_eq(st.test[1].median, 0.6, 1e-12);
    char *json = report_compare_json(&in, &st);
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j);
    cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "methods"), 0);
    cJSON *c2 = cJSON_GetArrayItem(cJSON_GetObjectItem(m0, "checkpoints"), 2);
    cr_assert_float_eq(cJSON_GetObjectItem(c2, "median")->valuedouble, 0.8, 1e-12);
    cr_assert_float_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "p_value"), 0), 1)->valuedouble,
                       0.1, 1e-12);
    cJSON_Delete(j);
    free(json);
    cmp_stats_free(&st);
    compare_input_free(&in);
}

Test(compare_stats, sha_bracket_size_fits_the_epoch_budget)
{
    /* rungs 1, 3, 9 epochs: cost(n) = n + 2 floor(n/3) + 6 max(1, floor(n/9)):
     * cost(17) = 17 + 10 + 6 = 33 <= 40 < cost(18) = 18 + 12 + 12 = 42 */
    cr_assert_eq(compare_sha_trials(40, 1, 9, 3), 17);
    cr_assert_eq(compare_sha_trials(33, 1, 9, 3), 17);
    cr_assert_eq(compare_sha_trials(32, 1, 9, 3), 16);
    cr_assert_eq(compare_sha_trials(9, 1, 9, 3), 1);
}

Test(compare_stats, method_names_are_checked)
{
    compare_opts o;
    memset(&o, 0, sizeof o);
    tl_err err = {0};
    cr_assert_eq(compare_parse_methods(&o, "random, bohb,hyperband", &err), 0, "%s", err.msg);
    cr_assert_eq(o.nmethods, 3);
    cr_assert_str_eq(o.methods[1], "bohb");
    const char *smp, *sch;
    cr_assert_eq(compare_method_algos("bohb", &smp, &sch), 0);
    cr_assert_str_eq(smp, "bayes");
    cr_assert_str_eq(sch, "hyperband");
    cr_assert_eq(compare_parse_methods(&o, "random,hyperbnd", &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "unknown method 'hyperbnd'") && strstr(err.msg, "available:"), "%s", err.msg);
    cr_assert_eq(compare_parse_methods(&o, "random,random", &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
}

/* ---- end to end on blobs ---- */

static const char *BLOBS = "[data]\ndataset = blobs\nsamples = 300\nclasses = 3\nfeatures = 4\nnoise = 1.5\n"
                           "[model]\ntype = mlp\nlayers = 1\nhidden = 8\n"
                           "[train]\nepochs = 9\nbatch_size = 50\nthreads = 1\n"
                           "[study]\nmetric = val_accuracy\nmin_budget = 1\neta = 3\n"
                           "[space]\ntrain.lr = loguniform(1e-4, 1e-1)\nmodel.dropout = uniform(0, 0.5)\n";

/* Reports stored in db (intermediate values plus repeated steps). */
static long db_reports(const char *db)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", db);
    sqlite3_stmt *q;
    long n = 0;
    sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM trial_intermediate) + "
                          "coalesce((SELECT value FROM study_attrs WHERE key = 'budget_repeats'), 0)",
                       -1, &q, NULL);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

/* sqlite3_exec callback: the first column of the first row into ud (64 bytes). */
static int first_text(void *ud, int n, char **vals, char **names)
{
    snprintf(ud, 64, "%s", n > 0 && vals[0] ? vals[0] : "(null)");
    return 1;
}

static long count_lines(const char *path)
{
    char *s = cli_slurp(path);
    long n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* `tunelab compare ARGS` on BLOBS in dir: exit 0 and its --json object. */
static cJSON *compare_json(const char *args)
{
    cli_write_in(dir, "b.ini", BLOBS);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "compare b.ini %s -o out --json --quiet", args);
    cli_out r = cli_run(dir, cmd);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *j = cJSON_Parse(r.out);
    cr_assert_not_null(j, "%s", r.out);
    cli_free(&r);
    return j;
}

Test(compare, every_run_trains_exactly_the_epoch_budget)
{
    cJSON *j = compare_json("--methods random,hyperband,pbt --seeds 1 --budget 20 --set pbt.population=4");
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "methods"))
    {
        const char *name = cJSON_GetObjectItem(m, "name")->valuestring;
        cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "runs"), 0);
        cr_assert_float_eq(cJSON_GetObjectItem(run, "epochs")->valuedouble, 20.0, 1e-9, "%s", name);
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(run, "finished")), "%s", name);
        char db[300], logp[300];
        snprintf(db, sizeof db, "%s/out/%s-s0.db", dir, name);
        snprintf(logp, sizeof logp, "%s/out/%s-s0.log", dir, name);
        cr_assert_eq(db_reports(db), 20, "%s: the study counted what the log did", name);
        cr_assert_eq(count_lines(logp), 20, "%s", name);
    }
    /* random: trials of 9 epochs: 9 + 9 + 2, the third cut at the budget */
    cJSON *rnd = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "methods"), 0),
                                                        "runs"), 0);
    cr_assert_eq(cJSON_GetObjectItem(rnd, "trials")->valueint, 3);
    cJSON_Delete(j);
    char db[300];
    snprintf(db, sizeof db, "%s/out/random-s0.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(h, "SELECT t.number, t.state, t.budget FROM trials t JOIN trial_attrs a ON a.trial_id = t.id "
                          "WHERE a.key = 'budget_cut'", -1, &q, NULL);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "a trial was cut");
    cr_assert_eq(sqlite3_column_int(q, 0), 2);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 1), "pruned");
    cr_assert_float_eq(sqlite3_column_double(q, 2), 2.0, 1e-9);
    sqlite3_finalize(q);
    sqlite3_close(h);
    /* the pages */
    const char *files[] = { "index.html", "compare.json", "compare_epochs.png", "compare_seconds.png", "compare.def" };
    for (int i = 0; i < 5; i++) {
        char p[300];
        struct stat sb;
        snprintf(p, sizeof p, "%s/out/%s", dir, files[i]);
        cr_assert(stat(p, &sb) == 0 && sb.st_size > 0, "%s", p);
    }
}

/* Every trial of a compare runs on train.threads (cli_run sets
 * OMP_NUM_THREADS=1, so 2 must come from the config), and the header says
 * the layout: a compare that ignored the key ran two processes of 2
 * threads each on 2 cores. */
Test(compare, runs_train_on_the_configs_threads_and_say_so)
{
    cli_write_in(dir, "b.ini", BLOBS);
    cli_out r = cli_run(dir, "compare b.ini --methods random --seeds 1 --budget 9 --set train.threads=2 -o out");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "# threads: one run at a time, 1 worker, 2 OpenMP/BLAS threads per trial"), "%s", r.err);
    cli_free(&r);
    char db[300], got[64] = "";
    snprintf(db, sizeof db, "%s/out/random-s0.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *msg = NULL;
    /* every trial records its threads: distinct values, and whether any lacks one */
    sqlite3_exec(h, "SELECT group_concat(DISTINCT a.value) || '/' || sum(a.value IS NULL) FROM trials t "
                    "LEFT JOIN trial_attrs a ON a.trial_id = t.id AND a.key = 'threads'",
                 first_text, got, &msg);
    sqlite3_free(msg); /* "query aborted": first_text stops after one row */
    sqlite3_close(h);
    cr_assert_str_eq(got, "2/0");
}

/* Compares sharing a folder never run one run twice at once (two did, and
 * the run's log and study got both's epochs), and do not queue behind each
 * other either: while another process holds a run's lock, compare leaves
 * it alone, runs its other runs, then comes back and waits for it; once
 * the lock is free it runs it to the end. */
Test(compare, a_run_another_compare_holds_is_left_for_last_then_waited_for)
{
    cli_write_in(dir, "b.ini", BLOBS);
    char path[300];
    snprintf(path, sizeof path, "%s/out", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/out/random-s0.lock", dir);
    /* CLOEXEC: a compare that inherited the locked descriptor would hold
     * the lock itself and wait forever when this test fails */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && OMP_NUM_THREADS=1 '%s' compare b.ini --methods random --seeds 2 --budget 9 -o out "
             ">/dev/null 2>err.txt; echo $?",
             dir, cli_bin());
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char errp[300], db0[300], db1[300];
    snprintf(errp, sizeof errp, "%s/err.txt", dir);
    snprintf(db0, sizeof db0, "%s/out/random-s0.db", dir);
    snprintf(db1, sizeof db1, "%s/out/random-s1.db", dir);
    char *e = NULL;
    for (int i = 0; i < 600 && !(e && strstr(e, "waiting")); i++) { /* up to 60 s */
        free(e);
        usleep(100000);
        e = cli_slurp(errp);
    }
    cr_assert(e, "no progress lines");
    const char *later = strstr(e, "# random seed 0: another compare is running it; coming back to it after the others");
    const char *s1 = strstr(e, "# random seed 1: running");
    const char *wait = strstr(e, "# random seed 0: another compare is running it; waiting");
    cr_assert(later && s1 && wait && later < s1 && s1 < wait, "%s", e);
    free(e);
    cr_assert_eq(db_reports(db1), 9, "the free run is run to the end first");
    cr_assert_neq(access(db0, F_OK), 0, "the held run is never opened while held");
    cr_assert_eq(flock(fd, LOCK_UN), 0);
    close(fd);
    int status = -1;
    cr_assert_eq(fscanf(p, "%d", &status), 1);
    pclose(p);
    cr_assert_eq(status, 0);
    cr_assert_eq(db_reports(db0), 9, "then it runs the held one's whole budget");
    cr_assert_eq(db_reports(db1), 9, "and leaves the finished one alone");
}

Test(compare, trials_unit_gives_each_run_the_same_trials)
{
    cJSON *j = compare_json("--methods random,median --seeds 2 --budget 3 --unit trials");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "unit")->valuestring, "trials");
    cJSON *m, *run;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "methods"))
        cJSON_ArrayForEach(run, cJSON_GetObjectItem(m, "runs"))
            cr_assert_eq(cJSON_GetObjectItem(run, "trials")->valueint, 3);
    cJSON_Delete(j);
}

/* ---- resume after a kill ---- */

typedef struct killer {
    long reports, kill_at;
    int started[8], skipped[8]; /* by run: method * 2 + seed */
} killer;

static void on_prog(void *ud, const char *method, int k, int skipped, const study_event *ev)
{
    killer *c = ud;
    int m = !strcmp(method, "random") ? 0 : 1;
    if (!ev) {
        (skipped ? c->skipped : c->started)[m * 2 + k]++;
        return;
    }
    if (ev->kind == STUDY_EV_REPORT && ++c->reports == c->kill_at)
        raise(SIGKILL);
}

static void load_base(config *c, tl_err *err)
{
    config_defaults(c);
    cr_assert_eq(config_load_text(c, BLOBS, strlen(BLOBS), "b.ini", err), 0, "%s", err->msg);
    cr_assert_eq(config_resolve(c, NULL, err), 0, "%s", err->msg);
}

Test(compare, killed_compare_resumes_without_redoing_finished_runs)
{
    config c;
    tl_err err = {0};
    load_base(&c, &err);
    compare_opts o;
    memset(&o, 0, sizeof o);
    cr_assert_eq(compare_parse_methods(&o, "random,hyperband", &err), 0);
    o.nseeds = 2;
    o.budget = 20;
    o.unit = CMP_EPOCHS;
    /* killed in the middle of hyperband seed 0 (reports 41..60), then resumed */
    snprintf(o.dir, sizeof o.dir, "%s/killed", dir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        killer k = { .kill_at = 53 };
        cmp_input in;
        compare_run(&c, &o, on_prog, &k, &in, &err);
        _exit(3); /* not reached: killed */
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was killed mid-way");
    killer k2 = { .kill_at = -1 };
    cmp_input a, b;
    cr_assert_eq(compare_run(&c, &o, on_prog, &k2, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(k2.skipped[0] + k2.skipped[1], 2, "both random runs finished before the kill: kept");
    cr_assert_eq(k2.started[0] + k2.started[1], 0);
    cr_assert_eq(k2.started[2] + k2.started[3], 2, "hyperband runs (one unfinished) run now");
    /* uninterrupted */
    snprintf(o.dir, sizeof o.dir, "%s/whole", dir);
    killer k3 = { .kill_at = -1 };
    cr_assert_eq(compare_run(&c, &o, on_prog, &k3, &b, &err), 0, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(a.runs[i].npts, 20, "run %d", i);
        cr_assert_eq(a.runs[i].npts, b.runs[i].npts, "run %d", i);
        for (int p = 0; p < a.runs[i].npts; p++) {
            cr_assert_eq(a.runs[i].epochs[p], b.runs[i].epochs[p]);
            cr_assert_eq(a.runs[i].best[p], b.runs[i].best[p], "run %d point %d", i, p);
        }
        cr_assert_eq(a.runs[i].pick, b.runs[i].pick, "run %d", i);
        cr_assert_eq(a.runs[i].pick_value, b.runs[i].pick_value, "run %d", i);
        cr_assert_eq(a.runs[i].ntrials, b.runs[i].ntrials, "run %d", i);
    }
    compare_input_free(&a);
    compare_input_free(&b);
}

/* ---- bad input ---- */

Test(compare, bad_input_is_refused_with_status_2_naming_it)
{
    cli_write_in(dir, "b.ini", BLOBS);
    cli_expect_err(dir, "compare b.ini --methods random,hyperbnd --budget 20 -o out", 2,
                   "unknown method 'hyperbnd'");
    cli_expect_err(dir, "compare b.ini --methods grid --budget 20 -o out", 2,
                   "method 'grid': train.lr is a continuous range");
    cli_expect_err(dir, "compare b.ini --methods evolution --budget 20 -o out", 2,
                   "method 'evolution': needs an architecture space");
    cli_expect_err(dir, "compare b.ini --methods hyperband,random --budget 5 -o out", 2,
                   "method 'random': --budget 5 epochs is less than one trial (9 epochs)");
    cli_expect_err(dir, "compare b.ini --methods random --budget 20 --unit hours -o out", 2, "--unit: 'hours'");
    cli_expect_err(dir, "compare b.ini --budget 20 -o out", 2, "--methods is required");
    /* a finished run, then the same folder with another config: refused, run kept */
    cli_out r = cli_run(dir, "compare b.ini --methods random --seeds 1 --budget 9 -o out --quiet");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_free(&r);
    cli_expect_err(dir, "compare b.ini --methods random --seeds 1 --budget 9 -o out --set model.hidden=16", 2,
                   "out: made with another config or budget");
    cli_expect_err(dir, "compare b.ini --methods random --seeds 1 --budget 18 -o out", 2,
                   "made with another config or budget");
    r = cli_run(dir, "compare b.ini --methods random --seeds 1 --budget 9 -o out");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "random seed 0: finished before, kept"), "%s", r.err);
    cli_free(&r);
}

Test(compare, seconds_unit_stops_once_the_wall_budget_is_counted)
{
    cJSON_Delete(compare_json("--methods random --seeds 1 --budget 0.3 --unit seconds"));
    char db[300];
    snprintf(db, sizeof db, "%s/out/random-s0.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(h, "SELECT value FROM study_attrs WHERE key = 'budget_seconds'", -1, &q, NULL);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "the study counted its seconds");
    cr_assert_geq(sqlite3_column_double(q, 0), 0.3, "it ended because the budget was used, not before");
    sqlite3_finalize(q);
    sqlite3_close(h);
}

/* ---- hpo's resource limit, by hand through ask / report / tell ---- */

#include "hpo/study.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

Test(compare, study_max_reports_cuts_the_running_trial_and_then_says_done)
{
    tl_err err = {0};
    space sp;
    su_space(&sp, "x", "uniform(0, 1)", NULL);
    char db[200];
    snprintf(db, sizeof db, "%s/limit.db", dir);
    study_config c = su_config("limit", db);
    c.trials = 100;
    c.max_budget = 5;
    c.max_reports = 12;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    int ran[8] = {0}, ntr = 0, decision = DECIDE_CONTINUE;
    trial_job job;
    while (!study_ask(s, &job, &err) && job.kind == JOB_NEW) {
        cr_assert_lt(ntr, 8);
        int step = 1;
        for (; step <= 5; step++) {
            cr_assert_eq(study_report(s, job.number, step, job.values[0], step, &decision, NULL, &err), 0, "%s",
                         err.msg);
            if (decision == DECIDE_STOP)
                break;
        }
        ran[ntr++] = step > 5 ? 5 : step;
        cr_assert_eq(study_tell(s, job.number, decision == DECIDE_STOP ? TRIAL_PRUNED : TRIAL_COMPLETE,
                                job.values[0], NULL, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(job.kind, JOB_DONE);
    cr_assert_eq(ntr, 3, "5 + 5 + 2 reports");
    cr_assert_eq(ran[0], 5);
    cr_assert_eq(ran[1], 5);
    cr_assert_eq(ran[2], 2, "the third trial is cut at the report that used the budget up");
    cr_assert_eq(study_reports_used(s), 12);
    char buf[16];
    cr_assert_eq(study_trial_attr_get(s, 2, STUDY_ATTR_BUDGET_CUT, buf, sizeof buf), 1);
    cr_assert_eq(study_trial_attr_get(s, 1, STUDY_ATTR_BUDGET_CUT, buf, sizeof buf), 0);
    study_close(s);
    /* a budget used up by a trial's last epoch: that trial completes, uncut */
    snprintf(db, sizeof db, "%s/limit10.db", dir);
    c = su_config("limit10", db);
    c.trials = 100;
    c.max_budget = 5;
    c.max_reports = 10;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    ntr = 0;
    while (!study_ask(s, &job, &err) && job.kind == JOB_NEW) {
        cr_assert_lt(ntr, 8);
        for (int step = 1; step <= 5; step++) {
            cr_assert_eq(study_report(s, job.number, step, job.values[0], step, &decision, NULL, &err), 0, "%s",
                         err.msg);
            cr_assert_eq(decision, DECIDE_CONTINUE, "trial %d step %d", job.number, step);
        }
        cr_assert_eq(study_tell(s, job.number, TRIAL_COMPLETE, job.values[0], NULL, &err), 0, "%s", err.msg);
        ntr++;
    }
    cr_assert_eq(job.kind, JOB_DONE);
    cr_assert_eq(ntr, 2);
    cr_assert_eq(study_trial_attr_get(s, 1, STUDY_ATTR_BUDGET_CUT, buf, sizeof buf), 0, "reached its target: not cut");
    study_close(s);
    space_free(&sp);
}
