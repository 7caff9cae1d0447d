/* tests/test_report_pbt.c: the population-based-training section of
 * `tunelab report` (cli/report_pbt.c), through the binary (TUNELAB_BIN).
 *
 * Studies: tiny PBT runs of `tunelab run` on the spirals dataset (4
 * members, ready every epoch, 5 epochs, asynchronous and synchronous) in a
 * mkdtemp() folder, the same config under fifo (no section), the paper's
 * toy problem through the C API (no "scheduler" attribute, a categorical
 * live parameter), and copies of a PBT database made unfinished or damaged
 * with SQL.  Checked: the section is there exactly when it applies; every
 * figure it shows exists and is non-empty, one per live parameter plus the
 * lineage and the metric; the exploit table has one row per exploit record
 * of the parsed lineages (pbt_lineage_parse), with member, source and
 * epoch; the schedule table has one row per segment of pbt_schedule for the
 * best member and the pbt-replay command; an unfinished study says so; a
 * damaged record makes the command exit 2 naming the trial.  Does not: look
 * at the pixels (the figures were checked by eye).
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hpo/executor.h"
#include "hpo/pbt.h"
#include "tests/pbt_toy.h"
#include "hpo/study.h"
#include "tests/cli_util.h"
#include "tests/lineage_util.h"
#include "tests/report_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

TMPDIR_FIXTURE(dir, "tl_reppbt")

TestSuite(report_pbt, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

#define POP 4
#define EPOCHS 5

static const char *INI =
    "[data]\ndataset = spirals\nsamples = 400\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 12\n"
    "[train]\noptimizer = adamw\nlr = 3e-3\nbatch_size = 32\nepochs = 5\nseed = 3\nthreads = 1\n"
    "[study]\nname = %s\nstorage = %s.db\ntrials = 4\nscheduler = %s\nseed = 5\n"
    "[pbt]\npopulation = 4\ninterval = 1\nsync = %s\n"
    "[space]\ntrain.lr = loguniform(1e-4, 3e-2)\ntrain.weight_decay = loguniform(1e-5, 1e-1)\n"
    "model.dropout = uniform(0, 0.3)\n";

/* The space of INI, for parsing the lineages. */
static void ini_space(space *sp)
{
    su_space(sp, "train.lr", "loguniform(1e-4, 3e-2)",
                 "train.weight_decay", "loguniform(1e-5, 1e-1)",
                 "model.dropout", "uniform(0, 0.3)",
                 NULL);
}

/* `tunelab run` of INI as study `name` with the scheduler and mode given. */
static void run_cli(const char *name, const char *scheduler, int sync)
{
    char path[128], text[2048], args[256];
    snprintf(path, sizeof path, "%s/%s.ini", dir, name);
    snprintf(text, sizeof text, INI, name, name, scheduler, sync ? "true" : "false");
    cli_write(path, text);
    snprintf(args, sizeof args, "run %s.ini --quiet", name);
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "run failed: %s", r.err);
    cli_free(&r);
}

/* `tunelab report DIR/name.db -o DIR/name-report`: the exit status; the
 * page (malloc'd) in *html. */
static int report(const char *name, char **html)
{
    char args[256], path[256];
    snprintf(args, sizeof args, "report %s.db -o %s-report", name, name);
    cli_out r = cli_run(dir, args);
    int st = r.status;
    cr_assert(st == 0 || st == 2, "stdout: %s\nstderr: %s", r.out, r.err);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/%s-report/index.html", dir, name);
    *html = cli_slurp(path);
    return st;
}

/* Every <img src> of sec exists under DIR/name-report and is a non-empty
 * PNG; returns how many, and checks that `want` (NULL-terminated) are
 * among them. */
