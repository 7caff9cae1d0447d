/* tests/test_dashboard_views.c: the dashboard's views for each kind of
 * study, in a real browser driven through the DevTools protocol.
 *
 * Headless Chromium (Debian's chromium) is started with
 * --remote-debugging-pipe: commands go to its fd 3 and answers come back
 * on its fd 4, JSON messages ended by a NUL (no WebSocket needed).  A test
 * opens the page of a dashboard started in this process, waits until the
 * page says it has drawn (#status's data-ready, data-gp), reads what the
 * charts hold (Runtime.evaluate on the page's Chart.js objects and DOM),
 * and drives the page as a person would (Input.dispatchMouseEvent for a
 * brush, a <select> change for the GP's parameter).  The studies are real
 * ones made by `tunelab run` (TUNELAB_BIN) with tiny configs, well under a
 * second each:
 *   - PBT on spirals (4 members, ready every epoch): one lane per member,
 *     one exploit arrow per exploit record of the lineages, from the source
 *     at the copied step to the member at its step;
 *   - bayes on the branin function: for the chosen parameter, the GP mean,
 *     its band and the acquisition drawn with one point per grid point of
 *     /api/gp (the same numbers), the x axis that parameter's, the trials
 *     projected;
 *   - evolution with nas.inherit on a spirals MLP: the Pareto front drawn
 *     is exactly the trials no other trial dominates (value and "params",
 *     computed here), and the family tree nests every child under its
 *     parent with the morphism its "inherit" attribute records;
 *   - brushing the parallel coordinates of the bayes study with the mouse:
 *     the highlighted trials are exactly those inside the brushed range,
 *     and a click on the axis clears it;
 *   - hyperband on spirals (17 trials, three brackets): every trial in the
 *     history and in each slice (pruned ones included), a pruned point per
 *     pruned trial and a promoted point per promotion on the learning
 *     curves, the rung table's counts, the importance table equal to what
 *     `tunelab importance` prints, and a click on a pruned trial's row
 *     opening its panel with state, reason, the scheduler's record and the
 *     retrain command; then, chosen in the list of studies, a hyperband
 *     study left with paused trials (made through the C API) shows them
 *     paused in the history and on the curves.
 * Each test also checks that the page reported no error (#errors) and
 * that the browser's console got none (uncaught exceptions, console.error,
 * resources that failed to load, CSP violations: Runtime and Log events).
 * Chromium missing is a failure (scripts/deps.sh installs it), not a skip.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/dashboard.h"
#include "report/report.h"
#include "tests/cli_util.h"
#include "tests/dashboard_util.h"
#include "tests/report_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"
#include "tests/tmpdir_util.h"

static char dir[64];

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_dashv");
    cr_assert_eq(system("command -v chromium >/dev/null"), 0, "no chromium on PATH: run scripts/deps.sh");
}

static void teardown(void)
{
    tmpdir_remove(dir);
}

TestSuite(dashboard_views, .init = setup, .fini = teardown, .timeout = 90);

/* ---- a DevTools-protocol client over Chromium's pipe ---- */

#define CDP_WAIT_MS 30000 /* longest wait for an answer or for the page (a loaded machine) */

typedef struct cdp {
    pid_t pid;
    int to, from;        /* our ends of Chromium's fd 3 (commands) and fd 4 (answers) */
    char *buf;           /* what was read and not yet taken */
    size_t n, cap;
    int id;              /* last command id */
    char session[128];   /* the page's session */
    char console[4096];  /* errors the browser's console got (events), one a line */
} cdp;

/* Notes an event that is an error on the browser's console: an uncaught
 * exception, console.error, or a browser log entry of level error (a
 * resource that failed to load, a CSP violation). */
static void cdp_event(cdp *c, const cJSON *m)
{
    const cJSON *method = cJSON_GetObjectItem(m, "method"), *p = cJSON_GetObjectItem(m, "params");
    if (!cJSON_IsString(method) || !p)
        return;
    const char *what = method->valuestring;
    char line[512] = "";
    if (!strcmp(what, "Runtime.exceptionThrown")) {
        const cJSON *d = cJSON_GetObjectItem(p, "exceptionDetails"), *ex = cJSON_GetObjectItem(d, "exception"),
                    *desc = cJSON_GetObjectItem(ex, "description"), *t = cJSON_GetObjectItem(d, "text");
        snprintf(line, sizeof line, "exception: %s", cJSON_IsString(desc) ? desc->valuestring : cJSON_IsString(t) ? t->valuestring : "?");
    } else if (!strcmp(what, "Runtime.consoleAPICalled")) {
        const cJSON *type = cJSON_GetObjectItem(p, "type"), *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "args"), 0);
        const cJSON *v = cJSON_GetObjectItem(a0, "value");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "error"))
            snprintf(line, sizeof line, "console.error: %s", cJSON_IsString(v) ? v->valuestring : "?");
    } else if (!strcmp(what, "Log.entryAdded")) {
        const cJSON *e = cJSON_GetObjectItem(p, "entry"), *lv = cJSON_GetObjectItem(e, "level"),
                    *t = cJSON_GetObjectItem(e, "text"), *u = cJSON_GetObjectItem(e, "url");
        if (cJSON_IsString(lv) && !strcmp(lv->valuestring, "error"))
            snprintf(line, sizeof line, "log: %s (%s)", cJSON_IsString(t) ? t->valuestring : "?",
                     cJSON_IsString(u) ? u->valuestring : "");
    }
    size_t u = strlen(c->console);
    if (line[0] && u + 1 < sizeof c->console)
        snprintf(c->console + u, sizeof c->console - u, "%s\n", line);
}

