/* hpo/study_remote.c: the remote study (see study_remote.h): a study
 * struct holding only the settings, the space and a forwarding vtable.
 * Does not: open storage, build algorithms, keep states. */
#include "hpo/study_remote.h"

#include <stdlib.h>
#include <string.h>

#include "hpo/study_internal.h"

int study_open_remote(study **out, const study_config *cfg, const space *sp, const study_remote_vt *vt,
                      void *ud, tl_err *err)
{
    *out = NULL;
    study *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(err, TL_ERUNTIME, "remote study: out of memory");
    s->cfg = *cfg;
    s->cfg.sampler_opts = NULL;
    s->cfg.scheduler_opts = NULL;
    int rc = space_copy(&s->sp, sp, err);
    if (rc) {
        free(s);
        return rc;
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &a);
    pthread_mutexattr_destroy(&a);
    s->remote = vt;
    s->remote_ud = ud;
    *out = s;
    return 0;
}

void study_remote_free(study *s)
{
    if (!s)
        return;
    space_free(&s->sp);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
