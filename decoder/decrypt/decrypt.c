/* Record decryption with secrets from a key source (struct tt_keysrc).
 *
 * TLS 1.3 (RFC 8446 7.1-7.3, 5.2): each direction starts, after the
 * ServerHello, with its handshake traffic secret; its Finished moves it to
 * the first application traffic secret, each of its KeyUpdates to the
 * next one (derived here: libraries log only the first).  A record of
 * outer type application_data is peeked at, not decrypted: the keystream
 * of its last block gives the last plaintext bytes, and scanning back over
 * the zero padding finds the inner content type.  Only handshake and alert
 * records are decrypted (and authenticated) in full.
 *
 * TLS 1.2 and earlier, down to SSL 3.0 (RFC 5246 6.3, 6.2.3): a
 * ChangeCipherSpec puts the direction on the keys of the handshake in
 * progress, made from its master secret (CLIENT_RANDOM), both randoms,
 * the negotiated version and, for CBC suites, whether that handshake
 * agreed on encrypt_then_mac; handshake, alert and CCS records after it
 * are decrypted and authenticated, application data passed over: only
 * counted, except that RC4's keystream moves on by its length and, before
 * TLS 1.1, a CBC record's last block is kept as the next one's IV (its
 * body is then needed).  A suite whose cipher the libcrypto lacks at run
 * time (RC4, DES, IDEA, SEED without OpenSSL 3's legacy provider) is not
 * decrypted, and said so.
 * A compressed epoch (tt_dir_inflating) is one DEFLATE stream, which the
 * record layer inflates: its application data is decrypted too, every
 * record in turn.
 *
 * A record whose keys are not here yet waits in the record layer's queue
 * (TT_DEC_WAIT) and is offered again when it drains.  Secrets
 * live in a direction's struct tt_kdir only while it decrypts, and are
 * wiped when they are replaced or the connection ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "decrypt.h"
#include "keysched.h"
#include "names.h"

/* How many blocks back from a record's end the inner type is looked for
 * before the record is decrypted in full (heavy padding is rare). */
#define PEEK_BLOCKS 4

struct tt_kdir {
	const struct tt_suite *suite;
	const struct tt_crypto *cr;
	struct tt_rkeys k;
	uint8_t secret[TT_HASH_MAX]; /* TLS 1.3: this epoch's traffic secret */
	/* The randoms of the handshake these keys belong to, taken when the
	 * epoch starts: the client's names the secret in the key log, the
	 * server's (TLS 1.2) goes into the key block. */
	uint8_t crandom[TT_RANDOM_LEN], srandom[TT_RANDOM_LEN];
	/* TLS 1.2 and earlier: that handshake's version and its
	 * encrypt_then_mac agreement, likewise taken at the CCS */
	uint16_t version;
	bool etm;
};

static void kd_free(struct tt_dirstate *d)
{
	if (!d->kd)
		return;
	tt_rkeys_release(d->kd->cr, &d->kd->k);
	tt_wipe(d->kd, sizeof(*d->kd));
	free(d->kd);
	d->kd = NULL;
}

void tt_dec_release(struct tt_conn *c, enum tt_dir dir)
{
	kd_free(&c->d[dir]);
}

static bool keys_possible(const struct tt_conn *c)
{
	return c->ks && c->ks->get && c->ks->crypto &&
	       (!c->ks->expect || c->ks->expect(c->ks->ctx));
}

static void stop(struct tt_conn *c, enum tt_dir dir)
{
	struct tt_dirstate *d = &c->d[dir];
	d->kstate = TT_K_OFF;
	kd_free(d);
}

/* Starts waiting for keys in dir, with a fresh struct tt_kdir. */
static bool start_wait(struct tt_conn *c, enum tt_dir dir,
		       const struct tt_suite *suite)
{
	struct tt_dirstate *d = &c->d[dir];
	kd_free(d);
	d->kd = calloc(1, sizeof(*d->kd));
	if (!d->kd) {
		d->kstate = TT_K_OFF;
		return false;
	}
	d->kd->suite = suite;
	d->kstate = TT_K_WAIT;
	d->k_opened = false;
	return true;
}

/* TLS 1.3: the first encrypted record after the ServerHello decides, once
 * per direction, whether that direction is decrypted. */
