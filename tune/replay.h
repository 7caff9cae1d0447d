/* tune/replay.h: the PBT replay behind `tunelab pbt-replay`: retrains from
 * scratch with the hyperparameter schedule that produced the best member of
 * a PBT study, to check whether the schedule alone gives its result.
 *
 * Does: follow the best member's weights back through every exploit
 * (hpo/pbt.h's pbt_schedule over the members' lineage attributes: the
 * values in force over each stretch of epochs, whichever member trained
 * it); find the run's config (a member's saved state, else the study's
 * config file); train one model from scratch, giving it each stretch's
 * values at the same epochs (the live values the training objective
 * changes mid-run: session_apply_live), and evaluate it with the study's
 * metric.  Reads the study as report/ loaded it (read-only).
 * Does not: write to the database, run PBT, print or draw.
 */
#ifndef TL_TUNE_REPLAY_H
#define TL_TUNE_REPLAY_H

#include <stddef.h>

#include "hpo/pbt.h"
#include "report/report.h"
#include "tune/config.h"

typedef struct replay_plan {
    int best;               /* the member replayed: the study's best trial */
    pbt_segment *seg;       /* (nseg) the values over each stretch of epochs, in order; owned */
    int nseg;
    int members;            /* trials with a lineage */
    int work;               /* epochs trained by all members together (thrown-away work included) */
} replay_plan;

/* Reads the lineages of rs's members and follows the best one's weights
 * back.  Returns 0 with *p owning its segments (replay_plan_free), or
 * TL_EINPUT "DB: ..." for an unreadable lineage, a study without lineages
 * (not PBT), no completed member, or inconsistent records; *p is then
 * empty. */
int replay_plan_build(const report_study *rs, replay_plan *p, tl_err *err);

/* Frees p's segments and empties it; NULL is a no-op. */
void replay_plan_free(replay_plan *p);

/* The config to replay with: the file at `path` when not NULL; else the
 * resolved config saved with a member's state (DB.states/trial-N.state,
 * the best member's first; it holds the run's --set overrides too); else
 * the config file the study recorded.  Writes where it came from into
 * from (n bytes).  Returns 0, or TL_EINPUT naming the file (unreadable or
 * invalid config, or no config to be found: "pass --config FILE"). */
int replay_config(const report_study *rs, int best, const char *path, config *c, char *from, size_t n,
                  tl_err *err);

typedef struct replay_result {
    double value;           /* the study's metric for the replay (val_loss for a metric it
                               does not know) */
    double test_acc, test_loss; /* NAN without a test set */
    double seconds;         /* training time */
} replay_result;

/* Trains the plan from scratch on c (its epochs become the plan's end and
 * the first stretch's values are applied to it: c changes) and fills *r.
 * Returns 0, or TL_EINPUT for values or data the config refuses,
 * TL_ERUNTIME for a divergence ("the replay diverged at epoch N: ...") or
 * a failure while training. */
int replay_run(const report_study *rs, config *c, const replay_plan *p, replay_result *r, tl_err *err);

#endif
