/* cli/run_view.h: where a running study stands, for a person.
 *
 * Follows the study's events (started, report, finished) for every
 * scheduler: trials done, running and paused; for each running trial its
 * epoch (step) and last value; the best value so far; the time elapsed and
 * an estimate of what is left (from the budget done against the budget
 * the study will use: trials x max budget, PBT's members x max budget).
 * On a terminal it redraws a small block on stderr; in a pipe it writes a
 * plain "# progress: ..." line at most every `plain_every` seconds (10;
 * the environment's TUNELAB_PROGRESS_SECONDS when set).  Under MPI both
 * name the rank of each running trial (under mpirun, rank 0's stderr is a
 * pipe: the plain line, "| running: trial 5 on rank 2, ...").
 *
 * Events arrive in the order the workers emit them, after the study's
 * lock is let go, so one worker's "paused" for a trial can come after
 * another worker has resumed and ended it: the view remembers the last
 * RUN_VIEW_SLOTS trials that ended and drops their late events.
 *
 * Does not: print finished trials (cmd_run does, on stdout), or lock: the
 * caller holds its mutex around run_view_event.
 */
#ifndef TL_CLI_RUN_VIEW_H
#define TL_CLI_RUN_VIEW_H

#include "cli/term.h"
#include "tune/study_setup.h" /* hpo/study.h's events, as cli/ may see them */

#define RUN_VIEW_SLOTS 64

typedef struct run_view_slot {
    int trial;
    int step;           /* last reported step (epoch); 0 before the first */
    double value;       /* last reported value, NAN before the first */
    int paused;
    int rank;           /* MPI: the rank running it (0: unknown, or no MPI) */
} run_view_slot;

typedef struct run_view {
    term *t;            /* borrowed */
    int total;          /* trials the study will run (PBT: its members) */
    double max_budget;  /* a trial's full budget, in steps */
    int maximize;
    double t0;          /* tl_now() at the start */
    double plain_every; /* pipe: seconds between progress lines */
    double last_plain;
    int finished;       /* complete, pruned or failed */
    int finished0;      /* of them, finished before this run (not in its rate) */
    double best;        /* best finished value, else best reported */
    int best_trial, best_final;
    run_view_slot slot[RUN_VIEW_SLOTS];
    int nslot;
    int ended[RUN_VIEW_SLOTS]; /* the trials that ended last, a ring */
    long nended;
} run_view;

/* Starts a view of a study that already holds `finished` finished trials.
 * Cannot fail. */
void run_view_init(run_view *v, term *t, int total, double max_budget, int maximize, int finished);

/* Takes one event into the view and redraws it (terminal) or writes a
 * plain line when one is due (pipe, quiet = 0).  Cannot fail. */
void run_view_event(run_view *v, const study_event *ev, int quiet);

/* Under MPI: the trial runs on rank (> 0), shown beside it.  Cannot fail. */
void run_view_note_rank(run_view *v, int trial, int rank);

/* The summary into buf: "trials 3/20 done, 2 running, 1 paused  40%  1m05s
 * elapsed, ~1m38s left", `sep`, "best 0.3412 (trial 2)" ("reported" when
 * no trial has finished yet and the value is a reported one).  Cannot
 * fail. */
void run_view_status(const run_view *v, const char *sep, char *buf, size_t n);

#endif
