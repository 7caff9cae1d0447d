/* hpo/executor_mpi.c: rank 0's side of a study across MPI ranks (see
 * executor_mpi.h): the proxy objective that ships each job to a free
 * remote worker thread and answers that trial's calls with the real
 * study, and the byte states the study keeps for remote trials.
 *
 * Does: pick a free (rank, thread) slot, least-loaded rank first, in turn;
 * relay reports, exploit copies, values and attributes; record the ranks
 * a trial ran on; keep, save and load paused states as opaque bytes.
 * Does not: run trials (ranks > 0 do, executor_mpi_serve.c), look inside
 * a state, print.
 */
#include "hpo/executor_mpi.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/mpi_world.h"

/* ---- a state as the bytes of its saved file ---- */

typedef struct blob {
    size_t n;
    unsigned char *b;
} blob;

static void blob_free(void *ud, void *state)
{
    blob *b = state;
    if (b)
        free(b->b);
    free(b);
}

static int blob_copy(void *ud, void *dst, const void *src)
{
    blob *d = dst;
    const blob *s = src;
    unsigned char *p = malloc(s->n ? s->n : 1);
    if (!p)
        return 1;
    memcpy(p, s->b, s->n);
    free(d->b);
    d->b = p;
    d->n = s->n;
    return 0;
}

/* Writes the bytes to path.tmp, syncs, renames into place. */
static int blob_save(void *ud, const void *state, const char *path, tl_err *err)
{
    const blob *b = state;
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write", tmp);
    size_t at = 0;
    while (at < b->n) {
        ssize_t w = write(fd, b->b + at, b->n - at);
        if (w <= 0)
            break;
        at += (size_t)w;
    }
    int ok = at == b->n && fsync(fd) == 0;
    ok &= close(fd) == 0;
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        return tl_fail(err, TL_ERUNTIME, "%s: write failed", path);
    }
    return 0;
}

static int blob_load(void *ud, void **state, const char *path, tl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tl_fail(err, TL_EINPUT, "%s: cannot read", path);
    blob *b = calloc(1, sizeof *b);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (b && n >= 0)
        b->b = malloc((size_t)n + 1);
    if (!b || n < 0 || !b->b || fread(b->b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        blob_free(NULL, b);
        return tl_fail(err, TL_ERUNTIME, "%s: cannot read", path);
    }
    fclose(f);
    b->n = (size_t)n;
    *state = b;
    return 0;
}

/* The byte states' hooks, for the study to release what it keeps after
 * study_optimize_mpi returns (the proxy objective does not outlive it). */
static const objective BLOB_HOOKS = { .state_free = blob_free, .state_copy = blob_copy, .state_save = blob_save,
                                      .state_load = blob_load };
static const objective BLOB_HOOKS_NOSAVE = { .state_free = blob_free, .state_copy = blob_copy };

/* ---- the slots: one per remote worker thread ---- */

typedef struct pool {
    pthread_mutex_t mu;
    int nranks;
    int nslots;
    int *rank, *tag;           /* (nslots) where slot k runs */
    unsigned char *busy;       /* (nslots) */
    int *load;                 /* (nranks) busy slots per rank */
    int next;                  /* the rank that comes first on a tie */
} pool;

/* A free slot on the least-loaded rank (ties: in turn from p->next). */
static int slot_take(pool *p)
{
    pthread_mutex_lock(&p->mu);
    int best = -1, best_key = 0;
    for (int k = 0; k < p->nslots; k++) {
        if (p->busy[k])
            continue;
        int r = p->rank[k];
        int key = p->load[r] * p->nranks + (r - p->next + p->nranks) % p->nranks;
        if (best < 0 || key < best_key) {
            best = k;
            best_key = key;
        }
    }
    if (best >= 0) { /* always: the executor runs one thread per slot */
        p->busy[best] = 1;
        p->load[p->rank[best]]++;
        p->next = (p->rank[best] + 1) % p->nranks;
    }
    pthread_mutex_unlock(&p->mu);
    return best;
}

static void slot_give(pool *p, int k)
{
    pthread_mutex_lock(&p->mu);
    p->busy[k] = 0;
    p->load[p->rank[k]]--;
    pthread_mutex_unlock(&p->mu);
}

/* Records that trial runs on rank's worker thread tag: attributes
 * "rank", "thread" and "ranks". */
static void note_rank(study *s, int trial, int rank, int tag)
{
    char buf[512] = "", val[16];
    snprintf(val, sizeof val, "%d", rank);
    study_trial_attr_set(s, trial, "rank", val, NULL);
    snprintf(val, sizeof val, "%d", tag);
    study_trial_attr_set(s, trial, "thread", val, NULL);
    size_t n = study_trial_attr_get(s, trial, "ranks", buf, sizeof buf) == 1 ? strlen(buf) : 0;
    if (n + 16 < sizeof buf)
        snprintf(buf + n, sizeof buf - n, "%s%d", n ? " " : "", rank);
    study_trial_attr_set(s, trial, "ranks", buf, NULL);
}

/* Answers one call of the remote trial.  Returns 0 or TL_ERUNTIME (MPI). */
static int answer(study *s, int rank, int tag, const mpi_msg *m, tl_err *err)
{
    mpi_msg r;
    memset(&r, 0, sizeof r);
    tl_err e = { 0 };
    blob tmp = { 0, NULL };
    switch (m->type) {
    case MSG_REPORT:
        r.type = MSG_DECISION;
        r.decision = 0;
        r.src = -1;
        r.rc = study_report(s, m->trial, m->step, m->value, m->budget_used, &r.decision, &r.src, &e);
        break;
    case MSG_COPY:
        r.type = MSG_STATE;
        r.rc = study_state_copy(s, m->src, &tmp, &e);
        r.nbytes = r.rc ? 0 : tmp.n;
        break;
    case MSG_VALUES:
        r.type = MSG_VALUES;
        r.rc = study_get_values(s, m->trial, r.values, &e);
        break;
    case MSG_ATTR_SET:
        if (m->trial < 0)
            study_attr_set(s, m->key, m->text, NULL);
        else
            study_trial_attr_set(s, m->trial, m->key, m->text, NULL);
        return 0;
    case MSG_ATTR_GET:
        r.type = MSG_ATTR_GET;
        r.rc = m->trial < 0 ? study_attr_get(s, m->key, r.text, sizeof r.text)
                            : study_trial_attr_get(s, m->trial, m->key, r.text, sizeof r.text);
        break;
    default:
        return tl_fail(err, TL_ERUNTIME, "rank %d sent an unexpected message (type %d)", rank, m->type);
    }
    if (r.rc && m->type != MSG_ATTR_GET)
        snprintf(r.text, sizeof r.text, "%s", e.msg);
    int rc = mpi_msg_send(rank, tag, &r, tmp.b, err);
    free(tmp.b);
    return rc;
}

/* The proxy objective's run: ships the job to a free slot and relays
 * until the outcome comes back. */
static int proxy_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    pool *p = ud;
    int k = slot_take(p);
    int rank = p->rank[k], tag = p->tag[k];
    note_rank(s, job->number, rank, tag);
    mpi_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_JOB;
    m.trial = job->number;
    m.kind = job->kind;
    m.rerun = job->rerun;
    m.parent = job->parent;
    m.nparams = job->nparams;
    m.budget = job->budget;
    m.budget_done = job->budget_done;
    m.seed = job->seed;
    memcpy(m.values, job->values, sizeof m.values);
    blob *b = job->obj_state; /* ours now: sent, then freed */
    m.nbytes = b ? b->n : 0;
    tl_err err = { 0 };
    int rc = mpi_msg_send(rank, tag, &m, b ? b->b : NULL, &err);
    blob_free(NULL, b);
    while (!rc) {
        unsigned char *payload = NULL;
        if ((rc = mpi_msg_recv(rank, tag, &m, &payload, &err)))
            break;
        if (m.type == MSG_OUTCOME) {
            out->state = m.state;
            out->value = m.value;
            snprintf(out->reason, sizeof out->reason, "%.255s", m.text);
            if (payload && (b = calloc(1, sizeof *b))) {
                b->n = m.nbytes;
                b->b = payload;
                out->obj_state = b;
                payload = NULL;
            }
            free(payload);
            slot_give(p, k);
            return m.rc;
        }
        rc = answer(s, rank, tag, &m, &err);
        free(payload);
    }
    snprintf(out->reason, sizeof out->reason, "rank %d: %.200s", rank, err.msg);
    slot_give(p, k);
    return rc;
}

