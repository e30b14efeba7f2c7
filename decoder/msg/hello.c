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
 */
#include <string.h>

#include "msg.h"
#include "names.h"
#include "session.h"

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

enum {
	EXT_SERVER_NAME = 0,
	EXT_MAX_FRAGMENT_LENGTH = 1,
	EXT_SUPPORTED_GROUPS = 10,
	EXT_EC_POINT_FORMATS = 11,
	EXT_SIGNATURE_ALGORITHMS = 13,
	EXT_ALPN = 16,
	EXT_RECORD_SIZE_LIMIT = 28,
	EXT_EXTENDED_MASTER_SECRET = 23,
	EXT_SESSION_TICKET = 35,
	EXT_PRE_SHARED_KEY = 41,
	EXT_EARLY_DATA = 42,
	EXT_SUPPORTED_VERSIONS = 43,
	EXT_COOKIE = 44,
	EXT_PSK_MODES = 45,
	EXT_KEY_SHARE = 51,
	EXT_RENEGOTIATION_INFO = 0xff01,
};

/* The ClientHello/ServerHello version field and its numeric sibling. */
static void version_fields(struct tt_event *ev, const char *key,
			   const char *codekey, enum tt_level l, uint16_t v)
{
	char b[TT_NAMEBUF];
	tt_ev_label(ev, key, l, tt_label_version(v, b));
	tt_ev_int(ev, codekey, TT_DEBUG, v);
}

TT_MUST_USE static tt_rc alpn_list(struct tt_cur v, struct tt_event *ev,
				   const char *key, enum tt_level l)
{
	struct tt_cur list;
	TRY(tt_sub16(&v, &list));
	TRY(tt_expect_empty(&v));
	ENSURE(tt_cur_left(&list) > 0, TT_DECODE);
	tt_ev_list_begin(ev, key, l);
	while (tt_cur_left(&list)) {
		struct tt_cur name;
		TRY(tt_sub8(&list, &name));
		ENSURE(tt_cur_left(&name) > 0, TT_DECODE);
		tt_ev_list_add_untrusted(ev, name.p, tt_cur_left(&name));
	}
	tt_ev_list_end(ev);
	return TT_OK;
}

/* The names of the extensions in a block, in the order sent, as one list
 * field. */
TT_MUST_USE static tt_rc ext_names(struct tt_event *ev, enum tt_level l,
				   struct tt_cur exts)
{
	char b[TT_NAMEBUF];
	tt_ev_list_begin(ev, "extensions", l);
	while (exts.p && tt_cur_left(&exts)) {
		uint16_t t;
		struct tt_cur d;
		TRY(tt_u16(&exts, &t));
		TRY(tt_sub16(&exts, &d));
		tt_ev_list_add(ev, tt_label_extension(t, b));
	}
	tt_ev_list_end(ev);
	return TT_OK;
}

/* The server's ALPN choice, for the summary. */
TT_MUST_USE static tt_rc remember_alpn(struct tt_conn *c, struct tt_cur v)
{
	struct tt_cur list, name;
	TRY(tt_sub16(&v, &list));
	TRY(tt_sub8(&list, &name));
	size_t aw = tt_utf8_sanitize(name.p, tt_cur_left(&name), c->alpn,
				     sizeof(c->alpn));
	if (aw == (size_t)-1)
		c->alpn[0] = 0;
	return TT_OK;
}

TT_MUST_USE static tt_rc server_name(struct tt_conn *c, struct tt_cur v,
				     struct tt_event *ev)
{
	struct tt_cur list;
	TRY(tt_sub16(&v, &list));
	TRY(tt_expect_empty(&v));
	bool got = false;
	while (tt_cur_left(&list)) {
		uint8_t type;
		struct tt_cur name;
		TRY(tt_u8(&list, &type));
		TRY(tt_sub16(&list, &name));
		if (type != 0 || got)
			continue;
		got = true;
		size_t n = tt_cur_left(&name);
		tt_ev_untrusted(ev, "sni", TT_INFO, name.p, n);
		if (n > TT_SNI_MAX)
			n = TT_SNI_MAX;
		size_t w = tt_utf8_sanitize(name.p, n, c->sni, sizeof(c->sni));
		c->sni_len = w == (size_t)-1 ? 0 : (uint8_t)w;
		if (w == (size_t)-1)
			c->sni[0] = 0;
	}
	return TT_OK;
}

