/* Test helper: a key source (struct tt_keysrc) holding the secrets of an
 * NSS key log text, with libcrypto linked directly as its crypto table
 * and shim/zlib.c's inflate table (libz.so.1, dlopen'ed).
 * Secrets can be held back, to test records that wait for their keys. */
#ifndef TESTKEYS_H
#define TESTKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "keylog.h"

#define TESTKEYS_MAX 64

struct testkeys {
	struct tt_keylog_entry e[TESTKEYS_MAX];
	size_t n;
	bool hidden;	  /* get() finds nothing while set */
	bool no_crypto;	  /* crypto() fails */
	bool no_ciphers;  /* crypto()'s table has no CBC cipher nor RC4 */
	int crypto_calls; /* how often the table was asked for */
	bool no_inflate;  /* inflate() fails (zlib cannot be loaded) */
	int inflate_calls;
	struct tt_keysrc src;
};

/* Parses the key log text; every line must be an entry or a comment. */
void testkeys_init(struct testkeys *k, const char *text, size_t len);
/* Flips one bit of every secret under label. */
void testkeys_corrupt(struct testkeys *k, enum tt_keylog_label label);

#endif
