/* tests/test_storage.c: the SQLite storage through the study: persistence
 * across close and reopen, resume checks (space, direction, metric), the
 * plain schema, resume after a SIGKILL in the middle of a trial, two
 * processes sharing one study, grid and Sobol resume.  And the readers'
 * side, through the storage interface itself: the read-only open (never
 * creates or changes a file: size, bytes and mtime compared; rejects a
 * missing file, a folder, text and another program's SQLite file), the
 * snapshot (everything written comes back; one read transaction while a
 * writer holds uncommitted changes), and a database in a read-only folder
 * (run in a child process as user nobody when the tests run as root),
 * clean, with a running writer's -wal and -shm, and with a pending -wal
 * but no -shm (a clear error).  And what the read-write open refuses before
 * writing anything: another program's SQLite file (bytes and mtime
 * compared, also through `tunelab run`, which exits 2) and a URL. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "hpo/executor.h"
#include "hpo/storage.h"
#include "hpo/study.h"
#include "tests/reader_util.h"
#include "tests/tmpdir_util.h"
#include "tests/space_util.h"
#include "tests/study_util.h"

TMPDIR_FIXTURE(dir, "tl_storage")

TestSuite(storage, .init = tmpdir_setup, .fini = tmpdir_teardown);

static void make_space(space *sp, const char *lr_expr)
{
    su_space(sp, "train.lr", lr_expr,
                 "model.type", "choice(mlp, gpt)",
                 "model.heads", "int(1, 8) if model.type == gpt",
                 NULL);
}

static void make_cfg(study_config *c, const char *name, int trials)
{
    *c = su_config_in(dir, name);
    c->trials = trials;
    c->seed = 5;
}

/* A new study name of trials trials over make_space's space with a
 * loguniform(1e-5, 1e-1) rate, opened (a failure fails the test). */
static study *open_new(space *sp, study_config *c, const char *name, int trials, tl_err *err)
{
    make_space(sp, "loguniform(1e-5, 1e-1)");
    make_cfg(c, name, trials);
    study *s;
    cr_assert_eq(study_open(&s, c, sp, err), 0, "%s", err->msg);
    return s;
}

Test(storage, close_and_reopen_gives_the_same_trials)
{
    space sp;
    study_config c;
    tl_err err = { 0 };
    study *s = open_new(&sp, &c, "persist", 6, &err);
    const int states[4] = { TRIAL_COMPLETE, TRIAL_FAILED, TRIAL_PRUNED, TRIAL_COMPLETE };
    for (int k = 0; k < 4; k++) {
        trial_job job;
        int dec;
        cr_assert_eq(study_ask(s, &job, &err), 0);
        for (int step = 0; step < k; step++)
            cr_assert_eq(study_report(s, k, step * 10, 0.5 * step + k, step + 1, &dec, NULL, &err), 0);
        cr_assert_eq(study_tell(s, k, states[k], k == 1 ? NAN : 1.0 / (k + 1),
                                k == 1 ? "diverged at step 3" : NULL, &err), 0);
    }
    trial_job running;
    cr_assert_eq(study_ask(s, &running, &err), 0); /* trial 4 stays running in this process */
    cr_assert_eq(study_trial_attr_set(s, 2, "bracket", "{\"b\": 1}", &err), 0);
    cr_assert_eq(study_attr_set(s, "note", "hello", &err), 0);
    trial *before;
    int nb;
    cr_assert_eq(study_trials(s, &before, &nb, &err), 0);
    cr_assert_eq(nb, 5);
    study_close(s);

    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    trial *after;
    int na;
    cr_assert_eq(study_trials(s, &after, &na, &err), 0);
    cr_assert_eq(na, nb);
    for (int k = 0; k < na; k++) {
        const trial *a = &before[k], *b = &after[k];
        cr_assert_eq(a->number, b->number);
        cr_assert_eq(b->state, a->state, "trial %d: %s vs %s", k, trial_state_str(a->state),
                     trial_state_str(b->state));
        cr_assert(a->value == b->value || (isnan(a->value) && isnan(b->value)));
        cr_assert_eq(a->budget, b->budget);
        cr_assert_str_eq(a->reason, b->reason);
        cr_assert_eq(a->nsteps, b->nsteps);
        for (int i = 0; i < 3; i++)
            cr_assert(a->values[i] == b->values[i] || (isnan(a->values[i]) && isnan(b->values[i])),
                      "trial %d param %d", k, i);
        for (int j = 0; j < a->nsteps; j++) {
            cr_assert_eq(a->steps[j], b->steps[j]);
            cr_assert_eq(a->inter[j], b->inter[j]);
        }
        cr_assert_float_eq(a->started, b->started, 1e-6);
    }
    cr_assert_eq(after[4].state, TRIAL_RUNNING, "our own live process: not requeued");
    cr_assert_str_eq(after[1].reason, "diverged at step 3");
    cr_assert_eq(after[3].nsteps, 3);
    cr_assert_eq(after[3].steps[2], 20);
    char buf[64];
    cr_assert_eq(study_trial_attr_get(s, 2, "bracket", buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "{\"b\": 1}");
    cr_assert_eq(study_attr_get(s, "note", buf, sizeof buf), 1);
    cr_assert_str_eq(buf, "hello");
    study_trials_free(before, nb);
    study_trials_free(after, na);
    study_close(s);
    space_free(&sp);
}

Test(storage, resume_checks_space_direction_and_metric)
{
    space sp, other;
    study_config c;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    make_space(&other, "uniform(0, 1)");
    make_cfg(&c, "check", 3);
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0);
    study_close(s);
    cr_assert_eq(study_open(&s, &c, &other, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "different space") &&
                  strstr(err.msg, "train.lr: stored loguniform(1e-05, 0.1), now uniform(0, 1)"),
              "%s", err.msg);
    cr_assert_null(s);
    c.direction = STUDY_MAXIMIZE;
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "created to minimize, not to maximize"), "%s", err.msg);
    c.direction = STUDY_MINIMIZE;
    snprintf(c.metric, sizeof c.metric, "val_acc");
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "metric 'value', not 'val_acc'"), "%s", err.msg);
    /* another study in the same file is independent */
    snprintf(c.name, sizeof c.name, "second");
    cr_assert_eq(study_open(&s, &c, &other, &err), 0, "%s", err.msg);
    study_close(s);
    space_free(&sp);
    space_free(&other);
}

