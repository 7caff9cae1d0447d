/* cli/cli.h: the subcommands of the `tunelab` program and what they share. */
#ifndef TL_CLI_H
#define TL_CLI_H

#include "util/version.h"

int cmd_train(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_lr_find(int argc, char **argv);
int cmd_pbt_replay(int argc, char **argv);

#endif
