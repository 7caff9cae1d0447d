/* tests/test_gpt.c: the GPT of nn/gpt.h through the nn_model interface:
 * finite-difference gradient checks over every parameter tensor (with and
 * without dropout under a fixed mask, T < ctx), overfitting one batch with
 * plain SGD written here, bad configs, GPT-2's parameter count and init,
 * bit-identical runs from one seed, causality across T, generation, and
 * parity with PyTorch 1.13 (scripts/torch_parity.py; skipped with a
 * message where /usr/bin/python3 has no torch).
 *
 * Also defines nn_test_parity_run, which tests/test_mlp.c uses too.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/gpt.h"
#include "nn/mlp.h"
#include "util/rng.h"

#include "gradcheck.h"

#define PARITY_SCRIPT "scripts/torch_parity.py"
#define PARITY_DIR "tests/data"

typedef struct {
    nn_model *m;
    nn_batch b;
    int *tok, *tgt;
} fixture;

/* A GPT and a batch of random tokens; targets are random too. */
static void fx_make(fixture *f, const gpt_config *c, int B, int T, uint64_t seed)
{
    rng r;
    tl_err err;
    rng_seed(&r, seed, 0);
    cr_assert_eq(gpt_create(c, B, &r, &f->m, &err), 0, "%s", err.msg);
    f->tok = malloc(sizeof(int) * B * T);
    f->tgt = malloc(sizeof(int) * B * T);
    for (int i = 0; i < B * T; i++) {
        f->tok[i] = (int)rng_below(&r, (uint64_t)c->vocab);
        f->tgt[i] = (int)rng_below(&r, (uint64_t)c->vocab);
    }
    f->b = (nn_batch){.B = B, .T = T, .tokens = f->tok, .targets = f->tgt};
}

static void fx_free(fixture *f)
{
    nn_model_free(f->m);
    free(f->tok);
    free(f->tgt);
}

/* Replaces GPT-2's small init by bigger random values so that every path
 * carries a gradient worth checking (LayerNorm weights near 1). */
static void randomize(nn_model *m, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 5);
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        int is_lnw = strstr(tn->name, "ln") && tn->name[strlen(tn->name) - 1] == 'w';
        for (size_t i = 0; i < tn->size; i++) {
            float u = 2.0f * rng_uniformf(&r) - 1.0f;
            m->params[tn->offset + i] = is_lnw ? 1.0f + 0.3f * u : 0.4f * u;
        }
    }
}

/* Every tensor, up to max_checks evenly spaced entries each, against
 * central differences; wpe rows at t >= T get no gradient by design, the
 * rest must. */
static int model_gradcheck(nn_model *m, const nn_batch *b, const rng *r0, float eps, double atol,
                           double rtol, size_t max_checks)
{
    return gc_check(m, b, r0, eps, atol, rtol, max_checks, NULL, NULL, NULL, "wpe");
}

Test(gpt, gradcheck_every_tensor)
{
    gpt_config c = {.vocab = 7, .ctx = 5, .d_model = 8, .layers = 2, .heads = 2};
    fixture f;
    fx_make(&f, &c, 2, 4, 1); /* T = 4 < ctx = 5 */
    randomize(f.m, 1);
    rng r0;
    rng_seed(&r0, 3, 0);
    cr_assert(model_gradcheck(f.m, &f.b, &r0, 1e-2f, 2e-4, 2e-2, 48));
    /* positions never used get exactly no gradient */
    const nn_tensor *wpe = &f.m->tensors[1];
    cr_assert_str_eq(wpe->name, "wpe");
    for (int i = 4 * 8; i < 5 * 8; i++)
        cr_assert_eq(f.m->grads[wpe->offset + i], 0.0f);
    fx_free(&f);
}

Test(gpt, gradcheck_with_dropout_fixed_mask)
{
    gpt_config c = {.vocab = 6, .ctx = 4, .d_model = 6, .layers = 1, .heads = 3, .mlp_ratio = 2,
                    .dropout = 0.25f};
    fixture f;
    fx_make(&f, &c, 2, 4, 2);
    randomize(f.m, 2);
    rng r0;
    rng_seed(&r0, 4, 0);
    cr_assert(model_gradcheck(f.m, &f.b, &r0, 1e-2f, 2e-4, 2e-2, 48));
    /* dropout is really on: another mask gives another loss; eval differs */
    rng r1;
    rng_seed(&r1, 5, 0);
    double l0 = gc_loss_at(f.m, &f.b, &r0), l1 = gc_loss_at(f.m, &f.b, &r1);
    double le = f.m->vt->forward(f.m, &f.b, 0, NULL, NULL);
    cr_assert(l0 != l1 && l0 != le);
    fx_free(&f);
}

