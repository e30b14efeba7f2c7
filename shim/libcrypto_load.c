/* Loading libcrypto and binding it; entering and leaving it; each
 * thread's contexts.
 *
 * libcrypto.so.3 is tried first, then libcrypto.so.1.1, RTLD_LOCAL so that
 * none of its symbols become visible to the host.  Every function is
 * reached through a pointer from dlsym (shim/libcrypto_local.h).
 *
 * On OpenSSL 3 the algorithms are fetched once from a private
 * OSSL_LIB_CTX (no configuration file), into which the default provider
 * and, when it is installed, the legacy one (RC4, DES, IDEA, SEED) are
 * loaded: the host's configuration and providers neither affect nor see
 * us, and the legacy provider never enters the host's default context.
 * On 1.1.1 the built-in EVP_sha256() etc. are used.  SHA-256, SHA-384 and
 * the ciphers of TLS 1.3 are required; the others (crypto.h, has) are
 * taken when this libcrypto has them.
 *
 * Every entry point, and the loading, runs between ERR_set_mark() and
 * ERR_pop_to_mark(): errors raised inside are dropped, the host's own
 * errors and marks are left as they were.  Before that, OPENSSL_init_crypto
 * tells whether libcrypto has been cleaned up (OPENSSL_cleanup from the
 * host's atexit); after that every entry fails without touching it.
 *
 * When the libcrypto is one we brought into the process, it is
 * initialised with OPENSSL_INIT_NO_ATEXIT: nothing is registered with
 * atexit and nothing is freed at exit.
 *
 * A thread's contexts (struct tt_lc_thread) are allocated on first use; a
 * thread-specific key frees them when the thread exits.
 */
#include "libcrypto_local.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* calloc's alignment suffices for the AES-NI round keys */
_Static_assert(_Alignof(struct tt_lc_thread) <= _Alignof(max_align_t),
	       "struct tt_lc_thread needs more than malloc's alignment");

struct tt_lc_syms tt_lc;
__thread struct tt_lc_thread *tt_lc_thread;

static pthread_key_t tls_key;
static bool tls_key_ok;

bool tt_lc_enter(void)
{
	if (tt_lc.init_crypto(0, NULL) != 1)
		return false;
	tt_lc.err_set_mark();
	return true;
}

void tt_lc_leave(void)
{
	tt_lc.err_pop_to_mark();
}

/* Thread exit: the contexts are freed, the keys wiped.  A destructor that
 * runs later (another key's, tracing I/O) makes new ones, registered
 * again and freed on the next round. */
static void tls_free(void *p)
{
	struct tt_lc_thread *t = p;
	/* After OPENSSL_cleanup the contexts are left alone. */
	bool live = tt_lc.init_crypto(0, NULL) == 1;
	if (live) {
		for (size_t i = 0; i < AES_SLOTS; i++)
			tt_lc.cipher_ctx_free(t->aes[i].c);
		tt_lc.md_ctx_free(t->md);
		for (size_t i = 0; i < TT_AEAD_COUNT; i++)
			tt_lc.cipher_ctx_free(t->aead[i]);
		tt_lc.cipher_ctx_free(t->cbc);
	}
	tt_lc_thread = NULL;
	tt_wipe(t, sizeof(*t));
	free(t);
}

struct tt_lc_thread *tt_lc_thread_new(void)
{
	struct tt_lc_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* Without the key (pthread_key_create failed at load) the
	 * contexts outlive the thread; a key that cannot hold them
	 * (ENOMEM) is a failed allocation like calloc's. */
	if (tls_key_ok && pthread_setspecific(tls_key, t) != 0) {
		free(t);
		return NULL;
	}
	tt_lc_thread = t;
	return t;
}

