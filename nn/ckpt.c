/* nn/ckpt.c: checkpoint writer and validating reader (format in ckpt.h).
 *
 * The writer streams the payload through zlib's crc32 while writing, then
 * seeks back to fill the header.  The reader loads the whole file, checks
 * header, size and checksum, parses every field into a staging struct that
 * points into the buffer, checks it against the trainer, and only then
 * copies into the trainer: a failed load leaves the trainer untouched. */
#include "nn/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const unsigned char ckpt_magic[8] = { 'T', 'L', 'C', 'K', 'P', 'T', '\r', '\n' };
#define CKPT_HEADER 32
#define CKPT_BOM 0x01020304u
#define CKPT_NAME 48
#define CKPT_REASON 160

static int little_endian(void)
{
    const uint32_t x = 1;
    unsigned char c;
    memcpy(&c, &x, 1);
    return c == 1;
}

/* ---- writer ---- */

typedef struct wr {
    FILE *f;
    uLong crc;
    uint64_t n;
    int failed;
} wr;

static void w_bytes(wr *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = 1;
        return;
    }
    w->crc = crc32_z(w->crc, p, n);
    w->n += n;
}

static void w_u32(wr *w, uint32_t x) { w_bytes(w, &x, 4); }
static void w_i32(wr *w, int32_t x) { w_bytes(w, &x, 4); }
static void w_u64(wr *w, uint64_t x) { w_bytes(w, &x, 8); }
static void w_i64(wr *w, int64_t x) { w_bytes(w, &x, 8); }
static void w_f64(wr *w, double x) { w_bytes(w, &x, 8); }
static void w_f32(wr *w, float x) { w_bytes(w, &x, 4); }

/* The live hyperparameters in their version-1 order on disk: lr,
 * momentum, nesterov (i32), beta1, beta2, eps, weight_decay, clip_norm.
 * w_live and r_live are the one place that lists train_live's fields. */
static void w_live(wr *w, const train_live *l)
{
    w_f64(w, l->opt.lr);
    w_f64(w, l->opt.momentum);
    w_i32(w, l->opt.nesterov);
    w_f64(w, l->opt.beta1);
    w_f64(w, l->opt.beta2);
    w_f64(w, l->opt.eps);
    w_f64(w, l->opt.weight_decay);
    w_f64(w, l->clip_norm);
}

static void put32(unsigned char *p, uint32_t x) { memcpy(p, &x, 4); }
static void put64(unsigned char *p, uint64_t x) { memcpy(p, &x, 8); }

static void write_payload(wr *w, const trainer *t, const void *blob, size_t blob_len)
{
    const nn_model *m = t->model;
    const train_config *c = &t->cfg;
    /* architecture */
    w_u64(w, m->nparams);
    w_u32(w, (uint32_t)m->ntensors);
    for (int i = 0; i < m->ntensors; i++) {
        const nn_tensor *x = &m->tensors[i];
        char name[CKPT_NAME] = { 0 };
        memcpy(name, x->name, strnlen(x->name, sizeof x->name));
        w_bytes(w, name, CKPT_NAME);
        w_u64(w, x->offset);
        w_u64(w, x->size);
        w_i32(w, x->ndim);
        for (int d = 0; d < 4; d++)
            w_i32(w, x->shape[d]);
        w_i32(w, x->decay);
    }
    /* trainer scalars */
    w_i32(w, t->opt.kind);
    w_i64(w, t->opt.t);
    w_i32(w, t->opt.mom_valid);
    w_i64(w, t->step);
    w_i32(w, t->epoch);
    w_i32(w, t->status);
    for (int i = 0; i < 4; i++)
        w_u64(w, t->rng.s[i]);
    w_f64(w, t->lr_mult);
    w_f64(w, t->last_lr);
    w_f64(w, t->elapsed);
    w_live(w, &c->live);
    w_f32(w, m->dropout);
    char reason[CKPT_REASON] = { 0 };
    memcpy(reason, t->reason, strnlen(t->reason, sizeof t->reason));
    w_bytes(w, reason, CKPT_REASON);
    /* early stopping */
    int has_best_params = t->best_params && t->has_best;
    w_i32(w, t->has_best);
    w_f64(w, t->best_metric);
    w_i32(w, t->best_epoch);
    w_i32(w, t->bad_epochs);
    w_i32(w, has_best_params);
    /* history */
    w_i32(w, t->nhist);
    for (int i = 0; i < t->nhist; i++) {
        const train_record *r = &t->hist[i];
        w_i32(w, r->epoch);
        w_i64(w, r->step);
        w_f64(w, r->train_loss);
        w_f64(w, r->val_loss);
        w_f64(w, r->val_acc);
        w_f64(w, r->lr);
        w_f64(w, r->grad_norm);
        w_f64(w, r->elapsed);
    }
    /* arrays */
    size_t bytes = m->nparams * sizeof(float);
    w_bytes(w, m->params, bytes);
    w_bytes(w, t->opt.m, bytes);
    if (t->opt.kind == OPTIM_ADAMW)
        w_bytes(w, t->opt.v, bytes);
    if (has_best_params)
        w_bytes(w, t->best_params, bytes);
    w_u64(w, blob_len);
    w_bytes(w, blob, blob_len);
}

