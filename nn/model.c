/* nn/model.c: the model-independent parts of nn/model.h: zero-grad, free,
 * activation names.
 *
 * Ownership: a model's params, grads and tensors table are malloc'ed by its
 * create function and freed here; m->vt->free releases only the concrete
 * model behind m->self (its activations and config).  Batch sources are the
 * caller's and are not touched here.
 */
#include "nn/model.h"

#include <stdlib.h>
#include <string.h>

void nn_zero_grad(nn_model *m)
{
    if (m && m->grads)
        memset(m->grads, 0, m->nparams * sizeof(float));
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    if (m->vt && m->vt->free)
        m->vt->free(m);
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m);
}

const char *nn_act_str(int act)
{
    switch (act) {
    case NN_RELU: return "relu";
    case NN_GELU: return "gelu";
    default: return "?";
    }
}
