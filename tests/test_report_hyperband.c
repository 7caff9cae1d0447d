/* tests/test_report_hyperband.c: the successive-halving section of `tunelab
 * report` (cli/report_hyperband.c), through the binary (TUNELAB_BIN).
 *
 * Studies are written through the C API into a mkdtemp() folder with a
 * synthetic objective that reports every epoch (value = (x - 0.3)^2 +
 * 1/epochs, state = epochs trained) and the study attributes `tunelab run`
 * stores: a 17-trial hyperband study (max 9, eta 3: three brackets), an
 * asha study (one bracket), a fifo study (no section), and a fifo study
 * whose trials carry hand-written rung records in 7 brackets (one panel
 * coloured by bracket).  Checked: the section is there only when it
 * applies, its summary and rung table agree with the trials, the figure
 * exists with one panel per bracket (read from the PNG's height).  Does
 * not: look at the pixels.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hpo/executor.h"
#include "hpo/study.h"
#include "tests/cli_util.h"
#include "tests/epoch_objective.h"
#include "tests/report_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

TMPDIR_FIXTURE(dir, "tl_rephb")

TestSuite(report_hyperband, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

/* ---- a study to report on ---- */

/* value = (x - 0.3)^2 + 1/epochs (tests/epoch_objective.h). */
static int ep_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    double x = job->values[0];
    return eo_train(s, job, out, (x - 0.3) * (x - 0.3), 1.0);
}

/* Runs a study `name` with the scheduler, trials and budgets given, into
 * DIR/name.db, storing the attributes cmd_run stores.  Returns the study
 * still open (the caller closes it). */
static study *run_study(const char *name, const char *scheduler, int trials, double max_budget)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "x", "uniform(0, 1)", NULL);
    study_config c = su_config_in(dir, name);
    snprintf(c.scheduler, sizeof c.scheduler, "%s", scheduler);
    c.trials = trials;
    c.seed = 4;
    c.min_budget = 1;
    c.max_budget = max_budget;
    /* eta: the halving schedulers' default, 3 */
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    const char *kv[][2] = { { "sampler", "random" }, { "scheduler", scheduler },
                            { "objective", "function" } };
    for (size_t k = 0; k < sizeof kv / sizeof kv[0]; k++)
        cr_assert_eq(study_attr_set(s, kv[k][0], kv[k][1], &err), 0, "%s", err.msg);
    objective obj = { .run = ep_run, .state_free = eo_free };
    cr_assert_eq(study_optimize(s, &obj, 1, NULL, NULL, &err), 0, "%s", err.msg);
    space_free(&sp);
    return s;
}

/* `tunelab report DIR/name.db -o DIR/name-report`; returns index.html. */
static char *report(const char *name)
{
    char args[256];
    snprintf(args, sizeof args, "report %s.db -o %s-report", name, name);
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    cli_free(&r);
    char path[256];
    snprintf(path, sizeof path, "%s/%s-report/index.html", dir, name);
    return cli_slurp(path);
}

/* The height of a PNG (IHDR), 0 when the file is missing or not a PNG. */
static long png_height(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s-report/hyperband_curves.png", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char h[24];
    size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    if (got < 24 || memcmp(h + 1, "PNG", 3) != 0)
        return 0;
    return (long)h[20] << 24 | (long)h[21] << 16 | (long)h[22] << 8 | (long)h[23];
}

/* The numbers of the rung table's row `row` (0: first after the header):
 * iteration, bracket, rung, budget, planned (-1 for "-"), entered,
 * promoted, stopped, complete, failed, open. */
static void table_row(const char *sec, int row, double *cell)
{
    const char *p = strstr(sec, "<th>iteration</th>");
    cr_assert_not_null(p, "no rung table");
    for (int r = 0; r <= row; r++) {
        p = strstr(p + 1, "<tr><td");
        cr_assert_not_null(p, "no row %d", row);
    }
    const char *q = p;
    for (int k = 0; k < 11; k++) {
        q = strstr(q, "<td class=\"num\">");
        cr_assert_not_null(q);
        q += strlen("<td class=\"num\">");
        cell[k] = *q == '-' ? -1 : strtod(q, NULL);
    }
}

