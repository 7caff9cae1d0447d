/* report/report.c: the report's frame: the registry of sections, the output
 * folder, index.html (header, navigation, one <section> per applicable
 * report_section, footer) and the helpers sections use (gnuplot figures,
 * HTML escaping).  See report/report.h for how to add a section.
 *
 * Does not: read the database (report_load.c), draw the built-in figures
 * (report_basic.c), format show/best/export (report_export.c), or print.  The page has no script, no external style
 * sheet and only relative image paths, so the folder can be moved or
 * served as it is.
 */
#include "report/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/version.h"
#include "report/plot.h"
#include "report/report_importance.h"

/* The registry, in page order.  Other tuners: replace your NULL with the
 * address of your section (and declare it in report/report.h). */
static const report_section *const SECTIONS[] = {
    &report_section_summary,
    &report_section_history,
    &report_section_params,
    &report_section_curves,
    &report_section_gp, /* bayes: report/report_gp.c */
    &report_section_hyperband, /* sha/hyperband/asha: report/report_hyperband.c */
    &report_section_pbt, /* pbt: report/report_pbt.c */
    &report_section_pareto, /* nas: report/report_nas.c */
    &report_section_family, /* nas.inherit: report/report_family.c */
    &report_section_importance, /* any sampler: report/report_importance.c */
};
#define NSECTIONS ((int)(sizeof SECTIONS / sizeof SECTIONS[0]))

struct report_out {
    const char *dir;
    FILE *html;
    int nfig;
};

/* ---- helpers ---- */

char *report_esc(const char *text, char *buf, size_t n)
{
    size_t at = 0;
    if (!n)
        return buf;
    for (const char *s = text ? text : ""; *s && at + 1 < n; s++) {
        const char *r = NULL;
        switch (*s) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '"': r = "&quot;"; break;
        case '\'': r = "&#39;"; break;
        default: break;
        }
        if (r) {
            size_t l = strlen(r);
            if (at + l >= n)
                break;
            memcpy(buf + at, r, l);
            at += l;
        } else {
            buf[at++] = *s;
        }
    }
    buf[at] = 0;
    return buf;
}

char *report_gp_quote(const char *text, char *buf, size_t n)
{
    size_t at = 0;
    if (n < 3) {
        if (n)
            buf[0] = 0;
        return buf;
    }
    buf[at++] = '\'';
    for (const char *s = text ? text : ""; *s && at + 3 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'') {
            buf[at++] = '\'';
            buf[at++] = '\'';
        } else {
            buf[at++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    buf[at++] = '\'';
    buf[at] = 0;
    return buf;
}

int report_log_axis(const double *v, int n)
{
    double lo = 0, hi = 0;
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (!(v[k] > 0))
            return 0;
        if (!any || v[k] < lo)
            lo = v[k];
        if (!any || v[k] > hi)
            hi = v[k];
        any = 1;
    }
    return any && hi > 1e3 * lo;
}

void report_html(report_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->html, fmt, ap);
    va_end(ap);
}

void report_text(report_out *o, const char *text)
{
    for (const char *s = text ? text : ""; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o->html); break;
        case '<': fputs("&lt;", o->html); break;
        case '>': fputs("&gt;", o->html); break;
        case '"': fputs("&quot;", o->html); break;
        case '\'': fputs("&#39;", o->html); break;
        default: fputc(*s, o->html); break;
        }
    }
}

void report_figure(report_out *o, const char *png, const char *caption)
{
    report_html(o, "<figure><img src=\"");
    report_text(o, png);
    report_html(o, "\" alt=\"");
    report_text(o, caption);
    report_html(o, "\"><figcaption>");
    report_text(o, caption);
    report_html(o, "</figcaption></figure>\n");
}

