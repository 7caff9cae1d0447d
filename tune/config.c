/* tune/config.c: INI parsing with line numbers, --set, typed values and the
 * config dump, over the key table of tune/config_keys.c.
 *
 * libinih does the INI syntax; a line-counting reader gives each handler call
 * its line number.  Values are parsed with strtol/strtod and checked (never
 * atoi); names are validated against the choices listed in the table. */
#include "tune/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tune/metric.h"

#include "tune/config_keys.h"
#include "util/fmt.h"

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i + 1);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end) {
        /* accept integral floats such as "1e4" or "64.0" (grid values) */
        double d;
        if (parse_double(s, &d) == 0 && d == floor(d) && fabs(d) < 9e15) {
            *out = (long)d;
            return 0;
        }
        return -1;
    }
    *out = v;
    return 0;
}

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* ---- storing a value: the one set of checks and messages ----
 *
 * A value reaches a key as text (INI files, --set, defaults: set_key) or as
 * a number (a trial's values: set_number).  Both end in store_int,
 * store_dbl or store_bool, which hold the range checks and their messages;
 * `shown` is how the value reads in a message (the text as given, or the
 * number's shortest round-trip text). */


/* The one out-of-range message: "where: key: V is out of range [MIN, MAX]"
 * ("(MIN, MAX]" when MIN itself is refused), numbers in shortest text. */
static int out_of_range(const keydef *k, double v, const char *where, tl_err *err)
{
    char tv[64], lo[64], hi[64];
    tl_fmt_shortest(v, tv, sizeof tv);
    tl_fmt_shortest(k->min, lo, sizeof lo);
    tl_fmt_shortest(k->max, hi, sizeof hi);
    return tl_fail(err, TL_EINPUT, "%s: %s: %s is out of range %s%s, %s]", where, k->key, tv,
                   k->above_min ? "(" : "[", lo, hi);
}

static int store_dbl(config *c, const keydef *k, double d, const char *where, tl_err *err)
{
    if (d < k->min || d > k->max || (k->above_min && d == k->min))
        return out_of_range(k, d, where, err);
    *(double *)((char *)c + k->off) = d;
    return 0;
}

/* K_INT, K_LONG, K_U64. */
static int store_int(config *c, const keydef *k, long l, const char *where, tl_err *err)
{
    if ((double)l < k->min || (double)l > k->max || (k->above_min && (double)l == k->min))
        return out_of_range(k, (double)l, where, err);
    char *at = (char *)c + k->off;
    if (k->type == K_INT)
        *(int *)at = (int)l;
    else if (k->type == K_LONG)
        *(long *)at = l;
    else
        *(uint64_t *)at = (uint64_t)l;
    return 0;
}

/* b is 1 (true), 0 (false) or -1 (neither). */
static int store_bool(config *c, const keydef *k, int b, const char *shown, const char *where, tl_err *err)
{
    if (b < 0)
        return tl_fail(err, TL_EINPUT, "%s: %s: expected true or false, got '%s'", where, k->key, shown);
    *(int *)((char *)c + k->off) = b;
    return 0;
}

static int bool_word(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off"))
        return 0;
    return -1;
}

static int set_list(config *c, const keydef *k, char *v, const char *where, tl_err *err)
{
    int *arr = (int *)((char *)c + k->off);
    int n = 0;
    long l;
    char *save = NULL;
    for (char *tok = strtok_r(v, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (n == CONFIG_MAX_LAYERS)
            return tl_fail(err, TL_EINPUT, "%s: %s: at most %d widths", where, k->key, CONFIG_MAX_LAYERS);
        if (parse_long(tok, &l) || l < k->min || l > k->max)
            return tl_fail(err, TL_EINPUT, "%s: %s: '%s' is not a valid width", where, k->key, tok);
        arr[n++] = (int)l;
    }
    c->nwidths = n;
    return 0;
}

static int set_key(config *c, const keydef *k, const char *raw, const char *where, tl_err *err)
{
    char v[1100];
    if (strlen(raw) >= sizeof v)
        return tl_fail(err, TL_EINPUT, "%s: %s: value too long", where, k->key);
    strcpy(v, raw);
    trim(v);
    double d;
    long l;
    switch (k->type) {
    case K_DBL:
        if (parse_double(v, &d))
            return tl_fail(err, TL_EINPUT, "%s: %s: expected a number, got '%s'", where, k->key, v);
        return store_dbl(c, k, d, where, err);
    case K_INT:
    case K_LONG:
    case K_U64:
        /* a number key's word (study.workers = auto) stands for its minimum */
        if (k->choices && in_choices(k->choices, v))
            return store_int(c, k, (long)k->min, where, err);
        if (parse_long(v, &l))
            return tl_fail(err, TL_EINPUT, "%s: %s: expected an integer%s%s, got '%s'", where, k->key,
                           k->choices ? " or " : "", k->choices ? k->choices : "", v);
        return store_int(c, k, l, where, err);
    case K_BOOL:
        return store_bool(c, k, bool_word(v), v, where, err);
    case K_STR:
        if (k->choices && !in_choices(k->choices, v)) {
            const char *ch = k->choices[0] == '|' ? k->choices + 1 : k->choices;
            return tl_fail(err, TL_EINPUT, "%s: %s: '%s' is not one of %s", where, k->key, v, ch);
        }
        if (strlen(v) >= k->size)
            return tl_fail(err, TL_EINPUT, "%s: %s: value longer than %zu characters", where, k->key, k->size - 1);
        strcpy((char *)c + k->off, v);
        return 0;
    case K_LIST:
        return set_list(c, k, v, where, err);
    }
    return tl_fail(err, TL_ERUNTIME, "%s: %s: bad key type", where, k->key);
}

static int is_numeric(const keydef *k)
{
    return k->type == K_DBL || k->type == K_INT || k->type == K_LONG || k->type == K_U64 || k->type == K_BOOL;
}

/* A number into key k: the checks of set_key without the text.  An integer
 * key takes an integral v below 9e15 in magnitude (parse_long's rule for
 * "1e4"), a boolean 0 or 1; a text key takes the number's text.  `shown`
 * (NULL: the number's shortest text) is how v reads in messages. */
static int set_number(config *c, const keydef *k, double v, const char *shown, const char *where, tl_err *err)
{
    char txt[64];
    tl_fmt_shortest(v, txt, sizeof txt);
    if (!shown)
        shown = txt;
    switch (k->type) {
    case K_DBL:
        if (!isfinite(v))
            return tl_fail(err, TL_EINPUT, "%s: %s: expected a number, got '%s'", where, k->key, shown);
        return store_dbl(c, k, v, where, err);
    case K_INT:
    case K_LONG:
    case K_U64:
        if (!(v == floor(v) && fabs(v) < 9e15))
            return tl_fail(err, TL_EINPUT, "%s: %s: expected an integer, got '%s'", where, k->key, shown);
        return store_int(c, k, (long)v, where, err);
    case K_BOOL:
        return store_bool(c, k, v == 1 ? 1 : v == 0 ? 0 : -1, shown, where, err);
    default:
        return set_key(c, k, txt, where, err);
    }
}

int config_set_number(config *c, const char *key, double v, const char *where, tl_err *err)
{
    const keydef *k = config_find_key(key);
    if (!k)
        return config_unknown_key(key, where, err);
    return set_number(c, k, v, NULL, where, err);
}

/* Choice `idx` of categorical parameter p into key k: a numeric choice of
 * a numeric key as its number, any other as its text (a numeric choice of
 * a text key keeps the text it was written with). */
static int set_choice(config *c, const keydef *k, const param *p, double idx, const char *where, tl_err *err)
{
    if (!(idx >= 0 && idx < p->ncat && idx == floor(idx)))
        return tl_fail(err, TL_EINPUT, "%s: %s: %g is not the index of one of its %d choices", where, k->key, idx,
                       p->ncat);
    int i = (int)idx;
    if (is_numeric(k) && isfinite(p->catnum[i])) {
        char shown[256];
        snprintf(shown, sizeof shown, "%s", p->cats[i]);
        trim(shown);
        return set_number(c, k, p->catnum[i], shown, where, err);
    }
    return set_key(c, k, p->cats[i], where, err);
}

int config_apply_values(config *c, const space *sp, const double *values, const char *where, tl_err *err)
{
    for (int i = 0; i < sp->n; i++) {
        if (isnan(values[i]))
            continue; /* an inactive conditional parameter */
        const param *p = &sp->p[i];
        const keydef *k = config_find_key(p->name);
        if (!k)
            return config_unknown_key(p->name, where, err);
        /* the value as the user writes it: what messages show, and the
         * value itself only for a key whose type is text */
        char shown[256];
        space_format_value(sp, i, values[i], shown, sizeof shown);
        int rc = p->kind == PARAM_CAT ? set_choice(c, k, p, values[i], where, err)
                 : is_numeric(k)      ? set_number(c, k, values[i], shown, where, err)
                                      : set_key(c, k, shown, where, err);
        if (rc)
            return rc;
    }
    return config_validate(c, err);
}

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        tl_err e;
        int rc = set_key(c, &CONFIG_KEYS[i], CONFIG_KEYS[i].def, "default", &e);
        (void)rc; /* the table's defaults are valid by construction (tested) */
    }
}

int config_set(config *c, const char *key, const char *value, const char *where, tl_err *err)
{
    const keydef *k = config_find_key(key);
    if (!k)
        return config_unknown_key(key, where, err);
    return set_key(c, k, value, where, err);
}

static int add_space_line(config *c, const char *key, const char *expr, const char *where, tl_err *err)
{
    if (!key[0])
        return tl_fail(err, TL_EINPUT, "%s: space: empty parameter name", where);
    for (int i = 0; i < c->nspace; i++)
        if (!strcmp(c->space[i].key, key)) {
            /* a later definition (--set space.x=...) replaces an earlier one */
            snprintf(c->space[i].expr, sizeof c->space[i].expr, "%s", expr);
            snprintf(c->space[i].where, sizeof c->space[i].where, "%s", where);
            return 0;
        }
    if (c->nspace == CONFIG_MAX_SPACE)
        return tl_fail(err, TL_EINPUT, "%s: space: at most %d parameters", where, CONFIG_MAX_SPACE);
    config_space_line *s = &c->space[c->nspace++];
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->expr, sizeof s->expr, "%s", expr);
    snprintf(s->where, sizeof s->where, "%s", where);
    return 0;
}

