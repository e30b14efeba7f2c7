/* decoder/base/keysched.c: key schedules and record decryption.
 *
 * The crypto table is filled from libcrypto directly (the shim's dlopen
 * binding is separate).  Oracles, in order of independence:
 * - published vectors: FIPS-197 (AES), RFC 8439 (ChaCha20), RFC 4231
 *   (HMAC), RFC 5869 (HKDF), and the RFC 8448 section 3 key schedule
 *   (TLS_AES_128_GCM_SHA256): early, handshake and master secrets, the
 *   handshake traffic secrets from the ClientHello..ServerHello hash, and
 *   the keys and IVs of all four traffic secrets;
 * - OpenSSL's own KDFs: HKDF expand-only over an HkdfLabel built here by
 *   hand, and TLS1-PRF;
 * - real TLS: tlsgen runs an in-process OpenSSL exchange per suite; its
 *   key log gives the secrets, and every encrypted record of both
 *   directions must open and give back exactly what OpenSSL's message
 *   callback saw before encryption.  Finished messages are checked
 *   against the transcript too (RFC 8446 4.4.4, RFC 5246 7.4.9).
 * Records are opened from exact-size heap copies (ASan sees overreads),
 * every other one in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "bytes.h"
#include "crypto.h"
#include "keylog.h"
#include "keysched.h"
#include "ossl_crypto.h"
#include "tlsgen.h"

enum {
	CT_CCS = 20,
	CT_ALERT = 21,
	CT_HANDSHAKE = 22,
	CT_APPDATA = 23,
	HS_CLIENT_HELLO = 1,
	HS_SERVER_HELLO = 2,
	HS_FINISHED = 20,
};

#define APP_BYTES 3000 /* more than one record's worth is not needed */

static unsigned records_opened, tamper_checks;

#define cr (*ossl_crypto())

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* ------------------------------------------------------------------ */
/* The table itself, against published vectors                          */

static void test_table_vectors(void **state)
{
	uint8_t key[32], in[64], out[64], nonce[12];
	void *st = NULL;
	(void)state;

	/* FIPS-197 C.1 */
	unhex("000102030405060708090a0b0c0d0e0f", key, sizeof(key));
	unhex("00112233445566778899aabbccddeeff", in, sizeof(in));
	assert_int_equal(cr.aes_block(cr.ctx, key, 16, in, out), 0);
	assert_hex(out, "69c4e0d86a7b0430d8cdb78070b4c55a");
	/* FIPS-197 C.3 */
	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	      key, sizeof(key));
	assert_int_equal(cr.aes_block(cr.ctx, key, 32, in, out), 0);
	assert_hex(out, "8ea2b7ca516745bfeafc49904b496089");
	assert_int_equal(cr.aes_block(cr.ctx, key, 24, in, out), -1);

	/* RFC 8439 2.3.2 */
	unhex("000000090000004a00000000", nonce, sizeof(nonce));
	assert_int_equal(cr.chacha20_block(cr.ctx, key, 1, nonce, out), 0);
	assert_hex(out, "10f1e7e4d13b5915500fdd1fa32071c4"
			"c7d1f4c733c068030422aa9ac3d46c4e");

	/* SHA-256("abc"), whole and fed in pieces with reads between */
	assert_int_equal(cr.digest(cr.ctx, TT_HASH_SHA256,
				   (const uint8_t *)"abc", 3, out),
			 0);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(cr.hash_new(cr.ctx, TT_HASH_SHA256, &st), 0);
	assert_int_equal(cr.hash_update(cr.ctx, st, (const uint8_t *)"a", 1),
			 0);
	assert_int_equal(cr.hash_final(cr.ctx, st, out), 0);
	assert_int_equal(cr.hash_update(cr.ctx, st, (const uint8_t *)"bc", 2),
			 0);
	assert_int_equal(cr.hash_final(cr.ctx, st, out), 0);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad");
	cr.hash_free(cr.ctx, st);
	cr.hash_free(cr.ctx, NULL);

	/* RFC 4231 test case 2 */
	assert_int_equal(
		cr.hmac(cr.ctx, TT_HASH_SHA256, (const uint8_t *)"Jefe", 4,
			(const uint8_t *)"what do ya want for nothing?", 28,
			out),
		0);
	assert_hex(out, "5bdcc146bf60754e6a042426089575c7"
			"5a003f089d2739839dec58b964ec3843");
}

/* Seal then open with every AEAD, in place and not; a flipped bit in any
 * input fails the open. */
static void test_table_aead(void **state)
{
	static const enum tt_aead all[] = {
		TT_AEAD_AES_128_GCM, TT_AEAD_AES_256_GCM,
		TT_AEAD_CHACHA20_POLY1305, TT_AEAD_AES_128_CCM};
	uint8_t key[32], nonce[12] = {1, 2, 3}, aad[13] = {9};
	uint8_t pt[100], ct[100], back[100], tag[16];
	(void)state;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	for (size_t a = 0; a < sizeof(all) / sizeof(all[0]); a++) {
		assert_int_equal(cr.aead_seal(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), pt, sizeof(pt), ct,
					      tag),
				 0);
		assert_memory_not_equal(ct, pt, sizeof(pt));
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), ct, sizeof(ct), back,
					      tag),
				 0);
		assert_memory_equal(back, pt, sizeof(pt));
		memcpy(back, ct, sizeof(ct));
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), back, sizeof(back),
					      back, tag),
				 0);
		assert_memory_equal(back, pt, sizeof(pt));
		aad[3] ^= 1;
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), ct, sizeof(ct), back,
					      tag),
				 -1);
		aad[3] ^= 1;
		tag[15] ^= 0x80;
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), ct, sizeof(ct), back,
					      tag),
				 -1);
		tag[15] ^= 0x80;
		ct[50] ^= 4;
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), ct, sizeof(ct), back,
					      tag),
				 -1);
		/* empty plaintext still authenticates */
		assert_int_equal(cr.aead_seal(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), NULL, 0, NULL, tag),
				 0);
		assert_int_equal(cr.aead_open(cr.ctx, all[a], key, nonce, aad,
					      sizeof(aad), NULL, 0, NULL, tag),
				 0);
	}
}

/* ------------------------------------------------------------------ */
/* HKDF, HKDF-Expand-Label, PRF                                         */

