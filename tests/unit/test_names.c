/* IANA name tables (decoder/base/names.c, decoder/base/tables/<registry>.def).
 *
 * The .def lists are read here a second time through local X-macros, so
 * the checks on them (every value named, no value twice, each lookup
 * function wired to its own table) do not trust names.c.  The cipher
 * names are checked against OpenSSL's standard names, captured once into
 * static arrays so the test needs no shell and no particular libssl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "names.h"

struct entry {
	unsigned v;
	const char *name;
};

#define ENTRY(value, id, name)	    {value, name},
#define SUITE_ENTRY(value, id, ...) {value, "TLS_" #id},
static const struct entry content_type_tab[] = {TT_CONTENT_TYPES(ENTRY)};
static const struct entry handshake_tab[] = {TT_HANDSHAKE_TYPES(ENTRY)};
static const struct entry alert_tab[] = {TT_ALERTS(ENTRY)};
static const struct entry alert_level_tab[] = {TT_ALERT_LEVELS(ENTRY)};
static const struct entry version_tab[] = {TT_VERSIONS(ENTRY)};
static const struct entry extension_tab[] = {TT_EXTENSIONS(ENTRY)};
static const struct entry cipher_tab[] = {TT_CIPHER_SUITES(SUITE_ENTRY)};
static const struct entry group_tab[] = {TT_GROUPS(ENTRY)};
static const struct entry sigscheme_tab[] = {TT_SIGSCHEMES(ENTRY)};
static const struct entry cert_type_tab[] = {TT_CERT_TYPES(ENTRY)};
static const struct entry compression_tab[] = {TT_COMPRESSION_METHODS(ENTRY)};
static const struct entry ec_point_format_tab[] = {TT_EC_POINT_FORMATS(ENTRY)};
static const struct entry psk_mode_tab[] = {TT_PSK_MODES(ENTRY)};
static const struct entry starttls_tab[] = {TT_STARTTLS_PROTOCOLS(ENTRY)};
static const struct entry ldap_result_tab[] = {TT_LDAP_RESULTS(ENTRY)};
#undef ENTRY
#undef SUITE_ENTRY

/* One row per registry, with the lookup and label functions behind a
 * common signature so a single loop can check them all. */
struct registry {
	const char *what;
	const struct entry *tab;
	size_t n;
	unsigned max; /* 0xff or 0xffff: the wire width */
	const char *(*name)(unsigned v);
	const char *(*label)(unsigned v, char buf[TT_NAMEBUF]);
};

#define REG8(r)                                                                \
	static const char *name_##r(unsigned v)                                \
	{                                                                      \
		return tt_name_##r((uint8_t)v);                                \
	}                                                                      \
	static const char *label_##r(unsigned v, char buf[TT_NAMEBUF])         \
	{                                                                      \
		return tt_label_##r((uint8_t)v, buf);                          \
	}
#define REG16(r)                                                               \
	static const char *name_##r(unsigned v)                                \
	{                                                                      \
		return tt_name_##r((uint16_t)v);                               \
	}                                                                      \
	static const char *label_##r(unsigned v, char buf[TT_NAMEBUF])         \
	{                                                                      \
		return tt_label_##r((uint16_t)v, buf);                         \
	}
REG8(content_type)
REG8(handshake)
REG8(alert)
REG8(alert_level)
REG16(version)
REG16(extension)
REG16(cipher)
REG16(group)
REG16(sigscheme)
REG8(cert_type)
REG8(compression)
REG8(ec_point_format)
REG8(psk_mode)
REG8(starttls)
REG8(ldap_result)

#define ROW(r, width)                                                          \
	{                                                                      \
#r, r##_tab, sizeof(r##_tab) / sizeof(r##_tab[0]), width,      \
			name_##r, label_##r                                    \
	}
static const struct registry registries[] = {
	ROW(content_type, 0xff), ROW(handshake, 0xff),
	ROW(alert, 0xff),	 ROW(alert_level, 0xff),
	ROW(version, 0xffff),	 ROW(extension, 0xffff),
	ROW(cipher, 0xffff),	 ROW(group, 0xffff),
	ROW(sigscheme, 0xffff),	 ROW(cert_type, 0xff),
	ROW(compression, 0xff),	 ROW(ec_point_format, 0xff),
	ROW(psk_mode, 0xff),	 ROW(starttls, 0xff),
	ROW(ldap_result, 0xff),
};
#define NREG (sizeof(registries) / sizeof(registries[0]))

