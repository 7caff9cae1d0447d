/* tune/task_data.c: a config's dataset, loaded once and split into
 * train, validation and test views, and the split written out for peers
 * when data.split_file asks (see task_data.h). */
#include "tune/task_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fmt.h"
#include "util/rng.h"

/* Writes "NAME": [i, j, ...] (v's row indices, in v's order) to f. */
static void write_rows(FILE *f, const char *name, const data_view *v)
{
    fprintf(f, ",\n\"%s\": [", name);
    for (long i = 0; v && i < v->n; i++)
        fprintf(f, "%s%ld", i == 0 ? "" : (i % 20 == 0 ? ",\n" : ","), v->idx[i]);
    fputs("]", f);
}

static void write_split_json(FILE *f, const config *c, const task_data *d)
{
    fprintf(f, "{\"format\": \"tunelab-split\", \"version\": 1,\n");
    fprintf(f, "\"dataset\": \"%s\", \"path\": \"", c->dataset);
    for (const char *p = c->data_path; *p; p++) { /* JSON string escapes */
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            fprintf(f, "\\u%04x", (unsigned)*p);
        else
            fputc(*p, f);
    }
    char frac[32];
    tl_fmt_shortest(c->val_fraction, frac, sizeof frac);
    fprintf(f, "\",\n\"seed\": %llu, \"val_fraction\": %s, \"train_limit\": %ld, \"val_limit\": %ld, "
               "\"test_limit\": %ld,\n",
            (unsigned long long)c->data_seed, frac, c->train_limit, c->val_limit, c->test_limit);
    if (d->is_text) {
        fprintf(f, "\"train_tokens\": [%ld, %ld], \"val_tokens\": [%ld, %ld]}\n", d->train.tok_begin,
                d->train.tok_end, d->val.tok_begin, d->val.tok_end);
        return;
    }
    fprintf(f, "\"rows\": %ld, \"test_rows\": %ld", d->train_set->n, d->test_set ? d->test_set->n : 0L);
    write_rows(f, "train", &d->train);
    write_rows(f, "val", &d->val);
    write_rows(f, "test", d->test_set ? &d->test : NULL);
    fputs("}\n", f);
}

int task_data_write_split(const config *c, const task_data *d, const char *path, tl_err *err)
{
    /* A temporary file beside path, renamed over it: a reader never sees
     * half a file, and processes loading the same config at once (MPI
     * ranks) each leave a whole one. */
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return tl_fail(err, TL_ERUNTIME, "%s: data.split_file: out of memory", path);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return tl_fail(err, TL_EINPUT, "%s: data.split_file: cannot write: %s", path, strerror(e));
    }
    write_split_json(f, c, d);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    int e = errno;
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        free(tmp);
        return tl_fail(err, TL_EINPUT, "%s: data.split_file: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

int task_data_load(const config *c, task_data *d, tl_err *err)
{
    memset(d, 0, sizeof *d);
    int rc = 0;
    const char *path = c->data_path[0] ? c->data_path : NULL;
    if (!strcmp(c->dataset, "fmnist")) {
        rc = data_load_fmnist(path, &d->train_set, &d->test_set, err);
    } else if (!strcmp(c->dataset, "images")) {
        if (!path)
            return tl_fail(err, TL_EINPUT, "%s: data.path: required for data.dataset = images", c->source);
        rc = data_load_images(path, c->channels, c->image_width, c->image_height, &d->train_set, err);
    } else if (!strcmp(c->dataset, "text")) {
        rc = data_load_text(path, &d->train_set, err);
    } else {
        rng r;
        rng_seed(&r, c->data_seed, 0x5eed);
        if (!strcmp(c->dataset, "spirals"))
            rc = data_make_spirals(c->samples, c->classes, c->noise, &r, &d->train_set, err);
        else
            rc = data_make_blobs(c->samples, c->classes, c->features, c->noise, &r, &d->train_set, err);
    }
    if (rc)
        return rc;
    if ((rc = data_split(d->train_set, c->val_fraction, c->data_seed, &d->train, &d->val, err)))
        goto fail;
    data_view_limit(&d->train, c->train_limit);
    data_view_limit(&d->val, c->val_limit);
    if (d->test_set) {
        if ((rc = data_view_all(d->test_set, &d->test, err)))
            goto fail;
        data_view_limit(&d->test, c->test_limit);
    }
    d->is_text = d->train_set->is_text;
    if (d->is_text) {
        d->vocab = d->train_set->vocab;
        if ((rc = data_text_check(&d->train, c->ctx, err)) || (rc = data_text_check(&d->val, c->ctx, err)))
            goto fail;
    } else {
        d->in_dim = d->train_set->dim;
        d->nclass = d->train_set->nclass;
    }
    if (c->split_file[0] && (rc = task_data_write_split(c, d, c->split_file, err)))
        goto fail;
    return 0;
fail:
    task_data_free(d);
    return rc;
}

void task_data_free(task_data *d)
{
    if (!d)
        return;
    data_view_free(&d->train);
    data_view_free(&d->val);
    data_view_free(&d->test);
    data_free(d->train_set);
    data_free(d->test_set);
    memset(d, 0, sizeof *d);
}

double task_data_unigram_entropy(const task_data *d)
{
    return d->is_text ? data_text_unigram_entropy(&d->val) : NAN;
}
