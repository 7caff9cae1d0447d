/* report/dashboard.h: the live dashboard (`tunelab dashboard DB [DB...]`):
 * a small HTTP server (libmicrohttpd) serving one page and a read-only JSON
 * API over study databases.
 *
 * Served paths (anything else is 404; a path with ".." or a NUL is 400):
 *   /  /index.html  /app.js  /style.css   the page (report/www/, embedded in
 *                                         the binary at build time:
 *                                         build/gen/dashboard_www.h)
 *   /chart.min.js                         Chart.js from Debian's libjs-chart.js
 *                                         (DASHBOARD_CHARTJS), read at request time
 *   /api/studies                          the studies: [{id, path, name, ...}]
 *   /api/study?id=I                       study I whole: params, trials, attrs,
 *                                         retrain commands, Pareto ranks, version
 *   /api/wait?id=I&version=V&ms=M         returns when study I's version differs
 *                                         from V, or after M ms (at most 10000)
 *   /api/gp?id=I&param=NAME               bayes: GP mean, band and acquisition
 *                                         along NAME (report/report_gp.h)
 *   /api/importance?id=I                  HOOK: 501 until `tunelab importance`
 *                                         exists (see dashboard_api.c)
 * Every database is opened read-only, per request (report_study_load), so
 * the dashboard works while `tunelab run` writes and in a read-only folder.
 *
 * Safe by default: only GET and HEAD (others 405), no endpoint writes, the
 * URL is at most DASHBOARD_MAX_URL bytes (414), a request body is refused
 * (413), headers are capped by the connection memory limit, connections by
 * DASHBOARD_MAX_CONN in all and per client address, waiting requests by
 * DASHBOARD_MAX_WAIT (429).  The JSON carries database strings as JSON
 * strings; the page puts them in the DOM as text only (textContent), never
 * as HTML.
 *
 * Does not: write a database, print, exit, or serve files from disk other
 * than the Chart.js file named above.
 */
#ifndef TL_REPORT_DASHBOARD_H
#define TL_REPORT_DASHBOARD_H

#include <stddef.h>

#include "util/err.h"

#define DASHBOARD_CHARTJS "/usr/share/javascript/chart.js/chart.min.js"
#define DASHBOARD_MAX_DBS 32
#define DASHBOARD_MAX_URL 1024
#define DASHBOARD_MAX_CONN 64
#define DASHBOARD_MAX_PER_IP 32
#define DASHBOARD_MAX_WAIT 16

typedef struct dashboard dashboard;

typedef struct dashboard_opts {
    const char *host;  /* address to bind; NULL: "127.0.0.1" */
    int port;          /* 0: any free port (dashboard_port tells which) */
} dashboard_opts;

/* Checks that each of the n paths is a tunelab study database with exactly
 * one study (report_study_load, read-only), binds host:port and starts
 * serving on threads of its own.  Returns 0 with *out owned by the caller
 * (dashboard_stop), TL_EINPUT for no database, too many, a missing or
 * foreign database (the message names the path), a host that is not an
 * address of this machine or a port already in use ("host:port: ..."),
 * TL_ERUNTIME for memory or a server that cannot start. */
int dashboard_start(dashboard **out, const char *const *paths, int n, const dashboard_opts *o,
                    tl_err *err);

/* The port the server listens on.  Cannot fail. */
int dashboard_port(const dashboard *d);

/* Stops serving (waiting requests return first) and frees d; NULL is a no-op. */
void dashboard_stop(dashboard *d);

/* ---- the API (report/dashboard_api.c), called by the server's threads ---- */

/* An HTTP answer: status, content type and a malloc'd body. */
typedef struct dashboard_reply {
    int status;
    const char *type;  /* static string */
    char *body;        /* malloc'd, NUL-terminated */
    size_t len;
} dashboard_reply;

/* Answers GET /api/<what> (what: "studies", "study", "wait", "gp",
 * "importance") for the n databases in paths; get(cls, key) returns the
 * query argument key or NULL.  *stop, when non-zero, ends a wait early.
 * Always fills r (an error is a 4xx/5xx with {"error": "..."}); returns 0,
 * or -1 when even the error body could not be allocated. */
int dashboard_api(const char *what, const char *const *paths, int n,
                  const char *(*get)(void *cls, const char *key), void *cls,
                  volatile int *stop, dashboard_reply *r);

/* A JSON error reply {"error": msg} with status.  Returns 0 or -1 (memory). */
int dashboard_error(dashboard_reply *r, int status, const char *msg);

#endif
