/* STARTTLS (decoder/starttls): the detector on first bytes, and the
 * follower fed transcripts of real sessions byte for byte, as the
 * traced client and as the traced server: the upgrade accepted (then a
 * real TLS handshake, made by OpenSSL in memory, decoded as without
 * STARTTLS), refused, never asked; every split of a transcript; the
 * ClientHello in the chunk of the request; bytes between the request and
 * its answer (command injection); the cap; the end of a connection
 * while following.  Events are compared whole.
 *
 * The transcripts are what these servers and clients send: Postfix,
 * Dovecot (IMAP, POP3, LMTP, ManageSieve), vsftpd and FileZilla Server,
 * INN, Prosody, OpenLDAP with ldapsearch -ZZ, PostgreSQL with libpq,
 * MySQL 8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"
#include "tlsgen.h"

/* One write of a transcript. */
struct step {
	int srv; /* sent by the server */
	const uint8_t *p;
	size_t n;
};
#define CL(text)                                                               \
	{                                                                      \
		0, (const uint8_t *)(text), sizeof(text) - 1                   \
	}
#define SV(text)                                                               \
	{                                                                      \
		1, (const uint8_t *)(text), sizeof(text) - 1                   \
	}
#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- expected lines ---- */

static char want_buf[4][2048];
static int want_i;

/* The whole JSON line evlog makes of an event: fields is the text after
 * "event": up to the closing brace. */
static const char *line(const char *level, const char *dir, const char *fields)
{
	char *b = want_buf[want_i++ & 3];
	snprintf(b, sizeof(want_buf[0]),
		 "{\"ts\":\"1970-01-01T00:00:00.000000Z\",\"level\":\"%s\","
		 "\"pid\":1,\"tid\":1,\"conn\":1,\"fd\":3,\"local\":\"127.0.0."
		 "1:1\",\"peer\":\"127.0.0.1:2\",\"role\":\"unknown\","
		 "\"dir\":\"%s\",\"event\":%s}",
		 level, dir, fields);
	return b;
}

static void expect_line(const struct evlog *l, size_t i, const char *want)
{
	if (i >= l->n)
		fail_msg("line %zu missing, want\n  %s", i, want);
	if (strcmp(l->lines[i], want) != 0)
		fail_msg("line %zu\n  got  %s\n  want %s", i, l->lines[i],
			 want);
}

/* ---- feeding ---- */

struct run {
	struct tt_conn c;
	enum tt_first first;
	bool decided; /* the first call was made */
	bool traced;  /* and its bytes made a connection */
	tt_rc last;
	long long clear[2]; /* bytes of the transcript, per direction */
};

static enum tt_dir dir_of(int srv, int as_server)
{
	return (srv != 0) == (as_server != 0) ? TT_OUT : TT_IN;
}

static void feed(struct run *r, enum tt_dir dir, const uint8_t *p, size_t n,
		 struct evlog *l)
{
	if (!r->decided) {
		/* as the shim does: the first call's bytes decide */
		struct tt_first_guess g;
		r->decided = true;
		r->first = tt_conn_first(p, n < TT_STLS_HEAD ? n : TT_STLS_HEAD,
					 &g);
		tt_conn_init(&r->c);
		if (r->first == TT_FIRST_NONE)
			return;
		if (r->first != TT_FIRST_TLS)
			assert_true(tt_conn_follow(&r->c, dir, r->first, &g));
		r->traced = true;
	}
	if (!r->traced)
		return;
	if (tt_conn_waiting(&r->c))
		tt_conn_drain(&r->c, &l->em);
	r->last = tt_conn_feed(&r->c, dir, p, n, &l->em);
}

/* Feeds the transcript in order, as the client or the server, each
 * write cut in pieces of piece bytes, step cut_step (if any) once more
 * at cut_at. */
/* The fewest bytes of a transcript's first feed: a MySQL greeting is
 * only recognised from its first three bytes on (a client reads the
 * 4-byte packet header at least), so its transcripts are cut after 4. */
static size_t first_min = 1;

static void play_cut(struct run *r, const struct step *st, size_t n,
		     int as_server, size_t piece, size_t cut_step,
		     size_t cut_at, struct evlog *l)
{
	for (size_t i = 0; i < n; i++) {
		enum tt_dir dir = dir_of(st[i].srv, as_server);
		r->clear[dir] += (long long)st[i].n;
		size_t o = 0;
		while (o < st[i].n) {
			size_t k = st[i].n - o < piece ? st[i].n - o : piece;
			if (i == 0 && o == 0 && k < first_min)
				k = st[i].n < first_min ? st[i].n : first_min;
			if (i == cut_step && o < cut_at && o + k > cut_at)
				k = cut_at - o;
			feed(r, dir, st[i].p + o, k, l);
			o += k;
		}
	}
}

static void play(struct run *r, const struct step *st, size_t n, int as_server,
		 size_t piece, struct evlog *l)
{
	memset(r, 0, sizeof(*r));
	play_cut(r, st, n, as_server, piece, (size_t)-1, 0, l);
}

/* The rest of the connection: the TLS exchange r, in its real order. */
static void play_tls(struct run *r, const struct tlsgen_result *t,
		     int as_server, size_t piece, struct evlog *l)
{
	evlog_replay(t, as_server, &r->c, l, piece);
}

static void end(struct run *r, struct evlog *l)
{
	struct tt_end_info ei = {.how = TT_END_LOCAL_CLOSE,
				 .dir = TT_OUT,
				 .call = "close"};
	if (r->traced)
		tt_conn_end(&r->c, &ei, &l->em);
}

static void done(struct run *r)
{
	tt_conn_release(&r->c);
}

/* ---- the TLS after the upgrade ---- */

static struct tlsgen_result tls12;

static int setup(void **state)
{
	(void)state;
	struct tlsgen_opts o = {.version = TLSGEN_TLS12,
				.sni = "localhost",
				.app_bytes = 20,
				.close_notify = 1};
	return evlog_tlsgen(&o, &tls12);
}

static int teardown(void **state)
{
	(void)state;
	tlsgen_free(&tls12);
	tlsgen_cleanup();
	return 0;
}

/* The lines of the TLS exchange alone, as a connection that starts with
 * it; the summary is left out. */
static void tls_alone(int as_server, struct evlog *ref)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	play_tls(&r, &tls12, as_server, (size_t)-1, ref);
	done(&r);
}

/* A transcript that upgrades, then the TLS exchange, then the close: the
 * starttls line (want), then exactly the lines of the TLS exchange
 * alone, then the summary, with "starttls":proto and the cleartext
 * counted in its bytes. */
