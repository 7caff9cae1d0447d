/* tests/test_schedule.c: every schedule formula pinned against values
 * computed by hand (in the comments), including the warmup boundary, the
 * first decay step, the last step and past the end; units; parsing and
 * argument errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nn/schedule.h"

static sched make(sched_config c, long spe, int epochs)
{
    sched s;
    tl_err e = { 0 };
    cr_assert_eq(sched_resolve(&s, &c, spe, epochs, &e), 0, "%s", e.msg);
    return s;
}

#define LR_EQ(s, lr0, step, epoch, want)                                                       \
    do {                                                                                       \
        double got_ = sched_lr(&(s), (lr0), (step), (epoch));                                  \
        cr_assert(fabs(got_ - (want)) <= 1e-12 * (1 + fabs(want)),                             \
                  "step %ld epoch %d: lr %.15g, expected %.15g", (long)(step), (int)(epoch),   \
                  got_, (double)(want));                                                       \
    } while (0)

static sched_config cfg(int kind)
{
    sched_config c;
    sched_config_default(&c);
    c.kind = kind;
    return c;
}

Test(schedule, constant_is_lr0_everywhere)
{
    sched s = make(cfg(SCHED_CONSTANT), 10, 5);
    LR_EQ(s, 0.3, 0, 0, 0.3);
    LR_EQ(s, 0.3, 49, 4, 0.3);
    LR_EQ(s, 0.3, 1000, 99, 0.3);
}

Test(schedule, step_decay_by_epochs)
{
    sched_config c = cfg(SCHED_STEP);
    c.unit = SCHED_UNIT_EPOCHS;
    c.step_size = 3;
    c.decay_rate = 0.5;
    sched s = make(c, 7, 10);
    /* 0.1 * 0.5^floor(e/3); the step count does not matter */
    LR_EQ(s, 0.1, 0, 0, 0.1);
    LR_EQ(s, 0.1, 20, 2, 0.1);
    LR_EQ(s, 0.1, 21, 3, 0.05);
    LR_EQ(s, 0.1, 41, 5, 0.05);
    LR_EQ(s, 0.1, 42, 6, 0.025);
    LR_EQ(s, 0.1, 69, 9, 0.0125);
}

Test(schedule, step_decay_by_steps)
{
    sched_config c = cfg(SCHED_STEP);
    c.unit = SCHED_UNIT_STEPS; /* auto would count epochs */
    c.step_size = 2;
    c.decay_rate = 0.1;
    sched s = make(c, 7, 10);
    /* 1 * 0.1^floor(s/2); the epoch does not matter */
    LR_EQ(s, 1.0, 0, 3, 1.0);
    LR_EQ(s, 1.0, 1, 3, 1.0);
    LR_EQ(s, 1.0, 2, 0, 0.1);
    LR_EQ(s, 1.0, 3, 0, 0.1);
    LR_EQ(s, 1.0, 4, 0, 0.01);
}

Test(schedule, exponential_per_epoch_and_per_step)
{
    sched_config c = cfg(SCHED_EXPONENTIAL);
    c.gamma = 0.9;
    c.unit = SCHED_UNIT_EPOCHS;
    sched s = make(c, 5, 10);
    LR_EQ(s, 2.0, 0, 0, 2.0);
    LR_EQ(s, 2.0, 9, 1, 1.8);
    LR_EQ(s, 2.0, 17, 3, 2.0 * 0.729);
    c.unit = SCHED_UNIT_STEPS;
    s = make(c, 5, 10);
    LR_EQ(s, 2.0, 0, 3, 2.0);
    LR_EQ(s, 2.0, 1, 3, 1.8);
    LR_EQ(s, 2.0, 3, 0, 1.458);
}

Test(schedule, cosine_by_steps_with_floor_and_hold)
{
    sched_config c = cfg(SCHED_COSINE);
    c.total = 10;
    c.min_lr = 0.01;
    sched s = make(c, 100, 3);
    /* 0.01 + 0.5*0.99*(1 + cos(pi t/10)) */
    LR_EQ(s, 1.0, 0, 0, 1.0);
    LR_EQ(s, 1.0, 2, 0, 0.01 + 0.495 * 1.8090169943749475); /* cos(pi/5) = 0.809017 */
    LR_EQ(s, 1.0, 5, 0, 0.505);
    LR_EQ(s, 1.0, 9, 0, 0.01 + 0.495 * (1 - 0.9510565162951535)); /* cos(9pi/10) */
    LR_EQ(s, 1.0, 10, 0, 0.01);
    LR_EQ(s, 1.0, 15, 0, 0.01); /* held at min_lr after T */
}

Test(schedule, cosine_by_epochs_spans_the_run)
{
    sched_config c = cfg(SCHED_COSINE);
    c.unit = SCHED_UNIT_EPOCHS; /* total 0: T = 4 epochs */
    sched s = make(c, 50, 4);
    LR_EQ(s, 1.0, 0, 0, 1.0);
    LR_EQ(s, 1.0, 60, 1, 0.5 * (1 + 0.7071067811865476));
    LR_EQ(s, 1.0, 199, 3, 0.5 * (1 - 0.7071067811865476)); /* last epoch */
}

