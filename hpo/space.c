/* hpo/space.c: search spaces: parsing parameter expressions, the unit-cube
 * mapping samplers use, value text for display and `--set`, conditional
 * activity, grid points.
 *
 * Does: the grammar documented in space.h, with errors that name the
 * parameter.  Does not: know where the expression came from (cli/ prefixes
 * "file:line"), sample anything, or keep any global state.
 */
#include "hpo/space.h"
#include "util/fmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest integer bound accepted: every integer up to 2^53 is a double. */
#define INT_BOUND_MAX 9007199254740992.0

const char *param_kind_str(int kind)
{
    switch (kind) {
    case PARAM_FLOAT: return "float";
    case PARAM_INT: return "int";
    case PARAM_CAT: return "categorical";
    default: return "?";
    }
}

void space_init(space *sp)
{
    memset(sp, 0, sizeof *sp);
}

static void param_free(param *p)
{
    for (int k = 0; k < p->ncat; k++) {
        free(p->cats[k]);
        p->cats[k] = NULL;
    }
    p->ncat = 0;
}

void space_free(space *sp)
{
    if (!sp)
        return;
    for (int i = 0; i < sp->n; i++)
        param_free(&sp->p[i]);
    sp->n = 0;
}

static int param_copy(param *dst, const param *src)
{
    *dst = *src;
    for (int k = 0; k < src->ncat; k++)
        dst->cats[k] = NULL;
    for (int k = 0; k < src->ncat; k++) {
        dst->cats[k] = strdup(src->cats[k]);
        if (!dst->cats[k]) {
            param_free(dst);
            return -1;
        }
    }
    return 0;
}

int space_copy(space *dst, const space *src, tl_err *err)
{
    space_init(dst);
    for (int i = 0; i < src->n; i++) {
        if (param_copy(&dst->p[i], &src->p[i])) {
            space_free(dst);
            return tl_fail(err, TL_ERUNTIME, "space: out of memory");
        }
        dst->n = i + 1;
    }
    return 0;
}

int space_find(const space *sp, const char *name)
{
    for (int i = 0; i < sp->n; i++)
        if (strcmp(sp->p[i].name, name) == 0)
            return i;
    return -1;
}


/* ---- Parsing ---- */

typedef struct cursor {
    const char *s;
    const char *name;   /* parameter name, for messages */
    tl_err *err;
} cursor;

static void skip_ws(cursor *c)
{
    while (isspace((unsigned char)*c->s))
        c->s++;
}

/* Reads [A-Za-z_][A-Za-z0-9_]* into buf; returns its length (0: none). */
static size_t read_ident(cursor *c, char *buf, size_t n)
{
    size_t len = 0;
    skip_ws(c);
    if (!isalpha((unsigned char)*c->s) && *c->s != '_') {
        buf[0] = 0;
        return 0;
    }
    while (isalnum((unsigned char)*c->s) || *c->s == '_') {
        if (len + 1 < n)
            buf[len++] = *c->s;
        c->s++;
    }
    buf[len] = 0;
    return len;
}

/* Reads one list item: a "quoted string" or the text up to ',' or ')'
 * (trimmed).  Stops before the delimiter.  Returns 0 or TL_EINPUT. */
static int read_item(cursor *c, char *buf, size_t n)
{
    size_t len = 0;
    skip_ws(c);
    if (*c->s == '"') {
        c->s++;
        while (*c->s && *c->s != '"') {
            if (len + 1 >= n)
                return tl_fail(c->err, TL_EINPUT, "%s: value too long", c->name);
            buf[len++] = *c->s++;
        }
        if (*c->s != '"')
            return tl_fail(c->err, TL_EINPUT, "%s: unterminated quote", c->name);
        c->s++;
        buf[len] = 0;
        skip_ws(c);
        return 0;
    }
    while (*c->s && *c->s != ',' && *c->s != ')' && *c->s != '(' && *c->s != '"') {
        if (len + 1 >= n)
            return tl_fail(c->err, TL_EINPUT, "%s: value too long", c->name);
        buf[len++] = *c->s++;
    }
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        len--;
    buf[len] = 0;
    if (*c->s == '(' || *c->s == '"')
        return tl_fail(c->err, TL_EINPUT, "%s: unexpected '%c' in a list", c->name, *c->s);
    return 0;
}

