/* The follower's state and the pieces of decoder/starttls that share
 * it: follow.c (the feed loop), answer.c (the outcomes: events, the
 * end of following), lines.c (the line
 * protocols), xmpp.c, binary.c (LDAP, PostgreSQL, MySQL).  Not used
 * outside this folder.
 *
 * Each protocol reads one unit at a time (a line, an XML tag, a
 * message): its feed function takes the bytes of at most one unit and
 * returns how many (at least one), so that follow.c looks at the state
 * between units: an answer switches both directions to TLS at the next
 * byte, and client bytes after the request and before the answer are
 * caught whatever unit they would have been.
 */
#ifndef TT_STLS_FOLLOW_H
#define TT_STLS_FOLLOW_H

#include "starttls.h"

/* Where following stands. */
enum tt_stls_end {
	TT_STLS_ON = 0, /* following */
	TT_STLS_PLAIN,	/* ended without TLS: c becomes plain */
};

struct tt_stls_dir {
	uint32_t seen; /* cleartext bytes taken */
	uint32_t skip; /* bytes of a unit still to pass over unkept */
	uint16_t len;  /* bytes of the current unit held in buf */
	bool cut;      /* the current unit is longer than buf */
	bool tls;      /* TLS from the next byte on */
	bool in_tag;   /* xmpp: inside a tag */
	uint8_t quote; /* xmpp: the quote open in that tag, or 0 */
	uint8_t buf[TT_STLS_LINE];
};

struct tt_stls {
	uint8_t proto;	/* TT_STARTTLS_*, TT_STLS_FAMILY_220, or 0 while the
			 * first bytes are too few to tell */
	uint8_t first;	/* enum tt_dir of the first bytes */
	uint8_t client; /* enum tt_dir of the client's bytes */
	uint8_t end;	/* enum tt_stls_end */
	bool asked;	/* the upgrade request was seen, not its answer */
	/* line protocols: final replies the server owes before the answer
	 * to the request (the greeting, then one per command) */
	uint16_t owed;
	uint16_t cont;	 /* code of a multi-line reply in progress */
	bool block;	 /* inside a reply's dot-terminated block */
	bool greeted;	 /* pop3: the greeting came */
	bool ftp_ssl;	 /* ftp: the request was AUTH SSL (334 accepts) */
	bool gssenc;	 /* postgresql: the request is GSSENCRequest */
	bool xmpp_open;	 /* xmpp: <starttls> or <proceed> opened, not
			    * closed */
	uint32_t msgid;	 /* ldap: messageID of the request */
	uint8_t tag_len; /* imap: the request's tag */
	uint8_t tag[32];
	uint8_t req_len; /* the request as sent (cut at TT_STLS_TEXT) */
	bool req_cut;
	uint8_t req[TT_STLS_TEXT];
	struct tt_stls_dir d[2];
};

/* The side that sent in dir. */
static inline bool tt_stls_from_client(const struct tt_stls *s, enum tt_dir dir)
{
	return dir == (enum tt_dir)s->client;
}

/* The request as it was sent (a line, an element) or its name. */
void tt_stls_request(struct tt_stls *s, const uint8_t *text, size_t n);
/* The server's answer to the request: the starttls event, then TLS
 * from the next byte of both directions (accepted), or the end of
 * following (refused; but a refused GSSENCRequest goes on).  reply NULL:
 * none (MySQL, which does not answer). */
void tt_stls_answer(struct tt_conn *c, struct tt_stls *s, bool accepted,
		    const uint8_t *reply, size_t n, const struct tt_emit *em);
/* Following ends without TLS: one debug line saying why. */
void tt_stls_giveup(struct tt_conn *c, struct tt_stls *s, const char *why,
		    const struct tt_emit *em);
/* The client's command or message is none that comes before an
 * upgrade: the session goes on in clear. */
void tt_stls_went_on(struct tt_conn *c, struct tt_stls *s,
		     const struct tt_emit *em);

/* Client bytes came between the request and its answer: a
 * decode_error, and following ends. */
void tt_stls_injection(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		       const struct tt_emit *em);
/* After a feed or a stop: a follower that ended is released (c plain
 * when it ended without TLS). */
void tt_stls_finish(struct tt_conn *c, const struct tt_emit *em);

/* Case-insensitive: the n bytes at p are exactly the ASCII word w. */
bool tt_stls_word(const uint8_t *p, size_t n, const char *w);

/* One unit of each protocol family (see the top of this file). */
size_t tt_stls_lines(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		     const uint8_t *p, size_t n, const struct tt_emit *em);
size_t tt_stls_xmpp(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		    const uint8_t *p, size_t n, const struct tt_emit *em);
size_t tt_stls_ldap(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		    const uint8_t *p, size_t n, const struct tt_emit *em);
size_t tt_stls_postgresql(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
			  const uint8_t *p, size_t n, const struct tt_emit *em);
size_t tt_stls_mysql(struct tt_conn *c, struct tt_stls *s, enum tt_dir dir,
		     const uint8_t *p, size_t n, const struct tt_emit *em);

#endif