/* RFC 5869 A.1 and A.2 (SHA-256). */
static void test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[80], salt[80], info[80], prk[32], okm[82];
	size_t il, sl, fl;
	(void)state;

	il = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm,
		   sizeof(ikm));
	sl = unhex("000102030405060708090a0b0c", salt, sizeof(salt));
	fl = unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info));
	assert_int_equal(
		tt_hkdf_extract(&cr, TT_HASH_SHA256, salt, sl, ikm, il, prk),
		TT_OK);
	assert_hex(prk, "077709362c2e32df0ddc3f0dc47bba63"
			"90b6c73bb50f9c3122ec844ad7c2b3e5");
	assert_int_equal(
		tt_hkdf_expand(&cr, TT_HASH_SHA256, prk, 32, info, fl, okm, 42),
		TT_OK);
	assert_hex(okm, "3cb25f25faacd57a90434f64d0362f2a"
			"2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			"34007208d5b887185865");

	/* A.2: 80-byte inputs, 82 bytes out (three HMAC blocks) */
	for (int i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	assert_int_equal(
		tt_hkdf_extract(&cr, TT_HASH_SHA256, salt, 80, ikm, 80, prk),
		TT_OK);
	assert_hex(prk, "06a6b88c5853361a06104c9ceb35b45c"
			"ef760014904671014a193f40c15fc244");
	assert_int_equal(
		tt_hkdf_expand(&cr, TT_HASH_SHA256, prk, 32, info, 80, okm, 82),
		TT_OK);
	assert_hex(okm, "b11e398dc80327a1c8e7f78c596a4934"
			"4f012eda2d4efad8a050cc4c19afa97c"
			"59045a99cac7827271cb41c65e590e09"
			"da3275600c2f09b8367793a9aca3db71"
			"cc30c58179ec3e87c14c01d5c1f3434f"
			"1d87");

	/* caps */
	assert_int_equal(tt_hkdf_expand(&cr, TT_HASH_SHA256, prk, 32, info,
					TT_HKDF_INFO_MAX + 1, okm, 1),
			 TT_TOO_BIG);
	{
		uint8_t *big = malloc(255 * 32 + 1);
		assert_non_null(big);
		assert_int_equal(tt_hkdf_expand(&cr, TT_HASH_SHA256, prk, 32,
						NULL, 0, big, 255 * 32),
				 TT_OK);
		assert_int_equal(tt_hkdf_expand(&cr, TT_HASH_SHA256, prk, 32,
						NULL, 0, big, 255 * 32 + 1),
				 TT_TOO_BIG);
		free(big);
	}
}

/* HKDF-Expand-Label against OpenSSL's HKDF (expand only) over an
 * HkdfLabel built here byte by byte. */
static void ossl_expand(enum tt_hash h, const uint8_t *prk, const uint8_t *info,
			size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(
			OSSL_KDF_PARAM_DIGEST,
			h == TT_HASH_SHA384 ? "SHA384" : "SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)prk, tt_hash_len(h)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)info, info_len),
		OSSL_PARAM_construct_end(),
	};
	assert_non_null(k);
	assert_int_equal(EVP_KDF_derive(k, out, out_len, p), 1);
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
}

static void test_expand_label_oracle(void **state)
{
	static const char *labels[] = {
		"key", "iv", "traffic upd", "finished", "c hs traffic", "x"};
	static const enum tt_hash hashes[] = {TT_HASH_SHA256, TT_HASH_SHA384};
	uint8_t secret[48], ctx[48], info[600], want[100], got[100];
	(void)state;

	for (size_t i = 0; i < sizeof(secret); i++) {
		secret[i] = (uint8_t)(0xa0 ^ i);
		ctx[i] = (uint8_t)(3 * i);
	}
	for (size_t hi = 0; hi < 2; hi++) {
		enum tt_hash h = hashes[hi];
		for (size_t li = 0; li < sizeof(labels) / sizeof(labels[0]);
		     li++) {
			for (size_t cl = 0; cl <= 48; cl += 16) {
				size_t outl = 5 + 19 * li, n = 0,
				       ll = strlen(labels[li]);
				info[n++] = (uint8_t)(outl >> 8);
				info[n++] = (uint8_t)outl;
				info[n++] = (uint8_t)(6 + ll);
				memcpy(info + n, "tls13 ", 6);
				n += 6;
				memcpy(info + n, labels[li], ll);
				n += ll;
				info[n++] = (uint8_t)cl;
				memcpy(info + n, ctx, cl);
				n += cl;
				ossl_expand(h, secret, info, n, want, outl);
				assert_int_equal(
					tt_hkdf_expand_label(&cr, h, secret,
							     labels[li], ctx,
							     cl, got, outl),
					TT_OK);
				assert_memory_equal(got, want, outl);
			}
		}
		/* the KeyUpdate chain, in place */
		uint8_t next[48], want_next[48];
		size_t hl = tt_hash_len(h), n = 0;
		info[n++] = 0;
		info[n++] = (uint8_t)hl;
		info[n++] = 6 + 11;
		memcpy(info + n, "tls13 traffic upd", 17);
		n += 17;
		info[n++] = 0;
		ossl_expand(h, secret, info, n, want_next, hl);
		assert_int_equal(tt_tls13_next_secret(&cr, h, secret, next),
				 TT_OK);
		assert_memory_equal(next, want_next, hl);
		ossl_expand(h, next, info, n, want_next, hl);
		assert_int_equal(tt_tls13_next_secret(&cr, h, next, next),
				 TT_OK);
		assert_memory_equal(next, want_next, hl);
	}

	/* label and context caps */
	char longlabel[TT_HKDF_LABEL_MAX + 2];
	memset(longlabel, 'a', sizeof(longlabel) - 1);
	longlabel[sizeof(longlabel) - 1] = '\0';
	assert_int_equal(tt_hkdf_expand_label(&cr, TT_HASH_SHA256, secret,
					      longlabel, NULL, 0, got, 16),
			 TT_TOO_BIG);
	longlabel[TT_HKDF_LABEL_MAX] = '\0';
	assert_int_equal(tt_hkdf_expand_label(&cr, TT_HASH_SHA256, secret,
					      longlabel, NULL, 0, got, 16),
			 TT_OK);
	assert_int_equal(tt_hkdf_expand_label(&cr, TT_HASH_SHA256, secret, "",
					      NULL, 0, got, 16),
			 TT_DECODE);
	{
		uint8_t bigctx[256] = {0};
		assert_int_equal(tt_hkdf_expand_label(&cr, TT_HASH_SHA256,
						      secret, "k", bigctx, 256,
						      got, 16),
				 TT_TOO_BIG);
		assert_int_equal(tt_hkdf_expand_label(&cr, TT_HASH_SHA256,
						      secret, "k", bigctx, 255,
						      got, 16),
				 TT_OK);
	}
}

/* The TLS 1.2 PRF against OpenSSL's TLS1-PRF. */
static void test_prf_oracle(void **state)
{
	static const enum tt_hash hashes[] = {TT_HASH_SHA256, TT_HASH_SHA384};
	uint8_t secret[48], seed[TT_PRF_SEED_MAX], want[200], got[200];
	(void)state;

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i ^ 0x5a);
	for (size_t hi = 0; hi < 2; hi++) {
		static const size_t lens[] = {1, 12, 32, 48, 49, 104, 200};
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
			EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
			OSSL_PARAM p[] = {
				OSSL_PARAM_construct_utf8_string(
					OSSL_KDF_PARAM_DIGEST,
					hashes[hi] == TT_HASH_SHA384 ? "SHA384"
								     : "SHA256",
					0),
				OSSL_PARAM_construct_octet_string(
					OSSL_KDF_PARAM_SECRET, secret,
					sizeof(secret)),
				OSSL_PARAM_construct_octet_string(
					OSSL_KDF_PARAM_SEED,
					(void *)"key expansion", 13),
				OSSL_PARAM_construct_octet_string(
					OSSL_KDF_PARAM_SEED, seed, 64),
				OSSL_PARAM_construct_end(),
			};
			assert_non_null(k);
			assert_int_equal(EVP_KDF_derive(k, want, lens[li], p),
					 1);
			EVP_KDF_CTX_free(k);
			EVP_KDF_free(kdf);
			memset(got, 0xee, sizeof(got));
			assert_int_equal(tt_tls12_prf(&cr, hashes[hi], secret,
						      sizeof(secret),
						      "key expansion", seed, 64,
						      got, lens[li]),
					 TT_OK);
			assert_memory_equal(got, want, lens[li]);
			if (lens[li] < sizeof(got))
				assert_int_equal(got[lens[li]], 0xee);
		}
	}
	assert_int_equal(tt_tls12_prf(&cr, TT_HASH_SHA256, secret, 48, "x",
				      seed, TT_PRF_SEED_MAX + 1, got, 12),
			 TT_TOO_BIG);
	{
		char longlabel[TT_PRF_LABEL_MAX + 2];
		memset(longlabel, 'l', sizeof(longlabel) - 1);
		longlabel[sizeof(longlabel) - 1] = '\0';
		assert_int_equal(tt_tls12_prf(&cr, TT_HASH_SHA256, secret, 48,
					      longlabel, seed, 64, got, 12),
				 TT_TOO_BIG);
	}
}

/* ------------------------------------------------------------------ */
/* RFC 8448 section 3: Simple 1-RTT Handshake                          */

static void test_rfc8448_schedule(void **state)
{
	const enum tt_hash h = TT_HASH_SHA256;
	const struct tt_suite *s = tt_suite_find(0x1301);
	uint8_t early[32], derived[32], ecdhe[32], hs[32], thash[32];
	uint8_t chs[32], shs[32], master[32], cap[32], sap[32];
	struct tt_rkeys k;
	(void)state;

	assert_non_null(s);
	/* {server}  extract secret "early" (no PSK: zeros) */
	assert_int_equal(tt_hkdf_extract(&cr, h, NULL, 0, NULL, 0, early),
			 TT_OK);
	assert_hex(early, "33ad0a1c607ec03b09e6cd9893680ce2"
			  "10adf300aa1f2660e1b22e10f170f92a");
	assert_int_equal(
		tt_derive_secret(&cr, h, early, "derived", NULL, derived),
		TT_OK);
	assert_hex(derived, "6f2615a108c702c5678f54fc9dbab697"
			    "16c076189c48250cebeac3576c3611ba");
	unhex("8bd4054fb55b9d63fdfbacf9f04b9f0d"
	      "35e6d63f537563efd46272900f89492d",
	      ecdhe, sizeof(ecdhe));
	assert_int_equal(tt_hkdf_extract(&cr, h, derived, 32, ecdhe, 32, hs),
			 TT_OK);
	assert_hex(hs, "1dc826e93606aa6fdc0aadc12f741b01"
		       "046aa6b99f691ed221a9f0ca043fbeac");

	/* Transcript-Hash(ClientHello, ServerHello) */
	unhex("860c06edc07858ee8e78f0e7428c58ed"
	      "d6b43f2ca3e6e95f02ed063cf0e1cad8",
	      thash, sizeof(thash));
	assert_int_equal(
		tt_derive_secret(&cr, h, hs, "c hs traffic", thash, chs),
		TT_OK);
	assert_hex(chs, "b3eddb126e067f35a780b3abf45e2d8f"
			"3b1a950738f52e9600746a0e27a55a21");
	assert_int_equal(
		tt_derive_secret(&cr, h, hs, "s hs traffic", thash, shs),
		TT_OK);
	assert_hex(shs, "b67b7d690cc16c4e75e54213cb2d37b4"
			"e9c912bcded9105d42befd59d391ad38");

	assert_int_equal(tt_tls13_traffic_keys(&cr, s, shs, &k), TT_OK);
	assert_hex(k.key, "3fce516009c21727d0f2e4e86ee403bc");
	assert_hex(k.iv, "5d313eb2671276ee13000b30");
	assert_true(k.seq == 0 && k.suite == s);
	assert_int_equal(tt_tls13_traffic_keys(&cr, s, chs, &k), TT_OK);
	assert_hex(k.key, "dbfaa693d1762c5b666af5d950258d01");
	assert_hex(k.iv, "5bd3c71b836e0b76bb73265f");

	/* master secret and the application traffic secrets */
	assert_int_equal(tt_derive_secret(&cr, h, hs, "derived", NULL, derived),
			 TT_OK);
	assert_hex(derived, "43de77e0c77713859a944db9db2590b5"
			    "3190a65b3ee2e4f12dd7a0bb7ce254b4");
	assert_int_equal(tt_hkdf_extract(&cr, h, derived, 32, NULL, 0, master),
			 TT_OK);
	assert_hex(master, "18df06843d13a08bf2a449844c5f8a47"
			   "8001bc4d4c627984d5a41da8d0402919");
	/* The application traffic secrets as the RFC gives them (their
	 * transcript hash is not reproduced here), and their keys. */
	unhex("9e40646ce79a7f9dc05af8889bce6552"
	      "875afa0b06df0087f792ebb7c17504a5",
	      cap, sizeof(cap));
	unhex("a11af9f05531f856ad47116b45a95032"
	      "8204b4f44bfb6b3a4b4f1f3fcb631643",
	      sap, sizeof(sap));
	assert_int_equal(tt_tls13_traffic_keys(&cr, s, sap, &k), TT_OK);
	assert_hex(k.key, "9f02283b6c9c07efc26bb9f2ac92e356");
	assert_hex(k.iv, "cf782b88dd83549aadf1e984");
	assert_int_equal(tt_tls13_traffic_keys(&cr, s, cap, &k), TT_OK);
	assert_hex(k.key, "17422dda596ed5d9acd890e3c63f5051");
	assert_hex(k.iv, "5b78923dee08579033e523d9");

	/* the record nonce: iv xor the sequence number */
	{
		uint8_t nonce[12];
		tt_record_nonce(k.iv, 0, nonce);
		assert_memory_equal(nonce, k.iv, 12);
		tt_record_nonce(k.iv, 0x0102030405060708ull, nonce);
		assert_hex(nonce, "5b78923def0a549436e324d1");
	}
	tt_rkeys_wipe(&k);
	assert_null(k.suite);
	assert_true(k.key[0] == 0 && k.iv[0] == 0);
}

