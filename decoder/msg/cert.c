/* Certificate and CertificateRequest.
 *
 * RFC 5246 7.4.2 / 7.4.6 (TLS 1.0-1.2):
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * RFC 8446 4.4.2 (TLS 1.3):
 *   struct { select (certificate_type) { ... opaque cert_data<1..2^24-1>; };
 *            Extension extensions<0..2^16-1>; } CertificateEntry;
 *   struct { opaque certificate_request_context<0..2^8-1>;
 *            CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 *
 * RFC 5246 7.4.4 (TLS 1.2; TLS 1.0/1.1 lack supported_signature_algorithms):
 *   struct {
 *       ClientCertificateType certificate_types<1..2^8-1>;
 *       SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;
 *       DistinguishedName certificate_authorities<0..2^16-1>;
 *   } CertificateRequest;
 *   opaque DistinguishedName<1..2^16-1>;   // DER of an X.501 Name
 * RFC 8446 4.3.2 (TLS 1.3):
 *   struct { opaque certificate_request_context<0..2^8-1>;
 *            Extension extensions<2..2^16-1>; } CertificateRequest;
 *   certificate_authorities (4.2.4): DistinguishedName authorities<3..2^16-1>;
 */
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "dn.h"
#include "x509.h"
#include "names.h"
#include "session.h"

#define DN_TEXT_MAX 4096

/* Renders one DER Name as a list item. */
static void add_dn_item(struct tt_event *ev, const uint8_t *der, size_t n)
{
	char *out = tt_ev_list_reserve(ev, DN_TEXT_MAX);
	if (!out)
		return;
	size_t len = 0;
	tt_rc rc = tt_dn_render(der, n, out, DN_TEXT_MAX, &len);
	if (rc == TT_DECODE) {
		static const char bad[] = "(malformed name)";
		memcpy(out, bad, sizeof(bad));
		len = sizeof(bad) - 1;
	} else if (rc == TT_TOO_BIG) {
		ev->flags |= TT_EVF_TRUNCATED;
	}
	tt_ev_list_commit(ev, len);
}

/* Appends "dn" to the diagnosis text ("A", "B", ...), or ", ..." and
 * false once it is full. */
static bool text_add(char *text, size_t cap, size_t *o, const char *dn,
		     size_t len)
{
	if (*o + len + 5 >= cap) {
		if (*o + 5 < cap)
			memcpy(text + *o, ", ...", 6);
		*o = strlen(text);
		return false;
	}
	*o += (size_t)snprintf(text + *o, cap - *o, "%s\"%s\"", *o ? ", " : "",
			       dn);
	return true;
}

/* A DistinguishedName list: each name non-empty; their number. */
TT_MUST_USE static tt_rc ca_list_parse(struct tt_cur list, long long *count)
{
	*count = 0;
	while (tt_cur_left(&list)) {
		struct tt_cur dn;
		TRY(tt_sub16(&list, &dn));
		ENSURE(tt_cur_left(&dn) > 0, TT_DECODE);
		(*count)++;
	}
	return TT_OK;
}

/* A DistinguishedName list ca_list_parse accepted: each name rendered
 * once, for the event (the first TT_CA_NAMES_RENDERED, when it is shown)
 * and for the diagnosis text kept on the connection (as many as fit). */
static void ca_list(struct tt_conn *c, struct tt_cur list, long long count,
		    struct tt_event *ev)
{
	tt_ev_int(ev, "ca_count", TT_INFO, count);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	bool shown = ev && TT_INFO <= ev->max;
	char text[TT_CA_TEXT], dn[DN_TEXT_MAX];
	size_t o = 0;
	bool text_open = true;
	text[0] = 0;
	long long i = 0;
	struct tt_cur name;
	while (tt_sub16(&list, &name) == TT_OK) {
		bool to_event = shown && i++ < TT_CA_NAMES_RENDERED;
		if (shown && !to_event)
			ev->flags |= TT_EVF_TRUNCATED;
		if (!to_event && !text_open)
			break;
		size_t len = 0;
		tt_rc rc = tt_dn_render(name.p, tt_cur_left(&name), dn,
					sizeof(dn), &len);
		if (to_event) {
			if (rc == TT_TOO_BIG)
				ev->flags |= TT_EVF_TRUNCATED;
			tt_ev_list_add(ev, rc == TT_DECODE ? "(malformed name)"
							   : dn);
		}
		if (text_open && rc != TT_DECODE)
			text_open = text_add(text, sizeof(text), &o, dn, len);
	}
	tt_ev_list_end(ev);
	tt_sess_cert_request(c, count, text, o);
	if (count == 0)
		tt_ev_str(ev, "note", TT_INFO,
			  "the server sent no CA names: the client may offer "
			  "any certificate");
}