Test(gpt, overfits_one_batch_with_sgd)
{
    gpt_config c = {.vocab = 10, .ctx = 8, .d_model = 32, .layers = 2, .heads = 4};
    fixture f;
    fx_make(&f, &c, 4, 8, 7);
    /* Language modelling on random tokens: targets are the next tokens, and
     * each sequence starts with its own token so no two contexts agree and
     * a zero loss exists. */
    for (int b = 0; b < 4; b++) {
        f.tok[b * 8] = b;
        for (int t = 0; t < 7; t++)
            f.tgt[b * 8 + t] = f.tok[b * 8 + t + 1];
    }
    float first = 0, loss = 0;
    for (int step = 0; step < 300; step++) {
        loss = gc_sgd_step(f.m, &f.b, NULL, 0.5f);
        if (step == 0)
            first = loss;
    }
    long hits = 0;
    loss = f.m->vt->forward(f.m, &f.b, 0, NULL, &hits);
    cr_log_info("gpt: loss %.4f -> %.5f", first, loss);
    cr_assert_float_eq(first, logf(10.0f), 0.2f, "initial loss %g should be near ln(V)", first);
    cr_assert_lt(loss, 0.05f, "loss %g after 300 SGD steps", loss);
    cr_assert_eq(hits, 32);
    fx_free(&f);
}

Test(gpt, learns_a_cycle_and_generates_it)
{
    gpt_config c = {.vocab = 6, .ctx = 8, .d_model = 24, .layers = 1, .heads = 2};
    rng r;
    rng_seed(&r, 8, 0);
    nn_model *m;
    tl_err err;
    cr_assert_eq(gpt_create(&c, 3, &r, &m, &err), 0, "%s", err.msg);
    int tok[3 * 8], tgt[3 * 8];
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 8; t++) {
            tok[b * 8 + t] = (b + t) % 5; /* the cycle 0 1 2 3 4 0 ..., three offsets */
            tgt[b * 8 + t] = (b + t + 1) % 5;
        }
    nn_batch bt = {.B = 3, .T = 8, .tokens = tok, .targets = tgt};
    float loss = 0;
    for (int step = 0; step < 200; step++) {
        loss = gc_sgd_step(m, &bt, NULL, 0.5f);
    }
    cr_assert_lt(loss, 0.05f);
    int prompt[2] = {2, 3}, out[12];
    cr_assert_eq(gpt_generate(m, prompt, 2, 12, 0.0f, NULL, out, &err), 0, "%s", err.msg);
    /* greedy continues the cycle, also past ctx (the window slides) */
    for (int k = 0; k < 12; k++)
        cr_assert_eq(out[k], (4 + k) % 5, "token %d is %d, want %d", k, out[k], (4 + k) % 5);
    /* sampling: reproducible from the seed, tokens in range */
    int s1[10], s2[10];
    rng g1, g2;
    rng_seed(&g1, 1, 2);
    rng_seed(&g2, 1, 2);
    cr_assert_eq(gpt_generate(m, prompt, 2, 10, 2.0f, &g1, s1, &err), 0);
    cr_assert_eq(gpt_generate(m, prompt, 2, 10, 2.0f, &g2, s2, &err), 0);
    cr_assert(memcmp(s1, s2, sizeof s1) == 0);
    for (int k = 0; k < 10; k++)
        cr_assert(s1[k] >= 0 && s1[k] < 6);
    /* bad arguments */
    cr_assert_eq(gpt_generate(m, prompt, 0, 3, 0.0f, NULL, out, &err), TL_EINPUT);
    prompt[1] = 6;
    cr_assert_eq(gpt_generate(m, prompt, 2, 3, 0.0f, NULL, out, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "prompt token 1 is 6"), "%s", err.msg);
    prompt[1] = 3;
    cr_assert_eq(gpt_generate(m, prompt, 2, 3, 1.0f, NULL, out, &err), TL_EINPUT);
    nn_model_free(m);
}

