/* TLS record layer (RFC 5246 6.2, RFC 8446 5.1), one direction at a time.
 *
 *   struct {
 *       ContentType type;               // 1 byte
 *       ProtocolVersion legacy_record_version;  // 2 bytes, 0x03xx
 *       uint16 length;                  // <= 2^14 + 2048
 *       opaque fragment[length];
 *   } TLSPlaintext / TLSCiphertext;
 *
 * Records split at any byte are reassembled; many records per chunk are
 * walked in place.  Bodies that need no decoding (application data,
 * anything encrypted) are skipped by their header, never copied.  A
 * needed body that sits whole in the caller's buffer is decoded in place;
 * only a split one is copied, into a buffer that lives until that record
 * is complete.
 *
 * A direction's first record may be SSL 2.0-framed (a 2-byte header with
 * its top bit set, then the message type): an SSLv2-compatible
 * ClientHello (RFC 5246 E.2), after which the direction goes on in TLS
 * records, or SSL 2.0's own CLIENT-HELLO or SERVER-HELLO
 * (draft-hickman-netscape-ssl-00), after which nothing is decoded: once
 * the connection is SSL 2.0, each direction stops after its hello.
 *
 * Records wait, whole and in order, when they cannot be decoded yet:
 * encrypted ones whose keys have not come, and records a thread handed
 * over before the other direction's bytes they followed (see
 * ahead_of_other).  While anything waits, every later record of either
 * direction waits behind it, and the queues are drained in the order the
 * records were completed: events come out in wire order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "decrypt.h"
#include "handshake.h"
#include "inflate.h"
#include "msg.h"
#include "names.h"
#include "record.h"
#include "session.h"
#include "starttls.h"

void tt_conn_init(struct tt_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->client_cert = -1;
}

void tt_conn_midstream(struct tt_conn *c, enum tt_role role)
{
	c->attach = TT_ATTACH_PENDING;
	c->d[TT_IN].seek = c->d[TT_OUT].seek = true;
	if (role == TT_ROLE_CLIENT || role == TT_ROLE_SERVER)
		__atomic_store_n(&c->role, (uint8_t)role, __ATOMIC_RELAXED);
}

static void qfree(struct tt_dirstate *d);

void tt_conn_release(struct tt_conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct tt_dirstate *d = &c->d[i];
		tt_dir_zfree(d);
		if (d->zstate == TT_Z_ON)
			d->zstate = TT_Z_OFF; /* the stream is gone */
		if (d->seek && d->sk)
			d->dead = true; /* where a search had got to is gone */
		else if (d->rbuf)
			d->rskip = true; /* the copied part is gone */
		if (d->v2_msg)
			d->dead = true; /* so is the SSL 2.0 hello's */
		free(d->rbuf);
		free(d->hbuf);
		d->rbuf = NULL;
		d->hbuf = NULL;
		d->hlen = d->hcap = 0;
		tt_dec_release(c, (enum tt_dir)i);
		qfree(d);
	}
	tt_stls_release(c);
	free(c->sni);
	c->sni = NULL;
	c->sni_len = 0;
	free(c->msgs_more);
	c->msgs_more = NULL;
	if (c->nmsg > TT_MSG_INLINE)
		c->nmsg = TT_MSG_INLINE; /* the rest of the list is gone */
	free(c->alerts);
	c->alerts = NULL;
	c->nalerts = 0;
	free(c->ca_text);
	c->ca_text = NULL;
}

/* SSL 2.0 message types (draft-hickman-netscape-ssl-00 C.2) read here. */
#define SSL2_MT_CLIENT_HELLO 1
#define SSL2_MT_SERVER_HELLO 4

static bool header_ok(const uint8_t *h, size_t n)
{
	if (n >= 1 &&
	    (h[0] < TT_CT_CHANGE_CIPHER_SPEC || h[0] > TT_CT_HEARTBEAT))
		return false;
	if (n >= 2 && h[1] != 3)
		return false;
	if (n >= 3 && h[2] > 4)
		return false;
	if (n >= 5 && (unsigned)(h[3] << 8 | h[4]) > TT_RECORD_MAX)
		return false;
	return true;
}

bool tt_looks_like_tls(const uint8_t *p, size_t n)
{
	if (n == 0)
		return true;
	/* An SSL 2.0-framed CLIENT-HELLO: 2-byte length with the top bit
	 * set, msg_type 1, version 3.x (the SSLv2-compatible form, RFC 5246
	 * E.2) or 0x0002 (SSL 2.0's own). */
	if ((p[0] & 0x80) && (n < 3 || p[2] == SSL2_MT_CLIENT_HELLO) &&
	    (n < 4 || p[3] == 3 || (p[3] == 0 && (n < 5 || p[4] == 2))))
		return true;
	if (p[0] != TT_CT_HANDSHAKE && p[0] != TT_CT_ALERT)
		return false;
	return header_ok(p, n < 5 ? n : 5);
}

/* Whether records of this version are left encrypted, without asking
 * for keys: TLS 1.3 drafts changed the key schedule and the record
 * protection from draft to draft (labels; no additional data before
 * draft -25), and only RFC 8446 is decrypted.  The summary says so when
 * keys could have come. */
static bool version_undecryptable(struct tt_conn *c)
{
	if (!tt_version_draft13(tt_conn_version(c)))
		return false;
	const struct tt_keysrc *ks = c->ks;
	if (ks && ks->get && ks->crypto && (!ks->expect || ks->expect(ks->ctx)))
		c->dec_draft = true;
	return true;
}

enum tt_first tt_conn_first(const uint8_t *p, size_t n,
			    struct tt_first_guess *g)
{
	if (tt_looks_like_tls(p, n < 5 ? n : 5))
		return TT_FIRST_TLS;
	return tt_stls_detect_first(p, n, g);
}

bool tt_conn_follow(struct tt_conn *c, enum tt_dir dir, enum tt_first what,
		    const struct tt_first_guess *g)
{
	return tt_stls_start(c, dir, what, g);
}

/* Whether a record of a connection joined after its handshake is in the
 * clear, by its bytes (any cipher adds bytes to what it protects): an
 * alert record of one alert (2 bytes, level warning or fatal), a
 * ChangeCipherSpec of its 1 byte.  p NULL: the body is still to come,
 * and a record that may be in the clear is (its body is then kept). */
static bool joined_plain(uint8_t type, const uint8_t *p, uint32_t n)
{
	if (type == TT_CT_ALERT && n == 2)
		return !p || p[0] == TT_ALEVEL_WARNING ||
		       p[0] == TT_ALEVEL_FATAL;
	if (type == TT_CT_CHANGE_CIPHER_SPEC && n == 1)
		return !p || p[0] == 1;
	return false;
}

/* Whether a record's body (p, n bytes; p NULL while it is still to come)
 * is ciphertext we cannot read. */
