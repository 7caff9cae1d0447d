/* util/shell.h: commands printed for a person to paste into a shell (the
 * `retrain:` line of a trial): the program's name and quoted words. */
#ifndef TL_UTIL_SHELL_H
#define TL_UTIL_SHELL_H

#include <stddef.h>

/* How a shell runs this program: "tunelab" when this process is the
 * tunelab binary and PATH finds this very file under that name, else the
 * binary's absolute path (/proc/self/exe: `./tunelab` run from a checkout
 * prints /path/to/checkout/tunelab, runnable from any folder); "tunelab"
 * in any other program (a test, an example linking the library).  Reads
 * only the process's environment; cannot fail; buf always terminated
 * (n > 0). */
void tl_program_name(char *buf, size_t n);

/* Appends s at buf + at, single-quoted for sh unless it is made of
 * characters a shell leaves alone.  Returns the new length (which may
 * exceed n - 1: then buf is truncated but terminated, snprintf style). */
size_t tl_shell_append(char *buf, size_t n, size_t at, const char *s);

/* Appends s as it is (words already quoted, " --set "); returns the new
 * length, as tl_shell_append. */
size_t tl_text_append(char *buf, size_t n, size_t at, const char *s);

/* 1 when s needs no quoting for sh (letters, digits and ._-+/:=,@%). */
int tl_shell_plain(const char *s);
#endif
