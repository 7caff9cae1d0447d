/* tune/study_definition.c: a study's definition as flat JSON, and the
 * differences between two of them (see study_definition.h). */
#include "tune/study_definition.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report.h"

/* The keys each algorithm reads, besides its name. */
typedef struct algo_keys {
    const char *name;
    const char *keys[8];
} algo_keys;

static const algo_keys SAMPLER_KEYS[] = {
    {"grid", {"study.grid_points"}},
    {"bayes", {"study.acquisition", "study.xi", "study.beta", "study.n_init"}},
    {"evolution", {"nas.population", "nas.sample_size", "nas.max_params", "nas.max_flops", "nas.objectives"}},
};

static const algo_keys SCHEDULER_KEYS[] = {
    {"median", {"study.median_warmup_steps", "study.median_min_trials"}},
    {"sha", {"study.min_budget", "study.max_budget", "study.eta"}},
    {"hyperband", {"study.min_budget", "study.max_budget", "study.eta"}},
    {"asha", {"study.min_budget", "study.max_budget", "study.eta"}},
    {"pbt", {"pbt.population", "pbt.interval", "pbt.sync", "pbt.quantile", "pbt.factor_low", "pbt.factor_high",
             "pbt.resample_probability"}},
};

static const algo_keys OBJECTIVE_KEYS[] = {
    {"train", {"data.dataset", "model.type"}},
    {"function", {"objective.function"}},
    {"command", {"objective.command", "objective.timeout"}},
};

static void add_key(cJSON *o, const config *c, const char *key)
{
    char buf[1100];
    if (config_get(c, key, buf, sizeof buf) == 0)
        cJSON_AddStringToObject(o, key, buf);
}

/* The keys of the entry called `name` in a table of n entries. */
static void add_algo(cJSON *o, const config *c, const algo_keys *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].name, name))
            for (int k = 0; k < 8 && t[i].keys[k]; k++)
                add_key(o, c, t[i].keys[k]);
}

char *tune_study_definition(const config *c, const space *sp)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (int i = 0; i < sp->n; i++) {
        char key[128], e[1024];
        snprintf(key, sizeof key, "space.%s", sp->p[i].name);
        space_describe(sp, i, 1, e, sizeof e);
        cJSON_AddStringToObject(o, key, e);
    }
    static const char *const core[] = {"study.sampler", "study.scheduler", "objective.type", "study.metric",
                                       "study.direction", "study.seed"};
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        add_key(o, c, core[i]);
    add_algo(o, c, SAMPLER_KEYS, sizeof SAMPLER_KEYS / sizeof SAMPLER_KEYS[0], c->sampler);
    add_algo(o, c, SCHEDULER_KEYS, sizeof SCHEDULER_KEYS / sizeof SCHEDULER_KEYS[0], c->scheduler);
    add_algo(o, c, OBJECTIVE_KEYS, sizeof OBJECTIVE_KEYS / sizeof OBJECTIVE_KEYS[0], c->objective_type);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static const char *text_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Appends one difference line for key to buf (at *used). */
static void put_diff(char *buf, size_t n, size_t *used, const char *key, const char *a, const char *b)
{
    if (*used >= n)
        return;
    int w = snprintf(buf + *used, n - *used, "  %s: stored %s%s%s, now %s%s%s\n", key, a ? "'" : "",
                     a ? a : "(none)", a ? "'" : "", b ? "'" : "", b ? b : "(none)", b ? "'" : "");
    *used += w > 0 ? (size_t)w : 0;
}

int tune_definition_diff(const char *stored, const char *now, char *buf, size_t n)
{
    if (n)
        buf[0] = 0;
    size_t used = 0;
    cJSON *a = cJSON_Parse(stored ? stored : ""), *b = cJSON_Parse(now ? now : "");
    int ndiff = 0;
    if (!cJSON_IsObject(a) || !cJSON_IsObject(b)) {
        put_diff(buf, n, &used, "definition", "(unreadable)", "(this config)");
        ndiff = 1;
    } else {
        const cJSON *it;
        cJSON_ArrayForEach(it, a) {
            const char *x = cJSON_IsString(it) ? it->valuestring : "?", *y = text_of(b, it->string);
            if (!y || strcmp(x, y)) {
                put_diff(buf, n, &used, it->string, x, y);
                ndiff++;
            }
        }
        cJSON_ArrayForEach(it, b) {
            if (!cJSON_GetObjectItemCaseSensitive(a, it->string)) {
                put_diff(buf, n, &used, it->string, NULL, cJSON_IsString(it) ? it->valuestring : "?");
                ndiff++;
            }
        }
    }
    if (n)
        buf[n - 1] = 0;
    cJSON_Delete(a);
    cJSON_Delete(b);
    return ndiff;
}

char *tune_stored_definition(const char *path, const char *name)
{
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    report_study *rs = NULL;
    tl_err err = {0};
    if (report_study_load(&rs, path, name, &err))
        return NULL;
    const char *d = report_study_attr(rs, "definition");
    char *copy = d ? strdup(d) : NULL;
    report_study_free(rs);
    return copy;
}
