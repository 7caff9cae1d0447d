/* fuzz/fuzz_idx.c: the IDX reader (data/idx.c), plain or gzip.  The input's
 * first byte says where the split falls between the images file and the
 * labels file (its share of the rest, in 256ths). */
#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t rest = size - 1, cut = rest * data[0] / 256;
    char ip[128], lp[128];
    fuzz_write("images-idx3-ubyte", data + 1, cut, ip, sizeof ip);
    fuzz_write("labels-idx1-ubyte", data + 1 + cut, rest - cut, lp, sizeof lp);
    dataset *d = NULL;
    tl_err err = {0};
    if (data_load_idx(ip, lp, 10, &d, &err) == 0)
        data_free(d);
    return 0;
}
