/* fuzz/fuzz_cmd_output.c: the command objective's output parser
 * (hpo/cmd_objective.c): every line of the input, as the objective reads
 * a program's stdout. */
#include "fuzz/fuzz_util.h"
#include "hpo/cmd_objective.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        cmd_line cl;
        cmd_objective_parse_line(line, &cl);
    }
    free(text);
    return 0;
}