/* The real header of a payload of w->n bytes with checksum w->crc. */
static void fill_header(unsigned char hdr[CKPT_HEADER], const wr *w)
{
    memcpy(hdr, ckpt_magic, 8);
    put32(hdr + 8, CKPT_VERSION);
    put32(hdr + 12, CKPT_BOM);
    put64(hdr + 16, w->n);
    put32(hdr + 24, (uint32_t)w->crc);
    put32(hdr + 28, CKPT_HEADER);
}

static int fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int ckpt_save(const trainer *t, const char *path, const void *blob, size_t blob_len,
              tl_err *err)
{
    if (!little_endian())
        return tl_fail(err, TL_ERUNTIME, "%s: checkpoints need a little-endian host", path);
    if (!blob)
        blob_len = 0;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    const char *what = NULL;
    int saved_errno = 0;
    wr w = { 0 };
    w.f = fopen(tmp, "wb");
    if (!w.f) {
        saved_errno = errno;
        what = "cannot create";
        goto fail;
    }
    unsigned char hdr[CKPT_HEADER] = { 0 };
    if (fwrite(hdr, 1, CKPT_HEADER, w.f) != CKPT_HEADER) {
        saved_errno = errno;
        what = "cannot write";
        goto fail;
    }
    w.crc = crc32_z(0L, Z_NULL, 0);
    write_payload(&w, t, blob, blob_len);
    if (w.failed) {
        saved_errno = errno;
        what = "cannot write";
        goto fail;
    }
    fill_header(hdr, &w);
    if (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(hdr, 1, CKPT_HEADER, w.f) != CKPT_HEADER) {
        saved_errno = errno;
        what = "cannot write the header of";
        goto fail;
    }
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
        saved_errno = errno;
        what = "cannot flush";
        goto fail;
    }
    int rc = fclose(w.f);
    w.f = NULL;
    if (rc != 0) {
        saved_errno = errno;
        what = "cannot close";
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        saved_errno = errno;
        what = "cannot rename into place";
        goto fail;
    }
    fsync_dir(path); /* best effort: the data itself is already synced */
    free(tmp);
    return 0;
fail:
    if (w.f)
        fclose(w.f);
    remove(tmp);
    free(tmp);
    return tl_fail(err, TL_ERUNTIME, "%s: %s %s: %s", path, what, "checkpoint",
                   saved_errno ? strerror(saved_errno) : "I/O error");
}

