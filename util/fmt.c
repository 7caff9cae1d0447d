#include "util/fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_fmt_shortest(double v, char *buf, size_t n)
{
    char g[64] = "", f[64] = "";
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(g, sizeof g, "%.*g", prec, v);
        if (strtod(g, NULL) == v)
            break;
    }
    for (int dec = 0; dec <= 20 && isfinite(v) && fabs(v) < 1e17; dec++) {
        snprintf(f, sizeof f, "%.*f", dec, v);
        if (strtod(f, NULL) == v)
            break;
        f[0] = 0;
    }
    snprintf(buf, n, "%s", f[0] && strlen(f) <= strlen(g) ? f : g);
}
