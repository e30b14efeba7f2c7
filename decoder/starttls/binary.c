/* The binary protocols: LDAP, PostgreSQL, MySQL.
 *
 * LDAP (RFC 4511 4.14, BER):
 *   LDAPMessage ::= SEQUENCE {                      -- 30 len
 *       messageID       INTEGER (0 ..  maxInt),     -- 02 len id
 *       protocolOp      CHOICE { ... },
 *       controls        [0] Controls OPTIONAL }
 *   ExtendedRequest ::= [APPLICATION 23] SEQUENCE { -- 77 len
 *       requestName     [0] LDAPOID,                -- 80 len
 *                       "1.3.6.1.4.1.1466.20037" for StartTLS
 *       requestValue    [1] OCTET STRING OPTIONAL }
 *   ExtendedResponse ::= [APPLICATION 24] SEQUENCE { -- 78 len
 *       COMPONENTS OF LDAPResult,    -- resultCode ENUMERATED (0a len),
 *                                    -- matchedDN, diagnosticMessage...
 *       responseName    [10] LDAPOID OPTIONAL,
 *       responseValue   [11] OCTET STRING OPTIONAL }
 *   The answer is the ExtendedResponse with the request's messageID;
 *   resultCode 0 (success) accepts.  Before it a client may search (the
 *   root DSE's supportedExtension) or send other extended requests;
 *   a bind or any other operation means the session goes on in clear.
 *
 * PostgreSQL (protocol 3.0, "SSL Session Encryption"):
 *   C: Int32 8, Int32 80877103 (04 d2 16 2f)        SSLRequest
 *      or Int32 8, Int32 80877104 (04 d2 16 30)     GSSENCRequest
 *   S: one byte: 'S' (TLS follows), 'N' (no), 'G' (GSSAPI encryption
 *      follows), or an ErrorResponse ('E') from a server too old to know
 *   After 'N' to GSSENCRequest, libpq asks for TLS on the same socket.
 *
 * MySQL, MariaDB (client/server protocol, "Protocol::SSLRequest"):
 *   packets: int<3> payload length, int<1> sequence id, payload
 *   S: the initial handshake packet (sequence 0)
 *   C: SSLRequest, sequence 1, a 32-byte payload: int<4> capability
 *      flags with CLIENT_SSL (0x0800), int<4> max packet size, int<1>
 *      character set, 23 bytes of zeros
 *   No answer: the client's next bytes are its ClientHello.
 */
#include <stdio.h>
#include <string.h>

#include "follow.h"
#include "names.h"

/* ---- LDAP ---- */

/* One BER TLV (low tag numbers, definite lengths of up to 4 bytes). */
TT_MUST_USE static tt_rc ber(struct tt_cur *c, uint8_t *tag, struct tt_cur *val)
{
	uint8_t l;
	TRY(tt_u8(c, tag));
	TRY(tt_u8(c, &l));
	size_t len = l;
	if (l & 0x80) {
		size_t k = l & 0x7f;
		ENSURE(k >= 1 && k <= 4, TT_DECODE);
		len = 0;
		for (size_t i = 0; i < k; i++) {
			uint8_t b;
			TRY(tt_u8(c, &b));
			len = len << 8 | b;
		}
	}
	return tt_sub(c, len, val);
}

/* An INTEGER or ENUMERATED value of 1 to 4 bytes, non-negative. */
TT_MUST_USE static tt_rc ber_uint(struct tt_cur *v, uint32_t *out)
{
	size_t n = tt_cur_left(v);
	ENSURE(n >= 1 && n <= 4 && !(v->p[0] & 0x80), TT_DECODE);
	uint32_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | v->p[i];
	*out = x;
	return TT_OK;
}

/* The header of the message in b[0..have): 1 when complete (*hdr, its
 * size, and *total, the whole message's), 0 when more bytes are
 * needed, -1 when it is no LDAPMessage. */
