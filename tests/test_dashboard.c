/* tests/test_dashboard.c: the live dashboard's server and API
 * (report/dashboard.h), started in this process on a free port over a
 * hand-made study (tests/dashboard_util.h) and asked through a raw socket:
 * the page, Chart.js and the API answer; traversal attempts, other methods,
 * bodies, long URLs and huge headers are refused with a 4xx; database
 * strings (a parameter named like an <img> tag) come back exactly, as JSON
 * strings, with nosniff; the database is never written; a wait sees a new
 * trial; and the bad inputs of `tunelab dashboard` (missing or foreign
 * database, port in use, a host that cannot be bound) exit 2 with a message;
 * a database in a read-only folder is served (as user nobody when root);
 * the server listens on 127.0.0.1 only unless told otherwise, answers at
 * most DASHBOARD_MAX_WAIT long polls at once (429 beyond) and keeps at
 * most DASHBOARD_MAX_PER_IP connections from one address.
 * The browser tests are in tests/test_dashboard_browser.c. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/dashboard.h"
#include "tests/dashboard_util.h"
#include "tests/report_util.h"
#include "tests/reader_util.h"
#include "tests/tmpdir_util.h"

static char dir[64], db[128];
static dashboard *d;
static int port;

static void setup(void)
{
    tmpdir_make(dir, sizeof dir, "tl_dash");
    snprintf(db, sizeof db, "%s/dash.db", dir);
    du_make_study(db, DU_NTRIALS);
    const char *paths[] = {db};
    dashboard_opts o = {NULL, 0};
    tl_err err = {0};
    cr_assert_eq(dashboard_start(&d, paths, 1, &o, &err), 0, "%s", err.msg);
    port = dashboard_port(d);
    cr_assert_gt(port, 0);
}

static void teardown(void)
{
    dashboard_stop(d);
    d = NULL;
    tmpdir_remove(dir);
}

TestSuite(dashboard, .init = setup, .fini = teardown, .timeout = 60);

static cJSON *get_json(const char *path, int want)
{
    char *head, *body;
    int st = du_get(port, path, &head, &body);
    cr_assert_eq(st, want, "GET %s: %d, want %d: %s", path, st, want, body);
    cr_assert(strstr(head, "application/json"), "%s: %s", path, head);
    cJSON *j = cJSON_Parse(body);
    cr_assert_not_null(j, "%s: not JSON: %s", path, body);
    free(head);
    free(body);
    return j;
}

Test(dashboard, serves_the_page_and_debians_chartjs)
{
    char *head, *body;
    cr_assert_eq(du_get(port, "/", &head, &body), 200);
    cr_assert(strstr(head, "text/html") && strstr(head, "nosniff") && strstr(head, "Content-Security-Policy"), "%s", head);
    cr_assert(strstr(body, "/chart.min.js") && strstr(body, "/app.js"), "the page loads Chart.js and app.js from the server");
    cr_assert_null(strstr(body, "http://"), "no CDN: nothing from another server");
    free(head), free(body);
    cr_assert_eq(du_get(port, "/app.js", &head, &body), 200);
    cr_assert(strstr(head, "javascript"));
    free(head), free(body);
    cr_assert_eq(du_get(port, "/chart.min.js", &head, &body), 200);
    cr_assert(strstr(body, "Chart.js v"), "Chart.js from " DASHBOARD_CHARTJS);
    free(head), free(body);
}

Test(dashboard, refuses_paths_outside_its_files)
{
    const char *bad[] = {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../../etc/passwd",
                         "/..%2f..%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd", "/report/www/app.js",
                         "/chart.min.js/../../../../etc/passwd", "/api/../../etc/passwd", "/..\\..\\etc\\passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body;
        int st = du_get(port, bad[i], NULL, &body);
        cr_assert(st == 400 || st == 404, "GET %s: %d", bad[i], st);
        cr_assert_null(strstr(body, "root:"), "GET %s served /etc/passwd", bad[i]);
        cr_assert(strstr(body, "\"error\""), "GET %s: a message: %s", bad[i], body);
        free(body);
    }
}

Test(dashboard, refuses_writes_bodies_and_oversized_requests_and_never_writes_the_database)
{
    struct stat before, after;
    cr_assert_eq(stat(db, &before), 0);
    char *body = NULL;
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (int i = 0; i < 4; i++) {
        char req[256];
        int n = snprintf(req, sizeof req, "%s /api/study?id=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                          "Content-Length: 2\r\n\r\n{}", methods[i]);
        cr_assert_eq(du_http(port, req, (size_t)n, NULL, &body), 405, "%s", methods[i]);
        free(body);
    }
    const char *withbody = "GET /api/studies HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";
    cr_assert_eq(du_http(port, withbody, strlen(withbody), NULL, &body), 413);
    free(body);
    char url[3000] = "/api/study?id=0&x=";
    memset(url + strlen(url), 'a', 2000);
    url[2018] = 0;
    cr_assert_eq(du_get(port, url, NULL, &body), 414);
    free(body);
    size_t big = 100000;
    char *req = malloc(big + 256);
    int n = sprintf(req, "GET /api/studies HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ");
    memset(req + n, 'b', big);
    strcpy(req + n + big, "\r\n\r\n");
    int st = du_http(port, req, strlen(req), NULL, &body);
    cr_assert(st == 0 || (st >= 400 && st < 500), "a 100 kB header: %d", st);
    free(req), free(body);
    cJSON_Delete(get_json("/api/study?id=0", 200));
    cJSON_Delete(get_json("/api/wait?id=0&version=1&ms=0", 200));
    cr_assert_eq(stat(db, &after), 0);
    cr_assert(before.st_size == after.st_size && before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec, "the database was changed");
}

Test(dashboard, malformed_api_requests_get_a_4xx_with_a_message)
{
    const char *bad[] = {"/api/study", "/api/study?id=", "/api/study?id=abc", "/api/study?id=1", "/api/study?id=-1",
                         "/api/wait?id=0", "/api/wait?id=0&version=x", "/api/wait?id=0&version=1&ms=-5",
                         "/api/gp?id=0&param=act", "/api/gp?id=0&param=nope", "/api/gp?id=0&k=zz", "/api/nothing"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body;
        int st = du_get(port, bad[i], NULL, &body);
        cr_assert(st >= 400 && st < 500, "GET %s: %d %s", bad[i], st, body);
        cJSON *j = cJSON_Parse(body);
        cr_assert(j && cJSON_IsString(cJSON_GetObjectItem(j, "error")), "GET %s: %s", bad[i], body);
        cJSON_Delete(j);
        free(body);
    }
}

/* /api/importance answers what `tunelab importance --json` prints: one
 * entry per parameter of the study, importances summing to 1. */
