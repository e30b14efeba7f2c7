/* libFuzzer target for STARTTLS (decoder/starttls): the detector on a
 * stream's first bytes and the follower of the cleartext protocols, with
 * the record layer behind it once a connection upgrades.
 *
 * Input:
 *   byte 0      bit 0: this process is the client (client-to-server
 *               bytes go out); clear: it is the server (they come in)
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   then        segments, each a write one side made, in order:
 *                 u8 tag (bit 0: sent by the server), u16 length
 *                 (big-endian), that many bytes (the last one may be cut)
 * Seeds are transcripts of real sessions of every protocol followed, with
 * a real TLS exchange after each accepted upgrade (tests/fuzz/mkseeds.py).
 *
 * As the shim does, the bytes of the first call (up to TT_STLS_HEAD)
 * decide what the connection is: nothing is fed when they start neither
 * TLS nor a protocol to follow.  Runs, each on a fresh connection:
 *   1. segments in order, each cut into pieces by the seed (the first
 *      piece decides);
 *   2. segments in order, whole (the first segment decides).
 * When both decided alike, or 1 could not tell yet from its first piece
 * (TT_FIRST_MORE) where 2 could, they must emit the same events (but the
 * detail of "not a TLS record header", as in fuzz_record, and the
 * summary's bytes_in or bytes_out of a direction that stopped decoding,
 * as in fuzz_decrypt).  Run 2 is
 * made once more at level warn: the same return codes, warn events and
 * state (tests/fuzz/common.h, fz_same_state).  Also checked: the
 * detector never answers TT_FIRST_MORE to TT_STLS_HEAD bytes and names a
 * followed protocol only from the table (or the 220 family); a starttls
 * event has its protocol, by, result, request and (but for MySQL) reply,
 * printable ASCII of at most TT_STLS_TEXT bytes; at most one upgrade is
 * accepted per connection, and the summary then names its protocol;
 * once tt_conn_feed has returned TT_PLAIN it keeps doing so and nothing
 * more is emitted, not even at the connection's end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define HDR 5

struct watch {
	bool plain;	      /* TT_PLAIN was returned */
	unsigned long events; /* emitted */
	unsigned accepted;    /* starttls accepted */
	uint8_t proto;	      /* the protocol accepted */
	bool summary_named;   /* the summary named it */
};

static struct watch *watch;

FZ_NOCOV static void check_text(const struct tt_event *ev, const char *key,
				bool need)
{
	const struct tt_field *f = tt_ev_find(ev, key);
	if (!f) {
		if (need && !(ev->flags & TT_EVF_TRUNCATED))
			fz_fail("starttls without %s", key);
		return;
	}
	if (f->type != TT_FT_STR)
		fz_fail("starttls.%s of type %u", key, f->type);
	size_t n = strlen(f->v.s);
	if (n > TT_STLS_TEXT)
		fz_fail("starttls.%s of %zu bytes", key, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f->v.s[i] < 0x20 ||
		    (unsigned char)f->v.s[i] > 0x7e)
			fz_fail("starttls.%s: byte 0x%02x", key,
				(unsigned char)f->v.s[i]);
}

FZ_NOCOV static void on_event(void *ctx, struct tt_event *ev)
{
	struct fz_sink *k = ctx;
	if (watch->plain)
		fz_fail("%s after TT_PLAIN", ev->name);
	watch->events++;
	if (strcmp(ev->name, "starttls") == 0) {
		const struct tt_field *proto = tt_ev_find(ev, "protocol");
		const struct tt_field *by = tt_ev_find(ev, "by");
		const struct tt_field *res = tt_ev_find(ev, "result");
		if (!proto || !by || !res || strcmp(by->v.s, "client") != 0 ||
		    (strcmp(res->v.s, "accepted") != 0 &&
		     strcmp(res->v.s, "refused") != 0))
			fz_fail("starttls without protocol, by or result");
		if (ev->level != TT_INFO)
			fz_fail("starttls at level %u", ev->level);
		check_text(ev, "request", true);
		check_text(ev, "reply", strcmp(proto->v.s, "mysql") != 0);
		if (strcmp(res->v.s, "accepted") == 0) {
			if (watch->accepted++)
				fz_fail("a second upgrade accepted");
			if (!k->conn || !k->conn->starttls ||
			    strcmp(tt_name_starttls(k->conn->starttls),
				   proto->v.s) != 0)
				fz_fail("accepted %s, the connection says %u",
					proto->v.s,
					k->conn ? k->conn->starttls : 0);
			watch->proto = k->conn->starttls;
		}
	} else if (strcmp(ev->name, "starttls_stop") == 0) {
		if (ev->level != TT_DEBUG || !tt_ev_find(ev, "reason"))
			fz_fail("starttls_stop at %u or without reason",
				ev->level);
	} else if (strcmp(ev->name, "summary") == 0 && watch->proto) {
		const struct tt_field *f = tt_ev_find(ev, "starttls");
		if (!f || strcmp(f->v.s, tt_name_starttls(watch->proto)) != 0)
			fz_fail("summary without starttls %s",
				tt_name_starttls(watch->proto));
		watch->summary_named = true;
	}
	/* The hash that 1 and 2 compare leaves out the summary's byte
	 * counts of a dead direction: they count up to the end of the call
	 * that stopped it (as in fuzz_decrypt). */
	fz_on_event_cut(ctx, ev);
}

