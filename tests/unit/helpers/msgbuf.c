/* Test helper: message builder (msgbuf.h). */
#include <string.h>

#include "msgbuf.h"

void put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

void putn(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

size_t open16(struct buf *b)
{
	put16(b, 0);
	return b->n;
}

void close16(struct buf *b, size_t at)
{
	size_t len = b->n - at;
	b->b[at - 2] = (uint8_t)(len >> 8);
	b->b[at - 1] = (uint8_t)len;
}
