/* cli/cmd_train.c: `tunelab train CONFIG [--set k=v ...] [--json]
 * [--resume CKPT] [--until N]`: trains one model (tune/fit.h), prints one
 * line (or JSON object) per epoch and the final metrics. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/term.h"
#include "tune/fit.h"
#include "tune/study_mpi.h"

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
    "  --verbose        print every key of the resolved configuration before training\n"
    "  -h, --help       this help\n\n"
    "config keys (section.key, default, meaning):\n";

typedef struct print_ctx {
    term t;
    int json, quiet, is_text;
    int T;                  /* text: tokens per sequence (samples/s -> tokens/s) */
    int patience;           /* mark improving epochs when early stopping is on */
} print_ctx;

static void on_progress(const train_progress *p, void *ud)
{
    print_ctx *r = ud;
    if (!r->t.live || r->json || r->quiet)
        return;
    char label[32], suffix[96];
    snprintf(label, sizeof label, "epoch %d", p->epoch + 1);
    snprintf(suffix, sizeof suffix, "loss %.4f lr %.2e", p->loss, p->lr);
    term_progress(&r->t, label, (double)p->step_in_epoch, (double)p->steps_per_epoch, suffix);
}

static void print_header_row(const print_ctx *r)
{
    if (r->json || r->quiet)
        return;
    printf("%5s %11s %10s %9s %10s %11s %8s\n", "epoch", "train_loss", "val_loss", r->is_text ? "val_ppl" : "val_acc",
           "lr", r->is_text ? "tokens/s" : "samples/s", "elapsed");
    fflush(stdout);
}

static void on_epoch(const train_event *ev, void *ud)
{
    print_ctx *r = ud;
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
               rate, ev->elapsed, ev->is_best && r->patience > 0 ? " *" : "");
    }
    fflush(stdout);
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
    int rc = args_parse(&a, argc, argv, OPT_SET | OPT_JSON | OPT_RESUME | OPT_QUIET | OPT_VERBOSE,
                        help ? help : HELP);
    free(help);
    if (!rc)
        rc = train_main(&a, until);
    else
        rc = rc == 1 ? 0 : 2;
    args_free(&a);
    return rc;
}

/* The run's config: the checkpoint's with --set on top (ck: its bytes
 * under mpirun, else NULL), or CONFIG's.  Returns 0 or the exit status
 * after printing the error. */
static int load_config(const args *a, const unsigned char *ck, size_t ckn, config *c)
{
    tl_err err = {0};
    if (!a->resume)
        return args_load_config(a, c, &err) ? term_error(&err, NULL) : 0;
    int bad_text = 0;
    if (ck ? session_config_of_ckpt_mem(c, ck, ckn, a->resume, &bad_text, &err)
           : session_config_of_ckpt(c, a->resume, &bad_text, &err))
        return term_error(&err, bad_text ? "the checkpoint holds no valid tunelab config" : NULL);
    snprintf(c->source, sizeof c->source, "%s", a->resume);
    for (int i = 0; i < a->nset; i++)
        if (config_set_arg(c, a->set[i], &err))
            return term_error(&err, NULL);
    if (config_validate(c, &err))
        return term_error(&err, NULL);
    return 0;
}

/* The "# ..." lines on stderr before training. */
static void print_header(const args *a, const fit *f)
{
    const config *c = &f->cfg;
    fit_info in;
    fit_describe(f, &in);
    fprintf(stderr, "# tunelab %s: %s\n", TUNELAB_VERSION, a->resume ? a->resume : a->positional);
    fprintf(stderr, "# threads: %s\n", in.threads);
    tl_blas_info bi;
    term_blas_header(&bi);
    fprintf(stderr, "# model: %s, %zu parameters\n", in.model, in.nparams);
    fprintf(stderr, "# data: %s train %ld, val %ld, test %ld %s\n", c->dataset, in.ntrain, in.nval, in.ntest,
            in.is_text ? "tokens" : "samples");
    if (in.is_text)
        fprintf(stderr, "# unigram entropy of the validation text: %.4f nats/char (a context-free model's "
                        "loss)\n", in.unigram_entropy);
    fprintf(stderr, "# batch %d x accum %d = effective %d; lr %g, scaling %s -> effective lr %g; schedule %s\n",
            c->batch_size, c->accum_steps, in.effective_batch, c->lr, c->lr_scaling, in.effective_lr, c->schedule);
    if (a->resume)
        fprintf(stderr, "# resumed at epoch %d, step %ld\n", in.epoch, in.step);
    if (a->quiet || a->json)
        return;
    if (!a->verbose) {
        fprintf(stderr, "# settings: ");
        if (config_write_changed(c, stderr) == 0)
            fprintf(stderr, "the defaults");
        fprintf(stderr, "\n# (--verbose prints every key)\n");
        return;
    }
    fprintf(stderr, "# resolved configuration:\n");
    for (const char *line = f->ini, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        int n = next ? (int)(next - line) : (int)strlen(line);
        if (n)
            fprintf(stderr, "#   %.*s\n", n, line);
        next = next ? next + 1 : NULL;
    }
}

/* The final summary on stdout; returns the exit status (1 after a
 * divergence). */
