/* shim/libcrypto.c: the crypto table from a dlopen'ed libcrypto.
 *
 * The test binary links libcrypto, so the dlopen finds the same library
 * and its thread error queue is the one the checks below read.  Oracles:
 * published vectors (FIPS-197, RFC 8439, RFC 4231, SHA of "abc") and
 * libcrypto called directly (EVP_Digest, HMAC, the EVP AEAD sequence).
 *
 * The first test must run first: it checks that nothing is loaded before
 * the first tt_crypto_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

#include "bytes.h"
#include "libcrypto.h"
#include "ossl_crypto.h"

static const enum tt_aead all_aead[] = {
	TT_AEAD_AES_128_GCM,   TT_AEAD_AES_256_GCM,  TT_AEAD_CHACHA20_POLY1305,
	TT_AEAD_AES_128_CCM,   TT_AEAD_AES_256_CCM,  TT_AEAD_AES_128_CCM_8,
	TT_AEAD_AES_256_CCM_8, TT_AEAD_ARIA_128_GCM, TT_AEAD_ARIA_256_GCM};
#define N_AEAD (sizeof(all_aead) / sizeof(all_aead[0]))

static const struct tt_crypto *T;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static const struct tt_crypto *table(void)
{
	const char *why = NULL;
	const struct tt_crypto *t = tt_crypto_load(&why);
	if (!t)
		fail_msg("tt_crypto_load: %s", why ? why : "(no reason)");
	return t;
}

/* libcrypto called directly, for AEAD: the oracle the table is held to. */
#define direct (*ossl_crypto())

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static void test_load(void **state)
{
	const char *why = "untouched";
	(void)state;

	assert_false(tt_crypto_loaded());
	T = tt_crypto_load(&why);
	assert_non_null(T);
	assert_string_equal(why, "untouched");
	assert_true(tt_crypto_loaded());
	assert_ptr_equal(tt_crypto_load(NULL), T);
	assert_true(tt_crypto_loaded());
	assert_non_null(T->digest);
	assert_non_null(T->hash_new);
	assert_non_null(T->hash_update);
	assert_non_null(T->hash_final);
	assert_non_null(T->hash_free);
	assert_non_null(T->hmac);
	assert_non_null(T->aead_seal);
	assert_non_null(T->aead_open);
	assert_non_null(T->aes_block);
	assert_non_null(T->chacha20_block);
	/* Loading left nothing in the queue. */
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* Digests and HMAC                                                    */

static void test_digest(void **state)
{
	const struct tt_crypto *t = table();
	uint8_t out[TT_HASH_MAX], want[TT_HASH_MAX], buf[300];
	unsigned n;
	void *st = NULL;
	(void)state;

	assert_int_equal(t->digest(t->ctx, TT_HASH_SHA256,
				   (const uint8_t *)"abc", 3, out),
			 0);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(t->digest(t->ctx, TT_HASH_SHA384,
				   (const uint8_t *)"abc", 3, out),
			 0);
	assert_hex(out, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
			"1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
	assert_int_equal(t->digest(t->ctx, TT_HASH_SHA256, NULL, 0, out), 0);
	assert_hex(out, "e3b0c44298fc1c149afbf4c8996fb924"
			"27ae41e4649b934ca495991b7852b855");
	assert_int_equal(
		t->digest(t->ctx, TT_HASH_MD5, (const uint8_t *)"abc", 3, out),
		0);
	assert_hex(out, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(
		t->digest(t->ctx, TT_HASH_SHA1, (const uint8_t *)"abc", 3, out),
		0);
	assert_hex(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_int_equal(t->digest(t->ctx, (enum tt_hash)7, NULL, 0, out), -1);

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	for (int h = 0; h < TT_HASH_COUNT; h++) {
		size_t hl = tt_hash_len((enum tt_hash)h);

		/* Whole, against EVP_Digest. */
		for (size_t len = 0; len <= sizeof(buf); len += 37) {
			assert_int_equal(t->digest(t->ctx, (enum tt_hash)h, buf,
						   len, out),
					 0);
			assert_int_equal(EVP_Digest(buf, len, want, &n,
						    ossl_md((enum tt_hash)h),
						    NULL),
					 1);
			assert_int_equal(n, hl);
			assert_memory_equal(out, want, hl);
		}

		/* Incremental, read at every point and fed on; the final
		 * value equals the whole digest. */
		assert_int_equal(t->hash_new(t->ctx, (enum tt_hash)h, &st), 0);
		assert_non_null(st);
		for (size_t off = 0; off < sizeof(buf);) {
			size_t step = off % 7 + 1;
			if (step > sizeof(buf) - off)
				step = sizeof(buf) - off;
			assert_int_equal(
				t->hash_update(t->ctx, st, buf + off, step), 0);
			off += step;
			assert_int_equal(t->hash_final(t->ctx, st, out), 0);
			assert_int_equal(EVP_Digest(buf, off, want, &n,
						    ossl_md((enum tt_hash)h),
						    NULL),
					 1);
			assert_memory_equal(out, want, hl);
		}
		assert_int_equal(t->hash_update(t->ctx, st, NULL, 0), 0);
		assert_int_equal(t->hash_final(t->ctx, st, out), 0);
		assert_memory_equal(out, want, hl);
		t->hash_free(t->ctx, st);
	}
	t->hash_free(t->ctx, NULL);
	assert_int_equal(t->hash_new(t->ctx, (enum tt_hash)7, &st), -1);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_hmac_vectors(void **state)
{
	const struct tt_crypto *t = table();
	uint8_t key[131], out[TT_HASH_MAX];
	static const char big_data[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	(void)state;

	/* RFC 4231 test case 1 */
	memset(key, 0x0b, 20);
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA256, key, 20,
				 (const uint8_t *)"Hi There", 8, out),
			 0);
	assert_hex(out, "b0344c61d8db38535ca8afceaf0bf12b"
			"881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA384, key, 20,
				 (const uint8_t *)"Hi There", 8, out),
			 0);
	assert_hex(out, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6"
			"82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6");

	/* RFC 4231 test case 2 */
	assert_int_equal(
		t->hmac(t->ctx, TT_HASH_SHA256, (const uint8_t *)"Jefe", 4,
			(const uint8_t *)"what do ya want for nothing?", 28,
			out),
		0);
	assert_hex(out, "5bdcc146bf60754e6a042426089575c7"
			"5a003f089d2739839dec58b964ec3843");
	assert_int_equal(
		t->hmac(t->ctx, TT_HASH_SHA384, (const uint8_t *)"Jefe", 4,
			(const uint8_t *)"what do ya want for nothing?", 28,
			out),
		0);
	assert_hex(out, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
			"e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");

	/* RFC 4231 test case 6: a key longer than the block is hashed */
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA256, key, sizeof(key),
				 (const uint8_t *)big_data,
				 sizeof(big_data) - 1, out),
			 0);
	assert_hex(out, "60e431591ee0b67f0d8a26aacbf5b77f"
			"8e0bc6213728c5140546040f0ee37f54");
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA384, key, sizeof(key),
				 (const uint8_t *)big_data,
				 sizeof(big_data) - 1, out),
			 0);
	assert_hex(out, "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f"
			"3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952");

	/* RFC 2202 test cases 1 and 6: HMAC-MD5 and HMAC-SHA1, the PRF of
	 * TLS 1.0 and 1.1 and the record MACs of older suites */
	memset(key, 0x0b, 20);
	assert_int_equal(t->hmac(t->ctx, TT_HASH_MD5, key, 16,
				 (const uint8_t *)"Hi There", 8, out),
			 0);
	assert_hex(out, "9294727a3638bb1c13f48ef8158bfc9d");
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA1, key, 20,
				 (const uint8_t *)"Hi There", 8, out),
			 0);
	assert_hex(out, "b617318655057264e28bc0b6fb378c8ef146be00");
	memset(key, 0xaa, 80);
	assert_int_equal(t->hmac(t->ctx, TT_HASH_MD5, key, 80,
				 (const uint8_t *)big_data,
				 sizeof(big_data) - 1, out),
			 0);
	assert_hex(out, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA1, key, 80,
				 (const uint8_t *)big_data,
				 sizeof(big_data) - 1, out),
			 0);
	assert_hex(out, "aa4ae5e15272d00e95705637ce8a3b55ed402112");

	assert_int_equal(t->hmac(t->ctx, (enum tt_hash)7, key, 4, key, 4, out),
			 -1);
	assert_int_equal(ERR_peek_error(), 0);
}

