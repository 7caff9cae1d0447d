/* report/report_compare.h: the numbers and pages of `tunelab compare`:
 * methods (sampler + scheduler pairs) run at equal budget over several
 * seeds, compared on one axis.
 *
 * Input: for each method x seed, its anytime curve (after each report:
 * cumulative epochs, wall seconds, trials started, and the best value so
 * far) and its final pick (the trial whose last value is best, and that
 * trial's own recorded test accuracy).  Statistics (report_compare_stats.c):
 * the best value so far at 25, 50 and 100 % of the budget with median,
 * interquartile range (linear interpolation between order statistics, as
 * numpy's default) and mean rank over seeds (rank 1 = best within a seed,
 * ties share the mean rank); the pairwise win rate at 100 % (the share of
 * seed pairs (i, j) where A's value beats B's, ties half: Mann-Whitney
 * U / (nA nB)) with the two-sided exact Mann-Whitney p-value (a difference
 * with p >= 0.05 is "within seed noise").  Pages (report_compare.c): two
 * gnuplot PNGs (median and IQR band of the best value so far against
 * cumulative epochs and against wall seconds, one curve per method), an
 * HTML page, a text table and a JSON object with every number.
 *
 * Does not: run anything, read studies (tune/compare.c does and fills
 * cmp_input), or print.
 */
#ifndef TL_REPORT_REPORT_COMPARE_H
#define TL_REPORT_REPORT_COMPARE_H

#include <stddef.h>

#include "util/err.h"

enum cmp_unit { CMP_EPOCHS, CMP_SECONDS, CMP_TRIALS, CMP_UNIT_COUNT };
const char *cmp_unit_str(int unit);
/* The unit called name, or -1.  Cannot fail. */
int cmp_unit_parse(const char *name);

#define CMP_NCHECK 3 /* checkpoints: 25, 50, 100 % of the budget */
extern const double CMP_CHECKS[CMP_NCHECK];

/* One method x seed. */
typedef struct cmp_run {
    int npts;
    double *epochs;      /* (npts) cumulative epochs (reports) after each report */
    double *seconds;     /* (npts) cumulative wall seconds */
    double *trials;      /* (npts) trials started so far */
    double *best;        /* (npts) best value so far (NAN until a finite one) */
    int ntrials;         /* trials created */
    int pick;            /* the final pick's trial number, -1 when none */
    double pick_value;   /* its validation value */
    double pick_test;    /* its test_accuracy attribute (NAN: none) */
    int finished;        /* the run ended (1) or was left unfinished (0) */
} cmp_run;

typedef struct cmp_input {
    int maximize;
    int unit;            /* enum cmp_unit */
    double budget;
    char metric[64];
    char config[512];
    int nmethods, nseeds;
    char (*methods)[32]; /* (nmethods) */
    unsigned long long *seeds; /* (nseeds) study seeds */
    cmp_run *runs;       /* (nmethods * nseeds), runs[m * nseeds + k] */
} cmp_input;

/* Statistics. */
typedef struct cmp_cell {
    double median, q1, q3, mean_rank;
    int n;               /* seeds with a finite value */
} cmp_cell;

typedef struct cmp_stats {
    int nmethods, nseeds;
    double *at;          /* (CMP_NCHECK * nmethods * nseeds) best so far at checkpoint c */
    cmp_cell *check;     /* (CMP_NCHECK * nmethods) */
    cmp_cell *test;      /* (nmethods) the picks' test accuracy (mean_rank: by test accuracy, higher better) */
    double *win;         /* (nmethods * nmethods) win[a*n+b]: share of seed pairs a beats b at 100 % */
    double *p;           /* (nmethods * nmethods) two-sided exact Mann-Whitney p-value */
} cmp_stats;

/* The p-value below which report_compare calls a difference more than
 * seed noise. */
#define CMP_ALPHA 0.05

/* The q-quantile (0 <= q <= 1) of n sorted values by linear interpolation
 * between order statistics (numpy's default): NAN for n = 0.  Cannot fail. */
double cmp_quantile(const double *sorted, int n, double q);

/* Ranks x[0..n) (rank 1 = best: the largest when maximize, else the
 * smallest; ties get the mean of their ranks; NaN ranks last, tied among
 * NaNs) into rank.  Cannot fail. */
void cmp_ranks(const double *x, int n, int maximize, double *rank);

/* Mann-Whitney U of a (na) against b (nb), "a better" counted by
 * direction (pairs where a beats b, ties 1/2), and the two-sided exact
 * p-value: 2 min(P(U <= u), P(U >= u)) under the null with no ties,
 * capped at 1 (with ties this is an approximation, conservative enough
 * for a note).  NaNs are left out.  Returns 0, or TL_EINPUT when a side
 * has no finite value or the sizes exceed 60 each. */
int cmp_mann_whitney(const double *a, int na, const double *b, int nb, int maximize, double *u,
                     double *p, tl_err *err);

/* The best value of run r at budget position x of unit `unit` (the last
 * point with position <= x; NAN before the first), or its final best when
 * it ended before x.  Cannot fail. */
double cmp_best_at(const cmp_run *r, int unit, double x);

/* Fills st from in.  Returns 0 or TL_ERUNTIME (memory). */
int cmp_stats_compute(const cmp_input *in, cmp_stats *st, tl_err *err);
void cmp_stats_free(cmp_stats *st);

/* Everything as one JSON object (malloc'd text, caller frees), or NULL
 * when out of memory. */
char *report_compare_json(const cmp_input *in, const cmp_stats *st);

/* The text table for people (malloc'd, caller frees), or NULL. */
char *report_compare_table(const cmp_input *in, const cmp_stats *st);

/* Writes into folder dir: compare_epochs.png and compare_seconds.png
 * (gnuplot), compare.json and index.html.  Returns 0 or TL_ERUNTIME
 * (files, gnuplot; naming the file). */
int report_compare_write(const char *dir, const cmp_input *in, const cmp_stats *st, tl_err *err);

#endif
