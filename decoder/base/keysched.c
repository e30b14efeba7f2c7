/* TLS key schedules and AEAD record decryption (see keysched.h).
 *
 * RFC 8446 7.1:
 *   HKDF-Expand-Label(Secret, Label, Context, Length) =
 *       HKDF-Expand(Secret, HkdfLabel, Length)
 *   struct {
 *       uint16 length = Length;
 *       opaque label<7..255> = "tls13 " + Label;
 *       opaque context<0..255> = Context;
 *   } HkdfLabel;
 *   Derive-Secret(Secret, Label, Messages) =
 *       HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages),
 *                         Hash.length)
 *
 * RFC 8446 5.2:
 *   struct {
 *       ContentType opaque_type = application_data;  -- 23
 *       ProtocolVersion legacy_record_version = 0x0303;
 *       uint16 length;
 *       opaque encrypted_record[TLSCiphertext.length];
 *   } TLSCiphertext;
 *   struct {
 *       opaque content[TLSPlaintext.length];
 *       ContentType type;
 *       uint8 zeros[length_of_padding];
 *   } TLSInnerPlaintext;
 *   additional_data = the 5-byte TLSCiphertext header
 *
 * RFC 5246 5 and 6.2.3.3, RFC 5288 3, RFC 7905 2:
 *   P_hash(secret, seed) = HMAC(secret, A(1) + seed) +
 *                          HMAC(secret, A(2) + seed) + ...
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1))
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 *   struct {
 *       opaque nonce_explicit[8];       -- GCM and CCM only
 *       aead-ciphered struct { opaque content[TLSCompressed.length]; };
 *   } GenericAEADCipher;
 *   additional_data = seq_num + TLSCompressed.type +
 *                     TLSCompressed.version + TLSCompressed.length
 *   GCM/CCM nonce = client/server_write_IV[4] + nonce_explicit[8]
 *   ChaCha20 nonce = write_IV[12] xor (0^32 + seq_num)
 */
#include <string.h>

#include "keysched.h"

#define AAD12_LEN 13

const struct tt_suite *tt_suite_find(uint16_t code)
{
	const struct tt_suite *s = tt_suite_info(code);

	return s && s->decrypt ? s : NULL;
}

