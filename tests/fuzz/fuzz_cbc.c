/* libFuzzer target for the record protection of TLS 1.2 and earlier in
 * decoder/base/keysched.c: CBC (MAC-then-encrypt and encrypt_then_mac,
 * explicit IV or chained from the record before), RC4, the NULL cipher
 * and the TLS 1.2 AEADs, under SSL 3.0 to TLS 1.2, with libcrypto linked
 * directly as the crypto table (tests/unit/helpers/ossl_crypto.c).
 *
 * A sender made here seals records as the input says, with its own
 * sequence number, chained IV and RC4 state; a receiver (struct
 * tt_rkeys from tt_tls12_keys over the same master secret) opens them,
 * passes some over (with or without their bodies), and meets tampered
 * copies and records of raw input bytes.
 *
 * Input:
 *   byte 0      the suite, an index into suites[] below (modulo)
 *   byte 1      bits 0-1: the version, SSL 3.0 + n; bit 2:
 *               encrypt_then_mac (CBC suites, TLS 1.0 and later)
 *   then        operations, each one byte op and its arguments:
 *     op % 5 == 0  seal and open:   u8 type, u16 length (mod 16385),
 *                                   u8 extra padding blocks (CBC)
 *     op % 5 == 1  seal, pass over with its body: as 0
 *     op % 5 == 2  seal, pass over without its body: as 0
 *     op % 5 == 3  seal, flip one bit: as 0, then u16 bit position; the
 *                  tampered copy is offered, then the real record
 *     op % 5 == 4  raw: u16 length, that many bytes after a header of
 *                  application_data; offered as it is: it must not open,
 *                  unless it is what the sender would send next (a NULL
 *                  cipher's MAC is in clear: the fuzzer may write it)
 *   The content of sealed records is a pattern of their sequence number.
 *
 * Checks, after every operation:
 *   - a record sealed here opens, to exactly its content, unless the
 *     record before went by without its body under a chained IV (then it
 *     must not open, and is passed over; the IV is known again after);
 *   - a record that does not open leaves the receiver as it was (its
 *     sequence number and next IV); a tampered copy that opens gives back
 *     exactly the original content (SSL 3.0's padding bytes are not
 *     covered by anything);
 *   - raw bytes never open (no MAC can be forged here), nor move the
 *     receiver;
 *   - out is never written past what tt_tls12_open says (an exact-size
 *     buffer: AddressSanitizer).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "keysched.h"
#include "ossl_crypto.h"

#define CR (*ossl_crypto())

/* CBC of each cipher and MAC, RC4, NULL, and some AEADs. */
static const uint16_t suites[] = {
	0x002f, /* AES_128_CBC_SHA */
	0x003d, /* AES_256_CBC_SHA256 */
	0xc024, /* ECDHE_ECDSA_AES_256_CBC_SHA384 */
	0x000a, /* 3DES_EDE_CBC_SHA */
	0x0009, /* DES_CBC_SHA */
	0x0096, /* SEED_CBC_SHA */
	0x0041, /* CAMELLIA_128_CBC_SHA */
	0xc03c, /* ARIA_128_CBC_SHA256 */
	0x0004, /* RC4_128_MD5 */
	0x0005, /* RC4_128_SHA */
	0x0001, /* NULL_MD5 */
	0x0002, /* NULL_SHA */
	0x003b, /* NULL_SHA256 */
	0xc02b, /* ECDHE_ECDSA_AES_128_GCM_SHA256 */
	0xc0a0, /* AES_128_CCM_8 */
	0xcca8, /* ECDHE_RSA_CHACHA20_POLY1305 */
	0xc050, /* ARIA_128_GCM_SHA256 */
};

struct sender {
	const struct tt_suite *s;
	uint16_t version;
	bool etm;
	uint8_t mac_key[TT_HASH_MAX], key[32], iv[16];
	uint64_t seq;
	void *rc4;
};

struct in {
	const uint8_t *p;
	size_t n;
};

FZ_NOCOV static unsigned get8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

FZ_NOCOV static unsigned get16(struct in *in)
{
	unsigned hi = get8(in);
	return hi << 8 | get8(in);
}