static bool record_encrypted(const struct tt_conn *c,
			     const struct tt_dirstate *d, uint8_t type,
			     const uint8_t *p, uint32_t n)
{
	/* A NULL cipher: plaintext and a MAC, read as it is unless its
	 * MAC is checked with the keys (decrypt.c) */
	if (d->null_mac && d->kstate != TT_K_WAIT && d->kstate != TT_K_ON)
		return false;
	if (type == TT_CT_APPLICATION_DATA)
		return true;
	if (c->attach == TT_ATTACH_JOINED && joined_plain(type, p, n))
		return false;
	/* after the first CCS everything is encrypted in TLS <= 1.2, the
	 * CCS of a renegotiation included */
	return d->ccs && tt_conn_version(c) < TT_V_TLS13;
}

static void do_alerts(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		      size_t n, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	for (size_t i = 0; i < n; i++) {
		if (!d->alert_have) {
			d->alert_part = p[i];
			d->alert_have = true;
			continue;
		}
		uint8_t level = d->alert_part, desc = p[i];
		d->alert_have = false;
		tt_sess_alert_event(c, dir, level, desc, 2, NULL, em);
	}
}

/* The MAC length of a NULL-cipher suite (records stay readable), or 0
 * for a suite that encrypts. */
static uint8_t null_mac_len(uint16_t cipher)
{
	const struct tt_suite *s = tt_suite_info(cipher);
	return s && s->bulk == TT_BULK_NULL && !s->tls13 ? s->mac_len : 0;
}

/* ChangeCipherSpec (TLS <= 1.2): dir's next records are compressed with
 * the method of the handshake in progress (RFC 5246 6.1: the pending
 * state becomes current, compression and keys together), each epoch in
 * a stream of its own. */
static void comp_epoch(struct tt_conn *c, enum tt_dir dir)
{
	struct tt_dirstate *d = &c->d[dir];
	tt_dir_zfree(d);
	d->comp = c->comp;
	d->zstate = TT_Z_NONE;
}

static void record_plain(struct tt_conn *c, enum tt_dir dir, uint8_t type,
			 const uint8_t *p, uint32_t n, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	switch (type) {
	case TT_CT_CHANGE_CIPHER_SPEC: {
		/* Before ServerHello only TLS 1.3's middlebox-compatibility
		 * CCS can come (RFC 8446 D.4); TLS 1.2 sends it later.  A
		 * connection joined after its handshake (encrypted, version
		 * unknown) sends one in the clear only in a handshake it
		 * began while the process attached: taken as TLS 1.2's, its
		 * next encrypted handshake record the Finished. */
		uint16_t v = tt_conn_version(c);
		bool tls13 = v >= TT_V_TLS13 || (v == 0 && !d->ccs);
		if (!tls13) {
			d->ccs = true;
			d->enc_hs_after_ccs = false;
			d->null_mac = null_mac_len(c->cipher);
		}
		/* TLS 1.3 sends it only for middlebox compatibility. */
		struct tt_event *ev = tt_ev_begin(em, "change_cipher_spec",
						  tls13 ? TT_DEBUG : TT_INFO,
						  dir);
		if (tls13)
			tt_ev_bool(ev, "compatibility", TT_DEBUG, true);
		tt_ev_send(em, ev);
		if (!tls13) {
			if (v) /* joined: no suite, no keys to make */
				tt_dec_ccs(c, dir);
			comp_epoch(c, dir);
		}
		break;
	}
	case TT_CT_ALERT:
		do_alerts(c, dir, p, n, em);
		break;
	case TT_CT_HANDSHAKE:
		if (n == 0) {
			tt_emit_decode_error(em, dir, "empty handshake record",
					     NULL);
			break;
		}
		tt_hs_feed(c, dir, p, n, em);
		break;
	case TT_CT_APPLICATION_DATA:
		c->appdata[dir] = true;
		break;
	case TT_CT_HEARTBEAT: {
		struct tt_event *ev =
			tt_ev_begin(em, "heartbeat", TT_DEBUG, dir);
		tt_ev_int(ev, "record_length", TT_DEBUG, n);
		tt_ev_send(em, ev);
		break;
	}
	}
}

/* Stops inflating dir's epoch (the bit of why in c->infl): its records
 * are reported as without keys until its next ChangeCipherSpec, and one
 * not_inflated event, about the first of them (type, wire length n), says
 * why. */
static void z_off(struct tt_conn *c, enum tt_dir dir, uint8_t type, uint32_t n,
		  uint8_t why, const char *reason, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	char mb[TT_NAMEBUF], tb[TT_NAMEBUF];
	tt_dir_zfree(d);
	d->zstate = TT_Z_OFF;
	c->infl |= why;
	struct tt_event *ev = tt_ev_begin(em, "not_inflated", TT_INFO, dir);
	if (!ev)
		return;
	const char *m = tt_label_compression(d->comp, mb);
	tt_ev_label(ev, "compression", TT_INFO, m);
	tt_ev_label(ev, "record_type", TT_INFO,
		    tt_label_content_type(type, tb));
	tt_ev_int(ev, "record_length", TT_INFO, n);
	tt_ev_str(ev, "reason", TT_INFO, reason);
	tt_ev_printf(ev, "note", TT_INFO,
		     "compressed (%s), not inflated: this direction's records "
		     "are reported as without keys until its next "
		     "change_cipher_spec",
		     m);
	tt_ev_send(em, ev);
}

/* What became of a record of a compressed epoch. */
enum zres {
	Z_READ,	   /* inflated */
	Z_UNREAD,  /* not inflated: report it as without keys */
	Z_STOPPED, /* it did not inflate: dir stopped */
};

/* Inflates the plaintext (p, n bytes) of a record of dir, whose epoch is
 * compressed, in the epoch's stream (made on its first record): into
 * *out (malloc'ed; the caller wipes and frees it), *out_n bytes.  wire_n
 * is the record's length, for the events. */
