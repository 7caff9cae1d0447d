/* tests/test_nas_inherit_cli.c: nas.inherit end to end through the tunelab
 * binary (TUNELAB_BIN) in a mkdtemp() folder, on a spirals MLP whose depth
 * and per-layer widths evolve: every mutated child that was trained starts
 * from its parent (trial attribute "inherit" with the morphism) and trains
 * nas.child_epochs epochs while random draws train train.epochs; each
 * trained trial leaves its state for its children (nas-N.state); when the
 * parents' states are gone (deleted here, as after a lost disk) a resumed
 * study's children train from scratch for the full budget and say so; the
 * report shows the family tree; nas.inherit with another sampler or a
 * space without architecture keys is a config error (status 2) naming the
 * key. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/ckpt.h"
#include "tune/session.h"
#include "tune/task_data.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl_inh")

TestSuite(nas_inherit_cli, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

static const char *SPIRALS =
    "[data]\ndataset = spirals\nsamples = 600\nclasses = 3\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 16\n"
    "[train]\noptimizer = adamw\nlr = 3e-2\nbatch_size = 64\nepochs = 4\nseed = 1\nthreads = 1\n"
    "[study]\nname = inh\ntrials = 16\nsampler = evolution\nseed = 3\n"
    "[nas]\npopulation = 5\nsample_size = 2\ninherit = true\nchild_epochs = 1\n"
    "[space]\nmodel.layers = choice(1, 2, 3)\n"
    "model.width1 = choice(8, 16, 32)\n"
    "model.width2 = choice(8, 16, 32) if model.layers in (2, 3)\n"
    "model.width3 = choice(8, 16, 32) if model.layers == 3\n";

typedef struct row {
    int number, parent, epochs, reused;
    char inherit[300];
} row;

static int load(const char *db, row *rows, int cap)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", db);
    sqlite3_stmt *q;
    const char *sql = "SELECT t.number, ifnull(t.parent, -1), ifnull(t.reason, ''), "
                      "(SELECT value FROM trial_attrs a WHERE a.trial_id = t.id AND a.key = 'epochs'), "
                      "(SELECT value FROM trial_attrs a WHERE a.trial_id = t.id AND a.key = 'inherit') "
                      "FROM trials t ORDER BY t.number";
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < cap) {
        row *r = &rows[n++];
        r->number = sqlite3_column_int(q, 0);
        r->parent = sqlite3_column_int(q, 1);
        r->reused = strstr((const char *)sqlite3_column_text(q, 2), "reused") != NULL;
        r->epochs = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 : atoi((const char *)sqlite3_column_text(q, 3));
        const unsigned char *a = sqlite3_column_text(q, 4);
        snprintf(r->inherit, sizeof r->inherit, "%s", a ? (const char *)a : "");
    }
    sqlite3_finalize(q);
    sqlite3_close(h);
    return n;
}

static int state_exists(const char *dir, int k)
{
    char st[200];
    snprintf(st, sizeof st, "%s/inh.db.states/nas-%d.state", dir, k);
    return access(st, R_OK) == 0;
}

/* The optimizer's step count (opt.t) and the trainer's (its own steps)
 * saved in trial k's state. */
