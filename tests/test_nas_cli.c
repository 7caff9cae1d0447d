/* tests/test_nas_cli.c: architecture search end to end through the tunelab
 * binary (TUNELAB_BIN), in a mkdtemp() folder: `tunelab run` with sampler =
 * evolution on a spirals MLP with per-layer widths (conditional on
 * model.layers), a parameter budget and the second objective params: no
 * trained trial breaks the budget, rejections are counted and printed,
 * repeats reuse the earlier result, the printed and stored Pareto front is
 * the non-dominated set (checked by brute force against the database), the
 * same seed gives the same study; a tiny GPT on a text file made here
 * rejects heads that do not divide d_model; the report draws the NAS
 * section; a bad nas.objectives is a config error. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/cli_json_util.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl_nas")

TestSuite(nas_cli, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

/* 39 architectures (1 to 3 layers of width 8, 16 or 32), of which 20 fit
 * in MAX_PARAMS: 26 trials must reuse at least 6 results. */
#define MAX_PARAMS 600
#define NTRIALS 26
#define NFIT 20

static const char *SPIRALS =
    "[data]\ndataset = spirals\nsamples = 600\nclasses = 3\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 16\n"
    "[train]\noptimizer = adamw\nlr = 3e-2\nbatch_size = 64\nepochs = 10\nseed = 1\nthreads = 1\n"
    "[study]\nname = evo\ntrials = 26\nsampler = evolution\nseed = 3\n"
    "[nas]\npopulation = 5\nsample_size = 2\nmax_params = 600\nobjectives = val_loss, params\n"
    "[space]\nmodel.layers = choice(1, 2, 3)\n"
    "model.width1 = choice(8, 16, 32)\n"
    "model.width2 = choice(8, 16, 32) if model.layers in (2, 3)\n"
    "model.width3 = choice(8, 16, 32) if model.layers == 3\n";

typedef struct row {
    int number;
    char state[16];
    double value, params;
    char reason[256];
    char arch[256];
} row;

/* Reads every trial of the database at path: state, value, params
 * attribute, reason and the text of its values. */
