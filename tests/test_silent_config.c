/* tests/test_silent_config.c: config mistakes that used to pass silently
 * are errors naming the file, the line and the key, with exit status 2:
 * a folder given as the config, a key given twice, a header without its
 * ']', a NUL byte, train.lr = 0 (same message as a negative rate). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/cli_util.h"
#include "tests/tmpdir_util.h"
#include "tune/config.h"

TMPDIR_FIXTURE(dir, "tl-silent");

TestSuite(silent_config, .init = tmpdir_setup, .fini = tmpdir_teardown, .timeout = 60);

/* Loads `len` bytes of INI text through a file; returns config_load's code
 * with the message in e. */
static int load_bytes(const char *text, size_t len, tl_err *e)
{
    char path[128];
    snprintf(path, sizeof path, "%s/c.ini", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(text, 1, len, f);
    fclose(f);
    config c;
    config_defaults(&c);
    return config_load(&c, path, e);
}

Test(silent_config, a_key_given_twice_is_an_error_naming_both_lines)
{
    tl_err e = {0};
    const char *t = "[train]\nlr = 0.1\nepochs = 3\nlr = 0.2\n";
    cr_assert_eq(load_bytes(t, strlen(t), &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "c.ini:4: train.lr: given twice (first at line 2)"), "%s", e.msg);
    const char *s = "[space]\ntrain.lr = uniform(0.1, 1)\ntrain.lr = uniform(0.2, 1)\n";
    cr_assert_eq(load_bytes(s, strlen(s), &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "c.ini:3: space.train.lr: given twice"), "%s", e.msg);
}

Test(silent_config, a_header_without_its_bracket_names_its_own_line)
{
    tl_err e = {0};
    const char *t = "[train\nlr = 0.1\n";
    cr_assert_eq(load_bytes(t, strlen(t), &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "c.ini:1: section header without its closing ']'"), "%s", e.msg);
}

Test(silent_config, a_nul_byte_is_an_error_not_a_cut_line)
{
    tl_err e = {0};
    const char t[] = "[data]\ndataset = spi\0rals\n";
    cr_assert_eq(load_bytes(t, sizeof t - 1, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "c.ini:2: a NUL byte"), "%s", e.msg);
}

Test(silent_config, lr_zero_and_negative_say_the_same_with_the_line)
{
    tl_err e = {0};
    const char *z = "[train]\n\nlr = 0\n";
    cr_assert_eq(load_bytes(z, strlen(z), &e), TL_EINPUT);
    cr_assert_str_eq(strstr(e.msg, "c.ini:"), "c.ini:3: train.lr: 0 is out of range (0, 1e+06]");
    const char *n = "[train]\nlr = -1\n";
    cr_assert_eq(load_bytes(n, strlen(n), &e), TL_EINPUT);
    cr_assert_str_eq(strstr(e.msg, "c.ini:"), "c.ini:2: train.lr: -1 is out of range (0, 1e+06]");
}

Test(silent_config, a_folder_as_the_config_exits_2)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/d.ini", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    cli_out r = cli_run(dir, "train d.ini --set data.dataset=spirals --set train.epochs=1");
    cr_assert_eq(r.status, 2, "status %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "d.ini: is a folder, not a config file"), "%s", r.err);
    cr_assert_str_eq(r.out, "");
    cli_free(&r);
}

Test(silent_config, warmup_cosine_without_warmup_names_train_warmup)
{
    cli_write_in(dir, "s.ini", "[data]\ndataset = spirals\nsamples = 200\n[train]\nepochs = 1\n");
    cli_out r = cli_run(dir, "train s.ini --set train.schedule=warmup_cosine");
    cr_assert_eq(r.status, 2, "status %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "s.ini: train.warmup: warmup_cosine needs a warmup length > 0"), "%s", r.err);
    cli_free(&r);
    /* step decay with the defaults cuts the rate once per epoch */
    r = cli_run(dir, "schedule s.ini --set train.schedule=step --set train.epochs=3 --json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"epoch\":0,\"lr\":0.001}"), "%s", r.out);
    cr_assert(strstr(r.out, "\"epoch\":1,\"lr\":0.0001}"), "%s", r.out);
    cr_assert(strstr(r.out, "\"epoch\":2,\"lr\":1e-05}"), "%s", r.out);
    cli_free(&r);
}