/* ---- INI parsing with line numbers ---- */

#define SEEN_MAX 512

typedef struct parse_ctx {
    config *c;
    FILE *f;
    const char *path;
    int line;
    int toolong;
    tl_err *err;
    int failed;
    int nseen;                      /* keys set by this file, to refuse a repeat */
    char seen[SEEN_MAX][128];
    int seen_line[SEEN_MAX];
} parse_ctx;

/* A header line ("[name]") that lacks its closing bracket, after blanks. */
static int bad_header(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '[' && !strchr(s, ']');
}

/* libinih's line source: one line into str (num bytes), counted.  A NUL
 * byte or an unclosed "[section" stops the parse with an error naming the
 * line (libinih would cut the line at the NUL, or skip the header and
 * blame the next line). */
static char *line_reader(char *str, int num, void *stream)
{
    parse_ctx *p = stream;
    if (p->failed)
        return NULL;
    int n = 0, ch = EOF, nul = 0;
    while (n < num - 1 && (ch = getc(p->f)) != EOF) {
        nul |= ch == 0;
        str[n++] = (char)ch;
        if (ch == '\n')
            break;
    }
    if (n == 0)
        return NULL;
    str[n] = 0;
    p->line++;
    if (n == num - 1 && str[n - 1] != '\n' && (ch = getc(p->f)) != EOF) {
        ungetc(ch, p->f);
        p->toolong = p->line;
    }
    if (nul || bad_header(str)) {
        tl_fail(p->err, TL_EINPUT, nul ? "%s:%d: a NUL byte in the line (is this a text file?)"
                                       : "%s:%d: section header without its closing ']' (write [name])", p->path, p->line);
        p->failed = 1;
        return NULL;
    }
    return str;
}

