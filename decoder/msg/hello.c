/* ClientHello and ServerHello / HelloRetryRequest.
 *
 * RFC 8446 4.1.2, RFC 5246 7.4.1.2:
 *   struct {
 *       ProtocolVersion legacy_version;
 *       Random random;                               // 32 bytes
 *       opaque legacy_session_id<0..32>;
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       opaque legacy_compression_methods<1..2^8-1>;
 *       Extension extensions<8..2^16-1>;             // absent before 1.2
 *   } ClientHello;
 *
 * RFC 8446 4.1.3, RFC 5246 7.4.1.3:
 *   struct {
 *       ProtocolVersion legacy_version;
 *       Random random;          // HelloRetryRequest: SHA-256("HelloRetryRequest")
 *       opaque legacy_session_id_echo<0..32>;
 *       CipherSuite cipher_suite;
 *       uint8 legacy_compression_method;
 *       Extension extensions<6..2^16-1>;
 *   } ServerHello;
 *
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 *
 * Drafts of TLS 1.3 up to -21 (server_version 0x7f01 to 0x7f15) had a
 * shorter ServerHello, the version in the body and no session id or
 * compression (draft-ietf-tls-tls13-14 to -21 4.1.3; the extensions
 * optional up to -11); draft -22 brought the final layout, the version
 * moving to supported_versions.  Up to draft -22 key_share was extension
 * 40 (RFC 8446 puts it at 51):
 *   struct {
 *       ProtocolVersion version;
 *       Random random;
 *       CipherSuite cipher_suite;
 *       Extension extensions<0..2^16-1>;
 *   } ServerHello;
 *
 * SSL 2.0-framed hellos (the first record of a direction whose first
 * byte has its top bit set: a 2-byte header, then msg_type; read by the
 * record layer, which hands over what follows msg_type):
 * CLIENT-HELLO (draft-hickman-netscape-ssl-00 5.5.1), which is also the
 * SSLv2-compatible ClientHello of SSL 3.0 and TLS (RFC 5246 E.2) when its
 * version is 3.x,
 *   uint8 msg_type = 1;
 *   ProtocolVersion version;
 *   uint16 cipher_spec_length;       // a non-zero multiple of 3
 *   uint16 session_id_length;
 *   uint16 challenge_length;         // 16 to 32
 *   V2CipherSpec cipher_specs[cipher_spec_length];   // uint8[3] each
 *   opaque session_id[session_id_length];
 *   opaque challenge[challenge_length];
 * and SERVER-HELLO (5.6.1),
 *   uint8 msg_type = 4;
 *   uint8 session_id_hit;
 *   uint8 certificate_type;
 *   ProtocolVersion version;         // 0x0002
 *   uint16 certificate_length;
 *   uint16 cipher_specs_length;      // a multiple of 3
 *   uint16 connection_id_length;
 *   opaque certificate[certificate_length];
 *   V2CipherSpec cipher_specs[cipher_specs_length];
 *   opaque connection_id[connection_id_length];
 */
#include <stdlib.h>
#include <string.h>

#include "dn.h"
#include "hash.h"
#include "msg.h"
#include "names.h"
#include "session.h"
#include "x509.h"

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* The ClientHello/ServerHello version field and its numeric sibling. */
static void version_fields(struct tt_event *ev, const char *key,
			   const char *codekey, enum tt_level l, uint16_t v)
{
	char b[TT_NAMEBUF];
	tt_ev_label(ev, key, l, tt_label_version(v, b));
	tt_ev_int(ev, codekey, TT_DEBUG, v);
}

/* application_layer_protocol_negotiation (RFC 7301 3.1):
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
 * A non-empty list of non-empty names, nothing after it. */
TT_MUST_USE static tt_rc alpn_parse(struct tt_cur v, struct tt_cur *list)
{
	TRY(tt_sub16(&v, list));
	TRY(tt_expect_empty(&v));
	ENSURE(tt_cur_left(list) > 0, TT_DECODE);
	struct tt_cur l = *list;
	while (tt_cur_left(&l)) {
		struct tt_cur name;
		TRY(tt_sub8(&l, &name));
		ENSURE(tt_cur_left(&name) > 0, TT_DECODE);
	}
	return TT_OK;
}

/* A list alpn_parse accepted, as the "alpn" field. */
static void alpn_field(struct tt_event *ev, struct tt_cur list)
{
	struct tt_cur name;
	tt_ev_list_begin(ev, "alpn", TT_INFO);
	while (tt_sub8(&list, &name) == TT_OK)
		tt_ev_list_add_untrusted(ev, name.p, tt_cur_left(&name));
	tt_ev_list_end(ev);
}

/* The server's ALPN choice (the first name of a list alpn_parse
 * accepted), for the summary. */
static void remember_alpn(struct tt_conn *c, struct tt_cur list)
{
	struct tt_cur name;
	if (tt_sub8(&list, &name) != TT_OK)
		return;
	size_t aw = tt_utf8_sanitize(name.p, tt_cur_left(&name), c->alpn,
				     sizeof(c->alpn));
	if (aw == (size_t)-1)
		c->alpn[0] = 0;
}

/* server_name (RFC 6066 3):
 *   struct { NameType name_type; select (name_type) {
 *            case host_name: opaque HostName<1..2^16-1>; } name; } ServerName;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * The first host_name, if any, in *host (host->p NULL when none). */
TT_MUST_USE static tt_rc server_name_parse(struct tt_cur v, struct tt_cur *host)
{
	struct tt_cur list;
	TRY(tt_sub16(&v, &list));
	TRY(tt_expect_empty(&v));
	while (tt_cur_left(&list)) {
		uint8_t type;
		struct tt_cur name;
		TRY(tt_u8(&list, &type));
		TRY(tt_sub16(&list, &name));
		if (type == 0 && !host->p)
			*host = name;
	}
	return TT_OK;
}

/* The ClientHello's server name, for the summary: sanitized, in a block
 * of its own size that replaces the one before (none when it does not
 * sanitize into TT_SNI_MAX bytes). */
static void remember_sni(struct tt_conn *c, struct tt_cur host)
{
	char b[TT_SNI_MAX + 1];
	size_t n = tt_cur_left(&host);
	if (n > TT_SNI_MAX)
		n = TT_SNI_MAX;
	size_t w = tt_utf8_sanitize(host.p, n, b, sizeof(b));
	free(c->sni);
	c->sni = NULL;
	c->sni_len = 0;
	if (w == (size_t)-1 || w == 0 || !(c->sni = malloc(w + 1)))
		return;
	memcpy(c->sni, b, w + 1);
	c->sni_len = (uint8_t)w;
}

