/* tests/test_mpi.c: tunelab under `mpirun -np 3` on this machine
 * (oversubscribed): a study's trials on both worker ranks, Hyperband
 * promotions on another rank with the single-process values, PBT exploits
 * across ranks, a killed rank and the resumed study, one trial per worker
 * rank and study.workers as trials over the job (header, progress lines,
 * more workers than ranks an error), one rank as a
 * plain run, the start-up errors (exit 2, naming the rank: another config,
 * another binary, storage), data-parallel `tunelab train` with dropout
 * equal to the one-process run and resumed on another rank count, and,
 * without MPI, a fake rank that takes rank 0's evaluation and decision.
 * Fails when mpirun is missing (make test installs it).  Tests read the
 * study back with --json and the sqlite3 shell. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn/train.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tests/train_fixture.h"

TMPDIR_FIXTURE(dir, "tl-mpi");

TestSuite(mpi, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 90);

/* Under `make asan`, LeakSanitizer would report Open MPI's own allocations
 * at exit, made by plugins it has unloaded by then (so no suppression can
 * name them): leak checking is off for MPI runs; address and undefined-
 * behaviour checks stay on. */
#define MPIRUN "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 mpirun --allow-run-as-root --oversubscribe"

static void need_mpirun(void)
{
    cr_assert(system("command -v mpirun >/dev/null 2>&1") == 0,
              "mpirun is not installed: run the suite with `make test` (scripts/deps.sh installs openmpi-bin)");
}

/* Runs "mpirun -np N tunelab ARGS" in dir (np 0: plain tunelab). */
static cli_out mpi_run(int np, const char *args)
{
    char buf[2048];
    if (np == 0)
        return cli_run(dir, args);
    snprintf(buf, sizeof buf, "cd '%s' && OMP_NUM_THREADS=1 NO_COLOR=1 " MPIRUN " -np %d '%s' %s", dir, np,
             cli_bin(), args);
    return cli_sh(buf);
}

static const char *FN = "[objective]\ntype = function\nfunction = branin\n"
                        "[study]\ntrials = 12\nstorage = fn.db\n"
                        "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n";

static const char *SPIRALS = "[data]\ndataset = spirals\nsamples = 300\nclasses = 3\nval_fraction = 0.2\n"
                             "[model]\ntype = mlp\nlayers = 1\nhidden = 16\n"
                             "[train]\nlr = 3e-2\nbatch_size = 32\nseed = 7\n"
                             "[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n";

static void write_spirals(const char *name, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", SPIRALS, extra);
    cli_write_in(dir, name, text);
}

/* The per-trial JSON lines of out (every line but the summary), parsed. */
static int trial_lines(const char *out, cJSON **lines, int max)
{
    int n = 0;
    const char *p = out;
    while (*p && n < max) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = strndup(p, len);
        cJSON *j = cJSON_Parse(s);
        free(s);
        if (j && cJSON_GetObjectItem(j, "trial"))
            lines[n++] = j;
        else
            cJSON_Delete(j);
        p += len + (e ? 1 : 0);
    }
    return n;
}

static int jint(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "missing number %s", k);
    return v->valueint;
}

static double jnum(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "missing number %s", k);
    return v->valuedouble;
}

