/* libFuzzer target for the record layer (decoder/record/record.c) and, through
 * it, handshake reassembly and every message parser: whole connections.
 *
 * Input:
 *   byte 0      bit 0: this process is the client (client-to-server
 *               bytes go out); clear: it is the server (they come in)
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   then        segments, each a write one side made, in order:
 *                 u8 tag (bit 0: sent by the server), u16 length
 *                 (big-endian), that many bytes (the last one may be cut)
 * Seeds are real exchanges (tests/fuzz/mksteps.c), write by write.
 *
 * Four connections see the same bytes:
 *   1. segments in order, each cut into pieces by the seed;
 *   2. segments in order, each whole;
 *   3. each direction's segments concatenated, fed whole, the direction
 *      of the first segment first (a trace that sees one side before the
 *      other: the version comes late);
 *   4. as 3, in pieces.
 * 1 and 2 must emit the same events, and so must 3 and 4: within one
 * direction the decoder's state is a function of the bytes (records and
 * handshake messages are reassembled whole before anything is parsed,
 * record header checks are per prefix), and what one direction reads of
 * the other's state (role, version) changes only between segments, in
 * the same order in both runs.  The one difference allowed is the detail
 * of "not a TLS record header" (the header bytes held when the bad one
 * arrived).  Also: once tt_conn_feed has returned TT_DECODE for a
 * direction, it keeps doing so and the direction emits nothing more.
 * Runs 2 and 4 are made once more at level warn: every tt_conn_feed must
 * return the same and the connection end in the same state as at trace
 * (tests/fuzz/common.h, fz_same_state).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define HDR 5

struct deadwatch {
	int dead[2];
	unsigned long at_death[2];
	unsigned long events[2]; /* emitted per direction */
};

static struct deadwatch *watch;

FZ_NOCOV static void on_event(void *ctx, struct tt_event *ev)
{
	watch->events[ev->dir & 1]++;
	fz_on_event(ctx, ev);
}

FZ_NOCOV static void feed(struct tt_conn *c, enum tt_dir d, const uint8_t *p,
			  size_t n, struct fz_sink *k)
{
	tt_rc rc = tt_conn_feed(c, d, p, n, &k->em);
	fz_rc(k, rc);
	if (rc != TT_OK && rc != TT_DECODE)
		fz_fail("tt_conn_feed returned %d", rc);
	if (watch->dead[d]) {
		if (rc != TT_DECODE)
			fz_fail("direction %d came back to life", d);
		if (watch->events[d] != watch->at_death[d])
			fz_fail("direction %d emitted after TT_DECODE", d);
	} else if (rc == TT_DECODE) {
		watch->dead[d] = 1;
		watch->at_death[d] = watch->events[d];
	}
}

struct input {
	struct fz_exchange x;
	/* per-direction concatenations, [from_server] */
	uint8_t *cat[2];
	size_t catn[2];
};

FZ_NOCOV static void run(const struct input *in, int mode, struct fz_sink *k)
{
	uint32_t seed = in->x.seed;
	static struct tt_conn c;
	struct deadwatch w;
	memset(&w, 0, sizeof(w));
	watch = &w;
	tt_conn_init(&c);
	k->conn = &c;
	k->em.fn = on_event;
	uint32_t *sp = mode == 1 || mode == 4 ? &seed : NULL;
	if (mode <= 2) {
		for (size_t i = 0; i < in->x.nseg; i++) {
			const struct fz_seg *s = &in->x.seg[i];
			fz_feed_pieces(&c, in->x.dir_of[s->from_server], s->p,
				       s->n, sp, feed, k);
		}
	} else if (in->x.nseg) {
		int first = in->x.seg[0].from_server;
		for (int j = 0; j < 2; j++) {
			int fs = j ? !first : first;
			if (in->catn[fs])
				fz_feed_pieces(&c, in->x.dir_of[fs],
					       in->cat[fs], in->catn[fs], sp,
					       feed, k);
		}
	}
	fz_sink_state(k, &c);
	tt_conn_release(&c);
	watch = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	if (!fz_exchange_read(&in.x, data, size, HDR))
		return 0;
	in.catn[0] = in.catn[1] = 0;

	/* Exact-size copies: ASan then sees any read past a direction's
	 * bytes. */
	for (size_t i = 0; i < in.x.nseg; i++)
		in.catn[in.x.seg[i].from_server] += in.x.seg[i].n;
	for (int i = 0; i < 2; i++) {
		in.cat[i] = malloc(in.catn[i] ? in.catn[i] : 1);
		if (!in.cat[i])
			abort();
		in.catn[i] = 0;
	}
	for (size_t i = 0; i < in.x.nseg; i++) {
		const struct fz_seg *s = &in.x.seg[i];
		memcpy(in.cat[s->from_server] + in.catn[s->from_server], s->p,
		       s->n);
		in.catn[s->from_server] += s->n;
	}

	static struct fz_sink k1, k2, k3, k4, quiet;
	fz_sink_init(&k1, NULL, 1);
	run(&in, 1, &k1);
	fz_sink_init(&k2, NULL, 0);
	run(&in, 2, &k2);
	fz_same("real order, in pieces vs whole writes", &k1, &k2);
	fz_sink_quiet(&quiet);
	run(&in, 2, &quiet);
	fz_same_state("real order, whole writes, at trace vs at warn", &k2,
		      &quiet);

	fz_sink_init(&k3, NULL, 1);
	run(&in, 3, &k3);
	fz_sink_init(&k4, NULL, 0);
	run(&in, 4, &k4);
	fz_same("one direction then the other, whole vs in pieces", &k3, &k4);
	fz_sink_quiet(&quiet);
	run(&in, 4, &quiet);
	fz_same_state("one direction then the other, in pieces, at trace vs "
		      "at warn",
		      &k4, &quiet);

	free(in.cat[0]);
	free(in.cat[1]);
	return 0;
}
