/* tests/test_mlp.c: the MLP of nn/mlp.h through the nn_model interface:
 * finite-difference gradient checks over every parameter tensor (GELU;
 * ReLU with dropout under a fixed mask, skipping perturbations that cross
 * a kink), overfitting one batch with plain SGD written here, bad configs,
 * bit-identical runs from one seed, PyTorch's init bounds, and the forward
 * guards.  Not here: the optimizers and the train loop (nn/optim, nn/train).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "util/rng.h"

#include "gradcheck.h"

typedef struct {
    nn_model *m;
    nn_batch b;
    float *x;
    int *y;
} fixture;

static void fx_make(fixture *f, const mlp_config *c, int B, uint64_t seed)
{
    rng r;
    tl_err err;
    rng_seed(&r, seed, 0);
    cr_assert_eq(mlp_create(c, B, &r, &f->m, &err), 0, "%s", err.msg);
    f->x = malloc(sizeof(float) * B * c->in_dim);
    f->y = malloc(sizeof(int) * B);
    for (int i = 0; i < B * c->in_dim; i++)
        f->x[i] = 2.0f * rng_uniformf(&r) - 1.0f;
    for (int i = 0; i < B; i++)
        f->y[i] = (int)rng_below(&r, (uint64_t)c->out_dim);
    f->b = (nn_batch){.B = B, .T = 1, .x = f->x, .targets = f->y};
}

static void fx_free(fixture *f)
{
    nn_model_free(f->m);
    free(f->x);
    free(f->y);
}

/* Zero pattern of every hidden output, for detecting ReLU kink crossings. */
static void hidden_pattern(const nn_model *m, uint8_t *pat, int B)
{
    const mlp_config *c = mlp_config_of(m);
    size_t k = 0;
    for (int l = 0; l < c->nhidden; l++) {
        const float *h = mlp_hidden(m, l);
        for (int i = 0; i < B * c->hidden[l]; i++)
            pat[k++] = h[i] != 0.0f;
    }
}

typedef struct {
    uint8_t *p0, *p1;
    size_t npat;
    int B;
} kink_probe;

/* gc_probe_fn: records the hidden zero pattern (base) or says whether it
 * changed since. */
static int kink_crossed(void *ctx, const nn_model *m, int base)
{
    kink_probe *k = ctx;
    hidden_pattern(m, base ? k->p0 : k->p1, k->B);
    return !base && memcmp(k->p0, k->p1, k->npat) != 0;
}

/* Checks every tensor of m (up to max_checks evenly spaced entries each)
 * against central differences.  With kinks = 1, perturbations that change
 * any hidden zero pattern are skipped and counted in *skipped. */
static int model_gradcheck(nn_model *m, const nn_batch *b, const rng *r0, float eps, double atol,
                           double rtol, size_t max_checks, int kinks, int *skipped)
{
    kink_probe k = {.B = b->B};
    const mlp_config *c = mlp_config_of(m);
    for (int l = 0; l < c->nhidden; l++)
        k.npat += (size_t)k.B * c->hidden[l];
    k.p0 = malloc(k.npat + 1);
    k.p1 = malloc(k.npat + 1);
    int ok = gc_check(m, b, r0, eps, atol, rtol, max_checks, kinks ? kink_crossed : NULL, &k,
                      skipped, NULL);
    free(k.p0);
    free(k.p1);
    return ok;
}

/* The fixture of c (batch B, data seed), every tensor checked without
 * skipping kinks (eps 1e-2, atol 1e-4, rtol 1e-2) under the dropout mask of
 * rng seed rseed. */
static void gradcheck_smooth(const mlp_config *c, int B, uint64_t seed, uint64_t rseed)
{
    fixture f;
    fx_make(&f, c, B, seed);
    rng r0;
    rng_seed(&r0, rseed, 0);
    int skipped;
    cr_assert(model_gradcheck(f.m, &f.b, &r0, 1e-2f, 1e-4, 1e-2, 1000, 0, &skipped));
    fx_free(&f);
}

Test(mlp, gradcheck_gelu_every_tensor)
{
    mlp_config c = {.in_dim = 6, .nhidden = 2, .hidden = {7, 5}, .out_dim = 4, .act = NN_GELU};
    gradcheck_smooth(&c, 3, 1, 9);
}

