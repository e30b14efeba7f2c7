/* The end of a connection: connection_closed / connection_reset, the
 * diagnosis that explains the end, and the summary.
 */
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "session.h"

static const char *reneg_outcome(const struct tt_conn *c)
{
	switch (c->reneg) {
	case TT_RENEG_REQUESTED:
		return "requested, not answered";
	case TT_RENEG_STARTED:
		return "started, not completed";
	case TT_RENEG_COMPLETED:
		return "completed";
	case TT_RENEG_REFUSED:
		return "refused";
	case TT_RENEG_FAILED:
		return "failed";
	default:
		return "none";
	}
}

/* The summary's word on inflating compressed records, or NULL when none
 * needed it. */
static const char *inflate_outcome(const struct tt_conn *c)
{
	if (c->infl & TT_INFL_FAILED)
		return "failed";
	if (c->infl & TT_INFL_NO_ZLIB)
		return "no_zlib";
	if (c->infl & TT_INFL_UNSUPPORTED)
		return "unsupported_method";
	if (c->infl & TT_INFL_INCOMPLETE)
		return "incomplete";
	if (c->infl & TT_INFL_USED)
		return "used";
	return NULL;
}

static const char *close_notify_text(const struct tt_conn *c, enum tt_dir dir)
{
	if (c->close_notify[dir])
		return "seen";
	if (c->enc_alert[dir])
		return "likely (encrypted alert)";
	return "not seen";
}

static void end_diagnosis(struct tt_conn *c, const struct tt_end_info *ei,
			  const struct tt_emit *em)
{
	if (c->diag_done)
		return;
	enum tt_role me = (enum tt_role)tt_conn_role(c);
	bool reset = ei->how == TT_END_ERROR || ei->how == TT_END_LOCAL_ABORT;
	if (c->reneg == TT_RENEG_REFUSED &&
	    c->reneg_initiator == TT_ROLE_SERVER) {
		if (reset && !c->fatal[me == TT_ROLE_CLIENT ? TT_IN : TT_OUT]) {
			c->diag_done = true;
			tt_emit_diagnosis(
				em, ei->dir, "renegotiation_refused_then_reset",
				me == TT_ROLE_SERVER
					? "this server asked to renegotiate "
					  "(HelloRequest), the client refused "
					  "(no_renegotiation), and this server "
					  "reset the connection: server-side "
					  "conditional client-certificate "
					  "authentication, as IIS does it"
					: "the server asked to renegotiate "
					  "(HelloRequest) after the request, "
					  "this client refused "
					  "(no_renegotiation), and the server "
					  "reset the connection: the server "
					  "wants a client certificate for this "
					  "resource and asks for it by "
					  "renegotiating (IIS-style "
					  "conditional client-certificate "
					  "authentication)",
				"request the client certificate in the initial "
				"handshake (IIS: require client certificates "
				"for the whole site, or enable "
				"clientcertnegotiation on the binding), or use "
				"TLS 1.3, which has no renegotiation; or let "
				"the client accept renegotiation");
		} else {
			tt_sess_reneg_refused(c, ei->dir, ei->how, em);
		}
		return;
	}
	if (ei->how == TT_END_PEER_FIN && c->phase != TT_PHASE_FIRST &&
	    !c->close_notify[TT_IN] && !c->enc_alert[TT_IN] &&
	    tt_conn_pre13(c)) {
		c->diag_done = true;
		tt_emit_diagnosis(
			em, TT_IN, "closed_without_close_notify",
			"the peer closed the connection without close_notify: "
			"data may have been cut short (truncation), and the "
			"receiver cannot tell",
			"make the peer shut TLS down properly (SSL_shutdown "
			"or its equivalent) before closing the socket");
	}
}

