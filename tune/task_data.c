/* tune/task_data.c: a config's dataset, loaded once and split into
 * train, validation and test views (see task_data.h). */
#include "tune/task_data.h"

#include <math.h>
#include <string.h>

#include "util/rng.h"

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
