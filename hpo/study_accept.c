/* hpo/study_accept.c: what a sampled candidate must pass before it runs:
 * the accept constraint (study_config.accept), asked again up to
 * STUDY_MAX_REJECTS times, its rejections counted by reason in the study
 * attribute STUDY_ATTR_REJECTED; and duplicate reuse (reuse_duplicates):
 * a candidate equal to an evaluated trial is stored with that trial's
 * result instead of being run.
 *
 * Does not: sample (the sampler does), know what the constraint means
 * (the caller's callback does).  The struct is in hpo/study_internal.h.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/study_internal.h"

#define REJECT_KEYS 8

/* Rejections seen while asking for one trial, merged into the study
 * attribute STUDY_ATTR_REJECTED before the ask commits. */
typedef struct rejects {
    int total;
    int nkeys;
    char key[REJECT_KEYS][64];
    int count[REJECT_KEYS];
    char example[REJECT_KEYS][256];
} rejects;

/* The key of a reason: its text before the first ": " when that is one
 * word (a config key), else "other". */
static void reason_key(const char *why, char *key, size_t n)
{
    const char *c = strstr(why, ": ");
    size_t len = c ? (size_t)(c - why) : 0;
    if (!c || len == 0 || len >= n || strcspn(why, " \t") < len) {
        snprintf(key, n, "other");
        return;
    }
    memcpy(key, why, len);
    key[len] = 0;
}

static void rejects_add(rejects *r, const char *key, int count, const char *example)
{
    r->total += count;
    int k;
    for (k = 0; k < r->nkeys; k++)
        if (!strcmp(r->key[k], key))
            break;
    if (k == r->nkeys) {
        if (r->nkeys == REJECT_KEYS) {
            k = REJECT_KEYS - 1; /* the last bucket gathers the rest */
            snprintf(r->key[k], sizeof r->key[k], "other");
        } else {
            r->nkeys++;
            snprintf(r->key[k], sizeof r->key[k], "%s", key);
            r->count[k] = 0;
            snprintf(r->example[k], sizeof r->example[k], "%s", example);
        }
    }
    r->count[k] += count;
}

/* Adds this ask's rejections to the stored attribute.  Lock held, inside
 * the ask's write transaction. */
static int rejects_store(study *s, const rejects *now, tl_err *err)
{
    rejects all;
    memset(&all, 0, sizeof all);
    char buf[8192];
    int got = s->st.vt->attr_get(s->st.self, s->study_id, -1, STUDY_ATTR_REJECTED, buf, sizeof buf, err);
    if (got < 0)
        return TL_ERUNTIME;
    if (got == 1) {
        cJSON *o = cJSON_Parse(buf);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "reasons"), *it;
        cJSON_ArrayForEach(it, arr) {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "example");
            if (cJSON_IsString(k) && cJSON_IsNumber(c))
                rejects_add(&all, k->valuestring, (int)c->valuedouble,
                            cJSON_IsString(e) ? e->valuestring : "");
        }
        cJSON_Delete(o); /* an unreadable attribute starts over */
    }
    for (int k = 0; k < now->nkeys; k++)
        rejects_add(&all, now->key[k], now->count[k], now->example[k]);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "reasons") : NULL;
    int ok = arr && cJSON_AddNumberToObject(o, "total", all.total);
    for (int k = 0; ok && k < all.nkeys; k++) {
        cJSON *it = cJSON_CreateObject();
        ok = it && cJSON_AddItemToArray(arr, it) && cJSON_AddStringToObject(it, "key", all.key[k]) &&
             cJSON_AddNumberToObject(it, "count", all.count[k]) &&
             cJSON_AddStringToObject(it, "example", all.example[k]);
    }
    char *txt = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!txt)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    int rc = s->st.vt->attr_set(s->st.self, s->study_id, -1, STUDY_ATTR_REJECTED, txt, err);
    free(txt);
    return rc;
}

/* Asks the sampler for trial t's values until the accept callback takes
 * them (or there is none).  Returns 0, SAMPLER_EXHAUSTED, or a tl_code
 * with err filled and prefixed.  Lock held, inside the ask's transaction. */
int study_suggest_accepted(study *s, trial *t, rng *r, tl_err *err)
{
    rejects rej;
    rej.total = rej.nkeys = 0;
    char why[256];
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = s->smp.vt->suggest(s->smp.self, &s->sp, s->ptrs, t->number, s->cfg.direction, t->number, r,
                                t->values, err);
        if (rc == SAMPLER_EXHAUSTED)
            break;
        if (rc) {
            tl_prefix(err, "sampler %s", s->smp.vt->name);
            break;
        }
        t->parent = s->smp.vt->parent_of_last ? s->smp.vt->parent_of_last(s->smp.self) : -1;
        space_apply_conditions(&s->sp, t->values);
        if ((rc = space_check_values(&s->sp, t->values, err))) {
            tl_prefix(err, "sampler %s suggested a bad value", s->smp.vt->name);
            rc = TL_ERUNTIME;
            break;
        }
        if (!s->cfg.accept)
            break;
        why[0] = 0;
        if (s->cfg.accept(s->cfg.accept_ud, &s->sp, t->values, why, sizeof why))
            break;
        if (!why[0])
            snprintf(why, sizeof why, "rejected by the constraint");
        char key[64];
        reason_key(why, key, sizeof key);
        rejects_add(&rej, key, 1, why);
        if (attempt + 1 >= STUDY_MAX_REJECTS) {
            rc = tl_fail(err, TL_EINPUT,
                         "%s: sampler %s proposed %d candidates in a row for trial %d that break the "
                         "constraints (last: %s): loosen them or the search space",
                         s->cfg.name, s->smp.vt->name, STUDY_MAX_REJECTS, t->number, why);
            break;
        }
    }
    if (rej.total > 0 && (rc == 0 || rc == SAMPLER_EXHAUSTED)) {
        int r2 = rejects_store(s, &rej, err);
        if (r2)
            return r2;
    }
    return rc;
}

static int same_values(const double *a, const double *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
            return 0;
    return 1;
}

/* The first COMPLETE or PRUNED trial with a finite value and the values
 * of trial `number`, or -1.  Lock held. */
int study_find_duplicate(study *s, int number)
{
    const double *v = s->trials[number].values;
    for (int k = 0; k < number; k++) {
        const trial *t = &s->trials[k];
        if ((t->state == TRIAL_COMPLETE || t->state == TRIAL_PRUNED) && isfinite(t->value) &&
            same_values(t->values, v, s->sp.n))
            return k;
    }
    return -1;
}

int study_store_reused(study *s, int number, int src, tl_err *err)
{
    trial *t = &s->trials[number];
    t->state = s->trials[src].state;
    t->value = s->trials[src].value;
    t->budget = 0;
    t->finished = t->started;
    snprintf(t->reason, sizeof t->reason, "reused result of trial %d", src);
    char num[32];
    snprintf(num, sizeof num, "%d", src);
    int rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t, &s->meta[number], err);
    if (!rc)
        rc = s->st.vt->attr_set(s->st.self, s->study_id, number, "reused_from", num, err);
    return rc;
}
