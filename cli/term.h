/* cli/term.h: terminal output: live progress only on a terminal, plain
 * lines in a pipe, colour only when stderr is a terminal and NO_COLOR is
 * unset.  Errors are printed as `tunelab: error: <where>: <what>`. */
#ifndef TL_CLI_TERM_H
#define TL_CLI_TERM_H

#include <stdio.h>

#include "util/blas_kernels.h"
#include "util/err.h"

typedef struct term {
    int live;     /* stderr is a terminal: progress bars redraw in place */
    int color;    /* ANSI colour allowed */
    int width;    /* columns */
    int drawn;    /* lines of a live block above the cursor's line */
} term;

/* Inspects stderr and the environment.  Cannot fail. */
void term_init(term *t);

/* Draws (or, in a pipe, does nothing for) a one-line progress bar on stderr:
 * "label [#####.....] done/total suffix", cut to the terminal's width.
 * Cannot fail. */
void term_progress(const term *t, const char *label, double done, double total, const char *suffix);

/* Clears the progress line or block (terminal only).  Cannot fail. */
void term_clear(term *t);

/* Draws `text` (lines separated by '\n', each cut to the width) on stderr
 * in place of the previous block or progress line (terminal only).
 * Cannot fail. */
void term_block(term *t, const char *text);

/* Prints "tunelab: error: msg" (and a hint line when hint is not NULL) to
 * stderr and returns the exit status for the error's code (2 for input, 1
 * for runtime). */
int term_error(const tl_err *e, const char *hint);

/* printf-style error with an explicit exit status: prints as term_error
 * and returns status. */
int term_errorf(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "# cpu: <model> (<isa>); OpenBLAS <v> kernels: <family> (<why>)"
 * to stderr and fills *bi (util/blas_kernels.h) for callers that record it. */
void term_blas_header(tl_blas_info *bi);

#endif
