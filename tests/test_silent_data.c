/* tests/test_silent_data.c: what fuzzing found in the loaders stays fixed:
 * an image of 0 x 0 pixels (a 76-byte BMP that stb_image reads) is an
 * error naming the file, not an empty dataset (whose resize was undefined
 * behaviour); a 63-byte BMP declaring 16384 x 16384 pixels (stb_image read
 * it as black after gigabytes of allocation) and a PNG whose chunk declares
 * 1 GB (stb_image allocated it before reading) or whose first IDAT is empty
 * (stb_image offset a NULL pointer), and a JPEG Huffman table of more than
 * 256 codes (stb_image 2.27 wrote past its table) are errors naming the
 * file;
 * an IDX labels file whose header claims 10^8 labels fails as truncated. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

/* Makes dir/a/x.bmp and dir/b/x.bmp from a fuzz/fuzz_images corpus file
 * (whose first byte is the harness's, not the file's). */
static void two_class_folder(char *dir, size_t dn, const char *src)
{
    snprintf(dir, dn, "/tmp/tl-silentiXXXXXX");
    cr_assert(mkdtemp(dir));
    FILE *in = fopen(src, "rb");
    cr_assert(in, "run from the repository root: %s", src);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    const char *cls[2] = {"a", "b"};
    char path[160];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, cls[k]);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/%s/x.bmp", dir, cls[k]);
        FILE *f = fopen(path, "wb");
        cr_assert(f);
        fwrite(buf + 1, 1, n - 1, f);
        fclose(f);
    }
}

static void remove_folder(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)!system(cmd);
}

Test(silent_data, an_image_without_pixels_is_an_error)
{
    char dir[64];
    two_class_folder(dir, sizeof dir, "fuzz/corpus/images/empty_bmp.bin");
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(dir, 1, 0, 0, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "x.bmp: image is 0x0: no pixels"), "%s", e.msg);
    cr_assert_eq(data_load_images_resized(dir, 3, 4, 3, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "no pixels"), "%s", e.msg);
    remove_folder(dir);
}

Test(silent_data, a_short_bmp_declaring_a_huge_image_is_an_error)
{
    char dir[64];
    two_class_folder(dir, sizeof dir, "fuzz/corpus/images/short_bmp.bin");
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(dir, 1, 0, 0, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "x.bmp: truncated: 62 bytes, too short for the 16384x16384 pixels"), "%s", e.msg);
    cr_assert_null(d);
    cr_assert_eq(data_load_images_resized(dir, 3, 4, 3, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    remove_folder(dir);
}

/* Damaged image files from the fuzz corpus, each as x.bmp in a two-class
 * folder: loading fails with TL_EINPUT and the message names the file and
 * what is wrong; the intact file still loads. */
Test(silent_data, a_png_chunk_longer_than_the_file_is_an_error)
{
    static const struct {
        const char *file;
        int channels;
        const char *msg;
    } bad[] = {
        {"huge_chunk_png.bin", 1,
         "x.bmp: truncated or corrupt PNG: chunk \"IDAT\" at byte 33 declares 1073741823 bytes"},
        {"empty_idat_png.bin", 3, "x.bmp: corrupt PNG: empty IDAT chunk at byte 64 before any image data"},
        /* a chunk header cut short: 11 bytes left for a chunk declaring 1.7 GB */
        {"png_cut_chunk_header.bin", 1,
         "truncated or corrupt PNG: chunk \"IDAT\" at byte 33 declares 1728512019 bytes, 0 remain"},
        /* a BMP header's bits per pixel is any 16-bit number (was a signed
         * overflow in the length check, found by fuzz/fuzz_images) */
        {"bmp_huge_bpp.bin", 1, "x.bmp: "},
        /* stb_image 2.27 wrote past its Huffman size table for a DHT of
         * more than 256 codes (UBSan, found by fuzz/fuzz_images) */
        {"jpeg_dht_over_256.bin", 3,
         "x.bmp: corrupt JPEG: a Huffman table at byte 304 declares 657 codes (at most 256)"},
        /* a 25-byte BMP whose OS/2 header is cut short: stb_image read
         * zeros for 768 x 16393 pixels (10 s under the fuzzer) */
        {"bmp_cut_os2_header.bin", 1, "x.bmp: truncated: 25 bytes, too short for the"},
        /* 0xff fill before SOI, as stb_image reads a marker (found next) */
        {"jpeg_fill_then_dht.bin", 3, "corrupt JPEG: a Huffman table at byte 7 declares"},
    };
    char dir[64], path[128];
    dataset *d = NULL;
    tl_err e = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "fuzz/corpus/images/%s", bad[i].file);
        two_class_folder(dir, sizeof dir, path);
        cr_assert_eq(data_load_images(dir, bad[i].channels, 0, 0, &d, &e), TL_EINPUT, "%s: %s", bad[i].file, e.msg);
        cr_assert(strstr(e.msg, bad[i].msg), "%s: %s", bad[i].file, e.msg);
        remove_folder(dir);
    }
    two_class_folder(dir, sizeof dir, "fuzz/corpus/images/gray.bin");
    cr_assert_eq(data_load_images(dir, 1, 0, 0, &d, &e), 0, "%s", e.msg);
    cr_assert_eq(d->n, 2);
    cr_assert_eq(d->width * d->height, 6);
    data_free(d);
    remove_folder(dir);
}

Test(silent_data, an_idx_header_claiming_1e8_labels_fails_as_truncated)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/tl-silentiXXXXXX");
    cr_assert(mkdtemp(dir));
    char lab[128], img[128];
    snprintf(lab, sizeof lab, "%s/l", dir);
    snprintf(img, sizeof img, "%s/i", dir);
    const unsigned char lhdr[] = {0, 0, 8, 1, 0x05, 0xf5, 0xe1, 0x00, 1, 2, 3}; /* 10^8 labels, 3 present */
    const unsigned char ihdr[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7};
    FILE *f = fopen(lab, "wb");
    cr_assert(f);
    fwrite(lhdr, 1, sizeof lhdr, f);
    fclose(f);
    f = fopen(img, "wb");
    cr_assert(f);
    fwrite(ihdr, 1, sizeof ihdr, f);
    fclose(f);
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_idx(img, lab, 10, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "/l: truncated: 3 of 100000000 labels present"), "%s", e.msg);
    /* a label out of range is still named by its index */
    const unsigned char bad[] = {0, 0, 8, 1, 0, 0, 0, 1, 12};
    f = fopen(lab, "wb");
    fwrite(bad, 1, sizeof bad, f);
    fclose(f);
    cr_assert_eq(data_load_idx(img, lab, 10, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "label 12 at index 0 out of range [0, 10)"), "%s", e.msg);
    remove_folder(dir);
}
