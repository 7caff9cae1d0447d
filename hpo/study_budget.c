/* hpo/study_budget.c: the study's resource limits besides the trial budget
 * (study_config.max_reports, max_seconds; see hpo/study.h): what has been
 * used, and whether a limit is reached.
 *
 * Reports are counted from the view: the intermediate values stored over
 * all trials, plus the reports that replaced a value at a step already
 * reported (PBT: a member that copied another's state may train a step
 * again; study attribute STUDY_ATTR_BUDGET_REPEATS), so a killed study resumes with the count of what it kept (a
 * lost run's partial values are dropped with it and redone, as the
 * uninterrupted study would have done them).  Seconds are wall seconds
 * between the study's asks, reports and tells, summed over processes in
 * the study attribute STUDY_ATTR_BUDGET_SECONDS (time while no process
 * runs the study is not counted).  Does not: decide which trial runs, or
 * know what a report measures (an epoch for the training objective).
 */
#include <stdio.h>
#include <stdlib.h>

#include "hpo/study_internal.h"

static long reports_in_view(const study *s)
{
    long n = s->budget_repeats;
    for (int k = 0; k < s->ntrials; k++)
        n += s->trials[k].nsteps;
    return n;
}

void study_budget_start(study *s)
{
    char buf[64];
    s->budget_seconds = 0;
    s->budget_repeats = 0;
    if (study_attr_get(s, STUDY_ATTR_BUDGET_REPEATS, buf, sizeof buf) == 1)
        s->budget_repeats = strtol(buf, NULL, 10);
    if (study_attr_get(s, STUDY_ATTR_BUDGET_SECONDS, buf, sizeof buf) == 1)
        s->budget_seconds = strtod(buf, NULL);
    if (!(s->budget_seconds >= 0))
        s->budget_seconds = 0;
    s->budget_mark = study_now();
}

int study_budget_spent(study *s)
{
    if (!(s->cfg.max_reports > 0) && !(s->cfg.max_seconds > 0))
        return 0;
    double now = study_now();
    if (now > s->budget_mark)
        s->budget_seconds += now - s->budget_mark;
    s->budget_mark = now;
    if (s->cfg.max_seconds > 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.3f", s->budget_seconds);
        study_attr_set(s, STUDY_ATTR_BUDGET_SECONDS, buf, NULL);
        if (s->budget_seconds >= s->cfg.max_seconds)
            return 1;
    }
    return s->cfg.max_reports > 0 && (double)reports_in_view(s) >= s->cfg.max_reports - 1e-9;
}

void study_budget_repeat(study *s)
{
    s->budget_repeats++;
    if (s->cfg.max_reports > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", s->budget_repeats);
        study_attr_set(s, STUDY_ATTR_BUDGET_REPEATS, buf, NULL);
    }
}

long study_reports_used(study *s)
{
    study_lock(s);
    study_view_sync(s, NULL);
    long n = reports_in_view(s);
    study_unlock(s);
    return n;
}

double study_seconds_used(study *s)
{
    study_lock(s);
    double v = s->budget_seconds;
    if (s->budget_mark > 0 && study_now() > s->budget_mark)
        v += study_now() - s->budget_mark;
    study_unlock(s);
    return v;
}
