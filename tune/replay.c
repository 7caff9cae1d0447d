/* tune/replay.c: the PBT replay (see replay.h): the plan from the members'
 * lineages, the config to train with, and the training from scratch. */
#include "tune/replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tune/metric.h"
#include "tune/session.h"
#include "util/timer.h"

void replay_plan_free(replay_plan *p)
{
    if (!p)
        return;
    free(p->seg);
    memset(p, 0, sizeof *p);
}

/* Parses every member's lineage into L (rs->ntrials); *have counts them. */
static int read_lineages(const report_study *rs, pbt_lineage *L, int *have, tl_err *err)
{
    *have = 0;
    for (int k = 0; k < rs->ntrials; k++) {
        const char *json = report_trial_attr(rs, k, PBT_ATTR_LINEAGE);
        if (!json)
            continue;
        (*have)++;
        if (pbt_lineage_parse(&rs->sp, json, &L[k], err))
            return tl_prefix(err, "%s: trial %d", rs->path, k);
    }
    return 0;
}

int replay_plan_build(const report_study *rs, replay_plan *p, tl_err *err)
{
    memset(p, 0, sizeof *p);
    int n = rs->ntrials, have = 0;
    pbt_lineage *L = calloc((size_t)(n ? n : 1), sizeof *L);
    if (!L)
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    int rc = read_lineages(rs, L, &have, err);
    p->best = rs->best;
    if (!rc && !have)
        rc = tl_fail(err, TL_EINPUT, "%s: study '%s' has no PBT lineage (was it run with "
                     "study.scheduler = pbt?)", rs->path, rs->name);
    if (!rc && (p->best < 0 || L[p->best].n == 0))
        rc = tl_fail(err, TL_EINPUT, "%s: study '%s': no PBT member has completed yet", rs->path, rs->name);
    if (!rc && (rc = pbt_schedule(L, n, p->best, 0, &p->seg, &p->nseg, err)))
        tl_prefix(err, "%s", rs->path);
    for (int k = 0; !rc && k < n; k++)
        if (L[k].n) {
            p->members++;
            p->work += pbt_member_work(&L[k], trial_last_step(&rs->trials[k].t));
        }
    for (int k = 0; k < n; k++)
        pbt_lineage_free(&L[k]);
    free(L);
    if (rc)
        replay_plan_free(p);
    return rc;
}

int replay_config(const report_study *rs, int best, const char *path, config *c, char *from, size_t n,
                  tl_err *err)
{
    config_defaults(c);
    if (path) {
        snprintf(from, n, "%s", path);
        return config_load(c, path, err);
    }
    for (int k = -1; k < rs->ntrials; k++) {
        int m = k < 0 ? best : k;
        char state[700];
        snprintf(state, sizeof state, "%s.states/trial-%d.state", rs->path, m);
        if (access(state, R_OK) != 0)
            continue;
        tl_err ignored = {0};
        if (!session_config_of_ckpt(c, state, NULL, &ignored)) {
            snprintf(from, n, "%s (the run's resolved config)", state);
            return 0;
        }
    }
    if (rs->config[0] && access(rs->config, R_OK) == 0) {
        snprintf(from, n, "%s (the study's config file; --set overrides of the run are not known)", rs->config);
        return config_load(c, rs->config, err);
    }
    return tl_fail(err, TL_EINPUT,
                   "%s: no config to replay with (no saved member state in %s.states/, no config "
                   "file recorded); pass --config FILE",
                   rs->path, rs->path);
}

/* The study metric of the replayed model (val_loss for a metric that is
 * not a training metric); test metrics where there is a test set. */
static double metric_value(const report_study *rs, session *s, replay_result *r, tl_err *err)
{
    trainer *tr = &s->tr;
    double vl = NAN, va = NAN;
    if (trainer_evaluate(tr, session_val(s), &vl, &va, err))
        return NAN;
    if (session_test(s))
        trainer_evaluate(tr, session_test(s), &r->test_loss, &r->test_acc, err);
    int m = METRIC_VAL_LOSS;
    metric_parse(rs->metric, &m, NULL);
    switch (m) {
    case METRIC_VAL_ACCURACY:
        return va;
    case METRIC_VAL_PERPLEXITY:
        return exp(vl);
    case METRIC_TEST_ACCURACY:
        return r->test_acc;
    case METRIC_TRAIN_LOSS:
        return tr->nhist ? tr->hist[tr->nhist - 1].train_loss : NAN;
    default:
        return vl;
    }
}

/* Trains s through the plan's stretches, each with its values. */
static int train_stretches(const report_study *rs, config *c, const replay_plan *p, session *s, tl_err *err)
{
    int rc = 0;
    for (int k = 0; k < p->nseg && !rc; k++) {
        if (k > 0) {
            config next = *c;
            if ((rc = config_apply_values(&next, &rs->sp, p->seg[k].values, "pbt-replay", err)))
                break;
            session_apply_live(s, c, &next);
            *c = next;
        }
        rc = trainer_run(&s->tr, session_train(s), session_val(s), p->seg[k].end, NULL, NULL, err);
        if (!rc && s->tr.status == TRAIN_DIVERGED)
            rc = tl_fail(err, TL_ERUNTIME, "the replay diverged at epoch %d: %s", s->tr.epoch, s->tr.reason);
    }
    return rc;
}

int replay_run(const report_study *rs, config *c, const replay_plan *p, replay_result *r, tl_err *err)
{
    r->value = r->test_acc = r->test_loss = NAN;
    r->seconds = 0;
    c->epochs = p->seg[p->nseg - 1].end;
    int rc = config_apply_values(c, &rs->sp, p->seg[0].values, "pbt-replay", err);
    if (rc)
        return rc;
    task_data d;
    if ((rc = task_data_load(c, &d, err)))
        return rc;
    session s;
    if ((rc = session_new(&s, c, &d, err))) {
        task_data_free(&d);
        return rc;
    }
    double t0 = tl_now();
    rc = train_stretches(rs, c, p, &s, err);
    r->seconds = tl_now() - t0;
    if (!rc) {
        r->value = metric_value(rs, &s, r, err);
        if (isnan(r->value) && err && err->code)
            rc = err->code;
    }
    session_free(&s);
    task_data_free(&d);
    return rc;
}