void tt_rkeys_wipe(struct tt_rkeys *k)
{
	tt_wipe(k, sizeof(*k));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- HKDF ---- */

tt_rc tt_hkdf_extract(const struct tt_crypto *cr, enum tt_hash h,
		      const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
		      size_t ikm_len, uint8_t *prk)
{
	static const uint8_t zeros[TT_HASH_MAX];
	size_t hl = tt_hash_len(h);

	if (!salt) {
		salt = zeros;
		salt_len = hl;
	}
	if (!ikm) {
		ikm = zeros;
		ikm_len = hl;
	}
	ENSURE(cr->hmac(cr->ctx, h, salt, salt_len, ikm, ikm_len, prk) == 0,
	       TT_DECODE);
	return TT_OK;
}

tt_rc tt_hkdf_expand(const struct tt_crypto *cr, enum tt_hash h,
		     const uint8_t *prk, size_t prk_len, const uint8_t *info,
		     size_t info_len, uint8_t *out, size_t out_len)
{
	size_t hl = tt_hash_len(h);
	/* T(i) = HMAC(PRK, T(i-1) | info | i) */
	uint8_t buf[TT_HASH_MAX + TT_HKDF_INFO_MAX + 1];
	uint8_t t[TT_HASH_MAX] = {0};
	size_t tlen = 0, done = 0;
	tt_rc rc = TT_OK;

	ENSURE(info_len <= TT_HKDF_INFO_MAX, TT_TOO_BIG);
	ENSURE(out_len <= 255 * hl, TT_TOO_BIG);
	for (unsigned i = 1; done < out_len; i++) {
		size_t n = 0, take;

		memcpy(buf, t, tlen);
		n += tlen;
		if (info_len)
			memcpy(buf + n, info, info_len);
		n += info_len;
		buf[n++] = (uint8_t)i;
		if (cr->hmac(cr->ctx, h, prk, prk_len, buf, n, t) != 0) {
			rc = TT_DECODE;
			break;
		}
		tlen = hl;
		take = out_len - done < hl ? out_len - done : hl;
		memcpy(out + done, t, take);
		done += take;
	}
	tt_wipe(buf, sizeof(buf));
	tt_wipe(t, sizeof(t));
	if (rc != TT_OK)
		tt_wipe(out, out_len);
	return rc;
}

tt_rc tt_hkdf_expand_label(const struct tt_crypto *cr, enum tt_hash h,
			   const uint8_t *secret, const char *label,
			   const uint8_t *context, size_t context_len,
			   uint8_t *out, size_t out_len)
{
	static const char prefix[] = TT_HKDF_LABEL_PREFIX;
	uint8_t info[TT_HKDF_INFO_MAX];
	size_t llen = strnlen(label, TT_HKDF_LABEL_MAX + 1), n = 0;

	ENSURE(llen >= 1, TT_DECODE);
	ENSURE(llen <= TT_HKDF_LABEL_MAX, TT_TOO_BIG);
	ENSURE(context_len <= TT_HKDF_CONTEXT_MAX, TT_TOO_BIG);
	ENSURE(out_len <= 0xffff, TT_TOO_BIG);
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(sizeof(prefix) - 1 + llen);
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	return tt_hkdf_expand(cr, h, secret, tt_hash_len(h), info, n, out,
			      out_len);
}

tt_rc tt_derive_secret(const struct tt_crypto *cr, enum tt_hash h,
		       const uint8_t *secret, const char *label,
		       const uint8_t *thash, uint8_t *out)
{
	uint8_t empty[TT_HASH_MAX];
	size_t hl = tt_hash_len(h);

	if (!thash) {
		ENSURE(cr->digest(cr->ctx, h, NULL, 0, empty) == 0, TT_DECODE);
		thash = empty;
	}
	return tt_hkdf_expand_label(cr, h, secret, label, thash, hl, out, hl);
}

/* ---- TLS 1.3 ---- */

tt_rc tt_tls13_traffic_keys(const struct tt_crypto *cr,
			    const struct tt_suite *suite, const uint8_t *secret,
			    struct tt_rkeys *k)
{
	tt_rc rc;

	ENSURE(suite && suite->tls13, TT_UNSUPPORTED);
	memset(k, 0, sizeof(*k));
	k->suite = suite;
	rc = tt_hkdf_expand_label(cr, suite->hash, secret, "key", NULL, 0,
				  k->key, suite->key_len);
	if (rc == TT_OK)
		rc = tt_hkdf_expand_label(cr, suite->hash, secret, "iv", NULL,
					  0, k->iv, suite->iv_len);
	if (rc != TT_OK)
		tt_rkeys_wipe(k);
	return rc;
}

tt_rc tt_tls13_next_secret(const struct tt_crypto *cr, enum tt_hash h,
			   const uint8_t *secret, uint8_t *next)
{
	uint8_t tmp[TT_HASH_MAX];
	size_t hl = tt_hash_len(h);
	tt_rc rc;

	rc = tt_hkdf_expand_label(cr, h, secret, "traffic upd", NULL, 0, tmp,
				  hl);
	if (rc == TT_OK)
		memcpy(next, tmp, hl);
	tt_wipe(tmp, sizeof(tmp));
	return rc;
}

void tt_record_nonce(const uint8_t *iv, uint64_t seq, uint8_t *nonce)
{
	uint8_t s[8];

	put_u64(s, seq);
	memcpy(nonce, iv, TT_AEAD_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[TT_AEAD_NONCE_LEN - 8 + i] ^= s[i];
}

tt_rc tt_tls13_open(const struct tt_crypto *cr, struct tt_rkeys *k,
		    const uint8_t *rec, size_t rec_len, uint8_t *out,
		    size_t out_cap, size_t *out_len, uint8_t *type)
{
	struct tt_cur c = tt_cur_make(rec, rec_len), body;
	const uint8_t *ct, *tag;
	uint8_t rtype, nonce[TT_AEAD_NONCE_LEN];
	uint16_t version;
	size_t n;

	*out_len = 0;
	*type = 0;
	ENSURE(k->suite && k->suite->tls13, TT_UNSUPPORTED);
	TRY(tt_u8(&c, &rtype));
	TRY(tt_u16(&c, &version));
	TRY(tt_sub16(&c, &body));
	TRY(tt_expect_empty(&c));
	(void)version; /* authenticated as part of the AAD */
	ENSURE(rtype == TT_CT_APPLICATION_DATA, TT_DECODE);
	ENSURE(tt_cur_left(&body) <= TT_TLS13_CIPHERTEXT_MAX, TT_TOO_BIG);
	/* at least the inner content type, then the tag */
	ENSURE(tt_cur_left(&body) > TT_AEAD_TAG_LEN, TT_DECODE);
	n = tt_cur_left(&body) - TT_AEAD_TAG_LEN;
	ENSURE(out_cap >= n, TT_TOO_BIG);
	ENSURE(k->seq != UINT64_MAX, TT_TOO_BIG);
	TRY(tt_bytes(&body, n, &ct));
	TRY(tt_bytes(&body, TT_AEAD_TAG_LEN, &tag));

	tt_record_nonce(k->iv, k->seq, nonce);
	if (cr->aead_open(cr->ctx, k->suite->aead, k->key, nonce, rec,
			  TT_RECORD_HDR, ct, n, out, tag) != 0) {
		tt_wipe(out, n);
		return TT_DECODE;
	}
	/* The content type is the last non-zero byte. */
	while (n > 0 && out[n - 1] == 0)
		n--;
	ENSURE(n > 0, TT_DECODE); /* all padding: no content type */
	*type = out[n - 1];
	*out_len = n - 1;
	k->seq++;
	return TT_OK;
}

/* ---- TLS 1.2 ---- */

tt_rc tt_tls12_prf(const struct tt_crypto *cr, enum tt_hash h,
		   const uint8_t *secret, size_t secret_len, const char *label,
		   const uint8_t *seed, size_t seed_len, uint8_t *out,
		   size_t out_len)
{
	size_t hl = tt_hash_len(h);
	size_t llen = strnlen(label, TT_PRF_LABEL_MAX + 1);
	/* buf = A(i) + label + seed; A(i) is HMAC(secret, label + seed) for
	 * i = 1 and HMAC(secret, A(i-1)) after. */
	uint8_t buf[TT_HASH_MAX + TT_PRF_LABEL_MAX + TT_PRF_SEED_MAX];
	uint8_t a[TT_HASH_MAX], t[TT_HASH_MAX];
	size_t ls, done = 0;
	tt_rc rc = TT_OK;

	ENSURE(llen <= TT_PRF_LABEL_MAX, TT_TOO_BIG);
	ENSURE(seed_len <= TT_PRF_SEED_MAX, TT_TOO_BIG);
	memcpy(buf + hl, label, llen);
	if (seed_len)
		memcpy(buf + hl + llen, seed, seed_len);
	ls = llen + seed_len;

	if (cr->hmac(cr->ctx, h, secret, secret_len, buf + hl, ls, a) != 0)
		rc = TT_DECODE;
	while (rc == TT_OK && done < out_len) {
		size_t take;

		memcpy(buf, a, hl);
		/* buf starts with a copy of A(i): no aliased HMAC output */
		if (cr->hmac(cr->ctx, h, secret, secret_len, buf, hl + ls, t) !=
			    0 ||
		    cr->hmac(cr->ctx, h, secret, secret_len, buf, hl, a) != 0) {
			rc = TT_DECODE;
			break;
		}
		take = out_len - done < hl ? out_len - done : hl;
		memcpy(out + done, t, take);
		done += take;
	}
	tt_wipe(buf, sizeof(buf));
	tt_wipe(a, sizeof(a));
	tt_wipe(t, sizeof(t));
	if (rc != TT_OK)
		tt_wipe(out, out_len);
	return rc;
}

tt_rc tt_tls12_keys(const struct tt_crypto *cr, const struct tt_suite *suite,
		    const uint8_t *master, const uint8_t *client_random,
		    const uint8_t *server_random, struct tt_rkeys *client,
		    struct tt_rkeys *server)
{
	/* client_write_key, server_write_key, client_write_IV,
	 * server_write_IV (no MAC keys for AEAD suites) */
	uint8_t kb[2 * (TT_AEAD_KEY_MAX + TT_AEAD_NONCE_LEN)];
	uint8_t seed[2 * TT_RANDOM_LEN];
	size_t kl, il;
	tt_rc rc;

	ENSURE(suite && !suite->tls13, TT_UNSUPPORTED);
	kl = suite->key_len;
	il = suite->iv_len;
	memcpy(seed, server_random, TT_RANDOM_LEN);
	memcpy(seed + TT_RANDOM_LEN, client_random, TT_RANDOM_LEN);
	rc = tt_tls12_prf(cr, suite->hash, master, TT_MASTER_SECRET_LEN,
			  "key expansion", seed, sizeof(seed), kb,
			  2 * (kl + il));
	if (rc == TT_OK) {
		memset(client, 0, sizeof(*client));
		memset(server, 0, sizeof(*server));
		client->suite = server->suite = suite;
		memcpy(client->key, kb, kl);
		memcpy(server->key, kb + kl, kl);
		memcpy(client->iv, kb + 2 * kl, il);
		memcpy(server->iv, kb + 2 * kl + il, il);
	}
	tt_wipe(kb, sizeof(kb));
	return rc;
}

tt_rc tt_tls12_open(const struct tt_crypto *cr, struct tt_rkeys *k,
		    const uint8_t *rec, size_t rec_len, uint8_t *out,
		    size_t out_cap, size_t *out_len)
{
	struct tt_cur c = tt_cur_make(rec, rec_len), body;
	const uint8_t *explicit_nonce, *ct, *tag;
	uint8_t rtype, nonce[TT_AEAD_NONCE_LEN], aad[AAD12_LEN];
	uint16_t version;
	size_t n, en;

	*out_len = 0;
	ENSURE(k->suite && !k->suite->tls13, TT_UNSUPPORTED);
	en = k->suite->explicit_nonce;
	TRY(tt_u8(&c, &rtype));
	TRY(tt_u16(&c, &version));
	TRY(tt_sub16(&c, &body));
	TRY(tt_expect_empty(&c));
	ENSURE(tt_cur_left(&body) <= TT_TLS12_CIPHERTEXT_MAX, TT_TOO_BIG);
	ENSURE(tt_cur_left(&body) >= en + TT_AEAD_TAG_LEN, TT_DECODE);
	n = tt_cur_left(&body) - en - TT_AEAD_TAG_LEN;
	ENSURE(out_cap >= n, TT_TOO_BIG);
	ENSURE(k->seq != UINT64_MAX, TT_TOO_BIG);
	TRY(tt_bytes(&body, en, &explicit_nonce));
	TRY(tt_bytes(&body, n, &ct));
	TRY(tt_bytes(&body, TT_AEAD_TAG_LEN, &tag));

	if (en) {
		memcpy(nonce, k->iv, TT_AEAD_NONCE_LEN - en);
		memcpy(nonce + TT_AEAD_NONCE_LEN - en, explicit_nonce, en);
	} else {
		tt_record_nonce(k->iv, k->seq, nonce);
	}
	put_u64(aad, k->seq);
	aad[8] = rtype;
	aad[9] = (uint8_t)(version >> 8);
	aad[10] = (uint8_t)version;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	if (cr->aead_open(cr->ctx, k->suite->aead, k->key, nonce, aad,
			  sizeof(aad), ct, n, out, tag) != 0) {
		tt_wipe(out, n);
		return TT_DECODE;
	}
	*out_len = n;
	k->seq++;
	return TT_OK;
}
