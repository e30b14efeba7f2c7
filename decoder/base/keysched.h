/* TLS key schedules and record decryption, on top of the crypto table.
 *
 * TLS 1.3 (RFC 8446 7.1, 7.2, 7.3, 5.2, 5.3): HKDF (RFC 5869),
 * HKDF-Expand-Label, Derive-Secret, traffic keys from a traffic secret,
 * the KeyUpdate secret chain and the record open (decrypt, strip the
 * padding, read the inner content type).
 * TLS 1.2 (RFC 5246 5, 6.3, 6.2.3.3; RFC 5288 3; RFC 6655 3; RFC 7905 2):
 * the PRF, the key block from a master secret, and the record open of the
 * AEAD suites (AES-GCM, ARIA-GCM, AES-CCM and CCM_8 with 4-byte salt +
 * 8-byte explicit nonce; ChaCha20-Poly1305 with the IV xor sequence-number
 * nonce).
 * TLS 1.2 and earlier, the MAC-protected suites (RFC 5246 6.2.3.1-2, RFC
 * 4346 6.2.3.2, RFC 2246 5 and 6.2.3.2, RFC 6101 5.2.3 and 6.2.2, RFC
 * 7366): the TLS 1.0/1.1 PRF and the SSL 3.0 key block, the HMAC (or SSL
 * 3.0's MAC) over sequence number, header and content, and the record
 * open of CBC suites (MAC-then-encrypt, or encrypt-then-MAC; explicit IV
 * from TLS 1.1, the previous record's last block before), of RC4 (its
 * state carried from record to record) and of the NULL cipher.
 *
 * Results: TT_OK; TT_DECODE for a malformed record, one that does not
 * authenticate, or a crypto table call that failed; TT_TOO_BIG for a
 * length over one of the caps below; TT_UNSUPPORTED for a suite we do not
 * decrypt.  Secrets copied onto the stack are wiped before returning.
 */
#ifndef TT_KEYSCHED_H
#define TT_KEYSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "cursor.h"
#include "names.h"

/* HkdfLabel (RFC 8446 7.1): uint16 length, opaque label<7..255> holding
 * "tls13 " + Label, opaque context<0..255>. */
#define TT_HKDF_LABEL_PREFIX "tls13 "
#define TT_HKDF_LABEL_MAX    (255 - 6) /* Label, without the prefix */
#define TT_HKDF_CONTEXT_MAX  255
#define TT_HKDF_INFO_MAX     (2 + 1 + 255 + 1 + 255)
/* TLS 1.2 PRF inputs (longest in use: "extended master secret" + a
 * SHA-384 session hash; "key expansion" + two randoms). */
#define TT_PRF_LABEL_MAX 64
#define TT_PRF_SEED_MAX	 128

#define TT_RANDOM_LEN	     32
#define TT_MASTER_SECRET_LEN 48
/* TLSCiphertext.length caps: RFC 8446 5.2 and RFC 5246 6.2.3. */
#define TT_TLS13_CIPHERTEXT_MAX (16384 + 256)
#define TT_TLS12_CIPHERTEXT_MAX (16384 + 2048)
#define TT_TLS12_EXPLICIT_NONCE 8
#define TT_RECORD_HDR		5

/* The suite (struct tt_suite, names.h) when we can decrypt its records:
 * tt_suite_info(code) if its decrypt flag is set, else NULL (CBC, CCM_8,
 * ARIA, ... and anything unknown). */
const struct tt_suite *tt_suite_find(uint16_t code);

#define TT_IV_MAX 16 /* a cipher block (CBC), or an AEAD's nonce */

/* One direction's record keys, its next sequence number, and what moves
 * from record to record. */
struct tt_rkeys {
	const struct tt_suite *suite;
	/* The protocol the records are protected under: SSL 3.0 to TLS 1.2
	 * for a TLS 1.2 suite (the MAC, the key block and whether a CBC
	 * record carries its IV depend on it); unused in TLS 1.3. */
	uint16_t version;
	bool etm;     /* encrypt_then_mac (RFC 7366), CBC suites only */
	bool iv_lost; /* CBC before TLS 1.1: a record went by without its
		       * body, so the next one's IV is not known */
	uint8_t key[TT_AEAD_KEY_MAX];
	/* the AEAD's IV or salt (suite->iv_len bytes); CBC before TLS 1.1:
	 * the IV of the next record (the key block's, then the last
	 * ciphertext block of the record before) */
	uint8_t iv[TT_IV_MAX];
	uint8_t mac_key[TT_HASH_MAX]; /* tt_hash_len(suite->mac_hash) */
	void *stream; /* RC4: the cipher state (crypto table), made on
		       * first use, NULL before */
	uint64_t seq;
};

/* Wipes keys that hold no stream state (TLS 1.3, AEAD and CBC suites). */
void tt_rkeys_wipe(struct tt_rkeys *k);
/* Frees the stream state, if any, then wipes. */
void tt_rkeys_release(const struct tt_crypto *cr, struct tt_rkeys *k);

