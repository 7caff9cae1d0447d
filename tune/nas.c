/* tune/nas.c: architecture search wiring (see nas.h): model-size
 * arithmetic from a config, the accept/cost callbacks, and the summary
 * `tunelab run` prints at the end.  Does not: sample (hpo/sampler_evolution.c),
 * sort fronts (hpo/pareto.c), train or draw. */
#include "tune/nas.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pareto.h"
#include "tune/metric.h"
#include "tune/nas_inherit.h"
#include "nn/gpt.h"
#include "nn/mlp.h"

static const char *const SHAPE_KEYS[] = { "model.layers", "model.heads", "model.d_model", "model.mlp_ratio",
                                          "model.ctx",    "model.hidden" };

static int is_shape_key(const char *name)
{
    for (size_t i = 0; i < sizeof SHAPE_KEYS / sizeof SHAPE_KEYS[0]; i++)
        if (!strcmp(name, SHAPE_KEYS[i]))
            return 1;
    return !strncmp(name, "model.width", 11) && isdigit((unsigned char)name[11]);
}

static const char *const SECOND_NAMES[NAS_SECOND_COUNT] = { "", "params", "flops" };

/* nas.objectives: "METRIC[, params|flops]". */
static int parse_objectives(const config *c, int *second, tl_err *err)
{
    *second = NAS_SECOND_NONE;
    char buf[sizeof c->nas_objectives];
    snprintf(buf, sizeof buf, "%s", c->nas_objectives);
    int ntok = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        int m, known = metric_parse(tok, &m, NULL) == 0 || !strcmp(tok, "value");
        if (known && ntok == 0) {
            ntok++;
            continue;
        }
        if (ntok == 1 && (!strcmp(tok, "params") || !strcmp(tok, "flops"))) {
            *second = !strcmp(tok, "params") ? NAS_SECOND_PARAMS : NAS_SECOND_FLOPS;
            ntok++;
            continue;
        }
        return tl_fail(err, TL_EINPUT,
                       "%s: nas.objectives: '%s' is not understood (write the study metric, optionally "
                       "followed by params or flops: \"val_loss, params\")",
                       c->source, c->nas_objectives);
    }
    return 0;
}

int nas_setup(nas_ctx *n, const config *c, const task_data *d, const space *sp, study_config *sc, tl_err *err)
{
    memset(n, 0, sizeof *n);
    n->base = c;
    n->data = d;
    n->max_params = (long)c->nas_max_params;
    n->max_flops = c->nas_max_flops;
    int rc = parse_objectives(c, &n->second, err);
    if (rc)
        return rc;
    for (int i = 0; i < sp->n; i++)
        n->arch |= is_shape_key(sp->p[i].name);
    n->arch |= !strcmp(sc->sampler, "evolution");
    n->front = !strcmp(sc->sampler, "evolution") || n->second != NAS_SECOND_NONE || n->max_params > 0 ||
               n->max_flops > 0;
    if (!d && (n->max_params > 0 || n->max_flops > 0 || n->second != NAS_SECOND_NONE))
        return tl_fail(err, TL_EINPUT, "%s: %s: needs objective.type = train (the model defines it)", c->source,
                       n->max_params > 0 ? "nas.max_params" : n->max_flops > 0 ? "nas.max_flops" : "nas.objectives");
    if ((rc = nas_inherit_check(c, sp, d != NULL, err)))
        return rc;
    if (n->arch)
        sc->reuse_duplicates = 1; /* for any objective: a repeat is answered from storage */
    if (!d)
        return 0;
    if (n->arch || n->max_params > 0 || n->max_flops > 0 || n->second != NAS_SECOND_NONE) {
        sc->accept = nas_accept;
        sc->accept_ud = n;
    }
    if (n->second != NAS_SECOND_NONE) {
        sc->cost = nas_cost;
        sc->cost_ud = n;
    }
    return 0;
}

/* ---- model arithmetic (the model configs session.c builds) ---- */

static int mlp_of(const config *c, const task_data *d, mlp_config *m)
{
    return session_mlp_config(c, d, m, NULL) ? -1 : 0;
}

size_t nas_param_count(const config *c, const task_data *d)
{
    if (d->is_text) {
        gpt_config g;
        session_gpt_config(c, d, &g);
        return gpt_param_count(&g);
    }
    mlp_config m;
    return mlp_of(c, d, &m) ? 0 : mlp_param_count(&m);
}

double nas_flops(const config *c, const task_data *d)
{
    if (d->is_text) {
        gpt_config g;
        session_gpt_config(c, d, &g);
        return gpt_flops(&g);
    }
    mlp_config m;
    return mlp_of(c, d, &m) ? 0 : mlp_flops(&m);
}

