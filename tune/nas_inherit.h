/* tune/nas_inherit.h: weight inheritance for evolutionary architecture
 * search (`nas.inherit = true`, issue 19): a child that the evolution
 * sampler made by mutating a parent starts from the parent's trained
 * weights, carried across the shape change by a morphism (nn/morph.h),
 * and trains nas.child_epochs epochs (default: a third of train.epochs;
 * 0: the trial's budget, as any trial; with asha the scheduler's budget),
 * the random first population nas.seed_epochs (default: as a child).
 *
 * Where the parent's state lives: when a trial of an inheriting study
 * completes (or is pruned), its trainer and config are saved with the
 * objective's own checkpoint format (session_save, nn/ckpt.c) as
 * <state_dir>/nas-N.state, next to the study's paused states; a child
 * loads nas-P.state (a paused parent under asha: its trial-P.state; or, when P reused an earlier trial's result, that
 * trial's file).  The states are on disk, so a killed and resumed study
 * still inherits.
 *
 * Optimizer state: the child gets a new trainer with a fresh schedule
 * over its own epochs.  With nas.child_moments (default) an MLP child's
 * optimizer continues the parent's: its moments are morphed with the
 * weights (morph_apply_moments, nn/morph.h: scaled as the gradients are,
 * new weights at 0) and its step count is the parent's, so AdamW's bias
 * correction fits them; when the two optimizers differ in kind, for a GPT
 * child, or with nas.child_moments = false, it is RESET (moments zero,
 * step 0), as Net2Net does.
 *
 * What is stored: the trial's parent (study_set_parent, by the sampler)
 * and the trial attribute "inherit":
 *   {"parent": P, "from": "parent", "morph": "layers 2->3 (identity blocks)", "exact": 1,
 *    "optimizer": "continued" or "reset"}
 *   {"parent": P, "from": "scratch", "why": "state of trial P is gone"}
 * report/report_family.c draws the family tree from them.
 *
 * When the run ends, nas_inherit_cleanup deletes the states no later child
 * can need (see there).
 *
 * Does not: sample, pick parents, or transform a GPT's optimizer moments.
 */
#ifndef TL_TUNE_NAS_INHERIT_H
#define TL_TUNE_NAS_INHERIT_H

#include "hpo/study.h"
#include "tune/config.h"
#include "tune/session.h"

/* Trial attribute with what a child inherited (see above). */
#define NAS_ATTR_INHERIT "inherit"

/* Checks nas.inherit against the run: needs study.sampler = evolution, a
 * [space] that tunes an architecture key, and the train objective
 * (train != 0).  Returns 0, or TL_EINPUT "SOURCE: nas.inherit: ...". */
int nas_inherit_check(const config *c, const space *sp, int train, tl_err *err);

/* Sets the budget and lr of a new trial of c: a child (parent >= 0)
 * whose parent's state is on disk trains nas.child_epochs (when > 0; -1,
 * the default: a third of train.epochs rounded up with the fifo
 * scheduler, the trial's budget with any other) at
 * train.lr * nas.child_lr_scale, warming up over nas.child_warmup steps
 * when > 0 (a cosine or constant schedule becomes warmup_cosine or
 * warmup_constant; a warmup_* schedule gets that length); a trial
 * without a parent (the random
 * first population) trains nas.seed_epochs (when > 0; -1, the default:
 * as a child); anything else
 * (a child whose parent's state is gone) keeps c as it is.  A no-op
 * unless c->nas_inherit.  Cannot fail. */
void nas_inherit_adjust(config *c, study *st, const trial_job *job);

/* Fills the new session s of trial job (built from c over d) from its
 * parent's saved state through the morphism (with the optimizer's
 * moments and step count when c->nas_child_moments, see above), and
 * records the "inherit" attribute.  A job without a parent is left alone (returns 0);
 * a parent whose state is gone or unreadable leaves s at its fresh init
 * and is recorded as "scratch" (returns 0).  Returns nonzero only for
 * memory errors, with err filled. */
int nas_inherit_apply(study *st, const trial_job *job, const config *c, session *s, const task_data *d,
                      tl_err *err);

/* Saves the finished trial's session (with cfg as its INI) as
 * nas-N.state for its children.  Returns 0 or TL_ERUNTIME naming the
 * file. */
int nas_inherit_save(const trial_job *job, const session *s, const config *cfg, tl_err *err);

/* At the end of a run: deletes the <state_dir>/nas-N.state files no later
 * child can inherit from, keeping those of the evolution's population
 * (the last nas.population evaluated trials; for a reused result, the
 * trial that trained it) and of the parents of trials still running, so
 * a resumed or extended study still inherits.  *removed and *kept count
 * the files.  A no-op unless c->nas_inherit.  Returns 0, or TL_ERUNTIME
 * (memory, storage) with err filled. */
int nas_inherit_cleanup(study *st, const config *c, int *removed, int *kept, tl_err *err);

#endif
