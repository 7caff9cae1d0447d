/* hpo/pbt_lineage.c: PBT lineage records (one JSON array per member, the
 * trial attribute "pbt.lineage"), and the hyperparameter schedule that
 * produced a member's final weights, found by following its exploits back.
 *
 * Does: parse and write the JSON form with cJSON, load it from a study,
 * backtrack a schedule and count the work a member did.  Does not: decide
 * anything (sched_pbt.c), train, print.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pbt.h"

static const char *const kind_names[PBT_ENTRY_KIND_COUNT] = { "start", "restart", "ready",
                                                               "exploit", "final" };

const char *pbt_entry_kind_str(int kind)
{
    return kind >= 0 && kind < PBT_ENTRY_KIND_COUNT ? kind_names[kind] : "?";
}

int pbt_lineage_append(pbt_lineage *l, const pbt_entry *e, tl_err *err)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 16;
        pbt_entry *p = realloc(l->e, (size_t)nc * sizeof *p);
        if (!p)
            return tl_fail(err, TL_ERUNTIME, "pbt: out of memory");
        l->e = p;
        l->cap = nc;
    }
    l->e[l->n++] = *e;
    return 0;
}

void pbt_lineage_free(pbt_lineage *l)
{
    if (!l)
        return;
    free(l->e);
    l->e = NULL;
    l->n = l->cap = 0;
}

/* An integer field of o; 0 or TL_EINPUT. */
static int get_int(const cJSON *o, const char *key, int *out, int k, tl_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return tl_fail(err, TL_EINPUT, "pbt lineage: entry %d: '%s' must be an integer", k, key);
    *out = (int)v->valuedouble;
    return 0;
}

int pbt_lineage_parse(const space *sp, const char *json, pbt_lineage *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_Parse(json ? json : "");
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return tl_fail(err, TL_EINPUT, "pbt lineage: not a JSON array");
    }
    int rc = 0, k = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root)
    {
        pbt_entry e;
        memset(&e, 0, sizeof e);
        e.src = e.src_entry = -1;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
        e.kind = -1;
        for (int i = 0; cJSON_IsString(kind) && i < PBT_ENTRY_KIND_COUNT; i++)
            if (strcmp(kind->valuestring, kind_names[i]) == 0)
                e.kind = i;
        if (e.kind < 0) {
            rc = tl_fail(err, TL_EINPUT, "pbt lineage: entry %d: unknown kind", k);
            break;
        }
        if ((rc = get_int(o, "step", &e.step, k, err)) || (rc = get_int(o, "pos", &e.pos, k, err)) ||
            (rc = get_int(o, "src", &e.src, k, err)) ||
            (rc = get_int(o, "src_entry", &e.src_entry, k, err)))
            break;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
        e.value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        e.ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ready"));
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(o, "values");
        if (!cJSON_IsObject(vals)) {
            rc = tl_fail(err, TL_EINPUT, "pbt lineage: entry %d: 'values' must be an object", k);
            break;
        }
        for (int i = 0; i < sp->n && !rc; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(vals, sp->p[i].name);
            e.values[i] = NAN;
            if (cJSON_IsNumber(x) && sp->p[i].kind != PARAM_CAT)
                e.values[i] = x->valuedouble;
            else if (cJSON_IsString(x))
                rc = space_value_parse(sp, i, x->valuestring, &e.values[i], err);
            else if (x && !cJSON_IsNull(x))
                rc = tl_fail(err, TL_EINPUT, "pbt lineage: entry %d: %s: bad value", k,
                             sp->p[i].name);
        }
        if (rc) {
            tl_prefix(err, "pbt lineage: entry %d", k);
            break;
        }
        if ((rc = pbt_lineage_append(out, &e, err)))
            break;
        k++;
    }
    cJSON_Delete(root);
    if (rc)
        pbt_lineage_free(out);
    return rc;
}

/* Adds a number printed to round-trip exactly (cJSON's own printing keeps
 * only 15 digits when they come within an epsilon). */
static int add_exact(cJSON *o, const char *key, double x)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", x);
    return cJSON_AddRawToObject(o, key, buf) != NULL;
}

