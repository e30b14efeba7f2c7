/* The crypto table (decoder/base/crypto.h) bound to a libcrypto that is
 * dlopen'ed on first need, never at library load.  libtlstrace.so does not
 * link libcrypto. */
#ifndef TT_SHIM_CRYPTO_H
#define TT_SHIM_CRYPTO_H

#include <stdbool.h>

#include "crypto.h"

/* The crypto table from libcrypto, loaded on the first call (thread-safe,
 * once); NULL when libcrypto cannot be loaded or lacks what we need; then
 * *why (a static string) says why.  why may be NULL.  Never called at
 * library load. */
const struct tt_crypto *tt_crypto_load(const char **why);

/* Whether libcrypto was loaded by us (a tt_crypto_load call has bound the
 * table). */
bool tt_crypto_loaded(void);

#endif
