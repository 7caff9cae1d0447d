/* report/report.h: reading a study back from its database, and the report
 * (`tunelab report DB -o DIR`): gnuplot PNG figures plus a static,
 * self-contained index.html that shows them.
 *
 * Reading: report_study_load opens the database with hpo's read-only
 * storage (storage_sqlite_open_readonly) and takes the study whole with
 * its snapshot, so show/best/export/report never create or change a
 * database, work while a study is running in another process and in a
 * read-only folder, and reject a missing or foreign file.  The report
 * knows no SQL: the schema is hpo/storage.c's alone.
 *
 * Report sections (the hook for other tuners).  The page is a list of
 * sections, each a report_section: a function from the loaded study to
 * figures (report_plot) and an HTML fragment (report_html, report_text,
 * report_figure).  The registry is the SECTIONS table in report/report.c; the
 * built-in ones are summary, history, params and curves (report/report_basic.c).
 * To add one (a GP section for bayes, rungs for sha/hyperband/asha, PBT
 * lineage, the NAS Pareto front):
 *   1. write report/report_<name>.c defining
 *        const report_section report_section_<name> = {
 *            "<id>", "<Title>", applies_fn_or_NULL, write_fn };
 *      where applies returns 1 when the study needs it, typically
 *        return report_uses(rs, "hyperband") || report_uses(rs, "asha");
 *      (or a test on the data, e.g. some trial has a parent), and write
 *      builds its figures under names starting with "<id>_" and its HTML;
 *   2. declare it below (extern const report_section report_section_<name>;)
 *      and replace your NULL line in SECTIONS (report/report.c) by its address.
 * The section's heading, anchor and the <section> element are written for
 * it; write only adds the body.  A section whose write fails gets its error
 * message in the page; the report goes on and the command exits with the
 * section's status (2 for damaged data in the database, 1 otherwise).
 * Algorithm state a section needs (GP hyperparameters, rung membership,
 * PBT exploit events) must be in the database: study or trial attributes
 * (rs->attrs, report_trial_attr), parents, budgets, intermediate values.
 *
 * Depends on hpo/ (storage, space, trials, the algorithms' record
 * formats) and util/ only: never on nn/, data/, tune/ or cli/.
 * Does not: write to the database, run trials, or print (cli/cmd_study.c
 * prints).  Depends on gnuplot (pngcairo) on PATH for the figures.
 */
#ifndef TL_REPORT_REPORT_H
#define TL_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "hpo/space.h"
#include "hpo/storage.h"
#include "hpo/trial.h"
#include "util/err.h"

/* A study as the report reads it: the storage snapshot (path to attrs,
 * moved out of a storage_study by report_study_load) and what the report
 * derives from it (sampler to last_finish). */
typedef struct report_study {
    char path[512];        /* the database file */
    char name[128];
    int direction;         /* STUDY_MINIMIZE or STUDY_MAXIMIZE */
    char metric[64];
    uint64_t seed;
    double created;        /* unix seconds */
    char sampler[32];      /* study attribute "sampler"; "" when the study did not store it */
    char scheduler[32];    /* study attribute "scheduler"; "" likewise */
    char config[512];      /* study attribute "config" (the config path); "" likewise */
    char objective[32];    /* study attribute "objective" (train|function|command); "" likewise */
    space sp;              /* rebuilt from study_params */
    int ntrials;
    storage_trial *trials; /* (ntrials) in number order: t, m (target, host, pid, worker), attrs */
    int nattrs;
    storage_attr *attrs;   /* (nattrs) study attributes */
    int best;              /* index in trials of the best COMPLETE trial (finite value; ties:
                              the lowest number), -1 when none */
    int counts[TRIAL_STATE_COUNT];
    double budget_used;    /* sum of the trials' budgets */
    double first_start, last_finish; /* unix seconds over all trials; NAN when none */
} report_study;

/* ---- reading ---- */