static const char *jstr(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

Test(mpi, function_study_runs_trials_on_both_worker_ranks)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    cli_out r = mpi_run(3, "run fn.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "MPI: 3 ranks"), "the header names the ranks: %s", r.err);
    cJSON *lines[64];
    int n = trial_lines(r.out, lines, 64), on[3] = { 0 };
    cr_assert_eq(n, 12, "%s", r.out);
    for (int i = 0; i < n; i++) {
        int rank = jint(lines[i], "rank");
        cr_assert(rank == 1 || rank == 2, "rank 0 runs no trial, got %d", rank);
        on[rank]++;
        cJSON_Delete(lines[i]);
    }
    cr_assert(on[1] > 0 && on[2] > 0, "trials on rank 1: %d, rank 2: %d", on[1], on[2]);
    /* the same study as a plain run: the sampler does not care where trials ran */
    cli_out p = mpi_run(0, "run fn.ini --json --set study.storage=plain.db");
    cr_assert_eq(p.status, 0, "%s", p.err);
    cJSON *a = cJSON_Parse(cli_last_line(r.out)), *b = cJSON_Parse(cli_last_line(p.out));
    cr_assert_eq(jnum(a, "best_value"), jnum(b, "best_value"));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cli_free(&p);
    cli_free(&r);
}

/* Hyperband: a paused trial's state travels to whichever rank promotes
 * it, and the study's values equal the single-process run's bit for bit.
 * Which rank is free when a promotion comes is up to timing (under a
 * sanitizer or a loaded machine the first rung's rank is often the free
 * one), so the MPI study runs up to 4 times, each in a fresh database, until
 * one promotion lands on another rank; every run must equal the plain one. */
Test(mpi, hyperband_promotes_on_another_rank_with_the_same_values)
{
    need_mpirun();
    write_spirals("hb.ini", "[train]\nepochs = 9\n[study]\nscheduler = hyperband\ntrials = 27\nstorage = hb.db\n"
                            "min_budget = 1\nmax_budget = 9\nmetric = val_loss\n");
    cli_out p = mpi_run(0, "run hb.ini --json --set study.storage=plain.db");
    cr_assert_eq(p.status, 0, "stderr: %s", p.err);
    cJSON *plain[256];
    int np = trial_lines(p.out, plain, 256), moved = 0;
    cJSON *b = cJSON_Parse(cli_last_line(p.out));
    for (int attempt = 0; attempt < 4 && !moved; attempt++) {
        char args[96];
        snprintf(args, sizeof args, "run hb.ini --json --set study.storage=hb%d.db", attempt);
        cli_out r = mpi_run(3, args);
        cr_assert_eq(r.status, 0, "stderr: %s", r.err);
        cJSON *lines[256];
        int n = trial_lines(r.out, lines, 256);
        cr_assert_gt(n, 9);
        for (int i = 0; i < n; i++) {
            const char *ranks = jstr(lines[i], "ranks");
            int first = (int)strtol(ranks, NULL, 10);
            for (const char *s = strchr(ranks, ' '); s; s = strchr(s + 1, ' '))
                moved += (int)strtol(s + 1, NULL, 10) != first;
            /* the same trial at the same budget in the plain run: the same value */
            for (int k = 0; k < np; k++)
                if (jint(plain[k], "trial") == jint(lines[i], "trial") &&
                    jnum(plain[k], "budget") == jnum(lines[i], "budget") &&
                    !strcmp(jstr(plain[k], "state"), jstr(lines[i], "state")))
                    cr_assert_eq(jnum(plain[k], "value"), jnum(lines[i], "value"), "trial %d budget %g",
                                 jint(lines[i], "trial"), jnum(lines[i], "budget"));
        }
        cJSON *a = cJSON_Parse(cli_last_line(r.out));
        cr_assert_eq(jnum(a, "best_value"), jnum(b, "best_value"));
        cr_assert_eq(jint(a, "n_complete"), jint(b, "n_complete"));
        cJSON_Delete(a);
        for (int i = 0; i < n; i++)
            cJSON_Delete(lines[i]);
        if (!moved && attempt == 3)
            cr_assert_fail("in 4 runs no promotion ran on another rank than the first rung's:\n%s", r.out);
        cli_free(&r);
    }
    cJSON_Delete(b);
    for (int i = 0; i < np; i++)
        cJSON_Delete(plain[i]);
    cli_free(&p);
}

/* The k-th rank (0-based) of a "ranks" list, or -1. */
static int rank_at(const char *ranks, int k)
{
    const char *s = ranks;
    for (int i = 0; i < k && s; i++)
        s = strchr(s, ' '), s = s ? s + 1 : NULL;
    return s && *s ? (int)strtol(s, NULL, 10) : -1;
}

/* Reads "number|value" rows of a sqlite3 query on db into texts[number]. */
static void query_attr(const char *db, const char *key, char texts[][4096], int max)
{
    char cmd[512], path[] = "/tmp/tl-mpi-qXXXXXX";
    close(mkstemp(path));
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s/%s' \"select t.number, a.value from trial_attrs a join trials t on t.id = a.trial_id "
             "where a.key = '%s'\" > %s",
             dir, db, key, path);
    cr_assert_eq(system(cmd), 0, "sqlite3 failed: %s", cmd);
    char *s = cli_slurp(path);
    unlink(path);
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        int k = (int)strtol(line, NULL, 10);
        char *bar = strchr(line, '|');
        if (bar && k >= 0 && k < max)
            snprintf(texts[k], 4096, "%s", bar + 1);
    }
    free(s);
}

