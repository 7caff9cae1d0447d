/* tune/nas_inherit.c: weight inheritance for evolutionary NAS (see
 * nas_inherit.h): where a parent's state lives on disk, the child's
 * budget, the morph into the child's fresh session, and the record. */
#include "tune/nas_inherit.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/morph.h"

int nas_inherit_check(const config *c, const space *sp, int train, tl_err *err)
{
    if (!c->nas_inherit)
        return 0;
    if (strcmp(c->sampler, "evolution"))
        return tl_fail(err, TL_EINPUT,
                       "%s: nas.inherit: needs study.sampler = evolution (got %s): only a mutated child has a "
                       "parent to inherit from",
                       c->source, c->sampler);
    if (!train)
        return tl_fail(err, TL_EINPUT, "%s: nas.inherit: needs objective.type = train (weights to inherit)",
                       c->source);
    int arch = 0;
    for (int i = 0; i < sp->n; i++) {
        const char *k = sp->p[i].name;
        arch |= !strcmp(k, "model.layers") || !strcmp(k, "model.heads") || !strcmp(k, "model.d_model") ||
                !strcmp(k, "model.mlp_ratio") || !strcmp(k, "model.hidden") || !strncmp(k, "model.width", 11);
    }
    if (!arch)
        return tl_fail(err, TL_EINPUT,
                       "%s: nas.inherit: the [space] tunes no architecture key (model.layers, model.heads, "
                       "model.d_model, model.mlp_ratio, model.hidden, model.widthN)",
                       c->source);
    return 0;
}

/* <dir of job->state_path>/nas-N.state into buf. */
static void state_file(const trial_job *job, int n, char *buf, size_t len)
{
    const char *slash = strrchr(job->state_path, '/');
    int dl = slash ? (int)(slash - job->state_path) : 1;
    snprintf(buf, len, "%.*s/nas-%d.state", dl, slash ? job->state_path : ".", n);
}

/* The saved state of the job's parent (following a reused result to the
 * trial that trained it) into buf; returns 1 when it is on disk, else 0
 * with *who = the trial whose state was looked for. */
static int parent_state(study *st, const trial_job *job, char *buf, size_t len, int *who)
{
    int p = job->parent;
    *who = p;
    if (p < 0)
        return 0;
    state_file(job, p, buf, len);
    if (access(buf, R_OK) == 0)
        return 1;
    const char *slash = strrchr(job->state_path, '/'); /* a paused parent (asha): its trial-P.state */
    snprintf(buf, len, "%.*s/trial-%d.state", slash ? (int)(slash - job->state_path) : 1,
             slash ? job->state_path : ".", p);
    if (access(buf, R_OK) == 0)
        return 1;
    char from[32];
    if (study_trial_attr_get(st, p, "reused_from", from, sizeof from) == 1) {
        char *end;
        long q = strtol(from, &end, 10);
        if (end != from && q >= 0) {
            *who = (int)q;
            state_file(job, (int)q, buf, len);
            return access(buf, R_OK) == 0;
        }
    }
    return 0;
}

/* nas.child_epochs resolved: -1 is a third of train.epochs (at least 1)
 * under the fifo scheduler, the trial's budget (0) under any other. */
static int child_epochs(const config *c)
{
    if (c->nas_child_epochs >= 0)
        return c->nas_child_epochs;
    return strcmp(c->scheduler, "fifo") ? 0 : (c->epochs + 2) / 3;
}

void nas_inherit_adjust(config *c, study *st, const trial_job *job)
{
    char path[640];
    int who;
    if (!c->nas_inherit)
        return;
    int ce = child_epochs(c);
    if (job->parent < 0) {
        int se = c->nas_seed_epochs >= 0 ? c->nas_seed_epochs : ce;
        if (se > 0)
            c->epochs = se;
        return;
    }
    if (!parent_state(st, job, path, sizeof path, &who))
        return;
    if (ce > 0)
        c->epochs = ce;
    c->lr *= c->nas_child_lr_scale;
    if (c->nas_child_warmup > 0) { /* the fresh optimizer restarts gently on inherited weights */
        if (!strcmp(c->schedule, "cosine") || !strcmp(c->schedule, "constant"))
            snprintf(c->schedule, sizeof c->schedule, "%s",
                     !strcmp(c->schedule, "cosine") ? "warmup_cosine" : "warmup_constant");
        if (!strncmp(c->schedule, "warmup_", 7)) {
            c->warmup = c->nas_child_warmup;
            snprintf(c->warmup_unit, sizeof c->warmup_unit, "steps");
        }
    }
}

/* exact < 0: from scratch; moments: the child's optimizer continues the
 * parent's (1) or starts afresh (0). */
static void record(study *st, int number, int parent, const char *from, const char *what, int exact, int moments)
{
    char buf[400];
    if (!strcmp(from, "parent"))
        snprintf(buf, sizeof buf,
                 "{\"parent\": %d, \"from\": \"parent\", \"morph\": \"%.200s\", \"exact\": %d, "
                 "\"optimizer\": \"%s\"}",
                 parent, what, exact, moments ? "continued" : "reset");
    else
        snprintf(buf, sizeof buf, "{\"parent\": %d, \"from\": \"scratch\", \"why\": \"%.200s\"}", parent, what);
    for (char *q = buf; *q; q++) /* error texts may hold quotes: keep the JSON valid */
        if (*q == '\\')
            *q = '/';
    study_trial_attr_set(st, number, NAS_ATTR_INHERIT, buf, NULL);
}