static enum zres inflate_record(struct tt_conn *c, enum tt_dir dir,
				uint8_t type, const uint8_t *p, uint32_t n,
				uint32_t wire_n, uint8_t **out, uint32_t *out_n,
				const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (d->zstate == TT_Z_NONE) {
		const char *why = "no inflate service";
		const struct tt_inflate *t = NULL;
		if (d->comp != TT_COMP_DEFLATE) {
			z_off(c, dir, type, wire_n, TT_INFL_UNSUPPORTED,
			      "only DEFLATE is inflated", em);
			return Z_UNREAD;
		}
		if (c->ks && c->ks->inflate)
			t = c->ks->inflate(c->ks->ctx, &why);
		if (!t) {
			z_off(c, dir, type, wire_n, TT_INFL_NO_ZLIB, why, em);
			return Z_UNREAD;
		}
		struct tt_zstream *z = malloc(sizeof(*z));
		if (!z || t->stream_new(t->ctx, &z->s) != 0) {
			free(z);
			tt_dir_stop(c, dir, "out of memory", NULL, em);
			return Z_STOPPED;
		}
		z->t = t;
		d->z = z;
		d->zstate = TT_Z_ON;
	}
	if (d->zstate != TT_Z_ON)
		return Z_UNREAD;
	*out = NULL;
	*out_n = 0;
	c->infl |= TT_INFL_USED;
	if (n == 0)
		return Z_READ; /* an empty fragment: nothing went in */
	const char *detail = "corrupt data, or not the next bytes of the "
			     "stream (DEFLATE)";
	size_t got = 0;
	int rc = TT_INFLATE_TOO_BIG;
	uint8_t *buf = NULL;
	if (n > TT_COMPRESSED_MAX) {
		detail = "compressed fragment over 17408 bytes (2^14 + 1024)";
		rc = TT_INFLATE_BAD;
	} else if (!(buf = malloc(TT_INFLATED_MAX))) {
		tt_dir_stop(c, dir, "out of memory", NULL, em);
		return Z_STOPPED;
	} else {
		rc = d->z->t->inflate(d->z->t->ctx, d->z->s, p, n, buf,
				      TT_INFLATED_MAX, &got);
	}
	if (rc == 0) {
		*out = buf;
		*out_n = (uint32_t)got;
		return Z_READ;
	}
	if (buf) {
		tt_wipe(buf, TT_INFLATED_MAX);
		free(buf);
	}
	if (rc == TT_INFLATE_TOO_BIG)
		detail = "inflates to more than 16384 bytes (2^14)";
	c->infl |= TT_INFL_FAILED;
	tt_dir_stop(c, dir, "record did not inflate", detail, em);
	return Z_STOPPED;
}

/* Decodes a record's plaintext (decrypted, or sent under a NULL cipher;
 * its events through pem), inflated first when its epoch is compressed.
 * False: it was not inflated, and is to be reported as without keys. */
static bool decode_plain(struct tt_conn *c, enum tt_dir dir, uint8_t type,
			 const uint8_t *p, uint32_t n, uint32_t wire_n,
			 const struct tt_emit *pem, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (d->comp == TT_COMP_NULL) {
		record_plain(c, dir, type, p, n, pem);
		return true;
	}
	uint8_t *buf;
	uint32_t got;
	switch (inflate_record(c, dir, type, p, n, wire_n, &buf, &got, em)) {
	case Z_READ:
		record_plain(c, dir, type, buf, got, pem);
		if (buf) {
			tt_wipe(buf, got);
			free(buf);
		}
		return true;
	case Z_STOPPED:
		return true;
	case Z_UNREAD:
		break;
	}
	/* A ChangeCipherSpec needs no content read: the next epoch, with
	 * its new keys and a stream of its own, starts all the same. */
	if (type == TT_CT_CHANGE_CIPHER_SPEC) {
		record_plain(c, dir, type, NULL, 0, pem);
		return true;
	}
	return false;
}

/* A reader thread and a writer thread of one socket may hand their bytes
 * over in another order than they crossed it.  A record that can only
 * have followed what the other direction has not shown yet waits for it,
 * in the queue, and is tried again after each record of the other
 * direction (record boundaries, not call boundaries, decide, so the
 * events do not depend on how the bytes were cut): a ServerHello
 * before any record of this process's, and, at a server, the client's
 * records after its ClientHello before this process's ServerHello (and
 * its EncryptedExtensions, when the ClientHello offered early data). */
static bool ahead_of_other(const struct tt_conn *c, enum tt_dir dir,
			   uint8_t type, const uint8_t *p, uint32_t n)
{
	const struct tt_dirstate *d = &c->d[dir], *o = &c->d[!dir];
	if (d->order_free || o->dead || c->phase != TT_PHASE_FIRST)
		return false;
	if (!c->ch_seen)
		return o->decoded == 0 && type == TT_CT_HANDSHAKE && p &&
		       n > 0 && p[0] == TT_HT_SERVER_HELLO;
	if (tt_sender(c, dir) != TT_ROLE_CLIENT || c->hrr)
		return false;
	if (!c->sh_seen)
		return true;
	/* 0-RTT: the client's records after its ClientHello may be early
	 * data, whose keys depend on whether the server took it: they wait
	 * for its EncryptedExtensions while those can still be read */
	return type == TT_CT_APPLICATION_DATA && c->early == TT_EARLY_OFFERED &&
	       o->kstate != TT_K_OFF && tt_conn_version(c) >= TT_V_TLS13;
}

/* One queued record: its place in wire order, its header, and whether
 * its body follows (bodies past TT_KEYQ_MAX are not kept). */
struct tt_qent {
	uint32_t seq;
	uint8_t hdr[5];
	uint8_t has_body;
};
#define QENT_SIZE 12 /* sizeof(struct tt_qent), packed in the queue */

/* A direction's waiting records, in a block that exists only while one
 * waits: the entries (each a struct tt_qent, then its body if kept) from
 * off to len of buf's cap bytes. */
struct tt_queue {
	uint32_t off, len, cap;
	uint8_t why; /* why the first waits: enum step */
	uint8_t buf[];
};

static struct tt_qent qhead(const struct tt_dirstate *d, const uint8_t **body)
{
	const struct tt_queue *q = d->q;
	struct tt_qent e;
	memcpy(&e, q->buf + q->off, sizeof(e));
	*body = e.has_body ? q->buf + q->off + QENT_SIZE : NULL;
	return e;
}

static uint32_t qent_len(const struct tt_qent *e)
{
	return (uint32_t)(e->hdr[3] << 8 | e->hdr[4]);
}

static bool qempty(const struct tt_dirstate *d)
{
	return !d->q;
}

/* Why dir's first waiting record waits (enum step; STEP_DONE when none
 * waits, or when it has not been tried yet). */
static uint8_t qwhy(const struct tt_dirstate *d)
{
	return d->q ? d->q->why : 0;
}

static void qfree(struct tt_dirstate *d)
{
	if (d->q) {
		tt_wipe(d->q, sizeof(*d->q) + d->q->cap);
		free(d->q);
	}
	d->q = NULL;
}

/* Drops the first waiting record; the block goes with the last. */
static void qpop(struct tt_dirstate *d)
{
	const uint8_t *body;
	struct tt_qent e = qhead(d, &body);
	d->q->off += QENT_SIZE + (body ? qent_len(&e) : 0);
	if (d->q->off >= d->q->len)
		qfree(d);
}

/* Appends a record to dir's queue (by its header alone once the bodies
 * waiting reach TT_KEYQ_MAX); false when the queue is full. */
