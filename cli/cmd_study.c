/* cli/cmd_study.c: show, best, export, report (stubs until the report lands). */
#include "cli/cli.h"
#include "cli/term.h"

int cmd_show(int argc, char **argv) { return term_errorf(2, "show: not built yet"); }
int cmd_best(int argc, char **argv) { return term_errorf(2, "best: not built yet"); }
int cmd_export(int argc, char **argv) { return term_errorf(2, "export: not built yet"); }
int cmd_report(int argc, char **argv) { return term_errorf(2, "report: not built yet"); }
