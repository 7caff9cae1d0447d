/* tests/test_report_edges.c: the static report's rough edges, fixed
 * (issue 16): a bayes + hyperband study written by `tunelab run` with a
 * command objective gets a best-trial table with words instead of
 * Hyperband's JSON and numbers to meaningful digits, parameter plots that
 * include the pruned trials, a GP section and no architecture-search
 * section; a study whose trials carry "reused_from" and "params" (any
 * study that reuses duplicates or trains models) gets no architecture-search
 * section either; and the helpers that make the words. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hpo/space.h"
#include "hpo/study.h"
#include "report/report.h"
#include "tests/report_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

static char dir[64];
static const char *bin;

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_repedge");
    bin = ru_bin();
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

TestSuite(report_edges, .init = setup, .fini = teardown, .timeout = 120);

/* The most significant digits after a '.' (leading zeros skipped) in any
 * number between from and to. */
static int longest_fraction(const char *from, const char *to)
{
    int best = 0;
    for (const char *p = from; p < to; p++)
        if (*p == '.' && p + 1 < to && isdigit((unsigned char)p[1])) {
            int n = 0, z = 0;
            while (p + 1 + z < to && p[1 + z] == '0')
                z++;
            while (p + 1 + z + n < to && isdigit((unsigned char)p[1 + z + n]))
                n++;
            if (n > best)
                best = n;
        }
    return best;
}

/* Runs `tunelab report db -o DIR/rep`, which must succeed, and returns the
 * page it wrote (caller frees). */
static char *report_page(const char *db)
{
    char *out, *err, path[160];
    cr_assert_eq(ru_tl(dir, bin, "NO_COLOR=1", &out, &err, "report %s -o %s/rep", db, dir), 0, "%s", err);
    free(out), free(err);
    snprintf(path, sizeof path, "%s/rep/index.html", dir);
    char *html = ru_slurp(path, NULL);
    cr_assert_not_null(html);
    return html;
}

Test(report_edges, a_bayes_hyperband_study_reads_as_words_with_pruned_trials_drawn)
{
    char ini[128], sh[128], db[128];
    snprintf(ini, sizeof ini, "%s/hb.ini", dir);
    snprintf(sh, sizeof sh, "%s/obj.sh", dir);
    snprintf(db, sizeof db, "%s/hb.db", dir);
    FILE *f = fopen(sh, "w");
    fprintf(f, "#!/bin/sh\ni=1\nwhile [ $i -le ${TUNELAB_BUDGET%%.*} ]; do\n"
               "  v=$(awk -v x=\"$X\" -v s=$i 'BEGIN{printf \"%%.9f\", (x-0.3)^2 + 1/(s+1)}')\n"
               "  echo \"tunelab-report $i $v $i\"\n  i=$((i+1))\ndone\necho \"loss=$v\"\n");
    fclose(f);
    chmod(sh, 0755);
    f = fopen(ini, "w");
    fprintf(f, "[study]\nname = edges\ntrials = 20\nseed = 3\nstorage = %s\ndirection = minimize\nmetric = value\n"
               "sampler = bayes\nscheduler = hyperband\nmin_budget = 1\nmax_budget = 9\neta = 3\n"
               "[objective]\ntype = command\ncommand = %s\n[space]\nx = uniform(0, 1)\nwidth = int(8, 64)\n", db, sh);
    fclose(f);
    char *out, *err;
    cr_assert_eq(ru_tl(dir, bin, "NO_COLOR=1", &out, &err, "run %s --quiet", ini), 0, "%s", err);
    free(out), free(err);
    char *html = report_page(db);
    const char *best = strstr(html, "Best trial"), *end = best ? strstr(best, "</table>") : NULL;
    cr_assert(best && end);
    cr_assert_null(strstr(html, "&quot;scheduler&quot;"), "Hyperband's JSON in the page");
    cr_assert(strstr(best, "hyperband: bracket"), "the scheduler's state in words");
    int digits = longest_fraction(best, strstr(best, "Top ") ? strstr(strstr(best, "Top "), "</table>") : end);
    cr_assert_leq(digits, 6, "a number with %d significant decimals in the best/top tables", digits);
    cr_assert(strstr(html, "pruned ones"), "the parameter plots say they draw pruned trials");
    cr_assert(strstr(html, "id=\"gp\""), "a bayes study gets its GP section");
    cr_assert_null(strstr(html, "Architecture search"), "no NAS section in a bayes study");
    free(html);
}

/* A hand-made random-sampler study whose trials carry "params" (as every
 * train trial does) and one "reused_from" (hpo's reuse of a duplicate). */
Test(report_edges, reused_trials_and_parameter_counts_alone_are_not_an_architecture_search)
{
    char db[128];
    snprintf(db, sizeof db, "%s/w.db", dir);
    tl_err e = {0};
    space sp;
    su_space(&sp, "model.hidden", "int(8, 64)", NULL);
    study_config c = su_config("width", db);
    c.trials = 5;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &e), 0, "%s", e.msg);
    cr_assert_eq(study_attr_set(s, "sampler", "random", &e), 0, "%s", e.msg);
    trial_job job;
    while (!study_ask(s, &job, &e) && job.kind == JOB_NEW) {
        char pc[32];
        snprintf(pc, sizeof pc, "%d", 100 * (int)job.values[0]);
        cr_assert_eq(study_trial_attr_set(s, job.number, "params", pc, &e), 0, "%s", e.msg);
        if (job.number == 4)
            cr_assert_eq(study_trial_attr_set(s, job.number, "reused_from", "1", &e), 0, "%s", e.msg);
        cr_assert_eq(study_tell(s, job.number, TRIAL_COMPLETE, job.values[0] / 64, NULL, &e), 0, "%s", e.msg);
    }
    study_close(s);
    space_free(&sp);
    char *html = report_page(db);
    cr_assert_null(strstr(html, "Architecture search"), "a width-only study got a NAS section");
    free(html);
}

Test(report_edges, attributes_and_values_in_words)
{
    char buf[256];
    cr_assert_str_eq(report_attr_text("x", "0.10849999999999999", buf, sizeof buf), "0.1085");
    report_attr_text("hb", "{\"scheduler\":\"hyperband\",\"iteration\":0,\"bracket\":2,\"rung\":1,\"status\":\"stopped\","
                           "\"rung_n\":[9,3,1],\"rung_budget\":[1,3,9],\"rung_value\":[0.5,0.25]}", buf, sizeof buf);
    cr_assert_str_eq(buf, "hyperband: bracket 2, reached rung 1 of 3 (budget 3), stopped");
    report_attr_text("paused_at", "{\"budget\":3,\"step\":3,\"value\":0.26049899999999998}", buf, sizeof buf);
    cr_assert_str_eq(buf, "paused at budget 3 (step 3), value 0.260499");
    cr_assert_str_eq(report_attr_text("note", "plain <text>", buf, sizeof buf), "plain <text>");
    space sp;
    su_space(&sp, "lr", "loguniform(1e-5, 1)", "act", "choice(relu, gelu)", NULL);
    cr_assert_str_eq(report_value_text(&sp, 0, 0.00029657067334145415, buf, sizeof buf), "0.0002966");
    cr_assert_str_eq(report_value_text(&sp, 1, 1, buf, sizeof buf), "gelu");
    space_free(&sp);
}
