/* hpo/study.c: the study: ask / report / tell on top of a storage, a
 * sampler and a scheduler, with resume and multi-process claims.
 *
 * Does: keep an in-memory view of the study's trials refreshed
 * incrementally from storage (rows whose change counter moved), claim
 * trial numbers and enforce the budget inside write transactions, requeue
 * trials of dead processes (a promoted one back to its last pause when the
 * scheduler and its saved state allow), keep paused trials' in-memory
 * states, end paused trials for schedulers (study_stop_paused: the state
 * released and its file deleted once committed), keep each trial's first
 * start and its accumulated run time, emit progress events outside the
 * lock.  Does not: sample or schedule (it calls the sampler and scheduler
 * interfaces), run objectives (executor.c), print.
 */
#include "hpo/study.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hpo/objective.h"
#include "hpo/sampler.h"
#include "hpo/scheduler.h"
#include "hpo/storage.h"

/* Stream salts: the sampler's and the objective's generators of one trial
 * are independent streams of the study seed. */
#define STREAM_SAMPLER 0x53414d504c450000ULL
#define STREAM_TRIAL 0x545249414c000000ULL

/* A paused trial ended by study_stop_paused, waiting for the commit to
 * release its state, delete its file and announce it. */
typedef struct stop_note {
    int trial;
    int state;
    double value, budget;
    char reason[256];
} stop_note;

struct study {
    study_config cfg;
    space sp;
    storage st;
    int study_id;
    sampler smp;
    scheduler sch;
    pthread_mutex_t mu;       /* recursive */
    trial *trials;            /* (cap) view of storage; numbers 0..ntrials-1 */
    trial_meta *meta;         /* (cap) */
    const trial **ptrs;       /* (cap) trials[k] as pointers, for hooks */
    double *run_t0;           /* (cap) when this process last claimed trial k; 0: not running here */
    int ntrials, cap;
    int64_t seq;              /* storage change counter of the view */
    void **states;            /* (cap_states) kept objective states by trial number */
    int cap_states;
    const objective *obj;
    study_progress_fn progress;
    void *progress_ud;
    char host[64];
    long pid;
    int depth;                /* nesting of st_begin (mirrors the storage's) */
    stop_note *stops;         /* (nstops) ended in the open transaction */
    int nstops, cap_stops;
    stop_note *done;          /* (ndone) committed, not yet released and announced */
    int ndone, cap_done;
};

void study_config_default(study_config *c)
{
    memset(c, 0, sizeof *c);
    c->trials = 20;
    c->direction = STUDY_MINIMIZE;
    snprintf(c->metric, sizeof c->metric, "value");
    snprintf(c->sampler, sizeof c->sampler, "random");
    c->grid_points = 5;
    c->workers = 1;
    snprintf(c->scheduler, sizeof c->scheduler, "fifo");
    c->min_budget = 1;
    c->max_budget = 1;
    c->eta = 3;
    c->median_warmup_steps = 0;
    c->median_startup_trials = 5;
    c->median_min_trials = 1;
    c->median_interval_steps = 1;
    c->max_consecutive_failures = 5;
    snprintf(c->acquisition, sizeof c->acquisition, "logei");
    c->xi = 0; /* standardized units; 0.01 suits pi, but stalls ei short of the optimum */
    c->beta = 2;
    c->n_init = 0; /* automatic: max(5, 2d+2) */
    c->pbt_population = 8;
    c->pbt_interval = 1;
    c->pbt_quantile = 0.25;
    c->pbt_factors[0] = 0.8;
    c->pbt_factors[1] = 1.2;
    c->pbt_nfactors = 2;
    c->pbt_resample_probability = 0.25;
    c->nas_population = 16;
    c->nas_sample_size = 4;
}

const char *study_job_kind_str(int kind)
{
    static const char *const names[JOB_KIND_COUNT] = { "new", "resume", "wait", "done" };
    return kind >= 0 && kind < JOB_KIND_COUNT ? names[kind] : "?";
}

