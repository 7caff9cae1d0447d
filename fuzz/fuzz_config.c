/* fuzz/fuzz_config.c: the INI config parser (tune/config: line reader, keys,
 * values, [space] lines) and the space parser (hpo/space) on what it keeps. */
#include "fuzz/fuzz_util.h"
#include "tune/config.h"
#include "tune/study_setup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config *c = malloc(sizeof *c);
    if (!c)
        return 0;
    config_defaults(c);
    tl_err err = {0};
    if (size > 0 && config_load_text(c, (const char *)data, size, "fuzz.ini", &err) == 0) {
        space sp;
        tune_space_from_config(c, &sp, &err);
        char buf[1024];
        for (int i = 0; i < sp.n; i++)
            space_describe(&sp, i, 1, buf, sizeof buf);
        space_free(&sp);
        config_resolve(c, "fuzz.ini", &err);
        free(config_to_string(c));
    }
    free(c);
    return 0;
}