/* Loads study `name` (NULL: the database's only study) from the SQLite file
 * at path, read-only, in one read transaction (storage_sqlite_open_readonly
 * and its snapshot).  Returns 0 with *out owned by the caller
 * (report_study_free), or TL_EINPUT "path: ..." for a missing file, a
 * folder, a file that is not a tunelab study database, no study, an
 * unknown name, or several studies and name NULL (the message lists them),
 * TL_ERUNTIME for a database or memory failure. */
int report_study_load(report_study **out, const char *path, const char *name, tl_err *err);

/* Frees everything; NULL is a no-op. */
void report_study_free(report_study *rs);

/* The value of key in trial i's (or the study's) attributes, or NULL.  The
 * result is borrowed from rs. */
const char *report_trial_attr(const report_study *rs, int i, const char *key);
const char *report_study_attr(const report_study *rs, const char *key);

/* 1 when the study's sampler or scheduler is `algo` ("bayes", "hyperband",
 * "pbt", ...), else 0 (also when the study did not store them). */
int report_uses(const report_study *rs, const char *algo);

/* Indices of the COMPLETE trials with a finite value, best first by the
 * study's direction (ties: lower number first), written to idx (room for
 * rs->ntrials); returns how many. */
int report_ranked(const report_study *rs, int *idx);

/* Seconds trial i ran (finished - started), NAN when unknown. */
double report_duration(const report_study *rs, int i);

/* Writes "PROGRAM train CONFIG --set k=v ..." for trial i's active values
 * (PROGRAM: util/shell.h's tl_program_name, as tune_retrain_command writes
 * it in the run's summary)
 * (CONFIG: rs->config, or the literal "CONFIG" when not stored; values
 * shell-quoted where needed).  Returns the length snprintf would write. */
int report_retrain_command(const report_study *rs, int i, char *buf, size_t n);

/* ---- the study as text (report/report_export.c): show, best, export ---- */

enum report_format { REPORT_TABLE, REPORT_JSON, REPORT_CSV, REPORT_FORMAT_COUNT };

/* `tunelab show`: REPORT_TABLE, a table for people (trial, state, value,
 * budget, each parameter, seconds, reason; then the counts per state, the
 * budget used and the best trial), or REPORT_JSON, one object (the study,
 * its counts and its trials).  Writes the text, NUL-terminated and ending
 * in a newline, to *out (malloc'd: the caller frees it).  Returns 0,
 * TL_EINPUT for another format, TL_ERUNTIME for memory. */
int report_show(const report_study *rs, int format, char **out, tl_err *err);

/* `tunelab best`: the best complete trial (rs->best) with its value,
 * budget, duration, parameters, attributes and, unless the objective was a
 * function or a command, the command that retrains it (REPORT_TABLE: text
 * for people; REPORT_JSON: one object).  *out as report_show.  Returns 0,
 * TL_ERUNTIME "path: study 'name': no trial has completed (n trials)" or
 * for memory, TL_EINPUT for another format. */
int report_best(const report_study *rs, int format, char **out, tl_err *err);

/* `tunelab export`: every trial, exactly (REPORT_CSV: a header, then one
 * line per trial with params_<name>, attrs_<key> and the intermediate
 * values as a JSON array; REPORT_JSON: the study, its space, attributes
 * and trials).  *out as report_show.  Returns 0, TL_EINPUT for another
 * format, TL_ERUNTIME for memory. */
int report_export(const report_study *rs, int format, char **out, tl_err *err);

/* ---- the report ---- */

typedef struct report_out report_out; /* the folder and the page being written */

typedef struct report_section {
    const char *id;        /* short word: HTML anchor and prefix of the section's files */
    const char *title;     /* heading */
    /* 1 when the section belongs in this study's report; NULL: always. */
    int (*applies)(const report_study *rs);
    /* Writes the section's figures and HTML body.  Returns 0 or a tl_code
     * with err filled. */
    int (*write)(const report_study *rs, report_out *out, tl_err *err);
} report_section;