/* Sends {"id", "method", "params", "sessionId"} (params deleted here). */
static int cdp_send(cdp *c, const char *method, cJSON *params, int in_page)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "id", ++c->id);
    cJSON_AddStringToObject(m, "method", method);
    cJSON_AddItemToObject(m, "params", params ? params : cJSON_CreateObject());
    if (in_page)
        cJSON_AddStringToObject(m, "sessionId", c->session);
    char *txt = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    cr_assert_not_null(txt);
    size_t len = strlen(txt) + 1; /* the NUL ends the message */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(c->to, txt + off, len - off);
        cr_assert_gt(w, 0, "writing to chromium: %s", strerror(errno));
        off += (size_t)w;
    }
    free(txt);
    return c->id;
}

/* Reads messages until the answer to command id (events are dropped);
 * returns its "result" (the caller deletes it).  An error answer, an
 * exception in the page or no answer in CDP_WAIT_MS fails the test. */
static cJSON *cdp_answer(cdp *c, int id, const char *what)
{
    for (;;) {
        char *end = c->n ? memchr(c->buf, 0, c->n) : NULL; /* buf is NULL before the first read */
        if (end) {
            cJSON *m = cJSON_Parse(c->buf);
            size_t used = (size_t)(end - c->buf) + 1;
            memmove(c->buf, end + 1, c->n - used);
            c->n -= used;
            cr_assert_not_null(m, "chromium sent a message that is not JSON");
            cJSON *mid = cJSON_GetObjectItem(m, "id");
            if (!cJSON_IsNumber(mid) || mid->valueint != id) {
                if (!mid)
                    cdp_event(c, m);
                cJSON_Delete(m);
                continue;
            }
            cJSON *e = cJSON_GetObjectItem(m, "error");
            char *et = e ? cJSON_PrintUnformatted(e) : NULL;
            cr_assert_null(e, "%s: chromium answered %s", what, et);
            cJSON *r = cJSON_DetachItemFromObject(m, "result");
            cJSON_Delete(m);
            cr_assert_not_null(r, "%s: no result", what);
            return r;
        }
        if (c->cap - c->n < 65536) {
            c->cap = c->cap * 2 + 65536;
            cr_assert_not_null(c->buf = realloc(c->buf, c->cap));
        }
        struct pollfd p = {c->from, POLLIN, 0};
        int ready = poll(&p, 1, CDP_WAIT_MS);
        cr_assert_gt(ready, 0, "%s: chromium did not answer in %d ms", what, CDP_WAIT_MS);
        ssize_t r = read(c->from, c->buf + c->n, c->cap - c->n - 1);
        cr_assert_gt(r, 0, "%s: chromium closed its pipe (see %s/chromium-*.err)", what, dir);
        c->n += (size_t)r;
        c->buf[c->n] = 0;
    }
}

static cJSON *cdp_call(cdp *c, const char *method, cJSON *params, int in_page)
{
    return cdp_answer(c, cdp_send(c, method, params, in_page), method);
}

/* Starts Chromium (a 1280x900 window) and opens url in a page, with the
 * console's events on (cdp_event) before it loads. */
static void cdp_open(cdp *c, const char *name, const char *url)
{
    memset(c, 0, sizeof *c);
    int cmd[2], ans[2];
    cr_assert(!pipe2(cmd, O_CLOEXEC) && !pipe2(ans, O_CLOEXEC));
    char profile[160], err[160];
    snprintf(profile, sizeof profile, "--user-data-dir=%s/profile-%s", dir, name);
    snprintf(err, sizeof err, "%s/chromium-%s.err", dir, name);
    c->pid = fork();
    cr_assert_geq(c->pid, 0);
    if (c->pid == 0) {
        /* high copies first: the pipes may already sit on fds 3 and 4 */
        int r3 = fcntl(cmd[0], F_DUPFD, 10), w4 = fcntl(ans[1], F_DUPFD, 10);
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (r3 < 0 || w4 < 0 || fd < 0 || dup2(r3, 3) != 3 || dup2(w4, 4) != 4 || dup2(fd, 1) != 1 ||
            dup2(fd, 2) != 2)
            _exit(126);
        close_range(5, ~0U, 0);
        execlp("chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
               "--no-first-run", "--disable-extensions", "--window-size=1280,900", "--remote-debugging-pipe",
               profile, "about:blank",
               (char *)NULL);
        _exit(127);
    }
    close(cmd[0]);
    close(ans[1]);
    c->to = cmd[1];
    c->from = ans[0];
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "url", "about:blank");
    cJSON *r = cdp_call(c, "Target.createTarget", p, 0);
    cJSON *tid = cJSON_GetObjectItem(r, "targetId");
    cr_assert(cJSON_IsString(tid));
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "targetId", tid->valuestring);
    cJSON_AddBoolToObject(p, "flatten", 1);
    cJSON_Delete(r);
    r = cdp_call(c, "Target.attachToTarget", p, 0);
    cJSON *sid = cJSON_GetObjectItem(r, "sessionId");
    cr_assert(cJSON_IsString(sid));
    snprintf(c->session, sizeof c->session, "%s", sid->valuestring);
    cJSON_Delete(r);
    cJSON_Delete(cdp_call(c, "Runtime.enable", NULL, 1));
    cJSON_Delete(cdp_call(c, "Log.enable", NULL, 1));
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "url", url);
    cJSON_Delete(cdp_call(c, "Page.navigate", p, 1));
}

/* Closes the browser and waits for it (killing it if it lingers). */
static void cdp_close(cdp *c)
{
    cJSON_Delete(cdp_call(c, "Browser.close", NULL, 0));
    close(c->to);
    close(c->from);
    int st = 0;
    for (int i = 0; i < 100 && waitpid(c->pid, &st, WNOHANG) == 0; i++)
        usleep(50 * 1000);
    if (waitpid(c->pid, &st, WNOHANG) == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
    }
    free(c->buf);
}

/* The value of the JavaScript expression expr in the page (promises
 * awaited); the caller deletes it.  An exception fails the test. */
