/* tune/compare.h: `tunelab compare`: tuning methods (sampler + scheduler
 * pairs with short names) run on one config at equal budget over several
 * seeds, each method x seed its own study in one folder.
 *
 * Methods: random, sobol, grid, bayes, tpe, cmaes (sampler + fifo);
 * median (random + median pruning); sha, hyperband, asha (random + the
 * scheduler); bohb (bayes + hyperband); pbt (random + pbt); evolution
 * (evolution + fifo, architecture spaces only).  grid needs every
 * parameter discrete, or grid points given (COMPARE grid_points).
 *
 * Budget (enum cmp_unit, report/report_compare.h): epochs (intermediate
 * values reported, one per epoch trained: epochs of pruned, paused and
 * budget-cut trials count; hpo's study_config.max_reports), wall seconds
 * (max_seconds) or trials (study.trials).  A trial running when the
 * budget is used up is cut at that epoch (pruned, attribute budget_cut).
 * sha's bracket size n is the largest whose bracket fits the epoch budget.
 * Runs use one worker, so budgets are exact and runs reproducible.
 *
 * Folder DIR: compare.def (the resolved config as text, unit and budget;
 * a DIR made with another is refused), METHOD-sK.db (study METHOD-sK,
 * study seed = study.seed + K), METHOD-sK.log (one line per report:
 * cumulative epochs, wall seconds, trial, step, trials so far, value; cut
 * back at a resume to the reports the study kept), and the study attribute
 * compare_done = 1 once a run ended: a rerun skips finished runs and
 * resumes unfinished ones (the study resumes as `tunelab run` does).
 *
 * Does not: print (progress goes to a callback), or compute the
 * statistics (report/report_compare.h).
 */
#ifndef TL_TUNE_COMPARE_H
#define TL_TUNE_COMPARE_H

#include "hpo/study.h"
#include "report/report_compare.h"
#include "tune/config.h"

#define COMPARE_MAX_METHODS 16

typedef struct compare_opts {
    char methods[COMPARE_MAX_METHODS][32];
    int nmethods;
    int nseeds;          /* >= 1 */
    double budget;       /* > 0, in `unit` */
    int unit;            /* enum cmp_unit */
    char dir[512];
    int grid_points;     /* 0: none given */
} compare_opts;

/* Progress: a run starts (ev NULL; skipped 0: it runs, 1: finished before,
 * kept, 3: another compare sharing the folder is running it, this one goes
 * on and comes back to it after its other runs, 2: ... and is back, waiting
 * for its lock) or one of its study events. */
typedef void (*compare_progress_fn)(void *ud, const char *method, int seed_index, int skipped,
                                    const study_event *ev);

/* Parses a comma-separated method list into o->methods.  Returns 0 or
 * TL_EINPUT "--methods: unknown method 'x' (available: ...)", naming
 * duplicates and an empty list likewise. */
int compare_parse_methods(compare_opts *o, const char *list, tl_err *err);

/* The sampler and scheduler of a method name: 0, or -1 when unknown. */
int compare_method_algos(const char *name, const char **sampler, const char **scheduler);

/* Checks every method against base (resolved) and its space, and the
 * budget, before anything runs: TL_EINPUT "method 'x': ..." for a method
 * that cannot run on the space or whose smallest trial exceeds the
 * budget.  Returns 0 or TL_EINPUT. */
int compare_check(const config *base, const compare_opts *o, tl_err *err);

/* Runs (or resumes) every method x seed in o->dir and fills *in with their
 * curves and picks (free with compare_input_free).  Checks first
 * (compare_check, then the folder's definition: TL_EINPUT "DIR: made with
 * another config ..." naming the first difference).  Returns 0 or a
 * tl_code; runs finished before an error stay finished. */
int compare_run(const config *base, const compare_opts *o, compare_progress_fn fn, void *ud, cmp_input *in,
                tl_err *err);

void compare_input_free(cmp_input *in);

/* sha's n for an epoch budget: the largest n whose one bracket (rungs as
 * hpo/sched_halving.h, epochs rounded up) costs at most budget, >= 1.
 * Cannot fail. */
long compare_sha_trials(double budget, double min_budget, double max_budget, double eta);

#endif
