/* tests/test_report.c: the commands that read a study back (show, best,
 * export, report), run through the tunelab binary (TUNELAB_BIN, else
 * ./tunelab) on studies written into a mkdtemp() folder: one built by hand
 * with the C API (intermediate values, pruned and failed trials, a log
 * parameter, a categorical holding "<script>", attributes) and one written
 * by `tunelab run` with a function objective.  Checks counts and values
 * against the C API's own view, that the HTML escapes user strings and
 * only references figures that exist, and the errors for a missing or
 * foreign database and an unwritable folder, and that the four commands
 * read a database in a read-only folder (as user nobody when the tests run
 * as root) exactly as in a writable one, creating and changing nothing
 * there.  Needs gnuplot for the report tests. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hpo/space.h"
#include "hpo/study.h"
#include "tests/report_util.h"
#include "tests/reader_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

#define NTRIALS 10
#define NSTEPS 5

static char dir[64];
static char db[128];
static const char *bin;

/* The hand-made study: trial 3 and 7 pruned after 2 steps, trial 5 failed,
 * the others complete; every trial reports NSTEPS values (fewer when
 * stopped) and gets a test_accuracy attribute. */
static void make_study(void)
{
    tl_err err = {0};
    space sp;
    su_space(&sp, "train.lr", "loguniform(1e-4, 1e-1)",
                  "model.layers", "int(1, 4)",
                  "act", "choice(\"<script>alert(1)</script>\", relu)",
                  NULL);
    study_config c = su_config("rep", db);
    c.trials = NTRIALS;
    c.seed = 7;
    c.max_budget = NSTEPS;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    trial_job job;
    while (!study_ask(s, &job, &err) && job.kind == JOB_NEW) {
        double lr = job.values[0], layers = job.values[1];
        int stop = job.number == 3 || job.number == 7 ? 2 : NSTEPS;
        double v = NAN;
        for (int step = 0; step < stop; step++) {
            v = pow(log10(lr) + 2.5, 2) + 0.1 * layers + 1.0 / (step + 1);
            cr_assert_eq(study_report(s, job.number, step, v, step + 1, NULL, NULL, &err), 0, "%s", err.msg);
        }
        char acc[32];
        snprintf(acc, sizeof acc, "%.4f", 1.0 / (1.0 + v));
        cr_assert_eq(study_trial_attr_set(s, job.number, "test_accuracy", acc, &err), 0, "%s", err.msg);
        int state = stop < NSTEPS ? TRIAL_PRUNED : job.number == 5 ? TRIAL_FAILED : TRIAL_COMPLETE;
        cr_assert_eq(study_tell(s, job.number, state, v, state == TRIAL_FAILED ? "diverged: loss \"nan\", step 4" : NULL,
                                &err), 0, "%s", err.msg);
    }
    study_close(s);
    space_free(&sp);
}

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_report");
    snprintf(db, sizeof db, "%s/rep.db", dir);
    bin = ru_bin();
    cr_assert_eq(access(bin, X_OK), 0, "no tunelab binary at %s (set TUNELAB_BIN)", bin);
    make_study();
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 60);

/* Runs `tunelab ARGS` (args: shell text, paths without spaces) with stdout
 * and stderr captured; returns the exit status. */
#define tl(out, errout, ...) ru_tl(dir, bin, "NO_COLOR=1", out, errout, __VA_ARGS__)

/* The C API's view of the study: counts per state and every trial. */
typedef struct truth {
    int counts[TRIAL_STATE_COUNT];
    int n;
    trial *t;
    int best;
    double best_value;
} truth;

static void read_truth(truth *tr)
{
    tl_err err = {0};
    space sp;
    space_init(&sp);
    space_add(&sp, "train.lr", "loguniform(1e-4, 1e-1)", &err);
    space_add(&sp, "model.layers", "int(1, 4)", &err);
    space_add(&sp, "act", "choice(\"<script>alert(1)</script>\", relu)", &err);
    study_config c = su_config("rep", db);
    c.trials = NTRIALS;
    c.max_budget = NSTEPS;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    study_counts(s, tr->counts);
    cr_assert_eq(study_trials(s, &tr->t, &tr->n, &err), 0, "%s", err.msg);
    cr_assert_eq(study_best(s, &tr->best, &tr->best_value), 1);
    study_close(s);
    space_free(&sp);
}