Test(mlp, gradcheck_relu_with_dropout_fixed_mask)
{
    mlp_config c = {.in_dim = 6, .nhidden = 3, .hidden = {9, 8, 7}, .out_dim = 3,
                    .act = NN_RELU, .dropout = 0.3f};
    fixture f;
    fx_make(&f, &c, 4, 2);
    rng r0;
    rng_seed(&r0, 10, 0);
    int skipped;
    cr_assert(model_gradcheck(f.m, &f.b, &r0, 1e-3f, 2e-4, 1e-2, 1000, 1, &skipped));
    cr_assert_lt(skipped, 10, "%d perturbations crossed a ReLU kink", skipped);
    /* the mask is really applied: some hidden units of a training forward
     * are zero that are not zero in eval mode */
    gc_loss_at(f.m, &f.b, &r0);
    int dropped = 0;
    const float *h = mlp_hidden(f.m, 0);
    float *h_train = malloc(sizeof(float) * 4 * 9);
    memcpy(h_train, h, sizeof(float) * 4 * 9);
    f.m->vt->forward(f.m, &f.b, 0, NULL, NULL);
    for (int i = 0; i < 4 * 9; i++)
        dropped += h_train[i] == 0.0f && h[i] != 0.0f;
    cr_assert_gt(dropped, 0);
    free(h_train);
    fx_free(&f);
}

Test(mlp, gradcheck_softmax_regression_without_hidden_layers)
{
    mlp_config c = {.in_dim = 5, .nhidden = 0, .out_dim = 3, .act = NN_RELU};
    gradcheck_smooth(&c, 4, 3, 11);
}

Test(mlp, backward_adds_scaled_gradients)
{
    mlp_config c = {.in_dim = 4, .nhidden = 1, .hidden = {6}, .out_dim = 3, .act = NN_GELU};
    fixture f;
    fx_make(&f, &c, 5, 4);
    nn_model *m = f.m;
    nn_zero_grad(m);
    m->vt->forward(m, &f.b, 1, NULL, NULL);
    m->vt->backward(m, &f.b, 1.0f);
    float *g1 = malloc(m->nparams * sizeof(float));
    memcpy(g1, m->grads, m->nparams * sizeof(float));
    m->vt->forward(m, &f.b, 1, NULL, NULL);
    m->vt->backward(m, &f.b, 0.5f);
    double gmax = 0.0;
    for (size_t i = 0; i < m->nparams; i++) {
        cr_assert_float_eq(m->grads[i], 1.5f * g1[i], 1e-6 + 1e-5 * fabsf(g1[i]));
        gmax = fmax(gmax, fabs(g1[i]));
    }
    cr_assert_gt(gmax, 1e-3);
    nn_zero_grad(m);
    for (size_t i = 0; i < m->nparams; i++)
        cr_assert_eq(m->grads[i], 0.0f);
    free(g1);
    fx_free(&f);
}

Test(mlp, overfits_one_batch_with_sgd)
{
    for (int act = 0; act < NN_ACT_COUNT; act++) {
        mlp_config c = {.in_dim = 10, .nhidden = 2, .hidden = {32, 32}, .out_dim = 5, .act = act};
        fixture f;
        fx_make(&f, &c, 16, 5);
        float first = 0, loss = 0;
        long hits = 0;
        for (int step = 0; step < 300; step++) {
            loss = gc_sgd_step(f.m, &f.b, NULL, 0.5f);
            if (step == 0)
                first = loss;
        }
        loss = f.m->vt->forward(f.m, &f.b, 0, NULL, &hits);
        cr_log_info("mlp %s: loss %.4f -> %.5f", nn_act_str(act), first, loss);
        cr_assert_gt(first, 1.0f);
        cr_assert_lt(loss, 0.02f, "%s: loss %g after 300 SGD steps", nn_act_str(act), loss);
        cr_assert_eq(hits, 16);
        fx_free(&f);
    }
}

static void expect_bad(const mlp_config *c, int max_batch, const char *key)
{
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m = (nn_model *)1;
    tl_err err = {0};
    int rc = mlp_create(c, max_batch, &r, &m, &err);
    cr_assert_eq(rc, TL_EINPUT, "want TL_EINPUT for %s", key);
    cr_assert_null(m);
    cr_assert(strstr(err.msg, key) == err.msg, "message '%s' should start with '%s'", err.msg, key);
    if (max_batch >= 1)
        cr_assert_eq(mlp_param_count(c), 0u, "an invalid config has no parameter count");
    if (max_batch >= 1)
        cr_assert_eq(mlp_flops(c), 0.0, "an invalid config has no FLOP count");
}