static cJSON *cdp_eval(cdp *c, const char *expr)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "expression", expr);
    cJSON_AddBoolToObject(p, "returnByValue", 1);
    cJSON_AddBoolToObject(p, "awaitPromise", 1);
    cJSON *r = cdp_call(c, "Runtime.evaluate", p, 1);
    cJSON *ex = cJSON_GetObjectItem(r, "exceptionDetails");
    char *et = ex ? cJSON_PrintUnformatted(ex) : NULL;
    cr_assert_null(ex, "`%s` threw: %s", expr, et);
    cJSON *v = cJSON_DetachItemFromObject(cJSON_GetObjectItem(r, "result"), "value");
    cJSON_Delete(r);
    return v ? v : cJSON_CreateNull();
}

static double cdp_number(cdp *c, const char *expr)
{
    cJSON *v = cdp_eval(c, expr);
    cr_assert(cJSON_IsNumber(v), "`%s` is not a number", expr);
    double x = v->valuedouble;
    cJSON_Delete(v);
    return x;
}

/* The page's #errors text, malloc'd. */
static char *page_errors(cdp *c)
{
    cJSON *v = cdp_eval(c, "(document.getElementById('errors') || {textContent: '(no page)'}).textContent");
    char *s = strdup(cJSON_IsString(v) ? v->valuestring : "?");
    cJSON_Delete(v);
    return s;
}

/* Waits until expr is true in the page; CDP_WAIT_MS without fails the
 * test, quoting the page's errors. */
static void cdp_wait(cdp *c, const char *expr)
{
    char wrapped[1024];
    /* false, not an exception, while the page is still loading */
    snprintf(wrapped, sizeof wrapped, "(function () { try { return !!(%s); } catch (e) { return false; } })()", expr);
    for (int waited = 0;; waited += 100) {
        cJSON *v = cdp_eval(c, wrapped);
        int ok = cJSON_IsTrue(v);
        cJSON_Delete(v);
        if (ok)
            return;
        if (waited >= CDP_WAIT_MS) {
            char *e = page_errors(c);
            cr_assert_fail("the page never got to `%s` (errors: %s)", expr, e);
        }
        usleep(100 * 1000);
    }
}

/* No error in the page's #errors nor on the browser's console. */
static void assert_no_page_errors(cdp *c)
{
    char *e = page_errors(c);
    cr_assert_str_empty(e, "the page reported errors: %s", e);
    free(e);
    cJSON_Delete(cdp_eval(c, "0")); /* reads the events sent so far */
    cr_assert_str_empty(c->console, "the browser's console got errors:\n%s", c->console);
}

/* A mouse event at (x, y) in the page's CSS pixels. */
static void mouse(cdp *c, const char *type, double x, double y)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", type);
    cJSON_AddNumberToObject(p, "x", x);
    cJSON_AddNumberToObject(p, "y", y);
    cJSON_AddStringToObject(p, "button", "left");
    cJSON_AddNumberToObject(p, "buttons", strcmp(type, "mouseReleased") ? 1 : 0);
    cJSON_AddNumberToObject(p, "clickCount", 1);
    cJSON_Delete(cdp_call(c, "Input.dispatchMouseEvent", p, 1));
}

/* ---- the studies ---- */

/* `tunelab run NAME.ini` in dir with the config text; returns the
 * database's path (static buffer per call site's copy). */
static void run_study(const char *name, const char *ini, char *db, size_t n)
{
    char file[64], args[160];
    snprintf(file, sizeof file, "%s.ini", name);
    cli_write_in(dir, file, ini);
    snprintf(args, sizeof args, "run %s --quiet --set study.storage=%s.db", file, name);
    cli_out r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "tunelab %s: %s", args, r.err);
    cli_free(&r);
    snprintf(db, n, "%s/%s.db", dir, name);
}

static const char *PBT_INI =
    "[data]\ndataset = spirals\nsamples = 300\n"
    "[model]\ntype = mlp\nlayers = 1\nhidden = 8\n"
    "[train]\noptimizer = adamw\nlr = 3e-3\nbatch_size = 64\nepochs = 6\nseed = 3\nthreads = 1\n"
    "[study]\nname = pbt\ntrials = 4\nscheduler = pbt\nseed = 5\n"
    "[pbt]\npopulation = 4\ninterval = 1\n"
    "[space]\ntrain.lr = loguniform(1e-4, 3e-2)\ntrain.weight_decay = loguniform(1e-5, 1e-1)\n";

static const char *BAYES_INI =
    "[study]\nname = bo\ntrials = 14\nsampler = bayes\nseed = 4\n"
    "[objective]\ntype = function\nfunction = branin\n"
    "[space]\nx1 = uniform(-5, 10)\nx2 = uniform(0, 15)\n";

static const char *NAS_INI =
    "[data]\ndataset = spirals\nsamples = 300\nclasses = 3\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 16\n"
    "[train]\noptimizer = adamw\nlr = 3e-2\nbatch_size = 64\nepochs = 2\nseed = 1\nthreads = 1\n"
    "[study]\nname = nas\ntrials = 12\nsampler = evolution\nseed = 3\n"
    "[nas]\npopulation = 4\nsample_size = 2\ninherit = true\nchild_epochs = 1\n"
    "[space]\nmodel.layers = choice(1, 2, 3)\nmodel.width1 = choice(8, 16, 32)\n"
    "model.width2 = choice(8, 16, 32) if model.layers in (2, 3)\n"
    "model.width3 = choice(8, 16, 32) if model.layers == 3\n";

/* Starts a dashboard on the n databases and Chromium on its page for
 * study 0; waits until the page has drawn. */
static dashboard *open_pages(cdp *c, const char *name, const char *const *paths, int n)
{
    dashboard_opts o = {NULL, 0};
    dashboard *d;
    tl_err err = {0};
    cr_assert_eq(dashboard_start(&d, paths, n, &o, &err), 0, "%s", err.msg);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?poll=250#0", dashboard_port(d));
    cdp_open(c, name, url);
    cdp_wait(c, "document.getElementById('status').dataset.ready === '1'");
    return d;
}

