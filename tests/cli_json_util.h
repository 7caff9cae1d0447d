/* tests/cli_json_util.h: the JSON summary that `tunelab ... --json` prints
 * as its last line, parsed (header-only, beside tests/cli_util.h). */
#ifndef TL_TESTS_CLI_JSON_UTIL_H
#define TL_TESTS_CLI_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/cli_util.h"

/* The last line of out parsed as JSON; not JSON fails the test.  The
 * caller frees it with cJSON_Delete. */
static inline cJSON *cli_last_json(const char *out)
{
    cJSON *j = cJSON_Parse(cli_last_line(out));
    cr_assert_not_null(j, "last line is not JSON: %s", cli_last_line(out));
    return j;
}

#endif