Test(storage, schema_is_plain_for_the_sqlite3_shell)
{
    space sp;
    study_config c;
    tl_err err = { 0 };
    study *s = open_new(&sp, &c, "plain", 2, &err);
    trial_job job;
    cr_assert_eq(study_ask(s, &job, &err), 0);
    cr_assert_eq(study_tell(s, 0, TRIAL_COMPLETE, 0.25, NULL, &err), 0);
    study_close(s);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open(c.storage, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT s.name, s.direction, t.number, t.state, t.value, "
                                    "v.text FROM studies s JOIN trials t ON t.study_id = s.id "
                                    "JOIN trial_values v ON v.trial_id = t.id "
                                    "WHERE v.param = 'model.type'",
                                    -1, &q, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "plain");
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 1), "minimize");
    cr_assert_eq(sqlite3_column_int(q, 2), 0);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 3), "complete");
    cr_assert_eq(sqlite3_column_double(q, 4), 0.25);
    const char *txt = (const char *)sqlite3_column_text(q, 5);
    cr_assert(strcmp(txt, "mlp") == 0 || strcmp(txt, "gpt") == 0, "%s", txt);
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT expr FROM study_params ORDER BY idx", -1, &q, NULL),
                 SQLITE_OK);
    const char *want[3] = { "loguniform(1e-05, 0.1)", "choice(mlp, gpt)",
                            "int(1, 8) if model.type == gpt" };
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
        cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), want[k]);
    }
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
    space_free(&sp);
}

/* Child of the kill test: completes trials 0 and 1, starts trial 2,
 * reports once, sends its values and seed through fd, then SIGKILLs itself. */
static void child_runs_then_dies(const study_config *c, const space *sp, int fd)
{
    study *s;
    tl_err err = { 0 };
    trial_job job;
    int dec;
    if (study_open(&s, c, sp, &err))
        _exit(10);
    for (int k = 0; k < 2; k++) {
        if (study_ask(s, &job, &err) || job.number != k ||
            study_report(s, k, 0, 1.0 + k, 1, &dec, NULL, &err) ||
            study_tell(s, k, TRIAL_COMPLETE, 1.0 + k, NULL, &err))
            _exit(11);
    }
    if (study_ask(s, &job, &err) || job.number != 2 ||
        study_report(s, 2, 0, 7.0, 1, &dec, NULL, &err) ||
        study_report(s, 2, 1, 6.0, 2, &dec, NULL, &err))
        _exit(12);
    if (write(fd, &job.seed, sizeof job.seed) != sizeof job.seed ||
        write(fd, job.values, 3 * sizeof(double)) != 3 * sizeof(double))
        _exit(13);
    raise(SIGKILL);
    _exit(14);
}

