/* Test helper: a tiny builder of TLS message bodies, big-endian
 * integers and 16-bit length prefixes patched when their block is
 * closed.  No bounds check: the tests build messages far smaller than
 * the buffer, which is meant to be static. */
#ifndef MSGBUF_H
#define MSGBUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t b[1 << 20];
	size_t n;
};

void put8(struct buf *b, unsigned v);
void put16(struct buf *b, unsigned v);
void putn(struct buf *b, const void *p, size_t n);
/* Puts a 16-bit length of 0; returns where its block starts, for
 * close16. */
size_t open16(struct buf *b);
/* Sets the length opened at at to the bytes put since. */
void close16(struct buf *b, size_t at);

#endif
