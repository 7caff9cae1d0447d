/* report/report_importance.h: parameter importance of a study read back
 * (fANOVA, hpo/importance.h), as text for `tunelab importance` and as a
 * report section with a bar chart (report/report_importance.c). */
#ifndef TL_REPORT_IMPORTANCE_H
#define TL_REPORT_IMPORTANCE_H

#include "hpo/importance.h"
#include "report/report.h"

/* fANOVA importance of rs's parameters over its complete trials (o: NULL
 * for the defaults).  Returns 0 with *res filled, or importance_trials'
 * error prefixed with "PATH: study 'NAME'" (TL_EINPUT for fewer than two
 * usable trials). */
int report_importance_compute(const report_study *rs, const importance_opts *o,
                              importance_result *res, tl_err *err);

/* `tunelab importance`: REPORT_TABLE (a ranked table with bars, for
 * people) or REPORT_JSON (one object: study, trials, seeds, trees and a
 * "params" array of {name, importance, sd, min, max}, most important
 * first).  *out as report_show (malloc'd, caller frees).  Returns 0, or
 * report_importance_compute's error, TL_EINPUT for another format,
 * TL_ERUNTIME for memory. */
int report_importance(const report_study *rs, int format, char **out, tl_err *err);

/* The report section: a bar chart of the importances with their spread
 * over forest seeds, and a table; for studies with two or more complete
 * trials. */
extern const report_section report_section_importance;

#endif