const char *study_decision_str(int d)
{
    static const char *const names[DECIDE_COUNT] = { "continue", "stop", "pause", "exploit" };
    return d >= 0 && d < DECIDE_COUNT ? names[d] : "?";
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void lock(study *s)
{
    pthread_mutex_lock(&s->mu);
}

static void unlock(study *s)
{
    pthread_mutex_unlock(&s->mu);
}

static int st_begin(study *s, tl_err *err)
{
    int rc = s->st.vt->begin(s->st.self, err);
    if (!rc)
        s->depth++;
    return rc;
}

/* Forgets the view (after a rollback it may hold changes storage does
 * not have): the next sync reloads every trial. */
static void view_reset(study *s)
{
    for (int k = 0; k < s->ntrials; k++)
        trial_free(&s->trials[k]);
    s->ntrials = 0;
    s->seq = 0;
}

/* Moves the stops of the transaction just committed to the done list
 * (on failure they stay pending and are dropped by the rollback). */
static int stops_commit(study *s)
{
    if (s->nstops == 0)
        return 0;
    if (s->ndone + s->nstops > s->cap_done) {
        int nc = s->cap_done ? s->cap_done : 16;
        while (nc < s->ndone + s->nstops)
            nc *= 2;
        stop_note *p = realloc(s->done, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        s->done = p;
        s->cap_done = nc;
    }
    memcpy(s->done + s->ndone, s->stops, (size_t)s->nstops * sizeof *s->stops);
    s->ndone += s->nstops;
    s->nstops = 0;
    return 0;
}

static int st_commit(study *s, tl_err *err)
{
    if (s->depth > 0)
        s->depth--;
    int rc = s->st.vt->commit(s->st.self, err);
    if (rc) {
        s->depth = 0;
        s->nstops = 0;
        view_reset(s);
    } else if (s->depth == 0 && stops_commit(s)) {
        /* committed, but no room to remember the clean-up: the trials are
         * ended all the same; their states stay until study_close and
         * their files on disk */
        s->nstops = 0;
    }
    return rc;
}

static void st_rollback(study *s)
{
    s->st.vt->rollback(s->st.self);
    s->depth = 0;
    s->nstops = 0;
    view_reset(s);
}

/* ---- the view ---- */

static int reserve(study *s, int n, tl_err *err)
{
    if (n <= s->cap)
        return 0;
    int nc = s->cap ? s->cap : 64;
    while (nc < n)
        nc *= 2;
    trial *t = realloc(s->trials, (size_t)nc * sizeof *t);
    if (!t)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->trials = t;
    trial_meta *m = realloc(s->meta, (size_t)nc * sizeof *m);
    if (!m)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->meta = m;
    const trial **p = realloc(s->ptrs, (size_t)nc * sizeof *p);
    if (!p)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->ptrs = p;
    double *t0 = realloc(s->run_t0, (size_t)nc * sizeof *t0);
    if (!t0)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->run_t0 = t0;
    for (int k = s->cap; k < nc; k++) {
        memset(&s->trials[k], 0, sizeof s->trials[k]);
        memset(&s->meta[k], 0, sizeof s->meta[k]);
        s->run_t0[k] = 0;
    }
    s->cap = nc;
    for (int k = 0; k < nc; k++)
        s->ptrs[k] = &s->trials[k];
    return 0;
}

/* Stores a loaded row into the view. */
static int on_row(void *ud, const trial *t, const trial_meta *m, tl_err *err)
{
    study *s = ud;
    if (t->number < 0)
        return tl_fail(err, TL_ERUNTIME, "study: negative trial number in storage");
    if (reserve(s, t->number + 1, err))
        return TL_ERUNTIME;
    while (s->ntrials <= t->number) {
        /* numbers are dense; a gap only appears transiently */
        if (trial_init(&s->trials[s->ntrials], s->sp.n))
            return tl_fail(err, TL_ERUNTIME, "study: out of memory");
        s->trials[s->ntrials].number = s->ntrials;
        s->trials[s->ntrials].state = TRIAL_WAITING;
        s->ntrials++;
    }
    trial *dst = &s->trials[t->number];
    trial_free(dst);
    if (trial_copy(dst, t))
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    s->meta[t->number] = *m;
    return 0;
}

/* Brings the view up to date with storage.  Lock held. */
static int sync_view(study *s, tl_err *err)
{
    return s->st.vt->trials_since(s->st.self, s->study_id, &s->sp, &s->seq, on_row, s, err);
}

/* Locks s, opens a write transaction and brings the view up to date.
 * Returns 0 with the lock held and the transaction open, or an error code
 * with neither (a failed sync is rolled back). */
static int write_begin(study *s, tl_err *err)
{
    int rc;
    lock(s);
    if ((rc = st_begin(s, err))) {
        unlock(s);
        return rc;
    }
    if ((rc = sync_view(s, err))) {
        st_rollback(s);
        unlock(s);
    }
    return rc;
}

static void make_ctx(study *s, sched_ctx *c)
{
    c->s = s;
    c->cfg = &s->cfg;
    c->sp = &s->sp;
    c->trials = s->ptrs;
    c->ntrials = s->ntrials;
    c->direction = s->cfg.direction;
}

static int write_trial(study *s, int number, tl_err *err)
{
    return s->st.vt->trial_update(s->st.self, s->study_id, &s->trials[number], &s->meta[number],
                                  err);
}

static int pid_dead(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

static void state_file(const study *s, int number, char *buf, size_t n)
{
    snprintf(buf, n, "%s/trial-%d.state", s->cfg.state_dir, number);
}

/* The record study_tell keeps of a trial's last pause (STUDY_ATTR_PAUSED_AT). */
typedef struct pause_rec {
    double budget, value, time;
    int step;
} pause_rec;

/* Reads trial k's pause record: 1 found, 0 absent or unreadable, -1 error. */
static int pause_get(study *s, int k, pause_rec *pr, tl_err *err)
{
    char buf[512];
    int got = s->st.vt->attr_get(s->st.self, s->study_id, k, STUDY_ATTR_PAUSED_AT, buf, sizeof buf,
                                 err);
    if (got != 1)
        return got < 0 ? -1 : 0;
    cJSON *o = cJSON_Parse(buf);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "budget");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "step");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time");
    int ok = cJSON_IsNumber(b) && cJSON_IsNumber(st) && cJSON_IsNumber(tm);
    if (ok) {
        pr->budget = b->valuedouble;
        pr->step = (int)st->valuedouble;
        pr->time = tm->valuedouble;
        pr->value = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    cJSON_Delete(o);
    return ok;
}

/* Puts dead trial k, which had paused before the run it died in, back to
 * PAUSED as it was then: budget, intermediate values up to the pause's
 * step, value.  Only when the scheduler has a requeued hook and the state
 * saved at that pause is on disk, no newer than the pause record (a file
 * written after it belongs to a later pause that never committed).
 * *done = 1 when it did.  Lock held, inside a write transaction. */
static int back_to_pause(study *s, int k, int *done, tl_err *err)
{
    *done = 0;
    trial *t = &s->trials[k];
    pause_rec pr;
    int got = pause_get(s, k, &pr, err);
    if (got < 0)
        return TL_ERUNTIME;
    if (!got || !(pr.budget > 0))
        return 0;
    char path[600];
    state_file(s, k, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0 ||
        (double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec > pr.time)
        return 0;
    int kept = 0;
    for (int i = 0; i < t->nsteps; i++)
        if (t->steps[i] <= pr.step) {
            t->steps[kept] = t->steps[i];
            t->inter[kept] = t->inter[i];
            kept++;
        }
    t->nsteps = kept;
    if (s->st.vt->inter_clear(s->st.self, s->study_id, k, err))
        return TL_ERUNTIME;
    for (int i = 0; i < kept; i++)
        if (s->st.vt->inter_add(s->st.self, s->study_id, k, t->steps[i], t->inter[i], err))
            return TL_ERUNTIME;
    long pid = s->meta[k].pid;
    t->state = TRIAL_PAUSED;
    t->budget = pr.budget;
    t->value = pr.value;
    t->finished = pr.time;
    snprintf(t->reason, sizeof t->reason,
             "back to its pause at budget %g: process %ld died while running it", pr.budget, pid);
    if (write_trial(s, k, err))
        return TL_ERUNTIME;
    sched_ctx ctx;
    make_ctx(s, &ctx);
    int rc = s->sch.vt->requeued(s->sch.self, &ctx, t, err);
    if (rc)
        return rc;
    *done = 1;
    return 0;
}

/* Puts RUNNING trials of dead processes on this host back: to their last
 * pause (back_to_pause) or in the queue from scratch.  Lock held, inside a
 * write transaction. */
static int requeue_dead(study *s, tl_err *err)
{
    for (int k = 0; k < s->ntrials; k++) {
        trial *t = &s->trials[k];
        trial_meta *m = &s->meta[k];
        if (t->state != TRIAL_RUNNING || m->pid == s->pid || strcmp(m->host, s->host) != 0 ||
            !pid_dead(m->pid))
            continue;
        int done = 0, rc;
        if (s->sch.vt && s->sch.vt->requeued && (rc = back_to_pause(s, k, &done, err)))
            return rc;
        if (done)
            continue;
        snprintf(t->reason, sizeof t->reason, "requeued: process %ld died while running it",
                 m->pid);
        t->state = TRIAL_WAITING;
        t->value = NAN;
        t->budget = 0;
        t->nsteps = 0;
        if (s->st.vt->inter_clear(s->st.self, s->study_id, k, err) || write_trial(s, k, err))
            return TL_ERUNTIME;
    }
    return 0;
}

/* The all-fail stop: TL_ERUNTIME when the first N finished trials all failed. */
static int check_failures(study *s, tl_err *err)
{
    int n = s->cfg.max_consecutive_failures, failed = 0, ok = 0, last = -1;
    if (n <= 0)
        return 0;
    for (int k = 0; k < s->ntrials; k++) {
        int st = s->trials[k].state;
        if (st == TRIAL_FAILED) {
            failed++;
            if (last < 0 || s->trials[k].finished >= s->trials[last].finished)
                last = k;
        } else if (st == TRIAL_COMPLETE || st == TRIAL_PRUNED) {
            ok++;
        }
    }
    if (ok == 0 && failed >= n)
        return tl_fail(err, TL_ERUNTIME,
                       "%s: the first %d trials all failed (last, trial %d: %s); stopping the "
                       "study (max_consecutive_failures = %d)",
                       s->cfg.name, failed, last, s->trials[last].reason[0] ? s->trials[last].reason
                                                                            : "no reason given",
                       n);
    return 0;
}

static void fill_job(study *s, int number, int kind, trial_job *job)
{
    const trial *t = &s->trials[number];
    job->kind = kind;
    job->number = number;
    job->nparams = s->sp.n;
    memcpy(job->values, t->values, (size_t)s->sp.n * sizeof(double));
    job->budget = s->meta[number].target;
    job->budget_done = kind == JOB_RESUME ? t->budget : 0;
    job->parent = t->parent;
    rng seeder;
    rng_seed(&seeder, s->cfg.seed, STREAM_TRIAL + (uint64_t)number);
    job->seed = rng_u64(&seeder);
    rng_seed(&job->rng, job->seed, 0);
    job->obj_state = NULL;
    if (number < s->cap_states) {
        job->obj_state = s->states[number];
        s->states[number] = NULL;
    }
    state_file(s, number, job->state_path, sizeof job->state_path);
    job->sp = &s->sp;
}

static void claim(study *s, int number, double target)
{
    trial *t = &s->trials[number];
    trial_meta *m = &s->meta[number];
    double now = unix_now();
    t->state = TRIAL_RUNNING;
    if (!isfinite(t->started) || !(t->started > 0))
        t->started = now; /* the first start: promotions and re-runs keep it */
    s->run_t0[number] = now;
    t->reason[0] = 0;
    m->target = target;
    snprintf(m->host, sizeof m->host, "%s", s->host);
    m->pid = s->pid;
    m->worker = omp_get_thread_num();
}

static void emit(study *s, const study_event *ev)
{
    study_progress_fn fn;
    void *ud;
    lock(s);
    fn = s->progress;
    ud = s->progress_ud;
    unlock(s);
    if (fn)
        fn(ud, ev);
}

static void state_release(study *s, void *state);

/* Finishes the committed stops: releases their kept states, deletes their
 * state files and emits their FINISHED events.  Call with the lock NOT
 * held (it takes it to collect the list). */
static void flush_stops(study *s)
{
    lock(s);
    if (s->ndone == 0 || s->depth > 0) {
        unlock(s);
        return;
    }
    stop_note *v = s->done;
    int n = s->ndone;
    s->done = NULL;
    s->ndone = s->cap_done = 0;
    for (int i = 0; i < n; i++) {
        int k = v[i].trial;
        if (k >= 0 && k < s->cap_states) {
            state_release(s, s->states[k]);
            s->states[k] = NULL;
        }
        char path[600];
        state_file(s, k, path, sizeof path);
        unlink(path); /* a missing file is fine */
    }
    unlock(s);
    for (int i = 0; i < n; i++) {
        study_event ev = { .kind = STUDY_EV_FINISHED, .trial = v[i].trial, .state = v[i].state,
                           .value = v[i].value, .budget = v[i].budget, .reason = v[i].reason };
        emit(s, &ev);
    }
    free(v);
}


/* ---- constraints and duplicates (study_config.accept, reuse_duplicates) ---- */

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
static int suggest_accepted(study *s, trial *t, rng *r, tl_err *err)
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
static int find_duplicate(study *s, int number)
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

/* One ask; when it stored a reused duplicate instead of handing out a job,
 * *reused gets its number (else -1) and the caller asks again. */
static int ask_once(study *s, trial_job *job, int *reused, tl_err *err)
{
    *reused = -1;
    memset(job, 0, sizeof *job);
    job->kind = JOB_DONE;
    job->number = -1;
    job->parent = -1;
    job->sp = &s->sp;
    sched_ctx ctx;
    sched_next how = { SCHED_NONE, -1, NAN };
    int rc = 0, number = -1;
    if ((rc = write_begin(s, err)))
        return rc;
    if ((rc = requeue_dead(s, err)) || (rc = check_failures(s, err)))
        goto fail;
    for (int k = 0; k < s->ntrials; k++)
        if (s->trials[k].state == TRIAL_WAITING) {
            number = k;
            break;
        }
    if (number >= 0) {
        double target = s->meta[number].target;
        if (!(target > 0))
            target = s->cfg.max_budget;
        how.kind = SCHED_NEW;
        how.budget = target;
        claim(s, number, target);
        if ((rc = write_trial(s, number, err)))
            goto fail;
        fill_job(s, number, JOB_NEW, job);
        job->rerun = 1;
    } else {
        make_ctx(s, &ctx);
        if ((rc = s->sch.vt->next(s->sch.self, &ctx, &how, err)))
            goto fail;
        if (how.kind == SCHED_NEW && s->ntrials >= s->cfg.trials)
            how.kind = SCHED_NONE;
        if (how.kind == SCHED_NEW) {
            if ((rc = reserve(s, s->ntrials + 1, err)))
                goto fail;
            number = s->ntrials;
            trial *t = &s->trials[number];
            if (trial_init(t, s->sp.n)) {
                rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
                goto fail;
            }
            t->number = number;
            s->ntrials++;
            rng r;
            rng_seed(&r, s->cfg.seed, STREAM_SAMPLER + (uint64_t)number);
            rc = suggest_accepted(s, t, &r, err);
            if (rc == SAMPLER_EXHAUSTED) {
                trial_free(t);
                s->ntrials--;
                how.kind = SCHED_NONE;
                rc = 0;
            } else if (rc) {
                trial_free(t);
                s->ntrials--;
                goto fail;
            } else {
                if (!(how.budget > 0))
                    how.budget = s->cfg.max_budget;
                memset(&s->meta[number], 0, sizeof s->meta[number]);
                claim(s, number, how.budget);
                int src = s->cfg.reuse_duplicates ? find_duplicate(s, number) : -1;
                if (src >= 0) {
                    /* Evaluated already: store its result, run nothing. */
                    t->state = s->trials[src].state;
                    t->value = s->trials[src].value;
                    t->budget = 0;
                    t->finished = t->started;
                    snprintf(t->reason, sizeof t->reason, "reused result of trial %d", src);
                    char num[32];
                    snprintf(num, sizeof num, "%d", src);
                    if ((rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t,
                                                     &s->meta[number], err)) ||
                        (rc = s->st.vt->attr_set(s->st.self, s->study_id, number, "reused_from",
                                                 num, err)))
                        goto fail;
                    *reused = number;
                    number = -1; /* no job, no scheduler hook, no STARTED event */
                } else {
                    if ((rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t,
                                                     &s->meta[number], err)))
                        goto fail;
                    fill_job(s, number, JOB_NEW, job);
                }
            }
        } else if (how.kind == SCHED_PROMOTE) {
            number = how.trial;
            if (number < 0 || number >= s->ntrials || s->trials[number].state != TRIAL_PAUSED) {
                rc = tl_fail(err, TL_ERUNTIME, "scheduler %s promoted trial %d, which is not paused",
                             s->sch.vt->name, number);
                goto fail;
            }
            claim(s, number, how.budget);
            if ((rc = write_trial(s, number, err)))
                goto fail;
            fill_job(s, number, JOB_RESUME, job);
        } else {
            job->kind = how.kind == SCHED_WAIT ? JOB_WAIT : JOB_DONE;
        }
    }
    if (number >= 0 && s->sch.vt->started) {
        make_ctx(s, &ctx);
        if ((rc = s->sch.vt->started(s->sch.self, &ctx, &s->trials[number], &how, err)))
            goto fail;
    }
    if ((rc = st_commit(s, err)))
        goto fail;
    unlock(s);
    flush_stops(s);
    if (number >= 0) {
        study_event ev = { .kind = STUDY_EV_STARTED, .trial = number, .state = TRIAL_RUNNING,
                           .resumed = job->kind == JOB_RESUME, .budget = job->budget,
                           .value = NAN, .reason = "" };
        emit(s, &ev);
    }
    return 0;
fail:
    if (job->obj_state && number >= 0 && number < s->cap_states) {
        s->states[number] = job->obj_state; /* give the state back */
        job->obj_state = NULL;
    }
    st_rollback(s);
    job->kind = JOB_DONE;
    unlock(s);
    return rc ? rc : TL_ERUNTIME;
}

int study_ask(study *s, trial_job *job, tl_err *err)
{
    for (;;) {
        int reused = -1;
        int rc = ask_once(s, job, &reused, err);
        if (rc || reused < 0)
            return rc;
        trial t;
        memset(&t, 0, sizeof t);
        if (study_get_trial(s, reused, &t, NULL) == 0) {
            study_event ev = { .kind = STUDY_EV_FINISHED, .trial = reused, .state = t.state,
                               .value = t.value, .budget = 0, .reason = t.reason };
            emit(s, &ev);
        }
        trial_free(&t);
    }
}

/* The running trial `number` in the view, or NULL with err filled. */
static trial *running_trial(study *s, int number, tl_err *err)
{
    if (number < 0 || number >= s->ntrials) {
        tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        return NULL;
    }
    trial *t = &s->trials[number];
    if (t->state != TRIAL_RUNNING) {
        tl_fail(err, TL_EINPUT, "%s: trial %d is %s, not running", s->cfg.name, number,
                trial_state_str(t->state));
        return NULL;
    }
    return t;
}

int study_report(study *s, int number, int step, double value, double budget_used, int *decision,
                 int *exploit_src, tl_err *err)
{
    int dec = DECIDE_CONTINUE, src = -1, rc;
    sched_ctx ctx;
    if ((rc = write_begin(s, err)))
        return rc;
    trial *t;
    if (!(t = running_trial(s, number, err))) {
        rc = TL_EINPUT;
        goto fail;
    }
    if (trial_set_inter(t, step, value)) {
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
        goto fail;
    }
    t->value = value;
    if (isfinite(budget_used))
        t->budget = budget_used;
    if ((rc = s->st.vt->inter_add(s->st.self, s->study_id, number, step, value, err)) ||
        (rc = write_trial(s, number, err)))
        goto fail;
    make_ctx(s, &ctx);
    if ((rc = s->sch.vt->report(s->sch.self, &ctx, t, step, value, &dec, &src, err)))
        goto fail;
    if (dec == DECIDE_EXPLOIT && (src < 0 || src >= s->ntrials)) {
        rc = tl_fail(err, TL_ERUNTIME, "scheduler %s: exploit of trial %d, which does not exist",
                     s->sch.vt->name, src);
        goto fail;
    }
    if ((rc = st_commit(s, err)))
        goto fail;
    double budget = t->budget;
    unlock(s);
    flush_stops(s);
    if (decision)
        *decision = dec;
    if (exploit_src)
        *exploit_src = src;
    study_event ev = { .kind = STUDY_EV_REPORT, .trial = number, .state = TRIAL_RUNNING,
                       .step = step, .value = value, .budget = budget, .decision = dec,
                       .reason = "" };
    emit(s, &ev);
    return 0;
fail:
    st_rollback(s);
    unlock(s);
    return rc;
}

/* Adds the seconds of the run that ends now to trial number's
 * STUDY_ATTR_RUN_SECONDS (when this process claimed it), for a trial that
 * pauses now or has paused before (one that runs once has finished -
 * started).  Lock held, inside a write transaction. */
static int add_run_time(study *s, int number, double now, int pausing, tl_err *err)
{
    double t0 = s->run_t0[number];
    if (!(t0 > 0))
        return 0;
    char buf[64];
    double total = 0;
    int got = s->st.vt->attr_get(s->st.self, s->study_id, number, STUDY_ATTR_RUN_SECONDS, buf,
                                 sizeof buf, err);
    if (got < 0)
        return TL_ERUNTIME;
    if (got == 0 && !pausing) {
        s->run_t0[number] = 0;
        return 0;
    }
    if (got == 1) {
        char *end;
        total = strtod(buf, &end);
        if (end == buf || !isfinite(total))
            total = 0;
    }
    total += now > t0 ? now - t0 : 0;
    snprintf(buf, sizeof buf, "%.6f", total);
    int rc = s->st.vt->attr_set(s->st.self, s->study_id, number, STUDY_ATTR_RUN_SECONDS, buf, err);
    if (!rc)
        s->run_t0[number] = 0;
    return rc;
}

int study_stop_paused(study *s, int number, int state, const char *reason, tl_err *err)
{
    if (state != TRIAL_PRUNED && state != TRIAL_FAILED)
        return tl_fail(err, TL_EINPUT, "%s: trial %d: a paused trial can only be stopped as pruned "
                       "or failed, not %s", s->cfg.name, number, trial_state_str(state));
    int rc;
    lock(s);
    int nested = s->depth > 0; /* inside a hook: the view is current, and hooks hold pointers into it */
    if ((rc = st_begin(s, err)))
        goto out;
    if (!nested && (rc = sync_view(s, err)))
        goto fail;
    if (number < 0 || number >= s->ntrials) {
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        goto fail;
    }
    trial *t = &s->trials[number];
    if (t->state != TRIAL_PAUSED) {
        rc = tl_fail(err, TL_EINPUT, "%s: trial %d is %s, not paused", s->cfg.name, number,
                     trial_state_str(t->state));
        goto fail;
    }
    if (s->nstops == s->cap_stops) {
        int nc = s->cap_stops ? 2 * s->cap_stops : 16;
        stop_note *p = realloc(s->stops, (size_t)nc * sizeof *p);
        if (!p) {
            rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
            goto fail;
        }
        s->stops = p;
        s->cap_stops = nc;
    }
    t->state = state;
    t->finished = unix_now();
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
    if ((rc = write_trial(s, number, err)))
        goto fail;
    stop_note *sn = &s->stops[s->nstops++];
    sn->trial = number;
    sn->state = state;
    sn->value = t->value;
    sn->budget = t->budget;
    snprintf(sn->reason, sizeof sn->reason, "%s", t->reason);
    if ((rc = st_commit(s, err)))
        goto fail;
    unlock(s);
    flush_stops(s); /* nested in a hook: waits for the outermost commit */
    return 0;
fail:
    st_rollback(s); /* as every nested write: the whole transaction */
out:
    unlock(s);
    return rc;
}

int study_tell(study *s, int number, int state, double value, const char *reason, tl_err *err)
{
    if (state != TRIAL_COMPLETE && state != TRIAL_PRUNED && state != TRIAL_FAILED &&
        state != TRIAL_PAUSED)
        return tl_fail(err, TL_EINPUT, "%s: trial %d: cannot tell state %s", s->cfg.name, number,
                       trial_state_str(state));
    int rc;
    sched_ctx ctx;
    char why[256];
    if ((rc = write_begin(s, err)))
        return rc;
    trial *t;
    if (!(t = running_trial(s, number, err))) {
        rc = TL_EINPUT;
        goto fail;
    }
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
    if (state == TRIAL_COMPLETE && !isfinite(value)) {
        state = TRIAL_FAILED;
        snprintf(t->reason, sizeof t->reason, "objective returned %s%s%s",
                 isnan(value) ? "nan" : "inf", reason && *reason ? ": " : "", reason ? reason : "");
    }
    if ((state == TRIAL_PRUNED || state == TRIAL_PAUSED) && isnan(value) && t->nsteps > 0) {
        double v;
        if (trial_inter_at(t, trial_last_step(t), &v))
            value = v;
    }
    t->state = state;
    t->value = value;
    if (state == TRIAL_COMPLETE && !(t->budget > 0) && isfinite(s->meta[number].target))
        t->budget = s->meta[number].target;
    double now = unix_now();
    t->finished = now; /* paused: when it stopped running, until it runs again */
    if ((rc = write_trial(s, number, err)) || (rc = add_run_time(s, number, now, state == TRIAL_PAUSED, err)))
        goto fail;
    if (state == TRIAL_PAUSED) {
        char rec[256], vtxt[32];
        if (isfinite(value))
            snprintf(vtxt, sizeof vtxt, "%.17g", value);
        else
            snprintf(vtxt, sizeof vtxt, "null");
        snprintf(rec, sizeof rec, "{\"budget\":%.17g,\"step\":%d,\"value\":%s,\"time\":%.6f}",
                 isfinite(t->budget) ? t->budget : 0.0, trial_last_step(t), vtxt, now);
        if ((rc = s->st.vt->attr_set(s->st.self, s->study_id, number, STUDY_ATTR_PAUSED_AT, rec,
                                     err)))
            goto fail;
    }
    if (s->sch.vt->tell) {
        make_ctx(s, &ctx);
        if ((rc = s->sch.vt->tell(s->sch.self, &ctx, t, err)))
            goto fail;
    }
    if ((rc = st_commit(s, err)))
        goto fail;
    snprintf(why, sizeof why, "%s", t->reason);
    double budget = t->budget;
    unlock(s);
    flush_stops(s);
    study_event ev = { .kind = STUDY_EV_FINISHED, .trial = number, .state = state,
                       .value = value, .budget = budget, .reason = why };
    emit(s, &ev);
    return 0;
fail:
    st_rollback(s);
    unlock(s);
    return rc;
}

int study_enqueue(study *s, const double *values, int *number, tl_err *err)
{
    int rc;
    if ((rc = write_begin(s, err)))
        return rc;
    if (s->ntrials >= s->cfg.trials) {
        rc = tl_fail(err, TL_EINPUT, "%s: cannot enqueue: the budget of %d trials is used",
                     s->cfg.name, s->cfg.trials);
        goto fail;
    }
    double v[SPACE_MAX_PARAMS];
    memcpy(v, values, (size_t)s->sp.n * sizeof *v);
    space_apply_conditions(&s->sp, v);
    if ((rc = space_check_values(&s->sp, v, err)))
        goto fail;
    if ((rc = reserve(s, s->ntrials + 1, err)))
        goto fail;
    int n = s->ntrials;
    trial *t = &s->trials[n];
    if (trial_init(t, s->sp.n)) {
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
        goto fail;
    }
    t->number = n;
    t->state = TRIAL_WAITING;
    memcpy(t->values, v, (size_t)s->sp.n * sizeof *v);
    snprintf(t->reason, sizeof t->reason, "enqueued");
    s->ntrials++;
    memset(&s->meta[n], 0, sizeof s->meta[n]);
    s->meta[n].target = NAN;
    if ((rc = s->st.vt->trial_create(s->st.self, s->study_id, &s->sp, t, &s->meta[n], err)) ||
        (rc = st_commit(s, err)))
        goto fail;
    if (number)
        *number = n;
    unlock(s);
    return 0;
fail:
    st_rollback(s);
    unlock(s);
    return rc;
}

/* ---- attributes, values, parents ---- */

static int attr_set(study *s, int number, const char *key, const char *value, tl_err *err)
{
    int rc;
    lock(s);
    if (!(rc = st_begin(s, err))) {
        rc = s->st.vt->attr_set(s->st.self, s->study_id, number, key, value, err);
        if (rc)
            st_rollback(s);
        else
            rc = st_commit(s, err);
    }
    unlock(s);
    return rc;
}

int study_trial_attr_set(study *s, int trial, const char *key, const char *value, tl_err *err)
{
    if (trial < 0)
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, trial);
    return attr_set(s, trial, key, value, err);
}

