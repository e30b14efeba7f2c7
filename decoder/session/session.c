/* The connection as a whole: handshake completion, renegotiation
 * (RFC 5246 7.4.1.1, RFC 5746), how it ended, the summary, and the
 * diagnoses a person can act on.
 *
 * Without keys, TLS <= 1.2 hides everything after ChangeCipherSpec, but
 * the order and kind of records still tell a lot:
 *   - the first encrypted handshake record after a CCS is Finished;
 *   - once both Finished went by, an encrypted handshake record from the
 *     server to a client that has not started a new handshake can only be
 *     a HelloRequest;
 *   - an encrypted handshake record from the client then is a ClientHello:
 *     a renegotiation has started (asked for or not by the server);
 *   - an alert record from the client right after a HelloRequest, with no
 *     new handshake, is the refusal: no_renegotiation, always a warning
 *     (RFC 5246 7.2.2).
 * Every such event carries "inferred": true and its evidence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "session.h"

void tt_emit_diagnosis(const struct tt_emit *em, enum tt_dir dir,
		       const char *code, const char *message, const char *fix)
{
	struct tt_event *ev = tt_ev_begin(em, "diagnosis", TT_WARN, dir);
	tt_ev_str(ev, "code", TT_WARN, code);
	tt_ev_str(ev, "message", TT_WARN, message);
	if (fix)
		tt_ev_str(ev, "fix", TT_WARN, fix);
	tt_ev_send(em, ev);
}

static void remember_msg(struct tt_conn *c, enum tt_dir dir, uint8_t type,
			 bool inferred)
{
	uint16_t m = (uint16_t)(type | dir << 8 | (inferred ? 1 << 9 : 0));
	if (c->nmsg < TT_MSG_INLINE) {
		c->msgs[c->nmsg++] = m;
		return;
	}
	if (c->nmsg >= TT_MSG_LOG)
		return;
	/* past the first messages (a renegotiation, many tickets): the
	 * rest of the list, made once */
	if (!c->msgs_more &&
	    !(c->msgs_more = malloc((TT_MSG_LOG - TT_MSG_INLINE) * sizeof(m))))
		return;
	c->msgs_more[c->nmsg++ - TT_MSG_INLINE] = m;
}

static void reneg_event(struct tt_conn *c, enum tt_dir dir, const char *phase,
			bool inferred, const char *evidence,
			const struct tt_emit *em)
{
	struct tt_event *ev = tt_ev_begin(em, "renegotiation", TT_INFO, dir);
	tt_ev_str(ev, "initiator", TT_INFO,
		  tt_role_name((enum tt_role)c->reneg_initiator));
	tt_ev_str(ev, "phase", TT_INFO, phase);
	tt_ev_int(ev, "attempt", TT_INFO, c->reneg_attempts);
	if (evidence)
		tt_ev_str(ev, "evidence", TT_INFO, evidence);
	if (ev && inferred)
		ev->flags |= TT_EVF_INFERRED | TT_EVF_ENCRYPTED;
	tt_ev_send(em, ev);
}

static void handshake_started(struct tt_conn *c, enum tt_dir dir,
			      enum tt_role sender, bool inferred,
			      const struct tt_emit *em)
{
	if (c->phase != TT_PHASE_DONE)
		return;
	if (c->reneg != TT_RENEG_REQUESTED) {
		c->reneg_initiator = (uint8_t)sender;
		c->reneg_attempts++;
	}
	c->phase = TT_PHASE_RENEG;
	c->reneg = TT_RENEG_STARTED;
	c->fin[0] = c->fin[1] = false;
	reneg_event(c, dir, "started", inferred,
		    inferred ? "encrypted handshake record from the client "
			       "after the handshake completed: its ClientHello"
			     : NULL,
		    em);
}

static void hello_request(struct tt_conn *c, enum tt_dir dir, bool inferred,
			  const struct tt_emit *em)
{
	if (c->phase != TT_PHASE_DONE)
		return; /* ignored during a handshake (RFC 5246 7.4.1.1) */
	c->reneg = TT_RENEG_REQUESTED;
	c->reneg_initiator = TT_ROLE_SERVER;
	c->reneg_attempts++;
	reneg_event(c, dir, "requested", inferred,
		    inferred ? "follows from the inferred hello_request" : NULL,
		    em);
}

static void finished(struct tt_conn *c, enum tt_dir dir,
		     const struct tt_emit *em)
{
	c->fin[dir] = true;
	if (!c->fin[0] || !c->fin[1])
		return;
	if (c->phase == TT_PHASE_RENEG) {
		c->reneg = TT_RENEG_COMPLETED;
		reneg_event(c, dir, "completed", false, NULL, em);
	}
	c->phase = TT_PHASE_DONE;
}

