/* tests/reader_util.h: a child process that may only read a folder, for the
 * tests that a read-only database is read and nothing is created next to
 * it (header-only).  chmod does not stop root, so when the tests run as
 * root the child becomes user nobody.  What the child checks or runs there
 * is the test's; this header forks, drops the rights, and carries one
 * message back. */
#ifndef TL_TESTS_READER_UTIL_H
#define TL_TESTS_READER_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks.  In the child (returns 0): it runs as nobody when the tests run
 * as root and has checked that it cannot create a file in folder; why
 * (size n) holds "" or "skip: <reason>".  In the parent: returns the
 * child's pid.  fd is the pipe for reader_reply and reader_wait. */
static inline pid_t reader_fork(const char *folder, int fd[2], char *why, size_t n)
{
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid != 0)
        return pid;
    close(fd[0]);
    why[0] = 0;
    struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : NULL;
    if (geteuid() == 0 && (!pw || setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)))
        snprintf(why, n, "skip: running as root and cannot become nobody");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/probe", folder);
    int pf = why[0] ? -1 : open(probe, O_CREAT | O_WRONLY, 0644);
    if (pf >= 0) {
        close(pf);
        unlink(probe);
        snprintf(why, n, "skip: %s stays writable", folder);
    }
    return 0;
}

/* In the child: sends msg to the parent and exits (status 0, or 3 when
 * the pipe fails).  Does not return. */
static inline void reader_reply(int fd[2], const char *msg)
{
    if (write(fd[1], msg, strlen(msg)) < 0)
        _exit(3);
    _exit(0);
}

/* In the parent: the child's message into msg (size n); asserts that the
 * child exited with status 0. */
static inline void reader_wait(pid_t pid, int fd[2], char *msg, size_t n)
{
    close(fd[1]);
    ssize_t got = read(fd[0], msg, n - 1);
    msg[got > 0 ? got : 0] = 0;
    close(fd[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader child crashed or failed to reply");
}

/* Names the files in folder d, sorted, into buf (size n): what a reader
 * must leave unchanged, compared before and after. */
static inline void reader_listing(const char *d, char *buf, size_t n)
{
    struct dirent **e;
    int k = scandir(d, &e, NULL, alphasort);
    cr_assert_geq(k, 0, "%s: %s", d, strerror(errno));
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < k; i++) {
        if (at < n)
            at += (size_t)snprintf(buf + at, n - at, "%s ", e[i]->d_name);
        free(e[i]);
    }
    free(e);
}

#endif