static int check_figures(const char *name, const char *sec, const char *const *want)
{
    int n = 0;
    for (const char *p = strstr(sec, "<img src=\""); p; p = strstr(p + 1, "<img src=\"")) {
        p += strlen("<img src=\"");
        const char *q = strchr(p, '"');
        cr_assert_not_null(q);
        char file[128], path[512];
        snprintf(file, sizeof file, "%.*s", (int)(q - p), p);
        cr_assert(strncmp(file, "pbt_", 4) == 0, "figure %s: names start with pbt_", file);
        snprintf(path, sizeof path, "%s/%s-report/%s", dir, name, file);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s is missing", path);
        unsigned char h[8];
        size_t got = fread(h, 1, sizeof h, f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        cr_assert(got == 8 && memcmp(h + 1, "PNG", 3) == 0 && size > 1000,
                  "%s: not a PNG or nearly empty (%ld bytes)", file, size);
        n++;
    }
    for (int k = 0; want && want[k]; k++) {
        char img[160];
        snprintf(img, sizeof img, "<img src=\"%s\"", want[k]);
        cr_assert(strstr(sec, img), "no %s in the section", want[k]);
    }
    return n;
}

/* The members' lineages and their number of exploit records, read from the
 * database with plain SQL and pbt_lineage_parse. */
static int load_lineages(const char *name, const space *sp, pbt_lineage *L, int *exploits,
                         int *late)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int n = lu_load_lineages(db, sp, L, POP);
    sqlite3_close(db);
    *exploits = *late = 0;
    for (int m = 0; m < POP; m++)
        for (int j = 0; j < L[m].n; j++)
            if (L[m].e[j].kind == PBT_EXPLOIT) {
                (*exploits)++;
                *late += L[m].e[j].pos != L[m].e[j].step;
            }
    return n;
}

/* The best complete trial's number (val_loss, minimized). */
static int best_trial(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT number FROM trials WHERE state = 'complete' ORDER BY "
                                    "value, number LIMIT 1",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int b = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return b;
}

/* The exploit rows of sec whose cells are: epoch, member, its value,
 * source: checks each (step, member, source) is an exploit record, and
 * that rows come in epoch order. */
static void check_exploit_rows(const char *sec, const pbt_lineage *L)
{
    int last_step = -1;
    for (const char *p = strstr(sec, "<tr class=\"exploit\">"); p;
         p = strstr(p + 1, "<tr class=\"exploit\">")) {
        double cell[4];
        const char *q = p;
        for (int k = 0; k < 4; k++) {
            q = strstr(q, "<td class=\"num\">");
            cr_assert_not_null(q);
            q += strlen("<td class=\"num\">");
            cell[k] = strtod(q, NULL);
        }
        int step = (int)cell[0], m = (int)cell[1], src = (int)cell[3];
        cr_assert(step >= last_step, "rows in epoch order");
        last_step = step;
        cr_assert(m >= 0 && m < POP);
        int found = 0;
        for (int j = 0; j < L[m].n; j++)
            found |= L[m].e[j].kind == PBT_EXPLOIT && L[m].e[j].step == step &&
                     L[m].e[j].src == src;
        cr_assert(found, "row: epoch %d, member %d, from %d is not an exploit record", step, m, src);
    }
}