/* Reads "( item, item, ... )" into items (each up to 256 chars); returns 0
 * or TL_EINPUT.  *count receives the number of items. */
static int read_list(cursor *c, char (*items)[256], int cap, int *count)
{
    *count = 0;
    skip_ws(c);
    if (*c->s != '(')
        return tl_fail(c->err, TL_EINPUT, "%s: expected '('", c->name);
    c->s++;
    skip_ws(c);
    if (*c->s == ')') {
        c->s++;
        return 0;
    }
    for (;;) {
        if (*count >= cap)
            return tl_fail(c->err, TL_EINPUT, "%s: more than %d values", c->name, cap);
        if (read_item(c, items[*count], 256))
            return c->err ? c->err->code : TL_EINPUT;
        (*count)++;
        if (*c->s == ',') {
            c->s++;
            continue;
        }
        if (*c->s == ')') {
            c->s++;
            return 0;
        }
        return tl_fail(c->err, TL_EINPUT, "%s: expected ',' or ')'%s", c->name,
                       *c->s ? "" : " before the end");
    }
}

/* Parses a whole number text; 0 when it is a finite number. */
static int parse_num(const char *t, double *v)
{
    char *end;
    if (!*t)
        return -1;
    errno = 0;
    *v = strtod(t, &end);
    if (end == t || *end || errno == ERANGE || !isfinite(*v))
        return -1;
    return 0;
}

/* Parses "N" as a grid point count (1..1000000). */
static int parse_grid(cursor *c, const char *t, int *g)
{
    char *end;
    errno = 0;
    long v = strtol(t, &end, 10);
    if (end == t || *end || errno || v < 1 || v > 1000000)
        return tl_fail(c->err, TL_EINPUT, "%s: grid=%s: expected a point count >= 1", c->name, t);
    *g = (int)v;
    return 0;
}

/* If item is "grid=N", parses N into *g and returns 1; 0 otherwise; -1 on error. */
static int grid_item(cursor *c, const char *item, int *g)
{
    if (strncmp(item, "grid", 4) != 0)
        return 0;
    const char *q = item + 4;
    while (isspace((unsigned char)*q))
        q++;
    if (*q != '=')
        return 0;
    q++;
    while (isspace((unsigned char)*q))
        q++;
    return parse_grid(c, q, g) ? -1 : 1;
}

/* Index of the choice of p matching text (same text, or the same number
 * when both are numbers), or -1. */
static int cat_index(const param *p, const char *text)
{
    double v;
    int isnum = parse_num(text, &v) == 0;
    for (int k = 0; k < p->ncat; k++) {
        if (strcmp(p->cats[k], text) == 0)
            return k;
        if (isnum && !isnan(p->catnum[k]) && p->catnum[k] == v)
            return k;
    }
    return -1;
}

