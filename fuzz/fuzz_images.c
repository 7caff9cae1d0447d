/* fuzz/fuzz_images.c: the image-folder loader (data/images.c, stb_image):
 * the input is one image file, put in a folder of two classes (a/x.png and
 * b/y.png, the second a copy), loaded at any size, grayscale or RGB (first
 * byte's low bit), then resized. */
#include <sys/stat.h>

#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static char root[128];
    if (!root[0]) {
        snprintf(root, sizeof root, "%s/images", fuzz_dir());
        char sub[160];
        mkdir(root, 0755);
        snprintf(sub, sizeof sub, "%s/a", root);
        mkdir(sub, 0755);
        snprintf(sub, sizeof sub, "%s/b", root);
        mkdir(sub, 0755);
    }
    char p[160];
    fuzz_write("images/a/x.png", data + 1, size - 1, p, sizeof p);
    fuzz_write("images/b/y.png", data + 1, size - 1, p, sizeof p);
    int channels = data[0] & 1 ? 3 : 1;
    dataset *d = NULL;
    tl_err err = {0};
    if (data_load_images(root, channels, 0, 0, &d, &err) != 0)
        return 0;
    /* resizing is linear in the pixels: a tiny file can declare a huge
     * image (a decompression bomb; slow, not wrong), so only the sizes a
     * fuzzer input can mean are resized */
    long pixels = (long)d->width * d->height;
    data_free(d);
    d = NULL;
    if (pixels <= 1 << 16 && data_load_images_resized(root, channels, 4, 3, &d, &err) == 0)
        data_free(d);
    return 0;
}