static void pool_free(pool *p)
{
    free(p->rank);
    free(p->tag);
    free(p->busy);
    free(p->load);
    pthread_mutex_destroy(&p->mu);
}

int study_optimize_mpi(study *s, const objective *obj, const int *threads, study_progress_fn progress,
                       void *progress_ud, tl_err *err)
{
    pool p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    p.nranks = mpi_world_size();
    for (int r = 1; r < p.nranks; r++)
        p.nslots += threads[r] > 0 ? threads[r] : 0;
    p.rank = calloc((size_t)p.nslots + 1, sizeof *p.rank);
    p.tag = calloc((size_t)p.nslots + 1, sizeof *p.tag);
    p.busy = calloc((size_t)p.nslots + 1, 1);
    p.load = calloc((size_t)p.nranks, sizeof *p.load);
    if (p.nslots == 0) {
        pool_free(&p);
        return tl_fail(err, TL_EINPUT, "no worker rank to run trials on");
    }
    if (!p.rank || !p.tag || !p.busy || !p.load) {
        pool_free(&p);
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    }
    p.next = 1;
    for (int r = 1, k = 0; r < p.nranks; r++)
        for (int t = 0; t < threads[r]; t++, k++) {
            p.rank[k] = r;
            p.tag[k] = t;
        }
    p.load[0] = p.nslots + 1; /* rank 0 runs no trial */
    int hooks = obj && obj->state_pack && obj->state_unpack; /* bytes = state_save's file */
    objective proxy = { .ud = &p, .run = proxy_run, .state_free = blob_free, .state_copy = blob_copy,
                        .state_save = hooks ? blob_save : NULL, .state_load = hooks ? blob_load : NULL };
    int rc = study_optimize(s, &proxy, p.nslots, progress, progress_ud, err);
    mpi_msg done;
    memset(&done, 0, sizeof done);
    done.type = MSG_DONE;
    for (int k = 0; k < p.nslots; k++)
        mpi_msg_send(p.rank[k], p.tag[k], &done, NULL, NULL);
    /* the study may still keep byte states: release them with hooks that outlive this call */
    study_set_objective(s, hooks ? &BLOB_HOOKS : &BLOB_HOOKS_NOSAVE);
    pool_free(&p);
    return rc;
}
