/* fuzz/fuzz_text.c: the text loader (data/text.c): a file read whole into a
 * character vocabulary, then encoded, windowed and decoded. */
#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[128];
    fuzz_write("text.txt", data, size, p, sizeof p);
    dataset *d = NULL;
    tl_err err = {0};
    if (data_load_text(p, &d, &err) != 0)
        return 0;
    data_view v;
    if (data_view_all(d, &v, &err) == 0) {
        double h = data_text_unigram_entropy(&v);
        (void)h;
        int tok[9], tgt[9];
        if (data_text_check(&v, 8, &err) == 0 && data_text_windows(&v, 8) > 0)
            data_text_window(&v, 0, 8, tok, tgt);
        data_view_free(&v);
    }
    int ids[64];
    size_t n = size < 64 ? size : 64;
    if (data_text_encode(d, (const char *)data, n, ids, &err) == 0) {
        char out[64 * 4 + 1];
        data_text_decode(d, ids, n, out);
    }
    data_free(d);
    return 0;
}
