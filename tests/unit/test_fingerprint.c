/* JA4, JA3 and JA3S on client_hello and server_hello events
 * (decoder/msg/hello.c), from hellos built here.
 *
 * Each case gives the raw text written out by hand from the message (the
 * ja4_r, ja3_r and ja3s_r fields of a debug-level event) and the digests
 * of that text, computed apart (Python's hashlib): the test checks both,
 * so a wrong digest and a wrong text each show.  The first case is the
 * example of FoxIO's specification (technical_details/JA4.md), whose
 * fingerprint t13d1516h2_8daaf6152771_e5627efa2ab1 it gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evassert.h"
#include "evlog.h"
#include "msgbuf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A list of 16-bit values, and one made of a whole array. */
struct u16s {
	const uint16_t *v;
	size_t n;
};
#define U16S(a) ((struct u16s){(a), N(a)})

/* What a built ClientHello holds.  Extensions are given by type, in
 * order; each gets a well-formed body made from the fields below (an
 * empty one for types the decoder does not read). */
struct ch {
	uint16_t legacy;
	struct u16s suites;
	bool no_exts; /* the pre-TLS 1.2 form, no extension block */
	struct u16s exts, versions, groups, sigalgs;
	const uint8_t *formats;
	size_t nformats;
	const char *alpn; /* the first protocol name (then "http/1.1") */
	size_t alpn_len;  /* 0: strlen(alpn) */
};

static void list16(struct buf *b, struct u16s l)
{
	size_t at = open16(b);
	for (size_t i = 0; i < l.n; i++)
		put16(b, l.v[i]);
	close16(b, at);
}

static void build(struct buf *b, const struct ch *h)
{
	b->n = 0;
	put16(b, h->legacy);
	for (int i = 0; i < 32; i++)
		put8(b, (unsigned)i);
	put8(b, 0);
	list16(b, h->suites);
	put8(b, 1);
	put8(b, 0);
	if (h->no_exts)
		return;
	size_t exts = open16(b);
	for (size_t i = 0; i < h->exts.n; i++) {
		put16(b, h->exts.v[i]);
		size_t e = open16(b), l;
		switch (h->exts.v[i]) {
		case 0x0000: /* server_name */
			l = open16(b);
			put8(b, 0);
			put16(b, 11);
			putn(b, "example.com", 11);
			close16(b, l);
			break;
		case 0x0010: /* ALPN */
			l = open16(b);
			size_t n = h->alpn_len ? h->alpn_len : strlen(h->alpn);
			put8(b, (unsigned)n);
			putn(b, h->alpn, n);
			put8(b, 8);
			putn(b, "http/1.1", 8);
			close16(b, l);
			break;
		case 0x002b: /* supported_versions */
			put8(b, (unsigned)(2 * h->versions.n));
			for (size_t k = 0; k < h->versions.n; k++)
				put16(b, h->versions.v[k]);
			break;
		case 0x000a:
			list16(b, h->groups);
			break;
		case 0x000d:
			list16(b, h->sigalgs);
			break;
		case 0x000b: /* ec_point_formats */
			put8(b, (unsigned)h->nformats);
			putn(b, h->formats, h->nformats);
			break;
		case 0x0033: /* key_share: no shares */
			put16(b, 0);
			break;
		case 0x002d: /* psk_key_exchange_modes: psk_dhe_ke */
			put8(b, 1);
			put8(b, 1);
			break;
		case 0xff01: /* renegotiation_info, empty */
			put8(b, 0);
			break;
		default:
			break;
		}
		close16(b, e);
	}
	close16(b, exts);
}

/* The event of h's ClientHello at level (the one line). */
static char *client_line(const struct ch *h, enum tt_level level,
			 struct evlog *l)
{
	static struct buf b;
	build(&b, h);
	struct tt_conn c;
	tt_conn_init(&c);
	evlog_init(l, level);
	assert_int_equal(tt_hs_client_hello(&c, TT_OUT, b.b, b.n, &l->em),
			 TT_OK);
	tt_conn_release(&c);
	assert_int_equal(l->n, 1);
	return l->lines[0];
}

/* Checks h's fingerprints: at info the digests only, at debug the raw
 * forms after each. */