/* A list of 16-bit values in an 8- or 16-bit length prefix, nothing after
 * it, of a whole number of values. */
TT_MUST_USE static tt_rc u16_list(struct tt_cur v, bool len8,
				  struct tt_cur *list)
{
	TRY(len8 ? tt_sub8(&v, list) : tt_sub16(&v, list));
	TRY(tt_expect_empty(&v));
	ENSURE(tt_cur_left(list) % 2 == 0, TT_DECODE);
	return TT_OK;
}

/* key_share in a ClientHello (RFC 8446 4.2.8):
 *   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
 *   struct { KeyShareEntry client_shares<0..2^16-1>; } KeyShareClientHello;
 */
TT_MUST_USE static tt_rc key_shares_parse(struct tt_cur v, struct tt_cur *list)
{
	TRY(tt_sub16(&v, list));
	TRY(tt_expect_empty(&v));
	struct tt_cur l = *list;
	while (tt_cur_left(&l)) {
		uint16_t g;
		struct tt_cur kx;
		TRY(tt_u16(&l, &g));
		TRY(tt_sub16(&l, &kx));
	}
	return TT_OK;
}

/* The groups of a list key_shares_parse accepted. */
static void key_shares_field(struct tt_event *ev, struct tt_cur list)
{
	if (!ev || TT_DEBUG > ev->max)
		return; /* not shown: not walked */
	uint16_t g;
	struct tt_cur kx;
	char b[TT_NAMEBUF];
	tt_ev_list_begin(ev, "key_shares", TT_DEBUG);
	while (tt_u16(&list, &g) == TT_OK && tt_sub16(&list, &kx) == TT_OK)
		tt_ev_list_add(ev, tt_label_group(g, b));
	tt_ev_list_end(ev);
}

/* The signalling suites a ClientHello may list, in either form: the
 * renegotiation SCSV (RFC 5746 3.3) and the fallback SCSV (RFC 7507). */
static void note_scsv(uint16_t cs, bool *scsv, bool *fallback)
{
	*scsv |= cs == 0x00ff;
	*fallback |= cs == 0x5600;
}

/* What a ClientHello says of renegotiation and fallback, last in its
 * event. */
static void scsv_fields(struct tt_event *ev, bool reneg_info, bool scsv,
			bool fallback)
{
	tt_ev_bool(ev, "renegotiation_info", TT_INFO, reneg_info);
	tt_ev_bool(ev, "scsv", TT_INFO, scsv);
	if (fallback)
		tt_ev_bool(ev, "fallback_scsv", TT_INFO, true);
}

/* What a ClientHello says, checked whole. */
struct client_hello {
	uint16_t legacy;
	const uint8_t *random;
	struct tt_cur sid, suites, comp;
	bool scsv, fallback;
	bool has_exts; /* the extension block is there (TLS 1.2 and up) */
	struct tt_exts x;
	/* what the extensions hold, each there when its type is in x */
	struct tt_cur sni;  /* the first host_name; p NULL if none */
	struct tt_cur alpn; /* protocol_name_list */
	struct tt_cur versions, groups, sigalgs, shares, psk_modes;
	struct tt_cur reneg; /* renegotiated_connection */
	bool reneg_info;
	size_t ticket_len;
};

TT_MUST_USE static tt_rc client_hello_parse(struct tt_cur m,
					    struct client_hello *h)
{
	TRY(tt_u16(&m, &h->legacy));
	TRY(tt_bytes(&m, 32, &h->random));
	TRY(tt_sub8(&m, &h->sid));
	ENSURE(tt_cur_left(&h->sid) <= 32, TT_DECODE);
	TRY(tt_sub16(&m, &h->suites));
	ENSURE(tt_cur_left(&h->suites) >= 2 && tt_cur_left(&h->suites) % 2 == 0,
	       TT_DECODE);
	TRY(tt_sub8(&m, &h->comp));
	ENSURE(tt_cur_left(&h->comp) >= 1, TT_DECODE);

	struct tt_cur s = h->suites;
	uint16_t cs;
	while (tt_u16(&s, &cs) == TT_OK)
		note_scsv(cs, &h->scsv, &h->fallback);

	if (!tt_cur_left(&m))
		return TT_OK; /* before TLS 1.2: no extensions */
	struct tt_cur exts;
	TRY(tt_sub16(&m, &exts));
	TRY(tt_expect_empty(&m));
	h->has_exts = true;
	TRY(tt_ext_split(exts, TT_EXT_MAX, &h->x));
	for (size_t i = 0; i < h->x.n; i++) {
		struct tt_cur v = h->x.data[i];
		switch (h->x.type[i]) {
		case TT_EXT_SERVER_NAME:
			TRY(server_name_parse(v, &h->sni));
			break;
		case TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
			TRY(alpn_parse(v, &h->alpn));
			break;
		case TT_EXT_SUPPORTED_VERSIONS:
			TRY(u16_list(v, true, &h->versions));
			break;
		case TT_EXT_SUPPORTED_GROUPS:
			TRY(u16_list(v, false, &h->groups));
			break;
		case TT_EXT_SIGNATURE_ALGORITHMS:
			TRY(u16_list(v, false, &h->sigalgs));
			break;
		case TT_EXT_KEY_SHARE:
			TRY(key_shares_parse(v, &h->shares));
			break;
		case TT_EXT_RENEGOTIATION_INFO:
			TRY(tt_sub8(&v, &h->reneg));
			TRY(tt_expect_empty(&v));
			h->reneg_info = true;
			break;
		case TT_EXT_PSK_KEY_EXCHANGE_MODES:
			TRY(tt_sub8(&v, &h->psk_modes));
			TRY(tt_expect_empty(&v));
			break;
		case TT_EXT_PRE_SHARED_KEY:
			/* RFC 8446 4.2.11: must be the last one */
			ENSURE(i + 1 == h->x.n, TT_DECODE);
			break;
		case TT_EXT_SESSION_TICKET:
			h->ticket_len = tt_cur_left(&v);
			break;
		default:
			break;
		}
	}
	return TT_OK;
}

