/* cli/cli.h: the subcommands of the `tunelab` program and what they share. */
#ifndef TL_CLI_H
#define TL_CLI_H

#include "util/version.h"

/* Each command takes the arguments after `tunelab` (argv[0] is the
 * command's name), parses them, calls a module (tune/, report/), prints
 * its results on stdout and its errors on stderr ("tunelab: error: ...")
 * and returns the exit status: 0; 2 for usage, config and input errors; 1
 * for runtime failures (and a diverged `train`).  `--help` prints the
 * command's options and returns 0. */
int cmd_train(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_dashboard(int argc, char **argv);
int cmd_importance(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_lr_find(int argc, char **argv);
int cmd_pbt_replay(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