struct run {
	struct tt_conn c;
	enum tt_first first;
	bool decided, traced;
};

FZ_NOCOV static void feed(struct run *r, enum tt_dir d, const uint8_t *p,
			  size_t n, struct fz_sink *k)
{
	if (!r->decided) {
		struct tt_first_guess g;
		r->decided = true;
		r->first = tt_conn_first(p, n < TT_STLS_HEAD ? n : TT_STLS_HEAD,
					 &g);
		if (r->first == TT_FIRST_NONE)
			return;
		if (r->first != TT_FIRST_TLS &&
		    !tt_conn_follow(&r->c, d, r->first, &g))
			abort();
		r->traced = true;
	}
	if (!r->traced)
		return;
	if (tt_conn_waiting(&r->c))
		tt_conn_drain(&r->c, &k->em);
	tt_rc rc = tt_conn_feed(&r->c, d, p, n, &k->em);
	fz_rc(k, rc);
	if (rc != TT_OK && rc != TT_DECODE && rc != TT_PLAIN)
		fz_fail("tt_conn_feed returned %d", rc);
	if (watch->plain && rc != TT_PLAIN)
		fz_fail("TT_PLAIN, then %d", rc);
	if (rc == TT_PLAIN && !watch->plain) {
		if (r->c.starttls)
			fz_fail("plain after an accepted upgrade");
		watch->plain = true;
	}
}


static struct run runs[2];

FZ_NOCOV static void run(struct run *r, const struct fz_exchange *in,
			 bool pieces, struct fz_sink *k)
{
	uint32_t seed = in->seed;
	struct watch w;
	memset(&w, 0, sizeof(w));
	watch = &w;
	memset(r, 0, sizeof(*r));
	tt_conn_init(&r->c);
	k->conn = &r->c;
	k->em.fn = on_event;
	for (size_t i = 0; i < in->nseg; i++) {
		const struct fz_seg *s = &in->seg[i];
		size_t off = 0;
		do {
			size_t piece = pieces ? fz_piece(&seed, s->n - off)
					      : s->n - off;
			feed(r, in->dir_of[s->from_server], s->p + off, piece,
			     k);
			off += piece;
		} while (off < s->n);
	}
	if (r->traced) {
		struct tt_end_info ei = {.how = TT_END_LOCAL_CLOSE,
					 .dir = TT_OUT,
					 .call = "close"};
		tt_conn_end(&r->c, &ei, &k->em);
		if (w.proto && !w.summary_named && k->em.level >= TT_INFO)
			fz_fail("no summary naming %s",
				tt_name_starttls(w.proto));
	}
	fz_sink_state(k, &r->c);
	tt_conn_release(&r->c);
	watch = NULL;
}

/* The detector on every prefix of the first segment. */
FZ_NOCOV static void detect(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	for (size_t m = 1; m <= n && m <= TT_STLS_HEAD; m++) {
		struct tt_first_guess g = {0, false};
		enum tt_first f = tt_stls_detect(copy, m, &g);
		if (f == TT_FIRST_MORE && m == TT_STLS_HEAD)
			fz_fail("TT_FIRST_MORE at %d bytes", TT_STLS_HEAD);
		if (f == TT_FIRST_FOLLOW && g.proto != TT_STLS_FAMILY_220 &&
		    !tt_name_starttls(g.proto))
			fz_fail("followed protocol %u", g.proto);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_exchange in;
	if (!fz_exchange_read(&in, data, size, HDR))
		return 0;
	if (in.nseg == 0)
		return 0;
	detect(in.seg[0].p, in.seg[0].n);

	/* Exact-size copies: ASan then sees any read past a write. */
	for (size_t i = 0; i < in.nseg; i++) {
		uint8_t *p = malloc(in.seg[i].n);
		if (!p)
			abort();
		memcpy(p, in.seg[i].p, in.seg[i].n);
		in.seg[i].p = p;
	}

	static struct fz_sink k1, k2, quiet;
	fz_sink_init(&k1, NULL, 1);
	run(&runs[0], &in, true, &k1);
	fz_sink_init(&k2, NULL, 0);
	run(&runs[1], &in, false, &k2);
	enum tt_first f1 = runs[0].first, f2 = runs[1].first;
	if (f1 == f2 || (f1 == TT_FIRST_MORE && f2 == TT_FIRST_FOLLOW))
		fz_same("in pieces vs whole writes", &k1, &k2);
	fz_sink_quiet(&quiet);
	run(&runs[1], &in, false, &quiet);
	fz_same_state("whole writes, at trace vs at warn", &k2, &quiet);

	for (size_t i = 0; i < in.nseg; i++)
		free((void *)in.seg[i].p);
	return 0;
}