/* Refuses a key this file already set ("section.key"; space lines as
 * "space.NAME").  Returns 0 or TL_EINPUT. */
static int check_repeat(parse_ctx *p, const char *key, const char *where)
{
    for (int i = 0; i < p->nseen; i++)
        if (!strcmp(p->seen[i], key))
            return tl_fail(p->err, TL_EINPUT, "%s: %s: given twice (first at line %d); keep one of the two",
                           where, key, p->seen_line[i]);
    if (p->nseen < SEEN_MAX) {
        snprintf(p->seen[p->nseen], sizeof p->seen[0], "%s", key);
        p->seen_line[p->nseen++] = p->line;
    }
    return 0;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (p->failed)
        return 0;
    char where[600];
    snprintf(where, sizeof where, "%s:%d", p->path, p->line);
    if (p->toolong) {
        tl_fail(p->err, TL_EINPUT, "%s:%d: line longer than %d characters", p->path, p->toolong, 198);
        p->failed = 1;
        return 0;
    }
    int known = 0;
    for (int i = 0; i < CONFIG_NSECTIONS; i++)
        known |= !strcmp(section, CONFIG_SECTIONS[i]);
    if (!known) {
        tl_fail(p->err, TL_EINPUT, "%s: [%s]: unknown section (valid: data, model, train, study, tpe, cmaes, pbt, nas, objective, space)",
                where, section);
        p->failed = 1;
        return 0;
    }
    char key[128];
    snprintf(key, sizeof key, "%s.%s", section, name);
    int rc = check_repeat(p, key, where);
    if (!rc && !strcmp(section, "space"))
        rc = add_space_line(p->c, name, value, where, p->err);
    else if (!rc)
        rc = config_set(p->c, key, value, where, p->err);
    if (rc) {
        p->failed = 1;
        return 0;
    }
    return 1;
}