static dashboard *open_page(cdp *c, const char *name, const char *db)
{
    const char *paths[] = {db};
    return open_pages(c, name, paths, 1);
}

static report_study *load(const char *db)
{
    report_study *rs;
    tl_err err = {0};
    cr_assert_eq(report_study_load(&rs, db, NULL, &err), 0, "%s", err.msg);
    return rs;
}

/* ---- PBT: lineage with exploits ---- */

Test(dashboard_views, pbt_lineage_draws_a_lane_per_member_and_every_exploit)
{
    char db[128];
    run_study("pbt", PBT_INI, db, sizeof db);
    /* what the database says: the members and their exploit records */
    report_study *rs = load(db);
    int members = 0, exploits = 0;
    char want[64][48];
    for (int i = 0; i < rs->ntrials; i++) {
        const char *l = report_trial_attr(rs, i, "pbt.lineage");
        if (!l)
            continue;
        members++;
        cJSON *a = cJSON_Parse(l), *e;
        cr_assert(cJSON_IsArray(a), "trial %d's lineage: %s", i, l);
        cJSON_ArrayForEach(e, a) {
            if (strcmp(cJSON_GetObjectItem(e, "kind")->valuestring, "exploit"))
                continue;
            cr_assert_lt(exploits, 64);
            snprintf(want[exploits++], sizeof want[0], "%d@%d>%d@%d", cJSON_GetObjectItem(e, "src")->valueint,
                     cJSON_GetObjectItem(e, "pos")->valueint, rs->trials[i].t.number,
                     cJSON_GetObjectItem(e, "step")->valueint);
        }
        cJSON_Delete(a);
    }
    report_study_free(rs);
    cr_assert_eq(members, 4);
    cr_assert_gt(exploits, 0, "the study should have exploited (a test that could not fail otherwise)");

    cdp c;
    dashboard *d = open_page(&c, "pbt", db);
    cr_assert_eq(cdp_number(&c, "document.getElementById('s-pbt').hidden ? 1 : 0"), 0, "the PBT section is shown");
    cr_assert_eq(cdp_number(&c, "S.charts['c-pbt'].data.datasets.filter(function (d) { return d.lane; }).length"),
                 members, "one lane per member");
    /* every lane has one point per lineage record, drawn */
    cr_assert_eq(cdp_number(&c, "S.charts['c-pbt'].data.datasets.filter(function (d, i) { return d.lane && "
                                "S.charts['c-pbt'].getDatasetMeta(i).data.length !== lineageOf(trialByNumber(d.data[0].trial)).length; }).length"),
                 0, "a lane lacks points");
    cJSON *got = cdp_eval(&c, "S.charts['c-pbt'].data.datasets.map(function (d, i) {"
                              " if (!d.exploit || S.charts['c-pbt'].getDatasetMeta(i).data.length !== 2) return null;"
                              " return d.data[0].trial + '@' + d.data[0].x + '>' + d.data[1].trial + '@' + d.data[1].x;"
                              "}).filter(function (s) { return s !== null; })");
    cr_assert(cJSON_IsArray(got));
    cr_assert_eq(cJSON_GetArraySize(got), exploits, "one drawn exploit arrow per exploit record");
    for (int k = 0; k < exploits; k++) {
        int found = 0;
        cJSON *g;
        cJSON_ArrayForEach(g, got) found += !strcmp(g->valuestring, want[k]);
        cr_assert_eq(found, 1, "exploit %s (source@copied step > member@step) drawn once", want[k]);
    }
    cJSON_Delete(got);
    assert_no_page_errors(&c);
    cdp_close(&c);
    dashboard_stop(d);
}

/* ---- bayes: the GP along a chosen parameter ---- */

