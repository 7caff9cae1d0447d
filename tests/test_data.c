/* tests/test_data.c: data/: Fashion-MNIST from the Debian package, crafted
 * bad IDX files, image folders written with stb_image_write, text corpora
 * (including the fortunes default), synthetic sets, splits, the loader and
 * text windows.  Fixtures are generated into a mkdtemp folder per test and
 * removed afterwards; nothing is committed under tests/data/. */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "util/timer.h"
#include "tests/tmpdir_util.h"

#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

/* ---- fixtures ---- */

static char tmp[256];

static void tmp_make(void)
{
    tmpdir_make(tmp, sizeof tmp, "tl_test_data");
}

static void tmp_remove(void)
{
    if (tmp[0])
        tmpdir_remove(tmp);
    tmp[0] = 0;
}

/* tmp/rel in a static buffer (one at a time per slot). */
static const char *tp(int slot, const char *rel)
{
    static char buf[4][512];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp, rel);
    return buf[slot];
}

static void mkdir_t(const char *rel)
{
    cr_assert_eq(mkdir(tp(3, rel), 0755), 0, "mkdir %s", rel);
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void write_gz(const char *path, const void *bytes, size_t n)
{
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(gzwrite(f, bytes, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(f), Z_OK);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX images file: header (magic, n, rows, cols) and npix pixel bytes
 * (pixel j = (j * 51) % 256). */
static void write_idx_images(const char *path, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                             size_t npix, int gz)
{
    unsigned char *b = calloc(16 + npix, 1);
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, rows);
    put_be32(b + 12, cols);
    for (size_t j = 0; j < npix; j++)
        b[16 + j] = (unsigned char)((j * 51) % 256);
    if (gz)
        write_gz(path, b, 16 + npix);
    else
        write_file(path, b, 16 + npix);
    free(b);
}

static void write_idx_labels(const char *path, uint32_t magic, uint32_t n, const unsigned char *lab,
                             size_t nlab, int gz)
{
    unsigned char *b = calloc(8 + nlab, 1);
    put_be32(b, magic);
    put_be32(b + 4, n);
    memcpy(b + 8, lab, nlab);
    if (gz)
        write_gz(path, b, 8 + nlab);
    else
        write_file(path, b, 8 + nlab);
    free(b);
}

static void assert_err(int rc, const tl_err *e, const char *name, const char *what)
{
    cr_assert_eq(rc, TL_EINPUT, "expected TL_EINPUT, got %d (%s)", rc, e->msg);
    cr_assert_not_null(strstr(e->msg, name), "message does not name %s: %s", name, e->msg);
    cr_assert_not_null(strstr(e->msg, what), "message does not say '%s': %s", what, e->msg);
}

/* ---- Fashion-MNIST (the real files) ---- */

Test(data_fmnist, loads_both_sets_with_known_labels_and_pixels)
{
    dataset *tr = NULL, *te = NULL;
    tl_err e = {0};
    double t0 = tl_now();
    int rc = data_load_fmnist(NULL, &tr, &te, &e);
    double dt = tl_now() - t0;
    cr_assert_eq(rc, 0, "%s", e.msg);
    cr_log_info("Fashion-MNIST train+test loaded in %.3f s", dt);
    cr_assert_eq(tr->n, 60000);
    cr_assert_eq(te->n, 10000);
    cr_assert_eq(tr->dim, 784);
    cr_assert_eq(tr->width, 28);
    cr_assert_eq(tr->height, 28);
    cr_assert_eq(tr->channels, 1);
    cr_assert_eq(tr->nclass, 10);
    cr_assert_str_eq(tr->class_names[9], "Ankle boot");
    /* First labels of the official files: 9 0 0 3 (train), 9 2 1 1 (test). */
    cr_assert_eq(tr->y[0], 9);
    cr_assert_eq(tr->y[1], 0);
    cr_assert_eq(tr->y[3], 3);
    cr_assert_eq(te->y[0], 9);
    cr_assert_eq(te->y[1], 2);
    long count[10] = {0};
    for (long i = 0; i < tr->n; i++) {
        cr_assert(tr->y[i] >= 0 && tr->y[i] < 10);
        count[tr->y[i]]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(count[k], 6000, "class %d has %ld samples", k, count[k]);
    /* First training image: its bytes sum to 76247 (checked with Python). */
    double s = 0;
    for (int j = 0; j < 784; j++)
        s += tr->x[j] * 255.0;
    cr_assert_eq(lround(s), 76247);
    float lo = 1, hi = 0;
    for (size_t j = 0; j < (size_t)te->n * 784; j++) {
        lo = te->x[j] < lo ? te->x[j] : lo;
        hi = te->x[j] > hi ? te->x[j] : hi;
    }
    cr_assert_eq(lo, 0.0f);
    cr_assert_eq(hi, 1.0f);
    data_free(tr);
    data_free(te);
}

/* ---- IDX error cases (crafted files) ---- */

TestSuite(data_idx, .init = tmp_make, .fini = tmp_remove);

static const unsigned char LAB3[3] = {0, 2, 1};

Test(data_idx, tiny_pair_loads_gz_and_plain)
{
    for (int gz = 0; gz < 2; gz++) {
        write_idx_images(tp(0, "i"), 0x803, 3, 2, 2, 12, gz);
        write_idx_labels(tp(1, "l"), 0x801, 3, LAB3, 3, gz);
        dataset *d = NULL;
        tl_err e = {0};
        cr_assert_eq(data_load_idx(tp(0, "i"), tp(1, "l"), 3, &d, &e), 0, "%s", e.msg);
        cr_assert_eq(d->n, 3);
        cr_assert_eq(d->dim, 4);
        cr_assert_eq(d->y[1], 2);
        for (int j = 0; j < 12; j++)
            cr_assert_eq(d->x[j], (float)((j * 51) % 256) / 255.0f, "pixel %d", j);
        cr_assert_eq(d->x[5], 1.0f); /* 255 */
        data_free(d);
    }
}

Test(data_idx, missing_file_is_named)
{
    dataset *tr = NULL, *te = NULL;
    tl_err e = {0};
    int rc = data_load_fmnist(tmp, &tr, &te, &e);
    assert_err(rc, &e, "train-labels-idx1-ubyte.gz", "cannot open");
    cr_assert_null(tr);
    cr_assert_null(te);
}

Test(data_idx, wrong_magic_in_images_and_labels)
{
    dataset *d = NULL;
    tl_err e = {0};
    write_idx_images(tp(0, "img.gz"), 0x801, 3, 2, 2, 12, 1);
    write_idx_labels(tp(1, "lab.gz"), 0x801, 3, LAB3, 3, 1);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "img.gz", "bad magic");
    write_idx_labels(tp(1, "lab2.gz"), 0x803, 3, LAB3, 3, 1);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "lab2.gz"), 10, &d, &e), &e, "lab2.gz", "bad magic");
    cr_assert_null(d);
}

