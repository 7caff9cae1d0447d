/* report/dashboard.c: the dashboard's HTTP server (see report/dashboard.h):
 * binding, libmicrohttpd, the request limits, the routing, the page's files.
 *
 * Does: bind the socket itself (so a port in use or a foreign host is a
 * clear error before any thread starts), hand it to libmicrohttpd with a
 * thread per connection, refuse what is not a plain GET of a known path,
 * serve the embedded page and Debian's Chart.js, and pass /api/ to
 * report/dashboard_api.c.
 * Does not: build JSON, read the databases (dashboard_api.c), write any
 * file, print or exit.
 */
#include "report/dashboard.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "report/report.h"
/* generated from report/www by scripts/embed_www.sh into build/gen (see the Makefile) */
#include "dashboard_www.h"

struct dashboard {
    struct MHD_Daemon *mhd;
    int fd;
    int port;
    int n;
    char **paths;              /* (n) the databases */
    atomic_int waiting;        /* requests inside /api/wait */
    volatile int stop;
};

/* ---- binding ---- */

/* Binds and listens on host:port; returns the socket or -1 with err
 * filled (TL_EINPUT: the host or the port, TL_ERUNTIME otherwise). */
static int bind_socket(const char *host, int port, int *bound, tl_err *err)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host, ps, &hints, &ai);
    if (g)
        return tl_fail(err, TL_EINPUT, "%s:%d: cannot resolve host: %s", host, port, gai_strerror(g)), -1;
    int fd = -1, why = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 64)) {
            why = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return tl_fail(err, TL_EINPUT, "%s:%d: cannot listen: %s%s", host, port, strerror(why),
                       why == EADDRINUSE ? " (another program uses this port: choose one with --port)"
                       : why == EADDRNOTAVAIL ? " (not an address of this machine)" : ""), -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *bound = port;
    if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
        *bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- replies ---- */

static enum MHD_Result send_buf(struct MHD_Connection *c, int status, const char *type,
                                const void *buf, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)buf, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; style-src 'self'; img-src 'self' data:; "
                            "connect-src 'self'; object-src 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
    dashboard_reply r;
    if (dashboard_error(&r, status, msg))
        return MHD_NO;
    return send_buf(c, r.status, r.type, r.body, r.len, MHD_RESPMEM_MUST_FREE);
}

/* Serves Debian's Chart.js, read now (the package may be upgraded). */
static enum MHD_Result send_chartjs(struct MHD_Connection *c)
{
    FILE *f = fopen(DASHBOARD_CHARTJS, "rb");
    if (!f)
        return send_error(c, 404, DASHBOARD_CHARTJS ": missing (install libjs-chart.js)");
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    for (;;) {
        if (len + 65536 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return send_error(c, 500, "out of memory");
            }
            buf = nb;
        }
        if (!(got = fread(buf + len, 1, cap - len, f)))
            break;
        len += got;
    }
    fclose(f);
    return send_buf(c, 200, "text/javascript; charset=utf-8", buf, len, MHD_RESPMEM_MUST_FREE);
}

/* ---- routing ---- */