Test(schedule, cosine_by_steps_defaults_to_all_steps)
{
    sched s = make(cfg(SCHED_COSINE), 5, 4); /* T = 20 steps */
    LR_EQ(s, 1.0, 10, 2, 0.5);
    LR_EQ(s, 1.0, 20, 4, 0.0);
}

Test(schedule, warmup_cosine_boundary_and_last_step)
{
    sched_config c = cfg(SCHED_WARMUP_COSINE);
    c.warmup = 4;
    c.total = 12;
    sched s = make(c, 100, 1);
    /* warmup: (s+1)/4 */
    LR_EQ(s, 1.0, 0, 0, 0.25);
    LR_EQ(s, 1.0, 1, 0, 0.5);
    LR_EQ(s, 1.0, 2, 0, 0.75);
    LR_EQ(s, 1.0, 3, 0, 1.0);   /* last warmup step reaches lr0 */
    LR_EQ(s, 1.0, 4, 0, 1.0);   /* first decay step: p = 0 */
    LR_EQ(s, 1.0, 8, 0, 0.5);   /* p = 4/8 */
    LR_EQ(s, 1.0, 11, 0, 0.5 * (1 - 0.9238795325112867)); /* last step: p = 7/8 */
    LR_EQ(s, 1.0, 12, 0, 0.0);
    LR_EQ(s, 1.0, 30, 0, 0.0);  /* held */
}

Test(schedule, warmup_from_a_start_factor)
{
    sched_config c = cfg(SCHED_WARMUP_COSINE);
    c.warmup = 4;
    c.total = 12;
    c.warmup_start = 0.2;
    c.min_lr = 0.1;
    sched s = make(c, 100, 1);
    LR_EQ(s, 2.0, 0, 0, 2.0 * (0.2 + 0.8 * 0.25)); /* 0.8 */
    LR_EQ(s, 2.0, 2, 0, 2.0 * (0.2 + 0.8 * 0.75)); /* 1.6 */
    LR_EQ(s, 2.0, 3, 0, 2.0);
    LR_EQ(s, 2.0, 8, 0, 0.1 + 0.5 * 1.9);          /* p = 0.5: 1.05 */
}

Test(schedule, warmup_linear_boundary_and_last_step)
{
    sched_config c = cfg(SCHED_WARMUP_LINEAR);
    c.warmup = 2;
    c.total = 10;
    c.min_lr = 0.1;
    sched s = make(c, 100, 1);
    LR_EQ(s, 1.0, 0, 0, 0.5);
    LR_EQ(s, 1.0, 1, 0, 1.0);
    LR_EQ(s, 1.0, 2, 0, 1.0);
    LR_EQ(s, 1.0, 6, 0, 0.55);    /* p = 4/8: 0.1 + 0.9*0.5 */
    LR_EQ(s, 1.0, 9, 0, 0.2125);  /* last: p = 7/8: 0.1 + 0.9/8 */
    LR_EQ(s, 1.0, 10, 0, 0.1);
}

Test(schedule, warmup_constant)
{
    sched_config c = cfg(SCHED_WARMUP_CONSTANT);
    c.warmup = 3;
    sched s = make(c, 10, 2);
    LR_EQ(s, 0.6, 0, 0, 0.2);
    LR_EQ(s, 0.6, 1, 0, 0.4);
    LR_EQ(s, 0.6, 2, 0, 0.6);
    LR_EQ(s, 0.6, 3, 0, 0.6);
    LR_EQ(s, 0.6, 19, 1, 0.6);
}

Test(schedule, warmup_and_total_in_epochs_become_steps)
{
    sched_config c = cfg(SCHED_WARMUP_LINEAR);
    c.warmup = 1;
    c.warmup_unit = SCHED_UNIT_EPOCHS; /* W = 5 steps */
    sched s = make(c, 5, 3);           /* T = 3 epochs = 15 steps */
    cr_assert_eq(s.W, 5);
    cr_assert_eq(s.T, 15);
    cr_assert_eq(s.per_epoch, 0);
    LR_EQ(s, 1.0, 0, 0, 0.2);
    LR_EQ(s, 1.0, 4, 0, 1.0);
    LR_EQ(s, 1.0, 5, 1, 1.0);
    LR_EQ(s, 1.0, 10, 2, 0.5);
    LR_EQ(s, 1.0, 14, 2, 0.1);
    c.unit = SCHED_UNIT_EPOCHS;
    c.total = 2; /* 10 steps */
    s = make(c, 5, 3);
    cr_assert_eq(s.T, 10);
    LR_EQ(s, 1.0, 9, 1, 0.2);   /* p = 4/5 */
}

