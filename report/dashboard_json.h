/* report/dashboard_json.h: what the dashboard's API files share
 * (report/dashboard_api.c, report/dashboard_json.c, report/dashboard_gp.c).
 * Internal to the dashboard: other modules use report/dashboard.h. */
#ifndef TL_REPORT_DASHBOARD_JSON_H
#define TL_REPORT_DASHBOARD_JSON_H

#include <cjson/cJSON.h>

#include "report/dashboard.h"
#include "report/report.h"

typedef const char *(*dj_get_fn)(void *cls, const char *key);

/* Adds v to o under key, null when v is not finite (JSON has no NaN).
 * Returns the item or NULL (memory). */
cJSON *dj_add_number(cJSON *o, const char *key, double v);

/* Adds to o (a study_summary object) the space ("params": name, kind, log,
 * low, high, choices) and "trials": number, state, value, budget, target,
 * parent, started, finished, reason, params (numbers; a categorical's
 * choice text; null inactive), curve ([[step, value], ...]), attrs (key ->
 * text), command (the retrain command, "" for function/command
 * objectives), pareto (on_front[i]), family (how a child started:
 * report_family_how's words, "" for a trial without a parent).  Returns 1,
 * or 0 for memory. */
int dj_add_study(cJSON *o, const report_study *rs, const char *on_front);

/* Makes o (deleted here) r's body with status 200.  Returns 0 or
 * dashboard_error's status for an out-of-memory reply. */
int dj_reply(dashboard_reply *r, cJSON *o);

/* Parses query argument "id" into a database index below n: 0, or 1 with
 * a 400 reply made in r. */
int dj_study_id(dj_get_fn get, void *cls, int n, int *id, dashboard_reply *r);

/* Loads the study at path read-only: 0, or 1 with a reply made in r (404
 * when the file is gone or no longer a study database, 500 otherwise). */
int dj_load(report_study **rs, const char *path, dashboard_reply *r);

/* /api/gp?id=I&param=NAME[&k=K]: the bayes sampler's GP (report/report_gp.h)
 * fitted to the first K (default: all) complete trials, along parameter
 * NAME (default: the first non-categorical), the others at the best trial:
 * {"param", "log", "x": [...], "mean", "sd", "acq", "acq_label",
 *  "obs": [[x, value], ...], "k"}.  4xx for a study without two complete
 * trials, an unknown or categorical parameter.  Returns 0 or -1 (memory). */
int dashboard_api_gp(const char *const *paths, int n, dj_get_fn get, void *cls, dashboard_reply *r);

#endif