static int parse_range(cursor *c, param *p, const char *kind, char (*items)[256], int nitems)
{
    int nb = nitems;
    if (nb == 3) {
        int r = grid_item(c, items[2], &p->grid_points);
        if (r < 0)
            return TL_EINPUT;
        if (r == 1)
            nb = 2;
    }
    if (nb != 2)
        return tl_fail(c->err, TL_EINPUT, "%s: %s takes two bounds (low, high), got %d values",
                       c->name, kind, nitems);
    if (parse_num(items[0], &p->low))
        return tl_fail(c->err, TL_EINPUT, "%s: %s: low bound '%s' is not a number", c->name, kind, items[0]);
    if (parse_num(items[1], &p->high))
        return tl_fail(c->err, TL_EINPUT, "%s: %s: high bound '%s' is not a number", c->name, kind, items[1]);
    if (p->log && !(p->low > 0))
        return tl_fail(c->err, TL_EINPUT, "%s: %s needs 0 < low < high, got low = %s", c->name, kind, items[0]);
    if (!(p->low < p->high))
        return tl_fail(c->err, TL_EINPUT, "%s: %s needs low < high, got (%s, %s)", c->name, kind,
                       items[0], items[1]);
    if (p->kind == PARAM_INT) {
        if (p->low != floor(p->low) || p->high != floor(p->high))
            return tl_fail(c->err, TL_EINPUT, "%s: %s needs integer bounds, got (%s, %s)", c->name,
                           kind, items[0], items[1]);
        if (fabs(p->low) > INT_BOUND_MAX || fabs(p->high) > INT_BOUND_MAX)
            return tl_fail(c->err, TL_EINPUT, "%s: %s bounds must lie within +-2^53", c->name, kind);
    }
    return 0;
}

static int parse_choice(cursor *c, param *p, char (*items)[256], int nitems)
{
    if (nitems == 0)
        return tl_fail(c->err, TL_EINPUT, "%s: choice needs at least one value", c->name);
    for (int k = 0; k < nitems; k++) {
        if (!items[k][0])
            return tl_fail(c->err, TL_EINPUT, "%s: choice: value %d is empty", c->name, k + 1);
        if (strcmp(items[k], "-") == 0)
            return tl_fail(c->err, TL_EINPUT, "%s: choice: '-' is reserved for inactive values",
                           c->name);
        if (cat_index(p, items[k]) >= 0)
            return tl_fail(c->err, TL_EINPUT, "%s: choice: duplicate value '%s'", c->name, items[k]);
        p->cats[k] = strdup(items[k]);
        if (!p->cats[k])
            return tl_fail(c->err, TL_ERUNTIME, "%s: out of memory", c->name);
        double v;
        p->catnum[k] = parse_num(items[k], &v) == 0 ? v : NAN;
        p->ncat = k + 1;
    }
    return 0;
}

static int parse_cond(cursor *c, const space *sp, param *p)
{
    char pname[128];
    size_t len = 0;
    skip_ws(c);
    while (*c->s && !isspace((unsigned char)*c->s) && *c->s != '=' && *c->s != '(') {
        if (len + 1 < sizeof pname)
            pname[len++] = *c->s;
        c->s++;
    }
    pname[len] = 0;
    if (!len)
        return tl_fail(c->err, TL_EINPUT, "%s: 'if' needs a parameter name", c->name);
    int par = space_find(sp, pname);
    if (par < 0)
        return tl_fail(c->err, TL_EINPUT,
                       "%s: condition on unknown parameter '%s' (declare it before this one)",
                       c->name, pname);
    const param *pp = &sp->p[par];
    if (pp->kind != PARAM_CAT)
        return tl_fail(c->err, TL_EINPUT, "%s: condition parent '%s' must be a choice, not %s",
                       c->name, pname, param_kind_str(pp->kind));
    char items[PARAM_MAX_CATS][256];
    int nitems = 0;
    skip_ws(c);
    if (c->s[0] == '=' && c->s[1] == '=') {
        c->s += 2;
        if (read_item(c, items[0], sizeof items[0]))
            return TL_EINPUT;
        nitems = 1;
    } else {
        char kw[8];
        if (read_ident(c, kw, sizeof kw) == 0 || strcmp(kw, "in") != 0)
            return tl_fail(c->err, TL_EINPUT, "%s: condition: expected '==' or 'in' after '%s'",
                           c->name, pname);
        if (read_list(c, items, PARAM_MAX_CATS, &nitems))
            return TL_EINPUT;
        if (nitems == 0)
            return tl_fail(c->err, TL_EINPUT, "%s: condition: empty value list", c->name);
    }
    p->parent = par;
    p->ncond = 0;
    for (int k = 0; k < nitems; k++) {
        int idx = cat_index(pp, items[k]);
        if (idx < 0)
            return tl_fail(c->err, TL_EINPUT, "%s: condition: '%s' is not a choice of '%s'",
                           c->name, items[k], pname);
        int dup = 0;
        for (int j = 0; j < p->ncond; j++)
            dup |= p->cond[j] == idx;
        if (!dup)
            p->cond[p->ncond++] = idx;
    }
    return 0;
}