static cJSON *parse_json(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "not JSON: %.200s", text);
    return j;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(report, show_lists_every_trial_with_state_value_and_params)
{
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "show %s", db), 0, "%s", err);
    /* header, NTRIALS rows, a blank line, two summary lines */
    cr_assert_eq(count_lines(out), 1 + NTRIALS + 3, "%s", out);
    cr_assert(strstr(out, "train.lr") && strstr(out, "model.layers") && strstr(out, "reason"), "%s", out);
    cr_assert(strstr(out, "pruned") && strstr(out, "failed") && strstr(out, "diverged"), "%s", out);
    cr_assert(strstr(out, "<script>alert(1)</script>"), "a terminal table shows choices as they are");
    free(out);
    free(err);

    truth tr;
    read_truth(&tr);
    cr_assert_eq(tl(&out, &err, "show %s --json", db), 0, "%s", err);
    cJSON *j = parse_json(out);
    cJSON *trials = cJSON_GetObjectItem(j, "trials");
    cr_assert_eq(cJSON_GetArraySize(trials), tr.n);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_pruned")->valueint, tr.counts[TRIAL_PRUNED]);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_failed")->valueint, 1);
    for (int i = 0; i < tr.n; i++) {
        cJSON *t = cJSON_GetArrayItem(trials, i);
        cr_assert_eq(cJSON_GetObjectItem(t, "number")->valueint, tr.t[i].number);
        cr_assert_str_eq(cJSON_GetObjectItem(t, "state")->valuestring, trial_state_str(tr.t[i].state));
        double lr = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "params"), "train.lr")->valuedouble;
        cr_assert_eq(lr, tr.t[i].values[0], "trial %d: lr %.17g, stored %.17g", i, lr, tr.t[i].values[0]);
    }
    cJSON_Delete(j);
    study_trials_free(tr.t, tr.n);
    free(out);
    free(err);
}

Test(report, best_gives_the_best_complete_trial_its_attributes_and_retrain_command)
{
    truth tr;
    read_truth(&tr);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "best %s --json", db), 0, "%s", err);
    cJSON *j = parse_json(out);
    cJSON *t = cJSON_GetObjectItem(j, "trial");
    cr_assert_eq(cJSON_GetObjectItem(t, "number")->valueint, tr.best);
    cr_assert_eq(cJSON_GetObjectItem(t, "value")->valuedouble, tr.best_value);
    cr_assert_str_eq(cJSON_GetObjectItem(t, "state")->valuestring, "complete");
    cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "attrs"), "test_accuracy");
    cr_assert(cJSON_IsNumber(acc), "attribute text that is JSON comes back as JSON");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "intermediate")), NSTEPS);
    const char *cmd = cJSON_GetObjectItem(j, "retrain")->valuestring;
    /* the binary as a shell finds it: its absolute path, or tunelab on PATH */
    cr_assert(strstr(cmd, "tunelab train CONFIG --set train.lr=") && (cmd[0] == '/' || !strncmp(cmd, "tunelab ", 8)),
              "%s", cmd);
    cr_assert(strstr(cmd, "--set model.layers="), "%s", cmd);
    cJSON_Delete(j);
    free(out);
    free(err);

    cr_assert_eq(tl(&out, &err, "best %s", db), 0, "%s", err);
    char want[64];
    snprintf(want, sizeof want, "best trial %d of study 'rep'", tr.best);
    cr_assert(strstr(out, want), "%s", out);
    cr_assert(strstr(out, "test_accuracy = ") && strstr(out, "tunelab train CONFIG"), "%s", out);
    study_trials_free(tr.t, tr.n);
    free(out);
    free(err);
}