static int print_summary(const args *a, const fit *f, const fit_result *r)
{
    int is_text = f->data.is_text;
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", r->status);
        if (r->diverged)
            cJSON_AddStringToObject(o, "reason", r->reason);
        cJSON_AddNumberToObject(o, "epochs", r->epochs);
        cJSON_AddNumberToObject(o, "steps", (double)r->steps);
        cJSON_AddNumberToObject(o, "best_epoch", r->best_epoch);
        cJSON_AddNumberToObject(o, "stopped_epoch", r->epochs);
        cJSON_AddNumberToObject(o, "val_loss", r->val_loss);
        if (is_text)
            cJSON_AddNumberToObject(o, "val_perplexity", exp(r->val_loss));
        else
            cJSON_AddNumberToObject(o, "val_accuracy", r->val_acc);
        if (!isnan(r->test_loss)) {
            cJSON_AddNumberToObject(o, "test_loss", r->test_loss);
            cJSON_AddNumberToObject(o, "test_accuracy", r->test_acc);
        }
        cJSON_AddNumberToObject(o, "params", (double)r->nparams);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
        char *js = cJSON_PrintUnformatted(o);
        printf("%s\n", js);
        free(js);
        cJSON_Delete(o);
    } else {
        printf("status: %s after %d epochs (%ld steps) in %.1fs", r->status, r->epochs, r->steps, r->seconds);
        if (f->cfg.patience > 0)
            printf("; best epoch %d", r->best_epoch);
        printf("\n");
        if (r->diverged)
            printf("reason: %s\n", r->reason);
        else if (is_text)
            printf("val_loss %.4f  val_perplexity %.3f\n", r->val_loss, exp(r->val_loss));
        else
            printf("val_loss %.4f  val_accuracy %.2f%%\n", r->val_loss, 100 * r->val_acc);
        if (!isnan(r->test_acc))
            printf("test_loss %.4f  test_accuracy %.2f%%\n", r->test_loss, 100 * r->test_acc);
        if (r->can_continue && f->ckpt)
            printf("saved: %s (continue with `tunelab train --resume %s`)\n", f->ckpt, f->ckpt);
    }
    fflush(stdout);
    if (!r->diverged)
        return 0;
    fprintf(stderr, "tunelab: training diverged: %s\n", r->reason);
    return 1;
}

static int train_main(const args *a, int until)
{
    if (!a->positional && !a->resume)
        return term_errorf(2, "train: needs a CONFIG file (or --resume CKPT); see `tunelab train --help`");
    if (a->positional && a->resume)
        return term_errorf(2, "train: give either CONFIG or --resume CKPT, not both");
    tl_err err = {0};
    int lead = tune_mpi_rank() == 0; /* under mpirun: rank 0 prints and checkpoints */
    /* under mpirun rank 0 reads the checkpoint and sends it: the other hosts need not see the file */
    unsigned char *ck = NULL;
    size_t ckn = 0;
    if (a->resume && tune_mpi_size() > 1 && tune_mpi_read_file(a->resume, &ck, &ckn, &err))
        return lead ? term_error(&err, NULL) : 2;
    config c;
    int rc = load_config(a, ck, ckn, &c);
    if (!rc && until && !c.checkpoint[0] && !a->resume)
        rc = term_errorf(2, "train: --until needs train.checkpoint (where to save the run)");
    if (rc) {
        free(ck);
        return rc;
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    fit f;
    config mine = c; /* under mpirun rank 0 alone writes train.checkpoint: the others need not reach its folder */
    if (tune_mpi_rank() > 0)
        mine.checkpoint[0] = 0;
    rc = fit_open_mem(&f, &mine, a->resume, ck, ckn, &err);
    free(ck);
    if (tune_mpi_size() > 1) {
        tl_err verdict = {0};
        if (tune_mpi_agree(rc, err.msg, rc ? NULL : &c, &verdict)) {
            if (!rc)
                fit_close(&f);
            return lead ? term_error(&verdict, NULL) : 2;
        }
        tune_fit_data_parallel(&f);
    } else if (rc) {
        return term_error(&err, NULL);
    }
    print_ctx p = {.json = a->json, .quiet = a->quiet || !lead, .is_text = f.data.is_text, .T = c.ctx,
                   .patience = c.patience};
    term_init(&p.t);
    if (lead) {
        print_header(a, &f);
        if (tune_mpi_size() > 1)
            fprintf(stderr, "# MPI: data parallel over %d ranks: each takes a slice of every batch of %d\n"
                            "# MPI hosts: %s, each rank on %d thread%s\n",
                    tune_mpi_size(), c.batch_size, tune_mpi_hosts(), omp_get_max_threads(),
                    omp_get_max_threads() > 1 ? "s" : "");
        print_header_row(&p);
    }
    rc = fit_run(&f, until, lead ? on_epoch : NULL, lead ? on_progress : NULL, &p, &err);
    term_clear(&p.t);
    int status;
    if (rc) {
        status = term_error(&err, f.ckpt_failed ? "check that the checkpoint's folder exists and is writable" : NULL);
        fflush(stdout);
    } else if (lead) { /* under mpirun, rank 0 alone evaluates and prints */
        fit_result r;
        fit_finish(&f, &r);
        status = print_summary(a, &f, &r);
    } else {
        status = 0;
    }
    fit_close(&f);
    return status;
}