int study_attr_set(study *s, const char *key, const char *value, tl_err *err)
{
    return attr_set(s, -1, key, value, err);
}

static int attr_get(study *s, int number, const char *key, char *buf, size_t n)
{
    lock(s);
    int r = s->st.vt->attr_get(s->st.self, s->study_id, number, key, buf, n, NULL);
    unlock(s);
    return r;
}

int study_trial_attr_get(study *s, int trial, const char *key, char *buf, size_t n)
{
    return trial < 0 ? 0 : attr_get(s, trial, key, buf, n);
}

int study_attr_get(study *s, const char *key, char *buf, size_t n)
{
    return attr_get(s, -1, key, buf, n);
}

/* Runs op on trial `number` of the view inside a write transaction. */
static int trial_write(study *s, int number, int (*op)(study *, trial *, const void *, tl_err *),
                       const void *arg, tl_err *err)
{
    int rc;
    if ((rc = write_begin(s, err)))
        return rc;
    if (number < 0 || number >= s->ntrials) {
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
        goto fail;
    }
    if ((rc = op(s, &s->trials[number], arg, err)) || (rc = st_commit(s, err)))
        goto fail;
    unlock(s);
    return 0;
fail:
    st_rollback(s);
    unlock(s);
    return rc;
}

static int op_parent(study *s, trial *t, const void *arg, tl_err *err)
{
    t->parent = *(const int *)arg;
    return write_trial(s, t->number, err);
}