Test(storage, resume_after_sigkill_keeps_completed_and_reruns_the_running_trial)
{
    space sp;
    study_config c;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    make_cfg(&c, "killed", 6);
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        child_runs_then_dies(&c, &sp, pfd[1]);
    }
    close(pfd[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    uint64_t seed;
    double vals[3];
    cr_assert_eq(read(pfd[0], &seed, sizeof seed), (ssize_t)sizeof seed);
    cr_assert_eq(read(pfd[0], vals, sizeof vals), (ssize_t)sizeof vals);
    close(pfd[0]);

    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    trial t;
    cr_assert_eq(study_get_trial(s, 2, &t, &err), 0);
    cr_assert_eq(t.state, TRIAL_WAITING, "the dead process's trial is queued again");
    cr_assert(strstr(t.reason, "requeued"), "%s", t.reason);
    cr_assert_eq(t.nsteps, 0, "partial intermediate values dropped");
    trial_free(&t);
    int counts[TRIAL_STATE_COUNT];
    study_counts(s, counts);
    cr_assert_eq(counts[TRIAL_COMPLETE], 2);

    trial_job job;
    cr_assert_eq(study_ask(s, &job, &err), 0);
    cr_assert_eq(job.kind, JOB_NEW);
    cr_assert_eq(job.number, 2);
    cr_assert(job.rerun);
    cr_assert_eq(job.seed, seed, "same seed on re-run");
    cr_assert(memcmp(job.values, vals, sizeof vals) == 0, "same values on re-run");
    int dec;
    cr_assert_eq(study_report(s, 2, 0, 3.0, 1, &dec, NULL, &err), 0);
    cr_assert_eq(study_tell(s, 2, TRIAL_COMPLETE, 3.0, NULL, &err), 0);
    int n = 3;
    for (;; n++) {
        cr_assert_eq(study_ask(s, &job, &err), 0);
        if (job.kind == JOB_DONE)
            break;
        cr_assert_eq(job.number, n);
        cr_assert(!job.rerun);
        cr_assert_eq(study_tell(s, n, TRIAL_COMPLETE, n, NULL, &err), 0);
    }
    cr_assert_eq(n, 6, "budget respected: 6 trials in all");
    cr_assert_eq(study_counts(s, counts), 6);
    cr_assert_eq(counts[TRIAL_COMPLETE], 6);
    cr_assert_eq(study_get_trial(s, 2, &t, &err), 0);
    cr_assert_eq(t.nsteps, 1);
    cr_assert_eq(t.inter[0], 3.0, "only the re-run's values");
    trial_free(&t);
    study_close(s);
    space_free(&sp);
}

static int tiny_run(void *ud, study *s, const trial_job *job, trial_outcome *out)
{
    struct timespec ts = { 0, 2000000 };
    tl_err err = { 0 };
    int dec;
    for (int step = 0; step < 2; step++) {
        nanosleep(&ts, NULL);
        if (study_report(s, job->number, step, job->values[0] * (2 - step), step + 1, &dec, NULL,
                         &err))
            return 1;
    }
    out->state = TRIAL_COMPLETE;
    out->value = job->values[0];
    return 0;
}

Test(storage, two_processes_share_one_study_without_duplicates)
{
    space sp;
    study_config c;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    make_cfg(&c, "shared", 16);
    int gate[2];
    cr_assert_eq(pipe(gate), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        cr_assert(kids[k] >= 0);
        if (kids[k] == 0) {
            char b;
            close(gate[1]);
            if (read(gate[0], &b, 1) != 0) /* wait until the parent closes the gate */
                _exit(20);
            study *s;
            tl_err err = { 0 };
            objective obj = { .run = tiny_run };
            if (study_open(&s, &c, &sp, &err)) {
                fprintf(stderr, "child: %s\n", err.msg);
                _exit(21);
            }
            int rc = study_optimize(s, &obj, 1, NULL, NULL, &err);
            study_close(s);
            _exit(rc ? 22 : 0);
        }
    }
    close(gate[0]);
    close(gate[1]); /* both start now */
    for (int k = 0; k < 2; k++) {
        int status;
        cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", k, status);
    }
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(c.storage, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT COUNT(*), COUNT(DISTINCT number), MIN(number), "
                                    "MAX(number), SUM(state = 'complete') FROM trials",
                                    -1, &q, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 16, "total = budget");
    cr_assert_eq(sqlite3_column_int(q, 1), 16, "no duplicate numbers");
    cr_assert_eq(sqlite3_column_int(q, 2), 0);
    cr_assert_eq(sqlite3_column_int(q, 3), 15);
    cr_assert_eq(sqlite3_column_int(q, 4), 16);
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM trial_intermediate", -1, &q, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 32, "two reports per trial, none lost");
    sqlite3_finalize(q);
    sqlite3_close(db);
    space_free(&sp);
}

/* Runs ask/tell until DONE or `limit` trials; returns how many ran. */
static int run_some(study *s, int limit, double *values_out)
{
    tl_err err = { 0 };
    int n = 0;
    for (; n < limit; n++) {
        trial_job job;
        cr_assert_eq(study_ask(s, &job, &err), 0, "%s", err.msg);
        if (job.kind == JOB_DONE)
            break;
        if (values_out)
            memcpy(values_out + (size_t)job.number * job.nparams, job.values,
                   (size_t)job.nparams * sizeof(double));
        cr_assert_eq(study_tell(s, job.number, TRIAL_COMPLETE, 1, NULL, &err), 0);
    }
    return n;
}

Test(storage, grid_study_resumes_at_the_first_free_combination)
{
    space sp;
    tl_err err = { 0 };
    su_space(&sp, "a", "choice(x, y, z)", "b", "uniform(0, 1) grid=3", NULL);
    study_config c;
    make_cfg(&c, "grid", 100);
    snprintf(c.sampler, sizeof c.sampler, "grid");
    study *s;
    double v[20 * 2];
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    cr_assert_eq(run_some(s, 4, v), 4);
    study_close(s);
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
    cr_assert_eq(run_some(s, 50, v), 5, "9 combinations in all");
    int counts[TRIAL_STATE_COUNT];
    cr_assert_eq(study_counts(s, counts), 9);
    for (int k = 0; k < 9; k++) {
        cr_assert_eq(v[2 * k], k / 3);
        cr_assert_float_eq(v[2 * k + 1], 0.5 * (k % 3), 1e-15);
    }
    study_close(s);
    space_free(&sp);
}

Test(storage, sobol_study_resumed_matches_an_uninterrupted_one)
{
    space sp;
    make_space(&sp, "uniform(0, 1)");
    study_config a, b;
    make_cfg(&a, "sobol_a", 8);
    make_cfg(&b, "sobol_b", 8);
    snprintf(a.sampler, sizeof a.sampler, "sobol");
    snprintf(b.sampler, sizeof b.sampler, "sobol");
    double va[8 * 3], vb[8 * 3];
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &a, &sp, &err), 0);
    cr_assert_eq(run_some(s, 20, va), 8);
    study_close(s);
    cr_assert_eq(study_open(&s, &b, &sp, &err), 0);
    cr_assert_eq(run_some(s, 3, vb), 3);
    study_close(s);
    cr_assert_eq(study_open(&s, &b, &sp, &err), 0);
    cr_assert_eq(run_some(s, 20, vb), 5);
    study_close(s);
    for (int k = 0; k < 24; k++)
        cr_assert(va[k] == vb[k] || (isnan(va[k]) && isnan(vb[k])), "value %d", k);
    space_free(&sp);
}