Test(dashboard_views, bayes_gp_mean_band_and_acquisition_along_the_chosen_parameter)
{
    char db[128];
    run_study("bo", BAYES_INI, db, sizeof db);
    cdp c;
    dashboard *d = open_page(&c, "bo", db);
    cdp_wait(&c, "document.getElementById('status').dataset.gp === 'x1'");
    cr_assert_eq(cdp_number(&c, "document.getElementById('s-gp').hidden ? 1 : 0"), 0, "the GP section is shown");
    /* choose x2, as a person does with the <select> */
    cJSON_Delete(cdp_eval(&c, "(function () { var s = document.getElementById('gp-param'); s.value = 'x2';"
                              " s.dispatchEvent(new Event('change')); return s.value; })()"));
    cdp_wait(&c, "document.getElementById('status').dataset.gp === 'x2'");

    char *body = NULL;
    cr_assert_eq(du_get(dashboard_port(d), "/api/gp?id=0&param=x2", NULL, &body), 200);
    cJSON *g = cJSON_Parse(body);
    free(body);
    int np = cJSON_GetArraySize(cJSON_GetObjectItem(g, "x"));
    cr_assert_gt(np, 10);
    cr_assert_eq(cJSON_GetObjectItem(g, "k")->valueint, 14, "all 14 complete trials in the GP");

    /* series -> [drawn points, first y, last y, first x, last x] */
    cJSON *s = cdp_eval(&c, "(function () { var o = {}; [S.charts['c-gp'], S.charts['c-acq']].forEach(function (ch) {"
                            " ch.data.datasets.forEach(function (d, i) { var p = d.data;"
                            "  o[d.label] = [ch.getDatasetMeta(i).data.length, p[0].y, p[p.length - 1].y, p[0].x, p[p.length - 1].x]; }); });"
                            " o.axis = S.charts['c-gp'].options.scales.x.title.text; return o; })()");
    cr_assert_str_eq(cJSON_GetObjectItem(s, "axis")->valuestring, "x2", "the x axis is the chosen parameter's");
    const char *acq_label = cJSON_GetObjectItem(g, "acq_label")->valuestring;
    const char *series[] = {"GP mean", "mean − 2 sd", "mean + 2 sd", acq_label};
    cJSON *mean = cJSON_GetObjectItem(g, "mean"), *sd = cJSON_GetObjectItem(g, "sd"), *acq = cJSON_GetObjectItem(g, "acq");
    cJSON *x = cJSON_GetObjectItem(g, "x");
    for (int k = 0; k < 4; k++) {
        cJSON *a = cJSON_GetObjectItem(s, series[k]);
        cr_assert_not_null(a, "no series \"%s\" drawn", series[k]);
        cr_assert_eq(cJSON_GetArrayItem(a, 0)->valueint, np, "%s: %d points drawn, the GP has %d", series[k],
                     cJSON_GetArrayItem(a, 0)->valueint, np);
        for (int end = 0; end < 2; end++) {
            int i = end ? np - 1 : 0;
            double m = cJSON_GetArrayItem(mean, i)->valuedouble, sdv = cJSON_GetArrayItem(sd, i)->valuedouble;
            double want = k == 0 ? m : k == 1 ? m - 2 * sdv : k == 2 ? m + 2 * sdv : cJSON_GetArrayItem(acq, i)->valuedouble;
            double y = cJSON_GetArrayItem(a, 1 + end)->valuedouble, xv = cJSON_GetArrayItem(a, 3 + end)->valuedouble;
            cr_assert_float_eq(y, want, 1e-9 * (1 + fabs(want)), "%s at point %d: %g, /api/gp: %g", series[k], i, y, want);
            cr_assert_float_eq(xv, cJSON_GetArrayItem(x, i)->valuedouble, 1e-12, "%s's x", series[k]);
        }
    }
    /* the grid spans x2's range, 0 to 15 */
    cr_assert_float_eq(cJSON_GetArrayItem(x, 0)->valuedouble, 0, 1e-9);
    cr_assert_float_eq(cJSON_GetArrayItem(x, np - 1)->valuedouble, 15, 1e-9);
    cr_assert_eq(cdp_number(&c, "S.charts['c-gp'].data.datasets.find(function (d) { return d.label === 'trials (projected)'; }).data.length"),
                 14, "every trial the GP was fitted to is drawn");
    cJSON_Delete(s);
    cJSON_Delete(g);
    assert_no_page_errors(&c);
    cdp_close(&c);
    dashboard_stop(d);
}

/* ---- NAS: the Pareto front and the family tree ---- */

/* 1 when (va, pa) dominates (vb, pb): no worse in both, better in one
 * (value minimized, parameters minimized). */
static int dominates(double va, double pa, double vb, double pb)
{
    return va <= vb && pa <= pb && (va < vb || pa < pb);
}

Test(dashboard_views, nas_pareto_front_is_the_non_dominated_trials_and_the_family_tree_names_parents_and_morphisms)
{
    char db[128];
    run_study("nas", NAS_INI, db, sizeof db);
    report_study *rs = load(db);
    cr_assert_eq(rs->direction, STUDY_MINIMIZE);
    int n = rs->ntrials, nfront = 0, nchild = 0;
    char front[512] = "";
    for (int i = 0; i < n; i++) {
        const char *pa = report_trial_attr(rs, i, "params");
        const trial *t = &rs->trials[i].t;
        if (t->state != TRIAL_COMPLETE || !pa || report_trial_attr(rs, i, "reused_from"))
            continue;
        int dominated = 0;
        for (int j = 0; j < n && !dominated; j++) {
            const char *pb = report_trial_attr(rs, j, "params");
            dominated = j != i && pb && rs->trials[j].t.state == TRIAL_COMPLETE && !report_trial_attr(rs, j, "reused_from") &&
                        dominates(rs->trials[j].t.value, atof(pb), t->value, atof(pa));
        }
        if (!dominated) {
            size_t u = strlen(front);
            snprintf(front + u, sizeof front - u, "%s%d", nfront++ ? "," : "", t->number);
        }
    }
    cr_assert_geq(nfront, 2, "a front of one point would not test much");
    cr_assert_lt(nfront, n, "some trial must be dominated");

    cdp c;
    dashboard *d = open_page(&c, "nas", db);
    cr_assert_eq(cdp_number(&c, "document.getElementById('s-pareto').hidden ? 1 : 0"), 0, "the Pareto section is shown");
    cJSON *got = cdp_eval(&c, "(function () { var ch = S.charts['c-pareto'], i = ch.data.datasets.findIndex(function (d) {"
                              " return d.label === 'Pareto front'; }); if (ch.getDatasetMeta(i).data.length !== ch.data.datasets[i].data.length) return 'undrawn';"
                              " return ch.data.datasets[i].data.map(function (p) { return p.trial; }).sort(function (a, b) { return a - b; }).join(','); })()");
    cr_assert_str_eq(got->valuestring, front, "the front drawn (%s) is the non-dominated trials (%s)", got->valuestring, front);
    cJSON_Delete(got);
    cr_assert_eq(cdp_number(&c, "(function () { var ch = S.charts['c-pareto']; return ch.data.datasets[0].data.length + ch.data.datasets[1].data.length; })()"),
                 n, "every architecture drawn, on the front or off it");

    /* the family tree: every child in its parent's list, with its morphism */
    cr_assert_eq(cdp_number(&c, "document.getElementById('s-family').hidden ? 1 : 0"), 0, "the family tree is shown");
    for (int i = 0; i < n; i++) {
        const trial *t = &rs->trials[i].t;
        const char *inh = report_trial_attr(rs, i, "inherit");
        char expr[512];
        snprintf(expr, sizeof expr,
                 "(function () { var li = document.querySelector('#family li[data-trial=\"%d\"]'); if (!li) return null;"
                 " var up = li.parentNode.closest('li'), how = li.querySelector(':scope > .family-how');"
                 " return [up ? Number(up.dataset.trial) : -1, how ? how.textContent : '']; })()",
                 t->number);
        cJSON *v = cdp_eval(&c, expr);
        cr_assert(cJSON_IsArray(v), "trial %d is not in the family tree", t->number);
        int up = cJSON_GetArrayItem(v, 0)->valueint;
        const char *how = cJSON_GetArrayItem(v, 1)->valuestring;
        cr_assert_eq(up, t->parent, "trial %d listed under %d, its parent is %d", t->number, up, t->parent);
        if (t->parent < 0) {
            cr_assert_str_empty(how, "a root has no parent line");
        } else {
            char line[64];
            snprintf(line, sizeof line, "trial %d: ", t->parent);
            cr_assert(strstr(how, line), "trial %d's line names its parent: %s", t->number, how);
            cr_assert_not_null(inh, "child %d has no inherit record", t->number);
            cJSON *j = cJSON_Parse(inh);
            const cJSON *m = cJSON_GetObjectItem(j, "morph");
            cr_assert(cJSON_IsString(m), "child %d's record: %s", t->number, inh);
            cr_assert(strstr(how, m->valuestring), "trial %d's line shows its morphism \"%s\": %s", t->number, m->valuestring, how);
            cJSON_Delete(j);
            nchild++;
        }
        cJSON_Delete(v);
    }
    cr_assert_geq(nchild, 4, "the study should have inherited children");
    report_study_free(rs);
    assert_no_page_errors(&c);
    cdp_close(&c);
    dashboard_stop(d);
}