Test(report, export_csv_has_a_header_and_one_exact_line_per_trial)
{
    truth tr;
    read_truth(&tr);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "export %s --csv", db), 0, "%s", err);
    cr_assert_eq(count_lines(out), 1 + tr.n, "%s", out);
    cr_assert(!strncmp(out, "number,state,value,budget,", 26), "%s", out);
    char *nl = strchr(out, '\n');
    *nl = 0;
    cr_assert(strstr(out, ",params_train.lr,params_model.layers,params_act,attrs_test_accuracy,intermediate"),
              "header: %s", out);
    /* row of trial 3: pruned after two steps, value and intermediates exact */
    char *line = nl + 1;
    for (int i = 0; i < 3; i++)
        line = strchr(line, '\n') + 1;
    cr_assert(!strncmp(line, "3,pruned,", 9), "%.200s", line);
    double v = strtod(line + 9, NULL);
    cr_assert_eq(v, tr.t[3].value, "value %.17g, stored %.17g", v, tr.t[3].value);
    cr_assert_eq(tr.t[3].nsteps, 2);
    char *end = strchr(line, '\n');
    *end = 0;
    /* the last field: the intermediate values as JSON, CSV-quoted */
    char *iv_text = strstr(line, ",\"[[0,");
    cr_assert_not_null(iv_text, "intermediate column: %s", line);
    iv_text += 2;
    cr_assert_eq(end[-1], '"', "%s", line);
    end[-1] = 0;
    cJSON *iv = parse_json(iv_text);
    cr_assert_eq(cJSON_GetArraySize(iv), 2);
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(iv, 1), 1)->valuedouble, tr.t[3].inter[1]);
    cJSON_Delete(iv);
    study_trials_free(tr.t, tr.n);
    free(out);
    free(err);
}

Test(report, export_json_parses_with_the_counts_and_intermediate_values_of_the_study)
{
    truth tr;
    read_truth(&tr);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "export %s --json", db), 0, "%s", err);
    cJSON *j = parse_json(out);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_trials")->valueint, tr.n);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_complete")->valueint, tr.counts[TRIAL_COMPLETE]);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_pruned")->valueint, 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "space")), 3);
    cJSON *trials = cJSON_GetObjectItem(j, "trials");
    cr_assert_eq(cJSON_GetArraySize(trials), tr.n);
    for (int i = 0; i < tr.n; i++) {
        cJSON *t = cJSON_GetArrayItem(trials, i);
        cJSON *iv = cJSON_GetObjectItem(t, "intermediate");
        cr_assert_eq(cJSON_GetArraySize(iv), tr.t[i].nsteps, "trial %d", i);
        for (int k = 0; k < tr.t[i].nsteps; k++) {
            cJSON *pair = cJSON_GetArrayItem(iv, k);
            cr_assert_eq(cJSON_GetArrayItem(pair, 0)->valueint, tr.t[i].steps[k]);
            cr_assert_eq(cJSON_GetArrayItem(pair, 1)->valuedouble, tr.t[i].inter[k], "trial %d step %d", i, k);
        }
        const char *act = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "params"), "act")->valuestring;
        cr_assert(!strcmp(act, "relu") || !strcmp(act, "<script>alert(1)</script>"), "%s", act);
    }
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(trials, 5), "reason")->valuestring,
                     "diverged: loss \"nan\", step 4");
    cJSON_Delete(j);
    study_trials_free(tr.t, tr.n);
    free(out);
    free(err);
}