/* Every key length around both block sizes, against HMAC(). */
static void test_hmac_oracle(void **state)
{
	const struct tt_crypto *t = table();
	static const uint8_t none[1];
	uint8_t key[300], data[200], out[TT_HASH_MAX], want[TT_HASH_MAX];
	unsigned n;
	(void)state;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 31 + 7);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 17 + 3);
	for (int h = 0; h < TT_HASH_COUNT; h++) {
		size_t hl = tt_hash_len((enum tt_hash)h);
		for (size_t kl = 0; kl <= sizeof(key); kl++) {
			size_t dl = (kl * 7) % (sizeof(data) + 1);
			assert_int_equal(t->hmac(t->ctx, (enum tt_hash)h,
						 kl ? key : NULL, kl,
						 dl ? data : NULL, dl, out),
					 0);
			assert_non_null(HMAC(ossl_md((enum tt_hash)h),
					     kl ? key : none, (int)kl,
					     dl ? data : none, dl, want, &n));
			assert_int_equal(n, hl);
			if (memcmp(out, want, hl) != 0)
				fail_msg("HMAC (hash %d) mismatch, key %zu "
					 "data %zu",
					 h, kl, dl);
		}
	}
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* AEAD                                                                */

/* RFC 8439 2.8.2 */
static void test_aead_rfc8439(void **state)
{
	const struct tt_crypto *t = table();
	static const char pt[] =
		"Ladies and Gentlemen of the class of '99: If I could offer you "
		"only one tip for the future, sunscreen would be it.";
	uint8_t key[32], nonce[12], aad[12], ct[sizeof(pt) - 1],
		back[sizeof(ct)];
	uint8_t tag[16];
	(void)state;

	unhex("808182838485868788898a8b8c8d8e8f"
	      "909192939495969798999a9b9c9d9e9f",
	      key, sizeof(key));
	unhex("070000004041424344454647", nonce, sizeof(nonce));
	unhex("50515253c0c1c2c3c4c5c6c7", aad, sizeof(aad));
	assert_int_equal(t->aead_seal(t->ctx, TT_AEAD_CHACHA20_POLY1305, key,
				      nonce, aad, sizeof(aad),
				      (const uint8_t *)pt, sizeof(ct), ct, tag),
			 0);
	assert_hex(ct, "d31a8d34648e60db7b86afbc53ef7ec2"
		       "a4aded51296e08fea9e2b5a736ee62d6"
		       "3dbea45e8ca9671282fafb69da92728b"
		       "1a71de0a9e060b2905d6a5b67ecd3b36"
		       "92ddbd7f2d778b8c9803aee328091b58"
		       "fab324e4fad675945585808b4831d7bc"
		       "3ff4def08e4b7a9de576d26586cec64b"
		       "6116");
	assert_hex(tag, "1ae10b594f09e26a7e902ecbd0600691");
	assert_int_equal(t->aead_open(t->ctx, TT_AEAD_CHACHA20_POLY1305, key,
				      nonce, aad, sizeof(aad), ct, sizeof(ct),
				      back, tag),
			 0);
	assert_memory_equal(back, pt, sizeof(ct));
}

