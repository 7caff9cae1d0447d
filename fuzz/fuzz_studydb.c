/* fuzz/fuzz_studydb.c: opening a study database (hpo/storage.c read-only
 * through report_study_load, which reads the whole study back): the input
 * is the database file. */
#include "fuzz/fuzz_util.h"
#include "report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[128];
    fuzz_write("study.db", data, size, p, sizeof p);
    report_study *rs = NULL;
    tl_err err = {0};
    if (report_study_load(&rs, p, NULL, &err) == 0)
        report_study_free(rs);
    char side[160];
    snprintf(side, sizeof side, "%s-wal", p);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", p);
    unlink(side);
    return 0;
}
