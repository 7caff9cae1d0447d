/* hpo/mpi_world.h: Open MPI for tunelab: starting it only under mpirun,
 * the start-up agreement of every rank, and the messages the MPI executor
 * (hpo/executor_mpi.h) exchanges.
 *
 * A plain `tunelab` never initializes MPI: mpi_world_start looks for the
 * variables mpirun (or srun with PMIx) sets and returns at once without
 * them.  Under mpirun it asks for MPI_THREAD_MULTIPLE, since every worker
 * thread of rank 0 talks to its own remote thread.
 *
 * Messages are one byte buffer: a fixed mpi_msg header, then `nbytes` of
 * payload (an objective state).  Rank 0 and worker thread t of rank r use
 * tag t both ways, so each conversation is a private (rank, tag) pair.
 * All ranks run the same binary (checked at start-up): the header is sent
 * as raw bytes.
 *
 * The world (rank, size) is process-wide, as MPI itself is: the one piece
 * of global state in tunelab, set once by mpi_world_start.
 */
#ifndef TL_HPO_MPI_WORLD_H
#define TL_HPO_MPI_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "hpo/space.h"
#include "util/err.h"

/* 1 when this process was started by mpirun/srun (MPI environment
 * variables present).  Cannot fail; does not start MPI. */
int mpi_world_launched(void);

/* Starts MPI when launched by mpirun; does nothing otherwise.  Returns 0
 * (rank and size then valid: 0 and 1 without mpirun) or TL_ERUNTIME (no
 * MPI_THREAD_MULTIPLE, init failed).  Call once, before any thread. */
int mpi_world_start(int *argc, char ***argv, tl_err *err);

/* This process's rank (0 without MPI) and the number of ranks (1). */
int mpi_world_rank(void);
int mpi_world_size(void);

/* Finalizes MPI when it was started, waiting for every rank first (so
 * rank 0 has printed its error when they all failed together: a failed
 * start-up agreement or mpi_world_bcast_file).  A rank that failed alone
 * (status, the program's exit status, != 0 otherwise: e.g. a file only it
 * cannot read) neither waits nor finalizes: its exit status makes mpirun
 * end the job instead of leaving the others waiting.  Safe to call when
 * MPI was not started.  Cannot fail. */
void mpi_world_end(int status);

/* The start-up agreement, a collective call on every rank: each rank
 * gives its set-up status (0 or a tl_code) and message, the hash of its
 * resolved config, and its threads; rank 0 checks that every rank set up,
 * runs the same binary (hash of /proc/self/exe) and the same config.
 * Returns 0 on every rank when all is well, else TL_EINPUT on every rank
 * with err naming the first rank at fault and the problem ("rank 2: ...").
 * threads_out (may be NULL) receives each rank's threads, on rank 0. */
int mpi_world_agree(int status, const char *msg, uint64_t cfg_hash, int threads, int *threads_out,
                    tl_err *err);

/* On rank 0 after mpi_world_agree: where the ranks run, host by host in
 * the order of their first rank, with each host's worker ranks and their
 * threads ("node1: rank 0 + 2 worker ranks x 4 threads; node2: 4 worker
 * ranks x 4 threads"); "" elsewhere.  Cannot fail. */
const char *mpi_world_layout(void);

/* On rank 0 after mpi_world_agree: the number of ranks on each host, in
 * the order of their first rank ("node1: 2 ranks; node2: 3 ranks"), for
 * data-parallel training where every rank works alike; "" elsewhere.
 * Cannot fail. */
const char *mpi_world_hosts(void);

/* FNV-1a 64 of n bytes (seed h: start with MPI_HASH_SEED).  Cannot fail. */
#define MPI_HASH_SEED 0xcbf29ce484222325ULL
uint64_t mpi_hash(uint64_t h, const void *p, size_t n);

/* Replaces buf (n floats) and d (nd doubles) on every rank by their sums
 * over all ranks, added in rank order on rank 0 (0 + 1 + 2 ...) and then
 * broadcast: the same bits on every rank and in every run.  Collective.
 * Returns 0 or TL_ERUNTIME (MPI, memory). */
int mpi_world_sum(float *buf, size_t n, double *d, int nd);

/* Every rank gets the bytes of the file at path as rank 0 reads it (the
 * other ranks need not see the file): *bytes (malloc'ed, the caller frees)
 * and *n.  Collective; without MPI it reads the file.  Returns 0, or on
 * every rank TL_EINPUT (rank 0 cannot read it, with its reason) or
 * TL_ERUNTIME (MPI, memory). */
int mpi_world_bcast_file(const char *path, unsigned char **bytes, size_t *n, tl_err *err);

/* Replaces d (n doubles) on every rank by rank 0's (MPI_Bcast).
 * Collective.  Returns 0 or TL_ERUNTIME. */
int mpi_world_share(double *d, int n);

/* ---- messages between rank 0 and a worker thread ---- */

enum mpi_msg_type {
    MSG_JOB,        /* 0 -> r: run this trial (payload: its state, if any) */
    MSG_DONE,       /* 0 -> r: no more work for this thread */
    MSG_REPORT,     /* r -> 0: study_report; answered by MSG_DECISION */
    MSG_DECISION,   /* 0 -> r: rc, decision, src (exploit), text (error) */
    MSG_COPY,       /* r -> 0: state of trial src please; answered by MSG_STATE */
    MSG_STATE,      /* 0 -> r: rc, text (error), payload (the state's bytes) */
    MSG_VALUES,     /* r -> 0: trial's values; answered by MSG_VALUES (rc, values) */
    MSG_ATTR_SET,   /* r -> 0: key, text; no answer */
    MSG_ATTR_GET,   /* r -> 0: key; answered by MSG_ATTR_GET (rc, text) */
    MSG_OUTCOME,    /* r -> 0: the trial's end: rc, state, value, text (reason), payload */
    MSG_TYPE_COUNT
};

typedef struct mpi_msg {
    int32_t type;              /* enum mpi_msg_type */
    int32_t trial, step, kind, rerun, parent, nparams;
    int32_t rc, state, decision, src;
    double budget, budget_done, value, budget_used;
    uint64_t seed;
    double values[SPACE_MAX_PARAMS];
    char key[128];
    char text[1024];
    uint64_t nbytes;           /* payload bytes after the header */
} mpi_msg;

/* Sends m with payload (nbytes m->nbytes, may be NULL when 0) to rank
 * dest with tag.  Returns 0 or TL_ERUNTIME. */
int mpi_msg_send(int dest, int tag, mpi_msg *m, const void *payload, tl_err *err);

/* Waits (napping between polls, so an idle rank leaves the CPU to the
 * trials) for the next message from rank src with tag, into *m; the
 * payload, if any, is malloc'd into *payload (caller frees; NULL when
 * none).  Returns 0 or TL_ERUNTIME. */
int mpi_msg_recv(int src, int tag, mpi_msg *m, unsigned char **payload, tl_err *err);

#endif
