/* libFuzzer target for compressed records (RFC 3749 DEFLATE) in the record
 * layer (decoder/record/record.c): one inflate stream per direction and
 * epoch, through the inflate table of shim/zlib.c (libz.so.1), the
 * inflated bytes decoded as handshake messages, alerts, ChangeCipherSpec
 * (a new epoch and stream) and application data; records that do not
 * inflate or inflate too far; records not inflated (no inflate table).
 *
 * The compressed bytes reach the decoder without decryption: the
 * connection negotiates TLS_RSA_WITH_NULL_SHA256 (records after
 * ChangeCipherSpec are plaintext and a 32-byte MAC) with DEFLATE.  The
 * target feeds that preamble itself, then the input's records:
 *   c2s  ClientHello (TLS 1.2, the NULL suite and the renegotiation SCSV,
 *        methods DEFLATE and null)
 *   s2c  ServerHello (TLS_RSA_WITH_NULL_SHA256, DEFLATE, renegotiation_info)
 *   c2s  ChangeCipherSpec, then s2c ChangeCipherSpec
 *
 * Input:
 *   byte 0      bit 0: this process is the client (client-to-server
 *               bytes go out); clear: it is the server
 *               bit 1: the key source has no inflate table
 *   bytes 1-4   seed of the split pattern (big-endian)
 *   then        segments, each a write one side made, in order:
 *                 u8 tag (bit 0: sent by the server), u16 length
 *                 (big-endian), that many bytes (the last one may be cut)
 * Seeds (tests/fuzz/mkseeds.py): real messages (Finished, HelloRequest,
 * a renegotiation's hellos, CertificateRequest with CA names, alerts,
 * application data) compressed with Python's zlib as OpenSSL does (one
 * stream per direction and epoch, Z_SYNC_FLUSH per record), and records
 * that inflate past 2^14 or are corrupt.
 *
 * Runs, each on a fresh connection: the segments cut into pieces by the
 * seed; whole; whole at level warn.  The first two must emit the same
 * events (but for the detail of "not a TLS record header" and the byte
 * counts of a direction that stopped, as in fuzz_decrypt), the last two
 * the same return codes, warn events and state.  Every run ends with
 * tt_conn_end and tt_conn_release (what an inflate stream leaves
 * allocated, LeakSanitizer reports).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "libz.h"

#define HDR 5

struct input {
	struct fz_exchange x;
	int no_table;
};

/* clang-format off */
static const uint8_t client_hello[] = {
	22, 3, 1, 0, 48,			/* record */
	1, 0, 0, 44, 3, 3,			/* ClientHello, TLS 1.2 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* random */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0,					/* session id */
	0, 4, 0x00, 0x3b, 0x00, 0xff,		/* TLS_RSA_WITH_NULL_SHA256, SCSV */
	2, 1, 0,				/* DEFLATE, null */
};
static const uint8_t server_hello[] = {
	22, 3, 3, 0, 49,			/* record */
	2, 0, 0, 45, 3, 3,			/* ServerHello, TLS 1.2 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* random */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0,					/* session id */
	0x00, 0x3b,				/* TLS_RSA_WITH_NULL_SHA256 */
	1,					/* DEFLATE */
	0, 5, 0xff, 0x01, 0, 1, 0,		/* renegotiation_info, empty */
};
/* clang-format on */
static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};

/* The key source: no secrets (the NULL suite needs none), the inflate
 * table of shim/zlib.c unless the input says none. */
static size_t ks_get(void *ctx, const uint8_t *cr, enum tt_keylog_label l,
		     uint8_t *out)
{
	(void)ctx;
	(void)cr;
	(void)l;
	(void)out;
	return 0;
}

static const struct tt_crypto *ks_crypto(void *ctx, const char **why)
{
	(void)ctx;
	*why = "fuzz: no libcrypto";
	return NULL;
}

static const struct tt_inflate *ks_inflate(void *ctx, const char **why)
{
	(void)ctx;
	const struct tt_inflate *t = tt_inflate_load(why);
	if (!t)
		fz_fail("libz.so.1: %s", *why);
	return t;
}

FZ_NOCOV static void run(const void *arg, int pieces, struct fz_sink *k)
{
	const struct input *in = arg;
	uint32_t seed = in->x.seed;
	static struct tt_conn c;
	struct tt_keysrc ks = {.get = ks_get,
			       .crypto = ks_crypto,
			       .inflate = in->no_table ? NULL : ks_inflate};
	tt_conn_init(&c);
	c.ks = &ks;
	k->conn = &c;
	/* the two first runs compare their events but for the byte counts
	 * of a dead direction */
	k->em.fn = fz_on_event_cut;
	enum tt_dir c2s = in->x.dir_of[0], s2c = in->x.dir_of[1];
	fz_feed_drain(&c, c2s, client_hello, sizeof(client_hello), k);
	fz_feed_drain(&c, s2c, server_hello, sizeof(server_hello), k);
	fz_feed_drain(&c, c2s, ccs, sizeof(ccs), k);
	fz_feed_drain(&c, s2c, ccs, sizeof(ccs), k);
	for (size_t i = 0; i < in->x.nseg; i++) {
		const struct fz_seg *s = &in->x.seg[i];
		fz_feed_pieces(&c, in->x.dir_of[s->from_server], s->p, s->n,
			       pieces ? &seed : NULL, fz_feed_drain, k);
	}
	fz_close(&c, k, "inflate");
	for (int d = 0; d < 2; d++)
		if (c.d[d].z)
			fz_fail("an inflate stream outlived the connection");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	if (!fz_exchange_read(&in.x, data, size, HDR))
		return 0;
	in.no_table = (data[0] & 2) != 0;
	fz_compare_runs(&in, run);
	return 0;
}
