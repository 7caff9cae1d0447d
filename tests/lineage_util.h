/* tests/lineage_util.h: the PBT lineages of a study read back with plain
 * SQL and pbt_lineage_parse, independently of the storage module, for the
 * tests that check them against what else the database holds
 * (header-only). */
#ifndef TL_TESTS_LINEAGE_UTIL_H
#define TL_TESTS_LINEAGE_UTIL_H

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <string.h>

#include "hpo/pbt.h"

/* Parses every trial's pbt.lineage attribute in db over space sp into
 * L[trial number]; L has room for n members, all emptied first (the caller
 * pbt_lineage_frees them).  Returns how many lineages were read.  A number
 * out of range, a query or a parse that fails, fails the test. */
static inline int lu_load_lineages(sqlite3 *db, const space *sp, pbt_lineage *L, int n)
{
    memset(L, 0, (size_t)n * sizeof *L);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT t.number, a.value FROM trial_attrs a JOIN trials t ON "
                                    "t.id = a.trial_id WHERE a.key = 'pbt.lineage'",
                                    -1, &st, NULL),
                 SQLITE_OK);
    int got = 0;
    tl_err err = { 0 };
    while (sqlite3_step(st) == SQLITE_ROW) {
        int m = sqlite3_column_int(st, 0);
        cr_assert(m >= 0 && m < n, "trial %d is not a member (0 to %d)", m, n - 1);
        cr_assert_eq(pbt_lineage_parse(sp, (const char *)sqlite3_column_text(st, 1), &L[m], &err),
                     0, "%s", err.msg);
        got++;
    }
    sqlite3_finalize(st);
    return got;
}

#endif