static int op_values(study *s, trial *t, const void *arg, tl_err *err)
{
    double v[SPACE_MAX_PARAMS];
    memcpy(v, arg, (size_t)s->sp.n * sizeof *v);
    space_apply_conditions(&s->sp, v);
    int rc = space_check_values(&s->sp, v, err);
    if (rc)
        return rc;
    memcpy(t->values, v, (size_t)s->sp.n * sizeof *v);
    return s->st.vt->trial_set_values(s->st.self, s->study_id, &s->sp, t->number, v, err);
}

int study_set_parent(study *s, int trial, int parent, tl_err *err)
{
    return trial_write(s, trial, op_parent, &parent, err);
}

int study_set_values(study *s, int trial, const double *values, tl_err *err)
{
    return trial_write(s, trial, op_values, values, err);
}

int study_get_values(study *s, int trial, double *values, tl_err *err)
{
    lock(s);
    sync_view(s, NULL);
    if (trial < 0 || trial >= s->ntrials) {
        unlock(s);
        return tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, trial);
    }
    memcpy(values, s->trials[trial].values, (size_t)s->sp.n * sizeof *values);
    unlock(s);
    return 0;
}

/* ---- snapshots and summaries ---- */

void study_trials_free(trial *t, int n)
{
    if (!t)
        return;
    for (int k = 0; k < n; k++)
        trial_free(&t[k]);
    free(t);
}