double nas_train_flops(const config *c, const task_data *d, long steps)
{
    int accum = c->accum_steps > 1 ? c->accum_steps : 1;
    double per = (double)c->batch_size * accum * (d->is_text ? c->ctx : 1);
    return 3.0 * nas_flops(c, d) * per * (double)steps;
}

/* Drops "SOURCE: " and "candidate: " prefixes so a reason starts with its key. */
static const char *strip_where(const char *msg, const char *source)
{
    for (int again = 1; again;) {
        again = 0;
        size_t ls = strlen(source);
        if (ls && !strncmp(msg, source, ls) && !strncmp(msg + ls, ": ", 2)) {
            msg += ls + 2;
            again = 1;
        }
        if (!strncmp(msg, "config: ", 8)) {
            msg += 8;
            again = 1;
        }
        if (!strncmp(msg, "candidate: ", 11)) {
            msg += 11;
            again = 1;
        }
    }
    return msg;
}

/* Applies values to the scratch config; 0 or -1 with why filled. */
static int candidate(nas_ctx *n, const space *sp, const double *values, char *why, size_t why_n)
{
    n->scratch = *n->base;
    tl_err e = { 0 };
    if (config_apply_values(&n->scratch, sp, values, "candidate", &e)) {
        if (why)
            snprintf(why, why_n, "%s", strip_where(e.msg, n->base->source));
        return -1;
    }
    return 0;
}

int nas_accept(void *ud, const space *sp, const double *values, char *why, size_t why_n)
{
    nas_ctx *n = ud;
    if (candidate(n, sp, values, why, why_n))
        return 0;
    const config *c = &n->scratch;
    const task_data *d = n->data;
    tl_err e = { 0 };
    int bad;
    if (d->is_text) {
        gpt_config g;
        session_gpt_config(c, d, &g);
        bad = gpt_check(&g, c->batch_size, &e);
    } else {
        mlp_config m;
        bad = mlp_of(c, d, &m) ? tl_fail(&e, TL_EINPUT, "model.layers: %d hidden layers, at most %d", c->layers,
                                         MLP_MAX_HIDDEN)
                               : mlp_check(&m, c->batch_size, &e);
    }
    if (bad) {
        if (why)
            snprintf(why, why_n, "%s", strip_where(e.msg, n->base->source));
        return 0;
    }
    if (n->max_params > 0) {
        size_t p = nas_param_count(c, d);
        if (p > (size_t)n->max_params) {
            if (why)
                snprintf(why, why_n, "nas.max_params: %zu parameters > %ld", p, n->max_params);
            return 0;
        }
    }
    if (n->max_flops > 0) {
        double f = nas_flops(c, d);
        if (f > n->max_flops) {
            if (why)
                snprintf(why, why_n, "nas.max_flops: %.4g FLOPs per %s > %.4g", f, d->is_text ? "token" : "sample",
                         n->max_flops);
            return 0;
        }
    }
    return 1;
}

double nas_cost(void *ud, const space *sp, const double *values)
{
    nas_ctx *n = ud;
    if (candidate(n, sp, values, NULL, 0))
        return NAN;
    double v = n->second == NAS_SECOND_FLOPS ? nas_flops(&n->scratch, n->data)
                                              : (double)nas_param_count(&n->scratch, n->data);
    return v > 0 ? v : NAN;
}

/* ---- the summary ---- */

static void print_rejected(FILE *out, const cJSON *rej)
{
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(rej, "total");
    if (!cJSON_IsNumber(total) || total->valuedouble <= 0)
        return;
    fprintf(out, "rejected before training: %.0f candidates\n", total->valuedouble);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rej, "reasons"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "example");
        if (cJSON_IsString(k) && cJSON_IsNumber(c))
            fprintf(out, "  %-16s %5.0f  e.g. %s\n", k->valuestring, c->valuedouble,
                    cJSON_IsString(e) ? e->valuestring : "");
    }
}

/* The evaluated architectures as points (metric, cost) for the front:
 * f (2 per point; the metric negated when maximized), num their trial
 * numbers.  Returns the number of points; *reused counts the trials that
 * repeated an architecture (left out: the same point as their source). */
static int front_points(nas_ctx *n, study *st, const trial *t, int nt, int second, double *f, int *num,
                        int *reused)
{
    const space *sp = study_space(st);
    const study_config *sc = study_get_config(st);
    char buf[64];
    int m = 0;
    for (int k = 0; k < nt; k++) {
        if (!strncmp(t[k].reason, "reused result of trial ", 23)) {
            (*reused)++;
            continue;
        }
        if (t[k].state != TRIAL_COMPLETE || !isfinite(t[k].value))
            continue;
        double cost = NAN;
        if (n->data && !candidate(n, sp, t[k].values, NULL, 0))
            cost = second == NAS_SECOND_FLOPS ? nas_flops(&n->scratch, n->data)
                                              : (double)nas_param_count(&n->scratch, n->data);
        if (second == NAS_SECOND_PARAMS && study_trial_attr_get(st, k, "params", buf, sizeof buf) == 1)
            cost = strtod(buf, NULL); /* what the objective built */
        if (!(cost > 0))
            continue;
        f[2 * m] = sc->direction == STUDY_MAXIMIZE ? -t[k].value : t[k].value;
        f[2 * m + 1] = cost;
        num[m++] = k;
    }
    return m;
}

