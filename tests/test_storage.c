/* tests/test_storage.c: the SQLite storage through the study: persistence
 * across close and reopen, resume checks (space, direction, metric), the
 * plain schema, resume after a SIGKILL in the middle of a trial, two
 * processes sharing one study, grid and Sobol resume. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpo/executor.h"
#include "hpo/study.h"

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tl_storage_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(storage, .init = setup, .fini = teardown);

static void make_space(space *sp, const char *lr_expr)
{
    tl_err err = { 0 };
    space_init(sp);
    cr_assert_eq(space_add(sp, "train.lr", lr_expr, &err), 0);
    cr_assert_eq(space_add(sp, "model.type", "choice(mlp, gpt)", &err), 0);
    cr_assert_eq(space_add(sp, "model.heads", "int(1, 8) if model.type == gpt", &err), 0);
}

static void make_cfg(study_config *c, const char *name, int trials)
{
    study_config_default(c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->storage, sizeof c->storage, "%s/%s.db", dir, name);
    c->trials = trials;
    c->seed = 5;
}

Test(storage, close_and_reopen_gives_the_same_trials)
{
    space sp;
    study_config c;
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    make_cfg(&c, "persist", 6);
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0, "%s", err.msg);
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
    make_space(&sp, "loguniform(1e-5, 1e-1)");
    make_cfg(&c, "plain", 2);
    study *s;
    tl_err err = { 0 };
    cr_assert_eq(study_open(&s, &c, &sp, &err), 0);
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
    space_init(&sp);
    cr_assert_eq(space_add(&sp, "a", "choice(x, y, z)", &err), 0);
    cr_assert_eq(space_add(&sp, "b", "uniform(0, 1) grid=3", &err), 0);
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
