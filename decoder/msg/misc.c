/* The remaining handshake messages: their key fields, or name and length.
 *
 * ServerKeyExchange, RFC 8422 5.4 / RFC 5246 7.4.3:
 *   ECDHE: struct { ECCurveType curve_type (3 = named_curve);
 *                   NamedCurve namedcurve; opaque point<1..2^8-1>; } params;
 *   DHE:   struct { opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>;
 *                   opaque dh_Ys<1..2^16-1>; } params;
 *   then, in TLS 1.2, SignatureAndHashAlgorithm + opaque signature<0..2^16-1>.
 * NewSessionTicket, RFC 5077 3.3 / RFC 8446 4.6.1:
 *   1.2: uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>;
 *   1.3: uint32 ticket_lifetime; uint32 ticket_age_add;
 *        opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
 *        Extension extensions<0..2^16-2>;
 * CertificateVerify, RFC 8446 4.4.3 / RFC 5246 7.4.8:
 *   SignatureScheme algorithm (TLS 1.2+); opaque signature<0..2^16-1>;
 * Finished, RFC 8446 4.4.4 / RFC 5246 7.4.9: opaque verify_data[...];
 * KeyUpdate, RFC 8446 4.6.3:
 *   enum { update_not_requested(0), update_requested(1) } request_update;
 * HelloRequest, ServerHelloDone, EndOfEarlyData: empty bodies.
 *
 * Each parser reads the whole body first (into a small struct where it
 * has more than one field), and only then learns the role and emits.
 */
#include <string.h>

#include "msg.h"
#include "names.h"

/* What a ServerKeyExchange shows: the group of an ECDHE suite, the
 * prime's size of a DHE one, read up to there (the signature after them
 * is not read). */
struct server_key_exchange {
	bool has_group, has_dh;
	uint16_t group;
	long long dh_bits;
};

TT_MUST_USE static tt_rc
server_key_exchange_parse(struct tt_cur m, enum tt_kx kx,
			  struct server_key_exchange *r)
{
	if (kx == TT_KX_DHE_PSK || kx == TT_KX_ECDHE_PSK) {
		struct tt_cur hint; /* psk_identity_hint<0..2^16-1> first */
		TRY(tt_sub16(&m, &hint));
	}
	if (kx == TT_KX_ECDHE || kx == TT_KX_ECDHE_PSK) {
		uint8_t type;
		struct tt_cur point;
		TRY(tt_u8(&m, &type));
		if (type == 3) { /* named_curve */
			TRY(tt_u16(&m, &r->group));
			TRY(tt_sub8(&m, &point));
			r->has_group = true;
		}
	} else if (kx == TT_KX_DHE || kx == TT_KX_DHE_PSK) {
		struct tt_cur p, g, y;
		TRY(tt_sub16(&m, &p));
		TRY(tt_sub16(&m, &g));
		TRY(tt_sub16(&m, &y));
		size_t plen = tt_cur_left(&p);
		while (plen && *p.p == 0) { /* leading zero bytes */
			p.p++;
			plen--;
		}
		r->dh_bits = (long long)plen * 8;
		r->has_dh = true;
	}
	return TT_OK;
}

tt_rc tt_hs_server_key_exchange(struct tt_conn *c, enum tt_dir dir,
				const uint8_t *body, size_t len,
				const struct tt_emit *em)
{
	const struct tt_suite *suite =
		tt_conn_version(c) ? tt_suite_info(c->cipher) : NULL;
	struct server_key_exchange r;
	memset(&r, 0, sizeof(r));
	TRY(server_key_exchange_parse(tt_cur_make(body, len),
				      suite ? suite->kx : TT_KX_NONE, &r));

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	struct tt_event *ev =
		tt_ev_begin(em, "server_key_exchange", TT_INFO, dir);
	char b[TT_NAMEBUF];
	if (r.has_group)
		tt_ev_label(ev, "group", TT_INFO, tt_label_group(r.group, b));
	if (r.has_dh)
		tt_ev_int(ev, "dh_bits", TT_INFO, r.dh_bits);
	tt_ev_int(ev, "length", TT_DEBUG, (long long)len);
	tt_ev_send(em, ev);
	return TT_OK;
}

/* What a NewSessionTicket shows. */
struct new_session_ticket {
	uint32_t lifetime;
	size_t ticket_len;
	bool has_early;
	uint32_t max_early; /* early_data: max_early_data_size */
};

TT_MUST_USE static tt_rc new_session_ticket_parse(struct tt_cur m, bool tls13,
						  struct new_session_ticket *r)
{
	struct tt_cur ticket;
	TRY(tt_u32(&m, &r->lifetime));
	if (tls13) {
		uint32_t age_add;
		struct tt_cur nonce, exts;
		TRY(tt_u32(&m, &age_add));
		TRY(tt_sub8(&m, &nonce));
		TRY(tt_sub16(&m, &ticket));
		TRY(tt_sub16(&m, &exts));
		struct tt_exts x;
		TRY(tt_ext_split(exts, TT_EXT_MAX, &x));
		for (size_t i = 0; i < x.n; i++) {
			if (x.type[i] != TT_EXT_EARLY_DATA)
				continue;
			struct tt_cur v = x.data[i];
			TRY(tt_u32(&v, &r->max_early));
			TRY(tt_expect_empty(&v));
			r->has_early = true;
		}
	} else {
		TRY(tt_sub16(&m, &ticket));
	}
	TRY(tt_expect_empty(&m));
	r->ticket_len = tt_cur_left(&ticket);
	return TT_OK;
}