int study_trials(study *s, trial **out, int *n, tl_err *err)
{
    *out = NULL;
    *n = 0;
    lock(s);
    int rc = sync_view(s, err);
    if (rc) {
        unlock(s);
        return rc;
    }
    trial *t = calloc((size_t)(s->ntrials ? s->ntrials : 1), sizeof *t);
    if (!t) {
        unlock(s);
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    }
    for (int k = 0; k < s->ntrials; k++)
        if (trial_copy(&t[k], &s->trials[k])) {
            study_trials_free(t, k);
            unlock(s);
            return tl_fail(err, TL_ERUNTIME, "study: out of memory");
        }
    *n = s->ntrials;
    *out = t;
    unlock(s);
    return 0;
}

int study_get_trial(study *s, int number, trial *out, tl_err *err)
{
    lock(s);
    int rc = sync_view(s, err);
    if (!rc && (number < 0 || number >= s->ntrials))
        rc = tl_fail(err, TL_EINPUT, "%s: no trial %d", s->cfg.name, number);
    if (!rc && trial_copy(out, &s->trials[number]))
        rc = tl_fail(err, TL_ERUNTIME, "study: out of memory");
    unlock(s);
    return rc;
}

int study_best(study *s, int *number, double *value)
{
    int best = -1;
    lock(s);
    sync_view(s, NULL);
    for (int k = 0; k < s->ntrials; k++) {
        const trial *t = &s->trials[k];
        if (t->state != TRIAL_COMPLETE || !isfinite(t->value))
            continue;
        if (best < 0 || (s->cfg.direction == STUDY_MAXIMIZE ? t->value > s->trials[best].value
                                                            : t->value < s->trials[best].value))
            best = k;
    }
    if (best >= 0) {
        if (number)
            *number = best;
        if (value)
            *value = s->trials[best].value;
    }
    unlock(s);
    return best >= 0;
}