/* ---- parallel coordinates: brushing ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(dashboard_views, brushing_an_axis_highlights_exactly_the_trials_in_the_range)
{
    char db[128];
    run_study("bo", BAYES_INI, db, sizeof db);
    report_study *rs = load(db);
    int n = rs->ntrials, p = space_find(&rs->sp, "x2");
    cr_assert_eq(n, 14);
    cr_assert_geq(p, 0);
    /* a range whose ends fall halfway across the widest gaps between the
     * trials' values, one in the lower half, one in the upper half */
    double v[64];
    for (int i = 0; i < n; i++)
        v[i] = rs->trials[i].t.values[p];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i1 = 1, i2 = n - 2;
    for (int i = 1; i < n / 2; i++)
        if (v[i] - v[i - 1] > v[i1] - v[i1 - 1])
            i1 = i;
    for (int i = n / 2; i < n - 1; i++)
        if (v[i + 1] - v[i] > v[i2 + 1] - v[i2])
            i2 = i;
    double lo = (v[i1 - 1] + v[i1]) / 2, hi = (v[i2] + v[i2 + 1]) / 2;
    /* x2 spans 0 to 15 on an axis of about 250 pixels: a gap of 0.3 is about 5 */
    cr_assert(v[i1] - v[i1 - 1] > 0.3 && v[i2 + 1] - v[i2] > 0.3, "no clear gaps between the trials' x2");

    cdp c;
    dashboard *d = open_page(&c, "brush", db);
    cJSON_Delete(cdp_eval(&c, "document.getElementById('c-parcoords').scrollIntoView()"));
    /* where x2's axis is on the screen: its x, and the y of the range's ends (x2 is linear, 0 to 15) */
    char expr[512];
    int axis = -1;
    cJSON *names = cdp_eval(&c, "S.pc.axes.map(function (a) { return a.name; })");
    for (int k = 0; k < cJSON_GetArraySize(names); k++)
        if (!strcmp(cJSON_GetArrayItem(names, k)->valuestring, "x2"))
            axis = k;
    cJSON_Delete(names);
    cr_assert_geq(axis, 0, "no x2 axis");
    snprintf(expr, sizeof expr,
             "(function () { var r = document.getElementById('c-parcoords').getBoundingClientRect();"
             " return [r.left + S.pc.ax(%d), r.top + S.pc.bot - %.17g * (S.pc.bot - S.pc.top),"
             " r.top + S.pc.bot - %.17g * (S.pc.bot - S.pc.top)]; })()",
             axis, lo / 15, hi / 15);
    cJSON *at = cdp_eval(&c, expr);
    double ax = cJSON_GetArrayItem(at, 0)->valuedouble, ylo = cJSON_GetArrayItem(at, 1)->valuedouble,
           yhi = cJSON_GetArrayItem(at, 2)->valuedouble;
    cJSON_Delete(at);
    cr_assert_gt(ylo - yhi, 20, "the range is %g pixels tall", ylo - yhi);
    /* drag from the low end up to the high end */
    mouse(&c, "mousePressed", ax, ylo);
    for (int s = 1; s <= 4; s++)
        mouse(&c, "mouseMoved", ax, ylo + (yhi - ylo) * s / 4);
    mouse(&c, "mouseReleased", ax, yhi);
    cdp_wait(&c, "S.brush.x2");

    char want[256] = "";
    int nin = 0;
    for (int i = 0; i < n; i++) {
        double x = rs->trials[i].t.values[p];
        if (x >= lo && x <= hi) {
            size_t u = strlen(want);
            snprintf(want + u, sizeof want - u, "%s%d", nin++ ? "," : "", rs->trials[i].t.number);
        }
    }
    cr_assert_eq(nin, i2 - i1 + 1);
    cr_assert(nin >= 2 && nin < n, "%d of %d trials in the range", nin, n);
    cJSON *sel = cdp_eval(&c, "document.getElementById('parcoords-count').dataset.selected");
    cr_assert_str_eq(sel->valuestring, want, "highlighted %s, in the range %g to %g: %s", sel->valuestring, lo, hi, want);
    cJSON_Delete(sel);
    cJSON *txt = cdp_eval(&c, "document.getElementById('parcoords-count').textContent");
    char words[64];
    snprintf(words, sizeof words, "%d of %d trials selected (x2 from ", nin, n);
    cr_assert(strstr(txt->valuestring, words), "%s", txt->valuestring);
    cJSON_Delete(txt);

    /* a click on the axis clears the brush */
    mouse(&c, "mousePressed", ax, ylo);
    mouse(&c, "mouseReleased", ax, ylo);
    cdp_wait(&c, "!S.brush.x2");
    cr_assert_eq(cdp_number(&c, "document.getElementById('parcoords-count').dataset.selected.split(',').length"), n,
                 "every trial highlighted again");
    report_study_free(rs);
    assert_no_page_errors(&c);
    cdp_close(&c);
    dashboard_stop(d);
}