static int load_rows(const char *path, row *rows, int cap)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", path);
    sqlite3_stmt *q;
    const char *sql =
        "SELECT t.number, t.state, t.value, (SELECT value FROM trial_attrs a WHERE a.trial_id = t.id AND "
        "a.key = 'params'), t.reason, (SELECT group_concat(v.param || '=' || v.text, ' ') FROM "
        "(SELECT * FROM trial_values WHERE trial_id = t.id ORDER BY param) v) FROM trials t ORDER BY t.number";
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < cap) {
        row *r = &rows[n++];
        r->number = sqlite3_column_int(q, 0);
        snprintf(r->state, sizeof r->state, "%s", (const char *)sqlite3_column_text(q, 1));
        r->value = sqlite3_column_type(q, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 2);
        r->params = sqlite3_column_type(q, 3) == SQLITE_NULL ? NAN : strtod((const char *)sqlite3_column_text(q, 3), NULL);
        const unsigned char *why = sqlite3_column_text(q, 4);
        snprintf(r->reason, sizeof r->reason, "%s", why ? (const char *)why : "");
        const unsigned char *a = sqlite3_column_text(q, 5);
        snprintf(r->arch, sizeof r->arch, "%s", a ? (const char *)a : "");
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

Test(nas_cli, evolution_on_spirals_keeps_the_budget_reuses_repeats_and_finds_the_front)
{
    char db[128];
    cli_write_in(dir, "evo.ini", SPIRALS);
    cli_out r = cli_run(dir, "run evo.ini --set study.storage=evo.db --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *sum = cli_last_json(r.out);
    cr_assert_eq((int)cJSON_GetObjectItem(sum, "n_trials")->valuedouble, NTRIALS);
    const cJSON *rej = cJSON_GetObjectItem(sum, "rejected");
    cr_assert(cJSON_IsObject(rej), "rejected: %s", r.out);
    cr_assert_gt(cJSON_GetObjectItem(rej, "total")->valuedouble, 0);
    char *txt = cJSON_PrintUnformatted(rej);
    cr_assert(strstr(txt, "nas.max_params"), "%s", txt);
    free(txt);

    snprintf(db, sizeof db, "%s/evo.db", dir);
    row rows[64];
    int n = load_rows(db, rows, 64);
    cr_assert_eq(n, NTRIALS);
    int trained = 0, reused = 0;
    for (int k = 0; k < n; k++) {
        cr_assert_str_eq(rows[k].state, "complete", "trial %d: %s (%s)", k, rows[k].state, rows[k].reason);
        int src;
        if (sscanf(rows[k].reason, "reused result of trial %d", &src) == 1) {
            reused++;
            cr_assert(src >= 0 && src < k);
            cr_assert_str_eq(rows[k].arch, rows[src].arch, "trial %d repeats trial %d", k, src);
            cr_assert_eq(rows[k].value, rows[src].value);
            continue;
        }
        trained++;
        cr_assert(rows[k].params <= MAX_PARAMS, "trial %d trained %g parameters", k, rows[k].params);
        for (int j = 0; j < k; j++)
            if (!strstr(rows[j].reason, "reused"))
                cr_assert_str_neq(rows[j].arch, rows[k].arch, "trial %d trained trial %d's architecture again", k,
                                  j);
    }
    cr_assert_eq((int)cJSON_GetObjectItem(sum, "reused")->valuedouble, reused);
    cr_assert_leq(trained, NFIT, "each architecture that fits is trained at most once");
    cr_assert_geq(reused, NTRIALS - NFIT);

    /* the front: exactly the trained trials no other trained trial dominates */
    const cJSON *front = cJSON_GetObjectItem(sum, "pareto_front");
    cr_assert(cJSON_IsArray(front));
    char on[64] = { 0 };
    const cJSON *it;
    double last_params = 0;
    cJSON_ArrayForEach(it, front)
    {
        int k = (int)cJSON_GetObjectItem(it, "trial")->valuedouble;
        cr_assert(k >= 0 && k < n);
        on[k] = 1;
        double p = cJSON_GetObjectItem(it, "params")->valuedouble;
        cr_assert_eq(p, rows[k].params);
        cr_assert_geq(p, last_params, "ascending parameters");
        last_params = p;
    }
    for (int a = 0; a < n; a++) {
        if (strstr(rows[a].reason, "reused"))
            continue;
        int dominated = 0;
        for (int b = 0; b < n; b++)
            dominated |= !strstr(rows[b].reason, "reused") && rows[b].value <= rows[a].value &&
                         rows[b].params <= rows[a].params &&
                         (rows[b].value < rows[a].value || rows[b].params < rows[a].params);
        cr_assert_eq(on[a], !dominated, "trial %d: on the front %d, dominated %d", a, on[a], dominated);
    }
    cJSON_Delete(sum);
    cli_free(&r);

    /* the same seed, the same study; the text summary prints the front */
    r = cli_run(dir, "run evo.ini --set study.storage=evo2.db");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Pareto front (val_loss against params)"), "%s", r.out);
    cr_assert(strstr(r.out, "rejected before training:"), "%s", r.out);
    snprintf(db, sizeof db, "%s/evo2.db", dir);
    row again[64];
    cr_assert_eq(load_rows(db, again, 64), NTRIALS);
    for (int k = 0; k < n; k++) {
        cr_assert_str_eq(again[k].arch, rows[k].arch, "trial %d", k);
        cr_assert_eq(again[k].value, rows[k].value, "trial %d", k);
    }
    cli_free(&r);

    /* the report draws the architecture-search section */
    r = cli_run(dir, "report evo.db -o rep");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char png[160];
    snprintf(png, sizeof png, "%s/rep/pareto_front.png", dir);
    struct stat st;
    cr_assert(stat(png, &st) == 0 && st.st_size > 0, "%s", png);
    snprintf(png, sizeof png, "%s/rep/index.html", dir);
    char *html = cli_slurp(png);
    cr_assert(strstr(html, "Architecture search") && strstr(html, "pareto_budget.png"), "no NAS section");
    free(html);
    cli_free(&r);
}

/* A study that tunes a width beside the learning rate (random sampler, no
 * size budget, one objective) is a hyperparameter study: no Pareto front in
 * its summary and no architecture-search section in its report (issue 16). */
/* A one-layer spirals MLP, 2 epochs of batch 64 at 1 thread: the head of
 * the small configs below (each adds its [study] and [space]). */
#define SPIRALS_1L                                                                                 \
    "[data]\ndataset = spirals\nsamples = 300\nclasses = 3\n"                                     \
    "[model]\ntype = mlp\nlayers = 1\nhidden = 16\n"                                               \
    "[train]\noptimizer = adamw\nlr = 3e-2\nbatch_size = 64\nepochs = 2\nseed = 1\nthreads = 1\n"

Test(nas_cli, a_width_tuned_beside_the_learning_rate_is_not_an_architecture_search)
{
    cli_write_in(dir, "width.ini",
                 SPIRALS_1L
                 "[study]\nname = width\ntrials = 4\nsampler = random\nseed = 3\n"
                 "[space]\nmodel.hidden = choice(8, 16, 32)\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    cli_out r = cli_run(dir, "run width.ini --set study.storage=width.db --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *sum = cli_last_json(r.out);
    cr_assert_null(cJSON_GetObjectItem(sum, "pareto_front"), "%s", r.out);
    cr_assert_null(strstr(r.out, "Pareto front"), "%s", r.out);
    cJSON_Delete(sum);
    cli_free(&r);
    r = cli_run(dir, "report width.db -o wrep");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char path[160];
    snprintf(path, sizeof path, "%s/wrep/index.html", dir);
    char *html = cli_slurp(path);
    cr_assert_null(strstr(html, "Architecture search"), "a width study got a NAS section");
    free(html);
    cli_free(&r);
}

Test(nas_cli, tiny_gpt_never_trains_heads_that_do_not_divide_d_model)
{
    char path[128];
    snprintf(path, sizeof path, "%s/tiny.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%s the cat sat on the mat %d times\n", i % 3 ? "and" : "so", i % 7);
    fclose(f);
    cli_write_in(dir, "gpt.ini", "[data]\ndataset = text\npath = tiny.txt\nval_fraction = 0.2\neval_windows = 8\n"
                                 "[model]\ntype = gpt\nctx = 8\nd_model = 16\nlayers = 1\nheads = 1\nmlp_ratio = 2\n"
                                 "[train]\nlr = 3e-3\nbatch_size = 8\nsteps_per_epoch = 5\nepochs = 1\nseed = 1\nthreads = 1\n"
                                 "[study]\nname = gpt\nstorage = gpt.db\ntrials = 8\nsampler = evolution\nseed = 1\n"
                                 "[nas]\npopulation = 3\nsample_size = 2\n"
                                 "[space]\nmodel.d_model = choice(8, 12, 16)\nmodel.heads = choice(1, 2, 3, 4)\n"
                                 "model.layers = int(1, 2)\n");
    cli_out r = cli_run(dir, "run gpt.ini --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *sum = cli_last_json(r.out);
    const cJSON *rej = cJSON_GetObjectItem(sum, "rejected");
    cr_assert(cJSON_IsObject(rej), "%s", r.out);
    char *txt = cJSON_PrintUnformatted(rej);
    cr_assert(strstr(txt, "\"key\":\"model.heads\"") && strstr(txt, "is not divisible by"), "%s", txt);
    free(txt);
    char db[128];
    snprintf(db, sizeof db, "%s/gpt.db", dir);
    row rows[16];
    int n = load_rows(db, rows, 16);
    cr_assert_eq(n, 8);
    for (int k = 0; k < n; k++) {
        int d = 0, h = 0;
        const char *a = strstr(rows[k].arch, "model.d_model="), *b = strstr(rows[k].arch, "model.heads=");
        cr_assert(a && b, "%s", rows[k].arch);
        d = atoi(a + 14);
        h = atoi(b + 12);
        cr_assert(h > 0 && d % h == 0, "trial %d: d_model %d, heads %d", k, d, h);
        cr_assert_str_eq(rows[k].state, "complete", "trial %d: %s", k, rows[k].reason);
    }
    cJSON_Delete(sum);
    cli_free(&r);
}

Test(nas_cli, unknown_objective_is_a_config_error)
{
    cli_write_in(dir, "bad.ini", SPIRALS);
    cli_expect_err(dir, "run bad.ini --set 'nas.objectives=val_loss, speed'", 2, "nas.objectives");
}

/* `tunelab run acc.ini` into dir/DB with the extra --set options; returns
 * the train_flops attribute of its trial 0. */
static double train_flops_of_run(const char *db, const char *sets)
{
    char args[256], path[160];
    snprintf(args, sizeof args, "run acc.ini --quiet --set study.storage=%s %s", db, sets);
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "%s: %s", args, r.err);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/%s", dir, db);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", path);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT a.value FROM trial_attrs a JOIN trials t ON t.id = a.trial_id "
                                    "WHERE t.number = 0 AND a.key = 'train_flops'",
                                    -1, &q, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "%s: no train_flops attribute", path);
    double v = strtod((const char *)sqlite3_column_text(q, 0), NULL);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return v;
}

/* An optimizer step of accum_steps micro-batches trains accum_steps x
 * batch_size samples: batch 32 x 2 micro-batches and batch 64 x 1 train
 * the same samples in the same number of steps, so the same FLOPs (the
 * attribute once counted one micro-batch a step: half). */
Test(nas_cli, train_flops_counts_every_micro_batch_of_a_step)
{
    cli_write_in(dir, "acc.ini",
                 SPIRALS_1L
                 "[study]\nname = acc\ntrials = 1\nsampler = random\nseed = 3\n"
                 "[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    double f1 = train_flops_of_run("a1.db", "");
    double f2 = train_flops_of_run("a2.db", "--set train.batch_size=32 --set train.accum_steps=2");
    cr_assert_gt(f1, 0.0);
    cr_assert_float_eq(f2, f1, 1e-6 * f1, "batch 32 x accum 2: %g FLOPs, batch 64 x accum 1: %g", f2, f1);
}