int space_add(space *sp, const char *name, const char *expr, tl_err *err)
{
    if (!name || !*name)
        return tl_fail(err, TL_EINPUT, "space: a parameter needs a name");
    if (strlen(name) >= sizeof sp->p[0].name)
        return tl_fail(err, TL_EINPUT, "%s: name longer than %zu characters", name,
                       sizeof sp->p[0].name - 1);
    if (space_find(sp, name) >= 0)
        return tl_fail(err, TL_EINPUT, "%s: duplicate parameter", name);
    if (sp->n >= SPACE_MAX_PARAMS)
        return tl_fail(err, TL_EINPUT, "%s: more than %d parameters", name, SPACE_MAX_PARAMS);
    if (!expr)
        return tl_fail(err, TL_EINPUT, "%s: empty expression", name);

    param *p = &sp->p[sp->n];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->parent = -1;
    cursor c = { expr, name, err };
    char kind[32];
    int rc = TL_EINPUT;
    char (*items)[256] = malloc(PARAM_MAX_CATS * sizeof *items);
    if (!items)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", name);

    if (read_ident(&c, kind, sizeof kind) == 0) {
        tl_fail(err, TL_EINPUT, "%s: expected uniform, loguniform, int, logint or choice", name);
        goto fail;
    }
    int nitems;
    if (strcmp(kind, "uniform") == 0 || strcmp(kind, "loguniform") == 0) {
        p->kind = PARAM_FLOAT;
        p->log = kind[0] == 'l';
    } else if (strcmp(kind, "int") == 0 || strcmp(kind, "logint") == 0) {
        p->kind = PARAM_INT;
        p->log = kind[0] == 'l';
    } else if (strcmp(kind, "choice") == 0) {
        p->kind = PARAM_CAT;
    } else {
        tl_fail(err, TL_EINPUT,
                "%s: unknown distribution '%s' (expected uniform, loguniform, int, logint or choice)",
                name, kind);
        goto fail;
    }
    if (read_list(&c, items, PARAM_MAX_CATS, &nitems))
        goto fail;
    if (p->kind == PARAM_CAT) {
        if ((rc = parse_choice(&c, p, items, nitems)))
            goto fail;
    } else if ((rc = parse_range(&c, p, kind, items, nitems))) {
        goto fail;
    }
    rc = TL_EINPUT;
    for (;;) {
        skip_ws(&c);
        if (!*c.s)
            break;
        char word[16];
        const char *at = c.s;
        if (read_ident(&c, word, sizeof word) == 0) {
            tl_fail(err, TL_EINPUT, "%s: unexpected text '%s'", name, at);
            goto fail;
        }
        if (strcmp(word, "grid") == 0) {
            skip_ws(&c);
            if (*c.s != '=') {
                tl_fail(err, TL_EINPUT, "%s: expected grid=N", name);
                goto fail;
            }
            c.s++;
            skip_ws(&c);
            char num[32];
            size_t len = 0;
            while (*c.s && !isspace((unsigned char)*c.s) && len + 1 < sizeof num)
                num[len++] = *c.s++;
            num[len] = 0;
            if (parse_grid(&c, num, &p->grid_points))
                goto fail;
            if (p->kind == PARAM_CAT) {
                tl_fail(err, TL_EINPUT, "%s: grid=N applies to ranges, not to choice", name);
                goto fail;
            }
        } else if (strcmp(word, "if") == 0) {
            if (p->parent >= 0) {
                tl_fail(err, TL_EINPUT, "%s: only one condition is allowed", name);
                goto fail;
            }
            if ((rc = parse_cond(&c, sp, p)))
                goto fail;
            rc = TL_EINPUT;
        } else {
            tl_fail(err, TL_EINPUT, "%s: unexpected '%s' (expected grid=N or if ...)", name, word);
            goto fail;
        }
    }
    free(items);
    sp->n++;
    return 0;
fail:
    free(items);
    param_free(p);
    memset(p, 0, sizeof *p);
    return err && err->code ? err->code : rc;
}

