/* The line protocols: SMTP and LMTP, FTP, NNTP, IMAP, POP3, ManageSieve.
 * Lines end with LF (CRLF on the wire; the CR is dropped).
 *
 *   SMTP, LMTP (RFC 3207 4, RFC 2033)   C: STARTTLS
 *                                       S: 220 2.0.0 Ready to start TLS
 *       replies "250-..." continue, "250 ..." is the last line;
 *       refused: any other code (454, 501, 5xx)
 *   FTP (RFC 4217 4.1, RFC 2228 3)      C: AUTH TLS (AUTH SSL, TLS-C,
 *                                          TLS-P)
 *                                       S: 234 ...  (334 to AUTH SSL,
 *                                          from some servers)
 *       multi-line replies "234-" ... up to a line "234 "
 *   NNTP (RFC 4642 2.2)                 C: STARTTLS    S: 382 ...
 *       101 (CAPABILITIES) and 100 (HELP) replies are followed by a
 *       block ending in a line ".".
 *   IMAP (RFC 9051 6.2.1)               C: a001 STARTTLS
 *                                       S: a001 OK Begin TLS negotiation
 *       the answer is the line tagged as the request (NO, BAD: refused)
 *   POP3 (RFC 2595 4)                   C: STLS        S: +OK / -ERR
 *       CAPA's +OK is followed by a block ending in ".".
 *   ManageSieve (RFC 5804 2.2)          C: STARTTLS    S: OK / NO / BYE
 *       capability lines come before each OK.
 *
 * The server's lines are matched to the client's commands by count: its
 * greeting, then one final reply per command (IMAP: by tag).  Before
 * asking for TLS a client sends only the commands that come first in a
 * session (EHLO, CAPABILITY, FEAT, NOOP...); any other one means the
 * session goes on in clear, and following ends.
 */
#include <string.h>

#include "follow.h"
#include "names.h"

/* The first word of a line (up to a space) and what follows it. */
struct words {
	const uint8_t *w1, *rest;
	size_t n1, nrest;
};

static struct words split(const uint8_t *p, size_t n)
{
	struct words w = {p, p + n, 0, 0};
	size_t i = 0;
	while (i < n && p[i] != ' ')
		i++;
	w.n1 = i;
	while (i < n && p[i] == ' ')
		i++;
	w.rest = p + i;
	w.nrest = n - i;
	/* trailing spaces are no argument */
	while (w.nrest && w.rest[w.nrest - 1] == ' ')
		w.nrest--;
	return w;
}

static bool is(const struct words *w, const char *word)
{
	return tt_stls_word(w->w1, w->n1, word);
}

static bool bare(const struct words *w, const char *word)
{
	return is(w, word) && w->nrest == 0;
}

/* A command the client sends before any other: it owes a reply. */
static bool first_command(const struct words *w, const char *const *list)
{
	for (; *list; list++)
		if (is(w, *list))
			return true;
	return false;
}

static const char *const smtp_first[] = {"EHLO", "HELO", "LHLO", "NOOP",
					 "RSET", "HELP", NULL};
static const char *const ftp_first[] = {"FEAT", "SYST", "HELP", "NOOP",
					"OPTS", "CLNT", "HOST", NULL};
/* FTP's own words, which settle a "220" greeting as FTP's */
static const char *const ftp_words[] = {"USER", "PASS", "ACCT", "AUTH", "FEAT",
					"SYST", "OPTS", "CLNT", "HOST", NULL};
static const char *const nntp_first[] = {"CAPABILITIES", "HELP", "MODE", "DATE",
					 NULL};
static const char *const sieve_first[] = {"CAPABILITY", "NOOP", NULL};
static const char *const imap_first[] = {"CAPABILITY", "NOOP", "ID", NULL};

static void client_line(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
			size_t n, const struct tt_emit *em)
{
	struct words w = split(p, n);
	if (s->proto == TT_STLS_FAMILY_220) {
		if (is(&w, "EHLO") || is(&w, "HELO"))
			s->proto = TT_STARTTLS_SMTP;
		else if (is(&w, "LHLO"))
			s->proto = TT_STARTTLS_LMTP;
		else if (first_command(&w, ftp_words))
			s->proto = TT_STARTTLS_FTP;
		else if (is(&w, "NOOP") || is(&w, "HELP")) {
			s->owed++; /* either protocol's: still open */
			return;
		} else {
			tt_stls_went_on(c, s, em);
			return;
		}
	}
	switch (s->proto) {
	case TT_STARTTLS_SMTP:
	case TT_STARTTLS_LMTP:
	case TT_STARTTLS_NNTP:
		if (bare(&w, "STARTTLS")) {
			tt_stls_request(s, p, n);
			return;
		}
		if (first_command(&w, s->proto == TT_STARTTLS_NNTP
					      ? nntp_first
					      : smtp_first)) {
			s->owed++;
			return;
		}
		break;
	case TT_STARTTLS_FTP:
		if (is(&w, "AUTH")) {
			struct words a = split(w.rest, w.nrest);
			if (a.nrest == 0 &&
			    (is(&a, "TLS") || is(&a, "SSL") ||
			     is(&a, "TLS-C") || is(&a, "TLS-P"))) {
				s->ftp_ssl = is(&a, "SSL");
				tt_stls_request(s, p, n);
				return;
			}
		} else if (first_command(&w, ftp_first)) {
			s->owed++;
			return;
		}
		break;
	case TT_STARTTLS_POP3:
		if (bare(&w, "STLS")) {
			tt_stls_request(s, p, n);
			return;
		}
		if (is(&w, "CAPA")) {
			s->owed++;
			return;
		}
		break;
	case TT_STARTTLS_SIEVE:
		if (bare(&w, "STARTTLS")) {
			tt_stls_request(s, p, n);
			return;
		}
		if (first_command(&w, sieve_first)) {
			s->owed++;
			return;
		}
		break;
	case TT_STARTTLS_IMAP: {
		/* tag SP command */
		struct words cmd = split(w.rest, w.nrest);
		bool tagged =
			w.n1 > 0 && w.n1 <= sizeof(s->tag) &&
			!(w.n1 == 1 && (w.w1[0] == '*' || w.w1[0] == '+'));
		if (tagged && bare(&cmd, "STARTTLS")) {
			memcpy(s->tag, w.w1, w.n1);
			s->tag_len = (uint8_t)w.n1;
			tt_stls_request(s, p, n);
			return;
		}
		if (tagged && first_command(&cmd, imap_first))
			return;
		break;
	}
	}
	tt_stls_went_on(c, s, em);
}