Test(mlp, bad_configs_are_input_errors)
{
    mlp_config ok = {.in_dim = 4, .nhidden = 1, .hidden = {3}, .out_dim = 2, .act = NN_RELU};
    mlp_config c;
    c = ok, c.in_dim = 0;
    expect_bad(&c, 8, "model.in_dim:");
    c = ok, c.nhidden = 17;
    expect_bad(&c, 8, "model.hidden:");
    c = ok, c.nhidden = -1;
    expect_bad(&c, 8, "model.hidden:");
    c = ok, c.hidden[0] = 0;
    expect_bad(&c, 8, "model.hidden: layer 0 has width 0");
    c = ok, c.out_dim = 0;
    expect_bad(&c, 8, "model.out_dim:");
    c = ok, c.out_dim = 1;
    expect_bad(&c, 8, "model.out_dim:");
    c = ok, c.act = 7;
    expect_bad(&c, 8, "model.act:");
    c = ok, c.dropout = 1.0f;
    expect_bad(&c, 8, "model.dropout:");
    c = ok, c.dropout = NAN;
    expect_bad(&c, 8, "model.dropout:");
    expect_bad(&ok, 0, "max_batch:");
    int act = -1;
    tl_err err;
    cr_assert_eq(mlp_act_parse("gelu", &act, &err), 0);
    cr_assert_eq(act, NN_GELU);
    cr_assert_eq(mlp_act_parse("tanh", &act, &err), TL_EINPUT);
    cr_assert(strstr(err.msg, "relu, gelu"));
    nn_model_free(NULL);
}