int ckpt_save_mem(const trainer *t, const void *blob, size_t blob_len, unsigned char **out, size_t *out_len,
                  tl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (!little_endian())
        return tl_fail(err, TL_ERUNTIME, "in-memory checkpoint: checkpoints need a little-endian host");
    if (!blob)
        blob_len = 0;
    char *buf = NULL;
    size_t len = 0;
    wr w = { 0 };
    w.f = open_memstream(&buf, &len);
    if (!w.f)
        return tl_fail(err, TL_ERUNTIME, "in-memory checkpoint: out of memory");
    unsigned char hdr[CKPT_HEADER] = { 0 };
    w.failed = fwrite(hdr, 1, CKPT_HEADER, w.f) != CKPT_HEADER;
    w.crc = crc32_z(0L, Z_NULL, 0);
    write_payload(&w, t, blob, blob_len);
    int failed = fclose(w.f) != 0 || w.failed;
    if (failed || len != CKPT_HEADER + w.n) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "in-memory checkpoint: out of memory");
    }
    fill_header(hdr, &w);
    memcpy(buf, hdr, CKPT_HEADER);
    *out = (unsigned char *)buf;
    *out_len = len;
    return 0;
}

/* ---- reader ---- */

typedef struct rd {
    const unsigned char *p;
    size_t n, at;
    int short_read;
} rd;

static const unsigned char *r_bytes(rd *r, size_t n)
{
    if (r->short_read || n > r->n - r->at) {
        r->short_read = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->at;
    r->at += n;
    return p;
}

#define R_SCALAR(name, type)                                                                   \
    static type name(rd *r)                                                                    \
    {                                                                                          \
        type x = 0;                                                                            \
        const unsigned char *p = r_bytes(r, sizeof x);                                         \
        if (p)                                                                                 \
            memcpy(&x, p, sizeof x);                                                           \
        return x;                                                                              \
    }
R_SCALAR(r_u32, uint32_t)
R_SCALAR(r_i32, int32_t)
R_SCALAR(r_u64, uint64_t)
R_SCALAR(r_i64, int64_t)
R_SCALAR(r_f64, double)
R_SCALAR(r_f32, float)

/* Everything parsed from a file, pointing into its buffer. */
typedef struct staged {
    uint64_t nparams;
    uint32_t ntensors;
    const unsigned char *tensors;   /* ntensors records */
    int opt_kind, mom_valid, epoch, status;
    int64_t opt_t, step;
    uint64_t rng[4];
    double lr_mult, last_lr, elapsed;
    train_live live;
    float dropout;
    const unsigned char *reason;
    int has_best, best_epoch, bad_epochs, has_best_params;
    double best_metric;
    int nhist;
    const unsigned char *hist;      /* nhist records */
    const unsigned char *params, *m, *v, *best;
    uint64_t blob_len;
    const unsigned char *blob;
} staged;

/* Reads what w_live wrote. */
static void r_live(rd *r, train_live *l)
{
    memset(l, 0, sizeof *l);
    l->opt.lr = r_f64(r);
    l->opt.momentum = r_f64(r);
    l->opt.nesterov = r_i32(r);
    l->opt.beta1 = r_f64(r);
    l->opt.beta2 = r_f64(r);
    l->opt.eps = r_f64(r);
    l->opt.weight_decay = r_f64(r);
    l->clip_norm = r_f64(r);
}

#define TENSOR_REC (CKPT_NAME + 8 + 8 + 4 + 16 + 4)
#define HIST_REC (4 + 8 + 6 * 8)

/* Checks the header, size and checksum of a checkpoint's bytes b (size);
 * errors name `path`.  On success *payload, *plen point into b. */
static int check_bytes(const char *path, const unsigned char *b, size_t size, const unsigned char **payload,
                       size_t *plen, uint32_t *version, tl_err *err)
{
    if (!little_endian())
        return tl_fail(err, TL_ERUNTIME, "%s: checkpoints need a little-endian host", path);
    if (size < CKPT_HEADER)
        return tl_fail(err, TL_EINPUT,
                       "%s: truncated checkpoint (%zu bytes, the header alone needs %d)", path,
                       size, CKPT_HEADER);
    uint32_t ver, bom, crc, hsize;
    uint64_t psize;
    memcpy(&ver, b + 8, 4);
    memcpy(&bom, b + 12, 4);
    memcpy(&psize, b + 16, 8);
    memcpy(&crc, b + 24, 4);
    memcpy(&hsize, b + 28, 4);
    const char *bad = NULL;
    char msg[160];
    if (memcmp(b, ckpt_magic, 8) != 0)
        bad = "not a tunelab checkpoint (bad magic)";
    else if (bom != CKPT_BOM)
        bad = "checkpoint written with another byte order";
    else if (ver != CKPT_VERSION) {
        snprintf(msg, sizeof msg, "checkpoint version %u, this build reads version %d", ver,
                 CKPT_VERSION);
        bad = msg;
    } else if (hsize != CKPT_HEADER) {
        snprintf(msg, sizeof msg, "bad header size %u (expected %d)", hsize, CKPT_HEADER);
        bad = msg;
    } else if (psize > size - CKPT_HEADER) {
        snprintf(msg, sizeof msg, "truncated checkpoint (%zu payload bytes, header says %llu)",
                 size - CKPT_HEADER, (unsigned long long)psize);
        bad = msg;
    } else if (psize < size - CKPT_HEADER) {
        snprintf(msg, sizeof msg, "%zu unexpected bytes after the payload",
                 size - CKPT_HEADER - (size_t)psize);
        bad = msg;
    } else if ((uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), b + CKPT_HEADER, (size_t)psize) != crc)
        bad = "checksum mismatch: the checkpoint is corrupted";
    if (bad)
        return tl_fail(err, TL_EINPUT, "%s: %s", path, bad);
    *payload = b + CKPT_HEADER;
    *plen = (size_t)psize;
    *version = ver;
    return 0;
}