tt_rc tt_hs_new_session_ticket(struct tt_conn *c, enum tt_dir dir,
			       const uint8_t *body, size_t len,
			       const struct tt_emit *em)
{
	struct new_session_ticket r;
	memset(&r, 0, sizeof(r));
	TRY(new_session_ticket_parse(tt_cur_make(body, len),
				     tt_conn_version(c) >= TT_V_TLS13, &r));

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	struct tt_event *ev =
		tt_ev_begin(em, "new_session_ticket", TT_INFO, dir);
	tt_ev_int(ev, "lifetime", TT_INFO, r.lifetime);
	tt_ev_int(ev, "ticket_length", TT_DEBUG, (long long)r.ticket_len);
	if (r.has_early)
		tt_ev_int(ev, "max_early_data", TT_INFO, r.max_early);
	tt_ev_send(em, ev);
	return TT_OK;
}

tt_rc tt_hs_certificate_verify(struct tt_conn *c, enum tt_dir dir,
			       const uint8_t *body, size_t len,
			       const struct tt_emit *em)
{
	struct tt_cur m = tt_cur_make(body, len), sig;
	uint16_t scheme = 0;
	bool has_scheme = tt_conn_version(c) >= TT_V_TLS12;
	if (has_scheme)
		TRY(tt_u16(&m, &scheme));
	TRY(tt_sub16(&m, &sig));
	TRY(tt_expect_empty(&m));

	struct tt_event *ev =
		tt_ev_begin(em, "certificate_verify", TT_INFO, dir);
	char b[TT_NAMEBUF];
	if (has_scheme)
		tt_ev_label(ev, "sig_alg", TT_INFO,
			    tt_label_sigscheme(scheme, b));
	tt_ev_int(ev, "signature_length", TT_DEBUG,
		  (long long)tt_cur_left(&sig));
	tt_ev_send(em, ev);
	return TT_OK;
}

tt_rc tt_hs_finished(struct tt_conn *c, enum tt_dir dir, const uint8_t *body,
		     size_t len, const struct tt_emit *em)
{
	(void)body;
	/* 12 bytes up to TLS 1.2 (all suites in use), the hash length in
	 * TLS 1.3 */
	ENSURE(len >= 12 && len <= 64, TT_DECODE);

	struct tt_dirstate *d = &c->d[dir];
	if (tt_conn_version(c) >= TT_V_TLS13 &&
	    (d->klabel == TT_KL_CLIENT_HANDSHAKE_TRAFFIC_SECRET ||
	     d->klabel == TT_KL_SERVER_HANDSHAKE_TRAFFIC_SECRET))
		d->ksw_app = true; /* the handshake epoch ends here */
	struct tt_event *ev = tt_ev_begin(em, "finished", TT_INFO, dir);
	tt_ev_int(ev, "verify_data_length", TT_DEBUG, (long long)len);
	tt_ev_send(em, ev);
	return TT_OK;
}

tt_rc tt_hs_end_of_early_data(struct tt_conn *c, enum tt_dir dir,
			      const uint8_t *body, size_t len,
			      const struct tt_emit *em)
{
	(void)body;
	ENSURE(len == 0, TT_DECODE);

	tt_conn_learn_role(c, dir, TT_ROLE_CLIENT);
	struct tt_dirstate *d = &c->d[dir];
	if (d->klabel == TT_KL_CLIENT_EARLY_TRAFFIC_SECRET)
		d->ksw_hs = true; /* the early epoch ends here */
	if (c->early == TT_EARLY_ACCEPTED)
		c->early = TT_EARLY_ENDED;
	struct tt_event *ev =
		tt_ev_begin(em, "end_of_early_data", TT_INFO, dir);
	tt_ev_int(ev, "early_data_records", TT_INFO, c->early_records);
	tt_ev_send(em, ev);
	return TT_OK;
}

tt_rc tt_hs_key_update(struct tt_conn *c, enum tt_dir dir, const uint8_t *body,
		       size_t len, const struct tt_emit *em)
{
	ENSURE(len == 1 && body[0] <= 1, TT_DECODE);

	c->d[dir].ksw_update = true; /* the next record uses the next secret */
	c->key_updates[dir]++;
	struct tt_event *ev = tt_ev_begin(em, "key_update", TT_INFO, dir);
	tt_ev_str(ev, "request_update", TT_INFO,
		  body[0] ? "update_requested" : "update_not_requested");
	tt_ev_send(em, ev);
	return TT_OK;
}

tt_rc tt_hs_generic(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		    const uint8_t *body, size_t len, const struct tt_emit *em)
{
	(void)body;
	enum tt_role sender = TT_ROLE_UNKNOWN;
	switch (type) {
	case TT_HT_HELLO_REQUEST:
	case TT_HT_SERVER_HELLO_DONE:
		ENSURE(len == 0, TT_DECODE);
		sender = TT_ROLE_SERVER;
		break;
	case TT_HT_CLIENT_KEY_EXCHANGE:
		sender = TT_ROLE_CLIENT;
		break;
	default:
		break;
	}

	if (sender != TT_ROLE_UNKNOWN)
		tt_conn_learn_role(c, dir, sender);
	const char *name = tt_name_handshake(type);
	struct tt_event *ev =
		tt_ev_begin(em, name ? name : "handshake", TT_INFO, dir);
	if (!name) {
		char b[TT_NAMEBUF];
		tt_ev_label(ev, "handshake_type", TT_INFO,
			    tt_label_handshake(type, b));
	}
	tt_ev_int(ev, "length", TT_DEBUG, (long long)len);
	tt_ev_send(em, ev);
	return TT_OK;
}