static int ldap_header(const uint8_t *b, size_t have, size_t *hdr,
		       size_t *total)
{
	if (have >= 1 && b[0] != 0x30)
		return -1;
	if (have < 2)
		return 0;
	if (b[1] == 0x80 || b[1] > 0x84)
		return -1;
	size_t k = b[1] & 0x80 ? b[1] & 0x7f : 0;
	if (have < 2 + k)
		return 0;
	size_t len = k ? 0 : b[1];
	for (size_t i = 0; i < k; i++)
		len = len << 8 | b[2 + i];
	if (len > TT_STLS_CAP)
		return -1;
	*hdr = 2 + k;
	*total = 2 + k + len;
	return 1;
}

static const char starttls_oid[] = "1.3.6.1.4.1.1466.20037";

static void ldap_client(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
			size_t n, const struct tt_emit *em)
{
	struct tt_cur cur = tt_cur_make(p, n), val, name;
	uint8_t tag, op;
	uint32_t id;
	if (ber(&cur, &tag, &val) != TT_OK || tag != 0x02 ||
	    ber_uint(&val, &id) != TT_OK || ber(&cur, &op, &val) != TT_OK) {
		tt_stls_went_on(c, s, em);
		return;
	}
	if (op == 0x77 && ber(&val, &tag, &name) == TT_OK && tag == 0x80 &&
	    tt_cur_left(&name) == sizeof(starttls_oid) - 1 &&
	    memcmp(name.p, starttls_oid, sizeof(starttls_oid) - 1) == 0) {
		static const char what[] = "StartTLS extended request";
		s->msgid = id;
		tt_stls_request(s, (const uint8_t *)what, sizeof(what) - 1);
		return;
	}
	if (op == 0x63 || op == 0x77)
		return; /* a search (the root DSE), another extended request */
	tt_stls_went_on(c, s, em);
}

static void ldap_server(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
			size_t n, const struct tt_emit *em)
{
	struct tt_cur cur = tt_cur_make(p, n), val, rc;
	uint8_t tag, op;
	uint32_t id, code;
	if (!s->asked || ber(&cur, &tag, &val) != TT_OK || tag != 0x02 ||
	    ber_uint(&val, &id) != TT_OK || id != s->msgid ||
	    ber(&cur, &op, &val) != TT_OK || op != 0x78)
		return; /* not the answer */
	if (ber(&val, &tag, &rc) != TT_OK || tag != 0x0a ||
	    ber_uint(&rc, &code) != TT_OK) {
		tt_stls_went_on(c, s, em);
		return;
	}
	char b[TT_NAMEBUF], reply[16 + TT_NAMEBUF];
	int k = snprintf(reply, sizeof(reply), "%u %s", (unsigned)code,
			 code <= 0xff ? tt_label_ldap_result((uint8_t)code, b)
				      : "unknown");
	tt_stls_answer(c, s, code == TT_LDAP_SUCCESS, (const uint8_t *)reply,
		       (size_t)k, em);
}

size_t tt_stls_ldap(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		    const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	bool client = tt_stls_from_client(s, dir);
	if (d->skip) {
		size_t take = n < d->skip ? n : d->skip;
		d->skip -= (uint32_t)take;
		return take;
	}
	size_t off = 0, hdr = 0, total = 0;
	int h;
	while ((h = ldap_header(d->buf, d->len, &hdr, &total)) == 0) {
		if (off == n)
			return off;
		d->buf[d->len++] = p[off++];
	}
	if (h < 0) {
		tt_stls_went_on(c, s, em);
		return n;
	}
	if (total > sizeof(d->buf)) {
		/* too long to be the request or its answer */
		if (client) {
			tt_stls_went_on(c, s, em);
			return n;
		}
		d->skip = (uint32_t)(total - d->len);
		d->len = 0;
		return off;
	}
	size_t take = total - d->len;
	if (take > n - off)
		take = n - off;
	memcpy(d->buf + d->len, p + off, take);
	d->len = (uint16_t)(d->len + take);
	off += take;
	if (d->len < total)
		return off;
	d->len = 0;
	if (client)
		ldap_client(c, s, d->buf + hdr, total - hdr, em);
	else
		ldap_server(c, s, d->buf + hdr, total - hdr, em);
	return off;
}