/* ------------------------------------------------------------------ */
/* Suites                                                              */

static void test_suite_table(void **state)
{
	/* the NULL-NULL suite, export RC4, RC2 and DES40, Camellia-GCM,
	 * SM4, TLS 1.3 integrity only, AEGIS, GOST, unassigned */
	static const uint16_t none[] = {0x0000, 0x0003, 0x0006, 0x0008, 0xc07a,
					0x00c6, 0xc0b4, 0x1306, 0xc100, 0xffff};
	static const uint16_t some[] = {
		0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0xc02b, 0xc030, 0xcca8,
		0xc0ac, 0xc0a0, 0xc050, 0x002f, 0x003c, 0xc009, 0x0041, 0xc03c,
		0x0096, 0x0007, 0x0009, 0x000a, 0x0004, 0x0005, 0x0001, 0x0002};
	(void)state;

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_null(tt_suite_find(none[i]));
	for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++)
		assert_non_null(tt_suite_find(some[i]));
	for (unsigned c = 0; c <= 0xffff; c++) {
		const struct tt_suite *s = tt_suite_find((uint16_t)c);
		if (!s)
			continue;
		assert_int_equal(s->code, c);
		assert_true(s->tls13 == ((c >> 8) == 0x13));
		switch (s->mode) {
		case TT_MODE_CBC:
			assert_false(s->tls13);
			assert_int_equal(s->key_len,
					 tt_cipher_key_len(s->cipher));
			assert_int_equal(s->iv_len, tt_cipher_block(s->cipher));
			assert_int_equal(s->explicit_nonce, s->iv_len);
			assert_int_equal(s->mac_len, tt_hash_len(s->mac_hash));
			break;
		case TT_MODE_STREAM:
			assert_int_equal(s->cipher, TT_CIPHER_RC4_128);
			assert_int_equal(s->key_len, 16);
			/* fall through */
		case TT_MODE_NULL:
			assert_false(s->tls13);
			assert_true(s->iv_len == 0 && s->explicit_nonce == 0);
			assert_int_equal(s->mac_len, tt_hash_len(s->mac_hash));
			break;
		default:
			assert_int_equal(s->key_len, tt_aead_key_len(s->aead));
			if (s->tls13 || s->aead == TT_AEAD_CHACHA20_POLY1305)
				assert_true(s->iv_len == 12 &&
					    s->explicit_nonce == 0);
			else
				assert_true(s->iv_len == 4 &&
					    s->explicit_nonce == 8);
			assert_int_equal(s->iv_len + s->explicit_nonce,
					 TT_AEAD_NONCE_LEN);
		}
	}
	/* versions do not mix */
	{
		struct tt_rkeys a, b;
		uint8_t z[48] = {0};
		assert_int_equal(tt_tls13_traffic_keys(
					 &cr, tt_suite_find(0xc02b), z, &a),
				 TT_UNSUPPORTED);
		assert_int_equal(tt_tls12_keys(&cr, tt_suite_find(0x1301),
					       0x0303, z, z, z, &a, &b),
				 TT_UNSUPPORTED);
		assert_int_equal(
			tt_tls12_keys(&cr, NULL, 0x0303, z, z, z, &a, &b),
			TT_UNSUPPORTED);
		/* nor do SSL 3.0 and a SHA-256 MAC, or TLS 1.3 as a
		 * record-protection version of a TLS 1.2 suite */
		assert_int_equal(tt_tls12_keys(&cr, tt_suite_find(0x003c),
					       0x0300, z, z, z, &a, &b),
				 TT_UNSUPPORTED);
		assert_int_equal(tt_tls12_keys(&cr, tt_suite_find(0x002f),
					       0x0304, z, z, z, &a, &b),
				 TT_UNSUPPORTED);
	}
}

/* ------------------------------------------------------------------ */
/* Real records, from tlsgen                                           */

struct secrets {
	uint8_t client_random[32];
	uint8_t chs[48], shs[48], cap[48], sap[48], master[48];
	size_t len; /* of the TLS 1.3 secrets */
	unsigned have;
};

/* Reads the run's key log with our own parser. */
static void read_keylog(const struct tlsgen_result *r, struct secrets *s)
{
	const char *p = r->keylog;
	size_t left = r->keylog_len, used;

	memset(s, 0, sizeof(*s));
	while (left) {
		struct tt_keylog_entry e;
		uint8_t *dst = NULL;
		assert_int_equal(tt_keylog_next(p, left, &used, &e), TT_OK);
		assert_true(used >= 1 && used <= left);
		switch (e.label) {
		case TT_KL_CLIENT_RANDOM:
			dst = s->master;
			assert_int_equal(e.secret_len, 48);
			break;
		case TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET:
			dst = s->chs;
			break;
		case TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET:
			dst = s->shs;
			break;
		case TT_KL_CLIENT_TRAFFIC_SECRET_0:
			dst = s->cap;
			break;
		case TT_KL_SERVER_TRAFFIC_SECRET_0:
			dst = s->sap;
			break;
		default:
			break;
		}
		if (dst) {
			memcpy(dst, e.secret, e.secret_len);
			if (e.label != TT_KL_CLIENT_RANDOM)
				s->len = e.secret_len;
			s->have |= 1u << e.label;
		}
		if (e.label != TT_KL_NONE) {
			if (s->have & 1u)
				assert_memory_equal(s->client_random,
						    e.client_random, 32);
			memcpy(s->client_random, e.client_random, 32);
			s->have |= 1u;
		}
		p += used;
		left -= used;
	}
}

/* The plaintext of message i. */
static const uint8_t *mdata(const struct tlsgen_result *r, size_t i)
{
	return r->plain + r->msgs[i].off;
}

/* Index of the first handshake message of this type from that side. */
static size_t find_msg(const struct tlsgen_result *r, int from_server,
		       uint8_t hs_type)
{
	for (size_t i = 0; i < r->nmsgs; i++)
		if (r->msgs[i].from_server == from_server &&
		    r->msgs[i].content_type == CT_HANDSHAKE &&
		    r->msgs[i].len >= 4 && mdata(r, i)[0] == hs_type)
			return i;
	fail_msg("no handshake message %u from side %d", hs_type, from_server);
	return 0;
}

/* Transcript hash of every handshake message before message `upto`, in
 * the order they were sent (both sides), through the table's
 * incremental interface. */
static void transcript(const struct tlsgen_result *r, enum tt_hash h,
		       size_t upto, uint8_t *out)
{
	void *st = NULL;
	assert_int_equal(cr.hash_new(cr.ctx, h, &st), 0);
	for (size_t i = 0; i < upto; i++)
		if (r->msgs[i].content_type == CT_HANDSHAKE)
			assert_int_equal(cr.hash_update(cr.ctx, st, mdata(r, i),
							r->msgs[i].len),
					 0);
	assert_int_equal(cr.hash_final(cr.ctx, st, out), 0);
	cr.hash_free(cr.ctx, st);
}

