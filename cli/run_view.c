/* cli/run_view.c: a running study's progress for a person (see run_view.h). */
#include "cli/run_view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timer.h"

void run_view_init(run_view *v, term *t, int total, double max_budget, int maximize, int finished)
{
    memset(v, 0, sizeof *v);
    v->t = t;
    v->total = total > 0 ? total : 1;
    v->max_budget = max_budget > 0 ? max_budget : 1;
    v->maximize = maximize;
    v->t0 = tl_now();
    v->last_plain = v->t0;
    const char *every = getenv("TUNELAB_PROGRESS_SECONDS");
    char *end;
    v->plain_every = every && every[0] ? strtod(every, &end) : 10;
    if (!(v->plain_every >= 0) || (every && every[0] && *end))
        v->plain_every = 10;
    v->finished = v->finished0 = finished;
    v->best = NAN;
    v->best_trial = -1;
}

static run_view_slot *find_slot(run_view *v, int trial, int add)
{
    for (int i = 0; i < v->nslot; i++)
        if (v->slot[i].trial == trial)
            return &v->slot[i];
    if (!add || v->nslot == RUN_VIEW_SLOTS)
        return NULL;
    run_view_slot *s = &v->slot[v->nslot++];
    *s = (run_view_slot){.trial = trial, .value = NAN};
    return s;
}

static void drop_slot(run_view *v, int trial)
{
    for (int i = 0; i < v->nslot; i++)
        if (v->slot[i].trial == trial) {
            memmove(&v->slot[i], &v->slot[i + 1], (size_t)(v->nslot - i - 1) * sizeof v->slot[0]);
            v->nslot--;
            return;
        }
}

/* A finished value always beats a reported one as "best"; among values of
 * the same kind, the better by the study's direction. */
static void offer_best(run_view *v, int trial, double value, int final)
{
    if (!isfinite(value) || (v->best_final && !final))
        return;
    int better = isnan(v->best) || (final && !v->best_final) || (v->maximize ? value > v->best : value < v->best);
    if (better) {
        v->best = value;
        v->best_trial = trial;
        v->best_final = final;
    }
}

void run_view_note_rank(run_view *v, int trial, int rank)
{
    run_view_slot *s = find_slot(v, trial, 0);
    if (s)
        s->rank = rank;
}

/* 1 when trial ended (complete, pruned or failed) among the last
 * RUN_VIEW_SLOTS to end. */
static int ended_lately(const run_view *v, int trial)
{
    long n = v->nended < RUN_VIEW_SLOTS ? v->nended : RUN_VIEW_SLOTS;
    for (long i = 0; i < n; i++)
        if (v->ended[i] == trial)
            return 1;
    return 0;
}

void run_view_event(run_view *v, const study_event *ev, int quiet)
{
    run_view_slot *s;
    if (ended_lately(v, ev->trial))
        return; /* a late event of a trial that has ended: nothing changes */
    switch (ev->kind) {
    case STUDY_EV_STARTED:
        if ((s = find_slot(v, ev->trial, 1))) {
            s->paused = 0;
            s->rank = 0; /* a promotion may run on another rank: known at its first report */
        }
        break;
    case STUDY_EV_REPORT:
        if ((s = find_slot(v, ev->trial, 1))) {
            s->step = ev->step;
            s->value = ev->value;
            s->paused = 0;
        }
        offer_best(v, ev->trial, ev->value, 0);
        break;
    case STUDY_EV_FINISHED:
        if (ev->state == TRIAL_PAUSED) {
            if ((s = find_slot(v, ev->trial, 1)))
                s->paused = 1;
            break;
        }
        drop_slot(v, ev->trial);
        v->ended[v->nended++ % RUN_VIEW_SLOTS] = ev->trial;
        v->finished++;
        if (ev->state == TRIAL_COMPLETE)
            offer_best(v, ev->trial, ev->value, 1);
        break;
    }
    if (quiet)
        return;
    char buf[4096];
    if (v->t->live) {
        run_view_status(v, "\n", buf, sizeof buf);
        size_t u = strlen(buf);
        int shown = 0;
        for (int i = 0; i < v->nslot && u + 128 < sizeof buf; i++) {
            const run_view_slot *r = &v->slot[i];
            if (r->paused)
                continue;
            if (shown++ == 8) {
                u += (size_t)snprintf(buf + u, sizeof buf - u, "\n  ...");
                break;
            }
            u += (size_t)snprintf(buf + u, sizeof buf - u, "\n  trial %d: epoch %d", r->trial, r->step);
            if (!isnan(r->value))
                u += (size_t)snprintf(buf + u, sizeof buf - u, ", value %.4g", r->value);
            if (r->rank > 0)
                u += (size_t)snprintf(buf + u, sizeof buf - u, "  [rank %d]", r->rank);
        }
        term_block(v->t, buf);
    } else if (tl_now() - v->last_plain >= v->plain_every) {
        v->last_plain = tl_now();
        run_view_status(v, " | ", buf, sizeof buf);
        size_t u = strlen(buf);
        int shown = 0; /* MPI (under mpirun stderr is a pipe): which rank runs what */
        for (int i = 0; i < v->nslot && u + 64 < sizeof buf && shown < 8; i++)
            if (!v->slot[i].paused && v->slot[i].rank > 0)
                u += (size_t)snprintf(buf + u, sizeof buf - u, "%s trial %d on rank %d", shown++ ? "," : " | running:",
                                      v->slot[i].trial, v->slot[i].rank);
        fprintf(stderr, "# progress: %s\n", buf);
        fflush(stderr);
    }
}

static void fmt_duration(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

void run_view_status(const run_view *v, const char *sep, char *buf, size_t n)
{
    int running = 0, paused = 0;
    double done = v->finished * v->max_budget;
    for (int i = 0; i < v->nslot; i++) {
        running += !v->slot[i].paused;
        paused += v->slot[i].paused;
        done += fmin(v->slot[i].step, v->max_budget);
    }
    double all = v->total * v->max_budget, frac = fmin(done / all, 1.0);
    double now = done - v->finished0 * v->max_budget; /* this run's share: its rate */
    double elapsed = tl_now() - v->t0;
    char el[32], left[48] = "", best[96] = "best -";
    fmt_duration(elapsed, el, sizeof el);
    if (now > 0 && frac < 1) {
        char d[32];
        fmt_duration(elapsed * (all - done) / now, d, sizeof d);
        snprintf(left, sizeof left, ", ~%s left", d);
    }
    if (!isnan(v->best))
        snprintf(best, sizeof best, "best %.4g (trial %d%s)", v->best, v->best_trial, v->best_final ? "" : ", reported");
    int shown = v->finished > v->total ? v->total : v->finished;
    snprintf(buf, n, "trials %d/%d done, %d running, %d paused  %3.0f%%  %s elapsed%s%s%s", shown, v->total,
             running, paused, 100 * frac, el, left, sep, best);
}
