/* The crypto table bound to a libcrypto loaded with dlopen, on the first
 * call that needs it, never at library load.
 *
 * Its parts, each using only the ones before it:
 *   libcrypto_local.h   what they share: the bound functions, declared
 *                       from the OpenSSL headers, and each thread's contexts
 *   libcrypto_load.c    dlopen, dlsym, the algorithms fetched from a
 *                       private library context; the error mark around
 *                       every call; each thread's contexts, freed at its exit
 *   libcrypto_evp.c     digests, HMAC, AEAD seal and open, what there is
 *   libcrypto_cbc.c     CBC and RC4, for the MAC-protected suites
 *   libcrypto_aes.c     AES single blocks: AES-NI, or libcrypto's ECB
 *   libcrypto_chacha20.c  the ChaCha20 block, computed without libcrypto
 *   libcrypto.c         the table, loaded once
 *
 * aes_block and chacha20_block run once per record: AES keeps a few
 * keyed states in each thread, ChaCha20 needs none.  Digests, HMAC and
 * AEADs use contexts of this thread, initialised on every call.
 */
#include "libcrypto.h"

#include "guestlib.h"
#include "libcrypto_local.h"

static struct tt_guestlib libcrypto = TT_GUESTLIB_INIT("libcrypto not loaded");

static const struct tt_crypto table = {
	.ctx = NULL,
	.digest = tt_lc_digest,
	.hash_new = tt_lc_hash_new,
	.hash_update = tt_lc_hash_update,
	.hash_final = tt_lc_hash_final,
	.hash_free = tt_lc_hash_free,
	.hmac = tt_lc_hmac,
	.has = tt_lc_has,
	.aead_seal = tt_lc_aead_seal,
	.aead_open = tt_lc_aead_open,
	.cbc_encrypt = tt_lc_cbc_encrypt,
	.cbc_decrypt = tt_lc_cbc_decrypt,
	.stream_new = tt_lc_stream_new,
	.stream_xor = tt_lc_stream_xor,
	.stream_copy = tt_lc_stream_copy,
	.stream_free = tt_lc_stream_free,
	.aes_block = tt_lc_aes_block,
	.chacha20_block = tt_lc_chacha20_block,
};

static void do_load(void)
{
	const char *why = tt_lc_load();

	if (!why)
		tt_lc_aes_init();
	tt_guestlib_done(&libcrypto, why ? NULL : &table, why);
}

const struct tt_crypto *tt_crypto_load(const char **why)
{
	return tt_guestlib_get(&libcrypto, do_load, why);
}

bool tt_crypto_loaded(void)
{
	return tt_guestlib_loaded(&libcrypto);
}