FZ_NOCOV static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* HMAC, or SSL 3.0's MAC, over seq + type + [version] + length + data. */
FZ_NOCOV static void sender_mac(const struct sender *sd, uint8_t type,
				const uint8_t *data, size_t len, uint8_t *out)
{
	static uint8_t buf[13 + 20000], in[200 + 13 + 20000];
	enum tt_hash h = sd->s->mac_hash;
	size_t n = 8, hl = tt_hash_len(h);
	put_u64(buf, sd->seq);
	buf[n++] = type;
	if (sd->version != TT_V_SSL3) {
		buf[n++] = (uint8_t)(sd->version >> 8);
		buf[n++] = (uint8_t)sd->version;
	}
	buf[n++] = (uint8_t)(len >> 8);
	buf[n++] = (uint8_t)len;
	memcpy(buf + n, data, len);
	n += len;
	if (sd->version != TT_V_SSL3) {
		if (CR.hmac(CR.ctx, h, sd->mac_key, hl, buf, n, out) != 0)
			fz_fail("hmac");
		return;
	}
	size_t pl = h == TT_HASH_MD5 ? 48 : 40;
	uint8_t inner[TT_HASH_MAX];
	memcpy(in, sd->mac_key, hl);
	memset(in + hl, 0x36, pl);
	memcpy(in + hl + pl, buf, n);
	if (CR.digest(CR.ctx, h, in, hl + pl + n, inner) != 0)
		fz_fail("digest");
	memset(in + hl, 0x5c, pl);
	memcpy(in + hl + pl, inner, hl);
	if (CR.digest(CR.ctx, h, in, 2 * hl + pl, out) != 0)
		fz_fail("digest");
}

/* Seals content into rec (header included); returns its length. */
FZ_NOCOV static size_t seal(struct sender *sd, uint8_t type,
			    const uint8_t *content, size_t len, unsigned extra,
			    uint8_t *rec)
{
	const struct tt_suite *s = sd->s;
	size_t ml = tt_hash_len(s->mac_hash), n = 0;
	uint8_t *body = rec + 5;
	rec[0] = type;
	rec[1] = (uint8_t)(sd->version >> 8);
	rec[2] = (uint8_t)sd->version;
	if (s->mode == TT_MODE_CBC) {
		size_t bs = tt_cipher_block(s->cipher), m;
		bool explicit_iv = sd->version >= TT_V_TLS11;
		uint8_t iv[16];
		if (explicit_iv) {
			for (size_t i = 0; i < bs; i++)
				iv[i] = (uint8_t)(sd->seq * 131 + i);
			memcpy(body, iv, bs);
			n = bs;
		} else {
			memcpy(iv, sd->iv, bs);
		}
		uint8_t *ct = body + n;
		memcpy(ct, content, len);
		m = len;
		if (!sd->etm) {
			sender_mac(sd, type, content, len, ct + m);
			m += ml;
		}
		size_t pad = (bs - (m + 1) % bs) % bs;
		if (sd->version != TT_V_SSL3)
			while (extra-- && pad + bs <= 255)
				pad += bs;
		memset(ct + m, (int)pad, pad + 1);
		m += pad + 1;
		if (CR.cbc_encrypt(CR.ctx, s->cipher, sd->key, iv, ct, m, ct))
			fz_fail("cbc_encrypt");
		if (!explicit_iv)
			memcpy(sd->iv, ct + m - bs, bs);
		n += m;
		if (sd->etm) {
			sender_mac(sd, type, body, n, body + n);
			n += ml;
		}
	} else if (s->mode == TT_MODE_STREAM || s->mode == TT_MODE_NULL) {
		memcpy(body, content, len);
		sender_mac(sd, type, content, len, body + len);
		n = len + ml;
		if (sd->rc4 && CR.stream_xor(CR.ctx, sd->rc4, body, n, body))
			fz_fail("stream_xor");
	} else {
		uint8_t nonce[12], aad[13];
		size_t en = s->explicit_nonce;
		if (en) {
			memcpy(nonce, sd->iv, 4);
			put_u64(nonce + 4, sd->seq);
			memcpy(body, nonce + 4, 8);
		} else {
			tt_record_nonce(sd->iv, sd->seq, nonce);
		}
		put_u64(aad, sd->seq);
		aad[8] = type;
		aad[9] = rec[1];
		aad[10] = rec[2];
		aad[11] = (uint8_t)(len >> 8);
		aad[12] = (uint8_t)len;
		if (CR.aead_seal(CR.ctx, s->aead, sd->key, nonce, aad, 13,
				 content, len, body + en, body + en + len))
			fz_fail("aead_seal");
		n = en + len + tt_aead_tag_len(s->aead);
	}
	rec[3] = (uint8_t)(n >> 8);
	rec[4] = (uint8_t)n;
	sd->seq++;
	return n + 5;
}

