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
 *
 * RFC 5246 6.2.3.1-2 (TLS 1.1: RFC 4346; TLS 1.0: RFC 2246, no IV field,
 * the IV being the previous record's last ciphertext block):
 *   stream-ciphered struct {
 *       opaque content[TLSCompressed.length];
 *       opaque MAC[SecurityParameters.mac_length];
 *   } GenericStreamCipher;
 *   struct {
 *       opaque IV[SecurityParameters.record_iv_length];
 *       block-ciphered struct {
 *           opaque content[TLSCompressed.length];
 *           opaque MAC[SecurityParameters.mac_length];
 *           uint8 padding[GenericBlockCipher.padding_length];
 *           uint8 padding_length;
 *       };
 *   } GenericBlockCipher;
 *   MAC(MAC_write_key, seq_num + TLSCompressed.type +
 *       TLSCompressed.version + TLSCompressed.length +
 *       TLSCompressed.fragment)                             -- HMAC
 * RFC 7366 3 (encrypt_then_mac): IV + block-ciphered(content + padding +
 *   padding_length), then MAC(MAC_write_key, seq_num + type + version +
 *   length of IV and ciphertext + IV + ciphertext).
 * RFC 6101 5.2.3.1 (SSL 3.0):
 *   hash(MAC_write_secret + pad_2 +
 *        hash(MAC_write_secret + pad_1 + seq_num +
 *             SSLCompressed.type + SSLCompressed.length +
 *             SSLCompressed.fragment));
 *   pad_1 = 0x36, pad_2 = 0x5c, 48 times for MD5, 40 for SHA;
 *   the padding's bytes are arbitrary, its length under one block.
 * RFC 2246 5: PRF(secret, label, seed) = P_MD5(S1, label + seed) XOR
 *   P_SHA-1(S2, label + seed), S1 and S2 the two halves of the secret.
 * RFC 6101 6.2.2: key_block = MD5(master + SHA('A' + master +
 *   ServerHello.random + ClientHello.random)) + MD5(master + SHA('BB' +
 *   ...)) + MD5(master + SHA('CCC' + ...)) + ...
 * Key block (all versions): client MAC key, server MAC key, client
 * write key, server write key, client IV, server IV.
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

void tt_rkeys_release(const struct tt_crypto *cr, struct tt_rkeys *k)
{
	if (k->stream && cr)
		cr->stream_free(cr->ctx, k->stream);
	k->stream = NULL;
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
	*out_len = 0;
	*type = 0;
	ENSURE(k->suite && k->suite->tls13, TT_UNSUPPORTED);
	ENSURE(rec_len >= TT_RECORD_HDR, TT_DECODE);
	return tt_tls13_open_body(cr, k, rec, rec + TT_RECORD_HDR,
				  rec_len - TT_RECORD_HDR, out, out_cap,
				  out_len, type);
}

tt_rc tt_tls13_open_body(const struct tt_crypto *cr, struct tt_rkeys *k,
			 const uint8_t *hdr, const uint8_t *body,
			 size_t body_len, uint8_t *out, size_t out_cap,
			 size_t *out_len, uint8_t *type)
{
	struct tt_cur b = tt_cur_make(body, body_len);
	const uint8_t *ct, *tag;
	uint8_t nonce[TT_AEAD_NONCE_LEN];
	size_t n, tl;

	*out_len = 0;
	*type = 0;
	ENSURE(k->suite && k->suite->tls13, TT_UNSUPPORTED);
	tl = tt_aead_tag_len(k->suite->aead);
	/* the header's version is authenticated as part of the AAD */
	ENSURE(((size_t)hdr[3] << 8 | hdr[4]) == body_len, TT_DECODE);
	ENSURE(hdr[0] == TT_CT_APPLICATION_DATA, TT_DECODE);
	ENSURE(body_len <= TT_TLS13_CIPHERTEXT_MAX, TT_TOO_BIG);
	/* at least the inner content type, then the tag */
	ENSURE(body_len > tl, TT_DECODE);
	n = body_len - tl;
	ENSURE(out_cap >= n, TT_TOO_BIG);
	ENSURE(k->seq != UINT64_MAX, TT_TOO_BIG);
	TRY(tt_bytes(&b, n, &ct));
	TRY(tt_bytes(&b, tl, &tag));

	tt_record_nonce(k->iv, k->seq, nonce);
	if (cr->aead_open(cr->ctx, k->suite->aead, k->key, nonce, hdr,
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


tt_rc tt_tls10_prf(const struct tt_crypto *cr, const uint8_t *secret,
		   size_t secret_len, const char *label, const uint8_t *seed,
		   size_t seed_len, uint8_t *out, size_t out_len)
{
	/* the longest key block: two MAC keys, keys and IVs */
	uint8_t sha[2 * (TT_HASH_MAX + TT_AEAD_KEY_MAX + TT_IV_MAX)];
	size_t half = (secret_len + 1) / 2;
	tt_rc rc;

	ENSURE(out_len <= sizeof(sha), TT_TOO_BIG);
	rc = tt_tls12_prf(cr, TT_HASH_MD5, secret, half, label, seed, seed_len,
			  out, out_len);
	if (rc == TT_OK)
		rc = tt_tls12_prf(cr, TT_HASH_SHA1, secret + secret_len - half,
				  half, label, seed, seed_len, sha, out_len);
	if (rc == TT_OK)
		for (size_t i = 0; i < out_len; i++)
			out[i] ^= sha[i];
	tt_wipe(sha, sizeof(sha));
	if (rc != TT_OK)
		tt_wipe(out, out_len);
	return rc;
}

tt_rc tt_ssl3_key_block(const struct tt_crypto *cr, const uint8_t *master,
			const uint8_t *client_random,
			const uint8_t *server_random, uint8_t *out,
			size_t out_len)
{
	/* 'A', 'BB', ... up to 26 letters, then the secret and randoms */
	uint8_t buf[26 + TT_MASTER_SECRET_LEN + 2 * TT_RANDOM_LEN];
	uint8_t inner[TT_HASH_MAX], md5in[TT_MASTER_SECRET_LEN + 20];
	uint8_t block[16];
	size_t done = 0;
	tt_rc rc = TT_OK;

	ENSURE(out_len <= 26 * 16, TT_TOO_BIG);
	for (unsigned i = 1; done < out_len; i++) {
		size_t n = 0, take;

		memset(buf, 'A' + (int)i - 1, i);
		n += i;
		memcpy(buf + n, master, TT_MASTER_SECRET_LEN);
		n += TT_MASTER_SECRET_LEN;
		memcpy(buf + n, server_random, TT_RANDOM_LEN);
		n += TT_RANDOM_LEN;
		memcpy(buf + n, client_random, TT_RANDOM_LEN);
		n += TT_RANDOM_LEN;
		memcpy(md5in, master, TT_MASTER_SECRET_LEN);
		if (cr->digest(cr->ctx, TT_HASH_SHA1, buf, n, inner) != 0 ||
		    (memcpy(md5in + TT_MASTER_SECRET_LEN, inner, 20),
		     cr->digest(cr->ctx, TT_HASH_MD5, md5in, sizeof(md5in),
				block) != 0)) {
			rc = TT_DECODE;
			break;
		}
		take = out_len - done < 16 ? out_len - done : 16;
		memcpy(out + done, block, take);
		done += take;
	}
	tt_wipe(buf, sizeof(buf));
	tt_wipe(inner, sizeof(inner));
	tt_wipe(md5in, sizeof(md5in));
	tt_wipe(block, sizeof(block));
	if (rc != TT_OK)
		tt_wipe(out, out_len);
	return rc;
}

static bool aead_mode(enum tt_mode m)
{
	return m == TT_MODE_GCM || m == TT_MODE_CCM || m == TT_MODE_CCM_8 ||
	       m == TT_MODE_CHACHA20_POLY1305;
}

/* MAC key bytes per direction: none for the AEADs. */
static size_t mac_key_len(const struct tt_suite *s)
{
	return aead_mode(s->mode) ? 0 : tt_hash_len(s->mac_hash);
}

tt_rc tt_tls12_keys(const struct tt_crypto *cr, const struct tt_suite *suite,
		    uint16_t version, const uint8_t *master,
		    const uint8_t *client_random, const uint8_t *server_random,
		    struct tt_rkeys *client, struct tt_rkeys *server)
{
	uint8_t kb[2 * (TT_HASH_MAX + TT_AEAD_KEY_MAX + TT_IV_MAX)];
	uint8_t seed[2 * TT_RANDOM_LEN];
	size_t ml, kl, il, len;
	tt_rc rc;

	ENSURE(suite && !suite->tls13 && suite->decrypt, TT_UNSUPPORTED);
	ENSURE(version >= TT_V_SSL3 && version <= TT_V_TLS12, TT_UNSUPPORTED);
	ml = mac_key_len(suite);
	kl = suite->key_len;
	il = suite->iv_len;
	/* SSL 3.0's MAC pads are defined for MD5 and SHA-1 only */
	ENSURE(version != TT_V_SSL3 || suite->mac_hash == TT_HASH_MD5 ||
		       suite->mac_hash == TT_HASH_SHA1,
	       TT_UNSUPPORTED);
	ENSURE(kl <= TT_AEAD_KEY_MAX && il <= TT_IV_MAX, TT_UNSUPPORTED);
	len = 2 * (ml + kl + il);
	memcpy(seed, server_random, TT_RANDOM_LEN);
	memcpy(seed + TT_RANDOM_LEN, client_random, TT_RANDOM_LEN);
	if (version == TT_V_SSL3)
		rc = tt_ssl3_key_block(cr, master, client_random, server_random,
				       kb, len);
	else if (version < TT_V_TLS12)
		rc = tt_tls10_prf(cr, master, TT_MASTER_SECRET_LEN,
				  "key expansion", seed, sizeof(seed), kb, len);
	else
		rc = tt_tls12_prf(cr, suite->hash, master, TT_MASTER_SECRET_LEN,
				  "key expansion", seed, sizeof(seed), kb, len);
	if (rc == TT_OK) {
		const uint8_t *p = kb;
		memset(client, 0, sizeof(*client));
		memset(server, 0, sizeof(*server));
		client->suite = server->suite = suite;
		client->version = server->version = version;
		memcpy(client->mac_key, p, ml);
		memcpy(server->mac_key, p + ml, ml);
		p += 2 * ml;
		memcpy(client->key, p, kl);
		memcpy(server->key, p + kl, kl);
		p += 2 * kl;
		memcpy(client->iv, p, il);
		memcpy(server->iv, p + il, il);
	}
	tt_wipe(kb, sizeof(kb));
	return rc;
}

/* CBC whose IV is the previous record's last block (TLS 1.0, SSL 3.0). */
static bool implicit_iv(const struct tt_rkeys *k)
{
	return k->suite->mode == TT_MODE_CBC && k->version <= TT_V_TLS10;
}

size_t tt_tls12_explicit(const struct tt_rkeys *k)
{
	return implicit_iv(k) ? 0 : k->suite->explicit_nonce;
}

/* The 13-byte seq_num + type + version + length that the AEADs' AAD and
 * the HMAC start with; SSL 3.0's MAC leaves the version out (11). */
static size_t mac_header(const struct tt_rkeys *k, uint8_t type,
			 uint16_t version, size_t len, uint8_t *h)
{
	size_t n = 8;
	put_u64(h, k->seq);
	h[n++] = type;
	if (k->version != TT_V_SSL3 || aead_mode(k->suite->mode)) {
		h[n++] = (uint8_t)(version >> 8);
		h[n++] = (uint8_t)version;
	}
	h[n++] = (uint8_t)(len >> 8);
	h[n++] = (uint8_t)len;
	return n;
}

static size_t hash_block(enum tt_hash h)
{
	return h == TT_HASH_SHA384 ? 128 : 64;
}

/* The record MAC under k of hdr (mac_header) followed by data: HMAC
 * (RFC 2104) built on the table's incremental hashes, so that the data
 * is not copied; SSL 3.0's MAC likewise.  out: tt_hash_len bytes. */
static tt_rc record_mac(const struct tt_crypto *cr, const struct tt_rkeys *k,
			const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
			size_t len, uint8_t *out)
{
	enum tt_hash h = k->suite->mac_hash;
	size_t hl = tt_hash_len(h), bl = hash_block(h), pl = bl;
	uint8_t pad[128], inner[TT_HASH_MAX];
	const uint8_t *key = k->mac_key;
	void *st = NULL;
	bool ssl3 = k->version == TT_V_SSL3, ok;

	if (ssl3) {
		/* key + pad_1 + ..., then key + pad_2 + inner hash */
		pl = h == TT_HASH_MD5 ? 48 : 40;
		memset(pad, 0x36, pl);
	} else {
		memset(pad, 0, bl);
		memcpy(pad, key, hl); /* MAC keys are shorter than a block */
		for (size_t i = 0; i < bl; i++)
			pad[i] ^= 0x36;
	}
	ok = cr->hash_new(cr->ctx, h, &st) == 0 &&
	     (!ssl3 || cr->hash_update(cr->ctx, st, key, hl) == 0) &&
	     cr->hash_update(cr->ctx, st, pad, pl) == 0 &&
	     cr->hash_update(cr->ctx, st, hdr, hdr_len) == 0 &&
	     cr->hash_update(cr->ctx, st, data, len) == 0 &&
	     cr->hash_final(cr->ctx, st, inner) == 0;
	cr->hash_free(cr->ctx, st);
	st = NULL;
	for (size_t i = 0; i < pl; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && cr->hash_new(cr->ctx, h, &st) == 0 &&
	     (!ssl3 || cr->hash_update(cr->ctx, st, key, hl) == 0) &&
	     cr->hash_update(cr->ctx, st, pad, pl) == 0 &&
	     cr->hash_update(cr->ctx, st, inner, hl) == 0 &&
	     cr->hash_final(cr->ctx, st, out) == 0;
	cr->hash_free(cr->ctx, st);
	tt_wipe(pad, sizeof(pad));
	tt_wipe(inner, sizeof(inner));
	return ok ? TT_OK : TT_DECODE;
}

/* Whether the MAC under k of hdr + data is mac. */
static bool mac_ok(const struct tt_crypto *cr, const struct tt_rkeys *k,
		   const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		   size_t len, const uint8_t *mac)
{
	uint8_t m[TT_HASH_MAX];
	bool ok = record_mac(cr, k, hdr, hdr_len, data, len, m) == TT_OK &&
		  tt_same_secret(m, mac, tt_hash_len(k->suite->mac_hash));
	tt_wipe(m, sizeof(m));
	return ok;
}

static tt_rc open_aead(const struct tt_crypto *cr, struct tt_rkeys *k,
		       uint8_t rtype, uint16_t version, struct tt_cur body,
		       uint8_t *out, size_t out_cap, size_t *out_len)
{
	const uint8_t *explicit_nonce, *ct, *tag;
	uint8_t nonce[TT_AEAD_NONCE_LEN], aad[AAD12_LEN];
	size_t n, en = k->suite->explicit_nonce;
	size_t tl = tt_aead_tag_len(k->suite->aead);

	ENSURE(tt_cur_left(&body) >= en + tl, TT_DECODE);
	n = tt_cur_left(&body) - en - tl;
	ENSURE(out_cap >= n, TT_TOO_BIG);
	TRY(tt_bytes(&body, en, &explicit_nonce));
	TRY(tt_bytes(&body, n, &ct));
	TRY(tt_bytes(&body, tl, &tag));

	if (en) {
		memcpy(nonce, k->iv, TT_AEAD_NONCE_LEN - en);
		memcpy(nonce + TT_AEAD_NONCE_LEN - en, explicit_nonce, en);
	} else {
		tt_record_nonce(k->iv, k->seq, nonce);
	}
	(void)mac_header(k, rtype, version, n, aad);
	if (cr->aead_open(cr->ctx, k->suite->aead, k->key, nonce, aad,
			  sizeof(aad), ct, n, out, tag) != 0) {
		tt_wipe(out, n);
		return TT_DECODE;
	}
	*out_len = n;
	return TT_OK;
}

static tt_rc open_cbc(const struct tt_crypto *cr, struct tt_rkeys *k,
		      uint8_t rtype, uint16_t version, struct tt_cur body,
		      uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t bs = tt_cipher_block(k->suite->cipher);
	size_t ml = tt_hash_len(k->suite->mac_hash);
	size_t en = tt_tls12_explicit(k), n, pad, content;
	const uint8_t *iv, *ct, *mac = NULL, *whole = body.p;
	uint8_t hdr[AAD12_LEN], next_iv[TT_CIPHER_BLOCK_MAX];
	bool tls = k->version != TT_V_SSL3;

	if (k->etm) {
		ENSURE(tt_cur_left(&body) >= en + ml, TT_DECODE);
		n = tt_cur_left(&body) - en - ml;
	} else {
		n = tt_cur_left(&body) - (tt_cur_left(&body) >= en ? en : 0);
	}
	ENSURE(tt_cur_left(&body) >= en + bs && n >= bs && n % bs == 0,
	       TT_DECODE);
	/* MAC-then-encrypt: the MAC and the padding length inside */
	ENSURE(k->etm || n >= ml + 1, TT_DECODE);
	ENSURE(out_cap >= n, TT_TOO_BIG);
	TRY(tt_bytes(&body, en, &iv));
	TRY(tt_bytes(&body, n, &ct));
	if (k->etm) {
		TRY(tt_bytes(&body, ml, &mac));
		size_t hl = mac_header(k, rtype, version, en + n, hdr);
		if (!mac_ok(cr, k, hdr, hl, whole, en + n, mac))
			return TT_DECODE;
	}
	if (!en)
		iv = k->iv;
	memcpy(next_iv, ct + n - bs, bs); /* before an in-place decrypt */
	if (cr->cbc_decrypt(cr->ctx, k->suite->cipher, k->key, iv, ct, n,
			    out) != 0)
		goto fail;
	pad = out[n - 1];
	if (k->etm) {
		if (pad + 1 > n)
			goto fail;
		content = n - pad - 1;
	} else {
		if (pad + 1 + ml > n)
			goto fail;
		content = n - pad - 1 - ml;
	}
	if (tls) {
		for (size_t i = n - 1 - pad; i < n - 1; i++)
			if (out[i] != pad)
				goto fail;
	} else if (pad >= bs) {
		goto fail;
	}
	if (!k->etm) {
		size_t hl = mac_header(k, rtype, version, content, hdr);
		if (!mac_ok(cr, k, hdr, hl, out, content, out + content))
			goto fail;
	}
	if (implicit_iv(k))
		memcpy(k->iv, next_iv, bs);
	/* the MAC and padding after the content are not the caller's */
	tt_wipe(out + content, n - content);
	*out_len = content;
	return TT_OK;
fail:
	tt_wipe(out, n);
	return TT_DECODE;
}

/* RC4 or NULL: the content, then its MAC. */
static tt_rc open_stream(const struct tt_crypto *cr, struct tt_rkeys *k,
			 uint8_t rtype, uint16_t version, struct tt_cur body,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t ml = tt_hash_len(k->suite->mac_hash), n, content;
	bool rc4 = k->suite->mode == TT_MODE_STREAM;
	uint8_t hdr[AAD12_LEN];
	void *st = NULL;

	n = tt_cur_left(&body);
	ENSURE(n >= ml, TT_DECODE);
	ENSURE(out_cap >= n, TT_TOO_BIG);
	if (rc4) {
		if (!k->stream && cr->stream_new(cr->ctx, k->suite->cipher,
						 k->key, &k->stream) != 0) {
			k->stream = NULL;
			return TT_DECODE;
		}
		/* tried on a copy: the state moves on only if it opens */
		if (cr->stream_copy(cr->ctx, k->stream, &st) != 0)
			return TT_DECODE;
		if (cr->stream_xor(cr->ctx, st, body.p, n, out) != 0)
			goto fail;
	} else if (out != body.p) {
		memmove(out, body.p, n);
	}
	content = n - ml;
	size_t hl = mac_header(k, rtype, version, content, hdr);
	if (!mac_ok(cr, k, hdr, hl, out, content, out + content))
		goto fail;
	if (rc4) {
		cr->stream_free(cr->ctx, k->stream);
		k->stream = st;
	}
	tt_wipe(out + content, ml);
	*out_len = content;
	return TT_OK;
fail:
	cr->stream_free(cr->ctx, st);
	tt_wipe(out, n);
	return TT_DECODE;
}

tt_rc tt_tls12_open(const struct tt_crypto *cr, struct tt_rkeys *k,
		    const uint8_t *rec, size_t rec_len, uint8_t *out,
		    size_t out_cap, size_t *out_len)
{
	*out_len = 0;
	ENSURE(k->suite && !k->suite->tls13 && k->suite->decrypt,
	       TT_UNSUPPORTED);
	ENSURE(rec_len >= TT_RECORD_HDR, TT_DECODE);
	return tt_tls12_open_body(cr, k, rec, rec + TT_RECORD_HDR,
				  rec_len - TT_RECORD_HDR, out, out_cap,
				  out_len);
}

tt_rc tt_tls12_open_body(const struct tt_crypto *cr, struct tt_rkeys *k,
			 const uint8_t *hdr, const uint8_t *body,
			 size_t body_len, uint8_t *out, size_t out_cap,
			 size_t *out_len)
{
	struct tt_cur b = tt_cur_make(body, body_len);
	uint8_t rtype = hdr[0];
	uint16_t version = (uint16_t)(hdr[1] << 8 | hdr[2]);
	tt_rc rc;

	*out_len = 0;
	ENSURE(k->suite && !k->suite->tls13 && k->suite->decrypt,
	       TT_UNSUPPORTED);
	ENSURE(((size_t)hdr[3] << 8 | hdr[4]) == body_len, TT_DECODE);
	ENSURE(body_len <= TT_TLS12_CIPHERTEXT_MAX, TT_TOO_BIG);
	ENSURE(k->seq != UINT64_MAX, TT_TOO_BIG);
	/* the IV of a record after one passed over unseen is not known */
	ENSURE(!(implicit_iv(k) && k->iv_lost), TT_DECODE);
	switch (k->suite->mode) {
	case TT_MODE_CBC:
		rc = open_cbc(cr, k, rtype, version, b, out, out_cap, out_len);
		break;
	case TT_MODE_STREAM:
	case TT_MODE_NULL:
		rc = open_stream(cr, k, rtype, version, b, out, out_cap,
				 out_len);
		break;
	default:
		rc = open_aead(cr, k, rtype, version, b, out, out_cap, out_len);
		break;
	}
	if (rc == TT_OK)
		k->seq++;
	return rc;
}

tt_rc tt_tls12_skip(const struct tt_crypto *cr, struct tt_rkeys *k,
		    const uint8_t *hdr, const uint8_t *body)
{
	size_t n = (size_t)hdr[3] << 8 | hdr[4];

	ENSURE(k->suite && !k->suite->tls13, TT_UNSUPPORTED);
	k->seq++;
	if (implicit_iv(k)) {
		size_t bs = tt_cipher_block(k->suite->cipher);
		size_t end = n - (k->etm ? tt_hash_len(k->suite->mac_hash) : 0);
		k->iv_lost = !body || n < bs || end < bs || end > n;
		if (!k->iv_lost)
			memcpy(k->iv, body + end - bs, bs);
	} else if (k->suite->mode == TT_MODE_STREAM) {
		static const uint8_t zeros[1024];
		uint8_t sink[sizeof(zeros)];
		if (!k->stream && cr->stream_new(cr->ctx, k->suite->cipher,
						 k->key, &k->stream) != 0) {
			k->stream = NULL;
			return TT_DECODE;
		}
		for (size_t done = 0; done < n;) {
			size_t take = n - done < sizeof(zeros) ? n - done
							       : sizeof(zeros);
			if (cr->stream_xor(cr->ctx, k->stream, zeros, take,
					   sink) != 0)
				return TT_DECODE;
			done += take;
		}
		tt_wipe(sink, sizeof(sink));
	}
	return TT_OK;
}