Test(report, report_writes_index_html_whose_figures_exist_and_escapes_user_strings)
{
    char *out, *err;
    char rep[128];
    snprintf(rep, sizeof rep, "%s/out/nested", dir);
    cr_assert_eq(tl(&out, &err, "report %s -o %s", db, rep), 0, "%s%s", out, err);
    char path[256];
    snprintf(path, sizeof path, "%s/index.html", rep);
    char *html = ru_slurp(path, NULL);
    cr_assert_not_null(html, "no %s", path);
    /* every <img src="..."> names a non-empty PNG in the folder */
    int nimg = 0;
    for (const char *p = html; (p = strstr(p, "<img src=\"")); nimg++) {
        p += 10;
        const char *q = strchr(p, '"');
        cr_assert_not_null(q);
        char name[128], fig[300];
        snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
        cr_assert(strchr(name, '/') == NULL && strstr(name, ".png"), "relative PNG name: %s", name);
        snprintf(fig, sizeof fig, "%s/%s", rep, name);
        struct stat st;
        cr_assert_eq(stat(fig, &st), 0, "missing figure %s", fig);
        cr_assert_gt(st.st_size, 1000, "%s is %ld bytes", fig, (long)st.st_size);
        long len;
        char *png = ru_slurp(fig, &len);
        cr_assert(!memcmp(png, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", fig);
        free(png);
        p = q;
    }
    /* history, curves, one per parameter, and the importances */
    cr_assert_eq(nimg, 2 + 3 + 1, "%d figures", nimg);
    cr_assert(strstr(html, "importance.png"), "the importance section (7 complete trials)");
    cr_assert(strstr(html, "curves.png") && strstr(html, "history.png"));
    cr_assert(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), "the choice appears, escaped");
    cr_assert_null(strstr(html, "<script"), "no raw <script> in the page");
    cr_assert(strstr(html, "diverged") == NULL || strstr(html, "&quot;nan&quot;"), "quotes escaped");
    cr_assert(strstr(html, "Top 7 trials"), "7 complete trials ranked");
    free(html);
    free(out);
    free(err);
}

Test(report, a_missing_database_exits_2_naming_the_file_and_is_not_created)
{
    char *out, *err, missing[128];
    snprintf(missing, sizeof missing, "%s/nope.db", dir);
    const char *cmds[] = {"show %s", "best %s", "export %s --csv", "report %s -o /tmp/unused_tl_report"};
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(tl(&out, &err, cmds[k], missing), 2, "%s", cmds[k]);
        cr_assert(strstr(err, missing) && strstr(err, "no such file"), "%s", err);
        cr_assert_neq(access(missing, F_OK), 0, "reading must not create %s", missing);
        free(out);
        free(err);
    }
    cr_assert_neq(access("/tmp/unused_tl_report", F_OK), 0);
}

Test(report, a_file_that_is_not_a_study_database_exits_2)
{
    char text[128], other[128], cmd[512];
    snprintf(text, sizeof text, "%s/notes.db", dir);
    FILE *f = fopen(text, "w");
    fputs("not a database at all, just some text long enough to have a header\n", f);
    fclose(f);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "show %s", text), 2);
    cr_assert(strstr(err, text) && strstr(err, "not a tunelab study database"), "%s", err);
    free(out);
    free(err);
    snprintf(other, sizeof other, "%s/other.db", dir);
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'CREATE TABLE t(x); INSERT INTO t VALUES (1);' 2>/dev/null", other);
    if (system(cmd) != 0) { /* no sqlite3 shell: the text file case above suffices */
        return;
    }
    cr_assert_eq(tl(&out, &err, "export %s --json", other), 2);
    cr_assert(strstr(err, other) && strstr(err, "not a tunelab study database"), "%s", err);
    free(out);
    free(err);
}

Test(report, an_unwritable_output_folder_is_a_clear_error)
{
    char file[128], bad[160];
    snprintf(file, sizeof file, "%s/plain_file", dir);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", file); /* a folder under a file: fails even for root */
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "report %s -o %s", db, bad), 1);
    cr_assert(strstr(err, bad) && strstr(err, "cannot"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "report %s", db), 2, "-o is required");
    free(out);
    free(err);
}

