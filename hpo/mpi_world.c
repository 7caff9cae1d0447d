/* hpo/mpi_world.c: starting MPI only under mpirun, the start-up
 * agreement, and the message transport (see mpi_world.h).  Does not: know
 * studies, objectives or what the messages mean. */
#include "hpo/mpi_world.h"

#include <dlfcn.h>
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Open MPI's library is loaded at run time, only under mpirun, so that a
 * plain run does not pay for loading it (a few milliseconds per start):
 * the functions and the predefined handles this file uses come from
 * dlopen / dlsym, and the names below stand for them.  mpi.h still gives
 * the types and constants. */
static struct {
    void *lib;
    MPI_Comm world;
    MPI_Datatype byte, flt, dbl;
    int (*init_thread)(int *, char ***, int, int *);
    int (*comm_rank)(MPI_Comm, int *);
    int (*comm_size)(MPI_Comm, int *);
    int (*barrier)(MPI_Comm);
    int (*finalize)(void);
    int (*get_processor_name)(char *, int *);
    int (*gather)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype, int, MPI_Comm);
    int (*bcast)(void *, int, MPI_Datatype, int, MPI_Comm);
    int (*send)(const void *, int, MPI_Datatype, int, int, MPI_Comm);
    int (*recv)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
    int (*improbe)(int, int, MPI_Comm, int *, MPI_Message *, MPI_Status *);
    int (*mrecv)(void *, int, MPI_Datatype, MPI_Message *, MPI_Status *);
    int (*get_count)(const MPI_Status *, MPI_Datatype, int *);
} M;

#undef MPI_COMM_WORLD
#define MPI_COMM_WORLD M.world
#undef MPI_BYTE
#define MPI_BYTE M.byte
#undef MPI_FLOAT
#define MPI_FLOAT M.flt
#undef MPI_DOUBLE
#define MPI_DOUBLE M.dbl
#define MPI_Init_thread (*M.init_thread)
#define MPI_Comm_rank (*M.comm_rank)
#define MPI_Comm_size (*M.comm_size)
#define MPI_Barrier (*M.barrier)
#define MPI_Finalize (*M.finalize)
#define MPI_Get_processor_name (*M.get_processor_name)
#define MPI_Gather (*M.gather)
#define MPI_Bcast (*M.bcast)
#define MPI_Send (*M.send)
#define MPI_Recv (*M.recv)
#define MPI_Improbe (*M.improbe)
#define MPI_Mrecv (*M.mrecv)
#define MPI_Get_count (*M.get_count)

