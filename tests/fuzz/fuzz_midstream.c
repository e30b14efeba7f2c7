/* libFuzzer target for a connection joined mid-stream (tt_conn_midstream
 * in decoder/record/record.c): the search for each direction's first
 * record boundary, what the first record says the connection is, and
 * the records after it, through the session's inference, to the end.
 *
 * Input:
 *   byte 0      bit 0: this process is the client (client-to-server
 *               bytes go out); clear: it is the server.  bit 1: the
 *               role is given to tt_conn_midstream (else unknown)
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   bytes 5-6   bytes of the client-to-server stream that went by before
 *               the attach (big-endian), 7-8 those of the other
 *   then        segments, each a write one side made, in order:
 *                 u8 tag (bit 0: sent by the server), u16 length
 *                 (big-endian), that many bytes (the last one may be cut)
 * Seeds are real exchanges (tests/fuzz/mksteps.c) joined at a record
 * boundary, inside a record, and after their handshake, and bytes that
 * are not TLS.
 *
 * The exchange, less what went by before the attach, is fed in order to
 * two connections: each write cut into pieces by the seed, and whole.
 * They must emit the same events (but for the byte counts of a direction
 * that stopped): a direction's search depends
 * on its bytes and on where the other direction's bytes come in, never on
 * how a write was cut.  The whole run is made once more at level warn:
 * the same return codes, warn events and state.  Also: a connection found
 * not TLS (TT_PLAIN) says so on every later feed and writes no event at
 * all, its end included; while neither direction has found its records,
 * the connection holds at most SEEK_HEAP bytes of heap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define HDR	  9
#define SEEK_HEAP 1024

struct plainwatch {
	int plain;
	unsigned long events;
};

static struct plainwatch *watch;

FZ_NOCOV static void on_event(void *ctx, struct tt_event *ev)
{
	watch->events++;
	fz_on_event_cut(ctx, ev);
}

FZ_NOCOV static void feed(struct tt_conn *c, enum tt_dir d, const uint8_t *p,
			  size_t n, struct fz_sink *k)
{
	tt_rc rc = fz_feed_copy(c, d, p, n, k);
	if (rc != TT_OK && rc != TT_DECODE && rc != TT_PLAIN)
		fz_fail("tt_conn_feed returned %d", rc);
	if (watch->plain && rc != TT_PLAIN)
		fz_fail("TT_PLAIN, then %d", rc);
	if (rc == TT_PLAIN) {
		watch->plain = 1;
		if (!c->plain)
			fz_fail("TT_PLAIN from a connection not plain");
	}
	if (c->attach == TT_ATTACH_PENDING && c->d[0].seek && c->d[1].seek &&
	    tt_conn_heap_bytes(c) > SEEK_HEAP)
		fz_fail("%zu bytes of heap while looking for records",
			tt_conn_heap_bytes(c));
}

struct input {
	struct fz_exchange x;
	enum tt_role role;
	size_t before[2]; /* [from_server]: bytes before the attach */
};

FZ_NOCOV static void run(const void *arg, int pieces, struct fz_sink *k)
{
	const struct input *in = arg;
	uint32_t seed = in->x.seed;
	static struct tt_conn c;
	struct plainwatch w = {0, 0};
	watch = &w;
	tt_conn_init(&c);
	tt_conn_midstream(&c, in->role);
	k->conn = &c;
	k->em.fn = on_event;
	size_t gone[2] = {0, 0};
	for (size_t i = 0; i < in->x.nseg; i++) {
		const struct fz_seg *s = &in->x.seg[i];
		int fs = s->from_server;
		size_t skip = 0;
		if (gone[fs] < in->before[fs]) {
			skip = in->before[fs] - gone[fs];
			if (skip > s->n)
				skip = s->n;
			gone[fs] += skip;
		}
		if (skip < s->n)
			fz_feed_pieces(&c, in->x.dir_of[fs], s->p + skip,
				       s->n - skip, pieces ? &seed : NULL, feed,
				       k);
	}
	fz_close(&c, k, "joined mid-stream");
	if (w.plain && w.events)
		fz_fail("%lu events from a connection found not TLS", w.events);
	watch = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	if (!fz_exchange_read(&in.x, data, size, HDR))
		return 0;
	in.role = !(data[0] & 2) ? TT_ROLE_UNKNOWN
		  : data[0] & 1	 ? TT_ROLE_CLIENT
				 : TT_ROLE_SERVER;
	in.before[0] = (size_t)data[5] << 8 | data[6];
	in.before[1] = (size_t)data[7] << 8 | data[8];
	fz_compare_runs(&in, run);
	return 0;
}