/* ---- Canonical text ---- */

static int needs_quotes(const char *t)
{
    if (!*t)
        return 1;
    if (isspace((unsigned char)t[0]) || isspace((unsigned char)t[strlen(t) - 1]))
        return 1;
    return strpbrk(t, ",()") != NULL;
}

static size_t put_choice(char *buf, size_t n, size_t at, const char *t)
{
    int q = needs_quotes(t);
    int w = snprintf(at < n ? buf + at : NULL, at < n ? n - at : 0, q ? "\"%s\"" : "%s", t);
    return at + (size_t)(w > 0 ? w : 0);
}

/* snprintf that appends at position at, tolerating truncation; returns the new position. */
static size_t put(char *buf, size_t n, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t n, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(at < n ? buf + at : NULL, at < n ? n - at : 0, fmt, ap);
    va_end(ap);
    return at + (size_t)(w > 0 ? w : 0);
}

int space_describe(const space *sp, int i, int with_grid, char *buf, size_t n)
{
    const param *p = &sp->p[i];
    size_t at = 0;
    char a[40], b[40];
    if (n)
        buf[0] = 0;
    if (p->kind == PARAM_CAT) {
        at = put(buf, n, at, "choice(");
        for (int k = 0; k < p->ncat; k++) {
            if (k)
                at = put(buf, n, at, ", ");
            at = put_choice(buf, n, at, p->cats[k]);
        }
        at = put(buf, n, at, ")");
    } else {
        tl_fmt_shortest(p->low, a, sizeof a);
        tl_fmt_shortest(p->high, b, sizeof b);
        const char *kind = p->kind == PARAM_FLOAT ? (p->log ? "loguniform" : "uniform")
                                                  : (p->log ? "logint" : "int");
        at = put(buf, n, at, "%s(%s, %s)", kind, a, b);
        if (with_grid && p->grid_points > 0)
            at = put(buf, n, at, " grid=%d", p->grid_points);
    }
    if (p->parent >= 0) {
        const param *pp = &sp->p[p->parent];
        at = put(buf, n, at, " if %s %s", pp->name, p->ncond == 1 ? "== " : "in (");
        for (int k = 0; k < p->ncond; k++) {
            if (k)
                at = put(buf, n, at, ", ");
            at = put_choice(buf, n, at, pp->cats[p->cond[k]]);
        }
        if (p->ncond != 1)
            at = put(buf, n, at, ")");
    }
    return (int)at;
}

int space_compare(const space *stored, const space *now, tl_err *err)
{
    char a[1024], b[1024];
    for (int i = 0; i < stored->n; i++)
        if (space_find(now, stored->p[i].name) < 0)
            return tl_fail(err, TL_EINPUT, "%s: in the stored space but not in this one",
                           stored->p[i].name);
    for (int i = 0; i < now->n; i++)
        if (space_find(stored, now->p[i].name) < 0)
            return tl_fail(err, TL_EINPUT, "%s: new parameter, not in the stored space",
                           now->p[i].name);
    for (int i = 0; i < now->n; i++) {
        if (strcmp(stored->p[i].name, now->p[i].name) != 0)
            return tl_fail(err, TL_EINPUT, "parameter %d: stored '%s', now '%s' (order differs)",
                           i + 1, stored->p[i].name, now->p[i].name);
        space_describe(stored, i, 0, a, sizeof a);
        space_describe(now, i, 0, b, sizeof b);
        if (strcmp(a, b) != 0)
            return tl_fail(err, TL_EINPUT, "%s: stored %s, now %s", now->p[i].name, a, b);
    }
    return 0;
}

