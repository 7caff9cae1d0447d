/* tests/test_config.c: tune/config's typed values: config_set_number and
 * config_apply_values check a trial's numbers with the same KEYS table,
 * ranges and messages as the text path (config_set), and give the same
 * config as writing each value out as text and setting that, which is how
 * trial values reached the trainer before (space_format_value, then
 * config_set). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hpo/space.h"
#include "tune/config.h"
#include "util/rng.h"
#include "tests/space_util.h"

/* Every field of two configs (they start from config_defaults, which
 * zeroes the padding too). */
static void expect_same_config(const config *a, const config *b, const char *what)
{
    cr_assert_eq(memcmp(a, b, sizeof *a), 0, "%s: the typed and the text path give different configs", what);
}

/* The text path a trial's values took before: each value written out as
 * the user would write it, then config_set; then config_validate. */
static int apply_as_text(config *c, const space *sp, const double *v, const char *where, tl_err *err)
{
    for (int i = 0; i < sp->n; i++) {
        if (isnan(v[i]))
            continue;
        char buf[256];
        space_format_value(sp, i, v[i], buf, sizeof buf);
        int rc = config_set(c, sp->p[i].name, buf, where, err);
        if (rc)
            return rc;
    }
    return config_validate(c, err);
}

static void add(space *sp, const char *name, const char *expr)
{
    tl_err e;
    cr_assert_eq(space_add(sp, name, expr, &e), 0, "%s", e.msg);
}

Test(config, set_number_checks_type_and_range_like_the_text_path)
{
    static const struct {
        const char *key;
        double v;
    } cases[] = {
        {"train.lr", 3e-4},         {"train.lr", -1},            {"train.lr", INFINITY},
        {"model.hidden", 64},       {"model.hidden", 27.5},      {"model.hidden", 0},
        {"model.hidden", 1e4},      {"model.layers", 99},        {"train.seed", 12345},
        {"data.train_limit", 500},  {"train.nesterov", 1},       {"train.nesterov", 0},
        {"train.nesterov", 0.5},    {"model.dropout", 0.25},     {"model.dropout", 0.99},
        {"train.warmup", 3},        {"study.eta", 1.0},          {"data.val_fraction", 0.2},
        {"model.widths", 32},       {"model.widths", 0},         {"study.name", 7},
        {"train.optimizer", 2},     {"data.seed", -3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config a, b;
        config_defaults(&a);
        config_defaults(&b);
        tl_err ea = {0}, eb = {0};
        char text[64];
        snprintf(text, sizeof text, "%.17g", cases[i].v);
        /* the shortest text that reads back to v, as messages show it */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(text, sizeof text, "%.*g", prec, cases[i].v);
            if (strtod(text, NULL) == cases[i].v)
                break;
        }
        int ra = config_set_number(&a, cases[i].key, cases[i].v, "trial 3", &ea);
        int rb = config_set(&b, cases[i].key, text, "trial 3", &eb);
        cr_assert_eq(ra, rb, "%s = %s: typed %d, text %d (%s | %s)", cases[i].key, text, ra, rb, ea.msg, eb.msg);
        if (ra)
            cr_assert_str_eq(ea.msg, eb.msg, "%s = %s", cases[i].key, text);
        expect_same_config(&a, &b, cases[i].key);
    }
}

Test(config, set_number_names_the_key_and_the_place)
{
    config c;
    config_defaults(&c);
    tl_err e = {0};
    cr_assert_eq(config_set_number(&c, "model.hidden", 27.5, "trial 3", &e), TL_EINPUT);
    cr_assert_str_eq(e.msg, "trial 3: model.hidden: expected an integer, got '27.5'");
    cr_assert_eq(config_set_number(&c, "train.lr", 2e6, "trial 3", &e), TL_EINPUT);
    cr_assert_str_eq(e.msg, "trial 3: train.lr: 2e+06 is out of range (0, 1e+06]");
    cr_assert_eq(config_set_number(&c, "train.nesterov", 2, "exploit", &e), TL_EINPUT);
    cr_assert_str_eq(e.msg, "exploit: train.nesterov: expected true or false, got '2'");
    cr_assert_eq(config_set_number(&c, "train.lrr", 1, "trial 3", &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "unknown key (did you mean train.lr?)"), "%s", e.msg);
    cr_assert_eq(c.hidden, 256, "a failed set leaves the key alone");
    cr_assert_eq(config_set_number(&c, "model.hidden", 1e2, "trial 3", &e), 0, "%s", e.msg);
    cr_assert_eq(c.hidden, 100);
    cr_assert_eq(config_set_number(&c, "train.nesterov", 1, "trial 3", &e), 0, "%s", e.msg);
    cr_assert_eq(c.nesterov, 1);
}

/* Random trials over a space that touches every kind of parameter and key
 * give the same config through config_apply_values as through the text
 * path, bit for bit, and the same message when a value is refused. */