void tt_sess_message(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		     bool inferred, const struct tt_emit *em)
{
	remember_msg(c, dir, type, inferred);
	switch (type) {
	case TT_HT_HELLO_REQUEST:
		hello_request(c, dir, inferred, em);
		break;
	case TT_HT_CLIENT_HELLO:
		handshake_started(c, dir, TT_ROLE_CLIENT, inferred, em);
		break;
	case TT_HT_FINISHED:
		finished(c, dir, em);
		break;
	default:
		break;
	}
}

static void alert_note(struct tt_conn *c, enum tt_dir dir, uint8_t level,
		       uint8_t desc, bool inferred)
{
	if (c->nalerts < TT_ALERT_LOG &&
	    (c->alerts ||
	     (c->alerts = malloc(TT_ALERT_LOG * sizeof(*c->alerts)))))
		c->alerts[c->nalerts++] = (struct tt_alert_note){
			(uint8_t)dir, level, desc, inferred};
	if (level == TT_ALEVEL_FATAL)
		c->fatal[dir] = true;
	if (desc == TT_AL_CLOSE_NOTIFY)
		c->close_notify[dir] = true;
}

/* What a fatal alert during the handshake usually means. */
static const char *alert_cause(uint8_t desc)
{
	switch (desc) {
	case TT_AL_UNKNOWN_CA:
		return "the certificate's issuer is not trusted: the chain does "
		       "not lead to a CA in the receiver's trust store (missing "
		       "intermediate, wrong CA file, or a client certificate "
		       "from a CA the server does not accept)";
	case TT_AL_BAD_CERTIFICATE:
		return "a certificate was rejected: corrupt, badly signed, "
		       "wrong key usage, or a client certificate the server "
		       "could not verify";
	case TT_AL_CERTIFICATE_REQUIRED:
		return "the server requires a client certificate and none was "
		       "sent";
	case TT_AL_HANDSHAKE_FAILURE:
		return "no acceptable parameters: no common cipher suite, group "
		       "or signature algorithm, a required client certificate "
		       "missing, or a refused renegotiation";
	case TT_AL_PROTOCOL_VERSION:
		return "no common TLS version: one side requires a version the "
		       "other does not offer";
	case TT_AL_DECRYPT_ERROR:
		return "a signature or Finished check failed: wrong key for the "
		       "certificate, or the handshake was altered in transit";
	case TT_AL_CERTIFICATE_EXPIRED:
		return "a certificate has expired (or the clock is wrong)";
	case TT_AL_CERTIFICATE_UNKNOWN:
		return "a certificate was refused for an unspecified reason, "
		       "often a name mismatch or an untrusted issuer";
	case TT_AL_UNRECOGNIZED_NAME:
		return "the server does not know the host name sent in SNI";
	case TT_AL_NO_APPLICATION_PROTOCOL:
		return "no common ALPN protocol";
	default:
		return NULL;
	}
}

static void alert_diagnosis(struct tt_conn *c, enum tt_dir dir, uint8_t desc,
			    const struct tt_emit *em)
{
	if (!tt_emit_on(em, TT_WARN))
		return;
	char nb[TT_NAMEBUF], msg[640];
	const char *name = tt_label_alert(desc, nb);
	const char *cause = alert_cause(desc);
	snprintf(msg, sizeof(msg),
		 "%s sent a fatal %s alert during the "
		 "handshake%s%s",
		 dir == TT_IN ? "the peer" : "this process", name,
		 cause ? ": usually " : "", cause ? cause : "");
	char fix[TT_CA_TEXT + 200];
	const char *f = NULL;
	if ((desc == TT_AL_CERTIFICATE_REQUIRED ||
	     desc == TT_AL_HANDSHAKE_FAILURE) &&
	    c->cr_seen && c->client_cert <= 0) {
		snprintf(fix, sizeof(fix),
			 "configure a client certificate issued by one of the "
			 "CAs the server named (%s)",
			 c->ca_text && *c->ca_text ? c->ca_text
						   : "it named none");
		f = fix;
	}
	tt_emit_diagnosis(em, dir, "fatal_alert_in_handshake", msg, f);
}

