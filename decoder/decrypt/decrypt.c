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

/* A direction's keys, in a block sized to its suite: the fixed part,
 * then in b[], each part only when present and in this order:
 *   once keys are installed (KD_KEYS): the key (suite->key_len), the IV
 *   (kd_iv_len); TLS <= 1.2: the MAC key (none for an AEAD), and for
 *   RC4 its state (a pointer, made on first use); TLS 1.3: this epoch's
 *   traffic secret (the hash's length), for the next KeyUpdate;
 *   the client random (KD_CRANDOM), then the server's (KD_SRANDOM).
 * The randoms are those of the handshake these keys belong to, taken
 * when the epoch starts: the client's names the secret in the key log,
 * the server's (TLS 1.2) goes into the key block.  They are kept while
 * the direction waits for its secret; once the keys are in, only a TLS
 * 1.3 early or handshake epoch keeps the client's, under which the next
 * epoch's secret is looked up (the same handshake's, whatever hello came
 * since).  At rest a TLS 1.3 AES-128-GCM direction holds 87 bytes, a
 * TLS 1.2 AES-128-GCM one 47.
 * A record is opened with a struct tt_rkeys unpacked on the stack
 * (kd_get), what moves from record to record written back after
 * (kd_put). */
struct tt_kdir {
	const struct tt_suite *suite;
	const struct tt_crypto *cr; /* once keys are installed */
	uint64_t seq;
	/* TLS 1.2 and earlier: that handshake's version, taken at the CCS */
	uint16_t version;
	uint8_t flags; /* KD_* */
	uint8_t b[];
};

enum {
	KD_KEYS = 1 << 0,    /* keys installed: b starts with them */
	KD_CRANDOM = 1 << 1, /* b ends with the client random ... */
	KD_SRANDOM = 1 << 2, /* ... then the server's */
	KD_ETM = 1 << 3,     /* encrypt_then_mac agreed (TLS <= 1.2, CBC) */
	KD_IV_LOST = 1 << 4, /* struct tt_rkeys.iv_lost */
};

/* Where each part of b[] starts; end: b[]'s length. */
struct kd_layout {
	uint16_t key, iv, mac, stream, secret, crandom, srandom, end;
};

/* IV bytes kept: the suite's, or a CBC block (the next record's IV
 * before TLS 1.1). */
static size_t kd_iv_len(const struct tt_suite *s)
{
	size_t n = s->iv_len;
	if (s->mode == TT_MODE_CBC && tt_cipher_block(s->cipher) > n)
		n = tt_cipher_block(s->cipher);
	return n;
}

static bool aead_suite(const struct tt_suite *s)
{
	return s->mode == TT_MODE_GCM || s->mode == TT_MODE_CCM ||
	       s->mode == TT_MODE_CCM_8 || s->mode == TT_MODE_CHACHA20_POLY1305;
}

static struct kd_layout kd_layout(const struct tt_suite *s, uint8_t flags)
{
	struct kd_layout l;
	bool keys = flags & KD_KEYS;
	size_t o = 0;
	l.key = (uint16_t)o;
	o += keys ? s->key_len : 0;
	l.iv = (uint16_t)o;
	o += keys ? kd_iv_len(s) : 0;
	l.mac = (uint16_t)o;
	if (keys && !s->tls13 && !aead_suite(s))
		o += tt_hash_len(s->mac_hash);
	l.stream = (uint16_t)o;
	if (keys && s->mode == TT_MODE_STREAM)
		o += sizeof(void *);
	l.secret = (uint16_t)o;
	if (keys && s->tls13)
		o += tt_hash_len(s->hash);
	l.crandom = (uint16_t)o;
	o += flags & KD_CRANDOM ? TT_RANDOM_LEN : 0;
	l.srandom = (uint16_t)o;
	o += flags & KD_SRANDOM ? TT_RANDOM_LEN : 0;
	l.end = (uint16_t)o;
	return l;
}

