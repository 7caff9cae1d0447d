/* tune/study_mpi.h: `tunelab run` across Open MPI ranks: what cli/ needs
 * from hpo/mpi_world.h and hpo/executor_mpi.h, in tune/'s words.
 *
 * Under mpirun with N > 1 ranks, rank 0 opens the study and runs it on
 * the other ranks (tune_objective_optimize does, when the world has more
 * than one rank); each other rank builds the same objective and serves
 * rank 0 one trial at a time, on train.threads (or OMP_NUM_THREADS)
 * threads (tune_objective_serve).  study.workers counts the trials at a
 * time over the job, so at most the worker ranks (tune_mpi_trial_ranks).  All ranks
 * first agree (tune_mpi_agree): same binary, same resolved config, every
 * rank set up.  Without mpirun (or with one rank) nothing here starts MPI
 * and a run is a plain run.
 */
#ifndef TL_TUNE_STUDY_MPI_H
#define TL_TUNE_STUDY_MPI_H

#include <stdint.h>

#include "tune/config.h"
#include "tune/study_setup.h"

/* Starts MPI when launched by mpirun (nothing otherwise).  Returns 0 or
 * TL_ERUNTIME. */
int tune_mpi_start(int *argc, char ***argv, tl_err *err);

/* This rank (0 without MPI) and the number of ranks (1 without MPI). */
int tune_mpi_rank(void);
int tune_mpi_size(void);

/* Waits for every rank and finalizes MPI if it was started and status
 * (the exit status) is 0; see mpi_world_end. */
void tune_mpi_end(int status);

/* Hash of c as config_to_string writes it (every resolved key).  Cannot fail. */
uint64_t tune_config_hash(const config *c);

/* The start-up agreement (hpo/mpi_world.h, mpi_world_agree), collective:
 * status and msg are this rank's set-up result, c its config (NULL when
 * it has none).  Returns 0 on every rank, or TL_EINPUT on every rank with
 * err naming the first rank at fault. */
int tune_mpi_agree(int status, const char *msg, const config *c, tl_err *err);

/* Under mpirun with N > 1 ranks: checks c->workers against the N - 1
 * worker ranks and sets it to the number of ranks that run trials (1 or
 * auto: all of them; more than N - 1: TL_EINPUT naming the key, the
 * ranks and the fix).  Ranks above c->workers stay idle.  Without MPI it
 * does nothing.  Returns 0 or TL_EINPUT. */
int tune_mpi_trial_ranks(config *c, tl_err *err);

/* Rank 0, after tune_mpi_agree: the ranks and threads per host
 * (mpi_world_layout); "" without MPI.  Cannot fail. */
const char *tune_mpi_layout(void);

/* Rank 0, after tune_mpi_agree: ranks per host (mpi_world_hosts); "" without
 * MPI.  Cannot fail. */
const char *tune_mpi_hosts(void);

/* Ranks 1..c->workers (after tune_mpi_trial_ranks): serves rank 0's
 * study with o's objective, one trial at a time on train.threads (or
 * OMP_NUM_THREADS) threads, until the study is done; ranks above
 * c->workers return at once.  sc and sp as rank 0's.  Returns 0 or
 * TL_ERUNTIME. */
int tune_objective_serve(tune_objective *o, const config *c, const study_config *sc, const space *sp, tl_err *err);

/* Rank 0 of a world of more than one rank: runs st with o's objective on
 * ranks 1..workers, one trial at a time each (hpo/executor_mpi.h).
 * tune_objective_optimize calls it.  Returns 0 or a tl_code. */
int tune_objective_optimize_mpi(tune_objective *o, study *st, int workers, study_progress_fn fn, void *ud,
                                tl_err *err);

/* Every rank gets the bytes of the file at path as rank 0 reads it
 * (mpi_world_bcast_file: the other hosts need not see it); without MPI it
 * reads the file.  Collective.  Returns 0 or, on every rank, TL_EINPUT
 * naming the file or TL_ERUNTIME. */
int tune_mpi_read_file(const char *path, unsigned char **bytes, size_t *n, tl_err *err);

/* `tunelab train` across ranks (data parallelism, nn/train.h train_dp):
 * with more than one rank, every rank takes its slice of each micro-batch
 * of f's trainer and the gradients are summed in rank order
 * (hpo/mpi_world.h, mpi_world_sum), so every rank steps identically;
 * rank 0 alone evaluates and its numbers and hook decision are broadcast
 * (mpi_world_share); ranks > 0 write no checkpoint (f->ckpt = NULL).
 * With one rank it does nothing.  Cannot fail. */
struct fit;
void tune_fit_data_parallel(struct fit *f);

#endif
