#include <string.h>

#include "libz.h"
#include "ossl_crypto.h"
#include "testkeys.h"

static size_t tk_get(void *ctx, const uint8_t *client_random,
		     enum tt_keylog_label label, uint8_t *out)
{
	struct testkeys *k = ctx;
	if (k->hidden)
		return 0;
	for (size_t i = 0; i < k->n; i++) {
		const struct tt_keylog_entry *e = &k->e[i];
		if (e->label == label && memcmp(e->client_random, client_random,
						TT_KEYLOG_RANDOM_LEN) == 0) {
			memcpy(out, e->secret, e->secret_len);
			return e->secret_len;
		}
	}
	return 0;
}

/* A libcrypto without the MAC-protected suites' ciphers (as OpenSSL 3
 * without its legacy provider lacks RC4 and DES, here all of them). */
static int lacking_has(void *ctx, enum tt_alg_kind kind, int alg)
{
	const struct tt_crypto *t = ossl_crypto();
	(void)ctx;
	return kind == TT_ALG_CIPHER ? -1 : t->has(t->ctx, kind, alg);
}

static const struct tt_crypto *tk_crypto(void *ctx, const char **why)
{
	struct testkeys *k = ctx;
	k->crypto_calls++;
	if (k->no_crypto) {
		*why = "test: no libcrypto";
		return NULL;
	}
	if (k->no_ciphers) {
		static struct tt_crypto lacking;
		lacking = *ossl_crypto();
		lacking.has = lacking_has;
		return &lacking;
	}
	return ossl_crypto();
}

static const struct tt_inflate *tk_inflate(void *ctx, const char **why)
{
	struct testkeys *k = ctx;
	k->inflate_calls++;
	if (k->no_inflate) {
		*why = "test: no zlib";
		return NULL;
	}
	return tt_inflate_load(why);
}

void testkeys_init(struct testkeys *k, const char *text, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->src.ctx = k;
	k->src.get = tk_get;
	k->src.crypto = tk_crypto;
	k->src.inflate = tk_inflate;
	size_t off = 0;
	while (off < len && k->n < TESTKEYS_MAX) {
		size_t used = 0;
		struct tt_keylog_entry e;
		tt_rc rc = tt_keylog_next(text + off, len - off, &used, &e);
		if (rc == TT_OK && e.label != TT_KL_NONE)
			k->e[k->n++] = e;
		if (used == 0)
			break;
		off += used;
	}
}

void testkeys_corrupt(struct testkeys *k, enum tt_keylog_label label)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->e[i].label == label)
			k->e[i].secret[0] ^= 1;
}
