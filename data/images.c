/* data/images.c: image-folder datasets, DIR/<class>/<image>, decoded with
 * stb_image (PNG, JPEG, BMP) into floats in [0, 1].
 *
 * Two passes: the first lists and sorts the files and reads every header
 * (stbi_info) to check sizes, so the whole dataset is allocated once; the
 * second decodes.  It does not augment, crop or normalise beyond v / 255;
 * it resizes only through data_load_images_resized.  The stb
 * implementations are compiled here as static functions, so another file
 * may compile its own copy without clashing.
 */
#include "data/dataset.h"
#include "data/data_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Left ignored for the whole file, not pushed and popped: GCC reports
 * stb_image 2.27's static functions that are declared but never defined
 * (stbi_set_unpremultiply_on_load_thread) at the end of the file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb_image.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#define IMG_MAX_SIDE 16384

static const char *const IMG_EXTS[] = {".png", ".jpg", ".jpeg", ".bmp"};

static int is_image_name(const char *name)
{
    for (size_t i = 0; i < sizeof IMG_EXTS / sizeof IMG_EXTS[0]; i++)
        if (data__ends_with_ci(name, IMG_EXTS[i]))
            return 1;
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static unsigned long be32u(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* Checks that the file holds what its header declares before stb_image
 * allocates for it (found by fuzz/fuzz_images, where a 60-byte file cost
 * gigabytes): stb_image reads only uncompressed BMPs and reads zeros past
 * the end of a short one (a 60-byte file declaring 16384 x 16384 pixels
 * loaded as a black image), and it reallocates a PNG's data to the length
 * a chunk header declares before reading it (a 1 GB chunk in a 100-byte
 * file).  Refuses a BMP shorter than all but the last row of its declared
 * pixels, a PNG with a chunk longer than the rest of the file, and a PNG
 * whose first IDAT chunk is empty (stb_image offsets a NULL pointer).  Returns
 * 0, or TL_EINPUT with err filled. */
static int image_check_length(const char *path, int w, int h, tl_err *err)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char b[30] = {0}; /* past the end: zeros, as stb_image reads them */
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0; /* stb_image already read it; it will report */
    size_t got = fread(b, 1, sizeof b, f);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    int rc = 0;
    if (size < 0 || got < 8) {
        /* nothing to check */
    } else if (memcmp(b, png_sig, 8) == 0) {
        long off = 8;
        int data = 0; /* an IDAT with bytes was seen */
        unsigned char c[8];
        while (off + 8 <= size && fseek(f, off, SEEK_SET) == 0 && fread(c, 1, 8, f) == 8) {
            unsigned long len = be32u(c);
            long room = size - off - 12; /* past the length, type and crc: negative in a cut header */
            if (room < 0 || len > (unsigned long)room) {
                rc = tl_fail(err, TL_EINPUT, "%s: truncated or corrupt PNG: chunk \"%.4s\" at byte %ld "
                             "declares %lu bytes, %ld remain", path, (const char *)c + 4, off, len,
                             room > 0 ? room : 0);
                break;
            }
            if (memcmp(c + 4, "IEND", 4) == 0)
                break;
            /* stb_image offsets its NULL buffer by an empty first IDAT
             * (undefined behaviour, found by fuzz/fuzz_images) */
            if (memcmp(c + 4, "IDAT", 4) == 0 && len == 0 && !data) {
                rc = tl_fail(err, TL_EINPUT, "%s: corrupt PNG: empty IDAT chunk at byte %ld before any "
                             "image data", path, off);
                break;
            }
            data |= memcmp(c + 4, "IDAT", 4) == 0;
            off += 12 + (long)len;
        }
    } else if (b[0] == 'B' && b[1] == 'M') { /* a header cut short counts too (found by fuzz/fuzz_images) */
        unsigned long hsz = b[14] | b[15] << 8 | (unsigned long)b[16] << 16 | (unsigned long)b[17] << 24;
        int bpp = hsz == 12 ? (b[24] | b[25] << 8) : (b[28] | b[29] << 8);
        if (bpp < 1)
            bpp = 1;
        /* in double: a corrupt header's bits per pixel is any 16-bit number */
        double row = floor(((double)w * bpp + 31) / 32) * 4;
        if (h > 1 && (double)size < row * (h - 1))
            rc = tl_fail(err, TL_EINPUT, "%s: truncated: %ld bytes, too short for the %dx%d pixels "
                         "of %d bits its BMP header declares", path, size, w, h, bpp);
    }
    fclose(f);
    return rc;
}

/* stb_image 2.27 (Debian 12) builds a JPEG Huffman table from 16 code
 * counts without checking that they sum to at most 256, and writes past
 * its 257-entry size table when they do (found by fuzz/fuzz_images: a
 * JPEG whose DHT counts sum to 0xc4 * 16).  Walks the file's markers (past
 * each scan's entropy-coded data: a progressive JPEG defines tables between
 * scans) and refuses a table of more than 256 codes before stb_image reads
 * the file.  Other files pass.  Returns 0, or TL_EINPUT with err filled. */
static int jpeg_check_tables(const char *path, tl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0; /* stb_image will report */
    /* SOI as stb_image reads a marker: 0xff, any 0xff fill, 0xd8 */
    int c = getc(f), m0 = c;
    long at = 1;
    while (c == 0xff) {
        m0 = c = getc(f);
        at++;
    }
    if (at < 2 || m0 != 0xd8) {
        fclose(f);
        return 0;
    }
    int rc = 0;
    while (!rc && (c = getc(f)) != EOF) {
        at++;
        if (c != 0xff)
            continue; /* entropy-coded data, or bytes between segments */
        int m;
        while ((m = getc(f)) == 0xff)
            at++;
        if (m == EOF)
            break;
        at++;
        if (m == 0x00 || (m >= 0xd0 && m <= 0xd8) || m == 0x01)
            continue; /* a stuffed 0xff, a restart marker, SOI, TEM: no length */
        if (m == 0xd9)
            break; /* EOI */
        int hi = getc(f), lo = getc(f);
        if (hi == EOF || lo == EOF)
            break;
        long len = (long)(hi << 8 | lo) - 2, seg = at - 2; /* the segment's 0xff */
        at += 2;
        if (m != 0xc4) { /* not a DHT: skip its body (a scan's data follows SOS's) */
            if (len > 0 && fseek(f, len, SEEK_CUR) != 0)
                break;
            at += len > 0 ? len : 0;
            continue;
        }
        while (len > 0) { /* as stb_image: a table whenever bytes are left, zeros past the end */
            unsigned char h[17] = {0};
            if (fread(h, 1, 17, f) < 17 && ferror(f))
                break;
            int n = 0;
            for (int i = 1; i < 17; i++)
                n += h[i];
            if (n > 256) {
                rc = tl_fail(err, TL_EINPUT, "%s: corrupt JPEG: a Huffman table at byte %ld declares %d codes "
                             "(at most 256)", path, seg, n);
                break;
            }
            if (feof(f) || fseek(f, n, SEEK_CUR) != 0)
                break;
            at += 17 + n;
            len -= 17 + n;
        }
    }
    fclose(f);
    return rc;
}

/* The file list of an image folder. */
typedef struct img_list {
    char **classes; /* (nclass) names */
    int nclass;
    char **paths;   /* (n) full paths */
    int *labels;    /* (n) */
    long n, cap;
} img_list;

static void img_list_free(img_list *L)
{
    for (int k = 0; k < L->nclass; k++)
        free(L->classes[k]);
    free(L->classes);
    for (long i = 0; i < L->n; i++)
        free(L->paths[i]);
    free(L->paths);
    free(L->labels);
    memset(L, 0, sizeof *L);
}

static int img_list_push(img_list *L, char *path, int label)
{
    if (L->n == L->cap) {
        long nc = L->cap ? 2 * L->cap : 256;
        char **np = realloc(L->paths, (size_t)nc * sizeof *np);
        if (!np)
            return -1;
        L->paths = np;
        int *nl = realloc(L->labels, (size_t)nc * sizeof *nl);
        if (!nl)
            return -1;
        L->labels = nl;
        L->cap = nc;
    }
    L->paths[L->n] = path;
    L->labels[L->n] = label;
    L->n++;
    return 0;
}

/* Lists dir/<class>/<image> in sorted order. */
static int list_images(const char *dir, img_list *L, tl_err *err)
{
    memset(L, 0, sizeof *L);
    char **names = NULL;
    long nnames = 0;
    int rc = data__list_dir(dir, &names, &nnames, err);
    if (rc)
        return rc;
    L->classes = calloc((size_t)(nnames > 0 ? nnames : 1), sizeof *L->classes);
    if (!L->classes) {
        data__free_names(names, nnames);
        return tl_fail(err, TL_ERUNTIME, "%s: out of memory", dir);
    }
    for (long i = 0; i < nnames; i++) {
        char *sub = data__join(dir, names[i]);
        if (!sub) {
            rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", dir);
            goto done;
        }
        if (!is_dir(sub)) {
            free(sub);
            continue;
        }
        int label = L->nclass;
        L->classes[L->nclass++] = names[i];
        names[i] = NULL;
        char **files = NULL;
        long nfiles = 0, found = 0;
        rc = data__list_dir(sub, &files, &nfiles, err);
        for (long j = 0; !rc && j < nfiles; j++) {
            if (!is_image_name(files[j]))
                continue;
            char *p = data__join(sub, files[j]);
            if (!p || img_list_push(L, p, label)) {
                free(p);
                rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory", sub);
                break;
            }
            if (!is_file(p)) {
                L->n--;
                free(p);
                continue;
            }
            found++;
        }
        data__free_names(files, nfiles);
        if (!rc && found == 0)
            rc = tl_fail(err, TL_EINPUT, "%s: class folder has no images (.png, .jpg, .jpeg, .bmp)", sub);
        free(sub);
        if (rc)
            goto done;
    }
    if (L->nclass == 0)
        rc = tl_fail(err, TL_EINPUT, "%s: %s (expected %s/<class>/<image>)", dir,
                     nnames == 0 ? "folder is empty" : "no class subfolders", dir);
done:
    data__free_names(names, nnames);
    if (rc)
        img_list_free(L);
    return rc;
}

/* resize: 0 = sizes must match (w, h) or the first image's when w = h = 0;
 * 1 = every image is resized to w x h. */
static int load_images(const char *dir, int channels, int w, int h, int resize,
                       dataset **out, tl_err *err)
{
    *out = NULL;
    if (!dir)
        return tl_fail(err, TL_EINPUT, "image folder: no folder given");
    if (channels != 1 && channels != 3)
        return tl_fail(err, TL_EINPUT, "%s: channels must be 1 (grayscale) or 3 (RGB), got %d", dir, channels);
    if (resize ? (w < 1 || h < 1) : ((w != 0 || h != 0) && (w < 1 || h < 1)))
        return tl_fail(err, TL_EINPUT, "%s: image size must be positive, got %dx%d", dir, w, h);
    if (w > IMG_MAX_SIDE || h > IMG_MAX_SIDE)
        return tl_fail(err, TL_EINPUT, "%s: image size %dx%d exceeds %d", dir, w, h, IMG_MAX_SIDE);

    img_list L;
    int rc = list_images(dir, &L, err);
    if (rc)
        return rc;
    dataset *d = NULL;
    unsigned char *tmp = NULL;
    const char *first = NULL;

    /* Pass 1: headers only. */
    for (long i = 0; i < L.n; i++) {
        int iw, ih, ic;
        if ((rc = jpeg_check_tables(L.paths[i], err)))
            goto fail;
        if (!stbi_info(L.paths[i], &iw, &ih, &ic)) {
            rc = tl_fail(err, TL_EINPUT, "%s: cannot read image: %s", L.paths[i], stbi_failure_reason());
            goto fail;
        }
        if (iw < 1 || ih < 1) { /* stb_image reads a BMP of 0 x 0 pixels (found by fuzz/fuzz_images) */
            rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d: no pixels", L.paths[i], iw, ih);
            goto fail;
        }
        if ((rc = image_check_length(L.paths[i], iw, ih, err)))
            goto fail;
        if (resize)
            continue;
        if (w == 0) {
            w = iw;
            h = ih;
            first = L.paths[i];
        } else if (iw != w || ih != h) {
            if (first)
                rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d but %s is %dx%d (all images must have one size)",
                             L.paths[i], iw, ih, first, w, h);
            else
                rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d but %dx%d is required",
                             L.paths[i], iw, ih, w, h);
            goto fail;
        }
    }
    if (w > IMG_MAX_SIDE || h > IMG_MAX_SIDE) {
        rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d, larger than %d a side", first, w, h, IMG_MAX_SIDE);
        goto fail;
    }

    d = data__new(dir);
    if (!d)
        goto oom;
    d->n = L.n;
    d->width = w;
    d->height = h;
    d->channels = channels;
    d->dim = w * h * channels;
    d->nclass = L.nclass;
    d->class_names = L.classes;
    L.classes = NULL;
    L.nclass = 0;
    d->y = L.labels;
    L.labels = NULL;
    d->x = malloc((size_t)d->n * (size_t)d->dim * sizeof *d->x);
    if (!d->x)
        goto oom;
    if (resize && !(tmp = malloc((size_t)d->dim)))
        goto oom;
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)v / 255.0f;

    /* Pass 2: decode. */
    for (long i = 0; i < L.n; i++) {
        int iw, ih, ic;
        if ((rc = jpeg_check_tables(L.paths[i], err))) /* again: the file may have changed since pass 1 */
            goto fail;
        unsigned char *px = stbi_load(L.paths[i], &iw, &ih, &ic, channels);
        if (!px) {
            rc = tl_fail(err, TL_EINPUT, "%s: cannot read image: %s", L.paths[i], stbi_failure_reason());
            goto fail;
        }
        const unsigned char *src = px;
        if (iw < 1 || ih < 1) { /* the file changed since pass 1 */
            stbi_image_free(px);
            rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d: no pixels", L.paths[i], iw, ih);
            goto fail;
        }
        if (resize) {
            if (!stbir_resize_uint8(px, iw, ih, 0, tmp, w, h, 0, channels)) {
                stbi_image_free(px);
                rc = tl_fail(err, TL_ERUNTIME, "%s: cannot resize image from %dx%d to %dx%d",
                             L.paths[i], iw, ih, w, h);
                goto fail;
            }
            src = tmp;
        } else if (iw != w || ih != h) { /* the file changed since pass 1 */
            stbi_image_free(px);
            rc = tl_fail(err, TL_EINPUT, "%s: image is %dx%d but %dx%d is required", L.paths[i], iw, ih, w, h);
            goto fail;
        }
        float *dst = d->x + (size_t)i * (size_t)d->dim;
        for (int j = 0; j < d->dim; j++)
            dst[j] = lut[src[j]];
        stbi_image_free(px);
    }
    free(tmp);
    img_list_free(&L);
    *out = d;
    return 0;
oom:
    rc = tl_fail(err, TL_ERUNTIME, "%s: out of memory for %ld images", dir, L.n);
fail:
    free(tmp);
    data_free(d);
    img_list_free(&L);
    return rc;
}

int data_load_images(const char *dir, int channels, int req_w, int req_h, dataset **out, tl_err *err)
{
    return load_images(dir, channels, req_w, req_h, 0, out, err);
}

int data_load_images_resized(const char *dir, int channels, int w, int h, dataset **out, tl_err *err)
{
    return load_images(dir, channels, w, h, 1, out, err);
}
