/* tests/tmpdir_util.h: the per-test scratch folder that most suites make in
 * their .init and remove, with all it holds, in their .fini.  Header-only
 * (static functions) like the other tests/..._util.h helpers; it does not
 * choose the folder's prefix or parent, the suite does. */
#ifndef TESTS_TMPDIR_UTIL_H
#define TESTS_TMPDIR_UTIL_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int tmpdir_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline int tmpdir_chmod_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag, (void)ftw;
    chmod(path, S_ISDIR(st->st_mode) ? 0755 : 0644); /* read-only folders made by a test */
    return 0;
}

/* Makes a fresh folder <parent>/<prefix>_XXXXXX into dir (size n); a
 * failure fails the test. */
static inline void tmpdir_make_in(char *dir, size_t n, const char *parent, const char *prefix)
{
    snprintf(dir, n, "%s/%s_XXXXXX", parent, prefix);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp(%s) failed", dir);
}

static inline void tmpdir_make(char *dir, size_t n, const char *prefix)
{
    tmpdir_make_in(dir, n, "/tmp", prefix);
}

/* Removes dir and everything below it, first making any read-only folder
 * a test left behind writable again. */
static inline void tmpdir_remove(const char *dir)
{
    nftw(dir, tmpdir_chmod_entry, 16, FTW_PHYS);
    nftw(dir, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* For a suite whose hooks do nothing else: defines `static char name[64]`
 * and the hooks tmpdir_setup and tmpdir_teardown that make it (as
 * /tmp/<prefix>_XXXXXX) and remove it, for TestSuite's .init and .fini.  A
 * macro because it defines a file's static variable and functions. */
#define TMPDIR_FIXTURE(name, prefix)                                                                                   \
    static char name[64];                                                                                              \
    static void tmpdir_setup(void) { tmpdir_make(name, sizeof name, prefix); }                                         \
    static void tmpdir_teardown(void) { tmpdir_remove(name); }

#endif
