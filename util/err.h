/* util/err.h: error reporting for library code.
 *
 * Library functions never print or exit.  They return 0 on success and a
 * nonzero tl_code on failure, filling a caller-owned tl_err (which may be
 * NULL when the caller does not want the message).  Only cli/ prints the
 * message and turns the code into an exit status:
 *   TL_EINPUT   bad input from a user: config, data file, checkpoint,
 *               command line (exit status 2);
 *   TL_ERUNTIME a failure while running: out of memory, I/O, a database
 *               error (exit status 1).
 * Messages name where the problem is first: "file:line: key: what".
 */
#ifndef TL_ERR_H
#define TL_ERR_H

enum tl_code {
    TL_OK = 0,
    TL_ERUNTIME = 1,
    TL_EINPUT = 2,
};

typedef struct tl_err {
    int code;
    char msg[1024];
} tl_err;

/* Fills e (if not NULL) with code and a printf-style message; returns code.
 * Typical use: `return tl_fail(err, TL_EINPUT, "%s: bad magic", path);` */
int tl_fail(tl_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes e->msg with a printf-style context and ": "; returns e->code.
 * Use to add a file name or a key to an error from a lower layer. */
int tl_prefix(tl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