TT_MUST_USE static tt_rc key_share_groups(struct tt_cur v, struct tt_event *ev)
{
	struct tt_cur list;
	TRY(tt_sub16(&v, &list));
	TRY(tt_expect_empty(&v));
	tt_ev_list_begin(ev, "key_shares", TT_DEBUG);
	while (tt_cur_left(&list)) {
		uint16_t g;
		struct tt_cur kx;
		char b[TT_NAMEBUF];
		TRY(tt_u16(&list, &g));
		TRY(tt_sub16(&list, &kx));
		tt_ev_list_add(ev, tt_label_group(g, b));
	}
	tt_ev_list_end(ev);
	return TT_OK;
}

tt_rc tt_hs_client_hello(struct tt_conn *c, enum tt_dir dir,
			 const uint8_t *body, size_t len,
			 const struct tt_emit *em)
{
	struct tt_cur m = tt_cur_make(body, len);
	uint16_t legacy;
	const uint8_t *random;
	struct tt_cur sid, suites, comp;
	TRY(tt_u16(&m, &legacy));
	TRY(tt_bytes(&m, 32, &random));
	TRY(tt_sub8(&m, &sid));
	ENSURE(tt_cur_left(&sid) <= 32, TT_DECODE);
	TRY(tt_sub16(&m, &suites));
	ENSURE(tt_cur_left(&suites) >= 2 && tt_cur_left(&suites) % 2 == 0,
	       TT_DECODE);
	TRY(tt_sub8(&m, &comp));
	ENSURE(tt_cur_left(&comp) >= 1, TT_DECODE);

	tt_conn_learn_role(c, dir, TT_ROLE_CLIENT);
	memcpy(c->crandom, random, sizeof(c->crandom));
	struct tt_event *ev = tt_ev_begin(em, "client_hello", TT_INFO, dir);
	version_fields(ev, "version", "version_code", TT_INFO, legacy);
	tt_ev_hex(ev, "random", TT_DEBUG, random, 32);
	tt_ev_hex(ev, "session_id", TT_DEBUG, sid.p, tt_cur_left(&sid));

	bool scsv = false, fallback = false;
	struct tt_cur s = suites;
	uint16_t cs;
	while (tt_u16(&s, &cs) == TT_OK) {
		scsv |= cs == 0x00ff;
		fallback |= cs == 0x5600;
	}
	tt_ev_int(ev, "cipher_count", TT_INFO,
		  (long long)tt_cur_left(&suites) / 2);
	tt_ev_list_u16(ev, "cipher_suites", TT_DEBUG, suites, tt_label_cipher);
	tt_ev_list_begin(ev, "compression", TT_DEBUG);
	for (const uint8_t *q = comp.p; q < comp.end; q++) {
		char b[TT_NAMEBUF];
		tt_ev_list_add(ev, tt_label_compression(*q, b));
	}
	tt_ev_list_end(ev);

	bool reneg_info = false;
	if (tt_cur_left(&m)) {
		struct tt_ext_walk w = {.max = TT_EXT_MAX};
		TRY(tt_sub16(&m, &w.all));
		TRY(tt_expect_empty(&m));
		/* names first (one list), then each extension's fields */
		TRY(ext_names(ev, TT_DEBUG, w.all));
		while (tt_cur_left(&w.all)) {
			uint16_t t;
			struct tt_cur v, l;
			TRY(tt_ext_next(&w, &t, &v));
			switch (t) {
			case EXT_SERVER_NAME:
				TRY(server_name(c, v, ev));
				break;
			case EXT_ALPN:
				TRY(alpn_list(v, ev, "alpn", TT_INFO));
				break;
			case EXT_SUPPORTED_VERSIONS:
				TRY(tt_sub8(&v, &l));
				TRY(tt_expect_empty(&v));
				ENSURE(tt_cur_left(&l) % 2 == 0, TT_DECODE);
				tt_ev_list_u16(ev, "supported_versions", TT_INFO, l,
					 tt_label_version);
				break;
			case EXT_SUPPORTED_GROUPS:
				TRY(tt_sub16(&v, &l));
				TRY(tt_expect_empty(&v));
				ENSURE(tt_cur_left(&l) % 2 == 0, TT_DECODE);
				tt_ev_list_u16(ev, "supported_groups", TT_DEBUG, l,
					 tt_label_group);
				break;
			case EXT_SIGNATURE_ALGORITHMS:
				TRY(tt_sub16(&v, &l));
				TRY(tt_expect_empty(&v));
				ENSURE(tt_cur_left(&l) % 2 == 0, TT_DECODE);
				tt_ev_list_u16(ev, "signature_algorithms", TT_DEBUG,
					 l, tt_label_sigscheme);
				break;
			case EXT_KEY_SHARE:
				TRY(key_share_groups(v, ev));
				break;
			case EXT_RENEGOTIATION_INFO:
				TRY(tt_sub8(&v, &l));
				TRY(tt_expect_empty(&v));
				reneg_info = true;
				tt_ev_int(ev, "renegotiation_info_length",
					  TT_DEBUG, (long long)tt_cur_left(&l));
				break;
			case EXT_PSK_MODES:
				TRY(tt_sub8(&v, &l));
				TRY(tt_expect_empty(&v));
				tt_ev_list_begin(ev, "psk_modes", TT_DEBUG);
				for (const uint8_t *q = l.p; q < l.end; q++) {
					char b[TT_NAMEBUF];
					tt_ev_list_add(ev,
						       tt_label_psk_mode(*q, b));
				}
				tt_ev_list_end(ev);
				break;
			case EXT_PRE_SHARED_KEY:
				/* RFC 8446 4.2.11: must be the last one */
				ENSURE(tt_cur_left(&w.all) == 0, TT_DECODE);
				tt_ev_bool(ev, "psk", TT_DEBUG, true);
				break;
			case EXT_EARLY_DATA:
				tt_ev_bool(ev, "early_data", TT_DEBUG, true);
				break;
			case EXT_EXTENDED_MASTER_SECRET:
				tt_ev_bool(ev, "extended_master_secret",
					   TT_DEBUG, true);
				break;
			case EXT_SESSION_TICKET:
				tt_ev_int(ev, "session_ticket_length",
					  TT_DEBUG, (long long)tt_cur_left(&v));
				break;
			default:
				break;
			}
		}
	}
	tt_ev_bool(ev, "renegotiation_info", TT_INFO, reneg_info);
	tt_ev_bool(ev, "scsv", TT_INFO, scsv);
	if (fallback)
		tt_ev_bool(ev, "fallback_scsv", TT_INFO, true);
	tt_ev_send(em, ev);
	tt_sess_client_hello(c, dir, reneg_info, scsv, em);
	return TT_OK;
}

