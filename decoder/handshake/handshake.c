/* Handshake message reassembly and dispatch (RFC 5246 7.4, RFC 8446 4).
 *
 *   struct {
 *       HandshakeType msg_type;    // 1 byte
 *       uint24 length;             // bytes in message
 *       select (msg_type) { ... } body;
 *   } Handshake;
 *
 * Messages may span records and records may hold many messages.  Whole
 * messages inside one record are parsed in place; only the tail of a
 * message that continues in the next record is copied, into a buffer
 * that exists while such a message is pending and never grows past
 * 4 + TT_HS_MSG_MAX bytes: a longer claimed length is a lying length,
 * reported once, after which the direction passes bytes through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "handshake.h"
#include "msg.h"
#include "names.h"
#include "session.h"

/* The parser of each message type; the others get tt_hs_generic. */
static const tt_hs_parser parsers[256] = {
	[TT_HT_CLIENT_HELLO] = tt_hs_client_hello,
	[TT_HT_SERVER_HELLO] = tt_hs_server_hello,
	[TT_HT_NEW_SESSION_TICKET] = tt_hs_new_session_ticket,
	[TT_HT_ENCRYPTED_EXTENSIONS] = tt_hs_encrypted_extensions,
	[TT_HT_CERTIFICATE] = tt_hs_certificate,
	[TT_HT_SERVER_KEY_EXCHANGE] = tt_hs_server_key_exchange,
	[TT_HT_CERTIFICATE_REQUEST] = tt_hs_certificate_request,
	[TT_HT_CERTIFICATE_VERIFY] = tt_hs_certificate_verify,
	[TT_HT_FINISHED] = tt_hs_finished,
	[TT_HT_KEY_UPDATE] = tt_hs_key_update,
	[TT_HT_END_OF_EARLY_DATA] = tt_hs_end_of_early_data,
};

static void parse_msg(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		      const uint8_t *body, size_t len, const struct tt_emit *em)
{
	c->d[dir].hs_msgs++;
	tt_rc rc = parsers[type] ? parsers[type](c, dir, body, len, em)
				 : tt_hs_generic(c, dir, type, body, len, em);
	if (rc != TT_OK) {
		char tb[TT_NAMEBUF], detail[64];
		snprintf(detail, sizeof(detail), "%s of %zu bytes",
			 tt_label_handshake(type, tb), len);
		tt_emit_decode_error(em, dir, "malformed handshake message",
				     detail);
	}
	tt_sess_message(c, dir, type, false, em);
	struct tt_event *ev = tt_ev_begin(em, "handshake_bytes", TT_TRACE, dir);
	if (ev) {
		char tb[TT_NAMEBUF];
		tt_ev_str(ev, "handshake_type", TT_TRACE,
			  tt_label_handshake(type, tb));
		tt_ev_int(ev, "length", TT_TRACE, (long long)len);
		tt_ev_hex(ev, "hex", TT_TRACE, body, len);
		tt_ev_send(em, ev);
	}
}

/* A message longer than the cap is passed over by its length, never
 * buffered: one event of its type (marked truncated) says so, and
 * decoding goes on with the next message.  True when len is over the
 * cap; the caller then skips the message's body. */
static bool too_big(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		    uint32_t len, const struct tt_emit *em)
{
	if (len <= TT_HS_MSG_MAX)
		return false;
	c->d[dir].hs_msgs++;
	const char *name = tt_name_handshake(type);
	struct tt_event *ev =
		tt_ev_begin(em, name ? name : "handshake", TT_INFO, dir);
	if (ev) {
		char tb[TT_NAMEBUF], note[96];
		if (!name)
			tt_ev_label(ev, "handshake_type", TT_INFO,
				    tt_label_handshake(type, tb));
		tt_ev_int(ev, "length", TT_INFO, len);
		snprintf(note, sizeof(note),
			 "longer than the %u-byte cap: passed over by its "
			 "length, not decoded",
			 TT_HS_MSG_MAX);
		tt_ev_label(ev, "note", TT_INFO, note);
		ev->flags |= TT_EVF_TRUNCATED;
		tt_ev_send(em, ev);
	}
	tt_sess_message(c, dir, type, false, em);
	return true;
}

/* Parses whole messages from [p, p+n); returns how many bytes were used
 * (all of them when a message over the cap starts here: the rest of its
 * body is then skipped, d->hskip). */
static size_t parse_whole(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
			  size_t n, const struct tt_emit *em)
{
	size_t used = 0;
	while (n - used >= 4) {
		const uint8_t *h = p + used;
		uint32_t len = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 |
			       h[3];
		size_t avail = n - used - 4;
		if (too_big(c, dir, h[0], len, em)) {
			if (avail >= len) {
				used += 4 + (size_t)len;
				continue;
			}
			c->d[dir].hskip = len - (uint32_t)avail;
			return n;
		}
		if (avail < len)
			break;
		parse_msg(c, dir, h[0], h + 4, len, em);
		used += 4 + (size_t)len;
		if (c->d[dir].dead)
			return n;
	}
	return used;
}

static bool hbuf_append(struct tt_dirstate *d, const uint8_t *p, size_t n)
{
	size_t need = (size_t)d->hlen + n;
	if (need > d->hcap) {
		size_t cap = d->hcap ? d->hcap : 1024;
		while (cap < need)
			cap *= 2;
		if (cap > 4 + TT_HS_MSG_MAX)
			cap = 4 + TT_HS_MSG_MAX;
		if (cap < need)
			return false;
		uint8_t *nb = realloc(d->hbuf, cap);
		if (!nb)
			return false;
		d->hbuf = nb;
		d->hcap = (uint32_t)cap;
	}
	memcpy(d->hbuf + d->hlen, p, n);
	d->hlen += (uint32_t)n;
	return true;
}

void tt_hs_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p, size_t n,
		const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	while (n > 0 && !d->dead) {
		if (d->hskip) { /* the body of a message over the cap */
			size_t take = n < d->hskip ? n : d->hskip;
			d->hskip -= (uint32_t)take;
			p += take;
			n -= take;
			continue;
		}
		if (d->hlen == 0) {
			size_t used = parse_whole(c, dir, p, n, em);
			p += used;
			n -= used;
			if (n == 0 || d->dead)
				return;
		}
		/* Append only what the pending message needs, so the buffer
		 * holds at most one message. */
		size_t want;
		if (d->hlen < 4) {
			want = 4 - d->hlen;
		} else {
			uint32_t len = (uint32_t)d->hbuf[1] << 16 |
				       (uint32_t)d->hbuf[2] << 8 | d->hbuf[3];
			want = 4 + (size_t)len - d->hlen;
		}
		if (want > n)
			want = n;
		if (!hbuf_append(d, p, want)) {
			tt_dir_stop(c, dir, "out of memory", NULL, em);
			return;
		}
		p += want;
		n -= want;
		if (d->hlen < 4)
			return;
		uint32_t len = (uint32_t)d->hbuf[1] << 16 |
			       (uint32_t)d->hbuf[2] << 8 | d->hbuf[3];
		bool over = too_big(c, dir, d->hbuf[0], len, em);
		if (!over && d->hlen < 4 + len)
			continue; /* n is 0: the rest comes later */
		if (over)
			d->hskip = len - (d->hlen - 4);
		else
			parse_msg(c, dir, d->hbuf[0], d->hbuf + 4, len, em);
		free(d->hbuf);
		d->hbuf = NULL;
		d->hlen = d->hcap = 0;
	}
}