/* PBT: an exploit copies the source member's state, made on one rank, to
 * a target member running on the other (interval 1: run j ends at step j+1). */
Test(mpi, pbt_exploits_copy_states_across_ranks)
{
    need_mpirun();
    write_spirals("pbt.ini", "[train]\nepochs = 8\n[study]\nscheduler = pbt\ntrials = 4\nstorage = pbt.db\nseed = 3\n"
                             "metric = val_loss\n[pbt]\npopulation = 4\ninterval = 1\nsync = true\nquantile = 0.25\n");
    cli_out r = mpi_run(3, "run pbt.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *sum = cJSON_Parse(cli_last_line(r.out));
    cr_assert_eq(jint(sum, "n_complete"), 4, "%s", r.out);
    cJSON_Delete(sum);
    static char lineage[4][4096], ranks[4][4096];
    memset(lineage, 0, sizeof lineage);
    memset(ranks, 0, sizeof ranks);
    query_attr("pbt.db", "pbt.lineage", lineage, 4);
    query_attr("pbt.db", "ranks", ranks, 4);
    int exploits = 0, across = 0;
    for (int t = 0; t < 4; t++) {
        cJSON *l = cJSON_Parse(lineage[t]);
        cr_assert(cJSON_IsArray(l), "trial %d lineage: %s", t, lineage[t]);
        cJSON *e;
        cJSON_ArrayForEach(e, l)
        {
            if (strcmp(jstr(e, "kind"), "exploit"))
                continue;
            int step = jint(e, "step"), src = jint(e, "src");
            cr_assert(src >= 0 && src < 4);
            exploits++;
            int a = rank_at(ranks[t], step - 1), b = rank_at(ranks[src], step - 1);
            across += a > 0 && b > 0 && a != b;
        }
        cJSON_Delete(l);
    }
    cr_assert_gt(exploits, 0, "no exploit happened");
    cr_assert_gt(across, 0, "no exploit copied a state made on another rank (%d exploits)", exploits);
    cli_free(&r);
}

/* pid of the process that is rank `rank` of the tunelab job, or -1. */
static pid_t find_rank(int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    char study[80];
    snprintf(study, sizeof study, "%s", dir);
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;
    while (d && (e = readdir(d)) && found < 0) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static char env[1 << 16];
        size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[n] = 0;
        int is_rank = 0, ours = 0;
        for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
            is_rank |= !strcmp(env + i, want);
            ours |= !strncmp(env + i, "PWD=", 4) && !strcmp(env + i + 4, study);
        }
        if (is_rank && ours)
            found = (pid_t)pid;
    }
    if (d)
        closedir(d);
    return found;
}

/* The first number a sqlite3 query on dir/db prints (0 when none). */
static int query_int(const char *db, const char *sql)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/%s' \"%s\" 2>/dev/null", dir, db, sql);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p && fscanf(p, "%d", &n) != 1)
        n = 0;
    if (p)
        pclose(p);
    return n;
}

static int count_complete(const char *db)
{
    return query_int(db, "select count(*) from trials where state = 'complete'");
}

/* Starts `mpirun -np 3 tunelab run cfg`, waits until query `when` on db
 * gives at least 1, kills rank 2 (SIGKILL), and returns once the job and
 * its rank 0 (the owner of the trials left running) are gone. */
