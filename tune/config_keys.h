/* tune/config_keys.h: the config's key table, private to tune/config*.c
 * (not a public header): the one table that drives parsing, --help, the
 * config dump and the README's reference (tune/config_keys.c). */
#ifndef TL_TUNE_CONFIG_KEYS_H
#define TL_TUNE_CONFIG_KEYS_H

#include <stddef.h>

#include "util/err.h"

enum ktype { K_INT, K_LONG, K_U64, K_DBL, K_BOOL, K_STR, K_LIST };

typedef struct keydef {
    const char *key;      /* "section.name" */
    int type;
    size_t off, size;     /* offset in config; size of a K_STR buffer */
    const char *def;      /* default as text */
    const char *choices;  /* "a|b|c" for names, NULL for free text */
    double min, max;      /* numeric range (inclusive) */
    const char *help;
    int above_min;        /* 1: min itself is refused (a value must be > min) */
} keydef;

extern const keydef CONFIG_KEYS[];     /* every key, section by section */
extern const int CONFIG_NKEYS;
extern const char *const CONFIG_SECTIONS[]; /* the INI sections a config may have */
extern const int CONFIG_NSECTIONS;

/* The table entry of "section.name", or NULL. */
const keydef *config_find_key(const char *key);

/* The known key closest to a misspelt one (edit distance under 4), or NULL. */
const char *config_closest_key(const char *key);

/* TL_EINPUT "WHERE: KEY: unknown key (did you mean ...?)"; returns it. */
int config_unknown_key(const char *key, const char *where, tl_err *err);
#endif