int study_counts(study *s, int *counts)
{
    for (int k = 0; k < TRIAL_STATE_COUNT; k++)
        counts[k] = 0;
    lock(s);
    sync_view(s, NULL);
    for (int k = 0; k < s->ntrials; k++)
        if (s->trials[k].state >= 0 && s->trials[k].state < TRIAL_STATE_COUNT)
            counts[s->trials[k].state]++;
    int n = s->ntrials;
    unlock(s);
    return n;
}

double study_budget_used(study *s)
{
    double sum = 0;
    lock(s);
    sync_view(s, NULL);
    for (int k = 0; k < s->ntrials; k++)
        sum += s->trials[k].budget;
    unlock(s);
    return sum;
}

const space *study_space(const study *s)
{
    return &s->sp;
}

const study_config *study_get_config(const study *s)
{
    return &s->cfg;
}

const char *study_storage_path(const study *s)
{
    return s->cfg.storage;
}

void study_set_progress(study *s, study_progress_fn fn, void *ud)
{
    lock(s);
    s->progress = fn;
    s->progress_ud = ud;
    unlock(s);
}

void study_set_objective(study *s, const objective *obj)
{
    lock(s);
    s->obj = obj;
    unlock(s);
}

/* ---- kept states ---- */

static void state_release(study *s, void *state)
{
    if (state && s->obj && s->obj->state_free)
        s->obj->state_free(s->obj->ud, state);
}

