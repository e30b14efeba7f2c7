/* The outcomes of following: the request and the server's answer (the
 * starttls event), the end of following without TLS (a starttls_stop
 * line at debug, or the decode_error of bytes sent between the request
 * and its answer), and the follower's release once it has nothing left
 * to follow.
 */
#include <stdlib.h>
#include <string.h>

#include "follow.h"
#include "names.h"

bool tt_stls_word(const uint8_t *p, size_t n, const char *w)
{
	size_t k = strlen(w);
	if (n != k)
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t a = p[i], b = (uint8_t)w[i];
		if (a >= 'a' && a <= 'z')
			a = (uint8_t)(a - 32);
		if (b >= 'a' && b <= 'z')
			b = (uint8_t)(b - 32);
		if (a != b)
			return false;
	}
	return true;
}

/* Printable ASCII of b, each other byte as \xHH, at most TT_STLS_TEXT
 * bytes and NUL-terminated into out; false when it was cut. */
static bool printable(const uint8_t *b, size_t n, bool cut, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\') {
			if (o + 1 > TT_STLS_TEXT)
				cut = true;
			else
				out[o++] = (char)b[i];
		} else {
			if (o + 4 > TT_STLS_TEXT)
				cut = true;
			else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hx[b[i] >> 4];
				out[o++] = hx[b[i] & 15];
			}
		}
		if (cut)
			break;
	}
	out[o] = 0;
	return !cut;
}

void tt_stls_request(struct tt_stls *s, const uint8_t *text, size_t n)
{
	s->req_cut = n > sizeof(s->req);
	s->req_len = (uint8_t)(n > sizeof(s->req) ? sizeof(s->req) : n);
	memcpy(s->req, text, s->req_len);
	s->asked = true;
}

static void plain(struct tt_conn *c, struct tt_stls *s)
{
	s->end = TT_STLS_PLAIN;
	(void)c;
}

void tt_stls_answer(struct tt_conn *c, struct tt_stls *s, bool accepted,
		    const uint8_t *reply, size_t n, const struct tt_emit *em)
{
	if (accepted)
		c->starttls = s->proto; /* the connection is TLS from here */
	struct tt_event *ev =
		tt_ev_begin(em, "starttls", TT_INFO, (enum tt_dir)s->client);
	if (ev) {
		char text[TT_STLS_TEXT + 1];
		tt_ev_str(ev, "protocol", TT_INFO, tt_name_starttls(s->proto));
		tt_ev_str(ev, "by", TT_INFO, "client");
		tt_ev_str(ev, "result", TT_INFO,
			  accepted ? "accepted" : "refused");
		bool whole = printable(s->req, s->req_len, s->req_cut, text);
		tt_ev_label(ev, "request", TT_INFO, text);
		if (reply) {
			whole &= printable(reply, n, false, text);
			tt_ev_label(ev, "reply", TT_INFO, text);
		}
		if (!whole)
			ev->flags |= TT_EVF_TRUNCATED;
		tt_ev_send(em, ev);
	}
	s->asked = false;
	if (accepted) {
		s->d[0].tls = s->d[1].tls = true;
	} else if (s->proto == TT_STARTTLS_POSTGRESQL && s->gssenc) {
		/* libpq then asks for TLS on the same connection */
		s->gssenc = false;
	} else {
		plain(c, s);
	}
}

static void stop_event(struct tt_stls *s, const char *why, bool copy,
		       const struct tt_emit *em)
{
	/* the client's direction, as for starttls, once it is known */
	struct tt_event *ev =
		tt_ev_begin(em, "starttls_stop", TT_DEBUG,
			    (enum tt_dir)(s->proto ? s->client : s->first));
	const char *name = tt_name_starttls(s->proto);
	if (name)
		tt_ev_str(ev, "protocol", TT_DEBUG, name);
	if (copy)
		tt_ev_label(ev, "reason", TT_DEBUG, why);
	else
		tt_ev_str(ev, "reason", TT_DEBUG, why);
	tt_ev_send(em, ev);
}

/* Following ends after the upgrade was accepted (an XMPP <proceed>
 * whose end tag never came): what is left is TLS's. */
static bool upgraded(struct tt_conn *c, struct tt_stls *s)
{
	if (!c->starttls)
		return false;
	s->d[0].tls = s->d[1].tls = true;
	s->xmpp_open = false;
	return true;
}

void tt_stls_giveup(struct tt_conn *c, struct tt_stls *s, const char *why,
		    const struct tt_emit *em)
{
	if (s->end != TT_STLS_ON || upgraded(c, s))
		return;
	stop_event(s, why, false, em);
	plain(c, s);
}

void tt_stls_went_on(struct tt_conn *c, struct tt_stls *s,
		     const struct tt_emit *em)
{
	tt_stls_giveup(c, s, "the session went on without an upgrade", em);
}

void tt_stls_injection(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		       const struct tt_emit *em)
{
	char text[TT_STLS_TEXT + 1], detail[TT_STLS_TEXT + 160];
	printable(s->req, s->req_len, s->req_cut, text);
	size_t k = strlen(text);
	memcpy(detail, "after ", 6);
	memcpy(detail + 6, text, k);
	static const char tail[] =
		": a server that kept them would take them as sent inside "
		"TLS (command injection, as CVE-2011-0411)";
	memcpy(detail + 6 + k, tail, sizeof(tail));
	struct tt_event *ev = tt_ev_begin(em, "decode_error", TT_WARN, dir);
	tt_ev_str(ev, "error", TT_WARN,
		  "cleartext sent after the upgrade request, before the "
		  "server's answer");
	tt_ev_label(ev, "detail", TT_WARN, detail);
	tt_ev_send(em, ev);
	plain(c, s);
}

/* Following has ended: without TLS (c is plain from now on), or with
 * both directions TLS (the record layer alone goes on). */
void tt_stls_finish(struct tt_conn *c, const struct tt_emit *em)
{
	struct tt_stls *s = c->stls;
	if (s->end == TT_STLS_PLAIN) {
		tt_stls_release(c);
		c->plain = true;
		tt_dir_stop(c, TT_IN, NULL, NULL, em);
		tt_dir_stop(c, TT_OUT, NULL, NULL, em);
	} else if (s->d[0].tls && s->d[1].tls && !s->asked) {
		tt_stls_release(c);
	}
}

bool tt_stls_following(const struct tt_conn *c, enum tt_dir dir)
{
	return c->stls && !c->stls->d[dir].tls;
}

void tt_stls_stop(struct tt_conn *c, const char *why, const struct tt_emit *em)
{
	struct tt_stls *s = c->stls;
	if (!s)
		return;
	if (s->end == TT_STLS_ON && !upgraded(c, s)) {
		stop_event(s, why, true, em);
		s->end = TT_STLS_PLAIN;
	}
	s->asked = false;
	tt_stls_finish(c, em);
}

void tt_stls_release(struct tt_conn *c)
{
	free(c->stls);
	c->stls = NULL;
}