static void run_and_kill_rank_2(const char *cfg, const char *db, const char *when)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec env NO_COLOR=1 OMP_NUM_THREADS=1 " MPIRUN
             " -np 3 '%s' run %s --json >k1.out 2>k1.err", dir, cli_bin(), cfg);
    pid_t mp = fork();
    cr_assert(mp >= 0);
    if (mp == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int ready = 0;
    for (int i = 0; i < 600 && !(ready = query_int(db, when) > 0); i++)
        usleep(50000);
    cr_assert(ready, "the study did not get to: %s", when);
    pid_t victim = find_rank(2);
    cr_assert_gt(victim, 0, "rank 2 not found");
    kill(victim, SIGKILL);
    int st;
    waitpid(mp, &st, 0);
    cr_assert(!WIFEXITED(st) || WEXITSTATUS(st) != 0, "mpirun should fail when a rank dies");
    /* rank 0 may outlive mpirun a moment: its trials are requeued once its pid is gone */
    char q[512];
    snprintf(q, sizeof q, "sqlite3 '%s/%s' \"select distinct pid from trials where state = 'running'\"", dir, db);
    FILE *pp = popen(q, "r");
    long owner;
    while (pp && fscanf(pp, "%ld", &owner) == 1)
        for (int i = 0; i < 200 && kill((pid_t)owner, 0) == 0; i++)
            usleep(50000);
    if (pp)
        pclose(pp);
}

/* A dead rank ends the job (Open MPI's default); mpirun again resumes the
 * study: every completed trial kept as it was, the lost ones re-run. */