/* What a side sent encrypted, per content type, concatenated. */
struct plain {
	uint8_t *hs, *alert;
	size_t hs_len, alert_len, app_len;
};

static void plain_add(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
	uint8_t *nb = realloc(*buf, *len + n + 1);
	assert_non_null(nb);
	*buf = nb;
	if (n)
		memcpy(nb + *len, p, n);
	*len += n;
}

static void plain_free(struct plain *p)
{
	free(p->hs);
	free(p->alert);
	memset(p, 0, sizeof(*p));
}

/* Expected: the side's messages from `first` on (message indices), by
 * type; change_cipher_spec is never encrypted. */
static void expected(const struct tlsgen_result *r, int from_server,
		     size_t first, struct plain *e)
{
	memset(e, 0, sizeof(*e));
	for (size_t i = first; i < r->nmsgs; i++) {
		if (r->msgs[i].from_server != from_server)
			continue;
		if (r->msgs[i].content_type == CT_HANDSHAKE)
			plain_add(&e->hs, &e->hs_len, mdata(r, i),
				  r->msgs[i].len);
		else if (r->msgs[i].content_type == CT_ALERT)
			plain_add(&e->alert, &e->alert_len, mdata(r, i),
				  r->msgs[i].len);
	}
}

typedef tt_rc (*open_fn)(struct tt_rkeys *k, uint8_t *rec, size_t len,
			 bool in_place, uint8_t *out, size_t *out_len,
			 uint8_t *type);

static tt_rc open13(struct tt_rkeys *k, uint8_t *rec, size_t len, bool in_place,
		    uint8_t *out, size_t *out_len, uint8_t *type)
{
	if (in_place)
		return tt_tls13_open(&cr, k, rec, len, rec + TT_RECORD_HDR,
				     len - TT_RECORD_HDR, out_len, type);
	return tt_tls13_open(&cr, k, rec, len, out, TT_TLS13_CIPHERTEXT_MAX,
			     out_len, type);
}

static tt_rc open12(struct tt_rkeys *k, uint8_t *rec, size_t len, bool in_place,
		    uint8_t *out, size_t *out_len, uint8_t *type)
{
	size_t skip = TT_RECORD_HDR + k->suite->explicit_nonce;
	*type = len ? rec[0] : 0;
	if (in_place)
		return tt_tls12_open(&cr, k, rec, len, rec + skip, len - skip,
				     out_len);
	return tt_tls12_open(&cr, k, rec, len, out, TT_TLS12_CIPHERTEXT_MAX,
			     out_len);
}

/* Copies of the record with one byte changed, and cut short: none opens,
 * and the keys do not move. */
static void tamper(open_fn fn, struct tt_rkeys *k, const uint8_t *rec,
		   size_t len)
{
	uint8_t out[TT_TLS12_CIPHERTEXT_MAX];
	const size_t at[] = {1, 2, 5, 6, 12, 13, len / 2, len - 17, len - 1};
	uint64_t seq = k->seq;
	size_t olen;
	uint8_t type;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		uint8_t *c = dup_exact(rec, len);
		c[at[i]] ^= 0x10;
		assert_int_equal(fn(k, c, len, false, out, &olen, &type),
				 TT_DECODE);
		assert_int_equal(olen, 0);
		free(c);
		tamper_checks++;
	}
	/* the header's length no longer matches, either way */
	for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
		uint8_t *c = dup_exact(rec, cut);
		assert_int_equal(fn(k, c, cut, false, out, &olen, &type),
				 TT_DECODE);
		free(c);
	}
	{
		uint8_t *c = malloc(len + 1);
		assert_non_null(c);
		memcpy(c, rec, len);
		c[len] = 0;
		assert_int_equal(fn(k, c, len + 1, false, out, &olen, &type),
				 TT_DECODE);
		free(c);
	}
	assert_true(k->seq == seq);
}

/* Opens every record of one direction after its plaintext prefix.  keys[0]
 * is in force first; the direction moves to keys[1] after a record that
 * completes a Finished (TLS 1.3), or never (keys[1] NULL).  The first
 * encrypted record is also tampered with. */
static void open_direction(const struct tlsgen_result *r, int from_server,
			   open_fn fn, struct tt_rkeys *k0, struct tt_rkeys *k1,
			   struct plain *got)
{
	const struct tlsgen_stream *s = tlsgen_stream_of(r, from_server);
	struct tt_rkeys *k = k0;
	static uint8_t out[TT_TLS12_CIPHERTEXT_MAX];
	size_t off = 0, walked = 0, n = 0;
	bool encrypted = false, tampered = false;
	struct tlsgen_record rec;
	int rc;

	memset(got, 0, sizeof(*got));
	while ((rc = tlsgen_next_record(s, &off, &rec)) == 1) {
		size_t len = TT_RECORD_HDR + rec.len, olen = 0;
		uint8_t type = 0, *c;

		/* TLS 1.3: the first application_data record is the first
		 * encrypted one; TLS 1.2: whatever follows the CCS. */
		if (!encrypted) {
			if (k1 ? rec.type != CT_APPDATA : rec.type != CT_CCS)
				continue;
			encrypted = true;
			if (rec.type == CT_CCS)
				continue;
		}
		if (k1 && rec.type == CT_CCS)
			continue; /* TLS 1.3 compatibility CCS */
		if (!tampered) {
			tamper(fn, k, s->data + rec.off, len);
			tampered = true;
		}
		c = dup_exact(s->data + rec.off, len);
		bool in_place = n++ % 2 == 1;
		assert_int_equal(fn(k, c, len, in_place, out, &olen, &type),
				 TT_OK);
		records_opened++;
		const uint8_t *pt =
			in_place ? c + (len - rec.len) +
					   (k1 ? 0 : k->suite->explicit_nonce)
				 : out;
		switch (type) {
		case CT_HANDSHAKE:
			plain_add(&got->hs, &got->hs_len, pt, olen);
			break;
		case CT_ALERT:
			plain_add(&got->alert, &got->alert_len, pt, olen);
			break;
		case CT_APPDATA:
			got->app_len += olen;
			break;
		default:
			fail_msg("inner content type %u", type);
		}
		free(c);
		/* a Finished completed under k0: k1 from the next record */
		while (k1 && k == k0 && walked + 4 <= got->hs_len) {
			const uint8_t *m = got->hs + walked;
			size_t ml = (size_t)m[1] << 16 | (size_t)m[2] << 8 |
				    m[3];
			if (walked + 4 + ml > got->hs_len)
				break;
			walked += 4 + ml;
			if (m[0] == HS_FINISHED)
				k = k1;
		}
	}
	assert_int_equal(rc, 0);
	assert_true(encrypted);
	if (k1)
		assert_ptr_equal(k, k1);
}

static void assert_plain_equal(const struct plain *got,
			       const struct plain *want)
{
	assert_int_equal(got->hs_len, want->hs_len);
	if (want->hs_len)
		assert_memory_equal(got->hs, want->hs, want->hs_len);
	assert_int_equal(got->alert_len, want->alert_len);
	if (want->alert_len)
		assert_memory_equal(got->alert, want->alert, want->alert_len);
	assert_int_equal(got->app_len, APP_BYTES);
}

static void run_tls13(const char *suite_name, uint16_t code, int mtls)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS13,
		.ciphersuites = suite_name,
		.app_bytes = APP_BYTES,
		.close_notify = 1,
		.mtls = mtls,
		.client_sends_cert = mtls,
		.ca_names = mtls ? TLSGEN_CA_LIST : TLSGEN_CA_NONE,
	};
	const struct tt_suite *s = tt_suite_find(code);
	struct tlsgen_result r;
	struct secrets sec;

	assert_non_null(s);
	if (tlsgen_run(&o, &r) != 0)
		fail_msg("tlsgen %s: %s", suite_name, r.error);
	assert_int_equal(r.version, TLSGEN_TLS13);
	assert_string_equal(r.cipher, suite_name);
	read_keylog(&r, &sec);
	assert_int_equal(sec.len, tt_hash_len(s->hash));
	assert_true(sec.have & (1u << TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET));
	assert_true(sec.have & (1u << TT_KL_SERVER_TRAFFIC_SECRET_0));
	{
		size_t ch = find_msg(&r, 0, HS_CLIENT_HELLO);
		assert_memory_equal(mdata(&r, ch) + 6, sec.client_random, 32);
	}

	for (int side = 0; side < 2; side++) {
		struct tt_rkeys hk, ak;
		struct plain got, want;
		const uint8_t *hs = side ? sec.shs : sec.chs;
		const uint8_t *ap = side ? sec.sap : sec.cap;
		/* Everything after the ClientHello / ServerHello. */
		size_t hello = find_msg(
			&r, side, side ? HS_SERVER_HELLO : HS_CLIENT_HELLO);

		assert_int_equal(tt_tls13_traffic_keys(&cr, s, hs, &hk), TT_OK);
		assert_int_equal(tt_tls13_traffic_keys(&cr, s, ap, &ak), TT_OK);
		open_direction(&r, side, open13, &hk, &ak, &got);
		expected(&r, side, hello + 1, &want);
		assert_plain_equal(&got, &want);
		assert_true(hk.seq >= 1 && ak.seq >= 2);
		plain_free(&got);
		plain_free(&want);

		/* Finished = HMAC(finished_key, Transcript-Hash(...)) */
		size_t fin = find_msg(&r, side, HS_FINISHED);
		size_t hl = tt_hash_len(s->hash);
		uint8_t fk[48], th[48], vd[48];
		transcript(&r, s->hash, fin, th);
		assert_int_equal(tt_hkdf_expand_label(&cr, s->hash, hs,
						      "finished", NULL, 0, fk,
						      hl),
				 TT_OK);
		assert_int_equal(cr.hmac(cr.ctx, s->hash, fk, hl, th, hl, vd),
				 0);
		assert_int_equal(r.msgs[fin].len, 4 + hl);
		assert_memory_equal(mdata(&r, fin) + 4, vd, hl);
		tt_rkeys_wipe(&hk);
		tt_rkeys_wipe(&ak);
	}
	tlsgen_free(&r);
}