/* Seal against direct EVP for every AEAD and several sizes, then open
 * (apart and in place); any flipped bit fails the open. */
static void test_aead_oracle(void **state)
{
	const struct tt_crypto *t = table();
	static const size_t lens[] = {0, 1, 15, 16, 17, 100, 1500};
	static const size_t aad_lens[] = {0, 5, 13};
	uint8_t key[32], nonce[12], aad[13], pt[1500], ct[1500], ct2[1500],
		back[1500], tag[16], tag2[16];
	(void)state;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(aad); i++)
		aad[i] = (uint8_t)(0x17 + i);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 3);

	for (size_t a = 0; a < N_AEAD; a++) {
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			for (size_t ai = 0; ai < 3; ai++) {
				size_t tl = tt_aead_tag_len(all_aead[a]);
				size_t len = lens[li], al = aad_lens[ai];
				const uint8_t *ad = al ? aad : NULL;
				const uint8_t *p = len ? pt : NULL;
				uint8_t *c = len ? ct : NULL;
				uint8_t *b = len ? back : NULL;

				assert_int_equal(t->aead_seal(t->ctx,
							      all_aead[a], key,
							      nonce, ad, al, p,
							      len, c, tag),
						 0);
				assert_int_equal(
					direct.aead_seal(direct.ctx,
							 all_aead[a], key,
							 nonce, ad, al, pt, len,
							 ct2, tag2),
					0);
				if (len)
					assert_memory_equal(ct, ct2, len);
				assert_memory_equal(tag, tag2, tl);

				memset(back, 0, sizeof(back));
				assert_int_equal(t->aead_open(t->ctx,
							      all_aead[a], key,
							      nonce, ad, al, c,
							      len, b, tag),
						 0);
				if (len)
					assert_memory_equal(back, pt, len);

				/* in place */
				memcpy(back, ct, len);
				assert_int_equal(t->aead_open(t->ctx,
							      all_aead[a], key,
							      nonce, ad, al, b,
							      len, b, tag),
						 0);
				if (len)
					assert_memory_equal(back, pt, len);

				/* tampering */
				tag[len % tl] ^= 0x01;
				assert_int_equal(t->aead_open(t->ctx,
							      all_aead[a], key,
							      nonce, ad, al, c,
							      len, back, tag),
						 -1);
				tag[len % tl] ^= 0x01;
				if (len) {
					ct[len / 2] ^= 0x80;
					assert_int_equal(
						t->aead_open(t->ctx,
							     all_aead[a], key,
							     nonce, ad, al, ct,
							     len, back, tag),
						-1);
					ct[len / 2] ^= 0x80;
				}
				if (al) {
					aad[al - 1] ^= 0x40;
					assert_int_equal(
						t->aead_open(t->ctx,
							     all_aead[a], key,
							     nonce, ad, al, c,
							     len, back, tag),
						-1);
					aad[al - 1] ^= 0x40;
				}
				nonce[11] ^= 1;
				assert_int_equal(t->aead_open(t->ctx,
							      all_aead[a], key,
							      nonce, ad, al, c,
							      len, back, tag),
						 -1);
				nonce[11] ^= 1;
			}
		}
	}
	assert_int_equal(t->aead_seal(t->ctx, (enum tt_aead)9, key, nonce, NULL,
				      0, NULL, 0, NULL, tag),
			 -1);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* CBC and RC4                                                         */

