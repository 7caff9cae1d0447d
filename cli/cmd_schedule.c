/* cli/cmd_schedule.c: `tunelab schedule CONFIG [--plot FILE.png]` prints the
 * learning rate of every step (or epoch) of the configured run, and
 * `tunelab lr-find CONFIG [--plot FILE.png]` runs the learning-rate range
 * test; both on a tune/fit.h run of the config. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "report/plot.h"
#include "tune/fit.h"

static const char *SCHED_HELP =
    "usage: tunelab schedule CONFIG [--set key=value ...] [--plot FILE.png] [--json]\n\n"
    "Prints the learning rate at each optimizer step of the run CONFIG describes\n"
    "(per epoch when train.schedule_unit = epochs): the schedule, the warmup,\n"
    "the batch-size scaling of train.lr_scaling.  --plot draws it with gnuplot.\n";

/* Parses the command line, loads CONFIG and opens a run of it.  Returns 0,
 * -1 after --help, or the exit status after an error. */
static int load(const char *help, int argc, char **argv, unsigned opts, args *a, config *c, fit *f)
{
    int rc = args_parse(a, argc, argv, opts, help);
    if (rc) {
        args_free(a);
        return rc == 1 ? -1 : 2;
    }
    tl_err err = {0};
    if (!a->positional)
        rc = term_errorf(2, "%s: needs a CONFIG file", argv[0]);
    else if ((rc = args_load_config(a, c, &err)) || (rc = fit_open(f, c, NULL, &err)))
        rc = term_error(&err, NULL);
    args_free(a);
    return rc;
}

/* A temporary file for gnuplot's data (name written into tmp), or NULL. */
static FILE *plot_data_file(char *tmp)
{
    int fd = mkstemp(tmp);
    return fd >= 0 ? fdopen(fd, "w") : NULL;
}

/* Runs gnuplot on script, reports the figure and removes the data file.
 * Returns the exit status. */
static int plot_and_clean(const char *script, const char *png, const char *tmp)
{
    tl_err err = {0};
    int status = 0;
    if (plot_run(script, &err))
        status = term_error(&err, NULL);
    else
        fprintf(stderr, "# plot: %s\n", png);
    remove(tmp);
    return status;
}

int cmd_schedule(int argc, char **argv)
{
    args a;
    config c;
    fit f;
    int rc = load(SCHED_HELP, argc, argv, OPT_SET | OPT_PLOT | OPT_JSON, &a, &c, &f);
    if (rc)
        return rc < 0 ? 0 : rc;
    tl_err err = {0};
    fit_lr_table t;
    if (fit_schedule(&f, &t, &err)) {
        fit_close(&f);
        return term_error(&err, NULL);
    }
    fprintf(stderr, "# %s, %ld steps per epoch, %d epochs, effective lr %g (%s scaling of %g at batch %d)\n",
            c.schedule, t.steps_per_epoch, t.epochs, t.lr0, c.lr_scaling, c.lr, t.effective_batch);
    char tmp[] = "/tmp/tunelab-schedXXXXXX";
    FILE *df = a.plot ? plot_data_file(tmp) : NULL;
    if (a.plot && !df) {
        fit_lr_table_free(&t);
        fit_close(&f);
        return term_errorf(1, "cannot create a temporary file for the plot");
    }
    if (!a.json)
        printf("%8s %6s %12s\n", "step", "epoch", "lr");
    for (long i = 0; i < t.n; i++) {
        const fit_lr_row *r = &t.rows[i];
        if (a.json)
            printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.10g}\n", r->step, r->epoch, r->lr);
        else
            printf("%8ld %6d %12.6e\n", r->step, r->epoch, r->lr);
        if (df)
            fprintf(df, "%ld %.10g %g\n", r->step, r->lr, (double)r->step / (double)t.steps_per_epoch);
    }
    int status = 0;
    if (df) {
        fclose(df);
        char script[2048];
        snprintf(script, sizeof script,
                 "%sset output '%s'\nset title 'learning rate: %s (%s)'\nset xlabel 'optimizer step'\n"
                 "set ylabel 'learning rate'\nset grid\nset key off\nset format y '%%.1e'\n"
                 "plot '%s' using 1:2 with %s lw 2 lc rgb '#1f77b4'\n",
                 plot_png_terminal(), a.plot, c.schedule, c.source, tmp, t.per_epoch ? "steps" : "lines");
        status = plot_and_clean(script, a.plot, tmp);
    }
    fit_lr_table_free(&t);
    fit_close(&f);
    return status;
}

static const char *LRF_HELP =
    "usage: tunelab lr-find CONFIG [--set key=value ...] [--plot FILE.png] [--json]\n\n"
    "Learning-rate range test (Smith 2017): trains from scratch while the learning\n"
    "rate grows exponentially from --lo to --hi, prints the loss (and its\n"
    "smoothed value) against the learning rate and suggests the rate where the\n"
    "smoothed loss (exponential moving average, beta 0.95) falls fastest.\n"
    "options:\n"
    "  --set KEY=VALUE  override a config key (repeatable)\n"
    "  --plot FILE.png  draw loss against learning rate with gnuplot\n"
    "  --json           the curve and the suggestion as one JSON object\n"
    "  --steps N        sweep length (default 300)\n"
    "  --lo X --hi Y    sweep range (default 1e-7 .. 10)\n";