Test(data_idx, truncated_pixels_labels_and_header)
{
    dataset *d = NULL;
    tl_err e = {0};
    write_idx_labels(tp(1, "lab.gz"), 0x801, 3, LAB3, 3, 1);
    write_idx_images(tp(0, "img.gz"), 0x803, 3, 2, 2, 10, 1); /* 12 needed */
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "img.gz", "truncated");
    write_idx_labels(tp(1, "short.gz"), 0x801, 3, LAB3, 2, 1);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "short.gz"), 10, &d, &e), &e, "short.gz", "truncated");
    write_file(tp(2, "hdr"), "\0\0\x08", 3);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(2, "hdr"), 10, &d, &e), &e, "hdr", "truncated");
    cr_assert_null(d);
}

Test(data_idx, truncated_gzip_stream)
{
    /* A valid compressed file cut in half: zlib reports it, we name it. */
    enum { N = 200, R = 10, C = 10 };
    unsigned char lab[N];
    for (int i = 0; i < N; i++)
        lab[i] = (unsigned char)(i % 10);
    write_idx_labels(tp(1, "lab.gz"), 0x801, N, lab, N, 1);
    unsigned char *b = malloc(16 + N * R * C);
    put_be32(b, 0x803), put_be32(b + 4, N), put_be32(b + 8, R), put_be32(b + 12, C);
    uint64_t x = 12345;
    for (int j = 0; j < N * R * C; j++) { /* incompressible-ish bytes */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        b[16 + j] = (unsigned char)(x >> 56);
    }
    write_gz(tp(0, "img.gz"), b, 16 + N * R * C);
    free(b);
    struct stat st;
    cr_assert_eq(stat(tp(0, "img.gz"), &st), 0);
    cr_assert_eq(truncate(tp(0, "img.gz"), st.st_size / 2), 0);
    dataset *d = NULL;
    tl_err e = {0};
    int rc = data_load_idx(tp(0, "img.gz"), tp(1, "lab.gz"), 10, &d, &e);
    cr_assert_eq(rc, TL_EINPUT, "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "img.gz"), "%s", e.msg);
    cr_assert_null(d);
}

Test(data_idx, label_out_of_range)
{
    dataset *d = NULL;
    tl_err e = {0};
    const unsigned char bad[3] = {0, 10, 1};
    write_idx_images(tp(0, "img.gz"), 0x803, 3, 2, 2, 12, 1);
    write_idx_labels(tp(1, "lab.gz"), 0x801, 3, bad, 3, 1);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "lab.gz", "label 10 at index 1");
}