/* What a CertificateRequest says, checked whole. */
struct cert_request {
	bool tls13;
	uint16_t version;	       /* for the "version" field */
	struct tt_cur types;	       /* 1.2 and before */
	struct tt_cur ctx;	       /* 1.3 */
	struct tt_cur sigs, sigs_cert; /* p NULL when absent */
	long long oid_filters;	       /* -1: no oid_filters extension */
	bool has_cas; /* a CA list: always up to 1.2, an extension in 1.3 */
	struct tt_cur cas;
	long long ca_count;
};

TT_MUST_USE static tt_rc cr_tls12_parse(struct tt_cur m, bool with_sigalgs,
					struct cert_request *r)
{
	r->sigs.p = r->sigs.end = NULL;
	TRY(tt_sub8(&m, &r->types));
	ENSURE(tt_cur_left(&r->types) >= 1, TT_DECODE);
	if (with_sigalgs) {
		TRY(tt_sub16(&m, &r->sigs));
		ENSURE(tt_cur_left(&r->sigs) % 2 == 0, TT_DECODE);
	}
	TRY(tt_sub16(&m, &r->cas));
	TRY(tt_expect_empty(&m));
	r->has_cas = true;
	return ca_list_parse(r->cas, &r->ca_count);
}

TT_MUST_USE static tt_rc cr_tls13_parse(struct tt_cur m, struct cert_request *r)
{
	struct tt_cur exts;
	struct tt_exts x;
	TRY(tt_sub8(&m, &r->ctx));
	TRY(tt_sub16(&m, &exts));
	TRY(tt_expect_empty(&m));
	r->tls13 = true;
	r->oid_filters = -1;
	TRY(tt_ext_split(exts, 64, &x));
	for (size_t i = 0; i < x.n; i++) {
		struct tt_cur v = x.data[i], l;
		switch (x.type[i]) {
		case TT_EXT_SIGNATURE_ALGORITHMS:
		case TT_EXT_SIGNATURE_ALGORITHMS_CERT:
			TRY(tt_sub16(&v, &l));
			TRY(tt_expect_empty(&v));
			ENSURE(tt_cur_left(&l) % 2 == 0, TT_DECODE);
			if (x.type[i] == TT_EXT_SIGNATURE_ALGORITHMS)
				r->sigs = l;
			else
				r->sigs_cert = l;
			break;
		case TT_EXT_CERTIFICATE_AUTHORITIES:
			TRY(tt_sub16(&v, &r->cas));
			TRY(tt_expect_empty(&v));
			r->has_cas = true;
			TRY(ca_list_parse(r->cas, &r->ca_count));
			break;
		case TT_EXT_OID_FILTERS:
			TRY(tt_sub16(&v, &l));
			TRY(tt_expect_empty(&v));
			r->oid_filters = 0;
			while (tt_cur_left(&l)) {
				struct tt_cur oid, vals;
				TRY(tt_sub8(&l, &oid));
				TRY(tt_sub16(&l, &vals));
				r->oid_filters++;
			}
			break;
		default:
			break;
		}
	}
	/* signature_algorithms is mandatory here (RFC 8446 4.3.2) */
	ENSURE(r->sigs.p != NULL, TT_DECODE);
	return TT_OK;
}

/* The event, and the CA names kept on the connection (rendered once for
 * both). */