/* ---- Hyperband: curves with the schedulers' points, rungs, slices,
 * importance, a clicked trial ---- */

static const char *HB_INI =
    "[data]\ndataset = spirals\nsamples = 300\n"
    "[model]\ntype = mlp\nlayers = 1\nhidden = 8\n"
    "[train]\noptimizer = adamw\nlr = 3e-3\nbatch_size = 64\nepochs = 9\nseed = 3\nthreads = 1\n"
    "[study]\nname = hb\ntrials = 17\nscheduler = hyperband\nseed = 5\n"
    "[space]\ntrain.lr = loguniform(1e-4, 3e-1)\nmodel.hidden = int(4, 32)\n";

/* The text of the JavaScript expression expr, malloc'd. */
static char *cdp_text(cdp *c, const char *expr)
{
    cJSON *v = cdp_eval(c, expr);
    cr_assert(cJSON_IsString(v), "`%s` is not a string", expr);
    char *s = strdup(v->valuestring);
    cJSON_Delete(v);
    return s;
}

/* A hyperband study (max budget 9, eta 3) left with its first trials
 * paused at rung 0, as a running or killed study has them; returns how
 * many. */
static int make_paused_study(const char *db)
{
    tl_err err = {0};
    space sp;
    su_space(&sp, "x", "uniform(0, 1)", NULL);
    study_config c = su_config("paused", db);
    c.trials = 20;
    c.seed = 3;
    c.max_budget = 9;
    snprintf(c.scheduler, sizeof c.scheduler, "hyperband");
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    int paused = 0;
    trial_job job;
    for (int k = 0; k < 4 && !study_ask(s, &job, &err) && job.kind == JOB_NEW; k++) {
        for (int step = 0;; step++) {
            double v = pow(job.values[0] - 0.3, 2) + 1.0 / (step + 1);
            int dec;
            cr_assert_eq(study_report(s, job.number, step, v, step + 1, &dec, NULL, &err), 0, "%s", err.msg);
            int state = dec == DECIDE_PAUSE ? TRIAL_PAUSED : dec == DECIDE_STOP ? TRIAL_PRUNED
                      : step + 1 >= job.budget ? TRIAL_COMPLETE : -1;
            if (state >= 0) {
                cr_assert_eq(study_tell(s, job.number, state, v, NULL, &err), 0, "%s", err.msg);
                paused += state == TRIAL_PAUSED;
                break;
            }
        }
    }
    study_close(s);
    space_free(&sp);
    return paused;
}