static void saved_steps(const char *dir, int k, long *opt_t, long *step)
{
    char st[200];
    snprintf(st, sizeof st, "%s/inh.db.states/nas-%d.state", dir, k);
    config c;
    task_data d;
    session s;
    tl_err e = {0};
    cr_assert_eq(session_config_of_ckpt(&c, st, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(task_data_load(&c, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(session_new(&s, &c, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(session_resume(&s, st, &e), 0, "%s", e.msg);
    *opt_t = s.tr.opt.t;
    *step = s.tr.step;
    session_free(&s);
    task_data_free(&d);
}

/* The trial whose training a reused row k's result came from (its reason
 * "reused result of trial N"), else k. */
static int trained_by(const char *db, int k)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT ifnull(reason, '') FROM trials WHERE number = ?", -1, &q, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(q, 1, k);
    int from = k;
    if (sqlite3_step(q) == SQLITE_ROW)
        sscanf((const char *)sqlite3_column_text(q, 0), "reused result of trial %d", &from);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return from;
}

Test(nas_inherit_cli, children_inherit_train_child_epochs_and_fall_back_when_the_state_is_gone)
{
    char path[160], db[160];
    cli_write_in(dir, "inh.ini", SPIRALS);
    cli_out r = cli_run(dir, "run inh.ini --set study.storage=inh.db --set nas.seed_epochs=2");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "parent state(s) removed"), "%s", r.out);
    cli_free(&r);
    snprintf(db, sizeof db, "%s/inh.db", dir);
    row rows[64];
    int n = load(db, rows, 64), children = 0;
    cr_assert_eq(n, 16);
    /* at the end only the population's states are left (the last 5
     * evaluated trials, or for a reused result the trial that trained it):
     * what a resumed study's children can inherit from */
    unsigned char keep[64] = {0};
    for (int k = n - 1, members = 0; k >= 0 && members < 5; k--, members++)
        keep[trained_by(db, k)] = 1;
    for (int k = 0; k < n; k++) {
        if (!rows[k].reused)
            cr_assert_eq(state_exists(dir, k), keep[k], "trial %d: state %s", k,
                         keep[k] ? "removed but a resume needs it" : "kept but no child can need it");
        if (rows[k].reused)
            continue;
        if (rows[k].parent < 0) {
            cr_assert_eq(rows[k].epochs, 2, "random draw %d trains nas.seed_epochs", k);
            cr_assert_str_empty(rows[k].inherit);
            continue;
        }
        children++;
        cr_assert(strstr(rows[k].inherit, "\"from\": \"parent\"") && strstr(rows[k].inherit, "\"morph\"") &&
                      strstr(rows[k].inherit, "\"optimizer\": \"continued\""),
                  "trial %d: %s", k, rows[k].inherit);
        cr_assert_eq(rows[k].epochs, 1, "child %d trains nas.child_epochs", k);
        if (keep[k]) { /* nas.child_moments (default): the optimizer counts the lineage's steps */
            long t, own;
            saved_steps(dir, k, &t, &own);
            cr_assert_gt(t, own, "trial %d: optimizer step %ld, own steps %ld", k, t, own);
        }
    }
    cr_assert_geq(children, 5, "evolution made children");

    /* an extended study's children inherit from the kept states (here
     * with a reset optimizer) */
    r = cli_run(dir, "run inh.ini --set study.storage=inh.db --set study.trials=19 --set nas.child_moments=false");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_free(&r);
    int inherited = 0;
    n = load(db, rows, 64);
    cr_assert_eq(n, 19);
    for (int k = 16; k < n; k++)
        if (!rows[k].reused && rows[k].parent >= 0 && rows[k].parent < 16) {
            cr_assert(strstr(rows[k].inherit, "\"from\": \"parent\"") &&
                          strstr(rows[k].inherit, "\"optimizer\": \"reset\""),
                      "trial %d: %s", k, rows[k].inherit);
            inherited++;
            /* the optimizer is reset, not carried over: it counts only the
             * child's own epoch (<= 10 steps of 64 of the 600 samples); a
             * carried one would also count the parent's >= 2 epochs */
            long t, own;
            saved_steps(dir, k, &t, &own);
            cr_assert_eq(t, own, "trial %d", k);
            char st[200];
            snprintf(st, sizeof st, "%s/inh.db.states/nas-%d.state", dir, k);
            ckpt_info ci;
            tl_err e = {0};
            cr_assert_eq(ckpt_peek(st, &ci, NULL, NULL, &e), 0, "%s", e.msg);
            cr_assert_eq(ci.epoch, 1);
            cr_assert(ci.step >= 1 && ci.step <= 10, "trial %d: step %ld", k, ci.step);
        }
    cr_assert_gt(inherited, 0);

    /* the parents' states are gone: a resumed study's children start over */
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/inh.db.states/nas-%d.state", dir, k);
        unlink(path);
    }
    r = cli_run(dir, "run inh.ini --set study.storage=inh.db --set study.trials=25");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_free(&r);
    int m = load(db, rows, 64), scratch = 0;
    cr_assert_eq(m, 25);
    for (int k = n; k < m; k++) {
        if (rows[k].reused || rows[k].parent < 0 || rows[k].parent >= n)
            continue;
        scratch++;
        cr_assert(strstr(rows[k].inherit, "\"from\": \"scratch\"") && strstr(rows[k].inherit, "is gone"),
                  "trial %d: %s", k, rows[k].inherit);
        cr_assert_eq(rows[k].epochs, 4, "a child without its parent's state gets the full budget");
    }
    cr_assert_gt(scratch, 0);

    /* the report shows the family tree */
    r = cli_run(dir, "report inh.db -o rep");
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    char *html = cli_slurp(path);
    cr_assert(strstr(html, "Family tree") && strstr(html, "inherited: ") && strstr(html, "from scratch: "),
              "no family tree");
    free(html);
    cli_free(&r);
}

Test(nas_inherit_cli, inherit_needs_evolution_and_an_architecture_space)
{
    cli_write_in(dir, "inh.ini", SPIRALS);
    cli_expect_err(dir, "run inh.ini --set study.storage=a.db --set study.sampler=random", 2, "nas.inherit");
    cli_write_in(dir, "lr.ini", "[data]\ndataset = spirals\nsamples = 200\n[train]\nepochs = 1\n"
                                "[study]\nsampler = evolution\ntrials = 2\n[nas]\ninherit = true\n"
                                "[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    cli_expect_err(dir, "run lr.ini --set study.storage=b.db", 2, "nas.inherit");
}

Test(nas_inherit_cli, constraints_and_a_pareto_objective_work_with_inheritance)
{
    cli_write_in(dir, "inh.ini", SPIRALS);
    cli_out r = cli_run(dir, "run inh.ini --set study.storage=c.db --set study.trials=12 --set nas.max_params=1200 "
                             "--set \"nas.objectives=val_loss, params\"");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Pareto front") && strstr(r.out, "nas.max_params: "), "%s", r.out);
    cli_free(&r);
    char db[160];
    snprintf(db, sizeof db, "%s/c.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT t.number, a.value FROM trials t JOIN trial_attrs a ON a.trial_id = t.id "
                                    "AND a.key = 'params'",
                                    -1, &q, NULL),
                 SQLITE_OK);
    int trained = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        trained++;
        cr_assert_leq(atol((const char *)sqlite3_column_text(q, 1)), 1200, "trial %d breaks nas.max_params",
                      sqlite3_column_int(q, 0));
    }
    sqlite3_finalize(q);
    int inherited = 0;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM trial_attrs WHERE key = 'inherit' AND "
                                       "value LIKE '%\"from\": \"parent\"%'", -1, &q, NULL),
                 SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        inherited = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    cr_assert_geq(trained, 6);
    cr_assert_gt(inherited, 0, "Pareto tournaments' children inherit too");
}
