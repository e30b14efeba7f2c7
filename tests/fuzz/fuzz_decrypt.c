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
	/* 1 and 2 compare their events but for the byte counts of a dead
	 * direction */
	k->em.fn = fz_on_event_cut;
	tk->hidden = reveal_at > 0;
	tk->crypto_calls = 0;
	for (size_t i = 0; i < in->nseg; i++) {
		if (i == reveal_at) {
			no_crypto_yet(tk, what);
			tk->hidden = false;
		}
		const struct fz_seg *s = &in->seg[i];
		fz_feed_pieces(&c, in->dir_of[s->from_server], s->p, s->n,
			       pieces ? &seed : NULL, fz_feed_drain, k);
	}
	if (tk->hidden)
		no_crypto_yet(tk, what);
	tk->hidden = false;
	fz_close(&c, k, what);
}

/* Run 3: keys held back for the whole replay, then given. */
FZ_NOCOV static void run_late(const struct input *in, struct testkeys *tk,
			      uint32_t seed, struct fz_sink *k)
{
	static struct tt_conn c;
	tt_conn_init(&c);
	c.ks = &tk->src;
	k->conn = &c;
	k->em.fn = fz_on_event_cut;
	tk->hidden = true;
	tk->crypto_calls = 0;
	for (size_t i = 0; i < in->nseg; i++) {
		const struct fz_seg *s = &in->seg[i];
		fz_feed_pieces(&c, in->dir_of[s->from_server], s->p, s->n,
			       &seed, fz_feed_drain, k);
	}
	no_crypto_yet(tk, "keys after the replay");
	tk->hidden = false;
	fz_drain(&c, k);
	fz_close(&c, k, "keys after the replay");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	static struct testkeys tk;
	if (size < HDR)
		return 0;
	fz_dir_of(in.dir_of, data[0] & 1);
	int halfway = data[0] & 2;
	uint32_t seed = fz_be32(data + 1);
	size_t klen = (size_t)data[5] << 8 | data[6];
	if (klen > size - HDR)
		klen = size - HDR;

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
	fz_sink_quiet(&quiet);
	run_replay(&in, &tk, seed, 0, 0, &quiet,
		   "keys from the start, whole, at warn");
	fz_same_state("keys from the start, whole, at trace vs at warn", &k2,
		      &quiet);

	fz_sink_init(&k3, NULL, 1);
	run_late(&in, &tk, seed, &k3);
	fz_sink_quiet(&quiet);
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
