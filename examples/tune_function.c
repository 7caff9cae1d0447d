/* examples/tune_function.c: tuning your own C function with tunelab's
 * ask/tell API, without nn/ or the CLI.
 *
 * Minimizes a noisy 2-d function of a float (log scale) and an int plus a
 * categorical, with random search, reporting intermediate values so the
 * median pruner can stop bad trials early.  The study lives in
 * runs/tune_function.db: run it twice and the second run resumes (and
 * finds the budget used).
 *
 *   make build/libtunelab.a
 *   cc -std=c11 -O2 -I. examples/tune_function.c build/libtunelab.a \
 *      -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lnlopt \
 *      -lsqlite3 -lm -lpthread -fopenmp -o tune_function && ./tune_function
 */
#include <math.h>
#include <stdio.h>

#include "hpo/sched_median.h"
#include "hpo/space.h"
#include "hpo/study.h"

static double objective_at(double lr, double width, int act, int step)
{
    /* best near lr = 1e-3, width = 64, act = 1; converges over steps */
    double d = pow(log10(lr) + 3, 2) + pow(log2(width) - 6, 2) / 4 + (act == 1 ? 0 : 0.5);
    return d + 1.0 / (step + 1);
}

int main(void)
{
    tl_err err = { 0 };
    space sp;
    space_init(&sp);
    if (space_add(&sp, "lr", "loguniform(1e-5, 1e-1)", &err) ||
        space_add(&sp, "width", "logint(8, 512)", &err) ||
        space_add(&sp, "act", "choice(relu, gelu)", &err)) {
        fprintf(stderr, "tune_function: error: %s\n", err.msg);
        return 2;
    }
    study_config cfg;
    study_config_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "tune_function");
    snprintf(cfg.scheduler, sizeof cfg.scheduler, "median");
    /* each algorithm takes its own options (NULL: its defaults); here the
     * median pruner's defaults, to be changed field by field */
    median_options mo;
    median_options_default(&mo);
    cfg.scheduler_opts = &mo;
    cfg.trials = 30;
    cfg.seed = 42;
    cfg.max_budget = 10;

    study *s;
    if (study_open(&s, &cfg, &sp, &err)) {
        fprintf(stderr, "tune_function: error: %s\n", err.msg);
        space_free(&sp);
        return err.code;
    }
    trial_job job;
    int rc = 0;
    while (!(rc = study_ask(s, &job, &err)) && job.kind != JOB_DONE) {
        if (job.kind == JOB_WAIT)
            continue; /* only with several workers or processes */
        double lr = job.values[0], width = job.values[1], v = NAN;
        int act = (int)job.values[2], state = TRIAL_COMPLETE;
        for (int step = 0; step < (int)job.budget; step++) {
            int decision;
            v = objective_at(lr, width, act, step);
            if ((rc = study_report(s, job.number, step, v, step + 1, &decision, NULL, &err)))
                break;
            if (decision == DECIDE_STOP) {
                state = TRIAL_PRUNED;
                break;
            }
        }
        if (rc || (rc = study_tell(s, job.number, state, v, NULL, &err)))
            break;
        printf("trial %2d  %-8s  lr=%-10.3g width=%-4.0f act=%s  value=%.4f\n", job.number,
               trial_state_str(state), lr, width, sp.p[2].cats[act], v);
    }
    if (rc)
        fprintf(stderr, "tune_function: error: %s\n", err.msg);
    int best;
    double bv;
    if (study_best(s, &best, &bv))
        printf("best: trial %d, value %.4f\n", best, bv);
    study_close(s);
    space_free(&sp);
    return rc;
}
