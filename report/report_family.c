/* report/report_family.c: the "Family tree" section of an architecture
 * search with weight inheritance (nas.inherit, tune/nas_inherit.h): every
 * trial under its parent (trials.parent, set by the evolution sampler),
 * with its architecture, its value, and what it inherited (trial attribute
 * "inherit": the morphism and whether it was exact, or "from scratch" and
 * why, e.g. the parent's state was gone).  Random draws of the initial
 * population are the roots.  HTML only, nested lists; no figure.
 *
 * Applies when some trial has the "inherit" attribute.  Does not: read
 * the database itself, or know the morphisms (it prints their text).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define FAMILY_MAX_DEPTH 256 /* deeper lineages are cut (with a note) */

static int family_applies(const report_study *rs)
{
    for (int i = 0; i < rs->ntrials; i++)
        if (report_trial_attr(rs, i, "inherit"))
            return 1;
    return 0;
}

/* Index of the trial numbered n, or -1. */
static int index_of(const report_study *rs, int n)
{
    if (n >= 0 && n < rs->ntrials && rs->trials[n].t.number == n)
        return n;
    for (int i = 0; i < rs->ntrials; i++)
        if (rs->trials[i].t.number == n)
            return i;
    return -1;
}

/* "how it started" of trial i into buf: the morphism, from scratch (why),
 * or "" for a root (report/report.h). */
void report_family_how(const report_study *rs, int i, char *buf, size_t n)
{
    buf[0] = 0;
    const char *a = report_trial_attr(rs, i, "inherit");
    cJSON *j = a ? cJSON_Parse(a) : NULL;
    if (!j) {
        if (rs->trials[i].t.parent >= 0)
            snprintf(buf, n, "mutated, trained from scratch");
        return;
    }
    const cJSON *from = cJSON_GetObjectItem(j, "from"), *m = cJSON_GetObjectItem(j, "morph"),
                *why = cJSON_GetObjectItem(j, "why"), *ex = cJSON_GetObjectItem(j, "exact");
    if (cJSON_IsString(from) && !strcmp(from->valuestring, "parent"))
        snprintf(buf, n, "inherited: %s%s", cJSON_IsString(m) ? m->valuestring : "?",
                 cJSON_IsNumber(ex) && ex->valueint == 1 ? " [exact]" : "");
    else
        snprintf(buf, n, "from scratch: %s", cJSON_IsString(why) ? why->valuestring : "no parent state");
    cJSON_Delete(j);
}

static void node(const report_study *rs, report_out *o, int i)
{
    const trial *t = &rs->trials[i].t;
    char arch[512], how[300], e1[700], e2[400], e3[64];
    arch[0] = 0;
    size_t u = 0;
    for (int p = 0; p < rs->sp.n && u < sizeof arch; p++) {
        if (isnan(t->values[p]))
            continue;
        char s[64];
        space_format_value(&rs->sp, p, t->values[p], s, sizeof s);
        u += (size_t)snprintf(arch + u, sizeof arch - u, "%s%s=%s", u ? " " : "", rs->sp.p[p].name, s);
    }
    report_family_how(rs, i, how, sizeof how);
    const char *ep = report_trial_attr(rs, i, "epochs");
    const char *reused = report_trial_attr(rs, i, "reused_from");
    report_html(o, "<li><b>trial %d</b> %s = %.5g%s%s%s: %s%s%s%s%s\n", t->number, rs->metric, t->value,
                i == rs->best ? " <b>(best)</b>" : "", ep ? ", epochs " : "", ep ? ep : "",
                report_esc(arch, e1, sizeof e1), how[0] ? " &mdash; " : "", report_esc(how, e2, sizeof e2),
                reused ? " &mdash; reused the result of trial " : "", reused ? report_esc(reused, e3, sizeof e3) : "");
}

/* Trial i and, below it, its children (depth-first, number order). */
static void subtree(const report_study *rs, report_out *o, int i, int depth)
{
    node(rs, o, i);
    if (depth >= FAMILY_MAX_DEPTH) {
        report_html(o, "<ul><li>(deeper descendants not shown)</li></ul></li>\n");
        return;
    }
    int open = 0;
    for (int k = 0; k < rs->ntrials; k++) {
        if (rs->trials[k].t.parent != rs->trials[i].t.number)
            continue;
        if (!open++)
            report_html(o, "<ul>\n");
        subtree(rs, o, k, depth + 1);
    }
    report_html(o, open ? "</ul></li>\n" : "</li>\n");
}

static int family_write(const report_study *rs, report_out *o, tl_err *err)
{
    int nin = 0, nexact = 0, nscratch = 0;
    for (int i = 0; i < rs->ntrials; i++) {
        const char *a = report_trial_attr(rs, i, "inherit");
        if (!a)
            continue;
        nin++;
        nexact += strstr(a, "\"exact\": 1") != NULL;
        nscratch += strstr(a, "\"from\": \"scratch\"") != NULL;
    }
    report_html(o,
                "<p>%d children: %d inherited their parent's weights (%d through an exact morphism), %d "
                "trained from scratch because the parent's state was unavailable.  Optimizer state is reset "
                "for every child.</p>\n<ul>\n",
                nin, nin - nscratch, nexact, nscratch);
    for (int i = 0; i < rs->ntrials; i++) {
        int p = rs->trials[i].t.parent;
        if (p < 0 || index_of(rs, p) < 0)
            subtree(rs, o, i, 0);
    }
    report_html(o, "</ul>\n");
    return 0;
}

const report_section report_section_family = { "family", "Family tree", family_applies, family_write };