static void test_tls13_aes128gcm(void **state)
{
	(void)state;
	run_tls13("TLS_AES_128_GCM_SHA256", 0x1301, 0);
	run_tls13("TLS_AES_128_GCM_SHA256", 0x1301, 1); /* client flight */
}

static void test_tls13_aes256gcm(void **state)
{
	(void)state;
	run_tls13("TLS_AES_256_GCM_SHA384", 0x1302, 0);
}

static void test_tls13_chacha20(void **state)
{
	(void)state;
	run_tls13("TLS_CHACHA20_POLY1305_SHA256", 0x1303, 0);
}

static void test_tls13_aes128ccm(void **state)
{
	(void)state;
	run_tls13("TLS_AES_128_CCM_SHA256", 0x1304, 1);
}

static void run_tls12(const char *cipher, const char *iana, uint16_t code)
{
	struct tlsgen_opts o = {
		.version = TLSGEN_TLS12,
		.cipher = cipher,
		.app_bytes = APP_BYTES,
		.close_notify = 1,
	};
	const struct tt_suite *s = tt_suite_find(code);
	struct tlsgen_result r;
	struct secrets sec;
	struct tt_rkeys k[2];
	size_t ch, sh;

	assert_non_null(s);
	if (tlsgen_run(&o, &r) != 0)
		fail_msg("tlsgen %s: %s", cipher, r.error);
	assert_int_equal(r.version, TLSGEN_TLS12);
	assert_string_equal(r.cipher, iana);
	read_keylog(&r, &sec);
	assert_true(sec.have & (1u << TT_KL_CLIENT_RANDOM));
	ch = find_msg(&r, 0, HS_CLIENT_HELLO);
	sh = find_msg(&r, 1, HS_SERVER_HELLO);
	assert_memory_equal(mdata(&r, ch) + 6, sec.client_random, 32);
	assert_int_equal(tt_tls12_keys(&cr, s, 0x0303, sec.master,
				       mdata(&r, ch) + 6, mdata(&r, sh) + 6,
				       &k[0], &k[1]),
			 TT_OK);

	for (int side = 0; side < 2; side++) {
		struct plain got, want;
		size_t ccs = SIZE_MAX;

		for (size_t i = 0; i < r.nmsgs && ccs == SIZE_MAX; i++)
			if (r.msgs[i].from_server == side &&
			    r.msgs[i].content_type == CT_CCS)
				ccs = i;
		assert_true(ccs != SIZE_MAX);
		open_direction(&r, side, open12, &k[side], NULL, &got);
		expected(&r, side, ccs + 1, &want);
		assert_plain_equal(&got, &want);
		plain_free(&got);
		plain_free(&want);

		/* verify_data = PRF(master, finished_label,
		 *                   Hash(handshake_messages))[0..11] */
		size_t fin = find_msg(&r, side, HS_FINISHED);
		uint8_t th[48], vd[12];
		transcript(&r, s->hash, fin, th);
		assert_int_equal(tt_tls12_prf(&cr, s->hash, sec.master, 48,
					      side ? "server finished"
						   : "client finished",
					      th, tt_hash_len(s->hash), vd, 12),
				 TT_OK);
		assert_int_equal(r.msgs[fin].len, 4 + 12);
		assert_memory_equal(mdata(&r, fin) + 4, vd, 12);
	}
	tt_rkeys_wipe(&k[0]);
	tt_rkeys_wipe(&k[1]);
	tlsgen_free(&r);
}

static void test_tls12_aes128gcm(void **state)
{
	(void)state;
	run_tls12("ECDHE-ECDSA-AES128-GCM-SHA256",
		  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b);
}

static void test_tls12_aes256gcm(void **state)
{
	(void)state;
	run_tls12("ECDHE-ECDSA-AES256-GCM-SHA384",
		  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c);
}

static void test_tls12_chacha20(void **state)
{
	(void)state;
	run_tls12("ECDHE-ECDSA-CHACHA20-POLY1305",
		  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9);
}

static void test_tls12_aes128ccm(void **state)
{
	(void)state;
	run_tls12("ECDHE-ECDSA-AES128-CCM", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
		  0xc0ac);
}

/* ------------------------------------------------------------------ */
/* Records built here: edge cases real peers do not send               */

/* Seals a TLS 1.3 record of inner plaintext `inner` with k (advancing
 * nothing): header + ciphertext + tag into rec. */
static size_t seal13(const struct tt_rkeys *k, const uint8_t *inner, size_t n,
		     uint8_t *rec)
{
	uint8_t nonce[12];
	size_t blen = n + TT_AEAD_TAG_LEN;
	rec[0] = CT_APPDATA;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = (uint8_t)(blen >> 8);
	rec[4] = (uint8_t)blen;
	tt_record_nonce(k->iv, k->seq, nonce);
	assert_int_equal(cr.aead_seal(cr.ctx, k->suite->aead, k->key, nonce,
				      rec, 5, inner, n, rec + 5, rec + 5 + n),
			 0);
	return 5 + blen;
}

static void test_tls13_open_edges(void **state)
{
	static uint8_t rec[5 + TT_TLS13_CIPHERTEXT_MAX + 64];
	static uint8_t inner[TT_TLS13_CIPHERTEXT_MAX + 64];
	static uint8_t out[TT_TLS13_CIPHERTEXT_MAX];
	uint8_t secret[32] = {7}, type;
	struct tt_rkeys k;
	size_t len, olen;
	(void)state;

	assert_int_equal(
		tt_tls13_traffic_keys(&cr, tt_suite_find(0x1303), secret, &k),
		TT_OK);

	/* content, type, then padding zeros: all stripped */
	memcpy(inner, "hello\0\0", 7);
	inner[7] = CT_APPDATA;
	memset(inner + 8, 0, 100);
	len = seal13(&k, inner, 108, rec);
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_OK);
	assert_int_equal(type, CT_APPDATA);
	assert_int_equal(olen, 7); /* zeros inside the content stay */
	assert_memory_equal(out, "hello\0\0", 7);
	assert_true(k.seq == 1);

	/* a type byte alone: empty content */
	inner[0] = CT_HANDSHAKE;
	len = seal13(&k, inner, 1, rec);
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, 0, &olen, &type),
			 TT_TOO_BIG); /* out_cap must hold the type byte */
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, 1, &olen, &type),
			 TT_OK);
	assert_int_equal(olen, 0);
	assert_int_equal(type, CT_HANDSHAKE);
	assert_true(k.seq == 2);

	/* all padding: no content type */
	memset(inner, 0, 50);
	len = seal13(&k, inner, 50, rec);
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_DECODE);
	assert_true(k.seq == 2);

	/* the largest record allowed, and one byte more */
	memset(inner, 0x41, sizeof(inner));
	len = seal13(&k, inner, TT_TLS13_CIPHERTEXT_MAX - TT_AEAD_TAG_LEN, rec);
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_OK);
	assert_int_equal(olen, TT_TLS13_CIPHERTEXT_MAX - TT_AEAD_TAG_LEN - 1);
	len = seal13(&k, inner, TT_TLS13_CIPHERTEXT_MAX - TT_AEAD_TAG_LEN + 1,
		     rec);
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_TOO_BIG);

	/* not application_data on the outside; too short for a tag */
	inner[0] = CT_ALERT;
	len = seal13(&k, inner, 1, rec);
	rec[0] = CT_HANDSHAKE;
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_DECODE);
	{
		uint8_t tiny[5 + 16] = {CT_APPDATA, 3, 3, 0, 16};
		assert_int_equal(tt_tls13_open(&cr, &k, tiny, sizeof(tiny), out,
					       sizeof(out), &olen, &type),
				 TT_DECODE);
		/* the header at every cut */
		for (size_t cut = 0; cut < 5; cut++)
			assert_int_equal(tt_tls13_open(&cr, &k, tiny, cut, out,
						       sizeof(out), &olen,
						       &type),
					 TT_DECODE);
	}
	/* a wrong sequence number fails */
	inner[0] = CT_ALERT;
	len = seal13(&k, inner, 1, rec);
	k.seq++;
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_DECODE);
	k.seq--;
	assert_int_equal(tt_tls13_open(&cr, &k, rec, len, out, sizeof(out),
				       &olen, &type),
			 TT_OK);
	/* keys of the other version */
	{
		struct tt_rkeys c12, s12;
		uint8_t z[48] = {0};
		assert_int_equal(tt_tls12_keys(&cr, tt_suite_find(0xc02b),
					       0x0303, z, z, z, &c12, &s12),
				 TT_OK);
		assert_int_equal(tt_tls13_open(&cr, &c12, rec, len, out,
					       sizeof(out), &olen, &type),
				 TT_UNSUPPORTED);
		assert_int_equal(tt_tls12_open(&cr, &k, rec, len, out,
					       sizeof(out), &olen),
				 TT_UNSUPPORTED);
		/* a TLS 1.2 GCM record too short for nonce and tag */
		uint8_t short12[5 + 23] = {CT_APPDATA, 3, 3, 0, 23};
		assert_int_equal(tt_tls12_open(&cr, &c12, short12,
					       sizeof(short12), out,
					       sizeof(out), &olen),
				 TT_DECODE);
		assert_int_equal(tt_tls12_open(&cr, &c12, short12,
					       sizeof(short12), out, 0, &olen),
				 TT_DECODE);
	}
	tt_rkeys_wipe(&k);
}

