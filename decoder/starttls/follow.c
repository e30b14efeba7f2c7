/* Following a cleartext protocol until it upgrades to TLS: the feed
 * loop and the start (answer.c has the events and the end).
 *
 * The loop hands each direction's bytes, one unit at a time, to the
 * protocol's reader (lines.c, xmpp.c, binary.c) and checks between
 * units what a protocol alone cannot:
 *   - the cap: TT_STLS_CAP cleartext bytes per direction, then
 *     following stops;
 *   - bytes from the client after its request and before the server's
 *     answer.  A server that read them with the request and kept them
 *     would run them inside TLS as if the client had sent them there
 *     (command injection, CVE-2011-0411 and its kin in other servers):
 *     a decode_error says so and nothing more of the connection is
 *     decoded.  One exception: a TLS handshake record, the ClientHello
 *     of a client that did not wait (or whose answer another thread has
 *     not handed over yet), starts TLS in that direction at once;
 *   - the undecided start: a first chunk that is only the start of a
 *     greeting is kept (up to TT_STLS_HEAD bytes) until it decides.
 */
#include <stdlib.h>
#include <string.h>

#include "follow.h"
#include "names.h"

/* The protocol's reader of one unit. */
static size_t unit(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		   const uint8_t *p, size_t n, const struct tt_emit *em)
{
	switch (s->proto) {
	case TT_STARTTLS_XMPP:
		return tt_stls_xmpp(c, s, dir, p, n, em);
	case TT_STARTTLS_LDAP:
		return tt_stls_ldap(c, s, dir, p, n, em);
	case TT_STARTTLS_POSTGRESQL:
		return tt_stls_postgresql(c, s, dir, p, n, em);
	case TT_STARTTLS_MYSQL:
		return tt_stls_mysql(c, s, dir, p, n, em);
	default:
		return tt_stls_lines(c, s, dir, p, n, em);
	}
}

/* The protocol is known: whose bytes are whose, the role, and the
 * replies the server owes first (its greeting). */
static void decide(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		   const struct tt_first_guess *g)
{
	s->proto = g->proto;
	s->client = (uint8_t)(g->from_server ? !dir : dir);
	s->owed = g->from_server ? 1 : 0;
	tt_conn_learn_role(c, dir,
			   g->from_server ? TT_ROLE_SERVER : TT_ROLE_CLIENT);
}

static size_t run(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		  const uint8_t *p, size_t n, const struct tt_emit *em);

/* The first bytes were too few to tell: they are kept, and looked at
 * again with each byte that follows (so that where the later reads were
 * cut does not matter), until the shortest start that decides, or
 * TT_STLS_HEAD bytes; then decided and read again.  The first call's
 * bytes, which told too little, are taken whole. */
static size_t undecided(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
			const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	if (dir != (enum tt_dir)s->first) {
		tt_stls_giveup(c, s,
			       "the other side spoke before the first bytes "
			       "were recognised",
			       em);
		return n;
	}
	struct tt_first_guess g;
	enum tt_first f = TT_FIRST_MORE;
	size_t take = 0;
	if (d->len == 0) {
		take = n < TT_STLS_HEAD ? n : TT_STLS_HEAD;
		memcpy(d->buf, p, take);
		d->len = (uint16_t)take;
		f = tt_stls_detect(d->buf, d->len, &g);
	}
	while (take < n && d->len < TT_STLS_HEAD && f == TT_FIRST_MORE) {
		d->buf[d->len++] = p[take++];
		f = tt_stls_detect(d->buf, d->len, &g);
	}
	if (f == TT_FIRST_MORE && d->len < TT_STLS_HEAD)
		return take;
	if (f != TT_FIRST_FOLLOW) {
		tt_stls_giveup(c, s,
			       "the first bytes are no protocol tlstrace "
			       "follows",
			       em);
		return take;
	}
	decide(c, s, dir, &g);
	uint8_t head[TT_STLS_HEAD];
	size_t k = d->len;
	memcpy(head, d->buf, k);
	d->len = 0;
	/* a greeting and an upgrade within the first bytes of one side
	 * cannot be: whatever would be left is not TLS */
	if (run(c, s, dir, head, k, em) < k)
		tt_stls_giveup(c, s, "the session went on without an upgrade",
			       em);
	return take;
}

static bool space(uint8_t b)
{
	return b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

/* The loop over the units of p: returns the bytes taken as cleartext. */
static size_t run(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		  const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	size_t off = 0;
	while (off < n && s->end == TT_STLS_ON && !d->tls) {
		if (!s->proto) {
			off += undecided(c, s, dir, p + off, n - off, em);
			continue;
		}
		size_t took = 1;
		if (s->asked && tt_stls_from_client(s, dir)) {
			/* a handshake record: a ClientHello (the record
			 * layer judges the rest, whatever the reads' cuts) */
			if (p[off] == 22) {
				d->tls = true;
				break;
			}
			/* XML streams may carry whitespace anywhere */
			if (s->proto != TT_STARTTLS_XMPP || !space(p[off])) {
				tt_stls_injection(c, s, dir, em);
				return n;
			}
		} else {
			took = unit(c, s, dir, p + off, n - off, em);
			if (took == 0 || took > n - off)
				took = n - off; /* a byte at least */
		}
		off += took;
		d->seen += (uint32_t)took;
		if (d->seen > TT_STLS_CAP && !d->tls)
			tt_stls_giveup(c, s,
				       "no upgrade request within the first "
				       "16384 bytes",
				       em);
	}
	return s->end == TT_STLS_ON ? off : n;
}

size_t tt_stls_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		    size_t n, const struct tt_emit *em)
{
	struct tt_stls *s = c->stls;
	if (!s || s->d[dir].tls)
		return 0;
	size_t took = run(c, s, dir, p, n, em);
	tt_stls_finish(c, em);
	return took;
}

bool tt_stls_start(struct tt_conn *c, enum tt_dir dir, enum tt_first what,
		   const struct tt_first_guess *g)
{
	struct tt_stls *s = calloc(1, sizeof(*s));
	if (!s)
		return false;
	s->first = (uint8_t)dir;
	if (what == TT_FIRST_FOLLOW && g)
		decide(c, s, dir, g);
	c->stls = s;
	return true;
}
