/* report/plot.h: drawing with gnuplot.  A figure is a data file plus a gnuplot
 * script; plot_run pipes the script to `gnuplot` (which must be on PATH:
 * Debian's gnuplot-nox) and reports its failure.  Shared by the report and
 * the CLI's figure-drawing commands (schedule, pbt-replay). */
#ifndef TL_REPORT_PLOT_H
#define TL_REPORT_PLOT_H

#include "util/err.h"

/* Runs gnuplot on `script` (text).  Returns 0, or TL_ERUNTIME with
 * gnuplot's exit status when it fails or is missing. */
int plot_run(const char *script, tl_err *err);

/* The terminal line of the figures' default PNG, 900 x 560 pixels ("set
 * terminal pngcairo ..."): a static string.  Cannot fail. */
const char *plot_png_terminal(void);
#endif
