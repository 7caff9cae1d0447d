/* tests/test_cli.c: the `tunelab` command end to end on tiny synthetic data:
 * config errors (file:line: key, exit 2), train (table and JSON), resume
 * bit for bit, damaged checkpoints, divergence, schedule, lr-find, run. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_json_util.h"
#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"

TMPDIR_FIXTURE(dir, "tl-cli");

TestSuite(cli, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 120);

static const char *SPIRALS =
    "[data]\ndataset = spirals\nsamples = 600\nclasses = 3\nnoise = 0.02\nval_fraction = 0.2\n"
    "[model]\ntype = mlp\nlayers = 2\nhidden = 64\n"
    "[train]\nlr = 3e-2\nbatch_size = 32\nepochs = 30\nschedule = cosine\nseed = 7\n";

/* 1 if the INI text `extra` sets key `name` in section `sec`. */
static int sets_key(const char *extra, const char *sec, const char *name)
{
    char cur[64] = "";
    for (const char *l = extra; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (line[0] == '[')
            sscanf(line, "[%63[^]]", cur);
        else {
            char k[64];
            if (sscanf(line, " %63[^ =]", k) == 1 && !strcmp(cur, sec) && !strcmp(k, name))
                return 1;
        }
        l = nl ? nl + 1 : l + n;
    }
    return 0;
}

/* SPIRALS with `extra` on top: a key extra sets is left out of the base
 * (a config may not set a key twice). */
static void write_cfg(const char *name, const char *extra)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = malloc(strlen(SPIRALS) + strlen(extra) + 2);
    text[0] = 0;
    char sec[64] = "";
    for (const char *l = SPIRALS; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = (size_t)(nl - l);
        char line[256], k[64];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (line[0] == '[')
            sscanf(line, "[%63[^]]", sec);
        if (line[0] == '[' || sscanf(line, " %63[^ =]", k) != 1 || !sets_key(extra, sec, k))
            strncat(text, l, n + 1);
        l = nl + 1;
    }
    strcat(text, extra);
    cli_write(path, text);
    free(text);
}

static double num(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "missing number %s", k);
    return v->valuedouble;
}

Test(cli, version_and_help)
{
    cli_out r = cli_run(NULL, "--version");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "tunelab "));
    cli_free(&r);
    r = cli_run(NULL, "train --help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "train.lr"), "train --help lists the config keys");
    cli_free(&r);
    r = cli_run(NULL, "frobnicate");
    cr_assert_eq(r.status, 2);
    cli_free(&r);
}

Test(cli, unknown_key_names_file_line_and_suggests)
{
    cli_write_in(dir, "bad.ini", "[data]\ndataset = spirals\n\n[train]\nlrr = 0.1\n");
    cli_expect_err(dir, "train bad.ini", 2, "bad.ini:5: train.lrr: unknown key (did you mean train.lr?)");
}

Test(cli, bad_values_and_sections_are_config_errors)
{
    cli_write_in(dir, "bad.ini", "[train]\nlr = fast\n");
    cli_expect_err(dir, "train bad.ini", 2, "bad.ini:2: train.lr: expected a number, got 'fast'");
    cli_write_in(dir, "bad.ini", "[trian]\nlr = 1\n");
    cli_expect_err(dir, "train bad.ini", 2, "bad.ini:2: [trian]: unknown section");
    cli_write_in(dir, "bad.ini", "[model]\ntype = gpt\nd_model = 130\nheads = 4\n[data]\ndataset = text\n");
    cli_expect_err(dir, "train bad.ini", 2, "model.heads: d_model 130 is not divisible by 4 heads");
    cli_expect_err(dir, "train bad.ini --set train.batch_size=-3", 2, "--set train.batch_size=-3: train.batch_size");
    cli_expect_err(dir, "train missing.ini", 2, "missing.ini: cannot open");
}