Test(dashboard, importance_gives_every_parameter_a_share)
{
    cJSON *s = get_json("/api/study?id=0", 200);
    int np = cJSON_GetArraySize(cJSON_GetObjectItem(s, "params"));
    cJSON_Delete(s);
    cJSON *j = get_json("/api/importance?id=0", 200);
    cJSON *p = cJSON_GetObjectItem(j, "params");
    cr_assert(cJSON_IsArray(p) && cJSON_GetArraySize(p) == np, "%d parameters", np);
    double sum = 0;
    for (int i = 0; i < np; i++) {
        cJSON *e = cJSON_GetArrayItem(p, i);
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "name")));
        double v = cJSON_GetObjectItem(e, "importance")->valuedouble;
        cr_assert(v >= 0 && v <= 1, "importance %g", v);
        sum += v;
    }
    cr_assert(fabs(sum - 1) < 1e-6, "importances sum to %g", sum);
    cJSON_Delete(j);
}

Test(dashboard, the_study_comes_back_whole_with_html_in_names_as_plain_json_strings)
{
    cJSON *list = get_json("/api/studies", 200);
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "name")->valuestring, "dash");
    cJSON_Delete(list);
    cJSON *s = get_json("/api/study?id=0", 200);
    cJSON *params = cJSON_GetObjectItem(s, "params"), *trials = cJSON_GetObjectItem(s, "trials");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(params, 1), "name")->valuestring, DU_EVIL_NAME);
    cr_assert_eq(cJSON_GetArraySize(trials), DU_NTRIALS);
    int pruned = 0, failed = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        const char *state = cJSON_GetObjectItem(t, "state")->valuestring;
        pruned += !strcmp(state, "pruned");
        if (!strcmp(state, "failed")) {
            failed++;
            cr_assert(cJSON_IsNull(cJSON_GetObjectItem(t, "value")), "no value is null, not NaN");
            cr_assert_str_eq(cJSON_GetObjectItem(t, "reason")->valuestring, "diverged: <b>loss</b> nan");
        }
        cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "params"), DU_EVIL_NAME);
        cr_assert(cJSON_IsNumber(p), "trial values keyed by the parameter's exact name");
        cr_assert(cJSON_IsArray(cJSON_GetObjectItem(t, "curve")));
    }
    cr_assert_eq(pruned, 2);
    cr_assert_eq(failed, 1);
    cJSON_Delete(s);
}

