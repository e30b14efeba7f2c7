/* libFuzzer target for the record layer (decoder/record.c) and, through
 * it, handshake reassembly and every message parser: whole connections.
 *
 * Input:
 *   byte 0      flags: bit 0 set = stream A was sent by this process
 *               (dir out) and B received; clear = the other way round
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   bytes 5-6   length of stream A (big-endian; clipped to what is left)
 *   then        stream A, then stream B (the rest)
 * The seeds are a real exchange: A = client to server, B = the reply.
 *
 * Three connections see the same bytes:
 *   1. A and B interleaved, in pieces: which stream goes next and how big
 *      a piece is come from the seed.  Each stream stays in order, so the
 *      cross-direction state (role, version) is exercised as in a real
 *      trace; which interleaving is right is not knowable, so no
 *      invariant beyond the sink's.
 *   2. A whole, then B whole.
 *   3. A in pieces, then B in pieces.
 * 2 and 3 must emit the same events: within one direction the decoder's
 * state is a function of the bytes alone (records and handshake messages
 * are reassembled whole before anything is parsed, and record header
 * checks are per prefix), and B sees the same connection state after A
 * in both.  The only difference allowed is the detail of "not a TLS
 * record header" (the header bytes held when the bad one arrived).
 * Also: once tt_conn_feed has returned TT_DECODE for a direction, it
 * keeps doing so and that direction emits nothing more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define HDR 7

struct stream {
	const uint8_t *p;
	size_t n, off;
	enum tt_dir dir;
};

/* Per-direction bookkeeping of the dead-stays-dead rule. */
struct deadwatch {
	int dead[2];
	unsigned long events_at_death[2];
};

static unsigned long dir_events[2];

static void count_dir(void *ctx, struct tt_event *ev)
{
	dir_events[ev->dir & 1]++;
	fz_on_event(ctx, ev);
}

static void feed(struct tt_conn *c, struct stream *s, size_t n,
		 struct fz_sink *k, struct deadwatch *w)
{
	enum tt_dir d = s->dir;
	tt_rc rc = tt_conn_feed(c, d, s->p + s->off, n, &k->em);
	s->off += n;
	if (rc != TT_OK && rc != TT_DECODE)
		fz_fail("tt_conn_feed returned %d", rc);
	if (w->dead[d]) {
		if (rc != TT_DECODE)
			fz_fail("direction %d came back to life", d);
		if (dir_events[d] != w->events_at_death[d])
			fz_fail("direction %d emitted after TT_DECODE", d);
	} else if (rc == TT_DECODE) {
		w->dead[d] = 1;
		w->events_at_death[d] = dir_events[d];
	}
}

static void run(struct tt_conn *c, struct fz_sink *k, struct stream *a,
		struct stream *b, uint32_t seed, int mode)
{
	struct deadwatch w = {{0, 0}, {0, 0}};
	struct stream *both[2] = {a, b};

	dir_events[0] = dir_events[1] = 0;
	k->em.fn = count_dir;
	a->off = b->off = 0;
	if (mode == 1) {
		while (a->off < a->n || b->off < b->n) {
			struct stream *s;
			if (a->off == a->n)
				s = b;
			else if (b->off == b->n)
				s = a;
			else
				s = both[fz_rand(&seed) & 1];
			feed(c, s, fz_piece(&seed, s->n - s->off), k, &w);
		}
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct stream *s = both[i];
		while (s->off < s->n) {
			size_t left = s->n - s->off;
			feed(c, s, mode == 2 ? left : fz_piece(&seed, left), k,
			     &w);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	int a_out = data[0] & 1;
	uint32_t seed = fz_be32(data + 1);
	size_t alen = (size_t)data[5] << 8 | data[6];
	const uint8_t *p = data + HDR;
	size_t n = size - HDR;
	if (alen > n)
		alen = n;
	struct stream a = {p, alen, 0, a_out ? TT_OUT : TT_IN};
	struct stream b = {p + alen, n - alen, 0, a_out ? TT_IN : TT_OUT};

	static struct tt_conn c1, c2, c3;
	struct fz_sink k1, k2, k3;

	tt_conn_init(&c1);
	fz_sink_init(&k1, &c1, 1);
	run(&c1, &k1, &a, &b, seed, 1);
	tt_conn_release(&c1);

	tt_conn_init(&c2);
	fz_sink_init(&k2, &c2, 1);
	run(&c2, &k2, &a, &b, seed, 2);
	tt_conn_release(&c2);

	tt_conn_init(&c3);
	fz_sink_init(&k3, &c3, 0);
	run(&c3, &k3, &a, &b, seed, 3);
	tt_conn_release(&c3);

	fz_same("A then B, whole vs in pieces", &k2, &k3);
	return 0;
}
