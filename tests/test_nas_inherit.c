/* tests/test_nas_inherit.c: nas_inherit_adjust (tune/nas_inherit.h), the
 * budget and learning rate of a new trial in an inheriting study: a child
 * whose parent's state is on disk gets nas.child_epochs, train.lr *
 * nas.child_lr_scale and a warmup of nas.child_warmup steps (its schedule
 * restarts: the warmup eases that); a parentless trial
 * gets nas.seed_epochs; a study without nas.inherit is untouched.  (A
 * child whose parent's state is gone keeps the full budget: looked up in
 * the study, so tested end to end in test_nas_inherit_cli.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/tmpdir_util.h"
#include "tune/nas_inherit.h"

TMPDIR_FIXTURE(dir, "tl_nasadj")

TestSuite(nas_inherit, .init = tmpdir_setup, .fini = tmpdir_teardown);

static config base(void)
{
    config c;
    config_defaults(&c);
    c.epochs = 3;
    c.lr = 1e-3;
    snprintf(c.schedule, sizeof c.schedule, "cosine");
    c.nas_inherit = 1;
    c.nas_child_epochs = 1;
    c.nas_seed_epochs = 2;
    c.nas_child_lr_scale = 0.5;
    c.nas_child_warmup = 10;
    return c;
}

static trial_job job_of(int parent)
{
    trial_job j;
    memset(&j, 0, sizeof j);
    j.number = 7;
    j.parent = parent;
    snprintf(j.state_path, sizeof j.state_path, "%s/trial-7.state", dir);
    return j;
}

Test(nas_inherit, a_child_with_its_parents_state_gets_the_child_budget_lr_and_warmup)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nas-4.state", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fclose(f);
    config c = base();
    trial_job j = job_of(4);
    nas_inherit_adjust(&c, NULL, &j);
    cr_assert_eq(c.epochs, 1);
    cr_assert_float_eq(c.lr, 5e-4, 1e-12);
    cr_assert_str_eq(c.schedule, "warmup_cosine");
    cr_assert_float_eq(c.warmup, 10, 1e-12);
    cr_assert_str_eq(c.warmup_unit, "steps");
}

Test(nas_inherit, seeds_get_seed_epochs_and_orphans_and_plain_studies_are_untouched)
{
    config c = base();
    trial_job j = job_of(-1);
    nas_inherit_adjust(&c, NULL, &j);
    cr_assert_eq(c.epochs, 2, "a random draw of the first population trains nas.seed_epochs");
    cr_assert_float_eq(c.lr, 1e-3, 1e-12);
    cr_assert_str_eq(c.schedule, "cosine");

    /* a paused parent (asha) leaves trial-P.state instead of nas-P.state */
    config o = base();
    trial_job k = job_of(3);
    char path[300];
    snprintf(path, sizeof path, "%s/trial-3.state", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fclose(f);
    nas_inherit_adjust(&o, NULL, &k);
    cr_assert_eq(o.epochs, 1, "a paused parent's trial-P.state counts as its state");

    /* the defaults (-1): a third of train.epochs, rounded up, for both;
     * another scheduler drives the budget itself */
    config d = base();
    d.epochs = 4;
    d.nas_child_epochs = d.nas_seed_epochs = -1;
    trial_job s = job_of(-1);
    nas_inherit_adjust(&d, NULL, &s);
    cr_assert_eq(d.epochs, 2);
    config a = base();
    a.nas_child_epochs = a.nas_seed_epochs = -1;
    snprintf(a.scheduler, sizeof a.scheduler, "asha");
    nas_inherit_adjust(&a, NULL, &s);
    cr_assert_eq(a.epochs, 3);
    config e = base();
    e.nas_child_epochs = -1;
    nas_inherit_adjust(&e, NULL, &k);
    cr_assert_eq(e.epochs, 1);

    config p = base();
    p.nas_inherit = 0;
    trial_job m = job_of(4);
    nas_inherit_adjust(&p, NULL, &m);
    cr_assert_eq(p.epochs, 3);
    cr_assert_str_eq(p.schedule, "cosine");
}