char *pbt_lineage_to_json(const space *sp, const pbt_lineage *l)
{
    cJSON *root = cJSON_CreateArray();
    int ok = root != NULL;
    for (int k = 0; ok && k < l->n; k++) {
        const pbt_entry *e = &l->e[k];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(root, o);
        ok = ok && cJSON_AddStringToObject(o, "kind", pbt_entry_kind_str(e->kind));
        ok = ok && cJSON_AddNumberToObject(o, "step", e->step);
        ok = ok && cJSON_AddNumberToObject(o, "pos", e->pos);
        if (ok && isfinite(e->value))
            ok = add_exact(o, "value", e->value);
        else if (ok)
            ok = cJSON_AddNullToObject(o, "value") != NULL;
        ok = ok && cJSON_AddBoolToObject(o, "ready", e->ready);
        ok = ok && cJSON_AddNumberToObject(o, "src", e->src);
        ok = ok && cJSON_AddNumberToObject(o, "src_entry", e->src_entry);
        cJSON *vals = ok ? cJSON_AddObjectToObject(o, "values") : NULL;
        ok = vals != NULL;
        for (int i = 0; ok && i < sp->n; i++) {
            double x = e->values[i];
            if (isnan(x)) {
                ok = cJSON_AddNullToObject(vals, sp->p[i].name) != NULL;
            } else if (sp->p[i].kind == PARAM_CAT) {
                char buf[256];
                space_format_value(sp, i, x, buf, sizeof buf);
                ok = cJSON_AddStringToObject(vals, sp->p[i].name, buf) != NULL;
            } else {
                char buf[64]; /* shortest text that reads back to x */
                space_format_value(sp, i, x, buf, sizeof buf);
                ok = isfinite(x) && cJSON_AddRawToObject(vals, sp->p[i].name, buf) != NULL;
            }
        }
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

int pbt_lineage_load(study *s, int trial, char *buf, size_t n, pbt_lineage *out, tl_err *err)
{
    memset(out, 0, sizeof *out);
    int got = study_trial_attr_get(s, trial, PBT_ATTR_LINEAGE, buf, n);
    if (got < 0)
        return tl_fail(err, TL_ERUNTIME, "pbt: trial %d: reading its lineage failed", trial);
    if (got == 0)
        return 0;
    if (strlen(buf) + 1 >= n)
        return tl_fail(err, TL_ERUNTIME, "pbt: trial %d: lineage longer than %zu bytes", trial,
                       n - 1);
    int rc = pbt_lineage_parse(study_space(s), buf, out, err);
    if (rc)
        tl_prefix(err, "trial %d", trial);
    return rc;
}

/* End of segment j of l: the step of the next entry, or `end`. */
static int segment_end(const pbt_lineage *l, int j, int end)
{
    return j + 1 < l->n ? l->e[j + 1].step : end;
}

int pbt_schedule(const pbt_lineage *lineages, int nmembers, int m, int end, pbt_segment **out,
                 int *nseg, tl_err *err)
{
    *out = NULL;
    *nseg = 0;
    if (m < 0 || m >= nmembers || lineages[m].n == 0)
        return tl_fail(err, TL_EINPUT, "pbt schedule: member %d has no lineage", m);
    const pbt_lineage *l = &lineages[m];
    int j = l->n - 1;
    if (l->e[j].kind == PBT_FINAL) {
        end = l->e[j].step;
        j--;
    }
    if (j < 0 || end <= 0)
        return tl_fail(err, TL_EINPUT, "pbt schedule: member %d has no training to follow", m);
    int total = 0;
    for (int k = 0; k < nmembers; k++)
        total += lineages[k].n;
    pbt_segment *seg = malloc((size_t)(total + 1) * sizeof *seg);
    if (!seg)
        return tl_fail(err, TL_ERUNTIME, "pbt schedule: out of memory");
    int n = 0, s = m, seg_end = end, hops = 0;
    /* (s, j): the member and entry whose start state we explain; the
     * segment it trained ends at seg_end. */
    for (;;) {
        const pbt_entry *e = &lineages[s].e[j];
        if (n >= total + 1 || hops++ > 4 * total + 4) {
            free(seg);
            return tl_fail(err, TL_EINPUT, "pbt schedule: member %d: the records form a cycle", m);
        }
        if (e->pos > seg_end || e->pos < 0) {
            free(seg);
            return tl_fail(err, TL_EINPUT,
                           "pbt schedule: member %d entry %d: position %d past its end %d", s, j,
                           e->pos, seg_end);
        }
        if (e->pos < seg_end) {
            seg[n].start = e->pos;
            seg[n].end = seg_end;
            seg[n].member = s;
            memcpy(seg[n].values, e->values, sizeof seg[n].values);
            n++;
        }
        if (e->kind == PBT_START || e->kind == PBT_RESTART) {
            if (e->pos != 0) {
                free(seg);
                return tl_fail(err, TL_EINPUT, "pbt schedule: member %d entry %d: %s at %d", s, j,
                               pbt_entry_kind_str(e->kind), e->pos);
            }
            break;
        }
        seg_end = e->pos;
        if (e->kind == PBT_EXPLOIT) {
            int src = e->src, k = e->src_entry;
            if (src < 0 || src >= nmembers || k < 0 || k >= lineages[src].n ||
                lineages[src].e[k].pos != e->pos) {
                free(seg);
                return tl_fail(err, TL_EINPUT,
                               "pbt schedule: member %d entry %d: copied entry %d of trial %d, "
                               "which does not start at %d",
                               s, j, k, src, e->pos);
            }
            s = src;
            j = k;
        } else if (e->kind == PBT_READY && j > 0) {
            /* the previous segment of the same member trained up to here */
            if (e->step != e->pos) {
                free(seg);
                return tl_fail(err, TL_EINPUT,
                               "pbt schedule: member %d entry %d: ready at %d but positioned at %d",
                               s, j, e->step, e->pos);
            }
            j--;
        } else {
            free(seg);
            return tl_fail(err, TL_EINPUT, "pbt schedule: member %d entry %d: a %s entry cannot "
                           "start a segment", s, j, pbt_entry_kind_str(e->kind));
        }
    }
    /* reverse into training order */
    for (int a = 0, b = n - 1; a < b; a++, b--) {
        pbt_segment t = seg[a];
        seg[a] = seg[b];
        seg[b] = t;
    }
    *out = seg;
    *nseg = n;
    return 0;
}

int pbt_member_work(const pbt_lineage *l, int final_step)
{
    int work = 0;
    for (int j = 0; j < l->n; j++) {
        if (l->e[j].kind == PBT_FINAL)
            continue;
        /* before a restart the end is 0: the killed run's progress is lost
         * and not counted */
        int end = segment_end(l, j, final_step);
        if (end > l->e[j].pos)
            work += end - l->e[j].pos;
    }
    return work;
}