Test(report, export_needs_exactly_one_format_and_reading_never_changes_the_database)
{
    long n0 = -1, n1 = -2; /* set by ru_slurp */
    char *before = ru_slurp(db, &n0);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "export %s", db), 2);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "export %s --csv --json", db), 2);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "show %s --study nosuch", db), 2);
    cr_assert(strstr(err, "no study 'nosuch'") && strstr(err, "'rep'"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "show %s --study rep", db), 0, "%s", err);
    free(out);
    free(err);
    char *after = ru_slurp(db, &n1);
    cr_assert(n0 == n1 && !memcmp(before, after, (size_t)n0), "the database file changed");
    free(before);
    free(after);
}

Test(report, a_database_with_two_studies_needs_study_name_and_maximize_picks_the_largest)
{
    tl_err e = {0};
    space sp;
    su_space(&sp, "x", "uniform(0, 1)", NULL);
    study_config c = su_config("second", db);
    c.trials = 4;
    c.direction = STUDY_MAXIMIZE;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &e), 0, "%s", e.msg);
    trial_job job;
    double top = -INFINITY;
    int top_n = -1;
    while (!study_ask(s, &job, &e) && job.kind == JOB_NEW) {
        cr_assert_eq(study_tell(s, job.number, TRIAL_COMPLETE, job.values[0], NULL, &e), 0);
        if (job.values[0] > top) {
            top = job.values[0];
            top_n = job.number;
        }
    }
    study_close(s);
    space_free(&sp);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "show %s", db), 2);
    cr_assert(strstr(err, "2 studies") && strstr(err, "'second'") && strstr(err, "--study"), "%s", err);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "export %s --json --study second", db), 0, "%s", err);
    cJSON *j = parse_json(out);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "study")->valuestring, "second");
    cr_assert_eq(cJSON_GetObjectItem(j, "n_trials")->valueint, 4);
    cJSON_Delete(j);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "best %s --json --study=second", db), 0, "%s", err);
    j = parse_json(out);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trial"), "number")->valueint, top_n,
                 "a maximized study's best is its largest value");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trial"), "value")->valuedouble, top);
    cJSON_Delete(j);
    free(out);
    free(err);
}

Test(report, reads_a_study_written_by_tunelab_run_with_a_function_objective)
{
    char ini[128], fdb[128];
    snprintf(ini, sizeof ini, "%s/fn.ini", dir);
    snprintf(fdb, sizeof fdb, "%s/fn.db", dir);
    FILE *f = fopen(ini, "w");
    fprintf(f, "[study]\ntrials = 6\nseed = 1\nstorage = %s\n[objective]\ntype = function\nfunction = branin\n"
               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n", fdb);
    fclose(f);
    char *out, *err;
    cr_assert_eq(tl(&out, &err, "run %s --quiet", ini), 0, "%s", err);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "export %s --json", fdb), 0, "%s", err);
    cJSON *j = parse_json(out);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_trials")->valueint, 6);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_complete")->valueint, 6);
    cJSON *trials = cJSON_GetObjectItem(j, "trials");
    double best = INFINITY;
    for (int i = 0; i < 6; i++)
        best = fmin(best, cJSON_GetObjectItem(cJSON_GetArrayItem(trials, i), "value")->valuedouble);
    cJSON_Delete(j);
    free(out);
    free(err);
    cr_assert_eq(tl(&out, &err, "best %s --json", fdb), 0, "%s", err);
    j = parse_json(out);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trial"), "value")->valuedouble, best);
    cJSON_Delete(j);
    free(out);
    free(err);
    char rep[128];
    snprintf(rep, sizeof rep, "%s/fnrep", dir);
    cr_assert_eq(tl(&out, &err, "report %s -o %s", fdb, rep), 0, "%s", err);
    cr_assert(strstr(out, "(4 figures)"), "history, two parameters, importance, no curves: %s", out);
    free(out);
    free(err);
}

/* ---- a database in a read-only folder ---- */

#define NCMDS 5
static const char *const RO_CMDS[NCMDS] = { "show %s", "best %s", "export %s --csv",
                                            "export %s --json", "report %s -o %s/rep" };

/* In a child process that cannot write folder ro (user nobody when root):
 * runs every RO_CMDS on db with outputs in out/<k>.out and .err and the
 * exit statuses in out/status.  Returns "" or "skip: why". */