static int load_stream(config *c, FILE *f, const char *path, tl_err *err);

int config_load(config *c, const char *path, tl_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tl_fail(err, TL_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return tl_fail(err, TL_EINPUT, "%s: is a folder, not a config file (give the .ini file's path)", path);
    }
    return load_stream(c, f, path, err);
}

int config_load_text(config *c, const char *text, size_t len, const char *name, tl_err *err)
{
    if (len == 0)
        return tl_fail(err, TL_EINPUT, "%s: empty configuration", name);
    FILE *f = fmemopen((void *)text, len, "r");
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot read configuration", name);
    return load_stream(c, f, name, err);
}

static int load_stream(config *c, FILE *f, const char *path, tl_err *err)
{
    parse_ctx *pp = calloc(1, sizeof *pp);
    if (!pp) {
        fclose(f);
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    }
    *pp = (parse_ctx){.c = c, .f = f, .path = path, .err = err};
    int rc = ini_parse_stream(line_reader, pp, on_ini_entry, pp);
    int ioerr = ferror(f) ? errno : 0;
    fclose(f);
    parse_ctx p = *pp; /* the fields read below; the key list is not */
    free(pp);
    if (!p.failed && ioerr)
        return tl_fail(err, TL_EINPUT, "%s: cannot read: %s", path, strerror(ioerr));
    if (p.failed)
        return TL_EINPUT;
    if (p.toolong)
        return tl_fail(err, TL_EINPUT, "%s:%d: line longer than %d characters", path, p.toolong, 198);
    if (rc > 0)
        return tl_fail(err, TL_EINPUT, "%s:%d: syntax error (expected [section] or key = value)", path, rc);
    if (rc < 0)
        return tl_fail(err, TL_EINPUT, "%s: cannot read", path);
    snprintf(c->source, sizeof c->source, "%s", path);
    return 0;
}

