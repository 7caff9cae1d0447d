/* data/dataset.c: dataset lifetime, views (all, seeded split, limit) and the
 * batch loader over a classification view, plus the small helpers the other
 * other data/ files share (directory listing, string joins).
 *
 * It does not read any file format (idx.c, images.c, text.c do) and does not
 * generate data (synth.c).  Nothing here writes to a dataset after it is
 * built, so many threads may read one dataset through their own views and
 * loaders.
 */
#include "data/dataset.h"
#include "data/data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Stream for the split's generator: any constant, fixed so that a seed
 * always gives the same split. */
#define DATA_SPLIT_STREAM 0x73706c6974ULL /* "split" */

/* ---- shared helpers ---- */

char *data__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *data__join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

dataset *data__new(const char *source)
{
    dataset *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    for (int i = 0; i < 256; i++)
        d->ids[i] = -1;
    if (source && !(d->source = data__strdup(source))) {
        free(d);
        return NULL;
    }
    return d;
}

int data__ends_with_ci(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && strcasecmp(name + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void data__free_names(char **names, long count)
{
    if (!names)
        return;
    for (long i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int data__list_dir(const char *dir, char ***names, long *count, tl_err *err)
{
    *names = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp)
        return tl_fail(err, TL_EINPUT, "%s: cannot open folder: %s", dir, strerror(errno));
    char **v = NULL;
    long n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            long nc = cap ? 2 * cap : 64;
            char **nv = realloc(v, (size_t)nc * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
            cap = nc;
        }
        if (!(v[n] = data__strdup(e->d_name)))
            goto oom;
        n++;
    }
    closedir(dp);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return 0;
oom:
    closedir(dp);
    data__free_names(v, n);
    return tl_fail(err, TL_ERUNTIME, "%s: out of memory listing the folder", dir);
}

/* ---- datasets ---- */

int data_new_classif(long n, int dim, int nclass, dataset **out, tl_err *err)
{
    *out = NULL;
    if (n < 1 || dim < 1 || nclass < 1)
        return tl_fail(err, TL_EINPUT, "dataset: need n >= 1, dim >= 1, nclass >= 1 (got %ld, %d, %d)",
                       n, dim, nclass);
    dataset *d = data__new("memory");
    if (!d)
        return tl_fail(err, TL_ERUNTIME, "dataset: out of memory");
    d->n = n;
    d->dim = dim;
    d->nclass = nclass;
    d->x = calloc((size_t)n * (size_t)dim, sizeof *d->x);
    d->y = calloc((size_t)n, sizeof *d->y);
    if (!d->x || !d->y) {
        data_free(d);
        return tl_fail(err, TL_ERUNTIME, "dataset: out of memory for %ld x %d floats", n, dim);
    }
    *out = d;
    return 0;
}

void data_free(dataset *d)
{
    if (!d)
        return;
    if (d->class_names) {
        for (int k = 0; k < d->nclass; k++)
            free(d->class_names[k]);
        free(d->class_names);
    }
    free(d->x);
    free(d->y);
    free(d->tokens);
    free(d->source);
    free(d);
}

/* ---- views ---- */

int data_view_all(const dataset *d, data_view *v, tl_err *err)
{
    memset(v, 0, sizeof *v);
    v->d = d;
    if (d->is_text) {
        v->n = d->ntok;
        v->tok_begin = 0;
        v->tok_end = d->ntok;
        return 0;
    }
    v->idx = malloc((size_t)(d->n > 0 ? d->n : 1) * sizeof *v->idx);
    if (!v->idx)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory for a view", d->source ? d->source : "dataset");
    for (long i = 0; i < d->n; i++)
        v->idx[i] = i;
    v->n = d->n;
    return 0;
}

static void shuffle_long(rng *r, long *a, long n)
{
    for (long i = n; i > 1; i--) {
        long j = (long)rng_below(r, (uint64_t)i);
        long t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

int data_split(const dataset *d, double val_frac, uint64_t seed,
               data_view *train, data_view *val, tl_err *err)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    const char *src = d->source ? d->source : "dataset";
    if (!(val_frac > 0.0 && val_frac < 1.0))
        return tl_fail(err, TL_EINPUT, "%s: validation fraction must be in (0, 1), got %g", src, val_frac);
    long total = d->is_text ? d->ntok : d->n;
    long nval = (long)floor((double)total * val_frac + 0.5);
    long ntrain = total - nval;
    long minside = d->is_text ? 2 : 1;
    if (nval < minside || ntrain < minside)
        return tl_fail(err, TL_EINPUT,
                       "%s: validation fraction %g of %ld %s leaves %ld for training and %ld for "
                       "validation; each side needs at least %ld",
                       src, val_frac, total, d->is_text ? "tokens" : "samples", ntrain, nval, minside);
    train->d = val->d = d;
    if (d->is_text) {
        train->tok_begin = 0;
        train->tok_end = ntrain;
        train->n = ntrain;
        val->tok_begin = ntrain;
        val->tok_end = total;
        val->n = nval;
        return 0;
    }
    long *perm = malloc((size_t)total * sizeof *perm);
    train->idx = malloc((size_t)ntrain * sizeof *train->idx);
    val->idx = malloc((size_t)nval * sizeof *val->idx);
    if (!perm || !train->idx || !val->idx) {
        free(perm);
        data_view_free(train);
        data_view_free(val);
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory for a split", src);
    }
    for (long i = 0; i < total; i++)
        perm[i] = i;
    rng r;
    rng_seed(&r, seed, DATA_SPLIT_STREAM);
    shuffle_long(&r, perm, total);
    memcpy(val->idx, perm, (size_t)nval * sizeof *perm);
    memcpy(train->idx, perm + nval, (size_t)ntrain * sizeof *perm);
    val->n = nval;
    train->n = ntrain;
    free(perm);
    return 0;
}

void data_view_limit(data_view *v, long n)
{
    if (n <= 0 || n >= v->n)
        return;
    v->n = n;
    if (v->d && v->d->is_text)
        v->tok_end = v->tok_begin + n;
}

void data_view_free(data_view *v)
{
    if (!v)
        return;
    free(v->idx);
    memset(v, 0, sizeof *v);
}

/* ---- loader ---- */

struct data_loader {
    const dataset *d;
    long *base;     /* (n) the view's row indices, in the view's order */
    long *order;    /* (n) this epoch's order: base shuffled with the epoch's rng */
    long n;
    long pos;       /* next position in order */
    int batch;
    int drop_last;
};

data_loader *data_loader_new(const data_view *v, int batch, int drop_last, tl_err *err)
{
    const char *src = v->d && v->d->source ? v->d->source : "dataset";
    if (!v->d || v->d->is_text || !v->idx) {
        tl_fail(err, TL_EINPUT, "%s: a batch loader needs a classification view "
                "(text views use data_text_sample)", src);
        return NULL;
    }
    if (v->n < 1 || batch < 1) {
        tl_fail(err, TL_EINPUT, "%s: loader needs a non-empty view and batch >= 1 (view %ld, batch %d)",
                src, v->n, batch);
        return NULL;
    }
    data_loader *l = calloc(1, sizeof *l);
    if (l)
        l->order = malloc((size_t)v->n * sizeof *l->order);
    if (l)
        l->base = malloc((size_t)v->n * sizeof *l->base);
    if (!l || !l->order || !l->base) {
        data_loader_free(l);
        tl_fail(err, TL_ERUNTIME, "%s: out of memory for a loader", src);
        return NULL;
    }
    memcpy(l->order, v->idx, (size_t)v->n * sizeof *l->order);
    memcpy(l->base, v->idx, (size_t)v->n * sizeof *l->base);
    l->d = v->d;
    l->n = v->n;
    l->batch = batch;
    l->drop_last = drop_last != 0;
    return l;
}

void data_loader_reset(data_loader *l, rng *r)
{
    /* The order depends on r alone, not on earlier epochs, so a run resumed
     * from a checkpoint (which restores r) sees the same batches. */
    if (r) {
        memcpy(l->order, l->base, (size_t)l->n * sizeof *l->order);
        shuffle_long(r, l->order, l->n);
    }
    l->pos = 0;
}

int data_loader_next(data_loader *l, float *x, int *y, int max_b)
{
    long remaining = l->n - l->pos;
    if (max_b < 1 || remaining <= 0)
        return 0;
    if (l->drop_last && remaining < l->batch)
        return 0;
    long b = l->batch < max_b ? l->batch : max_b;
    if (b > remaining)
        b = remaining;
    const dataset *d = l->d;
    const size_t row = (size_t)d->dim;
    const long *ord = l->order + l->pos;
    for (long i = 0; i < b; i++)
        memcpy(x + (size_t)i * row, d->x + (size_t)ord[i] * row, row * sizeof *x);
    if (y)
        for (long i = 0; i < b; i++)
            y[i] = d->y[ord[i]];
    l->pos += b;
    return (int)b;
}

long data_loader_samples(const data_loader *l)
{
    return l->drop_last ? (l->n / l->batch) * l->batch : l->n;
}

void data_loader_free(data_loader *l)
{
    if (!l)
        return;
    free(l->order);
    free(l->base);
    free(l);
}