Test(cli, train_json_reports_every_epoch_and_learns)
{
    write_cfg("s.ini", "");
    cli_out r = cli_run(dir, "train s.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    int epochs = 0;
    for (const char *p = r.out; (p = strstr(p, "\"epoch\":")); p++)
        epochs++;
    cr_assert_eq(epochs, 30, "one object per epoch: %s", r.out);
    cJSON *j = cli_last_json(r.out);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "completed");
    cr_assert_eq(num(j, "epochs"), 30);
    cr_assert_gt(num(j, "val_accuracy"), 0.9, "spirals should be learnt: %s", r.out);
    cr_assert(num(j, "seconds") >= 0);
    cr_assert(strstr(r.err, "# threads:"), "the thread layout is printed");
    cJSON_Delete(j);
    cli_free(&r);
}

Test(cli, resume_from_checkpoint_is_bit_identical)
{
    write_cfg("s.ini", "[train]\ncheckpoint = run.ckpt\n");
    cli_out full = cli_run(dir, "train s.ini --json --set train.checkpoint=full.ckpt");
    cr_assert_eq(full.status, 0, "stderr: %s", full.err);
    cli_out half = cli_run(dir, "train s.ini --json --until 13");
    cr_assert_eq(half.status, 0, "stderr: %s", half.err);
    cJSON *h = cli_last_json(half.out);
    cr_assert_str_eq(cJSON_GetObjectItem(h, "status")->valuestring, "budget_reached");
    cr_assert_eq(num(h, "epochs"), 13);
    cJSON_Delete(h);
    cli_out rest = cli_run(dir, "train --resume run.ckpt --json");
    cr_assert_eq(rest.status, 0, "stderr: %s", rest.err);
    cJSON *a = cli_last_json(full.out), *b = cli_last_json(rest.out);
    cr_assert_eq(num(b, "epochs"), 30);
    cr_assert(num(a, "val_loss") == num(b, "val_loss"), "val_loss %.17g vs %.17g", num(a, "val_loss"),
              num(b, "val_loss"));
    cr_assert(num(a, "val_accuracy") == num(b, "val_accuracy"));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cli_free(&full);
    cli_free(&half);
    cli_free(&rest);
}

Test(cli, damaged_checkpoint_is_rejected_and_kept)
{
    write_cfg("s.ini", "[train]\ncheckpoint = run.ckpt\nepochs = 2\n");
    cli_out r = cli_run(dir, "train s.ini --until 1");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cli_free(&r);
    char path[128];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    FILE *f = fopen(path, "r+b");
    cr_assert(f);
    fseek(f, 200, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    char *before = cli_slurp(path);
    r = cli_run(dir, "train --resume run.ckpt");
    cr_assert_eq(r.status, 2, "status %d stderr %s", r.status, r.err);
    cr_assert(strstr(r.err, "run.ckpt"), "the file is named: %s", r.err);
    char *after = cli_slurp(path);
    cr_assert(memcmp(before, after, 200) == 0, "the damaged file was not overwritten");
    free(before);
    free(after);
    cli_free(&r);
    cli_write_in(dir, "trunc.ckpt", "TLCKPT");
    cli_expect_err(dir, "train --resume trunc.ckpt", 2, "trunc.ckpt");
}

Test(cli, divergence_is_a_status_not_a_crash)
{
    write_cfg("s.ini", "");
    cli_out r = cli_run(dir, "train s.ini --json --set train.lr=1e6 --set train.optimizer=sgd");
    cr_assert_eq(r.status, 1, "status %d stderr %s", r.status, r.err);
    cJSON *j = cli_last_json(r.out);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "diverged");
    cJSON_Delete(j);
    cli_free(&r);
}

Test(cli, schedule_prints_warmup_then_cosine)
{
    write_cfg("s.ini", "[train]\nschedule = warmup_cosine\nwarmup = 10\nmin_lr = 1e-4\nepochs = 6\n");
    cli_out r = cli_run(dir, "schedule s.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    /* 480 training samples / 32 = 15 steps per epoch, 6 epochs */
    int n = 0;
    double prev = -1, peak = 0, last = 0;
    int ok = 1;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"), n++) {
        cJSON *j = cJSON_Parse(line);
        cr_assert(j, "line %s", line);
        double lr = num(j, "lr");
        if (n < 10)
            ok &= lr > prev;
        else if (n > 10)
            ok &= lr <= prev + 1e-15;
        if (lr > peak)
            peak = lr;
        prev = last = lr;
        cJSON_Delete(j);
    }
    cr_assert_eq(n, 90, "one line per step: %d", n);
    cr_assert(ok, "increases during warmup, then decreases");
    cr_assert_float_eq(peak, 3e-2, 1e-12);
    cr_assert(last >= 1e-4 && last < 2e-4, "ends near min_lr: %g", last);
    cli_free(&r);
}