/* Loads libmpi and every symbol above.  Returns 0 or TL_ERUNTIME. */
static int load_mpi(tl_err *err)
{
    const char *names[] = { "libmpi.so.40", "libmpi.so" };
    for (size_t i = 0; i < 2 && !M.lib; i++)
        M.lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL); /* global: Open MPI's plugins need its symbols */
    if (!M.lib)
        return tl_fail(err, TL_ERUNTIME, "started by mpirun, but Open MPI's libmpi.so.40 cannot be loaded (%s): "
                       "install libopenmpi3 / openmpi-bin (scripts/deps.sh)", dlerror());
    struct {
        void **at;
        const char *name;
    } syms[] = {
        { (void **)&M.world, "ompi_mpi_comm_world" }, { (void **)&M.byte, "ompi_mpi_byte" },
        { (void **)&M.flt, "ompi_mpi_float" }, { (void **)&M.dbl, "ompi_mpi_double" },
        { (void **)&M.init_thread, "MPI_Init_thread" }, { (void **)&M.comm_rank, "MPI_Comm_rank" },
        { (void **)&M.comm_size, "MPI_Comm_size" }, { (void **)&M.barrier, "MPI_Barrier" },
        { (void **)&M.finalize, "MPI_Finalize" }, { (void **)&M.get_processor_name, "MPI_Get_processor_name" },
        { (void **)&M.gather, "MPI_Gather" }, { (void **)&M.bcast, "MPI_Bcast" },
        { (void **)&M.send, "MPI_Send" }, { (void **)&M.recv, "MPI_Recv" },
        { (void **)&M.improbe, "MPI_Improbe" }, { (void **)&M.mrecv, "MPI_Mrecv" },
        { (void **)&M.get_count, "MPI_Get_count" },
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if (!(*syms[i].at = dlsym(M.lib, syms[i].name)))
            return tl_fail(err, TL_ERUNTIME, "libmpi lacks %s: an Open MPI 4 library is needed", syms[i].name);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The process's MPI world: set once by mpi_world_start (MPI is process-wide). */
static struct {
    int started;
    int rank, size;
    char layout[1024];         /* rank 0, after mpi_world_agree: ranks and threads per host */
    char hosts[1024];          /* rank 0, after mpi_world_agree: ranks per host */
    int failed_together;       /* a collective step failed on every rank (mpi_world_end) */
} world = { 0, 0, 1, "", "", 0 };

int mpi_world_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

int mpi_world_start(int *argc, char ***argv, tl_err *err)
{
    if (world.started || !mpi_world_launched())
        return 0;
    int rc = load_mpi(err);
    if (rc)
        return rc;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return tl_fail(err, TL_ERUNTIME, "MPI_Init_thread failed");
    world.started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    if (provided < MPI_THREAD_MULTIPLE)
        return tl_fail(err, TL_ERUNTIME, "this MPI library lacks MPI_THREAD_MULTIPLE (got level %d)", provided);
    return 0;
}

int mpi_world_rank(void)
{
    return world.rank;
}

int mpi_world_size(void)
{
    return world.size;
}

void mpi_world_end(int status)
{
    if (!world.started || (status && !world.failed_together))
        return; /* a rank that failed alone: no barrier; its exit status ends the job (mpirun) */
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    world.started = 0;
}

uint64_t mpi_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Hash of this program's own file (0 when unreadable). */
static uint64_t exe_hash(void)
{
    FILE *f = fopen("/proc/self/exe", "rb");
    if (!f)
        return 0;
    uint64_t h = MPI_HASH_SEED;
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        h = mpi_hash(h, buf, got);
    fclose(f);
    return h;
}

typedef struct hello {
    int32_t status, threads;
    uint64_t cfg_hash, exe_hash;
    char host[64];
    char msg[768];
} hello;

/* "host: rank 0 + 2 worker ranks x 4 threads; host2: 3 worker ranks x 4
 * threads" from the hellos, hosts in the order of their first rank. */
static void make_layout(const hello *all, int n, char *buf, size_t cap)
{
    size_t u = 0;
    buf[0] = 0;
    for (int r = 0; r < n && u < cap; r++) {
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = !strcmp(all[q].host, all[r].host);
        if (seen)
            continue;
        int workers = 0, has0 = 0, threads = 0;
        for (int q = r; q < n; q++)
            if (!strcmp(all[q].host, all[r].host)) {
                has0 |= q == 0;
                workers += q > 0;
                threads = q > 0 ? all[q].threads : threads;
            }
        u += (size_t)snprintf(buf + u, cap - u, "%s%s: %s", u ? "; " : "", all[r].host, has0 ? "rank 0" : "");
        if (workers && u < cap)
            u += (size_t)snprintf(buf + u, cap - u, "%s%d worker rank%s x %d thread%s", has0 ? " + " : "", workers,
                                  workers > 1 ? "s" : "", threads > 0 ? threads : 1, threads > 1 ? "s" : "");
    }
}

/* "node1: 2 ranks; node2: 3 ranks", hosts in the order of their first rank. */
static void make_hosts(const hello *all, int n, char *buf, size_t cap)
{
    size_t u = 0;
    buf[0] = 0;
    for (int r = 0; r < n && u < cap; r++) {
        int seen = 0, ranks = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = !strcmp(all[q].host, all[r].host);
        for (int q = r; q < n && !seen; q++)
            ranks += !strcmp(all[q].host, all[r].host);
        if (!seen)
            u += (size_t)snprintf(buf + u, cap - u, "%s%s: %d rank%s", u ? "; " : "", all[r].host, ranks,
                                  ranks > 1 ? "s" : "");
    }
}

const char *mpi_world_layout(void)
{
    return world.layout;
}

const char *mpi_world_hosts(void)
{
    return world.hosts;
}

/* Rank 0's verdict on the hellos: 0, or TL_EINPUT with err set. */
static int judge(const hello *all, int n, tl_err *err)
{
    for (int r = 0; r < n; r++)
        if (all[r].status)
            return tl_fail(err, TL_EINPUT, "rank %d (%s): %s", r, all[r].host, all[r].msg);
    for (int r = 1; r < n; r++) {
        if (all[r].exe_hash != all[0].exe_hash)
            return tl_fail(err, TL_EINPUT,
                           "rank %d (%s): runs a different tunelab binary than rank 0 (%s): install the same "
                           "build on every host", r, all[r].host, all[0].host);
        if (all[r].cfg_hash != all[0].cfg_hash)
            return tl_fail(err, TL_EINPUT,
                           "rank %d (%s): its config differs from rank 0's (hash %016llx vs %016llx): give every "
                           "rank the same CONFIG file and --set options", r, all[r].host,
                           (unsigned long long)all[r].cfg_hash, (unsigned long long)all[0].cfg_hash);
    }
    return 0;
}

int mpi_world_agree(int status, const char *msg, uint64_t cfg_hash, int threads, int *threads_out,
                    tl_err *err)
{
    if (!world.started)
        return status ? tl_fail(err, status, "%s", msg ? msg : "") : 0;
    hello me;
    memset(&me, 0, sizeof me);
    me.status = status;
    me.threads = threads;
    me.cfg_hash = cfg_hash;
    me.exe_hash = exe_hash();
    int hn = (int)sizeof me.host;
    char host[MPI_MAX_PROCESSOR_NAME + 1] = "";
    if (MPI_Get_processor_name(host, &hn) != MPI_SUCCESS)
        snprintf(host, sizeof host, "?");
    snprintf(me.host, sizeof me.host, "%.63s", host);
    snprintf(me.msg, sizeof me.msg, "%s", msg ? msg : "");
    hello *all = world.rank == 0 ? calloc((size_t)world.size, sizeof *all) : NULL;
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
    struct {
        int32_t code;
        char msg[1024];
    } verdict = { 0, "" };
    if (world.rank == 0) {
        tl_err e = { 0 };
        verdict.code = all ? judge(all, world.size, &e) : TL_ERUNTIME;
        snprintf(verdict.msg, sizeof verdict.msg, "%s", all ? e.msg : "out of memory");
        for (int r = 0; all && threads_out && r < world.size; r++)
            threads_out[r] = all[r].threads;
        if (all) {
            make_layout(all, world.size, world.layout, sizeof world.layout);
            make_hosts(all, world.size, world.hosts, sizeof world.hosts);
        }
    }
    free(all);
    MPI_Bcast(&verdict, (int)sizeof verdict, MPI_BYTE, 0, MPI_COMM_WORLD);
    world.failed_together = verdict.code != 0;
    return verdict.code ? tl_fail(err, TL_EINPUT, "%s", verdict.msg) : 0;
}

int mpi_msg_send(int dest, int tag, mpi_msg *m, const void *payload, tl_err *err)
{
    size_t n = sizeof *m + (size_t)m->nbytes;
    if (n > (size_t)2147483647)
        return tl_fail(err, TL_ERUNTIME, "MPI: a message of %zu bytes is too large", n);
    unsigned char *buf = malloc(n);
    if (!buf)
        return tl_fail(err, TL_ERUNTIME, "MPI: out of memory");
    memcpy(buf, m, sizeof *m);
    if (m->nbytes)
        memcpy(buf + sizeof *m, payload, (size_t)m->nbytes);
    int rc = MPI_Send(buf, (int)n, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
    free(buf);
    return rc == MPI_SUCCESS ? 0 : tl_fail(err, TL_ERUNTIME, "MPI_Send to rank %d failed", dest);
}

int mpi_msg_recv(int src, int tag, mpi_msg *m, unsigned char **payload, tl_err *err)
{
    *payload = NULL;
    MPI_Message h;
    MPI_Status st;
    int flag = 0;
    /* Spin for ~50 us first (an answer to a report comes that fast; a
     * sleeping CPU, in a VM above all, takes a millisecond to wake), then
     * nap, 20 us growing to 1 ms. */
    long nap_ns = 20000;
    double spin_until = now_s() + 50e-6;
    for (;;) {
        if (MPI_Improbe(src, tag, MPI_COMM_WORLD, &flag, &h, &st) != MPI_SUCCESS)
            return tl_fail(err, TL_ERUNTIME, "MPI_Improbe failed");
        if (flag)
            break;
        if (now_s() < spin_until)
            continue;
        struct timespec ts = { 0, nap_ns };
        nanosleep(&ts, NULL);
        if (nap_ns < 1000000)
            nap_ns *= 2;
    }
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    unsigned char *buf = malloc(count > 0 ? (size_t)count : 1);
    if (!buf)
        return tl_fail(err, TL_ERUNTIME, "MPI: out of memory");
    if (MPI_Mrecv(buf, count, MPI_BYTE, &h, &st) != MPI_SUCCESS) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "MPI_Mrecv from rank %d failed", src);
    }
    if ((size_t)count < sizeof *m || (size_t)count != sizeof *m + ((mpi_msg *)buf)->nbytes) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "MPI: malformed message from rank %d (%d bytes)", src, count);
    }
    memcpy(m, buf, sizeof *m);
    if (m->nbytes) {
        memmove(buf, buf + sizeof *m, (size_t)m->nbytes);
        *payload = buf;
    } else {
        free(buf);
    }
    return 0;
}