/* ---- readers: the read-only open and the snapshot ---- */

/* What a file looks like: size, bytes, modification time. */
typedef struct fstate {
    long size;
    char *bytes;
    struct timespec mtime;
} fstate;

static fstate fstate_of(const char *path)
{
    fstate f = { -1, NULL, { 0, 0 } };
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
    f.size = (long)sb.st_size;
    f.mtime = sb.st_mtim;
    f.bytes = malloc((size_t)f.size + 1);
    FILE *fp = fopen(path, "rb");
    cr_assert(f.bytes && fp);
    cr_assert_eq(fread(f.bytes, 1, (size_t)f.size, fp), (size_t)f.size);
    fclose(fp);
    return f;
}

/* Asserts that path still is what f recorded (and frees f's bytes). */
static void assert_unchanged(const char *path, fstate *f)
{
    fstate g = fstate_of(path);
    cr_assert_eq(g.size, f->size, "%s: size %ld, was %ld", path, g.size, f->size);
    cr_assert(!memcmp(g.bytes, f->bytes, (size_t)f->size), "%s: bytes changed", path);
    cr_assert(g.mtime.tv_sec == f->mtime.tv_sec && g.mtime.tv_nsec == f->mtime.tv_nsec,
              "%s: modification time changed", path);
    free(g.bytes);
    free(f->bytes);
}

/* Writes through the storage interface, inside one transaction. */
static void w_begin(storage *w)
{
    tl_err err = { 0 };
    cr_assert_eq(w->vt->begin(w->self, &err), 0, "%s", err.msg);
}

static void w_commit(storage *w)
{
    tl_err err = { 0 };
    cr_assert_eq(w->vt->commit(w->self, &err), 0, "%s", err.msg);
}

/* Trial k of the reader tests: values from k, state by k (complete,
 * pruned with parent 0, running, then complete), k intermediate values. */
static void w_trial(storage *w, int sid, const space *sp, int k)
{
    tl_err err = { 0 };
    trial t;
    cr_assert_eq(trial_init(&t, sp->n), 0);
    t.number = k;
    t.values[0] = 1e-4 * (k + 1);
    t.values[1] = k % 2;                      /* mlp, gpt */
    t.values[2] = k % 2 ? 1 + k % 8 : NAN;     /* heads: only for gpt */
    t.state = k == 1 ? TRIAL_PRUNED : k == 2 ? TRIAL_RUNNING : TRIAL_COMPLETE;
    t.value = k == 2 ? NAN : 0.5 + k;
    t.budget = k;
    t.parent = k == 1 ? 0 : -1;
    t.started = 1000.0 + k;
    t.finished = k == 2 ? NAN : 1010.5 + k;
    snprintf(t.reason, sizeof t.reason, k == 1 ? "stopped at rung 0" : "");
    trial_meta m = { .target = 2.0 * k, .pid = 4242, .worker = k };
    snprintf(m.host, sizeof m.host, "host%d", k);
    cr_assert_eq(w->vt->trial_create(w->self, sid, sp, &t, &m, &err), 0, "%s", err.msg);
    for (int step = 0; step < k; step++)
        cr_assert_eq(w->vt->inter_add(w->self, sid, k, step * 10, 0.25 * step + k, &err), 0);
    char v[32];
    snprintf(v, sizeof v, "{\"k\": %d}", k);
    cr_assert_eq(w->vt->attr_set(w->self, sid, k, "rec", v, &err), 0);
    trial_free(&t);
}

/* Opens (creating) the study "snap" at path through the storage interface
 * with the space of make_space and trials 0..n-1, one transaction each, and
 * a study attribute; returns the open writer (close it) and its study id. */
