/* TLS key schedules and record decryption, on top of the crypto table.
 *
 * TLS 1.3 (RFC 8446 7.1, 7.2, 7.3, 5.2, 5.3): HKDF (RFC 5869),
 * HKDF-Expand-Label, Derive-Secret, traffic keys from a traffic secret,
 * the KeyUpdate secret chain and the record open (decrypt, strip the
 * padding, read the inner content type).
 * TLS 1.2 (RFC 5246 5, 6.3, 6.2.3.3; RFC 5288 3; RFC 6655 3; RFC 7905 2):
 * the PRF, the key block from a master secret, and the record open of the
 * AEAD suites (AES-GCM, AES-CCM with 4-byte salt + 8-byte explicit nonce;
 * ChaCha20-Poly1305 with the IV xor sequence-number nonce).
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

/* One direction's record keys and its next sequence number. */
struct tt_rkeys {
	const struct tt_suite *suite;
	uint8_t key[TT_AEAD_KEY_MAX];
	uint8_t iv[TT_AEAD_NONCE_LEN]; /* suite->iv_len bytes used */
	uint64_t seq;
};

void tt_rkeys_wipe(struct tt_rkeys *k);

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

/* ---- TLS 1.2 ---- */

/* out = PRF(secret, label, seed) with P_<h> (RFC 5246 5): the label a C
 * string of at most TT_PRF_LABEL_MAX bytes, the seed at most
 * TT_PRF_SEED_MAX. */
TT_MUST_USE tt_rc tt_tls12_prf(const struct tt_crypto *cr, enum tt_hash h,
			       const uint8_t *secret, size_t secret_len,
			       const char *label, const uint8_t *seed,
			       size_t seed_len, uint8_t *out, size_t out_len);

/* Both directions' record keys from the master secret (RFC 5246 6.3):
 * key_block = PRF(master, "key expansion", server_random +
 * client_random), cut into client and server write keys and IVs (AEAD
 * suites have no MAC keys).  Sequence numbers start at 0, for the first
 * record after each side's ChangeCipherSpec.  TT_UNSUPPORTED for a TLS
 * 1.3 suite. */
TT_MUST_USE tt_rc tt_tls12_keys(const struct tt_crypto *cr,
				const struct tt_suite *suite,
				const uint8_t *master,
				const uint8_t *client_random,
				const uint8_t *server_random,
				struct tt_rkeys *client,
				struct tt_rkeys *server);

/* Opens one whole TLS 1.2 AEAD record (5-byte header + body, rec_len
 * bytes exactly) with k: AAD = seq_num + type + version + plaintext
 * length.  The plaintext goes to out (out_cap >= its length; out may be
 * the ciphertext's first byte, rec + 5 + suite->explicit_nonce, to
 * decrypt in place), its length to *out_len; the content type is the
 * header's.  k->seq and failures as tt_tls13_open. */
TT_MUST_USE tt_rc tt_tls12_open(const struct tt_crypto *cr, struct tt_rkeys *k,
				const uint8_t *rec, size_t rec_len,
				uint8_t *out, size_t out_cap, size_t *out_len);

#endif
