/* report/report_words.c: attributes as words for people (report_attr_text,
 * see report/report.h): numbers to meaningful digits, a scheduler's JSON
 * record ("hb", "paused_at", "pbt.lineage") as a sentence.
 * Does not: change what export writes (exact values), print.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : "?";
}

/* "hyperband: bracket 2, reached rung 2 of 3 (budget 9), complete". */
static void hb_text(const cJSON *o, char *buf, size_t n)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "rung_budget");
    int rung = (int)num(o, "rung"), nr = cJSON_GetArraySize(b);
    const cJSON *rb = cJSON_GetArrayItem(b, rung);
    snprintf(buf, n, "%s: bracket %g, reached rung %d of %d (budget %.4g), %s", str(o, "scheduler"),
             num(o, "bracket"), rung, nr, cJSON_IsNumber(rb) ? rb->valuedouble : NAN, str(o, "status"));
}

/* Any other JSON: its scalar fields "key value", numbers to 4 digits. */
static void json_text(const cJSON *o, char *buf, size_t n)
{
    size_t at = 0;
    const cJSON *it;
    buf[0] = 0;
    cJSON_ArrayForEach(it, o) {
        if (at >= n)
            break;
        const char *k = it->string ? it->string : "";
        if (cJSON_IsNumber(it))
            at += (size_t)snprintf(buf + at, n - at, "%s%s %.4g", at ? ", " : "", k, it->valuedouble);
        else if (cJSON_IsString(it))
            at += (size_t)snprintf(buf + at, n - at, "%s%s %s", at ? ", " : "", k, it->valuestring);
        else if (cJSON_IsBool(it))
            at += (size_t)snprintf(buf + at, n - at, "%s%s %s", at ? ", " : "", k, cJSON_IsTrue(it) ? "yes" : "no");
        else if (cJSON_IsArray(it))
            at += (size_t)snprintf(buf + at, n - at, "%s%s [%d]", at ? ", " : "", k, cJSON_GetArraySize(it));
    }
}

const char *report_attr_text(const char *key, const char *value, char *buf, size_t n)
{
    if (!n)
        return buf;
    char *end;
    double v = strtod(value, &end);
    if (end != value && !*end && isfinite(v)) {
        snprintf(buf, n, "%.6g", v);
        return buf;
    }
    cJSON *o = value[0] == '{' || value[0] == '[' ? cJSON_Parse(value) : NULL;
    if (!o) {
        snprintf(buf, n, "%s", value);
        return buf;
    }
    if (!strcmp(key, "hb") && cJSON_IsObject(o))
        hb_text(o, buf, n);
    else if (!strcmp(key, "paused_at") && cJSON_IsObject(o))
        snprintf(buf, n, "paused at budget %.4g (step %g), value %.6g", num(o, "budget"), num(o, "step"), num(o, "value"));
    else if (cJSON_IsArray(o))
        snprintf(buf, n, "%d records (see `tunelab export`)", cJSON_GetArraySize(o));
    else
        json_text(o, buf, n);
    cJSON_Delete(o);
    return buf;
}

const char *report_value_text(const space *sp, int i, double v, char *buf, size_t n)
{
    if (sp->p[i].kind == PARAM_FLOAT && isfinite(v))
        snprintf(buf, n, "%.4g", v);
    else
        space_format_value(sp, i, v, buf, n);
    return buf;
}