/* ---- PostgreSQL ---- */

/* Up to want bytes of the current unit into d->buf; returns the bytes
 * taken. */
static size_t gather(struct tt_stls_dir *d, size_t want, const uint8_t *p,
		     size_t n)
{
	size_t take = want > d->len ? want - d->len : 0;
	if (take > n)
		take = n;
	memcpy(d->buf + d->len, p, take);
	d->len = (uint16_t)(d->len + take);
	return take;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

size_t tt_stls_postgresql(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
			  const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	if (!tt_stls_from_client(s, dir)) {
		if (!s->asked) {
			tt_stls_went_on(c, s, em);
			return n;
		}
		const uint8_t b = p[0];
		if (b == 'S' || b == 'N' || b == 'E')
			tt_stls_answer(c, s, b == 'S', &b, 1, em);
		else if (b == 'G')
			tt_stls_giveup(c, s,
				       "GSSAPI encryption was accepted instead "
				       "of TLS",
				       em);
		else
			tt_stls_went_on(c, s, em);
		return 1;
	}
	size_t off = gather(d, 4, p, n);
	if (d->len < 4)
		return off;
	if (be32(d->buf) != 8) {
		tt_stls_went_on(c, s, em); /* StartupMessage, CancelRequest */
		return n;
	}
	off += gather(d, 8, p + off, n - off);
	if (d->len < 8)
		return off;
	d->len = 0;
	uint32_t code = be32(d->buf + 4);
	if (code == 80877103) {
		static const char what[] = "SSLRequest";
		s->gssenc = false;
		tt_stls_request(s, (const uint8_t *)what, sizeof(what) - 1);
	} else if (code == 80877104) {
		static const char what[] = "GSSENCRequest";
		s->gssenc = true;
		tt_stls_request(s, (const uint8_t *)what, sizeof(what) - 1);
	} else {
		tt_stls_went_on(c, s, em);
	}
	return off;
}

/* ---- MySQL ---- */

#define MYSQL_CLIENT_SSL 0x0800u

size_t tt_stls_mysql(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		     const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	if (d->skip) {
		size_t take = n < d->skip ? n : d->skip;
		d->skip -= (uint32_t)take;
		return take;
	}
	size_t off = gather(d, 4, p, n);
	if (d->len < 4)
		return off;
	uint32_t len = (uint32_t)d->buf[0] | (uint32_t)d->buf[1] << 8 |
		       (uint32_t)d->buf[2] << 16;
	uint8_t seq = d->buf[3];
	if (!tt_stls_from_client(s, dir)) {
		/* the greeting, passed over; then nothing until the
		 * client has asked */
		d->len = 0;
		if (s->greeted) {
			tt_stls_went_on(c, s, em);
			return n;
		}
		s->greeted = true;
		d->skip = len;
		return off;
	}
	if (seq != 1 || len != 32) {
		tt_stls_went_on(c, s, em); /* a HandshakeResponse in clear */
		return n;
	}
	off += gather(d, 4 + 32, p + off, n - off);
	if (d->len < 4 + 32)
		return off;
	d->len = 0;
	uint32_t caps = (uint32_t)d->buf[4] | (uint32_t)d->buf[5] << 8 |
			(uint32_t)d->buf[6] << 16 | (uint32_t)d->buf[7] << 24;
	if (!(caps & MYSQL_CLIENT_SSL)) {
		tt_stls_went_on(c, s, em);
		return n;
	}
	static const char what[] = "SSL request packet";
	tt_stls_request(s, (const uint8_t *)what, sizeof(what) - 1);
	tt_stls_answer(c, s, true, NULL, 0, em);
	return off;
}