static void cert_request_event(struct tt_conn *c, struct tt_event *ev,
			       const struct cert_request *r)
{
	char b[TT_NAMEBUF];
	uint16_t v = r->version;
	tt_ev_label(ev, "version", TT_INFO,
		    v ? tt_label_version(v, b) : "unknown");
	if (r->tls13) {
		tt_ev_hex(ev, "context", TT_DEBUG, r->ctx.p,
			  tt_cur_left(&r->ctx));
		tt_ev_list_u16(ev, "sig_algs", TT_INFO, r->sigs,
			       tt_label_sigscheme);
		if (r->sigs_cert.p)
			tt_ev_list_u16(ev, "sig_algs_cert", TT_DEBUG,
				       r->sigs_cert, tt_label_sigscheme);
		if (r->oid_filters >= 0)
			tt_ev_int(ev, "oid_filters", TT_DEBUG, r->oid_filters);
	} else {
		tt_ev_list_begin(ev, "cert_types", TT_INFO);
		for (const uint8_t *q = r->types.p; q < r->types.end; q++)
			tt_ev_list_add(ev, tt_label_cert_type(*q, b));
		tt_ev_list_end(ev);
		if (r->sigs.p) {
			tt_ev_list_u16(ev, "sig_algs", TT_INFO, r->sigs,
				       tt_label_sigscheme);
		} else {
			tt_ev_list_begin(ev, "sig_algs", TT_INFO);
			tt_ev_list_end(ev);
		}
	}
	if (r->has_cas) {
		ca_list(c, r->cas, r->ca_count, ev);
		return;
	}
	/* absent extension: zero CA names (contract) */
	tt_ev_int(ev, "ca_count", TT_INFO, 0);
	tt_ev_list_begin(ev, "ca_names", TT_INFO);
	tt_ev_list_end(ev);
	tt_ev_str(ev, "note", TT_INFO,
		  "no certificate_authorities extension: the client may offer "
		  "any certificate");
	tt_sess_cert_request(c, 0, "", 0);
}

tt_rc tt_hs_certificate_request(struct tt_conn *c, enum tt_dir dir,
				const uint8_t *body, size_t len,
				const struct tt_emit *em)
{
	uint16_t v = tt_conn_version(c);
	struct tt_cur m = tt_cur_make(body, len);
	struct cert_request r;
	memset(&r, 0, sizeof(r));
	if (v >= TT_V_TLS13) {
		TRY(cr_tls13_parse(m, &r));
		v = TT_V_TLS13;
	} else if (v == TT_V_TLS12) {
		TRY(cr_tls12_parse(m, true, &r));
	} else if (v != 0) {
		TRY(cr_tls12_parse(m, false, &r));
	} else if (cr_tls12_parse(m, true, &r) != TT_OK) {
		/* version not seen (tracing began mid-handshake): 1.2 did
		 * not fit, try the older form */
		memset(&r, 0, sizeof(r));
		TRY(cr_tls12_parse(m, false, &r));
	}
	r.version = v;

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	struct tt_event *ev =
		tt_ev_begin(em, "certificate_request", TT_INFO, dir);
	cert_request_event(c, ev, &r);
	tt_ev_send(em, ev);
	return TT_OK;
}

/* The leaf's subject, issuer and expiry, at info. */
static void leaf_fields(struct tt_event *ev, const struct tt_x509 *x)
{
	const struct {
		const char *key;
		const uint8_t *p;
		size_t n;
	} f[] = {{"subject", x->subject, x->subject_len},
		 {"issuer", x->issuer, x->issuer_len}};
	for (size_t i = 0; i < 2; i++) {
		char buf[DN_TEXT_MAX];
		size_t len = 0;
		tt_rc rc = tt_dn_render(f[i].p, f[i].n, buf, sizeof(buf), &len);
		if (rc == TT_DECODE)
			continue;
		if (rc == TT_TOO_BIG)
			ev->flags |= TT_EVF_TRUNCATED;
		tt_ev_strcpy(ev, f[i].key, TT_INFO, buf, len);
	}
	tt_ev_label(ev, "not_after", TT_INFO, x->not_after);
}

/* What a Certificate says, checked whole. */
struct certificate {
	bool tls13;
	struct tt_cur ctx;  /* 1.3: certificate_request_context */
	struct tt_cur list; /* certificate_list */
	long long count;
};