/* ---- HKDF and the TLS 1.3 key schedule ---- */

/* prk (tt_hash_len(h) bytes) = HKDF-Extract(salt, ikm).  A NULL salt or
 * ikm stands for tt_hash_len(h) zero bytes (RFC 5869 2.2; the "0" of RFC
 * 8446 7.1). */
TT_MUST_USE tt_rc tt_hkdf_extract(const struct tt_crypto *cr, enum tt_hash h,
				  const uint8_t *salt, size_t salt_len,
				  const uint8_t *ikm, size_t ikm_len,
				  uint8_t *prk);

/* out (out_len bytes) = HKDF-Expand(prk, info, out_len); out_len at most
 * 255 * tt_hash_len(h), info at most TT_HKDF_INFO_MAX bytes. */
TT_MUST_USE tt_rc tt_hkdf_expand(const struct tt_crypto *cr, enum tt_hash h,
				 const uint8_t *prk, size_t prk_len,
				 const uint8_t *info, size_t info_len,
				 uint8_t *out, size_t out_len);

/* out = HKDF-Expand-Label(secret, label, context, out_len), where secret
 * is tt_hash_len(h) bytes and label a C string without the "tls13 "
 * prefix (1..TT_HKDF_LABEL_MAX bytes). */
TT_MUST_USE tt_rc tt_hkdf_expand_label(const struct tt_crypto *cr,
				       enum tt_hash h, const uint8_t *secret,
				       const char *label,
				       const uint8_t *context,
				       size_t context_len, uint8_t *out,
				       size_t out_len);

/* out (tt_hash_len(h) bytes) = Derive-Secret(secret, label, Messages),
 * given thash = Transcript-Hash(Messages) (tt_hash_len(h) bytes), or
 * thash NULL for no messages (the hash of the empty string). */
TT_MUST_USE tt_rc tt_derive_secret(const struct tt_crypto *cr, enum tt_hash h,
				   const uint8_t *secret, const char *label,
				   const uint8_t *thash, uint8_t *out);

/* Record keys (RFC 8446 7.3) from a traffic secret of the suite's hash
 * length: key = HKDF-Expand-Label(secret, "key", "", key_len), iv =
 * HKDF-Expand-Label(secret, "iv", "", 12); k->seq = 0.  TT_UNSUPPORTED
 * for a TLS 1.2 suite. */
TT_MUST_USE tt_rc tt_tls13_traffic_keys(const struct tt_crypto *cr,
					const struct tt_suite *suite,
					const uint8_t *secret,
					struct tt_rkeys *k);

/* The secret after a KeyUpdate (RFC 8446 7.2): next =
 * HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).  next may be
 * secret itself. */
TT_MUST_USE tt_rc tt_tls13_next_secret(const struct tt_crypto *cr,
				       enum tt_hash h, const uint8_t *secret,
				       uint8_t *next);

/* The per-record nonce (RFC 8446 5.3): iv xor the 64-bit sequence number
 * left-padded to 12 bytes.  Also TLS 1.2 ChaCha20 (RFC 7905 2). */
void tt_record_nonce(const uint8_t *iv, uint64_t seq, uint8_t *nonce);

/* Opens one whole TLS 1.3 record (5-byte header + body, rec_len bytes
 * exactly) with k (RFC 8446 5.2): the header is the AAD; the plaintext
 * with its padding stripped goes to out (out_cap >= body length - 16;
 * out may be rec + 5 to decrypt in place), its length to *out_len, the
 * inner content type to *type.  On success k->seq moves on; on failure
 * it does not, and out is wiped.  TT_DECODE for a record that is not
 * application_data, too short, fails to authenticate, or is all padding;
 * TT_TOO_BIG for a body over TT_TLS13_CIPHERTEXT_MAX or an out_cap too
 * small. */
TT_MUST_USE tt_rc tt_tls13_open(const struct tt_crypto *cr, struct tt_rkeys *k,
				const uint8_t *rec, size_t rec_len,
				uint8_t *out, size_t out_cap, size_t *out_len,
				uint8_t *type);
/* The same with the record's 5-byte header hdr and its body (body_len
 * bytes, the length the header gives) apart: out may be body itself, or
 * another buffer of out_cap bytes, so that a record left where it was
 * read is decrypted without being copied first. */
TT_MUST_USE tt_rc tt_tls13_open_body(const struct tt_crypto *cr,
				     struct tt_rkeys *k, const uint8_t *hdr,
				     const uint8_t *body, size_t body_len,
				     uint8_t *out, size_t out_cap,
				     size_t *out_len, uint8_t *type);

/* ---- TLS 1.2 and earlier ---- */

/* out = PRF(secret, label, seed) with P_<h> (RFC 5246 5): the label a C
 * string of at most TT_PRF_LABEL_MAX bytes, the seed at most
 * TT_PRF_SEED_MAX. */
