/* tests/test_layout.c: the one-way dependencies of ARCHITECTURE.md, checked
 * on the sources: every `#include "dir/..."` of a folder's .c and .h files
 * must name a folder that folder may know.  Run from the repository root
 * (as `make test` does). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

typedef struct rule {
    const char *dir;
    const char *may; /* space-separated folders it may include */
} rule;

static const rule RULES[] = {
    {"util", "util"},
    {"nn", "util nn"},
    {"data", "util data"},
    {"hpo", "util hpo"},
    {"report", "util hpo report"},
    {"tune", "util nn data hpo report tune"},
    {"cli", "util tune report cli"},
};

/* 1 when folder `dir` may include "inc/..." under rule r. */
static int allowed(const rule *r, const char *inc)
{
    char want[32];
    size_t n = strcspn(inc, "/");
    if (n == strlen(inc) || n >= sizeof want)
        return 1; /* not a folder include ("cblas.h"-like local names) */
    memcpy(want, inc, n);
    want[n] = 0;
    const char *p = r->may;
    while (*p) {
        size_t m = strcspn(p, " ");
        if (m == n && !strncmp(p, want, n))
            return 1;
        p += m;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* Checks one file; returns the number of forbidden includes, logging each. */
static int check_file(const rule *r, const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[512];
    int bad = 0, no = 0;
    while (fgets(line, sizeof line, f)) {
        no++;
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (strncmp(s, "#include \"", 10))
            continue;
        const char *inc = s + 10;
        if (!allowed(r, inc)) {
            cr_log_error("%s:%d: %s/ may not include %.*s", path, no, r->dir,
                         (int)strcspn(inc, "\""), inc);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

Test(layout, folders_include_only_what_they_may_know)
{
    int bad = 0, files = 0;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        DIR *d = opendir(RULES[i].dir);
        cr_assert_not_null(d, "no folder %s/: run the suite from the repository root", RULES[i].dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || e->d_name[n - 2] != '.' || (e->d_name[n - 1] != 'c' && e->d_name[n - 1] != 'h'))
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", RULES[i].dir, e->d_name);
            bad += check_file(&RULES[i], path);
            files++;
        }
        closedir(d);
    }
    cr_assert_gt(files, 50, "read %d files", files);
    cr_assert_eq(bad, 0, "%d includes break the dependency rules (see the log)", bad);
}

Test(layout, the_rule_checker_catches_a_forbidden_include)
{
    const rule *report = &RULES[4];
    cr_assert_str_eq(report->dir, "report");
    cr_assert(!allowed(report, "nn/mlp.h\""));
    cr_assert(allowed(report, "hpo/study.h\""));
    cr_assert(allowed(report, "report/report.h\""));
    cr_assert(!allowed(&RULES[1], "hpo/study.h\""), "nn/ may not know hpo/");
}