int study_state_put(study *s, int trial, void *state)
{
    if (trial < 0)
        return TL_EINPUT;
    lock(s);
    if (trial >= s->cap_states) {
        int nc = s->cap_states ? s->cap_states : 64;
        while (nc <= trial)
            nc *= 2;
        void **p = realloc(s->states, (size_t)nc * sizeof *p);
        if (!p) {
            unlock(s);
            return TL_ERUNTIME;
        }
        for (int k = s->cap_states; k < nc; k++)
            p[k] = NULL;
        s->states = p;
        s->cap_states = nc;
    }
    if (s->states[trial] != state)
        state_release(s, s->states[trial]);
    s->states[trial] = state;
    unlock(s);
    return 0;
}

void *study_state_take(study *s, int trial)
{
    void *st = NULL;
    lock(s);
    if (trial >= 0 && trial < s->cap_states) {
        st = s->states[trial];
        s->states[trial] = NULL;
    }
    unlock(s);
    return st;
}

void *study_state_peek(study *s, int trial)
{
    void *st = NULL;
    lock(s);
    if (trial >= 0 && trial < s->cap_states)
        st = s->states[trial];
    unlock(s);
    return st;
}

int study_state_copy(study *s, int src, void *dst, tl_err *err)
{
    int rc = 0;
    lock(s);
    void *from = src >= 0 && src < s->cap_states ? s->states[src] : NULL;
    if (!from)
        rc = tl_fail(err, TL_EINPUT, "%s: trial %d has no kept state to copy", s->cfg.name, src);
    else if (!s->obj || !s->obj->state_copy)
        rc = tl_fail(err, TL_EINPUT, "%s: the objective cannot copy states", s->cfg.name);
    else if (s->obj->state_copy(s->obj->ud, dst, from))
        rc = tl_fail(err, TL_ERUNTIME, "%s: copying the state of trial %d failed", s->cfg.name,
                     src);
    unlock(s);
    return rc;
}