static int w_study(storage *w, const char *path, const space *sp, int n)
{
    tl_err err = { 0 };
    cr_assert_eq(storage_sqlite_open(w, path, &err), 0, "%s", err.msg);
    int sid, created, dir_stored;
    char metric[64];
    w_begin(w);
    cr_assert_eq(w->vt->study_open(w->self, "snap", STUDY_MAXIMIZE, "acc", 99, &sid, &created,
                                   &dir_stored, metric, sizeof metric, &err), 0, "%s", err.msg);
    cr_assert_eq(w->vt->space_save(w->self, sid, sp, &err), 0, "%s", err.msg);
    cr_assert_eq(w->vt->attr_set(w->self, sid, -1, "sampler", "random", &err), 0);
    cr_assert_eq(w->vt->attr_set(w->self, sid, -1, "note", "hello", &err), 0);
    w_commit(w);
    for (int k = 0; k < n; k++) {
        w_begin(w);
        w_trial(w, sid, sp, k);
        w_commit(w);
    }
    return sid;
}

/* Checks a snapshot against what w_study and w_trial wrote (n trials);
 * returns NULL or what differs (a static message). */
static const char *snapshot_differs(const storage_study *ss, int n)
{
    static char why[512];
#define DIFF(cond, ...) do { if (cond) { snprintf(why, sizeof why, __VA_ARGS__); return why; } } while (0)
    DIFF(strcmp(ss->name, "snap") || ss->direction != STUDY_MAXIMIZE || strcmp(ss->metric, "acc") ||
         ss->seed != 99 || !(ss->created > 0), "study header: %s %d %s %llu", ss->name,
         ss->direction, ss->metric, (unsigned long long)ss->seed);
    DIFF(ss->sp.n != 3 || strcmp(ss->sp.p[2].name, "model.heads"), "space: %d parameters", ss->sp.n);
    DIFF(ss->ntrials != n, "%d trials, wrote %d", ss->ntrials, n);
    DIFF(ss->nattrs != 2 || strcmp(ss->attrs[0].key, "note") || strcmp(ss->attrs[1].value, "random"),
         "study attributes (%d)", ss->nattrs);
    for (int k = 0; k < n; k++) {
        const storage_trial *r = &ss->trials[k];
        const trial *t = &r->t;
        char v[32];
        snprintf(v, sizeof v, "{\"k\": %d}", k);
        DIFF(t->number != k || t->state != (k == 1 ? TRIAL_PRUNED : k == 2 ? TRIAL_RUNNING
                                                                          : TRIAL_COMPLETE),
             "trial %d: number %d, state %s", k, t->number, trial_state_str(t->state));
        DIFF(k == 2 ? !isnan(t->value) : t->value != 0.5 + k, "trial %d: value %g", k, t->value);
        DIFF(t->budget != k || t->parent != (k == 1 ? 0 : -1) || t->started != 1000.0 + k,
             "trial %d: budget %g parent %d started %g", k, t->budget, t->parent, t->started);
        DIFF(t->values[0] != 1e-4 * (k + 1) || t->values[1] != k % 2 ||
             (k % 2 ? t->values[2] != 1 + k % 8 : !isnan(t->values[2])), "trial %d: values", k);
        DIFF(t->nsteps != k, "trial %d: %d intermediate values", k, t->nsteps);
        for (int j = 0; j < k; j++)
            DIFF(t->steps[j] != 10 * j || t->inter[j] != 0.25 * j + k, "trial %d: step %d", k, j);
        DIFF(r->m.target != 2.0 * k || r->m.pid != 4242 || r->m.worker != k ||
             strcmp(r->m.host, k == 0 ? "host0" : r->m.host), "trial %d: meta", k);
        DIFF(r->nattrs != 1 || strcmp(r->attrs[0].key, "rec") || strcmp(r->attrs[0].value, v),
             "trial %d: attributes", k);
        DIFF(k == 1 && strcmp(t->reason, "stopped at rung 0"), "trial 1: reason '%s'", t->reason);
    }
#undef DIFF
    return NULL;
}

/* storage_sqlite_open_readonly + snapshot of the only study; returns the
 * tl_code, the snapshot in *ss when 0. */
static int read_snapshot(const char *path, storage_study *ss, tl_err *err)
{
    storage r;
    int rc = storage_sqlite_open_readonly(&r, path, err);
    if (rc)
        return rc;
    rc = r.vt->snapshot(r.self, NULL, ss, err);
    r.vt->close(r.self);
    return rc;
}