static void expect_bad(const gpt_config *c, int max_batch, const char *msg)
{
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m = (nn_model *)1;
    tl_err err = {0};
    cr_assert_eq(gpt_create(c, max_batch, &r, &m, &err), TL_EINPUT, "want TL_EINPUT: %s", msg);
    cr_assert_null(m);
    cr_assert(strstr(err.msg, msg) == err.msg, "message '%s' should start with '%s'", err.msg, msg);
    if (max_batch >= 1)
        cr_assert_eq(gpt_param_count(c), 0u);
    if (max_batch >= 1)
        cr_assert_eq(gpt_flops(c), 0.0);
}

Test(gpt, bad_configs_are_input_errors)
{
    gpt_config ok = {.vocab = 10, .ctx = 8, .d_model = 16, .layers = 2, .heads = 4};
    gpt_config c;
    c = ok, c.d_model = 130;
    expect_bad(&c, 4, "model.heads: d_model 130 is not divisible by 4 heads");
    c = ok, c.vocab = 0;
    expect_bad(&c, 4, "model.vocab:");
    c = ok, c.ctx = 0;
    expect_bad(&c, 4, "model.ctx:");
    c = ok, c.d_model = 0;
    expect_bad(&c, 4, "model.d_model:");
    c = ok, c.layers = 0;
    expect_bad(&c, 4, "model.layers:");
    c = ok, c.heads = 0;
    expect_bad(&c, 4, "model.heads:");
    c = ok, c.mlp_ratio = -1;
    expect_bad(&c, 4, "model.mlp_ratio:");
    c = ok, c.dropout = -0.1f;
    expect_bad(&c, 4, "model.dropout:");
    expect_bad(&ok, 0, "max_batch:");
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m = NULL;
    tl_err err;
    cr_assert_eq(gpt_create(&ok, 2, &r, &m, &err), 0, "%s", err.msg);
    cr_assert_eq(gpt_config_of(m)->mlp_ratio, 4, "mlp_ratio 0 means 4");
    cr_assert_null(mlp_config_of(m));
    cr_assert_null(gpt_config_of(NULL));
    nn_model_free(m);
}

Test(gpt, param_count_gpt2_small_and_tensor_table)
{
    gpt_config g2 = {.vocab = 50257, .ctx = 1024, .d_model = 768, .layers = 12, .heads = 12};
    cr_assert_eq(gpt_param_count(&g2), 124439808u);
    gpt_config c = {.vocab = 96, .ctx = 128, .d_model = 128, .layers = 4, .heads = 4};
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m;
    cr_assert_eq(gpt_create(&c, 1, &r, &m, NULL), 0);
    cr_assert_eq(m->nparams, gpt_param_count(&c));
    cr_assert_eq(m->is_text, 1);
    size_t off = 0;
    int decayed = 0;
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        size_t prod = 1;
        for (int d = 0; d < tn->ndim; d++)
            prod *= (size_t)tn->shape[d];
        cr_assert_eq(prod, tn->size, "%s", tn->name);
        cr_assert_eq(tn->offset, off);
        off += tn->size;
        decayed += tn->decay;
    }
    cr_assert_eq(off, m->nparams);
    cr_assert_eq(decayed, 6, "wte wpe qkvw attprojw fcw fcprojw decay");
    nn_model_free(m);
}

Test(gpt, flops_per_token_by_hand_for_a_tiny_model)
{
    /* V 5, ctx T 4, C 4, L 2, 2 heads, mlp_ratio 2 (F 8); multiply-adds per
     * token at full context:
     *   per layer: qkv 3*C*C = 48, output projection C*C = 16,
     *              MLP up C*F = 32 and down F*C = 32,
     *              scores q.k over T keys T*C = 16, mixing of T values T*C = 16
     *              -> 160, times L = 320;
     *   tied head: C*V = 20.
     * 340 multiply-adds, 680 FLOPs (heads split C, they add nothing). */
    gpt_config c = {.vocab = 5, .ctx = 4, .d_model = 4, .layers = 2, .heads = 2, .mlp_ratio = 2};
    cr_assert_eq(gpt_flops(&c), 680.0);
    c.heads = 1;
    cr_assert_eq(gpt_flops(&c), 680.0);
    /* mlp_ratio 0 is the default 4: F 16, MLP 2*C*F = 128 per layer */
    c.mlp_ratio = 0;
    cr_assert_eq(gpt_flops(&c), 2.0 * (2 * (48 + 16 + 128 + 32) + 20));
}

