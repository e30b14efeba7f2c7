/* Test helper: the crypto table from libcrypto linked directly. */
#ifndef OSSL_CRYPTO_H
#define OSSL_CRYPTO_H

#include <openssl/evp.h>

#include "crypto.h"

const struct tt_crypto *ossl_crypto(void);
/* libcrypto's digest for h (SHA-256 for a value it does not know). */
const EVP_MD *ossl_md(enum tt_hash h);

#endif
