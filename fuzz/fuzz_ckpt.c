/* fuzz/fuzz_ckpt.c: the checkpoint reader (nn/ckpt.c).  The input is the
 * payload; the harness writes the header around it with the right magic,
 * version, byte order, size and crc32, so the fuzzer gets past the
 * checksum into the tensor table, the trainer scalars, the history and
 * the blob.  A first byte of 0xff hands the rest over raw (header
 * included).  A file that reads is loaded into a tiny MLP trainer, and its
 * blob parsed as a config; the same bytes go through the in-memory reader
 * (ckpt_peek_mem, ckpt_load_mem), which must accept exactly what the file
 * reader accepts. */
#include <zlib.h>

#include "fuzz/fuzz_util.h"
#include "nn/ckpt.h"
#include "nn/mlp.h"
#include "tune/config.h"

static trainer *tiny_trainer(void)
{
    static trainer t;
    static int ready;
    if (ready)
        return &t;
    mlp_config c;
    memset(&c, 0, sizeof c);
    c.in_dim = 2;
    c.nhidden = 1;
    c.hidden[0] = 3;
    c.out_dim = 2;
    c.act = NN_RELU;
    rng r;
    rng_seed(&r, 1, 5);
    nn_model *m = NULL;
    train_config tc;
    train_config_default(&tc);
    tc.batch_size = 8;
    tl_err e = {0};
    if (mlp_create(&c, 8, &r, &m, &e) || trainer_init(&t, m, &tc, &e)) {
        fprintf(stderr, "fuzz_ckpt: tiny trainer: %s\n", e.msg);
        abort();
    }
    ready = 1;
    return &t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file = malloc(size + 32);
    if (!file)
        return 0;
    size_t n;
    if (size > 0 && data[0] == 0xff) {
        n = size - 1;
        memcpy(file, data + 1, n);
    } else {
        uint32_t ver = CKPT_VERSION, bom = 0x01020304, hsize = 32;
        uint64_t psize = size;
        uint32_t crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), data, size);
        memcpy(file, "TLCKPT\r\n", 8);
        memcpy(file + 8, &ver, 4);
        memcpy(file + 12, &bom, 4);
        memcpy(file + 16, &psize, 8);
        memcpy(file + 24, &crc, 4);
        memcpy(file + 28, &hsize, 4);
        memcpy(file + 32, data, size);
        n = size + 32;
    }
    char p[128];
    fuzz_write("x.ckpt", file, n, p, sizeof p);
    ckpt_info in;
    void *blob = NULL;
    size_t len = 0;
    tl_err err = {0};
    /* the in-memory reader (states sent between MPI ranks) takes the same
     * bytes as the file reader, and agrees with it */
    int mem_ok = ckpt_peek_mem(file, n, NULL, NULL, NULL, &err) == 0;
    if (mem_ok && ckpt_load_mem(tiny_trainer(), file, n, &blob, &len, &err) == 0)
        free(blob);
    blob = NULL;
    free(file);
    int file_ok = ckpt_peek(p, &in, &blob, &len, &err) == 0;
    if (file_ok != mem_ok) {
        fprintf(stderr, "fuzz_ckpt: file and in-memory readers disagree (%d vs %d)\n", file_ok, mem_ok);
        abort();
    }
    if (file_ok) {
        config *c = malloc(sizeof *c);
        if (c && len) {
            config_defaults(c);
            config_load_text(c, blob, strnlen(blob, len), "blob", &err);
        }
        free(c);
        free(blob);
        blob = NULL;
        if (ckpt_load(tiny_trainer(), p, &blob, &len, &err) == 0)
            free(blob);
    }
    return 0;
}