int nas_finish(nas_ctx *n, study *st, FILE *out, cJSON *json, tl_err *err)
{
    if (!n->arch)
        return 0;
    const space *sp = study_space(st);
    const study_config *sc = study_get_config(st);
    char buf[8192];
    cJSON *rej = study_attr_get(st, STUDY_ATTR_REJECTED, buf, sizeof buf) == 1 ? cJSON_Parse(buf) : NULL;
    if (out && rej)
        print_rejected(out, rej);
    if (json)
        cJSON_AddItemToObject(json, "rejected", rej ? rej : cJSON_CreateNull());
    else
        cJSON_Delete(rej);

    trial *t = NULL;
    int nt = 0, rc = study_trials(st, &t, &nt, err);
    if (rc)
        return rc;
    double *f = malloc(sizeof *f * 2 * (size_t)(nt ? nt : 1));
    int *num = malloc(sizeof *num * (size_t)(nt ? nt : 1));
    int *idx = malloc(sizeof *idx * (size_t)(nt ? nt : 1));
    if (!f || !num || !idx) {
        rc = tl_fail(err, TL_ERUNTIME, "out of memory");
        goto done;
    }
    int second = n->second == NAS_SECOND_FLOPS ? NAS_SECOND_FLOPS : NAS_SECOND_PARAMS;
    int reused = 0, m = front_points(n, st, t, nt, second, f, num, &reused);
    if (out && reused)
        fprintf(out, "reused results: %d trials repeated an evaluated architecture (not trained again)\n", reused);
    if (json)
        cJSON_AddNumberToObject(json, "reused", reused);
    if (!n->front)
        goto done;
    int nf = 0;
    if ((rc = pareto_front(f, m, 2, idx, &nf, err)))
        goto done;
    /* ascending cost for people: the front sorted by the metric is the reverse */
    for (int a = 0, b = nf - 1; a < b; a++, b--) {
        int x = idx[a];
        idx[a] = idx[b];
        idx[b] = x;
    }
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        rc = tl_fail(err, TL_ERUNTIME, "out of memory");
        goto done;
    }
    if (out && nf > 0)
        fprintf(out, "Pareto front (%s against %s), %d of %d evaluated architectures:\n  %5s  %-12s %-10s\n",
                sc->metric, SECOND_NAMES[second], nf, m, "trial", sc->metric, SECOND_NAMES[second]);
    for (int i = 0; i < nf; i++) {
        int k = num[idx[i]];
        double cost = f[2 * idx[i] + 1];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "trial", k);
        cJSON_AddNumberToObject(o, "value", t[k].value);
        cJSON_AddNumberToObject(o, SECOND_NAMES[second], cost);
        cJSON_AddItemToArray(arr, o);
        if (!out)
            continue;
        char line[1024];
        size_t u = (size_t)snprintf(line, sizeof line, "  %5d  %-12.6g %-10.6g", k, t[k].value, cost);
        for (int j = 0; j < sp->n && u < sizeof line; j++) {
            if (isnan(t[k].values[j]))
                continue;
            char v[128];
            space_format_value(sp, j, t[k].values[j], v, sizeof v);
            u += (size_t)snprintf(line + u, sizeof line - u, " %s=%s", sp->p[j].name, v);
        }
        fprintf(out, "%s\n", line);
    }
    char *txt = cJSON_PrintUnformatted(arr);
    if (txt)
        rc = study_attr_set(st, "pareto_front", txt, err);
    else
        rc = tl_fail(err, TL_ERUNTIME, "out of memory");
    free(txt);
    if (json)
        cJSON_AddItemToObject(json, "pareto_front", arr);
    else
        cJSON_Delete(arr);
    if (!rc && n->base && n->base->nas_inherit) { /* parents' states a resume cannot need */
        int removed = 0, kept = 0;
        rc = nas_inherit_cleanup(st, n->base, &removed, &kept, err);
        if (!rc && out && (removed || kept))
            fprintf(out, "inheritance: %d parent state(s) removed, %d kept for a resume (the population's)\n",
                    removed, kept);
        if (!rc && json) {
            cJSON_AddNumberToObject(json, "inherit_states_removed", removed);
            cJSON_AddNumberToObject(json, "inherit_states_kept", kept);
        }
    }
done:
    free(f);
    free(num);
    free(idx);
    study_trials_free(t, nt);
    return rc;
}