static void expect_name(const char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_spellings(void **state)
{
	(void)state;
	expect_name(tt_name_cipher(0x1301), "TLS_AES_128_GCM_SHA256");
	expect_name(tt_name_cipher(0xc02f),
		    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	expect_name(tt_name_cipher(0x00ff),
		    "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
	expect_name(tt_name_cipher(0x5600), "TLS_FALLBACK_SCSV");
	expect_name(tt_name_cipher(0xcca8),
		    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	expect_name(tt_name_cipher(0x0017),
		    "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5");
	expect_name(tt_name_alert(100), "no_renegotiation");
	expect_name(tt_name_alert(0), "close_notify");
	expect_name(tt_name_alert(116), "certificate_required");
	expect_name(tt_name_alert(121), "ech_required");
	expect_name(tt_name_alert_level(1), "warning");
	expect_name(tt_name_alert_level(2), "fatal");
	expect_name(tt_name_group(0x001d), "x25519");
	expect_name(tt_name_group(0x0017), "secp256r1");
	expect_name(tt_name_group(0x11ec), "X25519MLKEM768");
	expect_name(tt_name_group(0x0100), "ffdhe2048");
	expect_name(tt_name_sigscheme(0x0804), "rsa_pss_rsae_sha256");
	expect_name(tt_name_sigscheme(0x0201), "rsa_pkcs1_sha1");
	expect_name(tt_name_sigscheme(0x0807), "ed25519");
	expect_name(tt_name_extension(0xff01), "renegotiation_info");
	expect_name(tt_name_extension(0x0000), "server_name");
	expect_name(tt_name_extension(0x0010),
		    "application_layer_protocol_negotiation");
	expect_name(tt_name_extension(0x002f), "certificate_authorities");
	expect_name(tt_name_extension(0xfe0d), "encrypted_client_hello");
	expect_name(tt_name_version(0x0303), "TLS 1.2");
	expect_name(tt_name_version(0x0304), "TLS 1.3");
	expect_name(tt_name_version(0x0300), "SSL 3.0");
	expect_name(tt_name_version(0xfefd), "DTLS 1.2");
	expect_name(tt_name_handshake(0), "hello_request");
	expect_name(tt_name_handshake(13), "certificate_request");
	expect_name(tt_name_handshake(254), "message_hash");
	expect_name(tt_name_content_type(22), "handshake");
	expect_name(tt_name_content_type(25), "tls12_cid");
	expect_name(tt_name_cert_type(64), "ecdsa_sign");
	expect_name(tt_name_compression(1), "DEFLATE");
	expect_name(tt_name_ec_point_format(0), "uncompressed");
	expect_name(tt_name_psk_mode(1), "psk_dhe_ke");
}

static void test_labels(void **state)
{
	char buf[TT_NAMEBUF];

	(void)state;
	/* A known value gives the static name, never the caller's buffer. */
	memset(buf, 'x', sizeof(buf));
	assert_ptr_not_equal(tt_label_cipher(0x1301, buf), buf);
	assert_string_equal(tt_label_cipher(0x1301, buf),
			    "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tt_label_alert(100, buf), "no_renegotiation");

	/* GREASE in every 16-bit registry. */
	assert_ptr_equal(tt_label_cipher(0x0a0a, buf), buf);
	assert_string_equal(buf, "grease(0x0a0a)");
	assert_string_equal(tt_label_extension(0xfafa, buf), "grease(0xfafa)");
	assert_string_equal(tt_label_group(0x2a2a, buf), "grease(0x2a2a)");
	assert_string_equal(tt_label_sigscheme(0x5a5a, buf), "grease(0x5a5a)");
	assert_string_equal(tt_label_version(0x7a7a, buf), "grease(0x7a7a)");
	assert_null(tt_name_cipher(0x0a0a));
	assert_null(tt_name_version(0xdada));

	/* Looks like GREASE but the two bytes differ. */
	assert_string_equal(tt_label_cipher(0x0a1a, buf), "unknown(0x0a1a)");
	assert_string_equal(tt_label_extension(0x1a2a, buf), "unknown(0x1a2a)");

	/* Unassigned and never-registered values. */
	assert_string_equal(tt_label_cipher(0x1308, buf), "unknown(0x1308)");
	assert_string_equal(tt_label_cipher(0xffff, buf), "unknown(0xffff)");
	assert_string_equal(tt_label_extension(0x3374, buf), "unknown(0x3374)");
	assert_string_equal(tt_label_extension(0x0028, buf), "unknown(0x0028)");
	assert_string_equal(tt_label_group(0x0000, buf), "unknown(0x0000)");
	assert_string_equal(tt_label_sigscheme(0x0101, buf), "unknown(0x0101)");
	assert_string_equal(tt_label_version(0x0305, buf), "unknown(0x0305)");

	/* 8-bit registries: two hex digits and no GREASE. */
	assert_string_equal(tt_label_alert(255, buf), "unknown(0xff)");
	assert_string_equal(tt_label_alert(1, buf), "unknown(0x01)");
	assert_string_equal(tt_label_handshake(7, buf), "unknown(0x07)");
	assert_string_equal(tt_label_content_type(0x0a, buf), "unknown(0x0a)");
	assert_string_equal(tt_label_alert_level(0, buf), "unknown(0x00)");
	assert_string_equal(tt_label_cert_type(0, buf), "unknown(0x00)");
	assert_string_equal(tt_label_compression(2, buf), "unknown(0x02)");
	assert_string_equal(tt_label_ec_point_format(3, buf), "unknown(0x03)");
	assert_string_equal(tt_label_psk_mode(2, buf), "unknown(0x02)");
}

/* Names go into JSON strings and text lines unescaped: printable ASCII,
 * no quote or backslash. */
static int plain_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static void test_def_entries(void **state)
{
	(void)state;
	for (size_t r = 0; r < NREG; r++) {
		const struct registry *g = &registries[r];

		assert_true(g->n > 0);
		for (size_t i = 0; i < g->n; i++) {
			const struct entry *e = &g->tab[i];
			const char *why = NULL;

			if (!e->name || !e->name[0])
				why = "empty name";
			else if (!plain_ascii(e->name))
				why = "name is not plain ASCII";
			else if (e->v > g->max)
				why = "value wider than the registry";
			/* No registry names a GREASE value. */
			else if (g->max == 0xffff &&
				 tt_is_grease16((uint16_t)e->v))
				why = "GREASE value named";
			for (size_t j = i + 1; !why && j < g->n; j++) {
				if (e->v == g->tab[j].v)
					why = "value listed twice";
				else if (!strcmp(e->name, g->tab[j].name))
					why = "name listed twice";
			}
			if (why) {
				print_error("%s.def 0x%04x \"%s\": %s\n",
					    g->what, e->v,
					    e->name ? e->name : "", why);
				fail();
			}
			expect_name(g->name(e->v), e->name);
		}
	}
}

/* Every value of the wire width: a name exactly for the .def entries
 * (catches a lookup wired to the wrong .def), and a label that is
 * non-empty and fits TT_NAMEBUF whenever it is written there. */
static void test_whole_domain(void **state)
{
	char buf[TT_NAMEBUF];
	char want[TT_NAMEBUF];

	(void)state;
	for (size_t r = 0; r < NREG; r++) {
		const struct registry *g = &registries[r];
		size_t named = 0;

		for (unsigned v = 0; v <= g->max; v++) {
			const char *name = g->name(v);
			const char *label;

			memset(buf, 0, sizeof(buf));
			label = g->label(v, buf);
			assert_non_null(label);
			if (name) {
				named++;
				assert_ptr_equal(label, name);
				continue;
			}
			assert_ptr_equal(label, buf);
			assert_true(strlen(buf) < TT_NAMEBUF - 1);
			if (g->max == 0xff)
				snprintf(want, sizeof(want), "unknown(0x%02x)",
					 v);
			else if (tt_is_grease16((uint16_t)v))
				snprintf(want, sizeof(want), "grease(0x%04x)",
					 v);
			else
				snprintf(want, sizeof(want), "unknown(0x%04x)",
					 v);
			assert_string_equal(buf, want);
		}
		if (named != g->n)
			print_error("%s: %zu named values, %zu .def entries\n",
				    g->what, named, g->n);
		assert_int_equal(named, g->n);
	}
}

/* `openssl ciphers -V -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'`,
 * OpenSSL 3.0.19, every line. */
static const struct entry openssl_ciphers[] = {
	{0x0001, "TLS_RSA_WITH_NULL_MD5"},
	{0x0002, "TLS_RSA_WITH_NULL_SHA"},
	{0x002c, "TLS_PSK_WITH_NULL_SHA"},
	{0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"},
	{0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"},
	{0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
	{0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
	{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
	{0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
	{0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
	{0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
	{0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
	{0x003b, "TLS_RSA_WITH_NULL_SHA256"},
	{0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
	{0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
	{0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
	{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
	{0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
	{0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
	{0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
	{0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
	{0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
	{0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
	{0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"},
	{0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"},
	{0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"},
	{0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"},
	{0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"},
	{0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"},
	{0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
	{0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
	{0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
	{0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
	{0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
	{0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"},
	{0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"},
	{0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b0, "TLS_PSK_WITH_NULL_SHA256"},
	{0x00b1, "TLS_PSK_WITH_NULL_SHA384"},
	{0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256"},
	{0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384"},
	{0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"},
	{0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"},
	{0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256"},
	{0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384"},
	{0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"},
	{0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"},
	{0x1301, "TLS_AES_128_GCM_SHA256"},
	{0x1302, "TLS_AES_256_GCM_SHA384"},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
	{0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
	{0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
	{0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
	{0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
	{0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
	{0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
	{0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"},
	{0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
	{0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
	{0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"},
	{0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"},
	{0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"},
	{0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"},
	{0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"},
	{0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"},
	{0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
	{0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
	{0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
	{0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
	{0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
	{0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	{0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
	{0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
	{0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
	{0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"},
	{0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"},
	{0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA"},
	{0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256"},
	{0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384"},
	{0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},
	{0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
	{0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"},
	{0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"},
	{0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
	{0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
	{0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
	{0xc09d, "TLS_RSA_WITH_AES_256_CCM"},
	{0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"},
	{0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"},
	{0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"},
	{0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"},
	{0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
	{0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
	{0xc0a4, "TLS_PSK_WITH_AES_128_CCM"},
	{0xc0a5, "TLS_PSK_WITH_AES_256_CCM"},
	{0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM"},
	{0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM"},
	{0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"},
	{0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"},
	{0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"},
	{0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8"},
	{0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
	{0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
	{0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
	{0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
	{0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
};

/* The other TLS1_RFC_* / SSL3_RFC_* names of OpenSSL 3.0.19's tls1.h and
 * ssl3.h, paired with their TLS1_CK_* / TLS1_3_CK_* codes: suites that
 * build has no implementation of but still names. */
static const struct entry openssl_header_names[] = {
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
	{0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"},
	{0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
	{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
	{0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
	{0x008a, "TLS_PSK_WITH_RC4_128_SHA"},
	{0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA"},
	{0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"},
	{0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"},
	{0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"},
	{0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"},
	{0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"},
	{0x1304, "TLS_AES_128_CCM_SHA256"},
	{0x1305, "TLS_AES_128_CCM_8_SHA256"},
	{0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
	{0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
	{0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
	{0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
	{0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"},
	{0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"},
	{0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"},
	{0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"},
	{0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"},
	{0xc054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"},
	{0xc059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"},
	{0xc05a, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"},
	{0xc05b, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"},
	{0xc05e, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc05f, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"},
	{0xc062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"},
	{0xc063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"},
};

static void check_against(const struct entry *tab, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = tt_name_cipher((uint16_t)tab[i].v);

		if (!got || strcmp(got, tab[i].name) != 0)
			print_error("0x%04x: openssl %s, table %s\n", tab[i].v,
				    tab[i].name, got ? got : "(none)");
		expect_name(got, tab[i].name);
	}
}

static void test_openssl_cipher_names(void **state)
{
	(void)state;
	check_against(openssl_ciphers,
		      sizeof(openssl_ciphers) / sizeof(openssl_ciphers[0]));
	check_against(openssl_header_names,
		      sizeof(openssl_header_names) /
			      sizeof(openssl_header_names[0]));
}

/* ---- Constants and samples of every registry ----
 *
 * Values copied from the IANA registries (and RFC 5246 7.2 for the alert
 * levels), written here as numbers: each must be both the generated
 * constant and the value the lookup names.  At least five per registry
 * where it has that many, the newest entries among them.
 */
struct sample {
	const char *reg;
	unsigned constant, value;
	const char *name;
};
#define S(reg, constant, value, name)                                          \
	{                                                                      \
#reg, constant, value, name                                    \
	}
static const struct sample samples[] = {
	S(content_type, TT_CT_CHANGE_CIPHER_SPEC, 20, "change_cipher_spec"),
	S(content_type, TT_CT_ALERT, 21, "alert"),
	S(content_type, TT_CT_HANDSHAKE, 22, "handshake"),
	S(content_type, TT_CT_APPLICATION_DATA, 23, "application_data"),
	S(content_type, TT_CT_HEARTBEAT, 24, "heartbeat"),
	S(content_type, TT_CT_TLS12_CID, 25, "tls12_cid"),
	S(content_type, TT_CT_ACK, 26, "ack"),
	S(content_type, TT_CT_RETURN_ROUTABILITY_CHECK, 27,
	  "return_routability_check"),

	S(handshake, TT_HT_HELLO_REQUEST, 0, "hello_request"),
	S(handshake, TT_HT_CLIENT_HELLO, 1, "client_hello"),
	S(handshake, TT_HT_SERVER_HELLO, 2, "server_hello"),
	S(handshake, TT_HT_NEW_SESSION_TICKET, 4, "new_session_ticket"),
	S(handshake, TT_HT_ENCRYPTED_EXTENSIONS, 8, "encrypted_extensions"),
	S(handshake, TT_HT_CERTIFICATE, 11, "certificate"),
	S(handshake, TT_HT_SERVER_KEY_EXCHANGE, 12, "server_key_exchange"),
	S(handshake, TT_HT_CERTIFICATE_REQUEST, 13, "certificate_request"),
	S(handshake, TT_HT_CERTIFICATE_VERIFY, 15, "certificate_verify"),
	S(handshake, TT_HT_FINISHED, 20, "finished"),
	S(handshake, TT_HT_KEY_UPDATE, 24, "key_update"),
	S(handshake, TT_HT_COMPRESSED_CERTIFICATE, 25,
	  "compressed_certificate"),
	S(handshake, TT_HT_EKT_KEY, 26, "ekt_key"),
	S(handshake, TT_HT_MESSAGE_HASH, 254, "message_hash"),

	S(alert, TT_AL_CLOSE_NOTIFY, 0, "close_notify"),
	S(alert, TT_AL_BAD_RECORD_MAC, 20, "bad_record_mac"),
	S(alert, TT_AL_HANDSHAKE_FAILURE, 40, "handshake_failure"),
	S(alert, TT_AL_PROTOCOL_VERSION, 70, "protocol_version"),
	S(alert, TT_AL_NO_RENEGOTIATION, 100, "no_renegotiation"),
	S(alert, TT_AL_CERTIFICATE_REQUIRED, 116, "certificate_required"),
	S(alert, TT_AL_GENERAL_ERROR, 117, "general_error"),
	S(alert, TT_AL_NO_APPLICATION_PROTOCOL, 120, "no_application_protocol"),
	S(alert, TT_AL_ECH_REQUIRED, 121, "ech_required"),

	S(alert_level, TT_ALEVEL_WARNING, 1, "warning"),
	S(alert_level, TT_ALEVEL_FATAL, 2, "fatal"),

	S(version, TT_V_SSL3, 0x0300, "SSL 3.0"),
	S(version, TT_V_TLS10, 0x0301, "TLS 1.0"),
	S(version, TT_V_TLS11, 0x0302, "TLS 1.1"),
	S(version, TT_V_TLS12, 0x0303, "TLS 1.2"),
	S(version, TT_V_TLS13, 0x0304, "TLS 1.3"),
	S(version, TT_V_DTLS12, 0xfefd, "DTLS 1.2"),
	S(version, TT_V_DTLS13, 0xfefc, "DTLS 1.3"),

	S(extension, TT_EXT_SERVER_NAME, 0x0000, "server_name"),
	S(extension, TT_EXT_SUPPORTED_GROUPS, 0x000a, "supported_groups"),
	S(extension, TT_EXT_SIGNATURE_ALGORITHMS, 0x000d,
	  "signature_algorithms"),
	S(extension, TT_EXT_APPLICATION_LAYER_PROTOCOL_NEGOTIATION, 0x0010,
	  "application_layer_protocol_negotiation"),
	S(extension, TT_EXT_EXTENDED_MASTER_SECRET, 0x0017,
	  "extended_master_secret"),
	S(extension, TT_EXT_COMPRESS_CERTIFICATE, 0x001b,
	  "compress_certificate"),
	S(extension, TT_EXT_SESSION_TICKET, 0x0023, "session_ticket"),
	S(extension, TT_EXT_PRE_SHARED_KEY, 0x0029, "pre_shared_key"),
	S(extension, TT_EXT_SUPPORTED_VERSIONS, 0x002b, "supported_versions"),
	S(extension, TT_EXT_KEY_SHARE, 0x0033, "key_share"),
	S(extension, TT_EXT_TLS_FLAGS, 0x003e, "tls_flags"),
	S(extension, TT_EXT_ECH_OUTER_EXTENSIONS, 0xfd00,
	  "ech_outer_extensions"),
	S(extension, TT_EXT_ENCRYPTED_CLIENT_HELLO, 0xfe0d,
	  "encrypted_client_hello"),
	S(extension, TT_EXT_RENEGOTIATION_INFO, 0xff01, "renegotiation_info"),

	S(cipher, TT_CS_NULL_WITH_NULL_NULL, 0x0000, "TLS_NULL_WITH_NULL_NULL"),
	S(cipher, TT_CS_RSA_WITH_AES_128_CBC_SHA, 0x002f,
	  "TLS_RSA_WITH_AES_128_CBC_SHA"),
	S(cipher, TT_CS_EMPTY_RENEGOTIATION_INFO_SCSV, 0x00ff,
	  "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
	S(cipher, TT_CS_AES_128_GCM_SHA256, 0x1301, "TLS_AES_128_GCM_SHA256"),
	S(cipher, TT_CS_AES_256_GCM_SHA384, 0x1302, "TLS_AES_256_GCM_SHA384"),
	S(cipher, TT_CS_CHACHA20_POLY1305_SHA256, 0x1303,
	  "TLS_CHACHA20_POLY1305_SHA256"),
	S(cipher, TT_CS_AEGIS_128L_SHA256, 0x1307, "TLS_AEGIS_128L_SHA256"),
	S(cipher, TT_CS_FALLBACK_SCSV, 0x5600, "TLS_FALLBACK_SCSV"),
	S(cipher, TT_CS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 0xc02f,
	  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
	S(cipher, TT_CS_DH_anon_WITH_AES_256_GCM_SHA384, 0x00a7,
	  "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
	S(cipher, TT_CS_ECDHE_PSK_WITH_AES_128_CCM_SHA256, 0xd005,
	  "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"),

	S(group, TT_GROUP_SECP256R1, 0x0017, "secp256r1"),
	S(group, TT_GROUP_X25519, 0x001d, "x25519"),
	S(group, TT_GROUP_X448, 0x001e, "x448"),
	S(group, TT_GROUP_FFDHE2048, 0x0100, "ffdhe2048"),
	S(group, TT_GROUP_MLKEM512, 0x0200, "MLKEM512"),
	S(group, TT_GROUP_MLKEM768, 0x0201, "MLKEM768"),
	S(group, TT_GROUP_MLKEM1024, 0x0202, "MLKEM1024"),
	S(group, TT_GROUP_SECP256R1MLKEM768, 0x11eb, "SecP256r1MLKEM768"),
	S(group, TT_GROUP_X25519MLKEM768, 0x11ec, "X25519MLKEM768"),
	S(group, TT_GROUP_SECP384R1MLKEM1024, 0x11ed, "SecP384r1MLKEM1024"),
	S(group, TT_GROUP_CURVESM2MLKEM768, 0x11ee, "curveSM2MLKEM768"),

	S(sigscheme, TT_SIG_RSA_PKCS1_SHA256, 0x0401, "rsa_pkcs1_sha256"),
	S(sigscheme, TT_SIG_ECDSA_SECP256R1_SHA256, 0x0403,
	  "ecdsa_secp256r1_sha256"),
	S(sigscheme, TT_SIG_RSA_PSS_RSAE_SHA256, 0x0804, "rsa_pss_rsae_sha256"),
	S(sigscheme, TT_SIG_ED25519, 0x0807, "ed25519"),
	S(sigscheme, TT_SIG_MLDSA65, 0x0905, "mldsa65"),
	/* TLS 1.2 pairs, named as Wireshark names them */
	S(sigscheme, TT_SIG_SHA1_DSA, 0x0202, "SHA1 DSA"),
	S(sigscheme, TT_SIG_SHA224_RSA, 0x0301, "SHA224 RSA"),
	S(sigscheme, TT_SIG_SHA224_DSA, 0x0302, "SHA224 DSA"),
	S(sigscheme, TT_SIG_SHA224_ECDSA, 0x0303, "SHA224 ECDSA"),
	S(sigscheme, TT_SIG_SHA256_DSA, 0x0402, "SHA256 DSA"),
	S(sigscheme, TT_SIG_SHA512_DSA, 0x0602, "SHA512 DSA"),

	S(cert_type, TT_CERT_RSA_SIGN, 1, "rsa_sign"),
	S(cert_type, TT_CERT_DSS_SIGN, 2, "dss_sign"),
	S(cert_type, TT_CERT_RSA_FIXED_DH, 3, "rsa_fixed_dh"),
	S(cert_type, TT_CERT_ECDSA_SIGN, 64, "ecdsa_sign"),
	S(cert_type, TT_CERT_GOST_SIGN512, 68, "gost_sign512"),

	S(compression, TT_COMP_NULL, 0, "null"),
	S(compression, TT_COMP_DEFLATE, 1, "DEFLATE"),
	S(compression, TT_COMP_LZS, 64, "LZS"),

	S(ec_point_format, TT_ECPF_UNCOMPRESSED, 0, "uncompressed"),
	S(ec_point_format, TT_ECPF_ANSIX962_COMPRESSED_PRIME, 1,
	  "ansiX962_compressed_prime"),
	S(ec_point_format, TT_ECPF_ANSIX962_COMPRESSED_CHAR2, 2,
	  "ansiX962_compressed_char2"),

	S(psk_mode, TT_PSKM_PSK_KE, 0, "psk_ke"),
	S(psk_mode, TT_PSKM_PSK_DHE_KE, 1, "psk_dhe_ke"),

	S(starttls, TT_STARTTLS_SMTP, 1, "smtp"),
	S(starttls, TT_STARTTLS_IMAP, 3, "imap"),
	S(starttls, TT_STARTTLS_LDAP, 6, "ldap"),
	S(starttls, TT_STARTTLS_POSTGRESQL, 7, "postgresql"),
	S(starttls, TT_STARTTLS_SIEVE, 11, "sieve"),

	S(ldap_result, TT_LDAP_SUCCESS, 0, "success"),
	S(ldap_result, TT_LDAP_PROTOCOL_ERROR, 2, "protocolError"),
	S(ldap_result, TT_LDAP_CONFIDENTIALITY_REQUIRED, 13,
	  "confidentialityRequired"),
	S(ldap_result, TT_LDAP_UNAVAILABLE, 52, "unavailable"),
	S(ldap_result, TT_LDAP_OTHER, 80, "other"),
};
#undef S

static void test_registry_samples(void **state)
{
	(void)state;
	for (size_t r = 0; r < NREG; r++) {
		const struct registry *g = &registries[r];
		size_t n = 0;

		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]);
		     i++) {
			const struct sample *x = &samples[i];

			if (strcmp(x->reg, g->what) != 0)
				continue;
			n++;
			if (x->constant != x->value)
				print_error("%s %s: constant 0x%04x\n", g->what,
					    x->name, x->constant);
			assert_int_equal(x->constant, x->value);
			expect_name(g->name(x->value), x->name);
		}
		if (n < 5 && n < g->n)
			print_error("%s: %zu samples\n", g->what, n);
		assert_true(n >= 5 || n == g->n);
	}
}

/* The signature algorithms `openssl s_server` (3.0) asks for in a
 * CertificateRequest, TLS 1.3 then the extra TLS 1.2 ones: every one has
 * a name, the TLS 1.2 pairs Wireshark's. */
static void test_openssl_sigalgs_named(void **state)
{
	static const struct entry sent[] = {
		{0x0403, "ecdsa_secp256r1_sha256"},
		{0x0503, "ecdsa_secp384r1_sha384"},
		{0x0603, "ecdsa_secp521r1_sha512"},
		{0x0807, "ed25519"},
		{0x0808, "ed448"},
		{0x0809, "rsa_pss_pss_sha256"},
		{0x080a, "rsa_pss_pss_sha384"},
		{0x080b, "rsa_pss_pss_sha512"},
		{0x0804, "rsa_pss_rsae_sha256"},
		{0x0805, "rsa_pss_rsae_sha384"},
		{0x0806, "rsa_pss_rsae_sha512"},
		{0x0401, "rsa_pkcs1_sha256"},
		{0x0501, "rsa_pkcs1_sha384"},
		{0x0601, "rsa_pkcs1_sha512"},
		{0x0303, "SHA224 ECDSA"},
		{0x0301, "SHA224 RSA"},
		/* TLS 1.2 only */
		{0x0302, "SHA224 DSA"},
		{0x0402, "SHA256 DSA"},
		{0x0502, "SHA384 DSA"},
		{0x0602, "SHA512 DSA"},
	};
	char buf[TT_NAMEBUF];

	(void)state;
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
		assert_string_equal(
			tt_label_sigscheme((uint16_t)sent[i].v, buf),
			sent[i].name);
	/* pairs Wireshark leaves unnamed stay unknown */
	assert_string_equal(tt_label_sigscheme(0x0101, buf), "unknown(0x0101)");
	assert_string_equal(tt_label_sigscheme(0x0103, buf), "unknown(0x0103)");
	assert_string_equal(tt_label_sigscheme(0x0400, buf), "unknown(0x0400)");
	assert_string_equal(tt_label_sigscheme(0x0304, buf), "unknown(0x0304)");
	/* labels around the newest entries */
	assert_string_equal(tt_label_content_type(27, buf),
			    "return_routability_check");
	assert_string_equal(tt_label_content_type(28, buf), "unknown(0x1c)");
	assert_string_equal(tt_label_group(0x11ec, buf), "X25519MLKEM768");
	assert_string_equal(tt_label_group(0x11ef, buf), "unknown(0x11ef)");
	assert_string_equal(tt_label_group(0x3a3a, buf), "grease(0x3a3a)");
	assert_string_equal(tt_label_extension(0xfd00, buf),
			    "ech_outer_extensions");
	assert_string_equal(tt_label_extension(0xfe0c, buf), "unknown(0xfe0c)");
	assert_string_equal(tt_label_extension(0xeaea, buf), "grease(0xeaea)");
	assert_string_equal(tt_label_handshake(254, buf), "message_hash");
	assert_string_equal(tt_label_handshake(255, buf), "unknown(0xff)");
	assert_string_equal(tt_label_cipher(0xd004, buf), "unknown(0xd004)");
}

/* ---- Cipher-suite attributes ---- */

static void expect_suite(uint16_t code, enum tt_kx kx, enum tt_auth auth,
			 enum tt_bulk bulk, enum tt_mode mode, unsigned key_len,
			 unsigned iv_len, unsigned explicit_nonce,
			 enum tt_digest mac, unsigned mac_len,
			 enum tt_digest prf, bool tls13)
{
	const struct tt_suite *s = tt_suite_info(code);

	if (!s)
		print_error("0x%04x: no suite\n", code);
	assert_non_null(s);
	assert_int_equal(s->code, code);
	assert_int_equal(s->kx, kx);
	assert_int_equal(s->auth, auth);
	assert_int_equal(s->bulk, bulk);
	assert_int_equal(s->mode, mode);
	assert_int_equal(s->key_len, key_len);
	assert_int_equal(s->iv_len, iv_len);
	assert_int_equal(s->explicit_nonce, explicit_nonce);
	assert_int_equal(s->mac, mac);
	assert_int_equal(s->mac_len, mac_len);
	assert_int_equal(s->prf, prf);
	assert_int_equal(s->tls13, tls13);
}

static void test_suite_attributes(void **state)
{
	(void)state;
	/* TLS 1.3: no key exchange in the suite, HKDF hash, 12-byte IV */
	expect_suite(0x1301, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_AES_128,
		     TT_MODE_GCM, 16, 12, 0, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA256, true);
	expect_suite(0x1302, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_AES_256,
		     TT_MODE_GCM, 32, 12, 0, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA384, true);
	expect_suite(0x1305, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_AES_128,
		     TT_MODE_CCM_8, 16, 12, 0, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA256, true);
	expect_suite(0xc0b4, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_NULL,
		     TT_MODE_NULL, 0, 0, 0, TT_DIGEST_SHA256, 32,
		     TT_DIGEST_SHA256, true);
	/* TLS 1.2 AEADs (RFC 5288, 6655, 7905) */
	expect_suite(0xc02f, TT_KX_ECDHE, TT_AUTH_RSA, TT_BULK_AES_128,
		     TT_MODE_GCM, 16, 4, 8, TT_DIGEST_NONE, 0, TT_DIGEST_SHA256,
		     false);
	expect_suite(0xc02c, TT_KX_ECDHE, TT_AUTH_ECDSA, TT_BULK_AES_256,
		     TT_MODE_GCM, 32, 4, 8, TT_DIGEST_NONE, 0, TT_DIGEST_SHA384,
		     false);
	expect_suite(0xc0ae, TT_KX_ECDHE, TT_AUTH_ECDSA, TT_BULK_AES_128,
		     TT_MODE_CCM_8, 16, 4, 8, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xccaa, TT_KX_DHE, TT_AUTH_RSA, TT_BULK_CHACHA20,
		     TT_MODE_CHACHA20_POLY1305, 32, 12, 0, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xc0aa, TT_KX_DHE_PSK, TT_AUTH_PSK, TT_BULK_AES_128,
		     TT_MODE_CCM_8, 16, 4, 8, TT_DIGEST_NONE, 0,
		     TT_DIGEST_SHA256, false);
	/* CBC and stream: a MAC, the PRF of the suite or SHA-256 */
	expect_suite(0x002f, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xc028, TT_KX_ECDHE, TT_AUTH_RSA, TT_BULK_AES_256,
		     TT_MODE_CBC, 32, 16, 16, TT_DIGEST_SHA384, 48,
		     TT_DIGEST_SHA384, false);
	expect_suite(0x000a, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_3DES_EDE,
		     TT_MODE_CBC, 24, 8, 8, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0013, TT_KX_DHE, TT_AUTH_DSS, TT_BULK_3DES_EDE,
		     TT_MODE_CBC, 24, 8, 8, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0004, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_RC4_128,
		     TT_MODE_STREAM, 16, 0, 0, TT_DIGEST_MD5, 16,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0003, TT_KX_RSA_EXPORT, TT_AUTH_RSA, TT_BULK_RC4_40,
		     TT_MODE_STREAM, 5, 0, 0, TT_DIGEST_MD5, 16,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0018, TT_KX_DHE, TT_AUTH_NONE, TT_BULK_RC4_128,
		     TT_MODE_STREAM, 16, 0, 0, TT_DIGEST_MD5, 16,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xc018, TT_KX_ECDHE, TT_AUTH_NONE, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xc004, TT_KX_ECDH, TT_AUTH_ECDSA, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0031, TT_KX_DH, TT_AUTH_RSA, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0xc01e, TT_KX_SRP, TT_AUTH_RSA, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	expect_suite(0x0094, TT_KX_RSA_PSK, TT_AUTH_RSA, TT_BULK_AES_128,
		     TT_MODE_CBC, 16, 16, 16, TT_DIGEST_SHA1, 20,
		     TT_DIGEST_SHA256, false);
	/* NULL ciphers: readable records with a MAC */
	expect_suite(0x0001, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_NULL, TT_MODE_NULL,
		     0, 0, 0, TT_DIGEST_MD5, 16, TT_DIGEST_SHA256, false);
	expect_suite(0x0002, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_NULL, TT_MODE_NULL,
		     0, 0, 0, TT_DIGEST_SHA1, 20, TT_DIGEST_SHA256, false);
	expect_suite(0x003b, TT_KX_RSA, TT_AUTH_RSA, TT_BULK_NULL, TT_MODE_NULL,
		     0, 0, 0, TT_DIGEST_SHA256, 32, TT_DIGEST_SHA256, false);
	expect_suite(0xc03b, TT_KX_ECDHE_PSK, TT_AUTH_PSK, TT_BULK_NULL,
		     TT_MODE_NULL, 0, 0, 0, TT_DIGEST_SHA384, 48,
		     TT_DIGEST_SHA384, false);
	/* the initial state and the signalling values: nothing */
	expect_suite(0x0000, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_NULL,
		     TT_MODE_NULL, 0, 0, 0, TT_DIGEST_NONE, 0, TT_DIGEST_NONE,
		     false);
	expect_suite(0x00ff, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_NULL,
		     TT_MODE_NULL, 0, 0, 0, TT_DIGEST_NONE, 0, TT_DIGEST_NONE,
		     false);
	expect_suite(0x5600, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_NULL,
		     TT_MODE_NULL, 0, 0, 0, TT_DIGEST_NONE, 0, TT_DIGEST_NONE,
		     false);
	/* GOST (RFC 9189, RFC 9367) */
	expect_suite(0xc100, TT_KX_GOST, TT_AUTH_GOST, TT_BULK_KUZNYECHIK,
		     TT_MODE_CTR, 32, 8, 0, TT_DIGEST_OMAC, 16,
		     TT_DIGEST_STREEBOG256, false);
	expect_suite(0xc102, TT_KX_GOST, TT_AUTH_GOST, TT_BULK_GOST28147,
		     TT_MODE_CTR, 32, 4, 0, TT_DIGEST_IMIT, 4,
		     TT_DIGEST_STREEBOG256, false);
	expect_suite(0xc104, TT_KX_NONE, TT_AUTH_NONE, TT_BULK_MAGMA,
		     TT_MODE_MGM, 32, 8, 0, TT_DIGEST_NONE, 0,
		     TT_DIGEST_STREEBOG256, true);

	assert_null(tt_suite_info(0x0a0a)); /* GREASE */
	assert_null(tt_suite_info(0x1308)); /* unassigned */
	assert_null(tt_suite_info(0xfefe)); /* reserved */
	assert_null(tt_suite_info(0xff00)); /* private use */
}

/* The MAC length of a NULL-cipher suite, the way the record layer read it
 * from the name before the table carried it. */
static unsigned null_mac_from_name(const char *n)
{
	size_t l = strlen(n);

	if (!strstr(n, "_WITH_NULL_"))
		return 0;
	if (l > 4 && strcmp(n + l - 4, "_MD5") == 0)
		return 16;
	if (l > 4 && strcmp(n + l - 4, "_SHA") == 0)
		return 20;
	if (l > 7 && strcmp(n + l - 7, "_SHA256") == 0)
		return 32;
	if (l > 7 && strcmp(n + l - 7, "_SHA384") == 0)
		return 48;
	return 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t l = strlen(s), t = strlen(tail);

	return l >= t && strcmp(s + l - t, tail) == 0;
}

/* Every suite: the columns agree with what its name says, and with the
 * name tests the other layers used before (strstr on "_WITH_NULL_",
 * "_ECDHE_", "_DHE_"). */
static void test_suite_table_vs_names(void **state)
{
	(void)state;
	for (unsigned c = 0; c <= 0xffff; c++) {
		const struct tt_suite *s = tt_suite_info((uint16_t)c);
		const char *n = tt_name_cipher((uint16_t)c);
		bool aead, named_null;

		assert_true(!s == !n);
		if (!s)
			continue;
		assert_int_equal(s->code, c);
		aead = s->mode != TT_MODE_NULL && s->mode != TT_MODE_STREAM &&
		       s->mode != TT_MODE_CBC && s->mode != TT_MODE_CTR;
		named_null = strstr(n, "_WITH_NULL_") != NULL;

		/* NULL ciphers: the MAC the record layer strips */
		assert_int_equal(
			s->bulk == TT_BULK_NULL && !s->tls13 ? s->mac_len : 0,
			null_mac_from_name(n));
		/* TLS_NULL_WITH_NULL_NULL is the one without a MAC */
		assert_true(named_null ==
			    (s->bulk == TT_BULK_NULL && !s->tls13 &&
			     (s->mac_len > 0 || c == 0)));
		/* key exchange */
		assert_true(
			(strstr(n, "_ECDHE_") != NULL) ==
			((s->kx == TT_KX_ECDHE && s->auth != TT_AUTH_NONE) ||
			 s->kx == TT_KX_ECDHE_PSK));
		assert_true((strstr(n, "_DHE_") != NULL) ==
			    ((s->kx == TT_KX_DHE && s->auth != TT_AUTH_NONE) ||
			     s->kx == TT_KX_DHE_PSK));
		assert_true((strstr(n, "_anon_") != NULL) ==
			    (s->auth == TT_AUTH_NONE && s->kx != TT_KX_NONE));
		assert_true(!s->tls13 ||
			    (s->kx == TT_KX_NONE && s->auth == TT_AUTH_NONE));
		assert_true(s->tls13 == ((c >> 8) == 0x13 || c == 0x00c6 ||
					 c == 0x00c7 || c == 0xc0b4 ||
					 c == 0xc0b5 ||
					 (c >= 0xc103 && c <= 0xc106)));
		/* cipher and mode */
		if (strstr(n, "AES_128"))
			assert_true(s->bulk == TT_BULK_AES_128 &&
				    s->key_len == 16);
		if (strstr(n, "AES_256"))
			assert_true(s->bulk == TT_BULK_AES_256 &&
				    s->key_len == 32);
		if (strstr(n, "_CBC"))
			assert_true(s->mode == TT_MODE_CBC);
		if (strstr(n, "_GCM"))
			assert_true(s->mode == TT_MODE_GCM);
		if (strstr(n, "_CCM_8"))
			assert_true(s->mode == TT_MODE_CCM_8);
		else if (strstr(n, "_CCM"))
			assert_true(s->mode == TT_MODE_CCM);
		if (strstr(n, "_RC4_"))
			assert_true(s->mode == TT_MODE_STREAM);
		/* MAC only without an AEAD; the PRF hash from the name */
		assert_true(aead == (s->mac == TT_DIGEST_NONE &&
				     s->mode != TT_MODE_NULL));
		if (aead)
			assert_int_equal(s->mac_len, 0);
		else
			assert_true(s->mac_len > 0 || s->prf == TT_DIGEST_NONE);
		if (ends_with(n, "_SHA384"))
			assert_int_equal(s->prf, TT_DIGEST_SHA384);
		if (ends_with(n, "_SHA") || ends_with(n, "_MD5") ||
		    ends_with(n, "_SHA256"))
			assert_int_equal(s->prf, TT_DIGEST_SHA256);
		/* AEAD nonces: 12 bytes, salt + explicit part in TLS 1.2 */
		if (s->mode == TT_MODE_GCM || s->mode == TT_MODE_CCM ||
		    s->mode == TT_MODE_CCM_8 ||
		    s->mode == TT_MODE_CHACHA20_POLY1305)
			assert_int_equal(s->iv_len + s->explicit_nonce, 12);
		/* decryptable: an AEAD of the crypto table, or (TLS 1.2
		 * and earlier) a cipher of it or none with an HMAC; not the
		 * export ciphers, Camellia-GCM, SM4, AEGIS, GOST, TLS 1.3's
		 * integrity-only suites */
		bool exportable = s->bulk == TT_BULK_RC4_40 ||
				  s->bulk == TT_BULK_RC2_40 ||
				  s->bulk == TT_BULK_DES40;
		bool other = exportable || s->bulk == TT_BULK_SM4 ||
			     s->mode == TT_MODE_AEGIS ||
			     s->mode == TT_MODE_MGM || s->mode == TT_MODE_CTR ||
			     (s->mode == TT_MODE_GCM &&
			      (s->bulk == TT_BULK_CAMELLIA_128 ||
			       s->bulk == TT_BULK_CAMELLIA_256)) ||
			     (s->tls13 && s->mode == TT_MODE_NULL) ||
			     (s->mac == TT_DIGEST_NONE && !aead);
		assert_true(s->decrypt == !other);
		if (s->decrypt) {
			assert_int_equal(s->hash, s->prf == TT_DIGEST_SHA384
							  ? TT_HASH_SHA384
							  : TT_HASH_SHA256);
			if (aead) {
				assert_int_equal(s->key_len,
						 tt_aead_key_len(s->aead));
				assert_int_equal(tt_aead_tag_len(s->aead),
						 s->mode == TT_MODE_CCM_8 ? 8
									  : 16);
			} else {
				assert_int_equal(tt_hash_len(s->mac_hash),
						 s->mac_len);
			}
			if (s->mode == TT_MODE_CBC) {
				assert_int_equal(s->key_len,
						 tt_cipher_key_len(s->cipher));
				assert_int_equal(s->iv_len,
						 tt_cipher_block(s->cipher));
				assert_int_equal(s->explicit_nonce, s->iv_len);
			}
			if (s->mode == TT_MODE_STREAM)
				assert_true(s->cipher == TT_CIPHER_RC4_128 &&
					    s->key_len == 16);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_def_entries),
		cmocka_unit_test(test_whole_domain),
		cmocka_unit_test(test_openssl_cipher_names),
		cmocka_unit_test(test_registry_samples),
		cmocka_unit_test(test_openssl_sigalgs_named),
		cmocka_unit_test(test_suite_attributes),
		cmocka_unit_test(test_suite_table_vs_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