void tt_sess_reneg_refused(struct tt_conn *c, enum tt_dir dir,
			   enum tt_end_how how, const struct tt_emit *em)
{
	if (c->diag_done)
		return;
	c->diag_done = true;
	enum tt_role me = (enum tt_role)tt_conn_role(c);
	bool alerted = c->fatal[me == TT_ROLE_CLIENT ? TT_IN : TT_OUT];
	const char *msg =
		alerted ? "the server asked to renegotiate (HelloRequest), the "
			  "client refused (no_renegotiation), and the server "
			  "ended the connection with a fatal alert "
			  "(OpenSSL-style): the server insists on a new "
			  "handshake, usually to ask for a client certificate"
		: how == TT_END_EXIT
			? "the server asked to renegotiate (HelloRequest) and "
			  "the client refused (no_renegotiation); the "
			  "connection was still open when the process exited: "
			  "the server wants a new handshake, usually to ask "
			  "for a client certificate"
		: how == TT_END_DETACH
			? "the server asked to renegotiate (HelloRequest) and "
			  "the client refused (no_renegotiation); the "
			  "connection was still open when tlstrace detached: "
			  "the server wants a new handshake, usually to ask "
			  "for a client certificate"
			: "the server asked to renegotiate (HelloRequest), the "
			  "client refused (no_renegotiation), and the "
			  "connection was then closed: the server insists on "
			  "a new handshake, usually to ask for a client "
			  "certificate";
	tt_emit_diagnosis(em, dir, "renegotiation_refused_then_alert", msg,
			  "let the client accept renegotiation, or have the "
			  "server ask for the client certificate in the "
			  "initial handshake (or use TLS 1.3)");
}

/* What an alert means for the connection (renegotiation, diagnoses). */
static void alert_noted(struct tt_conn *c, enum tt_dir dir, uint8_t level,
			uint8_t desc, bool inferred, const struct tt_emit *em)
{
	alert_note(c, dir, level, desc, inferred);
	if (desc == TT_AL_NO_RENEGOTIATION &&
	    (c->reneg == TT_RENEG_REQUESTED || c->reneg == TT_RENEG_STARTED)) {
		c->reneg = TT_RENEG_REFUSED;
		c->phase = TT_PHASE_DONE;
		reneg_event(c, dir, "refused", inferred,
			    inferred ? "follows from the inferred "
				       "no_renegotiation alert"
				     : NULL,
			    em);
		return;
	}
	if (level != TT_ALEVEL_FATAL)
		return;
	/* the server's fatal alert after the client refused its
	 * renegotiation: the evidence is complete now, whether or not the
	 * connection is closed later */
	if (c->reneg == TT_RENEG_REFUSED &&
	    c->reneg_initiator == TT_ROLE_SERVER &&
	    tt_sender(c, dir) == TT_ROLE_SERVER)
		tt_sess_reneg_refused(c, dir, TT_END_NONE, em);
	if (c->phase == TT_PHASE_RENEG) {
		c->reneg = TT_RENEG_FAILED;
		reneg_event(c, dir, "failed", inferred,
			    inferred ? "follows from an inferred fatal alert"
				     : NULL,
			    em);
	}
	if (c->phase == TT_PHASE_FIRST && !inferred)
		alert_diagnosis(c, dir, desc, em);
}

void tt_sess_alert_event(struct tt_conn *c, enum tt_dir dir, uint8_t level,
			 uint8_t desc, uint32_t len, const char *evidence,
			 const struct tt_emit *em)
{
	char lb[TT_NAMEBUF], db[TT_NAMEBUF];
	enum tt_level l = level == TT_ALEVEL_FATAL ? TT_WARN : TT_INFO;
	struct tt_event *ev = tt_ev_begin(em, "alert", l, dir);
	tt_ev_str(ev, "alert_level", l, tt_label_alert_level(level, lb));
	tt_ev_str(ev, "alert", l, tt_label_alert(desc, db));
	tt_ev_int(ev, "alert_code", l, desc);
	if (evidence) {
		tt_ev_int(ev, "record_length", TT_INFO, len);
		tt_ev_str(ev, "evidence", l, evidence);
		if (ev)
			ev->flags |= TT_EVF_ENCRYPTED | TT_EVF_INFERRED;
	}
	tt_ev_send(em, ev);
	alert_noted(c, dir, level, desc, evidence != NULL, em);
}

static void plain_encrypted_record(enum tt_dir dir, uint8_t type, uint32_t len,
				   enum tt_level l, const struct tt_emit *em)
{
	char tb[TT_NAMEBUF];
	struct tt_event *ev = tt_ev_begin(em, "encrypted_record", l, dir);
	if (!ev)
		return; /* every application-data record: keep it cheap */
	tt_ev_str(ev, "record_type", l, tt_label_content_type(type, tb));
	tt_ev_int(ev, "record_length", l, len);
	if (ev)
		ev->flags |= TT_EVF_ENCRYPTED;
	tt_ev_send(em, ev);
}