/* ------------------------------------------------------------------ */
/* Records made here: the suites OpenSSL will not negotiate            */

/* The protocols this OpenSSL no longer speaks (SSL 3.0) or ciphers it
 * will not negotiate (RC4, 3DES and DES need a libssl built with weak
 * ciphers; static ECDH was removed) are checked against records made
 * here, from the RFCs, with OpenSSL's primitives called directly: the
 * key block (TLS1-PRF, or SSL 3.0's MD5/SHA-1 construction written out
 * below), the MAC (HMAC(), or SSL 3.0's pad_1/pad_2 MAC over EVP
 * digests), CBC, RC4 and the AEADs through EVP.  Nothing of keysched.c
 * takes part in making them. */

static OSSL_LIB_CTX *ref_libctx;

/* A cipher, fetched with the legacy provider when it is there. */
static const EVP_CIPHER *ref_cipher(const char *name)
{
	if (!ref_libctx) {
		ref_libctx = OSSL_LIB_CTX_new();
		assert_non_null(ref_libctx);
		assert_non_null(OSSL_PROVIDER_load(ref_libctx, "default"));
		(void)OSSL_PROVIDER_load(ref_libctx, "legacy");
	}
	EVP_CIPHER *c = EVP_CIPHER_fetch(ref_libctx, name, NULL);
	ERR_clear_error();
	return c; /* kept: a handful per run */
}

static const EVP_MD *ref_md(enum tt_hash h)
{
	switch (h) {
	case TT_HASH_MD5:
		return EVP_md5();
	case TT_HASH_SHA1:
		return EVP_sha1();
	case TT_HASH_SHA384:
		return EVP_sha384();
	default:
		return EVP_sha256();
	}
}

/* TLS1-PRF of OpenSSL: digest "MD5-SHA1" is TLS 1.0's. */
static void ref_prf(const char *digest, const uint8_t *secret, size_t slen,
		    const char *label, const uint8_t *seed, size_t seed_len,
		    uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						  (void *)secret, slen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
						  (void *)label, strlen(label)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
						  (void *)seed, seed_len),
		OSSL_PARAM_construct_end(),
	};
	assert_non_null(k);
	assert_int_equal(EVP_KDF_derive(k, out, len, p), 1);
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
}

/* RFC 6101 6.2.2, written out. */
static void ref_ssl3_key_block(const uint8_t *master, const uint8_t *cr_,
			       const uint8_t *sr, uint8_t *out, size_t len)
{
	for (size_t i = 0; i * 16 < len; i++) {
		uint8_t buf[26 + 48 + 64], sha[20], md5[16];
		unsigned n = 0;
		memset(buf, 'A' + (int)i, i + 1);
		memcpy(buf + i + 1, master, 48);
		memcpy(buf + i + 1 + 48, sr, 32);
		memcpy(buf + i + 1 + 80, cr_, 32);
		assert_int_equal(
			EVP_Digest(buf, i + 1 + 112, sha, &n, EVP_sha1(), NULL),
			1);
		memcpy(buf, master, 48);
		memcpy(buf + 48, sha, 20);
		assert_int_equal(EVP_Digest(buf, 68, md5, &n, EVP_md5(), NULL),
				 1);
		memcpy(out + i * 16, md5,
		       len - i * 16 < 16 ? len - i * 16 : 16);
	}
}

/* One direction's sender: its keys and what moves on. */
struct ref {
	const struct tt_suite *s;
	uint16_t version;
	bool etm;
	uint8_t mac_key[48], key[32], iv[16];
	uint64_t seq;
	EVP_CIPHER_CTX *rc4;
	const EVP_CIPHER *cbc;
};

static const char *ref_cipher_name(enum tt_cipher c)
{
	static const char *const names[] = {
		"AES-128-CBC",	    "AES-256-CBC",  "CAMELLIA-128-CBC",
		"CAMELLIA-256-CBC", "ARIA-128-CBC", "ARIA-256-CBC",
		"SEED-CBC",	    "IDEA-CBC",	    "DES-CBC",
		"DES-EDE3-CBC",	    "RC4"};
	return names[c];
}

/* Both senders from a master secret, as RFC 5246 6.3 cuts the block. */
static void ref_keys(const struct tt_suite *s, uint16_t version, bool etm,
		     const uint8_t *master, const uint8_t *crand,
		     const uint8_t *srand, struct ref *client,
		     struct ref *server)
{
	bool aead = s->mode != TT_MODE_CBC && s->mode != TT_MODE_STREAM &&
		    s->mode != TT_MODE_NULL;
	size_t ml = aead ? 0 : tt_hash_len(s->mac_hash);
	size_t kl = s->key_len, il = s->iv_len, len = 2 * (ml + kl + il);
	uint8_t kb[200], seed[64];
	memcpy(seed, srand, 32);
	memcpy(seed + 32, crand, 32);
	if (version == 0x0300)
		ref_ssl3_key_block(master, crand, srand, kb, len);
	else
		ref_prf(version < 0x0303	    ? "MD5-SHA1"
			: s->hash == TT_HASH_SHA384 ? "SHA384"
						    : "SHA256",
			master, 48, "key expansion", seed, 64, kb, len);
	struct ref *r[2] = {client, server};
	for (int i = 0; i < 2; i++) {
		memset(r[i], 0, sizeof(*r[i]));
		r[i]->s = s;
		r[i]->version = version;
		r[i]->etm = etm;
		memcpy(r[i]->mac_key, kb + i * ml, ml);
		memcpy(r[i]->key, kb + 2 * ml + i * kl, kl);
		memcpy(r[i]->iv, kb + 2 * ml + 2 * kl + i * il, il);
		if (s->mode == TT_MODE_CBC || s->mode == TT_MODE_STREAM)
			r[i]->cbc = ref_cipher(ref_cipher_name(s->cipher));
		if (s->mode == TT_MODE_STREAM && r[i]->cbc) {
			r[i]->rc4 = EVP_CIPHER_CTX_new();
			assert_int_equal(EVP_EncryptInit_ex(r[i]->rc4,
							    r[i]->cbc, NULL,
							    r[i]->key, NULL),
					 1);
		}
	}
}

static void ref_free(struct ref *r)
{
	EVP_CIPHER_CTX_free(r->rc4);
	EVP_CIPHER_free((EVP_CIPHER *)r->cbc);
	r->rc4 = NULL;
	r->cbc = NULL;
}

/* The MAC of RFC 5246 6.2.3.1 (HMAC) or RFC 6101 5.2.3.1 (SSL 3.0) over
 * seq_num + type + [version] + length + data. */
static size_t ref_mac(const struct ref *r, uint8_t type, size_t len_field,
		      const uint8_t *data, size_t len, uint8_t *out)
{
	static uint8_t buf[20000];
	size_t n = 0, hl = tt_hash_len(r->s->mac_hash);
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(r->seq >> (8 * i));
	buf[n++] = type;
	if (r->version != 0x0300) {
		buf[n++] = (uint8_t)(r->version >> 8);
		buf[n++] = (uint8_t)r->version;
	}
	buf[n++] = (uint8_t)(len_field >> 8);
	buf[n++] = (uint8_t)len_field;
	memcpy(buf + n, data, len);
	n += len;
	if (r->version != 0x0300) {
		unsigned ol = 0;
		assert_non_null(HMAC(ref_md(r->s->mac_hash), r->mac_key,
				     (int)hl, buf, n, out, &ol));
		return ol;
	}
	/* hash(secret + pad_2 + hash(secret + pad_1 + ...)) */
	size_t pl = r->s->mac_hash == TT_HASH_MD5 ? 48 : 40;
	static uint8_t in[20100];
	uint8_t inner[20];
	unsigned ol = 0;
	memcpy(in, r->mac_key, hl);
	memset(in + hl, 0x36, pl);
	memcpy(in + hl + pl, buf, n);
	assert_int_equal(EVP_Digest(in, hl + pl + n, inner, &ol,
				    ref_md(r->s->mac_hash), NULL),
			 1);
	memcpy(in, r->mac_key, hl);
	memset(in + hl, 0x5c, pl);
	memcpy(in + hl + pl, inner, hl);
	assert_int_equal(EVP_Digest(in, 2 * hl + pl, out, &ol,
				    ref_md(r->s->mac_hash), NULL),
			 1);
	return ol;
}