static bool digit(uint8_t b)
{
	return b >= '0' && b <= '9';
}

/* A reply line's code, or 0 when it does not start with three digits. */
static unsigned code_of(const uint8_t *p, size_t n)
{
	if (n < 3 || !digit(p[0]) || !digit(p[1]) || !digit(p[2]) ||
	    (n > 3 && p[3] != ' ' && p[3] != '-'))
		return 0;
	return (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	       (unsigned)(p[2] - '0');
}

/* A final reply of the server (the last line of one), with accepted
 * telling how it answers the request, if it is the answer. */
static void final_reply(struct tt_conn *c, struct tt_stls *s, bool accepted,
			const uint8_t *p, size_t n, const struct tt_emit *em)
{
	if (s->owed) {
		s->owed--; /* the greeting, or an earlier command's */
		return;
	}
	if (s->asked)
		tt_stls_answer(c, s, accepted, p, n, em);
	/* else unasked for (a 421 before closing): nothing to follow */
}

static void coded_line(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
		       size_t n, const struct tt_emit *em)
{
	unsigned code = code_of(p, n);
	if (s->block) {
		if (n == 1 && p[0] == '.')
			s->block = false;
		return;
	}
	if (s->cont) {
		/* FTP: text lines may come between the first and the last */
		if (code != s->cont || (n > 3 && p[3] == '-'))
			return;
		s->cont = 0;
	} else if (!code) {
		return; /* not a reply line */
	} else if (n > 3 && p[3] == '-') {
		s->cont = (uint16_t)code;
		return;
	}
	bool ok;
	switch (s->proto) {
	case TT_STARTTLS_FTP:
		ok = code == 234 || (code == 334 && s->ftp_ssl);
		break;
	case TT_STARTTLS_NNTP:
		ok = code == 382;
		/* CAPABILITIES, HELP: a block follows */
		if (code == 100 || code == 101)
			s->block = true;
		break;
	default:
		ok = code == 220;
	}
	final_reply(c, s, ok, p, n, em);
}

static void server_line(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
			size_t n, const struct tt_emit *em)
{
	struct words w = split(p, n);
	switch (s->proto) {
	case TT_STARTTLS_POP3: {
		if (s->block) {
			if (n == 1 && p[0] == '.')
				s->block = false;
			return;
		}
		bool ok = w.n1 >= 3 && memcmp(w.w1, "+OK", 3) == 0;
		if (!ok && !(w.n1 >= 4 && memcmp(w.w1, "-ERR", 4) == 0))
			return;
		/* after the greeting, +OK answers CAPA: its list follows */
		if (s->owed && s->greeted && ok)
			s->block = true;
		if (s->owed)
			s->greeted = true;
		final_reply(c, s, ok, p, n, em);
		return;
	}
	case TT_STARTTLS_IMAP: {
		if (!s->asked || w.n1 != s->tag_len ||
		    memcmp(w.w1, s->tag, w.n1) != 0)
			return; /* untagged, or another command's */
		struct words st = split(w.rest, w.nrest);
		if (is(&st, "OK"))
			tt_stls_answer(c, s, true, p, n, em);
		else if (is(&st, "NO") || is(&st, "BAD"))
			tt_stls_answer(c, s, false, p, n, em);
		return;
	}
	case TT_STARTTLS_SIEVE: {
		/* OK, NO, BYE, with or without a response code or text */
		size_t k = 0;
		while (k < n && ((p[k] >= 'A' && p[k] <= 'Z') ||
				 (p[k] >= 'a' && p[k] <= 'z')))
			k++;
		if (k < n && p[k] != ' ' && p[k] != '(')
			return;
		bool ok = tt_stls_word(p, k, "OK");
		if (ok || tt_stls_word(p, k, "NO") || tt_stls_word(p, k, "BYE"))
			final_reply(c, s, ok, p, n, em);
		return;
	}
	default:
		coded_line(c, s, p, n, em);
	}
}

size_t tt_stls_lines(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		     const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	/* the line without its LF, kept up to the buffer's size */
	size_t body = lf ? take - 1 : take;
	size_t room = sizeof(d->buf) - d->len;
	if (body > room) {
		d->cut = true;
		body = room;
	}
	memcpy(d->buf + d->len, p, body);
	d->len = (uint16_t)(d->len + body);
	if (!lf)
		return take;
	size_t len = d->len;
	if (len && d->buf[len - 1] == '\r' && !d->cut)
		len--;
	d->len = 0;
	d->cut = false;
	if (tt_stls_from_client(s, dir))
		client_line(c, s, d->buf, len, em);
	else
		server_line(c, s, d->buf, len, em);
	return take;
}