static const char *const cipher_label[TT_CIPHER_COUNT] = {
	"AES-128-CBC",	    "AES-256-CBC",  "CAMELLIA-128-CBC",
	"CAMELLIA-256-CBC", "ARIA-128-CBC", "ARIA-256-CBC",
	"SEED-CBC",	    "IDEA-CBC",	    "DES-CBC",
	"DES-EDE3-CBC",	    "RC4"};

/* What the table has, and that OpenSSL's legacy provider went into the
 * table's own library context, not into the program's default one. */
static void test_has(void **state)
{
	const struct tt_crypto *t = table();
	(void)state;
	for (int h = 0; h < TT_HASH_COUNT; h++)
		assert_int_equal(t->has(t->ctx, TT_ALG_HASH, h), 0);
	for (size_t a = 0; a < N_AEAD; a++)
		assert_int_equal(t->has(t->ctx, TT_ALG_AEAD, (int)all_aead[a]),
				 0);
	for (int c = 0; c < TT_CIPHER_COUNT; c++) {
		/* as the directly linked libcrypto has it, with its legacy
		 * provider in a context of its own */
		int want = direct.has(direct.ctx, TT_ALG_CIPHER, c);
		print_message("%s: %s\n", cipher_label[c],
			      want ? "not in this libcrypto" : "there");
		assert_int_equal(t->has(t->ctx, TT_ALG_CIPHER, c), want);
	}
	/* the default provider's are always there */
	for (int c = TT_CIPHER_AES_128_CBC; c <= TT_CIPHER_ARIA_256_CBC; c++)
		assert_int_equal(t->has(t->ctx, TT_ALG_CIPHER, c), 0);
	assert_int_equal(t->has(t->ctx, TT_ALG_HASH, TT_HASH_COUNT), -1);
	assert_int_equal(t->has(t->ctx, TT_ALG_AEAD, -1), -1);
	assert_int_equal(t->has(t->ctx, TT_ALG_CIPHER, TT_CIPHER_COUNT), -1);
	assert_int_equal(t->has(t->ctx, (enum tt_alg_kind)9, 0), -1);
	assert_int_equal(OSSL_PROVIDER_available(NULL, "legacy"), 0);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_cbc_stream(void **state)
{
	const struct tt_crypto *t = table();
	uint8_t key[32], iv[16], pt[1024], ct[1024], ct2[1024], back[1024];
	void *st = NULL, *st2 = NULL, *cp = NULL;
	(void)state;

	/* SP 800-38A F.2.1 and F.2.2 (AES-128-CBC, first block) */
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
	unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof(iv));
	unhex("6bc1bee22e409f96e93d7e117393172a", pt, sizeof(pt));
	assert_int_equal(t->cbc_encrypt(t->ctx, TT_CIPHER_AES_128_CBC, key, iv,
					pt, 16, ct),
			 0);
	assert_hex(ct, "7649abac8119b246cee98e9b12e9197d");
	assert_int_equal(t->cbc_decrypt(t->ctx, TT_CIPHER_AES_128_CBC, key, iv,
					ct, 16, ct),
			 0);
	assert_hex(ct, "6bc1bee22e409f96e93d7e117393172a");

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 11 + 5);
	for (size_t i = 0; i < sizeof(iv); i++)
		iv[i] = (uint8_t)(0x30 + i);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	for (int c = 0; c < TT_CIPHER_COUNT; c++) {
		enum tt_cipher ci = (enum tt_cipher)c;
		size_t bs = tt_cipher_block(ci);
		if (t->has(t->ctx, TT_ALG_CIPHER, c) != 0) {
			/* missing: every call fails */
			assert_int_equal(
				t->cbc_decrypt(t->ctx, ci, key, iv, pt, 16, ct),
				-1);
			assert_int_equal(t->stream_new(t->ctx, ci, key, &st),
					 -1);
			continue;
		}
		if (bs == 0) {
			/* RC4: against libcrypto directly, in pieces; a
			 * copy goes on where its original was */
			assert_int_equal(t->stream_new(t->ctx, ci, key, &st),
					 0);
			assert_int_equal(
				direct.stream_new(direct.ctx, ci, key, &st2),
				0);
			assert_int_equal(direct.stream_xor(direct.ctx, st2, pt,
							   sizeof(pt), ct2),
					 0);
			for (size_t off = 0; off < sizeof(pt);) {
				size_t step = off % 13 + 1;
				if (step > sizeof(pt) - off)
					step = sizeof(pt) - off;
				if (off == 500) {
					assert_int_equal(
						t->stream_copy(t->ctx, st, &cp),
						0);
					assert_int_equal(
						t->stream_xor(t->ctx, cp,
							      pt + off, 100,
							      back),
						0);
					assert_memory_equal(back, ct2 + off,
							    100);
					t->stream_free(t->ctx, cp);
				}
				assert_int_equal(t->stream_xor(t->ctx, st,
							       pt + off, step,
							       ct + off),
						 0);
				off += step;
			}
			assert_memory_equal(ct, ct2, sizeof(pt));
			assert_int_equal(
				t->stream_xor(t->ctx, st, NULL, 0, NULL), 0);
			t->stream_free(t->ctx, st);
			direct.stream_free(direct.ctx, st2);
			t->stream_free(t->ctx, NULL);
			/* no stream state for a block cipher */
			assert_int_equal(t->stream_new(t->ctx,
						       TT_CIPHER_AES_128_CBC,
						       key, &st),
					 -1);
			continue;
		}
		for (size_t len = 0; len <= sizeof(pt); len += 5 * bs) {
			assert_int_equal(t->cbc_encrypt(t->ctx, ci, key, iv, pt,
							len, ct),
					 0);
			assert_int_equal(direct.cbc_encrypt(direct.ctx, ci, key,
							    iv, pt, len, ct2),
					 0);
			if (len)
				assert_memory_equal(ct, ct2, len);
			assert_int_equal(t->cbc_decrypt(t->ctx, ci, key, iv, ct,
							len, back),
					 0);
			if (len)
				assert_memory_equal(back, pt, len);
			/* in place */
			assert_int_equal(t->cbc_decrypt(t->ctx, ci, key, iv, ct,
							len, ct),
					 0);
			if (len)
				assert_memory_equal(ct, pt, len);
		}
		/* not a whole number of blocks */
		assert_int_equal(
			t->cbc_decrypt(t->ctx, ci, key, iv, pt, bs + 1, ct),
			-1);
	}
	assert_int_equal(
		t->cbc_decrypt(t->ctx, TT_CIPHER_RC4_128, key, iv, pt, 16, ct),
		-1);
	assert_int_equal(t->cbc_decrypt(t->ctx, (enum tt_cipher)TT_CIPHER_COUNT,
					key, iv, pt, 16, ct),
			 -1);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* Single blocks                                                       */