Test(dashboard_views, hyperband_study_curves_rungs_slices_importance_and_a_clicked_trial)
{
    char db[128], db_paused[128];
    run_study("hb", HB_INI, db, sizeof db);
    snprintf(db_paused, sizeof db_paused, "%s/paused.db", dir);
    int paused = make_paused_study(db_paused);
    cr_assert_gt(paused, 0);
    report_study *rs = load(db);
    int n = rs->ntrials, pruned = 0, promoted = 0, with_value = 0, pick = -1;
    /* reached[bracket][rung]: trials of the bracket that got to the rung (one iteration here) */
    int reached[8][8] = {{0}};
    for (int i = 0; i < n; i++) {
        const trial *t = &rs->trials[i].t;
        with_value += !isnan(t->value);
        if (t->state == TRIAL_PRUNED) {
            pruned++;
            if (pick < 0)
                pick = i;
        }
        const char *hb = report_trial_attr(rs, i, "hb");
        cr_assert_not_null(hb, "trial %d has no rung record", t->number);
        cJSON *j = cJSON_Parse(hb);
        int b = cJSON_GetObjectItem(j, "bracket")->valueint, r = cJSON_GetObjectItem(j, "rung")->valueint;
        cr_assert_eq(cJSON_GetObjectItem(j, "iteration")->valueint, 0);
        cr_assert(b >= 0 && b < 8 && r >= 0 && r < 8);
        cr_assert_geq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rung_value")), r + 1);
        promoted += r; /* promoted from each rung below the one it reached */
        for (int k = 0; k <= r; k++)
            reached[b][k]++;
        cJSON_Delete(j);
    }
    cr_assert_gt(pruned, 0);
    cr_assert_gt(promoted, 0);

    cdp c;
    const char *two[] = {db, db_paused};
    dashboard *d = open_pages(&c, "hb", two, 2);
    /* the history: every trial, the pruned ones with the pruned marker */
    cr_assert_eq(cdp_number(&c, "Number(document.getElementById('status').dataset.points)"), n);
    cr_assert_eq(cdp_number(&c, "Number(document.getElementById('status').dataset.pruned)"), pruned);
    /* a slice per parameter, pruned trials included */
    for (int p = 0; p < rs->sp.n; p++) {
        char expr[256];
        snprintf(expr, sizeof expr,
                 "(function (ch) { return ch.options.scales.x.title.text === '%s' ? ch.data.datasets.reduce(function (s, d, i) {"
                 " return s + ch.getDatasetMeta(i).data.length; }, 0) : -1; })(S.charts['c-slice-%d'])",
                 rs->sp.p[p].name, p);
        cr_assert_eq(cdp_number(&c, expr), with_value, "slice of %s: one point per trial with a value", rs->sp.p[p].name);
    }
    /* learning curves: a curve per trial, a pruned point per pruned trial, a promoted point per promotion */
    cr_assert_eq(cdp_number(&c, "S.charts['c-curves'].data.datasets.filter(function (d) { return d.curve; }).length"), n);
    cr_assert_eq(cdp_number(&c, "(S.charts['c-curves'].data.datasets.find(function (d) { return d.label === 'pruned'; }) || {data: []}).data.length"),
                 pruned);
    cr_assert_eq(cdp_number(&c, "(S.charts['c-curves'].data.datasets.find(function (d) { return d.label === 'promoted'; }) || {data: []}).data.length"),
                 promoted);
    /* the rung table: iteration/bracket/rung -> trials that reached it */
    char *rows = cdp_text(&c, "(function () { var it = '', b = '', out = [];"
                              " document.querySelectorAll('#hyperband tr').forEach(function (tr, k) { if (!k) return;"
                              "  var c = Array.prototype.map.call(tr.cells, function (x) { return x.textContent; });"
                              "  if (c[0] !== '') it = c[0]; if (c[1] !== '') b = c[1]; out.push(it + '/' + b + '/' + c[2] + ':' + c[5]); });"
                              " return out.join(' '); })()");
    for (int b = 0; b < 8; b++)
        for (int r = 0; r < 8 && reached[b][r]; r++) {
            char want[32];
            snprintf(want, sizeof want, "0/%d/%d:%d", b, r, reached[b][r]);
            cr_assert(strstr(rows, want), "rung table lacks %s: %s", want, rows);
        }
    free(rows);
    /* importance: the numbers `tunelab importance` prints */
    cdp_wait(&c, "document.querySelectorAll('#importance tr').length > 1");
    char args[160];
    snprintf(args, sizeof args, "importance %s", db);
    cli_out ci = cli_run(dir, args);
    cr_assert_eq(ci.status, 0, "%s", ci.err);
    for (int p = 0; p < rs->sp.n; p++) {
        const char *line = strstr(ci.out, rs->sp.p[p].name);
        while (line && line[strlen(rs->sp.p[p].name)] != ' ')
            line = strstr(line + 1, rs->sp.p[p].name);
        cr_assert_not_null(line, "tunelab importance: %s", ci.out);
        double imp, sd, mn, mx;
        cr_assert_eq(sscanf(line + strlen(rs->sp.p[p].name), "%lf %lf %lf %lf", &imp, &sd, &mn, &mx), 4, "%s", line);
        char want[128], expr[512];
        snprintf(want, sizeof want, "%s %.4f %.4f %.4f %.4f", rs->sp.p[p].name, imp, sd, mn, mx);
        snprintf(expr, sizeof expr,
                 "Array.prototype.map.call(document.querySelectorAll('#importance tr'), function (tr) {"
                 " return Array.prototype.slice.call(tr.cells, 0, 5).map(function (x) { return x.textContent; }).join(' '); })"
                 ".filter(function (s) { return s.indexOf('%s ') === 0; }).join('|')",
                 rs->sp.p[p].name);
        char *got = cdp_text(&c, expr);
        cr_assert_str_eq(got, want, "the page's importance row (%s) is tunelab importance's (%s)", got, want);
        free(got);
    }
    cli_free(&ci);
    /* a click on a pruned trial's row opens its panel */
    const trial *t = &rs->trials[pick].t;
    char expr[512];
    snprintf(expr, sizeof expr,
             "(function () { var tr = Array.prototype.find.call(document.querySelectorAll('#trials tbody tr'), function (r) {"
             " return r.cells[0].textContent === '%d'; }); tr.scrollIntoView({block: 'center'}); var b = tr.cells[0].getBoundingClientRect();"
             " return [b.left + b.width / 2, b.top + b.height / 2]; })()",
             t->number);
    cJSON *at = cdp_eval(&c, expr);
    double x = cJSON_GetArrayItem(at, 0)->valuedouble, y = cJSON_GetArrayItem(at, 1)->valuedouble;
    cJSON_Delete(at);
    mouse(&c, "mousePressed", x, y);
    mouse(&c, "mouseReleased", x, y);
    cdp_wait(&c, "!document.getElementById('detail').hidden");
    char *title = cdp_text(&c, "document.getElementById('detail-title').textContent");
    char want[64];
    snprintf(want, sizeof want, "Trial %d", t->number);
    cr_assert_str_eq(title, want);
    free(title);
    char *panel = cdp_text(&c, "document.getElementById('detail-table').textContent");
    cr_assert(strstr(panel, "statepruned"), "%s", panel);
    cr_assert(strstr(panel, t->reason) && t->reason[0], "the reason \"%s\": %s", t->reason, panel);
    cr_assert(strstr(panel, "hyperband: bracket "), "the scheduler's record in words: %s", panel);
    free(panel);
    char *cmd = cdp_text(&c, "document.getElementById('detail-command').textContent"), retrain[4096];
    report_retrain_command(rs, pick, retrain, sizeof retrain);
    cr_assert_str_eq(cmd, retrain);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "tunelab train %s/hb.ini --set ", dir);
    cr_assert(!strncmp(cmd, prefix, strlen(prefix)) && strstr(cmd, "train.lr=") && strstr(cmd, "model.hidden="), "%s", cmd);
    free(cmd);
    cr_assert_eq(cdp_number(&c, "S.charts['c-detail'].data.datasets[0].data.length"), t->nsteps, "the trial's curve");
    /* the second study, chosen in the list: its paused trials drawn as paused, in the history and on the curves */
    cJSON_Delete(cdp_eval(&c, "document.querySelectorAll('#studies tbody tr')[1].click()"));
    cdp_wait(&c, "S.study && S.study.name === 'paused' && S.charts['c-curves']");
    cr_assert_eq(cdp_number(&c, "(S.charts['c-history'].data.datasets.find(function (d) { return d.state === 'paused'; }) || {data: []}).data.length"),
                 paused);
    cr_assert_eq(cdp_number(&c, "(S.charts['c-curves'].data.datasets.find(function (d) { return d.label === 'paused'; }) || {data: []}).data.length"),
                 paused);
    report_study_free(rs);
    assert_no_page_errors(&c);
    cdp_close(&c);
    dashboard_stop(d);
}
