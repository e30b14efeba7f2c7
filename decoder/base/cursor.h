/* Bounded reading of TLS wire data.
 *
 * Every read of peer-supplied bytes goes through a cursor: a pair of
 * pointers [p, end).  Each accessor checks the bound and fails with
 * TT_DECODE instead of reading past it, so parsers never do pointer
 * arithmetic of their own.  Length-prefixed blocks are read with
 * tt_sub8/16/24, which narrow a child cursor to the block and advance the
 * parent past it; tt_expect_empty() insists a block was consumed exactly.
 */
#ifndef TT_CURSOR_H
#define TT_CURSOR_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	TT_OK = 0,
	TT_NEED_MORE,	/* not enough bytes yet (reassembly only) */
	TT_DECODE,	/* malformed input */
	TT_TOO_BIG,	/* a length over one of our caps */
	TT_UNSUPPORTED, /* well-formed but not something we decode */
	TT_GONE,	/* the bytes are not this stream's: the descriptor now
			 * names something else (see tt_emit.same_stream) */
	TT_PLAIN,	/* the connection is not TLS after all: a cleartext
			 * protocol followed for its STARTTLS ended without
			 * one (decoder/starttls); nothing more is decoded */
} tt_rc;

#define TT_MUST_USE __attribute__((warn_unused_result))

#define TRY(x)                                                                 \
	do {                                                                   \
		tt_rc tt_rc_ = (x);                                            \
		if (tt_rc_ != TT_OK)                                           \
			return tt_rc_;                                         \
	} while (0)

#define ENSURE(cond, rc)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			return (rc);                                           \
	} while (0)

struct tt_cur {
	const uint8_t *p;
	const uint8_t *end;
};

static inline struct tt_cur tt_cur_make(const uint8_t *p, size_t n)
{
	struct tt_cur c = {p, p + n};
	return c;
}

static inline size_t tt_cur_left(const struct tt_cur *c)
{
	return (size_t)(c->end - c->p);
}

TT_MUST_USE static inline tt_rc tt_u8(struct tt_cur *c, uint8_t *v)
{
	ENSURE(tt_cur_left(c) >= 1, TT_DECODE);
	*v = c->p[0];
	c->p += 1;
	return TT_OK;
}

TT_MUST_USE static inline tt_rc tt_u16(struct tt_cur *c, uint16_t *v)
{
	ENSURE(tt_cur_left(c) >= 2, TT_DECODE);
	*v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return TT_OK;
}

TT_MUST_USE static inline tt_rc tt_u24(struct tt_cur *c, uint32_t *v)
{
	ENSURE(tt_cur_left(c) >= 3, TT_DECODE);
	*v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
	c->p += 3;
	return TT_OK;
}

TT_MUST_USE static inline tt_rc tt_u32(struct tt_cur *c, uint32_t *v)
{
	ENSURE(tt_cur_left(c) >= 4, TT_DECODE);
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
	     (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return TT_OK;
}

/* n bytes without copying: *out points into the cursor's buffer. */
TT_MUST_USE static inline tt_rc tt_bytes(struct tt_cur *c, size_t n,
					 const uint8_t **out)
{
	ENSURE(tt_cur_left(c) >= n, TT_DECODE);
	*out = c->p;
	c->p += n;
	return TT_OK;
}

TT_MUST_USE static inline tt_rc tt_skip(struct tt_cur *c, size_t n)
{
	ENSURE(tt_cur_left(c) >= n, TT_DECODE);
	c->p += n;
	return TT_OK;
}

/* A child cursor over the next n bytes; the parent moves past them. */
TT_MUST_USE static inline tt_rc tt_sub(struct tt_cur *c, size_t n,
				       struct tt_cur *sub)
{
	ENSURE(tt_cur_left(c) >= n, TT_DECODE);
	sub->p = c->p;
	sub->end = c->p + n;
	c->p += n;
	return TT_OK;
}

TT_MUST_USE static inline tt_rc tt_sub8(struct tt_cur *c, struct tt_cur *sub)
{
	uint8_t n;
	TRY(tt_u8(c, &n));
	return tt_sub(c, n, sub);
}

TT_MUST_USE static inline tt_rc tt_sub16(struct tt_cur *c, struct tt_cur *sub)
{
	uint16_t n;
	TRY(tt_u16(c, &n));
	return tt_sub(c, n, sub);
}

TT_MUST_USE static inline tt_rc tt_sub24(struct tt_cur *c, struct tt_cur *sub)
{
	uint32_t n;
	TRY(tt_u24(c, &n));
	return tt_sub(c, n, sub);
}

TT_MUST_USE static inline tt_rc tt_expect_empty(const struct tt_cur *c)
{
	ENSURE(tt_cur_left(c) == 0, TT_DECODE);
	return TT_OK;
}

#endif