static void enter13(struct tt_conn *c, enum tt_dir dir)
{
	struct tt_dirstate *d = &c->d[dir];
	if (d->kstate != TT_K_NONE || tt_conn_version(c) < TT_V_TLS13 ||
	    !c->sh_seen)
		return;
	enum tt_role sender = tt_sender(c, dir);
	if (sender == TT_ROLE_UNKNOWN)
		return;
	if (!keys_possible(c)) {
		d->kstate = TT_K_OFF;
		return;
	}
	const struct tt_suite *suite = tt_suite_find(c->cipher);
	if (!suite || !suite->tls13) {
		c->dec_unsupported = true;
		d->kstate = TT_K_OFF;
		return;
	}
	if (!start_wait(c, dir, suite))
		return;
	d->klabel = sender == TT_ROLE_CLIENT
			    ? TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET
			    : TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET;
	memcpy(d->kd->crandom, c->crandom, TT_RANDOM_LEN);
}

bool tt_dec_need_body(struct tt_conn *c, enum tt_dir dir, uint8_t type)
{
	struct tt_dirstate *d = &c->d[dir];
	enter13(c, dir);
	if (d->kstate != TT_K_WAIT && d->kstate != TT_K_ON)
		return false;
	if (tt_conn_version(c) >= TT_V_TLS13)
		return type == TT_CT_APPLICATION_DATA;
	/* CBC before TLS 1.1: the last block of every record is the next
	 * one's IV */
	return type != TT_CT_APPLICATION_DATA || tt_dir_inflating(d) ||
	       (d->kd->suite->mode == TT_MODE_CBC &&
		d->kd->version <= TT_V_TLS10);
}

/* Whether the libcrypto has all that suite's records need under version:
 * its AEAD, or its cipher and MAC hash, and the hashes of the key block
 * (MD5 and SHA-1 before TLS 1.2). */
static bool crypto_has(const struct tt_crypto *cr, const struct tt_suite *s,
		       uint16_t version)
{
	if (s->tls13)
		return cr->has(cr->ctx, TT_ALG_AEAD, (int)s->aead) == 0;
	if (version < TT_V_TLS12 &&
	    (cr->has(cr->ctx, TT_ALG_HASH, TT_HASH_MD5) != 0 ||
	     cr->has(cr->ctx, TT_ALG_HASH, TT_HASH_SHA1) != 0))
		return false;
	switch (s->mode) {
	case TT_MODE_CBC:
	case TT_MODE_STREAM:
		if (cr->has(cr->ctx, TT_ALG_CIPHER, (int)s->cipher) != 0)
			return false;
		/* fall through */
	case TT_MODE_NULL:
		return cr->has(cr->ctx, TT_ALG_HASH, (int)s->mac_hash) == 0;
	default:
		return cr->has(cr->ctx, TT_ALG_AEAD, (int)s->aead) == 0;
	}
}

/* Installs the keys dir waits for, if its secret is known.  false: still
 * waiting (kstate TT_K_WAIT) or given up (TT_K_OFF). */
static bool install(struct tt_conn *c, enum tt_dir dir,
		    const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	struct tt_kdir *kd = d->kd;
	bool tls13 = kd->suite->tls13;
	enum tt_keylog_label label = tls13 ? (enum tt_keylog_label)d->klabel
					   : TT_KL_CLIENT_RANDOM;
	uint8_t secret[TT_KEYLOG_SECRET_MAX];
	size_t want = tls13 ? tt_hash_len(kd->suite->hash)
			    : TT_MASTER_SECRET_LEN;
	/* The peer's answer can be fed before this process's own ClientHello
	 * when two threads read and write the socket: the wait started
	 * without a client random, taken now that it is known. */
	static const uint8_t zero[TT_RANDOM_LEN];
	if (memcmp(kd->crandom, zero, TT_RANDOM_LEN) == 0 && c->ch_seen)
		memcpy(kd->crandom, c->crandom, TT_RANDOM_LEN);
	size_t got = c->ks->get(c->ks->ctx, kd->crandom, label, secret);
	if (got == 0)
		return false;
	bool ok = false;
	const char *why = "libcrypto could not be loaded";
	if (got != want) {
		char detail[96];
		snprintf(detail, sizeof(detail),
			 "%s secret of %zu bytes, the suite needs %zu",
			 tt_keylog_label_name(label), got, want);
		tt_emit_decode_error(
			em, dir, "logged secret does not fit the cipher suite",
			detail);
		c->dec_failed = true;
		goto out;
	}
	kd->cr = c->ks->crypto(c->ks->ctx, &why);
	if (!kd->cr) {
		tt_emit_decode_error(em, dir, "cannot decrypt", why);
		c->dec_nocrypto = true;
		goto out;
	}
	if (!crypto_has(kd->cr, kd->suite, kd->version)) {
		/* a cipher (or MD5) this libcrypto lacks */
		c->dec_unsupported = true;
		goto out;
	}
	if (tls13) {
		ok = tt_tls13_traffic_keys(kd->cr, kd->suite, secret, &kd->k) ==
		     TT_OK;
		memcpy(kd->secret, secret, want);
		/* the early records before this one used these keys */
		if (label == TT_KL_CLIENT_EARLY_TRAFFIC_SECRET)
			kd->k.seq = c->early_records;
	} else {
		struct tt_rkeys ck, sk;
		ok = tt_tls12_keys(kd->cr, kd->suite, kd->version, secret,
				   kd->crandom, kd->srandom, &ck, &sk) == TT_OK;
		/* no stream state yet: copies are plain bytes */
		kd->k = tt_sender(c, dir) == TT_ROLE_CLIENT ? ck : sk;
		kd->k.etm = kd->etm;
		tt_rkeys_wipe(&ck);
		tt_rkeys_wipe(&sk);
	}
	if (!ok) {
		tt_emit_decode_error(em, dir, "cannot decrypt",
				     "key derivation failed");
		c->dec_failed = true;
	}
out:
	tt_wipe(secret, sizeof(secret));
	if (!ok) {
		stop(c, dir);
		return false;
	}
	d->kstate = TT_K_ON;
	d->k_opened = false;
	return true;
}