Test(mpi, killed_rank_loses_no_completed_trial_and_resumes)
{
    need_mpirun();
    cli_write_in(dir, "slow.ini", "[objective]\ntype = command\ncommand = sh -c 'sleep 0.4; echo {x}'\n"
                                  "[study]\ntrials = 10\nstorage = slow.db\n[space]\nx = uniform(0, 1)\n");
    run_and_kill_rank_2("slow.ini", "slow.db", "select count(*) >= 3 from trials where state = 'complete'");
    /* what was complete stays complete, with its value */
    char snap[] = "/tmp/tl-mpi-snapXXXXXX", cmp[512];
    close(mkstemp(snap));
    snprintf(cmp, sizeof cmp, "sqlite3 '%s/slow.db' \"select number, value from trials where state = 'complete' "
                              "order by number\" > %s", dir, snap);
    cr_assert_eq(system(cmp), 0);
    int done = count_complete("slow.db");
    cr_assert_lt(done, 10, "the kill came too late to test anything");
    cli_out r = mpi_run(3, "run slow.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *sum = cJSON_Parse(cli_last_line(r.out));
    if (jint(sum, "n_complete") != 10) {
        snprintf(cmp, sizeof cmp, "sqlite3 '%s/slow.db' 'select number, state, host, pid from trials' >&2; cat '%s/k1.err' >&2", dir, dir);
        (void)!system(cmp);
    }
    cr_assert_eq(jint(sum, "n_complete"), 10, "%s", r.out);
    cr_assert_eq(jint(sum, "n_trials"), 10);
    cJSON_Delete(sum);
    char *old = cli_slurp(snap);
    char check[] = "/tmp/tl-mpi-checkXXXXXX";
    close(mkstemp(check));
    snprintf(cmp, sizeof cmp, "sqlite3 '%s/slow.db' \"select number, value from trials where state = 'complete' "
                              "order by number\" > %s", dir, check);
    cr_assert_eq(system(cmp), 0);
    char *now = cli_slurp(check);
    for (char *line = strtok(old, "\n"); line; line = strtok(NULL, "\n"))
        cr_assert(strstr(now, line), "completed trial changed or lost: %s", line);
    free(old);
    free(now);
    unlink(snap);
    unlink(check);
    cli_free(&r);
}

/* Hyperband killed after a promotion: the paused trials' states, saved by
 * rank 0 in the study's state folder, carry them on after mpirun again,
 * and the study ends where the uninterrupted one-process run ends. */
Test(mpi, killed_hyperband_resumes_paused_trials_from_saved_states)
{
    need_mpirun();
    cli_write_in(dir, "hk.ini", "[data]\ndataset = spirals\nsamples = 20000\nclasses = 3\nval_fraction = 0.2\n"
                                "[model]\ntype = mlp\nlayers = 2\nhidden = 128\n"
                                "[train]\nlr = 3e-2\nbatch_size = 16\nepochs = 9\nseed = 7\n"
                                "[study]\nscheduler = hyperband\ntrials = 9\nstorage = hk.db\nmin_budget = 1\n"
                                "max_budget = 9\nmetric = val_loss\n[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    run_and_kill_rank_2("hk.ini", "hk.db", "select count(*) from trials where state = 'paused' and budget >= 3");
    /* at the kill a trial that had paused is paused, or promoted again and
     * running: either way its pause record and saved state bring it back */
    cr_assert_gt(query_int("hk.db", "select count(*) from trials t where t.state in ('paused', 'running') "
                                    "and exists (select 1 from trial_attrs a where a.trial_id = t.id "
                                    "and a.key = 'paused_at')"), 0);
    char ls[256];
    snprintf(ls, sizeof ls, "ls '%s/hk.db.states' | grep -q 'trial-.*\\.state'", dir);
    cr_assert_eq(system(ls), 0, "no saved state in hk.db.states");
    cli_out r = mpi_run(3, "run hk.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cli_out p = mpi_run(0, "run hk.ini --json --set study.storage=plain.db");
    cr_assert_eq(p.status, 0, "stderr: %s", p.err);
    cJSON *a = cJSON_Parse(cli_last_line(r.out)), *b = cJSON_Parse(cli_last_line(p.out));
    cr_assert(a && b, "%s\n%s", r.out, p.out);
    cr_assert_eq(jint(a, "n_complete"), jint(b, "n_complete"));
    cr_assert_eq(jnum(a, "best_value"), jnum(b, "best_value"), "resumed %.17g, uninterrupted %.17g",
                 jnum(a, "best_value"), jnum(b, "best_value"));
    cr_assert_eq(jnum(a, "budget_used"), jnum(b, "budget_used"));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cli_free(&p);
    cli_free(&r);
}

/* Asserts that r exited 0 and its stderr holds every string of want
 * (NULL-terminated). */
static void ok_saying(const cli_out *r, const char *const *want)
{
    cr_assert_eq(r->status, 0, "stderr: %s", r->err);
    for (; *want; want++)
        cr_assert(strstr(r->err, *want), "no '%s' in:\n%s", *want, r->err);
}

/* Under mpirun every worker rank runs one trial at a time on its
 * train.threads threads, and study.workers counts trials at a time over
 * the job (1, the default: every worker rank).  The header says so host by
 * host; the progress lines (rank 0's stderr is a pipe under mpirun) name
 * the rank of every running trial; each trial ran on 2 threads. */
Test(mpi, every_worker_rank_runs_one_trial_on_its_threads)
{
    need_mpirun();
    write_spirals("w.ini", "[train]\nepochs = 4\nthreads = 2\n[study]\ntrials = 8\nstorage = w.db\n");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && TUNELAB_PROGRESS_SECONDS=0 OMP_NUM_THREADS=1 NO_COLOR=1 " MPIRUN
             " -np 3 '%s' run w.ini --set data.samples=2000", dir, cli_bin());
    cli_out r = cli_sh(cmd);
    /* the header, host by host, and progress lines naming the ranks */
    ok_saying(&r, (const char *const[]){"2 worker ranks run trials, one at a time each (2 at a time)\n",
                                        "# MPI hosts: ", ": rank 0 + 2 worker ranks x 2 threads", " on rank 1",
                                        " on rank 2", NULL});
    /* 8 trials on 2 ranks, each on 2 threads, the rank's only trial slot */
    static const struct { const char *sql; int want; } checks[] = {
        {"select count(*) from trials where state = 'complete'", 8},
        {"select count(distinct value) from trial_attrs where key = 'rank'", 2},
        {"select count(*) from trial_attrs where key = 'thread' and value != '0'", 0},
        {"select count(*) from trial_attrs where key = 'threads' and value = '2'", 8},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        cr_assert_eq(query_int("w.db", checks[i].sql), checks[i].want, "%s", checks[i].sql);
    cli_free(&r);
}

/* study.workers below the worker ranks leaves the others idle (said in the
 * header); above them, every rank stops before any trial: exit 2, rank 0
 * named, the fix in the message, no database written. */
Test(mpi, study_workers_counts_trials_over_the_job)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    cli_out r = mpi_run(4, "run fn.ini --json --workers 2");
    ok_saying(&r, (const char *const[]){"# MPI: 4 ranks: rank 0 runs the study, 2 worker ranks run trials",
                                        "; rank 3 idle (study.workers = 2)", NULL});
    cr_assert_eq(count_complete("fn.db"), 12);
    cr_assert_eq(query_int("fn.db", "select count(*) from trial_attrs where key = 'rank' and value not in ('1', '2')"),
                 0);
    cli_free(&r);

    cli_out e = mpi_run(3, "run fn.ini --workers 3 --set study.storage=more.db");
    cr_assert_eq(e.status, 2, "stdout: %s\nstderr: %s", e.out, e.err);
    cr_assert(strstr(e.err, "rank 0") && strstr(e.err, "study.workers = 3") && strstr(e.err, "2 worker ranks") &&
                  strstr(e.err, "-np 4"),
              "%s", e.err);
    char db[1024];
    snprintf(db, sizeof db, "%s/more.db", dir);
    cr_assert_neq(access(db, F_OK), 0, "a database was written");
    cli_free(&e);
}

Test(mpi, one_rank_is_a_plain_run)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    cli_out r = mpi_run(1, "run fn.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_null(strstr(r.err, "MPI:"), "%s", r.err);
    cJSON *sum = cJSON_Parse(cli_last_line(r.out));
    cr_assert_eq(jint(sum, "n_complete"), 12);
    cJSON_Delete(sum);
    cli_free(&r);
}

Test(mpi, different_configs_on_two_ranks_exit_2_naming_the_rank)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    char args[1024];
    snprintf(args, sizeof args, "run fn.ini : -np 1 '%s' run fn.ini --set study.trials=13", cli_bin());
    cli_out r = mpi_run(2, args);
    cr_assert_eq(r.status, 2, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "rank 2") && strstr(r.err, "config differs"), "%s", r.err);
    cr_assert_eq(count_complete("fn.db"), 0);
    cli_free(&r);
}

