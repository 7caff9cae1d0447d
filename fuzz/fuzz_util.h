/* fuzz/fuzz_util.h: what the harnesses share (header-only): the input as a
 * file the loaders can open.  Each harness defines LLVMFuzzerTestOneInput;
 * `make fuzz` links it with libFuzzer (clang), `make test` with
 * fuzz/replay_main.c (gcc), which runs every corpus file through it. */
#ifndef TL_FUZZ_UTIL_H
#define TL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_path[64];

static inline int fuzz_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static inline void fuzz_dir_remove(void)
{
    nftw(fuzz_dir_path, fuzz_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* A private scratch folder for this process, made once ("/dev/shm" when it
 * exists: no disk writes per execution), removed at exit. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/tl-fuzzXXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(fuzz_dir_path))
            abort();
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes n bytes to dir/name (replacing it) and returns its path in a static
 * buffer of the harness's own (one per name is enough: one call a run). */
static inline const char *fuzz_write(const char *name, const void *p, size_t n, char *path, size_t pn)
{
    snprintf(path, pn, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
    return path;
}
#endif