static void upgrade(const struct step *st, size_t n, int as_server,
		    size_t piece, const char *want, const char *proto)
{
	struct evlog l, ref;
	evlog_init(&l, TT_DEBUG);
	evlog_init(&ref, TT_DEBUG);
	struct run r;
	play(&r, st, n, as_server, piece, &l);
	assert_true(r.traced);
	if (r.last != TT_OK)
		fail_msg("rc %d as %s, pieces of %zd: %s", r.last,
			 as_server ? "server" : "client", (ssize_t)piece,
			 l.n ? l.lines[l.n - 1] : "no line");
	assert_null(r.c.stls); /* nothing left to follow */
	play_tls(&r, &tls12, as_server, piece, &l);
	tls_alone(as_server, &ref);
	expect_line(&l, 0, want);
	for (size_t i = 0; i < ref.n; i++)
		expect_line(&l, i + 1, ref.lines[i]);
	end(&r, &l);
	assert_int_equal(l.n, ref.n + 3); /* connection_closed, summary */
	const char *sum = l.lines[l.n - 1];
	char want_sum[128];
	snprintf(want_sum, sizeof(want_sum),
		 "\"version\":\"TLS 1.2\",\"cipher\":\"%s\",\"sni\":"
		 "\"localhost\",\"starttls\":\"%s\",",
		 tls12.cipher, proto);
	if (!strstr(sum, want_sum))
		fail_msg("summary %s\nwithout %s", sum, want_sum);
	char bytes[96];
	enum tt_dir c2s = as_server ? TT_IN : TT_OUT;
	snprintf(bytes, sizeof(bytes), "\"bytes_in\":%lld,\"bytes_out\":%lld",
		 r.clear[TT_IN] + (long long)(c2s == TT_IN ? tls12.c2s.len
							   : tls12.s2c.len),
		 r.clear[TT_OUT] + (long long)(c2s == TT_OUT ? tls12.c2s.len
							     : tls12.s2c.len));
	if (!strstr(sum, bytes))
		fail_msg("summary %s\nwithout %s", sum, bytes);
	done(&r);
	evlog_free(&l);
	evlog_free(&ref);
}

/* Upgrades as the client and as the server, whole, byte by byte and in
 * 7-byte pieces. */
static void upgrade_all(const struct step *st, size_t n, const char *fields,
			const char *proto)
{
	static const size_t pieces[] = {(size_t)-1, 1, 7};
	for (int as_server = 0; as_server < 2; as_server++)
		for (size_t k = 0; k < 3; k++)
			upgrade(st, n, as_server, pieces[k],
				line("info", as_server ? "in" : "out", fields),
				proto);
}

/* A transcript that ends following without TLS with one line, of
 * level level, dir the client's (or, server_dir, the server's), fields
 * fields (NULL: no line at all), and at debug the starttls_stop line
 * stop after it (NULL: none).  Played at info and at debug, as the
 * client and as the server.  After it every feed is TT_PLAIN and the
 * end of the connection says nothing. */
static void no_upgrade_dir(const struct step *st, size_t n, const char *level,
			   const char *fields, const char *stop,
			   bool server_dir)
{
	for (int as_server = 0; as_server < 2; as_server++) {
		bool out = (as_server != 0) == server_dir;
		for (int debug = 0; debug < 2; debug++) {
			struct evlog l;
			evlog_init(&l, debug ? TT_DEBUG : TT_INFO);
			struct run r;
			play(&r, st, n, as_server, (size_t)-1, &l);
			assert_true(r.traced);
			assert_int_equal(r.last, TT_PLAIN);
			assert_true(r.c.plain);
			assert_null(r.c.stls);
			feed(&r, TT_IN, (const uint8_t *)"\x16\x03\x01", 3, &l);
			assert_int_equal(r.last, TT_PLAIN);
			end(&r, &l);
			const char *dir = out ? "out" : "in";
			bool shown = fields &&
				     (debug || strcmp(level, "debug"));
			size_t k = 0;
			if (shown)
				expect_line(&l, k++, line(level, dir, fields));
			if (stop && debug)
				expect_line(&l, k++, line("debug", dir, stop));
			assert_int_equal(l.n, k);
			done(&r);
			evlog_free(&l);
		}
	}
}

static void no_upgrade(const struct step *st, size_t n, const char *level,
		       const char *fields)
{
	no_upgrade_dir(st, n, level, fields, NULL, false);
}

#define STOP(proto, why)                                                       \
	"\"starttls_stop\",\"protocol\":\"" proto "\",\"reason\":\"" why "\""
#define WENT_ON "the session went on without an upgrade"

/* ---- the detector ---- */

static enum tt_first first_of(const char *p, size_t n, uint8_t *proto,
			      bool *from_server)
{
	struct tt_first_guess g = {0, false};
	enum tt_first f = tt_conn_first((const uint8_t *)p, n, &g);
	*proto = g.proto;
	*from_server = g.from_server;
	return f;
}

