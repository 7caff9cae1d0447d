/* hpo/executor_mpi.h: a study across Open MPI ranks.
 *
 * Rank 0 owns the study (storage, sampler, scheduler) and runs no trial
 * itself: study_optimize_mpi runs the ordinary executor (executor.h) with
 * one thread per remote worker thread, and each of those threads runs a
 * proxy objective.  The proxy takes a free (rank, thread) slot, ships the
 * job (values, seed, budget, and a resumed trial's state as bytes), then
 * answers the remote trial's calls (study_report, the exploit's state
 * copy, values and attributes) with the real study until the trial's
 * outcome comes back.  Every sampler and scheduler runs unchanged, and
 * sees remote trials as running ones (bayes: pending points).
 *
 * The other ranks call study_serve_mpi: `threads` worker threads, each
 * running the ordinary objective against a remote study
 * (hpo/study_remote.h) whose calls travel to rank 0.
 *
 * States travel as the bytes the objective's state_save writes (the
 * format of state_dir/trial-N.state): on rank 0 the study keeps paused
 * states as those bytes, saves them as they are, so a study resumes from
 * its saved states with or without MPI.  A worker turns bytes into a state
 * and back in memory with the objective's state_pack / state_unpack
 * (objective.h): a state goes from one rank's memory to another's in one
 * MPI message, through no file.  Objectives without those hooks pause
 * without a state (a promotion then starts over, as in one process).
 *
 * The trial attribute "rank" holds the rank a trial runs (ran) on,
 * "thread" the worker thread there (0 .. threads-1), and "ranks" every
 * rank it ran on, in order ("1 2": promoted on rank 2).
 *
 * Does not: start or end MPI (mpi_world.h), survive a dead rank (Open MPI
 * ends the whole job; the study resumes as after a kill), print.
 */
#ifndef TL_HPO_EXECUTOR_MPI_H
#define TL_HPO_EXECUTOR_MPI_H

#include "hpo/objective.h"
#include "hpo/study.h"
#include "util/err.h"

/* Rank 0: runs s to completion on the worker ranks 1..size-1, threads[r]
 * worker threads on rank r (threads[0] unused; 0: rank r gets no trial,
 * at least one rank must get one), then tells every remote
 * thread to stop.  obj is rank 0's copy of the objective: only its state
 * hooks' presence is used.  progress as study_optimize.  Returns 0 or the
 * first error (as study_optimize). */
int study_optimize_mpi(study *s, const objective *obj, const int *threads, study_progress_fn progress,
                       void *progress_ud, tl_err *err);

/* Ranks > 0: serves rank 0 with `threads` worker threads running obj,
 * until rank 0 says done.  cfg and sp must equal rank 0's (the start-up
 * agreement checks the config).  Returns 0 or TL_ERUNTIME (MPI, memory). */
int study_serve_mpi(const study_config *cfg, const space *sp, const objective *obj, int threads, tl_err *err);

#endif
