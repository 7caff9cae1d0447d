/* tune/study_definition.h: what a study is, remembered so that a later run
 * of a changed config does not quietly extend it.
 *
 * A definition is a flat JSON object of config keys and their values as
 * text: the space (one "space.NAME" per parameter, as space_describe
 * writes it), the sampler and the keys it reads, the scheduler and the
 * keys it reads, the objective, the metric, the direction and the seed.
 * `tunelab run` stores it as the study attribute "definition" at the first
 * run and compares it, before opening the study, at every later one.
 *
 * Does not: open or write the study (the caller does), or judge which
 * changes are harmless: any difference is reported.
 */
#ifndef TL_TUNE_STUDY_DEFINITION_H
#define TL_TUNE_STUDY_DEFINITION_H

#include <stddef.h>

#include "hpo/space.h"
#include "tune/config.h"

/* The definition of the study c and sp describe, as malloc'd JSON text
 * (caller frees), or NULL when out of memory. */
char *tune_study_definition(const config *c, const space *sp);

/* Compares a stored definition with the current one and writes one line
 * per difference into buf (n bytes, always terminated):
 *   "  study.acquisition: stored 'logei', now 'ucb'\n"
 * (a key one side lacks reads "(none)").  Returns the number of
 * differences; a stored text that is not a definition counts as one.
 * Cannot fail. */
int tune_definition_diff(const char *stored, const char *now, char *buf, size_t n);

/* The definition stored with study `name` in the SQLite file at path, read
 * without writing (report_study_load): malloc'd text (caller frees), or
 * NULL when the file, the study or its definition is not there, or the
 * file cannot be read (opening the study then says why).  Read it before
 * opening the study for writing: opening stores the sampler's settings.
 * Cannot fail. */
char *tune_stored_definition(const char *path, const char *name);

#endif
