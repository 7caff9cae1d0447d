/* data/text.c: character-level (byte-level) token corpora: loading a file or
 * a folder of text files, the vocabulary of bytes present, random training
 * windows and deterministic evaluation windows, encoding and decoding.
 *
 * A token is one byte; the vocabulary is the sorted set of bytes present, so
 * multi-byte UTF-8 characters become several tokens (no Unicode handling).
 * No tokenizer training, no lowercasing, no filtering of binary files beyond
 * skipping the fortune index (*.dat) and alias (*.u8) files and symlinks.
 */
#include "data/dataset.h"
#include "data/data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEXT_MAX_DEPTH 32
#define TEXT_MAX_BYTES (1L << 31) /* token ids are indexed by long, kept below 2 GiB */

typedef struct text_files {
    char **paths;
    long *sizes;
    long n, cap;
    long total;
} text_files;

static void text_files_free(text_files *F)
{
    for (long i = 0; i < F->n; i++)
        free(F->paths[i]);
    free(F->paths);
    free(F->sizes);
    memset(F, 0, sizeof *F);
}

static int text_files_push(text_files *F, char *path, long size)
{
    if (F->n == F->cap) {
        long nc = F->cap ? 2 * F->cap : 64;
        char **np = realloc(F->paths, (size_t)nc * sizeof *np);
        if (!np)
            return -1;
        F->paths = np;
        long *ns = realloc(F->sizes, (size_t)nc * sizeof *ns);
        if (!ns)
            return -1;
        F->sizes = ns;
        F->cap = nc;
    }
    F->paths[F->n] = path;
    F->sizes[F->n] = size;
    F->n++;
    F->total += size;
    return 0;
}

/* Adds dir's plain text files (sorted), and its subfolders' when recursive. */
static int collect_dir(const char *dir, int recursive, int depth, text_files *F, tl_err *err)
{
    if (depth > TEXT_MAX_DEPTH)
        return tl_fail(err, TL_EINPUT, "%s: folders nested deeper than %d", dir, TEXT_MAX_DEPTH);
    char **names = NULL;
    long n = 0;
    int rc = data__list_dir(dir, &names, &n, err);
    if (rc)
        return rc;
    for (long i = 0; i < n && !rc; i++) {
        if (data__ends_with_ci(names[i], ".dat") || data__ends_with_ci(names[i], ".u8"))
            continue;
        char *p = data__join(dir, names[i]);
        if (!p) {
            rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", dir);
            break;
        }
        struct stat st;
        if (lstat(p, &st) != 0) {
            rc = tl_fail(err, TL_EINPUT, "%s: cannot stat: %s", p, strerror(errno));
            free(p);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (recursive)
                rc = collect_dir(p, recursive, depth + 1, F, err);
            free(p);
        } else if (S_ISREG(st.st_mode)) {
            if (text_files_push(F, p, (long)st.st_size)) {
                free(p);
                rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", dir);
            }
        } else {
            free(p); /* symlinks, devices, sockets */
        }
    }
    data__free_names(names, n);
    return rc;
}

/* Reads exactly size bytes of path into buf. */
static int read_file(const char *path, long size, unsigned char *buf, tl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tl_fail(err, TL_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    size_t got = size > 0 ? fread(buf, 1, (size_t)size, f) : 0;
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad)
        return tl_fail(err, TL_EINPUT, "%s: read error: %s", path, strerror(saved));
    if ((long)got != size)
        return tl_fail(err, TL_EINPUT, "%s: read %zu of %ld bytes (file changed while loading?)",
                       path, got, size);
    return 0;
}

/* Builds the vocabulary and tokens of d from len bytes. */
static int tokenize(dataset *d, const unsigned char *bytes, long len, tl_err *err)
{
    d->tokens = malloc((size_t)len * sizeof *d->tokens);
    if (!d->tokens)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory for %ld tokens", d->source, len);
    unsigned char present[256] = {0};
    for (long i = 0; i < len; i++)
        present[bytes[i]] = 1;
    int v = 0;
    for (int c = 0; c < 256; c++) {
        d->ids[c] = -1;
        if (present[c]) {
            d->ids[c] = (short)v;
            d->chars[v++] = (unsigned char)c;
        }
    }
    for (long i = 0; i < len; i++)
        d->tokens[i] = d->ids[bytes[i]];
    d->vocab = v;
    d->ntok = len;
    d->is_text = 1;
    return 0;
}