static bool enqueue(struct tt_dirstate *d, uint32_t seq, const uint8_t *hdr,
		    const uint8_t *p, uint32_t n)
{
	struct tt_queue *q = d->q;
	uint32_t off = q ? q->off : 0, len = q ? q->len : 0;
	uint32_t cap = q ? q->cap : 0;
	if (len - off > TT_KEYQ_MAX + TT_KEYQ_HDRS)
		return false;
	if (len - off > TT_KEYQ_MAX)
		p = NULL;
	size_t need = (size_t)len + QENT_SIZE + (p ? n : 0);
	if (need > TT_KEYQ_MAX + TT_KEYQ_HDRS + QENT_SIZE + TT_RECORD_MAX)
		return false;
	if (need > cap) {
		size_t ncap = cap ? cap : 4096;
		while (ncap < need)
			ncap *= 2;
		struct tt_queue *nq = realloc(q, sizeof(*q) + ncap);
		if (!nq)
			return false;
		if (!q)
			*nq = (struct tt_queue){0};
		q = d->q = nq;
		q->cap = (uint32_t)ncap;
	}
	struct tt_qent e = {.seq = seq, .has_body = p != NULL};
	memcpy(e.hdr, hdr, 5);
	memcpy(q->buf + len, &e, sizeof(e));
	if (p)
		memcpy(q->buf + len + QENT_SIZE, p, n);
	q->len = (uint32_t)need;
	return true;
}

/* What became of a record offered for decoding. */
enum step {
	STEP_DONE,	 /* decoded, or reported as ciphertext */
	STEP_WAIT_KEYS,	 /* encrypted, its keys not here yet */
	STEP_WAIT_ORDER, /* follows bytes of the other direction not seen yet */
};

/* Decodes one whole record, unless it must wait.  Nothing here queues or
 * drains: the callers do, so no record is decoded from inside another.
 * give_up: dir no longer waits for keys (what it waited for is counted
 * missing and reported as ciphertext) nor for the other direction. */
static enum step record_body(struct tt_conn *c, enum tt_dir dir,
			     const uint8_t *hdr, const uint8_t *p, uint32_t n,
			     bool give_up, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	uint8_t type = hdr[0];
	if (give_up)
		d->order_free = true;
	if (ahead_of_other(c, dir, type, p, n))
		return STEP_WAIT_ORDER;
	if (!p || record_encrypted(c, d, type, p, n)) {
		struct tt_opened o;
		enum tt_dec_result r =
			version_undecryptable(c)
				? TT_DEC_NONE
				: tt_dec_open(c, dir, hdr, p, n, em, &o);
		if (r == TT_DEC_WAIT && give_up) {
			tt_dec_abandon(c, dir);
			r = tt_dec_open(c, dir, hdr, p, n, em, &o);
		}
		switch (r) {
		case TT_DEC_OPENED: {
			struct tt_emit dem = *em;
			dem.flags |= TT_EVF_DECRYPTED;
			bool read = decode_plain(c, dir, o.type, o.p, o.n, n,
						 &dem, em);
			tt_dec_opened_free(&o);
			if (!read)
				tt_sess_encrypted(c, dir, type, n, em);
			else if (o.type == TT_CT_HANDSHAKE)
				/* read: a later handshake record that is
				 * not read is not this epoch's Finished */
				d->enc_hs_after_ccs = true;
			if (!d->dead)
				tt_dec_switch(c, dir, &dem);
			d->decoded++;
			return STEP_DONE;
		}
		case TT_DEC_WAIT:
			return STEP_WAIT_KEYS;
		case TT_DEC_EARLY:
			d->decoded++;
			return STEP_DONE;
		case TT_DEC_NONE:
			/* keys on, yet not opened (its body was not kept):
			 * the stream goes on without it, out of step */
			if (tt_dir_inflating(d) && d->kstate == TT_K_ON)
				z_off(c, dir, type, n, TT_INFL_INCOMPLETE,
				      "a record of this stream was not read (it "
				      "waited for keys past the queue's cap), so "
				      "the records after it cannot be inflated",
				      em);
			break;
		}
		/* a NULL cipher whose keys never came is read as it is; one
		 * whose MAC did not verify is not */
		if (!p || record_encrypted(c, d, type, p, n) || c->dec_failed) {
			tt_sess_encrypted(c, dir, type, n, em);
			d->decoded++;
			return STEP_DONE;
		}
	}
	d->decoded++;
	uint32_t wire_n = n;
	if (d->null_mac) {
		/* GenericStreamCipher with a NULL cipher: content, then MAC
		 * (RFC 5246 6.2.3.1) */
		if (n < d->null_mac) {
			tt_emit_decode_error(
				em, dir, "record shorter than its MAC", NULL);
			return STEP_DONE;
		}
		n -= d->null_mac;
	}
	if (!decode_plain(c, dir, type, p, n, wire_n, em, em))
		tt_sess_encrypted(c, dir, type, wire_n, em);
	return STEP_DONE;
}

/* Tries dir's first waiting record; pops it when it was decoded.  A
 * direction that stopped drops what still waits: it came after. */
static enum step run_head(struct tt_conn *c, enum tt_dir dir, bool give_up,
			  const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (d->dead) { /* stopped: what waits came after its last bytes */
		qfree(d);
		return STEP_DONE;
	}
	const uint8_t *body;
	struct tt_qent e = qhead(d, &body);
	enum step s =
		record_body(c, dir, e.hdr, body, qent_len(&e), give_up, em);
	d->q->why = (uint8_t)s;
	if (s != STEP_DONE)
		return s;
	qpop(d);
	if (d->dead)
		qfree(d);
	return STEP_DONE;
}

/* Decodes what waits, the earliest record first, as far as keys and
 * order allow.  A record waiting for keys holds back every later record
 * of both directions (unless the other direction is given up: its records
 * are then reported anyway); one waiting for the other direction lets the
 * other direction's records go first.  give_up: a mask of directions
 * that stop waiting (1 << dir). */
static void drain(struct tt_conn *c, unsigned give_up, const struct tt_emit *em)
{
	for (;;) {
		struct tt_dirstate *d0 = &c->d[0], *d1 = &c->d[1];
		bool has0 = !qempty(d0), has1 = !qempty(d1);
		if (!has0 && !has1)
			return;
		const uint8_t *b;
		enum tt_dir first = TT_IN;
		if (!has0 || (has1 && qhead(d1, &b).seq < qhead(d0, &b).seq))
			first = TT_OUT;
		enum tt_dir order[2] = {first, (enum tt_dir) !first};
		bool progressed = false;
		for (int k = 0; k < 2 && !progressed; k++) {
			enum tt_dir dir = order[k];
			if (qempty(&c->d[dir]))
				continue;
			enum step s = run_head(c, dir, give_up >> dir & 1, em);
			if (s == STEP_DONE)
				progressed = true;
			else if (s == STEP_WAIT_KEYS && !(give_up >> !dir & 1))
				break; /* the later records wait behind it */
		}
		if (!progressed)
			return;
	}
}

