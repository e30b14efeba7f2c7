/* The first bytes of a stream: do they start a cleartext protocol that
 * can upgrade to TLS?
 *
 * Server greetings (the server speaks first):
 *   SMTP, LMTP, FTP   "220 " or "220-"  (RFC 5321 4.2, RFC 959 4.2)
 *   NNTP              "200 " or "201 "  (RFC 3977 5.1)
 *   IMAP              "* OK " or "* PREAUTH "  (RFC 9051 7.1)
 *   POP3              "+OK"  (RFC 1939 4)
 *   ManageSieve       capability lines: "IMPLEMENTATION" "...", "SIEVE"
 *                     "...", "STARTTLS" ... (RFC 5804 1.7)
 *   MySQL, MariaDB    the initial handshake packet: a 3-byte length,
 *                     sequence 0, protocol 0x0a, the server version
 *                     NUL-terminated, a 4-byte connection id, 8 bytes of
 *                     the auth challenge, a 0x00 filler, capabilities
 * Client first words:
 *   XMPP              "<?xml" or "<stream:stream"  (RFC 6120 4.2)
 *   LDAP              an LDAPMessage (RFC 4511 4.2):
 *                       30 len  02 len messageID  op-tag ...
 *   PostgreSQL        SSLRequest 00 00 00 08 04 d2 16 2f, or
 *                     GSSENCRequest 00 00 00 08 04 d2 16 30
 *
 * A first chunk shorter than what identifies a protocol but a prefix of
 * it (a client that read "22" of "220 ") is TT_FIRST_MORE: the follower
 * keeps it until the bytes decide.  Every answer is one of a prefix:
 * bytes that are no protocol stay so when more come.  One exception,
 * for a socket's first bytes only (tt_stls_detect_first): a MySQL
 * greeting is told from its first three bytes on (its length), so one or
 * two bytes that start no other protocol are no protocol.  A socket
 * whose first call moves a byte of anything (a signal handler's wake-up
 * byte) is then passed over at once, with nothing allocated.  A MySQL
 * client reads the 4-byte packet header at least.
 */
#include <string.h>

#include "names.h"
#include "starttls.h"

enum fit { NO = 0, PREFIX, MATCH };

static uint8_t lower(uint8_t b)
{
	return b >= 'A' && b <= 'Z' ? (uint8_t)(b + 32) : b;
}

/* p[0..n) against the text s: MATCH when it starts with s, PREFIX when
 * it is shorter and a prefix of s. */
static enum fit lit(const uint8_t *p, size_t n, const char *s, bool icase)
{
	size_t k = strlen(s);
	for (size_t i = 0; i < k; i++) {
		if (i == n)
			return PREFIX;
		uint8_t a = icase ? lower(p[i]) : p[i];
		uint8_t b = icase ? lower((uint8_t)s[i]) : (uint8_t)s[i];
		if (a != b)
			return NO;
	}
	return MATCH;
}

/* The rest of a first line, from p up to its LF or the end of what we
 * have, is text: no control bytes but tab and CR (UTF-8 allowed). */
static bool text_line(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && p[i] != '\n'; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r') ||
		    p[i] == 0x7f)
			return false;
	return true;
}

/* A reply line: three digits of one of the codes, then a space, a dash
 * or the end of the line. */
static enum fit reply(const uint8_t *p, size_t n, const char *code)
{
	enum fit f = lit(p, n, code, false);
	if (f != MATCH)
		return f;
	if (n == 3)
		return PREFIX;
	if (p[3] != ' ' && p[3] != '-' && p[3] != '\r')
		return NO;
	return text_line(p + 4, n - 4) ? MATCH : NO;
}

static enum fit greeting_text(const uint8_t *p, size_t n, const char *s)
{
	enum fit f = lit(p, n, s, true);
	if (f == MATCH && !text_line(p + strlen(s), n - strlen(s)))
		return NO;
	return f;
}

static enum fit pop3(const uint8_t *p, size_t n)
{
	enum fit f = lit(p, n, "+OK", false);
	if (f != MATCH)
		return f;
	if (n == 3)
		return PREFIX;
	if (p[3] != ' ' && p[3] != '\r')
		return NO;
	return text_line(p + 4, n - 4) ? MATCH : NO;
}

/* ManageSieve: the greeting is the capability response, quoted names
 * first. */
static enum fit sieve(const uint8_t *p, size_t n)
{
	static const char *const caps[] = {
		"\"IMPLEMENTATION\"", "\"SASL\"",   "\"SIEVE\"",
		"\"STARTTLS\"",	      "\"NOTIFY\"", "\"VERSION\"",
		"\"LANGUAGE\"",	      "\"OWNER\"",  "\"MAXREDIRECTS\"",
		"\"UNAUTHENTICATE\"",
	};
	enum fit best = NO;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		enum fit f = greeting_text(p, n, caps[i]);
		if (f > best)
			best = f;
	}
	return best;
}