static void encrypted_hs(struct tt_conn *c, enum tt_dir dir, uint32_t len,
			 const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	enum tt_role sender = tt_sender(c, dir);
	char evidence[160];
	/* the first encrypted handshake record after CCS is Finished */
	bool first = d->ccs && !d->enc_hs_after_ccs;
	if (d->ccs)
		d->enc_hs_after_ccs = true;
	if (first) {
		struct tt_event *ev = tt_ev_begin(em, "finished", TT_INFO, dir);
		tt_ev_int(ev, "record_length", TT_DEBUG, len);
		tt_ev_str(ev, "evidence", TT_INFO,
			  "first encrypted handshake record after "
			  "change_cipher_spec");
		if (ev)
			ev->flags |= TT_EVF_ENCRYPTED | TT_EVF_INFERRED;
		tt_ev_send(em, ev);
		tt_sess_message(c, dir, TT_HT_FINISHED, true, em);
		return;
	}
	if (c->phase == TT_PHASE_DONE && sender == TT_ROLE_SERVER &&
	    c->reneg != TT_RENEG_STARTED) {
		snprintf(evidence, sizeof(evidence),
			 "encrypted handshake record of %u bytes from the "
			 "server after the handshake, the client not "
			 "renegotiating",
			 len);
		struct tt_event *ev =
			tt_ev_begin(em, "hello_request", TT_INFO, dir);
		tt_ev_int(ev, "record_length", TT_INFO, len);
		tt_ev_str(ev, "evidence", TT_INFO, evidence);
		if (ev)
			ev->flags |= TT_EVF_ENCRYPTED | TT_EVF_INFERRED;
		tt_ev_send(em, ev);
		tt_sess_message(c, dir, TT_HT_HELLO_REQUEST, true, em);
		return;
	}
	if (c->phase == TT_PHASE_DONE && sender == TT_ROLE_CLIENT) {
		remember_msg(c, dir, TT_HT_CLIENT_HELLO, true);
		handshake_started(c, dir, TT_ROLE_CLIENT, true, em);
		return;
	}
	plain_encrypted_record(dir, TT_CT_HANDSHAKE, len, TT_DEBUG, em);
}

static void encrypted_alert(struct tt_conn *c, enum tt_dir dir, uint32_t len,
			    const struct tt_emit *em)
{
	enum tt_role sender = tt_sender(c, dir);
	char evidence[200];
	/* the answer to a HelloRequest, or to a client's ClientHello */
	bool after_request = c->reneg == TT_RENEG_REQUESTED &&
			     sender == TT_ROLE_CLIENT;
	bool refuses_client = c->reneg == TT_RENEG_STARTED &&
			      c->reneg_initiator == TT_ROLE_CLIENT &&
			      sender == TT_ROLE_SERVER && !c->fin[dir];
	if (after_request || refuses_client) {
		snprintf(evidence, sizeof(evidence),
			 "encrypted alert record of %u bytes from the %s right "
			 "after %s, with no new handshake: no_renegotiation "
			 "(always a warning, RFC 5246 7.2.2)",
			 len, tt_role_name(sender),
			 after_request ? "a hello_request"
				       : "the client's renegotiation");
		tt_sess_alert_event(c, dir, TT_ALEVEL_WARNING,
				    TT_AL_NO_RENEGOTIATION, len, evidence, em);
		return;
	}
	if (c->reneg == TT_RENEG_REFUSED && !c->fatal[dir] &&
	    c->reneg_initiator == TT_ROLE_SERVER && sender == TT_ROLE_SERVER) {
		snprintf(
			evidence, sizeof(evidence),
			"encrypted alert record of %u bytes from the server "
			"after the client refused renegotiation: OpenSSL-style "
			"servers end such a connection with a fatal "
			"handshake_failure",
			len);
		tt_sess_alert_event(c, dir, TT_ALEVEL_FATAL,
				    TT_AL_HANDSHAKE_FAILURE, len, evidence, em);
		return;
	}
	/* unexplained: most often close_notify */
	c->enc_alert[dir] = true;
	plain_encrypted_record(dir, TT_CT_ALERT, len, TT_INFO, em);
}