Test(report_hyperband, hyperband_study_gets_curves_per_bracket_and_its_rung_table)
{
    study *s = run_study("hb", "hyperband", 17, 9);
    int counts[TRIAL_STATE_COUNT];
    study_counts(s, counts);
    study_close(s);
    char *html = report("hb");
    char *sec = ru_section(html, "hyperband");
    cr_assert_not_null(sec, "no hyperband section");
    cr_assert(strstr(sec, "17 trials in 3 brackets; 5 trained to the full budget of 9, 12 stopped"),
              "%s", sec);
    cr_assert(strstr(sec, "Budget used: 69, against 153"), "%s", sec);
    cr_assert(strstr(sec, "<img src=\"hyperband_curves.png\""), "%s", sec);
    cr_assert_eq(png_height("hb"), 2 * 320 + 60, "three brackets: panels in two rows");
    /* rows: brackets 2 (3 rungs), 1 (2), 0 (1) */
    cr_assert_eq(ru_count(sec, "<tr><td"), 6, "%s", sec);
    static const double want[6][11] = {
        { 0, 2, 0, 1, 9, 9, 3, 6, 0, 0, 0 }, { 0, 2, 1, 3, 3, 3, 1, 2, 0, 0, 0 },
        { 0, 2, 2, 9, 1, 1, 0, 0, 1, 0, 0 }, { 0, 1, 0, 3, 5, 5, 1, 4, 0, 0, 0 },
        { 0, 1, 1, 9, 1, 1, 0, 0, 1, 0, 0 }, { 0, 0, 0, 9, 3, 3, 0, 0, 3, 0, 0 },
    };
    long stopped = 0, complete = 0;
    for (int r = 0; r < 6; r++) {
        double cell[11];
        table_row(sec, r, cell);
        for (int k = 0; k < 11; k++)
            cr_assert_eq(cell[k], want[r][k], "row %d column %d: %g, want %g", r, k, cell[k],
                         want[r][k]);
        stopped += (long)cell[7];
        complete += (long)cell[8];
    }
    cr_assert_eq(stopped, counts[TRIAL_PRUNED], "stopped trials are the pruned ones");
    cr_assert_eq(complete, counts[TRIAL_COMPLETE]);
    free(sec);
    free(html);
}

Test(report_hyperband, asha_study_gets_one_panel)
{
    study_close(run_study("asha", "asha", 12, 9));
    char *html = report("asha");
    char *sec = ru_section(html, "hyperband");
    cr_assert_not_null(sec);
    cr_assert(strstr(sec, "12 trials in 1 bracket;"), "%s", sec);
    cr_assert_eq(png_height("asha"), 560, "one bracket: the default single panel");
    double cell[11];
    table_row(sec, 0, cell);
    cr_assert(cell[1] == 2 && cell[2] == 0 && cell[4] == -1 && cell[5] == 12,
              "asha rung 0: planned '-', 12 entered: %s", sec);
    free(sec);
    free(html);
}

Test(report_hyperband, fifo_study_has_no_section)
{
    study_close(run_study("fifo", "fifo", 3, 3));
    char *html = report("fifo");
    cr_assert_null(strstr(html, "id=\"hyperband\""), "a fifo study gets no rung section");
    cr_assert_not_null(strstr(html, "id=\"curves\""));
    free(html);
}

Test(report_hyperband, many_brackets_share_one_panel_coloured_by_bracket)
{
    /* rung records written by hand (the section reads only them): trial k
     * in bracket k, one rung at budget 3, complete */
    study *s = run_study("many", "fifo", 7, 3);
    tl_err err = { 0 };
    for (int k = 0; k < 7; k++) {
        char hb[256];
        snprintf(hb, sizeof hb,
                 "{\"scheduler\":\"hyperband\",\"iteration\":0,\"bracket\":%d,\"rung\":0,"
                 "\"status\":\"complete\",\"rung_n\":[1],\"rung_budget\":[3],\"rung_value\":[0.5]}",
                 k);
        cr_assert_eq(study_trial_attr_set(s, k, "hb", hb, &err), 0, "%s", err.msg);
    }
    study_close(s);
    char *html = report("many");
    char *sec = ru_section(html, "hyperband");
    cr_assert_not_null(sec, "trials with rung records get the section");
    cr_assert(strstr(sec, "7 trials in 7 brackets") && strstr(sec, "coloured by bracket"), "%s",
              sec);
    cr_assert_eq(png_height("many"), 560);
    cr_assert_eq(ru_count(sec, "<tr><td"), 7);
    free(sec);
    free(html);
}

Test(report_hyperband, a_damaged_rung_record_fails_the_section_naming_the_trial)
{
    study *s = run_study("bad", "hyperband", 5, 9);
    tl_err err = { 0 };
    cr_assert_eq(study_trial_attr_set(s, 2, "hb", "{\"bracket\": 1}", &err), 0, "%s", err.msg);
    study_close(s);
    cli_out r = cli_run(dir, "report bad.db -o bad-report");
    cr_assert_eq(r.status, 1, "a failed section: exit 1, got %d; stderr %s", r.status, r.err);
    cr_assert(strstr(r.err, "hyperband") && strstr(r.err, "trial 2"), "%s", r.err);
    cli_free(&r);
    char path[256];
    snprintf(path, sizeof path, "%s/bad-report/index.html", dir);
    char *html = cli_slurp(path);
    char *sec = ru_section(html, "hyperband");
    cr_assert(sec && strstr(sec, "class=\"error\"") && strstr(sec, "trial 2"), "%s", html);
    free(sec);
    free(html);
}