static void check(const struct ch *h, const char *ja4, const char *ja4_r,
		  const char *ja3, const char *ja3_r)
{
	char want[8192];
	struct evlog l;
	char *line = client_line(h, TT_INFO, &l);
	snprintf(want, sizeof(want), ",\"ja4\":\"%s\",\"ja3\":\"%s\"}", ja4,
		 ja3);
	assert_has(line, want);
	assert_int_equal(strlen(line) - (size_t)(strstr(line, want) - line),
			 strlen(want)); /* the last fields */
	evlog_free(&l);

	line = client_line(h, TT_DEBUG, &l);
	snprintf(want, sizeof(want),
		 ",\"ja4\":\"%s\",\"ja4_r\":\"%s\","
		 "\"ja3\":\"%s\",\"ja3_r\":\"%s\"}",
		 ja4, ja4_r, ja3, ja3_r);
	assert_has(line, want);
	evlog_free(&l);
}

/* FoxIO's example (JA4.md, "Example" and "Raw Output"): its cipher
 * suites, extensions and signature algorithms in the order given there,
 * TLS 1.3 in supported_versions, ALPN h2. */
static const uint16_t spec_suites[] = {
	0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
};
static const uint16_t spec_exts[] = {
	0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
	0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
};
static const uint16_t spec_sigalgs[] = {
	0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
};
static const uint16_t v13[] = {0x0304, 0x0303};
static const uint16_t groups[] = {0x001d, 0x0017, 0x0018};
static const uint8_t uncompressed[] = {0};

#define SPEC_JA4 "t13d1516h2_8daaf6152771_e5627efa2ab1"
#define SPEC_JA4_R                                                             \
	"t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,"        \
	"c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,"    \
	"0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,"    \
	"0601"
#define SPEC_JA3_R                                                             \
	"771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-"        \
	"49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-"   \
	"10-21,29-23-24,0"
#define SPEC_JA3 "c000e2caf3a25423f9de6c8a4b12a975"

static struct ch spec_hello(void)
{
	return (struct ch){
		.legacy = 0x0303,
		.suites = U16S(spec_suites),
		.exts = U16S(spec_exts),
		.versions = U16S(v13),
		.groups = U16S(groups),
		.sigalgs = U16S(spec_sigalgs),
		.formats = uncompressed,
		.nformats = 1,
		.alpn = "h2",
	};
}

static void test_spec_example(void **state)
{
	(void)state;
	struct ch h = spec_hello();
	check(&h, SPEC_JA4, SPEC_JA4_R, SPEC_JA3, SPEC_JA3_R);
}

/* The same hello with GREASE where browsers put it (RFC 8701): a first
 * cipher suite, a first and a last extension, a first group, version and
 * signature algorithm.  Neither fingerprint changes. */
static void test_grease(void **state)
{
	(void)state;
	uint16_t suites[N(spec_suites) + 1] = {0x3a3a};
	memcpy(suites + 1, spec_suites, sizeof(spec_suites));
	uint16_t exts[N(spec_exts) + 2] = {0x0a0a};
	memcpy(exts + 1, spec_exts, sizeof(spec_exts));
	exts[N(exts) - 1] = 0xfafa;
	static const uint16_t versions[] = {0x7a7a, 0x0304, 0x0303};
	static const uint16_t g[] = {0xdada, 0x001d, 0x0017, 0x0018};
	uint16_t sig[N(spec_sigalgs) + 1] = {0x8a8a};
	memcpy(sig + 1, spec_sigalgs, sizeof(spec_sigalgs));
	struct ch h = spec_hello();
	h.suites = U16S(suites);
	h.exts = U16S(exts);
	h.versions = U16S(versions);
	h.groups = U16S(g);
	h.sigalgs = U16S(sig);
	check(&h, SPEC_JA4, SPEC_JA4_R, SPEC_JA3, SPEC_JA3_R);
	/* a value next to GREASE's pattern is kept: 0x0a1a, 0x1a0a */
	static const uint16_t near[] = {0x0a1a, 0x1a0a, 0x1301};
	struct ch n = {
		.legacy = 0x0303,
		.suites = U16S(near),
		.no_exts = true,
	};
	check(&n, "t12i030000_8015aea48dc0_000000000000",
	      "t12i030000_0a1a,1301,1a0a_", "acefbe4082eecdf55e35785f83fed212",
	      "771,2586-6666-4865,,,");
}

/* No SNI (an IP address), no ALPN, no signature algorithms: "i", "00",
 * and an extension list hashed without the '_' part. */
static void test_no_sni_no_alpn(void **state)
{
	(void)state;
	static const uint16_t suites[] = {0xc02f, 0x00ff};
	static const uint16_t exts[] = {0x000b, 0x000a, 0x0023, 0x0017};
	static const uint8_t formats[] = {0, 1, 2};
	struct ch h = {
		.legacy = 0x0303,
		.suites = U16S(suites),
		.exts = U16S(exts),
		.groups = U16S(groups),
		.formats = formats,
		.nformats = N(formats),
	};
	check(&h, "t12i020400_b06afd972a5c_6a8990167ab8",
	      "t12i020400_00ff,c02f_000a,000b,0017,0023",
	      "1bd563b635847e5d741ad7c632423ce3",
	      "771,49199-255,11-10-35-23,29-23-24,0-1-2");
}