/* Loads the parent's session from path into *ps. */
static int load_parent(session *ps, const char *path, const task_data *d, tl_err *err)
{
    config pc;
    int rc = session_config_of_ckpt(&pc, path, NULL, err);
    if (rc)
        return rc;
    if ((rc = session_new(ps, &pc, d, err)))
        return rc;
    if ((rc = session_resume(ps, path, err)))
        session_free(ps);
    return rc;
}

int nas_inherit_apply(study *st, const trial_job *job, const config *c, session *s, const task_data *d,
                      tl_err *err)
{
    if (job->parent < 0)
        return 0;
    char path[640], why[256];
    int who;
    if (!parent_state(st, job, path, sizeof path, &who)) {
        snprintf(why, sizeof why, "state of trial %d is gone", who);
        record(st, job->number, job->parent, "scratch", why, 0, 0);
        return 0;
    }
    session ps;
    memset(&ps, 0, sizeof ps);
    tl_err lerr = {0};
    if (load_parent(&ps, path, d, &lerr)) {
        snprintf(why, sizeof why, "state of trial %d unreadable: %.150s", who, lerr.msg);
        for (char *q = why; *q; q++)
            if (*q == '"')
                *q = '\'';
        record(st, job->number, job->parent, "scratch", why, 0, 0);
        return 0;
    }
    rng r;
    rng_seed(&r, job->seed, 19);
    morph_info info;
    optim *po = &ps.tr.opt, *co = &s->tr.opt; /* the moments travel when both run the same optimizer */
    int carry = c->nas_child_moments && s->has_trainer && ps.has_trainer && po->kind == co->kind;
    morph_moments mo = {po->m, po->v, co->m, co->v};
    int rc = morph_apply_moments(ps.model, s->model, carry ? &mo : NULL, &r, &info, err);
    if (!rc && info.moments) { /* continue the parent's step count: its bias correction fits the moments */
        co->t = po->t;
        co->mom_valid = po->mom_valid;
    }
    session_free(&ps);
    if (rc) {
        snprintf(why, sizeof why, "morph failed: %.150s", err->msg);
        record(st, job->number, job->parent, "scratch", why, 0, 0);
        return rc == TL_ERUNTIME ? rc : 0;
    }
    record(st, job->number, job->parent, "parent", info.desc, info.exact, info.moments);
    return 0;
}

int nas_inherit_save(const trial_job *job, const session *s, const config *cfg, tl_err *err)
{
    char path[640];
    state_file(job, job->number, path, sizeof path);
    char dir[640];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (mkdir(dir, 0777) && errno != EEXIST)
            return tl_fail(err, TL_ERUNTIME, "%s: cannot create: %s", dir, strerror(errno));
    }
    char *ini = config_to_string(cfg);
    if (!ini)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = session_save(s, ini, path, err);
    free(ini);
    return rc;
}

/* Marks trial n's state as kept: n itself and, for a reused result, the
 * trial that trained it. */
static void keep_state(study *st, int n, unsigned char *keep, int cap)
{
    if (n < 0 || n >= cap)
        return;
    keep[n] = 1;
    char from[32];
    if (study_trial_attr_get(st, n, "reused_from", from, sizeof from) == 1) {
        long q = strtol(from, NULL, 10);
        if (q >= 0 && q < cap)
            keep[q] = 1;
    }
}

int nas_inherit_cleanup(study *st, const config *c, int *removed, int *kept, tl_err *err)
{
    *removed = *kept = 0;
    if (!c->nas_inherit)
        return 0;
    trial *t = NULL;
    int nt = 0, rc = study_trials(st, &t, &nt, err);
    if (rc)
        return rc;
    int cap = 0;
    for (int k = 0; k < nt; k++)
        cap = t[k].number + 1 > cap ? t[k].number + 1 : cap;
    unsigned char *keep = calloc((size_t)cap + 1, 1);
    if (!keep) {
        study_trials_free(t, nt);
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    }
    /* the evolution's population (the last P evaluated trials by number,
     * hpo/sampler_evolution.c) and the parents of trials still in flight */
    int members = 0;
    for (int k = nt - 1; k >= 0; k--) {
        const trial *x = &t[k];
        if (x->state == TRIAL_RUNNING || x->state == TRIAL_WAITING)
            keep_state(st, x->parent, keep, cap);
        else if ((x->state == TRIAL_COMPLETE || x->state == TRIAL_PRUNED || x->state == TRIAL_PAUSED) &&
                 isfinite(x->value) && members < c->nas_population) {
            members++;
            keep_state(st, x->number, keep, cap);
        }
    }
    study_trials_free(t, nt);
    const char *dir = study_get_config(st)->state_dir;
    DIR *d = opendir(dir);
    if (!d) {
        free(keep);
        return 0; /* no state directory: nothing saved */
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        int n, len = 0;
        if (sscanf(e->d_name, "nas-%d.state%n", &n, &len) != 1 || e->d_name[len] || n < 0)
            continue;
        if (n < cap && keep[n]) {
            (*kept)++;
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0)
            (*removed)++;
    }
    closedir(d);
    free(keep);
    return 0;
}