/* A block for suite with the parts of flags, zeroed; NULL when out of
 * memory. */
static struct tt_kdir *kd_new(const struct tt_suite *suite, uint8_t flags)
{
	size_t n = offsetof(struct tt_kdir, b) + kd_layout(suite, flags).end;
	struct tt_kdir *kd = calloc(1, n > sizeof(*kd) ? n : sizeof(*kd));
	if (kd) {
		kd->suite = suite;
		kd->flags = flags;
	}
	return kd;
}

static uint8_t *kd_crandom(struct tt_kdir *kd)
{
	return kd->b + kd_layout(kd->suite, kd->flags).crandom;
}

/* The RC4 state of a block with keys, or NULL. */
static void *kd_stream(const struct tt_kdir *kd)
{
	void *st = NULL;
	if ((kd->flags & KD_KEYS) && kd->suite->mode == TT_MODE_STREAM)
		memcpy(&st, kd->b + kd_layout(kd->suite, kd->flags).stream,
		       sizeof(st));
	return st;
}

/* The keys of kd (KD_KEYS), unpacked into k; tt_rkeys_wipe(k) after. */
static void kd_get(const struct tt_kdir *kd, struct tt_rkeys *k)
{
	const struct tt_suite *s = kd->suite;
	struct kd_layout l = kd_layout(s, kd->flags);
	memset(k, 0, sizeof(*k));
	k->suite = s;
	k->version = kd->version;
	k->etm = kd->flags & KD_ETM;
	k->iv_lost = kd->flags & KD_IV_LOST;
	memcpy(k->key, kd->b + l.key, l.iv - l.key);
	memcpy(k->iv, kd->b + l.iv, l.mac - l.iv);
	memcpy(k->mac_key, kd->b + l.mac, l.stream - l.mac);
	k->stream = kd_stream(kd);
	k->seq = kd->seq;
}

/* Writes k back into kd (KD_KEYS): its keys, sequence number, IV and
 * stream state. */
static void kd_put(struct tt_kdir *kd, const struct tt_rkeys *k)
{
	struct kd_layout l = kd_layout(kd->suite, kd->flags);
	memcpy(kd->b + l.key, k->key, l.iv - l.key);
	memcpy(kd->b + l.iv, k->iv, l.mac - l.iv);
	memcpy(kd->b + l.mac, k->mac_key, l.stream - l.mac);
	if (l.secret > l.stream)
		memcpy(kd->b + l.stream, &k->stream, sizeof(k->stream));
	kd->seq = k->seq;
	kd->flags = (uint8_t)((kd->flags & ~(KD_ETM | KD_IV_LOST)) |
			      (k->etm ? KD_ETM : 0) |
			      (k->iv_lost ? KD_IV_LOST : 0));
}

/* Wipes and frees a block, with its RC4 state. */
static void kd_drop(struct tt_kdir *kd)
{
	if (!kd)
		return;
	void *st = kd_stream(kd);
	if (st && kd->cr)
		kd->cr->stream_free(kd->cr->ctx, st);
	tt_wipe(kd, offsetof(struct tt_kdir, b) +
			    kd_layout(kd->suite, kd->flags).end);
	free(kd);
}