/* Takes --steps, --lo and --hi out of argv.  Returns 0 or the exit status
 * after a usage error. */
static int parse_sweep(int *argc, char **argv, long *steps, double *lo, double *hi)
{
    for (int i = 1; i < *argc;) {
        int known = !strcmp(argv[i], "--steps") || !strcmp(argv[i], "--lo") || !strcmp(argv[i], "--hi");
        if (!known) {
            i++;
            continue;
        }
        if (i + 1 >= *argc)
            return term_errorf(2, "%s: needs a value", argv[i]);
        char *end;
        double v = strtod(argv[i + 1], &end);
        if (*end || end == argv[i + 1] || !(v > 0) || !isfinite(v))
            return term_errorf(2, "%s: expected a positive number, got '%s'", argv[i], argv[i + 1]);
        if (!strcmp(argv[i], "--steps"))
            *steps = (long)v;
        else if (!strcmp(argv[i], "--lo"))
            *lo = v;
        else
            *hi = v;
        for (int j = i; j + 2 <= *argc; j++)
            argv[j] = argv[j + 2];
        *argc -= 2;
    }
    return 0;
}

static void print_sweep(const train_lr_find_result *res, int json)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "suggestion", res->suggestion);
        cJSON_AddNumberToObject(o, "lr_min_div10", res->lr_min_div10);
        cJSON_AddNumberToObject(o, "steps", res->n);
        cJSON_AddBoolToObject(o, "stopped_early", res->stopped_early);
        cJSON_AddItemToObject(o, "lr", cJSON_CreateDoubleArray(res->lr, res->n));
        cJSON_AddItemToObject(o, "loss", cJSON_CreateDoubleArray(res->loss, res->n));
        cJSON_AddItemToObject(o, "smooth", cJSON_CreateDoubleArray(res->smooth, res->n));
        char *js = cJSON_PrintUnformatted(o);
        printf("%s\n", js);
        free(js);
        cJSON_Delete(o);
        return;
    }
    printf("%6s %12s %10s %10s\n", "step", "lr", "loss", "smoothed");
    for (int i = 0; i < res->n; i++)
        printf("%6d %12.4e %10.4f %10.4f\n", i, res->lr[i], res->loss[i], res->smooth[i]);
    printf("suggested lr: %.3g (steepest descent of the smoothed loss); min-loss lr / 10: %.3g%s\n",
           res->suggestion, res->lr_min_div10, res->stopped_early ? " [stopped early: loss blew up]" : "");
}

/* Loss and smoothed loss against the learning rate, into png.  Returns the
 * exit status. */
static int plot_sweep(const char *png, const config *c, const train_lr_find_result *res)
{
    char tmp[] = "/tmp/tunelab-lrfXXXXXX";
    FILE *df = plot_data_file(tmp);
    if (!df)
        return term_errorf(1, "cannot create a temporary file for the plot");
    for (int i = 0; i < res->n; i++)
        fprintf(df, "%.8g %.8g %.8g\n", res->lr[i], res->loss[i], res->smooth[i]);
    fclose(df);
    /* the y range follows the smoothed curve, not the blow-up at the end */
    double ymin = INFINITY, ymax = res->n ? res->smooth[0] : 1;
    for (int i = 0; i < res->n; i++)
        if (isfinite(res->loss[i]) && res->loss[i] < ymin)
            ymin = res->loss[i];
    if (!isfinite(ymin))
        ymin = 0;
    char script[2048];
    snprintf(script, sizeof script,
             "%sset output '%s'\nset title 'LR range test: %s'\nset logscale x\nset xlabel 'learning rate'\n"
             "set format x '%%.0e'\nset yrange [%g:%g]\n"
             "set ylabel 'training loss'\nset grid\nset arrow from %g, graph 0 to %g, graph 1 nohead "
             "dt 2 lc rgb '#d62728'\n"
             "plot '%s' using 1:2 with lines lc rgb '#bbbbbb' title 'loss', '' using 1:3 with lines lw 2 "
             "lc rgb '#1f77b4' title 'smoothed', 1/0 dt 2 lc rgb '#d62728' title 'suggested %.2g'\n",
             plot_png_terminal(), png, c->source, 0.9 * ymin, 1.3 * ymax, res->suggestion, res->suggestion, tmp,
             res->suggestion);
    return plot_and_clean(script, png, tmp);
}

int cmd_lr_find(int argc, char **argv)
{
    long steps = 300;
    double lo = 1e-7, hi = 10;
    int rc = parse_sweep(&argc, argv, &steps, &lo, &hi);
    if (rc)
        return rc;
    args a;
    config c;
    fit f;
    if ((rc = load(LRF_HELP, argc, argv, OPT_SET | OPT_PLOT | OPT_JSON, &a, &c, &f)))
        return rc < 0 ? 0 : rc;
    tl_err err = {0};
    const train_lr_find_result *res;
    if (fit_lr_find(&f, lo, hi, (int)steps, &res, &err)) {
        fit_close(&f);
        return term_error(&err, NULL);
    }
    print_sweep(res, a.json);
    int status = a.plot ? plot_sweep(a.plot, &c, res) : 0;
    fit_close(&f);
    return status;
}
