/* tests/test_dashboard_browser.c: the dashboard in a real browser.  Headless
 * Chromium (Debian's chromium) loads the page from a dashboard started in
 * this process, and the tests read what the page drew from the DOM it dumps
 * (#status's data-* attributes, set by report/www/app.js after the charts
 * are up, and #errors, where the page collects uncaught errors, CSP
 * violations and console.error calls):
 *   - a hand-made study (tests/dashboard_util.h): the history has one point
 *     per trial, the pruned trials drawn with the pruned marker, the failed
 *     one with the failed marker; no error; a parameter named like an <img>
 *     tag is shown as text, not made an element; the trial the address
 *     names (#0/5) is opened with its state, reason and retrain command; a
 *     screenshot is written to build/dashboard.png;
 *   - a study that `tunelab run` is still writing: the page redraws by
 *     itself (long polling /api/wait) and ends with more trials than it
 *     started with.
 * Each browser run takes about 5 s (--virtual-time-budget; the page's
 * long polls are shortened with ?poll=250).  As root Chromium needs
 * --no-sandbox; each run gets its own profile folder (the suite runs tests
 * in parallel). */
#include <criterion/criterion.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/dashboard.h"
#include "report/report.h"
#include "tests/dashboard_util.h"
#include "tests/report_util.h"
#include "tests/tmpdir_util.h"

static char dir[64];

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_dashb");
    cr_assert_eq(system("command -v chromium >/dev/null"), 0, "no chromium on PATH: run scripts/deps.sh");
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

TestSuite(dashboard_browser, .init = setup, .fini = teardown, .timeout = 90);

/* Runs headless Chromium on url with `what` (--dump-dom, or
 * --screenshot=FILE), output to DIR/<out>; returns the dump (or "" for a
 * screenshot), malloc'd. */
static char *chromium(const char *url, const char *what, const char *out, int budget_ms)
{
    char cmd[2048], o[160];
    snprintf(o, sizeof o, "%s/%s", dir, out);
    snprintf(cmd, sizeof cmd,
             "timeout 60 chromium --headless --no-sandbox --disable-gpu --no-proxy-server "
             "--no-first-run --disable-extensions --user-data-dir=%s/profile-%s "
             "--window-size=1280,900 --virtual-time-budget=%d %s '%s' >%s 2>%s.err",
             dir, out, budget_ms, what, url, o, o);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "`%s` failed (%d)", cmd, st);
    char *dom = ru_slurp(o, NULL);
    cr_assert_not_null(dom);
    return dom;
}

/* The number in #status's data-<key>, -1 when absent. */
static long status_attr(const char *dom, const char *key)
{
    const char *s = strstr(dom, "id=\"status\"");
    cr_assert_not_null(s, "no #status in the page");
    const char *end = strchr(s, '>');
    char pat[64];
    snprintf(pat, sizeof pat, "data-%s=\"", key);
    const char *a = strstr(s, pat);
    return a && a < end ? strtol(a + strlen(pat), NULL, 10) : -1;
}

/* The text of #errors (empty when the page had no error). */
static void assert_no_errors(const char *dom)
{
    const char *e = strstr(dom, "<pre id=\"errors\">");
    cr_assert_not_null(e);
    e += strlen("<pre id=\"errors\">");
    cr_assert(!strncmp(e, "</pre>", 6), "the page reported errors: %.*s", (int)(strstr(e, "</pre>") - e), e);
}

