/* report/plot.c: runs gnuplot on a script (report/plot.h).
 *
 * Does: pipe the script to `gnuplot` (its output to stderr: gnuplot's
 * warnings are not the program's stdout) and turn its exit status into a
 * tl_err.  Does not: build scripts or data, check that the figure was
 * written (report_plot does), or print anything itself.
 */
#include "report/plot.h"

#include <stdio.h>
#include <sys/wait.h>

const char *plot_png_terminal(void)
{
    return "set terminal pngcairo size 900,560 noenhanced font 'sans,10'\n";
}

int plot_run(const char *script, tl_err *err)
{
    FILE *p = popen("gnuplot 1>&2", "w");
    if (!p)
        return tl_fail(err, TL_ERUNTIME, "gnuplot: cannot start (is gnuplot-nox installed?)");
    fputs(script, p);
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return tl_fail(err, TL_ERUNTIME, "gnuplot failed (status %d)%s", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                       WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": not installed" : "");
    return 0;
}