/* Opens rec from an exact-size copy into an exact-size buffer. */
FZ_NOCOV static tt_rc open_copy(struct tt_rkeys *k, const uint8_t *rec,
				size_t len, uint8_t **out, size_t *olen)
{
	uint8_t *c = malloc(len ? len : 1);
	size_t en = tt_tls12_explicit(k);
	size_t cap = len > 5 + en ? len - 5 - en : 1;
	if (!c)
		abort();
	memcpy(c, rec, len);
	*out = malloc(cap);
	if (!*out)
		abort();
	tt_rc rc = tt_tls12_open(&CR, k, c, len, *out, cap, olen);
	free(c);
	return rc;
}

/* Whether k is as it was (sequence number, next IV). */
FZ_NOCOV static void same_keys(const struct tt_rkeys *k, uint64_t seq,
			       const uint8_t *iv, const char *what)
{
	if (k->seq != seq || memcmp(k->iv, iv, sizeof(k->iv)) != 0)
		fz_fail("%s: the receiver moved on a record that did not open",
			what);
}

/* Whether rec (header + n bytes) is what sd would send next under a
 * NULL cipher: content, then its MAC. */
FZ_NOCOV static bool null_authentic(const struct sender *sd, const uint8_t *rec,
				    size_t n)
{
	size_t hl = tt_hash_len(sd->s->mac_hash);
	if (sd->s->mode != TT_MODE_NULL || n < hl)
		return false;
	uint8_t m[TT_HASH_MAX];
	sender_mac(sd, rec[0], rec + 5, n - hl, m);
	return memcmp(m, rec + 5 + n - hl, hl) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rec[5 + 20000], tampered[5 + 20000], content[16384];
	struct in in = {data, size};
	if (size < 2)
		return 0;
	const struct tt_suite *s =
		tt_suite_find(suites[get8(&in) % (sizeof(suites) / 2)]);
	unsigned flags = get8(&in);
	uint16_t version = (uint16_t)(TT_V_SSL3 + (flags & 3));
	bool aead = s->mode != TT_MODE_CBC && s->mode != TT_MODE_STREAM &&
		    s->mode != TT_MODE_NULL;
	if (aead)
		version = TT_V_TLS12;
	bool etm = (flags & 4) && s->mode == TT_MODE_CBC &&
		   version != TT_V_SSL3;
	if ((s->mode == TT_MODE_CBC || s->mode == TT_MODE_STREAM) &&
	    CR.has(CR.ctx, TT_ALG_CIPHER, (int)s->cipher) != 0)
		return 0; /* not in this libcrypto */

	uint8_t master[48], crand[32], srand[32];
	for (int i = 0; i < 48; i++)
		master[i] = (uint8_t)(i * 5 + flags);
	for (int i = 0; i < 32; i++) {
		crand[i] = (uint8_t)i;
		srand[i] = (uint8_t)(0x80 + i);
	}
	struct tt_rkeys kc, ks;
	tt_rc rc =
		tt_tls12_keys(&CR, s, version, master, crand, srand, &kc, &ks);
	if (rc == TT_UNSUPPORTED)
		return 0; /* SSL 3.0 with a SHA-2 MAC */
	if (rc != TT_OK)
		fz_fail("tt_tls12_keys: %d", rc);
	kc.etm = etm;
	struct sender sd = {.s = s, .version = version, .etm = etm};
	memcpy(sd.mac_key, kc.mac_key, sizeof(sd.mac_key));
	memcpy(sd.key, kc.key, sizeof(sd.key));
	memcpy(sd.iv, kc.iv, sizeof(sd.iv));
	if (s->mode == TT_MODE_STREAM &&
	    CR.stream_new(CR.ctx, s->cipher, sd.key, &sd.rc4) != 0)
		fz_fail("stream_new");

	bool lost = false; /* the receiver's next IV went by unseen */
	for (int ops = 0; in.n > 0 && ops < 64; ops++) {
		unsigned op = get8(&in) % 5;
		uint64_t seq = kc.seq;
		uint8_t iv[sizeof(kc.iv)];
		uint8_t *out = NULL;
		size_t olen = 0;
		memcpy(iv, kc.iv, sizeof(iv));
		if (op == 4) {
			size_t n = get16(&in) % 2048;
			if (n > in.n)
				n = in.n;
			rec[0] = 23;
			rec[1] = 3;
			rec[2] = (uint8_t)version;
			rec[3] = (uint8_t)(n >> 8);
			rec[4] = (uint8_t)n;
			memcpy(rec + 5, in.p, n);
			in.p += n;
			in.n -= n;
			rc = open_copy(&kc, rec, n + 5, &out, &olen);
			if (rc == TT_OK) {
				/* only a record the sender would have made
				 * opens: under a NULL cipher its MAC is in
				 * clear, and a fuzzer can come to write it */
				if (!null_authentic(&sd, rec, n))
					fz_fail("raw bytes opened (%zu bytes)",
						n);
				sd.seq++;
				free(out);
				continue;
			}
			same_keys(&kc, seq, iv, "raw");
			free(out);
			continue;
		}
		uint8_t type = (uint8_t)(20 + get8(&in) % 4);
		size_t len = get16(&in) % 16385;
		unsigned extra = get8(&in) % 20;
		for (size_t i = 0; i < len; i++)
			content[i] = (uint8_t)(sd.seq * 7 + i);
		size_t n = seal(&sd, type, content, len, extra, rec);
		if (op == 1 || op == 2) {
			rc = tt_tls12_skip(&CR, &kc, rec,
					   op == 1 ? rec + 5 : NULL);
			if (rc != TT_OK)
				fz_fail("skip: %d", rc);
			if (kc.seq != seq + 1)
				fz_fail("skip: sequence number");
			lost = kc.iv_lost;
			if (lost != (op == 2 && s->mode == TT_MODE_CBC &&
				     version <= TT_V_TLS10))
				fz_fail("skip: iv_lost %d", lost);
			continue;
		}
		if (op == 3) {
			size_t bit = get16(&in) % (8 * n);
			memcpy(tampered, rec, n);
			tampered[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = open_copy(&kc, tampered, n, &out, &olen);
			if (rc == TT_OK) {
				/* only bits nothing covers: SSL 3.0's
				 * padding bytes (not its length) */
				if (lost || olen != len ||
				    (len && memcmp(out, content, len) != 0))
					fz_fail("a tampered record opened to "
						"other content (bit %zu)",
						bit);
				free(out);
				continue;
			}
			same_keys(&kc, seq, iv, "tampered");
			free(out);
			out = NULL;
		}
		rc = open_copy(&kc, rec, n, &out, &olen);
		if (lost) {
			/* chained IV unknown: not opened, passed over */
			if (rc == TT_OK)
				fz_fail("opened without its IV");
			same_keys(&kc, seq, iv, "after a lost IV");
			if (tt_tls12_skip(&CR, &kc, rec, rec + 5) != TT_OK ||
			    kc.iv_lost)
				fz_fail("skip after a lost IV");
			lost = false;
		} else if (rc != TT_OK) {
			fz_fail("a record sealed here did not open: %d "
				"(suite 0x%04x, version 0x%04x, etm %d, "
				"length %zu)",
				rc, s->code, version, etm, len);
		} else if (olen != len || (len && memcmp(out, content, len))) {
			fz_fail("opened to other content");
		}
		free(out);
	}
	CR.stream_free(CR.ctx, sd.rc4);
	tt_wipe(&sd, sizeof(sd));
	tt_rkeys_release(&CR, &kc);
	tt_rkeys_release(&CR, &ks);
	return 0;
}
