/* libFuzzer target for the decryption path (decoder/decrypt/decrypt.c) and the
 * record layer around it (decoder/record/record.c): TLS 1.3 epochs, the inner
 * content type peeked from a record's last block, KeyUpdate, TLS 1.2 AEAD
 * records after each ChangeCipherSpec, and the queue of records waiting
 * for their keys.  Keys come from an NSS key log in the input, through
 * the test key source (tests/unit/helpers/testkeys.c) with libcrypto
 * linked directly.
 *
 * Input:
 *   byte 0      bit 0: this process is the client (client-to-server
 *               bytes go out); clear: it is the server (they come in)
 *               bit 1: also run 4 below
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   bytes 5-6   key log length (big-endian), then that many bytes of NSS
 *               key log text (parsed with tt_keylog_next)
 *   then        segments, each a write one side made, in order:
 *                 u8 tag (bit 0: sent by the server), u16 length
 *                 (big-endian), that many bytes (the last one may be cut)
 * Seeds are real exchanges with the client's key log
 * (tests/fuzz/mksteps.c, tests/fuzz/mkseeds.py).
 *
 * Runs, each on a fresh connection:
 *   1. keys known from the start; segments in order, each cut into
 *      pieces by the seed;
 *   2. the same with whole segments;
 *   3. keys held back (the key source finds nothing) for the whole
 *      replay, in pieces; then known, and both directions drained;
 *   4. (bit 1) as 1, with keys held back until half of the segments
 *      have been fed.
 * Before every tt_conn_feed, records waiting for keys in either direction
 * are drained, as the shim does around its calls.  1 and 2 must emit the
 * same events, with two differences allowed: the detail of "not a TLS
 * record header", as in fuzz_record, and the summary's bytes_in or
 * bytes_out of a direction that stopped decoding (they count up to the
 * end of the call that stopped it, docs/log-format.md).  In those runs
 * keys do not change, and a record waits for a secret named when its
 * epoch started (the label and its handshake's client random): a
 * direction that waits once waits to the end, queueing its later records
 * undecoded, and the drains between pieces find nothing to do.  What one
 * direction's decoding reads of the other's state (role, version) then
 * changes only between segments, in the same order in both runs.  While
 * keys are held back, the crypto table must not be asked for.  Every run
 * ends with tt_conn_end for a local close, after which no record may
 * still be waiting in either direction, then tt_conn_release (what it
 * leaves allocated, LeakSanitizer reports).  Runs 2 and 3 are made once
 * more at level warn: every tt_conn_feed must return the same and the
 * connection end (after tt_conn_end) in the same state as at trace
 * (tests/fuzz/common.h, fz_same_state).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testkeys.h"

#define HDR 7

struct input {
	struct fz_seg seg[FZ_MAX_SEGS];
	size_t nseg;
	enum tt_dir dir_of[2]; /* [from_server] */
};

/* Every event is checked and rendered as it is; the hash that 1 and 2
 * compare leaves out the byte counts of a dead direction. */
FZ_NOCOV static void on_event(void *ctx, struct tt_event *ev)
{
	struct fz_sink *k = ctx;
	uint64_t h = k->hash;
	fz_on_event(ctx, ev);
	if (!k->conn || strcmp(ev->name, "summary") != 0)
		return;
	long long saved[TT_EV_MAX_FIELDS];
	int masked = 0;
	for (size_t i = 0; i < ev->nf; i++) {
		struct tt_field *f = &ev->f[i];
		saved[i] = f->v.i;
		int d = strcmp(f->key, "bytes_in") == 0	   ? TT_IN
			: strcmp(f->key, "bytes_out") == 0 ? TT_OUT
							   : -1;
		if (d >= 0 && f->type == TT_FT_INT && k->conn->d[d].dead) {
			f->v.i = -1;
			masked = 1;
		}
	}
	if (!masked)
		return;
	k->hash = h;
	fz_hash_event(&k->hash, ev);
	for (size_t i = 0; i < ev->nf; i++)
		if (ev->f[i].type == TT_FT_INT)
			ev->f[i].v.i = saved[i];
}

FZ_NOCOV static void drain(struct tt_conn *c, struct fz_sink *k)
{
	if (tt_conn_waiting(c))
		tt_conn_drain(c, &k->em);
}