Test(schedule, parse_all_names_and_list_them_on_error)
{
    static const char *names[] = { "constant", "step", "exponential", "cosine",
                                   "warmup_cosine", "warmup_linear", "warmup_constant" };
    for (int k = 0; k < SCHED_COUNT; k++) {
        int got = -1;
        cr_assert_eq(sched_parse(names[k], &got, NULL), 0, "%s", names[k]);
        cr_assert_eq(got, k);
        cr_assert_str_eq(sched_str(k), names[k]);
    }
    tl_err e;
    int got;
    cr_assert_eq(sched_parse("cosine_warmup", &got, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "'cosine_warmup'"), "%s", e.msg);
    for (int k = 0; k < SCHED_COUNT; k++)
        cr_assert(strstr(e.msg, names[k]), "'%s' not listed in: %s", names[k], e.msg);
    cr_assert_eq(sched_unit_parse("epochs", &got, &e), 0);
    cr_assert_eq(got, SCHED_UNIT_EPOCHS);
    cr_assert_eq(sched_unit_parse("epoch", &got, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "steps, epochs"), "%s", e.msg);
    cr_assert_str_eq(sched_str(-1), "?");
}

Test(schedule, rejects_bad_configs_naming_the_key)
{
    struct { sched_config c; const char *key; } cases[10];
    int n = 0;
    cases[n].c = cfg(SCHED_STEP), cases[n].c.step_size = 0, cases[n++].key = "train.step_size";
    cases[n].c = cfg(SCHED_STEP), cases[n].c.decay_rate = -1, cases[n++].key = "train.decay_rate";
    cases[n].c = cfg(SCHED_EXPONENTIAL), cases[n].c.gamma = 0, cases[n++].key = "train.gamma";
    cases[n].c = cfg(SCHED_COSINE), cases[n].c.min_lr = -1e-3, cases[n++].key = "train.min_lr";
    cases[n].c = cfg(SCHED_WARMUP_COSINE), cases[n].c.warmup = 1, cases[n].c.warmup_start = 1, cases[n++].key = "train.warmup_start";
    cases[n].c = cfg(SCHED_WARMUP_COSINE), cases[n].c.warmup = 11, cases[n++].key = "train.warmup";
    cases[n].c = cfg(SCHED_WARMUP_LINEAR), cases[n].c.warmup = NAN, cases[n++].key = "train.warmup";
    cases[n].c = cfg(SCHED_COUNT), cases[n++].key = "train.schedule";
    cases[n].c = cfg(SCHED_WARMUP_COSINE), cases[n].c.warmup = 0, cases[n++].key = "train.warmup";
    cases[n].c = cfg(SCHED_WARMUP_CONSTANT), cases[n].c.warmup_unit = SCHED_UNIT_AUTO,
    cases[n].c.warmup = 1, cases[n++].key = "train.warmup_unit";
    for (int i = 0; i < n; i++) {
        sched s;
        tl_err e = { 0 };
        cr_assert_eq(sched_resolve(&s, &cases[i].c, 5, 2, &e), TL_EINPUT, "case %d accepted", i);
        cr_assert(strncmp(e.msg, cases[i].key, strlen(cases[i].key)) == 0,
                  "case %d: '%s' should start with %s", i, e.msg, cases[i].key);
    }
    sched s;
    sched_config ok = cfg(SCHED_CONSTANT);
    cr_assert_eq(sched_resolve(&s, &ok, 0, 2, NULL), TL_EINPUT);
    cr_assert_eq(sched_resolve(&s, &ok, 5, 0, NULL), TL_EINPUT);
}

Test(schedule, step_decay_counts_epochs_by_default)
{
    sched_config c;
    sched_config_default(&c);
    c.kind = SCHED_STEP; /* step_size 1, decay_rate 0.1, unit auto */
    sched s = make(c, 100, 6);
    cr_assert_eq(s.per_epoch, 1, "auto is per epoch for step decay");
    LR_EQ(s, 3e-3, 0, 0, 3e-3);
    LR_EQ(s, 3e-3, 99, 0, 3e-3);
    LR_EQ(s, 3e-3, 100, 1, 3e-4);
    LR_EQ(s, 3e-3, 599, 5, 3e-8);
    c.kind = SCHED_COSINE;
    sched t = make(c, 100, 6);
    cr_assert_eq(t.per_epoch, 0, "auto is per step for every other kind");
}

Test(schedule, a_warmup_kind_without_warmup_is_refused)
{
    sched_config c;
    sched_config_default(&c);
    c.kind = SCHED_WARMUP_COSINE;
    sched s;
    tl_err e = { 0 };
    cr_assert_eq(sched_resolve(&s, &c, 5, 2, &e), TL_EINPUT);
    cr_assert(strstr(e.msg, "train.warmup: warmup_cosine needs a warmup length > 0"), "%s", e.msg);
    cr_assert(strstr(e.msg, "train.schedule = cosine"), "%s", e.msg);
}