void tt_conn_drain(struct tt_conn *c, const struct tt_emit *em)
{
	drain(c, 0, em);
}

void tt_conn_keys_gone(struct tt_conn *c, const struct tt_emit *em)
{
	tt_dec_abandon(c, TT_IN);
	tt_dec_abandon(c, TT_OUT);
	if (tt_conn_waiting(c))
		drain(c, 0, em);
}

/* Reports what waits in the directions of mask, in order. */
static void give_up(struct tt_conn *c, unsigned mask, const struct tt_emit *em)
{
	if (tt_conn_waiting(c))
		drain(c, mask, em);
}

/* c joined after its handshake: taken as established (both Finished
 * gone by), each direction encrypted since a ChangeCipherSpec, keys
 * missing, version unknown: the state of a TLS 1.2 connection whose
 * handshake was seen without keys once it completed, so that what its
 * records tell is inferred the same way (session.c).  Its records are
 * encrypted unless their bytes prove otherwise (joined_plain). */
static void join(struct tt_conn *c)
{
	c->attach = TT_ATTACH_JOINED;
	c->phase = TT_PHASE_DONE;
	for (int i = 0; i < 2; i++) {
		c->fin[i] = true;
		c->d[i].ccs = true;
		c->d[i].enc_hs_after_ccs = true; /* its Finished went by */
	}
	tt_dec_unseen(c);
}

/* The first record of a connection joined mid-stream (body p, n bytes;
 * NULL when not kept) says what it is: a hello in the clear, from the
 * side that sends it, starts a new connection, decoded as any; anything
 * else follows a handshake that went by before the attach. */
static void attach_first(struct tt_conn *c, enum tt_dir dir, const uint8_t *hdr,
			 const uint8_t *p, uint32_t n)
{
	enum tt_role from = tt_sender(c, dir);
	/* msg_type, a 24-bit length, then the version: 3.0 to 3.4 */
	if (hdr[0] == TT_CT_HANDSHAKE && p && n >= 6 && p[4] == 3 &&
	    p[5] <= 4 &&
	    ((p[0] == TT_HT_CLIENT_HELLO && from != TT_ROLE_SERVER) ||
	     (p[0] == TT_HT_SERVER_HELLO && from != TT_ROLE_CLIENT))) {
		c->attach = TT_ATTACH_FRESH;
		return;
	}
	join(c);
}

/* A record whose bytes are complete. */
static void take_record(struct tt_conn *c, enum tt_dir dir, const uint8_t *hdr,
			const uint8_t *p, uint32_t n, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	d->records++;
	uint32_t seq = c->rec_seq++;
	struct tt_event *tev = tt_ev_begin(em, "record", TT_TRACE, dir);
	if (tev) {
		char tb[TT_NAMEBUF], vb[TT_NAMEBUF];
		tt_ev_str(tev, "record_type", TT_TRACE,
			  tt_label_content_type(hdr[0], tb));
		tt_ev_str(
			tev, "record_version", TT_TRACE,
			tt_label_version((uint16_t)(hdr[1] << 8 | hdr[2]), vb));
		tt_ev_int(tev, "record_length", TT_TRACE, n);
		tt_ev_send(em, tev);
	}
	if (__builtin_expect(c->attach == TT_ATTACH_PENDING, 0))
		attach_first(c, dir, hdr, p, n);
	bool behind = tt_conn_waiting(c);
	enum step s = STEP_WAIT_KEYS;
	if (!behind) {
		s = record_body(c, dir, hdr, p, n, false, em);
		if (s == STEP_DONE)
			return; /* the common case: nothing waits */
	}
	if (!enqueue(d, seq, hdr, p, n)) {
		/* dir's queue is full: dir stops waiting (for keys, or behind
		 * the other direction's wait, which goes on) */
		give_up(c, 1u << dir, em);
		if (!d->dead)
			(void)record_body(c, dir, hdr, p, n, true, em);
		return;
	}
	if (!behind) {
		d->q->why = (uint8_t)s; /* nothing else can go before it */
		return;
	}
	/* Records waiting for keys stay until keys come (tt_conn_drain);
	 * one waiting for the other direction may be freed by this one. */
	if (qwhy(&c->d[0]) == STEP_WAIT_ORDER ||
	    qwhy(&c->d[1]) == STEP_WAIT_ORDER)
		drain(c, 0, em);
}

static void seek_pause(struct tt_conn *c, enum tt_dir dir,
		       const struct tt_emit *em);

/* Whether c was joined mid-stream and neither direction has found a
 * record boundary: it is not known to be TLS at all. */
static bool attach_unknown(const struct tt_conn *c)
{
	return c->attach == TT_ATTACH_PENDING && c->d[TT_IN].seek &&
	       c->d[TT_OUT].seek;
}

/* c is not TLS (joined mid-stream, no record boundary found, and none
 * can be now): nothing is said of it, and every feed returns TT_PLAIN,
 * as for a followed cleartext protocol that never upgraded. */
static void go_plain(struct tt_conn *c, const struct tt_emit *em)
{
	c->plain = true;
	tt_dir_stop(c, TT_IN, NULL, NULL, em);
	tt_dir_stop(c, TT_OUT, NULL, NULL, em);
}

void tt_conn_stop(struct tt_conn *c, enum tt_dir dir, const char *what,
		  const char *detail, const struct tt_emit *em)
{
	/* still cleartext: whether it would have upgraded cannot be known
	 * now, so following ends (a debug line, no warning) */
	if (tt_stls_following(c, dir))
		tt_stls_stop(c, what, em);
	if (attach_unknown(c))
		go_plain(c, em);
	if (c->plain)
		return;
	/* Records waiting for keys came before the bytes that stop the
	 * direction: they are reported first, as ciphertext. */
	give_up(c, 1u << dir, em);
	tt_dir_stop(c, dir, what, detail, em);
}

void tt_conn_bypass(struct tt_conn *c, enum tt_dir dir, const char *call,
		    long long bytes, const char *message,
		    const struct tt_emit *em)
{
	if (tt_stls_following(c, dir))
		tt_stls_stop(c, "bytes moved past the hooks", em);
	if (attach_unknown(c))
		go_plain(c, em);
	if (c->bypass[dir] || c->plain)
		return;
	c->bypass[dir] = call;
	/* what waits for keys came before the bytes that went by */
	give_up(c, 1u << dir, em);
	struct tt_event *ev = tt_ev_begin(em, "io_bypass", TT_WARN, dir);
	tt_ev_str(ev, "call", TT_WARN, call);
	if (bytes > 0)
		tt_ev_int(ev, "bytes", TT_WARN, bytes);
	tt_ev_str(ev, "message", TT_WARN, message);
	tt_ev_send(em, ev);
	tt_dir_stop(c, dir, NULL, NULL, em);
}