Test(mlp, param_count_matches_tensors_and_formula)
{
    mlp_config c = {.in_dim = 784, .nhidden = 2, .hidden = {256, 256}, .out_dim = 10};
    cr_assert_eq(mlp_param_count(&c), 784u * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m;
    tl_err err;
    cr_assert_eq(mlp_create(&c, 4, &r, &m, &err), 0);
    cr_assert_eq(m->nparams, mlp_param_count(&c));
    cr_assert_eq(m->ntensors, 6);
    size_t off = 0;
    for (int t = 0; t < m->ntensors; t++) {
        cr_assert_eq(m->tensors[t].offset, off);
        size_t prod = 1;
        for (int d = 0; d < m->tensors[t].ndim; d++)
            prod *= (size_t)m->tensors[t].shape[d];
        cr_assert_eq(prod, m->tensors[t].size);
        cr_assert_eq(m->tensors[t].decay, m->tensors[t].ndim == 2);
        off += m->tensors[t].size;
    }
    cr_assert_eq(off, m->nparams);
    cr_assert_str_eq(m->tensors[0].name, "fc0.weight");
    cr_assert_eq(m->tensors[0].shape[0], 256);
    cr_assert_eq(m->tensors[0].shape[1], 784);
    cr_assert_eq(m->is_text, 0);
    cr_assert_eq(mlp_config_of(m)->hidden[1], 256);
    nn_model_free(m);
}

Test(mlp, flops_count_two_per_multiply_add_of_the_linear_layers)
{
    /* 3 -> 4 -> 5 -> 2 by hand: 3*4 + 4*5 + 5*2 = 42 multiply-adds per
     * sample, 84 FLOPs; biases, activations and the loss are not counted */
    mlp_config c = {.in_dim = 3, .nhidden = 2, .hidden = {4, 5}, .out_dim = 2, .act = NN_GELU};
    cr_assert_eq(mlp_flops(&c), 84.0);
    /* softmax regression: one 3 x 2 layer */
    mlp_config lin = {.in_dim = 3, .nhidden = 0, .out_dim = 2};
    cr_assert_eq(mlp_flops(&lin), 12.0);
    /* every weight is one multiply-add per sample: twice the decayed
     * (weight) parameters of the built model */
    mlp_config big = {.in_dim = 784, .nhidden = 3, .hidden = {300, 100, 50}, .out_dim = 10};
    rng r;
    rng_seed(&r, 1, 0);
    nn_model *m;
    cr_assert_eq(mlp_create(&big, 1, &r, &m, NULL), 0);
    size_t weights = 0;
    for (int t = 0; t < m->ntensors; t++)
        weights += m->tensors[t].decay ? m->tensors[t].size : 0;
    cr_assert_eq(mlp_flops(&big), 2.0 * (double)weights);
    nn_model_free(m);
}

Test(mlp, init_matches_pytorch_linear_bounds)
{
    mlp_config c = {.in_dim = 784, .nhidden = 1, .hidden = {256}, .out_dim = 10};
    rng r;
    rng_seed(&r, 2, 0);
    nn_model *m;
    cr_assert_eq(mlp_create(&c, 1, &r, &m, NULL), 0);
    for (int t = 0; t < m->ntensors; t++) {
        const nn_tensor *tn = &m->tensors[t];
        int fan_in = t < 2 ? 784 : 256;
        double bound = 1.0 / sqrt(fan_in), s = 0, s2 = 0;
        for (size_t i = 0; i < tn->size; i++) {
            double v = m->params[tn->offset + i];
            cr_assert_leq(fabs(v), bound);
            s += v;
            s2 += v * v;
        }
        double mean = s / tn->size, var = s2 / tn->size - mean * mean;
        double want = bound * bound / 3, tol = tn->size > 1000 ? 0.05 : 0.5;
        cr_assert(fabs(var / want - 1) < tol, "%s: var %g, want %g", tn->name, var, want);
    }
    nn_model_free(m);
}

Test(mlp, same_seed_gives_identical_params_and_losses)
{
    mlp_config c = {.in_dim = 12, .nhidden = 2, .hidden = {16, 8}, .out_dim = 3, .act = NN_GELU,
                    .dropout = 0.2f};
    float losses[3][5];
    float *params[3];
    size_t n = 0;
    for (int run = 0; run < 3; run++) {
        fixture f;
        fx_make(&f, &c, 8, run < 2 ? 42 : 43);
        rng r;
        rng_seed(&r, 7, 1);
        for (int s = 0; s < 5; s++) {
            losses[run][s] = gc_sgd_step(f.m, &f.b, &r, 0.1f);
        }
        params[run] = malloc(f.m->nparams * sizeof(float));
        memcpy(params[run], f.m->params, f.m->nparams * sizeof(float));
        n = f.m->nparams;
        fx_free(&f);
    }
    gc_assert_seeded_runs(params, n, &losses[0][0], sizeof losses[0] / sizeof losses[0][0]);
}

Test(mlp, forward_guards_and_eval_mode)
{
    mlp_config c = {.in_dim = 3, .nhidden = 1, .hidden = {4}, .out_dim = 3, .act = NN_RELU,
                    .dropout = 0.5f};
    fixture f;
    fx_make(&f, &c, 4, 6);
    nn_model *m = f.m;
    nn_batch b = f.b;
    b.B = 5;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "batch above max_batch");
    b.B = 0;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "empty batch");
    b = f.b;
    f.y[2] = 3;
    cr_assert(isnan(m->vt->forward(m, &b, 0, NULL, NULL)), "target out of range");
    f.y[2] = 0;
    cr_assert(isnan(m->vt->forward(m, &b, 1, NULL, NULL)), "dropout needs an rng");
    /* eval mode: no dropout, no rng needed, same result twice; ncorrect
     * matches the logits' argmax */
    long hits = -1;
    float l1 = m->vt->forward(m, &b, 0, NULL, &hits), l2 = m->vt->forward(m, &b, 0, NULL, NULL);
    cr_assert(isfinite(l1));
    cr_assert_eq(l1, l2);
    const float *z = mlp_logits(m);
    long ref = 0;
    for (int i = 0; i < 4; i++) {
        int best = 0;
        for (int j = 1; j < 3; j++)
            best = z[i * 3 + j] > z[i * 3 + best] ? j : best;
        ref += best == f.y[i];
    }
    cr_assert_eq(hits, ref);
    /* set_dropout(0): a training forward equals eval */
    m->vt->set_dropout(m, 0.0f);
    cr_assert_eq(m->dropout, 0.0f);
    cr_assert_eq(m->vt->forward(m, &b, 1, NULL, NULL), l1);
    cr_assert_null(mlp_hidden(m, 1));
    fx_free(&f);
}

/* In tests/test_gpt.c: compares m with PyTorch (live, or its stored answer
 * where torch is absent); 1 agree, 0 differ. */
int nn_test_parity_run(nn_model *m, const nn_batch *b, const char *kind, double tol);

Test(mlp, torch_parity)
{
    /* Compares loss and every gradient with PyTorch 1.13 through
     * scripts/torch_parity.py (C writes the model and batch, torch answers). */
    mlp_config c = {.in_dim = 7, .nhidden = 2, .hidden = {9, 6}, .out_dim = 5, .act = NN_GELU};
    fixture f;
    fx_make(&f, &c, 6, 8);
    cr_assert_eq(nn_test_parity_run(f.m, &f.b, "mlp", 1e-5), 1);
    fx_free(&f);
}
