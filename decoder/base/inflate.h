/* The inflate table: the only way decoder/ reaches zlib, for records of a
 * TLS <= 1.2 connection that negotiated the DEFLATE compression method
 * (RFC 3749).
 *
 * decoder/ makes no syscalls and loads nothing (crypto.h explains why), so
 * the shim fills this table from a libz.so.1 it dlopens the first time a
 * connection needs it (shim/zlib.c); a unit test may fill it from zlib
 * linked directly.
 *
 * The format is what OpenSSL's zlib method and GnuTLS send: a zlib stream
 * (RFC 1950 header, DEFLATE data, RFC 1951) with a window of up to 32 KiB,
 * one per direction and epoch, never ended; each record's fragment is the
 * stream's next bytes, flushed with Z_SYNC_FLUSH by the sender, so that
 * it inflates on its own once the records before it have.
 *
 * Conventions, as for the crypto table: the first argument is the table's
 * ctx; nothing here keeps a pointer to its inputs after it returns.
 */
#ifndef TT_INFLATE_H
#define TT_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/* TLSCompressed.length may be 2^14 + 1024, and a fragment must not
 * decompress to more than 2^14 bytes (RFC 5246 6.2.2). */
#define TT_COMPRESSED_MAX (16384 + 1024)
#define TT_INFLATED_MAX	  16384

/* tt_inflate.inflate results besides 0. */
enum {
	TT_INFLATE_BAD = -1,	 /* not a valid continuation of the stream */
	TT_INFLATE_TOO_BIG = -2, /* it yields more than the room given */
};

struct tt_inflate {
	void *ctx;

	/* A fresh stream in *st: 0, or -1 (no memory). */
	int (*stream_new)(void *ctx, void **st);
	/* Inflates in (len bytes, len > 0: the whole fragment of one
	 * record), the stream's next input, as with Z_SYNC_FLUSH: all it
	 * yields goes to out (cap bytes), its length to *out_len.  0 on
	 * success; TT_INFLATE_TOO_BIG when it yields more than cap bytes;
	 * TT_INFLATE_BAD for corrupt data, a preset dictionary asked for,
	 * the end of the stream, or no memory.  After a failure the stream
	 * is only freed. */
	int (*inflate)(void *ctx, void *st, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap, size_t *out_len);
	/* Frees a stream (NULL accepted). */
	void (*stream_free)(void *ctx, void *st);
};

#endif
