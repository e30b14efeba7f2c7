/* libFuzzer target for handshake reassembly and dispatch
 * (decoder/handshake/handshake.c) and the message parsers behind it.
 *
 * Input:
 *   bytes 0-3   seed of the split pattern (big-endian)
 *   then        plaintext handshake bytes, as the record bodies of one
 *               direction would carry them
 *
 * For each connection version preset (none yet, TLS 1.2, TLS 1.3; a
 * ServerHello in the input may change it) and each direction, the bytes
 * go to tt_hs_feed once whole and once cut into pieces (one piece = one
 * record body).  Messages are reassembled before they are parsed, so
 * both must emit the same events, decode errors included.  The bytes
 * are fed whole once more at level warn: the connection must end in the
 * same state as at trace (tests/fuzz/common.h, fz_same_state).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define HDR 4

FZ_NOCOV static void feed_all(uint16_t version, enum tt_dir dir,
			      const uint8_t *p, size_t n, uint32_t seed,
			      int whole, struct fz_sink *k, int format,
			      enum tt_level level)
{
	static struct tt_conn c;
	tt_conn_init(&c);
	c.version = version;
	fz_sink_init(k, &c, format);
	k->em.level = (uint8_t)level;
	size_t off = 0;
	while (off < n) {
		size_t piece = whole ? n - off : fz_piece(&seed, n - off);
		tt_hs_feed(&c, dir, p + off, piece, &k->em);
		off += piece;
	}
	/* the other direction saw nothing */
	if (c.d[!dir].hs_msgs || c.d[!dir].hbuf || c.d[!dir].dead)
		fz_fail("direction %d changed by the other's bytes", !dir);
	fz_sink_state(k, &c);
	tt_conn_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t versions[] = {0, TT_V_TLS12, TT_V_TLS13};
	if (size < HDR)
		return 0;
	uint32_t seed = fz_be32(data);
	const uint8_t *p = data + HDR;
	size_t n = size - HDR;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		for (int d = 0; d < 2; d++) {
			static struct fz_sink whole, pieces, quiet;
			feed_all(versions[v], (enum tt_dir)d, p, n, seed, 1,
				 &whole, 1, TT_TRACE);
			feed_all(versions[v], (enum tt_dir)d, p, n, seed, 0,
				 &pieces, 0, TT_TRACE);
			fz_same("handshake whole vs in pieces", &whole,
				&pieces);
			feed_all(versions[v], (enum tt_dir)d, p, n, seed, 1,
				 &quiet, 0, TT_WARN);
			fz_same_state("handshake at trace vs at warn", &whole,
				      &quiet);
		}
	}
	return 0;
}