static void summary(struct tt_conn *c, const struct tt_end_info *ei,
		    const struct tt_emit *em)
{
	struct tt_event *ev = tt_ev_begin(em, "summary", TT_INFO, TT_OUT);
	if (!ev)
		return;
	char b[TT_NAMEBUF];
	uint16_t v = tt_conn_version(c);
	const char *vs = v ? tt_label_version(v, b) : "unknown";
	tt_ev_label(ev, "version", TT_INFO, vs);
	if (v && v != TT_V_SSL2) { /* SSL 2.0 chooses a cipher kind later */
		const char *cs = tt_label_cipher(c->cipher, b);
		tt_ev_label(ev, "cipher", TT_INFO, cs);
	}
	if (c->sni)
		tt_ev_label(ev, "sni", TT_INFO, c->sni);
	if (c->alpn[0])
		tt_ev_label(ev, "alpn", TT_INFO, c->alpn);
	if (c->starttls)
		tt_ev_str(ev, "starttls", TT_INFO,
			  tt_name_starttls(c->starttls));
	if (c->attach) {
		tt_ev_bool(ev, "attached", TT_INFO, true);
		if (c->attach == TT_ATTACH_JOINED)
			tt_ev_str(ev, "unseen", TT_INFO, "handshake");
	}
	tt_ev_int(ev, "duration_us", TT_INFO, ei->duration_us);
	tt_ev_int(ev, "bytes_in", TT_INFO, (long long)c->d[TT_IN].bytes);
	tt_ev_int(ev, "bytes_out", TT_INFO, (long long)c->d[TT_OUT].bytes);
	if (c->d[TT_IN].skipped)
		tt_ev_int(ev, "skipped_in", TT_INFO, c->d[TT_IN].skipped);
	if (c->d[TT_OUT].skipped)
		tt_ev_int(ev, "skipped_out", TT_INFO, c->d[TT_OUT].skipped);
	tt_ev_int(ev, "handshake_messages", TT_INFO, c->nmsg);
	tt_ev_list_begin(ev, "messages", TT_INFO);
	for (uint8_t i = 0; i < c->nmsg; i++) {
		char *out = tt_ev_list_reserve(ev, 48);
		if (!out)
			break;
		uint16_t m = tt_conn_msg(c, i);
		int n = snprintf(out, 48, "%s %s%s",
				 (m >> 8 & 1) ? "out" : "in",
				 tt_label_handshake((uint8_t)m, b),
				 (m >> 9 & 1) ? " (inferred)" : "");
		tt_ev_list_commit(ev, (size_t)n);
	}
	tt_ev_list_end(ev);
	tt_ev_bool(ev, "client_auth_requested", TT_INFO, c->cr_seen);
	if (c->cr_seen)
		tt_ev_int(ev, "ca_count", TT_INFO, c->cr_ca_count);
	tt_ev_bool(ev, "client_cert_sent", TT_INFO, c->client_cert == 1);
	tt_ev_list_begin(ev, "alerts", TT_INFO);
	for (uint8_t i = 0; i < c->nalerts; i++) {
		const struct tt_alert_note *a = &c->alerts[i];
		char *out = tt_ev_list_reserve(ev, 80);
		if (!out)
			break;
		char lb[TT_NAMEBUF];
		int n = snprintf(out, 80, "%s %s %s%s",
				 a->dir == TT_OUT ? "out" : "in",
				 tt_label_alert_level(a->level, lb),
				 tt_label_alert(a->desc, b),
				 a->inferred ? " (inferred)" : "");
		tt_ev_list_commit(ev, (size_t)n);
	}
	tt_ev_list_end(ev);
	if (c->key_updates[TT_IN] || c->key_updates[TT_OUT]) {
		tt_ev_int(ev, "key_updates_in", TT_INFO, c->key_updates[TT_IN]);
		tt_ev_int(ev, "key_updates_out", TT_INFO,
			  c->key_updates[TT_OUT]);
	}
	if (c->early != TT_EARLY_NONE) {
		static const char *const early[] = {
			[TT_EARLY_OFFERED] = "offered",
			[TT_EARLY_ACCEPTED] = "accepted",
			[TT_EARLY_REJECTED] = "rejected",
			[TT_EARLY_ENDED] = "accepted",
		};
		tt_ev_str(ev, "early_data", TT_INFO, early[c->early]);
		tt_ev_int(ev, "early_data_records", TT_INFO, c->early_records);
	}
	const char *keys = tt_conn_keys_outcome(c);
	if (keys)
		tt_ev_str(ev, "keys", TT_INFO, keys);
	const char *note = NULL;
	if (keys && strcmp(keys, "missing") == 0) {
		if (c->attach == TT_ATTACH_JOINED)
			note = "the secrets were derived before the attach, "
			       "in a handshake that went by unseen: without "
			       "its client random none can be found";
		else if (c->ks && c->ks->note)
			note = c->ks->note(c->ks->ctx);
	}
	if (note)
		tt_ev_str(ev, "keys_note", TT_DEBUG, note);
	if (c->dec_records)
		tt_ev_int(ev, "decrypted_records", TT_DEBUG, c->dec_records);
	if (c->comp_used)
		tt_ev_label(ev, "compression", TT_INFO,
			    tt_label_compression(c->comp_used, b));
	const char *infl = inflate_outcome(c);
	if (infl)
		tt_ev_str(ev, "inflate", TT_INFO, infl);
	tt_ev_int(ev, "renegotiations", TT_INFO, c->reneg_attempts);
	tt_ev_str(ev, "renegotiation", TT_INFO, reneg_outcome(c));
	tt_ev_str(ev, "close_notify_received", TT_INFO,
		  close_notify_text(c, TT_IN));
	tt_ev_str(ev, "close_notify_sent", TT_INFO,
		  close_notify_text(c, TT_OUT));
	const char *ended;
	char eb[96];
	switch (c->end_how) {
	case TT_END_ERROR:
		snprintf(eb, sizeof(eb), "reset (%s on %s)",
			 c->end_errname ? c->end_errname : "error",
			 c->end_call ? c->end_call : "a call");
		ended = eb;
		break;
	case TT_END_LOCAL_ABORT:
		ended = "reset by this process (SO_LINGER 0)";
		break;
	case TT_END_PEER_FIN:
		ended = "closed by the peer";
		break;
	case TT_END_EXIT:
		ended = "open at process exit";
		break;
	case TT_END_DETACH:
		ended = "open when tlstrace detached";
		break;
	default:
		ended = "closed by this process";
	}
	tt_ev_label(ev, "ended", TT_INFO, ended);
	if (c->bypass[TT_IN])
		tt_ev_str(ev, "bypass_in", TT_INFO, c->bypass[TT_IN]);
	if (c->bypass[TT_OUT])
		tt_ev_str(ev, "bypass_out", TT_INFO, c->bypass[TT_OUT]);
	tt_ev_send(em, ev);
}