/* A rank that fails alone before the start-up check (here: it runs in a
 * folder without the config file) exits 2 and mpirun ends the job: the
 * other ranks, waiting in the check, are not left hanging (`timeout`
 * would end them with 124). */
Test(mpi, a_rank_that_fails_alone_ends_the_job_with_2)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    char sub[1024], args[1024];
    snprintf(sub, sizeof sub, "%s/elsewhere", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "%s fn.ini : -np 1 -wdir elsewhere '%s' %s fn.ini", k ? "train" : "run",
                 cli_bin(), k ? "train" : "run");
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && OMP_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 timeout 60 "
                 "mpirun --allow-run-as-root --oversubscribe -np 1 '%s' %s", dir, cli_bin(), args);
        cli_out r = cli_sh(cmd);
        cr_assert_eq(r.status, 2, "%s: stderr: %s", k ? "train" : "run", r.err);
        cr_assert(strstr(r.err, "fn.ini"), "%s", r.err);
        cli_free(&r);
    }
    cr_assert_eq(count_complete("fn.db"), 0);
}

Test(mpi, a_different_binary_on_a_rank_exits_2_naming_the_rank)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    char cmd[2048];
    /* a copy with one more byte at the end: it runs the same, its hash differs */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/other' && printf x >> '%s/other'", cli_bin(), dir, dir);
    cr_assert_eq(system(cmd), 0);
    char args[1024];
    snprintf(args, sizeof args, "run fn.ini : -np 1 '%s/other' run fn.ini", dir);
    cli_out r = mpi_run(2, args);
    cr_assert_eq(r.status, 2, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "rank 2") && strstr(r.err, "different tunelab binary"), "%s", r.err);
    cr_assert_eq(count_complete("fn.db"), 0);
    cli_free(&r);
}

