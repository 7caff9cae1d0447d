/* tests/dashboard_util.h: what the dashboard tests share (test_dashboard.c,
 * test_dashboard_browser.c): a hand-made study and a raw HTTP client (a
 * socket, so that nothing normalizes the paths a test sends).
 * Header-only (static inline), test code only. */
#ifndef TL_TESTS_DASHBOARD_UTIL_H
#define TL_TESTS_DASHBOARD_UTIL_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hpo/space.h"
#include "hpo/study.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

#define DU_NTRIALS 10
#define DU_NSTEPS 4
/* A parameter name and a choice a browser would run if the page put them in as HTML. */
#define DU_EVIL_NAME "<img src=x onerror=\"document.title='pwned'\">"
#define DU_EVIL_CHOICE "\"<script>document.title='pwned'</script>\""

/* Writes study "dash" into db: DU_NTRIALS trials, 3 and 7 pruned after 2
 * steps, 5 failed with no value, the others complete after DU_NSTEPS steps;
 * one parameter named DU_EVIL_NAME and a categorical with DU_EVIL_CHOICE. */
static inline void du_make_study(const char *db, int ntrials)
{
    tl_err err = {0};
    space sp;
    su_space(&sp, "train.lr", "loguniform(1e-4, 1e-1)",
                  DU_EVIL_NAME, "int(1, 4)",
                  "act", "choice(" DU_EVIL_CHOICE ", relu)",
                  NULL);
    study_config c = su_config("dash", db);
    c.trials = ntrials;
    c.seed = 7;
    c.max_budget = DU_NSTEPS;
    study *s;
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    trial_job job;
    while (!study_ask(s, &job, &err) && job.kind == JOB_NEW) {
        double lr = job.values[0], layers = job.values[1];
        int stop = job.number == 3 || job.number == 7 ? 2 : DU_NSTEPS;
        double v = NAN;
        for (int step = 0; step < stop; step++) {
            v = pow(log10(lr) + 2.5, 2) + 0.1 * layers + 1.0 / (step + 1);
            cr_assert_eq(study_report(s, job.number, step, v, step + 1, NULL, NULL, &err), 0, "%s", err.msg);
        }
        int state = stop < DU_NSTEPS ? TRIAL_PRUNED : job.number == 5 ? TRIAL_FAILED : TRIAL_COMPLETE;
        cr_assert_eq(study_tell(s, job.number, state, state == TRIAL_FAILED ? NAN : v,
                                state == TRIAL_FAILED ? "diverged: <b>loss</b> nan" : NULL, &err),
                     0, "%s", err.msg);
    }
    study_close(s);
    space_free(&sp);
}

/* Sends req (a whole HTTP request) to 127.0.0.1:port and reads the answer
 * until the server closes.  Returns the status (0 when the server closed
 * without one); *body (may be NULL) gets the malloc'd answer after the
 * headers, *head the headers. */
static inline int du_http(int port, const char *req, size_t reqlen, char **head, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect to port %d", port);
    for (size_t off = 0; off < reqlen;) {
        ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close early on a refused request */
        off += (size_t)w;
    }
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    ssize_t r;
    while ((r = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
        n += (size_t)r;
        if (cap - n < 4096)
            cr_assert_not_null(buf = realloc(buf, cap *= 2));
    }
    close(fd);
    buf[n] = 0;
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    char *sep = strstr(buf, "\r\n\r\n");
    if (head)
        *head = strndup(buf, sep ? (size_t)(sep - buf) : n);
    if (body)
        *body = strdup(sep ? sep + 4 : "");
    free(buf);
    return status;
}

/* GET path with Connection: close. */
static inline int du_get(int port, const char *path, char **head, char **body)
{
    char req[8192];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    cr_assert_lt(n, (int)sizeof req);
    return du_http(port, req, (size_t)n, head, body);
}

#endif