static void ref_cbc(const struct ref *r, const uint8_t *iv, uint8_t *p,
		    size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;
	assert_int_equal(EVP_EncryptInit_ex(c, r->cbc, NULL, r->key, iv), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, p, &outl, p, (int)n), 1);
	assert_int_equal((size_t)outl, n);
	EVP_CIPHER_CTX_free(c);
}

/* Seals one record of type into rec (header included); pad is the
 * padding length of a CBC record (its bytes equal to it, or padbyte when
 * that is not -1).  Returns the record's length. */
static size_t ref_seal(struct ref *r, uint8_t type, const uint8_t *content,
		       size_t len, size_t pad, int padbyte, uint8_t *rec)
{
	const struct tt_suite *s = r->s;
	uint8_t *body = rec + 5, mac[48];
	size_t n = 0, ml = tt_hash_len(s->mac_hash);
	rec[0] = type;
	rec[1] = (uint8_t)(r->version >> 8);
	rec[2] = (uint8_t)r->version;
	if (s->mode == TT_MODE_CBC) {
		size_t bs = tt_cipher_block(s->cipher);
		bool explicit_iv = r->version >= 0x0302;
		uint8_t iv[16];
		if (explicit_iv) {
			for (size_t i = 0; i < bs; i++)
				iv[i] = (uint8_t)(r->seq * 7 + i);
			memcpy(body, iv, bs);
			n = bs;
		} else {
			memcpy(iv, r->iv, bs);
		}
		uint8_t *ct = body + n;
		size_t m = 0;
		memcpy(ct, content, len);
		m = len;
		if (!r->etm) {
			ref_mac(r, type, len, content, len, ct + m);
			m += ml;
		}
		for (size_t i = 0; i <= pad; i++)
			ct[m++] = i < pad && padbyte >= 0 ? (uint8_t)padbyte
							  : (uint8_t)pad;
		assert_int_equal(m % bs, 0);
		ref_cbc(r, iv, ct, m);
		if (!explicit_iv)
			memcpy(r->iv, ct + m - bs, bs);
		n += m;
		if (r->etm) {
			ref_mac(r, type, n, body, n, body + n);
			n += ml;
		}
	} else if (s->mode == TT_MODE_STREAM || s->mode == TT_MODE_NULL) {
		memcpy(body, content, len);
		ref_mac(r, type, len, content, len, body + len);
		n = len + ml;
		if (r->rc4) {
			int outl = 0;
			assert_int_equal(EVP_EncryptUpdate(r->rc4, body, &outl,
							   body, (int)n),
					 1);
		}
	} else {
		/* GCM or CCM: salt + explicit nonce; AAD as RFC 5246 6.2.3.3 */
		uint8_t nonce[12], aad[13];
		size_t tl = tt_aead_tag_len(s->aead);
		memcpy(nonce, r->iv, 4);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] = (uint8_t)(r->seq >> (8 * (7 - i)));
		memcpy(body, nonce + 4, 8);
		for (int i = 7; i >= 0; i--)
			aad[7 - i] = (uint8_t)(r->seq >> (8 * i));
		aad[8] = type;
		aad[9] = rec[1];
		aad[10] = rec[2];
		aad[11] = (uint8_t)(len >> 8);
		aad[12] = (uint8_t)len;
		assert_int_equal(cr.aead_seal(cr.ctx, s->aead, r->key, nonce,
					      aad, 13, content, len, body + 8,
					      body + 8 + len),
				 0);
		n = 8 + len + tl;
	}
	(void)mac;
	rec[3] = (uint8_t)(n >> 8);
	rec[4] = (uint8_t)n;
	r->seq++;
	return n + 5;
}

/* The padding length that makes len + MAC + padding + 1 a whole number
 * of blocks, plus extra blocks (up to 255 bytes of padding; none in SSL
 * 3.0, whose padding is shorter than a block). */
static size_t ref_pad(const struct ref *r, size_t len, size_t extra_blocks)
{
	size_t bs = tt_cipher_block(r->s->cipher);
	size_t ml = r->etm ? 0 : tt_hash_len(r->s->mac_hash);
	size_t pad = (bs - (len + ml + 1) % bs) % bs;
	if (r->version == 0x0300)
		extra_blocks = 0;
	while (extra_blocks-- && pad + bs <= 255)
		pad += bs;
	return pad;
}

/* Opens rec (len bytes) with k: from an exact-size copy, or in place;
 * a handful of tampered copies first, none of which opens or moves k. */
static void ref_open(struct tt_rkeys *k, const uint8_t *rec, size_t len,
		     const uint8_t *want, size_t want_len, bool in_place)
{
	static uint8_t out[TT_TLS12_CIPHERTEXT_MAX];
	size_t en = tt_tls12_explicit(k), olen = 0;
	const size_t at[] = {5, 5 + en, len / 2, len - 2, len - 1};
	uint64_t seq = k->seq;
	uint8_t iv[16];
	memcpy(iv, k->iv, sizeof(iv));
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (at[i] >= len)
			continue;
		uint8_t *c = dup_exact(rec, len);
		c[at[i]] ^= 0x80;
		assert_int_equal(
			tt_tls12_open(&cr, k, c, len, out, sizeof(out), &olen),
			TT_DECODE);
		assert_true(k->seq == seq);
		assert_memory_equal(k->iv, iv, sizeof(iv));
		free(c);
		tamper_checks++;
	}
	uint8_t *c = dup_exact(rec, len);
	uint8_t *o = in_place ? c + 5 + en : out;
	assert_int_equal(tt_tls12_open(&cr, k, c, len, o,
				       in_place ? len - 5 - en : sizeof(out),
				       &olen),
			 TT_OK);
	assert_int_equal(olen, want_len);
	assert_memory_equal(o, want, want_len);
	assert_true(k->seq == seq + 1);
	records_opened++;
	free(c);
}

/* A run of records client to server under suite code and version: a
 * handshake message, application data passed over (with its body, and
 * for CBC before TLS 1.1 once without: the record after it cannot be
 * opened and is passed over too), an alert, a record with the most
 * padding; each opened (and tampered with) as it comes. */