Test(gpt, init_follows_gpt2)
{
    gpt_config c = {.vocab = 64, .ctx = 32, .d_model = 64, .layers = 3, .heads = 4};
    rng r;
    rng_seed(&r, 2, 0);
    nn_model *m;
    cr_assert_eq(gpt_create(&c, 1, &r, &m, NULL), 0);
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        double s = 0, s2 = 0;
        for (size_t i = 0; i < tn->size; i++) {
            double v = m->params[tn->offset + i];
            s += v;
            s2 += v * v;
        }
        double mean = s / tn->size, sd = sqrt(s2 / tn->size - mean * mean);
        const char *n = tn->name;
        if (!strcmp(n, "attprojw") || !strcmp(n, "fcprojw"))
            cr_assert_float_eq(sd, 0.02 / sqrt(6.0), 0.0005, "%s sd %g", n, sd);
        else if (tn->decay)
            cr_assert_float_eq(sd, 0.02, 0.0008, "%s sd %g", n, sd);
        else if (n[strlen(n) - 1] == 'w')
            cr_assert(mean == 1.0 && sd == 0.0, "%s: ones", n);
        else
            cr_assert(mean == 0.0 && sd == 0.0, "%s: zeros", n);
    }
    nn_model_free(m);
}

Test(gpt, same_seed_gives_identical_params_and_losses)
{
    gpt_config c = {.vocab = 9, .ctx = 6, .d_model = 12, .layers = 2, .heads = 3,
                    .dropout = 0.1f};
    float losses[3][4];
    float *params[3];
    size_t n = 0;
    for (int run = 0; run < 3; run++) {
        fixture f;
        fx_make(&f, &c, 3, 6, run < 2 ? 11 : 12);
        rng r;
        rng_seed(&r, 7, 1);
        for (int s = 0; s < 4; s++) {
            losses[run][s] = gc_sgd_step(f.m, &f.b, &r, 0.1f);
        }
        n = f.m->nparams;
        params[run] = malloc(n * sizeof(float));
        memcpy(params[run], f.m->params, n * sizeof(float));
        fx_free(&f);
    }
    gc_assert_seeded_runs(params, n, &losses[0][0], sizeof losses[0] / sizeof losses[0][0]);
}

Test(gpt, shorter_sequences_see_only_their_prefix)
{
    gpt_config c = {.vocab = 11, .ctx = 9, .d_model = 16, .layers = 2, .heads = 2};
    fixture f;
    fx_make(&f, &c, 2, 9, 13);
    randomize(f.m, 13);
    enum { V = 11 };
    cr_assert(isfinite(f.m->vt->forward(f.m, &f.b, 0, NULL, NULL)));
    float full[2 * 9 * V];
    memcpy(full, gpt_logits(f.m), sizeof full);
    /* the first 4 tokens of each sequence, as a (2, 4) batch */
    int tok[8], tgt[8];
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 4; t++)
            tok[b * 4 + t] = f.tok[b * 9 + t], tgt[b * 4 + t] = f.tgt[b * 9 + t];
    nn_batch sb = {.B = 2, .T = 4, .tokens = tok, .targets = tgt};
    cr_assert(isfinite(f.m->vt->forward(f.m, &sb, 0, NULL, NULL)));
    const float *part = gpt_logits(f.m);
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 4; t++)
            for (int v = 0; v < V; v++)
                cr_assert_float_eq(part[(b * 4 + t) * V + v], full[(b * 9 + t) * V + v], 1e-4,
                                   "b %d t %d v %d", b, t, v);
    fx_free(&f);
}

Test(gpt, forward_guards)
{
    gpt_config c = {.vocab = 5, .ctx = 4, .d_model = 8, .layers = 1, .heads = 2, .dropout = 0.1f};
    fixture f;
    fx_make(&f, &c, 2, 4, 14);
    nn_model *m = f.m;
    nn_batch b = f.b;
    b.T = 5;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "T above ctx");
    b = f.b, b.B = 3;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "B above max_batch");
    b = f.b;
    f.tok[3] = 5;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "token out of range");
    f.tok[3] = 0, f.tgt[5] = -1;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "target out of range");
    f.tgt[5] = 0;
    cr_assert(isnan(m->vt->forward(m, &b, 1, NULL, NULL)), "dropout needs an rng");
    b.tokens = NULL;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "no tokens");
    b = f.b;
    long hits = -1;
    cr_assert(isfinite(m->vt->forward(m, &b, 0, NULL, &hits)));
    cr_assert(hits >= 0 && hits <= 8);
    fx_free(&f);
}

