/* report/report_pbt_figures.c: the figures of the population-based-training
 * section (report/report_pbt.c), drawn from its view of the lineages
 * (report/report_pbt.h):
 *   pbt_param_<name>.png  the value of one live parameter in force against
 *                         the epochs of a member's weights, a step line per
 *                         member, the best member's schedule dashed;
 *   pbt_lineage.png       members as lanes against epochs, ready points,
 *                         exploit arrows from the source's lane, the best
 *                         member's history thick, lost stretches dashed;
 *   pbt_metric.png        every member's intermediate values, a circle
 *                         where it copied, the best value so far.
 * Does not: parse records or follow schedules (the view comes built), or
 * write HTML beyond the figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpo/pbt.h"
#include "report/report.h"
#include "report/report_pbt.h"

/* tab10: distinct colours for the members (cycled beyond ten). */
static const unsigned COLOURS[] = { 0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                    0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf };
#define NCOLOURS ((int)(sizeof COLOURS / sizeof COLOURS[0]))
/* Beyond this many members the keys are left out (colours repeat). */
#define MAX_KEYED 12

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
static const char *member_title(const report_pbt_view *v, int k, char *buf, size_t n)
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
void report_pbt_param_png(const space *sp, int i, char *buf, size_t n)
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
int report_pbt_param_figure(const report_study *rs, const report_pbt_view *v, int i,
                            const char *png, report_out *o, int *drawn, tl_err *err)
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

int report_pbt_lineage_figure(const report_study *rs, const report_pbt_view *v, report_out *o,
                              tl_err *err)
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
               "set key outside top center horizontal\n", /* below, it hid the x label */
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
int report_pbt_metric_figure(const report_study *rs, const report_pbt_view *v, report_out *o,
                             int *drawn, tl_err *err)
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
