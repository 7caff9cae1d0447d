/* util/fmt.h: numbers as text people read back. */
#ifndef TL_UTIL_FMT_H
#define TL_UTIL_FMT_H

#include <stddef.h>

/* The shortest text that reads back to exactly v: the shortest round-trip
 * "%.*g", unless a plain decimal that also reads back exactly is as short
 * ("10", not "1e+01"; "0.25"; "1e-05").  How a space and a config print
 * their numbers.  Cannot fail; buf always terminated (n > 0). */
void tl_fmt_shortest(double v, char *buf, size_t n);
#endif