int config_set_arg(config *c, const char *arg, tl_err *err)
{
    const char *eq = strchr(arg, '=');
    char where[300];
    snprintf(where, sizeof where, "--set %.250s", arg);
    if (!eq)
        return tl_fail(err, TL_EINPUT, "%s: expected section.key=value", where);
    char key[128];
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof key)
        return tl_fail(err, TL_EINPUT, "%s: key too long", where);
    memcpy(key, arg, n);
    key[n] = 0;
    trim(key);
    if (!strncmp(key, "space.", 6))
        return add_space_line(c, key + 6, eq + 1, where, err);
    return config_set(c, key, eq + 1, where, err);
}

/* 1 if c's [space] tunes key. */
static int tunes(const config *c, const char *key)
{
    for (int i = 0; i < c->nspace; i++)
        if (!strcmp(c->space[i].key, key))
            return 1;
    return 0;
}

int config_validate(const config *c, tl_err *err)
{
    const char *src = c->source[0] ? c->source : "config";
    if (!strcmp(c->model_type, "gpt") && c->d_model % c->heads)
        return tl_fail(err, TL_EINPUT, "%s: model.heads: d_model %d is not divisible by %d heads", src, c->d_model,
                       c->heads);
    if (!strcmp(c->model_type, "gpt") && strcmp(c->dataset, "text"))
        return tl_fail(err, TL_EINPUT, "%s: model.type: gpt needs data.dataset = text (got %s)", src, c->dataset);
    if (!strcmp(c->dataset, "text") && strcmp(c->model_type, "gpt"))
        return tl_fail(err, TL_EINPUT, "%s: model.type: data.dataset = text needs model.type = gpt", src);
    if (!strncmp(c->schedule, "warmup_", 7) && c->warmup == 0 && !tunes(c, "train.warmup"))
        return tl_fail(err, TL_EINPUT,
                       "%s: train.warmup: %s needs a warmup length > 0 (e.g. train.warmup = 1 with "
                       "train.warmup_unit = epochs); without warmup use train.schedule = %s",
                       src, c->schedule, !strcmp(c->schedule, "warmup_constant") ? "constant" : "cosine");
    if (c->max_budget > 0 && c->max_budget < c->min_budget)
        return tl_fail(err, TL_EINPUT, "%s: study.max_budget: %g is below study.min_budget %g", src, c->max_budget,
                       c->min_budget);
    /* With the built-in trainer every [space] name must be a config key;
     * function and command objectives take any names. */
    if (!strcmp(c->objective_type, "train"))
        for (int i = 0; i < c->nspace; i++) {
            const char *key = c->space[i].key;
            if (config_find_key(key))
                continue;
            const char *hint = config_closest_key(key);
            return tl_fail(err, TL_EINPUT, "%s: space: %s: not a config key that can be tuned%s%s%s",
                           c->space[i].where, key, hint ? " (did you mean " : "", hint ? hint : "",
                           hint ? "?)" : "");
        }
    if (!strcmp(c->objective_type, "command") && !c->command[0])
        return tl_fail(err, TL_EINPUT, "%s: objective.command: required when objective.type = command", src);
    return 0;
}

int config_resolve(config *c, const char *path, tl_err *err)
{
    if (!c->study_name[0]) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", path ? path : "study");
        char *b = basename(tmp);
        char *dot = strrchr(b, '.');
        if (dot && dot != b)
            *dot = 0;
        snprintf(c->study_name, sizeof c->study_name, "%s", b);
    }
    if (!c->storage[0])
        snprintf(c->storage, sizeof c->storage, "runs/%.120s.db", c->study_name);
    if (!c->direction[0]) {
        int m, up = metric_parse(c->metric, &m, NULL) == 0 && metric_maximized(m);
        snprintf(c->direction, sizeof c->direction, "%s", up ? "maximize" : "minimize");
    }
    if (!c->data_path[0]) {
        if (!strcmp(c->dataset, "fmnist"))
            snprintf(c->data_path, sizeof c->data_path, "/usr/share/datasets/fashion-mnist");
        else if (!strcmp(c->dataset, "text"))
            snprintf(c->data_path, sizeof c->data_path, "/usr/share/games/fortunes");
    }
    if (!strcmp(c->dataset, "text") && c->steps_per_epoch == 0)
        c->steps_per_epoch = 200;
    return config_validate(c, err);
}