/* The built-in sections (report/report_basic.c). */
extern const report_section report_section_summary;
extern const report_section report_section_history;
extern const report_section report_section_params;
extern const report_section report_section_curves;

/* The architecture-search section (report/report_nas.c). */
extern const report_section report_section_pareto;

/* The NAS family tree, for nas.inherit (report/report_family.c). */
extern const report_section report_section_family;

/* How trial i of an architecture search started, in words, into buf (n
 * bytes): "inherited: MORPH" (+ " [exact]"), "from scratch: WHY", "mutated,
 * trained from scratch" for a child without the "inherit" attribute, ""
 * for a root.  The family tree of `tunelab report` and of the dashboard
 * (/api/study's "family") both say it this way.  Cannot fail. */
void report_family_how(const report_study *rs, int i, char *buf, size_t n);

/* The Bayesian-optimization section (report/report_gp.c, report/report_gp.h). */
extern const report_section report_section_gp;

/* The successive-halving section: sha, hyperband, asha (report/report_hyperband.c). */
extern const report_section report_section_hyperband;

/* The population-based-training section: lineage, schedules (report/report_pbt.c). */
extern const report_section report_section_pbt;

/* Writes the report of rs into folder dir (created if missing, with its
 * parents): one PNG per figure and index.html (written to a temporary file,
 * then renamed).  *nfigures (may be NULL) receives the number of PNG files.
 * Returns 0; TL_ERUNTIME "dir: cannot write: why" when the folder cannot be
 * created or written, or when a section failed (the page is still written,
 * with the section's error in it; err names the first failure). */
int report_write(const report_study *rs, const char *dir, int *nfigures, tl_err *err);

/* ---- helpers for sections ---- */

/* Runs gnuplot on `script` (drawing commands and inline data blocks) after
 * setting the PNG terminal and the output to DIR/png (png: a plain file
 * name such as "history.png"), then checks the file exists and is not
 * empty.  Returns 0 or TL_ERUNTIME naming the figure. */
int report_plot(report_out *o, const char *png, const char *script, tl_err *err);

/* Appends raw HTML (printf-style; the arguments are NOT escaped: pass user
 * strings through report_text or report_esc). */
void report_html(report_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends text with &, <, >, " and ' escaped. */
void report_text(report_out *o, const char *text);

/* Appends <figure> with <img src="png"> (relative) and an escaped caption. */
void report_figure(report_out *o, const char *png, const char *caption);

/* Escapes text for HTML into buf (truncated to n-1); returns buf. */
char *report_esc(const char *text, char *buf, size_t n);

/* Writes text as a gnuplot single-quoted string literal (quotes included,
 * ' doubled, control characters replaced by spaces) into buf; returns buf. */
char *report_gp_quote(const char *text, char *buf, size_t n);

/* An attribute's value for people, into buf (truncated to n-1): a number
 * to 6 significant digits, a scheduler's record as words ("hb":
 * "hyperband: bracket 2, reached rung 2 of 3 (budget 9), complete";
 * "paused_at": "paused at budget 3 (step 3), value 0.2605"), another JSON
 * object as its fields, a JSON array as its length, other text as it is.
 * Returns buf.  Cannot fail (memory: the text as it is). */
const char *report_attr_text(const char *key, const char *value, char *buf, size_t n);

/* Parameter i's internal value v for people, into buf: a float to 4
 * significant digits, otherwise space_format_value's text (ints, choices,
 * "-" inactive).  Not for commands (they need space_format_value's exact
 * text).  Returns buf.  Cannot fail. */
const char *report_value_text(const space *sp, int i, double v, char *buf, size_t n);

/* 1 when a logarithmic value axis suits these values (all positive,
 * spanning more than three decades), else 0. */
int report_log_axis(const double *v, int n);

#endif