void tt_dec_ccs(struct tt_conn *c, enum tt_dir dir)
{
	struct tt_dirstate *d = &c->d[dir];
	if (!keys_possible(c)) {
		stop(c, dir);
		return;
	}
	const struct tt_suite *suite = tt_suite_find(c->cipher);
	uint16_t v = tt_conn_version(c);
	/* SSL 3.0's MAC is defined with MD5 and SHA-1 only */
	if (!suite || suite->tls13 ||
	    (v == TT_V_SSL3 && suite->mac_hash != TT_HASH_MD5 &&
	     suite->mac_hash != TT_HASH_SHA1)) {
		if (!d->null_mac)
			c->dec_unsupported = true;
		stop(c, dir);
		return;
	}
	/* The randoms are those of the latest hellos decoded: when no
	 * ServerHello was decoded since this direction's last epoch began,
	 * a renegotiation's hellos went by unread (compressed and not
	 * inflated, or in a direction that stopped), and its keys cannot
	 * be made. */
	if (c->sh_count == d->ccs_sh) {
		stop(c, dir);
		return;
	}
	d->ccs_sh = c->sh_count;
	if (!start_wait(c, dir, suite))
		return;
	memcpy(d->kd->crandom, c->crandom, TT_RANDOM_LEN);
	memcpy(d->kd->srandom, c->srandom, TT_RANDOM_LEN);
	d->kd->version = v;
	/* RFC 7366 3: only a CBC suite uses what both hellos agreed on */
	d->kd->etm = suite->mode == TT_MODE_CBC && c->ch_etm && c->sh_etm;
}

void tt_dec_abandon(struct tt_conn *c, enum tt_dir dir)
{
	if (c->d[dir].kstate != TT_K_WAIT)
		return;
	c->keys_missing = true;
	stop(c, dir);
}

/* One keystream block of the record's AEAD: block b (0-based) of the
 * plaintext, whose size is *bs. */
static int keystream(const struct tt_kdir *kd, const uint8_t *nonce, size_t b,
		     uint8_t *out, size_t *bs)
{
	const struct tt_crypto *cr = kd->cr;
	uint8_t ctr[TT_AES_BLOCK];
	switch (kd->suite->aead) {
	case TT_AEAD_CHACHA20_POLY1305:
		/* RFC 8439 2.8: block counter 1 onwards for the plaintext */
		*bs = TT_CHACHA20_BLOCK;
		return cr->chacha20_block(cr->ctx, kd->k.key, (uint32_t)(b + 1),
					  nonce, out);
	case TT_AEAD_AES_128_GCM:
	case TT_AEAD_AES_256_GCM:
		/* SP 800-38D 7.1: J0 = nonce || 1; plaintext from inc32(J0) */
		memcpy(ctr, nonce, TT_AEAD_NONCE_LEN);
		ctr[12] = (uint8_t)((b + 2) >> 24);
		ctr[13] = (uint8_t)((b + 2) >> 16);
		ctr[14] = (uint8_t)((b + 2) >> 8);
		ctr[15] = (uint8_t)(b + 2);
		break;
	case TT_AEAD_AES_128_CCM:
	case TT_AEAD_AES_128_CCM_8:
		/* RFC 3610 2.3 with a 12-byte nonce (L = 3): A_i = (L-1) ||
		 * nonce || i, plaintext from A_1 */
		ctr[0] = 2;
		memcpy(ctr + 1, nonce, TT_AEAD_NONCE_LEN);
		ctr[13] = (uint8_t)((b + 1) >> 16);
		ctr[14] = (uint8_t)((b + 1) >> 8);
		ctr[15] = (uint8_t)(b + 1);
		break;
	default:
		return -1;
	}
	*bs = TT_AES_BLOCK;
	return cr->aes_block(cr->ctx, kd->k.key, kd->suite->key_len, ctr, out);
}

