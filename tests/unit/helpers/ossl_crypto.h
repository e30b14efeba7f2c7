/* Test helper: the crypto table from libcrypto linked directly. */
#ifndef OSSL_CRYPTO_H
#define OSSL_CRYPTO_H

#include "crypto.h"

const struct tt_crypto *ossl_crypto(void);

#endif