static void check_pbt_report(const char *name, int sync)
{
    char *html;
    cr_assert_eq(report(name, &html), 0);
    char *sec = ru_section(html, "pbt");
    cr_assert_not_null(sec, "no PBT section in a PBT study's report");
    cr_assert(strstr(html, "<a href=\"#pbt\">"), "the section is in the navigation");

    static const char *const want[] = { "pbt_param_train.lr.png",
                                        "pbt_param_train.weight_decay.png",
                                        "pbt_param_model.dropout.png", "pbt_lineage.png",
                                        "pbt_metric.png", NULL };
    cr_assert_eq(check_figures(name, sec, want), 5, "3 live parameters + lineage + metric: %s",
                 sec);

    space sp;
    ini_space(&sp);
    pbt_lineage L[POP];
    memset(L, 0, sizeof L);
    int exploits, late;
    cr_assert_eq(load_lineages(name, &sp, L, &exploits, &late), POP);
    cr_assert(exploits > 0, "the tiny study copied nothing: the table would not be tested");
    cr_assert_eq(ru_count(sec, "<tr class=\"exploit\">"), exploits, "one row per exploit record: %s",
                 sec);
    cr_assert_eq(ru_count(sec, "(state of epoch "), late,
                 "a copy made after the copied state names the state's epoch");
    if (sync)
        cr_assert(late > 0, "some synchronous member copied after pausing: not tested");
    else
        cr_assert_eq(late, 0, "asynchronous members copy at their ready point");
    check_exploit_rows(sec, L);
    char summary[64];
    snprintf(summary, sizeof summary, "<p>%d members, %d exploit%s,", POP, exploits,
             exploits == 1 ? "" : "s");
    cr_assert(strstr(sec, summary), "want '%s' in %s", summary, sec);

    /* the schedule: one row per segment of pbt_schedule, then the command */
    int best = best_trial(name);
    pbt_segment *seg;
    int nseg;
    tl_err err = { 0 };
    cr_assert_eq(pbt_schedule(L, POP, best, 0, &seg, &nseg, &err), 0, "%s", err.msg);
    cr_assert_eq(ru_count(sec, "<tr class=\"segment\">"), nseg, "%s", sec);
    char first[160];
    snprintf(first, sizeof first, "<td class=\"num\">0&ndash;%d</td><td class=\"num\">trial %d</td>",
             seg[0].end, seg[0].member);
    cr_assert(strstr(sec, first), "want '%s' in %s", first, sec);
    char line[96];
    snprintf(line, sizeof line, "<p>Trial %d finished best", best);
    cr_assert(strstr(sec, line), "%s", sec);
    char db[PATH_MAX], abs[PATH_MAX], cmd[PATH_MAX + 64];
    snprintf(db, sizeof db, "%s/%s.db", dir, name);
    cr_assert_not_null(realpath(db, abs), "%s", db);
    snprintf(cmd, sizeof cmd, "tunelab pbt-replay %s</code>", abs); /* the program as a shell finds it */
    cr_assert(strstr(sec, cmd), "want '%s' in %s", cmd, sec);
    free(seg);
    for (int m = 0; m < POP; m++)
        pbt_lineage_free(&L[m]);
    space_free(&sp);
    free(sec);
    free(html);
}

Test(report_pbt, async_study_gets_figures_and_one_table_row_per_exploit)
{
    run_cli("pa", "pbt", 0);
    check_pbt_report("pa", 0);
}

Test(report_pbt, sync_study_names_the_copied_epoch_of_late_copies)
{
    run_cli("ps", "pbt", 1);
    check_pbt_report("ps", 1);
}

Test(report_pbt, fifo_study_has_no_pbt_section)
{
    run_cli("ff", "fifo", 0);
    char *html;
    cr_assert_eq(report("ff", &html), 0);
    cr_assert_null(strstr(html, "id=\"pbt\""), "a fifo study gets no PBT section");
    cr_assert_not_null(strstr(html, "id=\"curves\""), "the page itself was written");
    char path[256];
    snprintf(path, sizeof path, "%s/ff-report/pbt_lineage.png", dir);
    cr_assert_neq(access(path, F_OK), 0, "no PBT figure either");
    free(html);
}

/* Copies DIR/from.db to DIR/to.db and runs sql on the copy. */
static void db_copy_edit(const char *from, const char *to, const char *sql)
{
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/%s.db", dir, from);
    snprintf(b, sizeof b, "%s/%s.db", dir, to);
    char *text = NULL;
    {
        FILE *f = fopen(a, "rb");
        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc((size_t)n);
        cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        FILE *g = fopen(b, "wb");
        cr_assert_not_null(g);
        cr_assert_eq(fwrite(text, 1, (size_t)n, g), (size_t)n);
        fclose(g);
    }
    free(text);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(b, &db), SQLITE_OK);
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(db);
}

Test(report_pbt, unfinished_study_has_lineage_but_no_schedule_yet)
{
    run_cli("pu", "pbt", 0);
    /* as if killed while every member was paused: no complete member */
    db_copy_edit("pu", "pu2", "UPDATE trials SET state = 'paused', value = NULL;");
    char *html;
    cr_assert_eq(report("pu2", &html), 0);
    char *sec = ru_section(html, "pbt");
    cr_assert_not_null(sec);
    cr_assert(strstr(sec, "No member has completed yet"), "%s", sec);
    cr_assert_eq(ru_count(sec, "<tr class=\"segment\">"), 0);
    cr_assert_null(strstr(sec, "pbt-replay"), "nothing to replay yet");
    cr_assert_eq(check_figures("pu2", sec, NULL), 5, "%s", sec);
    free(sec);
    free(html);

    /* as if killed before any member trained: start records only */
    db_copy_edit("pu", "pu3",
                 "UPDATE trial_attrs SET value = json_array(json_extract(value, '$[0]')) WHERE "
                 "key = 'pbt.lineage'; UPDATE trials SET state = 'running', value = NULL; "
                 "DELETE FROM trial_intermediate;");
    cr_assert_eq(report("pu3", &html), 0, "nothing to draw is not a failure");
    sec = ru_section(html, "pbt");
    cr_assert_not_null(sec);
    cr_assert(strstr(sec, "No member has trained an epoch yet") &&
                  strstr(sec, "<p>4 members, 0 exploits, 0 member-epochs"),
              "%s", sec);
    cr_assert_eq(check_figures("pu3", sec, NULL), 0, "no empty figure: %s", sec);
    free(sec);
    free(html);
}