/* The inner content type of a TLS 1.3 record, from the keystream of its
 * last blocks, without authenticating it.  -1 when it cannot be told
 * cheaply (then the record is decrypted in full). */
static int peek_type(const struct tt_kdir *kd, const uint8_t *p, uint32_t n)
{
	size_t tl = tt_aead_tag_len(kd->suite->aead);
	if (n <= tl)
		return -1;
	size_t end = n - tl; /* TLSInnerPlaintext length */
	uint8_t nonce[TT_AEAD_NONCE_LEN], ks[TT_CHACHA20_BLOCK];
	int type = -1;
	tt_record_nonce(kd->k.iv, kd->k.seq, nonce);
	for (int i = 0; i < PEEK_BLOCKS && end > 0 && type < 0; i++) {
		size_t bs = TT_AES_BLOCK;
		size_t b = (end - 1) /
			   (kd->suite->aead == TT_AEAD_CHACHA20_POLY1305
				    ? TT_CHACHA20_BLOCK
				    : TT_AES_BLOCK);
		if (keystream(kd, nonce, b, ks, &bs) != 0)
			break;
		size_t start = b * bs;
		for (size_t j = end; j > start; j--) {
			uint8_t x = p[j - 1] ^ ks[j - 1 - start];
			if (x) {
				type = x;
				break;
			}
		}
		end = start;
	}
	tt_wipe(ks, sizeof(ks));
	return type;
}

void tt_dec_switch(struct tt_conn *c, enum tt_dir dir, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (d->kstate != TT_K_ON || !d->kd->suite->tls13) {
		d->ksw_app = d->ksw_update = d->ksw_hs = false;
		return;
	}
	if (d->ksw_app || d->ksw_hs) {
		bool app = d->ksw_app;
		d->ksw_app = d->ksw_hs = false;
		d->ksw_update = false;
		enum tt_role sender = tt_sender(c, dir);
		const struct tt_suite *suite = d->kd->suite;
		uint8_t crandom[TT_RANDOM_LEN]; /* the same handshake's */
		memcpy(crandom, d->kd->crandom, TT_RANDOM_LEN);
		if (!start_wait(c, dir, suite))
			return;
		if (!app) /* EndOfEarlyData: on to the handshake epoch */
			d->klabel = TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET;
		else
			d->klabel = sender == TT_ROLE_CLIENT
					    ? TT_KL_CLIENT_TRAFFIC_SECRET_0
					    : TT_KL_SERVER_TRAFFIC_SECRET_0;
		memcpy(d->kd->crandom, crandom, TT_RANDOM_LEN);
		install(c, dir, em);
		return;
	}
	if (d->ksw_update) {
		d->ksw_update = false;
		struct tt_kdir *kd = d->kd;
		if (tt_tls13_next_secret(kd->cr, kd->suite->hash, kd->secret,
					 kd->secret) != TT_OK ||
		    tt_tls13_traffic_keys(kd->cr, kd->suite, kd->secret,
					  &kd->k) != TT_OK) {
			tt_emit_decode_error(
				em, dir, "cannot decrypt",
				"KeyUpdate: next secret not derived");
			c->dec_failed = true;
			stop(c, dir);
		}
	}
}

/* 0-RTT application data the client sent before the ServerHello: its
 * keys and suite are not known yet, nor whether the server takes it. */
static bool early_before_sh(const struct tt_conn *c, enum tt_dir dir,
			    uint8_t type)
{
	return c->early != TT_EARLY_NONE && !c->sh_seen &&
	       type == TT_CT_APPLICATION_DATA &&
	       tt_sender(c, dir) == TT_ROLE_CLIENT;
}

/* The client's first handshake-epoch records when its early data was not
 * accepted (or not known to be): early records that do not open with
 * these keys are passed over until one does. */
static bool early_trial(const struct tt_conn *c, enum tt_dir dir)
{
	const struct tt_dirstate *d = &c->d[dir];
	return (c->early == TT_EARLY_OFFERED ||
		c->early == TT_EARLY_REJECTED) &&
	       d->klabel == TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET &&
	       !d->k_opened;
}