/* ---- Unit cube ---- */

static double clamp01(double u)
{
    if (!(u > 0))
        return 0;
    return u < 1 ? u : 1;
}

double space_from_unit(const space *sp, int i, double u)
{
    const param *p = &sp->p[i];
    u = clamp01(u);
    if (p->kind == PARAM_CAT) {
        int k = (int)floor(u * p->ncat);
        return k < p->ncat ? k : p->ncat - 1;
    }
    if (p->kind == PARAM_FLOAT) {
        double v;
        if (p->log) {
            double la = log(p->low), lb = log(p->high);
            v = exp(la + u * (lb - la));
        } else {
            v = p->low + u * (p->high - p->low);
        }
        if (u <= 0)
            v = p->low;
        if (u >= 1)
            v = p->high;
        return v < p->low ? p->low : v > p->high ? p->high : v;
    }
    double v;
    if (p->log) {
        double la = log(p->low - 0.5), lb = log(p->high + 0.5);
        v = round(exp(la + u * (lb - la)));
    } else {
        double nb = p->high - p->low + 1;
        double k = floor(u * nb);
        v = p->low + (k < nb ? k : nb - 1);
    }
    return v < p->low ? p->low : v > p->high ? p->high : v;
}

double space_to_unit(const space *sp, int i, double v)
{
    const param *p = &sp->p[i];
    if (isnan(v))
        return NAN;
    if (p->kind == PARAM_CAT)
        return (floor(v) + 0.5) / p->ncat;
    if (p->kind == PARAM_FLOAT) {
        if (p->log)
            return clamp01((log(v) - log(p->low)) / (log(p->high) - log(p->low)));
        return clamp01((v - p->low) / (p->high - p->low));
    }
    v = round(v);
    if (p->log) {
        double la = log(p->low - 0.5), lb = log(p->high + 0.5);
        double mid = 0.5 * (log(v - 0.5) + log(v + 0.5));
        return clamp01((mid - la) / (lb - la));
    }
    return clamp01((v - p->low + 0.5) / (p->high - p->low + 1));
}

int space_is_active(const space *sp, const double *values, int i)
{
    const param *p = &sp->p[i];
    while (p->parent >= 0) {
        double pv = values[p->parent];
        if (isnan(pv))
            return 0;
        int hit = 0;
        for (int k = 0; k < p->ncond; k++)
            hit |= (int)pv == p->cond[k];
        if (!hit)
            return 0;
        p = &sp->p[p->parent];
    }
    return 1;
}

void space_apply_conditions(const space *sp, double *values)
{
    for (int i = 0; i < sp->n; i++)
        if (sp->p[i].parent >= 0 && !space_is_active(sp, values, i))
            values[i] = NAN;
}

void space_from_unit_vec(const space *sp, const double *u, double *values)
{
    for (int i = 0; i < sp->n; i++)
        values[i] = space_from_unit(sp, i, u[i]);
    space_apply_conditions(sp, values);
}

int space_check_values(const space *sp, const double *values, tl_err *err)
{
    for (int i = 0; i < sp->n; i++) {
        const param *p = &sp->p[i];
        double v = values[i];
        if (!space_is_active(sp, values, i)) {
            if (!isnan(v))
                return tl_fail(err, TL_EINPUT, "%s: inactive but has a value (%g)", p->name, v);
            continue;
        }
        if (!isfinite(v))
            return tl_fail(err, TL_EINPUT, "%s: active but has no value", p->name);
        if (p->kind == PARAM_CAT) {
            if (v != floor(v) || v < 0 || v >= p->ncat)
                return tl_fail(err, TL_EINPUT, "%s: choice index %g out of range [0, %d)", p->name,
                               v, p->ncat);
            continue;
        }
        if (p->kind == PARAM_INT && v != floor(v))
            return tl_fail(err, TL_EINPUT, "%s: %g is not an integer", p->name, v);
        if (v < p->low || v > p->high)
            return tl_fail(err, TL_EINPUT, "%s: %g is outside [%g, %g]", p->name, v, p->low, p->high);
    }
    return 0;
}