static void test_blocks(void **state)
{
	const struct tt_crypto *t = table();
	uint8_t key[32], in[16], out[64], nonce[12];
	(void)state;

	/* FIPS-197 C.1 */
	unhex("000102030405060708090a0b0c0d0e0f", key, sizeof(key));
	unhex("00112233445566778899aabbccddeeff", in, sizeof(in));
	assert_int_equal(t->aes_block(t->ctx, key, 16, in, out), 0);
	assert_hex(out, "69c4e0d86a7b0430d8cdb78070b4c55a");
	/* FIPS-197 C.3 */
	unhex("000102030405060708090a0b0c0d0e0f"
	      "101112131415161718191a1b1c1d1e1f",
	      key, sizeof(key));
	assert_int_equal(t->aes_block(t->ctx, key, 32, in, out), 0);
	assert_hex(out, "8ea2b7ca516745bfeafc49904b496089");
	/* The cached contexts re-key: back to the 128-bit key, then a
	 * second 256-bit call. */
	assert_int_equal(t->aes_block(t->ctx, key, 16, in, out), 0);
	assert_hex(out, "69c4e0d86a7b0430d8cdb78070b4c55a");
	assert_int_equal(t->aes_block(t->ctx, key, 32, in, out), 0);
	assert_hex(out, "8ea2b7ca516745bfeafc49904b496089");
	assert_int_equal(t->aes_block(t->ctx, key, 24, in, out), -1);

	/* RFC 8439 2.3.2 */
	unhex("000000090000004a00000000", nonce, sizeof(nonce));
	for (int round = 0; round < 2; round++) {
		assert_int_equal(t->chacha20_block(t->ctx, key, 1, nonce, out),
				 0);
		assert_hex(out, "10f1e7e4d13b5915500fdd1fa32071c4"
				"c7d1f4c733c068030422aa9ac3d46c4e"
				"d2826446079faa0914c2d705d98b02a2"
				"b5129cd1de164eb9cbd083e8a2503c4e");
	}
	/* Counter 2: bytes 64..127 of the keystream from counter 1, from
	 * EVP_chacha20 directly. */
	{
		uint8_t ks[128], zeros[128] = {0}, iv[16] = {1, 0, 0, 0};
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int outl;
		memcpy(iv + 4, nonce, 12);
		assert_int_equal(
			EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv),
			1);
		assert_int_equal(
			EVP_EncryptUpdate(c, ks, &outl, zeros, sizeof(zeros)),
			1);
		EVP_CIPHER_CTX_free(c);
		assert_int_equal(t->chacha20_block(t->ctx, key, 2, nonce, out),
				 0);
		assert_memory_equal(out, ks + 64, 64);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* The host's error queue                                              */

/* What a direct CCM open with a bad tag leaves in the queue: the premise
 * that the table's calls do raise errors inside libcrypto. */
static unsigned long direct_bad_ccm_error(void)
{
	uint8_t key[16] = {1}, nonce[12] = {2}, in[32] = {3}, out[32],
		tag[16] = {4};
	unsigned long e;
	ERR_clear_error();
	assert_int_equal(direct.aead_open(direct.ctx, TT_AEAD_AES_128_CCM, key,
					  nonce, NULL, 0, in, sizeof(in), out,
					  tag),
			 -1);
	e = ERR_peek_error();
	ERR_clear_error();
	return e;
}

static void bad_opens_and_digest(const struct tt_crypto *t)
{
	uint8_t key[32] = {1}, nonce[12] = {2}, in[32] = {3}, out[64],
		tag[16] = {4}, md[TT_HASH_MAX];
	void *st = NULL;

	for (size_t a = 0; a < N_AEAD; a++)
		assert_int_equal(t->aead_open(t->ctx, all_aead[a], key, nonce,
					      in, 5, in, sizeof(in), out, tag),
				 -1);
	assert_int_equal(t->digest(t->ctx, TT_HASH_SHA384, in, sizeof(in), md),
			 0);
	assert_int_equal(t->hmac(t->ctx, TT_HASH_SHA256, key, 32, in, 7, md),
			 0);
	assert_int_equal(t->hash_new(t->ctx, TT_HASH_SHA256, &st), 0);
	assert_int_equal(t->hash_update(t->ctx, st, in, sizeof(in)), 0);
	assert_int_equal(t->hash_final(t->ctx, st, md), 0);
	t->hash_free(t->ctx, st);
	assert_int_equal(t->aes_block(t->ctx, key, 16, in, out), 0);
	assert_int_equal(t->chacha20_block(t->ctx, key, 0, nonce, out), 0);
	assert_int_equal(t->aead_seal(t->ctx, TT_AEAD_AES_128_CCM, key, nonce,
				      NULL, 0, in, sizeof(in), out, tag),
			 0);
}

static void test_err_queue(void **state)
{
	const struct tt_crypto *t = table();
	unsigned long mine, e;
	(void)state;

	assert_int_not_equal(direct_bad_ccm_error(), 0);

	/* Empty before, empty after. */
	ERR_clear_error();
	bad_opens_and_digest(t);
	assert_int_equal(ERR_peek_error(), 0);

	/* One error before: exactly that one after. */
	ERR_raise(ERR_LIB_SYS, 1234);
	mine = ERR_peek_last_error();
	assert_int_equal(ERR_GET_LIB(mine), ERR_LIB_SYS);
	assert_int_equal(ERR_GET_REASON(mine), 1234);
	bad_opens_and_digest(t);
	assert_int_equal(ERR_peek_last_error(), mine);
	assert_int_equal(ERR_peek_error(), mine);
	e = ERR_get_error();
	assert_int_equal(e, mine);
	assert_int_equal(ERR_get_error(), 0);

	/* The host's own mark survives ours: A, mark, B, our calls; the
	 * host's pop then removes B and leaves A. */
	ERR_raise(ERR_LIB_SYS, 1111);
	mine = ERR_peek_last_error();
	assert_int_equal(ERR_set_mark(), 1);
	ERR_raise(ERR_LIB_SYS, 2222);
	bad_opens_and_digest(t);
	assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()), 2222);
	assert_int_equal(ERR_pop_to_mark(), 1);
	assert_int_equal(ERR_peek_last_error(), mine);
	assert_int_equal(ERR_get_error(), mine);
	assert_int_equal(ERR_get_error(), 0);

	/* A mark set on an empty queue by the host. */
	assert_int_equal(ERR_set_mark(), 0);
	bad_opens_and_digest(t);
	assert_int_equal(ERR_peek_error(), 0);
	ERR_pop_to_mark();
	assert_int_equal(ERR_peek_error(), 0);
}