static const char *query_get(void *cls, const char *key)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)cls, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_api(dashboard *d, struct MHD_Connection *c, const char *what)
{
    int is_wait = !strcmp(what, "wait");
    if (is_wait && atomic_fetch_add(&d->waiting, 1) >= DASHBOARD_MAX_WAIT) {
        atomic_fetch_sub(&d->waiting, 1);
        return send_error(c, 429, "too many waiting requests; retry later");
    }
    dashboard_reply r;
    int rc = dashboard_api(what, (const char *const *)d->paths, d->n, query_get, c, &d->stop, &r);
    if (is_wait)
        atomic_fetch_sub(&d->waiting, 1);
    if (rc)
        return MHD_NO;
    return send_buf(c, r.status, r.type, r.body, r.len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result route(dashboard *d, struct MHD_Connection *c, const char *url)
{
    if (strstr(url, "..") || strchr(url, '\\'))
        return send_error(c, 400, "path refused: only the dashboard's own files are served");
    if (!strcmp(url, "/chart.min.js"))
        return send_chartjs(c);
    if (!strncmp(url, "/api/", 5))
        return send_api(d, c, url + 5);
    const char *name = !strcmp(url, "/") ? "/index.html" : url;
    for (int i = 0; DASHBOARD_WWW[i].name; i++)
        if (!strcmp(name + 1, DASHBOARD_WWW[i].name))
            return send_buf(c, 200, DASHBOARD_WWW[i].type, DASHBOARD_WWW[i].data, DASHBOARD_WWW[i].len,
                            MHD_RESPMEM_PERSISTENT);
    return send_error(c, 404, "not found");
}

/* Per-connection markers (addresses only, never written): the URI log
 * callback sees the whole request target, query included, and its answer
 * becomes the handler's *con_cls; the handler marks the first call seen. */
static const char URI_OK, URI_LONG, SEEN_OK, SEEN_LONG;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    return (void *)(strlen(uri) > DASHBOARD_MAX_URL ? &URI_LONG : &URI_OK);
}

/* libmicrohttpd's handler: called once when the headers are in (we answer
 * then, unless a body follows), then with each piece of a body (refused). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    dashboard *d = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return send_error(c, 405, "only GET: the dashboard never changes a study");
    if (*con_cls != &SEEN_OK && *con_cls != &SEEN_LONG) {
        *con_cls = (void *)(*con_cls == &URI_LONG ? &SEEN_LONG : &SEEN_OK);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strcmp(cl, "0"))
            return send_error(c, 413, "a request body is not accepted");
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return send_error(c, 413, "a request body is not accepted");
    }
    if (*con_cls == &SEEN_LONG || strlen(url) > DASHBOARD_MAX_URL)
        return send_error(c, 414, "URL too long");
    return route(d, c, url);
}

/* ---- life cycle ---- */

static int check_databases(dashboard *d, const char *const *paths, int n, tl_err *err)
{
    if (n < 1)
        return tl_fail(err, TL_EINPUT, "no study database given");
    if (n > DASHBOARD_MAX_DBS)
        return tl_fail(err, TL_EINPUT, "%d databases: at most %d", n, DASHBOARD_MAX_DBS);
    if (!(d->paths = calloc((size_t)n, sizeof *d->paths)))
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        report_study *rs;
        int rc = report_study_load(&rs, paths[i], NULL, err);
        if (rc)
            return rc;
        report_study_free(rs);
        if (!(d->paths[d->n++] = strdup(paths[i])))
            return tl_fail(err, TL_ERUNTIME, "out of memory");
    }
    return 0;
}

int dashboard_start(dashboard **out, const char *const *paths, int n, const dashboard_opts *o,
                    tl_err *err)
{
    *out = NULL;
    dashboard *d = calloc(1, sizeof *d);
    if (!d)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    d->fd = -1;
    atomic_init(&d->waiting, 0);
    const char *host = o && o->host ? o->host : "127.0.0.1";
    int port = o ? o->port : 0;
    int rc = check_databases(d, paths, n, err);
    if (!rc && (port < 0 || port > 65535))
        rc = tl_fail(err, TL_EINPUT, "port %d: must be 0 to 65535", port);
    if (!rc && (d->fd = bind_socket(host, port, &d->port, err)) < 0)
        rc = err->code;
    if (!rc) {
        d->mhd = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
            0, NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)d->fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)DASHBOARD_MAX_CONN,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)DASHBOARD_MAX_PER_IP,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
        if (!d->mhd)
            rc = tl_fail(err, TL_ERUNTIME, "%s:%d: the HTTP server did not start", host, d->port);
    }
    if (rc) {
        dashboard_stop(d);
        return rc;
    }
    *out = d;
    return 0;
}

int dashboard_port(const dashboard *d)
{
    return d->port;
}

void dashboard_stop(dashboard *d)
{
    if (!d)
        return;
    d->stop = 1;
    if (d->mhd)
        MHD_stop_daemon(d->mhd); /* closes the listening socket too */
    else if (d->fd >= 0)
        close(d->fd);
    for (int i = 0; i < d->n; i++)
        free(d->paths[i]);
    free(d->paths);
    free(d);
}
