/* tests/test_workers_auto.c: study.workers = auto (issue 18 part 2).  The
 * key parses ("auto" is 0, and a config dump reads back); a bad value is
 * exit status 2 naming the key and the line; `run` prints one header line
 * with both measured layouts (1 worker x 2 threads and 2 workers x 1
 * thread, samples/s each) and the one it chose; an objective that is not
 * training is not measured; and the trials of an auto study equal, bit for
 * bit, those of the same study run with the layout it chose written out
 * (the probe touches nothing but the thread count); the probe's time cap
 * (a layout whose warm-up reaches the cap is measured by the warm-up alone,
 * no timed steps after it).  No timing is asserted: which layout wins
 * depends on the machine. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_json_util.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tune/config.h"
#include "tune/study_setup.h"

TMPDIR_FIXTURE(dir, "tl-wauto");

TestSuite(workers_auto, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

Test(workers_auto, the_key_takes_auto_and_reads_back)
{
    config c;
    tl_err e = {0};
    const char *text = "[study]\nworkers = auto\n";
    config_defaults(&c);
    cr_assert_eq(config_load_text(&c, text, strlen(text), "w.ini", &e), 0, "%s", e.msg);
    cr_assert_eq(c.workers, 0, "auto is stored as 0");
    char *dump = config_to_string(&c);
    cr_assert(dump);
    config back;
    config_defaults(&back);
    cr_assert_eq(config_load_text(&back, dump, strlen(dump), "dump", &e), 0, "%s", e.msg);
    cr_assert_eq(back.workers, 0);
    free(dump);
    const char *three = "[study]\nworkers = 3\n";
    config_defaults(&c);
    cr_assert_eq(config_load_text(&c, three, strlen(three), "w.ini", &e), 0, "%s", e.msg);
    cr_assert_eq(c.workers, 3);
}

Test(workers_auto, a_bad_value_is_exit_2_naming_the_key_and_line)
{
    cli_write_in(dir, "b.ini", "[objective]\ntype = function\n[study]\ntrials = 2\nworkers = many\nstorage = b.db\n"
                               "[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    cli_expect_err(dir, "run b.ini", 2, "study.workers: expected an integer or auto, got 'many'");
    cli_expect_err(dir, "run b.ini", 2, "b.ini:5");
    cli_expect_err(dir, "run b.ini --set study.workers=-1", 2, "study.workers");
    cli_expect_err(dir, "run b.ini --set study.workers=auto2", 2, "expected an integer or auto");
}

/* The header's "# workers auto: ..." line of r's stderr, or NULL. */
static const char *auto_line(const char *err, char *buf, size_t n)
{
    const char *at = strstr(err, "# workers auto: ");
    if (!at)
        return NULL;
    snprintf(buf, n, "%.*s", (int)strcspn(at, "\n"), at);
    return buf;
}

