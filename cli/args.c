#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/term.h"
#include "tune/fit.h"

static int need_value(int i, int argc, char **argv)
{
    if (i + 1 >= argc) {
        term_errorf(2, "%s: needs a value", argv[i]);
        return -1;
    }
    return 0;
}

void args_free(args *a)
{
    if (a) {
        free(a->set);
        a->set = NULL;
        a->nset = 0;
    }
}

int args_parse(args *a, int argc, char **argv, unsigned allowed, const char *help)
{
    memset(a, 0, sizeof *a);
    a->set = calloc((size_t)argc + 1, sizeof *a->set);
    if (!a->set)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            fputs(help, stdout);
            return 1;
        } else if ((allowed & OPT_SET) && (!strcmp(o, "--set") || !strcmp(o, "-s"))) {
            if (need_value(i, argc, argv))
                return 2;
            a->set[a->nset++] = argv[++i];
        } else if ((allowed & OPT_SET) && !strncmp(o, "--set=", 6)) {
            a->set[a->nset++] = argv[i] + 6;
        } else if ((allowed & OPT_JSON) && !strcmp(o, "--json")) {
            a->json = 1;
        } else if ((allowed & OPT_CSV) && !strcmp(o, "--csv")) {
            a->csv = 1;
        } else if ((allowed & OPT_QUIET) && (!strcmp(o, "--quiet") || !strcmp(o, "-q"))) {
            a->quiet = 1;
        } else if ((allowed & OPT_WORKERS) && !strcmp(o, "--workers")) {
            if (need_value(i, argc, argv))
                return 2;
            char *end;
            errno = 0;
            long w = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || w < 1 || w > 1024 || errno) {
                term_errorf(2, "--workers: expected an integer from 1 to 1024, got '%s'", argv[i]);
                return 2;
            }
            a->workers = (int)w;
        } else if ((allowed & OPT_VERBOSE) && !strcmp(o, "--verbose")) {
            a->verbose = 1;
        } else if ((allowed & OPT_CONTINUE_CHANGED) && !strcmp(o, "--continue-changed")) {
            a->continue_changed = 1;
        } else if ((allowed & OPT_RESUME) && !strcmp(o, "--resume")) {
            if (need_value(i, argc, argv))
                return 2;
            a->resume = argv[++i];
        } else if ((allowed & OPT_PLOT) && !strcmp(o, "--plot")) {
            if (need_value(i, argc, argv))
                return 2;
            a->plot = argv[++i];
            tl_err e = {0};
            if (fit_check_output(a->plot, "--plot", &e))
                return term_error(&e, NULL);
        } else if ((allowed & OPT_OUT) && (!strcmp(o, "-o") || !strcmp(o, "--out"))) {
            if (need_value(i, argc, argv))
                return 2;
            a->out = argv[++i];
        } else if (o[0] == '-' && o[1]) {
            term_errorf(2, "%s: unknown option '%s' (see `tunelab %s --help`)", argv[0], o, argv[0]);
            return 2;
        } else if (!a->positional) {
            a->positional = o;
        } else {
            term_errorf(2, "%s: unexpected argument '%s'", argv[0], o);
            return 2;
        }
    }
    return 0;
}

int args_load_config(const args *a, config *c, tl_err *err)
{
    config_defaults(c);
    int rc;
    if (a->positional && (rc = config_load(c, a->positional, err)))
        return rc;
    for (int i = 0; i < a->nset; i++)
        if ((rc = config_set_arg(c, a->set[i], err)))
            return rc;
    if (a->workers)
        c->workers = a->workers;
    return config_resolve(c, a->positional, err);
}