Test(cli, lr_find_suggests_a_rate_in_the_sweep)
{
    write_cfg("s.ini", "");
    cli_out r = cli_run(dir, "lr-find s.ini --json --steps 100 --lo 1e-5 --hi 10");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    double s = num(j, "suggestion");
    cr_assert(s > 1e-5 && s < 10, "suggestion %g", s);
    cJSON_Delete(j);
    cli_free(&r);
}

Test(cli, run_function_study_then_resume_adds_trials)
{
    cli_write_in(dir, "f.ini", "[objective]\ntype = function\nfunction = branin\n[study]\ntrials = 8\nseed = 5\n"
                               "storage = f.db\n[space]\nx0 = uniform(-5, 10)\nx1 = uniform(0, 15)\n");
    cli_out r = cli_run(dir, "run f.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    cr_assert_eq(num(j, "n_trials"), 8);
    cr_assert_eq(num(j, "n_complete"), 8);
    double best8 = num(j, "best_value");
    cr_assert(best8 >= 0.397887 && best8 < 100);
    cJSON_Delete(j);
    cli_free(&r);
    r = cli_run(dir, "run f.ini --json --set study.trials=12");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    j = cli_last_json(r.out);
    cr_assert_eq(num(j, "n_trials"), 12, "the 8 earlier trials are kept: %s", r.out);
    cr_assert(num(j, "best_value") <= best8);
    cJSON_Delete(j);
    cli_free(&r);
}

Test(cli, run_train_study_with_two_workers)
{
    write_cfg("s.ini", "[study]\ntrials = 4\nmetric = val_accuracy\nworkers = 2\nstorage = t.db\n"
                       "[train]\nepochs = 10\n[space]\ntrain.lr = loguniform(1e-2, 5e-2)\nmodel.hidden = choice(32, 64)\n");
    cli_out r = cli_run(dir, "run s.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    cr_assert_eq(num(j, "n_complete"), 4);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "direction")->valuestring, "maximize");
    cr_assert_gt(num(j, "best_value"), 0.5);
    cJSON *ret = cJSON_GetObjectItem(j, "retrain");
    cr_assert(cJSON_IsString(ret) && strstr(ret->valuestring, "tunelab train ") &&
              strstr(ret->valuestring, "/s.ini --set train.lr="), "%s", ret->valuestring);
    cJSON_Delete(j);
    cli_free(&r);
}

/* A study's trials train on one thread each (two workers); its retrain
 * line pins train.threads=1, so running it alone (where train would take
 * every core) gives the trial's value bit for bit.  The shapes (784 inputs,
 * 256 x 256, batch 128) make OpenBLAS thread its sgemms, whose bits differ
 * between thread counts on the Zen and Haswell kernels (measured: val_loss
 * 2.201867357889811 at 1 thread, 2.2018669923146565 at 2). */
Test(cli, retrain_line_reproduces_the_best_trial_bit_for_bit)
{
    cli_write_in(dir, "r.ini", "[data]\ndataset = blobs\nsamples = 1200\nclasses = 10\nfeatures = 784\n"
                               "noise = 8\nval_fraction = 0.2\n[model]\ntype = mlp\nlayers = 2\nhidden = 256\n"
                               "[train]\nbatch_size = 128\nepochs = 4\nseed = 7\n"
                               "[study]\ntrials = 2\nmetric = val_loss\nworkers = 2\nstorage = r.db\n"
                               "[space]\ntrain.lr = loguniform(5e-4, 2e-3)\n");
    cli_out r = cli_run(dir, "run r.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    double best = num(j, "best_value");
    const char *ret = cJSON_GetObjectItem(j, "retrain")->valuestring;
    cr_assert(strstr(ret, "--set train.threads=1"), "%s", ret);
    char args[1024];
    snprintf(args, sizeof args, "%s --json", strstr(ret, " train ") + 1); /* cli_run names the binary */
    cli_free(&r);
    cJSON_Delete(j);
    r = cli_run(dir, args);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    j = cli_last_json(r.out);
    cr_assert(num(j, "val_loss") == best, "retrain %.17g vs trial %.17g", num(j, "val_loss"), best);
    cJSON_Delete(j);
    cli_free(&r);
}

Test(cli, space_errors_name_the_line)
{
    write_cfg("s.ini", "[space]\ntrain.lr = loguniform(0, 1)\n");
    cli_out r = cli_run(dir, "run s.ini");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "s.ini:") && strstr(r.err, "train.lr"), "stderr: %s", r.err);
    cli_free(&r);
    write_cfg("s.ini", "[space]\ntrain.lrate = uniform(0, 1)\n");
    r = cli_run(dir, "run s.ini");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "train.lrate: not a config key that can be tuned (did you mean train.lr"), "stderr: %s",
              r.err);
    cli_free(&r);
}