Test(mpi, storage_rank_0_cannot_reach_exits_2_naming_rank_0)
{
    need_mpirun();
    cli_write_in(dir, "fn.ini", FN);
    cli_out r = mpi_run(3, "run fn.ini --set study.storage=/proc/none/x.db");
    cr_assert_eq(r.status, 2, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "rank 0") && strstr(r.err, "/proc/none"), "%s", r.err);
    cli_free(&r);
}

/* The final summary of a `tunelab train --json` run. */
static double train_val_loss(const cli_out *r)
{
    cJSON *j = cJSON_Parse(cli_last_line(r->out));
    cr_assert(j, "no JSON summary: %s\n%s", r->out, r->err);
    double v = jnum(j, "val_loss");
    cJSON_Delete(j);
    return v;
}

#define DP_TOL 1e-6 /* relative; measured 3e-8: sums of slices differ from one sum in float rounding only */

/* Data-parallel `tunelab train` (3 ranks, accumulation, a schedule and
 * dropout, whose masks follow the sample and not the rank) ends where the
 * single-process run ends; a checkpoint written by 3 ranks resumes on 2,
 * one of them in a folder without the file (rank 0 sends its bytes). */
Test(mpi, data_parallel_train_equals_the_single_process_run)
{
    need_mpirun();
    /* batch 30: every micro-batch splits evenly over 3 ranks */
    cli_write_in(dir, "dp.ini", "[data]\ndataset = spirals\nsamples = 300\nclasses = 3\nval_fraction = 0.2\n"
                                "[model]\ntype = mlp\nlayers = 2\nhidden = 16\ndropout = 0.2\n"
                                "[train]\nlr = 3e-2\nbatch_size = 30\nseed = 7\nepochs = 6\naccum_steps = 2\n"
                                "schedule = cosine\nearly_stopping_patience = 3\n");
    cli_out one = mpi_run(0, "train dp.ini --json");
    cr_assert_eq(one.status, 0, "%s", one.err);
    cli_out three = mpi_run(3, "train dp.ini --json");
    cr_assert_eq(three.status, 0, "%s", three.err);
    cr_assert(strstr(three.err, "data parallel over 3 ranks"), "%s", three.err);
    cr_assert(strstr(three.err, "# MPI hosts: ") && strstr(three.err, ": 3 ranks, each rank on "), "%s", three.err);
    double a = train_val_loss(&one), b = train_val_loss(&three);
    cr_assert(fabs(a - b) <= DP_TOL * fabs(a), "1 process %.9g, 3 ranks %.9g", a, b);
    cli_out part = mpi_run(3, "train dp.ini --until 3 --set train.checkpoint=part.ckpt --quiet");
    cr_assert_eq(part.status, 0, "%s", part.err);
    /* rank 1 runs in a folder without the checkpoint: rank 0 sends it */
    char args[1024];
    snprintf(args, sizeof args, "%s/elsewhere", dir);
    cr_assert_eq(mkdir(args, 0755), 0);
    snprintf(args, sizeof args, "train --resume part.ckpt --json : -np 1 -wdir elsewhere '%s' train --resume part.ckpt",
             cli_bin());
    cli_out rest = mpi_run(1, args);
    cr_assert_eq(rest.status, 0, "%s", rest.err);
    double c = train_val_loss(&rest);
    cr_assert(fabs(a - c) <= DP_TOL * fabs(a), "1 process %.9g, 3 then 2 ranks %.9g", a, c);
    cli_free(&one);
    cli_free(&three);
    cli_free(&part);
    cli_free(&rest);
}

/* ---- data parallelism inside the trainer, without MPI: a fake rank ---- */

typedef struct fake_dp {
    int rank;
    int evals;             /* next() calls on the validation source */
    nn_batch_src val;      /* the real one */
    int decision;          /* what rank 0's hook decided, as shared */
    int shares;
} fake_dp;

static int fake_reduce(void *ud, float *grads, size_t n, double *sums, int nsums)
{
    return 0; /* as if the other ranks' gradients were all zero */
}

/* Rank 0's numbers: val_loss 1 every epoch (never better), accuracy 0.25,
 * evaluation fine; then its hook's decision.  Rank 0 keeps its own. */