Test(report_pbt, damaged_lineage_fails_the_section_naming_the_trial)
{
    run_cli("pd", "pbt", 0);
    db_copy_edit("pd", "pd2",
                 "UPDATE trial_attrs SET value = '[{\"kind\":\"jump\"}]' WHERE key = "
                 "'pbt.lineage' AND trial_id = (SELECT id FROM trials WHERE number = 2);");
    char *html;
    cr_assert_eq(report("pd2", &html), 2, "damaged data in the database: exit status 2");
    char *sec = ru_section(html, "pbt");
    cr_assert_not_null(sec);
    cr_assert(strstr(sec, "<p class=\"error\">") && strstr(sec, "trial 2") &&
                  strstr(sec, "unknown kind"),
              "%s", sec);
    cr_assert_not_null(strstr(html, "id=\"curves\""), "the other sections are still written");
    free(sec);
    free(html);

    /* records that parse but do not chain: every start at epoch 1 */
    db_copy_edit("pd", "pd3",
                 "UPDATE trial_attrs SET value = json_set(value, '$[0].pos', 1) WHERE key = "
                 "'pbt.lineage';");
    cr_assert_eq(report("pd3", &html), 2);
    sec = ru_section(html, "pbt");
    cr_assert_not_null(sec);
    cr_assert(strstr(sec, "<p class=\"error\">") && strstr(sec, "pbt schedule: member"), "%s",
              sec);
    free(sec);
    free(html);
}

/* ---- the toy problem through the C API ---- */

Test(report_pbt, toy_study_without_scheduler_attribute_draws_every_live_parameter)
{
    space sp;
    tl_err err = { 0 };
    /* tag, unused by the objective: a categorical live parameter to draw */
    su_space(&sp, "h0", "uniform(0, 4)", "h1", "uniform(0, 4)", "tag", "choice(red, green, blue)", NULL);
    study_config c = su_config_in(dir, "toy");
    c.trials = 4;
    c.seed = 2;
    c.direction = STUDY_MAXIMIZE;
    c.max_budget = 12;
    snprintf(c.scheduler, sizeof c.scheduler, "pbt");
    pbt_options po;
    pbt_options_default(&po);
    po.population = 4;
    po.interval = 4;
    c.scheduler_opts = &po;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    cr_assert_eq(study_attr_set(s, PBT_ATTR_LIVE, "*", &err), 0);
    pbt_toy toy;
    objective obj;
    cr_assert_eq(pbt_toy_init(&toy, &obj, &err), 0);
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    pbt_toy_free(&toy);
    study_close(s);
    space_free(&sp);

    char *html;
    cr_assert_eq(report("toy", &html), 0);
    char *sec = ru_section(html, "pbt");
    cr_assert_not_null(sec, "the lineage records alone make the section apply");
    static const char *const want[] = { "pbt_param_h0.png", "pbt_param_h1.png",
                                        "pbt_param_tag.png", "pbt_lineage.png", "pbt_metric.png",
                                        NULL };
    cr_assert_eq(check_figures("toy", sec, want), 5, "%s", sec);
    cr_assert(strstr(sec, "<p>4 members,"), "%s", sec);
    char db[PATH_MAX], abs[PATH_MAX], cmd[PATH_MAX + 64];
    snprintf(db, sizeof db, "%s/toy.db", dir);
    cr_assert_not_null(realpath(db, abs), "%s", db);
    snprintf(cmd, sizeof cmd, "tunelab pbt-replay %s</code>", abs);
    cr_assert(strstr(sec, cmd), "want '%s' in %s", cmd, sec);
    free(sec);
    free(html);
}
