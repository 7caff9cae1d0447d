/* data/idx.c: IDX image/label pairs (the MNIST format) read through zlib,
 * and Fashion-MNIST from the Debian package's folder.
 *
 * gzread reads gzip-compressed and plain files alike, so both .gz and
 * uncompressed IDX files load.  Only unsigned-byte IDX files with 3 dims
 * (images) and 1 dim (labels) are accepted; every read is checked, so a
 * truncated, corrupt or mislabelled file is a TL_EINPUT error naming the
 * file, never a crash.  It does not download anything, and does not
 * normalise beyond mapping bytes to [0, 1] (v / 255).
 */
#include "data/dataset.h"
#include "data/data_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u /* u8, 3 dims */
#define IDX_MAGIC_LABELS 0x00000801u /* u8, 1 dim */
#define IDX_MAX_ITEMS 100000000L     /* sizes past these mean a corrupt header */
#define IDX_MAX_SIDE 65536L
#define IDX_MAX_PIXELS (1L << 32)
#define IDX_CHUNK (1 << 20)
#define IDX_LABEL_CHUNK (1L << 16)

static const char *const FMNIST_CLASSES[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* Reads exactly n bytes (n may exceed INT_MAX).  Returns the number of bytes
 * read (< n at end of file), or -1 with err filled on a zlib error. */
static long gz_read_full(gzFile f, void *buf, size_t n, const char *path, tl_err *err)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        if (want > (1u << 30))
            want = 1u << 30;
        int got = gzread(f, p + done, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            tl_fail(err, TL_EINPUT, "%s: cannot decompress: %s", path,
                    zerr == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (long)done;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads the n-byte header of an IDX file into hdr and checks its magic
 * number against want (kind "labels" or "images", dims "1 dim" or
 * "3 dims": the error texts).  Returns 0, or TL_EINPUT with err filled (a
 * short or corrupt file). */
static int read_header(gzFile f, unsigned char *hdr, size_t n, uint32_t want, const char *kind,
                       const char *dims, const char *path, tl_err *err)
{
    long got = gz_read_full(f, hdr, n, path, err);
    if (got < 0)
        return TL_EINPUT;
    if (got < (long)n)
        return tl_fail(err, TL_EINPUT, "%s: truncated: %ld bytes, shorter than the %zu-byte IDX %s header",
                       path, got, n, kind);
    uint32_t magic = be32(hdr);
    if (magic != want)
        return tl_fail(err, TL_EINPUT, "%s: bad magic number 0x%08x, expected 0x%08x (IDX %s: u8, %s)",
                       path, magic, want, kind, dims);
    return 0;
}

static gzFile gz_open(const char *path, tl_err *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        tl_fail(err, TL_EINPUT, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    /* a large buffer for large files (Fashion-MNIST loads faster); zlib's
     * default for small ones, which would otherwise pay for 768 KB of
     * buffers each (the IDX fuzzer's inputs) */
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size >= 256 * 1024)
        gzbuffer(f, 256 * 1024);
    return f;
}

/* After the expected payload, the file must end. */
static int gz_expect_eof(gzFile f, const char *path, const char *what, long count, tl_err *err)
{
    unsigned char extra;
    long got = gz_read_full(f, &extra, 1, path, err);
    if (got < 0)
        return TL_EINPUT;
    if (got > 0)
        return tl_fail(err, TL_EINPUT, "%s: unexpected data after the %ld %s its header announces",
                       path, count, what);
    return 0;
}

/* Reads a labels file into a new array of n labels, each in [0, nclass). */
static int read_labels(const char *path, int nclass, int **labels, long *n, tl_err *err)
{
    *labels = NULL;
    *n = 0;
    gzFile f = gz_open(path, err);
    if (!f)
        return TL_EINPUT;
    unsigned char hdr[8];
    unsigned char *raw = NULL;
    int *lab = NULL;
    int rc = 0;
    if ((rc = read_header(f, hdr, sizeof hdr, IDX_MAGIC_LABELS, "labels", "1 dim", path, err)))
        goto done;
    uint32_t count = be32(hdr + 4);
    if (count < 1 || count > IDX_MAX_ITEMS) {
        rc = tl_fail(err, TL_EINPUT, "%s: implausible label count %u in the header", path, count);
        goto done;
    }
    /* read and grown a chunk at a time: a short file whose header claims
     * 10^8 labels must not allocate them first (found by fuzz/fuzz_idx:
     * half a gigabyte per input made the fuzzer crawl) */
    size_t cap = 0;
    long done = 0;
    raw = malloc(IDX_LABEL_CHUNK);
    if (!raw) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %u labels", path, count);
        goto done;
    }
    while (done < (long)count) {
        long want = (long)count - done < IDX_LABEL_CHUNK ? (long)count - done : IDX_LABEL_CHUNK;
        long got = gz_read_full(f, raw, (size_t)want, path, err);
        if (got < 0) {
            rc = TL_EINPUT;
            goto done;
        }
        if ((size_t)(done + got) > cap) {
            size_t ncap = cap ? cap * 2 : IDX_LABEL_CHUNK;
            while (ncap < (size_t)(done + got))
                ncap *= 2;
            if (ncap > count)
                ncap = count;
            int *nl = realloc(lab, ncap * sizeof *lab);
            if (!nl) {
                rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %u labels", path, count);
                goto done;
            }
            lab = nl;
            cap = ncap;
        }
        for (long i = 0; i < got; i++) {
            if (raw[i] >= nclass) {
                rc = tl_fail(err, TL_EINPUT, "%s: label %d at index %ld out of range [0, %d)",
                             path, raw[i], done + i, nclass);
                goto done;
            }
            lab[done + i] = raw[i];
        }
        done += got;
        if (got < want) {
            rc = tl_fail(err, TL_EINPUT, "%s: truncated: %ld of %u labels present", path, done, count);
            goto done;
        }
    }
    if ((rc = gz_expect_eof(f, path, "labels", (long)count, err)))
        goto done;
    *labels = lab;
    *n = (long)count;
    lab = NULL;
done:
    free(raw);
    free(lab);
    gzclose(f);
    return rc;
}

int data_load_idx(const char *images_path, const char *labels_path, int nclass,
                  dataset **out, tl_err *err)
{
    *out = NULL;
    if (nclass < 1 || nclass > 256)
        return tl_fail(err, TL_EINPUT, "%s: nclass must be in [1, 256] for u8 labels, got %d",
                       labels_path, nclass);
    int *labels = NULL;
    long nlab = 0;
    int rc = read_labels(labels_path, nclass, &labels, &nlab, err);
    if (rc)
        return rc;

    const char *path = images_path;
    dataset *d = NULL;
    unsigned char *chunk = NULL;
    gzFile f = gz_open(path, err);
    if (!f) {
        free(labels);
        return TL_EINPUT;
    }
    unsigned char hdr[16];
    if ((rc = read_header(f, hdr, sizeof hdr, IDX_MAGIC_IMAGES, "images", "3 dims", path, err)))
        goto fail;
    uint32_t count = be32(hdr + 4), rows = be32(hdr + 8), cols = be32(hdr + 12);
    if (count < 1 || count > IDX_MAX_ITEMS || rows < 1 || rows > IDX_MAX_SIDE || cols < 1 ||
        cols > IDX_MAX_SIDE || (long)count * rows * cols > IDX_MAX_PIXELS) {
        rc = tl_fail(err, TL_EINPUT, "%s: implausible dimensions %u x %u x %u in the header",
                     path, count, rows, cols);
        goto fail;
    }
    if ((long)count != nlab) {
        rc = tl_fail(err, TL_EINPUT, "%s: %u images but %s has %ld labels", path, count, labels_path, nlab);
        goto fail;
    }
    d = data__new(images_path);
    size_t total = (size_t)count * rows * cols;
    size_t chunk_n = total < IDX_CHUNK ? total : IDX_CHUNK;
    chunk = malloc(chunk_n);
    if (!d || !chunk) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
        goto fail;
    }
    d->n = (long)count;
    d->dim = (int)(rows * cols);
    d->height = (int)rows;
    d->width = (int)cols;
    d->channels = 1;
    d->nclass = nclass;
    d->y = labels;
    labels = NULL;
    /* grown as pixels arrive: a short file whose header claims billions of
     * pixels must not allocate them first (found by fuzz/fuzz_idx) */
    size_t cap = total < ((size_t)1 << 16) ? total : ((size_t)1 << 16);
    d->x = malloc(cap * sizeof *d->x);
    if (!d->x) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %zu pixels", path, total);
        goto fail;
    }
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)v / 255.0f;
    size_t done = 0;
    while (done < total) {
        size_t want = total - done < chunk_n ? total - done : chunk_n;
        if (done + want > cap) {
            size_t ncap = cap * 2 < total ? cap * 2 : total;
            while (ncap < done + want)
                ncap = ncap * 2 < total ? ncap * 2 : total;
            float *nx = realloc(d->x, ncap * sizeof *d->x);
            if (!nx) {
                rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %zu pixels", path, total);
                goto fail;
            }
            d->x = nx;
            cap = ncap;
        }
        long got = gz_read_full(f, chunk, want, path, err);
        if (got < 0) {
            rc = TL_EINPUT;
            goto fail;
        }
        float *dst = d->x + done;
        for (long i = 0; i < got; i++)
            dst[i] = lut[chunk[i]];
        done += (size_t)got;
        if ((size_t)got < want) {
            rc = tl_fail(err, TL_EINPUT, "%s: truncated: %zu of %zu pixel bytes present (%zu of %u images)",
                         path, done, total, done / ((size_t)rows * cols), count);
            goto fail;
        }
    }
    if ((rc = gz_expect_eof(f, path, "images", (long)count, err)))
        goto fail;
    free(chunk);
    gzclose(f);
    *out = d;
    return 0;