void tt_conn_end(struct tt_conn *c, const struct tt_end_info *ei,
		 const struct tt_emit *em)
{
	if (c->stls)
		tt_stls_stop(
			c,
			ei->how == TT_END_EXIT
				? "still open at process exit, not upgraded"
			: ei->how == TT_END_DETACH
				? "still open when tlstrace detached, not upgraded"
				: "the connection ended before an upgrade",
			em);
	unsigned ending = tt_end_final(ei) ? 3u : 1u << ei->dir;
	/* joined mid-stream: the directions that end pause for good */
	for (int i = 0; i < 2; i++)
		if (ending >> i & 1)
			seek_pause(c, (enum tt_dir)i, em);
	/* joined mid-stream, and no record boundary found: not known to be
	 * TLS */
	if (attach_unknown(c))
		go_plain(c, em);
	/* never TLS: nothing to say of its end (following has said why it
	 * stopped, at debug) */
	if (c->plain)
		return;
	/* joined mid-stream, a boundary found, no record complete */
	if (c->attach == TT_ATTACH_PENDING)
		join(c);
	/* What waits, in both directions, went by before this step of the
	 * end (a FIN or a reset read closes one direction only), and the
	 * end's events are inferred from it: it is all given up now, both
	 * directions together so that it comes out in wire order (a
	 * client's Finished before the HelloRequest that followed it), as
	 * it would have with no keys to wait for. */
	give_up(c, 3u, em);
	tt_sess_end(c, ei, em);
}

/* A direction stops once the connection is SSL 2.0 and its hello went
 * by: what follows is encrypted, or SSL 2.0 messages not decoded.  One
 * debug line says so. */
static void ssl2_stop(struct tt_conn *c, enum tt_dir dir,
		      const struct tt_emit *em)
{
	if (c->d[dir].dead)
		return;
	struct tt_event *ev =
		tt_ev_begin(em, "decoding_stopped", TT_DEBUG, dir);
	tt_ev_str(ev, "reason", TT_DEBUG,
		  "SSL 2.0: only the hellos are decoded");
	tt_ev_send(em, ev);
	tt_conn_stop(c, dir, NULL, NULL, em);
}

/* A whole SSL 2.0-framed record, a direction's first: body is what
 * follows its message type d->v2_msg. */
static void ssl2_record(struct tt_conn *c, enum tt_dir dir, const uint8_t *body,
			uint32_t n, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	uint8_t mt = d->v2_msg;
	d->v2_msg = 0;
	d->hdr_have = 0;
	d->records++;
	d->decoded++;
	c->rec_seq++;
	struct tt_event *tev = tt_ev_begin(em, "record", TT_TRACE, dir);
	if (tev) {
		tt_ev_str(tev, "record_format", TT_TRACE, "sslv2");
		tt_ev_int(tev, "record_length", TT_TRACE, (long long)n + 1);
		tt_ev_send(em, tev);
	}
	d->hs_msgs++;
	tt_rc rc = mt == SSL2_MT_CLIENT_HELLO
			   ? tt_hs_ssl2_client_hello(c, dir, body, n, em)
			   : tt_hs_ssl2_server_hello(c, dir, body, n, em);
	if (rc != TT_OK) {
		char detail[64];
		snprintf(detail, sizeof(detail), "%s of %u bytes",
			 mt == SSL2_MT_CLIENT_HELLO ? "CLIENT-HELLO"
						    : "SERVER-HELLO",
			 (unsigned)n);
		/* nothing after it can be framed with confidence */
		tt_conn_stop(c, dir, "malformed SSL 2.0-framed hello", detail,
			     em);
		return;
	}
	tt_sess_message(c, dir,
			mt == SSL2_MT_CLIENT_HELLO ? TT_HT_CLIENT_HELLO
						   : TT_HT_SERVER_HELLO,
			false, em);
	if (tt_conn_version(c) == TT_V_SSL2)
		ssl2_stop(c, dir, em);
	else if (tt_conn_waiting(c))
		drain(c, 0, em); /* a ServerHello handed over before it */
}

/* The bytes of d->hdr are no record header: the stream was not this
 * one's (TT_GONE, nothing said), or the direction stops. */
static tt_rc bad_header(struct tt_conn *c, enum tt_dir dir, size_t fed,
			const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (em && em->same_stream && !em->same_stream(em->ctx)) {
		d->bytes -= fed;
		d->hdr_have = 0;
		return TT_GONE;
	}
	char hex[3 * 5 + 1];
	static const char hx[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < d->hdr_have; i++) {
		hex[k++] = hx[d->hdr[i] >> 4];
		hex[k++] = hx[d->hdr[i] & 15];
		hex[k++] = ' ';
	}
	hex[k ? k - 1 : 0] = 0;
	tt_conn_stop(c, dir, "not a TLS record header", hex, em);
	return TT_DECODE;
}

/* Frames dir's bytes p, n into records.  fed: the bytes of the caller's
 * call (given back when they were not this stream's). */