TT_MUST_USE tt_rc tt_tls12_prf(const struct tt_crypto *cr, enum tt_hash h,
			       const uint8_t *secret, size_t secret_len,
			       const char *label, const uint8_t *seed,
			       size_t seed_len, uint8_t *out, size_t out_len);

/* The TLS 1.0 and 1.1 PRF (RFC 2246 5): P_MD5 over the first half of the
 * secret xor P_SHA-1 over the second (halves rounded up, sharing a byte
 * when its length is odd).  Limits as tt_tls12_prf. */
TT_MUST_USE tt_rc tt_tls10_prf(const struct tt_crypto *cr,
			       const uint8_t *secret, size_t secret_len,
			       const char *label, const uint8_t *seed,
			       size_t seed_len, uint8_t *out, size_t out_len);

/* The SSL 3.0 key block (RFC 6101 6.2.2): MD5(master + SHA-1("A" +
 * master + server_random + client_random)) + MD5(master + SHA-1("BB" +
 * ...)) + ..., out_len at most 26 * 16 bytes. */
TT_MUST_USE tt_rc tt_ssl3_key_block(const struct tt_crypto *cr,
				    const uint8_t *master,
				    const uint8_t *client_random,
				    const uint8_t *server_random, uint8_t *out,
				    size_t out_len);

/* Both directions' record keys from the master secret (RFC 5246 6.3, RFC
 * 2246 6.3, RFC 6101 6.2.2): the key block (the PRF of the version, with
 * "key expansion" and server_random + client_random; SSL 3.0's own) cut
 * into client and server MAC keys (none for AEAD suites), write keys and
 * IVs.  version is the negotiated one, SSL 3.0 to TLS 1.2.  Sequence
 * numbers start at 0, for the first record after each side's
 * ChangeCipherSpec; etm is false.  TT_UNSUPPORTED for a TLS 1.3 suite, a
 * suite the crypto table cannot open (tt_suite_find) or a version it is
 * not defined for (SSL 3.0 with a MAC other than MD5 or SHA-1). */
TT_MUST_USE tt_rc tt_tls12_keys(const struct tt_crypto *cr,
				const struct tt_suite *suite, uint16_t version,
				const uint8_t *master,
				const uint8_t *client_random,
				const uint8_t *server_random,
				struct tt_rkeys *client,
				struct tt_rkeys *server);

/* Bytes of IV or nonce at the start of each record's body under k: the
 * suite's explicit_nonce, but none for CBC before TLS 1.1. */
size_t tt_tls12_explicit(const struct tt_rkeys *k);

/* Opens one whole record of TLS 1.2 or earlier (5-byte header + body,
 * rec_len bytes exactly) with k.  The plaintext goes to out, its length
 * to *out_len; out_cap must be at least the body's length less
 * tt_tls12_explicit(k); out may be rec + 5 + tt_tls12_explicit(k) to
 * decrypt in place.  The content type is the header's.
 *   AEAD: AAD = seq_num + type + version + plaintext length.
 *   CBC, MAC-then-encrypt: the padding (every byte equal to its length;
 *   SSL 3.0: only its length, under one block) and the MAC over seq_num
 *   + type + version + length + content (SSL 3.0: no version, its own
 *   MAC) are checked.  encrypt_then_mac (k->etm): the MAC over seq_num
 *   + header + IV + ciphertext, checked before decrypting.
 *   RC4 and NULL: the content, then its MAC.
 * On success k->seq moves on, and with it the RC4 state and the next IV
 * before TLS 1.1; on failure none of them does, and out is wiped.
 * TT_DECODE for a record too short or not of whole blocks, that does
 * not authenticate, or whose padding is wrong; TT_TOO_BIG for a body
 * over TT_TLS12_CIPHERTEXT_MAX or an out_cap too small. */
TT_MUST_USE tt_rc tt_tls12_open(const struct tt_crypto *cr, struct tt_rkeys *k,
				const uint8_t *rec, size_t rec_len,
				uint8_t *out, size_t out_cap, size_t *out_len);
/* The same with the header and the body apart (as tt_tls13_open_body):
 * out may be body + tt_tls12_explicit(k), or another buffer. */
TT_MUST_USE tt_rc tt_tls12_open_body(const struct tt_crypto *cr,
				     struct tt_rkeys *k, const uint8_t *hdr,
				     const uint8_t *body, size_t body_len,
				     uint8_t *out, size_t out_cap,
				     size_t *out_len);

/* A record passed over (application data, or one whose body was not
 * kept: body NULL): its length from the 5-byte header hdr.  k->seq moves
 * on; RC4's keystream by the body's length; before TLS 1.1 a CBC
 * direction takes the body's last ciphertext block as the next IV, or,
 * without the body, marks it lost (k->iv_lost: the next record cannot be
 * opened, only passed over, after which it is known again).  TT_DECODE
 * when the crypto table fails (RC4). */
TT_MUST_USE tt_rc tt_tls12_skip(const struct tt_crypto *cr, struct tt_rkeys *k,
				const uint8_t *hdr, const uint8_t *body);

#endif