void tt_sess_end(struct tt_conn *c, const struct tt_end_info *ei,
		 const struct tt_emit *em)
{
	bool final = tt_end_final(ei);
	if (!c->ended && !tt_end_unseen(ei)) {
		c->ended = true;
		c->end_how = (uint8_t)ei->how;
		c->end_errname = ei->errname;
		c->end_call = ei->call;
		bool reset = ei->how == TT_END_ERROR ||
			     ei->how == TT_END_LOCAL_ABORT;
		struct tt_event *ev = tt_ev_begin(
			em, reset ? "connection_reset" : "connection_closed",
			reset ? TT_WARN : TT_INFO, ei->dir);
		enum tt_level fl = reset ? TT_WARN : TT_INFO;
		const char *how = "";
		switch (ei->how) {
		case TT_END_PEER_FIN:
			how = "peer_closed";
			break;
		case TT_END_ERROR:
			/* the peer's RST shows as ECONNRESET, or as EPIPE on
			 * a write; other errors are the network's */
			how = ei->errname && (strcmp(ei->errname,
						     "ECONNRESET") == 0 ||
					      strcmp(ei->errname, "EPIPE") ==
						      0 ||
					      strcmp(ei->errname,
						     "ECONNABORTED") == 0)
				      ? "reset_by_peer"
				      : "connection_error";
			break;
		case TT_END_LOCAL_ABORT:
			how = "local_abort";
			break;
		default:
			how = "local_close";
		}
		tt_ev_str(ev, "how", fl, how);
		if (ei->errname)
			tt_ev_str(ev, "errno", fl, ei->errname);
		if (ei->call)
			tt_ev_str(ev, "call", fl, ei->call);
		if (!reset)
			tt_ev_str(
				ev, "close_notify", TT_INFO,
				close_notify_text(c, ei->how == TT_END_PEER_FIN
							     ? TT_IN
							     : TT_OUT));
		if (ei->how == TT_END_LOCAL_ABORT)
			tt_ev_str(ev, "evidence", TT_INFO,
				  "close() with SO_LINGER {on, 0 s}: the "
				  "kernel sends a TCP reset");
		if (ei->unread > 0)
			tt_ev_int(ev, "unread_bytes", TT_INFO, ei->unread);
		tt_ev_int(ev, "since_last_us", fl, ei->since_last_us);
		tt_ev_send(em, ev);
		if (ei->how == TT_END_PEER_FIN)
			c->peer_fin = true;
		end_diagnosis(c, ei, em);
	} else if (c->ended && c->end_how == TT_END_PEER_FIN &&
		   (ei->how == TT_END_ERROR || ei->how == TT_END_LOCAL_ABORT)) {
		/* FIN first, then a reset: the summary says reset */
		c->end_how = (uint8_t)ei->how;
		c->end_errname = ei->errname;
		c->end_call = ei->call;
	}
	if (tt_end_unseen(ei) && !c->ended)
		end_diagnosis(c, ei, em); /* what the end would have said */
	if (final) {
		if (c->end_how == TT_END_NONE)
			c->end_how = (uint8_t)ei->how;
		summary(c, ei, em);
	}
}