Test(config, apply_values_equals_the_text_path_for_every_kind_of_parameter)
{
    space sp;
    su_space(&sp, "train.lr", "loguniform(1e-5, 1e-1)",
             "train.momentum", "uniform(0, 0.99)",
             "model.hidden", "logint(8, 512)",
             "model.layers", "int(1, 4)",
             "train.warmup", "int(0, 50)", /* int parameter, float key */
             "model.activation", "choice(relu, gelu)", /* text choice, text key */
             "train.batch_size", "choice(16, 32.0, 64)", /* numeric choices, int key */
             "train.weight_decay", "choice(0, 1e-4, \"3e-3\")", /* numeric choices, float key */
             "train.nesterov", "choice(true, 0, 1)", /* words and numbers, bool key */
             "train.optimizer", "choice(adamw, sgd)",
             "model.dropout", "uniform(0, 0.5) if train.optimizer == sgd", /* conditional */
             "data.seed", "int(0, 1000000)",
             "model.widths", "choice(8, 16)", /* numeric choice, list key */
             NULL);
    rng r;
    rng_seed(&r, 42, 0);
    for (int trial = 0; trial < 200; trial++) {
        double u[SPACE_MAX_PARAMS], v[SPACE_MAX_PARAMS];
        for (int i = 0; i < sp.n; i++)
            u[i] = rng_uniform(&r);
        space_from_unit_vec(&sp, u, v);
        config a, b;
        config_defaults(&a);
        config_defaults(&b);
        tl_err ea = {0}, eb = {0};
        int ra = config_apply_values(&a, &sp, v, "trial 1", &ea);
        int rb = apply_as_text(&b, &sp, v, "trial 1", &eb);
        cr_assert_eq(ra, rb, "trial %d: typed %d (%s), text %d (%s)", trial, ra, ea.msg, rb, eb.msg);
        cr_assert_eq(ra, 0, "%s", ea.msg);
        expect_same_config(&a, &b, "a random trial");
    }
    /* a float parameter on an integer key is refused the same way */
    space bad;
    space_init(&bad);
    add(&bad, "model.hidden", "uniform(8, 32)");
    double v = 27.90593894404621;
    config a, b;
    config_defaults(&a);
    config_defaults(&b);
    tl_err ea = {0}, eb = {0};
    cr_assert_eq(config_apply_values(&a, &bad, &v, "candidate", &ea), TL_EINPUT);
    cr_assert_eq(apply_as_text(&b, &bad, &v, "candidate", &eb), TL_EINPUT);
    cr_assert_str_eq(ea.msg, eb.msg);
    cr_assert_str_eq(ea.msg, "candidate: model.hidden: expected an integer, got '27.90593894404621'");
    /* a text choice on a numeric key, and a number on a choice key */
    space_free(&bad);
    space_init(&bad);
    add(&bad, "train.lr", "choice(fast, slow)");
    v = 0;
    config_defaults(&a);
    cr_assert_eq(config_apply_values(&a, &bad, &v, "trial 2", &ea), TL_EINPUT);
    cr_assert_str_eq(ea.msg, "trial 2: train.lr: expected a number, got 'fast'");
    space_free(&bad);
    space_init(&bad);
    add(&bad, "train.optimizer", "int(0, 3)");
    v = 2;
    cr_assert_eq(config_apply_values(&a, &bad, &v, "trial 2", &ea), TL_EINPUT);
    cr_assert_str_eq(ea.msg, "trial 2: train.optimizer: '2' is not one of adamw|sgd");
    /* and the cross-key rules of config_validate still run */
    space_free(&bad);
    space_init(&bad);
    add(&bad, "model.type", "choice(gpt)");
    v = 0;
    config_defaults(&a);
    cr_assert_eq(config_apply_values(&a, &bad, &v, "trial 2", &ea), TL_EINPUT);
    cr_assert(strstr(ea.msg, "model.type: gpt needs data.dataset = text"), "%s", ea.msg);
    space_free(&bad);
    space_free(&sp);
}

Test(config, resolve_fills_the_defaults_that_depend_on_other_keys)
{
    config c;
    config_defaults(&c);
    tl_err e = {0};
    cr_assert_eq(config_set(&c, "study.metric", "test_accuracy", "t", &e), 0, "%s", e.msg);
    cr_assert_eq(config_resolve(&c, "experiments/grid-vs-random.ini", &e), 0, "%s", e.msg);
    cr_assert_str_eq(c.study_name, "grid-vs-random");
    cr_assert_str_eq(c.storage, "runs/grid-vs-random.db");
    cr_assert_str_eq(c.direction, "maximize");
    cr_assert_str_eq(c.data_path, "/usr/share/datasets/fashion-mnist");
    config_defaults(&c);
    cr_assert_eq(config_set(&c, "data.dataset", "text", "t", &e), 0, "%s", e.msg);
    cr_assert_eq(config_set(&c, "model.type", "gpt", "t", &e), 0, "%s", e.msg);
    cr_assert_eq(config_set(&c, "study.name", "mine", "t", &e), 0, "%s", e.msg);
    cr_assert_eq(config_resolve(&c, NULL, &e), 0, "%s", e.msg);
    cr_assert_str_eq(c.study_name, "mine", "a name the config gives stays");
    cr_assert_str_eq(c.storage, "runs/mine.db");
    cr_assert_str_eq(c.direction, "minimize");
    cr_assert_str_eq(c.data_path, "/usr/share/games/fortunes");
    cr_assert_eq(c.steps_per_epoch, 200);
    config_defaults(&c);
    cr_assert_eq(config_set(&c, "model.type", "gpt", "t", &e), 0, "%s", e.msg);
    cr_assert_eq(config_resolve(&c, NULL, &e), TL_EINPUT, "and it validates");
    cr_assert_str_eq(c.study_name, "study");
}
