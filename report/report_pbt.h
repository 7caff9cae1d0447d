/* report/report_pbt.h: what the two files of the population-based-training
 * section share: report/report_pbt.c builds the view of the study's
 * lineages and writes the text and tables, report/report_pbt_figures.c
 * draws the figures from the view.  Other modules use the section through
 * report_section_pbt (report/report.h) only.
 */
#ifndef TL_REPORT_REPORT_PBT_H
#define TL_REPORT_REPORT_PBT_H

#include <stddef.h>

#include "hpo/pbt.h"
#include "hpo/space.h"
#include "report/report.h"
#include "util/err.h"

/* The study's parsed lineages, by trial number (pbt_schedule's indexing). */
typedef struct report_pbt_view {
    int nnum;          /* max trial number + 1 */
    pbt_lineage *L;    /* (nnum) lineage of trial number k (empty when none) */
    int *at;           /* (nnum) index of trial number k in rs->trials, -1 when none */
    int *members;      /* (nmembers) trial numbers with a lineage, ascending */
    int *lane;         /* (nnum) a member's lane (its rank in members), -1 otherwise */
    int *end;          /* (nnum) a member's last position (epochs) */
    int *npts;         /* (nnum) scratch: points a figure has for each lane */
    int nmembers;
    int nexploits;
    int max_end;
    int live[SPACE_MAX_PARAMS];
    int best;          /* trial number of the best complete member, -1 when none */
    pbt_segment *seg;  /* (nseg) the best member's schedule; NULL when none */
    int nseg;
} report_pbt_view;

/* A plain file name for parameter i's figure ("pbt_param_<name>.png",
 * characters outside [A-Za-z0-9._-] as '_') into buf.  Cannot fail. */
void report_pbt_param_png(const space *sp, int i, char *buf, size_t n);

/* Writes parameter i's figure to png in o: its value in force per member
 * against epochs, the best member's schedule dashed.  *drawn receives the
 * number of members drawn (0: no figure written).  Uses v->npts as scratch.
 * Returns 0 or a tl_code (memory, gnuplot) with err filled. */
int report_pbt_param_figure(const report_study *rs, const report_pbt_view *v, int i,
                            const char *png, report_out *o, int *drawn, tl_err *err);

/* Writes pbt_lineage.png in o: one lane per member, exploits as arrows,
 * the best member's history thick.  Returns 0 or a tl_code. */
int report_pbt_lineage_figure(const report_study *rs, const report_pbt_view *v, report_out *o,
                              tl_err *err);

/* Writes pbt_metric.png in o: every member's intermediate values against
 * epochs; *drawn receives the number of members drawn (0: no figure
 * written).  Returns 0 or a tl_code. */
int report_pbt_metric_figure(const report_study *rs, const report_pbt_view *v, report_out *o,
                             int *drawn, tl_err *err);

#endif