Test(storage, readonly_open_rejects_missing_folder_and_foreign_files_and_creates_nothing)
{
    char path[128];
    tl_err err = { 0 };
    storage r;
    snprintf(path, sizeof path, "%s/missing.db", dir);
    cr_assert_eq(storage_sqlite_open_readonly(&r, path, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "no such file"), "%s", err.msg);
    cr_assert_neq(access(path, F_OK), 0, "a reader created %s", path);
    cr_assert_null(r.vt);

    cr_assert_eq(storage_sqlite_open_readonly(&r, dir, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "folder"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/notes.db", dir);
    FILE *f = fopen(path, "w");
    fputs("some text, long enough to look like a header to somebody: not SQLite at all\n", f);
    fclose(f);
    fstate before = fstate_of(path);
    cr_assert_eq(storage_sqlite_open_readonly(&r, path, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "not a tunelab study database"), "%s",
              err.msg);
    assert_unchanged(path, &before);

    snprintf(path, sizeof path, "%s/other.db", dir); /* another program's SQLite file, in WAL */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE studies(x);"
                                  " INSERT INTO studies VALUES (1);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    before = fstate_of(path);
    cr_assert_eq(storage_sqlite_open_readonly(&r, path, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "not a tunelab study database") &&
              strstr(err.msg, "no table study_params"), "%s", err.msg);
    assert_unchanged(path, &before);
}

Test(storage, readonly_snapshot_reads_everything_written_and_changes_nothing)
{
    char path[128];
    snprintf(path, sizeof path, "%s/snap.db", dir);
    space sp;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    storage w;
    int sid = w_study(&w, path, &sp, 4);
    w.vt->close(w.self);
    fstate before = fstate_of(path);

    tl_err err = { 0 };
    storage r;
    cr_assert_eq(storage_sqlite_open_readonly(&r, path, &err), 0, "%s", err.msg);
    storage_study ss;
    cr_assert_eq(r.vt->snapshot(r.self, NULL, &ss, &err), 0, "%s", err.msg);
    const char *why = snapshot_differs(&ss, 4);
    cr_assert_null(why, "%s", why);
    storage_study_free(&ss);
    cr_assert_eq(r.vt->snapshot(r.self, "snap", &ss, &err), 0, "%s", err.msg);
    storage_study_free(&ss);
    storage_study_free(&ss); /* freeing an emptied snapshot, and NULL, is harmless */
    storage_study_free(NULL);
    cr_assert_eq(r.vt->snapshot(r.self, "other", &ss, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "no study 'other'") && strstr(err.msg, "'snap'"), "%s", err.msg);
    cr_assert_eq(ss.ntrials, 0);

    /* every write is refused before it reaches SQLite */
    int id, created, d;
    char metric[64];
    cr_assert_eq(r.vt->begin(r.self, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "read-only"), "%s", err.msg);
    cr_assert_eq(r.vt->attr_set(r.self, sid, -1, "note", "changed", &err), TL_EINPUT);
    cr_assert_eq(r.vt->inter_clear(r.self, sid, 0, &err), TL_EINPUT);
    cr_assert_eq(r.vt->study_open(r.self, "new", STUDY_MINIMIZE, "value", 1, &id, &created, &d,
                                  metric, sizeof metric, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "no study 'new'"), "%s", err.msg);
    cr_assert_eq(r.vt->study_open(r.self, "snap", STUDY_MINIMIZE, "value", 1, &id, &created, &d,
                                  metric, sizeof metric, &err), 0, "an existing study opens");
    cr_assert(id == sid && !created && d == STUDY_MAXIMIZE && !strcmp(metric, "acc"));
    r.vt->close(r.self);
    assert_unchanged(path, &before);
    space_free(&sp);
}

Test(storage, readonly_snapshot_is_one_transaction_while_a_writer_works)
{
    char path[128];
    snprintf(path, sizeof path, "%s/live.db", dir);
    space sp;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    storage w;
    int sid = w_study(&w, path, &sp, 2);
    tl_err err = { 0 };
    storage_study ss;
    w_begin(&w); /* uncommitted: invisible to the reader, who is not blocked */
    w_trial(&w, sid, &sp, 2);
    cr_assert_eq(read_snapshot(path, &ss, &err), 0, "%s", err.msg);
    cr_assert_eq(ss.ntrials, 2);
    cr_assert_null(snapshot_differs(&ss, 2));
    storage_study_free(&ss);
    w_commit(&w);
    w_begin(&w);
    w_trial(&w, sid, &sp, 3);
    w_commit(&w);
    cr_assert_eq(read_snapshot(path, &ss, &err), 0, "%s", err.msg);
    const char *why = snapshot_differs(&ss, 4);
    cr_assert_null(why, "%s", why);
    storage_study_free(&ss);
    w.vt->close(w.self);
    space_free(&sp);
}

/* ---- a database in a read-only folder ---- */

typedef int (*reader_fn)(const char *path, int want, char *msg, size_t n);

/* Runs fn(path, want) in a child process for which path's folder is
 * read-only: as user nobody when the tests run as root (chmod does not
 * stop root), else as ourselves.  The child first checks that it cannot
 * create a file there and that SQLite opens path with its read-only flag
 * set.  Returns the child's message: "" when fn succeeded, "skip: ..."
 * when the folder could not be made read-only for it. */
static void as_reader(const char *path, reader_fn fn, int want, char *msg, size_t n)
{
    int fd[2];
    char folder[512], out[1024];
    snprintf(folder, sizeof folder, "%.*s", (int)(strrchr(path, '/') - path), path);
    pid_t pid = reader_fork(folder, fd, out, sizeof out);
    if (pid == 0) {
        sqlite3 *db = NULL;
        if (!out[0] && (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
                        sqlite3_db_readonly(db, "main") != 1))
            snprintf(out, sizeof out, "SQLite does not open %s read-only for this process", path);
        sqlite3_close(db);
        if (!out[0])
            fn(path, want, out, sizeof out);
        reader_reply(fd, out);
    }
    reader_wait(pid, fd, msg, n);
}

/* Reader: the snapshot must hold `want` trials as written. */
static int reader_snapshot(const char *path, int want, char *msg, size_t n)
{
    storage_study ss;
    tl_err err = { 0 };
    if (read_snapshot(path, &ss, &err))
        return snprintf(msg, n, "read failed: %s", err.msg);
    const char *why = snapshot_differs(&ss, want);
    if (why)
        snprintf(msg, n, "snapshot: %s", why);
    storage_study_free(&ss);
    return 0;
}

/* Reader: the open must fail with TL_ERUNTIME naming the -wal file. */
static int reader_pending_wal(const char *path, int want, char *msg, size_t n)
{
    storage r;
    tl_err err = { 0 };
    int rc = storage_sqlite_open_readonly(&r, path, &err);
    if (rc == 0)
        r.vt->close(r.self);
    if (rc != TL_ERUNTIME || !strstr(err.msg, "-wal") || !strstr(err.msg, path))
        snprintf(msg, n, "want TL_ERUNTIME naming %s-wal, got %d: %s", path, rc, err.msg);
    return 0;
}

/* Makes folder sub of dir read-only (0555) with a copy of the files
 * name and name-wal (when it exists) of src's folder, read-only (0444);
 * writes the copy's path to out. */
static void ro_copy(const char *src, const char *sub, const char *name, char *out, size_t n)
{
    char d[128], from[256], to[256];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    cr_assert_eq(mkdir(d, 0755), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(from, sizeof from, "%s/%s%s", src, name, k ? "-wal" : "");
        snprintf(to, sizeof to, "%s/%s%s", d, name, k ? "-wal" : "");
        FILE *a = fopen(from, "rb");
        if (!a && k)
            break;
        FILE *b = fopen(to, "wb");
        cr_assert(a && b, "copy %s", from);
        char buf[8192];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, a)) > 0)
            cr_assert_eq(fwrite(buf, 1, got, b), got);
        fclose(a);
        fclose(b);
        chmod(to, 0444);
    }
    cr_assert_eq(chmod(d, 0555), 0);
    snprintf(out, n, "%s/%s", d, name);
}

