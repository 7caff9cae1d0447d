/* tune/study_mpi.c: the MPI glue of `tunelab run` (see study_mpi.h).
 * Does not: print, or know what the messages carry (hpo/ does). */
#include "tune/study_mpi.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/executor_mpi.h"
#include "hpo/mpi_world.h"
#include "tune/fit.h"

int tune_mpi_start(int *argc, char ***argv, tl_err *err)
{
    return mpi_world_start(argc, argv, err);
}

int tune_mpi_rank(void)
{
    return mpi_world_rank();
}

int tune_mpi_size(void)
{
    return mpi_world_size();
}

void tune_mpi_end(int status)
{
    mpi_world_end(status);
}

uint64_t tune_config_hash(const config *c)
{
    char *s = config_to_string(c);
    uint64_t h = s ? mpi_hash(MPI_HASH_SEED, s, strlen(s)) : 0;
    free(s);
    return h;
}

/* The OpenMP/BLAS threads one trial gets on this rank. */
static int rank_threads(const config *c)
{
    return c && c->threads > 0 ? c->threads : omp_get_max_threads();
}

int tune_mpi_agree(int status, const char *msg, const config *c, tl_err *err)
{
    return mpi_world_agree(status, msg, c ? tune_config_hash(c) : 0, rank_threads(c), NULL, err);
}

int tune_mpi_trial_ranks(config *c, tl_err *err)
{
    int ranks = mpi_world_size() - 1;
    if (ranks < 1)
        return 0;
    if (c->workers > ranks)
        return tl_fail(err, TL_EINPUT,
                       "%s: study.workers = %d asks for %d trials at a time, but mpirun started %d worker rank%s "
                       "(-np %d: rank 0 runs the study, every other rank one trial at a time): run mpirun with "
                       "-np %d, or set study.workers to at most %d (1 or auto: every worker rank)",
                       c->source, c->workers, c->workers, ranks, ranks > 1 ? "s" : "", ranks + 1, c->workers + 1,
                       ranks);
    if (c->workers <= 1)
        c->workers = ranks;
    return 0;
}

const char *tune_mpi_layout(void)
{
    return mpi_world_layout();
}

const char *tune_mpi_hosts(void)
{
    return mpi_world_hosts();
}

int tune_objective_serve(tune_objective *o, const config *c, const study_config *sc, const space *sp, tl_err *err)
{
    if (mpi_world_rank() > c->workers)
        return 0; /* an idle rank: study.workers asked for fewer ranks than mpirun started */
    omp_set_max_active_levels(1);
    omp_set_num_threads(rank_threads(c));
    return study_serve_mpi(sc, sp, &o->obj, 1, err);
}

int tune_objective_optimize_mpi(tune_objective *o, study *st, int workers, study_progress_fn fn, void *ud,
                                tl_err *err)
{
    int n = tune_mpi_size();
    int *threads = malloc(sizeof *threads * (size_t)n);
    if (!threads)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    for (int r = 0; r < n; r++)
        threads[r] = r >= 1 && r <= workers; /* one trial at a time on ranks 1..workers */
    int rc = study_optimize_mpi(st, &o->obj, threads, fn, ud, err);
    free(threads);
    return rc;
}

int tune_mpi_read_file(const char *path, unsigned char **bytes, size_t *n, tl_err *err)
{
    return mpi_world_bcast_file(path, bytes, n, err);
}

static int dp_reduce(void *ud, float *grads, size_t n, double *sums, int nsums)
{
    return mpi_world_sum(grads, n, sums, nsums);
}

static int dp_share(void *ud, double *d, int n)
{
    return mpi_world_share(d, n);
}

void tune_fit_data_parallel(fit *f)
{
    if (mpi_world_size() <= 1)
        return;
    f->s.tr.dp = (train_dp){ .rank = mpi_world_rank(), .size = mpi_world_size(), .x_row = f->data.in_dim,
                             .reduce = dp_reduce, .share = dp_share };
    if (mpi_world_rank() > 0)
        f->ckpt = NULL;
}
