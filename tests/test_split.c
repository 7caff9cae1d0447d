/* tests/test_split.c: data.split_file (tune/task_data.c's
 * task_data_write_split), the file a peer such as scripts/race_optuna.py
 * reads to train and validate on tunelab's own rows: the rows written are
 * the views the trainer holds (limits included), the same seed gives the
 * same bytes and another seed another split, an unwritable path is
 * TL_EINPUT naming it (exit 2 from the command line), and `tunelab train`
 * and `tunelab run` write it.  Synthetic blobs, files in a fresh mkdtemp
 * folder; one test reads the real Fashion-MNIST sizes. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tune/task_data.h"

TMPDIR_FIXTURE(dir, "tl_split")

TestSuite(split_file, .init = tmpdir_setup, .fini = tmpdir_teardown);

static void set(config *c, const char *key, const char *v)
{
    tl_err e;
    cr_assert_eq(config_set(c, key, v, "test", &e), 0, "%s", e.msg);
}

/* 200 blobs, a quarter for validation, split with seed. */
static config blobs(const char *seed, const char *split_file)
{
    config c;
    config_defaults(&c);
    set(&c, "data.dataset", "blobs");
    set(&c, "data.samples", "200");
    set(&c, "data.val_fraction", "0.25");
    set(&c, "data.seed", seed);
    set(&c, "data.split_file", split_file);
    tl_err e;
    cr_assert_eq(config_resolve(&c, NULL, &e), 0, "%s", e.msg);
    return c;
}

static cJSON *read_json(const char *path)
{
    char *s = cli_slurp(path);
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "%s is not JSON: %.200s", path, s);
    free(s);
    return j;
}

/* The array `name` of j equals v's rows, in v's order. */
static void expect_rows(const cJSON *j, const char *name, const data_view *v)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, name);
    cr_assert(cJSON_IsArray(a), "no array \"%s\"", name);
    cr_assert_eq(cJSON_GetArraySize(a), v->n, "%s: %d rows written, the view has %ld", name,
                 cJSON_GetArraySize(a), v->n);
    long i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        cr_assert_eq((long)x->valuedouble, v->idx[i], "%s[%ld]: written %ld, the view holds %ld", name, i,
                     (long)x->valuedouble, v->idx[i]);
        i++;
    }
}

Test(split_file, rows_written_are_the_views_the_trainer_holds)
{
    char path[128];
    snprintf(path, sizeof path, "%s/split.json", dir);
    config c = blobs("7", path);
    task_data d;
    tl_err e;
    cr_assert_eq(task_data_load(&c, &d, &e), 0, "%s", e.msg);
    cJSON *j = read_json(path);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "format")->valuestring, "tunelab-split");
    cr_assert_eq(cJSON_GetObjectItem(j, "rows")->valueint, 200);
    cr_assert_eq(cJSON_GetObjectItem(j, "seed")->valueint, 7);
    cr_assert_eq(d.val.n, 50);
    expect_rows(j, "train", &d.train);
    expect_rows(j, "val", &d.val);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "test")), 0, "blobs have no test set");
    /* every row once, on one side */
    int seen[200] = {0};
    for (long i = 0; i < d.train.n; i++)
        seen[d.train.idx[i]]++;
    for (long i = 0; i < d.val.n; i++)
        seen[d.val.idx[i]]++;
    for (int i = 0; i < 200; i++)
        cr_assert_eq(seen[i], 1, "row %d on %d sides", i, seen[i]);
    cJSON_Delete(j);
    task_data_free(&d);
}

