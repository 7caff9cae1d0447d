/* cli/cmd_dashboard.c: `tunelab dashboard DB [DB...] [--port N] [--host H]`:
 * parses, starts the live dashboard (report/dashboard.h), prints its
 * address, and serves until SIGINT or SIGTERM.
 * Does not: read the databases itself, serve anything, write anything.
 * Exit status: 0 after a signal; 2 for usage errors, a missing or foreign
 * database, a port in use or a host that cannot be bound; 1 otherwise.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "report/dashboard.h"

static const char *HELP =
    "usage: tunelab dashboard DB [DB...] [--port N] [--host ADDR]\n\n"
    "Serves a live dashboard of the studies in the databases DB (read-only,\n"
    "also while `tunelab run` writes them): the studies, the optimization\n"
    "history, parallel coordinates, slices, learning curves with the\n"
    "schedulers' decisions, Hyperband rungs, PBT lineage, the GP of bayes\n"
    "studies, the Pareto front of NAS studies, and each trial's details.\n"
    "Open the printed address in a browser; Ctrl-C stops the server.\n\n"
    "options:\n"
    "  --port N         TCP port (default 8080; 0: any free port)\n"
    "  --host ADDR      address to listen on (default 127.0.0.1, this machine\n"
    "                   only; 0.0.0.0 shows the studies to the whole network)\n"
    "  -h, --help       this help\n";

/* Parses argv: the databases into dbs (room for argc), the options.
 * Returns 0, 1 (help printed) or 2 (usage error printed). */
static int parse(int argc, char **argv, const char **dbs, int *n, dashboard_opts *o)
{
    *n = 0;
    o->host = "127.0.0.1";
    o->port = 8080;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(HELP, stdout);
            return 1;
        }
        if (!strcmp(a, "--port") || !strcmp(a, "--host")) {
            if (i + 1 >= argc)
                return term_errorf(2, "dashboard: %s needs a value; see `tunelab dashboard --help`", a);
            v = argv[++i];
        } else if (!strncmp(a, "--port=", 7) || !strncmp(a, "--host=", 7)) {
            v = a + 7;
        } else if (a[0] == '-' && a[1]) {
            return term_errorf(2, "dashboard: unknown option '%s'; see `tunelab dashboard --help`", a);
        } else {
            dbs[(*n)++] = a;
            continue;
        }
        if (!strncmp(a, "--port", 6)) {
            char *end;
            long p = strtol(v, &end, 10);
            if (!*v || *end || p < 0 || p > 65535)
                return term_errorf(2, "dashboard: --port %s: needs a number from 0 to 65535", v);
            o->port = (int)p;
        } else if (!*v) {
            return term_errorf(2, "dashboard: --host needs an address");
        } else {
            o->host = v;
        }
    }
    if (!*n)
        return term_errorf(2, "dashboard: needs a study database DB; see `tunelab dashboard --help`");
    return 0;
}

int cmd_dashboard(int argc, char **argv)
{
    const char **dbs = malloc(sizeof *dbs * (size_t)(argc + 1));
    if (!dbs)
        return term_errorf(1, "out of memory");
    int n;
    dashboard_opts o;
    int rc = parse(argc, argv, dbs, &n, &o);
    if (rc) {
        free(dbs);
        return rc == 1 ? 0 : 2;
    }
    /* Block the stop signals before the server's threads start, so they
     * inherit the mask and sigwait below receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    dashboard *d;
    tl_err err = {0};
    rc = dashboard_start(&d, dbs, n, &o, &err);
    free(dbs);
    if (rc)
        return term_error(&err, err.code == TL_EINPUT && strstr(err.msg, "no such file")
                                    ? "a study database is what `tunelab run` writes (default runs/<name>.db)"
                                    : NULL);
    const char *h = o.host;
    int v6 = strchr(h, ':') != NULL;
    printf("tunelab dashboard: http://%s%s%s:%d/ (%d %s; Ctrl-C stops)\n", v6 ? "[" : "", h, v6 ? "]" : "",
           dashboard_port(d), n, n == 1 ? "study" : "studies");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    dashboard_stop(d);
    return 0;
}
