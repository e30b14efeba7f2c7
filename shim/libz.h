/* The inflate table (decoder/base/inflate.h) bound to a zlib that is
 * dlopen'ed on first need, never at library load.  libtlstrace.so does not
 * link zlib.  (Not named zlib.h: -Ishim would hide the system's.) */
#ifndef TT_SHIM_LIBZ_H
#define TT_SHIM_LIBZ_H

#include <stdbool.h>

#include "inflate.h"

/* The inflate table from libz.so.1, loaded on the first call (thread-safe,
 * once); NULL when zlib cannot be loaded or lacks what we need, then
 * *why (a static string) says why.  why may be NULL.  Called only for a
 * connection whose records need inflating. */
const struct tt_inflate *tt_inflate_load(const char **why);

/* Whether a tt_inflate_load call has bound the table. */
bool tt_inflate_loaded(void);

/* A table of its own from the zlib named soname (dlopen), or NULL with
 * *why saying why (static string); nothing stays loaded then.  What
 * tt_inflate_load does once with "libz.so.1"; tests name others. */
const struct tt_inflate *tt_zlib_open(const char *soname, const char **why);
/* Frees a table tt_zlib_open made, its streams freed before (the library
 * stays loaded). */
void tt_zlib_close(const struct tt_inflate *t);

#endif