int mpi_world_sum(float *buf, size_t n, double *d, int nd)
{
    if (world.size <= 1)
        return 0;
    if (n > (size_t)2147483647 || nd > 64)
        return TL_ERUNTIME;
    enum { TAG_SUM = 0x5355 };
    double dd[64];
    int rc = MPI_SUCCESS;
    if (world.rank == 0) {
        float *tmp = malloc(n ? n * sizeof *tmp : 1);
        if (!tmp)
            return TL_ERUNTIME;
        for (int r = 1; r < world.size && rc == MPI_SUCCESS; r++) {
            rc = MPI_Recv(tmp, (int)n, MPI_FLOAT, r, TAG_SUM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc == MPI_SUCCESS)
                rc = MPI_Recv(dd, nd, MPI_DOUBLE, r, TAG_SUM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            for (size_t i = 0; rc == MPI_SUCCESS && i < n; i++)
                buf[i] += tmp[i];
            for (int i = 0; rc == MPI_SUCCESS && i < nd; i++)
                d[i] += dd[i];
        }
        free(tmp);
    } else {
        rc = MPI_Send(buf, (int)n, MPI_FLOAT, 0, TAG_SUM, MPI_COMM_WORLD);
        if (rc == MPI_SUCCESS)
            rc = MPI_Send(d, nd, MPI_DOUBLE, 0, TAG_SUM, MPI_COMM_WORLD);
    }
    if (rc == MPI_SUCCESS)
        rc = MPI_Bcast(buf, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS)
        rc = MPI_Bcast(d, nd, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? 0 : TL_ERUNTIME;
}

int mpi_world_share(double *d, int n)
{
    if (world.size <= 1)
        return 0;
    return MPI_Bcast(d, n, MPI_DOUBLE, 0, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : TL_ERUNTIME;
}

int mpi_world_bcast_file(const char *path, unsigned char **bytes, size_t *n, tl_err *err)
{
    *bytes = NULL;
    *n = 0;
    /* rank 0 reads; head = {length or -1, errno} */
    long long head[2] = { -1, 0 };
    unsigned char *buf = NULL;
    if (world.rank == 0) {
        errno = 0;
        FILE *f = fopen(path, "rb");
        if (f && fseek(f, 0, SEEK_END) == 0) {
            long len = ftell(f);
            rewind(f);
            buf = len >= 0 ? malloc(len ? (size_t)len : 1) : NULL;
            if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len)
                head[0] = len;
        }
        head[1] = errno ? errno : EIO;
        if (f)
            fclose(f);
    }
    if (world.size > 1 && MPI_Bcast(head, 2 * (int)sizeof head[0], MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(buf);
        return tl_fail(err, TL_ERUNTIME, "%s: MPI_Bcast failed", path);
    }
    if (head[0] < 0) {
        world.failed_together = 1;
        free(buf);
        return tl_fail(err, TL_EINPUT, "%s: rank 0 cannot read it: %s", path, strerror((int)head[1]));
    }
    if (world.rank > 0 && !(buf = malloc(head[0] ? (size_t)head[0] : 1)))
        return tl_fail(err, TL_ERUNTIME, "out of memory");
    /* in pieces below MPI's int count */
    for (long long off = 0; world.size > 1 && off < head[0]; off += 1 << 30) {
        int piece = (int)(head[0] - off < (1 << 30) ? head[0] - off : 1 << 30);
        if (MPI_Bcast(buf + off, piece, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
            free(buf);
            return tl_fail(err, TL_ERUNTIME, "%s: MPI_Bcast failed", path);
        }
    }
    *bytes = buf;
    *n = (size_t)head[0];
    return 0;
}