Test(split_file, limits_keep_the_first_rows_the_trainer_keeps)
{
    char path[128];
    snprintf(path, sizeof path, "%s/limited.json", dir);
    config c = blobs("3", path);
    set(&c, "data.train_limit", "40");
    set(&c, "data.val_limit", "10");
    task_data d;
    tl_err e;
    cr_assert_eq(task_data_load(&c, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d.train.n, 40);
    cJSON *j = read_json(path);
    expect_rows(j, "train", &d.train);
    expect_rows(j, "val", &d.val);
    cr_assert_eq(cJSON_GetObjectItem(j, "train_limit")->valueint, 40);
    cJSON_Delete(j);
    task_data_free(&d);
}

Test(split_file, same_seed_same_bytes_other_seed_other_split)
{
    char a[128], b[128], o[128];
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    snprintf(o, sizeof o, "%s/o.json", dir);
    const char *seeds[3] = {"5", "5", "6"};
    const char *paths[3] = {a, b, o};
    for (int i = 0; i < 3; i++) {
        config c = blobs(seeds[i], paths[i]);
        task_data d;
        tl_err e;
        cr_assert_eq(task_data_load(&c, &d, &e), 0, "%s", e.msg);
        task_data_free(&d);
    }
    char *sa = cli_slurp(a), *sb = cli_slurp(b), *so = cli_slurp(o);
    cr_assert_gt(strlen(sa), 100);
    cr_assert_str_eq(sa, sb, "seed 5 twice gave two files");
    /* same sizes, other rows: the text differs beyond the seed field */
    cr_assert_str_neq(strstr(sa, "\"train\""), strstr(so, "\"train\""), "seeds 5 and 6 gave the same split");
    free(sa), free(sb), free(so);
}

Test(split_file, unwritable_path_is_input_error_naming_it_and_frees_the_data)
{
    char file[128], path[160];
    snprintf(file, sizeof file, "%s/plain", dir);
    cli_write(file, "not a folder\n");
    snprintf(path, sizeof path, "%s/split.json", file); /* a folder that is a file */
    config c = blobs("1", path);
    task_data d;
    tl_err e = {0};
    cr_assert_eq(task_data_load(&c, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, path) && strstr(e.msg, "data.split_file"), "%s", e.msg);
    cr_assert_null(d.train_set, "a failed load keeps nothing");
    task_data_free(&d);
}

Test(split_file, fmnist_rows_index_the_idx_files)
{
    char path[128];
    snprintf(path, sizeof path, "%s/fmnist.json", dir);
    config c;
    config_defaults(&c);
    set(&c, "data.dataset", "fmnist");
    set(&c, "data.test_limit", "100");
    set(&c, "data.split_file", path);
    tl_err e;
    cr_assert_eq(config_resolve(&c, NULL, &e), 0, "%s", e.msg);
    task_data d;
    cr_assert_eq(task_data_load(&c, &d, &e), 0, "%s", e.msg);
    cJSON *j = read_json(path);
    cr_assert_eq(cJSON_GetObjectItem(j, "rows")->valueint, 60000);
    cr_assert_eq(cJSON_GetObjectItem(j, "test_rows")->valueint, 10000);
    cr_assert_eq(d.val.n, 6000, "val_fraction 0.1 of 60000");
    expect_rows(j, "train", &d.train);
    expect_rows(j, "val", &d.val);
    expect_rows(j, "test", &d.test);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "test")), 100);
    cJSON_Delete(j);
    task_data_free(&d);
}

static const char *TINY =
    "[data]\ndataset = blobs\nsamples = 120\nval_fraction = 0.25\nseed = 4\n"
    "[model]\nhidden = 8\n[train]\nepochs = 1\nbatch_size = 32\n"
    "[study]\ntrials = 1\nmetric = val_accuracy\n"
    "[space]\ntrain.lr = loguniform(1e-3, 1e-2)\n";

Test(split_file, train_and_run_write_it_and_a_bad_path_exits_2)
{
    cli_write_in(dir, "tiny.ini", TINY);
    cli_out r = cli_run(dir, "train tiny.ini --set data.split_file=train.json");
    cr_assert_eq(r.status, 0, "train: %s", r.err);
    cli_free(&r);
    r = cli_run(dir, "run tiny.ini --quiet --set data.split_file=run.json --set study.storage=tiny.db");
    cr_assert_eq(r.status, 0, "run: %s", r.err);
    cli_free(&r);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/train.json", dir);
    snprintf(b, sizeof b, "%s/run.json", dir);
    char *sa = cli_slurp(a), *sb = cli_slurp(b);
    cr_assert_gt(strlen(sa), 100, "train wrote no split file");
    cr_assert_str_eq(sa, sb, "train and run of one config wrote other splits");
    free(sa), free(sb);
    cli_expect_err(dir, "train tiny.ini --set data.split_file=no/such/folder/s.json", 2, "no/such/folder/s.json");
}