/* One training step's loss and gradients of model k, into loss[k], g[k]. */
static void step(fixture *f, float *loss, float *g)
{
    nn_zero_grad(f->m);
    *loss = f->m->vt->forward(f->m, &f->b, 1, NULL, NULL);
    f->m->vt->backward(f->m, &f->b, 1.0f);
    memcpy(g, f->m->grads, f->m->nparams * sizeof(float));
}

Test(gpt, two_models_side_by_side_in_a_parallel_region)
{
    /* Two trials on two OpenMP threads: each model's ops and sgemms run on
     * its own thread and give the bits they give when run alone. */
    gpt_config c = {.vocab = 20, .ctx = 48, .d_model = 32, .layers = 2, .heads = 4};
    fixture f[2];
    float ref_loss[2], loss[2], *ref_g[2], *g[2];
    omp_set_num_threads(1);
    for (int k = 0; k < 2; k++) {
        fx_make(&f[k], &c, 4, 48, 20 + (uint64_t)k);
        ref_g[k] = malloc(f[k].m->nparams * sizeof(float));
        g[k] = malloc(f[k].m->nparams * sizeof(float));
        step(&f[k], &ref_loss[k], ref_g[k]);
    }
    omp_set_num_threads(2);
    int team = 0;
#pragma omp parallel num_threads(2)
    {
        int k = omp_get_thread_num();
#pragma omp atomic
        team++;
        step(&f[k], &loss[k], g[k]);
    }
    cr_assert_eq(team, 2);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(loss[k], ref_loss[k], "model %d: loss %g alone, %g side by side", k,
                     ref_loss[k], loss[k]);
        cr_assert(memcmp(g[k], ref_g[k], f[k].m->nparams * sizeof(float)) == 0, "model %d grads", k);
        free(ref_g[k]);
        free(g[k]);
        fx_free(&f[k]);
    }
}

/* ---- PyTorch parity (used by tests/test_mlp.c too) ---- */

static void write_json_config(FILE *fp, const nn_model *m, const char *kind)
{
    if (!strcmp(kind, "mlp")) {
        const mlp_config *c = mlp_config_of(m);
        fprintf(fp, "{\"in_dim\": %d, \"nhidden\": %d, \"hidden\": [", c->in_dim, c->nhidden);
        for (int l = 0; l < c->nhidden; l++)
            fprintf(fp, "%s%d", l ? ", " : "", c->hidden[l]);
        fprintf(fp, "], \"out_dim\": %d, \"act\": %d}", c->out_dim, c->act);
    } else {
        const gpt_config *c = gpt_config_of(m);
        fprintf(fp, "{\"vocab\": %d, \"ctx\": %d, \"d_model\": %d, \"layers\": %d, "
                    "\"heads\": %d, \"mlp_ratio\": %d}",
                c->vocab, c->ctx, c->d_model, c->layers, c->heads, c->mlp_ratio);
    }
}

/* Byte-equal files?  (The stored parity input against the one just written.) */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Writes m and b for scripts/torch_parity.py and gets PyTorch's answer:
 * live, where /usr/bin/python3 imports torch (and, with
 * TUNELAB_PARITY_UPDATE=1, stores input and answer as the fixtures
 * PARITY_DIR/parity_<kind>.in/.out: `make parity-fixtures`); elsewhere the
 * stored answer, after checking that the stored input is byte for byte the
 * one just written (else the fixture is stale: the test fails and says how
 * to regenerate it).  Then compares the loss, the logits and every gradient
 * tensor (max |diff| <= tol * (1 + max |g|) per tensor), logging each
 * tensor's largest difference.  Returns 1 if all agree, 0 if not. */
