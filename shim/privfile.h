/* The files tlstrace writes: their names and how they are opened
 * (shim/privfile.c, in the library and in the tlstrace command). */
#ifndef TT_PRIVFILE_H
#define TT_PRIVFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Expands %p (pid) and %% in a path template. */
bool tt_expand_path(const char *tmpl, long pid, char *out, size_t cap);

/* Opens path for appending data only this user may read: created 0600
 * (never through a symbolic link); an existing one only if it is a regular
 * file (or, with fifo_ok, a FIFO that has a reader) owned by the effective
 * user with no group or other permission bits, or the null device.  Non-blocking.  -1 on
 * failure, with why saying why when it was refused (else errno). */
int tt_open_private(const char *path, bool fifo_ok, char *why, size_t cap);

#endif