int data_text_from_bytes(const char *bytes, size_t len, const char *source, dataset **out, tl_err *err)
{
    *out = NULL;
    const char *src = source ? source : "text";
    if (!bytes || len == 0)
        return tl_fail(err, TL_EINPUT, "%s: empty text", src);
    if (len >= (size_t)TEXT_MAX_BYTES)
        return tl_fail(err, TL_EINPUT, "%s: text of %zu bytes exceeds the 2 GiB limit", src, len);
    dataset *d = data__new(src);
    if (!d)
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", src);
    int rc = tokenize(d, (const unsigned char *)bytes, (long)len, err);
    if (rc) {
        data_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int data_load_text_opt(const char *path, int recursive, dataset **out, tl_err *err)
{
    *out = NULL;
    if (!path)
        path = DATA_TEXT_DEFAULT;
    struct stat st;
    if (stat(path, &st) != 0)
        return tl_fail(err, TL_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    text_files F = {0};
    int rc = 0;
    int folder = S_ISDIR(st.st_mode);
    if (folder) {
        rc = collect_dir(path, recursive, 0, &F, err);
    } else if (S_ISREG(st.st_mode)) {
        char *p = data__strdup(path);
        if (!p || text_files_push(&F, p, (long)st.st_size)) {
            free(p);
            rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", path);
        }
    } else {
        rc = tl_fail(err, TL_EINPUT, "%s: not a regular file or a folder", path);
    }
    if (rc) {
        text_files_free(&F);
        return rc;
    }
    if (F.total == 0) {
        text_files_free(&F);
        if (folder)
            return tl_fail(err, TL_EINPUT, "%s: empty text: no non-empty text files (skipping *.dat, *.u8, "
                           "symlinks%s)", path, recursive ? "" : " and subfolders");
        return tl_fail(err, TL_EINPUT, "%s: empty text: the file has no bytes", path);
    }
    if (F.total >= TEXT_MAX_BYTES) {
        text_files_free(&F);
        return tl_fail(err, TL_EINPUT, "%s: %ld bytes of text exceed the 2 GiB limit", path, F.total);
    }
    unsigned char *buf = malloc((size_t)F.total);
    dataset *d = data__new(path);
    if (!buf || !d) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %ld bytes", path, F.total);
        goto done;
    }
    long off = 0;
    for (long i = 0; i < F.n && !rc; i++) {
        rc = read_file(F.paths[i], F.sizes[i], buf + off, err);
        off += F.sizes[i];
    }
    if (!rc)
        rc = tokenize(d, buf, F.total, err);
done:
    free(buf);
    text_files_free(&F);
    if (rc) {
        data_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int data_load_text(const char *path, dataset **out, tl_err *err)
{
    return data_load_text_opt(path, 0, out, err);
}

/* ---- windows ---- */

static int text_ok(const data_view *v, int T)
{
    return v && v->d && v->d->is_text && T >= 1 && v->tok_end - v->tok_begin >= (long)T + 1;
}

int data_text_check(const data_view *v, int T, tl_err *err)
{
    if (!v || !v->d || !v->d->is_text)
        return tl_fail(err, TL_EINPUT, "%s: not a text corpus",
                       v && v->d && v->d->source ? v->d->source : "dataset");
    if (T < 1)
        return tl_fail(err, TL_EINPUT, "%s: context length must be >= 1, got %d", v->d->source, T);
    if (!text_ok(v, T))
        return tl_fail(err, TL_EINPUT, "%s: this part of the corpus has %ld tokens, fewer than "
                       "context + 1 = %ld", v->d->source, v->tok_end - v->tok_begin, (long)T + 1);
    return 0;
}

/* One window starting at token s (absolute). */
static void fill_window(const dataset *d, long s, int T, int *tokens, int *targets)
{
    memcpy(tokens, d->tokens + s, (size_t)T * sizeof *tokens);
    memcpy(targets, d->tokens + s + 1, (size_t)T * sizeof *targets);
}

long data_text_sample(const data_view *v, rng *r, int B, int T, int *tokens, int *targets)
{
    if (!text_ok(v, T) || B < 1)
        return -1;
    uint64_t nstart = (uint64_t)(v->tok_end - v->tok_begin - T); /* starts s with s + T < tok_end */
    for (int b = 0; b < B; b++) {
        long s = v->tok_begin + (long)rng_below(r, nstart);
        fill_window(v->d, s, T, tokens + (size_t)b * T, targets + (size_t)b * T);
    }
    return B;
}

long data_text_windows(const data_view *v, int T)
{
    if (!text_ok(v, T))
        return 0;
    return (v->tok_end - v->tok_begin - 1) / T;
}

int data_text_window(const data_view *v, long i, int T, int *tokens, int *targets)
{
    if (i < 0 || i >= data_text_windows(v, T))
        return -1;
    fill_window(v->d, v->tok_begin + i * T, T, tokens, targets);
    return 0;
}

long data_text_eval_count(const data_view *v, int T, long cap)
{
    long w = data_text_windows(v, T);
    return cap > 0 && cap < w ? cap : w;
}

int data_text_eval_batch(const data_view *v, int T, long cap, long first, int B,
                         int *tokens, int *targets)
{
    long w = data_text_windows(v, T);
    long e = data_text_eval_count(v, T, cap);
    if (first < 0 || B < 1)
        return 0;
    int b = 0;
    for (; b < B && first + b < e; b++) {
        long j = first + b;
        long i = e == w ? j : (long)((double)j * (double)w / (double)e); /* spread evenly */
        fill_window(v->d, v->tok_begin + i * T, T, tokens + (size_t)b * T, targets + (size_t)b * T);
    }
    return b;
}

/* ---- vocabulary ---- */

int data_text_encode(const dataset *d, const char *s, size_t len, int *out, tl_err *err)
{
    if (!d->is_text)
        return tl_fail(err, TL_EINPUT, "%s: not a text corpus", d->source ? d->source : "dataset");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (d->ids[c] < 0)
            return tl_fail(err, TL_EINPUT, "%s: byte 0x%02x ('%c') at position %zu is not in the vocabulary",
                           d->source ? d->source : "text", c, c >= 32 && c < 127 ? c : '?', i);
        out[i] = d->ids[c];
    }
    return 0;
}

size_t data_text_decode(const dataset *d, const int *ids, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ids[i] >= 0 && ids[i] < d->vocab ? (char)d->chars[ids[i]] : '?';
    out[n] = '\0';
    return n;
}

double data_text_unigram_entropy(const data_view *v)
{
    if (!v || !v->d || !v->d->is_text || v->tok_end <= v->tok_begin)
        return NAN;
    long count[256] = {0};
    const int *tok = v->d->tokens;
    for (long i = v->tok_begin; i < v->tok_end; i++)
        count[tok[i] & 255]++;
    double n = (double)(v->tok_end - v->tok_begin), h = 0;
    for (int k = 0; k < 256; k++)
        if (count[k])
            h -= (double)count[k] / n * log((double)count[k] / n);
    return h;
}
