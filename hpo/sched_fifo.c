/* hpo/sched_fifo.c: the plain scheduler: every trial is new and runs to
 * max_budget; reports always continue.  Stateless.  (The study itself
 * stops creating trials when the budget is used.) */
#include "hpo/scheduler.h"

static int fifo_init(void **self, const void *opts, const study_config *cfg, const space *sp,
                     tl_err *err)
{
    *self = NULL;
    return 0;
}

static int fifo_next(void *self, const sched_ctx *ctx, sched_next *out, tl_err *err)
{
    out->kind = SCHED_NEW;
    out->trial = -1;
    out->budget = ctx->cfg->max_budget;
    return 0;
}

static int fifo_report(void *self, const sched_ctx *ctx, const trial *t, int step, double value,
                       int *decision, int *exploit_src, tl_err *err)
{
    *decision = DECIDE_CONTINUE;
    return 0;
}

static void fifo_free(void *self)
{
}

const scheduler_vt sched_fifo_vt = {
    .name = "fifo",
    .init = fifo_init,
    .next = fifo_next,
    .report = fifo_report,
    .free = fifo_free,
};