TT_MUST_USE static tt_rc certificate_parse(struct tt_cur m, bool tls13,
					   struct certificate *r)
{
	r->tls13 = tls13;
	if (tls13)
		TRY(tt_sub8(&m, &r->ctx));
	TRY(tt_sub24(&m, &r->list));
	TRY(tt_expect_empty(&m));
	struct tt_cur scan = r->list;
	while (tt_cur_left(&scan)) {
		struct tt_cur cert, exts;
		TRY(tt_sub24(&scan, &cert));
		ENSURE(tt_cur_left(&cert) > 0, TT_DECODE);
		if (tls13)
			TRY(tt_sub16(&scan, &exts));
		r->count++;
	}
	return TT_OK;
}

/* The next certificate of a list certificate_parse accepted. */
static bool next_cert(struct tt_cur *l, bool tls13, struct tt_cur *cert)
{
	struct tt_cur exts;
	return tt_sub24(l, cert) == TT_OK &&
	       (!tls13 || tt_sub16(l, &exts) == TT_OK);
}

static void certificate_event(struct tt_event *ev, enum tt_role sender,
			      const struct certificate *r)
{
	if (!ev)
		return; /* not shown: no certificate parsed */
	if (sender != TT_ROLE_UNKNOWN)
		tt_ev_str(ev, "sender", TT_INFO, tt_role_name(sender));
	if (r->tls13)
		tt_ev_hex(ev, "context", TT_DEBUG, r->ctx.p,
			  tt_cur_left(&r->ctx));
	tt_ev_int(ev, "cert_count", TT_INFO, r->count);
	/* each certificate parsed once: the leaf for info, the first
	 * TT_CERTS_RENDERED for the chain at debug */
	struct tt_x509 xs[TT_CERTS_RENDERED];
	bool parsed[TT_CERTS_RENDERED];
	size_t want = ev->max >= TT_DEBUG ? TT_CERTS_RENDERED : 1, nx = 0;
	struct tt_cur l = r->list, cert;
	while ((long long)nx < r->count && nx < want &&
	       next_cert(&l, r->tls13, &cert)) {
		parsed[nx] = tt_x509_parse(cert.p, tt_cur_left(&cert),
					   &xs[nx]) == TT_OK;
		nx++;
	}
	bool bad = nx > 0 && !parsed[0];
	if (nx > 0 && parsed[0])
		leaf_fields(ev, &xs[0]);
	/* the whole chain's subjects, issuers and expiries at debug */
	static const char *const keys[] = {"chain_subjects", "chain_issuers",
					   "chain_not_after"};
	for (int k = 0; k < 3 && ev->max >= TT_DEBUG; k++) {
		tt_ev_list_begin(ev, keys[k], TT_DEBUG);
		for (size_t i = 0; i < nx; i++) {
			const struct tt_x509 *x = &xs[i];
			if (!parsed[i])
				tt_ev_list_add(ev, "(not X.509)");
			else if (k == 2)
				tt_ev_list_add(ev, x->not_after);
			else
				add_dn_item(ev, k == 0 ? x->subject : x->issuer,
					    k == 0 ? x->subject_len
						   : x->issuer_len);
		}
		tt_ev_list_end(ev);
	}
	if (r->count > TT_CERTS_RENDERED)
		ev->flags |= TT_EVF_TRUNCATED;
	if (bad)
		tt_ev_bool(ev, "leaf_unparsable", TT_INFO, true);
	if (r->count == 0)
		tt_ev_str(ev, "note", TT_INFO, "empty certificate list");
}

tt_rc tt_hs_certificate(struct tt_conn *c, enum tt_dir dir, const uint8_t *body,
			size_t len, const struct tt_emit *em)
{
	struct certificate r;
	memset(&r, 0, sizeof(r));
	TRY(certificate_parse(tt_cur_make(body, len),
			      tt_conn_version(c) >= TT_V_TLS13, &r));

	struct tt_event *ev = tt_ev_begin(em, "certificate", TT_INFO, dir);
	certificate_event(ev, tt_sender(c, dir), &r);
	tt_ev_send(em, ev);
	tt_sess_certificate(c, dir, r.count, em);
	return TT_OK;
}