Test(workers_auto, run_prints_both_measured_layouts_and_the_trials_match_the_chosen_layout)
{
    cli_write_in(dir, "s.ini", "[data]\ndataset = spirals\nsamples = 400\n[model]\nhidden = 32\n"
                               "[train]\nepochs = 2\nbatch_size = 32\nseed = 5\nthreads = 2\n"
                               "[study]\ntrials = 3\nworkers = auto\nmetric = val_loss\nstorage = a.db\n"
                               "[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n");
    cli_out r = cli_run(dir, "run s.ini --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char line[512];
    cr_assert(auto_line(r.err, line, sizeof line), "%s", r.err);
    int w = !strncmp(line, "# workers auto: 2 workers x 1 thread: ", 38) ? 2
            : !strncmp(line, "# workers auto: 1 worker x 2 threads: ", 38) ? 1 : 0;
    cr_assert(w, "one of the two layouts: %s", line);
    double one = 0, many = 0;
    const char *m1 = strstr(line, "measured 1 worker x 2 threads "), *m2 = strstr(line, ", 2 workers x 1 thread ");
    cr_assert(m1 && m2, "both layouts measured: %s", line);
    one = strtod(m1 + strlen("measured 1 worker x 2 threads "), NULL);
    many = strtod(m2 + strlen(", 2 workers x 1 thread "), NULL);
    cr_assert(one > 0 && many > 0, "%s", line);
    cr_assert(strstr(line, "samples/s") && strstr(line, "at batch 32"), "%s", line);
    cr_assert((many > one) == (w == 2), "the faster one is chosen: %s", line);
    cJSON *a = cli_last_json(r.out);
    double best_auto = cJSON_GetObjectItem(a, "best_value")->valuedouble;
    cJSON_Delete(a);
    cli_free(&r);

    /* the same study with the chosen layout written out: the same values */
    char args[256];
    snprintf(args, sizeof args, "run s.ini --json --set study.storage=b.db --set study.workers=%d", w);
    r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_null(strstr(r.err, "# workers auto"), "%s", r.err);
    cJSON *b = cli_last_json(r.out);
    cr_assert(cJSON_GetObjectItem(b, "best_value")->valuedouble == best_auto, "auto %.17g vs written out %.17g",
              best_auto, cJSON_GetObjectItem(b, "best_value")->valuedouble);
    cJSON_Delete(b);
    cli_free(&r);
    /* every trial, not only the best */
    cli_out e1 = cli_run(dir, "export a.db --json"), e2 = cli_run(dir, "export b.db --json");
    cr_assert_eq(e1.status, 0, "%s", e1.err);
    cr_assert_eq(e2.status, 0, "%s", e2.err);
    cJSON *j1 = cJSON_Parse(e1.out), *j2 = cJSON_Parse(e2.out);
    cr_assert(j1 && j2);
    cJSON *t1 = cJSON_GetObjectItem(j1, "trials"), *t2 = cJSON_GetObjectItem(j2, "trials");
    cr_assert_eq(cJSON_GetArraySize(t1), 3);
    cr_assert_eq(cJSON_GetArraySize(t2), 3);
    for (int i = 0; i < 3; i++) {
        double a1 = cJSON_GetObjectItem(cJSON_GetArrayItem(t1, i), "value")->valuedouble;
        double a2 = cJSON_GetObjectItem(cJSON_GetArrayItem(t2, i), "value")->valuedouble;
        cr_assert(a1 == a2, "trial %d: %.17g vs %.17g", i, a1, a2);
    }
    cJSON_Delete(j1);
    cJSON_Delete(j2);
    cli_free(&e1);
    cli_free(&e2);
}

Test(workers_auto, a_function_objective_is_not_measured)
{
    cli_write_in(dir, "f.ini", "[objective]\ntype = function\n[study]\ntrials = 2\nworkers = auto\nstorage = f.db\n"
                               "[train]\nthreads = 2\n[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    cli_out r = cli_run(dir, "run f.ini");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char line[512];
    cr_assert(auto_line(r.err, line, sizeof line), "%s", r.err);
    cr_assert(strstr(line, "2 workers x 1 thread (the objective is not training"), "%s", line);
    cli_free(&r);
    r = cli_run(dir, "run f.ini --set study.storage=g.db --set train.threads=1");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(auto_line(r.err, line, sizeof line), "%s", r.err);
    cr_assert(strstr(line, "1 worker x 1 thread (one core: nothing to compare)"), "%s", line);
    cli_free(&r);
}

/* The cap at 0 s stands for a model too slow to time longer: every layout
 * is measured by its 3 warm-up steps and no timed steps run (steps 0);
 * with a cap no warm-up reaches, the 4 timed steps run. */
Test(workers_auto, a_probe_over_its_time_cap_stops_after_the_warm_up)
{
    const char *text = "[data]\ndataset = spirals\nsamples = 200\n[model]\nhidden = 16\n"
                       "[train]\nepochs = 1\nbatch_size = 16\nseed = 3\nthreads = 2\n"
                       "[study]\ntrials = 1\nworkers = auto\n"
                       "[space]\ntrain.batch_size = int(8, 32)\n";
    config c;
    tl_err err = {0};
    config_defaults(&c);
    cr_assert_eq(config_load_text(&c, text, strlen(text), "w.ini", &err), 0, "%s", err.msg);
    cr_assert_eq(config_resolve(&c, NULL, &err), 0, "%s", err.msg);
    space sp;
    cr_assert_eq(tune_space_from_config(&c, &sp, &err), 0, "%s", err.msg);
    tune_objective *o = calloc(1, sizeof *o);
    cr_assert_eq(tune_objective_open(o, &c, &sp, &err), 0, "%s", err.msg);
    double caps[2] = {0.0, 1e9};
    int want[2] = {0, TUNE_PROBE_STEPS};
    for (int k = 0; k < 2; k++) {
        tune_layout L;
        cr_assert_eq(tune_workers_auto_capped(o, &c, &sp, 2, caps[k], &L, &err), 0, "%s", err.msg);
        cr_assert(L.measured, "cap %g: measured", caps[k]);
        cr_assert_eq(L.nbatch, 2, "cap %g: both ends of the batch range", caps[k]);
        cr_assert_eq(L.steps, want[k], "cap %g: %d timed steps, want %d", caps[k], L.steps, want[k]);
        cr_assert(L.rate_one > 0 && L.rate_many > 0, "cap %g: %g and %g samples/s", caps[k],
                  L.rate_one, L.rate_many);
        cr_assert_eq(L.workers * L.threads, 2, "cap %g: %d x %d", caps[k], L.workers, L.threads);
    }
    tune_objective_close(o);
    free(o);
    space_free(&sp);
}