/* ------------------------------------------------------------------ */
/* Threads and fork                                                    */

#define THREADS	   8
#define ITERATIONS 2000

static void *block_worker(void *arg)
{
	const struct tt_crypto *t = tt_crypto_load(NULL);
	uintptr_t id = (uintptr_t)arg;
	uint8_t k128[16], k256[32], in[16], out[64], nonce[12], want[64];
	uintptr_t bad = 0;

	unhex("000102030405060708090a0b0c0d0e0f", k128, sizeof(k128));
	unhex("000102030405060708090a0b0c0d0e0f"
	      "101112131415161718191a1b1c1d1e1f",
	      k256, sizeof(k256));
	unhex("00112233445566778899aabbccddeeff", in, sizeof(in));
	unhex("000000090000004a00000000", nonce, sizeof(nonce));
	unhex("10f1e7e4d13b5915500fdd1fa32071c4"
	      "c7d1f4c733c068030422aa9ac3d46c4e"
	      "d2826446079faa0914c2d705d98b02a2"
	      "b5129cd1de164eb9cbd083e8a2503c4e",
	      want, sizeof(want));
	for (int i = 0; i < ITERATIONS; i++) {
		switch ((i + (int)id) % 3) {
		case 0:
			bad += t->aes_block(t->ctx, k128, 16, in, out) != 0 ||
			       memcmp(out,
				      "\x69\xc4\xe0\xd8\x6a\x7b\x04\x30"
				      "\xd8\xcd\xb7\x80\x70\xb4\xc5\x5a",
				      16) != 0;
			break;
		case 1:
			bad += t->aes_block(t->ctx, k256, 32, in, out) != 0 ||
			       memcmp(out,
				      "\x8e\xa2\xb7\xca\x51\x67\x45\xbf"
				      "\xea\xfc\x49\x90\x4b\x49\x60\x89",
				      16) != 0;
			break;
		default:
			bad += t->chacha20_block(t->ctx, k256, 1, nonce, out) !=
				       0 ||
			       memcmp(out, want, 64) != 0;
			break;
		}
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	pthread_t th[THREADS];
	(void)state;

	table();
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, block_worker, (void *)i),
			0);
	for (int i = 0; i < THREADS; i++) {
		void *bad = (void *)1;
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_ptr_equal(bad, NULL);
	}
}

static void test_fork(void **state)
{
	pid_t pid;
	int status = 0;
	(void)state;

	table();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct tt_crypto *t = tt_crypto_load(NULL);
		uint8_t out[TT_HASH_MAX];
		bool ok = t && tt_crypto_loaded() &&
			  block_worker((void *)0) == NULL &&
			  t->digest(t->ctx, TT_HASH_SHA256,
				    (const uint8_t *)"abc", 3, out) == 0 &&
			  memcmp(out, "\xba\x78\x16\xbf", 4) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: nothing loaded before it */
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_hmac_oracle),
		cmocka_unit_test(test_aead_rfc8439),
		cmocka_unit_test(test_aead_oracle),
		cmocka_unit_test(test_has),
		cmocka_unit_test(test_cbc_stream),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_err_queue),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_fork),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
