/* hpo/sched_halving_rungs.c: the arithmetic and the records of the
 * successive-halving engine (sched_halving.h explains both): bracket sizes
 * and rung budgets (Li et al. 2018), the deterministic map from a trial
 * number to its Hyperband bracket, parsing a trial's "hb" attribute, and
 * the rung table that reports print.
 *
 * Does not: schedule anything or touch a study (sched_halving.c does), or
 * print (the table is returned as text).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/sched_halving_internal.h"

const char *const halving_status_names[HB_STATUS_COUNT] = { "running",  "paused", "stopped",
                                                            "complete", "pruned", "failed" };

int halving_status_parse(const char *s)
{
    for (int i = 0; i < HB_STATUS_COUNT; i++)
        if (!strcmp(s, halving_status_names[i]))
            return i;
    return -1;
}

const char *halving_mode_str(int mode)
{
    static const char *const names[HALVING_MODE_COUNT] = { "sha", "hyperband", "asha" };
    return mode >= 0 && mode < HALVING_MODE_COUNT ? names[mode] : "?";
}

/* ---- arithmetic ---- */

int halving_eta_integral(double eta)
{
    return eta == floor(eta) && eta <= 1e6;
}

int halving_s_max(double min_budget, double max_budget, double eta)
{
    if (!isfinite(eta) || !isfinite(min_budget) || !isfinite(max_budget) || !(eta > 1) ||
        !(min_budget > 0) || !(max_budget >= min_budget))
        return -1;
    int s = 0;
    double b = min_budget;
    while (b * eta <= max_budget * (1 + HALVING_REL_EPS)) {
        b *= eta;
        if (++s > HALVING_MAX_RUNGS - 1)
            return -1;
    }
    return s;
}

/* eta^i as an integer, saturating at cap. */
static long ipow_cap(long e, int i, long cap)
{
    long p = 1;
    for (int k = 0; k < i; k++) {
        if (p > cap / e)
            return cap;
        p *= e;
    }
    return p;
}

#define LONG_CAP (1L << 53)

long halving_bracket_n(int s, int s_max, double eta)
{
    if (halving_eta_integral(eta)) {
        long p = ipow_cap((long)eta, s, LONG_CAP / 64);
        long num = (long)(s_max + 1) * p;
        return (num + s) / (s + 1);
    }
    double x = (double)(s_max + 1) / (double)(s + 1) * pow(eta, s);
    return (long)ceil(x * (1 - HALVING_REL_EPS));
}

int halving_bracket(int s, int s_max, double eta, double max_budget, long n_first, long *n,
                    double *r)
{
    long n0 = n_first > 0 ? n_first : halving_bracket_n(s, s_max, eta);
    for (int i = 0; i <= s; i++) {
        r[i] = max_budget / pow(eta, s - i);
        if (!n)
            continue;
        long ni;
        if (halving_eta_integral(eta))
            ni = n0 / ipow_cap((long)eta, i, LONG_CAP);
        else
            ni = (long)floor((double)n0 / pow(eta, i) * (1 + HALVING_REL_EPS));
        n[i] = ni < 1 ? 1 : ni;
    }
    if (n)
        n[0] = n0;
    return s + 1;
}

void halving_slot_of(long number, int s_max, double eta, long trials, halving_slot *out)
{
    long cycle = 0;
    for (int s = s_max; s >= 0; s--)
        cycle += halving_bracket_n(s, s_max, eta);
    out->iteration = number / cycle;
    long off = number % cycle;
    long first = out->iteration * cycle;
    int s = s_max;
    for (; s > 0; s--) {
        long ns = halving_bracket_n(s, s_max, eta);
        if (off < ns)
            break;
        off -= ns;
        first += ns;
    }
    long ns = halving_bracket_n(s, s_max, eta);
    out->s = s;
    out->first = first;
    out->n = trials - first < ns ? trials - first : ns;
}

/* ---- reading the attribute back ---- */

static int get_array(const cJSON *o, const char *key, double *out, int *n, int required)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = 0;
    if (!a)
        return required ? -1 : 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > HALVING_MAX_RUNGS)
        return -1;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        if (cJSON_IsNumber(x))
            out[(*n)++] = x->valuedouble;
        else if (cJSON_IsNull(x))
            out[(*n)++] = NAN;
        else
            return -1;
    }
    return 0;
}