fail:
    free(chunk);
    free(labels);
    data_free(d);
    gzclose(f);
    return rc;
}

/* Loads dir/<prefix>-images-idx3-ubyte.gz with its labels. */
static int load_fmnist_set(const char *dir, const char *prefix, dataset **out, tl_err *err)
{
    char img[4096], lab[4096];
    int a = snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    int b = snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (a < 0 || a >= (int)sizeof img || b < 0 || b >= (int)sizeof lab)
        return tl_fail(err, TL_EINPUT, "%s: folder name too long", dir);
    int rc = data_load_idx(img, lab, 10, out, err);
    if (rc)
        return rc;
    dataset *d = *out;
    d->class_names = calloc(10, sizeof *d->class_names);
    if (!d->class_names)
        goto oom;
    for (int k = 0; k < 10; k++)
        if (!(d->class_names[k] = data__strdup(FMNIST_CLASSES[k])))
            goto oom;
    return 0;
oom:
    data_free(d);
    *out = NULL;
    return tl_fail(err, TL_ERUNTIME, "%s: out of memory", img);
}

int data_load_fmnist(const char *dir, dataset **train, dataset **test, tl_err *err)
{
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!dir)
        dir = DATA_FMNIST_DIR;
    dataset *tr = NULL, *te = NULL;
    int rc;
    if (train && (rc = load_fmnist_set(dir, "train", &tr, err)))
        return rc;
    if (test && (rc = load_fmnist_set(dir, "t10k", &te, err))) {
        data_free(tr);
        return rc;
    }
    if (tr && te && (tr->width != te->width || tr->height != te->height)) {
        rc = tl_fail(err, TL_EINPUT, "%s: test images are %dx%d but training images (%s) are %dx%d",
                     te->source, te->width, te->height, tr->source, tr->width, tr->height);
        data_free(tr);
        data_free(te);
        return rc;
    }
    if (train)
        *train = tr;
    if (test)
        *test = te;
    return 0;
}