tt_rc tt_hs_server_hello(struct tt_conn *c, enum tt_dir dir,
			 const uint8_t *body, size_t len,
			 const struct tt_emit *em)
{
	struct tt_cur m = tt_cur_make(body, len);
	uint16_t legacy, cipher;
	uint8_t comp;
	const uint8_t *random;
	struct tt_cur sid, exts = {NULL, NULL};
	TRY(tt_u16(&m, &legacy));
	TRY(tt_bytes(&m, 32, &random));
	TRY(tt_sub8(&m, &sid));
	ENSURE(tt_cur_left(&sid) <= 32, TT_DECODE);
	TRY(tt_u16(&m, &cipher));
	TRY(tt_u8(&m, &comp));
	if (tt_cur_left(&m)) {
		TRY(tt_sub16(&m, &exts));
		TRY(tt_expect_empty(&m));
	}
	bool hrr = memcmp(random, hrr_random, 32) == 0;

	/* First pass: the chosen version, needed before any field. */
	uint16_t version = legacy, group = 0;
	bool reneg_info = false, have_group = false;
	struct tt_ext_walk w = {.all = exts, .max = TT_EXT_MAX};
	while (tt_cur_left(&w.all)) {
		uint16_t t;
		struct tt_cur v, l;
		TRY(tt_ext_next(&w, &t, &v));
		if (t == EXT_SUPPORTED_VERSIONS) {
			TRY(tt_u16(&v, &version));
			TRY(tt_expect_empty(&v));
		} else if (t == EXT_RENEGOTIATION_INFO) {
			TRY(tt_sub8(&v, &l));
			TRY(tt_expect_empty(&v));
			reneg_info = true;
		} else if (t == EXT_ALPN && !hrr) {
			TRY(remember_alpn(c, v));
		} else if (t == EXT_KEY_SHARE) {
			/* HRR: selected_group; ServerHello: KeyShareEntry */
			TRY(tt_u16(&v, &group));
			have_group = true;
			if (!hrr) {
				TRY(tt_sub16(&v, &l));
				TRY(tt_expect_empty(&v));
			} else {
				TRY(tt_expect_empty(&v));
			}
		}
	}

	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	if (!hrr) {
		memcpy(c->srandom, random, sizeof(c->srandom));
		__atomic_store_n(&c->version, version, __ATOMIC_RELAXED);
		__atomic_store_n(&c->cipher, cipher, __ATOMIC_RELAXED);
	} else {
		/* a HelloRetryRequest means TLS 1.3 (RFC 8446 4.1.4) */
		c->hrr = true;
		__atomic_store_n(&c->version, version, __ATOMIC_RELAXED);
	}
	struct tt_event *ev = tt_ev_begin(
		em, hrr ? "hello_retry_request" : "server_hello", TT_INFO, dir);
	if (!ev) {
		if (!hrr)
			tt_sess_server_hello(c, dir, reneg_info, em);
		return TT_OK;
	}
	char b[TT_NAMEBUF];
	version_fields(ev, "version", "version_code", TT_INFO, version);
	tt_ev_label(ev, "cipher", TT_INFO, tt_label_cipher(cipher, b));
	tt_ev_int(ev, "cipher_code", TT_DEBUG, cipher);
	if (have_group)
		tt_ev_label(ev, hrr ? "selected_group" : "group",
			    hrr ? TT_INFO : TT_DEBUG, tt_label_group(group, b));
	if (version != legacy)
		version_fields(ev, "legacy_version", "legacy_version_code",
			       TT_DEBUG, legacy);
	if (!hrr)
		tt_ev_hex(ev, "random", TT_DEBUG, random, 32);
	tt_ev_hex(ev, "session_id", TT_DEBUG, sid.p, tt_cur_left(&sid));
	tt_ev_label(ev, "compression", TT_DEBUG, tt_label_compression(comp, b));

	TRY(ext_names(ev, TT_DEBUG, exts));
	/* Second pass for the fields that go after the list. */
	struct tt_ext_walk w2 = {.all = exts, .max = TT_EXT_MAX};
	while (w2.all.p && tt_cur_left(&w2.all)) {
		uint16_t t;
		struct tt_cur v;
		TRY(tt_ext_next(&w2, &t, &v));
		if (t == EXT_ALPN)
			TRY(alpn_list(v, ev, "alpn", TT_INFO));
		else if (t == EXT_EXTENDED_MASTER_SECRET)
			tt_ev_bool(ev, "extended_master_secret", TT_DEBUG,
				   true);
		else if (t == EXT_PRE_SHARED_KEY)
			tt_ev_bool(ev, "psk", TT_DEBUG, true);
	}
	if (!hrr)
		tt_ev_bool(ev, "renegotiation_info", TT_INFO, reneg_info);
	tt_ev_send(em, ev);
	if (!hrr)
		tt_sess_server_hello(c, dir, reneg_info, em);
	return TT_OK;
}