/* Reads path whole; checks header, size and checksum.  On success *buf owns
 * the file and *payload, *plen the payload within it. */
static int read_checked(const char *path, unsigned char **buf, const unsigned char **payload,
                        size_t *plen, uint32_t *version, tl_err *err)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tl_fail(err, TL_EINPUT, "%s: cannot open checkpoint: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return tl_fail(err, TL_EINPUT, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *b = malloc(size ? size : 1);
    if (!b) {
        fclose(f);
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(b, 1, size, f);
    fclose(f);
    if (got != size) {
        free(b);
        return tl_fail(err, TL_EINPUT, "%s: read %zu of %zu bytes", path, got, size);
    }
    int rc = check_bytes(path, b, size, payload, plen, version, err);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    return 0;
}

/* Parses the payload into s (no checks against a trainer). */
static int parse(const char *path, const unsigned char *p, size_t n, staged *s, tl_err *err)
{
    rd r = { p, n, 0, 0 };
    memset(s, 0, sizeof *s);
    s->nparams = r_u64(&r);
    s->ntensors = r_u32(&r);
    if (s->ntensors > n / TENSOR_REC || s->nparams > n / sizeof(float))
        return tl_fail(err, TL_EINPUT, "%s: implausible sizes (%llu parameters, %u tensors)",
                       path, (unsigned long long)s->nparams, s->ntensors);
    s->tensors = r_bytes(&r, (size_t)s->ntensors * TENSOR_REC);
    s->opt_kind = r_i32(&r);
    s->opt_t = r_i64(&r);
    s->mom_valid = r_i32(&r);
    s->step = r_i64(&r);
    s->epoch = r_i32(&r);
    s->status = r_i32(&r);
    for (int i = 0; i < 4; i++)
        s->rng[i] = r_u64(&r);
    s->lr_mult = r_f64(&r);
    s->last_lr = r_f64(&r);
    s->elapsed = r_f64(&r);
    r_live(&r, &s->live);
    s->dropout = r_f32(&r);
    s->reason = r_bytes(&r, CKPT_REASON);
    s->has_best = r_i32(&r);
    s->best_metric = r_f64(&r);
    s->best_epoch = r_i32(&r);
    s->bad_epochs = r_i32(&r);
    s->has_best_params = r_i32(&r);
    s->nhist = r_i32(&r);
    if (s->nhist < 0 || (size_t)s->nhist > n / HIST_REC)
        return tl_fail(err, TL_EINPUT, "%s: implausible history length %d", path, s->nhist);
    s->hist = r_bytes(&r, (size_t)s->nhist * HIST_REC);
    if (s->opt_kind < 0 || s->opt_kind >= OPTIM_COUNT)
        return tl_fail(err, TL_EINPUT, "%s: unknown optimizer kind %d", path, s->opt_kind);
    if (s->status < 0 || s->status >= TRAIN_STATUS_COUNT || s->epoch < 0 || s->step < 0 ||
        s->opt_t < 0)
        return tl_fail(err, TL_EINPUT, "%s: bad counters (epoch %d, step %lld, status %d)",
                       path, s->epoch, (long long)s->step, s->status);
    size_t bytes = (size_t)s->nparams * sizeof(float);
    s->params = r_bytes(&r, bytes);
    s->m = r_bytes(&r, bytes);
    if (s->opt_kind == OPTIM_ADAMW)
        s->v = r_bytes(&r, bytes);
    if (s->has_best_params)
        s->best = r_bytes(&r, bytes);
    s->blob_len = r_u64(&r);
    if (!r.short_read)
        s->blob = r_bytes(&r, (size_t)s->blob_len <= n ? (size_t)s->blob_len : n + 1);
    if (r.short_read)
        return tl_fail(err, TL_EINPUT, "%s: the payload ends early (corrupted sizes)", path);
    if (r.at != n)
        return tl_fail(err, TL_EINPUT, "%s: %zu unparsed payload bytes", path, n - r.at);
    return 0;
}

/* read_checked, then parse.  On success *buf owns the file (s points into
 * it; the caller frees *buf); on error nothing is left to free. */
static int read_staged(const char *path, unsigned char **buf, staged *s, uint32_t *version,
                       tl_err *err)
{
    const unsigned char *payload = NULL;
    size_t plen = 0;
    int rc = read_checked(path, buf, &payload, &plen, version, err);
    if (rc)
        return rc;
    if ((rc = parse(path, payload, plen, s, err))) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static int copy_blob(const char *path, const staged *s, void **blob, size_t *blob_len,
                     tl_err *err)
{
    if (!blob)
        return 0;
    void *b = malloc(s->blob_len ? (size_t)s->blob_len : 1);
    if (!b)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory for the config blob", path);
    if (s->blob_len)
        memcpy(b, s->blob, (size_t)s->blob_len);
    *blob = b;
    if (blob_len)
        *blob_len = (size_t)s->blob_len;
    return 0;
}

/* ckpt_peek's work once the file (or bytes) is staged. */
static int peek_staged(const char *path, const staged *s, uint32_t ver, ckpt_info *info, void **blob,
                       size_t *blob_len, tl_err *err)
{
    if (info) {
        info->version = ver;
        info->nparams = (size_t)s->nparams;
        info->ntensors = (int)s->ntensors;
        info->optimizer = s->opt_kind;
        info->epoch = s->epoch;
        info->step = (long)s->step;
        info->status = s->status;
    }
    return copy_blob(path, s, blob, blob_len, err);
}

int ckpt_peek(const char *path, ckpt_info *info, void **blob, size_t *blob_len, tl_err *err)
{
    unsigned char *buf;
    uint32_t ver;
    staged s;
    int rc = read_staged(path, &buf, &s, &ver, err);
    if (rc)
        return rc;
    rc = peek_staged(path, &s, ver, info, blob, blob_len, err);
    free(buf);
    return rc;
}

/* The name errors give to a checkpoint in memory. */
#define MEM_NAME "in-memory checkpoint"

/* check_bytes, then parse, on bytes the caller keeps (s points into them). */
static int stage_mem(const void *bytes, size_t n, staged *s, uint32_t *version, tl_err *err)
{
    const unsigned char *payload = NULL;
    size_t plen = 0;
    int rc = check_bytes(MEM_NAME, bytes, n, &payload, &plen, version, err);
    return rc ? rc : parse(MEM_NAME, payload, plen, s, err);
}

int ckpt_peek_mem(const void *bytes, size_t n, ckpt_info *info, void **blob, size_t *blob_len, tl_err *err)
{
    uint32_t ver;
    staged s;
    int rc = stage_mem(bytes, n, &s, &ver, err);
    return rc ? rc : peek_staged(MEM_NAME, &s, ver, info, blob, blob_len, err);
}

/* "[a x b x c]" for a tensor's shape. */
static void shape_text(char *buf, size_t n, int32_t ndim, const int32_t *shape)
{
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && d < 4 && at < n; d++)
        at += (size_t)snprintf(buf + at, n - at, d ? " x %d" : "%d", shape[d]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
}

/* The architecture: the staged tensor table (names, which say the model
 * kind: fc0.weight or wte; offsets, sizes, every shape, decay) against m's. */
static int check_tensors(const char *path, const nn_model *m, const staged *s, tl_err *err)
{
    if (s->nparams != m->nparams)
        return tl_fail(err, TL_EINPUT,
                       "%s: architecture mismatch: checkpoint has %llu parameters, model has %zu",
                       path, (unsigned long long)s->nparams, m->nparams);
    if ((int)s->ntensors != m->ntensors)
        return tl_fail(err, TL_EINPUT,
                       "%s: architecture mismatch: checkpoint has %u tensors, model has %d",
                       path, s->ntensors, m->ntensors);
    for (int i = 0; i < m->ntensors; i++) {
        const unsigned char *q = s->tensors + (size_t)i * TENSOR_REC;
        const nn_tensor *x = &m->tensors[i];
        char name[CKPT_NAME + 1] = { 0 };
        uint64_t off, size;
        int32_t ndim, shape[4], decay;
        memcpy(name, q, CKPT_NAME);
        memcpy(&off, q + CKPT_NAME, 8);
        memcpy(&size, q + CKPT_NAME + 8, 8);
        memcpy(&ndim, q + CKPT_NAME + 16, 4);
        memcpy(shape, q + CKPT_NAME + 20, 16);
        memcpy(&decay, q + CKPT_NAME + 36, 4);
        int same = strncmp(name, x->name, sizeof x->name) == 0 && off == x->offset &&
                   size == x->size && ndim == x->ndim && decay == x->decay;
        for (int d = 0; same && d < 4 && d < ndim; d++)
            same = shape[d] == x->shape[d];
        if (!same) {
            char fs[64], ms[64];
            int32_t mshape[4] = {0};
            for (int d = 0; d < 4 && d < x->ndim; d++)
                mshape[d] = x->shape[d];
            shape_text(fs, sizeof fs, ndim, shape);
            shape_text(ms, sizeof ms, x->ndim, mshape);
            return tl_fail(err, TL_EINPUT,
                           "%s: architecture mismatch at tensor %d: checkpoint has %s %s "
                           "(%llu floats at %llu), model has %.48s %s (%zu floats at %zu)",
                           path, i, name, fs, (unsigned long long)size, (unsigned long long)off,
                           x->name, ms, x->size, x->offset);
        }
    }
    return 0;
}

int ckpt_check_model(const char *path, const nn_model *m, tl_err *err)
{
    unsigned char *buf;
    uint32_t ver;
    staged s;
    int rc = read_staged(path, &buf, &s, &ver, err);
    if (rc)
        return rc;
    rc = check_tensors(path, m, &s, err);
    free(buf);
    return rc;
}

/* Checks the staged state against t. */
static int check_against(const char *path, const trainer *t, const staged *s, tl_err *err)
{
    int rc = check_tensors(path, t->model, s, err);
    if (rc)
        return rc;
    if (s->opt_kind != t->opt.kind)
        return tl_fail(err, TL_EINPUT, "%s: checkpoint optimizer is %s, the trainer uses %s",
                       path, optim_str(s->opt_kind), optim_str(t->opt.kind));
    if (s->epoch > t->cfg.epochs || s->nhist > t->cap_hist)
        return tl_fail(err, TL_EINPUT,
                       "%s: checkpoint is at epoch %d with %d history rows, beyond train.epochs %d",
                       path, s->epoch, s->nhist, t->cfg.epochs);
    if (t->best_params && s->has_best && !s->has_best_params)
        return tl_fail(err, TL_EINPUT,
                       "%s: checkpoint kept no best parameters but train.restore_best is on",
                       path);
    /* the live hyperparameters must pass the same checks as a config */
    train_config c = t->cfg;
    c.live = s->live;
    if ((rc = train_config_check(&c, err)))
        return tl_prefix(err, "%s: stored hyperparameters", path);
    if (!(s->lr_mult > 0) || !isfinite(s->lr_mult) || !(s->dropout >= 0 && s->dropout < 1))
        return tl_fail(err, TL_EINPUT, "%s: bad lr multiplier %g or dropout %g", path,
                       s->lr_mult, (double)s->dropout);
    return 0;
}

static void apply(trainer *t, const staged *s)
{
    nn_model *m = t->model;
    size_t bytes = m->nparams * sizeof(float);
    memcpy(m->params, s->params, bytes);
    memcpy(t->opt.m, s->m, bytes);
    if (t->opt.kind == OPTIM_ADAMW)
        memcpy(t->opt.v, s->v, bytes);
    t->opt.t = (long)s->opt_t;
    t->opt.mom_valid = s->mom_valid;
    t->step = (long)s->step;
    t->epoch = s->epoch;
    t->status = s->status;
    memcpy(t->rng.s, s->rng, sizeof t->rng.s);
    t->lr_mult = s->lr_mult;
    t->last_lr = s->last_lr;
    t->elapsed = s->elapsed;
    t->cfg.live = s->live;
    if (m->dropout != s->dropout && m->vt->set_dropout)
        m->vt->set_dropout(m, s->dropout);
    m->dropout = s->dropout;
    memcpy(t->reason, s->reason, sizeof t->reason - 1);
    t->reason[sizeof t->reason - 1] = 0;
    t->has_best = s->has_best;
    t->best_metric = s->best_metric;
    t->best_epoch = s->best_epoch;
    t->bad_epochs = s->bad_epochs;
    if (t->best_params && s->has_best_params)
        memcpy(t->best_params, s->best, bytes);
    t->nhist = s->nhist;
    for (int i = 0; i < s->nhist; i++) {
        const unsigned char *q = s->hist + (size_t)i * HIST_REC;
        train_record *r = &t->hist[i];
        int32_t ep;
        int64_t st;
        memcpy(&ep, q, 4);
        memcpy(&st, q + 4, 8);
        r->epoch = ep;
        r->step = (long)st;
        memcpy(&r->train_loss, q + 12, 8);
        memcpy(&r->val_loss, q + 20, 8);
        memcpy(&r->val_acc, q + 28, 8);
        memcpy(&r->lr, q + 36, 8);
        memcpy(&r->grad_norm, q + 44, 8);
        memcpy(&r->elapsed, q + 52, 8);
    }
}

/* ckpt_load's work once the file (or bytes) is staged. */
static int load_staged(trainer *t, const char *path, const staged *s, void **blob, size_t *blob_len, tl_err *err)
{
    void *b = NULL;
    int rc;
    if (!(rc = check_against(path, t, s, err)) && !(rc = copy_blob(path, s, &b, NULL, err))) {
        apply(t, s);
        if (blob) {
            *blob = b;
            if (blob_len)
                *blob_len = (size_t)s->blob_len;
            b = NULL;
        }
    }
    free(b);
    return rc;
}

int ckpt_load(trainer *t, const char *path, void **blob, size_t *blob_len, tl_err *err)
{
    unsigned char *buf;
    uint32_t ver;
    staged s;
    int rc = read_staged(path, &buf, &s, &ver, err);
    if (rc)
        return rc;
    rc = load_staged(t, path, &s, blob, blob_len, err);
    free(buf);
    return rc;
}

int ckpt_load_mem(trainer *t, const void *bytes, size_t n, void **blob, size_t *blob_len, tl_err *err)
{
    uint32_t ver;
    staged s;
    int rc = stage_mem(bytes, n, &s, &ver, err);
    return rc ? rc : load_staged(t, MEM_NAME, &s, blob, blob_len, err);
}