int space_format_value(const space *sp, int i, double v, char *buf, size_t n)
{
    const param *p = &sp->p[i];
    if (isnan(v))
        return snprintf(buf, n, "-");
    if (p->kind == PARAM_CAT) {
        int k = (int)v;
        if (k < 0 || k >= p->ncat)
            return snprintf(buf, n, "?");
        return snprintf(buf, n, "%s", p->cats[k]);
    }
    if (p->kind == PARAM_INT)
        return snprintf(buf, n, "%.0f", v);
    char tmp[40];
    tl_fmt_shortest(v, tmp, sizeof tmp);
    return snprintf(buf, n, "%s", tmp);
}

int space_value_parse(const space *sp, int i, const char *text, double *v, tl_err *err)
{
    const param *p = &sp->p[i];
    char t[256];
    snprintf(t, sizeof t, "%s", text ? text : "");
    /* trim */
    char *s = t;
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = 0;
    if (p->kind == PARAM_CAT) {
        int k = cat_index(p, s);
        if (k >= 0) {
            *v = k;
            return 0;
        }
    }
    if (strcmp(s, "-") == 0) {
        if (p->parent < 0)
            return tl_fail(err, TL_EINPUT, "%s: '-' (inactive) given for an unconditional parameter",
                           p->name);
        *v = NAN;
        return 0;
    }
    if (p->kind == PARAM_CAT) {
        char choices[1024];
        size_t at = 0;
        for (int k = 0; k < p->ncat; k++)
            at = put(choices, sizeof choices, at, "%s%s", k ? ", " : "", p->cats[k]);
        return tl_fail(err, TL_EINPUT, "%s: '%s' is not one of (%s)", p->name, s, choices);
    }
    double x;
    if (parse_num(s, &x))
        return tl_fail(err, TL_EINPUT, "%s: expected a number, got '%s'", p->name, s);
    if (p->kind == PARAM_INT && x != floor(x))
        return tl_fail(err, TL_EINPUT, "%s: expected an integer, got '%s'", p->name, s);
    if (x < p->low || x > p->high)
        return tl_fail(err, TL_EINPUT, "%s: %s is outside [%g, %g]", p->name, s, p->low, p->high);
    *v = x;
    return 0;
}

int space_grid_values(const space *sp, int i, int default_points, double *out, int cap)
{
    const param *p = &sp->p[i];
    int count = 0;
#define EMIT(x)                                                                \
    do {                                                                       \
        if (out && count < cap)                                                \
            out[count] = (x);                                                  \
        count++;                                                               \
    } while (0)
    if (p->kind == PARAM_CAT) {
        for (int k = 0; k < p->ncat; k++)
            EMIT(k);
        return count;
    }
    int g = p->grid_points > 0 ? p->grid_points : default_points;
    if (g < 1)
        g = 1;
    if (p->kind == PARAM_INT && p->high - p->low + 1 <= g) {
        for (double v = p->low; v <= p->high; v++)
            EMIT(v);
        return count;
    }
    if (g == 1) {
        EMIT(space_from_unit(sp, i, 0.5));
        return count;
    }
    double prev = NAN;
    for (int k = 0; k < g; k++) {
        double t = (double)k / (g - 1), v;
        if (p->log)
            v = exp(log(p->low) + t * (log(p->high) - log(p->low)));
        else
            v = p->low + t * (p->high - p->low);
        if (k == 0)
            v = p->low;
        if (k == g - 1)
            v = p->high;
        if (p->kind == PARAM_INT)
            v = round(v);
        v = v < p->low ? p->low : v > p->high ? p->high : v;
        if (v == prev) /* ints: duplicates removed (counting works without out) */
            continue;
        prev = v;
        EMIT(v);
    }
#undef EMIT
    return count;
}