static enum tt_dec_result open_failed(struct tt_conn *c, enum tt_dir dir,
				      const struct tt_emit *em)
{
	if (early_trial(c, dir)) {
		/* turned-down early data, passed over as the server does
		 * (RFC 8446 4.2.10) */
		c->early_records++;
		return TT_DEC_EARLY;
	}
	tt_emit_decode_error(
		em, dir, "record did not decrypt with the logged secret",
		"wrong or stale keys: this direction is no longer decrypted");
	c->dec_failed = true;
	stop(c, dir);
	return TT_DEC_NONE;
}

enum tt_dec_result tt_dec_open(struct tt_conn *c, enum tt_dir dir,
			       const uint8_t *hdr, const uint8_t *p, uint32_t n,
			       const struct tt_emit *em, struct tt_opened *out)
{
	struct tt_dirstate *d = &c->d[dir];
	if (early_before_sh(c, dir, hdr[0])) {
		c->early_records++;
		return TT_DEC_EARLY;
	}
	enter13(c, dir);
	/* Accepted early data: the client's records after the ServerHello
	 * go on under its early secret until EndOfEarlyData.  Decided here,
	 * in wire order, once the EncryptedExtensions said so. */
	if (d->kstate == TT_K_WAIT && c->early == TT_EARLY_ACCEPTED &&
	    d->klabel == TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET && !d->k_opened)
		d->klabel = TT_KL_CLIENT_EARLY_TRAFFIC_SECRET;
	if (d->kstate == TT_K_WAIT && !install(c, dir, em))
		return d->kstate == TT_K_WAIT ? TT_DEC_WAIT : TT_DEC_NONE;
	if (d->kstate != TT_K_ON)
		return TT_DEC_NONE;
	struct tt_kdir *kd = d->kd;
	bool tls13 = kd->suite->tls13;
	uint8_t type = hdr[0];
	if (!p ||
	    (tls13 ? type != TT_CT_APPLICATION_DATA
		   : (type == TT_CT_APPLICATION_DATA && !tt_dir_inflating(d)) ||
			     kd->k.iv_lost)) {
		/* application data (TLS 1.2; but a compressed epoch's must be
		 * inflated too), a body not kept, or a record whose IV went
		 * by unseen: counted */
		if (tls13) {
			kd->k.seq++;
		} else if (tt_tls12_skip(kd->cr, &kd->k, hdr, p) != TT_OK) {
			tt_emit_decode_error(em, dir, "cannot decrypt",
					     "the cipher state could not be "
					     "moved on");
			c->dec_failed = true;
			stop(c, dir);
		}
		return TT_DEC_NONE;
	}
	/* a record that may be turned-down early data is opened in full:
	 * its keystream says nothing */
	if (tls13 && !early_trial(c, dir) &&
	    peek_type(kd, p, n) == TT_CT_APPLICATION_DATA) {
		kd->k.seq++;
		d->k_opened = true;
		if (d->klabel != TT_KL_CLIENT_EARLY_TRAFFIC_SECRET)
			return TT_DEC_NONE;
		c->early_records++;
		return TT_DEC_EARLY;
	}
	/* decrypted from where the record is into a buffer of its own: the
	 * plaintext is never longer than the body */
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		if (tls13)
			kd->k.seq++;
		else if (tt_tls12_skip(kd->cr, &kd->k, hdr, p) != TT_OK)
			stop(c, dir);
		return TT_DEC_NONE;
	}
	size_t len = 0;
	tt_rc rc;
	if (tls13)
		rc = tt_tls13_open_body(kd->cr, &kd->k, hdr, p, n, buf, n, &len,
					&type);
	else
		rc = tt_tls12_open_body(kd->cr, &kd->k, hdr, p, n, buf, n,
					&len);
	if (rc != TT_OK) {
		tt_wipe(buf, n);
		free(buf);
		return open_failed(c, dir, em);
	}
	d->k_opened = true;
	c->dec_records++;
	if (type == TT_CT_APPLICATION_DATA &&
	    d->klabel == TT_KL_CLIENT_EARLY_TRAFFIC_SECRET) {
		tt_wipe(buf, n);
		free(buf);
		c->early_records++;
		return TT_DEC_EARLY;
	}
	*out = (struct tt_opened){
		.type = type,
		.p = buf,
		.n = (uint32_t)len,
		.buf = buf,
		.cap = n,
	};
	return TT_DEC_OPENED;
}

void tt_dec_opened_free(struct tt_opened *o)
{
	if (!o->buf)
		return;
	tt_wipe(o->buf, o->cap);
	free(o->buf);
	o->buf = NULL;
}