static void kd_free(struct tt_dirstate *d)
{
	kd_drop(d->kd);
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

/* Starts waiting for keys in dir, with a fresh struct tt_kdir holding
 * the randoms the secret and keys will need (zero until given). */
static bool start_wait(struct tt_conn *c, enum tt_dir dir,
		       const struct tt_suite *suite)
{
	struct tt_dirstate *d = &c->d[dir];
	kd_free(d);
	d->kd = kd_new(suite,
		       suite->tls13 ? KD_CRANDOM : KD_CRANDOM | KD_SRANDOM);
	if (!d->kd) {
		d->kstate = TT_K_OFF;
		return false;
	}
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
	memcpy(kd_crandom(d->kd), c->crandom, TT_RANDOM_LEN);
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

/* Whether a TLS 1.3 epoch under label is followed by another of the
 * same handshake (early -> handshake -> application), whose secret is
 * looked up under the client random. */
static bool label_moves_on(enum tt_keylog_label label)
{
	return label == TT_KL_CLIENT_EARLY_TRAFFIC_SECRET ||
	       label == TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET ||
	       label == TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET;
}

/* Installs the keys dir waits for, if its secret is known.  false: still
 * waiting (kstate TT_K_WAIT) or given up (TT_K_OFF). */
static bool install(struct tt_conn *c, enum tt_dir dir,
		    const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	struct tt_kdir *kd = d->kd, *on = NULL;
	const struct tt_suite *suite = kd->suite;
	struct kd_layout wl = kd_layout(suite, kd->flags);
	uint8_t *crandom = kd->b + wl.crandom, *srandom = kd->b + wl.srandom;
	bool tls13 = suite->tls13;
	enum tt_keylog_label label = tls13 ? (enum tt_keylog_label)d->klabel
					   : TT_KL_CLIENT_RANDOM;
	uint8_t secret[TT_KEYLOG_SECRET_MAX];
	size_t want = tls13 ? tt_hash_len(suite->hash) : TT_MASTER_SECRET_LEN;
	/* The peer's answer can be fed before this process's own ClientHello
	 * when two threads read and write the socket: the wait started
	 * without a client random, taken now that it is known. */
	static const uint8_t zero[TT_RANDOM_LEN];
	if (memcmp(crandom, zero, TT_RANDOM_LEN) == 0 && c->ch_seen)
		memcpy(crandom, c->crandom, TT_RANDOM_LEN);
	size_t got = c->ks->get(c->ks->ctx, crandom, label, secret);
	if (got == 0)
		return false;
	bool ok = false;
	const char *why = "libcrypto could not be loaded";
	struct tt_rkeys k;
	memset(&k, 0, sizeof(k));
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
	const struct tt_crypto *cr = c->ks->crypto(c->ks->ctx, &why);
	if (!cr) {
		tt_emit_decode_error(em, dir, "cannot decrypt", why);
		c->dec_nocrypto = true;
		goto out;
	}
	if (!crypto_has(cr, suite, kd->version)) {
		/* a cipher (or MD5) this libcrypto lacks */
		c->dec_unsupported = true;
		goto out;
	}
	if (tls13) {
		ok = tt_tls13_traffic_keys(cr, suite, secret, &k) == TT_OK;
		/* the early records before this one used these keys */
		if (label == TT_KL_CLIENT_EARLY_TRAFFIC_SECRET)
			k.seq = c->early_records;
	} else {
		struct tt_rkeys ck, sk;
		ok = tt_tls12_keys(cr, suite, kd->version, secret, crandom,
				   srandom, &ck, &sk) == TT_OK;
		/* no stream state yet: copies are plain bytes */
		k = tt_sender(c, dir) == TT_ROLE_CLIENT ? ck : sk;
		k.etm = kd->flags & KD_ETM;
		tt_rkeys_wipe(&ck);
		tt_rkeys_wipe(&sk);
	}
	if (!ok) {
		tt_emit_decode_error(em, dir, "cannot decrypt",
				     "key derivation failed");
		c->dec_failed = true;
		goto out;
	}
	/* the keys' own block, sized to the suite; the randoms stay only
	 * where a next epoch of this handshake needs one */
	on = kd_new(suite, (uint8_t)(KD_KEYS | (tls13 && label_moves_on(label)
							? KD_CRANDOM
							: 0)));
	if (!on) {
		tt_emit_decode_error(em, dir, "cannot decrypt",
				     "out of memory");
		c->dec_failed = true;
		ok = false;
		goto out;
	}
	on->cr = cr;
	on->version = kd->version;
	kd_put(on, &k);
	if (tls13)
		memcpy(on->b + kd_layout(suite, on->flags).secret, secret,
		       want);
	if (on->flags & KD_CRANDOM)
		memcpy(kd_crandom(on), crandom, TT_RANDOM_LEN);
out:
	tt_wipe(secret, sizeof(secret));
	tt_rkeys_wipe(&k);
	if (!ok) {
		stop(c, dir);
		return false;
	}
	kd_drop(kd);
	d->kd = on;
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
	struct tt_kdir *kd = d->kd;
	struct kd_layout l = kd_layout(suite, kd->flags);
	memcpy(kd->b + l.crandom, c->crandom, TT_RANDOM_LEN);
	memcpy(kd->b + l.srandom, c->srandom, TT_RANDOM_LEN);
	kd->version = v;
	/* RFC 7366 3: only a CBC suite uses what both hellos agreed on */
	if (suite->mode == TT_MODE_CBC && c->ch_etm && c->sh_etm)
		kd->flags |= KD_ETM;
}

void tt_dec_unseen(struct tt_conn *c)
{
	/* decrypting at all: the keys of a handshake before the attach are
	 * missing, whether or not this process's library gives keys for
	 * the connections made after it */
	if (c->ks && c->ks->get)
		c->keys_missing = true;
	stop(c, TT_IN);
	stop(c, TT_OUT);
}

void tt_dec_abandon(struct tt_conn *c, enum tt_dir dir)
{
	if (c->d[dir].kstate != TT_K_WAIT)
		return;
	c->keys_missing = true;
	stop(c, dir);
}

/* One keystream block of the record's AEAD (kd's suite, under key):
 * block b (0-based) of the plaintext, whose size is *bs. */
static int keystream(const struct tt_kdir *kd, const uint8_t *key,
		     const uint8_t *nonce, size_t b, uint8_t *out, size_t *bs)
{
	const struct tt_crypto *cr = kd->cr;
	uint8_t ctr[TT_AES_BLOCK];
	switch (kd->suite->aead) {
	case TT_AEAD_CHACHA20_POLY1305:
		/* RFC 8439 2.8: block counter 1 onwards for the plaintext */
		*bs = TT_CHACHA20_BLOCK;
		return cr->chacha20_block(cr->ctx, key, (uint32_t)(b + 1),
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
	return cr->aes_block(cr->ctx, key, kd->suite->key_len, ctr, out);
}

/* The inner content type of a TLS 1.3 record, from the keystream of its
 * last blocks, without authenticating it.  -1 when it cannot be told
 * cheaply (then the record is decrypted in full).  Read from kd's block
 * as it is: nothing unpacked. */
static int peek_type(const struct tt_kdir *kd, const uint8_t *p, uint32_t n)
{
	size_t tl = tt_aead_tag_len(kd->suite->aead);
	if (n <= tl)
		return -1;
	struct kd_layout l = kd_layout(kd->suite, kd->flags);
	uint8_t iv[TT_AEAD_NONCE_LEN] = {0};
	size_t ivn = (size_t)(l.mac - l.iv);
	memcpy(iv, kd->b + l.iv, ivn < sizeof(iv) ? ivn : sizeof(iv));
	size_t end = n - tl; /* TLSInnerPlaintext length */
	uint8_t nonce[TT_AEAD_NONCE_LEN], ks[TT_CHACHA20_BLOCK];
	int type = -1;
	tt_record_nonce(iv, kd->seq, nonce);
	for (int i = 0; i < PEEK_BLOCKS && end > 0 && type < 0; i++) {
		size_t bs = TT_AES_BLOCK;
		size_t b = (end - 1) /
			   (kd->suite->aead == TT_AEAD_CHACHA20_POLY1305
				    ? TT_CHACHA20_BLOCK
				    : TT_AES_BLOCK);
		if (keystream(kd, kd->b + l.key, nonce, b, ks, &bs) != 0)
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
	tt_wipe(iv, sizeof(iv));
	tt_wipe(nonce, sizeof(nonce));
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
		/* the same handshake's (kept by an early or handshake epoch,
		 * the only ones that move on this way) */
		uint8_t crandom[TT_RANDOM_LEN];
		memcpy(crandom,
		       d->kd->flags & KD_CRANDOM ? kd_crandom(d->kd)
						 : c->crandom,
		       TT_RANDOM_LEN);
		if (!start_wait(c, dir, suite))
			return;
		if (!app) /* EndOfEarlyData: on to the handshake epoch */
			d->klabel = TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET;
		else
			d->klabel = sender == TT_ROLE_CLIENT
					    ? TT_KL_CLIENT_TRAFFIC_SECRET_0
					    : TT_KL_SERVER_TRAFFIC_SECRET_0;
		memcpy(kd_crandom(d->kd), crandom, TT_RANDOM_LEN);
		install(c, dir, em);
		return;
	}
	if (d->ksw_update) {
		d->ksw_update = false;
		struct tt_kdir *kd = d->kd;
		uint8_t *secret =
			kd->b + kd_layout(kd->suite, kd->flags).secret;
		struct tt_rkeys k;
		bool ok = tt_tls13_next_secret(kd->cr, kd->suite->hash, secret,
					       secret) == TT_OK &&
			  tt_tls13_traffic_keys(kd->cr, kd->suite, secret,
						&k) == TT_OK;
		if (ok)
			kd_put(kd, &k);
		tt_rkeys_wipe(&k);
		if (!ok) {
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
	struct tt_rkeys k;
	tt_rc rc;
	if (!p ||
	    (tls13 ? type != TT_CT_APPLICATION_DATA
		   : (type == TT_CT_APPLICATION_DATA && !tt_dir_inflating(d)) ||
			     (kd->flags & KD_IV_LOST))) {
		/* application data (TLS 1.2; but a compressed epoch's must be
		 * inflated too), a body not kept, or a record whose IV went
		 * by unseen: counted */
		if (tls13) {
			kd->seq++;
			return TT_DEC_NONE;
		}
		kd_get(kd, &k);
		rc = tt_tls12_skip(kd->cr, &k, hdr, p);
		kd_put(kd, &k);
		tt_rkeys_wipe(&k);
		if (rc != TT_OK) {
			tt_emit_decode_error(em, dir, "cannot decrypt",
					     "the cipher state could not be "
					     "moved on");
			c->dec_failed = true;
			stop(c, dir);
		}
		return TT_DEC_NONE;
	}
	/* a record that may be turned-down early data is opened in full:
	 * its keystream says nothing; so is every record of the early
	 * epoch: its few records are all the early secret is ever checked
	 * on (a wrong one gives a keystream whose last byte reads as
	 * application data once in 255) */
	if (tls13 && !early_trial(c, dir) &&
	    d->klabel != TT_KL_CLIENT_EARLY_TRAFFIC_SECRET &&
	    peek_type(kd, p, n) == TT_CT_APPLICATION_DATA) {
		kd->seq++;
		d->k_opened = true;
		return TT_DEC_NONE;
	}
	/* decrypted from where the record is into a buffer of its own: the
	 * plaintext is never longer than the body */
	uint8_t *buf = malloc(n ? n : 1);
	kd_get(kd, &k);
	size_t len = 0;
	if (!buf) {
		rc = TT_OK;
		if (tls13)
			k.seq++;
		else
			rc = tt_tls12_skip(kd->cr, &k, hdr, p);
	} else if (tls13) {
		rc = tt_tls13_open_body(kd->cr, &k, hdr, p, n, buf, n, &len,
					&type);
	} else {
		rc = tt_tls12_open_body(kd->cr, &k, hdr, p, n, buf, n, &len);
	}
	kd_put(kd, &k);
	tt_rkeys_wipe(&k);
	if (!buf) {
		if (rc != TT_OK)
			stop(c, dir);
		return TT_DEC_NONE;
	}
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
