/* cli/cmd_schedule.c: `tunelab schedule CONFIG [--plot FILE.png]` prints the
 * learning rate of every step (or epoch) of the configured run, and
 * `tunelab lr-find CONFIG [--plot FILE.png]` runs the learning-rate range
 * test. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "report/plot.h"
#include "tune/session.h"
#include "cli/term.h"
#include "nn/schedule.h"

static const char *SCHED_HELP =
    "usage: tunelab schedule CONFIG [--set key=value ...] [--plot FILE.png] [--json]\n\n"
    "Prints the learning rate at each optimizer step of the run CONFIG describes\n"
    "(per epoch when train.schedule_unit = epochs): the schedule, the warmup,\n"
    "the batch-size scaling of train.lr_scaling.  --plot draws it with gnuplot.\n";

static int load(const char *help, int argc, char **argv, unsigned opts, args *a, config *c, task_data *d,
                session *s)
{
    int rc = args_parse(a, argc, argv, opts, help);
    if (rc) {
        args_free(a);
        return rc == 1 ? -1 : 2;
    }
    tl_err err = {0};
    if (!a->positional)
        rc = term_errorf(2, "%s: needs a CONFIG file", argv[0]);
    else if ((rc = args_load_config(a, c, &err)) || (rc = task_data_load(c, d, &err)))
        rc = term_error(&err, NULL);
    else if ((rc = session_new(s, c, d, &err))) {
        task_data_free(d);
        rc = term_error(&err, NULL);
    }
    args_free(a);
    return rc;
}

static long steps_per_epoch(const config *c, session *s)
{
    nn_batch_src *src = session_train(s);
    long count = src->count(src->self);
    long nb = (count + c->batch_size - 1) / c->batch_size;
    return (nb + c->accum_steps - 1) / c->accum_steps;
}

int cmd_schedule(int argc, char **argv)
{
    args a;
    config c;
    task_data d;
    session s;
    int rc = load(SCHED_HELP, argc, argv, OPT_SET | OPT_PLOT | OPT_JSON, &a, &c, &d, &s);
    if (rc)
        return rc < 0 ? 0 : rc;
    tl_err err = {0};
    long spe = steps_per_epoch(&c, &s);
    sched sc;
    if ((rc = sched_resolve(&sc, &s.tr.cfg.sched, spe, c.epochs, &err))) {
        session_free(&s);
        task_data_free(&d);
        return term_error(&err, NULL);
    }
    double lr0 = train_scaled_lr(&s.tr.cfg);
    long total = spe * c.epochs;
    int per_epoch = sc.per_epoch;
    fprintf(stderr, "# %s, %ld steps per epoch, %d epochs, effective lr %g (%s scaling of %g at batch %d)\n",
            c.schedule, spe, c.epochs, lr0, c.lr_scaling, c.lr, train_effective_batch(&s.tr.cfg));
    char tmp[] = "/tmp/tunelab-schedXXXXXX";
    FILE *df = NULL;
    if (a.plot) {
        int fd = mkstemp(tmp);
        df = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!df) {
            session_free(&s);
            task_data_free(&d);
            return term_errorf(1, "cannot create a temporary file for the plot");
        }
    }
    if (!a.json)
        printf("%8s %6s %12s\n", "step", "epoch", "lr");
    for (long step = 0; step < (per_epoch ? c.epochs : total); step++) {
        long st = per_epoch ? step * spe : step;
        int ep = per_epoch ? (int)step : (int)(step / spe);
        double lr = sched_lr(&sc, lr0, st, ep);
        if (a.json)
            printf("{\"step\":%ld,\"epoch\":%d,\"lr\":%.10g}\n", st, ep, lr);
        else
            printf("%8ld %6d %12.6e\n", st, ep, lr);
        if (df)
            fprintf(df, "%ld %.10g %g\n", st, lr, (double)st / (double)spe);
    }
    int status = 0;
    if (df) {
        fclose(df);
        char script[2048];
        snprintf(script, sizeof script,
                 "%sset output '%s'\nset title 'learning rate: %s (%s)'\nset xlabel 'optimizer step'\n"
                 "set ylabel 'learning rate'\nset grid\nset key off\nset format y '%%.1e'\n"
                 "plot '%s' using 1:2 with %s lw 2 lc rgb '#1f77b4'\n",
                 plot_png_terminal(), a.plot, c.schedule, c.source, tmp, per_epoch ? "steps" : "lines");
        if ((rc = plot_run(script, &err)))
            status = term_error(&err, NULL);
        else
            fprintf(stderr, "# plot: %s\n", a.plot);
        remove(tmp);
    }
    session_free(&s);
    task_data_free(&d);
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

int cmd_lr_find(int argc, char **argv)
{
    long steps = 300;
    double lo = 1e-7, hi = 10;
    /* strip --steps/--lo/--hi before the shared parser */
    for (int i = 1; i < argc;) {
        int known = !strcmp(argv[i], "--steps") || !strcmp(argv[i], "--lo") || !strcmp(argv[i], "--hi");
        if (!known) {
            i++;
            continue;
        }
        if (i + 1 >= argc)
            return term_errorf(2, "%s: needs a value", argv[i]);
        char *end;
        double v = strtod(argv[i + 1], &end);
        if (*end || end == argv[i + 1] || !(v > 0) || !isfinite(v))
            return term_errorf(2, "%s: expected a positive number, got '%s'", argv[i], argv[i + 1]);
        if (!strcmp(argv[i], "--steps"))
            steps = (long)v;
        else if (!strcmp(argv[i], "--lo"))
            lo = v;
        else
            hi = v;
        for (int j = i; j + 2 <= argc; j++)
            argv[j] = argv[j + 2];
        argc -= 2;
    }
    args a;
    config c;
    task_data d;
    session s;
    int rc = load(LRF_HELP, argc, argv, OPT_SET | OPT_PLOT | OPT_JSON, &a, &c, &d, &s);
    if (rc)
        return rc < 0 ? 0 : rc;
    tl_err err = {0};
    lr_find_result res;
    if ((rc = trainer_lr_find(&s.tr, session_train(&s), lo, hi, (int)steps, 0.95, &res, &err))) {
        session_free(&s);
        task_data_free(&d);
        return term_error(&err, NULL);
    }
    if (a.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "suggestion", res.suggestion);
        cJSON_AddNumberToObject(o, "lr_min_div10", res.lr_min_div10);
        cJSON_AddNumberToObject(o, "steps", res.n);
        cJSON_AddBoolToObject(o, "stopped_early", res.stopped_early);
        cJSON_AddItemToObject(o, "lr", cJSON_CreateDoubleArray(res.lr, res.n));
        cJSON_AddItemToObject(o, "loss", cJSON_CreateDoubleArray(res.loss, res.n));
        cJSON_AddItemToObject(o, "smooth", cJSON_CreateDoubleArray(res.smooth, res.n));
        char *js = cJSON_PrintUnformatted(o);
        printf("%s\n", js);
        free(js);
        cJSON_Delete(o);
    } else {
        printf("%6s %12s %10s %10s\n", "step", "lr", "loss", "smoothed");
        for (int i = 0; i < res.n; i++)
            printf("%6d %12.4e %10.4f %10.4f\n", i, res.lr[i], res.loss[i], res.smooth[i]);
        printf("suggested lr: %.3g (steepest descent of the smoothed loss); min-loss lr / 10: %.3g%s\n",
               res.suggestion, res.lr_min_div10, res.stopped_early ? " [stopped early: loss blew up]" : "");
    }
    int status = 0;
    if (a.plot) {
        char tmp[] = "/tmp/tunelab-lrfXXXXXX";
        int fd = mkstemp(tmp);
        FILE *df = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!df) {
            status = term_errorf(1, "cannot create a temporary file for the plot");
        } else {
            for (int i = 0; i < res.n; i++)
                fprintf(df, "%.8g %.8g %.8g\n", res.lr[i], res.loss[i], res.smooth[i]);
            fclose(df);
            /* the y range follows the smoothed curve, not the blow-up at the end */
            double ymin = INFINITY, ymax = res.n ? res.smooth[0] : 1;
            for (int i = 0; i < res.n; i++)
                if (isfinite(res.loss[i]) && res.loss[i] < ymin)
                    ymin = res.loss[i];
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
                     plot_png_terminal(), a.plot, c.source, 0.9 * ymin, 1.3 * ymax, res.suggestion, res.suggestion, tmp,
                     res.suggestion);
            if ((rc = plot_run(script, &err)))
                status = term_error(&err, NULL);
            else
                fprintf(stderr, "# plot: %s\n", a.plot);
            remove(tmp);
        }
    }
    lr_find_result_free(&res);
    session_free(&s);
    task_data_free(&d);
    return status;
}
