/* hpo/executor.h: runs a study with N worker threads on this machine.
 *
 * Each worker loops ask -> run -> tell until the study is DONE.  With
 * workers > 1 the workers are an OpenMP parallel region, so BLAS called
 * from an objective runs on its worker's thread; with workers = 1 there is
 * no parallel region and the lone trial's BLAS gets every core.  A trial
 * whose objective fails (nonzero return, NaN or infinite value) is told
 * FAILED with its reason and the study goes on; the study stops with an
 * error when its first max_consecutive_failures trials all failed.
 * Paused trials' states are kept by the study (and saved with the
 * objective's state_save when it has one).  Does not print.
 */
#ifndef TL_HPO_EXECUTOR_H
#define TL_HPO_EXECUTOR_H

#include "hpo/objective.h"
#include "hpo/study.h"
#include "util/err.h"

/* Runs s to completion with `workers` threads (< 1 means 1).  progress (may
 * be NULL) receives every event, called without the study lock, possibly
 * from several threads at once.  Returns 0 when the study is DONE, or the
 * first error (TL_ERUNTIME for the all-fail stop or a database error):
 * workers finish their current trial and stop. */
int study_optimize(study *s, const objective *obj, int workers, study_progress_fn progress,
                   void *progress_ud, tl_err *err);

#endif