#define FIRST(text, want, want_proto, want_server)                             \
	do {                                                                   \
		uint8_t proto_;                                                \
		bool server_;                                                  \
		enum tt_first f_ =                                             \
			first_of(text, sizeof(text) - 1, &proto_, &server_);   \
		if (f_ != (want))                                              \
			fail_msg("%s: %d, want %d", #text, f_, want);          \
		if ((want) == TT_FIRST_FOLLOW) {                               \
			assert_int_equal(proto_, want_proto);                  \
			assert_int_equal(server_, want_server);                \
		}                                                              \
	} while (0)

static void test_detect(void **state)
{
	(void)state;
	/* TLS first, as before */
	FIRST("\x16\x03\x01\x02\x00\x01", TT_FIRST_TLS, 0, 0);
	FIRST("\x16", TT_FIRST_TLS, 0, 0);
	FIRST("\x15\x03\x03\x00\x02", TT_FIRST_TLS, 0, 0);
	/* greetings */
	FIRST("220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
	      TT_FIRST_FOLLOW, TT_STLS_FAMILY_220, true);
	FIRST("220-FileZilla Server 1.7.0\r\n", TT_FIRST_FOLLOW,
	      TT_STLS_FAMILY_220, true);
	FIRST("220\r\n", TT_FIRST_FOLLOW, TT_STLS_FAMILY_220, true);
	FIRST("200 news.example.com InterNetNews server INN 2.7.1 ready\r\n",
	      TT_FIRST_FOLLOW, TT_STARTTLS_NNTP, true);
	FIRST("201 news.example.com ready (no posting)\r\n", TT_FIRST_FOLLOW,
	      TT_STARTTLS_NNTP, true);
	FIRST("* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n",
	      TT_FIRST_FOLLOW, TT_STARTTLS_IMAP, true);
	FIRST("* PREAUTH IMAP4rev1 server logged in as alice\r\n",
	      TT_FIRST_FOLLOW, TT_STARTTLS_IMAP, true);
	FIRST("+OK Dovecot (Debian) ready.\r\n", TT_FIRST_FOLLOW,
	      TT_STARTTLS_POP3, true);
	FIRST("\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n", TT_FIRST_FOLLOW,
	      TT_STARTTLS_SIEVE, true);
	FIRST("\"SIEVE\" \"fileinto reject\"\r\n", TT_FIRST_FOLLOW,
	      TT_STARTTLS_SIEVE, true);
	/* client first words */
	FIRST("<?xml version='1.0'?><stream:stream", TT_FIRST_FOLLOW,
	      TT_STARTTLS_XMPP, false);
	FIRST("<stream:stream xmlns='jabber:client'", TT_FIRST_FOLLOW,
	      TT_STARTTLS_XMPP, false);
	FIRST("\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
	      "1.3.6.1.4.1.1466.20037",
	      TT_FIRST_FOLLOW, TT_STARTTLS_LDAP, false);
	FIRST("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00",
	      TT_FIRST_FOLLOW, TT_STARTTLS_LDAP, false);
	FIRST("\x30\x84\x00\x00\x00\x0c\x02\x04\x00\x00\x00\x01\x63",
	      TT_FIRST_FOLLOW, TT_STARTTLS_LDAP, false);
	FIRST("\x00\x00\x00\x08\x04\xd2\x16\x2f", TT_FIRST_FOLLOW,
	      TT_STARTTLS_POSTGRESQL, false);
	FIRST("\x00\x00\x00\x08\x04\xd2\x16\x30", TT_FIRST_FOLLOW,
	      TT_STARTTLS_POSTGRESQL, false);
	FIRST("\x4a\x00\x00\x00\x0a"
	      "8.0.36\0"
	      "\x0b\x00\x00\x00"
	      "abcdefgh\0\xff\xff",
	      TT_FIRST_FOLLOW, TT_STARTTLS_MYSQL, true);
	FIRST("\x5b\x00\x00\x00\x0a"
	      "5.5.5-10.11.6-MariaDB-0+deb12u1\0"
	      "\x03\x00\x00\x00"
	      "abcdefgh\0\xfe\xf7",
	      TT_FIRST_FOLLOW, TT_STARTTLS_MYSQL, true);
	/* too few bytes to tell: followed until they do */
	FIRST("2", TT_FIRST_MORE, 0, 0);
	FIRST("22", TT_FIRST_MORE, 0, 0);
	FIRST("220", TT_FIRST_MORE, 0, 0);
	FIRST("* ", TT_FIRST_MORE, 0, 0);
	FIRST("+O", TT_FIRST_MORE, 0, 0);
	FIRST("\"IMPL", TT_FIRST_MORE, 0, 0);
	FIRST("<?x", TT_FIRST_MORE, 0, 0);
	FIRST("<stream:str", TT_FIRST_MORE, 0, 0);
	FIRST("\x00\x00\x00\x08\x04", TT_FIRST_MORE, 0, 0);
	FIRST("\x30", TT_FIRST_MORE, 0, 0);
	FIRST("\x30\x1d\x02\x01", TT_FIRST_MORE, 0, 0);
	FIRST("\x4a\x00\x00\x00", TT_FIRST_MORE, 0, 0); /* a MySQL header */
	FIRST("\x4a\x00\x00", TT_FIRST_MORE, 0, 0);	/* its length */
	/* one or two bytes that start no other protocol: no protocol (a
	 * MySQL greeting is told from its length, three bytes) */
	FIRST("J", TT_FIRST_NONE, 0, 0);
	FIRST("\x4a\x00", TT_FIRST_NONE, 0, 0);
	FIRST("GE", TT_FIRST_NONE, 0, 0);
	FIRST("a", TT_FIRST_NONE, 0, 0);
	/* neither */
	FIRST("GET / HTTP/1.1\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("HTTP/1.1 200 OK\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", TT_FIRST_NONE, 0,
	      0);
	FIRST("221 bye\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("2200 x\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("220 \x01\x02\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("* BYE server shutting down\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("-ERR no\r\n", TT_FIRST_NONE, 0, 0);
	FIRST("<html>", TT_FIRST_NONE, 0, 0);
	/* a PostgreSQL StartupMessage (sslmode=disable), CancelRequest */
	FIRST("\x00\x00\x00\x29\x00\x03\x00\x00user\0", TT_FIRST_NONE, 0, 0);
	FIRST("\x00\x00\x00\x10\x04\xd2\x16\x2e", TT_FIRST_NONE, 0, 0);
	FIRST("\x30\x0c\x02\x01\x01\x61", TT_FIRST_NONE, 0, 0); /* response */
	FIRST("0123456789\r\n", TT_FIRST_NONE, 0, 0);
	/* a MySQL error packet instead of a greeting */
	FIRST("\x17\x00\x00\x00\xff\x10\x04Too many connections", TT_FIRST_NONE,
	      0, 0);
}

/* ---- SMTP, LMTP ---- */

static const struct step smtp[] = {
	SV("220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n"),
	CL("EHLO client.example.org\r\n"),
	SV("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	   "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
	   "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
	   "250-SMTPUTF8\r\n250 CHUNKING\r\n"),
	CL("STARTTLS\r\n"),
	SV("220 2.0.0 Ready to start TLS\r\n"),
};
#define SMTP_OK                                                                \
	"\"starttls\",\"protocol\":\"smtp\",\"by\":\"client\",\"result\":"     \
	"\"accepted\",\"request\":\"STARTTLS\",\"reply\":\"220 2.0.0 Ready "   \
	"to start TLS\""

static void test_smtp(void **state)
{
	(void)state;
	upgrade_all(smtp, NSTEPS(smtp), SMTP_OK, "smtp");

	static const struct step refused[] = {
		smtp[0],
		smtp[1],
		smtp[2],
		smtp[3],
		SV("454 4.7.0 TLS not available due to local problem\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"smtp\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"STARTTLS\",\"reply\":"
		   "\"454 4.7.0 TLS not available due to local problem\"");

	static const struct step plain[] = {
		smtp[0],
		smtp[1],
		smtp[2],
		CL("MAIL FROM:<alice@example.org>\r\n"),
		SV("250 2.1.0 Ok\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("smtp", WENT_ON));
}

static void test_lmtp(void **state)
{
	(void)state;
	static const struct step lmtp[] = {
		SV("220 mail.example.com Dovecot ready.\r\n"),
		CL("LHLO client.example.org\r\n"),
		SV("250-mail.example.com\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
		   "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
		   "250-STARTTLS\r\n250 SMTPUTF8\r\n"),
		CL("STARTTLS\r\n"),
		SV("220 2.0.0 Begin TLS.\r\n"),
	};
	upgrade_all(lmtp, NSTEPS(lmtp),
		    "\"starttls\",\"protocol\":\"lmtp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"STARTTLS\","
		    "\"reply\":\"220 2.0.0 Begin TLS.\"",
		    "lmtp");
}

/* Every split of every write of the SMTP session, then the TLS
 * exchange: the same lines as fed whole. */
static void test_smtp_every_split(void **state)
{
	(void)state;
	for (int as_server = 0; as_server < 2; as_server++) {
		struct evlog ref, l;
		evlog_init(&ref, TT_TRACE);
		evlog_init(&l, TT_TRACE);
		struct run r;
		play(&r, smtp, NSTEPS(smtp), as_server, (size_t)-1, &ref);
		play_tls(&r, &tls12, as_server, (size_t)-1, &ref);
		end(&r, &ref);
		done(&r);
		assert_true(ref.n > 10);
		for (size_t i = 0; i < NSTEPS(smtp); i++) {
			for (size_t k = 1; k < smtp[i].n; k++) {
				evlog_clear(&l);
				memset(&r, 0, sizeof(r));
				play_cut(&r, smtp, NSTEPS(smtp), as_server,
					 (size_t)-1, i, k, &l);
				play_tls(&r, &tls12, as_server, (size_t)-1, &l);
				end(&r, &l);
				done(&r);
				if (!evlog_same(&ref, &l))
					fail_msg("write %zu cut at %zu", i, k);
			}
		}
		evlog_free(&ref);
		evlog_free(&l);
	}
}

/* A line over the buffer is judged by its start. */
static void test_smtp_long_line(void **state)
{
	(void)state;
	static char ehlo[1200];
	memset(ehlo, 'a', sizeof(ehlo));
	memcpy(ehlo, "EHLO ", 5);
	memcpy(ehlo + sizeof(ehlo) - 2, "\r\n", 2);
	const struct step st[] = {
		smtp[0], {0, (const uint8_t *)ehlo, sizeof(ehlo)},
		smtp[2], smtp[3],
		smtp[4],
	};
	upgrade_all(st, NSTEPS(st), SMTP_OK, "smtp");
}

/* ---- the undecided start ---- */

static void test_short_first_chunk(void **state)
{
	(void)state;
	/* "220" split over calls: byte by byte is in upgrade_all; here the
	 * first read takes 2 bytes, the next the rest */
	for (int as_server = 0; as_server < 2; as_server++) {
		struct evlog l;
		evlog_init(&l, TT_INFO);
		struct run r;
		memset(&r, 0, sizeof(r));
		play_cut(&r, smtp, NSTEPS(smtp), as_server, (size_t)-1, 0, 2,
			 &l);
		assert_int_equal(r.first, TT_FIRST_MORE);
		assert_int_equal(l.n, 1);
		expect_line(&l, 0,
			    line("info", as_server ? "in" : "out", SMTP_OK));
		done(&r);
		evlog_free(&l);
	}
	/* the start of a greeting, then something else */
	static const struct step other[] = {SV("2"), SV("xx yy\r\n")};
	no_upgrade_dir(other, NSTEPS(other), "debug",
		       "\"starttls_stop\",\"reason\":\"the first bytes are "
		       "no protocol tlstrace follows\"",
		       NULL, true);
	/* the other side speaks first */
	static const struct step turn[] = {SV("22"), CL("EHLO x\r\n")};
	no_upgrade_dir(turn, NSTEPS(turn), "debug",
		       "\"starttls_stop\",\"reason\":\"the other side "
		       "spoke before the first bytes were recognised\"",
		       NULL, true);
}

/* ---- IMAP, POP3 ---- */

static const struct step imap[] = {
	SV("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
	   "LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Debian) ready.\r\n"),
	CL(". CAPABILITY\r\n"),
	SV("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
	   "LITERAL+ STARTTLS LOGINDISABLED\r\n. OK Pre-login capabilities "
	   "listed, post-login capabilities have more.\r\n"),
	CL(". STARTTLS\r\n"),
	SV(". OK Begin TLS negotiation now.\r\n"),
};

static void test_imap(void **state)
{
	(void)state;
	upgrade_all(imap, NSTEPS(imap),
		    "\"starttls\",\"protocol\":\"imap\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\". STARTTLS\","
		    "\"reply\":\". OK Begin TLS negotiation now.\"",
		    "imap");
	static const struct step tagged[] = {
		imap[0],
		CL("a001 CAPABILITY\r\n"),
		SV("* CAPABILITY IMAP4rev1 STARTTLS\r\na001 OK done\r\n"),
		CL("a002 STARTTLS\r\n"),
		/* an untagged line first, then the answer */
		SV("* OK still here\r\na002 OK Begin TLS negotiation now\r\n"),
	};
	upgrade_all(tagged, NSTEPS(tagged),
		    "\"starttls\",\"protocol\":\"imap\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"a002 STARTTLS\","
		    "\"reply\":\"a002 OK Begin TLS negotiation now\"",
		    "imap");
	static const struct step refused[] = {
		imap[0],
		CL("a1 STARTTLS\r\n"),
		SV("a1 BAD TLS support isn't enabled.\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"imap\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"a1 STARTTLS\","
		   "\"reply\":\"a1 BAD TLS support isn't enabled.\"");
	static const struct step plain[] = {
		imap[0],
		CL("a1 LOGIN alice secret\r\n"),
		SV("a1 OK Logged in\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("imap", WENT_ON));
}

static void test_pop3(void **state)
{
	(void)state;
	static const struct step pop3[] = {
		SV("+OK Dovecot (Debian) ready.\r\n"),
		CL("CAPA\r\n"),
		SV("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
		   "AUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
		CL("STLS\r\n"),
		SV("+OK Begin TLS negotiation now.\r\n"),
	};
	upgrade_all(pop3, NSTEPS(pop3),
		    "\"starttls\",\"protocol\":\"pop3\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"STLS\","
		    "\"reply\":\"+OK Begin TLS negotiation now.\"",
		    "pop3");
	static const struct step refused[] = {
		pop3[0],
		pop3[3],
		SV("-ERR Unknown command: STLS\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"pop3\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"STLS\","
		   "\"reply\":\"-ERR Unknown command: STLS\"");
	static const struct step plain[] = {
		pop3[0], pop3[1], pop3[2], CL("USER alice\r\n"), SV("+OK\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("pop3", WENT_ON));
}

/* ---- FTP, NNTP, ManageSieve ---- */

static void test_ftp(void **state)
{
	(void)state;
	static const struct step vsftpd[] = {
		SV("220 (vsFTPd 3.0.3)\r\n"),
		CL("AUTH TLS\r\n"),
		SV("234 Proceed with negotiation.\r\n"),
	};
	upgrade_all(vsftpd, NSTEPS(vsftpd),
		    "\"starttls\",\"protocol\":\"ftp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"AUTH TLS\","
		    "\"reply\":\"234 Proceed with negotiation.\"",
		    "ftp");
	/* a multi-line greeting and FEAT reply, AUTH SSL answered 334 */
	static const struct step filezilla[] = {
		SV("220-FileZilla Server 1.7.0\r\n220-Please visit "
		   "https://filezilla-project.org/\r\n220 \r\n"),
		CL("FEAT\r\n"),
		SV("211-Features:\r\n MDTM\r\n REST STREAM\r\n SIZE\r\n "
		   "AUTH SSL\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n"
		   "211 End\r\n"),
		CL("AUTH SSL\r\n"),
		SV("334 Using authentication type SSL\r\n"),
	};
	upgrade_all(filezilla, NSTEPS(filezilla),
		    "\"starttls\",\"protocol\":\"ftp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"AUTH SSL\","
		    "\"reply\":\"334 Using authentication type SSL\"",
		    "ftp");
	static const struct step multi[] = {
		vsftpd[0],
		CL("AUTH TLS\r\n"),
		SV("234-AUTH TLS successful\r\n234 Proceed.\r\n"),
	};
	upgrade_all(multi, NSTEPS(multi),
		    "\"starttls\",\"protocol\":\"ftp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"AUTH TLS\","
		    "\"reply\":\"234 Proceed.\"",
		    "ftp");
	static const struct step refused[] = {
		vsftpd[0],
		vsftpd[1],
		SV("530 Please login with USER and PASS.\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"ftp\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"AUTH TLS\","
		   "\"reply\":\"530 Please login with USER and PASS.\"");
	static const struct step plain[] = {
		vsftpd[0],
		CL("USER anonymous\r\n"),
		SV("331 Please specify the password.\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("ftp", WENT_ON));
}

static void test_nntp(void **state)
{
	(void)state;
	static const struct step inn[] = {
		SV("200 news.example.com InterNetNews server INN 2.7.1 ready "
		   "(posting ok)\r\n"),
		CL("CAPABILITIES\r\n"),
		SV("101 Capability list:\r\nVERSION 2\r\nIMPLEMENTATION INN "
		   "2.7.1\r\nAUTHINFO\r\nLIST ACTIVE ACTIVE.TIMES COUNTS "
		   "DISTRIB.PATS HEADERS MODERATORS MOTD NEWSGROUPS "
		   "OVERVIEW.FMT SUBSCRIPTIONS\r\nPOST\r\nREADER\r\n"
		   "STARTTLS\r\n.\r\n"),
		CL("STARTTLS\r\n"),
		SV("382 Begin TLS negotiation now\r\n"),
	};
	upgrade_all(inn, NSTEPS(inn),
		    "\"starttls\",\"protocol\":\"nntp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"STARTTLS\","
		    "\"reply\":\"382 Begin TLS negotiation now\"",
		    "nntp");
	static const struct step refused[] = {
		inn[0],
		inn[3],
		SV("580 Can not initiate TLS negotiation\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"nntp\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"STARTTLS\","
		   "\"reply\":\"580 Can not initiate TLS negotiation\"");
	static const struct step plain[] = {
		inn[0],
		CL("GROUP comp.lang.c\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("nntp", WENT_ON));
}

static void test_sieve(void **state)
{
	(void)state;
	static const struct step pigeonhole[] = {
		SV("\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SIEVE\" "
		   "\"fileinto reject envelope encoded-character vacation "
		   "subaddress comparator-i;ascii-numeric relational regex "
		   "imap4flags copy include variables body enotify "
		   "environment mailbox date index ihave duplicate mime "
		   "foreverypart extracttext\"\r\n\"NOTIFY\" \"mailto\"\r\n"
		   "\"SASL\" \"\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n"
		   "OK \"Dovecot ready.\"\r\n"),
		CL("CAPABILITY\r\n"),
		SV("\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"STARTTLS\"\r\n"
		   "OK \"Capability completed.\"\r\n"),
		CL("STARTTLS\r\n"),
		SV("OK \"Begin TLS negotiation now.\"\r\n"),
	};
	upgrade_all(pigeonhole, NSTEPS(pigeonhole),
		    "\"starttls\",\"protocol\":\"sieve\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"STARTTLS\","
		    "\"reply\":\"OK \\\"Begin TLS negotiation now.\\\"\"",
		    "sieve");
	static const struct step refused[] = {
		pigeonhole[0],
		pigeonhole[3],
		SV("NO \"TLS support isn't enabled.\"\r\n"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"sieve\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"STARTTLS\","
		   "\"reply\":\"NO \\\"TLS support isn't enabled.\\\"\"");
	static const struct step plain[] = {
		pigeonhole[0],
		CL("AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHNlY3JldA==\"\r\n"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("sieve", WENT_ON));
}

/* ---- XMPP ---- */

static const struct step xmpp[] = {
	CL("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	   "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
	   "version='1.0'>"),
	SV("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	   "xmlns:stream='http://etherx.jabber.org/streams' id='5e4a1b7c' "
	   "from='example.com' version='1.0' xml:lang='en'>"
	   "<stream:features><starttls "
	   "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
	   "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	   "<mechanism>PLAIN</mechanism></mechanisms></stream:features>"),
	CL("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
	SV("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
};

static void test_xmpp(void **state)
{
	(void)state;
	upgrade_all(xmpp, NSTEPS(xmpp),
		    "\"starttls\",\"protocol\":\"xmpp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"<starttls "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\",\"reply\":"
		    "\"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\"",
		    "xmpp");
	/* the long form, with whitespace between elements */
	static const struct step open[] = {
		xmpp[0],
		xmpp[1],
		CL("\n<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
		   "</starttls>\n"),
		SV("<proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\">"
		   "</proceed>"),
	};
	upgrade_all(open, NSTEPS(open),
		    "\"starttls\",\"protocol\":\"xmpp\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"<starttls "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>\","
		    "\"reply\":\"<proceed xmlns=\\\"urn:ietf:params:xml:ns:"
		    "xmpp-tls\\\">\"",
		    "xmpp");
	/* <proceed> opened, and the connection ends before its end tag:
	 * accepted is accepted, the connection was TLS */
	struct evlog l;
	evlog_init(&l, TT_DEBUG);
	struct run r;
	play(&r, open, 3, 0, (size_t)-1, &l);
	feed(&r, TT_IN, (const uint8_t *)"<proceed>", 9, &l);
	assert_int_equal(r.last, TT_OK);
	end(&r, &l);
	assert_false(r.c.plain);
	assert_int_equal(l.n, 3);
	expect_line(&l, 0,
		    line("info", "out",
			 "\"starttls\",\"protocol\":\"xmpp\",\"by\":"
			 "\"client\",\"result\":\"accepted\",\"request\":"
			 "\"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
			 "</starttls>\",\"reply\":\"<proceed>\""));
	assert_non_null(strstr(l.lines[2], "\"starttls\":\"xmpp\""));
	done(&r);
	evlog_free(&l);
	static const struct step refused[] = {
		xmpp[0],
		xmpp[1],
		xmpp[2],
		SV("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
		   "</stream:stream>"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"xmpp\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"<starttls "
		   "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\",\"reply\":"
		   "\"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\"");
	static const struct step plain[] = {
		xmpp[0],
		xmpp[1],
		CL("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
		   "mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA=</auth>"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("xmpp", WENT_ON));
}

/* ---- LDAP ---- */

#define LDAP_STARTTLS_OID "1.3.6.1.4.1.1466.20037"
static const struct step ldap[] = {
	/* ldapsearch -ZZ: ExtendedRequest, messageID 1 */
	CL("\x30\x1d\x02\x01\x01\x77\x18\x80\x16" LDAP_STARTTLS_OID),
	/* slapd: ExtendedResponse success, with the responseName */
	SV("\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16" LDAP_STARTTLS_OID),
};

static void test_ldap(void **state)
{
	(void)state;
	upgrade_all(ldap, NSTEPS(ldap),
		    "\"starttls\",\"protocol\":\"ldap\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"StartTLS extended "
		    "request\",\"reply\":\"0 success\"",
		    "ldap");
	/* a search of the root DSE first (its entry and done), then the
	 * request with messageID 2; a response to another ID is not the
	 * answer */
	static const struct step search[] = {
		CL("\x30\x25\x02\x01\x01\x63\x20\x04\x00\x0a\x01\x00\x0a\x01"
		   "\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0b"
		   "objectClass\x30\x00"),
		SV("\x30\x0c\x02\x01\x01\x64\x07\x04\x00\x30\x03\x04\x01\x78"),
		SV("\x30\x0c\x02\x01\x01\x65\x07\x0a\x01\x00\x04\x00\x04\x00"),
		CL("\x30\x1d\x02\x01\x02\x77\x18\x80\x16" LDAP_STARTTLS_OID),
		SV("\x30\x0c\x02\x01\x00\x78\x07\x0a\x01\x34\x04\x00\x04\x00"
		   "\x30\x0c\x02\x01\x02\x78\x07\x0a\x01\x00\x04\x00\x04\x00"),
	};
	upgrade_all(search, NSTEPS(search),
		    "\"starttls\",\"protocol\":\"ldap\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"StartTLS extended "
		    "request\",\"reply\":\"0 success\"",
		    "ldap");
	static const struct step refused[] = {
		ldap[0],
		SV("\x30\x2a\x02\x01\x01\x78\x25\x0a\x01\x02\x04\x00\x04\x1e"
		   "unsupported extended operation"),
	};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"ldap\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"StartTLS extended "
		   "request\",\"reply\":\"2 protocolError\"");
	static const struct step bind[] = {
		CL("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"),
		SV("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00"),
	};
	no_upgrade(bind, NSTEPS(bind), "debug", STOP("ldap", WENT_ON));
}

/* ---- PostgreSQL, MySQL ---- */

#define PG_SSL	  "\x00\x00\x00\x08\x04\xd2\x16\x2f"
#define PG_GSSENC "\x00\x00\x00\x08\x04\xd2\x16\x30"

static void test_postgresql(void **state)
{
	(void)state;
	static const struct step pg[] = {CL(PG_SSL), SV("S")};
	upgrade_all(pg, NSTEPS(pg),
		    "\"starttls\",\"protocol\":\"postgresql\",\"by\":"
		    "\"client\",\"result\":\"accepted\",\"request\":"
		    "\"SSLRequest\",\"reply\":\"S\"",
		    "postgresql");
	static const struct step refused[] = {CL(PG_SSL), SV("N")};
	no_upgrade(refused, NSTEPS(refused), "info",
		   "\"starttls\",\"protocol\":\"postgresql\",\"by\":\"client\","
		   "\"result\":\"refused\",\"request\":\"SSLRequest\","
		   "\"reply\":\"N\"");
	/* libpq with gssencmode=prefer: GSSENCRequest refused, then
	 * SSLRequest on the same socket */
	static const struct step gss[] = {CL(PG_GSSENC), SV("N"), CL(PG_SSL),
					  SV("S")};
	for (int as_server = 0; as_server < 2; as_server++) {
		const char *dir = as_server ? "in" : "out";
		struct evlog l;
		evlog_init(&l, TT_INFO);
		struct run r;
		play(&r, gss, NSTEPS(gss), as_server, 1, &l);
		assert_int_equal(r.last, TT_OK);
		assert_int_equal(l.n, 2);
		expect_line(&l, 0,
			    line("info", dir,
				 "\"starttls\",\"protocol\":\"postgresql\","
				 "\"by\":\"client\",\"result\":\"refused\","
				 "\"request\":\"GSSENCRequest\",\"reply\":"
				 "\"N\""));
		expect_line(&l, 1,
			    line("info", dir,
				 "\"starttls\",\"protocol\":\"postgresql\","
				 "\"by\":\"client\",\"result\":\"accepted\","
				 "\"request\":\"SSLRequest\",\"reply\":\"S\""));
		done(&r);
		evlog_free(&l);
	}
	/* GSSENCRequest refused, then the StartupMessage in clear */
	static const struct step plain[] = {
		CL(PG_GSSENC),
		SV("N"),
		CL("\x00\x00\x00\x25\x00\x03\x00\x00user\0alice\0database\0"
		   "app\0\0"),
	};
	no_upgrade_dir(
		plain, NSTEPS(plain), "info",
		"\"starttls\",\"protocol\":\"postgresql\",\"by\":\"client\","
		"\"result\":\"refused\",\"request\":\"GSSENCRequest\","
		"\"reply\":\"N\"",
		STOP("postgresql", WENT_ON), false);
	static const struct step gss_yes[] = {CL(PG_GSSENC), SV("G")};
	no_upgrade(gss_yes, NSTEPS(gss_yes), "debug",
		   STOP("postgresql",
			"GSSAPI encryption was accepted instead of TLS"));
}

/* MySQL 8.0.36's initial handshake packet, and the SSL request of its
 * client (CLIENT_SSL among the capabilities). */
#define MYSQL_GREETING                                                         \
	"\x4a\x00\x00\x00"                                                     \
	"\x0a"                                                                 \
	"8.0.36\0"                                                             \
	"\x0b\x00\x00\x00"                                                     \
	"\x1c\x43\x2f\x6d\x0e\x3a\x51\x06\x00"                                 \
	"\xff\xff\xff\x02\x00\xff\xdf\x15"                                     \
	"\0\0\0\0\0\0\0\0\0\0"                                                 \
	"\x32\x5c\x79\x1f\x2e\x46\x6a\x42\x13\x62\x05\x3c\x00"                 \
	"caching_sha2_password\0"
#define MYSQL_SSL_REQUEST                                                      \
	"\x20\x00\x00\x01"                                                     \
	"\x05\xae\xff\x01"                                                     \
	"\x00\x00\x00\x01"                                                     \
	"\xff"                                                                 \
	"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"

static void test_mysql(void **state)
{
	(void)state;
	assert_int_equal(sizeof(MYSQL_GREETING) - 1, 4 + 0x4a);
	assert_int_equal(sizeof(MYSQL_SSL_REQUEST) - 1, 4 + 32);
	static const struct step my[] = {SV(MYSQL_GREETING),
					 CL(MYSQL_SSL_REQUEST)};
	first_min = 4;
	upgrade_all(my, NSTEPS(my),
		    "\"starttls\",\"protocol\":\"mysql\",\"by\":\"client\","
		    "\"result\":\"accepted\",\"request\":\"SSL request "
		    "packet\"",
		    "mysql");
	first_min = 1;
	/* a greeting whose first read gave one byte: not followed */
	for (int as_server = 0; as_server < 2; as_server++) {
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		struct run r;
		play(&r, my, NSTEPS(my), as_server, 1, &l);
		assert_false(r.traced);
		assert_int_equal(l.n, 0);
		done(&r);
		evlog_free(&l);
	}
	/* a HandshakeResponse41 in clear (--ssl-mode=DISABLED) */
	static const struct step plain[] = {
		SV(MYSQL_GREETING),
		CL("\x3e\x00\x00\x01\x05\xa6\xff\x01\x00\x00\x00\x01\xff"
		   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		   "root\0\x00"
		   "caching_sha2_password\0\0"),
	};
	no_upgrade(plain, NSTEPS(plain), "debug", STOP("mysql", WENT_ON));
}

/* The SSL request and the ClientHello in one write (and so, often, in
 * one read at the server): the rest of the chunk goes to the record
 * layer. */
static void test_client_hello_same_chunk(void **state)
{
	(void)state;
	const struct tlsgen_step *ch = &tls12.steps[0];
	assert_int_equal(ch->from_server, 0);
	static uint8_t both[sizeof(MYSQL_SSL_REQUEST) - 1 + 4096];
	assert_true(ch->len <= 4096);
	memcpy(both, MYSQL_SSL_REQUEST, sizeof(MYSQL_SSL_REQUEST) - 1);
	memcpy(both + sizeof(MYSQL_SSL_REQUEST) - 1, tls12.c2s.data + ch->off,
	       ch->len);
	for (int as_server = 0; as_server < 2; as_server++) {
		struct evlog l, ref;
		evlog_init(&l, TT_DEBUG);
		evlog_init(&ref, TT_DEBUG);
		struct run r;
		const struct step st[] = {
			SV(MYSQL_GREETING),
			{0, both, sizeof(MYSQL_SSL_REQUEST) - 1 + ch->len}};
		play(&r, st, 2, as_server, (size_t)-1, &l);
		assert_int_equal(r.last, TT_OK);
		/* the rest of the exchange, after its ClientHello */
		struct tlsgen_result rest = tls12;
		rest.steps++;
		rest.nsteps--;
		play_tls(&r, &rest, as_server, (size_t)-1, &l);
		tls_alone(as_server, &ref);
		expect_line(&l, 0,
			    line("info", as_server ? "in" : "out",
				 "\"starttls\",\"protocol\":\"mysql\",\"by\":"
				 "\"client\",\"result\":\"accepted\","
				 "\"request\":\"SSL request packet\""));
		assert_int_equal(l.n, ref.n + 1);
		for (size_t i = 0; i < ref.n; i++)
			expect_line(&l, i + 1, ref.lines[i]);
		done(&r);
		evlog_free(&l);
		evlog_free(&ref);
	}
	/* SMTP: a client that sends its ClientHello with STARTTLS, without
	 * waiting: TLS in its direction at once, the answer then read */
	static uint8_t early[16 + 4096];
	memcpy(early, "STARTTLS\r\n", 10);
	memcpy(early + 10, tls12.c2s.data + ch->off, ch->len);
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct run r;
	const struct step st[] = {smtp[0],
				  smtp[1],
				  smtp[2],
				  {0, early, 10 + ch->len},
				  smtp[4]};
	play(&r, st, NSTEPS(st), 1, (size_t)-1, &l);
	struct tlsgen_result rest = tls12;
	rest.steps++;
	rest.nsteps--;
	play_tls(&r, &rest, 1, (size_t)-1, &l);
	struct evlog ref;
	evlog_init(&ref, TT_INFO);
	tls_alone(1, &ref);
	/* the lines of the TLS exchange alone, the answer's after the
	 * ClientHello's */
	assert_int_equal(l.n, ref.n + 1);
	expect_line(&l, 0, ref.lines[0]);
	expect_line(&l, 1, line("info", "in", SMTP_OK));
	for (size_t i = 1; i < ref.n; i++)
		expect_line(&l, i + 1, ref.lines[i]);
	done(&r);
	evlog_free(&l);
	evlog_free(&ref);
}

/* Bytes after the answer, in its chunk, are TLS's: cleartext there (a
 * server's reply slipped behind the answer) is no TLS record. */
static void test_cleartext_after_answer(void **state)
{
	(void)state;
	static const struct step st[] = {
		smtp[0],
		smtp[1],
		smtp[2],
		smtp[3],
		SV("220 2.0.0 Ready to start TLS\r\n250 injected\r\n"),
	};
	struct evlog l;
	evlog_init(&l, TT_INFO);
	struct run r;
	play(&r, st, NSTEPS(st), 0, (size_t)-1, &l);
	assert_int_equal(r.last, TT_DECODE);
	assert_int_equal(l.n, 2);
	expect_line(&l, 0, line("info", "out", SMTP_OK));
	expect_line(&l, 1,
		    line("warn", "in",
			 "\"decode_error\",\"error\":\"not a TLS record "
			 "header\",\"detail\":\"32 35 30 20 69\""));
	done(&r);
	evlog_free(&l);
}

/* ---- command injection ---- */

static void test_injection(void **state)
{
	(void)state;
#define INJECTED(request)                                                      \
	"\"decode_error\",\"error\":\"cleartext sent after the upgrade "       \
	"request, before the server's answer\",\"detail\":\"after " request    \
	": a server that kept them would take them as sent inside TLS "        \
	"(command injection, as CVE-2011-0411)\""
	/* one write (the server reads both lines at once), and two */
	static const struct step one[] = {
		smtp[0], smtp[1], smtp[2], CL("STARTTLS\r\nRSET\r\n"), smtp[4],
	};
	no_upgrade(one, NSTEPS(one), "warn", INJECTED("STARTTLS"));
	static const struct step two[] = {
		smtp[0], smtp[1], smtp[2], smtp[3], CL("RSET\r\n"), smtp[4],
	};
	no_upgrade(two, NSTEPS(two), "warn", INJECTED("STARTTLS"));
	static const struct step pop3[] = {
		SV("+OK ready\r\n"),
		CL("STLS\r\nUSER alice\r\n"),
		SV("+OK Begin TLS negotiation now.\r\n"),
	};
	no_upgrade(pop3, NSTEPS(pop3), "warn", INJECTED("STLS"));
	static const struct step pg[] = {
		CL(PG_SSL "\x00\x00\x00\x08"),
		SV("S"),
	};
	no_upgrade(pg, NSTEPS(pg), "warn", INJECTED("SSLRequest"));
	static const struct step imap_inj[] = {
		imap[0],
		CL("a1 STARTTLS\r\na2 LOGIN alice secret\r\n"),
		SV("a1 OK Begin TLS negotiation now.\r\n"),
	};
	no_upgrade(imap_inj, NSTEPS(imap_inj), "warn", INJECTED("a1 STARTTLS"));
#undef INJECTED
}

/* ---- bounds, and ends from outside ---- */

static void test_cap(void **state)
{
	(void)state;
	/* NOOPs for ever: following stops past 16384 bytes */
	enum { N = 3000 };
	static struct step st[3 + 2 * N];
	st[0] = smtp[0];
	st[1] = smtp[1];
	st[2] = smtp[2];
	for (size_t i = 0; i < N; i++) {
		st[3 + 2 * i] = (struct step)CL("NOOP\r\n");
		st[4 + 2 * i] = (struct step)SV("250 2.0.0 Ok\r\n");
	}
	/* the server's bytes pass the cap first */
	no_upgrade(st, NSTEPS(st), "debug",
		   STOP("smtp",
			"no upgrade request within the first 16384 bytes"));
	/* a greeting of 20,000 bytes */
	static char banner[20000];
	for (size_t i = 0; i < sizeof(banner); i += 20)
		memcpy(banner + i, "220-xxxxxxxxxxxxxx\r\n", 20);
	const struct step big[] = {
		{1, (const uint8_t *)banner, sizeof(banner)}};
	no_upgrade(big, 1, "debug",
		   "\"starttls_stop\",\"reason\":\"no upgrade request within "
		   "the first 16384 bytes\"");
}

static void test_outside_ends(void **state)
{
	(void)state;
	static const char *const whys[] = {
		"the connection ended before an upgrade",
		"still open at process exit, not upgraded",
		"bytes moved past the hooks",
		"lock contention: bytes went by undecoded",
	};
	for (size_t w = 0; w < 4; w++) {
		struct evlog l;
		evlog_init(&l, TT_DEBUG);
		struct run r;
		play(&r, smtp, 3, 0, (size_t)-1, &l); /* up to EHLO's reply */
		assert_int_equal(l.n, 0);
		if (w == 0 || w == 1) {
			struct tt_end_info ei = {.how = w ? TT_END_EXIT
							  : TT_END_PEER_FIN,
						 .dir = TT_IN};
			tt_conn_end(&r.c, &ei, &l.em);
		} else if (w == 2) {
			tt_conn_bypass(&r.c, TT_OUT, "splice", 10,
				       "bytes were moved", &l.em);
		} else {
			tt_conn_stop(&r.c, TT_OUT, whys[3],
				     "this direction is no longer decoded",
				     &l.em);
		}
		assert_true(r.c.plain);
		assert_int_equal(l.n, 1);
		char fields[256];
		snprintf(fields, sizeof(fields), STOP("smtp", "%s"), whys[w]);
		expect_line(&l, 0, line("debug", "out", fields));
		/* nothing more: no end, no summary, no bypass */
		end(&r, &l);
		feed(&r, TT_IN, smtp[4].p, smtp[4].n, &l);
		assert_int_equal(r.last, TT_PLAIN);
		assert_int_equal(l.n, 1);
		done(&r);
		evlog_free(&l);
	}
}

/* Not followed at all: what the shim passes over. */
static void test_not_followed(void **state)
{
	(void)state;
	static const struct step http[] = {
		CL("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
		SV("HTTP/1.1 200 OK\r\n\r\n"),
	};
	struct evlog l;
	evlog_init(&l, TT_TRACE);
	struct run r;
	play(&r, http, NSTEPS(http), 0, (size_t)-1, &l);
	assert_false(r.traced);
	assert_int_equal(r.first, TT_FIRST_NONE);
	assert_int_equal(l.n, 0);
	evlog_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_smtp),
		cmocka_unit_test(test_lmtp),
		cmocka_unit_test(test_smtp_every_split),
		cmocka_unit_test(test_smtp_long_line),
		cmocka_unit_test(test_short_first_chunk),
		cmocka_unit_test(test_imap),
		cmocka_unit_test(test_pop3),
		cmocka_unit_test(test_ftp),
		cmocka_unit_test(test_nntp),
		cmocka_unit_test(test_sieve),
		cmocka_unit_test(test_xmpp),
		cmocka_unit_test(test_ldap),
		cmocka_unit_test(test_postgresql),
		cmocka_unit_test(test_mysql),
		cmocka_unit_test(test_client_hello_same_chunk),
		cmocka_unit_test(test_cleartext_after_answer),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_outside_ends),
		cmocka_unit_test(test_not_followed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
