/* cli/cmd_train.c: `tunelab train CONFIG [--set k=v ...] [--json]
 * [--resume CKPT] [--until N]`: trains one model, prints one line (or JSON
 * object) per epoch and the final metrics. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "tune/session.h"
#include "cli/term.h"
#include "nn/ckpt.h"

static const char *HELP =
    "usage: tunelab train CONFIG [--set section.key=value ...] [--json]\n"
    "       tunelab train --resume CKPT [--set ...] [--until N] [--json]\n\n"
    "Trains one model from an INI config and prints, per epoch: train loss,\n"
    "validation loss, validation accuracy (perplexity for text), learning rate,\n"
    "samples (tokens) per second and elapsed seconds; then the test accuracy\n"
    "where a test set exists.\n\n"
    "options:\n"
    "  --set KEY=VALUE  override a config key (repeatable), e.g. --set train.lr=3e-4\n"
    "  --json           one JSON object per epoch and a final summary on stdout\n"
    "  --resume CKPT    continue the run saved in a checkpoint (its config is stored in it)\n"
    "  --until N        stop after epoch N (and write train.checkpoint), to continue later\n"
    "  --quiet          no per-epoch lines (the final summary only)\n"
    "  -h, --help       this help\n\n"
    "config keys (section.key, default, meaning):\n";

typedef struct run_ctx {
    const config *c;
    term t;
    int json, quiet, is_text;
    const char *ckpt_path;
    char *blob;
    int T;
    int ckpt_failed;
    tl_err ckpt_err;
} run_ctx;

static void on_progress(const train_progress *p, void *ud)
{
    run_ctx *r = ud;
    if (!r->t.live || r->json || r->quiet)
        return;
    char label[32], suffix[96];
    snprintf(label, sizeof label, "epoch %d", p->epoch + 1);
    snprintf(suffix, sizeof suffix, "loss %.4f lr %.2e", p->loss, p->lr);
    term_progress(&r->t, label, (double)p->step_in_epoch, (double)p->steps_per_epoch, suffix);
}

static void print_header_row(const run_ctx *r)
{
    if (r->json || r->quiet)
        return;
    printf("%5s %11s %10s %9s %10s %11s %8s\n", "epoch", "train_loss", "val_loss", r->is_text ? "val_ppl" : "val_acc",
           "lr", r->is_text ? "tokens/s" : "samples/s", "elapsed");
    fflush(stdout);
}

static int on_epoch(trainer *t, const train_event *ev, void *ud)
{
    run_ctx *r = ud;
    term_clear(&r->t);
    double rate = ev->samples_per_sec * (r->is_text ? r->T : 1);
    if (r->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", ev->epoch);
        cJSON_AddNumberToObject(o, "step", (double)ev->step);
        cJSON_AddNumberToObject(o, "train_loss", ev->train_loss);
        cJSON_AddNumberToObject(o, "val_loss", ev->val_loss);
        if (r->is_text)
            cJSON_AddNumberToObject(o, "val_perplexity", exp(ev->val_loss));
        else
            cJSON_AddNumberToObject(o, "val_accuracy", ev->val_acc);
        cJSON_AddNumberToObject(o, "lr", ev->lr);
        cJSON_AddNumberToObject(o, r->is_text ? "tokens_per_sec" : "samples_per_sec", rate);
        cJSON_AddNumberToObject(o, "elapsed", ev->elapsed);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (!r->quiet) {
        char acc[32];
        if (r->is_text)
            snprintf(acc, sizeof acc, "%9.3f", exp(ev->val_loss));
        else
            snprintf(acc, sizeof acc, "%8.2f%%", 100 * ev->val_acc);
        printf("%5d %11.4f %10.4f %9s %10.3e %11.0f %7.1fs%s\n", ev->epoch, ev->train_loss, ev->val_loss, acc, ev->lr,
               rate, ev->elapsed, ev->is_best && t->cfg.patience > 0 ? " *" : "");
    }
    fflush(stdout);
    if (r->ckpt_path && !r->ckpt_failed) {
        if (ckpt_save(t, r->ckpt_path, r->blob, strlen(r->blob) + 1, &r->ckpt_err)) {
            r->ckpt_failed = 1;
            return TRAIN_STOP;
        }
    }
    return TRAIN_CONTINUE;
}

static int parse_until(int *argc, char **argv, int *until)
{
    *until = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--until"))
            continue;
        if (i + 1 >= *argc)
            return term_errorf(2, "--until: needs an epoch number");
        char *end;
        errno = 0;
        long v = strtol(argv[i + 1], &end, 10);
        if (*end || end == argv[i + 1] || v < 1 || v > 10000000 || errno)
            return term_errorf(2, "--until: expected a positive epoch number, got '%s'", argv[i + 1]);
        *until = (int)v;
        for (int j = i; j + 2 <= *argc; j++)
            argv[j] = argv[j + 2];
        *argc -= 2;
        return 0;
    }
    return 0;
}

static int train_main(const args *ap, int until);

int cmd_train(int argc, char **argv)
{
    int until;
    if (parse_until(&argc, argv, &until))
        return 2;
    args a;
    char *help = NULL;
    size_t hl = 0;
    FILE *hf = open_memstream(&help, &hl);
    if (hf) {
        fputs(HELP, hf);
        config_print_reference(hf, NULL);
        fclose(hf);
    }
    int rc = args_parse(&a, argc, argv, OPT_SET | OPT_JSON | OPT_RESUME | OPT_QUIET, help ? help : HELP);
    free(help);
    if (!rc)
        rc = train_main(&a, until);
    else
        rc = rc == 1 ? 0 : 2;
    args_free(&a);
    return rc;
}

static int train_main(const args *ap, int until)
{
    const args a = *ap;
    int rc;
    if (!a.positional && !a.resume)
        return term_errorf(2, "train: needs a CONFIG file (or --resume CKPT); see `tunelab train --help`");
    if (a.positional && a.resume)
        return term_errorf(2, "train: give either CONFIG or --resume CKPT, not both");

    tl_err err = {0};
    config c;
    void *stored = NULL;
    if (a.resume) {
        size_t len = 0;
        ckpt_info info;
        if ((rc = ckpt_peek(a.resume, &info, &stored, &len, &err)))
            return term_error(&err, NULL);
        config_defaults(&c);
        if ((rc = config_load_text(&c, stored, strnlen(stored, len), a.resume, &err))) {
            free(stored);
            return term_error(&err, "the checkpoint holds no valid tunelab config");
        }
        free(stored);
        snprintf(c.source, sizeof c.source, "%s", a.resume);
        for (int i = 0; i < a.nset; i++)
            if ((rc = config_set_arg(&c, a.set[i], &err)))
                return term_error(&err, NULL);
        if ((rc = config_validate(&c, &err)))
            return term_error(&err, NULL);
    } else if ((rc = args_load_config(&a, &c, &err))) {
        return term_error(&err, NULL);
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);

    run_ctx r = {.c = &c, .json = a.json, .quiet = a.quiet};
    term_init(&r.t);
    r.ckpt_path = c.checkpoint[0] ? c.checkpoint : a.resume;
    if (until && !r.ckpt_path)
        return term_errorf(2, "train: --until needs train.checkpoint (where to save the run)");
    r.blob = config_to_string(&c);
    if (!r.blob)
        return term_errorf(1, "out of memory");

    task_data d;
    if ((rc = task_data_load(&c, &d, &err))) {
        free(r.blob);
        return term_error(&err, NULL);
    }
    r.is_text = d.is_text;
    r.T = c.ctx;
    session s;
    if ((rc = session_new(&s, &c, &d, &err))) {
        task_data_free(&d);
        free(r.blob);
        return term_error(&err, NULL);
    }
    if (a.resume && (rc = ckpt_load(&s.tr, a.resume, NULL, NULL, &err))) {
        session_free(&s);
        task_data_free(&d);
        free(r.blob);
        return term_error(&err, NULL);
    }

    char desc[256], layout[256];
    session_describe(&c, &d, desc, sizeof desc);
    train_thread_layout(layout, sizeof layout);
    {
        fprintf(stderr, "# tunelab %s: %s\n", TUNELAB_VERSION, a.resume ? a.resume : a.positional);
        fprintf(stderr, "# threads: %s\n", layout);
        tl_blas_info bi;
        term_blas_header(&bi);
        fprintf(stderr, "# model: %s, %zu parameters\n", desc, s.nparams);
        fprintf(stderr, "# data: %s train %ld, val %ld, test %ld %s\n", c.dataset, d.train.n, d.val.n, d.test.n,
                d.is_text ? "tokens" : "samples");
        if (d.is_text)
            fprintf(stderr, "# unigram entropy of the validation text: %.4f nats/char (a context-free model's "
                            "loss)\n", data_text_unigram_entropy(&d.val));
        fprintf(stderr, "# batch %d x accum %d = effective %d; lr %g, scaling %s -> effective lr %g; schedule %s\n",
                c.batch_size, c.accum_steps, train_effective_batch(&s.tr.cfg), c.lr, c.lr_scaling,
                train_scaled_lr(&s.tr.cfg), c.schedule);
        if (a.resume)
            fprintf(stderr, "# resumed at epoch %d, step %ld\n", s.tr.epoch, s.tr.step);
        if (!a.quiet && !a.json) {
            fprintf(stderr, "# resolved configuration:\n");
            char *line = r.blob, *next;
            for (; line && *line; line = next) {
                next = strchr(line, '\n');
                int n = next ? (int)(next - line) : (int)strlen(line);
                if (n)
                    fprintf(stderr, "#   %.*s\n", n, line);
                next = next ? next + 1 : NULL;
            }
        }
    }
    print_header_row(&r);
    trainer_set_progress(&s.tr, on_progress, &r);
    rc = trainer_run(&s.tr, session_train(&s), session_val(&s), until, on_epoch, &r, &err);
    term_clear(&r.t);
    int status = 0;
    if (rc) {
        status = term_error(&err, NULL);
    } else if (r.ckpt_failed) {
        status = term_error(&r.ckpt_err, "check that the checkpoint's folder exists and is writable");
    } else {
        double vl = NAN, va = NAN, tl = NAN, ta = NAN;
        tl_err e2;
        int final = s.tr.status != TRAIN_BUDGET_REACHED;
        if (s.tr.status != TRAIN_DIVERGED) {
            trainer_evaluate(&s.tr, session_val(&s), &vl, &va, &e2);
            if (final && session_test(&s))
                trainer_evaluate(&s.tr, session_test(&s), &tl, &ta, &e2);
        }
        const char *st = train_status_str(s.tr.status);
        if (a.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", st);
            if (s.tr.status == TRAIN_DIVERGED)
                cJSON_AddStringToObject(o, "reason", s.tr.reason);
            cJSON_AddNumberToObject(o, "epochs", s.tr.epoch);
            cJSON_AddNumberToObject(o, "steps", (double)s.tr.step);
            cJSON_AddNumberToObject(o, "best_epoch", s.tr.best_epoch);
            cJSON_AddNumberToObject(o, "stopped_epoch", s.tr.epoch);
            cJSON_AddNumberToObject(o, "val_loss", vl);
            if (d.is_text)
                cJSON_AddNumberToObject(o, "val_perplexity", exp(vl));
            else
                cJSON_AddNumberToObject(o, "val_accuracy", va);
            if (!isnan(tl)) {
                cJSON_AddNumberToObject(o, "test_loss", tl);
                cJSON_AddNumberToObject(o, "test_accuracy", ta);
            }
            cJSON_AddNumberToObject(o, "params", (double)s.nparams);
            cJSON_AddNumberToObject(o, "seconds", s.tr.elapsed);
            char *js = cJSON_PrintUnformatted(o);
            printf("%s\n", js);
            free(js);
            cJSON_Delete(o);
        } else {
            printf("status: %s after %d epochs (%ld steps) in %.1fs", st, s.tr.epoch, s.tr.step, s.tr.elapsed);
            if (s.tr.cfg.patience > 0)
                printf("; best epoch %d", s.tr.best_epoch);
            printf("\n");
            if (s.tr.status == TRAIN_DIVERGED)
                printf("reason: %s\n", s.tr.reason);
            else if (d.is_text)
                printf("val_loss %.4f  val_perplexity %.3f\n", vl, exp(vl));
            else
                printf("val_loss %.4f  val_accuracy %.2f%%\n", vl, 100 * va);
            if (!isnan(ta))
                printf("test_loss %.4f  test_accuracy %.2f%%\n", tl, 100 * ta);
            if (s.tr.status == TRAIN_BUDGET_REACHED && r.ckpt_path)
                printf("saved: %s (continue with `tunelab train --resume %s`)\n", r.ckpt_path, r.ckpt_path);
        }
        if (s.tr.status == TRAIN_DIVERGED) {
            fprintf(stderr, "tunelab: training diverged: %s\n", s.tr.reason);
            status = 1;
        }
    }
    fflush(stdout);
    session_free(&s);
    task_data_free(&d);
    free(r.blob);
    return status;
}
