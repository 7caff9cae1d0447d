/* report/report_pbt.c: the population-based-training section of `tunelab
 * report` (id "pbt"), for studies run with the pbt scheduler (or whose
 * trials carry the "pbt.lineage" records of hpo/pbt.h):
 *   pbt_param_<name>.png  one per live parameter (study attribute
 *                         "pbt.live"): the value in force against the
 *                         epochs of a member's weights, a step line per
 *                         member (one colour each), the best member's
 *                         discovered schedule dashed in black; log y axis
 *                         for log-scaled parameters, choice names for
 *                         categoricals;
 *   pbt_lineage.png       members as horizontal lanes against epochs, a
 *                         dot at each ready point, an arrow from the
 *                         source's lane to the member's at each exploit,
 *                         the history of the best member's weights drawn
 *                         thick through the lanes, and each member's last
 *                         value at its lane's end;
 *   pbt_metric.png        every member's intermediate values against
 *                         epochs, a circle where a member copied, and the
 *                         best value reported so far by any member;
 *   HTML: a short explanation for students, a summary (members, exploits,
 *   member-epochs, "pbt.note"), the table of exploits (epoch, member,
 *   copied from, values before -> after) and the best member's schedule
 *   (pbt_schedule: values per stretch of epochs, whichever member trained
 *   it) with the `tunelab pbt-replay DB` command (the program and the
 *   database's absolute path as a shell finds them, util/shell.h).
 * This file builds the view of the lineages and writes the text and the
 * tables; the figures are drawn by report/report_pbt_figures.c.
 * The records are parsed with pbt_lineage_parse and the schedule is
 * followed with pbt_schedule (hpo/pbt.h); nothing is re-derived from the
 * JSON here.  The x axis is the position of a member's weights in epochs:
 * in synchronous mode a member copies one epoch after its ready point, so
 * the epoch it trained past the copied state is lost: its parameter line
 * ends at the copied epoch, the lineage draws the lost stretch dashed
 * beside the lane, and the exploit table names the copied epoch.  A study
 * with no trained epoch gets the text and tables without figures; damaged
 * or inconsistent records fail the section with TL_EINPUT naming the
 * trial.  The pbt-replay command is shown for the training objective only.
 * Does not: write the database, draw parameters that are fixed per lineage
 * (they change only by copying and are listed in the exploit table), or
 * draw trials without a lineage.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pbt.h"
#include "report/report.h"
#include "report/report_pbt.h"
#include "util/shell.h"

static int pbt_applies(const report_study *rs)
{
    if (report_uses(rs, "pbt"))
        return 1;
    for (int i = 0; i < rs->ntrials; i++)
        if (report_trial_attr(rs, i, PBT_ATTR_LINEAGE))
            return 1;
    return 0;
}

static void view_free(report_pbt_view *v)
{
    for (int k = 0; v->L && k < v->nnum; k++)
        pbt_lineage_free(&v->L[k]);
    free(v->L);
    free(v->at);
    free(v->members);
    free(v->lane);
    free(v->end);
    free(v->npts);
    free(v->seg);
    memset(v, 0, sizeof *v);
}

static int view_load(const report_study *rs, report_pbt_view *v, tl_err *err)
{
    memset(v, 0, sizeof *v);
    v->best = -1;
    for (int i = 0; i < rs->ntrials; i++)
        if (rs->trials[i].t.number >= v->nnum)
            v->nnum = rs->trials[i].t.number + 1;
    size_t n = (size_t)(v->nnum ? v->nnum : 1);
    v->L = calloc(n, sizeof *v->L);
    v->at = malloc(n * sizeof *v->at);
    v->members = malloc(n * sizeof *v->members);
    v->lane = malloc(n * sizeof *v->lane);
    v->end = calloc(n, sizeof *v->end);
    v->npts = calloc(n, sizeof *v->npts);
    if (!v->L || !v->at || !v->members || !v->lane || !v->end || !v->npts) {
        view_free(v);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    for (int k = 0; k < v->nnum; k++)
        v->at[k] = v->lane[k] = -1;
    for (int i = 0; i < rs->ntrials; i++) {
        int num = rs->trials[i].t.number;
        if (num < 0)
            continue;
        v->at[num] = i;
        const char *json = report_trial_attr(rs, i, PBT_ATTR_LINEAGE);
        if (!json)
            continue;
        tl_err pe = { 0 };
        if (pbt_lineage_parse(&rs->sp, json, &v->L[num], &pe)) {
            view_free(v);
            /* damaged data in the database: TL_EINPUT (the command exits 2) */
            return tl_fail(err, TL_EINPUT, "trial %d: %s", num, pe.msg);
        }
    }
    for (int k = 0; k < v->nnum; k++) {
        const pbt_lineage *l = &v->L[k];
        if (!l->n)
            continue;
        v->lane[k] = v->nmembers;
        v->members[v->nmembers++] = k;
        int end = l->e[l->n - 1].pos;
        if (l->e[l->n - 1].kind == PBT_FINAL) {
            end = l->e[l->n - 1].step;
        } else if (v->at[k] >= 0) {
            int last = trial_last_step(&rs->trials[v->at[k]].t);
            if (last > end)
                end = last;
        }
        v->end[k] = end;
        if (end > v->max_end)
            v->max_end = end;
        for (int j = 0; j < l->n; j++)
            v->nexploits += l->e[j].kind == PBT_EXPLOIT;
    }
    const char *live = report_study_attr(rs, PBT_ATTR_LIVE);
    pbt_live_mask(&rs->sp, live ? live : PBT_LIVE_DEFAULT, v->live);
    if (rs->best >= 0) {
        int b = rs->trials[rs->best].t.number;
        if (b >= 0 && b < v->nnum && v->L[b].n) {
            tl_err se = { 0 };
            if (pbt_schedule(v->L, v->nnum, b, v->end[b], &v->seg, &v->nseg, &se)) {
                view_free(v);
                return tl_fail(err, se.code == TL_EINPUT ? TL_EINPUT : TL_ERUNTIME, "%s", se.msg);
            }
            v->best = b;
        }
    }
    return 0;
}