/* EncryptedExtensions (RFC 8446 4.3.1):
 *   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
 */
tt_rc tt_hs_encrypted_extensions(struct tt_conn *c, enum tt_dir dir,
				 const uint8_t *body, size_t len,
				 const struct tt_emit *em)
{
	struct tt_cur m = tt_cur_make(body, len), exts;
	TRY(tt_sub16(&m, &exts));
	TRY(tt_expect_empty(&m));
	struct tt_ext_walk w = {.all = exts, .max = TT_EXT_MAX};
	while (tt_cur_left(&w.all)) { /* validate before building */
		uint16_t t;
		struct tt_cur v;
		TRY(tt_ext_next(&w, &t, &v));
		if (t == EXT_ALPN)
			TRY(remember_alpn(c, v));
	}
	tt_conn_learn_role(c, dir, TT_ROLE_SERVER);
	struct tt_event *ev =
		tt_ev_begin(em, "encrypted_extensions", TT_INFO, dir);
	if (!ev)
		return TT_OK;
	TRY(ext_names(ev, TT_INFO, exts));
	struct tt_ext_walk w2 = {.all = exts, .max = TT_EXT_MAX};
	while (tt_cur_left(&w2.all)) {
		uint16_t t, x;
		uint8_t u;
		struct tt_cur v;
		TRY(tt_ext_next(&w2, &t, &v));
		switch (t) {
		case EXT_ALPN:
			TRY(alpn_list(v, ev, "alpn", TT_INFO));
			break;
		case EXT_SERVER_NAME:
			tt_ev_bool(ev, "sni_acknowledged", TT_DEBUG, true);
			break;
		case EXT_EARLY_DATA:
			tt_ev_bool(ev, "early_data_accepted", TT_INFO, true);
			break;
		case EXT_MAX_FRAGMENT_LENGTH:
			if (tt_u8(&v, &u) == TT_OK)
				tt_ev_int(ev, "max_fragment_length", TT_DEBUG,
					  u >= 1 && u <= 4 ? 1 << (8 + u) : u);
			break;
		case EXT_RECORD_SIZE_LIMIT:
			if (tt_u16(&v, &x) == TT_OK)
				tt_ev_int(ev, "record_size_limit", TT_DEBUG, x);
			break;
		case EXT_SUPPORTED_GROUPS: {
			struct tt_cur l;
			if (tt_sub16(&v, &l) == TT_OK)
				tt_ev_list_u16(ev, "supported_groups", TT_DEBUG,
					       l, tt_label_group);
			break;
		}
		default:
			break;
		}
	}
	tt_ev_send(em, ev);
	return TT_OK;
}