/* ---- TLS client and server fingerprints ----
 *
 * JA4 (FoxIO, technical_details/JA4.md), of a ClientHello:
 *   t <version> <d|i> <ciphers, 2 digits> <extensions, 2 digits> <alpn, 2>
 *   _ <cipher hash> _ <extension hash>
 * the hashes being the first 12 hex digits of a SHA-256 over lower-case
 * 4-digit hex lists joined by ',': the cipher suites sorted; the
 * extensions sorted without server_name and ALPN, then, when any are
 * offered, '_' and the signature algorithms in their order.  An empty
 * list is 000000000000, not the hash of nothing.
 *
 * JA3 (Salesforce), of a ClientHello: the MD5 of
 *   version,ciphers,extensions,groups,point formats
 * each list in decimal, in its order, joined by '-'; JA3S of a
 * ServerHello: version,cipher,extensions.
 *
 * Both leave out GREASE values (RFC 8701) wherever they occur, and both
 * are made only for an event that is written: the text is hashed as it
 * is produced, and copied (the raw forms, ja4_r, ja3_r, ja3s_r) only at
 * debug level.
 */

/* Room for a raw form; a longer one is left out and the event marked
 * truncated (its hash is still exact). */
#define FP_RAW_MAX 4096

/* Fingerprint text on its way to a digest and, when raw is set, to a
 * copy of it. */
struct fp_text {
	struct tt_md5 *md5;
	struct tt_sha256 *sha;
	char *raw;
	size_t len;
	bool lost; /* the copy did not fit */
};

static void fp_put(struct fp_text *t, const char *s, size_t n)
{
	if (t->md5)
		tt_md5_update(t->md5, s, n);
	if (t->sha)
		tt_sha256_update(t->sha, s, n);
	if (!t->raw || t->lost)
		return;
	if (n >= FP_RAW_MAX - t->len) {
		t->lost = true;
		return;
	}
	memcpy(t->raw + t->len, s, n);
	t->len += n;
	t->raw[t->len] = 0;
}

static void fp_char(struct fp_text *t, char c)
{
	fp_put(t, &c, 1);
}

static void fp_dec(struct fp_text *t, unsigned v)
{
	char b[8];
	size_t i = sizeof(b);
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fp_put(t, b + i, sizeof(b) - i);
}

static void fp_hex4(struct fp_text *t, uint16_t v)
{
	static const char hx[] = "0123456789abcdef";
	char b[4] = {hx[v >> 12], hx[(v >> 8) & 15], hx[(v >> 4) & 15],
		     hx[v & 15]};
	fp_put(t, b, 4);
}

/* The non-GREASE values of a list of 16-bit values, '-'-joined in
 * decimal (JA3). */
static void fp_dec_list(struct fp_text *t, struct tt_cur l)
{
	uint16_t v;
	bool first = true;
	while (tt_u16(&l, &v) == TT_OK) {
		if (tt_is_grease16(v))
			continue;
		if (!first)
			fp_char(t, '-');
		fp_dec(t, v);
		first = false;
	}
}

/* The non-GREASE extension types of x, '-'-joined in decimal. */
static void fp_dec_exts(struct fp_text *t, const struct tt_exts *x)
{
	bool first = true;
	for (size_t i = 0; i < x->n; i++) {
		if (tt_is_grease16(x->type[i]))
			continue;
		if (!first)
			fp_char(t, '-');
		fp_dec(t, x->type[i]);
		first = false;
	}
}

/* The point formats of an ec_point_formats extension (RFC 8422 5.1.2:
 * ECPointFormat ec_point_format_list<1..2^8-1>), which the ClientHello
 * parser does not otherwise read: a body that does not parse gives an
 * empty list, as for JA3's reference reader. */
static void fp_point_formats(struct fp_text *t, const struct tt_exts *x)
{
	for (size_t i = 0; i < x->n; i++) {
		struct tt_cur v = x->data[i], l;
		if (x->type[i] != TT_EXT_EC_POINT_FORMATS ||
		    tt_sub8(&v, &l) != TT_OK)
			continue;
		for (const uint8_t *q = l.p; q < l.end; q++) {
			if (q != l.p)
				fp_char(t, '-');
			fp_dec(t, *q);
		}
	}
}

/* Sends "name" and, at debug level, "name_r" (the text hashed), for a
 * digest given as hex. */
static void fp_fields(struct tt_event *ev, const char *key, const char *rkey,
		      const char *hex, const struct fp_text *t)
{
	tt_ev_label(ev, key, TT_INFO, hex);
	if (!t->raw)
		return;
	if (t->lost)
		ev->flags |= TT_EVF_TRUNCATED;
	else
		tt_ev_strcpy(ev, rkey, TT_DEBUG, t->raw, t->len);
}

/* Starts JA3 or JA3S text, hashed with md5 and copied to raw (NULL:
 * not copied). */
static void ja3_begin(struct fp_text *t, struct tt_md5 *md5, char *raw)
{
	*t = (struct fp_text){.md5 = md5, .raw = raw};
	tt_md5_init(md5);
	if (raw)
		raw[0] = 0;
}

/* Ends JA3 or JA3S text: its MD5 in hex as key, the text as rkey. */
static void ja3_end(struct tt_event *ev, const char *key, const char *rkey,
		    const struct fp_text *t)
{
	uint8_t d[TT_MD5_LEN];
	char hex[2 * TT_MD5_LEN + 1];
	tt_md5_final(t->md5, d);
	fp_fields(ev, key, rkey, tt_hex_lower(d, sizeof(d), hex), t);
}

static void ja3_fields(struct tt_event *ev, const struct client_hello *h,
		       char *raw)
{
	struct tt_md5 md5;
	struct fp_text t;
	ja3_begin(&t, &md5, raw);
	fp_dec(&t, h->legacy);
	fp_char(&t, ',');
	fp_dec_list(&t, h->suites);
	fp_char(&t, ',');
	fp_dec_exts(&t, &h->x);
	fp_char(&t, ',');
	fp_dec_list(&t, h->groups);
	fp_char(&t, ',');
	fp_point_formats(&t, &h->x);
	ja3_end(ev, "ja3", "ja3_r", &t);
}