Test(data_idx, count_mismatch_and_trailing_bytes)
{
    dataset *d = NULL;
    tl_err e = {0};
    write_idx_images(tp(0, "img.gz"), 0x803, 4, 2, 2, 16, 1);
    write_idx_labels(tp(1, "lab.gz"), 0x801, 3, LAB3, 3, 1);
    assert_err(data_load_idx(tp(0, "img.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "img.gz", "4 images but");
    write_idx_images(tp(0, "long.gz"), 0x803, 3, 2, 2, 13, 1);
    assert_err(data_load_idx(tp(0, "long.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "long.gz", "unexpected data");
    write_idx_images(tp(0, "zero.gz"), 0x803, 3, 0, 2, 0, 1);
    assert_err(data_load_idx(tp(0, "zero.gz"), tp(1, "lab.gz"), 10, &d, &e), &e, "zero.gz", "implausible");
}

Test(data_idx, fmnist_folder_with_bad_test_set_frees_train)
{
    write_idx_images(tp(0, "train-images-idx3-ubyte.gz"), 0x803, 3, 2, 2, 12, 1);
    write_idx_labels(tp(1, "train-labels-idx1-ubyte.gz"), 0x801, 3, LAB3, 3, 1);
    write_idx_images(tp(0, "t10k-images-idx3-ubyte.gz"), 0x803, 3, 2, 3, 18, 1);
    write_idx_labels(tp(1, "t10k-labels-idx1-ubyte.gz"), 0x801, 3, LAB3, 3, 1);
    dataset *tr = NULL, *te = NULL;
    tl_err e = {0};
    assert_err(data_load_fmnist(tmp, &tr, &te, &e), &e, "t10k-images", "3x2"); /* width 3, height 2 */
    cr_assert_null(tr);
    cr_assert_null(te);
    /* Asking for the train set only works. */
    cr_assert_eq(data_load_fmnist(tmp, &tr, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(tr->n, 3);
    cr_assert_str_eq(tr->class_names[0], "T-shirt/top");
    data_free(tr);
}

/* ---- image folders ---- */

TestSuite(data_images, .init = tmp_make, .fini = tmp_remove);

/* A w x h RGB PNG at tmp/rel filled with (r, g, b). */
static void write_png(const char *rel, int w, int h, int r, int g, int b)
{
    unsigned char *p = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++)
        p[3 * i] = (unsigned char)r, p[3 * i + 1] = (unsigned char)g, p[3 * i + 2] = (unsigned char)b;
    cr_assert(stbi_write_png(tp(2, rel), w, h, 3, p, w * 3), "write %s", rel);
    free(p);
}

/* Two classes created in reverse order; file names out of order. */
static void make_two_classes(void)
{
    mkdir_t("imgs");
    mkdir_t("imgs/dog");
    mkdir_t("imgs/cat");
    mkdir_t("imgs/.hidden");
    write_png("imgs/dog/b.png", 3, 2, 40, 40, 40);
    write_png("imgs/dog/a.png", 3, 2, 30, 30, 30);
    write_png("imgs/cat/z.PNG", 3, 2, 20, 20, 20);
    write_png("imgs/cat/c.png", 3, 2, 10, 10, 10);
    write_png("imgs/.hidden/x.png", 5, 5, 0, 0, 0);
    write_file(tp(0, "imgs/cat/notes.txt"), "hi", 2);
}

Test(data_images, sorted_classes_and_files_gray)
{
    make_two_classes();
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(tp(0, "imgs"), 1, 0, 0, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->n, 4);
    cr_assert_eq(d->nclass, 2);
    cr_assert_str_eq(d->class_names[0], "cat");
    cr_assert_str_eq(d->class_names[1], "dog");
    cr_assert_eq(d->width, 3);
    cr_assert_eq(d->height, 2);
    cr_assert_eq(d->channels, 1);
    cr_assert_eq(d->dim, 6);
    const int want_val[4] = {10, 20, 30, 40}, want_lab[4] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(d->y[i], want_lab[i], "sample %d", i);
        for (int j = 0; j < 6; j++)
            cr_assert_eq(d->x[i * 6 + j], want_val[i] / 255.0f, "sample %d pixel %d: %g", i, j, d->x[i * 6 + j]);
    }
    data_free(d);
}

Test(data_images, rgb_keeps_channel_order)
{
    mkdir_t("rgb");
    mkdir_t("rgb/only");
    write_png("rgb/only/a.png", 2, 2, 255, 128, 0);
    unsigned char bmp[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    cr_assert(stbi_write_bmp(tp(0, "rgb/only/b.bmp"), 2, 2, 3, bmp));
    write_png("rgb/only/c.jpg", 2, 2, 0, 0, 0); /* PNG bytes under .jpg: stb sniffs the content */
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(tp(0, "rgb"), 3, 2, 2, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->n, 3);
    cr_assert_eq(d->dim, 12);
    cr_assert_eq(d->x[0], 1.0f);
    cr_assert_eq(d->x[1], 128 / 255.0f);
    cr_assert_eq(d->x[2], 0.0f);
    for (int j = 0; j < 12; j++)
        cr_assert_eq(d->x[12 + j], bmp[j] / 255.0f, "bmp byte %d", j);
    data_free(d);
}

/* An 8x8 grayscale JPEG of value 200 (quality 90), made once with
 * stbi_write_jpg and embedded: stb_image_write's JPEG encoder shifts into
 * the sign bit, which `make asan`'s UBSan halts on, so the test does not
 * run the encoder. */
static const unsigned char JPEG_8x8_200[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x84, 0x00, 0x03, 0x02, 0x02, 0x03, 0x02, 0x02, 0x03,
    0x03, 0x03, 0x03, 0x04, 0x03, 0x03, 0x04, 0x05, 0x08, 0x05, 0x05, 0x04, 0x04, 0x05, 0x0a, 0x07,
    0x07, 0x06, 0x08, 0x0c, 0x0a, 0x0c, 0x0c, 0x0b, 0x0a, 0x0b, 0x0b, 0x0d, 0x0e, 0x12, 0x10, 0x0d,
    0x0e, 0x11, 0x0e, 0x0b, 0x0b, 0x10, 0x16, 0x10, 0x11, 0x13, 0x14, 0x15, 0x15, 0x15, 0x0c, 0x0f,
    0x17, 0x18, 0x16, 0x14, 0x18, 0x12, 0x14, 0x15, 0x14, 0x01, 0x03, 0x04, 0x04, 0x05, 0x04, 0x05,
    0x09, 0x05, 0x05, 0x09, 0x14, 0x0d, 0x0b, 0x0d, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14,
    0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0x14, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00,
    0x08, 0x00, 0x08, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x01,
    0xa2, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x00,
    0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01,
    0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24,
    0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
    0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
    0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
    0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
    0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3,
    0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xfb,
    0x02, 0x8a, 0x28, 0xa0, 0x0f, 0xff, 0xd9,
};

Test(data_images, real_jpeg_loads)
{
    mkdir_t("j");
    mkdir_t("j/k");
    write_file(tp(0, "j/k/a.jpeg"), JPEG_8x8_200, sizeof JPEG_8x8_200);
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(tp(0, "j"), 1, 0, 0, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->dim, 64);
    for (int j = 0; j < 64; j++)
        cr_assert(fabsf(d->x[j] - 200 / 255.0f) < 3 / 255.0f, "pixel %d = %g", j, d->x[j]);
    data_free(d);
    /* RGB from a grayscale file: three equal channels. */
    cr_assert_eq(data_load_images(tp(0, "j"), 3, 8, 8, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->dim, 192);
    cr_assert(d->x[0] == d->x[1] && d->x[1] == d->x[2]);
    data_free(d);
}

Test(data_images, mixed_sizes_name_the_first_differing_file)
{
    make_two_classes();
    write_png("imgs/dog/c.png", 4, 2, 0, 0, 0);
    write_png("imgs/dog/d.png", 5, 2, 0, 0, 0);
    dataset *d = NULL;
    tl_err e = {0};
    assert_err(data_load_images(tp(0, "imgs"), 1, 0, 0, &d, &e), &e, "dog/c.png", "4x2");
    cr_assert_not_null(strstr(e.msg, "cat/c.png"), "%s", e.msg); /* the reference image */
    cr_assert_null(d);
    /* A required size: the first file that differs from it is named. */
    assert_err(data_load_images(tp(0, "imgs"), 1, 4, 2, &d, &e), &e, "cat/c.png", "4x2 is required");
    /* Resizing makes the mixed folder load; flat images stay flat. */
    cr_assert_eq(data_load_images_resized(tp(0, "imgs"), 1, 4, 4, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->n, 6);
    cr_assert_eq(d->dim, 16);
    for (int j = 0; j < 16; j++)
        cr_assert(fabsf(d->x[3 * 16 + j] - 40 / 255.0f) <= 1 / 255.0f + 1e-6f, "%g", d->x[3 * 16 + j]);
    data_free(d);
}

Test(data_images, empty_folder_and_class_without_images)
{
    dataset *d = NULL;
    tl_err e = {0};
    mkdir_t("empty");
    assert_err(data_load_images(tp(0, "empty"), 1, 0, 0, &d, &e), &e, "empty", "folder is empty");
    mkdir_t("files_only");
    write_file(tp(0, "files_only/a.png"), "x", 1);
    assert_err(data_load_images(tp(0, "files_only"), 1, 0, 0, &d, &e), &e, "files_only", "no class subfolders");
    make_two_classes();
    mkdir_t("imgs/eel");
    write_file(tp(0, "imgs/eel/readme.txt"), "x", 1);
    assert_err(data_load_images(tp(0, "imgs"), 1, 0, 0, &d, &e), &e, "imgs/eel", "no images");
    assert_err(data_load_images(tp(0, "nope"), 1, 0, 0, &d, &e), &e, "nope", "cannot open");
    cr_assert_null(d);
}

Test(data_images, unreadable_image_and_bad_channels)
{
    make_two_classes();
    write_file(tp(0, "imgs/dog/broken.png"), "this is not a png", 17);
    dataset *d = NULL;
    tl_err e = {0};
    assert_err(data_load_images(tp(0, "imgs"), 1, 0, 0, &d, &e), &e, "dog/broken.png", "cannot read image");
    assert_err(data_load_images(tp(0, "imgs"), 2, 0, 0, &d, &e), &e, "imgs", "channels");
    assert_err(data_load_images(tp(0, "imgs"), 1, -1, 3, &d, &e), &e, "imgs", "positive");
    cr_assert_null(d);
}

/* ---- text ---- */

TestSuite(data_text, .init = tmp_make, .fini = tmp_remove);

Test(data_text, vocabulary_is_sorted_bytes_present_and_roundtrips)
{
    const char *s = "hello world\n";
    write_file(tp(0, "t.txt"), s, strlen(s));
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_text(tp(0, "t.txt"), &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->is_text, 1);
    cr_assert_eq(d->ntok, (long)strlen(s));
    cr_assert_eq(d->vocab, 9);
    cr_assert_eq(memcmp(d->chars, "\n dehlorw", 9), 0);
    for (int v = 0; v < d->vocab; v++)
        cr_assert_eq(d->ids[d->chars[v]], v);
    cr_assert_eq(d->ids['z'], -1);
    cr_assert_eq(d->tokens[0], 4); /* 'h' */
    char out[64];
    data_text_decode(d, d->tokens, (size_t)d->ntok, out);
    cr_assert_str_eq(out, s);
    int ids[5];
    cr_assert_eq(data_text_encode(d, "world", 5, ids, &e), 0);
    cr_assert_eq(ids[0], 8);
    cr_assert_eq(data_text_encode(d, "wz", 2, ids, &e), TL_EINPUT);
    cr_assert_not_null(strstr(e.msg, "'z'"), "%s", e.msg);
    data_free(d);
}

Test(data_text, folder_skips_dat_u8_symlinks_hidden_and_subfolders)
{
    mkdir_t("f");
    mkdir_t("f/off");
    write_file(tp(0, "f/b"), "bbb", 3);
    write_file(tp(0, "f/a"), "aa", 2);
    write_file(tp(0, "f/a.dat"), "XXXX", 4);
    write_file(tp(0, "f/c.u8"), "UUU", 3); /* a plain file, not only the symlink kind */
    write_file(tp(0, "f/.hidden"), "HH", 2);
    write_file(tp(0, "f/off/c"), "ccc", 3);
    cr_assert_eq(symlink("a", tp(0, "f/a.u8")), 0);
    cr_assert_eq(symlink("b", tp(0, "f/link")), 0);
    dataset *d = NULL;
    tl_err e = {0};
    char out[64];
    cr_assert_eq(data_load_text(tp(0, "f"), &d, &e), 0, "%s", e.msg);
    data_text_decode(d, d->tokens, (size_t)d->ntok, out);
    cr_assert_str_eq(out, "aabbb");
    cr_assert_eq(d->vocab, 2);
    data_free(d);
    cr_assert_eq(data_load_text_opt(tp(0, "f"), 1, &d, &e), 0, "%s", e.msg);
    data_text_decode(d, d->tokens, (size_t)d->ntok, out);
    cr_assert_str_eq(out, "aabbbccc");
    data_free(d);
}

Test(data_text, empty_text_and_missing_path_are_errors)
{
    dataset *d = NULL;
    tl_err e = {0};
    write_file(tp(0, "empty.txt"), "", 0);
    assert_err(data_load_text(tp(0, "empty.txt"), &d, &e), &e, "empty.txt", "empty text");
    mkdir_t("onlydat");
    write_file(tp(0, "onlydat/x.dat"), "abc", 3);
    assert_err(data_load_text(tp(0, "onlydat"), &d, &e), &e, "onlydat", "empty text");
    assert_err(data_load_text(tp(0, "missing"), &d, &e), &e, "missing", "cannot open");
    cr_assert_eq(data_text_from_bytes("", 0, "mem", &d, &e), TL_EINPUT);
    cr_assert_null(d);
}

Test(data_text, fortunes_default_counts_only_plain_files)
{
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_text(NULL, &d, &e), 0, "%s", e.msg);
    /* Independent count: sizes of regular files not named *.dat / *.u8. */
    long total = 0;
    FILE *p = popen("find " DATA_TEXT_DEFAULT " -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' "
                    "! -name '.*' -printf '%s\\n'", "r");
    cr_assert_not_null(p);
    long sz;
    while (fscanf(p, "%ld", &sz) == 1)
        total += sz;
    pclose(p);
    cr_assert_gt(total, 100000);
    cr_assert_eq(d->ntok, total);
    cr_assert_gt(d->vocab, 60);
    for (long i = 0; i < d->ntok; i++)
        cr_assert(d->tokens[i] >= 0 && d->tokens[i] < d->vocab);
    data_free(d);
}

static dataset *alpha_text(const char *s)
{
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_text_from_bytes(s, strlen(s), "alpha", &d, &e), 0, "%s", e.msg);
    return d;
}

Test(data_text, split_is_contiguous_last_fraction_validation)
{
    char s[1001];
    for (int i = 0; i < 1000; i++)
        s[i] = (char)('a' + i % 26);
    s[1000] = 0;
    dataset *d = alpha_text(s);
    data_view tr, va;
    tl_err e = {0};
    cr_assert_eq(data_split(d, 0.1, 7, &tr, &va, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.tok_begin, 0);
    cr_assert_eq(tr.tok_end, 900);
    cr_assert_eq(va.tok_begin, 900);
    cr_assert_eq(va.tok_end, 1000);
    cr_assert_eq(tr.n + va.n, 1000);
    cr_assert_null(tr.idx);
    cr_assert_eq(data_text_check(&va, 99, &e), 0);
    cr_assert_eq(data_text_check(&va, 100, &e), TL_EINPUT);
    cr_assert_not_null(strstr(e.msg, "alpha"), "%s", e.msg);
    data_view_limit(&tr, 50);
    cr_assert_eq(tr.tok_end, 50);
    data_view_free(&tr);
    data_view_free(&va);
    dataset *tiny = alpha_text("abc");
    cr_assert_eq(data_split(tiny, 0.1, 7, &tr, &va, &e), TL_EINPUT);
    data_free(tiny);
    data_free(d);
}

Test(data_text, random_windows_have_shifted_targets_and_cover_all_starts)
{
    dataset *d = alpha_text("abcdefghijklmnop"); /* token i is byte 'a'+i: id = position */
    data_view v;
    tl_err e = {0};
    cr_assert_eq(data_view_all(d, &v, &e), 0);
    v.tok_begin = 2; /* a sub-range, as a split gives */
    v.tok_end = 14;
    v.n = 12;
    enum { B = 400, T = 3 };
    int tok[B * T], tgt[B * T], tok2[B * T], tgt2[B * T];
    rng r, r2;
    rng_seed(&r, 5, 0);
    rng_seed(&r2, 5, 0);
    cr_assert_eq(data_text_sample(&v, &r, B, T, tok, tgt), B);
    cr_assert_eq(data_text_sample(&v, &r2, B, T, tok2, tgt2), B);
    cr_assert_eq(memcmp(tok, tok2, sizeof tok), 0, "same seed, same windows");
    int seen[16] = {0};
    for (int b = 0; b < B; b++) {
        int s = tok[b * T];
        cr_assert(s >= 2 && s + T < 14, "window start %d outside [2, 14 - T)", s);
        seen[s] = 1;
        for (int t = 0; t < T; t++) {
            cr_assert_eq(tok[b * T + t], s + t);
            cr_assert_eq(tgt[b * T + t], s + t + 1);
        }
    }
    for (int s = 2; s + T < 14; s++)
        cr_assert(seen[s], "start %d never drawn", s);
    cr_assert_eq(data_text_sample(&v, &r, B, 12, tok, tgt), -1); /* needs 13 tokens */
    data_view_free(&v);
    data_free(d);
}

Test(data_text, evaluation_windows_are_non_overlapping_and_capped_evenly)
{
    dataset *d = alpha_text("abcdefghijklmnopqrstuvwxyzABCDE"); /* 31 tokens */
    data_view v;
    tl_err e = {0};
    cr_assert_eq(data_view_all(d, &v, &e), 0);
    cr_assert_eq(data_text_windows(&v, 3), 10); /* (31 - 1) / 3 */
    int tok[4 * 3], tgt[4 * 3];
    cr_assert_eq(data_text_window(&v, 9, 3, tok, tgt), 0);
    cr_assert_eq(tok[0], d->ids['B']);
    cr_assert_eq(tgt[2], d->ids['E']);
    cr_assert_eq(data_text_window(&v, 10, 3, tok, tgt), -1);
    /* All windows: consecutive, non-overlapping. */
    long first = 0;
    int got, total = 0;
    while ((got = data_text_eval_batch(&v, 3, 0, first, 4, tok, tgt)) > 0) {
        for (int b = 0; b < got; b++)
            cr_assert_eq(tok[b * 3], d->tokens[(first + b) * 3]);
        first += got;
        total += got;
    }
    cr_assert_eq(total, 10);
    /* Capped at 3: windows 0, 3, 6 (spread over the view, not the first 3). */
    cr_assert_eq(data_text_eval_count(&v, 3, 3), 3);
    cr_assert_eq(data_text_eval_batch(&v, 3, 3, 0, 4, tok, tgt), 3);
    cr_assert_eq(tok[0], d->tokens[0]);
    cr_assert_eq(tok[3], d->tokens[9]);
    cr_assert_eq(tok[6], d->tokens[18]);
    for (int j = 0; j < 9; j++)
        cr_assert_eq(tgt[j], tok[j] + 1); /* lowercase ids follow positions */
    cr_assert_eq(data_text_eval_batch(&v, 3, 3, 3, 4, tok, tgt), 0);
    data_view_free(&v);
    data_free(d);
}

/* ---- synthetic sets ---- */

Test(data_synth, spirals_shape_balance_and_reproducibility)
{
    rng r1, r2, r3;
    rng_seed(&r1, 42, 1);
    rng_seed(&r2, 42, 1);
    rng_seed(&r3, 43, 1);
    dataset *a, *b, *c, *z;
    tl_err e = {0};
    cr_assert_eq(data_make_spirals(301, 3, 0.05, &r1, &a, &e), 0, "%s", e.msg);
    cr_assert_eq(data_make_spirals(301, 3, 0.05, &r2, &b, &e), 0);
    cr_assert_eq(data_make_spirals(301, 3, 0.05, &r3, &c, &e), 0);
    cr_assert_eq(a->n, 301);
    cr_assert_eq(a->dim, 2);
    cr_assert_eq(a->nclass, 3);
    long cnt[3] = {0};
    for (long i = 0; i < a->n; i++)
        cnt[a->y[i]]++;
    cr_assert(cnt[0] == 101 && cnt[1] == 100 && cnt[2] == 100);
    cr_assert_eq(memcmp(a->x, b->x, 301 * 2 * sizeof(float)), 0);
    cr_assert_neq(memcmp(a->x, c->x, 301 * 2 * sizeof(float)), 0);
    cr_assert_eq(data_make_spirals(300, 3, 0.0, &r1, &z, &e), 0);
    for (long i = 0; i < z->n; i++) {
        double rad = hypot(z->x[2 * i], z->x[2 * i + 1]);
        cr_assert(rad <= 1.0 + 1e-6, "radius %g", rad);
    }
    /* The arm's last point is at radius 1, angles 2*pi*k/3 apart. */
    cr_assert_float_eq(z->x[2 * 99 + 1], 1.0f, 1e-5);
    cr_assert_float_eq(z->x[2 * 199], (float)sin(2 * M_PI / 3), 1e-5);
    data_free(a), data_free(b), data_free(c), data_free(z);
    cr_assert_eq(data_make_spirals(2, 3, 0.1, &r1, &z, &e), TL_EINPUT);
    cr_assert_eq(data_make_spirals(10, 1, 0.1, &r1, &z, &e), TL_EINPUT);
    cr_assert_eq(data_make_spirals(10, 2, -1, &r1, &z, &e), TL_EINPUT);
    cr_assert_null(z);
}

Test(data_synth, blobs_have_the_requested_spread)
{
    rng r;
    rng_seed(&r, 3, 0);
    dataset *d;
    tl_err e = {0};
    enum { N = 3000, K = 3, D = 4 };
    cr_assert_eq(data_make_blobs(N, K, D, 0.1, &r, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->n, N);
    cr_assert_eq(d->dim, D);
    for (int k = 0; k < K; k++) {
        for (int j = 0; j < D; j++) {
            double s = 0, s2 = 0;
            for (long i = k * 1000; i < (k + 1) * 1000; i++) {
                cr_assert_eq(d->y[i], k);
                s += d->x[i * D + j];
                s2 += (double)d->x[i * D + j] * d->x[i * D + j];
            }
            double mean = s / 1000, sd = sqrt(s2 / 1000 - mean * mean);
            cr_assert(mean > -1.05 && mean < 1.05, "class %d coord %d mean %g", k, j, mean);
            cr_assert(sd > 0.09 && sd < 0.11, "class %d coord %d sd %g", k, j, sd);
        }
    }
    rng_seed(&r, 3, 0);
    dataset *d2;
    cr_assert_eq(data_make_blobs(N, K, D, 0.1, &r, &d2, &e), 0);
    cr_assert_eq(memcmp(d->x, d2->x, (size_t)N * D * sizeof(float)), 0);
    data_free(d);
    data_free(d2);
    cr_assert_eq(data_make_blobs(N, K, 0, 0.1, &r, &d, &e), TL_EINPUT);
    cr_assert_eq(data_make_blobs(N, K, 2, NAN, &r, &d, &e), TL_EINPUT);
}

/* ---- splits and views ---- */

static dataset *numbered(long n, int dim)
{
    dataset *d;
    tl_err e = {0};
    cr_assert_eq(data_new_classif(n, dim, 7, &d, &e), 0, "%s", e.msg);
    for (long i = 0; i < n; i++) {
        for (int j = 0; j < dim; j++)
            d->x[i * dim + j] = (float)(i * 10 + j);
        d->y[i] = (int)(i % 7);
    }
    return d;
}

Test(data_split, sizes_disjoint_and_seeded)
{
    dataset *d = numbered(1000, 2);
    data_view tr, va, tr2, va2, tr3, va3;
    tl_err e = {0};
    cr_assert_eq(data_split(d, 0.2, 11, &tr, &va, &e), 0, "%s", e.msg);
    cr_assert_eq(tr.n, 800);
    cr_assert_eq(va.n, 200);
    char seen[1000] = {0};
    for (long i = 0; i < tr.n; i++)
        seen[tr.idx[i]]++;
    for (long i = 0; i < va.n; i++)
        seen[va.idx[i]]++;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(seen[i], 1, "row %d appears %d times", i, seen[i]);
    cr_assert_eq(data_split(d, 0.2, 11, &tr2, &va2, &e), 0);
    cr_assert_eq(memcmp(tr.idx, tr2.idx, 800 * sizeof(long)), 0);
    cr_assert_eq(memcmp(va.idx, va2.idx, 200 * sizeof(long)), 0);
    cr_assert_eq(data_split(d, 0.2, 12, &tr3, &va3, &e), 0);
    cr_assert_neq(memcmp(va.idx, va3.idx, 200 * sizeof(long)), 0);
    /* limit keeps the (shuffled) prefix: a random subset */
    data_view_limit(&tr, 100);
    cr_assert_eq(tr.n, 100);
    cr_assert_eq(memcmp(tr.idx, tr2.idx, 100 * sizeof(long)), 0);
    long maxidx = 0;
    for (long i = 0; i < 100; i++)
        maxidx = tr.idx[i] > maxidx ? tr.idx[i] : maxidx;
    cr_assert_gt(maxidx, 500, "first 100 of a shuffled view should reach past row 500");
    data_view_limit(&tr, 0);
    cr_assert_eq(tr.n, 100);
    data_view_free(&tr), data_view_free(&va), data_view_free(&tr2), data_view_free(&va2);
    data_view_free(&tr3), data_view_free(&va3);
    data_view_free(NULL);
    data_free(d);
    data_free(NULL);
}

Test(data_split, empty_side_or_bad_fraction_is_an_error)
{
    dataset *d = numbered(3, 1);
    data_view tr, va;
    tl_err e = {0};
    cr_assert_eq(data_split(d, 0.1, 1, &tr, &va, &e), TL_EINPUT);
    cr_assert_not_null(strstr(e.msg, "0 for validation"), "%s", e.msg);
    cr_assert_null(tr.idx);
    cr_assert_eq(data_split(d, 0.9, 1, &tr, &va, &e), TL_EINPUT);
    cr_assert_eq(data_split(d, 0.0, 1, &tr, &va, &e), TL_EINPUT);
    cr_assert_eq(data_split(d, 1.0, 1, &tr, &va, &e), TL_EINPUT);
    cr_assert_eq(data_split(d, NAN, 1, &tr, &va, &e), TL_EINPUT);
    cr_assert_eq(data_split(d, 0.5, 1, &tr, &va, &e), 0); /* 2 / 1 */
    cr_assert_eq(tr.n + va.n, 3);
    data_view_free(&tr), data_view_free(&va);
    data_free(d);
}

/* ---- loader ---- */

Test(data_loader, every_sample_once_per_epoch_and_reshuffled)
{
    dataset *d = numbered(103, 3);
    data_view tr, va;
    tl_err e = {0};
    cr_assert_eq(data_split(d, 0.2, 5, &tr, &va, &e), 0); /* 82 / 21 */
    data_loader *l = data_loader_new(&tr, 10, 0, &e);
    cr_assert_not_null(l, "%s", e.msg);
    cr_assert_eq(data_loader_samples(l), 82);
    float x[10 * 3];
    int y[10];
    rng r;
    rng_seed(&r, 9, 0);
    long first_order[2][82];
    for (int epoch = 0; epoch < 2; epoch++) {
        data_loader_reset(l, &r);
        char seen[103] = {0};
        long pos = 0;
        int b, nb = 0;
        while ((b = data_loader_next(l, x, y, 10)) > 0) {
            cr_assert(b == 10 || (nb == 8 && b == 2), "batch %d has %d", nb, b);
            for (int i = 0; i < b; i++) {
                long row = lround(x[i * 3] / 10);
                cr_assert_eq(x[i * 3 + 2], (float)(row * 10 + 2));
                cr_assert_eq(y[i], row % 7);
                seen[row]++;
                first_order[epoch][pos++] = row;
            }
            nb++;
        }
        cr_assert_eq(nb, 9);
        cr_assert_eq(pos, 82);
        for (long i = 0; i < tr.n; i++)
            cr_assert_eq(seen[tr.idx[i]], 1, "row %ld seen %d times", tr.idx[i], seen[tr.idx[i]]);
        for (long i = 0; i < va.n; i++)
            cr_assert_eq(seen[va.idx[i]], 0, "validation row %ld leaked", va.idx[i]);
    }
    cr_assert_neq(memcmp(first_order[0], first_order[1], sizeof first_order[0]), 0, "epochs not reshuffled");
    /* max_b below the batch size caps each call. */
    data_loader_reset(l, NULL);
    cr_assert_eq(data_loader_next(l, x, y, 4), 4);
    data_loader_free(l);
    data_loader_free(NULL);

    l = data_loader_new(&tr, 10, 1, &e);
    cr_assert_eq(data_loader_samples(l), 80);
    long total = 0;
    int b;
    while ((b = data_loader_next(l, x, NULL, 10)) > 0) {
        cr_assert_eq(b, 10);
        total += b;
    }
    cr_assert_eq(total, 80);
    data_loader_free(l);
    data_view_free(&tr), data_view_free(&va);
    data_free(d);
}

Test(data_loader, same_seed_same_order_and_shared_dataset_across_threads)
{
    dataset *d = numbered(500, 4);
    data_view v;
    tl_err e = {0};
    cr_assert_eq(data_view_all(d, &v, &e), 0);
    double sums[2] = {0, 0};
    #pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; t++) {
        data_loader *l = data_loader_new(&v, 32, 0, NULL);
        rng r;
        rng_seed(&r, 77, 0);
        float x[32 * 4];
        double s = 0, w = 1;
        for (int epoch = 0; epoch < 3; epoch++) {
            data_loader_reset(l, &r);
            int b;
            while ((b = data_loader_next(l, x, NULL, 32)) > 0)
                for (int i = 0; i < b; i++, w += 1e-3)
                    s += w * x[i * 4]; /* order-sensitive checksum */
        }
        sums[t] = s;
        data_loader_free(l);
    }
    cr_assert_eq(sums[0], sums[1]);
    cr_assert_gt(sums[0], 0);
    data_view_free(&v);
    data_free(d);
}

Test(data_loader, text_view_and_bad_batch_are_errors)
{
    dataset *t = alpha_text("abcdef");
    data_view v;
    tl_err e = {0};
    cr_assert_eq(data_view_all(t, &v, &e), 0);
    cr_assert_null(data_loader_new(&v, 4, 0, &e));
    cr_assert_eq(e.code, TL_EINPUT);
    cr_assert_not_null(strstr(e.msg, "alpha"), "%s", e.msg);
    data_view_free(&v);
    data_free(t);
    dataset *d = numbered(5, 1);
    cr_assert_eq(data_view_all(d, &v, &e), 0);
    cr_assert_null(data_loader_new(&v, 0, 0, &e));
    cr_assert_eq(e.code, TL_EINPUT);
    data_view_free(&v);
    data_free(d);
}

Test(data_text, unigram_entropy_of_a_known_text)
{
    /* "aabb": two symbols, each with probability 1/2: ln 2 nats */
    dataset *d = NULL;
    tl_err err = {0};
    cr_assert_eq(data_text_from_bytes("aabb", 4, NULL, &d, &err), 0);
    data_view v;
    cr_assert_eq(data_view_all(d, &v, &err), 0);
    cr_assert_float_eq(data_text_unigram_entropy(&v), log(2.0), 1e-12);
    data_view_free(&v);
    data_free(d);
    cr_assert_eq(data_text_from_bytes("aaab", 4, NULL, &d, &err), 0);
    cr_assert_eq(data_view_all(d, &v, &err), 0);
    cr_assert_float_eq(data_text_unigram_entropy(&v), -(0.75 * log(0.75) + 0.25 * log(0.25)), 1e-12);
    data_view_free(&v);
    data_free(d);
}