FZ_NOCOV static void feed(struct tt_conn *c, enum tt_dir d, const uint8_t *p,
			  size_t n, struct fz_sink *k)
{
	/* An exact-size copy: ASan then sees any read past the piece. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	drain(c, k);
	tt_rc rc = tt_conn_feed(c, d, copy, n, &k->em);
	fz_rc(k, rc);
	if (rc != TT_OK && rc != TT_DECODE)
		fz_fail("tt_conn_feed returned %d", rc);
	free(copy);
}

/* Feeds a segment in pieces (or whole when seed is NULL). */
FZ_NOCOV static void feed_segment(struct tt_conn *c, const struct input *in,
				  const struct fz_seg *s, uint32_t *seed,
				  struct fz_sink *k)
{
	enum tt_dir d = in->dir_of[s->from_server];
	size_t off = 0;
	do {
		size_t piece = seed ? fz_piece(seed, s->n - off) : s->n - off;
		feed(c, d, s->p + off, piece, k);
		off += piece;
	} while (off < s->n);
}

FZ_NOCOV static void end_and_release(struct tt_conn *c, struct fz_sink *k,
				     const char *what)
{
	struct tt_end_info ei = {.how = TT_END_LOCAL_CLOSE,
				 .dir = TT_OUT,
				 .call = "close",
				 .since_last_us = 5,
				 .duration_us = 100};
	tt_conn_end(c, &ei, &k->em);
	if (tt_conn_waiting(c))
		fz_fail("%s: records still wait for keys after the "
			"connection closed",
			what);
	fz_sink_state(k, c);
	tt_conn_release(c);
}

/* No secret, no libcrypto: the crypto table is asked for only once a
 * secret has been found (the shim loads libcrypto then). */
FZ_NOCOV static void no_crypto_yet(const struct testkeys *tk, const char *what)
{
	if (tk->crypto_calls)
		fz_fail("%s: the crypto table was asked for %d times while no "
			"secret could be found",
			what, tk->crypto_calls);
}

/* Runs 1, 2 and 4: keys hidden until segment reveal_at (0: known from
 * the start). */
FZ_NOCOV static void run_replay(const struct input *in, struct testkeys *tk,
				uint32_t seed, int pieces, size_t reveal_at,
				struct fz_sink *k, const char *what)
{
	static struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &tk->src;
	k->conn = &c;
	k->em.fn = on_event;
	tk->hidden = reveal_at > 0;
	tk->crypto_calls = 0;
	for (size_t i = 0; i < in->nseg; i++) {
		if (i == reveal_at) {
			no_crypto_yet(tk, what);
			tk->hidden = false;
		}
		feed_segment(&c, in, &in->seg[i], pieces ? &seed : NULL, k);
	}
	if (tk->hidden)
		no_crypto_yet(tk, what);
	tk->hidden = false;
	end_and_release(&c, k, what);
}

/* Run 3: keys held back for the whole replay, then given. */
FZ_NOCOV static void run_late(const struct input *in, struct testkeys *tk,
			      uint32_t seed, struct fz_sink *k)
{
	static struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &tk->src;
	k->conn = &c;
	k->em.fn = on_event;
	tk->hidden = true;
	tk->crypto_calls = 0;
	for (size_t i = 0; i < in->nseg; i++)
		feed_segment(&c, in, &in->seg[i], &seed, k);
	no_crypto_yet(tk, "keys after the replay");
	tk->hidden = false;
	drain(&c, k);
	end_and_release(&c, k, "keys after the replay");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	static struct testkeys tk;
	if (size < HDR)
		return 0;
	int client = data[0] & 1;
	int halfway = data[0] & 2;
	uint32_t seed = fz_be32(data + 1);
	size_t klen = (size_t)data[5] << 8 | data[6];
	if (klen > size - HDR)
		klen = size - HDR;
	in.dir_of[0] = client ? TT_OUT : TT_IN;
	in.dir_of[1] = client ? TT_IN : TT_OUT;

	/* An exact-size copy of the key log text, for the same reason. */
	char *text = malloc(klen ? klen : 1);
	if (!text)
		abort();
	memcpy(text, data + HDR, klen);
	testkeys_init(&tk, text, klen);
	free(text);

	in.nseg = fz_segments(data, size, HDR + klen, in.seg);

	static struct fz_sink k1, k2, k3, k4, quiet;
	fz_sink_init(&k1, NULL, 1);
	run_replay(&in, &tk, seed, 1, 0, &k1, "keys from the start, in pieces");
	fz_sink_init(&k2, NULL, 0);
	run_replay(&in, &tk, seed, 0, 0, &k2, "keys from the start, whole");
	fz_same("keys from the start, in pieces vs whole writes", &k1, &k2);
	fz_sink_init(&quiet, NULL, 0);
	quiet.em.level = TT_WARN;
	run_replay(&in, &tk, seed, 0, 0, &quiet,
		   "keys from the start, whole, at warn");
	fz_same_state("keys from the start, whole, at trace vs at warn", &k2,
		      &quiet);

	fz_sink_init(&k3, NULL, 1);
	run_late(&in, &tk, seed, &k3);
	fz_sink_init(&quiet, NULL, 0);
	quiet.em.level = TT_WARN;
	run_late(&in, &tk, seed, &quiet);
	fz_same_state("keys after the replay, at trace vs at warn", &k3,
		      &quiet);

	if (halfway) {
		fz_sink_init(&k4, NULL, 1);
		run_replay(&in, &tk, seed, 1, in.nseg / 2 ? in.nseg / 2 : 1,
			   &k4, "keys from halfway");
	}
	return 0;
}