Test(cli, c_api_example_tunes_its_function)
{
    const char *ex = getenv("TUNELAB_EXAMPLES");
    cr_assert(ex && ex[0], "TUNELAB_EXAMPLES is not set: run the suite with `make test`");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/tune_function' > out.txt 2>&1", dir, ex);
    int st = system(cmd);
    cr_assert_eq(st, 0, "tune_function failed");
    char path[128];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char *out = cli_slurp(path);
    cr_assert(strstr(out, "best: trial"), "output: %s", out);
    cr_assert(strstr(out, "pruned"), "the median pruner stopped some trials: %s", out);
    free(out);
}

Test(cli, pbt_refuses_to_tune_the_model_shape)
{
    write_cfg("s.ini", "[study]\nscheduler = pbt\nstorage = p.db\n[space]\ntrain.lr = loguniform(1e-3, 1e-1)\n"
                       "model.hidden = choice(32, 64)\n");
    cli_expect_err(dir, "run s.ini", 2, "model.hidden: with study.scheduler = pbt");
}

/* A w x h 24-bit BMP of one gray level with a little noise. */
static void write_bmp(const char *path, int gray, unsigned seed)
{
    const int w = 8, h = 8, row = (w * 3 + 3) / 4 * 4, size = 54 + row * h;
    unsigned char buf[54 + 24 * 8];
    memset(buf, 0, sizeof buf);
    buf[0] = 'B';
    buf[1] = 'M';
    buf[2] = (unsigned char)size;
    buf[10] = 54;
    buf[14] = 40;
    buf[18] = (unsigned char)w;
    buf[22] = (unsigned char)h;
    buf[26] = 1;
    buf[28] = 24;
    for (int i = 54; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        int v = gray + (int)((seed >> 16) % 41) - 20;
        buf[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    fwrite(buf, 1, (size_t)size, f);
    fclose(f);
}

Test(cli, trains_on_a_folder_of_images_and_names_a_bad_one)
{
    char path[256];
    const char *cls[2] = {"dark", "light"};
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/img/%s", dir, cls[c]);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
        cr_assert_eq(system(cmd), 0);
        for (int i = 0; i < 20; i++) {
            snprintf(path, sizeof path, "%s/img/%s/%02d.bmp", dir, cls[c], i);
            write_bmp(path, c ? 200 : 50, (unsigned)(c * 100 + i));
        }
    }
    cli_write_in(dir, "i.ini", "[data]\ndataset = images\npath = img\nval_fraction = 0.25\n[model]\nhidden = 16\n"
                               "[train]\nepochs = 8\nbatch_size = 8\nlr = 1e-2\n");
    cli_out r = cli_run(dir, "train i.ini --json");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cJSON *j = cli_last_json(r.out);
    cr_assert_gt(num(j, "val_accuracy"), 0.9, "two gray levels are easy: %s", r.out);
    cJSON_Delete(j);
    cr_assert(strstr(r.err, "mlp 64-16-16-2"), "8x8 grayscale in, 2 classes out: %s", r.err);
    cli_free(&r);
    snprintf(path, sizeof path, "%s/img/light/zz.png", dir);
    cli_write(path, "not a png");
    cli_expect_err(dir, "train i.ini", 2, "img/light/zz.png");
}
