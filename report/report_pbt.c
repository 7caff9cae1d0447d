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
 *   it) with the `tunelab pbt-replay DB` command.
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "hpo/pbt.h"
#include "hpo/study.h"

/* tab10: distinct colours for the members (cycled beyond ten). */
static const unsigned COLOURS[] = { 0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                    0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf };
#define NCOLOURS ((int)(sizeof COLOURS / sizeof COLOURS[0]))
/* Beyond this many members the keys are left out (colours repeat). */
#define MAX_KEYED 12

static int pbt_applies(const report_study *rs)
{
    if (report_uses(rs, "pbt"))
        return 1;
    for (int i = 0; i < rs->ntrials; i++)
        if (report_trial_attr(rs, i, PBT_ATTR_LINEAGE))
            return 1;
    return 0;
}

/* The study's parsed lineages, by trial number (pbt_schedule's indexing). */
typedef struct pbt_view {
    int nnum;          /* max trial number + 1 */
    pbt_lineage *L;    /* (nnum) lineage of trial number k (empty when none) */
    int *at;           /* (nnum) index of trial number k in rs->trials, -1 when none */
    int *members;      /* (nmembers) trial numbers with a lineage, ascending */
    int *lane;         /* (nnum) a member's lane (its rank in members), -1 otherwise */
    int *end;          /* (nnum) a member's last position (epochs) */
    int *npts;         /* (nnum) scratch: points a figure has for each lane */
    int nmembers;
    int nexploits;
    int max_end;
    int live[SPACE_MAX_PARAMS];
    int best;          /* trial number of the best complete member, -1 when none */
    pbt_segment *seg;  /* (nseg) the best member's schedule; NULL when none */
    int nseg;
} pbt_view;

static void view_free(pbt_view *v)
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

/* End of entry j's stretch of training in l that the member kept: the next
 * entry's step, or the member's end; cut back to the next entry's position
 * when that is smaller (a synchronous copy one epoch after the copied
 * state: the member's epoch beyond it was thrown away). */
static int entry_end(const pbt_lineage *l, int j, int end)
{
    if (j + 1 >= l->n)
        return end;
    const pbt_entry *x = &l->e[j + 1];
    return x->pos < x->step ? x->pos : x->step;
}

/* The stretch [*a, *b) of entry j's training thrown away by the next entry
 * (see entry_end); returns 0 when there is none. */
static int entry_lost(const pbt_lineage *l, int j, int *a, int *b)
{
    if (j + 1 >= l->n || l->e[j].kind == PBT_FINAL)
        return 0;
    const pbt_entry *x = &l->e[j + 1];
    *a = x->pos > l->e[j].pos ? x->pos : l->e[j].pos;
    *b = x->step;
    return x->kind != PBT_RESTART && *b > *a;
}

static int view_load(const report_study *rs, pbt_view *v, tl_err *err)
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

/* A value for people: floats with 4 significant digits, ints and choices
 * as space_format_value writes them, "-" when inactive. */
static char *fmt_value(const space *sp, int i, double x, char *buf, size_t n)
{
    if (sp->p[i].kind == PARAM_FLOAT && isfinite(x))
        snprintf(buf, n, "%.4g", x);
    else
        space_format_value(sp, i, x, buf, n);
    return buf;
}

/* 1 when two internal values are equal (NAN, inactive, equals NAN). */
static int same_value(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Appends a member's step line of parameter i (blank line where the
 * position jumps or the parameter is inactive).  Returns the number of
 * points written. */
static int param_block(FILE *f, const pbt_lineage *l, int end, int i)
{
    int have = 0, last_x = 0, npts = 0;
    for (int j = 0; j < l->n; j++) {
        const pbt_entry *e = &l->e[j];
        if (e->kind == PBT_FINAL)
            continue;
        int b = entry_end(l, j, end);
        double y = e->values[i];
        if (b <= e->pos) /* a run lost to a restart, or nothing trained */
            continue;
        if (!isfinite(y)) {
            if (have)
                fprintf(f, "\n");
            have = 0;
            continue;
        }
        if (have && e->pos != last_x)
            fprintf(f, "\n"); /* a jump in position: break the line */
        fprintf(f, "%d %.17g\n%d %.17g\n", e->pos, y, b, y);
        have = 1;
        last_x = b;
        npts += 2;
    }
    return npts;
}

