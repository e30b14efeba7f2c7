/* XMPP (RFC 6120 5.4): STARTTLS inside the XML stream.
 *
 *   C: <?xml version='1.0'?><stream:stream to='example.com' ...>
 *   S: <?xml version='1.0'?><stream:stream ...><stream:features>
 *        <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> ...
 *      </stream:features>
 *   C: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
 *   S: <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>
 *      (refused: <failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> and
 *      </stream:stream>)
 *
 * The unit is one tag, from '<' to its '>' (quotes respected); text
 * between tags is passed over.  Before <starttls/> the client sends only
 * the XML declaration and its stream header; anything else means the
 * session goes on in clear.
 */
#include <string.h>

#include "follow.h"

/* The tag's name: after '<' (and '/' for an end tag), up to a space,
 * '/' or '>', without its namespace prefix. */
static void tag_name(const uint8_t *p, size_t n, const uint8_t **name,
		     size_t *len, bool *end_tag)
{
	size_t i = 1;
	*end_tag = i < n && p[i] == '/';
	if (*end_tag)
		i++;
	size_t start = i;
	while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
	       p[i] != '\n' && p[i] != '/' && p[i] != '>')
		i++;
	*name = p + start;
	*len = i - start;
	const uint8_t *colon = memchr(*name, ':', *len);
	if (colon) {
		*len -= (size_t)(colon + 1 - *name);
		*name = colon + 1;
	}
}

static bool self_closing(const uint8_t *p, size_t n)
{
	return n >= 2 && p[n - 2] == '/';
}

static void client_tag(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
		       size_t n, bool cut, const struct tt_emit *em)
{
	const uint8_t *name;
	size_t len;
	bool end_tag;
	tag_name(p, n, &name, &len, &end_tag);
	if (s->xmpp_open) {
		/* <starttls ...></starttls> */
		if (end_tag && tt_stls_word(name, len, "starttls")) {
			size_t k = s->req_len;
			uint8_t text[TT_STLS_TEXT];
			memcpy(text, s->req, k);
			size_t add = n < sizeof(text) - k ? n
							  : sizeof(text) - k;
			memcpy(text + k, p, add);
			bool was_cut = s->req_cut || add < n;
			tt_stls_request(s, text, k + add);
			s->req_cut = was_cut;
			s->xmpp_open = false;
		} else {
			tt_stls_went_on(c, s, em);
		}
		return;
	}
	if (!cut && n >= 2 && p[1] == '?')
		return; /* the XML declaration */
	if (!end_tag && tt_stls_word(name, len, "stream"))
		return; /* the stream header */
	if (!end_tag && tt_stls_word(name, len, "starttls")) {
		tt_stls_request(s, p, n);
		if (cut || !self_closing(p, n)) {
			s->asked = false; /* not until it closes */
			s->xmpp_open = true;
		}
		return;
	}
	tt_stls_went_on(c, s, em);
}

static void server_tag(struct tt_conn *c, struct tt_stls *s, const uint8_t *p,
		       size_t n, bool cut, const struct tt_emit *em)
{
	const uint8_t *name;
	size_t len;
	bool end_tag;
	tag_name(p, n, &name, &len, &end_tag);
	if (s->xmpp_open) {
		/* <proceed ...></proceed>: TLS after its end tag */
		if (end_tag && tt_stls_word(name, len, "proceed")) {
			s->xmpp_open = false;
			s->d[0].tls = s->d[1].tls = true;
		}
		return;
	}
	if (!s->asked || end_tag)
		return;
	if (tt_stls_word(name, len, "proceed")) {
		bool open = cut || !self_closing(p, n);
		tt_stls_answer(c, s, true, p, n, em);
		if (open) {
			s->d[0].tls = s->d[1].tls = false;
			s->xmpp_open = true;
		}
	} else if (tt_stls_word(name, len, "failure")) {
		tt_stls_answer(c, s, false, p, n, em);
	}
}

size_t tt_stls_xmpp(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		    const uint8_t *p, size_t n, const struct tt_emit *em)
{
	struct tt_stls_dir *d = &s->d[dir];
	size_t i = 0;
	if (!d->in_tag) {
		/* text between tags */
		const uint8_t *lt = memchr(p, '<', n);
		if (!lt)
			return n;
		i = (size_t)(lt - p);
		d->in_tag = true;
		d->quote = 0;
		d->len = 0;
		d->cut = false;
	}
	size_t start = i;
	bool done = false;
	for (; i < n; i++) {
		uint8_t b = p[i];
		if (d->quote) {
			if (b == d->quote)
				d->quote = 0;
		} else if (b == '"' || b == '\'') {
			d->quote = b;
		} else if (b == '>') {
			i++;
			done = true;
			break;
		}
	}
	size_t body = i - start, room = sizeof(d->buf) - d->len;
	if (body > room) {
		d->cut = true;
		body = room;
	}
	memcpy(d->buf + d->len, p + start, body);
	d->len = (uint16_t)(d->len + body);
	if (!done)
		return n;
	d->in_tag = false;
	if (tt_stls_from_client(s, dir))
		client_tag(c, s, d->buf, d->len, d->cut, em);
	else
		server_tag(c, s, d->buf, d->len, d->cut, em);
	return i;
}