/* Only server_name and ALPN: counted (02) but left out of the extension
 * hash, which is then empty: twelve zeros.  http/1.1 gives "h1". */
static void test_only_sni_alpn(void **state)
{
	(void)state;
	static const uint16_t suites[] = {0x1301};
	static const uint16_t exts[] = {0x0000, 0x0010};
	struct ch h = {
		.legacy = 0x0303,
		.suites = U16S(suites),
		.exts = U16S(exts),
		.alpn = "http/1.1",
	};
	check(&h, "t12d0102h1_0f2cb44170f4_000000000000", "t12d0102h1_1301_",
	      "33b746a27502e1c870d11cfc1893be87", "771,4865,0-16,,");
}

/* The pre-TLS 1.2 form without extensions: the version from
 * legacy_version, every list empty. */
static void test_no_extensions(void **state)
{
	(void)state;
	static const uint16_t suites[] = {0x0035, 0x002f, 0x000a};
	struct ch h = {
		.legacy = 0x0301,
		.suites = U16S(suites),
		.no_exts = true,
	};
	check(&h, "t10i030000_5704bdfc91c6_000000000000",
	      "t10i030000_000a,002f,0035_", "d03688c92e36c87cd9bdbba5c3368d5b",
	      "769,53-47-10,,,");
	/* cipher suites that are all GREASE: none counted, none hashed */
	static const uint16_t g[] = {0x0a0a, 0x2a2a};
	h.suites = U16S(g);
	h.legacy = 0x0300;
	check(&h, "ts3i000000_000000000000_000000000000", "ts3i000000__",
	      "ba12b548d225aa7163af96c47205964e", "768,,,,");
}

/* ALPN first and last characters (JA4.md, "ALPN Extension Value"): ASCII
 * letters and digits as they are; otherwise the first and last digits of
 * the name in hex; a one-byte name gives its character twice. */
static void test_alpn_characters(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t len;
		const char *two;
	} cases[] = {
		{"h2", 2, "h2"},
		{"http/1.1", 8, "h1"},
		{"spdy/3", 6, "s3"},
		{"a", 1, "aa"},
		{"\xab", 1, "ab"},
		{" ", 1, "20"},
		{"\xab\xcd", 2, "ad"},
		{" a", 2, "21"},
		{"0\xab", 2, "3b"},
		{"a ", 2, "60"},
		{"01\xab\xcd", 4, "3d"},
		{"0\xab\xcd"
		 "1",
		 4, "01"},
		{"h2\xff", 3, "6f"},
	};
	static const uint16_t suites[] = {0x1301};
	static const uint16_t exts[] = {0x0010};
	for (size_t i = 0; i < N(cases); i++) {
		struct ch h = {
			.legacy = 0x0303,
			.suites = U16S(suites),
			.exts = U16S(exts),
			.alpn = cases[i].name,
			.alpn_len = cases[i].len,
		};
		struct evlog l;
		char *line = client_line(&h, TT_INFO, &l);
		char want[64];
		snprintf(want, sizeof(want),
			 "\"ja4\":\"t12i0101%s_0f2cb44170f4_000000000000\"",
			 cases[i].two);
		assert_has(line, want);
		evlog_free(&l);
	}
}

/* Counts are capped at 99; a list longer than the decoder's inline sort
 * buffer (128) is sorted on the heap; a raw form longer than its 4096
 * bytes is left out and the event marked truncated, the digests staying
 * exact. */
static void test_many_suites(void **state)
{
	(void)state;
	static uint16_t suites[1500];
	for (size_t i = 0; i < N(suites); i++)
		suites[i] = (uint16_t)(N(suites) - i); /* 1500 down to 1 */
	struct ch h = {
		.legacy = 0x0303,
		.suites = {suites, 200},
		.no_exts = true,
	};
	struct evlog l;
	char *line = client_line(&h, TT_DEBUG, &l);
	assert_has(line, "\"ja4\":\"t12i990000_");
	/* the sorted list: 0x0515 (1301) to 0x05dc (1500) */
	assert_has(line, "\"ja4_r\":\"t12i990000_0515,0516,0517,");
	assert_has(line, ",05da,05db,05dc_\"");
	assert_has(line, "\"ja4\":\"t12i990000_9538b60bfca4_000000000000\"");
	assert_lacks(line, "\"truncated\"");
	evlog_free(&l);

	h.suites.n = 1500;
	line = client_line(&h, TT_DEBUG, &l);
	assert_has(line, "\"truncated\":true");
	assert_has(line, "\"ja4\":\"t12i990000_8e1a96439197_000000000000\"");
	assert_lacks(line, "\"ja4_r\"");
	assert_lacks(line, "\"ja3_r\"");
	assert_has(line, "\"ja3\":\"");
	evlog_free(&l);
}