/* JA4's two characters for a version (JA4.md, "TLS and DTLS Version"). */
static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case TT_V_TLS13:
		return "13";
	case TT_V_TLS12:
		return "12";
	case TT_V_TLS11:
		return "11";
	case TT_V_TLS10:
		return "10";
	case TT_V_SSL3:
		return "s3";
	case TT_V_SSL2:
		return "s2";
	case 0xfeff:
		return "d1";
	case 0xfefd:
		return "d2";
	case 0xfefc:
		return "d3";
	default:
		return "00";
	}
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/* JA4's two ALPN characters: the first and last bytes of the first
 * protocol name when both are ASCII letters or digits (a one-byte name
 * giving its byte twice), else the first and last digits of the name in
 * hex; 00 without ALPN. */
static void ja4_alpn(const struct client_hello *h, char out[2])
{
	static const char hx[] = "0123456789abcdef";
	struct tt_cur list = h->alpn, name;
	out[0] = out[1] = '0';
	if (tt_sub8(&list, &name) != TT_OK || !tt_cur_left(&name))
		return;
	uint8_t first = name.p[0], last = name.end[-1];
	if (is_alnum(first) && is_alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		out[0] = hx[first >> 4];
		out[1] = hx[last & 15];
	}
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Starts a new SHA-256 of t's text in sha, then puts the n values of v,
 * sorted in place, ','-joined in 4-digit hex (JA4's parts b and c). */
static void ja4_sorted(struct fp_text *t, struct tt_sha256 *sha, uint16_t *v,
		       size_t n)
{
	tt_sha256_init(sha);
	t->sha = sha;
	qsort(v, n, sizeof(*v), cmp_u16);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fp_char(t, ',');
		fp_hex4(t, v[i]);
	}
}

/* The first 12 hex digits of a SHA-256, or twelve zeros when nothing
 * was hashed (an empty list). */
static void ja4_hash12(struct tt_sha256 *sha, bool any, char out[13])
{
	uint8_t d[TT_SHA256_LEN];
	char hex[2 * TT_SHA256_LEN + 1];
	tt_sha256_final(sha, d);
	memcpy(out, any ? tt_hex_lower(d, 6, hex) : "000000000000", 12);
	out[12] = 0;
}

/* Values sorted for JA4: in a small array of the caller's, or on the
 * heap for a hello with more (NULL when that fails). */
#define FP_SORT_INLINE 128

static void ja4_fields(struct tt_event *ev, const struct client_hello *h,
		       char *raw)
{
	uint16_t inl[FP_SORT_INLINE], *v = inl;
	size_t nsuites = tt_cur_left(&h->suites) / 2;
	if (nsuites > FP_SORT_INLINE && !(v = malloc(nsuites * sizeof(*v))))
		return; /* no fingerprint rather than a wrong one */

	/* version: the highest non-GREASE supported_versions, else (no
	 * extension, or GREASE only) legacy_version.  A list a parser
	 * keeps is empty when its extension is absent. */
	uint16_t ver = 0, x;
	struct tt_cur l;
	for (l = h->versions; tt_u16(&l, &x) == TT_OK;)
		if (!tt_is_grease16(x) && x > ver)
			ver = x;
	if (!ver)
		ver = h->legacy;
	size_t nc = 0, ne = 0;
	for (l = h->suites; tt_u16(&l, &x) == TT_OK;)
		if (!tt_is_grease16(x))
			v[nc++] = x;
	for (size_t i = 0; i < h->x.n; i++)
		ne += !tt_is_grease16(h->x.type[i]);
	char alpn[2];
	ja4_alpn(h, alpn);
	char a[11];
	const char *vs = ja4_version(ver);
	a[0] = 't'; /* TLS over TCP: the only kind tlstrace sees */
	a[1] = vs[0];
	a[2] = vs[1];
	a[3] = tt_ext_has(&h->x, TT_EXT_SERVER_NAME) ? 'd' : 'i';
	a[4] = (char)('0' + (nc > 99 ? 99 : nc) / 10);
	a[5] = (char)('0' + (nc > 99 ? 99 : nc) % 10);
	a[6] = (char)('0' + (ne > 99 ? 99 : ne) / 10);
	a[7] = (char)('0' + (ne > 99 ? 99 : ne) % 10);
	a[8] = alpn[0];
	a[9] = alpn[1];
	a[10] = 0;

	struct tt_sha256 sha;
	struct fp_text t = {.raw = raw};
	if (raw)
		raw[0] = 0;
	fp_put(&t, a, 10);
	fp_char(&t, '_');

	/* b: the suites, sorted */
	char b[13], c[13];
	ja4_sorted(&t, &sha, v, nc);
	ja4_hash12(&sha, nc > 0, b);
	if (v != inl)
		free(v);
	t.sha = NULL;
	fp_char(&t, '_');

	/* c: the extensions, sorted, without server_name and ALPN; then the
	 * signature algorithms in their order */
	size_t n = 0;
	v = inl; /* TT_EXT_MAX extensions fit */
	for (size_t i = 0; i < h->x.n; i++) {
		uint16_t e = h->x.type[i];
		if (!tt_is_grease16(e) && e != TT_EXT_SERVER_NAME &&
		    e != TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
			v[n++] = e;
	}
	ja4_sorted(&t, &sha, v, n);
	bool sep = false;
	for (l = h->sigalgs; tt_u16(&l, &x) == TT_OK;) {
		if (tt_is_grease16(x))
			continue;
		fp_char(&t, sep ? ',' : '_');
		fp_hex4(&t, x);
		sep = true;
	}
	ja4_hash12(&sha, n > 0, c);

	char fp[10 + 1 + 12 + 1 + 12 + 1];
	memcpy(fp, a, 10);
	fp[10] = '_';
	memcpy(fp + 11, b, 12);
	fp[23] = '_';
	memcpy(fp + 24, c, 13);
	fp_fields(ev, "ja4", "ja4_r", fp, &t);
}

static void client_hello_event(struct tt_event *ev,
			       const struct client_hello *h)
{
	version_fields(ev, "version", "version_code", TT_INFO, h->legacy);
	tt_ev_hex(ev, "random", TT_DEBUG, h->random, 32);
	tt_ev_hex(ev, "session_id", TT_DEBUG, h->sid.p, tt_cur_left(&h->sid));
	tt_ev_int(ev, "cipher_count", TT_INFO,
		  (long long)tt_cur_left(&h->suites) / 2);
	tt_ev_list_u16(ev, "cipher_suites", TT_DEBUG, h->suites,
		       tt_label_cipher);
	char b[TT_NAMEBUF];
	tt_ev_list_begin(ev, "compression", TT_DEBUG);
	for (const uint8_t *q = h->comp.p; q < h->comp.end; q++)
		tt_ev_list_add(ev, tt_label_compression(*q, b));
	tt_ev_list_end(ev);

	/* names first (one list), then each extension's fields */
	if (h->has_exts)
		tt_ev_ext_names(ev, TT_DEBUG, &h->x);
	for (size_t i = 0; i < h->x.n; i++) {
		switch (h->x.type[i]) {
		case TT_EXT_SERVER_NAME:
			if (h->sni.p)
				tt_ev_untrusted(ev, "sni", TT_INFO, h->sni.p,
						tt_cur_left(&h->sni));
			break;
		case TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
			alpn_field(ev, h->alpn);
			break;
		case TT_EXT_SUPPORTED_VERSIONS:
			tt_ev_list_u16(ev, "supported_versions", TT_INFO,
				       h->versions, tt_label_version);
			break;
		case TT_EXT_SUPPORTED_GROUPS:
			tt_ev_list_u16(ev, "supported_groups", TT_DEBUG,
				       h->groups, tt_label_group);
			break;
		case TT_EXT_SIGNATURE_ALGORITHMS:
			tt_ev_list_u16(ev, "signature_algorithms", TT_DEBUG,
				       h->sigalgs, tt_label_sigscheme);
			break;
		case TT_EXT_KEY_SHARE:
			key_shares_field(ev, h->shares);
			break;
		case TT_EXT_RENEGOTIATION_INFO:
			tt_ev_int(ev, "renegotiation_info_length", TT_DEBUG,
				  (long long)tt_cur_left(&h->reneg));
			break;
		case TT_EXT_PSK_KEY_EXCHANGE_MODES:
			tt_ev_list_begin(ev, "psk_modes", TT_DEBUG);
			for (const uint8_t *q = h->psk_modes.p;
			     q < h->psk_modes.end; q++)
				tt_ev_list_add(ev, tt_label_psk_mode(*q, b));
			tt_ev_list_end(ev);
			break;
		case TT_EXT_PRE_SHARED_KEY:
			tt_ev_bool(ev, "psk", TT_DEBUG, true);
			break;
		case TT_EXT_EARLY_DATA:
			tt_ev_bool(ev, "early_data", TT_INFO, true);
			break;
		case TT_EXT_EXTENDED_MASTER_SECRET:
			tt_ev_bool(ev, "extended_master_secret", TT_DEBUG,
				   true);
			break;
		case TT_EXT_SESSION_TICKET:
			tt_ev_int(ev, "session_ticket_length", TT_DEBUG,
				  (long long)h->ticket_len);
			break;
		default:
			break;
		}
	}
	scsv_fields(ev, h->reneg_info, h->scsv, h->fallback);
	if (!ev)
		return; /* not written: no fingerprint made */
	char raw[FP_RAW_MAX];
	char *r = TT_DEBUG <= ev->max ? raw : NULL;
	ja4_fields(ev, h, r);
	ja3_fields(ev, h, r);
}

tt_rc tt_hs_client_hello(struct tt_conn *c, enum tt_dir dir,
			 const uint8_t *body, size_t len,
			 const struct tt_emit *em)
{
	struct client_hello h;
	memset(&h, 0, sizeof(h));
	TRY(client_hello_parse(tt_cur_make(body, len), &h));

	tt_conn_learn_role(c, dir, TT_ROLE_CLIENT);
	memcpy(c->crandom, h.random, sizeof(c->crandom));
	/* a second ClientHello (after a HelloRetryRequest) keeps the
	 * verdict: the early data was turned down */
	if (c->early != TT_EARLY_REJECTED || !c->hrr) {
		c->early = tt_ext_has(&h.x, TT_EXT_EARLY_DATA)
				   ? TT_EARLY_OFFERED
				   : TT_EARLY_NONE;
		c->early_records = 0;
	}
	c->ch_comp = 0;
	for (const uint8_t *q = h.comp.p; q < h.comp.end; q++)
		c->ch_comp |= *q == TT_COMP_NULL      ? 1
			      : *q == TT_COMP_DEFLATE ? 2
						      : 4;
	c->ch_etm = tt_ext_has(&h.x, TT_EXT_ENCRYPT_THEN_MAC);
	if (h.sni.p)
		remember_sni(c, h.sni);
	struct tt_event *ev = tt_ev_begin(em, "client_hello", TT_INFO, dir);
	client_hello_event(ev, &h);
	tt_ev_send(em, ev);
	tt_sess_client_hello(c, dir, h.reneg_info, h.scsv, em);
	return TT_OK;
}

/* What a ServerHello or HelloRetryRequest says, checked whole. */
struct server_hello {
	uint16_t legacy, version, cipher, group;
	uint8_t comp;
	const uint8_t *random;
	struct tt_cur sid;
	bool hrr, reneg_info, have_group;
	bool draft_layout; /* TLS 1.3 draft -21 or earlier: no session id,
			    * no compression */
	struct tt_exts x;
	struct tt_cur alpn; /* protocol_name_list, when ALPN is in x */
};

/* The draft whose number a TLS 1.3 draft version carries, or 0. */
static unsigned draft_number(uint16_t v)
{
	if ((v >> 8) == 0x7f)
		return v & 0xff;
	if (v == TT_V_TLS13_DRAFT23_FB)
		return 23;
	if (v == TT_V_TLS13_DRAFT26_FB)
		return 26;
	return 0;
}

TT_MUST_USE static tt_rc server_hello_parse(struct tt_cur m,
					    struct server_hello *h)
{
	struct tt_cur exts = {NULL, NULL};
	TRY(tt_u16(&m, &h->legacy));
	TRY(tt_bytes(&m, 32, &h->random));
	/* only TLS 1.3 drafts up to -21 put a 0x7fxx version here */
	h->draft_layout = (h->legacy >> 8) == 0x7f &&
			  draft_number(h->legacy) <= 21;
	if (!h->draft_layout) {
		TRY(tt_sub8(&m, &h->sid));
		ENSURE(tt_cur_left(&h->sid) <= 32, TT_DECODE);
	}
	TRY(tt_u16(&m, &h->cipher));
	if (!h->draft_layout)
		TRY(tt_u8(&m, &h->comp));
	if (tt_cur_left(&m)) {
		TRY(tt_sub16(&m, &exts));
		TRY(tt_expect_empty(&m));
	}
	h->hrr = !h->draft_layout && memcmp(h->random, hrr_random, 32) == 0;
	h->version = h->legacy;
	TRY(tt_ext_split(exts, TT_EXT_MAX, &h->x));
	/* supported_versions, when there, comes first: the version says
	 * where key_share is */
	for (size_t i = 0; i < h->x.n; i++) {
		struct tt_cur v = h->x.data[i];
		if (h->x.type[i] == TT_EXT_SUPPORTED_VERSIONS) {
			TRY(tt_u16(&v, &h->version));
			TRY(tt_expect_empty(&v));
		}
	}
	unsigned draft = draft_number(h->version);
	uint16_t key_share = draft && draft <= 22 ? 40 : TT_EXT_KEY_SHARE;
	for (size_t i = 0; i < h->x.n; i++) {
		struct tt_cur v = h->x.data[i], l;
		if (h->x.type[i] == key_share) {
			/* HRR: selected_group; ServerHello: KeyShareEntry */
			TRY(tt_u16(&v, &h->group));
			h->have_group = true;
			if (!h->hrr)
				TRY(tt_sub16(&v, &l));
			TRY(tt_expect_empty(&v));
			continue;
		}
		switch (h->x.type[i]) {
		case TT_EXT_RENEGOTIATION_INFO:
			TRY(tt_sub8(&v, &l));
			TRY(tt_expect_empty(&v));
			h->reneg_info = true;
			break;
		case TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
			TRY(alpn_parse(v, &h->alpn));
			break;
		default:
			break;
		}
	}
	return TT_OK;
}

static void server_hello_event(struct tt_event *ev,
			       const struct server_hello *h)
{
	char b[TT_NAMEBUF];
	bool hrr = h->hrr;
	version_fields(ev, "version", "version_code", TT_INFO, h->version);
	tt_ev_label(ev, "cipher", TT_INFO, tt_label_cipher(h->cipher, b));
	tt_ev_int(ev, "cipher_code", TT_DEBUG, h->cipher);
	if (h->have_group)
		tt_ev_label(ev, hrr ? "selected_group" : "group",
			    hrr ? TT_INFO : TT_DEBUG,
			    tt_label_group(h->group, b));
	if (h->version != h->legacy)
		version_fields(ev, "legacy_version", "legacy_version_code",
			       TT_DEBUG, h->legacy);
	if (!hrr)
		tt_ev_hex(ev, "random", TT_DEBUG, h->random, 32);
	if (!h->draft_layout) {
		tt_ev_hex(ev, "session_id", TT_DEBUG, h->sid.p,
			  tt_cur_left(&h->sid));
		/* shown by default when the records that follow are
		 * compressed */
		tt_ev_label(ev, "compression", h->comp ? TT_INFO : TT_DEBUG,
			    tt_label_compression(h->comp, b));
	}
	tt_ev_ext_names(ev, TT_DEBUG, &h->x);
	for (size_t i = 0; i < h->x.n; i++) {
		if (h->x.type[i] ==
		    TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
			alpn_field(ev, h->alpn);
		else if (h->x.type[i] == TT_EXT_EXTENDED_MASTER_SECRET)
			tt_ev_bool(ev, "extended_master_secret", TT_DEBUG,
				   true);
		else if (h->x.type[i] == TT_EXT_PRE_SHARED_KEY)
			tt_ev_bool(ev, "psk", TT_DEBUG, true);
	}
	if (!hrr)
		tt_ev_bool(ev, "renegotiation_info", TT_INFO, h->reneg_info);
	if (!ev || hrr)
		return; /* not written, or not a ServerHello's event */
	/* JA3S: version,cipher,extensions */
	char raw[FP_RAW_MAX];
	struct tt_md5 md5;
	struct fp_text t;
	ja3_begin(&t, &md5, TT_DEBUG <= ev->max ? raw : NULL);
	fp_dec(&t, h->legacy);
	fp_char(&t, ',');
	fp_dec(&t, h->cipher);
	fp_char(&t, ',');
	fp_dec_exts(&t, &h->x);
	ja3_end(ev, "ja3s", "ja3s_r", &t);
}

tt_rc tt_hs_server_hello(struct tt_conn *c, enum tt_dir dir,
			 const uint8_t *body, size_t len,
			 const struct tt_emit *em)
{
	struct server_hello h;
	memset(&h, 0, sizeof(h));
	TRY(server_hello_parse(tt_cur_make(body, len), &h));

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	if (!h.hrr) {
		memcpy(c->srandom, h.random, sizeof(c->srandom));
		c->sh_etm = tt_ext_has(&h.x, TT_EXT_ENCRYPT_THEN_MAC);
		__atomic_store_n(&c->version, h.version, __ATOMIC_RELAXED);
		__atomic_store_n(&c->cipher, h.cipher, __ATOMIC_RELAXED);
		/* in force from each direction's next ChangeCipherSpec, with
		 * the keys of this handshake (record layer) */
		c->comp = h.comp;
		c->sh_count++;
		if (h.comp != TT_COMP_NULL)
			c->comp_used = h.comp;
		if (h.alpn.p)
			remember_alpn(c, h.alpn);
	} else {
		/* a HelloRetryRequest means TLS 1.3 (RFC 8446 4.1.4), and
		 * turns down early data (4.2.10) */
		c->hrr = true;
		if (c->early == TT_EARLY_OFFERED)
			c->early = TT_EARLY_REJECTED;
		__atomic_store_n(&c->version, h.version, __ATOMIC_RELAXED);
	}
	struct tt_event *ev =
		tt_ev_begin(em, h.hrr ? "hello_retry_request" : "server_hello",
			    TT_INFO, dir);
	server_hello_event(ev, &h);
	tt_ev_send(em, ev);
	if (!h.hrr)
		tt_sess_server_hello(c, dir, h.reneg_info, em);
	return TT_OK;
}

/* EncryptedExtensions (RFC 8446 4.3.1):
 *   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
 * Only ALPN is checked in depth (its choice is kept); the other
 * extensions shown are read as far as they go.
 */
struct encrypted_extensions {
	struct tt_exts x;
	struct tt_cur alpn; /* protocol_name_list, when ALPN is in x */
	bool has_mfl, has_rsl, has_groups;
	uint8_t mfl;	      /* max_fragment_length (RFC 6066 4) */
	uint16_t rsl;	      /* record_size_limit (RFC 8449 4) */
	struct tt_cur groups; /* supported_groups */
};

TT_MUST_USE static tt_rc
encrypted_extensions_parse(struct tt_cur m, struct encrypted_extensions *e)
{
	struct tt_cur exts;
	TRY(tt_sub16(&m, &exts));
	TRY(tt_expect_empty(&m));
	TRY(tt_ext_split(exts, TT_EXT_MAX, &e->x));
	for (size_t i = 0; i < e->x.n; i++) {
		struct tt_cur v = e->x.data[i];
		switch (e->x.type[i]) {
		case TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
			TRY(alpn_parse(v, &e->alpn));
			break;
		case TT_EXT_MAX_FRAGMENT_LENGTH:
			e->has_mfl = tt_u8(&v, &e->mfl) == TT_OK;
			break;
		case TT_EXT_RECORD_SIZE_LIMIT:
			e->has_rsl = tt_u16(&v, &e->rsl) == TT_OK;
			break;
		case TT_EXT_SUPPORTED_GROUPS:
			e->has_groups = tt_sub16(&v, &e->groups) == TT_OK;
			break;
		default:
			break;
		}
	}
	return TT_OK;
}

static void encrypted_extensions_event(struct tt_event *ev,
				       const struct encrypted_extensions *e,
				       bool early_offered)
{
	tt_ev_ext_names(ev, TT_INFO, &e->x);
	for (size_t i = 0; i < e->x.n; i++) {
		switch (e->x.type[i]) {
		case TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
			alpn_field(ev, e->alpn);
			break;
		case TT_EXT_SERVER_NAME:
			tt_ev_bool(ev, "sni_acknowledged", TT_DEBUG, true);
			break;
		case TT_EXT_EARLY_DATA:
			tt_ev_bool(ev, "early_data_accepted", TT_INFO, true);
			break;
		case TT_EXT_MAX_FRAGMENT_LENGTH:
			if (e->has_mfl)
				tt_ev_int(ev, "max_fragment_length", TT_DEBUG,
					  e->mfl >= 1 && e->mfl <= 4
						  ? 1 << (8 + e->mfl)
						  : e->mfl);
			break;
		case TT_EXT_RECORD_SIZE_LIMIT:
			if (e->has_rsl)
				tt_ev_int(ev, "record_size_limit", TT_DEBUG,
					  e->rsl);
			break;
		case TT_EXT_SUPPORTED_GROUPS:
			if (e->has_groups)
				tt_ev_list_u16(ev, "supported_groups", TT_DEBUG,
					       e->groups, tt_label_group);
			break;
		default:
			break;
		}
	}
	if (early_offered && !tt_ext_has(&e->x, TT_EXT_EARLY_DATA))
		tt_ev_bool(ev, "early_data_accepted", TT_INFO, false);
}

tt_rc tt_hs_encrypted_extensions(struct tt_conn *c, enum tt_dir dir,
				 const uint8_t *body, size_t len,
				 const struct tt_emit *em)
{
	struct encrypted_extensions e;
	memset(&e, 0, sizeof(e));
	TRY(encrypted_extensions_parse(tt_cur_make(body, len), &e));

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	if (e.alpn.p)
		remember_alpn(c, e.alpn);
	bool offered = c->early == TT_EARLY_OFFERED;
	if (offered)
		c->early = tt_ext_has(&e.x, TT_EXT_EARLY_DATA)
				   ? TT_EARLY_ACCEPTED
				   : TT_EARLY_REJECTED;
	struct tt_event *ev =
		tt_ev_begin(em, "encrypted_extensions", TT_INFO, dir);
	encrypted_extensions_event(ev, &e, offered);
	tt_ev_send(em, ev);
	return TT_OK;
}

/* The 3-byte cipher specs of an SSL 2.0-framed hello as one list field: a
 * first byte of 0 is a TLS suite (RFC 5246 E.2), any other an SSL 2.0
 * cipher kind. */
static void ssl2_specs_field(struct tt_event *ev, const char *key,
			     enum tt_level l, struct tt_cur specs)
{
	if (!ev || l > ev->max)
		return; /* not shown: not walked */
	char b[TT_NAMEBUF];
	tt_ev_list_begin(ev, key, l);
	for (const uint8_t *q = specs.p; q + 3 <= specs.end; q += 3) {
		uint32_t v = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
		tt_ev_list_add(ev, q[0] == 0 ? tt_label_cipher((uint16_t)v, b)
					     : tt_label_ssl2_cipher(v, b));
	}
	tt_ev_list_end(ev);
}

/* What an SSL 2.0 CLIENT-HELLO says, checked whole. */
struct ssl2_client_hello {
	uint16_t version;
	struct tt_cur specs, sid, challenge;
	bool scsv, fallback;
};

TT_MUST_USE static tt_rc ssl2_client_hello_parse(struct tt_cur m,
						 struct ssl2_client_hello *h)
{
	uint16_t specs_len, sid_len, challenge_len;
	TRY(tt_u16(&m, &h->version));
	TRY(tt_u16(&m, &specs_len));
	TRY(tt_u16(&m, &sid_len));
	TRY(tt_u16(&m, &challenge_len));
	/* SSL 2.0 itself, or an SSLv2-compatible hello of SSL 3.0 or TLS */
	ENSURE(h->version == TT_V_SSL2 || h->version >> 8 == 3, TT_DECODE);
	ENSURE(specs_len > 0 && specs_len % 3 == 0, TT_DECODE);
	ENSURE(sid_len <= 32, TT_DECODE);
	ENSURE(challenge_len >= 16 && challenge_len <= 32, TT_DECODE);
	TRY(tt_sub(&m, specs_len, &h->specs));
	TRY(tt_sub(&m, sid_len, &h->sid));
	TRY(tt_sub(&m, challenge_len, &h->challenge));
	TRY(tt_expect_empty(&m));
	/* a TLS cipher suite is a spec whose first byte is 0 */
	for (const uint8_t *q = h->specs.p; q < h->specs.end; q += 3)
		if (q[0] == 0)
			note_scsv((uint16_t)(q[1] << 8 | q[2]), &h->scsv,
				  &h->fallback);
	return TT_OK;
}

tt_rc tt_hs_ssl2_client_hello(struct tt_conn *c, enum tt_dir dir,
			      const uint8_t *body, size_t len,
			      const struct tt_emit *em)
{
	struct ssl2_client_hello h;
	memset(&h, 0, sizeof(h));
	TRY(ssl2_client_hello_parse(tt_cur_make(body, len), &h));

	tt_conn_learn_role(c, dir, TT_ROLE_CLIENT);
	size_t nspecs = tt_cur_left(&h.specs) / 3;
	size_t clen = tt_cur_left(&h.challenge);
	if (h.version == TT_V_SSL2) {
		/* nothing else can be negotiated from here */
		__atomic_store_n(&c->version, TT_V_SSL2, __ATOMIC_RELAXED);
		struct tt_event *ev =
			tt_ev_begin(em, "ssl2_client_hello", TT_INFO, dir);
		version_fields(ev, "version", "version_code", TT_INFO,
			       h.version);
		tt_ev_int(ev, "cipher_count", TT_INFO, (long long)nspecs);
		ssl2_specs_field(ev, "cipher_specs", TT_INFO, h.specs);
		tt_ev_hex(ev, "session_id", TT_DEBUG, h.sid.p,
			  tt_cur_left(&h.sid));
		tt_ev_hex(ev, "challenge", TT_DEBUG, h.challenge.p, clen);
		tt_ev_send(em, ev);
		return TT_OK;
	}
	/* RFC 5246 E.2: the challenge, left-padded with zeros to 32 bytes,
	 * is the ClientHello.random (and names the key log's secrets) */
	memset(c->crandom, 0, sizeof(c->crandom));
	memcpy(c->crandom + sizeof(c->crandom) - clen, h.challenge.p, clen);
	struct tt_event *ev = tt_ev_begin(em, "client_hello", TT_INFO, dir);
	tt_ev_str(ev, "format", TT_INFO, "sslv2_compatible");
	version_fields(ev, "version", "version_code", TT_INFO, h.version);
	tt_ev_hex(ev, "random", TT_DEBUG, c->crandom, sizeof(c->crandom));
	tt_ev_int(ev, "challenge_length", TT_DEBUG, (long long)clen);
	tt_ev_hex(ev, "session_id", TT_DEBUG, h.sid.p, tt_cur_left(&h.sid));
	tt_ev_int(ev, "cipher_count", TT_INFO, (long long)nspecs);
	ssl2_specs_field(ev, "cipher_suites", TT_DEBUG, h.specs);
	/* no extensions in this form: no renegotiation_info either */
	scsv_fields(ev, false, h.scsv, h.fallback);
	/* and no ja4 or ja3: both are defined on the TLS ClientHello's
	 * own layout (2-byte suites, extensions), which this form lacks */
	tt_ev_send(em, ev);
	tt_sess_client_hello(c, dir, false, h.scsv, em);
	return TT_OK;
}

/* What an SSL 2.0 SERVER-HELLO says, checked whole. */
struct ssl2_server_hello {
	uint8_t hit, cert_type;
	uint16_t version;
	struct tt_cur cert, specs, conn_id;
};

TT_MUST_USE static tt_rc ssl2_server_hello_parse(struct tt_cur m,
						 struct ssl2_server_hello *h)
{
	uint16_t cert_len, specs_len, cid_len;
	TRY(tt_u8(&m, &h->hit));
	TRY(tt_u8(&m, &h->cert_type));
	TRY(tt_u16(&m, &h->version));
	TRY(tt_u16(&m, &cert_len));
	TRY(tt_u16(&m, &specs_len));
	TRY(tt_u16(&m, &cid_len));
	ENSURE(specs_len % 3 == 0, TT_DECODE);
	TRY(tt_sub(&m, cert_len, &h->cert));
	TRY(tt_sub(&m, specs_len, &h->specs));
	TRY(tt_sub(&m, cid_len, &h->conn_id));
	TRY(tt_expect_empty(&m));
	return TT_OK;
}

/* A DER Name as an info field, if it renders. */
static void dn_field(struct tt_event *ev, const char *key, const uint8_t *der,
		     size_t n)
{
	char dn[4096];
	size_t len = 0;
	tt_rc rc = tt_dn_render(der, n, dn, sizeof(dn), &len);
	if (rc == TT_TOO_BIG)
		ev->flags |= TT_EVF_TRUNCATED;
	if (rc != TT_DECODE)
		tt_ev_strcpy(ev, key, TT_INFO, dn, len);
}

/* SSL_CT_X509_CERTIFICATE (draft-hickman-netscape-ssl-00 C.5), the only
 * certificate type SSL 2.0 defines. */
#define SSL2_CT_X509 1

tt_rc tt_hs_ssl2_server_hello(struct tt_conn *c, enum tt_dir dir,
			      const uint8_t *body, size_t len,
			      const struct tt_emit *em)
{
	struct ssl2_server_hello h;
	memset(&h, 0, sizeof(h));
	TRY(ssl2_server_hello_parse(tt_cur_make(body, len), &h));

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	__atomic_store_n(&c->version, TT_V_SSL2, __ATOMIC_RELAXED);
	struct tt_event *ev =
		tt_ev_begin(em, "ssl2_server_hello", TT_INFO, dir);
	version_fields(ev, "version", "version_code", TT_INFO, h.version);
	tt_ev_bool(ev, "session_id_hit", TT_INFO, h.hit != 0);
	if (h.cert_type == SSL2_CT_X509)
		tt_ev_str(ev, "certificate_type", TT_DEBUG,
			  "SSL_CT_X509_CERTIFICATE");
	else
		tt_ev_printf(ev, "certificate_type", TT_DEBUG,
			     "unknown(0x%02x)", h.cert_type);
	tt_ev_int(ev, "certificate_length", TT_DEBUG,
		  (long long)tt_cur_left(&h.cert));
	struct tt_x509 x;
	if (ev && TT_INFO <= ev->max && tt_cur_left(&h.cert) > 0 &&
	    h.cert_type == SSL2_CT_X509 &&
	    tt_x509_parse(h.cert.p, tt_cur_left(&h.cert), &x) == TT_OK) {
		dn_field(ev, "subject", x.subject, x.subject_len);
		dn_field(ev, "issuer", x.issuer, x.issuer_len);
		tt_ev_label(ev, "not_after", TT_INFO, x.not_after);
	}
	tt_ev_int(ev, "cipher_count", TT_INFO,
		  (long long)tt_cur_left(&h.specs) / 3);
	ssl2_specs_field(ev, "cipher_specs", TT_INFO, h.specs);
	tt_ev_int(ev, "connection_id_length", TT_DEBUG,
		  (long long)tt_cur_left(&h.conn_id));
	tt_ev_send(em, ev);
	return TT_OK;
}