static void assert_reader(const char *msg)
{
    if (!strncmp(msg, "skip: ", 6))
        cr_skip_test("%s", msg + 6);
    cr_assert_str_empty(msg, "%s", msg);
}

Test(storage, readonly_open_reads_a_database_in_a_read_only_folder)
{
    char src[128], path[256], msg[1024], ls0[512], ls1[512];
    snprintf(src, sizeof src, "%s/rw.db", dir);
    chmod(dir, 0755); /* mkdtemp's 0700: let nobody in */
    space sp;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    storage w;
    w_study(&w, src, &sp, 4);
    w.vt->close(w.self); /* the last close checkpoints: no -wal, no -shm */
    snprintf(msg, sizeof msg, "%s-wal", src);
    cr_assert_neq(access(msg, F_OK), 0);
    ro_copy(dir, "ro", "rw.db", path, sizeof path);
    fstate before = fstate_of(path);
    char ro[160];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    reader_listing(ro, ls0, sizeof ls0);
    cr_assert_str_eq(ls0, ". .. rw.db ");
    as_reader(path, reader_snapshot, 4, msg, sizeof msg);
    reader_listing(ro, ls1, sizeof ls1);
    cr_assert_str_eq(ls1, ls0, "the reader created files in the read-only folder");
    assert_unchanged(path, &before);
    assert_reader(msg);
    space_free(&sp);
}

Test(storage, readonly_open_reads_a_running_writers_wal_in_a_read_only_folder)
{
    char d[128], path[256], msg[1024];
    chmod(dir, 0755);
    snprintf(d, sizeof d, "%s/live", dir);
    cr_assert_eq(mkdir(d, 0755), 0);
    snprintf(path, sizeof path, "%s/live.db", d);
    space sp;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    storage w;
    int sid = w_study(&w, path, &sp, 2); /* stays open: its -wal and -shm exist */
    cr_assert_eq(chmod(path, 0444), 0);
    cr_assert_eq(chmod(d, 0555), 0);
    w_begin(&w); /* the writer goes on: commits land in the -wal */
    w_trial(&w, sid, &sp, 2);
    w_commit(&w);
    snprintf(msg, sizeof msg, "%s-wal", path);
    cr_assert_eq(access(msg, F_OK), 0, "the writer has a -wal");
    as_reader(path, reader_snapshot, 3, msg, sizeof msg);
    assert_reader(msg);

    /* the same files without the -shm: the -wal's commits cannot be read */
    char copy[256];
    ro_copy(d, "nowal", "live.db", copy, sizeof copy);
    snprintf(msg, sizeof msg, "%s-wal", copy);
    cr_assert_eq(access(msg, F_OK), 0);
    fstate before = fstate_of(copy);
    as_reader(copy, reader_pending_wal, 0, msg, sizeof msg);
    assert_unchanged(copy, &before);
    assert_reader(msg);
    w.vt->close(w.self);
    space_free(&sp);
}

/* ---- what the read-write open refuses ---- */