static int fake_share(void *ud, double *d, int n)
{
    fake_dp *f = ud;
    f->shares++;
    if (f->rank == 0)
        return 0;
    if (n == 3) {
        d[0] = 1.0;
        d[1] = 0.25;
        d[2] = 0;
    } else {
        d[0] = f->decision;
    }
    return 0;
}

static int counting_next(void *self, nn_batch *b, int max_b, rng *r)
{
    fake_dp *f = self;
    f->evals++;
    return f->val.next(f->val.self, b, max_b, r);
}

static void counting_reset(void *self, rng *r)
{
    fake_dp *f = self;
    f->val.reset(f->val.self, r);
}

static int own_hook_continues(trainer *t, const train_event *ev, void *ud)
{
    return TRAIN_CONTINUE;
}

/* Trains 6 epochs (patience 2) as `rank` of 2 with rank 0 deciding
 * `decision`; returns the trainer's status, *epochs its epochs. */
static int train_as_rank(int rank, int decision, fake_dp *f, int *epochs, double *val_loss)
{
    fx_world w;
    fx_world_init(&w, 120, 40, 4, 3, 2.0, 5, 20, 1);
    nn_model *m = fx_mlp(4, 8, 3, 0.1f, 20, 3);
    cr_assert_not_null(m);
    train_config c;
    train_config_default(&c);
    c.live.opt.lr = 0.05;
    c.epochs = 6;
    c.batch_size = 20;
    c.patience = 2;
    c.seed = 11;
    trainer t;
    tl_err e;
    cr_assert_eq(trainer_init(&t, m, &c, &e), 0, "%s", e.msg);
    memset(f, 0, sizeof *f);
    f->rank = rank;
    f->decision = decision;
    f->val = w.val;
    nn_batch_src val = { f, counting_reset, counting_next, w.val.count };
    t.dp = (train_dp){ .rank = rank, .size = 2, .x_row = 4, .reduce = fake_reduce, .share = fake_share, .ud = f };
    cr_assert_eq(trainer_run(&t, &w.train, &val, 0, own_hook_continues, NULL, &e), 0, "%s", e.msg);
    int status = t.status;
    *epochs = t.epoch;
    *val_loss = t.nhist > 0 ? t.hist[0].val_loss : NAN;
    trainer_free(&t);
    nn_model_free(m);
    fx_world_free(&w);
    return status;
}

/* Under data parallelism rank 0 alone evaluates: another rank never reads
 * the validation set, takes rank 0's numbers (so early stopping stops it
 * at the same epoch) and rank 0's hook decision (a checkpoint that failed
 * on rank 0 stops every rank). */
Test(mpi, data_parallel_ranks_take_rank_0s_evaluation_and_decision)
{
    fake_dp f;
    int epochs;
    double vl;
    cr_assert_eq(train_as_rank(1, TRAIN_CONTINUE, &f, &epochs, &vl), TRAIN_EARLY_STOPPED);
    cr_assert_eq(f.evals, 0, "rank 1 evaluated (%d batches)", f.evals);
    cr_assert_eq(vl, 1.0, "rank 1 did not take rank 0's val_loss: %g", vl);
    cr_assert_eq(epochs, 3, "best at epoch 1, then 2 bad epochs: %d", epochs);
    cr_assert_eq(f.shares, 2 * epochs);
    cr_assert_eq(train_as_rank(1, TRAIN_STOP, &f, &epochs, &vl), TRAIN_STOPPED_BY_HOOK);
    cr_assert_eq(epochs, 1);
    cr_assert_eq(train_as_rank(0, TRAIN_STOP, &f, &epochs, &vl), TRAIN_COMPLETED, "rank 0 keeps its own hook's decision");
    cr_assert_gt(f.evals, 0, "rank 0 must evaluate");
    cr_assert(vl != 1.0);
}

/* A plain run neither links nor loads Open MPI (hpo/mpi_world.c dlopens it
 * under mpirun only), so it starts as fast as without MPI. */
Test(mpi, plain_binary_does_not_link_libmpi)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ldd '%s' | grep -q libmpi", cli_bin());
    cr_assert_neq(system(cmd), 0, "tunelab links libmpi: a plain start would load it");
}