/* A legend title for member k ("trial 3", "trial 3 (best)"). */
static const char *member_title(const pbt_view *v, int k, char *buf, size_t n)
{
    snprintf(buf, n, "'trial %d%s'", k, k == v->best ? " (best)" : "");
    return buf;
}

static int finish(FILE *f, char **buf, tl_err *err)
{
    if (fclose(f) != 0) {
        free(*buf);
        *buf = NULL;
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    return 0;
}

/* A plain file name for parameter i's figure. */
static void param_png(const space *sp, int i, char *buf, size_t n)
{
    int u = snprintf(buf, n, "pbt_param_");
    for (const char *s = sp->p[i].name; *s && u + 5 < (int)n; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        buf[u++] = ok ? c : '_';
    }
    snprintf(buf + u, n - (size_t)u, ".png");
}

/* Writes parameter i's figure to png; *drawn receives the number of members
 * drawn (0: no figure). */
static int param_figure(const report_study *rs, const pbt_view *v, int i, const char *png,
                        report_out *o, int *drawn, tl_err *err)
{
    *drawn = 0;
    const space *sp = &rs->sp;
    const param *p = &sp->p[i];
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    snprintf(title, sizeof title, "%s: %s of every member against epochs%s", rs->name, p->name,
             v->nseg ? " (dashed: the best member's schedule)" : "");
    fprintf(f, "set title %s\nset grid\nset xlabel 'epoch (position of the member''s weights)'\n",
            report_gp_quote(title, q, sizeof q));
    fprintf(f, "set ylabel %s\nset xrange [0:%d]\n", report_gp_quote(p->name, q, sizeof q),
            v->max_end > 0 ? v->max_end : 1);
    if (v->max_end <= 20)
        fprintf(f, "set xtics 1\n");
    if (p->kind == PARAM_CAT) {
        fprintf(f, "set yrange [-0.5:%g]\nset ytics (", p->ncat - 0.5);
        for (int c = 0; c < p->ncat; c++)
            fprintf(f, "%s%s %d", c ? ", " : "", report_gp_quote(p->cats[c], q, sizeof q), c);
        fprintf(f, ")\n");
    } else if (p->log) {
        fprintf(f, "set logscale y\nset format y '%%g'\n");
    }
    fprintf(f, "%s", v->nmembers <= MAX_KEYED ? "set key below\n" : "set key off\n");
    for (int k = 0; k < v->nmembers; k++) {
        int m = v->members[k];
        fprintf(f, "$p%d << EOD\n", k);
        v->npts[k] = param_block(f, &v->L[m], v->end[m], i);
        *drawn += v->npts[k] > 0;
        fprintf(f, "EOD\n");
    }
    if (v->nseg) {
        fprintf(f, "$schedule << EOD\n");
        for (int s = 0; s < v->nseg; s++)
            if (isfinite(v->seg[s].values[i]))
                fprintf(f, "%d %.17g\n%d %.17g\n", v->seg[s].start, v->seg[s].values[i],
                        v->seg[s].end, v->seg[s].values[i]);
        fprintf(f, "EOD\n");
    }
    fprintf(f, "plot ");
    for (int k = 0, first = 1; k < v->nmembers; k++)
        if (v->npts[k]) {
            fprintf(f, "%s$p%d using 1:2 with lines lw 2 lc rgb '#%06x' title %s",
                    first ? "" : ", ", k, COLOURS[k % NCOLOURS],
                    member_title(v, v->members[k], q, sizeof q));
            first = 0;
        }
    if (v->nseg)
        fprintf(f, ", $schedule using 1:2 with lines lw 2 dt 2 lc rgb '#000000' title "
                   "'best member''s schedule'");
    fprintf(f, "\n");
    int rc = finish(f, &buf, err);
    if (!rc && *drawn)
        rc = report_plot(o, png, buf, err);
    free(buf);
    return rc;
}

static int lineage_figure(const report_study *rs, const pbt_view *v, report_out *o, tl_err *err)
{
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    int n = v->nmembers, xmax = v->max_end > 0 ? v->max_end : 1;
    snprintf(title, sizeof title, "%s: lineage (arrow: a member copies the weights of another)",
             rs->name);
    /* lane 0 on top; room on the right for the last values */
    fprintf(f, "set title %s\nset xlabel 'epoch (position of the member''s weights)'\n"
               "set ylabel 'member'\nset grid x\nset yrange [%g:-0.7]\nset xrange [0:%g]\n"
               "set key below\n",
            report_gp_quote(title, q, sizeof q), n - 0.3, xmax * 1.14 + 0.5);
    fprintf(f, "set xtics 0,%d,%d\n", xmax <= 20 ? 1 : (xmax + 9) / 10, xmax);
    if (n <= 40) {
        fprintf(f, "set ytics (");
        for (int k = 0; k < n; k++)
            fprintf(f, "%s'trial %d' %d", k ? ", " : "", v->members[k], k);
        fprintf(f, ")\n");
    }
    /* lanes: column 3 is the member's colour */
    fprintf(f, "$lanes << EOD\n");
    for (int k = 0; k < n; k++) {
        int m = v->members[k];
        const pbt_lineage *l = &v->L[m];
        for (int j = 0; j < l->n; j++) {
            int b = entry_end(l, j, v->end[m]);
            if (l->e[j].kind != PBT_FINAL && b > l->e[j].pos)
                fprintf(f, "%d %d %u\n%d %d %u\n\n", l->e[j].pos, k, COLOURS[k % NCOLOURS], b, k,
                        COLOURS[k % NCOLOURS]);
        }
    }
    fprintf(f, "EOD\n$lost << EOD\n");
    int nlost = 0;
    for (int k = 0; k < n; k++) {
        const pbt_lineage *l = &v->L[v->members[k]];
        for (int j = 0; j < l->n; j++) {
            int a, b;
            if (entry_lost(l, j, &a, &b)) {
                fprintf(f, "%d %g\n%d %g\n\n", a, k + 0.18, b, k + 0.18);
                nlost++;
            }
        }
    }
    fprintf(f, "EOD\n$ready << EOD\n");
    int nready = 0;
    for (int k = 0; k < n; k++) {
        const pbt_lineage *l = &v->L[v->members[k]];
        for (int j = 0; j < l->n; j++)
            if (l->e[j].ready && l->e[j].kind == PBT_READY) {
                fprintf(f, "%d %d %u\n", l->e[j].step, k, COLOURS[k % NCOLOURS]);
                nready++;
            }
    }
    /* arrows: from the source's lane to the member's, at the copied position */
    fprintf(f, "EOD\n$copies << EOD\n");
    int ncopies = 0;
    for (int k = 0; k < n; k++) {
        const pbt_lineage *l = &v->L[v->members[k]];
        for (int j = 0; j < l->n; j++) {
            const pbt_entry *e = &l->e[j];
            if (e->kind != PBT_EXPLOIT || e->src < 0 || e->src >= v->nnum || v->lane[e->src] < 0)
                continue;
            int s = v->lane[e->src];
            /* stop short of the lane so the head stays visible */
            double dy = (k - s) + (k > s ? -0.12 : 0.12);
            fprintf(f, "%d %d 0 %g %u\n", e->pos, s, dy, COLOURS[s % NCOLOURS]);
            ncopies++;
        }
    }
    fprintf(f, "EOD\n$best << EOD\n");
    for (int s = 0; s < v->nseg; s++) {
        int k = v->lane[v->seg[s].member];
        fprintf(f, "%d %d\n%d %d\n", v->seg[s].start, k, v->seg[s].end, k);
    }
    fprintf(f, "EOD\n");
    for (int k = 0; k < n; k++) {
        int m = v->members[k];
        double last = NAN;
        if (v->at[m] >= 0) {
            const trial *t = &rs->trials[v->at[m]].t;
            last = t->state == TRIAL_COMPLETE ? t->value
                   : t->nsteps                ? t->inter[t->nsteps - 1]
                                              : NAN;
        }
        if (isfinite(last))
            fprintf(f, "set label %d '%.5g%s' at %g,%d left front font ',9'\n", k + 1, last,
                    m == v->best ? " (best)" : "", v->end[m] + 0.15 + 0.01 * xmax, k);
    }
    fprintf(f, "plot ");
    if (v->nseg)
        fprintf(f, "$best using 1:2 with lines lw 9 lc rgb '#a0a0a0' title 'history of the "
                   "best member''s weights', ");
    fprintf(f, "$lanes using 1:2:3 with lines lw 3 lc rgb variable title 'a member''s "
               "training'");
    if (nlost)
        fprintf(f, ", $lost using 1:2 with lines lw 1.5 dt 2 lc rgb '#555555' title 'trained, "
                   "then thrown away by a late copy'");
    if (nready)
        fprintf(f, ", $ready using 1:2:3 with points pt 7 ps 0.9 lc rgb variable title 'ready "
                   "point (kept its weights)'");
    if (ncopies)
        fprintf(f, ", $copies using 1:2:3:4:5 with vectors filled head size screen 0.012,20 lw 2 "
                   "lc rgb variable title 'exploit: copy from the source''s lane'");
    fprintf(f, "\n");
    int rc = finish(f, &buf, err);
    if (!rc)
        rc = report_plot(o, "pbt_lineage.png", buf, err);
    free(buf);
    return rc;
}

/* Writes the metric figure; *drawn receives the number of members drawn. */
static int metric_figure(const report_study *rs, const pbt_view *v, report_out *o, int *drawn,
                         tl_err *err)
{
    *drawn = 0;
    int npts = 0;
    for (int k = 0; k < v->nmembers; k++) {
        int at = v->at[v->members[k]];
        npts += at >= 0 ? rs->trials[at].t.nsteps : 0;
    }
    /* the best value reported up to each epoch, over the population */
    int nx = v->max_end + 1;
    for (int k = 0; k < v->nmembers; k++) {
        int at = v->at[v->members[k]];
        int last = at >= 0 ? trial_last_step(&rs->trials[at].t) : 0;
        if (last + 1 > nx)
            nx = last + 1;
    }
    double *best = malloc(sizeof *best * (size_t)nx);
    double *vals = malloc(sizeof *vals * (size_t)(npts ? npts : 1));
    char *buf = NULL, q[400], title[300];
    size_t len = 0;
    FILE *f = best && vals ? open_memstream(&buf, &len) : NULL;
    if (!f) {
        free(best);
        free(vals);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    int maximize = rs->direction == STUDY_MAXIMIZE, nv = 0;
    for (int x = 0; x < nx; x++)
        best[x] = NAN;
    for (int k = 0; k < v->nmembers; k++) {
        fprintf(f, "$c%d << EOD\n", k);
        int at = v->at[v->members[k]];
        const trial *t = at >= 0 ? &rs->trials[at].t : NULL;
        int any = 0;
        for (int s = 0; t && s < t->nsteps; s++) {
            double y = t->inter[s];
            int x = t->steps[s];
            if (!isfinite(y) || x < 0 || x >= nx)
                continue;
            fprintf(f, "%d %.17g\n", x, y);
            vals[nv++] = y;
            any = 1;
            if (isnan(best[x]) || (maximize ? y > best[x] : y < best[x]))
                best[x] = y;
        }
        *drawn += any;
        v->npts[k] = any;
        fprintf(f, "EOD\n");
    }
    fprintf(f, "$best << EOD\n");
    double run = NAN;
    for (int x = 0; x < nx; x++) {
        if (isfinite(best[x]) && (isnan(run) || (maximize ? best[x] > run : best[x] < run)))
            run = best[x];
        if (isfinite(run))
            fprintf(f, "%d %.17g\n", x, run);
    }
    fprintf(f, "EOD\n$copies << EOD\n");
    int ncopies = 0;
    for (int k = 0; k < v->nmembers; k++) {
        const pbt_lineage *l = &v->L[v->members[k]];
        for (int j = 0; j < l->n; j++)
            if (l->e[j].kind == PBT_EXPLOIT && isfinite(l->e[j].value)) {
                fprintf(f, "%d %.17g %u\n", l->e[j].step, l->e[j].value, COLOURS[k % NCOLOURS]);
                ncopies++;
            }
    }
    fprintf(f, "EOD\n");
    snprintf(title, sizeof title, "%s: %s of the population (circle: the member copied another "
             "there)", rs->name, rs->metric);
    fprintf(f, "set title %s\n", report_gp_quote(title, q, sizeof q));
    fprintf(f, "set grid\nset xlabel 'epoch'\nset ylabel %s\n",
            report_gp_quote(rs->metric, q, sizeof q));
    if (nx - 1 <= 20)
        fprintf(f, "set xtics 1\n");
    if (report_log_axis(vals, nv))
        fprintf(f, "set logscale y\n");
    fprintf(f, "%s", v->nmembers <= MAX_KEYED ? "set key below\n" : "set key off\n");
    fprintf(f, "plot ");
    for (int k = 0; k < v->nmembers; k++)
        if (v->npts[k])
            fprintf(f, "$c%d using 1:2 with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '#%06x' "
                       "title %s, ",
                    k, COLOURS[k % NCOLOURS], member_title(v, v->members[k], title, sizeof title));
    fprintf(f, "$best using 1:2 with steps lw 3 lc rgb '#000000' title 'best so far'");
    if (ncopies)
        fprintf(f, ", $copies using 1:2:3 with points pt 6 ps 1.8 lw 2 lc rgb variable "
                   "title 'copied another member'");
    fprintf(f, "\n");
    free(best);
    free(vals);
    int rc = finish(f, &buf, err);
    if (!rc && *drawn)
        rc = report_plot(o, "pbt_metric.png", buf, err);
    free(buf);
    return rc;
}

/* The exploit table: one row per exploit record, in (step, member) order. */
static void exploit_table(const report_study *rs, const pbt_view *v, report_out *o)
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

/* Writes path quoted for a POSIX shell when it needs quoting. */
static void shell_word(const char *s, char *buf, size_t n)
{
    int plain = s[0] != 0;
    for (const char *p = s; *p; p++)
        plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+,:=@%",
                        *p) != NULL;
    if (plain) {
        snprintf(buf, n, "%s", s);
        return;
    }
    size_t u = 0;
    if (n < 3) {
        if (n)
            buf[0] = 0;
        return;
    }
    buf[u++] = '\'';
    for (const char *p = s; *p && u + 6 < n; p++) {
        if (*p == '\'') {
            memcpy(buf + u, "'\\''", 4);
            u += 4;
        } else {
            buf[u++] = *p;
        }
    }
    buf[u++] = '\'';
    buf[u] = 0;
}

static void schedule_table(const report_study *rs, const pbt_view *v, report_out *o)
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
    char path[1200];
    shell_word(rs->path, path, sizeof path);
    report_html(o, "<p>To check whether this schedule alone gives the result, retrain it from "
                   "scratch with the same values at the same epochs:</p>\n<p><code>tunelab "
                   "pbt-replay ");
    report_text(o, path);
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
    pbt_view v;
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
        param_png(sp, i, png, sizeof png);
        if ((rc = param_figure(rs, &v, i, png, o, &drawn, err)))
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
    if (!rc && v.max_end > 0 && !(rc = lineage_figure(rs, &v, o, err)))
        report_figure(o, "pbt_lineage.png",
                      "Lineage: one lane per member, a dot at each ready point where it kept its "
                      "weights, an arrow from the source's lane at each exploit; the thick grey "
                      "path follows the best member's weights back; each lane ends with the "
                      "member's last value.");
    if (!rc && v.max_end > 0 && !(rc = metric_figure(rs, &v, o, &drawn, err))) {
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