/* A branin study through `tunelab run` (fast), its storage set by --set. */
static cli_out run_with_storage(const char *storage)
{
    char ini[128], args[512];
    snprintf(ini, sizeof ini, "%s/f.ini", dir);
    cli_write(ini, "[objective]\ntype = function\nfunction = branin\n[study]\ntrials = 2\n"
                   "seed = 5\n[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    snprintf(args, sizeof args, "run f.ini --set 'study.storage=%s'", storage);
    return cli_run(dir, args);
}

Test(storage, open_refuses_another_programs_sqlite_file_before_writing_to_it)
{
    char path[128], side[160];
    tl_err err = { 0 };
    storage w;
    snprintf(path, sizeof path, "%s/other.sqlite", dir); /* as another program leaves it */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE trials(id INTEGER PRIMARY KEY, name TEXT);"
                                  " INSERT INTO trials(name) VALUES ('mine');", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    fstate before = fstate_of(path);
    cr_assert_eq(storage_sqlite_open(&w, path, &err), TL_EINPUT, "%s", err.msg);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "not a tunelab study database"), "%s",
              err.msg);
    cr_assert_null(w.vt);
    snprintf(side, sizeof side, "%s-wal", path);
    cr_assert_neq(access(side, F_OK), 0, "%s was created", side);

    space sp;
    study_config c;
    study *s = NULL;
    make_space(&sp, "loguniform(1e-4, 1e-1)");
    make_cfg(&c, "foreign", 2);
    snprintf(c.storage, sizeof c.storage, "%s", path);
    cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT, "%s", err.msg);
    cr_assert(strstr(err.msg, "not a tunelab study database"), "%s", err.msg);
    space_free(&sp);

    cli_out r = run_with_storage("other.sqlite");
    cr_assert_eq(r.status, 2, "exit %d, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, "other.sqlite") && strstr(r.err, "not a tunelab study database"),
              "stderr: %s", r.err);
    cli_free(&r);
    assert_unchanged(path, &before);
    cr_assert_neq(access(side, F_OK), 0, "%s was created", side);

    snprintf(path, sizeof path, "%s/notes.txt", dir); /* not SQLite at all */
    FILE *f = fopen(path, "w");
    fputs("some text, long enough to look like a header to somebody: not SQLite at all\n", f);
    fclose(f);
    before = fstate_of(path);
    cr_assert_eq(storage_sqlite_open(&w, path, &err), TL_EINPUT, "%s", err.msg);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "not a tunelab study database"), "%s",
              err.msg);
    assert_unchanged(path, &before);
}

Test(storage, open_initializes_an_empty_file_and_an_sqlite_file_without_tables)
{
    char path[128];
    tl_err err = { 0 };
    storage w;
    snprintf(path, sizeof path, "%s/empty.db", dir); /* touched, 0 bytes */
    fclose(fopen(path, "w"));
    cr_assert_eq(storage_sqlite_open(&w, path, &err), 0, "%s", err.msg);
    w.vt->close(w.self);

    snprintf(path, sizeof path, "%s/bare.db", dir); /* an SQLite header, no table */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 7; VACUUM;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(storage_sqlite_open(&w, path, &err), 0, "%s", err.msg);
    w.vt->close(w.self);
    storage_study ss;
    cr_assert_eq(storage_sqlite_open_readonly(&w, path, &err), 0, "%s", err.msg); /* all tables */
    cr_assert_eq(w.vt->snapshot(w.self, NULL, &ss, &err), TL_EINPUT); /* but no study yet */
    w.vt->close(w.self);
}

Test(storage, a_url_as_storage_is_refused_and_creates_no_folder)
{
    cr_assert_eq(chdir(dir), 0); /* where a folder "postgresql:" would appear */
    const char *urls[] = { "postgresql://tune@db.example/studies", "mysql://localhost/x",
                           "sqlite:///tmp/x.db" };
    space sp;
    make_space(&sp, "loguniform(1e-4, 1e-1)");
    for (size_t k = 0; k < sizeof urls / sizeof urls[0]; k++) {
        tl_err err = { 0 };
        study_config c;
        study *s = NULL;
        char want[256];
        make_cfg(&c, "url", 2);
        snprintf(c.storage, sizeof c.storage, "%s", urls[k]);
        snprintf(want, sizeof want, "study.storage: %s: tunelab stores studies in SQLite files; "
                 "give a file path", urls[k]);
        cr_assert_eq(study_open(&s, &c, &sp, &err), TL_EINPUT, "%s", err.msg);
        cr_assert_str_eq(err.msg, want);
        cr_assert_eq(study_validate(&c, &sp, &err), TL_EINPUT);
        storage w;
        cr_assert_eq(storage_sqlite_open(&w, urls[k], &err), TL_EINPUT);
        cr_assert(strstr(err.msg, "give a file path"), "%s", err.msg);
    }
    space_free(&sp);
    cli_out r = run_with_storage("postgresql://tune@db.example/studies");
    cr_assert_eq(r.status, 2, "exit %d, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, "study.storage: postgresql://tune@db.example/studies: tunelab stores "
                            "studies in SQLite files; give a file path"), "stderr: %s", r.err);
    cli_free(&r);
    DIR *d = opendir(".");
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_assert(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
                  !strcmp(e->d_name, "f.ini"), "created %s", e->d_name);
    closedir(d);
}