static tt_rc records(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		     size_t n, size_t fed, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	while (n > 0) {
		if (!d->v2_msg && d->hdr_have < 5) {
			/* A first record with the top bit set is SSL 2.0-
			 * framed: 2 bytes of length, then the message type
			 * (RFC 5246 E.2, draft-hickman-netscape-ssl-00 4.1),
			 * a 3-byte header. */
			bool v2 = d->records == 0 &&
				  ((d->hdr_have ? d->hdr[0] : p[0]) & 0x80);
			size_t take = (v2 ? 3u : 5u) - d->hdr_have;
			if (take > n)
				take = n;
			memcpy(d->hdr + d->hdr_have, p, take);
			d->hdr_have += (uint8_t)take;
			p += take;
			n -= take;
			if (v2) {
				if (d->hdr_have < 3)
					return TT_OK;
				uint32_t len = (uint32_t)(d->hdr[0] & 0x7f)
						       << 8 |
					       d->hdr[1];
				uint8_t mt = d->hdr[2];
				if (len < 1 || (mt != SSL2_MT_CLIENT_HELLO &&
						mt != SSL2_MT_SERVER_HELLO))
					return bad_header(c, dir, fed, em);
				d->v2_msg = mt;
				d->rlen = (uint16_t)(len - 1);
				d->rgot = 0;
				d->rskip = false;
				if (d->rlen == 0) {
					ssl2_record(c, dir, d->hdr, 0, em);
					if (d->dead)
						return TT_DECODE;
				}
				continue;
			}
			if (!header_ok(d->hdr, d->hdr_have))
				return bad_header(c, dir, fed, em);
			if (d->hdr_have < 5)
				return TT_OK;
			d->rtype = d->hdr[0];
			d->rlen = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);
			d->rgot = 0;
			/* decided once: the other direction may change the
			 * version while this record's bytes arrive; a record
			 * that will wait behind others keeps its body */
			d->rskip = !tt_conn_waiting(c) &&
				   record_encrypted(c, d, d->rtype, NULL,
						    d->rlen) &&
				   (version_undecryptable(c) ||
				    !tt_dec_need_body(c, dir, d->rtype));
		}
		bool need = !d->rskip;
		uint32_t left = d->rlen - d->rgot;
		if (!need) {
			uint32_t take = n < left ? (uint32_t)n : left;
			p += take;
			n -= take;
			d->rgot = (uint16_t)(d->rgot + take);
			if (d->rgot < d->rlen)
				return TT_OK;
			d->hdr_have = 0;
			take_record(c, dir, d->hdr, NULL, d->rlen, em);
		} else if (d->rgot == 0 && n >= d->rlen) {
			const uint8_t *body = p;
			p += d->rlen;
			n -= d->rlen;
			d->hdr_have = 0;
			if (d->v2_msg)
				ssl2_record(c, dir, body, d->rlen, em);
			else
				take_record(c, dir, d->hdr, body, d->rlen, em);
		} else {
			if (d->rgot == 0 || !d->rbuf) {
				/* a new record: its own buffer, of its size */
				free(d->rbuf);
				d->rbuf = malloc(d->rlen ? d->rlen : 1);
				if (!d->rbuf) {
					tt_conn_stop(c, dir, "out of memory",
						     NULL, em);
					return TT_DECODE;
				}
			}
			uint32_t take = n < left ? (uint32_t)n : left;
			memcpy(d->rbuf + d->rgot, p, take);
			p += take;
			n -= take;
			d->rgot = (uint16_t)(d->rgot + take);
			if (d->rgot < d->rlen)
				return TT_OK;
			d->hdr_have = 0;
			uint8_t *body = d->rbuf;
			d->rbuf = NULL;
			if (d->v2_msg)
				ssl2_record(c, dir, body, d->rlen, em);
			else
				take_record(c, dir, d->hdr, body, d->rlen, em);
			free(body);
		}
		if (d->dead)
			return TT_DECODE;
	}
	return TT_OK;
}

/* ---- a stream joined mid-way (tt_conn_midstream) ----
 *
 * A direction's first bytes after the attach may fall anywhere in a
 * record.  When they start a plausible header (header_ok, with a body of
 * 1 byte or more), that is its first record, taken at once: the usual
 * case, an idle connection's next read.  Else its first record is the
 * first plausible header whose successor, 5 + its length on, is
 * plausible too (a chain of two).  The bytes are scanned as they come,
 * none kept but the last 4 (a header split across calls, held in d->hdr)
 * and the candidates, plausible headers whose successor has not come
 * yet: what lies between is ciphertext that could not be read anyway.
 * Past SEEK_MAX bytes without a chain, or when the first SEEK_TEXT bytes
 * are all text (TLS framing starts with a byte below 0x20: a cleartext
 * protocol), the stream is not TLS. */
#define SEEK_CANDS 32
#define SEEK_MAX   (64u * 1024u)
#define SEEK_TEXT  24u

struct seek_cand {
	uint32_t next; /* stream offset of its successor */
	uint8_t hdr[5];
	uint8_t body[2]; /* a body of 1 or 2 bytes (an alert, a CCS), */
	bool has_body;	 /* when it came with the header */
};

/* A direction's search, made when its first bytes are no header. */
struct tt_seek {
	uint32_t at;   /* stream offset of the bytes held in d->hdr */
	uint32_t text; /* leading bytes that are text, while all are */
	bool binary;   /* one of them is not */
	uint8_t n;     /* candidates, in stream order */
	struct seek_cand cand[SEEK_CANDS];
};

static bool seek_plausible(const uint8_t *h)
{
	return header_ok(h, 5) && (h[3] | h[4]) != 0;
}

static bool is_text(uint8_t b)
{
	return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\n' || b == '\r';
}

/* What one call scans: the bytes held from the calls before (k of
 * them, at h), then the call's own. */
struct span {
	const uint8_t *h, *p;
	size_t k, n;
};

static uint8_t span_at(const struct span *v, size_t i)
{
	return i < v->k ? v->h[i] : v->p[i - v->k];
}

static void span_copy(const struct span *v, size_t i, uint8_t *out, size_t len)
{
	for (size_t j = 0; j < len; j++)
		out[j] = span_at(v, i + j);
}

/* Frames the bytes of v from i on. */
static tt_rc span_records(struct tt_conn *c, enum tt_dir dir,
			  const struct span *v, size_t i, size_t fed,
			  const struct tt_emit *em)
{
	if (i < v->k) {
		tt_rc rc = records(c, dir, v->h + i, v->k - i, fed, em);
		if (rc != TT_OK)
			return rc;
		i = v->k;
	}
	if (i - v->k == v->n)
		return TT_OK;
	return records(c, dir, v->p + (i - v->k), v->n - (i - v->k), fed, em);
}

/* dir's first record boundary is at stream offset off, the bytes before
 * it passed over.  The record there is first, a chain's, taken from its
 * header alone (its body went by; one of 1 or 2 bytes is kept), or the
 * one whose header starts at byte i of v; the bytes of v from i on are
 * framed. */
static tt_rc seek_found(struct tt_conn *c, enum tt_dir dir, uint32_t off,
			const struct seek_cand *first, const struct span *v,
			size_t i, size_t fed, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	free(d->sk);
	d->sk = NULL;
	d->seek = false;
	d->skipped = off;
	struct tt_event *ev = tt_ev_begin(em, "resync", TT_DEBUG, dir);
	tt_ev_int(ev, "skipped", TT_DEBUG, off);
	tt_ev_send(em, ev);
	if (first) {
		uint32_t len = (uint32_t)(first->hdr[3] << 8 | first->hdr[4]);
		uint8_t body[2];
		const uint8_t *b = NULL;
		if (first->has_body) {
			b = first->body;
		} else if (len <= 2 && i >= len) {
			span_copy(v, i - len, body, len);
			b = body;
		}
		take_record(c, dir, first->hdr, b, len, em);
		if (d->dead)
			return TT_DECODE;
	}
	return span_records(c, dir, v, i, fed, em);
}

/* dir's bytes are not TLS records: why says how it shows. */
static tt_rc seek_fail(struct tt_conn *c, enum tt_dir dir, const char *why,
		       const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	free(d->sk);
	d->sk = NULL;
	if (c->d[!dir].seek) {
		/* nor, so far, the other direction's: not TLS */
		go_plain(c, em);
		return TT_PLAIN;
	}
	/* the other direction is: this one stops, saying why */
	tt_conn_stop(c, dir, "no TLS record boundary", why, em);
	return TT_DECODE;
}