/* Resolves every symbol of h into tt_lc; NULL, or what is missing. */
static const char *bind_syms(void *h, bool *v3)
{
	memset(&tt_lc, 0, sizeof(tt_lc));
#define X(name, field)                                                         \
	if (!(*(void **)&tt_lc.field = dlsym(h, #name)))                       \
		return "libcrypto lacks " #name;
	LC_COMMON(X)
	*v3 = dlsym(h, "OSSL_LIB_CTX_new") != NULL;
	if (*v3) {
		LC_V3(X)
	} else {
		LC_V1(X)
	}
#undef X
#define X(name, field, like) *(void **)&tt_lc.field = dlsym(h, #name);
	if (!*v3) {
		LC_V1_OPTIONAL(X)
	}
#undef X
#define X(name, field) *(void **)&tt_lc.field = dlsym(h, #name);
	LC_RAW(X)
#undef X
	return NULL;
}

/* The digests whose own functions were all found, where EVP has them
 * too (has() answers for both). */
static void raw_all(void)
{
	tt_lc.raw[TT_HASH_SHA256] = tt_lc.sha256_init && tt_lc.sha256_update &&
				    tt_lc.sha256_final;
	tt_lc.raw[TT_HASH_SHA384] = tt_lc.sha384_init && tt_lc.sha384_update &&
				    tt_lc.sha384_final;
	tt_lc.raw[TT_HASH_MD5] = tt_lc.md5_init && tt_lc.md5_update &&
				 tt_lc.md5_final;
	tt_lc.raw[TT_HASH_SHA1] = tt_lc.sha1_init && tt_lc.sha1_update &&
				  tt_lc.sha1_final;
	for (int i = 0; i < TT_HASH_COUNT; i++)
		tt_lc.raw[i] = tt_lc.raw[i] && tt_lc.md[i];
}

/* Names of the algorithms, by enum tt_hash, enum tt_aead then AL_*, and
 * enum tt_cipher.  CCM_8 is CCM with an 8-byte tag. */
static const char *const md_names[TT_HASH_COUNT] = {"SHA256", "SHA384", "MD5",
						    "SHA1"};
static const char *const cipher_names[AL_CIPHERS] = {
	"AES-128-GCM",	"AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CCM",
	"AES-256-CCM",	"AES-128-CCM", "AES-256-CCM",	    "ARIA-128-GCM",
	"ARIA-256-GCM", "AES-128-ECB", "AES-256-ECB",	    "ChaCha20"};
static const char *const block_names[TT_CIPHER_COUNT] = {
	"AES-128-CBC",	    "AES-256-CBC",  "CAMELLIA-128-CBC",
	"CAMELLIA-256-CBC", "ARIA-128-CBC", "ARIA-256-CBC",
	"SEED-CBC",	    "IDEA-CBC",	    "DES-CBC",
	"DES-EDE3-CBC",	    "RC4"};

/* A 1.1.1 getter looked up or not (optional ones may be NULL). */
#define GET(f) (tt_lc.f ? tt_lc.f() : NULL)

static void lookup_v1(void)
{
	tt_lc.md[TT_HASH_SHA256] = tt_lc.sha256();
	tt_lc.md[TT_HASH_SHA384] = tt_lc.sha384();
	tt_lc.md[TT_HASH_MD5] = GET(md5);
	tt_lc.md[TT_HASH_SHA1] = GET(sha1);
	tt_lc.cipher[TT_AEAD_AES_128_GCM] = tt_lc.aes_128_gcm();
	tt_lc.cipher[TT_AEAD_AES_256_GCM] = tt_lc.aes_256_gcm();
	tt_lc.cipher[TT_AEAD_CHACHA20_POLY1305] = tt_lc.chacha20_poly1305();
	tt_lc.cipher[TT_AEAD_AES_128_CCM] = tt_lc.aes_128_ccm();
	tt_lc.cipher[TT_AEAD_AES_256_CCM] = GET(aes_256_ccm);
	tt_lc.cipher[TT_AEAD_AES_128_CCM_8] = tt_lc.aes_128_ccm();
	tt_lc.cipher[TT_AEAD_AES_256_CCM_8] = GET(aes_256_ccm);
	tt_lc.cipher[TT_AEAD_ARIA_128_GCM] = GET(aria_128_gcm);
	tt_lc.cipher[TT_AEAD_ARIA_256_GCM] = GET(aria_256_gcm);
	tt_lc.cipher[AL_AES_128_ECB] = tt_lc.aes_128_ecb();
	tt_lc.cipher[AL_AES_256_ECB] = tt_lc.aes_256_ecb();
	tt_lc.cipher[AL_CHACHA20] = tt_lc.chacha20();
	tt_lc.block[TT_CIPHER_AES_128_CBC] = GET(aes_128_cbc);
	tt_lc.block[TT_CIPHER_AES_256_CBC] = GET(aes_256_cbc);
	tt_lc.block[TT_CIPHER_CAMELLIA_128_CBC] = GET(camellia_128_cbc);
	tt_lc.block[TT_CIPHER_CAMELLIA_256_CBC] = GET(camellia_256_cbc);
	tt_lc.block[TT_CIPHER_ARIA_128_CBC] = GET(aria_128_cbc);
	tt_lc.block[TT_CIPHER_ARIA_256_CBC] = GET(aria_256_cbc);
	tt_lc.block[TT_CIPHER_SEED_CBC] = GET(seed_cbc);
	tt_lc.block[TT_CIPHER_IDEA_CBC] = GET(idea_cbc);
	tt_lc.block[TT_CIPHER_DES_CBC] = GET(des_cbc);
	tt_lc.block[TT_CIPHER_3DES_EDE_CBC] = GET(des_ede3_cbc);
	tt_lc.block[TT_CIPHER_RC4_128] = GET(rc4);
}

/* Fetches (3) or looks up (1.1.1) every algorithm; NULL, or what
 * failed.  Called between ERR_set_mark() and ERR_pop_to_mark(). */
static const char *fetch_all(bool v3)
{
	if (!v3) {
		lookup_v1();
	} else {
		tt_lc.libctx = tt_lc.libctx_new();
		if (!tt_lc.libctx)
			return "OSSL_LIB_CTX_new failed";
		/* Once one provider is loaded by hand the default one is no
		 * longer loaded on first use: both are.  Without the legacy
		 * module its ciphers are simply not found. */
		if (!tt_lc.provider_load(tt_lc.libctx, "default"))
			return "OpenSSL's default provider could not be loaded";
		(void)tt_lc.provider_load(tt_lc.libctx, "legacy");
		for (int i = 0; i < TT_HASH_COUNT; i++)
			tt_lc.md[i] =
				tt_lc.md_fetch(tt_lc.libctx, md_names[i], NULL);
		for (int i = 0; i < AL_CIPHERS; i++)
			tt_lc.cipher[i] = tt_lc.cipher_fetch(
				tt_lc.libctx, cipher_names[i], NULL);
		for (int i = 0; i < TT_CIPHER_COUNT; i++)
			tt_lc.block[i] = tt_lc.cipher_fetch(
				tt_lc.libctx, block_names[i], NULL);
	}
	if (!tt_lc.md[TT_HASH_SHA256] || !tt_lc.md[TT_HASH_SHA384])
		return "libcrypto has no SHA-256 or SHA-384";
	for (int i = 0; i < AL_CIPHERS; i++)
		if (!tt_lc.cipher[i] &&
		    (i <= TT_AEAD_AES_128_CCM || i >= AL_AES_128_ECB))
			return "libcrypto lacks a cipher (AES-GCM, AES-CCM, "
			       "AES-ECB, ChaCha20 or ChaCha20-Poly1305)";
	return NULL;
}

const char *tt_lc_load(void)
{
	static const char *const names[] = {"libcrypto.so.3",
					    "libcrypto.so.1.1"};
	const char *why = "neither libcrypto.so.3 nor libcrypto.so.1.1 "
			  "could be loaded";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool v3, ours;
		const char *miss;
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);

		ours = h == NULL;
		if (ours)
			h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			dlerror(); /* leave no dlopen failure to the host */
			continue;
		}
		miss = bind_syms(h, &v3);
		if (miss) {
			/* Nothing of it has run yet: it can go. */
			why = miss;
			memset(&tt_lc, 0, sizeof(tt_lc));
			dlclose(h);
			continue;
		}
		/* From here on the library stays loaded, whatever happens.
		 * A copy we brought in is initialised before anything else
		 * can register its atexit handler; its error queue is ours
		 * alone, so popping with no mark (clearing it) is right. */
		if (ours &&
		    tt_lc.init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) != 1) {
			tt_lc.err_pop_to_mark();
			return "OPENSSL_init_crypto failed";
		}
		tt_lc.err_set_mark();
		miss = fetch_all(v3);
		tt_lc.err_pop_to_mark();
		if (miss)
			return miss;
		raw_all();
		tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
		return NULL;
	}
	return why;
}
