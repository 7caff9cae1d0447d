/* cli/args.h: the options shared by the config-driven commands.
 *   CONFIG [--set key=value ...] [--json] [--workers N] [--resume CKPT]
 *   [--plot FILE] [-o DIR] [--quiet]
 * Each command lists the options it accepts; any other is a usage error. */
#ifndef TL_CLI_ARGS_H
#define TL_CLI_ARGS_H

#include "tune/config.h"

enum {
    OPT_SET = 1 << 0,
    OPT_JSON = 1 << 1,
    OPT_WORKERS = 1 << 2,
    OPT_RESUME = 1 << 3,
    OPT_PLOT = 1 << 4,
    OPT_OUT = 1 << 5,
    OPT_QUIET = 1 << 6,
    OPT_CSV = 1 << 7,
    OPT_CONTINUE_CHANGED = 1 << 8,
    OPT_VERBOSE = 1 << 9,
};

typedef struct args {
    const char *positional;   /* CONFIG or DB */
    int json, csv, quiet;
    int verbose;              /* --verbose: the full resolved configuration in the header */
    int workers;              /* 0: from the config */
    int continue_changed;     /* --continue-changed: run a study whose definition changed */
    const char *resume;
    const char *plot;
    const char *out;
    int nset;
    char **set;               /* points into argv */
} args;

/* Parses argv (argv[0] is the command name) accepting the options in
 * `allowed`.  Returns 0, 1 after printing help (exit 0), or 2 after printing
 * a usage error. `help` is the command's help text. */
int args_parse(args *a, int argc, char **argv, unsigned allowed, const char *help);

/* Frees what args_parse allocated; cannot fail. */
void args_free(args *a);

/* Loads the positional config file (defaults only without one), applies
 * --set overrides and --workers, then config_resolve (the defaults that
 * depend on other keys, and the validation).  Returns 0 or a tl_code with
 * err naming the file, line and key. */
int args_load_config(const args *a, config *c, tl_err *err);
#endif