/* MySQL protocol 10 initial handshake packet (the server's first). */
static enum fit mysql(const uint8_t *p, size_t n)
{
	/* One or two bytes can start a header: the answer for them must
	 * not be "no" when three could be "maybe" (the follower looks at
	 * longer and longer starts of what it keeps).  As a socket's first
	 * bytes they are not enough, though (tt_stls_detect_first). */
	if (n < 3)
		return PREFIX;
	uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		       (uint32_t)p[2] << 16;
	if (len < 16 || len > 4096)
		return NO;
	if (n >= 4 && p[3] != 0)
		return NO;
	if (n >= 5 && p[4] != 0x0a)
		return NO;
	if (n < 6)
		return PREFIX;
	/* the version: printable, NUL-terminated */
	size_t i = 5;
	while (i < n && i < 4 + len && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	if (i == n)
		return n < TT_STLS_HEAD ? PREFIX : NO;
	if (p[i] != 0 || i == 5)
		return NO;
	/* connection id (4), challenge part 1 (8), then a 0x00 filler */
	size_t filler = i + 1 + 4 + 8;
	if (filler >= 4 + len)
		return NO;
	if (filler < n && p[filler] != 0)
		return NO;
	return MATCH;
}

/* PostgreSQL: an 8-byte SSLRequest or GSSENCRequest. */
static enum fit postgresql(const uint8_t *p, size_t n)
{
	static const uint8_t ssl[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
	size_t k = n < 8 ? n : 8;
	if (memcmp(p, ssl, k < 7 ? k : 7) != 0)
		return NO;
	if (k < 8)
		return PREFIX;
	return p[7] == 0x2f || p[7] == 0x30 ? MATCH : NO;
}

/* LDAP: the start of an LDAPMessage of a client (RFC 4511 4.2):
 *   LDAPMessage ::= SEQUENCE { messageID INTEGER (0..maxInt),
 *                              protocolOp CHOICE { ... }, ... }
 * with a protocolOp a client sends. */
static enum fit ldap(const uint8_t *p, size_t n)
{
	if (p[0] != 0x30)
		return NO;
	size_t i = 1;
	if (i == n)
		return PREFIX;
	if (p[i] == 0x80 || p[i] > 0x84)
		return NO; /* indefinite, or over 4 length bytes */
	size_t lenbytes = p[i] & 0x80 ? p[i] & 0x7f : 0;
	if (!lenbytes && p[i] < 5)
		return NO; /* too short for an id and an operation */
	i += 1 + lenbytes;
	if (i >= n)
		return PREFIX;
	if (p[i] != 0x02)
		return NO;
	if (++i == n)
		return PREFIX;
	if (p[i] < 1 || p[i] > 4)
		return NO;
	i += 1 + p[i];
	if (i >= n)
		return PREFIX;
	switch (p[i]) {
	case 0x60: /* BindRequest */
	case 0x42: /* UnbindRequest */
	case 0x63: /* SearchRequest */
	case 0x66: /* ModifyRequest */
	case 0x68: /* AddRequest */
	case 0x4a: /* DelRequest */
	case 0x6c: /* ModifyDNRequest */
	case 0x6e: /* CompareRequest */
	case 0x50: /* AbandonRequest */
	case 0x77: /* ExtendedRequest */
		return MATCH;
	default:
		return NO;
	}
}

static enum tt_first detect(const uint8_t *p, size_t n,
			    struct tt_first_guess *g, bool first)
{
	static const struct {
		uint8_t proto;
		bool from_server;
	} kinds[] = {
		{TT_STLS_FAMILY_220, true}, {TT_STARTTLS_NNTP, true},
		{TT_STARTTLS_NNTP, true},   {TT_STARTTLS_IMAP, true},
		{TT_STARTTLS_IMAP, true},   {TT_STARTTLS_POP3, true},
		{TT_STARTTLS_SIEVE, true},  {TT_STARTTLS_MYSQL, true},
		{TT_STARTTLS_XMPP, false},  {TT_STARTTLS_XMPP, false},
		{TT_STARTTLS_LDAP, false},  {TT_STARTTLS_POSTGRESQL, false},
	};
	if (n == 0)
		return TT_FIRST_MORE;
	if (n > TT_STLS_HEAD)
		n = TT_STLS_HEAD;
	enum fit f[sizeof(kinds) / sizeof(kinds[0])] = {
		reply(p, n, "220"),
		reply(p, n, "200"),
		reply(p, n, "201"),
		greeting_text(p, n, "* OK "),
		greeting_text(p, n, "* PREAUTH "),
		pop3(p, n),
		sieve(p, n),
		mysql(p, n),
		lit(p, n, "<?xml", false),
		lit(p, n, "<stream:stream", false),
		ldap(p, n),
		postgresql(p, n),
	};
	bool more = false;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (f[i] == MATCH) {
			g->proto = kinds[i].proto;
			g->from_server = kinds[i].from_server;
			return TT_FIRST_FOLLOW;
		}
		/* a MySQL greeting is told from its length, three bytes: a
		 * socket's first one or two are no protocol unless another
		 * one starts so */
		if (first && n < 3 && kinds[i].proto == TT_STARTTLS_MYSQL)
			continue;
		more |= f[i] == PREFIX;
	}
	return more ? TT_FIRST_MORE : TT_FIRST_NONE;
}

enum tt_first tt_stls_detect(const uint8_t *p, size_t n,
			     struct tt_first_guess *g)
{
	return detect(p, n, g, false);
}

enum tt_first tt_stls_detect_first(const uint8_t *p, size_t n,
				   struct tt_first_guess *g)
{
	return detect(p, n, g, true);
}
