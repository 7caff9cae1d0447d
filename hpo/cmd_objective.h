/* hpo/cmd_objective.h: two ready-made objectives.
 *
 * Command objective: runs a user program through /bin/sh for each trial.
 *   - In the command line, {name} becomes the parameter's value as text
 *     (space_format_value; empty when inactive); {trial}, {budget} and
 *     {seed} become the trial number, the budget to reach and the trial's
 *     seed.  Unknown {words} are left as they are.
 *   - The environment gets each active parameter as NAME=value, the name
 *     uppercased with every character other than a letter or digit turned
 *     into '_' (train.lr -> TRAIN_LR), plus TUNELAB_TRIAL, TUNELAB_BUDGET
 *     and TUNELAB_SEED.
 *   - A stdout line `tunelab-report <step> <value> [<budget>]` is an
 *     intermediate value, forwarded to study_report; a STOP decision kills
 *     the program's process group and the trial is PRUNED; a PAUSE
 *     decision kills it and the trial is PAUSED without a state (a
 *     promotion re-runs the command with the bigger {budget}); EXPLOIT is
 *     treated as continue (a command has no state to copy).
 *   - The value is the last number printed on stdout outside report lines
 *     (words are split at spaces, tabs, '=', ':', ',' and ';', so
 *     "loss=0.25" gives 0.25).
 *   - FAILED with the reason: exit status != 0 (with the tail of stderr),
 *     killed by a signal, timeout (the process group is killed), or no
 *     number on stdout.
 *   The program runs in its own process group with stdin from /dev/null;
 *   posix_spawn is used, so workers in threads can launch it safely.
 *
 * Function objective: evaluates a test function (hpo/benchfn.h) at the
 * trial's values: parameters named x0..x{d-1} when the space has them all,
 * else the first d parameters in order.  No intermediate values.
 */
#ifndef TL_HPO_CMD_OBJECTIVE_H
#define TL_HPO_CMD_OBJECTIVE_H

#include "hpo/objective.h"
#include "hpo/space.h"
#include "util/err.h"

/* Fills *out with a command objective for `command` (copied) and a
 * per-trial timeout in seconds (<= 0: none).  Returns 0 or TL_EINPUT
 * (empty command) / TL_ERUNTIME (memory).  Release with cmd_objective_free. */
int cmd_objective_new(objective *out, const char *command, double timeout_s, tl_err *err);

/* One line of the program's output, as the command objective reads it. */
enum cmd_line_kind { CMD_LINE_NONE, CMD_LINE_VALUE, CMD_LINE_REPORT, CMD_LINE_COUNT };

typedef struct cmd_line {
    int kind;           /* enum cmd_line_kind */
    int step;           /* REPORT: the step (an int; a larger one makes the line NONE) */
    double value;       /* VALUE: the line's last number; REPORT: the reported value */
    double budget;      /* REPORT: the budget used, NAN when the line gives none */
} cmd_line;

/* Parses one NUL-terminated line (no newline; strtok changes it):
 * "tunelab-report STEP VALUE [BUDGET]" is a REPORT, any other line whose
 * words (split at blanks, '=', ':', ',', ';') include a number is a VALUE
 * (its last number).  Fills *out and returns its kind.  Cannot fail. */
int cmd_objective_parse_line(char *line, cmd_line *out);

/* Frees what cmd_objective_new allocated; NULL (or a zeroed objective) is a no-op. */
void cmd_objective_free(objective *o);

/* Fills *out with an objective evaluating test function `name` over space
 * sp (borrowed; must outlive the objective).  Returns 0, or TL_EINPUT for
 * an unknown function (listing the known ones) or a space with fewer than
 * d parameters or a categorical where a coordinate is expected.  Release
 * with function_objective_free. */
int function_objective_new(objective *out, const char *name, const space *sp, tl_err *err);

/* Frees what function_objective_new allocated; NULL is a no-op. */
void function_objective_free(objective *o);

#endif