/* A value for people (report_value_text). */
static const char *fmt_value(const space *sp, int i, double x, char *buf, size_t n)
{
    return report_value_text(sp, i, x, buf, n);
}

/* 1 when two internal values are equal (NAN, inactive, equals NAN). */
static int same_value(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* The exploit table: one row per exploit record, in (step, member) order. */
static void exploit_table(const report_study *rs, const report_pbt_view *v, report_out *o)
{
    const space *sp = &rs->sp;
    report_html(o, "<h3>Exploits</h3>\n");
    if (!v->nexploits) {
        report_html(o, "<p>No member copied another.</p>\n");
        return;
    }
    report_html(o, "<table>\n<tr><th>epoch</th><th>member</th><th>its ");
    report_text(o, rs->metric);
    report_html(o, "</th><th>copied from</th><th>source&#39;s ");
    report_text(o, rs->metric);
    report_html(o, "</th><th>values before &rarr; after</th></tr>\n");
    int max_step = 0;
    for (int k = 0; k < v->nmembers; k++) {
        const pbt_lineage *l = &v->L[v->members[k]];
        for (int j = 0; j < l->n; j++)
            if (l->e[j].step > max_step)
                max_step = l->e[j].step;
    }
    char a[128], b[128];
    for (int step = 0; step <= max_step; step++)
        for (int k = 0; k < v->nmembers; k++) {
            int m = v->members[k];
            const pbt_lineage *l = &v->L[m];
            for (int j = 0; j < l->n; j++) {
                const pbt_entry *e = &l->e[j];
                if (e->kind != PBT_EXPLOIT || e->step != step)
                    continue;
                double sv = NAN;
                if (e->src >= 0 && e->src < v->nnum && e->src_entry >= 0 &&
                    e->src_entry < v->L[e->src].n)
                    sv = v->L[e->src].e[e->src_entry].value;
                report_html(o, "<tr class=\"exploit\"><td class=\"num\">%d", e->step);
                if (e->pos != e->step)
                    report_html(o, " (state of epoch %d)", e->pos);
                report_html(o, "</td><td class=\"num\">%d</td>", m);
                if (isfinite(e->value))
                    report_html(o, "<td class=\"num\">%.4g</td>", e->value);
                else
                    report_html(o, "<td class=\"num\">-</td>");
                report_html(o, "<td class=\"num\">%d</td>", e->src);
                if (isfinite(sv))
                    report_html(o, "<td class=\"num\">%.4g</td>", sv);
                else
                    report_html(o, "<td class=\"num\">-</td>");
                report_html(o, "<td>");
                const double *before = j > 0 ? l->e[j - 1].values : NULL;
                int shown = 0;
                for (int i = 0; i < sp->n; i++) {
                    if (before && same_value(before[i], e->values[i]))
                        continue;
                    report_html(o, "%s", shown++ ? "<br>" : "");
                    report_text(o, sp->p[i].name);
                    report_html(o, " ");
                    report_text(o, before ? fmt_value(sp, i, before[i], a, sizeof a) : "?");
                    report_html(o, " &rarr; ");
                    report_text(o, fmt_value(sp, i, e->values[i], b, sizeof b));
                }
                report_html(o, "%s</td></tr>\n", shown ? "" : "unchanged");
            }
        }
    report_html(o, "</table>\n");
}

static void schedule_table(const report_study *rs, const report_pbt_view *v, report_out *o)
{
    const space *sp = &rs->sp;
    report_html(o, "<h3>The best member&#39;s schedule</h3>\n");
    if (!v->nseg) {
        report_html(o, "<p>No member has completed yet: the schedule of the best one appears "
                       "here when one has.</p>\n");
        return;
    }
    const trial *bt = &rs->trials[v->at[v->best]].t;
    report_html(o, "<p>Trial %d finished best (", v->best);
    report_text(o, rs->metric);
    report_html(o, " %.6g). Its weights were trained by %s: following them back through every "
                   "copy gives the values in force over each stretch of epochs, the "
                   "hyperparameter schedule PBT discovered.</p>\n",
                bt->value, v->nseg == 1 ? "itself alone" : "these members in turn");
    report_html(o, "<table>\n<tr><th>epochs</th><th>trained by</th>");
    for (int i = 0; i < sp->n; i++) {
        report_html(o, "<th>");
        report_text(o, sp->p[i].name);
        report_html(o, "%s</th>", v->live[i] ? "" : " (fixed)");
    }
    report_html(o, "</tr>\n");
    char b[128];
    for (int s = 0; s < v->nseg; s++) {
        report_html(o, "<tr class=\"segment\"><td class=\"num\">%d&ndash;%d</td>"
                       "<td class=\"num\">trial %d</td>",
                    v->seg[s].start, v->seg[s].end, v->seg[s].member);
        for (int i = 0; i < sp->n; i++) {
            report_html(o, "<td class=\"num\">");
            report_text(o, fmt_value(sp, i, v->seg[s].values[i], b, sizeof b));
            report_html(o, "</td>");
        }
        report_html(o, "</tr>\n");
    }
    report_html(o, "</table>\n");
    if (rs->objective[0] && strcmp(rs->objective, "train") != 0)
        return; /* pbt-replay retrains a model: only for the training objective */
    /* the program and the database as a shell finds them from any folder,
     * as the retrain line (util/shell.h) */
    char prog[4096], abs[PATH_MAX], cmd[8192];
    tl_program_name(prog, sizeof prog);
    size_t at = tl_shell_append(cmd, sizeof cmd, 0, prog);
    at = tl_text_append(cmd, sizeof cmd, at, " pbt-replay ");
    tl_shell_append(cmd, sizeof cmd, at, realpath(rs->path, abs) ? abs : rs->path);
    report_html(o, "<p>To check whether this schedule alone gives the result, retrain it from "
                   "scratch with the same values at the same epochs:</p>\n<p><code>");
    report_text(o, cmd);
    report_html(o, "</code></p>\n");
}

static const char *const EXPLAIN =
    "<p>Population-based training (Jaderberg et al. 2017) trains a population of members side "
    "by side. Every few epochs a member is <em>ready</em>: it is ranked against the others, and "
    "a member in the bottom of the ranking copies the weights, optimizer state and schedule "
    "position of a member from the top (<em>exploit</em>) and perturbs the copied "
    "hyperparameters (<em>explore</em>); the others keep their weights and values. A "
    "member&#39;s hyperparameters therefore change while it trains, and what PBT finds is a "
    "<em>schedule</em> (for instance a learning rate that drops after a few epochs), not one "
    "value.</p>\n<p>How to read the figures: the x axis is the position of a member&#39;s "
    "weights in epochs. In the parameter figures each colour is one member; a jump is an "
    "exploit or an explore. In the lineage figure each member is a lane and an arrow leaves the "
    "source&#39;s lane at the epoch whose state was copied; the thick grey path is the history "
    "of the best member&#39;s weights, whichever member trained them. The metric figure shows "
    "each member&#39;s value per epoch: a member that copies takes on its source&#39;s "
    "curve.</p>\n";

static int pbt_write(const report_study *rs, report_out *o, tl_err *err)
{
    report_pbt_view v;
    int rc = view_load(rs, &v, err);
    if (rc)
        return rc;
    report_html(o, "%s", EXPLAIN);
    if (!v.nmembers) {
        report_html(o, "<p>No trial carries a PBT lineage record (attribute %s) yet.</p>\n",
                    PBT_ATTR_LINEAGE);
        view_free(&v);
        return 0;
    }
    int work = 0;
    for (int k = 0; k < v.nmembers; k++)
        work += pbt_member_work(&v.L[v.members[k]], v.end[v.members[k]]);
    report_html(o, "<p>%d members, %d exploit%s, %d member-epochs of training (at most %d "
                   "epoch%s per member).",
                v.nmembers, v.nexploits, v.nexploits == 1 ? "" : "s", work, v.max_end,
                v.max_end == 1 ? "" : "s");
    const char *note = report_study_attr(rs, PBT_ATTR_NOTE);
    if (note) {
        report_html(o, " ");
        report_text(o, note);
        report_html(o, ".");
    }
    const char *mode = report_study_attr(rs, PBT_ATTR_MODE);
    if (mode && strcmp(mode, "pbt") != 0) {
        report_html(o, " Mode: ");
        report_text(o, mode);
        report_html(o, " (an ablation).");
    }
    report_html(o, "</p>\n");

    const space *sp = &rs->sp;
    int nlive = 0, drawn = 0;
    char png[300], cap[800];
    if (v.max_end <= 0) /* every figure would be empty */
        report_html(o, "<p>No member has trained an epoch yet.</p>\n");
    for (int i = 0; i < sp->n && !rc && v.max_end > 0; i++) {
        if (!v.live[i])
            continue;
        nlive++;
        report_pbt_param_png(sp, i, png, sizeof png);
        if ((rc = report_pbt_param_figure(rs, &v, i, png, o, &drawn, err)))
            break;
        if (!drawn) {
            report_html(o, "<p>");
            report_text(o, sp->p[i].name);
            report_html(o, " was not active in any member&#39;s training.</p>\n");
            continue;
        }
        snprintf(cap, sizeof cap, "%s in force against epochs, one step line per member%s%s.",
                 sp->p[i].name, sp->p[i].log ? " (log scale)" : "",
                 v.nseg ? "; dashed: the schedule of the best member's weights" : "");
        report_figure(o, png, cap);
    }
    if (!rc && !nlive && v.max_end > 0)
        report_html(o, "<p>No parameter of the space is live (changed mid-run), so there is no "
                       "schedule to draw.</p>\n");
    if (!rc && v.max_end > 0 && !(rc = report_pbt_lineage_figure(rs, &v, o, err)))
        report_figure(o, "pbt_lineage.png",
                      "Lineage: one lane per member, a dot at each ready point where it kept its "
                      "weights, an arrow from the source's lane at each exploit; the thick grey "
                      "path follows the best member's weights back; each lane ends with the "
                      "member's last value.");
    if (!rc && v.max_end > 0 && !(rc = report_pbt_metric_figure(rs, &v, o, &drawn, err))) {
        if (drawn) {
            snprintf(cap, sizeof cap, "%s of every member against epochs; black: the best value "
                     "reported so far by any member; circles: the value a member reported when "
                     "it copied another (in synchronous mode one epoch past the copied state: "
                     "that epoch is then trained again from the copy, and its value replaced).",
                     rs->metric);
            report_figure(o, "pbt_metric.png", cap);
        } else {
            report_html(o, "<p>No member reported intermediate values.</p>\n");
        }
    }
    if (!rc) {
        exploit_table(rs, &v, o);
        schedule_table(rs, &v, o);
    }
    view_free(&v);
    return rc;
}

/* The section (registered in SECTIONS, report/report.c); cannot fail to exist. */
const report_section report_section_pbt = { "pbt", "Population-based training", pbt_applies,
                                            pbt_write };