int report_plot(report_out *o, const char *png, const char *script, tl_err *err)
{
    if (!png[0] || strchr(png, '/'))
        return tl_fail(err, TL_ERUNTIME, "report: figure name '%s' must be a plain file name", png);
    size_t plen = strlen(o->dir) + strlen(png) + 2;
    char *path = malloc(plen);
    char *q = malloc(2 * plen + 3);
    if (!path || !q) {
        free(path);
        free(q);
        return tl_fail(err, TL_ERUNTIME, "report: out of memory");
    }
    snprintf(path, plen, "%s/%s", o->dir, png);
    report_gp_quote(path, q, 2 * plen + 3);
    unlink(path); /* a stale figure must not pass the check below */
    char *full = NULL;
    size_t flen = 0;
    FILE *f = open_memstream(&full, &flen);
    int rc = 0;
    if (!f) {
        rc = tl_fail(err, TL_ERUNTIME, "report: out of memory");
        goto out;
    }
    fprintf(f, "%sset output %s\n%s\nunset output\n", plot_png_terminal(), q, script);
    fclose(f);
    if ((rc = plot_run(full, err))) {
        tl_prefix(err, "%s", path);
        goto out;
    }
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size == 0) {
        rc = tl_fail(err, TL_ERUNTIME, "%s: gnuplot wrote no figure", path);
        goto out;
    }
    o->nfig++;
out:
    free(full);
    free(path);
    free(q);
    return rc;
}

/* ---- the page ---- */

/* mkdir -p: creates dir and its missing parents.  Returns 0 or errno. */
static int make_dirs(const char *dir)
{
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return errno;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

static const char *const STYLE =
    "body{font-family:sans-serif;max-width:1000px;margin:1em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;font-size:90%}th{background:#f0f0f0}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
    "figcaption{font-size:85%;color:#555}code{background:#f6f6f6;padding:1px 4px;word-break:break-all}"
    "p.error{color:#b00;font-weight:bold}nav a{margin-right:1em}";

int report_write(const report_study *rs, const char *dir, int *nfigures, tl_err *err)
{
    if (nfigures)
        *nfigures = 0;
    int e = make_dirs(dir);
    if (e)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot create the report folder: %s", dir, strerror(e));
    char tmp[1100], final[1100];
    snprintf(tmp, sizeof tmp, "%s/.index.html.tmp", dir);
    snprintf(final, sizeof final, "%s/index.html", dir);
    report_out o = {.dir = dir};
    o.html = fopen(tmp, "w");
    if (!o.html)
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", dir, strerror(errno));

    const report_section *use[NSECTIONS];
    int nuse = 0;
    for (int k = 0; k < NSECTIONS; k++)
        if (SECTIONS[k] && (!SECTIONS[k]->applies || SECTIONS[k]->applies(rs)))
            use[nuse++] = SECTIONS[k];

    report_html(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    report_text(&o, rs->name);
    report_html(&o, " - tunelab report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Study ", STYLE);
    report_text(&o, rs->name);
    report_html(&o, "</h1>\n<nav>");
    for (int k = 0; k < nuse; k++) {
        report_html(&o, "<a href=\"#");
        report_text(&o, use[k]->id);
        report_html(&o, "\">");
        report_text(&o, use[k]->title);
        report_html(&o, "</a>");
    }
    report_html(&o, "</nav>\n");

    int first_rc = 0;
    for (int k = 0; k < nuse; k++) {
        report_html(&o, "<section id=\"");
        report_text(&o, use[k]->id);
        report_html(&o, "\">\n<h2>");
        report_text(&o, use[k]->title);
        report_html(&o, "</h2>\n");
        tl_err se = {0};
        int rc = use[k]->write(rs, &o, &se);
        if (rc) {
            report_html(&o, "<p class=\"error\">");
            report_text(&o, se.msg);
            report_html(&o, "</p>\n");
            if (!first_rc) {
                first_rc = rc;
                if (err)
                    *err = se;
                tl_prefix(err, "report section %s", use[k]->id);
            }
        }
        report_html(&o, "</section>\n");
    }
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (localtime_r(&now, &tmv))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tmv);
    report_html(&o, "<footer><p>Written by tunelab %s on %s from ", TUNELAB_VERSION, when);
    report_text(&o, rs->path);
    report_html(&o, ".</p></footer>\n</body>\n</html>\n");

    int bad = ferror(o.html);
    if (fclose(o.html) != 0 || bad) {
        unlink(tmp);
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", tmp, strerror(errno ? errno : EIO));
    }
    if (rename(tmp, final) != 0) {
        e = errno;
        unlink(tmp);
        return tl_fail(err, TL_ERUNTIME, "%s: cannot write: %s", final, strerror(e));
    }
    if (nfigures)
        *nfigures = o.nfig;
    return first_rc ? TL_ERUNTIME : 0;
}