int halving_info_parse(const char *text, halving_info *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return tl_fail(err, TL_EINPUT, "hb: no attribute");
    cJSON *o = cJSON_Parse(text);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return tl_fail(err, TL_EINPUT, "hb: not a JSON object: %.60s", text);
    }
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(o, "scheduler");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "iteration");
    const cJSON *br = cJSON_GetObjectItemCaseSensitive(o, "bracket");
    const cJSON *ru = cJSON_GetObjectItemCaseSensitive(o, "rung");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    double nd[HALVING_MAX_RUNGS];
    int nn = 0, nb = 0, bad = 0;
    bad |= !cJSON_IsString(sch) || !cJSON_IsString(st) || !cJSON_IsNumber(it) ||
           !cJSON_IsNumber(br) || !cJSON_IsNumber(ru);
    if (!bad) {
        snprintf(out->scheduler, sizeof out->scheduler, "%s", sch->valuestring);
        snprintf(out->status, sizeof out->status, "%s", st->valuestring);
        out->iteration = (long)it->valuedouble;
        out->bracket = (int)br->valuedouble;
        out->rung = (int)ru->valuedouble;
        bad |= halving_status_parse(out->status) < 0;
        bad |= get_array(o, "rung_n", nd, &nn, 0) || get_array(o, "rung_budget", out->budget, &nb, 1) ||
               get_array(o, "rung_value", out->value, &out->nvalues, 1);
        bad |= nb < 1 || (nn && nn != nb) || out->rung < 0 || out->rung >= nb ||
               out->nvalues > nb;
    }
    cJSON_Delete(o);
    if (bad)
        return tl_fail(err, TL_EINPUT, "hb: not a rung record: %.80s", text);
    out->nrungs = nb;
    out->has_n = nn > 0;
    for (int i = 0; i < nn; i++)
        out->n[i] = (long)nd[i];
    for (int i = out->nvalues; i < HALVING_MAX_RUNGS; i++)
        out->value[i] = NAN;
    return 0;
}

/* ---- the rung table ---- */

typedef struct group {
    long iteration;
    int bracket;
    int nrungs, has_n;
    long n[HALVING_MAX_RUNGS];
    double budget[HALVING_MAX_RUNGS];
    long entered[HALVING_MAX_RUNGS], promoted[HALVING_MAX_RUNGS], stopped[HALVING_MAX_RUNGS],
        complete[HALVING_MAX_RUNGS], ended[HALVING_MAX_RUNGS], open[HALVING_MAX_RUNGS];
    double best[HALVING_MAX_RUNGS];
} group;

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->iteration != y->iteration)
        return x->iteration < y->iteration ? -1 : 1;
    return (x->bracket < y->bracket) - (x->bracket > y->bracket); /* s_max first */
}

int halving_rung_table(const char *const *hb, int n, int direction, char **out, tl_err *err)
{
    *out = NULL;
    group *g = calloc((size_t)(n > 0 ? n : 1), sizeof *g);
    if (!g)
        return tl_fail(err, TL_ERUNTIME, "rung table: out of memory");
    int ng = 0;
    for (int k = 0; k < n; k++) {
        if (!hb[k])
            continue;
        halving_info inf;
        if (halving_info_parse(hb[k], &inf, err)) {
            free(g);
            return tl_prefix(err, "trial %d", k);
        }
        int j = 0;
        while (j < ng && !(g[j].iteration == inf.iteration && g[j].bracket == inf.bracket))
            j++;
        if (j == ng) {
            memset(&g[j], 0, sizeof g[j]);
            g[j].iteration = inf.iteration;
            g[j].bracket = inf.bracket;
            g[j].nrungs = inf.nrungs;
            g[j].has_n = inf.has_n;
            memcpy(g[j].n, inf.n, sizeof g[j].n);
            memcpy(g[j].budget, inf.budget, sizeof g[j].budget);
            for (int i = 0; i < HALVING_MAX_RUNGS; i++)
                g[j].best[i] = NAN;
            ng++;
        }
        group *G = &g[j];
        int st = halving_status_parse(inf.status);
        for (int i = 0; i <= inf.rung && i < G->nrungs; i++) {
            G->entered[i]++;
            if (i < inf.rung)
                G->promoted[i]++;
            double v = i < inf.nvalues ? inf.value[i] : NAN;
            if (isfinite(v) && (isnan(G->best[i]) ||
                                (direction == STUDY_MAXIMIZE ? v > G->best[i] : v < G->best[i])))
                G->best[i] = v;
        }
        if (inf.rung < G->nrungs) {
            int r = inf.rung;
            G->stopped[r] += st == HB_STOPPED;
            G->complete[r] += st == HB_COMPLETE;
            G->ended[r] += st == HB_FAILED || st == HB_PRUNED;
            G->open[r] += st == HB_RUNNING || st == HB_PAUSED;
        }
    }
    qsort(g, (size_t)ng, sizeof *g, group_cmp);
    size_t cap = 256 + (size_t)ng * HALVING_MAX_RUNGS * 120, used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        free(g);
        return tl_fail(err, TL_ERUNTIME, "rung table: out of memory");
    }
    used += (size_t)snprintf(buf + used, cap - used,
                             "iteration bracket rung     budget planned entered promoted stopped "
                             "complete failed open         best\n");
    for (int j = 0; j < ng; j++)
        for (int i = 0; i < g[j].nrungs; i++) {
            char planned[24];
            if (g[j].has_n)
                snprintf(planned, sizeof planned, "%ld", g[j].n[i]);
            else
                snprintf(planned, sizeof planned, "-");
            used += (size_t)snprintf(buf + used, cap - used,
                                     "%9ld %7d %4d %10.4g %7s %7ld %8ld %7ld %8ld %6ld %4ld %12.6g\n",
                                     g[j].iteration, g[j].bracket, i, g[j].budget[i], planned,
                                     g[j].entered[i], g[j].promoted[i], g[j].stopped[i],
                                     g[j].complete[i], g[j].ended[i], g[j].open[i], g[j].best[i]);
        }
    free(g);
    *out = buf;
    return 0;
}