Test(dashboard_browser, draws_every_trial_marks_pruned_and_failed_and_shows_html_as_text)
{
    char db[128], url[128];
    snprintf(db, sizeof db, "%s/dash.db", dir);
    du_make_study(db, DU_NTRIALS);
    const char *paths[] = {db};
    dashboard_opts o = {NULL, 0};
    dashboard *d;
    tl_err err = {0};
    cr_assert_eq(dashboard_start(&d, paths, 1, &o, &err), 0, "%s", err.msg);
    /* #0/5: study 0 with trial 5 (the failed one) opened, as a click on it does */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?poll=250#0/5", dashboard_port(d));
    char *dom = chromium(url, "--dump-dom", "dom.html", 5000);
    cr_assert_eq(status_attr(dom, "ready"), 1, "the charts were not drawn: %s", dom);
    cr_assert_eq(status_attr(dom, "trials"), DU_NTRIALS);
    cr_assert_eq(status_attr(dom, "points"), DU_NTRIALS, "one point per trial in the history");
    cr_assert_eq(status_attr(dom, "pruned"), 2, "trials 3 and 7 drawn with the pruned marker");
    cr_assert_eq(status_attr(dom, "failed"), 1, "trial 5 drawn with the failed marker");
    assert_no_errors(dom);
    cr_assert(strstr(dom, "&lt;img src=x onerror="), "the parameter's name is shown as text");
    cr_assert_null(strstr(dom, "<img src=\"x\""), "a parameter's name became an element");
    cr_assert_null(strstr(dom, "<img src=x"), "a parameter's name became an element");
    cr_assert_null(strstr(dom, "<title>pwned"), "a database string ran as script");
    cr_assert_null(strstr(dom, "<script>document.title"), "a choice became an element");
    cr_assert(strstr(dom, "<aside id=\"detail\">"), "the trial's panel is open");
    cr_assert(strstr(dom, "<h2 id=\"detail-title\">Trial 5</h2>"), "trial 5 is shown");
    cr_assert(strstr(dom, "<td class=\"state-failed\">failed</td>"), "with its state");
    cr_assert(strstr(dom, "diverged: &lt;b&gt;loss&lt;/b&gt; nan"), "with its reason, as text");
    cr_assert(strstr(dom, "<pre id=\"detail-command\">tunelab train CONFIG --set train.lr="),
              "with the command that retrains it");
    free(dom);

    const char *shot = access("build", W_OK) == 0 ? "build/dashboard.png" : NULL;
    char what[256], src[160];
    snprintf(what, sizeof what, "--screenshot=%s/dashboard.png", dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?poll=250", dashboard_port(d));
    free(chromium(url, what, "shot.log", 5000));
    snprintf(src, sizeof src, "%s/dashboard.png", dir);
    long len = 0;
    char *png = ru_slurp(src, &len);
    cr_assert(png && len > 10000 && !memcmp(png, "\x89PNG", 4), "no screenshot at %s", src);
    if (shot) {
        FILE *f = fopen(shot, "wb");
        cr_assert(f && fwrite(png, 1, (size_t)len, f) == (size_t)len && !fclose(f), "cannot write %s", shot);
    }
    free(png);
    dashboard_stop(d);
}

/* Starts `tunelab run` on a command-objective study that takes about 0.4 s
 * a trial; returns its pid. */
static pid_t start_run(const char *db, int trials)
{
    char ini[128];
    snprintf(ini, sizeof ini, "%s/live.ini", dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f, "[study]\nname = live\ntrials = %d\nseed = 1\nstorage = %s\ndirection = minimize\nmetric = value\n"
               "[objective]\ntype = command\ncommand = sleep 0.4; echo {x}\n[space]\nx = uniform(0, 1)\n",
            trials, db);
    fclose(f);
    const char *bin = ru_bin();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(bin, bin, "run", ini, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

Test(dashboard_browser, a_running_study_updates_the_page_without_reloading)
{
    char db[128], url[128];
    snprintf(db, sizeof db, "%s/live.db", dir);
    pid_t run = start_run(db, 30);
    report_study *rs = NULL;
    tl_err err = {0};
    for (int i = 0; i < 200 && !rs; i++) { /* until the study has its first trial */
        if (!report_study_load(&rs, db, NULL, &err) && rs->ntrials < 1) {
            report_study_free(rs);
            rs = NULL;
        }
        if (!rs)
            usleep(50 * 1000);
    }
    cr_assert_not_null(rs, "tunelab run did not start the study: %s", err.msg);
    report_study_free(rs);
    const char *paths[] = {db};
    dashboard_opts o = {NULL, 0};
    dashboard *d;
    cr_assert_eq(dashboard_start(&d, paths, 1, &o, &err), 0, "%s", err.msg);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?poll=250", dashboard_port(d));
    char *dom = chromium(url, "--dump-dom", "live.html", 8000);
    kill(run, SIGTERM);
    waitpid(run, NULL, 0);
    dashboard_stop(d);
    cr_assert_eq(status_attr(dom, "ready"), 1, "the charts were not drawn");
    long first = status_attr(dom, "first"), now = status_attr(dom, "trials");
    cr_assert_geq(status_attr(dom, "updates"), 1, "the page never redrew");
    cr_assert_gt(now, first, "trials when the page loaded: %ld, at the end: %ld", first, now);
    cr_assert_eq(status_attr(dom, "points"), now, "one point per trial after the update");
    assert_no_errors(dom);
    free(dom);
}
