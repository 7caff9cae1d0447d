/* tune/study_setup.h: config -> search space and study settings, shared by
 * `tunelab run` and the commands that read a study back. */
#ifndef TL_CLI_STUDY_SETUP_H
#define TL_CLI_STUDY_SETUP_H

#include "tune/config.h"
#include "hpo/space.h"
#include "hpo/study.h"

/* Builds the space from c's [space] lines (errors prefixed "file:line").
 * Returns 0 or TL_EINPUT; sp is initialized either way (space_free it). */
int study_space_from_config(const config *c, space *sp, tl_err *err);

/* Fills the study settings from c.  Cannot fail. */
void study_config_from(const config *c, study_config *sc);

/* Writes "tunelab train CONFIG --set k=v ... --set train.threads=N" for a
 * trial's values; threads is the trial's "threads" attribute (the OpenMP
 * threads it trained on; "" or NULL leaves train.threads out).  With the
 * same threads the retrain gives the trial's value bit for bit on the same
 * machine and OpenBLAS kernels (README.md "What replays bit for bit"). */
void retrain_command(const config *c, const space *sp, const double *values, const char *threads,
                     char *buf, size_t n);
#endif