/* A ClientHello whose event is not written (level, or TLSTRACE_EVENTS
 * without it) is decoded the same, with nothing emitted. */
static void test_not_written(void **state)
{
	(void)state;
	struct ch h = spec_hello();
	static struct buf b;
	build(&b, &h);
	struct tt_conn c;
	tt_conn_init(&c);
	struct evlog l;
	evlog_init(&l, TT_WARN);
	assert_int_equal(tt_hs_client_hello(&c, TT_OUT, b.b, b.n, &l.em),
			 TT_OK);
	assert_int_equal(l.n, 0);
	evlog_free(&l);
	struct tt_evfilter f;
	tt_evfilter_init(&f);
	tt_evfilter_add(&f, TT_EVN_SUMMARY);
	evlog_init(&l, TT_TRACE);
	l.em.events = &f;
	assert_int_equal(tt_hs_client_hello(&c, TT_OUT, b.b, b.n, &l.em),
			 TT_OK);
	assert_int_equal(l.n, 0);
	evlog_free(&l);
	tt_conn_release(&c);
}

/* JA3S: version,cipher,extensions of a ServerHello. */
static void server_hello(struct buf *b, uint16_t legacy, uint16_t cipher,
			 const uint16_t *exts, size_t n)
{
	b->n = 0;
	put16(b, legacy);
	for (int i = 0; i < 32; i++)
		put8(b, (unsigned)(i + 100));
	put8(b, 0);
	put16(b, cipher);
	put8(b, 0);
	if (!exts)
		return;
	size_t at = open16(b);
	for (size_t i = 0; i < n; i++) {
		put16(b, exts[i]);
		size_t e = open16(b);
		if (exts[i] == 0xff01)
			put8(b, 0);
		else if (exts[i] == 0x002b)
			put16(b, 0x0304);
		else if (exts[i] == 0x0033) {
			put16(b, 0x001d);
			put16(b, 1);
			put8(b, 7);
		}
		close16(b, e);
	}
	close16(b, at);
}

static void check_server(const struct buf *b, const char *ja3s,
			 const char *ja3s_r)
{
	static const enum tt_level levels[] = {TT_INFO, TT_DEBUG};
	for (size_t i = 0; i < N(levels); i++) {
		struct tt_conn c;
		tt_conn_init(&c);
		struct evlog l;
		evlog_init(&l, levels[i]);
		assert_int_equal(
			tt_hs_server_hello(&c, TT_IN, b->b, b->n, &l.em),
			TT_OK);
		char want[512];
		if (levels[i] == TT_INFO)
			snprintf(want, sizeof(want), ",\"ja3s\":\"%s\"}", ja3s);
		else
			snprintf(want, sizeof(want),
				 ",\"ja3s\":\"%s\",\"ja3s_r\":\"%s\"}", ja3s,
				 ja3s_r);
		assert_has(l.lines[0], want);
		tt_conn_release(&c);
		evlog_free(&l);
	}
}

static void test_ja3s(void **state)
{
	(void)state;
	static struct buf b;
	static const uint16_t tls12[] = {0xff01, 0x0000, 0x000b, 0x0023,
					 0x0017};
	server_hello(&b, 0x0303, 0xc02f, tls12, N(tls12));
	check_server(&b, "098e26e2609212ac1bfac552fbe04127",
		     "771,49199,65281-0-11-35-23");
	/* TLS 1.3: the legacy version, GREASE left out */
	static const uint16_t tls13[] = {0x2a2a, 0x002b, 0x0033};
	server_hello(&b, 0x0303, 0x1301, tls13, N(tls13));
	check_server(&b, "f4febc55ea12b31ae17cfb7e614afda8", "771,4865,43-51");
	/* no extension block */
	server_hello(&b, 0x0301, 0x002f, NULL, 0);
	check_server(&b, "18e962e106761869a61045bed0e81c2c", "769,47,");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_grease),
		cmocka_unit_test(test_no_sni_no_alpn),
		cmocka_unit_test(test_only_sni_alpn),
		cmocka_unit_test(test_no_extensions),
		cmocka_unit_test(test_alpn_characters),
		cmocka_unit_test(test_many_suites),
		cmocka_unit_test(test_not_written),
		cmocka_unit_test(test_ja3s),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