/* ---- open and close ---- */

static int check_config(const study_config *c, tl_err *err)
{
    if (!c->name[0])
        return tl_fail(err, TL_EINPUT, "study.name: a study needs a name");
    if (c->trials < 1)
        return tl_fail(err, TL_EINPUT, "study.trials: must be >= 1, got %d", c->trials);
    if (c->direction != STUDY_MINIMIZE && c->direction != STUDY_MAXIMIZE)
        return tl_fail(err, TL_EINPUT, "study.direction: must be minimize or maximize");
    if (!(c->max_budget > 0) || !isfinite(c->max_budget))
        return tl_fail(err, TL_EINPUT, "study.max_budget: must be > 0, got %g", c->max_budget);
    if (!(c->min_budget > 0) || c->min_budget > c->max_budget)
        return tl_fail(err, TL_EINPUT, "study.min_budget: must be in (0, max_budget = %g], got %g",
                       c->max_budget, c->min_budget);
    if (c->grid_points < 1)
        return tl_fail(err, TL_EINPUT, "study.grid_points: must be >= 1, got %d", c->grid_points);
    if (c->max_consecutive_failures < 0)
        return tl_fail(err, TL_EINPUT, "study.max_consecutive_failures: must be >= 0");
    return 0;
}

void study_close(study *s)
{
    if (!s)
        return;
    if (s->smp.vt && s->smp.vt->free)
        s->smp.vt->free(s->smp.self);
    if (s->sch.vt && s->sch.vt->free)
        s->sch.vt->free(s->sch.self);
    if (s->st.vt)
        s->st.vt->close(s->st.self);
    for (int k = 0; k < s->cap_states; k++)
        state_release(s, s->states[k]);
    free(s->states);
    for (int k = 0; k < s->ntrials; k++)
        trial_free(&s->trials[k]);
    free(s->trials);
    free(s->meta);
    free(s->ptrs);
    free(s->run_t0);
    free(s->stops);
    free(s->done);
    space_free(&s->sp);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int study_open(study **out, const study_config *cfg, const space *sp, tl_err *err)
{
    return study_open_custom(out, cfg, sp, NULL, NULL, err);
}

int study_open_custom(study **out, const study_config *cfg, const space *sp,
                      const struct sampler_vt *smp, const struct scheduler_vt *sched, tl_err *err)
{
    *out = NULL;
    int rc;
    const sampler_vt *svt = smp;
    const scheduler_vt *cvt = sched;
    if ((rc = check_config(cfg, err)) ||
        (!svt && (rc = sampler_lookup(cfg->sampler, &svt, err))) ||
        (!cvt && (rc = scheduler_lookup(cfg->scheduler, &cvt, err))))
        return rc;
    if (sp->n < 1)
        return tl_fail(err, TL_EINPUT, "%s: the search space is empty", cfg->name);
    study *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "study: out of memory");
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    s->cfg = *cfg;
    if (!s->cfg.storage[0])
        snprintf(s->cfg.storage, sizeof s->cfg.storage, "runs/%.*s.db",
                 (int)(sizeof s->cfg.storage - 10), cfg->name);
    if (!s->cfg.state_dir[0])
        snprintf(s->cfg.state_dir, sizeof s->cfg.state_dir, "%.*s.states",
                 (int)(sizeof s->cfg.state_dir - 8), s->cfg.storage);
    s->pid = (long)getpid();
    if (gethostname(s->host, sizeof s->host - 1))
        snprintf(s->host, sizeof s->host, "localhost");
    s->host[sizeof s->host - 1] = 0;
    if ((rc = space_copy(&s->sp, sp, err)))
        goto fail;
    if ((rc = storage_sqlite_open(&s->st, s->cfg.storage, err)))
        goto fail;
    /* the algorithms first: requeueing below may call the scheduler */
    s->smp.vt = svt;
    if ((rc = svt->init(&s->smp.self, &s->sp, &s->cfg, s->cfg.seed, err))) {
        s->smp.vt = NULL;
        goto fail;
    }
    s->sch.vt = cvt;
    if ((rc = cvt->init(&s->sch.self, &s->cfg, &s->sp, err))) {
        s->sch.vt = NULL;
        goto fail;
    }

    int created = 0, stored_dir;
    char stored_metric[64];
    if ((rc = st_begin(s, err)))
        goto fail;
    rc = s->st.vt->study_open(s->st.self, cfg->name, cfg->direction, cfg->metric, cfg->seed,
                              &s->study_id, &created, &stored_dir, stored_metric,
                              sizeof stored_metric, err);
    if (!rc && created)
        rc = s->st.vt->space_save(s->st.self, s->study_id, &s->sp, err);
    if (!rc && !created) {
        space stored;
        space_init(&stored);
        rc = s->st.vt->space_load(s->st.self, s->study_id, &stored, err);
        if (!rc && (rc = space_compare(&stored, &s->sp, err)))
            tl_prefix(err, "%s: study '%s' was created with a different space", s->cfg.storage,
                      cfg->name);
        space_free(&stored);
        if (!rc && stored_dir != cfg->direction)
            rc = tl_fail(err, TL_EINPUT, "%s: study '%s' was created to %s, not to %s",
                         s->cfg.storage, cfg->name,
                         stored_dir == STUDY_MAXIMIZE ? "maximize" : "minimize",
                         cfg->direction == STUDY_MAXIMIZE ? "maximize" : "minimize");
        if (!rc && strcmp(stored_metric, cfg->metric) != 0)
            rc = tl_fail(err, TL_EINPUT, "%s: study '%s' optimizes metric '%s', not '%s'",
                         s->cfg.storage, cfg->name, stored_metric, cfg->metric);
    }
    if (!rc)
        rc = sync_view(s, err);
    if (!rc)
        rc = requeue_dead(s, err);
    if (rc) {
        st_rollback(s);
        goto fail;
    }
    if ((rc = st_commit(s, err)))
        goto fail;
    *out = s;
    return 0;
fail:
    study_close(s);
    return rc;
}
