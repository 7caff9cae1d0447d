/* tests/test_silent_data.c: what fuzzing found in the loaders stays fixed:
 * an image of 0 x 0 pixels (a 76-byte BMP that stb_image reads) is an
 * error naming the file, not an empty dataset (whose resize was undefined
 * behaviour). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"

Test(silent_data, an_image_without_pixels_is_an_error)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/tl-silentiXXXXXX");
    cr_assert(mkdtemp(dir));
    char src[] = "fuzz/corpus/images/empty_bmp.bin", path[160];
    FILE *in = fopen(src, "rb");
    cr_assert(in, "run from the repository root: %s", src);
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    const char *cls[2] = {"a", "b"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, cls[k]);
        cr_assert_eq(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/%s/x.bmp", dir, cls[k]);
        FILE *f = fopen(path, "wb");
        cr_assert(f);
        fwrite(buf + 1, 1, n - 1, f); /* the harness's first byte is not the file's */
        fclose(f);
    }
    dataset *d = NULL;
    tl_err e = {0};
    cr_assert_eq(data_load_images(dir, 1, 0, 0, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "x.bmp: image is 0x0: no pixels"), "%s", e.msg);
    cr_assert_eq(data_load_images_resized(dir, 3, 4, 3, &d, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "no pixels"), "%s", e.msg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)!system(cmd);
}