static void ref_run(uint16_t code, uint16_t version, bool etm)
{
	const struct tt_suite *s = tt_suite_find(code);
	uint8_t master[48], crand[32], srand[32];
	static uint8_t rec[20000], content[16384];
	struct ref rc, rs;
	struct tt_rkeys kc, ks;
	assert_non_null(s);
	for (size_t i = 0; i < 48; i++)
		master[i] = (uint8_t)(i * 3 + code);
	for (size_t i = 0; i < 32; i++) {
		crand[i] = (uint8_t)(i + 1);
		srand[i] = (uint8_t)(0xff - i);
	}
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 31 + 7);
	ref_keys(s, version, etm, master, crand, srand, &rc, &rs);
	if (!rc.cbc && (s->mode == TT_MODE_CBC || s->mode == TT_MODE_STREAM)) {
		/* this libcrypto lacks the cipher: so does the table */
		assert_int_equal(cr.has(cr.ctx, TT_ALG_CIPHER, (int)s->cipher),
				 -1);
		print_message("0x%04x: %s missing here, not tried\n", code,
			      ref_cipher_name(s->cipher));
		ref_free(&rc);
		ref_free(&rs);
		return;
	}
	assert_int_equal(
		tt_tls12_keys(&cr, s, version, master, crand, srand, &kc, &ks),
		TT_OK);
	kc.etm = etm;
	assert_memory_equal(kc.mac_key, rc.mac_key, sizeof(rc.mac_key));
	assert_memory_equal(ks.key, rs.key, s->key_len);
	bool cbc = s->mode == TT_MODE_CBC;
	bool chained = cbc && version <= 0x0301;
	size_t pad = 0, n;

	/* a handshake message */
	if (cbc)
		pad = ref_pad(&rc, 40, 0);
	n = ref_seal(&rc, CT_HANDSHAKE, content, 40, pad, -1, rec);
	ref_open(&kc, rec, n, content, 40, false);
	/* application data, passed over with its body */
	if (cbc)
		pad = ref_pad(&rc, 1000, 1);
	n = ref_seal(&rc, CT_APPDATA, content, 1000, pad, -1, rec);
	assert_int_equal(tt_tls12_skip(&cr, &kc, rec, rec + 5), TT_OK);
	/* an alert */
	if (cbc)
		pad = ref_pad(&rc, 2, 2);
	n = ref_seal(&rc, CT_ALERT, content, 2, pad, -1, rec);
	ref_open(&kc, rec, n, content, 2, true);
	if (chained) {
		/* a record whose body went by: the next one's IV is lost,
		 * so it is passed over, and the one after opens */
		n = ref_seal(&rc, CT_APPDATA, content, 100,
			     ref_pad(&rc, 100, 0), -1, rec);
		assert_int_equal(tt_tls12_skip(&cr, &kc, rec, NULL), TT_OK);
		assert_true(kc.iv_lost);
		n = ref_seal(&rc, CT_HANDSHAKE, content, 50,
			     ref_pad(&rc, 50, 0), -1, rec);
		size_t olen;
		static uint8_t out[TT_TLS12_CIPHERTEXT_MAX];
		assert_int_equal(tt_tls12_open(&cr, &kc, rec, n, out,
					       sizeof(out), &olen),
				 TT_DECODE);
		assert_int_equal(tt_tls12_skip(&cr, &kc, rec, rec + 5), TT_OK);
		assert_false(kc.iv_lost);
	}
	/* RC4 without the body: the keystream moves on all the same */
	if (s->mode == TT_MODE_STREAM) {
		n = ref_seal(&rc, CT_APPDATA, content, 3000, 0, -1, rec);
		assert_int_equal(tt_tls12_skip(&cr, &kc, rec, NULL), TT_OK);
	}
	/* the most padding, and the most content */
	if (cbc)
		pad = ref_pad(&rc, 300, 255);
	n = ref_seal(&rc, CT_HANDSHAKE, content, 300, pad, -1, rec);
	ref_open(&kc, rec, n, content, 300, false);
	if (cbc)
		pad = ref_pad(&rc, 16384, 0);
	n = ref_seal(&rc, CT_HANDSHAKE, content, 16384, pad, -1, rec);
	ref_open(&kc, rec, n, content, 16384, true);
	if (cbc) {
		/* a padding byte that is not its length: TLS refuses it;
		 * SSL 3.0 leaves the padding's bytes free, and a padding
		 * of a block or more is refused there */
		size_t bs = tt_cipher_block(s->cipher), olen;
		static uint8_t out[TT_TLS12_CIPHERTEXT_MAX];
		pad = ref_pad(&rc, 60, 0);
		if (pad == 0)
			pad = ref_pad(&rc, 60, 1);
		n = ref_seal(&rc, CT_HANDSHAKE, content, 60, pad ? pad : bs,
			     0xa5, rec);
		if (version == 0x0300 && pad) {
			ref_open(&kc, rec, n, content, 60, false);
			/* a block of padding or more */
			pad = ref_pad(&rc, 60, 0) + bs;
			n = ref_seal(&rc, CT_HANDSHAKE, content, 60, pad, -1,
				     rec);
		}
		assert_int_equal(tt_tls12_open(&cr, &kc, rec, n, out,
					       sizeof(out), &olen),
				 TT_DECODE);
	}
	tt_rkeys_release(&cr, &kc);
	tt_rkeys_release(&cr, &ks);
	ref_free(&rc);
	ref_free(&rs);
}

static void test_known_cbc(void **state)
{
	(void)state;
	static const uint16_t versions[] = {0x0300, 0x0301, 0x0302, 0x0303};
	/* 3DES, AES, DES, SEED, Camellia, ARIA, IDEA with SHA-1 or MD5
	 * MACs in every version; SHA-256 and SHA-384 in TLS 1.2 */
	static const uint16_t sha1[] = {0x000a, 0x002f, 0x0035, 0x0009,
					0x0096, 0x0041, 0x0007, 0x0084};
	for (size_t v = 0; v < 4; v++)
		for (size_t i = 0; i < sizeof(sha1) / sizeof(sha1[0]); i++)
			for (int etm = 0; etm < (v ? 2 : 1); etm++)
				ref_run(sha1[i], versions[v], etm);
	static const uint16_t sha2[] = {0x003c, 0x003d, 0xc024,
					0xc03c, 0xc03d, 0x00ba};
	for (size_t i = 0; i < sizeof(sha2) / sizeof(sha2[0]); i++)
		for (int etm = 0; etm < 2; etm++)
			ref_run(sha2[i], 0x0303, etm);
}

static void test_known_stream_null(void **state)
{
	(void)state;
	static const uint16_t versions[] = {0x0300, 0x0301, 0x0302, 0x0303};
	/* RC4-MD5, RC4-SHA, NULL-MD5, NULL-SHA; NULL-SHA256 in TLS 1.2 */
	static const uint16_t suites[] = {0x0004, 0x0005, 0x0001, 0x0002};
	for (size_t v = 0; v < 4; v++)
		for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
			ref_run(suites[i], versions[v], false);
	ref_run(0x003b, 0x0303, false);
	ref_run(0xc03b, 0x0303, false); /* ECDHE_PSK_WITH_NULL_SHA384 */
}

/* The GCM suites of static ECDH (no longer in OpenSSL) and the others of
 * the table rule, TLS 1.2: their entries are those of the ECDHE twins
 * (same AEAD, PRF hash, salt and nonce), and records open. */
static void test_known_aead(void **state)
{
	(void)state;
	static const uint16_t ecdh[][2] = {{0xc02d, 0xc02b},
					   {0xc02e, 0xc02c},
					   {0xc031, 0xc02f},
					   {0xc032, 0xc030}};
	for (size_t i = 0; i < 4; i++) {
		const struct tt_suite *a = tt_suite_find(ecdh[i][0]);
		const struct tt_suite *b = tt_suite_find(ecdh[i][1]);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->aead, b->aead);
		assert_int_equal(a->hash, b->hash);
		assert_int_equal(a->key_len, b->key_len);
		assert_int_equal(a->iv_len, 4);
		assert_int_equal(a->explicit_nonce, 8);
		ref_run(ecdh[i][0], 0x0303, false);
	}
	/* DHE_DSS GCM, CCM and CCM_8 of both key sizes, ARIA-GCM */
	static const uint16_t more[] = {0x00a2, 0x00a3, 0xc09c, 0xc09d,
					0xc0a0, 0xc0a1, 0xc0ae, 0xc0af,
					0xc050, 0xc051, 0xc05c, 0xc05d};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		ref_run(more[i], 0x0303, false);
}

/* The TLS 1.0 PRF against OpenSSL's (TLS1-PRF with MD5-SHA1), odd
 * secret lengths included; the SSL 3.0 key block against the one
 * written out above. */
static void test_prf10_ssl3_oracle(void **state)
{
	(void)state;
	uint8_t secret[49], seed[64], want[200], got[200];
	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i ^ 0x3c);
	static const size_t slens[] = {48, 47, 1, 49};
	static const size_t lens[] = {1, 12, 36, 104, 192};
	for (size_t si = 0; si < 4; si++)
		for (size_t li = 0; li < 5; li++) {
			ref_prf("MD5-SHA1", secret, slens[si], "key expansion",
				seed, 64, want, lens[li]);
			memset(got, 0xee, sizeof(got));
			assert_int_equal(tt_tls10_prf(&cr, secret, slens[si],
						      "key expansion", seed, 64,
						      got, lens[li]),
					 TT_OK);
			assert_memory_equal(got, want, lens[li]);
			assert_int_equal(got[lens[li]], 0xee);
		}
	assert_int_equal(tt_tls10_prf(&cr, secret, 48, "x", seed, 64, got,
				      sizeof(got) + 1),
			 TT_TOO_BIG);
	for (size_t li = 0; li < 5; li++) {
		ref_ssl3_key_block(secret, seed, seed + 32, want, lens[li]);
		memset(got, 0xee, sizeof(got));
		assert_int_equal(tt_ssl3_key_block(&cr, secret, seed, seed + 32,
						   got, lens[li]),
				 TT_OK);
		assert_memory_equal(got, want, lens[li]);
		assert_int_equal(got[lens[li]], 0xee);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_vectors),
		cmocka_unit_test(test_table_aead),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_expand_label_oracle),
		cmocka_unit_test(test_prf_oracle),
		cmocka_unit_test(test_rfc8448_schedule),
		cmocka_unit_test(test_suite_table),
		cmocka_unit_test(test_tls13_aes128gcm),
		cmocka_unit_test(test_tls13_aes256gcm),
		cmocka_unit_test(test_tls13_chacha20),
		cmocka_unit_test(test_tls13_aes128ccm),
		cmocka_unit_test(test_tls12_aes128gcm),
		cmocka_unit_test(test_tls12_aes256gcm),
		cmocka_unit_test(test_tls12_chacha20),
		cmocka_unit_test(test_tls12_aes128ccm),
		cmocka_unit_test(test_tls13_open_edges),
		cmocka_unit_test(test_prf10_ssl3_oracle),
		cmocka_unit_test(test_known_cbc),
		cmocka_unit_test(test_known_stream_null),
		cmocka_unit_test(test_known_aead),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fprintf(stderr,
		"keysched: %u records opened, %u tampered copies refused\n",
		records_opened, tamper_checks);
	tlsgen_cleanup();
	return rc;
}