/* Adds one trial to the study in db after 600 ms (a thread). */
static void *add_trial_later(void *arg)
{
    usleep(600 * 1000);
    du_make_study((const char *)arg, DU_NTRIALS + 1); /* resumes: one more trial */
    return NULL;
}

Test(dashboard, a_wait_returns_when_the_study_changes)
{
    cJSON *s = get_json("/api/study?id=0", 200);
    double v = cJSON_GetObjectItem(s, "version")->valuedouble;
    cJSON_Delete(s);
    char path[128];
    snprintf(path, sizeof path, "/api/wait?id=0&version=%.17g&ms=300", v);
    cJSON *w = get_json(path, 200);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(w, "changed")), "nothing changed in 300 ms");
    cJSON_Delete(w);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, add_trial_later, db), 0);
    snprintf(path, sizeof path, "/api/wait?id=0&version=%.17g&ms=8000", v);
    w = get_json(path, 200);
    pthread_join(th, NULL);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(w, "changed")), "the new trial was seen");
    cJSON_Delete(w);
    s = get_json("/api/study?id=0", 200);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, "trials")), DU_NTRIALS + 1);
    cJSON_Delete(s);
}

Test(dashboard, bad_databases_ports_and_hosts_are_clear_errors)
{
    tl_err err = {0};
    dashboard *x = NULL;
    char foreign[160], missing[160];
    snprintf(foreign, sizeof foreign, "%s/notes.txt", dir);
    snprintf(missing, sizeof missing, "%s/none.db", dir);
    FILE *f = fopen(foreign, "w");
    fputs("not a database\n", f);
    fclose(f);
    const char *p1[] = {missing}, *p2[] = {foreign}, *p3[] = {db};
    dashboard_opts o = {NULL, 0};
    cr_assert_eq(dashboard_start(&x, p1, 1, &o, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "none.db"), "%s", err.msg);
    cr_assert_eq(dashboard_start(&x, p2, 1, &o, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "notes.txt"), "%s", err.msg);
    o.port = port; /* in use by this suite's server */
    cr_assert_eq(dashboard_start(&x, p3, 1, &o, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "in use"), "%s", err.msg);
    o.port = 0;
    o.host = "192.0.2.1"; /* TEST-NET-1: never an address of this machine */
    cr_assert_eq(dashboard_start(&x, p3, 1, &o, &err), TL_EINPUT);
    o.host = "no-such-host.invalid";
    cr_assert_eq(dashboard_start(&x, p3, 1, &o, &err), TL_EINPUT);
    cr_assert_null(x);

    const char *bin = ru_bin();
    char *out, *errout;
    struct { const char *args; const char *msg; } cases[] = {
        {"dashboard", "needs a study database"},
        {"dashboard %s/none.db", "no such file"},
        {"dashboard %s/notes.txt", "notes.txt"},
        {"dashboard %s/dash.db --port 99999", "--port"},
        {"dashboard %s/dash.db --host 192.0.2.1 --port 0", "cannot listen"},
        {"dashboard %s/dash.db --bogus", "unknown option"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char a[512];
        snprintf(a, sizeof a, cases[i].args, dir);
        cr_assert_eq(ru_tl(dir, bin, "NO_COLOR=1", &out, &errout, "%s", a), 2, "tunelab %s", a);
        cr_assert(strstr(errout, cases[i].msg), "tunelab %s: %s", a, errout);
        free(out), free(errout);
    }
    char a[512];
    snprintf(a, sizeof a, "dashboard %s/dash.db --port %d", dir, port);
    cr_assert_eq(ru_tl(dir, bin, "NO_COLOR=1", &out, &errout, "%s", a), 2, "a port in use");
    cr_assert(strstr(errout, "in use") && strstr(errout, "--port"), "%s", errout);
    free(out), free(errout);
}

/* In a child that cannot write folder ro (user nobody when the tests run as
 * root): starts a dashboard on db_ro and GETs /api/study.  Writes "STATUS
 * NTRIALS" or "skip: why" / "error: why" into msg. */
static void serve_as_reader(const char *ro, const char *db_ro, char *msg, size_t n)
{
    int fd[2];
    char out[1100];
    pid_t pid = reader_fork(ro, fd, out, sizeof out);
    if (pid == 0) {
        dashboard *x = NULL;
        tl_err err = {0};
        const char *paths[] = {db_ro};
        dashboard_opts o = {NULL, 0};
        if (!out[0] && dashboard_start(&x, paths, 1, &o, &err))
            snprintf(out, sizeof out, "error: %s", err.msg);
        if (!out[0]) {
            char *body;
            int st = du_get(dashboard_port(x), "/api/study?id=0", NULL, &body);
            cJSON *j = cJSON_Parse(body);
            snprintf(out, sizeof out, "%d %d", st, cJSON_GetArraySize(cJSON_GetObjectItem(j, "trials")));
            cJSON_Delete(j);
            free(body);
        }
        dashboard_stop(x);
        reader_reply(fd, out);
    }
    reader_wait(pid, fd, msg, n);
}

Test(dashboard, serves_a_database_in_a_read_only_folder_and_creates_nothing_there)
{
    char ro[128], db_ro[160], msg[1100];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    snprintf(db_ro, sizeof db_ro, "%s/dash.db", ro);
    cr_assert_eq(chmod(dir, 0755), 0); /* mkdtemp's 0700: let the reader in */
    cr_assert_eq(mkdir(ro, 0755), 0);
    long n = 0;
    char *bytes = ru_slurp(db, &n);
    FILE *f = fopen(db_ro, "wb");
    cr_assert(bytes && f && fwrite(bytes, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    free(bytes);
    cr_assert_eq(chmod(db_ro, 0444), 0);
    cr_assert_eq(chmod(ro, 0555), 0);
    serve_as_reader(ro, db_ro, msg, sizeof msg);
    chmod(ro, 0755);
    if (!strncmp(msg, "skip: ", 6))
        cr_skip_test("%s", msg + 6);
    cr_assert_str_eq(msg, "200 10", "%s", msg);
    DIR *dd = opendir(ro);
    int files = 0;
    for (struct dirent *e; (e = readdir(dd));)
        files += e->d_name[0] != '.';
    closedir(dd);
    cr_assert_eq(files, 1, "the dashboard created files next to the database");
}

Test(dashboard, the_command_prints_its_address_serves_and_exits_0_on_sigterm)
{
    const char *bin = ru_bin();
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(bin, bin, "dashboard", db, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char line[512] = "";
    FILE *f = fdopen(fd[0], "r");
    cr_assert(fgets(line, sizeof line, f), "no address printed");
    int p = 0;
    const char *at = strstr(line, "http://127.0.0.1:");
    cr_assert(at && sscanf(at, "http://127.0.0.1:%d/", &p) == 1 && p > 0, "%s", line);
    char *body;
    cr_assert_eq(du_get(p, "/api/studies", NULL, &body), 200);
    cr_assert(strstr(body, "\"name\":\"dash\""), "%s", body);
    free(body);
    kill(pid, SIGTERM);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    fclose(f);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
}

/* The suite's server was started without a host: it listens on 127.0.0.1
 * only, so another address of this machine (127.0.0.2, also loopback on
 * Linux) is refused. */
Test(dashboard, listens_on_127_0_0_1_only_by_default)
{
    char *body;
    cr_assert_eq(du_get(port, "/api/studies", NULL, &body), 200);
    free(body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2 */
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int why = errno;
    close(fd);
    cr_assert(rc != 0 && why == ECONNREFUSED, "127.0.0.2:%d accepted a connection (rc %d, %s)", port, rc, strerror(why));
}

typedef struct waiter {
    char path[160];
    int status;
    atomic_int *done;
} waiter;

static void *wait_request(void *arg)
{
    waiter *w = arg;
    char *body;
    w->status = du_get(port, w->path, NULL, &body);
    free(body);
    atomic_fetch_add(w->done, 1);
    return NULL;
}

/* More than DASHBOARD_MAX_WAIT long polls at once: the extra ones get 429
 * at once, the others keep waiting until the study changes. */
Test(dashboard, too_many_waiting_requests_get_429)
{
    enum { N = DASHBOARD_MAX_WAIT + 4 };
    cJSON *s = get_json("/api/study?id=0", 200);
    double v = cJSON_GetObjectItem(s, "version")->valuedouble;
    cJSON_Delete(s);
    waiter w[N];
    pthread_t th[N];
    atomic_int done;
    atomic_init(&done, 0);
    for (int i = 0; i < N; i++) {
        snprintf(w[i].path, sizeof w[i].path, "/api/wait?id=0&version=%.17g&ms=10000", v);
        w[i].done = &done;
        cr_assert_eq(pthread_create(&th[i], NULL, wait_request, &w[i]), 0);
    }
    for (int k = 0; k < 200 && atomic_load(&done) < N - DASHBOARD_MAX_WAIT; k++)
        usleep(25 * 1000);
    int early = atomic_load(&done);
    du_make_study(db, DU_NTRIALS + 1); /* a change ends the waits */
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].status == 200;
        refused += w[i].status == 429;
    }
    cr_assert_eq(early, N - DASHBOARD_MAX_WAIT, "%d answered before the change: the extra waits at once, the others wait", early);
    cr_assert_eq(refused, N - DASHBOARD_MAX_WAIT);
    cr_assert_eq(ok, DASHBOARD_MAX_WAIT);
}

/* More than DASHBOARD_MAX_PER_IP connections from one address: the extra
 * ones are closed without an answer, the others are served. */
Test(dashboard, connections_from_one_address_are_limited)
{
    enum { N = DASHBOARD_MAX_PER_IP + 8 };
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(fd[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    /* until the server has closed the extra ones (EOF to a peek) */
    int closed = 0;
    for (int k = 0; k < 200 && closed < N - DASHBOARD_MAX_PER_IP; k++) {
        usleep(25 * 1000);
        closed = 0;
        for (int i = 0; i < N; i++) {
            char c;
            closed += recv(fd[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
        }
    }
    cr_assert_eq(closed, N - DASHBOARD_MAX_PER_IP, "%d connections closed", closed);
    int served = 0;
    const char *req = "GET /api/studies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < N; i++) {
        char c;
        if (recv(fd[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            close(fd[i]);
            continue;
        }
        char buf[64] = "";
        if (send(fd[i], req, strlen(req), MSG_NOSIGNAL) > 0 && recv(fd[i], buf, sizeof buf - 1, 0) > 0)
            served += !strncmp(buf, "HTTP/1.1 200", 12);
        close(fd[i]);
    }
    cr_assert_eq(served, DASHBOARD_MAX_PER_IP);
}
