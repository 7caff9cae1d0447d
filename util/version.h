/* util/version.h: the version of tunelab (program, library, reports). */
#ifndef TL_UTIL_VERSION_H
#define TL_UTIL_VERSION_H
#define TUNELAB_VERSION "0.1.0"
#endif