int config_get(const config *c, const char *key, char *buf, size_t n)
{
    const keydef *k = config_find_key(key);
    if (!k)
        return -1;
    const char *base = (const char *)c;
    switch (k->type) {
    case K_DBL:
        tl_fmt_shortest(*(const double *)(base + k->off), buf, n);
        break;
    case K_INT:
        snprintf(buf, n, "%d", *(const int *)(base + k->off));
        break;
    case K_LONG:
        snprintf(buf, n, "%ld", *(const long *)(base + k->off));
        break;
    case K_U64:
        snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)(base + k->off));
        break;
    case K_BOOL:
        snprintf(buf, n, "%s", *(const int *)(base + k->off) ? "true" : "false");
        break;
    case K_STR:
        snprintf(buf, n, "%s", base + k->off);
        break;
    case K_LIST: {
        size_t used = 0;
        buf[0] = 0;
        for (int i = 0; i < c->nwidths && used + 12 < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? "," : "", c->widths[i]);
        break;
    }
    }
    return 0;
}

void config_write(const config *c, FILE *f)
{
    const char *cur = NULL;
    size_t curlen = 0;
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        const char *dot = strchr(CONFIG_KEYS[i].key, '.');
        size_t sl = (size_t)(dot - CONFIG_KEYS[i].key);
        if (!cur || curlen != sl || strncmp(cur, CONFIG_KEYS[i].key, sl)) {
            fprintf(f, "%s[%.*s]\n", cur ? "\n" : "", (int)sl, CONFIG_KEYS[i].key);
            cur = CONFIG_KEYS[i].key;
            curlen = sl;
        }
        char buf[1100];
        config_get(c, CONFIG_KEYS[i].key, buf, sizeof buf);
        fprintf(f, "%s = %s\n", dot + 1, buf);
    }
    if (c->nspace) {
        fprintf(f, "\n[space]\n");
        for (int i = 0; i < c->nspace; i++)
            fprintf(f, "%s = %s\n", c->space[i].key, c->space[i].expr);
    }
}

int config_write_changed(const config *c, FILE *f)
{
    config *d = malloc(sizeof *d);
    if (!d)
        return -1;
    config_defaults(d);
    int n = 0;
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        char a[1100], b[1100];
        config_get(c, CONFIG_KEYS[i].key, a, sizeof a);
        config_get(d, CONFIG_KEYS[i].key, b, sizeof b);
        if (strcmp(a, b))
            fprintf(f, "%s%s=%s", n++ ? " " : "", CONFIG_KEYS[i].key, a);
    }
    for (int i = 0; i < c->nspace; i++)
        fprintf(f, "%sspace.%s=%s", n++ ? " " : "", c->space[i].key, c->space[i].expr);
    free(d);
    return n;
}

char *config_to_string(const config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    config_write(c, f);
    fclose(f);
    return buf;
}

void config_print_reference(FILE *f, const char *section)
{
    for (int i = 0; i < CONFIG_NKEYS; i++) {
        const keydef *k = &CONFIG_KEYS[i];
        if (section && strncmp(k->key, section, strlen(section)))
            continue;
        char def[80];
        snprintf(def, sizeof def, "%s", k->def[0] ? k->def : "\"\"");
        fprintf(f, "  %-32s %-10s %s", k->key, def, k->help);
        if (k->choices)
            fprintf(f, " (%s)", k->choices[0] == '|' ? k->choices + 1 : k->choices);
        fputc('\n', f);
    }
}