void tt_sess_encrypted(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		       uint32_t len, const struct tt_emit *em)
{
	/* joined after its handshake, the version unknown: TLS 1.3 sends
	 * every encrypted record as application data, so an encrypted
	 * handshake or alert record proves TLS 1.2 or older */
	if (c->attach == TT_ATTACH_JOINED &&
	    (type == TT_CT_HANDSHAKE || type == TT_CT_ALERT))
		c->d[dir].pre13_seen = true;
	switch (type) {
	case TT_CT_HANDSHAKE:
		encrypted_hs(c, dir, len, em);
		break;
	case TT_CT_ALERT:
		encrypted_alert(c, dir, len, em);
		break;
	case TT_CT_APPLICATION_DATA:
		c->appdata[dir] = true;
		plain_encrypted_record(dir, type, len, TT_TRACE, em);
		break;
	case TT_CT_CHANGE_CIPHER_SPEC: {
		/* a renegotiation's CCS: the next encrypted handshake record
		 * in this direction is its Finished */
		c->d[dir].enc_hs_after_ccs = false;
		struct tt_event *ev =
			tt_ev_begin(em, "change_cipher_spec", TT_INFO, dir);
		tt_ev_int(ev, "record_length", TT_DEBUG, len);
		if (ev)
			ev->flags |= TT_EVF_ENCRYPTED;
		tt_ev_send(em, ev);
		break;
	}
	default:
		plain_encrypted_record(dir, type, len, TT_DEBUG, em);
	}
}

void tt_sess_client_hello(struct tt_conn *c, enum tt_dir dir, bool ri,
			  bool scsv, const struct tt_emit *em)
{
	(void)dir;
	(void)em;
	c->ch_seen = true;
	c->ch_ri = ri;
	c->ch_scsv = scsv;
}

void tt_sess_server_hello(struct tt_conn *c, enum tt_dir dir, bool ri,
			  const struct tt_emit *em)
{
	c->sh_seen = true;
	c->sh_ri = ri;
	uint16_t v = tt_conn_version(c);
	if (ri || v >= TT_V_TLS13 || !c->ch_seen || c->phase != TT_PHASE_FIRST)
		return;
	enum tt_role me = (enum tt_role)tt_conn_role(c);
	const char *msg;
	if (!c->ch_ri && !c->ch_scsv)
		msg = me == TT_ROLE_CLIENT
			      ? "secure renegotiation (RFC 5746) is off: this "
				"client offered neither renegotiation_info nor "
				"TLS_EMPTY_RENEGOTIATION_INFO_SCSV, so a "
				"renegotiation on this connection could be "
				"spliced by an attacker (CVE-2009-3555)"
			      : "secure renegotiation (RFC 5746) is off: the "
				"client offered neither renegotiation_info nor "
				"TLS_EMPTY_RENEGOTIATION_INFO_SCSV, so a "
				"renegotiation on this connection could be "
				"spliced by an attacker (CVE-2009-3555)";
	else
		msg = "secure renegotiation (RFC 5746) is off: the server did "
		      "not answer renegotiation_info, so it supports only "
		      "insecure renegotiation (CVE-2009-3555)";
	tt_emit_diagnosis(em, dir, "insecure_renegotiation", msg,
			  "enable RFC 5746 secure renegotiation on both sides "
			  "(every maintained TLS library has it on by "
			  "default), or disable renegotiation");
}

void tt_sess_cert_request(struct tt_conn *c, long long ca_count,
			  const char *names, size_t names_len)
{
	c->cr_seen = true;
	c->cr_ca_count = (int32_t)ca_count;
	/* in a block of their size, replacing those of an earlier request;
	 * none when there are none */
	free(c->ca_text);
	c->ca_text = NULL;
	if (names_len >= TT_CA_TEXT)
		names_len = TT_CA_TEXT - 1;
	if (names_len == 0 || !(c->ca_text = malloc(names_len + 1)))
		return;
	memcpy(c->ca_text, names, names_len);
	c->ca_text[names_len] = 0;
}

void tt_sess_certificate(struct tt_conn *c, enum tt_dir dir, long long count,
			 const struct tt_emit *em)
{
	if (tt_sender(c, dir) != TT_ROLE_CLIENT)
		return;
	c->client_cert = count > 0 ? 1 : 0;
	if (count > 0 || !c->cr_seen)
		return;
	char msg[TT_CA_TEXT + 200];
	if (c->cr_ca_count > 0)
		snprintf(msg, sizeof(msg),
			 "the server asked for a client certificate issued by "
			 "one of %d CAs (%s) and %s sent none",
			 c->cr_ca_count, c->ca_text ? c->ca_text : "",
			 dir == TT_OUT ? "this client" : "the client");
	else
		snprintf(msg, sizeof(msg),
			 "the server asked for a client certificate (naming no "
			 "CAs) and %s sent none",
			 dir == TT_OUT ? "this client" : "the client");
	tt_emit_diagnosis(em, dir, "client_certificate_not_sent", msg,
			  "give the client a certificate (and key) issued by "
			  "one of those CAs; a client that has one but sends "
			  "none usually found no match among the CA names");
}
