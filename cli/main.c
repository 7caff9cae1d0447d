/* cli/main.c: `tunelab <command> [options]`: dispatch, --help, --version,
 * and the choice of OpenBLAS kernels. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/term.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train one model from a config"},
    {"run", cmd_run, "run (or resume) a tuning study from a config"},
    {"show", cmd_show, "list the trials of a study database"},
    {"best", cmd_best, "print the best trial of a study database"},
    {"export", cmd_export, "export a study's trials as CSV or JSON"},
    {"report", cmd_report, "write gnuplot figures and an HTML page for a study"},
    {"schedule", cmd_schedule, "print (and plot) the learning-rate schedule of a config"},
    {"lr-find", cmd_lr_find, "learning-rate range test"},
    {"pbt-replay", cmd_pbt_replay, "retrain from scratch with the schedule of a PBT study's best member"},
};
#define NCOMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: tunelab <command> [options]\n\n"
               "tunelab trains small networks (MLP, GPT) and tunes them in the same process.\n\n"
               "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\noptions:\n  -h, --help     this help; `tunelab <command> --help` for a command's options\n"
               "  --version      print the version\n");
}

/* Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognize some recent
 * Xeons (Sapphire Rapids among them) and falls back to its generic
 * "Prescott" SSE3 kernels, which run sgemm 6-7x slower (25 against 180
 * GFLOP/s on one core here).  OpenBLAS reads OPENBLAS_CORETYPE only when it
 * is loaded, so when the user has not set it and the fallback was taken on
 * a processor with AVX-512 (or AVX2+FMA), we set the matching kernel family
 * and re-execute ourselves once.  TUNELAB_KEEP_BLAS_CORE=1 disables this. */
static void select_blas_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("TUNELAB_KEEP_BLAS_CORE"))
        return;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott"))
        return;
    const char *want = NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (!want)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("TUNELAB_KEEP_BLAS_CORE", "1", 1); /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the generic kernels */
}

int main(int argc, char **argv)
{
    select_blas_kernels(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tunelab %s\n", TUNELAB_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name))
            return COMMANDS[i].fn(argc - 1, argv + 1);
    term_errorf(2, "unknown command '%s'", argv[1]);
    usage(stderr);
    return 2;
}