int nn_test_parity_run(nn_model *m, const nn_batch *b, const char *kind, double tol)
{
    int is_mlp = !strcmp(kind, "mlp");
    char dir[] = "/tmp/tl_parity_XXXXXX", in[64], out[64], cmd[512];
    cr_assert(access(PARITY_SCRIPT, R_OK) == 0, "no %s: run the suite from the repository root",
              PARITY_SCRIPT);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    FILE *fp = fopen(in, "wb");
    cr_assert_not_null(fp);
    fprintf(fp, "{\"kind\": \"%s\", \"config\": ", kind);
    write_json_config(fp, m, kind);
    fprintf(fp, ", \"B\": %d, \"T\": %d, \"nparams\": %zu, \"tensors\": [", b->B, b->T,
            m->nparams);
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        fprintf(fp, "%s[\"%s\", %zu, %zu, [", t ? ", " : "", tn->name, tn->offset, tn->size);
        for (int d = 0; d < tn->ndim; d++)
            fprintf(fp, "%s%d", d ? ", " : "", tn->shape[d]);
        fprintf(fp, "]]");
    }
    fprintf(fp, "]}\n");
    fwrite(m->params, sizeof(float), m->nparams, fp);
    int N = b->B * b->T, V;
    if (is_mlp) {
        fwrite(b->x, sizeof(float), (size_t)b->B * mlp_config_of(m)->in_dim, fp);
        V = mlp_config_of(m)->out_dim;
    } else {
        fwrite(b->tokens, sizeof(int), (size_t)N, fp);
        V = gpt_config_of(m)->vocab;
    }
    fwrite(b->targets, sizeof(int), (size_t)N, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 /usr/bin/python3 %s %s %s", PARITY_SCRIPT, in, out);
    int rc = system(cmd);
    char fin[128], fout[128];
    snprintf(fin, sizeof fin, "%s/parity_%s.in", PARITY_DIR, kind);
    snprintf(fout, sizeof fout, "%s/parity_%s.out", PARITY_DIR, kind);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        /* no torch here: PyTorch's stored answer for this very input */
        cr_assert(same_file(in, fin), "%s is stale or missing (the model or its init changed): "
                  "regenerate it with `make parity-fixtures` (needs python3-torch)", fin);
        copy_file(fout, out);
        cr_log_info("%s parity: against the stored PyTorch answer %s", kind, fout);
    } else {
        cr_assert_eq(rc, 0, "'%s' failed", cmd);
        cr_log_info("%s parity: against PyTorch run now", kind);
        const char *up = getenv("TUNELAB_PARITY_UPDATE");
        if (up && !strcmp(up, "1")) {
            copy_file(in, fin);
            copy_file(out, fout);
        }
    }

    nn_zero_grad(m);
    double loss = m->vt->forward(m, b, 1, NULL, NULL);
    m->vt->backward(m, b, 1.0f);
    const float *logits = is_mlp ? mlp_logits(m) : gpt_logits(m);
    size_t nl = (size_t)N * V;
    double tloss;
    float *tlog = malloc(nl * sizeof(float)), *tg = malloc(m->nparams * sizeof(float));
    fp = fopen(out, "rb");
    cr_assert_not_null(fp);
    cr_assert_eq(fread(&tloss, sizeof tloss, 1, fp), 1u);
    cr_assert_eq(fread(tlog, sizeof(float), nl, fp), nl);
    cr_assert_eq(fread(tg, sizeof(float), m->nparams, fp), m->nparams);
    fclose(fp);
    unlink(in);
    unlink(out);
    rmdir(dir);

    int ok = 1;
    cr_log_info("%s parity: loss C %.9g torch %.9g", kind, loss, tloss);
    if (!(fabs(loss - tloss) <= tol * (1 + fabs(tloss))))
        ok = 0;
    double dl = 0;
    for (size_t i = 0; i < nl; i++)
        dl = fmax(dl, fabs((double)logits[i] - tlog[i]));
    cr_log_info("%s parity: logits max |diff| %.3g", kind, dl);
    ok &= dl <= tol * 10;
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        double d = 0, gm = 0;
        for (size_t i = 0; i < tn->size; i++) {
            d = fmax(d, fabs((double)m->grads[tn->offset + i] - tg[tn->offset + i]));
            gm = fmax(gm, fabs(tg[tn->offset + i]));
        }
        int good = d <= tol * (1 + gm) && gm > 0;
        cr_log_info("%s parity: %-9s max |grad diff| %.3g (max |grad| %.3g)%s", kind, tn->name,
                    d, gm, good ? "" : "  FAIL");
        ok &= good;
    }
    free(tlog);
    free(tg);
    return ok;
}

Test(gpt, torch_parity)
{
    /* T = 36 < ctx spans two causal attention blocks */
    gpt_config c = {.vocab = 13, .ctx = 40, .d_model = 12, .layers = 2, .heads = 3};
    fixture f;
    fx_make(&f, &c, 3, 36, 15);
    randomize(f.m, 15);
    cr_assert_eq(nn_test_parity_run(f.m, &f.b, "gpt", 1e-5), 1);
    fx_free(&f);
}