static void run_as_reader(const char *ro, const char *db_ro, const char *out, char *msg, size_t n)
{
    int fd[2];
    char why[256];
    pid_t pid = reader_fork(ro, fd, why, sizeof why);
    if (pid == 0) {
        char cmd[1024], args[512];
        snprintf(cmd, sizeof cmd, "%s/status", out);
        FILE *st = why[0] ? NULL : fopen(cmd, "w");
        for (int k = 0; st && k < NCMDS; k++) {
            snprintf(args, sizeof args, RO_CMDS[k], db_ro, out);
            snprintf(cmd, sizeof cmd, "NO_COLOR=1 OMP_NUM_THREADS=1 %s %s >%s/%d.out 2>%s/%d.err", bin,
                     args, out, k, out, k);
            int rc = system(cmd);
            fprintf(st, "%d ", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
        }
        if (st)
            fclose(st);
        else if (!why[0])
            snprintf(why, sizeof why, "cannot write %s", out);
        reader_reply(fd, why);
    }
    reader_wait(pid, fd, msg, n);
}

Test(report, show_best_export_and_report_read_a_database_in_a_read_only_folder)
{
    char ro[128], db_ro[160], out[128], ls0[256], ls1[256], msg[512];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    snprintf(db_ro, sizeof db_ro, "%s/rep.db", ro);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(chmod(dir, 0755), 0); /* mkdtemp's 0700: let the reader in */
    cr_assert_eq(mkdir(ro, 0755), 0);
    cr_assert_eq(mkdir(out, 0777), 0);
    cr_assert_eq(chmod(out, 0777), 0); /* past the umask: the reader writes here */
    long n = 0;
    char *bytes = ru_slurp(db, &n); /* the study, closed: no -wal, no -shm */
    FILE *f = fopen(db_ro, "wb");
    cr_assert(bytes && f && fwrite(bytes, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    cr_assert_eq(chmod(db_ro, 0444), 0);
    cr_assert_eq(chmod(ro, 0555), 0);
    struct stat before, after;
    cr_assert_eq(stat(db_ro, &before), 0);
    reader_listing(ro, ls0, sizeof ls0);

    run_as_reader(ro, db_ro, out, msg, sizeof msg);
    if (!strncmp(msg, "skip: ", 6))
        cr_skip_test("%s", msg + 6);
    cr_assert_str_empty(msg, "%s", msg);

    reader_listing(ro, ls1, sizeof ls1);
    cr_assert_str_eq(ls1, ls0, "the commands created files in the read-only folder");
    cr_assert_eq(stat(db_ro, &after), 0);
    cr_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && after.st_size == before.st_size);
    long n2 = 0;
    char *bytes2 = ru_slurp(db_ro, &n2);
    cr_assert(n2 == n && !memcmp(bytes, bytes2, (size_t)n), "the database changed");
    free(bytes);
    free(bytes2);

    char path[256], *status;
    snprintf(path, sizeof path, "%s/status", out);
    cr_assert_not_null(status = ru_slurp(path, NULL));
    cr_assert_str_eq(status, "0 0 0 0 0 ", "exit statuses of show, best, export --csv, --json, report");
    free(status);
    for (int k = 0; k < 3; k++) { /* the same text as from the writable original */
        char *want, *errout, args[512];
        snprintf(args, sizeof args, RO_CMDS[k], db, out);
        cr_assert_eq(tl(&want, &errout, "%s", args), 0);
        snprintf(path, sizeof path, "%s/%d.out", out, k);
        char *got = ru_slurp(path, NULL);
        cr_assert(got && !strcmp(got, want), "`%s` differs in the read-only folder:\n%s\nvs\n%s", args,
                  got, want);
        free(got);
        free(want);
        free(errout);
    }
    snprintf(path, sizeof path, "%s/rep/index.html", out);
    char *html = ru_slurp(path, NULL);
    cr_assert(html && strstr(html, "history.png"), "no report from the read-only folder");
    free(html);
}