/* A plausible header h at stream offset off (byte i of v) whose
 * successor is still to come. */
static void seek_add(struct tt_seek *s, uint32_t off, const uint8_t *h,
		     const struct span *v, size_t i)
{
	if (s->n == SEEK_CANDS) {
		/* those whose successor went by are done with */
		uint8_t m = 0;
		for (uint8_t j = 0; j < s->n; j++)
			if (s->cand[j].next > off)
				s->cand[m++] = s->cand[j];
		s->n = m;
		if (m == SEEK_CANDS)
			return; /* full: a later chain will do */
	}
	struct seek_cand *e = &s->cand[s->n++];
	uint32_t len = (uint32_t)(h[3] << 8 | h[4]);
	e->next = off + 5 + len;
	memcpy(e->hdr, h, 5);
	e->has_body = len <= 2 && i + 5 + len <= v->k + v->n;
	if (e->has_body)
		span_copy(v, i + 5, e->body, len);
}

/* dir's stream pauses (the other direction's bytes came next, or dir
 * ended) while it seeks: when its bytes so far end exactly where a
 * candidate's record ends, that candidate is its first record.  Peers
 * send whole records, and their bytes stop where one ends; a false
 * header whose record ends exactly there is as unlikely as a false
 * chain.  (A pause is where the other direction's bytes come, never
 * where the caller's calls are cut: the events do not depend on the
 * cuts.) */
static void seek_pause(struct tt_conn *c, enum tt_dir dir,
		       const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	struct tt_seek *s = d->sk;
	if (!d->seek || d->dead || !s)
		return;
	uint32_t end = s->at + d->hdr_have;
	for (uint8_t j = 0; j < s->n; j++) {
		if (s->cand[j].next != end)
			continue;
		struct seek_cand first = s->cand[j];
		uint32_t len = (uint32_t)(first.hdr[3] << 8 | first.hdr[4]);
		uint8_t held[5];
		memcpy(held, d->hdr, d->hdr_have);
		struct span v = {held, NULL, d->hdr_have, 0};
		d->hdr_have = 0;
		(void)seek_found(c, dir, end - 5 - len, &first, &v, v.k, 0, em);
		return;
	}
}

/* Scans dir's bytes p, n for its first record boundary, and frames them
 * from there once found. */
static tt_rc seek(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		  size_t n, size_t fed, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	uint8_t held[5];
	memcpy(held, d->hdr, d->hdr_have);
	struct span v = {held, p, d->hdr_have, n};
	size_t total = v.k + v.n;
	d->hdr_have = 0;
	struct tt_seek *s = d->sk;
	if (!s) {
		/* the direction's first bytes */
		uint8_t h[5];
		if (total < 5) {
			span_copy(&v, 0, d->hdr, total);
			d->hdr_have = (uint8_t)total;
			d->skipped = (uint32_t)total;
			return TT_OK;
		}
		span_copy(&v, 0, h, 5);
		if (seek_plausible(h))
			return seek_found(c, dir, 0, NULL, &v, 0, fed, em);
		s = d->sk = calloc(1, sizeof(*s));
		if (!s) {
			tt_conn_stop(c, dir, "out of memory", NULL, em);
			return c->plain ? TT_PLAIN : TT_DECODE;
		}
	}
	d->skipped = s->at + (uint32_t)total; /* all seen, none framed */
	/* a cleartext protocol: its first bytes are text */
	for (uint32_t o = s->text; !s->binary && o < SEEK_TEXT; o++) {
		if (o - s->at >= total)
			break;
		if (is_text(span_at(&v, o - s->at)))
			s->text++;
		else
			s->binary = true;
	}
	if (!s->binary && s->text >= SEEK_TEXT)
		return seek_fail(c, dir, "text: a cleartext protocol", em);
	for (size_t i = 0; i + 5 <= total; i++) {
		uint32_t off = s->at + (uint32_t)i;
		if (off >= SEEK_MAX)
			return seek_fail(c, dir,
					 "none in the first 65536 bytes after "
					 "the attach",
					 em);
		uint8_t h[5];
		uint8_t t = span_at(&v, i);
		if (t < TT_CT_CHANGE_CIPHER_SPEC || t > TT_CT_HEARTBEAT)
			continue;
		span_copy(&v, i, h, 5);
		if (!seek_plausible(h))
			continue;
		for (uint8_t j = 0; j < s->n; j++) {
			if (s->cand[j].next != off)
				continue;
			struct seek_cand first = s->cand[j];
			uint32_t len =
				(uint32_t)(first.hdr[3] << 8 | first.hdr[4]);
			return seek_found(c, dir, off - 5 - len, &first, &v, i,
					  fed, em);
		}
		seek_add(s, off, h, &v, i);
	}
	/* a candidate's body of 1 or 2 bytes (an alert, a CCS: its record
	 * may be the chain's first) is taken as it goes by, whatever call
	 * brings it: none of these bytes is kept */
	for (uint8_t j = 0; j < s->n; j++) {
		struct seek_cand *e = &s->cand[j];
		uint32_t len = (uint32_t)(e->hdr[3] << 8 | e->hdr[4]);
		uint32_t b0 = e->next - len;
		if (!e->has_body && len <= 2 && b0 >= s->at &&
		    b0 + len <= s->at + total) {
			span_copy(&v, b0 - s->at, e->body, len);
			e->has_body = true;
		}
	}
	/* the last 4 bytes wait for those that complete their header */
	size_t keep = total < 4 ? total : 4;
	span_copy(&v, total - keep, d->hdr, keep);
	d->hdr_have = (uint8_t)keep;
	s->at += (uint32_t)(total - keep);
	return TT_OK;
}

tt_rc tt_conn_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		   size_t n, const struct tt_emit *em)
{
	if (__builtin_expect(c->plain, 0))
		return TT_PLAIN;
	struct tt_dirstate *d = &c->d[dir];
	if (d->dead)
		return TT_DECODE;
	if (__builtin_expect(c->stls != NULL, 0)) {
		/* cleartext first, then (the rest) TLS */
		size_t clear = tt_stls_feed(c, dir, p, n, em);
		if (c->plain)
			return TT_PLAIN;
		d->bytes += clear;
		p += clear;
		n -= clear;
		if (n == 0)
			return TT_OK;
	}
	/* the other direction made the connection SSL 2.0 after this
	 * one's hello */
	if (d->records > 0 && tt_conn_version(c) == TT_V_SSL2) {
		ssl2_stop(c, dir, em);
		return TT_DECODE;
	}
	d->bytes += n;
	if (__builtin_expect(c->d[!dir].seek, 0) && n > 0)
		seek_pause(c, (enum tt_dir) !dir, em);
	if (__builtin_expect(d->seek, 0))
		return seek(c, dir, p, n, n, em);
	return records(c, dir, p, n, n, em);
}
